/* dns.h — asynchronous DNS for fedge: SRV (RFC 2782) and A/AAAA look-ups on
 * c-ares driven by a libuv loop, with a TTL cache, negative caching,
 * coalescing of concurrent look-ups, and the pure helpers the router and the
 * certificate checks need (SRV ordering, "is this host in that domain").
 *
 * Typical use (the router):
 *
 *     dns_opts_t o;
 *     dns_opts_default(&o);
 *     o.servers = "127.0.0.1:5353";            // or NULL: /etc/resolv.conf
 *     dns_t *dns;
 *     if (dns_new(loop, &o, &dns, &err) < 0) ... err.msg
 *     dns_resolve_route(dns, DNS_SIPFED_PREFIX, "contoso.com", 0, DNS_AF_ANY,
 *                       on_route, ctx, &ctx->dns_req);
 *     // on_route(ctx, res): res->targets[0..n) in RFC 2782 order, each with
 *     // its addresses; copy what you keep. If ctx goes away first:
 *     // dns_cancel(ctx->dns_req).
 *     ...
 *     dns_free(dns);                            // then let the loop run
 *
 * Every callback runs from the loop (a uv_idle handle), never inside the
 * call that asked and never inside c-ares, so a callback may start new
 * look-ups, cancel others or free the resolver. Answers with TTL 0 are
 * not cached (only shared by the look-ups waiting for them). */
#ifndef FEDGE_DNS_H
#define FEDGE_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/base.h"

/* The SRV prefix under which federating organizations publish their edges. */
#define DNS_SIPFED_PREFIX "_sipfederationtls._tcp."
/* The SRV prefix for an internal next hop named by FQDN (RFC 3263). */
#define DNS_SIPS_PREFIX "_sips._tcp."
/* The SRV prefix of XMPP server-to-server service (RFC 6120 §3.2.1). */
#define DNS_XMPP_SERVER_PREFIX "_xmpp-server._tcp."

/* Longest name (without trailing dot) accepted anywhere in this module. */
#define DNS_NAME_MAX 253

typedef struct dns dns_t;
typedef struct dns_req dns_req_t;

/* Resolver settings. Fill with dns_opts_default() and change what you need;
 * every field is then taken literally. */
typedef struct {
    /* Comma-separated "ip", "ip:port" or "[ipv6]:port" (IP addresses, not
     * names; default port 53). NULL or "" = the system configuration
     * (/etc/resolv.conf). */
    const char *servers;
    unsigned timeout_ms;   /* first try's timeout per server (default 2000) */
    unsigned tries;        /* tries per server (default 2) */
    unsigned cache_max;    /* cached answers kept, LRU beyond (default 4096) */
    unsigned max_inflight; /* distinct queries in flight (default 1024) */
    unsigned pos_ttl_max;  /* cap on positive TTLs, seconds (default 86400) */
    unsigned neg_ttl_min;  /* floor for NXDOMAIN/NODATA caching, s (default 5);
                              also used when the answer carries no SOA */
    unsigned neg_ttl_max;  /* cap for NXDOMAIN/NODATA caching, s (default 300) */
    unsigned fail_ttl_ms;  /* how long a timeout/SERVFAIL is remembered, so
                              one dead look-up is not repeated by every
                              request (default 2000; 0 = not at all) */
} dns_opts_t;

/* Outcome of a look-up. */
typedef enum {
    DNS_OK = 0,    /* records found */
    DNS_NXDOMAIN,  /* the name does not exist */
    DNS_NODATA,    /* the name exists but has no record of that type */
    DNS_NOSERVICE, /* SRV: a single record with target "." (RFC 2782):
                      the service is decidedly not offered there */
    DNS_TIMEOUT,   /* no server answered within timeout/tries */
    DNS_SERVFAIL,  /* server failure, refusal, unreachable server or a
                      malformed answer: the result's detail says which */
} dns_status_t;

/* Short lower-case name of a status ("ok", "nxdomain", ...); never NULL. */
const char *dns_status_str(dns_status_t s);

/* One SRV record. target is lower-case without trailing dot ("." for the
 * no-service record); ttl is the remaining lifetime when delivered. */
typedef struct {
    uint16_t priority;
    uint16_t weight;
    uint16_t port;
    uint32_t ttl;
    const char *target;
} dns_srv_t;

/* The result handed to a dns_srv_cb; everything in it (strings, arrays) is
 * valid only during the callback: copy what you keep. */
typedef struct {
    dns_status_t status;
    const char *name;   /* the name looked up, normalized (lower case) */
    const char *detail; /* why, for a status other than DNS_OK; else "" */
    bool cached;        /* answered from the cache, no query was sent */
    uint32_t ttl;       /* seconds this answer stays cached (positive:
                           smallest record TTL; negative: the negative TTL) */
    size_t n;           /* records as received */
    const dns_srv_t *records;
    size_t n_ordered; /* usable targets in RFC 2782 order: lowest
                         priority first, weighted random within a
                         priority (a fresh draw for every delivery);
                         "." targets are left out */
    const dns_srv_t *const *ordered;
} dns_srv_result_t;

/* One address with its remaining TTL. */
typedef struct {
    int family; /* AF_INET or AF_INET6 */
    union {
        struct in_addr v4;
        struct in6_addr v6;
    } u;
    uint32_t ttl;
} dns_addr_t;

/* Families asked for by dns_resolve_host (a bit mask). */
enum {
    DNS_AF_INET = 1,  /* A records */
    DNS_AF_INET6 = 2, /* AAAA records */
    DNS_AF_ANY = 3,
    DNS_PREFER_INET6 = 4, /* list IPv6 addresses before IPv4 (default: IPv4 first) */
};

/* The result handed to a dns_host_cb; valid only during the callback. With
 * both families asked for, status is DNS_OK when either gave an address; if
 * neither did, a failure (timeout/servfail) of either wins over NODATA, and
 * NODATA over NXDOMAIN. An IP literal ("192.0.2.1", "::1", "[::1]")
 * resolves to itself, and "localhost" (or a name below it) to the loopback
 * addresses of the families asked (RFC 6761), without DNS (cached = true). */
typedef struct {
    dns_status_t status;
    const char *name;
    const char *detail;
    bool cached;  /* every part came from the cache */
    uint32_t ttl; /* smallest remaining TTL of the parts */
    size_t n;
    const dns_addr_t *addrs;
} dns_host_result_t;

typedef void (*dns_srv_cb)(void *user, const dns_srv_result_t *res);
typedef void (*dns_host_cb)(void *user, const dns_host_result_t *res);

/* Counters, for tests and metrics. */
typedef struct {
    uint64_t queries;    /* queries handed to c-ares (one per name+type miss) */
    uint64_t cache_hits; /* request parts answered from a fresh cache entry */
    uint64_t coalesced;  /* request parts that joined a query in flight */
    uint64_t evictions;  /* cache entries dropped by the size bound */
    uint64_t timeouts;   /* queries that got no answer in time (after every try) */
    uint64_t failures;   /* queries that failed otherwise (SERVFAIL, refused, ...); an
                          * answer "no such name/record" is an answer, not a failure */
    size_t entries;      /* answers in the cache now */
    size_t inflight;     /* queries in flight now */
} dns_stats_t;

/* Fills o with the defaults documented in dns_opts_t (servers = NULL). */
void dns_opts_default(dns_opts_t *o);

/* Creates a resolver on loop. opts NULL = defaults. Returns 0 and *out, or
 * FEDGE_ECONFIG (bad servers string or option; message in err) or FEDGE_EDNS
 * (c-ares could not start, e.g. unreadable resolv.conf). The loop must outlive
 * the resolver. Worst-case time to DNS_TIMEOUT with one server: c-ares
 * doubles the timeout each round, so timeout_ms * (2^tries - 1); with k
 * servers each round tries every server once. */
int dns_new(uv_loop_t *loop, const dns_opts_t *opts, dns_t **out, fedge_err_t *err);

/* Releases the resolver: pending requests are dropped without their
 * callbacks being called (their dns_req_t handles become invalid), queries
 * are abandoned, the libuv handles are closed; the memory is released from
 * the close callbacks, so run the loop afterwards. Safe to call from inside
 * a dns callback. NULL is a no-op. */
void dns_free(dns_t *d);

/* Looks up the SRV records of name (e.g. "_sipfederationtls._tcp.contoso.com";
 * case-insensitive, trailing dot optional). cb is always called later from
 * the loop, never from inside this call, exactly once unless the request is
 * cancelled. If req is not NULL it receives a handle valid until cb starts
 * or dns_cancel. Returns 0, FEDGE_EINVAL (not a valid DNS name: letters,
 * digits, '-', '_', labels of 1..63, at most 253 characters) or FEDGE_ELIMIT
 * (max_inflight queries already in flight; nothing queued). */
int dns_resolve_srv(dns_t *d, const char *name, dns_srv_cb cb, void *user, dns_req_t **req);

/* Looks up addresses of name for the families in mask (DNS_AF_*, at least
 * one of DNS_AF_INET/DNS_AF_INET6). Same contract as dns_resolve_srv. */
int dns_resolve_host(dns_t *d, const char *name, unsigned mask, dns_host_cb cb, void *user,
                     dns_req_t **req);

/* One target of a route (dns_resolve_route), with its addresses. */
typedef struct {
    const char *target; /* host name, lower case */
    uint16_t port;
    uint16_t priority;
    uint16_t weight;
    uint32_t srv_ttl;    /* remaining TTL of the SRV record (0 for a fallback) */
    dns_status_t status; /* of the address look-up */
    const char *detail;  /* why, when status is not DNS_OK; else "" */
    size_t n;
    const dns_addr_t *addrs;
} dns_target_t;

/* The result handed to a dns_route_cb; valid only during the callback. */
typedef struct {
    dns_status_t status; /* of the SRV look-up; DNS_OK also after a fallback */
    const char *name;    /* the SRV name asked (prefix + domain, normalized) */
    const char *detail;  /* why, when status is not DNS_OK; else "" */
    bool cached;         /* every answer came from the cache */
    bool fallback;       /* no SRV record: the domain's own addresses at
                            fallback_port (RFC 3263 section 4.2) */
    uint32_t ttl;        /* smallest remaining TTL of the answers used */
    size_t n;            /* targets in RFC 2782 order (a fresh draw each
                            time); a target may have no address (see its
                            status) */
    const dns_target_t *targets;
} dns_route_result_t;

typedef void (*dns_route_cb)(void *user, const dns_route_result_t *res);

/* Resolves a service to ordered targets with addresses: the SRV records of
 * prefix + domain (e.g. DNS_SIPFED_PREFIX and "contoso.com"), then the
 * addresses (mask as in dns_resolve_host) of every target. When the domain
 * has no SRV record (NXDOMAIN or NODATA) and fallback_port is not 0, the
 * domain's own addresses are used at fallback_port (an internal next hop
 * named by FQDN); for partner discovery pass 0, so that no SRV record means
 * "not discoverable". All look-ups go through the cache and are coalesced.
 * Same contract as dns_resolve_srv: cb called once, later, unless
 * cancelled; FEDGE_EINVAL for a bad name or mask, FEDGE_ELIMIT when the SRV
 * query cannot be started (a target whose address query cannot be started
 * gets DNS_SERVFAIL). */
int dns_resolve_route(dns_t *d, const char *prefix, const char *domain, uint16_t fallback_port,
                      unsigned mask, dns_route_cb cb, void *user, dns_req_t **req);

/* The result handed to a dns_edge_cb; valid only during the callback. */
typedef struct {
    bool legitimate;     /* an SRV target of the domain is among the names */
    dns_status_t status; /* of the SRV look-up */
    const char *domain;  /* normalized */
    const char *matched; /* the SRV target found among the names, or NULL */
    const char *reason;  /* why not, fit for a diagnostic; "" when legitimate */
    bool cached;
    uint32_t ttl; /* how long this answer stays valid */
} dns_edge_result_t;

typedef void (*dns_edge_cb)(void *user, const dns_edge_result_t *res);

/* Inbound verification: is a peer whose certificate names names[0..n-1]
 * (DNS names, at most 64 used) a legitimate edge of domain, i.e. is one of
 * them an SRV target of _sipfederationtls._tcp.<domain>? Exact names,
 * case-insensitive, no wildcards. The answer follows the SRV cache (TTL,
 * negative caching, coalescing). A DNS failure gives legitimate = false
 * with status DNS_TIMEOUT/DNS_SERVFAIL, so that the caller can tell "not
 * an edge" from "cannot tell now". The names are copied. Same contract as
 * dns_resolve_srv. */
int dns_verify_edge(dns_t *d, const char *domain, const char *const *names, size_t n,
                    dns_edge_cb cb, void *user, dns_req_t **req);

/* Cancels a pending request: its callback will not be called and the
 * handle is freed. The query itself goes on and fills the cache. Must not
 * be called after the callback started or after dns_free. */
void dns_cancel(dns_req_t *req);

/* Current counters. */
void dns_get_stats(const dns_t *d, dns_stats_t *out);

/* Random source for dns_srv_order: 32 uniformly random bits per call. */
typedef uint32_t (*dns_rng_fn)(void *ctx);

/* RFC 2782 ordering, a pure function: writes to out (room for n indexes) the
 * indexes into recs of the usable records — lowest priority first; within a
 * priority, repeated weighted random selection (weight-0 records go first
 * in the running sum, so they are chosen with probability 1/(sum+1) while
 * others have weight; when every remaining weight is 0 the choice is
 * uniform). Records with target "." are left out. Returns how many indexes
 * were written. */
size_t dns_srv_order(const dns_srv_t *recs, size_t n, dns_rng_fn rng, void *rng_ctx, size_t *out);

/* True when host equals domain or lies below it, case-insensitive and
 * label-aligned ("edge.contoso.com" is in "contoso.com", "evilcontoso.com"
 * is not); one trailing dot on either is ignored; empty names are in
 * nothing. */
bool dns_name_in_domain(const char *host, const char *domain);

/* Fills sa with addr and port (host order); returns its length. */
socklen_t dns_addr_to_sockaddr(const dns_addr_t *addr, uint16_t port, struct sockaddr_storage *sa);

/* Formats addr as text into buf (at least 46 bytes); returns buf. */
const char *dns_addr_str(const dns_addr_t *addr, char *buf, size_t len);

#endif
