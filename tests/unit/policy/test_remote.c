/* test_remote.c — remote users: the sign-in decision (edge switch, local
 * domains, global / site / named policy) with its diagnostics, and the
 * lock-out (per user and per address thresholds, window, period, reset on
 * success, only real failures counted, bounded table). Snapshots come from
 * a real store in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

static char tmpdir[64];
static store_t *st;
static store_snapshot_t *snap_off; /* outside-users off, global remote on */
static store_snapshot_t *snap_on;  /* outside-users on */

#define OK(call)                                                                                   \
    do {                                                                                           \
        fedge_err_t e_ = {{0}};                                                                    \
        fedge_err_t *err = &e_;                                                                    \
        if ((call) != 0)                                                                           \
            fail_msg("%s: %s", #call, e_.msg);                                                     \
    } while (0)

static store_snapshot_t *load(void)
{
    store_snapshot_t *s = NULL;
    fedge_err_t e;
    if (store_snapshot_load(st, &s, &e) != 0)
        fail_msg("load: %s", e.msg);
    return s;
}

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/fedge-remote-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/fedge.db", tmpdir);
    fedge_err_t e;
    if (store_open(path, &st, &e) != 0)
        fail_msg("%s", e.msg);
    /* global: remote on; site:emea remote off; named "noremote" off,
     * "remote" on (assigned to a user of the emea site). */
    store_policy_patch_t g = {-1, -1, 1, -1, -1}, off = {1, -1, 0, -1, -1},
                         on = {-1, -1, 1, -1, -1};
    OK(store_policy_set(st, "global", &g, "test", err));
    OK(store_policy_set(st, "site:emea", &off, "test", err));
    OK(store_policy_set(st, "noremote", &off, "test", err));
    OK(store_policy_set(st, "remote", &on, "test", err));
    OK(store_policy_assign(st, "carol@contoso.test", "noremote", "test", err));
    OK(store_policy_assign(st, "erin@contoso.test", "remote", "test", err));
    snap_off = load();
    store_setting_t kv[] = {{"outside-users", "on"}};
    OK(store_edge_set(st, kv, 1, "test", err));
    snap_on = load();
    return 0;
}

static int teardown(void **state)
{
    store_snapshot_unref(snap_off);
    store_snapshot_unref(snap_on);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *const locals[] = {"contoso.test", "contoso.net"};

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, s ? strlen(s) : 0};
}

/* A REGISTER (to NULL: not a REGISTER, From only) decided on snap. */
static policy_verdict_t decide(const store_snapshot_t *snap, const char *from_user,
                               const char *from_domain, const char *to_user, const char *to_domain,
                               const char *site)
{
    policy_remote_input_t in = {
        .is_register = to_domain != NULL,
        .from_user = S(from_user),
        .from_domain = S(from_domain),
        .to_user = S(to_user),
        .to_domain = S(to_domain),
        .local_domains = locals,
        .n_local_domains = 2,
        .site = S(site ? site : ""),
    };
    policy_verdict_t v;
    policy_remote_decide(snap, &in, &v);
    return v;
}

static void expect_reject(policy_verdict_t v, int diag)
{
    assert_int_equal(v.outcome, POLICY_REJECT);
    assert_int_equal(v.diag, diag);
    assert_int_equal(v.status, 403);
    assert_non_null(v.reason);
    assert_string_equal(v.reason, policy_diag(diag)->reason);
}

static void test_decide(void **state)
{
    /* The edge switch comes first: off refuses everybody. */
    expect_reject(decide(snap_off, "alice", "contoso.test", "alice", "contoso.test", NULL),
                  POLICY_DIAG_REMOTE_OFF);
    /* On: a user of a local domain with the global policy (remote on). */
    policy_verdict_t v = decide(snap_on, "alice", "contoso.test", "alice", "contoso.test", NULL);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    v = decide(snap_on, "Alice", "CONTOSO.NET", "alice", "contoso.net", NULL);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    /* A MESSAGE to a partner from a remote user: To is not looked at. */
    v = decide(snap_on, "alice", "contoso.test", NULL, NULL, NULL);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    /* Not the organization's users. */
    expect_reject(decide(snap_on, "mallory", "fabrikam.test", "mallory", "fabrikam.test", NULL),
                  POLICY_DIAG_REMOTE_NOT_LOCAL);
    expect_reject(decide(snap_on, "alice", "contoso.test", "alice", "fabrikam.test", NULL),
                  POLICY_DIAG_REMOTE_NOT_LOCAL);
    expect_reject(decide(snap_on, "alice", "contoso.test.evil", NULL, NULL, NULL),
                  POLICY_DIAG_REMOTE_NOT_LOCAL);
    /* Policies: named off, site off, named on beats the site. */
    expect_reject(decide(snap_on, "carol", "contoso.test", "carol", "contoso.test", NULL),
                  POLICY_DIAG_REMOTE_USER_OFF);
    expect_reject(decide(snap_on, "bob", "contoso.test", "bob", "contoso.test", "emea"),
                  POLICY_DIAG_REMOTE_USER_OFF);
    v = decide(snap_on, "erin", "contoso.test", "erin", "contoso.test", "emea");
    assert_int_equal(v.outcome, POLICY_ALLOW);
    /* A site without a policy of its own falls back to global. */
    v = decide(snap_on, "bob", "contoso.test", "bob", "contoso.test", "apac");
    assert_int_equal(v.outcome, POLICY_ALLOW);
}

static void test_decide_bad_input(void **state)
{
    policy_verdict_t v = decide(snap_on, "", "contoso.test", "alice", "contoso.test", NULL);
    assert_int_equal(v.diag, POLICY_DIAG_BAD_ADDRESS);
    assert_int_equal(v.status, 400);
    v = decide(snap_on, "alice", "contoso", "alice", "contoso.test", NULL);
    assert_int_equal(v.diag, POLICY_DIAG_BAD_ADDRESS);
    v = decide(snap_on, "alice", "contoso.test", "alice", "", NULL);
    assert_int_equal(v.diag, POLICY_DIAG_BAD_ADDRESS);
    v = decide(snap_on, "alice", "con toso.test", NULL, NULL, NULL);
    assert_int_equal(v.diag, POLICY_DIAG_BAD_ADDRESS);
    v = decide(snap_on, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(v.diag, POLICY_DIAG_BAD_ADDRESS);
    /* Bad input is refused as such even when the edge switch is off. */
    v = decide(snap_off, "alice", "", "alice", "contoso.test", NULL);
    assert_int_equal(v.diag, POLICY_DIAG_BAD_ADDRESS);
}

static void test_diag_table(void **state)
{
    static const int ids[] = {POLICY_DIAG_REMOTE_OFF, POLICY_DIAG_REMOTE_NOT_LOCAL,
                              POLICY_DIAG_REMOTE_USER_OFF, POLICY_DIAG_REMOTE_LOCKED_USER,
                              POLICY_DIAG_REMOTE_LOCKED_ADDR};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(ids); i++) {
        const policy_diag_t *d = policy_diag(ids[i]);
        assert_non_null(d);
        assert_int_equal(d->status, 403);
        assert_true(strlen(d->reason) > 10 && strlen(d->cause) > 10 && strlen(d->fix) > 10);
    }
    /* The table stays ordered (policy_diag searches it). */
    size_t n;
    const policy_diag_t *t = policy_diag_table(&n);
    for (size_t i = 1; i < n; i++)
        assert_true(t[i - 1].id < t[i].id);
}

static policy_lockout_t *tracker(size_t max)
{
    policy_lockout_cfg_t cfg = {
        .user_failures = 5,
        .addr_failures = 8,
        .window_ms = 60000,
        .period_ms = 900000,
        .max_entries = max,
    };
    return policy_lockout_new(&cfg);
}

static bool allowed(policy_lockout_t *t, const char *user, const char *addr, uint64_t now,
                    int *diag)
{
    policy_verdict_t v = {0};
    uint64_t until = 0;
    bool ok = policy_lockout_check(t, S(user), S(addr), now, &v, &until);
    if (diag)
        *diag = ok ? 0 : v.diag;
    if (!ok)
        assert_true(until > now);
    return ok;
}

static void fail_n(policy_lockout_t *t, const char *user, const char *addr, int n, uint64_t now,
                   policy_lockout_event_t *last)
{
    for (int i = 0; i < n; i++)
        policy_lockout_result(t, S(user), S(addr), 401, true, now, last);
}

static void test_lockout_user(void **state)
{
    policy_lockout_t *t = tracker(100);
    policy_lockout_event_t ev;
    uint64_t now = 1000;
    fail_n(t, "alice@contoso.test", "192.0.2.1", 4, now, &ev);
    assert_false(ev.user_locked);
    assert_true(allowed(t, "alice@contoso.test", "192.0.2.1", now, NULL));
    /* The fifth wrong password locks the user (any case), not the address. */
    fail_n(t, "Alice@Contoso.Test", "192.0.2.1", 1, now, &ev);
    assert_true(ev.user_locked);
    assert_false(ev.addr_locked);
    assert_int_equal(ev.until_ms, now + 900000);
    int diag;
    assert_false(allowed(t, "alice@contoso.test", "192.0.2.99", now + 1, &diag));
    assert_int_equal(diag, POLICY_DIAG_REMOTE_LOCKED_USER);
    assert_true(allowed(t, "bob@contoso.test", "192.0.2.1", now + 1, NULL));
    /* The right password during the lock-out does not lift it. */
    policy_lockout_result(t, S("alice@contoso.test"), S("192.0.2.1"), 200, false, now + 2, NULL);
    assert_false(allowed(t, "alice@contoso.test", "192.0.2.1", now + 3, NULL));
    /* It ends after the period, and counting starts afresh. */
    now += 900000;
    assert_true(allowed(t, "alice@contoso.test", "192.0.2.1", now, NULL));
    fail_n(t, "alice@contoso.test", "192.0.2.1", 1, now, &ev);
    assert_false(ev.user_locked);
    assert_true(allowed(t, "alice@contoso.test", "192.0.2.1", now, NULL));
    policy_lockout_free(t);
}

static void test_lockout_window_and_success(void **state)
{
    policy_lockout_t *t = tracker(100);
    policy_lockout_event_t ev;
    /* Four failures, then the window passes: the count starts again. */
    fail_n(t, "bob@contoso.test", "192.0.2.2", 4, 0, &ev);
    fail_n(t, "bob@contoso.test", "192.0.2.3", 4, 60000, &ev);
    assert_false(ev.user_locked);
    assert_true(allowed(t, "bob@contoso.test", "192.0.2.2", 60000, NULL));
    /* A success resets the user's count. */
    policy_lockout_result(t, S("bob@contoso.test"), S("192.0.2.3"), 200, false, 60001, NULL);
    fail_n(t, "bob@contoso.test", "192.0.2.3", 4, 60002, &ev);
    assert_false(ev.user_locked);
    fail_n(t, "bob@contoso.test", "192.0.2.3", 1, 60003, &ev);
    assert_true(ev.user_locked);
    policy_lockout_free(t);
}

static void test_lockout_only_real_failures(void **state)
{
    policy_lockout_t *t = tracker(100);
    policy_lockout_event_t ev;
    /* The challenge of every digest exchange (no credentials sent) and a
     * stale nonce are not failures: the caller says counted = false. */
    for (int i = 0; i < 50; i++) {
        policy_lockout_result(t, S("carol@contoso.test"), S("192.0.2.4"), 401, false, 10, &ev);
        policy_lockout_result(t, S("carol@contoso.test"), S("192.0.2.4"), 407, false, 10, &ev);
        policy_lockout_result(t, S("carol@contoso.test"), S("192.0.2.4"), 500, true, 10, &ev);
        policy_lockout_result(t, S("carol@contoso.test"), S("192.0.2.4"), 503, true, 10, &ev);
    }
    assert_true(allowed(t, "carol@contoso.test", "192.0.2.4", 11, NULL));
    /* A 403 always counts. */
    for (int i = 0; i < 5; i++)
        policy_lockout_result(t, S("carol@contoso.test"), S("192.0.2.4"), 403, false, 12, &ev);
    assert_true(ev.user_locked);
    policy_lockout_free(t);
}

static void test_lockout_address(void **state)
{
    policy_lockout_t *t = tracker(100);
    policy_lockout_event_t ev;
    /* Guessing across users from one address: no user reaches 5, the
     * address reaches 8. */
    char user[32];
    for (int i = 0; i < 8; i++) {
        snprintf(user, sizeof(user), "u%d@contoso.test", i);
        policy_lockout_result(t, S(user), S("2001:db8::7"), 401, true, 100, &ev);
    }
    assert_true(ev.addr_locked);
    assert_false(ev.user_locked);
    int diag;
    assert_false(allowed(t, "newuser@contoso.test", "2001:DB8::7", 101, &diag));
    assert_int_equal(diag, POLICY_DIAG_REMOTE_LOCKED_ADDR);
    assert_true(allowed(t, "u1@contoso.test", "192.0.2.5", 101, NULL));
    /* A success on the address does not lift the address's lock. */
    policy_lockout_result(t, S("u1@contoso.test"), S("2001:db8::7"), 200, false, 102, NULL);
    assert_false(allowed(t, "u1@contoso.test", "2001:db8::7", 103, NULL));
    /* Cleared by an administrator. */
    assert_int_equal(policy_lockout_clear(t, POLICY_LOCK_ADDRESS, S("2001:db8::7")), 0);
    assert_true(allowed(t, "u1@contoso.test", "2001:db8::7", 104, NULL));
    assert_int_equal(policy_lockout_clear(t, POLICY_LOCK_ADDRESS, S("192.0.2.200")), FEDGE_ENOENT);
    assert_int_equal(policy_lockout_clear(t, POLICY_LOCK_USER, S("2001:db8::7")), FEDGE_ENOENT);
    policy_lockout_free(t);
}

typedef struct {
    int users, addrs, locked;
} tally_t;

static void tally(const policy_lockout_entry_t *e, void *ctx)
{
    tally_t *t = ctx;
    if (e->kind == POLICY_LOCK_USER)
        t->users++;
    else
        t->addrs++;
    if (e->until_ms)
        t->locked++;
}

static void test_lockout_bounded(void **state)
{
    /* Eight slots: lock one user out, then flood with new addresses. */
    policy_lockout_t *t = tracker(8);
    policy_lockout_event_t ev;
    fail_n(t, "dave@contoso.test", "192.0.2.6", 5, 0, &ev);
    assert_true(ev.user_locked);
    char addr[32], user[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof(addr), "198.51.100.%d", i % 250);
        snprintf(user, sizeof(user), "x%d@contoso.test", i);
        policy_lockout_result(t, S(user), S(addr), 401, true, (uint64_t)i + 1, NULL);
    }
    tally_t n = {0};
    policy_lockout_each(t, tally, &n);
    assert_int_equal(n.users + n.addrs, 8);
    /* The locked-out user was never the one forgotten. */
    int diag;
    assert_false(allowed(t, "dave@contoso.test", "203.0.113.1", 2000, &diag));
    assert_int_equal(diag, POLICY_DIAG_REMOTE_LOCKED_USER);
    /* Over-long keys are not tracked (and do not crash). */
    char big[STORE_USER_MAX + 40];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    policy_lockout_result(t, S(big), S(""), 403, true, 2001, &ev);
    assert_false(ev.user_locked);
    assert_true(allowed(t, big, "", 2002, NULL));
    policy_lockout_free(t);
}

static void test_lockout_store_sync(void **state)
{
    policy_lockout_t *t = tracker(100);
    policy_lockout_event_t ev;
    int diag;
    fail_n(t, "erin@contoso.test", "192.0.2.8", 5, 1000, &ev);
    assert_true(ev.user_locked);
    /* Not yet in the store: a sync without it keeps the lock-out. */
    policy_lockout_sync(t, NULL, 0, 1001);
    assert_false(allowed(t, "erin@contoso.test", "192.0.2.9", 1002, NULL));
    /* Written to the store: a sync that lists it keeps it. */
    assert_int_equal(policy_lockout_persisted(t, POLICY_LOCK_USER, S("ERIN@contoso.test")), 0);
    policy_lockout_entry_t both[] = {
        {POLICY_LOCK_USER, "erin@contoso.test", 0, ev.until_ms},
        {POLICY_LOCK_ADDRESS, "198.51.100.50", 0, 500000},
    };
    policy_lockout_sync(t, both, 2, 1003);
    assert_false(allowed(t, "erin@contoso.test", "192.0.2.9", 1004, NULL));
    /* Another member locked an address out: applied here until its end. */
    assert_false(allowed(t, "frank@contoso.test", "198.51.100.50", 1004, &diag));
    assert_int_equal(diag, POLICY_DIAG_REMOTE_LOCKED_ADDR);
    assert_true(allowed(t, "frank@contoso.test", "198.51.100.50", 500000, NULL));
    /* The administrator unlocked erin: gone from the store, gone here,
     * and her count starts afresh. */
    policy_lockout_sync(t, &both[1], 1, 2000);
    assert_true(allowed(t, "erin@contoso.test", "192.0.2.9", 2001, NULL));
    fail_n(t, "erin@contoso.test", "192.0.2.8", 4, 2002, &ev);
    assert_false(ev.user_locked);
    /* Nothing to persist for what is not locked out. */
    assert_int_equal(policy_lockout_persisted(t, POLICY_LOCK_USER, S("erin@contoso.test")),
                     FEDGE_ENOENT);
    assert_int_equal(policy_lockout_persisted(t, POLICY_LOCK_USER, S("nobody@contoso.test")),
                     FEDGE_ENOENT);
    /* Ended entries in the list are ignored. */
    policy_lockout_entry_t old = {POLICY_LOCK_USER, "gina@contoso.test", 0, 10};
    policy_lockout_sync(t, &old, 1, 3000);
    assert_true(allowed(t, "gina@contoso.test", "192.0.2.9", 3001, NULL));
    policy_lockout_free(t);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A flood of new addresses against a full table: each new key reuses the
 * least recently seen slot without scanning the table (100,000 failures
 * over 20,000 slots; a scan per key would be 2e9 steps: 8 s where this
 * takes 0.1 s, 0.5 s under ASan), and the users locked out before it stay
 * locked out. */
static void test_lockout_flood_is_linear(void **state)
{
    policy_lockout_t *t = tracker(20000);
    policy_lockout_event_t ev;
    char user[32], addr[48];
    for (int i = 0; i < 100; i++) {
        snprintf(user, sizeof(user), "victim%d@contoso.test", i);
        fail_n(t, user, "192.0.2.1", 5, 0, &ev);
        assert_true(ev.user_locked);
    }
    double t0 = mono_s();
    for (int i = 0; i < 100000; i++) {
        snprintf(addr, sizeof(addr), "2001:db8::%x:%x", i >> 16, i & 0xffff);
        policy_lockout_result(t, S(""), S(addr), 401, true, 10 + (uint64_t)i / 100, NULL);
    }
    double dt = mono_s() - t0;
    print_message("100,000 failures from new addresses over 20,000 slots: %.3f s\n", dt);
    assert_true(dt < 3.0);
    for (int i = 0; i < 100; i++) {
        snprintf(user, sizeof(user), "victim%d@contoso.test", i);
        assert_false(allowed(t, user, "203.0.113.9", 5000, NULL));
    }
    tally_t n = {0};
    policy_lockout_each(t, tally, &n);
    assert_int_equal(n.users + n.addrs, 20000);
    policy_lockout_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_decide_bad_input),
        cmocka_unit_test(test_diag_table),
        cmocka_unit_test(test_lockout_user),
        cmocka_unit_test(test_lockout_window_and_success),
        cmocka_unit_test(test_lockout_only_real_failures),
        cmocka_unit_test(test_lockout_address),
        cmocka_unit_test(test_lockout_bounded),
        cmocka_unit_test(test_lockout_store_sync),
        cmocka_unit_test(test_lockout_flood_is_linear),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
