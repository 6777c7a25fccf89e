/* edge_int.h — internals shared between the files of src/edge (private to
 * the folder): the edge itself (edge.c), its connections and the proxy's
 * transports (transport.c), the federation driver (federation.c) and its
 * store feed (feed.c). */
#ifndef FEDGE_EDGE_INT_H
#define FEDGE_EDGE_INT_H

#include "edge/edge.h"

#include "admin/admin.h"
#include "config/config.h"
#include "dns/dns.h"
#include "media/media.h"
#include "net/net.h"
#include "policy/policy.h"
#include "proxy/proxy.h"
#include "sip/sip.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define EDGE__SIDE_TAG(side) ((void *)(uintptr_t)(side))
/* The [remote] listener's tag: its connections are on the external side
 * with the remote flag (transport.c), and have a budget of their own. */
#define EDGE__REMOTE_TAG ((void *)(uintptr_t)3)

/* Internal UDP sockets (one per [internal] listen address) and the most
 * UDP peers remembered at once (the least recently heard is forgotten). */
#define EDGE__MAX_UDP 8
#define EDGE__MAX_UDP_PEERS 4096

typedef struct edge__fed edge__fed_t;
typedef struct edge__media edge__media_t;
typedef struct edge__pool edge__pool_t;
typedef struct edge__xmpp edge__xmpp_t;
typedef struct edge__remote edge__remote_t;
typedef struct edge__media_panel edge__media_panel_t;

struct edge {
    uv_loop_t *loop;
    const config_t *cfg;
    net_t *net;
    net_tls_t *ext_tls, *int_tls;
    net_tls_t *remote_tls; /* [remote]: the [external] certificate, no client one */
    dns_t *dns;            /* the resolver, shared by the federation driver and the proxy */
    proxy_t *proxy;
    admin_t *admin;           /* the admin server (its own thread) */
    admin_stats_t *stats;     /* live figures it reports (thread-safe) */
    admin_metrics_t *metrics; /* [metrics] listen, or NULL (metrics.c) */
    edge__fed_t *fed;         /* the federation driver (federation.c) */
    edge__media_t *media;     /* calls' media through rtpengine (media.c); NULL without [media] */
    edge__media_panel_t *media_panel; /* its calls and relays for the panel (media_panel.c) */
    edge__xmpp_t *xmpp;               /* the SIP <-> XMPP gateway (xmpp.c), NULL without [xmpp] */
    uv_timer_t tick;
    bool tick_started;
    uv_timer_t cert_timer; /* the daily re-check of the external certificate */
    bool stopping, shut;
    uint64_t stop_deadline;
    size_t max_msg;
    uint32_t msg_timeout_ms;                   /* [limits] message_timeout */
    obs_summary_t *refused, *shed, *hs_failed; /* peer-caused net events, summarised */
    uint16_t ext_port, int_port;
    /* inbound connections by remote "ip:port", so that an internal client
     * connected to the edge can be reached in its dialogs (net indexes
     * only outbound targets and verified names) */
    fedge_map_t rtab; /* proxy_conn_t.rnode */
    /* [internal] transport = udp: a UDP socket beside each internal
     * listener, and the datagram peers by remote "ip:port" (transport.c) */
    net_udp_t *udp[EDGE__MAX_UDP];
    bool udp_v6[EDGE__MAX_UDP];
    size_t nudp;
    fedge_map_t utab; /* proxy_conn_t.rnode of UDP peers */
    size_t npeers;
    /* remote clients' connections by number (their flows, RFC 5626) and
     * how many are open per address ([remote] max_connections_per_ip) */
    fedge_map_t flows; /* proxy_conn_t.fnode */
    fedge_map_t per_ip;
    uint64_t next_flow;
    uint32_t remote_max_per_ip;
    uint16_t remote_port;
};

/* ------------------------------------------------------------------ */
/* cert.c: the edge's own external certificate                         */
/* ------------------------------------------------------------------ */

#define EDGE__CERT_WARN_DAYS 30                  /* as check-config warns */
#define EDGE__CERT_RECHECK_MS (24 * 3600 * 1000) /* re-judged daily while running */

/* Judges the first certificate of path at now as check-config does: 0 when
 * it is usable, with warn (wsz bytes) a one-line warning when fewer than
 * EDGE__CERT_WARN_DAYS days remain, else ""; FEDGE_ECONFIG with "PATH:
 * reason" in e when it is expired, not yet valid or does not name name
 * (net_cert_names: the rule the partners apply to us); FEDGE_EIO /
 * FEDGE_EINVAL when it cannot be read. */
int edge__cert_judge(const char *path, const char *name, time_t now, char *warn, size_t wsz,
                     fedge_err_t *e);

/* ------------------------------------------------------------------ */
/* transport.c: connections and the proxy's I/O                        */
/* ------------------------------------------------------------------ */

/* Callbacks of every connection of the edge (listeners and outbound). */
extern const net_conn_cbs_t edge__conn_cbs;

/* The proxy_io_t of ed (ctx = ed). */
void edge__proxy_io(edge_t *ed, proxy_io_t *io);

/* net_udp_recv_fn of the internal UDP sockets (user: the edge_t): each
 * datagram is one message to the proxy, from the UDP peer of its source
 * address (a proxy_conn_t the proxy sees as carrying datagrams). */
void edge__udp_recv(net_udp_t *u, const char *buf, size_t len, const char *ip, uint16_t port);

/* Frees the UDP peers (after proxy_free: the proxy holds them). */
void edge__udp_free(edge_t *s);

/* A remote client's connection (accepted by the [remote] listener): true
 * with its flow number and its remote IP address and port (valid while
 * c is); false for any other connection. c may be NULL. */
bool edge__conn_remote(const proxy_conn_t *c, uint64_t *flow, const char **ip, uint16_t *port);

/* proxy_untrusted_fn: a remote client's connection (its in-dialog
 * requests are decided too: nothing but the policy vouches for it). */
bool edge__conn_untrusted(void *user, const proxy_conn_t *c);

/* The open remote client connection of flow number id, or NULL (closed,
 * closing, or never one). */
proxy_conn_t *edge__flow_conn(edge_t *ed, uint64_t id);

/* Frees the per-address counts (at edge_free). */
void edge__transport_free(edge_t *ed);

/* ------------------------------------------------------------------ */
/* remote.c: remote users (docs/remote-users.md)                       */
/* ------------------------------------------------------------------ */

/* A lock-out the tracker started, to be written to the store by the
 * feed's worker (feed.c). */
typedef struct {
    policy_lock_kind_t kind;
    char subject[320]; /* user@domain or address */
    uint32_t failures;
    int64_t until_s; /* seconds since the epoch */
    char reason[96];
} edge__lockwrite_t;
#define EDGE__LOCK_QUEUE 32

/* Creates the remote-user driver of cf (cf->remote.listen.count > 0) for
 * the edge ed: a fresh flow-token key, the lock-out tracker, the Path it
 * adds naming the internal interface path_host:path_port. Returns 0 and
 * *out, or FEDGE_EIO (no random bytes for the key). */
int edge__remote_new(edge_t *ed, const config_t *cf, const char *path_host, uint16_t path_port,
                     edge__remote_t **out, fedge_err_t *e);
void edge__remote_free(edge__remote_t *r);

/* The policy hook's part for remote users (federation.c calls it first):
 * a request from a remote client (lock-out, REGISTER rate, then
 * policy_remote_decide; REGISTER to the registrar with Path), or a
 * request from inside whose top Route carries a flow token (out on that
 * client's connection, 430 when it is gone). Returns true when it decided
 * (*rc: 0 allow, 1 deny, with pv filled); false: not a remote matter. */
bool edge__remote_policy(edge__remote_t *r, const store_snapshot_t *snap,
                         const proxy_policy_in_t *pin, proxy_policy_verdict_t *pv, int *rc);

/* True when m, a request from the internal side, is the second crossing
 * of a request a remote client of this edge sent: it carries the edge's
 * own Record-Route entry with a flow token that verifies (the HMAC of
 * src/edge/flow.c: a peer cannot forge one) naming a client connection
 * still open. The relay then keeps the client's media leg on the
 * external interface (media.c). */
bool edge__remote_outside_call(edge__remote_t *r, const sip_msg_t *m);

/* Result cookies of remote REGISTERs carry this bit (the result hook
 * hands them to edge__remote_result). */
#define EDGE__REMOTE_COOKIE (1ull << 63)
void edge__remote_result(edge__remote_t *r, uint64_t cookie, int status);
/* Status figures: a remote client connection became ready (+1) or closed
 * (-1) (transport.c); the per-minute registrations recomputed (the edge's
 * tick), so that the figure falls back when registrations stop. */
void edge__remote_conn(int delta);
/* Creates the figures' metric families (at 0): exposed with or without
 * [remote], as docs/proxy.md lists them. */
void edge__remote_metrics_init(void);
void edge__remote_tick(edge__remote_t *r);

/* Feed: takes up to cap lock-outs waiting to be written. */
size_t edge__remote_take_writes(edge__remote_t *r, edge__lockwrite_t *out, size_t cap);
/* Feed: the first done of the n taken were written (the rest go back). */
void edge__remote_written(edge__remote_t *r, const edge__lockwrite_t *w, size_t n, size_t done);
/* Feed: the lock-outs in force in the store (until in seconds since the
 * epoch); the tracker is made to agree (policy_lockout_sync). */
void edge__remote_sync(edge__remote_t *r, const edge__lockwrite_t *in_force, size_t n);

/* ------------------------------------------------------------------ */
/* federation.c + feed.c: the federation driver                        */
/* ------------------------------------------------------------------ */

#define EDGE__WATCH_QUEUE 64 /* newly watch-listed partners awaiting the store */

typedef struct edge__pend edge__pend_t;

typedef struct {
    uint64_t id;
    char domain[256];
} edge__cookie_t;

struct edge__fed {
    uv_loop_t *loop;
    const config_t *cf;
    admin_stats_t *stats;
    proxy_t *proxy;
    store_t *store;
    store_snapshot_t *snap;
    policy_throttle_t *throttle;
    dns_t *dns;             /* borrowed from the edge */
    edge__remote_t *remote; /* [remote]: owned (freed with f), or NULL */
    bool lockouts_listed;   /* the store's lock-outs given to its tracker */
    uv_timer_t timer;
    char store_err[256];   /* the last store error logged (logged on change) */
    char store_shown[512]; /* [edge] store for logs: a URI without its password */
    fedge_str_t fqdn;
    const char **local; /* [edge] sip_domains, lowercase */
    size_t n_local;
    edge__pend_t *pending;
    edge__cookie_t *cookies;
    uint64_t next_cookie;
    char watch[EDGE__WATCH_QUEUE][256];
    size_t n_watch;
    edge_t *edge;       /* the owner, once built (pool.c reads its figures) */
    edge__pool_t *pool; /* this member's record in a pool (pool.c), or NULL */
    bool busy;          /* a refresh job is in flight */
    bool closing;       /* edge__fed_free was called */
    bool timer_closed;
};

/* Creates the federation driver of cf on loop with the resolver dns (which
 * must outlive it): opens the store (when it cannot be opened now the
 * error is logged and opening is retried every refresh, deciding on the
 * built-in defaults meanwhile: nothing is allowed but what they allow),
 * seeds the store's routing settings from [federation] unless an
 * administrator set them (docs/configuration.md) and starts the 250 ms
 * refresh timer. stats may be NULL. Returns 0 and *out. */
int edge__fed_new(uv_loop_t *loop, const config_t *cf, admin_stats_t *stats, dns_t *dns,
                  edge__fed_t **out, fedge_err_t *e);

/* Installs the policy and result hooks on p (which must outlive f, or be
 * detached by edge__fed_free first). */
void edge__fed_attach(edge__fed_t *f, proxy_t *p);

/* Stops: cancels the DNS look-ups in flight (their requests stay parked in
 * the proxy until it answers them), detaches from the proxy, closes the
 * timer and the store. The resolver is left alone. The memory goes in the
 * close callbacks: run the loop afterwards. NULL is a no-op. */
void edge__fed_free(edge__fed_t *f);

/* media.c: the relay of calls' media ([media]): opens the ng client,
 * installs the proxy's media hook on p (which must outlive m, or be
 * detached by edge__media_free first). Returns 0 and *out, or the error
 * of media_relay_new. */
int edge__media_new(uv_loop_t *loop, const config_t *cf, proxy_t *p, edge__media_t **out,
                    fedge_err_t *e);
/* Sends the relay's due checks (orphans, calls long without signalling)
 * and reaps calls idle too long, once a minute (call it from the tick). */
void edge__media_tick(edge__media_t *m);
/* The remote-user driver whose clients' calls the relay recognises
 * (edge__remote_outside_call); r (NULL: none) must outlive m. */
void edge__media_set_remote(edge__media_t *m, edge__remote_t *r);
/* A connection of side closed (transport.c): its calls become orphans
 * (media.h). NULL m is a no-op. */
void edge__media_conn_closed(edge__media_t *m, proxy_side_t side, const char *remote);
/* The orphan and reaper counters (metrics.c); zeros when m is NULL. */
void edge__media_stats(const edge__media_t *m, media_calls_stats_t *out);
/* The calls relayed now, the relays configured and those that answered
 * their last ng request (metrics.c); all 0 when m is NULL. */
void edge__media_figures(const edge__media_t *m, size_t *calls, size_t *relays, size_t *up);
/* Detaches from the proxy, closes the ng client (held messages stay held
 * until the proxy answers or frees them). NULL is a no-op. */
void edge__media_free(edge__media_t *m);

/* media.c: the relay driver of m and its [media] max_calls. */
media_relay_t *edge__media_relay(const edge__media_t *m, size_t *max_calls);

/* media_panel.c: what GET /api/media shows (docs/admin.md): a copy of the
 * relayed calls (ADMIN_MEDIA_CALLS_MAX with the latest signalling) and of
 * each relay's health, taken on the loop once a second and read by the
 * admin thread under a mutex; and an ng ping to every relay that has not
 * been asked anything for EDGE__MEDIA_PING_MS. Never NULL; free it after
 * admin_stop and after the loop ran edge__media_free (pings in flight
 * call back into it until then). */
#define EDGE__MEDIA_PING_MS 30000u
edge__media_panel_t *edge__media_panel_new(uint64_t now_ms);
/* Registers the panel's metric families (docs/proxy.md, "Metrics"): an
 * edge without [media] exposes them too, at zero, as it does
 * fedge_media_calls. Idempotent. */
void edge__media_panel_families(void);
/* On the loop, from the tick: m may be NULL (then nothing). */
void edge__media_panel_tick(edge__media_panel_t *p, edge__media_t *m, uint64_t now_ms);
/* The admin_media_cb (ctx: the panel). */
void edge__media_panel_report(admin_media_t *out, void *ctx);
void edge__media_panel_free(edge__media_panel_t *p);
/* The panel's label of a relay call id into out (capacity cap, 32 is
 * enough): the Call-ID cut to its first 12 characters before any '@'
 * ("…" where cut), and " (fork)" for a fork (media_calls_fork_id). */
void edge__media_call_label(fedge_str_t id, char *out, size_t cap);

/* feed.c: logs a store error once (until it changes) and reports it. */
void edge__feed_error(edge__fed_t *f, const char *what, const char *msg);

/* feed.c: opens and loads the store now, seeds the routing settings and
 * starts the refresh timer (on the loop, at creation). */
void edge__feed_start(edge__fed_t *f);

/* feed.c: stops the refresh timer; f is released (edge__fed_release) once
 * it is closed and no refresh job runs. */
void edge__feed_stop(edge__fed_t *f);

/* pool.c: when f's edge is a pool member ([edge] pool_fqdn) and its
 * record is due (every STORE_MEMBER_BEAT_S), fills *m on the loop and
 * returns true; the refresh job writes it on the worker thread. */
bool edge__pool_due(edge__fed_t *f, store_member_t *m);

/* pool.c: the refresh job's outcome of writing the record: logs a failure
 * once (until it changes) and a recovery. msg NULL: written. */
void edge__pool_done(edge__fed_t *f, const char *msg);

/* pool.c: frees f->pool; NULL is a no-op. */
void edge__pool_free(edge__pool_t *p);

/* federation.c: frees f once its timer is closed and no refresh job runs. */
void edge__fed_release(edge__fed_t *f);

/* ------------------------------------------------------------------ */
/* xmpp.c: the SIP <-> XMPP gateway                                    */
/* ------------------------------------------------------------------ */

/* Starts the gateway of ed->cfg's [xmpp] section on ed's loop, net and
 * resolver (which must outlive it: free it before them). Returns 0 and
 * *out, or FEDGE_ECONFIG ([xmpp] certificate) / the listener's error. */
int edge__xmpp_new(edge_t *ed, edge__xmpp_t **out, fedge_err_t *e);

/* A framed SIP message that arrived on the internal side on nc: true when
 * it is for an XMPP partner domain and the gateway took it (it answers on
 * nc, now or once the stanza is out); false: the proxy's to handle. */
bool edge__xmpp_sip_in(edge__xmpp_t *x, net_conn_t *nc, const char *buf, size_t len);

/* nc is closing: answers pending for it are dropped. */
void edge__xmpp_conn_gone(edge__xmpp_t *x, net_conn_t *nc);

/* Closes the XMPP listener: before net_stop_accepting, which frees every
 * listener of the net (edge_drain). NULL is a no-op. */
void edge__xmpp_stop_accepting(edge__xmpp_t *x);

/* Re-reads the gateway's certificate, key, trust anchors and CRLs (the
 * files named at start; net_tls_reload): new streams use them, open ones
 * keep theirs. 0 when x is NULL; on failure the old ones stay. */
int edge__xmpp_reload_tls(edge__xmpp_t *x, fedge_err_t *e);

/* Closes streams, the listener and the next-hop connection; the memory
 * goes once the loop has run the close callbacks. NULL is a no-op. */
void edge__xmpp_free(edge__xmpp_t *x);

/* The gateway's figures for the metrics (metrics.c); all 0 when x is
 * NULL (no [xmpp]). */
typedef struct {
    size_t streams_in, streams_out; /* s2s streams open now */
    uint64_t stanzas_in, stanzas_out;
    uint64_t refused_policy;           /* a user's external access policy has XMPP off */
    uint64_t refused_partner;          /* the domain is not an XMPP partner, or blocked */
    uint64_t refused_limit;            /* stanza rate, queues full */
    uint64_t sip_to_xmpp, xmpp_to_sip; /* IM messages through the gateway */
    size_t subs_sip, subs_xmpp;        /* presence subscriptions held, by watcher's side */
    uint64_t adopted;                  /* subscriptions adopted from stale pool members */
} edge__xmpp_figures_t;
void edge__xmpp_figures(const edge__xmpp_t *x, edge__xmpp_figures_t *out);

/* ------------------------------------------------------------------ */
/* metrics.c: what the edge counts for Prometheus (one-line hooks)      */
/* ------------------------------------------------------------------ */

/* Starts the [metrics] listen endpoint when it is set (s->metrics), else
 * does nothing. FEDGE_ECONFIG / FEDGE_EINVAL with a message on failure. */
int edge__metrics_start(edge_t *s, fedge_err_t *e);
/* Stops it (waits for its thread); safe when not started. */
void edge__metrics_stop(edge_t *s);
/* On the tick: copies the transport's and resolver's counters and the
 * store generation in use. */
void edge__metrics_tick(edge_t *s);
/* A framed SIP message buf[0..len) received or sent on side. */
void edge__metrics_msg(proxy_side_t side, bool sent, const char *buf, size_t len);
/* A connection of side became ready (TLS done): counted once, *counted
 * (the connection's flag) set. */
void edge__metrics_ready(proxy_side_t side, bool *counted);
/* A connection of side closed: a counted one is uncounted; an outbound one
 * that never got ready is a next-hop (partner edge) failure, reported in
 * the Status page's recent errors. */
void edge__metrics_closed(edge_t *s, proxy_side_t side, net_conn_t *nc, bool counted,
                          const char *reason);
/* A line of the transport's log: TLS handshake failures by reason (and in
 * recent errors). s and c may be NULL. */
void edge__metrics_net_log(edge_t *s, net_conn_t *c, const char *msg);
/* An event of the transport's log_event hook (failed inbound handshakes). */
void edge__metrics_net_event(edge_t *s, const char *kind, const char *reason, const char *ip);
/* A store error (open, refresh or write failed). */
void edge__metrics_store_error(void);

#endif
