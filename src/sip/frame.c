/* frame.c — resumable stream framer: finds message boundaries, CRLF
 * keep-alives and framing errors in a TCP/TLS byte stream. */
#include "sip/sip_int.h"

void sip_limits_default(sip_limits_t *l)
{
    l->max_message_size = 65536;
    l->max_headers = 128;
    l->max_line_len = 8192;
    l->max_uri_len = 2048;
    l->max_vias = 70;
}

int sip__clen_parse(const char *s, size_t len, long long *out)
{
    fedge_str_t v = sip__trim((fedge_str_t){s, len});
    if (v.len == 0)
        return FEDGE_ESIP_BAD_CLEN;
    unsigned long long n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.s[i];
        if (!sip__is(c, SIP__C_DIGIT))
            return FEDGE_ESIP_BAD_CLEN;
        n = n * 10 + (unsigned)(c - '0');
        if (n > 0xffffffffull) /* beyond 32 bits: refuse before it overflows */
            return FEDGE_ESIP_BAD_CLEN;
    }
    *out = (long long)n;
    return 0;
}

static void reset(sip_framer_t *f)
{
    f->scanned = 0;
    f->hdr_end = 0;
    f->body_len = 0;
    f->line_start = 0;
    f->hdr_start = 0;
    f->clen = -1;
}

void sip_framer_init(sip_framer_t *f, size_t max_message_size)
{
    f->max_size = max_message_size ? max_message_size : 65536;
    reset(f);
}

/* A complete logical header buf[0..len) (folded lines included): note its
 * Content-Length if it is one. */
static int header_done(sip_framer_t *f, const char *h, size_t len)
{
    /* the name is "l" or "content-length" (any case), then WS and ':';
     * any other header ends at its first bytes */
    unsigned char c0 = len ? (unsigned char)(h[0] | 0x20) : 0;
    size_t i;
    if (c0 == 'l')
        i = 1;
    else if (c0 == 'c' && len > 14 && sip__ieq_lit(h, "content-length", 14))
        i = 14;
    else
        return 0;
    if (i < len && sip__is((unsigned char)h[i], SIP__C_TOKEN))
        return 0; /* a longer name */
    while (i < len && sip__is((unsigned char)h[i], SIP__C_WS))
        i++;
    if (i >= len || h[i] != ':')
        return 0; /* not a header line: the parser will say so */
    long long v;
    int rc = sip__clen_parse(h + i + 1, len - i - 1, &v);
    if (rc)
        return rc;
    if (f->clen >= 0 && f->clen != v)
        return FEDGE_ESIP_CLEN_MISMATCH;
    f->clen = v;
    return 0;
}

/* True when none of the 8 bytes at p is a control character (below 0x20,
 * or 0x7f): the start line's bytes are checked a word at a time, and one
 * by one only where a word holds one (its CRLF, a TAB, garbage). */
static inline bool word_plain(const char *p)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t below = (w - ones * 0x20) & ~w & high; /* a byte < 0x20 */
    uint64_t y = w ^ (ones * 0x7f);
    uint64_t del = (y - ones) & ~y & high; /* a byte == 0x7f */
    return !(below | del);
}

/* The start line buf[0..len) (without CRLF) is complete: refuse what is
 * plainly not SIP (HTTP on a SIP port). */
static int start_line_done(const char *s, size_t len)
{
    if (len >= 5 && sip__ieq_lit(s, "http/", 5))
        return FEDGE_ESIP_GARBAGE;
    const char *sp = s + len;
    while (sp > s && sp[-1] != ' ')
        sp--;
    size_t last = (size_t)(s + len - sp);
    if (sp > s && last >= 5 && sip__ieq_lit(sp, "http/", 5))
        return FEDGE_ESIP_GARBAGE;
    return 0;
}

int sip_framer_next(sip_framer_t *f, const char *buf, size_t len, size_t *unit_len)
{
    if (f->hdr_end == 0) {
        if (f->scanned == 0) {
            if (len == 0)
                return SIP_FRAME_NEED_MORE;
            unsigned char c0 = (unsigned char)buf[0];
            if (c0 == '\r') {
                /* "\r\n\r\n" is a ping, "\r\n" then anything else a pong;
                 * a shorter prefix may still become a ping */
                if (len < 2)
                    return SIP_FRAME_NEED_MORE;
                if (buf[1] != '\n')
                    return FEDGE_ESIP_GARBAGE;
                if (len < 3)
                    return SIP_FRAME_NEED_MORE;
                if (buf[2] == '\r') {
                    if (len < 4)
                        return SIP_FRAME_NEED_MORE;
                    if (buf[3] == '\n') {
                        *unit_len = 4;
                        return SIP_FRAME_PING;
                    }
                }
                *unit_len = 2;
                return SIP_FRAME_PONG;
            }
            if (!sip__is(c0, SIP__C_TOKEN))
                return FEDGE_ESIP_GARBAGE;
        }
        size_t lim = len < f->max_size ? len : f->max_size;
        size_t pos = f->scanned;
        while (pos < lim) {
            if (f->line_start == 0) {
                /* the start line: no control characters (a word at a time
                 * where word_plain says so, else byte by byte) */
                for (; pos < lim; pos++) {
                    if (lim - pos >= 8 && word_plain(buf + pos)) {
                        pos += 7;
                        continue;
                    }
                    unsigned char c = (unsigned char)buf[pos];
                    if (c == '\n')
                        break;
                    if (sip__is(c, SIP__C_CTL) && c != '\t' &&
                        !(c == '\r' && (pos + 1 == lim || buf[pos + 1] == '\n')))
                        return FEDGE_ESIP_GARBAGE;
                }
                if (pos == lim) {
                    if (buf[pos - 1] == '\r')
                        pos--; /* look at it again with the byte after it */
                    break;
                }
                if (buf[pos - 1] != '\r')
                    return FEDGE_ESIP_GARBAGE; /* lines end in CRLF */
                size_t sl = pos - 1;
                int rc = start_line_done(buf, sl);
                if (rc)
                    return rc;
                pos++;
                f->line_start = pos;
                continue;
            }
            const char *nl = memchr(buf + pos, '\n', lim - pos);
            if (!nl) {
                pos = lim;
                break;
            }
            size_t e = (size_t)(nl - buf);
            size_t ls = f->line_start;
            /* a bare LF would frame differently in other parsers (and
             * sip_parse refuses it): the stream cannot be trusted */
            if (e == ls || buf[e - 1] != '\r')
                return FEDGE_ESIP_GARBAGE;
            bool empty = e == ls + 1;
            bool cont = !empty && (buf[ls] == ' ' || buf[ls] == '\t');
            if (!cont) {
                if (f->hdr_start) {
                    int rc = header_done(f, buf + f->hdr_start, ls - f->hdr_start);
                    if (rc)
                        return rc;
                    /* the headers end at ls + 2 at the earliest: no need
                     * to wait for the rest to know the message is too big */
                    if (f->clen >= 0 && (unsigned long long)f->clen + ls + 2 > f->max_size)
                        return FEDGE_ESIP_TOO_BIG;
                }
                f->hdr_start = ls;
            }
            pos = e + 1;
            f->line_start = pos;
            if (empty) {
                f->hdr_end = pos;
                break;
            }
        }
        f->scanned = pos;
        if (f->hdr_end == 0) {
            if (lim == f->max_size && len >= f->max_size)
                return FEDGE_ESIP_TOO_BIG;
            return SIP_FRAME_NEED_MORE;
        }
        if (f->clen < 0)
            return FEDGE_ESIP_NO_CLEN;
        if ((unsigned long long)f->clen > f->max_size - f->hdr_end)
            return FEDGE_ESIP_TOO_BIG;
        f->body_len = (size_t)f->clen;
    }
    if (len < f->hdr_end || len - f->hdr_end < f->body_len)
        return SIP_FRAME_NEED_MORE;
    *unit_len = f->hdr_end + f->body_len;
    reset(f);
    return SIP_FRAME_MESSAGE;
}
