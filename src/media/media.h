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
    const char *ice;           /* "ICE": "force", "remove", ... */
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

/* Sends r to a relay chosen as follows: the relay that took the call's
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

/* Writes body with body[loc] replaced by sdp into out (capacity cap; out
 * must not overlap body or sdp). Returns the new body's length (what
 * Content-Length must say), FEDGE_ENOSPC, or FEDGE_EINVAL when loc is not
 * inside body. Pure. */
int media_sdp_replace(fedge_str_t body, const media_sdp_loc_t *loc, fedge_str_t sdp, char *out,
                      size_t cap);

#endif
