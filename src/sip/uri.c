/* uri.c — sip, sips and tel URIs (RFC 3261 §19.1, RFC 3966), their
 * RFC 3261 §19.1.4 comparison, host/port checks and parameter lists. */
#include "sip/sip_int.h"

/* ---- shared scanners ---- */

int sip__skip_quoted(const char **pp, const char *end)
{
    const char *p = *pp + 1;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *pp = p + 1;
            return 0;
        }
        if (c == '\\') {
            if (p + 1 >= end || p[1] == '\r' || p[1] == '\n')
                return -1;
            p += 2;
            continue;
        }
        if (c == '\r' || c == '\n') {
            /* only a folded line (CRLF then SP/HT) may appear inside */
            if (c == '\r' && p + 2 < end && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
                p += 3;
                continue;
            }
            return -1;
        }
        p++;
    }
    return -1;
}

int sip__uint_parse(const char *s, size_t len, unsigned long long max, unsigned long long *out)
{
    if (len == 0 || len > 19)
        return -1;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!sip__is((unsigned char)s[i], SIP__C_DIGIT))
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int sip__port_parse(const char *s, size_t len, uint16_t *out)
{
    unsigned long long v;
    if (len > 5 || sip__uint_parse(s, len, 65535, &v) < 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

static int ipv4_check(const char *s, size_t len)
{
    int parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t st = i;
        unsigned v = 0;
        while (i < len && sip__is((unsigned char)s[i], SIP__C_DIGIT) && i - st < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == st || v > 255)
            return -1;
        parts++;
        if (parts < 4) {
            if (i >= len || s[i] != '.')
                return -1;
            i++;
        }
    }
    return i == len ? 0 : -1;
}

/* ipv4_check for a string known to hold only digits and dots (what
 * sip__host_scan found): four parts of 1-3 digits, each at most 255. */
static int ipv4_digits_dots(const char *s, size_t len)
{
    unsigned dots = 0, nd = 0, v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (!nd || v > 255)
                return -1;
            dots++;
            nd = v = 0;
        } else {
            if (++nd > 3)
                return -1;
            v = v * 10 + (unsigned)(s[i] - '0');
        }
    }
    return dots == 3 && nd && v <= 255 ? 0 : -1;
}

/* IPv6address of RFC 3261 (hex4 groups, one "::", optional IPv4 tail). */
static int ipv6_check(const char *s, size_t len)
{
    int groups = 0;
    bool dcolon = false;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        dcolon = true;
        i = 2;
        if (i == len)
            return 0;
    } else if (len && s[0] == ':') {
        return -1;
    }
    for (;;) {
        size_t st = i;
        while (i < len && sip__is((unsigned char)s[i], SIP__C_HEX) && i - st < 5)
            i++;
        size_t n = i - st;
        if (n == 0)
            return -1;
        if (i < len && s[i] == '.') {
            /* IPv4 tail: counts as two groups and ends the address */
            if (ipv4_check(s + st, len - st) < 0)
                return -1;
            groups += 2;
            break;
        }
        if (n > 4)
            return -1;
        groups++;
        if (i == len)
            break;
        if (s[i] != ':')
            return -1;
        i++;
        if (i < len && s[i] == ':') {
            if (dcolon)
                return -1;
            dcolon = true;
            i++;
            if (i == len)
                break;
        } else if (i == len) {
            return -1; /* trailing single colon */
        }
    }
    if (dcolon)
        return groups <= 7 ? 0 : -1;
    return groups == 8 ? 0 : -1;
}

/* Host characters for sip__host_scan: 0 stops the host, then digits,
 * other letters and '-', and '.' (alphanum / "-" / "." as SIP__C_HOST). */
enum { HC_STOP, HC_DIGIT, HC_NAME, HC_DOT };
static const uint8_t host_cls[256] = {
    ['0'] = HC_DIGIT, ['1'] = HC_DIGIT, ['2'] = HC_DIGIT, ['3'] = HC_DIGIT, ['4'] = HC_DIGIT,
    ['5'] = HC_DIGIT, ['6'] = HC_DIGIT, ['7'] = HC_DIGIT, ['8'] = HC_DIGIT, ['9'] = HC_DIGIT,
    ['-'] = HC_NAME,  ['.'] = HC_DOT,   ['a'] = HC_NAME,  ['b'] = HC_NAME,  ['c'] = HC_NAME,
    ['d'] = HC_NAME,  ['e'] = HC_NAME,  ['f'] = HC_NAME,  ['g'] = HC_NAME,  ['h'] = HC_NAME,
    ['i'] = HC_NAME,  ['j'] = HC_NAME,  ['k'] = HC_NAME,  ['l'] = HC_NAME,  ['m'] = HC_NAME,
    ['n'] = HC_NAME,  ['o'] = HC_NAME,  ['p'] = HC_NAME,  ['q'] = HC_NAME,  ['r'] = HC_NAME,
    ['s'] = HC_NAME,  ['t'] = HC_NAME,  ['u'] = HC_NAME,  ['v'] = HC_NAME,  ['w'] = HC_NAME,
    ['x'] = HC_NAME,  ['y'] = HC_NAME,  ['z'] = HC_NAME,  ['A'] = HC_NAME,  ['B'] = HC_NAME,
    ['C'] = HC_NAME,  ['D'] = HC_NAME,  ['E'] = HC_NAME,  ['F'] = HC_NAME,  ['G'] = HC_NAME,
    ['H'] = HC_NAME,  ['I'] = HC_NAME,  ['J'] = HC_NAME,  ['K'] = HC_NAME,  ['L'] = HC_NAME,
    ['M'] = HC_NAME,  ['N'] = HC_NAME,  ['O'] = HC_NAME,  ['P'] = HC_NAME,  ['Q'] = HC_NAME,
    ['R'] = HC_NAME,  ['S'] = HC_NAME,  ['T'] = HC_NAME,  ['U'] = HC_NAME,  ['V'] = HC_NAME,
    ['W'] = HC_NAME,  ['X'] = HC_NAME,  ['Y'] = HC_NAME,  ['Z'] = HC_NAME,
};

const char *sip__host_scan(const char *s, const char *end, sip_host_kind_t *kind)
{
    /* one pass: characters, labels (hostname = *(domainlabel ".")
     * toplabel ["."]), and whether it is all digits and dots */
    const char *p = s, *ls = s, *last = s;
    unsigned name = 0;
    for (; p < end; p++) {
        unsigned c = host_cls[(unsigned char)*p];
        if (c == HC_DOT) {
            if (p == ls || *ls == '-' || p[-1] == '-')
                return NULL;
            last = ls;
            ls = p + 1;
        } else if (c == HC_STOP) {
            break;
        } else {
            name |= c - HC_DIGIT; /* non-zero once a letter or '-' came */
        }
    }
    size_t len = (size_t)(p - s);
    if (len == 0)
        return NULL;
    if (!name) {
        if (ipv4_digits_dots(s, len) < 0)
            return NULL;
        *kind = SIP_HOST_IPV4;
        return p;
    }
    if (ls < p) {
        if (*ls == '-' || p[-1] == '-')
            return NULL;
        last = ls;
    }
    if (!sip__is((unsigned char)*last, SIP__C_ALPHA))
        return NULL;
    *kind = SIP_HOST_NAME;
    return p;
}

int sip__host_check(const char *s, size_t len, sip_host_kind_t *kind)
{
    if (len == 0)
        return -1;
    if (s[0] == '[') {
        if (len < 3 || s[len - 1] != ']' || ipv6_check(s + 1, len - 2) < 0)
            return -1;
        *kind = SIP_HOST_IPV6;
        return 0;
    }
    return sip__host_scan(s, s + len, kind) == s + len ? 0 : -1;
}

/* Generic parameter value characters: token (alphanum and
 * "-.!%*_+`'~"), and ':' '[' ']' of an IPv6 host; one look-up per byte. */
static const uint8_t pvalue_ok[256] = {
    ['!'] = 1, ['%'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1,  ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, [':'] = 1, ['A'] = 1,  ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1,  ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1,  ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
    ['W'] = 1, ['X'] = 1, ['Y'] = 1,  ['Z'] = 1, ['['] = 1, [']'] = 1, ['_'] = 1, ['`'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1, ['~'] = 1};

/* Generic parameter value: quoted-string, or token / host characters. */
static const char *param_value_end(const char *p, const char *end)
{
    if (p < end && *p == '"') {
        if (sip__skip_quoted(&p, end) < 0)
            return NULL;
        return p;
    }
    const char *st = p;
    /* four bytes a step while all four are in: values (branches, tags)
     * run to tens of bytes */
    while (end - p >= 4 && pvalue_ok[(unsigned char)p[0]] & pvalue_ok[(unsigned char)p[1]] &
                               pvalue_ok[(unsigned char)p[2]] & pvalue_ok[(unsigned char)p[3]])
        p += 4;
    while (p < end && pvalue_ok[(unsigned char)*p])
        p++;
    return p == st ? NULL : p;
}

const char *sip__params_scan(const char *p, const char *end, sip__param_cb cb, void *ctx)
{
    for (;;) {
        const char *q = sip__skip_lws(p, end);
        if (q >= end || *q != ';')
            return q;
        q = sip__skip_lws(q + 1, end);
        const char *ns = q;
        while (q < end && sip__is((unsigned char)*q, SIP__C_TOKEN))
            q++;
        if (q == ns)
            return NULL;
        fedge_str_t name = {ns, (size_t)(q - ns)};
        fedge_str_t value = {q, 0};
        bool has_value = false;
        const char *r = sip__skip_lws(q, end);
        if (r < end && *r == '=') {
            r = sip__skip_lws(r + 1, end);
            const char *ve = param_value_end(r, end);
            if (!ve)
                return NULL;
            value = (fedge_str_t){r, (size_t)(ve - r)};
            has_value = true;
            q = ve;
        }
        if (cb && cb(ctx, name, value, has_value))
            return NULL;
        p = q;
    }
}

bool sip__param_next(const char **pp, const char *end, fedge_str_t *name, fedge_str_t *value,
                     bool *has_value)
{
    const char *p = *pp;
    while (p < end && (*p == ';' || sip__is((unsigned char)*p, SIP__C_LWS)))
        p++;
    if (p >= end)
        return false;
    const char *ns = p;
    while (p < end && *p != '=' && *p != ';' && !sip__is((unsigned char)*p, SIP__C_LWS))
        p++;
    *name = (fedge_str_t){ns, (size_t)(p - ns)};
    *value = (fedge_str_t){p, 0};
    *has_value = false;
    const char *r = sip__skip_lws(p, end);
    if (r < end && *r == '=') {
        r = sip__skip_lws(r + 1, end);
        const char *vs = r;
        if (r < end && *r == '"') {
            if (sip__skip_quoted(&r, end) < 0)
                r = end;
        } else {
            while (r < end && *r != ';' && !sip__is((unsigned char)*r, SIP__C_LWS))
                r++;
        }
        *value = (fedge_str_t){vs, (size_t)(r - vs)};
        *has_value = true;
        p = r;
    }
    *pp = p;
    return true;
}

int sip_param_get(fedge_str_t params, const char *name, fedge_str_t *value)
{
    size_t nlen = strlen(name);
    if (params.len == 0)
        return 0;
    const char *p = params.s, *end = params.s + params.len;
    fedge_str_t n, v;
    bool hv;
    while (sip__param_next(&p, end, &n, &v, &hv)) {
        if (n.len == nlen && sip__ieq(n.s, name, nlen)) {
            if (value)
                *value = v;
            return 1;
        }
    }
    return 0;
}

/* ---- URI parsing ---- */

/* Scans characters of class cls or %HH escapes; returns the stop position
 * or NULL on a bad escape. */
static const char *scan_escaped(const char *p, const char *end, unsigned cls)
{
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (sip__is(c, cls)) {
            p++;
        } else if (c == '%') {
            if (end - p < 3 || !sip__is((unsigned char)p[1], SIP__C_HEX) ||
                !sip__is((unsigned char)p[2], SIP__C_HEX))
                return NULL;
            p += 3;
        } else {
            break;
        }
    }
    return p;
}

/* uri-parameters: *( ";" pname [ "=" pvalue ] ), caching the common ones. */
static const char *uri_params(const char *p, const char *end, sip_uri_t *u)
{
    const char *st = p;
    while (p < end && *p == ';') {
        const char *ns = ++p;
        p = scan_escaped(p, end, SIP__C_PARAM);
        if (!p || p == ns)
            return NULL;
        fedge_str_t name = {ns, (size_t)(p - ns)};
        fedge_str_t val = {p, 0};
        if (p < end && *p == '=') {
            const char *vs = ++p;
            p = scan_escaped(p, end, SIP__C_PARAM);
            if (!p || p == vs)
                return NULL;
            val = (fedge_str_t){vs, (size_t)(p - vs)};
        }
        switch (name.len) {
        case 2:
            if (sip__ieq_lit(name.s, "lr", 2))
                u->lr = true;
            break;
        case 3:
            if (sip__ieq_lit(name.s, "ttl", 3))
                u->ttl = val;
            break;
        case 4:
            if (sip__ieq_lit(name.s, "user", 4))
                u->user_param = val;
            break;
        case 5:
            if (sip__ieq_lit(name.s, "maddr", 5))
                u->maddr = val;
            break;
        case 6:
            if (sip__ieq_lit(name.s, "method", 6))
                u->method = val;
            break;
        case 9:
            if (sip__ieq_lit(name.s, "transport", 9))
                u->transport = val;
            break;
        }
    }
    u->params = (fedge_str_t){st, (size_t)(p - st)};
    return p;
}

/* headers: hname "=" hvalue *( "&" hname "=" hvalue ) */
static int uri_headers(const char *p, const char *end)
{
    for (;;) {
        const char *ns = p;
        p = scan_escaped(p, end, SIP__C_HNV);
        if (!p || p == ns || p >= end || *p != '=')
            return -1;
        p = scan_escaped(p + 1, end, SIP__C_HNV);
        if (!p)
            return -1;
        if (p == end)
            return 0;
        if (*p != '&')
            return -1;
        p++;
    }
}

static int parse_sip(const char *p, const char *end, sip_uri_t *u)
{
    /* userinfo: everything up to an '@' ('@' cannot appear later) */
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        const char *q = scan_escaped(p, at, SIP__C_USER);
        if (!q || q == p)
            return -1;
        u->user = (fedge_str_t){p, (size_t)(q - p)};
        if (q < at) {
            if (*q != ':')
                return -1;
            const char *ps = q + 1;
            const char *pe = scan_escaped(ps, at, SIP__C_PASS);
            if (pe != at)
                return -1;
            u->password = (fedge_str_t){ps, (size_t)(at - ps)};
            u->has_password = true;
        }
        p = at + 1;
    }
    const char *hs = p;
    if (p < end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb)
            return -1;
        p = rb + 1;
        if (sip__host_check(hs, (size_t)(p - hs), &u->host_kind) < 0)
            return -1;
    } else if (!(p = sip__host_scan(hs, end, &u->host_kind))) {
        return -1;
    }
    u->host = (fedge_str_t){hs, (size_t)(p - hs)};
    if (p < end && *p == ':') {
        const char *ds = ++p;
        while (p < end && sip__is((unsigned char)*p, SIP__C_DIGIT))
            p++;
        if (sip__port_parse(ds, (size_t)(p - ds), &u->port) < 0)
            return -1;
        u->has_port = true;
    }
    p = uri_params(p, end, u);
    if (!p)
        return -1;
    if (p < end) {
        if (*p != '?')
            return -1;
        u->headers = (fedge_str_t){p + 1, (size_t)(end - p - 1)};
        if (uri_headers(p + 1, end) < 0)
            return -1;
    }
    return 0;
}

static int parse_tel(const char *p, const char *end, sip_uri_t *u)
{
    const char *ns = p;
    while (p < end && (sip__is((unsigned char)*p, SIP__C_TEL) || *p == '%')) {
        if (*p == '%') {
            const char *q = scan_escaped(p, end, 0);
            if (!q)
                return -1;
            p = q;
        } else {
            p++;
        }
    }
    if (p == ns || (ns[0] == '+' && p - ns < 2))
        return -1;
    u->user = (fedge_str_t){ns, (size_t)(p - ns)};
    p = uri_params(p, end, u);
    if (!p || p != end)
        return -1;
    return 0;
}

int sip_uri_parse(const char *s, size_t len, sip_uri_t *u)
{
    memset(u, 0, sizeof(*u));
    u->raw = (fedge_str_t){s, len};
    const char *p = s, *end = s + len;
    if (len == 0 || !sip__is((unsigned char)*p, SIP__C_ALPHA))
        return FEDGE_ESIP_URI;
    p++;
    while (p < end && (sip__is((unsigned char)*p, SIP__C_ALPHA | SIP__C_DIGIT) || *p == '+' ||
                       *p == '-' || *p == '.'))
        p++;
    if (p >= end || *p != ':')
        return FEDGE_ESIP_URI;
    u->scheme_str = (fedge_str_t){s, (size_t)(p - s)};
    p++;
    size_t sl = u->scheme_str.len;
    int rc;
    if (sl == 3 && sip__ieq_lit(s, "sip", 3)) {
        u->scheme = SIP_URI_SIP;
        rc = parse_sip(p, end, u);
    } else if (sl == 4 && sip__ieq_lit(s, "sips", 4)) {
        u->scheme = SIP_URI_SIPS;
        rc = parse_sip(p, end, u);
    } else if (sl == 3 && sip__ieq_lit(s, "tel", 3)) {
        u->scheme = SIP_URI_TEL;
        rc = parse_tel(p, end, u);
    } else {
        u->scheme = SIP_URI_OTHER;
        rc = p < end ? 0 : -1;
        for (; p < end; p++)
            if (!sip__is((unsigned char)*p, SIP__C_URIC))
                rc = -1;
    }
    return rc < 0 ? FEDGE_ESIP_URI : 0;
}

/* ---- comparison ---- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return (sip__lower[c] - 'a') + 10;
}

/* Next byte of an escaped string, decoding %HH. */
static unsigned char next_unesc(const char **p, const char *end)
{
    const char *q = *p;
    if (*q == '%' && end - q >= 3 && sip__is((unsigned char)q[1], SIP__C_HEX) &&
        sip__is((unsigned char)q[2], SIP__C_HEX)) {
        *p = q + 3;
        return (unsigned char)(hexval((unsigned char)q[1]) * 16 + hexval((unsigned char)q[2]));
    }
    *p = q + 1;
    return (unsigned char)*q;
}

/* Equality of two %-escaped strings after unescaping. */
static bool esc_eq(fedge_str_t a, fedge_str_t b, bool icase)
{
    if (a.len == 0 || b.len == 0) /* absent slices may have s == NULL */
        return a.len == b.len;
    const char *pa = a.s, *ea = a.s + a.len, *pb = b.s, *eb = b.s + b.len;
    while (pa < ea && pb < eb) {
        unsigned char ca = next_unesc(&pa, ea), cb = next_unesc(&pb, eb);
        if (icase) {
            ca = sip__lower[ca];
            cb = sip__lower[cb];
        }
        if (ca != cb)
            return false;
    }
    return pa == ea && pb == eb;
}

/* A parameter compared by presence: absent in both, or present in both
 * with equal values. */
static bool opt_eq(fedge_str_t a, fedge_str_t b)
{
    if (!a.s || !b.s)
        return !a.s && !b.s;
    return esc_eq(a, b, true);
}

static bool is_special_param(fedge_str_t n)
{
    static const char *const names[] = {"user", "ttl", "method", "maddr", "transport"};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(names); i++)
        if (n.len == strlen(names[i]) && sip__ieq(n.s, names[i], n.len))
            return true;
    return false;
}

/* Steps *p over one sep-separated "name[=value]" item of [*p, end),
 * skipping empty items; false when none is left. has tells "=" apart
 * from no value. */
static bool next_param(const char **p, const char *end, char sep, fedge_str_t *name,
                       fedge_str_t *val, bool *has)
{
    const char *q = *p;
    while (q < end && *q == sep)
        q++;
    if (q >= end) {
        *p = q;
        return false;
    }
    const char *ns = q;
    while (q < end && *q != '=' && *q != sep)
        q++;
    *name = (fedge_str_t){ns, (size_t)(q - ns)};
    *val = (fedge_str_t){q, 0};
    *has = false;
    if (q < end && *q == '=') {
        const char *vs = ++q;
        while (q < end && *q != sep)
            q++;
        *val = (fedge_str_t){vs, (size_t)(q - vs)};
        *has = true;
    }
    *p = q;
    return true;
}

/* Looks up the k-th (from 0) parameter named n (escaped) in a list by
 * unescaped, case-insensitive name; with count not NULL, counts them all
 * into *count instead (and returns false). */
static bool find_param(fedge_str_t list, fedge_str_t n, char sep, unsigned k, fedge_str_t *v,
                       bool *hv, unsigned *count)
{
    if (list.len == 0)
        return false;
    const char *p = list.s, *end = list.s + list.len;
    fedge_str_t name, val;
    bool has;
    while (next_param(&p, end, sep, &name, &val, &has)) {
        if (!esc_eq(name, n, true))
            continue;
        if (count) {
            (*count)++;
        } else if (k-- == 0) {
            *v = val;
            *hv = has;
            return true;
        }
    }
    return false;
}

/* Every parameter of a that is also in b has the same value there; with
 * all set, every parameter of a must be in b. A name that appears several
 * times is matched occurrence by occurrence, so that equality stays
 * reflexive and symmetric. */
static bool params_match(fedge_str_t a, fedge_str_t b, char sep, bool all, bool skip_special)
{
    if (a.len == 0)
        return true;
    const char *p = a.s, *end = a.s + a.len;
    fedge_str_t name, val;
    bool has;
    while (next_param(&p, end, sep, &name, &val, &has)) {
        if (skip_special && is_special_param(name))
            continue;
        unsigned k = 0; /* earlier occurrences of this name in a */
        fedge_str_t bv;
        bool bhas;
        fedge_str_t before = {a.s, (size_t)(name.s - a.s)};
        find_param(before, name, sep, 0, &bv, &bhas, &k);
        if (!find_param(b, name, sep, k, &bv, &bhas, NULL)) {
            if (all)
                return false;
            continue;
        }
        if (has != bhas || !esc_eq(val, bv, true))
            return false;
    }
    return true;
}

/* tel numbers compare ignoring visual separators (RFC 3966 §4). */
static bool tel_eq(fedge_str_t a, fedge_str_t b)
{
    if (a.len == 0 || b.len == 0)
        return a.len == b.len;
    const char *pa = a.s, *ea = a.s + a.len, *pb = b.s, *eb = b.s + b.len;
    for (;;) {
        while (pa < ea && (*pa == '-' || *pa == '.' || *pa == '(' || *pa == ')'))
            pa++;
        while (pb < eb && (*pb == '-' || *pb == '.' || *pb == '(' || *pb == ')'))
            pb++;
        if (pa == ea || pb == eb)
            return pa == ea && pb == eb;
        unsigned char ca = sip__lower[next_unesc(&pa, ea)];
        unsigned char cb = sip__lower[next_unesc(&pb, eb)];
        if (ca != cb)
            return false;
    }
}

bool sip_uri_equal(const sip_uri_t *a, const sip_uri_t *b)
{
    if (a->scheme != b->scheme)
        return false;
    switch (a->scheme) {
    case SIP_URI_OTHER:
        return a->raw.len == b->raw.len && memcmp(a->raw.s, b->raw.s, a->raw.len) == 0;
    case SIP_URI_TEL:
        return tel_eq(a->user, b->user) && params_match(a->params, b->params, ';', true, false) &&
               params_match(b->params, a->params, ';', true, false);
    default: break;
    }
    if (!esc_eq(a->user, b->user, false) || a->has_password != b->has_password ||
        !esc_eq(a->password, b->password, false))
        return false;
    if (a->host.len != b->host.len || !sip__ieq(a->host.s, b->host.s, a->host.len))
        return false;
    if (a->has_port != b->has_port || a->port != b->port)
        return false;
    if (!opt_eq(a->transport, b->transport) || !opt_eq(a->user_param, b->user_param) ||
        !opt_eq(a->ttl, b->ttl) || !opt_eq(a->method, b->method) || !opt_eq(a->maddr, b->maddr))
        return false;
    if (!params_match(a->params, b->params, ';', false, true))
        return false;
    return params_match(a->headers, b->headers, '&', true, false) &&
           params_match(b->headers, a->headers, '&', true, false);
}
