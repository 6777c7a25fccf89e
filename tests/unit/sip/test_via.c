/* test_via.c — unit tests of Via value parsing (sent-protocol, sent-by,
 * IPv6, LWS, branch/received/rport/maddr/ttl/alias parameters). */
#include "sip_test.h"

static sip_via_t V;

static int vp(const char *s)
{
    return sip_via_parse(s, strlen(s), &V);
}

static void test_basic(void **state)
{
    (void)state;
    assert_int_equal(
        vp("SIP/2.0/TLS "
           "edge.example.com:5061;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5062;alias"),
        0);
    assert_slice(V.proto_name, "SIP");
    assert_slice(V.proto_version, "2.0");
    assert_slice(V.transport, "TLS");
    assert_slice(V.host, "edge.example.com");
    assert_int_equal(V.host_kind, SIP_HOST_NAME);
    assert_true(V.has_port);
    assert_int_equal(V.port, 5061);
    assert_slice(V.branch, "z9hG4bK776asdhds");
    assert_slice(V.received, "192.0.2.1");
    assert_true(V.has_rport);
    assert_int_equal(V.rport, 5062);
    assert_true(V.has_alias);
    assert_slice(V.params, ";branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5062;alias");
    assert_slice(
        V.raw, "SIP/2.0/TLS "
               "edge.example.com:5061;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5062;alias");
}

static void test_minimal_and_absent(void **state)
{
    (void)state;
    assert_int_equal(vp("SIP/2.0/UDP 192.0.2.15"), 0);
    assert_int_equal(V.host_kind, SIP_HOST_IPV4);
    assert_false(V.has_port);
    assert_int_equal(V.port, 0);
    assert_int_equal(V.branch.len, 0);
    assert_false(V.has_rport);
    assert_false(V.has_alias);
    assert_int_equal(V.params.len, 0);
    assert_int_equal(vp("SIP/2.0/TCP h;rport"), 0);
    assert_true(V.has_rport);
    assert_int_equal(V.rport, 0);
    /* transports are tokens, unknown ones included (RFC 4475 3.1.1.10) */
    assert_int_equal(vp("SIP/2.0/UNKNOWN h"), 0);
    assert_slice(V.transport, "UNKNOWN");
    assert_int_equal(vp("sip/2.0/sctp h"), 0);
    assert_slice(V.proto_name, "sip");
}

static void test_lws_everywhere(void **state)
{
    (void)state;
    assert_int_equal(
        vp("  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  "), 0);
    assert_slice(V.transport, "TCP");
    assert_slice(V.host, "spindle.example.com");
    assert_slice(V.branch, "z9hG4bK9ikj8");
    assert_slice(V.params, ";\r\n  branch  =   z9hG4bK9ikj8");
    assert_int_equal(vp("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2 : 5060 ;rport;branch=390skdjuw"),
                     0);
    assert_slice(V.transport, "UDP");
    assert_int_equal(V.port, 5060);
    assert_slice(V.branch, "390skdjuw");
}

static void test_ipv6(void **state)
{
    (void)state;
    /* RFC 5118 §4.4, §4.5: received with and without brackets */
    assert_int_equal(
        vp("SIP/2.0/UDP [2001:db8::9:1]:5060;received=[2001:db8::9:255];branch=z9hG4bKas3"), 0);
    assert_slice(V.host, "[2001:db8::9:1]");
    assert_int_equal(V.host_kind, SIP_HOST_IPV6);
    assert_int_equal(V.port, 5060);
    assert_slice(V.received, "[2001:db8::9:255]");
    assert_int_equal(vp("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3"),
                     0);
    assert_slice(V.received, "2001:db8::9:255");
    assert_int_equal(vp("SIP/2.0/UDP [::ffff:192.0.2.10];maddr=[2001:db8::1]"), 0);
    assert_slice(V.maddr, "[2001:db8::1]");
    /* an IPv6 sent-by must be bracketed */
    assert_int_equal(vp("SIP/2.0/UDP 2001:db8::9:1;branch=z9hG4bKas3"), FEDGE_ESIP_VIA);
    assert_int_equal(vp("SIP/2.0/UDP [2001:db8::9:1;branch=z9hG4bKas3"), FEDGE_ESIP_VIA);
}

static void test_params(void **state)
{
    (void)state;
    assert_int_equal(vp("SIP/2.0/UDP h;ttl=16;maddr=224.2.0.1;x-ext=\"quoted, value\";flag"), 0);
    assert_slice(V.ttl, "16");
    assert_slice(V.maddr, "224.2.0.1");
    fedge_str_t v;
    assert_int_equal(sip_param_get(V.params, "x-ext", &v), 1);
    assert_slice(v, "\"quoted, value\"");
    assert_int_equal(sip_param_get(V.params, "flag", &v), 1);
    assert_int_equal(vp("SIP/2.0/UDP h;BRANCH=z9hG4bK1;RPORT=1"), 0);
    assert_slice(V.branch, "z9hG4bK1");
    assert_int_equal(V.rport, 1);
}

static void test_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "SIP/2.0",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0 UDP h",
        "SIP//UDP h",
        "SIP/2.0/UDPh",
        "SIP/2.0/UDP h:",
        "SIP/2.0/UDP h:65536",
        "SIP/2.0/UDP h:5x",
        "SIP/2.0/UDP h;",
        "SIP/2.0/UDP h;;",
        "SIP/2.0/UDP h;branch",
        "SIP/2.0/UDP h;branch=",
        "SIP/2.0/UDP h;branch=\"x\"",
        "SIP/2.0/UDP h;ttl=256",
        "SIP/2.0/UDP h;ttl",
        "SIP/2.0/UDP h;maddr=bad_host",
        "SIP/2.0/UDP h;received=example.com",
        "SIP/2.0/UDP h;received=1.2.3.999",
        "SIP/2.0/UDP h;rport=0x1",
        "SIP/2.0/UDP h;rport=70000",
        "SIP/2.0/UDP h junk",
        "SIP/2.0/UDP h;x=\"unterminated",
        "SIP/2.0/UDP h, SIP/2.0/UDP i",
        "SIP/2.0/UDP bad..host",
        "SIP/2.0/UDP h;=v",
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        if (vp(bad[i]) != FEDGE_ESIP_VIA)
            fail_msg("accepted '%s'", bad[i]);
    }
}

static void test_top_via_of_message(void **state)
{
    (void)state;
    const char *m =
        "OPTIONS sip:a@b SIP/2.0\r\n"
        "Via: SIP/2.0/TLS top.example.com;branch=z9hG4bKa, SIP/2.0/TLS second.example.com\r\n"
        "v: SIP/2.0/TLS third.example.com\r\n\r\n";
    assert_int_equal(parse_str(m), 0);
    const sip_via_t *v;
    assert_int_equal(sip_msg_via(&g_m, &v), 0);
    assert_slice(v->host, "top.example.com");
    assert_int_equal(g_m.nvias, 3);
    /* a bad second value does not spoil the top one, but the iteration
     * reports it */
    m = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TLS top.example.com, SIP/2.0/TLS\r\n\r\n";
    assert_int_equal(parse_str(m), 0);
    assert_int_equal(sip_msg_via(&g_m, &v), 0);
    sip_iter_t it;
    sip_via_t one;
    sip_iter_init(&it, &g_m, SIP_HDR_VIA);
    assert_int_equal(sip_iter_via(&it, &one, NULL), 1);
    assert_int_equal(sip_iter_via(&it, &one, NULL), FEDGE_ESIP_VIA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_minimal_and_absent),
        cmocka_unit_test(test_lws_everywhere),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_top_via_of_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
