/* sip_test.h — small helpers shared by the SIP unit tests (static, header
 * only, so that no helper object is linked into every unit test). */
#ifndef FEDGE_SIP_TEST_H
#define FEDGE_SIP_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sip/sip.h"

/* sip_msg_t is large: keep it off the stack */
static sip_msg_t g_m;

static inline int parse_str(const char *s)
{
    return sip_parse(s, strlen(s), NULL, &g_m);
}

static inline int parse_lim(const char *s, const sip_limits_t *l)
{
    return sip_parse(s, strlen(s), l, &g_m);
}

/* NUL-terminated copy of a slice for assert_string_equal. */
static inline const char *cstr(fedge_str_t a)
{
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ & 3];
    size_t n = a.len < 4095 ? a.len : 4095;
    if (n)
        memcpy(b, a.s, n);
    b[n] = 0;
    return b;
}

#define assert_slice(a, lit) assert_string_equal(cstr(a), (lit))

/* A minimal valid request with extra header lines (each ending in CRLF)
 * inserted before Content-Length. */
#define REQ_HEAD(method, ruri)                                                                     \
    method " " ruri " SIP/2.0\r\n"                                                                 \
           "Via: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bK1\r\n"                               \
           "Max-Forwards: 70\r\n"                                                                  \
           "From: Alice <sip:alice@example.com>;tag=f1\r\n"                                        \
           "To: Bob <sip:bob@example.org>\r\n"                                                     \
           "Call-ID: c1@example.com\r\n"                                                           \
           "CSeq: 1 " method "\r\n"
#define REQ(extra) REQ_HEAD("OPTIONS", "sip:bob@example.org") extra "Content-Length: 0\r\n\r\n"

#endif
