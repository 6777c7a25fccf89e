/* test_split.c — stream framing: every valid torture message, made a stream
 * unit (Content-Length added when absent), must come out of the framer as
 * the same unit whether its bytes arrive whole, split at any offset, one at
 * a time, or back to back with CRLF pings and pongs between; hostile
 * streams (Content-Length tricks, TLS/HTTP bytes, oversize) must end in a
 * framing error, never in a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip_testdata.h"

#define MAX_SIZE 65536

static td_cases_t cases;

typedef struct {
    char *b;
    size_t len;
} unit_t;

static unit_t *units; /* the stream form of each valid case */

/* The stream form of a case: only the message (no trailing datagram
 * bytes), with "Content-Length: N" added before the empty line when the
 * message has none. */
static unit_t make_unit(const td_case_t *c)
{
    sip_msg_t *m = fedge_calloc(1, sizeof(*m));
    unit_t u = {NULL, 0};
    if (sip_parse(c->data, c->len, NULL, m)) {
        free(m);
        return u;
    }
    size_t end = td_msg_end(m);
    if (m->content_length >= 0) {
        u.b = fedge_malloc(end);
        memcpy(u.b, c->data, end);
        u.len = end;
    } else {
        const char *hend = memmem(c->data, end, "\r\n\r\n", 4);
        assert_non_null(hend);
        size_t at = (size_t)(hend - c->data) + 2;
        char cl[40];
        int n = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", m->body.len);
        u.len = end + (size_t)n;
        u.b = fedge_malloc(u.len);
        memcpy(u.b, c->data, at);
        memcpy(u.b + at, cl, (size_t)n);
        memcpy(u.b + at + n, c->data + at, end - at);
    }
    free(m);
    return u;
}

/* Every stream unit still parses, now with its Content-Length. */
static void stream_units_parse(void **state)
{
    (void)state;
    sip_msg_t *m = fedge_malloc(sizeof(*m));
    for (size_t i = 0; i < cases.n; i++) {
        if (!units[i].b)
            fail_msg("%s: does not parse (see test_torture)", cases.v[i].name);
        if (sip_parse(units[i].b, units[i].len, NULL, m))
            fail_msg("%s: stream form does not parse", cases.v[i].name);
        assert_int_equal(m->content_length, (long long)m->body.len);
        assert_int_equal(m->len, units[i].len);
    }
    free(m);
}

/* Whole, and split in two at every offset: NEED_MORE before, then exactly
 * the message. The buffer passed is an exact-size copy so that ASan sees
 * any read beyond the bytes given. */
static void split_every_offset(void **state)
{
    const size_t i = (size_t)(uintptr_t)*state;
    const unit_t *u = &units[i];
    assert_non_null(u->b);
    for (size_t k = 0; k <= u->len; k++) {
        sip_framer_t f;
        size_t ul = 0;
        sip_framer_init(&f, MAX_SIZE);
        if (k > 0 && k < u->len) {
            char *part = fedge_malloc(k);
            memcpy(part, u->b, k);
            int r = sip_framer_next(&f, part, k, &ul);
            free(part);
            if (r != SIP_FRAME_NEED_MORE)
                fail_msg("%s: first %zu of %zu bytes gave %d (%s), want NEED_MORE", cases.v[i].name,
                         k, u->len, r, r < 0 ? fedge_strerror(r) : "unit");
        }
        char *all = fedge_malloc(u->len);
        memcpy(all, u->b, u->len);
        int r = sip_framer_next(&f, all, u->len, &ul);
        free(all);
        if (r != SIP_FRAME_MESSAGE || ul != u->len)
            fail_msg("%s: split at %zu gave %d (%s) len %zu, want MESSAGE len %zu", cases.v[i].name,
                     k, r, r < 0 ? fedge_strerror(r) : "unit", ul, u->len);
    }
}

/* A recorded framer output. */
typedef struct {
    int kind;
    size_t len;
} out_t;

typedef struct {
    out_t *v;
    size_t n;
} outs_t;

/* Feeds stream[0..len) in chunks of `chunk` bytes (0: all at once) to one
 * framer, consuming units from the front as a connection would. Returns 0,
 * or the framing error that stopped it (units before it are recorded). */
static int feed(const char *stream, size_t len, size_t chunk, outs_t *o)
{
    sip_framer_t f;
    sip_framer_init(&f, MAX_SIZE);
    char *buf = fedge_malloc(len ? len : 1);
    size_t have = 0, start = 0;
    o->n = 0;
    int rc = 0;
    while (have < len) {
        size_t add = chunk ? chunk : len;
        if (add > len - have)
            add = len - have;
        memcpy(buf + have, stream + have, add);
        have += add;
        for (;;) {
            size_t ul = 0;
            /* exact-size view: a copy of the unconsumed bytes */
            size_t n = have - start;
            char *view = fedge_malloc(n ? n : 1);
            memcpy(view, buf + start, n);
            int r = sip_framer_next(&f, view, n, &ul);
            free(view);
            if (r < 0) {
                rc = r;
                goto out;
            }
            if (r == SIP_FRAME_NEED_MORE)
                break;
            assert_true(ul > 0 && ul <= n);
            o->v = fedge_realloc(o->v, (o->n + 1) * sizeof(*o->v));
            o->v[o->n++] = (out_t){r, ul};
            start += ul;
        }
    }
out:
    free(buf);
    return rc;
}

/* All valid messages back to back, with a CRLFCRLF ping before every third
 * one and a lone CRLF before the next: the expected units are known. */
static void back_to_back(void **state)
{
    (void)state;
    size_t cap = 0, len = 0;
    char *s = NULL;
    out_t *want = fedge_malloc(sizeof(*want) * cases.n * 2);
    size_t nwant = 0;
    for (size_t i = 0; i < cases.n; i++) {
        const char *sep = i % 3 == 0 ? "\r\n\r\n" : i % 3 == 1 ? "\r\n" : "";
        size_t sl = strlen(sep);
        if (len + sl + units[i].len > cap) {
            cap = (len + sl + units[i].len) * 2;
            s = fedge_realloc(s, cap);
        }
        memcpy(s + len, sep, sl);
        len += sl;
        if (sl)
            want[nwant++] = (out_t){sl == 4 ? SIP_FRAME_PING : SIP_FRAME_PONG, sl};
        memcpy(s + len, units[i].b, units[i].len);
        len += units[i].len;
        want[nwant++] = (out_t){SIP_FRAME_MESSAGE, units[i].len};
    }
    static const size_t chunks[] = {0, 1, 2, 3, 7, 64, 1000, 1460, 4096};
    outs_t got = {NULL, 0};
    for (size_t c = 0; c < FEDGE_ARRAY_LEN(chunks); c++) {
        int rc = feed(s, len, chunks[c], &got);
        if (rc)
            fail_msg("chunk %zu: framing error %s after %zu units", chunks[c], fedge_strerror(rc),
                     got.n);
        if (got.n != nwant)
            fail_msg("chunk %zu: %zu units, want %zu", chunks[c], got.n, nwant);
        for (size_t k = 0; k < nwant; k++)
            if (got.v[k].kind != want[k].kind || got.v[k].len != want[k].len)
                fail_msg("chunk %zu: unit %zu is kind %d len %zu, want kind %d len %zu", chunks[c],
                         k, got.v[k].kind, got.v[k].len, want[k].kind, want[k].len);
    }
    free(got.v);
    free(want);
    free(s);
}

/* CRLF keep-alives on their own (RFC 5626 §3.5.1). */
static void crlf_keepalives(void **state)
{
    (void)state;
    sip_framer_t f;
    size_t ul = 0;
    sip_framer_init(&f, MAX_SIZE);
    assert_int_equal(sip_framer_next(&f, "\r", 1, &ul), SIP_FRAME_NEED_MORE);
    assert_int_equal(sip_framer_next(&f, "\r\n", 2, &ul), SIP_FRAME_NEED_MORE);
    assert_int_equal(sip_framer_next(&f, "\r\n\r", 3, &ul), SIP_FRAME_NEED_MORE);
    assert_int_equal(sip_framer_next(&f, "\r\n\r\n", 4, &ul), SIP_FRAME_PING);
    assert_int_equal(ul, 4);
    sip_framer_init(&f, MAX_SIZE);
    assert_int_equal(sip_framer_next(&f, "\r\nO", 3, &ul), SIP_FRAME_PONG);
    assert_int_equal(ul, 2);
    sip_framer_init(&f, MAX_SIZE);
    assert_int_equal(sip_framer_next(&f, "", 0, &ul), SIP_FRAME_NEED_MORE);
}

/* Hostile streams: each must stop with a framing error (one of `want`),
 * fed whole and byte by byte, and never yield a MESSAGE before it. */
typedef struct {
    const char *name;
    const char *bytes; /* NULL: built by the test */
    size_t len;
    int want[3];
} hostile_t;

#define REQ_HEAD                                                                                   \
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0\r\n"                                               \
    "Via: SIP/2.0/TLS edge.atlanta.example.com;branch=z9hG4bKhx\r\n"                               \
    "Max-Forwards: 70\r\nTo: <sip:bob@biloxi.example.com>\r\n"                                     \
    "From: <sip:alice@atlanta.example.com>;tag=hx\r\nCall-ID: hostile@atlanta.example.com\r\n"     \
    "CSeq: 1 MESSAGE\r\n"
#define H(name, text, ...)                                                                         \
    {                                                                                              \
        name, text, sizeof(text) - 1,                                                              \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

static const char client_hello[] = "\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03"
                                   "0123456789abcdef0123456789abcdef\x00\x00\x02\xc0\x2f\x01\x00";

static const hostile_t hostile[] = {
    H("clen 2^32", REQ_HEAD "Content-Length: 4294967296\r\n\r\n", FEDGE_ESIP_BAD_CLEN,
      FEDGE_ESIP_TOO_BIG),
    H("clen 2^64+4", REQ_HEAD "Content-Length: 18446744073709551620\r\n\r\nabcd",
      FEDGE_ESIP_BAD_CLEN, FEDGE_ESIP_TOO_BIG),
    H("clen negative", REQ_HEAD "Content-Length: -1\r\n\r\n", FEDGE_ESIP_BAD_CLEN),
    H("clen junk", REQ_HEAD "Content-Length: 4x\r\n\r\nabcd", FEDGE_ESIP_BAD_CLEN),
    H("clen empty", REQ_HEAD "Content-Length:\r\n\r\n", FEDGE_ESIP_BAD_CLEN),
    H("clen twice", REQ_HEAD "Content-Length: 0\r\nContent-Length: 4\r\n\r\nabcd",
      FEDGE_ESIP_CLEN_MISMATCH),
    H("clen compact", REQ_HEAD "l: 4\r\nContent-Length: 0\r\n\r\nabcd", FEDGE_ESIP_CLEN_MISMATCH),
    H("clen space-colon", REQ_HEAD "Content-Length : 0\r\ncontent-length: 4\r\n\r\nabcd",
      FEDGE_ESIP_CLEN_MISMATCH),
    H("clen folded", REQ_HEAD "Content-Length:\r\n 0\r\nl: 4\r\n\r\nabcd",
      FEDGE_ESIP_CLEN_MISMATCH),
    H("no clen", REQ_HEAD "\r\nabcd", FEDGE_ESIP_NO_CLEN),
    H("clen too big", REQ_HEAD "Content-Length: 100000\r\n\r\n", FEDGE_ESIP_TOO_BIG),
    H("http get", "GET / HTTP/1.1\r\nHost: edge.contoso.test\r\n\r\n", FEDGE_ESIP_GARBAGE),
    H("http response", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", FEDGE_ESIP_GARBAGE),
    {"tls clienthello", client_hello, sizeof(client_hello) - 1, {FEDGE_ESIP_GARBAGE}},
    H("nul first", "\0INVITE sip:a@b SIP/2.0\r\n\r\n", FEDGE_ESIP_GARBAGE),
    H("control in start line", "INVITE sip:a@b\x01 SIP/2.0\r\nContent-Length: 0\r\n\r\n",
      FEDGE_ESIP_GARBAGE),
    {"header block 70k", NULL, 0, {FEDGE_ESIP_TOO_BIG}},
    {"message 65537", NULL, 0, {FEDGE_ESIP_TOO_BIG}},
};

static char *build_hostile(const hostile_t *h, size_t *len)
{
    if (h->bytes) {
        *len = h->len;
        char *b = fedge_malloc(h->len + 1);
        memcpy(b, h->bytes, h->len);
        return b;
    }
    if (!strcmp(h->name, "header block 70k")) {
        /* headers that never end: the framer must give up at max size */
        size_t n = 70 * 1024;
        char *b = fedge_malloc(n);
        size_t o = (size_t)sprintf(b, "%s", REQ_HEAD);
        while (o + 20 < n)
            o += (size_t)sprintf(b + o, "X-Pad: %010zu\r\n", o);
        *len = o;
        return b;
    }
    /* a message of max size + 1 */
    size_t n = MAX_SIZE + 1;
    char *b = fedge_malloc(n);
    char head[512];
    int hl = snprintf(head, sizeof(head), REQ_HEAD "Content-Length: %05d\r\n\r\n", 0);
    size_t body = n - (size_t)hl;
    hl = snprintf(head, sizeof(head), REQ_HEAD "Content-Length: %05zu\r\n\r\n", body);
    memcpy(b, head, (size_t)hl);
    memset(b + hl, 'x', body);
    *len = n;
    return b;
}

static void hostile_streams(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(hostile); i++) {
        const hostile_t *h = &hostile[i];
        size_t len;
        char *b = build_hostile(h, &len);
        static const size_t chunks[] = {0, 1};
        for (size_t c = 0; c < 2; c++) {
            outs_t got = {NULL, 0};
            int rc = feed(b, len, chunks[c], &got);
            bool ok = rc < 0 && fedge_is_framing_error(rc) &&
                      (rc == h->want[0] || rc == h->want[1] || rc == h->want[2]);
            for (size_t k = 0; k < got.n; k++)
                if (got.v[k].kind == SIP_FRAME_MESSAGE)
                    ok = false;
            if (!ok) {
                print_error("%s (chunk %zu): got %s after %zu units, want %s\n", h->name, chunks[c],
                            rc ? fedge_strerror(rc) : "no error", got.n,
                            fedge_strerror(h->want[0]));
                failures++;
            }
            free(got.v);
        }
        free(b);
    }
    if (failures)
        fail_msg("%d hostile stream(s) not refused as expected", failures);
}

/* The boundary: a message of exactly max size is a message. */
static void exactly_max_size(void **state)
{
    (void)state;
    char *b = fedge_malloc(MAX_SIZE);
    char head[512];
    int hl = snprintf(head, sizeof(head), REQ_HEAD "Content-Length: %05d\r\n\r\n", 0);
    size_t body = MAX_SIZE - (size_t)hl;
    hl = snprintf(head, sizeof(head), REQ_HEAD "Content-Length: %05zu\r\n\r\n", body);
    memcpy(b, head, (size_t)hl);
    memset(b + hl, 'x', body);
    sip_framer_t f;
    size_t ul = 0;
    sip_framer_init(&f, MAX_SIZE);
    assert_int_equal(sip_framer_next(&f, b, MAX_SIZE, &ul), SIP_FRAME_MESSAGE);
    assert_int_equal(ul, MAX_SIZE);
    sip_msg_t *m = fedge_malloc(sizeof(*m));
    assert_int_equal(sip_parse(b, ul, NULL, m), 0);
    assert_int_equal(m->body.len, body);
    free(m);
    free(b);
}

int main(void)
{
    if (td_load(&cases, "valid") < 0) {
        fprintf(
            stderr,
            "test_split: tests/data/sip not found (run from the repo root or set FEDGE_ROOT)\n");
        return 1;
    }
    units = fedge_calloc(cases.n, sizeof(*units));
    for (size_t i = 0; i < cases.n; i++)
        units[i] = make_unit(&cases.v[i]);
    size_t nt = cases.n + 6;
    struct CMUnitTest *tests = fedge_calloc(nt, sizeof(*tests));
    char(*names)[340] = fedge_calloc(cases.n, sizeof(*names));
    size_t t = 0;
    tests[t++] = (struct CMUnitTest)cmocka_unit_test(stream_units_parse);
    tests[t++] = (struct CMUnitTest)cmocka_unit_test(crlf_keepalives);
    tests[t++] = (struct CMUnitTest)cmocka_unit_test(back_to_back);
    tests[t++] = (struct CMUnitTest)cmocka_unit_test(hostile_streams);
    tests[t++] = (struct CMUnitTest)cmocka_unit_test(exactly_max_size);
    for (size_t i = 0; i < cases.n; i++) {
        snprintf(names[i], sizeof(names[i]), "split %s", cases.v[i].name);
        tests[t].name = names[i];
        tests[t].test_func = split_every_offset;
        tests[t].initial_state = (void *)(uintptr_t)i;
        t++;
    }
    int rc = cases.n >= 50 ? _cmocka_run_group_tests("sip_split", tests, t, NULL, NULL) : 1;
    for (size_t i = 0; i < cases.n; i++)
        free(units[i].b);
    free(units);
    free(names);
    free(tests);
    td_free(&cases);
    return rc;
}
