/* pool.c — this edge as a member of a pool (docs/pools.md): every
 * STORE_MEMBER_BEAT_S its store feed records the member in the shared
 * store (names, addresses, version, start, open connections, requests per
 * second, its certificate's names), so that `fedge pool status`, the
 * panel's Pool page and `fedge plan` see every member and which ones went
 * quiet. The figures are read here on the loop; the write happens on the
 * feed's worker thread (feed.c, job_work), never on the loop. */
#include "edge/edge_int.h"

#include "obs/obs.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct edge__pool {
    uint64_t last_ms;       /* loop time of the last record, 0 before the first */
    uint64_t last_requests; /* proxy's requests_in then */
    int64_t started_s;
    char cert_names[STORE_MEMBER_TEXT_MAX];
    bool cert_ok;
    char err[256]; /* the last failure logged, "" when recording works */
};

/* Appends "a,b" style text to out (size n), cutting at n. */
static void append(char *out, size_t n, const char *item)
{
    size_t len = strlen(out);
    if (len + 1 >= n)
        return;
    snprintf(out + len, n - len, "%s%s", len ? "," : "", item);
}

/* The listeners of one side with the ports actually bound (port 0 in the
 * configuration is any free port: only the first listener's is known). */
static void addresses(const config_hostport_list_t *l, uint16_t bound, char *out, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i < l->count; i++) {
        config_hostport_t hp = l->items[i];
        if (hp.port == 0)
            hp.port = bound;
        char a[128];
        config_hostport_format(&hp, a, sizeof(a));
        append(out, n, a);
    }
}

/* The names of the external certificate, read once: the member says
 * whether partners reaching it by the pool's name will accept it, judged
 * by net's own rules (net_cert_names, as partners judge fedge). */
static void read_cert(edge__pool_t *p, const config_t *cf)
{
    net_peer_t *id = NULL;
    fedge_err_t e;
    if (!cf->external.certificate || net_peer_load(cf->external.certificate, &id, &e) < 0) {
        snprintf(p->cert_names, sizeof(p->cert_names), "(unreadable)");
        return;
    }
    for (size_t i = 0; i < id->n_dns; i++)
        append(p->cert_names, sizeof(p->cert_names), id->dns[i]);
    if (!id->n_dns && id->cn)
        append(p->cert_names, sizeof(p->cert_names), id->cn);
    p->cert_ok = net_cert_names(id, cf->edge.pool_fqdn);
    net_peer_free(id);
}

bool edge__pool_due(edge__fed_t *f, store_member_t *m)
{
    const config_t *cf = f->cf;
    if (!cf->edge.pool_fqdn || !f->edge)
        return false;
    edge_t *ed = f->edge;
    uint64_t now = uv_now(f->loop);
    if (!f->pool) {
        f->pool = fedge_calloc(1, sizeof(*f->pool));
        f->pool->started_s = (int64_t)time(NULL);
        read_cert(f->pool, cf);
    }
    edge__pool_t *p = f->pool;
    if (p->last_ms && now - p->last_ms < STORE_MEMBER_BEAT_S * 1000u)
        return false;
    proxy_stats_t ps;
    proxy_stats(ed->proxy, &ps);
    net_stats_t ns;
    net_stats(ed->net, &ns);
    memset(m, 0, sizeof(*m));
    snprintf(m->fqdn, sizeof(m->fqdn), "%s", cf->edge.fqdn);
    snprintf(m->pool, sizeof(m->pool), "%s", cf->edge.pool_fqdn);
    addresses(&cf->external.listen, ed->ext_port, m->addresses, sizeof(m->addresses));
    addresses(&cf->internal.listen, ed->int_port, m->internal, sizeof(m->internal));
    snprintf(m->version, sizeof(m->version), "%s", FEDGE_VERSION);
    m->started_s = p->started_s;
    m->seen_s = (int64_t)time(NULL);
    m->connections = ns.open;
    if (p->last_ms && now > p->last_ms && ps.requests_in >= p->last_requests)
        m->rps = (ps.requests_in - p->last_requests) * 1000u / (now - p->last_ms);
    snprintf(m->cert_names, sizeof(m->cert_names), "%s", p->cert_names);
    m->cert_ok = p->cert_ok;
    p->last_ms = now;
    p->last_requests = ps.requests_in;
    return true;
}

void edge__pool_done(edge__fed_t *f, const char *msg)
{
    edge__pool_t *p = f->pool;
    if (!p)
        return;
    if (!msg) {
        if (p->err[0])
            obs_logkv(OBS_LOG_NOTICE, "pool", "member recorded again", "member", f->cf->edge.fqdn,
                      NULL);
        p->err[0] = 0;
        return;
    }
    if (!strcmp(p->err, msg))
        return; /* said already */
    snprintf(p->err, sizeof(p->err), "%s", msg);
    obs_logkv(OBS_LOG_WARNING, "pool", "cannot record this member in the store", "member",
              f->cf->edge.fqdn, "reason", msg, NULL);
}

void edge__pool_free(edge__pool_t *p)
{
    free(p);
}
