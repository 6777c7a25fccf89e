/* test_route.c — unit tests of the proxy's pure parts: interface matching,
 * §16.4 Route preprocessing, the routing decision, loop hashes, branches,
 * loop detection and transaction keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_int.h"

static proxy_cfg_t cfg;

static int setup(void **state)
{
    (void)state;
    proxy_cfg_init(&cfg);
    strcpy(cfg.fqdn, "edge.contoso.test");
    strcpy(cfg.domains[0], "contoso.test");
    strcpy(cfg.domains[1], "contoso.example");
    cfg.ndomains = 2;
    strcpy(cfg.ext.host, "edge.contoso.test");
    cfg.ext.port = 5061;
    strcpy(cfg.ext.names[0], "192.0.2.10");
    cfg.ext.nnames = 1;
    strcpy(cfg.in.host, "10.0.0.1");
    cfg.in.port = 5060;
    cfg.in.transport = PROXY_TP_TCP;
    strcpy(cfg.next_hops[0].host, "sip.contoso.test");
    cfg.next_hops[0].port = 5060;
    cfg.nnext_hops = 1;
    strcpy(cfg.default_route.host, "fed.example.net");
    cfg.default_route.port = 5061;
    return 0;
}

static sip_uri_t uri(const char *s)
{
    sip_uri_t u;
    assert_int_equal(sip_uri_parse(s, strlen(s), &u), 0);
    return u;
}

/* origins of the loop tests: the internal side, a remote client */
#define INT ((proxy_origin_t){PROXY_SIDE_INTERNAL, false})
#define CLIENT ((proxy_origin_t){PROXY_SIDE_EXTERNAL, true})
#define LOOP_HASH(m) proxy_loop_hash((m), INT)

static proxy_route_t decide(proxy_side_t from, proxy_side_t popped, const char *next,
                            const char *ruri)
{
    sip_uri_t r = uri(ruri), n;
    if (next)
        n = uri(next);
    proxy_route_in_t in = {from, popped, next ? &n : NULL, &r, false};
    proxy_route_t out;
    proxy_route_decide(&cfg, &in, &out);
    return out;
}

static proxy_route_t decide_client(proxy_side_t popped, const char *next, const char *ruri)
{
    sip_uri_t r = uri(ruri), n;
    if (next)
        n = uri(next);
    proxy_route_in_t in = {PROXY_SIDE_EXTERNAL, popped, next ? &n : NULL, &r, true};
    proxy_route_t out;
    proxy_route_decide(&cfg, &in, &out);
    return out;
}

/* a remote user's request for a partner goes to the internal next hops
 * (the user's own server federates it back through the edge); from a
 * partner the same request is relaying */
static void test_decide_client_to_other_domain(void **state)
{
    (void)state;
    proxy_route_t d = decide_client(PROXY_SIDE_NONE, NULL, "sip:dave@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_INTERNAL);
    assert_int_equal(d.target, PROXY_TARGET_NEXT_HOPS);
    d = decide_client(PROXY_SIDE_NONE, NULL, "sip:alice@contoso.test");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_INTERNAL);
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sip:dave@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    assert_int_equal(d.status, 403);
    /* a Route the client preloaded past the edge is still relaying */
    d = decide_client(PROXY_SIDE_NONE, "sip:elsewhere.test;lr", "sip:dave@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
}

static void test_decide_external_to_local_domain(void **state)
{
    (void)state;
    proxy_route_t d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sip:alice@contoso.test");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_INTERNAL);
    assert_int_equal(d.target, PROXY_TARGET_NEXT_HOPS);
    /* domains compare case-insensitively, second domain too */
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sips:bob@CONTOSO.Example");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_INTERNAL);
}

static void test_decide_no_open_relay(void **state)
{
    (void)state;
    proxy_route_t d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sip:bob@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    assert_int_equal(d.status, 403);
    assert_non_null(strstr(d.reason, "relaying denied"));
    /* a subdomain of a local domain is not local */
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sip:bob@evil.contoso.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    /* a foreign Route from outside is refused even for a local R-URI */
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, "sip:relay.evil.test;lr",
               "sip:alice@contoso.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    assert_int_equal(d.status, 403);
}

static void test_decide_internal_to_federation(void **state)
{
    (void)state;
    proxy_route_t d = decide(PROXY_SIDE_INTERNAL, PROXY_SIDE_NONE, NULL, "sip:bob@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_EXTERNAL);
    assert_int_equal(d.target, PROXY_TARGET_DEFAULT_ROUTE);
    /* a preloaded Route to a partner from inside goes out too */
    d = decide(PROXY_SIDE_INTERNAL, PROXY_SIDE_NONE, "sip:edge.fabrikam.test;lr",
               "sip:bob@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_EXTERNAL);
    /* ...but not one that points back at a local domain */
    d = decide(PROXY_SIDE_INTERNAL, PROXY_SIDE_NONE, "sip:contoso.test;lr",
               "sip:bob@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    /* no default route configured: refused, not dropped */
    cfg.default_route.host[0] = 0;
    d = decide(PROXY_SIDE_INTERNAL, PROXY_SIDE_NONE, NULL, "sip:bob@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    assert_int_equal(d.status, 403);
    assert_non_null(strstr(d.reason, "federation route"));
}

static void test_decide_internal_to_local_is_refused(void **state)
{
    (void)state;
    proxy_route_t d = decide(PROXY_SIDE_INTERNAL, PROXY_SIDE_NONE, NULL, "sip:alice@contoso.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    assert_int_equal(d.status, 403);
    assert_non_null(strstr(d.reason, "loop"));
}

static void test_decide_by_own_record_route(void **state)
{
    (void)state;
    /* in-dialog from the partner: our entries popped, the last named the
     * internal interface: go inside, whatever the R-URI (a contact) says */
    proxy_route_t d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_INTERNAL, NULL,
                             "sip:alice@192.168.1.20:5060;transport=tcp");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_INTERNAL);
    assert_int_equal(d.target, PROXY_TARGET_NEXT_HOPS);
    /* and from inside with a partner Route left: go outside */
    d = decide(PROXY_SIDE_INTERNAL, PROXY_SIDE_EXTERNAL, "sip:edge.fabrikam.test;lr",
               "sip:bob@203.0.113.5:5061;transport=tls");
    assert_int_equal(d.action, PROXY_ROUTE_FORWARD);
    assert_int_equal(d.to_side, PROXY_SIDE_EXTERNAL);
    assert_int_equal(d.target, PROXY_TARGET_DEFAULT_ROUTE);
    /* a popped entry naming the side it came from is no crossing: domain
     * rules apply (outside → non-local → refused) */
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_EXTERNAL, NULL, "sip:bob@fabrikam.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
}

static void test_decide_local_and_schemes(void **state)
{
    (void)state;
    proxy_route_t d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sip:edge.contoso.test");
    assert_int_equal(d.action, PROXY_ROUTE_LOCAL);
    d = decide(PROXY_SIDE_INTERNAL, PROXY_SIDE_NONE, NULL, "sip:10.0.0.1:5060;transport=tcp");
    assert_int_equal(d.action, PROXY_ROUTE_LOCAL);
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sip:192.0.2.10:5061");
    assert_int_equal(d.action, PROXY_ROUTE_LOCAL);
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "sip:alice@edge.contoso.test");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    assert_int_equal(d.status, 404);
    d = decide(PROXY_SIDE_EXTERNAL, PROXY_SIDE_NONE, NULL, "tel:+15551234567");
    assert_int_equal(d.action, PROXY_ROUTE_REJECT);
    assert_int_equal(d.status, 416);
}

static void test_uri_side(void **state)
{
    (void)state;
    sip_uri_t u = uri("sip:edge.contoso.test:5061;transport=tls;lr");
    assert_int_equal(proxy_uri_side(&cfg, &u), PROXY_SIDE_EXTERNAL);
    u = uri("sip:EDGE.contoso.test.;lr");
    assert_int_equal(proxy_uri_side(&cfg, &u), PROXY_SIDE_EXTERNAL);
    u = uri("sip:10.0.0.1:5060;transport=tcp;lr");
    assert_int_equal(proxy_uri_side(&cfg, &u), PROXY_SIDE_INTERNAL);
    u = uri("sip:edge.contoso.test:5070;lr"); /* another service on our host */
    assert_int_equal(proxy_uri_side(&cfg, &u), PROXY_SIDE_NONE);
    u = uri("sip:edge.fabrikam.test;lr");
    assert_int_equal(proxy_uri_side(&cfg, &u), PROXY_SIDE_NONE);
    u = uri("tel:+1555");
    assert_int_equal(proxy_uri_side(&cfg, &u), PROXY_SIDE_NONE);
    /* IPv6 interface: configured without brackets, written with */
    strcpy(cfg.in.host, "2001:db8::1");
    u = uri("sip:[2001:DB8::1]:5060;lr");
    assert_int_equal(proxy_uri_side(&cfg, &u), PROXY_SIDE_INTERNAL);
}

/* ---- message helpers ---- */

static char buf[8192];
static sip_msg_t msg;

static sip_msg_t *parse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_int_equal(sip_parse(buf, strlen(buf), NULL, &msg), 0);
    assert_int_equal(sip_msg_check(&msg), 0);
    return &msg;
}

#define REQ(method, ruri, extra)                                                                   \
    method " " ruri " SIP/2.0\r\n"                                                                 \
           "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKabc\r\n" extra                  \
           "From: <sip:bob@fabrikam.test>;tag=f1\r\n"                                              \
           "To: <sip:alice@contoso.test>\r\n"                                                      \
           "Call-ID: c1@fabrikam\r\n"                                                              \
           "CSeq: 7 " method "\r\n"                                                                \
           "Max-Forwards: 70\r\n"                                                                  \
           "Content-Length: 0\r\n\r\n"

static void test_routes_prep_pops_own_entries(void **state)
{
    (void)state;
    sip_msg_t *m = parse(REQ("BYE", "sip:alice@192.168.1.20",
                             "Route: <sip:edge.contoso.test:5061;transport=tls;lr>,"
                             " <sip:10.0.0.1:5060;transport=tcp;lr>\r\n"
                             "Route: <sip:sip.contoso.test;lr>\r\n"));
    proxy__routes_t r;
    assert_int_equal(proxy__routes_prep(&cfg, m, &r), 0);
    assert_int_equal(r.nroutes, 3);
    assert_int_equal(r.first_kept, 2);
    assert_int_equal(r.end_kept, 3);
    assert_false(r.strict);
    assert_int_equal(r.popped_side, PROXY_SIDE_INTERNAL);
    assert_non_null(r.next_route);
    assert_true(fedge_str_eq(r.next_route->host, "sip.contoso.test"));
    assert_true(fedge_str_eq(r.ruri_str, "sip:alice@192.168.1.20"));
}

static void test_routes_prep_strict_router(void **state)
{
    (void)state;
    /* a strict router put our Record-Route URI into the R-URI and the
     * remote target at the end of the Route set */
    sip_msg_t *m =
        parse(REQ("BYE", "sip:edge.contoso.test:5061;transport=tls;lr",
                  "Route: <sip:10.0.0.1:5060;transport=tcp;lr>, <sip:alice@192.168.1.20>\r\n"));
    proxy__routes_t r;
    assert_int_equal(proxy__routes_prep(&cfg, m, &r), 0);
    assert_true(r.strict);
    assert_true(fedge_str_eq(r.ruri_str, "sip:alice@192.168.1.20"));
    assert_int_equal(r.first_kept, 1);
    assert_int_equal(r.end_kept, 1);
    assert_null(r.next_route);
    assert_int_equal(r.popped_side, PROXY_SIDE_INTERNAL);
}

static void test_routes_prep_options_probe_is_not_strict(void **state)
{
    (void)state;
    /* an OPTIONS probe to the edge with a preloaded Route to the edge: the
     * R-URI names us but is no Record-Route of ours (no lr) */
    sip_msg_t *m = parse(REQ("OPTIONS", "sip:edge.contoso.test",
                             "Route: <sip:edge.contoso.test;transport=tls;lr>\r\n"));
    proxy__routes_t r;
    assert_int_equal(proxy__routes_prep(&cfg, m, &r), 0);
    assert_false(r.strict);
    assert_int_equal(r.first_kept, 1);
    assert_null(r.next_route);
    assert_true(fedge_str_eq(r.ruri_str, "sip:edge.contoso.test"));
}

static void test_routes_prep_bad_route(void **state)
{
    (void)state;
    sip_msg_t *m = parse(REQ("MESSAGE", "sip:alice@contoso.test", "Route: <sip:@@>\r\n"));
    proxy__routes_t r;
    assert_int_equal(proxy__routes_prep(&cfg, m, &r), FEDGE_ESIP_ROUTE);
}

static void test_loop_hash_fields(void **state)
{
    (void)state;
    uint64_t a = LOOP_HASH(parse(REQ("INVITE", "sip:alice@contoso.test", "")));
    /* CANCEL and ACK share it (method left out) */
    uint64_t b = LOOP_HASH(parse(REQ("CANCEL", "sip:alice@contoso.test", "")));
    assert_true(a == b);
    /* an extra Via on top (the request came around) does not change it */
    uint64_t c = LOOP_HASH(parse(
        REQ("INVITE", "sip:alice@contoso.test", "Via: SIP/2.0/TCP 10.9.9.9;branch=z9hG4bKx\r\n")));
    assert_true(a == c);
    /* a new Request-URI does (a spiral, not a loop) */
    uint64_t d = LOOP_HASH(parse(REQ("INVITE", "sip:alice2@contoso.test", "")));
    assert_true(a != d);
    /* so does a Route */
    uint64_t e =
        LOOP_HASH(parse(REQ("INVITE", "sip:alice@contoso.test", "Route: <sip:x.test;lr>\r\n")));
    assert_true(a != e);
}

/* the same request from a remote client and then back from the internal
 * server (a spiral through the edge) hashes apart; from one origin twice
 * it does not (a loop) */
static void test_loop_hash_origin(void **state)
{
    (void)state;
    sip_msg_t *m = parse(REQ("MESSAGE", "sip:dave@fabrikam.test", ""));
    assert_true(proxy_loop_hash(m, CLIENT) != proxy_loop_hash(m, INT));
    proxy_origin_t partner = {PROXY_SIDE_EXTERNAL, false};
    assert_true(proxy_loop_hash(m, CLIENT) != proxy_loop_hash(m, partner));
    assert_true(proxy_loop_hash(m, INT) == proxy_loop_hash(m, INT));
    char br[64], req[2048];
    proxy_branch_make(m, CLIENT, 7, FEDGE_STR_LIT("k"), 0, br, sizeof(br));
    snprintf(req, sizeof(req),
             REQ("MESSAGE", "sip:dave@fabrikam.test",
                 "Via: SIP/2.0/TCP 10.9.9.9;branch=z9hG4bKk\r\nVia: SIP/2.0/TCP "
                 "10.0.0.1:5060;branch=%s;alias\r\n"),
             br);
    parse("%s", req);
    assert_false(proxy_loop_detected(&cfg, &msg, INT)); /* the second pass */
    assert_true(proxy_loop_detected(&cfg, &msg, CLIENT));
}

static void test_branch_format_and_uniqueness(void **state)
{
    (void)state;
    sip_msg_t *m = parse(REQ("MESSAGE", "sip:alice@contoso.test", ""));
    char b1[64], b2[64], b3[64], b4[64];
    fedge_str_t k1 = FEDGE_STR_LIT("key1"), k2 = FEDGE_STR_LIT("key2");
    assert_int_equal(proxy_branch_make(m, INT, 42, k1, 0, b1, sizeof(b1)), PROXY_BRANCH_LEN);
    assert_int_equal(strlen(b1), PROXY_BRANCH_LEN);
    assert_memory_equal(b1, "z9hG4bK", 7);
    assert_int_equal(b1[23], '.');
    proxy_branch_make(m, INT, 42, k1, 0, b2, sizeof(b2));
    assert_string_equal(b1, b2); /* deterministic */
    proxy_branch_make(m, INT, 42, k1, 1, b3, sizeof(b3));
    assert_string_not_equal(b1, b3); /* a new attempt, a new branch */
    assert_memory_equal(b1, b3, 23); /* same loop part */
    proxy_branch_make(m, INT, 42, k2, 0, b4, sizeof(b4));
    assert_string_not_equal(b1, b4);
    assert_int_equal(proxy_branch_make(m, INT, 42, k1, 0, b4, PROXY_BRANCH_LEN), 0);
}

static void test_loop_detection(void **state)
{
    (void)state;
    sip_msg_t *m = parse(REQ("MESSAGE", "sip:bob@fabrikam.test", ""));
    char br[64];
    proxy_branch_make(m, INT, 7, FEDGE_STR_LIT("k"), 0, br, sizeof(br));
    char req[2048];
    /* our Via (internal interface) further down, another hop on top */
    snprintf(req, sizeof(req),
             REQ("MESSAGE", "sip:bob@fabrikam.test",
                 "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=%s;alias\r\n"),
             br);
    parse("%s", req);
    assert_true(proxy_loop_detected(&cfg, &msg, INT));
    /* same Via but the Request-URI changed on the way: a spiral */
    snprintf(req, sizeof(req),
             REQ("MESSAGE", "sip:bob2@fabrikam.test",
                 "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=%s;alias\r\n"),
             br);
    parse("%s", req);
    assert_false(proxy_loop_detected(&cfg, &msg, INT));
    /* same branch in a Via that is not ours */
    snprintf(
        req, sizeof(req),
        REQ("MESSAGE", "sip:bob@fabrikam.test", "Via: SIP/2.0/TCP 10.0.0.2:5060;branch=%s\r\n"),
        br);
    parse("%s", req);
    assert_false(proxy_loop_detected(&cfg, &msg, INT));
}

static void test_txn_key_3261(void **state)
{
    (void)state;
    char k1[512], k2[512], k3[512], k4[512];
    int l1 = proxy_txn_key(parse(REQ("INVITE", "sip:alice@contoso.test", "")), k1, sizeof(k1));
    int l2 = proxy_txn_key(parse(REQ("ACK", "sip:alice@contoso.test", "")), k2, sizeof(k2));
    int l3 = proxy_txn_key(parse(REQ("CANCEL", "sip:alice@contoso.test", "")), k3, sizeof(k3));
    int l4 = proxy_txn_key(parse(REQ("MESSAGE", "sip:alice@contoso.test", "")), k4, sizeof(k4));
    assert_true(l1 > 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(k1, k2, (size_t)l1);
    assert_int_equal(l1, l3);
    assert_memory_equal(k1, k3, (size_t)l1);
    assert_false(l4 == l1 && !memcmp(k1, k4, (size_t)l1));
    assert_memory_equal(k1, "3261|z9hG4bKabc|edge.fabrikam.test:5061|INVITE", (size_t)l1);
    assert_int_equal(proxy_txn_key(&msg, k1, 10), FEDGE_ENOSPC);
}

#define REQ2543(method, to)                                                                        \
    method " sip:alice@contoso.test SIP/2.0\r\n"                                                   \
           "Via: SIP/2.0/TCP old.fabrikam.test;branch=1234\r\n"                                    \
           "From: <sip:bob@fabrikam.test>;tag=f1\r\n"                                              \
           "To: " to "\r\n"                                                                        \
           "Call-ID: c2@fabrikam\r\n"                                                              \
           "CSeq: 1 " method "\r\n"                                                                \
           "Content-Length: 0\r\n\r\n"

static void test_txn_key_2543(void **state)
{
    (void)state;
    char k1[512], k2[512], k3[512];
    int l1 = proxy_txn_key(parse(REQ2543("INVITE", "<sip:alice@contoso.test>")), k1, sizeof(k1));
    int l2 =
        proxy_txn_key(parse(REQ2543("ACK", "<sip:alice@contoso.test>;tag=xyz")), k2, sizeof(k2));
    assert_true(l1 > 5);
    assert_memory_equal(k1, "2543|", 5);
    assert_int_equal(l1, l2);
    assert_memory_equal(k1, k2, (size_t)l1);
    int l3 = proxy_txn_key(parse(REQ2543("OPTIONS", "<sip:alice@contoso.test>")), k3, sizeof(k3));
    assert_false(l3 == l1 && !memcmp(k1, k3, (size_t)l1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_decide_external_to_local_domain, setup),
        cmocka_unit_test_setup(test_decide_client_to_other_domain, setup),
        cmocka_unit_test_setup(test_loop_hash_origin, setup),
        cmocka_unit_test_setup(test_decide_no_open_relay, setup),
        cmocka_unit_test_setup(test_decide_internal_to_federation, setup),
        cmocka_unit_test_setup(test_decide_internal_to_local_is_refused, setup),
        cmocka_unit_test_setup(test_decide_by_own_record_route, setup),
        cmocka_unit_test_setup(test_decide_local_and_schemes, setup),
        cmocka_unit_test_setup(test_uri_side, setup),
        cmocka_unit_test_setup(test_routes_prep_pops_own_entries, setup),
        cmocka_unit_test_setup(test_routes_prep_strict_router, setup),
        cmocka_unit_test_setup(test_routes_prep_options_probe_is_not_strict, setup),
        cmocka_unit_test_setup(test_routes_prep_bad_route, setup),
        cmocka_unit_test_setup(test_loop_hash_fields, setup),
        cmocka_unit_test_setup(test_branch_format_and_uniqueness, setup),
        cmocka_unit_test_setup(test_loop_detection, setup),
        cmocka_unit_test_setup(test_txn_key_3261, setup),
        cmocka_unit_test_setup(test_txn_key_2543, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
