/* pool.c — the members of an edge pool in the store (docs/pools.md): each
 * running member records itself every few seconds, so that `fedge pool
 * status`, the panel and `fedge plan` see the pool as it is. Runtime
 * state, not configuration: not audited (forgetting a member is), no
 * generation bump. */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

/* Printable ASCII (spaces allowed), shorter than max. */
static int check_text(const char *field, const char *v, size_t max, fedge_err_t *err)
{
    size_t len = strlen(v);
    bool ok = len < max;
    for (size_t i = 0; ok && i < len; i++)
        ok = v[i] >= 0x20 && v[i] < 0x7f;
    if (!ok)
        return fedge_err(err, FEDGE_EINVAL, "member %s: expected up to %zu printable characters",
                         field, max - 1);
    return 0;
}

int store_member_put(store_t *s, const store_member_t *m, fedge_err_t *err)
{
    char fqdn[STORE_FQDN_MAX + 1];
    int r = store_check_domain("member fqdn", m->fqdn, fqdn, sizeof(fqdn), err);
    if (r == 0)
        r = check_text("pool", m->pool, sizeof(m->pool), err);
    if (r == 0)
        r = check_text("addresses", m->addresses, sizeof(m->addresses), err);
    if (r == 0)
        r = check_text("internal addresses", m->internal, sizeof(m->internal), err);
    if (r == 0)
        r = check_text("version", m->version, sizeof(m->version), err);
    if (r == 0)
        r = check_text("certificate names", m->cert_names, sizeof(m->cert_names), err);
    if (r < 0)
        return r;
    store__val_t a[] = {
        STORE__S(fqdn),
        STORE__S(m->pool),
        STORE__S(m->addresses),
        STORE__S(m->internal),
        STORE__S(m->version),
        STORE__I(m->started_s),
        STORE__I(m->seen_s),
        STORE__I((int64_t)(m->connections > INT64_MAX ? INT64_MAX : m->connections)),
        STORE__I((int64_t)(m->rps > INT64_MAX ? INT64_MAX : m->rps)),
        STORE__S(m->cert_names),
        STORE__I(m->cert_ok ? 1 : 0)};
    /* an upsert: one statement on both engines, so a heartbeat never
     * takes the writers' lock */
    return s->ops->exec(s->be,
                        "INSERT INTO pool_member(fqdn, pool, addresses, internal, version, "
                        "started_s, seen_s, connections, rps, cert_names, cert_ok) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                        "ON CONFLICT(fqdn) DO UPDATE SET pool = ?2, addresses = ?3, "
                        "internal = ?4, version = ?5, started_s = ?6, seen_s = ?7, "
                        "connections = ?8, rps = ?9, cert_names = ?10, cert_ok = ?11",
                        a, FEDGE_ARRAY_LEN(a), NULL, err);
}

typedef struct {
    store_member_cb cb;
    void *ctx;
} list_t;

static void copy_text(char *dst, size_t n, const store__val_t *v)
{
    snprintf(dst, n, "%s", v->t == STORE__TEXT && v->s ? v->s : "");
}

static int member_row(const store__val_t *c, size_t n, void *x)
{
    list_t *l = x;
    if (n < 11)
        return 0;
    store_member_t m;
    memset(&m, 0, sizeof(m));
    copy_text(m.fqdn, sizeof(m.fqdn), &c[0]);
    copy_text(m.pool, sizeof(m.pool), &c[1]);
    copy_text(m.addresses, sizeof(m.addresses), &c[2]);
    copy_text(m.internal, sizeof(m.internal), &c[3]);
    copy_text(m.version, sizeof(m.version), &c[4]);
    m.started_s = c[5].i;
    m.seen_s = c[6].i;
    m.connections = c[7].i > 0 ? (uint64_t)c[7].i : 0;
    m.rps = c[8].i > 0 ? (uint64_t)c[8].i : 0;
    copy_text(m.cert_names, sizeof(m.cert_names), &c[9]);
    m.cert_ok = c[10].i != 0;
    return l->cb(&m, l->ctx);
}

int store_member_list(store_t *s, store_member_cb cb, void *ctx, fedge_err_t *err)
{
    list_t l = {cb, ctx};
    return s->ops->query(s->be,
                         "SELECT fqdn, pool, addresses, internal, version, started_s, seen_s, "
                         "connections, rps, cert_names, cert_ok FROM pool_member ORDER BY fqdn",
                         NULL, 0, member_row, &l, err);
}

const char *store_member_state(const store_member_t *m, const char *pool, int64_t now)
{
    if (now - m->seen_s > STORE_MEMBER_STALE_S)
        return "stale";
    if (pool && *pool && strcmp(pool, m->pool) != 0)
        return "other-pool";
    if (!m->cert_ok)
        return "cert";
    return "live";
}

int store_member_forget(store_t *s, const char *fqdn, const char *actor, fedge_err_t *err)
{
    char d[STORE_FQDN_MAX + 1];
    int r = store_check_domain("member", fqdn, d, sizeof(d), err);
    if (r == 0)
        r = store__check_actor(actor, err);
    if (r < 0)
        return r;
    if ((r = s->ops->begin(s->be, true, err)) < 0)
        return r;
    int64_t n = 0;
    store__val_t a[] = {STORE__S(d)};
    r = s->ops->exec(s->be, "DELETE FROM pool_member WHERE fqdn = ?1", a, 1, &n, err);
    if (r == 0 && n == 0)
        r = fedge_err(err, FEDGE_ENOENT, "no pool member named '%s' is recorded", d);
    if (r == 0)
        r = store__audit(s, actor, "pool.forget", d, err, "%s", "");
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    return s->ops->commit(s->be, err);
}
