/* snapshot.c — immutable, reference-counted snapshots of the store: read in
 * one transaction into one arena, with case-insensitive hash indexes so
 * that every lookup of the policy engine is O(1). */
#include "store/store_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena: chunks freed together with the snapshot ---- */

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(max_align_t) unsigned char data[];
} chunk_t;

static void *arena_alloc(chunk_t **head, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk_t *c = *head;
    if (!c || c->size - c->used < n) {
        size_t size = n > 32768 ? n : 32768;
        c = fedge_malloc(sizeof(chunk_t) + size);
        c->used = 0;
        c->size = size;
        c->next = *head;
        *head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

static const char *arena_str(chunk_t **head, const char *s)
{
    size_t n = strlen(s);
    char *p = arena_alloc(head, n + 1);
    memcpy(p, s, n + 1);
    return p;
}

/* ---- hash index ----
 *
 * Keys are domains and user names that partners and users choose: the
 * keyed, case-insensitive fedge_hash_ci. Built once, then only read (from
 * any thread); entries live in the snapshot's arena, bucket arrays are
 * freed with it. */

typedef struct {
    fedge_map_node_t node;
    const char *key;
    size_t len;
    const void *val;
} hent_t;

typedef fedge_map_t hidx_t;

static bool hent_eq(const fedge_map_node_t *n, const void *key)
{
    const hent_t *e = FEDGE_CONTAINER_OF(n, hent_t, node);
    const fedge_str_t *k = key;
    return e->len == k->len && !strncasecmp(e->key, k->s, k->len);
}

/* First insert of a key wins. */
static void hidx_put(chunk_t **a, hidx_t *h, const char *key, const void *val)
{
    fedge_str_t k = {key, strlen(key)};
    uint64_t hash = fedge_hash_ci(k);
    if (fedge_map_find(h, hash, hent_eq, &k))
        return;
    hent_t *e = arena_alloc(a, sizeof *e);
    e->key = key;
    e->len = k.len;
    e->val = val;
    fedge_map_insert(h, &e->node, hash);
}

static const void *hidx_get(const hidx_t *h, fedge_str_t k)
{
    /* an empty index (often: no blocked domains, no per-user policies)
     * answers without hashing the key, which is most of a look-up's cost */
    if (!k.s || fedge_map_count(h) == 0)
        return NULL;
    fedge_map_node_t *n = fedge_map_find(h, fedge_hash_ci(k), hent_eq, &k);
    return n ? FEDGE_CONTAINER_OF(n, hent_t, node)->val : NULL;
}

struct store__snap_priv {
    atomic_int refs;
    chunk_t *arena;
    hidx_t allowed, blocked, prov_domain, prov_fqdn, partner_fqdn, policy, user, watch;
    /* growable arrays while loading */
};

/* ---- loading ---- */

typedef struct {
    store_snapshot_t *snap;
    chunk_t **a;
    /* vectors (fedge_realloc'd while loading, copied into the arena after) */
    void *v;
    size_t n, cap, elem;
    const char *err_key;
} load_t;

static void *vec_push(load_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = fedge_realloc(l->v, l->cap * l->elem);
    }
    void *p = (char *)l->v + l->n * l->elem;
    memset(p, 0, l->elem);
    l->n++;
    return p;
}

static void *vec_finish(load_t *l)
{
    void *p = arena_alloc(l->a, l->n * l->elem + 1);
    if (l->n)
        memcpy(p, l->v, l->n * l->elem);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
    return p;
}

static const char *col_s(chunk_t **a, const store__val_t *c)
{
    return c->t == STORE__TEXT ? arena_str(a, c->s) : c->t == STORE__INT ? "" : NULL;
}

static int edge_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    if (n < 2 || c[0].t != STORE__TEXT || c[1].t != STORE__TEXT)
        return 0;
    /* Values are validated on the way in; a bad row (hand-edited store)
     * keeps the default rather than failing the whole load. */
    const char *v = arena_str(l->a, c[1].s);
    store_edge_t e = l->snap->edge;
    if (store__edge_apply(&e, c[0].s, v, NULL) == 0)
        l->snap->edge = e;
    return 0;
}

static int allowed_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    store_allowed_t *e = vec_push(l);
    e->domain = col_s(l->a, &c[0]);
    e->proxy_fqdn = c[1].t == STORE__TEXT && c[1].s[0] ? arena_str(l->a, c[1].s) : NULL;
    e->comment = c[2].t == STORE__TEXT ? arena_str(l->a, c[2].s) : "";
    e->monitor = c[3].i != 0;
    (void)n;
    return 0;
}

static int blocked_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    store_blocked_t *e = vec_push(l);
    e->domain = col_s(l->a, &c[0]);
    e->comment = c[1].t == STORE__TEXT ? arena_str(l->a, c[1].s) : "";
    (void)n;
    return 0;
}

static int provider_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    store_provider_t *e = vec_push(l);
    e->name = col_s(l->a, &c[0]);
    e->proxy_fqdn = col_s(l->a, &c[1]);
    store_check_provider_kind("kind", c[2].s, &e->kind, NULL);
    store_check_verification("verification", c[3].s, &e->verification, NULL);
    e->enabled = c[4].i != 0;
    (void)n;
    return 0;
}

/* (provider, domain) rows ordered by provider then domain. */
typedef struct {
    const char *provider;
    const char *domain;
} pd_t;

static int pd_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    pd_t *e = vec_push(l);
    e->provider = col_s(l->a, &c[0]);
    e->domain = col_s(l->a, &c[1]);
    (void)n;
    return 0;
}

static int policy_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    store_policy_t *e = vec_push(l);
    e->scope = col_s(l->a, &c[0]);
    e->federation = c[1].i != 0;
    e->public_im = c[2].i != 0;
    e->outside = c[3].i != 0;
    e->xmpp = c[4].i != 0;
    e->av = c[5].i != 0;
    (void)n;
    return 0;
}

static int assign_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    store_assignment_t *e = vec_push(l);
    e->user = col_s(l->a, &c[0]);
    e->policy = col_s(l->a, &c[1]);
    (void)n;
    return 0;
}

static int watch_row(const store__val_t *c, size_t n, void *x)
{
    load_t *l = x;
    store_watch_t *e = vec_push(l);
    e->domain = col_s(l->a, &c[0]);
    e->added_at = col_s(l->a, &c[1]);
    e->users = (uint32_t)c[2].i;
    e->reason = col_s(l->a, &c[3]);
    (void)n;
    return 0;
}

static int gen_row(const store__val_t *c, size_t n, void *x)
{
    if (n >= 1)
        *(uint64_t *)x = (uint64_t)c[0].i;
    return 0;
}

static store_snapshot_t *snap_new(void)
{
    chunk_t *a = NULL;
    store_snapshot_t *snap = arena_alloc(&a, sizeof(*snap));
    snap->priv = arena_alloc(&a, sizeof(*snap->priv));
    atomic_init(&snap->priv->refs, 1);
    snap->priv->arena = a;
    store__edge_defaults(&snap->edge);
    return snap;
}

static void snap_free(store_snapshot_t *snap)
{
    struct store__snap_priv *p = snap->priv;
    hidx_t *idx[] = {&p->allowed,      &p->blocked, &p->prov_domain, &p->prov_fqdn,
                     &p->partner_fqdn, &p->policy,  &p->user,        &p->watch};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(idx); i++)
        fedge_map_free(idx[i]);
    chunk_t *c = p->arena;
    while (c) {
        chunk_t *n = c->next;
        free(c);
        c = n;
    }
}

/* Builds all indexes once the arrays are in place. */
static void snap_index(store_snapshot_t *snap)
{
    struct store__snap_priv *p = snap->priv;
    chunk_t **a = &p->arena;
    for (size_t i = 0; i < snap->n_allowed; i++) {
        hidx_put(a, &p->allowed, snap->allowed[i].domain, &snap->allowed[i]);
        if (snap->allowed[i].proxy_fqdn)
            hidx_put(a, &p->partner_fqdn, snap->allowed[i].proxy_fqdn, &snap->allowed[i]);
    }
    for (size_t i = 0; i < snap->n_blocked; i++)
        hidx_put(a, &p->blocked, snap->blocked[i].domain, &snap->blocked[i]);
    for (size_t i = 0; i < snap->n_providers; i++) {
        const store_provider_t *pr = &snap->providers[i];
        hidx_put(a, &p->prov_fqdn, pr->proxy_fqdn, pr);
        for (size_t k = 0; k < pr->n_domains; k++)
            hidx_put(a, &p->prov_domain, pr->domains[k], pr);
    }
    for (size_t i = 0; i < snap->n_policies; i++)
        hidx_put(a, &p->policy, snap->policies[i].scope, &snap->policies[i]);
    for (size_t i = 0; i < snap->n_assignments; i++) {
        fedge_str_t k = {snap->assignments[i].policy, strlen(snap->assignments[i].policy)};
        const void *pol = hidx_get(&p->policy, k);
        if (pol)
            hidx_put(a, &p->user, snap->assignments[i].user, pol);
    }
    for (size_t i = 0; i < snap->n_watchlist; i++)
        hidx_put(a, &p->watch, snap->watchlist[i].domain, &snap->watchlist[i]);
}

#define Q(sql, cb, l) s->ops->query(s->be, sql, NULL, 0, cb, l, err)

int store__snapshot_build(store_t *s, store_snapshot_t **out, fedge_err_t *err)
{
    store_snapshot_t *snap = snap_new();
    chunk_t **a = &snap->priv->arena;
    load_t l = {.snap = snap, .a = a};
    int r = Q("SELECT value FROM meta WHERE key = 'generation'", gen_row, &snap->generation);
    if (r == 0)
        r = Q("SELECT key, value FROM edge_setting ORDER BY key", edge_row, &l);
    if (r == 0) {
        l.elem = sizeof(store_allowed_t);
        r = Q("SELECT domain, proxy_fqdn, comment, monitor FROM allowed_domain ORDER BY domain",
              allowed_row, &l);
        snap->n_allowed = l.n;
        snap->allowed = vec_finish(&l);
        l.n = 0;
    }
    if (r == 0) {
        l.elem = sizeof(store_blocked_t);
        r = Q("SELECT domain, comment FROM blocked_domain ORDER BY domain", blocked_row, &l);
        snap->n_blocked = l.n;
        snap->blocked = vec_finish(&l);
        l.n = 0;
    }
    if (r == 0) {
        l.elem = sizeof(store_provider_t);
        r = Q("SELECT name, proxy_fqdn, kind, verification, enabled FROM provider ORDER BY name",
              provider_row, &l);
        snap->n_providers = l.n;
        snap->providers = vec_finish(&l);
        l.n = 0;
    }
    if (r == 0) {
        l.elem = sizeof(pd_t);
        r = Q("SELECT provider, domain FROM provider_domain ORDER BY provider, domain", pd_row, &l);
        size_t npd = l.n;
        pd_t *pd = vec_finish(&l);
        l.n = 0;
        /* Attach each provider's run of domains (both sorted by name). */
        store_provider_t *pv = (store_provider_t *)snap->providers;
        const char **doms = arena_alloc(a, (npd + 1) * sizeof(char *));
        for (size_t i = 0; i < npd; i++)
            doms[i] = pd[i].domain;
        size_t k = 0;
        for (size_t i = 0; i < snap->n_providers; i++) {
            while (k < npd && strcmp(pd[k].provider, pv[i].name) < 0)
                k++;
            size_t start = k;
            while (k < npd && !strcmp(pd[k].provider, pv[i].name))
                k++;
            pv[i].domains = doms + start;
            pv[i].n_domains = k - start;
        }
    }
    if (r == 0) {
        l.elem = sizeof(store_policy_t);
        r = Q(
            "SELECT scope, federation, public_im, outside, xmpp, av FROM external_policy ORDER BY "
            "CASE WHEN scope = 'global' THEN 0 WHEN scope LIKE 'site:%' THEN 1 ELSE 2 END, "
            "scope",
            policy_row, &l);
        snap->n_policies = l.n;
        snap->policies = vec_finish(&l);
        l.n = 0;
    }
    if (r == 0) {
        l.elem = sizeof(store_assignment_t);
        r = Q("SELECT user_aor, policy FROM user_policy ORDER BY user_aor", assign_row, &l);
        snap->n_assignments = l.n;
        snap->assignments = vec_finish(&l);
        l.n = 0;
    }
    if (r == 0) {
        l.elem = sizeof(store_watch_t);
        r = Q("SELECT domain, added_at, users, reason FROM watchlist ORDER BY domain", watch_row,
              &l);
        snap->n_watchlist = l.n;
        snap->watchlist = vec_finish(&l);
        l.n = 0;
    }
    free(l.v);
    if (r < 0) {
        snap_free(snap);
        return r;
    }
    snap_index(snap);
    *out = snap;
    return 0;
}

int store_snapshot_load(store_t *s, store_snapshot_t **out, fedge_err_t *err)
{
    int r = s->ops->begin(s->be, false, err);
    if (r < 0)
        return r;
    store_snapshot_t *snap = NULL;
    r = store__snapshot_build(s, &snap, err);
    s->ops->rollback(s->be); /* read only: nothing to commit */
    if (r < 0)
        return r;
    *out = snap;
    return 0;
}

int store_refresh(store_t *s, store_snapshot_t **cur, fedge_err_t *err)
{
    bool changed = false;
    int r = store_changed(s, &changed, err);
    if (r < 0) {
        s->dirty = true; /* look again next time */
        return r;
    }
    if (!changed && *cur)
        return 0;
    store_snapshot_t *snap = NULL;
    r = store_snapshot_load(s, &snap, err);
    if (r < 0) {
        s->dirty = true; /* the change is still pending: retry next call */
        return r;
    }
    store_snapshot_unref(*cur);
    *cur = snap;
    return 1;
}

store_snapshot_t *store_snapshot_empty(void)
{
    store_snapshot_t *snap = snap_new();
    chunk_t **a = &snap->priv->arena;
    store_policy_t *g = arena_alloc(a, sizeof(*g));
    *g = (store_policy_t){.scope = "global", .federation = true};
    snap->policies = g;
    snap->n_policies = 1;
    snap->allowed = arena_alloc(a, 1);
    snap->blocked = arena_alloc(a, 1);
    snap->providers = arena_alloc(a, 1);
    snap->assignments = arena_alloc(a, 1);
    snap->watchlist = arena_alloc(a, 1);
    snap_index(snap);
    return snap;
}

store_snapshot_t *store_snapshot_ref(store_snapshot_t *snap)
{
    if (snap)
        atomic_fetch_add_explicit(&snap->priv->refs, 1, memory_order_relaxed);
    return snap;
}

void store_snapshot_unref(store_snapshot_t *snap)
{
    if (snap && atomic_fetch_sub_explicit(&snap->priv->refs, 1, memory_order_acq_rel) == 1)
        snap_free(snap);
}

/* ---- lookups ---- */

const store_allowed_t *store_snapshot_allowed(const store_snapshot_t *snap, fedge_str_t d)
{
    return hidx_get(&snap->priv->allowed, d);
}

const store_blocked_t *store_snapshot_blocked(const store_snapshot_t *snap, fedge_str_t d)
{
    return hidx_get(&snap->priv->blocked, d);
}

const store_provider_t *store_snapshot_provider_for(const store_snapshot_t *snap, fedge_str_t d)
{
    return hidx_get(&snap->priv->prov_domain, d);
}

const store_provider_t *store_snapshot_provider_by_fqdn(const store_snapshot_t *snap,
                                                        fedge_str_t fqdn)
{
    return hidx_get(&snap->priv->prov_fqdn, fqdn);
}

const store_allowed_t *store_snapshot_partner_by_fqdn(const store_snapshot_t *snap,
                                                      fedge_str_t fqdn)
{
    return hidx_get(&snap->priv->partner_fqdn, fqdn);
}

const store_policy_t *store_snapshot_policy(const store_snapshot_t *snap, fedge_str_t scope)
{
    return hidx_get(&snap->priv->policy, scope);
}

const store_policy_t *store_snapshot_user_policy(const store_snapshot_t *snap, fedge_str_t user)
{
    return hidx_get(&snap->priv->user, user);
}

const store_watch_t *store_snapshot_watched(const store_snapshot_t *snap, fedge_str_t d)
{
    return hidx_get(&snap->priv->watch, d);
}
