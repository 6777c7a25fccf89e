/* check.c — `fedge check`: every item of the plan verified live: our SRV and
 * A/AAAA records through the configured resolver, the external certificate,
 * the listeners (a real TLS handshake presenting our own certificate) and
 * the records configured partners must publish. */
#include "media/media.h"
#include "plan/plan_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const plan_check_steps[] = {"dns", "cert", "listen", "pool", "partner", "media"};
const size_t plan_check_n_steps = FEDGE_ARRAY_LEN(plan_check_steps);

/* sockaddr for a listen address (a wildcard becomes the loopback). */
static socklen_t listen_sa(const config_hostport_t *hp, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    const char *h = hp->host;
    if (hp->kind == CONFIG_HOST_IPV6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(hp->port);
        if (inet_pton(AF_INET6, !strcmp(h, "::") ? "::1" : h, &s6->sin6_addr) != 1)
            return 0;
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(hp->port);
    if (inet_pton(AF_INET, !strcmp(h, "0.0.0.0") ? "127.0.0.1" : h, &s4->sin_addr) != 1)
        return 0;
    return sizeof *s4;
}

static json_t *route_json(const plan__route_t *rt)
{
    json_t *a = json_array();
    char b[64];
    for (size_t i = 0; i < rt->n; i++) {
        const plan__target_t *t = &rt->targets[i];
        json_t *addrs = json_array();
        for (size_t k = 0; k < t->n; k++)
            json_array_append_new(addrs, json_string(dns_addr_str(&t->addrs[k], b, sizeof b)));
        json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:i,s:o}", "target", t->name, "port",
                                           t->port, "priority", t->priority, "weight", t->weight,
                                           "addresses", addrs));
    }
    return a;
}

static void check_srv(plan__dns_t *d, const plan_t *p, const char *domain, plan_report_t *r)
{
    plan__route_t rt;
    char *name = plan__fmt("SRV %s%s", DNS_SIPFED_PREFIX, domain);
    const char *want = plan__tmp("%s%s. 3600 IN SRV 0 0 %u %s.", DNS_SIPFED_PREFIX, domain,
                                 (unsigned)p->port, p->srv_target);
    char *fix = plan__fmt("publish: %s", want);
    if (plan__dns_route(d, DNS_SIPFED_PREFIX, domain, &rt) < 0) {
        plan_report_add(r, "dns", name, PLAN_FAIL, PLAN_DIAG_SRV_MISSING, "not a valid DNS name",
                        fix, NULL);
    } else if (rt.status == DNS_NXDOMAIN || rt.status == DNS_NODATA) {
        plan_report_add(r, "dns", name, PLAN_FAIL, PLAN_DIAG_SRV_MISSING,
                        plan__tmp("no SRV record (%s): partners cannot find the edge of %s",
                                  dns_status_str(rt.status), domain),
                        fix, NULL);
    } else if (rt.status == DNS_TIMEOUT || rt.status == DNS_SERVFAIL) {
        plan_report_add(r, "dns", name, PLAN_FAIL, PLAN_DIAG_DNS_ERROR,
                        plan__tmp("look-up failed: %s %s", dns_status_str(rt.status), rt.detail),
                        "check [dns] servers and that DNS (53) to them is open", NULL);
    } else if (rt.status == DNS_NOSERVICE) {
        plan_report_add(r, "dns", name, PLAN_FAIL, PLAN_DIAG_SRV_WRONG,
                        "the record's target is '.': it says there is no federation service",
                        plan__tmp("replace it: %s", want), NULL);
    } else {
        bool ok = false;
        char got[512] = "";
        for (size_t i = 0; i < rt.n; i++) {
            const plan__target_t *t = &rt.targets[i];
            if (!strcmp(t->name, p->srv_target) && t->port == p->port)
                ok = true;
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s:%u", i ? ", " : "", t->name,
                     (unsigned)t->port);
        }
        if (ok)
            plan_report_add(
                r, "dns", name, PLAN_PASS, 0,
                plan__tmp("points to %s:%u (records: %s)", p->srv_target, (unsigned)p->port, got),
                NULL, route_json(&rt));
        else
            plan_report_add(
                r, "dns", name, PLAN_FAIL, PLAN_DIAG_SRV_WRONG,
                plan__tmp("points to %s, not to %s:%u", got, p->srv_target, (unsigned)p->port),
                plan__tmp("change the record to: %s", want), route_json(&rt));
    }
    free(fix);
    free(name);
}

static void check_host(plan__dns_t *d, const config_t *cfg, const plan_t *p, plan_report_t *r)
{
    plan__target_t t;
    char *name = plan__fmt("A/AAAA %s", p->edge_fqdn);
    char b[64], got[512] = "";
    if (plan__dns_host(d, p->edge_fqdn, &t) < 0 || t.n == 0) {
        bool err = t.status == DNS_TIMEOUT || t.status == DNS_SERVFAIL;
        plan_report_add(
            r, "dns", name, PLAN_FAIL, err ? PLAN_DIAG_DNS_ERROR : PLAN_DIAG_HOST_MISSING,
            plan__tmp("no address (%s%s%s)", dns_status_str(t.status), t.detail[0] ? ": " : "",
                      t.detail),
            err ? "check [dns] servers and that DNS (53) to them is open"
                : plan__tmp("publish: %s 3600 IN %s %s (fedge plan)",
                            p->records[p->n_records - 1].owner, p->records[p->n_records - 1].type,
                            p->records[p->n_records - 1].value),
            NULL);
        free(name);
        return;
    }
    json_t *addrs = json_array();
    for (size_t k = 0; k < t.n; k++) {
        dns_addr_str(&t.addrs[k], b, sizeof b);
        json_array_append_new(addrs, json_string(b));
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? ", " : "", b);
    }
    /* Does DNS give one of the specific listen addresses? */
    bool any_specific = false, found = false;
    for (size_t i = 0; i < cfg->external.listen.count; i++) {
        const config_hostport_t *hp = &cfg->external.listen.items[i];
        if (plan__is_wildcard(hp))
            continue;
        any_specific = true;
        for (size_t k = 0; k < t.n; k++)
            if (!strcmp(dns_addr_str(&t.addrs[k], b, sizeof b), hp->host))
                found = true;
    }
    if (!any_specific || found)
        plan_report_add(r, "dns", name, PLAN_PASS, 0, plan__tmp("resolves to %s", got), NULL,
                        addrs);
    else
        plan_report_add(r, "dns", name, PLAN_WARN, PLAN_DIAG_HOST_OTHER,
                        plan__tmp("resolves to %s, none of them an [external] listen address", got),
                        "fine when NAT maps that address to the edge; otherwise publish the "
                        "listen address",
                        addrs);
    free(name);
}

/* A pool member: does the pool FQDN lead to it (one of its external
 * addresses, or the load balancer's VIP)? */
static void check_pool_host(plan__dns_t *d, const config_t *cfg, const plan_t *p, const char *hlb,
                            plan_report_t *r)
{
    plan__target_t t;
    char *name = plan__fmt("A/AAAA %s (the pool)", p->pool_fqdn);
    char b[64], got[512] = "";
    if (plan__dns_host(d, p->pool_fqdn, &t) < 0 || t.n == 0) {
        bool err = t.status == DNS_TIMEOUT || t.status == DNS_SERVFAIL;
        plan_report_add(
            r, "dns", name, PLAN_FAIL, err ? PLAN_DIAG_DNS_ERROR : PLAN_DIAG_HOST_MISSING,
            plan__tmp("no address (%s): partners cannot reach the pool", dns_status_str(t.status)),
            err ? "check [dns] servers and that DNS (53) to them is open"
                : "publish the pool's A/AAAA records (fedge plan)",
            NULL);
        free(name);
        return;
    }
    bool found = false, any_specific = false;
    for (size_t k = 0; k < t.n; k++) {
        dns_addr_str(&t.addrs[k], b, sizeof b);
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? ", " : "", b);
        if (hlb) {
            any_specific = true;
            found |= !strcmp(b, hlb);
            continue;
        }
        for (size_t i = 0; i < cfg->external.listen.count; i++) {
            const config_hostport_t *hp = &cfg->external.listen.items[i];
            if (plan__is_wildcard(hp))
                continue;
            any_specific = true;
            found |= !strcmp(b, hp->host);
        }
    }
    if (!any_specific || found)
        plan_report_add(r, "dns", name, PLAN_PASS, 0,
                        plan__tmp("resolves to %s, %s among them", got,
                                  hlb ? "the load balancer" : "this member"),
                        NULL, NULL);
    else
        plan_report_add(r, "dns", name, PLAN_WARN, PLAN_DIAG_POOL_ADDRESS,
                        plan__tmp("resolves to %s, not to %s", got,
                                  hlb ? hlb : "this member's external address"),
                        hlb ? plan__tmp("publish %s. IN A %s", p->pool_fqdn, hlb)
                            : "publish one record of the pool FQDN per member (fedge plan); "
                              "fine when NAT maps one of these addresses to this member",
                        NULL);
    free(name);
}

/* A pool member: this member and the others as recorded in the store. */
static void check_pool_members(const config_t *cfg, const plan_pool_t *pool, time_t now,
                               plan_report_t *r)
{
    const char *pf = cfg->edge.pool_fqdn;
    bool self = false;
    size_t live = 0;
    for (size_t i = 0; pool && i < pool->n_members; i++) {
        const store_member_t *m = &pool->members[i];
        if (strcmp(m->pool, pf))
            continue;
        const char *st = store_member_state(m, pf, (int64_t)now);
        bool me = !strcmp(m->fqdn, cfg->edge.fqdn);
        self |= me;
        char *name = plan__fmt("member %s%s", m->fqdn, me ? " (this one)" : "");
        if (!strcmp(st, "live")) {
            live++;
            plan_report_add(r, "pool", name, PLAN_PASS, 0,
                            plan__tmp("seen %llds ago at %s, certificate names %s",
                                      (long long)(now - m->seen_s), m->addresses, pf),
                            NULL, NULL);
        } else if (!strcmp(st, "stale")) {
            plan_report_add(r, "pool", name, me ? PLAN_FAIL : PLAN_WARN, PLAN_DIAG_POOL_MEMBER,
                            plan__tmp("stale: last seen %llds ago", (long long)(now - m->seen_s)),
                            me ? plan__tmp("start it: fedge serve -c %s", cfg->path)
                               : plan__tmp("start it, or fedge pool forget %s if it left the "
                                           "pool for good",
                                           m->fqdn),
                            NULL);
        } else {
            plan_report_add(
                r, "pool", name, PLAN_FAIL, PLAN_DIAG_POOL_MEMBER,
                plan__tmp("its certificate does not name %s (names: %s)", pf, m->cert_names),
                plan__tmp("give it a certificate with subjectAltName DNS:%s", pf), NULL);
        }
        free(name);
    }
    if (!self)
        plan_report_add(r, "pool", plan__tmp("member %s (this one)", cfg->edge.fqdn), PLAN_WARN,
                        PLAN_DIAG_POOL_MEMBER,
                        "not recorded in the store: it is not running, or runs on another store",
                        plan__tmp("start it (fedge serve -c %s): a running member records "
                                  "itself every 2 s",
                                  cfg->path),
                        NULL);
    plan_report_add(r, "pool", plan__tmp("pool %s", pf), PLAN_INFO, 0,
                    plan__tmp("%zu live member%s recorded", live, live == 1 ? "" : "s"), NULL,
                    NULL);
}

static void check_listen(SSL_CTX *ctx, const config_t *cfg, const plan_live_opts_t *o,
                         plan_report_t *r)
{
    char b[128];
    for (size_t i = 0; i < cfg->external.listen.count; i++) {
        const config_hostport_t *hp = &cfg->external.listen.items[i];
        struct sockaddr_storage ss;
        socklen_t sl = listen_sa(hp, &ss);
        char *name = plan__fmt("external %s", config_hostport_format(hp, b, sizeof b));
        plan__session_t s = {.sa = (struct sockaddr *)&ss,
                             .salen = sl,
                             .sni = cfg->edge.fqdn,
                             .ctx = ctx,
                             .timeout_ms = o->timeout_ms,
                             .linger_ms = 500};
        plan__session_run(&s);
        if (s.tcp < 0)
            plan_report_add(r, "listen", name, PLAN_FAIL, PLAN_DIAG_LISTEN_DOWN,
                            plan__tmp("TCP connect failed: %s", s.tcp_err),
                            plan__tmp("start fedge (fedge serve -c %s) and open TCP %u in the "
                                      "firewall",
                                      cfg->path, (unsigned)hp->port),
                            NULL);
        else if (s.tls != PLAN__TLS_OK)
            plan_report_add(
                r, "listen", name, PLAN_FAIL, PLAN_DIAG_LISTEN_TLS,
                plan__tmp("TLS handshake presenting our own certificate failed: %s", s.tls_err),
                s.alert >= 0 ? "the listener refuses our own certificate: check "
                               "[external] ca_file trusts the CA that issued it"
                             : "check [external] certificate, private_key and "
                               "tls_min_version, and the fedge log",
                NULL);
        else
            plan_report_add(r, "listen", name, PLAN_PASS, 0,
                            plan__tmp("%s handshake completed, our certificate accepted%s%s",
                                      s.version,
                                      s.verify == X509_V_OK ? ""
                                                            : "; server "
                                                              "certificate: ",
                                      s.verify == X509_V_OK ? "" : s.verify_err),
                            NULL, NULL);
        plan__session_clear(&s);
        free(name);
    }
    for (size_t i = 0; i < cfg->internal.listen.count; i++) {
        const config_hostport_t *hp = &cfg->internal.listen.items[i];
        struct sockaddr_storage ss;
        socklen_t sl = listen_sa(hp, &ss);
        char *name = plan__fmt("internal %s", config_hostport_format(hp, b, sizeof b));
        plan__session_t s = {
            .sa = (struct sockaddr *)&ss, .salen = sl, .timeout_ms = o->timeout_ms};
        plan__session_run(&s);
        if (s.tcp < 0)
            plan_report_add(r, "listen", name, PLAN_FAIL, PLAN_DIAG_LISTEN_DOWN,
                            plan__tmp("TCP connect failed: %s", s.tcp_err),
                            plan__tmp("start fedge (fedge serve -c %s)", cfg->path), NULL);
        else
            plan_report_add(r, "listen", name, PLAN_PASS, 0, "accepts TCP connections", NULL, NULL);
        plan__session_clear(&s);
        free(name);
    }
}

/* [remote] (docs/remote-users.md): per SIP domain the clients' SRV
 * (_sip._tls.<domain> -> sip.<domain> on the remote port) and sip.<domain>'s
 * addresses; the certificate names sip.<domain>; each remote listener
 * completes a TLS handshake from a client presenting no certificate. */
static void check_remote(plan__dns_t *d, const config_t *cfg, const plan_t *p,
                         const plan_live_opts_t *o, plan_report_t *r)
{
    char b[128];
    for (size_t i = 0; i < p->n_sip_domains; i++) {
        const char *dom = p->sip_domains[i];
        char *target = plan__fmt("sip.%s", dom);
        char *name = plan__fmt("SRV %s%s (remote users)", PLAN_REMOTE_SRV_PREFIX, dom);
        const char *want = plan__tmp("%s%s. 3600 IN SRV 0 0 %u %s.", PLAN_REMOTE_SRV_PREFIX, dom,
                                     (unsigned)p->remote_port, target);
        plan__route_t rt;
        bool ok = false;
        char got[512] = "";
        if (plan__dns_route(d, PLAN_REMOTE_SRV_PREFIX, dom, &rt) == 0 && rt.status == DNS_OK)
            for (size_t k = 0; k < rt.n; k++) {
                ok |= !strcmp(rt.targets[k].name, target) && rt.targets[k].port == p->remote_port;
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s:%u", k ? ", " : "",
                         rt.targets[k].name, (unsigned)rt.targets[k].port);
            }
        if (ok)
            plan_report_add(r, "dns", name, PLAN_PASS, 0,
                            plan__tmp("points to %s:%u", target, (unsigned)p->remote_port), NULL,
                            route_json(&rt));
        else if (rt.status == DNS_TIMEOUT || rt.status == DNS_SERVFAIL)
            plan_report_add(
                r, "dns", name, PLAN_FAIL, PLAN_DIAG_DNS_ERROR,
                plan__tmp("look-up failed: %s %s", dns_status_str(rt.status), rt.detail),
                "check [dns] servers and that DNS (53) to them is open", NULL);
        else if (got[0])
            plan_report_add(
                r, "dns", name, PLAN_FAIL, PLAN_DIAG_SRV_WRONG,
                plan__tmp("points to %s, not to %s:%u", got, target, (unsigned)p->remote_port),
                plan__tmp("change the record to: %s", want), NULL);
        else
            plan_report_add(r, "dns", name, PLAN_FAIL, PLAN_DIAG_SRV_MISSING,
                            plan__tmp("no SRV record (%s): remote users' clients do not find "
                                      "the edge of %s",
                                      dns_status_str(rt.status), dom),
                            plan__tmp("publish: %s", want), NULL);
        free(name);

        /* sip.<domain>: one of the specific [remote] listen addresses */
        plan__target_t t;
        name = plan__fmt("A/AAAA %s (remote users)", target);
        if (plan__dns_host(d, target, &t) < 0 || t.n == 0) {
            bool err = t.status == DNS_TIMEOUT || t.status == DNS_SERVFAIL;
            plan_report_add(r, "dns", name, PLAN_FAIL,
                            err ? PLAN_DIAG_DNS_ERROR : PLAN_DIAG_HOST_MISSING,
                            plan__tmp("no address (%s)", dns_status_str(t.status)),
                            err ? "check [dns] servers and that DNS (53) to them is open"
                                : plan__tmp("publish %s.'s A/AAAA records (fedge plan)", target),
                            NULL);
        } else {
            bool any_specific = false, found = false;
            got[0] = 0;
            for (size_t k = 0; k < t.n; k++) {
                dns_addr_str(&t.addrs[k], b, sizeof b);
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? ", " : "", b);
                for (size_t j = 0; j < cfg->remote.listen.count; j++) {
                    const config_hostport_t *hp = &cfg->remote.listen.items[j];
                    if (plan__is_wildcard(hp))
                        continue;
                    any_specific = true;
                    found |= !strcmp(b, hp->host);
                }
            }
            if (!any_specific || found)
                plan_report_add(r, "dns", name, PLAN_PASS, 0, plan__tmp("resolves to %s", got),
                                NULL, NULL);
            else
                plan_report_add(r, "dns", name, PLAN_WARN, PLAN_DIAG_HOST_OTHER,
                                plan__tmp("resolves to %s, none of them a [remote] listen "
                                          "address",
                                          got),
                                "fine when NAT maps that address to the edge; otherwise "
                                "publish the [remote] listen address",
                                NULL);
        }
        free(name);
        free(target);
    }

    /* the certificate the [remote] listener presents ([external]'s) */
    plan_cert_t c = {0};
    fedge_err_t e = {{0}};
    if (plan_cert_load(cfg->external.certificate, &c, &e) == 0) {
        for (size_t i = 0; i < p->n_sip_domains; i++) {
            char *target = plan__fmt("sip.%s", p->sip_domains[i]);
            char *name = plan__fmt("certificate names %s (remote users)", target);
            if (net_cert_names(c.id, target))
                plan_report_add(r, "cert", name, PLAN_PASS, 0, "named", NULL, NULL);
            else
                plan_report_add(r, "cert", name, PLAN_FAIL, PLAN_DIAG_REMOTE_CERT,
                                plan__tmp("%s is not named: remote users' clients that found "
                                          "the edge by %s%s refuse the connection",
                                          target, PLAN_REMOTE_SRV_PREFIX, p->sip_domains[i]),
                                plan__tmp("add DNS:%s to the certificate's subjectAltName", target),
                                NULL);
            free(name);
            free(target);
        }
        plan_cert_clear(&c);
    } /* unreadable: the cert step already failed with 19510 */

    /* a client without a certificate, as remote users' clients are */
    SSL_CTX *ctx = plan__tls_ctx(NULL, NULL, cfg->external.ca_file, cfg->external.ca_path,
                                 cfg->external.tls_min_version, &e);
    for (size_t i = 0; i < cfg->remote.listen.count; i++) {
        const config_hostport_t *hp = &cfg->remote.listen.items[i];
        char *name = plan__fmt("remote %s", config_hostport_format(hp, b, sizeof b));
        if (!ctx) {
            plan_report_add(r, "listen", name, PLAN_SKIP, 0, plan__tmp("not tried: %s", e.msg),
                            NULL, NULL);
            free(name);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = listen_sa(hp, &ss);
        plan__session_t s = {.sa = (struct sockaddr *)&ss,
                             .salen = sl,
                             .sni = p->n_sip_domains ? plan__tmp("sip.%s", p->sip_domains[0])
                                                     : cfg->edge.fqdn,
                             .ctx = ctx,
                             .timeout_ms = o->timeout_ms,
                             .linger_ms = 500};
        plan__session_run(&s);
        if (s.tcp < 0)
            plan_report_add(r, "listen", name, PLAN_FAIL, PLAN_DIAG_LISTEN_DOWN,
                            plan__tmp("TCP connect failed: %s", s.tcp_err),
                            plan__tmp("start fedge (fedge serve -c %s) and open TCP %u in the "
                                      "firewall",
                                      cfg->path, (unsigned)hp->port),
                            NULL);
        else if (s.tls != PLAN__TLS_OK)
            plan_report_add(r, "listen", name, PLAN_FAIL, PLAN_DIAG_REMOTE_TLS,
                            plan__tmp("TLS handshake without a client certificate failed: %s",
                                      s.tls_err[0] ? s.tls_err : s.alert_text),
                            plan_diag(PLAN_DIAG_REMOTE_TLS)->fix, NULL);
        else
            plan_report_add(r, "listen", name, PLAN_PASS, 0,
                            plan__tmp("%s handshake completed without a client certificate%s%s",
                                      s.version,
                                      s.verify == X509_V_OK ? ""
                                                            : "; server "
                                                              "certificate: ",
                                      s.verify == X509_V_OK ? "" : s.verify_err),
                            NULL, NULL);
        plan__session_clear(&s);
        free(name);
    }
    if (ctx)
        SSL_CTX_free(ctx);
}

static void check_partner_fqdn(plan__dns_t *d, const char *what, const char *fqdn, plan_report_t *r)
{
    plan__target_t t;
    char *name = plan__fmt("%s A/AAAA %s", what, fqdn);
    if (plan__dns_host(d, fqdn, &t) < 0 || t.n == 0)
        plan_report_add(
            r, "partner", name, PLAN_WARN, PLAN_DIAG_PARTNER_DNS,
            plan__tmp("no address (%s)", dns_status_str(t.status)),
            plan__tmp("the partner publishes A/AAAA for %s (fedge probe shows more)", fqdn), NULL);
    else
        plan_report_add(r, "partner", name, PLAN_PASS, 0, plan__tmp("%zu address(es)", t.n), NULL,
                        NULL);
    free(name);
}

static void check_partners(plan__dns_t *d, const store_snapshot_t *snap, plan_report_t *r)
{
    for (size_t i = 0; snap && i < snap->n_allowed; i++) {
        const store_allowed_t *a = &snap->allowed[i];
        if (a->proxy_fqdn) {
            check_partner_fqdn(d, plan__tmp("partner server %s", a->domain), a->proxy_fqdn, r);
            continue;
        }
        plan__route_t rt;
        char *name = plan__fmt("allowed domain %s SRV", a->domain);
        size_t usable = 0;
        if (plan__dns_route(d, DNS_SIPFED_PREFIX, a->domain, &rt) == 0 && rt.status == DNS_OK)
            for (size_t k = 0; k < rt.n; k++)
                usable += rt.targets[k].n > 0 && dns_name_in_domain(rt.targets[k].name, a->domain);
        if (usable)
            plan_report_add(r, "partner", name, PLAN_PASS, 0,
                            plan__tmp("%zu usable SRV target(s)", usable), NULL, route_json(&rt));
        else
            plan_report_add(r, "partner", name, PLAN_WARN, PLAN_DIAG_PARTNER_DNS,
                            plan__tmp("no usable SRV target (%s)", dns_status_str(rt.status)),
                            plan__tmp("the partner publishes %s%s -> its edge (fedge probe %s "
                                      "shows the details)",
                                      DNS_SIPFED_PREFIX, a->domain, a->domain),
                            NULL);
        free(name);
    }
    for (size_t i = 0; snap && i < snap->n_providers; i++)
        if (snap->providers[i].enabled)
            check_partner_fqdn(d, plan__tmp("provider %s", snap->providers[i].name),
                               snap->providers[i].proxy_fqdn, r);
}

typedef struct {
    int status;
    uint64_t took_ms;
    uint64_t start;
    uv_loop_t *loop;
    char err[512];
} ping_t;

static void ping_done(void *arg, int status, const media_reply_t *reply, const fedge_err_t *err)
{
    ping_t *p = arg;
    p->status = status;
    p->took_ms = uv_now(p->loop) - p->start;
    snprintf(p->err, sizeof(p->err), "%s", err ? err->msg : "");
}

/* An ng ping to each relay of [media] rtpengine, one at a time, each given
 * the configured ng timeout (media_request retransmits once). */
static void check_media(const config_t *cfg, plan_report_t *r)
{
    size_t n = cfg->media.rtpengine.count;
    if (!n)
        return;
    media_relay_addr_t relays[MEDIA_MAX_RELAYS];
    if (n > MEDIA_MAX_RELAYS)
        n = MEDIA_MAX_RELAYS;
    for (size_t i = 0; i < n; i++)
        relays[i] = (media_relay_addr_t){cfg->media.rtpengine.items[i].host,
                                         cfg->media.rtpengine.items[i].port};
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_opts_t o = {.relays = relays, .relay_count = n, .timeout_ms = cfg->media.timeout_ms};
    media_client_t *c;
    fedge_err_t e;
    if (media_client_new(&loop, &o, &c, &e) < 0) {
        plan_report_add(r, "media", "rtpengine relays", PLAN_FAIL, PLAN_DIAG_MEDIA_RELAY, e.msg,
                        plan_diag(PLAN_DIAG_MEDIA_RELAY)->fix, NULL);
        uv_loop_close(&loop);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ping_t p = {.status = 1, .loop = &loop};
        uv_update_time(&loop);
        p.start = uv_now(&loop);
        media_req_t q = {.cmd = MEDIA_CMD_PING, .relay = (int)i};
        if (media_request(c, &q, ping_done, &p, NULL, &e) < 0) {
            p.status = FEDGE_EINVAL;
            snprintf(p.err, sizeof(p.err), "%s", e.msg);
        }
        while (p.status == 1)
            uv_run(&loop, UV_RUN_ONCE);
        char *name = plan__fmt("rtpengine %s", media_relay_name(c, i));
        if (p.status == 0)
            plan_report_add(r, "media", name, PLAN_PASS, 0,
                            plan__tmp("answers ng ping in %llu ms", (unsigned long long)p.took_ms),
                            NULL, NULL);
        else
            plan_report_add(r, "media", name, PLAN_FAIL, PLAN_DIAG_MEDIA_RELAY, p.err,
                            plan_diag(PLAN_DIAG_MEDIA_RELAY)->fix, NULL);
        free(name);
    }
    media_client_close(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

int plan_check(const config_t *cfg, const store_snapshot_t *snap, const plan_live_opts_t *o,
               plan_report_t *r, fedge_err_t *err)
{
    plan_live_opts_t lo = o ? *o : (plan_live_opts_t){0};
    if (!lo.timeout_ms)
        lo.timeout_ms = 3000;
    if (!lo.now)
        lo.now = time(NULL);
    plan__dns_t d;
    int rc = plan__dns_open(&d, cfg, err);
    if (rc < 0)
        return rc;
    plan_t *p = plan_build_pool(cfg, snap, lo.pool);
    for (size_t i = 0; i < p->n_sip_domains; i++)
        check_srv(&d, p, p->sip_domains[i], r);
    if (p->pool_fqdn)
        check_pool_host(&d, cfg, p, lo.pool ? lo.pool->hlb : NULL, r);
    check_host(&d, cfg, p, r);
    /* a member's certificate must name the pool: partners compare it with
     * the SRV target of our domains */
    plan_check_cert(cfg->external.certificate, cfg->external.private_key, cfg->external.ca_file,
                    cfg->external.ca_path, p->srv_target,
                    (const char *const *)cfg->edge.sip_domains, cfg->edge.sip_domain_count, lo.now,
                    r);
    fedge_err_t e = {{0}};
    SSL_CTX *ctx =
        plan__tls_ctx(cfg->external.certificate, cfg->external.private_key, cfg->external.ca_file,
                      cfg->external.ca_path, cfg->external.tls_min_version, &e);
    if (ctx) {
        check_listen(ctx, cfg, &lo, r);
        SSL_CTX_free(ctx);
    } else {
        plan_report_add(r, "listen", "external listeners", PLAN_SKIP, 0,
                        plan__tmp("not tried: %s", e.msg), NULL, NULL);
    }
    if (p->remote_port)
        check_remote(&d, cfg, p, &lo, r);
    if (p->pool_fqdn)
        check_pool_members(cfg, lo.pool, lo.now, r);
    check_partners(&d, snap, r);
    check_media(cfg, r);
    plan_free(p);
    plan__dns_close(&d);
    return 0;
}
