/* test_pages.c — unit tests of the panel's list pages and the domain
 * import (src/store/pages.c, src/store/import.c) on a real SQLite file:
 * search over the text shown (never hidden values), sort, count, paging,
 * audit filters; imports all or nothing, unchanged, conflicts, dry runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

typedef struct {
    char dir[64];
    char path[128];
    store_t *s;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/fedge-pages-XXXXXX");
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

#define OK(call)                                                                                   \
    do {                                                                                           \
        int r_ = (call);                                                                           \
        if (r_ != 0)                                                                               \
            fail_msg("%s -> %d", #call, r_);                                                       \
    } while (0)

typedef struct {
    size_t n;
    char rows[64][160];
} got_t;

static int row_cb(const store_domain_row_t *d, void *ctx)
{
    got_t *g = ctx;
    if (g->n < 64)
        snprintf(g->rows[g->n++], 160, "%s|%s|%s|%s|%s|%d", d->domain, d->access, d->type,
                 d->proxy_fqdn, d->comment, d->monitor);
    return 0;
}

static void load(fx_t *f)
{
    fedge_err_t e = {{0}};
    store_domain_in_t in[] = {
        {"alpha.test", false, "edge.alpha.test", "Partner A", true},
        {"Beta.test", false, NULL, "false friend", false},
        {"gamma.test", true, NULL, "spam, 100%", false},
        {"delta.test", false, NULL, NULL, false},
    };
    store_import_count_t c;
    if (store_domain_import(f->s, in, 4, false, false, "cli:root", &c, &e) != 0)
        fail_msg("import: %s", e.msg);
    assert_int_equal(c.added, 4);
}

static void page(fx_t *f, const char *q, const char *sort, bool desc, size_t off, size_t lim,
                 got_t *g, uint64_t *matched, uint64_t *total)
{
    fedge_err_t e = {{0}};
    store_page_t p = {q, sort, desc, off, lim};
    memset(g, 0, sizeof(*g));
    if (store_domain_page(f->s, &p, matched, total, row_cb, g, &e) != 0)
        fail_msg("page: %s", e.msg);
}

static void test_domain_page_search_shown_text(void **state)
{
    fx_t *f = *state;
    load(f);
    got_t g;
    uint64_t m, t;
    page(f, NULL, NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(t, 4);
    assert_int_equal(m, 4);
    assert_string_equal(g.rows[0], "alpha.test|Allowed|Partner server|edge.alpha.test|Partner A|1");
    assert_string_equal(g.rows[1], "beta.test|Allowed|Partner domain||false friend|0");
    assert_string_equal(g.rows[3], "gamma.test|Blocked|||spam, 100%|0");
    /* The type as shown matches; the monitor flag's hidden "false" or "0" does not. */
    page(f, "Partner SERVER", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 1);
    assert_int_equal(g.n, 1);
    page(f, "partner", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 3); /* two types "Partner ..." and the comment "Partner A" */
    page(f, "false", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 1); /* only the comment "false friend" */
    assert_non_null(strstr(g.rows[0], "beta.test"));
    page(f, "blocked", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 1);
    page(f, "yes", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 1); /* Monitor shown as "Yes" */
    /* LIKE's wildcards are searched as text. */
    page(f, "100%", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 1);
    page(f, "_", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 0);
    /* A match never spans two columns. */
    page(f, "test allowed", NULL, false, 0, 10, &g, &m, &t);
    assert_int_equal(m, 0);
}

static void test_domain_page_sort_and_pages(void **state)
{
    fx_t *f = *state;
    load(f);
    got_t g;
    uint64_t m, t;
    page(f, NULL, "domain", true, 0, 2, &g, &m, &t);
    assert_int_equal(g.n, 2);
    assert_non_null(strstr(g.rows[0], "gamma.test"));
    assert_non_null(strstr(g.rows[1], "delta.test"));
    page(f, NULL, "domain", true, 2, 2, &g, &m, &t);
    assert_int_equal(g.n, 2);
    assert_non_null(strstr(g.rows[0], "beta.test"));
    page(f, NULL, "access", true, 0, 1, &g, &m, &t);
    assert_non_null(strstr(g.rows[0], "gamma.test"));
    page(f, NULL, "domain", false, 10, 5, &g, &m, &t);
    assert_int_equal(g.n, 0);
    assert_int_equal(m, 4);
    fedge_err_t e;
    store_page_t bad = {NULL, "domain; DROP TABLE audit", false, 0, 5};
    assert_int_equal(store_domain_page(f->s, &bad, &m, &t, row_cb, &g, &e), FEDGE_EINVAL);
    store_page_t ctl = {"a\tb", NULL, false, 0, 5};
    assert_int_equal(store_domain_page(f->s, &ctl, &m, &t, row_cb, &g, &e), FEDGE_EINVAL);
}

static void test_import_all_or_nothing(void **state)
{
    fx_t *f = *state;
    load(f);
    fedge_err_t e = {{0}};
    store_import_count_t c;
    /* The same rows again: unchanged. */
    store_domain_in_t same[] = {{"alpha.test", false, "EDGE.alpha.test", "Partner A", true}};
    OK(store_domain_import(f->s, same, 1, false, false, "cli:root", &c, &e));
    assert_int_equal(c.unchanged, 1);
    /* A differing row refuses the whole import, naming its row. */
    store_domain_in_t two[] = {{"new.test", false, NULL, NULL, false},
                               {"alpha.test", true, NULL, NULL, false}};
    assert_int_equal(store_domain_import(f->s, two, 2, false, false, "cli:root", &c, &e),
                     FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "row 2: alpha.test is allowed partner server"));
    got_t g;
    uint64_t m, t;
    page(f, "new.test", NULL, false, 0, 5, &g, &m, &t);
    assert_int_equal(m, 0);
    /* A dry run counts without writing. */
    OK(store_domain_import(f->s, two, 2, true, true, "cli:root", &c, &e));
    assert_int_equal(c.added, 1);
    assert_int_equal(c.replaced, 1);
    page(f, "new.test", NULL, false, 0, 5, &g, &m, &t);
    assert_int_equal(m, 0);
    /* With replace: moved to the blocked list, audited with before/after. */
    OK(store_domain_import(f->s, two, 2, true, false, "cli:root", &c, &e));
    page(f, "alpha.test", NULL, false, 0, 5, &g, &m, &t);
    assert_string_equal(g.rows[0], "alpha.test|Blocked||||0");
    /* Bad rows and duplicates are refused before anything is written. */
    store_domain_in_t dup[] = {{"x.test", false, NULL, NULL, false},
                               {"X.test.", true, NULL, NULL, false}};
    assert_int_equal(store_domain_import(f->s, dup, 2, true, false, "cli:root", &c, &e),
                     FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "row 2: x.test is already given in row 1"));
    store_domain_in_t blk[] = {{"y.test", true, "edge.y.test", NULL, false}};
    assert_int_equal(store_domain_import(f->s, blk, 1, true, false, "cli:root", &c, &e),
                     FEDGE_EINVAL);
    store_domain_in_t badn[] = {{"ok.test", false, NULL, NULL, false},
                                {"bad..test", false, NULL, NULL, false}};
    assert_int_equal(store_domain_import(f->s, badn, 2, true, false, "cli:root", &c, &e),
                     FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "row 2:"));
}

typedef struct {
    size_t n;
    char rows[16][256];
} audit_t;

static int audit_cb(const store_audit_t *a, void *ctx)
{
    audit_t *r = ctx;
    if (r->n < 16)
        snprintf(r->rows[r->n++], 256, "%s|%s|%s|%s", a->actor, a->action, a->object, a->detail);
    return 0;
}

static void test_audit_page_filters(void **state)
{
    fx_t *f = *state;
    load(f); /* 4 entries by cli:root */
    OK(store_domain_switch(f->s, "delta.test", true, NULL, "now blocked", false, "admin:alice",
                           &(fedge_err_t){{0}}));
    store_setting_t kv[] = {{"federation", "off"}, {"discovery", "off"}};
    OK(store_edge_set(f->s, kv, 2, "admin:bob", &(fedge_err_t){{0}}));
    fedge_err_t e = {{0}};
    audit_t a = {0};
    uint64_t m = 0;
    store_audit_filter_t all = {.limit = 100};
    OK(store_audit_page(f->s, &all, &m, audit_cb, &a, &e));
    assert_int_equal(m, 6); /* discovery was already off: not logged */
    assert_string_equal(a.rows[0], "admin:bob|edge.set|federation|on" STORE_AUDIT_ARROW "off");
    assert_string_equal(a.rows[1],
                        "admin:alice|domain.access|delta.test|allowed" STORE_AUDIT_ARROW "blocked");
    memset(&a, 0, sizeof(a));
    store_audit_filter_t by = {.actor = "ALICE", .limit = 100};
    OK(store_audit_page(f->s, &by, &m, audit_cb, &a, &e));
    assert_int_equal(m, 1);
    memset(&a, 0, sizeof(a));
    store_audit_filter_t obj = {.object = "test", .action = "import", .offset = 1, .limit = 2};
    OK(store_audit_page(f->s, &obj, &m, audit_cb, &a, &e));
    assert_int_equal(m, 4);
    assert_int_equal(a.n, 2);
    memset(&a, 0, sizeof(a));
    store_audit_filter_t old = {.until = "2000-01-01", .limit = 100};
    OK(store_audit_page(f->s, &old, &m, audit_cb, &a, &e));
    assert_int_equal(m, 0);
    store_audit_filter_t day = {.since = "2000-01-01", .until = "2999-12-31T23:59:59Z", .limit = 1};
    OK(store_audit_page(f->s, &day, &m, audit_cb, &a, &e));
    assert_int_equal(m, 6);
    store_audit_filter_t bad = {.since = "yesterday", .limit = 1};
    assert_int_equal(store_audit_page(f->s, &bad, &m, audit_cb, &a, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "since:"));
}

static void test_policy_remove(void **state)
{
    fx_t *f = *state;
    fedge_err_t e = {{0}};
    store_policy_patch_t p = {1, -1, -1, -1, -1};
    OK(store_policy_set(f->s, "sales", &p, "cli:root", &e));
    OK(store_policy_assign(f->s, "bob@contoso.test", "sales", "cli:root", &e));
    assert_int_equal(store_policy_remove(f->s, "sales", "cli:root", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "1 user is assigned"));
    assert_int_equal(store_policy_remove(f->s, "global", "cli:root", &e), FEDGE_EINVAL);
    OK(store_policy_assign(f->s, "bob@contoso.test", "global", "cli:root", &e));
    OK(store_policy_remove(f->s, "sales", "cli:root", &e));
    assert_int_equal(store_policy_remove(f->s, "sales", "cli:root", &e), FEDGE_ENOENT);
}

/* Edits of an entry are audited with before and after; an edit that
 * changes nothing leaves no entry. */
static void test_domain_edits_before_after(void **state)
{
    fx_t *f = *state;
    fedge_err_t e = {{0}};
    OK(store_domain_allow(f->s, "a.test", "edge.a.test", "one", false, "cli:root", &e));
    OK(store_domain_allow(f->s, "a.test", "edge.a.test", "one", false, "cli:root", &e));
    OK(store_domain_allow(f->s, "a.test", NULL, "two", true, "cli:root", &e));
    OK(store_domain_block(f->s, "b.test", NULL, "cli:root", &e));
    OK(store_domain_block(f->s, "b.test", "", "cli:root", &e));
    OK(store_domain_block(f->s, "b.test", "spam", "cli:root", &e));
    audit_t a = {0};
    uint64_t m = 0;
    store_audit_filter_t all = {.limit = 10};
    OK(store_audit_page(f->s, &all, &m, audit_cb, &a, &e));
    assert_int_equal(m, 4);
    assert_string_equal(a.rows[0],
                        "cli:root|domain.block|b.test|blocked, comment \"\"" STORE_AUDIT_ARROW
                        "blocked, comment \"spam\"");
    assert_string_equal(a.rows[2], "cli:root|domain.allow|a.test|partner server edge.a.test, "
                                   "comment \"one\"" STORE_AUDIT_ARROW
                                   "allowed domain, monitored, comment \"two\"");
}

/* A provider saved with every field (as the panel does) logs only what
 * changed, before and after; the same domains in another order are no
 * change. */
static void test_provider_edits_before_after(void **state)
{
    fx_t *f = *state;
    fedge_err_t e = {{0}};
    const char *d1[] = {"t1.test", "t2.test"}, *d2[] = {"t2.test", "t1.test"}, *d3[] = {"t3.test"};
    store_provider_in_t in = {
        "hoster", "sip.hoster.test", STORE_PROVIDER_HOSTING, STORE_VERIFY_USE_SOURCE, true, d1, 2};
    OK(store_provider_add(f->s, &in, "cli:root", &e));
    store_provider_patch_t same = {
        "SIP.hoster.test", STORE_PROVIDER_HOSTING, STORE_VERIFY_USE_SOURCE, 1, d2, 2};
    OK(store_provider_set(f->s, "hoster", &same, "cli:root", &e));
    store_provider_patch_t some = {
        "sip.hoster.test", STORE_PROVIDER_PUBLIC, STORE_VERIFY_USE_SOURCE, 0, d3, 1};
    OK(store_provider_set(f->s, "hoster", &some, "cli:root", &e));
    audit_t a = {0};
    uint64_t m = 0;
    store_audit_filter_t all = {.limit = 10};
    OK(store_audit_page(f->s, &all, &m, audit_cb, &a, &e));
    assert_int_equal(m, 2);
    assert_string_equal(a.rows[0], "cli:root|provider.set|hoster|kind hosting; enabled; domains "
                                   "t1.test,t2.test" STORE_AUDIT_ARROW
                                   "kind public; disabled; domains t3.test");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_domain_page_search_shown_text),
        T(test_domain_page_sort_and_pages),
        T(test_import_all_or_nothing),
        T(test_audit_page_filters),
        T(test_policy_remove),
        T(test_domain_edits_before_after),
        T(test_provider_edits_before_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
