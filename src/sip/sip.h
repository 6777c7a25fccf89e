/* sip.h — the SIP message core: stream framing, a zero-copy parser with
 * typed, lazily parsed headers, URIs (sip, sips, tel) with RFC 3261 §19.1.4
 * comparison, and a printer that rebuilds a message with edits while
 * copying untouched bytes verbatim.
 *
 * Memory: nothing here allocates. A parsed sip_msg_t points into the
 * caller's buffer (every fedge_str_t is a slice of it) and must not outlive
 * it. Typed accessors cache their result inside the sip_msg_t, so they take
 * a non-const message; calling one twice is always safe and cheap.
 *
 * Errors: negative FEDGE_ESIP_* codes from base/base.h; fedge_strerror()
 * gives a reason phrase fit for a 400 response. Framing errors
 * (fedge_is_framing_error()) mean the stream is lost: close the connection.
 */
#ifndef FEDGE_SIP_H
#define FEDGE_SIP_H

#include "base/base.h"

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

/* Hard capacity of the header table inside sip_msg_t. */
#define SIP_MAX_HEADERS_CAP 256

typedef struct {
    size_t max_message_size; /* whole message, headers + body (65536) */
    unsigned max_headers;    /* header lines, <= SIP_MAX_HEADERS_CAP (128) */
    unsigned max_line_len;   /* one header incl. folded lines (8192) */
    unsigned max_uri_len;    /* Request-URI and any URI in a typed header (2048) */
    unsigned max_vias;       /* Via values in all Via headers together (70) */
} sip_limits_t;

/* Fills *l with the defaults shown above. */
void sip_limits_default(sip_limits_t *l);

/* ------------------------------------------------------------------ */
/* Stream framing (TCP/TLS)                                            */
/* ------------------------------------------------------------------ */

typedef enum {
    SIP_FRAME_NEED_MORE = 0, /* no complete unit yet: read more bytes */
    SIP_FRAME_MESSAGE = 1,   /* a whole message of *unit_len bytes */
    SIP_FRAME_PING = 2,      /* a CRLFCRLF keep-alive ping (RFC 5626 §3.5.1):
                                answer with a single CRLF pong */
    SIP_FRAME_PONG = 3,      /* a lone CRLF (a pong, or stray CRLF before a
                                start line, RFC 3261 §7.5): skip it */
} sip_frame_kind_t;

/* Resumable framer: remembers how far it has scanned so that bytes arriving
 * one at a time cost O(n) in all, not O(n^2). */
typedef struct {
    size_t max_size;
    size_t scanned;  /* bytes of the current unit already searched */
    size_t hdr_end;  /* offset just past CRLFCRLF once found, else 0 */
    size_t body_len; /* Content-Length once hdr_end is known */
    /* internal scan state (reset with the unit) */
    size_t line_start; /* start of the line being searched */
    size_t hdr_start;  /* start of the logical header awaiting its end
                          (folded lines join it), 0 when none */
    long long clen;    /* Content-Length seen so far, -1 when none */
} sip_framer_t;

/* Prepares f for a new stream; max_message_size 0 means the default 65536. */
void sip_framer_init(sip_framer_t *f, size_t max_message_size);

/* Looks at buf[0..len), which starts at a unit boundary (the caller removes
 * each returned unit from the front of its buffer before calling again, and
 * keeps the bytes that follow). Returns a sip_frame_kind_t (>= 0) and sets
 * *unit_len for MESSAGE, PING and PONG; or a negative framing error
 * (FEDGE_ESIP_TOO_BIG, _NO_CLEN, _BAD_CLEN, _CLEN_MISMATCH, _GARBAGE) after
 * which the stream cannot be resynchronised. On a stream, Content-Length is
 * required (long or compact name, any case, whitespace before the colon
 * allowed); a value that is not 1*DIGIT or is >= 2^32 is _BAD_CLEN.
 * _TOO_BIG comes as soon as the header block or the announced size exceeds
 * max_size, without waiting for the bytes. _GARBAGE: a first byte that
 * cannot start a start line (TLS ClientHello, NUL, control characters), a
 * control character in the start line, an HTTP request/status line, or a
 * line of the header block ending in a bare LF.
 * "\r", "\r\n" and "\r\n\r" alone are NEED_MORE (they may become a
 * ping). The framer does not judge the header syntax beyond what framing
 * needs: sip_parse does. The framer resets itself after returning a unit. */
int sip_framer_next(sip_framer_t *f, const char *buf, size_t len, size_t *unit_len);

/* ------------------------------------------------------------------ */
/* Header and method identities                                        */
/* ------------------------------------------------------------------ */

/* sip_hdr_id_t: SIP_HDR_OTHER, then one SIP_HDR_<NAME> per line of
 * src/sip/headers.txt, then SIP_HDR__COUNT. Generated into the build folder
 * by scripts/gen-sip-headers (the Makefile puts $(BUILD)/gen on the include
 * path). */
#include "sip/sip_hdrs.h"

typedef enum {
    SIP_METHOD_OTHER = 0, /* extension method: see msg->method */
    SIP_METHOD_INVITE,
    SIP_METHOD_ACK,
    SIP_METHOD_BYE,
    SIP_METHOD_CANCEL,
    SIP_METHOD_OPTIONS,
    SIP_METHOD_REGISTER,
    SIP_METHOD_MESSAGE,
    SIP_METHOD_SUBSCRIBE,
    SIP_METHOD_NOTIFY,
    SIP_METHOD_REFER,
    SIP_METHOD_INFO,
    SIP_METHOD_UPDATE,
    SIP_METHOD_PRACK,
    SIP_METHOD_PUBLISH,
} sip_method_t;
#define SIP_METHOD_COUNT (SIP_METHOD_PUBLISH + 1)

/* Header id for a name (long or compact form, any case); SIP_HDR_OTHER when
 * unknown. */
sip_hdr_id_t sip_hdr_id(const char *name, size_t len);
/* Canonical long name ("Call-ID") for an id; "" for SIP_HDR_OTHER. */
const char *sip_hdr_name(sip_hdr_id_t id);
/* Method id for a method token (case-sensitive, as RFC 3261 says). */
sip_method_t sip_method_id(const char *s, size_t len);
/* Canonical name of a method id ("INVITE"); NULL for SIP_METHOD_OTHER. */
const char *sip_method_name(sip_method_t m);
/* Method id of a request's first token (its start line, buf of len bytes;
 * the space that ends the method is looked for in the first 32 bytes):
 * SIP_METHOD_OTHER when there is none. No parse: for counting every
 * message (metrics). */
sip_method_t sip_start_method(const char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* URIs                                                                */
/* ------------------------------------------------------------------ */

typedef enum {
    SIP_URI_OTHER = 0, /* any other absoluteURI: only raw and scheme are set */
    SIP_URI_SIP,
    SIP_URI_SIPS,
    SIP_URI_TEL,
} sip_uri_scheme_t;

typedef enum {
    SIP_HOST_NAME = 0,
    SIP_HOST_IPV4,
    SIP_HOST_IPV6, /* host keeps its brackets: "[2001:db8::1]" */
} sip_host_kind_t;

typedef struct {
    fedge_str_t raw; /* the whole URI as written */
    sip_uri_scheme_t scheme;
    fedge_str_t scheme_str; /* as written, e.g. "SIP" */
    fedge_str_t user;       /* still %-escaped; empty when absent;
                               for tel: the telephone-subscriber number */
    fedge_str_t password;   /* empty when absent */
    bool has_password;
    fedge_str_t host; /* empty for tel and OTHER */
    sip_host_kind_t host_kind;
    uint16_t port; /* 0 when absent */
    bool has_port;
    fedge_str_t params;  /* ";a=b;c" as written (may be empty) */
    fedge_str_t headers; /* "a=b&c=d" after '?' (may be empty);
                            headers.s == NULL when there is no '?' */
    /* common uri-parameters, looked up once at parse time, still escaped;
       .s == NULL when the parameter is absent, .len == 0 when it has no
       value */
    fedge_str_t transport, maddr, user_param, method, ttl;
    bool lr;
} sip_uri_t;

/* Parses one URI from s[0..len) (no surrounding whitespace). sip/sips:
 * userinfo (user 1*(unreserved/escaped/user-unreserved), optional
 * password), host (hostname, IPv4, or a validated IPv6 reference),
 * port (digits, 0-65535), uri-parameters, headers. tel: a non-empty
 * number of phonedigit-hex/visual separators, optional leading '+', then
 * parameters. Other schemes: any visible ASCII after the ':'. Returns 0 or
 * FEDGE_ESIP_URI. Does not check a length limit: callers that have one
 * (the sip_msg_* accessors) do. */
int sip_uri_parse(const char *s, size_t len, sip_uri_t *out);

/* RFC 3261 §19.1.4 equality of two sip/sips URIs: scheme, user and password
 * case-sensitive after unescaping, host case-insensitive, port/transport/
 * ttl/user/method/maddr parameters must match when present in either,
 * other parameters only when present in both, headers all must match.
 * tel URIs compare by number and parameters; other schemes byte for byte. */
bool sip_uri_equal(const sip_uri_t *a, const sip_uri_t *b);

/* Looks up parameter `name` (case-insensitive) in a ";a=b;c" list as found
 * in URIs, Via, name-addr and Content-Type (a leading ';' and LWS around ';'
 * and '=' are allowed). Returns 1 and sets *value (empty for a parameter
 * without value; still escaped; a quoted-string value keeps its quotes)
 * when found, 0 when not. value may be NULL. */
int sip_param_get(fedge_str_t params, const char *name, fedge_str_t *value);

/* ------------------------------------------------------------------ */
/* Typed header values                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
    fedge_str_t raw;                                  /* this via-parm alone, as written */
    fedge_str_t proto_name, proto_version, transport; /* "SIP" "2.0" "TLS",
                               each as written between the slashes */
    fedge_str_t host;                                 /* sent-by host; IPv6 keeps brackets */
    sip_host_kind_t host_kind;
    uint16_t port; /* 0 when absent */
    bool has_port;
    fedge_str_t params;                       /* ";branch=...;rport" as written */
    fedge_str_t branch, received, maddr, ttl; /* empty when absent */
    bool has_rport;                           /* rport present, with or without value */
    uint16_t rport;                           /* 0 when present without value */
    bool has_alias;                           /* RFC 5923 alias */
} sip_via_t;

/* From, To, Contact, Route, Record-Route, Refer-To values. */
typedef struct {
    fedge_str_t raw;     /* the whole value as written */
    bool star;           /* Contact: * */
    fedge_str_t display; /* without the quotes, still escaped; may be empty */
    bool display_quoted;
    fedge_str_t uri_str; /* inside <>, or the bare addr-spec */
    sip_uri_t uri;
    fedge_str_t params; /* header parameters after the URI (";tag=..") */
    fedge_str_t tag;    /* empty when absent */
    bool has_tag;
    fedge_str_t expires; /* Contact expires param, empty when absent */
    fedge_str_t q;
} sip_nameaddr_t;

typedef struct {
    uint32_t seq;
    fedge_str_t method;
    sip_method_t method_id;
} sip_cseq_t;

/* Content-Type: type "/" subtype *(";" parameter) (added). */
typedef struct {
    fedge_str_t type, subtype; /* tokens as written (compare case-insensitively) */
    fedge_str_t params;        /* ";charset=utf-8" as written, may be empty */
} sip_mtype_t;

/* Event: event-type *(";" parameter), e.g. "presence;id=1" (added). */
typedef struct {
    fedge_str_t package; /* "presence", "dialog", "presence.winfo" */
    fedge_str_t id;      /* id parameter, empty when absent */
    fedge_str_t params;
} sip_event_t;

/* Parse one value (one comma-separated element; LWS around it and
 * wherever the grammar allows LWS is accepted). They never allocate; out
 * points into s.
 * sip_via_parse: sent-protocol, sent-by (IPv6 in brackets), via-params
 *   (branch needs a token value, ttl 0-255, maddr a host, received an IPv4
 *   or IPv6 address with or without brackets, rport empty or a port).
 *   Returns 0 or FEDGE_ESIP_VIA.
 * sip_nameaddr_parse: "*" (sets star; callers decide whether it is
 *   allowed), name-addr with a quoted or token display name, or a bare
 *   addr-spec whose ';' parameters belong to the header (RFC 3261 §20.10);
 *   tag must be a token, expires digits, q a qvalue. Returns 0,
 *   FEDGE_ESIP_URI when the URI is malformed, or FEDGE_ESIP_HEADER for any
 *   other syntax error (the sip_msg_* accessors turn both into the
 *   header's own code, FEDGE_ESIP_FROM etc.).
 * sip_cseq_parse: 1*DIGIT below 2^31, LWS, method token. Returns 0 or
 *   FEDGE_ESIP_CSEQ. */
int sip_via_parse(const char *s, size_t len, sip_via_t *out);
int sip_nameaddr_parse(const char *s, size_t len, sip_nameaddr_t *out);
int sip_cseq_parse(const char *s, size_t len, sip_cseq_t *out);
/* Content-Type value (LWS around '/' ';' '='; parameter values token or
 * quoted-string): 0 or FEDGE_ESIP_CONTENT_TYPE. Event value (a token, then
 * generic parameters): 0 or FEDGE_ESIP_EVENT. (Both added.) */
int sip_mtype_parse(const char *s, size_t len, sip_mtype_t *out);
int sip_event_parse(const char *s, size_t len, sip_event_t *out);

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

typedef struct {
    sip_hdr_id_t id;
    fedge_str_t name;  /* as received, without surrounding whitespace */
    fedge_str_t value; /* first non-LWS after ':' up to the last non-LWS;
                          folded lines stay inside as written */
    fedge_str_t raw;   /* the whole header including its final CRLF */
} sip_hdr_t;

/* Lazily filled caches: bit set once the field is parsed. */
enum {
    SIP_CACHED_RURI = 1u << 0,
    SIP_CACHED_VIA = 1u << 1,
    SIP_CACHED_FROM = 1u << 2,
    SIP_CACHED_TO = 1u << 3,
    SIP_CACHED_CSEQ = 1u << 4,
    SIP_CACHED_CALL_ID = 1u << 5,
    SIP_CACHED_MAXFWD = 1u << 6,
    SIP_CACHED_CONTACT = 1u << 7,
    SIP_CACHED_EXPIRES = 1u << 8,
};

typedef struct sip_msg {
    const char *buf; /* the message bytes (not owned) */
    size_t len;      /* the message's length (<= the length given) */

    bool is_request;
    fedge_str_t start_line; /* without CRLF */
    /* request */
    fedge_str_t method;
    sip_method_t method_id;
    fedge_str_t ruri_str;
    /* response */
    int status;
    fedge_str_t reason;

    unsigned nhdrs;
    sip_hdr_t hdrs[SIP_MAX_HEADERS_CAP];
    /* index of the first header of each known id, or -1 */
    int16_t first[SIP_HDR__COUNT];
    /* bit (1ull << id) set when a header of that id appears more than once
       (added: sip_msg_check uses it for single headers) */
    uint64_t repeated;
    unsigned nvias;            /* Via values in all Via headers together */
    unsigned first_via_values; /* values in the first Via header (0: no Via) */

    fedge_str_t body;
    long long content_length; /* -1 when the header is absent */

    /* caches, valid when the matching SIP_CACHED_* bit is set */
    unsigned cached;
    int cache_err[9]; /* error of a failed typed parse, per bit */
    sip_uri_t ruri;
    sip_via_t via; /* topmost Via value */
    sip_nameaddr_t from, to, contact;
    sip_cseq_t cseq;
    fedge_str_t call_id;
    int max_forwards;  /* -1 when absent */
    long long expires; /* -1 when absent */

    const sip_limits_t *limits;
} sip_msg_t;

/* Parses one message in buf[0..len) (as framed by sip_framer_next, or a
 * datagram/file: then without Content-Length the body is the rest; with it
 * the rest must hold at least that many bytes (else _BODY_LEN), and bytes
 * beyond are not part of the message, as RFC 3261 §18.3 says for
 * datagrams: m->len then counts only the message). Splits the start line and
 * every header, classifies names, checks limits, NUL bytes, and
 * Content-Length; typed headers are parsed later, on access. limits may be
 * NULL for the defaults; it must outlive m. Returns 0 or FEDGE_ESIP_*:
 * _TOO_BIG (len > max_message_size), _START_LINE, _METHOD, _VERSION (not
 * "SIP/2.0", any case), _STATUS (not 3 digits in 100-699), _URI_LEN
 * (Request-URI longer than max_uri_len), _LINE_LEN (start line or one
 * header with its folded lines longer than max_line_len), _HEADER (name
 * not a token, no colon, bare CR or LF, no empty line ending the
 * headers), _HDR_COUNT, _VIA (an empty Via element), _VIA_COUNT, _NUL (a
 * NUL byte anywhere before the body; reported in preference to the other
 * errors it may cause), _BAD_CLEN, _CLEN_MISMATCH, _BODY_LEN. After an
 * error the fields of m are unspecified. m is large (the header table):
 * keep it off small stacks. */
int sip_parse(const char *buf, size_t len, const sip_limits_t *limits, sip_msg_t *m);

/* Checks what a proxy needs before it can forward or answer a message:
 * topmost Via, From, To, Call-ID, CSeq (and, for requests, CSeq method ==
 * method, Request-URI, Max-Forwards when present), the Via count, and that
 * single headers are single (From, To, Call-ID, CSeq, Max-Forwards,
 * Content-Type, Expires → FEDGE_ESIP_DUP_HEADER). A missing Via is
 * FEDGE_ESIP_NO_VIA; a missing From/To/Call-ID/CSeq is that header's code.
 * Returns 0 or the FEDGE_ESIP_* of the first problem found. */
int sip_msg_check(sip_msg_t *m);

/* Typed accessors: parse on first call, cached after. Return 0 (result in
 * *out, valid as long as m and its buffer), FEDGE_ENOENT when the header is
 * absent, or the header's FEDGE_ESIP_* error: _URI/_URI_LEN (ruri; a
 * Request-URI with headers is _URI), _VIA, _FROM, _TO, _CONTACT, _CSEQ,
 * _CALL_ID, _MAX_FORWARDS, _EXPIRES; _URI_LEN when a name-addr's URI is
 * longer than max_uri_len. sip_msg_ruri gives FEDGE_ENOENT for a response.
 * From/To refuse "*"; Contact allows it only as the single value of a
 * single Contact header. Expires must be 0..2^32-1 (leading zeros ok). */
int sip_msg_ruri(sip_msg_t *m, const sip_uri_t **out);
int sip_msg_via(sip_msg_t *m, const sip_via_t **out); /* topmost */
int sip_msg_from(sip_msg_t *m, const sip_nameaddr_t **out);
int sip_msg_to(sip_msg_t *m, const sip_nameaddr_t **out);
int sip_msg_contact(sip_msg_t *m, const sip_nameaddr_t **out); /* first */
int sip_msg_cseq(sip_msg_t *m, const sip_cseq_t **out);
int sip_msg_call_id(sip_msg_t *m, fedge_str_t *out);
int sip_msg_max_forwards(sip_msg_t *m, int *out);
int sip_msg_expires(sip_msg_t *m, long long *out);
/* Content-Type and Event (added): parsed on each call (they are short and
 * rarely needed), results in *out; FEDGE_ENOENT when absent,
 * FEDGE_ESIP_CONTENT_TYPE / FEDGE_ESIP_EVENT when malformed. */
int sip_msg_content_type(const sip_msg_t *m, sip_mtype_t *out);
int sip_msg_event(const sip_msg_t *m, sip_event_t *out);

/* First header with this id, or NULL. */
const sip_hdr_t *sip_msg_find(const sip_msg_t *m, sip_hdr_id_t id);
/* First header whose name equals `name` (a NUL-terminated string)
 * case-insensitively (long and compact forms of known headers both match;
 * whitespace before a header's colon never hides it), or NULL. */
const sip_hdr_t *sip_msg_find_name(const sip_msg_t *m, const char *name);

/* Iterates over the comma-separated values of every header with one id, in
 * message order (Via, Route, Record-Route, Contact, Require, Supported...).
 * Commas inside quoted strings and <...> do not split. */
typedef struct {
    const sip_msg_t *m;
    sip_hdr_id_t id;
    unsigned hdr; /* current header index */
    size_t off;   /* offset of the next value inside hdrs[hdr].value */
} sip_iter_t;

/* Starts it at the first value of header id in m; m must outlive it. */
void sip_iter_init(sip_iter_t *it, const sip_msg_t *m, sip_hdr_id_t id);
/* Returns 1 with the next value (trimmed) in *value and its header index in
 * *hdr_index (may be NULL), 0 at the end, or FEDGE_ESIP_HEADER when a value
 * is empty or a quote or '<' is unterminated. A header whose whole value is
 * empty has no values and is skipped. */
int sip_iter_next(sip_iter_t *it, fedge_str_t *value, unsigned *hdr_index);

/* Iterate like sip_iter_next and parse each value (added for the proxy and
 * the tests): return 1 with *out filled, 0 at the end, or the header's
 * error: sip_iter_via gives FEDGE_ESIP_VIA; sip_iter_nameaddr gives
 * FEDGE_ESIP_CONTACT (Contact; "*" allowed), _ROUTE (Route,
 * Record-Route), _FROM, _TO, or _HEADER for other ids, and _URI_LEN when
 * a URI is longer than max_uri_len. */
int sip_iter_via(sip_iter_t *it, sip_via_t *out, unsigned *hdr_index);
int sip_iter_nameaddr(sip_iter_t *it, sip_nameaddr_t *out, unsigned *hdr_index);

/* Splits a single header value (one header line's value) at top-level
 * commas the same way; returns the number of values found, at most max,
 * or FEDGE_ESIP_HEADER. */
int sip_split_values(fedge_str_t value, fedge_str_t *out, unsigned max);

/* ------------------------------------------------------------------ */
/* Printing                                                            */
/* ------------------------------------------------------------------ */

typedef enum {
    SIP_EDIT_DELETE,             /* drop header `hdr` entirely */
    SIP_EDIT_DELETE_FIRST_VALUE, /* drop the first comma-separated value of
                                    header `hdr` (pop Via / Route); the whole
                                    header when it has only one value */
    SIP_EDIT_REPLACE_VALUE,      /* keep the name of header `hdr`, new value
                                    `text` */
    SIP_EDIT_INSERT_BEFORE,      /* insert the line `text` ("Name: value",
                                    no CRLF) before header `hdr`; hdr ==
                                    nhdrs appends after the last header */
    SIP_EDIT_REPLACE_BODY,       /* the body is `text` (hdr is ignored);
                                    every Content-Length says its length,
                                    one is appended when there is none */
} sip_edit_op_t;

typedef struct {
    sip_edit_op_t op;
    unsigned hdr;
    fedge_str_t text;
} sip_edit_t;

/* Prints m with edits into out[0..cap). Untouched bytes are copied
 * verbatim. new_start_line (no CRLF) replaces the start line when not NULL
 * (e.g. a rewritten Request-URI). Several edits may name one header; inserts
 * before one header keep their order. The body is copied as it is
 * (Content-Length is not adjusted) unless an edit replaces it. When edits combine on one header:
 * DELETE wins; otherwise REPLACE_VALUE (the last one) gives the value and
 * each DELETE_FIRST_VALUE then drops one leading value of it; a header
 * left without values is dropped. A popped header keeps its name and the
 * remaining values verbatim. Returns
 * 0 and the length in *out_len, FEDGE_ENOSPC when cap is too small, or
 * FEDGE_EINVAL for an edit naming a header that does not exist. */
int sip_print(const sip_msg_t *m, const fedge_str_t *new_start_line, const sip_edit_t *edits,
              unsigned nedits, char *out, size_t cap, size_t *out_len);

/* Builds a response to request req into out[0..cap): status line with code
 * and reason, all Via headers, From, To (with ";tag=to_tag" added when the
 * request's To has no tag, code > 100 and to_tag is not NULL), Call-ID,
 * CSeq, then each line of extra (may be NULL; "Name: value" lines each
 * ending in CRLF), then Content-Length: 0. req should have passed
 * sip_msg_check(). Returns 0, FEDGE_ENOSPC or the error of a header it
 * needed. */
int sip_build_response(sip_msg_t *req, int code, const char *reason, const char *to_tag,
                       const char *extra, char *out, size_t cap, size_t *out_len);

/* Reason phrase RFC 3261 gives for a status code ("Not Found"), or
 * "Unknown". */
const char *sip_reason_phrase(int code);

#endif
