/* net.h — the transport room: TCP and TLS (OpenSSL 3 over memory BIOs)
 * listeners and outbound connections on a libuv loop, the peer's identity
 * from its certificate (RFC 5922), connection reuse (RFC 5923), timeouts,
 * per-address limits and bounded write queues.
 *
 * Protocol-agnostic: a connection carries bytes and a peer identity. Framing
 * (SIP, later XMPP) belongs to the layer above, which keeps its own buffer.
 *
 * Threading: everything here runs on the one libuv loop given to net_new();
 * no function may be called from another thread. Inbound TLS handshakes
 * are the exception inside: their steps run on libuv's thread pool (every
 * core), the connection coming back to the loop when ready; no callback
 * of the layer above ever runs off the loop.
 *
 * Lifetimes (STYLE.md habit 6): a net_conn_t is freed only from its libuv
 * close callback, after its on_close callback has returned. Calling
 * net_conn_close() (or any other function here) from inside any net
 * callback, for the same or another connection, is safe; the pointer stays
 * valid until on_close has returned.
 *
 * net_new() sets SIGPIPE to be ignored, process-wide: a write racing the
 * peer's close then fails with EPIPE and closes that connection only.
 *
 * Errors: functions return 0 or a negative FEDGE_E* code (base/base.h) and,
 * where they take one, fill a fedge_err_t with a message for a user. */
#ifndef FEDGE_NET_H
#define FEDGE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

#include "base/base.h"

typedef struct net net_t;                   /* one per loop */
typedef struct net_tls net_tls_t;           /* a TLS configuration */
typedef struct net_listener net_listener_t; /* one listening socket */
typedef struct net_conn net_conn_t;         /* one TCP or TLS connection */

/* ------------------------------------------------------------------ */
/* TLS configuration                                                   */
/* ------------------------------------------------------------------ */

typedef struct {
    /* PEM files. certificate may hold the leaf followed by its chain.
     * Both are required for a listener; for outbound-only use they may be
     * NULL (then no client certificate is offered). */
    const char *certificate;
    const char *private_key;
    /* Trust anchors for verifying the peer: a PEM bundle, an OpenSSL
     * hashed directory, or both. Both NULL: the system default store. */
    const char *ca_file;
    const char *ca_path;
    /* Server side only. true: a client must present a certificate that
     * verifies against the trust anchors and is fit for TLS client use
     * (clientAuth EKU when an EKU is present); otherwise the handshake
     * fails. false: a certificate is requested but optional; one that
     * fails verification does not fail the handshake, the connection is
     * accepted with net_peer_t.verified false and verify_error set.
     * The client side (net_connect) always requires a server certificate
     * that verifies and is fit for TLS server use (serverAuth). */
    bool require_client_certificate;
    /* "1.2" or "1.3"; NULL means "1.2". */
    const char *min_version;
    /* Certificate revocation lists (RFC 5280 §5) for the peers'
     * certificates: a PEM file of CRLs, an OpenSSL hashed directory of
     * them (HASH.r0), or both. Either set: every certificate of a peer's
     * chain is checked (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL),
     * so a CRL of each CA is needed; a revoked one fails the handshake
     * ("certificate revoked"). Reloaded with net_tls_reload. */
    const char *crl_file;
    const char *crl_path;
} net_tls_opts_t;

/* Builds a TLS configuration from o (the strings are copied; the files are
 * read now). On success *out owns it; free with net_tls_free(). Errors:
 * FEDGE_ECONFIG (bad min_version, unreadable file, key not matching the
 * certificate, bad CA file/path, a CRL file without a CRL) with the file and
 * OpenSSL's reason in e. */
int net_tls_new(const net_tls_opts_t *o, net_tls_t **out, fedge_err_t *e);

/* Re-reads the certificate, key, trust anchors and CRLs from the same paths (for
 * SIGHUP: the server wires the signal, this never touches signals). New
 * handshakes use the new files; established and in-progress connections
 * keep the configuration they started with. On failure the old
 * configuration stays in use and the error says why (FEDGE_ECONFIG). */
int net_tls_reload(net_tls_t *t, fedge_err_t *e);

/* Releases t. Listeners and connections still using it keep working
 * (they hold their own reference to the OpenSSL context); but t itself
 * must not be used or passed to new net_listen/net_connect calls after. */
void net_tls_free(net_tls_t *t);

/* ------------------------------------------------------------------ */
/* The per-loop transport                                              */
/* ------------------------------------------------------------------ */

enum { NET_LOG_DEBUG = 0, NET_LOG_INFO = 1, NET_LOG_WARN = 2, NET_LOG_ERROR = 3 };

/* Logging hook: level NET_LOG_*, c the connection concerned or NULL, msg a
 * one-line English text (valid only during the call). Handshake refusals,
 * limit refusals and timeouts are logged here at NET_LOG_INFO/WARN with the
 * remote address and reason (e.g. "[::1]:40312 handshake failed: certificate
 * verify failed: certificate has expired"). */
typedef void (*net_log_cb)(void *log_user, int level, net_conn_t *c, const char *msg);

/* Admission (accept path), in this order, for each accepted connection:
 * 1. max_connections_per_ip: inbound connections from one address;
 * 2. the budget of the listener's tag (net_listen_opts_t.max_connections;
 *    all listeners with one tag share it, so a flood on one side never
 *    takes the other side's room; outbound connections have their own,
 *    max_outbound): a known address may take the last reserved_known
 *    places, an unknown one may not; when the budget is full a known
 *    address sheds one unknown connection of that tag (the oldest still in
 *    its TLS handshake, else the oldest unknown one) instead of being
 *    refused;
 * 3. TLS listeners, unknown addresses only: handshake_rate per address
 *    (a token bucket) and max_handshakes in progress per tag — when full,
 *    the oldest unknown handshake of that tag is dropped for the newcomer,
 *    so that connections that never finish their handshake cannot hold
 *    the places of those that would.
 * A "known" address completed a verified TLS handshake (either direction)
 * within known_ttl_ms, or was named by net_mark_known(); known addresses
 * are kept in a bounded cache (known_peers entries, oldest replaced).
 * A refused connection is closed at once and only logged and counted. */
typedef struct {
    /* Every field: 0 means the default in brackets. */
    size_t max_connections;        /* default budget of each listener tag
                                      (10000); see net_listen_opts_t */
    size_t max_connections_per_ip; /* inbound from one IP address (64) */
    uint32_t handshake_timeout_ms; /* TCP connect + TLS handshake (10000) */
    uint32_t idle_timeout_ms;      /* no byte in or out (300000);
                                      UINT32_MAX disables */
    size_t max_queued_bytes;       /* unsent bytes per connection (1 MiB):
                                      exceeding it closes that connection */
    size_t read_buffer_size;       /* one shared read buffer per net (16 KiB) */
    size_t max_outbound;           /* outbound connections open at once (1000) */
    size_t max_handshakes;         /* inbound TLS handshakes in progress per
                                      listener tag, unknown addresses (500) */
    uint32_t handshake_rate;       /* inbound TLS handshakes started per second
                                      per unknown address (20; burst:
                                      max_connections_per_ip); UINT32_MAX
                                      disables */
    size_t known_peers;            /* known-address cache entries (4096) */
    uint32_t known_ttl_ms;         /* how long an address stays known (24 h) */
    net_log_cb log;                /* may be NULL */
    void *log_user;
    /* Refused connections and failed inbound handshakes — what an
     * unauthenticated peer can cause at will — go here instead of to log
     * when set, so that the layer above can summarise them per interval
     * (obs_summary_t): kind "refused" or "handshake failed", reason the
     * limit ("max_connections", ...) or TLS reason, ip the remote address
     * (NULL for "accept failed: ..."); all valid during the call. */
    void (*log_event)(void *log_user, const char *kind, const char *reason, const char *ip);
} net_opts_t;

/* Creates the transport on loop (o may be NULL for all defaults). It starts
 * one timer on the loop for timeouts. Free with net_destroy(). Errors:
 * FEDGE_EINVAL. */
int net_new(uv_loop_t *loop, const net_opts_t *o, net_t **out, fedge_err_t *e);

/* Stops every listener (no new connections; existing ones carry on). */
void net_stop_accepting(net_t *n);

/* Closes every connection (each one the layer above knows gets its
 * on_close, code FEDGE_ECLOSED, "shutting down"). TLS connections send close_notify first; pending
 * writes get a short bounded grace, then the socket is closed regardless. */
void net_close_all(net_t *n);

/* Stops accepting, closes every connection and the timer, and frees n once
 * the loop has run the close callbacks (run the loop until it returns).
 * n must not be used after this call; on_close callbacks still fire. */
void net_destroy(net_t *n);

typedef struct {
    size_t open;            /* connections now open (any state) */
    size_t open_tls;        /* of which TLS */
    uint64_t accepted;      /* inbound TCP connections accepted */
    uint64_t refused_limit; /* refused by admission (any reason below) */
    uint64_t refused_rate;  /* of which by handshake_rate */
    uint64_t shed;          /* unknown connections closed to admit another */
    size_t open_out;        /* outbound connections now open */
    uint64_t handshakes_ok; /* TLS handshakes completed (in + out) */
    uint64_t handshakes_failed;
    uint64_t handshakes_resumed;  /* of handshakes_ok: session resumed */
    uint64_t timeouts;            /* handshake or idle timeouts */
    uint64_t overflows;           /* closed for max_queued_bytes */
    uint64_t bytes_in, bytes_out; /* application bytes (after TLS) */
    uint64_t socket_writes;       /* write system calls started (after TLS) */
} net_stats_t;

/* Copies the counters into *s. */
void net_stats(const net_t *n, net_stats_t *s);

/* ------------------------------------------------------------------ */
/* Connections: callbacks                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    /* The connection is usable: TCP connected, and for TLS the handshake
     * completed (net_conn_peer() now holds the identity). Inbound: the
     * first callback the layer above sees for a connection; a connection
     * refused before this point (limits, failed handshake, timeout) is
     * never shown to the layer above, only logged and counted. */
    void (*on_ready)(net_conn_t *c);
    /* len > 0 bytes arrived (plaintext). buf is valid only during the
     * call: the layer above copies what it keeps. */
    void (*on_data)(net_conn_t *c, const char *buf, size_t len);
    /* Called exactly once for every connection that got on_ready, and for
     * every outbound connection (even if it never got ready), from the
     * libuv close callback; c is freed right after it returns. code: 0
     * when closed by net_conn_close(); FEDGE_ECLOSED peer closed or
     * shutdown; FEDGE_ETIMEDOUT handshake or idle timeout; FEDGE_ETLS TLS
     * handshake/record failure; FEDGE_ELIMIT write queue overflow;
     * FEDGE_EIO socket error (e.g. "connection refused"). reason is
     * English text, valid during the call.
     * Note (TLS 1.3): a client finishes its handshake before the server
     * has judged the client certificate, so an outbound connection whose
     * certificate the server refuses gets on_ready and then on_close
     * (FEDGE_ETLS, the server's alert, e.g. "tlsv13 alert certificate
     * required"); bytes written in between are lost. */
    void (*on_close)(net_conn_t *c, int code, const char *reason);
} net_conn_cbs_t;

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */

typedef struct {
    /* "0.0.0.0:5061", "127.0.0.1:0", "[::]:5061", "[::1]:5061". An IPv6
     * listener is IPv6-only, so [::] and 0.0.0.0 can both be bound. Port 0
     * picks a free port (see net_listener_port). */
    const char *host_port;
    net_tls_t *tls;         /* NULL: plain TCP; else TLS server with this
                               configuration (referenced, not owned; see
                               net_tls_free) */
    void *tag;              /* side tag copied to every accepted
                               connection (net_conn_tag) */
    void *user;             /* initial net_conn_user() of every
                               accepted connection (the layer above's
                               context, so that it needs no global) */
    net_conn_cbs_t cbs;     /* callbacks for accepted connections */
    size_t max_connections; /* budget shared by the listeners with this
                               tag (0: net_opts_t.max_connections; the
                               first nonzero value given for a tag wins) */
    size_t reserved_known;  /* of that budget, places only known
                               addresses may take (0: none; less than
                               max_connections) */
} net_listen_opts_t;

/* Binds and listens. *out (may be NULL) receives the listener, owned by n
 * (closed by net_stop_accepting/net_destroy or net_listener_close).
 * Errors: FEDGE_EINVAL bad host_port; FEDGE_EIO bind/listen failure (e.g.
 * "address already in use"), with the address in e. */
int net_listen(net_t *n, const net_listen_opts_t *o, net_listener_t **out, fedge_err_t *e);

/* The bound port (useful after port 0). */
uint16_t net_listener_port(const net_listener_t *l);

/* Stops this listener; existing connections carry on. */
void net_listener_close(net_listener_t *l);

/* ------------------------------------------------------------------ */
/* Outbound connections                                                */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *host; /* IP literal (v4, v6 with or without brackets) or a
                         host name resolved with getaddrinfo (addresses
                         tried in order). DNS SRV is the dns/ room's job. */
    uint16_t port;
    net_tls_t *tls;  /* NULL: plain TCP; else TLS client */
    const char *sni; /* server name sent in the ClientHello; NULL: host
                        when host is not an IP literal. net does NOT check
                        that the certificate names it: compare
                        net_conn_peer() names yourself (RFC 5922 §7.3). */
    void *tag;       /* side tag (net_conn_tag) */
    void *user;      /* initial net_conn_user() */
    net_conn_cbs_t cbs;
} net_connect_opts_t;

/* Marks ip ("192.0.2.1", "2001:db8::1") as a known address now (for
 * addresses the layer above trusts: partners' servers it resolved).
 * Returns 0 or FEDGE_EINVAL when ip is not an IP literal. */
int net_mark_known(net_t *n, const char *ip);

/* True when ip is a known address (see admission above). */
bool net_is_known(net_t *n, const char *ip);

/* Starts an asynchronous connection. On return *out is a connection in the
 * connecting state: it may be written to at once (bytes are queued until
 * ready, within max_queued_bytes) and is found by net_find_conn() under
 * "host:port". The outcome is on_ready, or on_close with a reason (connect
 * refused, name not resolved, handshake failed with the verification error,
 * timeout). Errors returned here (nothing was started, no callback will
 * come): FEDGE_EINVAL bad arguments or address, FEDGE_ELIMIT
 * max_outbound, FEDGE_EIO the resolver could not be started. */
int net_connect(net_t *n, const net_connect_opts_t *o, net_conn_t **out, fedge_err_t *e);

/* ------------------------------------------------------------------ */
/* Using a connection                                                  */
/* ------------------------------------------------------------------ */

/* Copies len bytes into the connection's queue and sends as soon as the
 * socket allows: the bytes written on one connection during one loop turn
 * (callbacks of one I/O poll, or timers) are gathered and leave together
 * at the end of the turn, as one TLS write (records of up to 16 KiB) and
 * one socket write; net_conn_close sends them first. Returns 0;
 * FEDGE_ECLOSED if the connection is closing; FEDGE_ELIMIT if the unsent bytes would exceed
 * max_queued_bytes — the connection is then closed (on_close later with
 * FEDGE_ELIMIT): a stuck peer loses its own connection and never stalls
 * others. Writing resets the idle timer. */
int net_conn_write(net_conn_t *c, const char *buf, size_t len);

/* As net_conn_write for the concatenation of n slices (one TLS record when
 * it fits). */
int net_conn_writev(net_conn_t *c, const fedge_str_t *parts, size_t n);

/* STARTTLS (RFC 6120 §5, RFC 3207): turns a ready plain TCP connection into
 * a TLS one in place. From this call every byte on the socket belongs to a
 * TLS handshake in the role server_side says (server: with tls's
 * certificate, asking for a client certificate as tls says; client:
 * verifying the server as net_connect does, sending sni when not NULL).
 * The connection is not ready until the handshake ends; then on_ready is
 * called a second time, now with net_conn_is_tls true and net_conn_peer
 * set; or on_close comes (FEDGE_ETLS with the reason, FEDGE_ETIMEDOUT after
 * handshake_timeout_ms from this call). Bytes written before the call
 * (e.g. the protocol's "proceed") leave first, in plaintext; bytes written
 * after it are queued (within max_queued_bytes) and sent encrypted once
 * ready. Plaintext the
 * peer sent after its last protocol element and before the handshake is
 * the caller's to refuse: call this from on_data once the protocol says
 * the handshake is next. tls is referenced, not owned. Errors (nothing
 * changed): FEDGE_EINVAL (c not ready, closing or already TLS; no
 * certificate in tls for the server side), FEDGE_ETLS (no TLS session),
 * FEDGE_ECLOSED (sending what was written before failed). */
int net_conn_starttls(net_conn_t *c, net_tls_t *tls, bool server_side, const char *sni);

/* Closes the connection: no more on_data; pending bytes get a short bounded
 * grace (NET__CLOSE_GRACE_MS) to go out (after a TLS close_notify), then a
 * FIN; what the peer still sends is read and dropped until its EOF, so the
 * close never turns into a reset that could destroy the last answer; then
 * on_close(c, 0, "closed locally") from the loop. Safe from any callback;
 * idempotent. */
void net_conn_close(net_conn_t *c);

/* Deadline: c is closed (on_close FEDGE_ETIMEDOUT, reason "deadline
 * passed: <what>") when it is still open ms from now, whatever bytes
 * arrive meanwhile. For the framing layer: arm it when a message starts,
 * clear it when the message is complete, so that a peer trickling bytes
 * cannot hold a connection (the idle timeout is reset by every byte).
 * what must be a string literal or outlive c. Setting again replaces the
 * previous deadline; ms 0 clears it. Checked by the sweep timer (at most
 * a quarter of the shortest timeout, and 1 s, late). */
void net_conn_set_deadline(net_conn_t *c, uint32_t ms, const char *what);

/* User pointer (net_listen_opts_t.user at accept; net_connect_opts_t.user
 * for outbound). */
void net_conn_set_user(net_conn_t *c, void *user);
void *net_conn_user(const net_conn_t *c);

/* The listener's or net_connect's tag. */
void *net_conn_tag(const net_conn_t *c);

/* True when c runs over TLS (from the start, not only once the handshake
 * ends); true when c was accepted by a listener rather than net_connect. */
bool net_conn_is_tls(const net_conn_t *c);
bool net_conn_is_inbound(const net_conn_t *c);
/* True between on_ready and the start of closing. */
bool net_conn_is_ready(const net_conn_t *c);

/* Remote address as "192.0.2.1:5061" or "[2001:db8::1]:5061" ("" while an
 * outbound connection is still resolving). Valid while c is. */
const char *net_conn_remote(const net_conn_t *c);
/* Remote IP without port ("192.0.2.1", "2001:db8::1") and port. */
const char *net_conn_remote_ip(const net_conn_t *c);
uint16_t net_conn_remote_port(const net_conn_t *c);

/* Local address of the socket in the same format, written into buf.
 * Returns 0, FEDGE_ENOSPC, or FEDGE_EIO if not connected. */
int net_conn_local(const net_conn_t *c, char *buf, size_t size);

/* For outbound connections the "host:port" they were opened to (host as
 * given, IPv6 in brackets); NULL for inbound. */
const char *net_conn_target(const net_conn_t *c);

/* TLS server name: inbound, the SNI the client asked for (NULL if none);
 * outbound, the one we sent (NULL if none). NULL for plain TCP. */
const char *net_conn_sni(const net_conn_t *c);

/* True when c's TLS handshake resumed an earlier session (a ticket) instead
 * of a full handshake; false for plain TCP and before on_ready. A resumed
 * connection's net_conn_peer() is the identity the full handshake
 * verified, carried in the ticket (see docs/proxy.md "Handshakes"). */
bool net_conn_resumed(const net_conn_t *c);

/* ------------------------------------------------------------------ */
/* Peer identity (RFC 5922)                                            */
/* ------------------------------------------------------------------ */

typedef struct {
    bool presented;           /* the peer sent a certificate */
    bool verified;            /* its chain verified against our trust anchors
                                 and it is fit for the role it played */
    const char *verify_error; /* OpenSSL's text when presented && !verified
                                 ("certificate has expired", "unable to get
                                 local issuer certificate", ...), else NULL */
    /* Names, all lower-cased, NUL-terminated:
     * dns: subjectAltName dNSName values (wildcards kept as written);
     * sip: host parts of subjectAltName URIs with scheme "sip" and no user
     *      part (RFC 5922 §7.1: "sips" URIs and URIs with a user part are
     *      not domain identities and are left out);
     * cn:  the subject CN, set only when the certificate has no
     *      subjectAltName extension at all (RFC 5922 §7.1), else NULL. */
    const char *const *dns;
    size_t n_dns;
    const char *const *sip;
    size_t n_sip;
    const char *cn;
    const char *subject; /* one-line subject DN for logs, or NULL */
    time_t not_after;    /* certificate notAfter (UTC), 0 if none */
    /* EKU fit for the role the peer played: clientAuth for a peer that
     * connected to us, serverAuth for a server we connected to (a
     * certificate without EKU extension is fit for both). */
    bool eku_ok;
} net_peer_t;

/* The identity of c's peer. NULL for plain TCP and before on_ready. Valid
 * while c is (until on_close returns). */
const net_peer_t *net_conn_peer(const net_conn_t *c);

/* True when p is verified and the certificate names host: net_cert_names
 * on a verified peer. This is the test for "the certificate names host X"
 * used for connection reuse (RFC 5923) and for checking that a server is
 * the edge we meant (its SRV target or configured FQDN, which Lync-style
 * and public-CA certificates carry as DNS SANs). */
bool net_peer_names(const net_peer_t *p, const char *host);

/* True when p is verified and domain is one of its SIP domain identities:
 * net_cert_is_domain on a verified peer. */
bool net_peer_is_domain(const net_peer_t *p, const char *domain);

/* The identity in a certificate, read by the very routine that reads a
 * connection's peer (same names, same rules, see net_peer_t), so that
 * `fedge check` and `fedge plan` judge a certificate file as the running
 * edge judges the peer that presents it. x is OpenSSL's X509 (not taken;
 * NULL gives an identity with no names). presented is x != NULL; verified
 * and eku_ok are false and verify_error NULL: nothing was verified, ask
 * the name questions with net_cert_names / net_cert_is_domain. One
 * allocation, released with net_peer_free; aborts on out of memory. */
struct x509_st;
net_peer_t *net_peer_from_x509(const struct x509_st *x);

/* The same for the first certificate of the PEM file path: 0 and *out, or
 * FEDGE_EIO (cannot open) / FEDGE_EINVAL (no PEM certificate) with a
 * message in err and *out NULL. */
int net_peer_load(const char *path, net_peer_t **out, fedge_err_t *err);

/* Frees an identity from net_peer_from_x509 / net_peer_load; NULL is a
 * no-op. (Never for net_conn_peer's: the connection owns that one.) */
void net_peer_free(net_peer_t *p);

/* The name rules, on what the certificate says, verified or not:
 *
 * net_cert_names: the certificate names host anywhere: a dns name, a sip
 * URI host, or the cn (set only when there is no SAN); compared as DNS
 * names (RFC 5922 §7.2: case-insensitive, whole name, a wildcard "*.x"
 * never matches, a host starting with '*' never matches).
 *
 * net_cert_is_domain: domain is one of the SIP domain identities exactly
 * as RFC 5922 §7.1 builds the set: the sip URI hosts; only when there are
 * none, the dns names; only when there is no SAN at all, the cn. Stricter
 * than net_cert_names (a certificate with URI:sip:example.com and
 * DNS:edge.example.com is a domain identity for example.com only).
 *
 * net_cert_wildcard_only: no name matches host, but a dns wildcard "*.x"
 * would under the usual HTTPS rule (host is one label, a dot, then x):
 * worth telling a user why such a certificate is refused. */
bool net_cert_names(const net_peer_t *p, const char *host);
bool net_cert_is_domain(const net_peer_t *p, const char *domain);
bool net_cert_wildcard_only(const net_peer_t *p, const char *host);

/* ------------------------------------------------------------------ */
/* Connection reuse (RFC 5923)                                         */
/* ------------------------------------------------------------------ */

/* Finds an open (not closing) connection to use for sending to key:
 * - key "host:port" (or "[v6]:port"): an outbound connection opened with
 *   that host and port, ready or still connecting;
 * - key "host" (no port): a ready, verified TLS connection, inbound or
 *   outbound, whose peer certificate names host (net_peer_names), so that
 *   a partner that connected to us also carries our requests to it.
 * tag non-NULL restricts the search to connections with that tag. A ready
 * connection is preferred over one still connecting; among equals the
 * most recently active one (activity: bytes in or out). NULL if none.
 * Constant time (a hash index). The pointer is valid until the
 * connection's on_close returns. */
net_conn_t *net_find_conn(net_t *n, const void *tag, const char *key);

/* ------------------------------------------------------------------ */
/* UDP (src/net/udp.c)                                                 */
/* ------------------------------------------------------------------ */

/* One bound UDP socket: a datagram received is handed up whole (one SIP
 * message, RFC 3261 §18.3); sends go to an IP literal and port. */
typedef struct net_udp net_udp_t;

/* A datagram of len > 0 bytes arrived from from_ip ("192.0.2.1",
 * "2001:db8::1") port from_port; buf is valid during the call only.
 * Datagrams larger than max_datagram are dropped, never cut. */
typedef void (*net_udp_recv_fn)(net_udp_t *u, const char *buf, size_t len, const char *from_ip,
                                uint16_t from_port);

/* Binds ip:port (an IP literal, IPv6 with or without brackets; port 0
 * picks one, see net_udp_port) on loop and starts receiving. Returns 0
 * and *out (closed with net_udp_close), or FEDGE_EINVAL (not an IP
 * literal) / FEDGE_EIO (bind failed) with the address in e. */
int net_udp_open(uv_loop_t *loop, const char *ip, uint16_t port, size_t max_datagram,
                 net_udp_recv_fn fn, void *user, net_udp_t **out, fedge_err_t *e);
void *net_udp_user(const net_udp_t *u);
uint16_t net_udp_port(const net_udp_t *u);
/* Datagrams dropped because they were larger than max_datagram. */
uint64_t net_udp_dropped(const net_udp_t *u);

/* Sends one datagram now (buf is not kept). Returns 0, or FEDGE_EINVAL
 * (ip is not an IP literal), FEDGE_ECLOSED, FEDGE_EIO (the socket refused
 * it: the datagram is lost, as UDP may lose any). */
int net_udp_send(net_udp_t *u, const char *ip, uint16_t port, const char *buf, size_t len,
                 fedge_err_t *e);

/* Stops receiving and frees u once the loop has closed its handle (u must
 * not be used after). NULL is a no-op. */
void net_udp_close(net_udp_t *u);

#endif
