/* media.h — calls' media through rtpengine: a bencode codec, a client of
 * rtpengine's "ng" control protocol over UDP (several relays sharing calls
 * by Call-ID, sticky per call, failover when a relay does not answer) and
 * the SDP part of a SIP body. docs/media.md is the user guide; rtpengine's
 * docs/ng_control_protocol.md describes the commands. */
#ifndef FEDGE_MEDIA_H
#define FEDGE_MEDIA_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- bencode (the ng protocol's encoding) ----
 *
 * Strings "4:spam", integers "i42e", lists "l...e", dictionaries "d...e"
 * whose keys are strings. The decoder never allocates: it fills nodes from
 * an array the caller gives, and every string is a slice into the input. */

#define MEDIA_BEN_MAX_DEPTH 32 /* nesting of lists and dictionaries */

typedef enum {
    MEDIA_BEN_STR = 0,
    MEDIA_BEN_INT = 1,
    MEDIA_BEN_LIST = 2,
    MEDIA_BEN_DICT = 3,
} media_ben_type_t;

typedef struct media_ben {
    media_ben_type_t type;
    fedge_str_t key;         /* the key when the parent is a dictionary */
    fedge_str_t str;         /* STR: the bytes; LIST/DICT: the whole encoded value */
    int64_t num;             /* INT */
    size_t count;            /* LIST/DICT: number of children */
    struct media_ben *child; /* LIST/DICT: first child, in input order */
    struct media_ben *next;  /* next sibling */
} media_ben_t;

/* Decodes one value from buf[0..len) into nodes (capacity max_nodes). On
 * success returns the number of bytes the value took (the caller decides
 * whether trailing bytes are an error) and sets *root to nodes[0]. Errors:
 * FEDGE_EINVAL (malformed: bad length, leading garbage, a non-string
 * dictionary key, integer overflow, "-0", leading zeros, truncated input,
 * nesting deeper than MEDIA_BEN_MAX_DEPTH), FEDGE_ENOSPC (more than
 * max_nodes values). Pure; recursion depth bounded. */
int media_ben_decode(const char *buf, size_t len, media_ben_t *nodes, size_t max_nodes,
                     media_ben_t **root);

/* The value under key in dictionary d (the first one when a key repeats),
 * or NULL (also when d is NULL or not a dictionary). */
const media_ben_t *media_ben_get(const media_ben_t *d, const char *key);

/* The string under key, or an empty slice when absent or not a string. */
fedge_str_t media_ben_get_str(const media_ben_t *d, const char *key);

/* A writer into a caller's buffer. Calls after the buffer is full are
 * ignored and media_benc_finish reports it; nesting is the caller's job
 * (every begin has its end). */
typedef struct {
    char *buf;
    size_t cap, len;
    bool overflow;
} media_benc_t;

void media_benc_init(media_benc_t *b, char *buf, size_t cap);
void media_benc_str(media_benc_t *b, const char *s, size_t len);
void media_benc_cstr(media_benc_t *b, const char *s);
void media_benc_int(media_benc_t *b, int64_t v);
void media_benc_dict(media_benc_t *b); /* begins a dictionary */
void media_benc_list(media_benc_t *b); /* begins a list */
void media_benc_end(media_benc_t *b);  /* ends the innermost one */
/* Bytes written, or FEDGE_ENOSPC when something did not fit. */
int media_benc_finish(const media_benc_t *b);

/* ---- the ng client ---- */

#define MEDIA_MAX_RELAYS 16
#define MEDIA_DEFAULT_RELAY_DOWN_MS 10000u /* a silent relay is tried last for this long */
#define MEDIA_DEFAULT_MAX_CALLS 100000u    /* calls remembered for stickiness */
#define MEDIA_MAX_REPLY_NODES 4096         /* bencode values in one reply */

typedef enum {
    MEDIA_CMD_PING = 0,
    MEDIA_CMD_OFFER = 1,
    MEDIA_CMD_ANSWER = 2,
    MEDIA_CMD_DELETE = 3,
    MEDIA_CMD_QUERY = 4,
} media_cmd_t;

/* The ng command name ("ping", "offer", ...). */
const char *media_cmd_name(media_cmd_t cmd);

/* One relay: an IP literal (IPv4, or IPv6 without brackets) and a port. */
typedef struct {
    const char *host;
    uint16_t port;
} media_relay_addr_t;

typedef struct {
    const media_relay_addr_t *relays; /* 1..MEDIA_MAX_RELAYS, copied */
    size_t relay_count;
    uint32_t timeout_ms;    /* per relay tried; one retransmission at half of it */
    uint32_t relay_down_ms; /* 0: MEDIA_DEFAULT_RELAY_DOWN_MS */
    size_t max_calls;       /* 0: MEDIA_DEFAULT_MAX_CALLS */
} media_opts_t;

/* One ng request. Slices are copied by media_request (the caller's buffers
 * may go right after the call). Empty slices and NULL strings are not
 * sent. */
typedef struct {
    media_cmd_t cmd;
    fedge_str_t call_id;  /* required except for ping */
    fedge_str_t from_tag; /* required for offer and answer */
    fedge_str_t to_tag;   /* required for answer */
    fedge_str_t sdp;      /* required for offer and answer */
    /* offer/answer: the logical interfaces (rtpengine --interface NAME/...)
     * of the side the SDP comes from and of the side it goes to, sent as
     * "direction". */
    const char *from_interface, *to_interface;
    const char *const *flags; /* "flags" list, e.g. "SIP-source-address" */
    size_t flag_count;
    const char *const *replace; /* "replace" list, e.g. "origin" */
    size_t replace_count;
    const char *ice; /* "ICE": "force", "remove", ... */
    /* offer/answer: "transport-protocol" (RTP/AVP, RTP/SAVP...): the
     * relay translates the media towards the receiving side to it */
    const char *transport_protocol;
    const char *received_from; /* IP literal of the SIP peer ("received-from") */
    /* -1: the relay that holds the call (else chosen by Call-ID, with
     * failover); >= 0: only this relay (ping or query one relay). */
    int relay;
} media_req_t;

/* What a relay answered. Every slice points into the reply datagram and is
 * valid only during the callback. */
typedef struct {
    const media_ben_t *dict; /* the whole reply dictionary */
    fedge_str_t result;      /* "ok", "pong", "error", "load limit" */
    fedge_str_t sdp;         /* offer/answer: the rewritten SDP */
    fedge_str_t error_reason;
    fedge_str_t warning;
    size_t relay; /* index of the relay that answered */
} media_reply_t;

/* Called once per request (never from inside media_request): status 0 with
 * the reply when the result is "ok" or "pong"; FEDGE_EPERM with the reply
 * when the relay answered "error" or "load limit" (err names the relay and
 * its error-reason); FEDGE_ETIMEDOUT (no relay answered: err names the
 * relays), FEDGE_EINVAL (a malformed reply; the next relay is not tried,
 * as the relay did receive the command) or FEDGE_ECLOSED (the client was
 * closed) with reply NULL. */
typedef void (*media_done_cb)(void *arg, int status, const media_reply_t *reply,
                              const fedge_err_t *err);

typedef struct media_client media_client_t;
typedef struct media_pending media_pending_t;

/* Opens one UDP socket per relay on loop. Returns 0 and *out, or
 * FEDGE_EINVAL (no relay, too many, a host that is not an IP literal, a
 * zero port or timeout) / FEDGE_EIO (socket) with err filled. */
int media_client_new(uv_loop_t *loop, const media_opts_t *opts, media_client_t **out,
                     fedge_err_t *err);

/* Calls every pending request's callback with FEDGE_ECLOSED, then closes
 * the sockets; the memory goes when the loop has run the close callbacks.
 * c may be NULL. c must not be used after. */
void media_client_close(media_client_t *c);

/* Sends r (at most 64 requests are in flight per relay; more wait their
 * turn, unsent and without timer, so that a burst of replies cannot
 * overflow the socket) to a relay chosen as follows: the relay that took the call's
 * offer when the client remembers the call (a call sticks to its relay:
 * only that relay is asked), else relays in an order fixed by a hash of
 * the Call-ID, those that did not answer lately last, each tried once with
 * timeout_ms. A successful offer makes the call stick to the relay that
 * answered; a delete (answered, ok or error) forgets it. Returns 0 and,
 * when out is not NULL, *out (valid until the callback runs or
 * media_request_cancel); or FEDGE_EINVAL (a required field missing; err
 * says which) / FEDGE_ENOSPC (the command does not fit in a datagram). */
int media_request(media_client_t *c, const media_req_t *r, media_done_cb cb, void *arg,
                  media_pending_t **out, fedge_err_t *err);

/* Forgets a pending request: its callback will not run. p must be pending
 * (its callback has not run yet). */
void media_request_cancel(media_pending_t *p);

/* Relays as configured: count, "host:port" name, and whether the relay
 * answered its last request (true before its first). */
size_t media_relay_count(const media_client_t *c);
const char *media_relay_name(const media_client_t *c, size_t i);
bool media_relay_up(const media_client_t *c, size_t i);

/* Calls the client remembers (stickiness), and requests in flight. */
size_t media_call_count(const media_client_t *c);
size_t media_pending_count(const media_client_t *c);

/* The index of the relay call_id sticks to, or -1 when the client does
 * not remember it. */
int media_call_relay(const media_client_t *c, fedge_str_t call_id);

/* How relay i did with the last request that ended there (answered, or
 * given up on that relay). */
typedef struct {
    bool up;          /* media_relay_up */
    bool heard;       /* a request has ended there since the client opened */
    uint64_t last_ms; /* uv_now() when it ended */
    int64_t rtt_us;   /* its round trip from the first send to the reply; -1: unanswered */
    media_cmd_t cmd;  /* which command it was */
    char result[96];  /* "pong", "ok", "error: REASON", "no answer", "refused" */
    size_t inflight;  /* requests sent to it and not done */
} media_relay_health_t;

/* Fills *h for relay i (< media_relay_count). */
void media_relay_health(const media_client_t *c, size_t i, media_relay_health_t *h);

/* ---- calls: which ng command each SIP message crossing sides needs ----
 *
 * The offer/answer state of every call with media (RFC 3264; RFC 6337 for
 * where offers and answers may appear), keyed by Call-ID: bounded (the
 * call idle longest is dropped when full) and reaped when idle. Pure: no
 * I/O, time given by the caller. */

typedef enum {
    MEDIA_SIDE_INTERNAL = 0,
    MEDIA_SIDE_EXTERNAL = 1,
} media_side_t;

typedef enum {
    MEDIA_ACT_NONE = 0,   /* forward as is */
    MEDIA_ACT_OFFER = 1,  /* ng offer, direction from_side -> the other side */
    MEDIA_ACT_ANSWER = 2, /* ng answer, same direction */
    MEDIA_ACT_DELETE = 3, /* ng delete of the call (by Call-ID) */
} media_act_t;

/* What the table needs to know of one message crossing the edge. */
typedef struct {
    bool request;
    int method; /* sip_method_t: the request's, or the CSeq method of a response */
    int status; /* responses: 100-699 */
    fedge_str_t call_id;
    bool to_tag; /* the message has a To tag (in-dialog request) */
    bool has_sdp;
    media_side_t from_side; /* side the message arrived from */
    /* the connection it arrived on, "ip:port" or "[v6]:port" as the
     * transport names it (empty: unknown): the call is tied to it, and
     * orphaned when it closes (media_calls_conn_closed) */
    fedge_str_t remote;
    /* the crossing's external party is a remote user's client (the
     * message came from, or goes to, a connection of the edge's [remote]
     * listener). On a call a crossing without a client created (a
     * partner's), such a crossing is its second pass through the edge,
     * from the internal server to the client: a fork of the call, relayed
     * as a relay call of its own (media_calls_plan) */
    bool client;
    /* for the message that creates a call: its internal party is a remote
     * client of this edge, outside the network (it carries the edge's
     * own flow-token Record-Route entry from its first crossing:
     * src/edge/remote.c), so the relay puts that party's leg on the
     * external interface too */
    bool outside;
    /* the tags of From and To (empty when absent), and the branch of the
     * Via of the hop that sent the request to the edge (a request's top
     * Via, a response's second one; empty when unknown): they name a
     * call's forks on a client's crossing */
    fedge_str_t from_tag_s, to_tag_s;
    fedge_str_t branch;
} media_msg_t;

typedef struct media_calls media_calls_t;

/* Called for each call dropped by media_calls_reap or to make room, and
 * for each fork dropped with its call (media_calls_plan) (the
 * caller sends ng delete for it); call_id valid during the call only. */
typedef void (*media_dropped_fn)(void *user, fedge_str_t call_id);

/* A table of at most max calls (>= 1); calls without a message for
 * idle_ms are reaped. dropped may be NULL. Free with media_calls_free. */
media_calls_t *media_calls_new(size_t max, uint64_t idle_ms, media_dropped_fn dropped, void *user);
void media_calls_free(media_calls_t *t);

/* The ng command m needs (and the table updated as if it succeeded):
 *   INVITE, UPDATE or PRACK with SDP: offer (PRACK: answer when it
 *     answers an offer of the other side); INVITE without SDP: none, and
 *     the first response with SDP is then the offer (late offer);
 *   ACK with SDP answering an offer of the other side: answer;
 *   1xx/2xx with SDP to INVITE, UPDATE or PRACK while the other side's
 *     offer is open: answer (every such response, so that a 183 and its
 *     200 are both rewritten); the offer is closed by the 2xx; after an
 *     exchange is done, SDP repeated in a response is offered or answered
 *     again as its side did last (never forwarded unrewritten);
 *   BYE; CANCEL before a 2xx; a final failure of the first INVITE: delete
 *     (the call is forgotten); a failed re-INVITE keeps the call;
 *   anything else, or a call the table does not know: none.
 * A new call is only created by a request without To tag or with SDP.
 * On a fork (media_calls_plan) the same rules apply per relay call; this
 * returns the first step's act (MEDIA_ACT_NONE when none). */
media_act_t media_calls_on_msg(media_calls_t *t, const media_msg_t *m, uint64_t now_ms);

/* Forgets a call (its dialog's connection died, the caller deleted it);
 * false when unknown. dropped is not called. */
bool media_calls_forget(media_calls_t *t, fedge_str_t call_id);

/* Drops every call idle since idle_ms or more (dropped is called for
 * each); returns how many. */
size_t media_calls_reap(media_calls_t *t, uint64_t now_ms);

size_t media_calls_count(const media_calls_t *t);

/* True when call_id is known and its internal party is outside
 * (media_msg_t.outside). */
bool media_calls_outside(const media_calls_t *t, fedge_str_t call_id);

/* True when call_id is a call of the table (not one of its forks). */
bool media_calls_has(const media_calls_t *t, fedge_str_t call_id);

/* ---- forks: a partner's call the internal server sends on to a remote
 * client ----
 *
 * A partner's call crosses the edge external -> internal and is relayed
 * there (call 1: the partner's leg on the external interface, the inside's
 * on the internal one). The internal server may fork it: to its own
 * devices, which get call 1's internal ports, and back to the edge for a
 * remote client's flow (media_msg_t.client). That second crossing is
 * relayed as a call of its own at the relay, a *fork*, whose ng call-id is
 * the Call-ID, ";fork=" and the internal server's branch
 * (media_calls_fork_id; ';' never occurs in a Call-ID, RFC 3261 §25.1):
 * its offer is the INVITE's SDP as the internal server sends it (call 1's
 * internal ports) internal -> external, the client's answer is answered on
 * the fork (the SDP then names the fork's internal ports) and goes on to
 * the partner's crossing, where call 1 answers it as any answer from
 * inside. Media runs partner - call 1 - fork - client, and call 1 is never
 * changed by the fork: a device that answers has its media too.
 *
 * A fork is found by the branch (the INVITE, its responses, its CANCEL,
 * the edge's own failure of it) or, in the dialog, by the client's tag
 * (the To tag of its responses). It ends with its own CANCEL or final
 * failure, and with call 1 (BYE, CANCEL, failure, orphan, reaping: the
 * table's dropped callback names each fork so dropped, for its ng
 * delete). Once the client answered (call 1's 2xx carries the fork's
 * client tag), the offers and answers of exchanges the client starts —
 * which its crossing does not show the relay (the proxy relays a client's
 * own requests for another domain only on their second crossing) — are
 * run through both calls on the partner's crossing: the fork first for the
 * client's SDP, call 1 first for the partner's (two steps). A fork is
 * listed and counted as a call of its own (it holds its own relay ports),
 * with its caller on the internal side. */

/* The ng call-id of call_id's fork for branch into buf (capacity cap):
 * its length, or FEDGE_ENOSPC. Pure. */
int media_calls_fork_id(fedge_str_t call_id, fedge_str_t branch, char *buf, size_t cap);

/* One ng command of a message: act on the relay call call_id (the
 * message's Call-ID, or a fork's; valid until the next call into the
 * table), with the SDP coming from side from (of that relay call) towards
 * the other; trusted: the SDP is not the external party's own (no
 * SIP-source-address: it came through the internal server). */
typedef struct {
    media_act_t act;
    fedge_str_t call_id;
    media_side_t from;
    bool trusted;
} media_step_t;

/* What m needs, as media_calls_on_msg decides it per relay call, in
 * order: 0 steps (nothing, or a delete that only the dropped callback
 * names), 1, or 2 (the second takes the SDP the relay gave back for the
 * first). A DELETE is always a single step. */
size_t media_calls_plan(media_calls_t *t, const media_msg_t *m, uint64_t now_ms,
                        media_step_t out[2]);

/* ---- calls whose connection closed (orphans), and calls the relay may
 * have forgotten ----
 *
 * A SIP dialog outlives its connection: a partner's edge may drop and
 * re-open its TLS connection mid-call, and the edge's own connections
 * close when idle ([limits] idle_timeout) while calls go on without
 * signalling. So a call whose connection closes is not deleted at once:
 * it becomes an orphan. A message of the call that arrives within the
 * grace period from the same side and the same peer host (on a new
 * connection) rescues it. Otherwise, when the grace has passed, the relay
 * is asked whether the call's media still flows: the ng query's packet
 * count is taken when the call is orphaned and again when its grace
 * ends; a call whose count did not grow is deleted at the relay, one
 * whose media flows is kept (its parties are still talking). Separately,
 * calls without signalling for check_idle_ms are queried now and then,
 * and forgotten when the relay no longer knows them (it timed them out).
 * The table decides; its owner sends the queries (media_calls_due) and
 * reports what the relay said (media_calls_checked). */

/* Grace for orphans (0: MEDIA_DEFAULT_ORPHAN_GRACE_MS) and the signalling
 * silence after which a call is queried (0: MEDIA_DEFAULT_CHECK_IDLE_MS;
 * queried again at most that often). */
#define MEDIA_DEFAULT_ORPHAN_GRACE_MS 32000u /* 64*T1: Timer B/F, RFC 3261 */
#define MEDIA_DEFAULT_CHECK_IDLE_MS 300000u  /* 5 min */
void media_calls_set_checks(media_calls_t *t, uint64_t orphan_grace_ms, uint64_t check_idle_ms);

/* The connection side/remote closed: every call whose last message from
 * side came on it becomes an orphan (a call already orphan stays as it
 * is). Returns how many became orphans. */
size_t media_calls_conn_closed(media_calls_t *t, media_side_t side, fedge_str_t remote,
                               uint64_t now_ms);

typedef enum {
    MEDIA_CHECK_BASELINE = 0, /* an orphan's packet count when orphaned */
    MEDIA_CHECK_ORPHAN = 1,   /* an orphan whose grace has passed */
    MEDIA_CHECK_IDLE = 2,     /* a call without signalling for check_idle_ms */
} media_check_t;

typedef struct {
    media_check_t kind;
    fedge_str_t call_id; /* points into the table: copy it before the next table call */
} media_due_t;

/* Up to max ng queries due now, into out; each call named is "in
 * flight" until media_calls_checked reports on it (or it is dropped).
 * Work is bounded by max (and a few skipped calls). Returns how many. */
size_t media_calls_due(media_calls_t *t, uint64_t now_ms, media_due_t *out, size_t max);

typedef enum {
    MEDIA_QUERY_KNOWN = 0,  /* the relay holds the call; packets = its packet count */
    MEDIA_QUERY_GONE = 1,   /* the relay does not know the call */
    MEDIA_QUERY_FAILED = 2, /* no answer, or another error: tried later */
} media_query_t;

typedef enum {
    MEDIA_CHECKED_KEEP = 0,   /* nothing to do */
    MEDIA_CHECKED_DELETE = 1, /* forgotten: send ng delete */
    MEDIA_CHECKED_GONE = 2,   /* forgotten: the relay had lost it already */
} media_checked_t;

/* What the relay said to the query of kind for call_id (packets: RTP and
 * RTCP packets the relay received for the call, with KNOWN). A call no
 * longer in the table, or not waiting for that query, gives KEEP. */
media_checked_t media_calls_checked(media_calls_t *t, fedge_str_t call_id, media_check_t kind,
                                    media_query_t q, int64_t packets, uint64_t now_ms);

/* True when call_id is an orphan now. */
bool media_calls_is_orphan(const media_calls_t *t, fedge_str_t call_id);

typedef struct {
    size_t orphans;           /* orphans now */
    uint64_t orphaned;        /* calls that became orphans */
    uint64_t rescued;         /* ... and got a message from the same peer in time */
    uint64_t orphans_deleted; /* ... grace passed, no media: deleted */
    uint64_t orphans_kept;    /* ... grace passed, media still flowing: kept */
    uint64_t orphans_ended;   /* ... ended otherwise (BYE, the relay lost it) */
    uint64_t reaped;          /* calls forgotten because the relay had lost them */
} media_calls_stats_t;

void media_calls_stats(const media_calls_t *t, media_calls_stats_t *out);

/* A call as the table holds it, for the panel. */
typedef enum {
    MEDIA_CALL_SETUP = 0,    /* no 2xx to its first INVITE yet */
    MEDIA_CALL_ACTIVE = 1,   /* established, no offer open */
    MEDIA_CALL_UPDATING = 2, /* established, an offer (re-INVITE, UPDATE) awaits its answer */
    MEDIA_CALL_ORPHAN = 3,   /* its connection closed: waits for its peer (orphan_grace) */
} media_call_state_t;

/* "setting up", "active", "updating", "orphan". */
const char *media_call_state_name(media_call_state_t s);

typedef struct {
    fedge_str_t call_id; /* valid until the table next changes */
    media_call_state_t state;
    media_side_t caller; /* side of the request that created the call */
    uint64_t started_ms; /* now_ms of that request */
    uint64_t last_ms;    /* now_ms of its last message */
} media_call_info_t;

/* Up to max calls into out, the one with the latest message first;
 * returns how many (media_calls_count says how many in all). */
size_t media_calls_list(const media_calls_t *t, media_call_info_t *out, size_t max);

/* Calls fn for every call (latest message first); fn must not change the
 * table. */
typedef void (*media_call_fn)(void *user, const media_call_info_t *k);
void media_calls_each(const media_calls_t *t, media_call_fn fn, void *user);

/* rtpengine's ICE option for an SDP of call_id from side from (which had
 * ICE attributes when sdp_has_ice), towards the other side: "force" (the
 * relay's candidates replace the parties') when that side's last SDP in
 * the call spoke ICE, "remove" when it did not; for a side not heard yet
 * (a first offer) as the sender: an ICE offer keeps ICE, which an answerer
 * without ICE ignores (RFC 8445 §1), a plain offer stays plain. Records
 * the sender's ICE for the later SDP towards it. */
const char *media_calls_ice(media_calls_t *t, fedge_str_t call_id, media_side_t from,
                            bool sdp_has_ice);

/* ---- the relay of calls' media: table + ng + body ----
 *
 * What the edge runs for each SIP message with a body, or that ends a
 * call, crossing sides: decides the ng command (media_calls_on_msg), sends
 * it, and gives back the body to forward with the relay's SDP in place of
 * the sender's. The ng round trip is asynchronous: the caller parks the
 * message meanwhile. */

typedef struct media_relay media_relay_t;

/* What the media towards one side must be ([media] internal_transport,
 * external_transport; docs/media.md "RTP and SRTP"). */
typedef enum {
    MEDIA_TP_PASS = 0, /* as the other side offered (SRTP, DTLS-SRTP untouched) */
    MEDIA_TP_RTP = 1,  /* plain RTP (RTP/AVP, or RTP/AVPF when the offer had feedback) */
    MEDIA_TP_SRTP = 2, /* SRTP with SDES keys (RTP/SAVP, or RTP/SAVPF) */
} media_transport_t;

/* "pass", "rtp" or "srtp". */
const char *media_transport_name(media_transport_t tp);

/* The ng transport-protocol for an offer sdp going to a side that wants
 * tp: NULL for MEDIA_TP_PASS (the relay keeps the offer's own); else
 * RTP/AVP or RTP/SAVP, with the F (RTP/AVPF, RTP/SAVPF: RFC 4585
 * feedback) when an m= line of sdp offered feedback. Answers never need
 * one: the relay answers the offerer in the protocol it offered. Pure. */
const char *media_transport_protocol(media_transport_t tp, fedge_str_t sdp);

typedef struct {
    media_opts_t ng;
    const char *interface[2];       /* rtpengine interface per media_side_t */
    bool forward_on_failure;        /* [media] on_relay_failure = forward */
    size_t max_calls;               /* offer/answer table bound (0: MEDIA_DEFAULT_MAX_CALLS) */
    uint64_t idle_ms;               /* calls idle this long are reaped (0: 12 h) */
    uint64_t orphan_grace_ms;       /* 0: MEDIA_DEFAULT_ORPHAN_GRACE_MS */
    uint64_t check_idle_ms;         /* 0: MEDIA_DEFAULT_CHECK_IDLE_MS */
    media_transport_t transport[2]; /* per media_side_t: what the media towards it must be */
} media_relay_opts_t;

typedef struct {
    media_msg_t msg;          /* facts; msg.has_sdp is filled by media_relay_process */
    fedge_str_t content_type; /* Content-Type value, empty when none */
    fedge_str_t body;         /* the message body (copied when needed) */
    fedge_str_t from_tag, to_tag;
    const char *peer_ip; /* IP literal the message came from */
} media_in_t;

struct sip_msg;

/* Fills *in from a parsed message m (slices point into m; valid as long
 * as m): Call-ID, From and To tags, the method (a response's CSeq method),
 * status, Content-Type value and body. from_side and peer_ip as given
 * (peer_ip borrowed). Returns 0, or the sip_msg_* error of a missing or
 * malformed Call-ID, From, To or CSeq. */
int media_in_from_sip(struct sip_msg *m, media_side_t from_side, const char *peer_ip,
                      media_in_t *in);

typedef enum {
    MEDIA_OUT_FORWARD = 0, /* forward the message as it is */
    MEDIA_OUT_REPLACE = 1, /* forward it with body (Content-Length = body_len) */
    MEDIA_OUT_REFUSE = 2,  /* requests only: answer status with warning */
} media_out_kind_t;

typedef struct {
    media_out_kind_t kind;
    const char *body; /* REPLACE: valid during the callback only */
    size_t body_len;
    int status;        /* REFUSE: 503 */
    char warning[256]; /* REFUSE: the Warning text (names the relay) */
} media_out_t;

typedef void (*media_out_cb)(void *arg, const media_out_t *out);

typedef struct media_job media_job_t;

/* Opens the ng client on loop. Returns 0 and *out, or an error of
 * media_client_new. */
int media_relay_new(uv_loop_t *loop, const media_relay_opts_t *o, media_relay_t **out,
                    fedge_err_t *err);

/* Cancels every job (their callbacks do not run) and closes; r may be
 * NULL. */
void media_relay_close(media_relay_t *r);

/* Handles one message. Returns 0 with *now saying what to do at once:
 * FORWARD as it is (no ng command, or a delete sent in the background),
 * or REFUSE (an ng command that could not be sent). Returns 1 when cb will
 * run later (never from inside this call) with what to do; *job names the
 * wait until then (job may be NULL). The
 * policy on a relay failure: a request gets REFUSE 503 with a Warning
 * (or FORWARD with a log line under forward_on_failure); a response is
 * forwarded as it is, with a log line (a response cannot be refused).
 * SDP that comes from the external side never steers the relay towards
 * an address of the partner's choosing before media arrives (flags
 * SIP-source-address and strict-source with received-from: docs/media.md);
 * the parties' ICE candidates never cross: ICE=force (the relay's) or
 * remove towards each side as media_calls_ice says. */
int media_relay_process(media_relay_t *r, const media_in_t *in, media_out_cb cb, void *arg,
                        media_job_t **job, media_out_t *now);

/* Forgets a job: its callback will not run. */
void media_relay_cancel(media_job_t *job);

/* A call ended without a message saying so (its dialog's connection died,
 * the edge gave up on it): sends ng delete and forgets it. */
void media_relay_end_call(media_relay_t *r, fedge_str_t call_id);

/* The edge itself ended with a final failure (status >= 300) the INVITE
 * m (its facts: media_in_from_sip of the request, from the side it came
 * from): the call it created is deleted at the relay and forgotten — or,
 * on a client's crossing of a partner's call, only the fork it created
 * (media_calls_plan), the call going on for its other forks. */
void media_relay_end_msg(media_relay_t *r, const media_msg_t *m, int status);

/* True when call_id is a call of the relay's table (media_calls_has). */
bool media_relay_has_call(const media_relay_t *r, fedge_str_t call_id);

/* Reaps calls idle too long (ng delete for each); call it now and then.
 * Returns how many. */
size_t media_relay_reap(media_relay_t *r);

/* The connection side/remote ("ip:port" as in media_msg_t.remote)
 * closed: the calls tied to it become orphans (media_calls_conn_closed).
 * Returns how many. */
size_t media_relay_conn_closed(media_relay_t *r, media_side_t side, const char *remote);

/* Sends the ng queries due now (at most MEDIA_CHECKS_PER_RUN: orphans'
 * packet counts, orphans whose grace passed, calls long without
 * signalling) and acts on their answers: ng delete for an orphan whose
 * media stopped, forgets a call the relay lost. Call it on every tick. */
#define MEDIA_CHECKS_PER_RUN 16
void media_relay_run_checks(media_relay_t *r);

void media_relay_stats(const media_relay_t *r, media_calls_stats_t *out);

media_client_t *media_relay_client(media_relay_t *r);
size_t media_relay_calls(const media_relay_t *r);

/* The relay's calls, the one with the latest message first, up to max
 * (media_calls_list of its offer/answer table); returns how many. */
size_t media_relay_list(const media_relay_t *r, media_call_info_t *out, size_t max);
/* media_calls_each of its table. */
void media_relay_each(const media_relay_t *r, media_call_fn fn, void *user);

/* ---- the SDP in a SIP body ---- */

/* Where the SDP is: body[off..off+len). */
typedef struct {
    size_t off, len;
} media_sdp_loc_t;

/* Finds the session description in a SIP body given its Content-Type value
 * (as written, parameters included): the whole body for application/sdp;
 * for multipart/mixed (or multipart/alternative, RFC 2046 §5.1) the
 * content of the first part whose own Content-Type is application/sdp.
 * Returns 0 and *loc, FEDGE_ENOENT when the body holds no SDP (an empty
 * body, another type, a multipart without an SDP part), or FEDGE_EINVAL
 * for a malformed Content-Type or a multipart body without its boundary
 * or closing delimiter. Pure, no allocation. */
int media_sdp_find(fedge_str_t content_type, fedge_str_t body, media_sdp_loc_t *loc);

/* True when sdp speaks ICE: an a=ice-ufrag or a=candidate line (RFC 8839
 * §5), at session or media level. Pure. */
bool media_sdp_has_ice(fedge_str_t sdp);

/* Writes body with body[loc] replaced by sdp into out (capacity cap; out
 * must not overlap body or sdp). Returns the new body's length (what
 * Content-Length must say), FEDGE_ENOSPC, or FEDGE_EINVAL when loc is not
 * inside body. Pure. */
int media_sdp_replace(fedge_str_t body, const media_sdp_loc_t *loc, fedge_str_t sdp, char *out,
                      size_t cap);

#endif
