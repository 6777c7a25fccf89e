/* test_parse.c — unit tests of sip_parse (start line, header splitting,
 * folding, classification, limits, Content-Length, body), header lookup,
 * value iteration and the typed, cached accessors with sip_msg_check. */
#include "sip_test.h"

#include <ctype.h>

/* ---- start line ---- */

static void test_request_line(void **state)
{
    (void)state;
    assert_int_equal(parse_str(REQ("")), 0);
    assert_true(g_m.is_request);
    assert_slice(g_m.method, "OPTIONS");
    assert_int_equal(g_m.method_id, SIP_METHOD_OPTIONS);
    assert_slice(g_m.ruri_str, "sip:bob@example.org");
    assert_slice(g_m.start_line, "OPTIONS sip:bob@example.org SIP/2.0");
    assert_int_equal(g_m.nhdrs, 7);
    assert_int_equal(g_m.content_length, 0);
    assert_int_equal(g_m.body.len, 0);
    assert_int_equal(g_m.len, strlen(REQ("")));
}

static void test_extension_method_and_version_case(void **state)
{
    (void)state;
    /* RFC 4475 3.1.1.2: a method is any token */
    const char *m = "!interesting-Method0123456789_*+`.%indeed'~ sip:a@example.com sip/2.0\r\n"
                    "CSeq: 1 !interesting-Method0123456789_*+`.%indeed'~\r\n\r\n";
    assert_int_equal(parse_str(m), 0);
    assert_int_equal(g_m.method_id, SIP_METHOD_OTHER);
    assert_slice(g_m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    /* methods are case-sensitive */
    assert_int_equal(sip_method_id("invite", 6), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_id("INVITE", 6), SIP_METHOD_INVITE);
    assert_int_equal(sip_method_id("PUBLISH", 7), SIP_METHOD_PUBLISH);
    assert_int_equal(sip_method_id("PRACK", 5), SIP_METHOD_PRACK);
    assert_int_equal(sip_method_id("REFER", 5), SIP_METHOD_REFER);
    assert_int_equal(sip_method_id("", 0), SIP_METHOD_OTHER);
}

static void test_status_line(void **state)
{
    (void)state;
    assert_int_equal(parse_str("SIP/2.0 180 Ringing\r\n\r\n"), 0);
    assert_false(g_m.is_request);
    assert_int_equal(g_m.status, 180);
    assert_slice(g_m.reason, "Ringing");
    /* empty reason, with and without the SP (RFC 4475 3.1.1.13) */
    assert_int_equal(parse_str("SIP/2.0 100 \r\n\r\n"), 0);
    assert_int_equal(g_m.status, 100);
    assert_int_equal(g_m.reason.len, 0);
    assert_int_equal(parse_str("SIP/2.0 699\r\n\r\n"), 0);
    assert_int_equal(g_m.status, 699);
    /* UTF-8 and spaces in the reason (RFC 4475 3.1.1.12) */
    assert_int_equal(parse_str("SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe\r\n\r\n"), 0);
    assert_slice(g_m.reason, "= 2**3 * 5**2 \xd0\xbd\xd0\xbe");
    assert_int_equal(parse_str("sip/2.0 200 OK\r\n\r\n"), 0);
}

static void test_start_line_errors(void **state)
{
    (void)state;
    assert_int_equal(parse_str("SIP/2.0 99 Low\r\n\r\n"), FEDGE_ESIP_STATUS);
    assert_int_equal(parse_str("SIP/2.0 700 High\r\n\r\n"), FEDGE_ESIP_STATUS);
    assert_int_equal(parse_str("SIP/2.0 4294967301 better not break\r\n\r\n"), FEDGE_ESIP_STATUS);
    assert_int_equal(parse_str("SIP/2.0 2x0 OK\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("SIP/2.0 OK\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("SIP/3.0 200 OK\r\n\r\n"), FEDGE_ESIP_VERSION);
    assert_int_equal(parse_str("SIP/2.0 200 O\x01K\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/7.0\r\n\r\n"), FEDGE_ESIP_VERSION);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.00\r\n\r\n"), FEDGE_ESIP_VERSION);
    assert_int_equal(parse_str("GET / HTTP/1.1\r\n\r\n"), FEDGE_ESIP_VERSION);
    /* RFC 4475 3.1.2.8-10: exactly one SP between the parts, none after */
    assert_int_equal(parse_str("OPTIONS sip:a@b; lr SIP/2.0\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS  sip:a@b  SIP/2.0\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0 \r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS sip:a@b\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str(" OPTIONS sip:a@b SIP/2.0\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str(""), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPT@ONS sip:a@b SIP/2.0\r\n\r\n"), FEDGE_ESIP_METHOD);
    assert_int_equal(parse_str("OPT(ONS sip:a@b SIP/2.0\r\n\r\n"), FEDGE_ESIP_METHOD);
    assert_int_equal(parse_str("OPTIONS\tsip:a@b SIP/2.0\r\n\r\n"), FEDGE_ESIP_START_LINE);
    assert_int_equal(sip_parse(NULL, 0, NULL, &g_m), FEDGE_ESIP_START_LINE);
    assert_int_equal(parse_str("OPTIONS sip:a\x7f@b SIP/2.0\r\n\r\n"), FEDGE_ESIP_START_LINE);
}

/* ---- headers ---- */

static void test_header_split_and_folding(void **state)
{
    (void)state;
    const char *m = "OPTIONS sip:a@b SIP/2.0\r\n"
                    "TO :\r\n sip:vivekg@chair.example.com ;   tag    = 1918181833n\r\n"
                    "Subject:\r\n"
                    "NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
                    "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
                    "X-Tab:\tv\t\r\n"
                    "s :\r\n"
                    "\r\n";
    assert_int_equal(parse_str(m), 0);
    assert_int_equal(g_m.nhdrs, 6);
    assert_int_equal(g_m.hdrs[0].id, SIP_HDR_TO);
    assert_slice(g_m.hdrs[0].name, "TO");
    assert_slice(g_m.hdrs[0].value, "sip:vivekg@chair.example.com ;   tag    = 1918181833n");
    assert_slice(g_m.hdrs[0].raw,
                 "TO :\r\n sip:vivekg@chair.example.com ;   tag    = 1918181833n\r\n");
    assert_int_equal(g_m.hdrs[1].id, SIP_HDR_SUBJECT);
    assert_int_equal(g_m.hdrs[1].value.len, 0);
    assert_int_equal(g_m.hdrs[2].id, SIP_HDR_OTHER);
    assert_slice(g_m.hdrs[2].value, "newfangled value\r\n continued newfangled value");
    assert_slice(g_m.hdrs[3].value, ";;,,;;,;");
    assert_slice(g_m.hdrs[4].value, "v");
    assert_int_equal(g_m.hdrs[5].id, SIP_HDR_SUBJECT);
    assert_slice(g_m.hdrs[5].name, "s");
    /* no Content-Length in a datagram: the body is the rest */
    assert_int_equal(g_m.content_length, -1);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\nbody"), 0);
    assert_slice(g_m.body, "body");
}

static void test_header_errors(void **state)
{
    (void)state;
    /* a header without a colon, a space inside the name, an empty name */
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo x\r\n\r\n"), FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nCall ID: x\r\n\r\n"), FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n"), FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo@: x\r\n\r\n"), FEDGE_ESIP_HEADER);
    /* a continuation with nothing to continue */
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\n To: x\r\n\r\n"), FEDGE_ESIP_HEADER);
    /* bare LF, bare CR */
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo: x\nFrom: y\r\n\r\n"),
                     FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo: x\rFrom: y\r\n\r\n"),
                     FEDGE_ESIP_HEADER);
    /* no empty line ends the headers */
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n"), FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo: x"), FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r"), FEDGE_ESIP_HEADER);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    static const char v[] = "OPTIONS sip:a@b SIP/2.0\r\nTo: a\0b\r\n\r\n";
    assert_int_equal(sip_parse(v, sizeof(v) - 1, NULL, &g_m), FEDGE_ESIP_NUL);
    static const char n[] = "OPTIONS sip:a@b SIP/2.0\r\nT\0o: ab\r\n\r\n";
    assert_int_equal(sip_parse(n, sizeof(n) - 1, NULL, &g_m), FEDGE_ESIP_NUL);
    static const char r[] = "OPTIONS sip:a\0@b SIP/2.0\r\nTo: ab\r\n\r\n";
    assert_int_equal(sip_parse(r, sizeof(r) - 1, NULL, &g_m), FEDGE_ESIP_NUL);
    /* a NUL in the body is fine */
    static const char b[] = "OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\n\r\na\0b";
    assert_int_equal(sip_parse(b, sizeof(b) - 1, NULL, &g_m), 0);
    assert_int_equal(g_m.body.len, 3);
}

static void test_header_ids(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        sip_hdr_id_t id;
    } t[] = {
        {"Via", SIP_HDR_VIA},
        {"v", SIP_HDR_VIA},
        {"V", SIP_HDR_VIA},
        {"vIA", SIP_HDR_VIA},
        {"From", SIP_HDR_FROM},
        {"f", SIP_HDR_FROM},
        {"To", SIP_HDR_TO},
        {"t", SIP_HDR_TO},
        {"Call-ID", SIP_HDR_CALL_ID},
        {"call-id", SIP_HDR_CALL_ID},
        {"i", SIP_HDR_CALL_ID},
        {"CSeq", SIP_HDR_CSEQ},
        {"Max-Forwards", SIP_HDR_MAX_FORWARDS},
        {"Contact", SIP_HDR_CONTACT},
        {"m", SIP_HDR_CONTACT},
        {"Route", SIP_HDR_ROUTE},
        {"Record-Route", SIP_HDR_RECORD_ROUTE},
        {"Content-Length", SIP_HDR_CONTENT_LENGTH},
        {"l", SIP_HDR_CONTENT_LENGTH},
        {"Content-Type", SIP_HDR_CONTENT_TYPE},
        {"c", SIP_HDR_CONTENT_TYPE},
        {"Content-Encoding", SIP_HDR_CONTENT_ENCODING},
        {"e", SIP_HDR_CONTENT_ENCODING},
        {"Require", SIP_HDR_REQUIRE},
        {"Proxy-Require", SIP_HDR_PROXY_REQUIRE},
        {"Supported", SIP_HDR_SUPPORTED},
        {"k", SIP_HDR_SUPPORTED},
        {"Unsupported", SIP_HDR_UNSUPPORTED},
        {"Expires", SIP_HDR_EXPIRES},
        {"Event", SIP_HDR_EVENT},
        {"o", SIP_HDR_EVENT},
        {"Allow", SIP_HDR_ALLOW},
        {"Allow-Events", SIP_HDR_ALLOW_EVENTS},
        {"u", SIP_HDR_ALLOW_EVENTS},
        {"Subject", SIP_HDR_SUBJECT},
        {"s", SIP_HDR_SUBJECT},
        {"Refer-To", SIP_HDR_REFER_TO},
        {"r", SIP_HDR_REFER_TO},
        {"Referred-By", SIP_HDR_REFERRED_BY},
        {"b", SIP_HDR_REFERRED_BY},
        {"Session-Expires", SIP_HDR_SESSION_EXPIRES},
        {"x", SIP_HDR_SESSION_EXPIRES},
        {"Accept-Contact", SIP_HDR_ACCEPT_CONTACT},
        {"a", SIP_HDR_ACCEPT_CONTACT},
        {"Reject-Contact", SIP_HDR_REJECT_CONTACT},
        {"j", SIP_HDR_REJECT_CONTACT},
        {"Request-Disposition", SIP_HDR_REQUEST_DISPOSITION},
        {"d", SIP_HDR_REQUEST_DISPOSITION},
        {"Identity", SIP_HDR_IDENTITY},
        {"y", SIP_HDR_IDENTITY},
        {"Identity-Info", SIP_HDR_IDENTITY_INFO},
        {"n", SIP_HDR_IDENTITY_INFO},
        {"Warning", SIP_HDR_WARNING},
        {"User-Agent", SIP_HDR_USER_AGENT},
        {"Server", SIP_HDR_SERVER},
        {"Authorization", SIP_HDR_AUTHORIZATION},
        {"Proxy-Authorization", SIP_HDR_PROXY_AUTHORIZATION},
        {"WWW-Authenticate", SIP_HDR_WWW_AUTHENTICATE},
        {"Proxy-Authenticate", SIP_HDR_PROXY_AUTHENTICATE},
        {"Subscription-State", SIP_HDR_SUBSCRIPTION_STATE},
        {"X-Via", SIP_HDR_OTHER},
        {"Vias", SIP_HDR_OTHER},
        {"z", SIP_HDR_OTHER},
        {"g", SIP_HDR_OTHER},
        {"", SIP_HDR_OTHER},
        {"Contact-", SIP_HDR_OTHER},
        {"Call-IE", SIP_HDR_OTHER},
        {"Content-Lengtx", SIP_HDR_OTHER},
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(t); i++) {
        if (sip_hdr_id(t[i].name, strlen(t[i].name)) != t[i].id)
            fail_msg("sip_hdr_id(%s)", t[i].name);
    }
    /* a name with bytes that fold to letters under |0x20 is not a match */
    assert_int_equal(sip_hdr_id("T\x0f", 2), SIP_HDR_OTHER);
    for (int id = 1; id < SIP_HDR__COUNT; id++) {
        const char *n = sip_hdr_name((sip_hdr_id_t)id);
        assert_int_equal(sip_hdr_id(n, strlen(n)), id);
    }
    /* every byte value at every position of every name: a match exactly
     * when the byte is the name's, in either case for a letter */
    for (int id = 1; id < SIP_HDR__COUNT; id++) {
        const char *n = sip_hdr_name((sip_hdr_id_t)id);
        size_t len = strlen(n);
        char buf[64];
        assert_true(len < sizeof(buf));
        for (size_t i = 0; i < len; i++)
            for (int b = 0; b < 256; b++) {
                memcpy(buf, n, len);
                buf[i] = (char)b;
                unsigned char want = (unsigned char)n[i];
                bool same =
                    b == want || (isalpha(want) && (b | 0x20) == (want | 0x20) && isalpha(b));
                if ((sip_hdr_id(buf, len) == (sip_hdr_id_t)id) != same)
                    fail_msg("sip_hdr_id(%s with byte %zu = 0x%02x)", n, i, b);
            }
    }
    assert_string_equal(sip_hdr_name(SIP_HDR_CALL_ID), "Call-ID");
    assert_string_equal(sip_hdr_name(SIP_HDR_OTHER), "");
    assert_string_equal(sip_hdr_name(SIP_HDR__COUNT), "");
}

static void test_find_and_smuggling(void **state)
{
    (void)state;
    const char *m = "OPTIONS sip:a@b SIP/2.0\r\n"
                    "X-Filter-Me : 1\r\n"
                    "i: compact@example.com\r\n"
                    "x-filter-me: 2\r\n"
                    "Call-ID: second@example.com\r\n"
                    "\r\n";
    assert_int_equal(parse_str(m), 0);
    const sip_hdr_t *h = sip_msg_find_name(&g_m, "X-FILTER-ME");
    assert_non_null(h);
    assert_slice(h->value, "1");
    assert_slice(h->name, "X-Filter-Me");
    h = sip_msg_find_name(&g_m, "Call-ID");
    assert_non_null(h);
    assert_slice(h->value, "compact@example.com");
    assert_ptr_equal(sip_msg_find_name(&g_m, "i"), h);
    assert_ptr_equal(sip_msg_find(&g_m, SIP_HDR_CALL_ID), h);
    assert_null(sip_msg_find(&g_m, SIP_HDR_VIA));
    assert_null(sip_msg_find_name(&g_m, "X-Other"));
    assert_null(sip_msg_find_name(&g_m, "Via"));
    assert_int_equal(g_m.first[SIP_HDR_CALL_ID], 1);
    assert_int_equal(g_m.first[SIP_HDR_VIA], -1);
    assert_true(g_m.repeated & (1ull << SIP_HDR_CALL_ID));
}

static void test_limits(void **state)
{
    (void)state;
    sip_limits_t l;
    sip_limits_default(&l);
    assert_int_equal(l.max_message_size, 65536);
    assert_int_equal(l.max_headers, 128);
    assert_int_equal(l.max_line_len, 8192);
    assert_int_equal(l.max_uri_len, 2048);
    assert_int_equal(l.max_vias, 70);

    static char buf[80000];
    /* header count */
    l.max_headers = 3;
    assert_int_equal(parse_lim("OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &l), 0);
    assert_int_equal(
        parse_lim("OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", &l),
        FEDGE_ESIP_HDR_COUNT);
    /* line length, folded lines counted together */
    sip_limits_default(&l);
    l.max_line_len = 30;
    assert_int_equal(
        parse_lim("OPTIONS sip:a@b SIP/2.0\r\nX: 123456789012345678901234567\r\n\r\n", &l), 0);
    assert_int_equal(
        parse_lim("OPTIONS sip:a@b SIP/2.0\r\nX: 1234567890123456789012345678\r\n\r\n", &l),
        FEDGE_ESIP_LINE_LEN);
    assert_int_equal(
        parse_lim("OPTIONS sip:a@b SIP/2.0\r\nX: 1234567890\r\n 1234567890123456\r\n\r\n", &l),
        FEDGE_ESIP_LINE_LEN);
    /* the start line counts too */
    assert_int_equal(parse_lim("OPTIONS sip:a@b;x=123456 SIP/2.0\r\n\r\n", &l),
                     FEDGE_ESIP_LINE_LEN);
    assert_int_equal(parse_lim("SIP/2.0 200 OK OK OK OK OK OK OK\r\n\r\n", &l),
                     FEDGE_ESIP_LINE_LEN);
    /* a 60 KiB header line with the defaults */
    int n = sprintf(buf, "OPTIONS sip:a@b SIP/2.0\r\nX: ");
    memset(buf + n, 'a', 60 * 1024);
    strcpy(buf + n + 60 * 1024, "\r\n\r\n");
    assert_int_equal(parse_str(buf), FEDGE_ESIP_LINE_LEN);
    /* URI length */
    n = sprintf(buf, "OPTIONS sip:");
    memset(buf + n, 'a', 2100);
    strcpy(buf + n + 2100, "@b SIP/2.0\r\n\r\n");
    assert_int_equal(parse_str(buf), FEDGE_ESIP_URI_LEN);
    l.max_uri_len = 3000;
    l.max_line_len = 8192;
    assert_int_equal(parse_lim(buf, &l), 0);
    /* message size */
    sip_limits_default(&l);
    l.max_message_size = 38;
    assert_int_equal(parse_lim("OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\n\r\n", &l),
                     FEDGE_ESIP_TOO_BIG);
    /* Via count over several headers */
    sip_limits_default(&l);
    l.max_vias = 3;
    assert_int_equal(parse_lim("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP a, SIP/2.0/TCP b\r\n"
                               "v: SIP/2.0/TCP c\r\n\r\n",
                               &l),
                     0);
    assert_int_equal(g_m.nvias, 3);
    assert_int_equal(parse_lim("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP a, SIP/2.0/TCP b\r\n"
                               "v: SIP/2.0/TCP c, SIP/2.0/TCP d\r\n\r\n",
                               &l),
                     FEDGE_ESIP_VIA_COUNT);
    /* a comma inside a quoted Via parameter does not count */
    assert_int_equal(
        parse_lim("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP a;x=\"1,2,3,4\"\r\n\r\n", &l), 0);
    assert_int_equal(g_m.nvias, 1);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia:\r\n\r\n"), FEDGE_ESIP_VIA);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP a,,\r\n\r\n"),
                     FEDGE_ESIP_VIA);
    /* the header table's hard capacity */
    sip_limits_default(&l);
    l.max_headers = 100000;
    n = sprintf(buf, "OPTIONS sip:a@b SIP/2.0\r\n");
    for (int i = 0; i < SIP_MAX_HEADERS_CAP + 1; i++)
        n += sprintf(buf + n, "X: %d\r\n", i);
    strcpy(buf + n, "\r\n");
    assert_int_equal(parse_lim(buf, &l), FEDGE_ESIP_HDR_COUNT);
}

static void test_content_length_and_body(void **state)
{
    (void)state;
    assert_int_equal(parse_str("MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello"), 0);
    assert_int_equal(g_m.content_length, 5);
    assert_slice(g_m.body, "hello");
    assert_int_equal(
        parse_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello"),
        0);
    assert_int_equal(parse_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 9999\r\n\r\nhello"),
                     FEDGE_ESIP_BODY_LEN);
    assert_int_equal(parse_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n"),
                     FEDGE_ESIP_BAD_CLEN);
    assert_int_equal(parse_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 4294967296\r\n\r\n"),
                     FEDGE_ESIP_BAD_CLEN);
    assert_int_equal(parse_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5x\r\n\r\nhello"),
                     FEDGE_ESIP_BAD_CLEN);
    assert_int_equal(parse_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length:\r\n\r\n"),
                     FEDGE_ESIP_BAD_CLEN);
    assert_int_equal(parse_str("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 0\r\nl: 5\r\n\r\nhello"),
                     FEDGE_ESIP_CLEN_MISMATCH);
    /* RFC 3261 18.3: datagram bytes beyond the body are not the message */
    const char *d = "MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhiINVITE sip:x SIP/2.0\r\n";
    assert_int_equal(parse_str(d), 0);
    assert_slice(g_m.body, "hi");
    assert_int_equal(g_m.len, strlen("MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhi"));
}

/* ---- values ---- */

static void test_iterate_values(void **state)
{
    (void)state;
    const char *m = "OPTIONS sip:a@b SIP/2.0\r\n"
                    "Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr> ,\r\n \"A, B\" "
                    "<sip:p3@x;a=\"1,2\">\r\n"
                    "Supported:\r\n"
                    "Route: <sip:p4,x@y>\r\n"
                    "Supported: timer , 100rel\r\n"
                    "\r\n";
    assert_int_equal(parse_str(m), 0);
    sip_iter_t it;
    fedge_str_t v;
    unsigned hi;
    sip_iter_init(&it, &g_m, SIP_HDR_ROUTE);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 1);
    assert_slice(v, "<sip:p1.example.com;lr>");
    assert_int_equal(hi, 0);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 1);
    assert_slice(v, "<sip:p2.example.com;lr>");
    assert_int_equal(sip_iter_next(&it, &v, NULL), 1);
    assert_slice(v, "\"A, B\" <sip:p3@x;a=\"1,2\">");
    assert_int_equal(sip_iter_next(&it, &v, &hi), 1);
    assert_slice(v, "<sip:p4,x@y>");
    assert_int_equal(hi, 2);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 0);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 0);
    /* an empty header has no values */
    sip_iter_init(&it, &g_m, SIP_HDR_SUPPORTED);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 1);
    assert_slice(v, "timer");
    assert_int_equal(hi, 3);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 1);
    assert_slice(v, "100rel");
    assert_int_equal(sip_iter_next(&it, &v, &hi), 0);
    /* absent header */
    sip_iter_init(&it, &g_m, SIP_HDR_VIA);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 0);

    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nRoute: <sip:a>,,<sip:b>\r\n\r\n"), 0);
    sip_iter_init(&it, &g_m, SIP_HDR_ROUTE);
    assert_int_equal(sip_iter_next(&it, &v, &hi), 1);
    assert_int_equal(sip_iter_next(&it, &v, &hi), FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nRoute: \"a <sip:b>\r\n\r\n"), 0);
    sip_iter_init(&it, &g_m, SIP_HDR_ROUTE);
    assert_int_equal(sip_iter_next(&it, &v, &hi), FEDGE_ESIP_HEADER);
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nRoute: <sip:b\r\n\r\n"), 0);
    sip_iter_init(&it, &g_m, SIP_HDR_ROUTE);
    assert_int_equal(sip_iter_next(&it, &v, &hi), FEDGE_ESIP_HEADER);
}

static void test_split_values(void **state)
{
    (void)state;
    fedge_str_t out[4];
    assert_int_equal(sip_split_values(FEDGE_STR_LIT("a, \"b,\\\",c\" <d,e>;x=\",\" ,f"), out, 4),
                     3);
    assert_slice(out[0], "a");
    assert_slice(out[1], "\"b,\\\",c\" <d,e>;x=\",\"");
    assert_slice(out[2], "f");
    assert_int_equal(sip_split_values(FEDGE_STR_LIT("a,b,c,d,e"), out, 2), 2);
    assert_slice(out[1], "b");
    assert_int_equal(sip_split_values(FEDGE_STR_LIT("  "), out, 4), 0);
    assert_int_equal(sip_split_values(FEDGE_STR_LIT("a,"), out, 4), FEDGE_ESIP_HEADER);
    assert_int_equal(sip_split_values(FEDGE_STR_LIT(",a"), out, 4), FEDGE_ESIP_HEADER);
    assert_int_equal(sip_split_values(FEDGE_STR_LIT("\"a"), out, 4), FEDGE_ESIP_HEADER);
    assert_int_equal(sip_split_values(FEDGE_STR_LIT("\"a\\"), out, 4), FEDGE_ESIP_HEADER);
    assert_int_equal(sip_split_values(FEDGE_STR_LIT("<a"), out, 4), FEDGE_ESIP_HEADER);
}

/* ---- typed accessors ---- */

static void test_accessors(void **state)
{
    (void)state;
    const char *m =
        "INVITE sips:bob@example.org;transport=tls SIP/2.0\r\n"
        "v: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bKtop, SIP/2.0/TLS b.example.com\r\n"
        "Max-Forwards: 0068\r\n"
        "f: \"A\" <sip:alice@example.com>;tag=f1\r\n"
        "t: sip:bob@example.org;tag=t2\r\n"
        "i: abc.123@[2001:db8::1]\r\n"
        "CSeq:\r\n 0009\r\n  INVITE\r\n"
        "m: <sip:alice@192.0.2.1:5061;transport=tls>;expires=60;q=0.5, <sip:x@y>\r\n"
        "Expires: 0300\r\n"
        "l: 0\r\n\r\n";
    assert_int_equal(parse_str(m), 0);
    const sip_uri_t *u;
    assert_int_equal(sip_msg_ruri(&g_m, &u), 0);
    assert_int_equal(u->scheme, SIP_URI_SIPS);
    assert_slice(u->transport, "tls");
    const sip_via_t *v;
    assert_int_equal(sip_msg_via(&g_m, &v), 0);
    assert_slice(v->host, "a.example.com");
    assert_int_equal(v->port, 5061);
    assert_slice(v->branch, "z9hG4bKtop");
    const sip_via_t *v2;
    assert_int_equal(sip_msg_via(&g_m, &v2), 0);
    assert_ptr_equal(v, v2); /* cached */
    int mf;
    assert_int_equal(sip_msg_max_forwards(&g_m, &mf), 0);
    assert_int_equal(mf, 68);
    const sip_nameaddr_t *na;
    assert_int_equal(sip_msg_from(&g_m, &na), 0);
    assert_slice(na->display, "A");
    assert_slice(na->tag, "f1");
    assert_int_equal(sip_msg_to(&g_m, &na), 0);
    assert_slice(na->uri_str, "sip:bob@example.org");
    assert_slice(na->tag, "t2");
    fedge_str_t cid;
    assert_int_equal(sip_msg_call_id(&g_m, &cid), 0);
    assert_slice(cid, "abc.123@[2001:db8::1]");
    const sip_cseq_t *cs;
    assert_int_equal(sip_msg_cseq(&g_m, &cs), 0);
    assert_int_equal(cs->seq, 9);
    assert_int_equal(cs->method_id, SIP_METHOD_INVITE);
    assert_int_equal(sip_msg_contact(&g_m, &na), 0);
    assert_slice(na->uri.host, "192.0.2.1");
    assert_slice(na->expires, "60");
    assert_slice(na->q, "0.5");
    long long e;
    assert_int_equal(sip_msg_expires(&g_m, &e), 0);
    assert_int_equal(e, 300);
    assert_int_equal(sip_msg_check(&g_m), 0);
}

static void test_accessor_absent_and_errors(void **state)
{
    (void)state;
    assert_int_equal(parse_str("SIP/2.0 200 OK\r\n\r\n"), 0);
    const sip_uri_t *u;
    const sip_via_t *v;
    const sip_nameaddr_t *na;
    const sip_cseq_t *cs;
    fedge_str_t cid;
    int mf;
    long long e;
    assert_int_equal(sip_msg_ruri(&g_m, &u), FEDGE_ENOENT);
    assert_int_equal(sip_msg_via(&g_m, &v), FEDGE_ENOENT);
    assert_int_equal(sip_msg_from(&g_m, &na), FEDGE_ENOENT);
    assert_int_equal(sip_msg_to(&g_m, &na), FEDGE_ENOENT);
    assert_int_equal(sip_msg_contact(&g_m, &na), FEDGE_ENOENT);
    assert_int_equal(sip_msg_cseq(&g_m, &cs), FEDGE_ENOENT);
    assert_int_equal(sip_msg_call_id(&g_m, &cid), FEDGE_ENOENT);
    assert_int_equal(sip_msg_max_forwards(&g_m, &mf), FEDGE_ENOENT);
    assert_int_equal(sip_msg_expires(&g_m, &e), FEDGE_ENOENT);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_NO_VIA);

#define BAD(h, call, err)                                                                          \
    do {                                                                                           \
        assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\n" h "\r\n\r\n"), 0);                \
        assert_int_equal(call, err);                                                               \
        assert_int_equal(call, err); /* cached error */                                            \
    } while (0)
    BAD("Via: SIP/2.0/TCP", sip_msg_via(&g_m, &v), FEDGE_ESIP_VIA);
    BAD("From: <sip:a@b", sip_msg_from(&g_m, &na), FEDGE_ESIP_FROM);
    BAD("From: *", sip_msg_from(&g_m, &na), FEDGE_ESIP_FROM);
    BAD("From: <bad>", sip_msg_from(&g_m, &na), FEDGE_ESIP_FROM);
    BAD("To: \"Mr. J. User <sip:j.user@example.com>", sip_msg_to(&g_m, &na), FEDGE_ESIP_TO);
    BAD("To: <sip:a@b>;tag=", sip_msg_to(&g_m, &na), FEDGE_ESIP_TO);
    BAD("To: Bell, Alexander <sip:a.g.bell@example.com>", sip_msg_to(&g_m, &na), FEDGE_ESIP_TO);
    BAD("To: \"Watson\" < sip:t.watson@example.org >", sip_msg_to(&g_m, &na), FEDGE_ESIP_TO);
    BAD("Contact: <sip:a@b>\"", sip_msg_contact(&g_m, &na), FEDGE_ESIP_CONTACT);
    BAD("Contact: \"x <sip:a@b>", sip_msg_contact(&g_m, &na), FEDGE_ESIP_CONTACT);
    BAD("Contact: *, <sip:a@b>", sip_msg_contact(&g_m, &na), FEDGE_ESIP_CONTACT);
    BAD("Contact: *;expires=0", sip_msg_contact(&g_m, &na), FEDGE_ESIP_CONTACT);
    BAD("Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E", sip_msg_contact(&g_m, &na),
        FEDGE_ESIP_CONTACT);
    BAD("Contact: <sip:a@b>;q=1.5", sip_msg_contact(&g_m, &na), FEDGE_ESIP_CONTACT);
    BAD("CSeq: 36893488147419103232 INVITE", sip_msg_cseq(&g_m, &cs), FEDGE_ESIP_CSEQ);
    BAD("CSeq: 2147483648 INVITE", sip_msg_cseq(&g_m, &cs), FEDGE_ESIP_CSEQ);
    BAD("CSeq: -1 INVITE", sip_msg_cseq(&g_m, &cs), FEDGE_ESIP_CSEQ);
    BAD("CSeq: 1", sip_msg_cseq(&g_m, &cs), FEDGE_ESIP_CSEQ);
    BAD("CSeq: 1INVITE", sip_msg_cseq(&g_m, &cs), FEDGE_ESIP_CSEQ);
    BAD("CSeq: 1 INVITE x", sip_msg_cseq(&g_m, &cs), FEDGE_ESIP_CSEQ);
    BAD("Call-ID: a b", sip_msg_call_id(&g_m, &cid), FEDGE_ESIP_CALL_ID);
    BAD("Call-ID: a@", sip_msg_call_id(&g_m, &cid), FEDGE_ESIP_CALL_ID);
    BAD("Call-ID: @a", sip_msg_call_id(&g_m, &cid), FEDGE_ESIP_CALL_ID);
    BAD("Call-ID: a@b@c", sip_msg_call_id(&g_m, &cid), FEDGE_ESIP_CALL_ID);
    BAD("Call-ID:", sip_msg_call_id(&g_m, &cid), FEDGE_ESIP_CALL_ID);
    BAD("Max-Forwards: 256", sip_msg_max_forwards(&g_m, &mf), FEDGE_ESIP_MAX_FORWARDS);
    BAD("Max-Forwards: -1", sip_msg_max_forwards(&g_m, &mf), FEDGE_ESIP_MAX_FORWARDS);
    BAD("Max-Forwards: 7a", sip_msg_max_forwards(&g_m, &mf), FEDGE_ESIP_MAX_FORWARDS);
    BAD("Expires: 4294967296", sip_msg_expires(&g_m, &e), FEDGE_ESIP_EXPIRES);
    BAD("Expires: 1.5", sip_msg_expires(&g_m, &e), FEDGE_ESIP_EXPIRES);
#undef BAD
    /* the largest values that are still fine */
    assert_int_equal(
        parse_str("OPTIONS sip:a@b SIP/2.0\r\nCSeq: 2147483647 OPTIONS\r\nMax-Forwards: 255\r\n"
                  "Expires: 4294967295\r\n\r\n"),
        0);
    assert_int_equal(sip_msg_cseq(&g_m, &cs), 0);
    assert_int_equal(cs->seq, 2147483647u);
    assert_int_equal(sip_msg_max_forwards(&g_m, &mf), 0);
    assert_int_equal(mf, 255);
    assert_int_equal(sip_msg_expires(&g_m, &e), 0);
    assert_int_equal(e, 4294967295LL);
    /* Contact * alone */
    assert_int_equal(parse_str("REGISTER sip:a@b SIP/2.0\r\nContact: *\r\nExpires: 0\r\n\r\n"), 0);
    assert_int_equal(sip_msg_contact(&g_m, &na), 0);
    assert_true(na->star);
    /* a URI longer than max_uri_len inside a header */
    static char buf[4000];
    int n = sprintf(buf, "OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:");
    memset(buf + n, 'u', 2100);
    strcpy(buf + n + 2100, "@b>\r\n\r\n");
    assert_int_equal(parse_str(buf), 0);
    assert_int_equal(sip_msg_to(&g_m, &na), FEDGE_ESIP_URI_LEN);
}

static void test_ruri_rules(void **state)
{
    (void)state;
    const sip_uri_t *u;
    assert_int_equal(parse_str("OPTIONS <sip:user@example.com> SIP/2.0\r\n\r\n"), 0);
    assert_int_equal(sip_msg_ruri(&g_m, &u), FEDGE_ESIP_URI);
    assert_int_equal(
        parse_str("OPTIONS sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n\r\n"), 0);
    assert_int_equal(sip_msg_ruri(&g_m, &u), FEDGE_ESIP_URI);
    assert_int_equal(parse_str("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n\r\n"), 0);
    assert_int_equal(sip_msg_ruri(&g_m, &u), 0);
    assert_int_equal(u->scheme, SIP_URI_OTHER);
    assert_slice(u->scheme_str, "soap.beep");
    assert_int_equal(parse_str("OPTIONS sip:2001:db8::10 SIP/2.0\r\n\r\n"), 0);
    assert_int_equal(sip_msg_ruri(&g_m, &u), FEDGE_ESIP_URI);
}

static void test_check(void **state)
{
    (void)state;
    assert_int_equal(parse_str(REQ("")), 0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    /* CSeq method must equal the method, case-sensitively */
    assert_int_equal(parse_str(REQ_HEAD("OPTIONS", "sip:a@b") "CSeq: 1 INVITE\r\n\r\n"), 0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_DUP_HEADER);
    const char *mm =
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
        "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 8 options\r\n\r\n";
    assert_int_equal(parse_str(mm), 0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_CSEQ_METHOD);
    /* missing headers, in the documented order */
    assert_int_equal(parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n"), 0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_FROM);
    assert_int_equal(
        parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nFrom: <sip:a@b>\r\n\r\n"), 0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_TO);
    assert_int_equal(
        parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nFrom: <sip:a@b>\r\n"
                  "To: <sip:a@b>\r\n\r\n"),
        0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_CALL_ID);
    assert_int_equal(
        parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nFrom: <sip:a@b>\r\n"
                  "To: <sip:a@b>\r\nCall-ID: x\r\n\r\n"),
        0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_CSEQ);
    /* duplicates, also hidden behind whitespace or compact forms */
    assert_int_equal(parse_str(REQ("To : <sip:bob@example.org>;tag=\r\n")), 0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_DUP_HEADER);
    assert_int_equal(parse_str(REQ("i: other@example.com\r\n")), 0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_DUP_HEADER);
    assert_int_equal(parse_str(REQ("Max-Forwards : 69\r\n")), 0);
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_DUP_HEADER);
    /* several Vias are fine; a bad Max-Forwards is not */
    assert_int_equal(parse_str(REQ("Via: SIP/2.0/TCP b.example.com\r\n")), 0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    assert_int_equal(parse_str(REQ_HEAD("OPTIONS", "sip:a@b") "\r\n"), 0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    /* a response needs no Request-URI or Max-Forwards */
    assert_int_equal(
        parse_str(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
            "To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 8 INVITE\r\n\r\n"),
        0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    /* the Via count is looked at again with the limits of m */
    sip_limits_t l;
    sip_limits_default(&l);
    assert_int_equal(parse_lim(REQ("Via: SIP/2.0/TCP b.example.com\r\n"), &l), 0);
    l.max_vias = 1;
    assert_int_equal(sip_msg_check(&g_m), FEDGE_ESIP_VIA_COUNT);
}

static void test_iter_typed(void **state)
{
    (void)state;
    const char *m = "OPTIONS sip:a@b SIP/2.0\r\n"
                    "Via: SIP/2.0/TLS a;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::9]:5060;rport\r\n"
                    "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
                    "Route: <sip:p1.example.com;lr>, bad\r\n"
                    "\r\n";
    assert_int_equal(parse_str(m), 0);
    sip_iter_t it;
    sip_via_t v;
    sip_nameaddr_t na;
    unsigned hi;
    sip_iter_init(&it, &g_m, SIP_HDR_VIA);
    assert_int_equal(sip_iter_via(&it, &v, &hi), 1);
    assert_slice(v.host, "a");
    assert_int_equal(sip_iter_via(&it, &v, &hi), 1);
    assert_int_equal(v.host_kind, SIP_HOST_IPV6);
    assert_true(v.has_rport);
    assert_int_equal(sip_iter_via(&it, &v, &hi), 0);
    sip_iter_init(&it, &g_m, SIP_HDR_RECORD_ROUTE);
    assert_int_equal(sip_iter_nameaddr(&it, &na, &hi), 1);
    assert_true(na.uri.lr);
    assert_slice(na.uri.host, "p1.example.com");
    assert_int_equal(sip_iter_nameaddr(&it, &na, &hi), 1);
    assert_slice(na.uri.host, "p2.example.com");
    assert_int_equal(sip_iter_nameaddr(&it, &na, &hi), 0);
    sip_iter_init(&it, &g_m, SIP_HDR_ROUTE);
    assert_int_equal(sip_iter_nameaddr(&it, &na, &hi), 1);
    assert_int_equal(sip_iter_nameaddr(&it, &na, &hi), FEDGE_ESIP_ROUTE);
}

static void test_rfc4475_wsinv(void **state)
{
    (void)state;
    /* after RFC 4475 3.1.1.1 (a short tortuous INVITE), not verbatim */
    const char *m =
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
        "TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
        "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = "
        "98asjd8\r\n"
        "MaX-fOrWaRdS: 0068\r\n"
        "Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
        "Content-Length   : 3\r\n"
        "cseq: 0009\r\n  INVITE\r\n"
        "Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;rport;branch=390skdjuw\r\n"
        "s :\r\n"
        "NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
        "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
        "Content-Type: application/sdp\r\n"
        "Route:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
        "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n"
        " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n"
        "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue "
        ";\r\n"
        "  secondparam ; q = 0.33\r\n"
        "\r\n"
        "v=0";
    assert_int_equal(parse_str(m), 0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    const sip_nameaddr_t *na;
    assert_int_equal(sip_msg_from(&g_m, &na), 0);
    assert_slice(na->display, "J Rosenberg \\\\\\\"");
    assert_true(na->display_quoted);
    assert_slice(na->tag, "98asjd8");
    assert_int_equal(sip_msg_to(&g_m, &na), 0);
    assert_slice(na->tag, "1918181833n");
    assert_slice(na->uri_str, "sip:vivekg@chair-dnrc.example.com");
    assert_int_equal(sip_msg_contact(&g_m, &na), 0);
    assert_slice(na->q, "0.33");
    assert_slice(na->display, "Quoted string \\\"\\\"");
    fedge_str_t pv;
    assert_int_equal(sip_param_get(na->params, "newparam", &pv), 1);
    assert_slice(pv, "newvalue");
    assert_int_equal(sip_param_get(na->params, "secondparam", &pv), 1);
    assert_int_equal(pv.len, 0);
    sip_iter_t it;
    sip_via_t v;
    sip_iter_init(&it, &g_m, SIP_HDR_VIA);
    assert_int_equal(sip_iter_via(&it, &v, NULL), 1);
    assert_slice(v.transport, "UDP");
    assert_slice(v.host, "192.0.2.2");
    assert_int_equal(sip_iter_via(&it, &v, NULL), 1);
    assert_slice(v.transport, "TCP");
    assert_slice(v.branch, "z9hG4bK9ikj8");
    assert_int_equal(sip_iter_via(&it, &v, NULL), 1);
    assert_slice(v.host, "192.168.255.111");
    assert_slice(v.branch, "z9hG4bK30239");
    assert_int_equal(sip_iter_via(&it, &v, NULL), 0);
    int mf;
    assert_int_equal(sip_msg_max_forwards(&g_m, &mf), 0);
    assert_int_equal(mf, 68);
    assert_slice(g_m.body, "v=0");
}

/* More RFC 4475 §3.1.1 and RFC 5118 style valid messages (not verbatim). */
static void test_unusual_valid_messages(void **state)
{
    (void)state;
    const sip_uri_t *u;
    const sip_nameaddr_t *na;
    const sip_cseq_t *cs;
    /* escaped method name, escaped URIs everywhere (esc02) */
    const char *esc = "RE%47IST%45R sip:registrar.example.com SIP/2.0\r\n"
                      "To: \"%Z%45\" <sip:resource@example.com>\r\n"
                      "From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23\r\n"
                      "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\n"
                      "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bKkdjuw\r\n"
                      "CSeq: 29344 RE%47IST%45R\r\n"
                      "Max-Forwards: 70\r\n"
                      "Contact: <sip:alias1@host1.example.com>\r\n"
                      "C%6Fntact: <sip:alias2@host2.example.com>\r\n"
                      "Contact: <sip:alias3@host3.example.com>\r\n"
                      "l: 0\r\n\r\n";
    assert_int_equal(parse_str(esc), 0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    assert_slice(g_m.method, "RE%47IST%45R");
    assert_int_equal(g_m.method_id, SIP_METHOD_OTHER);
    assert_int_equal(sip_msg_cseq(&g_m, &cs), 0);
    assert_slice(cs->method, "RE%47IST%45R");
    /* an escaped header name is another header (kept byte for byte) */
    assert_int_equal(g_m.hdrs[7].id, SIP_HDR_OTHER);
    assert_slice(g_m.hdrs[7].name, "C%6Fntact");
    sip_iter_t it;
    fedge_str_t v;
    int n = 0;
    sip_iter_init(&it, &g_m, SIP_HDR_CONTACT);
    while (sip_iter_next(&it, &v, NULL) == 1)
        n++;
    assert_int_equal(n, 2);
    /* ';' in the Request-URI user part (semiuri) */
    assert_int_equal(parse_str("OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n\r\n"),
                     0);
    assert_int_equal(sip_msg_ruri(&g_m, &u), 0);
    assert_slice(u->user, "user;par=u%40example.net");
    assert_slice(u->host, "example.com");
    /* IPv6 everywhere (RFC 5118 §4.1, §4.6) */
    const char *v6 = "REGISTER sip:[2001:db8::10] SIP/2.0\r\n"
                     "To: sip:user@example.com\r\n"
                     "From: sip:user@example.com;tag=81x2\r\n"
                     "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\r\n"
                     "Call-ID: SSG9559905523997077@hlau_4100\r\n"
                     "Max-Forwards: 70\r\n"
                     "Contact: \"Caller\" <sip:caller@[2001:db8::1]>\r\n"
                     "Contact: <sip:caller@[::ffff:192.0.2.10]>\r\n"
                     "CSeq: 98176 REGISTER\r\n"
                     "Content-Length: 0\r\n\r\n";
    assert_int_equal(parse_str(v6), 0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    assert_int_equal(sip_msg_ruri(&g_m, &u), 0);
    assert_int_equal(u->host_kind, SIP_HOST_IPV6);
    assert_int_equal(sip_msg_from(&g_m, &na), 0);
    assert_slice(na->tag, "81x2"); /* addr-spec form: the tag is the header's */
    assert_int_equal(sip_msg_contact(&g_m, &na), 0);
    assert_slice(na->uri.host, "[2001:db8::1]");
    /* a response without reason phrase and unknown transports in Via */
    assert_int_equal(
        parse_str("SIP/2.0 100 \r\nVia: SIP/2.0/SCTP a.example.com;branch=z9hG4bK1, "
                  "SIP/2.0/UNKNOWN b.example.com\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
                  "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n"),
        0);
    assert_int_equal(sip_msg_check(&g_m), 0);
    /* a body that holds CRLFCRLF and header-looking lines */
    const char *mp =
        "MESSAGE sip:a@b SIP/2.0\r\nContent-Type: multipart/mixed;boundary=xyz\r\nl: 38\r\n\r\n"
        "--xyz\r\nContent-Length: 99\r\n\r\nhi\r\n--xyz--\r\n";
    assert_int_equal(parse_str(mp), 0);
    assert_int_equal(g_m.nhdrs, 2);
    assert_int_equal(g_m.body.len, 38);
}

/* Method names and the start-line method the metrics count by. */
static void test_method_names(void **state)
{
    (void)state;
    for (int m = 1; m < SIP_METHOD_COUNT; m++) {
        const char *n = sip_method_name((sip_method_t)m);
        assert_non_null(n);
        assert_int_equal(sip_method_id(n, strlen(n)), m);
    }
    assert_null(sip_method_name(SIP_METHOD_OTHER));
    const char inv[] = "INVITE sip:bob@example.com SIP/2.0\r\n";
    assert_int_equal(sip_start_method(inv, sizeof inv - 1), SIP_METHOD_INVITE);
    const char ext[] = "FOO sip:bob@example.com SIP/2.0\r\n";
    assert_int_equal(sip_start_method(ext, sizeof ext - 1), SIP_METHOD_OTHER);
    const char lower[] = "invite sip:b@x SIP/2.0\r\n";
    assert_int_equal(sip_start_method(lower, sizeof lower - 1), SIP_METHOD_OTHER);
    const char nosp[] = "INVITEsip:bob@example.comSIP/2.0.................";
    assert_int_equal(sip_start_method(nosp, sizeof nosp - 1), SIP_METHOD_OTHER);
    assert_int_equal(sip_start_method("BYE", 3), SIP_METHOD_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_request_line),
        cmocka_unit_test(test_extension_method_and_version_case),
        cmocka_unit_test(test_status_line),
        cmocka_unit_test(test_start_line_errors),
        cmocka_unit_test(test_header_split_and_folding),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_header_ids),
        cmocka_unit_test(test_find_and_smuggling),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_content_length_and_body),
        cmocka_unit_test(test_iterate_values),
        cmocka_unit_test(test_split_values),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_accessor_absent_and_errors),
        cmocka_unit_test(test_ruri_rules),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_iter_typed),
        cmocka_unit_test(test_rfc4475_wsinv),
        cmocka_unit_test(test_unusual_valid_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
