/* xmpp.c — the XMPP partner list of the store: allow (with the stream
 * settings TLS, SASL EXTERNAL, dialback and an optional server address),
 * block, remove, each one audited transaction, and an immutable copy for the
 * running server (schema: migration 6 of each backend); the presence
 * subscriptions of the gateway (migration 8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store_int.h"

static int count_cb(const store__val_t *c, size_t n, void *ctx)
{
    *(int64_t *)ctx = n >= 1 && c[0].t == STORE__INT ? c[0].i : 0;
    return 0;
}

/* -1: none, 0: allowed, 1: blocked. */
static int state_of(store_t *s, const char *dom, int *state, fedge_err_t *err)
{
    int64_t v = -1;
    store__val_t a[] = {STORE__S(dom)};
    int r = s->ops->query(s->be,
                          "SELECT COALESCE(MAX(blocked), -1) FROM xmpp_partner WHERE domain = ?1",
                          a, 1, count_cb, &v, err);
    *state = (int)v;
    return r;
}

int store_xmpp_allow(store_t *s, const store_xmpp_partner_t *p, const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1], proxy[STORE_FQDN_MAX + 16];
    int r = store_check_domain("domain", p ? p->domain : NULL, dom, sizeof dom, err);
    if (r < 0)
        return r;
    bool has_proxy = p->proxy && *p->proxy;
    if (has_proxy &&
        (r = store_check_hostport("proxy-fqdn", p->proxy, proxy, sizeof proxy, err)) < 0)
        return r;
    if (!p->sasl && !p->dialback)
        return fedge_err(err, FEDGE_EINVAL,
                         "xmpp partner %s: SASL and dialback both off leave no way to "
                         "authenticate a stream; turn one on (--sasl on or --dialback on)",
                         dom);
    if ((r = store__tx_begin(s, actor, err)) < 0)
        return r;
    int state = -1;
    r = state_of(s, dom, &state, err);
    if (r == 0 && state == 1)
        r = fedge_err(err, FEDGE_EEXIST,
                      "xmpp partner %s is blocked; remove it first (fedge xmpp remove %s)", dom,
                      dom);
    if (r == 0) {
        store__val_t a[] = {STORE__S(dom), STORE__I(p->tls_required), STORE__I(p->sasl),
                            STORE__I(p->dialback), STORE__S(has_proxy ? proxy : NULL)};
        r = s->ops->exec(s->be,
                         "INSERT INTO xmpp_partner(domain, blocked, tls_required, sasl, dialback, "
                         "proxy) VALUES(?1, 0, ?2, ?3, ?4, ?5) ON CONFLICT(domain) DO UPDATE SET "
                         "tls_required = excluded.tls_required, sasl = excluded.sasl, "
                         "dialback = excluded.dialback, proxy = excluded.proxy",
                         a, 5, NULL, err);
    }
    if (r == 0)
        r = store__audit(s, actor, "xmpp.allow", dom, err, "tls %s, sasl %s, dialback %s%s%s",
                         p->tls_required ? "required" : "optional", p->sasl ? "on" : "off",
                         p->dialback ? "on" : "off", has_proxy ? ", server " : "",
                         has_proxy ? proxy : "");
    return store__tx_end(s, r, err);
}

int store_xmpp_block(store_t *s, const char *domain, const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof dom, err);
    if (r < 0)
        return r;
    if ((r = store__tx_begin(s, actor, err)) < 0)
        return r;
    int state = -1;
    r = state_of(s, dom, &state, err);
    if (r == 0 && state == 0)
        r = fedge_err(err, FEDGE_EEXIST,
                      "xmpp partner %s is allowed; remove it first (fedge xmpp remove %s)", dom,
                      dom);
    if (r == 0) {
        store__val_t a[] = {STORE__S(dom)};
        r = s->ops->exec(s->be,
                         "INSERT INTO xmpp_partner(domain, blocked, tls_required, sasl, dialback, "
                         "proxy) VALUES(?1, 1, 1, 0, 0, NULL) ON CONFLICT(domain) DO NOTHING",
                         a, 1, NULL, err);
    }
    if (r == 0)
        r = store__audit(s, actor, "xmpp.block", dom, err, "blocked for XMPP");
    return store__tx_end(s, r, err);
}

int store_xmpp_remove(store_t *s, const char *domain, const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof dom, err);
    if (r < 0)
        return r;
    if ((r = store__tx_begin(s, actor, err)) < 0)
        return r;
    int64_t n = 0;
    store__val_t a[] = {STORE__S(dom)};
    r = s->ops->exec(s->be, "DELETE FROM xmpp_partner WHERE domain = ?1", a, 1, &n, err);
    if (r == 0 && n == 0)
        r = fedge_err(err, FEDGE_ENOENT, "%s is not on the XMPP partner list", dom);
    if (r == 0)
        r = store__audit(s, actor, "xmpp.remove", dom, err, "removed from the XMPP list");
    return store__tx_end(s, r, err);
}

/* Rows are gathered first, then copied into one block. */
typedef struct {
    store_xmpp_partner_t *v;
    char **strs;
    size_t n, cap;
} rows_t;

static int row_cb(const store__val_t *c, size_t n, void *ctx)
{
    rows_t *r = ctx;
    if (n < 6)
        return 0;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->v = fedge_realloc(r->v, r->cap * sizeof *r->v);
        r->strs = fedge_realloc(r->strs, r->cap * 2 * sizeof *r->strs);
    }
    store_xmpp_partner_t *p = &r->v[r->n];
    r->strs[2 * r->n] = fedge_strdup(c[0].s ? c[0].s : "");
    r->strs[2 * r->n + 1] = c[5].t == STORE__TEXT ? fedge_strdup(c[5].s) : NULL;
    p->blocked = c[1].i != 0;
    p->tls_required = c[2].i != 0;
    p->sasl = c[3].i != 0;
    p->dialback = c[4].i != 0;
    r->n++;
    return 0;
}

static int gen_cb(const store__val_t *c, size_t n, void *ctx)
{
    *(uint64_t *)ctx = n >= 1 && c[0].t == STORE__INT ? (uint64_t)c[0].i : 0;
    return 0;
}

int store_xmpp_load(store_t *s, store_xmpp_list_t **out, fedge_err_t *err)
{
    rows_t rows = {0};
    uint64_t gen = 0;
    int r = s->ops->begin(s->be, false, err);
    if (r < 0)
        return r;
    r = s->ops->query(s->be, "SELECT value FROM meta WHERE key = 'generation'", NULL, 0, gen_cb,
                      &gen, err);
    if (r == 0)
        r = s->ops->query(s->be,
                          "SELECT domain, blocked, tls_required, sasl, dialback, proxy "
                          "FROM xmpp_partner ORDER BY domain",
                          NULL, 0, row_cb, &rows, err);
    if (r == 0)
        r = s->ops->commit(s->be, err);
    else
        s->ops->rollback(s->be);
    size_t bytes = sizeof(store_xmpp_list_t) + rows.n * sizeof(store_xmpp_partner_t);
    for (size_t i = 0; i < 2 * rows.n; i++)
        bytes += rows.strs[i] ? strlen(rows.strs[i]) + 1 : 0;
    store_xmpp_list_t *l = NULL;
    if (r == 0) {
        l = fedge_calloc(1, bytes);
        store_xmpp_partner_t *v = (store_xmpp_partner_t *)(l + 1);
        char *text = (char *)(v + rows.n);
        for (size_t i = 0; i < rows.n; i++) {
            v[i] = rows.v[i];
            for (int k = 0; k < 2; k++) {
                const char *src = rows.strs[2 * i + k];
                const char *dst = NULL;
                if (src) {
                    size_t len = strlen(src) + 1;
                    memcpy(text, src, len);
                    dst = text;
                    text += len;
                }
                if (k == 0)
                    v[i].domain = dst;
                else
                    v[i].proxy = dst;
            }
        }
        l->generation = gen;
        l->partners = v;
        l->n = rows.n;
        *out = l;
    }
    for (size_t i = 0; i < 2 * rows.n; i++)
        free(rows.strs[i]);
    free(rows.strs);
    free(rows.v);
    return r;
}

void store_xmpp_list_free(store_xmpp_list_t *l)
{
    free(l);
}

const store_xmpp_partner_t *store_xmpp_find(const store_xmpp_list_t *l, const char *domain)
{
    if (!l || !domain)
        return NULL;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcasecmp(l->partners[mid].domain, domain);
        if (c == 0)
            return &l->partners[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Presence subscriptions across the gateway (migration 8)             */
/* ------------------------------------------------------------------ */

static const char *const xsub_dirs[] = {"sip", "xmpp"};

/* Printable text without control characters (UTF-8 allowed) shorter than
 * max, for the subscription's strings. */
static int xsub_text(const char *field, const char *v, size_t max, bool empty_ok, fedge_err_t *err)
{
    size_t len = strnlen(v, max);
    bool ok = len < max && (empty_ok || len > 0);
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
    if (!ok)
        return fedge_err(err, FEDGE_EINVAL,
                         "presence subscription %s: expected %s up to %zu characters, no "
                         "control characters",
                         field, empty_ok ? "" : "1 to", max - 1);
    return 0;
}

/* The upsert of store_xsub_put and store_xsub_keep; keep: the existing row
 * is replaced only while x->owner owns it (*changes then says whether a
 * row was written). */
static int xsub_write(store_t *s, const store_xsub_t *x, bool keep, int64_t *changes,
                      fedge_err_t *err)
{
    if (x->dir != STORE_XSUB_SIP && x->dir != STORE_XSUB_XMPP)
        return fedge_err(err, FEDGE_EINVAL, "presence subscription: unknown direction %d",
                         (int)x->dir);
    const struct {
        const char *name, *v;
        size_t max;
        bool empty_ok;
    } f[] = {
        {"watcher", x->watcher, sizeof x->watcher, false},
        {"target", x->target, sizeof x->target, false},
        {"owner", x->owner, sizeof x->owner, false},
        {"call-id", x->call_id, sizeof x->call_id, true},
        {"local tag", x->local_tag, sizeof x->local_tag, true},
        {"remote tag", x->remote_tag, sizeof x->remote_tag, true},
        {"remote URI", x->remote_uri, sizeof x->remote_uri, true},
        {"remote target", x->remote_target, sizeof x->remote_target, true},
        {"presence", x->presence, sizeof x->presence, true},
        {"note", x->note, sizeof x->note, true},
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(f); i++) {
        int r = xsub_text(f[i].name, f[i].v, f[i].max, f[i].empty_ok, err);
        if (r < 0)
            return r;
    }
    store__val_t a[] = {STORE__S(xsub_dirs[x->dir]), STORE__S(x->watcher),
                        STORE__S(x->target),         STORE__S(x->owner),
                        STORE__I(x->active ? 1 : 0), STORE__S(x->call_id),
                        STORE__S(x->local_tag),      STORE__S(x->remote_tag),
                        STORE__S(x->remote_uri),     STORE__S(x->remote_target),
                        STORE__I(x->cseq),           STORE__I(x->expires_s),
                        STORE__S(x->presence),       STORE__S(x->note)};
    /* one upsert statement on both engines: no writers' lock taken; with
     * keep, a row another member took meanwhile (store_xsub_adopt) is left
     * as it is, in the same statement, so no adoption slips in between */
#define XSUB_UPSERT                                                                                \
    "INSERT INTO xmpp_subscription(dir, watcher, target, owner, active, call_id, local_tag, "      \
    "remote_tag, remote_uri, remote_target, cseq, expires_s, presence, note) VALUES(?1, ?2, ?3, "  \
    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT(dir, watcher, target) DO "       \
    "UPDATE SET owner = ?4, active = ?5, call_id = ?6, local_tag = ?7, remote_tag = ?8, "          \
    "remote_uri = ?9, remote_target = ?10, cseq = ?11, expires_s = ?12, presence = ?13, "          \
    "note = ?14"
    return s->ops->exec(
        s->be, keep ? XSUB_UPSERT " WHERE LOWER(xmpp_subscription.owner) = LOWER(?4)" : XSUB_UPSERT,
        a, FEDGE_ARRAY_LEN(a), changes, err);
#undef XSUB_UPSERT
}

int store_xsub_put(store_t *s, const store_xsub_t *x, fedge_err_t *err)
{
    return xsub_write(s, x, false, NULL, err);
}

int store_xsub_keep(store_t *s, const store_xsub_t *x, bool *lost, fedge_err_t *err)
{
    int64_t changes = 0;
    *lost = false;
    int r = xsub_write(s, x, true, &changes, err);
    if (r == 0)
        *lost = changes == 0;
    return r;
}

int store_xsub_del(store_t *s, store_xsub_dir_t dir, const char *watcher, const char *target,
                   fedge_err_t *err)
{
    if (dir != STORE_XSUB_SIP && dir != STORE_XSUB_XMPP)
        return fedge_err(err, FEDGE_EINVAL, "presence subscription: unknown direction %d",
                         (int)dir);
    store__val_t a[] = {STORE__S(xsub_dirs[dir]), STORE__S(watcher), STORE__S(target)};
    return s->ops->exec(s->be,
                        "DELETE FROM xmpp_subscription WHERE dir = ?1 AND watcher = ?2 AND "
                        "target = ?3",
                        a, 3, NULL, err);
}

typedef struct {
    store_xsub_cb cb;
    void *ctx;
} xsub_list_t;

static void xsub_copy(char *dst, size_t n, const store__val_t *v)
{
    snprintf(dst, n, "%s", v->t == STORE__TEXT && v->s ? v->s : "");
}

static int xsub_row(const store__val_t *c, size_t n, void *ctx)
{
    xsub_list_t *l = ctx;
    if (n < 14)
        return 0;
    store_xsub_t *x = fedge_calloc(1, sizeof *x); /* 3 KiB: off the worker's stack */
    x->dir = c[0].t == STORE__TEXT && c[0].s && !strcmp(c[0].s, "xmpp") ? STORE_XSUB_XMPP
                                                                        : STORE_XSUB_SIP;
    xsub_copy(x->watcher, sizeof x->watcher, &c[1]);
    xsub_copy(x->target, sizeof x->target, &c[2]);
    xsub_copy(x->owner, sizeof x->owner, &c[3]);
    x->active = c[4].i != 0;
    xsub_copy(x->call_id, sizeof x->call_id, &c[5]);
    xsub_copy(x->local_tag, sizeof x->local_tag, &c[6]);
    xsub_copy(x->remote_tag, sizeof x->remote_tag, &c[7]);
    xsub_copy(x->remote_uri, sizeof x->remote_uri, &c[8]);
    xsub_copy(x->remote_target, sizeof x->remote_target, &c[9]);
    x->cseq = c[10].i;
    x->expires_s = c[11].i;
    xsub_copy(x->presence, sizeof x->presence, &c[12]);
    xsub_copy(x->note, sizeof x->note, &c[13]);
    int r = l->cb(x, l->ctx);
    free(x);
    return r;
}

int store_xsub_list(store_t *s, const char *owner, store_xsub_cb cb, void *ctx, fedge_err_t *err)
{
    xsub_list_t l = {cb, ctx};
    store__val_t a[] = {STORE__S(owner)};
#define XSUB_COLS                                                                                  \
    "SELECT dir, watcher, target, owner, active, call_id, local_tag, remote_tag, remote_uri, "     \
    "remote_target, cseq, expires_s, presence, note FROM xmpp_subscription "
    if (!owner)
        return s->ops->query(s->be, XSUB_COLS "ORDER BY dir, watcher, target", NULL, 0, xsub_row,
                             &l, err);
    return s->ops->query(s->be, XSUB_COLS "WHERE owner = ?1 ORDER BY dir, watcher, target", a, 1,
                         xsub_row, &l, err);
#undef XSUB_COLS
}

#define XSUB_ROW_COLS                                                                              \
    "dir, watcher, target, owner, active, call_id, local_tag, remote_tag, remote_uri, "            \
    "remote_target, cseq, expires_s, presence, note"

/* Marks member me seen at now and lists, in the same transaction under the
 * writers' lock (so no adoption slips between the two), the rows it owns
 * (own) or the rows other members own (!own). */
static int seen_and_list(store_t *s, const char *me, int64_t now, bool own, store_xsub_cb cb,
                         void *ctx, fedge_err_t *err)
{
    char fq[STORE_FQDN_MAX + 1];
    int r = store_check_domain("member", me, fq, sizeof fq, err);
    if (r < 0 || (r = s->ops->begin(s->be, true, err)) < 0)
        return r;
    xsub_list_t l = {cb, ctx};
    store__val_t a[] = {STORE__S(fq), STORE__I(now)};
    r = s->ops->exec(s->be, "UPDATE pool_member SET seen_s = ?2 WHERE fqdn = ?1", a, 2, NULL, err);
    if (r == 0)
        r = s->ops->query(s->be,
                          own ? "SELECT " XSUB_ROW_COLS " FROM xmpp_subscription WHERE "
                                "LOWER(owner) = ?1 ORDER BY dir, watcher, target"
                              : "SELECT " XSUB_ROW_COLS " FROM xmpp_subscription WHERE "
                                "LOWER(owner) <> ?1 ORDER BY dir, watcher, target",
                          a, 1, xsub_row, &l, err);
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    return s->ops->commit(s->be, err);
}

int store_xsub_foreign(store_t *s, const char *me, int64_t now, store_xsub_cb cb, void *ctx,
                       fedge_err_t *err)
{
    return seen_and_list(s, me, now, false, cb, ctx, err);
}

int store_xsub_reload(store_t *s, const char *me, int64_t now, store_xsub_cb cb, void *ctx,
                      fedge_err_t *err)
{
    return seen_and_list(s, me, now, true, cb, ctx, err);
}

/* The stale members of a pool that own rows, gathered before the change. */
#define ADOPT_MAX_DEAD 64
typedef struct {
    char names[ADOPT_MAX_DEAD][STORE_FQDN_MAX + 1];
    size_t n;
} dead_t;

static int dead_row(const store__val_t *c, size_t n, void *ctx)
{
    dead_t *d = ctx;
    if (n >= 1 && c[0].t == STORE__TEXT && c[0].s && d->n < ADOPT_MAX_DEAD)
        snprintf(d->names[d->n++], sizeof d->names[0], "%s", c[0].s);
    return 0;
}

typedef struct {
    store_xsub_cb cb;
    void *ctx;
    size_t n;
} adopt_t;

static int adopt_row(const store_xsub_t *x, void *ctx)
{
    adopt_t *a = ctx;
    a->n++;
    return a->cb ? a->cb(x, a->ctx) : 0;
}

int store_xsub_adopt(store_t *s, const char *me, const char *pool, int64_t now, store_xsub_cb cb,
                     void *ctx, size_t *adopted, fedge_err_t *err)
{
    if (adopted)
        *adopted = 0;
    char fq[STORE_FQDN_MAX + 1];
    int r = store_check_domain("member", me, fq, sizeof fq, err);
    if (r < 0)
        return r;
    if (!pool || !*pool)
        return 0;                           /* alone: nobody to adopt from */
    dead_t *d = fedge_calloc(1, sizeof *d); /* 16 KiB: off the worker's stack */
    store__val_t a[] = {STORE__S(fq), STORE__S(pool), STORE__I(now - STORE_MEMBER_STALE_S)};
    static const char stale_sql[] =
        "SELECT fqdn FROM pool_member m WHERE pool = ?2 AND fqdn <> ?1 AND seen_s < ?3 AND "
        "EXISTS (SELECT 1 FROM xmpp_subscription x WHERE LOWER(x.owner) = m.fqdn) ORDER BY fqdn";
    /* the cheap look first: no lock while every member is live */
    r = s->ops->query(s->be, stale_sql, a, 3, dead_row, d, err);
    if (r < 0 || d->n == 0) {
        free(d);
        return r;
    }
    if ((r = s->ops->begin(s->be, true, err)) < 0) {
        free(d);
        return r;
    }
    d->n = 0; /* again under the lock: one may have come back meanwhile */
    r = s->ops->query(s->be, stale_sql, a, 3, dead_row, d, err);
    adopt_t ad = {cb, ctx, 0};
    xsub_list_t l = {adopt_row, &ad};
    for (size_t i = 0; r == 0 && i < d->n; i++) {
        store__val_t b[] = {STORE__S(fq), STORE__S(d->names[i]), STORE__S(pool),
                            STORE__I(now - STORE_MEMBER_STALE_S)};
        /* still dead, in the statement that moves its rows */
        r = s->ops->query(
            s->be,
            "UPDATE xmpp_subscription SET owner = ?1 WHERE LOWER(owner) = ?2 AND EXISTS "
            "(SELECT 1 FROM pool_member WHERE fqdn = ?2 AND pool = ?3 AND seen_s < ?4) "
            "RETURNING dir, watcher, target, CAST(?2 AS TEXT), active, call_id, local_tag, "
            "remote_tag, remote_uri, remote_target, cseq, expires_s, presence, note",
            b, 4, xsub_row, &l, err);
    }
    free(d);
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    if ((r = s->ops->commit(s->be, err)) < 0)
        return r;
    if (adopted)
        *adopted = ad.n;
    return 0;
}
