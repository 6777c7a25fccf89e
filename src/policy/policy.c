/* policy.c — the federation decision: blocked, inbound by type, outbound by
 * user policy, type and route, anti-spoofing and the most specific external
 * access policy; plus peer-name matching and the trust header. Pure: no
 * I/O, no allocation. */
#include "policy/policy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool str_ieq_c(fedge_str_t a, const char *b)
{
    size_t bl = strlen(b);
    return a.len == bl && !strncasecmp(a.s, b, bl);
}

bool policy_peer_names(const policy_input_t *in, const char *fqdn)
{
    if (!fqdn)
        return false;
    for (size_t i = 0; i < in->n_peer_dns; i++)
        if (in->peer_dns[i] && !strcasecmp(in->peer_dns[i], fqdn))
            return true;
    for (size_t i = 0; i < in->n_peer_sip; i++)
        if (in->peer_sip[i] && !strcasecmp(in->peer_sip[i], fqdn))
            return true;
    return in->peer_cn && !strcasecmp(in->peer_cn, fqdn);
}

/* Does the peer name a known partner server or provider proxy? Then it
 * has an identity of its own and may not speak for strangers' domains. */
static bool peer_is_known_server(const store_snapshot_t *snap, const policy_input_t *in)
{
    for (size_t i = 0; i < in->n_peer_dns; i++) {
        fedge_str_t n = {in->peer_dns[i], strlen(in->peer_dns[i])};
        if (store_snapshot_partner_by_fqdn(snap, n) || store_snapshot_provider_by_fqdn(snap, n))
            return true;
    }
    for (size_t i = 0; i < in->n_peer_sip; i++) {
        fedge_str_t n = {in->peer_sip[i], strlen(in->peer_sip[i])};
        if (store_snapshot_partner_by_fqdn(snap, n) || store_snapshot_provider_by_fqdn(snap, n))
            return true;
    }
    if (in->peer_cn) {
        fedge_str_t n = {in->peer_cn, strlen(in->peer_cn)};
        if (store_snapshot_partner_by_fqdn(snap, n) || store_snapshot_provider_by_fqdn(snap, n))
            return true;
    }
    return false;
}

/* Ends in ".suffix" or equals suffix (ASCII case-insensitive). */
static bool in_domain(fedge_str_t name, fedge_str_t dom)
{
    if (name.len == dom.len)
        return !strncasecmp(name.s, dom.s, dom.len);
    return name.len > dom.len && name.s[name.len - dom.len - 1] == '.' &&
           !strncasecmp(name.s + name.len - dom.len, dom.s, dom.len);
}

policy_dns_t policy_edge_verified(fedge_str_t domain, const char *const *srv_targets,
                                  size_t n_targets, const policy_input_t *peer, const char **reason)
{
    bool any_in_domain = false;
    for (size_t i = 0; i < n_targets; i++) {
        if (!srv_targets[i])
            continue;
        fedge_str_t t = {srv_targets[i], strlen(srv_targets[i])};
        if (t.len && t.s[t.len - 1] == '.')
            t.len--;
        if (!in_domain(t, domain))
            continue;
        any_in_domain = true;
        char name[STORE_FQDN_MAX + 1];
        if (t.len > STORE_FQDN_MAX)
            continue;
        memcpy(name, t.s, t.len);
        name[t.len] = 0;
        if (policy_peer_names(peer, name)) {
            *reason = NULL;
            return POLICY_DNS_VERIFIED;
        }
    }
    *reason = n_targets == 0  ? "no SRV record for the domain"
              : any_in_domain ? "the peer's certificate names none of the domain's SRV targets"
                              : "no SRV target lies in the domain itself";
    return POLICY_DNS_NOT_VERIFIED;
}

static bool is_local(const policy_input_t *in, fedge_str_t d)
{
    for (size_t i = 0; i < in->n_local_domains; i++)
        if (str_ieq_c(d, in->local_domains[i]))
            return true;
    return false;
}

/* The domain or (block-subdomains) one of its parents is blocked. */
static bool is_blocked(const store_snapshot_t *snap, fedge_str_t d)
{
    if (store_snapshot_blocked(snap, d))
        return true;
    if (!snap->edge.block_subdomains || snap->n_blocked == 0)
        return false;
    for (size_t i = 0; i < d.len; i++) {
        if (d.s[i] != '.')
            continue;
        fedge_str_t parent = {d.s + i + 1, d.len - i - 1};
        if (!memchr(parent.s, '.', parent.len))
            break; /* a TLD alone is never a blocked "domain" */
        if (store_snapshot_blocked(snap, parent))
            return true;
    }
    return false;
}

/* 1 for the bytes a federation domain may hold, [A-Za-z0-9.-]: 32 a line,
 * 0x00 to 0x7f (the rest are 0). */
static const unsigned char domain_char[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
};

/* A syntactically usable federation domain: 1..253 bytes of [A-Za-z0-9.-]
 * with at least two labels (no federation with a single-label name). */
static bool domain_ok(fedge_str_t d)
{
    if (!d.s || d.len < 3 || d.len > STORE_FQDN_MAX || d.s[0] == '.' || d.s[d.len - 1] == '.' ||
        !memchr(d.s, '.', d.len))
        return false;
    /* one table look-up a byte and no branch: this runs twice for every
     * request, on domains short enough that stopping early gains nothing */
    unsigned char ok = 1;
    for (size_t i = 0; i < d.len; i++)
        ok &= domain_char[(unsigned char)d.s[i]];
    return ok;
}

const store_policy_t *policy_for_user(const store_snapshot_t *snap, fedge_str_t user,
                                      fedge_str_t domain, fedge_str_t site)
{
    if (snap->n_assignments && user.len && user.len + 1 + domain.len <= STORE_USER_MAX) {
        char aor[STORE_USER_MAX + 1];
        memcpy(aor, user.s, user.len);
        aor[user.len] = '@';
        memcpy(aor + user.len + 1, domain.s, domain.len);
        const store_policy_t *p =
            store_snapshot_user_policy(snap, (fedge_str_t){aor, user.len + 1 + domain.len});
        if (p)
            return p;
    }
    if (site.len && site.len <= STORE_NAME_MAX) {
        char scope[STORE_NAME_MAX + 6];
        memcpy(scope, "site:", 5);
        memcpy(scope + 5, site.s, site.len);
        const store_policy_t *p = store_snapshot_policy(snap, (fedge_str_t){scope, 5 + site.len});
        if (p)
            return p;
    }
    /* Global is first in the sorted array. */
    if (snap->n_policies && !strcmp(snap->policies[0].scope, "global"))
        return &snap->policies[0];
    return store_snapshot_policy(snap, FEDGE_STR_LIT("global"));
}

static void reject(policy_verdict_t *v, int diag)
{
    const policy_diag_t *d = policy_diag(diag);
    v->outcome = POLICY_REJECT;
    v->diag = diag;
    v->status = d && d->status ? d->status : 403;
    v->reason = d ? d->reason : "Rejected by policy";
}

/* Classification of a partner domain shared by both directions. */
typedef struct {
    policy_fed_t type;
    const store_allowed_t *allowed;
    const store_provider_t *provider; /* enabled provider */
    bool provider_disabled;
} cls_t;

static cls_t classify(const store_snapshot_t *snap, fedge_str_t d)
{
    cls_t c = {0};
    const store_allowed_t *a = store_snapshot_allowed(snap, d);
    if (a) {
        c.allowed = a;
        c.type = a->proxy_fqdn ? POLICY_FED_PARTNER_SERVER : POLICY_FED_ALLOWED_DOMAIN;
        return c;
    }
    const store_provider_t *p = store_snapshot_provider_for(snap, d);
    if (p && p->enabled) {
        c.provider = p;
        c.type = p->kind == STORE_PROVIDER_PUBLIC ? POLICY_FED_PROVIDER_PUBLIC
                                                  : POLICY_FED_PROVIDER_HOSTING;
        return c;
    }
    c.provider_disabled = p != NULL;
    c.type = snap->edge.discovery ? POLICY_FED_DISCOVERED : POLICY_FED_NONE;
    return c;
}

/* The DNS-verified kinds (allowed domain, discovered): ALLOW continues. */
static bool dns_check(const policy_input_t *in, policy_verdict_t *v)
{
    switch (in->dns) {
    case POLICY_DNS_VERIFIED: return true;
    case POLICY_DNS_UNKNOWN:
        v->outcome = POLICY_NEED_DNS;
        v->dns_domain = in->from_domain;
        return false;
    case POLICY_DNS_ERROR: reject(v, POLICY_DIAG_DNS_ERROR); return false;
    default: reject(v, POLICY_DIAG_SRV_NO_MATCH); return false;
    }
}

static void decide_inbound(const store_snapshot_t *snap, const policy_input_t *in,
                           policy_verdict_t *v)
{
    if (!in->peer_verified)
        return reject(v, POLICY_DIAG_PEER_UNVERIFIED);
    if (!domain_ok(in->from_domain) || !domain_ok(in->to_domain))
        return reject(v, POLICY_DIAG_BAD_ADDRESS);
    if (!snap->edge.federation)
        return reject(v, POLICY_DIAG_FEDERATION_OFF);
    if (is_local(in, in->from_domain))
        return reject(v, POLICY_DIAG_SPOOF_LOCAL_FROM);
    if (is_blocked(snap, in->from_domain))
        return reject(v, POLICY_DIAG_BLOCKED);
    if (!is_local(in, in->to_domain))
        return reject(v, POLICY_DIAG_TARGET_NOT_LOCAL);

    cls_t c = classify(snap, in->from_domain);
    v->type = c.type;
    switch (c.type) {
    case POLICY_FED_PARTNER_SERVER:
        if (!policy_peer_names(in, c.allowed->proxy_fqdn))
            return reject(v, POLICY_DIAG_CERT_MISMATCH);
        v->source_type = POLICY_SRC_DIRECT_PARTNER;
        v->verified_user = true;
        v->monitor = c.allowed->monitor;
        break;
    case POLICY_FED_ALLOWED_DOMAIN:
        if (!dns_check(in, v))
            return;
        v->source_type = POLICY_SRC_AUTO_FEDERATION;
        v->verified_user = true;
        v->monitor = c.allowed->monitor;
        break;
    case POLICY_FED_PROVIDER_HOSTING:
    case POLICY_FED_PROVIDER_PUBLIC:
        if (!policy_peer_names(in, c.provider->proxy_fqdn))
            return reject(v, POLICY_DIAG_CERT_MISMATCH);
        v->source_type = POLICY_SRC_AUTHORIZED_SERVER;
        v->verified_user =
            c.provider->verification == STORE_VERIFY_ALWAYS_VERIFIED ||
            (c.provider->verification == STORE_VERIFY_USE_SOURCE && in->source_verified == 1);
        v->public_cloud = c.type == POLICY_FED_PROVIDER_PUBLIC;
        v->remote_fqdn = v->public_cloud ? c.provider->proxy_fqdn : NULL;
        break;
    case POLICY_FED_DISCOVERED:
        /* A known server speaking for a domain that is not its own needs
         * more than its certificate: it must be that domain's SRV edge. */
        if (in->dns != POLICY_DNS_VERIFIED && in->dns != POLICY_DNS_UNKNOWN &&
            peer_is_known_server(snap, in))
            return reject(v, POLICY_DIAG_NOT_ENTITLED);
        if (!dns_check(in, v))
            return;
        v->source_type = POLICY_SRC_AUTO_FEDERATION;
        v->verified_user = true;
        v->throttle = true;
        break;
    default:
        if (c.provider_disabled)
            return reject(v, POLICY_DIAG_PROVIDER_DISABLED);
        if (peer_is_known_server(snap, in))
            return reject(v, POLICY_DIAG_NOT_ENTITLED);
        return reject(v, POLICY_DIAG_NOT_ALLOWED);
    }

    const store_policy_t *p = policy_for_user(snap, in->to_user, in->to_domain, in->site);
    bool pub = c.type == POLICY_FED_PROVIDER_PUBLIC;
    if (!p || !(pub ? p->public_im : p->federation))
        return reject(v, pub ? POLICY_DIAG_RCPT_NO_PUBLIC : POLICY_DIAG_RCPT_NO_FEDERATION);
    if (in->av && !p->av)
        return reject(v, POLICY_DIAG_RCPT_NO_AV);
    v->outcome = POLICY_ALLOW;
}

static void decide_outbound(const store_snapshot_t *snap, const policy_input_t *in,
                            policy_verdict_t *v)
{
    if (!domain_ok(in->from_domain) || !domain_ok(in->to_domain))
        return reject(v, POLICY_DIAG_BAD_ADDRESS);
    if (!is_local(in, in->from_domain))
        return reject(v, POLICY_DIAG_FROM_NOT_LOCAL);
    if (!snap->edge.federation)
        return reject(v, POLICY_DIAG_FEDERATION_OFF);
    if (is_blocked(snap, in->to_domain))
        return reject(v, POLICY_DIAG_BLOCKED);

    cls_t c = classify(snap, in->to_domain);
    v->type = c.type;
    if (c.type == POLICY_FED_NONE)
        return reject(v, c.provider_disabled ? POLICY_DIAG_PROVIDER_DISABLED
                                             : POLICY_DIAG_NOT_ALLOWED);
    const store_policy_t *p = policy_for_user(snap, in->from_user, in->from_domain, in->site);
    bool pub = c.type == POLICY_FED_PROVIDER_PUBLIC;
    if (!p || !(pub ? p->public_im : p->federation))
        return reject(v, pub ? POLICY_DIAG_USER_NO_PUBLIC : POLICY_DIAG_USER_NO_FEDERATION);
    if (in->av && !p->av)
        return reject(v, POLICY_DIAG_USER_NO_AV);

    v->mark_verifiable = snap->edge.mark_verifiable;
    v->monitor = c.allowed && c.allowed->monitor;
    if (snap->edge.routing == STORE_ROUTING_DEFAULT_ROUTE && snap->edge.default_route[0]) {
        v->route = POLICY_ROUTE_DEFAULT;
        v->route_host = snap->edge.default_route;
    } else if (c.type == POLICY_FED_PARTNER_SERVER) {
        v->route = POLICY_ROUTE_FQDN;
        v->route_host = v->expect_peer = c.allowed->proxy_fqdn;
    } else if (c.provider) {
        v->route = POLICY_ROUTE_FQDN;
        v->route_host = v->expect_peer = c.provider->proxy_fqdn;
    } else {
        v->route = POLICY_ROUTE_SRV; /* of in->to_domain; route_host NULL */
    }
    v->outcome = POLICY_ALLOW;
}

bool policy_wants_av(bool is_invite, fedge_str_t sdp)
{
    if (!is_invite)
        return false;
    if (!sdp.len)
        return true;
    /* RFC 8866 §5.14: "m=<media> <port> ..." at the start of a line. */
    for (size_t i = 0; i + 2 <= sdp.len; i++) {
        if ((i && sdp.s[i - 1] != '\n') || sdp.s[i] != 'm' || sdp.s[i + 1] != '=')
            continue;
        fedge_str_t rest = {sdp.s + i + 2, sdp.len - i - 2};
        size_t n = 0;
        while (n < rest.len && rest.s[n] != ' ' && rest.s[n] != '\r' && rest.s[n] != '\n')
            n++;
        fedge_str_t media = {rest.s, n};
        if (str_ieq_c(media, "audio") || str_ieq_c(media, "video"))
            return true;
    }
    return false;
}

void policy_decide(const store_snapshot_t *snap, const policy_input_t *in, policy_verdict_t *out)
{
    memset(out, 0, sizeof(*out));
    if (in->dir == POLICY_INBOUND)
        decide_inbound(snap, in, out);
    else
        decide_outbound(snap, in, out);
}

/* ------------------------------------------------------------------ */
/* Trust header                                                        */
/* ------------------------------------------------------------------ */

static const char *src_name(policy_src_t s)
{
    switch (s) {
    case POLICY_SRC_DIRECT_PARTNER: return "DirectPartner";
    case POLICY_SRC_AUTHORIZED_SERVER: return "AuthorizedServer";
    case POLICY_SRC_EDGE_GENERATED: return "EdgeProxyGenerated";
    default: return "AutoFederation";
    }
}

int policy_format_trust(const policy_verdict_t *v, fedge_str_t edge_fqdn, char *buf, size_t n)
{
    /* once per forwarded request: appended, not printf'd */
    fedge_sb_t b;
    fedge_sb_init(&b, buf, n);
    fedge_sb_puts(&b, "ms-source-type=");
    fedge_sb_puts(&b, src_name(v->source_type));
    fedge_sb_puts(&b, ";ms-ep-fqdn=");
    fedge_sb_put(&b, edge_fqdn.s, edge_fqdn.s ? edge_fqdn.len : 0);
    fedge_sb_puts(&b, ";ms-source-verified-user=");
    fedge_sb_puts(&b, v->verified_user ? "verified" : "unverified");
    fedge_sb_puts(&b, ";ms-source-network=");
    fedge_sb_puts(&b, v->public_cloud ? "publiccloud" : "federation");
    if (v->remote_fqdn) {
        fedge_sb_puts(&b, ";ms-remote-fqdn=");
        fedge_sb_puts(&b, v->remote_fqdn);
    }
    if (b.full) {
        if (n)
            buf[0] = 0;
        return FEDGE_ENOSPC;
    }
    return (int)b.len;
}

bool policy_is_trust_header(fedge_str_t name)
{
    while (name.len && (name.s[name.len - 1] == ' ' || name.s[name.len - 1] == '\t'))
        name.len--;
    return str_ieq_c(name, "ms-edge-proxy-message-trust");
}
