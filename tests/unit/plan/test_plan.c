/* test_plan.c — the pure parts of src/plan: the plan built from a config
 * struct and a real store snapshot (records, certificate, firewall,
 * partners, text and JSON), the checks of our own certificate on
 * scripts/gen-certs certificates (good, no clientAuth, expired, rogue CA,
 * CN only, wrong key, expiring, missing SAN), name matching, the verdict
 * selection, and the findings table mirrored in docs/diagnostics.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan/plan.h"

static char pki[64];
static char path_buf[8][256];
static unsigned path_next;

/* PKI file name (rotating buffers). */
static const char *P(const char *name)
{
    char *b = path_buf[path_next++ % 8];
    snprintf(b, sizeof path_buf[0], "%s/%s", pki, name);
    return b;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(pki, sizeof pki, "/tmp/fedge-plan-XXXXXX");
    if (!mkdtemp(pki))
        return -1;
    if (access("scripts/gen-certs", X_OK) != 0) {
        fprintf(stderr, "run from the repository root (scripts/gen-certs not found)\n");
        return -1;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "scripts/gen-certs %s >/dev/null && "
             "scripts/gen-certs %s wild.test 'DNS:*.wild.test,URI:sip:example.test,"
             "URI:sip:alice@users.test,URI:sip:port.test:5061;transport=tls' >/dev/null",
             pki, pki);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- a config struct by hand (plain data, never freed) ---- */

static config_hostport_t hp(const char *host, uint16_t port)
{
    config_host_kind_t k = strchr(host, ':')                    ? CONFIG_HOST_IPV6
                           : (host[0] >= '0' && host[0] <= '9') ? CONFIG_HOST_IPV4
                                                                : CONFIG_HOST_NAME;
    return (config_hostport_t){(char *)host, port, k};
}

static config_t *make_cfg(config_hostport_t *ext, size_t n_ext)
{
    static char *domains[] = {"contoso.com", "contoso.net"};
    static config_hostport_t in[1], nh[2], dns[1];
    static config_t c;
    memset(&c, 0, sizeof c);
    in[0] = hp("10.0.0.10", 5070);
    nh[0] = hp("10.0.0.20", 5060);
    nh[1] = hp("sip.contoso.com", 0);
    dns[0] = hp("192.0.2.53", 53);
    c.path = "/etc/fedge/fedge.ini";
    c.edge.fqdn = "edge.contoso.com";
    c.edge.sip_domains = domains;
    c.edge.sip_domain_count = 2;
    c.external.listen = (config_hostport_list_t){ext, n_ext};
    c.internal.listen = (config_hostport_list_t){in, 1};
    c.internal.transport = CONFIG_TRANSPORT_TCP;
    c.internal.next_hop = (config_hostport_list_t){nh, 2};
    c.federation.routing = CONFIG_ROUTING_DNS_SRV;
    c.dns.servers = (config_hostport_list_t){dns, 1};
    c.admin.listen = hp("127.0.0.1", 8080);
    return &c;
}

static const plan_record_t *rec(const plan_t *p, const char *owner, const char *type)
{
    for (size_t i = 0; i < p->n_records; i++)
        if (!strcmp(p->records[i].owner, owner) && !strcmp(p->records[i].type, type))
            return &p->records[i];
    return NULL;
}

static const plan_fw_t *fw(const plan_t *p, const char *port, const char *dir)
{
    for (size_t i = 0; i < p->n_fw; i++)
        if (!strcmp(p->fw[i].port, port) && !strcmp(p->fw[i].dir, dir))
            return &p->fw[i];
    return NULL;
}

static size_t count_recs(const plan_t *p, const char *owner, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_records; i++)
        n += !strcmp(p->records[i].owner, owner) && !strcmp(p->records[i].type, type);
    return n;
}

static bool has_note(const plan_t *p, const char *text)
{
    for (size_t i = 0; i < p->n_notes; i++)
        if (strstr(p->notes[i], text))
            return true;
    return false;
}

/* A member of a pool: the SRV names the pool, one A per member of this
 * pool (not of another), the internal pool name per member, the
 * certificate names the pool; --hlb replaces the members by the VIP. */
static void test_plan_pool(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    config_t *c = make_cfg(ext, 1);
    c->edge.fqdn = "edge1.contoso.com";
    c->edge.pool_fqdn = "edge-pool.contoso.com";
    c->internal.pool_name = "edge-pool.corp.contoso.com";
    store_member_t m[3];
    memset(m, 0, sizeof m);
    const char *names[] = {"edge1.contoso.com", "edge2.contoso.com", "old.contoso.com"};
    const char *addrs[] = {"203.0.113.10:5061", "203.0.113.11:5061,[2001:db8::11]:5061",
                           "198.51.100.1:5061"};
    const char *ints[] = {"10.0.0.10:5070", "10.0.0.11:5070", "10.9.9.9:5070"};
    for (int i = 0; i < 3; i++) {
        snprintf(m[i].fqdn, sizeof m[i].fqdn, "%s", names[i]);
        snprintf(m[i].pool, sizeof m[i].pool, "%s",
                 i < 2 ? "edge-pool.contoso.com" : "other.contoso.com");
        snprintf(m[i].addresses, sizeof m[i].addresses, "%s", addrs[i]);
        snprintf(m[i].internal, sizeof m[i].internal, "%s", ints[i]);
    }
    plan_pool_t pool = {m, 3, NULL};
    plan_t *p = plan_build_pool(c, NULL, &pool);
    assert_string_equal(p->srv_target, "edge-pool.contoso.com");
    assert_string_equal(rec(p, "_sipfederationtls._tcp.contoso.com.", "SRV")->value,
                        "0 0 5061 edge-pool.contoso.com.");
    assert_int_equal(count_recs(p, "edge-pool.contoso.com.", "A"), 2);
    assert_int_equal(count_recs(p, "edge-pool.contoso.com.", "AAAA"), 1);
    assert_int_equal(count_recs(p, "edge-pool.corp.contoso.com.", "A"), 2);
    assert_non_null(rec(p, "edge2.contoso.com.", "A"));
    assert_null(rec(p, "old.contoso.com.", "A"));
    assert_string_equal(p->cert.subject, "CN=edge-pool.contoso.com");
    assert_string_equal(p->cert.sans[0], "DNS:edge-pool.contoso.com");
    assert_true(has_note(p, "Office Communications Server 2007"));
    plan_free(p);

    pool.hlb = "192.0.2.80";
    p = plan_build_pool(c, NULL, &pool);
    assert_int_equal(count_recs(p, "edge-pool.contoso.com.", "A"), 1);
    assert_string_equal(rec(p, "edge-pool.contoso.com.", "A")->value, "192.0.2.80");
    assert_int_equal(count_recs(p, "edge-pool.contoso.com.", "AAAA"), 0);
    assert_true(has_note(p, "no TLS termination"));
    plan_free(p);

    /* no member recorded yet: this member's own address, and the note */
    p = plan_build_pool(c, NULL, NULL);
    assert_int_equal(count_recs(p, "edge-pool.contoso.com.", "A"), 1);
    assert_true(has_note(p, "only this member is known"));
    plan_free(p);
}

static void test_plan_records_cert_firewall(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("203.0.113.10", 5061), hp("2001:db8::10", 5061),
                               hp("203.0.113.10", 5061)};
    config_t *c = make_cfg(ext, 3);
    plan_t *p = plan_build(c, NULL);

    /* one SRV per SIP domain, to the FQDN and the listener's port */
    const plan_record_t *r = rec(p, "_sipfederationtls._tcp.contoso.com.", "SRV");
    assert_non_null(r);
    assert_string_equal(r->value, "0 0 5061 edge.contoso.com.");
    r = rec(p, "_sipfederationtls._tcp.contoso.net.", "SRV");
    assert_non_null(r);
    assert_string_equal(r->value, "0 0 5061 edge.contoso.com.");
    /* the addresses, the repeated one once */
    r = rec(p, "edge.contoso.com.", "A");
    assert_non_null(r);
    assert_string_equal(r->value, "203.0.113.10");
    assert_false(r->placeholder);
    r = rec(p, "edge.contoso.com.", "AAAA");
    assert_non_null(r);
    assert_string_equal(r->value, "2001:db8::10");
    assert_int_equal(p->n_records, 4);

    /* certificate: FQDN first, the domains, optional sip: URIs */
    assert_string_equal(p->cert.subject, "CN=edge.contoso.com");
    assert_int_equal(p->cert.n_sans, 5);
    assert_string_equal(p->cert.sans[0], "DNS:edge.contoso.com");
    assert_string_equal(p->cert.sans[1], "DNS:contoso.com");
    assert_string_equal(p->cert.sans[2], "DNS:contoso.net");
    assert_string_equal(p->cert.sans[3], "URI:sip:contoso.com");
    assert_true(p->cert.san_required[2]);
    assert_false(p->cert.san_required[3]);
    assert_non_null(strstr(p->cert.eku, "serverAuth, clientAuth"));

    /* firewall */
    const plan_fw_t *f = fw(p, "5061", "in");
    assert_non_null(f);
    assert_string_equal(f->proto, "TCP");
    assert_non_null(strstr(f->to, "203.0.113.10:5061"));
    assert_non_null(strstr(f->to, "[2001:db8::10]:5061"));
    assert_non_null(fw(p, "5061", "out"));
    f = fw(p, "53", "out");
    assert_non_null(f);
    assert_string_equal(f->proto, "UDP/TCP");
    assert_non_null(strstr(f->to, "192.0.2.53:53"));
    /* fedge fetches no CRL or OCSP: no revocation row without CRLs. */
    assert_null(fw(p, "80,443", "out"));
    assert_null(fw(p, "80", "out"));
    f = fw(p, "5070", "in");
    assert_non_null(f);
    assert_non_null(strstr(f->from, "internal"));
    assert_non_null(fw(p, "5060", "out")); /* next hop 10.0.0.20:5060 and sip.contoso.com (tcp) */
    f = fw(p, "8080", "in");
    assert_non_null(f);
    assert_non_null(strstr(f->from, "administrators"));
    assert_int_equal(p->n_partners, 0);

    char *t = plan_text(p);
    char line[160];
    snprintf(line, sizeof line, "\n%-40s 3600 IN %-4s %s\n", "_sipfederationtls._tcp.contoso.com.",
             "SRV", "0 0 5061 edge.contoso.com.");
    assert_non_null(strstr(t, line));
    snprintf(line, sizeof line, "\n%-40s 3600 IN %-4s %s\n", "edge.contoso.com.", "AAAA",
             "2001:db8::10");
    assert_non_null(strstr(t, line));
    free(t);
    json_t *j = plan_json(p);
    assert_int_equal(json_array_size(json_object_get(j, "dns")), 4);
    assert_string_equal(json_string_value(json_object_get(j, "edge_fqdn")), "edge.contoso.com");
    assert_non_null(strstr(json_string_value(json_object_get(j, "zone")),
                           "_sipfederationtls._tcp.contoso.net. 3600 IN SRV 0 0 5061 "
                           "edge.contoso.com.\n"));
    json_decref(j);
    plan_free(p);

    /* with CRLs configured, their downloads are a flow of the edge host */
    c->external.crl_file = "/etc/fedge/partners.crl";
    p = plan_build(c, NULL);
    f = fw(p, "80", "out");
    assert_non_null(f);
    assert_non_null(strstr(f->purpose, "crl_file"));
    plan_free(p);
    c->external.crl_file = NULL;
}

/* [xmpp]: one _xmpp-server._tcp SRV per domain to the XMPP port, 5269 in
 * and out in the firewall table; nothing of it without the section. */
static void test_plan_xmpp(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    config_t *c = make_cfg(ext, 1);
    plan_t *p = plan_build(c, NULL);
    assert_null(rec(p, "_xmpp-server._tcp.contoso.com.", "SRV"));
    assert_null(fw(p, "5269", "in"));
    plan_free(p);
    static config_hostport_t xl[1];
    xl[0] = hp("203.0.113.10", 5269);
    c->xmpp.enabled = true;
    c->xmpp.listen = (config_hostport_list_t){xl, 1};
    p = plan_build(c, NULL);
    const plan_record_t *r = rec(p, "_xmpp-server._tcp.contoso.com.", "SRV");
    assert_non_null(r);
    assert_string_equal(r->value, "0 0 5269 edge.contoso.com.");
    assert_non_null(rec(p, "_xmpp-server._tcp.contoso.net.", "SRV"));
    const plan_fw_t *f = fw(p, "5269", "in");
    assert_non_null(f);
    assert_non_null(strstr(f->to, "203.0.113.10:5269"));
    assert_non_null(fw(p, "5269", "out"));
    plan_free(p);
}

/* [media]: the ng control row per relay, the RTP rows both ways on both
 * sides naming rtpengine's interfaces; without it, a note and no rows. */
static void test_plan_media(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    config_t *c = make_cfg(ext, 1);
    plan_t *p = plan_build(c, NULL);
    assert_null(fw(p, "30000-40000", "in"));
    assert_true(has_note(p, "calls' media is not relayed"));
    plan_free(p);
    static config_hostport_t rl[2];
    rl[0] = hp("10.0.0.30", 2223);
    rl[1] = hp("10.0.0.31", 2224);
    c->media.rtpengine = (config_hostport_list_t){rl, 2};
    c->media.internal_interface = "lan";
    c->media.external_interface = "dmz";
    p = plan_build(c, NULL);
    const plan_fw_t *f = fw(p, "2223", "out");
    assert_non_null(f);
    assert_string_equal(f->proto, "UDP");
    assert_non_null(strstr(f->to, "10.0.0.30:2223"));
    assert_non_null(fw(p, "2224", "out"));
    size_t in = 0, out = 0;
    for (size_t i = 0; i < p->n_fw; i++) {
        if (!strcmp(p->fw[i].port, "30000-40000") && !strcmp(p->fw[i].dir, "in")) {
            in++;
            assert_string_equal(p->fw[i].proto, "UDP");
        }
        if (!strcmp(p->fw[i].port, "any") && !strcmp(p->fw[i].dir, "out"))
            out++;
    }
    assert_int_equal(in, 2);
    assert_int_equal(out, 2);
    f = fw(p, "30000-40000", "in");
    assert_non_null(strstr(f->from, "partners"));
    assert_non_null(strstr(f->to, "--interface dmz/ADDRESS"));
    assert_true(has_note(p, "calls' media goes through rtpengine (2 relay(s)"));
    assert_false(has_note(p, "not relayed"));
    plan_free(p);
}

/* [remote]: per SIP domain _sip._tls SRV -> sip.<domain> on the remote
 * port and sip.<domain> A to the remote listener (a placeholder for
 * loopback), DNS:sip.<domain> among the certificate names, the listener
 * in and the registrar out in the firewall; none of it without [remote]. */
static void test_plan_remote(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    config_t *c = make_cfg(ext, 1);
    plan_t *p = plan_build(c, NULL);
    assert_int_equal(p->remote_port, 0);
    assert_null(rec(p, "_sip._tls.contoso.com.", "SRV"));
    assert_null(rec(p, "sip.contoso.com.", "A"));
    assert_null(fw(p, "443", "in"));
    for (size_t i = 0; i < p->cert.n_sans; i++)
        assert_null(strstr(p->cert.sans[i], "DNS:sip."));
    plan_free(p);

    static config_hostport_t rl[2], rr[1];
    rl[0] = hp("203.0.113.11", 443);
    rl[1] = hp("2001:db8::11", 443);
    rr[0] = hp("10.0.0.30", 5060);
    c->remote.listen = (config_hostport_list_t){rl, 2};
    c->remote.registrar = (config_hostport_list_t){rr, 1};
    p = plan_build(c, NULL);
    assert_int_equal(p->remote_port, 443);
    const plan_record_t *r = rec(p, "_sip._tls.contoso.com.", "SRV");
    assert_non_null(r);
    assert_string_equal(r->value, "0 0 443 sip.contoso.com.");
    r = rec(p, "_sip._tls.contoso.net.", "SRV");
    assert_non_null(r);
    assert_string_equal(r->value, "0 0 443 sip.contoso.net.");
    r = rec(p, "sip.contoso.com.", "A");
    assert_non_null(r);
    assert_string_equal(r->value, "203.0.113.11");
    assert_false(r->placeholder);
    r = rec(p, "sip.contoso.net.", "AAAA");
    assert_non_null(r);
    assert_string_equal(r->value, "2001:db8::11");
    /* the federation SRV still names the external port */
    assert_string_equal(rec(p, "_sipfederationtls._tcp.contoso.com.", "SRV")->value,
                        "0 0 5061 edge.contoso.com.");
    bool san_com = false, san_net = false;
    for (size_t i = 0; i < p->cert.n_sans; i++) {
        san_com |= !strcmp(p->cert.sans[i], "DNS:sip.contoso.com") && p->cert.san_required[i];
        san_net |= !strcmp(p->cert.sans[i], "DNS:sip.contoso.net") && p->cert.san_required[i];
    }
    assert_true(san_com && san_net);
    const plan_fw_t *f = fw(p, "443", "in");
    assert_non_null(f);
    assert_non_null(strstr(f->to, "203.0.113.11:443"));
    assert_non_null(strstr(f->purpose, "remote users"));
    f = fw(p, "5060", "out");
    assert_non_null(f);
    bool reg = false;
    for (size_t i = 0; i < p->n_fw; i++)
        reg |= strstr(p->fw[i].to, "registrar 10.0.0.30:5060") != NULL;
    assert_true(reg);
    char *txt = plan_text(p);
    assert_non_null(strstr(txt, "_sip._tls.contoso.com."));
    free(txt);
    json_t *j = plan_json(p);
    assert_int_equal(json_integer_value(json_object_get(j, "remote_port")), 443);
    json_decref(j);
    plan_free(p);

    /* a loopback listener is never suggested for publishing */
    rl[0] = hp("127.0.0.1", 5063);
    c->remote.listen = (config_hostport_list_t){rl, 1};
    p = plan_build(c, NULL);
    r = rec(p, "sip.contoso.com.", "A");
    assert_non_null(r);
    assert_true(r->placeholder);
    assert_null(strstr(r->value, "127.0.0.1"));
    assert_string_equal(rec(p, "_sip._tls.contoso.com.", "SRV")->value,
                        "0 0 5063 sip.contoso.com.");
    plan_free(p);
}

/* fedge plan --csr: the request configuration and the CSR carry exactly
 * the plan's names; `openssl req -text` reads them back from the CSR. */
static void test_csr_config_and_request(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    config_t *c = make_cfg(ext, 1);
    plan_t *p = plan_build(c, NULL);
    const char *sans = "DNS:edge.contoso.com, DNS:contoso.com, DNS:contoso.net, "
                       "URI:sip:contoso.com, URI:sip:contoso.net";
    char *cnf = plan_csr_config(p);
    char line[256];
    snprintf(line, sizeof line, "\nsubjectAltName = %s\n", sans);
    assert_non_null(strstr(cnf, line));
    assert_non_null(strstr(cnf, "\nCN = edge.contoso.com\n"));
    assert_non_null(strstr(cnf, "\nextendedKeyUsage = serverAuth, clientAuth\n"));
    free(cnf);

    char dir[] = "/tmp/fedge-csr-XXXXXX", cmd[512], key[64], req[64];
    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof key, "%s/k.pem", dir);
    snprintf(req, sizeof req, "%s/r.csr", dir);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out %s "
             "2>/dev/null",
             key);
    assert_int_equal(system(cmd), 0);
    char *pem = NULL;
    fedge_err_t e = {{0}};
    assert_int_equal(plan_csr(p, key, &pem, &e), 0);
    FILE *f = fopen(req, "w");
    assert_non_null(f);
    fputs(pem, f);
    fclose(f);
    free(pem);
    snprintf(cmd, sizeof cmd, "openssl req -in %s -noout -text -verify 2>&1", req);
    FILE *o = popen(cmd, "r");
    assert_non_null(o);
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, o);
    out[n] = '\0';
    assert_int_equal(pclose(o), 0);
    assert_non_null(strstr(out, "verify OK"));
    assert_non_null(strstr(out, "Subject: CN = edge.contoso.com"));
    assert_non_null(strstr(out, sans));
    assert_non_null(strstr(out, "TLS Web Server Authentication, TLS Web Client Authentication"));

    /* no key: the file named, nothing made */
    snprintf(key, sizeof key, "%s/absent.pem", dir);
    assert_int_equal(plan_csr(p, key, &pem, &e), FEDGE_EIO);
    assert_null(pem);
    assert_non_null(strstr(e.msg, "absent.pem"));
    assert_int_equal(plan_csr(p, req, &pem, &e), FEDGE_EINVAL); /* a CSR is no key */
    assert_null(pem);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    plan_free(p);
}

static void test_plan_wildcard_and_port(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("0.0.0.0", 5071), hp("::", 5071)};
    config_t *c = make_cfg(ext, 2);
    plan_t *p = plan_build(c, NULL);
    assert_int_equal(p->port, 5071);
    const plan_record_t *r = rec(p, "_sipfederationtls._tcp.contoso.com.", "SRV");
    assert_string_equal(r->value, "0 0 5071 edge.contoso.com.");
    r = rec(p, "edge.contoso.com.", "A");
    assert_true(r->placeholder);
    assert_string_equal(r->value, "<public IPv4 address of the edge>");
    assert_non_null(strstr(r->note, "0.0.0.0"));
    r = rec(p, "edge.contoso.com.", "AAAA");
    assert_true(r->placeholder);
    assert_non_null(strstr(r->note, "[::]"));
    /* a port other than 5061 is pointed out */
    bool noted = false;
    for (size_t i = 0; i < p->n_notes; i++)
        noted |= strstr(p->notes[i], "port 5071, not 5061") != NULL;
    assert_true(noted);
    plan_free(p);

    config_hostport_t lo[] = {hp("10.1.2.3", 5061)};
    p = plan_build(make_cfg(lo, 1), NULL);
    assert_non_null(strstr(rec(p, "edge.contoso.com.", "A")->note, "private address"));
    plan_free(p);
}

/* Regression: the plan (and check's fix text, built from it) suggested
 * publishing 127.0.0.1 for an edge listening on loopback. */
static void test_plan_never_suggests_loopback(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("127.0.0.1", 5061), hp("::1", 5061)};
    plan_t *p = plan_build(make_cfg(ext, 2), NULL);
    const plan_record_t *r = rec(p, "edge.contoso.com.", "A");
    assert_non_null(r);
    assert_true(r->placeholder);
    assert_string_equal(r->value, "<public IPv4 address of the edge>");
    assert_non_null(strstr(r->note, "127.0.0.1 (loopback"));
    r = rec(p, "edge.contoso.com.", "AAAA");
    assert_true(r->placeholder);
    assert_string_equal(r->value, "<public IPv6 address of the edge>");
    assert_non_null(strstr(r->note, "[::1]"));
    char *t = plan_text(p);
    assert_null(strstr(t, "IN A    127.0.0.1"));
    assert_null(strstr(t, "IN AAAA ::1"));
    free(t);
    plan_free(p);
}

/* An SRV target outside a SIP domain: partners that discover the domain
 * refuse it, and the plan says so, for that domain only. */
static void test_plan_warns_srv_target_outside_domain(void **state)
{
    (void)state;
    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    plan_t *p = plan_build(make_cfg(ext, 1), NULL); /* edge.contoso.com for contoso.com, .net */
    const plan_record_t *r = rec(p, "_sipfederationtls._tcp.contoso.com.", "SRV");
    assert_null(strstr(r->note, "WARNING"));
    r = rec(p, "_sipfederationtls._tcp.contoso.net.", "SRV");
    assert_non_null(strstr(r->note, "WARNING: the target edge.contoso.com is outside contoso.net"));
    size_t warnings = 0;
    for (size_t i = 0; i < p->n_notes; i++)
        if (strstr(p->notes[i], "warning: the SRV target edge.contoso.com lies outside the SIP "
                                "domain contoso.net"))
            warnings++;
    assert_int_equal(warnings, 1);
    char *t = plan_text(p);
    assert_non_null(strstr(t, "; WARNING: the target edge.contoso.com is outside contoso.net"));
    free(t);
    plan_free(p);
}

/* Regression: the plan described the INI's routing after the store had
 * overridden it; it now says when they differ. */
static void test_plan_store_routing_differs(void **state)
{
    (void)state;
    char db[128];
    snprintf(db, sizeof db, "%s/routing.db", pki);
    store_t *st = NULL;
    fedge_err_t e = {{0}};
    assert_int_equal(store_open(db, &st, &e), 0);
    store_snapshot_t *snap = NULL;
    assert_int_equal(store_snapshot_load(st, &snap, &e), 0);
    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    plan_t *p = plan_build(make_cfg(ext, 1), snap); /* both dns-srv */
    for (size_t i = 0; i < p->n_notes; i++)
        assert_null(strstr(p->notes[i], "the store's edge settings say routing"));
    plan_free(p);
    store_snapshot_unref(snap);

    store_setting_t kv[] = {{"routing", "default-route"}, {"default-route", "gw.contoso.com"}};
    assert_int_equal(store_edge_set(st, kv, 2, "test", &e), 0);
    assert_int_equal(store_snapshot_load(st, &snap, &e), 0);
    store_close(st);
    p = plan_build(make_cfg(ext, 1), snap);
    bool said = false;
    for (size_t i = 0; i < p->n_notes; i++)
        said |= strstr(p->notes[i], "the store's edge settings say routing default-route "
                                    "gw.contoso.com (fedge edge show) while this file says "
                                    "dns-srv") != NULL;
    assert_true(said);
    plan_free(p);
    store_snapshot_unref(snap);
}

static void test_plan_partners(void **state)
{
    (void)state;
    char db[128];
    snprintf(db, sizeof db, "%s/store.db", pki);
    store_t *st = NULL;
    fedge_err_t e = {{0}};
    assert_int_equal(store_open(db, &st, &e), 0);
    assert_int_equal(store_domain_allow(st, "fabrikam.com", NULL, NULL, false, "test", &e), 0);
    assert_int_equal(
        store_domain_allow(st, "litware.com", "sip.litware.com", NULL, false, "test", &e), 0);
    assert_int_equal(store_domain_block(st, "evil.com", NULL, "test", &e), 0);
    const char *doms[] = {"hosted.example"};
    store_provider_in_t pr = {"hoster",
                              "sip.hoster.example",
                              STORE_PROVIDER_HOSTING,
                              STORE_VERIFY_ALWAYS_VERIFIED,
                              true,
                              doms,
                              1};
    assert_int_equal(store_provider_add(st, &pr, "test", &e), 0);
    store_snapshot_t *snap = NULL;
    assert_int_equal(store_snapshot_load(st, &snap, &e), 0);
    store_close(st);

    config_hostport_t ext[] = {hp("203.0.113.10", 5061)};
    plan_t *p = plan_build(make_cfg(ext, 1), snap);
    assert_int_equal(p->n_partners, 3);
    const plan_partner_t *fab = NULL, *lit = NULL, *hos = NULL;
    for (size_t i = 0; i < p->n_partners; i++) {
        if (!strcmp(p->partners[i].domain, "fabrikam.com"))
            fab = &p->partners[i];
        if (!strcmp(p->partners[i].domain, "litware.com"))
            lit = &p->partners[i];
        if (!strcmp(p->partners[i].domain, "hoster"))
            hos = &p->partners[i];
    }
    assert_non_null(fab);
    assert_non_null(lit);
    assert_non_null(hos);
    assert_string_equal(fab->kind, "allowed domain");
    assert_null(fab->fqdn);
    assert_non_null(strstr(fab->needs[0], "SRV _sipfederationtls._tcp.fabrikam.com"));
    assert_string_equal(lit->kind, "partner server");
    assert_string_equal(lit->fqdn, "sip.litware.com");
    assert_non_null(strstr(lit->needs[0], "no SRV record needed"));
    assert_non_null(strstr(lit->needs[1], "naming sip.litware.com"));
    assert_string_equal(hos->kind, "hosting provider");
    bool serves = false;
    for (size_t i = 0; i < hos->n_needs; i++)
        serves |= strstr(hos->needs[i], "hosted.example") != NULL;
    assert_true(serves);
    char *t = plan_text(p);
    assert_non_null(strstr(t, "partner server litware.com via sip.litware.com must have:"));
    assert_non_null(strstr(t, "1 blocked domain(s)"));
    free(t);
    plan_free(p);
    store_snapshot_unref(snap);
}

/* ---- certificates ---- */

static const plan_item_t *find(const plan_report_t *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->items[i].name, name))
            return &r->items[i];
    fail_msg("no item '%s'", name);
    return NULL;
}

static const char *const contoso[] = {"contoso.test"};

static void run_cert(plan_report_t *r, const char *leaf, const char *key, const char *ca,
                     const char *fqdn, const char *const *doms, size_t n, time_t now)
{
    char crt[64], k[64];
    snprintf(crt, sizeof crt, "%s.crt", leaf);
    snprintf(k, sizeof k, "%s.key", key);
    plan_check_cert(P(crt), P(k), P(ca), NULL, fqdn, doms, n, now, r);
}

static void test_cert_good(void **state)
{
    (void)state;
    plan_report_t r = {0};
    run_cert(&r, "edge.contoso.test", "edge.contoso.test", "ca.crt", "edge.contoso.test", contoso,
             1, time(NULL));
    assert_int_equal(plan_report_count(&r, PLAN_FAIL), 0);
    assert_int_equal(plan_report_count(&r, PLAN_WARN), 0);
    assert_int_equal(find(&r, "key matches certificate")->status, PLAN_PASS);
    assert_int_equal(find(&r, "chain verifies")->status, PLAN_PASS);
    assert_int_equal(find(&r, "names edge.contoso.test")->status, PLAN_PASS);
    assert_int_equal(find(&r, "names contoso.test")->status, PLAN_PASS);
    assert_int_equal(find(&r, "EKU serverAuth and clientAuth")->status, PLAN_PASS);
    const plan_item_t *k = find(&r, "key size");
    assert_int_equal(k->status, PLAN_PASS);
    assert_non_null(strstr(k->text, "EC 256 bits prime256v1"));
    assert_int_equal(find(&r, "validity")->status, PLAN_PASS);
    plan_report_clear(&r);

    /* the same certificate 10 days before it expires: a warning */
    plan_cert_t c;
    assert_int_equal(plan_cert_load(P("edge.contoso.test.crt"), &c, NULL), 0);
    run_cert(&r, "edge.contoso.test", "edge.contoso.test", "ca.crt", "edge.contoso.test", contoso,
             1, c.not_after - 10 * 86400);
    const plan_item_t *v = find(&r, "validity");
    assert_int_equal(v->status, PLAN_WARN);
    assert_int_equal(v->id, PLAN_DIAG_CERT_EXPIRING);
    assert_non_null(strstr(v->text, "in 10 days"));
    plan_report_clear(&r);
    /* and after it: a failure */
    run_cert(&r, "edge.contoso.test", "edge.contoso.test", "ca.crt", "edge.contoso.test", contoso,
             1, c.not_after + 1);
    assert_int_equal(find(&r, "validity")->id, PLAN_DIAG_CERT_EXPIRED);
    plan_report_clear(&r);
    plan_cert_clear(&c);
}

static void test_cert_bad(void **state)
{
    (void)state;
    plan_report_t r = {0};
    /* serverAuth only: EKU fails naming clientAuth; not our name either */
    run_cert(&r, "noclient.fabrikam.test", "noclient.fabrikam.test", "ca.crt", "edge.contoso.test",
             contoso, 1, time(NULL));
    const plan_item_t *it = find(&r, "EKU serverAuth and clientAuth");
    assert_int_equal(it->status, PLAN_FAIL);
    assert_int_equal(it->id, PLAN_DIAG_CERT_EKU);
    assert_string_equal(it->text, "extendedKeyUsage lacks clientAuth");
    it = find(&r, "names edge.contoso.test");
    assert_int_equal(it->id, PLAN_DIAG_CERT_SAN_FQDN);
    assert_non_null(strstr(it->fix, "DNS:edge.contoso.test"));
    assert_int_equal(find(&r, "names contoso.test")->status, PLAN_WARN);
    plan_report_clear(&r);

    /* expired */
    run_cert(&r, "expired.fabrikam.test", "expired.fabrikam.test", "ca.crt", "edge.fabrikam.test",
             NULL, 0, time(NULL));
    it = find(&r, "validity");
    assert_int_equal(it->status, PLAN_FAIL);
    assert_string_equal(it->text, "expired on 2020-02-01 00:00 UTC");
    assert_int_equal(find(&r, "chain verifies")->status, PLAN_WARN);
    plan_report_clear(&r);

    /* signed by a CA not in the trust anchors */
    run_cert(&r, "rogue.fabrikam.test", "rogue.fabrikam.test", "ca.crt", "edge.fabrikam.test", NULL,
             0, time(NULL));
    it = find(&r, "chain verifies");
    assert_int_equal(it->status, PLAN_FAIL);
    assert_int_equal(it->id, PLAN_DIAG_CERT_CHAIN);
    assert_non_null(strstr(it->text, "unable to get local issuer certificate"));
    plan_report_clear(&r);

    /* a key that is not the certificate's */
    run_cert(&r, "edge.contoso.test", "edge.fabrikam.test", "ca.crt", "edge.contoso.test", contoso,
             1, time(NULL));
    it = find(&r, "key matches certificate");
    assert_int_equal(it->status, PLAN_FAIL);
    assert_int_equal(it->id, PLAN_DIAG_CERT_KEY);
    plan_report_clear(&r);

    /* CN only: the name comes from the CN */
    run_cert(&r, "cn-only.fabrikam.test", "cn-only.fabrikam.test", "ca.crt", "edge.fabrikam.test",
             NULL, 0, time(NULL));
    assert_int_equal(find(&r, "names edge.fabrikam.test")->status, PLAN_PASS);
    plan_report_clear(&r);

    /* a wildcard certificate does not name the edge for SIP */
    const char *const wdom[] = {"example.test"};
    run_cert(&r, "wild.test", "wild.test", "ca.crt", "edge.wild.test", wdom, 1, time(NULL));
    it = find(&r, "names edge.wild.test");
    assert_int_equal(it->status, PLAN_FAIL);
    assert_non_null(strstr(it->text, "a wildcard does not count"));
    assert_int_equal(find(&r, "names example.test")->status, PLAN_PASS);
    plan_report_clear(&r);

    /* a file that is not there */
    plan_check_cert(P("nope.crt"), P("nope.key"), NULL, NULL, "edge.contoso.test", NULL, 0,
                    time(NULL), &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.items[0].id, PLAN_DIAG_CERT_UNREADABLE);
    plan_report_clear(&r);
}

/* plan reads names with net's routine (net_peer_from_x509): the same
 * RFC 5922 rules as the running edge. */
static void test_cert_names(void **state)
{
    (void)state;
    plan_cert_t c;
    fedge_err_t e = {{0}};
    assert_int_equal(plan_cert_load(P("wild.test.crt"), &c, &e), 0);
    /* RFC 5922 7.2: no wildcard matching for SIP, as the edge itself */
    assert_false(net_cert_names(c.id, "a.wild.test"));
    assert_true(net_cert_wildcard_only(c.id, "a.wild.test"));
    assert_true(net_cert_wildcard_only(c.id, "A.Wild.Test"));
    assert_false(net_cert_wildcard_only(c.id, "wild.test"));
    assert_false(net_cert_wildcard_only(c.id, "a.b.wild.test"));
    assert_false(net_cert_wildcard_only(c.id, "example.test"));
    assert_false(net_cert_names(c.id, "wild.test"));
    assert_true(net_cert_names(c.id, "example.test")); /* URI:sip:example.test */
    assert_false(net_cert_names(c.id, "users.test"));  /* sip URI with a user part */
    assert_true(net_cert_names(c.id, "port.test"));    /* host without port and params */
    assert_int_equal(c.id->n_sip, 2);
    assert_false(c.id->verified); /* read from a file: nothing verified */
    assert_true(c.eku_server && c.eku_client && c.has_eku);
    plan_cert_clear(&c);

    assert_int_equal(plan_cert_load(P("cn-only.fabrikam.test.crt"), &c, &e), 0);
    assert_int_equal(c.id->n_dns + c.id->n_sip, 0);      /* no subjectAltName... */
    assert_string_equal(c.id->cn, "edge.fabrikam.test"); /* ...so the CN counts */
    assert_true(net_cert_names(c.id, "edge.fabrikam.test"));
    plan_cert_clear(&c);
    assert_int_equal(plan_cert_load(P("edge.contoso.test.crt"), &c, &e), 0);
    assert_null(c.id->cn); /* a SAN: the CN is no identity */
    assert_false(net_cert_names(c.id, "edge.fabrikam.test"));
    assert_true(net_cert_names(c.id, "contoso.test"));
    plan_cert_clear(&c);
    assert_int_equal(plan_cert_load(P("noclient.fabrikam.test.crt"), &c, &e), 0);
    assert_true(c.eku_server);
    assert_false(c.eku_client);
    plan_cert_clear(&c);
    assert_int_equal(plan_cert_load(P("absent.crt"), &c, &e), FEDGE_EIO);
}

/* ---- verdicts ---- */

static void test_verdict(void **state)
{
    (void)state;
    plan_report_t r = {0};
    const char *const *steps = plan_probe_steps;
    size_t n = plan_probe_n_steps;
    plan_report_add(&r, "srv", "s", PLAN_PASS, 0, "ok", NULL, NULL);
    assert_null(plan_verdict(&r, steps, n));
    char *line = plan_verdict_line(&r, steps, n, "federation with x.test works");
    assert_string_equal(line, "PASS: federation with x.test works");
    free(line);
    plan_report_add(&r, "options", "o", PLAN_WARN, PLAN_DIAG_PROBE_SIP_ERROR, "403", "ask", NULL);
    line = plan_verdict_line(&r, steps, n, "ok");
    assert_string_equal(line, "PASS: ok, 1 warning");
    free(line);
    /* policy comes after tls in the step order although reported first */
    plan_report_add(&r, "policy", "p", PLAN_FAIL, 1012, "blocked", "fedge domain remove x.test",
                    NULL);
    plan_report_add(&r, "tls", "t", PLAN_FAIL, PLAN_DIAG_PROBE_REFUSED_US,
                    "partner refused our certificate (alert unknown CA)",
                    "the partner must trust the CA", NULL);
    const plan_item_t *v = plan_verdict(&r, steps, n);
    assert_non_null(v);
    assert_string_equal(v->step, "tls");
    line = plan_verdict_line(&r, steps, n, "ok");
    assert_string_equal(line, "FAIL at tls: partner refused our certificate (alert unknown CA) "
                              "\xe2\x80\x94 fix: the partner must trust the CA");
    free(line);
    /* an unknown step still counts, after the known ones */
    plan_report_t r2 = {0};
    plan_report_add(&r2, "other", "x", PLAN_FAIL, 0, "odd", NULL, NULL);
    assert_string_equal(plan_verdict(&r2, steps, n)->step, "other");
    line = plan_verdict_line(&r2, steps, n, "ok");
    assert_string_equal(line, "FAIL at other: odd");
    free(line);
    json_t *j = plan_report_json(&r);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "fail")), 2);
    json_t *it = json_array_get(json_object_get(j, "items"), 3);
    assert_string_equal(json_string_value(json_object_get(it, "code")), "probe-refused-us");
    assert_string_equal(json_string_value(json_object_get(it, "status")), "fail");
    json_decref(j);
    char *t = plan_report_text(&r);
    assert_non_null(strstr(t, "[fail] tls      t: partner refused our certificate (alert unknown "
                              "CA) (19536)\n       fix: the partner must trust the CA\n"));
    free(t);
    plan_report_clear(&r);
    plan_report_clear(&r2);
    assert_int_equal(r.n, 0);
}

/* ---- the findings table and its documentation ---- */

static void test_diag_table_and_docs(void **state)
{
    (void)state;
    size_t n;
    const plan_diag_t *t = plan_diag_table(&n);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(t[i - 1].id < t[i].id);
        assert_true(t[i].id >= 19500 && t[i].id < 19600);
        assert_ptr_equal(plan_diag(t[i].id), &t[i]);
        assert_true(t[i].code[0] && t[i].cause[0] && t[i].fix[0]);
    }
    assert_null(plan_diag(19599));
    FILE *fp = fopen("docs/diagnostics.md", "r");
    if (!fp)
        fail_msg("docs/diagnostics.md not found (run from the repository root)");
    static char doc[131072];
    size_t len = fread(doc, 1, sizeof(doc) - 1, fp);
    fclose(fp);
    doc[len] = 0;
    for (size_t i = 0; i < n; i++) {
        char row[128];
        snprintf(row, sizeof row, "| `%s` | %d |", t[i].code, t[i].id);
        if (!strstr(doc, row))
            fail_msg("docs/diagnostics.md lacks the row starting '%s'", row);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_records_cert_firewall),
        cmocka_unit_test(test_csr_config_and_request),
        cmocka_unit_test(test_plan_xmpp),
        cmocka_unit_test(test_plan_remote),
        cmocka_unit_test(test_plan_media),
        cmocka_unit_test(test_plan_wildcard_and_port),
        cmocka_unit_test(test_plan_never_suggests_loopback),
        cmocka_unit_test(test_plan_warns_srv_target_outside_domain),
        cmocka_unit_test(test_plan_store_routing_differs),
        cmocka_unit_test(test_plan_partners),
        cmocka_unit_test(test_plan_pool),
        cmocka_unit_test(test_cert_good),
        cmocka_unit_test(test_cert_bad),
        cmocka_unit_test(test_cert_names),
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_diag_table_and_docs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
