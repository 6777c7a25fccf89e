/* s2s.c — XMPP server-to-server streams (RFC 6120) on net/ and dns/:
 * inbound and outbound stream negotiation with STARTTLS, SASL EXTERNAL with
 * certificates (RFC 6120 §6, RFC 7590) and Server Dialback (XEP-0220, keys
 * per XEP-0185, the certificate shortcut of XEP-0344 §2.4), per-stream
 * limits (parser bounds, stanza rate, negotiation deadline) and a bounded
 * queue of stanzas per outbound stream. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmpp/xmpp.h"

enum {
    ST_HEADER,   /* waiting for the peer's stream header */
    ST_FEATURES, /* outbound: waiting for stream features */
    ST_TLS,      /* STARTTLS handshake running */
    ST_AUTH,     /* outbound: SASL or dialback answer awaited */
    ST_OPEN,     /* inbound: header answered, negotiation by the peer */
    ST_READY,    /* authenticated */
    ST_DEAD,
};

struct item {
    struct item *next;
    char *xml;
    size_t len;
    xmpp_sent_cb cb;
    void *user;
};

typedef struct sess sess_t;
struct sess {
    xmpp_s2s_t *s;
    sess_t *next, *prev;
    net_conn_t *c;
    xmpp_parser_t *p;
    int state;
    bool outbound, tls, authed, restart, sent_close, sent_header;
    bool verify_only;    /* outbound stream for one <db:verify> */
    sess_t *verify_for;  /* that verify's inbound stream (may go away) */
    char verify_id[48];  /* id of the inbound stream being verified */
    char verify_key[80]; /* the key the peer gave */
    sess_t *verifier;    /* inbound: the verify stream working for it */
    char local[256], remote[256];
    char id[48]; /* stream id: ours (inbound) or theirs (outbound) */
    xmpp_peer_policy_t pol;
    struct item *q, **q_tail;
    size_t q_len;
    dns_req_t *dns;
    char targets[8][300]; /* outbound: "ip" per address to try, in order */
    uint16_t ports[8];
    size_t n_targets, next_target;
    char fail_cond[40], fail_reason[200];
    const char *method; /* how the stream was authenticated, for the log */
    uint64_t deadline_ms;
    double tokens;
    uint64_t tokens_ms;
};

struct xmpp_s2s {
    xmpp_s2s_opts_t o;
    char **domains;
    unsigned char secret_hash[32];
    /* Listeners (o.listen, then xmpp_s2s_listen): every one feeds this
     * service (accepted connections find it by tag), NULL once closed. */
    net_listener_t *listeners[XMPP_S2S_MAX_LISTENERS];
    size_t n_listeners;
    uint16_t port;                  /* the first listener's */
    uv_timer_t timer;               /* deadlines, every 500 ms */
    uv_timer_t kick;                /* 0 ms: callbacks and frees deferred out of calls */
    struct item *done, **done_tail; /* send callbacks to run */
    sess_t *sessions;
    size_t n_sessions;
    int handles; /* timers not yet closed */
    bool freeing, closing_timers;
    xmpp_s2s_stats_t st;
    int tag; /* net tag of our connections */
};

static void slog(xmpp_s2s_t *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void slog(xmpp_s2s_t *s, int level, const char *fmt, ...)
{
    if (!s->o.cbs.log)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s->o.cbs.log(s->o.user, level, buf);
}

static uint64_t now_ms(xmpp_s2s_t *s)
{
    return uv_now(s->o.loop);
}

static bool is_local(xmpp_s2s_t *s, const char *d)
{
    for (size_t i = 0; d && i < s->o.n_domains; i++)
        if (!strcasecmp(s->domains[i], d))
            return true;
    return false;
}

static void lower_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++)
        dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
    dst[i] = '\0';
}

/* The domain part of a JID (RFC 7622 §3.2): after '@' if any, before
 * '/'. Lower-cased into dst. */
static void jid_domain(const char *jid, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (!jid)
        return;
    const char *slash = strchr(jid, '/');
    size_t len = slash ? (size_t)(slash - jid) : strlen(jid);
    const char *at = memchr(jid, '@', len);
    const char *d = at ? at + 1 : jid;
    len -= (size_t)(d - jid);
    if (len >= cap)
        return;
    char tmp[256];
    memcpy(tmp, d, len);
    tmp[len] = '\0';
    lower_copy(dst, cap, tmp);
}

/* XEP-0185: key = HEX(HMAC-SHA256(SHA256(secret), receiving ' ' originating
 * ' ' stream id)). */
static void dialback_key(xmpp_s2s_t *s, const char *receiving, const char *originating,
                         const char *id, char out[65])
{
    char msg[600];
    int n = snprintf(msg, sizeof msg, "%s %s %s", receiving, originating, id);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), s->secret_hash, 32, (const unsigned char *)msg, (size_t)n, mac, &maclen);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void random_id(char *out, size_t cap)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        fprintf(stderr, "fedge: RAND_bytes failed\n");
        abort();
    }
    for (unsigned i = 0; i < sizeof b && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

static void on_stream_open(void *u, const xmpp_node_t *root, const char *content_ns);
static void on_stanza(void *u, const xmpp_node_t *st);
static void on_stream_close(void *u);
static const xmpp_parser_cbs_t parser_cbs = {on_stream_open, on_stanza, on_stream_close};

static sess_t *sess_new(xmpp_s2s_t *s, bool outbound)
{
    sess_t *x = fedge_calloc(1, sizeof *x);
    x->s = s;
    x->outbound = outbound;
    x->q_tail = &x->q;
    xmpp_parser_new(&s->o.limits, &parser_cbs, x, &x->p);
    x->deadline_ms = now_ms(s) + s->o.open_timeout_ms;
    x->tokens = 2.0 * s->o.rate;
    x->tokens_ms = now_ms(s);
    x->next = s->sessions;
    if (s->sessions)
        s->sessions->prev = x;
    s->sessions = x;
    s->n_sessions++;
    if (outbound)
        s->st.streams_out++;
    else
        s->st.streams_in++;
    return x;
}

static void defer_cb(xmpp_s2s_t *s, xmpp_sent_cb cb, void *user, int code, const char *cond,
                     const char *reason);

static void fail_queue(sess_t *x, int code, const char *cond, const char *reason)
{
    struct item *it = x->q;
    x->q = NULL;
    x->q_tail = &x->q;
    x->q_len = 0;
    while (it) {
        struct item *nx = it->next;
        defer_cb(x->s, it->cb, it->user, code, cond, reason);
        free(it->xml);
        free(it);
        it = nx;
    }
}

static void timer_close_cb(uv_handle_t *h)
{
    xmpp_s2s_t *s = h->data;
    if (--s->handles > 0)
        return;
    for (size_t i = 0; i < s->o.n_domains; i++)
        free(s->domains[i]);
    free(s->domains);
    free(s);
}

static void run_done(xmpp_s2s_t *s);

static void maybe_free_service(xmpp_s2s_t *s)
{
    if (!s->freeing || s->sessions || s->closing_timers)
        return;
    run_done(s);
    s->closing_timers = true;
    uv_close((uv_handle_t *)&s->timer, timer_close_cb);
    uv_close((uv_handle_t *)&s->kick, timer_close_cb);
}

static void kick_cb(uv_timer_t *t);

static void kick(xmpp_s2s_t *s)
{
    if (!s->closing_timers)
        uv_timer_start(&s->kick, kick_cb, 0, 0);
}

/* Runs cb later, from the loop (send callbacks are never called inside
 * xmpp_s2s_send). */
static void defer_cb(xmpp_s2s_t *s, xmpp_sent_cb cb, void *user, int code, const char *cond,
                     const char *reason)
{
    if (!cb)
        return;
    struct item *it = fedge_calloc(1, sizeof *it);
    it->cb = cb;
    it->user = user;
    it->len = (size_t)-code;
    it->xml = fedge_malloc(strlen(cond) + strlen(reason) + 2);
    strcpy(it->xml, cond);
    strcpy(it->xml + strlen(cond) + 1, reason);
    *s->done_tail = it;
    s->done_tail = &it->next;
    kick(s);
}

static void run_done(xmpp_s2s_t *s)
{
    struct item *it = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    while (it) {
        struct item *nx = it->next;
        it->cb(it->user, -(int)it->len, it->xml, it->xml + strlen(it->xml) + 1);
        free(it->xml);
        free(it);
        it = nx;
    }
}

/* Unlinks and frees x: only once its connection is gone (on_close) or it
 * never had one. */
static void sess_free(sess_t *x)
{
    xmpp_s2s_t *s = x->s;
    fail_queue(x, FEDGE_ECLOSED, x->fail_cond[0] ? x->fail_cond : "remote-server-not-found",
               x->fail_reason[0] ? x->fail_reason : "stream closed");
    if (x->dns)
        dns_cancel(x->dns);
    if (x->verify_for)
        x->verify_for->verifier = NULL;
    if (x->verifier)
        x->verifier->verify_for = NULL;
    if (x->prev)
        x->prev->next = x->next;
    else
        s->sessions = x->next;
    if (x->next)
        x->next->prev = x->prev;
    s->n_sessions--;
    if (x->outbound) {
        s->st.streams_out--;
        if (x->authed)
            s->st.authed_out--;
    } else {
        s->st.streams_in--;
        if (x->authed)
            s->st.authed_in--;
    }
    xmpp_parser_free(x->p);
    free(x);
    maybe_free_service(s);
}

static void send_raw(sess_t *x, const char *buf, size_t len)
{
    if (x->c && x->state != ST_DEAD)
        (void)net_conn_write(x->c, buf, len);
}

static void send_header(sess_t *x);

static void send_buf(sess_t *x, xmpp_buf_t *b)
{
    send_raw(x, b->s, b->len);
    xmpp_buf_free(b);
}

/* Ends x: a stream error (cond may be NULL for a clean close), then
 * </stream:stream> and the connection's close. Queued stanzas fail with
 * fail_cond. */
static void sess_end(sess_t *x, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sess_end(sess_t *x, const char *cond, const char *fmt, ...)
{
    if (x->state == ST_DEAD)
        return;
    char why[200] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
    }
    if (!x->fail_reason[0]) {
        snprintf(x->fail_reason, sizeof x->fail_reason, "%s", why[0] ? why : "stream closed");
        snprintf(x->fail_cond, sizeof x->fail_cond, "%s",
                 cond && strcmp(cond, "undefined-condition") ? cond : "remote-server-not-found");
    }
    slog(x->s, cond ? XMPP_LOG_INFO : XMPP_LOG_DEBUG, "xmpp %s stream %s %s %s: %s%s%s",
         x->outbound ? "outbound" : "inbound", x->local, x->outbound ? "->" : "<-",
         x->remote[0] ? x->remote : "?", cond ? cond : "closed", why[0] ? ": " : "", why);
    if (x->c) {
        xmpp_buf_t b = {0};
        /* RFC 6120 §4.9.1.1: an error before our header follows one. */
        if (!x->outbound && !x->sent_header && net_conn_is_ready(x->c)) {
            if (!x->local[0])
                snprintf(x->local, sizeof x->local, "%s", x->s->domains[0]);
            send_header(x);
        }
        if (cond) {
            xmpp_buf_printf(&b,
                            "<stream:error><%s xmlns='" XMPP_NS_STREAM_ERR "'/>"
                            "<text xmlns='" XMPP_NS_STREAM_ERR "'>",
                            cond);
            xmpp_buf_esc(&b, why, strlen(why));
            xmpp_buf_printf(&b, "</text></stream:error>");
        }
        if (!x->sent_close)
            xmpp_buf_printf(&b, "</stream:stream>");
        x->sent_close = true;
        if (b.len)
            send_buf(x, &b);
        xmpp_buf_free(&b);
        x->state = ST_DEAD;
        net_conn_close(x->c);
        return; /* freed from on_close */
    }
    /* No connection (still resolving, or none could be made): freed from
     * the loop, never under a caller that still holds x. */
    x->state = ST_DEAD;
    kick(x->s);
}

static void send_header(sess_t *x)
{
    x->sent_header = true;
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<?xml version='1.0'?><stream:stream xmlns='" XMPP_NS_SERVER
                        "' xmlns:stream='" XMPP_NS_STREAMS "' xmlns:db='" XMPP_NS_DIALBACK
                        "' version='1.0' from='");
    xmpp_buf_esc(&b, x->local, strlen(x->local));
    if (x->remote[0]) {
        xmpp_buf_printf(&b, "' to='");
        xmpp_buf_esc(&b, x->remote, strlen(x->remote));
    }
    if (!x->outbound)
        xmpp_buf_printf(&b, "' id='%s", x->id);
    xmpp_buf_printf(&b, "'>");
    send_buf(x, &b);
}

/* ------------------------------------------------------------------ */
/* Outbound: flushing the queue                                        */
/* ------------------------------------------------------------------ */

static void flush_queue(sess_t *x)
{
    struct item *it = x->q;
    x->q = NULL;
    x->q_tail = &x->q;
    x->q_len = 0;
    while (it) {
        struct item *nx = it->next;
        send_raw(x, it->xml, it->len);
        x->s->st.stanzas_out++;
        defer_cb(x->s, it->cb, it->user, 0, "", "written");
        free(it->xml);
        free(it);
        it = nx;
    }
}

static void became_ready(sess_t *x)
{
    x->state = ST_READY;
    x->authed = true;
    if (x->outbound)
        x->s->st.authed_out++;
    else
        x->s->st.authed_in++;
    slog(x->s, XMPP_LOG_INFO, "xmpp %s stream %s %s %s authenticated by %s (%s)",
         x->outbound ? "outbound" : "inbound", x->local, x->outbound ? "->" : "<-", x->remote,
         x->method ? x->method : "?", x->tls ? "TLS" : "no TLS");
    if (x->outbound)
        flush_queue(x);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static void conn_ready(net_conn_t *c);
static void conn_data(net_conn_t *c, const char *buf, size_t len);
static void conn_close(net_conn_t *c, int code, const char *reason);
static const net_conn_cbs_t conn_cbs = {conn_ready, conn_data, conn_close};

static void connect_next(sess_t *x)
{
    xmpp_s2s_t *s = x->s;
    while (x->next_target < x->n_targets) {
        size_t i = x->next_target++;
        net_connect_opts_t co = {
            .host = x->targets[i], .port = x->ports[i], .tag = &s->tag, .user = x, .cbs = conn_cbs};
        fedge_err_t e;
        if (net_connect(s->o.net, &co, &x->c, &e) == 0)
            return;
        slog(s, XMPP_LOG_INFO, "xmpp %s: %s", x->remote, e.msg);
    }
    sess_end(x, "remote-server-not-found", "%s: no address could be reached", x->remote);
}

static void on_route(void *user, const dns_route_result_t *r)
{
    sess_t *x = user;
    x->dns = NULL;
    for (size_t i = 0; i < r->n && x->n_targets < 8; i++) {
        const dns_target_t *t = &r->targets[i];
        for (size_t k = 0; k < t->n && x->n_targets < 8; k++) {
            char ip[INET6_ADDRSTRLEN];
            const dns_addr_t *a = &t->addrs[k];
            uv_inet_ntop(a->family, &a->u, ip, sizeof ip);
            snprintf(x->targets[x->n_targets], sizeof x->targets[0], "%s", ip);
            x->ports[x->n_targets++] = t->port;
        }
    }
    if (!x->n_targets) {
        sess_end(x, "remote-server-not-found", "%s: %s%s%s", r->name, dns_status_str(r->status),
                 r->detail[0] ? ": " : "", r->detail);
        return;
    }
    connect_next(x);
}

/* Starts an outbound stream local -> remote (verify_only: for a db:verify). */
static sess_t *open_outbound(xmpp_s2s_t *s, const char *local, const char *remote,
                             const xmpp_peer_policy_t *pol)
{
    sess_t *x = sess_new(s, true);
    snprintf(x->local, sizeof x->local, "%s", local);
    snprintf(x->remote, sizeof x->remote, "%s", remote);
    x->pol = *pol;
    if (pol->host[0]) {
        snprintf(x->targets[0], sizeof x->targets[0], "%s", pol->host);
        x->ports[0] = pol->port ? pol->port : 5269;
        x->n_targets = 1;
        connect_next(x);
        return x;
    }
    int rc = dns_resolve_route(s->o.dns, DNS_XMPP_SERVER_PREFIX, remote, 5269, DNS_AF_ANY, on_route,
                               x, &x->dns);
    if (rc < 0) {
        x->dns = NULL;
        sess_end(x, "remote-server-not-found", "%s: cannot resolve (%s)", remote,
                 fedge_strerror(rc));
        return NULL;
    }
    return x;
}

static void conn_ready(net_conn_t *c)
{
    sess_t *x = net_conn_user(c);
    if (!x) { /* a new inbound connection */
        xmpp_s2s_t *s =
            net_conn_tag(c) ? FEDGE_CONTAINER_OF(net_conn_tag(c), xmpp_s2s_t, tag) : NULL;
        if (!s || s->freeing) {
            net_conn_close(c);
            return;
        }
        x = sess_new(s, false);
        x->c = c;
        net_conn_set_user(c, x);
        random_id(x->id, sizeof x->id);
        x->state = ST_HEADER;
        return;
    }
    x->c = c;
    if (x->state == ST_TLS) {
        /* The second on_ready: STARTTLS is done (net_conn_starttls). */
        x->tls = true;
        x->sent_header = false;
        xmpp_parser_reset(x->p);
        x->state = ST_HEADER;
        if (x->outbound) {
            const net_peer_t *p = net_conn_peer(c);
            if (!p || !p->verified ||
                !(net_peer_names(p, x->remote) ||
                  (x->pol.host[0] && net_peer_names(p, x->pol.host)))) {
                sess_end(x, "remote-connection-failed", "%s: the certificate does not name %s",
                         net_conn_remote(c), x->remote);
                return;
            }
            send_header(x);
        }
        return;
    }
    if (x->outbound) {
        x->state = ST_HEADER;
        send_header(x);
    }
}

static void conn_data(net_conn_t *c, const char *buf, size_t len)
{
    sess_t *x = net_conn_user(c);
    if (!x || x->state == ST_DEAD)
        return;
    while (len) {
        size_t used = 0;
        int rc = xmpp_parser_feed(x->p, buf, len, &used);
        if (rc < 0) {
            sess_end(x, xmpp_parser_condition(x->p), "%s", xmpp_parser_reason(x->p));
            return;
        }
        if (x->state == ST_DEAD)
            return;
        if (rc == 0)
            return;
        /* Paused: STARTTLS or a SASL restart. */
        buf += used;
        len -= used;
        if (x->state == ST_TLS) {
            if (len) /* RFC 6120 §5.4.3.3: nothing may follow before TLS */
                sess_end(x, "policy-violation", "data after <starttls/>");
            return;
        }
        xmpp_parser_reset(x->p);
    }
}

static void conn_close(net_conn_t *c, int code, const char *reason)
{
    sess_t *x = net_conn_user(c);
    if (!x)
        return;
    x->c = NULL;
    if (x->state != ST_DEAD) {
        if (!x->fail_reason[0]) {
            snprintf(x->fail_reason, sizeof x->fail_reason, "%s", reason);
            snprintf(x->fail_cond, sizeof x->fail_cond, "%s",
                     code == FEDGE_ETIMEDOUT ? "remote-server-timeout" : "remote-server-not-found");
        }
        slog(x->s, XMPP_LOG_INFO, "xmpp %s stream %s %s %s: connection closed: %s",
             x->outbound ? "outbound" : "inbound", x->local, x->outbound ? "->" : "<-",
             x->remote[0] ? x->remote : net_conn_remote(c), reason);
        /* An outbound connection that never got a stream: try the next
         * address. */
        if (x->outbound && x->state == ST_HEADER && !x->tls && code != 0 &&
            x->next_target < x->n_targets) {
            x->fail_reason[0] = '\0';
            xmpp_parser_reset(x->p);
            connect_next(x);
            return;
        }
    }
    x->state = ST_DEAD;
    sess_free(x);
}

/* ------------------------------------------------------------------ */
/* Parser callbacks                                                    */
/* ------------------------------------------------------------------ */

static void features_inbound(sess_t *x)
{
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<stream:features>");
    if (!x->authed) {
        const net_peer_t *peer = x->c ? net_conn_peer(x->c) : NULL;
        if (!x->tls)
            xmpp_buf_printf(&b, "<starttls xmlns='" XMPP_NS_TLS "'>%s</starttls>",
                            x->pol.tls_required ? "<required/>" : "");
        if (x->tls && x->pol.sasl && peer && peer->verified && net_peer_names(peer, x->remote))
            xmpp_buf_printf(&b, "<mechanisms xmlns='" XMPP_NS_SASL
                                "'><mechanism>EXTERNAL</mechanism></mechanisms>");
        if (x->pol.dialback && (x->tls || !x->pol.tls_required))
            xmpp_buf_printf(&b,
                            "<dialback xmlns='" XMPP_NS_DIALBACK_FEATURE "'><errors/></dialback>");
    }
    xmpp_buf_printf(&b, "</stream:features>");
    send_buf(x, &b);
}

static void on_stream_open(void *u, const xmpp_node_t *root, const char *content_ns)
{
    sess_t *x = u;
    xmpp_s2s_t *s = x->s;
    if (strcmp(content_ns, XMPP_NS_SERVER)) {
        sess_end(x, "invalid-namespace", "content namespace '%s' is not " XMPP_NS_SERVER,
                 content_ns);
        return;
    }
    const char *version = xmpp_attr(root, "version");
    if (x->outbound) {
        const char *id = xmpp_attr(root, "id");
        snprintf(x->id, sizeof x->id, "%s", id ? id : "");
        if (!id || !version || strcmp(version, "1.0")) {
            sess_end(x, "unsupported-version", "the peer's stream has no id or no version 1.0");
            return;
        }
        x->state = ST_FEATURES;
        return;
    }
    /* Inbound (RFC 6120 §4.7): to must be ours; from names the peer. */
    const char *to = xmpp_attr(root, "to"), *from = xmpp_attr(root, "from");
    char to_l[256], from_l[256];
    lower_copy(to_l, sizeof to_l, to);
    lower_copy(from_l, sizeof from_l, from);
    if (x->restart && (strcmp(to_l, x->local) || strcmp(from_l, x->remote))) {
        sess_end(x, "invalid-from", "restarted stream names other domains");
        return;
    }
    snprintf(x->local, sizeof x->local, "%s", to_l[0] ? to_l : s->domains[0]);
    if (!x->restart)
        snprintf(x->remote, sizeof x->remote, "%s", from_l);
    random_id(x->id, sizeof x->id); /* a new id for every stream (RFC 6120 §4.7.3) */
    send_header(x);
    if (!is_local(s, to_l)) {
        sess_end(x, "host-unknown", "'%s' is not a domain served here", to ? to : "");
        return;
    }
    if (!version || strcmp(version, "1.0")) {
        sess_end(x, "unsupported-version", "version 1.0 required");
        return;
    }
    if (!from_l[0]) {
        sess_end(x, "invalid-from", "a server-to-server stream must say whom it is from");
        return;
    }
    s->o.cbs.policy(s->o.user, x->remote, &x->pol);
    if (!x->pol.allowed) {
        s->st.refused++;
        sess_end(x, "policy-violation", "%s", x->pol.why[0] ? x->pol.why : "not a partner");
        return;
    }
    x->state = x->authed ? ST_READY : ST_OPEN;
    features_inbound(x);
}

static void on_stream_close(void *u)
{
    sess_t *x = u;
    sess_end(x, NULL, NULL);
}

static bool rate_ok(sess_t *x)
{
    xmpp_s2s_t *s = x->s;
    uint64_t now = now_ms(s);
    x->tokens += (double)(now - x->tokens_ms) * s->o.rate / 1000.0;
    x->tokens_ms = now;
    if (x->tokens > 2.0 * s->o.rate)
        x->tokens = 2.0 * s->o.rate;
    if (x->tokens < 1.0)
        return false;
    x->tokens -= 1.0;
    return true;
}

/* A stanza on an authenticated inbound stream. */
static void inbound_stanza(sess_t *x, const xmpp_node_t *st)
{
    xmpp_s2s_t *s = x->s;
    if (!rate_ok(x)) {
        s->st.refused_limit++;
        sess_end(x, "policy-violation", "more than %u stanzas per second", s->o.rate);
        return;
    }
    char fd[256], td[256];
    jid_domain(xmpp_attr(st, "from"), fd, sizeof fd);
    jid_domain(xmpp_attr(st, "to"), td, sizeof td);
    if (strcmp(fd, x->remote)) {
        sess_end(x, "invalid-from", "stanza from '%s' on a stream authenticated for %s", fd,
                 x->remote);
        return;
    }
    if (strcmp(td, x->local)) {
        sess_end(x, "improper-addressing", "stanza to '%s' on a stream for %s", td, x->local);
        return;
    }
    /* The partner may have been blocked or removed since the stream was
     * authenticated: the decision holds for every stanza. */
    xmpp_peer_policy_t pol;
    s->o.cbs.policy(s->o.user, x->remote, &pol);
    if (!pol.allowed) {
        s->st.refused++;
        sess_end(x, "policy-violation", "%s", pol.why[0] ? pol.why : "not a partner");
        return;
    }
    s->st.stanzas_in++;
    s->o.cbs.on_stanza(s->o.user, x->remote, x->local, st);
}

static void verify_answered(sess_t *in, bool valid, const char *why);

/* <db:result> on an inbound stream: the peer asks to be authenticated by
 * dialback (XEP-0220 §2.1.2). */
static void inbound_db_result(sess_t *x, const xmpp_node_t *st)
{
    xmpp_s2s_t *s = x->s;
    char from[256], to[256];
    lower_copy(from, sizeof from, xmpp_attr(st, "from"));
    lower_copy(to, sizeof to, xmpp_attr(st, "to"));
    if (strcmp(from, x->remote) || strcmp(to, x->local)) {
        /* One domain pair per stream: no multiplexing (XEP-0220 §2.5). */
        sess_end(x, "invalid-from", "dialback for %s -> %s on a stream for %s -> %s", from, to,
                 x->remote, x->local);
        return;
    }
    if (!x->pol.dialback || (!x->tls && x->pol.tls_required)) {
        sess_end(x, "not-authorized", "dialback is not allowed for %s%s", x->remote,
                 x->pol.dialback ? " without TLS" : "");
        return;
    }
    if (x->verifier || x->authed)
        return;
    /* XEP-0344 §2.4: a verified certificate that names the domain proves
     * what the verify round-trip would. */
    const net_peer_t *peer = x->c ? net_conn_peer(x->c) : NULL;
    if (peer && peer->verified && net_peer_names(peer, x->remote)) {
        verify_answered(x, true, "certificate names the domain");
        return;
    }
    /* Ask the authoritative server of the remote domain. */
    xmpp_peer_policy_t pol;
    s->o.cbs.policy(s->o.user, x->remote, &pol);
    sess_t *v = open_outbound(s, x->local, x->remote, &pol);
    if (!v) {
        verify_answered(x, false, "cannot reach the authoritative server");
        return;
    }
    v->verify_only = true;
    v->verify_for = x;
    snprintf(v->verify_id, sizeof v->verify_id, "%s", x->id);
    snprintf(v->verify_key, sizeof v->verify_key, "%s", st->text);
    x->verifier = v;
}

static void verify_answered(sess_t *in, bool valid, const char *why)
{
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<db:result from='");
    xmpp_buf_esc(&b, in->local, strlen(in->local));
    xmpp_buf_printf(&b, "' to='");
    xmpp_buf_esc(&b, in->remote, strlen(in->remote));
    xmpp_buf_printf(&b, "' type='%s'/>", valid ? "valid" : "invalid");
    send_buf(in, &b);
    slog(in->s, XMPP_LOG_INFO, "xmpp dialback %s <- %s: %s (%s)", in->local, in->remote,
         valid ? "valid" : "invalid", why);
    if (valid) {
        in->method = strstr(why, "certificate") ? "dialback (certificate, XEP-0344)" : "dialback";
        became_ready(in);
    } else
        sess_end(in, "not-authorized", "dialback failed: %s", why);
}

/* <db:verify> on an inbound stream: a receiving server checks a key we
 * (the originating server) gave it (XEP-0220 §2.1.3). */
static void inbound_db_verify(sess_t *x, const xmpp_node_t *st)
{
    char from[256], to[256], key[65];
    lower_copy(from, sizeof from, xmpp_attr(st, "from"));
    lower_copy(to, sizeof to, xmpp_attr(st, "to"));
    const char *id = xmpp_attr(st, "id");
    bool valid = false;
    if (is_local(x->s, to) && id) {
        dialback_key(x->s, from, to, id, key);
        valid = strlen(st->text) == 64 && !strcmp(st->text, key);
    }
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<db:verify from='");
    xmpp_buf_esc(&b, to, strlen(to));
    xmpp_buf_printf(&b, "' to='");
    xmpp_buf_esc(&b, from, strlen(from));
    xmpp_buf_printf(&b, "' id='");
    xmpp_buf_esc(&b, id ? id : "", strlen(id ? id : ""));
    xmpp_buf_printf(&b, "' type='%s'/>", valid ? "valid" : "invalid");
    send_buf(x, &b);
}

static void inbound(sess_t *x, const xmpp_node_t *st)
{
    xmpp_s2s_t *s = x->s;
    if (xmpp_is(st, XMPP_NS_TLS, "starttls")) {
        if (x->tls || x->authed) {
            sess_end(x, "policy-violation", "STARTTLS twice");
            return;
        }
        send_raw(x, "<proceed xmlns='" XMPP_NS_TLS "'/>",
                 strlen("<proceed xmlns='" XMPP_NS_TLS "'/>"));
        int rc = net_conn_starttls(x->c, s->o.tls, true, NULL);
        if (rc < 0) {
            sess_end(x, "internal-server-error", "cannot start TLS (%s)", fedge_strerror(rc));
            return;
        }
        x->state = ST_TLS;
        xmpp_parser_pause(x->p);
        return;
    }
    if (!x->tls && x->pol.tls_required) {
        sess_end(x, "policy-violation", "STARTTLS is required before <%s/>", st->name);
        return;
    }
    if (xmpp_is(st, XMPP_NS_SASL, "auth")) {
        const char *mech = xmpp_attr(st, "mechanism");
        const net_peer_t *peer = x->c ? net_conn_peer(x->c) : NULL;
        /* RFC 7590 / RFC 6120 §6.4: the authorization identity is empty
         * ("=") or the domain of the stream; the certificate must name it. */
        char authz[300] = "";
        if (st->text_len && strcmp(st->text, "=")) {
            unsigned char dec[300];
            int n = st->text_len < 400
                        ? EVP_DecodeBlock(dec, (const unsigned char *)st->text, (int)st->text_len)
                        : -1;
            if (n > 0) {
                while (n > 0 && dec[n - 1] == '\0')
                    n--;
                memcpy(authz, dec, (size_t)n);
                authz[n] = '\0';
            } else {
                snprintf(authz, sizeof authz, "\x01");
            }
        }
        bool ok = mech && !strcmp(mech, "EXTERNAL") && x->pol.sasl && x->tls && !x->authed &&
                  peer && peer->verified && net_peer_names(peer, x->remote) &&
                  (!authz[0] || !strcasecmp(authz, x->remote));
        if (!ok) {
            send_raw(x, "<failure xmlns='" XMPP_NS_SASL "'><not-authorized/></failure>",
                     strlen("<failure xmlns='" XMPP_NS_SASL "'><not-authorized/></failure>"));
            slog(s, XMPP_LOG_INFO, "xmpp inbound %s <- %s: SASL EXTERNAL refused (%s)", x->local,
                 x->remote,
                 !x->pol.sasl                       ? "not allowed for this partner"
                 : !peer || !peer->verified         ? "no verified certificate"
                 : !net_peer_names(peer, x->remote) ? "certificate does not name the domain"
                                                    : "bad authorization identity");
            return;
        }
        x->method = "SASL EXTERNAL";
        send_raw(x, "<success xmlns='" XMPP_NS_SASL "'/>",
                 strlen("<success xmlns='" XMPP_NS_SASL "'/>"));
        became_ready(x);
        x->restart = true;
        x->sent_header = false;
        x->state = ST_HEADER;
        xmpp_parser_pause(x->p);
        /* The restarted stream must come within the deadline too. */
        x->deadline_ms = now_ms(s) + s->o.open_timeout_ms;
        return;
    }
    if (xmpp_is(st, XMPP_NS_DIALBACK, "result")) {
        inbound_db_result(x, st);
        return;
    }
    if (xmpp_is(st, XMPP_NS_DIALBACK, "verify")) {
        inbound_db_verify(x, st);
        return;
    }
    if (xmpp_is(st, XMPP_NS_SERVER, NULL) &&
        (!strcmp(st->name, "message") || !strcmp(st->name, "presence") ||
         !strcmp(st->name, "iq"))) {
        if (!x->authed) {
            sess_end(x, "not-authorized", "<%s/> before authentication", st->name);
            return;
        }
        inbound_stanza(x, st);
        return;
    }
    if (xmpp_is(st, XMPP_NS_STREAMS, "error")) {
        sess_end(x, NULL, NULL);
        return;
    }
    sess_end(x, "unsupported-stanza-type", "{%s}%s", st->ns, st->name);
}

static void outbound_auth(sess_t *x, const xmpp_node_t *features)
{
    xmpp_s2s_t *s = x->s;
    if (x->verify_only) {
        xmpp_buf_t b = {0};
        xmpp_buf_printf(&b, "<db:verify from='");
        xmpp_buf_esc(&b, x->local, strlen(x->local));
        xmpp_buf_printf(&b, "' to='");
        xmpp_buf_esc(&b, x->remote, strlen(x->remote));
        xmpp_buf_printf(&b, "' id='");
        xmpp_buf_esc(&b, x->verify_id, strlen(x->verify_id));
        xmpp_buf_printf(&b, "'>");
        xmpp_buf_esc(&b, x->verify_key, strlen(x->verify_key));
        xmpp_buf_printf(&b, "</db:verify>");
        send_buf(x, &b);
        x->state = ST_AUTH;
        return;
    }
    const xmpp_node_t *mechs = xmpp_child(features, XMPP_NS_SASL, "mechanisms");
    bool external = false;
    for (const xmpp_node_t *m = mechs ? mechs->children : NULL; m; m = m->next)
        if (xmpp_is(m, XMPP_NS_SASL, "mechanism") && !strcmp(m->text, "EXTERNAL"))
            external = true;
    if (external && x->pol.sasl && x->tls && !x->restart) {
        char b64[400];
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)x->local,
                        (int)strlen(x->local));
        xmpp_buf_t b = {0};
        xmpp_buf_printf(&b, "<auth xmlns='" XMPP_NS_SASL "' mechanism='EXTERNAL'>%s</auth>", b64);
        send_buf(x, &b);
        x->state = ST_AUTH;
        return;
    }
    if (x->restart) { /* after SASL success: authenticated */
        x->method = "SASL EXTERNAL";
        became_ready(x);
        return;
    }
    if (x->pol.dialback) {
        char key[65];
        dialback_key(s, x->remote, x->local, x->id, key);
        xmpp_buf_t b = {0};
        xmpp_buf_printf(&b, "<db:result from='");
        xmpp_buf_esc(&b, x->local, strlen(x->local));
        xmpp_buf_printf(&b, "' to='");
        xmpp_buf_esc(&b, x->remote, strlen(x->remote));
        xmpp_buf_printf(&b, "'>%s</db:result>", key);
        send_buf(x, &b);
        x->state = ST_AUTH;
        return;
    }
    sess_end(x, "not-authorized",
             "%s offers no authentication allowed for it (SASL EXTERNAL %s, dialback %s)",
             x->remote, x->pol.sasl ? (external ? "offered" : "not offered") : "off",
             x->pol.dialback ? "on" : "off");
}

static void outbound(sess_t *x, const xmpp_node_t *st)
{
    xmpp_s2s_t *s = x->s;
    if (xmpp_is(st, XMPP_NS_STREAMS, "features")) {
        if (x->state != ST_FEATURES)
            return;
        const xmpp_node_t *tls = xmpp_child(st, XMPP_NS_TLS, "starttls");
        if (!x->tls && tls) {
            send_raw(x, "<starttls xmlns='" XMPP_NS_TLS "'/>",
                     strlen("<starttls xmlns='" XMPP_NS_TLS "'/>"));
            x->state = ST_TLS;
            return;
        }
        if (!x->tls && x->pol.tls_required) {
            sess_end(x, "policy-violation", "%s does not offer STARTTLS, which is required",
                     x->remote);
            return;
        }
        outbound_auth(x, st);
        return;
    }
    if (xmpp_is(st, XMPP_NS_TLS, "proceed") && x->state == ST_TLS) {
        int rc =
            net_conn_starttls(x->c, s->o.client_tls ? s->o.client_tls : s->o.tls, false, x->remote);
        if (rc < 0) {
            sess_end(x, "internal-server-error", "cannot start TLS (%s)", fedge_strerror(rc));
            return;
        }
        xmpp_parser_pause(x->p);
        return;
    }
    if (xmpp_is(st, XMPP_NS_TLS, "failure")) {
        sess_end(x, NULL, "%s refused STARTTLS", x->remote);
        return;
    }
    if (xmpp_is(st, XMPP_NS_SASL, "success") && x->state == ST_AUTH) {
        x->restart = true;
        x->state = ST_HEADER;
        xmpp_parser_pause(x->p);
        send_header(x);
        return;
    }
    if (xmpp_is(st, XMPP_NS_SASL, "failure") && x->state == ST_AUTH) {
        if (x->pol.dialback) {
            slog(s, XMPP_LOG_INFO, "xmpp outbound %s -> %s: SASL EXTERNAL refused, trying dialback",
                 x->local, x->remote);
            x->pol.sasl = false;
            outbound_auth(x, st);
            return;
        }
        sess_end(x, "not-authorized", "%s refused SASL EXTERNAL", x->remote);
        return;
    }
    if (xmpp_is(st, XMPP_NS_DIALBACK, "result") && x->state == ST_AUTH) {
        const char *type = xmpp_attr(st, "type");
        if (type && !strcmp(type, "valid")) {
            x->method = "dialback";
            became_ready(x);
            return;
        }
        sess_end(x, "not-authorized", "%s refused our dialback key (%s)", x->remote,
                 type ? type : "no type");
        return;
    }
    if (xmpp_is(st, XMPP_NS_DIALBACK, "verify") && x->verify_only) {
        const char *type = xmpp_attr(st, "type");
        sess_t *in = x->verify_for;
        x->verify_for = NULL;
        if (in) {
            in->verifier = NULL;
            verify_answered(in, type && !strcmp(type, "valid"),
                            type && !strcmp(type, "valid") ? "authoritative server says valid"
                                                           : "authoritative server says invalid");
        }
        sess_end(x, NULL, NULL);
        return;
    }
    if (xmpp_is(st, XMPP_NS_STREAMS, "error")) {
        const xmpp_node_t *c = st->children;
        const xmpp_node_t *t = xmpp_child(st, XMPP_NS_STREAM_ERR, "text");
        x->state = ST_FEATURES; /* so sess_end still writes the close */
        /* The peer's own condition where it tells the sender something
         * (RFC 6120 §4.9.3); anything else reads as "not found". */
        const char *cn = c ? c->name : "";
        bool keep = !strcmp(cn, "policy-violation") || !strcmp(cn, "not-authorized") ||
                    !strcmp(cn, "host-unknown") || !strcmp(cn, "remote-connection-failed");
        snprintf(x->fail_cond, sizeof x->fail_cond, "%s", keep ? cn : "remote-server-not-found");
        snprintf(x->fail_reason, sizeof x->fail_reason, "%.60s said: %.40s%s%.90s", x->remote,
                 c ? c->name : "error", t ? ": " : "", t ? t->text : "");
        sess_end(x, NULL, NULL);
        return;
    }
    /* Stanzas never come on our outbound stream (RFC 6120 §4.2.2). */
    sess_end(x, "unsupported-stanza-type", "{%s}%s on an outbound stream", st->ns, st->name);
}

static void on_stanza(void *u, const xmpp_node_t *st)
{
    sess_t *x = u;
    if (x->state == ST_DEAD)
        return;
    if (x->outbound)
        outbound(x, st);
    else
        inbound(x, st);
}

/* ------------------------------------------------------------------ */
/* The service                                                         */
/* ------------------------------------------------------------------ */

static void kick_cb(uv_timer_t *t)
{
    xmpp_s2s_t *s = t->data;
    for (sess_t *x = s->sessions, *nx; x; x = nx) {
        nx = x->next;
        if (x->state == ST_DEAD && !x->c)
            sess_free(x);
    }
    run_done(s);
}

static void tick(uv_timer_t *t)
{
    xmpp_s2s_t *s = t->data;
    uint64_t now = now_ms(s);
    for (sess_t *x = s->sessions, *nx; x; x = nx) {
        nx = x->next;
        if (x->state != ST_READY && x->state != ST_DEAD && now >= x->deadline_ms)
            sess_end(x, "connection-timeout", "not authenticated within %u ms",
                     s->o.open_timeout_ms);
    }
}

int xmpp_s2s_new(const xmpp_s2s_opts_t *o, xmpp_s2s_t **out, fedge_err_t *e)
{
    if (!o || !o->loop || !o->net || !o->dns || !o->tls || !o->n_domains || !o->cbs.policy ||
        !o->cbs.on_stanza)
        return fedge_err(e, FEDGE_EINVAL,
                         "xmpp: loop, net, dns, TLS, domains and callbacks needed");
    xmpp_s2s_t *s = fedge_calloc(1, sizeof *s);
    s->o = *o;
    if (!s->o.rate)
        s->o.rate = 50;
    if (!s->o.open_timeout_ms)
        s->o.open_timeout_ms = 15000;
    if (!s->o.max_queue)
        s->o.max_queue = 100;
    s->domains = fedge_calloc(o->n_domains, sizeof *s->domains);
    for (size_t i = 0; i < o->n_domains; i++) {
        char d[256];
        lower_copy(d, sizeof d, o->domains[i]);
        s->domains[i] = fedge_strdup(d);
    }
    s->o.domains = (const char *const *)s->domains;
    s->o.listen = NULL;
    s->o.dialback_secret = NULL;
    unsigned char secret[32];
    if (o->dialback_secret) {
        SHA256((const unsigned char *)o->dialback_secret, strlen(o->dialback_secret),
               s->secret_hash);
    } else {
        if (RAND_bytes(secret, sizeof secret) != 1)
            abort();
        SHA256(secret, sizeof secret, s->secret_hash);
    }
    s->done_tail = &s->done;
    uv_timer_init(o->loop, &s->timer);
    uv_timer_init(o->loop, &s->kick);
    s->timer.data = s->kick.data = s;
    s->handles = 2;
    uv_timer_start(&s->timer, tick, 500, 500);
    if (o->listen) {
        int rc = xmpp_s2s_listen(s, o->listen, NULL, e);
        if (rc < 0) {
            s->freeing = true;
            maybe_free_service(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

int xmpp_s2s_listen(xmpp_s2s_t *s, const char *host_port, uint16_t *port, fedge_err_t *e)
{
    if (!s || s->freeing || !host_port)
        return fedge_err(e, FEDGE_EINVAL, "xmpp: no service or no address to listen on");
    if (s->n_listeners >= XMPP_S2S_MAX_LISTENERS)
        return fedge_err(e, FEDGE_ELIMIT, "xmpp: at most %d listen addresses",
                         XMPP_S2S_MAX_LISTENERS);
    net_listen_opts_t lo = {.host_port = host_port, .tag = &s->tag, .cbs = conn_cbs};
    net_listener_t *l;
    int rc = net_listen(s->o.net, &lo, &l, e);
    if (rc < 0)
        return rc;
    uint16_t p = net_listener_port(l);
    if (!s->n_listeners)
        s->port = p;
    s->listeners[s->n_listeners++] = l;
    if (port)
        *port = p;
    return 0;
}

uint16_t xmpp_s2s_port(const xmpp_s2s_t *s)
{
    return s->port;
}

struct later {
    uv_idle_t idle;
    xmpp_sent_cb cb;
    void *user;
};

int xmpp_s2s_send(xmpp_s2s_t *s, const char *local, const char *remote, const char *xml, size_t len,
                  xmpp_sent_cb cb, void *cb_user, fedge_err_t *e)
{
    char l[256], r[256];
    lower_copy(l, sizeof l, local);
    lower_copy(r, sizeof r, remote);
    if (s->freeing || !is_local(s, l))
        return fedge_err(e, FEDGE_EINVAL, "xmpp: '%s' is not a local domain", local);
    xmpp_peer_policy_t pol;
    s->o.cbs.policy(s->o.user, r, &pol);
    if (!pol.allowed) {
        s->st.refused++;
        return fedge_err(e, FEDGE_EPERM, "%s", pol.why[0] ? pol.why : "not an XMPP partner");
    }
    sess_t *x = NULL;
    for (sess_t *y = s->sessions; y; y = y->next)
        if (y->outbound && !y->verify_only && y->state != ST_DEAD && !strcmp(y->local, l) &&
            !strcmp(y->remote, r)) {
            x = y;
            if (y->state == ST_READY)
                break;
        }
    if (!x) {
        x = open_outbound(s, l, r, &pol);
        if (!x)
            return fedge_err(e, FEDGE_EIO, "xmpp: cannot resolve %s", r);
    }
    if (x->state == ST_READY) {
        send_raw(x, xml, len);
        s->st.stanzas_out++;
        defer_cb(s, cb, cb_user, 0, "", "written");
        return 0;
    }
    if (x->q_len >= s->o.max_queue) {
        s->st.refused_limit++;
        return fedge_err(e, FEDGE_ELIMIT, "xmpp: %zu stanzas already wait for %s", x->q_len, r);
    }
    struct item *it = fedge_calloc(1, sizeof *it);
    it->xml = fedge_malloc(len);
    memcpy(it->xml, xml, len);
    it->len = len;
    it->cb = cb;
    it->user = cb_user;
    *x->q_tail = it;
    x->q_tail = &it->next;
    x->q_len++;
    return 0;
}

void xmpp_s2s_stats(const xmpp_s2s_t *s, xmpp_s2s_stats_t *out)
{
    *out = s->st;
}

void xmpp_s2s_stop_accepting(xmpp_s2s_t *s)
{
    for (size_t i = 0; s && i < s->n_listeners; i++) {
        if (s->listeners[i])
            net_listener_close(s->listeners[i]);
        s->listeners[i] = NULL;
    }
}

void xmpp_s2s_free(xmpp_s2s_t *s)
{
    if (!s || s->freeing)
        return;
    s->freeing = true;
    xmpp_s2s_stop_accepting(s);
    for (sess_t *x = s->sessions, *nx; x; x = nx) {
        nx = x->next;
        snprintf(x->fail_cond, sizeof x->fail_cond, "remote-server-not-found");
        snprintf(x->fail_reason, sizeof x->fail_reason, "shutting down");
        sess_end(x, "system-shutdown", "shutting down");
    }
    for (sess_t *x = s->sessions, *nx; x; x = nx) {
        nx = x->next;
        if (x->state == ST_DEAD && !x->c)
            sess_free(x);
    }
    maybe_free_service(s);
}
