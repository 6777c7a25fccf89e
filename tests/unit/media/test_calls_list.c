/* test_calls_list.c — the calls of the offer/answer table as the panel
 * lists them (media_calls_list, src/media/call.c): state through a call's
 * life, the side that called, start and last times, latest first, the
 * bound on what is listed, and the walk over every call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "media/media.h"
#include "sip/sip.h"

static media_act_t msg(media_calls_t *t, const char *id, bool request, int method, int status,
                       bool to_tag, media_side_t from, uint64_t now)
{
    media_msg_t m = {.request = request,
                     .method = method,
                     .status = status,
                     .call_id = {id, strlen(id)},
                     .to_tag = to_tag,
                     .has_sdp = true,
                     .from_side = from};
    return media_calls_on_msg(t, &m, now);
}

static void count_cb(void *user, const media_call_info_t *k)
{
    (*(size_t *)user)++;
    assert_true(k->call_id.len == 4);
}

static void active_cb(void *user, const media_call_info_t *k)
{
    *(size_t *)user += k->state == MEDIA_CALL_ACTIVE;
}

static void test_list_states_and_order(void **state)
{
    media_calls_t *t = media_calls_new(10, 60000, NULL, NULL);
    media_call_info_t out[4];
    assert_int_equal(media_calls_list(t, out, 4), 0);

    /* c1: inside -> partner, offered at 1000 */
    assert_int_equal(msg(t, "c1@x", true, SIP_METHOD_INVITE, 0, false, MEDIA_SIDE_INTERNAL, 1000),
                     MEDIA_ACT_OFFER);
    assert_int_equal(media_calls_list(t, out, 4), 1);
    assert_int_equal(out[0].state, MEDIA_CALL_SETUP);
    assert_string_equal(media_call_state_name(out[0].state), "setting up");
    assert_int_equal(out[0].caller, MEDIA_SIDE_INTERNAL);
    assert_int_equal(out[0].started_ms, 1000);
    assert_int_equal(out[0].call_id.len, 4);
    assert_memory_equal(out[0].call_id.s, "c1@x", 4);

    /* c2: partner -> inside at 2000: listed first */
    msg(t, "c2@x", true, SIP_METHOD_INVITE, 0, false, MEDIA_SIDE_EXTERNAL, 2000);
    assert_int_equal(media_calls_list(t, out, 4), 2);
    assert_memory_equal(out[0].call_id.s, "c2@x", 4);
    assert_int_equal(out[0].caller, MEDIA_SIDE_EXTERNAL);

    /* c1 answered 200 at 3000: active, and first again (latest message) */
    assert_int_equal(msg(t, "c1@x", false, SIP_METHOD_INVITE, 200, true, MEDIA_SIDE_EXTERNAL, 3000),
                     MEDIA_ACT_ANSWER);
    assert_int_equal(media_calls_list(t, out, 4), 2);
    assert_memory_equal(out[0].call_id.s, "c1@x", 4);
    assert_int_equal(out[0].state, MEDIA_CALL_ACTIVE);
    assert_string_equal(media_call_state_name(out[0].state), "active");
    assert_int_equal(out[0].started_ms, 1000);
    assert_int_equal(out[0].last_ms, 3000);

    /* a re-INVITE with SDP from the partner: updating until its 200 */
    msg(t, "c1@x", true, SIP_METHOD_INVITE, 0, true, MEDIA_SIDE_EXTERNAL, 4000);
    media_calls_list(t, out, 4);
    assert_int_equal(out[0].state, MEDIA_CALL_UPDATING);
    assert_string_equal(media_call_state_name(out[0].state), "updating");
    assert_int_equal(out[0].caller, MEDIA_SIDE_INTERNAL); /* the caller stays */
    msg(t, "c1@x", false, SIP_METHOD_INVITE, 200, true, MEDIA_SIDE_INTERNAL, 5000);
    media_calls_list(t, out, 4);
    assert_int_equal(out[0].state, MEDIA_CALL_ACTIVE);

    /* every call, as listed */
    size_t seen = 0, active = 0;
    media_calls_each(t, count_cb, &seen);
    assert_int_equal(seen, 2);
    media_calls_each(t, active_cb, &active);
    assert_int_equal(active, 1);

    /* c2's connection from the partner closes: an orphan */
    /* any message of the call, from that connection */
    media_msg_t m2 = {.request = true,
                      .method = SIP_METHOD_INFO,
                      .call_id = {"c2@x", 4},
                      .to_tag = true,
                      .from_side = MEDIA_SIDE_EXTERNAL,
                      .remote = {"192.0.2.9:5061", 14}};
    media_calls_on_msg(t, &m2, 5500);
    assert_int_equal(
        media_calls_conn_closed(t, MEDIA_SIDE_EXTERNAL, (fedge_str_t){"192.0.2.9:5061", 14}, 5600),
        1);
    media_calls_list(t, out, 4);
    assert_memory_equal(out[0].call_id.s, "c2@x", 4);
    assert_int_equal(out[0].state, MEDIA_CALL_ORPHAN);
    assert_string_equal(media_call_state_name(out[0].state), "orphan");
    assert_int_equal(out[1].state, MEDIA_CALL_ACTIVE); /* c1: another connection */

    /* bounded by max: only the latest */
    assert_int_equal(media_calls_list(t, out, 1), 1);
    assert_memory_equal(out[0].call_id.s, "c2@x", 4);

    /* BYE: gone */
    media_msg_t bye = {.request = true,
                       .method = SIP_METHOD_BYE,
                       .call_id = {"c1@x", 4},
                       .to_tag = true,
                       .from_side = MEDIA_SIDE_INTERNAL};
    assert_int_equal(media_calls_on_msg(t, &bye, 6000), MEDIA_ACT_DELETE);
    assert_int_equal(media_calls_list(t, out, 4), 1);
    assert_memory_equal(out[0].call_id.s, "c2@x", 4);
    assert_string_equal(media_call_state_name((media_call_state_t)9), "?");
    media_calls_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_states_and_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
