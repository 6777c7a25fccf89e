/* xmpp.h — the XMPP room: the server-to-server stream parser (RFC 6120 on
 * expat, with the restricted XML of RFC 6120 §11 and byte, depth and
 * allocation bounds), the stanza tree it produces, the XML writer used to
 * answer, and the server-to-server service (s2s.c) that runs streams on
 * net/ and dns/.
 *
 * The parser and the writer are pure: no I/O, no loop. Everything a peer sends is bounded before
 * expat sees it (see xmpp_limits_t), DTDs, entity declarations, comments and processing
 * instructions are refused (RFC 6120 §11.1), so a "billion laughs" document, a 10 MB stanza, deep
 * nesting or a stream header that never ends each stop the parser with a stream error condition and
 * bounded memory.
 *
 * Errors: functions return 0 or a negative FEDGE_E* code (base/base.h). */
#ifndef FEDGE_XMPP_H
#define FEDGE_XMPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "dns/dns.h"
#include "net/net.h"

/* Namespaces of RFC 6120 and XEP-0220. */
#define XMPP_NS_STREAMS "http://etherx.jabber.org/streams"
#define XMPP_NS_SERVER "jabber:server"
#define XMPP_NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define XMPP_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define XMPP_NS_STREAM_ERR "urn:ietf:params:xml:ns:xmpp-streams"
#define XMPP_NS_STANZA_ERR "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XMPP_NS_DIALBACK "jabber:server:dialback"
#define XMPP_NS_DIALBACK_FEATURE "urn:xmpp:features:dialback"
#define XMPP_NS_XML "http://www.w3.org/XML/1998/namespace"

/* ------------------------------------------------------------------ */
/* The stanza tree                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *ns;   /* namespace URI, "" when none */
    const char *name; /* local name */
    const char *value;
} xmpp_attr_t;

/* One element. Strings are NUL-terminated UTF-8 (expat checked them) and
 * live in the parser's per-stanza arena: valid only during the callback
 * that hands the tree over. */
typedef struct xmpp_node {
    const char *ns;   /* namespace URI ("" when none) */
    const char *name; /* local name */
    xmpp_attr_t *attrs;
    size_t n_attrs;
    struct xmpp_node *parent, *children, *next; /* children in document order */
    const char *text;                           /* character data directly inside, concatenated */
    size_t text_len;
} xmpp_node_t;

/* The value of the attribute with no namespace called name, or NULL. */
const char *xmpp_attr(const xmpp_node_t *n, const char *name);

/* The first child element with namespace ns (NULL: any) and local name name
 * (NULL: any), or NULL. */
const xmpp_node_t *xmpp_child(const xmpp_node_t *n, const char *ns, const char *name);

/* True when n is ns/name. */
bool xmpp_is(const xmpp_node_t *n, const char *ns, const char *name);

/* ------------------------------------------------------------------ */
/* The stream parser                                                   */
/* ------------------------------------------------------------------ */

typedef struct {
    /* Every field: 0 means the default in brackets. */
    size_t max_stanza_bytes; /* bytes of one stanza, and of whitespace
                                between stanzas, as sent (262144) */
    size_t max_header_bytes; /* bytes before the stream header ends, XML
                                declaration included (4096) */
    unsigned max_depth;      /* element depth inside a stanza: the stanza
                                itself is 1 (32) */
    size_t max_token_bytes;  /* bytes of one tag (a start tag with its
                                attributes) or of any stretch without an
                                XML event (16384); text is reported in
                                pieces and is bounded only by the stanza */
} xmpp_limits_t;

typedef struct xmpp_parser xmpp_parser_t;

typedef struct {
    /* The stream header <stream:stream ...> was read: root holds its
     * attributes (to, from, version, id, xml:lang). Default namespace of
     * the stream content: content_ns ("jabber:server" for s2s). */
    void (*on_open)(void *user, const xmpp_node_t *root, const char *content_ns);
    /* One complete top-level element (a stanza, or a stream-level element:
     * features, starttls, auth, db:result, stream:error). The tree is
     * valid only during the call. */
    void (*on_stanza)(void *user, const xmpp_node_t *stanza);
    /* The peer closed the stream with </stream:stream>. */
    void (*on_close)(void *user);
} xmpp_parser_cbs_t;

/* A new parser for one stream (lim NULL: all defaults; cbs copied). *out
 * is freed with xmpp_parser_free. Aborts on out of memory. */
int xmpp_parser_new(const xmpp_limits_t *lim, const xmpp_parser_cbs_t *cbs, void *user,
                    xmpp_parser_t **out);

void xmpp_parser_free(xmpp_parser_t *p);

/* Feeds len bytes. Returns 0 when all were consumed; 1 when a callback
 * called xmpp_parser_pause (then *consumed says how many bytes were used,
 * up to and including the element that paused; the rest belongs to what
 * comes next, e.g. a TLS handshake or a restarted stream); a negative code
 * on error: FEDGE_EINVAL for XML that is not well-formed or not allowed,
 * FEDGE_ELIMIT for a limit reached — then xmpp_parser_condition() names
 * the stream error to send and the parser refuses further input.
 * consumed may be NULL. */
int xmpp_parser_feed(xmpp_parser_t *p, const char *buf, size_t len, size_t *consumed);

/* From inside a callback: stop after the current element (see feed). */
void xmpp_parser_pause(xmpp_parser_t *p);

/* Starts over with a fresh stream (RFC 6120 §5.4.3.3 after TLS, §6.4.6
 * after SASL): a new header is expected. Not from inside a callback. */
void xmpp_parser_reset(xmpp_parser_t *p);

/* After an error: the RFC 6120 §4.9.3 stream error condition
 * ("not-well-formed", "restricted-xml", "policy-violation",
 * "invalid-namespace", "bad-format", ...) and an English reason. Both ""
 * before any error. */
const char *xmpp_parser_condition(const xmpp_parser_t *p);
const char *xmpp_parser_reason(const xmpp_parser_t *p);

/* Bytes the parser holds now (its arena and expat's buffers as far as it
 * can tell: for tests of the memory bound). */
size_t xmpp_parser_memory(const xmpp_parser_t *p);

/* ------------------------------------------------------------------ */
/* Writing XML                                                         */
/* ------------------------------------------------------------------ */

/* A growable output buffer. Zero-initialize; free with xmpp_buf_free. */
typedef struct {
    char *s;
    size_t len, cap;
} xmpp_buf_t;

void xmpp_buf_free(xmpp_buf_t *b);
/* Appends raw bytes / formatted text (markup the caller wrote). */
void xmpp_buf_add(xmpp_buf_t *b, const char *s, size_t len);
void xmpp_buf_printf(xmpp_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (len bytes) escaped for character data or an attribute value
 * in either quote (& < > " ' as entities). */
void xmpp_buf_esc(xmpp_buf_t *b, const char *s, size_t len);

/* ------------------------------------------------------------------ */
/* Gateway mappings (map.c): pure                                      */
/* ------------------------------------------------------------------ */

/* True when s[0..len) is UTF-8 (shortest form) of XML 1.0 characters only:
 * text both a SIP text/plain body and an XMPP <body/> can carry
 * (RFC 7572 §5). */
bool xmpp_text_ok(const char *s, size_t len);

/* RFC 7247 §4-5: a SIP user part (still %-escaped, len bytes) as a JID
 * localpart: unescaped, ASCII lower-cased, refused (FEDGE_EINVAL) when
 * empty, badly escaped, not UTF-8 or holding a character RFC 7622 §3.3.1
 * forbids (space, controls, " & ' / : < > @). FEDGE_ENOSPC when out (cap
 * bytes) is too small. */
int xmpp_localpart_from_sip(const char *user, size_t len, char *out, size_t cap);

/* The other way: a localpart as a SIP user part, %-escaping what RFC 3261
 * does not allow as is. FEDGE_EINVAL (empty), FEDGE_ENOSPC. */
int xmpp_sip_user_from_localpart(const char *local, char *out, size_t cap);

/* RFC 7247 §8: the SIP status for an XMPP stanza or stream error
 * condition (unknown: 500), and the XMPP condition (with its error type in
 * *type, may be NULL) for a SIP final status >= 300. */
int xmpp_sip_status_from_error(const char *cond);
const char *xmpp_error_from_sip_status(int status, const char **type);

/* A PIDF presence document (RFC 3863, RPID RFC 4480) as the gateway reads
 * it (pidf.c): the first tuple's <basic/>, the first RPID activity, the
 * first <note/> (cut to fit, on a UTF-8 boundary). */
typedef struct {
    bool has_basic;    /* <basic>open|closed</basic> was there */
    bool open;         /* open */
    char activity[32]; /* "away", "busy", ... ("" none) */
    char note[256];
} xmpp_pidf_t;

/* Reads doc (len bytes, at most 64 KiB) with expat: a well-formed
 * <presence xmlns='urn:ietf:params:xml:ns:pidf'> with a <basic/> of open or
 * closed. DTDs, entity declarations and processing instructions are
 * refused (nothing is expanded). 0, or FEDGE_EINVAL (*out zeroed). */
int xmpp_pidf_parse(const char *doc, size_t len, xmpp_pidf_t *out);

/* The XMPP availability for p (RFC 8048 §4.4): "unavailable" (closed),
 * "away" (activity away), "xa" (vacation, sleeping, meal...), "dnd" (busy,
 * on-the-phone, meeting...), else "available". A static string. */
const char *xmpp_pidf_show(const xmpp_pidf_t *p);

/* Several resources of one XMPP user (map.c, pure): what the SIP side
 * sees of a user with a phone and a desktop online is the "most
 * available" resource (docs/xmpp.md, "Several resources"): <show/> chat,
 * then none (available), away, xa, dnd; among equals the one heard from
 * last. Unavailable only when no resource is left. */
#define XMPP_MAX_RESOURCES 16

typedef struct {
    uint64_t id;      /* the resource's hash (FNV-1a, 64 bits) */
    uint64_t seq;     /* when it was last heard from (larger: later) */
    char show[8];     /* "" (available), "chat", "away", "xa" or "dnd" */
    char status[204]; /* the <status/> text, its first 200 bytes on a
                         UTF-8 boundary ("" none) */
} xmpp_resource_t;

/* Zero-initialize; free with xmpp_presence_free. At most
 * XMPP_MAX_RESOURCES entries (allocated as they come). */
typedef struct {
    xmpp_resource_t *r;
    size_t n, cap;
    uint64_t seq;
} xmpp_presence_t;

/* The rank of a <show/> value in the rule above: chat 5, none or one not
 * defined by RFC 6121 §4.7.2.1 4, away 3, xa 2, dnd 1. */
int xmpp_show_rank(const char *show);

/* Records one availability stanza from resource (NUL-terminated, "" for
 * the bare JID): available (with show, may be NULL, and status, slen
 * bytes, may be NULL) or not. An unavailable from the bare JID clears
 * every resource (its server says the user is gone). A new resource when
 * XMPP_MAX_RESOURCES are known replaces the one heard from longest ago. */
void xmpp_presence_update(xmpp_presence_t *p, const char *resource, bool available,
                          const char *show, const char *status, size_t slen);

/* The resource the SIP side sees, or NULL when none is available. Valid
 * until the next update. */
const xmpp_resource_t *xmpp_presence_best(const xmpp_presence_t *p);

void xmpp_presence_free(xmpp_presence_t *p);

/* ------------------------------------------------------------------ */
/* Server-to-server service (s2s.c)                                    */
/* ------------------------------------------------------------------ */

typedef struct xmpp_s2s xmpp_s2s_t;

/* What the layer above decides for one remote XMPP domain. */
typedef struct {
    bool allowed;      /* false: no stream from or to it */
    bool tls_required; /* STARTTLS must succeed before anything else */
    bool sasl;         /* SASL EXTERNAL with certificates (RFC 7590) */
    bool dialback;     /* Server Dialback (XEP-0220) */
    char host[256];    /* "" : _xmpp-server._tcp SRV of the domain, then its
                          A/AAAA at 5269; else connect to host:port and accept
                          a certificate naming host as well as the domain */
    uint16_t port;
    char why[160]; /* when !allowed: the reason, for the log and the peer */
} xmpp_peer_policy_t;

enum { XMPP_LOG_DEBUG = 0, XMPP_LOG_INFO = 1, XMPP_LOG_WARN = 2 };

typedef struct {
    /* Fills *out for remote domain (lower case). Required. */
    void (*policy)(void *user, const char *domain, xmpp_peer_policy_t *out);
    /* A stanza (message, presence, iq) from an authenticated remote
     * domain, addressed to one of our domains (both checked against the
     * stanza's from/to). Valid only during the call. Required. */
    void (*on_stanza)(void *user, const char *remote, const char *local, const xmpp_node_t *stanza);
    /* One line for the log (may be NULL). */
    void (*log)(void *user, int level, const char *msg);
} xmpp_s2s_cbs_t;

typedef struct {
    uv_loop_t *loop;
    net_t *net;
    dns_t *dns;
    net_tls_t *tls;             /* our certificate and trust anchors:
                                   server side of inbound STARTTLS (client
                                   certificate optional) and client side of
                                   outbound (offered for SASL EXTERNAL).
                                   Referenced; must outlive the service. */
    net_tls_t *client_tls;      /* outbound only, when it must differ
                                   (e.g. no client certificate: then peers
                                   authenticate us by dialback); NULL: tls */
    const char *listen;         /* "0.0.0.0:5269"; NULL: no listener */
    const char *const *domains; /* our XMPP domains (lower case) */
    size_t n_domains;
    const char *dialback_secret; /* XEP-0185 key secret; NULL: random */
    xmpp_limits_t limits;
    unsigned rate;            /* stanzas per second per inbound stream,
                                 burst twice that (0: 50) */
    unsigned open_timeout_ms; /* a stream must be authenticated within
                                 this (0: 15000) */
    size_t max_queue;         /* stanzas waiting for one outbound stream
                                 (0: 100) */
    xmpp_s2s_cbs_t cbs;
    void *user;
} xmpp_s2s_opts_t;

/* Starts the service (and its listener when o->listen is set). Strings
 * are copied. Errors: FEDGE_EINVAL, FEDGE_EIO (listen failed). */
int xmpp_s2s_new(const xmpp_s2s_opts_t *o, xmpp_s2s_t **out, fedge_err_t *e);

#define XMPP_S2S_MAX_LISTENERS 16

/* One more listener (host_port as o->listen) for the service s: a stream
 * accepted on it is served exactly as one on the first (same partners,
 * dialback secret, outbound streams). *port (may be NULL) receives the
 * bound port. The listener is owned by s (closed by
 * xmpp_s2s_stop_accepting and xmpp_s2s_free). Errors: FEDGE_EINVAL,
 * FEDGE_ELIMIT (XMPP_S2S_MAX_LISTENERS already), FEDGE_EIO (bind or listen
 * failed, the address in e). */
int xmpp_s2s_listen(xmpp_s2s_t *s, const char *host_port, uint16_t *port, fedge_err_t *e);

/* The first listener's port (0 when none), also after it closed. */
uint16_t xmpp_s2s_port(const xmpp_s2s_t *s);

/* Closes the listeners (no new streams; open ones carry on). Call it before
 * net_stop_accepting or net_destroy of the net given to xmpp_s2s_new (they
 * free every listener of that net). Idempotent. */
void xmpp_s2s_stop_accepting(xmpp_s2s_t *s);

/* Called once per stanza handed to xmpp_s2s_send: code 0 when it was
 * written on an authenticated stream; else a negative FEDGE_E* with an
 * RFC 6120 condition ("remote-server-not-found", "remote-server-timeout",
 * "not-authorized", "policy-violation", "resource-constraint") and a
 * reason. Called from the loop, never inside xmpp_s2s_send. */
typedef void (*xmpp_sent_cb)(void *user, int code, const char *cond, const char *reason);

/* Sends one stanza (complete XML, from a JID of local to one of remote)
 * on the authenticated outbound stream local -> remote, opening and
 * negotiating one when needed (SRV, TCP, STARTTLS, SASL EXTERNAL or
 * dialback as the policy allows). cb (may be NULL) reports the outcome.
 * Errors returned here (cb not called): FEDGE_EPERM (policy refuses
 * remote, reason in e), FEDGE_EINVAL (local not ours), FEDGE_ELIMIT (queue
 * full). */
int xmpp_s2s_send(xmpp_s2s_t *s, const char *local, const char *remote, const char *xml, size_t len,
                  xmpp_sent_cb cb, void *cb_user, fedge_err_t *e);

typedef struct {
    size_t streams_in, streams_out; /* open now */
    size_t authed_in, authed_out;   /* of which authenticated */
    unsigned long long stanzas_in, stanzas_out;
    unsigned long long refused;       /* by the partner policy (not a partner, blocked) */
    unsigned long long refused_limit; /* over the stanza rate, or the send queue full */
} xmpp_s2s_stats_t;

void xmpp_s2s_stats(const xmpp_s2s_t *s, xmpp_s2s_stats_t *out);

/* Closes every stream (</stream:stream>) and the listener (see
 * xmpp_s2s_stop_accepting: before the net closes it); pending sends
 * get their callback with FEDGE_ECLOSED. Frees s once the loop has run
 * the close callbacks. */
void xmpp_s2s_free(xmpp_s2s_t *s);

#endif
