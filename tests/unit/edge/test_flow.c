/* test_flow.c — flow tokens of remote users' connections (src/edge/flow.c,
 * RFC 5626 §5.2): round trip for any connection number, one spelling per
 * token, forged / altered / truncated / foreign-key tokens refused, and the
 * Path value (RFC 3327) parsing as a SIP name-addr whose URI carries the
 * token, lr and ob; the edge's own Record-Route entry recognised in a
 * request's second crossing, and forged or foreign ones not honoured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge/flow.h"
#include "sip/sip.h"

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

static void test_round_trip(void **state)
{
    edge__flow_key_t k;
    fedge_err_t e;
    assert_int_equal(edge__flow_key_init(&k, &e), 0);
    static const uint64_t ids[] = {0, 1, 255, 256, 0x0123456789abcdefull, UINT64_MAX};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char tok[64];
        assert_int_equal(edge__flow_token(&k, ids[i], tok, sizeof(tok)), EDGE__FLOW_TOKEN_LEN);
        assert_int_equal(strlen(tok), EDGE__FLOW_TOKEN_LEN);
        assert_int_equal(
            strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            EDGE__FLOW_TOKEN_LEN);
        uint64_t back = 42;
        assert_int_equal(edge__flow_parse(&k, S(tok), &back), 0);
        assert_true(back == ids[i]);
    }
    /* Distinct connections, distinct tokens. */
    char a[64], b[64];
    edge__flow_token(&k, 7, a, sizeof(a));
    edge__flow_token(&k, 8, b, sizeof(b));
    assert_string_not_equal(a, b);
    /* Too small a buffer. */
    assert_int_equal(edge__flow_token(&k, 7, a, EDGE__FLOW_TOKEN_LEN), FEDGE_ENOSPC);
}

static void test_forgeries_refused(void **state)
{
    edge__flow_key_t k, other;
    fedge_err_t e;
    assert_int_equal(edge__flow_key_init(&k, &e), 0);
    assert_int_equal(edge__flow_key_init(&other, &e), 0);
    char tok[64];
    edge__flow_token(&k, 12345, tok, sizeof(tok));
    uint64_t id;
    /* Another process's key (a restart, or another member of a pool). */
    assert_int_equal(edge__flow_parse(&other, S(tok), &id), FEDGE_EINVAL);
    /* Every single-character change is refused. */
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t accepted = 0;
    for (size_t i = 0; i < EDGE__FLOW_TOKEN_LEN; i++)
        for (size_t j = 0; j < sizeof(alpha) - 1; j++) {
            char t[64];
            strcpy(t, tok);
            if (t[i] == alpha[j])
                continue;
            t[i] = alpha[j];
            if (edge__flow_parse(&k, S(t), &id) == 0)
                accepted++;
        }
    assert_int_equal(accepted, 0);
    /* Wrong lengths, wrong alphabet, empty. */
    char t[64];
    strcpy(t, tok);
    t[EDGE__FLOW_TOKEN_LEN - 1] = 0;
    assert_int_equal(edge__flow_parse(&k, S(t), &id), FEDGE_EINVAL);
    snprintf(t, sizeof(t), "%sA", tok);
    assert_int_equal(edge__flow_parse(&k, S(t), &id), FEDGE_EINVAL);
    strcpy(t, tok);
    t[3] = '+';
    assert_int_equal(edge__flow_parse(&k, S(t), &id), FEDGE_EINVAL);
    assert_int_equal(edge__flow_parse(&k, S(""), &id), FEDGE_EINVAL);
    assert_int_equal(edge__flow_parse(&k, (fedge_str_t){NULL, 0}, &id), FEDGE_EINVAL);
    assert_int_equal(edge__flow_parse(&k, S("alice"), &id), FEDGE_EINVAL);
}

static void test_path_value(void **state)
{
    edge__flow_key_t k;
    fedge_err_t e;
    assert_int_equal(edge__flow_key_init(&k, &e), 0);
    char path[256], tok[64];
    edge__flow_token(&k, 99, tok, sizeof(tok));
    int n = edge__flow_path(&k, 99, "edge.contoso.test", 5071, "tls", true, path, sizeof(path));
    assert_true(n > 0);
    char want[256];
    snprintf(want, sizeof(want), "<sip:%s@edge.contoso.test:5071;transport=tls;lr;ob>", tok);
    assert_string_equal(path, want);
    sip_nameaddr_t na;
    assert_int_equal(sip_nameaddr_parse(path, (size_t)n, &na), 0);
    assert_true(na.uri.lr);
    assert_int_equal(na.uri.port, 5071);
    assert_true(na.uri.user.len == EDGE__FLOW_TOKEN_LEN &&
                !memcmp(na.uri.user.s, tok, na.uri.user.len));
    assert_non_null(strstr(path, ";ob>"));
    uint64_t id = 0;
    assert_int_equal(edge__flow_parse(&k, na.uri.user, &id), 0);
    assert_true(id == 99);
    /* IPv6 host in brackets; no ob when the client did not ask. */
    n = edge__flow_path(&k, 99, "2001:db8::1", 5060, "tcp", false, path, sizeof(path));
    assert_true(n > 0);
    assert_int_equal(sip_nameaddr_parse(path, (size_t)n, &na), 0);
    assert_int_equal(na.uri.host_kind, SIP_HOST_IPV6);
    assert_null(strstr(path, ";ob"));
    assert_true(na.uri.transport.len == 3 && !memcmp(na.uri.transport.s, "tcp", 3));
    assert_int_equal(edge__flow_path(&k, 99, "edge.contoso.test", 5071, "tls", true, path, 20),
                     FEDGE_ENOSPC);
    assert_string_equal(path, "");
}

/* A request as the internal server sends it back to the edge: its own
 * Record-Route above the edge's two, the second of which carries tok. */
static int parse_rr(const char *rr_lines, sip_msg_t *m, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "INVITE sip:dave@fabrikam.test SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-k\r\n"
                     "%s"
                     "From: <sip:alice@contoso.test>;tag=a\r\n"
                     "To: <sip:dave@fabrikam.test>\r\n"
                     "Call-ID: rr-1\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Content-Length: 0\r\n\r\n",
                     rr_lines);
    assert_true(n > 0 && (size_t)n < cap);
    return sip_parse(buf, (size_t)n, NULL, m);
}

static void test_own_record_route(void **state)
{
    static sip_msg_t m;
    char buf[2048], rr[1024], tok[64], other[64];
    edge__flow_key_t k, k2;
    fedge_err_t e;
    assert_int_equal(edge__flow_key_init(&k, &e), 0);
    assert_int_equal(edge__flow_key_init(&k2, &e), 0);
    edge__flow_token(&k, 4242, tok, sizeof(tok));
    uint64_t id = 0;
    /* ours, below the internal server's entry and the edge's plain one,
     * both in one header and one per header */
    snprintf(rr, sizeof(rr),
             "Record-Route: <sip:10.0.0.5;lr>\r\n"
             "Record-Route: <sip:10.0.0.1:5070;transport=tcp;lr>, "
             "<sip:%s@192.0.2.1:443;transport=tls;lr>\r\n",
             tok);
    assert_int_equal(parse_rr(rr, &m, buf, sizeof(buf)), 0);
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 1);
    assert_true(id == 4242);
    /* no Record-Route, or entries without a user part: none */
    assert_int_equal(parse_rr("", &m, buf, sizeof(buf)), 0);
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 0);
    assert_int_equal(parse_rr("Record-Route: <sip:bob@10.0.0.5;lr>\r\n", &m, buf, sizeof(buf)), 0);
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 0);
    /* a token of another key (another edge, or this one before a restart) */
    edge__flow_token(&k2, 4242, other, sizeof(other));
    snprintf(rr, sizeof(rr), "Record-Route: <sip:%s@192.0.2.1:443;transport=tls;lr>\r\n", other);
    assert_int_equal(parse_rr(rr, &m, buf, sizeof(buf)), 0);
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 0);
    /* ours with one character changed (another connection's number, same
     * MAC), or a made-up token of the right length and alphabet */
    snprintf(other, sizeof(other), "%s", tok);
    other[3] = other[3] == 'A' ? 'B' : 'A';
    snprintf(rr, sizeof(rr), "Record-Route: <sip:%s@192.0.2.1:443;transport=tls;lr>\r\n", other);
    assert_int_equal(parse_rr(rr, &m, buf, sizeof(buf)), 0);
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 0);
    snprintf(rr, sizeof(rr), "Record-Route: <sip:%s@192.0.2.1:443;lr>\r\n",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(parse_rr(rr, &m, buf, sizeof(buf)), 0);
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 0);
    /* ours only in a Route (a request along a dialog), not Record-Route */
    snprintf(rr, sizeof(rr), "Route: <sip:%s@192.0.2.1:443;transport=tls;lr>\r\n", tok);
    assert_int_equal(parse_rr(rr, &m, buf, sizeof(buf)), 0);
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 0);
    /* a forged entry above ours does not hide ours */
    snprintf(rr, sizeof(rr),
             "Record-Route: <sip:AAAAAAAAAAAAAAAAAAAAAAAAAAA@203.0.113.9;lr>, "
             "<sip:%s@192.0.2.1:443;transport=tls;lr>\r\n",
             tok);
    assert_int_equal(parse_rr(rr, &m, buf, sizeof(buf)), 0);
    id = 0;
    assert_int_equal(edge__flow_in_record_route(&k, &m, &id), 1);
    assert_true(id == 4242);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_forgeries_refused),
        cmocka_unit_test(test_path_value),
        cmocka_unit_test(test_own_record_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
