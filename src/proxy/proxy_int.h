/* proxy_int.h — internals shared by the files of src/proxy/ (not public). */
#ifndef FEDGE_PROXY_INT_H
#define FEDGE_PROXY_INT_H

#include "proxy/proxy.h"

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

#endif
