/* parse.c — zero-copy message parser: start line, header splitting and
 * classification, limits, Content-Length and body; header lookup and
 * comma-separated value iteration. */
#include "sip/sip_int.h"

/* compact_ids, hdr_names and hdr_lookup(), generated from src/sip/headers.txt
 * by scripts/gen-sip-headers into the build folder. */
#include "sip/sip_hdrs_table.h"

sip_hdr_id_t sip_hdr_id(const char *name, size_t len)
{
    return hdr_lookup(name, len);
}

const char *sip_hdr_name(sip_hdr_id_t id)
{
    if ((unsigned)id >= SIP_HDR__COUNT)
        return "";
    return hdr_names[id];
}

sip_method_t sip_method_id(const char *s, size_t len)
{
#define M(lit, id)                                                                                 \
    if (len == sizeof(lit) - 1 && memcmp(s, lit, len) == 0)                                        \
        return id;
    switch (len ? s[0] : 0) {
    case 'A': M("ACK", SIP_METHOD_ACK) break;
    case 'B': M("BYE", SIP_METHOD_BYE) break;
    case 'C': M("CANCEL", SIP_METHOD_CANCEL) break;
    case 'I': M("INVITE", SIP_METHOD_INVITE) M("INFO", SIP_METHOD_INFO) break;
    case 'M': M("MESSAGE", SIP_METHOD_MESSAGE) break;
    case 'N': M("NOTIFY", SIP_METHOD_NOTIFY) break;
    case 'O': M("OPTIONS", SIP_METHOD_OPTIONS) break;
    case 'P': M("PRACK", SIP_METHOD_PRACK) M("PUBLISH", SIP_METHOD_PUBLISH) break;
    case 'R': M("REGISTER", SIP_METHOD_REGISTER) M("REFER", SIP_METHOD_REFER) break;
    case 'S': M("SUBSCRIBE", SIP_METHOD_SUBSCRIBE) break;
    case 'U': M("UPDATE", SIP_METHOD_UPDATE) break;
    }
#undef M
    return SIP_METHOD_OTHER;
}

const char *sip_method_name(sip_method_t m)
{
    static const char *const names[SIP_METHOD_COUNT] = {
        [SIP_METHOD_INVITE] = "INVITE",   [SIP_METHOD_ACK] = "ACK",
        [SIP_METHOD_BYE] = "BYE",         [SIP_METHOD_CANCEL] = "CANCEL",
        [SIP_METHOD_OPTIONS] = "OPTIONS", [SIP_METHOD_REGISTER] = "REGISTER",
        [SIP_METHOD_MESSAGE] = "MESSAGE", [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
        [SIP_METHOD_NOTIFY] = "NOTIFY",   [SIP_METHOD_REFER] = "REFER",
        [SIP_METHOD_INFO] = "INFO",       [SIP_METHOD_UPDATE] = "UPDATE",
        [SIP_METHOD_PRACK] = "PRACK",     [SIP_METHOD_PUBLISH] = "PUBLISH",
    };
    return (unsigned)m < SIP_METHOD_COUNT ? names[m] : NULL;
}

sip_method_t sip_start_method(const char *buf, size_t len)
{
    const char *sp = memchr(buf, ' ', len < 32 ? len : 32);
    return sp ? sip_method_id(buf, (size_t)(sp - buf)) : SIP_METHOD_OTHER;
}

/* Finds the end of the value starting at s[off]: the next comma outside
 * quoted strings and <...>, or len. Returns 0 or -1 when a quote or an
 * angle bracket is unterminated. */
static const uint8_t value_stop[256] = {[','] = 1, ['"'] = 1, ['<'] = 1};

static int value_end(const char *s, size_t len, size_t off, size_t *end)
{
    const char *p = s + off, *e = s + len;
    /* Most values (Via, CSeq, Call-ID) hold no quote and no '<' before
     * their comma or end: three memchr scans find that faster than the
     * byte loop below, with the same result. */
    const char *comma = p < e ? memchr(p, ',', (size_t)(e - p)) : NULL;
    const char *stop = comma ? comma : e;
    if (p < stop && !memchr(p, '"', (size_t)(stop - p)) && !memchr(p, '<', (size_t)(stop - p))) {
        *end = (size_t)(stop - s);
        return 0;
    }
    while (p < e) {
        while (p < e && !value_stop[(unsigned char)*p])
            p++;
        if (p == e)
            break;
        char c = *p;
        if (c == ',') {
            break;
        } else if (c == '"') {
            if (sip__skip_quoted(&p, e) < 0)
                return -1;
        } else if (c == '<') {
            const char *gt = memchr(p, '>', (size_t)(e - p));
            if (!gt)
                return -1;
            p = gt + 1;
        } else {
            p++;
        }
    }
    *end = (size_t)(p - s);
    return 0;
}

int sip_split_values(fedge_str_t value, fedge_str_t *out, unsigned max)
{
    unsigned n = 0;
    size_t off = 0;
    if (sip__trim(value).len == 0)
        return 0;
    while (n < max) {
        size_t e;
        if (value_end(value.s, value.len, off, &e) < 0)
            return FEDGE_ESIP_HEADER;
        fedge_str_t v = sip__trim((fedge_str_t){value.s + off, e - off});
        if (v.len == 0)
            return FEDGE_ESIP_HEADER;
        out[n++] = v;
        if (e >= value.len)
            break;
        off = e + 1;
    }
    return (int)n;
}

/* Number of comma-separated values in a header value, or -1. */
static int count_values(fedge_str_t value)
{
    if (!memchr(value.s, ',', value.len) && !memchr(value.s, '"', value.len))
        return value.len ? 1 : 0;
    int n = 0;
    size_t off = 0;
    for (;;) {
        size_t e;
        if (value_end(value.s, value.len, off, &e) < 0)
            return -1;
        if (sip__trim((fedge_str_t){value.s + off, e - off}).len == 0)
            return -1;
        n++;
        if (e >= value.len)
            return n;
        off = e + 1;
    }
}

void sip_iter_init(sip_iter_t *it, const sip_msg_t *m, sip_hdr_id_t id)
{
    it->m = m;
    it->id = id;
    int f = (unsigned)id < SIP_HDR__COUNT ? m->first[id] : -1;
    it->hdr = f < 0 ? m->nhdrs : (unsigned)f;
    it->off = 0;
}

int sip_iter_next(sip_iter_t *it, fedge_str_t *value, unsigned *hdr_index)
{
    const sip_msg_t *m = it->m;
    while (it->hdr < m->nhdrs) {
        const sip_hdr_t *h = &m->hdrs[it->hdr];
        if (h->id != it->id || (it->off == 0 && h->value.len == 0)) {
            it->hdr++;
            it->off = 0;
            continue;
        }
        size_t e;
        if (value_end(h->value.s, h->value.len, it->off, &e) < 0)
            return FEDGE_ESIP_HEADER;
        fedge_str_t v = sip__trim((fedge_str_t){h->value.s + it->off, e - it->off});
        if (v.len == 0)
            return FEDGE_ESIP_HEADER;
        *value = v;
        if (hdr_index)
            *hdr_index = it->hdr;
        if (e >= h->value.len) {
            it->hdr++;
            it->off = 0;
        } else {
            it->off = e + 1;
        }
        return 1;
    }
    return 0;
}

const sip_hdr_t *sip_msg_find(const sip_msg_t *m, sip_hdr_id_t id)
{
    if ((unsigned)id >= SIP_HDR__COUNT || m->first[id] < 0)
        return NULL;
    return &m->hdrs[m->first[id]];
}

const sip_hdr_t *sip_msg_find_name(const sip_msg_t *m, const char *name)
{
    size_t len = strlen(name);
    sip_hdr_id_t id = sip_hdr_id(name, len);
    if (id != SIP_HDR_OTHER)
        return sip_msg_find(m, id);
    for (unsigned i = 0; i < m->nhdrs; i++) {
        const sip_hdr_t *h = &m->hdrs[i];
        if (h->id == SIP_HDR_OTHER && h->name.len == len && sip__ieq(h->name.s, name, len))
            return h;
    }
    return NULL;
}

/* ---- start line ---- */

static bool is_sip20(const char *s, size_t len)
{
    return len == 7 && sip__ieq_lit(s, "sip/2.0", 7);
}

static bool has_ctl(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sip__is(c, SIP__C_CTL) && c != '\t')
            return true;
    }
    return false;
}

static int parse_status_line(sip_msg_t *m, const char *s, size_t len)
{
    const char *e = s + len;
    const char *sp = memchr(s, ' ', len);
    if (!sp)
        return is_sip20(s, len) ? FEDGE_ESIP_START_LINE : FEDGE_ESIP_VERSION;
    if (!is_sip20(s, (size_t)(sp - s)))
        return FEDGE_ESIP_VERSION;
    const char *p = sp + 1, *ds = p;
    unsigned code = 0;
    while (p < e && sip__is((unsigned char)*p, SIP__C_DIGIT) && p - ds < 4)
        code = code * 10 + (unsigned)(*p++ - '0');
    if (p == ds || (p < e && !sip__is((unsigned char)*p, SIP__C_DIGIT) && *p != ' '))
        return FEDGE_ESIP_START_LINE;
    /* Status-Code is 3DIGIT, 100 to 699 */
    if (p - ds != 3 || code < 100 || code > 699)
        return FEDGE_ESIP_STATUS;
    if (p < e)
        p++; /* the SP before the reason phrase */
    if (has_ctl(p, (size_t)(e - p)))
        return FEDGE_ESIP_START_LINE;
    m->is_request = false;
    m->status = code;
    m->reason = (fedge_str_t){p, (size_t)(e - p)};
    return 0;
}

static int parse_request_line(sip_msg_t *m, const char *s, size_t len)
{
    const char *e = s + len, *p = s;
    while (p < e && sip__is((unsigned char)*p, SIP__C_TOKEN))
        p++;
    if (p == s)
        return FEDGE_ESIP_START_LINE;
    if (p == e)
        return FEDGE_ESIP_START_LINE;
    if (*p != ' ')
        return sip__is((unsigned char)*p, SIP__C_WS) ? FEDGE_ESIP_START_LINE : FEDGE_ESIP_METHOD;
    m->method = (fedge_str_t){s, (size_t)(p - s)};
    m->method_id = sip_method_id(s, (size_t)(p - s));
    const char *u = ++p;
    const char *sp = memchr(u, ' ', (size_t)(e - u));
    if (!sp) {
        if ((size_t)(e - u) > m->limits->max_uri_len)
            return FEDGE_ESIP_URI_LEN;
        return FEDGE_ESIP_START_LINE;
    }
    if (sp == u)
        return FEDGE_ESIP_START_LINE;
    if ((size_t)(sp - u) > m->limits->max_uri_len)
        return FEDGE_ESIP_URI_LEN;
    if (len > m->limits->max_line_len)
        return FEDGE_ESIP_LINE_LEN;
    for (const char *q = u; q < sp; q++)
        if (sip__is((unsigned char)*q, SIP__C_CTL))
            return FEDGE_ESIP_START_LINE;
    m->ruri_str = (fedge_str_t){u, (size_t)(sp - u)};
    const char *v = sp + 1;
    if (!is_sip20(v, (size_t)(e - v))) {
        if (memchr(v, ' ', (size_t)(e - v)) || memchr(v, '\t', (size_t)(e - v)) || v == e)
            return FEDGE_ESIP_START_LINE;
        return FEDGE_ESIP_VERSION;
    }
    m->is_request = true;
    return 0;
}

static int parse_start_line(sip_msg_t *m, const char *s, size_t len)
{
    if (len == 0)
        return FEDGE_ESIP_START_LINE;
    if (len >= 4 && sip__ieq_lit(s, "sip/", 4)) {
        if (len > m->limits->max_line_len)
            return FEDGE_ESIP_LINE_LEN;
        return parse_status_line(m, s, len);
    }
    return parse_request_line(m, s, len);
}

/* ---- headers ---- */

static int parse_headers(sip_msg_t *m, const char *p, const char *end, const char **body)
{
    const sip_limits_t *lim = m->limits;
    unsigned maxh = lim->max_headers < SIP_MAX_HEADERS_CAP ? lim->max_headers : SIP_MAX_HEADERS_CAP;
    for (;;) {
        if (p >= end)
            return FEDGE_ESIP_HEADER; /* no empty line ends the header block */
        if (*p == '\r') {
            if (p + 1 < end && p[1] == '\n') {
                *body = p + 2;
                return 0;
            }
            return FEDGE_ESIP_HEADER;
        }
        const char *name = p;
        while (p < end && sip__is((unsigned char)*p, SIP__C_TOKEN))
            p++;
        size_t nlen = (size_t)(p - name);
        if (nlen == 0)
            return FEDGE_ESIP_HEADER;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end || *p != ':')
            return FEDGE_ESIP_HEADER;
        const char *vs = ++p;
        const char *ls = vs; /* start of the current physical line's rest */
        const char *nl;
        for (;;) {
            nl = memchr(ls, '\n', (size_t)(end - ls));
            if (!nl || nl == ls || nl[-1] != '\r')
                return FEDGE_ESIP_HEADER;
            /* a CR that is not part of a CRLF would let other parsers see a
             * line break we do not: refuse it */
            if (memchr(ls, '\r', (size_t)(nl - 1 - ls)))
                return FEDGE_ESIP_HEADER;
            if ((size_t)(nl - 1 - name) > lim->max_line_len)
                return FEDGE_ESIP_LINE_LEN;
            if (nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t')) {
                ls = nl + 1; /* folded: the value continues */
                continue;
            }
            break;
        }
        const char *ve = nl - 1;
        while (vs < ve && sip__is((unsigned char)*vs, SIP__C_LWS))
            vs++;
        while (ve > vs && sip__is((unsigned char)ve[-1], SIP__C_LWS))
            ve--;
        if (m->nhdrs >= maxh)
            return FEDGE_ESIP_HDR_COUNT;
        sip_hdr_t *h = &m->hdrs[m->nhdrs];
        sip_hdr_id_t id = sip_hdr_id(name, nlen);
        h->id = id;
        h->name = (fedge_str_t){name, nlen};
        h->value = (fedge_str_t){vs, (size_t)(ve - vs)};
        h->raw = (fedge_str_t){name, (size_t)(nl + 1 - name)};
        if (m->first[id] < 0)
            m->first[id] = (int16_t)m->nhdrs;
        else
            m->repeated |= 1ull << id;
        m->nhdrs++;
        if (id == SIP_HDR_VIA) {
            int n = count_values(h->value);
            if (n <= 0)
                return FEDGE_ESIP_VIA;
            m->nvias += (unsigned)n;
            if (m->first[id] == (int16_t)(m->nhdrs - 1))
                m->first_via_values = (unsigned)n;
            if (m->nvias > lim->max_vias)
                return FEDGE_ESIP_VIA_COUNT;
        } else if (id == SIP_HDR_CONTENT_LENGTH) {
            long long v;
            int rc = sip__clen_parse(h->value.s, h->value.len, &v);
            if (rc)
                return rc;
            if (m->content_length >= 0 && m->content_length != v)
                return FEDGE_ESIP_CLEN_MISMATCH;
            m->content_length = v;
        }
        p = nl + 1;
    }
}

/* Length up to the first CRLFCRLF (the header block), or len. */
static size_t header_block_len(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
        if (end - p >= 4 && p[1] == '\n' && p[2] == '\r' && p[3] == '\n')
            return (size_t)(p - buf);
        p++;
    }
    return len;
}

/* The same values as sip_limits_default(). */
static const sip_limits_t default_limits = {65536, 128, 8192, 2048, 70};

int sip_parse(const char *buf, size_t len, const sip_limits_t *limits, sip_msg_t *m)
{
    if (!limits)
        limits = &default_limits;
    m->buf = buf;
    m->len = len;
    m->limits = limits;
    m->is_request = false;
    m->start_line = m->method = m->ruri_str = m->reason = (fedge_str_t){buf, 0};
    m->method_id = SIP_METHOD_OTHER;
    m->status = 0;
    m->nhdrs = 0;
    memset(m->first, 0xff, sizeof(m->first));
    m->repeated = 0;
    m->nvias = 0;
    m->first_via_values = 0;
    m->body = (fedge_str_t){buf, 0};
    m->content_length = -1;
    m->cached = 0;
    m->max_forwards = -1;
    m->expires = -1;
    if (len > limits->max_message_size)
        return FEDGE_ESIP_TOO_BIG;
    if (len == 0)
        return FEDGE_ESIP_START_LINE;

    const char *end = buf + len;
    const char *body = NULL;
    int rc;
    const char *nl = memchr(buf, '\n', len);
    if (!nl || nl == buf || nl[-1] != '\r') {
        rc = FEDGE_ESIP_START_LINE;
        goto fail;
    }
    m->start_line = (fedge_str_t){buf, (size_t)(nl - 1 - buf)};
    rc = parse_start_line(m, buf, m->start_line.len);
    if (rc)
        goto fail;
    rc = parse_headers(m, nl + 1, end, &body);
    if (rc)
        goto fail;
    if (memchr(buf, 0, (size_t)(body - buf)))
        return FEDGE_ESIP_NUL;
    size_t rest = (size_t)(end - body);
    if (m->content_length >= 0) {
        if ((unsigned long long)m->content_length > rest)
            return FEDGE_ESIP_BODY_LEN;
        /* RFC 3261 §18.3: bytes of a datagram beyond the body are
         * discarded; they are not part of this message */
        rest = (size_t)m->content_length;
        m->len = (size_t)(body - buf) + rest;
    }
    m->body = (fedge_str_t){body, rest};
    return 0;

fail:
    /* a NUL byte is the more useful reason: it often causes the rest */
    if (memchr(buf, 0, header_block_len(buf, len)))
        return FEDGE_ESIP_NUL;
    return rc;
}
