/* proxy.c — the RFC 3261 §16/§17 state machine of the transaction-stateful
 * proxy: requests checked, routed and forwarded (or answered), server and
 * client transaction pairs for reliable transports, CANCEL and ACK,
 * responses routed back, timers, the policy hook and fail-over. Tables and
 * timers are in txn.c, messages in build.c, targets in targets.c. */
#include "proxy/proxy_int.h"

#include "obs/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char C[] = "proxy";

/* Metrics: mirrors of the proxy's counters, refreshed on every tick (one
 * proxy per process; with several, the last one ticked wins). */
static obs_counter_t m_req = OBS_COUNTER_INIT("fedge_sip_requests_total", "SIP requests received");
static obs_counter_t m_resp =
    OBS_COUNTER_INIT("fedge_sip_responses_total", "SIP responses received");
static obs_counter_t m_fwd_req =
    OBS_COUNTER_INIT("fedge_sip_requests_forwarded_total", "SIP requests forwarded");
static obs_counter_t m_fwd_resp =
    OBS_COUNTER_INIT("fedge_sip_responses_forwarded_total", "SIP responses forwarded");
static obs_counter_t m_rej = OBS_COUNTER_INIT(
    "fedge_sip_requests_refused_total", "SIP requests answered by the edge with a status >= 300");
static obs_counter_t m_parse =
    OBS_COUNTER_INIT("fedge_sip_malformed_total", "SIP messages refused or dropped as malformed");
static obs_counter_t m_timeouts = OBS_COUNTER_INIT(
    "fedge_sip_timeouts_total", "transactions answered 408/487 for lack of a final");
static obs_counter_t m_failovers =
    OBS_COUNTER_INIT("fedge_sip_failovers_total", "internal next-hop failovers");

static void metrics_sync(const proxy_stats_t *st)
{
    m_req.value = st->requests_in;
    m_resp.value = st->responses_in;
    m_fwd_req.value = st->forwarded_requests;
    m_fwd_resp.value = st->forwarded_responses;
    m_rej.value = st->rejected;
    m_parse.value = st->parse_errors;
    m_timeouts.value = st->timeouts;
    m_failovers.value = st->failovers;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

static int send_on(proxy_t *p, proxy_conn_t *c, const char *data, size_t len)
{
    proxy_dest_t d = {.kind = PROXY_TO_CONN, .conn = c};
    return p->io.send(p->io.ctx, &d, data, len, NULL, NULL);
}

static int send_reuse(proxy_t *p, proxy_side_t side, const char *host, uint16_t port,
                      const char *data, size_t len)
{
    proxy_dest_t d = {.kind = PROXY_TO_REUSE, .side = side, .host = host, .port = port};
    return p->io.send(p->io.ctx, &d, data, len, NULL, NULL);
}

/* Tells the result hook the final status of a request whose verdict asked. */
static void report_result(proxy_t *p, proxy__txn_t *t, int status)
{
    if (status < 200 || !t->result_cookie || t->result_told || !p->result)
        return;
    t->result_told = true;
    p->result(p->result_user, t->result_cookie, status);
}

static void txn_log(proxy_t *p, obs_level_t lvl, const char *what, sip_msg_t *m, const char *remote,
                    proxy_side_t side, int status, const char *reason)
{
    (void)p;
    if (!obs_log_enabled(lvl))
        return;
    char meth[32], cid[128], st[8];
    fedge_str_t callid = {"", 0};
    if (m)
        sip_msg_call_id(m, &callid);
    snprintf(st, sizeof(st), "%d", status);
    obs_logkv(lvl, C, what, "peer", remote ? remote : "-", "side", proxy_side_name(side), "method",
              m && m->is_request ? proxy__cstr(m->method, meth, sizeof(meth)) : "-", "call_id",
              proxy__cstr(callid, cid, sizeof(cid)), "status", status ? st : "-", "reason", reason,
              NULL);
}

/* Sends a response to the upstream of t: on the connection the request came
 * in on, else on an existing connection to the Via's address. */
static int send_upstream(proxy_t *p, proxy__txn_t *t, const char *data, size_t len)
{
    if (t->in_conn) {
        if (send_on(p, t->in_conn, data, len) == 0)
            return 0;
        t->in_conn = NULL;
    }
    if (t->up_host[0] && send_reuse(p, t->in_side, t->up_host, t->up_port, data, len) == 0)
        return 0;
    obs_logkv(OBS_LOG_WARNING, C, "response dropped: upstream connection gone", "peer", t->remote,
              "side", proxy_side_name(t->in_side), NULL);
    return FEDGE_ECLOSED;
}

static void store_resp(proxy__txn_t *t, const char *data, size_t len, int status)
{
    free(t->resp);
    t->resp = fedge_malloc(len ? len : 1);
    memcpy(t->resp, data, len);
    t->resp_len = len;
    t->resp_status = status;
}

/* Answers request m on connection c without a transaction. */
static int reply_stateless(proxy_t *p, proxy_conn_t *c, sip_msg_t *m, int code, const char *phrase,
                           const char *reason, const char *more, const char *to_tag)
{
    char extra[1024];
    proxy__gen_extra(p, code, reason, more, extra, sizeof(extra));
    char tag[20];
    if (!to_tag) {
        proxy__make_tag(p, tag);
        to_tag = tag;
    }
    size_t len;
    int rc = sip_build_response(m, code, phrase, to_tag, extra, p->out, p->out_cap, &len);
    if (rc < 0)
        return rc;
    return send_on(p, c, p->out, len);
}

static void server_completed(proxy_t *p, proxy__txn_t *t, int code);

/* The To tag of the edge's own responses for t, made on first use: most
 * transactions are answered by the next hop, never by the edge. */
static const char *txn_tag(proxy_t *p, proxy__txn_t *t)
{
    if (!t->to_tag[0])
        proxy__make_tag(p, t->to_tag);
    return t->to_tag;
}

void proxy__txn_reply(proxy_t *p, proxy__txn_t *t, sip_msg_t *req, int code, const char *reason,
                      const char *more)
{
    if (!req)
        req = proxy__reparse(p, t->req, t->req_len);
    proxy__unpark(p, t);
    report_result(p, t, code);
    proxy__final(p, t, req, code, reason);
    char extra[1024];
    proxy__gen_extra(p, code, reason, more, extra, sizeof(extra));
    size_t len;
    if (req &&
        sip_build_response(req, code, NULL, txn_tag(p, t), extra, p->out, p->out_cap, &len) == 0) {
        store_resp(t, p->out, len, code);
        send_upstream(p, t, p->out, len);
    }
    if (code >= 300)
        txn_log(p, OBS_LOG_INFO, "request refused", req, t->remote, t->in_side, code,
                reason ? reason : "");
    if (t->invite && code >= 300 && p->media && !t->no_media && req) {
        /* the relay forgets a call the edge ended itself */
        proxy_media_in_t mi = {
            req, t->in_side, t->out_side, t->remote, code, 0, t->in_client || t->to_client};
        proxy_media_verdict_t mv = {0};
        (void)p->media(p->media_user, &mi, &mv);
    }
    if (code >= 200)
        server_completed(p, t, code);
}

/* t's final response (code) went upstream (RFC 3261 §17.2): an INVITE
 * answered with a non-2xx waits for the ACK (Timer H), retransmitting the
 * response over UDP (Timer G: T1 doubling up to T2); a non-INVITE over UDP
 * stays to answer retransmitted requests with it (Timer J, 64*T1); any
 * other ends now. */
static void server_completed(proxy_t *p, proxy__txn_t *t, int code)
{
    if (!(t->invite && code >= 300) && !(!t->invite && t->in_udp)) {
        proxy__txn_kill(p, t);
        return;
    }
    if (t->state == PROXY__T_PROCEEDING)
        p->pending--;
    t->state = PROXY__T_COMPLETED;
    proxy__rtx_stop(p, t);
    if (!t->invite) {
        proxy__timer_start(p, t, PROXY__TM_LINGER, 64ull * p->cfg.t1_ms);
        return;
    }
    proxy__timer_start(p, t, PROXY__TM_WAIT_ACK, 64ull * p->cfg.t1_ms);
    if (t->in_udp) {
        t->rtx_iv = p->cfg.t1_ms;
        proxy__rtx_start(p, t, t->rtx_iv);
    }
}

static int gave_up_status(const proxy__txn_t *t, int dflt)
{
    return t->cancelled_upstream ? 487 : dflt;
}

static void send_cancel(proxy_t *p, proxy__txn_t *t)
{
    size_t len;
    t->cancel_pending = false;
    t->cancel_sent = true;
    proxy__timer_start(p, t, PROXY__TM_CANCEL_GUARD, 64ull * p->cfg.t1_ms);
    if (!t->out_conn || proxy__build_cancel_ack(p, t, NULL, &len) < 0)
        return;
    send_on(p, t->out_conn, p->out, len);
    if (t->out_udp) {
        /* the CANCEL is a non-INVITE client transaction: Timer E */
        t->rtx_iv = p->cfg.t1_ms;
        proxy__rtx_start(p, t, t->rtx_iv);
    }
}

static void send_ack(proxy_t *p, proxy__txn_t *t, sip_msg_t *resp)
{
    size_t len;
    if (!t->out_conn || proxy__build_cancel_ack(p, t, resp, &len) < 0)
        return;
    send_on(p, t->out_conn, p->out, len);
}

/* ------------------------------------------------------------------ */
/* Forwarding requests                                                 */
/* ------------------------------------------------------------------ */

void proxy__forward(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, proxy__routes_t *r)
{
    proxy__started(p, t);
    size_t len = 0;
    /* p->out holds t's request as forwarded with t->branch, which went
     * nowhere yet: an attempt that could not start needs no new print */
    bool printed = false, stream = false;
    for (;;) {
        if (!m) {
            m = proxy__reparse(p, t->req, t->req_len);
            r = p->rp_retry;
            if (!m || proxy__routes_prep(&p->cfg, m, r) < 0) {
                proxy__txn_reply(p, t, m, 500, "cannot re-read the request", NULL);
                return;
            }
        }
        proxy__hop_t h;
        int status = 0;
        char why[1024];
        int k = proxy__tgt_next(p, t, m, r, &h, &status, why, sizeof(why));
        if (k == 0)
            return; /* DNS resolves: forwarded again when it is done */
        if (k < 0) {
            proxy__txn_reply(p, t, m, gave_up_status(t, status), why, NULL);
            return;
        }
        if (!printed) {
            /* a new branch for every attempt: each is its own client
             * transaction, so a late answer to an abandoned one matches
             * nothing */
            proxy__tab_del(p, PROXY__BY_BRANCH, t);
            proxy_origin_t from = {t->in_side, t->in_client};
            proxy_branch_make(m, from, p->secret, (fedge_str_t){t->skey, t->skey_len}, t->attempts,
                              t->branch, sizeof(t->branch));
            proxy__tab_add(p, PROXY__BY_BRANCH, t);
            fedge_str_t body = {t->body, t->body_len};
            const fedge_str_t *bp = t->has_body ? &body : NULL;
            const char *src = t->in_udp ? t->remote : NULL;
            bool rr = proxy__wants_record_route(m);
            stream = false;
            int brc =
                proxy__build_forward(p, m, r, t->in_side, t->out_side, t->branch, rr, t->in_client,
                                     t->to_client, t->rr_user, t->edits, bp, src, false, &len);
            if (brc == 0 && proxy__iface(p, t->out_side)->transport == PROXY_TP_UDP &&
                len > PROXY_UDP_MAX_REQUEST) {
                /* RFC 3261 §18.1.1: too large for UDP: over TCP, and the
                 * Via says so */
                stream = true;
                brc = proxy__build_forward(p, m, r, t->in_side, t->out_side, t->branch, rr,
                                           t->in_client, t->to_client, t->rr_user, t->edits, bp,
                                           src, true, &len);
            }
            if (brc < 0) {
                proxy__txn_reply(p, t, m, 513, "forwarded message too large", NULL);
                return;
            }
            printed = true;
        }
        h.d.stream = stream;
        t->out_conn = NULL;
        t->got_response = t->got_provisional = false;
        fedge_err_t e = {0};
        int rc = p->io.send(p->io.ctx, &h.d, p->out, len, &t->out_conn, &e);
        if (rc == 0) {
            t->attempts++;
            t->out_udp = p->io.is_udp && t->out_conn && p->io.is_udp(p->io.ctx, t->out_conn);
            proxy__rtx_stop(p, t);
            if (t->out_udp) {
                /* Timer A (INVITE) / Timer E (non-INVITE): T1 first */
                t->rtx_iv = p->cfg.t1_ms;
                proxy__rtx_start(p, t, t->rtx_iv);
            }
            if (t->invite || t->out_udp) {
                free(t->fwd);
                t->fwd = fedge_malloc(len);
                memcpy(t->fwd, p->out, len);
                t->fwd_len = len;
            }
            p->st.forwarded_requests++;
            if (h.more)
                proxy__timer_start(p, t, PROXY__TM_ATTEMPT, PROXY__ATTEMPT_T1 * p->cfg.t1_ms);
            else
                proxy__timer_start(p, t, PROXY__TM_NO_FINAL, 64ull * p->cfg.t1_ms);
            if (obs_log_enabled(OBS_LOG_DEBUG)) {
                char port[8];
                snprintf(port, sizeof(port), "%u", h.d.port);
                obs_logkv(OBS_LOG_DEBUG, C, "request forwarded", "peer", t->remote, "from",
                          proxy_side_name(t->in_side), "to", proxy_side_name(t->out_side),
                          "next_hop", h.name, "address", h.d.addr ? h.d.addr : "-", "port", port,
                          "branch", t->branch, NULL);
            }
            return;
        }
        t->out_conn = NULL;
        const char *w = e.msg[0] ? e.msg : fedge_strerror(rc);
        if (h.d.kind == PROXY_TO_HOST)
            obs_logkv(OBS_LOG_WARNING, C, "cannot send to next hop", "next_hop", h.name, "side",
                      proxy_side_name(t->out_side), "error", w, NULL);
        if (!proxy__tgt_fail(p, t, w)) {
            if (t->route_reuse) /* RFC 5626 §5.3: the flow is gone */
                proxy__txn_reply(p, t, m, 430, "flow failed: the client's connection is gone",
                                 NULL);
            else
                proxy__txn_reply(p, t, m, 503, "next hop unreachable", NULL);
            return;
        }
    }
}

/* The connection of t's client side failed before a final response. */
static void client_failed(proxy_t *p, proxy__txn_t *t, const char *why)
{
    if (t->dead || t->state != PROXY__T_PROCEEDING)
        return;
    obs_logkv(OBS_LOG_WARNING, C, "next hop failed", "next_hop", proxy__tgt_name(p, t), "side",
              proxy_side_name(t->out_side), "reason", why, NULL);
    if (!t->got_response && proxy__tgt_fail(p, t, why)) {
        proxy__forward(p, t, NULL, NULL);
        return;
    }
    if (t->route_reuse && !t->got_response)
        proxy__txn_reply(p, t, NULL, 430, "flow failed: the client's connection is gone", NULL);
    else
        proxy__txn_reply(p, t, NULL, gave_up_status(t, 503), "next hop unreachable", NULL);
}

/* A 2xx ACK (or any ACK without transaction): forwarded statelessly by the
 * route set; nothing is ever answered to an ACK. */
static void hold(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, uint64_t ticket,
                 const proxy_peer_t *peer, bool client, const char *key, size_t key_len);

static void forward_ack(proxy_t *p, const proxy_peer_t *peer, bool client, sip_msg_t *m,
                        const char *key, size_t key_len, const fedge_str_t *body, bool held)
{
    int mf = -1;
    sip_msg_max_forwards(m, &mf);
    proxy_origin_t from = {peer->side, client};
    if (mf == 0 || proxy_loop_detected(&p->cfg, m, from))
        return;
    proxy__routes_t *r = p->rp;
    proxy_route_t d;
    if (proxy__routes_prep(&p->cfg, m, r) < 0)
        return;
    proxy_route_in_t in = {peer->side, r->popped_side, r->next_route, r->ruri, client};
    if (proxy_route_decide(&p->cfg, &in, &d) != PROXY_ROUTE_FORWARD)
        return;
    proxy_media_verdict_t mv = {0};
    fedge_str_t mbody;
    if (p->media && !held) {
        /* an ACK may carry the answer to an offer in a 2xx (late offer) */
        /* to a client: along its flow token (a Route entry of ours with a
         * user part, src/edge/remote.c) */
        bool cl = client || (peer->side == PROXY_SIDE_INTERNAL && r->popped_user.len);
        proxy_media_in_t mi = {m, peer->side, d.to_side, peer->remote, 0, ++p->tickets, cl};
        if (p->media(p->media_user, &mi, &mv) == PROXY_MEDIA_PENDING) {
            hold(p, NULL, m, mi.ticket, peer, client, key, key_len);
            return;
        }
        if (mv.replace) {
            mbody = (fedge_str_t){mv.body ? mv.body : "", mv.body_len};
            body = &mbody;
        }
    }
    char branch[PROXY_BRANCH_LEN + 1];
    proxy_branch_make(m, from, p->secret, (fedge_str_t){key, key_len}, 0xacc, branch,
                      sizeof(branch));
    size_t len;
    if (proxy__build_forward(p, m, r, peer->side, d.to_side, branch, false, false, false, NULL,
                             NULL, body, NULL, false, &len) < 0)
        return;
    if (peer->side == PROXY_SIDE_INTERNAL && r->popped_user.len && p->policy) {
        /* along a flow token (RFC 5626 §5.3) to a remote user's client:
         * the policy hook names its connection (src/edge/remote.c, which
         * decides such requests at once), and the ACK goes only there */
        const sip_nameaddr_t *to, *fr;
        if (sip_msg_to(m, &to) < 0 || sip_msg_from(m, &fr) < 0)
            return;
        proxy_policy_in_t pin = {peer->side, d.to_side, peer,         m,    &fr->uri,
                                 &to->uri,   r->ruri,   ++p->tickets, NULL, r->popped_user};
        proxy_policy_verdict_t v;
        memset(&v, 0, sizeof(v));
        v.status = 403;
        if (p->policy(p->policy_user, &pin, &v) == 0 && v.reuse && v.target.host[0]) {
            v.target.host[sizeof(v.target.host) - 1] = 0;
            if (send_reuse(p, d.to_side, v.target.host, v.target.port, p->out, len) == 0)
                goto sent;
        }
        txn_log(p, OBS_LOG_DEBUG, "ACK dropped: the client's flow is gone", m, peer->remote,
                peer->side, 0, "-");
        return;
    }
    proxy__txn_t tmp;
    tmp.pref_port = 0;
    if (d.to_side == PROXY_SIDE_INTERNAL && r->popped_side == PROXY_SIDE_INTERNAL) {
        proxy__tgt_prefer(&tmp, r->next_route ? r->next_route : r->ruri);
        if (tmp.pref_port &&
            send_reuse(p, d.to_side, tmp.pref_host, tmp.pref_port, p->out, len) == 0)
            goto sent;
    }
    if (d.target == PROXY_TARGET_NEXT_HOPS) {
        /* the hop that took the INVITE is the one still connected */
        for (unsigned i = 0; i < p->cfg.nnext_hops; i++)
            if (send_reuse(p, d.to_side, p->cfg.next_hops[i].host, p->cfg.next_hops[i].port, p->out,
                           len) == 0)
                goto sent;
    }
    if (d.target == PROXY_TARGET_DEFAULT_ROUTE && p->cfg.dns_srv &&
        d.to_side == PROXY_SIDE_EXTERNAL) {
        /* dns-srv: over the connection to the partner named by the next
         * Route or the Request-URI (the one that carried the INVITE) */
        tmp.pref_port = 0;
        proxy__tgt_prefer(&tmp, r->next_route ? r->next_route : r->ruri);
        if (tmp.pref_port &&
            send_reuse(p, d.to_side, tmp.pref_host, tmp.pref_port, p->out, len) == 0)
            goto sent;
        txn_log(p, OBS_LOG_DEBUG, "ACK dropped: no connection to the partner", m, peer->remote,
                peer->side, 0, tmp.pref_port ? tmp.pref_host : "-");
        return;
    }
    proxy_dest_t to;
    proxy_expect_t x;
    proxy__tgt_static(p, d.target, d.to_side, &to, &x);
    if (p->io.send(p->io.ctx, &to, p->out, len, NULL, NULL) < 0)
        return;
sent:
    p->st.forwarded_requests++;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

/* What the edge's own 200 to OPTIONS says (§11.2): the methods it relays,
 * the bodies its partners use, and no extension it needs. */
static const char OPTIONS_200[] =
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, "
    "PRACK, PUBLISH\r\n"
    "Accept: application/sdp, text/plain, message/cpim, application/pidf+xml\r\n"
    "Supported:\r\n";

/* §16.2: 100 Trying at once to an INVITE, so that the upstream stops
 * worrying (once per transaction). */
static void set_body(proxy__txn_t *t, const proxy_media_verdict_t *v);

static void send_trying(proxy_t *p, proxy__txn_t *t, sip_msg_t *m)
{
    size_t len;
    if (!t->invite || t->resp)
        return;
    if (sip_build_response(m, 100, NULL, NULL, NULL, p->out, p->out_cap, &len) == 0) {
        store_resp(t, p->out, len, 100);
        send_upstream(p, t, p->out, len);
    }
}

/* A verdict's Record-Route user part: NUL-terminated within its field and
 * only RFC 3261 unreserved characters (nothing to escape in a URI). */
static bool rr_user_ok(const char *u)
{
    size_t n = strnlen(u, sizeof(((proxy_policy_verdict_t *)0)->rr_user));
    if (n == sizeof(((proxy_policy_verdict_t *)0)->rr_user))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '~'))
            return false;
    }
    return true;
}

/* The request of t goes on to d (the route decision), with the policy's
 * verdict v (NULL: none): its edits, its target, its cookie. m/r: the
 * request parsed and route-processed. */
static void admit(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, proxy__routes_t *r,
                  const proxy_route_t *d, const proxy_policy_verdict_t *v)
{
    t->out_side = d->to_side;
    t->target = d->target;
    /* a remote user's request for another domain comes back from the
     * internal server and crosses to the partner: the media relay sees
     * that second pass (internal → external), not this one */
    t->no_media = t->in_client && d->to_side == PROXY_SIDE_INTERNAL &&
                  !proxy_is_local_domain(&p->cfg, r->ruri->host);
    if (d->to_side == PROXY_SIDE_INTERNAL && r->popped_side == PROXY_SIDE_INTERNAL)
        proxy__tgt_prefer(t, r->next_route ? r->next_route : r->ruri);
    if (v && v->target.host[0]) {
        t->target = PROXY_TARGET_HOST;
        t->route = v->target;
        t->route.host[sizeof(t->route.host) - 1] = 0;
        t->route_reuse = v->reuse;
    }
    if (v && !v->target.host[0] && v->registrar && d->to_side == PROXY_SIDE_INTERNAL &&
        p->cfg.nregistrars)
        t->target = PROXY_TARGET_REGISTRAR;
    t->to_client = v && v->reuse; /* reuse: only a remote user's flow (proxy.h) */
    if (v && v->rr_user[0] && rr_user_ok(v->rr_user))
        t->rr_user = fedge_strdup(v->rr_user);
    if (v) {
        t->result_cookie = v->result_cookie;
        t->policy_srv = v->srv && d->to_side == PROXY_SIDE_EXTERNAL;
        if (v->edits.nstrip || v->edits.add[0]) {
            t->edits = proxy__edits_new(p);
            *t->edits = v->edits;
            t->edits->nstrip =
                t->edits->nstrip < PROXY_EDIT_STRIP_MAX ? t->edits->nstrip : PROXY_EDIT_STRIP_MAX;
            for (unsigned i = 0; i < PROXY_EDIT_STRIP_MAX; i++)
                t->edits->strip[i][sizeof(t->edits->strip[i]) - 1] = 0;
            t->edits->add[sizeof(t->edits->add) - 1] = 0;
        }
    }
    send_trying(p, t, m);
    if (p->media && !t->no_media) {
        t->ticket = ++p->tickets;
        proxy_media_in_t mi = {
            m, t->in_side, t->out_side, t->remote, 0, t->ticket, t->in_client || t->to_client};
        proxy_media_verdict_t mv = {0};
        int rc = p->media(p->media_user, &mi, &mv);
        if (rc == PROXY_MEDIA_PENDING) {
            t->media_parked = true;
            proxy__park(p, t);
            proxy__timer_start(p, t, PROXY__TM_MEDIA, PROXY_MEDIA_WAIT_MS);
            return;
        }
        if (rc != 0) {
            int st = mv.status >= 300 && mv.status <= 699 ? mv.status : 503;
            mv.warning[sizeof(mv.warning) - 1] = 0;
            p->st.rejected++;
            proxy__txn_reply(p, t, m, st, mv.warning[0] ? mv.warning : "media relay failed", NULL);
            return;
        }
        set_body(t, &mv);
    }
    proxy__forward(p, t, m, r);
}

/* Keeps the body the media hook gave for t's forwarded request. */
static void set_body(proxy__txn_t *t, const proxy_media_verdict_t *v)
{
    if (!v || !v->replace)
        return;
    free(t->body);
    t->body = fedge_malloc(v->body_len ? v->body_len : 1);
    if (v->body_len)
        memcpy(t->body, v->body, v->body_len);
    t->body_len = v->body_len;
    t->has_body = true;
}

/* Refuses t's request as the policy's verdict v says. */
static void deny(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, const proxy_policy_verdict_t *v)
{
    int st = v ? v->status : 403;
    if (st < 300 || st > 699)
        st = 403;
    char w[sizeof(v->warning)], extra[sizeof(v->extra)];
    snprintf(w, sizeof(w), "%.*s", v ? (int)strnlen(v->warning, sizeof(w) - 1) : 0,
             v ? v->warning : "");
    snprintf(extra, sizeof(extra), "%.*s", v ? (int)strnlen(v->extra, sizeof(extra) - 1) : 0,
             v ? v->extra : "");
    p->st.rejected++;
    proxy__txn_reply(p, t, m, st, w[0] ? w : "denied by policy", extra[0] ? extra : NULL);
}

/* Parks t until the policy's verdict (proxy_policy_resume). */
static void park(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, proxy_side_t to_side)
{
    t->out_side = to_side;
    proxy__park(p, t);
    proxy__timer_start(p, t, PROXY__TM_POLICY, PROXY_POLICY_WAIT_MS);
    send_trying(p, t, m);
}

static void new_request(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m,
                        const char *key, size_t key_len, uint64_t key_hash)
{
    if (p->st.transactions >= PROXY__MAX_TXNS) {
        p->st.rejected++;
        reply_stateless(p, c, m, 503, NULL, "edge overloaded: too many transactions",
                        "Retry-After: 5\r\n", NULL);
        return;
    }
    proxy__txn_t *t = proxy__txn_new(p, c, peer, m, key, key_len, key_hash);
    const sip_uri_t *ruri;
    sip_msg_ruri(m, &ruri);
    int mf = -1;
    sip_msg_max_forwards(m, &mf);

    /* §16.3 item 2 */
    if (ruri->scheme != SIP_URI_SIP && ruri->scheme != SIP_URI_SIPS) {
        p->st.rejected++;
        proxy__txn_reply(p, t, m, 416, "only sip and sips URIs are routed", NULL);
        return;
    }
    /* §16.3 item 3: OPTIONS with Max-Forwards 0 is answered by the edge
     * as a UAS (§11), anything else is refused */
    if (mf == 0) {
        if (m->method_id == SIP_METHOD_OPTIONS) {
            p->st.local_answers++;
            proxy__txn_reply(p, t, m, 200, NULL, OPTIONS_200);
        } else {
            p->st.rejected++;
            proxy__txn_reply(p, t, m, 483, "Max-Forwards reached 0", NULL);
        }
        return;
    }
    /* §16.3 item 4 */
    proxy_origin_t origin = {peer->side, t->in_client};
    if (proxy_loop_detected(&p->cfg, m, origin)) {
        p->st.rejected++;
        proxy__txn_reply(p, t, m, 482, "loop: the request came back to this edge unchanged", NULL);
        return;
    }
    /* §16.3 item 5: the edge supports no proxy extension */
    const sip_hdr_t *pr = sip_msg_find(m, SIP_HDR_PROXY_REQUIRE);
    if (pr) {
        char more[600];
        snprintf(more, sizeof(more), "Unsupported: %.*s\r\n",
                 (int)(pr->value.len < 500 ? pr->value.len : 500), pr->value.s);
        p->st.rejected++;
        proxy__txn_reply(p, t, m, 420,
                         "Proxy-Require names an extension this edge does not support", more);
        return;
    }
    proxy__routes_t *r = p->rp;
    int rc = proxy__routes_prep(&p->cfg, m, r);
    if (rc < 0) {
        p->st.rejected++;
        proxy__txn_reply(p, t, m, 400, fedge_strerror(rc), NULL);
        return;
    }
    proxy_route_in_t in = {peer->side, r->popped_side, r->next_route, r->ruri, t->in_client};
    proxy_route_t d;
    switch (proxy_route_decide(&p->cfg, &in, &d)) {
    case PROXY_ROUTE_LOCAL:
        p->st.local_answers++;
        if (m->method_id == SIP_METHOD_OPTIONS)
            proxy__txn_reply(p, t, m, 200, NULL, OPTIONS_200);
        else
            proxy__txn_reply(p, t, m, 405, "the edge itself only answers OPTIONS",
                             "Allow: OPTIONS\r\n");
        return;
    case PROXY_ROUTE_REJECT:
        p->st.rejected++;
        proxy__txn_reply(p, t, m, d.status, d.reason, NULL);
        return;
    case PROXY_ROUTE_FORWARD: break;
    }
    const sip_nameaddr_t *to, *from;
    sip_msg_to(m, &to);
    sip_msg_from(m, &from);
    if (p->policy && (!to->has_tag || t->in_client || r->popped_user.len)) {
        t->ticket = ++p->tickets;
        proxy_policy_in_t pin = {peer->side, d.to_side, peer,      m, &from->uri,
                                 &to->uri,   r->ruri,   t->ticket, c, r->popped_user};
        proxy_policy_verdict_t v;
        v.status = 403;
        v.extra[0] = 0;
        v.target.host[0] = 0;
        v.target.port = 0;
        v.srv = false;
        v.reuse = false;
        v.registrar = false;
        v.result_cookie = 0;
        v.rr_user[0] = 0;
        v.edits.nstrip = 0;
        v.edits.add[0] = 0;
        snprintf(v.warning, sizeof(v.warning), "denied by policy");
        int verdict = p->policy(p->policy_user, &pin, &v);
        if (verdict == PROXY_POLICY_PENDING) {
            park(p, t, m, d.to_side);
            return;
        }
        if (verdict != 0) {
            deny(p, t, m, &v);
            return;
        }
        admit(p, t, m, r, &d, &v);
        return;
    }
    admit(p, t, m, r, &d, NULL);
}

/* Answers 400 to request m that could not be parsed or checked (err):
 * the proper response when its headers allow, else a best-effort one with
 * whatever Via/From/To/Call-ID/CSeq lines were readable. The framing is
 * intact, so the connection — which between edges carries many users'
 * transactions — stays open. Returns 0 or the error of the send. */
static int reply_400(proxy_t *p, proxy_conn_t *c, sip_msg_t *m, int err)
{
    const char *why = fedge_strerror(err);
    p->st.parse_errors++;
    txn_log(p, OBS_LOG_INFO, "request refused", NULL, p->cur_remote, p->cur_side, 400, why);
    if (reply_stateless(p, c, m, 400, why, why, NULL, NULL) == 0)
        return 0;
    size_t len;
    int rc = proxy__build_400(p, m, why, &len);
    if (rc < 0)
        return rc;
    return send_on(p, c, p->out, len);
}
/* Returns 0, or the parse error of a request too broken to answer. */
static int handle_request(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m)
{
    p->st.requests_in++;
    int rc = sip_msg_check(m);
    if (rc < 0) {
        int src = reply_400(p, c, m, rc);
        return src == 0 || src == FEDGE_ECLOSED ? 0 : rc;
    }
    char key[1024];
    int kl = proxy_txn_key(m, key, sizeof(key));
    if (kl < 0) {
        p->st.rejected++;
        reply_stateless(p, c, m, 400, NULL, "transaction key too long", NULL, NULL);
        return 0;
    }
    uint64_t kh;
    proxy__txn_t *t = proxy__find_server(p, key, (size_t)kl, &kh);
    if (m->method_id == SIP_METHOD_ACK) {
        if (t && t->invite && t->state != PROXY__T_ACCEPTED) {
            /* ACK for a non-2xx final: hop by hop, it ends here (Timer I
             * is 0 on reliable transports; over UDP T4, to absorb the
             * ACK's retransmissions, RFC 3261 §17.2.1) */
            if (t->state == PROXY__T_COMPLETED && !t->in_udp) {
                proxy__txn_kill(p, t);
            } else if (t->state == PROXY__T_COMPLETED && !t->acked) {
                t->acked = true;
                proxy__rtx_stop(p, t);
                proxy__timer_start(p, t, PROXY__TM_LINGER, p->cfg.t4_ms);
            }
            return 0;
        }
        forward_ack(p, peer, p->untrusted && p->untrusted(p->untrusted_user, c), m, key, (size_t)kl,
                    NULL, false);
        return 0;
    }
    if (m->method_id == SIP_METHOD_CANCEL) {
        if (!t || !t->invite) {
            p->st.rejected++;
            txn_log(p, OBS_LOG_INFO, "request refused", m, peer->remote, peer->side, 481,
                    "CANCEL matches no INVITE transaction");
            reply_stateless(p, c, m, 481, NULL, "CANCEL matches no INVITE transaction", NULL, NULL);
            return 0;
        }
        /* §16.10: answer the CANCEL hop by hop, then cancel downstream */
        reply_stateless(p, c, m, 200, NULL, NULL, NULL, txn_tag(p, t));
        if (p->media && !t->no_media) {
            proxy_media_in_t mi = {
                m, peer->side, t->out_side, peer->remote, 0, 0, t->in_client || t->to_client};
            proxy_media_verdict_t mv = {0};
            (void)p->media(p->media_user, &mi, &mv);
        }
        if (t->parked) {
            /* nothing went downstream yet: the INVITE ends here */
            t->cancelled_upstream = true;
            proxy__txn_reply(p, t, NULL, 487, "request cancelled", NULL);
            return 0;
        }
        if (t->state == PROXY__T_PROCEEDING && !t->cancel_sent) {
            t->cancelled_upstream = true;
            if (t->got_provisional)
                send_cancel(p, t);
            else
                t->cancel_pending = true; /* §9.1: not before a provisional */
        }
        return 0;
    }
    if (t) {
        /* a retransmission: repeat the last response, if any */
        if (t->resp)
            send_upstream(p, t, t->resp, t->resp_len);
        return 0;
    }
    new_request(p, c, peer, m, key, (size_t)kl, kh);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

/* Sends response m upstream for t (§16.7): our Via popped, 503 turned
 * into 500 (item 6: a 503 from downstream must not make the upstream think
 * the edge itself is unavailable), the media hook's body when given. */
static void send_response(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, const fedge_str_t *body)
{
    sip_edit_t e[2] = {{SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)m->first[SIP_HDR_VIA], {NULL, 0}},
                       {SIP_EDIT_REPLACE_BODY, 0, body ? *body : (fedge_str_t){NULL, 0}}};
    fedge_str_t sl = FEDGE_STR_LIT("SIP/2.0 500 Server Internal Error");
    size_t len;
    if (proxy__print(p, m, m->status == 503 ? &sl : NULL, e, body ? 2 : 1, &len) < 0)
        return;
    /* kept to answer a retransmitted request; not for a final response
     * of a non-INVITE transaction on a reliable transport, which ends as
     * this response goes out (server_completed) */
    if (m->status > 100 && !(m->status >= 200 && !t->invite && !t->in_udp))
        store_resp(t, p->out, len, m->status == 503 ? 500 : m->status);
    report_result(p, t, m->status == 503 ? 500 : m->status);
    proxy__final(p, t, m, m->status == 503 ? 500 : m->status, NULL);
    if (send_upstream(p, t, p->out, len) == 0)
        p->st.forwarded_responses++;
}

/* ---- messages held for the media hook ----
 *
 * Responses (and ACKs) wait in one list, in arrival order, until the
 * media hook gives its verdict; a response that needs none but comes
 * after a held one of the same transaction waits too, so that upstream
 * sees them in order (a 183 before its 200). */
typedef struct proxy__held {
    struct proxy__held *next;
    uint64_t ticket; /* for proxy_media_resume; 0 when queued ready */
    bool ready, replace;
    proxy__txn_t *t; /* a response's transaction; NULL for an ACK */
    char *buf;       /* the message as received */
    size_t len;
    char *body; /* the hook's body when replace */
    size_t body_len;
    proxy_side_t side; /* ACK: where it came from, its key */
    bool client;
    char remote[64];
    char *key;
    size_t key_len;
} proxy__held_t;

static void held_body(proxy__held_t *h, const proxy_media_verdict_t *v)
{
    h->ready = true;
    if (!v || !v->replace)
        return;
    h->replace = true;
    h->body = fedge_malloc(v->body_len ? v->body_len : 1);
    if (v->body_len)
        memcpy(h->body, v->body, v->body_len);
    h->body_len = v->body_len;
}

static void held_free(proxy__held_t *h)
{
    free(h->buf);
    free(h->body);
    free(h->key);
    free(h);
}

static void hold(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, uint64_t ticket,
                 const proxy_peer_t *peer, bool client, const char *key, size_t key_len)
{
    proxy__held_t *h = fedge_calloc(1, sizeof(*h));
    h->ticket = ticket;
    h->t = t;
    h->buf = fedge_malloc(m->len);
    memcpy(h->buf, m->buf, m->len);
    h->len = m->len;
    if (peer) {
        h->side = peer->side;
        h->client = client;
        snprintf(h->remote, sizeof(h->remote), "%s", peer->remote ? peer->remote : "-");
        h->key = fedge_malloc(key_len ? key_len : 1);
        memcpy(h->key, key, key_len);
        h->key_len = key_len;
    }
    if (t)
        t->held++;
    *p->held_tail = h;
    p->held_tail = &h->next;
}

/* The last held message (the list is not empty). */
static proxy__held_t *held_last(proxy_t *p)
{
    proxy__held_t *h = p->held;
    while (h->next)
        h = h->next;
    return h;
}

/* True when a message of h's transaction before h still waits. */
static bool blocked(const proxy_t *p, const proxy__held_t *h)
{
    for (const proxy__held_t *x = p->held; x != h; x = x->next)
        if (!x->ready && x->t && x->t == h->t)
            return true;
    return false;
}

static void send_held(proxy_t *p, proxy__held_t *h)
{
    sip_msg_t *m = proxy__reparse(p, h->buf, h->len);
    fedge_str_t body = {h->body ? h->body : "", h->body_len};
    if (h->t) {
        if (m)
            send_response(p, h->t, m, h->replace ? &body : NULL);
        if (--h->t->held == 0 && h->t->kill_when_flushed) {
            h->t->kill_when_flushed = false;
            proxy__txn_kill(p, h->t);
        }
    } else if (m) {
        proxy_peer_t peer = {h->side, h->remote, NULL};
        forward_ack(p, &peer, h->client, m, h->key, h->key_len, h->replace ? &body : NULL, true);
    }
}

/* Sends every held message that is ready and not behind one that waits. */
static void flush(proxy_t *p)
{
    for (bool again = true; again;) {
        again = false;
        for (proxy__held_t **pp = &p->held; *pp; pp = &(*pp)->next) {
            proxy__held_t *h = *pp;
            if (!h->ready || blocked(p, h))
                continue;
            *pp = h->next;
            if (p->held_tail == &h->next)
                p->held_tail = pp;
            send_held(p, h);
            held_free(h);
            again = true;
            break;
        }
    }
}

/* Forwards response m upstream for t, through the media hook: held while
 * the hook works on it, and behind any response of t already held. */
static void forward_response(proxy_t *p, proxy__txn_t *t, sip_msg_t *m)
{
    proxy_media_verdict_t mv = {0};
    if (p->media && !t->no_media) {
        proxy_media_in_t mi = {m,
                               t->out_side,
                               t->in_side,
                               p->cur_remote,
                               0,
                               ++p->tickets,
                               t->in_client || t->to_client};
        if (p->media(p->media_user, &mi, &mv) == PROXY_MEDIA_PENDING) {
            hold(p, t, m, mi.ticket, NULL, false, NULL, 0);
            return;
        }
    }
    if (t->held) {
        hold(p, t, m, 0, NULL, false, NULL, 0);
        held_body(held_last(p), &mv);
        flush(p);
        return;
    }
    fedge_str_t body = {mv.body ? mv.body : "", mv.body_len};
    send_response(p, t, m, mv.replace ? &body : NULL);
}

/* A 2xx to INVITE that matches no transaction (a retransmission after the
 * transaction ended, or a late fork): forwarded statelessly by the next
 * Via, over an existing connection only. Other orphans are dropped. */
static void forward_orphan(proxy_t *p, const proxy_peer_t *peer, sip_msg_t *m)
{
    const sip_via_t *top;
    if (sip_msg_via(m, &top) < 0 || !proxy__via_is_ours(&p->cfg, top))
        return;
    sip_iter_t it;
    sip_iter_init(&it, m, SIP_HDR_VIA);
    fedge_str_t v;
    sip_via_t up;
    if (sip_iter_next(&it, &v, NULL) != 1 || sip_iter_next(&it, &v, NULL) != 1 ||
        sip_via_parse(v.s, v.len, &up) < 0)
        return;
    char host[PROXY_HOST_MAX];
    fedge_str_t h = up.received.len ? up.received : up.host;
    if (h.len >= 2 && h.s[0] == '[') {
        h.s++;
        h.len -= 2;
    }
    proxy__cstr(h, host, sizeof(host));
    uint16_t port = up.has_rport && up.rport             ? up.rport
                    : up.has_port                        ? up.port
                    : fedge_str_ieq(up.transport, "TLS") ? 5061
                                                         : 5060;
    sip_edit_t e = {SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)m->first[SIP_HDR_VIA], {NULL, 0}};
    size_t len;
    if (proxy__print(p, m, NULL, &e, 1, &len) < 0)
        return;
    proxy_side_t side =
        peer->side == PROXY_SIDE_EXTERNAL ? PROXY_SIDE_INTERNAL : PROXY_SIDE_EXTERNAL;
    if (send_reuse(p, side, host, port, p->out, len) == 0)
        p->st.forwarded_responses++;
}

static void handle_response(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m)
{
    p->st.responses_in++;
    if (sip_msg_check(m) < 0) {
        p->st.parse_errors++;
        return;
    }
    const sip_via_t *via;
    const sip_cseq_t *cs;
    sip_msg_via(m, &via);
    sip_msg_cseq(m, &cs);
    proxy__txn_t *t = proxy__find_client(p, via->branch);
    if (!t) {
        if (m->status >= 200 && m->status < 300 && cs->method_id == SIP_METHOD_INVITE)
            forward_orphan(p, peer, m);
        else
            txn_log(p, OBS_LOG_DEBUG, "response matches no transaction: dropped", m, peer->remote,
                    peer->side, m->status, "-");
        return;
    }
    if (peer->side != t->out_side)
        return; /* a response must come from the side its request went to */
    if (t->invite && cs->method_id == SIP_METHOD_CANCEL) {
        /* the answer to our CANCEL: hop by hop, ends here (and its
         * retransmissions over UDP) */
        if (m->status >= 200 && !t->cancel_answered) {
            t->cancel_answered = true;
            if (t->state == PROXY__T_PROCEEDING)
                proxy__rtx_stop(p, t);
        }
        return;
    }
    if (t->invite != (cs->method_id == SIP_METHOD_INVITE))
        return;
    int st = m->status;
    if (t->state != PROXY__T_PROCEEDING) {
        if (t->invite && st >= 200 && st < 300)
            forward_response(p, t, m); /* further 2xx (RFC 6026) */
        else if (t->invite && st >= 300)
            send_ack(p, t, m); /* a late non-2xx still needs its ACK */
        return;
    }
    t->got_response = true;
    if (t->out_udp && (st >= 200 || (t->invite && !t->cancel_sent)))
        proxy__rtx_stop(p, t); /* Timer A ends with any response, E with a final */
    else if (t->out_udp && !t->invite && t->rtx_iv < p->cfg.t2_ms)
        t->rtx_iv = p->cfg.t2_ms; /* §17.1.2.2: E at T2 once proceeding */
    if (st < 200) {
        if (t->timer == PROXY__TM_ATTEMPT) /* it answers: the full time is its own */
            proxy__timer_start(p, t, PROXY__TM_NO_FINAL, 64ull * p->cfg.t1_ms);
        if (t->invite) {
            t->got_provisional = true;
            if (t->cancel_pending)
                send_cancel(p, t);
            else if (!t->cancel_sent)
                proxy__timer_start(p, t, PROXY__TM_C, p->cfg.timer_c_ms);
        }
        if (st > 100)
            forward_response(p, t, m);
        return;
    }
    if (st == 503) {
        /* RFC 3263 §4.3 / the next hop: the next target, with a fresh branch */
        char was[PROXY_HOST_MAX];
        snprintf(was, sizeof(was), "%s", proxy__tgt_name(p, t));
        if (proxy__tgt_fail(p, t, "answered 503")) {
            if (t->invite)
                send_ack(p, t, m);
            obs_logkv(OBS_LOG_WARNING, C, "next hop answered 503: failing over", "next_hop", was,
                      NULL);
            proxy__forward(p, t, NULL, NULL);
            return;
        }
    }
    if (t->invite && st >= 300)
        send_ack(p, t, m); /* §17.1.1.3: the client transaction ACKs non-2xx */
    forward_response(p, t, m);
    if (t->invite && st < 300) {
        p->pending--;
        t->state = PROXY__T_ACCEPTED;
        proxy__timer_start(p, t, PROXY__TM_LINGER, 64ull * p->cfg.t1_ms);
    } else {
        server_completed(p, t, st);
    }
}

/* ------------------------------------------------------------------ */
/* Public entry points                                                 */
/* ------------------------------------------------------------------ */

int proxy_new(const proxy_cfg_t *cfg, const proxy_io_t *io, proxy_t **out, fedge_err_t *e)
{
    *out = NULL;
    if (!cfg->fqdn[0])
        return fedge_err(e, FEDGE_EINVAL, "the edge FQDN is not set");
    if (!cfg->ext.host[0] || !cfg->in.host[0])
        return fedge_err(e, FEDGE_EINVAL, "an interface has no host");
    if (cfg->ext.port == cfg->in.port &&
        proxy__host_eq((fedge_str_t){cfg->ext.host, strlen(cfg->ext.host)}, cfg->in.host))
        return fedge_err(e, FEDGE_EINVAL,
                         "the external and internal interfaces are both %s:%u: Record-Route "
                         "could not tell them apart",
                         cfg->ext.host, cfg->ext.port);
    if (!io->send)
        return fedge_err(e, FEDGE_EINVAL, "proxy I/O callbacks missing");
    proxy_t *p = fedge_calloc(1, sizeof(*p));
    p->cfg = *cfg;
    if (!p->cfg.t1_ms)
        p->cfg.t1_ms = 500;
    if (!p->cfg.timer_c_ms)
        p->cfg.timer_c_ms = 180000;
    if (!p->cfg.t2_ms)
        p->cfg.t2_ms = 4000;
    if (!p->cfg.t4_ms)
        p->cfg.t4_ms = 5000;
    if (!p->cfg.max_message_size)
        p->cfg.max_message_size = 65536;
    p->io = *io;
    p->held_tail = &p->held;
    sip_limits_default(&p->limits);
    p->limits.max_message_size = p->cfg.max_message_size;
    if (getrandom(&p->secret, sizeof(p->secret), 0) != (ssize_t)sizeof(p->secret))
        p->secret = (uint64_t)(uintptr_t)p ^ 0x9e3779b97f4a7c15ull;
    p->msg = fedge_malloc(sizeof(*p->msg));
    p->tmsg = fedge_malloc(sizeof(*p->tmsg));
    p->rp = fedge_malloc(sizeof(*p->rp));
    p->rp_retry = fedge_malloc(sizeof(*p->rp_retry));
    p->out_cap = p->cfg.max_message_size + 4096;
    p->out = fedge_malloc(p->out_cap);
    p->text_cap = 16384; /* edit lines: up to two URIs of max_uri_len, Via, RR */
    p->text = fedge_malloc(p->text_cap);
    proxy__lines_init(p);
    obs_counter_t *ms[] = {&m_req, &m_resp,  &m_fwd_req,  &m_fwd_resp,
                           &m_rej, &m_parse, &m_timeouts, &m_failovers};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(ms); i++)
        obs_counter_register(ms[i]);
    *out = p;
    return 0;
}

void proxy_free(proxy_t *p)
{
    if (!p)
        return;
    while (p->held) {
        proxy__held_t *h = p->held;
        p->held = h->next;
        held_free(h);
    }
    size_t n;
    proxy__txn_t **all = proxy__txn_list(p, &n);
    for (size_t i = 0; i < n; i++)
        proxy__txn_free(all[i]);
    free(all);
    while (p->dead) {
        proxy__txn_t *t = p->dead;
        p->dead = t->dead_next;
        proxy__txn_free(t);
    }
    for (int w = 0; w < PROXY__NTABS; w++)
        fedge_map_free(&p->tab[w]);
    proxy__skip_free(&p->skip);
    proxy__rcache_free(&p->rcache);
    free(p->heap);
    free(p->rheap);
    free(p->msg);
    free(p->tmsg);
    free(p->rp);
    free(p->rp_retry);
    free(p->out);
    free(p->text);
    proxy__pool_free(p);
    free(p);
}

void proxy_set_policy(proxy_t *p, proxy_policy_fn fn, void *user)
{
    p->policy = fn;
    p->policy_user = user;
}

void proxy_set_result(proxy_t *p, proxy_result_fn fn, void *user)
{
    p->result = fn;
    p->result_user = user;
}

void proxy_set_media(proxy_t *p, proxy_media_fn fn, void *user)
{
    p->media = fn;
    p->media_user = user;
}

int proxy_media_resume(proxy_t *p, uint64_t ticket, const proxy_media_verdict_t *v)
{
    proxy__txn_t *t = proxy__find_parked(p, ticket);
    if (t && !t->media_parked)
        return FEDGE_ENOENT;
    if (!t) {
        proxy__held_t *h = p->held;
        while (h && (h->ready || h->ticket != ticket))
            h = h->next;
        if (!h)
            return FEDGE_ENOENT;
        p->depth++;
        held_body(h, v);
        flush(p);
        p->depth--;
        proxy__reap(p);
        return 0;
    }
    p->depth++;
    proxy__unpark(p, t);
    t->media_parked = false;
    proxy__timer_stop(p, t);
    if (v && v->status) {
        int st = v->status >= 300 && v->status <= 699 ? v->status : 503;
        char w[sizeof(v->warning)];
        snprintf(w, sizeof(w), "%.*s", (int)strnlen(v->warning, sizeof(w) - 1), v->warning);
        p->st.rejected++;
        proxy__txn_reply(p, t, NULL, st, w[0] ? w : "media relay failed", NULL);
    } else {
        set_body(t, v);
        proxy__forward(p, t, NULL, NULL);
    }
    p->depth--;
    proxy__reap(p);
    return 0;
}

void proxy_set_untrusted(proxy_t *p, proxy_untrusted_fn fn, void *user)
{
    p->untrusted = fn;
    p->untrusted_user = user;
}

int proxy_policy_resume(proxy_t *p, uint64_t ticket, bool deny_it, const proxy_policy_verdict_t *v)
{
    proxy__txn_t *t = proxy__find_parked(p, ticket);
    if (!t || t->media_parked)
        return FEDGE_ENOENT;
    p->depth++;
    proxy__unpark(p, t);
    proxy__timer_stop(p, t);
    sip_msg_t *m = proxy__reparse(p, t->req, t->req_len);
    proxy__routes_t *r = p->rp_retry;
    proxy_route_t d;
    if (deny_it) {
        deny(p, t, m, v);
    } else if (!m || proxy__routes_prep(&p->cfg, m, r) < 0) {
        proxy__txn_reply(p, t, m, 500, "cannot re-read the request", NULL);
    } else {
        proxy_route_in_t in = {t->in_side, r->popped_side, r->next_route, r->ruri, t->in_client};
        if (proxy_route_decide(&p->cfg, &in, &d) == PROXY_ROUTE_FORWARD) {
            admit(p, t, m, r, &d, v);
        } else {
            p->st.rejected++;
            proxy__txn_reply(p, t, m, d.status ? d.status : 500, d.reason, NULL);
        }
    }
    p->depth--;
    proxy__reap(p);
    return 0;
}

int proxy_on_message(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, const char *buf,
                     size_t len)
{
    int ret = 0;
    p->depth++;
    sip_msg_t *m = p->msg;
    int rc = proxy__parse(p, buf, len, m);
    p->cur_remote = peer->remote;
    p->cur_side = peer->side;
    if (rc < 0) {
        /* a request whose start line was readable gets its 400 and the
         * connection stays; anything else: the caller closes it */
        if (!m->is_request || fedge_is_framing_error(rc)) {
            p->st.parse_errors++;
            ret = rc;
        } else {
            int src = reply_400(p, c, m, rc);
            if (src < 0 && src != FEDGE_ECLOSED)
                ret = rc;
        }
    } else if (m->is_request) {
        ret = handle_request(p, c, peer, m);
    } else {
        handle_response(p, c, peer, m);
    }
    p->depth--;
    proxy__reap(p);
    return ret;
}

void proxy_on_conn_closed(proxy_t *p, proxy_conn_t *c, int code)
{
    proxy_on_conn_failed(p, c, code, NULL);
}

void proxy_set_dns(proxy_t *p, dns_t *dns)
{
    if (!dns) {
        /* the resolver goes away: no look-up of ours may outlive it */
        size_t n;
        proxy__txn_t **all = proxy__txn_list(p, &n);
        for (size_t i = 0; i < n; i++)
            proxy__out_cancel(all[i]->ob);
        free(all);
        for (proxy__txn_t *x = p->dead; x; x = x->dead_next)
            proxy__out_cancel(x->ob);
    }
    p->dns = dns;
}

void proxy_on_conn_failed(proxy_t *p, proxy_conn_t *c, int code, const char *reason)
{
    p->depth++;
    size_t nall, n = 0;
    proxy__txn_t **failed = proxy__txn_list(p, &nall);
    for (size_t i = 0; i < nall; i++) {
        proxy__txn_t *x = failed[i];
        if (x->in_conn == c)
            x->in_conn = NULL;
        if (x->out_conn == c) {
            x->out_conn = NULL;
            if (x->state == PROXY__T_PROCEEDING)
                failed[n++] = x;
        }
    }
    for (size_t i = 0; i < n; i++)
        client_failed(p, failed[i],
                      reason && reason[0] ? reason
                      : code              ? fedge_strerror(code)
                                          : "connection closed");
    free(failed);
    p->depth--;
    proxy__reap(p);
}

/* A retransmission timer of t fired (UDP, RFC 3261 §17): the request or
 * CANCEL sent downstream again (Timer A doubles; Timer E doubles up to
 * T2), or the non-2xx final sent upstream again (Timer G, up to T2),
 * until a response, the ACK, or the transaction's own end timer. */
static void retransmit(proxy_t *p, proxy__txn_t *t)
{
    if (t->dead)
        return;
    size_t len = 0;
    if (t->state == PROXY__T_PROCEEDING && t->out_udp && t->out_conn) {
        if (t->cancel_sent) {
            if (t->cancel_answered || proxy__build_cancel_ack(p, t, NULL, &len) < 0)
                return;
            send_on(p, t->out_conn, p->out, len);
        } else if (t->fwd && !(t->invite && t->got_response)) {
            send_on(p, t->out_conn, t->fwd, t->fwd_len);
        } else {
            return;
        }
        bool doubling = t->invite && !t->cancel_sent; /* Timer A: no cap */
        t->rtx_iv = doubling || 2 * t->rtx_iv < p->cfg.t2_ms ? 2 * t->rtx_iv : p->cfg.t2_ms;
    } else if (t->state == PROXY__T_COMPLETED && t->invite && t->in_udp && !t->acked && t->resp &&
               t->resp_status >= 300) {
        send_upstream(p, t, t->resp, t->resp_len);
        t->rtx_iv = 2 * t->rtx_iv < p->cfg.t2_ms ? 2 * t->rtx_iv : p->cfg.t2_ms;
    } else {
        return;
    }
    proxy__rtx_start(p, t, t->rtx_iv);
}

void proxy_tick(proxy_t *p)
{
    metrics_sync(&p->st);
    p->depth++;
    uint64_t t_now = proxy__now(p);
    while (p->heap_len && p->heap[0]->deadline <= t_now) {
        proxy__txn_t *t = p->heap[0];
        proxy__tmkind_t kind = t->timer;
        proxy__timer_stop(p, t);
        switch (kind) {
        case PROXY__TM_NO_FINAL:
        case PROXY__TM_CANCEL_GUARD:
            if (t->state == PROXY__T_PROCEEDING) {
                p->st.timeouts++;
                proxy__txn_reply(p, t, NULL, gave_up_status(t, 408),
                                 "no final response from the next hop", NULL);
            }
            break;
        case PROXY__TM_C:
            if (t->state == PROXY__T_PROCEEDING)
                send_cancel(p, t);
            break;
        case PROXY__TM_ATTEMPT:
            if (t->state == PROXY__T_PROCEEDING) {
                char why[64];
                snprintf(why, sizeof(why), "no response within %u s",
                         PROXY__ATTEMPT_T1 * p->cfg.t1_ms / 1000);
                client_failed(p, t, why); /* the next target */
            }
            break;
        case PROXY__TM_POLICY:
            if (t->state == PROXY__T_PROCEEDING) {
                p->st.timeouts++;
                proxy__txn_reply(p, t, NULL, 504, "no policy decision in time", NULL);
            }
            break;
        case PROXY__TM_MEDIA:
            if (t->state == PROXY__T_PROCEEDING) {
                p->st.timeouts++;
                t->media_parked = false;
                proxy__txn_reply(p, t, NULL, 504, "no answer from the media relay in time", NULL);
            }
            break;
        case PROXY__TM_WAIT_ACK:
        case PROXY__TM_LINGER:
        case PROXY__TM_NONE: proxy__txn_kill(p, t); break;
        }
    }
    for (proxy__txn_t *t; (t = proxy__rtx_due(p, t_now));)
        retransmit(p, t);
    p->depth--;
    proxy__reap(p);
}

size_t proxy_txn_count(const proxy_t *p)
{
    return p->st.transactions;
}

void proxy_abort_pending(proxy_t *p, const char *reason)
{
    p->depth++;
    size_t nall, n = 0;
    proxy__txn_t **v = proxy__txn_list(p, &nall);
    for (size_t i = 0; i < nall; i++)
        if (v[i]->state == PROXY__T_PROCEEDING && !v[i]->dead)
            v[n++] = v[i];
    for (size_t i = 0; i < n; i++)
        proxy__txn_reply(p, v[i], NULL, 503, reason, "Retry-After: 30\r\n");
    free(v);
    p->depth--;
    proxy__reap(p);
}

size_t proxy_pending_count(const proxy_t *p)
{
    return p->pending;
}

void proxy_stats(const proxy_t *p, proxy_stats_t *s)
{
    *s = p->st;
}
