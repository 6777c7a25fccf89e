/* base.c — error texts, error message formatting and the aborting
 * allocation wrappers shared by all fedge modules. */
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void *fedge_malloc(size_t n) { return check(malloc(n ? n : 1), n); }
void *fedge_calloc(size_t n, size_t size) { return check(calloc(n ? n : 1, size ? size : 1), n * size); }
void *fedge_realloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n); }

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

uint64_t fedge_hash_ci(fedge_str_t s)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}
