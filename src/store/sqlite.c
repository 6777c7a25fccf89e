/* sqlite.c — the SQLite backend of the configuration store: connection
 * setup (WAL, foreign keys, busy timeout), statements, the schema
 * migrations of SQLite's dialect and change detection by data_version. */
#include "store/store_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sqlite3 *db;
    char *path;
    int64_t data_version; /* last PRAGMA data_version seen, -1 none */
} sq_t;

/* Migration N (index N-1) of the SQLite dialect. Append only: a shipped
 * migration is never edited. */
static const char *const migrations[] = {
    /* 1: the federation model (store.h: settings, domains, providers, policies) */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta VALUES('generation', 0);"
    "CREATE TABLE edge_setting(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE allowed_domain(domain TEXT PRIMARY KEY, proxy_fqdn TEXT,"
    "  comment TEXT NOT NULL DEFAULT '', monitor INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE blocked_domain(domain TEXT PRIMARY KEY,"
    "  comment TEXT NOT NULL DEFAULT '');"
    /* A second guard behind the check in store.c, for any other writer. */
    "CREATE TRIGGER allowed_not_blocked BEFORE INSERT ON allowed_domain"
    "  WHEN EXISTS(SELECT 1 FROM blocked_domain WHERE domain = NEW.domain)"
    "  BEGIN SELECT RAISE(ABORT, 'domain is blocked'); END;"
    "CREATE TRIGGER blocked_not_allowed BEFORE INSERT ON blocked_domain"
    "  WHEN EXISTS(SELECT 1 FROM allowed_domain WHERE domain = NEW.domain)"
    "  BEGIN SELECT RAISE(ABORT, 'domain is allowed'); END;"
    "CREATE TABLE provider(name TEXT PRIMARY KEY, proxy_fqdn TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL CHECK(kind IN ('hosting','public')),"
    "  verification TEXT NOT NULL CHECK(verification IN"
    "    ('always-verified','always-unverified','use-source')),"
    "  enabled INTEGER NOT NULL);"
    "CREATE TABLE provider_domain(domain TEXT PRIMARY KEY,"
    "  provider TEXT NOT NULL REFERENCES provider(name)"
    "    ON DELETE CASCADE ON UPDATE CASCADE);"
    "CREATE TABLE external_policy(scope TEXT PRIMARY KEY,"
    "  federation INTEGER NOT NULL, public_im INTEGER NOT NULL,"
    "  outside INTEGER NOT NULL, xmpp INTEGER NOT NULL);"
    "INSERT INTO external_policy VALUES('global', 1, 0, 0, 0);"
    "CREATE TABLE user_policy(user_aor TEXT PRIMARY KEY,"
    "  policy TEXT NOT NULL REFERENCES external_policy(scope) ON DELETE CASCADE);"
    "CREATE TABLE watchlist(domain TEXT PRIMARY KEY, added_at TEXT NOT NULL,"
    "  users INTEGER NOT NULL, reason TEXT NOT NULL);"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
    "  actor TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL,"
    "  detail TEXT NOT NULL);",
    /* 2: administrator accounts of the web panel (accounts.c) */
    "CREATE TABLE admin_account(name TEXT PRIMARY KEY, pwhash TEXT NOT NULL,"
    "  created_at TEXT NOT NULL, changed_at TEXT NOT NULL);",
    /* 3: web panel sessions and failed logins shared by a pool's members
     * (sessions.c); a session ends with its account */
    "CREATE TABLE admin_session(id_hash TEXT PRIMARY KEY, csrf TEXT NOT NULL,"
    "  account TEXT NOT NULL REFERENCES admin_account(name) ON DELETE CASCADE,"
    "  pw_fp TEXT NOT NULL, created_s INTEGER NOT NULL, last_s INTEGER NOT NULL);"
    "CREATE TABLE admin_login_failure(key TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL);",
    /* 4: lock-outs of remote users and client addresses (remote.c) */
    "CREATE TABLE remote_lockout(kind TEXT NOT NULL CHECK(kind IN ('user','address')),"
    "  subject TEXT NOT NULL, locked_at TEXT NOT NULL, until_s INTEGER NOT NULL,"
    "  failures INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(kind, subject));",
    /* 5: the members of an edge pool, each recording itself (pool.c) */
    "CREATE TABLE pool_member(fqdn TEXT PRIMARY KEY, pool TEXT NOT NULL,"
    "  addresses TEXT NOT NULL, internal TEXT NOT NULL, version TEXT NOT NULL,"
    "  started_s INTEGER NOT NULL, seen_s INTEGER NOT NULL, connections INTEGER NOT NULL,"
    "  rps INTEGER NOT NULL, cert_names TEXT NOT NULL, cert_ok INTEGER NOT NULL);",
    /* 6: XMPP partners (xmpp.c) */
    "CREATE TABLE xmpp_partner(domain TEXT PRIMARY KEY,"
    "  blocked INTEGER NOT NULL, tls_required INTEGER NOT NULL,"
    "  sasl INTEGER NOT NULL, dialback INTEGER NOT NULL, proxy TEXT);",
    /* 7: the A/V switch of external access policies (docs/media.md#policy):
     * policies that existed keep calls allowed, as they were */
    "ALTER TABLE external_policy ADD COLUMN av INTEGER NOT NULL DEFAULT 1;",
    /* 8: presence subscriptions across the XMPP gateway (xmpp.c) */
    "CREATE TABLE xmpp_subscription(dir TEXT NOT NULL CHECK(dir IN ('sip','xmpp')),"
    "  watcher TEXT NOT NULL, target TEXT NOT NULL, owner TEXT NOT NULL,"
    "  active INTEGER NOT NULL, call_id TEXT NOT NULL, local_tag TEXT NOT NULL,"
    "  remote_tag TEXT NOT NULL, remote_uri TEXT NOT NULL, remote_target TEXT NOT NULL,"
    "  cseq INTEGER NOT NULL, expires_s INTEGER NOT NULL, presence TEXT NOT NULL,"
    "  note TEXT NOT NULL, PRIMARY KEY(dir, watcher, target));"
    "CREATE INDEX xmpp_subscription_owner ON xmpp_subscription(owner);",
};

/* Turns an SQLite failure into FEDGE_ESTORE with an actionable message. */
static int sq_fail(sq_t *q, int rc, const char *what, fedge_err_t *err)
{
    int prim = rc & 0xff;
    const char *m = q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
    switch (prim) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return fedge_err(err, FEDGE_ESTORE,
                         "store %s is locked by another process or connection "
                         "(busy for more than 5 s during %s); try again",
                         q->path, what);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return fedge_err(err, FEDGE_ESTORE,
                         "store %s is not a fedge store or is corrupt (%s during %s); "
                         "restore it from a backup or move it away to start empty",
                         q->path, m, what);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
        return fedge_err(err, FEDGE_ESTORE, "store %s: %s during %s", q->path, m, what);
    default: return fedge_err(err, FEDGE_ESTORE, "store %s: %s during %s", q->path, m, what);
    }
}

static int sq_script(void *be, const char *sql, fedge_err_t *err)
{
    sq_t *q = be;
    char *msg = NULL;
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK)
        return sq_fail(q, rc, "a schema change", err);
    return 0;
}

static int sq_open(const char *path, void **out, fedge_err_t *err)
{
    int ret;
    sq_t *q = fedge_calloc(1, sizeof(*q));
    q->path = fedge_strdup(path);
    q->data_version = -1;
    int rc = sqlite3_open_v2(
        path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ret = fedge_err(err, FEDGE_EIO, "cannot open store %s: %s", path,
                        q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, 5000);
    /* journal_mode reads the header: a non-database file fails here. */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        ret = sq_fail(q, rc, "opening", err);
        goto fail;
    }
    const unsigned char *mode = sqlite3_column_text(st, 0);
    bool wal = mode && !strcmp((const char *)mode, "wal");
    sqlite3_finalize(st);
    if (!wal) {
        ret = fedge_err(err, FEDGE_ESTORE,
                        "store %s: cannot switch to WAL journal mode (is it on a "
                        "network file system?)",
                        path);
        goto fail;
    }
    ret = sq_script(q, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;", err);
    if (ret < 0)
        goto fail;
    *out = q;
    return 0;
fail:
    sqlite3_close(q->db);
    free(q->path);
    free(q);
    return ret;
}

static void sq_close(void *be)
{
    sq_t *q = be;
    if (!q)
        return;
    sqlite3_close(q->db);
    free(q->path);
    free(q);
}

static int sq_begin(void *be, bool write, fedge_err_t *err)
{
    sq_t *q = be;
    int rc = sqlite3_exec(q->db, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(q, rc, write ? "starting a change" : "starting a read", err);
    return 0;
}

static int sq_commit(void *be, fedge_err_t *err)
{
    sq_t *q = be;
    int rc = sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int r = sq_fail(q, rc, "commit", err);
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    return 0;
}

static void sq_rollback(void *be)
{
    sq_t *q = be;
    if (!sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_prepare(sq_t *q, const char *sql, const store__val_t *args, size_t n,
                      sqlite3_stmt **out, fedge_err_t *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(q, rc, "preparing a statement", err);
    for (size_t i = 0; i < n; i++) {
        int ix = (int)i + 1;
        switch (args[i].t) {
        case STORE__NULL: rc = sqlite3_bind_null(st, ix); break;
        case STORE__INT: rc = sqlite3_bind_int64(st, ix, args[i].i); break;
        case STORE__TEXT: rc = sqlite3_bind_text(st, ix, args[i].s, -1, SQLITE_STATIC); break;
        }
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return sq_fail(q, rc, "binding a value", err);
        }
    }
    *out = st;
    return 0;
}

static int sq_exec(void *be, const char *sql, const store__val_t *args, size_t n, int64_t *changes,
                   fedge_err_t *err)
{
    sq_t *q = be;
    sqlite3_stmt *st;
    int r = sq_prepare(q, sql, args, n, &st, err);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        if ((rc & 0xff) == SQLITE_CONSTRAINT)
            return fedge_err(err, FEDGE_EEXIST, "store %s: %s", q->path, sqlite3_errmsg(q->db));
        return sq_fail(q, rc, "a change", err);
    }
    if (changes)
        *changes = sqlite3_changes(q->db);
    return 0;
}

static int sq_query(void *be, const char *sql, const store__val_t *args, size_t n, store__row_cb cb,
                    void *ctx, fedge_err_t *err)
{
    sq_t *q = be;
    sqlite3_stmt *st;
    int r = sq_prepare(q, sql, args, n, &st, err);
    if (r < 0)
        return r;
    store__val_t cols[16];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int nc = sqlite3_column_count(st);
        if (nc > 16)
            nc = 16;
        for (int i = 0; i < nc; i++) {
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL: cols[i] = (store__val_t){STORE__NULL, 0, NULL}; break;
            case SQLITE_INTEGER:
                cols[i] = (store__val_t){STORE__INT, sqlite3_column_int64(st, i), NULL};
                break;
            default:
                cols[i] = (store__val_t){STORE__TEXT, sqlite3_column_int64(st, i),
                                         (const char *)sqlite3_column_text(st, i)};
                if (!cols[i].s)
                    cols[i].s = "";
                break;
            }
        }
        r = cb(cols, (size_t)nc, ctx);
        if (r) {
            sqlite3_finalize(st);
            return r;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_fail(q, rc, "a read", err);
    return 0;
}

/* PRAGMA data_version changes when another connection commits; it reads
 * the WAL index in shared memory only (no table read). */
static int sq_changed(void *be, bool *changed, fedge_err_t *err)
{
    sq_t *q = be;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(q->db, "PRAGMA data_version", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sq_fail(q, rc, "checking for changes", err);
    }
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    *changed = q->data_version != v;
    q->data_version = v;
    return 0;
}

const store__backend_t store__sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .script = sq_script,
    .query = sq_query,
    .changed = sq_changed,
    .migrations = migrations,
    .n_migrations = FEDGE_ARRAY_LEN(migrations),
};
