/* fuzz_sip_parse.c — libFuzzer harness for the whole SIP message core on
 * one input: stream framing (whole and in small chunks, which must agree),
 * sip_parse with default and tiny limits, sip_msg_check, every typed
 * accessor, iteration over Via/Route/Record-Route/Contact, sip_print with
 * and without edits, and sip_build_response. Aborts on a broken invariant
 * (verbatim print, re-parse of what fedge itself prints). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct {
    int kind;
    size_t len;
} unit_t;

/* Frames data as a stream in chunks of `chunk` bytes (0: whole), consuming
 * units from the front. Records up to max units; returns how many, with the
 * final status (NEED_MORE or an error) in *end. */
static size_t frame(const char *data, size_t size, size_t chunk, unit_t *u, size_t max, int *end)
{
    sip_framer_t f;
    sip_framer_init(&f, 65536);
    size_t have = 0, start = 0, n = 0;
    *end = SIP_FRAME_NEED_MORE;
    while (have < size) {
        size_t add = chunk ? chunk : size;
        have += add > size - have ? size - have : add;
        for (;;) {
            size_t ul = 0;
            int r = sip_framer_next(&f, data + start, have - start, &ul);
            if (r < 0) {
                *end = r;
                return n;
            }
            if (r == SIP_FRAME_NEED_MORE)
                break;
            CHECK(ul > 0 && ul <= have - start);
            if (n < max)
                u[n] = (unit_t){r, ul};
            n++;
            start += ul;
        }
    }
    return n;
}

static void touch_via(const sip_via_t *v)
{
    volatile size_t sink =
        v->host.len + v->branch.len + v->received.len + v->transport.len + v->port;
    (void)sink;
}

static void touch_nameaddr(const sip_nameaddr_t *n)
{
    volatile size_t sink =
        n->display.len + n->uri_str.len + n->tag.len + n->uri.host.len + n->uri.port;
    (void)sink;
}

/* Everything a proxy would read from a parsed message. */
static void access_all(sip_msg_t *m)
{
    const sip_uri_t *u;
    const sip_via_t *v;
    const sip_nameaddr_t *na;
    const sip_cseq_t *cs;
    fedge_str_t s;
    int i;
    long long ll;
    (void)sip_msg_check(m);
    for (int round = 0; round < 2; round++) { /* the second round hits the caches */
        if (!sip_msg_ruri(m, &u)) {
            fedge_str_t val;
            (void)sip_param_get(u->params, "transport", &val);
            CHECK(sip_uri_equal(u, u) || u->scheme == SIP_URI_OTHER || u->scheme == SIP_URI_TEL);
        }
        if (!sip_msg_via(m, &v))
            touch_via(v);
        if (!sip_msg_from(m, &na))
            touch_nameaddr(na);
        if (!sip_msg_to(m, &na))
            touch_nameaddr(na);
        if (!sip_msg_contact(m, &na))
            touch_nameaddr(na);
        (void)sip_msg_cseq(m, &cs);
        (void)sip_msg_call_id(m, &s);
        (void)sip_msg_max_forwards(m, &i);
        (void)sip_msg_expires(m, &ll);
    }
    static const sip_hdr_id_t ids[] = {SIP_HDR_VIA,     SIP_HDR_ROUTE,     SIP_HDR_RECORD_ROUTE,
                                       SIP_HDR_CONTACT, SIP_HDR_SUPPORTED, SIP_HDR_REQUIRE};
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        sip_iter_t it;
        fedge_str_t val;
        sip_iter_init(&it, m, ids[k]);
        while (sip_iter_next(&it, &val, NULL) == 1)
            CHECK(val.len > 0);
        sip_iter_init(&it, m, ids[k]);
        if (ids[k] == SIP_HDR_VIA) {
            sip_via_t via;
            while (sip_iter_via(&it, &via, NULL) == 1)
                touch_via(&via);
        } else {
            sip_nameaddr_t n;
            while (sip_iter_nameaddr(&it, &n, NULL) == 1)
                touch_nameaddr(&n);
        }
    }
    for (unsigned h = 0; h < m->nhdrs; h++) {
        fedge_str_t vals[8];
        (void)sip_split_values(m->hdrs[h].value, vals, 8);
        CHECK(sip_hdr_id(m->hdrs[h].name.s, m->hdrs[h].name.len) == m->hdrs[h].id);
    }
    (void)sip_msg_find_name(m, "content-type");
    (void)sip_msg_find_name(m, "v");
}

static char out[140000];

static void print_all(sip_msg_t *m, sip_msg_t *m2)
{
    size_t len;
    /* No edits: the message comes back byte for byte and re-parses. */
    CHECK(sip_print(m, NULL, NULL, 0, out, sizeof(out), &len) == 0);
    CHECK(len == m->len && !memcmp(out, m->buf, len));
    static sip_limits_t roomy;
    sip_limits_default(&roomy);
    roomy.max_headers = SIP_MAX_HEADERS_CAP;
    roomy.max_vias = 1000;
    roomy.max_message_size = sizeof(out);
    CHECK(sip_parse(out, len, &roomy, m2) == 0);
    CHECK(m2->nhdrs == m->nhdrs);

    /* Proxy edits. */
    sip_edit_t e[8];
    unsigned n = 0;
    const char *pv = "Via: SIP/2.0/TLS edge.fedge.test:5061;branch=z9hG4bKfuzz";
    const char *rr = "Record-Route: <sip:edge.fedge.test;lr>";
    const char *add = "X-Fuzz: 1";
    int via = m->first[SIP_HDR_VIA], route = m->first[SIP_HDR_ROUTE],
        mf = m->first[SIP_HDR_MAX_FORWARDS];
    if (via >= 0) {
        e[n++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, (unsigned)via, {pv, strlen(pv)}};
        e[n++] = (sip_edit_t){SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)via, {NULL, 0}};
    }
    if (route >= 0)
        e[n++] = (sip_edit_t){SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)route, {NULL, 0}};
    if (mf >= 0)
        e[n++] = (sip_edit_t){SIP_EDIT_REPLACE_VALUE, (unsigned)mf, {"69", 2}};
    e[n++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, 0, {rr, strlen(rr)}};
    e[n++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, m->nhdrs, {add, strlen(add)}};
    if (m->nhdrs > 1)
        e[n++] = (sip_edit_t){SIP_EDIT_DELETE, m->nhdrs - 1, {NULL, 0}};
    for (unsigned k = 1; k <= n; k++)
        if (sip_print(m, NULL, e + n - k, k, out, sizeof(out), &len) == 0)
            (void)sip_parse(out, len, &roomy, m2);
    /* Too small a buffer is an error, never an overflow. */
    (void)sip_print(m, NULL, e, n, out, m->len / 2, &len);
    fedge_str_t sl = FEDGE_STR_LIT("OPTIONS sip:fuzz@edge.fedge.test SIP/2.0");
    (void)sip_print(m, &sl, e, n, out, sizeof(out), &len);

    /* A response fedge builds must parse and pass the check. */
    if (m->is_request && sip_msg_check(m) == 0 &&
        sip_build_response(m, 403, "Forbidden", "fedge1", "Warning: 399 edge \"fuzz\"\r\n", out,
                           sizeof(out), &len) == 0) {
        CHECK(sip_parse(out, len, &roomy, m2) == 0);
        CHECK(!m2->is_request && m2->status == 403);
        const sip_nameaddr_t *to;
        CHECK(sip_msg_to(m2, &to) == 0);
    }
    (void)sip_build_response(m, 100, NULL, NULL, NULL, out, 64, &len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sip_msg_t m, m2;
    const char *d = (const char *)data;

    /* Stream framing: whole and in small chunks must give the same units. */
    unit_t u1[64], u2[64];
    int end1, end2;
    size_t n1 = frame(d, size, 0, u1, 64, &end1);
    size_t chunk = size ? 1 + data[0] % 5 : 1;
    size_t n2 = frame(d, size, chunk, u2, 64, &end2);
    CHECK(n1 == n2);
    for (size_t i = 0; i < n1 && i < 64; i++)
        CHECK(u1[i].kind == u2[i].kind && u1[i].len == u2[i].len);
    CHECK((end1 < 0) == (end2 < 0));

    /* Each framed message parses (or not) on its own. */
    size_t off = 0;
    for (size_t i = 0; i < n1 && i < 64; i++) {
        if (u1[i].kind == SIP_FRAME_MESSAGE && sip_parse(d + off, u1[i].len, NULL, &m) == 0) {
            CHECK(m.len == u1[i].len);
            access_all(&m);
        }
        off += u1[i].len;
    }

    /* The input as a datagram, with default and with tiny limits. */
    if (sip_parse(d, size, NULL, &m) == 0) {
        access_all(&m);
        print_all(&m, &m2);
    }
    sip_limits_t tiny = {512, 6, 80, 40, 2};
    if (sip_parse(d, size, &tiny, &m) == 0)
        access_all(&m);
    return 0;
}
