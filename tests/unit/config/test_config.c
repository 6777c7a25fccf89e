/* test_config.c — unit tests of the configuration loader: a full valid
 * file, defaults, every kind of error with its exact FILE:LINE message, the
 * value grammars, and `fedge check-config` on docs/fedge.example.ini. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "testutil.h"

/* ---- a scratch folder with dummy certificate files ---- */

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

static void make_dir(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
}

static int group_setup(void **state)
{
    strcpy(dir, "/tmp/fedge-test-config-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    /* The loader only checks that these are readable files (PEM content
     * is checked by net/ when it loads them). */
    write_file("edge.crt", "cert\n");
    write_file("edge.key", "key\n");
    write_file("ca.crt", "ca\n");
    write_file("int.crt", "cert\n");
    write_file("int.key", "key\n");
    write_file("int-ca.crt", "ca\n");
    write_file("admin.crt", "cert\n");
    write_file("admin.key", "key\n");
    make_dir("cadir");
    make_dir("afolder");
    /* check-config reads the external certificate too: a real test PKI
     * (scripts/gen-certs, run from the repository root), its edge
     * certificate as edge.crt/edge.key, and one for the documented
     * example's names. */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "scripts/gen-certs %s/pki >/dev/null && "
             "scripts/gen-certs %s/pki edge.contoso.com "
             "'DNS:edge.contoso.com,DNS:contoso.com,DNS:contoso.net' >/dev/null && "
             "cp %s/pki/edge.contoso.test.crt %s/edge.crt && "
             "cp %s/pki/edge.contoso.test.key %s/edge.key",
             dir, dir, dir, dir, dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "scripts/gen-certs failed (run from the repository root)\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text as DIR/t.ini and loads it. */
static int load(const char *text, config_t **c, fedge_err_t *err)
{
    write_file("t.ini", text);
    char p[256];
    snprintf(p, sizeof(p), "%s/t.ini", dir);
    return config_load(p, c, err);
}

/* Asserts that text fails with exactly "DIR/t.ini:" + expected. */
static void expect_error(const char *text, const char *expected)
{
    config_t *c = (config_t *)1;
    fedge_err_t err;
    int rc = load(text, &c, &err);
    char want[1024];
    snprintf(want, sizeof(want), "%s/t.ini:%s", dir, expected);
    if (rc != FEDGE_ECONFIG || strcmp(err.msg, want)) {
        print_error("config text:\n%s\nwant: %s\ngot (%d): %s\n", text, want, rc,
                    rc < 0 ? err.msg : "(success)");
        fail();
    }
    assert_null(c);
}

static void expect_ok(const char *text, config_t **c)
{
    fedge_err_t err;
    int rc = load(text, c, &err);
    if (rc != 0) {
        print_error("config text:\n%s\nerror: %s\n", text, err.msg);
        fail();
    }
    assert_non_null(*c);
}

/* A minimal valid file: line numbers 1-13 are relied on below. */
#define MIN_EDGE                                                                                   \
    "[edge]\n"                     /* 1 */                                                         \
    "fqdn = edge.contoso.test\n"   /* 2 */                                                         \
    "sip_domains = contoso.test\n" /* 3 */
#define MIN_EXTERNAL                                                                               \
    "[external]\n"              /* 4 */                                                            \
    "listen = 127.0.0.1:5061\n" /* 5 */                                                            \
    "certificate = edge.crt\n"  /* 6 */                                                            \
    "private_key = edge.key\n"  /* 7 */
#define MIN_INTERNAL                                                                               \
    "[internal]\n"                /* 8 */                                                          \
    "listen = 127.0.0.1:5071\n"   /* 9 */                                                          \
    "transport = tcp\n"           /* 10 */                                                         \
    "next_hop = 127.0.0.1:5080\n" /* 11 */
#define MIN_FEDERATION                                                                             \
    "[federation]\n"                      /* 12 */                                                 \
    "default_route = sip.provider.test\n" /* 13 */
#define MIN MIN_EDGE MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION

static void path_in_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void test_full_file(void **state)
{
    config_t *c;
    expect_ok("; a complete configuration\n"
              "[edge]\n"
              "fqdn = Edge.Contoso.TEST.\n"
              "sip_domains = contoso.test, Contoso.NET , sub.contoso.test\n"
              "store = /var/lib/fedge/fedge.db\n"
              "\n"
              "[external]\n"
              "listen = 0.0.0.0:5061, [::]:5061, [2001:DB8::0:1]:15061\n"
              "certificate = edge.crt\n"
              "private_key = edge.key\n"
              "ca_file = ca.crt\n"
              "ca_path = cadir\n"
              "require_client_certificate = off\n"
              "tls_min_version = 1.3\n"
              "[internal]\n"
              "listen = 10.0.0.1:5062\n"
              "transport = tls\n"
              "certificate = int.crt\n"
              "private_key = int.key\n"
              "ca_file = int-ca.crt\n"
              "next_hop = 10.0.0.5, sip.contoso.test, [2001:db8::5]:5070, pool.contoso.test:5071\n"
              "[federation]\n"
              "routing = dns-srv\n"
              "default_route = [2001:db8::99]\n"
              "[limits]\n"
              "max_message_size = 128k\n"
              "max_connections = 5000\n"
              "max_connections_per_ip = 50\n"
              "handshake_timeout = 500ms\n"
              "idle_timeout = 2m\n"
              "max_queued_bytes = 2M\n"
              "max_connections_internal = 300\n"
              "max_connections_outbound = 400\n"
              "reserved_for_known = 600\n"
              "max_handshakes = 70\n"
              "handshake_rate = 5\n"
              "message_timeout = 3s\n"
              "[log]\n"
              "level = debug\n"
              "format = json\n"
              "[dns]\n"
              "servers = 127.0.0.1:5353, [::1]\n"
              "timeout = 1s\n"
              "tries = 4\n"
              "[admin]\n"
              "listen = 192.0.2.1:8443\n"
              "certificate = admin.crt\n"
              "private_key = admin.key\n",
              &c);
    char p[256];
    assert_string_equal(c->edge.fqdn, "edge.contoso.test");
    assert_int_equal(c->edge.sip_domain_count, 3);
    assert_string_equal(c->edge.sip_domains[0], "contoso.test");
    assert_string_equal(c->edge.sip_domains[1], "contoso.net");
    assert_string_equal(c->edge.sip_domains[2], "sub.contoso.test");
    assert_string_equal(c->edge.store, "/var/lib/fedge/fedge.db");

    assert_int_equal(c->external.listen.count, 3);
    assert_string_equal(c->external.listen.items[0].host, "0.0.0.0");
    assert_int_equal(c->external.listen.items[0].kind, CONFIG_HOST_IPV4);
    assert_int_equal(c->external.listen.items[0].port, 5061);
    assert_string_equal(c->external.listen.items[1].host, "::");
    assert_int_equal(c->external.listen.items[1].kind, CONFIG_HOST_IPV6);
    assert_string_equal(c->external.listen.items[2].host, "2001:db8::1");
    assert_int_equal(c->external.listen.items[2].port, 15061);
    path_in_dir(p, sizeof(p), "edge.crt");
    assert_string_equal(c->external.certificate, p);
    path_in_dir(p, sizeof(p), "edge.key");
    assert_string_equal(c->external.private_key, p);
    path_in_dir(p, sizeof(p), "ca.crt");
    assert_string_equal(c->external.ca_file, p);
    path_in_dir(p, sizeof(p), "cadir");
    assert_string_equal(c->external.ca_path, p);
    assert_false(c->external.require_client_certificate);
    assert_int_equal(c->external.tls_min_version, CONFIG_TLS_1_3);

    assert_int_equal(c->internal.listen.count, 1);
    assert_string_equal(c->internal.listen.items[0].host, "10.0.0.1");
    assert_int_equal(c->internal.transport, CONFIG_TRANSPORT_TLS);
    path_in_dir(p, sizeof(p), "int.crt");
    assert_string_equal(c->internal.certificate, p);
    path_in_dir(p, sizeof(p), "int-ca.crt");
    assert_string_equal(c->internal.ca_file, p);
    assert_int_equal(c->internal.next_hop.count, 4);
    assert_string_equal(c->internal.next_hop.items[0].host, "10.0.0.5");
    assert_int_equal(c->internal.next_hop.items[0].port, 5061); /* tls default */
    assert_string_equal(c->internal.next_hop.items[1].host, "sip.contoso.test");
    assert_int_equal(c->internal.next_hop.items[1].kind, CONFIG_HOST_NAME);
    assert_int_equal(c->internal.next_hop.items[1].port, 0); /* SRV */
    assert_string_equal(c->internal.next_hop.items[2].host, "2001:db8::5");
    assert_int_equal(c->internal.next_hop.items[2].port, 5070);
    assert_int_equal(c->internal.next_hop.items[3].port, 5071);

    assert_int_equal(c->federation.routing, CONFIG_ROUTING_DNS_SRV);
    assert_string_equal(c->federation.default_route.host, "2001:db8::99");
    assert_int_equal(c->federation.default_route.port, 5061);

    assert_int_equal(c->limits.max_message_size, 128 * 1024);
    assert_int_equal(c->limits.max_connections, 5000);
    assert_int_equal(c->limits.max_connections_per_ip, 50);
    assert_int_equal(c->limits.handshake_timeout_ms, 500);
    assert_int_equal(c->limits.idle_timeout_ms, 120000);
    assert_int_equal(c->limits.max_queued_bytes, 2 * 1024 * 1024);
    assert_int_equal(c->limits.max_connections_internal, 300);
    assert_int_equal(c->limits.max_connections_outbound, 400);
    assert_int_equal(c->limits.reserved_for_known, 600);
    assert_int_equal(c->limits.max_handshakes, 70);
    assert_int_equal(c->limits.handshake_rate, 5);
    assert_int_equal(c->limits.message_timeout_ms, 3000);
    assert_int_equal(c->log.level, OBS_LOG_DEBUG);
    assert_int_equal(c->log.format, OBS_LOG_JSON);
    assert_int_equal(c->dns.servers.count, 2);
    assert_string_equal(c->dns.servers.items[0].host, "127.0.0.1");
    assert_int_equal(c->dns.servers.items[0].port, 5353);
    assert_string_equal(c->dns.servers.items[1].host, "::1");
    assert_int_equal(c->dns.servers.items[1].port, 53);
    assert_int_equal(c->dns.timeout_ms, 1000);
    assert_int_equal(c->dns.tries, 4);
    assert_string_equal(c->admin.listen.host, "192.0.2.1");
    assert_int_equal(c->admin.listen.port, 8443);
    path_in_dir(p, sizeof(p), "admin.key");
    assert_string_equal(c->admin.private_key, p);

    assert_int_equal(config_key_line(c, "edge", "fqdn"), 3);
    assert_int_equal(config_key_line(c, "admin", "private_key"), 48);
    assert_int_equal(config_key_line(c, "limits", "nonexistent"), 0);
    config_free(c);
}

static void test_defaults(void **state)
{
    config_t *c;
    expect_ok(MIN, &c);
    char p[256];
    path_in_dir(p, sizeof(p), CONFIG_DEFAULT_STORE);
    assert_string_equal(c->edge.store, p);
    assert_null(c->external.ca_file);
    assert_null(c->external.ca_path);
    assert_true(c->external.require_client_certificate);
    assert_int_equal(c->external.tls_min_version, CONFIG_TLS_1_2);
    assert_int_equal(c->internal.transport, CONFIG_TRANSPORT_TCP);
    assert_null(c->internal.certificate);
    assert_int_equal(c->federation.routing, CONFIG_DEFAULT_ROUTING);
    assert_string_equal(c->federation.default_route.host, "sip.provider.test");
    assert_int_equal(c->federation.default_route.port, 5061);
    assert_int_equal(c->federation.failed_target_skip_ms, CONFIG_DEFAULT_FAILED_TARGET_SKIP_MS);
    assert_int_equal(CONFIG_DEFAULT_FAILED_TARGET_SKIP_MS, 30000);
    assert_int_equal(c->limits.max_message_size, 65536);
    assert_int_equal(c->limits.max_connections, 10000);
    assert_int_equal(c->limits.max_connections_per_ip, 100);
    assert_int_equal(c->limits.handshake_timeout_ms, 10000);
    assert_int_equal(c->limits.idle_timeout_ms, 300000);
    assert_int_equal(c->limits.max_queued_bytes, 1048576);
    assert_int_equal(c->limits.max_connections_internal, 1000);
    assert_int_equal(c->limits.max_connections_outbound, 1000);
    assert_int_equal(c->limits.reserved_for_known, 1000);
    assert_int_equal(c->limits.max_handshakes, 500);
    assert_int_equal(c->limits.handshake_rate, 20);
    assert_int_equal(c->limits.message_timeout_ms, 10000);
    assert_int_equal(c->log.level, OBS_LOG_INFO);
    assert_int_equal(c->log.format, OBS_LOG_TEXT);
    assert_int_equal(c->dns.servers.count, 0);
    assert_int_equal(c->dns.timeout_ms, 2000);
    assert_int_equal(c->dns.tries, 3);
    assert_string_equal(c->admin.listen.host, "127.0.0.1");
    assert_int_equal(c->admin.listen.port, 8080);
    assert_null(c->admin.certificate);
    assert_int_equal(c->internal.next_hop.items[0].port, 5080);
    assert_int_equal(config_key_line(c, "limits", "idle_timeout"), 0);
    assert_int_equal(config_key_line(c, "internal", "next_hop"), 11);
    config_free(c);
}

static void test_syntax_variants_accepted(void **state)
{
    /* CRLF, a BOM, indentation, blank and comment lines, inline comments,
     * upper-case names, ':'-free values, a line far longer than inih's
     * 200-byte default buffer. */
    char *text = malloc(8192);
    strcpy(text, "\xEF\xBB\xBF# comment\r\n"
                 "  [EDGE]  ; the edge\r\n"
                 "\tFQDN   =   edge.contoso.test   ; inline\r\n"
                 "    sip_domains = contoso.test");
    for (int i = 0; i < 150; i++)
        sprintf(text + strlen(text), ", d%03d.contoso.test", i);
    strcat(text, "\r\n\r\n" MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION "[limits]\nidle_timeout=45\n");
    config_t *c;
    expect_ok(text, &c);
    assert_string_equal(c->edge.fqdn, "edge.contoso.test");
    assert_int_equal(c->edge.sip_domain_count, 151);
    assert_string_equal(c->edge.sip_domains[150], "d149.contoso.test");
    assert_int_equal(c->limits.idle_timeout_ms, 45000);
    assert_int_equal(config_key_line(c, "edge", "sip_domains"), 4);
    assert_int_equal(config_key_line(c, "limits", "idle_timeout"), 17);
    config_free(c);
    free(text);
}

static void test_missing_file(void **state)
{
    config_t *c = (config_t *)1;
    fedge_err_t err;
    char p[256];
    path_in_dir(p, sizeof(p), "nope.ini");
    assert_int_equal(config_load(p, &c, &err), FEDGE_EIO);
    assert_null(c);
    char want[512];
    snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", p);
    assert_string_equal(err.msg, want);
}

static void test_structure_errors(void **state)
{
    expect_error(MIN "[foo]\nx = 1\n",
                 "14: unknown section [foo]; expected one of [edge], [external], [internal], "
                 "[federation], [limits], [log], [dns], [admin], [remote], [media], [xmpp], "
                 "[metrics]");
    expect_error(MIN "[limits]\nidle_timeuot = 5s\n",
                 "15: unknown key \"idle_timeuot\" in [limits]; expected one of max_message_size, "
                 "max_connections, max_connections_per_ip, handshake_timeout, idle_timeout, "
                 "max_queued_bytes, max_connections_internal, max_connections_outbound, "
                 "reserved_for_known, max_handshakes, handshake_rate, message_timeout");
    expect_error(MIN_EDGE "fqdn = other.contoso.test\n",
                 "4: duplicate key [edge] fqdn (first set on line 2); expected each key once");
    expect_error(MIN "[edge]\n",
                 "14: duplicate section [edge] (first on line 1); expected each section once");
    expect_error("fqdn = edge.contoso.test\n" MIN,
                 "1: key \"fqdn\" is outside any section; expected a [section] header before it");
    expect_error(MIN_EDGE "just some words\n",
                 "4: malformed line \"just some words\"; expected key = value, a [section] header, "
                 "or a comment starting with ; or #");
    expect_error(MIN_EDGE "listen: 1.2.3.4:5\n",
                 "4: malformed line \"listen: 1.2.3.4:5\"; expected key = value, a [section] "
                 "header, or a comment starting with ; or #");
    expect_error(MIN_EDGE "[external\n",
                 "4: malformed section header \"[external\"; expected [name] alone on its line");
    expect_error(MIN_EDGE "[external] x\n",
                 "4: malformed section header \"[external] x\"; expected [name] alone on its line");
    expect_error(MIN_EDGE "= value\n",
                 "4: malformed line \"= value\"; expected key = value, a [section] header, or a "
                 "comment starting with ; or #");
    expect_error(MIN_EDGE "store =\n",
                 "4: [edge] store = \"\": empty value; expected a file path like "
                 "/var/lib/fedge/fedge.db (SQLite) or a PostgreSQL connection URI like "
                 "postgresql://fedge@db.contoso.com:5432/fedge");
    expect_error(MIN_EDGE "store = a\001b\n[external]\nlisten = 1.2.3.4:5\x7f\n",
                 "6: [external] listen = \"1.2.3.4:5\\x7f\": port \"5?\" is not a number; "
                 "expected a comma-separated list of IP:port like 0.0.0.0:5061 or [::]:5061");
}

/* [edge] store: a PostgreSQL URI is kept as written (not a path relative
 * to the file's folder); a malformed one names the line, the problem and
 * the expected form, and never shows its password. */
static void test_store_uri(void **state)
{
    (void)state;
    config_t *c;
    expect_ok(MIN_EDGE
              "store = postgresql://fedge:pw@db.contoso.test:5432/fedge\n" MIN_EXTERNAL MIN_INTERNAL
                  MIN_FEDERATION,
              &c);
    assert_string_equal(c->edge.store, "postgresql://fedge:pw@db.contoso.test:5432/fedge");
    config_free(c);
    expect_ok(MIN_EDGE "store = postgres://db.contoso.test/fedge?sslmode=verify-full\n" MIN_EXTERNAL
                  MIN_INTERNAL MIN_FEDERATION,
              &c);
    assert_string_equal(c->edge.store, "postgres://db.contoso.test/fedge?sslmode=verify-full");
    config_free(c);
    expect_error(MIN_EDGE
                 "store = postgresql://fedge:pw@db/fedge?sslmod=require\n" MIN_EXTERNAL MIN_INTERNAL
                     MIN_FEDERATION,
                 "4: [edge] store = \"postgresql://fedge:***@db/fedge?sslmod=require\": not a "
                 "valid PostgreSQL connection URI (invalid URI query parameter: \"sslmod\"); "
                 "expected a file path like /var/lib/fedge/fedge.db (SQLite) or a PostgreSQL "
                 "connection URI like postgresql://fedge@db.contoso.com:5432/fedge");
}

/* A pool member's names: [edge] pool_fqdn and [internal] pool_name, and
 * the rules tying them (docs/configuration.md, rule 9). */
static void test_pool_names(void **state)
{
    (void)state;
    config_t *c;
    expect_ok(MIN_EDGE "pool_fqdn = Edge-Pool.contoso.test.\n" MIN_EXTERNAL MIN_INTERNAL
                       "pool_name = pool.corp.contoso.test\n" MIN_FEDERATION,
              &c);
    assert_string_equal(c->edge.pool_fqdn, "edge-pool.contoso.test");
    assert_string_equal(c->internal.pool_name, "pool.corp.contoso.test");
    config_free(c);
    expect_ok(MIN, &c);
    assert_null(c->edge.pool_fqdn);
    assert_null(c->internal.pool_name);
    config_free(c);
    expect_error(MIN_EDGE
                 "pool_fqdn = edge.contoso.test\n" MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION,
                 "4: [edge] pool_fqdn = edge.contoso.test: the same as fqdn; expected a fully "
                 "qualified domain name like edge-pool.contoso.com, the name the SRV records "
                 "point to, other than fqdn (fqdn names this member, pool_fqdn every member; "
                 "leave pool_fqdn out for an edge alone)");
    expect_error(MIN_EDGE "pool_fqdn = pool\n" MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION,
                 "4: [edge] pool_fqdn = \"pool\": a single label is not a fully qualified name; "
                 "expected a fully qualified domain "
                 "name like edge-pool.contoso.com, the name the SRV records point to, other than "
                 "fqdn");
    expect_error(MIN_EDGE MIN_EXTERNAL MIN_INTERNAL
                 "pool_name = pool.corp.contoso.test\n" MIN_FEDERATION,
                 "12: [internal] pool_name = pool.corp.contoso.test: set without [edge] "
                 "pool_fqdn; expected pool_fqdn in [edge] as well (a pool has both names), or "
                 "no pool_name");
    expect_error(MIN_EDGE "pool_fqdn = pool.contoso.test\n" MIN_EXTERNAL MIN_INTERNAL
                          "pool_name = pool.contoso.test\n" MIN_FEDERATION,
                 "13: [internal] pool_name = pool.contoso.test: the same as [edge] pool_fqdn; "
                 "expected a fully qualified domain name like edge-pool.corp.contoso.com that "
                 "resolves to every member's internal address, other than the external names");
}

static void test_nul_and_long_lines(void **state)
{
    config_t *c = (config_t *)1;
    fedge_err_t err;
    char p[256], want[512];
    path_in_dir(p, sizeof(p), "nul.ini");
    FILE *f = fopen(p, "wb");
    fwrite("[edge]\nfqdn = a\0b\n", 1, 18, f);
    fclose(f);
    assert_int_equal(config_load(p, &c, &err), FEDGE_ECONFIG);
    snprintf(want, sizeof(want), "%s:2: NUL byte in the line; expected text", p);
    assert_string_equal(err.msg, want);

    char *text = malloc(6000);
    strcpy(text, "[edge]\n; x\nstore = ");
    memset(text + strlen(text), 'a', 5000);
    text[19 + 5000] = '\0';
    strcat(text, "\n");
    expect_error(text, "3: line is 5008 bytes long; expected at most 4096");

    /* Exactly 4096 bytes is accepted, whole (inih's own buffer is 200). */
    sprintf(text, "%s[edge]\nstore = ", MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION);
    size_t at = strlen(text);
    memset(text + at, 'b', 4096 - 8);
    strcpy(text + at + 4096 - 8, "\nfqdn = edge.contoso.test\nsip_domains = contoso.test\n");
    config_t *cfg;
    expect_ok(text, &cfg);
    size_t sl = strlen(cfg->edge.store);
    assert_true(sl > 4088);
    assert_int_equal(strspn(cfg->edge.store + sl - 4088, "b"), 4088);
    assert_string_equal(cfg->edge.fqdn, "edge.contoso.test");
    assert_int_equal(config_key_line(cfg, "edge", "fqdn"), 13);
    config_free(cfg);
    text[at + 4096 - 8] = 'b';
    strcpy(text + at + 4096 - 7, "\n");
    expect_error(text, "12: line is 4097 bytes long; expected at most 4096");
    free(text);
}

static void test_value_errors(void **state)
{
    /* The example of docs/configuration.md ("Errors"), word for word. */
    expect_error(MIN "[limits]\nidle_timeout = ten\n",
                 "15: [limits] idle_timeout = \"ten\"; expected a duration like 30s, 5m or 500ms, "
                 "from 1s to 24h");
    expect_error(MIN "[limits]\nidle_timeout = 500ms\n",
                 "15: [limits] idle_timeout = \"500ms\": out of range; expected a duration like "
                 "30s, 5m or 500ms, from 1s to 24h");
    expect_error(MIN "[limits]\nhandshake_timeout = 10 s\n",
                 "15: [limits] handshake_timeout = \"10 s\"; expected a duration like 30s, 5m or "
                 "500ms, from 100ms to 5m");
    expect_error(MIN "[limits]\nmax_message_size = 64x\n",
                 "15: [limits] max_message_size = \"64x\"; expected a size like 65536, 64k or 1M, "
                 "from 1k to 16M");
    expect_error(MIN "[limits]\nmax_message_size = 17M\n",
                 "15: [limits] max_message_size = \"17M\": out of range; expected a size like "
                 "65536, 64k or 1M, from 1k to 16M");
    expect_error(
        MIN "[limits]\nmax_connections = -1\n",
        "15: [limits] max_connections = \"-1\"; expected a whole number from 1 to 1000000");
    expect_error(MIN "[limits]\nmax_connections = 0\n",
                 "15: [limits] max_connections = \"0\": out of range; expected a whole number "
                 "from 1 to 1000000");
    expect_error(MIN "[limits]\nmax_connections = 99999999999999999999\n",
                 "15: [limits] max_connections = \"99999999999999999999\"; expected a whole number "
                 "from 1 to 1000000");
    expect_error(MIN "[external]\n",
                 "14: duplicate section [external] (first on line 4); expected each section once");
    expect_error(MIN_EDGE "[external]\nrequire_client_certificate = maybe\n",
                 "5: [external] require_client_certificate = \"maybe\"; expected yes or no (or "
                 "true/false, on/off, 1/0)");
    expect_error(MIN_EDGE "[external]\ntls_min_version = 1.1\n",
                 "5: [external] tls_min_version = \"1.1\"; expected 1.2 or 1.3");
    expect_error(MIN_EDGE "[internal]\ntransport = sctp\n",
                 "5: [internal] transport = \"sctp\"; expected tls, tcp or udp");
    expect_error(MIN_EDGE "[federation]\nrouting = srv\n",
                 "5: [federation] routing = \"srv\"; expected dns-srv or default-route");
    expect_error(MIN_EDGE "[federation]\nfailed_target_skip = 2h\n",
                 "5: [federation] failed_target_skip = \"2h\": out of range; expected a duration "
                 "like 30s, 5m or 500ms, from 0 to 1h");
    {
        config_t *fc;
        expect_ok(MIN_EDGE MIN_EXTERNAL MIN_INTERNAL
                  "[federation]\nrouting = dns-srv\nfailed_target_skip = 1500ms\n",
                  &fc);
        assert_int_equal(fc->federation.failed_target_skip_ms, 1500);
        config_free(fc);
        expect_ok(MIN_EDGE MIN_EXTERNAL MIN_INTERNAL "[federation]\nfailed_target_skip = 0\n", &fc);
        assert_int_equal(fc->federation.failed_target_skip_ms, 0);
        assert_int_equal(fc->federation.routing, CONFIG_ROUTING_DNS_SRV);
        config_free(fc);
    }
    expect_error(MIN_EDGE "[log]\nlevel = verbose\n",
                 "5: [log] level = \"verbose\"; expected debug, info, notice, warning or error");
    expect_error(MIN_EDGE "[log]\nformat = xml\n",
                 "5: [log] format = \"xml\"; expected text or json");
    expect_error(MIN_EDGE "[dns]\ntries = 11\n",
                 "5: [dns] tries = \"11\": out of range; expected a whole number from 1 to 10");
    expect_error(
        MIN_EDGE "[dns]\nservers = ns.contoso.test\n",
        "5: [dns] servers = \"ns.contoso.test\": \"ns.contoso.test\" is not an IP "
        "address; expected a comma-separated list of IP[:port] like 127.0.0.1:53 or [::1]");
}

static void test_domain_errors(void **state)
{
    expect_error("[edge]\nfqdn = edge\n",
                 "2: [edge] fqdn = \"edge\": a single label is not a fully qualified name; "
                 "expected a fully qualified domain name like edge.contoso.com");
    expect_error("[edge]\nfqdn = -edge.contoso.test\n",
                 "2: [edge] fqdn = \"-edge.contoso.test\": label \"-edge\" starts with a hyphen; "
                 "expected a fully qualified domain name like edge.contoso.com");
    expect_error("[edge]\nfqdn = edge-.contoso.test\n",
                 "2: [edge] fqdn = \"edge-.contoso.test\": label \"edge-\" ends with a hyphen; "
                 "expected a fully qualified domain name like edge.contoso.com");
    expect_error("[edge]\nfqdn = edge_1.contoso.test\n",
                 "2: [edge] fqdn = \"edge_1.contoso.test\": character '_' is not allowed in a "
                 "name; expected a fully qualified domain name like edge.contoso.com");
    expect_error("[edge]\nfqdn = edge..contoso.test\n",
                 "2: [edge] fqdn = \"edge..contoso.test\": empty label (two dots in a row, or a "
                 "leading dot); expected a fully qualified domain name like edge.contoso.com");
    expect_error("[edge]\nfqdn = 192.0.2.1\n",
                 "2: [edge] fqdn = \"192.0.2.1\": the last label is all digits (not a name); "
                 "expected a fully qualified domain name like edge.contoso.com");
    expect_error("[edge]\nsip_domains = contoso.test, CONTOSO.test\n",
                 "2: [edge] sip_domains = \"CONTOSO.test\": listed twice; expected a "
                 "comma-separated list of domain names like contoso.com, contoso.net");
    expect_error("[edge]\nsip_domains = contoso.test,,fabrikam.test\n",
                 "2: [edge] sip_domains = \"contoso.test,,fabrikam.test\": empty item in the list; "
                 "expected a comma-separated list of domain names like contoso.com, contoso.net");
    expect_error("[edge]\nsip_domains = contoso.test,\n",
                 "2: [edge] sip_domains = \"contoso.test,\": empty item in the list; expected a "
                 "comma-separated list of domain names like contoso.com, contoso.net");
    char long_label[200];
    snprintf(long_label, sizeof(long_label), "[edge]\nfqdn = %0*d.test\n", 64, 0);
    expect_error(long_label,
                 "2: [edge] fqdn = "
                 "\"0000000000000000000000000000000000000000000000000000000000000000.test\": "
                 "label \"00000000000000000000...\" is 64 characters long, more than 63; "
                 "expected a fully qualified domain name like edge.contoso.com");
}

static void test_listen_errors(void **state)
{
    const char *form = "expected a comma-separated list of IP:port like 0.0.0.0:5061 or [::]:5061";
    char want[512];
    snprintf(want, sizeof(want), "6: [external] listen = \"1.2.3.4\": no port; %s", form);
    expect_error(MIN_EDGE "[external]\ncertificate = edge.crt\nlisten = 1.2.3.4\n", want);
    snprintf(want, sizeof(want), "5: [external] listen = \"::1:5061\": no port; %s", form);
    expect_error(MIN_EDGE "[external]\nlisten = ::1:5061\n", want);
    snprintf(want, sizeof(want),
             "5: [external] listen = \"[::1]:70000\": port 70000 is out of range 1-65535; %s",
             form);
    expect_error(MIN_EDGE "[external]\nlisten = [::1]:70000\n", want);
    snprintf(want, sizeof(want),
             "5: [external] listen = \"[::g]:5061\": \"::g\" is not a valid IPv6 address; %s",
             form);
    expect_error(MIN_EDGE "[external]\nlisten = [::g]:5061\n", want);
    snprintf(want, sizeof(want),
             "5: [external] listen = \"1.2.3.256:5061\": \"1.2.3.256\" is not a valid IPv4 "
             "address; %s",
             form);
    expect_error(MIN_EDGE "[external]\nlisten = 1.2.3.256:5061\n", want);
    snprintf(want, sizeof(want),
             "5: [external] listen = \"edge.contoso.test:5061\": \"edge.contoso.test\" is not an "
             "IP address; %s",
             form);
    expect_error(MIN_EDGE "[external]\nlisten = edge.contoso.test:5061\n", want);
    snprintf(want, sizeof(want), "5: [external] listen = \"[0:0::1]:5061\": listed twice; %s",
             form);
    expect_error(MIN_EDGE "[external]\nlisten = [::1]:5061, [0:0::1]:5061\n", want);
    snprintf(want, sizeof(want), "5: [external] listen = \"1.2.3.4:\": empty port after ':'; %s",
             form);
    expect_error(MIN_EDGE "[external]\nlisten = 1.2.3.4:\n", want);
    snprintf(want, sizeof(want),
             "5: [external] listen = \"[::1]5061\": unexpected text after ']'; %s", form);
    expect_error(MIN_EDGE "[external]\nlisten = [::1]5061\n", want);
    expect_error(MIN_EDGE MIN_EXTERNAL "[internal]\nnext_hop = sip_1.contoso.test:5060\n",
                 "9: [internal] next_hop = \"sip_1.contoso.test:5060\": host "
                 "\"sip_1.contoso.test\": character '_' is not allowed in a name; expected a "
                 "comma-separated list of host[:port] like 10.0.0.5:5061, [2001:db8::5]:5061 or "
                 "sip.contoso.com");
    expect_error(MIN_EDGE "[admin]\nlisten = 127.0.0.1\n",
                 "5: [admin] listen = \"127.0.0.1\": no port; expected IP:port like "
                 "127.0.0.1:8080 or [::1]:8080");
}

/* [metrics] listen and [log] access: off by default, FILE:LINE errors. */
static void test_metrics_and_access_log(void **state)
{
    (void)state;
    config_t *c;
    expect_ok(MIN, &c);
    assert_null(c->metrics.listen.host);
    assert_false(c->log.access);
    config_free(c);
    expect_ok(MIN "[log]\naccess = on\nformat = json\n[metrics]\nlisten = [::1]:9464\n", &c);
    assert_true(c->log.access);
    assert_int_equal(c->log.format, OBS_LOG_JSON);
    assert_string_equal(c->metrics.listen.host, "::1");
    assert_int_equal(c->metrics.listen.port, 9464);
    assert_int_equal(config_key_line(c, "metrics", "listen"), 18);
    config_free(c);
    expect_error(MIN "[metrics]\nlisten = 127.0.0.1\n",
                 "15: [metrics] listen = \"127.0.0.1\": no port; expected IP:port like "
                 "127.0.0.1:9464 or [::1]:9464");
    expect_error(MIN "[metrics]\nlisten = 127.0.0.1:5071\n",
                 "15: [metrics] listen = \"127.0.0.1:5071\": clashes with 127.0.0.1:5071 of "
                 "[internal] listen on line 9; expected distinct listening ports or addresses");
    expect_error(MIN "[log]\naccess = sometimes\n",
                 "15: [log] access = \"sometimes\"; expected on or off (or yes/no, true/false, "
                 "1/0)");
    expect_error(MIN "[metrics]\nport = 9464\n",
                 "15: unknown key \"port\" in [metrics]; expected one of listen");
}

static void test_ipv6_listen(void **state)
{
    config_t *c;
    expect_ok(
        MIN_EDGE
        "[external]\n"
        "listen = [::1]:5061,[2001:0DB8:0000:0000:0000:0000:0000:0001]:5062 , 127.0.0.2:5063\n"
        "certificate = edge.crt\n"
        "private_key = edge.key\n" MIN_INTERNAL MIN_FEDERATION,
        &c);
    assert_int_equal(c->external.listen.count, 3);
    assert_string_equal(c->external.listen.items[0].host, "::1");
    assert_int_equal(c->external.listen.items[0].kind, CONFIG_HOST_IPV6);
    assert_int_equal(c->external.listen.items[0].port, 5061);
    assert_string_equal(c->external.listen.items[1].host, "2001:db8::1");
    assert_int_equal(c->external.listen.items[1].port, 5062);
    assert_string_equal(c->external.listen.items[2].host, "127.0.0.2");
    assert_int_equal(c->external.listen.items[2].kind, CONFIG_HOST_IPV4);
    char buf[64];
    assert_string_equal(config_hostport_format(&c->external.listen.items[1], buf, sizeof(buf)),
                        "[2001:db8::1]:5062");
    config_free(c);
}

static void test_required_keys(void **state)
{
    expect_error("[edge]\nsip_domains = contoso.test\n" MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION,
                 "1: [edge] fqdn is missing; expected fqdn = a fully qualified domain name like "
                 "edge.contoso.com");
    /* No [edge] at all: reported at the last line. */
    expect_error(MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION,
                 "10: [edge] fqdn is missing; expected fqdn = a fully qualified domain name like "
                 "edge.contoso.com");
    expect_error("[edge]\nfqdn = edge.contoso.test\n" MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION,
                 "1: [edge] sip_domains is missing; expected sip_domains = a comma-separated list "
                 "of domain names like contoso.com, contoso.net");
    expect_error(
        MIN_EDGE
        "[external]\nlisten = 127.0.0.1:5061\ncertificate = edge.crt\n" MIN_INTERNAL MIN_FEDERATION,
        "4: [external] private_key is missing; expected private_key = a path to a "
        "readable file");
    expect_error(
        MIN_EDGE
        "[external]\ncertificate = edge.crt\nprivate_key = edge.key\n" MIN_INTERNAL MIN_FEDERATION,
        "4: [external] listen is missing; expected listen = a comma-separated list of "
        "IP:port like 0.0.0.0:5061 or [::]:5061");
    expect_error(MIN_EDGE MIN_EXTERNAL
                 "[internal]\nlisten = 127.0.0.1:5071\ntransport = tcp\n" MIN_FEDERATION,
                 "8: [internal] next_hop is missing; expected next_hop = a comma-separated list of "
                 "host[:port] like 10.0.0.5:5061, [2001:db8::5]:5061 or sip.contoso.com");
    /* Without [federation] at all, it depends on the default routing (one
     * constant, to become dns-srv with DNS routing). */
    config_t *c;
    if (CONFIG_DEFAULT_ROUTING == CONFIG_ROUTING_DEFAULT_ROUTE) {
        expect_error(MIN_EDGE MIN_EXTERNAL MIN_INTERNAL,
                     "11: [federation] default_route is missing (needed by routing = "
                     "default-route, the default); expected default_route = host[:port] like "
                     "sip.provider.example or 192.0.2.10:5061");
    } else {
        expect_ok(MIN_EDGE MIN_EXTERNAL MIN_INTERNAL, &c);
        assert_int_equal(c->federation.routing, CONFIG_ROUTING_DNS_SRV);
        config_free(c);
    }
    expect_error(MIN_EDGE MIN_EXTERNAL MIN_INTERNAL "[federation]\nrouting = default-route\n",
                 "12: [federation] default_route is missing (needed by routing = default-route); "
                 "expected default_route = host[:port] like sip.provider.example or "
                 "192.0.2.10:5061");
    expect_ok(MIN_EDGE MIN_EXTERNAL MIN_INTERNAL "[federation]\nrouting = dns-srv\n", &c);
    assert_null(c->federation.default_route.host);
    config_free(c);
}

/* [xmpp]: absent means off; present needs listen; a listen that clashes
 * with another side's is refused; certificate and key come as a pair. */
static void test_xmpp_section(void **state)
{
    config_t *c;
    expect_ok(MIN, &c);
    assert_false(c->xmpp.enabled);
    assert_int_equal(c->xmpp.listen.count, 0);
    config_free(c);
    expect_error(MIN "[xmpp]\n",
                 "14: [xmpp] listen is missing (the [xmpp] section turns the XMPP gateway on); "
                 "expected listen = a comma-separated list of IP:port like 0.0.0.0:5269 or "
                 "[::]:5269");
    expect_ok(MIN "[xmpp]\nlisten = 127.0.0.1:5269\n", &c);
    assert_true(c->xmpp.enabled);
    assert_int_equal(c->xmpp.listen.count, 1);
    assert_int_equal(c->xmpp.listen.items[0].port, 5269);
    assert_null(c->xmpp.certificate);
    config_free(c);
    expect_error(MIN "[xmpp]\nlisten = 127.0.0.1:5061\n",
                 "15: [xmpp] listen = \"127.0.0.1:5061\": clashes with 127.0.0.1:5061 of "
                 "[external] listen on line 5; expected distinct listening ports or addresses");
    expect_error(MIN "[xmpp]\nlisten = 127.0.0.1:5269\ncertificate = edge.crt\n",
                 "16: [xmpp] certificate is set but private_key is missing; expected both or "
                 "neither");
}

static void test_cross_field_rules(void **state)
{
    /* internal transport udp: next hops are IP addresses (datagrams go to
     * addresses; no name is resolved for UDP). */
    expect_error(MIN_EDGE MIN_EXTERNAL
                 "[internal]\nlisten = 127.0.0.1:5071\ntransport = udp\n"
                 "next_hop = 127.0.0.1:5080, pbx.contoso.test\n" MIN_FEDERATION,
                 "11: [internal] next_hop pbx.contoso.test is a name but transport = udp sends to "
                 "IP addresses only; expected an IP address like 192.0.2.10:5060");
    config_t *u;
    expect_ok(MIN_EDGE MIN_EXTERNAL "[internal]\nlisten = 127.0.0.1:5071\ntransport = UDP\n"
                                    "next_hop = 127.0.0.1\n" MIN_FEDERATION,
              &u);
    assert_int_equal(u->internal.transport, CONFIG_TRANSPORT_UDP);
    assert_int_equal(u->internal.next_hop.items[0].port, 5060);
    assert_string_equal(config_transport_name(u->internal.transport), "udp");
    config_free(u);
    /* internal transport tls (the default) needs certificate and key. */
    expect_error(MIN_EDGE MIN_EXTERNAL "[internal]\nlisten = 127.0.0.1:5071\n"
                                       "next_hop = 127.0.0.1:5080\n" MIN_FEDERATION,
                 "8: [internal] transport is tls (the default) but certificate is missing; "
                 "expected certificate = a path to a readable file and private_key = a path to a "
                 "readable file in [internal], or transport = tcp");
    expect_error(MIN_EDGE MIN_EXTERNAL
                 "[internal]\nlisten = 127.0.0.1:5071\ntransport = tls\n"
                 "certificate = int.crt\nnext_hop = 127.0.0.1:5080\n" MIN_FEDERATION,
                 "10: [internal] transport is tls but private_key is missing; expected "
                 "certificate = a path to a readable file and private_key = a path to a readable "
                 "file in [internal], or transport = tcp");
    /* Non-loopback admin without certificate. */
    expect_error(MIN "[admin]\nlisten = 0.0.0.0:8080\n",
                 "15: [admin] listen = \"0.0.0.0:8080\" is not a loopback address but certificate "
                 "and private_key are missing; expected certificate and private_key in [admin] "
                 "(the API is then served over HTTPS), or a loopback address like 127.0.0.1:8080");
    expect_error(MIN "[admin]\nlisten = [2001:db8::1]:8080\n",
                 "15: [admin] listen = \"[2001:db8::1]:8080\" is not a loopback address but "
                 "certificate and private_key are missing; expected certificate and private_key "
                 "in [admin] (the API is then served over HTTPS), or a loopback address like "
                 "127.0.0.1:8080");
    expect_error(MIN "[admin]\nlisten = 0.0.0.0:8080\ncertificate = admin.crt\n",
                 "16: [admin] certificate is set but private_key is missing; expected both or "
                 "neither");
    config_t *c;
    expect_ok(MIN "[admin]\nlisten = [::1]:8080\n", &c);
    assert_true(config_hostport_is_loopback(&c->admin.listen));
    config_free(c);
    expect_ok(MIN "[admin]\nlisten = 127.1.2.3:8080\n", &c);
    config_free(c);
    expect_ok(MIN
              "[admin]\nlisten = 0.0.0.0:8443\ncertificate = admin.crt\nprivate_key = admin.key\n",
              &c);
    assert_false(config_hostport_is_loopback(&c->admin.listen));
    config_free(c);
    /* Limits that contradict each other. */
    expect_error(MIN "[limits]\nmax_connections = 10\nmax_connections_per_ip = 20\n",
                 "16: [limits] max_connections_per_ip = 20 is more than max_connections = 10; "
                 "expected max_connections_per_ip <= max_connections");
    expect_error(MIN "[limits]\nmax_connections = 10\n",
                 "15: [limits] max_connections_per_ip = 100 is more than max_connections = 10; "
                 "expected max_connections_per_ip <= max_connections");
    expect_error(MIN "[limits]\nmax_connections = 500\nreserved_for_known = 500\n",
                 "16: [limits] reserved_for_known = 500 is not less than max_connections = 500; "
                 "expected reserved_for_known < max_connections (the places kept for known "
                 "peers out of the external side's budget)");
    expect_error(MIN "[limits]\nmessage_timeout = 0s\n",
                 "15: [limits] message_timeout = \"0s\": out of range; expected a duration like "
                 "10s or 500ms, from 100ms to 5m");
    /* The default reserve follows a small max_connections down. */
    expect_ok(MIN "[limits]\nmax_connections = 200\nmax_connections_per_ip = 5\n", &c);
    assert_int_equal(c->limits.reserved_for_known, 20);
    config_free(c);
    /* Listening addresses that cannot all be bound. */
    expect_error(MIN_EDGE MIN_EXTERNAL "[internal]\nlisten = 0.0.0.0:5061\ntransport = tcp\n"
                                       "next_hop = 127.0.0.1:5080\n" MIN_FEDERATION,
                 "9: [internal] listen = \"0.0.0.0:5061\": clashes with 127.0.0.1:5061 of "
                 "[external] listen on line 5; expected distinct listening ports or addresses");
    expect_error(MIN "[admin]\nlisten = 127.0.0.1:5071\n",
                 "15: [admin] listen = \"127.0.0.1:5071\": clashes with 127.0.0.1:5071 of "
                 "[internal] listen on line 9; expected distinct listening ports or addresses");
    /* [::] and 0.0.0.0 on one port are fine (IPV6_V6ONLY). */
    expect_ok(MIN_EDGE "[external]\nlisten = 0.0.0.0:5061, [::]:5061\ncertificate = edge.crt\n"
                       "private_key = edge.key\n" MIN_INTERNAL MIN_FEDERATION,
              &c);
    config_free(c);
}

static void test_remote_section(void **state)
{
    config_t *c;
    /* No [remote]: remote users off, nothing listens. */
    expect_ok(MIN, &c);
    assert_int_equal(c->remote.listen.count, 0);
    assert_int_equal(c->remote.registrar.count, 0);
    config_free(c);
    /* Defaults: port 443; a registrar IP without port gets the internal
     * transport's port, a name keeps 0 (SRV first, like next_hop). */
    expect_ok(MIN "[remote]\nlisten = 127.0.0.1, [::1]:8443\n"
                  "registrar = 127.0.0.1, registrar.contoso.test\n",
              &c);
    assert_int_equal(c->remote.listen.count, 2);
    assert_string_equal(c->remote.listen.items[0].host, "127.0.0.1");
    assert_int_equal(c->remote.listen.items[0].port, 443);
    assert_int_equal(c->remote.listen.items[1].port, 8443);
    assert_int_equal(c->remote.registrar.count, 2);
    assert_int_equal(c->remote.registrar.items[0].port, 5060); /* MIN: transport = tcp */
    assert_int_equal(c->remote.registrar.items[1].kind, CONFIG_HOST_NAME);
    assert_int_equal(c->remote.registrar.items[1].port, 0);
    assert_int_equal(c->remote.max_connections_per_ip,
                     CONFIG_DEFAULT_REMOTE_MAX_CONNECTIONS_PER_IP);
    assert_int_equal(c->remote.register_rate, CONFIG_DEFAULT_REMOTE_REGISTER_RATE);
    assert_int_equal(c->remote.lockout_user_failures, CONFIG_DEFAULT_REMOTE_LOCKOUT_USER_FAILURES);
    assert_int_equal(c->remote.lockout_addr_failures, CONFIG_DEFAULT_REMOTE_LOCKOUT_ADDR_FAILURES);
    assert_int_equal(c->remote.lockout_window_ms, CONFIG_DEFAULT_REMOTE_LOCKOUT_WINDOW_MS);
    assert_int_equal(c->remote.lockout_period_ms, CONFIG_DEFAULT_REMOTE_LOCKOUT_PERIOD_MS);
    assert_int_equal(config_key_line(c, "remote", "registrar"), 16);
    config_free(c);
    /* Every limit set. */
    expect_ok(MIN "[remote]\nlisten = 127.0.0.1:5062\nregistrar = 127.0.0.1:5090\n"
                  "max_connections_per_ip = 5\nregister_rate = 30\nlockout_user_failures = 20\n"
                  "lockout_address_failures = 200\nlockout_window = 10m\nlockout_period = 1h\n",
              &c);
    assert_int_equal(c->remote.max_connections_per_ip, 5);
    assert_int_equal(c->remote.register_rate, 30);
    assert_int_equal(c->remote.lockout_user_failures, 20);
    assert_int_equal(c->remote.lockout_addr_failures, 200);
    assert_int_equal(c->remote.lockout_window_ms, 600000);
    assert_int_equal(c->remote.lockout_period_ms, 3600000);
    config_free(c);
    /* 5061 on an address of its own is fine; shared with federation it is not. */
    expect_ok(MIN "[remote]\nlisten = 127.0.0.2:5061\nregistrar = 127.0.0.1:5090\n", &c);
    config_free(c);
    expect_error(MIN "[remote]\nlisten = 127.0.0.1:5061\nregistrar = 127.0.0.1:5090\n",
                 "15: [remote] listen = \"127.0.0.1:5061\": shares 127.0.0.1:5061 with [external] "
                 "listen on line 5; expected a port or address of its own (partners on [external] "
                 "present a client certificate, remote clients do not; 443 is the usual remote "
                 "port)");
    expect_error(MIN "[remote]\nlisten = 0.0.0.0:5061\nregistrar = 127.0.0.1:5090\n",
                 "15: [remote] listen = \"0.0.0.0:5061\": shares 127.0.0.1:5061 with [external] "
                 "listen on line 5; expected a port or address of its own (partners on [external] "
                 "present a client certificate, remote clients do not; 443 is the usual remote "
                 "port)");
    expect_error(MIN "[remote]\nlisten = 127.0.0.1:5071\nregistrar = 127.0.0.1:5090\n",
                 "15: [remote] listen = \"127.0.0.1:5071\": clashes with 127.0.0.1:5071 of "
                 "[internal] listen on line 9; expected distinct listening ports or addresses");
    /* Both ends required. */
    expect_error(MIN "[remote]\nlisten = 127.0.0.1:443\n",
                 "14: [remote] registrar is missing (remote users register with an internal "
                 "server); expected registrar = a comma-separated list of host[:port] like "
                 "10.0.0.5:5061, [2001:db8::5]:5061 or registrar.contoso.com");
    expect_error(MIN "[remote]\nregistrar = 127.0.0.1:5090\n",
                 "14: [remote] listen is missing (a [remote] section serves remote users); "
                 "expected listen = a comma-separated list of IP[:port] like 0.0.0.0:443 or [::] "
                 "(port 443 when left out)");
    /* Values. */
    expect_error(
        MIN "[remote]\nlisten = remote.contoso.test\nregistrar = 127.0.0.1\n",
        "15: [remote] listen = \"remote.contoso.test\": \"remote.contoso.test\" is not an IP "
        "address; "
        "expected a comma-separated list of IP[:port] like 0.0.0.0:443 or [::] (port "
        "443 when left out)");
    expect_error(MIN "[remote]\nlisten = 127.0.0.1\nregistrar = 127.0.0.1:99999\n",
                 "16: [remote] registrar = \"127.0.0.1:99999\": port 99999 is out of range "
                 "1-65535; expected a comma-separated list of host[:port] like 10.0.0.5:5061, "
                 "[2001:db8::5]:5061 or registrar.contoso.com");
    expect_error(MIN "[remote]\nlisten = 127.0.0.1\nregistrar = 127.0.0.1\nlockout_window = 0\n",
                 "17: [remote] lockout_window = \"0\": out of range; expected a duration like 5m "
                 "or 30s, from 1s to 24h");
    expect_error(MIN "[remote]\nlisten = 127.0.0.1\nregistrar = 127.0.0.1\nregister_rate = x\n",
                 "17: [remote] register_rate = \"x\"; expected a whole number of REGISTERs per "
                 "minute from 1 to 100000");
}

static void test_files_must_be_readable(void **state)
{
    char want[1024], p[256];
    path_in_dir(p, sizeof(p), "missing.crt");
    snprintf(want, sizeof(want),
             "6: [external] certificate = \"missing.crt\": cannot read \"%s\": No such file or "
             "directory; expected a path to a readable file",
             p);
    expect_error(MIN_EDGE "[external]\nlisten = 127.0.0.1:5061\ncertificate = missing.crt\n"
                          "private_key = edge.key\n" MIN_INTERNAL MIN_FEDERATION,
                 want);
    expect_error(MIN_EDGE "[external]\nlisten = 127.0.0.1:5061\ncertificate = edge.crt\n"
                          "private_key = /nonexistent/fedge/edge.key\n" MIN_INTERNAL MIN_FEDERATION,
                 "7: [external] private_key = \"/nonexistent/fedge/edge.key\": cannot read it: No "
                 "such file or directory; expected a path to a readable file");
    path_in_dir(p, sizeof(p), "afolder");
    snprintf(want, sizeof(want),
             "8: [external] ca_file = \"afolder\": cannot read \"%s\": it is a folder; expected "
             "a path to a readable file",
             p);
    expect_error(MIN_EDGE MIN_EXTERNAL "ca_file = afolder\n" MIN_INTERNAL MIN_FEDERATION, want);
    path_in_dir(p, sizeof(p), "edge.crt");
    snprintf(want, sizeof(want),
             "8: [external] ca_path = \"edge.crt\": cannot read \"%s\": Not a directory; "
             "expected a path to a readable folder",
             p);
    expect_error(MIN_EDGE MIN_EXTERNAL "ca_path = edge.crt\n" MIN_INTERNAL MIN_FEDERATION, want);
    /* revocation lists: a readable file, a readable folder */
    expect_error(MIN_EDGE MIN_EXTERNAL
                 "crl_file = /nonexistent/fedge/partners.crl\n" MIN_INTERNAL MIN_FEDERATION,
                 "8: [external] crl_file = \"/nonexistent/fedge/partners.crl\": cannot read it: "
                 "No such file or directory; expected a path to a readable file");
    snprintf(want, sizeof(want),
             "8: [external] crl_path = \"edge.crt\": cannot read \"%s\": Not a directory; "
             "expected a path to a readable folder",
             p);
    expect_error(MIN_EDGE MIN_EXTERNAL "crl_path = edge.crt\n" MIN_INTERNAL MIN_FEDERATION, want);
    expect_error(MIN "[admin]\nlisten = 0.0.0.0:8443\ncertificate = admin.crt\n"
                     "private_key = /nonexistent/admin.key\n",
                 "17: [admin] private_key = \"/nonexistent/admin.key\": cannot read it: No such "
                 "file or directory; expected a path to a readable file");
    /* A FIFO or device is refused, and checking it does not block. */
    path_in_dir(p, sizeof(p), "fifo.key");
    assert_int_equal(mkfifo(p, 0600), 0);
    snprintf(want, sizeof(want),
             "7: [external] private_key = \"fifo.key\": cannot read \"%s\": not a regular file; "
             "expected a path to a readable file",
             p);
    expect_error(MIN_EDGE "[external]\nlisten = 127.0.0.1:5061\ncertificate = edge.crt\n"
                          "private_key = fifo.key\n" MIN_INTERNAL MIN_FEDERATION,
                 want);
    expect_error(MIN_EDGE "[external]\nlisten = 127.0.0.1:5061\ncertificate = /dev/null\n"
                          "private_key = edge.key\n" MIN_INTERNAL MIN_FEDERATION,
                 "6: [external] certificate = \"/dev/null\": cannot read it: not a regular file; "
                 "expected a path to a readable file");
    if (geteuid() != 0) {
        /* An unreadable file (root can read anything, so only as a user). */
        write_file("secret.key", "key\n");
        path_in_dir(p, sizeof(p), "secret.key");
        chmod(p, 0);
        snprintf(want, sizeof(want),
                 "7: [external] private_key = \"secret.key\": cannot read \"%s\": Permission "
                 "denied; expected a path to a readable file",
                 p);
        expect_error(MIN_EDGE "[external]\nlisten = 127.0.0.1:5061\ncertificate = edge.crt\n"
                              "private_key = secret.key\n" MIN_INTERNAL MIN_FEDERATION,
                     want);
    }
}

static void test_hostport_helper(void **state)
{
    config_hostport_t hp;
    fedge_err_t err;
    const char *s = " Pool.Contoso.Test ";
    assert_int_equal(config_parse_hostport(s, strlen(s), CONFIG_HP_ALLOW_NAME, 5061, &hp, &err), 0);
    assert_string_equal(hp.host, "pool.contoso.test");
    assert_int_equal(hp.port, 5061);
    assert_int_equal(hp.kind, CONFIG_HOST_NAME);
    config_hostport_free(&hp);
    assert_null(hp.host);

    s = "localhost:5060";
    assert_int_equal(config_parse_hostport(s, strlen(s), CONFIG_HP_ALLOW_NAME, 0, &hp, &err), 0);
    assert_string_equal(hp.host, "localhost");
    assert_int_equal(hp.port, 5060);
    config_hostport_free(&hp);

    s = "2001:db8::7"; /* bare IPv6 without a port */
    assert_int_equal(config_parse_hostport(s, strlen(s), 0, 5061, &hp, &err), 0);
    assert_string_equal(hp.host, "2001:db8::7");
    assert_int_equal(hp.kind, CONFIG_HOST_IPV6);
    assert_int_equal(hp.port, 5061);
    char buf[64];
    assert_string_equal(config_hostport_format(&hp, buf, sizeof(buf)), "[2001:db8::7]:5061");
    config_hostport_free(&hp);

    s = "[::ffff:127.0.0.9]:1";
    assert_int_equal(config_parse_hostport(s, strlen(s), CONFIG_HP_REQUIRE_PORT, 0, &hp, &err), 0);
    assert_int_equal(hp.port, 1);
    assert_true(config_hostport_is_loopback(&hp));
    config_hostport_free(&hp);

    s = "10.0.0.1:5061,junk";
    assert_int_equal(config_parse_hostport(s, 13, CONFIG_HP_REQUIRE_PORT, 0, &hp, &err), 0);
    assert_string_equal(config_hostport_format(&hp, buf, sizeof(buf)), "10.0.0.1:5061");
    assert_false(config_hostport_is_loopback(&hp));
    config_hostport_free(&hp);

    s = "10.0.0.1:0";
    assert_int_equal(config_parse_hostport(s, strlen(s), 0, 0, &hp, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "port 0 is out of range 1-65535");
    s = "10.0.0.1:5o61";
    assert_int_equal(config_parse_hostport(s, strlen(s), 0, 0, &hp, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "port \"5o61\" is not a number");
    s = "[::1";
    assert_int_equal(config_parse_hostport(s, strlen(s), 0, 0, &hp, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "'[' without a closing ']'");
    s = "   ";
    assert_int_equal(config_parse_hostport(s, strlen(s), 0, 0, &hp, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "empty address");
    s = ":5061";
    assert_int_equal(config_parse_hostport(s, strlen(s), 0, 0, &hp, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "empty host");
    s = "1.2.3:5061";
    assert_int_equal(config_parse_hostport(s, strlen(s), CONFIG_HP_ALLOW_NAME, 0, &hp, &err),
                     FEDGE_EINVAL);
    assert_string_equal(err.msg, "\"1.2.3\" is not a valid IPv4 address");
    s = "edge.contoso.test";
    assert_int_equal(config_parse_hostport(
                         s, strlen(s), CONFIG_HP_ALLOW_NAME | CONFIG_HP_REQUIRE_PORT, 0, &hp, &err),
                     FEDGE_EINVAL);
    assert_string_equal(err.msg, "no port");
}

static void test_fqdn_helper(void **state)
{
    char out[CONFIG_FQDN_BUFSIZE];
    fedge_err_t err;
    assert_int_equal(config_normalize_fqdn("Sip.Contoso.COM.", 16, 2, out, &err), 15);
    assert_string_equal(out, "sip.contoso.com");
    assert_int_equal(config_normalize_fqdn("x1-2.y", 6, 2, out, &err), 6);
    assert_int_equal(config_normalize_fqdn("localhost", 9, 1, out, &err), 9);
    assert_int_equal(config_normalize_fqdn("localhost", 9, 2, out, &err), FEDGE_EINVAL);
    assert_int_equal(config_normalize_fqdn("a.123", 5, 2, out, &err), FEDGE_EINVAL);
    assert_int_equal(config_normalize_fqdn("123.a", 5, 2, out, &err), 5);
    assert_int_equal(config_normalize_fqdn(".a.b", 4, 2, out, &err), FEDGE_EINVAL);
    assert_int_equal(config_normalize_fqdn("a.b\xc3\xa9", 5, 2, out, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "character \\xc3 is not allowed in a name");
    assert_int_equal(config_normalize_fqdn("", 0, 1, out, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "empty name");

    /* 63-character labels pass, total 253 passes, 254 fails. */
    char name[300];
    memset(name, 'a', sizeof(name));
    for (int i = 63; i < 300; i += 64)
        name[i] = '.';
    assert_int_equal(config_normalize_fqdn(name, 253, 2, out, &err), 253);
    assert_int_equal(strlen(out), 253);
    name[253] = 'b';
    assert_int_equal(config_normalize_fqdn(name, 254, 2, out, &err), FEDGE_EINVAL);
    assert_string_equal(err.msg, "name is 254 characters long, more than 253");
    /* 254 with a trailing dot is the 253-character name. */
    name[253] = '.';
    assert_int_equal(config_normalize_fqdn(name, 254, 2, out, &err), 253);
}

static void test_durations_sizes_bools(void **state)
{
    uint32_t v;
    assert_int_equal(config_parse_duration("500ms", &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(config_parse_duration("30s", &v), 0);
    assert_int_equal(v, 30000);
    assert_int_equal(config_parse_duration("5m", &v), 0);
    assert_int_equal(v, 300000);
    assert_int_equal(config_parse_duration("2h", &v), 0);
    assert_int_equal(v, 7200000);
    assert_int_equal(config_parse_duration("10", &v), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(config_parse_duration("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(config_parse_duration("4294967295ms", &v), 0);
    assert_int_equal(v, 4294967295u);
    const char *bad_d[] = {"",     "s",    "ten", "1.5s",     "-1s",          "10S",  "10 s",
                           " 10s", "5min", "1d",  "4294968s", "4294967296ms", "1194h"};
    for (size_t i = 0; i < sizeof(bad_d) / sizeof(bad_d[0]); i++) {
        if (config_parse_duration(bad_d[i], &v) == 0) {
            print_error("duration \"%s\" was accepted\n", bad_d[i]);
            fail();
        }
    }
    assert_int_equal(config_parse_size("65536", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(config_parse_size("64k", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(config_parse_size("64K", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(config_parse_size("1M", &v), 0);
    assert_int_equal(v, 1048576);
    assert_int_equal(config_parse_size("3m", &v), 0);
    assert_int_equal(v, 3145728);
    const char *bad_s[] = {"", "k", "64kb", "64KiB", "1G", "-1", "1.5M", "4096M", "4294967296"};
    for (size_t i = 0; i < sizeof(bad_s) / sizeof(bad_s[0]); i++) {
        if (config_parse_size(bad_s[i], &v) == 0) {
            print_error("size \"%s\" was accepted\n", bad_s[i]);
            fail();
        }
    }
    bool b;
    const char *yes[] = {"yes", "YES", "true", "True", "on", "1"};
    const char *no[] = {"no", "No", "false", "FALSE", "off", "0"};
    for (size_t i = 0; i < 6; i++) {
        b = false;
        assert_int_equal(config_parse_bool(yes[i], &b), 0);
        assert_true(b);
        assert_int_equal(config_parse_bool(no[i], &b), 0);
        assert_false(b);
    }
    assert_int_equal(config_parse_bool("y", &b), FEDGE_EINVAL);
    assert_int_equal(config_parse_bool("2", &b), FEDGE_EINVAL);
    assert_int_equal(config_parse_bool("", &b), FEDGE_EINVAL);
}

/* Runs cli_check_config with stdout and stderr captured into out/err. */
static int run_check(const char *file, char *out, size_t outn, char *errbuf, size_t errn)
{
    char *argv[] = {"fedge", "check-config", "-c", (char *)file, NULL};
    return tu_cli_run(dir, 4, argv, out, outn, errbuf, errn);
}

static void test_check_config_command(void **state)
{
    char out[4096], errb[1024], p[256], want[512];
    write_file("good.ini", MIN);
    path_in_dir(p, sizeof(p), "good.ini");
    assert_int_equal(run_check(p, out, sizeof(out), errb, sizeof(errb)), 0);
    snprintf(want, sizeof(want),
             "%s: ok\n  edge        edge.contoso.test; SIP domains contoso.test;", p);
    assert_memory_equal(out, want, strlen(want));
    char fed[200];
    snprintf(fed, sizeof(fed), "\n  federation  routing %s; default route sip.provider.test:5061\n",
             config_routing_name(CONFIG_DEFAULT_ROUTING));
    assert_non_null(strstr(out, fed));
    assert_string_equal(errb, "");

    write_file("bad.ini", MIN "[limits]\nidle_timeout = ten\n");
    path_in_dir(p, sizeof(p), "bad.ini");
    assert_int_equal(run_check(p, out, sizeof(out), errb, sizeof(errb)), 2);
    snprintf(want, sizeof(want),
             "%s:15: [limits] idle_timeout = \"ten\"; expected a duration like 30s, 5m or 500ms, "
             "from 1s to 24h\n",
             p);
    assert_string_equal(errb, want);
    assert_string_equal(out, "");
}

/* Regression: check-config said ok for a key that is not the
 * certificate's, an expired certificate and one naming another host.
 * They are refused (exit 2, FILE:LINE of [external] certificate); what
 * still works is a warning. */
static void test_check_config_certificate(void **state)
{
    char out[8192], errb[4096], p[256], want[512];
    char ini[1024];
    const char *cases[][3] = {
        /* certificate, key, what the error says */
        {"pki/edge.contoso.test.crt", "pki/edge.fabrikam.test.key", "is not the key of"},
        {"pki/expired.fabrikam.test.crt", "pki/expired.fabrikam.test.key", "expired on 2020-02-01"},
        {"pki/edge.fabrikam.test.crt", "pki/edge.fabrikam.test.key",
         "not the edge FQDN edge.contoso.test"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(ini, sizeof(ini),
                 MIN_EDGE "[external]\nlisten = 127.0.0.1:5061\ncertificate = %s\n"
                          "private_key = %s\n" MIN_INTERNAL MIN_FEDERATION,
                 cases[i][0], cases[i][1]);
        write_file("cert.ini", ini);
        path_in_dir(p, sizeof(p), "cert.ini");
        int rc = run_check(p, out, sizeof(out), errb, sizeof(errb));
        if (rc != 2 || !strstr(errb, cases[i][2]))
            fail_msg("case %zu: exit %d, stderr: %s", i, rc, errb);
        snprintf(want, sizeof(want), "%s:6: [external] certificate = \"%s/%s\": ", p, dir,
                 cases[i][0]);
        assert_memory_equal(errb, want, strlen(want));
        assert_string_equal(out, "");
    }
    /* A SIP domain the certificate does not name: ok, with a warning. */
    write_file("warn.ini", "[edge]\nfqdn = edge.contoso.test\nsip_domains = contoso.test, "
                           "contoso.org\n" MIN_EXTERNAL MIN_INTERNAL MIN_FEDERATION);
    path_in_dir(p, sizeof(p), "warn.ini");
    assert_int_equal(run_check(p, out, sizeof(out), errb, sizeof(errb)), 0);
    assert_non_null(strstr(out, ": ok\n"));
    assert_non_null(strstr(out, "warning: [external] certificate: names contoso.org: "));
    assert_string_equal(errb, "");
}

static void test_media_section(void **state)
{
    config_t *c;
    /* Without [media]: nothing relayed, defaults in place. */
    expect_ok(MIN, &c);
    assert_int_equal(c->media.rtpengine.count, 0);
    assert_string_equal(c->media.internal_interface, "internal");
    assert_string_equal(c->media.external_interface, "external");
    assert_int_equal(c->media.timeout_ms, 1000);
    assert_int_equal(c->media.on_relay_failure, CONFIG_MEDIA_REFUSE);
    assert_int_equal(c->media.max_calls, CONFIG_DEFAULT_MEDIA_MAX_CALLS);
    assert_int_equal(c->media.orphan_grace_ms, 32000);
    assert_int_equal(c->media.internal_transport, CONFIG_MEDIA_TP_PASS);
    assert_int_equal(c->media.external_transport, CONFIG_MEDIA_TP_PASS);
    config_free(c);

    expect_ok(MIN "[media]\nrtpengine = 127.0.0.1:2223, [::1]:2224\ninternal_interface = lan_1\n"
                  "external_interface = WAN-2\ntimeout = 250ms\non_relay_failure = Forward\n"
                  "max_calls = 250\norphan_grace = 2m\ninternal_transport = RTP\n"
                  "external_transport = srtp\n",
              &c);
    assert_int_equal(c->media.rtpengine.count, 2);
    assert_string_equal(c->media.rtpengine.items[0].host, "127.0.0.1");
    assert_int_equal(c->media.rtpengine.items[0].port, 2223);
    assert_string_equal(c->media.rtpengine.items[1].host, "::1");
    assert_string_equal(c->media.internal_interface, "lan_1");
    assert_string_equal(c->media.external_interface, "WAN-2");
    assert_int_equal(c->media.timeout_ms, 250);
    assert_int_equal(c->media.on_relay_failure, CONFIG_MEDIA_FORWARD);
    assert_string_equal(config_media_failure_name(c->media.on_relay_failure), "forward");
    assert_int_equal(config_key_line(c, "media", "timeout"), 18);
    assert_int_equal(c->media.max_calls, 250);
    assert_int_equal(c->media.orphan_grace_ms, 120000);
    assert_int_equal(c->media.internal_transport, CONFIG_MEDIA_TP_RTP);
    assert_int_equal(c->media.external_transport, CONFIG_MEDIA_TP_SRTP);
    assert_string_equal(config_media_transport_name(c->media.external_transport), "srtp");
    config_free(c);

    expect_error(MIN "[media]\ntimeout = 2s\n",
                 "14: [media] rtpengine is missing (a [media] section relays calls' media "
                 "through rtpengine); expected rtpengine = a comma-separated list of IP:port of "
                 "rtpengine ng listeners like 127.0.0.1:2223 or [::1]:2223");
    expect_error(MIN "[media]\nrtpengine = rtp.contoso.test:2223\n",
                 "15: [media] rtpengine = \"rtp.contoso.test:2223\": \"rtp.contoso.test\" is "
                 "not an IP address; expected a comma-separated list of IP:port of rtpengine ng "
                 "listeners like 127.0.0.1:2223 or [::1]:2223");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1\n",
                 "15: [media] rtpengine = \"127.0.0.1\": no port; expected a "
                 "comma-separated list of IP:port of rtpengine ng listeners like 127.0.0.1:2223 "
                 "or [::1]:2223");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1:2223,127.0.0.1:2223\n",
                 "15: [media] rtpengine = \"127.0.0.1:2223\": listed twice; expected a "
                 "comma-separated list of IP:port of rtpengine ng listeners like 127.0.0.1:2223 "
                 "or [::1]:2223");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1:2223\ninternal_interface = lan/1\n",
                 "16: [media] internal_interface = \"lan/1\"; expected an rtpengine interface "
                 "name (--interface NAME/address) of 1 to 32 letters, digits, '-' or '_'");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1:2223\ntimeout = 31s\n",
                 "16: [media] timeout = \"31s\": out of range; expected a duration like 1s or "
                 "500ms, from 100ms to 30s");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1:2223\non_relay_failure = drop\n",
                 "16: [media] on_relay_failure = \"drop\"; expected refuse or forward");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1:2223\nmax_calls = 0\n",
                 "16: [media] max_calls = \"0\": out of range; expected a whole number from 1 "
                 "to 100000");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1:2223\norphan_grace = 500ms\n",
                 "16: [media] orphan_grace = \"500ms\": out of range; expected a duration like "
                 "32s or 2m, from 1s to 1h");
    expect_error(MIN "[media]\nrtpengine = 127.0.0.1:2223\n\ninternal_transport = sdes\n",
                 "17: [media] internal_transport = \"sdes\"; expected pass, rtp or srtp");
}

/* docs/fedge.example.ini must pass check-config. It names its files
 * relative to its own folder; copy it next to stand-ins for them. */
static void test_example_config_passes(void **state)
{
    FILE *f = fopen("docs/fedge.example.ini", "r");
    if (!f) {
        print_error("docs/fedge.example.ini: %s (run from the repository root)\n", strerror(errno));
        fail();
    }
    char *text = malloc(65536);
    size_t n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    char p[256];
    path_in_dir(p, sizeof(p), "example");
    mkdir(p, 0755);
    path_in_dir(p, sizeof(p), "example/tls");
    mkdir(p, 0755);
    /* The external certificate is read (check-config verifies it): the
     * test PKI's edge.contoso.com; the others need only be readable. */
    const char *files[] = {"tls/edge-internal.crt", "tls/edge-internal.key", "tls/internal-ca.crt"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char name[128];
        snprintf(name, sizeof(name), "example/%s", files[i]);
        write_file(name, "stand-in\n");
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cp %s/pki/edge.contoso.com.crt %s/example/tls/edge.contoso.com.crt && "
             "cp %s/pki/edge.contoso.com.key %s/example/tls/edge.contoso.com.key && "
             "cp %s/pki/ca.crt %s/example/tls/partners-ca.crt",
             dir, dir, dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    write_file("example/fedge.ini", text);
    free(text);
    path_in_dir(p, sizeof(p), "example/fedge.ini");
    char out[4096], errb[1024];
    int rc = run_check(p, out, sizeof(out), errb, sizeof(errb));
    if (rc != 0) {
        print_error("check-config of the example failed: %s\n", errb);
        fail();
    }
    char want[300];
    snprintf(want, sizeof(want), "%s: ok\n", p);
    assert_memory_equal(out, want, strlen(want));

    /* And what it says is what the docs say it says. */
    config_t *c;
    fedge_err_t err;
    assert_int_equal(config_load(p, &c, &err), 0);
    assert_string_equal(c->edge.fqdn, "edge.contoso.com");
    assert_int_equal(c->external.listen.count, 2);
    assert_int_equal(c->internal.transport, CONFIG_TRANSPORT_TLS);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_syntax_variants_accepted),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_pool_names),
        cmocka_unit_test(test_xmpp_section),
        cmocka_unit_test(test_nul_and_long_lines),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_domain_errors),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_ipv6_listen),
        cmocka_unit_test(test_required_keys),
        cmocka_unit_test(test_cross_field_rules),
        cmocka_unit_test(test_remote_section),
        cmocka_unit_test(test_files_must_be_readable),
        cmocka_unit_test(test_hostport_helper),
        cmocka_unit_test(test_fqdn_helper),
        cmocka_unit_test(test_durations_sizes_bools),
        cmocka_unit_test(test_check_config_command),
        cmocka_unit_test(test_check_config_certificate),
        cmocka_unit_test(test_media_section),
        cmocka_unit_test(test_example_config_passes),
        cmocka_unit_test(test_store_uri),
        cmocka_unit_test(test_metrics_and_access_log),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
