/* test_shared.c — the admin server's sessions and login throttle kept in a
 * store shared by several members (the pool case, docs/pools.md): two
 * members' tables on two handles of one store (SQLite here; the
 * PostgreSQL store end to end in tests/e2e/110-store-postgresql.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_int.h"

typedef struct {
    char dir[64], path[128];
    store_t *s1, *s2; /* member 1's and member 2's handles */
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/fedge-shared-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/fedge.db", f->dir);
    fedge_err_t e;
    assert_int_equal(store_open(f->path, &f->s1, &e), 0);
    assert_int_equal(store_open(f->path, &f->s2, &e), 0);
    assert_int_equal(store_account_add(f->s1, "alice", "scrypt$x", "cli:test", &e), 0);
    assert_int_equal(store_account_add(f->s1, "bob", "scrypt$y", "cli:test", &e), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    store_close(f->s1);
    store_close(f->s2);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int r = system(cmd);
    free(f);
    return r == 0 ? 0 : -1;
}

static admin__sessions_t *member(store_t *s)
{
    admin__sessions_t *ss = admin__sessions_new(8, 1800, 43200);
    admin__sessions_use_store(ss, s);
    return ss;
}

/* A session made on member 1 works on member 2 with the same account and
 * CSRF token, and after member 1 "restarts" (a new table). */
static void test_session_on_every_member(void **state)
{
    fx_t *f = *state;
    int64_t now = (int64_t)time(NULL);
    admin__sessions_t *m1 = member(f->s1), *m2 = member(f->s2);
    char id[ADMIN__HEX], csrf[ADMIN__HEX];
    fedge_err_t e;
    assert_int_equal(admin__session_new(m1, "alice", "fp1", now, id, csrf, &e), 0);
    admin__session_t *s = admin__session_get(m2, id, now + 1);
    assert_non_null(s);
    assert_string_equal(s->account, "alice");
    assert_string_equal(s->csrf, csrf);
    assert_string_equal(s->pw_fp, "fp1");
    admin__sessions_free(m1);
    m1 = member(f->s1); /* restarted: an empty table */
    assert_non_null(admin__session_get(m1, id, now + 2));
    /* an unknown id, a malformed one: nothing */
    char other[ADMIN__HEX];
    memset(other, 'a', ADMIN__HEX - 1);
    other[ADMIN__HEX - 1] = 0;
    assert_null(admin__session_get(m2, other, now + 2));
    assert_null(admin__session_get(m2, "short", now + 2));
    admin__sessions_free(m1);
    admin__sessions_free(m2);
}

/* Logout on one member ends the session on the other, though that one
 * still had it in its table. */
static void test_logout_anywhere(void **state)
{
    fx_t *f = *state;
    int64_t now = (int64_t)time(NULL);
    admin__sessions_t *m1 = member(f->s1), *m2 = member(f->s2);
    char id[ADMIN__HEX], csrf[ADMIN__HEX];
    fedge_err_t e;
    assert_int_equal(admin__session_new(m1, "alice", "fp1", now, id, csrf, &e), 0);
    assert_non_null(admin__session_get(m1, id, now));
    assert_non_null(admin__session_get(m2, id, now));
    admin__session_end(m2, id);
    assert_null(admin__session_get(m1, id, now + 1));
    assert_int_equal(admin__session_count(m1), 0);
    admin__sessions_free(m1);
    admin__sessions_free(m2);
}

/* Idle expiry by the latest use on any member; the account's removal ends
 * its sessions (the store's foreign key). */
static void test_idle_and_account_removal(void **state)
{
    fx_t *f = *state;
    int64_t now = (int64_t)time(NULL);
    admin__sessions_t *m1 = member(f->s1), *m2 = member(f->s2);
    char id[ADMIN__HEX], csrf[ADMIN__HEX], id2[ADMIN__HEX];
    fedge_err_t e;
    assert_int_equal(admin__session_new(m1, "alice", "fp1", now, id, csrf, &e), 0);
    /* used on member 2 at +1000 s (the store's idle timer refreshed) */
    assert_non_null(admin__session_get(m2, id, now + 1000));
    /* member 1 sees the use: alive at +2000 s though it saw none since 0 */
    assert_non_null(admin__session_get(m1, id, now + 2000));
    /* idle 1800 s after the last use anywhere: gone on both */
    assert_null(admin__session_get(m2, id, now + 2000 + 1801));
    assert_null(admin__session_get(m1, id, now + 2000 + 1802));
    assert_int_equal(admin__session_new(m1, "bob", "fpb", now, id2, csrf, &e), 0);
    assert_non_null(admin__session_get(m2, id2, now + 1));
    assert_int_equal(store_account_remove(f->s1, "bob", "cli:test", &e), 0);
    assert_null(admin__session_get(m2, id2, now + 2));
    /* a session for an account that does not exist is refused */
    assert_int_equal(admin__session_new(m1, "nobody", "fp", now, id, csrf, &e), FEDGE_EEXIST);
    assert_null(admin__session_get(m1, id, now));
    admin__sessions_free(m1);
    admin__sessions_free(m2);
}

/* Failed logins on member 1 throttle member 2; a success forgets them on
 * both. The throttle counts by the wall clock in the store. */
static void test_throttle_shared(void **state)
{
    fx_t *f = *state;
    admin__guard_t *g1 = admin__guard_new(64), *g2 = admin__guard_new(64);
    admin__guard_use_store(g1, f->s1);
    admin__guard_use_store(g2, f->s2);
    int64_t t = 5000000; /* each member's own monotonic time */
    for (int i = 0; i < ADMIN__FREE_ACCOUNT + 1; i++)
        admin__guard_fail(g1, "alice", "10.0.0.1", t);
    assert_true(admin__guard_wait(g1, "alice", "10.0.0.1", t) > 0);
    uint32_t w = admin__guard_wait(g2, "alice", "10.0.0.2", 1); /* another member, address */
    assert_true(w > 0 && w <= 1000);
    assert_int_equal(admin__guard_wait(g2, "bob", "10.0.0.2", 1), 0);
    admin__guard_ok(g2, "alice", "10.0.0.2");
    assert_int_equal(admin__guard_wait(g2, "alice", "10.0.0.2", 1), 0);
    /* member 1 still counts its own failures: the longer wait applies */
    assert_true(admin__guard_wait(g1, "alice", "10.0.0.3", t) > 0);
    admin__guard_ok(g1, "alice", "10.0.0.3");
    assert_int_equal(admin__guard_wait(g1, "alice", "10.0.0.3", t), 0);
    admin__guard_free(g1);
    admin__guard_free(g2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_on_every_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logout_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_and_account_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_shared, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
