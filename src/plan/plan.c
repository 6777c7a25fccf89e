/* plan.c — the plan: DNS records, certificate, firewall table and partner
 * requirements derived from the configuration and the store (pure), and its
 * text and JSON forms. */
#include "plan/plan.h"
#include "plan/plan_int.h"

#include "dns/dns.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small growable arrays ---- */

char *plan__fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort(); /* allocation failure policy: abort */
    va_end(ap);
    return s;
}

const char *plan__tmp(const char *fmt, ...)
{
    static char bufs[8][1024];
    static unsigned next;
    char *b = bufs[next++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return b;
}

static void push_str(char ***arr, size_t *n, char *s)
{
    *arr = fedge_realloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = s;
}

static void add_record(plan_t *p, char *owner, const char *type, char *value, char *note,
                       bool placeholder)
{
    for (size_t i = 0; i < p->n_records; i++) /* one record per owner+value */
        if (!strcmp(p->records[i].owner, owner) && !strcmp(p->records[i].type, type) &&
            !strcmp(p->records[i].value, value)) {
            free(owner);
            free(value);
            free(note);
            return;
        }
    p->records = fedge_realloc(p->records, (p->n_records + 1) * sizeof *p->records);
    p->records[p->n_records++] =
        (plan_record_t){owner, fedge_strdup(type), value, note, placeholder};
}

static void add_fw(plan_t *p, const char *port, const char *proto, const char *dir, char *from,
                   char *to, const char *purpose)
{
    p->fw = fedge_realloc(p->fw, (p->n_fw + 1) * sizeof *p->fw);
    p->fw[p->n_fw++] =
        (plan_fw_t){fedge_strdup(port),   fedge_strdup(proto), fedge_strdup(dir), from, to,
                    fedge_strdup(purpose)};
}

static void add_san(plan_t *p, char *san, bool required)
{
    p->cert.sans = fedge_realloc(p->cert.sans, (p->cert.n_sans + 1) * sizeof *p->cert.sans);
    p->cert.san_required =
        fedge_realloc(p->cert.san_required, (p->cert.n_sans + 1) * sizeof *p->cert.san_required);
    p->cert.sans[p->cert.n_sans] = san;
    p->cert.san_required[p->cert.n_sans++] = required;
}

static plan_partner_t *add_partner(plan_t *p, const char *kind, const char *domain,
                                   const char *fqdn)
{
    p->partners = fedge_realloc(p->partners, (p->n_partners + 1) * sizeof *p->partners);
    plan_partner_t *x = &p->partners[p->n_partners++];
    *x = (plan_partner_t){fedge_strdup(kind), fedge_strdup(domain),
                          fqdn ? fedge_strdup(fqdn) : NULL, NULL, 0};
    return x;
}

/* ---- address classification ---- */

bool plan__is_wildcard(const config_hostport_t *hp)
{
    return hp->host && (!strcmp(hp->host, "0.0.0.0") || !strcmp(hp->host, "::"));
}

/* A short remark on an address that partners cannot reach as it is
 * (loopback never gets here: it is never suggested for publishing). */
static const char *addr_remark(const config_hostport_t *hp)
{
    if (hp->kind == CONFIG_HOST_IPV4) {
        struct in_addr a;
        if (inet_pton(AF_INET, hp->host, &a) == 1) {
            uint32_t v = ntohl(a.s_addr);
            if ((v >> 24) == 10 || (v >> 20) == 0xac1 || (v >> 16) == 0xc0a8)
                return "private address: publish the public address that NAT maps to it";
        }
    }
    return "";
}

/* What partner x must publish and present for federation with this edge. */
static void partner_needs(plan_t *p, plan_partner_t *x, const config_t *cfg)
{
    const char *ca = cfg->external.ca_file || cfg->external.ca_path
                         ? "a CA this edge trusts ([external] ca_file/ca_path)"
                         : "a public CA in this edge's system trust store";
    if (x->fqdn) {
        push_str(&x->needs, &x->n_needs,
                 plan__fmt("A/AAAA records for %s (no SRV record needed: this edge connects "
                           "to %s:5061 directly)",
                           x->fqdn, x->fqdn));
        push_str(&x->needs, &x->n_needs,
                 plan__fmt("a certificate naming %s (subjectAltName DNS), EKU serverAuth and "
                           "clientAuth, from %s",
                           x->fqdn, ca));
    } else {
        push_str(&x->needs, &x->n_needs,
                 plan__fmt("SRV _sipfederationtls._tcp.%s -> an edge FQDN inside %s "
                           "(e.g. sip.%s), port 5061, with A/AAAA records",
                           x->domain, x->domain, x->domain));
        push_str(&x->needs, &x->n_needs,
                 plan__fmt("a certificate naming that SRV target (subjectAltName DNS), EKU "
                           "serverAuth and clientAuth, from %s",
                           ca));
    }
    push_str(&x->needs, &x->n_needs,
             plan__fmt("TCP 5061 open from this edge, and its edge allowed to reach %s:%u",
                       p->srv_target, (unsigned)p->port));
    push_str(&x->needs, &x->n_needs,
             plan__fmt("trust in the CA that issues %s's certificate, and %s listed or "
                       "discovered on its side (our SRV records above)",
                       p->srv_target, p->n_sip_domains ? p->sip_domains[0] : p->srv_target));
}

/* The host of each "HOST:PORT" of a member's comma-separated addresses,
 * as A/AAAA records of owner (one per distinct address). */
static void member_records(plan_t *p, const char *owner, const char *addrs, const char *note)
{
    char buf[STORE_MEMBER_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", addrs);
    char *save = NULL;
    for (char *a = strtok_r(buf, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        char host[128];
        bool v6 = a[0] == '[';
        const char *start = v6 ? a + 1 : a;
        const char *end = v6 ? strchr(start, ']') : strrchr(start, ':');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (len == 0 || len >= sizeof host)
            continue;
        memcpy(host, start, len);
        host[len] = 0;
        if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
            continue; /* a wildcard: this member's own placeholder covers it */
        add_record(p, plan__fmt("%s.", owner), v6 ? "AAAA" : "A", fedge_strdup(host),
                   fedge_strdup(note), false);
    }
}

/* [remote] (docs/remote-users.md): remote users' clients look up
 * _sip._tls.<domain> SRV, then sip.<domain> (the Lync client's order), and
 * connect to the remote listener; sip.<domain> gets its addresses. */
static void remote_records(plan_t *p, const config_t *cfg)
{
    if (!cfg->remote.listen.count)
        return;
    p->remote_port = cfg->remote.listen.items[0].port;
    for (size_t i = 0; i < p->n_sip_domains; i++) {
        const char *d = p->sip_domains[i];
        add_record(p, plan__fmt("%s%s.", PLAN_REMOTE_SRV_PREFIX, d), "SRV",
                   plan__fmt("0 0 %u sip.%s.", (unsigned)p->remote_port, d),
                   fedge_strdup(i == 0 ? "remote users' clients find the edge's [remote] "
                                         "listener by this record, then by sip.<domain>; one "
                                         "per SIP domain"
                                       : ""),
                   false);
        for (size_t k = 0; k < cfg->remote.listen.count; k++) {
            const config_hostport_t *hp = &cfg->remote.listen.items[k];
            bool v6 = hp->kind == CONFIG_HOST_IPV6;
            bool ph = config_hostport_is_loopback(hp) || plan__is_wildcard(hp);
            add_record(p, plan__fmt("sip.%s.", d), v6 ? "AAAA" : "A",
                       ph ? fedge_strdup(v6 ? "<public IPv6 address of the [remote] listener>"
                                            : "<public IPv4 address of the [remote] listener>")
                          : fedge_strdup(hp->host),
                       ph ? plan__fmt("[remote] listen is %s%s%s (loopback or every address): "
                                      "put the public address clients reach here",
                                      v6 ? "[" : "", hp->host, v6 ? "]" : "")
                          : fedge_strdup(addr_remark(hp)),
                       ph);
        }
    }
}

/* A pool's records, certificate names and notes (docs/pools.md). */
static void pool_plan(plan_t *p, const config_t *cfg, const plan_pool_t *pool)
{
    const char *pf = cfg->edge.pool_fqdn;
    char buf[STORE_MEMBER_TEXT_MAX], one[128];
    size_t n = 0;
    if (pool && pool->hlb) {
        add_record(p, plan__fmt("%s.", pf), strchr(pool->hlb, ':') ? "AAAA" : "A",
                   fedge_strdup(pool->hlb),
                   fedge_strdup("the hardware load balancer's external virtual address; it "
                                "forwards TCP to every member's external address"),
                   false);
    } else {
        /* DNS load balancing: one record per member, this one first */
        buf[0] = 0;
        for (size_t i = 0; i < cfg->external.listen.count; i++) {
            config_hostport_format(&cfg->external.listen.items[i], one, sizeof one);
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "", one);
        }
        member_records(p, pf, buf,
                       "DNS load balancing: one record per member of the pool (partners try "
                       "each address in turn)");
        for (size_t i = 0; pool && i < pool->n_members; i++)
            if (!strcmp(pool->members[i].pool, pf) && strcmp(pool->members[i].fqdn, cfg->edge.fqdn))
                member_records(p, pf, pool->members[i].addresses, "");
    }
    for (size_t i = 0; i < p->n_records; i++)
        n += !strcmp(p->records[i].owner, plan__tmp("%s.", pf));
    /* each member's own name, for administration and `fedge check` */
    for (size_t i = 0; pool && i < pool->n_members; i++)
        if (!strcmp(pool->members[i].pool, pf) && strcmp(pool->members[i].fqdn, cfg->edge.fqdn))
            member_records(p, pool->members[i].fqdn, pool->members[i].addresses,
                           "another member's own name");
    /* the internal side: internal servers reach the pool by one name */
    if (cfg->internal.pool_name) {
        buf[0] = 0;
        for (size_t i = 0; i < cfg->internal.listen.count; i++) {
            config_hostport_format(&cfg->internal.listen.items[i], one, sizeof one);
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "", one);
        }
        member_records(p, cfg->internal.pool_name, buf,
                       "internal DNS only: the pool's name towards internal servers, one record "
                       "per member's internal address (or the internal load balancer's)");
        for (size_t i = 0; pool && i < pool->n_members; i++)
            if (!strcmp(pool->members[i].pool, pf) && strcmp(pool->members[i].fqdn, cfg->edge.fqdn))
                member_records(p, cfg->internal.pool_name, pool->members[i].internal, "");
    }
    push_str(&p->notes, &p->n_notes,
             plan__fmt("pool %s: %zu address%s published for it%s; every member needs the same "
                       "[edge] store, pool_fqdn and sip_domains, and a certificate naming %s (one "
                       "shared, or one per member that may name the member's fqdn as well)",
                       pf, n, n == 1 ? "" : "es",
                       pool && pool->hlb ? " (the load balancer)"
                       : n < 2           ? " (only this member is known: start the others, "
                                           "then run fedge plan again)"
                                         : "",
                       pf));
    push_str(&p->notes, &p->n_notes,
             fedge_strdup("partners on Office Communications Server 2007 or 2007 R2 are not "
                          "DNS-load-balancing aware: they use the first address of the pool and "
                          "do not fail over when that member is down; put a hardware load "
                          "balancer in front of the pool (fedge plan --hlb ADDRESS) or accept "
                          "that they lose federation while the first member is down"));
    if (pool && pool->hlb)
        push_str(&p->notes, &p->n_notes,
                 fedge_strdup("the load balancer passes TCP through (no TLS termination: "
                              "partners' mutual TLS must reach the members), checks each "
                              "member's external port, and keeps a partner's connection on "
                              "one member"));
    if (store_location_is_uri(cfg->edge.store)) {
        char shown[256];
        store_location_shown(cfg->edge.store, shown, sizeof shown);
        add_fw(p, "5432", "TCP", "out", fedge_strdup("every member"),
               plan__fmt("the PostgreSQL server of %s", shown),
               "the pool's shared store (LISTEN/NOTIFY)");
    }
}

plan_t *plan_build(const config_t *cfg, const store_snapshot_t *snap)
{
    return plan_build_pool(cfg, snap, NULL);
}

plan_t *plan_build_pool(const config_t *cfg, const store_snapshot_t *snap, const plan_pool_t *pool)
{
    plan_t *p = fedge_calloc(1, sizeof *p);
    p->edge_fqdn = fedge_strdup(cfg->edge.fqdn);
    p->pool_fqdn = cfg->edge.pool_fqdn ? fedge_strdup(cfg->edge.pool_fqdn) : NULL;
    p->srv_target = fedge_strdup(p->pool_fqdn ? p->pool_fqdn : p->edge_fqdn);
    p->port = cfg->external.listen.count ? cfg->external.listen.items[0].port : 5061;
    for (size_t i = 0; i < cfg->edge.sip_domain_count; i++)
        push_str(&p->sip_domains, &p->n_sip_domains, fedge_strdup(cfg->edge.sip_domains[i]));

    /* DNS: one SRV per SIP domain, then the edge's own addresses. A
     * partner that discovers a domain refuses an SRV target outside it
     * (fedge's own discovery and probe do, RFC 5922 section 7.3): say so
     * where the edge's FQDN is not inside a SIP domain. */
    for (size_t i = 0; i < p->n_sip_domains; i++) {
        const char *d = p->sip_domains[i];
        bool outside = !dns_name_in_domain(p->srv_target, d);
        char *note = outside  ? plan__fmt("WARNING: the target %s is outside %s: partners that "
                                           "discover %s refuse it (see Notes)",
                                          p->srv_target, d, d)
                     : i == 0 ? fedge_strdup("partners find the edge of a SIP domain by this "
                                             "record; one per SIP domain, also with discovery "
                                             "off")
                              : fedge_strdup("");
        add_record(p, plan__fmt("%s%s.", DNS_SIPFED_PREFIX, d), "SRV",
                   plan__fmt("0 0 %u %s.", (unsigned)p->port, p->srv_target), note, false);
        if (outside)
            push_str(&p->notes, &p->n_notes,
                     plan__fmt("warning: the SRV target %s lies outside the SIP domain %s. "
                               "Partners that discover %s by DNS (fedge, Lync/Skype) refuse an "
                               "edge outside the domain, so %s federates only with partners "
                               "that configure %s as its edge (a partner server, direct "
                               "federation). To be discoverable, give the edge an FQDN inside "
                               "%s, or run an edge for it",
                               p->srv_target, d, d, d, p->srv_target, d));
    }
    if (p->pool_fqdn)
        pool_plan(p, cfg, pool);
    for (size_t i = 0; i < cfg->external.listen.count; i++) {
        const config_hostport_t *hp = &cfg->external.listen.items[i];
        bool v6 = hp->kind == CONFIG_HOST_IPV6;
        if (config_hostport_is_loopback(hp))
            /* Never suggest publishing a loopback address: partners would
             * connect to themselves. */
            add_record(p, plan__fmt("%s.", p->edge_fqdn), v6 ? "AAAA" : "A",
                       fedge_strdup(v6 ? "<public IPv6 address of the edge>"
                                       : "<public IPv4 address of the edge>"),
                       plan__fmt("[external] listen is %s%s%s (loopback, a local test): "
                                 "partners cannot reach it; put the public address partners "
                                 "reach here",
                                 v6 ? "[" : "", hp->host, v6 ? "]" : ""),
                       true);
        else if (plan__is_wildcard(hp))
            add_record(p, plan__fmt("%s.", p->edge_fqdn), v6 ? "AAAA" : "A",
                       fedge_strdup(v6 ? "<public IPv6 address of the edge>"
                                       : "<public IPv4 address of the edge>"),
                       plan__fmt("[external] listen is %s (every address): put the public "
                                 "address partners reach here",
                                 v6 ? "[::]" : "0.0.0.0"),
                       true);
        else
            add_record(p, plan__fmt("%s.", p->edge_fqdn), v6 ? "AAAA" : "A", fedge_strdup(hp->host),
                       fedge_strdup(addr_remark(hp)), false);
    }
    /* XMPP (docs/xmpp.md): RFC 6120 §3.2.1 SRV per domain to the XMPP
     * listener, when the gateway is on. */
    uint16_t xport =
        cfg->xmpp.enabled && cfg->xmpp.listen.count ? cfg->xmpp.listen.items[0].port : 0;
    for (size_t i = 0; xport && i < p->n_sip_domains; i++)
        add_record(p, plan__fmt("%s%s.", DNS_XMPP_SERVER_PREFIX, p->sip_domains[i]), "SRV",
                   plan__fmt("0 0 %u %s.", (unsigned)xport, p->edge_fqdn),
                   fedge_strdup(i == 0 ? "XMPP servers find the gateway of a domain by this "
                                         "record ([xmpp]); one per domain"
                                       : ""),
                   false);
    remote_records(p, cfg);
    if (p->port != 5061)
        push_str(&p->notes, &p->n_notes,
                 plan__fmt("the external listener uses port %u, not 5061: partners follow the "
                           "SRV port, but Lync/Skype partners with a configured edge "
                           "(direct federation) assume 5061",
                           (unsigned)p->port));

    /* Certificate: a pool's members all present the pool's name (one
     * certificate shared, or one per member that names the pool too). */
    p->cert.subject = plan__fmt("CN=%s", p->srv_target);
    add_san(p, plan__fmt("DNS:%s", p->srv_target), true);
    for (size_t i = 0; i < p->n_sip_domains; i++)
        if (strcmp(p->sip_domains[i], p->edge_fqdn) && strcmp(p->sip_domains[i], p->srv_target))
            add_san(p, plan__fmt("DNS:%s", p->sip_domains[i]), true);
    /* remote users' clients verify the name they looked up (sip.<domain>) */
    for (size_t i = 0; p->remote_port && i < p->n_sip_domains; i++)
        add_san(p, plan__fmt("DNS:sip.%s", p->sip_domains[i]), true);
    for (size_t i = 0; i < p->n_sip_domains; i++)
        add_san(p, plan__fmt("URI:sip:%s", p->sip_domains[i]), false);
    p->cert.eku = fedge_strdup("serverAuth, clientAuth (both: the edge is TLS server for "
                               "inbound and TLS client for outbound federation)");
    p->cert.key = fedge_strdup("RSA 2048 bits or more (widest support), or ECDSA P-256");
    p->cert.ca = fedge_strdup(
        "a public CA that partners trust by default; a private CA only with partners that "
        "add it to their trust store");

    /* Firewall. */
    char buf[128], list[1024];
    list[0] = 0;
    for (size_t i = 0; i < cfg->external.listen.count; i++) {
        config_hostport_format(&cfg->external.listen.items[i], buf, sizeof buf);
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", buf);
    }
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)p->port);
    add_fw(p, port, "TCP", "in", fedge_strdup("any (partners' edges)"),
           plan__fmt("edge external %s", list), "SIP over mutual TLS from partners");
    bool def_route = cfg->federation.routing == CONFIG_ROUTING_DEFAULT_ROUTE &&
                     cfg->federation.default_route.host;
    if (def_route) {
        snprintf(port, sizeof port, "%u", (unsigned)cfg->federation.default_route.port);
        add_fw(p, port, "TCP", "out", fedge_strdup("edge external"),
               plan__fmt("default route %s",
                         config_hostport_format(&cfg->federation.default_route, buf, sizeof buf)),
               "SIP over mutual TLS to partners (all through the default route)");
    } else
        add_fw(p, "5061", "TCP", "out", fedge_strdup("edge external"),
               fedge_strdup("any (partners' edges; the port their SRV records give)"),
               "SIP over mutual TLS to partners");
    list[0] = 0;
    for (size_t i = 0; i < cfg->dns.servers.count; i++) {
        config_hostport_format(&cfg->dns.servers.items[i], buf, sizeof buf);
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", buf);
    }
    add_fw(p, "53", "UDP/TCP", "out", fedge_strdup("edge external"),
           list[0] ? plan__fmt("DNS servers %s", list)
                   : fedge_strdup("the resolvers of /etc/resolv.conf"),
           "DNS: partners' SRV and A/AAAA records");
    /* Revocation: fedge itself fetches nothing (no OCSP; it reads the CRLs
     * of [external] crl_file / crl_path, reloaded on SIGHUP), so a row only
     * when CRLs are configured: whatever keeps those files fresh on this
     * host downloads them from the CAs' distribution points (HTTP). */
    if (cfg->external.crl_file || cfg->external.crl_path)
        add_fw(p, "80", "TCP", "out", fedge_strdup("edge host (the CRL refresh job)"),
               fedge_strdup("the CRL distribution points of the partners' CAs"),
               "CRL downloads for [external] crl_file/crl_path (then reload fedge)");
    for (size_t i = 0; i < cfg->internal.listen.count; i++) {
        const config_hostport_t *hp = &cfg->internal.listen.items[i];
        snprintf(port, sizeof port, "%u", (unsigned)hp->port);
        add_fw(p, port, "TCP", "in", fedge_strdup("internal SIP servers only"),
               plan__fmt("edge internal %s", config_hostport_format(hp, buf, sizeof buf)),
               cfg->internal.transport == CONFIG_TRANSPORT_TLS
                   ? "SIP over TLS from internal servers"
                   : "SIP over TCP from internal servers");
        if (cfg->internal.transport == CONFIG_TRANSPORT_UDP)
            add_fw(p, port, "UDP", "in", fedge_strdup("internal SIP servers only"),
                   plan__fmt("edge internal %s", config_hostport_format(hp, buf, sizeof buf)),
                   "SIP over UDP from internal servers");
    }
    for (size_t i = 0; i < cfg->internal.next_hop.count; i++) {
        const config_hostport_t *hp = &cfg->internal.next_hop.items[i];
        if (hp->port)
            snprintf(port, sizeof port, "%u", (unsigned)hp->port);
        else
            snprintf(port, sizeof port, "%s",
                     cfg->internal.transport == CONFIG_TRANSPORT_TLS ? "5061" : "5060");
        add_fw(p, port, "TCP", "out", fedge_strdup("edge internal"),
               plan__fmt("next hop %s", config_hostport_format(hp, buf, sizeof buf)),
               cfg->internal.transport == CONFIG_TRANSPORT_UDP
                   ? "SIP to the internal servers (requests over 1300 bytes)"
                   : "SIP to the internal servers");
        if (cfg->internal.transport == CONFIG_TRANSPORT_UDP)
            add_fw(p, port, "UDP", "out", fedge_strdup("edge internal"),
                   plan__fmt("next hop %s", config_hostport_format(hp, buf, sizeof buf)),
                   "SIP to the internal servers");
    }
    for (size_t i = 0; cfg->xmpp.enabled && i < cfg->xmpp.listen.count; i++) {
        const config_hostport_t *hp = &cfg->xmpp.listen.items[i];
        snprintf(port, sizeof port, "%u", (unsigned)hp->port);
        add_fw(p, port, "TCP", "in", fedge_strdup("any (XMPP partners' servers)"),
               plan__fmt("edge xmpp %s", config_hostport_format(hp, buf, sizeof buf)),
               "XMPP server-to-server (STARTTLS) from partners");
    }
    if (cfg->xmpp.enabled)
        add_fw(p, "5269", "TCP", "out", fedge_strdup("edge external"),
               fedge_strdup("any (XMPP partners' servers; the port their SRV records give)"),
               "XMPP server-to-server (STARTTLS) to partners");
    /* Calls' media through rtpengine (docs/media.md): fedge knows the ng
     * listeners; the relay's interface addresses and port range are
     * rtpengine's own options, so the rows name them by those options
     * (rtpengine's default range is 30000-40000). */
    for (size_t i = 0; i < cfg->media.rtpengine.count; i++) {
        const config_hostport_t *hp = &cfg->media.rtpengine.items[i];
        snprintf(port, sizeof port, "%u", (unsigned)hp->port);
        add_fw(p, port, "UDP", "out", fedge_strdup("edge"),
               plan__fmt("rtpengine ng %s", config_hostport_format(hp, buf, sizeof buf)),
               "media relay control (ng); keep it off the internet");
    }
    if (cfg->media.rtpengine.count) {
        const char *range = "30000-40000";
        const char *ext = cfg->media.external_interface, *in = cfg->media.internal_interface;
        add_fw(p, range, "UDP", "in", fedge_strdup("any (partners' media)"),
               plan__fmt("relay public address (rtpengine --interface %s/ADDRESS), "
                         "--port-min..--port-max",
                         ext),
               "RTP/RTCP of calls from partners");
        add_fw(p, "any", "UDP", "out",
               plan__fmt("relay public address (--interface %s), --port-min..--port-max", ext),
               fedge_strdup("any (partners' media ports)"), "RTP/RTCP of calls to partners");
        add_fw(p, range, "UDP", "in", fedge_strdup("internal phones and media servers"),
               plan__fmt("relay internal address (rtpengine --interface %s/ADDRESS), "
                         "--port-min..--port-max",
                         in),
               "RTP/RTCP of calls from inside");
        add_fw(p, "any", "UDP", "out",
               plan__fmt("relay internal address (--interface %s), --port-min..--port-max", in),
               fedge_strdup("internal phones and media servers"), "RTP/RTCP of calls to inside");
        push_str(&p->notes, &p->n_notes,
                 plan__fmt("calls' media goes through rtpengine (%zu relay(s), [media]): open "
                           "its public address to partners on UDP %s, or on the range it runs "
                           "with (--port-min/--port-max); the public address is the one of its "
                           "--interface %s (behind NAT: --interface %s/PRIVATE!PUBLIC)",
                           cfg->media.rtpengine.count, range, ext, ext));
    } else {
        push_str(&p->notes, &p->n_notes,
                 fedge_strdup("calls' media is not relayed (no [media] section): SDP crosses "
                              "the edge unchanged, so calls with partners have audio only when "
                              "the parties reach each other's media addresses (docs/media.md)"));
    }
    for (size_t i = 0; i < cfg->remote.listen.count; i++) {
        const config_hostport_t *hp = &cfg->remote.listen.items[i];
        snprintf(port, sizeof port, "%u", (unsigned)hp->port);
        add_fw(p, port, "TCP", "in", fedge_strdup("any (remote users' clients)"),
               plan__fmt("edge remote %s", config_hostport_format(hp, buf, sizeof buf)),
               "SIP over TLS from remote users (no client certificate)");
    }
    for (size_t i = 0; i < cfg->remote.registrar.count; i++) {
        const config_hostport_t *hp = &cfg->remote.registrar.items[i];
        if (hp->port)
            snprintf(port, sizeof port, "%u", (unsigned)hp->port);
        else
            snprintf(port, sizeof port, "%s",
                     cfg->internal.transport == CONFIG_TRANSPORT_TLS ? "5061" : "5060");
        add_fw(p, port, cfg->internal.transport == CONFIG_TRANSPORT_UDP ? "UDP/TCP" : "TCP", "out",
               fedge_strdup("edge internal"),
               plan__fmt("registrar %s", config_hostport_format(hp, buf, sizeof buf)),
               "SIP to the registrar (remote users' REGISTER)");
    }
    snprintf(port, sizeof port, "%u", (unsigned)cfg->admin.listen.port);
    add_fw(p, port, "TCP", "in", fedge_strdup("administrators' network only"),
           plan__fmt("admin %s", config_hostport_format(&cfg->admin.listen, buf, sizeof buf)),
           "REST API and web panel (never open it to the internet)");

    /* Partners from the store. */
    if (snap) {
        for (size_t i = 0; i < snap->n_allowed; i++) {
            const store_allowed_t *a = &snap->allowed[i];
            plan_partner_t *x = add_partner(p, a->proxy_fqdn ? "partner server" : "allowed domain",
                                            a->domain, a->proxy_fqdn);
            partner_needs(p, x, cfg);
        }
        for (size_t i = 0; i < snap->n_providers; i++) {
            const store_provider_t *pr = &snap->providers[i];
            plan_partner_t *x = add_partner(
                p, pr->kind == STORE_PROVIDER_PUBLIC ? "public provider" : "hosting provider",
                pr->name, pr->proxy_fqdn);
            partner_needs(p, x, cfg);
            if (pr->n_domains) {
                char dl[1024] = "";
                for (size_t k = 0; k < pr->n_domains; k++)
                    snprintf(dl + strlen(dl), sizeof dl - strlen(dl), "%s%s", k ? ", " : "",
                             pr->domains[k]);
                push_str(&x->needs, &x->n_needs, plan__fmt("serves the domains %s", dl));
            }
            if (!pr->enabled)
                push_str(&x->needs, &x->n_needs,
                         fedge_strdup("(disabled here: fedge provider set NAME --enabled)"));
        }
        if (!snap->edge.federation)
            push_str(&p->notes, &p->n_notes,
                     fedge_strdup("federation is off in the store (fedge edge set --federation "
                                  "on): nothing federates until it is on"));
        push_str(&p->notes, &p->n_notes,
                 plan__fmt("partner discovery is %s%s", snap->edge.discovery ? "on" : "off",
                           snap->edge.discovery
                               ? ": any domain with a valid SRV record and certificate may "
                                 "federate (throttled)"
                               : ": only the partners listed under Partners federate"));
        if (snap->n_blocked)
            push_str(&p->notes, &p->n_notes,
                     plan__fmt("%zu blocked domain(s): never federated with", snap->n_blocked));
        /* The store's routing is what a running edge uses once an
         * administrator set it; this plan's rows follow the file. Say so
         * when they differ rather than show one as if it were in force. */
        char ini_dr[300] = "";
        if (cfg->federation.default_route.host)
            config_hostport_format(&cfg->federation.default_route, ini_dr, sizeof ini_dr);
        bool ini_def = cfg->federation.routing == CONFIG_ROUTING_DEFAULT_ROUTE;
        bool st_def = snap->edge.routing == STORE_ROUTING_DEFAULT_ROUTE;
        if (ini_def != st_def || (st_def && strcmp(ini_dr, snap->edge.default_route)))
            push_str(&p->notes, &p->n_notes,
                     plan__fmt("the store's edge settings say routing %s%s%s (fedge edge show) "
                               "while this file says %s%s%s: a running edge uses the store's "
                               "once an administrator set them there (the file's seed them at "
                               "start until then, docs/configuration.md); the firewall rows "
                               "above follow the file",
                               st_def ? "default-route " : "dns-srv",
                               st_def ? snap->edge.default_route : "",
                               st_def && !snap->edge.default_route[0] ? "(none)" : "",
                               ini_def ? "default-route " : "dns-srv", ini_def ? ini_dr : "",
                               ini_def && !ini_dr[0] ? "(none)" : ""));
    }
    if (def_route)
        push_str(
            &p->notes, &p->n_notes,
            plan__fmt("routing is default-route: all outbound federated traffic goes to "
                      "%s, whose certificate must be trusted like a partner's",
                      config_hostport_format(&cfg->federation.default_route, buf, sizeof buf)));
    return p;
}

static void free_strs(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

void plan_free(plan_t *p)
{
    if (!p)
        return;
    free(p->edge_fqdn);
    free(p->pool_fqdn);
    free(p->srv_target);
    free_strs(p->sip_domains, p->n_sip_domains);
    for (size_t i = 0; i < p->n_records; i++) {
        plan_record_t *r = &p->records[i];
        free(r->owner), free(r->type), free(r->value), free(r->note);
    }
    free(p->records);
    free(p->cert.subject);
    free_strs(p->cert.sans, p->cert.n_sans);
    free(p->cert.san_required);
    free(p->cert.eku), free(p->cert.key), free(p->cert.ca);
    for (size_t i = 0; i < p->n_fw; i++) {
        plan_fw_t *f = &p->fw[i];
        free(f->port), free(f->proto), free(f->dir), free(f->from), free(f->to), free(f->purpose);
    }
    free(p->fw);
    for (size_t i = 0; i < p->n_partners; i++) {
        plan_partner_t *x = &p->partners[i];
        free(x->kind), free(x->domain), free(x->fqdn);
        free_strs(x->needs, x->n_needs);
    }
    free(p->partners);
    free_strs(p->notes, p->n_notes);
    free(p);
}

/* ---- rendering ---- */

char *plan_text(const plan_t *p)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        abort();
    if (p->pool_fqdn)
        fprintf(f, "# fedge plan for the pool %s, member %s (SIP domains:", p->pool_fqdn,
                p->edge_fqdn);
    else
        fprintf(f, "# fedge plan for %s (SIP domains:", p->edge_fqdn);
    for (size_t i = 0; i < p->n_sip_domains; i++)
        fprintf(f, " %s", p->sip_domains[i]);
    fprintf(f, ")\n\n## DNS records to publish (zone-file form)\n\n");
    for (size_t i = 0; i < p->n_records; i++) {
        const plan_record_t *r = &p->records[i];
        if (r->note[0])
            fprintf(f, "; %s\n", r->note);
        fprintf(f, "%-40s 3600 IN %-4s %s\n", r->owner, r->type, r->value);
    }
    fprintf(f, "\n## Certificate to obtain\n\n");
    fprintf(f, "subject   %s\n", p->cert.subject);
    fprintf(f, "SANs      ");
    for (size_t i = 0; i < p->cert.n_sans; i++)
        fprintf(f, "%s%s%s", i ? "\n          " : "", p->cert.sans[i],
                p->cert.san_required[i] ? "" : "  (optional, RFC 5922 domain identity)");
    fprintf(f, "\nEKU       %s\nkey       %s\nissuer    %s\n", p->cert.eku, p->cert.key,
            p->cert.ca);
    fprintf(f, "\n## Firewall\n\n");
    fprintf(f, "%-8s %-7s %-4s %-36s %-44s %s\n", "port", "proto", "dir", "from", "to", "purpose");
    for (size_t i = 0; i < p->n_fw; i++) {
        const plan_fw_t *w = &p->fw[i];
        fprintf(f, "%-8s %-7s %-4s %-36s %-44s %s\n", w->port, w->proto, w->dir, w->from, w->to,
                w->purpose);
    }
    fprintf(f, "\n## Partners\n\n");
    if (!p->n_partners)
        fprintf(f, "(none configured: fedge domain allow DOMAIN [--proxy-fqdn FQDN], fedge "
                   "provider add ...)\n");
    for (size_t i = 0; i < p->n_partners; i++) {
        const plan_partner_t *x = &p->partners[i];
        fprintf(f, "%s %s%s%s must have:\n", x->kind, x->domain, x->fqdn ? " via " : "",
                x->fqdn ? x->fqdn : "");
        for (size_t k = 0; k < x->n_needs; k++)
            fprintf(f, "  - %s\n", x->needs[k]);
    }
    if (p->n_notes) {
        fprintf(f, "\n## Notes\n\n");
        for (size_t i = 0; i < p->n_notes; i++)
            fprintf(f, "- %s\n", p->notes[i]);
    }
    fclose(f);
    return out;
}

static json_t *strs_json(char *const *a, size_t n)
{
    json_t *j = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(j, json_string(a[i]));
    return j;
}

json_t *plan_json(const plan_t *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "edge_fqdn", json_string(p->edge_fqdn));
    json_object_set_new(o, "pool_fqdn", p->pool_fqdn ? json_string(p->pool_fqdn) : json_null());
    json_object_set_new(o, "port", json_integer(p->port));
    json_object_set_new(o, "remote_port",
                        p->remote_port ? json_integer(p->remote_port) : json_null());
    json_object_set_new(o, "sip_domains", strs_json(p->sip_domains, p->n_sip_domains));
    json_t *recs = json_array();
    char *zone = NULL;
    size_t zlen = 0;
    FILE *f = open_memstream(&zone, &zlen);
    if (!f)
        abort();
    for (size_t i = 0; i < p->n_records; i++) {
        const plan_record_t *r = &p->records[i];
        json_array_append_new(recs, json_pack("{s:s,s:s,s:s,s:i,s:s,s:b}", "owner", r->owner,
                                              "type", r->type, "value", r->value, "ttl", 3600,
                                              "note", r->note, "placeholder", r->placeholder));
        fprintf(f, "%s 3600 IN %s %s\n", r->owner, r->type, r->value);
    }
    fclose(f);
    json_object_set_new(o, "dns", recs);
    json_object_set_new(o, "zone", json_string(zone));
    free(zone);
    json_t *sans = json_array();
    for (size_t i = 0; i < p->cert.n_sans; i++)
        json_array_append_new(sans, json_pack("{s:s,s:b}", "san", p->cert.sans[i], "required",
                                              p->cert.san_required[i]));
    json_object_set_new(o, "certificate",
                        json_pack("{s:s,s:o,s:[ss],s:s,s:s,s:s}", "subject", p->cert.subject,
                                  "sans", sans, "eku", "serverAuth", "clientAuth", "eku_text",
                                  p->cert.eku, "key", p->cert.key, "ca", p->cert.ca));
    json_t *fw = json_array();
    for (size_t i = 0; i < p->n_fw; i++) {
        const plan_fw_t *w = &p->fw[i];
        json_array_append_new(fw, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "port", w->port, "proto",
                                            w->proto, "direction", w->dir, "from", w->from, "to",
                                            w->to, "purpose", w->purpose));
    }
    json_object_set_new(o, "firewall", fw);
    json_t *pa = json_array();
    for (size_t i = 0; i < p->n_partners; i++) {
        const plan_partner_t *x = &p->partners[i];
        json_array_append_new(pa,
                              json_pack("{s:s,s:s,s:s?,s:o}", "kind", x->kind, "domain", x->domain,
                                        "fqdn", x->fqdn, "needs", strs_json(x->needs, x->n_needs)));
    }
    json_object_set_new(o, "partners", pa);
    json_object_set_new(o, "notes", strs_json(p->notes, p->n_notes));
    return o;
}
