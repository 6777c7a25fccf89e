/* print.c — rebuilds a parsed message with header edits (copying untouched
 * bytes verbatim), builds responses to requests, and gives reason phrases. */
#include "sip/sip_int.h"

#include <stdio.h>

typedef struct {
    char *p;
    size_t len, cap;
    bool full;
} out_t;

static inline void put(out_t *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (o->full || n > o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static inline void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Offset just past the first k top-level values of v (at the start of the
 * next value), or v.len when there are no more; -1 on a malformed value. */
static long skip_values(fedge_str_t v, unsigned k)
{
    size_t off = 0;
    for (unsigned i = 0; i < k; i++) {
        fedge_str_t one;
        if (sip_split_values((fedge_str_t){v.s + off, v.len - off}, &one, 1) != 1)
            return (long)v.len;
        size_t e = (size_t)(one.s + one.len - v.s);
        /* past trailing LWS and the comma */
        while (e < v.len && sip__is((unsigned char)v.s[e], SIP__C_LWS))
            e++;
        if (e >= v.len || v.s[e] != ',')
            return (long)v.len;
        e++;
        while (e < v.len && sip__is((unsigned char)v.s[e], SIP__C_LWS))
            e++;
        off = e;
    }
    return (long)off;
}

int sip_print(const sip_msg_t *m, const fedge_str_t *new_start_line, const sip_edit_t *edits,
              unsigned nedits, char *out, size_t cap, size_t *out_len)
{
    const fedge_str_t *body = &m->body;
    char clen[24] = "";
    for (unsigned i = 0; i < nedits; i++) {
        if (edits[i].op == SIP_EDIT_REPLACE_BODY) {
            body = &edits[i].text;
            snprintf(clen, sizeof(clen), "%zu", body->len);
            continue;
        }
        if (edits[i].hdr > m->nhdrs ||
            (edits[i].hdr == m->nhdrs && edits[i].op != SIP_EDIT_INSERT_BEFORE))
            return FEDGE_EINVAL;
    }
    bool clen_seen = false;
    /* headers some edit names: the others are copied as they came, a run
     * of neighbours in one piece (their raw bytes follow each other) */
    uint64_t touched[(SIP_MAX_HEADERS_CAP + 1 + 63) / 64] = {0};
    for (unsigned i = 0; i < nedits; i++)
        if (edits[i].op != SIP_EDIT_REPLACE_BODY)
            touched[edits[i].hdr / 64] |= 1ull << (edits[i].hdr % 64);
    out_t o = {out, 0, cap, false};
    if (new_start_line)
        put(&o, new_start_line->s, new_start_line->len);
    else
        put(&o, m->start_line.s, m->start_line.len);
    put(&o, "\r\n", 2);
    for (unsigned h = 0; h <= m->nhdrs; h++) {
        if (h < m->nhdrs && !(touched[h / 64] & (1ull << (h % 64))) &&
            !(clen[0] && m->hdrs[h].id == SIP_HDR_CONTENT_LENGTH)) {
            const char *run = m->hdrs[h].raw.s, *run_end = run + m->hdrs[h].raw.len;
            while (h + 1 < m->nhdrs && !(touched[(h + 1) / 64] & (1ull << ((h + 1) % 64))) &&
                   !(clen[0] && m->hdrs[h + 1].id == SIP_HDR_CONTENT_LENGTH) &&
                   m->hdrs[h + 1].raw.s == run_end) {
                h++;
                run_end += m->hdrs[h].raw.len;
            }
            put(&o, run, (size_t)(run_end - run));
            continue;
        }
        bool del = false;
        unsigned pops = 0;
        const sip_edit_t *repl = NULL;
        for (unsigned i = 0; i < nedits; i++) {
            const sip_edit_t *e = &edits[i];
            if (e->hdr != h)
                continue;
            switch (e->op) {
            case SIP_EDIT_INSERT_BEFORE:
                put(&o, e->text.s, e->text.len);
                put(&o, "\r\n", 2);
                break;
            case SIP_EDIT_DELETE: del = true; break;
            case SIP_EDIT_DELETE_FIRST_VALUE: pops++; break;
            case SIP_EDIT_REPLACE_VALUE: repl = e; break;
            case SIP_EDIT_REPLACE_BODY: break;
            }
        }
        if (h == m->nhdrs && clen[0] && !clen_seen) {
            put(&o, "Content-Length: ", 16);
            put(&o, clen, strlen(clen));
            put(&o, "\r\n", 2);
        }
        if (h == m->nhdrs || del)
            continue;
        const sip_hdr_t *hd = &m->hdrs[h];
        if (clen[0] && hd->id == SIP_HDR_CONTENT_LENGTH) {
            /* the body was replaced: its length, under the name as written */
            clen_seen = true;
            put(&o, hd->name.s, hd->name.len);
            put(&o, ": ", 2);
            put(&o, clen, strlen(clen));
            put(&o, "\r\n", 2);
            continue;
        }
        if (!repl && !pops) {
            put(&o, hd->raw.s, hd->raw.len);
            continue;
        }
        fedge_str_t v = repl ? repl->text : hd->value;
        /* the first Via holding one value (sip_parse counted) has none
         * left after a pop */
        bool single = !repl && hd->id == SIP_HDR_VIA && m->first[SIP_HDR_VIA] == (int16_t)h &&
                      m->first_via_values == 1;
        long off = !pops ? 0 : single ? (long)v.len : skip_values(v, pops);
        if (off >= (long)v.len && (pops || v.len))
            continue; /* no value left */
        if (repl) {
            put(&o, hd->name.s, hd->name.len);
            put(&o, ": ", 2);
            put(&o, v.s + off, v.len - (size_t)off);
            put(&o, "\r\n", 2);
        } else {
            /* "Name: " as written, then the rest of the raw line verbatim */
            put(&o, hd->raw.s, (size_t)(v.s - hd->raw.s));
            const char *rest = v.s + off;
            put(&o, rest, (size_t)(hd->raw.s + hd->raw.len - rest));
        }
    }
    put(&o, "\r\n", 2);
    put(&o, body->s, body->len);
    if (o.full)
        return FEDGE_ENOSPC;
    *out_len = o.len;
    return 0;
}

int sip_build_response(sip_msg_t *req, int code, const char *reason, const char *to_tag,
                       const char *extra, char *out, size_t cap, size_t *out_len)
{
    const sip_nameaddr_t *to;
    const sip_cseq_t *cseq;
    fedge_str_t cid;
    int rc;
    if ((rc = sip_msg_to(req, &to)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_TO : rc;
    if ((rc = sip_msg_call_id(req, &cid)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_CALL_ID : rc;
    if ((rc = sip_msg_cseq(req, &cseq)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_CSEQ : rc;
    const sip_hdr_t *from = sip_msg_find(req, SIP_HDR_FROM);
    if (!from)
        return FEDGE_ESIP_FROM;
    if (code < 100 || code > 699)
        return FEDGE_EINVAL;
    out_t o = {out, 0, cap, false};
    char num[8];
    num[0] = (char)('0' + code / 100);
    num[1] = (char)('0' + code / 10 % 10);
    num[2] = (char)('0' + code % 10);
    put(&o, "SIP/2.0 ", 8);
    put(&o, num, 3);
    put(&o, " ", 1);
    puts_(&o, reason ? reason : sip_reason_phrase(code));
    put(&o, "\r\n", 2);
    for (unsigned i = 0; i < req->nhdrs; i++)
        if (req->hdrs[i].id == SIP_HDR_VIA)
            put(&o, req->hdrs[i].raw.s, req->hdrs[i].raw.len);
    put(&o, from->raw.s, from->raw.len);
    const sip_hdr_t *th = sip_msg_find(req, SIP_HDR_TO);
    if (!to->has_tag && code > 100 && to_tag) {
        const char *ve = th->value.s + th->value.len;
        put(&o, th->raw.s, (size_t)(ve - th->raw.s));
        put(&o, ";tag=", 5);
        puts_(&o, to_tag);
        put(&o, ve, (size_t)(th->raw.s + th->raw.len - ve));
    } else {
        put(&o, th->raw.s, th->raw.len);
    }
    const sip_hdr_t *h = sip_msg_find(req, SIP_HDR_CALL_ID);
    put(&o, h->raw.s, h->raw.len);
    h = sip_msg_find(req, SIP_HDR_CSEQ);
    put(&o, h->raw.s, h->raw.len);
    if (extra)
        puts_(&o, extra);
    puts_(&o, "Content-Length: 0\r\n\r\n");
    if (o.full)
        return FEDGE_ENOSPC;
    *out_len = o.len;
    return 0;
}

const char *sip_reason_phrase(int code)
{
    switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 199: return "Early Dialog Terminated";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Notification";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 412: return "Conditional Request Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 417: return "Unknown Resource-Priority";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 422: return "Session Interval Too Small";
    case 423: return "Interval Too Brief";
    case 428: return "Use Identity Header";
    case 429: return "Provide Referrer Identity";
    case 430: return "Flow Failed";
    case 433: return "Anonymity Disallowed";
    case 436: return "Bad Identity-Info";
    case 437: return "Unsupported Certificate";
    case 438: return "Invalid Identity Header";
    case 439: return "First Hop Lacks Outbound Support";
    case 440: return "Max-Breadth Exceeded";
    case 469: return "Bad Info Package";
    case 470: return "Consent Needed";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 494: return "Security Agreement Required";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 580: return "Precondition Failure";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    case 607: return "Unwanted";
    }
    return "Unknown";
}
