/* session.c — one probing connection: TCP connect, TLS handshake that
 * records (rather than enforces) the verification of the peer, an optional
 * SIP request and its answer, every phase bounded by a deadline; plus the
 * synchronous DNS wrappers used by check and probe. */
#include "plan/plan_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sip/sip.h"

static int verify_keep_going(int ok, X509_STORE_CTX *x)
{
    (void)ok;
    (void)x;
    return 1; /* the session reports SSL_get_verify_result instead */
}

SSL_CTX *plan__tls_ctx(const char *cert, const char *key, const char *ca_file, const char *ca_path,
                       config_tls_version_t min_version, fedge_err_t *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        fedge_err(err, FEDGE_ETLS, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx,
                                  min_version == CONFIG_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    char e[200];
    if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        fedge_err(err, FEDGE_ECONFIG, "%s: cannot load certificate: %s", cert, e);
        goto fail;
    }
    if (key && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        fedge_err(err, FEDGE_ECONFIG, "%s: cannot load private key: %s", key, e);
        goto fail;
    }
    if (cert && key && SSL_CTX_check_private_key(ctx) != 1) {
        fedge_err(err, FEDGE_ECONFIG, "%s does not match %s", key, cert);
        goto fail;
    }
    if (ca_file || ca_path) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, ca_path) != 1) {
            ERR_error_string_n(ERR_get_error(), e, sizeof e);
            fedge_err(err, FEDGE_ECONFIG, "%s: cannot load trust anchors: %s",
                      ca_file ? ca_file : ca_path, e);
            goto fail;
        }
    } else {
        SSL_CTX_set_default_verify_paths(ctx);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_keep_going);
    ERR_clear_error();
    return ctx;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits for fd to become readable/writable until deadline. 1 ready, 0 timeout. */
static int wait_fd(int fd, short ev, uint64_t deadline)
{
    for (;;) {
        uint64_t t = now_ms();
        if (t >= deadline)
            return 0;
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, (int)(deadline - t));
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 1; /* let the next call report the error */
    }
}

/* Classifies the OpenSSL error queue after a failed call. */
static void classify(plan__session_t *s, SSL *ssl, int ret, bool handshake)
{
    int se = SSL_get_error(ssl, ret);
    unsigned long e = ERR_peek_last_error();
    int reason = e ? ERR_GET_REASON(e) : 0;
    s->after_handshake = !handshake;
    if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
        s->tls = PLAN__TLS_ALERT;
        s->alert = reason - SSL_AD_REASON_OFFSET;
        snprintf(s->alert_text, sizeof s->alert_text, "%s", SSL_alert_desc_string_long(s->alert));
        snprintf(s->tls_err, sizeof s->tls_err, "the peer sent the TLS alert '%s'", s->alert_text);
    } else if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
               reason == SSL_R_UNKNOWN_PROTOCOL) {
        s->tls = PLAN__TLS_NOT_TLS;
        snprintf(s->tls_err, sizeof s->tls_err,
                 "the peer answered with bytes that are not TLS (%s)",
                 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "bad record");
    } else if (se == SSL_ERROR_ZERO_RETURN || se == SSL_ERROR_SYSCALL ||
               reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        s->tls = PLAN__TLS_CLOSED;
        snprintf(s->tls_err, sizeof s->tls_err, "the peer closed the connection %s",
                 handshake ? "during the TLS handshake" : "after the TLS handshake");
    } else {
        s->tls = PLAN__TLS_ERROR;
        char b[200] = "unknown error";
        if (e)
            ERR_error_string_n(e, b, sizeof b);
        snprintf(s->tls_err, sizeof s->tls_err, "TLS failure: %s", b);
    }
    ERR_clear_error();
}

/* Drives an SSL call (connect/read/write) until it completes or the
 * deadline. Returns > 0 done, 0 timeout, < 0 failed (classified). */
typedef int (*ssl_op_fn)(SSL *ssl, void *buf, int len);
static int op_connect(SSL *ssl, void *b, int l)
{
    (void)b, (void)l;
    return SSL_connect(ssl);
}
static int op_read(SSL *ssl, void *b, int l)
{
    return SSL_read(ssl, b, l);
}
static int op_write(SSL *ssl, void *b, int l)
{
    return SSL_write(ssl, b, l);
}

static int drive(plan__session_t *s, SSL *ssl, int fd, ssl_op_fn op, void *buf, int len,
                 uint64_t deadline, bool handshake)
{
    for (;;) {
        ERR_clear_error();
        int r = op(ssl, buf, len);
        if (r > 0)
            return r;
        int se = SSL_get_error(ssl, r);
        if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(fd, se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                return 0;
            continue;
        }
        classify(s, ssl, r, handshake);
        return -1;
    }
}

static void copy_header(const sip_msg_t *m, const char *name, char *out, size_t n)
{
    const sip_hdr_t *h = sip_msg_find_name(m, name);
    if (h)
        snprintf(out, n, "%.*s", (int)h->value.len, h->value.s);
}

/* Reads until a final response arrives (1xx skipped). */
static void read_answer(plan__session_t *s, SSL *ssl, int fd, uint64_t deadline)
{
    size_t cap = 65536, len = 0;
    char *buf = fedge_malloc(cap);
    sip_framer_t fr;
    sip_framer_init(&fr, cap);
    sip_msg_t *m = fedge_malloc(sizeof *m);
    for (;;) {
        size_t unit;
        int k = len ? sip_framer_next(&fr, buf, len, &unit) : SIP_FRAME_NEED_MORE;
        if (k < 0) {
            snprintf(s->sip_err, sizeof s->sip_err, "the answer is not SIP (%s)",
                     fedge_strerror(k));
            break;
        }
        if (k == SIP_FRAME_MESSAGE || k == SIP_FRAME_PING || k == SIP_FRAME_PONG) {
            if (k == SIP_FRAME_MESSAGE) {
                int pr = sip_parse(buf, unit, NULL, m);
                if (pr < 0) {
                    snprintf(s->sip_err, sizeof s->sip_err, "malformed answer (%s)",
                             fedge_strerror(pr));
                    break;
                }
                if (!m->is_request && m->status >= 200) {
                    s->sip_status = m->status;
                    snprintf(s->sip_line, sizeof s->sip_line, "%.*s", (int)m->start_line.len,
                             m->start_line.s);
                    copy_header(m, "Warning", s->sip_warning, sizeof s->sip_warning);
                    copy_header(m, "ms-diagnostics", s->sip_diag, sizeof s->sip_diag);
                    if (!s->sip_diag[0])
                        copy_header(m, "ms-diagnostics-public", s->sip_diag, sizeof s->sip_diag);
                    break;
                }
            }
            memmove(buf, buf + unit, len - unit);
            len -= unit;
            continue;
        }
        if (len == cap) {
            snprintf(s->sip_err, sizeof s->sip_err, "answer too large");
            break;
        }
        int r = drive(s, ssl, fd, op_read, buf + len, (int)(cap - len), deadline, false);
        if (r == 0) {
            snprintf(s->sip_err, sizeof s->sip_err, "no answer within %u ms", s->timeout_ms);
            break;
        }
        if (r < 0) {
            if (s->tls == PLAN__TLS_CLOSED)
                s->tls = PLAN__TLS_OK; /* a plain close is the SIP step's problem */
            snprintf(s->sip_err, sizeof s->sip_err, "%s before an answer", s->tls_err);
            break;
        }
        len += (size_t)r;
    }
    free(m);
    free(buf);
}

static void record_peer(plan__session_t *s, SSL *ssl)
{
    X509 *peer = SSL_get1_peer_certificate(ssl);
    s->peer_presented = peer != NULL;
    s->verify = SSL_get_verify_result(ssl);
    if (s->verify != X509_V_OK)
        snprintf(s->verify_err, sizeof s->verify_err, "%s",
                 X509_verify_cert_error_string(s->verify));
    if (peer) {
        plan__cert_from_x509(peer, &s->peer);
        X509_free(peer);
    }
    s->chain = json_array();
    STACK_OF(X509) *ch = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; ch && i < sk_X509_num(ch); i++) {
        plan_cert_t c = {0};
        plan__cert_from_x509(sk_X509_value(ch, i), &c);
        char na[32];
        struct tm tm;
        gmtime_r(&c.not_after, &tm);
        strftime(na, sizeof na, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_array_append_new(s->chain, json_pack("{s:s,s:s,s:s}", "subject", c.subject, "issuer",
                                                  c.issuer, "not_after", na));
        plan_cert_clear(&c);
    }
    snprintf(s->version, sizeof s->version, "%s", SSL_get_version(ssl));
}

void plan__session_run(plan__session_t *s)
{
    s->alert = -1;
    s->tcp = -1;
    s->tls = PLAN__TLS_NONE;
    unsigned to = s->timeout_ms ? s->timeout_ms : 3000;
    int fd = socket(s->sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(s->tcp_err, sizeof s->tcp_err, "socket: %s", strerror(errno));
        return;
    }
    uint64_t deadline = now_ms() + to;
    int r = connect(fd, s->sa, s->salen);
    if (r < 0 && errno != EINPROGRESS) {
        snprintf(s->tcp_err, sizeof s->tcp_err, "%s", strerror(errno));
        close(fd);
        return;
    }
    if (r < 0) {
        if (!wait_fd(fd, POLLOUT, deadline)) {
            snprintf(s->tcp_err, sizeof s->tcp_err, "no answer within %u ms (timed out)", to);
            close(fd);
            return;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            snprintf(s->tcp_err, sizeof s->tcp_err, "%s", strerror(soerr));
            close(fd);
            return;
        }
    }
    s->tcp = 0;
    if (!s->ctx) {
        close(fd);
        return;
    }
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, fd);
    if (s->sni)
        SSL_set_tlsext_host_name(ssl, s->sni);
    deadline = now_ms() + to;
    r = drive(s, ssl, fd, op_connect, NULL, 0, deadline, true);
    if (r == 0) {
        s->tls = PLAN__TLS_TIMEOUT;
        snprintf(s->tls_err, sizeof s->tls_err, "no TLS handshake within %u ms", to);
    }
    if (r <= 0) {
        if (SSL_get0_peer_certificate(ssl)) /* e.g. a TLS 1.2 alert after our Certificate */
            record_peer(s, ssl);
        goto done;
    }
    s->tls = PLAN__TLS_OK;
    record_peer(s, ssl);
    if (s->request && (s->verify == X509_V_OK || s->send_unverified)) {
        deadline = now_ms() + to;
        r = drive(s, ssl, fd, op_write, (void *)s->request, (int)strlen(s->request), deadline,
                  false);
        if (r > 0) {
            s->sent = true;
            read_answer(s, ssl, fd, now_ms() + to);
        } else if (r == 0) {
            snprintf(s->sip_err, sizeof s->sip_err, "could not send within %u ms", to);
        } else {
            snprintf(s->sip_err, sizeof s->sip_err, "%s", s->tls_err);
        }
    } else if (s->linger_ms) {
        /* TLS 1.3: a server judges our certificate after our handshake is
         * done; its refusal arrives as an alert on the first read. */
        char b[512];
        r = drive(s, ssl, fd, op_read, b, sizeof b, now_ms() + s->linger_ms, false);
        if (r < 0 && s->tls == PLAN__TLS_CLOSED)
            s->tls = PLAN__TLS_OK; /* closed without alert: not a refusal of us */
    }
    if (s->tls == PLAN__TLS_OK)
        SSL_shutdown(ssl);
done:
    SSL_free(ssl);
    ERR_clear_error();
    close(fd);
}

void plan__session_clear(plan__session_t *s)
{
    plan_cert_clear(&s->peer);
    json_decref(s->chain);
    s->chain = NULL;
}

/* ---- DNS ---- */

int plan__dns_open(plan__dns_t *d, const config_t *cfg, fedge_err_t *err)
{
    dns_opts_t o;
    dns_opts_default(&o);
    char servers[1024] = "", b[128];
    for (size_t i = 0; i < cfg->dns.servers.count; i++) {
        config_hostport_format(&cfg->dns.servers.items[i], b, sizeof b);
        snprintf(servers + strlen(servers), sizeof servers - strlen(servers), "%s%s", i ? "," : "",
                 b);
    }
    o.servers = servers[0] ? servers : NULL;
    if (cfg->dns.timeout_ms)
        o.timeout_ms = cfg->dns.timeout_ms;
    if (cfg->dns.tries)
        o.tries = cfg->dns.tries;
    o.fail_ttl_ms = 0;
    uv_loop_init(&d->loop);
    int rc = dns_new(&d->loop, &o, &d->dns, err);
    if (rc < 0) {
        uv_loop_close(&d->loop);
        return rc;
    }
    return 0;
}

void plan__dns_close(plan__dns_t *d)
{
    dns_free(d->dns);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
}

typedef struct {
    bool done;
    plan__route_t *route;
    plan__target_t *host;
} waiter_t;

static void copy_target(plan__target_t *t, const char *name, uint16_t port, uint16_t prio,
                        uint16_t weight, dns_status_t st, const char *detail, size_t n,
                        const dns_addr_t *addrs)
{
    snprintf(t->name, sizeof t->name, "%s", name);
    t->port = port;
    t->priority = prio;
    t->weight = weight;
    t->status = st;
    snprintf(t->detail, sizeof t->detail, "%s", detail ? detail : "");
    t->n = n < FEDGE_ARRAY_LEN(t->addrs) ? n : FEDGE_ARRAY_LEN(t->addrs);
    memcpy(t->addrs, addrs, t->n * sizeof *addrs);
}

static void route_cb(void *user, const dns_route_result_t *r)
{
    waiter_t *w = user;
    plan__route_t *o = w->route;
    w->done = true;
    o->status = r->status;
    snprintf(o->detail, sizeof o->detail, "%s", r->detail);
    o->n = r->n < FEDGE_ARRAY_LEN(o->targets) ? r->n : FEDGE_ARRAY_LEN(o->targets);
    for (size_t i = 0; i < o->n; i++) {
        const dns_target_t *t = &r->targets[i];
        copy_target(&o->targets[i], t->target, t->port, t->priority, t->weight, t->status,
                    t->detail, t->n, t->addrs);
    }
}

static void host_cb(void *user, const dns_host_result_t *r)
{
    waiter_t *w = user;
    w->done = true;
    copy_target(w->host, r->name, 0, 0, 0, r->status, r->detail, r->n, r->addrs);
}

/* Runs the loop of d until w is done; when the loop runs dry first, the
 * look-up counts as timed out (status, detail of n bytes). */
static void wait_for(plan__dns_t *d, const waiter_t *w, dns_status_t *status, char *detail,
                     size_t n)
{
    while (!w->done && uv_run(&d->loop, UV_RUN_ONCE)) {
    }
    if (!w->done) {
        *status = DNS_TIMEOUT;
        snprintf(detail, n, "look-up did not complete");
    }
}

int plan__dns_route(plan__dns_t *d, const char *prefix, const char *domain, plan__route_t *out)
{
    memset(out, 0, sizeof *out);
    waiter_t w = {.route = out};
    int rc = dns_resolve_route(d->dns, prefix, domain, 0, DNS_AF_ANY, route_cb, &w, NULL);
    if (rc < 0)
        return rc;
    wait_for(d, &w, &out->status, out->detail, sizeof out->detail);
    return 0;
}

int plan__dns_host(plan__dns_t *d, const char *name, plan__target_t *out)
{
    memset(out, 0, sizeof *out);
    waiter_t w = {.host = out};
    int rc = dns_resolve_host(d->dns, name, DNS_AF_ANY, host_cb, &w, NULL);
    if (rc < 0)
        return rc;
    wait_for(d, &w, &out->status, out->detail, sizeof out->detail);
    return 0;
}
