/* msg.c — typed, cached access to a parsed message's headers (Request-URI,
 * Via, From, To, Contact, CSeq, Call-ID, Max-Forwards, Expires) and the
 * checks a proxy needs before it forwards or answers. */
#include "sip/sip_int.h"

int sip_cseq_parse(const char *s, size_t len, sip_cseq_t *out)
{
    const char *end = s + len;
    const char *p = sip__skip_lws(s, end);
    const char *ds = p;
    while (p < end && sip__is((unsigned char)*p, SIP__C_DIGIT))
        p++;
    unsigned long long v;
    /* RFC 3261 §8.1.1.5: the sequence number is below 2^31 */
    if (sip__uint_parse(ds, (size_t)(p - ds), 0x7fffffffull, &v) < 0)
        return FEDGE_ESIP_CSEQ;
    const char *q = sip__skip_lws(p, end);
    if (q == p)
        return FEDGE_ESIP_CSEQ;
    const char *ms = q;
    while (q < end && sip__is((unsigned char)*q, SIP__C_TOKEN))
        q++;
    if (q == ms || sip__skip_lws(q, end) != end)
        return FEDGE_ESIP_CSEQ;
    out->seq = (uint32_t)v;
    out->method = (fedge_str_t){ms, (size_t)(q - ms)};
    out->method_id = sip_method_id(ms, out->method.len);
    return 0;
}

enum {
    IDX_RURI,
    IDX_VIA,
    IDX_FROM,
    IDX_TO,
    IDX_CSEQ,
    IDX_CALL_ID,
    IDX_MAXFWD,
    IDX_CONTACT,
    IDX_EXPIRES
};

/* Returns the cached result for bit idx, or 1 when not cached yet. */
static inline int cached(const sip_msg_t *m, int idx)
{
    if (m->cached & (1u << idx))
        return m->cache_err[idx];
    return 1;
}

static inline int store(sip_msg_t *m, int idx, int rc)
{
    m->cached |= 1u << idx;
    m->cache_err[idx] = rc;
    return rc;
}

int sip_msg_ruri(sip_msg_t *m, const sip_uri_t **out)
{
    int rc = cached(m, IDX_RURI);
    if (rc == 1) {
        if (!m->is_request)
            rc = FEDGE_ENOENT;
        else if (m->ruri_str.len > m->limits->max_uri_len)
            rc = FEDGE_ESIP_URI_LEN;
        else
            rc = sip_uri_parse(m->ruri_str.s, m->ruri_str.len, &m->ruri);
        /* RFC 3261 §19.1.1: no headers in a Request-URI */
        if (rc == 0 && m->ruri.headers.s)
            rc = FEDGE_ESIP_URI;
        store(m, IDX_RURI, rc);
    }
    if (rc == 0)
        *out = &m->ruri;
    return rc;
}

int sip_msg_via(sip_msg_t *m, const sip_via_t **out)
{
    int rc = cached(m, IDX_VIA);
    if (rc == 1) {
        const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_VIA);
        fedge_str_t v;
        if (!h)
            rc = FEDGE_ENOENT;
        else if (m->first_via_values == 1) /* sip_parse counted: the value is all of it */
            rc = sip_via_parse(h->value.s, h->value.len, &m->via) ? FEDGE_ESIP_VIA : 0;
        else if (sip_split_values(h->value, &v, 1) != 1)
            rc = FEDGE_ESIP_VIA;
        else
            rc = sip_via_parse(v.s, v.len, &m->via) ? FEDGE_ESIP_VIA : 0;
        store(m, IDX_VIA, rc);
    }
    if (rc == 0)
        *out = &m->via;
    return rc;
}

/* Parses header value v as a name-addr into *na; errors become err. */
static int nameaddr(const sip_msg_t *m, fedge_str_t v, sip_nameaddr_t *na, int err, bool star_ok)
{
    int rc = sip_nameaddr_parse(v.s, v.len, na);
    if (rc == 0 && na->uri_str.len > m->limits->max_uri_len)
        return FEDGE_ESIP_URI_LEN;
    if (rc)
        return err;
    if (na->star && !star_ok)
        return err;
    return 0;
}

static int single_nameaddr(sip_msg_t *m, int idx, sip_hdr_id_t id, sip_nameaddr_t *na, int err,
                           const sip_nameaddr_t **out)
{
    int rc = cached(m, idx);
    if (rc == 1) {
        const sip_hdr_t *h = sip_msg_find(m, id);
        rc = h ? nameaddr(m, h->value, na, err, false) : FEDGE_ENOENT;
        store(m, idx, rc);
    }
    if (rc == 0)
        *out = na;
    return rc;
}

int sip_msg_from(sip_msg_t *m, const sip_nameaddr_t **out)
{
    return single_nameaddr(m, IDX_FROM, SIP_HDR_FROM, &m->from, FEDGE_ESIP_FROM, out);
}

int sip_msg_to(sip_msg_t *m, const sip_nameaddr_t **out)
{
    return single_nameaddr(m, IDX_TO, SIP_HDR_TO, &m->to, FEDGE_ESIP_TO, out);
}

int sip_msg_contact(sip_msg_t *m, const sip_nameaddr_t **out)
{
    int rc = cached(m, IDX_CONTACT);
    if (rc == 1) {
        const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_CONTACT);
        fedge_str_t v;
        if (!h)
            rc = FEDGE_ENOENT;
        else if (sip_split_values(h->value, &v, 1) != 1)
            rc = FEDGE_ESIP_CONTACT;
        else
            rc = nameaddr(m, v, &m->contact, FEDGE_ESIP_CONTACT, true);
        /* "*" stands alone: one value in one Contact header */
        if (rc == 0 && m->contact.star &&
            (v.len != h->value.len || (m->repeated & (1ull << SIP_HDR_CONTACT))))
            rc = FEDGE_ESIP_CONTACT;
        store(m, IDX_CONTACT, rc);
    }
    if (rc == 0)
        *out = &m->contact;
    return rc;
}

int sip_msg_cseq(sip_msg_t *m, const sip_cseq_t **out)
{
    int rc = cached(m, IDX_CSEQ);
    if (rc == 1) {
        const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_CSEQ);
        rc = h ? sip_cseq_parse(h->value.s, h->value.len, &m->cseq) : FEDGE_ENOENT;
        store(m, IDX_CSEQ, rc);
    }
    if (rc == 0)
        *out = &m->cseq;
    return rc;
}

/* callid = word [ "@" word ] */
static bool call_id_ok(fedge_str_t v)
{
    size_t i = 0, at = 0;
    bool seen_at = false;
    for (; i < v.len; i++) {
        unsigned char c = (unsigned char)v.s[i];
        if (sip__is(c, SIP__C_WORD)) /* '@' is not a word character */
            continue;
        if (c == '@' && !seen_at) {
            seen_at = true;
            at = i;
            if (i == 0)
                return false;
        } else if (!sip__is(c, SIP__C_WORD)) {
            return false;
        }
    }
    return v.len > 0 && (!seen_at || at + 1 < v.len);
}

int sip_msg_call_id(sip_msg_t *m, fedge_str_t *out)
{
    int rc = cached(m, IDX_CALL_ID);
    if (rc == 1) {
        const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_CALL_ID);
        if (!h)
            rc = FEDGE_ENOENT;
        else if (!call_id_ok(h->value))
            rc = FEDGE_ESIP_CALL_ID;
        else
            m->call_id = h->value, rc = 0;
        store(m, IDX_CALL_ID, rc);
    }
    if (rc == 0)
        *out = m->call_id;
    return rc;
}

int sip_msg_max_forwards(sip_msg_t *m, int *out)
{
    int rc = cached(m, IDX_MAXFWD);
    if (rc == 1) {
        const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_MAX_FORWARDS);
        unsigned long long v;
        if (!h)
            rc = FEDGE_ENOENT;
        else if (sip__uint_parse(h->value.s, h->value.len, 255, &v) < 0)
            rc = FEDGE_ESIP_MAX_FORWARDS;
        else
            m->max_forwards = (int)v, rc = 0;
        store(m, IDX_MAXFWD, rc);
    }
    if (rc == 0)
        *out = m->max_forwards;
    return rc;
}

int sip_msg_expires(sip_msg_t *m, long long *out)
{
    int rc = cached(m, IDX_EXPIRES);
    if (rc == 1) {
        const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_EXPIRES);
        if (!h) {
            rc = FEDGE_ENOENT;
        } else {
            unsigned long long n;
            /* RFC 3261 §20.19: between 0 and 2^32-1 */
            if (sip__uint_parse(h->value.s, h->value.len, 0xffffffffull, &n) < 0)
                rc = FEDGE_ESIP_EXPIRES;
            else
                m->expires = (long long)n, rc = 0;
        }
        store(m, IDX_EXPIRES, rc);
    }
    if (rc == 0)
        *out = m->expires;
    return rc;
}

int sip_msg_check(sip_msg_t *m)
{
    const sip_via_t *via;
    const sip_nameaddr_t *na;
    const sip_cseq_t *cseq;
    fedge_str_t cid;
    int rc = sip_msg_via(m, &via);
    if (rc)
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_NO_VIA : rc;
    if ((rc = sip_msg_from(m, &na)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_FROM : rc;
    if ((rc = sip_msg_to(m, &na)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_TO : rc;
    if ((rc = sip_msg_call_id(m, &cid)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_CALL_ID : rc;
    if ((rc = sip_msg_cseq(m, &cseq)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_CSEQ : rc;
    if (m->is_request) {
        const sip_uri_t *u;
        if ((rc = sip_msg_ruri(m, &u)))
            return rc;
        if (cseq->method.len != m->method.len ||
            memcmp(cseq->method.s, m->method.s, m->method.len) != 0)
            return FEDGE_ESIP_CSEQ_METHOD;
        int mf;
        rc = sip_msg_max_forwards(m, &mf);
        if (rc && rc != FEDGE_ENOENT)
            return rc;
    }
    /* the Via count was checked by sip_parse; it may have used other
     * limits than now, so look again */
    if (m->nvias > m->limits->max_vias)
        return FEDGE_ESIP_VIA_COUNT;
    const uint64_t single = (1ull << SIP_HDR_FROM) | (1ull << SIP_HDR_TO) |
                            (1ull << SIP_HDR_CALL_ID) | (1ull << SIP_HDR_CSEQ) |
                            (1ull << SIP_HDR_MAX_FORWARDS) | (1ull << SIP_HDR_CONTENT_TYPE) |
                            (1ull << SIP_HDR_EXPIRES);
    if (m->repeated & single)
        return FEDGE_ESIP_DUP_HEADER;
    return 0;
}

int sip_iter_via(sip_iter_t *it, sip_via_t *out, unsigned *hdr_index)
{
    fedge_str_t v;
    int rc = sip_iter_next(it, &v, hdr_index);
    if (rc < 0)
        return FEDGE_ESIP_VIA;
    if (rc == 0)
        return 0;
    return sip_via_parse(v.s, v.len, out) ? FEDGE_ESIP_VIA : 1;
}

int sip_iter_nameaddr(sip_iter_t *it, sip_nameaddr_t *out, unsigned *hdr_index)
{
    int err;
    switch (it->id) {
    case SIP_HDR_FROM: err = FEDGE_ESIP_FROM; break;
    case SIP_HDR_TO: err = FEDGE_ESIP_TO; break;
    case SIP_HDR_CONTACT: err = FEDGE_ESIP_CONTACT; break;
    case SIP_HDR_ROUTE:
    case SIP_HDR_RECORD_ROUTE: err = FEDGE_ESIP_ROUTE; break;
    default: err = FEDGE_ESIP_HEADER; break;
    }
    fedge_str_t v;
    int rc = sip_iter_next(it, &v, hdr_index);
    if (rc < 0)
        return err;
    if (rc == 0)
        return 0;
    rc = nameaddr(it->m, v, out, err, it->id == SIP_HDR_CONTACT);
    return rc ? rc : 1;
}

static const char *token_end(const char *p, const char *end)
{
    while (p < end && sip__is((unsigned char)*p, SIP__C_TOKEN))
        p++;
    return p;
}

int sip_mtype_parse(const char *s, size_t len, sip_mtype_t *out)
{
    const char *end = s + len;
    const char *p = sip__skip_lws(s, end);
    const char *q = token_end(p, end);
    if (q == p)
        return FEDGE_ESIP_CONTENT_TYPE;
    out->type = (fedge_str_t){p, (size_t)(q - p)};
    p = sip__skip_lws(q, end);
    if (p >= end || *p != '/')
        return FEDGE_ESIP_CONTENT_TYPE;
    p = sip__skip_lws(p + 1, end);
    q = token_end(p, end);
    if (q == p)
        return FEDGE_ESIP_CONTENT_TYPE;
    out->subtype = (fedge_str_t){p, (size_t)(q - p)};
    const char *ps = sip__skip_lws(q, end);
    p = sip__params_scan(q, end, NULL, NULL);
    if (!p || p != end)
        return FEDGE_ESIP_CONTENT_TYPE;
    out->params = sip__trim((fedge_str_t){ps, (size_t)(end - ps)});
    return 0;
}

static int event_param(void *ctx, fedge_str_t n, fedge_str_t v, bool has_value)
{
    sip_event_t *ev = ctx;
    if (n.len == 2 && sip__ieq_lit(n.s, "id", 2)) {
        if (!has_value)
            return -1;
        ev->id = v;
    }
    return 0;
}

int sip_event_parse(const char *s, size_t len, sip_event_t *out)
{
    const char *end = s + len;
    const char *p = sip__skip_lws(s, end);
    const char *q = token_end(p, end);
    out->id = (fedge_str_t){q, 0};
    if (q == p || p[0] == '.' || q[-1] == '.')
        return FEDGE_ESIP_EVENT;
    out->package = (fedge_str_t){p, (size_t)(q - p)};
    const char *ps = sip__skip_lws(q, end);
    p = sip__params_scan(q, end, event_param, out);
    if (!p || p != end)
        return FEDGE_ESIP_EVENT;
    out->params = sip__trim((fedge_str_t){ps, (size_t)(end - ps)});
    return 0;
}

int sip_msg_content_type(const sip_msg_t *m, sip_mtype_t *out)
{
    const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_CONTENT_TYPE);
    if (!h)
        return FEDGE_ENOENT;
    return sip_mtype_parse(h->value.s, h->value.len, out);
}

int sip_msg_event(const sip_msg_t *m, sip_event_t *out)
{
    const sip_hdr_t *h = sip_msg_find(m, SIP_HDR_EVENT);
    if (!h)
        return FEDGE_ENOENT;
    return sip_event_parse(h->value.s, h->value.len, out);
}
