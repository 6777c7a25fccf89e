/* remote.c — remote users through the edge (docs/remote-users.md): the
 * policy hook's part for requests from the [remote] listener (lock-out,
 * REGISTER rate per address, policy_remote_decide; REGISTER to the
 * registrar with a Path carrying the client's flow token, RFC 3327 and
 * RFC 5626), requests from inside routed back over a client's flow (430
 * when it is gone), and the registrar's answers counted by the lock-out
 * tracker, whose lock-outs the feed writes to the store. */
#include "edge/edge_int.h"

#include "edge/flow.h"
#include "obs/obs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RATE_SLOTS 4096   /* addresses whose REGISTER rate is tracked (policy_rate_t) */
#define RATE_WINDOW 60000 /* register_rate is per minute */
#define COOKIES 4096      /* remote REGISTERs awaiting their final status */
#define LOCK_ENTRIES 20000

static const char C[] = "remote";

/* A REGISTER forwarded to the registrar, for its final status. */
typedef struct {
    uint64_t id;
    char user[320];
    char ip[64];
    bool creds; /* it carried Authorization / Proxy-Authorization */
} rcookie_t;

struct edge__remote {
    edge_t *ed;
    const config_t *cf;
    edge__flow_key_t key;
    policy_lockout_t *lock;
    char path_host[PROXY_HOST_MAX];
    uint16_t path_port;
    const char *path_tp;
    fedge_str_t fqdn;
    const char **local;
    size_t n_local;
    policy_rate_t *rates; /* REGISTERs per address and minute */
    rcookie_t *cookies;
    uint64_t next_cookie;
    edge__lockwrite_t writes[EDGE__LOCK_QUEUE];
    size_t n_writes;
    /* registrations accepted per second over the last minute (the Status
     * page's "registrations per minute"), by second modulo 60 */
    uint32_t reg_n[60];
    uint64_t reg_sec[60];
};

/* Status figures (docs/remote-users.md): read by the admin thread and the
 * metrics scrape through obs_metrics_totals, like every family. */
static obs_family_t *m_clients, *m_regs, *m_regs_min, *m_rate_evict;

static void families(void)
{
    m_clients = obs_family("fedge_remote_clients_connected",
                           "remote users' client connections open now (TLS done, [remote])",
                           OBS_KIND_GAUGE, "", NULL, 0);
    m_regs = obs_family("fedge_remote_registrations_total",
                        "remote users' REGISTERs the registrar accepted (2xx) through the edge",
                        OBS_KIND_COUNTER, "", NULL, 0);
    m_regs_min = obs_family("fedge_remote_registrations_per_minute",
                            "remote users' REGISTERs accepted in the last 60 seconds",
                            OBS_KIND_GAUGE, "", NULL, 0);
    m_rate_evict = obs_family("fedge_remote_register_rate_evictions_total",
                              "addresses whose REGISTER count ([remote] register_rate) was "
                              "forgotten within its minute to track a new one (table full)",
                              OBS_KIND_COUNTER, "", NULL, 0);
}

void edge__remote_metrics_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, families);
}

void edge__remote_conn(int delta)
{
    edge__remote_metrics_init();
    obs_add(m_clients, delta);
}

void edge__remote_tick(edge__remote_t *r)
{
    uint64_t sec = uv_now(r->ed->loop) / 1000;
    int64_t n = 0;
    for (size_t i = 0; i < 60; i++)
        if (r->reg_sec[i] + 60 > sec)
            n += r->reg_n[i];
    obs_set(m_regs_min, n);
}

int edge__remote_new(edge_t *ed, const config_t *cf, const char *path_host, uint16_t path_port,
                     edge__remote_t **out, fedge_err_t *e)
{
    edge__remote_t *r = fedge_calloc(1, sizeof(*r));
    if (edge__flow_key_init(&r->key, e) < 0) {
        free(r);
        return FEDGE_EIO;
    }
    r->ed = ed;
    r->cf = cf;
    snprintf(r->path_host, sizeof(r->path_host), "%s", path_host);
    r->path_port = path_port;
    r->path_tp = cf->internal.transport == CONFIG_TRANSPORT_TCP ? "tcp" : "tls";
    r->fqdn = (fedge_str_t){cf->edge.fqdn, strlen(cf->edge.fqdn)};
    r->n_local = cf->edge.sip_domain_count;
    r->local = fedge_calloc(r->n_local ? r->n_local : 1, sizeof(*r->local));
    for (size_t i = 0; i < r->n_local; i++)
        r->local[i] = cf->edge.sip_domains[i];
    policy_lockout_cfg_t lc = {cf->remote.lockout_user_failures, cf->remote.lockout_addr_failures,
                               cf->remote.lockout_window_ms, cf->remote.lockout_period_ms,
                               LOCK_ENTRIES};
    r->lock = policy_lockout_new(&lc);
    r->rates = policy_rate_new(RATE_SLOTS);
    r->cookies = fedge_calloc(COOKIES, sizeof(*r->cookies));
    edge__remote_metrics_init();
    *out = r;
    return 0;
}

void edge__remote_free(edge__remote_t *r)
{
    if (!r)
        return;
    policy_lockout_free(r->lock);
    policy_rate_free(r->rates);
    free(r->cookies);
    free(r->local);
    free(r);
}

static uint64_t now_ms(const edge__remote_t *r)
{
    return uv_now(r->ed->loop);
}

/* A refusal: status, Warning "DIAG reason" and ms-diagnostics (remote
 * users are the organization's own: the full form, source included). */
static int refuse(edge__remote_t *r, const policy_verdict_t *v, const char *ip,
                  proxy_policy_verdict_t *pv)
{
    char d[400];
    if (policy_format_diag(v->diag, v->reason, r->fqdn, false, d, sizeof(d)) < 0)
        d[0] = 0;
    pv->status = v->status;
    snprintf(pv->warning, sizeof(pv->warning), "%d %s", v->diag, v->reason);
    snprintf(pv->extra, sizeof(pv->extra), "ms-diagnostics: %s\r\n", d);
    char id[16];
    snprintf(id, sizeof(id), "%d", v->diag);
    obs_logkv(OBS_LOG_INFO, C, "remote request refused", "address", ip, "diagnostic", id, "reason",
              v->reason, NULL);
    return 1;
}

/* True when ip may send one more REGISTER this minute (counted). */
static bool rate_ok(edge__remote_t *r, const char *ip)
{
    uint64_t ev = policy_rate_evictions(r->rates);
    bool ok = policy_rate_admit(r->rates, (fedge_str_t){ip, strlen(ip)},
                                r->cf->remote.register_rate, RATE_WINDOW, now_ms(r));
    if (policy_rate_evictions(r->rates) != ev)
        obs_add(m_rate_evict, 1);
    return ok;
}

/* user@domain of u, lowercase, into out (cap); its length (0: none). */
static size_t user_key(const sip_uri_t *u, char *out, size_t cap)
{
    if (!u || !u->user.len || !u->host.len) {
        out[0] = 0;
        return 0;
    }
    int n =
        snprintf(out, cap, "%.*s@%.*s", (int)u->user.len, u->user.s, (int)u->host.len, u->host.s);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = 0;
        return 0;
    }
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return (size_t)n;
}

/* The value of header id contains word (any case). */
static bool header_has(const sip_msg_t *m, sip_hdr_id_t id, const char *word)
{
    size_t wl = strlen(word);
    for (unsigned i = 0; i < m->nhdrs; i++) {
        if (m->hdrs[i].id != id)
            continue;
        fedge_str_t v = m->hdrs[i].value;
        for (size_t k = 0; k + wl <= v.len; k++)
            if (!strncasecmp(v.s + k, word, wl))
                return true;
    }
    return false;
}

/* A request from a remote client's connection. */
static int from_client(edge__remote_t *r, const store_snapshot_t *snap,
                       const proxy_policy_in_t *pin, uint64_t flow, const char *ip,
                       proxy_policy_verdict_t *pv)
{
    sip_msg_t *m = pin->msg;
    bool reg = m->method_id == SIP_METHOD_REGISTER;
    const sip_uri_t *who = reg ? pin->to_uri : pin->from_uri;
    char user[320];
    size_t ul = user_key(who, user, sizeof(user));
    policy_verdict_t v;
    memset(&v, 0, sizeof(v));
    if (!policy_lockout_check(r->lock, (fedge_str_t){user, ul}, (fedge_str_t){ip, strlen(ip)},
                              now_ms(r), &v, NULL))
        return refuse(r, &v, ip, pv);
    if (reg && !rate_ok(r, ip)) {
        pv->status = 503;
        snprintf(pv->warning, sizeof(pv->warning),
                 "too many REGISTERs from this address ([remote] register_rate)");
        snprintf(pv->extra, sizeof(pv->extra), "Retry-After: 60\r\n");
        obs_logkv(OBS_LOG_INFO, C, "REGISTER over the rate of its address", "address", ip, NULL);
        return 1;
    }
    policy_remote_input_t in;
    memset(&in, 0, sizeof(in));
    in.is_register = reg;
    if (pin->from_uri) {
        in.from_user = pin->from_uri->user;
        in.from_domain = pin->from_uri->host;
    }
    if (pin->to_uri) {
        in.to_user = pin->to_uri->user;
        in.to_domain = pin->to_uri->host;
    }
    in.local_domains = r->local;
    in.n_local_domains = r->n_local;
    in.site = (fedge_str_t){"", 0};
    policy_remote_decide(snap, &in, &v);
    if (v.outcome != POLICY_ALLOW)
        return refuse(r, &v, ip, pv);
    /* what a client says about the edge's trust or its own route is not
     * believed: the internal side trusts only what the edge adds */
    if (proxy_edits_strip(&pv->edits, "ms-edge-proxy-message-trust") < 0)
        return 1;
    if (!reg) {
        /* to the internal next hops, as the route decision says — those
         * for another domain too: the internal server federates them back
         * through the internal side. A dialog it starts is record-routed
         * with the client's flow token (RFC 5626 §5.3), so that requests
         * from the far side come out on this connection. */
        if (edge__flow_token(&r->key, flow, pv->rr_user, sizeof(pv->rr_user)) < 0)
            pv->rr_user[0] = 0;
        return 0;
    }
    /* RFC 3327: the edge's Path, with the flow token (RFC 5626 §5.2) and
     * ;ob when the client asked for outbound (a reg-id in its Contact,
     * §5.1). A Path the client wrote itself would come before ours in the
     * registrar's route: removed. */
    char path[PROXY_HOST_MAX + 128];
    bool ob = header_has(m, SIP_HDR_CONTACT, "reg-id");
    if (edge__flow_path(&r->key, flow, r->path_host, r->path_port, r->path_tp, ob, path,
                        sizeof(path)) < 0 ||
        proxy_edits_strip(&pv->edits, "Path") < 0 ||
        proxy_edits_add(&pv->edits, "Path", path) < 0) {
        pv->status = 500;
        snprintf(pv->warning, sizeof(pv->warning), "cannot add the Path header");
        return 1;
    }
    pv->registrar = true; /* [remote] registrar, in order (proxy_cfg_t.registrars) */
    uint64_t id = ++r->next_cookie;
    rcookie_t *c = &r->cookies[id % COOKIES];
    c->id = id;
    snprintf(c->user, sizeof(c->user), "%s", user);
    snprintf(c->ip, sizeof(c->ip), "%s", ip);
    c->creds =
        sip_msg_find(m, SIP_HDR_AUTHORIZATION) || sip_msg_find(m, SIP_HDR_PROXY_AUTHORIZATION);
    pv->result_cookie = id | EDGE__REMOTE_COOKIE;
    return 0;
}

/* The flow token in the edge's own Route entries that the proxy popped
 * (the Path of a registration, or the Record-Route of a client's dialog):
 * 1 and *flow; 0 when they carry none; -1 when they carry a token that
 * does not verify (altered, or from before a restart). */
static int route_flow(edge__remote_t *r, const proxy_policy_in_t *pin, uint64_t *flow)
{
    if (pin->route_user.len != EDGE__FLOW_TOKEN_LEN)
        return 0;
    return edge__flow_parse(&r->key, pin->route_user, flow) == 0 ? 1 : -1;
}

bool edge__remote_outside_call(edge__remote_t *r, const sip_msg_t *m)
{
    uint64_t flow;
    const char *ip;
    uint16_t port;
    if (edge__flow_in_record_route(&r->key, m, &flow) != 1)
        return false;
    return edge__conn_remote(edge__flow_conn(r->ed, flow), &flow, &ip, &port);
}

bool edge__remote_policy(edge__remote_t *r, const store_snapshot_t *snap,
                         const proxy_policy_in_t *pin, proxy_policy_verdict_t *pv, int *rc)
{
    uint64_t flow;
    const char *ip;
    uint16_t port;
    if (edge__conn_remote(pin->conn, &flow, &ip, &port)) {
        *rc = from_client(r, snap, pin, flow, ip, pv);
        return true;
    }
    if (pin->from_side != PROXY_SIDE_INTERNAL)
        return false;
    int k = route_flow(r, pin, &flow);
    if (k == 0)
        return false;
    proxy_conn_t *c = k > 0 ? edge__flow_conn(r->ed, flow) : NULL;
    if (!c || !edge__conn_remote(c, &flow, &ip, &port)) {
        /* RFC 5626 §5.3: the registrar may try the user's other flows */
        pv->status = 430;
        snprintf(pv->warning, sizeof(pv->warning), "flow failed: %s",
                 k > 0 ? "the client's connection is gone"
                       : "the flow token is not this edge's (restarted since the registration?)");
        pv->extra[0] = 0;
        obs_logkv(OBS_LOG_INFO, C, "request for a flow that is gone", "reason", pv->warning, NULL);
        *rc = 1;
        return true;
    }
    snprintf(pv->target.host, sizeof(pv->target.host), "%s", ip);
    pv->target.port = port;
    pv->reuse = true;
    /* an initial request out on the flow is record-routed with its token
     * on the [remote] listener's entry (src/proxy/build.c), as a dialog
     * the client starts is: the far side's requests in the dialog then
     * come back to this connection */
    if (edge__flow_token(&r->key, flow, pv->rr_user, sizeof(pv->rr_user)) < 0)
        pv->rr_user[0] = 0;
    *rc = 0;
    return true;
}

void edge__remote_result(edge__remote_t *r, uint64_t cookie, int status)
{
    uint64_t id = cookie & ~EDGE__REMOTE_COOKIE;
    rcookie_t *c = &r->cookies[id % COOKIES];
    if (c->id != id)
        return; /* overwritten by a later one: too old to matter */
    c->id = 0;
    /* a 403 always counts; a 401/407 only after credentials (the first
     * challenge of every digest exchange is not a failure) */
    bool counted = status == 403 || ((status == 401 || status == 407) && c->creds);
    policy_lockout_event_t ev = {0};
    fedge_str_t user = {c->user, strlen(c->user)}, ip = {c->ip, strlen(c->ip)};
    uint64_t now = now_ms(r);
    policy_lockout_result(r->lock, user, ip, status, counted, now, &ev);
    if (status >= 200 && status < 300) {
        uint64_t sec = now / 1000;
        size_t i = sec % 60;
        if (r->reg_sec[i] != sec)
            r->reg_sec[i] = sec, r->reg_n[i] = 0;
        r->reg_n[i]++;
        obs_add(m_regs, 1);
        edge__remote_tick(r);
    }
    int64_t until_s =
        (int64_t)time(NULL) + (ev.until_ms > now ? (int64_t)((ev.until_ms - now) / 1000) : 0);
    for (int k = 0; k < 2; k++) {
        bool locked = k == 0 ? ev.user_locked : ev.addr_locked;
        if (!locked)
            continue;
        const char *subj = k == 0 ? c->user : c->ip;
        obs_logkv(OBS_LOG_WARNING, C, "locked out after failed sign-ins", "kind",
                  k == 0 ? "user" : "address", "subject", subj, "address", c->ip, NULL);
        if (r->n_writes == EDGE__LOCK_QUEUE)
            continue; /* the tracker applies it all the same; the store misses it */
        edge__lockwrite_t *w = &r->writes[r->n_writes++];
        w->kind = k == 0 ? POLICY_LOCK_USER : POLICY_LOCK_ADDRESS;
        snprintf(w->subject, sizeof(w->subject), "%s", subj);
        w->failures =
            k == 0 ? r->cf->remote.lockout_user_failures : r->cf->remote.lockout_addr_failures;
        w->until_s = until_s;
        if (k == 0)
            snprintf(w->reason, sizeof(w->reason), "from %s", c->ip);
        else
            snprintf(w->reason, sizeof(w->reason), "failed sign-ins from this address");
    }
}

size_t edge__remote_take_writes(edge__remote_t *r, edge__lockwrite_t *out, size_t cap)
{
    size_t n = r->n_writes < cap ? r->n_writes : cap;
    memcpy(out, r->writes, n * sizeof(*out));
    memmove(r->writes, r->writes + n, (r->n_writes - n) * sizeof(*out));
    r->n_writes -= n;
    return n;
}

void edge__remote_written(edge__remote_t *r, const edge__lockwrite_t *w, size_t n, size_t done)
{
    for (size_t i = 0; i < done; i++)
        policy_lockout_persisted(r->lock, w[i].kind,
                                 (fedge_str_t){w[i].subject, strlen(w[i].subject)});
    for (size_t i = done; i < n && r->n_writes < EDGE__LOCK_QUEUE; i++)
        r->writes[r->n_writes++] = w[i]; /* next time */
}

void edge__remote_sync(edge__remote_t *r, const edge__lockwrite_t *in_force, size_t n)
{
    policy_lockout_entry_t *e = fedge_calloc(n ? n : 1, sizeof(*e));
    int64_t now_s = (int64_t)time(NULL);
    uint64_t now = now_ms(r);
    for (size_t i = 0; i < n; i++) {
        e[i].kind = in_force[i].kind;
        e[i].key = in_force[i].subject;
        e[i].failures = in_force[i].failures;
        int64_t left = in_force[i].until_s - now_s;
        e[i].until_ms = now + (uint64_t)(left > 0 ? left : 0) * 1000;
    }
    policy_lockout_sync(r->lock, e, n, now);
    free(e);
}
