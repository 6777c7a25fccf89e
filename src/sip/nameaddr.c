/* nameaddr.c — name-addr / addr-spec values (From, To, Contact, Route,
 * Record-Route, Refer-To) with display names and header parameters. */
#include "sip/sip_int.h"

static bool qvalue_ok(fedge_str_t v)
{
    /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
    if (v.len == 0 || v.len > 5 || (v.s[0] != '0' && v.s[0] != '1'))
        return false;
    if (v.len == 1)
        return true;
    if (v.s[1] != '.')
        return false;
    for (size_t i = 2; i < v.len; i++) {
        if (!sip__is((unsigned char)v.s[i], SIP__C_DIGIT) || (v.s[0] == '1' && v.s[i] != '0'))
            return false;
    }
    return true;
}

static int na_param(void *ctx, fedge_str_t n, fedge_str_t v, bool has_value)
{
    sip_nameaddr_t *na = ctx;
    if (n.len == 3 && sip__ieq_lit(n.s, "tag", 3)) {
        if (!has_value || v.s[0] == '"' || na->has_tag)
            return -1;
        for (size_t i = 0; i < v.len; i++)
            if (!sip__is((unsigned char)v.s[i], SIP__C_TOKEN))
                return -1;
        na->tag = v;
        na->has_tag = true;
    } else if (n.len == 7 && sip__ieq_lit(n.s, "expires", 7)) {
        unsigned long long e;
        if (!has_value || sip__uint_parse(v.s, v.len, 0xffffffffull, &e) < 0)
            return -1;
        na->expires = v;
    } else if (n.len == 1 && (n.s[0] == 'q' || n.s[0] == 'Q')) {
        if (!has_value || !qvalue_ok(v))
            return -1;
        na->q = v;
    }
    return 0;
}

int sip_nameaddr_parse(const char *s, size_t len, sip_nameaddr_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *end = s + len;
    const char *p = sip__skip_lws(s, end);
    while (end > p && sip__is((unsigned char)end[-1], SIP__C_LWS))
        end--;
    out->raw = (fedge_str_t){p, (size_t)(end - p)};
    if (p >= end)
        return FEDGE_ESIP_HEADER;
    if (end - p == 1 && *p == '*') {
        out->star = true;
        return 0;
    }
    const char *us, *ue;
    if (*p == '"') {
        const char *q = p;
        if (sip__skip_quoted(&q, end) < 0)
            return FEDGE_ESIP_HEADER;
        out->display = (fedge_str_t){p + 1, (size_t)(q - p - 2)};
        out->display_quoted = true;
        p = sip__skip_lws(q, end);
        if (p >= end || *p != '<')
            return FEDGE_ESIP_HEADER;
    } else if (*p != '<') {
        const char *q = p;
        while (q < end && sip__is((unsigned char)*q, SIP__C_TOKEN | SIP__C_LWS))
            q++;
        if (q < end && *q == '<') {
            out->display = sip__trim((fedge_str_t){p, (size_t)(q - p)});
            p = q;
        }
    }
    if (*p == '<') {
        us = p + 1;
        const char *gt = memchr(us, '>', (size_t)(end - us));
        if (!gt)
            return FEDGE_ESIP_HEADER;
        ue = gt;
        p = gt + 1;
    } else {
        /* addr-spec: its parameters belong to the header, and it cannot
         * hold ',', '?' or ';' (RFC 3261 §20.10) */
        us = p;
        while (p < end && *p != ';' && *p != ',' && *p != '?' &&
               !sip__is((unsigned char)*p, SIP__C_LWS))
            p++;
        ue = p;
    }
    out->uri_str = (fedge_str_t){us, (size_t)(ue - us)};
    if (sip_uri_parse(us, out->uri_str.len, &out->uri) < 0)
        return FEDGE_ESIP_URI;
    const char *ps = sip__skip_lws(p, end);
    const char *q = sip__params_scan(p, end, na_param, out);
    if (!q || q != end)
        return FEDGE_ESIP_HEADER;
    out->params = (fedge_str_t){ps, (size_t)(end - ps)};
    return 0;
}
