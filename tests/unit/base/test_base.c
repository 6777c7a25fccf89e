/* test_base.c — unit tests of the shared error contract and helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"

static void test_strerror_known_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(fedge_strerror(FEDGE_ESIP_VIA), "Malformed Via");
    assert_string_equal(fedge_strerror(-9999), "Unknown error");
}

static void test_framing_error_class(void **state)
{
    (void)state;
    assert_true(fedge_is_framing_error(FEDGE_ESIP_TOO_BIG));
    assert_true(fedge_is_framing_error(FEDGE_ESIP_GARBAGE));
    assert_false(fedge_is_framing_error(FEDGE_ESIP_VIA));
    assert_false(fedge_is_framing_error(FEDGE_EINVAL));
}

static void test_err_formats_and_returns_code(void **state)
{
    (void)state;
    fedge_err_t e;
    assert_int_equal(fedge_err(&e, FEDGE_EINVAL, "bad %s %d", "port", 7), FEDGE_EINVAL);
    assert_string_equal(e.msg, "bad port 7");
    assert_int_equal(fedge_err(NULL, FEDGE_EIO, "x"), FEDGE_EIO);
}

static void test_str_compare(void **state)
{
    (void)state;
    fedge_str_t s = FEDGE_STR_LIT("Call-ID");
    assert_true(fedge_str_ieq(s, "call-id"));
    assert_false(fedge_str_eq(s, "call-id"));
    assert_true(fedge_str_eq(s, "Call-ID"));
    assert_false(fedge_str_ieq(s, "Call-I"));
}

static void test_hash_ci(void **state)
{
    (void)state;
    fedge_str_t a = FEDGE_STR_LIT("Edge.Contoso.TEST"), b = FEDGE_STR_LIT("edge.contoso.test");
    fedge_str_t c = FEDGE_STR_LIT("edge.contoso.tesu");
    assert_int_equal(fedge_hash_ci(a), fedge_hash_ci(b));
    assert_int_not_equal(fedge_hash_ci(b), fedge_hash_ci(c));
    /* only ASCII letters fold: '@' (0x40) and '`' (0x60) stay apart */
    assert_int_not_equal(fedge_hash_ci(FEDGE_STR_LIT("@")), fedge_hash_ci(FEDGE_STR_LIT("`")));
    fedge_str_t empty = {NULL, 0};
    assert_int_equal(fedge_hash_ci(empty), fedge_hash_ci((fedge_str_t){"x", 0}));
    assert_int_equal(fedge_hash_ci(empty), 1469598103934665603ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_known_and_unknown),
        cmocka_unit_test(test_framing_error_class),
        cmocka_unit_test(test_err_formats_and_returns_code),
        cmocka_unit_test(test_str_compare),
        cmocka_unit_test(test_hash_ci),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
