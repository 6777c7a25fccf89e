/* test_nameaddr.c — unit tests of name-addr / addr-spec values (display
 * names, <uri>, header parameters, Contact *) and of CSeq values. */
#include "sip_test.h"

static sip_nameaddr_t N;

static int np(const char *s)
{
    return sip_nameaddr_parse(s, strlen(s), &N);
}

static void test_forms(void **state)
{
    (void)state;
    /* quoted display name with escapes, kept escaped */
    assert_int_equal(np("\"Alice \\\"A\\\" \\\\ Liddell\" <sip:alice@example.com>;tag=1928301774"),
                     0);
    assert_true(N.display_quoted);
    assert_slice(N.display, "Alice \\\"A\\\" \\\\ Liddell");
    assert_slice(N.uri_str, "sip:alice@example.com");
    assert_slice(N.uri.user, "alice");
    assert_slice(N.params, ";tag=1928301774");
    assert_true(N.has_tag);
    assert_slice(N.tag, "1928301774");
    assert_false(N.star);
    /* token display name, several words, no LWS before '<' (RFC 4475 3.1.1.6) */
    assert_int_equal(np("caller<sip:caller@example.com>;tag=323"), 0);
    assert_false(N.display_quoted);
    assert_slice(N.display, "caller");
    assert_int_equal(np("Bob  Smith\t<sip:bob@example.org>"), 0);
    assert_slice(N.display, "Bob  Smith");
    assert_false(N.has_tag);
    assert_int_equal(N.tag.len, 0);
    /* no display name */
    assert_int_equal(np("<sip:bob@example.org>"), 0);
    assert_int_equal(N.display.len, 0);
    /* empty quoted display name */
    assert_int_equal(np("\"\" <sip:bob@example.org>"), 0);
    assert_true(N.display_quoted);
    assert_int_equal(N.display.len, 0);
    /* UTF-8 in a quoted display name */
    assert_int_equal(np("\"\xc3\xa9l\xc3\xa8ve\" <sip:e@example.org>"), 0);
    assert_slice(N.display, "\xc3\xa9l\xc3\xa8ve");
    /* bare addr-spec: its parameters belong to the header (§20.10) */
    assert_int_equal(np("sip:bob@example.org;tag=t2;transport=tcp"), 0);
    assert_slice(N.uri_str, "sip:bob@example.org");
    assert_int_equal(N.uri.params.len, 0);
    assert_slice(N.tag, "t2");
    assert_slice(N.params, ";tag=t2;transport=tcp");
    /* inside <> the parameters belong to the URI */
    assert_int_equal(np("<sip:bob@example.org;transport=tcp>;tag=t2"), 0);
    assert_slice(N.uri.transport, "tcp");
    assert_slice(N.params, ";tag=t2");
    /* escaped URI in addr-spec form (RFC 4475 3.1.1.3) */
    assert_int_equal(np("sip:%75se%72@example.com"), 0);
    assert_slice(N.uri.user, "%75se%72");
    /* unknown schemes are opaque (RFC 4475 3.1.1.? unksm2) */
    assert_int_equal(np("isbn:2983792873"), 0);
    assert_int_equal(N.uri.scheme, SIP_URI_OTHER);
    assert_int_equal(np("<tel:+1-201-555-0123>;tag=x"), 0);
    assert_int_equal(N.uri.scheme, SIP_URI_TEL);
    /* URI headers are fine inside <> */
    assert_int_equal(np("<sip:user@host?Route=%3Csip:sip.example.com%3E>"), 0);
    assert_slice(N.uri.headers, "Route=%3Csip:sip.example.com%3E");
}

static void test_params_and_lws(void **state)
{
    (void)state;
    assert_int_equal(np("  \"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
                        "      newvalue ;\r\n  secondparam ; q = 0.33  "),
                     0);
    assert_slice(N.q, "0.33");
    assert_slice(N.raw, "\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
                        "      newvalue ;\r\n  secondparam ; q = 0.33");
    assert_int_equal(np("<sip:a@b>;expires=3600;q=1.000;+sip.instance=\"<urn:uuid:1>\""), 0);
    assert_slice(N.expires, "3600");
    assert_slice(N.q, "1.000");
    fedge_str_t v;
    assert_int_equal(sip_param_get(N.params, "+sip.instance", &v), 1);
    assert_slice(v, "\"<urn:uuid:1>\"");
    assert_int_equal(np("<sip:a@b> ;\r\n  tag = 98asjd8"), 0);
    assert_slice(N.tag, "98asjd8");
    const char *q_ok[] = {"0", "1", "0.5", "0.123", "1.0", "1.00", "0."};
    char buf[64];
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(q_ok); i++) {
        snprintf(buf, sizeof(buf), "<sip:a@b>;q=%s", q_ok[i]);
        if (np(buf) != 0)
            fail_msg("%s", buf);
    }
    const char *q_bad[] = {"2", "1.5", "0.1234", "x", "-0", ".5", ""};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(q_bad); i++) {
        snprintf(buf, sizeof(buf), "<sip:a@b>;q=%s", q_bad[i]);
        if (np(buf) != FEDGE_ESIP_HEADER)
            fail_msg("accepted %s", buf);
    }
}

static void test_star(void **state)
{
    (void)state;
    assert_int_equal(np("*"), 0);
    assert_true(N.star);
    assert_int_equal(np("  *  "), 0);
    assert_true(N.star);
    assert_int_equal(np("*;expires=0"), FEDGE_ESIP_URI);
}

static void test_errors(void **state)
{
    (void)state;
    const struct {
        const char *s;
        int err;
    } bad[] = {
        {"", FEDGE_ESIP_HEADER},
        {"   ", FEDGE_ESIP_HEADER},
        {"<sip:a@b>\"", FEDGE_ESIP_HEADER},                            /* stray quote at the end */
        {"\"Mr. J. User <sip:j.user@example.com>", FEDGE_ESIP_HEADER}, /* unterminated */
        {"\"a\\", FEDGE_ESIP_HEADER},
        {"\"a\" sip:a@b", FEDGE_ESIP_HEADER}, /* quoted name needs <> */
        {"<sip:a@b", FEDGE_ESIP_HEADER},
        {"<sip:a@b>;tag=", FEDGE_ESIP_HEADER},
        {"<sip:a@b>;tag", FEDGE_ESIP_HEADER},
        {"<sip:a@b>;tag=\"x\"", FEDGE_ESIP_HEADER},
        {"<sip:a@b>;tag=1;tag=2", FEDGE_ESIP_HEADER},
        {"<sip:a@b>;;tag=1", FEDGE_ESIP_HEADER},
        {"<sip:a@b>;expires=x", FEDGE_ESIP_HEADER},
        {"<sip:a@b>;expires=4294967296", FEDGE_ESIP_HEADER},
        {"<sip:a@b> junk", FEDGE_ESIP_HEADER},
        {"<sip:a@b>, <sip:c@d>", FEDGE_ESIP_HEADER},
        {"sip:user@example.com?Route=%3Csip:x%3E", FEDGE_ESIP_HEADER},
        {"< sip:t.watson@example.org >", FEDGE_ESIP_URI},
        {"Bell, Alexander <sip:a.g.bell@example.com>", FEDGE_ESIP_URI},
        {"Bob sip:bob@example.org", FEDGE_ESIP_URI},
        {"<sip:2001:db8::1>", FEDGE_ESIP_URI},
        {"<>", FEDGE_ESIP_URI},
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        int rc = np(bad[i].s);
        if (rc != bad[i].err)
            fail_msg("'%s': %d, want %d", bad[i].s, rc, bad[i].err);
    }
}

static void test_cseq(void **state)
{
    (void)state;
    sip_cseq_t c;
    assert_int_equal(sip_cseq_parse("4711 INVITE", 11, &c), 0);
    assert_int_equal(c.seq, 4711);
    assert_slice(c.method, "INVITE");
    assert_int_equal(c.method_id, SIP_METHOD_INVITE);
    const char *s = "\r\n 0009\r\n  NEWMETHOD ";
    assert_int_equal(sip_cseq_parse(s, strlen(s), &c), 0);
    assert_int_equal(c.seq, 9);
    assert_int_equal(c.method_id, SIP_METHOD_OTHER);
    assert_slice(c.method, "NEWMETHOD");
    const char *bad[] = {"",
                         "INVITE",
                         "1",
                         "1 ",
                         "x INVITE",
                         "1 INV@TE",
                         "2147483648 INVITE",
                         "4294967297 INVITE",
                         "-1 INVITE",
                         "1 INVITE BYE",
                         "1,INVITE"};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        if (sip_cseq_parse(bad[i], strlen(bad[i]), &c) != FEDGE_ESIP_CSEQ)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(sip_cseq_parse("0 ACK", 5, &c), 0);
    assert_int_equal(c.seq, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms), cmocka_unit_test(test_params_and_lws),
        cmocka_unit_test(test_star),  cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cseq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
