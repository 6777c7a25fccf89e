/* test_cli_remote.c — `fedge remote lockouts|unlock` run through cli_main
 * against a real store: the list (text and JSON) of lock-outs in force,
 * unlock by user and by address in any spelling, exit codes and messages
 * for what is not locked out and for bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "testutil.h"
#include "store/remote.h"

static char tmpdir[64];
static char dbpath[128];
static char out[65536], errtext[8192];

static int setup(void **state)
{
    (void)state;
    tu_mkdtemp(tmpdir, sizeof(tmpdir), "cli-remote");
    snprintf(dbpath, sizeof(dbpath), "%s/fedge.db", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmpdir);
}

/* Runs `fedge <args...> --store DB`, capturing stdout and stderr. */
static int run(const char *first, ...)
{
    const char *argv[32] = {"fedge"};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc++] = "--store";
    argv[argc++] = dbpath;
    argv[argc] = NULL;
    return tu_cli_run(tmpdir, argc, (char **)argv, out, sizeof(out), errtext, sizeof(errtext));
}

/* What the running edge does when a lock-out applies. */
static void lock(const char *subject, uint32_t failures, int64_t until)
{
    store_t *s;
    fedge_err_t e;
    assert_int_equal(store_open(dbpath, &s, &e), 0);
    if (store_lockout_add(s, subject, failures, until, "test", "serve:test", &e) != 0)
        fail_msg("%s", e.msg);
    store_close(s);
}

static void test_lockouts_and_unlock(void **state)
{
    (void)state;
    assert_int_equal(run("remote", "lockouts", NULL), 0);
    assert_string_equal(out, "no user or address is locked out\n");
    int64_t now = (int64_t)time(NULL);
    lock("alice@contoso.test", 20, now + 600);
    lock("192.0.2.7", 50, now + 600);
    lock("bob@contoso.test", 20, now - 1); /* ended */

    assert_int_equal(run("remote", "lockouts", NULL), 0);
    assert_non_null(strstr(out, "USER/ADDRESS"));
    assert_non_null(strstr(out, "user     alice@contoso.test"));
    assert_non_null(strstr(out, "address  192.0.2.7"));
    assert_null(strstr(out, "bob@contoso.test"));

    assert_int_equal(run("remote", "lockouts", "--json", NULL), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, out);
    json_t *arr = json_object_get(j, "lockouts");
    assert_int_equal(json_array_size(arr), 2);
    json_t *first = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(first, "kind")), "user");
    assert_string_equal(json_string_value(json_object_get(first, "subject")), "alice@contoso.test");
    assert_int_equal(json_integer_value(json_object_get(first, "failures")), 20);
    assert_int_equal(strlen(json_string_value(json_object_get(first, "until"))), 20);
    json_decref(j);

    assert_int_equal(run("remote", "unlock", "Alice@Contoso.test", NULL), 0);
    assert_string_equal(out, "unlocked Alice@Contoso.test\n");
    assert_int_equal(run("remote", "unlock", "[192.0.2.7]", NULL), 0);
    assert_int_equal(run("remote", "lockouts", NULL), 0);
    assert_string_equal(out, "no user or address is locked out\n");

    /* Not locked out (any more): exit 1 with the reason. */
    assert_int_equal(run("remote", "unlock", "alice@contoso.test", NULL), 1);
    assert_string_equal(errtext, "fedge: user alice@contoso.test is not locked out\n");
    assert_int_equal(run("remote", "unlock", "bob@contoso.test", NULL), 1);
}

static void test_bad_usage(void **state)
{
    (void)state;
    assert_int_equal(run("remote", "unlock", "not an address", NULL), 2);
    assert_non_null(strstr(errtext, "expected a user like alice@contoso.com or an IP address"));
    assert_int_equal(run("remote", "unlock", NULL), 2);
    assert_non_null(strstr(errtext, "needs a USER@DOMAIN or an ADDRESS"));
    assert_int_equal(run("remote", "frobnicate", NULL), 2);
    assert_non_null(strstr(errtext, "unknown remote command 'frobnicate'"));
    assert_int_equal(run("remote", "lockouts", "--bogus", NULL), 2);
    assert_non_null(strstr(errtext, "unknown option '--bogus'"));
    assert_int_equal(run("remote", "unlock", "a@contoso.test", "b@contoso.test", NULL), 2);
    assert_non_null(strstr(errtext, "unexpected argument 'b@contoso.test'"));
    /* An IPv6 address is not taken for an option. */
    assert_int_equal(run("remote", "unlock", "::1", NULL), 1);
    assert_string_equal(errtext, "fedge: address ::1 is not locked out\n");
}

/* --help as on every command: usage with examples on stdout, exit 0. */
static void test_help(void **state)
{
    (void)state;
    const char *cmds[][2] = {{"--help", NULL}, {"lockouts", "--help"}, {"unlock", "-h"}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int rc = run("remote", cmds[i][0], cmds[i][1], NULL);
        if (rc != 0 || !strstr(out, "usage: fedge remote") || !strstr(out, "example") || errtext[0])
            fail_msg("fedge remote %s: exit %d, stdout \"%.80s\", stderr \"%.80s\"", cmds[i][0], rc,
                     out, errtext);
    }
    assert_int_equal(run("remote", NULL), 2);
    assert_non_null(strstr(errtext, "expected lockouts or unlock"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lockouts_and_unlock),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
