/* test_throttle.c — discovered-partner throttling with explicit time: the
 * standard rate, the contacts limit and watch list (and its round trip
 * through the store), the slow lane for mostly failing partners, the
 * report period and the bounded partner table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

/* A snapshot with the defaults, edge settings changed for the test. */
static store_snapshot_t *snap_with(uint32_t rate, uint32_t contacts, bool limit,
                                   uint32_t period_min)
{
    store_snapshot_t *s = store_snapshot_empty();
    s->edge.discovery = true;
    s->edge.discovered_rate = rate;
    s->edge.discovered_contacts = contacts;
    s->edge.contacts_limit = limit;
    s->edge.report_period_min = period_min;
    return s;
}

static bool admit(policy_throttle_t *t, store_snapshot_t *s, const char *dom, const char *user,
                  uint64_t now, policy_verdict_t *v, bool *nw)
{
    memset(v, 0, sizeof(*v));
    return policy_throttle_admit(t, s, S(dom), S(user), now, v, nw);
}

static void test_standard_rate(void **state)
{
    (void)state;
    store_snapshot_t *s = snap_with(20, 1000, true, 60);
    policy_throttle_t *t = policy_throttle_new(16);
    policy_verdict_t v;
    for (int i = 0; i < 20; i++)
        assert_true(admit(t, s, "d.test", "a@contoso.test", 1000, &v, NULL));
    assert_false(admit(t, s, "d.test", "a@contoso.test", 1000, &v, NULL));
    assert_int_equal(v.outcome, POLICY_REJECT);
    assert_int_equal(v.status, 503);
    assert_int_equal(v.diag, POLICY_DIAG_RATE_LIMITED);
    /* 20/s: one token per 50 ms. */
    assert_false(admit(t, s, "d.test", "a@contoso.test", 1049, &v, NULL));
    assert_true(admit(t, s, "d.test", "a@contoso.test", 1050, &v, NULL));
    assert_false(admit(t, s, "d.test", "a@contoso.test", 1050, &v, NULL));
    /* Another partner has its own bucket; case does not make a new one. */
    assert_true(admit(t, s, "e.test", "a@contoso.test", 1050, &v, NULL));
    assert_false(admit(t, s, "D.TEST", "a@contoso.test", 1050, &v, NULL));
    /* After a long pause the bucket is full again, but not fuller. */
    int n = 0;
    while (admit(t, s, "d.test", "a@contoso.test", 100000, &v, NULL))
        n++;
    assert_int_equal(n, 20);
    policy_throttle_free(t);
    store_snapshot_unref(s);
}

static void count_watched(const policy_partner_t *p, void *ctx)
{
    if (p->watched) {
        (*(int *)ctx)++;
        assert_string_equal(p->domain, "spam.test");
        assert_int_equal(p->users, 6);
    }
}

static void test_contacts_limit_watchlist(void **state)
{
    (void)state;
    store_snapshot_t *s = snap_with(1000, 5, true, 60);
    policy_throttle_t *t = policy_throttle_new(16);
    policy_verdict_t v;
    bool nw = true;
    char u[32];
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof(u), "user%d@contoso.test", i);
        assert_true(admit(t, s, "spam.test", u, 10 + (uint64_t)i, &v, &nw));
        assert_false(nw);
    }
    /* The same users again are not new contacts. */
    assert_true(admit(t, s, "spam.test", "user0@contoso.test", 20, &v, &nw));
    assert_true(admit(t, s, "spam.test", "USER4@contoso.test", 21, &v, &nw));
    /* A sixth distinct user: over the limit, watch-listed. */
    assert_false(admit(t, s, "spam.test", "user5@contoso.test", 22, &v, &nw));
    assert_true(nw);
    assert_int_equal(v.diag, POLICY_DIAG_WATCHLIST);
    assert_int_equal(v.status, 403);
    /* Further requests are refused, even to known users; not "new" again. */
    assert_false(admit(t, s, "spam.test", "user0@contoso.test", 23, &v, &nw));
    assert_false(nw);
    assert_int_equal(v.diag, POLICY_DIAG_WATCHLIST);
    /* Even after the report period: the watch list needs an administrator. */
    assert_false(admit(t, s, "spam.test", "user0@contoso.test", 10 * 3600 * 1000, &v, &nw));
    /* Others are not affected. */
    assert_true(admit(t, s, "fine.test", "user0@contoso.test", 24, &v, &nw));

    int watched = 0;
    policy_throttle_each(t, count_watched, &watched);
    assert_int_equal(watched, 1);

    assert_int_equal(policy_throttle_clear(t, S("fine.test")), FEDGE_ENOENT);
    assert_int_equal(policy_throttle_clear(t, S("Spam.test")), 0);
    assert_true(admit(t, s, "spam.test", "user9@contoso.test", 10 * 3600 * 1000 + 1, &v, &nw));
    policy_throttle_free(t);
    store_snapshot_unref(s);
}

static void test_contacts_limit_off_and_period(void **state)
{
    (void)state;
    store_snapshot_t *off = snap_with(100000, 3, false, 60);
    policy_throttle_t *t = policy_throttle_new(16);
    policy_verdict_t v;
    char u[32];
    for (int i = 0; i < 50; i++) {
        snprintf(u, sizeof(u), "u%d@contoso.test", i);
        assert_true(admit(t, off, "many.test", u, 1, &v, NULL));
    }
    policy_throttle_free(t);
    store_snapshot_unref(off);

    /* With the limit on, distinct users count within one report period. */
    store_snapshot_t *s = snap_with(100000, 3, true, 1); /* 1 minute */
    t = policy_throttle_new(16);
    for (int i = 0; i < 3; i++) {
        snprintf(u, sizeof(u), "u%d@contoso.test", i);
        assert_true(admit(t, s, "p.test", u, 1000, &v, NULL));
    }
    /* A new period starts the count again. */
    for (int i = 3; i < 6; i++) {
        snprintf(u, sizeof(u), "u%d@contoso.test", i);
        assert_true(admit(t, s, "p.test", u, 1000 + 60000, &v, NULL));
    }
    assert_false(admit(t, s, "p.test", "u99@contoso.test", 1000 + 60001, &v, NULL));
    assert_int_equal(v.diag, POLICY_DIAG_WATCHLIST);
    policy_throttle_free(t);
    store_snapshot_unref(s);
}

static void test_mostly_failing_is_slowed(void **state)
{
    (void)state;
    store_snapshot_t *s = snap_with(20, 100000, true, 60);
    policy_throttle_t *t = policy_throttle_new(16);
    policy_verdict_t v;
    uint64_t now = 0;
    /* 19 failures of 19: not enough samples yet. */
    for (int i = 0; i < POLICY_FAIL_MIN_SAMPLES - 1; i++) {
        now += 100;
        assert_true(admit(t, s, "enum.test", "x@contoso.test", now, &v, NULL));
        policy_throttle_result(t, S("enum.test"), 404, now);
    }
    now += 1000;
    assert_true(admit(t, s, "enum.test", "x@contoso.test", now, &v, NULL));
    assert_true(admit(t, s, "enum.test", "x@contoso.test", now, &v, NULL)); /* 20/s still */
    policy_throttle_result(t, S("enum.test"), 404, now);
    /* Now slowed to 1 request/s. */
    now += 1000;
    assert_true(admit(t, s, "enum.test", "x@contoso.test", now, &v, NULL));
    assert_false(admit(t, s, "enum.test", "x@contoso.test", now + 500, &v, NULL));
    assert_int_equal(v.diag, POLICY_DIAG_RATE_LIMITED);
    assert_true(admit(t, s, "enum.test", "x@contoso.test", now + 1000, &v, NULL));

    /* A partner whose requests mostly succeed keeps the standard rate. */
    now += 5000;
    for (int i = 0; i < 40; i++) {
        now += 100;
        assert_true(admit(t, s, "good.test", "x@contoso.test", now, &v, NULL));
        policy_throttle_result(t, S("good.test"), i % 3 == 0 ? 404 : (i % 3 == 1 ? 200 : 407), now);
    }
    int n = 0;
    now += 2000;
    while (admit(t, s, "good.test", "x@contoso.test", now, &v, NULL))
        n++;
    assert_int_equal(n, 20);
    /* Provisional responses do not count; unknown partners are ignored. */
    policy_throttle_result(t, S("nobody.test"), 404, now);
    policy_throttle_free(t);
    store_snapshot_unref(s);
}

static void test_bounded_table(void **state)
{
    (void)state;
    store_snapshot_t *s = snap_with(1, 1, true, 60);
    policy_throttle_t *t = policy_throttle_new(2);
    policy_verdict_t v;
    assert_true(admit(t, s, "a.test", "u@contoso.test", 1, &v, NULL));
    assert_false(admit(t, s, "a.test", "u@contoso.test", 2, &v, NULL)); /* bucket empty */
    assert_true(admit(t, s, "b.test", "u@contoso.test", 3, &v, NULL));
    /* Third partner: a.test (least recently seen) is forgotten... */
    assert_true(admit(t, s, "c.test", "u@contoso.test", 4, &v, NULL));
    /* ...so it starts with a full bucket again. */
    assert_true(admit(t, s, "a.test", "u@contoso.test", 5, &v, NULL));
    /* Watch-listed partners are never forgotten. */
    assert_false(admit(t, s, "a.test", "v@contoso.test", 6, &v, NULL));
    assert_int_equal(v.diag, POLICY_DIAG_WATCHLIST);
    assert_false(admit(t, s, "c.test", "v@contoso.test", 7, &v, NULL));
    assert_int_equal(v.diag, POLICY_DIAG_WATCHLIST);
    /* Full of watch-listed partners: a new one is refused (fail closed). */
    assert_false(admit(t, s, "d.test", "u@contoso.test", 8, &v, NULL));
    assert_int_equal(v.diag, POLICY_DIAG_RATE_LIMITED);
    assert_false(admit(t, s, "a.test", "u@contoso.test", 9, &v, NULL));
    assert_int_equal(v.diag, POLICY_DIAG_WATCHLIST);
    policy_throttle_free(t);

    /* Many partners through a small table keep lookups right. */
    t = policy_throttle_new(64);
    s->edge.discovered_contacts = 1000;
    char d[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 500; i++) {
            snprintf(d, sizeof(d), "p%d.test", i);
            assert_true(
                admit(t, s, d, "u@contoso.test", (uint64_t)(round * 100000 + i * 2000), &v, NULL));
        }
    policy_throttle_free(t);
    store_snapshot_unref(s);
}

/* The watch list travels through the store: the server persists what the
 * throttle reports, administrators clear it there, and sync applies it. */
static void test_watchlist_through_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/fedge-throttle-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/fedge.db", dir);
    store_t *st;
    fedge_err_t e;
    assert_int_equal(store_open(path, &st, &e), 0);
    store_setting_t kv[] = {{"discovery", "on"}, {"discovered-contacts", "2"}};
    assert_int_equal(store_edge_set(st, kv, 2, "test", &e), 0);
    store_snapshot_t *s1;
    assert_int_equal(store_snapshot_load(st, &s1, &e), 0);
    policy_throttle_t *t = policy_throttle_new(16);
    policy_verdict_t v;
    bool nw = false;
    assert_true(admit(t, s1, "spam.test", "a@contoso.test", 1, &v, &nw));
    assert_true(admit(t, s1, "spam.test", "b@contoso.test", 2, &v, &nw));
    assert_false(admit(t, s1, "spam.test", "c@contoso.test", 3, &v, &nw));
    assert_true(nw);
    /* The server persists it. */
    assert_int_equal(store_watchlist_add(st, "spam.test", 3, "contacts limit", "server", &e), 0);
    store_snapshot_t *s2;
    assert_int_equal(store_snapshot_load(st, &s2, &e), 0);
    policy_throttle_sync(t, s1); /* an old snapshot: still pending, still watched */
    assert_false(admit(t, s2, "spam.test", "a@contoso.test", 4, &v, &nw));
    policy_throttle_sync(t, s2);
    assert_false(admit(t, s2, "spam.test", "a@contoso.test", 5, &v, &nw));
    /* A fresh throttle (restart, or another edge of the pool) refuses it
     * from the snapshot alone. */
    policy_throttle_t *t2 = policy_throttle_new(16);
    assert_false(admit(t2, s2, "spam.test", "a@contoso.test", 6, &v, &nw));
    assert_int_equal(v.diag, POLICY_DIAG_WATCHLIST);
    assert_false(nw);
    /* The administrator clears it. */
    assert_int_equal(store_watchlist_clear(st, "spam.test", "cli:root", &e), 0);
    store_snapshot_t *s3;
    assert_int_equal(store_snapshot_load(st, &s3, &e), 0);
    policy_throttle_sync(t, s3);
    assert_true(admit(t, s3, "spam.test", "a@contoso.test", 7, &v, &nw));
    assert_true(admit(t2, s3, "spam.test", "a@contoso.test", 8, &v, &nw));
    policy_throttle_free(t);
    policy_throttle_free(t2);
    store_snapshot_unref(s1);
    store_snapshot_unref(s2);
    store_snapshot_unref(s3);
    store_close(st);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_rate),
        cmocka_unit_test(test_contacts_limit_watchlist),
        cmocka_unit_test(test_contacts_limit_off_and_period),
        cmocka_unit_test(test_mostly_failing_is_slowed),
        cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_watchlist_through_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
