/* test_print.c — unit tests of sip_print (verbatim copy, edits alone and
 * combined), sip_build_response and sip_reason_phrase. */
#include "sip_test.h"

static char OUT[8192];
static size_t OLEN;

static const char MSG[] = "INVITE sip:bob@example.org SIP/2.0\r\n"
                          "Via: SIP/2.0/TLS p1.example.com;branch=z9hG4bKp1 , SIP/2.0/TLS "
                          "ua.example.com;branch=z9hG4bKua\r\n"
                          "Route: <sip:edge.example.com;lr>,<sip:core.example.org;lr>\r\n"
                          "Max-Forwards: 70\r\n"
                          "f: \"A, B\" <sip:alice@example.com>;tag=f1\r\n"
                          "To :\r\n <sip:bob@example.org>\r\n"
                          "i: c1@example.com\r\n"
                          "CSeq: 1 INVITE\r\n"
                          "X-Odd:   keep\t me  \r\n"
                          "l: 4\r\n"
                          "\r\n"
                          "body";

static void parse_msg(void)
{
    assert_int_equal(sip_parse(MSG, sizeof(MSG) - 1, NULL, &g_m), 0);
}

#define OUT_IS(lit)                                                                                \
    do {                                                                                           \
        OUT[OLEN] = 0;                                                                             \
        assert_string_equal(OUT, lit);                                                             \
    } while (0)

static void test_verbatim_roundtrip(void **state)
{
    (void)state;
    parse_msg();
    assert_int_equal(sip_print(&g_m, NULL, NULL, 0, OUT, sizeof(OUT), &OLEN), 0);
    assert_int_equal(OLEN, sizeof(MSG) - 1);
    assert_memory_equal(OUT, MSG, OLEN);
    /* parse -> print -> parse gives the same message */
    static sip_msg_t m2;
    assert_int_equal(sip_parse(OUT, OLEN, NULL, &m2), 0);
    assert_int_equal(m2.nhdrs, g_m.nhdrs);
    for (unsigned i = 0; i < m2.nhdrs; i++) {
        assert_int_equal(m2.hdrs[i].raw.len, g_m.hdrs[i].raw.len);
        assert_memory_equal(m2.hdrs[i].raw.s, g_m.hdrs[i].raw.s, m2.hdrs[i].raw.len);
    }
}

static void test_proxy_edits(void **state)
{
    (void)state;
    parse_msg();
    /* push Via, pop Route, decrement Max-Forwards, add Record-Route */
    sip_edit_t e[] = {
        {SIP_EDIT_INSERT_BEFORE, 0,
         FEDGE_STR_LIT("Via: SIP/2.0/TLS edge.example.com;branch=z9hG4bKe1")},
        {SIP_EDIT_DELETE_FIRST_VALUE, 1, {0}},
        {SIP_EDIT_REPLACE_VALUE, 2, FEDGE_STR_LIT("69")},
        {SIP_EDIT_INSERT_BEFORE, 0, FEDGE_STR_LIT("Record-Route: <sip:edge.example.com;lr>")},
    };
    assert_int_equal(sip_print(&g_m, NULL, e, 4, OUT, sizeof(OUT), &OLEN), 0);
    OUT_IS("INVITE sip:bob@example.org SIP/2.0\r\n"
           "Via: SIP/2.0/TLS edge.example.com;branch=z9hG4bKe1\r\n"
           "Record-Route: <sip:edge.example.com;lr>\r\n"
           "Via: SIP/2.0/TLS p1.example.com;branch=z9hG4bKp1 , SIP/2.0/TLS "
           "ua.example.com;branch=z9hG4bKua\r\n"
           "Route: <sip:core.example.org;lr>\r\n"
           "Max-Forwards: 69\r\n"
           "f: \"A, B\" <sip:alice@example.com>;tag=f1\r\n"
           "To :\r\n <sip:bob@example.org>\r\n"
           "i: c1@example.com\r\n"
           "CSeq: 1 INVITE\r\n"
           "X-Odd:   keep\t me  \r\n"
           "l: 4\r\n"
           "\r\n"
           "body");
    static sip_msg_t m2;
    assert_int_equal(sip_parse(OUT, OLEN, NULL, &m2), 0);
    assert_int_equal(sip_msg_check(&m2), 0);
}

static void test_pop_values(void **state)
{
    (void)state;
    parse_msg();
    /* pop the top Via value (LWS before the comma), then both values */
    sip_edit_t e1[] = {{SIP_EDIT_DELETE_FIRST_VALUE, 0, {0}}};
    assert_int_equal(sip_print(&g_m, NULL, e1, 1, OUT, sizeof(OUT), &OLEN), 0);
    assert_non_null(strstr(OUT, "\r\nVia: SIP/2.0/TLS ua.example.com;branch=z9hG4bKua\r\nRoute:"));
    sip_edit_t e2[] = {{SIP_EDIT_DELETE_FIRST_VALUE, 0, {0}},
                       {SIP_EDIT_DELETE_FIRST_VALUE, 0, {0}}};
    assert_int_equal(sip_print(&g_m, NULL, e2, 2, OUT, sizeof(OUT), &OLEN), 0);
    OUT[OLEN] = 0;
    assert_null(strstr(OUT, "Via:"));
    assert_non_null(strstr(OUT, "SIP/2.0\r\nRoute:"));
    /* a value holding a quoted comma is popped whole */
    assert_int_equal(
        parse_str("OPTIONS sip:a@b SIP/2.0\r\nContact: \"x, y\" <sip:a@b>, <sip:c@d>\r\n\r\n"), 0);
    sip_edit_t e3[] = {{SIP_EDIT_DELETE_FIRST_VALUE, 0, {0}}};
    assert_int_equal(sip_print(&g_m, NULL, e3, 1, OUT, sizeof(OUT), &OLEN), 0);
    OUT_IS("OPTIONS sip:a@b SIP/2.0\r\nContact: <sip:c@d>\r\n\r\n");
}

static void test_combined_edits_one_header(void **state)
{
    (void)state;
    parse_msg();
    /* insert twice before one header keeps order; replace + delete = delete */
    sip_edit_t e[] = {
        {SIP_EDIT_INSERT_BEFORE, 2, FEDGE_STR_LIT("X-A: 1")},
        {SIP_EDIT_REPLACE_VALUE, 2, FEDGE_STR_LIT("10")},
        {SIP_EDIT_INSERT_BEFORE, 2, FEDGE_STR_LIT("X-B: 2")},
        {SIP_EDIT_DELETE, 2, {0}},
        {SIP_EDIT_INSERT_BEFORE, g_m.nhdrs, FEDGE_STR_LIT("X-Last: z")},
        {SIP_EDIT_REPLACE_VALUE, 1,
         FEDGE_STR_LIT("<sip:x.example.com;lr>, <sip:y.example.com;lr>")},
        {SIP_EDIT_DELETE_FIRST_VALUE, 1, {0}},
    };
    assert_int_equal(sip_print(&g_m, NULL, e, FEDGE_ARRAY_LEN(e), OUT, sizeof(OUT), &OLEN), 0);
    OUT_IS("INVITE sip:bob@example.org SIP/2.0\r\n"
           "Via: SIP/2.0/TLS p1.example.com;branch=z9hG4bKp1 , SIP/2.0/TLS "
           "ua.example.com;branch=z9hG4bKua\r\n"
           "Route: <sip:y.example.com;lr>\r\n"
           "X-A: 1\r\n"
           "X-B: 2\r\n"
           "f: \"A, B\" <sip:alice@example.com>;tag=f1\r\n"
           "To :\r\n <sip:bob@example.org>\r\n"
           "i: c1@example.com\r\n"
           "CSeq: 1 INVITE\r\n"
           "X-Odd:   keep\t me  \r\n"
           "l: 4\r\n"
           "X-Last: z\r\n"
           "\r\n"
           "body");
}

static void test_replace_body(void **state)
{
    (void)state;
    parse_msg();
    /* The compact "l: 4" keeps its name and says the new length; the
     * other edits still apply. */
    sip_edit_t e[] = {
        {SIP_EDIT_REPLACE_BODY, 0, FEDGE_STR_LIT("v=0\r\nc=IN IP4 192.0.2.1\r\n")},
        {SIP_EDIT_REPLACE_VALUE, 2, FEDGE_STR_LIT("69")},
    };
    assert_int_equal(sip_print(&g_m, NULL, e, 2, OUT, sizeof(OUT), &OLEN), 0);
    OUT[OLEN] = 0;
    assert_non_null(strstr(OUT, "Max-Forwards: 69\r\n"));
    assert_non_null(strstr(OUT, "\r\nl: 25\r\n\r\nv=0\r\nc=IN IP4 192.0.2.1\r\n"));
    assert_null(strstr(OUT, "l: 4"));
    static sip_msg_t m2;
    assert_int_equal(sip_parse(OUT, OLEN, NULL, &m2), 0);
    assert_int_equal(m2.body.len, 25);

    /* An empty body: Content-Length 0. */
    sip_edit_t empty = {SIP_EDIT_REPLACE_BODY, 0, {"", 0}};
    assert_int_equal(sip_print(&g_m, NULL, &empty, 1, OUT, sizeof(OUT), &OLEN), 0);
    OUT[OLEN] = 0;
    assert_non_null(strstr(OUT, "\r\nl: 0\r\n\r\n"));
    assert_int_equal(OUT[OLEN - 1], '\n');

    /* Content-Length deleted by another edit: one is appended. */
    unsigned cl = g_m.first[SIP_HDR_CONTENT_LENGTH];
    sip_edit_t both[] = {{SIP_EDIT_DELETE, cl, {0}},
                         {SIP_EDIT_REPLACE_BODY, 0, FEDGE_STR_LIT("xy")}};
    assert_int_equal(sip_print(&g_m, NULL, both, 2, OUT, sizeof(OUT), &OLEN), 0);
    OUT[OLEN] = 0;
    assert_non_null(strstr(OUT, "X-Odd:   keep\t me  \r\nContent-Length: 2\r\n\r\nxy"));
    assert_int_equal(OLEN, strlen(OUT));
}

static void test_start_line_and_errors(void **state)
{
    (void)state;
    parse_msg();
    fedge_str_t sl = FEDGE_STR_LIT("INVITE sip:bob@192.0.2.7:5061;transport=tls SIP/2.0");
    assert_int_equal(sip_print(&g_m, &sl, NULL, 0, OUT, sizeof(OUT), &OLEN), 0);
    assert_int_equal(OLEN, sizeof(MSG) - 1 - g_m.start_line.len + sl.len);
    assert_memory_equal(OUT, sl.s, sl.len);
    /* exact capacity works, one byte less does not */
    assert_int_equal(sip_print(&g_m, NULL, NULL, 0, OUT, sizeof(MSG) - 1, &OLEN), 0);
    assert_int_equal(sip_print(&g_m, NULL, NULL, 0, OUT, sizeof(MSG) - 2, &OLEN), FEDGE_ENOSPC);
    assert_int_equal(sip_print(&g_m, NULL, NULL, 0, OUT, 0, &OLEN), FEDGE_ENOSPC);
    sip_edit_t bad1[] = {{SIP_EDIT_DELETE, g_m.nhdrs, {0}}};
    assert_int_equal(sip_print(&g_m, NULL, bad1, 1, OUT, sizeof(OUT), &OLEN), FEDGE_EINVAL);
    sip_edit_t bad2[] = {{SIP_EDIT_INSERT_BEFORE, g_m.nhdrs + 1, FEDGE_STR_LIT("X: y")}};
    assert_int_equal(sip_print(&g_m, NULL, bad2, 1, OUT, sizeof(OUT), &OLEN), FEDGE_EINVAL);
}

static void test_build_response(void **state)
{
    (void)state;
    parse_msg();
    assert_int_equal(sip_build_response(&g_m, 180, NULL, "t9", NULL, OUT, sizeof(OUT), &OLEN), 0);
    OUT_IS("SIP/2.0 180 Ringing\r\n"
           "Via: SIP/2.0/TLS p1.example.com;branch=z9hG4bKp1 , SIP/2.0/TLS "
           "ua.example.com;branch=z9hG4bKua\r\n"
           "f: \"A, B\" <sip:alice@example.com>;tag=f1\r\n"
           "To :\r\n <sip:bob@example.org>;tag=t9\r\n"
           "i: c1@example.com\r\n"
           "CSeq: 1 INVITE\r\n"
           "Content-Length: 0\r\n"
           "\r\n");
    static sip_msg_t r;
    assert_int_equal(sip_parse(OUT, OLEN, NULL, &r), 0);
    assert_int_equal(sip_msg_check(&r), 0);
    assert_int_equal(r.status, 180);
    /* 100 gets no tag; extra lines and a reason of our own */
    assert_int_equal(sip_build_response(&g_m, 100, "Trying hard", "t9",
                                        "Server: fedge\r\nWarning: 399 edge \"x\"\r\n", OUT,
                                        sizeof(OUT), &OLEN),
                     0);
    OUT_IS("SIP/2.0 100 Trying hard\r\n"
           "Via: SIP/2.0/TLS p1.example.com;branch=z9hG4bKp1 , SIP/2.0/TLS "
           "ua.example.com;branch=z9hG4bKua\r\n"
           "f: \"A, B\" <sip:alice@example.com>;tag=f1\r\n"
           "To :\r\n <sip:bob@example.org>\r\n"
           "i: c1@example.com\r\n"
           "CSeq: 1 INVITE\r\n"
           "Server: fedge\r\n"
           "Warning: 399 edge \"x\"\r\n"
           "Content-Length: 0\r\n"
           "\r\n");
    /* a To that has a tag keeps it */
    assert_int_equal(
        parse_str(REQ_HEAD("BYE", "sip:bob@example.org") "Via: SIP/2.0/TLS second.example.com\r\n"
                                                         "l: 0\r\n\r\n"),
        0);
    assert_int_equal(
        parse_str(
            "BYE sip:b@example.org SIP/2.0\r\nVia: SIP/2.0/TLS a;branch=z9hG4bK1\r\n"
            "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 2 BYE\r\n\r\n"),
        0);
    assert_int_equal(sip_build_response(&g_m, 481, NULL, "new", NULL, OUT, sizeof(OUT), &OLEN), 0);
    OUT_IS("SIP/2.0 481 Call/Transaction Does Not Exist\r\n"
           "Via: SIP/2.0/TLS a;branch=z9hG4bK1\r\n"
           "From: <sip:a@b>;tag=1\r\n"
           "To: <sip:c@d>;tag=2\r\n"
           "Call-ID: x\r\n"
           "CSeq: 2 BYE\r\n"
           "Content-Length: 0\r\n\r\n");
    /* errors */
    assert_int_equal(sip_build_response(&g_m, 200, NULL, NULL, NULL, OUT, 20, &OLEN), FEDGE_ENOSPC);
    assert_int_equal(sip_build_response(&g_m, 99, NULL, NULL, NULL, OUT, sizeof(OUT), &OLEN),
                     FEDGE_EINVAL);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n"), 0);
    assert_int_equal(sip_build_response(&g_m, 400, NULL, NULL, NULL, OUT, sizeof(OUT), &OLEN),
                     FEDGE_ESIP_TO);
}

static void test_reason_phrases(void **state)
{
    (void)state;
    assert_string_equal(sip_reason_phrase(200), "OK");
    assert_string_equal(sip_reason_phrase(404), "Not Found");
    assert_string_equal(sip_reason_phrase(483), "Too Many Hops");
    assert_string_equal(sip_reason_phrase(482), "Loop Detected");
    assert_string_equal(sip_reason_phrase(408), "Request Timeout");
    assert_string_equal(sip_reason_phrase(503), "Service Unavailable");
    assert_string_equal(sip_reason_phrase(505), "Version Not Supported");
    assert_string_equal(sip_reason_phrase(513), "Message Too Large");
    assert_string_equal(sip_reason_phrase(603), "Decline");
    assert_string_equal(sip_reason_phrase(299), "Unknown");
    assert_string_equal(sip_reason_phrase(-1), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbatim_roundtrip), cmocka_unit_test(test_proxy_edits),
        cmocka_unit_test(test_pop_values),         cmocka_unit_test(test_combined_edits_one_header),
        cmocka_unit_test(test_replace_body),       cmocka_unit_test(test_start_line_and_errors),
        cmocka_unit_test(test_build_response),     cmocka_unit_test(test_reason_phrases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
