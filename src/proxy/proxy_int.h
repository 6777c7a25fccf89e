/* proxy_int.h — internals shared by the files of src/proxy/ (not public). */
#ifndef FEDGE_PROXY_INT_H
#define FEDGE_PROXY_INT_H

#include "proxy/proxy.h"

#include "dns/dns.h"

/* Most Route values the proxy looks at in one request. */
#define PROXY__MAX_ROUTES 32

/* FNV-1a, 64 bit: a fast hash for branch parts and the transaction tables
 * (not a MAC: the secret only keeps branches unpredictable). */
uint64_t proxy__hash(uint64_t h, const void *data, size_t len);
#define PROXY__HASH_INIT 0xcbf29ce484222325ull

/* Compares a host from a message (IPv6 with brackets) with a configured
 * one (IPv6 without), case-insensitively. */
bool proxy__host_eq(fedge_str_t msg_host, const char *cfg_host);

/* Writes host for a URI or Via (brackets around IPv6) into out; returns the
 * length written (out always NUL-terminated, truncating). */
size_t proxy__host_fmt(const char *host, char *out, size_t cap);

/* True when Via value v has the sent-by (host and port) of one of the
 * edge's interfaces, as the edge writes them into its own Via values. */
bool proxy__via_is_ours(const proxy_cfg_t *cfg, const sip_via_t *v);

/* Result of §16.4 route preprocessing on one request. */
typedef struct {
    unsigned nroutes;            /* Route values found (<= PROXY__MAX_ROUTES) */
    fedge_str_t values[PROXY__MAX_ROUTES];
    unsigned hdr_of[PROXY__MAX_ROUTES]; /* header index of each value */
    sip_nameaddr_t na[PROXY__MAX_ROUTES];
    unsigned first_kept;         /* values [0, first_kept) are ours: popped */
    bool strict;                 /* R-URI was ours: replaced by the last value */
    unsigned end_kept;           /* values [first_kept, end_kept) stay */
    proxy_side_t popped_side;
    const sip_uri_t *ruri;       /* effective Request-URI */
    fedge_str_t ruri_str;
    const sip_uri_t *next_route; /* first kept value, or NULL */
} proxy__routes_t;

/* Parses the Route set of m and applies §16.4: strict-router Request-URI
 * restore, then pops the edge's own entries from the top. Returns 0, or
 * FEDGE_ESIP_ROUTE / FEDGE_ESIP_URI / FEDGE_ELIMIT (too many values). */
int proxy__routes_prep(const proxy_cfg_t *cfg, sip_msg_t *m, proxy__routes_t *r);

/* ------------------------------------------------------------------ */
/* Outbound target selection (outbound.c)                              */
/* ------------------------------------------------------------------ */

/* How an outbound request's targets are found. */
typedef enum {
    PROXY__OUT_SRV = 0,  /* federation: SRV _sipfederationtls._tcp.<domain>,
                            no A/AAAA fallback; certificate: PARTNER */
    PROXY__OUT_FQDN = 1, /* host:port (0: 5061) by A/AAAA; certificate:
                            names expect_peer (or host) */
    PROXY__OUT_HOP = 2,  /* internal next hop by name: SRV _sips._tcp (tls)
                            or _sip._tcp (tcp), then A/AAAA at 5061/5060 */
} proxy__out_kind_t;

/* One candidate: a target host, one of its addresses, the port. */
typedef struct {
    char host[PROXY_HOST_MAX];
    char addr[48];
    uint16_t port;
    bool multi;       /* the host has several addresses (named in notes) */
    bool no_address;  /* the address look-up failed: addr is the reason */
} proxy__cand_t;

/* How long (in T1) a DNS target gets to send any response while other
 * targets are left: 16 x 500 ms = 8 s, then the next one is tried. */
#define PROXY__ATTEMPT_T1 16u

/* Most candidates kept for one request (targets x addresses). */
#define PROXY__OUT_MAX_CANDS 128

/* One resolved target as kept for the route cache: SRV fields and up to
 * PROXY__RT_ADDRS addresses (or why it has none). */
#define PROXY__RT_ADDRS 4
typedef struct {
    char host[PROXY_HOST_MAX];
    uint16_t port, priority, weight;
    bool ok;
    char why[24];
    unsigned naddrs;
    char addrs[PROXY__RT_ADDRS][48];
} proxy__rtarget_t;

/* The outbound state of one request: its route, the resolved candidates
 * in order, the one in use and the record of what failed and why. */
typedef struct proxy__out {
    proxy__out_kind_t kind;
    bool tls;
    char domain[PROXY_HOST_MAX]; /* D, or the next hop's name */
    char host[PROXY_HOST_MAX];   /* FQDN: the server */
    uint16_t port;
    char expect_peer[PROXY_HOST_MAX];
    int state; /* 0 not resolved, 1 resolving, 2 resolved */
    dns_req_t *req;
    void (*done)(void *arg);
    void *arg;
    char dns_fail[640]; /* resolution failed: why ("" when it did not) */
    proxy__rtarget_t *rt; /* the targets as resolved, in the order used */
    size_t nrt;
    uint32_t ttl;         /* seconds the resolution stays valid */
    proxy__cand_t *cands;
    size_t ncands, next;
    const proxy__cand_t *cur; /* being tried */
    proxy_expect_t expect;    /* what cur's certificate must name */
    char notes[1024];         /* "host:port why; ..." */
    size_t notes_len;
    unsigned ndropped;        /* notes that did not fit */
} proxy__out_t;

/* A new outbound state (free with proxy__out_free). domain: D for SRV, the
 * next hop's name for HOP, and for FQDN the domain for messages; host/port
 * for FQDN; expect_peer "" or NULL for the kind's rule. */
proxy__out_t *proxy__out_new(proxy__out_kind_t kind, bool tls, const char *domain,
                             const char *host, uint16_t port, const char *expect_peer);

/* Cancels a look-up in flight and frees ob (NULL: no-op). */
void proxy__out_free(proxy__out_t *ob);

/* Cancels a look-up in flight (done will not be called). */
void proxy__out_cancel(proxy__out_t *ob);

/* Starts resolving ob's targets with dns; done(arg) is called from the
 * loop when they are known (ob->state 2, ob->dns_fail set on failure).
 * Returns 0, or a negative code (ob->state 2 with dns_fail set: nothing
 * will be called). dns NULL fails with "no resolver". */
int proxy__out_resolve(proxy__out_t *ob, dns_t *dns, void (*done)(void *arg), void *arg);

/* Sets ob's candidates from a route result (what proxy__out_resolve does
 * on its answer; exposed for tests). */
void proxy__out_set_route(proxy__out_t *ob, const dns_route_result_t *res);

/* Route cache: resolved targets by route (kind, domain, host, port), kept
 * for their DNS TTL, so that the hot path does no DNS work at all (not
 * even an asynchronous cache hit); each hit is a fresh RFC 2782 draw.
 * Direct-mapped (a colliding route replaces the older one). */
#define PROXY__RCACHE_SLOTS 1024
typedef struct {
    char key[PROXY_HOST_MAX * 2 + 16];
    uint64_t until;
    proxy__rtarget_t *t;
    size_t n;
} proxy__rcache_ent_t;

typedef struct {
    proxy__rcache_ent_t *slot; /* PROXY__RCACHE_SLOTS, allocated on first use */
    uint64_t rng;
    uint64_t hits, misses;
} proxy__rcache_t;

/* Remembers ob's resolution (when it succeeded and has a TTL; at most 5 s
 * when a target had no address) at now. */
void proxy__rcache_put(proxy__rcache_t *c, const proxy__out_t *ob, uint64_t now);
/* When ob's route is cached and fresh at now, gives ob its candidates (a
 * new weighted draw), sets ob->state 2 and returns true. */
bool proxy__rcache_get(proxy__rcache_t *c, proxy__out_t *ob, uint64_t now);
void proxy__rcache_free(proxy__rcache_t *c);

/* Failed-target memory: a target that failed is left out of routing for a
 * while. Keyed by "host:port/addr". */
typedef struct {
    char key[PROXY_HOST_MAX + 64];
    uint64_t since, until;
    char why[160];
} proxy__skip_ent_t;

typedef struct {
    proxy__skip_ent_t *e;
    size_t n, cap;
} proxy__skip_t;

#define PROXY__SKIP_MAX 4096

/* Remembers key as failed at now for ms (0: not at all) with why. When
 * full, the entry that ends first is replaced. */
void proxy__skip_add(proxy__skip_t *s, const char *key, uint64_t now, unsigned ms,
                     const char *why);
/* The live entry for key at now, or NULL (expired entries are dropped). */
const proxy__skip_ent_t *proxy__skip_find(proxy__skip_t *s, const char *key, uint64_t now);
void proxy__skip_free(proxy__skip_t *s);

/* Writes the skip key of c into out. */
void proxy__cand_key(const proxy__cand_t *c, char *out, size_t cap);

/* The next candidate to try, skipping (and noting) those in the skip
 * table; fills ob->expect for it and sets ob->cur. NULL when none is
 * left (ob->cur NULL). */
const proxy__cand_t *proxy__out_next(proxy__out_t *ob, proxy__skip_t *s, uint64_t now);

/* Records that ob->cur failed (why) in the notes and in the skip table
 * for skip_ms. */
void proxy__out_fail(proxy__out_t *ob, proxy__skip_t *s, uint64_t now, unsigned skip_ms,
                     const char *why);

/* Appends "host:port why" (or "host:port (addr) why") to the notes. */
void proxy__out_note(proxy__out_t *ob, const proxy__cand_t *c, const char *why);

/* The Warning text when every target failed: "no usable edge for D: " and
 * the notes (or why resolution failed), cut with "; ..." to fit cap. */
void proxy__out_warning(const proxy__out_t *ob, char *out, size_t cap);

#endif
