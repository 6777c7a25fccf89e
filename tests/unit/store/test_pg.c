/* test_pg.c — unit tests of the PostgreSQL store pieces that need no
 * server: store locations (URI detection, checking, password redaction),
 * the ?N to $N parameter rewrite, the migrations of both dialects in step,
 * a server that cannot be reached failing fast with a clear message, and
 * store_wait_change without notifications (SQLite). The backend against a
 * real server: tests/e2e/110-store-postgresql.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_uri_detection(void **state)
{
    (void)state;
    assert_true(store_location_is_uri("postgresql://fedge@db/fedge"));
    assert_true(store_location_is_uri("postgres://db/fedge"));
    assert_true(store_location_is_uri("PostgreSQL://db/fedge"));
    assert_false(store_location_is_uri("/var/lib/fedge/fedge.db"));
    assert_false(store_location_is_uri("fedge.db"));
    assert_false(store_location_is_uri("postgresql:/db"));
    assert_false(store_location_is_uri("./postgresql://x")); /* a relative path */
    assert_false(store_location_is_uri(""));
    assert_false(store_location_is_uri(NULL));
}

static void shown_is(const char *in, const char *want)
{
    char out[256];
    size_t n = store_location_shown(in, out, sizeof(out));
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_redaction(void **state)
{
    (void)state;
    shown_is("postgresql://fedge:s3cret@db.contoso.com:5432/fedge",
             "postgresql://fedge:***@db.contoso.com:5432/fedge");
    shown_is("postgres://fedge@db/fedge", "postgres://fedge@db/fedge");
    shown_is("postgresql://db/fedge?password=s3cret&sslmode=require",
             "postgresql://db/fedge?password=***&sslmode=require");
    shown_is("postgresql://db/fedge?sslmode=require&password=s3cret",
             "postgresql://db/fedge?sslmode=require&password=***");
    shown_is("postgresql://u:p:w@h1:5432,h2:5433/fedge",
             "postgresql://u:***@h1:5432,h2:5433/fedge");
    shown_is("postgresql://u:p%40ss@h/fedge", "postgresql://u:***@h/fedge");
    shown_is("postgresql://host:5432/fedge", "postgresql://host:5432/fedge");
    shown_is("/var/lib/fedge/fedge.db", "/var/lib/fedge/fedge.db");
    /* regression (found by fuzz_config): an empty password looped forever */
    shown_is("postgresql://u:@h/fedge", "postgresql://u:***@h/fedge");
    /* truncation stays NUL-terminated and never shows the password */
    char small[20];
    store_location_shown("postgresql://fedge:s3cret@db/x", small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_null(strstr(small, "s3c"));
}

static void test_check_location(void **state)
{
    (void)state;
    fedge_err_t e;
    assert_int_equal(store_check_location("/var/lib/fedge/fedge.db", &e), 0);
    assert_int_equal(store_check_location("postgresql://fedge@127.0.0.1:5432/fedge", &e), 0);
    assert_int_equal(store_check_location(
                         "postgresql://fedge@db/fedge?sslmode=verify-full&connect_timeout=2", &e),
                     0);
    assert_int_equal(store_check_location("postgresql://fedge@db/fedge?sslmod=require", &e),
                     FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "sslmod"));
    assert_non_null(strstr(e.msg, "expected postgresql://"));
    assert_int_equal(store_check_location("postgresql://[::1/fedge", &e), FEDGE_EINVAL);
    assert_int_equal(store_check_location("", &e), FEDGE_EINVAL);
}

static void sql_is(const char *in, const char *want)
{
    char out[128];
    int n = store__pg_sql(in, out, sizeof(out));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_param_rewrite(void **state)
{
    (void)state;
    sql_is("SELECT a FROM t WHERE k = ?1 AND v = ?2", "SELECT a FROM t WHERE k = $1 AND v = $2");
    sql_is("INSERT INTO t VALUES(?1, ?10)", "INSERT INTO t VALUES($1, $10)");
    sql_is("SELECT '?1', \"?2\" WHERE x = ?3", "SELECT '?1', \"?2\" WHERE x = $3");
    sql_is("SELECT 'it''s ?1' WHERE x = ?1", "SELECT 'it''s ?1' WHERE x = $1");
    sql_is("SELECT ? , ?a", "SELECT ? , ?a"); /* not a numbered parameter */
    char out[8];
    assert_int_equal(store__pg_sql("SELECT ?1 FROM t", out, sizeof(out)), FEDGE_ENOSPC);
    char big[64];
    assert_int_equal(store__pg_sql("SELECT 'open", big, sizeof(big)), FEDGE_EINVAL);
}

/* One schema version means one schema whatever the engine. */
static void test_migrations_in_step(void **state)
{
    (void)state;
    assert_int_equal(store__pg.n_migrations, store__sqlite.n_migrations);
    assert_int_equal(store_schema_current(), (int)store__pg.n_migrations);
    assert_non_null(store__pg.wait);
    assert_null(store__sqlite.wait);
}

/* Nobody listens on 127.0.0.1 port 1: the open fails at once, says what
 * failed and where, and never shows the password. */
static void test_unreachable_fails_fast(void **state)
{
    (void)state;
    fedge_err_t e;
    store_t *s = NULL;
    double t0 = now_s();
    int r = store_open("postgresql://fedge:topsecret@127.0.0.1:1/fedge", &s, &e);
    double dt = now_s() - t0;
    assert_int_equal(r, FEDGE_ESTORE);
    assert_null(s);
    assert_true(dt < 4.0);
    assert_non_null(strstr(e.msg, "postgresql://fedge:***@127.0.0.1:1/fedge"));
    assert_non_null(strstr(e.msg, "cannot reach the PostgreSQL server"));
    assert_null(strstr(e.msg, "topsecret"));
    /* a malformed URI: refused before any connection, EINVAL */
    r = store_open("postgresql://fedge:topsecret@db/fedge?nosuch=1", &s, &e);
    assert_int_equal(r, FEDGE_EINVAL);
    assert_null(strstr(e.msg, "topsecret"));
    assert_non_null(strstr(e.msg, "nosuch"));
}

static void test_sqlite_wait_sleeps(void **state)
{
    (void)state;
    char dir[] = "/tmp/fedge-pgunit-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fedge.db", dir);
    fedge_err_t e;
    store_t *s;
    assert_int_equal(store_open(path, &s, &e), 0);
    assert_false(store_notifies(s));
    double t0 = now_s();
    assert_int_equal(store_wait_change(s, 120, &e), 0);
    double dt = now_s() - t0;
    assert_true(dt >= 0.11 && dt < 1.0);
    store_close(s);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_detection),      cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_check_location),     cmocka_unit_test(test_param_rewrite),
        cmocka_unit_test(test_migrations_in_step), cmocka_unit_test(test_unreachable_fails_fast),
        cmocka_unit_test(test_sqlite_wait_sleeps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
