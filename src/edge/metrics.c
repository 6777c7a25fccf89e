/* metrics.c — what the edge counts for Prometheus ([metrics] listen): SIP
 * messages by side, method and status class, open connections by side, TLS
 * handshake failures by reason, next-hop failures, DNS look-ups, the store's
 * generation and errors, the XMPP gateway's streams, stanzas, refusals,
 * messages and presence subscriptions, plus a copy of the transport's and resolver's own
 * counters taken on the loop's tick (docs/proxy.md, "Metrics"). Every hook
 * runs on the loop; the values are obs atomics read by the scrape thread. */
#include "edge/edge_int.h"

#include "obs/obs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char C[] = "serve";

static obs_family_t *m_req, *m_resp, *m_open, *m_tls_fail, *m_hop_fail, *m_handshakes, *m_accepted,
    *m_refused, *m_net_timeouts, *m_bytes, *m_dns_q, *m_dns_fail, *m_dns_hits, *m_store_gen,
    *m_store_err, *m_media_calls, *m_media_relays, *m_media_up, *m_media_orphans, *m_media_orphaned,
    *m_media_reaped, *m_x_streams, *m_x_stanzas, *m_x_refused, *m_x_gw, *m_x_subs, *m_x_adopted;

static void families(void)
{
    m_req = obs_family("fedge_sip_request_messages_total",
                       "SIP requests received and sent, by side, direction and method",
                       OBS_KIND_COUNTER, "side,direction,method", NULL, 0);
    m_resp = obs_family("fedge_sip_response_messages_total",
                        "SIP responses received and sent, by side, direction and status class",
                        OBS_KIND_COUNTER, "side,direction,class", NULL, 0);
    m_open = obs_family("fedge_connections_open", "connections open and ready (TLS done), by side",
                        OBS_KIND_GAUGE, "side", NULL, 0);
    m_tls_fail = obs_family("fedge_tls_handshake_failures_total",
                            "TLS handshakes that failed, by direction and reason", OBS_KIND_COUNTER,
                            "direction,reason", NULL, 0);
    m_hop_fail = obs_family("fedge_connect_failures_total",
                            "outbound connections (next hops, partner edges) that failed before "
                            "they were ready, by side",
                            OBS_KIND_COUNTER, "side", NULL, 0);
    m_handshakes = obs_family("fedge_tls_handshakes_total", "TLS handshakes, by result",
                              OBS_KIND_COUNTER, "result", NULL, 0);
    m_accepted = obs_family("fedge_connections_accepted_total", "inbound TCP connections accepted",
                            OBS_KIND_COUNTER, "", NULL, 0);
    m_refused = obs_family(
        "fedge_connections_refused_total",
        "inbound connections refused by [limits] max_connections or max_connections_per_ip",
        OBS_KIND_COUNTER, "", NULL, 0);
    m_net_timeouts = obs_family("fedge_connection_timeouts_total",
                                "connections closed for a connect, handshake or idle timeout",
                                OBS_KIND_COUNTER, "", NULL, 0);
    m_bytes = obs_family("fedge_bytes_total", "application bytes (after TLS), by direction",
                         OBS_KIND_COUNTER, "direction", NULL, 0);
    m_dns_q = obs_family("fedge_dns_queries_total", "DNS queries sent (cache misses)",
                         OBS_KIND_COUNTER, "", NULL, 0);
    m_dns_fail = obs_family("fedge_dns_failures_total",
                            "DNS queries that failed, by reason (timeout, failure)",
                            OBS_KIND_COUNTER, "reason", NULL, 0);
    m_dns_hits = obs_family("fedge_dns_cache_hits_total", "DNS look-ups answered from the cache",
                            OBS_KIND_COUNTER, "", NULL, 0);
    m_store_gen = obs_family("fedge_store_generation",
                             "generation of the store's settings in use (bumped by every change)",
                             OBS_KIND_GAUGE, "", NULL, 0);
    m_store_err = obs_family("fedge_store_errors_total",
                             "store errors (cannot open, read or write the store)",
                             OBS_KIND_COUNTER, "", NULL, 0);
    m_media_calls = obs_family("fedge_media_calls",
                               "calls whose media the edge relays now ([media], docs/media.md)",
                               OBS_KIND_GAUGE, "", NULL, 0);
    m_media_relays = obs_family("fedge_media_relays", "rtpengine relays configured ([media])",
                                OBS_KIND_GAUGE, "", NULL, 0);
    m_media_up =
        obs_family("fedge_media_relays_up", "rtpengine relays that answered their last ng request",
                   OBS_KIND_GAUGE, "", NULL, 0);
    m_media_orphans = obs_family("fedge_media_calls_orphaned",
                                 "relayed calls whose connection closed, waiting [media] "
                                 "orphan_grace for their peer (docs/media.md)",
                                 OBS_KIND_GAUGE, "", NULL, 0);
    m_media_orphaned = obs_family("fedge_media_orphans_total",
                                  "relayed calls whose connection closed, by outcome (rescued, "
                                  "deleted, kept, ended)",
                                  OBS_KIND_COUNTER, "outcome", NULL, 0);
    m_media_reaped = obs_family("fedge_media_calls_reaped_total",
                                "calls long without signalling forgotten because their relay no "
                                "longer knew them (rtpengine timed them out)",
                                OBS_KIND_COUNTER, "", NULL, 0);
    m_x_streams = obs_family("fedge_xmpp_streams_open",
                             "XMPP server-to-server streams open now, by direction", OBS_KIND_GAUGE,
                             "direction", NULL, 0);
    m_x_stanzas = obs_family("fedge_xmpp_stanzas_total",
                             "XMPP stanzas received on authenticated streams and sent, by "
                             "direction",
                             OBS_KIND_COUNTER, "direction", NULL, 0);
    m_x_refused = obs_family("fedge_xmpp_refused_total",
                             "XMPP stanzas and gateway requests refused, by reason (policy, "
                             "partner, limits)",
                             OBS_KIND_COUNTER, "reason", NULL, 0);
    m_x_gw = obs_family("fedge_xmpp_gateway_messages_total",
                        "instant messages through the SIP <-> XMPP gateway, by direction",
                        OBS_KIND_COUNTER, "direction", NULL, 0);
    m_x_subs = obs_family("fedge_xmpp_presence_subscriptions",
                          "presence subscriptions the gateway holds, by the watcher's side",
                          OBS_KIND_GAUGE, "watcher", NULL, 0);
    m_x_adopted = obs_family("fedge_xmpp_subscriptions_adopted_total",
                             "presence subscriptions adopted from stale pool members",
                             OBS_KIND_COUNTER, "", NULL, 0);
}

static void init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, families);
}

static const char *side_name(proxy_side_t side)
{
    return side == PROXY_SIDE_EXTERNAL   ? "external"
           : side == PROXY_SIDE_INTERNAL ? "internal"
                                         : "none";
}

int edge__metrics_start(edge_t *s, fedge_err_t *e)
{
    init();
    const config_hostport_t *l = &s->cfg->metrics.listen;
    if (!l->host)
        return 0;
    fedge_err_t e1;
    int rc = admin_metrics_start(l, &s->metrics, &e1);
    if (rc < 0)
        return fedge_err(e, rc, "%s", e1.msg);
    obs_logkv(OBS_LOG_NOTICE, C, "metrics", "url", admin_metrics_url(s->metrics), NULL);
    if (!config_hostport_is_loopback(l))
        obs_logkv(OBS_LOG_WARNING, C,
                  "metrics served without authentication on a non-loopback address: restrict "
                  "who can reach it",
                  "url", admin_metrics_url(s->metrics), NULL);
    return 0;
}

void edge__metrics_stop(edge_t *s)
{
    admin_metrics_stop(s->metrics);
    s->metrics = NULL;
}

void edge__metrics_tick(edge_t *s)
{
    init();
    if (s->net) {
        net_stats_t n;
        net_stats(s->net, &n);
        obs_set(m_handshakes, (int64_t)n.handshakes_ok, "ok");
        obs_set(m_handshakes, (int64_t)n.handshakes_failed, "failed");
        obs_set(m_accepted, (int64_t)n.accepted);
        obs_set(m_refused, (int64_t)n.refused_limit);
        obs_set(m_net_timeouts, (int64_t)n.timeouts);
        obs_set(m_bytes, (int64_t)n.bytes_in, "in");
        obs_set(m_bytes, (int64_t)n.bytes_out, "out");
    }
    if (s->fed && s->fed->snap)
        obs_set(m_store_gen, (int64_t)s->fed->snap->generation);
    if (s->dns) {
        dns_stats_t d;
        dns_get_stats(s->dns, &d);
        obs_set(m_dns_q, (int64_t)d.queries);
        obs_set(m_dns_fail, (int64_t)d.timeouts, "timeout");
        obs_set(m_dns_fail, (int64_t)d.failures, "failure");
        obs_set(m_dns_hits, (int64_t)d.cache_hits);
    }
    size_t calls, relays, up;
    edge__media_figures(s->media, &calls, &relays, &up);
    obs_set(m_media_calls, (int64_t)calls);
    obs_set(m_media_relays, (int64_t)relays);
    obs_set(m_media_up, (int64_t)up);
    media_calls_stats_t ms;
    edge__media_stats(s->media, &ms);
    obs_set(m_media_orphans, (int64_t)ms.orphans);
    obs_set(m_media_orphaned, (int64_t)ms.rescued, "rescued");
    obs_set(m_media_orphaned, (int64_t)ms.orphans_deleted, "deleted");
    obs_set(m_media_orphaned, (int64_t)ms.orphans_kept, "kept");
    obs_set(m_media_orphaned, (int64_t)ms.orphans_ended, "ended");
    obs_set(m_media_reaped, (int64_t)ms.reaped);
    edge__xmpp_figures_t xf;
    edge__xmpp_figures(s->xmpp, &xf);
    obs_set(m_x_streams, (int64_t)xf.streams_in, "inbound");
    obs_set(m_x_streams, (int64_t)xf.streams_out, "outbound");
    obs_set(m_x_stanzas, (int64_t)xf.stanzas_in, "in");
    obs_set(m_x_stanzas, (int64_t)xf.stanzas_out, "out");
    obs_set(m_x_refused, (int64_t)xf.refused_policy, "policy");
    obs_set(m_x_refused, (int64_t)xf.refused_partner, "partner");
    obs_set(m_x_refused, (int64_t)xf.refused_limit, "limits");
    obs_set(m_x_gw, (int64_t)xf.sip_to_xmpp, "sip_to_xmpp");
    obs_set(m_x_gw, (int64_t)xf.xmpp_to_sip, "xmpp_to_sip");
    obs_set(m_x_subs, (int64_t)xf.subs_sip, "sip");
    obs_set(m_x_subs, (int64_t)xf.subs_xmpp, "xmpp");
    obs_set(m_x_adopted, (int64_t)xf.adopted);
}

/* ---- SIP messages: the start line only ---- */

/* Series by [side][direction][method or class], looked up once: this runs
 * for every message. Atomic pointers: edges in one process may run on
 * several loops (tests). */
static _Atomic(obs_series_t *) req_series[3][2][SIP_METHOD_COUNT], resp_series[3][2][7];

void edge__metrics_msg(proxy_side_t side, bool sent, const char *buf, size_t len)
{
    init();
    while (len && (*buf == '\r' || *buf == '\n')) { /* keep-alive CRLFs */
        buf++;
        len--;
    }
    if (len < 12)
        return;
    unsigned sd = side == PROXY_SIDE_EXTERNAL ? 1 : side == PROXY_SIDE_INTERNAL ? 2 : 0;
    const char *dir = sent ? "sent" : "received";
    _Atomic(obs_series_t *) *slot;
    obs_series_t *s;
    if (!memcmp(buf, "SIP/2.0 ", 8)) {
        unsigned k = buf[8] >= '1' && buf[8] <= '6' ? (unsigned)(buf[8] - '0') : 0;
        slot = &resp_series[sd][sent][k];
        if (!(s = atomic_load_explicit(slot, memory_order_relaxed))) {
            char cls[4] = {buf[8], 'x', 'x', 0};
            s = obs_series(m_resp, side_name(side), dir, k ? cls : "bad");
            atomic_store_explicit(slot, s, memory_order_relaxed);
        }
        obs_series_add(s, 1);
        return;
    }
    sip_method_t k = sip_start_method(buf, len);
    slot = &req_series[sd][sent][k];
    if (!(s = atomic_load_explicit(slot, memory_order_relaxed))) {
        const char *name = sip_method_name(k);
        s = obs_series(m_req, side_name(side), dir, name ? name : "other");
        atomic_store_explicit(slot, s, memory_order_relaxed);
    }
    obs_series_add(s, 1);
}

void edge__metrics_ready(proxy_side_t side, bool *counted)
{
    init();
    if (*counted)
        return;
    *counted = true;
    obs_add(m_open, 1, side_name(side));
}

void edge__metrics_closed(edge_t *s, proxy_side_t side, net_conn_t *nc, bool counted,
                          const char *reason)
{
    init();
    if (counted) {
        obs_add(m_open, -1, side_name(side));
        return;
    }
    if (net_conn_is_inbound(nc))
        return; /* a refused or failed inbound connection: counted by net and the log hook */
    obs_add(m_hop_fail, 1, side_name(side));
    if (s->stats) {
        char t[300];
        snprintf(t, sizeof(t), "%s %s unreachable: %s",
                 side == PROXY_SIDE_INTERNAL ? "next hop" : "partner edge", net_conn_target(nc),
                 reason ? reason : "connection failed");
        admin_stats_error(s->stats, t);
    }
}

/* ---- TLS handshake failures, from the transport's log lines ---- */

/* The bounded reason of net__tls_reason's text (src/net/tls.c). */
static const char *tls_reason(const char *why)
{
    static const struct {
        const char *needle, *reason;
    } map[] = {
        {"certificate has expired", "certificate_expired"},
        {"certificate is not yet valid", "certificate_not_yet_valid"},
        {"unable to get local issuer", "certificate_untrusted"},
        {"self-signed certificate", "certificate_untrusted"},
        {"self signed certificate", "certificate_untrusted"},
        {"certificate verify failed", "certificate_invalid"},
        {"peer did not return a certificate", "no_client_certificate"},
        {"alert", "peer_alert"},
        {"unsupported protocol", "protocol_version"},
        {"wrong version number", "protocol_version"},
        {"version too low", "protocol_version"},
        {"no shared cipher", "no_shared_cipher"},
        {"http request", "not_tls"},
        {"packet length too long", "not_tls"},
        {"unexpected end of stream", "closed"},
        {"unexpected eof", "closed"},
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(map); i++)
        if (strcasestr(why, map[i].needle))
            return map[i].reason;
    return "other";
}

/* A failed handshake: counted, and for the reasons an administrator can act
 * on (a partner's certificate expired or not trusted) put in the recent
 * errors, at most once per reason every 10 s so that a peer failing on
 * purpose cannot push the other errors out. */
static void tls_failed(edge_t *s, const char *direction, const char *why, const char *who)
{
    static uint64_t last_ms[16];
    static const char *const actionable[] = {"certificate_expired", "certificate_not_yet_valid",
                                             "certificate_untrusted", "certificate_invalid",
                                             "no_client_certificate"};
    const char *reason = strstr(why, "timeout") ? "timeout" : tls_reason(why);
    obs_add(m_tls_fail, 1, direction, reason);
    if (!s || !s->stats)
        return;
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(actionable); i++) {
        if (strcmp(reason, actionable[i]))
            continue;
        uint64_t now = uv_now(s->loop);
        if (last_ms[i] && now - last_ms[i] < 10000)
            return;
        last_ms[i] = now;
        char t[400];
        snprintf(t, sizeof(t), "TLS handshake failed (%s, %s): %s", direction, who ? who : "?",
                 why);
        admin_stats_error(s->stats, t);
    }
}

void edge__metrics_net_log(edge_t *s, net_conn_t *c, const char *msg)
{
    init();
    const char *dir = c && net_conn_is_inbound(c) ? "inbound" : "outbound";
    const char *why = strstr(msg, "TLS handshake failed: ");
    if (why)
        tls_failed(s, dir, why + 22, c ? net_conn_remote(c) : NULL);
    else if (strstr(msg, "TLS handshake timeout"))
        tls_failed(s, dir, "timeout", c ? net_conn_remote(c) : NULL);
}

void edge__metrics_net_event(edge_t *s, const char *kind, const char *reason, const char *ip)
{
    init();
    if (!strcmp(kind, "handshake failed"))
        tls_failed(s, "inbound", reason ? reason : "", ip);
}

/* ---- the store ---- */

void edge__metrics_store_error(void)
{
    init();
    obs_add(m_store_err, 1);
}
