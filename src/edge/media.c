/* media.c — the edge's relay of calls' media: the proxy's media hook
 * driven by the media room's relay (rtpengine over ng, src/media), the
 * answers it gives back to the proxy, and the reaping of idle calls. */
#include "edge/edge_int.h"
#include "media/media.h"
#include "obs/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REAP_EVERY_MS 60000u

/* One message waiting for the relay: the proxy's ticket. */
typedef struct wait {
    struct wait *prev, *next;
    edge__media_t *m;
    uint64_t ticket;
} wait_t;

struct edge__media {
    uv_loop_t *loop;
    media_relay_t *relay;
    proxy_t *proxy;
    size_t max_calls; /* [media] max_calls */
    wait_t waits;     /* sentinel */
    uint64_t last_reap;
    edge__remote_t *remote; /* borrowed; NULL without [remote] */
};

static media_side_t side_of(proxy_side_t s)
{
    return s == PROXY_SIDE_EXTERNAL ? MEDIA_SIDE_EXTERNAL : MEDIA_SIDE_INTERNAL;
}

/* The IP of "ip:port" or "[v6]:port" into buf. */
static const char *ip_of(const char *remote, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!remote)
        return NULL;
    const char *s = remote, *e;
    if (*s == '[') {
        s++;
        e = strchr(s, ']');
    } else {
        e = strrchr(s, ':');
    }
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || n >= cap)
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static void unlink_wait(wait_t *w)
{
    w->prev->next = w->next;
    w->next->prev = w->prev;
}

static void relayed(void *arg, const media_out_t *out)
{
    wait_t *w = arg;
    edge__media_t *m = w->m;
    uint64_t ticket = w->ticket;
    unlink_wait(w);
    free(w);
    proxy_media_verdict_t v = {0};
    if (out->kind == MEDIA_OUT_REPLACE) {
        v.replace = true;
        v.body = out->body;
        v.body_len = out->body_len;
    } else if (out->kind == MEDIA_OUT_REFUSE) {
        v.status = out->status;
        snprintf(v.warning, sizeof(v.warning), "%.*s", (int)sizeof(v.warning) - 1, out->warning);
    }
    (void)proxy_media_resume(m->proxy, ticket, &v); /* ENOENT: cancelled or timed out */
}

static int hook(void *user, const proxy_media_in_t *in, proxy_media_verdict_t *v)
{
    edge__media_t *m = user;
    char ip[64];
    media_in_t mi;
    if (media_in_from_sip(in->msg, side_of(in->from_side), ip_of(in->remote, ip, sizeof(ip)), &mi) <
        0)
        return 0;
    if (in->remote)
        mi.msg.remote = (fedge_str_t){in->remote, strlen(in->remote)};
    mi.msg.client = in->client;
    /* A remote client's call to a partner, on its second crossing (from
     * the internal server): the edge's own flow-token Record-Route entry
     * of the first crossing says so. Only read when it creates the call. */
    mi.msg.outside = m->remote && in->from_side == PROXY_SIDE_INTERNAL &&
                     mi.msg.method == SIP_METHOD_INVITE && mi.msg.request && !mi.msg.to_tag &&
                     !in->local_status && edge__remote_outside_call(m->remote, in->msg);
    if (in->local_status) {
        /* the edge ended the first INVITE itself (408, 487, 503...): its
         * call ends, or only its fork on a client's crossing */
        if (!mi.msg.to_tag && mi.msg.method == SIP_METHOD_INVITE)
            media_relay_end_msg(m->relay, &mi.msg, in->local_status);
        return 0;
    }
    /* A new call beyond [media] max_calls is refused before the relay is
     * asked; calls already held go on (their re-INVITEs carry a To tag),
     * and so does a partner's call the internal server forks on to a
     * remote client (a fork of a call already held). */
    if (mi.msg.method == SIP_METHOD_INVITE && !mi.msg.status && !mi.msg.to_tag &&
        !(in->client && media_relay_has_call(m->relay, mi.msg.call_id)) &&
        media_relay_calls(m->relay) >= m->max_calls) {
        v->status = 503;
        snprintf(v->warning, sizeof(v->warning),
                 "media relay full: this edge relays at most %zu calls at once ([media] "
                 "max_calls)",
                 m->max_calls);
        obs_logkv(OBS_LOG_WARNING, "media", "call refused: [media] max_calls reached", NULL);
        return 1;
    }
    wait_t *w = fedge_calloc(1, sizeof(*w));
    w->m = m;
    w->ticket = in->ticket;
    media_out_t now;
    if (media_relay_process(m->relay, &mi, relayed, w, NULL, &now) == 1) {
        w->next = m->waits.next;
        w->prev = &m->waits;
        m->waits.next->prev = w;
        m->waits.next = w;
        return PROXY_MEDIA_PENDING;
    }
    free(w);
    if (now.kind == MEDIA_OUT_REFUSE) {
        v->status = now.status;
        snprintf(v->warning, sizeof(v->warning), "%.*s", (int)sizeof(v->warning) - 1, now.warning);
        return 1;
    }
    return 0;
}

int edge__media_new(uv_loop_t *loop, const config_t *cf, proxy_t *p, edge__media_t **out,
                    fedge_err_t *e)
{
    media_relay_addr_t relays[MEDIA_MAX_RELAYS];
    size_t n = cf->media.rtpengine.count;
    if (n > MEDIA_MAX_RELAYS)
        return fedge_err(e, FEDGE_ECONFIG, "[media] rtpengine: %zu relays; at most %d", n,
                         MEDIA_MAX_RELAYS);
    for (size_t i = 0; i < n; i++)
        relays[i] = (media_relay_addr_t){cf->media.rtpengine.items[i].host,
                                         cf->media.rtpengine.items[i].port};
    media_relay_opts_t o = {
        .ng = {.relays = relays, .relay_count = n, .timeout_ms = cf->media.timeout_ms},
        .interface = {cf->media.internal_interface, cf->media.external_interface},
        .forward_on_failure = cf->media.on_relay_failure == CONFIG_MEDIA_FORWARD,
        .orphan_grace_ms = cf->media.orphan_grace_ms,
        .transport = {[MEDIA_SIDE_INTERNAL] = (media_transport_t)cf->media.internal_transport,
                      [MEDIA_SIDE_EXTERNAL] = (media_transport_t)cf->media.external_transport},
    };
    edge__media_t *m = fedge_calloc(1, sizeof(*m));
    int rc = media_relay_new(loop, &o, &m->relay, e);
    if (rc < 0) {
        free(m);
        return rc;
    }
    m->loop = loop;
    m->proxy = p;
    m->max_calls = cf->media.max_calls ? cf->media.max_calls : CONFIG_DEFAULT_MEDIA_MAX_CALLS;
    m->waits.next = m->waits.prev = &m->waits;
    m->last_reap = uv_now(loop);
    proxy_set_media(p, hook, m);
    *out = m;
    return 0;
}

void edge__media_set_remote(edge__media_t *m, edge__remote_t *r)
{
    if (m)
        m->remote = r;
}

void edge__media_figures(const edge__media_t *m, size_t *calls, size_t *relays, size_t *up)
{
    *calls = *relays = *up = 0;
    if (!m)
        return;
    media_client_t *c = media_relay_client(m->relay);
    *calls = media_relay_calls(m->relay);
    *relays = media_relay_count(c);
    for (size_t i = 0; i < *relays; i++)
        *up += media_relay_up(c, i);
}

void edge__media_conn_closed(edge__media_t *m, proxy_side_t side, const char *remote)
{
    if (!m)
        return;
    size_t n = media_relay_conn_closed(m->relay, side_of(side), remote);
    if (n) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", n);
        obs_logkv(OBS_LOG_INFO, "media",
                  "connection closed: its calls wait [media] orphan_grace for their peer", "peer",
                  remote, "side", proxy_side_name(side), "calls", num, NULL);
    }
}

void edge__media_stats(const edge__media_t *m, media_calls_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (m)
        media_relay_stats(m->relay, out);
}

media_relay_t *edge__media_relay(const edge__media_t *m, size_t *max_calls)
{
    *max_calls = m->max_calls;
    return m->relay;
}

void edge__media_tick(edge__media_t *m)
{
    if (!m)
        return;
    media_relay_run_checks(m->relay);
    if (uv_now(m->loop) - m->last_reap < REAP_EVERY_MS)
        return;
    m->last_reap = uv_now(m->loop);
    size_t reaped = media_relay_reap(m->relay);
    if (reaped) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", reaped);
        obs_logkv(OBS_LOG_INFO, "media", "idle calls deleted at the relay", "calls", num, NULL);
    }
}

void edge__media_free(edge__media_t *m)
{
    if (!m)
        return;
    proxy_set_media(m->proxy, NULL, NULL);
    media_relay_close(m->relay); /* jobs go without calling back */
    while (m->waits.next != &m->waits) {
        wait_t *w = m->waits.next;
        unlink_wait(w);
        free(w);
    }
    free(m);
}
