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
    case PROXY__BY_KEY: return fedge_hash(t->skey, t->skey_len);
    case PROXY__BY_BRANCH: return fedge_hash(t->branch, PROXY_BRANCH_LEN);
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

proxy__txn_t *proxy__find_server(proxy_t *p, const char *key, size_t len)
{
    fedge_str_t k = {key, len};
    fedge_map_node_t *n = fedge_map_find(&p->tab[PROXY__BY_KEY], fedge_hash(key, len), key_eq, &k);
    return n ? FEDGE_CONTAINER_OF(n, proxy__txn_t, node[PROXY__BY_KEY]) : NULL;
}

proxy__txn_t *proxy__find_client(proxy_t *p, fedge_str_t branch)
{
    if (branch.len != PROXY_BRANCH_LEN)
        return NULL;
    fedge_map_node_t *n = fedge_map_find(&p->tab[PROXY__BY_BRANCH],
                                         fedge_hash(branch.s, branch.len), branch_eq, branch.s);
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

/* ---- timer heap (min-heap on deadline, intrusive index) ---- */

static void heap_swap(proxy_t *p, size_t a, size_t b)
{
    proxy__txn_t *t = p->heap[a];
    p->heap[a] = p->heap[b];
    p->heap[b] = t;
    p->heap[a]->heap_idx = a;
    p->heap[b]->heap_idx = b;
}

static void heap_up(proxy_t *p, size_t i)
{
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (p->heap[par]->deadline <= p->heap[i]->deadline)
            break;
        heap_swap(p, par, i);
        i = par;
    }
}

static void heap_down(proxy_t *p, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->heap_len && p->heap[l]->deadline < p->heap[m]->deadline)
            m = l;
        if (r < p->heap_len && p->heap[r]->deadline < p->heap[m]->deadline)
            m = r;
        if (m == i)
            break;
        heap_swap(p, i, m);
        i = m;
    }
}

void proxy__timer_stop(proxy_t *p, proxy__txn_t *t)
{
    if (t->heap_idx == SIZE_MAX)
        return;
    size_t i = t->heap_idx;
    size_t last = --p->heap_len;
    if (i != last) {
        p->heap[i] = p->heap[last];
        p->heap[i]->heap_idx = i;
        heap_down(p, i);
        heap_up(p, i);
    }
    t->heap_idx = SIZE_MAX;
    t->timer = PROXY__TM_NONE;
}

uint64_t proxy__now(proxy_t *p)
{
    return p->io.now_ms ? p->io.now_ms(p->io.ctx) : 0;
}

void proxy__timer_start(proxy_t *p, proxy__txn_t *t, proxy__tmkind_t kind, uint64_t ms)
{
    proxy__timer_stop(p, t);
    if (p->heap_len == p->heap_cap) {
        p->heap_cap = p->heap_cap ? p->heap_cap * 2 : 256;
        p->heap = fedge_realloc(p->heap, p->heap_cap * sizeof(*p->heap));
    }
    t->timer = kind;
    t->deadline = proxy__now(p) + ms;
    t->heap_idx = p->heap_len;
    p->heap[p->heap_len++] = t;
    heap_up(p, t->heap_idx);
}

/* ---- lifetime ---- */

proxy__txn_t *proxy__txn_new(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m,
                             const char *key, size_t key_len)
{
    proxy__txn_t *t = fedge_calloc(1, sizeof(*t));
    t->heap_idx = SIZE_MAX;
    t->owner = p;
    t->skey = fedge_malloc(key_len);
    memcpy(t->skey, key, key_len);
    t->skey_len = key_len;
    t->req = fedge_malloc(m->len);
    memcpy(t->req, m->buf, m->len);
    t->req_len = m->len;
    t->invite = m->method_id == SIP_METHOD_INVITE;
    t->in_side = peer->side;
    t->in_conn = c;
    snprintf(t->remote, sizeof(t->remote), "%s", peer->remote ? peer->remote : "-");
    proxy__make_tag(p, t->to_tag);
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
    proxy__out_free(t->ob);
    free(t->skey);
    free(t->req);
    free(t->fwd);
    free(t->resp);
    free(t->edits);
    free(t->body);
    free(t);
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
