/* test_bencode_sdp.c — unit tests of the bencode codec and of finding and
 * replacing the SDP in SIP bodies (src/media/bencode.c, src/media/sdp.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

static int dec(const char *s, media_ben_t *nodes, size_t max, media_ben_t **root)
{
    return media_ben_decode(s, strlen(s), nodes, max, root);
}

static void test_decode_reply(void **state)
{
    (void)state;
    media_ben_t nodes[32], *root;
    const char *r = "d6:result2:ok3:sdp5:v=0\r\n8:warningsli1ei-7ee5:emptyd0:0:ee";
    assert_int_equal(dec(r, nodes, 32, &root), (int)strlen(r));
    assert_int_equal(root->type, MEDIA_BEN_DICT);
    assert_int_equal(root->count, 4);
    assert_true(fedge_str_eq(media_ben_get_str(root, "result"), "ok"));
    assert_true(fedge_str_eq(media_ben_get_str(root, "sdp"), "v=0\r\n"));
    const media_ben_t *w = media_ben_get(root, "warnings");
    assert_non_null(w);
    assert_int_equal(w->type, MEDIA_BEN_LIST);
    assert_int_equal(w->count, 2);
    assert_int_equal(w->child->num, 1);
    assert_int_equal(w->child->next->num, -7);
    assert_true(fedge_str_eq(w->str, "li1ei-7ee"));
    const media_ben_t *e = media_ben_get(root, "empty");
    assert_int_equal(e->type, MEDIA_BEN_DICT);
    assert_int_equal(e->count, 1);
    assert_int_equal(e->child->key.len, 0);
    assert_null(media_ben_get(root, "absent"));
    assert_int_equal(media_ben_get_str(root, "warnings").len, 0); /* not a string */
    assert_null(media_ben_get(w, "x"));                           /* not a dict */
    /* Trailing bytes are the caller's business: the value's length. */
    assert_int_equal(dec("i5eXYZ", nodes, 32, &root), 3);
}

static void test_decode_refuses_malformed(void **state)
{
    (void)state;
    media_ben_t nodes[64], *root;
    const char *bad[] = {
        "",
        "x",
        "5:abc",
        "i12",
        "ie",
        "i-0e",
        "i01e",
        "05:abcde",
        "3abc",
        "l",
        "d1:ae",
        "di1ei2ee",
        "d1:a",
        "i-e",
        "-1:",
        "l1:a",
        "i1234567890123456789e",
        "99999999999999999999:x",
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        int rc = dec(bad[i], nodes, 64, &root);
        if (rc != FEDGE_EINVAL)
            fail_msg("\"%s\" gave %d, expected FEDGE_EINVAL", bad[i], rc);
    }
    /* Nesting beyond the bound, and more values than nodes. */
    char deep[2 * MEDIA_BEN_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i <= MEDIA_BEN_MAX_DEPTH; i++)
        deep[n++] = 'l';
    for (int i = 0; i <= MEDIA_BEN_MAX_DEPTH; i++)
        deep[n++] = 'e';
    assert_int_equal(media_ben_decode(deep, n, nodes, 64, &root), FEDGE_EINVAL);
    assert_int_equal(media_ben_decode(deep + 1, n - 2, nodes, 64, &root), (int)(n - 2));
    assert_int_equal(dec("li1ei2ei3ee", nodes, 3, &root), FEDGE_ENOSPC);
    assert_int_equal(dec("li1ei2ei3ee", nodes, 4, &root), 11);
    /* Lengths past the end never read past it. */
    assert_int_equal(media_ben_decode("4:abcd", 5, nodes, 64, &root), FEDGE_EINVAL);
}

static void test_encode_and_round_trip(void **state)
{
    (void)state;
    char buf[256];
    media_benc_t b;
    media_benc_init(&b, buf, sizeof(buf));
    media_benc_dict(&b);
    media_benc_cstr(&b, "command");
    media_benc_cstr(&b, "offer");
    media_benc_cstr(&b, "n");
    media_benc_int(&b, -42);
    media_benc_cstr(&b, "flags");
    media_benc_list(&b);
    media_benc_str(&b, "a\0b", 3);
    media_benc_end(&b);
    media_benc_end(&b);
    int n = media_benc_finish(&b);
    const char want[] = "d7:command5:offer1:ni-42e5:flagsl3:a\0bee";
    assert_int_equal(n, (int)sizeof(want) - 1);
    assert_memory_equal(buf, want, sizeof(want) - 1);
    media_ben_t nodes[16], *root;
    assert_int_equal(media_ben_decode(buf, (size_t)n, nodes, 16, &root), n);
    assert_int_equal(media_ben_get(root, "n")->num, -42);
    assert_int_equal(media_ben_get(root, "flags")->child->str.len, 3);

    /* A full buffer: finish reports it, nothing is written past cap. */
    char small[8];
    memset(small, 'Z', sizeof(small));
    media_benc_init(&b, small, 6);
    media_benc_cstr(&b, "abcdefgh");
    media_benc_int(&b, 1);
    assert_int_equal(media_benc_finish(&b), FEDGE_ENOSPC);
    assert_int_equal(small[6], 'Z');
}

static const char *SDP = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
                         "m=audio 4000 RTP/AVP 0\r\n";

static void test_sdp_plain_body(void **state)
{
    (void)state;
    media_sdp_loc_t loc;
    assert_int_equal(media_sdp_find(S("application/sdp"), S(SDP), &loc), 0);
    assert_int_equal(loc.off, 0);
    assert_int_equal(loc.len, strlen(SDP));
    assert_int_equal(media_sdp_find(S(" Application/SDP ; charset=x"), S(SDP), &loc), 0);
    assert_int_equal(media_sdp_find(S("text/plain"), S("hello"), &loc), FEDGE_ENOENT);
    assert_int_equal(media_sdp_find(S("application/sdp"), S(""), &loc), FEDGE_ENOENT);
    assert_int_equal(media_sdp_find(S(""), S(SDP), &loc), FEDGE_ENOENT);
    assert_int_equal(media_sdp_find(S("application/"), S(SDP), &loc), FEDGE_EINVAL);

    char out[512];
    int n = media_sdp_replace(S(SDP), &loc, S("v=0\r\n"), out, sizeof(out));
    assert_int_equal(n, 5);
    assert_memory_equal(out, "v=0\r\n", 5);
    assert_int_equal(media_sdp_replace(S(SDP), &loc, S(SDP), out, 10), FEDGE_ENOSPC);
    media_sdp_loc_t bad = {strlen(SDP), 1};
    assert_int_equal(media_sdp_replace(S(SDP), &bad, S("x"), out, sizeof(out)), FEDGE_EINVAL);
}

static void test_sdp_multipart(void **state)
{
    (void)state;
    char body[1024];
    snprintf(body, sizeof(body),
             "--b1\r\nContent-Type: application/resource-lists+xml\r\n\r\n<list/>\r\n"
             "--b1 \r\ncontent-type : application/sdp\r\nContent-Disposition: session\r\n\r\n"
             "%s\r\n--b1--\r\n",
             SDP);
    media_sdp_loc_t loc;
    assert_int_equal(media_sdp_find(S("multipart/mixed;boundary=b1"), S(body), &loc), 0);
    assert_int_equal(loc.len, strlen(SDP));
    assert_memory_equal(body + loc.off, SDP, strlen(SDP));
    /* Quoted boundary, other parameters, alternative. */
    assert_int_equal(
        media_sdp_find(S("Multipart/Alternative; x=y; boundary=\"b1\""), S(body), &loc), 0);
    assert_memory_equal(body + loc.off, SDP, strlen(SDP));

    /* Replace keeps both parts and the delimiters. */
    char out[1024];
    const char *nsdp = "v=0\r\nc=IN IP4 127.0.0.3\r\n";
    int n = media_sdp_replace(S(body), &loc, S(nsdp), out, sizeof(out));
    assert_int_equal(n, (int)(strlen(body) - strlen(SDP) + strlen(nsdp)));
    media_sdp_loc_t again;
    assert_int_equal(
        media_sdp_find(S("multipart/mixed;boundary=b1"), (fedge_str_t){out, (size_t)n}, &again), 0);
    assert_int_equal(again.len, strlen(nsdp));
    assert_memory_equal(out + again.off, nsdp, strlen(nsdp));
    assert_memory_equal(out + n - 10, "\r\n--b1--\r\n", 10);

    /* No SDP part; no boundary; no closing delimiter; a preamble. */
    const char *nosdp = "--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1--\r\n";
    assert_int_equal(media_sdp_find(S("multipart/mixed;boundary=b1"), S(nosdp), &loc),
                     FEDGE_ENOENT);
    assert_int_equal(media_sdp_find(S("multipart/mixed"), S(nosdp), &loc), FEDGE_EINVAL);
    const char *open = "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n";
    assert_int_equal(media_sdp_find(S("multipart/mixed;boundary=b1"), S(open), &loc), FEDGE_EINVAL);
    const char *pre = "preamble\r\n--b1\r\nc: application/sdp\r\n\r\nv=0\r\n--b1--";
    assert_int_equal(media_sdp_find(S("multipart/mixed;boundary=b1"), S(pre), &loc), 0);
    /* The line break before a delimiter belongs to the delimiter. */
    assert_int_equal(loc.len, 3);
    assert_memory_equal(pre + loc.off, "v=0", 3);
    const char *nodelim = "v=0\r\n";
    assert_int_equal(media_sdp_find(S("multipart/mixed;boundary=b1"), S(nodelim), &loc),
                     FEDGE_EINVAL);
}

static void test_sdp_has_ice(void **state)
{
    (void)state;
    const char *ice = "v=0\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\na=ice-ufrag:abcd\r\n"
                      "a=ice-pwd:0123456789012345678901\r\n";
    const char *cand = "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=candidate:1 1 UDP 2130706431 "
                       "10.0.0.1 4000 typ host\n";
    const char *plain = "v=0\r\ns=a=ice-ufrag:x\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
    assert_true(media_sdp_has_ice((fedge_str_t){ice, strlen(ice)}));
    assert_true(media_sdp_has_ice((fedge_str_t){cand, strlen(cand)}));
    assert_false(media_sdp_has_ice((fedge_str_t){plain, strlen(plain)}));
    assert_false(media_sdp_has_ice((fedge_str_t){"", 0}));
    assert_false(media_sdp_has_ice((fedge_str_t){"a=ice-ufr", 9}));
}

/* The transport-protocol asked of the relay for an offer towards a side:
 * none for pass; the F variant when the offer has RTCP feedback. */
static void test_transport_protocol(void **state)
{
    (void)state;
    fedge_str_t savp = FEDGE_STR_LIT("v=0\r\nm=audio 5000 RTP/SAVP 0\r\na=crypto:1 x\r\n");
    fedge_str_t savpf =
        FEDGE_STR_LIT("v=0\r\nm=audio 5000 RTP/AVP 0\r\nm=video 5002 RTP/SAVPF 96\r\n");
    fedge_str_t dtls = FEDGE_STR_LIT("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
    fedge_str_t bare = FEDGE_STR_LIT("v=0\r\nm=audio 5000 RTP/AVP");
    assert_null(media_transport_protocol(MEDIA_TP_PASS, savp));
    assert_string_equal(media_transport_protocol(MEDIA_TP_RTP, savp), "RTP/AVP");
    assert_string_equal(media_transport_protocol(MEDIA_TP_SRTP, bare), "RTP/SAVP");
    assert_string_equal(media_transport_protocol(MEDIA_TP_RTP, savpf), "RTP/AVPF");
    assert_string_equal(media_transport_protocol(MEDIA_TP_SRTP, dtls), "RTP/SAVPF");
    assert_string_equal(media_transport_name(MEDIA_TP_SRTP), "srtp");
    assert_string_equal(media_transport_name(MEDIA_TP_PASS), "pass");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_reply),
        cmocka_unit_test(test_decode_refuses_malformed),
        cmocka_unit_test(test_encode_and_round_trip),
        cmocka_unit_test(test_sdp_plain_body),
        cmocka_unit_test(test_sdp_multipart),
        cmocka_unit_test(test_sdp_has_ice),
        cmocka_unit_test(test_transport_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
