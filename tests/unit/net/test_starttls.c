/* test_starttls.c — unit tests of net_conn_starttls (src/net/net.c): a
 * plain TCP connection upgraded to TLS in place on both ends, as XMPP's
 * STARTTLS does, with real sockets, a real libuv loop and certificates from
 * scripts/gen-certs; refusals and the handshake timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"

static char pki[64];

static char *pk(const char *name)
{
    static char bufs[8][300];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", pki, name);
    return b;
}

typedef struct {
    net_conn_t *c;
    int ready, closed, code;
    bool tls_at_ready[4];
    char reason[256];
    char data[4096];
    size_t len;
} tconn_t;

static tconn_t pool[8];
static int npool;
static tconn_t *srv_conn;
static uv_loop_t loop;
static net_t *srv, *cli;
static uv_timer_t tick;
static net_tls_t *srv_tls, *cli_tls;
static bool srv_upgrades = true; /* the server answers "GO" and upgrades */
static const char *cli_sni = "edge.contoso.test";

static void on_ready(net_conn_t *c)
{
    tconn_t *t = net_conn_user(c);
    if (!t) {
        t = &pool[npool++];
        memset(t, 0, sizeof *t);
        net_conn_set_user(c, t);
        srv_conn = t;
    }
    t->c = c;
    if (t->ready < 4)
        t->tls_at_ready[t->ready] = net_conn_is_tls(c) && net_conn_peer(c);
    t->ready++;
}

static void on_data(net_conn_t *c, const char *buf, size_t len)
{
    tconn_t *t = net_conn_user(c);
    if (t->len + len < sizeof t->data) {
        memcpy(t->data + t->len, buf, len);
        t->len += len;
        t->data[t->len] = '\0';
    }
    if (net_conn_is_inbound(c) && !net_conn_is_tls(c) && strstr(t->data, "STARTTLS\n")) {
        if (!srv_upgrades)
            return;
        assert_int_equal(net_conn_write(c, "GO\n", 3), 0);
        assert_int_equal(net_conn_starttls(c, srv_tls, true, NULL), 0);
        /* Written during the handshake: queued, sent encrypted after. */
        assert_int_equal(net_conn_write(c, "hello over tls\n", 15), 0);
        t->len = 0;
    } else if (!net_conn_is_inbound(c) && !net_conn_is_tls(c) && strstr(t->data, "GO\n")) {
        assert_int_equal(net_conn_starttls(c, cli_tls, false, cli_sni), 0);
        assert_false(net_conn_is_ready(c));
        t->len = 0;
    } else if (net_conn_is_inbound(c) && net_conn_is_tls(c) && strstr(t->data, "ping\n")) {
        assert_int_equal(net_conn_write(c, "pong\n", 5), 0);
    }
}

static void on_close(net_conn_t *c, int code, const char *reason)
{
    tconn_t *t = net_conn_user(c);
    t->closed++;
    t->code = code;
    snprintf(t->reason, sizeof t->reason, "%s", reason);
    t->c = NULL;
}

static const net_conn_cbs_t cbs = {on_ready, on_data, on_close};

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

#define RUN_UNTIL(cond, ms)                                                                        \
    do {                                                                                           \
        uint64_t end_ = mono_ms() + (ms);                                                          \
        uv_timer_start(&tick, tick_cb, 5, 5);                                                      \
        while (!(cond) && mono_ms() < end_)                                                        \
            uv_run(&loop, UV_RUN_ONCE);                                                            \
        uv_timer_stop(&tick);                                                                      \
    } while (0)

static net_tls_t *tls_of(const char *leaf, bool require)
{
    char crt[128], key[128];
    net_tls_opts_t o = {0};
    if (leaf) {
        snprintf(crt, sizeof crt, "%s.crt", leaf);
        snprintf(key, sizeof key, "%s.key", leaf);
        o.certificate = pk(crt);
        o.private_key = pk(key);
    }
    o.ca_file = pk("ca.crt");
    o.require_client_certificate = require;
    net_tls_t *t = NULL;
    fedge_err_t e = {{0}};
    assert_int_equal(net_tls_new(&o, &t, &e), 0);
    return t;
}

static int setup(void **state)
{
    memset(pool, 0, sizeof pool);
    npool = 0;
    srv_conn = NULL;
    srv_upgrades = true;
    cli_sni = "edge.contoso.test";
    if (uv_loop_init(&loop) != 0)
        return -1;
    uv_timer_init(&loop, &tick);
    net_opts_t o = {.handshake_timeout_ms = 600, .idle_timeout_ms = 30000};
    fedge_err_t e;
    if (net_new(&loop, &o, &srv, &e) || net_new(&loop, &o, &cli, &e))
        return -1;
    srv_tls = tls_of("edge.contoso.test", false);
    cli_tls = tls_of("edge.fabrikam.test", false);
    return 0;
}

static int teardown(void **state)
{
    net_destroy(srv);
    net_destroy(cli);
    net_tls_free(srv_tls);
    net_tls_free(cli_tls);
    uv_close((uv_handle_t *)&tick, NULL);
    uint64_t end = mono_ms() + 5000;
    while (uv_run(&loop, UV_RUN_NOWAIT) && mono_ms() < end)
        usleep(1000);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static tconn_t *start(void)
{
    net_listen_opts_t lo = {.host_port = "127.0.0.1:0", .cbs = cbs};
    net_listener_t *l;
    fedge_err_t e;
    assert_int_equal(net_listen(srv, &lo, &l, &e), 0);
    tconn_t *t = &pool[npool++];
    memset(t, 0, sizeof *t);
    net_connect_opts_t co = {
        .host = "127.0.0.1", .port = net_listener_port(l), .user = t, .cbs = cbs};
    assert_int_equal(net_connect(cli, &co, &t->c, &e), 0);
    RUN_UNTIL(t->ready && srv_conn, 3000);
    assert_non_null(srv_conn);
    assert_false(net_conn_is_tls(t->c));
    return t;
}

/* Plain, then STARTTLS, then TLS both ways: each side gets on_ready a second
 * time with the peer's verified identity; bytes written by the server during
 * the handshake arrive encrypted after it. */
static void test_upgrade_both_sides(void **state)
{
    tconn_t *t = start();
    /* Not before the protocol says so: a ready TLS/closing conn refuses. */
    assert_int_equal(net_conn_starttls(t->c, NULL, false, NULL), FEDGE_EINVAL);
    assert_int_equal(net_conn_write(t->c, "STARTTLS\n", 9), 0);
    RUN_UNTIL(t->ready == 2 && srv_conn->ready == 2 && strstr(t->data, "hello over tls"), 5000);
    assert_int_equal(t->ready, 2);
    assert_int_equal(srv_conn->ready, 2);
    assert_false(t->tls_at_ready[0]);
    assert_true(t->tls_at_ready[1]);
    assert_true(srv_conn->tls_at_ready[1]);
    assert_non_null(strstr(t->data, "hello over tls"));
    const net_peer_t *p = net_conn_peer(t->c);
    assert_true(p->verified);
    assert_true(net_peer_names(p, "edge.contoso.test"));
    const net_peer_t *q = net_conn_peer(srv_conn->c);
    assert_true(q->presented && q->verified);
    assert_true(net_peer_names(q, "edge.fabrikam.test"));
    assert_string_equal(net_conn_sni(srv_conn->c), "edge.contoso.test");
    /* Already TLS: a second upgrade is refused. */
    assert_int_equal(net_conn_starttls(t->c, cli_tls, false, NULL), FEDGE_EINVAL);
    t->len = 0;
    assert_int_equal(net_conn_write(t->c, "ping\n", 5), 0);
    RUN_UNTIL(strstr(t->data, "pong"), 3000);
    assert_string_equal(t->data, "pong\n");
    net_stats_t s;
    net_stats(srv, &s);
    assert_int_equal(s.handshakes_ok, 1);
    assert_int_equal(s.open_tls, 1);
}

/* The client checks the server's certificate exactly as net_connect does:
 * an SNI the certificate does not name still verifies (name checks are the
 * caller's), but a server certificate from an untrusted CA fails. */
static void test_upgrade_untrusted_server_fails(void **state)
{
    net_tls_free(srv_tls);
    srv_tls = tls_of("rogue.fabrikam.test", false);
    tconn_t *t = start();
    assert_int_equal(net_conn_write(t->c, "STARTTLS\n", 9), 0);
    RUN_UNTIL(t->closed, 5000);
    assert_int_equal(t->closed, 1);
    assert_int_equal(t->code, FEDGE_ETLS);
    assert_non_null(strstr(t->reason, "certificate"));
    assert_int_equal(t->ready, 1);
}

/* A server that never upgrades: the client's handshake times out after
 * handshake_timeout_ms counted from the upgrade, not from the connect. */
static void test_upgrade_handshake_timeout(void **state)
{
    tconn_t *t = start();
    srv_upgrades = false;
    assert_int_equal(net_conn_write(srv_conn->c, "GO\n", 3), 0);
    uint64_t t0 = mono_ms();
    RUN_UNTIL(t->closed, 5000);
    assert_int_equal(t->closed, 1);
    assert_int_equal(t->code, FEDGE_ETIMEDOUT);
    assert_true(mono_ms() - t0 >= 500);
}

/* The server side needs a certificate. */
static void test_server_side_needs_certificate(void **state)
{
    start();
    net_tls_t *nocert = tls_of(NULL, false);
    assert_int_equal(net_conn_starttls(srv_conn->c, nocert, true, NULL), FEDGE_EINVAL);
    assert_false(net_conn_is_tls(srv_conn->c));
    assert_true(net_conn_is_ready(srv_conn->c));
    net_tls_free(nocert);
}

static int group_setup(void **state)
{
    snprintf(pki, sizeof pki, "/tmp/fedge-starttls-XXXXXX");
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
        T(test_upgrade_both_sides),
        T(test_upgrade_untrusted_server_fails),
        T(test_upgrade_handshake_timeout),
        T(test_server_side_needs_certificate),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
