/* test_map.c — unit tests of the gateway mappings (src/xmpp/map.c):
 * addresses per RFC 7247, body text per RFC 7572, errors per RFC 7247 §8,
 * and the availability of a user with several resources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "xmpp/xmpp.h"

static void test_localpart_from_sip(void **state)
{
    char out[64];
    assert_int_equal(xmpp_localpart_from_sip("Alice", 5, out, sizeof out), 0);
    assert_string_equal(out, "alice");
    assert_int_equal(xmpp_localpart_from_sip("j%2Edoe", 7, out, sizeof out), 0);
    assert_string_equal(out, "j.doe");
    /* UTF-8 escaped in the SIP URI: kept as UTF-8 in the JID. */
    assert_int_equal(xmpp_localpart_from_sip("ren%C3%A9", 9, out, sizeof out), 0);
    assert_string_equal(out, "ren\xc3\xa9");
    /* What a localpart may not hold (RFC 7622 §3.3.1). */
    assert_int_equal(xmpp_localpart_from_sip("a%40b", 5, out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_localpart_from_sip("a%20b", 5, out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_localpart_from_sip("a&b", 3, out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_localpart_from_sip("a/b", 3, out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_localpart_from_sip("a%2", 3, out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_localpart_from_sip("a%ff", 4, out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_localpart_from_sip("", 0, out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_localpart_from_sip("abcdef", 6, out, 4), FEDGE_ENOSPC);
}

static void test_sip_user_from_localpart(void **state)
{
    char out[64];
    assert_int_equal(xmpp_sip_user_from_localpart("bob", out, sizeof out), 0);
    assert_string_equal(out, "bob");
    assert_int_equal(xmpp_sip_user_from_localpart("ren\xc3\xa9", out, sizeof out), 0);
    assert_string_equal(out, "ren%C3%A9");
    assert_int_equal(xmpp_sip_user_from_localpart("a#b%c", out, sizeof out), 0);
    assert_string_equal(out, "a%23b%25c");
    assert_int_equal(xmpp_sip_user_from_localpart("", out, sizeof out), FEDGE_EINVAL);
    assert_int_equal(xmpp_sip_user_from_localpart("\xc3\xa9\xc3\xa9", out, 6), FEDGE_ENOSPC);
}

static void test_text_ok(void **state)
{
    static const char good[] = "hello\tw\xc3\xb6rld\r\n\xe2\x82\xac\xf0\x9f\x98\x80";
    assert_true(xmpp_text_ok(good, sizeof good - 1));
    assert_false(xmpp_text_ok(good, sizeof good - 2)); /* emoji cut short */
    assert_false(xmpp_text_ok("a\x01", 2));            /* control character */
    assert_false(xmpp_text_ok("\xc3", 1));             /* truncated */
    assert_false(xmpp_text_ok("\xc0\xaf", 2));         /* overlong */
    assert_false(xmpp_text_ok("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(xmpp_text_ok("\xef\xbf\xbe", 3));     /* U+FFFE */
    assert_false(xmpp_text_ok("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(xmpp_text_ok("a\0b", 3));
    assert_true(xmpp_text_ok("", 0));
}

static void test_errors(void **state)
{
    const char *type;
    assert_string_equal(xmpp_error_from_sip_status(404, &type), "item-not-found");
    assert_string_equal(type, "cancel");
    assert_string_equal(xmpp_error_from_sip_status(403, &type), "forbidden");
    assert_string_equal(type, "auth");
    assert_string_equal(xmpp_error_from_sip_status(480, &type), "recipient-unavailable");
    assert_string_equal(type, "wait");
    assert_string_equal(xmpp_error_from_sip_status(408, NULL), "remote-server-timeout");
    assert_string_equal(xmpp_error_from_sip_status(415, NULL), "bad-request");
    assert_string_equal(xmpp_error_from_sip_status(599, NULL), "internal-server-error");
    assert_int_equal(xmpp_sip_status_from_error("remote-server-not-found"), 404);
    assert_int_equal(xmpp_sip_status_from_error("remote-server-timeout"), 408);
    assert_int_equal(xmpp_sip_status_from_error("policy-violation"), 403);
    assert_int_equal(xmpp_sip_status_from_error("recipient-unavailable"), 480);
    assert_int_equal(xmpp_sip_status_from_error("no-such-condition"), 500);
}

/* PIDF documents (src/xmpp/pidf.c) as the internal presence server sends them. */
static void test_pidf(void **state)
{
    (void)state;
    xmpp_pidf_t p;
    const char *open_doc =
        "<?xml version='1.0' encoding='UTF-8'?>\r\n"
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:alice@contoso.test'>"
        "<tuple id='t1'><status><basic> open </basic></status></tuple>"
        "<note>In the office</note></presence>";
    assert_int_equal(xmpp_pidf_parse(open_doc, strlen(open_doc), &p), 0);
    assert_true(p.open);
    assert_string_equal(p.note, "In the office");
    assert_string_equal(xmpp_pidf_show(&p), "available");

    const char *away =
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' "
        "xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model'"
        " xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' entity='sip:a@b'>"
        "<tuple id='t'><status><basic>open</basic></status></tuple>"
        "<dm:person id='p'><rpid:activities><rpid:away/></rpid:activities></dm:person>"
        "<note>gone &amp; back</note></presence>";
    assert_int_equal(xmpp_pidf_parse(away, strlen(away), &p), 0);
    assert_string_equal(xmpp_pidf_show(&p), "away");
    assert_string_equal(p.note, "gone & back");
    const char *busy =
        "<p:presence xmlns:p='urn:ietf:params:xml:ns:pidf' "
        "xmlns:r='urn:ietf:params:xml:ns:pidf:rpid'"
        " entity='sip:a@b'><p:tuple id='t'><p:status><p:basic>open</p:basic></p:status></p:tuple>"
        "<r:activities><r:on-the-phone/></r:activities></p:presence>";
    assert_int_equal(xmpp_pidf_parse(busy, strlen(busy), &p), 0);
    assert_string_equal(xmpp_pidf_show(&p), "dnd");
    const char *closed = "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>"
                         "<tuple id='t'><status><basic>closed</basic></status></tuple></presence>";
    assert_int_equal(xmpp_pidf_parse(closed, strlen(closed), &p), 0);
    assert_false(p.open);
    assert_string_equal(xmpp_pidf_show(&p), "unavailable");

    /* Refused: not PIDF, no basic, not well-formed, a DTD with entities
     * (never expanded), a processing instruction, too deep, empty. */
    const char *bad[] = {
        "<presence xmlns='jabber:client'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf'><tuple id='t'/></presence>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf'><tuple>",
        "<!DOCTYPE l [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]>"
        "<presence xmlns='urn:ietf:params:xml:ns:pidf'><tuple id='t'><status><basic>open"
        "</basic></status></tuple><note>&b;</note></presence>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf'><?x y?><tuple id='t'><status><basic>open"
        "</basic></status></tuple></presence>",
        "<presence "
        "xmlns='urn:ietf:params:xml:ns:pidf'><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>"
        "<a><a><basic>open</basic></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>"
        "</a></presence>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(xmpp_pidf_parse(bad[i], strlen(bad[i]), &p), FEDGE_EINVAL);
    /* A long note is cut on a character boundary. */
    char big[2000];
    size_t o = (size_t)snprintf(big, sizeof big,
                                "<presence xmlns='urn:ietf:params:xml:ns:pidf'><tuple id='t'>"
                                "<status><basic>open</basic></status></tuple><note>");
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "\xc3\xa9");
    snprintf(big + o, sizeof big - o, "</note></presence>");
    assert_int_equal(xmpp_pidf_parse(big, strlen(big), &p), 0);
    assert_true(strlen(p.note) <= 255 && strlen(p.note) % 2 == 0);
    assert_true(xmpp_text_ok(p.note, strlen(p.note)));
}

/* Several resources: the most available one is seen (chat > none > away >
 * xa > dnd, the latest among equals), unavailable only when none is left,
 * at most XMPP_MAX_RESOURCES kept. */
static void test_presence_aggregation(void **state)
{
    assert_true(xmpp_show_rank("chat") > xmpp_show_rank(NULL));
    assert_true(xmpp_show_rank("") > xmpp_show_rank("away"));
    assert_true(xmpp_show_rank("away") > xmpp_show_rank("xa"));
    assert_true(xmpp_show_rank("xa") > xmpp_show_rank("dnd"));
    assert_int_equal(xmpp_show_rank("bogus"), xmpp_show_rank(NULL));

    xmpp_presence_t p = {0};
    assert_null(xmpp_presence_best(&p));
    xmpp_presence_update(&p, "phone", true, NULL, "on the move", 11);
    const xmpp_resource_t *b = xmpp_presence_best(&p);
    assert_non_null(b);
    assert_string_equal(b->show, "");
    assert_string_equal(b->status, "on the move");
    /* the desktop away: the phone (available) is still what is seen */
    xmpp_presence_update(&p, "desktop", true, "away", "gone fishing", 12);
    b = xmpp_presence_best(&p);
    assert_string_equal(b->show, "");
    assert_string_equal(b->status, "on the move");
    /* the phone goes dnd: the desktop's away is more available */
    xmpp_presence_update(&p, "phone", true, "dnd", NULL, 0);
    b = xmpp_presence_best(&p);
    assert_string_equal(b->show, "away");
    assert_string_equal(b->status, "gone fishing");
    assert_int_equal(p.n, 2);
    /* the desktop goes offline: the phone's dnd is left */
    xmpp_presence_update(&p, "desktop", false, NULL, NULL, 0);
    b = xmpp_presence_best(&p);
    assert_string_equal(b->show, "dnd");
    assert_int_equal(p.n, 1);
    /* offline for a resource never seen changes nothing */
    xmpp_presence_update(&p, "tablet", false, NULL, NULL, 0);
    assert_int_equal(p.n, 1);
    /* the last one offline: unavailable */
    xmpp_presence_update(&p, "phone", false, NULL, NULL, 0);
    assert_null(xmpp_presence_best(&p));
    /* equals: the latest heard from */
    xmpp_presence_update(&p, "a", true, "away", "A", 1);
    xmpp_presence_update(&p, "b", true, "away", "B", 1);
    assert_string_equal(xmpp_presence_best(&p)->status, "B");
    xmpp_presence_update(&p, "a", true, "away", "A2", 2);
    assert_string_equal(xmpp_presence_best(&p)->status, "A2");
    /* chat beats plain available; an unknown <show/> counts as available */
    xmpp_presence_update(&p, "c", true, "bogus", "C", 1);
    assert_string_equal(xmpp_presence_best(&p)->status, "C");
    assert_string_equal(xmpp_presence_best(&p)->show, "");
    xmpp_presence_update(&p, "d", true, "chat", "D", 1);
    assert_string_equal(xmpp_presence_best(&p)->show, "chat");
    /* an unavailable from the bare JID: every resource is gone */
    xmpp_presence_update(&p, "", false, NULL, NULL, 0);
    assert_int_equal(p.n, 0);
    assert_null(xmpp_presence_best(&p));
    /* the cap: 40 resources online, 16 kept, the latest ones */
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "r%d", i);
        xmpp_presence_update(&p, name, true, i == 30 ? "chat" : "xa", name, strlen(name));
    }
    assert_int_equal(p.n, XMPP_MAX_RESOURCES);
    assert_true(p.cap <= XMPP_MAX_RESOURCES);
    assert_string_equal(xmpp_presence_best(&p)->status, "r30");
    /* r0 was replaced: its offline changes nothing */
    xmpp_presence_update(&p, "r0", false, NULL, NULL, 0);
    assert_int_equal(p.n, XMPP_MAX_RESOURCES);
    /* a long status is cut at 200 bytes on a UTF-8 boundary */
    char lng[400];
    memset(lng, 'x', 199);
    memcpy(lng + 199, "\xc3\xa9\xc3\xa9", 4);
    xmpp_presence_update(&p, "r30", true, "chat", lng, 203);
    assert_int_equal(strlen(xmpp_presence_best(&p)->status), 199);
    xmpp_presence_free(&p);
    assert_null(p.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_localpart_from_sip),
        cmocka_unit_test(test_sip_user_from_localpart),
        cmocka_unit_test(test_text_ok),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_pidf),
        cmocka_unit_test(test_presence_aggregation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
