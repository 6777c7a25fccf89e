/* proxy.h — the RFC 3261 §16/§17 transaction-stateful proxy between the
 * internal and external sides of the edge: server and client transactions
 * for reliable transports, Via/Record-Route/Route/Max-Forwards handling,
 * loop detection, routing between the sides and the policy hook.
 *
 * The proxy does no I/O of its own: it is handed complete framed messages
 * (proxy_on_message) and sends through the callbacks of a proxy_io_t, so
 * that it can be driven by the real transports (src/edge/transport.c) or by
 * an injected fake in unit tests. Time comes from proxy_io_t.now_ms and the
 * owner calls proxy_tick() at least every PROXY_TICK_MS.
 *
 * Connections are opaque handles (proxy_conn_t *) owned by the I/O layer.
 * The proxy stores them in transactions and hands them back to the
 * callbacks; the owner must call proxy_on_conn_closed() before a handle
 * becomes invalid, after which the proxy never uses it again.
 *
 * Routing rules, Record-Route layout and logs: docs/proxy.md. */
#ifndef FEDGE_PROXY_H
#define FEDGE_PROXY_H

#include "base/base.h"
#include "dns/dns.h"
#include "net/net.h"
#include "sip/sip.h"

/* The two sides of the edge. */
typedef enum {
    PROXY_SIDE_NONE = 0,
    PROXY_SIDE_EXTERNAL = 1, /* partners' edges, the internet (mutual TLS) */
    PROXY_SIDE_INTERNAL = 2, /* the organization's own SIP servers */
} proxy_side_t;

/* "external", "internal" or "none". */
const char *proxy_side_name(proxy_side_t s);

typedef enum {
    PROXY_TP_TLS = 0,
    PROXY_TP_TCP = 1,
    /* datagrams (internal side only): Via "SIP/2.0/UDP ...;rport" (RFC
     * 3581), retransmissions by RFC 3261 §17, and a request larger than
     * PROXY_UDP_MAX_REQUEST goes over TCP instead (§18.1.1) */
    PROXY_TP_UDP = 2,
} proxy_transport_t;

/* RFC 3261 §18.1.1: with no path MTU known, a request larger than 1300
 * bytes goes over a congestion-controlled transport (TCP). */
#define PROXY_UDP_MAX_REQUEST 1300

#define PROXY_HOST_MAX 256 /* buffer for a host name or IP literal */
#define PROXY_MAX_NAMES 8  /* names designating one interface */
#define PROXY_MAX_HOPS 8   /* internal next hops */
#define PROXY_MAX_DOMAINS 64

/* Suggested period of proxy_tick(). */
#define PROXY_TICK_MS 100

typedef struct {
    char host[PROXY_HOST_MAX]; /* name or IP literal (IPv6 without brackets) */
    uint16_t port;             /* 0: the default of the transport */
} proxy_hostport_t;

/* One interface of the edge (one side). host:port goes into Via sent-by and
 * Record-Route; names[] are every other host (listen addresses, FQDN) that
 * designates this interface in a Route or Request-URI. */
typedef struct {
    proxy_transport_t transport;
    char host[PROXY_HOST_MAX];
    uint16_t port;
    char names[PROXY_MAX_NAMES][PROXY_HOST_MAX];
    unsigned nnames;
} proxy_iface_t;

typedef struct {
    char fqdn[PROXY_HOST_MAX];                       /* the edge's FQDN */
    char domains[PROXY_MAX_DOMAINS][PROXY_HOST_MAX]; /* local SIP domains */
    unsigned ndomains;
    proxy_iface_t ext, in;                      /* external and internal */
    proxy_hostport_t next_hops[PROXY_MAX_HOPS]; /* internal, in order */
    unsigned nnext_hops;
    /* The internal registrars of remote users, in order, used like
     * next_hops (port 0: SRV, then A/AAAA) by a verdict's registrar. */
    proxy_hostport_t registrars[PROXY_MAX_HOPS];
    unsigned nregistrars;
    proxy_hostport_t default_route; /* federation; host "" = none */
    /* The [remote] listener as remote users' clients reach it (host ""
     * = none): the Record-Route entry facing a client names it (TLS), and
     * a Route naming it (this host, or any host of the external side,
     * with this port) is the edge's own, on the external side. */
    proxy_hostport_t client;
    unsigned t1_ms;          /* RFC 3261 T1 (500); Timer B/F/H = 64*T1 */
    unsigned t2_ms;          /* RFC 3261 T2 (0: 4000): Timer E/G cap */
    unsigned t4_ms;          /* RFC 3261 T4 (0: 5000): Timer I over UDP */
    unsigned timer_c_ms;     /* INVITE guard after a provisional (180000) */
    size_t max_message_size; /* (65536) */
    /* [federation] routing = dns-srv: federated requests for which the
     * route decision says default route go to the SRV targets of their
     * domain (src/proxy/outbound.c) instead. Needs proxy_set_dns();
     * without it such requests get 504. */
    bool dns_srv;
    /* How long a failed outbound target is skipped (0: never). */
    unsigned failed_target_skip_ms;
} proxy_cfg_t;

/* Fills *c with empty lists and the defaults shown above. */
void proxy_cfg_init(proxy_cfg_t *c);

/* ------------------------------------------------------------------ */
/* Route decision (pure)                                               */
/* ------------------------------------------------------------------ */

typedef enum {
    PROXY_ROUTE_FORWARD = 0, /* send it on to_side, to target */
    PROXY_ROUTE_LOCAL = 1,   /* addressed to the edge itself: answer it */
    PROXY_ROUTE_REJECT = 2,  /* refuse with status and reason */
} proxy_route_action_t;

typedef enum {
    PROXY_TARGET_NEXT_HOPS = 0,     /* cfg next_hops, in order, failover */
    PROXY_TARGET_DEFAULT_ROUTE = 1, /* cfg default_route */
    PROXY_TARGET_HOST = 2,          /* the policy verdict's target */
    PROXY_TARGET_REGISTRAR = 3,     /* cfg registrars, in order, failover */
} proxy_target_t;

typedef struct {
    proxy_side_t from_side;
    /* Side named by the last of the edge's own Route entries popped from
     * the top of the Route set (§16.4), PROXY_SIDE_NONE if none was. */
    proxy_side_t popped_side;
    /* Topmost Route entry left after popping ours, or NULL. */
    const sip_uri_t *next_route;
    /* The Request-URI after §16.4 processing. */
    const sip_uri_t *ruri;
    /* It came over a remote user's connection (proxy_set_untrusted says
     * so): a request of the client's for a domain that is not local goes
     * to the internal next hops — the user's own server, which sends it
     * back through the edge's internal side to the partner under the
     * federation policy — instead of being refused as relaying. */
    bool from_client;
} proxy_route_in_t;

typedef struct {
    proxy_route_action_t action;
    proxy_side_t to_side;
    proxy_target_t target;
    int status;         /* REJECT: the SIP status */
    const char *reason; /* REJECT: Warning text (static string) */
} proxy_route_t;

/* Decides where a request goes (see docs/proxy.md for the rules):
 * crossing by the edge's own Record-Route, or by the Request-URI domain
 * (local domains → internal next hops, others → federation; everything a
 * remote client sends → internal next hops), refusing open relaying and
 * loops back to the side a request came from. Pure: no I/O,
 * no allocation. Always fills *out and returns out->action. */
proxy_route_action_t proxy_route_decide(const proxy_cfg_t *cfg, const proxy_route_in_t *in,
                                        proxy_route_t *out);

/* True when host (any case, IPv6 with or without brackets) is one of the
 * local SIP domains. */
bool proxy_is_local_domain(const proxy_cfg_t *cfg, fedge_str_t host);

/* Side of the edge interface that uri designates (host is the FQDN, the
 * interface host or one of its names; a port, when written, must be the
 * interface's), or PROXY_SIDE_NONE. Used for Route entries and strict-router
 * Request-URIs. */
proxy_side_t proxy_uri_side(const proxy_cfg_t *cfg, const sip_uri_t *uri);

/* ------------------------------------------------------------------ */
/* Branches and loop detection                                          */
/* ------------------------------------------------------------------ */

/* Length of a generated branch: "z9hG4bK" + 16 hex (loop hash) + "." + 16
 * hex (transaction part). */
#define PROXY_BRANCH_LEN (7 + 16 + 1 + 16)

/* Where a request came from, as far as routing is concerned: the side,
 * and whether over a remote user's connection (proxy_route_in_t). */
typedef struct {
    proxy_side_t side;
    bool client;
} proxy_origin_t;

/* The loop-detection hash of request m (RFC 3261 §16.6 item 8): over the
 * Request-URI as received, From tag, To tag, Call-ID, CSeq number, every
 * Route value and Proxy-Require value — the fields that decide how the
 * edge routes it, and that do not change when it comes back around a loop
 * (the topmost Via does change, so it is left out; the method too, so that
 * CANCEL and ACK share it) — and its origin, which decides the route too:
 * a remote user's request that comes back from the internal server on its
 * way to a partner (the same Request-URI, tags and Route set) is a spiral,
 * routed differently, not a loop (RFC 3261 §16.3 item 4). m must have
 * passed sip_msg_check(). */
uint64_t proxy_loop_hash(sip_msg_t *m, proxy_origin_t from);

/* Writes a branch for m (arrived from `from`) into out (size >
 * PROXY_BRANCH_LEN): magic cookie, proxy_loop_hash(m, from), ".", then
 * SipHash-2-4 of txn_key under a key made of (secret, attempt), so that each
 * client transaction gets its own branch, one a peer cannot predict.
 * Returns the length. */
size_t proxy_branch_make(sip_msg_t *m, proxy_origin_t from, uint64_t secret, fedge_str_t txn_key,
                         unsigned attempt, char *out, size_t cap);

/* RFC 3261 §16.3 item 4: true when one of m's Via values has a sent-by of
 * one of the edge's interfaces and a branch whose loop part equals
 * proxy_loop_hash(m, from) — the request came back unchanged, from where
 * it came before: answer 482. */
bool proxy_loop_detected(const proxy_cfg_t *cfg, sip_msg_t *m, proxy_origin_t from);

/* The server transaction key of request m (§17.2.3): for an RFC 3261 branch
 * "3261|" branch "|" sent-by host ":" port "|" method, where ACK and CANCEL
 * use INVITE; for an RFC 2543 branch (no magic cookie) "2543|" Request-URI,
 * From tag, Call-ID, CSeq number, topmost Via and method likewise. Writes
 * at most cap bytes into out; returns the length, or FEDGE_ENOSPC /
 * the error of a header it needed. */
int proxy_txn_key(sip_msg_t *m, char *out, size_t cap);

/* ------------------------------------------------------------------ */
/* Outbound server identity (src/proxy/outbound.c)                      */
/* ------------------------------------------------------------------ */

/* What the certificate of a server the edge connects to must name. */
typedef enum {
    PROXY_EXPECT_NONE = 0,           /* plain TCP or an IP literal: chain only */
    PROXY_EXPECT_NAME = 1,           /* names host (net_peer_names) */
    PROXY_EXPECT_PARTNER = 2,        /* RFC 5922 §7.3 + the Lync rule: a SIP domain
                                        identity of domain (net_peer_is_domain), or
                                        names host where host lies in domain */
    PROXY_EXPECT_NAME_OR_DOMAIN = 3, /* names host or names domain (an
                                        internal next hop found by SRV) */
    PROXY_EXPECT_EXISTING = 4,       /* host is an IP literal (a partner's Contact
                                        or Route): only over a connection that
                                        exists, whose peer verified */
} proxy_expect_mode_t;

typedef struct {
    proxy_expect_mode_t mode;
    char domain[PROXY_HOST_MAX];
    char host[PROXY_HOST_MAX];
} proxy_expect_t;

/* Judges the certificate of a server the edge connected to: returns true
 * when peer (NULL for plain TCP) satisfies x; else false with the reason
 * for a Warning in why (e.g. "certificate does not name fabrikam.test or
 * edge2.fabrikam.test"). Pure. */
bool proxy_expect_check(const proxy_expect_t *x, const net_peer_t *peer, char *why, size_t cap);

/* ------------------------------------------------------------------ */
/* The proxy                                                           */
/* ------------------------------------------------------------------ */

typedef struct proxy proxy_t;
typedef struct proxy_conn proxy_conn_t; /* defined by the I/O layer */

/* Who sent a message: the side, the remote address (for logs) and the
 * peer's certificate identity as net_conn_peer() gives it (NULL for plain
 * TCP; check cert->verified), which the policy hook reads from
 * proxy_policy_in_t.peer. Borrowed for the call only. */
typedef struct {
    proxy_side_t side;
    const char *remote;
    const net_peer_t *cert;
} proxy_peer_t;

/* Where one send goes (proxy_io_t.send). */
typedef enum {
    PROXY_TO_CONN = 0,      /* on conn (responses upstream, CANCEL/ACK downstream) */
    PROXY_TO_REUSE = 1,     /* an existing connection to host:port on side — one
                               opened to it, or one it opened to the edge from
                               that address — never a new one */
    PROXY_TO_HOST = 2,      /* host:port on side (port 0: the transport's
                               default): a connection that exists, or one opened
                               now (a name is resolved by the transport) */
    PROXY_TO_CANDIDATE = 3, /* a target found by DNS: addr:port, host its name
                               (SNI, logs) */
} proxy_to_t;

/* One destination. expect (NULL: nothing beyond the chain; ignored over
 * plain TCP) is what the server certificate must satisfy (HOST,
 * CANDIDATE): judged with proxy_expect_check on the connection used — at
 * once for one that is ready, on readiness for one opened now (whose
 * writes are held until then; a refusal closes it and reaches the proxy
 * through proxy_on_conn_failed with the reason). Mode
 * PROXY_EXPECT_EXISTING never opens a connection. */
typedef struct {
    proxy_to_t kind;
    proxy_side_t side;
    proxy_conn_t *conn; /* CONN */
    const char *host;   /* REUSE, HOST, CANDIDATE: a name or an IP literal */
    const char *addr;   /* CANDIDATE: the IP literal to connect to (NULL: host) */
    uint16_t port;
    const proxy_expect_t *expect;
    /* on a UDP side: a stream connection (TCP) instead of a datagram —
     * a request too large for UDP (RFC 3261 §18.1.1) */
    bool stream;
} proxy_dest_t;

typedef struct {
    void *ctx;
    /* Milliseconds of a monotonic clock. */
    uint64_t (*now_ms)(void *ctx);
    /* Sends data (copied) to d. Returns 0 and the connection used in *used
     * (used may be NULL; its later failure is reported through
     * proxy_on_conn_closed), or a negative code with the reason in why (may
     * be NULL) when nothing could be started: FEDGE_ECLOSED (CONN: the
     * connection is closing), FEDGE_ENOENT (REUSE, EXPECT_EXISTING: no such
     * connection), FEDGE_ETLS (a connection that exists fails d->expect),
     * or the error of the connect. */
    int (*send)(void *ctx, const proxy_dest_t *d, const char *data, size_t len, proxy_conn_t **used,
                fedge_err_t *why);
    /* True when c carries datagrams (UDP): the proxy then retransmits
     * what it sends on it (RFC 3261 §17: Timers A, E, G) and keeps
     * server transactions to absorb retransmitted requests (Timers I, J).
     * NULL: every connection is reliable. */
    bool (*is_udp)(void *ctx, const proxy_conn_t *c);
} proxy_io_t;

/* The policy hook: called for every new out-of-dialog request (no To tag)
 * the proxy is about to forward, with the direction, the peer identity and
 * the From, To and Request-URI. Returns 0 to allow; PROXY_POLICY_PENDING
 * to decide later; any other non-zero value to deny with v->status (a
 * 4xx-6xx), v->warning (Warning text, NUL-terminated) and v->extra.
 *
 * Pending: the proxy parks the request (an INVITE is answered 100 Trying
 * at once) until proxy_policy_resume(p, in->ticket, ...) gives the
 * verdict; a CANCEL meanwhile answers it 487; after PROXY_POLICY_WAIT_MS
 * without a verdict it is answered 504. */
typedef struct {
    proxy_side_t from_side, to_side;
    const proxy_peer_t *peer;
    sip_msg_t *msg;
    const sip_uri_t *from_uri, *to_uri, *ruri;
    uint64_t ticket;    /* names this request in proxy_policy_resume */
    proxy_conn_t *conn; /* the connection it arrived on (for the call only) */
    /* The user part of the last of the edge's own Route entries popped
     * (§16.4) that has one — a flow token the edge put into a Path or a
     * Record-Route (proxy_policy_verdict_t.rr_user); empty when none. A
     * request with a To tag is given to the hook when this is not empty
     * (or its connection is untrusted), so that it can go out on the
     * flow the token names. */
    fedge_str_t route_user;
} proxy_policy_in_t;

#define PROXY_POLICY_PENDING 2
#define PROXY_POLICY_WAIT_MS 10000

/* Header edits a verdict asks for, made inside the one print that builds
 * the forwarded request (the request is never printed twice): every
 * header whose name is one of strip[] (any case; whitespace before the
 * colon does not hide it) is left out, and the lines of add ("Name:
 * value\r\n" each) are appended after the last header. Via, From, To,
 * Call-ID, CSeq, Route, Record-Route, Max-Forwards and Content-Length are
 * never stripped. */
#define PROXY_EDIT_STRIP_MAX 4
typedef struct {
    char strip[PROXY_EDIT_STRIP_MAX][64];
    unsigned nstrip;
    char add[1024];
} proxy_edits_t;

/* Adds name to e->strip. Returns 0, FEDGE_EINVAL (name not a token) or
 * FEDGE_ENOSPC (full or too long). */
int proxy_edits_strip(proxy_edits_t *e, const char *name);

/* Appends the line "name: value\r\n" to e->add. Returns 0, or
 * FEDGE_ENOSPC (nothing added), FEDGE_EINVAL (name not a token, or a CR or
 * LF in value). */
int proxy_edits_add(proxy_edits_t *e, const char *name, const char *value);

typedef struct {
    int status;
    char warning[160];
    /* Deny: header lines ("Name: value\r\n" each) added to the response. */
    char extra[512];
    /* Allow: header edits made on the forwarded request (trust header
     * stripped and added, a Warning...). */
    proxy_edits_t edits;
    /* Allow: where to send it on to_side instead of the proxy's own choice
     * (next hops or the default route); host "" = the proxy's choice. On
     * the external side a host name is resolved by A/AAAA (with the
     * resolver of proxy_set_dns) and the server's certificate must name
     * it; an IP literal is sent to as it is (PROXY_TO_HOST). */
    proxy_hostport_t target;
    /* Allow: route it by the SRV records of its domain (as dns-srv routing
     * does), whatever [federation] routing says; target must be empty. */
    bool srv;
    /* Allow: target is reached only over a connection that exists to it
     * (PROXY_TO_REUSE: one opened to it, or one it opened to the edge),
     * never a new one — a remote user's flow (RFC 5626). When that send
     * finds none, or the connection fails before a final response, the
     * request is answered 430 Flow Failed (RFC 5626 §5.3). */
    bool reuse;
    /* Allow (to the internal side): to the configured registrars in order,
     * failing over like the next hops; target must be empty. */
    bool registrar;
    /* Allow: when not 0, the final status sent upstream for this request
     * is reported to the result hook (proxy_set_result) with this cookie. */
    uint64_t result_cookie;
    /* Allow: the user part of the Record-Route entry naming the interface
     * the request came in by (RFC 5626 §5.3: a flow token), so that the
     * dialog's requests from the far side come back with it in their
     * Route (proxy_policy_in_t.route_user); "" = none. Only RFC 3261
     * unreserved characters are written; a value with others is ignored. */
    char rr_user[64];
} proxy_policy_verdict_t;

typedef int (*proxy_policy_fn)(void *user, const proxy_policy_in_t *in, proxy_policy_verdict_t *v);

/* Says whether connection c is untrusted: a remote user's client (no
 * certificate, no dialog the edge set up with it). Every request that
 * arrives on it goes through the policy hook, those with a To tag too —
 * nothing but the policy vouches for its sender — and is routed as a
 * client's (proxy_route_in_t.from_client). */
typedef bool (*proxy_untrusted_fn)(void *user, const proxy_conn_t *c);

/* Counters, for tests, logs and metrics. */
typedef struct {
    uint64_t requests_in, responses_in;
    uint64_t forwarded_requests, forwarded_responses;
    uint64_t rejected;      /* requests answered by the edge with >= 300 */
    uint64_t local_answers; /* OPTIONS to the edge, etc. */
    uint64_t parse_errors;  /* 400s sent or messages dropped */
    uint64_t timeouts;      /* 408s generated */
    uint64_t failovers;     /* next-hop failovers */
    /* sip_parse and sip_print runs: a forwarded request is parsed once
     * when it arrives and printed once when it is forwarded, unless it was
     * parked for the policy or a target failed (then it is parsed again
     * from the stored copy, with the proxy's limits) */
    uint64_t parses, prints;
    size_t transactions; /* open now */
} proxy_stats_t;

/* Creates a proxy over a copy of cfg and io. Returns 0 and *out, or
 * FEDGE_EINVAL (with a reason in e) when cfg is unusable (no FQDN, the two
 * interfaces indistinguishable). Free with proxy_free(). */
int proxy_new(const proxy_cfg_t *cfg, const proxy_io_t *io, proxy_t **out, fedge_err_t *e);

/* Frees p and every transaction (sending nothing). p may be NULL. */
void proxy_free(proxy_t *p);

/* Installs the policy hook (NULL: allow everything). */
void proxy_set_policy(proxy_t *p, proxy_policy_fn fn, void *user);

/* Installs the untrusted-connection test (NULL: every connection is
 * trusted with its dialogs). */
void proxy_set_untrusted(proxy_t *p, proxy_untrusted_fn fn, void *user);

/* Gives the verdict on a request whose hook returned PROXY_POLICY_PENDING:
 * deny false allows (v's edits/target/result_cookie as for the hook; v
 * may be NULL), deny true refuses with v's status, warning and extra.
 * Returns 0, or FEDGE_ENOENT when the request is no longer waiting (it
 * was cancelled, timed out or the proxy stopped): nothing is done. */
int proxy_policy_resume(proxy_t *p, uint64_t ticket, bool deny, const proxy_policy_verdict_t *v);

/* The result hook: called with the cookie a verdict set and the final
 * status the edge sent upstream (its own refusal or the one relayed). */
typedef void (*proxy_result_fn)(void *user, uint64_t cookie, int status);
void proxy_set_result(proxy_t *p, proxy_result_fn fn, void *user);

/* The media hook: the calls' SDP through a media relay (src/media, wired
 * by src/edge/media.c). Called for each request the proxy forwards (after
 * the policy hook allowed it; ACK too), for each CANCEL it receives, for
 * each response it forwards upstream, and when the edge itself ends an
 * INVITE with a final failure (in->local_status: its own 408, 487, 503,
 * 504...). Returns 0 to forward, with v->body when v->replace (the body
 * replaced inside the one print, Content-Length right);
 * PROXY_MEDIA_PENDING to hold the message until proxy_media_resume(p,
 * in->ticket, v) — the transaction's later responses wait behind a held
 * one, in order; a held request is answered 504 after PROXY_MEDIA_WAIT_MS
 * and 487 when cancelled meanwhile; any other value refuses a request
 * with v->status (4xx-6xx) and v->warning. For a CANCEL and a local
 * failure only 0 is meaningful; a response or an ACK cannot be refused. */
typedef struct {
    sip_msg_t *msg; /* the message; for local_status, the request */
    proxy_side_t from_side, to_side;
    const char *remote; /* who sent it, "ip:port" */
    int local_status;   /* 0, or the final status the edge answered itself */
    uint64_t ticket;    /* names the message in proxy_media_resume */
    /* it came from, or goes to, a remote user's client (a connection the
     * untrusted hook names, or a flow the policy's verdict targets with
     * reuse): a crossing between the internal server and a client */
    bool client;
} proxy_media_in_t;

typedef struct {
    int status;
    char warning[160];
    bool replace;     /* forward with body instead of the message's own */
    const char *body; /* borrowed for the call: the proxy copies it */
    size_t body_len;
} proxy_media_verdict_t;

#define PROXY_MEDIA_PENDING 2
#define PROXY_MEDIA_WAIT_MS 35000

typedef int (*proxy_media_fn)(void *user, const proxy_media_in_t *in, proxy_media_verdict_t *v);
void proxy_set_media(proxy_t *p, proxy_media_fn fn, void *user);

/* Releases a message held by PROXY_MEDIA_PENDING with v (NULL: forward it
 * as received). Returns 0, or FEDGE_ENOENT when nothing waits under ticket
 * (it timed out, was cancelled, or the proxy stopped). */
int proxy_media_resume(proxy_t *p, uint64_t ticket, const proxy_media_verdict_t *v);

/* [log] access: with on, one info line per transaction when its final
 * status goes upstream (src/proxy/metrics.c; docs/configuration.md,
 * "Access log"). Off at creation. */
void proxy_set_access_log(proxy_t *p, bool on);

/* Handles one framed message buf[0..len) received on c from peer (buf is
 * borrowed for the call; what the proxy keeps it copies). Returns 0 when
 * the message was handled (forwarded, answered, or dropped as harmless);
 * or a negative FEDGE_ESIP_* code when it was so malformed that nothing
 * could be answered: the caller should log and close the connection. A
 * request that parses but lacks what the proxy needs is answered 400 with
 * the reason, and 0 is returned. */
int proxy_on_message(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, const char *buf,
                     size_t len);

/* The connection c is closing (code as net's on_close). The proxy forgets
 * c; client transactions waiting on it fail over to the next hop or answer
 * upstream. */
void proxy_on_conn_closed(proxy_t *p, proxy_conn_t *c, int code);

/* As proxy_on_conn_closed, with the reason (net's text, or why the server
 * certificate was refused) that goes into the Warning of a 504 when every
 * outbound target failed. reason may be NULL. */
void proxy_on_conn_failed(proxy_t *p, proxy_conn_t *c, int code, const char *reason);

/* Gives the proxy a resolver for dns-srv routing and FQDN next hops (not
 * owned; must outlive p, or be replaced by NULL first). */
void proxy_set_dns(proxy_t *p, dns_t *dns);

/* Runs the timers that are due. */
void proxy_tick(proxy_t *p);

/* Number of open transactions, including those that only linger to
 * absorb an ACK or pass 2xx retransmissions. */
size_t proxy_txn_count(const proxy_t *p);

/* Number of transactions still waiting for a final response (what a
 * graceful stop waits for). */
size_t proxy_pending_count(const proxy_t *p);

/* Answers every transaction still waiting for a final response with 503
 * (Warning: reason, Retry-After: 30), for a stop that cannot wait longer. */
void proxy_abort_pending(proxy_t *p, const char *reason);

void proxy_stats(const proxy_t *p, proxy_stats_t *s);

#endif
