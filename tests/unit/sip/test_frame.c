/* test_frame.c — unit tests of the stream framer (sip_framer_next):
 * boundaries, keep-alives, Content-Length rules, limits, garbage. */
#include "sip_test.h"

static const char MSG[] = "OPTIONS sip:bob@example.org SIP/2.0\r\n"
                          "Via: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\r\n"
                          "Content-Length: 5\r\n"
                          "\r\n"
                          "hello";

static int frame(const char *s, size_t len, size_t max, size_t *unit)
{
    sip_framer_t f;
    sip_framer_init(&f, max);
    *unit = 0;
    return sip_framer_next(&f, s, len, unit);
}

static int frame_str(const char *s, size_t *unit)
{
    return frame(s, strlen(s), 65536, unit);
}

static void test_whole_message(void **state)
{
    (void)state;
    size_t u;
    assert_int_equal(frame(MSG, sizeof(MSG) - 1, 65536, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(u, sizeof(MSG) - 1);
}

/* Every prefix is NEED_MORE; the complete message is found exactly when its
 * last byte arrives, with one framer fed a growing buffer (resumable). */
static void test_split_at_every_offset(void **state)
{
    (void)state;
    size_t n = sizeof(MSG) - 1;
    sip_framer_t f;
    sip_framer_init(&f, 65536);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sip_framer_next(&f, MSG, i, &u), SIP_FRAME_NEED_MORE);
        assert_true(f.scanned <= i);
    }
    assert_int_equal(sip_framer_next(&f, MSG, n, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(u, n);
    /* the framer reset itself: the same bytes frame again */
    assert_int_equal(sip_framer_next(&f, MSG, n, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(u, n);
}

/* Fed one byte at a time, the framer never searches old bytes again: its
 * scan position follows the data (O(n) in all). */
static void test_incremental_scan_advances(void **state)
{
    (void)state;
    static char big[40000];
    size_t hl = 0;
    hl += (size_t)sprintf(big, "MESSAGE sip:b@example.org SIP/2.0\r\nX-Long: ");
    memset(big + hl, 'a', 30000);
    hl += 30000;
    hl += (size_t)sprintf(big + hl, "\r\nl: 0\r\n\r\n");
    sip_framer_t f;
    sip_framer_init(&f, 65536);
    size_t u;
    for (size_t i = 1; i < hl; i++) {
        assert_int_equal(sip_framer_next(&f, big, i, &u), SIP_FRAME_NEED_MORE);
        assert_true(f.scanned + 1 >= i); /* at most the last CR is looked at again */
    }
    assert_int_equal(sip_framer_next(&f, big, hl, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(u, hl);
}

static void test_two_messages_back_to_back(void **state)
{
    (void)state;
    static char buf[512];
    size_t n = sizeof(MSG) - 1;
    memcpy(buf, MSG, n);
    memcpy(buf + n, "\r\n\r\n", 4);
    memcpy(buf + n + 4, MSG, n);
    sip_framer_t f;
    sip_framer_init(&f, 65536);
    size_t u, off = 0, total = 2 * n + 4;
    assert_int_equal(sip_framer_next(&f, buf, total, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(u, n);
    off += u;
    assert_int_equal(sip_framer_next(&f, buf + off, total - off, &u), SIP_FRAME_PING);
    assert_int_equal(u, 4);
    off += u;
    assert_int_equal(sip_framer_next(&f, buf + off, total - off, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(u, n);
}

static void test_ping_pong(void **state)
{
    (void)state;
    size_t u;
    assert_int_equal(frame_str("\r\n\r\n", &u), SIP_FRAME_PING);
    assert_int_equal(u, 4);
    assert_int_equal(frame_str("\r\n\r\nOPTIONS", &u), SIP_FRAME_PING);
    assert_int_equal(u, 4);
    assert_int_equal(frame_str("\r\nOPTIONS sip:x SIP/2.0\r\n", &u), SIP_FRAME_PONG);
    assert_int_equal(u, 2);
    assert_int_equal(frame_str("\r\n\rX", &u), SIP_FRAME_PONG);
    assert_int_equal(u, 2);
    /* may still become a ping */
    assert_int_equal(frame_str("\r", &u), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame_str("\r\n", &u), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame_str("\r\n\r", &u), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame_str("", &u), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame_str("\rX", &u), FEDGE_ESIP_GARBAGE);
}

static void test_content_length_forms(void **state)
{
    (void)state;
    size_t u;
    const char *ok[] = {
        "MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhi",
        "MESSAGE sip:a@b SIP/2.0\r\nL:2\r\n\r\nhi",
        "MESSAGE sip:a@b SIP/2.0\r\ncontent-LENGTH: 2\r\n\r\nhi",
        "MESSAGE sip:a@b SIP/2.0\r\nContent-Length \t : 2 \r\n\r\nhi",
        "MESSAGE sip:a@b SIP/2.0\r\nContent-Length:\r\n 2\r\n\r\nhi",
        "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\nl: 2\r\n\r\nhi",
        "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 002\r\n\r\nhi",
        "MESSAGE sip:a@b SIP/2.0\r\nX-Content-Length: 9\r\nContent-Length: 2\r\n\r\nhi",
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(ok); i++) {
        assert_int_equal(frame_str(ok[i], &u), SIP_FRAME_MESSAGE);
        assert_int_equal(u, strlen(ok[i]));
    }
    /* a body holding CRLFCRLF is taken by length, not by search */
    const char *b = "MESSAGE sip:a@b SIP/2.0\r\nl: 6\r\n\r\n\r\n\r\nxy";
    assert_int_equal(frame_str(b, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(u, strlen(b));
    /* body not there yet */
    assert_int_equal(frame_str("MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nhi", &u),
                     SIP_FRAME_NEED_MORE);
}

static void test_content_length_errors(void **state)
{
    (void)state;
    size_t u;
    assert_int_equal(frame_str("MESSAGE sip:a@b SIP/2.0\r\nTo: x\r\n\r\n", &u), FEDGE_ESIP_NO_CLEN);
    const char *bad[] = {
        "-1", "abc",  "4294967296", "18446744073709551620", "99999999999999999999999", "", "1 2",
        "+5", "0x10", "5;x"};
    char buf[256];
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        snprintf(buf, sizeof(buf), "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: %s\r\n\r\n", bad[i]);
        assert_int_equal(frame_str(buf, &u), FEDGE_ESIP_BAD_CLEN);
    }
    assert_int_equal(frame_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\n"
                               "Content-Length: 2\r\n\r\nxx",
                               &u),
                     FEDGE_ESIP_CLEN_MISMATCH);
    assert_int_equal(
        frame_str("MESSAGE sip:a@b SIP/2.0\r\nl: 0\r\nContent-Length : 4\r\n\r\nxxxx", &u),
        FEDGE_ESIP_CLEN_MISMATCH);
}

static void test_too_big(void **state)
{
    (void)state;
    size_t u;
    /* announced size beyond the limit: known at the end of the headers,
     * before any body byte */
    const char *h = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1000\r\n\r\n";
    assert_int_equal(frame(h, strlen(h), 500, &u), FEDGE_ESIP_TOO_BIG);
    assert_int_equal(frame(h, strlen(h), 2000, &u), SIP_FRAME_NEED_MORE);
    /* ... or even before the end of the headers */
    const char *early = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1000\r\nTo: x\r\n";
    assert_int_equal(frame(early, strlen(early), 500, &u), FEDGE_ESIP_TOO_BIG);
    assert_int_equal(frame(early, strlen(early), 2000, &u), SIP_FRAME_NEED_MORE);
    /* exactly the limit is fine */
    const char *m = "MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhi";
    assert_int_equal(frame(m, strlen(m), strlen(m), &u), SIP_FRAME_MESSAGE);
    assert_int_equal(frame(m, strlen(m), strlen(m) - 1, &u), FEDGE_ESIP_TOO_BIG);
    /* a header block that does not end within the limit */
    static char big[3000];
    memset(big, 'a', sizeof(big));
    memcpy(big, "MESSAGE sip:a@b SIP/2.0\r\nX: ", 28);
    assert_int_equal(frame(big, 999, 1000, &u), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame(big, 1000, 1000, &u), FEDGE_ESIP_TOO_BIG);
    assert_int_equal(frame(big, sizeof(big), 1000, &u), FEDGE_ESIP_TOO_BIG);
    /* a huge Content-Length is refused (bad number) rather than wrapped */
    const char *w = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 4294967296\r\n\r\n";
    assert_int_equal(frame(w, strlen(w), 65536, &u), FEDGE_ESIP_BAD_CLEN);
}

static void test_garbage(void **state)
{
    (void)state;
    size_t u;
    static const char tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
    assert_int_equal(frame(tls, sizeof(tls), 65536, &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame("\0INVITE", 7, 65536, &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("\x01", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str(" INVITE", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("\n", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("INV\x01ITE sip:a@b SIP/2.0\r\n", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame("INVITE sip:a\0@b SIP/2.0\r\n", 25, 65536, &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("POST /x http/1.0\r\n", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("HTTP/1.1 200 OK\r\n", &u), FEDGE_ESIP_GARBAGE);
    /* lines end in CRLF */
    assert_int_equal(frame_str("OPTIONS sip:a@b SIP/2.0\n", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("OPTIONS sip:a@b SIP/2.0\r\nl: 0\n\r\n", &u), FEDGE_ESIP_GARBAGE);
    assert_int_equal(frame_str("OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\n", &u), FEDGE_ESIP_GARBAGE);
    /* a CR inside the start line that is not followed by LF */
    assert_int_equal(frame_str("OPTIONS sip:a@b\rSIP/2.0\r\n", &u), FEDGE_ESIP_GARBAGE);
    /* a CR as the last byte so far is not judged yet */
    assert_int_equal(frame_str("OPTIONS sip:a@b SIP/2.0\r", &u), SIP_FRAME_NEED_MORE);
    /* UTF-8 in a reason phrase is fine */
    const char *r = "SIP/2.0 200 \xd0\xbe\xd0\xba\r\nl: 0\r\n\r\n";
    assert_int_equal(frame_str(r, &u), SIP_FRAME_MESSAGE);
    assert_true(fedge_is_framing_error(FEDGE_ESIP_GARBAGE));
}

static void test_response_and_parse_agree(void **state)
{
    (void)state;
    const char *r = "SIP/2.0 200 OK\r\n"
                    "Via: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\r\n"
                    "content-length : 3\r\n\r\nabc";
    size_t u;
    assert_int_equal(frame_str(r, &u), SIP_FRAME_MESSAGE);
    assert_int_equal(sip_parse(r, u, NULL, &g_m), 0);
    assert_int_equal(g_m.content_length, 3);
    assert_slice(g_m.body, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_message),
        cmocka_unit_test(test_split_at_every_offset),
        cmocka_unit_test(test_incremental_scan_advances),
        cmocka_unit_test(test_two_messages_back_to_back),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_content_length_forms),
        cmocka_unit_test(test_content_length_errors),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_response_and_parse_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
