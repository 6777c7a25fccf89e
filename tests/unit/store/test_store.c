/* test_store.c — unit tests of the configuration store on a real SQLite
 * file in a temporary folder: migrations, changes and their validation,
 * audit, snapshots, change detection across connections and processes,
 * concurrent writers, locked and corrupt stores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    strcpy(f->dir, "/tmp/fedge-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/fedge.db", f->dir);
    fedge_err_t e;
    int r = store_open(f->path, &f->s, &e);
    if (r != 0)
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
        fedge_err_t e_ = {{0}};                                                                    \
        fedge_err_t *err = &e_;                                                                    \
        int r_ = (call);                                                                           \
        if (r_ != 0)                                                                               \
            fail_msg("%s -> %d: %s", #call, r_, e_.msg);                                           \
    } while (0)

static store_snapshot_t *snap_of(store_t *s)
{
    store_snapshot_t *snap = NULL;
    fedge_err_t e;
    if (store_snapshot_load(s, &snap, &e) != 0)
        fail_msg("snapshot: %s", e.msg);
    return snap;
}

/* ---- migrations ---- */

static void test_migrations_from_empty(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    int v = -1;
    assert_int_equal(store_schema_version(f->s, &v, &e), 0);
    assert_int_equal(v, store_schema_current());
    assert_true(v >= 1);
    /* Reopening applies nothing and keeps the data. */
    OK(store_domain_allow(f->s, "contoso.com", NULL, NULL, false, "cli:test", err));
    store_close(f->s);
    assert_int_equal(store_open(f->path, &f->s, &e), 0);
    assert_int_equal(store_schema_version(f->s, &v, &e), 0);
    assert_int_equal(v, store_schema_current());
    store_snapshot_t *snap = snap_of(f->s);
    assert_int_equal(snap->n_allowed, 1);
    /* Defaults of a fresh store. */
    assert_true(snap->edge.federation);
    assert_false(snap->edge.discovery);
    assert_int_equal(snap->edge.discovered_rate, 20);
    assert_int_equal(snap->edge.discovered_contacts, 1000);
    assert_int_equal(snap->edge.report_period_min, 60);
    assert_int_equal(snap->n_policies, 1);
    assert_string_equal(snap->policies[0].scope, "global");
    assert_true(snap->policies[0].federation);
    store_snapshot_unref(snap);

    /* Owner-only: the store holds policy and administrator accounts. */
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* The journal is WAL. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
    fx_t *f = *state;
    store_close(f->s);
    f->s = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 999", 0, 0, 0),
                     SQLITE_OK);
    sqlite3_close(db);
    fedge_err_t e;
    assert_int_equal(store_open(f->path, &f->s, &e), FEDGE_ESTORE);
    assert_non_null(strstr(e.msg, "newer fedge"));
    assert_null(f->s);
}

/* ---- domains ---- */

static void test_domains_crud_and_normalisation(void **state)
{
    fx_t *f = *state;
    OK(store_domain_allow(f->s, "Fabrikam.COM.", "Edge.Fabrikam.com", "partner", true, "cli:root",
                          err));
    OK(store_domain_allow(f->s, "northwind.com", NULL, NULL, false, "cli:root", err));
    OK(store_domain_block(f->s, "evil.example", "spam", "admin:alice", err));
    store_snapshot_t *snap = snap_of(f->s);
    assert_int_equal(snap->n_allowed, 2);
    assert_string_equal(snap->allowed[0].domain, "fabrikam.com");
    assert_string_equal(snap->allowed[0].proxy_fqdn, "edge.fabrikam.com");
    assert_string_equal(snap->allowed[0].comment, "partner");
    assert_true(snap->allowed[0].monitor);
    assert_null(snap->allowed[1].proxy_fqdn);
    assert_int_equal(snap->n_blocked, 1);
    assert_string_equal(snap->blocked[0].comment, "spam");
    /* Lookups ignore case. */
    assert_ptr_equal(store_snapshot_allowed(snap, FEDGE_STR_LIT("FABRIKAM.com")),
                     &snap->allowed[0]);
    assert_ptr_equal(store_snapshot_partner_by_fqdn(snap, FEDGE_STR_LIT("edge.fabrikam.com")),
                     &snap->allowed[0]);
    assert_null(store_snapshot_allowed(snap, FEDGE_STR_LIT("fabrikam.co")));
    assert_non_null(store_snapshot_blocked(snap, FEDGE_STR_LIT("evil.example")));
    store_snapshot_unref(snap);

    /* Re-allowing replaces: now a plain allowed domain. */
    OK(store_domain_allow(f->s, "fabrikam.com", NULL, NULL, false, "cli:root", err));
    snap = snap_of(f->s);
    assert_null(snap->allowed[0].proxy_fqdn);
    store_snapshot_unref(snap);

    OK(store_domain_remove(f->s, "fabrikam.com", "cli:root", err));
    OK(store_domain_remove(f->s, "evil.example", "cli:root", err));
    fedge_err_t e;
    assert_int_equal(store_domain_remove(f->s, "evil.example", "cli:root", &e), FEDGE_ENOENT);
    assert_non_null(strstr(e.msg, "neither allowed nor blocked"));
    snap = snap_of(f->s);
    assert_int_equal(snap->n_allowed, 1);
    assert_int_equal(snap->n_blocked, 0);
    store_snapshot_unref(snap);
}

static void test_allowed_blocked_conflict(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    OK(store_domain_allow(f->s, "contoso.com", NULL, NULL, false, "cli:root", err));
    assert_int_equal(store_domain_block(f->s, "CONTOSO.com", NULL, "cli:root", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "both allowed and blocked"));
    OK(store_domain_block(f->s, "evil.com", NULL, "cli:root", err));
    assert_int_equal(
        store_domain_allow(f->s, "evil.com", "x.evil.com", NULL, false, "cli:root", &e),
        FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "is blocked"));
    store_snapshot_t *snap = snap_of(f->s);
    assert_int_equal(snap->n_allowed, 1);
    assert_int_equal(snap->n_blocked, 1);
    store_snapshot_unref(snap);

    /* The schema refuses it too, for writers that bypass store.c. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(db, "INSERT INTO allowed_domain(domain) VALUES('evil.com')", 0, 0, 0),
        SQLITE_OK);
    sqlite3_close(db);
}

static void test_validation_names_field(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    static const char *const bad[] = {"",        "com",     "a..b",         "-a.com",    "a-.com",
                                      "1.2.3.4", "a_b.com", "exa mple.com", "x.com:5061"};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(bad); i++) {
        e.msg[0] = 0;
        assert_int_equal(store_domain_allow(f->s, bad[i], NULL, NULL, false, "cli:root", &e),
                         FEDGE_EINVAL);
        assert_non_null(strstr(e.msg, "domain"));
        assert_non_null(strstr(e.msg, "expected"));
    }
    char longlabel[80];
    memset(longlabel, 'a', 64);
    strcpy(longlabel + 64, ".com");
    assert_int_equal(store_domain_allow(f->s, longlabel, NULL, NULL, false, "cli:root", &e),
                     FEDGE_EINVAL);
    assert_int_equal(store_domain_allow(f->s, "ok.com", "bad fqdn", NULL, false, "cli:root", &e),
                     FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "proxy-fqdn"));
    assert_int_equal(store_domain_allow(f->s, "ok.com", NULL, "two\nlines", false, "cli:root", &e),
                     FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "comment"));
    assert_int_equal(store_domain_allow(f->s, "ok.com", NULL, NULL, false, "", &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "actor"));

    char out[400];
    assert_int_equal(store_check_user("user", "sip:Alice@Contoso.COM", out, sizeof(out), &e), 0);
    assert_string_equal(out, "alice@contoso.com");
    assert_int_equal(store_check_user("user", "alice", out, sizeof(out), &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "user@domain"));
    assert_int_equal(store_check_user("user", "a<b@contoso.com", out, sizeof(out), &e),
                     FEDGE_EINVAL);
    assert_int_equal(store_check_scope("scope", "Site:EMEA", out, sizeof(out), &e), 0);
    assert_string_equal(out, "site:emea");
    assert_int_equal(store_check_scope("scope", "site:", out, sizeof(out), &e), FEDGE_EINVAL);
    assert_int_equal(store_check_scope("scope", "a:b", out, sizeof(out), &e), FEDGE_EINVAL);
    assert_int_equal(
        store_check_hostport("default-route", "[2001:db8::1]:5061", out, sizeof(out), &e), 0);
    assert_int_equal(store_check_hostport("default-route", "x.com:0", out, sizeof(out), &e),
                     FEDGE_EINVAL);
    assert_int_equal(store_check_hostport("default-route", "Localhost:5061", out, sizeof(out), &e),
                     0);
    assert_string_equal(out, "localhost:5061");
    bool b;
    assert_int_equal(store_check_bool("--discovery", "maybe", &b, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "--discovery"));
    assert_non_null(strstr(e.msg, "on or off"));
    uint32_t u;
    assert_int_equal(store_check_uint("n", "12x", 1, 100, &u, &e), FEDGE_EINVAL);
    assert_int_equal(store_check_uint("n", "99999999999", 1, 100, &u, &e), FEDGE_EINVAL);
    assert_int_equal(store_check_uint("n", "100", 1, 100, &u, &e), 0);
    assert_int_equal(u, 100);
}

/* ---- providers ---- */

static void test_providers(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    const char *d1[] = {"Hosted.com", "hosted2.com"};
    store_provider_in_t p = {
        "Hoster", "sip.hoster.com", STORE_PROVIDER_HOSTING, STORE_VERIFY_ALWAYS_VERIFIED, true, d1,
        2};
    OK(store_provider_add(f->s, &p, "cli:root", err));
    assert_int_equal(store_provider_add(f->s, &p, "cli:root", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "exists"));
    const char *d2[] = {"hosted.com"};
    store_provider_in_t q = {
        "other", "SIP.HOSTER.COM", STORE_PROVIDER_PUBLIC, STORE_VERIFY_USE_SOURCE, true, d2, 1};
    assert_int_equal(store_provider_add(f->s, &q, "cli:root", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "proxy-fqdn"));
    q.proxy_fqdn = "fed.other.com";
    assert_int_equal(store_provider_add(f->s, &q, "cli:root", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "already served by provider hoster"));
    const char *d3[] = {"im.other.com"};
    q.domains = d3;
    OK(store_provider_add(f->s, &q, "cli:root", err));

    store_snapshot_t *snap = snap_of(f->s);
    assert_int_equal(snap->n_providers, 2);
    const store_provider_t *h = store_snapshot_provider_for(snap, FEDGE_STR_LIT("HOSTED2.com"));
    assert_non_null(h);
    assert_string_equal(h->name, "hoster");
    assert_int_equal(h->n_domains, 2);
    assert_string_equal(h->domains[0], "hosted.com");
    assert_ptr_equal(store_snapshot_provider_by_fqdn(snap, FEDGE_STR_LIT("sip.hoster.com")), h);
    const store_provider_t *o = store_snapshot_provider_for(snap, FEDGE_STR_LIT("im.other.com"));
    assert_int_equal(o->kind, STORE_PROVIDER_PUBLIC);
    assert_int_equal(o->verification, STORE_VERIFY_USE_SOURCE);
    store_snapshot_unref(snap);

    const char *d4[] = {"hosted3.com"};
    store_provider_patch_t patch = {NULL, -1, STORE_VERIFY_ALWAYS_UNVERIFIED, 0, d4, 1};
    OK(store_provider_set(f->s, "hoster", &patch, "cli:root", err));
    store_provider_patch_t none = {NULL, -1, -1, -1, NULL, 0};
    assert_int_equal(store_provider_set(f->s, "nobody", &none, "cli:root", &e), FEDGE_ENOENT);
    store_provider_patch_t steal = {"fed.other.com", -1, -1, -1, NULL, 0};
    assert_int_equal(store_provider_set(f->s, "hoster", &steal, "cli:root", &e), FEDGE_EEXIST);
    snap = snap_of(f->s);
    h = store_snapshot_provider_for(snap, FEDGE_STR_LIT("hosted3.com"));
    assert_non_null(h);
    assert_false(h->enabled);
    assert_int_equal(h->verification, STORE_VERIFY_ALWAYS_UNVERIFIED);
    assert_int_equal(h->n_domains, 1);
    assert_null(store_snapshot_provider_for(snap, FEDGE_STR_LIT("hosted.com")));
    store_snapshot_unref(snap);

    OK(store_provider_remove(f->s, "hoster", "cli:root", err));
    assert_int_equal(store_provider_remove(f->s, "hoster", "cli:root", &e), FEDGE_ENOENT);
    snap = snap_of(f->s);
    assert_int_equal(snap->n_providers, 1);
    assert_null(store_snapshot_provider_for(snap, FEDGE_STR_LIT("hosted3.com")));
    store_snapshot_unref(snap);
    /* Its domains went with it: another provider may take them now. */
    const char *d5[] = {"hosted3.com"};
    store_provider_in_t r = {
        "third", "sip.third.com", STORE_PROVIDER_HOSTING, STORE_VERIFY_ALWAYS_VERIFIED, true, d5,
        1};
    OK(store_provider_add(f->s, &r, "cli:root", err));
}

/* ---- policies ---- */

static void test_policies_and_assignments(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    store_policy_patch_t g = {0, 1, -1, -1, -1};
    OK(store_policy_set(f->s, "global", &g, "cli:root", err));
    store_policy_patch_t site = {1, -1, -1, -1, -1};
    OK(store_policy_set(f->s, "site:EMEA", &site, "cli:root", err));
    store_policy_patch_t named = {1, 1, 1, 1, 1};
    OK(store_policy_set(f->s, "partners", &named, "cli:root", err));
    OK(store_policy_assign(f->s, "Alice@Contoso.com", "partners", "cli:root", err));
    assert_int_equal(store_policy_assign(f->s, "bob@contoso.com", "nosuch", "cli:root", &e),
                     FEDGE_ENOENT);
    assert_int_equal(store_policy_assign(f->s, "bob@contoso.com", "site:emea", "cli:root", &e),
                     FEDGE_EINVAL);
    assert_int_equal(store_policy_assign(f->s, "bob", "partners", "cli:root", &e), FEDGE_EINVAL);

    store_snapshot_t *snap = snap_of(f->s);
    assert_int_equal(snap->n_policies, 3);
    assert_string_equal(snap->policies[0].scope, "global");
    assert_false(snap->policies[0].federation);
    assert_true(snap->policies[0].public_im);
    assert_string_equal(snap->policies[1].scope, "site:emea");
    assert_true(snap->policies[1].federation);
    assert_false(snap->policies[1].public_im); /* new policies start off */
    assert_true(snap->policies[1].av);         /* except A/V, which only narrows */
    assert_true(snap->policies[0].av);         /* the global policy of migration 1 */
    assert_string_equal(snap->policies[2].scope, "partners");
    const store_policy_t *p = store_snapshot_user_policy(snap, FEDGE_STR_LIT("alice@contoso.com"));
    assert_non_null(p);
    assert_string_equal(p->scope, "partners");
    assert_null(store_snapshot_user_policy(snap, FEDGE_STR_LIT("bob@contoso.com")));
    store_snapshot_unref(snap);

    OK(store_policy_assign(f->s, "alice@contoso.com", "global", "cli:root", err));
    snap = snap_of(f->s);
    assert_int_equal(snap->n_assignments, 0);
    store_snapshot_unref(snap);

    /* A/V off and on again; bad values refused. */
    store_policy_patch_t noav = {-1, -1, -1, -1, 0};
    OK(store_policy_set(f->s, "partners", &noav, "cli:root", err));
    snap = snap_of(f->s);
    assert_false(store_snapshot_policy(snap, FEDGE_STR_LIT("partners"))->av);
    assert_true(store_snapshot_policy(snap, FEDGE_STR_LIT("partners"))->federation);
    store_snapshot_unref(snap);
    store_policy_patch_t bad = {-1, -1, -1, -1, 2};
    assert_int_equal(store_policy_set(f->s, "partners", &bad, "cli:root", &e), FEDGE_EINVAL);
}

/* ---- edge settings ---- */

static void test_edge_settings(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    store_setting_t kv[] = {{"discovery", "ON"},
                            {"discovered-rate", "50"},
                            {"default-route", "Clearing.Example.com:5061"},
                            {"block-subdomains", "off"}};
    OK(store_edge_set(f->s, kv, 4, "cli:root", err));
    store_snapshot_t *snap = snap_of(f->s);
    assert_true(snap->edge.discovery);
    assert_int_equal(snap->edge.discovered_rate, 50);
    assert_string_equal(snap->edge.default_route, "clearing.example.com:5061");
    assert_false(snap->edge.block_subdomains);
    assert_int_equal(snap->edge.routing, STORE_ROUTING_DNS_SRV);
    uint64_t gen = snap->generation;
    store_snapshot_unref(snap);

    /* All or nothing: one bad pair and nothing changes. */
    store_setting_t bad[] = {{"federation", "off"}, {"discovered-rate", "0"}};
    assert_int_equal(store_edge_set(f->s, bad, 2, "cli:root", &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "discovered-rate"));
    store_setting_t unknown[] = {{"colour", "blue"}};
    assert_int_equal(store_edge_set(f->s, unknown, 1, "cli:root", &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "federation, discovery"));
    /* routing default-route needs a route: clear it and try. */
    store_setting_t clear[] = {{"default-route", ""}, {"routing", "default-route"}};
    assert_int_equal(store_edge_set(f->s, clear, 2, "cli:root", &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "default-route"));
    snap = snap_of(f->s);
    assert_true(snap->edge.federation);
    assert_string_equal(snap->edge.default_route, "clearing.example.com:5061");
    assert_int_equal(snap->generation, gen);
    store_snapshot_unref(snap);
    store_setting_t route[] = {{"routing", "default-route"}};
    OK(store_edge_set(f->s, route, 1, "cli:root", err));
    snap = snap_of(f->s);
    assert_int_equal(snap->edge.routing, STORE_ROUTING_DEFAULT_ROUTE);
    assert_int_equal(snap->generation, gen + 1);
    store_snapshot_unref(snap);
}

/* ---- audit ---- */

typedef struct {
    int n;
    char lines[16][200];
} audit_rows_t;

static int audit_cb(const store_audit_t *a, void *ctx)
{
    audit_rows_t *r = ctx;
    if (r->n < 16)
        snprintf(r->lines[r->n++], 200, "%s|%s|%s|%s|%s", a->actor, a->action, a->object, a->detail,
                 a->at);
    return 0;
}

static void test_audit_entries(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    OK(store_domain_allow(f->s, "contoso.com", NULL, NULL, false, "cli:root", err));
    OK(store_domain_block(f->s, "evil.com", NULL, "admin:alice", err));
    /* A refused change leaves no audit entry. */
    assert_int_equal(store_domain_allow(f->s, "evil.com", NULL, NULL, false, "cli:root", &e),
                     FEDGE_EEXIST);
    store_setting_t kv[] = {{"discovery", "on"}};
    OK(store_edge_set(f->s, kv, 1, "admin:bob", err));
    OK(store_domain_remove(f->s, "contoso.com", "cli:root", err));
    audit_rows_t rows = {0};
    OK(store_audit_list(f->s, 100, audit_cb, &rows, err));
    assert_int_equal(rows.n, 4);
    assert_non_null(strstr(rows.lines[0], "cli:root|domain.allow|contoso.com|"));
    assert_non_null(strstr(rows.lines[1], "admin:alice|domain.block|evil.com|"));
    /* Before and after (store.h, STORE_AUDIT_ARROW). */
    assert_non_null(
        strstr(rows.lines[2], "admin:bob|edge.set|discovery|off" STORE_AUDIT_ARROW "on|"));
    assert_non_null(strstr(rows.lines[3], "cli:root|domain.remove|contoso.com|"));
    assert_non_null(strstr(rows.lines[0], "Z")); /* UTC timestamp */
    rows.n = 0;
    OK(store_audit_list(f->s, 2, audit_cb, &rows, err));
    assert_int_equal(rows.n, 2);
    assert_non_null(strstr(rows.lines[0], "edge.set"));
    /* A save of several settings logs only those that change: a value set
     * again, or a default written out, is no change. */
    store_setting_t all[] = {{"discovery", "on"},
                             {"federation", "on"},
                             {"routing", "dns-srv"},
                             {"discovered-rate", "20"},
                             {"discovered-contacts", "1000"},
                             {"outside-users", "on"}};
    OK(store_edge_set(f->s, all, 6, "admin:bob", err));
    rows.n = 0;
    OK(store_audit_list(f->s, 1, audit_cb, &rows, err));
    assert_non_null(
        strstr(rows.lines[0], "admin:bob|edge.set|outside-users|off" STORE_AUDIT_ARROW "on|"));
    rows.n = 0;
    OK(store_audit_list(f->s, 100, audit_cb, &rows, err));
    assert_int_equal(rows.n, 5);
}

/* ---- snapshots ---- */

static void test_snapshot_immutable_and_refcounted(void **state)
{
    fx_t *f = *state;
    OK(store_domain_allow(f->s, "a.com", NULL, NULL, false, "cli:root", err));
    store_snapshot_t *s1 = snap_of(f->s);
    store_snapshot_t *keep = store_snapshot_ref(s1);
    OK(store_domain_allow(f->s, "b.com", NULL, NULL, false, "cli:root", err));
    OK(store_watchlist_add(f->s, "spammy.com", 1001, "contacts limit", "server", err));
    store_snapshot_t *s2 = snap_of(f->s);
    store_snapshot_unref(s1);
    /* The old snapshot still reads as it was. */
    assert_int_equal(keep->n_allowed, 1);
    assert_null(store_snapshot_allowed(keep, FEDGE_STR_LIT("b.com")));
    assert_int_equal(s2->n_allowed, 2);
    assert_true(s2->generation > keep->generation);
    const store_watch_t *w = store_snapshot_watched(s2, FEDGE_STR_LIT("SPAMMY.com"));
    assert_non_null(w);
    assert_int_equal(w->users, 1001);
    store_snapshot_unref(keep);
    store_snapshot_unref(s2);

    fedge_err_t e;
    OK(store_watchlist_clear(f->s, "spammy.com", "cli:root", err));
    assert_int_equal(store_watchlist_clear(f->s, "spammy.com", "cli:root", &e), FEDGE_ENOENT);

    store_snapshot_t *empty = store_snapshot_empty();
    assert_int_equal(empty->generation, 0);
    assert_int_equal(empty->n_allowed, 0);
    assert_true(empty->edge.federation);
    assert_non_null(store_snapshot_policy(empty, FEDGE_STR_LIT("global")));
    assert_null(store_snapshot_allowed(empty, FEDGE_STR_LIT("a.com")));
    store_snapshot_unref(empty);
    store_snapshot_unref(NULL);
}

static void test_snapshot_many_entries(void **state)
{
    fx_t *f = *state;
    /* Enough rows to grow every vector and the arena past one chunk. */
    fedge_err_t e;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, "BEGIN", 0, 0, 0), SQLITE_OK);
    for (int i = 0; i < 3000; i++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO allowed_domain(domain, comment) VALUES('d%d.example.com', "
                 "'comment number %d')",
                 i, i);
        assert_int_equal(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK);
    }
    assert_int_equal(sqlite3_exec(db, "COMMIT", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    store_snapshot_t *snap = NULL;
    assert_int_equal(store_snapshot_load(f->s, &snap, &e), 0);
    assert_int_equal(snap->n_allowed, 3000);
    for (int i = 0; i < 3000; i += 7) {
        char d[64];
        int n = snprintf(d, sizeof(d), "D%d.Example.com", i);
        const store_allowed_t *a = store_snapshot_allowed(snap, (fedge_str_t){d, (size_t)n});
        assert_non_null(a);
        char c[64];
        snprintf(c, sizeof(c), "comment number %d", i);
        assert_string_equal(a->comment, c);
    }
    assert_null(store_snapshot_allowed(snap, FEDGE_STR_LIT("d3000.example.com")));
    store_snapshot_unref(snap);
}

/* ---- change detection ---- */

static void test_change_detection_second_connection(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    bool changed = false;
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_true(changed); /* first call */
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_false(changed);

    store_t *other;
    assert_int_equal(store_open(f->path, &other, &e), 0);
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_false(changed); /* opening is not a change */
    OK(store_domain_block(other, "evil.com", NULL, "cli:other", err));
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_true(changed);
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_false(changed);
    /* Own writes count too. */
    OK(store_domain_allow(f->s, "good.com", NULL, NULL, false, "cli:root", err));
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_true(changed);
    /* A refused change is not a change. */
    assert_int_equal(store_domain_allow(other, "evil.com", NULL, NULL, false, "cli:o", &e),
                     FEDGE_EEXIST);
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_false(changed);
    store_close(other);
}

static void test_change_detection_other_process(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    bool changed;
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_false(changed);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store_t *c;
        fedge_err_t ce;
        if (store_open(f->path, &c, &ce) != 0)
            _exit(10);
        int r = store_domain_allow(c, "child.com", NULL, NULL, false, "cli:child", &ce);
        store_close(c);
        _exit(r == 0 ? 0 : 11);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_true(changed);
    store_snapshot_t *snap = snap_of(f->s);
    assert_non_null(store_snapshot_allowed(snap, FEDGE_STR_LIT("child.com")));
    store_snapshot_unref(snap);
}

/* Two writer processes and a reader in this one, all at once. */
static void test_concurrent_writers_and_reader(void **state)
{
    fx_t *f = *state;
    enum { PER_CHILD = 40 };
    pid_t pids[2];
    for (int c = 0; c < 2; c++) {
        pids[c] = fork();
        assert_true(pids[c] >= 0);
        if (pids[c] == 0) {
            store_t *s;
            fedge_err_t ce;
            if (store_open(f->path, &s, &ce) != 0)
                _exit(10);
            for (int i = 0; i < PER_CHILD; i++) {
                char d[64];
                snprintf(d, sizeof(d), "w%d-%d.example.com", c, i);
                if (store_domain_allow(s, d, NULL, NULL, false, "cli:child", &ce) != 0) {
                    fprintf(stderr, "child %d: %s\n", c, ce.msg);
                    _exit(11);
                }
            }
            store_close(s);
            _exit(0);
        }
    }
    /* Read while they write: every snapshot is consistent (the count of
     * allowed domains equals the generation: one domain per change). */
    int loads = 0;
    size_t last = 0;
    for (;;) {
        store_snapshot_t *snap = snap_of(f->s);
        assert_int_equal((uint64_t)snap->n_allowed, snap->generation);
        assert_true(snap->n_allowed >= last);
        last = snap->n_allowed;
        store_snapshot_unref(snap);
        loads++;
        if (last == 2 * PER_CHILD)
            break;
        usleep(2000);
        if (loads > 20000)
            fail_msg("writers did not finish");
    }
    for (int c = 0; c < 2; c++) {
        int st;
        assert_int_equal(waitpid(pids[c], &st, 0), pids[c]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    audit_rows_t rows = {0};
    OK(store_audit_list(f->s, 1000, audit_cb, &rows, err));
    assert_int_equal(rows.n, 16); /* capped by the collector; there are 80 */
}

/* ---- locked, corrupt ---- */

static void test_locked_store_gives_clear_error(void **state)
{
    fx_t *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);
    fedge_err_t e;
    /* A writer waits for the busy timeout, then says what is wrong. */
    assert_int_equal(store_domain_allow(f->s, "x.com", NULL, NULL, false, "cli:root", &e),
                     FEDGE_ESTORE);
    assert_non_null(strstr(e.msg, "locked"));
    /* Readers are not blocked by a writer (WAL). */
    store_snapshot_t *snap = NULL;
    assert_int_equal(store_snapshot_load(f->s, &snap, &e), 0);
    store_snapshot_unref(snap);
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    sqlite3_close(db);
    OK(store_domain_allow(f->s, "x.com", NULL, NULL, false, "cli:root", err));
}

static void test_corrupt_file_gives_clear_error(void **state)
{
    fx_t *f = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc("not a database "[i % 15], fp);
    fclose(fp);
    store_t *s = NULL;
    fedge_err_t e;
    assert_int_equal(store_open(path, &s, &e), FEDGE_ESTORE);
    assert_null(s);
    assert_non_null(strstr(e.msg, "not a fedge store or is corrupt"));
    assert_non_null(strstr(e.msg, "garbage.db"));

    snprintf(path, sizeof(path), "%s/no/such/dir/x.db", f->dir);
    assert_true(store_open(path, &s, &e) < 0);
    assert_non_null(strstr(e.msg, "x.db"));
}

static void test_broken_store_keeps_last_snapshot(void **state)
{
    fx_t *f = *state;
    OK(store_domain_allow(f->s, "keep.com", NULL, NULL, false, "cli:root", err));
    store_snapshot_t *good = snap_of(f->s);
    /* Someone damages the schema behind our back. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE blocked_domain", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    bool changed;
    fedge_err_t e;
    assert_int_equal(store_changed(f->s, &changed, &e), 0);
    assert_true(changed);
    store_snapshot_t *snap = good;
    assert_int_equal(store_snapshot_load(f->s, &snap, &e), FEDGE_ESTORE);
    assert_ptr_equal(snap, good); /* untouched: the caller keeps it */
    assert_non_null(strstr(e.msg, "blocked_domain"));
    assert_non_null(store_snapshot_allowed(good, FEDGE_STR_LIT("keep.com")));
    store_snapshot_unref(good);
}

/* The server loop's refresh: swaps on change, keeps the last good snapshot
 * on failure and retries until the store is readable again. */
static void test_refresh_keeps_last_good_and_retries(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    store_snapshot_t *cur = NULL;
    assert_int_equal(store_refresh(f->s, &cur, &e), 1);
    assert_non_null(cur);
    assert_int_equal(store_refresh(f->s, &cur, &e), 0);
    store_t *other;
    assert_int_equal(store_open(f->path, &other, &e), 0);
    OK(store_domain_block(other, "evil.com", NULL, "cli:other", err));
    store_snapshot_t *held = store_snapshot_ref(cur); /* in-flight work */
    assert_int_equal(store_refresh(f->s, &cur, &e), 1);
    assert_ptr_not_equal(cur, held);
    assert_non_null(store_snapshot_blocked(cur, FEDGE_STR_LIT("evil.com")));
    assert_null(store_snapshot_blocked(held, FEDGE_STR_LIT("evil.com")));
    store_snapshot_unref(held);

    /* Break the store: the change is seen, the load fails, cur stays. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE watchlist RENAME TO watchlist_old", 0, 0, 0),
                     SQLITE_OK);
    store_snapshot_t *before = cur;
    assert_int_equal(store_refresh(f->s, &cur, &e), FEDGE_ESTORE);
    assert_ptr_equal(cur, before);
    assert_int_equal(store_refresh(f->s, &cur, &e), FEDGE_ESTORE); /* retried, not forgotten */
    assert_ptr_equal(cur, before);
    /* Repaired: the next refresh loads it without any further write. */
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE watchlist_old RENAME TO watchlist", 0, 0, 0),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_refresh(f->s, &cur, &e), 1);
    assert_int_equal(store_refresh(f->s, &cur, &e), 0);
    store_snapshot_unref(cur);
    store_close(other);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_migrations_from_empty),
        T(test_newer_schema_refused),
        T(test_domains_crud_and_normalisation),
        T(test_allowed_blocked_conflict),
        T(test_validation_names_field),
        T(test_providers),
        T(test_policies_and_assignments),
        T(test_edge_settings),
        T(test_audit_entries),
        T(test_snapshot_immutable_and_refcounted),
        T(test_snapshot_many_entries),
        T(test_change_detection_second_connection),
        T(test_change_detection_other_process),
        T(test_concurrent_writers_and_reader),
        T(test_locked_store_gives_clear_error),
        T(test_corrupt_file_gives_clear_error),
        T(test_broken_store_keeps_last_snapshot),
        T(test_refresh_keeps_last_good_and_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
