/* net_int.h — internals shared by the files of src/net/ (not public). */
#ifndef FEDGE_NET_INT_H
#define FEDGE_NET_INT_H

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/net.h"

/* Gathered-plaintext buffers kept for reuse (net_t.spare), and the largest
 * capacity kept: a buffer grown by a burst is freed, not kept. */
#define NET__SPARES 4
#define NET__SPARE_MAX (64u * 1024)

/* Grace given to a closing connection to flush its last bytes (TLS alert or
 * close_notify, queued data) before the socket is closed regardless. */
#define NET__CLOSE_GRACE_MS 2000

/* A TLS configuration: the current OpenSSL context plus what is needed to
 * rebuild it. Reference-counted: listeners hold a reference, so
 * net_tls_free() by the owner never pulls it from under them. */
struct net_tls {
    SSL_CTX *ctx;
    char *certificate, *private_key, *ca_file, *ca_path;
    char *crl_file, *crl_path; /* revocation lists (tls.c load_crls), or NULL */
    bool require_client;
    int min_version; /* TLS1_2_VERSION or TLS1_3_VERSION */
    unsigned refs;
};

/* Takes / drops one reference to t; the last unref frees the context and
 * the file names (NULL is a no-op for unref). Not atomic. */
void net__tls_ref(net_tls_t *t);
void net__tls_unref(net_tls_t *t);

/* Creates the SSL object of one connection on the current context of t,
 * wired to a BIO that reads from c->in/c->in_len and writes through
 * net__conn_send_raw(). server: accept side. NULL on failure. */
SSL *net__tls_ssl_new(net_tls_t *t, net_conn_t *c, bool server, const char *sni);

/* One step of an inbound TLS handshake run on libuv's thread pool (net.c,
 * "Handshakes off the loop"): the ciphertext received so far goes in, the
 * records OpenSSL writes come out. While a job runs the loop touches
 * neither c->ssl nor c->in, and c is not freed (hard_close waits). */
struct net__hsjob {
    uv_work_t req;
    net_conn_t *conn;
    char *in; /* owned: ciphertext to feed (c->in points into it) */
    size_t in_len;
    char *out; /* owned: records to send, written by the BIO */
    size_t out_len, out_cap;
    int result; /* 1 finished, 0 wants more input, -1 failed (why) */
    char why[300];
};

/* Client sessions kept for resumption (tls.c): per "target|sni", the
 * context it was made under (referenced, so a reload's new context never
 * resumes an old session: its trust anchors may differ). */
#define NET__SESSIONS 64
struct net__session {
    char *key;
    SSL_CTX *ctx;
    SSL_SESSION *sess;
    uint64_t at_ms;
};

/* Outbound: offers the cached session for c's target and SNI, if any,
 * made under ssl's context. */
void net__tls_offer_session(net_conn_t *c, SSL *ssl);

/* Frees the session cache of n. */
void net__tls_sessions_free(net_t *n);

/* Builds the peer identity of a finished handshake (one allocation, free
 * with free()). inbound: the peer played the client role. */
net_peer_t *net__peer_from_ssl(SSL *ssl, bool inbound);

/* Text for a failed handshake or TLS record error: the certificate
 * verification error when there is one, else OpenSSL's reason. Clears the
 * OpenSSL error queue. */
void net__tls_reason(SSL *ssl, int ssl_err, char *buf, size_t size);

/* Empties this thread's OpenSSL error queue, as SSL_get_error needs before
 * an SSL call. Peeks first: ERR_clear_error walks every slot of the queue
 * (hundreds of instructions), and on the relay path the queue is empty. */
static inline void net__tls_clear_errors(void)
{
    if (ERR_peek_error())
        ERR_clear_error();
}

/* One entry of the reuse index (reuse.c): a key under which a connection
 * can be found. key points into the connection's own strings. */
struct net__alias {
    fedge_map_node_t node; /* in net_t.aliases, under fedge_hash_ci(key) */
    net_conn_t *conn;
    const char *key; /* NULL when not in the index */
    bool target;     /* "host:port" of an outbound connection, else a name */
};

/* The connection budget of one listener tag (net.c): inbound connections
 * open (not closing) and TLS handshakes in progress, the latter also as a
 * list, oldest first, to drop the oldest unknown one when full. */
struct net__pool {
    void *tag;
    size_t max, reserved, open, handshaking;
    net_conn_t *hs_head, *hs_tail;
};

/* One entry of a bounded address cache (known addresses, handshake rate
 * buckets): set-associative, the oldest entry of a full set replaced. */
struct net__addrent {
    uint8_t key[17]; /* family byte + address; key[0] == 0: free */
    uint64_t at_ms;  /* known: last verified; rate: last refill */
    uint32_t tokens; /* rate: handshakes left, in thousandths */
};

struct net_listener {
    uv_tcp_t tcp;
    net_t *net;
    struct net__pool *pool;
    net_tls_t *tls; /* referenced, may be NULL */
    void *tag;
    void *user; /* initial user pointer of accepted connections */
    net_conn_cbs_t cbs;
    uint16_t port;
    bool closing;
    net_listener_t *next, *prev;
};

struct net_conn {
    uv_tcp_t tcp; /* first: handle->data is the conn too */
    net_t *net;
    net_conn_t *next, *prev; /* n->conns */
    net_conn_cbs_t cbs;
    void *user, *tag;
    SSL *ssl;                           /* NULL for plain TCP */
    net_tls_t *tls;                     /* referenced: outbound TLS until connected; inbound
                                           TLS for the connection's life (the SSL object is
                                           made from it once a first record is whole) */
    net_peer_t *peer;                   /* after a completed TLS handshake */
    char *target;                       /* outbound: "host:port" as looked up by reuse */
    char *sni;                          /* outbound TLS: server name to send */
    struct net__resolve *resolving;     /* outbound while getaddrinfo runs */
    struct addrinfo *addrs, *addr_next; /* outbound: addresses to try */
    /* plaintext written before an outbound connection got ready, or
     * written during this loop turn on a ready one (sent as one TLS write
     * / one socket write when the turn ends: net.c flush_turn) */
    char *pend;
    size_t pend_len, pend_cap;
    net_conn_t *dnext, *dprev; /* n->dirty: ready with pend to flush */
    bool dirty;
    /* ciphertext being fed to OpenSSL during a read callback */
    const char *in;
    size_t in_len;
    uint64_t created_ms, active_ms, close_deadline_ms;
    char *close_reason;
    char *bad_subject; /* subject of a peer certificate that failed */
    /* inbound TLS before ready: the handshake job on the thread pool, and
     * ciphertext that arrived while it ran (fed by the next job) */
    struct net__hsjob *hs_job; /* set only while the job runs */
    char *hs_in;
    size_t hs_in_len, hs_in_cap;
    bool hs_busy, hs_close_deferred;
    int close_code;
    struct net__alias target_alias;  /* outbound: indexed under target */
    struct net__alias *name_aliases; /* verified peer names, at ready */
    size_t n_name_aliases;
    uint8_t ipkey[17];             /* family byte + address, for the per-IP table */
    struct net__pool *pool;        /* inbound: the listener tag's budget */
    net_conn_t *hs_next, *hs_prev; /* pool's handshake list */
    uint64_t deadline_ms;          /* 0: none (net_conn_set_deadline) */
    const char *deadline_what;
    bool known, in_budget, in_handshake, out_counted;
    bool inbound, connected, ready, closing, uv_closing, notify, ip_counted;
    /* lingering close (net.c conn_close): our FIN is out, the peer's EOF came */
    bool shut_done, peer_done;
    bool reconnecting, overflowed;
    bool upgrading;      /* net_conn_starttls: handshake on a ready plain conn */
    uint64_t upgrade_ms; /* when the upgrade began (handshake timeout) */
    char remote[56];
    char ip[46];
    uint16_t port;
};

struct net {
    uv_loop_t *loop;
    net_opts_t o;
    uv_timer_t timer;
    net_listener_t *listeners;
    net_conn_t *conns;
    size_t live_handles; /* listeners + conns + timer not yet closed */
    bool destroying;
    char *rbuf; /* shared ciphertext/TCP read buffer */
    char *pbuf; /* shared plaintext buffer for SSL_read */
    /* writes batched per loop turn: the connections with plaintext to
     * send, flushed by a check handle (after I/O callbacks) and a prepare
     * handle (after timers, before the loop blocks) */
    net_conn_t *dirty;
    uv_check_t flush_check;
    uv_prepare_t flush_prepare;
    /* while one SSL_write runs: the connection whose records are gathered
     * into cork, sent as one socket write afterwards */
    net_conn_t *corked;
    char *cork;
    size_t cork_len, cork_cap;
    /* gathered-plaintext buffers (net_conn_t.pend) given back by flushed
     * connections, lent to the next connection written to: an idle
     * connection holds none, and a relayed message costs no malloc/free
     * pair per side (net.c gather, flush_conn) */
    struct {
        char *buf;
        size_t cap;
    } spare[NET__SPARES];
    unsigned nspare;
    fedge_map_t iptab;   /* struct net__ipent by address (net.c) */
    fedge_map_t aliases; /* the reuse index: struct net__alias (reuse.c) */
    net_stats_t st;
    struct net__pool **pools; /* one per listener tag */
    size_t npools;
    struct net__addrent *known, *rate; /* bounded caches, power of two */
    size_t known_size, rate_size;
    size_t peak_open; /* most connections open since memory was last trimmed */
    struct net__session sessions[NET__SESSIONS]; /* outbound resumption (tls.c) */
};

/* Sends raw bytes on the socket (ciphertext for TLS): tries a direct
 * write, queues the rest. May start closing c (overflow, socket error). */
void net__conn_send_raw(net_conn_t *c, const char *buf, size_t len);

/* Reuse index (reuse.c). add_target: after c->target is set; add_names:
 * when a TLS connection got ready with a verified peer; remove: when c
 * starts closing (a closing connection is never offered); free: at the
 * end of n. */
void net__reuse_add_target(net_conn_t *c);
void net__reuse_add_names(net_conn_t *c);
void net__reuse_remove(net_conn_t *c);
void net__reuse_free(net_t *n);

#endif
