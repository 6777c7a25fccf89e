/* test_udp.c — the UDP socket of src/net/udp.c on a real loop over
 * loopback: whole datagrams up with their source, sends to an address,
 * oversized datagrams dropped (never cut), bad addresses refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char data[2048];
    size_t len;
    char ip[64];
    uint16_t port;
    unsigned n;
} got_t;

static void on_recv(net_udp_t *u, const char *buf, size_t len, const char *ip, uint16_t port)
{
    got_t *g = net_udp_user(u);
    size_t k = len < sizeof(g->data) ? len : sizeof(g->data);
    memcpy(g->data, buf, k);
    g->len = len;
    snprintf(g->ip, sizeof(g->ip), "%s", ip);
    g->port = port;
    g->n++;
}

/* Runs the loop until *n reaches want or 2 s pass. */
static void run_until(uv_loop_t *loop, const unsigned *n, unsigned want)
{
    uint64_t end = uv_hrtime() + 2000000000ull;
    while (*n < want && uv_hrtime() < end)
        uv_run(loop, UV_RUN_NOWAIT);
}

static void test_datagrams_both_ways(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    got_t ga = {0}, gb = {0};
    net_udp_t *a, *b;
    fedge_err_t e;
    assert_int_equal(net_udp_open(&loop, "127.0.0.1", 0, 1500, on_recv, &ga, &a, &e), 0);
    assert_int_equal(net_udp_open(&loop, "127.0.0.1", 0, 65535, on_recv, &gb, &b, &e), 0);
    assert_int_not_equal(net_udp_port(a), 0);

    /* one datagram is one message, with its source address */
    const char msg[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
    assert_int_equal(net_udp_send(b, "127.0.0.1", net_udp_port(a), msg, sizeof(msg) - 1, &e), 0);
    run_until(&loop, &ga.n, 1);
    assert_int_equal(ga.n, 1);
    assert_int_equal(ga.len, sizeof(msg) - 1);
    assert_memory_equal(ga.data, msg, ga.len);
    assert_string_equal(ga.ip, "127.0.0.1");
    assert_int_equal(ga.port, net_udp_port(b));

    /* the answer goes back to that source (brackets accepted for v4 too) */
    assert_int_equal(net_udp_send(a, "[127.0.0.1]", ga.port, "pong", 4, &e), 0);
    run_until(&loop, &gb.n, 1);
    assert_int_equal(gb.n, 1);
    assert_int_equal(gb.len, 4);

    /* larger than a's max_datagram: dropped, never handed up cut */
    char *big = malloc(4000);
    memset(big, 'x', 4000);
    assert_int_equal(net_udp_send(b, "127.0.0.1", net_udp_port(a), big, 4000, &e), 0);
    assert_int_equal(net_udp_send(b, "127.0.0.1", net_udp_port(a), "after", 5, &e), 0);
    run_until(&loop, &ga.n, 2);
    assert_int_equal(ga.n, 2);
    assert_int_equal(ga.len, 5); /* the next one, whole */
    assert_int_equal(net_udp_dropped(a), 1);
    free(big);

    /* names are not addresses */
    assert_int_equal(net_udp_send(b, "localhost", 5060, "x", 1, &e), FEDGE_EINVAL);
    net_udp_t *bad;
    assert_int_equal(net_udp_open(&loop, "edge.contoso.test", 0, 0, on_recv, NULL, &bad, &e),
                     FEDGE_EINVAL);
    assert_null(bad);
    /* the port in use */
    assert_int_equal(net_udp_open(&loop, "127.0.0.1", net_udp_port(a), 0, on_recv, NULL, &bad, &e),
                     FEDGE_EIO);
    assert_non_null(strstr(e.msg, "cannot listen on UDP 127.0.0.1:"));

    net_udp_close(a);
    net_udp_close(b);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_ipv6(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    got_t g = {0};
    net_udp_t *a, *b;
    fedge_err_t e;
    assert_int_equal(net_udp_open(&loop, "::1", 0, 0, on_recv, &g, &a, &e), 0);
    assert_int_equal(net_udp_open(&loop, "[::1]", 0, 0, on_recv, NULL, &b, &e), 0);
    assert_int_equal(net_udp_send(b, "::1", net_udp_port(a), "v6", 2, &e), 0);
    run_until(&loop, &g.n, 1);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ip, "::1");
    net_udp_close(a);
    net_udp_close(b);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datagrams_both_ways),
        cmocka_unit_test(test_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
