/* txn.c — the proxy's transaction tables (server key, client branch,
 * parked ticket), the timer heap and the transactions' lifetime: killed
 * transactions are unlinked at once and freed only when the outermost
 * entry point returns. */
#include "proxy/proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hash tables ---- */

static uint64_t key_hash(const proxy__txn_t *t, int w)
{
    switch (w) {
    case PROXY__BY_KEY: return t->skey_hash;
    case PROXY__BY_BRANCH: return proxy__branch_hash(t->branch);
    default: return fedge_hash(&t->ticket, sizeof(t->ticket));
    }
}

void proxy__tab_add(proxy_t *p, int w, proxy__txn_t *t)
{
    fedge_map_insert(&p->tab[w], &t->node[w], key_hash(t, w));
    t->linked[w] = true;
}

void proxy__tab_del(proxy_t *p, int w, proxy__txn_t *t)
{
    if (!t->linked[w])
        return;
    fedge_map_remove(&p->tab[w], &t->node[w]);
    t->linked[w] = false;
}

static bool key_eq(const fedge_map_node_t *n, const void *key)
{
    const proxy__txn_t *t = FEDGE_CONTAINER_OF(n, proxy__txn_t, node[PROXY__BY_KEY]);
    const fedge_str_t *k = key;
    return t->skey_len == k->len && !memcmp(t->skey, k->s, k->len) && !t->dead;
}

static bool branch_eq(const fedge_map_node_t *n, const void *key)
{
    const proxy__txn_t *t = FEDGE_CONTAINER_OF(n, proxy__txn_t, node[PROXY__BY_BRANCH]);
    return !memcmp(t->branch, key, PROXY_BRANCH_LEN) && !t->dead;
}

static bool ticket_eq(const fedge_map_node_t *n, const void *key)
{
    const proxy__txn_t *t = FEDGE_CONTAINER_OF(n, proxy__txn_t, node[PROXY__BY_TICKET]);
    return t->ticket == *(const uint64_t *)key && t->parked && !t->dead;
}

proxy__txn_t *proxy__find_server(proxy_t *p, const char *key, size_t len, uint64_t *hash)
{
    fedge_str_t k = {key, len};
    *hash = fedge_hash(key, len);
    fedge_map_node_t *n = fedge_map_find(&p->tab[PROXY__BY_KEY], *hash, key_eq, &k);
    return n ? FEDGE_CONTAINER_OF(n, proxy__txn_t, node[PROXY__BY_KEY]) : NULL;
}

proxy__txn_t *proxy__find_client(proxy_t *p, fedge_str_t branch)
{
    if (branch.len != PROXY_BRANCH_LEN)
        return NULL;
    fedge_map_node_t *n = fedge_map_find(&p->tab[PROXY__BY_BRANCH], proxy__branch_hash(branch.s),
                                         branch_eq, branch.s);
    return n ? FEDGE_CONTAINER_OF(n, proxy__txn_t, node[PROXY__BY_BRANCH]) : NULL;
}

proxy__txn_t *proxy__find_parked(proxy_t *p, uint64_t ticket)
{
    fedge_map_node_t *n = fedge_map_find(&p->tab[PROXY__BY_TICKET],
                                         fedge_hash(&ticket, sizeof(ticket)), ticket_eq, &ticket);
    return n ? FEDGE_CONTAINER_OF(n, proxy__txn_t, node[PROXY__BY_TICKET]) : NULL;
}

void proxy__park(proxy_t *p, proxy__txn_t *t)
{
    if (t->parked)
        return;
    t->parked = true;
    proxy__tab_add(p, PROXY__BY_TICKET, t);
}

void proxy__unpark(proxy_t *p, proxy__txn_t *t)
{
    if (!t->parked)
        return;
    proxy__tab_del(p, PROXY__BY_TICKET, t);
    t->parked = false;
}

proxy__txn_t **proxy__txn_list(proxy_t *p, size_t *n)
{
    const fedge_map_t *m = &p->tab[PROXY__BY_KEY];
    size_t cap = fedge_map_count(m);
    proxy__txn_t **v = fedge_calloc(cap ? cap : 1, sizeof(*v));
    size_t k = 0;
    fedge_map_iter_t it;
    fedge_map_iter_init(&it, m);
    for (fedge_map_node_t *x; k < cap && (x = fedge_map_iter_next(&it));)
        v[k++] = FEDGE_CONTAINER_OF(x, proxy__txn_t, node[PROXY__BY_KEY]);
    *n = k;
    return v;
}

/* ---- timer heaps (min-heaps on deadline, intrusive index): w 0 the
 * transaction timer, w 1 the retransmission timer (UDP) ---- */

typedef struct {
    proxy__txn_t ***v;
    size_t *len, *cap;
} heap_t;

static heap_t heap_of(proxy_t *p, int w)
{
    return w ? (heap_t){&p->rheap, &p->rheap_len, &p->rheap_cap}
             : (heap_t){&p->heap, &p->heap_len, &p->heap_cap};
}

static uint64_t *at_of(proxy__txn_t *t, int w)
{
    return w ? &t->rtx_at : &t->deadline;
}

static size_t *idx_of(proxy__txn_t *t, int w)
{
    return w ? &t->rtx_idx : &t->heap_idx;
}

static void heap_swap(heap_t h, int w, size_t a, size_t b)
{
    proxy__txn_t **v = *h.v;
    proxy__txn_t *t = v[a];
    v[a] = v[b];
    v[b] = t;
    *idx_of(v[a], w) = a;
    *idx_of(v[b], w) = b;
}

static void heap_up(heap_t h, int w, size_t i)
{
    proxy__txn_t **v = *h.v;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (*at_of(v[par], w) <= *at_of(v[i], w))
            break;
        heap_swap(h, w, par, i);
        i = par;
    }
}

static void heap_down(heap_t h, int w, size_t i)
{
    proxy__txn_t **v = *h.v;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *h.len && *at_of(v[l], w) < *at_of(v[m], w))
            m = l;
        if (r < *h.len && *at_of(v[r], w) < *at_of(v[m], w))
            m = r;
        if (m == i)
            break;
        heap_swap(h, w, i, m);
        i = m;
    }
}

static void heap_del(proxy_t *p, int w, proxy__txn_t *t)
{
    size_t *ix = idx_of(t, w);
    if (*ix == SIZE_MAX)
        return;
    heap_t h = heap_of(p, w);
    size_t i = *ix;
    size_t last = --*h.len;
    if (i != last) {
        (*h.v)[i] = (*h.v)[last];
        *idx_of((*h.v)[i], w) = i;
        heap_down(h, w, i);
        heap_up(h, w, i);
    }
    *ix = SIZE_MAX;
}

static void heap_add(proxy_t *p, int w, proxy__txn_t *t, uint64_t deadline)
{
    heap_del(p, w, t);
    heap_t h = heap_of(p, w);
    if (*h.len == *h.cap) {
        *h.cap = *h.cap ? *h.cap * 2 : 256;
        *h.v = fedge_realloc(*h.v, *h.cap * sizeof(**h.v));
    }
    *at_of(t, w) = deadline;
    *idx_of(t, w) = *h.len;
    (*h.v)[(*h.len)++] = t;
    heap_up(h, w, *idx_of(t, w));
}

void proxy__timer_stop(proxy_t *p, proxy__txn_t *t)
{
    heap_del(p, 0, t);
    t->timer = PROXY__TM_NONE;
}

uint64_t proxy__now(proxy_t *p)
{
    return p->io.now_ms ? p->io.now_ms(p->io.ctx) : 0;
}

void proxy__timer_start(proxy_t *p, proxy__txn_t *t, proxy__tmkind_t kind, uint64_t ms)
{
    heap_add(p, 0, t, proxy__now(p) + ms);
    t->timer = kind;
}

void proxy__rtx_start(proxy_t *p, proxy__txn_t *t, uint64_t ms)
{
    heap_add(p, 1, t, proxy__now(p) + ms);
}

void proxy__rtx_stop(proxy_t *p, proxy__txn_t *t)
{
    heap_del(p, 1, t);
}

proxy__txn_t *proxy__rtx_due(proxy_t *p, uint64_t now)
{
    if (!p->rheap_len || p->rheap[0]->rtx_at > now)
        return NULL;
    proxy__txn_t *t = p->rheap[0];
    heap_del(p, 1, t);
    return t;
}

/* ---- lifetime ---- */

/* A block of at least need bytes; *cls: its size class, 0 when it is not
 * the pool's. */
static void *block_get(proxy_t *p, size_t need, uint8_t *cls)
{
    size_t c = (need + PROXY__POOL_UNIT - 1) / PROXY__POOL_UNIT;
    if (!PROXY__POOLING || c > PROXY__POOL_CLASSES) {
        *cls = 0;
        return fedge_malloc(need);
    }
    *cls = (uint8_t)c;
    if (p->npool[c - 1])
        return p->pool[c - 1][--p->npool[c - 1]];
    return fedge_malloc(c * PROXY__POOL_UNIT);
}

static void block_put(proxy_t *p, void *b, uint8_t cls)
{
    if (cls && p->npool[cls - 1] < PROXY__POOL_KEEP) {
        p->pool[cls - 1][p->npool[cls - 1]++] = b;
        return;
    }
    free(b);
}

proxy_edits_t *proxy__edits_new(proxy_t *p)
{
    if (PROXY__POOLING && p->nepool)
        return p->epool[--p->nepool];
    return fedge_malloc(sizeof(proxy_edits_t));
}

static void edits_free(proxy_t *p, proxy_edits_t *e)
{
    if (PROXY__POOLING && e && p->nepool < PROXY__POOL_KEEP) {
        p->epool[p->nepool++] = e;
        return;
    }
    free(e);
}

void proxy__pool_free(proxy_t *p)
{
    for (unsigned c = 0; c < PROXY__POOL_CLASSES; c++) {
        while (p->npool[c])
            free(p->pool[c][--p->npool[c]]);
    }
    while (p->nepool)
        free(p->epool[--p->nepool]);
}

proxy__txn_t *proxy__txn_new(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m,
                             const char *key, size_t key_len, uint64_t key_hash)
{
    /* one block: the transaction, then its key, then its request */
    uint8_t cls;
    proxy__txn_t *t = block_get(p, sizeof(*t) + key_len + m->len, &cls);
    memset(t, 0, sizeof(*t));
    t->pool_class = cls;
    t->heap_idx = SIZE_MAX;
    t->rtx_idx = SIZE_MAX;
    t->owner = p;
    t->in_udp = p->io.is_udp && c && p->io.is_udp(p->io.ctx, c);
    t->started_ms = proxy__now(p);
    t->skey = (char *)(t + 1);
    memcpy(t->skey, key, key_len);
    t->skey_len = key_len;
    t->skey_hash = key_hash;
    t->req = t->skey + key_len;
    memcpy(t->req, m->buf, m->len);
    t->req_len = m->len;
    t->invite = m->method_id == SIP_METHOD_INVITE;
    t->in_side = peer->side;
    t->in_conn = c;
    t->in_client = p->untrusted && c && p->untrusted(p->untrusted_user, c);
    fedge_sb_t rb;
    fedge_sb_init(&rb, t->remote, sizeof(t->remote));
    const char *remote = peer->remote ? peer->remote : "-";
    size_t rl = strlen(remote);
    fedge_sb_put(&rb, remote, rl < sizeof(t->remote) ? rl : sizeof(t->remote) - 1);
    const sip_via_t *via;
    if (sip_msg_via(m, &via) == 0) {
        proxy__unbracket(via->received.len ? via->received : via->host, t->up_host,
                         sizeof(t->up_host));
        bool tls = fedge_str_ieq(via->transport, "TLS");
        t->up_port = via->has_rport && via->rport ? via->rport
                     : via->has_port              ? via->port
                     : tls                        ? 5061
                                                  : 5060;
    }
    proxy__tab_add(p, PROXY__BY_KEY, t);
    p->st.transactions++;
    p->pending++;
    return t;
}

void proxy__txn_free(proxy__txn_t *t)
{
    proxy_t *p = t->owner;
    proxy__out_free(t->ob);
    free(t->fwd);
    free(t->resp);
    edits_free(p, t->edits);
    free(t->rr_user);
    free(t->body);
    block_put(p, t, t->pool_class);
}

void proxy__txn_kill(proxy_t *p, proxy__txn_t *t)
{
    if (t->dead)
        return;
    if (t->held) {
        /* a response of it waits for the media hook: killed once sent */
        proxy__timer_stop(p, t);
        t->kill_when_flushed = true;
        return;
    }
    proxy__unpark(p, t);
    proxy__out_cancel(t->ob);
    proxy__timer_stop(p, t);
    proxy__rtx_stop(p, t);
    for (int w = 0; w < PROXY__NTABS; w++)
        proxy__tab_del(p, w, t);
    if (t->state == PROXY__T_PROCEEDING)
        p->pending--;
    t->dead = true;
    t->dead_next = p->dead;
    p->dead = t;
    p->st.transactions--;
}

void proxy__reap(proxy_t *p)
{
    if (p->depth)
        return;
    while (p->dead) {
        proxy__txn_t *t = p->dead;
        p->dead = t->dead_next;
        proxy__txn_free(t);
    }
}
