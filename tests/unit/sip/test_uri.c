/* test_uri.c — unit tests of URI parsing (sip, sips, tel, opaque), host and
 * port rules, parameter lookup and RFC 3261 §19.1.4 comparison. */
#include "sip_test.h"

static sip_uri_t U;

static int up(const char *s)
{
    return sip_uri_parse(s, strlen(s), &U);
}

static void test_sip_full(void **state)
{
    (void)state;
    assert_int_equal(up("sip:alice:secretword@atlanta.com:5061;transport=tcp;lr;maddr=239.255.255."
                        "1;ttl=15;user=phone;method=INVITE;x?subject=project%20x&priority=urgent"),
                     0);
    assert_int_equal(U.scheme, SIP_URI_SIP);
    assert_slice(U.scheme_str, "sip");
    assert_slice(U.user, "alice");
    assert_true(U.has_password);
    assert_slice(U.password, "secretword");
    assert_slice(U.host, "atlanta.com");
    assert_int_equal(U.host_kind, SIP_HOST_NAME);
    assert_true(U.has_port);
    assert_int_equal(U.port, 5061);
    assert_slice(U.params,
                 ";transport=tcp;lr;maddr=239.255.255.1;ttl=15;user=phone;method=INVITE;x");
    assert_slice(U.headers, "subject=project%20x&priority=urgent");
    assert_slice(U.transport, "tcp");
    assert_slice(U.maddr, "239.255.255.1");
    assert_slice(U.ttl, "15");
    assert_slice(U.user_param, "phone");
    assert_slice(U.method, "INVITE");
    assert_true(U.lr);
    assert_slice(U.raw, "sip:alice:secretword@atlanta.com:5061;transport=tcp;lr;maddr=239.255.255."
                        "1;ttl=15;user=phone;method=INVITE;x?subject=project%20x&priority=urgent");
}

static void test_sip_minimal_and_case(void **state)
{
    (void)state;
    assert_int_equal(up("SIPS:Example.COM"), 0);
    assert_int_equal(U.scheme, SIP_URI_SIPS);
    assert_slice(U.scheme_str, "SIPS");
    assert_int_equal(U.user.len, 0);
    assert_false(U.has_password);
    assert_false(U.has_port);
    assert_int_equal(U.port, 0);
    assert_int_equal(U.params.len, 0);
    assert_null(U.headers.s);
    assert_null(U.transport.s);
    assert_false(U.lr);
    /* empty password, port 0, trailing dot, parameter without value */
    assert_int_equal(up("sip:u:@h.example.com.:0;LR"), 0);
    assert_true(U.has_password);
    assert_int_equal(U.password.len, 0);
    assert_true(U.has_port);
    assert_int_equal(U.port, 0);
    assert_true(U.lr);
    assert_int_equal(up("sip:h:65535"), 0);
    assert_int_equal(U.port, 65535);
}

static void test_sip_unusual_valid(void **state)
{
    (void)state;
    /* RFC 4475 3.1.1.2: every user-unreserved and password character */
    assert_int_equal(up("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
                        ";;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"),
                     0);
    assert_slice(U.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert_slice(U.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert_slice(U.host, "example.com");
    /* RFC 4475 3.1.1.3: escapes in user, parameter names and values */
    assert_int_equal(up("sip:sips%3Auser%40example.com@example.net"), 0);
    assert_slice(U.user, "sips%3Auser%40example.com");
    assert_slice(U.host, "example.net");
    assert_int_equal(up("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31"), 0);
    assert_slice(U.params, ";%6C%72;n%61me=v%61lue%25%34%31");
    assert_int_equal(up("sip:%00@host5.example.net"), 0);
    /* RFC 4475 3.1.1.9: ';' in the user part */
    assert_int_equal(up("sip:user;par=u%40example.net@example.com"), 0);
    assert_slice(U.user, "user;par=u%40example.net");
    assert_slice(U.host, "example.com");
    assert_int_equal(U.params.len, 0);
    /* parameter characters [ ] / : & + $ */
    assert_int_equal(up("sip:h.example.com;x=[a]/b:c&d+e$"), 0);
    /* a header with an empty value */
    assert_int_equal(up("sip:h.example.com?a=&b=c"), 0);
    assert_slice(U.headers, "a=&b=c");
    /* a digit-led label is fine when the top label starts with a letter */
    assert_int_equal(up("sip:3com.example-1.com"), 0);
}

static void test_hosts(void **state)
{
    (void)state;
    assert_int_equal(up("sip:user@192.0.2.1:5060"), 0);
    assert_int_equal(U.host_kind, SIP_HOST_IPV4);
    assert_slice(U.host, "192.0.2.1");
    /* RFC 5118 */
    const char *v6[] = {
        "sip:[2001:db8::10]",
        "sip:[2001:db8::10]:5070",
        "sip:[2001:db8::10:5070]",
        "sip:user@[2001:db8:0:0:1:0:0:1]",
        "sip:[::ffff:192.0.2.10]",
        "sip:[::1]",
        "sip:[::]",
        "sip:[2001:DB8::9:1];maddr=[2001:db8::1]",
        "sip:[1:2:3:4:5:6:7:8]",
        "sip:[1::]",
        "sip:[1:2:3:4:5:6:192.0.2.1]",
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(v6); i++) {
        if (up(v6[i]) != 0)
            fail_msg("%s", v6[i]);
        assert_int_equal(U.host_kind, SIP_HOST_IPV6);
    }
    assert_int_equal(up("sip:[2001:db8::10]:5070"), 0);
    assert_slice(U.host, "[2001:db8::10]");
    assert_int_equal(U.port, 5070);
    const char *bad[] = {
        "sip:2001:db8::10",
        "sip:[2001:db8:::1]",
        "sip:[2001:db8::1::2]",
        "sip:[1:2:3:4:5:6:7:8:9]",
        "sip:[1:2:3:4:5:6:7]",
        "sip:[12345::1]",
        "sip:[2001:db8::g]",
        "sip:[2001:db8::1",
        "sip:[]",
        "sip:[::1]x",
        "sip:[1:2:3:4:5:6:7:192.0.2.1]",
        "sip:[:1:2::3]",
        "sip:[1::2:]",
        "sip:[::1%25eth0]",
        "sip:192.0.2.256",
        "sip:1.2.3",
        "sip:1.2.3.4.5",
        "sip:1..2.3",
        "sip:user@",
        "sip:-bad.example.com",
        "sip:bad-.example.com",
        "sip:a..b",
        "sip:a.b.1com",
        "sip:under_score.com",
        "sip:",
        "sip:@h",
        "sip:h:",
        "sip:h:65536",
        "sip:h:5o60",
        "sip:h:123456",
        "sip:h:-1",
        "sip:h;",
        "sip:h;=x",
        "sip:h;x=",
        "sip:h?",
        "sip:h?a",
        "sip:h?=b",
        "sip:h?a=b&",
        "sip:h x",
        "sip:a b@h",
        "sip:u%4@h",
        "sip:u%zz@h",
        "sip:u:p:q@h",
        "sip:u@h@i",
        "sip:h;a=\"b\"",
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        if (up(bad[i]) != FEDGE_ESIP_URI)
            fail_msg("accepted %s", bad[i]);
    }
}

static void test_tel_and_other(void **state)
{
    (void)state;
    assert_int_equal(up("tel:+1-201-555-0123;ext=12"), 0);
    assert_int_equal(U.scheme, SIP_URI_TEL);
    assert_slice(U.user, "+1-201-555-0123");
    assert_slice(U.params, ";ext=12");
    assert_int_equal(U.host.len, 0);
    assert_int_equal(up("tel:7042;phone-context=example.com"), 0);
    assert_slice(U.user, "7042");
    assert_int_equal(up("TEL:*21#"), 0);
    assert_int_equal(up("tel:"), FEDGE_ESIP_URI);
    assert_int_equal(up("tel:+"), FEDGE_ESIP_URI);
    assert_int_equal(up("tel:12 34"), FEDGE_ESIP_URI);
    assert_int_equal(up("tel:12@h"), FEDGE_ESIP_URI);

    assert_int_equal(up("mailto:alice@example.com"), 0);
    assert_int_equal(U.scheme, SIP_URI_OTHER);
    assert_slice(U.scheme_str, "mailto");
    assert_int_equal(up("nobodyKnowsThisScheme:totallyopaquecontent"), 0);
    assert_int_equal(up("soap.beep://192.0.2.103:3002"), 0);
    assert_int_equal(up("isbn:2983792873"), 0);
    assert_int_equal(up("urn:x"), 0);
    assert_int_equal(up("x:"), FEDGE_ESIP_URI);
    assert_int_equal(up("x:a b"), FEDGE_ESIP_URI);
    assert_int_equal(up("x:a>"), FEDGE_ESIP_URI);
    assert_int_equal(up("1x:a"), FEDGE_ESIP_URI);
    assert_int_equal(up("nocolon"), FEDGE_ESIP_URI);
    assert_int_equal(up(""), FEDGE_ESIP_URI);
    assert_int_equal(up("<sip:a@b>"), FEDGE_ESIP_URI);
}

static void test_param_get(void **state)
{
    (void)state;
    fedge_str_t v;
    fedge_str_t p = FEDGE_STR_LIT(";transport=TCP;lr ; Branch = z9hG4bK1 ;x=\"a;b\";y");
    assert_int_equal(sip_param_get(p, "transport", &v), 1);
    assert_slice(v, "TCP");
    assert_int_equal(sip_param_get(p, "LR", &v), 1);
    assert_int_equal(v.len, 0);
    assert_int_equal(sip_param_get(p, "branch", &v), 1);
    assert_slice(v, "z9hG4bK1");
    assert_int_equal(sip_param_get(p, "x", &v), 1);
    assert_slice(v, "\"a;b\"");
    assert_int_equal(sip_param_get(p, "y", NULL), 1);
    assert_int_equal(sip_param_get(p, "b", &v), 0);
    assert_int_equal(sip_param_get(p, "trans", &v), 0);
    assert_int_equal(sip_param_get(FEDGE_STR_LIT("charset=utf-8"), "charset", &v), 1);
    assert_slice(v, "utf-8");
    assert_int_equal(sip_param_get(FEDGE_STR_LIT(""), "x", &v), 0);
}

static bool eq(const char *a, const char *b)
{
    sip_uri_t x, y;
    assert_int_equal(sip_uri_parse(a, strlen(a), &x), 0);
    assert_int_equal(sip_uri_parse(b, strlen(b), &y), 0);
    bool r = sip_uri_equal(&x, &y);
    /* equality is symmetric */
    assert_int_equal(r, sip_uri_equal(&y, &x));
    return r;
}

static void test_equal_rfc3261(void **state)
{
    (void)state;
    /* RFC 3261 §19.1.4 examples that are equal */
    assert_true(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
    assert_true(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
    assert_true(eq("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
    assert_true(eq("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
    assert_true(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                   "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
    assert_true(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                   "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
    /* RFC 3261 §19.1.4 examples that are not equal */
    assert_false(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
    assert_false(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    assert_false(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
    assert_false(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
    assert_false(eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
    assert_false(eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
    assert_false(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
    /* more of the rules */
    assert_false(eq("sip:alice@a.com", "sips:alice@a.com"));
    assert_false(eq("sip:alice:pw@a.com", "sip:alice@a.com"));
    assert_false(eq("sip:alice:pw@a.com", "sip:alice:PW@a.com"));
    assert_true(eq("sip:alice:p%77@a.com", "sip:alice:pw@a.com"));
    assert_false(eq("sip:a.com", "sip:alice@a.com"));
    assert_false(eq("sip:a.com;maddr=1.2.3.4", "sip:a.com"));
    assert_false(eq("sip:a.com;ttl=1", "sip:a.com;ttl=2"));
    assert_false(eq("sip:a.com;user=phone", "sip:a.com"));
    assert_false(eq("sip:a.com;method=INVITE", "sip:a.com;method=BYE"));
    assert_true(eq("sip:a.com;lr", "sip:a.com"));
    assert_true(eq("sip:a.com;x=%41", "sip:a.com;X=a"));
    assert_false(eq("sip:a.com;x", "sip:a.com;x=1"));
    assert_true(eq("sip:[2001:DB8::1]:5060", "sip:[2001:db8::1]:5060"));
    assert_false(eq("sip:a.com?h=1", "sip:a.com?h=1&i=2"));
    /* tel: visual separators do not count, parameters must match */
    assert_true(eq("tel:+1-201-555-0123", "tel:+12015550123"));
    assert_true(eq("tel:7042;phone-context=example.com", "tel:7042;Phone-Context=EXAMPLE.com"));
    assert_false(eq("tel:7042;phone-context=example.com", "tel:7042"));
    assert_false(eq("tel:+12015550123", "tel:+12015550124"));
    /* a repeated parameter is compared occurrence by occurrence: equality
     * stays reflexive and symmetric */
    assert_true(eq("tel:+1;phone-context=a.com;phone-context=b.com",
                   "tel:+1;phone-context=a.com;phone-context=b.com"));
    assert_false(eq("tel:+1;phone-context=a.com;phone-context=b.com",
                    "tel:+1;phone-context=b.com;phone-context=a.com"));
    assert_true(eq("sip:h;x=1;x=2", "sip:h;x=1;x=2"));
    assert_true(eq("sip:h;x=1;x=2", "sip:h;x=1"));
    assert_false(eq("sip:h;x=1;x=2", "sip:h;x=2"));
    /* other schemes compare byte for byte */
    assert_true(eq("urn:x:y", "urn:x:y"));
    assert_false(eq("urn:x:y", "urn:x:Y"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sip_full),          cmocka_unit_test(test_sip_minimal_and_case),
        cmocka_unit_test(test_sip_unusual_valid), cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_tel_and_other),     cmocka_unit_test(test_param_get),
        cmocka_unit_test(test_equal_rfc3261),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
