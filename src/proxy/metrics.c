/* metrics.c — what the proxy tells about one transaction when its final
 * status goes upstream: the forwarding latency histogram (from the moment
 * the edge starts forwarding the request, target look-ups included, to the
 * final response relayed) and, with [log] access = on, one access log line
 * (docs/configuration.md, "Access log"). */
#include "proxy/proxy_int.h"

#include "obs/obs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static obs_family_t *m_fwd;

static void families(void)
{
    /* seconds: a MESSAGE answered by a server next door takes milliseconds,
     * an INVITE answered by a person up to Timer C (minutes) */
    static const double b[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    m_fwd = obs_family("fedge_sip_forward_duration_seconds",
                       "time from forwarding a request to relaying its final response, by the "
                       "side it was forwarded to and method",
                       OBS_KIND_HISTOGRAM, "side,method", b, FEDGE_ARRAY_LEN(b));
}

void proxy_set_access_log(proxy_t *p, bool on)
{
    p->access_log = on;
}

void proxy__started(proxy_t *p, proxy__txn_t *t)
{
    if (!t->fwd_ms)
        t->fwd_ms = proxy__now(p) + 1; /* + 1: 0 means "not forwarded" */
}

static const char *method_label(sip_method_t m)
{
    const char *name = sip_method_name(m);
    return name ? name : "other";
}

/* Histogram series by [side][method], found once (a proxy per loop; several
 * loops may share them in tests: atomic pointers). */
static _Atomic(obs_series_t *) fwd_series[3][SIP_METHOD_COUNT];

static const char *host_of(sip_msg_t *m, bool from, char *buf, size_t n)
{
    const sip_nameaddr_t *na = NULL;
    int rc = !m ? -1 : from ? sip_msg_from(m, &na) : sip_msg_to(m, &na);
    if (rc < 0 || !na || !na->uri.host.len)
        return "-";
    snprintf(buf, n, "%.*s", (int)na->uri.host.len, na->uri.host.s);
    return buf;
}

void proxy__final(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, int status, const char *reason)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (status < 200 || t->final_told)
        return;
    t->final_told = true;
    pthread_once(&once, families);
    sip_method_t k = sip_start_method(t->req, t->req_len);
    uint64_t now = proxy__now(p);
    if (t->fwd_ms && t->out_side) {
        unsigned sd = t->out_side == PROXY_SIDE_EXTERNAL ? 1 : 2;
        obs_series_t *se = atomic_load_explicit(&fwd_series[sd][k], memory_order_relaxed);
        if (!se) {
            se = obs_series(m_fwd, proxy_side_name(t->out_side), method_label(k));
            atomic_store_explicit(&fwd_series[sd][k], se, memory_order_relaxed);
        }
        obs_series_observe(se, (double)(now + 1 - t->fwd_ms) / 1000.0);
    }
    if (!p->access_log || !obs_log_enabled(OBS_LOG_INFO))
        return;
    char from[256], to[256], st[16], diag[16] = "-", ms[24];
    const char *f = host_of(m, true, from, sizeof(from));
    const char *d = host_of(m, false, to, sizeof(to));
    /* the partner: the external side's domain (From when it came from
     * there, To when it goes there) */
    const char *partner = t->in_side == PROXY_SIDE_EXTERNAL    ? f
                          : t->out_side == PROXY_SIDE_EXTERNAL ? d
                                                               : "-";
    /* an edge refusal's Warning starts with the diagnostic ID (policy.h) */
    if (reason && reason[0] >= '1' && reason[0] <= '9') {
        size_t nd = strspn(reason, "0123456789");
        if (nd >= 4 && nd < sizeof(diag) && reason[nd] == ' ')
            snprintf(diag, sizeof(diag), "%.*s", (int)nd, reason);
    }
    snprintf(st, sizeof(st), "%d", status);
    snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(now - t->started_ms));
    obs_logkv(OBS_LOG_INFO, "access", "transaction", "method", method_label(k), "from", f, "to", d,
              "partner", partner, "status", st, "diagnostic", diag, "duration_ms", ms, "in",
              proxy_side_name(t->in_side), "out", t->out_side ? proxy_side_name(t->out_side) : "-",
              "peer", t->remote, NULL);
}
