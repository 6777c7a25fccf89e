/* test_api.c — unit tests of the admin REST API's resources without HTTP
 * (admin__api on a real store in a temporary folder): invalid input maps to
 * 400 naming the field, missing things to 404, conflicts to 409, changes
 * are audited with the account, the status hook is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "admin/admin_int.h"
#include "api_fixture.h"
#include "version.h"
#include "store/remote.h"

typedef tu_api_fx_t fx_t;

static int setup(void **state)
{
    *state = tu_api_open("admin", "edge.contoso.test");
    return 0;
}

static int teardown(void **state)
{
    return tu_api_close(*state);
}

/* Calls the API with body text (NULL: none); returns the status, *out the
 * answer (caller decrefs). */
static int call(fx_t *f, const char *method, const char *path, const char *body, json_t **out)
{
    json_t *b = NULL;
    if (body) {
        json_error_t je;
        b = json_loads(body, 0, &je);
        if (!b)
            fail_msg("bad test JSON %s: %s", body, je.text);
    }
    int st = admin__api(&f->api, method, path, NULL, b, "admin:alice", out);
    json_decref(b);
    return st;
}

/* Expects status and, for 400/409, the field named. */
static void expect(fx_t *f, const char *method, const char *path, const char *body, int status,
                   const char *field)
{
    json_t *out = NULL;
    int st = call(f, method, path, body, &out);
    char *dump = out ? json_dumps(out, JSON_COMPACT) : NULL;
    if (st != status)
        fail_msg("%s %s %s: %d (expected %d) %s", method, path, body ? body : "", st, status,
                 dump ? dump : "");
    if (field) {
        const char *got = json_string_value(json_object_get(out, "field"));
        if (!got || strcmp(got, field))
            fail_msg("%s %s %s: field %s, expected %s", method, path, body ? body : "",
                     got ? got : "(none)", field);
        const char *err = json_string_value(json_object_get(out, "error"));
        assert_non_null(err);
        assert_true(strlen(err) > 5);
    }
    free(dump);
    json_decref(out);
}

static void test_domains(void **state)
{
    fx_t *f = *state;
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"bad..test\"}", 400, "domain");
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"x\"}", 400, "domain");
    expect(f, "POST", "/domains/allowed", "{}", 400, "domain");
    expect(f, "POST", "/domains/allowed", "{\"domain\": 7}", 400, "domain");
    expect(f, "POST", "/domains/allowed", "[1]", 400, "");
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"a.test\", \"proxy_fqdn\": \"x\"}", 400,
           "proxy_fqdn");
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"a.test\", \"monitor\": 1}", 400,
           "monitor");
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"a.test\", \"extra\": 1}", 400, "extra");
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"a.test\", \"comment\": \"a\\u0007\"}",
           400, "comment");
    expect(f, "POST", "/domains/allowed",
           "{\"domain\": \"Fabrikam.Test.\", \"proxy_fqdn\": \"edge.fabrikam.test\", "
           "\"comment\": \"<b>'\\\"\", \"monitor\": true}",
           201, NULL);
    json_t *out;
    assert_int_equal(call(f, "GET", "/domains/allowed", NULL, &out), 200);
    json_t *it = json_array_get(json_object_get(out, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "domain")), "fabrikam.test");
    assert_string_equal(json_string_value(json_object_get(it, "kind")), "server");
    assert_string_equal(json_string_value(json_object_get(it, "comment")), "<b>'\"");
    assert_true(json_is_true(json_object_get(it, "monitor")));
    json_decref(out);
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"fabrikam.test\"}", 409, "domain");
    expect(f, "POST", "/domains/blocked", "{\"domain\": \"fabrikam.test\"}", 409, "domain");
    /* An edit keeps what it does not name. */
    expect(f, "PUT", "/domains/allowed/fabrikam.test", "{\"monitor\": false}", 200, NULL);
    assert_int_equal(call(f, "GET", "/domains/allowed", NULL, &out), 200);
    it = json_array_get(json_object_get(out, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "proxy_fqdn")), "edge.fabrikam.test");
    assert_false(json_is_true(json_object_get(it, "monitor")));
    json_decref(out);
    expect(f, "PUT", "/domains/allowed/fabrikam.test", "{\"domain\": \"other.test\"}", 400,
           "domain");
    expect(f, "PUT", "/domains/allowed/none.test", "{\"comment\": \"x\"}", 404, NULL);
    expect(f, "PUT", "/domains/blocked/fabrikam.test", "{\"comment\": \"x\"}", 404, NULL);
    expect(f, "DELETE", "/domains/blocked/fabrikam.test", NULL, 404, NULL);
    expect(f, "DELETE", "/domains/allowed/fabrikam.test", NULL, 204, NULL);
    expect(f, "DELETE", "/domains/allowed/fabrikam.test", NULL, 404, NULL);
    expect(f, "POST", "/domains/blocked", "{\"domain\": \"fabrikam.test\"}", 201, NULL);
    expect(f, "POST", "/domains/blocked", "{\"domain\": \"fabrikam.test\"}", 409, "domain");
    expect(f, "POST", "/domains/allowed", "{\"domain\": \"fabrikam.test\"}", 409, "domain");
    expect(f, "PATCH", "/domains/blocked", NULL, 405, NULL);
}

/* XMPP partners (docs/admin.md, docs/xmpp.md): allow with settings, block,
 * conflicts, bad fields, delete. */
static void test_xmpp_partners(void **state)
{
    fx_t *f = *state;
    expect(f, "POST", "/xmpp", "{}", 400, "domain");
    expect(f, "POST", "/xmpp", "{\"domain\": \"x\"}", 400, "domain");
    expect(f, "POST", "/xmpp", "{\"domain\": \"a.test\", \"tls\": \"maybe\"}", 400, "tls");
    expect(f, "POST", "/xmpp", "{\"domain\": \"a.test\", \"sasl\": 1}", 400, "sasl");
    expect(f, "POST", "/xmpp", "{\"domain\": \"a.test\", \"state\": \"gone\"}", 400, "state");
    expect(f, "POST", "/xmpp", "{\"domain\": \"a.test\", \"sasl\": false, \"dialback\": false}",
           400, "domain");
    expect(f, "POST", "/xmpp", "{\"domain\": \"a.test\", \"proxy_fqdn\": \"a b\"}", 400,
           "proxy_fqdn");
    expect(f, "POST", "/xmpp",
           "{\"domain\": \"Jabber.Test\", \"tls\": \"optional\", \"sasl\": false, "
           "\"proxy_fqdn\": \"xmpp.jabber.test:5270\"}",
           201, NULL);
    expect(f, "POST", "/xmpp", "{\"domain\": \"spam.test\", \"state\": \"blocked\"}", 201, NULL);
    expect(f, "POST", "/xmpp", "{\"domain\": \"jabber.test\"}", 409, "domain");
    json_t *out;
    assert_int_equal(call(f, "GET", "/xmpp", NULL, &out), 200);
    json_t *a = json_object_get(out, "items");
    assert_int_equal(json_array_size(a), 2);
    json_t *it = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(it, "domain")), "jabber.test");
    assert_string_equal(json_string_value(json_object_get(it, "state")), "allowed");
    assert_string_equal(json_string_value(json_object_get(it, "tls")), "optional");
    assert_true(json_is_false(json_object_get(it, "sasl")));
    assert_true(json_is_true(json_object_get(it, "dialback")));
    assert_string_equal(json_string_value(json_object_get(it, "proxy_fqdn")),
                        "xmpp.jabber.test:5270");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "state")),
                        "blocked");
    json_decref(out);
    /* An edit sets what it names, the defaults for the rest. */
    expect(f, "PUT", "/xmpp/jabber.test", "{\"sasl\": true}", 200, NULL);
    assert_int_equal(call(f, "GET", "/xmpp", NULL, &out), 200);
    it = json_array_get(json_object_get(out, "items"), 0);
    assert_true(json_is_true(json_object_get(it, "sasl")));
    assert_string_equal(json_string_value(json_object_get(it, "tls")), "required");
    json_decref(out);
    expect(f, "PUT", "/xmpp/jabber.test", "{\"state\": \"blocked\"}", 409, "domain");
    expect(f, "PUT", "/xmpp/jabber.test", "{\"domain\": \"other.test\"}", 400, "domain");
    expect(f, "PUT", "/xmpp/none.test", "{}", 404, NULL);
    expect(f, "DELETE", "/xmpp/spam.test", NULL, 204, NULL);
    expect(f, "DELETE", "/xmpp/spam.test", NULL, 404, NULL);
    expect(f, "PATCH", "/xmpp", NULL, 405, NULL);
}

/* Regression: invalid UTF-8 in a path (PUT /api/domains/allowed/ex%FF%00ample.test,
 * which reaches the API decoded and cut at the NUL) answered 500 "internal
 * error building the answer": the store's message quoted the bytes and
 * jansson refused them. Every method on every resource with bad bytes in
 * the path or a message cut inside a multi-byte character answers 4xx with
 * a message. */
static void test_bad_bytes_answer_4xx(void **state)
{
    fx_t *f = *state;
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    static const char *const paths[] = {
        "/domains/allowed/ex\xff",
        "/domains/blocked/ex\xff",
        "/domains/allowed/a\x01.test",
        "/providers/\xc3",
        "/policies/site:\xed\xa0\x80",
        "/assignments/al\xffice@a.test",
        "/watchlist/\xf8x.test",
        "/edge\xff",
        "/\xff",
        "/domains/allowed/\xe2\x82",
    };
    for (size_t m = 0; m < sizeof(methods) / sizeof(*methods); m++)
        for (size_t p = 0; p < sizeof(paths) / sizeof(*paths); p++) {
            json_t *out = NULL;
            int st = call(f, methods[m], paths[p], NULL, &out);
            if (st != 400)
                fail_msg("%s %s: %d, expected 400", methods[m], paths[p], st);
            const char *err = json_string_value(json_object_get(out, "error"));
            assert_non_null(err);
            assert_non_null(strstr(err, "UTF-8"));
            json_decref(out);
        }
    /* Valid UTF-8 that is not a domain: the store quotes it, cut at 300
     * bytes, here in the middle of a two-byte character. */
    char body[1200] = "{\"domain\": \"a";
    for (int i = 0; i < 300; i++)
        strcat(body, "\xc3\xa9");
    strcat(body, "\"}");
    expect(f, "POST", "/domains/allowed", body, 400, "domain");
    expect(f, "POST", "/domains/blocked", body, 400, "domain");
    char pbody[1300] = "{\"name\": \"a";
    for (int i = 0; i < 300; i++)
        strcat(pbody, "\xc3\xa9");
    strcat(pbody, "\", \"proxy_fqdn\": \"sip.p.test\", \"kind\": \"hosting\"}");
    expect(f, "POST", "/providers", pbody, 400, "name");
    char path[700] = "/domains/allowed/a";
    for (int i = 0; i < 300; i++)
        strcat(path, "\xc3\xa9");
    expect(f, "PUT", path, "{\"comment\": \"x\"}", 400, "domain");
    expect(f, "DELETE", path, NULL, 404, NULL);
    /* A key cut inside a character in "unknown field". */
    char kbody[1300] = "{\"";
    for (int i = 0; i < 300; i++)
        strcat(kbody, "\xc3\xa9");
    strcat(kbody, "\": 1}");
    json_t *out = NULL;
    assert_int_equal(call(f, "POST", "/domains/allowed", kbody, &out), 400);
    assert_non_null(json_string_value(json_object_get(out, "error")));
    json_decref(out);
    /* A comment written by the CLI as any bytes still lists (200, U+FFFD). */
    fedge_err_t e;
    assert_int_equal(
        store_domain_allow(f->api.store, "bytes.test", "", "caf\xe9", false, "cli:root", &e), 0);
    assert_int_equal(call(f, "GET", "/domains/allowed", NULL, &out), 200);
    json_t *it = json_array_get(json_object_get(out, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "comment")), "caf\xef\xbf\xbd");
    json_decref(out);
    assert_int_equal(call(f, "GET", "/audit", NULL, &out), 200);
    json_decref(out);
}

static void test_edge(void **state)
{
    fx_t *f = *state;
    expect(f, "PUT", "/edge", "{\"discovery\": \"on\"}", 400, "discovery");
    expect(f, "PUT", "/edge", "{\"discovered-rate\": 0}", 400, "discovered-rate");
    expect(f, "PUT", "/edge", "{\"discovered-rate\": 100001}", 400, "discovered-rate");
    expect(f, "PUT", "/edge", "{\"report-period\": 1.5}", 400, "report-period");
    expect(f, "PUT", "/edge", "{\"routing\": \"smoke-signals\"}", 400, "routing");
    expect(f, "PUT", "/edge", "{\"default-route\": \"a..b\"}", 400, "default-route");
    expect(f, "PUT", "/edge", "{\"routing\": \"default-route\"}", 400, "default-route");
    expect(f, "PUT", "/edge", "{\"colour\": true}", 400, "colour");
    expect(f, "PUT", "/edge", "{}", 400, "");
    /* A refused request changes nothing, even its valid parts. */
    expect(f, "PUT", "/edge", "{\"discovery\": true, \"discovered-rate\": 0}", 400,
           "discovered-rate");
    json_t *out;
    assert_int_equal(call(f, "GET", "/edge", NULL, &out), 200);
    assert_false(json_is_true(json_object_get(out, "discovery")));
    json_decref(out);
    expect(f, "PUT", "/edge",
           "{\"discovery\": true, \"routing\": \"default-route\", \"default-route\": "
           "\"Relay.Contoso.Test:5061\", \"discovered-rate\": 5}",
           200, NULL);
    assert_int_equal(call(f, "GET", "/edge", NULL, &out), 200);
    assert_true(json_is_true(json_object_get(out, "discovery")));
    assert_string_equal(json_string_value(json_object_get(out, "routing")), "default-route");
    assert_string_equal(json_string_value(json_object_get(out, "default-route")),
                        "relay.contoso.test:5061");
    assert_int_equal(json_integer_value(json_object_get(out, "discovered-rate")), 5);
    json_decref(out);
}

static void test_providers(void **state)
{
    fx_t *f = *state;
    expect(f, "POST", "/providers", "{\"name\": \"p\", \"proxy_fqdn\": \"sip.p.test\"}", 400,
           "kind");
    expect(f, "POST", "/providers", "{\"name\": \"p\", \"kind\": \"public\"}", 400, "proxy_fqdn");
    expect(f, "POST", "/providers",
           "{\"name\": \"-p\", \"proxy_fqdn\": \"sip.p.test\", "
           "\"kind\": \"public\"}",
           400, "name");
    expect(f, "POST", "/providers",
           "{\"name\": \"p\", \"proxy_fqdn\": \"sip.p.test\", \"kind\": \"public\", "
           "\"verification\": \"trust-me\"}",
           400, "verification");
    expect(f, "POST", "/providers",
           "{\"name\": \"p\", \"proxy_fqdn\": \"sip.p.test\", \"kind\": \"public\", "
           "\"domains\": \"a.test\"}",
           400, "domains");
    expect(f, "POST", "/providers",
           "{\"name\": \"p\", \"proxy_fqdn\": \"sip.p.test\", \"kind\": \"public\", "
           "\"domains\": [\"a.test\", 3]}",
           400, "domains");
    expect(f, "POST", "/providers",
           "{\"name\": \"p\", \"proxy_fqdn\": \"sip.p.test\", \"kind\": \"hosting\", "
           "\"domains\": [\"a.test\", \"b.test\"], \"enabled\": true}",
           201, NULL);
    expect(f, "POST", "/providers",
           "{\"name\": \"p\", \"proxy_fqdn\": \"sip.q.test\", \"kind\": \"public\"}", 409, NULL);
    expect(f, "POST", "/providers",
           "{\"name\": \"q\", \"proxy_fqdn\": \"sip.p.test\", \"kind\": \"public\"}", 409,
           "proxy_fqdn");
    /* The body may repeat the name from the path, in any case, not change it. */
    expect(f, "PUT", "/providers/p", "{\"name\": \"q\"}", 400, "name");
    expect(f, "PUT", "/providers/p", "{\"name\": 7}", 400, "name");
    expect(f, "PUT", "/providers/p", "{\"name\": \"P\", \"enabled\": true}", 200, NULL);
    expect(f, "PUT", "/providers/p", "{\"enabled\": false, \"domains\": []}", 200, NULL);
    json_t *out;
    assert_int_equal(call(f, "GET", "/providers", NULL, &out), 200);
    json_t *p = json_array_get(json_object_get(out, "items"), 0);
    assert_false(json_is_true(json_object_get(p, "enabled")));
    assert_int_equal(json_array_size(json_object_get(p, "domains")), 0);
    assert_string_equal(json_string_value(json_object_get(p, "kind")), "hosting");
    json_decref(out);
    expect(f, "PUT", "/providers/none", "{\"enabled\": false}", 404, NULL);
    expect(f, "DELETE", "/providers/none", NULL, 404, NULL);
    expect(f, "DELETE", "/providers/p", NULL, 204, NULL);
}

static void test_policies(void **state)
{
    fx_t *f = *state;
    expect(f, "POST", "/policies", "{\"scope\": \"global\"}", 409, "scope");
    expect(f, "POST", "/policies", "{\"scope\": \"site:\"}", 400, "scope");
    expect(f, "POST", "/policies", "{\"scope\": \"sales\", \"xmpp\": \"yes\"}", 400, "xmpp");
    expect(f, "POST", "/policies", "{\"scope\": \"sales\", \"federation\": true}", 201, NULL);
    expect(f, "PUT", "/policies/global", "{\"public_im\": true}", 200, NULL);
    expect(f, "PUT", "/policies/nosuch", "{\"public_im\": true}", 404, NULL);
    expect(f, "POST", "/assignments", "{\"user\": \"bob\", \"policy\": \"sales\"}", 400, "user");
    expect(f, "POST", "/assignments", "{\"user\": \"bob@contoso.test\", \"policy\": \"x\"}", 400,
           "policy");
    expect(f, "POST", "/assignments", "{\"user\": \"bob@contoso.test\", \"policy\": \"sales\"}",
           200, NULL);
    json_t *out;
    assert_int_equal(call(f, "GET", "/policies", NULL, &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 2);
    json_t *a = json_array_get(json_object_get(out, "assignments"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "policy")), "sales");
    json_t *g = json_array_get(json_object_get(out, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(g, "scope")), "global");
    assert_true(json_is_true(json_object_get(g, "public_im")));
    json_decref(out);
    expect(f, "DELETE", "/assignments/bob@contoso.test", NULL, 204, NULL);
    expect(f, "DELETE", "/assignments/bob@contoso.test", NULL, 404, NULL);
    /* Policies can be deleted, never the global one. */
    expect(f, "DELETE", "/policies/global", NULL, 400, "scope");
    expect(f, "DELETE", "/policies/sales", NULL, 204, NULL);
    expect(f, "DELETE", "/policies/sales", NULL, 404, NULL);
}

static int audit_has(const store_audit_t *a, void *ctx)
{
    if (!strcmp(a->actor, "admin:alice") && !strcmp(a->action, "domain.block") &&
        !strcmp(a->object, "audited.test"))
        *(int *)ctx += 1;
    return 0;
}

static void test_audit_and_misc(void **state)
{
    fx_t *f = *state;
    expect(f, "POST", "/domains/blocked", "{\"domain\": \"audited.test\"}", 201, NULL);
    int n = 0;
    fedge_err_t e;
    assert_int_equal(store_audit_list(f->api.store, 10, audit_has, &n, &e), 0);
    assert_int_equal(n, 1);
    json_t *out = NULL;
    assert_int_equal(admin__api(&f->api, "GET", "/audit", "0", NULL, "admin:alice", &out), 400);
    assert_string_equal(json_string_value(json_object_get(out, "field")), "limit");
    json_decref(out);
    assert_int_equal(admin__api(&f->api, "GET", "/audit", "1", NULL, "admin:alice", &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
    json_decref(out);
    expect(f, "GET", "/nothing", NULL, 404, NULL);
    expect(f, "GET", "/domains/allowed/x/y/z", NULL, 404, NULL);
    expect(f, "POST", "/status", NULL, 405, NULL);
    expect(f, "DELETE", "/watchlist/none.test", NULL, 404, NULL);
    assert_int_equal(store_watchlist_add(f->api.store, "noisy.test", 1200,
                                         "over the contacts "
                                         "limit",
                                         "edge", &e),
                     0);
    assert_int_equal(call(f, "GET", "/watchlist", NULL, &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
    json_decref(out);
    expect(f, "DELETE", "/watchlist/noisy.test", NULL, 204, NULL);
}

static void test_remote_lockouts(void **state)
{
    fx_t *f = *state;
    fedge_err_t e;
    json_t *out;
    assert_int_equal(call(f, "GET", "/remote/lockouts", NULL, &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
    json_decref(out);
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(store_lockout_add(f->api.store, "alice@contoso.test", 20, now + 600,
                                       "from 192.0.2.7", "serve:edge", &e),
                     0);
    assert_int_equal(
        store_lockout_add(f->api.store, "2001:db8::7", 50, now + 600, NULL, "serve:edge", &e), 0);
    assert_int_equal(call(f, "GET", "/remote/lockouts", NULL, &out), 200);
    json_t *it = json_object_get(out, "items");
    assert_int_equal(json_array_size(it), 2);
    json_t *u = json_array_get(it, 0);
    assert_string_equal(json_string_value(json_object_get(u, "kind")), "user");
    assert_string_equal(json_string_value(json_object_get(u, "subject")), "alice@contoso.test");
    assert_int_equal(json_integer_value(json_object_get(u, "failures")), 20);
    assert_string_equal(json_string_value(json_object_get(u, "reason")), "from 192.0.2.7");
    json_decref(out);
    expect(f, "DELETE", "/remote/lockouts/alice@contoso.test", NULL, 204, NULL);
    expect(f, "DELETE", "/remote/lockouts/alice@contoso.test", NULL, 404, NULL);
    expect(f, "DELETE", "/remote/lockouts/2001:DB8::7", NULL, 204, NULL);
    expect(f, "DELETE", "/remote/lockouts/not-a-subject", NULL, 400, "subject");
    expect(f, "POST", "/remote/lockouts", NULL, 405, NULL);
    expect(f, "GET", "/remote/other", NULL, 404, NULL);
    assert_int_equal(call(f, "GET", "/remote/lockouts", NULL, &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
    json_decref(out);
    /* Audited as the administrator who cleared it. */
    assert_int_equal(admin__api(&f->api, "GET", "/audit", "1", NULL, "admin:alice", &out), 200);
    json_t *last = json_array_get(json_object_get(out, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "remote.unlock");
    assert_string_equal(json_string_value(json_object_get(last, "actor")), "admin:alice");
    json_decref(out);
}

static void fill(admin_status_t *st, void *ctx)
{
    (*(int *)ctx)++;
    admin_status_partner(st, "fabrikam.test", 2, 10, 3);
    admin_status_diag(st, 1012, 3);
    admin_status_error(st, "2026-11-26T20:00:00Z", "TLS handshake failed");
    admin_status_counter(st, "connections", 5);
}

static void test_status(void **state)
{
    fx_t *f = *state;
    json_t *out;
    assert_int_equal(call(f, "GET", "/status", NULL, &out), 200);
    json_t *edge = json_object_get(out, "edge");
    assert_false(json_is_true(json_object_get(edge, "attached")));
    assert_string_equal(json_string_value(json_object_get(out, "edge_fqdn")), "edge.contoso.test");
    /* The one version (src/version.h), as `fedge --version` prints it. */
    assert_string_equal(json_string_value(json_object_get(out, "version")), FEDGE_VERSION);
    json_decref(out);
    int calls = 0;
    f->api.status_cb = fill;
    f->api.status_ctx = &calls;
    assert_int_equal(call(f, "GET", "/status", NULL, &out), 200);
    assert_int_equal(calls, 1);
    edge = json_object_get(out, "edge");
    assert_true(json_is_true(json_object_get(edge, "attached")));
    json_t *p = json_object_get(json_object_get(edge, "partners"), "fabrikam.test");
    assert_int_equal(json_integer_value(json_object_get(p, "requests")), 10);
    assert_int_equal(json_integer_value(json_object_get(p, "rejections")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(edge, "diagnostics"), "1012")), 3);
    assert_int_equal(json_array_size(json_object_get(edge, "errors")), 1);
    json_decref(out);
}

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

static void *hammer(void *arg)
{
    admin_stats_t *st = arg;
    for (int i = 0; i < 20000; i++)
        admin_stats_request(st, S("Busy.Test"), i % 4 == 0 ? 1012 : 0);
    return NULL;
}

static void test_stats(void **state)
{
    fx_t *f = *state;
    admin_stats_t *st = admin_stats_new();
    admin_stats_request(st, S("Fabrikam.TEST"), 0);
    admin_stats_request(st, S("fabrikam.test"), 0);
    admin_stats_request(st, S("fabrikam.test"), 1012);
    admin_stats_request(st, S("evil.test"), 1012);
    admin_stats_request(st, S("evil.test"), 19010);
    admin_stats_connection(st, S("fabrikam.test"), 1);
    admin_stats_connection(st, S("fabrikam.test"), 1);
    admin_stats_connection(st, S("fabrikam.test"), -1);
    admin_stats_connection(st, S("gone.test"), -1); /* never below 0 */
    for (int i = 0; i < ADMIN_STATS_ERRORS + 5; i++) {
        char t[32];
        snprintf(t, sizeof(t), "error %d\nforged line", i);
        admin_stats_error(st, t);
    }
    f->api.status_cb = admin_stats_report;
    f->api.status_ctx = st;
    json_t *out;
    assert_int_equal(call(f, "GET", "/status", NULL, &out), 200);
    json_t *edge = json_object_get(out, "edge");
    json_t *p = json_object_get(json_object_get(edge, "partners"), "fabrikam.test");
    assert_int_equal(json_integer_value(json_object_get(p, "requests")), 3);
    assert_int_equal(json_integer_value(json_object_get(p, "rejections")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "connections")), 1);
    p = json_object_get(json_object_get(edge, "partners"), "gone.test");
    assert_int_equal(json_integer_value(json_object_get(p, "connections")), 0);
    json_t *d = json_object_get(edge, "diagnostics");
    assert_int_equal(json_integer_value(json_object_get(d, "1012")), 2);
    assert_int_equal(json_integer_value(json_object_get(d, "19010")), 1);
    json_t *errs = json_object_get(edge, "errors");
    assert_int_equal(json_array_size(errs), ADMIN_STATS_ERRORS);
    /* The oldest kept first; control characters flattened. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "text")),
                        "error 5 forged line");
    json_decref(out);

    /* Bounded: partners beyond the limit share "(other)". */
    for (int i = 0; i < ADMIN_STATS_PARTNERS + 10; i++) {
        char dom[32];
        snprintf(dom, sizeof(dom), "p%d.test", i);
        admin_stats_request(st, S(dom), 0);
    }
    assert_int_equal(call(f, "GET", "/status", NULL, &out), 200);
    json_t *parts = json_object_get(json_object_get(out, "edge"), "partners");
    assert_int_equal(json_object_size(parts), ADMIN_STATS_PARTNERS + 1);
    assert_true(
        json_integer_value(json_object_get(json_object_get(parts, "(other)"), "requests")) >= 10);
    json_decref(out);
    admin_stats_free(st);

    /* Thread-safe: the loop records while the admin thread reports. */
    st = admin_stats_new();
    f->api.status_ctx = st;
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, hammer, st), 0);
    assert_int_equal(pthread_create(&t2, NULL, hammer, st), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(call(f, "GET", "/status", NULL, &out), 200);
        json_decref(out);
    }
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(call(f, "GET", "/status", NULL, &out), 200);
    p = json_object_get(json_object_get(json_object_get(out, "edge"), "partners"), "busy.test");
    assert_int_equal(json_integer_value(json_object_get(p, "requests")), 40000);
    assert_int_equal(json_integer_value(json_object_get(p, "rejections")), 10000);
    json_decref(out);
    admin_stats_free(st);
}

/* Query parameters "k=v&k=v" for admin__api_args. */
static const char *query_of(void *ctx, const char *name)
{
    /* Each value lives until the request ends, as MHD's do: a ring of 16. */
    static char vals[16][256];
    static unsigned next;
    char *val = vals[next++ % 16];
    size_t nl = strlen(name);
    for (const char *p = ctx; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t l = amp ? (size_t)(amp - p) : strlen(p);
        if (l > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            snprintf(val, sizeof(vals[0]), "%.*s", (int)(l - nl - 1), p + nl + 1);
            return val;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int get_q(fx_t *f, const char *path, const char *q, json_t **out)
{
    return admin__api_args(&f->api, "GET", path, query_of, (void *)q, NULL, "admin:alice", out);
}

/* Server-side pages, import, switch, warnings, diagnostics, and messages
 * in the panel's words. */
static void test_lists_and_words(void **state)
{
    fx_t *f = *state;
    f->api.sip_domains = "contoso.test,contoso.com";
    expect(f, "POST", "/domains/import",
           "{\"rows\": [{\"domain\": \"a.test\", \"proxy_fqdn\": \"edge.a.test\"},"
           " {\"domain\": \"b.test\", \"access\": \"blocked\"}, {\"domain\": \"c.test\"}]}",
           200, NULL);
    expect(f, "POST", "/domains/import", "{\"rows\": [{\"domain\": \"a.test\"}]}", 409, "rows");
    expect(f, "POST", "/domains/import", "{\"rows\": [{\"domain\": 1}]}", 400, "rows");
    expect(f, "POST", "/domains/import",
           "{\"rows\": [{\"domain\": \"x.test\", \"access\": \"maybe\"}]}", 400, "rows");
    json_t *out;
    assert_int_equal(get_q(f, "/domains", "q=Partner%20server", &out), 200);
    json_decref(out);
    assert_int_equal(get_q(f, "/domains", "q=Partner server&limit=1", &out), 200);
    assert_int_equal(json_integer_value(json_object_get(out, "matched")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 3);
    json_decref(out);
    assert_int_equal(get_q(f, "/domains", "q=false", &out), 200);
    assert_int_equal(json_integer_value(json_object_get(out, "matched")), 0);
    json_decref(out);
    assert_int_equal(get_q(f, "/domains", "sort=domain&dir=desc&limit=1&offset=1", &out), 200);
    json_t *it = json_array_get(json_object_get(out, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "domain")), "b.test");
    assert_string_equal(json_string_value(json_object_get(it, "status")), "blocked");
    json_decref(out);
    assert_int_equal(get_q(f, "/domains", "dir=up", &out), 400);
    json_decref(out);
    assert_int_equal(get_q(f, "/domains", "limit=0", &out), 400);
    json_decref(out);
    assert_int_equal(get_q(f, "/domains", "sort=x", &out), 400);
    json_decref(out);
    /* Allowed <-> blocked in one change. */
    expect(f, "PUT", "/domains/c.test", "{\"access\": \"blocked\", \"comment\": \"x\"}", 200, NULL);
    expect(f, "PUT", "/domains/nowhere.test", "{\"access\": \"blocked\"}", 404, NULL);
    expect(f, "PUT", "/domains/c.test", "{\"access\": \"gone\"}", 400, "access");
    assert_int_equal(get_q(f, "/audit/search", "action=domain.access", &out), 200);
    it = json_array_get(json_object_get(out, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "before")), "allowed");
    assert_string_equal(json_string_value(json_object_get(it, "after")), "blocked");
    json_decref(out);
    assert_int_equal(get_q(f, "/audit/search", "since=today", &out), 400);
    assert_string_equal(json_string_value(json_object_get(out, "field")), "since");
    json_decref(out);
    /* A provider serving a blocked domain: saved, with a warning. */
    assert_int_equal(call(f, "POST", "/providers",
                          "{\"name\": \"hoster\", \"proxy_fqdn\": \"sip.hoster.test\", "
                          "\"kind\": \"hosting\", \"domains\": [\"b.test\", \"t1.test\"]}",
                          &out),
                     201);
    assert_int_equal(json_array_size(json_object_get(out, "warnings")), 1);
    json_decref(out);
    /* The store's CLI hint is not in the panel's message. */
    assert_int_equal(call(f, "POST", "/providers",
                          "{\"name\": \"hoster\", \"proxy_fqdn\": \"sip2.hoster.test\", "
                          "\"kind\": \"hosting\"}",
                          &out),
                     409);
    const char *msg = json_string_value(json_object_get(out, "error"));
    assert_non_null(strstr(msg, "exists already"));
    assert_null(strstr(msg, "fedge "));
    json_decref(out);
    /* An assignment outside the SIP domains: saved, with a warning. */
    expect(f, "POST", "/policies", "{\"scope\": \"sales\"}", 201, NULL);
    assert_int_equal(call(f, "POST", "/assignments",
                          "{\"user\": \"bob@elsewhere.test\", \"policy\": \"sales\"}", &out),
                     200);
    assert_int_equal(json_array_size(json_object_get(out, "warnings")), 1);
    json_decref(out);
    assert_int_equal(call(f, "POST", "/assignments",
                          "{\"user\": \"amy@contoso.com\", \"policy\": \"sales\"}", &out),
                     200);
    assert_int_equal(json_array_size(json_object_get(out, "warnings")), 0);
    json_decref(out);
    assert_int_equal(get_q(f, "/policies", "q=user", &out), 200);
    assert_int_equal(json_integer_value(json_object_get(out, "matched")), 1);
    assert_int_equal(json_array_size(json_object_get(out, "assignments")), 2);
    json_decref(out);
    expect(f, "DELETE", "/policies/sales", NULL, 409, "scope");
    assert_int_equal(call(f, "GET", "/diagnostics", NULL, &out), 200);
    assert_true(json_array_size(json_object_get(out, "items")) > 5);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xmpp_partners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_bytes_answer_4xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_providers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_and_misc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_lockouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists_and_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
