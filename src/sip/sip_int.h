/* sip_int.h — internals shared by the files of src/sip/ (character class
 * table, small scanners); not part of the public interface. */
#ifndef FEDGE_SIP_INT_H
#define FEDGE_SIP_INT_H

#include "sip/sip.h"

#include <string.h>

/* Character classes, one bit each, in sip__cc[byte]. */
enum {
    SIP__C_TOKEN = 1u << 0, /* RFC 3261 token */
    SIP__C_WS = 1u << 1,    /* SP HT */
    SIP__C_LWS = 1u << 2,   /* SP HT CR LF */
    SIP__C_DIGIT = 1u << 3,
    SIP__C_ALPHA = 1u << 4,
    SIP__C_HEX = 1u << 5,
    SIP__C_UNRES = 1u << 6, /* unreserved = alphanum / mark */
    SIP__C_USER = 1u << 7,  /* unreserved / user-unreserved */
    SIP__C_PASS = 1u << 8,  /* unreserved / & = + $ , */
    SIP__C_PARAM = 1u << 9, /* paramchar without escaped */
    SIP__C_HNV = 1u << 10,  /* hname/hvalue chars without escaped */
    SIP__C_WORD = 1u << 11, /* Call-ID word */
    SIP__C_HOST = 1u << 12, /* alphanum - . */
    SIP__C_CTL = 1u << 13,  /* 0x00-0x1f, 0x7f */
    SIP__C_URIC = 1u << 14, /* any visible ASCII (opaque URIs) */
    SIP__C_TEL = 1u << 15,  /* telephone-subscriber number chars */
};

extern const uint16_t sip__cc[256];
extern const unsigned char sip__lower[256];

static inline bool sip__is(unsigned char c, unsigned cls)
{
    return (sip__cc[c] & cls) != 0;
}

/* Case-insensitive equality of a[0..n) with a lowercase literal b. */
static inline bool sip__ieq_lit(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sip__lower[(unsigned char)a[i]] != (unsigned char)b[i])
            return false;
    return true;
}

/* Case-insensitive equality of two byte ranges of length n. */
static inline bool sip__ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sip__lower[(unsigned char)a[i]] != sip__lower[(unsigned char)b[i]])
            return false;
    return true;
}

/* Skips LWS (SP, HT and folded line breaks) from p up to end. */
static inline const char *sip__skip_lws(const char *p, const char *end)
{
    while (p < end && sip__is((unsigned char)*p, SIP__C_LWS))
        p++;
    return p;
}

/* Trims LWS at both ends of a slice. */
static inline fedge_str_t sip__trim(fedge_str_t v)
{
    while (v.len && sip__is((unsigned char)v.s[0], SIP__C_LWS)) {
        v.s++;
        v.len--;
    }
    while (v.len && sip__is((unsigned char)v.s[v.len - 1], SIP__C_LWS))
        v.len--;
    return v;
}

/* Parses a quoted-string starting at *p == '"' (escapes allowed): sets *p
 * past the closing quote. Returns 0, or -1 when unterminated or a CR/LF
 * appears unescaped other than as folding. */
int sip__skip_quoted(const char **p, const char *end);

/* Parses host (hostname, IPv4 or [IPv6]) at s[0..len) exactly. Returns 0 and
 * sets *kind, or -1. */
int sip__host_check(const char *s, size_t len, sip_host_kind_t *kind);

/* Scans a hostname or IPv4 address (not an IPv6 reference) at s: the
 * longest run of alphanum, '-' and '.' before end, checked as
 * sip__host_check checks it. Returns the end of the run and sets *kind,
 * or NULL when the run is empty or not a valid host. */
const char *sip__host_scan(const char *s, const char *end, sip_host_kind_t *kind);

/* Parses a decimal port of 1-5 digits <= 65535 at s[0..len) exactly. */
int sip__port_parse(const char *s, size_t len, uint16_t *out);

/* Parses a generic ";name[=value]" parameter list (LWS allowed around ';'
 * and '=', values token / host / quoted-string) starting at p; stops at
 * end or before the first byte (after LWS) that cannot continue it. Calls
 * cb with each parameter (value empty when it has none; a quoted value
 * keeps its quotes); a non-zero return from cb stops the scan with NULL.
 * Returns the stop position, or NULL when a parameter is malformed. */
typedef int (*sip__param_cb)(void *ctx, fedge_str_t name, fedge_str_t value, bool has_value);
const char *sip__params_scan(const char *p, const char *end, sip__param_cb cb, void *ctx);

/* Iterates over a parameter list like sip_param_get does: sets *p past the
 * next parameter; returns false at the end of the list. */
bool sip__param_next(const char **p, const char *end, fedge_str_t *name, fedge_str_t *value,
                     bool *has_value);

/* Decimal of 1..max_digits digits at s[0..len) exactly, value <= max. */
int sip__uint_parse(const char *s, size_t len, unsigned long long max, unsigned long long *out);

/* Content-Length value (LWS around it allowed): 1*DIGIT below 2^32.
 * Returns 0 or FEDGE_ESIP_BAD_CLEN. */
int sip__clen_parse(const char *s, size_t len, long long *out);

#endif
