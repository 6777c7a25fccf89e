/* targets.c — where a forwarded request goes, one attempt after another:
 * the existing connection of an in-dialog request (preferred hop), the
 * configured next hops in order, the policy's host, the default route, or
 * the candidates DNS finds for them (outbound.c). proxy__tgt_next gives the
 * next destination; proxy__tgt_fail records why the current one failed and
 * says whether another may be tried — the one fail-over decision. */
#include "proxy/proxy_int.h"

#include "obs/obs.h"

#include <stdio.h>
#include <string.h>

static const char C[] = "proxy";

/* What the certificate of host on side must name when a connection is
 * opened to it by name: the name (RFC 5922 §7.3); nothing over TCP or for
 * an IP literal. Returns x, or NULL. */
static const proxy_expect_t *expect_name(proxy_t *p, proxy_side_t side, const char *host,
                                         proxy_expect_t *x)
{
    if (proxy__iface(p, side)->transport != PROXY_TP_TLS || fedge_host_is_ip(host))
        return NULL;
    x->mode = PROXY_EXPECT_NAME;
    x->domain[0] = 0;
    snprintf(x->host, sizeof(x->host), "%s", host);
    return x;
}

void proxy__tgt_prefer(proxy__txn_t *t, const sip_uri_t *u)
{
    if (!u->host.len || (u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS))
        return;
    proxy__unbracket(u->host, t->pref_host, sizeof(t->pref_host));
    bool tls = u->scheme == SIP_URI_SIPS || fedge_str_ieq(u->transport, "tls");
    t->pref_port = u->has_port ? u->port : tls ? 5061 : 5060;
}

static const proxy_hostport_t *dest_of(proxy_t *p, proxy_target_t target, unsigned hop)
{
    if (target == PROXY_TARGET_NEXT_HOPS)
        return &p->cfg.next_hops[hop];
    if (target == PROXY_TARGET_REGISTRAR)
        return &p->cfg.registrars[hop];
    return &p->cfg.default_route;
}

/* How many hops a list target has (next hops, registrars); 0 otherwise. */
static unsigned hops_of(const proxy_t *p, proxy_target_t target)
{
    return target == PROXY_TARGET_NEXT_HOPS   ? p->cfg.nnext_hops
           : target == PROXY_TARGET_REGISTRAR ? p->cfg.nregistrars
                                              : 0;
}

/* Where t's request goes now: the policy's target, or dest_of. */
static const proxy_hostport_t *txn_dest(proxy_t *p, const proxy__txn_t *t)
{
    return t->target == PROXY_TARGET_HOST ? &t->route : dest_of(p, t->target, t->hop);
}

void proxy__tgt_static(proxy_t *p, proxy_target_t target, proxy_side_t side, proxy_dest_t *d,
                       proxy_expect_t *x)
{
    const proxy_hostport_t *hp = dest_of(p, target, 0);
    *d = (proxy_dest_t){
        PROXY_TO_HOST, side, NULL, hp->host, NULL, hp->port, expect_name(p, side, hp->host, x),
        false};
}

const char *proxy__tgt_name(proxy_t *p, const proxy__txn_t *t)
{
    if (t->on_pref)
        return t->pref_host;
    if (t->ob && t->ob->cur)
        return t->ob->cur->host;
    return txn_dest(p, t)->host;
}

/* Resolution of t's targets (outbound.c) ended: go on with them. */
static void out_resolved(void *arg)
{
    proxy__txn_t *t = arg;
    proxy_t *p = t->owner;
    p->depth++;
    proxy__rcache_put(&p->rcache, t->ob, proxy__now(p));
    if (!t->dead && t->state == PROXY__T_PROCEEDING) {
        if (t->cancelled_upstream && !t->out_conn) /* CANCEL came first */
            proxy__txn_reply(p, t, NULL, 487, "request cancelled", NULL);
        else
            proxy__forward(p, t, NULL, NULL);
    }
    p->depth--;
    proxy__reap(p);
}

/* Whether DNS finds t's targets (outbound.c): a next hop named without a
 * port, a policy host by name on the external side, or with dns-srv
 * routing a request that would take the default route — then to the SRV
 * targets of the Request-URI's domain, or to the host of the next Route
 * (RFC 3263: a port or a Route names one server). Sets t->ob and returns
 * 1; 0: send to d as it is; -1: no target at all (why). */
static int out_setup(proxy_t *p, proxy__txn_t *t, const proxy__routes_t *r,
                     const proxy_hostport_t *d, char *why, size_t cap)
{
    if (t->ob)
        return 1;
    bool tls = proxy__iface(p, t->out_side)->transport == PROXY_TP_TLS;
    if (t->target == PROXY_TARGET_NEXT_HOPS || t->target == PROXY_TARGET_REGISTRAR) {
        if (d->port || fedge_host_is_ip(d->host))
            return 0;
        t->ob = proxy__out_new(PROXY__OUT_HOP, tls, d->host, NULL, 0, NULL);
    } else if (t->target == PROXY_TARGET_HOST && t->out_side == PROXY_SIDE_EXTERNAL &&
               !t->route_reuse && !fedge_host_is_ip(d->host)) {
        /* the policy named the partner's server (allowed partner server,
         * provider, a default route by name): its addresses by A/AAAA, its
         * certificate must name it */
        t->ob =
            proxy__out_new(PROXY__OUT_FQDN, tls, d->host, d->host, d->port ? d->port : 5061, NULL);
    } else if (t->target == PROXY_TARGET_DEFAULT_ROUTE && (p->cfg.dns_srv || t->policy_srv) &&
               t->out_side == PROXY_SIDE_EXTERNAL) {
        const sip_uri_t *u = r->next_route ? r->next_route : r->ruri;
        char host[PROXY_HOST_MAX];
        proxy__unbracket(u->host, host, sizeof(host));
        for (char *c = host; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        if (!host[0]) {
            snprintf(why, cap, "no usable edge: the target has no host");
            return -1;
        }
        /* an IP address (a partner's Contact or Route) names no domain:
         * only a connection that exists to it is used (EXPECT_EXISTING) */
        if (r->next_route || u->has_port || fedge_host_is_ip(host))
            t->ob = proxy__out_new(PROXY__OUT_FQDN, tls, host, host, u->has_port ? u->port : 5061,
                                   NULL);
        else
            t->ob = proxy__out_new(PROXY__OUT_SRV, tls, host, NULL, 0, NULL);
    } else {
        return 0;
    }
    return 1;
}

int proxy__tgt_next(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, const proxy__routes_t *r,
                    proxy__hop_t *h, int *status, char *why, size_t cap)
{
    (void)m;
    memset(h, 0, sizeof(*h));
    if (t->pref_port && !t->pref_tried) {
        /* in-dialog: the connection that exists to the remote target */
        t->pref_tried = t->on_pref = true;
        h->d = (proxy_dest_t){PROXY_TO_REUSE, t->out_side,  NULL, t->pref_host,
                              NULL,           t->pref_port, NULL, false};
        h->name = t->pref_host;
        return 1;
    }
    t->on_pref = false;
    for (;;) {
        const proxy_hostport_t *d = txn_dest(p, t);
        int use_ob = out_setup(p, t, r, d, why, cap);
        if (use_ob < 0) {
            p->st.rejected++;
            *status = 504;
            return -1;
        }
        if (!use_ob) {
            bool flow = t->target == PROXY_TARGET_HOST && t->route_reuse;
            h->d = (proxy_dest_t){flow ? PROXY_TO_REUSE : PROXY_TO_HOST,
                                  t->out_side,
                                  NULL,
                                  d->host,
                                  NULL,
                                  d->port,
                                  expect_name(p, t->out_side, d->host, &h->x),
                                  false};
            h->name = d->host;
            return 1;
        }
        proxy__out_t *ob = t->ob;
        if (ob->state == 0)
            proxy__rcache_get(&p->rcache, ob, proxy__now(p));
        if (ob->state == 0 && proxy__out_resolve(ob, p->dns, out_resolved, t) == 0) {
            if (t->timer != PROXY__TM_NO_FINAL)
                proxy__timer_start(p, t, PROXY__TM_NO_FINAL, 64ull * p->cfg.t1_ms);
            return 0; /* out_resolved goes on */
        }
        if (ob->state == 1)
            return 0;
        const proxy__cand_t *c = proxy__out_next(ob, &p->skip, proxy__now(p));
        if (!c) {
            if (t->hop + 1 < hops_of(p, t->target)) {
                proxy__out_free(ob);
                t->ob = NULL;
                t->hop++;
                p->st.failovers++;
                continue;
            }
            proxy__out_warning(ob, why, cap);
            obs_logkv(OBS_LOG_WARNING, C, "no usable target", "peer", t->remote, "reason", why,
                      NULL);
            /* a partner learns nothing of the inside (names, addresses) */
            if (t->in_side == PROXY_SIDE_EXTERNAL && t->out_side == PROXY_SIDE_INTERNAL)
                snprintf(why, cap, "no internal server available");
            *status = 504;
            return -1;
        }
        h->d = (proxy_dest_t){PROXY_TO_CANDIDATE, t->out_side, NULL, c->host, c->addr, c->port,
                              &ob->expect,        false};
        /* a server that accepts but never answers must not eat the whole
         * transaction time while other targets are left */
        h->more = ob->next < ob->ncands;
        h->name = c->host;
        return 1;
    }
}

bool proxy__tgt_fail(proxy_t *p, proxy__txn_t *t, const char *why)
{
    if (t->cancelled_upstream)
        return false;
    if (t->on_pref) {
        t->on_pref = false; /* now the regular targets, from the first */
        return true;
    }
    if (t->ob) {
        /* the next DNS target; when none is left, the next tells why */
        proxy__out_fail(t->ob, &p->skip, proxy__now(p), p->cfg.failed_target_skip_ms, why);
        p->st.failovers++;
        return true;
    }
    if (t->hop + 1 < hops_of(p, t->target)) {
        t->hop++;
        p->st.failovers++;
        return true;
    }
    return false;
}
