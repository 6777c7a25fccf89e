/* test_outbound.c — the pure parts of src/proxy/outbound.c: the server
 * certificate rules (RFC 5922 §7.3 + the Lync rule), the failed-target skip
 * table, candidates from a route result and the Warning text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_int.h"

/* ---- certificates ---- */

typedef struct {
    const char *dns[4];
    size_t n_dns;
    const char *sip[4];
    size_t n_sip;
    const char *cn;
} names_t;

static net_peer_t peer_of(const names_t *n, bool verified)
{
    net_peer_t p;
    memset(&p, 0, sizeof(p));
    p.presented = true;
    p.verified = verified;
    p.verify_error = verified ? NULL : "certificate has expired";
    p.dns = n->dns;
    p.n_dns = n->n_dns;
    p.sip = n->sip;
    p.n_sip = n->n_sip;
    p.cn = n->cn;
    p.eku_ok = true;
    return p;
}

static proxy_expect_t expect(proxy_expect_mode_t mode, const char *domain, const char *host)
{
    proxy_expect_t x;
    memset(&x, 0, sizeof(x));
    x.mode = mode;
    snprintf(x.domain, sizeof(x.domain), "%s", domain);
    snprintf(x.host, sizeof(x.host), "%s", host);
    return x;
}

static void test_partner_rules(void **state)
{
    (void)state;
    char why[512];
    proxy_expect_t x = expect(PROXY_EXPECT_PARTNER, "fabrikam.test", "edge2.fabrikam.test");

    /* the domain as a sip: URI SAN (RFC 5922 §7.1) */
    names_t uri = {{"edge9.elsewhere.test"}, 1, {"fabrikam.test"}, 1, NULL};
    net_peer_t p = peer_of(&uri, true);
    assert_true(proxy_expect_check(&x, &p, why, sizeof(why)));
    assert_string_equal(why, "");

    /* the SRV target as a DNS SAN, the target in the domain (Lync rule) */
    names_t lync = {{"edge2.fabrikam.test"}, 1, {NULL}, 0, NULL};
    p = peer_of(&lync, true);
    assert_true(proxy_expect_check(&x, &p, why, sizeof(why)));

    /* the domain as a DNS SAN, no sip: URI at all: a domain identity */
    names_t dnsdom = {{"fabrikam.test"}, 1, {NULL}, 0, NULL};
    p = peer_of(&dnsdom, true);
    assert_true(proxy_expect_check(&x, &p, why, sizeof(why)));

    /* with a sip: URI for another domain, DNS SANs are no domain identity;
     * the target name still counts (Lync rule) only when it is the target */
    names_t other_uri = {{"fabrikam.test"}, 1, {"contoso.test"}, 1, NULL};
    p = peer_of(&other_uri, true);
    assert_false(proxy_expect_check(&x, &p, why, sizeof(why)));
    assert_string_equal(why, "certificate does not name fabrikam.test or edge2.fabrikam.test");

    /* another edge of the domain is not this target */
    names_t edge1 = {{"edge1.fabrikam.test"}, 1, {NULL}, 0, NULL};
    p = peer_of(&edge1, true);
    assert_false(proxy_expect_check(&x, &p, why, sizeof(why)));
    assert_string_equal(why, "certificate does not name fabrikam.test or edge2.fabrikam.test");

    /* no wildcards (RFC 5922 §7.2) */
    names_t wild = {{"*.fabrikam.test"}, 1, {NULL}, 0, NULL};
    p = peer_of(&wild, true);
    assert_false(proxy_expect_check(&x, &p, why, sizeof(why)));

    /* case-insensitive */
    proxy_expect_t xu = expect(PROXY_EXPECT_PARTNER, "Fabrikam.TEST", "EDGE2.fabrikam.test");
    p = peer_of(&lync, true);
    assert_true(proxy_expect_check(&xu, &p, why, sizeof(why)));

    /* CN only without any SAN */
    names_t cn = {{NULL}, 0, {NULL}, 0, "edge2.fabrikam.test"};
    p = peer_of(&cn, true);
    assert_true(proxy_expect_check(&x, &p, why, sizeof(why)));

    /* an SRV target outside the domain: its own name does not count */
    proxy_expect_t xo = expect(PROXY_EXPECT_PARTNER, "fabrikam.test", "edge.attacker.test");
    names_t att = {{"edge.attacker.test"}, 1, {NULL}, 0, NULL};
    p = peer_of(&att, true);
    assert_false(proxy_expect_check(&xo, &p, why, sizeof(why)));
    assert_string_equal(why, "certificate does not name fabrikam.test, and edge.attacker.test is "
                             "outside fabrikam.test");
    /* "evilfabrikam.test" is not below "fabrikam.test" */
    proxy_expect_t xe = expect(PROXY_EXPECT_PARTNER, "fabrikam.test", "edge.evilfabrikam.test");
    names_t evil = {{"edge.evilfabrikam.test"}, 1, {NULL}, 0, NULL};
    p = peer_of(&evil, true);
    assert_false(proxy_expect_check(&xe, &p, why, sizeof(why)));
    /* ... but such a target is fine when the certificate names the domain */
    names_t both = {{"edge.attacker.test"}, 1, {"fabrikam.test"}, 1, NULL};
    p = peer_of(&both, true);
    assert_true(proxy_expect_check(&xo, &p, why, sizeof(why)));

    /* unverified, or no certificate at all */
    p = peer_of(&uri, false);
    assert_false(proxy_expect_check(&x, &p, why, sizeof(why)));
    assert_string_equal(why, "certificate not verified: certificate has expired");
    assert_false(proxy_expect_check(&x, NULL, why, sizeof(why)));
    assert_string_equal(why, "presented no certificate");
}

static void test_other_modes(void **state)
{
    (void)state;
    char why[512];
    names_t prov = {{"sip.provider.test"}, 1, {"provider.test"}, 1, NULL};
    net_peer_t p = peer_of(&prov, true);

    proxy_expect_t n = expect(PROXY_EXPECT_NAME, "", "sip.provider.test");
    assert_true(proxy_expect_check(&n, &p, why, sizeof(why)));
    proxy_expect_t n2 = expect(PROXY_EXPECT_NAME, "", "other.provider.test");
    assert_false(proxy_expect_check(&n2, &p, why, sizeof(why)));
    assert_string_equal(why, "certificate does not name other.provider.test");

    proxy_expect_t nd = expect(PROXY_EXPECT_NAME_OR_DOMAIN, "provider.test", "pool1.provider.test");
    assert_true(proxy_expect_check(&nd, &p, why, sizeof(why)));
    proxy_expect_t nd2 = expect(PROXY_EXPECT_NAME_OR_DOMAIN, "x.test", "pool1.x.test");
    assert_false(proxy_expect_check(&nd2, &p, why, sizeof(why)));

    proxy_expect_t none = expect(PROXY_EXPECT_NONE, "", "");
    assert_true(proxy_expect_check(&none, NULL, why, sizeof(why)));

    proxy_expect_t ex = expect(PROXY_EXPECT_EXISTING, "", "127.0.0.1");
    assert_true(proxy_expect_check(&ex, &p, why, sizeof(why)));
    net_peer_t bad = peer_of(&prov, false);
    assert_false(proxy_expect_check(&ex, &bad, why, sizeof(why)));
}

/* ---- skip table ---- */

static void test_skip_table(void **state)
{
    (void)state;
    proxy__skip_t s = {0};
    assert_null(proxy__skip_find(&s, "a:5061/127.0.0.2", 0));
    proxy__skip_add(&s, "a:5061/127.0.0.2", 1000, 30000, "connection refused");
    const proxy__skip_ent_t *e = proxy__skip_find(&s, "a:5061/127.0.0.2", 1000);
    assert_non_null(e);
    assert_string_equal(e->why, "connection refused");
    assert_int_equal(e->since, 1000);
    assert_non_null(proxy__skip_find(&s, "a:5061/127.0.0.2", 30999));
    assert_null(proxy__skip_find(&s, "b:5061/127.0.0.3", 2000));
    /* expires exactly after the skip time, and is dropped */
    assert_null(proxy__skip_find(&s, "a:5061/127.0.0.2", 31000));
    assert_int_equal(s.n, 0);
    /* 0 ms: not remembered at all */
    proxy__skip_add(&s, "a:5061/127.0.0.2", 1000, 0, "x");
    assert_int_equal(s.n, 0);
    /* a second failure renews the entry */
    proxy__skip_add(&s, "a:5061/127.0.0.2", 1000, 100, "first");
    proxy__skip_add(&s, "a:5061/127.0.0.2", 1050, 100, "second");
    assert_int_equal(s.n, 1);
    e = proxy__skip_find(&s, "a:5061/127.0.0.2", 1120);
    assert_non_null(e);
    assert_string_equal(e->why, "second");
    /* bounded: beyond PROXY__SKIP_MAX the entry that ends first goes */
    char k[64];
    for (unsigned i = 0; i < PROXY__SKIP_MAX + 10; i++) {
        snprintf(k, sizeof(k), "t%u:5061/10.0.0.1", i);
        proxy__skip_add(&s, k, 2000, 10000 + i, "down");
    }
    assert_int_equal(s.n, PROXY__SKIP_MAX);
    assert_null(proxy__skip_find(&s, "t0:5061/10.0.0.1", 2001));
    snprintf(k, sizeof(k), "t%u:5061/10.0.0.1", PROXY__SKIP_MAX + 9);
    assert_non_null(proxy__skip_find(&s, k, 2001));
    proxy__skip_free(&s);
}

/* ---- candidates, failures and the Warning ---- */

static dns_addr_t v4(const char *a)
{
    dns_addr_t x;
    memset(&x, 0, sizeof(x));
    x.family = AF_INET;
    inet_pton(AF_INET, a, &x.u.v4);
    x.ttl = 60;
    return x;
}

static void test_candidates_and_warning(void **state)
{
    (void)state;
    dns_addr_t a1 = v4("127.0.0.2"), a2 = v4("127.0.0.3");
    dns_addr_t a3[2] = {v4("127.0.0.4"), v4("127.0.0.5")};
    dns_target_t ts[4] = {
        {"edge1.fabrikam.test", 5061, 10, 10, 60, DNS_OK, "", 1, &a1},
        {"edge2.fabrikam.test", 5061, 20, 10, 60, DNS_OK, "", 1, &a2},
        {"gone.fabrikam.test", 5061, 30, 10, 60, DNS_NXDOMAIN, "", 0, NULL},
        {"pool.fabrikam.test", 5062, 40, 10, 60, DNS_OK, "", 2, a3},
    };
    dns_route_result_t r = {DNS_OK, "_sipfederationtls._tcp.fabrikam.test", "", true, false, 60, 4,
                            ts};
    proxy__out_t *ob = proxy__out_new(PROXY__OUT_SRV, true, "fabrikam.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &r);
    assert_int_equal(ob->state, 2);
    assert_int_equal(ob->ncands, 5); /* one per address, one for "no address" */
    proxy__skip_t s = {0};

    const proxy__cand_t *c = proxy__out_next(ob, &s, 0);
    assert_non_null(c);
    assert_string_equal(c->host, "edge1.fabrikam.test");
    assert_string_equal(c->addr, "127.0.0.2");
    assert_int_equal(c->port, 5061);
    assert_int_equal(ob->expect.mode, PROXY_EXPECT_PARTNER);
    assert_string_equal(ob->expect.domain, "fabrikam.test");
    assert_string_equal(ob->expect.host, "edge1.fabrikam.test");
    proxy__out_fail(ob, &s, 0, 30000, "connect refused");

    c = proxy__out_next(ob, &s, 0);
    assert_string_equal(c->host, "edge2.fabrikam.test");
    assert_string_equal(ob->expect.host, "edge2.fabrikam.test");
    proxy__out_fail(ob, &s, 0, 30000,
                    "certificate does not name fabrikam.test or edge2.fabrikam.test");
    c = proxy__out_next(ob, &s, 0); /* gone: noted, then the pool */
    assert_string_equal(c->host, "pool.fabrikam.test");
    assert_string_equal(c->addr, "127.0.0.4");
    proxy__out_fail(ob, &s, 0, 30000, "answered 503");
    c = proxy__out_next(ob, &s, 0);
    assert_string_equal(c->addr, "127.0.0.5");
    proxy__out_fail(ob, &s, 0, 30000, "timed out");
    assert_null(proxy__out_next(ob, &s, 0));

    char w[1024];
    proxy__out_warning(ob, w, sizeof(w));
    assert_string_equal(
        w, "no usable edge for fabrikam.test: edge1.fabrikam.test:5061 connect refused; "
           "edge2.fabrikam.test:5061 certificate does not name fabrikam.test or "
           "edge2.fabrikam.test; gone.fabrikam.test:5061 has no address (nxdomain); "
           "pool.fabrikam.test:5062 (127.0.0.4) answered 503; pool.fabrikam.test:5062 "
           "(127.0.0.5) timed out");
    proxy__out_free(ob);

    /* the next request skips what failed, saying since when and why */
    ob = proxy__out_new(PROXY__OUT_SRV, true, "fabrikam.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &r);
    assert_null(proxy__out_next(ob, &s, 12000));
    proxy__out_warning(ob, w, sizeof(w));
    assert_non_null(
        strstr(w, "edge1.fabrikam.test:5061 skipped: failed 12s ago (connect refused)"));
    proxy__out_free(ob);
    /* after the skip time they are tried again, in order */
    ob = proxy__out_new(PROXY__OUT_SRV, true, "fabrikam.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &r);
    c = proxy__out_next(ob, &s, 30000);
    assert_non_null(c);
    assert_string_equal(c->host, "edge1.fabrikam.test");
    proxy__out_free(ob);
    proxy__skip_free(&s);
}

static void test_dns_failure_and_cut(void **state)
{
    (void)state;
    dns_route_result_t r = {
        DNS_TIMEOUT, "_sipfederationtls._tcp.slow.test", "no answer", false, false, 0, 0, NULL};
    proxy__out_t *ob = proxy__out_new(PROXY__OUT_SRV, true, "slow.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &r);
    proxy__skip_t s = {0};
    assert_null(proxy__out_next(ob, &s, 0));
    char w[1024];
    proxy__out_warning(ob, w, sizeof(w));
    assert_string_equal(w, "no usable edge for slow.test: DNS SRV "
                           "_sipfederationtls._tcp.slow.test: timeout no answer");
    proxy__out_free(ob);

    /* 40 targets that all fail: the text is cut after a whole note */
    dns_addr_t a = v4("127.0.0.13");
    dns_target_t ts[40];
    char names[40][64];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "dead%d.big.test", i + 1);
        ts[i] = (dns_target_t){names[i], 5061, (uint16_t)(i + 1), 1, 60, DNS_OK, "", 1, &a};
    }
    dns_route_result_t big = {DNS_OK, "_sipfederationtls._tcp.big.test", "", true, false, 60, 40,
                              ts};
    ob = proxy__out_new(PROXY__OUT_SRV, true, "big.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &big);
    assert_int_equal(ob->ncands, 40);
    int n = 0;
    while (proxy__out_next(ob, &s, 0)) {
        proxy__out_fail(ob, &s, 0, 1000, "connect to 127.0.0.13:5061 failed: connection refused");
        n++;
    }
    assert_int_equal(n, 40);
    char small[300];
    proxy__out_warning(ob, small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
    assert_non_null(strstr(small, "no usable edge for big.test: dead1.big.test:5061 connect"));
    size_t L = strlen(small);
    assert_string_equal(small + L - 5, "; ...");
    assert_non_null(strstr(small, "refused; ..."));
    proxy__out_warning(ob, w, sizeof(w));
    assert_true(strlen(w) < sizeof(w));
    assert_string_equal(w + strlen(w) - 5, "; ...");
    proxy__out_free(ob);
    proxy__skip_free(&s);
}

static void test_fqdn_and_hop_expectations(void **state)
{
    (void)state;
    dns_addr_t a = v4("192.0.2.10");
    dns_target_t t = {"sip.provider.test", 5061, 0, 0, 0, DNS_OK, "", 1, &a};
    dns_route_result_t r = {DNS_OK, "sip.provider.test", "", true, true, 60, 1, &t};
    proxy__skip_t s = {0};
    proxy__out_t *ob =
        proxy__out_new(PROXY__OUT_FQDN, true, "provider.test", "sip.provider.test", 5061, NULL);
    proxy__out_set_route(ob, &r);
    assert_non_null(proxy__out_next(ob, &s, 0));
    assert_int_equal(ob->expect.mode, PROXY_EXPECT_NAME);
    assert_string_equal(ob->expect.host, "sip.provider.test");
    proxy__out_free(ob);
    /* an expected peer name other than the host */
    ob = proxy__out_new(PROXY__OUT_FQDN, true, "provider.test", "sip.provider.test", 5061,
                        "edge.provider.test");
    proxy__out_set_route(ob, &r);
    assert_non_null(proxy__out_next(ob, &s, 0));
    assert_string_equal(ob->expect.host, "edge.provider.test");
    proxy__out_free(ob);
    /* an IP address: only an existing connection */
    dns_target_t ti = {"192.0.2.10", 5061, 0, 0, 0, DNS_OK, "", 1, &a};
    dns_route_result_t ri = {DNS_OK, "192.0.2.10", "", true, true, 60, 1, &ti};
    ob = proxy__out_new(PROXY__OUT_FQDN, true, "192.0.2.10", "192.0.2.10", 5061, NULL);
    proxy__out_set_route(ob, &ri);
    assert_non_null(proxy__out_next(ob, &s, 0));
    assert_int_equal(ob->expect.mode, PROXY_EXPECT_EXISTING);
    proxy__out_free(ob);
    /* internal next hop by name: its name or the target; plain TCP: none */
    ob = proxy__out_new(PROXY__OUT_HOP, true, "pool.contoso.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &r);
    assert_non_null(proxy__out_next(ob, &s, 0));
    assert_int_equal(ob->expect.mode, PROXY_EXPECT_NAME_OR_DOMAIN);
    char w[256];
    proxy__out_fail(ob, &s, 0, 0, "connection refused");
    proxy__out_warning(ob, w, sizeof(w));
    assert_string_equal(w, "no usable next hop for pool.contoso.test: sip.provider.test:5061 "
                           "connection refused");
    proxy__out_free(ob);
    ob = proxy__out_new(PROXY__OUT_HOP, false, "pool.contoso.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &r);
    assert_non_null(proxy__out_next(ob, &s, 0));
    assert_int_equal(ob->expect.mode, PROXY_EXPECT_NONE);
    proxy__out_free(ob);
    assert_int_equal(s.n, 0); /* skip 0 ms: nothing remembered */
    proxy__skip_free(&s);
}

/* resolving without a resolver fails at once, with the reason */
static void test_no_resolver(void **state)
{
    (void)state;
    proxy__out_t *ob = proxy__out_new(PROXY__OUT_SRV, true, "fabrikam.test", NULL, 0, NULL);
    assert_true(proxy__out_resolve(ob, NULL, NULL, NULL) < 0);
    assert_int_equal(ob->state, 2);
    char w[256];
    proxy__out_warning(ob, w, sizeof(w));
    assert_string_equal(w, "no usable edge for fabrikam.test: no DNS resolver configured");
    proxy__out_free(ob);
}

/* the route cache: kept for the TTL, a fresh weighted draw on every hit,
 * 5 s at most when a target had no address, failures never kept */
static void test_route_cache(void **state)
{
    (void)state;
    dns_addr_t a = v4("127.0.0.8"), b = v4("127.0.0.9"), c = v4("127.0.0.10");
    dns_target_t ts[3] = {
        {"wa.weights.test", 5061, 10, 60, 60, DNS_OK, "", 1, &a},
        {"wb.weights.test", 5061, 10, 30, 60, DNS_OK, "", 1, &b},
        {"wc.weights.test", 5061, 10, 10, 60, DNS_OK, "", 1, &c},
    };
    dns_route_result_t r = {DNS_OK, "_sipfederationtls._tcp.weights.test", "", false, false, 60, 3,
                            ts};
    proxy__rcache_t rc = {0};
    proxy__out_t *ob = proxy__out_new(PROXY__OUT_SRV, true, "weights.test", NULL, 0, NULL);
    assert_false(proxy__rcache_get(&rc, ob, 1000));
    proxy__out_set_route(ob, &r);
    proxy__rcache_put(&rc, ob, 1000);
    proxy__out_free(ob);

    int first[3] = {0, 0, 0};
    for (int i = 0; i < 10000; i++) {
        ob = proxy__out_new(PROXY__OUT_SRV, true, "weights.test", NULL, 0, NULL);
        assert_true(proxy__rcache_get(&rc, ob, 2000));
        assert_int_equal(ob->state, 2);
        assert_int_equal(ob->ncands, 3);
        first[ob->cands[0].host[1] - 'a']++;
        proxy__out_free(ob);
    }
    /* 6000 / 3000 / 1000 expected; sd 49 / 46 / 30: 6 sd either side */
    assert_in_range(first[0], 6000 - 294, 6000 + 294);
    assert_in_range(first[1], 3000 - 276, 3000 + 276);
    assert_in_range(first[2], 1000 - 180, 1000 + 180);

    /* another route (same domain, other kind) is not this one */
    ob = proxy__out_new(PROXY__OUT_HOP, true, "weights.test", NULL, 0, NULL);
    assert_false(proxy__rcache_get(&rc, ob, 2000));
    proxy__out_free(ob);
    /* expired after the TTL (60 s from 1000 ms) */
    ob = proxy__out_new(PROXY__OUT_SRV, true, "weights.test", NULL, 0, NULL);
    assert_true(proxy__rcache_get(&rc, ob, 60999));
    assert_false(proxy__rcache_get(&rc, ob, 61000));
    proxy__out_free(ob);

    /* a target without address: kept 5 s only */
    dns_target_t tn[2] = {
        {"gone.renum.test", 5061, 10, 10, 60, DNS_NXDOMAIN, "", 0, NULL},
        {"edge.renum.test", 5061, 20, 10, 60, DNS_OK, "", 1, &a},
    };
    dns_route_result_t rn = {DNS_OK, "_sipfederationtls._tcp.renum.test", "", false, false, 60, 2,
                             tn};
    ob = proxy__out_new(PROXY__OUT_SRV, true, "renum.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &rn);
    proxy__rcache_put(&rc, ob, 0);
    proxy__out_free(ob);
    ob = proxy__out_new(PROXY__OUT_SRV, true, "renum.test", NULL, 0, NULL);
    assert_true(proxy__rcache_get(&rc, ob, 4999));
    assert_true(ob->cands[0].no_address);
    assert_string_equal(ob->cands[1].host, "edge.renum.test");
    assert_false(proxy__rcache_get(&rc, ob, 5000));
    proxy__out_free(ob);

    /* a failed resolution is never cached */
    dns_route_result_t rf = {
        DNS_TIMEOUT, "_sipfederationtls._tcp.slow.test", "", false, false, 0, 0, NULL};
    ob = proxy__out_new(PROXY__OUT_SRV, true, "slow.test", NULL, 0, NULL);
    proxy__out_set_route(ob, &rf);
    proxy__rcache_put(&rc, ob, 0);
    proxy__out_free(ob);
    ob = proxy__out_new(PROXY__OUT_SRV, true, "slow.test", NULL, 0, NULL);
    assert_false(proxy__rcache_get(&rc, ob, 1));
    proxy__out_free(ob);
    proxy__rcache_free(&rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partner_rules),
        cmocka_unit_test(test_other_modes),
        cmocka_unit_test(test_skip_table),
        cmocka_unit_test(test_candidates_and_warning),
        cmocka_unit_test(test_dns_failure_and_cut),
        cmocka_unit_test(test_fqdn_and_hop_expectations),
        cmocka_unit_test(test_no_resolver),
        cmocka_unit_test(test_route_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
