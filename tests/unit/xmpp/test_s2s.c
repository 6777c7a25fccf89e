/* test_s2s.c — tests of the XMPP server-to-server service (src/xmpp/s2s.c):
 * two services on one libuv loop, contoso.test and fabrikam.test, over
 * real TCP on 127.0.0.1 with real TLS (certificates from scripts/gen-certs):
 * STARTTLS then SASL EXTERNAL; dialback with the certificate shortcut and
 * with the full verify round-trip; refusals (blocked partner, TLS required
 * but skipped, SASL refused, unknown domain) and hostile streams (a header
 * that never ends, a stream that never authenticates, a 10 MB stanza). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmpp/xmpp.h"

static char pki[64];
static uv_loop_t loop;
static uv_timer_t tick;
static net_t *net;
static dns_t *dns;
static net_tls_t *tls_c, *tls_f, *tls_nocert;

typedef struct {
    const char *name;
    xmpp_s2s_t *s;
    uint16_t peer_port;    /* where the other service listens */
    const char *peer_host; /* its address (NULL: 127.0.0.1) */
    bool sasl, dialback, tls_required, blocked;
    int stanzas;
    char last_body[256], last_from[256];
    char log[16384];
} side_t;

static side_t C, F, G; /* G: a second contoso.test service */

typedef struct {
    struct net_conn *c;
    char in[8192];
    size_t len;
    int closed;
} raw_t;
static raw_t raws[8];
static int nraw;

static void policy(void *user, const char *domain, xmpp_peer_policy_t *out)
{
    side_t *me = user;
    memset(out, 0, sizeof *out);
    out->allowed = !me->blocked;
    if (me->blocked)
        snprintf(out->why, sizeof out->why, "%s is blocked", domain);
    out->tls_required = me->tls_required;
    out->sasl = me->sasl;
    out->dialback = me->dialback;
    snprintf(out->host, sizeof out->host, "%s", me->peer_host ? me->peer_host : "127.0.0.1");
    out->port = me->peer_port;
}

static void on_stanza(void *user, const char *remote, const char *local, const xmpp_node_t *st)
{
    side_t *me = user;
    me->stanzas++;
    const xmpp_node_t *b = xmpp_child(st, NULL, "body");
    snprintf(me->last_body, sizeof me->last_body, "%s", b ? b->text : "");
    snprintf(me->last_from, sizeof me->last_from, "%s", xmpp_attr(st, "from"));
}

static void log_cb(void *user, int level, const char *msg)
{
    side_t *me = user;
    size_t l = strlen(me->log);
    snprintf(me->log + l, sizeof me->log - l, "%s\n", msg);
}

typedef struct {
    int calls, code;
    char cond[64], reason[256];
} sent_t;

static void sent_cb(void *user, int code, const char *cond, const char *reason)
{
    sent_t *t = user;
    t->calls++;
    t->code = code;
    snprintf(t->cond, sizeof t->cond, "%s", cond);
    snprintf(t->reason, sizeof t->reason, "%s", reason);
}

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void tick_cb(uv_timer_t *t) {}

#define RUN_UNTIL(cond, ms)                                                                        \
    do {                                                                                           \
        uint64_t end_ = mono_ms() + (ms);                                                          \
        uv_timer_start(&tick, tick_cb, 5, 5);                                                      \
        while (!(cond) && mono_ms() < end_)                                                        \
            uv_run(&loop, UV_RUN_ONCE);                                                            \
        uv_timer_stop(&tick);                                                                      \
    } while (0)

static net_tls_t *tls_of(const char *leaf)
{
    char crt[200], key[200], ca[200];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    net_tls_opts_t o = {.ca_file = ca};
    if (leaf) {
        snprintf(crt, sizeof crt, "%s/%s.crt", pki, leaf);
        snprintf(key, sizeof key, "%s/%s.key", pki, leaf);
        o.certificate = crt;
        o.private_key = key;
    }
    net_tls_t *t;
    fedge_err_t e;
    assert_int_equal(net_tls_new(&o, &t, &e), 0);
    return t;
}

static void start_side(side_t *me, const char *domain, net_tls_t *tls, net_tls_t *client_tls,
                       unsigned open_timeout_ms)
{
    const char *doms[1] = {domain};
    xmpp_s2s_opts_t o = {.loop = &loop,
                         .net = net,
                         .dns = dns,
                         .tls = tls,
                         .client_tls = client_tls,
                         .listen = "127.0.0.1:0",
                         .domains = doms,
                         .n_domains = 1,
                         .open_timeout_ms = open_timeout_ms,
                         .limits = {.max_stanza_bytes = 65536},
                         .cbs = {policy, on_stanza, log_cb},
                         .user = me};
    fedge_err_t e;
    assert_int_equal(xmpp_s2s_new(&o, &me->s, &e), 0);
    me->name = domain;
}

/* Both services with the given settings (the same on both sides unless
 * changed after). */
static void start_both(bool sasl, bool dialback, net_tls_t *c_client_tls)
{
    C.sasl = F.sasl = sasl;
    C.dialback = F.dialback = dialback;
    C.tls_required = F.tls_required = true;
    start_side(&C, "contoso.test", tls_c, c_client_tls, 3000);
    start_side(&F, "fabrikam.test", tls_f, NULL, 3000);
    C.peer_port = xmpp_s2s_port(F.s);
    F.peer_port = xmpp_s2s_port(C.s);
}

static const char msg[] = "<message from='alice@contoso.test' to='bob@fabrikam.test' "
                          "type='chat' id='m1'><body>hello &amp; \xc3\xa9</body></message>";

static int setup(void **state)
{
    nraw = 0;
    memset(&C, 0, sizeof C);
    memset(&F, 0, sizeof F);
    memset(&G, 0, sizeof G);
    if (uv_loop_init(&loop))
        return -1;
    uv_timer_init(&loop, &tick);
    net_opts_t no = {.handshake_timeout_ms = 3000};
    fedge_err_t e;
    if (net_new(&loop, &no, &net, &e))
        return -1;
    dns_opts_t d;
    dns_opts_default(&d);
    d.servers = "127.0.0.1:9"; /* never asked: the policy names the host */
    if (dns_new(&loop, &d, &dns, &e))
        return -1;
    tls_c = tls_of("edge.contoso.test");
    tls_f = tls_of("edge.fabrikam.test");
    tls_nocert = tls_of(NULL);
    return 0;
}

static int teardown(void **state)
{
    if (C.s)
        xmpp_s2s_free(C.s);
    if (F.s)
        xmpp_s2s_free(F.s);
    if (G.s)
        xmpp_s2s_free(G.s);
    RUN_UNTIL(false, 50);
    net_destroy(net);
    dns_free(dns);
    net_tls_free(tls_c);
    net_tls_free(tls_f);
    net_tls_free(tls_nocert);
    uv_close((uv_handle_t *)&tick, NULL);
    uint64_t end = mono_ms() + 5000;
    while (uv_run(&loop, UV_RUN_NOWAIT) && mono_ms() < end)
        usleep(1000);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static void test_starttls_sasl_external(void **state)
{
    start_both(true, false, NULL);
    sent_t t = {0};
    fedge_err_t e;
    assert_int_equal(
        xmpp_s2s_send(C.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &t, &e), 0);
    assert_int_equal(t.calls, 0); /* never inside the call */
    RUN_UNTIL(F.stanzas == 1 && t.calls == 1, 5000);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.code, 0);
    assert_int_equal(F.stanzas, 1);
    assert_string_equal(F.last_body, "hello & \xc3\xa9");
    assert_string_equal(F.last_from, "alice@contoso.test");
    assert_non_null(strstr(C.log, "outbound stream contoso.test -> fabrikam.test authenticated "
                                  "by SASL EXTERNAL (TLS)"));
    assert_non_null(strstr(F.log, "inbound stream fabrikam.test <- contoso.test authenticated "
                                  "by SASL EXTERNAL (TLS)"));
    /* A second stanza reuses the stream. */
    t.calls = 0;
    assert_int_equal(
        xmpp_s2s_send(C.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &t, &e), 0);
    RUN_UNTIL(F.stanzas == 2, 3000);
    assert_int_equal(F.stanzas, 2);
    xmpp_s2s_stats_t st;
    xmpp_s2s_stats(C.s, &st);
    assert_int_equal(st.streams_out, 1);
    assert_int_equal(st.authed_out, 1);
    assert_int_equal(st.stanzas_out, 2);
}

/* One service, two listeners (127.0.0.1 and ::1): a stream accepted on
 * either is authenticated and delivers, and both count in the one
 * service's figures. */
static void test_two_listeners(void **state)
{
    start_both(true, false, NULL);
    uint16_t p6 = 0;
    fedge_err_t e;
    assert_int_equal(xmpp_s2s_listen(F.s, "[::1]:0", &p6, &e), 0);
    assert_true(p6 > 0);
    assert_int_not_equal(p6, xmpp_s2s_port(F.s));
    G.sasl = true;
    G.tls_required = true;
    start_side(&G, "contoso.test", tls_c, NULL, 3000);
    G.peer_host = "::1";
    G.peer_port = p6;
    sent_t t = {0}, u = {0};
    assert_int_equal(
        xmpp_s2s_send(C.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &t, &e), 0);
    assert_int_equal(
        xmpp_s2s_send(G.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &u, &e), 0);
    RUN_UNTIL(F.stanzas == 2 && t.calls == 1 && u.calls == 1, 5000);
    assert_int_equal(F.stanzas, 2);
    assert_int_equal(t.code, 0);
    assert_int_equal(u.code, 0);
    xmpp_s2s_stats_t st;
    xmpp_s2s_stats(F.s, &st);
    assert_int_equal(st.authed_in, 2);
    /* G reached F only through [::1]:p6, C only through 127.0.0.1 */
    /* an address already taken is refused with its name */
    char hp[32];
    snprintf(hp, sizeof hp, "[::1]:%u", p6);
    assert_int_equal(xmpp_s2s_listen(F.s, hp, NULL, &e), FEDGE_EIO);
}

/* Dialback only, and C's outbound certificate names its domain: F accepts
 * on the certificate (XEP-0344) without calling back. */
static void test_dialback_certificate_shortcut(void **state)
{
    start_both(false, true, NULL);
    sent_t t = {0};
    assert_int_equal(
        xmpp_s2s_send(C.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &t, NULL),
        0);
    RUN_UNTIL(F.stanzas == 1, 5000);
    assert_int_equal(F.stanzas, 1);
    assert_non_null(strstr(F.log, "authenticated by dialback (certificate, XEP-0344)"));
    assert_non_null(strstr(C.log, "authenticated by dialback (TLS)"));
}

/* Dialback only and no client certificate from C: F must ask C's
 * authoritative server (C's own listener) with <db:verify>. */
static void test_dialback_verify_round_trip(void **state)
{
    start_both(true, true, tls_nocert);
    sent_t t = {0};
    assert_int_equal(
        xmpp_s2s_send(C.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &t, NULL),
        0);
    RUN_UNTIL(F.stanzas == 1, 5000);
    assert_int_equal(F.stanzas, 1);
    assert_int_equal(t.code, 0);
    /* SASL EXTERNAL was not offered (no certificate): dialback, verified
     * by the round trip. */
    assert_non_null(strstr(F.log, "xmpp dialback fabrikam.test <- contoso.test: valid "
                                  "(authoritative server says valid)"));
    assert_non_null(strstr(F.log, "authenticated by dialback (TLS)"));
}

/* SASL only, no client certificate: nothing left to authenticate with. */
static void test_sasl_only_without_certificate_fails(void **state)
{
    start_both(true, false, tls_nocert);
    sent_t t = {0};
    assert_int_equal(
        xmpp_s2s_send(C.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &t, NULL),
        0);
    RUN_UNTIL(t.calls == 1, 5000);
    assert_int_equal(t.calls, 1);
    assert_true(t.code < 0);
    assert_string_equal(t.cond, "not-authorized");
    assert_non_null(strstr(t.reason, "offers no authentication allowed"));
    assert_int_equal(F.stanzas, 0);
}

/* F blocks contoso.test: C's stanza fails with policy-violation; and F
 * refuses to send to a blocked domain at once. */
static void test_blocked_partner_both_ways(void **state)
{
    start_both(true, true, NULL);
    F.blocked = true;
    sent_t t = {0};
    assert_int_equal(
        xmpp_s2s_send(C.s, "contoso.test", "fabrikam.test", msg, strlen(msg), sent_cb, &t, NULL),
        0);
    RUN_UNTIL(t.calls == 1, 5000);
    assert_int_equal(t.calls, 1);
    assert_string_equal(t.cond, "policy-violation");
    assert_non_null(strstr(t.reason, "contoso.test is blocked"));
    fedge_err_t e;
    assert_int_equal(
        xmpp_s2s_send(F.s, "fabrikam.test", "contoso.test", msg, strlen(msg), sent_cb, &t, &e),
        FEDGE_EPERM);
    assert_non_null(strstr(e.msg, "blocked"));
    assert_int_equal(
        xmpp_s2s_send(F.s, "other.test", "contoso.test", msg, strlen(msg), NULL, NULL, &e),
        FEDGE_EINVAL);
}

/* A raw plain-TCP peer; returns what it read (NUL-terminated). Static:
 * a connection left open is closed by the teardown, after the test. */

static void raw_ready(net_conn_t *c) {}

static void raw_data(net_conn_t *c, const char *buf, size_t len)
{
    raw_t *r = net_conn_user(c);
    if (r->len + len < sizeof r->in) {
        memcpy(r->in + r->len, buf, len);
        r->len += len;
        r->in[r->len] = '\0';
    }
}

static void raw_close(net_conn_t *c, int code, const char *reason)
{
    ((raw_t *)net_conn_user(c))->closed++;
}

static raw_t *raw_open(uint16_t port)
{
    raw_t *r = &raws[nraw++];
    memset(r, 0, sizeof *r);
    net_connect_opts_t o = {
        .host = "127.0.0.1", .port = port, .user = r, .cbs = {raw_ready, raw_data, raw_close}};
    fedge_err_t e;
    assert_int_equal(net_connect(net, &o, &r->c, &e), 0);
    return r;
}

#define HDR(from, to)                                                                              \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "                                   \
    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "           \
    "version='1.0' from='" from "' to='" to "'>"

/* TLS required: a peer that skips STARTTLS and goes for dialback in clear
 * is refused; the features said <required/>. */
static void test_tls_required_refuses_plaintext(void **state)
{
    start_both(false, true, NULL);
    raw_t *r = raw_open(xmpp_s2s_port(F.s));
    const char *h = HDR("contoso.test", "fabrikam.test");
    net_conn_write(r->c, h, strlen(h));
    RUN_UNTIL(strstr(r->in, "</stream:features>"), 3000);
    assert_non_null(strstr(r->in, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"));
    assert_null(strstr(r->in, "dialback xmlns")); /* not before TLS when TLS is required */
    const char *db = "<db:result from='contoso.test' to='fabrikam.test'>abcd</db:result>";
    net_conn_write(r->c, db, strlen(db));
    RUN_UNTIL(r->closed, 3000);
    assert_non_null(strstr(r->in, "<policy-violation"));
    assert_non_null(strstr(r->in, "STARTTLS is required"));
    /* TLS optional: the same peer is offered dialback before TLS. */
    F.tls_required = false;
    r = raw_open(xmpp_s2s_port(F.s));
    net_conn_write(r->c, h, strlen(h));
    RUN_UNTIL(strstr(r->in, "</stream:features>"), 3000);
    assert_non_null(strstr(r->in, "<dialback xmlns='urn:xmpp:features:dialback'>"));
    assert_null(strstr(r->in, "<required/>"));
}

static void test_unknown_domain_and_bad_namespace(void **state)
{
    start_both(true, true, NULL);
    raw_t *r = raw_open(xmpp_s2s_port(F.s));
    const char *h = HDR("contoso.test", "nobody.test");
    net_conn_write(r->c, h, strlen(h));
    RUN_UNTIL(r->closed, 3000);
    assert_non_null(strstr(r->in, "<host-unknown"));
    r = raw_open(xmpp_s2s_port(F.s));
    const char *c2s = "<stream:stream xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' to='fabrikam.test'>";
    net_conn_write(r->c, c2s, strlen(c2s));
    RUN_UNTIL(r->closed, 3000);
    assert_non_null(strstr(r->in, "<invalid-namespace"));
}

/* Hostile streams: closed with their stream error, bounded. */
static void test_hostile_streams(void **state)
{
    start_both(true, true, NULL);
    F.tls_required = false;
    /* A header that never ends. */
    raw_t *r = raw_open(xmpp_s2s_port(F.s));
    const char *start = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' ";
    net_conn_write(r->c, start, strlen(start));
    for (int i = 0; i < 600 && !r->closed; i++)
        net_conn_write(r->c, "a0000='x' ", 10);
    RUN_UNTIL(r->closed, 3000);
    assert_int_equal(r->closed, 1);
    assert_non_null(strstr(r->in, "<policy-violation"));
    /* A stream that never authenticates: the deadline (3 s here). */
    r = raw_open(xmpp_s2s_port(F.s));
    const char *h = HDR("contoso.test", "fabrikam.test");
    net_conn_write(r->c, h, strlen(h));
    uint64_t t0 = mono_ms();
    RUN_UNTIL(r->closed, 6000);
    assert_int_equal(r->closed, 1);
    assert_true(mono_ms() - t0 >= 2500);
    assert_non_null(strstr(r->in, "<connection-timeout"));
    /* 10 MB in one stanza (the limit here is 64 KiB). */
    r = raw_open(xmpp_s2s_port(F.s));
    net_conn_write(r->c, h, strlen(h));
    net_conn_write(r->c, "<message><body>", 15);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 160 && !r->closed; i++) {
        net_conn_write(r->c, chunk, sizeof chunk);
        RUN_UNTIL(false, 1);
    }
    RUN_UNTIL(r->closed, 3000);
    assert_int_equal(r->closed, 1);
    assert_non_null(strstr(r->in, "<policy-violation"));
    assert_non_null(strstr(r->in, "stanza larger than 65536"));
    /* A billion-laughs header. */
    r = raw_open(xmpp_s2s_port(F.s));
    const char *lol = "<?xml version='1.0'?><!DOCTYPE s [<!ENTITY a 'aaaaaaaaaa'>"
                      "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>";
    net_conn_write(r->c, lol, strlen(lol));
    RUN_UNTIL(r->closed, 3000);
    assert_int_equal(r->closed, 1);
    /* the server side ends once it has the client's EOF (lingering close) */
    xmpp_s2s_stats_t st;
    RUN_UNTIL((xmpp_s2s_stats(F.s, &st), st.streams_in == 0), 3000);
    assert_int_equal(st.streams_in, 0);
}

static int group_setup(void **state)
{
    signal(SIGPIPE, SIG_IGN); /* as fedge serve does */
    snprintf(pki, sizeof pki, "/tmp/fedge-s2s-XXXXXX");
    if (!mkdtemp(pki))
        return -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "scripts/gen-certs %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_starttls_sasl_external),
        T(test_dialback_certificate_shortcut),
        T(test_dialback_verify_round_trip),
        T(test_sasl_only_without_certificate_fails),
        T(test_blocked_partner_both_ways),
        T(test_tls_required_refuses_plaintext),
        T(test_unknown_domain_and_bad_namespace),
        T(test_hostile_streams),
        T(test_two_listeners),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
