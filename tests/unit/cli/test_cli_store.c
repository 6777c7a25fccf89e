/* test_cli_store.c — the store commands of the fedge command line (domain,
 * provider, policy, edge, watchlist) run through cli_main against a real
 * store: exit codes, messages naming the option, JSON output, -c FILE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "testutil.h"
#include "store/store.h"

static char tmpdir[64];
static char dbpath[128];
static char out[65536], errtext[8192];

static int setup(void **state)
{
    (void)state;
    tu_mkdtemp(tmpdir, sizeof(tmpdir), "cli");
    snprintf(dbpath, sizeof(dbpath), "%s/fedge.db", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmpdir);
}

/* Runs `fedge <args...> --store DB` (or with the arguments as given when
 * the list contains "-c"), capturing stdout and stderr. */
static int run(const char *first, ...)
{
    const char *argv[32] = {"fedge"};
    int argc = 1;
    bool has_c = false;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        argv[argc++] = a;
        if (!strcmp(a, "-c"))
            has_c = true;
    }
    va_end(ap);
    if (!has_c) {
        argv[argc++] = "--store";
        argv[argc++] = dbpath;
    }
    argv[argc] = NULL;
    return tu_cli_run(tmpdir, argc, (char **)argv, out, sizeof(out), errtext, sizeof(errtext));
}

static json_t *out_json(void)
{
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, out);
    return j;
}

static void test_domain_commands(void **state)
{
    (void)state;
    assert_int_equal(run("domain", "allow", "Fabrikam.COM", "--proxy-fqdn", "edge.fabrikam.com",
                         "--comment", "since 2024", "--monitor", NULL),
                     0);
    assert_int_equal(run("domain", "allow", "northwind.com", NULL), 0);
    assert_int_equal(run("domain", "block", "evil.com", "--comment", "spam", NULL), 0);
    /* Allowed and blocked at once: refused, with the way out. */
    assert_int_equal(run("domain", "allow", "evil.com", NULL), 1);
    assert_non_null(strstr(errtext, "both allowed and blocked"));
    /* Bad input: exit 2, naming the field and the expected form. */
    assert_int_equal(run("domain", "allow", "bad_domain", NULL), 2);
    assert_non_null(strstr(errtext, "domain 'bad_domain'"));
    assert_non_null(strstr(errtext, "expected"));
    assert_int_equal(run("domain", "allow", "ok.com", "--proxy-fqdn", "1.2.3.4", NULL), 2);
    assert_non_null(strstr(errtext, "proxy-fqdn"));
    assert_int_equal(run("domain", "allow", "ok.com", "--bogus", NULL), 2);
    assert_non_null(strstr(errtext, "unknown option '--bogus'"));
    assert_non_null(strstr(errtext, "usage: fedge domain allow"));
    assert_int_equal(run("domain", "allow", NULL), 2);
    assert_int_equal(run("domain", "frobnicate", "x.com", NULL), 2);
    assert_int_equal(run("domain", "list", "--json", NULL), 0);
    json_t *j = out_json();
    json_t *al = json_object_get(j, "allowed");
    assert_int_equal(json_array_size(al), 2);
    json_t *f = json_array_get(al, 0);
    assert_string_equal(json_string_value(json_object_get(f, "domain")), "fabrikam.com");
    assert_string_equal(json_string_value(json_object_get(f, "type")), "partner-server");
    assert_string_equal(json_string_value(json_object_get(f, "proxy_fqdn")), "edge.fabrikam.com");
    assert_true(json_is_true(json_object_get(f, "monitor")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(al, 1), "type")),
                        "allowed-domain");
    assert_int_equal(json_array_size(json_object_get(j, "blocked")), 1);
    json_decref(j);
    assert_int_equal(run("domain", "list", NULL), 0);
    assert_non_null(strstr(out, "edge.fabrikam.com"));
    assert_non_null(strstr(out, "blocked  evil.com"));
    assert_int_equal(run("domain", "remove", "evil.com", NULL), 0);
    assert_int_equal(run("domain", "remove", "evil.com", NULL), 1);
    assert_non_null(strstr(errtext, "neither allowed nor blocked"));
}

static void test_provider_commands(void **state)
{
    (void)state;
    assert_int_equal(run("provider", "add", "hoster", "--proxy-fqdn", "sip.hoster.com", NULL), 2);
    assert_non_null(strstr(errtext, "--kind"));
    assert_int_equal(
        run("provider", "add", "hoster", "--proxy-fqdn", "sip.hoster.com", "--kind", "cloud", NULL),
        2);
    assert_non_null(strstr(errtext, "--kind 'cloud': expected hosting or public"));
    assert_int_equal(run("provider", "add", "hoster", "--proxy-fqdn", "sip.hoster.com", "--kind",
                         "hosting", "--domains", "hosted.com, hosted2.com", "--verification",
                         "use-source", NULL),
                     0);
    assert_int_equal(
        run("provider", "add", "pub", "--proxy-fqdn", "SIP.HOSTER.com", "--kind", "public", NULL),
        1);
    assert_non_null(strstr(errtext, "already the proxy of provider hoster"));
    assert_int_equal(run("provider", "set", "hoster", "--enabled", "--disabled", NULL), 2);
    assert_int_equal(run("provider", "set", "hoster", "--disabled", NULL), 0);
    assert_int_equal(run("provider", "set", "ghost", "--disabled", NULL), 1);
    assert_int_equal(run("provider", "list", "--json", NULL), 0);
    json_t *j = out_json();
    json_t *p = json_array_get(json_object_get(j, "providers"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "name")), "hoster");
    assert_string_equal(json_string_value(json_object_get(p, "kind")), "hosting");
    assert_string_equal(json_string_value(json_object_get(p, "verification")), "use-source");
    assert_true(json_is_false(json_object_get(p, "enabled")));
    assert_int_equal(json_array_size(json_object_get(p, "domains")), 2);
    json_decref(j);
    assert_int_equal(run("provider", "remove", "hoster", NULL), 0);
    assert_int_equal(run("provider", "list", NULL), 0);
    assert_null(strstr(out, "hoster"));
}

static void test_policy_commands(void **state)
{
    (void)state;
    assert_int_equal(run("policy", "set", "global", "--public", "maybe", NULL), 2);
    assert_non_null(strstr(errtext, "--public 'maybe': expected on or off"));
    assert_int_equal(
        run("policy", "set", "site:EMEA", "--federation", "off", "--public", "on", NULL), 0);
    assert_int_equal(run("policy", "set", "partners", "--federation", "on", NULL), 0);
    assert_int_equal(run("policy", "set", "bad:scope", NULL), 2);
    assert_non_null(strstr(errtext, "expected global, site:NAME or NAME"));
    assert_int_equal(run("policy", "assign", "Alice@Contoso.com", "partners", NULL), 0);
    assert_int_equal(run("policy", "assign", "alice", "partners", NULL), 2);
    assert_non_null(strstr(errtext, "user@domain"));
    assert_int_equal(run("policy", "assign", "bob@contoso.com", "ghost", NULL), 1);
    assert_int_equal(run("policy", "list", "--json", NULL), 0);
    json_t *j = out_json();
    json_t *pol = json_object_get(j, "policies");
    assert_int_equal(json_array_size(pol), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 1), "scope")),
                        "site:emea");
    assert_true(json_is_false(json_object_get(json_array_get(pol, 1), "federation")));
    json_t *as = json_array_get(json_object_get(j, "assignments"), 0);
    assert_string_equal(json_string_value(json_object_get(as, "user")), "alice@contoso.com");
    json_decref(j);
}

static void test_edge_commands(void **state)
{
    (void)state;
    assert_int_equal(run("edge", "set", "--discovered-rate", "0", NULL), 2);
    assert_non_null(strstr(errtext, "--discovered-rate '0'"));
    assert_int_equal(run("edge", "set", "--routing", "carrier-pigeon", NULL), 2);
    assert_non_null(strstr(errtext, "dns-srv or default-route"));
    assert_int_equal(run("edge", "set", "--routing", "default-route", NULL), 2);
    assert_non_null(strstr(errtext, "--default-route"));
    assert_int_equal(run("edge", "set", NULL), 2);
    assert_int_equal(run("edge", "set", "--discovery", "on", "--routing", "default-route",
                         "--default-route", "gw.example.com:5061", "--discovered-contacts", "500",
                         NULL),
                     0);
    assert_int_equal(run("edge", "show", "--json", NULL), 0);
    json_t *j = out_json();
    assert_true(json_is_true(json_object_get(j, "discovery")));
    assert_string_equal(json_string_value(json_object_get(j, "routing")), "default-route");
    assert_string_equal(json_string_value(json_object_get(j, "default_route")),
                        "gw.example.com:5061");
    assert_int_equal(json_integer_value(json_object_get(j, "discovered_contacts")), 500);
    assert_int_equal(json_integer_value(json_object_get(j, "discovered_rate")), 20);
    json_decref(j);
    assert_int_equal(run("edge", "show", NULL), 0);
    assert_non_null(strstr(out, "discovery            on"));
}

static void test_watchlist_command(void **state)
{
    (void)state;
    store_t *s;
    fedge_err_t e;
    assert_int_equal(store_open(dbpath, &s, &e), 0);
    assert_int_equal(store_watchlist_add(s, "spam.example", 1001, "contacts limit", "server", &e),
                     0);
    store_close(s);
    assert_int_equal(run("watchlist", "--json", NULL), 0);
    json_t *j = out_json();
    json_t *w = json_array_get(json_object_get(j, "watchlist"), 0);
    assert_string_equal(json_string_value(json_object_get(w, "domain")), "spam.example");
    assert_int_equal(json_integer_value(json_object_get(w, "users")), 1001);
    json_decref(j);
    assert_int_equal(run("watchlist", "--clear", "spam.example", NULL), 0);
    assert_int_equal(run("watchlist", "--clear", "spam.example", NULL), 1);
    assert_int_equal(run("watchlist", NULL), 0);
    assert_null(strstr(out, "spam.example"));
}

static void test_config_file_names_the_store(void **state)
{
    (void)state;
    char p[160];
    const char *names[] = {"edge.crt", "edge.key"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs("placeholder\n", f);
        fclose(f);
    }
    snprintf(p, sizeof(p), "%s/fedge.ini", tmpdir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("[edge]\nfqdn = edge.contoso.test\nsip_domains = contoso.test\nstore = cfg.db\n"
          "[external]\nlisten = 127.0.0.1:5061\ncertificate = edge.crt\nprivate_key = edge.key\n"
          "[internal]\nlisten = 127.0.0.1:5071\ntransport = tcp\nnext_hop = 127.0.0.1:5080\n"
          "[federation]\nrouting = dns-srv\n",
          f);
    fclose(f);
    assert_int_equal(run("domain", "block", "evil.com", "-c", p, NULL), 0);
    /* It went to the store named by the file (next to it), not --store's. */
    char cfgdb[160];
    snprintf(cfgdb, sizeof(cfgdb), "%s/cfg.db", tmpdir);
    store_t *s;
    fedge_err_t e;
    assert_int_equal(store_open(cfgdb, &s, &e), 0);
    store_snapshot_t *snap;
    assert_int_equal(store_snapshot_load(s, &snap, &e), 0);
    assert_non_null(store_snapshot_blocked(snap, FEDGE_STR_LIT("evil.com")));
    store_snapshot_unref(snap);
    store_close(s);
    assert_int_equal(run("domain", "list", "-c", p, NULL), 0);
    assert_non_null(strstr(out, "evil.com"));
    /* A bad configuration file: exit 2 with the config loader's message. */
    snprintf(p, sizeof(p), "%s/missing.ini", tmpdir);
    assert_int_equal(run("edge", "show", "-c", p, NULL), 2);
    assert_non_null(strstr(errtext, "missing.ini"));
    /* Neither -c nor --store. */
    const char *argv[] = {"fedge", "edge", "show", NULL};
    int rc = tu_cli_run(tmpdir, 3, (char **)argv, out, sizeof(out), errtext, sizeof(errtext));
    assert_int_equal(rc, 2);
}

static void test_corrupt_store_exit_1(void **state)
{
    (void)state;
    char p[160];
    snprintf(p, sizeof(p), "%s/junk.db", tmpdir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database ", f);
    fclose(f);
    const char *argv[] = {"fedge", "domain", "list", "--store", p, NULL};
    int rc = tu_cli_run(tmpdir, 5, (char **)argv, out, sizeof(out), errtext, sizeof(errtext));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(errtext, "not a fedge store or is corrupt"));
}

/* Regression: `domain allow FABRIKAM.TEST` on an allowed partner server
 * replaced it with a plain allowed domain (edge FQDN and comment lost),
 * exit 0, output "allowed". It is refused like the REST API's 409 unless
 * --replace, and every outcome says what changed. */
static void test_domain_allow_does_not_replace_silently(void **state)
{
    (void)state;
    assert_int_equal(run("domain", "allow", "partner.test", "--proxy-fqdn", "edge.partner.test",
                         "--comment", "since 2024", NULL),
                     0);
    assert_string_equal(out, "allowed partner.test (partner server edge.partner.test, comment "
                             "\"since 2024\")\n");
    assert_int_equal(run("domain", "allow", "PARTNER.TEST", NULL), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(errtext, "already allowed as partner server edge.partner.test"));
    assert_non_null(strstr(errtext, "--replace"));
    /* Another edge FQDN is another entry too. */
    assert_int_equal(
        run("domain", "allow", "partner.test", "--proxy-fqdn", "edge2.partner.test", NULL), 1);
    assert_non_null(strstr(errtext, "--replace"));
    /* Nothing was changed by the refusals. */
    assert_int_equal(run("domain", "list", "--json", NULL), 0);
    json_t *j = out_json();
    json_t *al = json_object_get(j, "allowed");
    json_t *entry = NULL;
    for (size_t i = 0; i < json_array_size(al); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(al, i), "domain")),
                    "partner.test"))
            entry = json_array_get(al, i);
    assert_non_null(entry);
    assert_string_equal(json_string_value(json_object_get(entry, "proxy_fqdn")),
                        "edge.partner.test");
    assert_string_equal(json_string_value(json_object_get(entry, "comment")), "since 2024");
    json_decref(j);

    /* The same entry again: only what is given changes; nothing given,
     * nothing changes. */
    assert_int_equal(
        run("domain", "allow", "partner.test", "--proxy-fqdn", "EDGE.partner.test", NULL), 0);
    assert_string_equal(out, "unchanged partner.test (partner server edge.partner.test, comment "
                             "\"since 2024\"): already allowed\n");
    assert_int_equal(run("domain", "allow", "partner.test", "--proxy-fqdn", "edge.partner.test",
                         "--monitor", NULL),
                     0);
    assert_string_equal(out, "changed partner.test: monitoring off -> on\n");
    assert_int_equal(run("domain", "allow", "partner.test", "--proxy-fqdn", "edge.partner.test",
                         "--no-monitor", "--comment", "renewed", NULL),
                     0);
    assert_string_equal(out, "changed partner.test: monitoring on -> off, comment \"since 2024\" "
                             "-> \"renewed\"\n");
    assert_int_equal(run("domain", "allow", "partner.test", "--monitor", "--no-monitor", NULL), 2);

    /* --replace: the entry becomes what the command says, and says so. */
    assert_int_equal(run("domain", "allow", "partner.test", "--replace", NULL), 0);
    assert_string_equal(out, "replaced partner.test: partner server edge.partner.test -> allowed "
                             "domain, comment \"renewed\" -> none\n");
    /* --replace with what is already there: nothing to replace. */
    assert_int_equal(run("domain", "allow", "partner.test", "--replace", NULL), 0);
    assert_string_equal(out, "unchanged partner.test (allowed domain): already allowed\n");
    assert_int_equal(run("domain", "allow", "other.test", "--proxy-fqdn", "edge.other.test", NULL),
                     0);
    assert_string_equal(out, "allowed other.test (partner server edge.other.test)\n");
    assert_int_equal(run("domain", "allow", "plain.test", NULL), 0);
    assert_string_equal(out, "allowed plain.test (allowed domain)\n");

    assert_int_equal(run("domain", "block", "junk.test", NULL), 0);
    assert_string_equal(out, "blocked junk.test (both directions)\n");
    assert_int_equal(run("domain", "block", "junk.test", "--comment", "spam", NULL), 0);
    assert_string_equal(out, "changed junk.test: comment none -> \"spam\"\n");
    /* Blocking again without --comment keeps the comment. */
    assert_int_equal(run("domain", "block", "junk.test", NULL), 0);
    assert_string_equal(out, "unchanged junk.test: already blocked, comment \"spam\"\n");
    assert_int_equal(run("domain", "remove", "junk.test", NULL), 0);
    assert_string_equal(out, "removed junk.test (was blocked)\n");
    assert_int_equal(run("domain", "remove", "other.test", NULL), 0);
    assert_string_equal(out, "removed other.test (was allowed: partner server edge.other.test)\n");
}

static void test_changes_say_what_changed(void **state)
{
    (void)state;
    assert_int_equal(run("provider", "add", "said", "--proxy-fqdn", "sip.said.test", "--kind",
                         "public", "--domains", "s1.test,s2.test", NULL),
                     0);
    assert_string_equal(out, "added provider said (public, proxy sip.said.test, verification "
                             "always-verified, enabled, domains s1.test,s2.test)\n");
    assert_int_equal(run("provider", "set", "said", "--disabled", "--domains", "s1.test", NULL), 0);
    assert_string_equal(out,
                        "changed provider said: enabled -> disabled, domains s1.test,s2.test -> "
                        "s1.test\n");
    assert_int_equal(run("provider", "set", "said", "--disabled", NULL), 0);
    assert_non_null(strstr(out, "unchanged provider said"));
    assert_int_equal(run("provider", "remove", "said", NULL), 0);
    assert_non_null(strstr(out, "removed provider said (was: public"));

    assert_int_equal(run("policy", "set", "saidpol", "--xmpp", "on", NULL), 0);
    assert_string_equal(
        out, "added policy saidpol (federation off, public off, outside off, xmpp on, av on)\n");
    assert_int_equal(run("policy", "set", "saidpol", "--xmpp", "off", "--public", "on", NULL), 0);
    assert_string_equal(out, "changed policy saidpol: public off -> on, xmpp on -> off\n");
    assert_int_equal(run("policy", "set", "saidpol", "--av", "off", NULL), 0);
    assert_string_equal(out, "changed policy saidpol: av on -> off\n");
    assert_int_equal(run("policy", "set", "saidpol", "--av", "maybe", NULL), 2);
    assert_int_equal(run("policy", "assign", "Carol@contoso.test", "saidpol", NULL), 0);
    assert_string_equal(out, "assigned carol@contoso.test to policy saidpol (was: global (no "
                             "assignment))\n");
    assert_int_equal(run("policy", "assign", "carol@contoso.test", "global", NULL), 0);
    assert_string_equal(out, "removed the assignment of carol@contoso.test (was: saidpol): the "
                             "site or global policy applies\n");

    assert_int_equal(run("edge", "set", "--report-period", "30", NULL), 0);
    assert_string_equal(out, "changed edge settings: report-period 60 -> 30\n");
    assert_int_equal(run("edge", "set", "--report-period", "30", NULL), 0);
    assert_string_equal(out, "unchanged edge settings (already so)\n");
}

/* fedge xmpp: allow with settings, block, conflicts and bad input (exit
 * codes 0/1/2), list in text and JSON, remove. */
static void test_xmpp_commands(void **state)
{
    (void)state;
    assert_int_equal(run("xmpp", "allow", "jabber.test", "--tls", "optional", "--sasl", "off",
                         "--proxy-fqdn", "xmpp.jabber.test:5270", NULL),
                     0);
    assert_int_equal(run("xmpp", "block", "spam.test", NULL), 0);
    assert_int_equal(run("xmpp", "allow", "spam.test", NULL), 1);
    assert_non_null(strstr(errtext, "fedge xmpp remove spam.test"));
    assert_int_equal(run("xmpp", "allow", "x.test", "--sasl", "off", "--dialback", "off", NULL), 2);
    assert_int_equal(run("xmpp", "allow", "x.test", "--tls", "maybe", NULL), 2);
    assert_int_equal(run("xmpp", "allow", NULL), 2);
    assert_int_equal(run("xmpp", "frob", NULL), 2);
    assert_int_equal(run("xmpp", "list", NULL), 0);
    assert_non_null(strstr(out, "jabber.test"));
    assert_non_null(strstr(out, "xmpp.jabber.test:5270"));
    assert_int_equal(run("xmpp", "list", "--json", NULL), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    json_t *a = json_object_get(j, "xmpp_partners");
    assert_int_equal(json_array_size(a), 2);
    json_t *p = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(p, "tls")), "optional");
    assert_true(json_is_false(json_object_get(p, "sasl")));
    json_decref(j);
    assert_int_equal(run("xmpp", "remove", "spam.test", NULL), 0);
    assert_int_equal(run("xmpp", "remove", "spam.test", NULL), 1);
}

/* --help on every command and subcommand: usage with examples on stdout,
 * exit 0, nothing on stderr. */
static void test_help_everywhere(void **state)
{
    (void)state;
    const char *cmds[][3] = {
        {"domain", "--help", NULL},       {"domain", "allow", "--help"},
        {"provider", "-h", NULL},         {"provider", "add", "--help"},
        {"policy", "--help", NULL},       {"policy", "set", "--help"},
        {"edge", "--help", NULL},         {"edge", "set", "--help"},
        {"watchlist", "--help", NULL},    {"admin", "--help", NULL},
        {"admin", "add", "--help"},       {"serve", "--help", NULL},
        {"check-config", "--help", NULL}, {"plan", "--help", NULL},
        {"resolve", "--help", NULL},      {"parse", "--help", NULL},
        {"domain", "import", "--help"},   {"domain", "export", "--help"},
        {"xmpp", "--help", NULL},         {"xmpp", "allow", "--help"},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int rc = run(cmds[i][0], cmds[i][1], cmds[i][2], NULL);
        if (rc != 0 || !strstr(out, "usage: fedge") || !strstr(out, "example") || errtext[0])
            fail_msg("fedge %s %s %s: exit %d, stdout \"%.80s\", stderr \"%.80s\"", cmds[i][0],
                     cmds[i][1], cmds[i][2] ? cmds[i][2] : "", rc, out, errtext);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_commands),
        cmocka_unit_test(test_provider_commands),
        cmocka_unit_test(test_policy_commands),
        cmocka_unit_test(test_edge_commands),
        cmocka_unit_test(test_watchlist_command),
        cmocka_unit_test(test_xmpp_commands),
        cmocka_unit_test(test_config_file_names_the_store),
        cmocka_unit_test(test_corrupt_store_exit_1),
        cmocka_unit_test(test_domain_allow_does_not_replace_silently),
        cmocka_unit_test(test_changes_say_what_changed),
        cmocka_unit_test(test_help_everywhere),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
