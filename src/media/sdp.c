/* sdp.c — finding the session description in a SIP body (application/sdp,
 * or one part of a multipart body, RFC 2046 §5.1) and replacing it. */
#include "media/media.h"
#include "sip/sip.h"

#include <string.h>
#include <strings.h>

static bool is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static fedge_str_t trim(const char *s, size_t len)
{
    while (len && is_lws(*s)) {
        s++;
        len--;
    }
    while (len && is_lws(s[len - 1]))
        len--;
    return (fedge_str_t){s, len};
}

/* The value of parameter name in params (";a=b;c="d""), quotes removed
 * (a quoted value is taken as written between the quotes: boundaries hold
 * no escapes, RFC 2046 §5.1.1). False when absent. */
static bool param(fedge_str_t params, const char *name, fedge_str_t *out)
{
    const char *p = params.s, *end = params.s + params.len;
    size_t nlen = strlen(name);
    while (p < end) {
        while (p < end && (is_lws(*p) || *p == ';'))
            p++;
        const char *n = p;
        while (p < end && *p != '=' && *p != ';' && !is_lws(*p))
            p++;
        size_t len = (size_t)(p - n);
        while (p < end && is_lws(*p))
            p++;
        fedge_str_t v = {p, 0};
        if (p < end && *p == '=') {
            p++;
            while (p < end && is_lws(*p))
                p++;
            if (p < end && *p == '"') {
                const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
                if (!q)
                    return false;
                v = (fedge_str_t){p + 1, (size_t)(q - p - 1)};
                p = q + 1;
            } else {
                v.s = p;
                while (p < end && *p != ';' && !is_lws(*p))
                    p++;
                v.len = (size_t)(p - v.s);
            }
        }
        if (len == nlen && !strncasecmp(n, name, nlen)) {
            *out = v;
            return true;
        }
        while (p < end && *p != ';')
            p++;
    }
    return false;
}

static bool is_sdp(const sip_mtype_t *t)
{
    return fedge_str_ieq(t->type, "application") && fedge_str_ieq(t->subtype, "sdp");
}

/* Position of the next delimiter line "--boundary" that starts body or
 * follows a line break, searching from `from`; returns the offset of the
 * "--" and sets *line to where the delimiter's line break starts (the part
 * before ends there). -1 when none. */
static long next_delim(fedge_str_t body, size_t from, fedge_str_t boundary, size_t *line)
{
    size_t need = boundary.len + 2;
    for (size_t i = from; i + need <= body.len; i++) {
        const char *p = memchr(body.s + i, '-', body.len - i);
        if (!p)
            return -1;
        i = (size_t)(p - body.s);
        if (i + need > body.len)
            return -1;
        if (body.s[i + 1] != '-' || memcmp(body.s + i + 2, boundary.s, boundary.len))
            continue;
        if (i == 0) {
            *line = 0;
            return 0;
        }
        if (body.s[i - 1] != '\n')
            continue;
        *line = i - 1 >= 1 && body.s[i - 2] == '\r' ? i - 2 : i - 1;
        return (long)i;
    }
    return -1;
}

/* The Content-Type of one part's header block, as a parsed media type;
 * false when the part has none or it is malformed. */
static bool part_type(const char *h, size_t len, sip_mtype_t *t)
{
    const char *p = h, *end = h + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon) {
            fedge_str_t name = trim(p, (size_t)(colon - p));
            if (fedge_str_ieq(name, "content-type") || fedge_str_ieq(name, "c")) {
                fedge_str_t v = trim(colon + 1, (size_t)(le - colon - 1));
                return sip_mtype_parse(v.s, v.len, t) == 0;
            }
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

static int find_multipart(fedge_str_t boundary, fedge_str_t body, media_sdp_loc_t *loc)
{
    size_t line;
    long d = next_delim(body, 0, boundary, &line);
    if (d < 0)
        return FEDGE_EINVAL;
    for (;;) {
        size_t p = (size_t)d + 2 + boundary.len;
        if (p + 2 <= body.len && body.s[p] == '-' && body.s[p + 1] == '-')
            return FEDGE_ENOENT; /* the closing delimiter: no SDP part */
        while (p < body.len && (body.s[p] == ' ' || body.s[p] == '\t'))
            p++; /* transport padding */
        if (p < body.len && body.s[p] == '\r')
            p++;
        if (p >= body.len || body.s[p] != '\n')
            return FEDGE_EINVAL;
        size_t part = p + 1;
        long nd = next_delim(body, part, boundary, &line);
        if (nd < 0)
            return FEDGE_EINVAL; /* no closing delimiter */
        size_t part_end = line < part ? part : line;
        /* The header block ends at the first empty line; a part that
         * starts with one has no headers (text/plain by default). */
        const char *ps = body.s + part;
        size_t plen = part_end - part;
        size_t content = 0;
        if (plen >= 2 && ps[0] == '\r' && ps[1] == '\n')
            content = 2;
        else if (plen >= 1 && ps[0] == '\n')
            content = 1;
        else {
            const char *crlf = memmem(ps, plen, "\r\n\r\n", 4);
            const char *lf = memmem(ps, plen, "\n\n", 2);
            if (crlf && (!lf || crlf < lf))
                content = (size_t)(crlf - ps) + 4;
            else if (lf)
                content = (size_t)(lf - ps) + 2;
            else
                content = plen; /* headers only */
        }
        sip_mtype_t t;
        if (content && part_type(ps, content, &t) && is_sdp(&t) && content < plen) {
            loc->off = part + content;
            loc->len = plen - content;
            return 0;
        }
        d = nd;
    }
}

bool media_sdp_has_ice(fedge_str_t sdp)
{
    static const char *const attrs[] = {"a=ice-ufrag:", "a=candidate:"};
    for (size_t i = 0; i < sdp.len; i++) {
        if (i && sdp.s[i - 1] != '\n')
            continue;
        for (size_t a = 0; a < FEDGE_ARRAY_LEN(attrs); a++) {
            size_t n = strlen(attrs[a]);
            if (sdp.len - i >= n && !memcmp(sdp.s + i, attrs[a], n))
                return true;
        }
    }
    return false;
}

int media_sdp_find(fedge_str_t content_type, fedge_str_t body, media_sdp_loc_t *loc)
{
    if (body.len == 0)
        return FEDGE_ENOENT;
    fedge_str_t ct = trim(content_type.s, content_type.len);
    if (ct.len == 0)
        return FEDGE_ENOENT; /* RFC 3261 §20.15: no type, nothing we can read */
    sip_mtype_t t;
    if (sip_mtype_parse(ct.s, ct.len, &t) < 0)
        return FEDGE_EINVAL;
    if (is_sdp(&t)) {
        loc->off = 0;
        loc->len = body.len;
        return 0;
    }
    if (!fedge_str_ieq(t.type, "multipart") ||
        !(fedge_str_ieq(t.subtype, "mixed") || fedge_str_ieq(t.subtype, "alternative")))
        return FEDGE_ENOENT;
    fedge_str_t boundary;
    if (!param(t.params, "boundary", &boundary) || boundary.len == 0 || boundary.len > 70)
        return FEDGE_EINVAL; /* RFC 2046 §5.1.1: 1 to 70 characters */
    return find_multipart(boundary, body, loc);
}

int media_sdp_replace(fedge_str_t body, const media_sdp_loc_t *loc, fedge_str_t sdp, char *out,
                      size_t cap)
{
    if (loc->off > body.len || loc->len > body.len - loc->off)
        return FEDGE_EINVAL;
    size_t tail = body.len - loc->off - loc->len;
    size_t n = loc->off + sdp.len + tail;
    if (n > cap || n > INT32_MAX)
        return FEDGE_ENOSPC;
    memcpy(out, body.s, loc->off);
    memcpy(out + loc->off, sdp.s, sdp.len);
    memcpy(out + loc->off + sdp.len, body.s + loc->off + loc->len, tail);
    return (int)n;
}

const char *media_transport_name(media_transport_t tp)
{
    return tp == MEDIA_TP_RTP ? "rtp" : tp == MEDIA_TP_SRTP ? "srtp" : "pass";
}

/* True when an m= line of sdp ends its protocol with AVPF (RFC 4585):
 * "m=<media> <port> <proto> <fmt>...", proto such as RTP/SAVPF or
 * UDP/TLS/RTP/SAVPF. */
static bool has_feedback(fedge_str_t sdp)
{
    const char *p = sdp.s, *end = sdp.s + sdp.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if (le - p > 2 && p[0] == 'm' && p[1] == '=') {
            const char *f = p + 2;
            for (int field = 0; field < 2 && f < le; field++) { /* skip media and port */
                while (f < le && *f != ' ')
                    f++;
                while (f < le && *f == ' ')
                    f++;
            }
            const char *pe = f;
            while (pe < le && *pe != ' ' && *pe != '\r')
                pe++;
            if (pe - f >= 4 && !memcmp(pe - 4, "AVPF", 4))
                return true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

const char *media_transport_protocol(media_transport_t tp, fedge_str_t sdp)
{
    if (tp == MEDIA_TP_PASS)
        return NULL;
    bool fb = has_feedback(sdp);
    if (tp == MEDIA_TP_RTP)
        return fb ? "RTP/AVPF" : "RTP/AVP";
    return fb ? "RTP/SAVPF" : "RTP/SAVP";
}
