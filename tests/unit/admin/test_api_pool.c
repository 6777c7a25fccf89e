/* test_api_pool.c — GET /api/pool (admin__api on a real store in a
 * temporary folder): the members as recorded, each one's state judged
 * against the pool of the member serving the API, that member marked; an
 * edge alone (no record) answers an empty list and a null pool; other
 * methods 405. */
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
#include "api_fixture.h"

typedef tu_api_fx_t fx_t;

static int setup(void **state)
{
    *state = tu_api_open("apipool", "edge2.contoso.test");
    return 0;
}

static int teardown(void **state)
{
    return tu_api_close(*state);
}

static void put(fx_t *f, const char *fqdn, const char *pool, int64_t seen, bool cert_ok)
{
    store_member_t m;
    memset(&m, 0, sizeof(m));
    snprintf(m.fqdn, sizeof(m.fqdn), "%s", fqdn);
    snprintf(m.pool, sizeof(m.pool), "%s", pool);
    snprintf(m.addresses, sizeof(m.addresses), "192.0.2.1:5061");
    snprintf(m.version, sizeof(m.version), "0.1.0");
    m.started_s = seen - 10;
    m.seen_s = seen;
    m.cert_ok = cert_ok;
    fedge_err_t e;
    if (store_member_put(f->api.store, &m, &e) < 0)
        fail_msg("store_member_put: %s", e.msg);
}

static const char *state_of(json_t *items, const char *fqdn, bool *this_one)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "fqdn")), fqdn)) {
            *this_one = json_is_true(json_object_get(it, "this"));
            return json_string_value(json_object_get(it, "state"));
        }
    }
    return NULL;
}

static void test_members(void **state)
{
    fx_t *f = *state;
    int64_t now = (int64_t)time(NULL);
    put(f, "edge1.contoso.test", "pool.contoso.test", now, true);
    put(f, "edge2.contoso.test", "pool.contoso.test", now, true);
    put(f, "edge3.contoso.test", "pool.contoso.test", now - 60, true);
    put(f, "edge4.contoso.test", "pool.contoso.test", now, false);
    put(f, "other.contoso.test", "other.contoso.test", now, true);
    json_t *out = NULL;
    assert_int_equal(admin__api(&f->api, "GET", "/pool", NULL, NULL, "admin:alice", &out), 200);
    assert_string_equal(json_string_value(json_object_get(out, "member")), "edge2.contoso.test");
    assert_string_equal(json_string_value(json_object_get(out, "pool")), "pool.contoso.test");
    assert_int_equal(json_integer_value(json_object_get(out, "stale_after_s")),
                     STORE_MEMBER_STALE_S);
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 5);
    bool me = false;
    assert_string_equal(state_of(items, "edge1.contoso.test", &me), "live");
    assert_false(me);
    assert_string_equal(state_of(items, "edge2.contoso.test", &me), "live");
    assert_true(me);
    assert_string_equal(state_of(items, "edge3.contoso.test", &me), "stale");
    assert_string_equal(state_of(items, "edge4.contoso.test", &me), "cert");
    assert_string_equal(state_of(items, "other.contoso.test", &me), "other-pool");
    json_decref(out);
    out = NULL;
    assert_int_equal(admin__api(&f->api, "POST", "/pool", NULL, NULL, "admin:alice", &out), 405);
    json_decref(out);
}

static void test_edge_alone(void **state)
{
    fx_t *f = *state;
    json_t *out = NULL;
    assert_int_equal(admin__api(&f->api, "GET", "/pool", NULL, NULL, "admin:alice", &out), 200);
    assert_true(json_is_null(json_object_get(out, "pool")));
    assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
