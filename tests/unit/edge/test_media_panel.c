/* test_media_panel.c — how the panel labels relay calls (media_panel.c):
 * Call-IDs cut before '@' and at 12 characters, forks marked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "edge/edge_int.h"

static const char *label(const char *id)
{
    static char buf[32];
    edge__media_call_label((fedge_str_t){id, strlen(id)}, buf, sizeof buf);
    return buf;
}

static void test_call_ids_cut(void **state)
{
    (void)state;
    assert_string_equal(label("abc"), "abc");
    assert_string_equal(label("abc@pbx1.corp.contoso.test"), "abc\xe2\x80\xa6");
    assert_string_equal(label("0123456789abcdef"), "0123456789ab\xe2\x80\xa6");
    assert_string_equal(label("0123456789ab"), "0123456789ab");
}

static void test_forks_marked(void **state)
{
    (void)state;
    /* media_calls_fork_id: Call-ID ";fork=" branch */
    assert_string_equal(label("fork-cl-1;fork=z9hG4bK.k1"), "fork-cl-1;fo\xe2\x80\xa6 (fork)");
    assert_string_equal(label("a84b4c76e66710@pc33;fork=z9hG4bK776"),
                        "a84b4c76e667\xe2\x80\xa6 (fork)");
    assert_string_equal(label("abc@h;fork=z9"), "abc\xe2\x80\xa6 (fork)");
    /* longest label fits the panel's row buffer (SHORT_ID + 16) */
    assert_true(strlen(label("0123456789abcdef;fork=z9hG4bK")) < 12 + 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_ids_cut),
        cmocka_unit_test(test_forks_marked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
