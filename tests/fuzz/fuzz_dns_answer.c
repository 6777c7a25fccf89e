/* fuzz_dns_answer.c — libFuzzer harness for the DNS answer walker of
 * src/dns/ (SRV, A, AAAA, CNAME chains, SOA) and RFC 2782 ordering on what it
 * returns. Aborts on a broken invariant: bounded record count, names of the
 * accepted alphabet and length, ordering a permutation of usable records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fuzz-rooms: dns (the Makefile links src/dns's instrumented archive; the
 * harness references only the pure wire-format parser, dns_msg.o). */
#include "dns/dns_int.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static uint32_t rng(void *ctx)
{
    uint64_t *s = ctx;
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 32);
}

/* The alphabet a normalized name may hold (RFC 1035 §2.3.1 letters, digits,
 * hyphen, plus '_' for SRV labels), written here again so that the harness
 * checks the parser against an independent statement. */
static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void name_ok(const char *n)
{
    size_t l = strlen(n);
    CHECK(l >= 1 && l <= DNS_NAME_MAX);
    if (!strcmp(n, "."))
        return;
    for (size_t i = 0; i < l; i++)
        CHECK(name_char_ok(n[i]) || n[i] == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int types[] = {DNS__T_SRV, DNS__T_A, DNS__T_AAAA};
    static const char *const names[] = {"_sipfederationtls._tcp.a.test", "edge.a.test", "a"};
    for (size_t t = 0; t < 3; t++) {
        for (size_t k = 0; k < 3; k++) {
            dns__answer_t a;
            CHECK(dns__parse_answer(data, size, names[k], types[t], &a) == 0);
            CHECK(a.status <= DNS_SERVFAIL && a.status != DNS_TIMEOUT);
            CHECK(a.n <= DNS__MAX_RECORDS);
            CHECK(a.status == DNS_OK || a.status == DNS_NOSERVICE || a.n == 0);
            CHECK(memchr(a.detail, '\0', sizeof a.detail) != NULL);
            if (types[t] == DNS__T_SRV && a.n) {
                size_t out[DNS__MAX_RECORDS];
                uint8_t seen[DNS__MAX_RECORDS] = {0};
                uint64_t seed = size;
                for (size_t i = 0; i < a.n; i++)
                    name_ok(a.srv[i].target);
                size_t m = dns_srv_order(a.srv, a.n, rng, &seed, out);
                CHECK(m <= a.n);
                for (size_t i = 0; i < m; i++) {
                    CHECK(out[i] < a.n && !seen[out[i]]);
                    seen[out[i]] = 1;
                    CHECK(strcmp(a.srv[out[i]].target, "."));
                    if (i)
                        CHECK(a.srv[out[i - 1]].priority <= a.srv[out[i]].priority);
                }
            }
            for (size_t i = 0; types[t] != DNS__T_SRV && i < a.n; i++)
                CHECK(a.addrs[i].family == (types[t] == DNS__T_A ? AF_INET : AF_INET6));
            dns__answer_free(&a);
        }
    }
    /* the same bytes as a name for the pure name helpers */
    char buf[300], norm[DNS_NAME_MAX + 1];
    size_t l = size < sizeof buf - 1 ? size : sizeof buf - 1;
    memcpy(buf, data, l);
    buf[l] = '\0';
    if (dns__name_normalize(buf, norm) == 0) {
        name_ok(norm);
        CHECK(dns_name_in_domain(norm, norm));
    }
    return 0;
}
