/* test_xmpp.c — unit tests of the store's XMPP partner list
 * (src/store/xmpp.c): allow with its settings, block, conflicts, remove,
 * the immutable copy and its look-up, audit entries, bad input; the
 * gateway's presence subscriptions (store_xsub_*) and their adoption by a
 * live pool member (store_xsub_adopt, store_xsub_reload), and what the
 * member adopted from finds when it comes back (store_xsub_keep,
 * store_xsub_foreign). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static char path[64];

static int audit_cb(const store_audit_t *a, void *ctx)
{
    char *out = ctx;
    size_t l = strlen(out);
    snprintf(out + l, 4096 - l, "%s %s %s\n", a->action, a->object, a->detail);
    return 0;
}

static void test_allow_block_remove_and_load(void **state)
{
    snprintf(path, sizeof path, "/tmp/fedge-xmpp-store-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    store_t *s;
    fedge_err_t e;
    assert_int_equal(store_open(path, &s, &e), 0);
    store_xmpp_partner_t p = {.domain = "Fabrikam.TEST",
                              .tls_required = true,
                              .sasl = true,
                              .dialback = false,
                              .proxy = "xmpp.fabrikam.test:5270"};
    assert_int_equal(store_xmpp_allow(s, &p, "test:t", &e), 0);
    store_xmpp_partner_t q = {
        .domain = "prosody.test", .tls_required = false, .sasl = false, .dialback = true};
    assert_int_equal(store_xmpp_allow(s, &q, "test:t", &e), 0);
    assert_int_equal(store_xmpp_block(s, "spam.test", "test:t", &e), 0);
    /* Conflicts both ways. */
    store_xmpp_partner_t sp = {.domain = "spam.test", .sasl = true, .dialback = true};
    assert_int_equal(store_xmpp_allow(s, &sp, "test:t", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "fedge xmpp remove spam.test"));
    assert_int_equal(store_xmpp_block(s, "fabrikam.test", "test:t", &e), FEDGE_EEXIST);
    /* Bad input. */
    store_xmpp_partner_t none = {.domain = "x.test"};
    assert_int_equal(store_xmpp_allow(s, &none, "test:t", &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "no way to authenticate"));
    store_xmpp_partner_t bad = {.domain = "not a domain", .sasl = true};
    assert_int_equal(store_xmpp_allow(s, &bad, "test:t", &e), FEDGE_EINVAL);
    store_xmpp_partner_t badp = {.domain = "y.test", .sasl = true, .proxy = "a b:99999"};
    assert_int_equal(store_xmpp_allow(s, &badp, "test:t", &e), FEDGE_EINVAL);
    assert_int_equal(store_xmpp_remove(s, "nobody.test", "test:t", &e), FEDGE_ENOENT);

    store_xmpp_list_t *l;
    assert_int_equal(store_xmpp_load(s, &l, &e), 0);
    assert_int_equal(l->n, 3);
    const store_xmpp_partner_t *f = store_xmpp_find(l, "FABRIKAM.test");
    assert_non_null(f);
    assert_string_equal(f->domain, "fabrikam.test");
    assert_true(f->tls_required && f->sasl && !f->dialback && !f->blocked);
    assert_string_equal(f->proxy, "xmpp.fabrikam.test:5270");
    const store_xmpp_partner_t *pr = store_xmpp_find(l, "prosody.test");
    assert_true(!pr->tls_required && !pr->sasl && pr->dialback);
    assert_null(pr->proxy);
    assert_true(store_xmpp_find(l, "spam.test")->blocked);
    assert_null(store_xmpp_find(l, "other.test"));
    uint64_t g1 = l->generation;
    store_xmpp_list_free(l);

    /* Replacing keeps one entry; removing takes it away; each bumps the
     * generation. */
    q.sasl = true;
    assert_int_equal(store_xmpp_allow(s, &q, "test:t", &e), 0);
    assert_int_equal(store_xmpp_remove(s, "spam.test", "test:t", &e), 0);
    assert_int_equal(store_xmpp_load(s, &l, &e), 0);
    assert_int_equal(l->n, 2);
    assert_true(store_xmpp_find(l, "prosody.test")->sasl);
    assert_int_equal(l->generation, g1 + 2);
    store_xmpp_list_free(l);

    char audit[4096] = "";
    assert_int_equal(store_audit_list(s, 100, audit_cb, audit, &e), 0);
    assert_non_null(strstr(audit, "xmpp.allow fabrikam.test tls required, sasl on, dialback off, "
                                  "server xmpp.fabrikam.test:5270"));
    assert_non_null(strstr(audit, "xmpp.block spam.test"));
    assert_non_null(strstr(audit, "xmpp.remove spam.test"));
    store_close(s);
    unlink(path);
}

typedef struct {
    char out[4096];
    int n, stop_after;
} xsubs_t;

static int xsub_cb(const store_xsub_t *x, void *ctx)
{
    xsubs_t *c = ctx;
    size_t l = strlen(c->out);
    snprintf(c->out + l, sizeof c->out - l, "%s %s>%s %s %s %s/%s/%s %s %lld %lld %s|%s|\n",
             x->dir == STORE_XSUB_XMPP ? "xmpp" : "sip", x->watcher, x->target, x->owner,
             x->active ? "active" : "pending", x->call_id, x->local_tag, x->remote_tag,
             x->remote_target, (long long)x->cseq, (long long)x->expires_s, x->presence, x->note);
    return ++c->n == c->stop_after ? 7 : 0;
}

/* Presence subscriptions of the gateway (migration 8) in the store at loc
 * (empty): upsert, list per owner, delete, survive closing and reopening
 * the store, no generation bump, bad input refused, copied by store_copy. */
static void subscriptions_in(const char *loc)
{
    store_t *s;
    fedge_err_t e;
    int fd;
    assert_int_equal(store_open(loc, &s, &e), 0);
    uint64_t g0 = 0;
    store_xmpp_list_t *l;
    assert_int_equal(store_xmpp_load(s, &l, &e), 0);
    g0 = l->generation;
    store_xmpp_list_free(l);

    store_xsub_t a = {.dir = STORE_XSUB_XMPP,
                      .watcher = "bob@fabrikam.test",
                      .target = "alice@contoso.test",
                      .owner = "edge1.contoso.test",
                      .call_id = "xps-1@edge1",
                      .local_tag = "lt1",
                      .remote_uri = "sip:alice@contoso.test",
                      .cseq = 1,
                      .expires_s = 1900000000};
    assert_int_equal(store_xsub_put(s, &a, &e), 0);
    /* The same key again replaces it: approved, the server's tag, state. */
    a.active = true;
    snprintf(a.remote_tag, sizeof a.remote_tag, "srv9");
    snprintf(a.remote_target, sizeof a.remote_target, "sip:ps@10.0.0.1:5060;transport=tcp");
    snprintf(a.presence, sizeof a.presence, "away");
    snprintf(a.note, sizeof a.note, "gone fishing \xc3\xa9");
    a.cseq = 2;
    assert_int_equal(store_xsub_put(s, &a, &e), 0);
    store_xsub_t b = {.dir = STORE_XSUB_SIP,
                      .watcher = "alice@contoso.test",
                      .target = "bob@fabrikam.test",
                      .owner = "edge1.contoso.test",
                      .call_id = "sub-1@contoso.test",
                      .local_tag = "ab12",
                      .remote_tag = "ft1",
                      .remote_uri = "sip:alice@contoso.test",
                      .remote_target = "sip:alice@contoso.test;transport=tcp",
                      .cseq = 3,
                      .expires_s = 1900000100,
                      .presence = "available"};
    assert_int_equal(store_xsub_put(s, &b, &e), 0);
    store_xsub_t c = b;
    snprintf(c.owner, sizeof c.owner, "edge2.contoso.test");
    snprintf(c.watcher, sizeof c.watcher, "carol@contoso.test");
    assert_int_equal(store_xsub_put(s, &c, &e), 0);

    /* Bad input: empty key parts, control characters, unknown direction. */
    store_xsub_t bad = a;
    bad.watcher[0] = '\0';
    assert_int_equal(store_xsub_put(s, &bad, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "watcher"));
    bad = a;
    snprintf(bad.note, sizeof bad.note, "a\r\nb");
    assert_int_equal(store_xsub_put(s, &bad, &e), FEDGE_EINVAL);
    bad = a;
    bad.dir = (store_xsub_dir_t)5;
    assert_int_equal(store_xsub_put(s, &bad, &e), FEDGE_EINVAL);

    xsubs_t got = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "edge1.contoso.test", xsub_cb, &got, &e), 0);
    assert_string_equal(got.out,
                        "sip alice@contoso.test>bob@fabrikam.test edge1.contoso.test pending "
                        "sub-1@contoso.test/ab12/ft1 sip:alice@contoso.test;transport=tcp 3 "
                        "1900000100 available||\n"
                        "xmpp bob@fabrikam.test>alice@contoso.test edge1.contoso.test active "
                        "xps-1@edge1/lt1/srv9 sip:ps@10.0.0.1:5060;transport=tcp 2 1900000000 "
                        "away|gone fishing \xc3\xa9|\n");
    xsubs_t all = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, NULL, xsub_cb, &all, &e), 0);
    assert_int_equal(all.n, 3);
    xsubs_t one = {.stop_after = 1};
    assert_int_equal(store_xsub_list(s, NULL, xsub_cb, &one, &e), 7);
    assert_int_equal(one.n, 1);

    /* Runtime state: no generation bump, no audit entry. */
    assert_int_equal(store_xmpp_load(s, &l, &e), 0);
    assert_int_equal(l->generation, g0);
    store_xmpp_list_free(l);
    char audit[4096] = "";
    assert_int_equal(store_audit_list(s, 100, audit_cb, audit, &e), 0);
    assert_null(strstr(audit, "bob@fabrikam.test"));

    /* It outlives the process's handle: reopened, the rows are there;
     * deleting takes one away (twice is no error). */
    store_close(s);
    assert_int_equal(store_open(loc, &s, &e), 0);
    assert_int_equal(
        store_xsub_del(s, STORE_XSUB_SIP, "alice@contoso.test", "bob@fabrikam.test", &e), 0);
    assert_int_equal(
        store_xsub_del(s, STORE_XSUB_SIP, "alice@contoso.test", "bob@fabrikam.test", &e), 0);
    xsubs_t after = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "edge1.contoso.test", xsub_cb, &after, &e), 0);
    assert_int_equal(after.n, 1);
    assert_non_null(strstr(after.out, "xmpp bob@fabrikam.test>alice@contoso.test"));

    /* store_copy carries the table. */
    char path2[64];
    snprintf(path2, sizeof path2, "/tmp/fedge-xsub-copy-XXXXXX");
    fd = mkstemp(path2);
    close(fd);
    unlink(path2);
    store_t *t;
    assert_int_equal(store_open(path2, &t, &e), 0);
    store_copy_count_t counts[STORE_COPY_TABLES];
    size_t n = STORE_COPY_TABLES;
    assert_int_equal(store_copy(s, t, false, "test:t", counts, &n, &e), 0);
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(counts[i].table, "xmpp_subscription")) {
            seen = true;
            assert_int_equal(counts[i].from, 2);
            assert_int_equal(counts[i].to, 2);
        }
    assert_true(seen);
    xsubs_t copied = {.stop_after = -1};
    assert_int_equal(store_xsub_list(t, NULL, xsub_cb, &copied, &e), 0);
    assert_int_equal(copied.n, 2);
    store_close(t);
    unlink(path2);
    store_close(s);
}

static void test_subscriptions(void **state)
{
    snprintf(path, sizeof path, "/tmp/fedge-xsub-store-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    subscriptions_in(path);
    unlink(path);
}

/* The same on PostgreSQL: FEDGE_TEST_PG_URI names an empty database of a
 * private cluster (tests/e2e/110-store-postgresql.sh runs this binary so);
 * then only this test runs. */
static void test_subscriptions_pg(void **state)
{
    subscriptions_in(getenv("FEDGE_TEST_PG_URI"));
}

static void member(store_t *s, const char *fqdn, const char *pool, int64_t seen)
{
    store_member_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.fqdn, sizeof m.fqdn, "%s", fqdn);
    snprintf(m.pool, sizeof m.pool, "%s", pool);
    snprintf(m.version, sizeof m.version, "0.1.0");
    m.started_s = seen;
    m.seen_s = seen;
    m.cert_ok = true;
    fedge_err_t e;
    assert_int_equal(store_member_put(s, &m, &e), 0);
}

static void xsub_of(store_t *s, const char *owner, const char *watcher)
{
    store_xsub_t x = {.dir = STORE_XSUB_SIP,
                      .target = "bob@fabrikam.test",
                      .call_id = "adopt@contoso.test",
                      .local_tag = "l1",
                      .remote_uri = "sip:someone@contoso.test",
                      .cseq = 1,
                      .expires_s = 1900000000};
    snprintf(x.owner, sizeof x.owner, "%s", owner);
    snprintf(x.watcher, sizeof x.watcher, "%s", watcher);
    fedge_err_t e;
    assert_int_equal(store_xsub_put(s, &x, &e), 0);
}

/* Pool takeover in the store at loc (rows of other owners may be there):
 * a live member adopts the rows of a stale member of its pool, once; not
 * those of a live one, of another pool, or of itself; a second live member
 * finds nothing left; a member restarting (store_xsub_reload) keeps its
 * rows and is live for the others from then on. */
static void adoption_in(const char *loc)
{
    store_t *s, *s2;
    fedge_err_t e;
    assert_int_equal(store_open(loc, &s, &e), 0);
    assert_int_equal(store_open(loc, &s2, &e), 0); /* a second member's handle */
    const int64_t now = 1900000000;
    const char *P = "pool.adopt.test";
    member(s, "m1.adopt.test", P, now);                            /* live: adopts */
    member(s, "m2.adopt.test", P, now - STORE_MEMBER_STALE_S - 1); /* dead */
    member(s, "m3.adopt.test", "other-pool.adopt.test", now - 60); /* dead, other pool */
    member(s, "m4.adopt.test", P, now - STORE_MEMBER_STALE_S);     /* just at the limit: live */
    member(s, "m5.adopt.test", P, now);                            /* live: a second adopter */
    xsub_of(s, "M2.Adopt.TEST", "w1@contoso.test"); /* owner as [edge] fqdn spelled it */
    xsub_of(s, "m2.adopt.test", "w2@contoso.test");
    xsub_of(s, "m3.adopt.test", "w3@contoso.test");
    xsub_of(s, "m4.adopt.test", "w4@contoso.test");
    xsub_of(s, "m1.adopt.test", "w5@contoso.test");

    xsubs_t got = {.stop_after = -1};
    size_t n = 99;
    assert_int_equal(store_xsub_adopt(s, "M1.adopt.test", P, now, xsub_cb, &got, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(got.n, 2);
    /* the callback names the member each row came from */
    assert_non_null(strstr(got.out, "sip w1@contoso.test>bob@fabrikam.test m2.adopt.test "));
    assert_non_null(strstr(got.out, "sip w2@contoso.test>bob@fabrikam.test m2.adopt.test "));
    xsubs_t mine = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "m1.adopt.test", xsub_cb, &mine, &e), 0);
    assert_int_equal(mine.n, 3);
    xsubs_t left = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "m3.adopt.test", xsub_cb, &left, &e), 0);
    assert_int_equal(left.n, 1); /* another pool's: not ours to take */
    left = (xsubs_t){.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "m4.adopt.test", xsub_cb, &left, &e), 0);
    assert_int_equal(left.n, 1); /* not stale yet */

    /* the second live member comes after: nothing is adopted twice */
    xsubs_t none = {.stop_after = -1};
    assert_int_equal(store_xsub_adopt(s2, "m5.adopt.test", P, now, xsub_cb, &none, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(none.n, 0);
    /* alone (no pool): nothing to adopt */
    assert_int_equal(store_xsub_adopt(s2, "m5.adopt.test", "", now + 100, NULL, NULL, &n, &e), 0);
    assert_int_equal(n, 0);

    /* m4 goes quiet but restarts first: the reload lists its row and makes
     * it live, so m5 adopts nothing afterwards */
    const int64_t later = now + 30;
    xsubs_t back = {.stop_after = -1};
    assert_int_equal(store_xsub_reload(s2, "m4.adopt.test", later, xsub_cb, &back, &e), 0);
    assert_int_equal(back.n, 1);
    assert_non_null(strstr(back.out, "w4@contoso.test"));
    member(s, "m1.adopt.test", P, later);
    member(s, "m5.adopt.test", P, later);
    assert_int_equal(store_xsub_adopt(s, "m5.adopt.test", P, later, NULL, NULL, &n, &e), 0);
    assert_int_equal(n, 0);
    /* m1 and m4 go quiet in their turn: m5 takes over their four rows */
    assert_int_equal(store_xsub_adopt(s2, "m5.adopt.test", P, later + STORE_MEMBER_STALE_S + 1,
                                      NULL, NULL, &n, &e),
                     0);
    assert_int_equal(n, 4);
    xsubs_t all5 = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "m5.adopt.test", xsub_cb, &all5, &e), 0);
    assert_int_equal(all5.n, 4);

    /* m1 comes back (it kept running, away from the store): its update of
     * w5, adopted by m5 meanwhile, is not written and says so; m1 learns
     * from store_xsub_foreign that w5 is m5's now; its own new row and
     * m5's update of an adopted row are written */
    store_xsub_t w5 = {.dir = STORE_XSUB_SIP,
                       .watcher = "w5@contoso.test",
                       .target = "bob@fabrikam.test",
                       .owner = "M1.adopt.test",
                       .call_id = "adopt@contoso.test",
                       .local_tag = "l1",
                       .remote_uri = "sip:someone@contoso.test",
                       .cseq = 9,
                       .expires_s = 1900000000};
    bool lost = false;
    assert_int_equal(store_xsub_keep(s, &w5, &lost, &e), 0);
    assert_true(lost);
    xsubs_t kept = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "m5.adopt.test", xsub_cb, &kept, &e), 0);
    assert_int_equal(kept.n, 4);
    assert_non_null(strstr(kept.out, "sip w5@contoso.test>bob@fabrikam.test m5.adopt.test pending "
                                     "adopt@contoso.test/l1/  1 "));
    xsubs_t other = {.stop_after = -1};
    assert_int_equal(store_xsub_foreign(s, "m1.ADOPT.test", later + 100, xsub_cb, &other, &e), 0);
    assert_non_null(strstr(other.out, "sip w5@contoso.test>bob@fabrikam.test m5.adopt.test "));
    assert_non_null(strstr(other.out, "sip w4@contoso.test>bob@fabrikam.test m5.adopt.test "));
    assert_non_null(strstr(other.out, "sip w3@contoso.test>bob@fabrikam.test m3.adopt.test "));
    /* the check made m1 live: m5 adopts nothing of it afterwards */
    assert_int_equal(store_xsub_adopt(s2, "m5.adopt.test", P, later + 100, NULL, NULL, &n, &e), 0);
    assert_int_equal(n, 0);
    store_xsub_t w6 = w5;
    snprintf(w6.watcher, sizeof w6.watcher, "w6@contoso.test");
    assert_int_equal(store_xsub_keep(s, &w6, &lost, &e), 0);
    assert_false(lost); /* a row nobody had: added */
    xsubs_t m1 = {.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "M1.adopt.test", xsub_cb, &m1, &e), 0);
    assert_int_equal(m1.n, 1);
    assert_non_null(strstr(m1.out, "sip w6@contoso.test>bob@fabrikam.test M1.adopt.test "));
    xsubs_t none1 = {.stop_after = -1};
    assert_int_equal(store_xsub_foreign(s, "m5.adopt.test", later + 100, xsub_cb, &none1, &e), 0);
    assert_null(strstr(none1.out, "m5.adopt.test"));
    assert_non_null(strstr(none1.out, "sip w6@contoso.test>bob@fabrikam.test M1.adopt.test "));
    w5.cseq = 10;
    snprintf(w5.owner, sizeof w5.owner, "m5.adopt.test");
    assert_int_equal(store_xsub_keep(s2, &w5, &lost, &e), 0);
    assert_false(lost); /* the owner's own update */
    kept = (xsubs_t){.stop_after = -1};
    assert_int_equal(store_xsub_list(s, "m5.adopt.test", xsub_cb, &kept, &e), 0);
    assert_non_null(strstr(kept.out, "sip w5@contoso.test>bob@fabrikam.test m5.adopt.test pending "
                                     "adopt@contoso.test/l1/  10 "));
    /* a new subscription made through m1 claims the row back (put) */
    snprintf(w5.owner, sizeof w5.owner, "m1.adopt.test");
    assert_int_equal(store_xsub_put(s, &w5, &e), 0);
    assert_int_equal(store_xsub_keep(s2, &w5, &lost, &e), 0);
    assert_false(lost);
    snprintf(w5.owner, sizeof w5.owner, "m5.adopt.test");
    assert_int_equal(store_xsub_keep(s2, &w5, &lost, &e), 0);
    assert_true(lost);
    /* bad input */
    assert_int_equal(store_xsub_foreign(s, "not a name", now, xsub_cb, &other, &e), FEDGE_EINVAL);
    assert_int_equal(store_xsub_adopt(s, "not a name", P, now, NULL, NULL, &n, &e), FEDGE_EINVAL);
    store_close(s2);
    store_close(s);
}

static void test_adoption(void **state)
{
    snprintf(path, sizeof path, "/tmp/fedge-xsub-adopt-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    adoption_in(path);
    unlink(path);
}

static void test_adoption_pg(void **state)
{
    adoption_in(getenv("FEDGE_TEST_PG_URI"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_block_remove_and_load),
        cmocka_unit_test(test_subscriptions),
        cmocka_unit_test(test_adoption),
    };
    const char *pg = getenv("FEDGE_TEST_PG_URI");
    if (pg && *pg) {
        const struct CMUnitTest pg_tests[] = {cmocka_unit_test(test_subscriptions_pg),
                                              cmocka_unit_test(test_adoption_pg)};
        return cmocka_run_group_tests(pg_tests, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
