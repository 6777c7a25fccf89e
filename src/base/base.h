/* base.h — what every fedge module shares: the error contract (negative
 * FEDGE_E* codes, one fedge_strerror), a message buffer for errors a user
 * sees, the allocation-failure policy (abort) and the string slice type. */
#ifndef FEDGE_BASE_H
#define FEDGE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every function returns 0 (or a non-negative count) on success and one of
 * these negative codes on failure. Codes are grouped by the room that raises
 * them; fedge_strerror() gives a short English text for each, fit for a SIP
 * reason phrase where the code is a SIP parse error. */
enum {
    FEDGE_OK = 0,

    /* generic */
    FEDGE_ENOMEM = -1,    /* out of memory (only from bounded pools) */
    FEDGE_EINVAL = -2,    /* invalid argument or value */
    FEDGE_EAGAIN = -3,    /* need more input / try again later */
    FEDGE_ENOSPC = -4,    /* output buffer too small */
    FEDGE_ENOENT = -5,    /* not found */
    FEDGE_EEXIST = -6,    /* already exists */
    FEDGE_EIO = -7,       /* I/O error (errno-ish, details in message) */
    FEDGE_ETIMEDOUT = -8, /* timed out */
    FEDGE_ELIMIT = -9,    /* a configured limit was reached */
    FEDGE_ECONFIG = -10,  /* bad configuration */
    FEDGE_ETLS = -11,     /* TLS failure */
    FEDGE_ECLOSED = -12,  /* connection closed */
    FEDGE_EDNS = -13,     /* DNS failure */
    FEDGE_ESTORE = -14,   /* configuration store failure */
    FEDGE_EPERM = -15,    /* refused by policy or permissions */

    /* SIP framing errors: the stream has lost its framing, close it. */
    FEDGE_ESIP_TOO_BIG = -100,       /* message larger than max_message_size */
    FEDGE_ESIP_NO_CLEN = -101,       /* no Content-Length on a stream */
    FEDGE_ESIP_BAD_CLEN = -102,      /* Content-Length not a valid number */
    FEDGE_ESIP_CLEN_MISMATCH = -103, /* several Content-Length that differ */
    FEDGE_ESIP_GARBAGE = -104,       /* bytes that cannot start a SIP message */

    /* SIP parse errors: the message is framed but malformed (answer 400). */
    FEDGE_ESIP_START_LINE = -120,    /* malformed request or status line */
    FEDGE_ESIP_VERSION = -121,       /* not SIP/2.0 */
    FEDGE_ESIP_METHOD = -122,        /* method is not a token */
    FEDGE_ESIP_HEADER = -123,        /* malformed header line */
    FEDGE_ESIP_HDR_COUNT = -124,     /* too many header lines */
    FEDGE_ESIP_LINE_LEN = -125,      /* a header line is too long */
    FEDGE_ESIP_URI_LEN = -126,       /* a URI is too long */
    FEDGE_ESIP_VIA_COUNT = -127,     /* too many Via values */
    FEDGE_ESIP_URI = -128,           /* malformed URI */
    FEDGE_ESIP_VIA = -129,           /* malformed Via */
    FEDGE_ESIP_FROM = -130,          /* malformed or missing From */
    FEDGE_ESIP_TO = -131,            /* malformed or missing To */
    FEDGE_ESIP_CALL_ID = -132,       /* malformed or missing Call-ID */
    FEDGE_ESIP_CSEQ = -133,          /* malformed or missing CSeq */
    FEDGE_ESIP_MAX_FORWARDS = -134,  /* malformed Max-Forwards */
    FEDGE_ESIP_CONTACT = -135,       /* malformed Contact */
    FEDGE_ESIP_ROUTE = -136,         /* malformed Route or Record-Route */
    FEDGE_ESIP_NO_VIA = -137,        /* no Via header */
    FEDGE_ESIP_CSEQ_METHOD = -138,   /* CSeq method differs from request method */
    FEDGE_ESIP_DUP_HEADER = -139,    /* a header that must be single appears twice */
    FEDGE_ESIP_NUL = -140,           /* NUL byte in the header block */
    FEDGE_ESIP_BODY_LEN = -141,      /* body shorter or longer than Content-Length */
    FEDGE_ESIP_EXPIRES = -142,       /* malformed Expires */
    FEDGE_ESIP_CONTENT_TYPE = -143,  /* malformed Content-Type */
    FEDGE_ESIP_EVENT = -144,         /* malformed Event */
    FEDGE_ESIP_STATUS = -145,        /* status code out of range */
};

/* Short English text for a code; never NULL. */
const char *fedge_strerror(int code);

/* True for the SIP framing errors (after one the connection must close). */
bool fedge_is_framing_error(int code);

/* A message a caller can show to a user: filled by the function that
 * failed, with the context it knows (file:line, field, value). */
typedef struct {
    char msg[512];
} fedge_err_t;

/* Formats into e->msg (truncating) and returns code, so that
 *     return fedge_err(e, FEDGE_EINVAL, "bad port '%s'", s);
 * reads as one statement. e may be NULL. */
int fedge_err(fedge_err_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocation wrappers: abort the process on failure (see STYLE.md habit 10:
 * every input is bounded so that this never happens in practice). */
void *fedge_malloc(size_t n);
void *fedge_calloc(size_t n, size_t size);
void *fedge_realloc(void *p, size_t n);
char *fedge_strdup(const char *s);
char *fedge_strndup(const char *s, size_t n);

/* A read-only slice of bytes; not NUL-terminated. */
typedef struct {
    const char *s;
    size_t len;
} fedge_str_t;

#define FEDGE_STR_LIT(lit) ((fedge_str_t){(lit), sizeof(lit) - 1})
#define FEDGE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ASCII case-insensitive comparison of a slice with a C string. */
bool fedge_str_ieq(fedge_str_t a, const char *b);
bool fedge_str_eq(fedge_str_t a, const char *b);

/* FNV-1a 64 style hash of a slice with ASCII letters lowercased, so that
 * keys equal under fedge_str_ieq hash alike (hash tables of domains, user
 * addresses). FNV prime, but the offset basis is 1469598103934665603 (what
 * the first users picked), not the standard one. Pure; s.s may be NULL when
 * s.len is 0. Unkeyed: whoever picks the keys can make them collide, so
 * bound the table's chains or its size. */
uint64_t fedge_hash_ci(fedge_str_t s);

#endif
