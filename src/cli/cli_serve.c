/* cli_serve.c — `fedge serve -c FILE`: loads the configuration, builds the
 * TLS contexts, listens on the external (mutual TLS) and internal sides,
 * frames SIP on every connection and hands messages to the proxy; SIGHUP
 * reloads certificates, SIGTERM/SIGINT stop gracefully. */
#include "cli/cli.h"

#include "admin/admin.h"
#include "cli/cli_policy.h"
#include "config/config.h"
#include "net/net.h"
#include "obs/obs.h"
#include "proxy/proxy.h"
#include "sip/sip.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE_TAG(side) ((void *)(uintptr_t)(side))
#define STOP_GRACE_MS 5000 /* longest wait for open transactions at stop */

static const char serve_usage[] = "usage: fedge serve -c FILE\n";
static const char C[] = "serve";

typedef struct serve {
    uv_loop_t loop;
    config_t *cfg;
    net_t *net;
    net_tls_t *ext_tls, *int_tls;
    proxy_t *proxy;
    admin_t *admin;        /* the admin server (its own thread) */
    admin_stats_t *stats;  /* live figures it reports (thread-safe) */
    cli__fed_t *fed;       /* the federation policy (cli_policy.c) */
    uv_timer_t tick;
    uv_signal_t sighup, sigterm, sigint;
    bool stopping, shut;
    uint64_t stop_deadline;
    size_t max_msg;
    /* inbound connections by remote "ip:port", so that an internal client
     * connected to the edge can be reached in its dialogs (net indexes
     * only outbound targets and verified names) */
    struct proxy_conn **rtab;
    size_t rtab_n, rtab_count;
} serve_t;

/* The one server of this process (accepted connections find it here). */
static serve_t *current;

/* Per-connection state (the proxy's opaque proxy_conn_t). Kept small: the
 * receive buffer exists only while a message is incomplete. */
struct proxy_conn {
    serve_t *s;
    net_conn_t *nc;
    proxy_side_t side;
    bool closing;
    sip_framer_t fr;
    char *buf;
    size_t len, cap;
    const char **names;
    size_t nnames;
    char *want_name; /* outbound TLS: the name the server certificate must carry */
    proxy_expect_t *expect; /* outbound by proxy_io_t.send_out: what it must name */
    char *fail_reason;      /* why the edge closed it (for the proxy's Warning) */
    /* outbound TLS with a name to check: what the proxy wrote before the
     * certificate was judged, held back so that a server that is not the
     * one meant never sees it (RFC 5922 §7.3) */
    bool holding;
    char *held;
    size_t held_len;
    const char *partner; /* external peer's domain counted in stats, or NULL */
    struct proxy_conn *rnext; /* inbound index by remote address */
    uint64_t rhash;
    bool indexed;
};

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static void on_ready(net_conn_t *nc);
static void on_data(net_conn_t *nc, const char *buf, size_t len);
static void on_close(net_conn_t *nc, int code, const char *reason);
static const net_conn_cbs_t cbs = {on_ready, on_data, on_close};

static proxy_conn_t *conn_new(serve_t *s, proxy_side_t side)
{
    proxy_conn_t *c = fedge_calloc(1, sizeof(*c));
    c->s = s;
    c->side = side;
    sip_framer_init(&c->fr, s->max_msg);
    return c;
}

static uint64_t str_hash(const char *k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 0x100000001b3ull;
    }
    return h;
}

static void rtab_add(serve_t *s, proxy_conn_t *c)
{
    if (s->rtab_count + 1 > s->rtab_n) {
        size_t n = s->rtab_n ? s->rtab_n * 2 : 1024;
        proxy_conn_t **t = fedge_calloc(n, sizeof(*t));
        for (size_t i = 0; i < s->rtab_n; i++)
            for (proxy_conn_t *x = s->rtab[i], *nx; x; x = nx) {
                nx = x->rnext;
                x->rnext = t[x->rhash & (n - 1)];
                t[x->rhash & (n - 1)] = x;
            }
        free(s->rtab);
        s->rtab = t;
        s->rtab_n = n;
    }
    c->rhash = str_hash(net_conn_remote(c->nc));
    c->rnext = s->rtab[c->rhash & (s->rtab_n - 1)];
    s->rtab[c->rhash & (s->rtab_n - 1)] = c;
    c->indexed = true;
    s->rtab_count++;
}

static void rtab_del(serve_t *s, proxy_conn_t *c)
{
    if (!c->indexed)
        return;
    proxy_conn_t **pp = &s->rtab[c->rhash & (s->rtab_n - 1)];
    while (*pp && *pp != c)
        pp = &(*pp)->rnext;
    if (*pp)
        *pp = c->rnext;
    c->indexed = false;
    s->rtab_count--;
}

static proxy_conn_t *rtab_find(serve_t *s, proxy_side_t side, const char *key)
{
    if (!s->rtab_n)
        return NULL;
    uint64_t h = str_hash(key);
    for (proxy_conn_t *x = s->rtab[h & (s->rtab_n - 1)]; x; x = x->rnext)
        if (x->rhash == h && x->side == side && !x->closing && !strcmp(net_conn_remote(x->nc), key))
            return x;
    return NULL;
}

static void conn_close(proxy_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    net_conn_close(c->nc);
}

static void on_ready(net_conn_t *nc)
{
    serve_t *s = NULL;
    proxy_conn_t *c = net_conn_user(nc);
    if (!c) {
        /* accepted: the listener's tag names the side */
        s = current;
        c = conn_new(s, (proxy_side_t)(uintptr_t)net_conn_tag(nc));
        c->nc = nc;
        net_conn_set_user(nc, c);
        rtab_add(s, c);
    }
    s = c->s;
    const net_peer_t *peer = net_conn_peer(nc);
    if (peer && peer->verified) {
        size_t n = peer->n_dns + peer->n_sip + (peer->cn ? 1 : 0), k = 0;
        c->names = fedge_calloc(n ? n : 1, sizeof(*c->names));
        for (size_t i = 0; i < peer->n_dns; i++)
            c->names[k++] = peer->dns[i];
        for (size_t i = 0; i < peer->n_sip; i++)
            c->names[k++] = peer->sip[i];
        if (peer->cn)
            c->names[k++] = peer->cn;
        c->nnames = k;
    }
    if (c->want_name && (!peer || !net_peer_names(peer, c->want_name))) {
        /* RFC 5922 §7.3: the server must be the one we meant */
        obs_logkv(OBS_LOG_WARNING, C, "server certificate does not name the next hop", "peer",
                  net_conn_remote(nc), "want", c->want_name, "subject",
                  peer && peer->subject ? peer->subject : "-", NULL);
        if (s->stats) {
            char t[512];
            snprintf(t, sizeof(t), "%s: server certificate does not name %s",
                     net_conn_remote(nc), c->want_name);
            admin_stats_error(s->stats, t);
        }
        char t[PROXY_HOST_MAX + 64];
        snprintf(t, sizeof(t), "certificate does not name %s", c->want_name);
        c->fail_reason = fedge_strdup(t);
        conn_close(c);
        return;
    }
    char why[PROXY_HOST_MAX * 3];
    if (c->expect && !proxy_expect_check(c->expect, peer, why, sizeof(why))) {
        /* RFC 5922 §7.3 / the Lync rule (src/proxy/outbound.c) */
        obs_logkv(OBS_LOG_WARNING, C, "server certificate refused", "peer", net_conn_remote(nc),
                  "target", c->expect->host, "domain", c->expect->domain, "reason", why,
                  "subject", peer && peer->subject ? peer->subject : "-", NULL);
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
              proxy_side_name(c->side), "direction", net_conn_is_inbound(nc) ? "in" : "out",
              "identity", c->nnames ? c->names[0] : "-", NULL);
}

static void on_close(net_conn_t *nc, int code, const char *reason)
{
    proxy_conn_t *c = net_conn_user(nc);
    if (!c)
        return;
    obs_logkv(code && code != FEDGE_ECLOSED ? OBS_LOG_INFO : OBS_LOG_DEBUG, C, "connection closed",
              "peer", net_conn_remote(nc), "side", proxy_side_name(c->side), "reason",
              reason ? reason : "-", NULL);
    /* at shutdown the proxy is told nothing more: it would only try to
     * fail over or answer through a transport that is going away */
    if (c->s->proxy && !c->s->shut)
        proxy_on_conn_failed(c->s->proxy, c, code, c->fail_reason ? c->fail_reason : reason);
    if (c->partner && c->s->stats)
        admin_stats_connection(c->s->stats, (fedge_str_t){c->partner, strlen(c->partner)}, -1);
    net_conn_set_user(nc, NULL);
    rtab_del(c->s, c);
    free(c->buf);
    free(c->names);
    free(c->want_name);
    free(c->expect);
    free(c->fail_reason);
    free(c->held);
    free(c);
}

/* Writes on c, or holds the bytes while its server is not judged yet. */
static int conn_send(proxy_conn_t *c, const char *data, size_t len)
{
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
        if (k == SIP_FRAME_MESSAGE) {
            proxy_peer_t peer = {c->side, net_conn_remote(c->nc), c->names, c->nnames};
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

static void on_data(net_conn_t *nc, const char *data, size_t len)
{
    proxy_conn_t *c = net_conn_user(nc);
    if (!c || c->closing || c->s->shut)
        return;
    if (c->len == 0) {
        /* fast path: frame straight from net's buffer, keep only a tail */
        size_t used = consume(c, data, len);
        if (used == SIZE_MAX || used == len)
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
    serve_t *s = ctx;
    return uv_now(&s->loop);
}

static int io_send(void *ctx, proxy_conn_t *c, const char *data, size_t len)
{
    (void)ctx;
    if (!c || c->closing)
        return FEDGE_ECLOSED;
    return conn_send(c, data, len);
}

static bool is_ip_literal(const char *h)
{
    return strchr(h, ':') || strspn(h, "0123456789.") == strlen(h);
}

static void fmt_key(char *key, size_t cap, const char *host, uint16_t port)
{
    if (strchr(host, ':'))
        snprintf(key, cap, "[%s]:%u", host, port);
    else
        snprintf(key, cap, "%s:%u", host, port);
}

/* An open connection on side to host:port, or to a verified TLS peer whose
 * certificate names host (RFC 5923 reuse). */
static proxy_conn_t *find_conn(serve_t *s, proxy_side_t side, const char *host, uint16_t port)
{
    char key[PROXY_HOST_MAX + 16];
    fmt_key(key, sizeof(key), host, port);
    net_conn_t *nc = net_find_conn(s->net, SIDE_TAG(side), key);
    if (!nc && !is_ip_literal(host))
        nc = net_find_conn(s->net, SIDE_TAG(side), host);
    proxy_conn_t *c = nc ? net_conn_user(nc) : NULL;
    if (c && !c->closing)
        return c;
    return rtab_find(s, side, key);
}

static int io_send_to(void *ctx, proxy_side_t side, const proxy_hostport_t *d, const char *data,
                      size_t len, proxy_conn_t **used)
{
    serve_t *s = ctx;
    if (s->shut)
        return FEDGE_ECLOSED;
    net_tls_t *tls = side == PROXY_SIDE_EXTERNAL ? s->ext_tls : s->int_tls;
    uint16_t port = d->port ? d->port : tls ? 5061 : 5060;
    proxy_conn_t *c = find_conn(s, side, d->host, port);
    if (!c) {
        c = conn_new(s, side);
        if (tls && !is_ip_literal(d->host)) {
            c->want_name = fedge_strdup(d->host);
            c->holding = true;
        }
        net_connect_opts_t o = {.host = d->host,
                                .port = port,
                                .tls = tls,
                                .sni = NULL,
                                .tag = SIDE_TAG(side),
                                .user = c,
                                .cbs = cbs};
        fedge_err_t e;
        int rc = net_connect(s->net, &o, &c->nc, &e);
        if (rc < 0) {
            obs_logkv(OBS_LOG_WARNING, C, "cannot connect", "next_hop", d->host, "reason", e.msg,
                      NULL);
            free(c->want_name);
            free(c);
            return rc;
        }
    }
    int rc = conn_send(c, data, len);
    if (rc < 0)
        return rc;
    *used = c;
    return 0;
}

static bool expect_eq(const proxy_expect_t *a, const proxy_expect_t *b)
{
    return a->mode == b->mode && !strcmp(a->domain, b->domain) && !strcmp(a->host, b->host);
}

/* proxy_io_t.send_out: to one DNS target (address, port, name for SNI),
 * over a connection to that address or a verified peer naming the target
 * whose certificate passes d->expect, else a new one judged when ready. */
static int io_send_out(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                       proxy_conn_t **used, fedge_err_t *why)
{
    serve_t *s = ctx;
    if (s->shut)
        return fedge_err(why, FEDGE_ECLOSED, "edge shutting down");
    net_tls_t *tls = d->side == PROXY_SIDE_EXTERNAL ? s->ext_tls : s->int_tls;
    const char *addr = d->addr && d->addr[0] ? d->addr : d->host;
    if (d->expect->mode == PROXY_EXPECT_EXISTING) {
        /* an address, no name: only a connection that exists and verified */
        proxy_conn_t *e = find_conn(s, d->side, addr, d->port);
        char w[PROXY_HOST_MAX * 3];
        if (!e)
            return fedge_err(why, FEDGE_ENOENT, "no connection to this address (an IP address "
                                                "names no domain to verify a new one by)");
        if (tls && !proxy_expect_check(d->expect, net_conn_peer(e->nc), w, sizeof(w)))
            return fedge_err(why, FEDGE_ETLS, "%s", w);
        int rc = conn_send(e, data, len);
        if (rc < 0)
            return fedge_err(why, rc, "%s", fedge_strerror(rc));
        *used = e;
        return 0;
    }
    char key[PROXY_HOST_MAX + 16];
    fmt_key(key, sizeof(key), addr, d->port);
    net_conn_t *nc = net_find_conn(s->net, SIDE_TAG(d->side), key);
    if (!nc && tls && !is_ip_literal(d->host))
        nc = net_find_conn(s->net, SIDE_TAG(d->side), d->host);
    proxy_conn_t *c = nc ? net_conn_user(nc) : NULL;
    if (c && c->closing)
        c = NULL;
    if (c && net_conn_is_ready(c->nc) && tls) {
        char w[PROXY_HOST_MAX * 3];
        if (!proxy_expect_check(d->expect, net_conn_peer(c->nc), w, sizeof(w)))
            return fedge_err(why, FEDGE_ETLS, "%s", w);
    } else if (c && !net_conn_is_ready(c->nc) && (!c->expect || !expect_eq(c->expect, d->expect))) {
        c = NULL; /* still connecting for another purpose: open our own */
    }
    if (!c) {
        c = conn_new(s, d->side);
        if (tls) {
            c->expect = fedge_malloc(sizeof(*c->expect));
            *c->expect = *d->expect;
            c->holding = true;
        }
        net_connect_opts_t o = {.host = addr,
                                .port = d->port,
                                .tls = tls,
                                .sni = is_ip_literal(d->host) ? NULL : d->host,
                                .tag = SIDE_TAG(d->side),
                                .user = c,
                                .cbs = cbs};
        int rc = net_connect(s->net, &o, &c->nc, why);
        if (rc < 0) {
            free(c->expect);
            free(c);
            return rc;
        }
    }
    int rc = conn_send(c, data, len);
    if (rc < 0)
        return fedge_err(why, rc, "%s", fedge_strerror(rc));
    *used = c;
    return 0;
}

static int io_send_reuse(void *ctx, proxy_side_t side, const char *host, uint16_t port,
                         const char *data, size_t len, proxy_conn_t **used)
{
    serve_t *s = ctx;
    proxy_conn_t *c = s->shut ? NULL : find_conn(s, side, host, port);
    if (!c)
        return FEDGE_ENOENT;
    int rc = conn_send(c, data, len);
    if (rc == 0 && used)
        *used = c;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Loop: timers and signals                                            */
/* ------------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void shutdown_now(serve_t *s)
{
    if (s->shut)
        return;
    char n[24];
    snprintf(n, sizeof(n), "%zu", proxy_pending_count(s->proxy));
    proxy_abort_pending(s->proxy, "edge shutting down");
    s->shut = true;
    proxy_set_dns(s->proxy, NULL); /* before its resolver goes with fed */
    cli__fed_free(s->fed); /* after the abort: parked requests are answered */
    s->fed = NULL;
    obs_logkv(OBS_LOG_NOTICE, C, "stopped", "abandoned_transactions", n, NULL);
    net_destroy(s->net);
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    uv_close((uv_handle_t *)&s->sighup, on_handle_closed);
    uv_close((uv_handle_t *)&s->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&s->sigint, on_handle_closed);
}

static void on_tick(uv_timer_t *t)
{
    serve_t *s = t->data;
    proxy_tick(s->proxy);
    if (s->stopping &&
        (proxy_pending_count(s->proxy) == 0 || uv_now(&s->loop) >= s->stop_deadline))
        shutdown_now(s);
}

static void on_signal(uv_signal_t *h, int signum)
{
    serve_t *s = h->data;
    if (signum == SIGHUP) {
        fedge_err_t e;
        int ok = 1;
        if (net_tls_reload(s->ext_tls, &e) < 0) {
            ok = 0;
            obs_logkv(OBS_LOG_ERROR, C, "certificate reload failed: keeping the old ones", "side",
                      "external", "reason", e.msg, NULL);
        }
        if (s->int_tls && net_tls_reload(s->int_tls, &e) < 0) {
            ok = 0;
            obs_logkv(OBS_LOG_ERROR, C, "certificate reload failed: keeping the old ones", "side",
                      "internal", "reason", e.msg, NULL);
        }
        if (ok)
            obs_logkv(OBS_LOG_NOTICE, C, "certificates reloaded", NULL);
        return;
    }
    if (s->stopping) {
        shutdown_now(s); /* a second signal: stop at once */
        return;
    }
    s->stopping = true;
    s->stop_deadline = uv_now(&s->loop) + STOP_GRACE_MS;
    net_stop_accepting(s->net);
    obs_logkv(OBS_LOG_NOTICE, C, "stopping: no new connections, finishing transactions",
              "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
}

static void on_net_log(void *user, int level, net_conn_t *c, const char *msg)
{
    serve_t *s = user;
    (void)c;
    if (level >= NET_LOG_WARN && s && s->stats)
        admin_stats_error(s->stats, msg);
    obs_level_t l = level == NET_LOG_DEBUG  ? OBS_LOG_DEBUG
                    : level == NET_LOG_INFO ? OBS_LOG_INFO
                    : level == NET_LOG_WARN ? OBS_LOG_WARNING
                                            : OBS_LOG_ERROR;
    obs_log(l, "net", "%s", msg);
}

const net_peer_t *cli__conn_peer(proxy_conn_t *c)
{
    return c && c->nc && !c->closing ? net_conn_peer(c->nc) : NULL;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static bool is_wildcard(const char *h)
{
    return !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

static void copy_host(char *dst, const char *src)
{
    snprintf(dst, PROXY_HOST_MAX, "%s", src);
}

static int listen_side(serve_t *s, const config_hostport_list_t *l, net_tls_t *tls,
                       proxy_side_t side, uint16_t *first_port, fedge_err_t *e)
{
    for (size_t i = 0; i < l->count; i++) {
        char hp[PROXY_HOST_MAX + 16];
        fmt_key(hp, sizeof(hp), l->items[i].host, l->items[i].port);
        net_listen_opts_t o = {.host_port = hp, .tls = tls, .tag = SIDE_TAG(side), .cbs = cbs};
        net_listener_t *ls;
        int rc = net_listen(s->net, &o, &ls, e);
        if (rc < 0)
            return rc;
        uint16_t port = net_listener_port(ls);
        if (i == 0)
            *first_port = port;
        char ps[8];
        snprintf(ps, sizeof(ps), "%u", port);
        obs_logkv(OBS_LOG_NOTICE, C, "listening", "side", proxy_side_name(side), "address",
                  l->items[i].host, "port", ps, "transport", tls ? "tls" : "tcp", NULL);
    }
    return 0;
}

static void proxy_cfg_from(const config_t *cf, uint16_t ext_port, uint16_t int_port,
                           proxy_cfg_t *pc)
{
    proxy_cfg_init(pc);
    copy_host(pc->fqdn, cf->edge.fqdn);
    for (size_t i = 0; i < cf->edge.sip_domain_count && i < PROXY_MAX_DOMAINS; i++)
        copy_host(pc->domains[pc->ndomains++], cf->edge.sip_domains[i]);

    pc->ext.transport = PROXY_TP_TLS;
    copy_host(pc->ext.host, cf->edge.fqdn);
    pc->ext.port = ext_port;
    for (size_t i = 0; i < cf->external.listen.count && pc->ext.nnames < PROXY_MAX_NAMES; i++)
        if (!is_wildcard(cf->external.listen.items[i].host))
            copy_host(pc->ext.names[pc->ext.nnames++], cf->external.listen.items[i].host);

    pc->in.transport =
        cf->internal.transport == CONFIG_TRANSPORT_TCP ? PROXY_TP_TCP : PROXY_TP_TLS;
    /* what internal servers use to reach us: the first specific listen
     * address, else the FQDN */
    copy_host(pc->in.host, cf->edge.fqdn);
    for (size_t i = 0; i < cf->internal.listen.count; i++)
        if (!is_wildcard(cf->internal.listen.items[i].host)) {
            copy_host(pc->in.host, cf->internal.listen.items[i].host);
            break;
        }
    pc->in.port = int_port;
    for (size_t i = 0; i < cf->internal.listen.count && pc->in.nnames < PROXY_MAX_NAMES; i++)
        if (!is_wildcard(cf->internal.listen.items[i].host))
            copy_host(pc->in.names[pc->in.nnames++], cf->internal.listen.items[i].host);

    for (size_t i = 0; i < cf->internal.next_hop.count && i < PROXY_MAX_HOPS; i++) {
        copy_host(pc->next_hops[i].host, cf->internal.next_hop.items[i].host);
        pc->next_hops[i].port = cf->internal.next_hop.items[i].port;
        /* a name without a port: SRV, then A/AAAA (src/proxy/outbound.c) */
        if (!pc->next_hops[i].port && cf->internal.next_hop.items[i].kind != CONFIG_HOST_NAME)
            pc->next_hops[i].port = pc->in.transport == PROXY_TP_TLS ? 5061 : 5060;
        pc->nnext_hops++;
    }
    if (cf->federation.default_route.host) {
        copy_host(pc->default_route.host, cf->federation.default_route.host);
        pc->default_route.port = cf->federation.default_route.port;
    }
    pc->max_message_size = cf->limits.max_message_size;
    pc->dns_srv = cf->federation.routing == CONFIG_ROUTING_DNS_SRV;
    pc->failed_target_skip_ms = cf->federation.failed_target_skip_ms;
}

int cli_serve(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(serve_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "fedge serve: unexpected argument '%s'\n%s", argv[i], serve_usage);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "fedge serve: -c FILE is required\n%s", serve_usage);
        return 2;
    }
    serve_t *s = fedge_calloc(1, sizeof(*s));
    fedge_err_t e;
    int code = 1, rc;
    if (config_load(file, &s->cfg, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        free(s);
        return 2;
    }
    const config_t *cf = s->cfg;
    obs_log_init(cf->log.level, cf->log.format, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->max_msg = cf->limits.max_message_size;

    net_tls_opts_t eo = {cf->external.certificate, cf->external.private_key, cf->external.ca_file,
                         cf->external.ca_path, cf->external.require_client_certificate,
                         config_tls_version_name(cf->external.tls_min_version)};
    if (net_tls_new(&eo, &s->ext_tls, &e) < 0) {
        fprintf(stderr, "%s: [external] %s\n", file, e.msg);
        code = 2;
        goto out_cfg;
    }
    if (cf->internal.transport == CONFIG_TRANSPORT_TLS) {
        net_tls_opts_t io = {cf->internal.certificate, cf->internal.private_key,
                             cf->internal.ca_file, NULL, false, NULL};
        if (net_tls_new(&io, &s->int_tls, &e) < 0) {
            fprintf(stderr, "%s: [internal] %s\n", file, e.msg);
            code = 2;
            goto out_cfg;
        }
    }
    uv_loop_init(&s->loop);
    net_opts_t no = {.max_connections = cf->limits.max_connections,
                     .max_connections_per_ip = cf->limits.max_connections_per_ip,
                     .handshake_timeout_ms = cf->limits.handshake_timeout_ms,
                     .idle_timeout_ms = cf->limits.idle_timeout_ms,
                     .max_queued_bytes = cf->limits.max_queued_bytes,
                     .log = on_net_log,
                     .log_user = s};
    if (net_new(&s->loop, &no, &s->net, &e) < 0) {
        fprintf(stderr, "fedge serve: %s\n", e.msg);
        goto out_loop;
    }
    current = s;
    uint16_t ext_port = 0, int_port = 0;
    if ((rc = listen_side(s, &cf->external.listen, s->ext_tls, PROXY_SIDE_EXTERNAL, &ext_port,
                          &e)) < 0 ||
        (rc = listen_side(s, &cf->internal.listen, s->int_tls, PROXY_SIDE_INTERNAL, &int_port,
                          &e)) < 0) {
        fprintf(stderr, "fedge serve: %s\n", e.msg);
        net_destroy(s->net);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }
    proxy_cfg_t *pc = fedge_malloc(sizeof(*pc));
    proxy_cfg_from(cf, ext_port, int_port, pc);
    proxy_io_t pio = {.ctx = s,
                      .now_ms = io_now,
                      .send = io_send,
                      .send_to = io_send_to,
                      .send_reuse = io_send_reuse,
                      .send_out = io_send_out};
    rc = proxy_new(pc, &pio, &s->proxy, &e);
    free(pc);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", file, e.msg);
        code = 2;
        net_destroy(s->net);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }
    /* the admin server, in its own thread, reporting live figures */
    s->stats = admin_stats_new();
    admin_opts_t ao = {.store_path = cf->edge.store,
                       .listen = &cf->admin.listen,
                       .certificate = cf->admin.certificate,
                       .private_key = cf->admin.private_key,
                       .edge_fqdn = cf->edge.fqdn,
                       .status_cb = admin_stats_report,
                       .status_ctx = s->stats};
    if (admin_start(&ao, &s->admin, &e) < 0) {
        fprintf(stderr, "fedge serve: admin server: %s\n", e.msg);
        net_destroy(s->net);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }
    obs_logkv(OBS_LOG_NOTICE, C, "admin panel", "url", admin_url(s->admin), NULL);
    /* the federation policy on every new request, from the live store */
    if (cli__fed_new(&s->loop, cf, s->stats, &s->fed, &e) < 0) {
        fprintf(stderr, "%s: [dns] %s\n", file, e.msg);
        code = 2;
        net_destroy(s->net);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }
    cli__fed_attach(s->fed, s->proxy);
    /* dns-srv routing and next hops by name share the policy's resolver */
    proxy_set_dns(s->proxy, cli__fed_dns(s->fed));
    store_t *st;
    if (store_open(cf->edge.store, &st, &e) == 0) {
        size_t n;
        if (store_account_count(st, &n, &e) == 0 && n == 0) {
            char hint[PROXY_HOST_MAX + 64];
            snprintf(hint, sizeof(hint), "fedge admin add NAME -c %s", file);
            obs_logkv(OBS_LOG_NOTICE, C, "no administrator yet: create the first one with", "command",
                      hint, NULL);
        }
        store_close(st);
    }
    uv_timer_init(&s->loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, on_tick, PROXY_TICK_MS, PROXY_TICK_MS);
    uv_signal_t *sigs[3] = {&s->sighup, &s->sigterm, &s->sigint};
    int nums[3] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&s->loop, sigs[i]);
        sigs[i]->data = s;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    obs_logkv(OBS_LOG_NOTICE, C, "fedge serve started", "fqdn", cf->edge.fqdn, "config", file,
              NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    code = 0;

out_loop:
    admin_stop(s->admin); /* first: it may be reporting */
    s->admin = NULL;
    admin_stats_free(s->stats);
    s->stats = NULL;
    proxy_free(s->proxy);
    s->proxy = NULL;
    uv_loop_close(&s->loop);
out_cfg:
    if (s->ext_tls)
        net_tls_free(s->ext_tls);
    if (s->int_tls)
        net_tls_free(s->int_tls);
    config_free(s->cfg);
    free(s->rtab);
    current = NULL;
    free(s);
    return code;
}
