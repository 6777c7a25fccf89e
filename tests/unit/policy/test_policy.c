/* test_policy.c — the federation decision matrix (type × direction ×
 * allowed/blocked/unknown with discovery on and off/provider enabled and
 * disabled/policy on and off/spoofed From/certificate not matching), with
 * expected status and diagnostic ID; DNS verification, trust header,
 * diagnostics table and header formatting. Snapshots come from a real
 * store in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

static char tmpdir[64];
static store_t *st;
static store_snapshot_t *snap_off;   /* discovery off */
static store_snapshot_t *snap_on;    /* discovery on */
static store_snapshot_t *snap_nofed; /* federation off */
static store_snapshot_t *snap_route; /* routing default-route */
static store_snapshot_t *snap_nosub; /* block-subdomains off, discovery on */

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

static void set(const char *k, const char *v)
{
    store_setting_t kv[] = {{k, v}};
    OK(store_edge_set(st, kv, 1, "test", err));
}

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/fedge-policy-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/fedge.db", tmpdir);
    fedge_err_t e;
    if (store_open(path, &st, &e) != 0)
        fail_msg("%s", e.msg);
    OK(store_domain_allow(st, "fabrikam.test", "edge.fabrikam.test", NULL, false, "test", err));
    OK(store_domain_allow(st, "northwind.test", NULL, NULL, true, "test", err));
    OK(store_domain_block(st, "evil.test", NULL, "test", err));
    const char *hd[] = {"hosted.test"};
    store_provider_in_t hp = {
        "hoster", "sip.hoster.test", STORE_PROVIDER_HOSTING, STORE_VERIFY_ALWAYS_VERIFIED, true, hd,
        1};
    OK(store_provider_add(st, &hp, "test", err));
    const char *pd[] = {"pubim.test"};
    store_provider_in_t pp = {
        "pubim", "fed.pubim.test", STORE_PROVIDER_PUBLIC, STORE_VERIFY_ALWAYS_UNVERIFIED, true, pd,
        1};
    OK(store_provider_add(st, &pp, "test", err));
    const char *od[] = {"old.test"};
    store_provider_in_t op = {
        "oldprov", "sip.old.test", STORE_PROVIDER_HOSTING, STORE_VERIFY_ALWAYS_VERIFIED, false, od,
        1};
    OK(store_provider_add(st, &op, "test", err));
    const char *sd[] = {"src.test"};
    store_provider_in_t sp = {
        "srcprov", "sip.src.test", STORE_PROVIDER_HOSTING, STORE_VERIFY_USE_SOURCE, true, sd, 1};
    OK(store_provider_add(st, &sp, "test", err));
    store_policy_patch_t g = {1, 1, 0, 0, 1};
    OK(store_policy_set(st, "global", &g, "test", err));
    store_policy_patch_t nofed = {0, 0, 0, 0, 1};
    OK(store_policy_set(st, "nofed", &nofed, "test", err));
    store_policy_patch_t fedok = {1, 0, 0, 0, 1};
    OK(store_policy_set(st, "fedok", &fedok, "test", err));
    store_policy_patch_t emea = {0, 1, 0, 0, 1};
    OK(store_policy_set(st, "site:emea", &emea, "test", err));
    OK(store_policy_assign(st, "carol@contoso.test", "nofed", "test", err));
    OK(store_policy_assign(st, "dave@contoso.test", "fedok", "test", err));
    store_policy_patch_t imonly = {1, 1, 0, 0, 0};
    OK(store_policy_set(st, "imonly", &imonly, "test", err));
    OK(store_policy_assign(st, "erin@contoso.test", "imonly", "test", err));
    snap_off = load();
    set("discovery", "on");
    snap_on = load();
    set("block-subdomains", "off");
    snap_nosub = load();
    set("block-subdomains", "on");
    set("discovery", "off");
    set("federation", "off");
    snap_nofed = load();
    set("federation", "on");
    store_setting_t kv[] = {{"default-route", "clearing.example.net:5061"},
                            {"routing", "default-route"}};
    OK(store_edge_set(st, kv, 2, "test", err));
    snap_route = load();
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    store_snapshot_unref(snap_off);
    store_snapshot_unref(snap_on);
    store_snapshot_unref(snap_nofed);
    store_snapshot_unref(snap_route);
    store_snapshot_unref(snap_nosub);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    (void)state;
    return system(cmd) == 0 ? 0 : -1;
}

static const char *const local[] = {"contoso.test", "contoso-sales.test"};

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, s ? strlen(s) : 0};
}

/* An input: "user@domain" strings; peer: one dNSName or NULL. */
static policy_input_t mk(policy_dir_t dir, const char *from, const char *to, const char **peer,
                         policy_dns_t dns)
{
    policy_input_t in = {0};
    in.dir = dir;
    in.peer_verified = true;
    if (peer && *peer) {
        in.peer_dns = peer;
        in.n_peer_dns = 1;
    }
    in.dns = dns;
    in.source_verified = -1;
    const char *at = strchr(from, '@');
    in.from_user = (fedge_str_t){from, at ? (size_t)(at - from) : 0};
    in.from_domain = S(at ? at + 1 : from);
    at = strchr(to, '@');
    in.to_user = (fedge_str_t){to, at ? (size_t)(at - to) : 0};
    in.to_domain = S(at ? at + 1 : to);
    in.local_domains = local;
    in.n_local_domains = 2;
    return in;
}

typedef struct {
    const char *name;
    store_snapshot_t **snap;
    policy_dir_t dir;
    const char *from, *to, *peer;
    policy_dns_t dns;
    policy_outcome_t outcome;
    int status, diag;
    policy_fed_t type;
} row_t;

#define IN POLICY_INBOUND
#define OUT POLICY_OUTBOUND
#define DU POLICY_DNS_UNKNOWN
#define DV POLICY_DNS_VERIFIED
#define DN POLICY_DNS_NOT_VERIFIED
#define DE POLICY_DNS_ERROR
#define A POLICY_ALLOW
#define R POLICY_REJECT
#define ND POLICY_NEED_DNS

static const row_t matrix[] = {
    /* ---- inbound: allowed partner server ---- */
    {"in partner server, cert ok", &snap_off, IN, "x@fabrikam.test", "bob@contoso.test",
     "edge.fabrikam.test", DU, A, 0, 0, POLICY_FED_PARTNER_SERVER},
    {"in partner server, cert names another host", &snap_off, IN, "x@fabrikam.test",
     "bob@contoso.test", "sip.fabrikam.test", DV, R, 403, 1010, POLICY_FED_PARTNER_SERVER},
    {"in partner server, recipient policy off", &snap_off, IN, "x@fabrikam.test",
     "carol@contoso.test", "edge.fabrikam.test", DU, R, 403, 19005, POLICY_FED_PARTNER_SERVER},
    {"in partner server, federation off", &snap_nofed, IN, "x@fabrikam.test", "bob@contoso.test",
     "edge.fabrikam.test", DU, R, 403, 1027, 0},
    /* ---- inbound: allowed domain ---- */
    {"in allowed domain, dns unknown", &snap_off, IN, "y@northwind.test", "bob@contoso.test",
     "edge.northwind.test", DU, ND, 0, 0, POLICY_FED_ALLOWED_DOMAIN},
    {"in allowed domain, verified", &snap_off, IN, "y@northwind.test", "bob@contoso.test",
     "edge.northwind.test", DV, A, 0, 0, POLICY_FED_ALLOWED_DOMAIN},
    {"in allowed domain, not verified", &snap_off, IN, "y@northwind.test", "bob@contoso.test",
     "edge.northwind.test", DN, R, 403, 1009, POLICY_FED_ALLOWED_DOMAIN},
    {"in allowed domain, dns error", &snap_off, IN, "y@northwind.test", "bob@contoso.test",
     "edge.northwind.test", DE, R, 504, 19012, POLICY_FED_ALLOWED_DOMAIN},
    {"in allowed domain, recipient policy off", &snap_off, IN, "y@northwind.test",
     "carol@contoso.test", "edge.northwind.test", DV, R, 403, 19005, POLICY_FED_ALLOWED_DOMAIN},
    /* ---- inbound: blocked ---- */
    {"in blocked, discovery off", &snap_off, IN, "z@evil.test", "bob@contoso.test",
     "edge.evil.test", DV, R, 403, 1012, 0},
    {"in blocked, discovery on", &snap_on, IN, "z@EVIL.test", "bob@contoso.test", "edge.evil.test",
     DV, R, 403, 1012, 0},
    {"in blocked subdomain", &snap_on, IN, "z@sub.evil.test", "bob@contoso.test",
     "edge.sub.evil.test", DV, R, 403, 1012, 0},
    {"in subdomain, subdomain blocking off", &snap_nosub, IN, "z@sub.evil.test", "bob@contoso.test",
     "edge.sub.evil.test", DV, A, 0, 0, POLICY_FED_DISCOVERED},
    /* ---- inbound: unknown domain ---- */
    {"in unknown, discovery off", &snap_off, IN, "u@unknown.test", "bob@contoso.test",
     "edge.unknown.test", DV, R, 403, 1014, 0},
    {"in unknown, discovery on, dns unknown", &snap_on, IN, "u@unknown.test", "bob@contoso.test",
     "edge.unknown.test", DU, ND, 0, 0, POLICY_FED_DISCOVERED},
    {"in unknown, discovery on, verified", &snap_on, IN, "u@unknown.test", "bob@contoso.test",
     "edge.unknown.test", DV, A, 0, 0, POLICY_FED_DISCOVERED},
    {"in unknown, discovery on, not verified", &snap_on, IN, "u@unknown.test", "bob@contoso.test",
     "edge.unknown.test", DN, R, 403, 1009, POLICY_FED_DISCOVERED},
    {"in unknown, discovery on, recipient policy off", &snap_on, IN, "u@unknown.test",
     "carol@contoso.test", "edge.unknown.test", DV, R, 403, 19005, POLICY_FED_DISCOVERED},
    /* ---- inbound: providers ---- */
    {"in hosting provider", &snap_off, IN, "h@hosted.test", "bob@contoso.test", "sip.hoster.test",
     DU, A, 0, 0, POLICY_FED_PROVIDER_HOSTING},
    {"in hosting provider, cert not matching", &snap_off, IN, "h@hosted.test", "bob@contoso.test",
     "edge.hosted.test", DV, R, 403, 1010, POLICY_FED_PROVIDER_HOSTING},
    {"in public provider", &snap_off, IN, "p@pubim.test", "bob@contoso.test", "fed.pubim.test", DU,
     A, 0, 0, POLICY_FED_PROVIDER_PUBLIC},
    {"in public provider, recipient public off", &snap_off, IN, "p@pubim.test", "dave@contoso.test",
     "fed.pubim.test", DU, R, 403, 19006, POLICY_FED_PROVIDER_PUBLIC},
    {"in disabled provider, discovery off", &snap_off, IN, "o@old.test", "bob@contoso.test",
     "sip.old.test", DU, R, 403, 19003, 0},
    {"in disabled provider, discovery on: discovered", &snap_on, IN, "o@old.test",
     "bob@contoso.test", "edge.old.test", DU, ND, 0, 0, POLICY_FED_DISCOVERED},
    {"in provider speaks for foreign domain", &snap_off, IN, "u@unknown.test", "bob@contoso.test",
     "sip.hoster.test", DU, R, 403, 19002, 0},
    {"in partner server speaks for foreign domain, discovery on, not verified", &snap_on, IN,
     "u@unknown.test", "bob@contoso.test", "edge.fabrikam.test", DN, R, 403, 19002,
     POLICY_FED_DISCOVERED},
    {"in partner server speaks for allowed domain, not its SRV edge", &snap_off, IN,
     "y@northwind.test", "bob@contoso.test", "edge.fabrikam.test", DN, R, 403, 1009,
     POLICY_FED_ALLOWED_DOMAIN},
    /* ---- inbound: spoofing, addressing ---- */
    {"in spoofed local From", &snap_on, IN, "alice@contoso.test", "bob@contoso.test",
     "edge.fabrikam.test", DV, R, 403, 19001, 0},
    {"in spoofed local From, other case", &snap_off, IN, "alice@Contoso-Sales.TEST",
     "bob@contoso.test", "edge.fabrikam.test", DV, R, 403, 19001, 0},
    {"in target not local", &snap_off, IN, "x@fabrikam.test", "bob@elsewhere.test",
     "edge.fabrikam.test", DV, R, 403, 19004, 0},
    {"in empty From domain", &snap_off, IN, "x@", "bob@contoso.test", "edge.fabrikam.test", DV, R,
     400, 19011, 0},
    {"in From domain with bad bytes", &snap_off, IN, "x@fab\"rikam.test", "bob@contoso.test",
     "edge.fabrikam.test", DV, R, 400, 19011, 0},
    /* ---- outbound ---- */
    {"out partner server", &snap_off, OUT, "alice@contoso.test", "x@fabrikam.test", NULL, DU, A, 0,
     0, POLICY_FED_PARTNER_SERVER},
    {"out allowed domain", &snap_off, OUT, "alice@contoso.test", "y@northwind.test", NULL, DU, A, 0,
     0, POLICY_FED_ALLOWED_DOMAIN},
    {"out hosting provider", &snap_off, OUT, "alice@contoso.test", "h@hosted.test", NULL, DU, A, 0,
     0, POLICY_FED_PROVIDER_HOSTING},
    {"out public provider", &snap_off, OUT, "alice@contoso.test", "p@pubim.test", NULL, DU, A, 0, 0,
     POLICY_FED_PROVIDER_PUBLIC},
    {"out blocked", &snap_on, OUT, "alice@contoso.test", "z@evil.test", NULL, DU, R, 403, 1012, 0},
    {"out blocked subdomain", &snap_off, OUT, "alice@contoso.test", "z@a.b.evil.test", NULL, DU, R,
     403, 1012, 0},
    {"out unknown, discovery off", &snap_off, OUT, "alice@contoso.test", "u@unknown.test", NULL, DU,
     R, 403, 1014, 0},
    {"out unknown, discovery on", &snap_on, OUT, "alice@contoso.test", "u@unknown.test", NULL, DU,
     A, 0, 0, POLICY_FED_DISCOVERED},
    {"out disabled provider, discovery off", &snap_off, OUT, "alice@contoso.test", "o@old.test",
     NULL, DU, R, 403, 19003, 0},
    {"out disabled provider, discovery on", &snap_on, OUT, "alice@contoso.test", "o@old.test", NULL,
     DU, A, 0, 0, POLICY_FED_DISCOVERED},
    {"out sender policy off (named)", &snap_off, OUT, "carol@contoso.test", "x@fabrikam.test", NULL,
     DU, R, 403, 1002, POLICY_FED_PARTNER_SERVER},
    {"out sender public off", &snap_off, OUT, "dave@contoso.test", "p@pubim.test", NULL, DU, R, 403,
     1005, POLICY_FED_PROVIDER_PUBLIC},
    {"out From not local (relay)", &snap_off, OUT, "mallory@fabrikam.test", "x@northwind.test",
     NULL, DU, R, 403, 19007, 0},
    {"out federation off", &snap_nofed, OUT, "alice@contoso.test", "x@fabrikam.test", NULL, DU, R,
     403, 1027, 0},
    {"out no target domain", &snap_off, OUT, "alice@contoso.test", "nobody", NULL, DU, R, 400,
     19011, 0},
};

static void test_matrix(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(matrix); i++) {
        const row_t *r = &matrix[i];
        const char *peer[] = {r->peer};
        policy_input_t in = mk(r->dir, r->from, r->to, r->peer ? peer : NULL, r->dns);
        policy_verdict_t v;
        policy_decide(*r->snap, &in, &v);
        bool ok = v.outcome == r->outcome && v.type == r->type;
        if (r->outcome == POLICY_REJECT)
            ok = ok && v.status == r->status && v.diag == r->diag && v.reason &&
                 policy_diag(v.diag) && !strcmp(v.reason, policy_diag(v.diag)->reason);
        if (!ok) {
            print_error("row '%s': got outcome %d type %d status %d diag %d\n", r->name, v.outcome,
                        v.type, v.status, v.diag);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_peer_unverified(void **state)
{
    (void)state;
    const char *peer[] = {"edge.fabrikam.test"};
    policy_input_t in = mk(IN, "x@fabrikam.test", "bob@contoso.test", peer, DV);
    in.peer_verified = false;
    policy_verdict_t v;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_REJECT);
    assert_int_equal(v.diag, 19008);
    assert_int_equal(v.status, 403);
}

static void test_inbound_annotations(void **state)
{
    (void)state;
    policy_verdict_t v;
    const char *fab[] = {"edge.fabrikam.test"};
    policy_input_t in = mk(IN, "x@fabrikam.test", "bob@contoso.test", fab, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    assert_int_equal(v.source_type, POLICY_SRC_DIRECT_PARTNER);
    assert_true(v.verified_user);
    assert_false(v.public_cloud);
    assert_false(v.throttle);

    /* The partner FQDN may come as a SAN URI host or a CN too. */
    in.peer_dns = NULL;
    in.n_peer_dns = 0;
    const char *sip[] = {"edge.fabrikam.test"};
    in.peer_sip = sip;
    in.n_peer_sip = 1;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    in.n_peer_sip = 0;
    in.peer_cn = "edge.fabrikam.test";
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    /* A wildcard never matches (RFC 5922 §7.2). */
    in.peer_cn = NULL;
    const char *wild[] = {"*.fabrikam.test"};
    in.peer_dns = wild;
    in.n_peer_dns = 1;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_REJECT);
    assert_int_equal(v.diag, 1010);

    const char *nw[] = {"edge.northwind.test"};
    in = mk(IN, "y@northwind.test", "bob@contoso.test", nw, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_NEED_DNS);
    assert_int_equal(v.dns_domain.len, strlen("northwind.test"));
    assert_memory_equal(v.dns_domain.s, "northwind.test", v.dns_domain.len);
    in.dns = DV;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.source_type, POLICY_SRC_AUTO_FEDERATION);
    assert_true(v.monitor);

    const char *un[] = {"edge.unknown.test"};
    in = mk(IN, "u@unknown.test", "bob@contoso.test", un, DV);
    policy_decide(snap_on, &in, &v);
    assert_int_equal(v.source_type, POLICY_SRC_AUTO_FEDERATION);
    assert_true(v.throttle);

    const char *pub[] = {"fed.pubim.test"};
    in = mk(IN, "p@pubim.test", "bob@contoso.test", pub, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.source_type, POLICY_SRC_AUTHORIZED_SERVER);
    assert_false(v.verified_user); /* always-unverified */
    assert_true(v.public_cloud);
    assert_string_equal(v.remote_fqdn, "fed.pubim.test");

    const char *src[] = {"sip.src.test"};
    in = mk(IN, "s@src.test", "bob@contoso.test", src, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    assert_false(v.verified_user); /* use-source, nothing asserted */
    in.source_verified = 1;
    policy_decide(snap_off, &in, &v);
    assert_true(v.verified_user);
    assert_null(v.remote_fqdn);
}

static void test_outbound_routes(void **state)
{
    (void)state;
    policy_verdict_t v;
    policy_input_t in = mk(OUT, "alice@contoso.test", "x@fabrikam.test", NULL, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.route, POLICY_ROUTE_FQDN);
    assert_string_equal(v.route_host, "edge.fabrikam.test");
    assert_string_equal(v.expect_peer, "edge.fabrikam.test");
    assert_true(v.mark_verifiable);

    in = mk(OUT, "alice@contoso.test", "y@northwind.test", NULL, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.route, POLICY_ROUTE_SRV);
    assert_null(v.route_host);
    assert_null(v.expect_peer);
    assert_true(v.monitor);

    in = mk(OUT, "alice@contoso.test", "h@hosted.test", NULL, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.route, POLICY_ROUTE_FQDN);
    assert_string_equal(v.route_host, "sip.hoster.test");

    in = mk(OUT, "alice@contoso.test", "u@unknown.test", NULL, DU);
    policy_decide(snap_on, &in, &v);
    assert_int_equal(v.route, POLICY_ROUTE_SRV);

    /* default-route sends every federated request to the one route... */
    in = mk(OUT, "alice@contoso.test", "x@fabrikam.test", NULL, DU);
    policy_decide(snap_route, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    assert_int_equal(v.route, POLICY_ROUTE_DEFAULT);
    assert_string_equal(v.route_host, "clearing.example.net:5061");
    /* ...but policy still applies. */
    in = mk(OUT, "alice@contoso.test", "z@evil.test", NULL, DU);
    policy_decide(snap_route, &in, &v);
    assert_int_equal(v.diag, 1012);
}

static void test_most_specific_policy(void **state)
{
    (void)state;
    /* bob: global (federation on). In site emea: site policy (off). */
    const store_policy_t *p = policy_for_user(snap_off, S("bob"), S("contoso.test"), S(""));
    assert_string_equal(p->scope, "global");
    p = policy_for_user(snap_off, S("bob"), S("contoso.test"), S("emea"));
    assert_string_equal(p->scope, "site:emea");
    p = policy_for_user(snap_off, S("bob"), S("contoso.test"), S("apac")); /* no such site */
    assert_string_equal(p->scope, "global");
    /* dave has a named policy: it wins over the site. */
    p = policy_for_user(snap_off, S("Dave"), S("CONTOSO.test"), S("emea"));
    assert_string_equal(p->scope, "fedok");

    policy_verdict_t v;
    const char *fab[] = {"edge.fabrikam.test"};
    policy_input_t in = mk(IN, "x@fabrikam.test", "bob@contoso.test", fab, DU);
    in.site = S("emea");
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.diag, 19005);
    in = mk(IN, "x@fabrikam.test", "dave@contoso.test", fab, DU);
    in.site = S("emea");
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    in = mk(OUT, "bob@contoso.test", "x@fabrikam.test", NULL, DU);
    in.site = S("emea");
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.diag, 1002);
}

/* The A/V switch: a call (av) to or from a user whose policy has A/V off
 * is refused with 488 and 19019 (inbound) / 19018 (outbound); the same
 * user's IM (av false) passes; a user with A/V on calls. */
static void test_av_gate(void **state)
{
    (void)state;
    const store_policy_t *p = policy_for_user(snap_off, S("erin"), S("contoso.test"), S(""));
    assert_string_equal(p->scope, "imonly");
    assert_false(p->av);
    assert_true(policy_for_user(snap_off, S("bob"), S("contoso.test"), S(""))->av);

    policy_verdict_t v;
    const char *fab[] = {"edge.fabrikam.test"};
    policy_input_t in = mk(IN, "x@fabrikam.test", "erin@contoso.test", fab, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    in.av = true;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_REJECT);
    assert_int_equal(v.status, 488);
    assert_int_equal(v.diag, POLICY_DIAG_RCPT_NO_AV);
    in = mk(IN, "x@fabrikam.test", "bob@contoso.test", fab, DU);
    in.av = true;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);

    in = mk(OUT, "erin@contoso.test", "x@fabrikam.test", NULL, DU);
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_ALLOW);
    in.av = true;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.outcome, POLICY_REJECT);
    assert_int_equal(v.status, 488);
    assert_int_equal(v.diag, POLICY_DIAG_USER_NO_AV);
    /* Federation off still says so first: the A/V gate is no excuse. */
    in = mk(OUT, "carol@contoso.test", "x@fabrikam.test", NULL, DU);
    in.av = true;
    policy_decide(snap_off, &in, &v);
    assert_int_equal(v.diag, 1002);
}

static void test_wants_av(void **state)
{
    (void)state;
    const char *audio = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                        "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    const char *video = "v=0\r\nt=0 0\r\nm=message 5060 sip null\r\nm=VIDEO 4002 RTP/AVP 96\n";
    const char *im = "v=0\r\no=- 0 0 IN IP4 10.0.0.1\r\ns=session\r\nt=0 0\r\n"
                     "m=message 5060 sip null\r\na=accept-types:text/plain\r\n";
    const char *tricky = "v=0\r\ns=m=audio\r\na=x:m=video\r\nm=application 9 TCP/BFCP *\r\n";
    assert_true(policy_wants_av(true, S(audio)));
    assert_true(policy_wants_av(true, S(video)));
    assert_false(policy_wants_av(true, S(im)));
    assert_false(policy_wants_av(true, S(tricky)));
    assert_true(policy_wants_av(true, S(""))); /* late offer */
    assert_false(policy_wants_av(false, S(audio)));
    assert_false(policy_wants_av(false, S("")));
}

static void test_edge_verified(void **state)
{
    (void)state;
    const char *peer[] = {"edge.northwind.test"};
    policy_input_t in = mk(IN, "y@northwind.test", "bob@contoso.test", peer, DU);
    const char *reason = "x";
    const char *t1[] = {"sip.northwind.test", "edge.northwind.test."};
    assert_int_equal(policy_edge_verified(S("northwind.test"), t1, 2, &in, &reason),
                     POLICY_DNS_VERIFIED);
    assert_null(reason);
    /* The SRV target must lie in the domain itself. */
    const char *peer2[] = {"edge.hostile.test"};
    in.peer_dns = peer2;
    const char *t2[] = {"edge.hostile.test"};
    assert_int_equal(policy_edge_verified(S("northwind.test"), t2, 1, &in, &reason),
                     POLICY_DNS_NOT_VERIFIED);
    assert_non_null(strstr(reason, "in the domain"));
    /* The peer must be named by a target. */
    in.peer_dns = peer;
    const char *t3[] = {"other.northwind.test"};
    assert_int_equal(policy_edge_verified(S("northwind.test"), t3, 1, &in, &reason),
                     POLICY_DNS_NOT_VERIFIED);
    assert_non_null(strstr(reason, "certificate"));
    assert_int_equal(policy_edge_verified(S("northwind.test"), NULL, 0, &in, &reason),
                     POLICY_DNS_NOT_VERIFIED);
    assert_non_null(strstr(reason, "no SRV"));
    /* "xnorthwind.test" is not inside northwind.test. */
    const char *peer3[] = {"xnorthwind.test"};
    in.peer_dns = peer3;
    const char *t4[] = {"xnorthwind.test"};
    assert_int_equal(policy_edge_verified(S("northwind.test"), t4, 1, &in, &reason),
                     POLICY_DNS_NOT_VERIFIED);
    /* The apex itself may be the edge. */
    const char *peer4[] = {"northwind.test"};
    in.peer_dns = peer4;
    const char *t5[] = {"NorthWind.test"};
    assert_int_equal(policy_edge_verified(S("northwind.test"), t5, 1, &in, &reason),
                     POLICY_DNS_VERIFIED);
}

static void test_trust_header(void **state)
{
    (void)state;
    policy_verdict_t v = {0};
    v.source_type = POLICY_SRC_AUTO_FEDERATION;
    v.verified_user = true;
    char buf[256];
    int n = policy_format_trust(&v, S("edge.contoso.test"), buf, sizeof(buf));
    assert_string_equal(buf, "ms-source-type=AutoFederation;ms-ep-fqdn=edge.contoso.test;"
                             "ms-source-verified-user=verified;ms-source-network=federation");
    assert_int_equal(n, (int)strlen(buf));
    v.source_type = POLICY_SRC_AUTHORIZED_SERVER;
    v.verified_user = false;
    v.public_cloud = true;
    v.remote_fqdn = "fed.pubim.test";
    policy_format_trust(&v, S("edge.contoso.test"), buf, sizeof(buf));
    assert_string_equal(buf, "ms-source-type=AuthorizedServer;ms-ep-fqdn=edge.contoso.test;"
                             "ms-source-verified-user=unverified;ms-source-network=publiccloud;"
                             "ms-remote-fqdn=fed.pubim.test");
    v = (policy_verdict_t){.source_type = POLICY_SRC_DIRECT_PARTNER, .verified_user = true};
    policy_format_trust(&v, S("e.c.test"), buf, sizeof(buf));
    assert_non_null(strstr(buf, "ms-source-type=DirectPartner;"));
    v.source_type = POLICY_SRC_EDGE_GENERATED;
    policy_format_trust(&v, S("e.c.test"), buf, sizeof(buf));
    assert_non_null(strstr(buf, "ms-source-type=EdgeProxyGenerated;"));
    assert_int_equal(policy_format_trust(&v, S("e.c.test"), buf, 20), FEDGE_ENOSPC);
    assert_string_equal(buf, "");

    assert_true(policy_is_trust_header(S("ms-edge-proxy-message-trust")));
    assert_true(policy_is_trust_header(S("MS-Edge-Proxy-Message-Trust")));
    assert_true(policy_is_trust_header(S("ms-edge-proxy-message-trust \t ")));
    assert_false(policy_is_trust_header(S("ms-edge-proxy-message-trus")));
    assert_false(policy_is_trust_header(S("x-ms-edge-proxy-message-trust")));
    assert_false(policy_is_trust_header(S("")));
}

static void test_diag_format(void **state)
{
    (void)state;
    char buf[256];
    const policy_diag_t *d = policy_diag(1012);
    assert_non_null(d);
    int n = policy_format_diag(1012, d->reason, S("edge.contoso.test"), false, buf, sizeof(buf));
    assert_string_equal(buf, "1012;reason=\"Domain is blocked\";source=\"edge.contoso.test\"");
    assert_int_equal(n, (int)strlen(buf));
    policy_format_diag(1012, d->reason, S("edge.contoso.test"), true, buf, sizeof(buf));
    assert_string_equal(buf, "1012;reason=\"Domain is blocked\"");
    policy_format_diag(19001, "say \"hi\" \\ now\r\n", S("e"), true, buf, sizeof(buf));
    assert_string_equal(buf, "19001;reason=\"say \\\"hi\\\" \\\\ now\"");
    assert_int_equal(policy_format_diag(1012, d->reason, S("edge.contoso.test"), false, buf, 30),
                     FEDGE_ENOSPC);
    n = policy_format_warning(1012, d->reason, S("edge.contoso.test"), buf, sizeof(buf));
    assert_string_equal(buf, "399 edge.contoso.test \"1012 Domain is blocked\"");
    assert_int_equal(n, (int)strlen(buf));
    assert_int_equal(policy_format_warning(1012, d->reason, S("edge.contoso.test"), buf, 10),
                     FEDGE_ENOSPC);
}

/* The table is sorted, complete for what the decision emits, and mirrored
 * one-to-one in docs/diagnostics.md. */
static void test_diag_table_and_docs(void **state)
{
    (void)state;
    size_t n;
    const policy_diag_t *t = policy_diag_table(&n);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(t[i - 1].id < t[i].id);
        assert_ptr_equal(policy_diag(t[i].id), &t[i]);
        assert_true(t[i].reason[0] && t[i].cause[0] && t[i].fix[0]);
        assert_true(t[i].id < 2000 || (t[i].id >= 19000 && t[i].id < 20000));
    }
    assert_null(policy_diag(1));
    assert_null(policy_diag(19999));
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(matrix); i++)
        if (matrix[i].diag)
            assert_non_null(policy_diag(matrix[i].diag));

    FILE *fp = fopen("docs/diagnostics.md", "r");
    if (!fp)
        fail_msg("docs/diagnostics.md not found (run from the repository root)");
    static char doc[65536];
    size_t len = fread(doc, 1, sizeof(doc) - 1, fp);
    fclose(fp);
    doc[len] = 0;
    for (size_t i = 0; i < n; i++) {
        char row[512];
        if (t[i].status)
            snprintf(row, sizeof(row), "| %d | %d | %s |", t[i].id, t[i].status, t[i].reason);
        else
            snprintf(row, sizeof(row), "| %d | as received | %s |", t[i].id, t[i].reason);
        if (!strstr(doc, row))
            fail_msg("docs/diagnostics.md lacks the row starting '%s'", row);
    }
    /* And no row for an ID the code does not know. */
    size_t rows = 0;
    for (const char *p = doc; (p = strstr(p, "\n| ")); p++) {
        int id;
        if (sscanf(p + 3, "%d |", &id) == 1) {
            rows++;
            assert_non_null(policy_diag(id));
        }
    }
    assert_int_equal(rows, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_peer_unverified),
        cmocka_unit_test(test_inbound_annotations),
        cmocka_unit_test(test_outbound_routes),
        cmocka_unit_test(test_most_specific_policy),
        cmocka_unit_test(test_av_gate),
        cmocka_unit_test(test_wants_av),
        cmocka_unit_test(test_edge_verified),
        cmocka_unit_test(test_trust_header),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_diag_table_and_docs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
