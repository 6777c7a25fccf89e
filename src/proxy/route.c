/* route.c — the pure parts of the proxy: which interface a URI names, the
 * §16.4 Route preprocessing, the routing decision between the sides, loop
 * hashes, branches and transaction keys. No I/O, no allocation. */
#include "proxy/proxy_int.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *proxy_side_name(proxy_side_t s)
{
    switch (s) {
    case PROXY_SIDE_EXTERNAL: return "external";
    case PROXY_SIDE_INTERNAL: return "internal";
    default: return "none";
    }
}

void proxy_cfg_init(proxy_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->ext.transport = PROXY_TP_TLS;
    c->in.transport = PROXY_TP_TLS;
    c->t1_ms = 500;
    c->timer_c_ms = 180000;
    c->max_message_size = 65536;
}

uint64_t proxy__hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    /* 8 bytes a step (the fold of the high half keeps every input bit
     * reaching the low bits), then the tail byte by byte */
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w;
        h *= 0x100000001b3ull;
        h ^= h >> 32;
    }
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static fedge_str_t unbracket(fedge_str_t h)
{
    if (h.len >= 2 && h.s[0] == '[' && h.s[h.len - 1] == ']')
        return (fedge_str_t){h.s + 1, h.len - 2};
    return h;
}

bool proxy__host_eq(fedge_str_t msg_host, const char *cfg_host)
{
    fedge_str_t a = unbracket(msg_host);
    fedge_str_t b = unbracket((fedge_str_t){cfg_host, strlen(cfg_host)});
    /* a trailing dot in a FQDN designates the same host */
    if (a.len && a.s[a.len - 1] == '.')
        a.len--;
    return b.len && a.len == b.len && !strncasecmp(a.s, b.s, a.len);
}

size_t proxy__host_fmt(const char *host, char *out, size_t cap)
{
    if (!cap)
        return 0;
    bool br = strchr(host, ':') && host[0] != '[';
    size_t n = strlen(host), len = 0;
    if (br && len + 1 < cap)
        out[len++] = '[';
    size_t k = n < cap - 1 - len ? n : cap - 1 - len;
    memcpy(out + len, host, k);
    len += k;
    if (br && len + 1 < cap)
        out[len++] = ']';
    out[len] = '\0';
    return len;
}

bool proxy_is_local_domain(const proxy_cfg_t *cfg, fedge_str_t host)
{
    for (unsigned i = 0; i < cfg->ndomains; i++)
        if (proxy__host_eq(host, cfg->domains[i]))
            return true;
    return false;
}

/* Does host designate interface f (its host, one of its names, or, for
 * the external side, the FQDN)? */
static bool iface_has_host(const proxy_cfg_t *cfg, const proxy_iface_t *f, bool ext,
                           fedge_str_t host)
{
    if (f->host[0] && proxy__host_eq(host, f->host))
        return true;
    if (ext && proxy__host_eq(host, cfg->fqdn))
        return true;
    for (unsigned i = 0; i < f->nnames; i++)
        if (proxy__host_eq(host, f->names[i]))
            return true;
    return false;
}

proxy_side_t proxy_uri_side(const proxy_cfg_t *cfg, const sip_uri_t *uri)
{
    if (!uri || (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS) || !uri->host.len)
        return PROXY_SIDE_NONE;
    bool e = iface_has_host(cfg, &cfg->ext, true, uri->host);
    bool i = iface_has_host(cfg, &cfg->in, false, uri->host);
    if (uri->has_port && cfg->client.host[0] && uri->port == cfg->client.port &&
        (e || proxy__host_eq(uri->host, cfg->client.host)))
        return PROXY_SIDE_EXTERNAL; /* the Record-Route facing a remote client */
    if (uri->has_port) {
        if (e && uri->port == cfg->ext.port)
            return PROXY_SIDE_EXTERNAL;
        if (i && uri->port == cfg->in.port)
            return PROXY_SIDE_INTERNAL;
        return PROXY_SIDE_NONE;
    }
    if (e && i) {
        /* same name on both sides and no port written: the default port of
         * the URI's transport decides, else the external side */
        bool tls = uri->scheme == SIP_URI_SIPS || fedge_str_ieq(uri->transport, "tls");
        uint16_t def = tls ? 5061 : 5060;
        if (cfg->in.port == def && cfg->ext.port != def)
            return PROXY_SIDE_INTERNAL;
        return PROXY_SIDE_EXTERNAL;
    }
    return e ? PROXY_SIDE_EXTERNAL : i ? PROXY_SIDE_INTERNAL : PROXY_SIDE_NONE;
}

int proxy__routes_prep(const proxy_cfg_t *cfg, sip_msg_t *m, proxy__routes_t *r)
{
    memset(r, 0, offsetof(proxy__routes_t, values)); /* the arrays: see proxy_int.h */
    const sip_uri_t *ruri;
    int rc = sip_msg_ruri(m, &ruri);
    if (rc)
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_URI : rc;
    r->ruri = ruri;
    r->ruri_str = m->ruri_str;

    sip_iter_t it;
    sip_iter_init(&it, m, SIP_HDR_ROUTE);
    fedge_str_t v;
    unsigned hi;
    while ((rc = sip_iter_next(&it, &v, &hi)) == 1) {
        if (r->nroutes == PROXY__MAX_ROUTES)
            return FEDGE_ELIMIT;
        sip_nameaddr_t *na = &r->na[r->nroutes];
        if (sip_nameaddr_parse(v.s, v.len, na) < 0 || na->star)
            return FEDGE_ESIP_ROUTE;
        r->values[r->nroutes] = v;
        r->hdr_of[r->nroutes] = hi;
        r->nroutes++;
    }
    if (rc < 0)
        return FEDGE_ESIP_ROUTE;
    r->end_kept = r->nroutes;

    /* §16.4: a Request-URI the edge put into a Record-Route (ours always
     * carry lr and no user part) means the previous hop is a strict
     * router: the real Request-URI is the last Route value. */
    if (r->nroutes && ruri->lr && !ruri->user.len && proxy_uri_side(cfg, ruri) != PROXY_SIDE_NONE) {
        r->strict = true;
        r->end_kept--;
        r->ruri = &r->na[r->end_kept].uri;
        r->ruri_str = r->na[r->end_kept].uri_str;
    }
    /* then pop the edge's own entries from the top */
    while (r->first_kept < r->end_kept) {
        proxy_side_t s = proxy_uri_side(cfg, &r->na[r->first_kept].uri);
        if (s == PROXY_SIDE_NONE)
            break;
        r->popped_side = s;
        if (r->na[r->first_kept].uri.user.len)
            r->popped_user = r->na[r->first_kept].uri.user;
        r->first_kept++;
    }
    if (r->first_kept < r->end_kept)
        r->next_route = &r->na[r->first_kept].uri;
    return 0;
}

static proxy_route_action_t reject(proxy_route_t *out, int status, const char *reason)
{
    out->action = PROXY_ROUTE_REJECT;
    out->status = status;
    out->reason = reason;
    return out->action;
}

static proxy_route_action_t forward(const proxy_cfg_t *cfg, proxy_route_t *out, proxy_side_t to)
{
    out->to_side = to;
    if (to == PROXY_SIDE_INTERNAL) {
        if (!cfg->nnext_hops)
            return reject(out, 503, "no internal next hop configured");
        out->target = PROXY_TARGET_NEXT_HOPS;
    } else {
        /* with dns-srv routing, outbound.c takes DEFAULT_ROUTE requests to
         * the SRV targets of their domain */
        if (!cfg->default_route.host[0] && !cfg->dns_srv)
            return reject(out, 403, "federation route not configured");
        out->target = PROXY_TARGET_DEFAULT_ROUTE;
    }
    out->action = PROXY_ROUTE_FORWARD;
    return out->action;
}

proxy_route_action_t proxy_route_decide(const proxy_cfg_t *cfg, const proxy_route_in_t *in,
                                        proxy_route_t *out)
{
    memset(out, 0, sizeof(*out));
    const sip_uri_t *ruri = in->ruri;
    if (!ruri || (ruri->scheme != SIP_URI_SIP && ruri->scheme != SIP_URI_SIPS))
        return reject(out, 416, "only sip and sips URIs are routed");

    /* In-dialog through the edge's own Record-Route: the last own entry
     * popped names the interface to leave by. */
    if (in->popped_side != PROXY_SIDE_NONE && in->popped_side != in->from_side)
        return forward(cfg, out, in->popped_side);

    if (in->next_route) {
        /* A Route that does not name the edge is left on top. From the
         * internet that would make the edge an open relay. From inside it
         * is a preloaded route towards a partner, unless it names one of
         * our own domains (a loop back inside). */
        if (in->from_side == PROXY_SIDE_EXTERNAL)
            return reject(out, 403, "relaying denied: Route does not name this edge");
        if (in->next_route->host.len && proxy_is_local_domain(cfg, in->next_route->host))
            return reject(out, 403, "Route to a local domain from the internal side (loop)");
        return forward(cfg, out, PROXY_SIDE_EXTERNAL);
    }

    bool local = proxy_is_local_domain(cfg, ruri->host);
    if (!local && proxy_uri_side(cfg, ruri) != PROXY_SIDE_NONE) {
        if (ruri->user.len)
            return reject(out, 404, "no users at the edge itself");
        out->action = PROXY_ROUTE_LOCAL;
        out->to_side = PROXY_SIDE_NONE;
        return out->action;
    }
    if (in->from_side == PROXY_SIDE_EXTERNAL) {
        /* a remote user's request for another domain goes through the
         * user's own server, which federates it back through the
         * internal side (the policy hook checked who sent it) */
        if (!local && !in->from_client)
            return reject(out, 403, "relaying denied: not a local SIP domain");
        return forward(cfg, out, PROXY_SIDE_INTERNAL);
    }
    if (local)
        return reject(out, 403, "request for a local domain came from the internal side (loop)");
    return forward(cfg, out, PROXY_SIDE_EXTERNAL);
}

/* ------------------------------------------------------------------ */
/* Hashes, branches, keys                                              */
/* ------------------------------------------------------------------ */

static uint64_t hash_str(uint64_t h, fedge_str_t s)
{
    h = proxy__hash(h, s.s, s.len);
    return proxy__hash(h, "", 1); /* field separator */
}

uint64_t proxy_loop_hash(sip_msg_t *m, proxy_origin_t from)
{
    uint64_t h = PROXY__HASH_INIT;
    unsigned char origin[2] = {(unsigned char)from.side, from.client ? 1 : 0};
    h = proxy__hash(h, origin, sizeof(origin));
    h = hash_str(h, m->ruri_str);
    const sip_nameaddr_t *na;
    fedge_str_t none = {"", 0};
    h = hash_str(h, sip_msg_from(m, &na) == 0 ? na->tag : none);
    h = hash_str(h, sip_msg_to(m, &na) == 0 ? na->tag : none);
    fedge_str_t cid = none;
    sip_msg_call_id(m, &cid);
    h = hash_str(h, cid);
    const sip_cseq_t *cs;
    uint32_t seq = sip_msg_cseq(m, &cs) == 0 ? cs->seq : 0;
    h = proxy__hash(h, &seq, sizeof(seq));
    for (unsigned i = 0; i < m->nhdrs; i++) {
        sip_hdr_id_t id = m->hdrs[i].id;
        if (id == SIP_HDR_ROUTE || id == SIP_HDR_PROXY_REQUIRE)
            h = hash_str(h, m->hdrs[i].value);
    }
    return h;
}

static void hex16(uint64_t v, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = hx[v & 15];
        v >>= 4;
    }
}

size_t proxy_branch_make(sip_msg_t *m, proxy_origin_t from, uint64_t secret, fedge_str_t txn_key,
                         unsigned attempt, char *out, size_t cap)
{
    if (cap <= PROXY_BRANCH_LEN) {
        if (cap)
            out[0] = 0;
        return 0;
    }
    /* the second half: SipHash-2-4 of the transaction key under a key made
     * of the secret and the attempt, a keyed pseudo-random function: peers
     * cannot choose its bits, so they index the client transaction table
     * as they are (proxy__branch_hash) */
    uint8_t k[16];
    uint64_t k0 = secret, k1 = (secret ^ 0x9e3779b97f4a7c15ull) + attempt;
    memcpy(k, &k0, 8);
    memcpy(k + 8, &k1, 8);
    uint64_t u = fedge_siphash24(k, txn_key.s, txn_key.len);
    memcpy(out, "z9hG4bK", 7);
    hex16(proxy_loop_hash(m, from), out + 7);
    out[23] = '.';
    hex16(u, out + 24);
    out[PROXY_BRANCH_LEN] = 0;
    return PROXY_BRANCH_LEN;
}

uint64_t proxy__branch_hash(const char *branch)
{
    static const uint8_t hexv[256] = {
        ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,
        ['6'] = 6,  ['7'] = 7,  ['8'] = 8,  ['9'] = 9,  ['a'] = 10, ['b'] = 11,
        ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15, ['A'] = 10, ['B'] = 11,
        ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
    };
    const unsigned char *b = (const unsigned char *)branch + PROXY_BRANCH_LEN - 16;
    uint64_t v = 0;
    for (size_t i = 0; i < 16; i += 4)
        v = v << 16 | (uint64_t)hexv[b[i]] << 12 | (uint64_t)hexv[b[i + 1]] << 8 |
            (uint64_t)hexv[b[i + 2]] << 4 | hexv[b[i + 3]];
    return v;
}

/* Is the Via sent-by one of the edge's interfaces (as the edge writes
 * them into its own Via values)? */
bool proxy__via_is_ours(const proxy_cfg_t *cfg, const sip_via_t *v)
{
    const proxy_iface_t *f[2] = {&cfg->ext, &cfg->in};
    for (int i = 0; i < 2; i++) {
        uint16_t port = v->has_port ? v->port : 0;
        if (port == f[i]->port && f[i]->host[0] && proxy__host_eq(v->host, f[i]->host))
            return true;
    }
    return false;
}

bool proxy_loop_detected(const proxy_cfg_t *cfg, sip_msg_t *m, proxy_origin_t from)
{
    sip_iter_t it;
    sip_iter_init(&it, m, SIP_HDR_VIA);
    fedge_str_t v;
    bool have = false;
    char want[16];
    /* the first value is the topmost Via, parsed and cached by
     * sip_msg_via (sip_msg_check did it): not parsed again; when it is
     * all of the first Via header (sip_parse counted), the iterator
     * starts at the next header */
    const sip_via_t *top = NULL;
    if (sip_msg_via(m, &top) < 0)
        top = NULL;
    for (bool first = true;; first = false) {
        sip_via_t parsed;
        const sip_via_t *via;
        if (first && top && m->first_via_values == 1) {
            via = top;
            it.hdr++;
        } else if (sip_iter_next(&it, &v, NULL) != 1) {
            break;
        } else if (first && top) {
            via = top;
        } else if (sip_via_parse(v.s, v.len, &parsed) < 0) {
            continue;
        } else {
            via = &parsed;
        }
        if (!proxy__via_is_ours(cfg, via))
            continue;
        if (via->branch.len != PROXY_BRANCH_LEN || memcmp(via->branch.s, "z9hG4bK", 7))
            continue;
        if (!have) {
            hex16(proxy_loop_hash(m, from), want);
            have = true;
        }
        if (!memcmp(via->branch.s + 7, want, 16))
            return true;
    }
    return false;
}

typedef struct {
    char *p;
    size_t len, cap;
    bool full;
} kbuf_t;

static void kput(kbuf_t *b, const char *s, size_t n)
{
    if (!n)
        return; /* s may be NULL for an empty slice */
    if (b->full || n > b->cap - b->len) {
        b->full = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void kput_lower(kbuf_t *b, fedge_str_t s)
{
    if (b->full || s.len > b->cap - b->len) {
        b->full = true;
        return;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = s.s[i];
        b->p[b->len++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
}

int proxy_txn_key(sip_msg_t *m, char *out, size_t cap)
{
    const sip_via_t *via;
    const sip_cseq_t *cs;
    int rc;
    if ((rc = sip_msg_via(m, &via)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_NO_VIA : rc;
    if ((rc = sip_msg_cseq(m, &cs)))
        return rc == FEDGE_ENOENT ? FEDGE_ESIP_CSEQ : rc;
    kbuf_t b = {out, 0, cap, false};
    fedge_str_t method = cs->method;
    if (cs->method_id == SIP_METHOD_ACK || cs->method_id == SIP_METHOD_CANCEL)
        method = FEDGE_STR_LIT("INVITE");
    if (via->branch.len > 7 && !memcmp(via->branch.s, "z9hG4bK", 7)) {
        kput(&b, "3261|", 5);
        kput(&b, via->branch.s, via->branch.len);
        kput(&b, "|", 1);
        kput_lower(&b, via->host);
        char port[8];
        fedge_sb_t pb;
        fedge_sb_init(&pb, port, sizeof(port));
        fedge_sb_put(&pb, ":", 1);
        fedge_sb_putu(&pb, via->has_port ? via->port : 0);
        fedge_sb_put(&pb, "|", 1);
        kput(&b, port, pb.len);
        kput(&b, method.s, method.len);
    } else {
        /* RFC 2543 peer: match on the fields §17.2.3 lists for it (the To
         * tag is left out so that the ACK, which carries the tag of our
         * response, still finds its INVITE). */
        const sip_nameaddr_t *from;
        fedge_str_t cid;
        if ((rc = sip_msg_from(m, &from)))
            return rc == FEDGE_ENOENT ? FEDGE_ESIP_FROM : rc;
        if ((rc = sip_msg_call_id(m, &cid)))
            return rc == FEDGE_ENOENT ? FEDGE_ESIP_CALL_ID : rc;
        char num[24];
        fedge_sb_t nb;
        fedge_sb_init(&nb, num, sizeof(num));
        fedge_sb_putu(&nb, cs->seq);
        kput(&b, "2543|", 5);
        if (m->is_request)
            kput(&b, m->ruri_str.s, m->ruri_str.len);
        kput(&b, "|", 1);
        kput(&b, from->tag.s, from->tag.len);
        kput(&b, "|", 1);
        kput(&b, cid.s, cid.len);
        kput(&b, "|", 1);
        kput(&b, num, nb.len);
        kput(&b, "|", 1);
        kput(&b, via->raw.s, via->raw.len);
        kput(&b, "|", 1);
        kput(&b, method.s, method.len);
    }
    if (b.full)
        return FEDGE_ENOSPC;
    return (int)b.len;
}
