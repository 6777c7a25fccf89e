/* test_mtype_event.c — unit tests of Content-Type and Event values and
 * their message accessors. */
#include "sip_test.h"

static void test_content_type(void **state)
{
    (void)state;
    sip_mtype_t t;
    const char *s = "application/sdp";
    assert_int_equal(sip_mtype_parse(s, strlen(s), &t), 0);
    assert_slice(t.type, "application");
    assert_slice(t.subtype, "sdp");
    assert_int_equal(t.params.len, 0);
    s = " multipart / mixed ;\r\n boundary = \"unique-boundary-1\" ; charset=UTF-8 ";
    assert_int_equal(sip_mtype_parse(s, strlen(s), &t), 0);
    assert_slice(t.type, "multipart");
    assert_slice(t.subtype, "mixed");
    assert_slice(t.params, ";\r\n boundary = \"unique-boundary-1\" ; charset=UTF-8");
    fedge_str_t v;
    assert_int_equal(sip_param_get(t.params, "boundary", &v), 1);
    assert_slice(v, "\"unique-boundary-1\"");
    assert_int_equal(sip_param_get(t.params, "charset", &v), 1);
    assert_slice(v, "UTF-8");
    const char *bad[] = {"",
                         "application",
                         "application/",
                         "/sdp",
                         "application/sdp;",
                         "application/sdp x",
                         "appl ication/sdp",
                         "application/sdp;a=\"x",
                         "application/sdp,text/plain"};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        if (sip_mtype_parse(bad[i], strlen(bad[i]), &t) != FEDGE_ESIP_CONTENT_TYPE)
            fail_msg("accepted '%s'", bad[i]);
    }
}

static void test_event(void **state)
{
    (void)state;
    sip_event_t e;
    const char *s = "presence";
    assert_int_equal(sip_event_parse(s, strlen(s), &e), 0);
    assert_slice(e.package, "presence");
    assert_int_equal(e.id.len, 0);
    s = "presence.winfo ; id = 17 ; x";
    assert_int_equal(sip_event_parse(s, strlen(s), &e), 0);
    assert_slice(e.package, "presence.winfo");
    assert_slice(e.id, "17");
    assert_slice(e.params, "; id = 17 ; x");
    const char *bad[] = {
        "", ";id=1", "presence;id", "presence;id=", "pres ence", "presence,dialog", ".x", "x."};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        if (sip_event_parse(bad[i], strlen(bad[i]), &e) != FEDGE_ESIP_EVENT)
            fail_msg("accepted '%s'", bad[i]);
    }
}

static void test_accessors(void **state)
{
    (void)state;
    sip_mtype_t t;
    sip_event_t e;
    assert_int_equal(
        parse_str("NOTIFY sip:a@b SIP/2.0\r\no: dialog;id=9\r\nc: application/pidf+xml\r\n\r\n"),
        0);
    assert_int_equal(sip_msg_content_type(&g_m, &t), 0);
    assert_slice(t.subtype, "pidf+xml");
    assert_int_equal(sip_msg_event(&g_m, &e), 0);
    assert_slice(e.package, "dialog");
    assert_slice(e.id, "9");
    assert_int_equal(parse_str("NOTIFY sip:a@b SIP/2.0\r\nEvent: ;\r\nContent-Type: text\r\n\r\n"),
                     0);
    assert_int_equal(sip_msg_content_type(&g_m, &t), FEDGE_ESIP_CONTENT_TYPE);
    assert_int_equal(sip_msg_event(&g_m, &e), FEDGE_ESIP_EVENT);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\n\r\n"), 0);
    assert_int_equal(sip_msg_content_type(&g_m, &t), FEDGE_ENOENT);
    assert_int_equal(sip_msg_event(&g_m, &e), FEDGE_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
