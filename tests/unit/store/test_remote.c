/* test_remote.c — lock-outs of remote users and addresses in the store
 * (src/store/remote.c, its migration): subjects validated and written one
 * way, add / replace / list in force / clear, ended ones not listed and not
 * clearable, audit entries, every change seen by store_changed of another
 * handle (a running edge). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/remote.h"

static char dir[64], path[128];

static int list_cb(const store_lockout_t *l, void *ctx)
{
    char *buf = ctx;
    char line[256];
    snprintf(line, sizeof(line), "%s:%s:%u:%s;", store_lock_kind_name(l->kind), l->subject,
             (unsigned)l->failures, l->reason);
    strcat(buf, line);
    assert_int_equal(strlen(l->locked_at), 20);
    assert_int_equal(strlen(l->until), 20);
    return 0;
}

static int audit_cb(const store_audit_t *a, void *ctx)
{
    char *buf = ctx;
    strcat(buf, a->action);
    strcat(buf, ":");
    strcat(buf, a->object);
    strcat(buf, " ");
    return 0;
}

static void listed(store_t *s, int64_t now, const char *want)
{
    char buf[2048] = "";
    fedge_err_t e;
    assert_int_equal(store_lockout_list(s, now, list_cb, buf, &e), 0);
    assert_string_equal(buf, want);
}

static void test_subjects(void **state)
{
    char out[STORE_USER_MAX + 1];
    store_lock_kind_t k;
    fedge_err_t e;
    assert_int_equal(store_lockout_subject("s", "Alice@Contoso.Test", &k, out, sizeof(out), &e), 0);
    assert_int_equal(k, STORE_LOCK_USER);
    assert_string_equal(out, "alice@contoso.test");
    assert_int_equal(store_lockout_subject("s", "192.0.2.7", &k, out, sizeof(out), &e), 0);
    assert_int_equal(k, STORE_LOCK_ADDRESS);
    assert_string_equal(out, "192.0.2.7");
    assert_int_equal(store_lockout_subject("s", "[2001:DB8:0::7]", &k, out, sizeof(out), &e), 0);
    assert_int_equal(k, STORE_LOCK_ADDRESS);
    assert_string_equal(out, "2001:db8::7");
    static const char *const bad[] = {"",     "contoso.test",  "192.0.2",          "300.1.1.1",
                                      "[::1", "@contoso.test", "a b@contoso.test", "2001:db8::g"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (store_lockout_subject("subject", bad[i], &k, out, sizeof(out), &e) != FEDGE_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_non_null(strstr(e.msg, "subject"));
    }
}

static void test_lockouts(void **state)
{
    strcpy(dir, "/tmp/fedge-lockout-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fedge.db", dir);
    store_t *s, *edge;
    fedge_err_t e;
    assert_int_equal(store_open(path, &s, &e), 0);
    assert_int_equal(store_open(path, &edge, &e), 0);
    bool changed;
    assert_int_equal(store_changed(edge, &changed, &e), 0); /* first call: true */

    int64_t now = (int64_t)time(NULL);
    listed(s, now, "");
    assert_int_equal(store_lockout_add(s, "Alice@contoso.test", 10, now + 900, "from 192.0.2.7",
                                       "serve:edge1", &e),
                     0);
    assert_int_equal(store_lockout_add(s, "[2001:db8::7]", 50, now + 900, NULL, "serve:edge1", &e),
                     0);
    assert_int_equal(store_changed(edge, &changed, &e), 0);
    assert_true(changed);
    listed(s, now, "user:alice@contoso.test:10:from 192.0.2.7;address:2001:db8::7:50:;");
    /* Replaced, not duplicated. */
    assert_int_equal(
        store_lockout_add(s, "alice@contoso.test", 12, now + 1800, "again", "serve:edge2", &e), 0);
    listed(s, now, "user:alice@contoso.test:12:again;address:2001:db8::7:50:;");
    /* In force until until_s, then not listed. */
    listed(s, now + 900, "user:alice@contoso.test:12:again;");
    listed(s, now + 1800, "");

    /* Cleared by an administrator, in any spelling. */
    assert_int_equal(store_lockout_clear(s, "2001:DB8:0:0::7", now, "cli:root", &e), 0);
    assert_int_equal(store_changed(edge, &changed, &e), 0);
    assert_true(changed);
    listed(s, now, "user:alice@contoso.test:12:again;");
    assert_int_equal(store_lockout_clear(s, "2001:db8::7", now, "cli:root", &e), FEDGE_ENOENT);
    assert_string_equal(e.msg, "address 2001:db8::7 is not locked out");
    assert_int_equal(store_changed(edge, &changed, &e), 0);
    assert_false(changed);
    /* An ended lock-out cannot be cleared (nothing in force). */
    assert_int_equal(store_lockout_clear(s, "alice@contoso.test", now + 1800, "cli:root", &e),
                     FEDGE_ENOENT);
    assert_int_equal(store_lockout_clear(s, "alice@contoso.test", now, "cli:root", &e), 0);
    listed(s, now, "");

    /* Ended lock-outs are pruned by the next add. */
    assert_int_equal(store_lockout_add(s, "198.51.100.1", 3, now - 1, NULL, "serve:edge1", &e), 0);
    listed(s, now - 10, "address:198.51.100.1:3:;");
    assert_int_equal(store_lockout_add(s, "198.51.100.2", 3, now + 60, NULL, "serve:edge1", &e), 0);
    listed(s, now - 10, "address:198.51.100.2:3:;");

    /* Validation. */
    assert_int_equal(store_lockout_add(s, "nobody", 1, now + 60, NULL, "serve:edge1", &e),
                     FEDGE_EINVAL);
    assert_int_equal(
        store_lockout_add(s, "bob@contoso.test", 1, now + 60, "two\nlines", "serve:edge1", &e),
        FEDGE_EINVAL);
    assert_int_equal(store_lockout_add(s, "bob@contoso.test", 1, now + 60, NULL, "", &e),
                     FEDGE_EINVAL);

    /* Every change audited. */
    char audit[4096] = "";
    assert_int_equal(store_audit_list(s, 100, audit_cb, audit, &e), 0);
    assert_string_equal(audit, "remote.lockout:alice@contoso.test remote.lockout:2001:db8::7 "
                               "remote.lockout:alice@contoso.test remote.unlock:2001:db8::7 "
                               "remote.unlock:alice@contoso.test remote.lockout:198.51.100.1 "
                               "remote.lockout:198.51.100.2 ");
    store_close(edge);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subjects),
        cmocka_unit_test(test_lockouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
