/* cli_resolve.c — `fedge resolve DOMAIN`: shows what the edge sees in DNS for
 * a partner domain (SRV records, RFC 2782 order, addresses with TTLs) and
 * whether and where it would federate. */
#include "cli/cli_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dns/dns.h"

static const char resolve_usage[] =
    "usage: fedge resolve DOMAIN [-c FILE] [--json] [--server IP[:PORT][,...]] [--timeout MS]\n"
    "                     [--tries N]\n"
    "\n"
    "Looks up _sipfederationtls._tcp.DOMAIN (SRV), orders the targets as the\n"
    "edge does (RFC 2782: lowest priority first, weighted random within one),\n"
    "resolves every target's A and AAAA records and prints them with their\n"
    "TTLs, then the verdict: the target fedge would federate through first.\n"
    "A target outside DOMAIN is refused. With -c FILE the DNS servers, timeout\n"
    "and tries of its [dns] section are used (default: the system resolver\n"
    "configuration); --server, --timeout and --tries override them.\n"
    "\n"
    "examples:\n"
    "  fedge resolve fabrikam.test -c /etc/fedge/fedge.ini\n"
    "  fedge resolve fabrikam.test --server 192.0.2.53 --json\n"
    "\n"
    "Exit status: 0 would federate, 1 would not (or DNS failed), 2 usage or\n"
    "configuration error.\n";

#define MAX_TARGETS 64

/* What the route look-up returned, copied out of the callback. */
typedef struct {
    char name[DNS_NAME_MAX + 1];
    uint16_t port, priority, weight;
    uint32_t srv_ttl;
    bool in_domain;
    dns_status_t status;
    char detail[160];
    size_t n;
    dns_addr_t addrs[32];
} target_t;

typedef struct {
    const char *domain;
    char qname[DNS_NAME_MAX + 64];
    bool done;
    dns_status_t status;
    char detail[160];
    size_t n;
    target_t targets[MAX_TARGETS];
} job_t;

static void route_done(void *user, const dns_route_result_t *r)
{
    job_t *j = user;
    j->done = true;
    j->status = r->status;
    snprintf(j->qname, sizeof j->qname, "%s", r->name);
    snprintf(j->detail, sizeof j->detail, "%s", r->detail);
    j->n = r->n < MAX_TARGETS ? r->n : MAX_TARGETS;
    for (size_t i = 0; i < j->n; i++) {
        const dns_target_t *s = &r->targets[i];
        target_t *t = &j->targets[i];
        snprintf(t->name, sizeof t->name, "%s", s->target);
        t->port = s->port;
        t->priority = s->priority;
        t->weight = s->weight;
        t->srv_ttl = s->srv_ttl;
        t->in_domain = dns_name_in_domain(s->target, j->domain);
        t->status = s->status;
        snprintf(t->detail, sizeof t->detail, "%s", s->detail);
        t->n = s->n < 32 ? s->n : 32;
        memcpy(t->addrs, s->addrs, t->n * sizeof *t->addrs);
    }
}

/* The verdict: the first target in order that lies inside the domain and
 * has an address. Returns its index or -1, with the text in buf. */
static int verdict(const job_t *j, char *buf, size_t len)
{
    switch (j->status) {
    case DNS_NXDOMAIN:
    case DNS_NODATA:
        snprintf(buf, len, "no _sipfederationtls._tcp SRV record: partner not discoverable");
        return -1;
    case DNS_NOSERVICE:
        snprintf(buf, len, "SRV target '.': %s declares it offers no federation service",
                 j->domain);
        return -1;
    case DNS_TIMEOUT:
    case DNS_SERVFAIL:
        snprintf(buf, len, "DNS failure (%s: %s): cannot tell", dns_status_str(j->status),
                 j->detail);
        return -1;
    case DNS_OK: break;
    }
    const char *first_outside = NULL, *first_noaddr = NULL;
    for (size_t i = 0; i < j->n; i++) {
        const target_t *t = &j->targets[i];
        if (!t->in_domain) {
            if (!first_outside)
                first_outside = t->name;
            continue;
        }
        if (t->n == 0) {
            if (!first_noaddr)
                first_noaddr = t->name;
            continue;
        }
        snprintf(buf, len, "would federate via %s:%u first", t->name, t->port);
        return (int)i;
    }
    if (first_outside)
        snprintf(buf, len, "SRV target %s is outside domain %s: refused", first_outside, j->domain);
    else if (first_noaddr)
        snprintf(buf, len, "SRV target %s has no address: partner unreachable", first_noaddr);
    else
        snprintf(buf, len, "no usable SRV target");
    return -1;
}

static void print_text(const job_t *j, const char *vtext)
{
    char a[64];
    printf("domain   %s\n", j->domain);
    printf("query    %s SRV: %s", j->qname, dns_status_str(j->status));
    if (j->status != DNS_OK && j->detail[0])
        printf(" (%s)", j->detail);
    printf("\n");
    if (j->n) {
        printf("records  priority weight port  target (ttl)\n");
        for (size_t i = 0; i < j->n; i++)
            printf("         %8u %6u %5u %s (%u s)\n", j->targets[i].priority, j->targets[i].weight,
                   j->targets[i].port, j->targets[i].name, j->targets[i].srv_ttl);
        printf("order   ");
        for (size_t i = 0; i < j->n; i++)
            printf(" %zu. %s:%u", i + 1, j->targets[i].name, j->targets[i].port);
        printf("\n");
    }
    for (size_t i = 0; i < j->n; i++) {
        const target_t *t = &j->targets[i];
        printf("target   %s: %s", t->name,
               t->in_domain ? "in domain" : "OUTSIDE the domain: refused");
        if (t->n == 0)
            printf(", no address (%s%s%s)", dns_status_str(t->status), t->detail[0] ? ": " : "",
                   t->detail);
        printf("\n");
        for (size_t k = 0; k < t->n; k++)
            printf("           %s (ttl %u s)\n", dns_addr_str(&t->addrs[k], a, sizeof a),
                   t->addrs[k].ttl);
    }
    printf("verdict  %s\n", vtext);
}

static void print_json(const job_t *j, const char *vtext, int vidx)
{
    char a[64];
    json_t *o = json_object();
    json_object_set_new(o, "domain", json_string(j->domain));
    json_object_set_new(o, "query", json_string(j->qname));
    json_object_set_new(o, "status", json_string(dns_status_str(j->status)));
    json_object_set_new(o, "detail", json_string(j->detail));
    json_t *recs = json_array(), *ord = json_array(), *tg = json_array();
    for (size_t i = 0; i < j->n; i++) {
        const target_t *t = &j->targets[i];
        json_array_append_new(recs, json_pack("{s:i,s:i,s:i,s:s,s:I}", "priority", (int)t->priority,
                                              "weight", (int)t->weight, "port", (int)t->port,
                                              "target", t->name, "ttl", (json_int_t)t->srv_ttl));
        json_array_append_new(ord, json_pack("{s:s,s:i}", "target", t->name, "port", (int)t->port));
        json_t *addrs = json_array();
        for (size_t k = 0; k < t->n; k++)
            json_array_append_new(addrs, json_pack("{s:s,s:i,s:I}", "address",
                                                   dns_addr_str(&t->addrs[k], a, sizeof a),
                                                   "family", t->addrs[k].family == AF_INET6 ? 6 : 4,
                                                   "ttl", (json_int_t)t->addrs[k].ttl));
        json_array_append_new(tg, json_pack("{s:s,s:i,s:b,s:s,s:s,s:o}", "target", t->name, "port",
                                            (int)t->port, "in_domain", t->in_domain, "status",
                                            dns_status_str(t->status), "detail", t->detail,
                                            "addresses", addrs));
    }
    json_object_set_new(o, "records", recs);
    json_object_set_new(o, "ordered", ord);
    json_object_set_new(o, "targets", tg);
    json_t *v = json_object();
    json_object_set_new(v, "federate", json_boolean(vidx >= 0));
    if (vidx >= 0) {
        json_object_set_new(v, "target", json_string(j->targets[vidx].name));
        json_object_set_new(v, "port", json_integer(j->targets[vidx].port));
    }
    json_object_set_new(v, "text", json_string(vtext));
    json_object_set_new(o, "verdict", v);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
    json_decref(o);
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v == 0 || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

int cli__resolve(int argc, char **argv)
{
    const char *domain = NULL, *server = NULL, *file = NULL;
    bool json = false;
    dns_opts_t o;
    dns_opts_default(&o);
    unsigned timeout_ms = 0, tries = 0; /* 0: not given */
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(resolve_usage, stdout);
            return 0;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(a, "--server") && i + 1 < argc) {
            server = argv[++i];
        } else if (!strncmp(a, "--server=", 9)) {
            server = a + 9;
        } else if (!strcmp(a, "--timeout") && i + 1 < argc) {
            if (!parse_uint(argv[++i], 60000, &timeout_ms)) {
                fprintf(stderr, "fedge resolve: bad --timeout '%s' (1..60000 ms)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--tries") && i + 1 < argc) {
            if (!parse_uint(argv[++i], 10, &tries)) {
                fprintf(stderr, "fedge resolve: bad --tries '%s' (1..10)\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' || domain) {
            fprintf(stderr, "fedge resolve: unexpected argument '%s'\n%s", a, resolve_usage);
            return 2;
        } else {
            domain = a;
        }
    }
    if (!domain) {
        fputs(resolve_usage, stderr);
        return 2;
    }
    /* The configuration's [dns] first, then what the command line says. */
    char servers[1024] = "";
    if (file) {
        config_t *cfg = NULL;
        fedge_err_t ce;
        if (config_load(file, &cfg, &ce) < 0) {
            fprintf(stderr, "fedge resolve: %s\n", ce.msg);
            return 2;
        }
        char b[128];
        for (size_t i = 0; i < cfg->dns.servers.count; i++) {
            config_hostport_format(&cfg->dns.servers.items[i], b, sizeof b);
            snprintf(servers + strlen(servers), sizeof servers - strlen(servers), "%s%s",
                     i ? "," : "", b);
        }
        if (cfg->dns.timeout_ms)
            o.timeout_ms = cfg->dns.timeout_ms;
        if (cfg->dns.tries)
            o.tries = cfg->dns.tries;
        config_free(cfg);
    }
    if (timeout_ms)
        o.timeout_ms = timeout_ms;
    if (tries)
        o.tries = tries;
    job_t *j = fedge_calloc(1, sizeof *j);
    j->domain = domain;
    snprintf(j->qname, sizeof j->qname, "%s%s", DNS_SIPFED_PREFIX, domain);
    o.servers = server ? server : servers[0] ? servers : NULL;
    uv_loop_t loop;
    uv_loop_init(&loop);
    fedge_err_t err = {{0}};
    dns_t *d = NULL;
    int rc = dns_new(&loop, &o, &d, &err);
    if (rc < 0) {
        fprintf(stderr, "fedge resolve: %s\n", err.msg);
        uv_loop_close(&loop);
        free(j);
        return 2;
    }
    /* the same look-up the edge makes for partner discovery: no fallback
     * to the domain's own addresses */
    rc = dns_resolve_route(d, DNS_SIPFED_PREFIX, domain, 0, DNS_AF_ANY, route_done, j, NULL);
    if (rc < 0) {
        fprintf(stderr, "fedge resolve: '%s' is not a valid domain name\n", domain);
        dns_free(d);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        free(j);
        return 2;
    }
    while (!j->done && uv_run(&loop, UV_RUN_ONCE)) {
    }
    char vtext[512];
    int vidx = -1;
    if (j->done)
        vidx = verdict(j, vtext, sizeof vtext);
    else
        snprintf(vtext, sizeof vtext, "look-up did not complete");
    if (json)
        print_json(j, vtext, vidx);
    else
        print_text(j, vtext);
    dns_free(d);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(j);
    return vidx >= 0 ? 0 : 1;
}
