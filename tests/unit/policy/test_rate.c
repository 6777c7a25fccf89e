/* test_rate.c — events per key and window with explicit time (the remote
 * users' REGISTER rate): the limit per window, a new window, the bounded
 * table forgetting the oldest window first and counting live evictions,
 * and an address that cannot shed its count by sending from fewer other
 * addresses than the table holds (the old direct-mapped table let any
 * colliding address reset it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

static void test_limit_per_window(void **state)
{
    (void)state;
    policy_rate_t *t = policy_rate_new(16);
    for (int i = 0; i < 3; i++)
        assert_true(policy_rate_admit(t, S("192.0.2.7"), 3, 60000, 1000 + i));
    assert_false(policy_rate_admit(t, S("192.0.2.7"), 3, 60000, 2000));
    assert_false(policy_rate_admit(t, S("192.0.2.7"), 3, 60000, 60999));
    /* another address has its own count */
    assert_true(policy_rate_admit(t, S("2001:db8::7"), 3, 60000, 2000));
    /* the window of 192.0.2.7 began at 1000: a new one at 61000 */
    assert_true(policy_rate_admit(t, S("192.0.2.7"), 3, 60000, 61000));
    assert_int_equal(policy_rate_count(t), 2);
    assert_int_equal(policy_rate_evictions(t), 0);
    /* limit 0: no limit, nothing tracked */
    assert_true(policy_rate_admit(t, S("198.51.100.1"), 0, 60000, 3000));
    assert_int_equal(policy_rate_count(t), 2);
    policy_rate_free(t);
}

static void test_full_table_forgets_oldest_window(void **state)
{
    (void)state;
    policy_rate_t *t = policy_rate_new(4);
    char ip[32];
    /* 10.0.0.0 .. 10.0.0.3 at 0, 10, 20, 30 ms, each at its limit of 2 */
    for (int i = 0; i < 4; i++) {
        snprintf(ip, sizeof ip, "10.0.0.%d", i);
        assert_true(policy_rate_admit(t, S(ip), 2, 60000, (uint64_t)i * 10));
        assert_true(policy_rate_admit(t, S(ip), 2, 60000, (uint64_t)i * 10));
    }
    /* a fifth address: the oldest window (10.0.0.0) goes, counted */
    assert_true(policy_rate_admit(t, S("10.0.0.9"), 2, 60000, 100));
    assert_int_equal(policy_rate_count(t), 4);
    assert_int_equal(policy_rate_evictions(t), 1);
    /* the others keep their counts */
    for (int i = 1; i < 4; i++) {
        snprintf(ip, sizeof ip, "10.0.0.%d", i);
        assert_false(policy_rate_admit(t, S(ip), 2, 60000, 200));
    }
    /* 10.0.0.0 was forgotten: it starts again, pushing out 10.0.0.1 */
    assert_true(policy_rate_admit(t, S("10.0.0.0"), 2, 60000, 300));
    assert_int_equal(policy_rate_evictions(t), 2);
    /* a window that is over makes room without an eviction */
    assert_true(policy_rate_admit(t, S("10.0.0.8"), 2, 60000, 60020));
    assert_int_equal(policy_rate_evictions(t), 2);
    policy_rate_free(t);
}

/* The attack: an address at its limit sends from many other addresses to
 * push its own count out. Fewer new addresses than the table holds never
 * do; it takes a full table's worth within the window. */
static void test_cannot_shed_own_count(void **state)
{
    (void)state;
    enum { SLOTS = 4096 };
    policy_rate_t *t = policy_rate_new(SLOTS);
    for (int i = 0; i < 60; i++)
        assert_true(policy_rate_admit(t, S("203.0.113.5"), 60, 60000, 1000));
    assert_false(policy_rate_admit(t, S("203.0.113.5"), 60, 60000, 1001));
    char ip[64];
    for (int i = 0; i < SLOTS - 1; i++) {
        snprintf(ip, sizeof ip, "2001:db8::%x", i);
        assert_true(policy_rate_admit(t, S(ip), 60, 60000, 2000));
    }
    /* the table is full, 203.0.113.5 still in it and still refused */
    assert_int_equal(policy_rate_count(t), SLOTS);
    assert_false(policy_rate_admit(t, S("203.0.113.5"), 60, 60000, 3000));
    assert_int_equal(policy_rate_evictions(t), 0);
    /* one more new address: now the oldest window, 203.0.113.5's, goes */
    assert_true(policy_rate_admit(t, S("2001:db8::ffff"), 60, 60000, 4000));
    assert_int_equal(policy_rate_evictions(t), 1);
    policy_rate_free(t);
}

/* Keys longer than the table keeps are cut, never overflow. */
static void test_long_key_cut(void **state)
{
    (void)state;
    policy_rate_t *t = policy_rate_new(2);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_true(policy_rate_admit(t, S(big), 1, 60000, 0));
    big[200] = 'b'; /* differs only past the cut: the same key */
    assert_false(policy_rate_admit(t, S(big), 1, 60000, 1));
    assert_true(policy_rate_admit(t, (fedge_str_t){"", 0}, 1, 60000, 2));
    policy_rate_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_per_window),
        cmocka_unit_test(test_full_table_forgets_oldest_window),
        cmocka_unit_test(test_cannot_shed_own_count),
        cmocka_unit_test(test_long_key_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
