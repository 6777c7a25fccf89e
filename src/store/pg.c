/* pg.c — the PostgreSQL backend of the configuration store (edge pools,
 * docs/pools.md): one libpq connection per store_t, the schema migrations
 * of PostgreSQL's dialect, writers serialised by an advisory lock, change
 * notification by LISTEN/NOTIFY, and bounded waits everywhere
 * (connect_timeout, statement_timeout, tcp_user_timeout) so that a server
 * that is down or unreachable fails a call within seconds, never hangs it.
 * Every call here may block (network round trips): callers keep them off
 * the libuv loop (store.h, "Threading"). */
#include "store/store_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The channel every committed change notifies (the trigger on meta). */
#define CHANNEL "fedge_store"
/* Key of the advisory lock that serialises writers, like SQLite's one
 * writer at a time (BEGIN IMMEDIATE): a check-then-write change (a domain
 * neither allowed nor blocked) stays correct under concurrent writers. */
#define WRITE_LOCK_KEY "1717920871" /* 0x66656467, "fedg" */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 4000
#define QUERY_COLS 16

typedef struct {
    PGconn *conn;
    char *uri;   /* as configured (may hold a password): used to connect */
    char *shown; /* the URI without its password, for messages */
    bool in_tx;
    bool tx_lost;       /* the connection broke inside a transaction: refuse the
                         * rest of it rather than run it in autocommit elsewhere */
    int64_t generation; /* last seen by changed(), -1: none */
    bool notified;      /* a notification (or a reconnection) since changed() */
    uint64_t retry_at;  /* monotonic ms before which no reconnection is tried */
    unsigned backoff_ms;
    char last_err[256]; /* why the connection is down */
} pg_t;

/* Migration N (index N-1) of PostgreSQL's dialect: the same tables,
 * columns and rules as sqlite.c's migration N. Append only. Text keys
 * use the "C" collation so that ORDER BY gives the byte order SQLite
 * gives (the snapshot builder merges sorted runs with strcmp). */
static const char *const migrations[] = {
    /* 1: the federation model of DESIGN.md §2 */
    "CREATE TABLE meta(key TEXT COLLATE \"C\" PRIMARY KEY, value BIGINT NOT NULL);"
    "INSERT INTO meta VALUES('generation', 0);"
    /* A NOTIFY in the transaction of every change: each change bumps the
     * generation (store.c, tx_end), whoever makes it. */
    "CREATE FUNCTION fedge_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN PERFORM pg_notify('" CHANNEL "', NEW.value::text); RETURN NULL; END $$;"
    "CREATE TRIGGER meta_notify AFTER UPDATE ON meta FOR EACH ROW"
    "  EXECUTE FUNCTION fedge_notify_change();"
    "CREATE TABLE edge_setting(key TEXT COLLATE \"C\" PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE allowed_domain(domain TEXT COLLATE \"C\" PRIMARY KEY, proxy_fqdn TEXT,"
    "  comment TEXT NOT NULL DEFAULT '', monitor INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE blocked_domain(domain TEXT COLLATE \"C\" PRIMARY KEY,"
    "  comment TEXT NOT NULL DEFAULT '');"
    /* A second guard behind the check in store.c, for any other writer. */
    "CREATE FUNCTION fedge_allowed_not_blocked() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN IF EXISTS(SELECT 1 FROM blocked_domain WHERE domain = NEW.domain) THEN"
    "    RAISE EXCEPTION 'domain is blocked' USING ERRCODE = 'integrity_constraint_violation';"
    "  END IF; RETURN NEW; END $$;"
    "CREATE TRIGGER allowed_not_blocked BEFORE INSERT ON allowed_domain FOR EACH ROW"
    "  EXECUTE FUNCTION fedge_allowed_not_blocked();"
    "CREATE FUNCTION fedge_blocked_not_allowed() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN IF EXISTS(SELECT 1 FROM allowed_domain WHERE domain = NEW.domain) THEN"
    "    RAISE EXCEPTION 'domain is allowed' USING ERRCODE = 'integrity_constraint_violation';"
    "  END IF; RETURN NEW; END $$;"
    "CREATE TRIGGER blocked_not_allowed BEFORE INSERT ON blocked_domain FOR EACH ROW"
    "  EXECUTE FUNCTION fedge_blocked_not_allowed();"
    "CREATE TABLE provider(name TEXT COLLATE \"C\" PRIMARY KEY,"
    "  proxy_fqdn TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL CHECK(kind IN ('hosting','public')),"
    "  verification TEXT NOT NULL CHECK(verification IN"
    "    ('always-verified','always-unverified','use-source')),"
    "  enabled INTEGER NOT NULL);"
    "CREATE TABLE provider_domain(domain TEXT COLLATE \"C\" PRIMARY KEY,"
    "  provider TEXT COLLATE \"C\" NOT NULL REFERENCES provider(name)"
    "    ON DELETE CASCADE ON UPDATE CASCADE);"
    "CREATE TABLE external_policy(scope TEXT COLLATE \"C\" PRIMARY KEY,"
    "  federation INTEGER NOT NULL, public_im INTEGER NOT NULL,"
    "  outside INTEGER NOT NULL, xmpp INTEGER NOT NULL);"
    "INSERT INTO external_policy VALUES('global', 1, 0, 0, 0);"
    "CREATE TABLE user_policy(user_aor TEXT COLLATE \"C\" PRIMARY KEY,"
    "  policy TEXT COLLATE \"C\" NOT NULL REFERENCES external_policy(scope)"
    "    ON DELETE CASCADE);"
    "CREATE TABLE watchlist(domain TEXT COLLATE \"C\" PRIMARY KEY, added_at TEXT NOT NULL,"
    "  users BIGINT NOT NULL, reason TEXT NOT NULL);"
    "CREATE TABLE audit(id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL,"
    "  detail TEXT NOT NULL);",
    /* 2: administrator accounts of the web panel (accounts.c) */
    "CREATE TABLE admin_account(name TEXT COLLATE \"C\" PRIMARY KEY, pwhash TEXT NOT NULL,"
    "  created_at TEXT NOT NULL, changed_at TEXT NOT NULL);",
    /* 3: web panel sessions and failed logins shared by the members
     * (sessions.c); a session ends with its account */
    "CREATE TABLE admin_session(id_hash TEXT COLLATE \"C\" PRIMARY KEY, csrf TEXT NOT NULL,"
    "  account TEXT COLLATE \"C\" NOT NULL REFERENCES admin_account(name) ON DELETE CASCADE,"
    "  pw_fp TEXT NOT NULL, created_s BIGINT NOT NULL, last_s BIGINT NOT NULL);"
    "CREATE TABLE admin_login_failure(key TEXT COLLATE \"C\" PRIMARY KEY,"
    "  failures BIGINT NOT NULL, last_ms BIGINT NOT NULL);",
    /* 4: lock-outs of remote users and client addresses (remote.c) */
    "CREATE TABLE remote_lockout(kind TEXT COLLATE \"C\" NOT NULL"
    "  CHECK(kind IN ('user','address')), subject TEXT COLLATE \"C\" NOT NULL,"
    "  locked_at TEXT NOT NULL, until_s BIGINT NOT NULL, failures BIGINT NOT NULL,"
    "  reason TEXT NOT NULL, PRIMARY KEY(kind, subject));",
    /* 5: the members of an edge pool, each recording itself (pool.c) */
    "CREATE TABLE pool_member(fqdn TEXT COLLATE \"C\" PRIMARY KEY, pool TEXT NOT NULL,"
    "  addresses TEXT NOT NULL, internal TEXT NOT NULL, version TEXT NOT NULL,"
    "  started_s BIGINT NOT NULL, seen_s BIGINT NOT NULL, connections BIGINT NOT NULL,"
    "  rps BIGINT NOT NULL, cert_names TEXT NOT NULL, cert_ok INTEGER NOT NULL);",
    /* 6: XMPP partners (xmpp.c) */
    "CREATE TABLE xmpp_partner(domain TEXT COLLATE \"C\" PRIMARY KEY,"
    "  blocked INTEGER NOT NULL, tls_required INTEGER NOT NULL,"
    "  sasl INTEGER NOT NULL, dialback INTEGER NOT NULL, proxy TEXT);",
    /* 7: the A/V switch of external access policies (docs/media.md#policy) */
    "ALTER TABLE external_policy ADD COLUMN av INTEGER NOT NULL DEFAULT 1;",
    /* 8: presence subscriptions across the XMPP gateway (xmpp.c) */
    "CREATE TABLE xmpp_subscription(dir TEXT COLLATE \"C\" NOT NULL"
    "  CHECK(dir IN ('sip','xmpp')), watcher TEXT COLLATE \"C\" NOT NULL,"
    "  target TEXT COLLATE \"C\" NOT NULL, owner TEXT COLLATE \"C\" NOT NULL,"
    "  active INTEGER NOT NULL, call_id TEXT NOT NULL, local_tag TEXT NOT NULL,"
    "  remote_tag TEXT NOT NULL, remote_uri TEXT NOT NULL, remote_target TEXT NOT NULL,"
    "  cseq BIGINT NOT NULL, expires_s BIGINT NOT NULL, presence TEXT NOT NULL,"
    "  note TEXT NOT NULL, PRIMARY KEY(dir, watcher, target));"
    "CREATE INDEX xmpp_subscription_owner ON xmpp_subscription(owner);",
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The first line of a libpq message, without "ERROR:  " and the newline. */
static void first_line(const char *m, char *out, size_t n)
{
    if (!m || !*m)
        m = "unknown error";
    if (!strncmp(m, "ERROR:  ", 8))
        m += 8;
    size_t len = strcspn(m, "\n");
    if (len >= n)
        len = n - 1;
    memcpy(out, m, len);
    out[len] = 0;
}

/* ------------------------------------------------------------------ */
/* Store locations: URI detection, checking, redaction                 */
/* ------------------------------------------------------------------ */

bool store_location_is_uri(const char *loc)
{
    return loc && (!strncasecmp(loc, "postgresql://", 13) || !strncasecmp(loc, "postgres://", 11));
}

size_t store_location_shown(const char *loc, char *out, size_t n)
{
    if (!n)
        return 0;
    size_t o = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o + 1 < n)                                                                             \
            out[o++] = (c);                                                                        \
    } while (0)
    if (!loc)
        loc = "";
    if (!store_location_is_uri(loc)) {
        snprintf(out, n, "%s", loc);
        return strlen(out);
    }
    const char *auth = strstr(loc, "://") + 3;
    size_t alen = strcspn(auth, "/?");
    /* user:password@hosts — the password ends at the last '@' */
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    bool redacted = false; /* once: an empty password puts '@' right after ':' */
    for (const char *p = loc; *p; p++) {
        if (colon && p == colon + 1 && !redacted) {
            redacted = true;
            for (const char *m = "***"; *m; m++)
                PUT(*m);
            p = at - 1;
            continue;
        }
        PUT(*p);
        /* password=... among the query parameters */
        if (p >= auth + alen && (*p == '?' || *p == '&') && !strncasecmp(p + 1, "password=", 9)) {
            for (const char *m = "password=***"; *m; m++)
                PUT(*m);
            p += 9;
            while (p[1] && p[1] != '&')
                p++;
        }
    }
#undef PUT
    out[o] = 0;
    return o;
}

int store_check_location(const char *loc, fedge_err_t *err)
{
    if (!loc || !*loc)
        return fedge_err(err, FEDGE_EINVAL,
                         "expected a file path (SQLite) or a PostgreSQL connection URI such as "
                         "postgresql://fedge@db.contoso.com:5432/fedge");
    if (!store_location_is_uri(loc))
        return 0;
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(loc, &msg);
    if (!o) {
        char line[200];
        first_line(msg ? msg : "out of memory", line, sizeof(line));
        PQfreemem(msg);
        return fedge_err(err, FEDGE_EINVAL,
                         "not a valid PostgreSQL connection URI (%s); expected "
                         "postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DBNAME[?PARAM=VALUE&...] "
                         "with libpq's parameters",
                         line);
    }
    PQconninfoFree(o);
    return 0;
}

/* ------------------------------------------------------------------ */
/* ?N parameters to $N                                                 */
/* ------------------------------------------------------------------ */

int store__pg_sql(const char *in, char *out, size_t n)
{
    size_t o = 0;
    char quote = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '?' && p[1] >= '1' && p[1] <= '9') {
            c = '$';
        }
        if (o + 1 >= n)
            return FEDGE_ENOSPC;
        out[o++] = c;
    }
    if (quote)
        return FEDGE_EINVAL;
    out[o] = 0;
    return (int)o;
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

static void drop_conn(pg_t *q, const char *why)
{
    /* The latest reason: a failure logged once per distinct message is
     * logged once per cause (connection lost, then refused while the
     * server is down; a wrong password once it is back). */
    if (why)
        first_line(why, q->last_err, sizeof(q->last_err));
    if (q->conn)
        PQfinish(q->conn);
    q->conn = NULL;
    if (q->in_tx)
        q->tx_lost = true;
    q->in_tx = false;
    q->retry_at = now_ms() + q->backoff_ms;
    q->backoff_ms = q->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : q->backoff_ms * 2;
}

static int conn_fail(pg_t *q, const char *what, fedge_err_t *err)
{
    return fedge_err(err, FEDGE_ESTORE,
                     "store %s: cannot reach the PostgreSQL server (%s) during %s; is it "
                     "running and reachable?",
                     q->shown, q->last_err, what);
}

/* Connects: libpq's defaults for what the URI does not say bound every
 * wait (the URI's own values win: they come later in the arrays). */
static int connect_now(pg_t *q, const char *what, fedge_err_t *err)
{
    static const char *const keys[] = {"connect_timeout",
                                       "tcp_user_timeout",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "application_name",
                                       "options",
                                       "dbname",
                                       NULL};
    const char *vals[] = {"3",
                          "5000",
                          "5",
                          "2",
                          "2",
                          "fedge",
                          "-c statement_timeout=5000 -c lock_timeout=5000 "
                          "-c idle_in_transaction_session_timeout=30000",
                          q->uri,
                          NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        drop_conn(q, c ? PQerrorMessage(c) : "out of memory");
        if (c)
            PQfinish(c);
        return conn_fail(q, what, err);
    }
    PQsetNoticeProcessor(c, no_notices, NULL);
    PGresult *res = PQexec(c, "SET client_min_messages = warning; LISTEN " CHANNEL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        q->conn = c;
        drop_conn(q, PQerrorMessage(c));
        return conn_fail(q, what, err);
    }
    q->conn = c;
    q->last_err[0] = 0;
    q->backoff_ms = BACKOFF_MIN_MS;
    q->retry_at = 0;
    q->notified = true; /* changes may have been missed while away */
    return 0;
}

/* A usable connection, reconnecting when the last one broke, at most once
 * per backoff period (250 ms doubling to 4 s) so that a server that is
 * down costs each caller one fast failure. */
static int ensure(pg_t *q, const char *what, fedge_err_t *err)
{
    if (q->conn && PQstatus(q->conn) == CONNECTION_OK)
        return 0;
    if (q->conn)
        drop_conn(q, PQerrorMessage(q->conn));
    if (now_ms() < q->retry_at)
        return conn_fail(q, what, err);
    return connect_now(q, what, err);
}

/* Turns a failed result into FEDGE_EEXIST (a constraint), or FEDGE_ESTORE
 * with an actionable message; a lost connection is dropped for ensure(). */
static int res_fail(pg_t *q, PGresult *res, const char *what, fedge_err_t *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char line[256];
    first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(q->conn), line, sizeof(line));
    if (!line[0] || !strcmp(line, "unknown error"))
        first_line(PQerrorMessage(q->conn), line, sizeof(line));
    if (!state || PQstatus(q->conn) != CONNECTION_OK || !strncmp(state, "08", 2) ||
        !strncmp(state, "57P", 3)) {
        /* connection exception, admin shutdown, crash: reconnect later */
        drop_conn(q, line);
        return conn_fail(q, what, err);
    }
    if (!strncmp(state, "23", 2))
        return fedge_err(err, FEDGE_EEXIST, "store %s: %s", q->shown, line);
    if (!strcmp(state, "57014") || !strcmp(state, "55P03"))
        return fedge_err(err, FEDGE_ESTORE,
                         "store %s: the PostgreSQL server did not answer within 5 s during %s "
                         "(%s); try again",
                         q->shown, what, line);
    if (!strcmp(state, "42501"))
        return fedge_err(err, FEDGE_ESTORE,
                         "store %s: %s during %s; fedge's role must own the database (or be "
                         "granted what it lacks)",
                         q->shown, line, what);
    if (!strcmp(state, "42P01") || !strcmp(state, "42703"))
        return fedge_err(err, FEDGE_ESTORE,
                         "store %s is not a fedge store or is damaged (%s during %s); "
                         "restore it from a backup",
                         q->shown, line, what);
    return fedge_err(err, FEDGE_ESTORE, "store %s: %s during %s", q->shown, line, what);
}

static int simple(pg_t *q, const char *sql, const char *what, fedge_err_t *err)
{
    PGresult *res = PQexec(q->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        r = res_fail(q, res, what, err);
    PQclear(res);
    return r;
}

static int pg_open(const char *uri, void **out, fedge_err_t *err)
{
    pg_t *q = fedge_calloc(1, sizeof(*q));
    q->uri = fedge_strdup(uri);
    char shown[1024];
    store_location_shown(uri, shown, sizeof(shown));
    q->shown = fedge_strdup(shown);
    q->generation = -1;
    q->backoff_ms = BACKOFF_MIN_MS;
    int r = connect_now(q, "opening", err);
    if (r < 0) {
        free(q->uri);
        free(q->shown);
        free(q);
        return r;
    }
    *out = q;
    return 0;
}

static void pg_close(void *be)
{
    pg_t *q = be;
    if (!q)
        return;
    if (q->conn)
        PQfinish(q->conn);
    free(q->uri);
    free(q->shown);
    free(q);
}

static int pg_begin(void *be, bool write, fedge_err_t *err)
{
    pg_t *q = be;
    q->tx_lost = false;
    const char *what = write ? "starting a change" : "starting a read";
    int r = ensure(q, what, err);
    if (r < 0)
        return r;
    /* A read sees one consistent state (the snapshot); a write holds the
     * writers' lock until it ends. */
    r = simple(q,
               write ? "BEGIN; SELECT pg_advisory_xact_lock(" WRITE_LOCK_KEY ")"
                     : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
               what, err);
    if (r < 0) {
        if (q->conn)
            PQclear(PQexec(q->conn, "ROLLBACK"));
        return r;
    }
    q->in_tx = true;
    return 0;
}

static int pg_commit(void *be, fedge_err_t *err)
{
    pg_t *q = be;
    if (!q->conn || q->tx_lost) {
        q->tx_lost = false;
        return conn_fail(q, "commit", err);
    }
    PGresult *res = PQexec(q->conn, "COMMIT");
    int r = 0;
    /* COMMIT of a failed transaction answers ROLLBACK: not committed */
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        r = res_fail(q, res, "commit", err);
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        r = fedge_err(err, FEDGE_ESTORE, "store %s: the change was rolled back by the server",
                      q->shown);
    PQclear(res);
    q->in_tx = false;
    return r;
}

static void pg_rollback(void *be)
{
    pg_t *q = be;
    if (q->conn && q->in_tx)
        PQclear(PQexec(q->conn, "ROLLBACK"));
    q->in_tx = false;
    q->tx_lost = false;
}

/* Runs sql (?N parameters) with args; the result or NULL with *r set. */
static PGresult *run(pg_t *q, const char *sql, const store__val_t *args, size_t n, const char *what,
                     int *r, fedge_err_t *err)
{
    if (q->tx_lost) {
        *r = conn_fail(q, what, err);
        return NULL;
    }
    *r = ensure(q, what, err);
    if (*r < 0)
        return NULL;
    if (n > QUERY_COLS) {
        *r = fedge_err(err, FEDGE_EINVAL, "store: too many parameters");
        return NULL;
    }
    char stmt[2048];
    if (store__pg_sql(sql, stmt, sizeof(stmt)) < 0) {
        *r = fedge_err(err, FEDGE_EINVAL, "store: statement too long or malformed");
        return NULL;
    }
    Oid types[QUERY_COLS];
    const char *vals[QUERY_COLS];
    char ints[QUERY_COLS][24];
    for (size_t i = 0; i < n; i++) {
        switch (args[i].t) {
        case STORE__NULL:
            types[i] = 0;
            vals[i] = NULL;
            break;
        case STORE__INT:
            types[i] = 20; /* int8 */
            snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)args[i].i);
            vals[i] = ints[i];
            break;
        case STORE__TEXT:
            types[i] = 25; /* text */
            vals[i] = args[i].s;
            break;
        }
    }
    PGresult *res = PQexecParams(q->conn, stmt, (int)n, types, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *r = res_fail(q, res, what, err);
        PQclear(res);
        return NULL;
    }
    *r = 0;
    return res;
}

static int pg_exec(void *be, const char *sql, const store__val_t *args, size_t n, int64_t *changes,
                   fedge_err_t *err)
{
    int r;
    PGresult *res = run(be, sql, args, n, "a change", &r, err);
    if (!res)
        return r;
    if (changes)
        *changes = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

static int pg_script(void *be, const char *sql, fedge_err_t *err)
{
    pg_t *q = be;
    if (q->tx_lost)
        return conn_fail(q, "a schema change", err);
    int r = ensure(q, "a schema change", err);
    if (r < 0)
        return r;
    return simple(q, sql, "a schema change", err);
}

static int pg_query(void *be, const char *sql, const store__val_t *args, size_t n, store__row_cb cb,
                    void *ctx, fedge_err_t *err)
{
    int r;
    PGresult *res = run(be, sql, args, n, "a read", &r, err);
    if (!res)
        return r;
    int nc = PQnfields(res);
    if (nc > QUERY_COLS)
        nc = QUERY_COLS;
    bool num[QUERY_COLS];
    for (int i = 0; i < nc; i++) {
        Oid t = PQftype(res, i);
        num[i] = t == 20 || t == 21 || t == 23 || t == 16; /* int8 int2 int4 bool */
    }
    store__val_t cols[QUERY_COLS];
    int rows = PQntuples(res);
    for (int row = 0; row < rows; row++) {
        for (int i = 0; i < nc; i++) {
            const char *v = PQgetvalue(res, row, i);
            if (PQgetisnull(res, row, i))
                cols[i] = (store__val_t){STORE__NULL, 0, NULL};
            else if (num[i])
                cols[i] = (store__val_t){STORE__INT,
                                         v[0] == 't'   ? 1
                                         : v[0] == 'f' ? 0
                                                       : strtoll(v, NULL, 10),
                                         NULL};
            else
                cols[i] = (store__val_t){STORE__TEXT, strtoll(v, NULL, 10), v};
        }
        r = cb(cols, (size_t)nc, ctx);
        if (r)
            break;
    }
    PQclear(res);
    return r;
}

/* Drops the notifications libpq has read; true when there was one. */
static bool drain(pg_t *q)
{
    bool any = false;
    PGnotify *nf;
    while (q->conn && (nf = PQnotifies(q->conn)) != NULL) {
        any = true;
        PQfreemem(nf);
    }
    return any;
}

/* The generation row is one small read: the poll fallback (every 250 ms)
 * works without notifications, and a notification only makes it sooner. */
static int gen_cb(const store__val_t *c, size_t n, void *x)
{
    if (n >= 1 && c[0].t == STORE__INT)
        *(int64_t *)x = c[0].i;
    return 0;
}

static int pg_changed(void *be, bool *changed, fedge_err_t *err)
{
    pg_t *q = be;
    int64_t g = -1;
    int r =
        pg_query(q, "SELECT value FROM meta WHERE key = 'generation'", NULL, 0, gen_cb, &g, err);
    if (r < 0)
        return r;
    if (q->conn && PQconsumeInput(q->conn))
        drain(q);
    *changed = q->notified || g != q->generation;
    q->notified = false;
    q->generation = g;
    return 0;
}

static int pg_wait(void *be, int timeout_ms, fedge_err_t *err)
{
    pg_t *q = be;
    if (q->notified)
        return 1;
    int r = ensure(q, "waiting for a change", err);
    if (r < 0)
        return r;
    uint64_t end = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (!PQconsumeInput(q->conn)) {
            drop_conn(q, PQerrorMessage(q->conn));
            return conn_fail(q, "waiting for a change", err);
        }
        if (drain(q)) {
            q->notified = true;
            return 1;
        }
        uint64_t now = now_ms();
        if (now >= end)
            return 0;
        struct pollfd pfd = {.fd = PQsocket(q->conn), .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(end - now));
        if (pr < 0 && errno != EINTR)
            return fedge_err(err, FEDGE_EIO, "store %s: poll: %s", q->shown, strerror(errno));
        if (pr == 0)
            return 0;
    }
}

const store__backend_t store__pg = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .script = pg_script,
    .query = pg_query,
    .changed = pg_changed,
    .wait = pg_wait,
    .migrations = migrations,
    .n_migrations = FEDGE_ARRAY_LEN(migrations),
};
