/* probe_xmpp.c — `fedge probe --xmpp DOMAIN`: server-to-server XMPP with one
 * partner walked step by step as the gateway would (RFC 6120 §3.2 SRV with
 * the domain's A/AAAA at 5269 as fallback, TCP, stream header and features,
 * STARTTLS §5, TLS with our certificate, then the authentication the partner
 * offers: SASL EXTERNAL §6 / RFC 7590 tried, Server Dialback XEP-0220
 * reported), naming the step that failed. Blocking I/O bounded by deadlines,
 * like session.c; the stream is read with the xmpp room's parser. */
#include "plan/plan_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "xmpp/xmpp.h"

const char *const plan_probe_xmpp_steps[] = {"srv",      "address", "tcp", "stream",
                                             "starttls", "tls",     "auth"};
const size_t plan_probe_xmpp_n_steps = FEDGE_ARRAY_LEN(plan_probe_xmpp_steps);

#define XMPP_DEFAULT_PORT 5269 /* RFC 6120 §3.2.2 fallback */

/* What the features and answers of one stream said. */
typedef struct {
    bool opened, features, closed;
    bool starttls, starttls_required, external, dialback;
    char mechs[160];
    char last[64];  /* local name of the last top-level element */
    char cond[64];  /* stream error or SASL failure condition */
    char text[160]; /* its <text/>, "" none */
    char stream_id[80];
} seen_t;

typedef struct {
    int fd;
    SSL *ssl;
    unsigned to;
    xmpp_parser_t *p;
    seen_t s;
    char err[512];  /* why the last exchange failed */
    bool restarted; /* SASL succeeded: no stream open to close */
} conn_t;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool wait_fd(int fd, short ev, uint64_t deadline)
{
    for (;;) {
        uint64_t t = now_ms();
        if (t >= deadline)
            return false;
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, (int)(deadline - t));
        if (r > 0)
            return true;
        if (r == 0)
            return false;
        if (errno != EINTR)
            return true;
    }
}

static void on_open(void *user, const xmpp_node_t *root, const char *content_ns)
{
    (void)content_ns;
    conn_t *c = user;
    c->s.opened = true;
    const char *id = xmpp_attr(root, "id");
    snprintf(c->s.stream_id, sizeof c->s.stream_id, "%s", id ? id : "");
}

static void on_stanza(void *user, const xmpp_node_t *st)
{
    conn_t *c = user;
    snprintf(c->s.last, sizeof c->s.last, "%s", st->name);
    if (xmpp_is(st, XMPP_NS_STREAMS, "features")) {
        c->s.features = true;
        const xmpp_node_t *tls = xmpp_child(st, XMPP_NS_TLS, "starttls");
        c->s.starttls = tls != NULL;
        c->s.starttls_required = tls && xmpp_child(tls, XMPP_NS_TLS, "required");
        c->s.dialback = xmpp_child(st, XMPP_NS_DIALBACK_FEATURE, "dialback") != NULL;
        const xmpp_node_t *m = xmpp_child(st, XMPP_NS_SASL, "mechanisms");
        c->s.mechs[0] = '\0';
        for (const xmpp_node_t *k = m ? m->children : NULL; k; k = k->next) {
            if (!xmpp_is(k, XMPP_NS_SASL, "mechanism") || !k->text)
                continue;
            size_t l = strlen(c->s.mechs);
            snprintf(c->s.mechs + l, sizeof c->s.mechs - l, "%s%.*s", l ? " " : "",
                     (int)k->text_len, k->text);
            if (k->text_len == 8 && !memcmp(k->text, "EXTERNAL", 8))
                c->s.external = true;
        }
    } else if (xmpp_is(st, XMPP_NS_STREAMS, "error") || xmpp_is(st, XMPP_NS_SASL, "failure")) {
        const xmpp_node_t *k = st->children;
        while (k && !strcmp(k->name, "text"))
            k = k->next;
        snprintf(c->s.cond, sizeof c->s.cond, "%s", k ? k->name : "undefined-condition");
        const xmpp_node_t *t = xmpp_child(st, NULL, "text");
        if (t && t->text)
            snprintf(c->s.text, sizeof c->s.text, "%.*s", (int)t->text_len, t->text);
    }
    if (xmpp_is(st, XMPP_NS_TLS, "proceed"))
        xmpp_parser_pause(c->p); /* TLS bytes follow, not XML */
}

static void on_close(void *user)
{
    ((conn_t *)user)->s.closed = true;
}

/* Writes all of s. false (c->err) on failure or timeout. */
static bool put(conn_t *c, const char *s)
{
    size_t len = strlen(s), off = 0;
    uint64_t deadline = now_ms() + c->to;
    while (off < len) {
        ERR_clear_error();
        int r;
        if (c->ssl) {
            r = SSL_write(c->ssl, s + off, (int)(len - off));
            if (r <= 0) {
                int se = SSL_get_error(c->ssl, r);
                if ((se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) &&
                    wait_fd(c->fd, se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                    continue;
                snprintf(c->err, sizeof c->err, "could not write on the TLS stream");
                return false;
            }
        } else {
            r = (int)send(c->fd, s + off, len - off, MSG_NOSIGNAL);
            if (r < 0) {
                if ((errno == EAGAIN || errno == EINTR) && wait_fd(c->fd, POLLOUT, deadline))
                    continue;
                snprintf(c->err, sizeof c->err, "could not write: %s", strerror(errno));
                return false;
            }
        }
        off += (size_t)r;
    }
    return true;
}

/* Reads until the parser has handed over one more top-level element (or
 * the stream header and the element after it when want_open); the peer
 * answers each of our steps with one element, so c->s.last is that
 * answer. After <proceed/> the parser pauses (xmpp_parser_reset before
 * the next stream). false (c->err) on error, close or timeout. */
static bool read_element(conn_t *c, bool want_open)
{
    uint64_t deadline = now_ms() + c->to;
    c->s.last[0] = '\0';
    for (;;) {
        if (want_open ? c->s.opened && c->s.last[0] : c->s.last[0] != '\0')
            return true;
        char buf[4096];
        int n;
        ERR_clear_error();
        if (c->ssl) {
            n = SSL_read(c->ssl, buf, sizeof buf);
            if (n <= 0) {
                int se = SSL_get_error(c->ssl, n);
                if ((se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) &&
                    wait_fd(c->fd, se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                    continue;
                if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
                    snprintf(c->err, sizeof c->err, "no answer within %u ms", c->to);
                else
                    snprintf(c->err, sizeof c->err, "the peer closed the TLS stream");
                return false;
            }
        } else {
            n = (int)recv(c->fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (wait_fd(c->fd, POLLIN, deadline))
                    continue;
                snprintf(c->err, sizeof c->err, "no answer within %u ms", c->to);
                return false;
            }
            if (n <= 0) {
                snprintf(c->err, sizeof c->err, "the peer closed the connection%s%s",
                         n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
                return false;
            }
        }
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used = 0;
            int r = xmpp_parser_feed(c->p, buf + off, (size_t)n - off, &used);
            if (r < 0) {
                snprintf(c->err, sizeof c->err, "the peer did not speak XMPP: %s (%s)",
                         xmpp_parser_condition(c->p), xmpp_parser_reason(c->p));
                return false;
            }
            off += r == 1 ? used : (size_t)n - off;
            if (r == 1 && c->s.last[0] && !strcmp(c->s.last, "proceed"))
                return true; /* TLS bytes follow, not XML */
        }
        if (c->s.closed) {
            snprintf(c->err, sizeof c->err, "the peer closed the stream");
            return false;
        }
    }
}

/* read_element, with a stream error the peer sent before closing named
 * in c->err (RFC 6120 §4.9: condition and text). */
static bool next_element(conn_t *c, bool want_open)
{
    bool ok = read_element(c, want_open);
    if (!ok && c->s.cond[0] && !strcmp(c->s.last, "error")) {
        char why[256];
        snprintf(why, sizeof why, "%.100s", c->err);
        snprintf(c->err, sizeof c->err, "stream error <%s/>%s%s%s (%.100s)", c->s.cond,
                 c->s.text[0] ? ": \"" : "", c->s.text, c->s.text[0] ? "\"" : "", why);
    }
    return ok;
}

static char *stream_header(const char *from, const char *to)
{
    return plan__fmt("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                     "xmlns:stream='http://etherx.jabber.org/streams' "
                     "xmlns:db='jabber:server:dialback' from='%s' to='%s' version='1.0'>",
                     from, to);
}

/* Opens a stream and reads up to its features. */
static bool open_stream(conn_t *c, const char *from, const char *to)
{
    memset(&c->s, 0, sizeof c->s);
    char *h = stream_header(from, to);
    bool ok = put(c, h);
    free(h);
    if (!ok || !next_element(c, true))
        return false;
    if (!c->s.features && c->s.cond[0]) {
        snprintf(c->err, sizeof c->err, "stream error <%s/>%s%s%s instead of stream features",
                 c->s.cond, c->s.text[0] ? ": \"" : "", c->s.text, c->s.text[0] ? "\"" : "");
        return false;
    }
    if (!c->s.features) {
        snprintf(c->err, sizeof c->err, "the peer sent <%s/> instead of stream features",
                 c->s.last);
        return false;
    }
    return true;
}

static const char *sa_text(const dns_addr_t *a, char *buf, size_t n)
{
    inet_ntop(a->family, a->family == AF_INET6 ? (const void *)&a->u.v6 : (const void *)&a->u.v4,
              buf, (socklen_t)n);
    return buf;
}

static void skip_rest(plan_report_t *r, size_t from, const char *why)
{
    for (size_t i = from; i < plan_probe_xmpp_n_steps; i++)
        plan_report_add(r, plan_probe_xmpp_steps[i], "-", PLAN_SKIP, 0, why, NULL, NULL);
}

/* TCP connect with a deadline; the fd is left non-blocking. -1 (err). */
static int tcp_connect(const dns_addr_t *a, uint16_t port, unsigned to, char *err, size_t n)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (a->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = a->u.v6;
        s6->sin6_port = htons(port);
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_addr = a->u.v4;
        s4->sin_port = htons(port);
        sl = sizeof *s4;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, n, "socket: %s", strerror(errno));
        return -1;
    }
    int r = connect(fd, (struct sockaddr *)&ss, sl);
    if (r < 0 && errno != EINPROGRESS) {
        snprintf(err, n, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    if (r < 0) {
        if (!wait_fd(fd, POLLOUT, now_ms() + to)) {
            snprintf(err, n, "no answer within %u ms (timed out)", to);
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t l = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
        if (soerr) {
            snprintf(err, n, "%s", strerror(soerr));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* The TLS handshake on c->fd and the check of the partner's certificate
 * for domain (RFC 6120 §13.7.2: the certificate names the XMPP domain).
 * Reports the tls step. */
static bool do_tls(conn_t *c, SSL_CTX *ctx, const char *domain, plan_report_t *r)
{
    const char *name = plan__tmp("TLS with %s", domain);
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, domain);
    uint64_t deadline = now_ms() + c->to;
    for (;;) {
        ERR_clear_error();
        int x = SSL_connect(c->ssl);
        if (x == 1)
            break;
        int se = SSL_get_error(c->ssl, x);
        if ((se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) &&
            wait_fd(c->fd, se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
            continue;
        unsigned long e = ERR_peek_last_error();
        int reason = e ? ERR_GET_REASON(e) : 0;
        char b[200] = "timed out or closed";
        if (e)
            ERR_error_string_n(e, b, sizeof b);
        bool alert = reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
        plan_report_add(r, "tls", name, PLAN_FAIL,
                        alert ? PLAN_DIAG_PROBE_REFUSED_US : PLAN_DIAG_PROBE_TLS,
                        plan__tmp("the TLS handshake after <proceed/> failed: %s", b),
                        alert ? "the partner trusts the CA that issued our certificate"
                              : "compare TLS versions and ciphers with the partner",
                        NULL);
        return false;
    }
    long v = SSL_get_verify_result(c->ssl);
    X509 *peer = SSL_get0_peer_certificate(c->ssl);
    if (!peer || v != X509_V_OK) {
        bool expired = v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID;
        plan_report_add(r, "tls", name, PLAN_FAIL,
                        expired ? PLAN_DIAG_PROBE_EXPIRED : PLAN_DIAG_PROBE_UNTRUSTED,
                        plan__tmp("the partner's certificate does not verify: %s",
                                  peer ? X509_verify_cert_error_string(v) : "none presented"),
                        expired ? "the partner renews its certificate"
                                : "add the partner's CA to [xmpp] ca_file (or [external] ca_file)",
                        NULL);
        return false;
    }
    if (X509_check_host(peer, domain, 0, 0, NULL) != 1) {
        plan_report_add(r, "tls", name, PLAN_FAIL, PLAN_DIAG_PROBE_NAME,
                        plan__tmp("the partner's certificate does not name %s", domain),
                        "the partner gets a certificate naming its XMPP domain", NULL);
        return false;
    }
    plan_report_add(r, "tls", name, PLAN_PASS, 0,
                    plan__tmp("%s, the partner's certificate verifies and names %s",
                              SSL_get_version(c->ssl), domain),
                    NULL, NULL);
    return true;
}

/* After TLS: a new stream, its features, SASL EXTERNAL when offered. */
static void do_auth(conn_t *c, const char *local, const char *domain, plan_report_t *r)
{
    const char *name = plan__tmp("authentication with %s", domain);
    xmpp_parser_reset(c->p);
    if (!open_stream(c, local, domain)) {
        /* Partners that refuse our certificate (e.g. Prosody's
         * s2s_secure_auth) end the stream here, before any mechanism. */
        plan_report_add(r, "auth", name, PLAN_FAIL, PLAN_DIAG_XMPP_AUTH,
                        plan__tmp("the stream restarted after TLS failed: %s", c->err),
                        "our certificate names our domain and the partner trusts its CA; read "
                        "the partner's stream error",
                        NULL);
        return;
    }
    const char *db = c->s.dialback ? "dialback offered" : "dialback not offered";
    if (c->s.external) {
        unsigned char b64[4 * 260 / 3 + 8];
        EVP_EncodeBlock(b64, (const unsigned char *)local, (int)strlen(local));
        char *a = plan__fmt("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                            "mechanism='EXTERNAL'>%s</auth>",
                            (const char *)b64);
        bool ok = put(c, a) && next_element(c, false);
        free(a);
        if (ok && !strcmp(c->s.last, "success")) {
            c->restarted = true; /* RFC 6120 §6.4.6: a new stream is due */
            plan_report_add(
                r, "auth", name, PLAN_PASS, 0,
                plan__tmp("SASL EXTERNAL with our certificate as %s succeeded (%s)", local, db),
                NULL, NULL);
            return;
        }
        plan_report_add(r, "auth", name, c->s.dialback ? PLAN_WARN : PLAN_FAIL, PLAN_DIAG_XMPP_AUTH,
                        plan__tmp("SASL EXTERNAL as %s refused: %s; %s", local,
                                  ok ? (c->s.cond[0] ? c->s.cond : c->s.last) : c->err, db),
                        "the partner trusts our CA and our certificate names our domain", NULL);
        return;
    }
    if (c->s.dialback) {
        plan_report_add(r, "auth", name, PLAN_WARN, PLAN_DIAG_XMPP_AUTH,
                        plan__tmp("SASL EXTERNAL not offered to %s (mechanisms: %s); dialback "
                                  "offered: the partner verifies us by calling back %s",
                                  local, c->s.mechs[0] ? c->s.mechs : "none", local),
                        "allow dialback for the partner (fedge xmpp allow DOMAIN --dialback on), "
                        "or have it trust our CA for SASL EXTERNAL",
                        NULL);
        return;
    }
    plan_report_add(r, "auth", name, PLAN_FAIL, PLAN_DIAG_XMPP_AUTH,
                    plan__tmp("neither SASL EXTERNAL nor dialback offered to %s (mechanisms: %s)",
                              local, c->s.mechs[0] ? c->s.mechs : "none"),
                    "the partner trusts our CA (SASL EXTERNAL) or enables dialback", NULL);
}

int plan_probe_xmpp(const config_t *cfg, const char *domain, const plan_live_opts_t *o,
                    plan_report_t *r, fedge_err_t *err)
{
    unsigned to = o->timeout_ms ? o->timeout_ms : 3000;
    /* A partner closing while we write on TLS (OpenSSL writes with
     * write(2)) must be a finding, not SIGPIPE; restored at the end. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    sigaction(SIGPIPE, &ign, &old_pipe);
    const char *local = cfg->edge.sip_domain_count ? cfg->edge.sip_domains[0] : cfg->edge.fqdn;
    const char *cert = cfg->xmpp.certificate ? cfg->xmpp.certificate : cfg->external.certificate;
    const char *key = cfg->xmpp.certificate ? cfg->xmpp.private_key : cfg->external.private_key;
    const char *ca = cfg->xmpp.ca_file ? cfg->xmpp.ca_file : cfg->external.ca_file;
    const char *capath = cfg->xmpp.ca_file ? NULL : cfg->external.ca_path;
    SSL_CTX *ctx = plan__tls_ctx(cert, key, ca, capath, cfg->external.tls_min_version, err);
    if (!ctx) {
        sigaction(SIGPIPE, &old_pipe, NULL);
        return FEDGE_ECONFIG;
    }
    plan__dns_t d;
    int rc = plan__dns_open(&d, cfg, err);
    if (rc < 0) {
        SSL_CTX_free(ctx);
        sigaction(SIGPIPE, &old_pipe, NULL);
        return rc;
    }
    plan__route_t *rt = calloc(1, sizeof *rt);
    if (!rt)
        abort();
    const char *srv = plan__tmp("SRV %s%s", DNS_XMPP_SERVER_PREFIX, domain);
    if (plan__dns_route(&d, DNS_XMPP_SERVER_PREFIX, domain, rt) < 0) {
        fedge_err(err, FEDGE_EINVAL, "'%s' is not a valid domain name", domain);
        rc = FEDGE_EINVAL;
        goto out;
    }
    if (rt->status == DNS_NXDOMAIN || rt->status == DNS_NODATA) {
        /* RFC 6120 §3.2.2: no SRV, the domain itself at 5269. */
        plan_report_add(r, "srv", srv, PLAN_INFO, 0,
                        plan__tmp("no record (%s): falling back to %s port %d",
                                  dns_status_str(rt->status), domain, XMPP_DEFAULT_PORT),
                        NULL, NULL);
        memset(rt, 0, sizeof *rt);
        rt->n = 1;
        plan__dns_host(&d, domain, &rt->targets[0]);
        rt->targets[0].port = XMPP_DEFAULT_PORT;
    } else if (rt->status != DNS_OK) {
        bool nosvc = rt->status == DNS_NOSERVICE;
        plan_report_add(r, "srv", srv, PLAN_FAIL,
                        nosvc ? PLAN_DIAG_PROBE_NO_SERVICE : PLAN_DIAG_PROBE_NO_SRV,
                        plan__tmp("look-up failed: %s %s", dns_status_str(rt->status), rt->detail),
                        nosvc ? "the partner declares no XMPP server-to-server service"
                              : "check [dns] servers and the partner's zone",
                        NULL);
        skip_rest(r, 1, "the SRV look-up failed");
        goto out;
    } else {
        char list[512] = "";
        for (size_t i = 0; i < rt->n; i++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s:%u", i ? ", " : "", rt->targets[i].name,
                     (unsigned)rt->targets[i].port);
        }
        plan_report_add(r, "srv", srv, PLAN_PASS, 0, plan__tmp("targets %s", list), NULL, NULL);
    }
    /* The first target with an address, then its first address that takes
     * TCP, as the gateway's outbound stream does. */
    const plan__target_t *t = NULL;
    for (size_t i = 0; i < rt->n && !t; i++)
        if (rt->targets[i].n)
            t = &rt->targets[i];
    if (!t) {
        plan_report_add(r, "address", plan__tmp("A/AAAA %s", rt->targets[0].name), PLAN_FAIL,
                        PLAN_DIAG_PROBE_NO_ADDRESS,
                        plan__tmp("no address (%s %s)", dns_status_str(rt->targets[0].status),
                                  rt->targets[0].detail),
                        "the partner publishes the address records of its XMPP server", NULL);
        skip_rest(r, 2, "no address to connect to");
        goto out;
    }
    char ab[INET6_ADDRSTRLEN];
    plan_report_add(
        r, "address", plan__tmp("A/AAAA %s", t->name), PLAN_PASS, 0,
        plan__tmp("%zu address(es), first %s", t->n, sa_text(&t->addrs[0], ab, sizeof ab)), NULL,
        NULL);
    conn_t c = {.fd = -1, .to = to};
    char terr[512] = "";
    size_t ai = 0;
    for (; ai < t->n && c.fd < 0; ai++) {
        char e1[160];
        c.fd = tcp_connect(&t->addrs[ai], t->port, to, e1, sizeof e1);
        if (c.fd < 0) {
            size_t l = strlen(terr);
            snprintf(terr + l, sizeof terr - l, "%s%s: %s", l ? "; " : "",
                     sa_text(&t->addrs[ai], ab, sizeof ab), e1);
        }
    }
    const char *tname = plan__tmp("TCP %s port %u", t->name, (unsigned)t->port);
    if (c.fd < 0) {
        plan_report_add(r, "tcp", tname, PLAN_FAIL, PLAN_DIAG_PROBE_TCP, terr,
                        "the partner's XMPP server is down, or a firewall blocks the port", NULL);
        skip_rest(r, 3, "no TCP connection");
        goto out;
    }
    plan_report_add(r, "tcp", tname, PLAN_PASS, 0,
                    plan__tmp("connected to %s", sa_text(&t->addrs[ai - 1], ab, sizeof ab)), NULL,
                    NULL);
    xmpp_parser_cbs_t cbs = {on_open, on_stanza, on_close};
    xmpp_parser_new(NULL, &cbs, &c, &c.p);
    const char *sname = plan__tmp("XMPP stream %s -> %s", local, domain);
    if (!open_stream(&c, local, domain)) {
        plan_report_add(r, "stream", sname, PLAN_FAIL, PLAN_DIAG_XMPP_STREAM, c.err,
                        "the SRV record points at the partner's XMPP server-to-server port, and "
                        "the partner serves our target domain",
                        NULL);
        skip_rest(r, 4, "no XMPP stream");
        goto conn_out;
    }
    plan_report_add(r, "stream", sname, PLAN_PASS, 0,
                    plan__tmp("stream opened, features:%s%s%s%s", c.s.starttls ? " starttls" : "",
                              c.s.dialback ? " dialback" : "", c.s.mechs[0] ? " " : "",
                              c.s.mechs[0] ? c.s.mechs : ""),
                    NULL, NULL);
    const char *stname = plan__tmp("STARTTLS with %s", domain);
    if (!c.s.starttls) {
        plan_report_add(r, "starttls", stname, PLAN_FAIL, PLAN_DIAG_XMPP_STARTTLS,
                        "the partner does not offer STARTTLS",
                        "the partner enables TLS for server-to-server streams (fedge requires it "
                        "unless allowed with --tls optional)",
                        NULL);
        skip_rest(r, 5, "no STARTTLS");
        goto conn_out;
    }
    if (!put(&c, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") ||
        !next_element(&c, false) || strcmp(c.s.last, "proceed")) {
        plan_report_add(
            r, "starttls", stname, PLAN_FAIL, PLAN_DIAG_XMPP_STARTTLS,
            c.s.last[0] ? plan__tmp("the partner answered <%s/> to <starttls/>", c.s.last) : c.err,
            "read the partner's server log for its TLS set-up", NULL);
        skip_rest(r, 5, "STARTTLS refused");
        goto conn_out;
    }
    plan_report_add(r, "starttls", stname, PLAN_PASS, 0,
                    c.s.starttls_required ? "<proceed/> (TLS required by the partner)"
                                          : "<proceed/>",
                    NULL, NULL);
    if (!do_tls(&c, ctx, domain, r)) {
        skip_rest(r, 6, "TLS failed");
        goto conn_out;
    }
    do_auth(&c, local, domain, r);
    if (!c.restarted)
        put(&c, "</stream:stream>");
conn_out:
    if (c.ssl) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    ERR_clear_error();
    xmpp_parser_free(c.p);
    close(c.fd);
out:
    free(rt);
    plan__dns_close(&d);
    SSL_CTX_free(ctx);
    sigaction(SIGPIPE, &old_pipe, NULL);
    return rc;
}
