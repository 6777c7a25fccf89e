/* probe.c — `fedge probe DOMAIN`: federation with one partner diagnosed step
 * by step as the edge would attempt it (SRV, addresses, TCP, TLS presenting
 * our certificate, SIP OPTIONS) and what our own policy says, each failure
 * with its fix. */
#include "plan/plan_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

#include "policy/policy.h"

const char *const plan_probe_steps[] = {"srv", "address", "tcp", "tls", "options", "policy"};
const size_t plan_probe_n_steps = FEDGE_ARRAY_LEN(plan_probe_steps);

#define MAX_T 8
#define MAX_A 4

typedef struct {
    const plan__target_t *t;
    bool in_domain;
    /* tcp */
    int tcp_ok_addr;   /* index of the first address that connected, -1 none */
    char tcp_err[512]; /* per address failures */
    /* tls + options */
    plan__session_t s;
    bool tls_tried;
} tgt_t;

typedef struct {
    const config_t *cfg;
    const store_snapshot_t *snap;
    const char *domain;
    plan_live_opts_t o;
    plan_report_t *r;
    /* the route the edge takes directly */
    const char *fqdn; /* partner server / provider proxy FQDN, the default
                         route's host, or NULL: SRV */
    const char *fqdn_kind;
    uint16_t fqdn_port; /* 5061, or the default route's port */
    char route_host[CONFIG_FQDN_BUFSIZE + 2];
    plan__route_t rt;
    tgt_t tg[MAX_T];
    size_t n;
    char our_issuer[256];
} probe_t;

static void hex(char *out, size_t nbytes)
{
    unsigned char b[16];
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    if (RAND_bytes(b, (int)nbytes) != 1)
        memset(b, 0x5a, nbytes);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static char *options_request(const probe_t *p)
{
    char branch[33], tag[17], cid[33];
    hex(branch, 12);
    hex(tag, 8);
    hex(cid, 16);
    const char *local =
        p->cfg->edge.sip_domain_count ? p->cfg->edge.sip_domains[0] : p->cfg->edge.fqdn;
    unsigned port = p->cfg->external.listen.count ? p->cfg->external.listen.items[0].port : 5061;
    return plan__fmt("OPTIONS sip:%s SIP/2.0\r\n"
                     "Via: SIP/2.0/TLS %s:%u;branch=z9hG4bK%s\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:%s>;tag=%s\r\n"
                     "To: <sip:%s>\r\n"
                     "Call-ID: %s@%s\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Contact: <sip:%s:%u;transport=tls>\r\n"
                     "Accept: application/sdp\r\n"
                     "User-Agent: fedge-probe/0.1\r\n"
                     "Content-Length: 0\r\n\r\n",
                     p->domain, p->cfg->edge.fqdn, port, branch, local, tag, p->domain, cid,
                     p->cfg->edge.fqdn, p->cfg->edge.fqdn, port);
}

/* "worst" status for a target's failure: FAIL when no target gets through
 * the step, WARN when another one does (partners fail over). */
static plan_status_t sev(bool any_ok)
{
    return any_ok ? PLAN_WARN : PLAN_FAIL;
}

static void skip_rest(probe_t *p, const char *from_step, const char *why)
{
    bool on = false;
    for (size_t i = 0; i < plan_probe_n_steps - 1; i++) { /* policy is always evaluated */
        if (!strcmp(plan_probe_steps[i], from_step))
            on = true;
        if (on)
            plan_report_add(p->r, plan_probe_steps[i], p->domain, PLAN_SKIP, 0, why, NULL, NULL);
    }
}

/* ---- srv ---- */

static bool step_srv(probe_t *p, plan__dns_t *d)
{
    plan_report_t *r = p->r;
    if (p->fqdn) {
        plan__target_t *t = &p->rt.targets[0];
        if (plan__dns_host(d, p->fqdn, t) < 0)
            memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", p->fqdn);
        t->port = p->fqdn_port;
        p->rt.n = 1;
        p->rt.status = DNS_OK;
        plan_report_add(
            r, "srv", plan__tmp("route to %s", p->domain), PLAN_INFO, 0,
            !strcmp(p->fqdn_kind, "default route")
                ? plan__tmp("no SRV look-up: the edge sends all outbound federated traffic to its "
                            "default route %s port %u (fedge edge show), %s included",
                            p->fqdn, (unsigned)p->fqdn_port, p->domain)
                : plan__tmp("no SRV look-up: %s %s is configured with its edge %s (port %u)",
                            p->fqdn_kind, p->domain, p->fqdn, (unsigned)p->fqdn_port),
            NULL, NULL);
        return true;
    }
    char *name = plan__fmt("SRV %s%s", DNS_SIPFED_PREFIX, p->domain);
    plan__dns_route(d, DNS_SIPFED_PREFIX, p->domain, &p->rt);
    const char *pub = plan__tmp("the partner publishes %s%s. IN SRV 0 0 5061 <its edge FQDN "
                                "inside %s>., or allow it as a partner server: fedge domain "
                                "allow %s --proxy-fqdn <its edge FQDN>",
                                DNS_SIPFED_PREFIX, p->domain, p->domain, p->domain);
    switch (p->rt.status) {
    case DNS_NXDOMAIN:
    case DNS_NODATA:
        plan_report_add(r, "srv", name, PLAN_FAIL, PLAN_DIAG_PROBE_NO_SRV,
                        plan__tmp("no SRV record (%s): %s is not discoverable",
                                  dns_status_str(p->rt.status), p->domain),
                        pub, NULL);
        free(name);
        return false;
    case DNS_NOSERVICE:
        plan_report_add(
            r, "srv", name, PLAN_FAIL, PLAN_DIAG_PROBE_NO_SERVICE,
            plan__tmp("the SRV target is '.': %s declares no federation service", p->domain), pub,
            NULL);
        free(name);
        return false;
    case DNS_TIMEOUT:
    case DNS_SERVFAIL:
        plan_report_add(
            r, "srv", name, PLAN_FAIL, PLAN_DIAG_DNS_ERROR,
            plan__tmp("look-up failed: %s %s", dns_status_str(p->rt.status), p->rt.detail),
            "check [dns] servers and that DNS (53) to them is open", NULL);
        free(name);
        return false;
    case DNS_OK: break;
    }
    json_t *recs = json_array();
    char order[512] = "";
    size_t inside = 0;
    for (size_t i = 0; i < p->rt.n; i++) {
        const plan__target_t *t = &p->rt.targets[i];
        bool in = dns_name_in_domain(t->name, p->domain);
        inside += in;
        json_array_append_new(recs, json_pack("{s:s,s:i,s:i,s:i,s:b}", "target", t->name, "port",
                                              t->port, "priority", t->priority, "weight", t->weight,
                                              "in_domain", in));
        snprintf(order + strlen(order), sizeof order - strlen(order),
                 "%s%zu. %s:%u (priority %u, "
                 "weight %u)",
                 i ? ", " : "", i + 1, t->name, (unsigned)t->port, (unsigned)t->priority,
                 (unsigned)t->weight);
    }
    plan_report_add(r, "srv", name, PLAN_PASS, 0,
                    plan__tmp("%zu record(s), in order: %s", p->rt.n, order), NULL,
                    json_pack("{s:o}", "records", recs));
    for (size_t i = 0; i < p->rt.n; i++) {
        const plan__target_t *t = &p->rt.targets[i];
        if (dns_name_in_domain(t->name, p->domain))
            continue;
        plan_report_add(r, "srv", plan__tmp("SRV target %s", t->name), sev(inside > 0),
                        PLAN_DIAG_PROBE_OUTSIDE,
                        plan__tmp("SRV target %s is outside %s: fedge (like Lync) refuses an "
                                  "edge that is not in the partner's domain (RFC 5922 7.3)",
                                  t->name, p->domain),
                        plan__tmp("the partner points the SRV record at an edge FQDN inside %s "
                                  "(with a certificate naming it), or allow it as a partner "
                                  "server: fedge domain allow %s --proxy-fqdn %s",
                                  p->domain, p->domain, t->name),
                        NULL);
    }
    free(name);
    return true;
}

/* ---- addresses and TCP ---- */

static void step_addresses(probe_t *p)
{
    size_t with = 0;
    for (size_t i = 0; i < p->n; i++)
        with += p->tg[i].t->n > 0;
    char b[64];
    for (size_t i = 0; i < p->n; i++) {
        const plan__target_t *t = p->tg[i].t;
        if (t->n == 0) {
            plan_report_add(
                p->r, "address", plan__tmp("A/AAAA %s", t->name), sev(with > 0),
                PLAN_DIAG_PROBE_NO_ADDRESS,
                plan__tmp("%s has no address (%s%s%s)", t->name, dns_status_str(t->status),
                          t->detail[0] ? ": " : "", t->detail),
                plan__tmp("the partner publishes A/AAAA records for %s", t->name), NULL);
            continue;
        }
        json_t *a = json_array();
        char list[256] = "";
        for (size_t k = 0; k < t->n; k++) {
            dns_addr_str(&t->addrs[k], b, sizeof b);
            json_array_append_new(a, json_string(b));
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", b);
        }
        plan_report_add(p->r, "address", plan__tmp("A/AAAA %s", t->name), PLAN_PASS, 0,
                        plan__tmp("%s", list), NULL, json_pack("{s:o}", "addresses", a));
    }
}

static void step_tcp(probe_t *p)
{
    size_t ok = 0;
    for (size_t i = 0; i < p->n; i++) {
        tgt_t *g = &p->tg[i];
        g->tcp_ok_addr = -1;
        for (size_t k = 0; k < g->t->n && k < MAX_A; k++) {
            struct sockaddr_storage ss;
            socklen_t sl = dns_addr_to_sockaddr(&g->t->addrs[k], g->t->port, &ss);
            plan__session_t s = {
                .sa = (struct sockaddr *)&ss, .salen = sl, .timeout_ms = p->o.timeout_ms};
            plan__session_run(&s);
            char b[64];
            dns_addr_str(&g->t->addrs[k], b, sizeof b);
            if (s.tcp == 0) {
                g->tcp_ok_addr = (int)k;
                break;
            }
            snprintf(g->tcp_err + strlen(g->tcp_err), sizeof g->tcp_err - strlen(g->tcp_err),
                     "%s%s port %u: %s", g->tcp_err[0] ? "; " : "", b, (unsigned)g->t->port,
                     s.tcp_err);
        }
        ok += g->tcp_ok_addr >= 0;
    }
    for (size_t i = 0; i < p->n; i++) {
        tgt_t *g = &p->tg[i];
        const char *nm = plan__tmp("connect %s:%u", g->t->name, (unsigned)g->t->port);
        if (!g->t->n) {
            plan_report_add(p->r, "tcp", nm, PLAN_SKIP, 0, "no address to connect to", NULL, NULL);
        } else if (g->tcp_ok_addr >= 0) {
            char b[64];
            plan_report_add(p->r, "tcp", nm, PLAN_PASS, 0,
                            plan__tmp("connected to %s port %u",
                                      dns_addr_str(&g->t->addrs[g->tcp_ok_addr], b, sizeof b),
                                      (unsigned)g->t->port),
                            NULL, NULL);
        } else {
            plan_report_add(p->r, "tcp", nm, sev(ok > 0), PLAN_DIAG_PROBE_TCP,
                            plan__tmp("cannot connect to %s:%u: %s", g->t->name,
                                      (unsigned)g->t->port, g->tcp_err),
                            plan__tmp("the partner's edge %s is down or a firewall blocks TCP "
                                      "%u (theirs inbound, or ours outbound); if the edge "
                                      "listens elsewhere, the %s must give its port",
                                      g->t->name, (unsigned)g->t->port,
                                      p->fqdn ? "configuration" : "SRV record"),
                            NULL);
        }
    }
}

/* ---- TLS and OPTIONS ---- */

static bool alert_about_us(int a)
{
    switch (a) {
    case 42: /* bad_certificate */
    case 43: /* unsupported_certificate */
    case 44: /* certificate_revoked */
    case 45: /* certificate_expired */
    case 46: /* certificate_unknown */
    case 48: /* unknown_ca */
    case 49: /* access_denied */
    case 116: /* certificate_required */ return true;
    default: return false;
    }
}

/* Judges one target's TLS session: returns the status and fills id, text,
 * fix (static buffers via plan__tmp). */
static plan_status_t judge_tls(const probe_t *p, const tgt_t *g, int *id, const char **text,
                               const char **fix)
{
    const plan__session_t *s = &g->s;
    const plan_cert_t *c = &s->peer;
    const char *where = plan__tmp("%s:%u", g->t->name, (unsigned)g->t->port);
    *id = 0;
    *fix = NULL;
    if (s->tls == PLAN__TLS_ALERT && alert_about_us(s->alert)) {
        *id = PLAN_DIAG_PROBE_REFUSED_US;
        *text = plan__tmp("partner refused our certificate (alert %s)", s->alert_text);
        *fix = plan__tmp("the partner must trust the CA that issued %s (%s)%s", p->cfg->edge.fqdn,
                         p->our_issuer,
                         s->alert == 45 ? "; and our certificate must not be expired" : "");
        return PLAN_FAIL;
    }
    if (s->tls == PLAN__TLS_NOT_TLS) {
        *id = PLAN_DIAG_PROBE_NOT_TLS;
        *text = plan__tmp("%s accepts TCP but does not speak TLS: %s", where, s->tls_err);
        *fix = p->fqdn ? plan__tmp("the partner's edge %s must offer TLS on port %u", g->t->name,
                                   (unsigned)g->t->port)
                       : plan__tmp("the SRV record of %s points to port %u, where no TLS "
                                   "service answers: the partner points it to its edge's TLS "
                                   "port (5061)",
                                   p->domain, (unsigned)g->t->port);
        return PLAN_FAIL;
    }
    if (s->tls != PLAN__TLS_OK) {
        *id = PLAN_DIAG_PROBE_TLS;
        *text = plan__tmp("TLS handshake with %s failed: %s", where, s->tls_err);
        *fix = s->tls == PLAN__TLS_TIMEOUT || s->tls == PLAN__TLS_CLOSED
                   ? plan__tmp("check that port %u of %s is the partner's TLS port (5061) and "
                               "that nothing in between drops TLS",
                               (unsigned)g->t->port, g->t->name)
                   : "compare TLS versions (tls_min_version) and the partner's TLS settings";
        return PLAN_FAIL;
    }
    if (!s->peer_presented) {
        *id = PLAN_DIAG_PROBE_UNTRUSTED;
        *text = plan__tmp("%s presented no certificate", where);
        *fix = "the partner's edge must present its certificate";
        return PLAN_FAIL;
    }
    char na[40];
    struct tm tm;
    gmtime_r(&c->not_after, &tm);
    strftime(na, sizeof na, "%Y-%m-%d", &tm);
    if (s->verify == X509_V_ERR_CERT_HAS_EXPIRED || s->verify == X509_V_ERR_CERT_NOT_YET_VALID ||
        p->o.now >= c->not_after) {
        *id = PLAN_DIAG_PROBE_EXPIRED;
        *text = s->verify == X509_V_ERR_CERT_NOT_YET_VALID
                    ? plan__tmp("partner certificate of %s is not valid yet", g->t->name)
                    : plan__tmp("partner certificate of %s expired on %s", g->t->name, na);
        *fix = plan__tmp("the partner renews the certificate of %s (%s)", g->t->name, c->subject);
        return PLAN_FAIL;
    }
    if (s->verify != X509_V_OK) {
        *id = PLAN_DIAG_PROBE_UNTRUSTED;
        if (s->verify == X509_V_ERR_INVALID_PURPOSE) {
            *text = plan__tmp("partner certificate of %s is not fit for a TLS server (no "
                              "serverAuth EKU)",
                              g->t->name);
            *fix = "the partner gets a certificate with serverAuth and clientAuth";
        } else {
            const char *anchors = p->cfg->external.ca_file   ? p->cfg->external.ca_file
                                  : p->cfg->external.ca_path ? p->cfg->external.ca_path
                                                             : "the system store";
            *text = plan__tmp("partner certificate of %s does not verify: %s (issuer %s)",
                              g->t->name, s->verify_err, c->issuer);
            *fix = plan__tmp("the partner uses a certificate from a CA we trust (%s) and sends "
                             "its intermediates, or add its CA to [external] ca_file",
                             anchors);
        }
        return PLAN_FAIL;
    }
    /* A default route given as an IP address: the edge verifies the
     * chain, not a name (docs/proxy.md); so does the probe. */
    bool names_target = net_cert_names(c->id, g->t->name) ||
                        (!strcmp(p->fqdn_kind ? p->fqdn_kind : "", "default route") &&
                         fedge_host_is_ip(g->t->name));
    if (!names_target) {
        char *nm = plan__cert_names_text(c, 512, "");
        *id = PLAN_DIAG_PROBE_NAME;
        if (p->fqdn)
            *text = plan__tmp("partner certificate names %s, not the configured %s %s", nm,
                              p->fqdn_kind, g->t->name);
        else
            *text =
                plan__tmp("partner certificate names %s, not the SRV target %s%s", nm, g->t->name,
                          net_cert_wildcard_only(c->id, g->t->name)
                              ? " (a wildcard does not count for SIP, RFC 5922 7.2)"
                          : net_cert_names(c->id, p->domain)
                              ? " (it names the domain, but the edge checks the SRV target)"
                              : "");
        *fix = plan__tmp("the partner gets a certificate naming %s (subjectAltName DNS:%s)",
                         g->t->name, g->t->name);
        free(nm);
        return PLAN_FAIL;
    }
    if (!c->eku_client) {
        *id = PLAN_DIAG_PROBE_NO_CLIENT;
        *text = plan__tmp("partner certificate of %s lacks the clientAuth EKU: its "
                          "connections to this edge will be refused",
                          g->t->name);
        *fix = plan__tmp("the partner gets a certificate for %s with both serverAuth and "
                         "clientAuth",
                         g->t->name);
        return PLAN_FAIL;
    }
    if (c->not_after - p->o.now < 30 * 86400) {
        *id = PLAN_DIAG_PROBE_EXPIRED;
        *text =
            plan__tmp("partner certificate of %s expires on %s (under 30 days)", g->t->name, na);
        *fix = "the partner renews its certificate soon";
        return PLAN_WARN;
    }
    bool by_address = p->fqdn && fedge_host_is_ip(g->t->name);
    *text = plan__tmp("%s, certificate '%s' %s%s (%s), issuer '%s', valid until %s, EKU "
                      "serverAuth+clientAuth; our certificate accepted",
                      s->version, c->subject, by_address ? "for " : "names ", g->t->name,
                      !p->fqdn     ? "the SRV target, inside the domain"
                      : by_address ? "an address: chain checked, no name required"
                      : !strcmp(p->fqdn_kind, "default route") ? "the default route"
                                                               : "the configured FQDN",
                      c->issuer, na);
    return PLAN_PASS;
}

static void step_tls_options(probe_t *p)
{
    fedge_err_t e = {{0}};
    SSL_CTX *ctx = plan__tls_ctx(p->cfg->external.certificate, p->cfg->external.private_key,
                                 p->cfg->external.ca_file, p->cfg->external.ca_path,
                                 p->cfg->external.tls_min_version, &e);
    if (!ctx) {
        plan_report_add(p->r, "tls", p->domain, PLAN_FAIL, PLAN_DIAG_CERT_UNREADABLE,
                        plan__tmp("cannot use our own certificate: %s", e.msg),
                        "fix [external] certificate / private_key (fedge check)", NULL);
        plan_report_add(p->r, "options", p->domain, PLAN_SKIP, 0, "not sent: no TLS", NULL, NULL);
        return;
    }
    char *req = options_request(p);
    for (size_t i = 0; i < p->n; i++) {
        tgt_t *g = &p->tg[i];
        if (g->tcp_ok_addr < 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = dns_addr_to_sockaddr(&g->t->addrs[g->tcp_ok_addr], g->t->port, &ss);
        g->s = (plan__session_t){.sa = (struct sockaddr *)&ss,
                                 .salen = sl,
                                 .sni = fedge_host_is_ip(g->t->name) ? NULL : g->t->name,
                                 .ctx = ctx,
                                 .timeout_ms = p->o.timeout_ms,
                                 .request = req,
                                 .linger_ms = 300};
        plan__session_run(&g->s);
        g->s.sa = NULL;
        g->tls_tried = true;
    }
    free(req);
    SSL_CTX_free(ctx);

    /* TLS items */
    plan_status_t st[MAX_T];
    int ids[MAX_T];
    const char *texts[MAX_T], *fixes[MAX_T];
    char *tcopy[MAX_T] = {0}, *fcopy[MAX_T] = {0};
    size_t ok = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!p->tg[i].tls_tried)
            continue;
        st[i] = judge_tls(p, &p->tg[i], &ids[i], &texts[i], &fixes[i]);
        tcopy[i] = fedge_strdup(texts[i]); /* plan__tmp buffers rotate */
        fcopy[i] = fixes[i] ? fedge_strdup(fixes[i]) : NULL;
        ok += st[i] != PLAN_FAIL;
    }
    size_t sip_ok = 0;
    for (size_t i = 0; i < p->n; i++)
        sip_ok += p->tg[i].tls_tried && st[i] != PLAN_FAIL && p->tg[i].s.sip_status > 0;
    for (size_t i = 0; i < p->n; i++) {
        tgt_t *g = &p->tg[i];
        const char *nm = plan__tmp("%s:%u", g->t->name, (unsigned)g->t->port);
        char *name = fedge_strdup(nm);
        if (!g->tls_tried) {
            plan_report_add(p->r, "tls", name, PLAN_SKIP, 0, "not tried: no TCP connection", NULL,
                            NULL);
            plan_report_add(p->r, "options", name, PLAN_SKIP, 0, "not sent: no connection", NULL,
                            NULL);
            free(name);
            continue;
        }
        plan__session_t *s = &g->s;
        json_t *data = NULL;
        if (s->peer_presented) {
            char *nmz = plan__cert_names_text(&s->peer, 512, "");
            char na[40];
            struct tm tm;
            gmtime_r(&s->peer.not_after, &tm);
            strftime(na, sizeof na, "%Y-%m-%dT%H:%M:%SZ", &tm);
            data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:s?,s:O}", "version", s->version,
                             "subject", s->peer.subject, "issuer", s->peer.issuer, "names", nmz,
                             "not_after", na, "eku_server", s->peer.eku_server, "eku_client",
                             s->peer.eku_client, "verify_error",
                             s->verify == X509_V_OK ? NULL : s->verify_err, "chain",
                             s->chain ? s->chain : json_null());
            free(nmz);
        }
        if (s->alert >= 0) {
            if (!data)
                data = json_object();
            json_object_set_new(data, "alert", json_string(s->alert_text));
            json_object_set_new(data, "alert_after_handshake", json_boolean(s->after_handshake));
        }
        plan_status_t ts = st[i] == PLAN_FAIL ? sev(ok > 0) : st[i];
        plan_report_add(p->r, "tls", name, ts, ids[i], tcopy[i], fcopy[i], data);

        /* OPTIONS */
        if (st[i] == PLAN_FAIL) {
            plan_report_add(p->r, "options", name, PLAN_SKIP, 0,
                            s->sent ? "answer not judged: the TLS step failed"
                                    : "not sent: the TLS step failed",
                            NULL, NULL);
        } else if (s->sip_status >= 200 && s->sip_status < 300) {
            plan_report_add(p->r, "options", name, PLAN_PASS, 0,
                            plan__tmp("answered: %s", s->sip_line), NULL,
                            json_pack("{s:i,s:s}", "status", s->sip_status, "line", s->sip_line));
        } else if (s->sip_status) {
            plan_report_add(p->r, "options", name, PLAN_WARN, PLAN_DIAG_PROBE_SIP_ERROR,
                            plan__tmp("answered: %s%s%s%s%s", s->sip_line,
                                      s->sip_warning[0] ? "; Warning: " : "", s->sip_warning,
                                      s->sip_diag[0] ? "; ms-diagnostics: " : "", s->sip_diag),
                            plan__tmp("the SIP path works; the partner's edge refused the "
                                      "OPTIONS: ask it to allow %s",
                                      p->cfg->edge.sip_domain_count ? p->cfg->edge.sip_domains[0]
                                                                    : p->cfg->edge.fqdn),
                            json_pack("{s:i,s:s,s:s,s:s}", "status", s->sip_status, "line",
                                      s->sip_line, "warning", s->sip_warning, "diagnostics",
                                      s->sip_diag));
        } else {
            plan_report_add(p->r, "options", name, sev(sip_ok > 0), PLAN_DIAG_PROBE_NO_ANSWER,
                            plan__tmp("no answer to SIP OPTIONS: %s",
                                      s->sip_err[0] ? s->sip_err : "nothing received"),
                            plan__tmp("the partner checks the SIP service behind %s:%u and its "
                                      "logs",
                                      g->t->name, (unsigned)g->t->port),
                            NULL);
        }
        free(name);
    }
    for (size_t i = 0; i < p->n; i++) {
        free(tcopy[i]);
        free(fcopy[i]);
        if (p->tg[i].tls_tried)
            plan__session_clear(&p->tg[i].s);
    }
}

/* ---- policy ---- */

static void step_policy(probe_t *p, const policy_verdict_t *v)
{
    const char *name = plan__tmp("policy for %s", p->domain);
    char *nm = fedge_strdup(name);
    if (v->outcome == POLICY_REJECT) {
        const policy_diag_t *d = policy_diag(v->diag);
        const char *fix = d ? d->fix : NULL;
        if (v->diag == POLICY_DIAG_BLOCKED)
            fix = plan__tmp("fedge domain remove %s (if the block is no longer wanted)", p->domain);
        else if (v->diag == POLICY_DIAG_NOT_ALLOWED)
            fix = plan__tmp("fedge domain allow %s, or fedge edge set --discovery on", p->domain);
        const char *what = v->diag == POLICY_DIAG_BLOCKED       ? "blocked"
                           : v->diag == POLICY_DIAG_NOT_ALLOWED ? "refused: not allowed and "
                                                                  "partner discovery is off"
                                                                : "refused";
        plan_report_add(p->r, "policy", nm, PLAN_FAIL, v->diag,
                        plan__tmp("%s (%d %s)", what, v->diag, v->reason ? v->reason : ""), fix,
                        json_pack("{s:s,s:i}", "decision", "reject", "diag", v->diag));
        free(nm);
        return;
    }
    const char *kind = "?";
    switch (v->type) {
    case POLICY_FED_PARTNER_SERVER: kind = "allowed partner server"; break;
    case POLICY_FED_ALLOWED_DOMAIN: kind = "allowed domain"; break;
    case POLICY_FED_PROVIDER_HOSTING: kind = "hosting provider"; break;
    case POLICY_FED_PROVIDER_PUBLIC: kind = "public provider"; break;
    case POLICY_FED_DISCOVERED: kind = "discovered partner"; break;
    case POLICY_FED_NONE: kind = "federated"; break;
    }
    const char *route = "";
    if (v->route == POLICY_ROUTE_DEFAULT)
        route = plan__tmp("; outbound requests go to the default route %s, not directly",
                          v->route_host ? v->route_host : "");
    else if (v->route == POLICY_ROUTE_FQDN)
        route = plan__tmp("; routed to %s", v->route_host ? v->route_host : "");
    else if (v->route == POLICY_ROUTE_SRV)
        route = "; routed by its SRV records";
    plan_report_add(
        p->r, "policy", nm, PLAN_PASS, 0,
        plan__tmp("allowed: %s%s%s", kind,
                  v->type == POLICY_FED_DISCOVERED ? " (partner discovery is on; throttled)" : "",
                  route),
        NULL, json_pack("{s:s,s:s}", "decision", "allow", "type", kind));
    free(nm);
}

int plan_probe(const config_t *cfg, const store_snapshot_t *snap, const char *domain,
               const plan_live_opts_t *o, plan_report_t *r, fedge_err_t *err)
{
    char dom[CONFIG_FQDN_BUFSIZE];
    fedge_err_t why = {{0}};
    if (config_normalize_fqdn(domain, strlen(domain), 2, dom, &why) < 0)
        return fedge_err(err, FEDGE_EINVAL, "'%s' is not a domain name: %s", domain, why.msg);
    probe_t *p = fedge_calloc(1, sizeof *p);
    p->cfg = cfg;
    p->snap = snap;
    p->domain = dom;
    p->o = o ? *o : (plan_live_opts_t){0};
    if (!p->o.timeout_ms)
        p->o.timeout_ms = 3000;
    if (!p->o.now)
        p->o.now = time(NULL);
    p->r = r;
    plan_cert_t mine;
    if (plan_cert_load(cfg->external.certificate, &mine, NULL) == 0) {
        snprintf(p->our_issuer, sizeof p->our_issuer, "issuer %s", mine.issuer);
        plan_cert_clear(&mine);
    } else {
        snprintf(p->our_issuer, sizeof p->our_issuer, "our certificate is unreadable");
    }

    /* What the policy says, and the direct route it implies. */
    store_snapshot_t *empty = snap ? NULL : store_snapshot_empty();
    const store_snapshot_t *sn = snap ? snap : empty;
    const char *local = cfg->edge.sip_domain_count ? cfg->edge.sip_domains[0] : cfg->edge.fqdn;
    policy_input_t in = {.dir = POLICY_OUTBOUND,
                         .from_user = FEDGE_STR_LIT("probe"),
                         .from_domain = {local, strlen(local)},
                         .to_user = FEDGE_STR_LIT("probe"),
                         .to_domain = {dom, strlen(dom)},
                         .local_domains = (const char *const *)cfg->edge.sip_domains,
                         .n_local_domains = cfg->edge.sip_domain_count,
                         .source_verified = -1};
    policy_verdict_t v;
    policy_decide(sn, &in, &v);
    fedge_str_t ds = {dom, strlen(dom)};
    const store_allowed_t *al = store_snapshot_allowed(sn, ds);
    const store_provider_t *pr = store_snapshot_provider_for(sn, ds);
    p->fqdn_port = CONFIG_DEFAULT_FEDERATION_PORT;
    if (sn->edge.routing == STORE_ROUTING_DEFAULT_ROUTE && sn->edge.default_route[0]) {
        /* What the edge does (policy_decide: the default route comes
         * first): every partner, partner servers too, through it. */
        const char *dr = sn->edge.default_route, *colon = strrchr(dr, ':');
        size_t hl = strlen(dr);
        if (colon && (dr[0] != '[' || colon > strchr(dr, ']'))) {
            hl = (size_t)(colon - dr);
            p->fqdn_port = (uint16_t)strtoul(colon + 1, NULL, 10);
        }
        if (dr[0] == '[' && hl >= 2) { /* [v6]: the address without brackets */
            dr++;
            hl -= 2;
        }
        snprintf(p->route_host, sizeof p->route_host, "%.*s", (int)hl, dr);
        p->fqdn = p->route_host;
        p->fqdn_kind = "default route";
    } else if (al && al->proxy_fqdn) {
        p->fqdn = al->proxy_fqdn;
        p->fqdn_kind = "partner server";
    } else if (pr) {
        p->fqdn = pr->proxy_fqdn;
        p->fqdn_kind = "provider proxy";
    }

    plan__dns_t d;
    int rc = plan__dns_open(&d, cfg, err);
    if (rc < 0) {
        store_snapshot_unref(empty);
        free(p);
        return rc;
    }
    if (step_srv(p, &d)) {
        for (size_t i = 0; i < p->rt.n && p->n < MAX_T; i++)
            p->tg[p->n++].t = &p->rt.targets[i];
        step_addresses(p);
        step_tcp(p);
        step_tls_options(p);
    } else {
        skip_rest(p, "address", "not tried: no SRV target");
    }
    step_policy(p, &v);
    plan__dns_close(&d);
    store_snapshot_unref(empty);
    free(p);
    return 0;
}
