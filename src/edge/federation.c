/* federation.c — the federation driver: policy_decide on every new
 * out-of-dialog request through the proxy's policy hook (parked while DNS
 * verifies the peer), refusals with Warning and ms-diagnostics(-public),
 * the trust header on inbound requests, discovered-partner throttling and
 * the admin panel's per-partner figures. docs/proxy.md "Federation
 * policy". */
#include "edge/edge_int.h"
#include "media/media.h"

#include "obs/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COOKIES 4096 /* throttled requests awaiting their final status */
#define WATCH_QUEUE EDGE__WATCH_QUEUE

static const char C[] = "policy";

/* A decision waiting for dns_verify_edge. */
struct edge__pend {
    struct edge__pend *next, *prev;
    edge__fed_t *f;
    uint64_t ticket;
    dns_req_t *req;
    store_snapshot_t *snap; /* the snapshot the decision started with */
    policy_input_t in;      /* strings point into buf / the arrays below */
    char buf[4 * 256 + 4];  /* from user/domain, to user/domain */
    char **names;           /* the peer's names: dns..., sip..., cn */
    size_t n_dns, n_sip;
    bool has_cn;
};
typedef edge__pend_t pend_t;
typedef edge__cookie_t cookie_t;

/* ------------------------------------------------------------------ */
/* Watch list and results                                              */
/* ------------------------------------------------------------------ */

static uint64_t cookie_new(edge__fed_t *f, fedge_str_t domain)
{
    uint64_t id = ++f->next_cookie;
    cookie_t *c = &f->cookies[id % COOKIES];
    c->id = id;
    snprintf(c->domain, sizeof(c->domain), "%.*s", (int)domain.len, domain.s);
    return id;
}

static void on_result(void *user, uint64_t cookie, int status)
{
    edge__fed_t *f = user;
    if (cookie & EDGE__REMOTE_COOKIE) {
        if (f->remote)
            edge__remote_result(f->remote, cookie, status);
        return;
    }
    cookie_t *c = &f->cookies[cookie % COOKIES];
    if (c->id != cookie)
        return; /* overwritten by a later one: too old to matter */
    c->id = 0;
    policy_throttle_result(f->throttle, (fedge_str_t){c->domain, strlen(c->domain)}, status,
                           uv_now(f->loop));
}

/* ------------------------------------------------------------------ */
/* Decisions                                                           */
/* ------------------------------------------------------------------ */

static void stats(edge__fed_t *f, fedge_str_t partner, int diag)
{
    if (f->stats && partner.len)
        admin_stats_request(f->stats, partner, diag);
}

/* The edits of an inbound request: every ms-edge-proxy-message-trust
 * header from outside removed (any case, any whitespace before the colon)
 * and ours added, made by the proxy in the one print of the forwarded
 * request. Returns 0, or -1 when ours cannot be built. */
static int trust_edits(edge__fed_t *f, const policy_verdict_t *v, proxy_edits_t *e)
{
    char value[600];
    if (policy_format_trust(v, f->fqdn, value, sizeof(value)) < 0 ||
        proxy_edits_strip(e, "ms-edge-proxy-message-trust") < 0 ||
        proxy_edits_add(e, "ms-edge-proxy-message-trust", value) < 0)
        return -1;
    return 0;
}

/* HOST[:PORT] (IPv6 in brackets) into a proxy target; port default 5061. */
static void target_from(const char *hp, proxy_hostport_t *t)
{
    const char *h = hp, *colon;
    size_t hl;
    t->port = 5061;
    if (*h == '[') {
        const char *end = strchr(h, ']');
        hl = end ? (size_t)(end - h - 1) : strlen(h + 1);
        h++;
        colon = end ? strchr(end, ':') : NULL;
    } else {
        colon = strrchr(h, ':');
        hl = colon ? (size_t)(colon - h) : strlen(h);
    }
    if (colon)
        t->port = (uint16_t)atoi(colon + 1);
    snprintf(t->host, sizeof(t->host), "%.*s", (int)hl, h);
}

/* Turns a final policy verdict v into the proxy's verdict pv (for an
 * inbound request: the trust header edits). Returns 0 to allow, 1 to
 * deny. */
static int conclude(edge__fed_t *f, const store_snapshot_t *snap, const policy_input_t *in,
                    policy_verdict_t *v, proxy_policy_verdict_t *pv)
{
    bool inbound = in->dir == POLICY_INBOUND;
    fedge_str_t partner = inbound ? in->from_domain : in->to_domain;
    if (v->outcome == POLICY_ALLOW && inbound && v->throttle) {
        char user[520];
        snprintf(user, sizeof(user), "%.*s@%.*s", (int)in->to_user.len, in->to_user.s,
                 (int)in->to_domain.len, in->to_domain.s);
        bool newly = false;
        if (policy_throttle_admit(f->throttle, snap, in->from_domain,
                                  (fedge_str_t){user, strlen(user)}, uv_now(f->loop), v, &newly))
            pv->result_cookie = cookie_new(f, in->from_domain);
        if (newly && f->n_watch < WATCH_QUEUE) {
            snprintf(f->watch[f->n_watch++], 256, "%.*s", (int)in->from_domain.len,
                     in->from_domain.s);
        }
    }
    if (v->outcome != POLICY_ALLOW) {
        char d[400];
        if (policy_format_diag(v->diag, v->reason, f->fqdn, inbound, d, sizeof(d)) < 0)
            d[0] = 0;
        pv->status = v->status;
        snprintf(pv->warning, sizeof(pv->warning), "%d %s", v->diag, v->reason);
        snprintf(pv->extra, sizeof(pv->extra), "%s: %s\r\n",
                 inbound ? "ms-diagnostics-public" : "ms-diagnostics", d);
        stats(f, partner, v->diag);
        char id[16];
        snprintf(id, sizeof(id), "%d", v->diag);
        obs_logkv(OBS_LOG_INFO, C, "request refused by policy", "direction",
                  inbound ? "inbound" : "outbound", "partner",
                  partner.len ? (snprintf(d, sizeof(d), "%.*s", (int)partner.len, partner.s), d)
                              : "-",
                  "diagnostic", id, "reason", v->reason, NULL);
        return 1;
    }
    stats(f, partner, 0);
    if (inbound) {
        if (trust_edits(f, v, &pv->edits) < 0) {
            pv->status = 500;
            snprintf(pv->warning, sizeof(pv->warning), "cannot add the trust header");
            return 1;
        }
        return 0;
    }
    switch (v->route) {
    case POLICY_ROUTE_DEFAULT:
    case POLICY_ROUTE_FQDN:
        if (v->route_host && v->route_host[0])
            target_from(v->route_host, &pv->target);
        break;
    case POLICY_ROUTE_SRV: /* the proxy's dns-srv routing (src/proxy/outbound.c) */
        pv->srv = true;
        break;
    case POLICY_ROUTE_NONE: break;
    }
    return 0;
}

static void fill_peer(policy_input_t *in, const net_peer_t *peer)
{
    if (!peer)
        return;
    in->peer_verified = peer->verified;
    in->peer_dns = peer->dns;
    in->n_peer_dns = peer->n_dns;
    in->peer_sip = peer->sip;
    in->n_peer_sip = peer->n_sip;
    in->peer_cn = peer->cn;
}

static void pend_unlink(edge__fed_t *f, pend_t *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        f->pending = q->next;
    if (q->next)
        q->next->prev = q->prev;
}

static void pend_free(pend_t *q)
{
    store_snapshot_unref(q->snap);
    size_t n = q->n_dns + q->n_sip + (q->has_cn ? 1 : 0);
    for (size_t i = 0; i < n; i++)
        free(q->names[i]);
    free(q->names);
    free(q);
}

static fedge_str_t keep(char **at, fedge_str_t s)
{
    size_t n = s.len < 255 ? s.len : 255;
    memcpy(*at, s.s, n);
    fedge_str_t r = {*at, n};
    *at += n;
    return r;
}

static void on_edge(void *user, const dns_edge_result_t *res)
{
    pend_t *q = user;
    edge__fed_t *f = q->f;
    q->req = NULL;
    pend_unlink(f, q);
    q->in.dns = res->legitimate ? POLICY_DNS_VERIFIED
                : res->status == DNS_TIMEOUT || res->status == DNS_SERVFAIL
                    ? POLICY_DNS_ERROR
                    : POLICY_DNS_NOT_VERIFIED;
    q->in.dns_reason = res->reason;
    policy_verdict_t v;
    policy_decide(q->snap, &q->in, &v);
    if (v.outcome == POLICY_NEED_DNS) { /* cannot happen: asked once */
        v.outcome = POLICY_REJECT;
        v.status = 403;
        v.diag = POLICY_DIAG_DNS_ERROR;
        v.reason = policy_diag(POLICY_DIAG_DNS_ERROR)->reason;
    }
    proxy_policy_verdict_t pv;
    memset(&pv, 0, sizeof(pv));
    int deny = conclude(f, q->snap, &q->in, &v, &pv);
    if (f->proxy)
        proxy_policy_resume(f->proxy, q->ticket, deny != 0, &pv);
    pend_free(q);
}

/* Parks the decision until DNS says whether the peer is an edge of
 * v->dns_domain. Returns PROXY_POLICY_PENDING, or -1 when the look-up
 * cannot start (then *v is a REJECT). */
static int wait_dns(edge__fed_t *f, const proxy_policy_in_t *pin, const policy_input_t *in,
                    policy_verdict_t *v)
{
    pend_t *q = fedge_calloc(1, sizeof(*q));
    q->f = f;
    q->ticket = pin->ticket;
    q->snap = store_snapshot_ref(f->snap);
    q->in = *in;
    char *at = q->buf;
    q->in.from_user = keep(&at, in->from_user);
    q->in.from_domain = keep(&at, in->from_domain);
    q->in.to_user = keep(&at, in->to_user);
    q->in.to_domain = keep(&at, in->to_domain);
    q->n_dns = in->n_peer_dns;
    q->n_sip = in->n_peer_sip;
    q->has_cn = in->peer_cn != NULL;
    size_t n = q->n_dns + q->n_sip + (q->has_cn ? 1 : 0);
    q->names = fedge_calloc(n ? n : 1, sizeof(*q->names));
    for (size_t i = 0; i < q->n_dns; i++)
        q->names[i] = fedge_strdup(in->peer_dns[i]);
    for (size_t i = 0; i < q->n_sip; i++)
        q->names[q->n_dns + i] = fedge_strdup(in->peer_sip[i]);
    if (q->has_cn)
        q->names[n - 1] = fedge_strdup(in->peer_cn);
    q->in.peer_dns = (const char *const *)q->names;
    q->in.peer_sip = (const char *const *)q->names + q->n_dns;
    q->in.peer_cn = q->has_cn ? q->names[n - 1] : NULL;
    char dom[256];
    snprintf(dom, sizeof(dom), "%.*s", (int)v->dns_domain.len, v->dns_domain.s);
    int rc = dns_verify_edge(f->dns, dom, (const char *const *)q->names, n, on_edge, q, &q->req);
    if (rc < 0) {
        pend_free(q);
        v->outcome = POLICY_REJECT;
        v->status = 403;
        v->diag = POLICY_DIAG_DNS_ERROR;
        v->reason = policy_diag(POLICY_DIAG_DNS_ERROR)->reason;
        return -1;
    }
    q->next = f->pending;
    if (q->next)
        q->next->prev = q;
    f->pending = q;
    return PROXY_POLICY_PENDING;
}

/* policy_input_t.av for msg: the SDP is found as the relay finds it
 * (media_sdp_find); a body that is not SDP, or is malformed, counts as no
 * SDP, so an INVITE with it is a call (what its 200 will carry is
 * unknown). */
static bool wants_av(const sip_msg_t *m)
{
    if (!m || !m->is_request || m->method_id != SIP_METHOD_INVITE)
        return false;
    fedge_str_t sdp = {"", 0};
    const sip_hdr_t *ct = sip_msg_find(m, SIP_HDR_CONTENT_TYPE);
    media_sdp_loc_t loc;
    if (ct && m->body.len && media_sdp_find(ct->value, m->body, &loc) == 0)
        sdp = (fedge_str_t){m->body.s + loc.off, loc.len};
    return policy_wants_av(true, sdp);
}

static int on_policy(void *user, const proxy_policy_in_t *pin, proxy_policy_verdict_t *pv)
{
    edge__fed_t *f = user;
    int rrc;
    /* remote users (remote.c): their clients' requests, and requests back
     * to them over their flows, are not federation */
    if (f->remote && edge__remote_policy(f->remote, f->snap, pin, pv, &rrc))
        return rrc;
    /* a request with a To tag comes here only for the flow token in its
     * Route (route_user) that remote.c did not claim: in-dialog requests
     * are not federation decisions (the dialog's first request was) */
    const sip_nameaddr_t *to;
    if (pin->msg && sip_msg_to(pin->msg, &to) == 0 && to->has_tag)
        return 0;
    policy_input_t in;
    memset(&in, 0, sizeof(in));
    in.dir = pin->from_side == PROXY_SIDE_EXTERNAL ? POLICY_INBOUND : POLICY_OUTBOUND;
    if (in.dir == POLICY_INBOUND)
        fill_peer(&in, pin->peer ? pin->peer->cert : NULL);
    in.dns = POLICY_DNS_UNKNOWN;
    in.source_verified = -1;
    if (pin->from_uri) {
        in.from_user = pin->from_uri->user;
        in.from_domain = pin->from_uri->host;
    }
    const sip_uri_t *target = pin->ruri && pin->ruri->host.len ? pin->ruri : pin->to_uri;
    if (target) {
        in.to_user = target->user;
        in.to_domain = target->host;
    }
    in.local_domains = f->local;
    in.n_local_domains = f->n_local;
    in.site = (fedge_str_t){"", 0};
    in.av = wants_av(pin->msg);
    policy_verdict_t v;
    policy_decide(f->snap, &in, &v);
    if (v.outcome == POLICY_NEED_DNS) {
        int rc = wait_dns(f, pin, &in, &v);
        if (rc == PROXY_POLICY_PENDING)
            return rc;
    }
    return conclude(f, f->snap, &in, &v, pv);
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

int edge__fed_new(uv_loop_t *loop, const config_t *cf, admin_stats_t *stats, dns_t *dns,
                  edge__fed_t **out, fedge_err_t *e)
{
    (void)e;
    edge__fed_t *f = fedge_calloc(1, sizeof(*f));
    f->loop = loop;
    f->cf = cf;
    f->stats = stats;
    f->dns = dns;
    f->fqdn = (fedge_str_t){cf->edge.fqdn, strlen(cf->edge.fqdn)};
    f->n_local = cf->edge.sip_domain_count;
    f->local = fedge_calloc(f->n_local ? f->n_local : 1, sizeof(*f->local));
    for (size_t i = 0; i < f->n_local; i++)
        f->local[i] = cf->edge.sip_domains[i];
    f->snap = store_snapshot_empty();
    f->throttle = policy_throttle_new(4096);
    f->cookies = fedge_calloc(COOKIES, sizeof(*f->cookies));
    edge__feed_start(f);
    *out = f;
    return 0;
}

void edge__fed_attach(edge__fed_t *f, proxy_t *p)
{
    f->proxy = p;
    proxy_set_policy(p, on_policy, f);
    proxy_set_result(p, on_result, f);
}

void edge__fed_release(edge__fed_t *f)
{
    if (!f->timer_closed || f->busy)
        return;
    store_close(f->store);
    store_snapshot_unref(f->snap);
    policy_throttle_free(f->throttle);
    edge__remote_free(f->remote);
    free(f->cookies);
    free(f->local);
    edge__pool_free(f->pool);
    free(f);
}

void edge__fed_free(edge__fed_t *f)
{
    if (!f)
        return;
    f->closing = true;
    while (f->pending) {
        pend_t *q = f->pending;
        pend_unlink(f, q);
        if (q->req)
            dns_cancel(q->req);
        pend_free(q);
    }
    if (f->proxy) {
        proxy_set_policy(f->proxy, NULL, NULL);
        proxy_set_result(f->proxy, NULL, NULL);
        f->proxy = NULL;
    }
    f->dns = NULL;
    edge__feed_stop(f);
}
