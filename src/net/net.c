/* net.c — the per-loop transport: listeners, inbound and outbound
 * connections, TLS driving, timeouts, limits, write queues and the
 * connection-reuse lookup. */
#include <arpa/inet.h>
#include <ctype.h>
#include <malloc.h>
#include <netdb.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "net/net_int.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void nlog(net_t *n, int level, net_conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void nlog(net_t *n, int level, net_conn_t *c, const char *fmt, ...)
{
    if (!n->o.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    n->o.log(n->o.log_user, level, c, msg);
}

static uint64_t now_ms(net_t *n)
{
    return uv_now(n->loop);
}

/* What an unauthenticated peer can cause at will (refusals, failed
 * handshakes): to the log_event hook for summarising when there is one,
 * else one line. */
static void peer_event(net_t *n, net_conn_t *c, const char *kind, const char *reason)
{
    if (n->o.log_event)
        n->o.log_event(n->o.log_user, kind, reason, c->ip);
    else
        nlog(n, NET_LOG_INFO, c, "%s: %s: %s", c->remote, kind, reason);
}

/* Formats a socket address as "ip" and "ip:port" / "[ip]:port". */
static void format_addr(const struct sockaddr *sa, char *ip, size_t ipsz, char *hp, size_t hpsz,
                        uint16_t *port)
{
    ip[0] = hp[0] = '\0';
    *port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        uv_inet_ntop(AF_INET, &s4->sin_addr, ip, ipsz);
        *port = ntohs(s4->sin_port);
        snprintf(hp, hpsz, "%s:%u", ip, (unsigned)*port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        uv_inet_ntop(AF_INET6, &s6->sin6_addr, ip, ipsz);
        *port = ntohs(s6->sin6_port);
        snprintf(hp, hpsz, "[%s]:%u", ip, (unsigned)*port);
    }
}

/* ------------------------------------------------------------------ */
/* Per-IP connection counts                                            */
/* ------------------------------------------------------------------ */

struct net__ipent {
    fedge_map_node_t node; /* in net_t.iptab */
    uint8_t key[17];
    size_t count;
};

static bool ip_eq(const fedge_map_node_t *node, const void *key)
{
    return memcmp(FEDGE_CONTAINER_OF(node, struct net__ipent, node)->key, key, 17) == 0;
}

/* A peer picks its source address among many (an IPv6 /64): keyed hash. */
static struct net__ipent *ip_find(net_t *n, const uint8_t *key, uint64_t *hash)
{
    *hash = fedge_hash(key, 17);
    fedge_map_node_t *node = fedge_map_find(&n->iptab, *hash, ip_eq, key);
    return node ? FEDGE_CONTAINER_OF(node, struct net__ipent, node) : NULL;
}

static size_t ip_count(net_t *n, const uint8_t *key)
{
    uint64_t h;
    struct net__ipent *e = ip_find(n, key, &h);
    return e ? e->count : 0;
}

static void ip_inc(net_t *n, const uint8_t *key)
{
    uint64_t h;
    struct net__ipent *e = ip_find(n, key, &h);
    if (!e) {
        e = fedge_calloc(1, sizeof *e);
        memcpy(e->key, key, 17);
        fedge_map_insert(&n->iptab, &e->node, h);
    }
    e->count++;
}

static void ip_dec(net_t *n, const uint8_t *key)
{
    uint64_t h;
    struct net__ipent *e = ip_find(n, key, &h);
    if (e && --e->count == 0) {
        fedge_map_remove(&n->iptab, &e->node);
        free(e);
    }
}

/* ------------------------------------------------------------------ */
/* Admission: budgets per listener tag, known addresses, handshake rate */
/* ------------------------------------------------------------------ */

#define WAYS 4 /* entries per set of the address caches */

static uint32_t addr_hash(const uint8_t *key)
{
    return (uint32_t)fedge_hash(key, 17); /* keyed: peers choose their addresses */
}

/* The entry of key in tab (size a power of two, >= WAYS); with create, a
 * free or the oldest entry of its set, zeroed but for the key, when key is
 * not there (*fresh true). */
static struct net__addrent *cache_find(const net_t *n, struct net__addrent *tab, size_t size,
                                       const uint8_t *key, bool create, bool *fresh)
{
    size_t set = (addr_hash(key) & (size - 1)) & ~(size_t)(WAYS - 1);
    struct net__addrent *victim = NULL;
    for (size_t i = 0; i < WAYS; i++) {
        struct net__addrent *e = &tab[set + i];
        if (e->key[0] && memcmp(e->key, key, 17) == 0)
            return e;
        if (!victim || (victim->key[0] && (!e->key[0] || e->at_ms < victim->at_ms)))
            victim = e;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    memcpy(victim->key, key, 17);
    *fresh = true;
    return victim;
}

static void known_add(net_t *n, const uint8_t *key)
{
    bool fresh = false;
    if (key[0])
        cache_find(n, n->known, n->known_size, key, true, &fresh)->at_ms = now_ms(n);
}

static bool known_has(net_t *n, const uint8_t *key)
{
    struct net__addrent *e = cache_find(n, n->known, n->known_size, key, false, NULL);
    return e && now_ms(n) - e->at_ms < n->o.known_ttl_ms;
}

/* Takes one handshake from the address's token bucket; false when empty. */
static bool rate_take(net_t *n, const uint8_t *key)
{
    if (n->o.handshake_rate == UINT32_MAX)
        return true;
    uint64_t now = now_ms(n), burst = (uint64_t)n->o.max_connections_per_ip * 1000;
    if (burst > UINT32_MAX)
        burst = UINT32_MAX;
    bool fresh = false;
    struct net__addrent *e = cache_find(n, n->rate, n->rate_size, key, true, &fresh);
    uint64_t t = fresh ? burst : e->tokens + (now - e->at_ms) * n->o.handshake_rate;
    e->at_ms = now;
    e->tokens = (uint32_t)(t > burst ? burst : t);
    if (e->tokens < 1000)
        return false;
    e->tokens -= 1000;
    return true;
}

/* Parses an IP literal into the 17-byte key used by the tables. */
static int ip_key(const char *ip, uint8_t key[17])
{
    memset(key, 0, 17);
    if (uv_inet_pton(AF_INET, ip, key + 1) == 0) {
        key[0] = 4;
        return 0;
    }
    uint8_t a[16];
    if (uv_inet_pton(AF_INET6, ip, a) != 0)
        return FEDGE_EINVAL;
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, v4mapped, 12) == 0) {
        key[0] = 4;
        memcpy(key + 1, a + 12, 4);
    } else {
        key[0] = 6;
        memcpy(key + 1, a, 16);
    }
    return 0;
}

int net_mark_known(net_t *n, const char *ip)
{
    uint8_t key[17];
    if (!ip || ip_key(ip, key) < 0)
        return FEDGE_EINVAL;
    known_add(n, key);
    return 0;
}

bool net_is_known(net_t *n, const char *ip)
{
    uint8_t key[17];
    return ip && ip_key(ip, key) == 0 && known_has(n, key);
}

static struct net__pool *pool_get(net_t *n, void *tag)
{
    for (size_t i = 0; i < n->npools; i++)
        if (n->pools[i]->tag == tag)
            return n->pools[i];
    n->pools = fedge_realloc(n->pools, (n->npools + 1) * sizeof *n->pools);
    struct net__pool *p = fedge_calloc(1, sizeof *p);
    p->tag = tag;
    n->pools[n->npools++] = p;
    return p;
}

static void hs_remove(net_conn_t *c)
{
    struct net__pool *p = c->pool;
    if (!c->in_handshake)
        return;
    c->in_handshake = false;
    if (c->hs_prev)
        c->hs_prev->hs_next = c->hs_next;
    else
        p->hs_head = c->hs_next;
    if (c->hs_next)
        c->hs_next->hs_prev = c->hs_prev;
    else
        p->hs_tail = c->hs_prev;
    c->hs_next = c->hs_prev = NULL;
    p->handshaking--;
}

static void hs_add(net_conn_t *c)
{
    struct net__pool *p = c->pool;
    c->in_handshake = true;
    c->hs_prev = p->hs_tail;
    c->hs_next = NULL;
    if (p->hs_tail)
        p->hs_tail->hs_next = c;
    else
        p->hs_head = c;
    p->hs_tail = c;
    p->handshaking++;
}

/* Gives back c's places (budget, handshake, outbound) as it starts closing:
 * a closing connection is bounded by NET__CLOSE_GRACE_MS and no longer
 * holds room a newcomer needs. Idempotent. */
static void unaccount(net_conn_t *c)
{
    hs_remove(c);
    if (c->in_budget) {
        c->in_budget = false;
        c->pool->open--;
    }
    if (c->out_counted) {
        c->out_counted = false;
        c->net->st.open_out--;
    }
}

static void conn_close(net_conn_t *c, int code, const char *reason, bool graceful);

/* Closes one unknown connection of p to make room: the oldest still in
 * its handshake, else the oldest unknown one. False when there is none. */
static bool shed(net_t *n, struct net__pool *p, const char *why)
{
    net_conn_t *v = p->hs_head;
    if (!v)
        for (net_conn_t *x = n->conns; x; x = x->next) /* newest first */
            if (x->pool == p && x->in_budget && !x->known && !x->closing)
                v = x;
    if (!v)
        return false;
    n->st.shed++;
    peer_event(n, v, "shed", why);
    conn_close(v, FEDGE_ELIMIT, why, false);
    return true;
}

/* ------------------------------------------------------------------ */
/* Lifetime of the net itself                                          */
/* ------------------------------------------------------------------ */

static void maybe_free_net(net_t *n)
{
    if (!n->destroying || n->live_handles > 0)
        return;
    fedge_map_iter_t it;
    fedge_map_iter_init(&it, &n->iptab);
    for (fedge_map_node_t *node; (node = fedge_map_iter_next(&it));)
        free(FEDGE_CONTAINER_OF(node, struct net__ipent, node));
    fedge_map_free(&n->iptab);
    for (size_t i = 0; i < n->npools; i++)
        free(n->pools[i]);
    free(n->pools);
    free(n->known);
    free(n->rate);
    net__reuse_free(n);
    net__tls_sessions_free(n);
    free(n->rbuf);
    free(n->pbuf);
    free(n->cork);
    for (unsigned i = 0; i < n->nspare; i++)
        free(n->spare[i].buf);
    free(n);
}

/* ------------------------------------------------------------------ */
/* Closing connections                                                 */
/* ------------------------------------------------------------------ */

struct net__resolve {
    uv_getaddrinfo_t req;
    net_conn_t *conn; /* NULL once the connection gave up on it */
};

static void conn_unlink(net_conn_t *c)
{
    net_t *n = c->net;
    if (c->prev)
        c->prev->next = c->next;
    else if (n->conns == c)
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void dirty_unlink(net_conn_t *c);

static void conn_close_cb(uv_handle_t *h)
{
    net_conn_t *c = h->data;
    net_t *n = c->net;
    if (c->reconnecting)
        return; /* handled by reconnect_close_cb */
    conn_unlink(c);
    dirty_unlink(c);
    net__reuse_remove(c);
    unaccount(c);
    n->st.open--;
    if (c->ssl || (c->inbound && c->tls))
        n->st.open_tls--;
    if (c->ip_counted)
        ip_dec(n, c->ipkey);
    if (c->notify && c->cbs.on_close)
        c->cbs.on_close(c, c->close_code, c->close_reason ? c->close_reason : "closed");
    if (c->resolving)
        c->resolving->conn = NULL;
    SSL_free(c->ssl);
    if (c->tls)
        net__tls_unref(c->tls);
    if (c->addrs)
        uv_freeaddrinfo(c->addrs);
    free(c->peer);
    free(c->target);
    free(c->sni);
    free(c->pend);
    free(c->close_reason);
    free(c->bad_subject);
    free(c->hs_in);
    free(c);
    n->live_handles--;
    maybe_free_net(n);
}

static void hard_close(net_conn_t *c)
{
    if (c->uv_closing)
        return;
    if (c->hs_busy) { /* a pool thread holds c->ssl: close when it is done */
        c->hs_close_deferred = true;
        return;
    }
    c->uv_closing = true;
    if (c->resolving) {
        uv_cancel((uv_req_t *)&c->resolving->req);
        c->resolving->conn = NULL;
        c->resolving = NULL;
    }
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    net_conn_t *c = req->data;
    free(req);
    if (status == UV_ECANCELED)
        return;
    c->shut_done = true;
    /* our FIN is out: close once the peer's EOF came (read_cb), or at the
     * close deadline (sweep_cb) */
    if (status < 0 || c->peer_done || c->net->destroying)
        hard_close(c);
}

/* Starts closing c: records why, and either closes the socket now (hard)
 * or after the queued bytes and a FIN have gone out and the peer closed
 * its side (graceful, bounded by NET__CLOSE_GRACE_MS through the sweep
 * timer). Graceful closing keeps reading and drops what arrives: closing a
 * socket with unread bytes sends a reset, which can destroy the last
 * answer (a stream error, a 4xx) before a peer that is still writing has
 * read it — the "lingering close" of RFC 9112 §9.6. */
static void flush_conn(net_conn_t *c);

static void conn_close(net_conn_t *c, int code, const char *reason, bool graceful)
{
    if (c->closing)
        return;
    /* what was written before the close goes out first (graceful only) */
    if (graceful && c->ready && c->pend_len && !c->uv_closing) {
        flush_conn(c);
        if (c->closing)
            return; /* sending failed and closed it */
    }
    net_t *n = c->net;
    c->closing = true;
    net__reuse_remove(c);
    unaccount(c);
    c->close_code = code;
    c->close_reason = fedge_strdup(reason);
    c->close_deadline_ms = now_ms(n) + NET__CLOSE_GRACE_MS;
    if (!c->connected || !graceful) {
        hard_close(c);
        return;
    }
    if (c->ssl && c->ready && code != FEDGE_ETLS) {
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl); /* queues close_notify */
        ERR_clear_error();
    }
    if (c->uv_closing)
        return; /* sending close_notify failed the socket */
    uv_shutdown_t *req = fedge_malloc(sizeof *req);
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
        free(req);
        hard_close(c);
    }
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
    uv_write_t req;
    char data[];
} wreq_t;

static void write_cb(uv_write_t *req, int status)
{
    net_conn_t *c = req->handle->data;
    free(req);
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
        nlog(c->net, NET_LOG_INFO, c, "%s: write failed: %s", c->remote, uv_strerror(status));
        conn_close(c, FEDGE_EIO, uv_strerror(status), false);
    }
}

static size_t queued(const net_conn_t *c)
{
    return c->tcp.write_queue_size + c->pend_len;
}

static void overflow(net_conn_t *c)
{
    net_t *n = c->net;
    n->st.overflows++;
    c->overflowed = true;
    nlog(n, NET_LOG_WARN, c, "%s: write queue over %zu bytes, closing", c->remote,
         n->o.max_queued_bytes);
    conn_close(c, FEDGE_ELIMIT, "write queue full (peer not reading)", false);
}

void net__conn_send_raw(net_conn_t *c, const char *buf, size_t len)
{
    if (c->uv_closing || len == 0)
        return;
    net_t *n = c->net;
    c->active_ms = now_ms(n);
    if (n->corked == c) {
        if (n->cork_len + len > n->cork_cap) {
            size_t cap = n->cork_cap ? n->cork_cap : 4096;
            while (cap < n->cork_len + len)
                cap *= 2;
            n->cork = fedge_realloc(n->cork, cap);
            n->cork_cap = cap;
        }
        memcpy(n->cork + n->cork_len, buf, len);
        n->cork_len += len;
        return;
    }
    if (c->tcp.write_queue_size == 0) {
        uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
        n->st.socket_writes++;
        int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (r > 0) {
            buf += r;
            len -= (size_t)r;
            if (len == 0)
                return;
        } else if (r != UV_EAGAIN && r != UV_ENOSYS) {
            nlog(n, NET_LOG_INFO, c, "%s: write failed: %s", c->remote, uv_strerror(r));
            conn_close(c, FEDGE_EIO, uv_strerror(r), false);
            return;
        }
    }
    /* A closing connection may still flush an alert or close_notify; only
     * the limit on queued bytes applies. */
    /* Slack for TLS record overhead over the plaintext that was admitted. */
    if (c->tcp.write_queue_size + len > n->o.max_queued_bytes + n->o.max_queued_bytes / 32 + 1024) {
        overflow(c);
        return;
    }
    wreq_t *w = fedge_malloc(sizeof *w + len);
    memcpy(w->data, buf, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    n->st.socket_writes++;
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
    if (r != 0) {
        free(w);
        conn_close(c, FEDGE_EIO, uv_strerror(r), false);
    }
}

/* Sends plaintext on a ready connection. */
static int send_plain(net_conn_t *c, const char *buf, size_t len)
{
    net_t *n = c->net;
    n->st.bytes_out += len;
    if (!c->ssl) {
        net__conn_send_raw(c, buf, len);
    } else {
        /* the records of this write leave in one socket write */
        n->corked = c;
        n->cork_len = 0;
        while (len > 0 && !c->closing) {
            int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
            net__tls_clear_errors();
            int r = SSL_write(c->ssl, buf, chunk);
            if (r <= 0) {
                char why[256];
                net__tls_reason(c->ssl, SSL_get_error(c->ssl, r), why, sizeof why);
                nlog(n, NET_LOG_INFO, c, "%s: TLS write failed: %s", c->remote, why);
                conn_close(c, FEDGE_ETLS, why, false);
                break;
            }
            buf += r;
            len -= (size_t)r;
        }
        n->corked = NULL;
        if (n->cork_len)
            net__conn_send_raw(c, n->cork, n->cork_len);
        n->cork_len = 0;
    }
    if (c->closing)
        return c->overflowed ? FEDGE_ELIMIT : FEDGE_ECLOSED;
    return 0;
}

static void dirty_unlink(net_conn_t *c)
{
    if (!c->dirty)
        return;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        c->net->dirty = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    c->dnext = c->dprev = NULL;
    c->dirty = false;
}

/* Takes back a gathered-plaintext buffer for the next connection written
 * to (net_t.spare), or frees it. */
static void spare_put(net_t *n, char *buf, size_t cap)
{
    if (buf && n->nspare < NET__SPARES && cap <= NET__SPARE_MAX) {
        n->spare[n->nspare].buf = buf;
        n->spare[n->nspare].cap = cap;
        n->nspare++;
        return;
    }
    free(buf);
}

/* Sends what c gathered during this turn. */
static void flush_conn(net_conn_t *c)
{
    dirty_unlink(c);
    if (!c->ready || !c->pend_len)
        return;
    char *p = c->pend;
    size_t l = c->pend_len, cap = c->pend_cap;
    /* idle connections hold no buffer */
    c->pend = NULL;
    c->pend_len = c->pend_cap = 0;
    if (!c->closing)
        send_plain(c, p, l);
    spare_put(c->net, p, cap);
}

/* End of a loop turn's callbacks: every connection written to sends its
 * messages as one write. */
static void flush_turn(net_t *n)
{
    while (n->dirty)
        flush_conn(n->dirty);
}

static void on_flush_check(uv_check_t *h)
{
    flush_turn(h->data);
}

static void on_flush_prepare(uv_prepare_t *h)
{
    flush_turn(h->data);
}

/* Appends the n slices (total bytes) to c's gathered plaintext: until it
 * is ready, or when ready until the end of this loop turn (flush_turn),
 * so that the messages of one turn leave in one TLS write and one
 * syscall. */
static int gather(net_conn_t *c, const fedge_str_t *parts, size_t np, size_t total)
{
    if (!c || c->closing)
        return FEDGE_ECLOSED;
    if (total == 0)
        return 0;
    net_t *n = c->net;
    if (queued(c) + total > n->o.max_queued_bytes) {
        overflow(c);
        return FEDGE_ELIMIT;
    }
    if (!c->ready && c->inbound && !c->upgrading)
        return FEDGE_EAGAIN; /* not reachable: inbound is shown only when ready */
    if (!c->pend && c->ready && n->nspare) {
        n->nspare--;
        c->pend = n->spare[n->nspare].buf;
        c->pend_cap = n->spare[n->nspare].cap;
    }
    if (c->pend_len + total > c->pend_cap) {
        size_t cap = c->pend_cap ? c->pend_cap : 1024;
        while (cap < c->pend_len + total)
            cap *= 2;
        c->pend = fedge_realloc(c->pend, cap);
        c->pend_cap = cap;
    }
    for (size_t i = 0; i < np; i++) {
        if (parts[i].len)
            memcpy(c->pend + c->pend_len, parts[i].s, parts[i].len);
        c->pend_len += parts[i].len;
    }
    if (c->ready) {
        c->active_ms = now_ms(n);
        if (!c->dirty) {
            c->dirty = true;
            c->dprev = NULL;
            c->dnext = n->dirty;
            if (n->dirty)
                n->dirty->dprev = c;
            n->dirty = c;
        }
    }
    return 0;
}

int net_conn_write(net_conn_t *c, const char *buf, size_t len)
{
    fedge_str_t part = {buf, len};
    return gather(c, &part, 1, len);
}

int net_conn_writev(net_conn_t *c, const fedge_str_t *parts, size_t np)
{
    size_t total = 0;
    for (size_t i = 0; i < np; i++)
        total += parts[i].len;
    return gather(c, parts, np, total);
}

/* ------------------------------------------------------------------ */
/* Reading and the TLS state machine                                   */
/* ------------------------------------------------------------------ */

static void become_ready(net_conn_t *c)
{
    net_t *n = c->net;
    c->ready = true;
    c->upgrading = false;
    c->notify = true;
    c->active_ms = now_ms(n);
    hs_remove(c);
    if (c->ssl) {
        n->st.handshakes_ok++;
        if (SSL_session_reused(c->ssl))
            n->st.handshakes_resumed++;
        c->peer = net__peer_from_ssl(c->ssl, c->inbound);
        if (c->peer->verified) {
            c->known = true;
            known_add(n, c->ipkey);
        }
        net__reuse_add_names(c);
        nlog(n, NET_LOG_DEBUG, c, "%s: TLS ready (%s%s, peer %s, %s)", c->remote,
             SSL_get_version(c->ssl), SSL_session_reused(c->ssl) ? ", resumed" : "",
             c->peer->subject ? c->peer->subject : "no certificate",
             c->peer->verified ? "verified" : "not verified");
    }
    if (c->pend_len) {
        char *p = c->pend;
        size_t l = c->pend_len;
        c->pend = NULL;
        c->pend_len = c->pend_cap = 0;
        send_plain(c, p, l);
        free(p);
        if (c->closing)
            return;
    }
    if (c->cbs.on_ready)
        c->cbs.on_ready(c);
}

static void deliver(net_conn_t *c, const char *buf, size_t len)
{
    c->net->st.bytes_in += len;
    if (c->cbs.on_data)
        c->cbs.on_data(c, buf, len);
}

static void handshake_failed(net_conn_t *c, const char *why)
{
    net_t *n = c->net;
    n->st.handshakes_failed++;
    if (c->inbound && n->o.log_event)
        peer_event(n, c, "handshake failed", why);
    else if (c->bad_subject)
        nlog(n, NET_LOG_INFO, c, "%s: TLS handshake failed: %s (peer certificate %s)", c->remote,
             why, c->bad_subject);
    else
        nlog(n, NET_LOG_INFO, c, "%s: TLS handshake failed: %s", c->remote, why);
    /* Graceful: the alert OpenSSL queued tells the peer why. */
    conn_close(c, FEDGE_ETLS, why, true);
}

/* Feeds c->in to OpenSSL: finishes the handshake, then decrypts and
 * delivers application data until the input is used up. */
static void tls_advance(net_conn_t *c)
{
    net_t *n = c->net;
    if (!c->ready) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int err = SSL_get_error(c->ssl, r);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
                char why[300];
                net__tls_reason(c->ssl, err, why, sizeof why);
                handshake_failed(c, why);
            }
            return;
        }
        become_ready(c);
    }
    while (!c->closing) {
        net__tls_clear_errors();
        int r = SSL_read(c->ssl, n->pbuf, (int)n->o.read_buffer_size);
        if (r > 0) {
            deliver(c, n->pbuf, (size_t)r);
            /* All ciphertext taken and nothing buffered inside OpenSSL:
             * another SSL_read could only say "want read" (it costs as
             * much as a small record's decryption). */
            if (c->in_len == 0 && !SSL_has_pending(c->ssl))
                break;
            continue;
        }
        int err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            break;
        if (err == SSL_ERROR_ZERO_RETURN) {
            conn_close(c, FEDGE_ECLOSED, "closed by peer (close_notify)", true);
            break;
        }
        char why[300];
        net__tls_reason(c->ssl, err, why, sizeof why);
        nlog(n, NET_LOG_INFO, c, "%s: TLS error: %s", c->remote, why);
        conn_close(c, FEDGE_ETLS, why, false);
        break;
    }
    net__tls_clear_errors();
}

/* ------------------------------------------------------------------ */
/* Handshakes off the loop                                             */
/* ------------------------------------------------------------------ */

/* Why: a TLS handshake costs the server a key exchange, a signature and,
 * with a client certificate, a chain verification — about a millisecond
 * of CPU, against microseconds for relaying a MESSAGE. On the loop, a
 * storm of handshakes makes every established partner's message wait
 * behind them and uses one core. So every step of an inbound handshake
 * (what an unknown peer can make us do at will) runs on libuv's thread
 * pool, which uses every core, while the loop keeps forwarding; the
 * connection is handed back to the loop, with its SSL object, once the
 * handshake is done. The proxy and everything above net stay on the one
 * loop and single-threaded. Outbound handshakes (ours, bounded by
 * max_outbound) stay on the loop. docs/proxy.md "Handshakes". */

/* Ciphertext of a client's handshake flights is a few KiB; more before
 * the handshake ends is not a handshake. */
#define HS_MAX_INPUT (64u * 1024)

static void hs_work(uv_work_t *req)
{
    /* On a pool thread: only c->ssl, c->in and the job are touched (the
     * BIO collects what OpenSSL writes into the job, see tls.c). */
    struct net__hsjob *j = req->data;
    net_conn_t *c = j->conn;
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        j->result = 1;
    } else {
        int err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            j->result = 0;
        } else {
            j->result = -1;
            net__tls_reason(c->ssl, err, j->why, sizeof j->why); /* the queue is per thread */
        }
    }
    ERR_clear_error();
}

static void hs_submit(net_conn_t *c);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void hs_done(uv_work_t *req, int status)
{
    struct net__hsjob *j = req->data;
    net_conn_t *c = j->conn;
    if (status != 0) /* never cancelled (uv_cancel is not used on these) */
        j->result = -1, snprintf(j->why, sizeof j->why, "TLS handshake not run");
    c->hs_busy = false;
    c->hs_job = NULL;
    /* what the handshake did not read: the start of application data */
    const char *left = c->in;
    size_t left_len = c->in_len;
    c->in = NULL;
    c->in_len = 0;
    if (c->closing) {
        if (c->hs_close_deferred) {
            c->hs_close_deferred = false;
            hard_close(c);
        }
        goto out;
    }
    net__conn_send_raw(c, j->out, j->out_len);
    if (c->closing)
        goto out;
    if (j->result < 0) {
        handshake_failed(c, j->why);
        goto out;
    }
    /* Bytes that came while the job ran follow what it left. */
    if (left_len) {
        size_t total = left_len + c->hs_in_len;
        char *b = fedge_malloc(total ? total : 1);
        memcpy(b, left, left_len);
        if (c->hs_in_len)
            memcpy(b + left_len, c->hs_in, c->hs_in_len);
        free(c->hs_in);
        c->hs_in = b;
        c->hs_in_len = c->hs_in_cap = total;
    }
    if (j->result == 0) {
        if (c->hs_in_len)
            hs_submit(c);
        goto out;
    }
    become_ready(c);
    if (c->hs_in_len && !c->closing) {
        char *b = c->hs_in;
        c->in = b;
        c->in_len = c->hs_in_len;
        c->hs_in = NULL;
        c->hs_in_len = c->hs_in_cap = 0;
        tls_advance(c);
        c->in = NULL;
        c->in_len = 0;
        free(b);
    } else {
        free(c->hs_in);
        c->hs_in = NULL;
        c->hs_in_len = c->hs_in_cap = 0;
    }
out:
    /* reading resumes once no step runs: what came meanwhile (data after
     * the client's Finished, a close_notify, the end of the stream) is
     * read after the handshake's outcome, in the order the peer sent it */
    if (!c->closing && !c->uv_closing && !c->hs_busy &&
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        conn_close(c, FEDGE_EIO, "cannot read", false);
    free(j->in);
    free(j->out);
    free(j);
}

/* Starts one handshake step on the pool with the ciphertext gathered in
 * c->hs_in (the first creates the SSL object, on the context current
 * now). */
static void hs_submit(net_conn_t *c)
{
    if (!c->ssl) {
        c->ssl = net__tls_ssl_new(c->tls, c, true, NULL);
        if (!c->ssl) {
            conn_close(c, FEDGE_ETLS, "cannot create TLS session", false);
            return;
        }
    }
    struct net__hsjob *j = fedge_calloc(1, sizeof *j);
    j->req.data = j;
    j->conn = c;
    j->in = c->hs_in;
    j->in_len = c->hs_in_len;
    c->hs_in = NULL;
    c->hs_in_len = c->hs_in_cap = 0;
    c->in = j->in;
    c->in_len = j->in_len;
    c->hs_job = j;
    c->hs_busy = true;
    /* nothing is read while the step runs (see hs_done) */
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (uv_queue_work(c->net->loop, &j->req, hs_work, hs_done) != 0) {
        hs_work(&j->req); /* cannot happen with a valid loop; stay correct */
        hs_done(&j->req, 0);
    }
}

/* Inbound TLS before ready: keep the ciphertext and run a step unless
 * one is already running (it will pick the bytes up when done). */
static void hs_feed(net_conn_t *c, const char *buf, size_t len)
{
    if (c->hs_in_len + len > HS_MAX_INPUT) {
        if (c->net->o.log_event)
            peer_event(c->net, c, "handshake failed", "handshake larger than 64 KiB");
        conn_close(c, FEDGE_ETLS, "handshake larger than 64 KiB", false);
        return;
    }
    if (c->hs_in_len + len > c->hs_in_cap) {
        size_t cap = c->hs_in_cap ? c->hs_in_cap : 512;
        while (cap < c->hs_in_len + len)
            cap *= 2;
        c->hs_in = fedge_realloc(c->hs_in, cap);
        c->hs_in_cap = cap;
    }
    memcpy(c->hs_in + c->hs_in_len, buf, len);
    c->hs_in_len += len;
    if (c->hs_busy)
        return;
    /* Before the first step: a whole first record (RFC 8446 §5.1: type,
     * version, 2-byte length), or anything that is not a handshake record
     * (OpenSSL then says why it is refused). */
    const unsigned char *h = (const unsigned char *)c->hs_in;
    if (!c->ssl && (c->hs_in_len < 5 || (h[0] == 0x16 && c->hs_in_len < 5u + ((h[3] << 8) | h[4]))))
        return;
    hs_submit(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    /* One shared buffer per loop: libuv calls alloc and read back to back
     * for one stream, so it is never in use twice. */
    net_conn_t *c = h->data;
    buf->base = c->net->rbuf;
    buf->len = c->net->o.read_buffer_size;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    net_conn_t *c = s->data;
    if (nread == 0)
        return;
    if (c->closing) { /* lingering close (conn_close): dropped */
        if (nread < 0) {
            c->peer_done = true;
            if (c->shut_done)
                hard_close(c);
        }
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF)
            conn_close(c, FEDGE_ECLOSED,
                       c->ready ? "closed by peer" : "closed by peer during handshake", false);
        else
            conn_close(c, FEDGE_EIO, uv_strerror((int)nread), false);
        if (!c->ready && c->inbound)
            peer_event(c->net, c, "handshake failed",
                       nread == UV_EOF ? "closed by peer before ready" : uv_strerror((int)nread));
        return;
    }
    c->active_ms = now_ms(c->net);
    if (c->inbound && !c->ready && c->tls) {
        hs_feed(c, buf->base, (size_t)nread);
        return;
    }
    if (!c->ssl) {
        deliver(c, buf->base, (size_t)nread);
        return;
    }
    c->in = buf->base;
    c->in_len = (size_t)nread;
    tls_advance(c);
    c->in = NULL;
    c->in_len = 0;
}

/* ------------------------------------------------------------------ */
/* The sweep timer: handshake and idle timeouts, close grace           */
/* ------------------------------------------------------------------ */

/* After a flood the per-connection memory (TLS objects, buffers) is free
 * but glibc keeps it: give it back to the system once the connections
 * have fallen to a quarter of their peak (checked on each sweep, so at
 * most a few times a second, and only after at least 1000 were open). */
static void trim_after_peak(net_t *n)
{
    if (n->st.open > n->peak_open)
        n->peak_open = n->st.open;
    if (n->peak_open >= 1000 && n->st.open <= n->peak_open / 4) {
        malloc_trim(0);
        n->peak_open = n->st.open;
    }
}

static void sweep_cb(uv_timer_t *t)
{
    net_t *n = t->data;
    uint64_t now = now_ms(n);
    trim_after_peak(n);
    for (net_conn_t *c = n->conns, *nx; c; c = nx) {
        nx = c->next;
        if (c->uv_closing)
            continue;
        if (c->closing) {
            if (now >= c->close_deadline_ms)
                hard_close(c);
            continue;
        }
        if (!c->ready) {
            if (now - (c->upgrading ? c->upgrade_ms : c->created_ms) >= n->o.handshake_timeout_ms) {
                n->st.timeouts++;
                const char *what = !c->connected ? "connect timeout" : "TLS handshake timeout";
                if (c->inbound && n->o.log_event)
                    peer_event(n, c, "handshake failed", what);
                else
                    nlog(n, NET_LOG_INFO, c, "%s: %s", c->remote[0] ? c->remote : c->target, what);
                conn_close(c, FEDGE_ETIMEDOUT, what, false);
            }
        } else if (c->deadline_ms && now >= c->deadline_ms) {
            n->st.timeouts++;
            char why[160];
            snprintf(why, sizeof why, "deadline passed: %s", c->deadline_what);
            nlog(n, NET_LOG_INFO, c, "%s: %s", c->remote, why);
            conn_close(c, FEDGE_ETIMEDOUT, why, true);
        } else if (n->o.idle_timeout_ms != UINT32_MAX &&
                   now - c->active_ms >= n->o.idle_timeout_ms) {
            n->st.timeouts++;
            nlog(n, NET_LOG_INFO, c, "%s: idle timeout", c->remote);
            conn_close(c, FEDGE_ETIMEDOUT, "idle timeout", true);
        }
    }
}

static void timer_close_cb(uv_handle_t *h)
{
    net_t *n = h->data;
    n->live_handles--;
    maybe_free_net(n);
}

/* ------------------------------------------------------------------ */
/* The net                                                             */
/* ------------------------------------------------------------------ */

int net_new(uv_loop_t *loop, const net_opts_t *o, net_t **out, fedge_err_t *e)
{
    if (!loop || !out)
        return fedge_err(e, FEDGE_EINVAL, "net: no loop");
    net_t *n = fedge_calloc(1, sizeof *n);
    if (o)
        n->o = *o;
    if (!n->o.max_connections)
        n->o.max_connections = 10000;
    if (!n->o.max_connections_per_ip)
        n->o.max_connections_per_ip = 64;
    if (!n->o.handshake_timeout_ms)
        n->o.handshake_timeout_ms = 10000;
    if (!n->o.idle_timeout_ms)
        n->o.idle_timeout_ms = 300000;
    if (!n->o.max_queued_bytes)
        n->o.max_queued_bytes = 1u << 20;
    if (!n->o.read_buffer_size)
        n->o.read_buffer_size = 16384;
    if (!n->o.max_outbound)
        n->o.max_outbound = 1000;
    if (!n->o.max_handshakes)
        n->o.max_handshakes = 500;
    if (!n->o.handshake_rate)
        n->o.handshake_rate = 20;
    if (!n->o.known_peers)
        n->o.known_peers = 4096;
    if (!n->o.known_ttl_ms)
        n->o.known_ttl_ms = 24u * 3600 * 1000;
    if (n->o.read_buffer_size < 1024 || n->o.read_buffer_size > (1u << 24)) {
        free(n);
        return fedge_err(e, FEDGE_EINVAL, "net: read_buffer_size must be 1 KiB..16 MiB");
    }
    n->loop = loop;
    /* A write racing the peer's close must fail with EPIPE and close that
     * connection only, not kill the process (net.h). */
    signal(SIGPIPE, SIG_IGN);
    /* Inbound handshakes run on libuv's thread pool (see "Handshakes off
     * the loop"): give it a thread per core, and at least libuv's default
     * of 4 since the pool also serves name lookups and the store. libuv
     * reads this once, when the pool first starts; the operator's own
     * setting wins. */
    if (!getenv("UV_THREADPOOL_SIZE")) {
        char v[16];
        unsigned cores = uv_available_parallelism();
        snprintf(v, sizeof v, "%u", cores > 4 ? (cores > 64 ? 64 : cores) : 4);
        setenv("UV_THREADPOOL_SIZE", v, 0);
    }
    n->rbuf = fedge_malloc(n->o.read_buffer_size);
    n->pbuf = fedge_malloc(n->o.read_buffer_size);
    for (n->known_size = WAYS; n->known_size < n->o.known_peers && n->known_size < (1u << 24);)
        n->known_size *= 2;
    n->known = fedge_calloc(n->known_size, sizeof *n->known);
    n->rate_size = 4096;
    n->rate = fedge_calloc(n->rate_size, sizeof *n->rate);
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    n->live_handles = 1;
    /* Sweep often enough for the shortest timeout to be honoured within a
     * quarter of it; one timer for all connections costs no memory per
     * connection. */
    uint64_t shortest = n->o.handshake_timeout_ms;
    if (n->o.idle_timeout_ms < shortest)
        shortest = n->o.idle_timeout_ms;
    if (NET__CLOSE_GRACE_MS < shortest)
        shortest = NET__CLOSE_GRACE_MS;
    uint64_t every = shortest / 4;
    if (every < 10)
        every = 10;
    if (every > 1000)
        every = 1000;
    uv_timer_start(&n->timer, sweep_cb, every, every);
    uv_unref((uv_handle_t *)&n->timer);
    uv_check_init(loop, &n->flush_check);
    n->flush_check.data = n;
    uv_check_start(&n->flush_check, on_flush_check);
    uv_unref((uv_handle_t *)&n->flush_check);
    uv_prepare_init(loop, &n->flush_prepare);
    n->flush_prepare.data = n;
    uv_prepare_start(&n->flush_prepare, on_flush_prepare);
    uv_unref((uv_handle_t *)&n->flush_prepare);
    n->live_handles += 2;
    *out = n;
    return 0;
}

void net_stats(const net_t *n, net_stats_t *s)
{
    *s = n->st;
}

static void listener_close_cb(uv_handle_t *h)
{
    net_listener_t *l = h->data;
    net_t *n = l->net;
    if (l->tls)
        net__tls_unref(l->tls);
    free(l);
    n->live_handles--;
    maybe_free_net(n);
}

void net_listener_close(net_listener_t *l)
{
    if (!l || l->closing)
        return;
    net_t *n = l->net;
    l->closing = true;
    if (l->prev)
        l->prev->next = l->next;
    else
        n->listeners = l->next;
    if (l->next)
        l->next->prev = l->prev;
    uv_close((uv_handle_t *)&l->tcp, listener_close_cb);
}

void net_stop_accepting(net_t *n)
{
    while (n->listeners)
        net_listener_close(n->listeners);
}

void net_close_all(net_t *n)
{
    for (net_conn_t *c = n->conns, *nx; c; c = nx) {
        nx = c->next;
        conn_close(c, FEDGE_ECLOSED, "shutting down", true);
    }
}

void net_destroy(net_t *n)
{
    if (!n || n->destroying)
        return;
    net_stop_accepting(n);
    net_close_all(n);
    n->destroying = true;
    uv_timer_stop(&n->timer);
    uv_close((uv_handle_t *)&n->timer, timer_close_cb);
    flush_turn(n);
    uv_close((uv_handle_t *)&n->flush_check, timer_close_cb);
    uv_close((uv_handle_t *)&n->flush_prepare, timer_close_cb);
    /* Without the timer nothing bounds a graceful close any more: a
     * connection with bytes still queued (a peer not reading) would keep
     * the loop alive, so close those at once. An empty queue lets the
     * shutdown complete promptly; one already shut down no longer waits
     * for its peer's EOF (lingering close, conn_close). */
    for (net_conn_t *c = n->conns; c; c = c->next)
        if (c->tcp.write_queue_size > 0 || c->shut_done)
            hard_close(c);
}

/* ------------------------------------------------------------------ */
/* Listeners and accepting                                             */
/* ------------------------------------------------------------------ */

/* Parses "host:port" / "[v6]:port" into a socket address. */
static int parse_host_port(const char *hp, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon;
    if (!hp)
        return FEDGE_EINVAL;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - hp - 1) >= sizeof host)
            return FEDGE_EINVAL;
        memcpy(host, hp + 1, (size_t)(rb - hp - 1));
        host[rb - hp - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon || (size_t)(colon - hp) >= sizeof host || strchr(hp, ':') != colon)
            return FEDGE_EINVAL;
        memcpy(host, hp, (size_t)(colon - hp));
        host[colon - hp] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
        return FEDGE_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return FEDGE_EINVAL;
}

static net_conn_t *conn_alloc(net_t *n)
{
    net_conn_t *c = fedge_calloc(1, sizeof *c);
    c->net = n;
    uv_tcp_init(n->loop, &c->tcp);
    c->tcp.data = c;
    n->live_handles++;
    c->created_ms = c->active_ms = now_ms(n);
    c->next = n->conns;
    if (n->conns)
        n->conns->prev = c;
    n->conns = c;
    n->st.open++;
    return c;
}

static void set_addrs_from_peer(net_conn_t *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    format_addr((struct sockaddr *)&ss, c->ip, sizeof c->ip, c->remote, sizeof c->remote, &c->port);
    memset(c->ipkey, 0, sizeof c->ipkey);
    if (ss.ss_family == AF_INET) {
        c->ipkey[0] = 4;
        memcpy(c->ipkey + 1, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        const uint8_t *a = (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, v4mapped, 12) == 0) { /* one IPv4 client, one count */
            c->ipkey[0] = 4;
            memcpy(c->ipkey + 1, a + 12, 4);
        } else {
            c->ipkey[0] = 6;
            memcpy(c->ipkey + 1, a, 16);
        }
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    net_listener_t *l = server->data;
    net_t *n = l->net;
    if (status < 0) {
        /* e.g. out of descriptors under a flood: once per attempt, so
         * summarised like the refusals when the layer above can. */
        char why[96];
        snprintf(why, sizeof why, "accept failed: %s", uv_strerror(status));
        if (n->o.log_event)
            n->o.log_event(n->o.log_user, "refused", why, NULL);
        else
            nlog(n, NET_LOG_WARN, NULL, "%s", why);
        return;
    }
    net_conn_t *c = conn_alloc(n);
    c->inbound = true;
    c->tag = l->tag;
    c->user = l->user;
    c->cbs = l->cbs;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c, FEDGE_EIO, "accept failed", false);
        return;
    }
    c->connected = true;
    set_addrs_from_peer(c);
    n->st.accepted++;
    /* Admission (net.h, net_opts_t): per address, the tag's budget with its
     * reserve for known addresses, then the handshake rate and places. */
    struct net__pool *p = l->pool;
    c->known = known_has(n, c->ipkey);
    const char *why = NULL;
    if (ip_count(n, c->ipkey) >= n->o.max_connections_per_ip)
        why = "max_connections_per_ip";
    else if (p->open >= p->max &&
             !(c->known && shed(n, p, "max_connections: room for a known peer")))
        why = "max_connections";
    else if (!c->known && p->open + p->reserved >= p->max)
        why = "max_connections (the rest is reserved for known peers)";
    else if (l->tls && !c->known && !rate_take(n, c->ipkey)) {
        n->st.refused_rate++;
        why = "handshake_rate";
    }
    if (why) {
        n->st.refused_limit++;
        if (n->o.log_event)
            peer_event(n, c, "refused", why);
        else if (!strcmp(why, "max_connections_per_ip"))
            nlog(n, NET_LOG_WARN, c, "%s: refused: max_connections_per_ip (%zu) reached", c->remote,
                 n->o.max_connections_per_ip);
        else if (!strcmp(why, "max_connections"))
            nlog(n, NET_LOG_WARN, c, "%s: refused: max_connections (%zu) reached", c->remote,
                 p->max);
        else
            nlog(n, NET_LOG_WARN, c, "%s: refused: %s", c->remote, why);
        conn_close(c, FEDGE_ELIMIT, why, false);
        return;
    }
    if (l->tls && !c->known && p->handshaking >= n->o.max_handshakes)
        shed(n, p, "max_handshakes: room for a newer handshake");
    c->pool = p;
    c->in_budget = true;
    p->open++;
    if (l->tls && !c->known)
        hs_add(c);
    ip_inc(n, c->ipkey);
    c->ip_counted = true;
    uv_tcp_nodelay(&c->tcp, 1);
    if (l->tls) {
        /* The SSL object (the bulk of a connection's memory) waits for a
         * whole first record: a flood that never sends one costs little. */
        c->tls = l->tls;
        net__tls_ref(c->tls);
        n->st.open_tls++;
    }
    int r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (r != 0) {
        conn_close(c, FEDGE_EIO, uv_strerror(r), false);
        return;
    }
    if (!l->tls)
        become_ready(c);
}

int net_listen(net_t *n, const net_listen_opts_t *o, net_listener_t **out, fedge_err_t *e)
{
    if (!n || !o || n->destroying)
        return fedge_err(e, FEDGE_EINVAL, "net_listen: bad arguments");
    struct sockaddr_storage ss;
    if (parse_host_port(o->host_port, &ss) < 0)
        return fedge_err(e, FEDGE_EINVAL, "listen '%s': expected IPv4:port or [IPv6]:port",
                         o->host_port ? o->host_port : "(null)");
    if (o->tls && !o->tls->certificate)
        return fedge_err(e, FEDGE_ECONFIG, "listen %s: TLS needs a certificate and key",
                         o->host_port);
    struct net__pool *p = pool_get(n, o->tag);
    if (o->max_connections && !p->max)
        p->max = o->max_connections;
    if (o->reserved_known && !p->reserved)
        p->reserved = o->reserved_known;
    if (!p->max)
        p->max = n->o.max_connections;
    if (p->reserved >= p->max) {
        p->reserved = 0;
        return fedge_err(e, FEDGE_EINVAL,
                         "listen %s: reserved_known (%zu) must be less than "
                         "max_connections (%zu)",
                         o->host_port, o->reserved_known, p->max);
    }
    net_listener_t *l = fedge_calloc(1, sizeof *l);
    l->net = n;
    l->pool = p;
    l->tag = o->tag;
    l->user = o->user;
    l->cbs = o->cbs;
    uv_tcp_init(n->loop, &l->tcp);
    l->tcp.data = l;
    n->live_handles++;
    int r = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss,
                        ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
    if (r != 0) {
        l->closing = true;
        uv_close((uv_handle_t *)&l->tcp, listener_close_cb);
        return fedge_err(e, FEDGE_EIO, "listen %s: %s", o->host_port, uv_strerror(r));
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len) == 0)
        l->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    if (o->tls) {
        l->tls = o->tls;
        net__tls_ref(l->tls);
    }
    l->next = n->listeners;
    if (n->listeners)
        n->listeners->prev = l;
    n->listeners = l;
    if (out)
        *out = l;
    return 0;
}

uint16_t net_listener_port(const net_listener_t *l)
{
    return l->port;
}

/* ------------------------------------------------------------------ */
/* Outbound                                                            */
/* ------------------------------------------------------------------ */

static void try_next_addr(net_conn_t *c, int last_err);

static void connect_cb(uv_connect_t *req, int status)
{
    net_conn_t *c = req->data;
    free(req);
    if (status == UV_ECANCELED || c->closing)
        return;
    net_t *n = c->net;
    if (status != 0) {
        try_next_addr(c, status);
        return;
    }
    c->connected = true;
    set_addrs_from_peer(c);
    uv_tcp_nodelay(&c->tcp, 1);
    int r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (r != 0) {
        conn_close(c, FEDGE_EIO, uv_strerror(r), false);
        return;
    }
    if (!c->tls) {
        become_ready(c);
        return;
    }
    c->ssl = net__tls_ssl_new(c->tls, c, false, c->sni);
    net__tls_unref(c->tls);
    c->tls = NULL;
    if (!c->ssl) {
        conn_close(c, FEDGE_ETLS, "cannot create TLS session", false);
        return;
    }
    net__tls_offer_session(c, c->ssl);
    n->st.open_tls++;
    /* Sends the ClientHello through the BIO. */
    tls_advance(c);
}

static void reconnect_close_cb(uv_handle_t *h)
{
    net_conn_t *c = h->data;
    c->reconnecting = false;
    c->uv_closing = false;
    uv_tcp_init(c->net->loop, &c->tcp);
    c->tcp.data = c;
    if (c->closing) { /* closed meanwhile */
        hard_close(c);
        return;
    }
    try_next_addr(c, 0);
}

/* Tries c->addr_next; after a failed attempt (last_err) the handle is
 * recycled first, since a socket that failed to connect cannot be reused. */
static void try_next_addr(net_conn_t *c, int last_err)
{
    if (last_err) {
        if (!c->addr_next) {
            char why[160];
            snprintf(why, sizeof why, "connect to %s failed: %s", c->target, uv_strerror(last_err));
            nlog(c->net, NET_LOG_INFO, c, "%s", why);
            conn_close(c, FEDGE_EIO, why, false);
            return;
        }
        c->reconnecting = true;
        c->uv_closing = true;
        uv_close((uv_handle_t *)&c->tcp, reconnect_close_cb);
        return;
    }
    struct addrinfo *ai = c->addr_next;
    c->addr_next = ai->ai_next;
    format_addr(ai->ai_addr, c->ip, sizeof c->ip, c->remote, sizeof c->remote, &c->port);
    uv_connect_t *req = fedge_malloc(sizeof *req);
    req->data = c;
    int r = uv_tcp_connect(req, &c->tcp, ai->ai_addr, connect_cb);
    if (r != 0) {
        free(req);
        try_next_addr(c, r);
    }
}

static void resolve_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct net__resolve *rs = (struct net__resolve *)req;
    net_conn_t *c = rs->conn;
    free(rs);
    if (!c) {
        if (res)
            uv_freeaddrinfo(res);
        return;
    }
    c->resolving = NULL;
    if (status != 0 || !res) {
        char why[160];
        snprintf(why, sizeof why, "cannot resolve %s: %s", c->target, uv_strerror(status));
        nlog(c->net, NET_LOG_INFO, c, "%s", why);
        if (res)
            uv_freeaddrinfo(res);
        conn_close(c, FEDGE_EIO, why, false);
        return;
    }
    c->addrs = c->addr_next = res;
    try_next_addr(c, 0);
}

int net_connect(net_t *n, const net_connect_opts_t *o, net_conn_t **out, fedge_err_t *e)
{
    if (!n || !o || !o->host || !*o->host || o->port == 0 || n->destroying)
        return fedge_err(e, FEDGE_EINVAL, "net_connect: bad arguments");
    if (n->st.open_out >= n->o.max_outbound)
        return fedge_err(e, FEDGE_ELIMIT, "connect %s: max_outbound (%zu) reached", o->host,
                         n->o.max_outbound);
    char host[256];
    size_t hl = strlen(o->host);
    if (o->host[0] == '[' && hl > 2 && o->host[hl - 1] == ']') {
        hl -= 2;
        memcpy(host, o->host + 1, hl);
    } else if (hl < sizeof host) {
        memcpy(host, o->host, hl);
    } else {
        return fedge_err(e, FEDGE_EINVAL, "connect: host name too long");
    }
    host[hl] = '\0';
    for (size_t i = 0; i < hl; i++)
        host[i] = (char)tolower((unsigned char)host[i]);
    unsigned char tmp[16];
    bool v6 = uv_inet_pton(AF_INET6, host, tmp) == 0;
    bool literal = v6 || uv_inet_pton(AF_INET, host, tmp) == 0;

    net_conn_t *c = conn_alloc(n);
    c->out_counted = true;
    n->st.open_out++;
    c->cbs = o->cbs;
    c->user = o->user;
    c->tag = o->tag;
    c->notify = true;
    char target[300]; /* the reuse key, formatted as net_find_conn's callers do */
    fedge_hostport_format(target, sizeof target, host, o->port);
    c->target = fedge_strdup(target);
    net__reuse_add_target(c);
    if (o->tls) {
        c->tls = o->tls;
        net__tls_ref(c->tls);
        if (o->sni)
            c->sni = fedge_strdup(o->sni);
        else if (!literal)
            c->sni = fedge_strdup(host);
    }
    struct net__resolve *rs = fedge_calloc(1, sizeof *rs);
    rs->conn = c;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    if (literal)
        hints.ai_flags = AI_NUMERICHOST;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)o->port);
    c->resolving = rs;
    /* Literals resolve synchronously (no callback); names go to the
     * threadpool. */
    int r = uv_getaddrinfo(n->loop, &rs->req, literal ? NULL : resolve_cb, host, port, &hints);
    if (literal) {
        c->resolving = NULL;
        if (r != 0) {
            free(rs);
            conn_close(c, FEDGE_EIO, "bad address", false);
            c->notify = false;
            return fedge_err(e, FEDGE_EINVAL, "connect: bad address '%s'", o->host);
        }
        struct addrinfo *res = rs->req.addrinfo;
        free(rs);
        c->addrs = c->addr_next = res;
        try_next_addr(c, 0);
    } else if (r != 0) {
        c->resolving = NULL;
        free(rs);
        c->notify = false;
        conn_close(c, FEDGE_EIO, "resolver failed", false);
        return fedge_err(e, FEDGE_EIO, "connect %s: %s", o->host, uv_strerror(r));
    }
    if (out)
        *out = c;
    return 0;
}

/* ------------------------------------------------------------------ */
/* STARTTLS                                                            */
/* ------------------------------------------------------------------ */

int net_conn_starttls(net_conn_t *c, net_tls_t *tls, bool server_side, const char *sni)
{
    if (!c || !tls || c->ssl || !c->ready || c->closing || (server_side && !tls->certificate))
        return FEDGE_EINVAL;
    net_t *n = c->net;
    /* What was written before this call (e.g. <proceed/>) is still
     * gathered for this turn: it goes out now, in plaintext. */
    flush_conn(c);
    if (c->closing)
        return FEDGE_ECLOSED;
    /* The same SSL set-up as a TLS listener or net_connect, so the
     * certificate checks and the peer identity are the same too. */
    c->ssl = net__tls_ssl_new(tls, c, server_side, server_side ? NULL : sni);
    if (!c->ssl)
        return FEDGE_ETLS;
    if (!server_side && sni) {
        free(c->sni);
        c->sni = fedge_strdup(sni);
    }
    n->st.open_tls++;
    c->ready = false;
    c->upgrading = true;
    c->upgrade_ms = now_ms(n);
    if (!server_side)
        tls_advance(c); /* sends the ClientHello */
    return 0;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

void net_conn_close(net_conn_t *c)
{
    if (c)
        conn_close(c, 0, "closed locally", true);
}

void net_conn_set_deadline(net_conn_t *c, uint32_t ms, const char *what)
{
    c->deadline_ms = ms ? now_ms(c->net) + ms : 0;
    c->deadline_what = what ? what : "deadline";
}

void net_conn_set_user(net_conn_t *c, void *user)
{
    c->user = user;
}

void *net_conn_user(const net_conn_t *c)
{
    return c->user;
}

bool net_conn_resumed(const net_conn_t *c)
{
    return c->ssl && c->ready && SSL_session_reused(c->ssl);
}

void *net_conn_tag(const net_conn_t *c)
{
    return c->tag;
}

bool net_conn_is_tls(const net_conn_t *c)
{
    return c->ssl != NULL || c->tls != NULL;
}

bool net_conn_is_inbound(const net_conn_t *c)
{
    return c->inbound;
}

bool net_conn_is_ready(const net_conn_t *c)
{
    return c->ready && !c->closing;
}

const char *net_conn_remote(const net_conn_t *c)
{
    return c->remote;
}

const char *net_conn_remote_ip(const net_conn_t *c)
{
    return c->ip;
}

uint16_t net_conn_remote_port(const net_conn_t *c)
{
    return c->port;
}

int net_conn_local(const net_conn_t *c, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!c->connected || c->uv_closing ||
        uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return FEDGE_EIO;
    char ip[46], hp[56];
    uint16_t port;
    format_addr((struct sockaddr *)&ss, ip, sizeof ip, hp, sizeof hp, &port);
    if (strlen(hp) + 1 > size)
        return FEDGE_ENOSPC;
    memcpy(buf, hp, strlen(hp) + 1);
    return 0;
}

const char *net_conn_target(const net_conn_t *c)
{
    return c->target;
}

const char *net_conn_sni(const net_conn_t *c)
{
    if (!c->inbound)
        return c->sni;
    return c->ssl ? SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

const net_peer_t *net_conn_peer(const net_conn_t *c)
{
    return c->ready ? c->peer : NULL;
}
