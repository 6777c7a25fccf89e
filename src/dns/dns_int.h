/* dns_int.h — internals shared by the files of src/dns/: the wire-format
 * answer parser and name normalization (pure, no I/O). */
#ifndef FEDGE_DNS_INT_H
#define FEDGE_DNS_INT_H

#include "dns/dns.h"

enum {
    DNS__T_A = 1,
    DNS__T_NS = 2,
    DNS__T_CNAME = 5,
    DNS__T_SOA = 6,
    DNS__T_AAAA = 28,
    DNS__T_SRV = 33,
};

/* Records kept from one answer; more are ignored. */
#define DNS__MAX_RECORDS 256

/* A parsed answer. srv targets are owned (fedge_malloc'd strings). */
typedef struct {
    dns_status_t status; /* DNS_OK, NXDOMAIN, NODATA, NOSERVICE or SERVFAIL */
    bool has_soa;
    uint32_t neg_ttl; /* min(SOA TTL, SOA MINIMUM) when has_soa */
    uint32_t min_ttl; /* smallest TTL of the kept records */
    size_t n;
    dns_srv_t *srv;    /* qtype SRV */
    dns_addr_t *addrs; /* qtype A / AAAA */
    char detail[128];
} dns__answer_t;

/* Parses a DNS response for (qname, qtype) into out, following CNAMEs from
 * qname within the answer section. Malformed messages give 0 with status
 * DNS_SERVFAIL and a detail; records with unusable names are skipped.
 * Always returns 0; free with dns__answer_free. */
int dns__parse_answer(const uint8_t *buf, size_t len, const char *qname, int qtype,
                      dns__answer_t *out);
void dns__answer_free(dns__answer_t *a);

/* Copies name lower-cased, without one trailing dot, into out (room for
 * DNS_NAME_MAX + 1). Returns 0 or FEDGE_EINVAL when it is not a host/service
 * name (labels of 1..63 of [a-z0-9_-], at most 253 characters). */
int dns__name_normalize(const char *name, char *out);

#endif
