/* test_proxy_media.c — the proxy's media hook: a request held until
 * proxy_media_resume and forwarded with the body the hook gave (inside the
 * one print, Content-Length right), a refusal (503 with the Warning), a
 * response held and later ones of its transaction kept behind it in order,
 * an ACK held, the notifications (CANCEL, the edge's own final failure),
 * and 504 when the hook never answers. Driven through an injected
 * transport and clock. */
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

struct proxy_conn {
    int id;
};

typedef struct {
    bool to; /* to a host (else on a connection) */
    proxy_conn_t *conn;
    char host[256];
    uint16_t port;
    char data[8192];
} sent_t;

static sent_t sent[64];
static unsigned nsent;
static uint64_t clock_ms;
static proxy_conn_t up = {1}, hop = {10};

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static int io_send(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                   proxy_conn_t **used, fedge_err_t *why)
{
    (void)ctx;
    if (d->kind == PROXY_TO_REUSE)
        return fedge_err(why, FEDGE_ENOENT, "no connection");
    assert_true(nsent < 64 && len < sizeof(sent[0].data));
    sent_t *s = &sent[nsent++];
    memset(s, 0, sizeof(*s));
    memcpy(s->data, data, len);
    if (d->kind == PROXY_TO_CONN) {
        s->conn = d->conn;
    } else {
        s->to = true;
        snprintf(s->host, sizeof(s->host), "%s", d->host);
        s->port = d->port;
        s->conn = &hop;
    }
    if (used)
        *used = s->conn;
    return 0;
}

static proxy_t *px;
static const char *ext_names[] = {"edge.fabrikam.test"};
static const net_peer_t ext_cert = {
    .presented = true, .verified = true, .dns = ext_names, .n_dns = 1, .eku_ok = true};
static proxy_peer_t ext_peer = {PROXY_SIDE_EXTERNAL, "192.0.2.50:40000", &ext_cert};
static proxy_peer_t int_peer = {PROXY_SIDE_INTERNAL, "10.0.0.5:40001", NULL};

/* what the media hook does */
static int mode; /* return value for messages with a body */
static uint64_t ticket;
static int calls, local_calls, cancel_calls;
static int last_local;
static char warn[160];

static int media(void *user, const proxy_media_in_t *in, proxy_media_verdict_t *v)
{
    (void)user;
    calls++;
    if (in->local_status) {
        local_calls++;
        last_local = in->local_status;
        return 0;
    }
    if (in->msg->is_request && in->msg->method_id == SIP_METHOD_CANCEL) {
        cancel_calls++;
        return 0;
    }
    if (!in->msg->body.len)
        return 0;
    ticket = in->ticket;
    if (mode == 1) { /* refuse */
        v->status = 503;
        snprintf(v->warning, sizeof(v->warning), "%s", warn);
        return 1;
    }
    return mode;
}

static int setup(void **state)
{
    (void)state;
    obs_log_init(OBS_LOG_ERROR, OBS_LOG_TEXT, NULL);
    nsent = 0;
    clock_ms = 1000000;
    mode = PROXY_MEDIA_PENDING;
    calls = local_calls = cancel_calls = last_local = 0;
    snprintf(warn, sizeof(warn), "media relay failed: rtpengine 127.0.0.1:2223 did not answer");
    proxy_cfg_t cfg;
    tu_proxy_cfg(&cfg, "10.0.0.7");
    strcpy(cfg.default_route.host, "192.0.2.80");
    cfg.default_route.port = 5061;
    proxy_io_t io = {.ctx = NULL, .now_ms = io_now, .send = io_send};
    fedge_err_t e;
    assert_int_equal(proxy_new(&cfg, &io, &px, &e), 0);
    proxy_set_media(px, media, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proxy_free(px);
    px = NULL;
    return 0;
}

static void feed(const proxy_peer_t *peer, proxy_conn_t *c, const char *msg)
{
    assert_int_equal(proxy_on_message(px, c, peer, msg, strlen(msg)), 0);
}

static int status_of(unsigned i)
{
    int st = 0;
    sscanf(sent[i].data, "SIP/2.0 %d", &st);
    return st;
}

#define SDP_A "v=0\r\nc=IN IP4 192.0.2.60\r\nm=audio 4000 RTP/AVP 0\r\n"
#define SDP_B "v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 5000 RTP/AVP 0\r\n"
#define NEW_SDP "v=0\r\nc=IN IP4 127.0.0.2\r\nm=audio 30000 RTP/AVP 0 8\r\n"

static const char INVITE[] = "INVITE sip:carol@contoso.test SIP/2.0\r\n"
                             "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-inv-1\r\n"
                             "Max-Forwards: 70\r\n"
                             "From: <sip:bob@fabrikam.test>;tag=f1\r\n"
                             "To: <sip:carol@contoso.test>\r\n"
                             "Call-ID: media-1@fabrikam.test\r\n"
                             "CSeq: 1 INVITE\r\n"
                             "Content-Type: application/sdp\r\n"
                             "Content-Length: 50\r\n\r\n" SDP_A;

/* The response to the forwarded INVITE (sent[i]) with its branch. */
static void respond(unsigned i, int status, const char *body)
{
    const char *br = strstr(sent[i].data, "branch=z9hG4bK");
    assert_non_null(br);
    char branch[64];
    sscanf(br + 7, "%63[^;\r\n]", branch);
    char msg[2048];
    snprintf(msg, sizeof(msg),
             "SIP/2.0 %d X\r\n"
             "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=%s\r\n"
             "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-inv-1\r\n"
             "From: <sip:bob@fabrikam.test>;tag=f1\r\n"
             "To: <sip:carol@contoso.test>;tag=t2\r\n"
             "Call-ID: media-1@fabrikam.test\r\n"
             "CSeq: 1 INVITE\r\n"
             "%s"
             "Content-Length: %zu\r\n\r\n%s",
             status, branch, body[0] ? "Content-Type: application/sdp\r\n" : "", strlen(body),
             body);
    feed(&int_peer, &hop, msg);
}

static void test_request_held_then_forwarded_with_new_body(void **state)
{
    (void)state;
    assert_int_equal(strlen(SDP_A), 50);
    feed(&ext_peer, &up, INVITE);
    assert_int_equal(nsent, 1); /* 100 Trying only: the INVITE waits */
    assert_int_equal(status_of(0), 100);
    proxy_media_verdict_t v = {.replace = true, .body = NEW_SDP, .body_len = strlen(NEW_SDP)};
    assert_int_equal(proxy_media_resume(px, ticket, &v), 0);
    assert_int_equal(nsent, 2);
    assert_string_equal(sent[1].host, "10.0.0.7");
    char want[256];
    assert_int_equal(strlen(NEW_SDP), 52);
    snprintf(want, sizeof(want), "\r\nContent-Length: 52\r\n");
    if (!strstr(sent[1].data, want) || !strstr(sent[1].data, "\r\n\r\n" NEW_SDP))
        fail_msg("forwarded:\n%s", sent[1].data);
    assert_null(strstr(sent[1].data, "192.0.2.60"));
    assert_int_equal(proxy_media_resume(px, ticket, &v), FEDGE_ENOENT);

    /* The 183 is held; the 200 without body comes before its verdict:
     * it waits behind, then both go up in order. */
    respond(1, 183, SDP_B);
    uint64_t t183 = ticket;
    assert_int_equal(nsent, 2);
    respond(1, 200, "");
    assert_int_equal(nsent, 2);
    proxy_media_verdict_t v2 = {.replace = true, .body = NEW_SDP, .body_len = strlen(NEW_SDP)};
    assert_int_equal(proxy_media_resume(px, t183, &v2), 0);
    assert_int_equal(nsent, 4);
    assert_int_equal(status_of(2), 183);
    assert_ptr_equal(sent[2].conn, &up);
    assert_non_null(strstr(sent[2].data, want));
    assert_non_null(strstr(sent[2].data, "\r\n\r\n" NEW_SDP));
    assert_null(strstr(sent[2].data, "10.0.0.9"));
    assert_null(strstr(sent[2].data, "branch=z9hG4bK-inv-1\r\nVia")); /* our Via popped */
    assert_int_equal(status_of(3), 200);
    assert_non_null(strstr(sent[3].data, "\r\nContent-Length: 0\r\n\r\n"));
}

static void test_refused_with_warning(void **state)
{
    (void)state;
    mode = 1;
    feed(&ext_peer, &up, INVITE);
    assert_int_equal(nsent, 2); /* 100, then the refusal */
    assert_int_equal(status_of(1), 503);
    assert_non_null(strstr(sent[1].data, "\r\nWarning: 399 edge.contoso.test \"media relay "
                                         "failed: rtpengine 127.0.0.1:2223 did not answer\"\r\n"));
    assert_int_equal(local_calls, 1); /* the edge's own failure is told */
    assert_int_equal(last_local, 503);

    /* Held, then refused by the resume. */
    mode = PROXY_MEDIA_PENDING;
    static const char INV2[] = "INVITE sip:carol@contoso.test SIP/2.0\r\n"
                               "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-inv-2\r\n"
                               "Max-Forwards: 70\r\n"
                               "From: <sip:bob@fabrikam.test>;tag=f1\r\n"
                               "To: <sip:carol@contoso.test>\r\n"
                               "Call-ID: media-2@fabrikam.test\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Content-Type: application/sdp\r\n"
                               "Content-Length: 50\r\n\r\n" SDP_A;
    feed(&ext_peer, &up, INV2);
    proxy_media_verdict_t v = {.status = 503};
    snprintf(v.warning, sizeof(v.warning), "media relay failed: timeout");
    assert_int_equal(proxy_media_resume(px, ticket, &v), 0);
    assert_int_equal(status_of(nsent - 1), 503);
    assert_non_null(strstr(sent[nsent - 1].data, "media relay failed: timeout"));
}

static void test_cancel_while_held_and_timeout(void **state)
{
    (void)state;
    feed(&ext_peer, &up, INVITE);
    static const char CANCEL[] = "CANCEL sip:carol@contoso.test SIP/2.0\r\n"
                                 "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-inv-1\r\n"
                                 "Max-Forwards: 70\r\n"
                                 "From: <sip:bob@fabrikam.test>;tag=f1\r\n"
                                 "To: <sip:carol@contoso.test>\r\n"
                                 "Call-ID: media-1@fabrikam.test\r\n"
                                 "CSeq: 1 CANCEL\r\n"
                                 "Content-Length: 0\r\n\r\n";
    feed(&ext_peer, &up, CANCEL);
    assert_int_equal(cancel_calls, 1);
    assert_int_equal(status_of(1), 200); /* to the CANCEL */
    assert_int_equal(status_of(2), 487); /* the INVITE ends here */
    assert_int_equal(last_local, 487);
    proxy_media_verdict_t v = {0};
    assert_int_equal(proxy_media_resume(px, ticket, &v), FEDGE_ENOENT);

    /* Never resumed: 504 after PROXY_MEDIA_WAIT_MS. */
    nsent = 0;
    static const char INV3[] = "INVITE sip:carol@contoso.test SIP/2.0\r\n"
                               "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-inv-3\r\n"
                               "Max-Forwards: 70\r\n"
                               "From: <sip:bob@fabrikam.test>;tag=f1\r\n"
                               "To: <sip:carol@contoso.test>\r\n"
                               "Call-ID: media-3@fabrikam.test\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Content-Type: application/sdp\r\n"
                               "Content-Length: 50\r\n\r\n" SDP_A;
    feed(&ext_peer, &up, INV3);
    clock_ms += PROXY_MEDIA_WAIT_MS + 1;
    proxy_tick(px);
    assert_int_equal(status_of(nsent - 1), 504);
}

static void test_ack_held(void **state)
{
    (void)state;
    /* An ACK with SDP (late offer's answer), in dialog through our
     * Record-Route, held then forwarded with the new body. */
    static const char ACK[] = "ACK sip:carol@10.0.0.7:5060;transport=tcp SIP/2.0\r\n"
                              "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-ack-1\r\n"
                              "Max-Forwards: 70\r\n"
                              "Route: <sip:edge.contoso.test:5061;transport=tls;lr>,"
                              "<sip:10.0.0.1:5060;transport=tcp;lr>\r\n"
                              "From: <sip:bob@fabrikam.test>;tag=f1\r\n"
                              "To: <sip:carol@contoso.test>;tag=t2\r\n"
                              "Call-ID: media-4@fabrikam.test\r\n"
                              "CSeq: 1 ACK\r\n"
                              "Content-Type: application/sdp\r\n"
                              "Content-Length: 50\r\n\r\n" SDP_A;
    feed(&ext_peer, &up, ACK);
    assert_int_equal(nsent, 0);
    proxy_media_verdict_t v = {.replace = true, .body = NEW_SDP, .body_len = strlen(NEW_SDP)};
    assert_int_equal(proxy_media_resume(px, ticket, &v), 0);
    assert_int_equal(nsent, 1);
    assert_non_null(strstr(sent[0].data, "ACK sip:carol@10.0.0.7:5060;transport=tcp SIP/2.0\r\n"));
    assert_non_null(strstr(sent[0].data, NEW_SDP));
    assert_null(strstr(sent[0].data, "192.0.2.60"));
}

/* A held 2xx outlives the transaction's timers: the transaction is freed
 * only once the response went up. */
static void test_held_response_outlives_timers(void **state)
{
    (void)state;
    mode = 0; /* the INVITE goes on at once */
    feed(&ext_peer, &up, INVITE);
    assert_int_equal(nsent, 2);
    mode = PROXY_MEDIA_PENDING;
    respond(1, 200, SDP_B);
    assert_int_equal(nsent, 2);
    clock_ms += 64 * 500 + 1000; /* past Timer L */
    proxy_tick(px);
    assert_int_equal(proxy_txn_count(px), 1);
    proxy_media_verdict_t v = {.replace = true, .body = NEW_SDP, .body_len = strlen(NEW_SDP)};
    assert_int_equal(proxy_media_resume(px, ticket, &v), 0);
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(2), 200);
    assert_non_null(strstr(sent[2].data, "\r\n\r\n" NEW_SDP));
    assert_int_equal(proxy_txn_count(px), 0); /* freed once sent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_held_then_forwarded_with_new_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_with_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_while_held_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_response_outlives_timers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
