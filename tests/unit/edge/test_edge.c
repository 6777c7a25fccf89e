/* test_edge.c — unit tests of src/edge/: a whole edge (edge_new) on a real
 * libuv loop over loopback, with real TLS (the test PKI of
 * scripts/gen-certs), real sockets, a real store and, where DNS is needed,
 * a dnsmasq started by the test. The partners, the internal SIP server and
 * the partner edges are connections of the net room in the same loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "edge/edge.h"
#include "net/net.h"
#include "obs/obs.h"
#include "sip/sip.h"
#include "store/store.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

static char pki[64]; /* generated certificates (the whole run) */
static char dir[64]; /* this test's configuration, store and logs */
static char logpath[128];
static FILE *logfp;

static uv_loop_t loop;
static uv_timer_t tick;
static net_t *pn; /* the peers' transport: partners, internal server */
static config_t *cf;
static edge_t *ed;

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until cond holds or ms have passed (a 5 ms tick keeps
 * uv_run returning so that cond is looked at). */
#define RUN_UNTIL(cond, ms)                                                                        \
    do {                                                                                           \
        uint64_t end_ = mono_ms() + (ms);                                                          \
        while (!(cond) && mono_ms() < end_)                                                        \
            uv_run(&loop, UV_RUN_ONCE);                                                            \
    } while (0)

static char *pk(const char *name)
{
    static char bufs[16][200];
    static int i;
    char *b = bufs[i++ % 16];
    snprintf(b, sizeof bufs[0], "%s/%s", pki, name);
    return b;
}

/* Prints the edge's log (on a failed expectation). */
static void show_log(void)
{
    if (logfp)
        fflush(logfp);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tail -n 40 %s >&2", logpath);
    if (system(cmd) != 0)
        fprintf(stderr, "(no log)\n");
}

/* ------------------------------------------------------------------ */
/* dnsmasq on loopback                                                 */
/* ------------------------------------------------------------------ */

static tu_dnsmasq_t dm;

/* Starts dnsmasq on a free port, authoritative for .test, with extra
 * options (NULL-terminated), its log in this test's folder. */
static void dm_start(const char *const *extra)
{
    const char *args[64] = {"--local=/test/"};
    size_t n = 1;
    for (size_t i = 0; extra && extra[i]; i++) {
        assert_true(n < 63);
        args[n++] = extra[i];
    }
    args[n] = NULL;
    dm.port = 0;
    tu_dnsmasq_start(&dm, dir, args);
}

/* ------------------------------------------------------------------ */
/* Peers: partners, the internal SIP server, partner edges             */
/* ------------------------------------------------------------------ */

#define MAX_MSGS 16

typedef struct role role_t;

typedef struct {
    net_conn_t *c;
    role_t *role; /* accepted: the listener's */
    int ready, closed, code;
    char reason[256];
    char *buf; /* every byte received */
    size_t len, cap, framed;
    sip_framer_t fr;
    size_t off[MAX_MSGS], mlen[MAX_MSGS]; /* the messages in buf */
    int nmsg;
} peer_t;

/* What a listener's accepted connections do. */
struct role {
    int answer; /* answer requests (not ACK) with this status; 0: never */
    peer_t *conns[8];
    int n;
};

static peer_t peers[32];
static int npeers;

static peer_t *peer_new(void)
{
    assert_true(npeers < (int)FEDGE_ARRAY_LEN(peers));
    peer_t *p = &peers[npeers++];
    memset(p, 0, sizeof *p);
    sip_framer_init(&p->fr, 1u << 20);
    return p;
}

static const char *msg_of(const peer_t *p, int i, size_t *len)
{
    *len = p->mlen[i];
    return p->buf + p->off[i];
}

/* The first header name of message i of p (any case), or NULL; its value
 * up to CRLF into out. */
static bool header(const peer_t *p, int i, const char *name, char *out, size_t cap)
{
    size_t len;
    const char *m = msg_of(p, i, &len);
    size_t nl = strlen(name);
    for (const char *l = strstr(m, "\r\n"); l && l < m + len; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (h[0] == '\r')
            break; /* end of headers */
        if (!strncasecmp(h, name, nl) && (h[nl] == ':' || h[nl] == ' ')) {
            const char *v = strchr(h, ':') + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return true;
        }
    }
    return false;
}

static int status_of(const peer_t *p, int i)
{
    size_t len;
    const char *m = msg_of(p, i, &len);
    return strncmp(m, "SIP/2.0 ", 8) ? 0 : atoi(m + 8);
}

/* Index of the first response with status st to method (CSeq), or -1. */
static int find_response(const peer_t *p, int st, const char *method)
{
    for (int i = 0; i < p->nmsg; i++) {
        char cseq[64];
        if (status_of(p, i) == st && header(p, i, "CSeq", cseq, sizeof cseq) &&
            strstr(cseq, method))
            return i;
    }
    return -1;
}

/* A response to request req (status st): its Via, From, To (tagged),
 * Call-ID and CSeq. */
static void answer(peer_t *p, const char *req, size_t len, int st)
{
    static sip_msg_t m;
    sip_limits_t lim;
    sip_limits_default(&lim);
    lim.max_message_size = 1u << 20;
    assert_int_equal(sip_parse(req, len, &lim, &m), 0);
    if (!m.is_request || m.method_id == SIP_METHOD_ACK)
        return;
    char out[4096];
    size_t o = (size_t)snprintf(out, sizeof out, "SIP/2.0 %d %s\r\n", st, st == 200 ? "OK" : "X");
    for (unsigned i = 0; i < m.nhdrs; i++) {
        const sip_hdr_t *h = &m.hdrs[i];
        if (h->id != SIP_HDR_VIA && h->id != SIP_HDR_FROM && h->id != SIP_HDR_TO &&
            h->id != SIP_HDR_CALL_ID && h->id != SIP_HDR_CSEQ)
            continue;
        size_t rl = h->raw.len - 2; /* without CRLF */
        bool tag = h->id == SIP_HDR_TO && !memmem(h->value.s, h->value.len, "tag=", 4);
        assert_true(o + rl + 16 < sizeof out);
        memcpy(out + o, h->raw.s, rl);
        o += rl;
        o += (size_t)snprintf(out + o, sizeof out - o, "%s\r\n", tag ? ";tag=uas" : "");
    }
    o += (size_t)snprintf(out + o, sizeof out - o, "Content-Length: 0\r\n\r\n");
    assert_int_equal(net_conn_write(p->c, out, o), 0);
}

static void on_ready(net_conn_t *c)
{
    if (net_conn_is_inbound(c)) {
        role_t *r = net_conn_user(c);
        peer_t *p = peer_new();
        p->role = r;
        p->c = c;
        if (r->n < (int)FEDGE_ARRAY_LEN(r->conns))
            r->conns[r->n++] = p;
        net_conn_set_user(c, p);
    }
    peer_t *p = net_conn_user(c);
    p->ready++;
}

static void on_data(net_conn_t *c, const char *buf, size_t len)
{
    peer_t *p = net_conn_user(c);
    if (p->len + len + 1 > p->cap) {
        p->cap = (p->len + len + 1) * 2;
        p->buf = fedge_realloc(p->buf, p->cap);
    }
    memcpy(p->buf + p->len, buf, len);
    p->len += len;
    p->buf[p->len] = 0;
    for (;;) {
        size_t unit = 0;
        int k = sip_framer_next(&p->fr, p->buf + p->framed, p->len - p->framed, &unit);
        assert_true(k >= 0);
        if (k == SIP_FRAME_NEED_MORE)
            break;
        if (k == SIP_FRAME_MESSAGE && p->nmsg < MAX_MSGS) {
            p->off[p->nmsg] = p->framed;
            p->mlen[p->nmsg] = unit;
            p->nmsg++;
            if (p->role && p->role->answer)
                answer(p, p->buf + p->framed, unit, p->role->answer);
        }
        p->framed += unit;
    }
}

static void on_close(net_conn_t *c, int code, const char *reason)
{
    peer_t *p = net_conn_user(c);
    if (!p)
        return;
    p->closed++;
    p->code = code;
    snprintf(p->reason, sizeof p->reason, "%s", reason);
    p->c = NULL;
}

static const net_conn_cbs_t cbs = {on_ready, on_data, on_close};

static net_tls_t *tls_of(const char *leaf)
{
    char crt[96], key[96];
    snprintf(crt, sizeof crt, "%s.crt", leaf);
    snprintf(key, sizeof key, "%s.key", leaf);
    net_tls_opts_t o = {.certificate = pk(crt),
                        .private_key = pk(key),
                        .ca_file = pk("ca.crt"),
                        .require_client_certificate = true};
    net_tls_t *t = NULL;
    fedge_err_t e;
    if (net_tls_new(&o, &t, &e) < 0)
        fail_msg("net_tls_new: %s", e.msg);
    return t;
}

/* A listener of the peers on 127.0.0.1:port (TLS with leaf's certificate
 * when leaf is not NULL) whose connections act as r says. */
static void peer_listen(int port, const char *leaf, role_t *r)
{
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
    net_tls_t *tls = leaf ? tls_of(leaf) : NULL;
    net_listen_opts_t o = {.host_port = hp, .tls = tls, .user = r, .cbs = cbs};
    fedge_err_t e;
    if (net_listen(pn, &o, NULL, &e) < 0)
        fail_msg("listen %s: %s", hp, e.msg);
    if (tls)
        net_tls_free(tls); /* the listener keeps its own reference */
}

/* A partner edge presenting leaf, connected to the edge's external side. */
static peer_t *partner(const char *leaf)
{
    net_tls_t *tls = tls_of(leaf);
    peer_t *p = peer_new();
    net_connect_opts_t o = {.host = "127.0.0.1",
                            .port = edge_port_external(ed),
                            .tls = tls,
                            .sni = "edge.contoso.test",
                            .user = p,
                            .cbs = cbs};
    fedge_err_t e;
    if (net_connect(pn, &o, &p->c, &e) < 0)
        fail_msg("connect: %s", e.msg);
    net_tls_free(tls); /* the connection keeps its own reference */
    RUN_UNTIL(p->ready || p->closed, 10000);
    assert_int_equal(p->ready, 1);
    return p;
}

/* An internal SIP client connected over TCP to the edge's internal side. */
static peer_t *internal_client(void)
{
    peer_t *p = peer_new();
    net_connect_opts_t o = {
        .host = "127.0.0.1", .port = edge_port_internal(ed), .user = p, .cbs = cbs};
    fedge_err_t e;
    if (net_connect(pn, &o, &p->c, &e) < 0)
        fail_msg("connect: %s", e.msg);
    RUN_UNTIL(p->ready || p->closed, 10000);
    assert_int_equal(p->ready, 1);
    return p;
}

/* Writes a request on p. extra: more header lines (each with CRLF). */
static void send_req(peer_t *p, const char *method, const char *ruri, const char *from,
                     const char *to, const char *call_id, const char *branch, int cseq,
                     const char *extra, const char *body, size_t body_len)
{
    size_t cap = 4096 + body_len;
    char *m = fedge_malloc(cap);
    int n = snprintf(m, cap,
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK%s\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <%s>;tag=f1\r\n"
                     "To: <%s>\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %d %s\r\n"
                     "%s"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     method, ruri, branch, from, to, call_id, cseq, method, extra ? extra : "",
                     body_len);
    assert_true(n > 0 && (size_t)n + body_len <= cap);
    if (body_len)
        memcpy(m + n, body, body_len);
    assert_int_equal(net_conn_write(p->c, m, (size_t)n + body_len), 0);
    free(m);
}

/* ------------------------------------------------------------------ */
/* The edge                                                            */
/* ------------------------------------------------------------------ */

static int uas_port;

/* Starts the edge: external side on a free port (mutual TLS, the edge's
 * certificate edge.contoso.test), internal side on a free port (TCP),
 * next hop 127.0.0.1:uas_port; federation and dns are the [federation]
 * and [dns] lines, limits more [limits] lines. allow: "domain" or
 * "domain=proxy_fqdn" put in the store first (NULL-terminated). */
static void edge_up(const char *federation, const char *dns, const char *limits,
                    const char *const *allow)
{
    char ini[160], db[160];
    snprintf(ini, sizeof ini, "%s/edge.ini", dir);
    snprintf(db, sizeof db, "%s/fedge.db", dir);
    store_t *st;
    fedge_err_t e;
    if (store_open(db, &st, &e) < 0)
        fail_msg("store: %s", e.msg);
    for (size_t i = 0; allow && allow[i]; i++) {
        char d[128];
        snprintf(d, sizeof d, "%s", allow[i]);
        char *fq = strchr(d, '=');
        if (fq)
            *fq++ = 0;
        if (store_domain_allow(st, d, fq, NULL, false, "test", &e) < 0)
            fail_msg("allow %s: %s", d, e.msg);
    }
    store_close(st);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f,
            "[edge]\nfqdn = edge.contoso.test\nsip_domains = contoso.test\nstore = %s\n\n"
            "[external]\nlisten = 127.0.0.1:%d\ncertificate = %s\nprivate_key = %s\n"
            "ca_file = %s\nrequire_client_certificate = yes\n\n"
            "[internal]\nlisten = 127.0.0.1:%d\ntransport = tcp\nnext_hop = 127.0.0.1:%d\n\n"
            "[federation]\n%s\n\n[dns]\n%s\n\n[limits]\n%s\n\n"
            "[log]\nlevel = debug\n\n[admin]\nlisten = 127.0.0.1:%d\n",
            db, tu_free_port(), pk("edge.contoso.test.crt"), pk("edge.contoso.test.key"),
            pk("ca.crt"), tu_free_port(), uas_port, federation, dns, limits ? limits : "",
            tu_free_port());
    fclose(f);
    if (config_load(ini, &cf, &e) < 0)
        fail_msg("config: %s", e.msg);
    int rc = edge_new(&loop, cf, &ed, &e);
    if (rc < 0)
        fail_msg("edge_new: %s", e.msg);
    assert_true(edge_port_external(ed) > 0);
    assert_true(edge_port_internal(ed) > 0);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(pki, sizeof pki, "/tmp/fedge-edge-pki-XXXXXX");
    if (!mkdtemp(pki))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "scripts/gen-certs %s >/dev/null && "
             "scripts/gen-certs %s edge1.wrongcert.test 'DNS:edge1.other.test' >/dev/null",
             pki, pki);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/fedge-edge-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(logpath, sizeof logpath, "%s/edge.log", dir);
    logfp = fopen(logpath, "w");
    if (!logfp)
        return -1;
    obs_log_init(OBS_LOG_DEBUG, OBS_LOG_TEXT, logfp);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, tick_cb, 5, 5);
    uv_unref((uv_handle_t *)&tick);
    fedge_err_t e;
    net_opts_t o = {.handshake_timeout_ms = 5000, .idle_timeout_ms = 60000};
    if (net_new(&loop, &o, &pn, &e) < 0)
        return -1;
    npeers = 0;
    uas_port = tu_free_port();
    return 0;
}

/* Drains the edge (twice: at once), closes the peers, runs the loop until
 * every handle is closed, and checks that the loop closes clean. */
static int teardown(void **state)
{
    (void)state;
    if (ed) {
        edge_drain(ed);
        edge_drain(ed);
    }
    net_destroy(pn);
    pn = NULL;
    /* the unref'd tick wakes the loop but does not keep it alive */
    uint64_t end = mono_ms() + 10000;
    while (uv_loop_alive(&loop) && mono_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    edge_free(ed);
    ed = NULL;
    config_free(cf);
    cf = NULL;
    int rc = uv_loop_close(&loop);
    tu_dnsmasq_stop(&dm);
    for (int i = 0; i < npeers; i++)
        free(peers[i].buf);
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, NULL);
    fclose(logfp);
    logfp = NULL;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return -1;
    if (rc != 0)
        fprintf(stderr, "loop not closed clean: %s\n", uv_strerror(rc));
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

/* An inbound request carrying forged ms-edge-proxy-message-trust headers
 * (any case, spaces before the colon) reaches the internal side with only
 * the edge's own. */
static void test_forged_trust_header_replaced_by_the_edges_own(void **state)
{
    (void)state;
    role_t uas = {.answer = 200};
    peer_listen(uas_port, NULL, &uas);
    static const char *const allow[] = {"fabrikam.test=edge.fabrikam.test", NULL};
    edge_up("routing = default-route\ndefault_route = 127.0.0.1:9", "", NULL, allow);
    peer_t *p = partner("edge.fabrikam.test");
    send_req(p, "MESSAGE", "sip:bob@contoso.test", "sip:alice@fabrikam.test",
             "sip:bob@contoso.test", "trust-1", "trust1", 1,
             "ms-edge-proxy-message-trust: ms-source-type=InternalUser;ms-ep-fqdn=evil.test\r\n"
             "MS-Edge-Proxy-Message-Trust \t: ms-source-type=InternalUser;ms-ep-fqdn=evil2\r\n",
             "hi", 2);
    RUN_UNTIL(uas.n == 1 && uas.conns[0]->nmsg == 1 && find_response(p, 200, "MESSAGE") >= 0,
              10000);
    if (uas.n != 1 || uas.conns[0]->nmsg != 1)
        show_log();
    assert_int_equal(uas.n, 1);
    peer_t *u = uas.conns[0];
    assert_int_equal(u->nmsg, 1);
    size_t len;
    const char *m = msg_of(u, 0, &len);
    int count = 0;
    for (const char *s = m; (s = strcasestr(s, "ms-edge-proxy-message-trust")) && s < m + len; s++)
        count++;
    assert_int_equal(count, 1);
    assert_null(memmem(m, len, "evil", 4));
    char v[512];
    assert_true(header(u, 0, "ms-edge-proxy-message-trust", v, sizeof v));
    assert_non_null(strstr(v, "ms-ep-fqdn=edge.contoso.test"));
    assert_non_null(strstr(v, "ms-source-network=federation"));
    assert_true(find_response(p, 200, "MESSAGE") >= 0);
}

/* dns-srv routing: the only SRV target of wrongcert.test presents a
 * certificate naming neither the domain nor the target: the connection is
 * refused, the request answered with the reason, and that server gets
 * nothing. */
static void test_server_certificate_naming_another_host_refused(void **state)
{
    (void)state;
    int edge_port = tu_free_port();
    char srv[128];
    snprintf(srv, sizeof srv,
             "--srv-host=_sipfederationtls._tcp.wrongcert.test,"
             "edge1.wrongcert.test,%d,10,10",
             edge_port);
    const char *extra[] = {srv, "--host-record=edge1.wrongcert.test,127.0.0.1", NULL};
    dm_start(extra);
    role_t wrong = {.answer = 200};
    peer_listen(edge_port, "edge1.wrongcert.test", &wrong);
    char dns[64];
    snprintf(dns, sizeof dns, "servers = 127.0.0.1:%d", dm.port);
    static const char *const allow[] = {"wrongcert.test", NULL};
    edge_up("routing = dns-srv", dns, NULL, allow);
    peer_t *c = internal_client();
    send_req(c, "MESSAGE", "sip:dave@wrongcert.test", "sip:carol@contoso.test",
             "sip:dave@wrongcert.test", "wrong-1", "wrong1", 1, NULL, "hi", 2);
    /* the server's side of the handshake ends on net's thread pool, maybe
     * after the edge (the client) has refused the certificate and answered */
    RUN_UNTIL(c->nmsg >= 1 && status_of(c, c->nmsg - 1) >= 200 && wrong.n >= 1, 15000);
    if (c->nmsg < 1)
        show_log();
    assert_true(c->nmsg >= 1);
    int i = c->nmsg - 1;
    assert_true(status_of(c, i) >= 500);
    char w[512];
    assert_true(header(c, i, "Warning", w, sizeof w));
    assert_non_null(strstr(w, "certificate does not name wrongcert.test or edge1.wrongcert.test"));
    /* the server was connected to, but got no byte of the request */
    assert_true(wrong.n >= 1);
    for (int k = 0; k < wrong.n; k++)
        assert_int_equal(wrong.conns[k]->len, 0);
}

/* A request parked while DNS verifies the peer (the DNS server never
 * answers) is answered 487 when its CANCEL arrives; the internal side
 * sees nothing. */
static void test_dns_parked_request_answered_487_on_cancel(void **state)
{
    (void)state;
    role_t uas = {.answer = 200};
    peer_listen(uas_port, NULL, &uas);
    /* a DNS server that never answers: a bound UDP socket nobody reads */
    int hole = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(hole, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(hole, (struct sockaddr *)&a, &al);
    char dns[96];
    snprintf(dns, sizeof dns, "servers = 127.0.0.1:%d\ntimeout = 5s\ntries = 1", ntohs(a.sin_port));
    static const char *const allow[] = {"fabrikam.test", NULL};
    edge_up("routing = dns-srv", dns, NULL, allow);
    peer_t *p = partner("edge.fabrikam.test");
    send_req(p, "INVITE", "sip:bob@contoso.test", "sip:alice@fabrikam.test", "sip:bob@contoso.test",
             "park-1", "park1", 1, "Contact: <sip:alice@127.0.0.1>\r\n", NULL, 0);
    RUN_UNTIL(find_response(p, 100, "INVITE") >= 0, 5000);
    if (find_response(p, 100, "INVITE") < 0)
        show_log();
    assert_true(find_response(p, 100, "INVITE") >= 0);
    assert_int_equal(find_response(p, 487, "INVITE"), -1);
    send_req(p, "CANCEL", "sip:bob@contoso.test", "sip:alice@fabrikam.test", "sip:bob@contoso.test",
             "park-1", "park1", 1, NULL, NULL, 0);
    RUN_UNTIL(find_response(p, 487, "INVITE") >= 0 && find_response(p, 200, "CANCEL") >= 0, 3000);
    if (find_response(p, 487, "INVITE") < 0)
        show_log();
    assert_true(find_response(p, 200, "CANCEL") >= 0);
    assert_true(find_response(p, 487, "INVITE") >= 0);
    assert_int_equal(uas.n, 0); /* nothing was forwarded */
    close(hole);
}

/* Regression: a request above 64 KiB (max_message_size allowing it) that
 * waits for DNS verification was answered "500 cannot add the trust
 * header", because the parked copy was parsed again with the default
 * limits. It is forwarded intact. */
static void test_over_64k_request_parked_for_dns_forwarded_intact(void **state)
{
    (void)state;
    const char *extra[] = {
        "--srv-host=_sipfederationtls._tcp.fabrikam.test,edge.fabrikam.test,5061,10,10",
        "--host-record=edge.fabrikam.test,127.0.0.1", NULL};
    dm_start(extra);
    role_t uas = {.answer = 200};
    peer_listen(uas_port, NULL, &uas);
    char dns[64];
    snprintf(dns, sizeof dns, "servers = 127.0.0.1:%d", dm.port);
    static const char *const allow[] = {"fabrikam.test", NULL};
    edge_up("routing = dns-srv", dns, "max_message_size = 256k", allow);
    peer_t *p = partner("edge.fabrikam.test");
    size_t blen = 100000;
    char *body = fedge_malloc(blen);
    for (size_t i = 0; i < blen; i++)
        body[i] = (char)('a' + i % 26);
    send_req(p, "MESSAGE", "sip:bob@contoso.test", "sip:alice@fabrikam.test",
             "sip:bob@contoso.test", "big-1", "big1", 1, NULL, body, blen);
    RUN_UNTIL((uas.n == 1 && uas.conns[0]->nmsg == 1 && find_response(p, 200, "MESSAGE") >= 0) ||
                  (p->nmsg > 0 && status_of(p, 0) >= 300),
              10000);
    if (uas.n != 1 || uas.conns[0]->nmsg != 1) {
        if (p->nmsg)
            fprintf(stderr, "partner got: %.*s\n", (int)p->mlen[0], p->buf + p->off[0]);
        show_log();
    }
    assert_int_equal(uas.n, 1);
    peer_t *u = uas.conns[0];
    assert_int_equal(u->nmsg, 1);
    size_t len;
    const char *m = msg_of(u, 0, &len);
    const char *b = memmem(m, len, "\r\n\r\n", 4);
    assert_non_null(b);
    b += 4;
    assert_int_equal((size_t)(m + len - b), blen);
    assert_memory_equal(b, body, blen);
    char v[512];
    assert_true(header(u, 0, "ms-edge-proxy-message-trust", v, sizeof v));
    assert_non_null(strstr(v, "ms-ep-fqdn=edge.contoso.test"));
    assert_true(find_response(p, 200, "MESSAGE") >= 0);
    free(body);
}

/* edge_drain: no new connections; the open transaction is finished; then
 * every connection of the edge is closed. */
static void test_drain_finishes_open_transaction_then_closes(void **state)
{
    (void)state;
    role_t uas = {.answer = 0}; /* answers by hand below */
    peer_listen(uas_port, NULL, &uas);
    static const char *const allow[] = {"fabrikam.test=edge.fabrikam.test", NULL};
    edge_up("routing = default-route\ndefault_route = 127.0.0.1:9", "", NULL, allow);
    peer_t *p = partner("edge.fabrikam.test");
    send_req(p, "MESSAGE", "sip:bob@contoso.test", "sip:alice@fabrikam.test",
             "sip:bob@contoso.test", "drain-1", "drain1", 1, NULL, "hi", 2);
    RUN_UNTIL(uas.n == 1 && uas.conns[0]->nmsg == 1, 10000);
    assert_int_equal(uas.n, 1);
    peer_t *u = uas.conns[0];
    assert_int_equal(u->nmsg, 1);

    assert_false(edge_draining(ed));
    edge_drain(ed);
    assert_true(edge_draining(ed));
    /* a new partner connection is refused: nobody listens any more */
    peer_t *late = peer_new();
    net_connect_opts_t o = {
        .host = "127.0.0.1", .port = edge_port_external(ed), .user = late, .cbs = cbs};
    fedge_err_t e;
    assert_int_equal(net_connect(pn, &o, &late->c, &e), 0);
    RUN_UNTIL(late->closed, 5000);
    assert_int_equal(late->closed, 1);
    assert_int_equal(late->ready, 0);

    /* the open MESSAGE still gets its answer through the edge */
    size_t len;
    const char *m = msg_of(u, 0, &len);
    answer(u, m, len, 200);
    RUN_UNTIL(find_response(p, 200, "MESSAGE") >= 0, 5000);
    assert_true(find_response(p, 200, "MESSAGE") >= 0);
    /* then the edge closes its connections on both sides */
    RUN_UNTIL(p->closed && u->closed, 5000);
    if (!p->closed || !u->closed)
        show_log();
    assert_int_equal(p->closed, 1);
    assert_int_equal(u->closed, 1);
    fflush(logfp);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "grep -q 'stopped abandoned_transactions=0' %s", logpath);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_forged_trust_header_replaced_by_the_edges_own),
        T(test_server_certificate_naming_another_host_refused),
        T(test_dns_parked_request_answered_487_on_cancel),
        T(test_over_64k_request_parked_for_dns_forwarded_intact),
        T(test_drain_finishes_open_transaction_then_closes),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
