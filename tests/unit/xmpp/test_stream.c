/* test_stream.c — unit tests of the XMPP stream parser (src/xmpp/stream.c):
 * well-formed s2s streams in any split, restarts, pauses, and hostile input
 * (billion laughs, a 10 MB stanza, deep nesting, a header that never ends,
 * comments, wrong namespaces), each stopped with its stream error and
 * bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmpp/xmpp.h"

typedef struct {
    int opens, stanzas, closes;
    char content_ns[64];
    char to[64], from[64];
    char last[64];     /* "{ns}name" of the last stanza */
    char body[256];    /* text of a <body> child of the last stanza */
    char attr_to[128]; /* to attribute of the last stanza */
    int child_count;
    xmpp_parser_t *p;
    const char *pause_on; /* local name of a stanza that pauses */
    size_t max_memory;
} rec_t;

static void on_open(void *u, const xmpp_node_t *root, const char *content_ns)
{
    rec_t *r = u;
    r->opens++;
    snprintf(r->content_ns, sizeof r->content_ns, "%s", content_ns);
    const char *to = xmpp_attr(root, "to"), *from = xmpp_attr(root, "from");
    snprintf(r->to, sizeof r->to, "%s", to ? to : "");
    snprintf(r->from, sizeof r->from, "%s", from ? from : "");
}

static void on_stanza(void *u, const xmpp_node_t *s)
{
    rec_t *r = u;
    r->stanzas++;
    snprintf(r->last, sizeof r->last, "{%s}%s", s->ns, s->name);
    const xmpp_node_t *b = xmpp_child(s, NULL, "body");
    snprintf(r->body, sizeof r->body, "%s", b ? b->text : "");
    const char *to = xmpp_attr(s, "to");
    snprintf(r->attr_to, sizeof r->attr_to, "%s", to ? to : "");
    r->child_count = 0;
    for (const xmpp_node_t *c = s->children; c; c = c->next)
        r->child_count++;
    size_t m = xmpp_parser_memory(r->p);
    if (m > r->max_memory)
        r->max_memory = m;
    if (r->pause_on && !strcmp(s->name, r->pause_on))
        xmpp_parser_pause(r->p);
}

static void on_close(void *u)
{
    ((rec_t *)u)->closes++;
}

static const xmpp_parser_cbs_t cbs = {on_open, on_stanza, on_close};

static xmpp_parser_t *mk(rec_t *r, const xmpp_limits_t *lim)
{
    memset(r, 0, sizeof *r);
    xmpp_parser_t *p;
    assert_int_equal(xmpp_parser_new(lim, &cbs, r, &p), 0);
    r->p = p;
    return p;
}

static int feed_s(xmpp_parser_t *p, const char *s)
{
    return xmpp_parser_feed(p, s, strlen(s), NULL);
}

#define HDR                                                                                        \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "                                   \
    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "           \
    "to='example.net' from='im.example.com' version='1.0'>"

static const char *const good =
    HDR "<message from='juliet@im.example.com/r' to='romeo@example.net' type='chat'>"
        "<body>Art thou not Romeo, &amp; a Montague? \xc3\xa9\xe2\x82\xac</body>"
        "<thread>t1</thread></message>"
        "\n \n<presence from='a@im.example.com' to='b@example.net'/>"
        "<db:result from='im.example.com' to='example.net'>abc</db:result>"
        "</stream:stream>";

static void test_good_stream_whole(void **state)
{
    rec_t r;
    xmpp_parser_t *p = mk(&r, NULL);
    assert_int_equal(feed_s(p, good), 0);
    assert_int_equal(r.opens, 1);
    assert_string_equal(r.content_ns, "jabber:server");
    assert_string_equal(r.to, "example.net");
    assert_string_equal(r.from, "im.example.com");
    assert_int_equal(r.stanzas, 3);
    assert_string_equal(r.last, "{jabber:server:dialback}result");
    assert_int_equal(r.closes, 1);
    xmpp_parser_free(p);
}

/* Every split of the stream into two pieces, and byte by byte, gives the
 * same stanzas and texts (expat delivers text in pieces across feeds). */
static void test_good_stream_any_split(void **state)
{
    size_t len = strlen(good);
    for (size_t cut = 0; cut <= len; cut++) {
        rec_t r;
        xmpp_parser_t *p = mk(&r, NULL);
        assert_int_equal(xmpp_parser_feed(p, good, cut, NULL), 0);
        assert_int_equal(xmpp_parser_feed(p, good + cut, len - cut, NULL), 0);
        assert_int_equal(r.stanzas, 3);
        assert_int_equal(r.closes, 1);
        xmpp_parser_free(p);
    }
    rec_t r;
    xmpp_parser_t *p = mk(&r, NULL);
    r.pause_on = NULL;
    char body[256] = "";
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(xmpp_parser_feed(p, good + i, 1, NULL), 0);
        if (r.stanzas == 1 && !body[0])
            snprintf(body, sizeof body, "%s", r.body);
    }
    assert_string_equal(body, "Art thou not Romeo, & a Montague? \xc3\xa9\xe2\x82\xac");
    assert_int_equal(r.stanzas, 3);
    xmpp_parser_free(p);
}

static void test_tree_access(void **state)
{
    rec_t r;
    xmpp_parser_t *p = mk(&r, NULL);
    assert_int_equal(feed_s(p, HDR "<message to='x@example.net'><a/><b>1</b>text<c/></message>"),
                     0);
    assert_int_equal(r.child_count, 3);
    assert_string_equal(r.attr_to, "x@example.net");
    assert_string_equal(r.last, "{jabber:server}message");
    xmpp_parser_free(p);
}

/* A pause after <proceed/> reports the bytes used; what follows (here the
 * start of a TLS record) is left for the caller, and a reset takes a new
 * stream header. */
static void test_pause_and_reset(void **state)
{
    rec_t r;
    xmpp_parser_t *p = mk(&r, NULL);
    r.pause_on = "proceed";
    const char *a = HDR "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\x16\x03\x01garbage", a);
    size_t used = 0;
    assert_int_equal(xmpp_parser_feed(p, buf, strlen(buf), &used), 1);
    assert_int_equal(used, strlen(a));
    assert_string_equal(r.last, "{urn:ietf:params:xml:ns:xmpp-tls}proceed");
    xmpp_parser_reset(p);
    r.pause_on = NULL;
    assert_int_equal(feed_s(p, HDR "<message/>"), 0);
    assert_int_equal(r.opens, 2);
    assert_int_equal(r.stanzas, 2);
    xmpp_parser_free(p);
}

static void expect_error(const char *input, int code, const char *cond)
{
    rec_t r;
    xmpp_parser_t *p = mk(&r, NULL);
    int rc = feed_s(p, input);
    assert_int_equal(rc, code);
    assert_string_equal(xmpp_parser_condition(p), cond);
    assert_true(xmpp_parser_reason(p)[0] != '\0');
    /* Refuses everything after. */
    assert_int_equal(feed_s(p, "<message/>"), code);
    xmpp_parser_free(p);
}

static void test_billion_laughs(void **state)
{
    const char *lol = "<?xml version='1.0'?>\n"
                      "<!DOCTYPE lolz [\n"
                      " <!ENTITY lol \"lol\">\n"
                      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                      " <!ENTITY lol9 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
                      "]>\n"
                      "<stream:stream xmlns='jabber:server' "
                      "xmlns:stream='http://etherx.jabber.org/streams'>&lol9;";
    expect_error(lol, FEDGE_EINVAL, "restricted-xml");
    /* The same DTD after a valid header cannot appear (not well-formed). */
    expect_error(HDR "<!DOCTYPE x [<!ENTITY a 'b'>]>", FEDGE_EINVAL, "not-well-formed");
    /* An entity never declared. */
    expect_error(HDR "<message>&lol9;</message>", FEDGE_EINVAL, "not-well-formed");
}

static void test_restricted_xml(void **state)
{
    expect_error(HDR "<!-- hi --><message/>", FEDGE_EINVAL, "restricted-xml");
    expect_error(HDR "<message><?pi x?></message>", FEDGE_EINVAL, "restricted-xml");
    expect_error("<stream xmlns='jabber:client'>", FEDGE_EINVAL, "invalid-namespace");
    expect_error(HDR "text<message/>", FEDGE_EINVAL, "bad-format");
    expect_error(HDR "<message></presence>", FEDGE_EINVAL, "not-well-formed");
    expect_error(HDR "<message>\xff\xfe</message>", FEDGE_EINVAL, "not-well-formed");
}

/* 10 MB in one stanza, fed in 64 KiB pieces as a socket would: stopped at
 * the stanza limit, never more than about the limit held. */
static void test_ten_megabyte_stanza(void **state)
{
    rec_t r;
    xmpp_limits_t lim = {.max_stanza_bytes = 65536};
    xmpp_parser_t *p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR "<message><body>"), 0);
    static char chunk[65536];
    memset(chunk, 'a', sizeof chunk);
    int rc = 0;
    size_t sent = 0;
    while (sent < 10u * 1024 * 1024 && rc == 0) {
        rc = xmpp_parser_feed(p, chunk, sizeof chunk, NULL);
        sent += sizeof chunk;
        assert_true(xmpp_parser_memory(p) <= 8 * 65536 + 65536 + 65536);
    }
    assert_int_equal(rc, FEDGE_ELIMIT);
    assert_true(sent <= 2 * 65536);
    assert_string_equal(xmpp_parser_condition(p), "policy-violation");
    assert_non_null(strstr(xmpp_parser_reason(p), "stanza larger than 65536"));
    xmpp_parser_free(p);

    /* One huge attribute value: the same bound (expat buffers a token
     * until it ends, so the byte count is what protects). */
    p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR "<message to='"), 0);
    rc = 0;
    for (int i = 0; i < 160 && rc == 0; i++)
        rc = xmpp_parser_feed(p, chunk, sizeof chunk, NULL);
    assert_int_equal(rc, FEDGE_ELIMIT);
    assert_non_null(strstr(xmpp_parser_reason(p), "one tag longer than 16384"));
    xmpp_parser_free(p);

    /* The same, one byte at a time (expat re-scans an unfinished tag on
     * every feed): stopped right after the tag bound, so a re-scan never
     * costs more than 16 KiB. */
    p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR "<message to='"), 0);
    rc = 0;
    size_t n = 0;
    while (rc == 0 && n < 100000) {
        rc = xmpp_parser_feed(p, "x", 1, NULL);
        n++;
    }
    assert_int_equal(rc, FEDGE_ELIMIT);
    assert_true(n <= 16384 + 2);
    xmpp_parser_free(p);

    /* Many stanzas just under the limit each are fine: the count starts
     * over at every stanza, and whitespace keep-alives do not add up. */
    p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR), 0);
    char *big = malloc(60000);
    memset(big, 'b', 60000);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(feed_s(p, "<message><body>"), 0);
        assert_int_equal(xmpp_parser_feed(p, big, 60000, NULL), 0);
        assert_int_equal(feed_s(p, "</body></message> "), 0);
    }
    assert_int_equal(r.stanzas, 40);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(feed_s(p, "                    "), 0); /* 100 000 spaces */
    assert_int_equal(feed_s(p, "<presence/>"), 0);
    assert_int_equal(r.stanzas, 41);
    free(big);
    xmpp_parser_free(p);
}

static void test_deep_nesting(void **state)
{
    rec_t r;
    xmpp_limits_t lim = {.max_depth = 32};
    xmpp_parser_t *p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR), 0);
    int rc = 0;
    for (int i = 0; i < 100000 && rc == 0; i++)
        rc = feed_s(p, "<a>");
    assert_int_equal(rc, FEDGE_ELIMIT);
    assert_string_equal(xmpp_parser_condition(p), "policy-violation");
    xmpp_parser_free(p);

    /* 32 levels are allowed. */
    p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(feed_s(p, "<a>"), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(feed_s(p, "</a>"), 0);
    assert_int_equal(r.stanzas, 1);
    xmpp_parser_free(p);
}

/* A header that never ends (an endless attribute, or endless attributes):
 * closed after max_header_bytes. */
static void test_never_completing_header(void **state)
{
    rec_t r;
    xmpp_parser_t *p = mk(&r, NULL);
    assert_int_equal(feed_s(p, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "),
                     0);
    int rc = 0;
    size_t sent = 0;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        rc = feed_s(p, "a0000000='x' ");
        sent += 13;
    }
    assert_int_equal(rc, FEDGE_ELIMIT);
    assert_true(sent <= 4096);
    assert_non_null(strstr(xmpp_parser_reason(p), "stream header not complete"));
    assert_int_equal(r.opens, 0);
    xmpp_parser_free(p);
}

/* Many tiny elements: a thousand with a long namespace each pass (the
 * namespace string is shared with the parent); ten thousand empty elements
 * inflate to more than the tree may hold (8 x the stanza bytes) and are
 * stopped, memory bounded. */
static void test_tree_memory_bound(void **state)
{
    rec_t r;
    xmpp_limits_t lim = {.max_stanza_bytes = 65536};
    xmpp_parser_t *p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR "<message xmlns='urn:a-rather-long-namespace-for-sharing'>"), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(feed_s(p, "<b/>"), 0);
    assert_int_equal(feed_s(p, "</message>"), 0);
    assert_int_equal(r.child_count, 1000);
    xmpp_parser_free(p);

    p = mk(&r, &lim);
    assert_int_equal(feed_s(p, HDR "<message>"), 0);
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++) {
        rc = feed_s(p, "<b/>");
        assert_true(xmpp_parser_memory(p) <= 8 * 65536 + 65536 + 65536);
    }
    assert_int_equal(rc, FEDGE_ELIMIT);
    assert_non_null(strstr(xmpp_parser_reason(p), "stanza tree larger"));
    xmpp_parser_free(p);
}

static void test_escape(void **state)
{
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<body a='");
    xmpp_buf_esc(&b, "x'\"<&>y", 7);
    xmpp_buf_add(&b, "'/>", 3);
    assert_string_equal(b.s, "<body a='x&apos;&quot;&lt;&amp;&gt;y'/>");
    xmpp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_stream_whole),
        cmocka_unit_test(test_good_stream_any_split),
        cmocka_unit_test(test_tree_access),
        cmocka_unit_test(test_pause_and_reset),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_restricted_xml),
        cmocka_unit_test(test_ten_megabyte_stanza),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_never_completing_header),
        cmocka_unit_test(test_tree_memory_bound),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
