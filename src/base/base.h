/* base.h — what every fedge module shares: the error contract (negative
 * FEDGE_E* codes, one fedge_strerror), a message buffer for errors a user
 * sees, the allocation-failure policy (abort) and the string slice type. */
#ifndef FEDGE_BASE_H
#define FEDGE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
    FEDGE_ESIP_START_LINE = -120,   /* malformed request or status line */
    FEDGE_ESIP_VERSION = -121,      /* not SIP/2.0 */
    FEDGE_ESIP_METHOD = -122,       /* method is not a token */
    FEDGE_ESIP_HEADER = -123,       /* malformed header line */
    FEDGE_ESIP_HDR_COUNT = -124,    /* too many header lines */
    FEDGE_ESIP_LINE_LEN = -125,     /* a header line is too long */
    FEDGE_ESIP_URI_LEN = -126,      /* a URI is too long */
    FEDGE_ESIP_VIA_COUNT = -127,    /* too many Via values */
    FEDGE_ESIP_URI = -128,          /* malformed URI */
    FEDGE_ESIP_VIA = -129,          /* malformed Via */
    FEDGE_ESIP_FROM = -130,         /* malformed or missing From */
    FEDGE_ESIP_TO = -131,           /* malformed or missing To */
    FEDGE_ESIP_CALL_ID = -132,      /* malformed or missing Call-ID */
    FEDGE_ESIP_CSEQ = -133,         /* malformed or missing CSeq */
    FEDGE_ESIP_MAX_FORWARDS = -134, /* malformed Max-Forwards */
    FEDGE_ESIP_CONTACT = -135,      /* malformed Contact */
    FEDGE_ESIP_ROUTE = -136,        /* malformed Route or Record-Route */
    FEDGE_ESIP_NO_VIA = -137,       /* no Via header */
    FEDGE_ESIP_CSEQ_METHOD = -138,  /* CSeq method differs from request method */
    FEDGE_ESIP_DUP_HEADER = -139,   /* a header that must be single appears twice */
    FEDGE_ESIP_NUL = -140,          /* NUL byte in the header block */
    FEDGE_ESIP_BODY_LEN = -141,     /* body shorter or longer than Content-Length */
    FEDGE_ESIP_EXPIRES = -142,      /* malformed Expires */
    FEDGE_ESIP_CONTENT_TYPE = -143, /* malformed Content-Type */
    FEDGE_ESIP_EVENT = -144,        /* malformed Event */
    FEDGE_ESIP_STATUS = -145,       /* status code out of range */
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
int fedge_err(fedge_err_t *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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

/* ---- text ---- */

/* Length (1 to 4) of the valid UTF-8 sequence at s[0..n), or 0 when it is
 * not one: truncated, a stray continuation byte, an overlong form, a UTF-16
 * surrogate or a code point above U+10FFFF (RFC 3629 section 3). n > 0.
 * Pure; the one validator behind the admin API's text checks and the JSON
 * log lines. */
size_t fedge_utf8_len(const unsigned char *s, size_t n);

/* ---- appending text to a fixed buffer, without printf ----
 *
 * For the few strings the relay path writes per message (Via, Record-Route,
 * keys, host:port): vsnprintf's generic machinery cost about as much as
 * parsing the message. The buffer stays NUL-terminated (when cap > 0); a
 * piece that does not fit whole sets full and is not written, so that a
 * caller checks full once at the end. The buffer is the caller's. */
typedef struct {
    char *p;
    size_t len, cap;
    bool full;
} fedge_sb_t;

static inline void fedge_sb_init(fedge_sb_t *b, char *buf, size_t cap)
{
    *b = (fedge_sb_t){buf, 0, cap, cap == 0};
    if (cap)
        buf[0] = '\0';
}

/* Appends n bytes of s (s may be NULL when n is 0). Inline, as
 * fedge_sb_puts: a literal's length is then known when compiling. */
static inline void fedge_sb_put(fedge_sb_t *b, const char *s, size_t n)
{
    if (b->full || n >= b->cap - b->len) {
        b->full = true;
        return;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Appends the C string s. */
static inline void fedge_sb_puts(fedge_sb_t *b, const char *s)
{
    fedge_sb_put(b, s, strlen(s));
}
/* Appends v in decimal. */
void fedge_sb_putu(fedge_sb_t *b, unsigned long long v);

/* ---- hashing ----
 *
 * Hash tables whose keys a peer chooses (user names, Call-IDs, domains,
 * addresses) use fedge_hash and fedge_hash_ci: SipHash (Aumasson and
 * Bernstein, "SipHash: a fast short-input PRF", 2012) keyed with 16 bytes
 * that getrandom() gives once per process, so a peer cannot compute keys
 * that collide and turn a table into a list. The key is drawn on first use,
 * thread-safely. Values differ from one process to the next: never store or
 * send them. They run SipHash-1-3, the reduced-round variant that hash
 * tables use for this purpose (the default of Rust's HashMap and of
 * CPython's str hash): still keyed, so collisions stay unpredictable, at
 * about half the rounds on the short keys here. Where the output must
 * resist more than collision-seeking (a value a peer sees),
 * fedge_siphash24 is the full-strength function. */

/* SipHash-2-4 of data under an explicit 128-bit key (the reference
 * function; its published test vectors hold). data may be NULL when len is
 * 0. Pure. */
uint64_t fedge_siphash24(const uint8_t key[16], const void *data, size_t len);

/* SipHash-1-3 of data under an explicit 128-bit key (its published test
 * vectors hold). data may be NULL when len is 0. Pure. */
uint64_t fedge_siphash13(const uint8_t key[16], const void *data, size_t len);

/* SipHash-1-3 of data under the process key. */
uint64_t fedge_hash(const void *data, size_t len);

/* The same as fedge_hash of s with ASCII letters lowercased, so that keys
 * equal under fedge_str_ieq hash alike (domains, host names). s.s may be
 * NULL when s.len is 0. */
uint64_t fedge_hash_ci(fedge_str_t s);

/* ---- intrusive hash map ----
 *
 * The node lives inside the caller's struct; the map owns only its bucket
 * array, never the nodes. Chained, power-of-two buckets, doubled when the
 * count exceeds the bucket count (never shrunk). Several nodes may share a
 * key: insert does not look for an existing one (use fedge_map_find first
 * where a key must be unique). Not thread-safe: concurrent finds on a map
 * nobody modifies are fine.
 *
 *     struct user { fedge_map_node_t node; char name[64]; };
 *     static bool user_eq(const fedge_map_node_t *n, const void *key)
 *     {
 *         return strcmp(FEDGE_CONTAINER_OF(n, struct user, node)->name, key) == 0;
 *     }
 *     fedge_map_insert(&m, &u->node, fedge_hash(u->name, strlen(u->name)));
 *     fedge_map_node_t *n = fedge_map_find(&m, fedge_hash(k, strlen(k)), user_eq, k);
 */

#define FEDGE_CONTAINER_OF(ptr, type, member)                                                      \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct fedge_map_node {
    struct fedge_map_node *next; /* chain; the map's business */
    uint64_t hash;               /* as given to fedge_map_insert */
} fedge_map_node_t;

typedef struct {
    fedge_map_node_t **buckets; /* NULL until the first insert */
    size_t nbuckets;            /* 0 or a power of two */
    size_t count;
} fedge_map_t;

/* An empty map; a zeroed fedge_map_t is one too. */
#define FEDGE_MAP_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* True when node n holds key (as passed to fedge_map_find). */
typedef bool (*fedge_map_eq_fn)(const fedge_map_node_t *n, const void *key);

/* Frees the bucket array and leaves m empty; the nodes stay the caller's
 * (free them before or after, e.g. by iterating first). */
void fedge_map_free(fedge_map_t *m);

/* Adds n under hash (from fedge_hash / fedge_hash_ci, or any well-mixed
 * 64-bit value for keys no peer chooses). n must not be in a map. May grow
 * the bucket array (aborts on out of memory, as fedge_malloc does). */
void fedge_map_insert(fedge_map_t *m, fedge_map_node_t *n, uint64_t hash);

/* The first node with this hash for which eq(node, key) holds, or NULL. */
fedge_map_node_t *fedge_map_find(const fedge_map_t *m, uint64_t hash, fedge_map_eq_fn eq,
                                 const void *key);

/* The next node after `after` (a result of fedge_map_find or of this) with
 * the same hash for which eq holds, or NULL: walks every node of a key. */
fedge_map_node_t *fedge_map_find_next(const fedge_map_t *m, const fedge_map_node_t *after,
                                      fedge_map_eq_fn eq, const void *key);

/* Takes n out of m; false (and nothing done) when n is not in m. */
bool fedge_map_remove(fedge_map_t *m, fedge_map_node_t *n);

static inline size_t fedge_map_count(const fedge_map_t *m)
{
    return m->count;
}

/* Iteration in no particular order. The node last returned may be removed
 * (and freed) before the next call; inserting, or removing any other node,
 * during an iteration is not allowed. */
typedef struct {
    const fedge_map_t *m;
    size_t bucket;
    fedge_map_node_t *next;
} fedge_map_iter_t;

void fedge_map_iter_init(fedge_map_iter_t *it, const fedge_map_t *m);
fedge_map_node_t *fedge_map_iter_next(fedge_map_iter_t *it);

/* ---- hosts ---- */

/* True when host is an IP address literal: an IPv4 dotted quad
 * ("192.0.2.1", four decimal parts, as inet_pton reads them) or an IPv6
 * address, bare ("2001:db8::1") or in brackets ("[2001:db8::1]", the
 * RFC 3986 / RFC 3261 form). False for NULL, the empty string, host
 * names, and partial forms such as "1.2.3" or "[::1" — so a caller that
 * asks "is this a name to resolve / to send as SNI?" gets "a name" for
 * anything but a literal. Zone ids ("fe80::1%eth0") are not literals. */
bool fedge_host_is_ip(const char *host);

/* Writes "host:port", or "[host]:port" when host is a bare IPv6 address
 * (holds a ':' and no brackets yet), NUL-terminated, into buf of cap bytes.
 * Returns the length written, or FEDGE_ENOSPC (buf then holds "" when cap
 * > 0) when it does not fit. */
int fedge_hostport_format(char *buf, size_t cap, const char *host, uint16_t port);

#endif
