/* fuzz_sip_uri.c — libFuzzer harness for URIs: the input is two URIs (split
 * at the first newline, else in the middle); both are parsed, compared
 * with sip_uri_equal (which must be reflexive and symmetric) and their
 * parameters looked up. */
#include <stdint.h>
#include <string.h>

#include "sip/sip.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static void params(const sip_uri_t *u)
{
    static const char *names[] = {"transport", "lr", "maddr", "user", "ttl", "method", "tag", ""};
    fedge_str_t v;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (sip_param_get(u->params, names[i], &v) == 1)
            CHECK(v.len <= u->params.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    const char *nl = memchr(d, '\n', size);
    size_t la = nl ? (size_t)(nl - d) : size / 2;
    size_t lb_off = nl ? la + 1 : la;
    sip_uri_t a, b;
    int ra = sip_uri_parse(d, la, &a);
    int rb = sip_uri_parse(d + lb_off, size - lb_off, &b);
    if (ra == 0) {
        params(&a);
        CHECK(sip_uri_equal(&a, &a));
        CHECK(a.raw.len == la);
    }
    if (rb == 0) {
        params(&b);
        CHECK(sip_uri_equal(&b, &b));
    }
    if (ra == 0 && rb == 0)
        CHECK(sip_uri_equal(&a, &b) == sip_uri_equal(&b, &a));
    /* The whole input as one URI, and as a name-addr / Via / CSeq value. */
    sip_uri_t w;
    if (sip_uri_parse(d, size, &w) == 0)
        params(&w);
    sip_nameaddr_t na;
    if (sip_nameaddr_parse(d, size, &na) == 0 && !na.star)
        CHECK(na.uri_str.len <= size);
    sip_via_t via;
    (void)sip_via_parse(d, size, &via);
    sip_cseq_t cs;
    if (sip_cseq_parse(d, size, &cs) == 0)
        CHECK(cs.seq < 0x80000000u);
    return 0;
}
