/* edge.c — the edge's life cycle: builds the TLS contexts, the transport,
 * the resolver, the proxy (its proxy_cfg_t from config_t), the federation
 * driver and the admin server from a configuration; the proxy's tick; TLS
 * reload; drain and shutdown in a fixed order. */
#include "edge/edge_int.h"

#include "obs/notify.h"
#include "obs/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_GRACE_MS 5000 /* longest wait for open transactions at stop */

static const char C[] = "serve";

/* ------------------------------------------------------------------ */
/* Loop: tick and stop                                                 */
/* ------------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Stops at once, in this order: the parked and open transactions are
 * answered while the transports still exist; the proxy forgets the
 * resolver before the federation driver cancels its look-ups and the
 * resolver goes; then the connections and the tick. */
static void shutdown_now(edge_t *s)
{
    if (s->shut)
        return;
    char n[24];
    snprintf(n, sizeof(n), "%zu", proxy_pending_count(s->proxy));
    proxy_abort_pending(s->proxy, "edge shutting down");
    s->shut = true;
    proxy_set_dns(s->proxy, NULL);
    edge__xmpp_free(s->xmpp); /* before the resolver and the transport it uses */
    s->xmpp = NULL;
    edge__media_set_remote(s->media, NULL); /* the remote driver goes with fed */
    edge__fed_free(s->fed);                 /* after the abort: parked requests are answered */
    s->fed = NULL;
    edge__media_free(s->media);
    s->media = NULL;
    dns_free(s->dns);
    s->dns = NULL;
    obs_logkv(OBS_LOG_NOTICE, C, "stopped", "abandoned_transactions", n, NULL);
    net_destroy(s->net);
    s->net = NULL;
    for (size_t i = 0; i < s->nudp; i++)
        net_udp_close(s->udp[i]);
    s->nudp = 0;
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    uv_close((uv_handle_t *)&s->cert_timer, on_handle_closed);
}

static void on_tick(uv_timer_t *t)
{
    edge_t *s = t->data;
    proxy_tick(s->proxy);
    edge__media_tick(s->media);
    edge__media_panel_tick(s->media_panel, s->media, uv_now(s->loop));
    edge__metrics_tick(s);
    if (s->fed && s->fed->remote)
        edge__remote_tick(s->fed->remote);
    obs_summary_tick(s->refused, (int64_t)uv_now(s->loop));
    obs_summary_tick(s->hs_failed, (int64_t)uv_now(s->loop));
    obs_summary_tick(s->shed, (int64_t)uv_now(s->loop));
    if (s->stopping && (proxy_pending_count(s->proxy) == 0 || uv_now(s->loop) >= s->stop_deadline))
        shutdown_now(s);
}

void edge_drain(edge_t *s)
{
    if (s->shut)
        return;
    if (s->stopping) {
        shutdown_now(s); /* asked twice: stop at once */
        return;
    }
    s->stopping = true;
    obs_notify_stopping(NULL);
    s->stop_deadline = uv_now(s->loop) + STOP_GRACE_MS;
    edge__xmpp_stop_accepting(s->xmpp); /* before net frees every listener */
    net_stop_accepting(s->net);
}

bool edge_draining(const edge_t *s)
{
    return s->stopping;
}

/* The name the external certificate must carry: the pool's FQDN on a pool
 * member (partners reach the pool by it), else the edge's. */
static const char *cert_name(const config_t *cf)
{
    return cf->edge.pool_fqdn ? cf->edge.pool_fqdn : cf->edge.fqdn;
}

/* A certificate expiring soon: a warning in the log and on the Status
 * page (its recent errors). */
static void cert_warn(edge_t *s, const char *warn, const char *when)
{
    obs_logkv(OBS_LOG_WARNING, C, "certificate expires soon", "when", when, "reason", warn, NULL);
    if (s->stats)
        admin_stats_error(s->stats, warn);
}

/* The daily re-check: a certificate that stopped being usable while the
 * edge runs cannot be refused any more, so it is shouted about. */
static void on_cert_timer(uv_timer_t *t)
{
    edge_t *s = t->data;
    char warn[768];
    fedge_err_t e1;
    if (edge__cert_judge(s->cfg->external.certificate, cert_name(s->cfg), time(NULL), warn,
                         sizeof warn, &e1) < 0) {
        obs_logkv(OBS_LOG_ERROR, C, "certificate no longer usable", "side", "external", "reason",
                  e1.msg, NULL);
        admin_stats_error(s->stats, e1.msg);
    } else if (warn[0])
        cert_warn(s, warn, "daily check");
}

int edge_reload_tls(edge_t *s, fedge_err_t *e)
{
    fedge_err_t e1;
    int rc = 0;
    char warn[768] = "";
    /* judged before loading: a refused certificate leaves the old one */
    if (edge__cert_judge(s->cfg->external.certificate, cert_name(s->cfg), time(NULL), warn,
                         sizeof warn, &e1) < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "[external] %s", e1.msg);
        obs_logkv(OBS_LOG_ERROR, C, "certificate reload failed: keeping the old ones", "side",
                  "external", "reason", e1.msg, NULL);
        if (s->stats)
            admin_stats_error(s->stats, e1.msg);
    } else if (net_tls_reload(s->ext_tls, &e1) < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "[external] %s", e1.msg);
        obs_logkv(OBS_LOG_ERROR, C, "certificate reload failed: keeping the old ones", "side",
                  "external", "reason", e1.msg, NULL);
    }
    if (s->remote_tls && net_tls_reload(s->remote_tls, &e1) < 0) {
        if (!rc)
            rc = fedge_err(e, FEDGE_ECONFIG, "[remote] %s", e1.msg);
        obs_logkv(OBS_LOG_ERROR, C, "certificate reload failed: keeping the old ones", "side",
                  "remote", "reason", e1.msg, NULL);
    }
    if (s->int_tls && net_tls_reload(s->int_tls, &e1) < 0) {
        if (!rc)
            rc = fedge_err(e, FEDGE_ECONFIG, "[internal] %s", e1.msg);
        obs_logkv(OBS_LOG_ERROR, C, "certificate reload failed: keeping the old ones", "side",
                  "internal", "reason", e1.msg, NULL);
    }
    if (edge__xmpp_reload_tls(s->xmpp, &e1) < 0) {
        if (!rc)
            rc = fedge_err(e, FEDGE_ECONFIG, "[xmpp] %s", e1.msg);
        obs_logkv(OBS_LOG_ERROR, C, "certificate reload failed: keeping the old ones", "side",
                  "xmpp", "reason", e1.msg, NULL);
    }
    if (!rc)
        obs_logkv(OBS_LOG_NOTICE, C, "certificates reloaded", NULL);
    if (!rc && warn[0])
        cert_warn(s, warn, "reload");
    return rc;
}

/* Refusals and failed inbound handshakes, what a peer causes at will:
 * summarised (obs_summary_t), so that a flood cannot flood the log. */
static void on_net_event(void *user, const char *kind, const char *reason, const char *ip)
{
    edge_t *s = user;
    int64_t now = (int64_t)uv_now(s->loop);
    edge__metrics_net_event(s, kind, reason, ip);
    if (!strcmp(kind, "handshake failed"))
        obs_summary_add(s->hs_failed, now, reason, ip);
    else if (!strcmp(kind, "shed"))
        obs_summary_add(s->shed, now, reason, ip);
    else
        obs_summary_add(s->refused, now, reason, ip);
}

static void on_net_log(void *user, int level, net_conn_t *c, const char *msg)
{
    edge_t *s = user;
    edge__metrics_net_log(s, c, msg);
    if (level >= NET_LOG_WARN && s && s->stats)
        admin_stats_error(s->stats, msg);
    obs_level_t l = level == NET_LOG_DEBUG  ? OBS_LOG_DEBUG
                    : level == NET_LOG_INFO ? OBS_LOG_INFO
                    : level == NET_LOG_WARN ? OBS_LOG_WARNING
                                            : OBS_LOG_ERROR;
    obs_log(l, "net", "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static bool is_wildcard(const char *h)
{
    return !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

static void copy_host(char *dst, const char *src)
{
    snprintf(dst, PROXY_HOST_MAX, "%s", src);
}

static int listen_side(edge_t *s, const config_hostport_list_t *l, net_tls_t *tls,
                       proxy_side_t side, uint16_t *first_port, fedge_err_t *e)
{
    for (size_t i = 0; i < l->count; i++) {
        char hp[PROXY_HOST_MAX + 16];
        fedge_hostport_format(hp, sizeof(hp), l->items[i].host, l->items[i].port);
        net_listen_opts_t o = {.host_port = hp,
                               .tls = tls,
                               .tag = EDGE__SIDE_TAG(side),
                               .user = s,
                               .cbs = edge__conn_cbs};
        /* admission: each side its own budget, the external one with places
         * kept for known peers (docs/proxy.md, Admission) */
        bool ext = side == PROXY_SIDE_EXTERNAL;
        o.max_connections =
            ext ? s->cfg->limits.max_connections : s->cfg->limits.max_connections_internal;
        o.reserved_known = ext ? s->cfg->limits.reserved_for_known : 0;
        net_listener_t *ls;
        int rc = net_listen(s->net, &o, &ls, e);
        if (rc < 0)
            return rc;
        uint16_t port = net_listener_port(ls);
        if (i == 0)
            *first_port = port;
        char ps[8];
        snprintf(ps, sizeof(ps), "%u", port);
        obs_logkv(OBS_LOG_NOTICE, C, "listening", "side", proxy_side_name(side), "address",
                  l->items[i].host, "port", ps, "transport", tls ? "tls" : "tcp", NULL);
    }
    return 0;
}

/* [internal] transport = udp: a UDP socket on each internal listen
 * address, on the port its TCP listener has (RFC 3261 §18: a server on
 * UDP takes TCP on the same port, for requests too large for UDP). */
static int listen_udp(edge_t *s, fedge_err_t *e)
{
    const config_hostport_list_t *l = &s->cfg->internal.listen;
    for (size_t i = 0; i < l->count && s->nudp < EDGE__MAX_UDP; i++) {
        uint16_t port = i == 0 ? s->int_port : l->items[i].port;
        int rc = net_udp_open(s->loop, l->items[i].host, port, 65535, edge__udp_recv, s,
                              &s->udp[s->nudp], e);
        if (rc < 0)
            return rc;
        s->udp_v6[s->nudp] = strchr(l->items[i].host, ':') != NULL;
        char ps[8];
        snprintf(ps, sizeof(ps), "%u", net_udp_port(s->udp[s->nudp]));
        s->nudp++;
        obs_logkv(OBS_LOG_NOTICE, C, "listening", "side", "internal", "address", l->items[i].host,
                  "port", ps, "transport", "udp", NULL);
    }
    return 0;
}

/* The [remote] listener: TLS with the [external] certificate and no
 * client certificate asked for (clients sign in to the registrar with
 * SIP digest); its connections carry EDGE__REMOTE_TAG (transport.c) and
 * have a budget of their own. */
static int listen_remote(edge_t *s, fedge_err_t *e)
{
    const config_hostport_list_t *l = &s->cfg->remote.listen;
    for (size_t i = 0; i < l->count; i++) {
        char hp[PROXY_HOST_MAX + 16];
        fedge_hostport_format(hp, sizeof(hp), l->items[i].host, l->items[i].port);
        net_listen_opts_t o = {.host_port = hp,
                               .tls = s->remote_tls,
                               .tag = EDGE__REMOTE_TAG,
                               .user = s,
                               .cbs = edge__conn_cbs,
                               .max_connections = s->cfg->limits.max_connections};
        net_listener_t *ls;
        int rc = net_listen(s->net, &o, &ls, e);
        if (rc < 0)
            return rc;
        uint16_t port = net_listener_port(ls);
        if (i == 0)
            s->remote_port = port;
        char ps[8];
        snprintf(ps, sizeof(ps), "%u", port);
        obs_logkv(OBS_LOG_NOTICE, C, "listening", "side", "remote", "address", l->items[i].host,
                  "port", ps, "transport", "tls", NULL);
    }
    return 0;
}

static void proxy_cfg_from(const config_t *cf, uint16_t ext_port, uint16_t int_port,
                           proxy_cfg_t *pc)
{
    proxy_cfg_init(pc);
    copy_host(pc->fqdn, cf->edge.fqdn);
    for (size_t i = 0; i < cf->edge.sip_domain_count && i < PROXY_MAX_DOMAINS; i++)
        copy_host(pc->domains[pc->ndomains++], cf->edge.sip_domains[i]);

    pc->ext.transport = PROXY_TP_TLS;
    /* A pool member's Record-Route and Via name the pool, so that any
     * member takes an in-dialog request from its Route set alone (and
     * recognises the entry as its own: proxy_uri_side matches the
     * interface host, the FQDN and the names); the member's own FQDN stays
     * recognised (pc->fqdn) for dialogs recorded before (docs/pools.md). */
    copy_host(pc->ext.host, cf->edge.pool_fqdn ? cf->edge.pool_fqdn : cf->edge.fqdn);
    pc->ext.port = ext_port;
    for (size_t i = 0; i < cf->external.listen.count && pc->ext.nnames < PROXY_MAX_NAMES; i++)
        if (!is_wildcard(cf->external.listen.items[i].host))
            copy_host(pc->ext.names[pc->ext.nnames++], cf->external.listen.items[i].host);

    pc->in.transport = cf->internal.transport == CONFIG_TRANSPORT_TCP   ? PROXY_TP_TCP
                       : cf->internal.transport == CONFIG_TRANSPORT_UDP ? PROXY_TP_UDP
                                                                        : PROXY_TP_TLS;
    /* what internal servers use to reach us: the first specific listen
     * address, else the FQDN */
    copy_host(pc->in.host, cf->edge.fqdn);
    for (size_t i = 0; i < cf->internal.listen.count; i++)
        if (!is_wildcard(cf->internal.listen.items[i].host)) {
            copy_host(pc->in.host, cf->internal.listen.items[i].host);
            break;
        }
    /* towards internal servers the pool has its own name ([internal]
     * pool_name): with it a dialog's internal Route entry names every
     * member, not this member's address */
    if (cf->internal.pool_name)
        copy_host(pc->in.host, cf->internal.pool_name);
    pc->in.port = int_port;
    for (size_t i = 0; i < cf->internal.listen.count && pc->in.nnames < PROXY_MAX_NAMES; i++)
        if (!is_wildcard(cf->internal.listen.items[i].host))
            copy_host(pc->in.names[pc->in.nnames++], cf->internal.listen.items[i].host);

    for (size_t i = 0; i < cf->internal.next_hop.count && i < PROXY_MAX_HOPS; i++) {
        copy_host(pc->next_hops[i].host, cf->internal.next_hop.items[i].host);
        pc->next_hops[i].port = cf->internal.next_hop.items[i].port;
        /* a name without a port: SRV, then A/AAAA (src/proxy/outbound.c) */
        if (!pc->next_hops[i].port && cf->internal.next_hop.items[i].kind != CONFIG_HOST_NAME)
            pc->next_hops[i].port = pc->in.transport == PROXY_TP_TLS ? 5061 : 5060;
        pc->nnext_hops++;
    }
    /* [remote] registrar: the same rules as next_hop */
    for (size_t i = 0; i < cf->remote.registrar.count && i < PROXY_MAX_HOPS; i++) {
        copy_host(pc->registrars[i].host, cf->remote.registrar.items[i].host);
        pc->registrars[i].port = cf->remote.registrar.items[i].port;
        if (!pc->registrars[i].port && cf->remote.registrar.items[i].kind != CONFIG_HOST_NAME)
            pc->registrars[i].port = pc->in.transport == PROXY_TP_TLS ? 5061 : 5060;
        pc->nregistrars++;
    }
    if (cf->federation.default_route.host) {
        copy_host(pc->default_route.host, cf->federation.default_route.host);
        pc->default_route.port = cf->federation.default_route.port;
    }
    pc->max_message_size = cf->limits.max_message_size;
    pc->dns_srv = cf->federation.routing == CONFIG_ROUTING_DNS_SRV;
    pc->failed_target_skip_ms = cf->federation.failed_target_skip_ms;
}

/* Releases what edge_new built so far, after a failure. Handles already
 * closing finish when the caller runs the loop. */
static void undo(edge_t *s)
{
    edge__xmpp_free(s->xmpp);
    if (s->fed)
        edge__fed_free(s->fed);
    edge__media_free(s->media);
    if (s->proxy)
        proxy_set_dns(s->proxy, NULL);
    dns_free(s->dns);
    if (s->net)
        net_destroy(s->net);
    for (size_t i = 0; i < s->nudp; i++)
        net_udp_close(s->udp[i]);
    edge__metrics_stop(s);
    admin_stop(s->admin);
    admin_stats_free(s->stats);
    edge__media_panel_free(s->media_panel);
    proxy_free(s->proxy);
    edge__udp_free(s);
    if (s->ext_tls)
        net_tls_free(s->ext_tls);
    if (s->int_tls)
        net_tls_free(s->int_tls);
    if (s->remote_tls)
        net_tls_free(s->remote_tls);
    edge__transport_free(s);
    free(s);
}

static int make_dns(edge_t *s, fedge_err_t *e)
{
    const config_t *cf = s->cfg;
    dns_opts_t o;
    dns_opts_default(&o);
    char servers[1024] = "";
    size_t sl = 0;
    for (size_t i = 0; i < cf->dns.servers.count && sl < sizeof(servers) - 100; i++) {
        char hp[300];
        config_hostport_format(&cf->dns.servers.items[i], hp, sizeof(hp));
        sl += (size_t)snprintf(servers + sl, sizeof(servers) - sl, "%s%s", i ? "," : "", hp);
    }
    o.servers = servers[0] ? servers : NULL;
    if (cf->dns.timeout_ms)
        o.timeout_ms = cf->dns.timeout_ms;
    if (cf->dns.tries)
        o.tries = cf->dns.tries;
    return dns_new(s->loop, &o, &s->dns, e);
}

int edge_new(uv_loop_t *loop, const config_t *cf, edge_t **out, fedge_err_t *e)
{
    *out = NULL;
    edge_t *s = fedge_calloc(1, sizeof(*s));
    fedge_err_t e1;
    int rc;
    s->loop = loop;
    s->cfg = cf;
    s->max_msg = cf->limits.max_message_size;

    net_tls_opts_t eo = {cf->external.certificate,
                         cf->external.private_key,
                         cf->external.ca_file,
                         cf->external.ca_path,
                         cf->external.require_client_certificate,
                         config_tls_version_name(cf->external.tls_min_version),
                         cf->external.crl_file,
                         cf->external.crl_path};
    if (net_tls_new(&eo, &s->ext_tls, &e1) < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "[external] %s", e1.msg);
        goto fail;
    }
    /* what check-config refuses, serve refuses (partners would refuse it) */
    char warn[768];
    if (edge__cert_judge(cf->external.certificate, cert_name(cf), time(NULL), warn, sizeof warn,
                         &e1) < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "[external] %s", e1.msg);
        goto fail;
    }
    if (cf->remote.listen.count) {
        net_tls_opts_t ro = eo;
        ro.require_client_certificate = false;
        ro.crl_file = ro.crl_path = NULL; /* the CRLs are for partners' certificates */
        if (net_tls_new(&ro, &s->remote_tls, &e1) < 0) {
            rc = fedge_err(e, FEDGE_ECONFIG, "[remote] %s", e1.msg);
            goto fail;
        }
        s->remote_max_per_ip = cf->remote.max_connections_per_ip;
    }
    if (cf->internal.transport == CONFIG_TRANSPORT_TLS) {
        net_tls_opts_t io = {cf->internal.certificate,
                             cf->internal.private_key,
                             cf->internal.ca_file,
                             NULL,
                             false,
                             NULL,
                             NULL,
                             NULL};
        if (net_tls_new(&io, &s->int_tls, &e1) < 0) {
            rc = fedge_err(e, FEDGE_ECONFIG, "[internal] %s", e1.msg);
            goto fail;
        }
    }
    net_opts_t no = {.max_connections = cf->limits.max_connections,
                     .max_connections_per_ip = cf->limits.max_connections_per_ip,
                     .handshake_timeout_ms = cf->limits.handshake_timeout_ms,
                     .idle_timeout_ms = cf->limits.idle_timeout_ms,
                     .max_queued_bytes = cf->limits.max_queued_bytes,
                     .max_outbound = cf->limits.max_connections_outbound,
                     .max_handshakes = cf->limits.max_handshakes,
                     .handshake_rate = cf->limits.handshake_rate,
                     .log = on_net_log,
                     .log_event = on_net_event,
                     .log_user = s};
    s->msg_timeout_ms = cf->limits.message_timeout_ms;
    s->refused = obs_summary_new(OBS_LOG_WARNING, "net", "connection refused", "refused",
                                 "connections", 10000, 3);
    s->shed = obs_summary_new(OBS_LOG_INFO, "net", "connection dropped for another", "dropped",
                              "connections", 10000, 3);
    s->hs_failed = obs_summary_new(OBS_LOG_INFO, "net", "TLS handshake failed", "failed",
                                   "handshakes", 10000, 3);
    if ((rc = net_new(loop, &no, &s->net, e)) < 0) {
        if (rc == FEDGE_ECONFIG)
            rc = FEDGE_EINVAL;
        goto fail;
    }
    if ((rc = listen_side(s, &cf->external.listen, s->ext_tls, PROXY_SIDE_EXTERNAL, &s->ext_port,
                          e)) < 0 ||
        (rc = listen_side(s, &cf->internal.listen, s->int_tls, PROXY_SIDE_INTERNAL, &s->int_port,
                          e)) < 0 ||
        (rc = listen_remote(s, e)) < 0) {
        if (rc == FEDGE_ECONFIG)
            rc = FEDGE_EINVAL;
        goto fail;
    }
    if (cf->internal.transport == CONFIG_TRANSPORT_UDP && (rc = listen_udp(s, e)) < 0)
        goto fail;
    proxy_cfg_t *pc = fedge_malloc(sizeof(*pc));
    proxy_cfg_from(cf, s->ext_port, s->int_port, pc);
    if (cf->remote.listen.count) {
        /* what remote clients reach: the first specific [remote] address,
         * else the FQDN (their Record-Route entry, proxy_cfg_t.client) */
        copy_host(pc->client.host, cf->edge.fqdn);
        for (size_t i = 0; i < cf->remote.listen.count; i++)
            if (!is_wildcard(cf->remote.listen.items[i].host)) {
                copy_host(pc->client.host, cf->remote.listen.items[i].host);
                break;
            }
        pc->client.port = s->remote_port;
    }
    /* the Path of a remote client's REGISTER names this member's own
     * internal interface, never a pool's name: the client's flow is a
     * connection to this member alone (RFC 5626 §5.2) */
    char path_host[PROXY_HOST_MAX];
    copy_host(path_host, cf->edge.fqdn);
    for (size_t i = 0; i < cf->internal.listen.count; i++)
        if (!is_wildcard(cf->internal.listen.items[i].host)) {
            copy_host(path_host, cf->internal.listen.items[i].host);
            break;
        }
    proxy_io_t pio;
    edge__proxy_io(s, &pio);
    rc = proxy_new(pc, &pio, &s->proxy, &e1);
    free(pc);
    if (rc < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "%s", e1.msg);
        goto fail;
    }
    proxy_set_access_log(s->proxy, cf->log.access);
    /* the admin server, in its own thread, reporting live figures */
    s->stats = admin_stats_new();
    edge__media_panel_families();
    if (cf->media.rtpengine.count)
        s->media_panel = edge__media_panel_new(uv_now(loop));
    if (warn[0])
        cert_warn(s, warn, "start");
    admin_opts_t ao = {.store_path = cf->edge.store,
                       .listen = &cf->admin.listen,
                       .certificate = cf->admin.certificate,
                       .private_key = cf->admin.private_key,
                       .edge_fqdn = cf->edge.fqdn,
                       .status_cb = admin_stats_report,
                       .status_ctx = s->stats,
                       .sip_domains = cf->edge.sip_domains,
                       .n_sip_domains = cf->edge.sip_domain_count,
                       .media_cb = s->media_panel ? edge__media_panel_report : NULL,
                       .media_ctx = s->media_panel};
    if ((rc = admin_start(&ao, &s->admin, &e1)) < 0) {
        rc = fedge_err(e, rc == FEDGE_ECONFIG ? FEDGE_EINVAL : rc, "admin server: %s", e1.msg);
        s->admin = NULL;
        goto fail;
    }
    obs_logkv(OBS_LOG_NOTICE, C, "admin panel", "url", admin_url(s->admin), NULL);
    edge__remote_metrics_init();
    if ((rc = edge__metrics_start(s, e)) < 0)
        goto fail;
    /* the resolver: the federation driver's DNS verification, dns-srv
     * routing and next hops by name */
    if ((rc = make_dns(s, &e1)) < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "[dns] %s", e1.msg);
        s->dns = NULL;
        goto fail;
    }
    /* the federation policy on every new request, from the live store */
    if ((rc = edge__fed_new(loop, cf, s->stats, s->dns, &s->fed, &e1)) < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "[dns] %s", e1.msg);
        s->fed = NULL;
        goto fail;
    }
    if (cf->remote.listen.count &&
        (rc = edge__remote_new(s, cf, path_host, s->int_port, &s->fed->remote, &e1)) < 0) {
        rc = fedge_err(e, rc, "[remote] %s", e1.msg);
        goto fail;
    }
    edge__fed_attach(s->fed, s->proxy);
    s->fed->edge = s; /* a pool member records its figures (pool.c) */
    if (cf->remote.listen.count)
        proxy_set_untrusted(s->proxy, edge__conn_untrusted, s);
    proxy_set_dns(s->proxy, s->dns);
    /* calls' SDP through the media relay, when [media] says so */
    if (cf->media.rtpengine.count &&
        (rc = edge__media_new(loop, cf, s->proxy, &s->media, &e1)) < 0) {
        rc = fedge_err(e, FEDGE_ECONFIG, "[media] %s", e1.msg);
        s->media = NULL;
        goto fail;
    }
    edge__media_set_remote(s->media, s->fed->remote);
    /* the SIP <-> XMPP gateway, only with an [xmpp] section (docs/xmpp.md) */
    if (cf->xmpp.enabled && (rc = edge__xmpp_new(s, &s->xmpp, e)) < 0) {
        s->xmpp = NULL;
        goto fail;
    }
    store_t *st;
    if (store_open(cf->edge.store, &st, &e1) == 0) {
        size_t n;
        if (store_account_count(st, &n, &e1) == 0 && n == 0) {
            char hint[PROXY_HOST_MAX + 64];
            snprintf(hint, sizeof(hint), "fedge admin add NAME -c %s", cf->path);
            obs_logkv(OBS_LOG_NOTICE, C, "no administrator yet: create the first one with",
                      "command", hint, NULL);
        }
        store_close(st);
    }
    uv_timer_init(loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, on_tick, PROXY_TICK_MS, PROXY_TICK_MS);
    uv_timer_init(loop, &s->cert_timer);
    s->cert_timer.data = s;
    uv_timer_start(&s->cert_timer, on_cert_timer, EDGE__CERT_RECHECK_MS, EDGE__CERT_RECHECK_MS);
    obs_notify_ready("listening", NULL); /* systemd Type=notify; no-op elsewhere */
    *out = s;
    return 0;

fail:
    undo(s);
    return rc;
}

uint16_t edge_port_external(const edge_t *s)
{
    return s->ext_port;
}

uint16_t edge_port_internal(const edge_t *s)
{
    return s->int_port;
}

uint16_t edge_port_remote(const edge_t *s)
{
    return s->remote_port;
}

const char *edge_admin_url(const edge_t *s)
{
    return s->admin ? admin_url(s->admin) : "";
}

void edge_free(edge_t *s)
{
    if (!s)
        return;
    edge__metrics_stop(s);
    admin_stop(s->admin); /* first: it may be reporting */
    s->admin = NULL;
    admin_stats_free(s->stats);
    s->stats = NULL;
    edge__media_panel_free(s->media_panel);
    s->media_panel = NULL;
    proxy_free(s->proxy);
    s->proxy = NULL;
    edge__udp_free(s);
    if (s->ext_tls)
        net_tls_free(s->ext_tls);
    if (s->int_tls)
        net_tls_free(s->int_tls);
    if (s->remote_tls)
        net_tls_free(s->remote_tls);
    fedge_map_free(&s->rtab);
    edge__transport_free(s);
    obs_summary_free(s->refused);
    obs_summary_free(s->hs_failed);
    obs_summary_free(s->shed);
    free(s);
}
