/* build.c — the messages the proxy prints: the forwarded request (RFC 3261
 * §16.6, with a verdict's header edits, in one sip_print), CANCEL and ACK
 * from a forwarded INVITE, and the header lines of generated responses. */
#include "proxy/proxy_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- parse and print, counted ---- */

int proxy__parse(proxy_t *p, const char *buf, size_t len, sip_msg_t *m)
{
    p->st.parses++;
    return sip_parse(buf, len, &p->limits, m);
}

int proxy__print(proxy_t *p, const sip_msg_t *m, const fedge_str_t *start, const sip_edit_t *ed,
                 unsigned ne, size_t *out_len)
{
    p->st.prints++;
    return sip_print(m, start, ed, ne, p->out, p->out_cap, out_len);
}

sip_msg_t *proxy__reparse(proxy_t *p, const char *buf, size_t len)
{
    if (proxy__parse(p, buf, len, p->tmsg) < 0 || sip_msg_check(p->tmsg) < 0)
        return NULL; /* cannot happen: it parsed when it arrived */
    return p->tmsg;
}

/* ---- small helpers ---- */

void proxy__make_tag(proxy_t *p, char *out)
{
    static const char hx[] = "0123456789abcdef";
    uint64_t c = ++p->tag_counter;
    uint64_t v = proxy__hash(PROXY__HASH_INIT, &p->secret, sizeof(p->secret));
    v = proxy__hash(v, &c, sizeof(c));
    for (int i = 15; i >= 0; i--) {
        out[i] = hx[v & 15];
        v >>= 4;
    }
    out[16] = 0;
}

const char *proxy__cstr(fedge_str_t s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(buf, s.s, n);
    buf[n] = 0;
    return buf;
}

void proxy__unbracket(fedge_str_t h, char *out, size_t cap)
{
    if (h.len >= 2 && h.s[0] == '[') {
        h.s++;
        h.len -= 2;
    }
    proxy__cstr(h, out, cap);
}

const proxy_iface_t *proxy__iface(const proxy_t *p, proxy_side_t s)
{
    return s == PROXY_SIDE_INTERNAL ? &p->cfg.in : &p->cfg.ext;
}

static const char *tp_name(proxy_transport_t t, bool upper)
{
    if (t == PROXY_TP_TCP)
        return upper ? "TCP" : "tcp";
    if (t == PROXY_TP_UDP)
        return upper ? "UDP" : "udp";
    return upper ? "TLS" : "tls";
}

typedef struct {
    char *p;
    size_t len, cap;
    bool full;
} tbuf_t;

/* Appends a formatted string to b and returns its slice (a NUL follows). */
static fedge_str_t tput(tbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static fedge_str_t tput(tbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = b->full ? -1 : vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->full = true;
        return (fedge_str_t){"", 0};
    }
    fedge_str_t s = {b->p + b->len, (size_t)n};
    b->len += (size_t)n + 1;
    return s;
}

/* The hot pieces of a forwarded request are appended without printf: a
 * piece starts with tbegin (an appender over b's free space) and ends with
 * tdone, which returns its slice (a NUL follows) as tput does. */
static fedge_sb_t tbegin(tbuf_t *b)
{
    fedge_sb_t s;
    fedge_sb_init(&s, b->p + b->len, b->full ? 0 : b->cap - b->len);
    return s;
}

static fedge_str_t tdone(tbuf_t *b, const fedge_sb_t *s)
{
    if (b->full || s->full) {
        b->full = true;
        return (fedge_str_t){"", 0};
    }
    fedge_str_t r = {b->p + b->len, s->len};
    b->len += s->len + 1;
    return r;
}

/* "Via: SIP/2.0/<tp> <host>:<port>;branch=<branch><tail>" */
static fedge_str_t via_line(tbuf_t *b, const char *tp, const char *host, unsigned port,
                            const char *branch, const char *tail)
{
    fedge_sb_t s = tbegin(b);
    fedge_sb_puts(&s, "Via: SIP/2.0/");
    fedge_sb_puts(&s, tp);
    fedge_sb_put(&s, " ", 1);
    fedge_sb_puts(&s, host);
    fedge_sb_put(&s, ":", 1);
    fedge_sb_putu(&s, port);
    fedge_sb_puts(&s, ";branch=");
    fedge_sb_puts(&s, branch);
    fedge_sb_puts(&s, tail);
    return tdone(b, &s);
}

/* "Record-Route: <sip:[<user>@]<host>:<port>;transport=<tp>;lr>" (user may
 * be NULL) */
static fedge_str_t rr_line(tbuf_t *b, const char *user, const char *host, unsigned port,
                           const char *tp)
{
    fedge_sb_t s = tbegin(b);
    fedge_sb_puts(&s, "Record-Route: <sip:");
    if (user) {
        fedge_sb_puts(&s, user);
        fedge_sb_put(&s, "@", 1);
    }
    fedge_sb_puts(&s, host);
    fedge_sb_put(&s, ":", 1);
    fedge_sb_putu(&s, port);
    fedge_sb_puts(&s, ";transport=");
    fedge_sb_puts(&s, tp);
    fedge_sb_puts(&s, ";lr>");
    return tdone(b, &s);
}

void proxy__lines_init(proxy_t *p)
{
    for (int i = 0; i < 2; i++) {
        const proxy_iface_t *f = i ? &p->cfg.in : &p->cfg.ext;
        char host[PROXY_HOST_MAX + 2];
        proxy__host_fmt(f->host, host, sizeof(host));
        tbuf_t b = {p->lines[i].via, 0, sizeof(p->lines[i].via), false};
        fedge_str_t v = via_line(&b, tp_name(f->transport, true), host, f->port, "", "");
        p->lines[i].via_len = b.full ? 0 : v.len;
        b = (tbuf_t){p->lines[i].rr, 0, sizeof(p->lines[i].rr), false};
        fedge_str_t r = rr_line(&b, NULL, host, f->port, tp_name(f->transport, false));
        p->lines[i].rr_len = b.full ? 0 : r.len;
    }
}

/* Appends "Warning: 399 <fqdn> \"<text>\"\r\n" to buf at *len, making the
 * text safe inside a quoted string (no quotes, backslashes or controls). */
static void add_warning(proxy_t *p, char *buf, size_t cap, size_t *len, const char *text)
{
    int n = snprintf(buf + *len, cap - *len, "Warning: 399 %s \"", p->cfg.fqdn);
    if (n < 0 || (size_t)n + 5 >= cap - *len) {
        buf[*len] = 0;
        return;
    }
    *len += (size_t)n;
    /* room stays for the closing quote, CRLF and NUL: a long text is cut,
     * never the line */
    for (const char *s = text; *s && *len + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        buf[(*len)++] = (ch == '"' || ch == '\\' || ch < 0x20 || ch == 0x7f) ? '\'' : (char)ch;
    }
    memcpy(buf + *len, "\"\r\n", 4);
    *len += 3;
}

size_t proxy__gen_extra(proxy_t *p, int code, const char *reason, const char *more, char *buf,
                        size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    if (more) {
        int n = snprintf(buf, cap, "%s", more);
        len = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    }
    if (code >= 300 && reason)
        add_warning(p, buf, cap, &len, reason);
    buf[len < cap ? len : cap - 1] = 0;
    return len;
}

int proxy__build_400(proxy_t *p, sip_msg_t *m, const char *why, size_t *out_len)
{
    tbuf_t b = {p->out, 0, p->out_cap, false};
    tput(&b, "SIP/2.0 400 %s\r\n", why);
    b.len--;
    for (unsigned i = 0; i < m->nhdrs; i++) {
        sip_hdr_id_t id = m->hdrs[i].id;
        if (id == SIP_HDR_VIA || id == SIP_HDR_FROM || id == SIP_HDR_TO || id == SIP_HDR_CALL_ID ||
            id == SIP_HDR_CSEQ) {
            tput(&b, "%.*s", (int)m->hdrs[i].raw.len, m->hdrs[i].raw.s);
            b.len--;
        }
    }
    char w[512];
    size_t wl = 0;
    add_warning(p, w, sizeof(w), &wl, why);
    w[wl] = 0;
    tput(&b, "%sContent-Length: 0\r\n\r\n", w);
    if (b.full)
        return FEDGE_ENOSPC;
    *out_len = b.len - 1;
    return 0;
}

/* ---- verdict edits ---- */

/* RFC 3261 token characters: alphanum and "-.!%*_+`'~". */
static const uint8_t token_char[256] = {
    ['!'] = 1, ['%'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1,  ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1,  ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1,  ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1,  ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1,  ['_'] = 1, ['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1,  ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,
    ['l'] = 1, ['m'] = 1, ['n'] = 1,  ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1,  ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['~'] = 1};

/* Length of name when it is a non-empty RFC 3261 token, else 0. */
static size_t token_len(const char *s)
{
    size_t n = 0;
    /* four a step while all four are token characters (NUL is not one,
     * and && reads no further than it) */
    while (token_char[(unsigned char)s[n]] && token_char[(unsigned char)s[n + 1]] &&
           token_char[(unsigned char)s[n + 2]] && token_char[(unsigned char)s[n + 3]])
        n += 4;
    for (; s[n]; n++)
        if (!token_char[(unsigned char)s[n]])
            return 0;
    return n;
}

int proxy_edits_strip(proxy_edits_t *e, const char *name)
{
    size_t n = token_len(name);
    if (!n)
        return FEDGE_EINVAL;
    if (e->nstrip == PROXY_EDIT_STRIP_MAX || n >= sizeof(e->strip[0]))
        return FEDGE_ENOSPC;
    memcpy(e->strip[e->nstrip++], name, n + 1);
    return 0;
}

int proxy_edits_add(proxy_edits_t *e, const char *name, const char *value)
{
    if (!token_len(name) || strpbrk(value, "\r\n"))
        return FEDGE_EINVAL;
    size_t at = strnlen(e->add, sizeof(e->add));
    fedge_sb_t s;
    fedge_sb_init(&s, e->add + at, sizeof(e->add) - at);
    fedge_sb_puts(&s, name);
    fedge_sb_put(&s, ": ", 2);
    fedge_sb_puts(&s, value);
    fedge_sb_put(&s, "\r\n", 2);
    if (s.full) {
        e->add[at] = 0;
        return FEDGE_ENOSPC;
    }
    return 0;
}

/* Headers the proxy's own processing depends on: never stripped. */
static bool protected_hdr(sip_hdr_id_t id)
{
    switch (id) {
    case SIP_HDR_VIA:
    case SIP_HDR_FROM:
    case SIP_HDR_TO:
    case SIP_HDR_CALL_ID:
    case SIP_HDR_CSEQ:
    case SIP_HDR_ROUTE:
    case SIP_HDR_RECORD_ROUTE:
    case SIP_HDR_MAX_FORWARDS:
    case SIP_HDR_CONTENT_LENGTH: return true;
    default: return false;
    }
}

static bool stripped(const proxy_edits_t *e, fedge_str_t name)
{
    while (name.len && (name.s[name.len - 1] == ' ' || name.s[name.len - 1] == '\t'))
        name.len--;
    for (unsigned i = 0; i < e->nstrip; i++)
        if (strlen(e->strip[i]) == name.len && !strncasecmp(e->strip[i], name.s, name.len))
            return true;
    return false;
}

/* ---- the forwarded request ---- */

bool proxy__wants_record_route(sip_msg_t *m)
{
    const sip_nameaddr_t *to;
    if (sip_msg_to(m, &to) == 0 && to->has_tag)
        return false; /* mid-dialog: the route set is fixed (§12.2) */
    switch (m->method_id) {
    case SIP_METHOD_REGISTER:
    case SIP_METHOD_ACK:
    case SIP_METHOD_CANCEL: return false;
    default: return true;
    }
}

/* RFC 3261 §18.2.1 and RFC 3581 §4 for a request that came over UDP from
 * src ("ip:port", "[v6]:port"): its top Via v gets received=ip (when the
 * sent-by differs, or rport asks) and rport=port (when it asks), written
 * as a new first Via line in place of the first value. */
static void received_edit(sip_msg_t *m, const sip_via_t *v, const char *src, tbuf_t *tb,
                          sip_edit_t *ed, unsigned *ne)
{
    const char *colon = strrchr(src, ':');
    if (!colon)
        return;
    fedge_str_t ip = {src, (size_t)(colon - src)};
    if (ip.len >= 2 && ip.s[0] == '[') {
        ip.s++;
        ip.len -= 2;
    }
    fedge_str_t h = v->host;
    if (h.len >= 2 && h.s[0] == '[') {
        h.s++;
        h.len -= 2;
    }
    bool same = h.len == ip.len && !strncasecmp(h.s, ip.s, ip.len);
    if (same && !v->has_rport)
        return;
    /* the value without its params, then every param but received and
     * rport, then ours */
    fedge_str_t raw = v->raw;
    size_t head = v->params.len ? (size_t)(v->params.s - raw.s) : raw.len;
    char line[1024];
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(line + n, sizeof(line) - n, __VA_ARGS__);                                \
        if (k_ < 0 || (size_t)k_ >= sizeof(line) - n)                                              \
            return; /* a Via this long stays as it was */                                          \
        n += (size_t)k_;                                                                           \
    } while (0)
    PUT("Via: %.*s", (int)head, raw.s);
    const char *q = v->params.s, *end = v->params.s + v->params.len;
    while (q && q < end) {
        const char *nx = memchr(q + 1, ';', (size_t)(end - q - 1));
        if (!nx)
            nx = end;
        fedge_str_t prm = {q, (size_t)(nx - q)}; /* ";name=value" */
        bool skip = (prm.len >= 6 && !strncasecmp(prm.s, ";rport", 6) &&
                     (prm.len == 6 || prm.s[6] == '=' || prm.s[6] == ' ')) ||
                    (prm.len >= 9 && !strncasecmp(prm.s, ";received", 9));
        if (!skip)
            PUT("%.*s", (int)prm.len, prm.s);
        q = nx;
    }
    PUT(";received=%.*s", (int)ip.len, ip.s);
    if (v->has_rport)
        PUT(";rport=%s", colon + 1);
#undef PUT
    fedge_str_t val = tput(tb, "%.*s", (int)n, line);
    if (tb->full)
        return;
    unsigned first_via = (unsigned)m->first[SIP_HDR_VIA];
    ed[(*ne)++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, first_via, val};
    ed[(*ne)++] = (sip_edit_t){SIP_EDIT_DELETE_FIRST_VALUE, first_via, {NULL, 0}};
}

/* Most edits one forwarded request takes: the Route pops and fix-ups, Via,
 * Max-Forwards, two Record-Route, and a verdict's strips and lines. */
#define MAX_EDITS (PROXY__MAX_ROUTES + 8 + SIP_MAX_HEADERS_CAP + 32)

/* Prints the forwarded copy of m (§16.6) into p->out: Route entries of the
 * edge popped (and the strict-router fix-up), Max-Forwards decremented, a
 * Via of out_side with branch on top, and — when crossing with rr — two
 * Record-Route entries: the interface it leaves by, then the one it came
 * in on; then the verdict's edits. */
int proxy__build_forward(proxy_t *p, sip_msg_t *m, const proxy__routes_t *r, proxy_side_t in_side,
                         proxy_side_t out_side, const char *branch, bool rr, bool in_client,
                         bool to_client, const char *rr_user, const proxy_edits_t *edits,
                         const fedge_str_t *body, const char *udp_src, bool via_tcp,
                         size_t *out_len)
{
    sip_edit_t ed[MAX_EDITS];
    unsigned ne = 0;
    tbuf_t tb = {p->text, 0, p->text_cap, false};
    fedge_str_t start, *startp = NULL;
    if (r->strict) {
        start = tput(&tb, "%.*s %.*s SIP/2.0", (int)m->method.len, m->method.s,
                     (int)r->ruri_str.len, r->ruri_str.s);
        startp = &start;
        unsigned L = r->end_kept, H = r->hdr_of[L];
        if (L == 0 || r->hdr_of[L - 1] != H) {
            ed[ne++] = (sip_edit_t){SIP_EDIT_DELETE, H, {NULL, 0}};
        } else {
            const sip_hdr_t *hd = &m->hdrs[H];
            fedge_str_t prev = r->values[L - 1];
            ed[ne++] = (sip_edit_t){SIP_EDIT_REPLACE_VALUE,
                                    H,
                                    {hd->value.s, (size_t)(prev.s + prev.len - hd->value.s)}};
        }
    }
    for (unsigned i = 0; i < r->first_kept; i++)
        ed[ne++] = (sip_edit_t){SIP_EDIT_DELETE_FIRST_VALUE, r->hdr_of[i], {NULL, 0}};
    if (r->next_route && !r->next_route->lr) {
        /* §16.6 item 6: the next hop is a strict router: it gets its own
         * URI as Request-URI, and ours goes to the end of the Route set */
        fedge_str_t nu = r->na[r->first_kept].uri_str;
        start = tput(&tb, "%.*s %.*s SIP/2.0", (int)m->method.len, m->method.s, (int)nu.len, nu.s);
        startp = &start;
        ed[ne++] = (sip_edit_t){SIP_EDIT_DELETE_FIRST_VALUE, r->hdr_of[r->first_kept], {NULL, 0}};
        ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, r->hdr_of[r->nroutes - 1] + 1,
                                tput(&tb, "Route: <%.*s>", (int)r->ruri_str.len, r->ruri_str.s)};
    }

    const proxy_iface_t *of = proxy__iface(p, out_side), *inf = proxy__iface(p, in_side);
    const proxy__lines_t *ol = &p->lines[out_side == PROXY_SIDE_INTERNAL],
                         *il = &p->lines[in_side == PROXY_SIDE_INTERNAL];
    char host[PROXY_HOST_MAX + 2];
    host[0] = 0; /* formatted below only where a line is built here */
#define HOST() (host[0] ? host : (proxy__host_fmt(of->host, host, sizeof(host)), host))
    unsigned first_via = (unsigned)m->first[SIP_HDR_VIA];
    if (of->transport == PROXY_TP_UDP && !via_tcp) {
        /* RFC 3581: the next hop answers to the address and port the
         * datagram came from */
        ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, first_via,
                                via_line(&tb, "UDP", HOST(), of->port, branch, ";rport")};
    } else if (!via_tcp && ol->via_len) {
        /* the interface's Via as made at start, then the branch */
        fedge_sb_t vs = tbegin(&tb);
        fedge_sb_put(&vs, ol->via, ol->via_len);
        fedge_sb_puts(&vs, branch);
        fedge_sb_put(&vs, ";alias", 6);
        ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, first_via, tdone(&tb, &vs)};
    } else {
        ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, first_via,
                                via_line(&tb, via_tcp ? "TCP" : tp_name(of->transport, true),
                                         HOST(), of->port, branch, ";alias")};
    }
    const sip_via_t *uv;
    if (udp_src && sip_msg_via(m, &uv) == 0)
        received_edit(m, uv, udp_src, &tb, ed, &ne);
    int mf = -1;
    sip_msg_max_forwards(m, &mf);
    if (m->first[SIP_HDR_MAX_FORWARDS] >= 0) {
        fedge_sb_t mfs = tbegin(&tb);
        fedge_sb_putu(&mfs, mf > 0 ? (unsigned)(mf - 1) : 0u);
        ed[ne++] = (sip_edit_t){SIP_EDIT_REPLACE_VALUE, (unsigned)m->first[SIP_HDR_MAX_FORWARDS],
                                tdone(&tb, &mfs)};
    } else
        ed[ne++] =
            (sip_edit_t){SIP_EDIT_INSERT_BEFORE, first_via, FEDGE_STR_LIT("Max-Forwards: 70")};
    if (rr) {
        unsigned at = m->first[SIP_HDR_RECORD_ROUTE] >= 0 ? (unsigned)m->first[SIP_HDR_RECORD_ROUTE]
                                                          : m->nhdrs;
        bool tok = rr_user && rr_user[0];
        if (to_client && p->cfg.client.host[0]) {
            /* out on a remote client's flow: the entry facing the client
             * is the [remote] listener's, with the flow token (RFC 5626
             * §5.3), so that the dialog's requests from the far side,
             * back through the internal server, pop it and go out on
             * that connection again */
            char ch[PROXY_HOST_MAX + 2];
            proxy__host_fmt(p->cfg.client.host, ch, sizeof(ch));
            ed[ne++] =
                (sip_edit_t){SIP_EDIT_INSERT_BEFORE, at,
                             rr_line(&tb, tok ? rr_user : NULL, ch, p->cfg.client.port, "tls")};
            tok = false;
        } else if (ol->rr_len) {
            ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, at, {ol->rr, ol->rr_len}};
        } else {
            ed[ne++] =
                (sip_edit_t){SIP_EDIT_INSERT_BEFORE, at,
                             rr_line(&tb, NULL, HOST(), of->port, tp_name(of->transport, false))};
        }
        if (inf != of && !(in_client && p->cfg.client.host[0]) && !tok && il->rr_len) {
            ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, at, {il->rr, il->rr_len}};
        } else if (inf != of) {
            char ih[PROXY_HOST_MAX + 2];
            proxy__host_fmt(inf->host, ih, sizeof(ih));
            unsigned iport = inf->port;
            const char *itp = tp_name(inf->transport, false);
            if (in_client && p->cfg.client.host[0]) {
                /* the client reaches the edge at the [remote] listener */
                proxy__host_fmt(p->cfg.client.host, ih, sizeof(ih));
                iport = p->cfg.client.port;
                itp = "tls";
            }
            /* a flow token names the client's connection (RFC 5626 §5.3):
             * the dialog's requests from the far side pop this entry and
             * go out on that connection */
            ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, at,
                                    rr_line(&tb, tok ? rr_user : NULL, ih, iport, itp)};
        }
    }
#undef HOST
    if (edits) {
        if (edits->nstrip)
            for (unsigned i = 0; i < m->nhdrs; i++)
                if (!protected_hdr(m->hdrs[i].id) && stripped(edits, m->hdrs[i].name))
                    ed[ne++] = (sip_edit_t){SIP_EDIT_DELETE, i, {NULL, 0}};
        /* the lines go after the last header, each without its CRLF */
        const char *s = edits->add, *end = s + strnlen(s, sizeof(edits->add));
        while (s < end && ne < MAX_EDITS) {
            const char *nl = strstr(s, "\r\n");
            size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
            if (n && !memchr(s, '\n', n) && !memchr(s, '\r', n) && memchr(s, ':', n))
                ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, m->nhdrs, {s, n}};
            s += n + (nl ? 2 : 0);
        }
    }
    if (body && ne < MAX_EDITS)
        ed[ne++] = (sip_edit_t){SIP_EDIT_REPLACE_BODY, 0, *body};
    if (tb.full)
        return FEDGE_ENOSPC;
    return proxy__print(p, m, startp, ed, ne, out_len);
}

/* ---- CANCEL and ACK ---- */

int proxy__build_cancel_ack(proxy_t *p, proxy__txn_t *t, sip_msg_t *resp, size_t *out_len)
{
    const char *method = resp ? "ACK" : "CANCEL";
    const sip_hdr_t *to_resp = resp ? sip_msg_find(resp, SIP_HDR_TO) : NULL;
    fedge_str_t to_raw = to_resp ? to_resp->raw : (fedge_str_t){NULL, 0};
    /* resp lives in p->msg; the forwarded INVITE goes into p->tmsg */
    sip_msg_t *f = proxy__reparse(p, t->fwd, t->fwd_len);
    if (!f)
        return FEDGE_EINVAL;
    const sip_cseq_t *cs;
    sip_msg_cseq(f, &cs);
    sip_iter_t it;
    sip_iter_init(&it, f, SIP_HDR_VIA);
    fedge_str_t via;
    if (sip_iter_next(&it, &via, NULL) != 1)
        return FEDGE_EINVAL;
    tbuf_t b = {p->out, 0, p->out_cap, false};
    tput(&b, "%s %.*s SIP/2.0\r\nVia: %.*s\r\n", method, (int)f->ruri_str.len, f->ruri_str.s,
         (int)via.len, via.s);
    b.len--; /* tput keeps a NUL after each piece: write over it */
    for (unsigned i = 0; i < f->nhdrs; i++) {
        const sip_hdr_t *h = &f->hdrs[i];
        if (h->id == SIP_HDR_ROUTE || h->id == SIP_HDR_FROM || h->id == SIP_HDR_CALL_ID ||
            (h->id == SIP_HDR_TO && !to_raw.s)) {
            tput(&b, "%.*s", (int)h->raw.len, h->raw.s);
            b.len--;
        }
    }
    if (to_raw.s) {
        tput(&b, "%.*s", (int)to_raw.len, to_raw.s);
        b.len--;
    }
    tput(&b, "Max-Forwards: 70\r\nCSeq: %u %s\r\nContent-Length: 0\r\n\r\n", (unsigned)cs->seq,
         method);
    if (b.full)
        return FEDGE_ENOSPC;
    *out_len = b.len - 1;
    return 0;
}
