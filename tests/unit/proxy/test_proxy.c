/* test_proxy.c — unit tests of the transaction-stateful proxy driven
 * through an injected transport and clock, where C assertions read better
 * than the cases of tests/data/proxy/ (test_proxy_data.c): metrics, parse
 * errors, loops, ACK and CANCEL handling, timers B and C, failover with late
 * answers, the policy hook's input, mutated input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/obs.h"
#include "proxy/proxy.h"
#include "proxy_fixture.h"

/* ---- the injected transport ---- */

struct proxy_conn {
    int id;
};

typedef enum { SENT_CONN, SENT_TO, SENT_REUSE } sent_kind_t;

typedef struct {
    sent_kind_t kind;
    proxy_conn_t *conn;
    proxy_side_t side;
    char host[256];
    uint16_t port;
    char *data;
    size_t len;
} sent_t;

static sent_t sent[4096];
static unsigned nsent;
static uint64_t clock_ms;
static proxy_conn_t up = {1}, hop_conn[4] = {{10}, {11}, {12}, {13}};
static proxy_conn_t fed_conn = {20}, reuse_conn = {30};
static int fail_send_to_hop = -1; /* next hop index whose sends cannot start */
static bool reuse_ok;

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static sent_t *record(sent_kind_t k, const char *data, size_t len)
{
    assert_true(nsent < FEDGE_ARRAY_LEN(sent));
    sent_t *s = &sent[nsent++];
    memset(s, 0, sizeof(*s));
    s->kind = k;
    s->data = malloc(len + 1);
    memcpy(s->data, data, len);
    s->data[len] = 0;
    s->len = len;
    return s;
}

/* proxy_io_t.send: CONN and REUSE as they come; HOST to "sipN..." is next
 * hop N (fail_send_to_hop refuses one), anything else the federation. */
static int io_send(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                   proxy_conn_t **used, fedge_err_t *why)
{
    (void)ctx;
    proxy_conn_t *c = NULL;
    sent_t *s;
    switch (d->kind) {
    case PROXY_TO_CONN:
        record(SENT_CONN, data, len)->conn = d->conn;
        c = d->conn;
        break;
    case PROXY_TO_REUSE:
        if (!reuse_ok)
            return fedge_err(why, FEDGE_ENOENT, "no connection");
        s = record(SENT_REUSE, data, len);
        s->side = d->side;
        snprintf(s->host, sizeof(s->host), "%s", d->host);
        s->port = d->port;
        s->conn = c = &reuse_conn;
        break;
    case PROXY_TO_HOST:
    case PROXY_TO_CANDIDATE: {
        int hop = -1;
        if (!strncmp(d->host, "sip", 3))
            hop = d->host[3] - '1';
        if (hop >= 0 && hop == fail_send_to_hop)
            return fedge_err(why, FEDGE_EIO, "refused");
        s = record(SENT_TO, data, len);
        s->side = d->side;
        snprintf(s->host, sizeof(s->host), "%s", d->host);
        s->port = d->port;
        s->conn = c = hop >= 0 ? &hop_conn[hop] : &fed_conn;
        break;
    }
    }
    if (used)
        *used = c;
    return 0;
}

static proxy_t *px;
static proxy_cfg_t cfg;
static const char *ext_names[] = {"edge.fabrikam.test", "fabrikam.test"};
static const net_peer_t ext_cert = {
    .presented = true, .verified = true, .dns = ext_names, .n_dns = 2, .eku_ok = true};
static proxy_peer_t ext_peer = {PROXY_SIDE_EXTERNAL, "192.0.2.50:40000", &ext_cert};
static proxy_peer_t int_peer = {PROXY_SIDE_INTERNAL, "10.0.0.5:40001", NULL};
static proxy_peer_t hop_peer = {PROXY_SIDE_INTERNAL, "10.0.0.7:5060", NULL};

static void clear_sent(void)
{
    for (unsigned i = 0; i < nsent; i++)
        free(sent[i].data);
    nsent = 0;
}

static int setup(void **state)
{
    (void)state;
    obs_log_init(OBS_LOG_ERROR, OBS_LOG_TEXT, NULL);
    clear_sent();
    clock_ms = 1000000;
    fail_send_to_hop = -1;
    reuse_ok = false;
    tu_proxy_cfg(&cfg, "sip1.contoso.test");
    strcpy(cfg.next_hops[1].host, "sip2.contoso.test");
    cfg.next_hops[1].port = 5060;
    cfg.nnext_hops = 2;
    strcpy(cfg.default_route.host, "fed.example.net");
    cfg.default_route.port = 5061;
    proxy_io_t io = {NULL, io_now, io_send, NULL};
    fedge_err_t e;
    assert_int_equal(proxy_new(&cfg, &io, &px, &e), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proxy_free(px);
    px = NULL;
    clear_sent();
    return 0;
}

/* ---- message helpers ---- */

static int feed(proxy_conn_t *c, const proxy_peer_t *peer, const char *fmt, ...)
{
    char b[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    return proxy_on_message(px, c, peer, b, strlen(b));
}

static sip_msg_t pm;

/* Parses sent[i] (must be valid SIP) into pm. */
static sip_msg_t *sent_msg(unsigned i)
{
    assert_true(i < nsent);
    assert_int_equal(sip_parse(sent[i].data, sent[i].len, NULL, &pm), 0);
    return &pm;
}

/* Value of the n-th header named name in sent[i], as a C string. */
static const char *hdr(unsigned i, const char *name, unsigned n)
{
    static char out[1024];
    sip_msg_t *m = sent_msg(i);
    for (unsigned h = 0; h < m->nhdrs; h++) {
        sip_hdr_id_t id = sip_hdr_id(name, strlen(name));
        bool match =
            id != SIP_HDR_OTHER ? m->hdrs[h].id == id : fedge_str_ieq(m->hdrs[h].name, name);
        if (match && n-- == 0) {
            snprintf(out, sizeof(out), "%.*s", (int)m->hdrs[h].value.len, m->hdrs[h].value.s);
            return out;
        }
    }
    return NULL;
}

static int status_of(unsigned i)
{
    sip_msg_t *m = sent_msg(i);
    return m->is_request ? 0 : m->status;
}

static const char *start_of(unsigned i)
{
    static char out[512];
    sip_msg_t *m = sent_msg(i);
    snprintf(out, sizeof(out), "%.*s", (int)m->start_line.len, m->start_line.s);
    return out;
}

/* Branch of the topmost Via of sent[i]. */
static const char *top_branch(unsigned i)
{
    static char out[128];
    sip_msg_t *m = sent_msg(i);
    const sip_via_t *v;
    assert_int_equal(sip_msg_via(m, &v), 0);
    snprintf(out, sizeof(out), "%.*s", (int)v->branch.len, v->branch.s);
    return out;
}

#define EXT_REQ(method, ruri, cseq, extra)                                                         \
    method " " ruri " SIP/2.0\r\n"                                                                 \
           "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKup1\r\n"                        \
           "Max-Forwards: 70\r\n"                                                                  \
           "From: <sip:bob@fabrikam.test>;tag=f1\r\n"                                              \
           "To: <sip:alice@contoso.test>\r\n"                                                      \
           "Call-ID: call1@fabrikam\r\n"                                                           \
           "CSeq: " cseq " " method "\r\n" extra "Content-Length: 0\r\n\r\n"

/* A response from downstream to the forwarded request in sent[i]. */
static int respond(unsigned i, proxy_conn_t *c, const proxy_peer_t *peer, int code,
                   const char *reason, const char *to_tag)
{
    sip_msg_t *m = sent_msg(i);
    char b[8192], rr[2048] = "";
    size_t len, rl = 0;
    /* a UAS copies the Record-Route set into its responses (§12.1.1) */
    for (unsigned h = 0; h < m->nhdrs; h++)
        if (m->hdrs[h].id == SIP_HDR_RECORD_ROUTE && rl + m->hdrs[h].raw.len < sizeof(rr)) {
            memcpy(rr + rl, m->hdrs[h].raw.s, m->hdrs[h].raw.len);
            rl += m->hdrs[h].raw.len;
            rr[rl] = 0;
        }
    assert_int_equal(sip_build_response(m, code, reason, to_tag, rr, b, sizeof(b), &len), 0);
    return proxy_on_message(px, c, peer, b, len);
}

static proxy_stats_t stats(void)
{
    proxy_stats_t s;
    proxy_stats(px, &s);
    return s;
}

/* ---- tests ---- */

static void test_message_external_to_internal(void **state)
{
    (void)state;
    assert_int_equal(feed(&up, &ext_peer,
                          EXT_REQ("MESSAGE", "sip:alice@contoso.test", "1",
                                  "Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\n"
                                  "Content-Type: text/plain\r\n")),
                     0);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].kind, SENT_TO);
    assert_int_equal(sent[0].side, PROXY_SIDE_INTERNAL);
    assert_string_equal(sent[0].host, "sip1.contoso.test");
    assert_string_equal(start_of(0), "MESSAGE sip:alice@contoso.test SIP/2.0");
    /* our Via on top, internal interface, over TCP */
    const char *via = hdr(0, "Via", 0);
    assert_non_null(strstr(via, "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK"));
    assert_int_equal(proxy_pending_count(px), 1);
    assert_string_equal(hdr(0, "Via", 1), "SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKup1");
    assert_string_equal(hdr(0, "Max-Forwards", 0), "69");
    assert_null(hdr(0, "Route", 0)); /* our own Route popped */
    /* two Record-Route entries: where it leaves, then where it came in */
    assert_string_equal(hdr(0, "Record-Route", 0), "<sip:10.0.0.1:5060;transport=tcp;lr>");
    assert_string_equal(hdr(0, "Record-Route", 1), "<sip:edge.contoso.test:5061;transport=tls;lr>");
    assert_null(hdr(0, "Record-Route", 2));
    assert_int_equal(proxy_txn_count(px), 1);

    /* a response from the wrong side is ignored */
    assert_int_equal(respond(0, &up, &ext_peer, 200, NULL, "t2"), 0);
    assert_int_equal(nsent, 1);
    /* the 200 goes back on the connection it came in on, our Via popped */
    assert_int_equal(respond(0, &hop_conn[0], &hop_peer, 200, NULL, "t2"), 0);
    assert_int_equal(nsent, 2);
    assert_int_equal(sent[1].kind, SENT_CONN);
    assert_ptr_equal(sent[1].conn, &up);
    assert_int_equal(status_of(1), 200);
    assert_string_equal(hdr(1, "Via", 0), "SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKup1");
    assert_null(hdr(1, "Via", 1));
    assert_int_equal(proxy_txn_count(px), 0);
    assert_int_equal(stats().forwarded_requests, 1);
    assert_int_equal(stats().forwarded_responses, 1);
    /* the counters reach the metrics registry on the next tick */
    proxy_tick(px);
    char *mbuf = NULL;
    size_t mlen = 0;
    FILE *mf = open_memstream(&mbuf, &mlen);
    assert_int_equal(obs_metrics_write(mf), 0);
    fclose(mf);
    assert_non_null(strstr(mbuf, "\nfedge_sip_requests_forwarded_total 1\n"));
    assert_non_null(strstr(mbuf, "\nfedge_sip_responses_forwarded_total 1\n"));
    assert_non_null(strstr(mbuf, "\nfedge_sip_requests_total 1\n"));
    free(mbuf);
}

static void test_parse_errors(void **state)
{
    (void)state;
    /* a bad Max-Forwards: answerable, 400 with the reason */
    int rc = feed(&up, &ext_peer,
                  "MESSAGE sip:alice@contoso.test SIP/2.0\r\n"
                  "Via: SIP/2.0/TLS edge.fabrikam.test;branch=z9hG4bKp1\r\n"
                  "Max-Forwards: lots\r\nFrom: <sip:bob@fabrikam.test>;tag=o\r\n"
                  "To: <sip:alice@contoso.test>\r\nCall-ID: p1\r\nCSeq: 1 MESSAGE\r\n"
                  "Content-Length: 0\r\n\r\n");
    assert_int_equal(rc, 0);
    assert_int_equal(nsent, 1);
    assert_int_equal(status_of(0), 400);
    assert_string_equal(start_of(0), "SIP/2.0 400 Malformed Max-Forwards");
    assert_non_null(strstr(hdr(0, "Warning", 0), "Malformed Max-Forwards"));
    /* no Call-ID: a best-effort 400 with what was readable; the
     * connection stays (framing is intact) */
    clear_sent();
    rc = feed(&up, &ext_peer,
              "MESSAGE sip:alice@contoso.test SIP/2.0\r\n"
              "Via: SIP/2.0/TLS edge.fabrikam.test;branch=z9hG4bKp2\r\n"
              "From: <sip:bob@fabrikam.test>;tag=o\r\nTo: <sip:alice@contoso.test>\r\n"
              "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(rc, 0);
    assert_int_equal(nsent, 1);
    assert_string_equal(start_of(0), "SIP/2.0 400 Malformed or Missing Call-ID");
    assert_string_equal(hdr(0, "Via", 0), "SIP/2.0/TLS edge.fabrikam.test;branch=z9hG4bKp2");
    assert_string_equal(hdr(0, "CSeq", 0), "1 MESSAGE");
    assert_null(hdr(0, "Call-ID", 0));
    assert_non_null(strstr(hdr(0, "Warning", 0), "Missing Call-ID"));
    /* a malformed header line: the parser stops, the 400 still goes */
    clear_sent();
    rc = feed(&up, &ext_peer,
              "MESSAGE sip:alice@contoso.test SIP/2.0\r\n"
              "Via: SIP/2.0/TLS edge.fabrikam.test;branch=z9hG4bKp3\r\n"
              "From: <sip:bob@fabrikam.test>;tag=o\r\nTo: <sip:alice@contoso.test>\r\n"
              "Call-ID: p3\r\nCSeq: 1 MESSAGE\r\nthis is no header\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(rc, 0);
    assert_int_equal(nsent, 1);
    assert_int_equal(status_of(0), 400);
    clear_sent();
    /* not SIP at all */
    rc = feed(&up, &ext_peer, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_true(rc < 0);
    assert_int_equal(nsent, 0);
}

static void test_loop_detected_482(void **state)
{
    (void)state;
    const char *req = "MESSAGE sip:bob@fabrikam.test SIP/2.0\r\n"
                      "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKl1\r\n"
                      "From: <sip:alice@contoso.test>;tag=a\r\nTo: <sip:bob@fabrikam.test>\r\n"
                      "Call-ID: loop1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
    feed(&up, &int_peer, "%s", req);
    assert_int_equal(nsent, 1);
    /* the default route sends it back inside, through another hop */
    char back[8192];
    snprintf(back, sizeof(back), "%s", sent[0].data);
    char *v = strstr(back, "Via:");
    char again[8192];
    snprintf(again, sizeof(again), "%.*sVia: SIP/2.0/TCP 10.0.0.9:5060;branch=z9hG4bKother\r\n%s",
             (int)(v - back), back, v);
    clear_sent();
    proxy_on_message(px, &up, &int_peer, again, strlen(again));
    assert_int_equal(nsent, 1);
    assert_int_equal(status_of(0), 482);
    assert_non_null(hdr(0, "Warning", 0));
}

static void test_invite_2xx_and_dialog(void **state)
{
    (void)state;
    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "1", ""));
    assert_int_equal(nsent, 2);
    respond(1, &hop_conn[0], &hop_peer, 200, NULL, "t200");
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(2), 200);
    /* the 2xx is copied back with the Record-Route set for the UAC */
    assert_string_equal(hdr(2, "Record-Route", 0), "<sip:10.0.0.1:5060;transport=tcp;lr>");
    assert_int_equal(proxy_txn_count(px), 1);     /* accepted: lingers for 2xx retransmissions */
    assert_int_equal(proxy_pending_count(px), 0); /* ...but a stop need not wait for it */
    /* a retransmitted 2xx still goes upstream */
    respond(1, &hop_conn[0], &hop_peer, 200, NULL, "t200");
    assert_int_equal(nsent, 4);
    assert_int_equal(status_of(3), 200);
    /* the ACK for the 2xx (new branch) follows the route set: our two
     * entries popped, forwarded inside without Record-Route */
    clear_sent();
    reuse_ok = false;
    feed(&up, &ext_peer,
         "ACK sip:alice@192.168.1.20 SIP/2.0\r\n"
         "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKack2\r\n"
         "Route: <sip:edge.contoso.test:5061;transport=tls;lr>, "
         "<sip:10.0.0.1:5060;transport=tcp;lr>\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:bob@fabrikam.test>;tag=f1\r\n"
         "To: <sip:alice@contoso.test>;tag=t200\r\nCall-ID: call1@fabrikam\r\nCSeq: 1 ACK\r\n"
         "Content-Length: 0\r\n\r\n");
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].kind, SENT_TO);
    assert_int_equal(sent[0].side, PROXY_SIDE_INTERNAL);
    assert_string_equal(start_of(0), "ACK sip:alice@192.168.1.20 SIP/2.0");
    assert_null(hdr(0, "Route", 0));
    assert_null(hdr(0, "Record-Route", 0));
    assert_string_equal(hdr(0, "Max-Forwards", 0), "69");
    /* BYE from inside in the dialog: route set <int>, <ext> → goes out */
    clear_sent();
    feed(&hop_conn[0], &hop_peer,
         "BYE sip:bob@203.0.113.5 SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 10.0.0.7:5060;branch=z9hG4bKbye1\r\n"
         "Route: <sip:10.0.0.1:5060;transport=tcp;lr>\r\n"
         "Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:alice@contoso.test>;tag=t200\r\n"
         "To: <sip:bob@fabrikam.test>;tag=f1\r\nCall-ID: call1@fabrikam\r\nCSeq: 1 BYE\r\n"
         "Content-Length: 0\r\n\r\n");
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].side, PROXY_SIDE_EXTERNAL);
    assert_string_equal(sent[0].host, "fed.example.net");
    assert_null(hdr(0, "Route", 0));
    assert_null(hdr(0, "Record-Route", 0));   /* mid-dialog: no new Record-Route */
    assert_int_equal(proxy_txn_count(px), 2); /* the INVITE lingers, the BYE waits */
    /* after 64*T1 both are gone: the INVITE quietly, the BYE with a 408 */
    clock_ms += 64 * 500;
    proxy_tick(px);
    assert_int_equal(proxy_txn_count(px), 0);
    assert_int_equal(nsent, 2);
    assert_int_equal(status_of(1), 408);
    assert_ptr_equal(sent[1].conn, &hop_conn[0]);
}

static void test_cancel_after_provisional(void **state)
{
    (void)state;
    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "5", ""));
    char br[128];
    snprintf(br, sizeof(br), "%s", top_branch(1));
    respond(1, &hop_conn[0], &hop_peer, 180, NULL, "t1");
    assert_int_equal(nsent, 3);
    feed(&up, &ext_peer,
         "CANCEL sip:alice@contoso.test SIP/2.0\r\n"
         "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKup1\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:bob@fabrikam.test>;tag=f1\r\n"
         "To: <sip:alice@contoso.test>\r\nCall-ID: call1@fabrikam\r\nCSeq: 5 CANCEL\r\n"
         "Content-Length: 0\r\n\r\n");
    /* 200 for the CANCEL upstream, CANCEL downstream with the INVITE's branch */
    assert_int_equal(nsent, 5);
    assert_int_equal(status_of(3), 200);
    assert_string_equal(hdr(3, "CSeq", 0), "5 CANCEL");
    assert_ptr_equal(sent[4].conn, &hop_conn[0]);
    assert_string_equal(start_of(4), "CANCEL sip:alice@contoso.test SIP/2.0");
    assert_string_equal(top_branch(4), br);
    assert_string_equal(hdr(4, "CSeq", 0), "5 CANCEL");
    assert_null(hdr(4, "Via", 1)); /* only our Via */
    /* the 200 to our CANCEL is absorbed; the 487 is ACKed and forwarded */
    respond(4, &hop_conn[0], &hop_peer, 200, NULL, "t1");
    assert_int_equal(nsent, 5);
    respond(1, &hop_conn[0], &hop_peer, 487, NULL, "t1");
    assert_int_equal(nsent, 7);
    assert_string_equal(start_of(5), "ACK sip:alice@contoso.test SIP/2.0");
    assert_int_equal(status_of(6), 487);
}

static void test_cancel_before_provisional_and_unmatched(void **state)
{
    (void)state;
    feed(&up, &ext_peer,
         "CANCEL sip:alice@contoso.test SIP/2.0\r\n"
         "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKnone\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:bob@fabrikam.test>;tag=f1\r\n"
         "To: <sip:alice@contoso.test>\r\nCall-ID: nothing\r\nCSeq: 5 CANCEL\r\n"
         "Content-Length: 0\r\n\r\n");
    assert_int_equal(nsent, 1);
    assert_int_equal(status_of(0), 481);
    assert_non_null(hdr(0, "Warning", 0));
    clear_sent();

    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "5", ""));
    assert_int_equal(nsent, 2);
    feed(&up, &ext_peer,
         "CANCEL sip:alice@contoso.test SIP/2.0\r\n"
         "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKup1\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:bob@fabrikam.test>;tag=f1\r\n"
         "To: <sip:alice@contoso.test>\r\nCall-ID: call1@fabrikam\r\nCSeq: 5 CANCEL\r\n"
         "Content-Length: 0\r\n\r\n");
    /* 200 at once, but no CANCEL downstream before a provisional (§9.1) */
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(2), 200);
    respond(1, &hop_conn[0], &hop_peer, 100, NULL, NULL);
    assert_int_equal(nsent, 4);
    assert_string_equal(start_of(3), "CANCEL sip:alice@contoso.test SIP/2.0");
    /* nobody answers: after the guard the upstream gets 487 */
    clock_ms += 64 * 500;
    proxy_tick(px);
    assert_int_equal(nsent, 5);
    assert_int_equal(status_of(4), 487);
}

static void test_timer_b_and_c(void **state)
{
    (void)state;
    /* Timer B: no response at all */
    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "1", ""));
    clock_ms += 64 * 500;
    proxy_tick(px);
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(2), 408);
    /* the upstream ACKs the 408: absorbed */
    assert_int_equal(proxy_txn_count(px), 1);
    clock_ms += 64 * 500;
    proxy_tick(px);
    assert_int_equal(proxy_txn_count(px), 0);
    /* Timer C: a provisional, then silence: CANCEL, then 408 */
    clear_sent();
    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "2", ""));
    respond(1, &hop_conn[0], &hop_peer, 180, NULL, "tc");
    assert_int_equal(nsent, 3);
    clock_ms += 180000;
    proxy_tick(px);
    assert_int_equal(nsent, 4);
    assert_string_equal(start_of(3), "CANCEL sip:alice@contoso.test SIP/2.0");
    clock_ms += 64 * 500;
    proxy_tick(px);
    assert_int_equal(nsent, 5);
    assert_int_equal(status_of(4), 408);
}

static void test_failover_next_hops(void **state)
{
    (void)state;
    /* the first hop cannot even be tried */
    fail_send_to_hop = 0;
    feed(&up, &ext_peer, EXT_REQ("MESSAGE", "sip:alice@contoso.test", "1", ""));
    assert_int_equal(nsent, 1);
    assert_string_equal(sent[0].host, "sip2.contoso.test");
    assert_int_equal(stats().failovers, 1);
    respond(0, &hop_conn[1], &hop_peer, 200, NULL, "x");
    clear_sent();
    fail_send_to_hop = -1;
    /* the first hop's connection fails later */
    feed(&up, &ext_peer, EXT_REQ("MESSAGE", "sip:alice@contoso.test", "2", ""));
    assert_string_equal(sent[0].host, "sip1.contoso.test");
    char br0[128];
    snprintf(br0, sizeof(br0), "%s", top_branch(0));
    proxy_on_conn_closed(px, &hop_conn[0], FEDGE_EIO);
    assert_int_equal(nsent, 2);
    assert_string_equal(sent[1].host, "sip2.contoso.test");
    assert_string_not_equal(top_branch(1), br0); /* a new client transaction */
    /* a 503 from the second (last) hop becomes a 500 upstream */
    respond(1, &hop_conn[1], &hop_peer, 503, NULL, "x");
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(2), 500);
    /* a 503 from the first hop fails over */
    clear_sent();
    feed(&up, &ext_peer, EXT_REQ("MESSAGE", "sip:alice@contoso.test", "3", ""));
    respond(0, &hop_conn[0], &hop_peer, 503, NULL, "x");
    assert_int_equal(nsent, 2);
    assert_string_equal(sent[1].host, "sip2.contoso.test");
    /* a late answer from the old attempt matches nothing and is dropped */
    respond(0, &hop_conn[0], &hop_peer, 200, NULL, "x");
    assert_int_equal(nsent, 2);
    respond(1, &hop_conn[1], &hop_peer, 200, NULL, "x");
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(2), 200);
}

static void test_response_when_upstream_conn_gone(void **state)
{
    (void)state;
    feed(&up, &ext_peer, EXT_REQ("MESSAGE", "sip:alice@contoso.test", "1", ""));
    proxy_on_conn_closed(px, &up, FEDGE_ECLOSED);
    /* no connection to the Via's address: dropped */
    respond(0, &hop_conn[0], &hop_peer, 200, NULL, "x");
    assert_int_equal(nsent, 1);
    clear_sent();
    feed(&up, &ext_peer, EXT_REQ("MESSAGE", "sip:alice@contoso.test", "2", ""));
    proxy_on_conn_closed(px, &up, FEDGE_ECLOSED);
    reuse_ok = true;
    respond(0, &hop_conn[0], &hop_peer, 200, NULL, "x");
    assert_int_equal(nsent, 2);
    assert_int_equal(sent[1].kind, SENT_REUSE);
    assert_int_equal(sent[1].side, PROXY_SIDE_EXTERNAL);
    assert_string_equal(sent[1].host, "edge.fabrikam.test");
    assert_int_equal(sent[1].port, 5061);
}

static proxy_policy_in_t seen;
static int policy_calls;

static int deny_bob(void *user, const proxy_policy_in_t *in, proxy_policy_verdict_t *v)
{
    (void)user;
    seen = *in;
    policy_calls++;
    if (fedge_str_eq(in->from_uri->user, "bob")) {
        v->status = 403;
        snprintf(v->warning, sizeof(v->warning), "partner \"fabrikam\" is blocked");
        return 1;
    }
    return 0;
}

static void test_policy_hook(void **state)
{
    (void)state;
    proxy_set_policy(px, deny_bob, NULL);
    feed(&up, &ext_peer, EXT_REQ("MESSAGE", "sip:alice@contoso.test", "1", ""));
    assert_int_equal(policy_calls, 1);
    assert_int_equal(seen.from_side, PROXY_SIDE_EXTERNAL);
    assert_int_equal(seen.to_side, PROXY_SIDE_INTERNAL);
    assert_ptr_equal(seen.peer->cert, &ext_cert);
    assert_string_equal(seen.peer->cert->dns[0], "edge.fabrikam.test");
    assert_true(fedge_str_eq(seen.to_uri->user, "alice"));
    assert_int_equal(nsent, 1);
    assert_int_equal(status_of(0), 403);
    /* quotes in the text are made safe inside the Warning */
    assert_string_equal(hdr(0, "Warning", 0),
                        "399 edge.contoso.test \"partner 'fabrikam' is blocked\"");
    /* allowed: forwarded; in-dialog requests do not ask the policy */
    clear_sent();
    feed(&up, &int_peer,
         "MESSAGE sip:bob2@fabrikam.test SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKpol\r\n"
         "From: <sip:alice@contoso.test>;tag=a\r\nTo: <sip:bob2@fabrikam.test>;tag=b\r\n"
         "Call-ID: pol\r\nCSeq: 2 MESSAGE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(policy_calls, 1);
    assert_int_equal(sent[0].kind, SENT_TO);
    policy_calls = 0;
}

static void test_retransmission_absorbed(void **state)
{
    (void)state;
    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "1", ""));
    assert_int_equal(nsent, 2);
    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "1", ""));
    /* not forwarded again; the 100 is repeated */
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(2), 100);
    assert_int_equal(proxy_txn_count(px), 1);
}

#define NOTIFY_IN                                                                                  \
    "NOTIFY sip:carol@10.0.0.44:48077;transport=tcp SIP/2.0\r\n"                                   \
    "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKup1\r\n"                               \
    "Route: <sip:edge.contoso.test:5061;transport=tls;lr>, "                                       \
    "<sip:10.0.0.1:5060;transport=tcp;lr>\r\n"                                                     \
    "Max-Forwards: 70\r\nFrom: <sip:dave@fabrikam.test>;tag=d\r\n"                                 \
    "To: <sip:carol@contoso.test>;tag=c\r\nCall-ID: sub1\r\nCSeq: 2 NOTIFY\r\n"                    \
    "Event: presence\r\nSubscription-State: active\r\nContent-Length: 0\r\n\r\n"

static void test_abort_pending(void **state)
{
    (void)state;
    feed(&up, &ext_peer, EXT_REQ("MESSAGE", "sip:alice@contoso.test", "1", ""));
    feed(&up, &ext_peer, EXT_REQ("INVITE", "sip:alice@contoso.test", "2", ""));
    assert_int_equal(nsent, 3);
    assert_int_equal(proxy_pending_count(px), 2);
    proxy_abort_pending(px, "edge shutting down");
    assert_int_equal(nsent, 5);
    assert_int_equal(status_of(3), 503);
    assert_int_equal(status_of(4), 503);
    assert_string_equal(hdr(3, "Retry-After", 0), "30");
    assert_string_equal(hdr(4, "Warning", 0), "399 edge.contoso.test \"edge shutting down\"");
    assert_int_equal(proxy_pending_count(px), 0);
    assert_int_equal(proxy_txn_count(px), 1); /* the INVITE waits for its ACK */
}

/* Deterministic mutations of valid requests and responses: whatever
 * parses must be handled without a crash, a leak or a stuck transaction
 * (run under ASan/UBSan by unit-san). */
static void test_mutated_input_is_safe(void **state)
{
    (void)state;
    static const char *seeds[] = {
        EXT_REQ("INVITE", "sip:alice@contoso.test", "1",
                "Route: <sip:edge.contoso.test:5061;transport=tls;lr>, <sip:10.0.0.1:5060;lr>\r\n"
                "Record-Route: <sip:edge.fabrikam.test;lr>\r\n"),
        NOTIFY_IN,
        "CANCEL sip:alice@contoso.test SIP/2.0\r\n"
        "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bKup1\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:bob@fabrikam.test>;tag=f1\r\n"
        "To: <sip:alice@contoso.test>\r\nCall-ID: call1@fabrikam\r\nCSeq: 1 CANCEL\r\n"
        "Content-Length: 0\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP "
        "10.0.0.1:5060;branch=z9hG4bK0123456789abcdef.0123456789abcdef\r\n"
        "Via: SIP/2.0/TLS [2001:db8::5]:5061;branch=z9hG4bKup1;received=2001:db8::6;rport=7000\r\n"
        "From: <sip:bob@fabrikam.test>;tag=f1\r\nTo: <sip:alice@contoso.test>;tag=x\r\n"
        "Call-ID: call1@fabrikam\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    };
    static const char alphabet[] = "<>;:,=@[]\"\\ \r\nz9hG4bK0123456789SIPsip.tcpTLSlr";
    uint32_t rnd = 12345;
    char b[4096];
    reuse_ok = true;
    for (unsigned iter = 0; iter < 3000; iter++) {
        const char *seed = seeds[iter % FEDGE_ARRAY_LEN(seeds)];
        size_t len = strlen(seed);
        memcpy(b, seed, len);
        /* a new branch each time, so most are new transactions */
        char *br = strstr(b, "z9hG4bKup1");
        if (br && iter % 5) {
            static const char d36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
            br[7] = d36[iter % 36];
            br[8] = d36[iter / 36 % 36];
            br[9] = d36[iter / 1296 % 36];
        }
        unsigned nmut = 1 + iter % 3;
        for (unsigned k = 0; k < nmut; k++) {
            rnd = rnd * 1103515245u + 12345u;
            size_t at = (rnd >> 8) % len;
            rnd = rnd * 1103515245u + 12345u;
            b[at] = alphabet[(rnd >> 8) % (sizeof(alphabet) - 1)];
        }
        proxy_conn_t *c = (iter & 1) ? &up : &hop_conn[0];
        const proxy_peer_t *peer = (iter & 2) ? &ext_peer : &int_peer;
        proxy_on_message(px, c, peer, b, len);
        /* answer whatever went downstream, sometimes */
        if (nsent && sent[nsent - 1].kind != SENT_CONN && (iter % 3) == 0 &&
            sip_parse(sent[nsent - 1].data, sent[nsent - 1].len, NULL, &pm) == 0 && pm.is_request &&
            pm.method_id != SIP_METHOD_ACK && sip_msg_check(&pm) == 0)
            respond(nsent - 1, sent[nsent - 1].conn, &hop_peer, 100 + (int)(iter % 6) * 100, NULL,
                    "m");
        if (iter % 97 == 0)
            proxy_on_conn_closed(px, &hop_conn[0], FEDGE_EIO);
        clear_sent();
    }
    /* everything ends once the timers have run */
    for (int i = 0; i < 12; i++) {
        clock_ms += 200000;
        proxy_tick(px);
        clear_sent();
    }
    assert_int_equal(proxy_txn_count(px), 0);
    assert_int_equal(proxy_pending_count(px), 0);
    /* the mutations reached every branch: forwarded, refused, malformed */
    proxy_stats_t st = stats();
    assert_true(st.forwarded_requests > 100);
    assert_true(st.forwarded_responses > 10);
    assert_true(st.rejected > 100);
    assert_true(st.parse_errors > 100);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_message_external_to_internal),
        T(test_parse_errors),
        T(test_loop_detected_482),
        T(test_invite_2xx_and_dialog),
        T(test_cancel_after_provisional),
        T(test_cancel_before_provisional_and_unmatched),
        T(test_timer_b_and_c),
        T(test_failover_next_hops),
        T(test_response_when_upstream_conn_gone),
        T(test_policy_hook),
        T(test_retransmission_absorbed),
        T(test_abort_pending),
        T(test_mutated_input_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
