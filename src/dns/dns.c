/* dns.c — the resolver: c-ares driven by libuv (a uv_poll per c-ares socket
 * and one uv_timer for its timeouts), a bounded LRU cache of answers by
 * (name, type) with positive, negative and failure lifetimes, coalescing of
 * concurrent look-ups, and delivery of results from an idle handle so that a
 * callback never runs inside a caller's call or inside c-ares. */
#include "dns/dns_int.h"

#include <ares.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct entry entry_t;
typedef struct part part_t;
typedef struct poller poller_t;

/* One request's wait on one cache entry. */
struct part {
    entry_t *e; /* holds a reference */
    dns_req_t *req;
    part_t *next, *prev; /* in e->waiters while waiting */
    bool waiting;
};

enum { REQ_SRV, REQ_HOST, REQ_ROUTE, REQ_EDGE };

typedef struct route route_t;
typedef struct edge edge_t;

struct dns_req {
    dns_t *dns;
    int kind;
    unsigned mask;
    union {
        dns_srv_cb srv;
        dns_host_cb host;
        dns_route_cb route;
        dns_edge_cb edge;
    } cb;
    route_t *route; /* REQ_ROUTE: the composite's state (no parts) */
    edge_t *edge;   /* REQ_EDGE: likewise */
    void *user;
    part_t parts[2];
    int nparts;
    int npending;
    bool cached;
    size_t nlit; /* > 0: answered without DNS (IP literal, localhost) */
    dns_addr_t lit[2];
    char name[DNS_NAME_MAX + 1];
    dns_req_t *next, *prev; /* in dns->ready or dns->pending_reqs */
    bool ready;
};

struct entry {
    dns_t *dns;
    fedge_map_node_t hnode; /* in dns_t.table while in_table */
    entry_t *lnext, *lprev; /* LRU list (completed entries in the table) */
    unsigned refs;
    bool in_table;
    bool pending; /* query in flight */
    int qtype;
    char name[DNS_NAME_MAX + 1];
    part_t *waiters;
    uint64_t fetched_ms, expires_ms;
    dns__answer_t ans; /* status, records, detail */
};

struct poller {
    uv_poll_t h;
    dns_t *dns;
    ares_socket_t fd;
    bool closing;
    poller_t *next;
};

struct dns {
    uv_loop_t *loop;
    ares_channel channel;
    bool channel_ok;
    dns_opts_t o;
    char servers_text[200];
    uv_timer_t timer;
    uv_idle_t idle;
    unsigned open_handles;
    bool closing;
    poller_t *pollers;
    fedge_map_t table;            /* entry_t by (name, qtype) */
    entry_t *lru_head, *lru_tail; /* head = most recently used */
    size_t ndone, ninflight;
    dns_req_t *ready_head, *ready_tail;
    dns_req_t *reqs; /* every live request not yet ready (for dns_free) */
    uint64_t rng;
    dns_stats_t st;
};

static int ares_inited;

void dns_opts_default(dns_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = 2000;
    o->tries = 2;
    o->cache_max = 4096;
    o->max_inflight = 1024;
    o->pos_ttl_max = 86400;
    o->neg_ttl_min = 5;
    o->neg_ttl_max = 300;
    o->fail_ttl_ms = 2000;
}

/* ---- random numbers for SRV ordering ---- */

static uint32_t rng_next(void *ctx)
{
    uint64_t *s = ctx; /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* ---- entries and the cache ---- */

/* Names come from peers (Request-URIs, SRV targets): keyed hash. The
 * query type is ours, so mixing it in by a multiply is enough. */
static uint64_t hash_key(const char *name, int qtype)
{
    return fedge_hash(name, strlen(name)) ^ ((uint64_t)qtype * 0x9e3779b97f4a7c15ull);
}

struct key {
    const char *name;
    int qtype;
};

static bool entry_eq(const fedge_map_node_t *n, const void *key)
{
    const entry_t *e = FEDGE_CONTAINER_OF(n, entry_t, hnode);
    const struct key *k = key;
    return e->qtype == k->qtype && !strcmp(e->name, k->name);
}

static void entry_unref(entry_t *e)
{
    if (--e->refs > 0)
        return;
    dns__answer_free(&e->ans);
    free(e);
}

static void lru_unlink(dns_t *d, entry_t *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        d->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        d->lru_tail = e->lprev;
    e->lnext = e->lprev = NULL;
}

static void lru_push_front(dns_t *d, entry_t *e)
{
    e->lprev = NULL;
    e->lnext = d->lru_head;
    if (d->lru_head)
        d->lru_head->lprev = e;
    d->lru_head = e;
    if (!d->lru_tail)
        d->lru_tail = e;
}

/* Takes e out of the table (and the LRU list if completed); drops the
 * table's reference. */
static void table_remove(dns_t *d, entry_t *e)
{
    fedge_map_remove(&d->table, &e->hnode);
    e->in_table = false;
    if (!e->pending) {
        lru_unlink(d, e);
        d->ndone--;
    }
    entry_unref(e);
}

static entry_t *table_find(dns_t *d, const char *name, int qtype)
{
    struct key k = {name, qtype};
    fedge_map_node_t *n = fedge_map_find(&d->table, hash_key(name, qtype), entry_eq, &k);
    return n ? FEDGE_CONTAINER_OF(n, entry_t, hnode) : NULL;
}

static void idle_cb(uv_idle_t *h);

/* Takes r out of a doubly linked request list (tail NULL for a list that
 * keeps none). */
static void list_unlink(dns_req_t **head, dns_req_t **tail, dns_req_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        *head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else if (tail)
        *tail = r->prev;
    r->next = r->prev = NULL;
}

static void ready_push(dns_t *d, dns_req_t *r)
{
    /* out of the live list, into the ready queue */
    list_unlink(&d->reqs, NULL, r);
    r->prev = d->ready_tail;
    if (d->ready_tail)
        d->ready_tail->next = r;
    else
        d->ready_head = r;
    d->ready_tail = r;
    r->ready = true;
    uv_idle_start(&d->idle, idle_cb);
}

/* Completes a pending entry with its answer: sets its lifetime, moves it to
 * the LRU list, wakes its waiters, evicts beyond cache_max. */
static void entry_complete(dns_t *d, entry_t *e)
{
    uint64_t now = uv_now(d->loop);
    uint64_t life_ms;
    dns__answer_t *a = &e->ans;
    switch (a->status) {
    case DNS_OK:
    case DNS_NOSERVICE: {
        uint32_t t = a->min_ttl < d->o.pos_ttl_max ? a->min_ttl : d->o.pos_ttl_max;
        for (size_t i = 0; i < a->n; i++) {
            if (a->srv && a->srv[i].ttl > d->o.pos_ttl_max)
                a->srv[i].ttl = d->o.pos_ttl_max;
            if (a->addrs && a->addrs[i].ttl > d->o.pos_ttl_max)
                a->addrs[i].ttl = d->o.pos_ttl_max;
        }
        life_ms = (uint64_t)t * 1000;
        break;
    }
    case DNS_NXDOMAIN:
    case DNS_NODATA: {
        uint32_t t = a->has_soa ? a->neg_ttl : d->o.neg_ttl_min;
        if (t < d->o.neg_ttl_min)
            t = d->o.neg_ttl_min;
        if (t > d->o.neg_ttl_max)
            t = d->o.neg_ttl_max;
        a->neg_ttl = t;
        life_ms = (uint64_t)t * 1000;
        break;
    }
    default: life_ms = d->o.fail_ttl_ms; break;
    }
    e->pending = false;
    e->fetched_ms = now;
    e->expires_ms = now + life_ms;
    d->ninflight--;
    if (e->in_table) {
        d->ndone++;
        lru_push_front(d, e);
    }
    while (e->waiters) {
        part_t *p = e->waiters;
        e->waiters = p->next;
        p->next = p->prev = NULL;
        p->waiting = false;
        if (--p->req->npending == 0)
            ready_push(d, p->req);
    }
    while (d->ndone > d->o.cache_max && d->lru_tail) {
        d->st.evictions++;
        table_remove(d, d->lru_tail);
    }
}

static void arm_timer(dns_t *d);
static void timer_cb(uv_timer_t *t);

static const char *ares_status_text(int status)
{
    return ares_strerror(status);
}

static void query_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    entry_t *e = arg;
    dns_t *d = e->dns;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || d->closing) {
        entry_unref(e);
        return;
    }
    dns__answer_free(&e->ans);
    memset(&e->ans, 0, sizeof e->ans);
    if (abuf && alen > 0 &&
        (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND)) {
        dns__parse_answer(abuf, (size_t)alen, e->name, e->qtype, &e->ans);
    } else if (status == ARES_ETIMEOUT) {
        d->st.timeouts++;
        e->ans.status = DNS_TIMEOUT;
        snprintf(e->ans.detail, sizeof e->ans.detail,
                 "no answer from %.80s (%d timeouts, first after %u ms)", d->servers_text, timeouts,
                 d->o.timeout_ms);
    } else {
        d->st.failures++;
        e->ans.status = DNS_SERVFAIL;
        snprintf(e->ans.detail, sizeof e->ans.detail, "%.40s (%.80s)", ares_status_text(status),
                 d->servers_text);
    }
    entry_complete(d, e);
    entry_unref(e); /* the query's reference */
}

/* ---- libuv glue for c-ares ---- */

static void handle_closed(uv_handle_t *h)
{
    dns_t *d = h->data;
    if (h->type == UV_POLL)
        free(h);
    if (--d->open_handles == 0 && d->closing) {
        fedge_map_free(&d->table);
        free(d);
    }
}

static void poller_close(dns_t *d, poller_t *p)
{
    poller_t **pp = &d->pollers;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    p->closing = true;
    uv_close((uv_handle_t *)&p->h, handle_closed);
}

static void arm_timer(dns_t *d)
{
    if (d->closing)
        return;
    struct timeval tv, *tvp = ares_timeout(d->channel, NULL, &tv);
    if (!tvp) {
        uv_timer_stop(&d->timer);
        return;
    }
    uint64_t ms = (uint64_t)tvp->tv_sec * 1000 + ((uint64_t)tvp->tv_usec + 999) / 1000;
    uv_timer_start(&d->timer, timer_cb, ms, 0);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    poller_t *p = (poller_t *)h;
    dns_t *d = p->dns;
    if (p->closing || d->closing)
        return;
    ares_socket_t fd = p->fd;
    /* on a poll error let c-ares read: it sees the socket error itself */
    ares_socket_t rfd = (status < 0 || (events & UV_READABLE)) ? fd : ARES_SOCKET_BAD;
    ares_socket_t wfd = (status >= 0 && (events & UV_WRITABLE)) ? fd : ARES_SOCKET_BAD;
    ares_process_fd(d->channel, rfd, wfd);
    arm_timer(d);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    dns_t *d = data;
    if (d->closing)
        return;
    poller_t *p = d->pollers;
    while (p && p->fd != fd)
        p = p->next;
    if (!readable && !writable) {
        if (p)
            poller_close(d, p);
        return;
    }
    if (!p) {
        p = fedge_calloc(1, sizeof *p);
        p->dns = d;
        p->fd = fd;
        if (uv_poll_init_socket(d->loop, &p->h, fd) != 0) {
            free(p); /* c-ares will time the query out */
            return;
        }
        p->h.data = d;
        d->open_handles++;
        p->next = d->pollers;
        d->pollers = p;
    }
    uv_poll_start(&p->h, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), poll_cb);
}

static void timer_cb(uv_timer_t *t)
{
    dns_t *d = t->data;
    if (d->closing)
        return;
    ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    arm_timer(d);
}

/* ---- creation and teardown ---- */

int dns_new(uv_loop_t *loop, const dns_opts_t *opts, dns_t **out, fedge_err_t *err)
{
    dns_opts_t o;
    if (opts)
        o = *opts;
    else
        dns_opts_default(&o);
    if (o.timeout_ms == 0 || o.tries == 0 || o.cache_max == 0 || o.max_inflight == 0)
        return fedge_err(err, FEDGE_ECONFIG,
                         "dns: timeout, tries, cache_max and max_inflight must be positive");
    if (o.neg_ttl_min > o.neg_ttl_max)
        return fedge_err(err, FEDGE_ECONFIG, "dns: neg_ttl_min %u above neg_ttl_max %u",
                         o.neg_ttl_min, o.neg_ttl_max);
    if (!ares_inited) {
        int r = ares_library_init(ARES_LIB_INIT_ALL);
        if (r != ARES_SUCCESS)
            return fedge_err(err, FEDGE_EDNS, "dns: c-ares init: %s", ares_strerror(r));
        ares_inited = 1;
    }
    dns_t *d = fedge_calloc(1, sizeof *d);
    d->loop = loop;
    d->o = o;
    d->o.servers = NULL; /* not kept: the caller owns the string */
    if (getrandom(&d->rng, sizeof d->rng, 0) != (ssize_t)sizeof d->rng)
        d->rng = uv_hrtime();
    d->rng |= 1;

    struct ares_options ao;
    memset(&ao, 0, sizeof ao);
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES; /* and never IGNTC: TC → TCP */
    ao.timeout = (int)o.timeout_ms;
    ao.tries = (int)o.tries;
    ao.sock_state_cb = sock_state_cb;
    ao.sock_state_cb_data = d;
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
    int r = ares_init_options(&d->channel, &ao, mask);
    if (r != ARES_SUCCESS) {
        free(d);
        return fedge_err(err, FEDGE_EDNS, "dns: c-ares: %s", ares_strerror(r));
    }
    if (opts && opts->servers && opts->servers[0]) {
        r = ares_set_servers_ports_csv(d->channel, opts->servers);
        if (r != ARES_SUCCESS) {
            ares_destroy(d->channel);
            free(d);
            return fedge_err(err, FEDGE_ECONFIG,
                             "dns: bad servers '%s' (want ip[:port],... with IP addresses): %s",
                             opts->servers, ares_strerror(r));
        }
        snprintf(d->servers_text, sizeof d->servers_text, "%s", opts->servers);
    } else {
        struct ares_addr_port_node *list = NULL;
        if (ares_get_servers_ports(d->channel, &list) == ARES_SUCCESS) {
            size_t used = 0;
            for (struct ares_addr_port_node *s = list; s; s = s->next) {
                char ip[INET6_ADDRSTRLEN];
                inet_ntop(s->family, (const void *)&s->addr, ip, sizeof ip);
                int w = snprintf(d->servers_text + used, sizeof d->servers_text - used, "%s%s:%d",
                                 used ? "," : "", ip, s->udp_port ? s->udp_port : 53);
                if (w < 0 || (size_t)w >= sizeof d->servers_text - used)
                    break;
                used += (size_t)w;
            }
            ares_free_data(list);
        }
        if (!d->servers_text[0])
            snprintf(d->servers_text, sizeof d->servers_text, "the system resolvers");
    }
    d->channel_ok = true;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->timer.timer_cb = timer_cb;
    uv_idle_init(loop, &d->idle);
    d->idle.data = d;
    d->open_handles = 2;
    *out = d;
    return 0;
}

static void route_free(route_t *ro);
static void edge_free(edge_t *ed);

static void req_release(dns_req_t *r)
{
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->waiting) {
            if (p->prev)
                p->prev->next = p->next;
            else
                p->e->waiters = p->next;
            if (p->next)
                p->next->prev = p->prev;
            p->waiting = false;
        }
        entry_unref(p->e);
    }
    if (r->route)
        route_free(r->route);
    if (r->edge)
        edge_free(r->edge);
    free(r);
}

void dns_free(dns_t *d)
{
    if (!d || d->closing)
        return;
    d->closing = true;
    while (d->ready_head) {
        dns_req_t *r = d->ready_head;
        list_unlink(&d->ready_head, &d->ready_tail, r);
        req_release(r);
    }
    while (d->reqs) {
        dns_req_t *r = d->reqs;
        list_unlink(&d->reqs, NULL, r);
        req_release(r);
    }
    while (d->pollers)
        poller_close(d, d->pollers);
    uv_close((uv_handle_t *)&d->timer, handle_closed);
    uv_close((uv_handle_t *)&d->idle, handle_closed);
    /* query_cb sees ARES_EDESTRUCTION and drops the queries' references */
    ares_destroy(d->channel);
    fedge_map_iter_t it;
    fedge_map_iter_init(&it, &d->table);
    for (fedge_map_node_t *n; (n = fedge_map_iter_next(&it));)
        table_remove(d, FEDGE_CONTAINER_OF(n, entry_t, hnode));
}

/* ---- requests ---- */

/* Attaches part p of r to the entry for (name, qtype): a fresh hit, a query
 * in flight, or a new query. Returns 0 or FEDGE_ELIMIT. */
enum { ATT_HIT, ATT_JOINED, ATT_CREATED };

static int attach(dns_t *d, dns_req_t *r, part_t *p, const char *name, int qtype, int *how)
{
    uint64_t now = uv_now(d->loop);
    entry_t *e = table_find(d, name, qtype);
    if (e && !e->pending && now >= e->expires_ms) {
        table_remove(d, e);
        e = NULL;
    }
    if (e && !e->pending) {
        d->st.cache_hits++;
        lru_unlink(d, e);
        lru_push_front(d, e);
        e->refs++;
        p->e = e;
        p->req = r;
        *how = ATT_HIT;
        return 0;
    }
    if (e) {
        *how = ATT_JOINED;
        d->st.coalesced++;
    } else {
        *how = ATT_CREATED;
        if (d->ninflight >= d->o.max_inflight)
            return FEDGE_ELIMIT;
        e = fedge_calloc(1, sizeof *e);
        e->dns = d;
        e->qtype = qtype;
        snprintf(e->name, sizeof e->name, "%s", name);
        e->pending = true;
        e->in_table = true;
        e->refs = 1; /* the table */
        fedge_map_insert(&d->table, &e->hnode, hash_key(name, qtype));
        d->ninflight++;
        d->st.queries++;
    }
    e->refs++;
    p->e = e;
    p->req = r;
    p->waiting = true;
    p->prev = NULL;
    p->next = e->waiters;
    if (e->waiters)
        e->waiters->prev = p;
    e->waiters = p;
    r->npending++;
    return 0;
}

static void start_query(dns_t *d, entry_t *e)
{
    e->refs++; /* the query's reference, dropped in query_cb */
    ares_query(d->channel, e->name, 1 /* C_IN */, e->qtype, query_cb, e);
    arm_timer(d);
}

static dns_req_t *req_new(dns_t *d, int kind, const char *name, void *user)
{
    dns_req_t *r = fedge_calloc(1, sizeof *r);
    r->dns = d;
    r->kind = kind;
    r->user = user;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->next = d->reqs;
    if (d->reqs)
        d->reqs->prev = r;
    d->reqs = r;
    return r;
}

static int submit(dns_t *d, dns_req_t *r, const int *qtypes, int n, dns_req_t **handle)
{
    bool all_hit = true;
    entry_t *fresh[2] = {NULL, NULL};
    for (int i = 0; i < n; i++) {
        int how;
        int rc = attach(d, r, &r->parts[i], r->name, qtypes[i], &how);
        if (rc < 0) {
            r->nparts = i;
            list_unlink(&d->reqs, NULL, r);
            req_release(r);
            return rc;
        }
        r->nparts = i + 1;
        all_hit &= how == ATT_HIT;
        if (how == ATT_CREATED)
            fresh[i] = r->parts[i].e;
    }
    r->cached = all_hit;
    if (handle)
        *handle = r;
    if (r->npending == 0)
        ready_push(d, r);
    /* queries start last: a synchronous failure inside ares_query completes
     * the entry, which may push r to the ready queue, never call back */
    for (int i = 0; i < n; i++)
        if (fresh[i])
            start_query(d, fresh[i]);
    return 0;
}

int dns_resolve_srv(dns_t *d, const char *name, dns_srv_cb cb, void *user, dns_req_t **req)
{
    char norm[DNS_NAME_MAX + 1];
    if (!d || d->closing || !name || !cb || dns__name_normalize(name, norm) < 0)
        return FEDGE_EINVAL;
    dns_req_t *r = req_new(d, REQ_SRV, norm, user);
    r->cb.srv = cb;
    static const int types[] = {DNS__T_SRV};
    return submit(d, r, types, 1, req);
}

int dns_resolve_host(dns_t *d, const char *name, unsigned mask, dns_host_cb cb, void *user,
                     dns_req_t **req)
{
    if (!d || d->closing || !name || !cb || !(mask & DNS_AF_ANY))
        return FEDGE_EINVAL;
    dns_addr_t lit[2];
    size_t nlit = 0;
    memset(lit, 0, sizeof lit);
    size_t nl = strlen(name);
    char buf[INET6_ADDRSTRLEN + 2];
    const char *txt = name;
    if (nl >= 2 && nl < sizeof buf && name[0] == '[' && name[nl - 1] == ']') {
        memcpy(buf, name + 1, nl - 2);
        buf[nl - 2] = '\0';
        txt = buf;
    }
    char norm[DNS_NAME_MAX + 1];
    if (inet_pton(AF_INET, txt, &lit[0].u.v4) == 1) {
        lit[nlit++].family = AF_INET;
    } else if (inet_pton(AF_INET6, txt, &lit[0].u.v6) == 1) {
        lit[nlit++].family = AF_INET6;
    }
    if (nlit) {
        snprintf(norm, sizeof norm, "%s", txt);
    } else if (dns__name_normalize(name, norm) < 0) {
        return FEDGE_EINVAL;
    } else if (dns_name_in_domain(norm, "localhost")) {
        /* RFC 6761 section 6.3: localhost is the loopback, never asked of DNS */
        bool v6first = (mask & DNS_PREFER_INET6) != 0;
        for (int pass = 0; pass < 2; pass++) {
            bool v6 = (pass == 0) == v6first;
            if (v6 && (mask & DNS_AF_INET6)) {
                lit[nlit].family = AF_INET6;
                lit[nlit++].u.v6 = in6addr_loopback;
            } else if (!v6 && (mask & DNS_AF_INET)) {
                lit[nlit].family = AF_INET;
                lit[nlit++].u.v4.s_addr = htonl(INADDR_LOOPBACK);
            }
        }
    }
    dns_req_t *r = req_new(d, REQ_HOST, norm, user);
    r->cb.host = cb;
    r->mask = mask;
    if (nlit) {
        r->nlit = nlit;
        for (size_t i = 0; i < nlit; i++) {
            lit[i].ttl = d->o.pos_ttl_max;
            r->lit[i] = lit[i];
        }
        r->cached = true;
        if (req)
            *req = r;
        ready_push(d, r);
        return 0;
    }
    int types[2], n = 0;
    bool v6first = (mask & DNS_PREFER_INET6) != 0;
    if ((mask & DNS_AF_INET6) && v6first)
        types[n++] = DNS__T_AAAA;
    if (mask & DNS_AF_INET)
        types[n++] = DNS__T_A;
    if ((mask & DNS_AF_INET6) && !v6first)
        types[n++] = DNS__T_AAAA;
    return submit(d, r, types, n, req);
}

static void route_cancel_subs(route_t *ro);
static void edge_cancel_sub(edge_t *ed);

void dns_cancel(dns_req_t *r)
{
    if (!r)
        return;
    dns_t *d = r->dns;
    if (r->kind == REQ_ROUTE)
        route_cancel_subs(r->route);
    if (r->kind == REQ_EDGE)
        edge_cancel_sub(r->edge);
    if (r->ready)
        list_unlink(&d->ready_head, &d->ready_tail, r);
    else
        list_unlink(&d->reqs, NULL, r);
    req_release(r);
}

void dns_get_stats(const dns_t *d, dns_stats_t *out)
{
    *out = d->st;
    out->entries = d->ndone;
    out->inflight = d->ninflight;
}

/* ---- delivery ---- */

static uint32_t remaining_s(const entry_t *e, uint64_t now)
{
    return e->expires_ms > now ? (uint32_t)((e->expires_ms - now + 999) / 1000) : 0;
}

static uint32_t aged(uint32_t ttl, const entry_t *e, uint64_t now)
{
    uint64_t age = (now - e->fetched_ms) / 1000;
    return ttl > age ? (uint32_t)(ttl - age) : 0;
}

static void deliver_srv(dns_t *d, dns_req_t *r)
{
    const entry_t *e = r->parts[0].e;
    uint64_t now = uv_now(d->loop);
    const dns__answer_t *a = &e->ans;
    dns_srv_result_t res;
    memset(&res, 0, sizeof res);
    res.status = a->status;
    res.name = e->name;
    res.detail = a->status == DNS_OK ? "" : a->detail;
    res.cached = r->cached;
    res.ttl = remaining_s(e, now);
    dns_srv_t *recs = NULL;
    const dns_srv_t **ordered = NULL;
    size_t *idx = NULL;
    if (a->n > 0 && a->srv) {
        recs = fedge_malloc(a->n * sizeof *recs);
        ordered = fedge_malloc(a->n * sizeof *ordered);
        idx = fedge_malloc(a->n * sizeof *idx);
        for (size_t i = 0; i < a->n; i++) {
            recs[i] = a->srv[i];
            recs[i].ttl = aged(a->srv[i].ttl, e, now);
        }
        res.n = a->n;
        res.records = recs;
        if (a->status == DNS_OK) {
            res.n_ordered = dns_srv_order(recs, a->n, rng_next, &d->rng, idx);
            for (size_t i = 0; i < res.n_ordered; i++)
                ordered[i] = &recs[idx[i]];
            res.ordered = ordered;
        }
    }
    r->cb.srv(r->user, &res);
    free(recs);
    free(ordered);
    free(idx);
}

/* Rank for merging the parts of a host look-up with no address. */
static int fail_rank(dns_status_t s)
{
    switch (s) {
    case DNS_TIMEOUT: return 4;
    case DNS_SERVFAIL: return 3;
    case DNS_NODATA: return 2;
    case DNS_NXDOMAIN: return 1;
    default: return 0;
    }
}

static void deliver_host(dns_t *d, dns_req_t *r)
{
    uint64_t now = uv_now(d->loop);
    dns_host_result_t res;
    memset(&res, 0, sizeof res);
    res.name = r->name;
    res.cached = r->cached;
    res.detail = "";
    if (r->nlit) {
        res.status = DNS_OK;
        res.ttl = r->lit[0].ttl;
        res.n = r->nlit;
        res.addrs = r->lit;
        r->cb.host(r->user, &res);
        return;
    }
    size_t total = 0;
    for (int i = 0; i < r->nparts; i++)
        total += r->parts[i].e->ans.status == DNS_OK ? r->parts[i].e->ans.n : 0;
    dns_addr_t *addrs = total ? fedge_malloc(total * sizeof *addrs) : NULL;
    uint32_t ttl = UINT32_MAX;
    int worst = -1;
    for (int i = 0; i < r->nparts; i++) {
        const entry_t *e = r->parts[i].e;
        const dns__answer_t *a = &e->ans;
        uint32_t rem = remaining_s(e, now);
        if (a->status == DNS_OK) {
            for (size_t k = 0; k < a->n; k++) {
                addrs[res.n] = a->addrs[k];
                addrs[res.n].ttl = aged(a->addrs[k].ttl, e, now);
                res.n++;
            }
            if (rem < ttl)
                ttl = rem;
        } else if (worst < 0 || fail_rank(a->status) > fail_rank(r->parts[worst].e->ans.status)) {
            worst = i;
        }
    }
    if (res.n > 0) {
        res.status = DNS_OK;
        res.ttl = ttl;
    } else {
        const entry_t *e = r->parts[worst < 0 ? 0 : worst].e;
        res.status = e->ans.status;
        res.detail = e->ans.detail;
        res.ttl = remaining_s(e, now);
    }
    res.addrs = addrs;
    r->cb.host(r->user, &res);
    free(addrs);
}

static void idle_cb(uv_idle_t *h)
{
    dns_t *d = h->data;
    /* deliver only what is queued now; new results wait for the next turn */
    dns_req_t *last = d->ready_tail;
    while (!d->closing && d->ready_head) {
        dns_req_t *r = d->ready_head;
        list_unlink(&d->ready_head, &d->ready_tail, r);
        r->ready = false;
        if (r->kind == REQ_SRV)
            deliver_srv(d, r);
        else
            deliver_host(d, r);
        bool was_last = r == last;
        req_release(r);
        if (was_last)
            break;
    }
    if (!d->closing && !d->ready_head)
        uv_idle_stop(&d->idle);
}

/* ---- composite requests (route, edge): an SRV lookup, then more ---- */

/* Normalizes domain into dom and prefix+dom into norm (both
 * DNS_NAME_MAX + 1 bytes); FEDGE_EINVAL when either is not a valid name. */
static int srv_name(const char *prefix, const char *domain, char *dom, char *norm)
{
    char full[2 * DNS_NAME_MAX + 2];
    if (dns__name_normalize(domain, dom) < 0)
        return FEDGE_EINVAL;
    snprintf(full, sizeof full, "%s%s", prefix, dom);
    return dns__name_normalize(full, norm) < 0 ? FEDGE_EINVAL : 0;
}

/* Starts the SRV lookup of norm for the composite request r (linked by
 * req_new), its handle in *sub; on failure unlinks and releases r and
 * returns the error, else hands r to *req (may be NULL). */
static int start_srv(dns_t *d, dns_req_t *r, const char *norm, dns_srv_cb cb, dns_req_t **sub,
                     dns_req_t **req)
{
    int rc = dns_resolve_srv(d, norm, cb, r, sub);
    if (rc < 0) {
        list_unlink(&d->reqs, NULL, r);
        req_release(r);
        return rc;
    }
    if (req)
        *req = r;
    return 0;
}

/* ---- routes: SRV, then the addresses of every target ---- */

typedef struct {
    dns_req_t *owner;
    dns_req_t *sub; /* the address look-up while pending */
    char name[DNS_NAME_MAX + 1];
    uint16_t port, priority, weight;
    uint32_t srv_ttl;
    dns_status_t status;
    char detail[128];
    size_t n;
    dns_addr_t *addrs;
    uint32_t ttl;
} rtarget_t;

struct route {
    char domain[DNS_NAME_MAX + 1];
    uint16_t fallback_port;
    unsigned mask;
    dns_req_t *srv_sub; /* the SRV look-up while pending */
    dns_status_t status;
    char detail[128];
    bool cached, fallback, srv_done;
    uint32_t ttl;
    size_t ntargets, pending;
    rtarget_t *t;
};

static void route_free(route_t *ro)
{
    for (size_t i = 0; i < ro->ntargets; i++)
        free(ro->t[i].addrs);
    free(ro->t);
    free(ro);
}

static void route_cancel_subs(route_t *ro)
{
    if (ro->srv_sub)
        dns_cancel(ro->srv_sub);
    ro->srv_sub = NULL;
    for (size_t i = 0; i < ro->ntargets; i++) {
        if (ro->t[i].sub)
            dns_cancel(ro->t[i].sub);
        ro->t[i].sub = NULL;
    }
}

static void route_deliver(dns_req_t *r)
{
    dns_t *d = r->dns;
    route_t *ro = r->route;
    dns_target_t *ts = ro->ntargets ? fedge_calloc(ro->ntargets, sizeof *ts) : NULL;
    uint32_t ttl = ro->ttl;
    for (size_t i = 0; i < ro->ntargets; i++) {
        const rtarget_t *t = &ro->t[i];
        ts[i].target = t->name;
        ts[i].port = t->port;
        ts[i].priority = t->priority;
        ts[i].weight = t->weight;
        ts[i].srv_ttl = t->srv_ttl;
        ts[i].status = t->status;
        ts[i].detail = t->status == DNS_OK ? "" : t->detail;
        ts[i].n = t->n;
        ts[i].addrs = t->addrs;
        if (t->status == DNS_OK && t->ttl < ttl)
            ttl = t->ttl;
    }
    dns_route_result_t res;
    memset(&res, 0, sizeof res);
    res.status = ro->status;
    res.name = r->name;
    res.detail = ro->status == DNS_OK ? "" : ro->detail;
    res.cached = ro->cached;
    res.fallback = ro->fallback;
    res.ttl = ttl;
    res.n = ro->ntargets;
    res.targets = ts;
    list_unlink(&d->reqs, NULL, r);
    r->cb.route(r->user, &res);
    free(ts);
    req_release(r);
}

static void route_host_cb(void *user, const dns_host_result_t *res)
{
    rtarget_t *t = user;
    dns_req_t *r = t->owner;
    route_t *ro = r->route;
    t->sub = NULL;
    t->status = res->status;
    snprintf(t->detail, sizeof t->detail, "%s", res->detail);
    t->ttl = res->ttl;
    if (res->n) {
        t->addrs = fedge_malloc(res->n * sizeof *t->addrs);
        memcpy(t->addrs, res->addrs, res->n * sizeof *t->addrs);
        t->n = res->n;
    }
    ro->cached &= res->cached;
    if (--ro->pending == 0)
        route_deliver(r);
}

static void route_add(route_t *ro, dns_req_t *r, const char *name, uint16_t port, uint16_t prio,
                      uint16_t weight, uint32_t srv_ttl)
{
    rtarget_t *t = &ro->t[ro->ntargets++];
    t->owner = r;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->port = port;
    t->priority = prio;
    t->weight = weight;
    t->srv_ttl = srv_ttl;
}

static void route_srv_cb(void *user, const dns_srv_result_t *res)
{
    dns_req_t *r = user;
    route_t *ro = r->route;
    ro->srv_sub = NULL;
    ro->status = res->status;
    snprintf(ro->detail, sizeof ro->detail, "%s", res->detail);
    ro->cached = res->cached;
    ro->ttl = res->ttl;
    if (res->status == DNS_OK && res->n_ordered > 0) {
        ro->t = fedge_calloc(res->n_ordered, sizeof *ro->t);
        for (size_t i = 0; i < res->n_ordered; i++) {
            const dns_srv_t *s = res->ordered[i];
            route_add(ro, r, s->target, s->port, s->priority, s->weight, s->ttl);
        }
    } else if (res->status == DNS_OK) {
        ro->status = DNS_NOSERVICE; /* only "." targets */
        snprintf(ro->detail, sizeof ro->detail, "no usable SRV target");
    } else if ((res->status == DNS_NXDOMAIN || res->status == DNS_NODATA) && ro->fallback_port) {
        ro->t = fedge_calloc(1, sizeof *ro->t);
        route_add(ro, r, ro->domain, ro->fallback_port, 0, 0, 0);
        ro->fallback = true;
        ro->status = DNS_OK;
    }
    if (ro->ntargets == 0) {
        route_deliver(r);
        return;
    }
    /* count all first: a start failure below completes a target at once */
    ro->pending = ro->ntargets;
    size_t n = ro->ntargets;
    for (size_t i = 0; i < n; i++) {
        rtarget_t *t = &ro->t[i];
        int rc = dns_resolve_host(r->dns, t->name, ro->mask, route_host_cb, t, &t->sub);
        if (rc < 0) {
            t->sub = NULL;
            t->status = DNS_SERVFAIL;
            snprintf(t->detail, sizeof t->detail, "%s",
                     rc == FEDGE_ELIMIT ? "too many queries in flight" : "bad target name");
            if (--ro->pending == 0) {
                route_deliver(r);
                return;
            }
        }
    }
}

int dns_resolve_route(dns_t *d, const char *prefix, const char *domain, uint16_t fallback_port,
                      unsigned mask, dns_route_cb cb, void *user, dns_req_t **req)
{
    char norm[DNS_NAME_MAX + 1], dom[DNS_NAME_MAX + 1];
    if (!d || d->closing || !prefix || !domain || !cb || !(mask & DNS_AF_ANY) ||
        srv_name(prefix, domain, dom, norm) < 0)
        return FEDGE_EINVAL;
    dns_req_t *r = req_new(d, REQ_ROUTE, norm, user);
    r->cb.route = cb;
    route_t *ro = fedge_calloc(1, sizeof *ro);
    r->route = ro;
    snprintf(ro->domain, sizeof ro->domain, "%s", dom);
    ro->fallback_port = fallback_port;
    ro->mask = mask;
    return start_srv(d, r, norm, route_srv_cb, &ro->srv_sub, req);
}

/* ---- inbound verification: is a peer naming P an edge of domain D? ---- */

#define EDGE_MAX_NAMES 64

struct edge {
    char domain[DNS_NAME_MAX + 1];
    char (*names)[DNS_NAME_MAX + 1];
    size_t nnames;
    dns_req_t *srv_sub;
};

static void edge_cancel_sub(edge_t *ed)
{
    if (ed->srv_sub)
        dns_cancel(ed->srv_sub);
    ed->srv_sub = NULL;
}

static void edge_free(edge_t *ed)
{
    free(ed->names);
    free(ed);
}

/* Case-insensitive equality of two host names, one trailing dot ignored. */
static bool name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && la > 0 && dns_name_in_domain(a, b);
}

static void edge_srv_cb(void *user, const dns_srv_result_t *res)
{
    dns_req_t *r = user;
    dns_t *d = r->dns;
    edge_t *ed = r->edge;
    ed->srv_sub = NULL;
    dns_edge_result_t out;
    memset(&out, 0, sizeof out);
    out.domain = ed->domain;
    out.status = res->status;
    out.cached = res->cached;
    out.ttl = res->ttl;
    char reason[512];
    reason[0] = '\0';
    switch (res->status) {
    case DNS_OK:
        for (size_t i = 0; i < res->n_ordered && !out.matched; i++)
            for (size_t k = 0; k < ed->nnames && !out.matched; k++)
                if (name_eq(res->ordered[i]->target, ed->names[k]))
                    out.matched = res->ordered[i]->target;
        if (!out.matched) {
            size_t used = (size_t)snprintf(reason, sizeof reason,
                                           "no SRV target of %s%s is among the peer's names (",
                                           DNS_SIPFED_PREFIX, ed->domain);
            for (size_t k = 0; k < ed->nnames && used < sizeof reason; k++)
                used += (size_t)snprintf(reason + used, sizeof reason - used, "%s%s", k ? ", " : "",
                                         ed->names[k]);
            if (used < sizeof reason)
                used += (size_t)snprintf(reason + used, sizeof reason - used, "); targets: ");
            for (size_t i = 0; i < res->n_ordered && used < sizeof reason; i++)
                used += (size_t)snprintf(reason + used, sizeof reason - used, "%s%s", i ? ", " : "",
                                         res->ordered[i]->target);
        }
        break;
    case DNS_NXDOMAIN:
    case DNS_NODATA:
        snprintf(reason, sizeof reason, "%s publishes no %s SRV record (%s)", ed->domain,
                 DNS_SIPFED_PREFIX, dns_status_str(res->status));
        break;
    case DNS_NOSERVICE:
        snprintf(reason, sizeof reason, "%s declares no federation service (SRV target '.')",
                 ed->domain);
        break;
    default:
        snprintf(reason, sizeof reason, "cannot verify: DNS %s: %s", dns_status_str(res->status),
                 res->detail);
        break;
    }
    out.legitimate = out.matched != NULL;
    out.reason = reason;
    list_unlink(&d->reqs, NULL, r);
    r->cb.edge(r->user, &out);
    req_release(r);
}

int dns_verify_edge(dns_t *d, const char *domain, const char *const *names, size_t nnames,
                    dns_edge_cb cb, void *user, dns_req_t **req)
{
    char dom[DNS_NAME_MAX + 1], norm[DNS_NAME_MAX + 1];
    if (!d || d->closing || !domain || !cb || (nnames && !names) ||
        srv_name(DNS_SIPFED_PREFIX, domain, dom, norm) < 0)
        return FEDGE_EINVAL;
    dns_req_t *r = req_new(d, REQ_EDGE, norm, user);
    r->cb.edge = cb;
    edge_t *ed = fedge_calloc(1, sizeof *ed);
    r->edge = ed;
    snprintf(ed->domain, sizeof ed->domain, "%s", dom);
    size_t keep = nnames < EDGE_MAX_NAMES ? nnames : EDGE_MAX_NAMES;
    ed->names = fedge_calloc(keep ? keep : 1, sizeof *ed->names);
    for (size_t i = 0; i < keep; i++) {
        if (names[i] && strlen(names[i]) <= DNS_NAME_MAX)
            snprintf(ed->names[ed->nnames++], sizeof ed->names[0], "%s", names[i]);
    }
    return start_srv(d, r, norm, edge_srv_cb, &ed->srv_sub, req);
}
