/* copy.c — copies one store into another (an edge moving from its SQLite
 * file to a pool's PostgreSQL, docs/pools.md): every table in one read
 * transaction of the source and one write transaction of the target,
 * counts verified before the commit, an audit entry for the copy. */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tables in an order that satisfies the foreign keys, with the
 * columns to copy (audit without its id: the target numbers its own
 * entries, in the source's order) and the label used in messages. */
static const struct {
    const char *table;
    const char *cols;
    const char *order;
    size_t ncols;
    const char *label;
} tables[] = {
    {"edge_setting", "key, value", "key", 2, "edge settings"},
    {"allowed_domain", "domain, proxy_fqdn, comment, monitor", "domain", 4, "allowed domains"},
    {"blocked_domain", "domain, comment", "domain", 2, "blocked domains"},
    {"provider", "name, proxy_fqdn, kind, verification, enabled", "name", 5, "providers"},
    {"provider_domain", "domain, provider", "domain", 2, "provider domains"},
    {"external_policy", "scope, federation, public_im, outside, xmpp, av", "scope", 6, "policies"},
    {"user_policy", "user_aor, policy", "user_aor", 2, "policy assignments"},
    {"watchlist", "domain, added_at, users, reason", "domain", 4, "watch-list entries"},
    {"xmpp_partner", "domain, blocked, tls_required, sasl, dialback, proxy", "domain", 6,
     "XMPP partners"},
    {"xmpp_subscription",
     "dir, watcher, target, owner, active, call_id, local_tag, remote_tag, remote_uri, "
     "remote_target, cseq, expires_s, presence, note",
     "dir, watcher, target", 14, "XMPP subscriptions"},
    {"admin_account", "name, pwhash, created_at, changed_at", "name", 4, "administrators"},
    {"remote_lockout", "kind, subject, locked_at, until_s, failures, reason", "kind, subject", 6,
     "remote lock-outs"},
    {"audit", "at, actor, action, object, detail", "id", 5, "audit entries"},
};
/* Callers size their count arrays by STORE_COPY_TABLES (store.h): a table
 * added here without it fails the build, not a copy. */
_Static_assert(FEDGE_ARRAY_LEN(tables) == STORE_COPY_TABLES, "STORE_COPY_TABLES != tables");

static int count_cb(const store__val_t *c, size_t n, void *x)
{
    if (n >= 1 && c[0].t == STORE__INT)
        *(int64_t *)x = c[0].i;
    return 0;
}

static int count(store_t *s, const char *table, bool except_global, int64_t *n, fedge_err_t *err)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s%s", table,
             except_global ? " WHERE scope <> 'global'" : "");
    *n = -1;
    return s->ops->query(s->be, sql, NULL, 0, count_cb, n, err);
}

typedef struct {
    store_t *to;
    const char *insert;
    fedge_err_t *err;
    int r;
} row_ctx_t;

static int row_cb(const store__val_t *c, size_t n, void *x)
{
    row_ctx_t *rc = x;
    rc->r = rc->to->ops->exec(rc->to->be, rc->insert, c, n, NULL, rc->err);
    return rc->r < 0 ? 1 : 0;
}

/* Copies one table (the target's rows were removed or never existed). */
static int copy_table(store_t *from, store_t *to, size_t i, fedge_err_t *err)
{
    char sel[256], ins[320], params[64] = "";
    snprintf(sel, sizeof(sel), "SELECT %s FROM %s ORDER BY %s", tables[i].cols, tables[i].table,
             tables[i].order);
    size_t pl = 0;
    for (size_t k = 1; k <= tables[i].ncols; k++)
        pl += (size_t)snprintf(params + pl, sizeof(params) - pl, "%s?%zu", k > 1 ? ", " : "", k);
    snprintf(ins, sizeof(ins), "INSERT INTO %s(%s) VALUES(%s)", tables[i].table, tables[i].cols,
             params);
    row_ctx_t rc = {to, ins, err, 0};
    int r = from->ops->query(from->be, sel, NULL, 0, row_cb, &rc, err);
    if (rc.r < 0)
        return rc.r;
    return r;
}

int store_copy(store_t *from, store_t *to, bool force, const char *actor, store_copy_count_t *out,
               size_t *n_out, fedge_err_t *err)
{
    size_t nt = FEDGE_ARRAY_LEN(tables);
    if (*n_out < nt)
        return fedge_err(err, FEDGE_ENOSPC, "store copy: room for %zu table counts needed", nt);
    int r = store__check_actor(actor, err);
    if (r < 0)
        return r;
    if ((r = from->ops->begin(from->be, false, err)) < 0)
        return r;
    if ((r = to->ops->begin(to->be, true, err)) < 0) {
        from->ops->rollback(from->be);
        return r;
    }
    /* Empty: no rows but the global policy, and no audit entry (every
     * change makes one, so even a changed global policy counts). */
    char used[512] = "";
    size_t ul = 0;
    for (size_t i = 0; r == 0 && i < nt; i++) {
        int64_t c;
        r = count(to, tables[i].table, !strcmp(tables[i].table, "external_policy"), &c, err);
        if (r == 0 && c > 0 && ul < sizeof(used))
            ul += (size_t)snprintf(used + ul, sizeof(used) - ul, "%s%lld %s", ul ? ", " : "",
                                   (long long)c, tables[i].label);
    }
    if (r == 0 && used[0] && !force)
        r = fedge_err(err, FEDGE_EEXIST,
                      "target store %s is not empty (%s); copy into an empty store, or add "
                      "--force to replace everything in it",
                      to->path, used);
    /* The target's contents go, in reverse foreign-key order: with --force
     * everything, else only its default global policy (the source has its
     * own). */
    for (size_t i = nt; r == 0 && i-- > 0;) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DELETE FROM %s", tables[i].table);
        r = to->ops->exec(to->be, sql, NULL, 0, NULL, err);
    }
    for (size_t i = 0; r == 0 && i < nt; i++)
        r = copy_table(from, to, i, err);
    /* Verify: every table has as many rows in the target as in the source,
     * both read inside the transactions that did the copy. */
    for (size_t i = 0; r == 0 && i < nt; i++) {
        int64_t a = -1, b = -1;
        r = count(from, tables[i].table, false, &a, err);
        if (r == 0)
            r = count(to, tables[i].table, false, &b, err);
        out[i] = (store_copy_count_t){tables[i].table, tables[i].label, (uint64_t)(a < 0 ? 0 : a),
                                      (uint64_t)(b < 0 ? 0 : b)};
        if (r == 0 && a != b)
            r = fedge_err(err, FEDGE_ESTORE,
                          "store copy: %s: %lld in %s but %lld in %s after the copy; nothing "
                          "was changed",
                          tables[i].label, (long long)a, from->path, (long long)b, to->path);
    }
    from->ops->rollback(from->be);
    if (r == 0)
        r = store__audit(to, actor, "store.copy", from->path, err, "copied from %s%s", from->path,
                         used[0] ? " (replacing the previous contents)" : "");
    if (r == 0)
        r = to->ops->exec(to->be, "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
                          NULL, 0, NULL, err);
    if (r < 0) {
        to->ops->rollback(to->be);
        return r;
    }
    r = to->ops->commit(to->be, err);
    if (r == 0) {
        to->dirty = true;
        *n_out = nt;
    }
    return r;
}
