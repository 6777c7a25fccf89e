/* map.c — what the SIP/XMPP gateway maps and how (pure): addresses per
 * RFC 7247 §4-5 (SIP user part <-> JID localpart, RFC 7622 rules), text a
 * message body may carry in both protocols (UTF-8, XML 1.0 characters,
 * RFC 7572 §5), error conditions per RFC 7247 §8, and the availability of
 * a user with several resources as one state for the SIP side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmpp/xmpp.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Length of the UTF-8 sequence at s[0..len) that encodes one XML 1.0 Char
 * (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]),
 * shortest form; 0 when it is not one. */
static size_t xml_char(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    if (c < 0x80)
        return c >= 0x20 || c == 0x9 || c == 0xA || c == 0xD ? 1 : 0;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (!n || n > len || c > 0xF4)
        return 0;
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

bool xmpp_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = xml_char(p + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* RFC 7622 §3.3.1: the localpart may not hold these (and RFC 7247 §4
 * leaves them out of the mapping). */
static bool localpart_forbidden(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr("\"&'/:<>@", c) != NULL;
}

int xmpp_localpart_from_sip(const char *user, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (len == 0)
        return FEDGE_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)user[i];
        if (c == '%') {
            int h = i + 2 < len ? hexval(user[i + 1]) : -1;
            int l = i + 2 < len ? hexval(user[i + 2]) : -1;
            if (h < 0 || l < 0)
                return FEDGE_EINVAL;
            c = (unsigned char)(h * 16 + l);
            i += 2;
        }
        if (localpart_forbidden(c))
            return FEDGE_EINVAL;
        if (o + 2 > cap)
            return FEDGE_ENOSPC;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); /* RFC 7613 case mapping, ASCII */
    }
    out[o] = '\0';
    if (o > 1023 || !xmpp_text_ok(out, o))
        return FEDGE_EINVAL;
    return 0;
}

int xmpp_sip_user_from_localpart(const char *local, char *out, size_t cap)
{
    /* RFC 3261 user = 1*( unreserved / escaped / user-unreserved ) */
    static const char keep[] = "-_.!~*'()&=+$,;?/";
    size_t o = 0;
    if (!local[0])
        return FEDGE_EINVAL;
    for (const unsigned char *p = (const unsigned char *)local; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || (*p < 0x80 && strchr(keep, *p));
        if (o + (plain ? 1 : 3) + 1 > cap)
            return FEDGE_ENOSPC;
        if (plain)
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    out[o] = '\0';
    return 0;
}

int xmpp_sip_status_from_error(const char *cond)
{
    static const struct {
        const char *cond;
        int status;
    } t[] = {
        {"bad-request", 400},
        {"conflict", 400},
        {"feature-not-implemented", 405},
        {"forbidden", 403},
        {"gone", 410},
        {"internal-server-error", 500},
        {"item-not-found", 404},
        {"jid-malformed", 400},
        {"not-acceptable", 406},
        {"not-allowed", 403},
        {"not-authorized", 403},
        {"policy-violation", 403},
        {"payment-required", 402},
        {"recipient-unavailable", 480},
        {"redirect", 404},
        {"registration-required", 403},
        {"remote-server-not-found", 404},
        {"remote-server-timeout", 408},
        {"remote-connection-failed", 502},
        {"resource-constraint", 503},
        {"service-unavailable", 503},
        {"subscription-required", 403},
        {"undefined-condition", 500},
        {"unexpected-request", 500},
    };
    for (size_t i = 0; cond && i < FEDGE_ARRAY_LEN(t); i++)
        if (!strcmp(t[i].cond, cond))
            return t[i].status;
    return 500;
}

const char *xmpp_error_from_sip_status(int status, const char **type)
{
    const char *cond, *ty = "cancel";
    switch (status) {
    case 400:
    case 413:
    case 414:
    case 415:
    case 416:
    case 420: cond = "bad-request", ty = "modify"; break;
    case 401: cond = "not-authorized", ty = "auth"; break;
    case 402: cond = "payment-required", ty = "auth"; break;
    case 403:
    case 603: cond = "forbidden", ty = "auth"; break;
    case 404:
    case 604: cond = "item-not-found"; break;
    case 405:
    case 501: cond = "feature-not-implemented"; break;
    case 406:
    case 488:
    case 606: cond = "not-acceptable", ty = "modify"; break;
    case 407: cond = "registration-required", ty = "auth"; break;
    case 408:
    case 504: cond = "remote-server-timeout", ty = "wait"; break;
    case 410: cond = "gone"; break;
    case 480:
    case 486:
    case 600: cond = "recipient-unavailable", ty = "wait"; break;
    case 502: cond = "remote-server-not-found"; break;
    case 503: cond = "service-unavailable", ty = "wait"; break;
    default:
        cond = status >= 500                   ? "internal-server-error"
               : status >= 300 && status < 400 ? "item-not-found"
                                               : "undefined-condition";
    }
    if (type)
        *type = ty;
    return cond;
}

int xmpp_show_rank(const char *show)
{
    if (!show || !*show)
        return 4;
    if (!strcmp(show, "chat"))
        return 5;
    if (!strcmp(show, "away"))
        return 3;
    if (!strcmp(show, "xa"))
        return 2;
    if (!strcmp(show, "dnd"))
        return 1;
    return 4; /* not a value of RFC 6121 §4.7.2.1: as none */
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void xmpp_presence_update(xmpp_presence_t *p, const char *resource, bool available,
                          const char *show, const char *status, size_t slen)
{
    if (!resource)
        resource = "";
    if (!available && !*resource) {
        p->n = 0;
        return;
    }
    uint64_t id = fnv1a(resource);
    size_t i = 0;
    while (i < p->n && p->r[i].id != id)
        i++;
    if (!available) {
        if (i < p->n)
            p->r[i] = p->r[--p->n];
        return;
    }
    if (i == p->n) {
        if (p->n == XMPP_MAX_RESOURCES) {
            i = 0; /* replace the one heard from longest ago */
            for (size_t j = 1; j < p->n; j++)
                if (p->r[j].seq < p->r[i].seq)
                    i = j;
        } else {
            if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 2;
                if (p->cap > XMPP_MAX_RESOURCES)
                    p->cap = XMPP_MAX_RESOURCES;
                p->r = fedge_realloc(p->r, p->cap * sizeof *p->r);
            }
            p->n++;
        }
    }
    xmpp_resource_t *r = &p->r[i];
    memset(r, 0, sizeof *r);
    r->id = id;
    r->seq = ++p->seq;
    int rank = xmpp_show_rank(show);
    snprintf(r->show, sizeof r->show, "%s",
             rank == 5   ? "chat"
             : rank == 3 ? "away"
             : rank == 2 ? "xa"
             : rank == 1 ? "dnd"
                         : "");
    if (status && slen) {
        size_t n = slen < 200 ? slen : 200;
        while (n < slen && n > 0 && ((unsigned char)status[n] & 0xC0) == 0x80)
            n--;
        memcpy(r->status, status, n);
        r->status[n] = '\0';
    }
}

const xmpp_resource_t *xmpp_presence_best(const xmpp_presence_t *p)
{
    const xmpp_resource_t *best = NULL;
    for (size_t i = 0; i < p->n; i++) {
        const xmpp_resource_t *r = &p->r[i];
        if (!best)
            best = r;
        else {
            int a = xmpp_show_rank(r->show), b = xmpp_show_rank(best->show);
            if (a > b || (a == b && r->seq > best->seq))
                best = r;
        }
    }
    return best;
}

void xmpp_presence_free(xmpp_presence_t *p)
{
    free(p->r);
    memset(p, 0, sizeof *p);
}
