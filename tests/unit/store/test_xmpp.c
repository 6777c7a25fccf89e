/* test_xmpp.c — unit tests of the store's XMPP partner list
 * (src/store/xmpp.c): allow with its settings, block, conflicts, remove,
 * the immutable copy and its look-up, audit entries, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static char path[64];

static int audit_cb(const store_audit_t *a, void *ctx)
{
    char *out = ctx;
    size_t l = strlen(out);
    snprintf(out + l, 4096 - l, "%s %s %s\n", a->action, a->object, a->detail);
    return 0;
}

static void test_allow_block_remove_and_load(void **state)
{
    snprintf(path, sizeof path, "/tmp/fedge-xmpp-store-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    store_t *s;
    fedge_err_t e;
    assert_int_equal(store_open(path, &s, &e), 0);
    store_xmpp_partner_t p = {.domain = "Fabrikam.TEST",
                              .tls_required = true,
                              .sasl = true,
                              .dialback = false,
                              .proxy = "xmpp.fabrikam.test:5270"};
    assert_int_equal(store_xmpp_allow(s, &p, "test:t", &e), 0);
    store_xmpp_partner_t q = {
        .domain = "prosody.test", .tls_required = false, .sasl = false, .dialback = true};
    assert_int_equal(store_xmpp_allow(s, &q, "test:t", &e), 0);
    assert_int_equal(store_xmpp_block(s, "spam.test", "test:t", &e), 0);
    /* Conflicts both ways. */
    store_xmpp_partner_t sp = {.domain = "spam.test", .sasl = true, .dialback = true};
    assert_int_equal(store_xmpp_allow(s, &sp, "test:t", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "fedge xmpp remove spam.test"));
    assert_int_equal(store_xmpp_block(s, "fabrikam.test", "test:t", &e), FEDGE_EEXIST);
    /* Bad input. */
    store_xmpp_partner_t none = {.domain = "x.test"};
    assert_int_equal(store_xmpp_allow(s, &none, "test:t", &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "no way to authenticate"));
    store_xmpp_partner_t bad = {.domain = "not a domain", .sasl = true};
    assert_int_equal(store_xmpp_allow(s, &bad, "test:t", &e), FEDGE_EINVAL);
    store_xmpp_partner_t badp = {.domain = "y.test", .sasl = true, .proxy = "a b:99999"};
    assert_int_equal(store_xmpp_allow(s, &badp, "test:t", &e), FEDGE_EINVAL);
    assert_int_equal(store_xmpp_remove(s, "nobody.test", "test:t", &e), FEDGE_ENOENT);

    store_xmpp_list_t *l;
    assert_int_equal(store_xmpp_load(s, &l, &e), 0);
    assert_int_equal(l->n, 3);
    const store_xmpp_partner_t *f = store_xmpp_find(l, "FABRIKAM.test");
    assert_non_null(f);
    assert_string_equal(f->domain, "fabrikam.test");
    assert_true(f->tls_required && f->sasl && !f->dialback && !f->blocked);
    assert_string_equal(f->proxy, "xmpp.fabrikam.test:5270");
    const store_xmpp_partner_t *pr = store_xmpp_find(l, "prosody.test");
    assert_true(!pr->tls_required && !pr->sasl && pr->dialback);
    assert_null(pr->proxy);
    assert_true(store_xmpp_find(l, "spam.test")->blocked);
    assert_null(store_xmpp_find(l, "other.test"));
    uint64_t g1 = l->generation;
    store_xmpp_list_free(l);

    /* Replacing keeps one entry; removing takes it away; each bumps the
     * generation. */
    q.sasl = true;
    assert_int_equal(store_xmpp_allow(s, &q, "test:t", &e), 0);
    assert_int_equal(store_xmpp_remove(s, "spam.test", "test:t", &e), 0);
    assert_int_equal(store_xmpp_load(s, &l, &e), 0);
    assert_int_equal(l->n, 2);
    assert_true(store_xmpp_find(l, "prosody.test")->sasl);
    assert_int_equal(l->generation, g1 + 2);
    store_xmpp_list_free(l);

    char audit[4096] = "";
    assert_int_equal(store_audit_list(s, 100, audit_cb, audit, &e), 0);
    assert_non_null(strstr(audit, "xmpp.allow fabrikam.test tls required, sasl on, dialback off, "
                                  "server xmpp.fabrikam.test:5270"));
    assert_non_null(strstr(audit, "xmpp.block spam.test"));
    assert_non_null(strstr(audit, "xmpp.remove spam.test"));
    store_close(s);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_block_remove_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
