/* parse.c — value grammars of the configuration shared with other modules:
 * host[:port], domain names, durations, sizes and booleans. */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

int config_normalize_fqdn(const char *s, size_t len, int min_labels, char *out, fedge_err_t *err)
{
    if (len > 0 && s[len - 1] == '.')
        len--; /* one trailing dot: the absolute form of the same name */
    if (len == 0)
        return fedge_err(err, FEDGE_EINVAL, "empty name");
    if (len > CONFIG_FQDN_MAX)
        return fedge_err(err, FEDGE_EINVAL, "name is %zu characters long, more than %d", len,
                         CONFIG_FQDN_MAX);
    int labels = 0;
    size_t start = 0;
    bool all_digits = true;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            unsigned char ch = (unsigned char)s[i];
            if (!isalnum(ch) && ch != '-')
                return fedge_err(err, FEDGE_EINVAL,
                                 isprint(ch) ? "character '%c' is not allowed in a name"
                                             : "character \\x%02x is not allowed in a name",
                                 ch);
            if (!isdigit(ch))
                all_digits = false;
            out[i] = (char)tolower(ch);
            continue;
        }
        size_t llen = i - start;
        if (llen == 0)
            return fedge_err(err, FEDGE_EINVAL,
                             "empty label (two dots in a row, or a leading dot)");
        if (llen > 63)
            return fedge_err(err, FEDGE_EINVAL,
                             "label \"%.*s...\" is %zu characters long, more than 63", 20,
                             s + start, llen);
        if (s[start] == '-')
            return fedge_err(err, FEDGE_EINVAL, "label \"%.*s\" starts with a hyphen", (int)llen,
                             s + start);
        if (s[i - 1] == '-')
            return fedge_err(err, FEDGE_EINVAL, "label \"%.*s\" ends with a hyphen", (int)llen,
                             s + start);
        labels++;
        if (i < len) {
            out[i] = '.';
            all_digits = true;
        }
        start = i + 1;
    }
    out[len] = '\0';
    if (all_digits)
        return fedge_err(err, FEDGE_EINVAL, "the last label is all digits (not a name)");
    if (labels < min_labels)
        return fedge_err(err, FEDGE_EINVAL, "a single label is not a fully qualified name");
    return (int)len;
}

static int parse_port(const char *s, size_t len, uint16_t *out, fedge_err_t *err)
{
    if (len == 0)
        return fedge_err(err, FEDGE_EINVAL, "empty port after ':'");
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return fedge_err(err, FEDGE_EINVAL, "port \"%.*s\" is not a number", (int)len, s);
        if (v <= 65535)
            v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return fedge_err(err, FEDGE_EINVAL, "port %.*s is out of range 1-65535", (int)len, s);
    *out = (uint16_t)v;
    return 0;
}

/* Canonical text of an IP literal s[0..len) of family af into buf. */
static bool ip_literal(int af, const char *s, size_t len, char *buf, size_t n)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    if (len >= sizeof(tmp))
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(af, tmp, bin) != 1)
        return false;
    return inet_ntop(af, bin, buf, (socklen_t)n) != NULL;
}

int config_parse_hostport(const char *s, size_t len, unsigned flags, uint16_t default_port,
                          config_hostport_t *out, fedge_err_t *err)
{
    trim(&s, &len);
    if (len == 0)
        return fedge_err(err, FEDGE_EINVAL, "empty address");

    const char *host = s, *port = NULL;
    size_t hlen = len, plen = 0;
    bool bracketed = false;
    if (s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb)
            return fedge_err(err, FEDGE_EINVAL, "'[' without a closing ']'");
        host = s + 1;
        hlen = (size_t)(rb - host);
        bracketed = true;
        size_t rest = len - (size_t)(rb + 1 - s);
        if (rest > 0) {
            if (rb[1] != ':')
                return fedge_err(err, FEDGE_EINVAL, "unexpected text after ']'");
            port = rb + 2;
            plen = rest - 1;
        }
    } else {
        const char *c1 = memchr(s, ':', len);
        if (c1 && memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s))) {
            /* Several colons: a bare IPv6 literal, which cannot carry a port. */
            char buf[INET6_ADDRSTRLEN];
            if (!ip_literal(AF_INET6, s, len, buf, sizeof(buf)))
                return fedge_err(err, FEDGE_EINVAL,
                                 "not a valid address (an IPv6 address with a port is written "
                                 "in brackets, like [2001:db8::1]:5061)");
            bracketed = true; /* treat like "[s]" */
        } else if (c1) {
            hlen = (size_t)(c1 - s);
            port = c1 + 1;
            plen = len - hlen - 1;
        }
    }

    uint16_t pnum = default_port;
    if (port) {
        int rc = parse_port(port, plen, &pnum, err);
        if (rc < 0)
            return rc;
    } else if (flags & CONFIG_HP_REQUIRE_PORT) {
        return fedge_err(err, FEDGE_EINVAL, "no port");
    }
    if (hlen == 0)
        return fedge_err(err, FEDGE_EINVAL, "empty host");

    char buf[CONFIG_FQDN_BUFSIZE > INET6_ADDRSTRLEN ? CONFIG_FQDN_BUFSIZE : INET6_ADDRSTRLEN];
    config_host_kind_t kind;
    if (bracketed) {
        if (!ip_literal(AF_INET6, host, hlen, buf, sizeof(buf)))
            return fedge_err(err, FEDGE_EINVAL, "\"%.*s\" is not a valid IPv6 address", (int)hlen,
                             host);
        kind = CONFIG_HOST_IPV6;
    } else if (ip_literal(AF_INET, host, hlen, buf, sizeof(buf))) {
        kind = CONFIG_HOST_IPV4;
    } else {
        bool numeric = true;
        for (size_t i = 0; i < hlen; i++)
            if (!isdigit((unsigned char)host[i]) && host[i] != '.')
                numeric = false;
        if (numeric)
            return fedge_err(err, FEDGE_EINVAL, "\"%.*s\" is not a valid IPv4 address", (int)hlen,
                             host);
        if (!(flags & CONFIG_HP_ALLOW_NAME))
            return fedge_err(err, FEDGE_EINVAL, "\"%.*s\" is not an IP address", (int)hlen, host);
        fedge_err_t e2;
        if (config_normalize_fqdn(host, hlen, 1, buf, &e2) < 0)
            return fedge_err(err, FEDGE_EINVAL, "host \"%.*s\": %s", (int)hlen, host, e2.msg);
        kind = CONFIG_HOST_NAME;
    }
    out->host = fedge_strdup(buf);
    out->port = pnum;
    out->kind = kind;
    return 0;
}

void config_hostport_free(config_hostport_t *hp)
{
    if (!hp)
        return;
    free(hp->host);
    hp->host = NULL;
}

char *config_hostport_format(const config_hostport_t *hp, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    const char *h = hp->host ? hp->host : "";
    bool v6 = hp->kind == CONFIG_HOST_IPV6;
    if (hp->port)
        snprintf(buf, n, v6 ? "[%s]:%u" : "%s:%u", h, (unsigned)hp->port);
    else
        snprintf(buf, n, v6 ? "[%s]" : "%s", h);
    return buf;
}

bool config_hostport_is_loopback(const config_hostport_t *hp)
{
    if (!hp->host)
        return false;
    if (hp->kind == CONFIG_HOST_IPV4) {
        struct in_addr a;
        return inet_pton(AF_INET, hp->host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
    }
    if (hp->kind == CONFIG_HOST_IPV6) {
        struct in6_addr a;
        if (inet_pton(AF_INET6, hp->host, &a) != 1)
            return false;
        if (IN6_IS_ADDR_LOOPBACK(&a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
    }
    return false;
}

/* Digits of s as an unsigned 64-bit number; *end set past them. Returns
 * false when there is no digit or the number exceeds limit. */
static bool parse_digits(const char *s, const char **end, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > limit)
            return false;
        p++;
    }
    *end = p;
    *out = v;
    return p != s;
}

int config_parse_duration(const char *s, uint32_t *out_ms)
{
    const char *end;
    uint64_t v;
    if (!parse_digits(s, &end, UINT32_MAX, &v))
        return FEDGE_EINVAL;
    uint64_t mult;
    if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "s") || !*end)
        mult = 1000;
    else if (!strcmp(end, "m"))
        mult = 60 * 1000;
    else if (!strcmp(end, "h"))
        mult = 3600 * 1000;
    else
        return FEDGE_EINVAL;
    if (v * mult > UINT32_MAX)
        return FEDGE_EINVAL;
    *out_ms = (uint32_t)(v * mult);
    return 0;
}

int config_parse_size(const char *s, uint32_t *out)
{
    const char *end;
    uint64_t v;
    if (!parse_digits(s, &end, UINT32_MAX, &v))
        return FEDGE_EINVAL;
    uint64_t mult;
    if (!*end)
        mult = 1;
    else if (!strcmp(end, "k") || !strcmp(end, "K"))
        mult = 1024;
    else if (!strcmp(end, "m") || !strcmp(end, "M"))
        mult = 1024 * 1024;
    else
        return FEDGE_EINVAL;
    if (v * mult > UINT32_MAX)
        return FEDGE_EINVAL;
    *out = (uint32_t)(v * mult);
    return 0;
}

int config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(yes); i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return FEDGE_EINVAL;
}
