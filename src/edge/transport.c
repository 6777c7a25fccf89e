/* transport.c — the edge's connections: net connection ↔ SIP framer ↔
 * proxy, writes held back until an outbound server certificate is judged
 * (RFC 5922 §7.3), the index of inbound connections by remote address, and
 * the proxy's I/O (proxy_io_t) over them. */
#include "edge/edge_int.h"

#include "obs/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char C[] = "serve";
#define SIDE_TAG(side) EDGE__SIDE_TAG(side)

/* Per-connection state (the proxy's opaque proxy_conn_t). Kept small: the
 * receive buffer exists only while a message is incomplete. */
struct proxy_conn {
    edge_t *s;
    net_conn_t *nc;
    proxy_side_t side;
    bool closing;
    sip_framer_t fr;
    char *buf;
    size_t len, cap;
    proxy_expect_t *expect; /* outbound TLS: what the server certificate must satisfy */
    char *fail_reason;      /* why the edge closed it (for the proxy's Warning) */
    /* outbound TLS with a name to check: what the proxy wrote before the
     * certificate was judged, held back so that a server that is not the
     * one meant never sees it (RFC 5922 §7.3) */
    bool holding;
    bool timing; /* a message has started: its deadline is armed */
    char *held;
    size_t held_len;
    const char *partner;    /* external peer's domain counted in stats, or NULL */
    fedge_map_node_t rnode; /* inbound: in edge_t.rtab by remote address;
                               UDP: in edge_t.utab */
    bool indexed;
    /* a UDP peer (nc NULL): datagrams to ip:port from sock */
    bool udp;
    net_udp_t *sock;
    char ip[48];
    uint16_t port;
    char remote[64]; /* "ip:port", "[v6]:port" */
    uint64_t heard;  /* loop time of the last datagram, for eviction */
    /* a remote client's connection ([remote] listener): its flow number,
     * in edge_t.flows, counted in edge_t.per_ip */
    bool client, counted;
    uint64_t flow;
    fedge_map_node_t fnode;
    bool metered; /* in fedge_connections_open (metrics.c) */
};

/* Remote client connections open from one address. */
typedef struct {
    fedge_map_node_t node;
    uint32_t n;
    char ip[64];
} ipcount_t;

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static void on_ready(net_conn_t *nc);
static void on_data(net_conn_t *nc, const char *buf, size_t len);
static void on_close(net_conn_t *nc, int code, const char *reason);
const net_conn_cbs_t edge__conn_cbs = {on_ready, on_data, on_close};

static proxy_conn_t *conn_new(edge_t *s, proxy_side_t side)
{
    proxy_conn_t *c = fedge_calloc(1, sizeof(*c));
    c->s = s;
    c->side = side;
    sip_framer_init(&c->fr, s->max_msg);
    return c;
}

static void rtab_add(edge_t *s, proxy_conn_t *c)
{
    const char *k = net_conn_remote(c->nc);
    fedge_map_insert(&s->rtab, &c->rnode, fedge_hash(k, strlen(k)));
    c->indexed = true;
}

static void rtab_del(edge_t *s, proxy_conn_t *c)
{
    if (c->indexed)
        fedge_map_remove(&s->rtab, &c->rnode);
    c->indexed = false;
}

typedef struct {
    proxy_side_t side;
    const char *remote;
} rkey_t;

static bool rtab_eq(const fedge_map_node_t *n, const void *key)
{
    const proxy_conn_t *x = FEDGE_CONTAINER_OF(n, proxy_conn_t, rnode);
    const rkey_t *k = key;
    return x->side == k->side && !x->closing && !strcmp(net_conn_remote(x->nc), k->remote);
}

static proxy_conn_t *rtab_find(edge_t *s, proxy_side_t side, const char *key)
{
    rkey_t k = {side, key};
    fedge_map_node_t *n = fedge_map_find(&s->rtab, fedge_hash(key, strlen(key)), rtab_eq, &k);
    return n ? FEDGE_CONTAINER_OF(n, proxy_conn_t, rnode) : NULL;
}

static void conn_close(proxy_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    net_conn_close(c->nc);
}

static bool ip_eq(const fedge_map_node_t *n, const void *key)
{
    return !strcmp(FEDGE_CONTAINER_OF(n, ipcount_t, node)->ip, key);
}

static bool flow_eq(const fedge_map_node_t *n, const void *key)
{
    return FEDGE_CONTAINER_OF(n, proxy_conn_t, fnode)->flow == *(const uint64_t *)key;
}

static uint64_t flow_hash(uint64_t id)
{
    return fedge_hash(&id, sizeof(id));
}

/* A remote client's connection is ready: numbered (its flow) and counted
 * against [remote] max_connections_per_ip. Returns false when that
 * address has its count already (the connection is then closed). */
static bool remote_admit(edge_t *s, proxy_conn_t *c)
{
    const char *ip = net_conn_remote_ip(c->nc);
    uint64_t h = fedge_hash(ip, strlen(ip));
    fedge_map_node_t *n = fedge_map_find(&s->per_ip, h, ip_eq, ip);
    ipcount_t *k = n ? FEDGE_CONTAINER_OF(n, ipcount_t, node) : NULL;
    if (k && s->remote_max_per_ip && k->n >= s->remote_max_per_ip) {
        /* summarised with net's refusals: a flood cannot flood the log */
        obs_summary_add(s->refused, (int64_t)uv_now(s->loop), "[remote] max_connections_per_ip",
                        ip);
        return false;
    }
    if (!k) {
        k = fedge_calloc(1, sizeof(*k));
        snprintf(k->ip, sizeof(k->ip), "%s", ip);
        fedge_map_insert(&s->per_ip, &k->node, h);
    }
    k->n++;
    c->counted = true;
    c->flow = ++s->next_flow;
    fedge_map_insert(&s->flows, &c->fnode, flow_hash(c->flow));
    edge__remote_conn(+1);
    return true;
}

static void remote_forget(edge_t *s, proxy_conn_t *c)
{
    if (!c->counted)
        return;
    c->counted = false;
    fedge_map_remove(&s->flows, &c->fnode);
    edge__remote_conn(-1);
    const char *ip = net_conn_remote_ip(c->nc);
    fedge_map_node_t *n = fedge_map_find(&s->per_ip, fedge_hash(ip, strlen(ip)), ip_eq, ip);
    if (!n)
        return;
    ipcount_t *k = FEDGE_CONTAINER_OF(n, ipcount_t, node);
    if (--k->n == 0) {
        fedge_map_remove(&s->per_ip, &k->node);
        free(k);
    }
}

bool edge__conn_remote(const proxy_conn_t *c, uint64_t *flow, const char **ip, uint16_t *port)
{
    if (!c || !c->client)
        return false;
    *flow = c->flow;
    *ip = net_conn_remote_ip(c->nc);
    *port = net_conn_remote_port(c->nc);
    return true;
}

bool edge__conn_untrusted(void *user, const proxy_conn_t *c)
{
    (void)user;
    return c && c->client;
}

proxy_conn_t *edge__flow_conn(edge_t *s, uint64_t id)
{
    fedge_map_node_t *n = fedge_map_find(&s->flows, flow_hash(id), flow_eq, &id);
    proxy_conn_t *c = n ? FEDGE_CONTAINER_OF(n, proxy_conn_t, fnode) : NULL;
    return c && !c->closing ? c : NULL;
}

void edge__transport_free(edge_t *s)
{
    fedge_map_iter_t it;
    fedge_map_iter_init(&it, &s->per_ip);
    fedge_map_node_t *n;
    while ((n = fedge_map_iter_next(&it)))
        free(FEDGE_CONTAINER_OF(n, ipcount_t, node));
    fedge_map_free(&s->per_ip);
    fedge_map_free(&s->flows);
}

/* The first name of a verified peer for logs: a DNS name, else a SIP
 * domain, else the CN. */
static const char *identity(const net_peer_t *p)
{
    if (!p || !p->verified)
        return "-";
    return p->n_dns ? p->dns[0] : p->n_sip ? p->sip[0] : p->cn ? p->cn : "-";
}

static void on_ready(net_conn_t *nc)
{
    proxy_conn_t *c;
    edge_t *s;
    if (net_conn_is_inbound(nc)) {
        /* accepted: the listener's user is the edge, its tag the side */
        s = net_conn_user(nc);
        void *tag = net_conn_tag(nc);
        bool remote = tag == EDGE__REMOTE_TAG;
        c = conn_new(s, remote ? PROXY_SIDE_EXTERNAL : (proxy_side_t)(uintptr_t)tag);
        c->nc = nc;
        c->client = remote;
        net_conn_set_user(nc, c);
        rtab_add(s, c);
        if (remote && !remote_admit(s, c)) {
            conn_close(c);
            return;
        }
    } else {
        c = net_conn_user(nc);
        s = c->s;
    }
    edge__metrics_ready(c->side, &c->metered);
    const net_peer_t *peer = net_conn_peer(nc);
    char why[PROXY_HOST_MAX * 3];
    if (c->expect && !proxy_expect_check(c->expect, peer, why, sizeof(why))) {
        /* RFC 5922 §7.3 / the Lync rule (src/proxy/outbound.c) */
        obs_logkv(OBS_LOG_WARNING, C, "server certificate refused", "peer", net_conn_remote(nc),
                  "target", c->expect->host, "domain", c->expect->domain, "reason", why, "subject",
                  peer && peer->subject ? peer->subject : "-", NULL);
        if (s->stats) {
            char t[PROXY_HOST_MAX * 4];
            snprintf(t, sizeof(t), "%s: %s", net_conn_remote(nc), why);
            admin_stats_error(s->stats, t);
        }
        c->fail_reason = fedge_strdup(why);
        conn_close(c);
        return;
    }
    if (c->holding) {
        c->holding = false;
        if (c->held_len && net_conn_write(nc, c->held, c->held_len) < 0) {
            conn_close(c);
            return;
        }
        free(c->held);
        c->held = NULL;
        c->held_len = 0;
    }
    if (c->side == PROXY_SIDE_EXTERNAL && peer && peer->verified && s->stats) {
        /* the partner's domain: its SIP URI name, else its first DNS name */
        c->partner = peer->n_sip ? peer->sip[0] : peer->n_dns ? peer->dns[0] : peer->cn;
        if (c->partner)
            admin_stats_connection(s->stats, (fedge_str_t){c->partner, strlen(c->partner)}, +1);
    }
    obs_logkv(OBS_LOG_DEBUG, C, "connection ready", "peer", net_conn_remote(nc), "side",
              c->client ? "remote" : proxy_side_name(c->side), "direction",
              net_conn_is_inbound(nc) ? "in" : "out", "identity", identity(peer), NULL);
}

static void on_close(net_conn_t *nc, int code, const char *reason)
{
    proxy_conn_t *c = net_conn_user(nc);
    if (!c)
        return;
    edge__metrics_closed(c->s, c->side, nc, c->metered, c->fail_reason ? c->fail_reason : reason);
    obs_logkv(code && code != FEDGE_ECLOSED ? OBS_LOG_INFO : OBS_LOG_DEBUG, C, "connection closed",
              "peer", net_conn_remote(nc), "side", proxy_side_name(c->side), "reason",
              reason ? reason : "-", NULL);
    /* at shutdown the proxy is told nothing more: it would only try to
     * fail over or answer through a transport that is going away */
    if (c->s->proxy && !c->s->shut)
        proxy_on_conn_failed(c->s->proxy, c, code, c->fail_reason ? c->fail_reason : reason);
    if (!c->s->shut)
        edge__media_conn_closed(c->s->media, c->side, net_conn_remote(nc));
    if (c->partner && c->s->stats)
        admin_stats_connection(c->s->stats, (fedge_str_t){c->partner, strlen(c->partner)}, -1);
    if (c->s->xmpp)
        edge__xmpp_conn_gone(c->s->xmpp, nc);
    net_conn_set_user(nc, NULL);
    rtab_del(c->s, c);
    remote_forget(c->s, c);
    free(c->buf);
    free(c->expect);
    free(c->fail_reason);
    free(c->held);
    free(c);
}

/* ------------------------------------------------------------------ */
/* UDP peers                                                           */
/* ------------------------------------------------------------------ */

static bool utab_eq(const fedge_map_node_t *n, const void *key)
{
    return !strcmp(FEDGE_CONTAINER_OF(n, proxy_conn_t, rnode)->remote, key);
}

static void udp_forget(edge_t *s, proxy_conn_t *c)
{
    fedge_map_remove(&s->utab, &c->rnode);
    s->npeers--;
    free(c);
}

/* The UDP peer ip:port (created when new; sock NULL: the socket of its
 * address family). At EDGE__MAX_UDP_PEERS the least recently heard one is
 * forgotten first (its transactions fail over as for a closed
 * connection), so that memory stays bounded. */
static proxy_conn_t *udp_peer(edge_t *s, const char *ip, uint16_t port, net_udp_t *sock)
{
    char key[64];
    fedge_hostport_format(key, sizeof(key), ip, port);
    uint64_t h = fedge_hash(key, strlen(key));
    fedge_map_node_t *n = fedge_map_find(&s->utab, h, utab_eq, key);
    if (n)
        return FEDGE_CONTAINER_OF(n, proxy_conn_t, rnode);
    if (s->npeers >= EDGE__MAX_UDP_PEERS) {
        proxy_conn_t *old = NULL;
        fedge_map_iter_t it;
        fedge_map_iter_init(&it, &s->utab);
        for (fedge_map_node_t *x; (x = fedge_map_iter_next(&it));) {
            proxy_conn_t *y = FEDGE_CONTAINER_OF(x, proxy_conn_t, rnode);
            if (!old || y->heard < old->heard)
                old = y;
        }
        if (s->proxy)
            proxy_on_conn_failed(s->proxy, old, FEDGE_ECLOSED, "UDP peer forgotten (too many)");
        udp_forget(s, old);
    }
    if (!sock) {
        bool v6 = strchr(ip, ':') != NULL;
        sock = s->udp[0];
        for (size_t i = 0; i < s->nudp; i++)
            if (s->udp_v6[i] == v6) {
                sock = s->udp[i];
                break;
            }
    }
    proxy_conn_t *c = fedge_calloc(1, sizeof(*c));
    c->s = s;
    c->side = PROXY_SIDE_INTERNAL;
    c->udp = true;
    c->sock = sock;
    snprintf(c->ip, sizeof(c->ip), "%s", ip);
    c->port = port;
    snprintf(c->remote, sizeof(c->remote), "%s", key);
    c->heard = uv_now(s->loop);
    fedge_map_insert(&s->utab, &c->rnode, h);
    s->npeers++;
    return c;
}

/* Only CR, LF, spaces: a keep-alive some PBXs send over UDP. */
static bool blank(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != '\r' && b[i] != '\n' && b[i] != ' ' && b[i] != '\0')
            return false;
    return true;
}

void edge__udp_recv(net_udp_t *u, const char *buf, size_t len, const char *ip, uint16_t port)
{
    edge_t *s = net_udp_user(u);
    if (s->shut || !s->proxy || blank(buf, len))
        return;
    proxy_conn_t *c = udp_peer(s, ip, port, u);
    c->heard = uv_now(s->loop);
    c->sock = u; /* answer from the socket it reached */
    proxy_peer_t peer = {PROXY_SIDE_INTERNAL, c->remote, NULL};
    /* a datagram is one message (RFC 3261 §18.3): no framer; the proxy
     * answers 400 to what it can read, and the rest is dropped here */
    edge__metrics_msg(PROXY_SIDE_INTERNAL, false, buf, len);
    int rc = proxy_on_message(s->proxy, c, &peer, buf, len);
    if (rc < 0)
        obs_logkv(OBS_LOG_INFO, C, "unanswerable datagram dropped", "peer", c->remote, "side",
                  proxy_side_name(c->side), "reason", fedge_strerror(rc), NULL);
}

void edge__udp_free(edge_t *s)
{
    fedge_map_iter_t it;
    fedge_map_iter_init(&it, &s->utab);
    proxy_conn_t **v = fedge_calloc(s->npeers + 1, sizeof(*v));
    size_t n = 0;
    for (fedge_map_node_t *x; n < s->npeers && (x = fedge_map_iter_next(&it));)
        v[n++] = FEDGE_CONTAINER_OF(x, proxy_conn_t, rnode);
    for (size_t i = 0; i < n; i++)
        udp_forget(s, v[i]);
    free(v);
    fedge_map_free(&s->utab);
}

/* Writes on c, or holds the bytes while its server is not judged yet. */
static int conn_send(proxy_conn_t *c, const char *data, size_t len)
{
    edge__metrics_msg(c->side, true, data, len);
    if (c->udp) {
        fedge_err_t e;
        /* the sockets close at shutdown: nothing leaves after */
        if (c->s->shut || !c->sock)
            return FEDGE_ECLOSED;
        return net_udp_send(c->sock, c->ip, c->port, data, len, &e);
    }
    if (!c->holding)
        return net_conn_write(c->nc, data, len);
    c->held = fedge_realloc(c->held, c->held_len + len);
    memcpy(c->held + c->held_len, data, len);
    c->held_len += len;
    return 0;
}

/* Hands every complete unit in p[0..n) to the proxy; returns the number of
 * bytes consumed, or SIZE_MAX when the connection was closed. */
static size_t consume(proxy_conn_t *c, const char *p, size_t n)
{
    size_t off = 0;
    while (off < n && !c->closing) {
        size_t unit = 0;
        int k = sip_framer_next(&c->fr, p + off, n - off, &unit);
        if (k < 0) {
            obs_logkv(OBS_LOG_INFO, C, "framing error: closing connection", "peer",
                      net_conn_remote(c->nc), "side", proxy_side_name(c->side), "reason",
                      fedge_strerror(k), NULL);
            conn_close(c);
            return SIZE_MAX;
        }
        if (k == SIP_FRAME_NEED_MORE)
            break;
        if (k == SIP_FRAME_MESSAGE && c->side == PROXY_SIDE_INTERNAL && c->s->xmpp &&
            edge__xmpp_sip_in(c->s->xmpp, c->nc, p + off, unit)) {
            /* for an XMPP partner domain: the gateway answers (src/edge/xmpp.c) */
        } else if (k == SIP_FRAME_MESSAGE) {
            proxy_peer_t peer = {c->side, net_conn_remote(c->nc), net_conn_peer(c->nc)};
            edge__metrics_msg(c->side, false, p + off, unit);
            int rc = proxy_on_message(c->s->proxy, c, &peer, p + off, unit);
            if (rc < 0) {
                obs_logkv(OBS_LOG_INFO, C, "unanswerable message: closing connection", "peer",
                          net_conn_remote(c->nc), "side", proxy_side_name(c->side), "reason",
                          fedge_strerror(rc), NULL);
                conn_close(c);
                return SIZE_MAX;
            }
        } else if (k == SIP_FRAME_PING) {
            net_conn_write(c->nc, "\r\n", 2); /* RFC 5626 §3.5.1 pong */
        }
        off += unit;
    }
    return c->closing ? SIZE_MAX : off;
}

/* [limits] message_timeout: a message that has started (rest bytes of it
 * wait for more) must be complete in time, however slowly it trickles in;
 * the deadline restarts with each message and is cleared when nothing is
 * pending (net_conn_set_deadline). */
static void pace(proxy_conn_t *c, size_t used, size_t rest)
{
    if (!rest) {
        if (c->timing)
            net_conn_set_deadline(c->nc, 0, NULL);
        c->timing = false;
    } else if (!c->timing || used) {
        net_conn_set_deadline(c->nc, c->s->msg_timeout_ms,
                              "message_timeout (SIP message not complete)");
        c->timing = true;
    }
}

static void on_data(net_conn_t *nc, const char *data, size_t len)
{
    proxy_conn_t *c = net_conn_user(nc);
    if (!c || c->closing || c->s->shut)
        return;
    if (c->len == 0) {
        /* fast path: frame straight from net's buffer, keep only a tail */
        size_t used = consume(c, data, len);
        if (used == SIZE_MAX)
            return;
        pace(c, used, len - used);
        if (used == len)
            return;
        size_t rest = len - used;
        if (c->cap < rest) {
            c->cap = rest < 4096 ? 4096 : rest;
            free(c->buf);
            c->buf = fedge_malloc(c->cap);
        }
        memcpy(c->buf, data + used, rest);
        c->len = rest;
        return;
    }
    if (c->len + len > c->cap) {
        size_t cap = c->cap * 2;
        if (cap < c->len + len)
            cap = c->len + len;
        c->buf = fedge_realloc(c->buf, cap);
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    size_t used = consume(c, c->buf, c->len);
    if (used == SIZE_MAX)
        return;
    pace(c, used, c->len - used);
    c->len -= used;
    if (c->len == 0) {
        /* idle connections hold no buffer */
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    } else if (used) {
        memmove(c->buf, c->buf + used, c->len);
    }
}

/* ------------------------------------------------------------------ */
/* The proxy's I/O                                                     */
/* ------------------------------------------------------------------ */

static uint64_t io_now(void *ctx)
{
    edge_t *s = ctx;
    return uv_now(s->loop);
}

/* An open connection on side to addr:port, or to a verified TLS peer whose
 * certificate names name (RFC 5923 reuse), or one that a peer opened to
 * the edge from addr:port. */
static proxy_conn_t *find_conn(edge_t *s, proxy_side_t side, const char *addr, uint16_t port,
                               const char *name)
{
    char key[PROXY_HOST_MAX + 16];
    fedge_hostport_format(key, sizeof(key), addr, port);
    net_conn_t *nc = net_find_conn(s->net, SIDE_TAG(side), key);
    if (!nc && name && name[0] && !fedge_host_is_ip(name))
        nc = net_find_conn(s->net, SIDE_TAG(side), name);
    proxy_conn_t *c = nc ? net_conn_user(nc) : NULL;
    if (c && !c->closing)
        return c;
    return rtab_find(s, side, key);
}

static bool expect_eq(const proxy_expect_t *a, const proxy_expect_t *b)
{
    if (!a || !b)
        return !a && !b;
    return a->mode == b->mode && !strcmp(a->domain, b->domain) && !strcmp(a->host, b->host);
}

/* A connection for d (not PROXY_TO_CONN): one that exists and satisfies
 * d->expect, else (unless d may only reuse) one opened now whose server
 * certificate on_ready judges against d->expect, writes held until then.
 * Returns 0 and *out, or a negative code with the reason in why. */
static int conn_for(edge_t *s, const proxy_dest_t *d, proxy_conn_t **out, fedge_err_t *why)
{
    if (s->shut)
        return fedge_err(why, FEDGE_ECLOSED, "edge shutting down");
    net_tls_t *tls = d->side == PROXY_SIDE_EXTERNAL ? s->ext_tls : s->int_tls;
    uint16_t port = d->port ? d->port : tls ? 5061 : 5060;
    const char *addr = d->kind == PROXY_TO_CANDIDATE && d->addr && d->addr[0] ? d->addr : d->host;
    /* the one certificate check: over TLS, what d names */
    const proxy_expect_t *x =
        tls && d->expect && d->expect->mode != PROXY_EXPECT_NONE ? d->expect : NULL;
    proxy_conn_t *c = find_conn(s, d->side, addr, port, d->host);
    if (!c && d->kind == PROXY_TO_REUSE)
        return fedge_err(why, FEDGE_ENOENT, "no connection to %s", addr);
    if (!c && x && x->mode == PROXY_EXPECT_EXISTING)
        return fedge_err(why, FEDGE_ENOENT,
                         "no connection to this address (an IP address "
                         "names no domain to verify a new one by)");
    char w[PROXY_HOST_MAX * 3];
    if (c && x && net_conn_is_ready(c->nc)) {
        if (!proxy_expect_check(x, net_conn_peer(c->nc), w, sizeof(w)))
            return fedge_err(why, FEDGE_ETLS, "%s", w);
    } else if (c && x && !expect_eq(c->expect, x)) {
        c = NULL; /* still connecting for another purpose: open our own */
    }
    if (!c) {
        c = conn_new(s, d->side);
        if (x) {
            c->expect = fedge_malloc(sizeof(*c->expect));
            *c->expect = *x;
            c->holding = true;
        }
        net_connect_opts_t o = {.host = addr,
                                .port = port,
                                .tls = tls,
                                .sni = fedge_host_is_ip(d->host) ? NULL : d->host,
                                .tag = SIDE_TAG(d->side),
                                .user = c,
                                .cbs = edge__conn_cbs};
        fedge_err_t e;
        int rc = net_connect(s->net, &o, &c->nc, &e);
        if (rc < 0) {
            obs_logkv(OBS_LOG_WARNING, C, "cannot connect", "next_hop", d->host, "reason", e.msg,
                      NULL);
            free(c->expect);
            free(c);
            return fedge_err(why, rc, "%s", e.msg);
        }
    }
    *out = c;
    return 0;
}

/* proxy_io_t.send: one send, whatever the kind of destination. */
static int io_send(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                   proxy_conn_t **used, fedge_err_t *why)
{
    edge_t *s = ctx;
    proxy_conn_t *c = d->conn;
    if (d->kind == PROXY_TO_CONN) {
        if (!c || c->closing)
            return fedge_err(why, FEDGE_ECLOSED, "connection closed");
    } else if (d->side == PROXY_SIDE_INTERNAL && s->nudp && !d->stream) {
        /* [internal] transport = udp: a datagram to the address */
        if (s->shut)
            return fedge_err(why, FEDGE_ECLOSED, "edge shutting down");
        const char *addr =
            d->kind == PROXY_TO_CANDIDATE && d->addr && d->addr[0] ? d->addr : d->host;
        if (!addr || !fedge_host_is_ip(addr))
            return fedge_err(why, d->kind == PROXY_TO_REUSE ? FEDGE_ENOENT : FEDGE_EINVAL,
                             "%s is a name: UDP sends to IP addresses only", addr ? addr : "-");
        char ip[48];
        size_t al = strlen(addr);
        if (addr[0] == '[' && al >= 2)
            snprintf(ip, sizeof(ip), "%.*s", (int)(al - 2), addr + 1);
        else
            snprintf(ip, sizeof(ip), "%s", addr);
        c = udp_peer(s, ip, d->port ? d->port : 5060, NULL);
    } else {
        int rc = conn_for(ctx, d, &c, why);
        if (rc < 0)
            return rc;
    }
    int rc = conn_send(c, data, len);
    if (rc < 0)
        return fedge_err(why, rc, "%s", fedge_strerror(rc));
    if (used)
        *used = c;
    return 0;
}

static bool io_is_udp(void *ctx, const proxy_conn_t *c)
{
    (void)ctx;
    return c->udp;
}

void edge__proxy_io(edge_t *ed, proxy_io_t *io)
{
    *io = (proxy_io_t){.ctx = ed, .now_ms = io_now, .send = io_send, .is_udp = io_is_udp};
}
