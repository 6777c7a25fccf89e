/* test_calls.c — unit tests of the offer/answer table of calls with media
 * (src/media/call.c): which ng command each message crossing sides needs,
 * through whole call flows, and the bound and reaping of the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "media/media.h"
#include "sip/sip.h"

#define IN MEDIA_SIDE_INTERNAL
#define EX MEDIA_SIDE_EXTERNAL

static media_calls_t *T;
static uint64_t now;
static const char *cid = "c1@test";

static media_act_t req(int method, bool to_tag, bool sdp, media_side_t from)
{
    media_msg_t m = {.request = true,
                     .method = method,
                     .call_id = {cid, strlen(cid)},
                     .to_tag = to_tag,
                     .has_sdp = sdp,
                     .from_side = from};
    return media_calls_on_msg(T, &m, now);
}

static media_act_t rsp(int method, int status, bool sdp, media_side_t from)
{
    media_msg_t m = {.request = false,
                     .method = method,
                     .status = status,
                     .call_id = {cid, strlen(cid)},
                     .to_tag = true,
                     .has_sdp = sdp,
                     .from_side = from};
    return media_calls_on_msg(T, &m, now);
}

static char dropped[8][32];
static size_t ndropped;

static void on_dropped(void *user, fedge_str_t id)
{
    snprintf(dropped[ndropped++ % 8], 32, "%.*s", (int)id.len, id.s);
}

static int setup(void **state)
{
    T = media_calls_new(100, 60000, on_dropped, NULL);
    now = 1000;
    ndropped = 0;
    cid = "c1@test";
    return 0;
}

static int teardown(void **state)
{
    media_calls_free(T);
    return 0;
}

enum { INVITE = SIP_METHOD_INVITE, ACK = SIP_METHOD_ACK, BYE = SIP_METHOD_BYE };

/* ICE towards a side as that side last spoke it; a first offer as its
 * sender; recorded per call. */
static void test_ice_per_side(void **state)
{
    (void)state;
    fedge_str_t id = {cid, strlen(cid)};
    /* inside offers with ICE; partner answers without; inside re-offers
     * with ICE; partner re-offers without. */
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    assert_string_equal(media_calls_ice(T, id, IN, true), "force"); /* partner unknown */
    assert_int_equal(rsp(INVITE, 200, true, EX), MEDIA_ACT_ANSWER);
    assert_string_equal(media_calls_ice(T, id, EX, false), "force"); /* to inside: ICE */
    assert_string_equal(media_calls_ice(T, id, IN, true), "remove"); /* to partner: no ICE */
    assert_string_equal(media_calls_ice(T, id, EX, false), "force");
    /* the inside stops speaking ICE: the partner's next SDP goes plain */
    assert_string_equal(media_calls_ice(T, id, IN, false), "remove");
    assert_string_equal(media_calls_ice(T, id, EX, false), "remove");
    /* a plain first offer of another call stays plain; an unknown call too */
    assert_string_equal(media_calls_ice(T, (fedge_str_t){"x@test", 6}, EX, false), "remove");
    assert_string_equal(media_calls_ice(T, (fedge_str_t){"x@test", 6}, EX, true), "force");
}

static void test_basic_call_with_early_media_and_reinvite(void **state)
{
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(media_calls_count(T), 1);
    assert_int_equal(rsp(INVITE, 100, false, EX), MEDIA_ACT_NONE);
    assert_int_equal(rsp(INVITE, 180, false, EX), MEDIA_ACT_NONE);
    assert_int_equal(rsp(INVITE, 183, true, EX), MEDIA_ACT_ANSWER);
    assert_int_equal(rsp(INVITE, 200, true, EX), MEDIA_ACT_ANSWER);
    assert_int_equal(req(ACK, true, false, IN), MEDIA_ACT_NONE);
    /* Hold from the partner: a re-INVITE the other way. */
    assert_int_equal(req(INVITE, true, true, EX), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(INVITE, 200, true, IN), MEDIA_ACT_ANSWER);
    assert_int_equal(req(ACK, true, false, EX), MEDIA_ACT_NONE);
    /* UPDATE from inside. */
    assert_int_equal(req(SIP_METHOD_UPDATE, true, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(SIP_METHOD_UPDATE, 200, true, EX), MEDIA_ACT_ANSWER);
    /* A failed re-INVITE keeps the call. */
    assert_int_equal(req(INVITE, true, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(INVITE, 491, false, EX), MEDIA_ACT_NONE);
    assert_int_equal(media_calls_count(T), 1);
    /* CANCEL after the 2xx does not end the call; BYE does. */
    assert_int_equal(req(SIP_METHOD_CANCEL, false, false, IN), MEDIA_ACT_NONE);
    assert_int_equal(req(BYE, true, false, EX), MEDIA_ACT_DELETE);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(req(BYE, true, false, EX), MEDIA_ACT_NONE);
    assert_int_equal(ndropped, 0);
}

static void test_late_offer(void **state)
{
    assert_int_equal(req(INVITE, false, false, EX), MEDIA_ACT_NONE);
    assert_int_equal(media_calls_count(T), 1);
    assert_int_equal(rsp(INVITE, 180, false, IN), MEDIA_ACT_NONE);
    assert_int_equal(rsp(INVITE, 200, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(req(ACK, true, true, EX), MEDIA_ACT_ANSWER);
    /* A re-INVITE without SDP: the offer comes back in the 200 again. */
    assert_int_equal(req(INVITE, true, false, IN), MEDIA_ACT_NONE);
    assert_int_equal(rsp(INVITE, 200, true, EX), MEDIA_ACT_OFFER);
    assert_int_equal(req(ACK, true, true, IN), MEDIA_ACT_ANSWER);
    assert_int_equal(req(ACK, true, true, IN), MEDIA_ACT_NONE); /* nothing open */
}

static void test_reliable_provisional_offer_and_prack(void **state)
{
    assert_int_equal(req(INVITE, false, false, IN), MEDIA_ACT_NONE);
    assert_int_equal(rsp(INVITE, 183, true, EX), MEDIA_ACT_OFFER);
    assert_int_equal(req(SIP_METHOD_PRACK, true, true, IN), MEDIA_ACT_ANSWER);
    assert_int_equal(rsp(SIP_METHOD_PRACK, 200, false, EX), MEDIA_ACT_NONE);
    /* The 200 repeats the callee's SDP: rewritten again, as an offer. */
    assert_int_equal(rsp(INVITE, 200, true, EX), MEDIA_ACT_OFFER);
    /* An early offer answered in a reliable 183, repeated in the 200. */
    cid = "c2@test";
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(INVITE, 183, true, EX), MEDIA_ACT_ANSWER);
    assert_int_equal(req(SIP_METHOD_PRACK, true, false, IN), MEDIA_ACT_NONE);
    assert_int_equal(rsp(INVITE, 200, true, EX), MEDIA_ACT_ANSWER);
    /* A new offer in a PRACK. */
    assert_int_equal(req(SIP_METHOD_PRACK, true, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(SIP_METHOD_PRACK, 200, true, EX), MEDIA_ACT_ANSWER);
}

static void test_failures_and_cancel_delete(void **state)
{
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(INVITE, 486, false, EX), MEDIA_ACT_DELETE);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(rsp(INVITE, 486, false, EX), MEDIA_ACT_NONE); /* retransmission */

    assert_int_equal(req(INVITE, false, true, EX), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(INVITE, 183, true, IN), MEDIA_ACT_ANSWER);
    assert_int_equal(req(SIP_METHOD_CANCEL, false, false, EX), MEDIA_ACT_DELETE);
    assert_int_equal(rsp(INVITE, 487, false, IN), MEDIA_ACT_NONE);
    assert_int_equal(media_calls_count(T), 0);

    /* Timer B/C expiry shows as a 408 the edge sends: the same rule. */
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(rsp(INVITE, 408, false, EX), MEDIA_ACT_DELETE);
}

static void test_unknown_calls_and_other_methods(void **state)
{
    assert_int_equal(rsp(INVITE, 200, true, EX), MEDIA_ACT_NONE);
    assert_int_equal(req(INVITE, true, false, EX), MEDIA_ACT_NONE);
    assert_int_equal(req(SIP_METHOD_UPDATE, true, false, EX), MEDIA_ACT_NONE);
    assert_int_equal(req(SIP_METHOD_MESSAGE, false, true, EX), MEDIA_ACT_NONE);
    assert_int_equal(req(ACK, true, true, EX), MEDIA_ACT_NONE);
    assert_int_equal(media_calls_count(T), 0);
    /* An in-dialog offer of a call the table lost starts it again. */
    assert_int_equal(req(INVITE, true, true, EX), MEDIA_ACT_OFFER);
    assert_int_equal(media_calls_count(T), 1);
    assert_true(media_calls_forget(T, FEDGE_STR_LIT("c1@test")));
    assert_false(media_calls_forget(T, FEDGE_STR_LIT("c1@test")));
    media_msg_t none = {.request = true, .method = INVITE, .has_sdp = true};
    assert_int_equal(media_calls_on_msg(T, &none, now), MEDIA_ACT_NONE);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(ndropped, 0);
}

static void test_bound_and_reap(void **state)
{
    media_calls_free(T);
    T = media_calls_new(2, 1000, on_dropped, NULL);
    cid = "a@test";
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    now += 10;
    cid = "b@test";
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    now += 10;
    cid = "a@test"; /* a is used again: b is now the one idle longest */
    assert_int_equal(rsp(INVITE, 180, false, EX), MEDIA_ACT_NONE);
    now += 10;
    cid = "c@test";
    assert_int_equal(req(INVITE, false, true, IN), MEDIA_ACT_OFFER);
    assert_int_equal(media_calls_count(T), 2);
    assert_int_equal(ndropped, 1);
    assert_string_equal(dropped[0], "b@test");

    now += 995; /* a: idle 1005 ms, c: 995 ms */
    assert_int_equal(media_calls_reap(T, now), 1);
    assert_string_equal(dropped[1], "a@test");
    assert_int_equal(media_calls_count(T), 1);
    now += 5;
    assert_int_equal(media_calls_reap(T, now), 1);
    assert_string_equal(dropped[2], "c@test");
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(media_calls_reap(T, now), 0);
}

static void test_facts_from_parsed_messages(void **state)
{
    static const char INV[] = "INVITE sip:bob@contoso.test SIP/2.0\r\n"
                              "Via: SIP/2.0/TLS 192.0.2.7;branch=z9hG4bK1\r\n"
                              "Max-Forwards: 70\r\n"
                              "From: <sip:alice@fabrikam.test>;tag=fa\r\n"
                              "To: <sip:bob@contoso.test>\r\n"
                              "Call-ID: cx@fabrikam.test\r\n"
                              "CSeq: 1 INVITE\r\n"
                              "c: application/sdp\r\n"
                              "Content-Length: 5\r\n\r\nv=0\r\n";
    static const char OK[] = "SIP/2.0 200 OK\r\n"
                             "Via: SIP/2.0/TLS 192.0.2.7;branch=z9hG4bK1\r\n"
                             "From: <sip:alice@fabrikam.test>;tag=fa\r\n"
                             "To: <sip:bob@contoso.test>;tag=tb\r\n"
                             "Call-ID: cx@fabrikam.test\r\n"
                             "CSeq: 1 INVITE\r\n"
                             "Content-Length: 0\r\n\r\n";
    static sip_msg_t m;
    media_in_t in;
    assert_int_equal(sip_parse(INV, sizeof(INV) - 1, NULL, &m), 0);
    assert_int_equal(media_in_from_sip(&m, EX, "192.0.2.7", &in), 0);
    assert_true(in.msg.request);
    assert_int_equal(in.msg.method, SIP_METHOD_INVITE);
    assert_false(in.msg.to_tag);
    assert_true(fedge_str_eq(in.msg.call_id, "cx@fabrikam.test"));
    assert_true(fedge_str_eq(in.from_tag, "fa"));
    assert_int_equal(in.to_tag.len, 0);
    assert_true(fedge_str_eq(in.content_type, "application/sdp"));
    assert_true(fedge_str_eq(in.body, "v=0\r\n"));
    assert_string_equal(in.peer_ip, "192.0.2.7");
    in.msg.has_sdp = true;
    assert_int_equal(media_calls_on_msg(T, &in.msg, now), MEDIA_ACT_OFFER);

    assert_int_equal(sip_parse(OK, sizeof(OK) - 1, NULL, &m), 0);
    assert_int_equal(media_in_from_sip(&m, IN, "10.0.0.9", &in), 0);
    assert_false(in.msg.request);
    assert_int_equal(in.msg.method, SIP_METHOD_INVITE);
    assert_int_equal(in.msg.status, 200);
    assert_true(in.msg.to_tag);
    assert_true(fedge_str_eq(in.to_tag, "tb"));
    assert_int_equal(in.content_type.len, 0);
    assert_int_equal(in.body.len, 0);

    static const char BAD[] = "BYE sip:bob@contoso.test SIP/2.0\r\n"
                              "Via: SIP/2.0/TLS 192.0.2.7;branch=z9hG4bK2\r\n"
                              "From: <sip:alice@fabrikam.test>;tag=fa\r\n"
                              "To: <sip:bob@contoso.test>;tag=tb\r\n"
                              "CSeq: 2 BYE\r\n"
                              "Content-Length: 0\r\n\r\n";
    assert_int_equal(sip_parse(BAD, sizeof(BAD) - 1, NULL, &m), 0);
    assert_true(media_in_from_sip(&m, EX, "192.0.2.7", &in) < 0); /* no Call-ID */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_call_with_early_media_and_reinvite, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_late_offer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ice_per_side, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reliable_provisional_offer_and_prack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_and_cancel_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_calls_and_other_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_and_reap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facts_from_parsed_messages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
