/* dns_msg.c — the pure part of src/dns/: a bounded DNS response walker (SRV,
 * A, AAAA, CNAME chains, SOA for negative TTLs), RFC 2782 ordering and name
 * helpers; no I/O, so it can be unit-tested and fuzzed alone. */
#include "dns/dns_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dns_status_str(dns_status_t s)
{
    switch (s) {
    case DNS_OK: return "ok";
    case DNS_NXDOMAIN: return "nxdomain";
    case DNS_NODATA: return "nodata";
    case DNS_NOSERVICE: return "no-service";
    case DNS_TIMEOUT: return "timeout";
    case DNS_SERVFAIL: return "servfail";
    }
    return "unknown";
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int dns__name_normalize(const char *name, char *out)
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > DNS_NAME_MAX)
        return FEDGE_EINVAL;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = lower(name[i]);
        if (c == '.') {
            if (label == 0)
                return FEDGE_EINVAL;
            label = 0;
        } else {
            if (!name_char_ok(c) || ++label > 63)
                return FEDGE_EINVAL;
        }
        out[i] = c;
    }
    if (label == 0)
        return FEDGE_EINVAL;
    out[len] = '\0';
    return 0;
}

/* ---- wire walking ---- */

typedef struct {
    const uint8_t *b;
    size_t len;
} msg_t;

enum { NAME_OK = 0, NAME_BAD_FORMAT = -1, NAME_BAD_CHARS = -2 };

/* Decodes the (possibly compressed) name at *off into out (DNS_NAME_MAX + 1
 * bytes: lower case, dotted, "." for the root) and advances *off past it.
 * Compression pointers must point strictly backwards, which bounds the walk.
 * NAME_BAD_FORMAT: the message is broken; NAME_BAD_CHARS: well-formed but not
 * a name we accept (the record is skipped). */
static int read_name(const msg_t *m, size_t *off, char *out)
{
    size_t pos = *off, outlen = 0, end = 0;
    bool jumped = false, bad = false;
    size_t limit = pos; /* pointers must go below the current label */
    for (;;) {
        if (pos >= m->len)
            return NAME_BAD_FORMAT;
        uint8_t l = m->b[pos];
        if ((l & 0xC0) == 0xC0) {
            if (pos + 1 >= m->len)
                return NAME_BAD_FORMAT;
            size_t target = ((size_t)(l & 0x3F) << 8) | m->b[pos + 1];
            if (target >= limit)
                return NAME_BAD_FORMAT;
            if (!jumped)
                end = pos + 2;
            jumped = true;
            limit = target;
            pos = target;
            continue;
        }
        if (l & 0xC0)
            return NAME_BAD_FORMAT; /* 0x40/0x80 label types are obsolete */
        if (l == 0) {
            if (!jumped)
                end = pos + 1;
            break;
        }
        if (pos + 1 + l > m->len)
            return NAME_BAD_FORMAT;
        if (outlen + (outlen ? 1 : 0) + l > DNS_NAME_MAX) {
            bad = true; /* keep walking to find the end */
        } else {
            if (outlen)
                out[outlen++] = '.';
            for (size_t i = 0; i < l; i++) {
                char c = lower((char)m->b[pos + 1 + i]);
                if (!name_char_ok(c))
                    bad = true;
                out[outlen++] = c;
            }
        }
        pos += 1 + (size_t)l;
        if (!jumped)
            limit = pos;
    }
    *off = end;
    if (outlen == 0) {
        out[0] = '.';
        out[1] = '\0';
    } else {
        out[outlen] = '\0';
    }
    return bad ? NAME_BAD_CHARS : NAME_OK;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* RFC 2181 §8: a TTL with the top bit set is treated as zero. */
static uint32_t fix_ttl(uint32_t t)
{
    return (t & 0x80000000u) ? 0 : t;
}

#define MAX_ALIASES 8

static int fail(dns__answer_t *out, const char *what)
{
    dns__answer_free(out);
    out->status = DNS_SERVFAIL;
    snprintf(out->detail, sizeof out->detail, "malformed answer: %s", what);
    return 0;
}

int dns__parse_answer(const uint8_t *buf, size_t len, const char *qname, int qtype,
                      dns__answer_t *out)
{
    memset(out, 0, sizeof *out);
    msg_t m = {buf, len};
    if (!buf || len < 12)
        return fail(out, "short header");
    unsigned rcode = buf[3] & 0x0F;
    unsigned qd = rd16(buf + 4), an = rd16(buf + 6), ns = rd16(buf + 8);
    if (!(buf[2] & 0x80))
        return fail(out, "not a response");
    if (rcode != 0 && rcode != 3) {
        out->status = DNS_SERVFAIL;
        snprintf(out->detail, sizeof out->detail, "server answered rcode %u", rcode);
        return 0;
    }
    size_t off = 12;
    char name[DNS_NAME_MAX + 1];
    for (unsigned i = 0; i < qd; i++) {
        if (read_name(&m, &off, name) == NAME_BAD_FORMAT || off + 4 > len)
            return fail(out, "question");
        off += 4;
    }

    char aliases[MAX_ALIASES][DNS_NAME_MAX + 1];
    size_t naliases = 1;
    snprintf(aliases[0], sizeof aliases[0], "%s", qname);
    size_t cap = 0, matched = 0;
    bool any_bad_name = false;
    uint32_t min_ttl = UINT32_MAX;

    for (unsigned i = 0; i < an + ns; i++) {
        bool answer = i < an;
        int rn = read_name(&m, &off, name);
        if (rn == NAME_BAD_FORMAT || off + 10 > len)
            return fail(out, "record header");
        uint16_t type = rd16(buf + off), klass = rd16(buf + off + 2);
        uint32_t ttl = fix_ttl(rd32(buf + off + 4));
        uint16_t rdlen = rd16(buf + off + 8);
        off += 10;
        if (off + rdlen > len)
            return fail(out, "record data");
        size_t rd = off, rdend = off + rdlen;
        off = rdend;
        if (klass != 1 || rn != NAME_OK)
            continue;
        if (!answer) {
            if (type == DNS__T_SOA && !out->has_soa) {
                size_t p = rd;
                char tmp[DNS_NAME_MAX + 1];
                if (read_name(&m, &p, tmp) == NAME_BAD_FORMAT ||
                    read_name(&m, &p, tmp) == NAME_BAD_FORMAT || p + 20 != rdend)
                    return fail(out, "SOA");
                uint32_t minimum = fix_ttl(rd32(buf + p + 16));
                out->has_soa = true;
                out->neg_ttl = ttl < minimum ? ttl : minimum;
            }
            continue;
        }
        bool owner_ok = false;
        for (size_t k = 0; k < naliases; k++)
            if (!strcmp(aliases[k], name))
                owner_ok = true;
        if (!owner_ok)
            continue;
        if (type == DNS__T_CNAME && qtype != DNS__T_CNAME) {
            size_t p = rd;
            char target[DNS_NAME_MAX + 1];
            int r = read_name(&m, &p, target);
            if (r == NAME_BAD_FORMAT || p != rdend)
                return fail(out, "CNAME");
            if (r == NAME_OK && naliases < MAX_ALIASES) {
                snprintf(aliases[naliases], sizeof aliases[naliases], "%s", target);
                naliases++;
            }
            continue;
        }
        if (type != qtype)
            continue;
        matched++;
        if (out->n >= DNS__MAX_RECORDS)
            continue;
        if (qtype == DNS__T_SRV) {
            if (rdlen < 7)
                return fail(out, "SRV");
            size_t p = rd + 6;
            char target[DNS_NAME_MAX + 1];
            int r = read_name(&m, &p, target);
            if (r == NAME_BAD_FORMAT || p != rdend)
                return fail(out, "SRV target");
            if (r != NAME_OK) {
                any_bad_name = true;
                continue;
            }
            if (out->n == cap) {
                cap = cap ? cap * 2 : 8;
                out->srv = fedge_realloc(out->srv, cap * sizeof *out->srv);
            }
            dns_srv_t *s = &out->srv[out->n++];
            s->priority = rd16(buf + rd);
            s->weight = rd16(buf + rd + 2);
            s->port = rd16(buf + rd + 4);
            s->ttl = ttl;
            s->target = fedge_strdup(target);
        } else if (qtype == DNS__T_A || qtype == DNS__T_AAAA) {
            size_t want = qtype == DNS__T_A ? 4 : 16;
            if (rdlen != want)
                return fail(out, qtype == DNS__T_A ? "A" : "AAAA");
            if (out->n == cap) {
                cap = cap ? cap * 2 : 8;
                out->addrs = fedge_realloc(out->addrs, cap * sizeof *out->addrs);
            }
            dns_addr_t *a = &out->addrs[out->n++];
            memset(a, 0, sizeof *a);
            a->family = qtype == DNS__T_A ? AF_INET : AF_INET6;
            memcpy(qtype == DNS__T_A ? (void *)&a->u.v4 : (void *)&a->u.v6, buf + rd, want);
            a->ttl = ttl;
        } else {
            continue;
        }
        if (ttl < min_ttl)
            min_ttl = ttl;
    }

    if (out->n > 0) {
        out->min_ttl = min_ttl;
        if (qtype == DNS__T_SRV && out->n == 1 && !strcmp(out->srv[0].target, ".")) {
            out->status = DNS_NOSERVICE;
            snprintf(out->detail, sizeof out->detail, "SRV target '.': service not offered");
        } else {
            out->status = DNS_OK;
        }
        return 0;
    }
    if (matched > 0 && any_bad_name) {
        out->status = DNS_SERVFAIL;
        snprintf(out->detail, sizeof out->detail, "answer holds only unusable target names");
        return 0;
    }
    out->status = rcode == 3 ? DNS_NXDOMAIN : DNS_NODATA;
    snprintf(out->detail, sizeof out->detail, "%s",
             rcode == 3 ? "name does not exist" : "no record of that type");
    return 0;
}

void dns__answer_free(dns__answer_t *a)
{
    for (size_t i = 0; a->srv && i < a->n; i++)
        free((char *)a->srv[i].target);
    free(a->srv);
    free(a->addrs);
    a->srv = NULL;
    a->addrs = NULL;
    a->n = 0;
}

/* ---- RFC 2782 ordering ---- */

size_t dns_srv_order(const dns_srv_t *recs, size_t n, dns_rng_fn rng, void *rng_ctx, size_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(recs[i].target, "."))
            out[k++] = i;
    /* stable insertion sort by priority, weight-0 records first within one */
    for (size_t i = 1; i < k; i++) {
        size_t v = out[i], j = i;
        while (j > 0) {
            const dns_srv_t *a = &recs[out[j - 1]], *b = &recs[v];
            bool after = a->priority > b->priority ||
                         (a->priority == b->priority && a->weight != 0 && b->weight == 0);
            if (!after)
                break;
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    /* weighted selection within each priority group, in place */
    size_t g = 0;
    while (g < k) {
        size_t ge = g;
        while (ge < k && recs[out[ge]].priority == recs[out[g]].priority)
            ge++;
        for (size_t pos = g; pos + 1 < ge; pos++) {
            uint64_t sum = 0;
            for (size_t i = pos; i < ge; i++)
                sum += recs[out[i]].weight;
            size_t pick = pos;
            if (sum == 0) {
                pick = pos + (size_t)(((uint64_t)rng(rng_ctx) * (ge - pos)) >> 32);
            } else {
                uint64_t r = ((uint64_t)rng(rng_ctx) * (sum + 1)) >> 32; /* 0..sum */
                uint64_t run = 0;
                for (size_t i = pos; i < ge; i++) {
                    run += recs[out[i]].weight;
                    if (run >= r) {
                        pick = i;
                        break;
                    }
                }
            }
            /* move pick to pos, keeping the rest in order (weight-0 first) */
            size_t v = out[pick];
            memmove(&out[pos + 1], &out[pos], (pick - pos) * sizeof *out);
            out[pos] = v;
        }
        g = ge;
    }
    return k;
}

/* ---- names and addresses ---- */

bool dns_name_in_domain(const char *host, const char *domain)
{
    if (!host || !domain)
        return false;
    size_t hl = strlen(host), dl = strlen(domain);
    if (hl > 0 && host[hl - 1] == '.')
        hl--;
    if (dl > 0 && domain[dl - 1] == '.')
        dl--;
    if (hl == 0 || dl == 0 || hl < dl)
        return false;
    for (size_t i = 0; i < dl; i++)
        if (lower(host[hl - dl + i]) != lower(domain[i]))
            return false;
    return hl == dl || host[hl - dl - 1] == '.';
}

socklen_t dns_addr_to_sockaddr(const dns_addr_t *addr, uint16_t port, struct sockaddr_storage *sa)
{
    memset(sa, 0, sizeof *sa);
    if (addr->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        s6->sin6_addr = addr->u.v6;
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    s4->sin_addr = addr->u.v4;
    return sizeof *s4;
}

const char *dns_addr_str(const dns_addr_t *addr, char *buf, size_t len)
{
    if (!inet_ntop(addr->family,
                   addr->family == AF_INET6 ? (const void *)&addr->u.v6 : (const void *)&addr->u.v4,
                   buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}
