/* test_roundtrip.c — parse → sip_print → parse over every valid torture
 * message: without edits the bytes come back verbatim; with proxy edits
 * (push/pop Via, insert Record-Route, decrement Max-Forwards, pop Route,
 * add a header, new start line) the result re-parses to exactly the
 * header list the edits describe, with the body untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip_testdata.h"

static td_cases_t cases;

/* One header of an expected header list. */
typedef struct {
    fedge_str_t name, value;
} hv_t;

typedef struct {
    hv_t v[SIP_MAX_HEADERS_CAP + 16];
    unsigned n;
} hlist_t;

static void hl_from_msg(hlist_t *l, const sip_msg_t *m)
{
    l->n = m->nhdrs;
    for (unsigned i = 0; i < m->nhdrs; i++) {
        l->v[i].name = m->hdrs[i].name;
        l->v[i].value = m->hdrs[i].value;
    }
}

static void hl_insert(hlist_t *l, unsigned at, const char *name, const char *value)
{
    memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof(l->v[0]));
    l->v[at].name = (fedge_str_t){name, strlen(name)};
    l->v[at].value = (fedge_str_t){value, strlen(value)};
    l->n++;
}

static void hl_remove(hlist_t *l, unsigned at)
{
    memmove(&l->v[at], &l->v[at + 1], (l->n - at - 1) * sizeof(l->v[0]));
    l->n--;
}

static bool str_same(fedge_str_t a, fedge_str_t b)
{
    return a.len == b.len && (a.len == 0 || !memcmp(a.s, b.s, a.len));
}

static void assert_hlist(const char *what, const hlist_t *want, const sip_msg_t *m)
{
    if (want->n != m->nhdrs)
        fail_msg("%s: %u headers, want %u", what, m->nhdrs, want->n);
    for (unsigned i = 0; i < want->n; i++) {
        if (!str_same(want->v[i].name, m->hdrs[i].name) ||
            !str_same(want->v[i].value, m->hdrs[i].value))
            fail_msg("%s: header %u is '%.*s: %.*s', want '%.*s: %.*s'", what, i,
                     (int)m->hdrs[i].name.len, m->hdrs[i].name.s, (int)m->hdrs[i].value.len,
                     m->hdrs[i].value.s, (int)want->v[i].name.len, want->v[i].name.s,
                     (int)want->v[i].value.len, want->v[i].value.s);
    }
}

/* The header after DELETE_FIRST_VALUE: its remaining values verbatim, or
 * nothing (returns false) when it had one value. */
static bool pop_rest(const sip_hdr_t *h, fedge_str_t *rest)
{
    fedge_str_t vals[64];
    int n = sip_split_values(h->value, vals, 64);
    assert_true(n >= 1);
    if (n == 1)
        return false;
    rest->s = vals[1].s;
    rest->len = (size_t)(h->value.s + h->value.len - vals[1].s);
    return true;
}

typedef struct {
    sip_msg_t in, out;
    char *copy, *printed;
    size_t cap;
} rt_t;

/* Prints r->in with the edits, re-parses into r->out, checks the body. */
static void print_reparse(const char *name, rt_t *r, const fedge_str_t *sl, const sip_edit_t *e,
                          unsigned n)
{
    size_t len = 0;
    int rc = sip_print(&r->in, sl, e, n, r->printed, r->cap, &len);
    if (rc)
        fail_msg("%s: sip_print: %s", name, fedge_strerror(rc));
    /* Edits may add a header or a Via to a message already at the default
     * limits (valid/058, 059): re-parse with room for a few more. */
    static sip_limits_t roomy;
    sip_limits_default(&roomy);
    roomy.max_headers = roomy.max_headers + 8;
    roomy.max_vias = roomy.max_vias + 8;
    rc = sip_parse(r->printed, len, &roomy, &r->out);
    if (rc)
        fail_msg("%s: re-parse of the printed message: %s\n%.*s", name, fedge_strerror(rc),
                 (int)len, r->printed);
    assert_true(str_same(r->in.body, r->out.body));
    /* The printer never needs more than it wrote: one byte less fails. */
    if (len > 0) {
        size_t len2;
        assert_int_equal(sip_print(&r->in, sl, e, n, r->printed, len - 1, &len2), FEDGE_ENOSPC);
        assert_int_equal(sip_print(&r->in, sl, e, n, r->printed, r->cap, &len2), 0);
    }
}

static void rt_case(void **state)
{
    const td_case_t *c = *state;
    rt_t *r = fedge_calloc(1, sizeof(*r));
    r->copy = fedge_malloc(c->len + 1);
    memcpy(r->copy, c->data, c->len);
    r->cap = c->len + 4096;
    r->printed = fedge_malloc(r->cap);
    sip_msg_t *m = &r->in;
    if (sip_parse(r->copy, c->len, NULL, m))
        fail_msg("%s: does not parse (see test_torture)", c->name);
    hlist_t *want = fedge_malloc(sizeof(*want));

    /* 1. No edits: verbatim, same header list and body. */
    print_reparse(c->name, r, NULL, NULL, 0);
    size_t mlen = td_msg_end(m);
    assert_int_equal(r->out.len, mlen);
    assert_memory_equal(r->printed, m->buf, mlen);
    hl_from_msg(want, m);
    assert_hlist(c->name, want, &r->out);

    int via = m->first[SIP_HDR_VIA], rr = m->first[SIP_HDR_RECORD_ROUTE],
        route = m->first[SIP_HDR_ROUTE];
    int mfh = m->first[SIP_HDR_MAX_FORWARDS];
    sip_edit_t all[8];
    unsigned nall = 0;
    hlist_t *want_all = fedge_malloc(sizeof(*want_all));
    hl_from_msg(want_all, m);
    char mfbuf[16];

    /* 2. Push Via. */
    if (via >= 0) {
        const char *t = "Via: SIP/2.0/TLS edge.fedge.test:5061;branch=z9hG4bKfedgepush";
        sip_edit_t e = {SIP_EDIT_INSERT_BEFORE, (unsigned)via, {t, strlen(t)}};
        print_reparse(c->name, r, NULL, &e, 1);
        hl_from_msg(want, m);
        hl_insert(want, (unsigned)via, "Via", t + 5);
        assert_hlist("push Via", want, &r->out);
        const sip_via_t *top;
        assert_int_equal(sip_msg_via(&r->out, &top), 0);
        assert_true(fedge_str_eq(top->host, "edge.fedge.test"));
        assert_int_equal(top->port, 5061);
        assert_int_equal(r->out.nvias, m->nvias + 1);
    }

    /* 3. Pop Via. */
    if (via >= 0) {
        sip_edit_t e = {SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)via, {NULL, 0}};
        print_reparse(c->name, r, NULL, &e, 1);
        hl_from_msg(want, m);
        fedge_str_t rest;
        if (pop_rest(&m->hdrs[via], &rest))
            want->v[via].value = rest;
        else
            hl_remove(want, (unsigned)via);
        assert_hlist("pop Via", want, &r->out);
        assert_int_equal(r->out.nvias, m->nvias - 1);
        /* the new top Via is the old second one */
        sip_iter_t it;
        sip_via_t old2;
        sip_iter_init(&it, m, SIP_HDR_VIA);
        assert_int_equal(sip_iter_via(&it, &old2, NULL), 1);
        if (sip_iter_via(&it, &old2, NULL) == 1) {
            const sip_via_t *top;
            assert_int_equal(sip_msg_via(&r->out, &top), 0);
            assert_true(str_same(top->raw, old2.raw));
            assert_true(str_same(top->branch, old2.branch));
        }
    }

    /* 4. Insert Record-Route on top (before the first one, else first). */
    {
        const char *t = "Record-Route: <sip:edge.fedge.test;lr;transport=tls>";
        unsigned at = rr >= 0 ? (unsigned)rr : 0;
        sip_edit_t e = {SIP_EDIT_INSERT_BEFORE, at, {t, strlen(t)}};
        print_reparse(c->name, r, NULL, &e, 1);
        hl_from_msg(want, m);
        hl_insert(want, at, "Record-Route", t + 14);
        assert_hlist("insert Record-Route", want, &r->out);
        sip_iter_t it;
        sip_nameaddr_t na;
        sip_iter_init(&it, &r->out, SIP_HDR_RECORD_ROUTE);
        assert_int_equal(sip_iter_nameaddr(&it, &na, NULL), 1);
        assert_true(fedge_str_eq(na.uri.host, "edge.fedge.test"));
        assert_true(na.uri.lr);
        all[nall++] = e;
        hl_insert(want_all, at, "Record-Route", t + 14);
    }

    /* 5. Decrement Max-Forwards (or add one when absent). */
    if (mfh >= 0) {
        int mf;
        assert_int_equal(sip_msg_max_forwards(m, &mf), 0);
        if (mf > 0) {
            snprintf(mfbuf, sizeof(mfbuf), "%d", mf - 1);
            sip_edit_t e = {SIP_EDIT_REPLACE_VALUE, (unsigned)mfh, {mfbuf, strlen(mfbuf)}};
            print_reparse(c->name, r, NULL, &e, 1);
            hl_from_msg(want, m);
            want->v[mfh].value = e.text;
            assert_hlist("decrement Max-Forwards", want, &r->out);
            int mf2;
            assert_int_equal(sip_msg_max_forwards(&r->out, &mf2), 0);
            assert_int_equal(mf2, mf - 1);
            all[nall++] = e;
            /* want_all indexes shift after the Record-Route insert */
            want_all->v[mfh + ((rr >= 0 ? rr : 0) <= mfh ? 1 : 0)].value = e.text;
        }
    }

    /* 6. Pop Route. */
    if (route >= 0) {
        sip_edit_t e = {SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)route, {NULL, 0}};
        print_reparse(c->name, r, NULL, &e, 1);
        hl_from_msg(want, m);
        fedge_str_t rest;
        if (pop_rest(&m->hdrs[route], &rest))
            want->v[route].value = rest;
        else
            hl_remove(want, (unsigned)route);
        assert_hlist("pop Route", want, &r->out);
    }

    /* 7. Add a header at the end. */
    {
        const char *t = "X-Fedge-Test: added; by=roundtrip";
        sip_edit_t e = {SIP_EDIT_INSERT_BEFORE, m->nhdrs, {t, strlen(t)}};
        print_reparse(c->name, r, NULL, &e, 1);
        hl_from_msg(want, m);
        hl_insert(want, m->nhdrs, "X-Fedge-Test", t + 14);
        assert_hlist("add header", want, &r->out);
        const sip_hdr_t *h = sip_msg_find_name(&r->out, "x-fedge-test");
        assert_non_null(h);
        assert_true(fedge_str_eq(h->value, "added; by=roundtrip"));
        all[nall++] = e;
        hl_insert(want_all, want_all->n, "X-Fedge-Test", t + 14);
    }

    /* 8. Several edits at once, and a new start line for requests. */
    {
        char sl[128];
        fedge_str_t nsl;
        if (m->is_request)
            snprintf(sl, sizeof(sl),
                     "%.*s sip:rewritten@internal.fedge.test:5061;transport=tls SIP/2.0",
                     (int)m->method.len, m->method.s);
        else
            snprintf(sl, sizeof(sl), "SIP/2.0 %d Rewritten", m->status);
        nsl = (fedge_str_t){sl, strlen(sl)};
        print_reparse(c->name, r, &nsl, all, nall);
        assert_hlist("all edits", want_all, &r->out);
        assert_true(str_same(r->out.start_line, nsl));
        if (m->is_request) {
            const sip_uri_t *u;
            assert_int_equal(sip_msg_ruri(&r->out, &u), 0);
            assert_true(fedge_str_eq(u->host, "internal.fedge.test"));
            assert_int_equal(u->port, 5061);
        } else {
            assert_true(fedge_str_eq(r->out.reason, "Rewritten"));
        }
    }

    /* 9. An edit naming a header that does not exist is refused. */
    {
        sip_edit_t e = {SIP_EDIT_DELETE, m->nhdrs + 1, {NULL, 0}};
        size_t len;
        assert_int_equal(sip_print(m, NULL, &e, 1, r->printed, r->cap, &len), FEDGE_EINVAL);
    }

    free(want);
    free(want_all);
    free(r->printed);
    free(r->copy);
    free(r);
}

static void suite_is_loaded(void **state)
{
    (void)state;
    assert_true(cases.n >= 50);
}

int main(void)
{
    if (td_load(&cases, "valid") < 0) {
        fprintf(stderr, "test_roundtrip: tests/data/sip not found (run from the repo root or set "
                        "FEDGE_ROOT)\n");
        return 1;
    }
    struct CMUnitTest *tests = fedge_calloc(cases.n + 1, sizeof(*tests));
    tests[0] = (struct CMUnitTest)cmocka_unit_test(suite_is_loaded);
    for (size_t i = 0; i < cases.n; i++) {
        tests[i + 1].name = cases.v[i].name;
        tests[i + 1].test_func = rt_case;
        tests[i + 1].initial_state = &cases.v[i];
    }
    int rc = _cmocka_run_group_tests("sip_roundtrip", tests, cases.n + 1, NULL, NULL);
    free(tests);
    td_free(&cases);
    return rc;
}
