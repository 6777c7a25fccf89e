/* base.c — error texts, error message formatting, the aborting allocation
 * wrappers, UTF-8 validation, keyed hashing, the intrusive hash map and host
 * literals shared by all fedge modules. */
#include "base/base.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

const char *fedge_strerror(int code)
{
    switch (code) {
    case FEDGE_OK: return "Success";
    case FEDGE_ENOMEM: return "Out of memory";
    case FEDGE_EINVAL: return "Invalid argument";
    case FEDGE_EAGAIN: return "Need more data";
    case FEDGE_ENOSPC: return "Buffer too small";
    case FEDGE_ENOENT: return "Not found";
    case FEDGE_EEXIST: return "Already exists";
    case FEDGE_EIO: return "I/O error";
    case FEDGE_ETIMEDOUT: return "Timed out";
    case FEDGE_ELIMIT: return "Limit reached";
    case FEDGE_ECONFIG: return "Bad configuration";
    case FEDGE_ETLS: return "TLS failure";
    case FEDGE_ECLOSED: return "Connection closed";
    case FEDGE_EDNS: return "DNS failure";
    case FEDGE_ESTORE: return "Store failure";
    case FEDGE_EPERM: return "Not permitted";

    case FEDGE_ESIP_TOO_BIG: return "Message Too Large";
    case FEDGE_ESIP_NO_CLEN: return "Missing Content-Length";
    case FEDGE_ESIP_BAD_CLEN: return "Bad Content-Length";
    case FEDGE_ESIP_CLEN_MISMATCH: return "Conflicting Content-Length";
    case FEDGE_ESIP_GARBAGE: return "Not a SIP Message";

    case FEDGE_ESIP_START_LINE: return "Malformed Start Line";
    case FEDGE_ESIP_VERSION: return "Unsupported SIP Version";
    case FEDGE_ESIP_METHOD: return "Malformed Method";
    case FEDGE_ESIP_HEADER: return "Malformed Header";
    case FEDGE_ESIP_HDR_COUNT: return "Too Many Headers";
    case FEDGE_ESIP_LINE_LEN: return "Header Line Too Long";
    case FEDGE_ESIP_URI_LEN: return "URI Too Long";
    case FEDGE_ESIP_VIA_COUNT: return "Too Many Via Headers";
    case FEDGE_ESIP_URI: return "Malformed URI";
    case FEDGE_ESIP_VIA: return "Malformed Via";
    case FEDGE_ESIP_FROM: return "Malformed or Missing From";
    case FEDGE_ESIP_TO: return "Malformed or Missing To";
    case FEDGE_ESIP_CALL_ID: return "Malformed or Missing Call-ID";
    case FEDGE_ESIP_CSEQ: return "Malformed or Missing CSeq";
    case FEDGE_ESIP_MAX_FORWARDS: return "Malformed Max-Forwards";
    case FEDGE_ESIP_CONTACT: return "Malformed Contact";
    case FEDGE_ESIP_ROUTE: return "Malformed Route";
    case FEDGE_ESIP_NO_VIA: return "Missing Via";
    case FEDGE_ESIP_CSEQ_METHOD: return "CSeq Method Mismatch";
    case FEDGE_ESIP_DUP_HEADER: return "Duplicate Header";
    case FEDGE_ESIP_NUL: return "NUL Byte in Headers";
    case FEDGE_ESIP_BODY_LEN: return "Body Length Mismatch";
    case FEDGE_ESIP_EXPIRES: return "Malformed Expires";
    case FEDGE_ESIP_CONTENT_TYPE: return "Malformed Content-Type";
    case FEDGE_ESIP_EVENT: return "Malformed Event";
    case FEDGE_ESIP_STATUS: return "Bad Status Code";
    }
    return "Unknown error";
}

bool fedge_is_framing_error(int code)
{
    return code <= FEDGE_ESIP_TOO_BIG && code >= FEDGE_ESIP_GARBAGE;
}

int fedge_err(fedge_err_t *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

static void *check(void *p, size_t n)
{
    if (p == NULL && n != 0) {
        fprintf(stderr, "fedge: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *fedge_malloc(size_t n)
{
    return check(malloc(n ? n : 1), n);
}
void *fedge_calloc(size_t n, size_t size)
{
    return check(calloc(n ? n : 1, size ? size : 1), n * size);
}
void *fedge_realloc(void *p, size_t n)
{
    return check(realloc(p, n ? n : 1), n);
}

char *fedge_strdup(const char *s)
{
    return fedge_strndup(s, strlen(s));
}

char *fedge_strndup(const char *s, size_t n)
{
    char *d = fedge_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

bool fedge_str_ieq(fedge_str_t a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && strncasecmp(a.s, b, n) == 0;
}

bool fedge_str_eq(fedge_str_t a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && memcmp(a.s, b, n) == 0;
}

size_t fedge_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0; /* a continuation byte, 0xc0/0xc1 (always overlong) or 0xf5.. */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0; /* overlong, surrogate or out of range */
    return len;
}

/* ---- SipHash-2-4 ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

/* Little-endian load of 8 bytes. */
static inline uint64_t load8(const uint8_t *p)
{
    uint64_t m;
    memcpy(&m, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    m = __builtin_bswap64(m);
#endif
    return m;
}

/* Little-endian load of 4 bytes. */
static inline uint64_t load4(const uint8_t *p)
{
    uint32_t m;
    memcpy(&m, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    m = __builtin_bswap32(m);
#endif
    return m;
}

/* Little-endian load of the n (< 8) bytes of a tail, p[0] lowest. With 4 to
 * 7 bytes, two 4-byte loads that overlap (OR of equal bytes in the same
 * place); with 1 to 3, the first, middle and last bytes (some the same):
 * no loop on the path every short key takes, no read outside p[0..n). */
static inline uint64_t load_tail(const uint8_t *p, size_t n)
{
    if (n >= 4)
        return load4(p) | load4(p + n - 4) << (8 * (n - 4));
    if (n == 0)
        return 0;
    return (uint64_t)p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) |
           (uint64_t)p[n - 1] << (8 * (n - 1));
}

/* Lowercases the ASCII letters of the 8 bytes in w at once: a byte gets
 * 0x20 added when it is in 'A'..'Z' (its high bit clear, and 'A' <= it,
 * and not > 'Z'); no carry crosses a byte since each sum stays < 0x100. */
static inline uint64_t lower8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t seven = w & ~high;
    uint64_t ge_a = seven + ones * (0x80 - 'A');
    uint64_t gt_z = seven + ones * (0x7f - 'Z');
    uint64_t upper = (ge_a ^ gt_z) & ~w & high;
    return w | (upper >> 2);
}

/* SipHash-c-d: c rounds per 8-byte block, d to finalise. Called with
 * constant rounds, so each caller gets its own unrolled copy. */
static inline __attribute__((always_inline)) uint64_t
siphash(const uint8_t key[16], const uint8_t *in, size_t len, bool ci, int c, int d)
{
    uint64_t k0 = load8(key), k1 = load8(key + 8);
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load8(in + i);
        if (ci)
            m = lower8(m);
        v3 ^= m;
#pragma GCC unroll 4
        for (int r = 0; r < c; r++)
            SIPROUND;
        v0 ^= m;
    }
    uint64_t t = len > whole ? load_tail(in + whole, len - whole) : 0;
    if (ci)
        t = lower8(t);
    uint64_t b = ((uint64_t)len << 56) | t;
    v3 ^= b;
#pragma GCC unroll 4
    for (int r = 0; r < c; r++)
        SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
#pragma GCC unroll 4
    for (int r = 0; r < d; r++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t fedge_siphash24(const uint8_t key[16], const void *data, size_t len)
{
    return siphash(key, data, len, false, 2, 4);
}

uint64_t fedge_siphash13(const uint8_t key[16], const void *data, size_t len)
{
    return siphash(key, data, len, false, 1, 3);
}

static uint8_t process_key[16];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void draw_key(void)
{
    size_t got = 0;
    while (got < sizeof process_key) {
        ssize_t r = getrandom(process_key + got, sizeof process_key - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno != EINTR)
            break;
    }
    if (got == sizeof process_key)
        return;
    /* getrandom() missing (ENOSYS under an old kernel or a seccomp filter):
     * the same bytes from the device. */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    got = 0;
    while (fd >= 0 && got < sizeof process_key) {
        ssize_t r = read(fd, process_key + got, sizeof process_key - got);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || errno != EINTR)
            break;
    }
    if (fd >= 0)
        close(fd);
    if (got != sizeof process_key) {
        /* Without randomness TLS cannot work either: stop here, loudly. */
        fprintf(stderr, "fedge: no random bytes for the hash key (getrandom, /dev/urandom)\n");
        abort();
    }
}

static const uint8_t *hash_key(void)
{
    pthread_once(&key_once, draw_key);
    return process_key;
}

uint64_t fedge_hash(const void *data, size_t len)
{
    return siphash(hash_key(), data, len, false, 1, 3);
}

uint64_t fedge_hash_ci(fedge_str_t s)
{
    return siphash(hash_key(), (const uint8_t *)s.s, s.len, true, 1, 3);
}

/* ---- intrusive hash map ---- */

void fedge_map_free(fedge_map_t *m)
{
    free(m->buckets);
    *m = (fedge_map_t)FEDGE_MAP_INIT;
}

static void grow(fedge_map_t *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 8;
    fedge_map_node_t **b = fedge_calloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (fedge_map_node_t *n = m->buckets[i], *next; n; n = next) {
            next = n->next;
            fedge_map_node_t **head = &b[n->hash & (nb - 1)];
            n->next = *head;
            *head = n;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

void fedge_map_insert(fedge_map_t *m, fedge_map_node_t *n, uint64_t hash)
{
    if (m->count + 1 > m->nbuckets)
        grow(m);
    fedge_map_node_t **head = &m->buckets[hash & (m->nbuckets - 1)];
    n->hash = hash;
    n->next = *head;
    *head = n;
    m->count++;
}

static fedge_map_node_t *match(fedge_map_node_t *n, uint64_t hash, fedge_map_eq_fn eq,
                               const void *key)
{
    for (; n; n = n->next)
        if (n->hash == hash && eq(n, key))
            return n;
    return NULL;
}

fedge_map_node_t *fedge_map_find(const fedge_map_t *m, uint64_t hash, fedge_map_eq_fn eq,
                                 const void *key)
{
    if (!m->nbuckets)
        return NULL;
    return match(m->buckets[hash & (m->nbuckets - 1)], hash, eq, key);
}

fedge_map_node_t *fedge_map_find_next(const fedge_map_t *m, const fedge_map_node_t *after,
                                      fedge_map_eq_fn eq, const void *key)
{
    (void)m;
    return after ? match(after->next, after->hash, eq, key) : NULL;
}

bool fedge_map_remove(fedge_map_t *m, fedge_map_node_t *n)
{
    if (!m->nbuckets)
        return false;
    for (fedge_map_node_t **pp = &m->buckets[n->hash & (m->nbuckets - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            n->next = NULL;
            m->count--;
            return true;
        }
    }
    return false;
}

void fedge_map_iter_init(fedge_map_iter_t *it, const fedge_map_t *m)
{
    it->m = m;
    it->bucket = 0;
    it->next = NULL;
    while (it->bucket < m->nbuckets && !(it->next = m->buckets[it->bucket]))
        it->bucket++;
}

fedge_map_node_t *fedge_map_iter_next(fedge_map_iter_t *it)
{
    fedge_map_node_t *n = it->next;
    if (!n)
        return NULL;
    /* Step past n now, so that the caller may unlink n before coming back. */
    it->next = n->next;
    while (!it->next && ++it->bucket < it->m->nbuckets)
        it->next = it->m->buckets[it->bucket];
    return n;
}

/* ---- hosts ---- */

bool fedge_host_is_ip(const char *host)
{
    if (!host || !*host)
        return false;
    unsigned char buf[16];
    size_t len = strlen(host);
    if (host[0] == '[') {
        char inner[64];
        if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof inner)
            return false;
        memcpy(inner, host + 1, len - 2);
        inner[len - 2] = '\0';
        return inet_pton(AF_INET6, inner, buf) == 1;
    }
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Measured first, then written with plain copies: on the path of every
 * forwarded request (the connection lookup's key). */
int fedge_hostport_format(char *buf, size_t cap, const char *host, uint16_t port)
{
    size_t hl = strlen(host);
    bool bracket = host[0] != '[' && memchr(host, ':', hl);
    size_t nd = port >= 10000 ? 5 : port >= 1000 ? 4 : port >= 100 ? 3 : port >= 10 ? 2 : 1;
    size_t len = hl + (bracket ? 3 : 1) + nd;
    if (len >= cap) {
        if (cap)
            buf[0] = '\0';
        return FEDGE_ENOSPC;
    }
    char *p = buf;
    if (bracket)
        *p++ = '[';
    memcpy(p, host, hl);
    p += hl;
    if (bracket)
        *p++ = ']';
    *p++ = ':';
    p[nd] = '\0';
    for (size_t i = nd; i-- > 0; port /= 10)
        p[i] = (char)('0' + port % 10);
    return (int)len;
}

/* ---- fedge_sb_t ---- */

void fedge_sb_putu(fedge_sb_t *b, unsigned long long v)
{
    char d[20];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fedge_sb_put(b, d + i, sizeof(d) - i);
}
