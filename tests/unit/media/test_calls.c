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

/* As req and rsp, for a crossing between the internal server and a remote
 * user's client (client), or for a call whose internal party is one
 * (outside). */
static media_act_t req_x(int method, bool to_tag, bool sdp, media_side_t from, bool client,
                         bool outside)
{
    media_msg_t m = {.request = true,
                     .method = method,
                     .call_id = {cid, strlen(cid)},
                     .to_tag = to_tag,
                     .has_sdp = sdp,
                     .from_side = from,
                     .client = client,
                     .outside = outside};
    return media_calls_on_msg(T, &m, now);
}

static media_act_t rsp_x(int method, int status, bool sdp, media_side_t from, bool client)
{
    media_msg_t m = {.request = false,
                     .method = method,
                     .status = status,
                     .call_id = {cid, strlen(cid)},
                     .to_tag = true,
                     .has_sdp = sdp,
                     .from_side = from,
                     .client = client};
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

static const char *fremote = ""; /* the connection fmsg's message came on */

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
    fremote = "";
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

/* One message of a partner's call forked to remote clients: tags and
 * branch given (NULL: none), client on the client's crossing; its steps
 * into S (how many into NS). */
static media_step_t STEPS[2];
static size_t NS;

static size_t fmsg(bool request, int method, int status, bool sdp, media_side_t from, bool client,
                   const char *ftag, const char *ttag, const char *branch)
{
    media_msg_t m = {.request = request,
                     .method = method,
                     .status = status,
                     .call_id = {cid, strlen(cid)},
                     .to_tag = ttag != NULL,
                     .has_sdp = sdp,
                     .from_side = from,
                     .client = client,
                     .from_tag_s = {ftag ? ftag : "", ftag ? strlen(ftag) : 0},
                     .to_tag_s = {ttag ? ttag : "", ttag ? strlen(ttag) : 0},
                     .branch = {branch ? branch : "", branch ? strlen(branch) : 0},
                     .remote = {fremote, strlen(fremote)}};
    NS = media_calls_plan(T, &m, now, STEPS);
    return NS;
}

/* step i of the last fmsg is act on call id from side from (trusted) */
static void step_is(size_t i, media_act_t act, const char *id, media_side_t from, bool trusted)
{
    assert_true(i < NS);
    assert_int_equal(STEPS[i].act, act);
    assert_int_equal(STEPS[i].call_id.len, strlen(id));
    assert_memory_equal(STEPS[i].call_id.s, id, strlen(id));
    assert_int_equal(STEPS[i].from, from);
    assert_int_equal(STEPS[i].trusted, trusted);
}

#define FORK1 "c1@test;fork=z9hG4bK-k1"
#define FORK2 "c1@test;fork=z9hG4bK-k2"

static void test_fork_ids(void **state)
{
    char buf[64];
    assert_int_equal(media_calls_fork_id((fedge_str_t){"c1@test", 7},
                                         (fedge_str_t){"z9hG4bK-k1", 10}, buf, sizeof(buf)),
                     strlen(FORK1));
    assert_string_equal(buf, FORK1);
    assert_int_equal(
        media_calls_fork_id((fedge_str_t){"c1@test", 7}, (fedge_str_t){"z9hG4bK-k1", 10}, buf, 10),
        FEDGE_ENOSPC);
}

/* A partner's call the internal server forks to a device and to a remote
 * client: the client's crossing is a fork of its own; the device answers,
 * the fork is cancelled and deleted alone; call 1 never changed. */
static void test_fork_device_answers(void **state)
{
    fedge_str_t id = {cid, strlen(cid)}, fid = {FORK1, strlen(FORK1)};
    assert_int_equal(fmsg(true, INVITE, 0, true, EX, false, "fp", NULL, "z9hG4bK-p"), 1);
    step_is(0, MEDIA_ACT_OFFER, cid, EX, false);
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k1"), 1);
    step_is(0, MEDIA_ACT_OFFER, FORK1, IN, false);
    assert_int_equal(media_calls_count(T), 2);
    assert_true(media_calls_has(T, id));
    assert_false(media_calls_has(T, fid));
    /* the client rings (no SDP), the device answers on call 1 */
    assert_int_equal(fmsg(false, INVITE, 180, false, EX, true, "fp", "tc", "z9hG4bK-k1"), 0);
    assert_int_equal(fmsg(false, INVITE, 200, true, IN, false, "fp", "td", "z9hG4bK-p"), 1);
    step_is(0, MEDIA_ACT_ANSWER, cid, IN, false);
    /* the internal server cancels the client's fork: deleted alone */
    assert_int_equal(fmsg(true, SIP_METHOD_CANCEL, 0, false, IN, true, "fp", NULL, "z9hG4bK-k1"),
                     1);
    step_is(0, MEDIA_ACT_DELETE, FORK1, IN, false);
    assert_int_equal(media_calls_count(T), 1);
    assert_int_equal(fmsg(false, INVITE, 487, false, EX, true, "fp", "tc", "z9hG4bK-k1"), 0);
    /* the dialog is the device's: a re-INVITE from inside is call 1's alone */
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, false, "td", "fp", "z9hG4bK-r"), 1);
    step_is(0, MEDIA_ACT_OFFER, cid, IN, false);
    assert_int_equal(fmsg(false, INVITE, 200, true, EX, false, "td", "fp", "z9hG4bK-r"), 1);
    step_is(0, MEDIA_ACT_ANSWER, cid, EX, false);
    assert_int_equal(fmsg(true, BYE, 0, false, EX, false, "fp", "td", "z9hG4bK-b"), 1);
    step_is(0, MEDIA_ACT_DELETE, cid, EX, false);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(ndropped, 0);
}

/* The client answers: its answer goes through the fork, then call 1; the
 * partner's re-INVITE reaches each on its crossing; the client's own
 * re-INVITE (its crossing not shown) runs through both on the partner's
 * crossing; call 1's BYE deletes the fork too (dropped callback). */
static void test_fork_client_answers(void **state)
{
    assert_int_equal(fmsg(true, INVITE, 0, true, EX, false, "fp", NULL, "z9hG4bK-p"), 1);
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k1"), 1);
    step_is(0, MEDIA_ACT_OFFER, FORK1, IN, false);
    /* a second client of the user: a second fork */
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k2"), 1);
    step_is(0, MEDIA_ACT_OFFER, FORK2, IN, false);
    assert_int_equal(media_calls_count(T), 3);
    /* the first client's 183 and 200, found by branch */
    assert_int_equal(fmsg(false, INVITE, 183, true, EX, true, "fp", "tc", "z9hG4bK-k1"), 1);
    step_is(0, MEDIA_ACT_ANSWER, FORK1, EX, false);
    assert_int_equal(fmsg(false, INVITE, 183, true, IN, false, "fp", "tc", "z9hG4bK-p"), 1);
    step_is(0, MEDIA_ACT_ANSWER, cid, IN, false);
    assert_int_equal(fmsg(false, INVITE, 200, true, EX, true, "fp", "tc", "z9hG4bK-k1"), 1);
    step_is(0, MEDIA_ACT_ANSWER, FORK1, EX, false);
    assert_int_equal(fmsg(false, INVITE, 200, true, IN, false, "fp", "tc", "z9hG4bK-p"), 1);
    step_is(0, MEDIA_ACT_ANSWER, cid, IN, false);
    assert_int_equal(fmsg(true, SIP_METHOD_CANCEL, 0, false, IN, true, "fp", NULL, "z9hG4bK-k2"),
                     1);
    step_is(0, MEDIA_ACT_DELETE, FORK2, IN, false);
    /* the partner's ACK crosses twice without SDP */
    assert_int_equal(fmsg(true, ACK, 0, false, EX, false, "fp", "tc", "z9hG4bK-a"), 0);
    assert_int_equal(fmsg(true, ACK, 0, false, IN, true, "fp", "tc", "z9hG4bK-a2"), 0);
    /* the partner's re-INVITE: call 1 on its crossing, the fork (by the
     * client's tag: a new branch) on the client's */
    assert_int_equal(fmsg(true, INVITE, 0, true, EX, false, "fp", "tc", "z9hG4bK-r1"), 1);
    step_is(0, MEDIA_ACT_OFFER, cid, EX, false);
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", "tc", "z9hG4bK-r2"), 1);
    step_is(0, MEDIA_ACT_OFFER, FORK1, IN, false);
    assert_int_equal(fmsg(false, INVITE, 200, true, EX, true, "fp", "tc", "z9hG4bK-r2"), 1);
    step_is(0, MEDIA_ACT_ANSWER, FORK1, EX, false);
    assert_int_equal(fmsg(false, INVITE, 200, true, IN, false, "fp", "tc", "z9hG4bK-r1"), 1);
    step_is(0, MEDIA_ACT_ANSWER, cid, IN, false);
    /* the client's re-INVITE, seen on the partner's crossing only: the
     * client's SDP through the fork (trusted: it came through the
     * internal server), then call 1; the partner's answer the other way */
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, false, "tc", "fp", "z9hG4bK-c1"), 2);
    step_is(0, MEDIA_ACT_OFFER, FORK1, EX, true);
    step_is(1, MEDIA_ACT_OFFER, cid, IN, false);
    assert_int_equal(fmsg(false, INVITE, 200, true, EX, false, "tc", "fp", "z9hG4bK-c1"), 2);
    step_is(0, MEDIA_ACT_ANSWER, cid, EX, false);
    step_is(1, MEDIA_ACT_ANSWER, FORK1, IN, true);
    /* a late-offer re-INVITE from the client: the partner's offer in the
     * 200 through call 1 then the fork; the client's ACK answers on its
     * crossing (the fork), then on the partner's (call 1) */
    assert_int_equal(fmsg(true, INVITE, 0, false, IN, false, "tc", "fp", "z9hG4bK-c2"), 0);
    assert_int_equal(fmsg(false, INVITE, 200, true, EX, false, "tc", "fp", "z9hG4bK-c2"), 2);
    step_is(0, MEDIA_ACT_OFFER, cid, EX, false);
    step_is(1, MEDIA_ACT_OFFER, FORK1, IN, true);
    assert_int_equal(fmsg(true, ACK, 0, true, EX, true, "tc", "fp", "z9hG4bK-c3"), 1);
    step_is(0, MEDIA_ACT_ANSWER, FORK1, EX, false);
    assert_int_equal(fmsg(true, ACK, 0, true, IN, false, "tc", "fp", "z9hG4bK-c4"), 1);
    step_is(0, MEDIA_ACT_ANSWER, cid, IN, false);
    /* the partner's BYE: call 1 deleted, its fork with it */
    assert_int_equal(media_calls_count(T), 2);
    assert_int_equal(fmsg(true, BYE, 0, false, EX, false, "fp", "tc", "z9hG4bK-b"), 1);
    step_is(0, MEDIA_ACT_DELETE, cid, EX, false);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(ndropped, 1);
    assert_string_equal(dropped[0], FORK1);
    assert_int_equal(fmsg(true, BYE, 0, false, IN, true, "fp", "tc", "z9hG4bK-b2"), 0);
}

/* A fork's own failure (the client's 486, the edge's 408 on its crossing)
 * deletes the fork alone; the call's failure deletes both; a fork is
 * made only by the first INVITE; a full table keeps a fork's call. */
static void test_fork_failures_and_bound(void **state)
{
    assert_int_equal(fmsg(true, INVITE, 0, true, EX, false, "fp", NULL, "z9hG4bK-p"), 1);
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k1"), 1);
    assert_int_equal(fmsg(false, INVITE, 486, false, EX, true, "fp", "tc", "z9hG4bK-k1"), 1);
    step_is(0, MEDIA_ACT_DELETE, FORK1, EX, false);
    /* a late-offer fork (no SDP): made, its offer comes with the 200 */
    assert_int_equal(fmsg(true, INVITE, 0, false, IN, true, "fp", NULL, "z9hG4bK-k2"), 0);
    assert_int_equal(media_calls_count(T), 2);
    assert_int_equal(fmsg(false, INVITE, 408, false, EX, true, "fp", NULL, "z9hG4bK-k2"), 1);
    step_is(0, MEDIA_ACT_DELETE, FORK2, EX, false);
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k1"), 1);
    assert_int_equal(fmsg(false, INVITE, 480, false, IN, false, "fp", "td", "z9hG4bK-p"), 1);
    step_is(0, MEDIA_ACT_DELETE, cid, IN, false);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(ndropped, 1);
    assert_string_equal(dropped[0], FORK1);
    /* nothing to fork: an unknown call, an in-dialog request */
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", "tc", "z9hG4bK-k3"), 1);
    step_is(0, MEDIA_ACT_OFFER, cid, IN, false); /* an internal user's call to a client */
    media_calls_free(T);
    /* a table of one call: the fork does not push its own call out */
    T = media_calls_new(1, 60000, on_dropped, NULL);
    ndropped = 0;
    assert_int_equal(fmsg(true, INVITE, 0, true, EX, false, "fp", NULL, "z9hG4bK-p"), 1);
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k1"), 1);
    assert_int_equal(media_calls_count(T), 2);
    assert_int_equal(ndropped, 0);
    /* listed as a call of its own, caller inside */
    media_call_info_t info[4];
    assert_int_equal(media_calls_list(T, info, 4), 2);
    assert_int_equal(info[0].call_id.len, strlen(FORK1));
    assert_int_equal(info[0].caller, IN);
    assert_int_equal(info[1].caller, EX);
    /* reaped together */
    now += 60000;
    assert_int_equal(media_calls_reap(T, now), 1);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(ndropped, 2);
}

/* Calls a client's crossing creates (an internal user's call to a remote
 * client) are relayed there as before; a remote client's call to a
 * partner, created on its crossing to the partner with outside, says so
 * until it ends. */
static void test_client_calls(void **state)
{
    fedge_str_t id = {cid, strlen(cid)};
    assert_int_equal(req_x(INVITE, false, true, IN, true, false), MEDIA_ACT_OFFER);
    assert_int_equal(rsp_x(INVITE, 200, true, EX, true), MEDIA_ACT_ANSWER);
    assert_int_equal(req_x(INVITE, true, true, EX, true, false), MEDIA_ACT_OFFER);
    assert_int_equal(req_x(BYE, true, false, IN, true, false), MEDIA_ACT_DELETE);
    cid = "c2@test";
    id = (fedge_str_t){cid, strlen(cid)};
    assert_false(media_calls_outside(T, id));
    assert_int_equal(req_x(INVITE, false, true, IN, false, true), MEDIA_ACT_OFFER);
    assert_true(media_calls_outside(T, id));
    /* only the message that creates the call says it */
    assert_int_equal(rsp_x(INVITE, 200, true, EX, false), MEDIA_ACT_ANSWER);
    assert_int_equal(req_x(INVITE, true, true, EX, false, false), MEDIA_ACT_OFFER);
    assert_true(media_calls_outside(T, id));
    assert_int_equal(req_x(BYE, true, false, EX, false, false), MEDIA_ACT_DELETE);
    assert_false(media_calls_outside(T, id));
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
                             "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKedge, SIP/2.0/TLS "
                             "192.0.2.7;branch=z9hG4bK1\r\n"
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
    /* the branch of the hop before the edge: a request's top Via */
    assert_true(fedge_str_eq(in.msg.branch, "z9hG4bK1"));
    assert_true(fedge_str_eq(in.msg.from_tag_s, "fa"));
    in.msg.has_sdp = true;
    assert_int_equal(media_calls_on_msg(T, &in.msg, now), MEDIA_ACT_OFFER);

    assert_int_equal(sip_parse(OK, sizeof(OK) - 1, NULL, &m), 0);
    assert_int_equal(media_in_from_sip(&m, IN, "10.0.0.9", &in), 0);
    assert_false(in.msg.request);
    assert_int_equal(in.msg.method, SIP_METHOD_INVITE);
    assert_int_equal(in.msg.status, 200);
    assert_true(in.msg.to_tag);
    assert_true(fedge_str_eq(in.to_tag, "tb"));
    assert_true(fedge_str_eq(in.msg.to_tag_s, "tb"));
    /* ... a response's second (the first is the edge's own) */
    assert_true(fedge_str_eq(in.msg.branch, "z9hG4bK1"));
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

/* ---- orphans and the reaper ---- */

#define GRACE 2000
#define IDLE 60000

/* A message of the current call from side over the connection remote. */
static media_act_t msg_on(int method, bool request, int status, bool sdp, media_side_t from,
                          const char *remote)
{
    media_msg_t m = {.request = request,
                     .method = method,
                     .status = status,
                     .call_id = {cid, strlen(cid)},
                     .to_tag = !request || method != INVITE,
                     .has_sdp = sdp,
                     .from_side = from,
                     .remote = {remote, strlen(remote)}};
    return media_calls_on_msg(T, &m, now);
}

/* The inside calls a partner: INVITE from the phone's connection, 200
 * from the partner's edge connection, ACK. */
static void call_up(const char *id)
{
    cid = id;
    assert_int_equal(msg_on(INVITE, true, 0, true, IN, "10.0.0.5:40001"), MEDIA_ACT_OFFER);
    assert_int_equal(msg_on(INVITE, false, 200, true, EX, "192.0.2.7:5061"), MEDIA_ACT_ANSWER);
    assert_int_equal(msg_on(ACK, true, 0, false, IN, "10.0.0.5:40001"), MEDIA_ACT_NONE);
}

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

static size_t due(media_due_t *d, size_t max)
{
    return media_calls_due(T, now, d, max);
}

static int setup_checks(void **state)
{
    setup(state);
    media_calls_set_checks(T, GRACE, IDLE);
    return 0;
}

/* The partner's connection closes; the partner comes back on a new
 * connection from the same host within the grace: the call is kept, and
 * nothing is asked of the relay after the packet count. */
static void test_orphan_rescued_by_same_peer(void **state)
{
    media_calls_stats_t st;
    media_due_t d[4];
    call_up("r@test");
    assert_int_equal(media_calls_conn_closed(T, IN, S("192.0.2.7:5061"), now), 0); /* other side */
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.8:5061"), now), 0); /* other conn */
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.7:5061"), now), 1);
    assert_true(media_calls_is_orphan(T, S("r@test")));
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.7:5061"), now), 0); /* gone */
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(d[0].kind, MEDIA_CHECK_BASELINE);
    assert_true(fedge_str_eq(d[0].call_id, "r@test"));
    assert_int_equal(due(d, 4), 0); /* asked: not again */
    assert_int_equal(
        media_calls_checked(T, S("r@test"), MEDIA_CHECK_BASELINE, MEDIA_QUERY_KNOWN, 40, now),
        MEDIA_CHECKED_KEEP);
    now += GRACE / 2;
    assert_int_equal(due(d, 4), 0); /* within the grace */
    /* another host on the partner side does not rescue it */
    assert_int_equal(msg_on(SIP_METHOD_INFO, true, 0, false, EX, "192.0.2.99:5061"),
                     MEDIA_ACT_NONE);
    assert_true(media_calls_is_orphan(T, S("r@test")));
    /* nor does the inside */
    assert_int_equal(msg_on(SIP_METHOD_INFO, true, 0, false, IN, "192.0.2.7:5061"), MEDIA_ACT_NONE);
    assert_true(media_calls_is_orphan(T, S("r@test")));
    /* the partner's edge, reconnected from another port */
    assert_int_equal(msg_on(SIP_METHOD_INFO, true, 0, false, EX, "192.0.2.7:41234"),
                     MEDIA_ACT_NONE);
    assert_false(media_calls_is_orphan(T, S("r@test")));
    now += GRACE;
    assert_int_equal(due(d, 4), 0);
    media_calls_stats(T, &st);
    assert_int_equal(st.orphans, 0);
    assert_int_equal(st.orphaned, 1);
    assert_int_equal(st.rescued, 1);
    assert_int_equal(st.orphans_deleted, 0);
    /* tied to the new connection now: its close orphans the call again */
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.7:41234"), now), 1);
    assert_int_equal(media_calls_count(T), 1);
}

/* No peer came back and no packet reached the relay during the grace:
 * delete. */
static void test_orphan_deleted_when_media_stopped(void **state)
{
    media_calls_stats_t st;
    media_due_t d[4];
    call_up("d@test");
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.7:5061"), now), 1);
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(
        media_calls_checked(T, S("d@test"), MEDIA_CHECK_BASELINE, MEDIA_QUERY_KNOWN, 40, now),
        MEDIA_CHECKED_KEEP);
    now += GRACE - 1;
    assert_int_equal(due(d, 4), 0);
    now += 1;
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(d[0].kind, MEDIA_CHECK_ORPHAN);
    assert_int_equal(
        media_calls_checked(T, S("d@test"), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_KNOWN, 40, now),
        MEDIA_CHECKED_DELETE);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(ndropped, 0); /* the caller deletes it, not the dropped callback */
    media_calls_stats(T, &st);
    assert_int_equal(st.orphans, 0);
    assert_int_equal(st.orphans_deleted, 1);
    assert_int_equal(st.orphans_ended, 0);
    /* a late answer about a call no longer held changes nothing */
    assert_int_equal(
        media_calls_checked(T, S("d@test"), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_KNOWN, 40, now),
        MEDIA_CHECKED_KEEP);
}

/* The connection went (idle, say) but the parties still talk: kept. */
static void test_orphan_kept_while_media_flows(void **state)
{
    media_calls_stats_t st;
    media_due_t d[4];
    call_up("k@test");
    assert_int_equal(media_calls_conn_closed(T, IN, S("10.0.0.5:40001"), now), 1);
    assert_int_equal(due(d, 4), 1);
    media_calls_checked(T, S("k@test"), MEDIA_CHECK_BASELINE, MEDIA_QUERY_KNOWN, 40, now);
    now += GRACE;
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(
        media_calls_checked(T, S("k@test"), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_KNOWN, 140, now),
        MEDIA_CHECKED_KEEP);
    assert_false(media_calls_is_orphan(T, S("k@test")));
    assert_int_equal(media_calls_count(T), 1);
    media_calls_stats(T, &st);
    assert_int_equal(st.orphans_kept, 1);
    /* then the BYE ends it as ever */
    assert_int_equal(msg_on(BYE, true, 0, false, EX, "192.0.2.7:5061"), MEDIA_ACT_DELETE);
    assert_int_equal(media_calls_count(T), 0);
}

/* A relay that did not answer the packet count: the count taken at the
 * end of the grace starts another one; a relay that lost the call: the
 * call is forgotten; a BYE during the grace ends the orphan. */
static void test_orphan_failed_query_gone_and_bye(void **state)
{
    media_calls_stats_t st;
    media_due_t d[4];
    call_up("f@test");
    call_up("g@test");
    call_up("b@test");
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.7:5061"), now), 3);
    assert_int_equal(due(d, 4), 3);
    media_calls_checked(T, S("f@test"), MEDIA_CHECK_BASELINE, MEDIA_QUERY_FAILED, -1, now);
    media_calls_checked(T, S("g@test"), MEDIA_CHECK_BASELINE, MEDIA_QUERY_KNOWN, 0, now);
    media_calls_checked(T, S("b@test"), MEDIA_CHECK_BASELINE, MEDIA_QUERY_KNOWN, 0, now);
    cid = "b@test";
    assert_int_equal(msg_on(BYE, true, 0, false, IN, "10.0.0.5:40001"), MEDIA_ACT_DELETE);
    now += GRACE;
    assert_int_equal(due(d, 4), 2);
    assert_int_equal(
        media_calls_checked(T, S("f@test"), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_KNOWN, 7, now),
        MEDIA_CHECKED_KEEP); /* its count now: another grace */
    assert_int_equal(
        media_calls_checked(T, S("g@test"), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_GONE, -1, now),
        MEDIA_CHECKED_GONE);
    assert_true(media_calls_is_orphan(T, S("f@test")));
    assert_int_equal(due(d, 4), 0);
    now += GRACE;
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(
        media_calls_checked(T, S("f@test"), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_KNOWN, 7, now),
        MEDIA_CHECKED_DELETE);
    media_calls_stats(T, &st);
    assert_int_equal(st.orphaned, 3);
    assert_int_equal(st.orphans_deleted, 1);
    assert_int_equal(st.orphans_ended, 2); /* the BYE, the lost one */
    assert_int_equal(st.orphans, 0);
    assert_int_equal(media_calls_count(T), 0);
}

/* Calls without signalling for the check interval are asked about,
 * at most max per run; the ones the relay lost are forgotten, the others
 * asked again only after another interval. */
static void test_idle_calls_checked_at_the_relay(void **state)
{
    media_calls_stats_t st;
    media_due_t d[4];
    char ids[6][16];
    for (int i = 0; i < 6; i++) {
        snprintf(ids[i], sizeof(ids[i]), "i%d@test", i);
        call_up(ids[i]);
        now += 1;
    }
    now += IDLE - 6;
    assert_int_equal(due(d, 4), 1); /* only i0 is idle long enough */
    assert_true(fedge_str_eq(d[0].call_id, "i0@test"));
    now += 10;
    assert_int_equal(due(d, 4), 4); /* bounded */
    assert_int_equal(d[0].kind, MEDIA_CHECK_IDLE);
    assert_true(fedge_str_eq(d[0].call_id, "i1@test"));
    assert_int_equal(due(d, 4), 1); /* the last one */
    assert_true(fedge_str_eq(d[0].call_id, "i5@test"));
    assert_int_equal(due(d, 4), 0);
    assert_int_equal(
        media_calls_checked(T, S("i0@test"), MEDIA_CHECK_IDLE, MEDIA_QUERY_GONE, -1, now),
        MEDIA_CHECKED_GONE);
    assert_int_equal(
        media_calls_checked(T, S("i1@test"), MEDIA_CHECK_IDLE, MEDIA_QUERY_KNOWN, 5, now),
        MEDIA_CHECKED_KEEP);
    assert_int_equal(
        media_calls_checked(T, S("i2@test"), MEDIA_CHECK_IDLE, MEDIA_QUERY_FAILED, -1, now),
        MEDIA_CHECKED_KEEP);
    for (int i = 3; i < 6; i++)
        media_calls_checked(T, S(ids[i]), MEDIA_CHECK_IDLE, MEDIA_QUERY_KNOWN, 5, now);
    assert_int_equal(media_calls_count(T), 5);
    assert_int_equal(due(d, 4), 0);
    now += IDLE;
    assert_int_equal(due(d, 4), 4);
    media_calls_stats(T, &st);
    assert_int_equal(st.reaped, 1);
    assert_int_equal(ndropped, 0);
}

/* Many calls on one connection: the packet counts are asked max at a
 * time; the table's connections go with their last call. */
static void test_many_orphans_bounded(void **state)
{
    media_due_t d[16];
    char id[32];
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "m%d@test", i);
        call_up(id);
    }
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.7:5061"), now), 50);
    size_t total = 0, n;
    while ((n = due(d, 16)) > 0) {
        assert_true(n <= 16);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(d[i].kind, MEDIA_CHECK_BASELINE);
        total += n;
    }
    assert_int_equal(total, 50);
    /* the inside's connection still carries them: its close orphans none
     * again (each already is) */
    assert_int_equal(media_calls_conn_closed(T, IN, S("10.0.0.5:40001"), now), 0);
}

/* Forks and orphans: a fork is tied to its crossing's connections (the
 * internal server's, the client's); the client's connection closing
 * orphans the fork alone, deleted alone when its media stopped; the
 * partner's closing orphans the call, whose deletion takes its fork. */
static void test_fork_orphans(void **state)
{
    media_due_t d[4];
    fremote = "192.0.2.7:5061";
    assert_int_equal(fmsg(true, INVITE, 0, true, EX, false, "fp", NULL, "z9hG4bK-p"), 1);
    fremote = "10.0.0.1:5060";
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k1"), 1);
    assert_int_equal(fmsg(true, INVITE, 0, true, IN, true, "fp", NULL, "z9hG4bK-k2"), 1);
    fremote = "198.51.100.4:443";
    assert_int_equal(fmsg(false, INVITE, 200, true, EX, true, "fp", "tc", "z9hG4bK-k1"), 1);
    fremote = "198.51.100.5:443";
    assert_int_equal(fmsg(false, INVITE, 180, false, EX, true, "fp", "t2", "z9hG4bK-k2"), 0);
    fremote = "10.0.0.1:5060";
    assert_int_equal(fmsg(false, INVITE, 200, true, IN, false, "fp", "tc", "z9hG4bK-p"), 1);
    fremote = "";
    assert_int_equal(media_calls_count(T), 3);
    /* the second client's connection closes: its fork alone */
    assert_int_equal(media_calls_conn_closed(T, EX, S("198.51.100.5:443"), now), 1);
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(d[0].kind, MEDIA_CHECK_BASELINE);
    assert_true(fedge_str_eq(d[0].call_id, FORK2));
    assert_int_equal(
        media_calls_checked(T, S(FORK2), MEDIA_CHECK_BASELINE, MEDIA_QUERY_KNOWN, 0, now),
        MEDIA_CHECKED_KEEP);
    now += GRACE;
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(
        media_calls_checked(T, S(FORK2), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_KNOWN, 0, now),
        MEDIA_CHECKED_DELETE);
    assert_int_equal(media_calls_count(T), 2);
    assert_true(media_calls_has(T, S(cid)));
    /* the partner's connection closes: the call, then its fork with it */
    assert_int_equal(media_calls_conn_closed(T, EX, S("192.0.2.7:5061"), now), 1);
    assert_int_equal(due(d, 4), 1);
    assert_true(fedge_str_eq(d[0].call_id, cid));
    assert_int_equal(
        media_calls_checked(T, S(cid), MEDIA_CHECK_BASELINE, MEDIA_QUERY_KNOWN, 9, now),
        MEDIA_CHECKED_KEEP);
    now += GRACE;
    assert_int_equal(due(d, 4), 1);
    assert_int_equal(media_calls_checked(T, S(cid), MEDIA_CHECK_ORPHAN, MEDIA_QUERY_KNOWN, 9, now),
                     MEDIA_CHECKED_DELETE);
    assert_int_equal(media_calls_count(T), 0);
    assert_int_equal(ndropped, 1);
    assert_string_equal(dropped[0], FORK1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_call_with_early_media_and_reinvite, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_late_offer, setup, teardown),
        cmocka_unit_test(test_fork_ids),
        cmocka_unit_test_setup_teardown(test_fork_device_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_client_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_failures_and_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ice_per_side, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reliable_provisional_offer_and_prack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_and_cancel_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_calls_and_other_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_and_reap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facts_from_parsed_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_rescued_by_same_peer, setup_checks, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_deleted_when_media_stopped, setup_checks,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_orphan_kept_while_media_flows, setup_checks, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_failed_query_gone_and_bye, setup_checks,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_calls_checked_at_the_relay, setup_checks,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_orphans_bounded, setup_checks, teardown),
        cmocka_unit_test_setup_teardown(test_fork_orphans, setup_checks, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
