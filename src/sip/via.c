/* via.c — one Via value (via-parm, RFC 3261 §20.42 with rport RFC 3581 and
 * alias RFC 5923) parsed into sip_via_t. */
#include "sip/sip_int.h"

static const char *token(const char *p, const char *end, fedge_str_t *out)
{
    const char *st = p;
    while (p < end && sip__is((unsigned char)*p, SIP__C_TOKEN))
        p++;
    *out = (fedge_str_t){st, (size_t)(p - st)};
    return p == st ? NULL : p;
}

/* SWS "/" SWS */
static const char *slash(const char *p, const char *end)
{
    p = sip__skip_lws(p, end);
    if (p >= end || *p != '/')
        return NULL;
    return sip__skip_lws(p + 1, end);
}

static int via_param(void *ctx, fedge_str_t n, fedge_str_t v, bool has_value)
{
    sip_via_t *via = ctx;
    sip_host_kind_t k;
    switch (n.len) {
    case 3:
        if (sip__ieq_lit(n.s, "ttl", 3)) {
            unsigned long long t;
            if (!has_value || sip__uint_parse(v.s, v.len, 255, &t) < 0)
                return -1;
            via->ttl = v;
        }
        break;
    case 5:
        if (sip__ieq_lit(n.s, "maddr", 5)) {
            if (!has_value || sip__host_check(v.s, v.len, &k) < 0)
                return -1;
            via->maddr = v;
        } else if (sip__ieq_lit(n.s, "rport", 5)) {
            via->has_rport = true;
            if (has_value && sip__port_parse(v.s, v.len, &via->rport) < 0)
                return -1;
        } else if (sip__ieq_lit(n.s, "alias", 5)) {
            via->has_alias = true;
        }
        break;
    case 6:
        if (sip__ieq_lit(n.s, "branch", 6)) {
            if (!has_value || v.s[0] == '"')
                return -1;
            via->branch = v;
        }
        break;
    case 8:
        if (sip__ieq_lit(n.s, "received", 8)) {
            if (!has_value)
                return -1;
            /* IPv4address / IPv6address, brackets tolerated (RFC 5118 §4.5) */
            if (sip__host_check(v.s, v.len, &k) < 0 || k == SIP_HOST_NAME) {
                char tmp[64];
                if (v.len + 2 > sizeof(tmp))
                    return -1;
                tmp[0] = '[';
                memcpy(tmp + 1, v.s, v.len);
                tmp[v.len + 1] = ']';
                if (sip__host_check(tmp, v.len + 2, &k) < 0)
                    return -1;
            }
            via->received = v;
        }
        break;
    }
    return 0;
}

int sip_via_parse(const char *s, size_t len, sip_via_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *end = s + len;
    const char *p = sip__skip_lws(s, end);
    out->raw = sip__trim((fedge_str_t){s, len});
    if (!(p = token(p, end, &out->proto_name)) || !(p = slash(p, end)) ||
        !(p = token(p, end, &out->proto_version)) || !(p = slash(p, end)) ||
        !(p = token(p, end, &out->transport)))
        return FEDGE_ESIP_VIA;
    const char *q = sip__skip_lws(p, end);
    if (q == p || q >= end)
        return FEDGE_ESIP_VIA;
    p = q;
    const char *hs = p;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb)
            return FEDGE_ESIP_VIA;
        p = rb + 1;
        if (sip__host_check(hs, (size_t)(p - hs), &out->host_kind) < 0)
            return FEDGE_ESIP_VIA;
    } else if (!(p = sip__host_scan(hs, end, &out->host_kind))) {
        return FEDGE_ESIP_VIA;
    }
    out->host = (fedge_str_t){hs, (size_t)(p - hs)};
    q = sip__skip_lws(p, end);
    if (q < end && *q == ':') {
        p = sip__skip_lws(q + 1, end);
        const char *ds = p;
        while (p < end && sip__is((unsigned char)*p, SIP__C_DIGIT))
            p++;
        if (sip__port_parse(ds, (size_t)(p - ds), &out->port) < 0)
            return FEDGE_ESIP_VIA;
        out->has_port = true;
    }
    const char *ps = sip__skip_lws(p, end);
    q = sip__params_scan(p, end, via_param, out);
    if (!q || q != end)
        return FEDGE_ESIP_VIA;
    fedge_str_t params = sip__trim((fedge_str_t){ps, (size_t)(end - ps)});
    out->params = params;
    return 0;
}
