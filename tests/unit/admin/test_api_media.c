/* test_api_media.c — GET /api/media without HTTP (admin__api on a real
 * store): without the edge's media callback it says so; with it the
 * relays and calls it fills come out as JSON, calls bounded to
 * ADMIN_MEDIA_CALLS_MAX with the total; anything but GET is 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin_int.h"
#include "api_fixture.h"

typedef tu_api_fx_t fx_t;

static int setup(void **state)
{
    *state = tu_api_open("apimedia", "edge.contoso.test");
    return 0;
}

static int teardown(void **state)
{
    return tu_api_close(*state);
}

static int get(fx_t *f, const char *method, json_t **out)
{
    return admin__api(&f->api, method, "/media", NULL, NULL, "admin:alice", out);
}

/* Fills two relays and *(int *)ctx calls. */
static void fill(admin_media_t *m, void *ctx)
{
    int n = *(int *)ctx;
    admin_media_total(m, (uint64_t)n, 10000, 1796418000); /* 2026-12-04T21:00:00Z */
    admin_media_relay(m, "127.0.0.1:2223", true, 1796418000, "offer", "ok", 420);
    admin_media_relay(m, "127.0.0.1:2224", false, 0, "", "", -1);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "call%d\xe2\x80\xa6", i);
        admin_media_call(m, id, i % 2 ? NULL : "127.0.0.1:2223", i % 3 ? "active" : "setting up",
                         i % 2 ? "external" : "internal", 100 + i, -5);
    }
}

static void test_media_without_relay(void **state)
{
    fx_t *f = *state;
    json_t *out;
    assert_int_equal(get(f, "GET", &out), 200);
    assert_false(json_is_true(json_object_get(out, "enabled")));
    assert_non_null(strstr(json_string_value(json_object_get(out, "note")), "[media]"));
    json_decref(out);
}

static void test_media_calls_and_relays(void **state)
{
    fx_t *f = *state;
    int n = 3;
    f->api.media_cb = fill;
    f->api.media_ctx = &n;
    json_t *out;
    assert_int_equal(get(f, "GET", &out), 200);
    assert_true(json_is_true(json_object_get(out, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(out, "calls_total")), 3);
    assert_int_equal(json_integer_value(json_object_get(out, "max_calls")), 10000);
    assert_int_equal(json_integer_value(json_object_get(out, "shown")), 3);
    assert_string_equal(json_string_value(json_object_get(out, "taken_at")),
                        "2026-12-04T21:00:00Z");
    json_t *rs = json_object_get(out, "relays");
    assert_int_equal(json_array_size(rs), 2);
    json_t *r0 = json_array_get(rs, 0), *r1 = json_array_get(rs, 1);
    assert_string_equal(json_string_value(json_object_get(r0, "relay")), "127.0.0.1:2223");
    assert_true(json_is_true(json_object_get(r0, "up")));
    assert_string_equal(json_string_value(json_object_get(r0, "last_command")), "offer");
    assert_string_equal(json_string_value(json_object_get(r0, "last_at")), "2026-12-04T21:00:00Z");
    assert_true(json_real_value(json_object_get(r0, "rtt_ms")) > 0.41 &&
                json_real_value(json_object_get(r0, "rtt_ms")) < 0.43);
    assert_false(json_is_true(json_object_get(r1, "up")));
    assert_true(json_is_null(json_object_get(r1, "rtt_ms"))); /* never answered */
    assert_string_equal(json_string_value(json_object_get(r1, "last_at")), "");
    json_t *cs = json_object_get(out, "calls");
    assert_int_equal(json_array_size(cs), 3);
    json_t *c0 = json_array_get(cs, 0), *c1 = json_array_get(cs, 1);
    assert_string_equal(json_string_value(json_object_get(c0, "call")), "call0\xe2\x80\xa6");
    assert_string_equal(json_string_value(json_object_get(c0, "relay")), "127.0.0.1:2223");
    assert_string_equal(json_string_value(json_object_get(c0, "state")), "setting up");
    assert_string_equal(json_string_value(json_object_get(c0, "from")), "internal");
    assert_int_equal(json_integer_value(json_object_get(c0, "age_s")), 100);
    assert_int_equal(json_integer_value(json_object_get(c0, "idle_s")), 0); /* never negative */
    assert_true(json_is_null(json_object_get(c1, "relay")));                /* not known */
    assert_string_equal(json_string_value(json_object_get(c1, "from")), "external");
    json_decref(out);
}

static void test_media_bounded(void **state)
{
    fx_t *f = *state;
    int n = ADMIN_MEDIA_CALLS_MAX + 50;
    f->api.media_cb = fill;
    f->api.media_ctx = &n;
    json_t *out;
    assert_int_equal(get(f, "GET", &out), 200);
    assert_int_equal(json_integer_value(json_object_get(out, "calls_total")), n);
    assert_int_equal(json_integer_value(json_object_get(out, "shown")), ADMIN_MEDIA_CALLS_MAX);
    assert_int_equal(json_array_size(json_object_get(out, "calls")), ADMIN_MEDIA_CALLS_MAX);
    json_decref(out);
    /* read only */
    assert_int_equal(get(f, "POST", &out), 405);
    json_decref(out);
    assert_int_equal(get(f, "DELETE", &out), 405);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_media_without_relay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_calls_and_relays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
