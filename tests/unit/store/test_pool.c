/* test_pool.c — pool members in the store (src/store/pool.c): a record
 * written, replaced and listed in order; bad input refused; a member's
 * state (stale, other pool, certificate); forget audited, and members
 * neither bump the generation nor count as configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

typedef struct {
    char dir[64];
    char path[128];
    store_t *s;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/fedge-pool-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/fedge.db", f->dir);
    fedge_err_t e;
    if (store_open(f->path, &f->s, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    store_close(f->s);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static store_member_t member(const char *fqdn, int64_t seen)
{
    store_member_t m;
    memset(&m, 0, sizeof(m));
    snprintf(m.fqdn, sizeof(m.fqdn), "%s", fqdn);
    snprintf(m.pool, sizeof(m.pool), "edge.contoso.test");
    snprintf(m.addresses, sizeof(m.addresses), "192.0.2.1:5061");
    snprintf(m.internal, sizeof(m.internal), "10.0.0.1:5061");
    snprintf(m.version, sizeof(m.version), "0.1.0");
    snprintf(m.cert_names, sizeof(m.cert_names), "edge.contoso.test,contoso.test");
    m.cert_ok = true;
    m.started_s = seen - 100;
    m.seen_s = seen;
    m.connections = 7;
    m.rps = 12;
    return m;
}

typedef struct {
    store_member_t m[8];
    size_t n;
} list_t;

static int list_cb(const store_member_t *m, void *ctx)
{
    list_t *l = ctx;
    if (l->n < 8)
        l->m[l->n++] = *m;
    return 0;
}

static void test_put_replace_list(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    store_member_t b = member("edge2.contoso.test", 1000), a = member("EDGE1.contoso.test", 1000);
    assert_int_equal(store_member_put(f->s, &b, &e), 0);
    assert_int_equal(store_member_put(f->s, &a, &e), 0);
    a.seen_s = 2000;
    a.connections = 3;
    a.cert_ok = false;
    assert_int_equal(store_member_put(f->s, &a, &e), 0); /* replaces, same key */
    list_t l = {0};
    assert_int_equal(store_member_list(f->s, list_cb, &l, &e), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.m[0].fqdn, "edge1.contoso.test"); /* lowercased, in order */
    assert_int_equal(l.m[0].seen_s, 2000);
    assert_int_equal(l.m[0].connections, 3);
    assert_false(l.m[0].cert_ok);
    assert_string_equal(l.m[1].fqdn, "edge2.contoso.test");
    assert_string_equal(l.m[1].addresses, "192.0.2.1:5061");
    assert_string_equal(l.m[1].internal, "10.0.0.1:5061");
    assert_int_equal(l.m[1].rps, 12);
    assert_true(l.m[1].cert_ok);
}

static void test_bad_input(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    store_member_t m = member("not a name", 1);
    assert_int_equal(store_member_put(f->s, &m, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "member fqdn"));
    m = member("edge1.contoso.test", 1);
    m.version[0] = '\x01';
    assert_int_equal(store_member_put(f->s, &m, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "version"));
    list_t l = {0};
    assert_int_equal(store_member_list(f->s, list_cb, &l, &e), 0);
    assert_int_equal(l.n, 0);
}

static void test_state(void **state)
{
    (void)state;
    store_member_t m = member("edge1.contoso.test", 1000);
    assert_string_equal(store_member_state(&m, "edge.contoso.test", 1000 + STORE_MEMBER_STALE_S),
                        "live");
    assert_string_equal(store_member_state(&m, "edge.contoso.test", 1001 + STORE_MEMBER_STALE_S),
                        "stale");
    assert_string_equal(store_member_state(&m, "other.contoso.test", 1000), "other-pool");
    assert_string_equal(store_member_state(&m, NULL, 1000), "live");
    m.cert_ok = false;
    assert_string_equal(store_member_state(&m, "edge.contoso.test", 1000), "cert");
}

static int audit_cb(const store_audit_t *a, void *ctx)
{
    if (!strcmp(a->action, "pool.forget") && !strcmp(a->object, "edge1.contoso.test"))
        ++*(int *)ctx;
    return 0;
}

static void test_forget_and_not_configuration(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    store_snapshot_t *before = NULL, *after = NULL;
    assert_int_equal(store_snapshot_load(f->s, &before, &e), 0);
    store_member_t m = member("edge1.contoso.test", 5);
    assert_int_equal(store_member_put(f->s, &m, &e), 0);
    assert_int_equal(store_snapshot_load(f->s, &after, &e), 0);
    assert_int_equal(after->generation, before->generation); /* no reload for a heartbeat */
    assert_int_equal(store_member_forget(f->s, "edge1.contoso.test", "cli:root", &e), 0);
    assert_int_equal(store_member_forget(f->s, "edge1.contoso.test", "cli:root", &e), FEDGE_ENOENT);
    assert_non_null(strstr(e.msg, "edge1.contoso.test"));
    int n = 0;
    assert_int_equal(store_audit_list(f->s, 10, audit_cb, &n, &e), 0);
    assert_int_equal(n, 1);
    list_t l = {0};
    assert_int_equal(store_member_list(f->s, list_cb, &l, &e), 0);
    assert_int_equal(l.n, 0);
    store_snapshot_unref(before);
    store_snapshot_unref(after);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_put_replace_list),
        T(test_bad_input),
        T(test_state),
        T(test_forget_and_not_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
