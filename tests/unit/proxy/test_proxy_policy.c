/* test_proxy_policy.c — the proxy's policy hook beyond allow/deny: a
 * pending verdict parks the request (100 Trying to an INVITE, CANCEL
 * answers 487, 504 after PROXY_POLICY_WAIT_MS) until proxy_policy_resume;
 * refusals with extra headers; header edits made in the one print; a
 * target host; a target reached only over an existing connection (a
 * remote user's flow: 430 when it is gone); the registrars in order; the
 * result hook with the final status; a remote client's request for a
 * partner through the internal server, record-routed with its flow token,
 * and in-dialog requests carrying the token given to the hook. Driven through an injected transport
 * and clock. */
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
    proxy_to_t kind;
    proxy_conn_t *conn;
    char host[256];
    uint16_t port;
    char data[8192];
} sent_t;

static sent_t sent[64];
static unsigned nsent;
static uint64_t clock_ms;
static proxy_conn_t up = {1}, hop = {10};
static bool reuse_ok; /* PROXY_TO_REUSE finds a connection (hop) */

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static int io_send(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                   proxy_conn_t **used, fedge_err_t *why)
{
    (void)ctx;
    if (d->kind == PROXY_TO_REUSE && !reuse_ok)
        return fedge_err(why, FEDGE_ENOENT, "no connection");
    assert_true(nsent < 64 && len < sizeof(sent[0].data));
    sent_t *s = &sent[nsent++];
    memset(s, 0, sizeof(*s));
    memcpy(s->data, data, len);
    s->kind = d->kind;
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

/* what the hook does */
static int mode;                    /* return value */
static uint64_t ticket;             /* the last ticket seen */
static proxy_policy_verdict_t give; /* copied into the verdict */
static int calls;
static char seen_user[64]; /* route_user of the last call */
static uint64_t res_cookie;
static int res_status, res_calls;

static int hook(void *user, const proxy_policy_in_t *in, proxy_policy_verdict_t *v)
{
    (void)user;
    calls++;
    ticket = in->ticket;
    assert_non_null(in->conn);
    snprintf(seen_user, sizeof(seen_user), "%.*s", (int)in->route_user.len,
             in->route_user.len ? in->route_user.s : "");
    if (mode != PROXY_POLICY_PENDING)
        *v = give;
    return mode;
}

static void on_result(void *user, uint64_t cookie, int status)
{
    (void)user;
    res_calls++;
    res_cookie = cookie;
    res_status = status;
}

static int setup(void **state)
{
    (void)state;
    obs_log_init(OBS_LOG_ERROR, OBS_LOG_TEXT, NULL);
    nsent = 0;
    clock_ms = 1000000;
    mode = 0;
    reuse_ok = false;
    calls = res_calls = 0;
    res_cookie = 0;
    res_status = 0;
    memset(&give, 0, sizeof(give));
    proxy_cfg_t cfg;
    tu_proxy_cfg(&cfg, "10.0.0.7");
    strcpy(cfg.registrars[0].host, "10.0.0.8");
    cfg.registrars[0].port = 5060;
    strcpy(cfg.registrars[1].host, "10.0.0.9");
    cfg.registrars[1].port = 5062;
    cfg.nregistrars = 2;
    strcpy(cfg.default_route.host, "192.0.2.80");
    cfg.default_route.port = 5061;
    strcpy(cfg.client.host, "198.51.100.10"); /* the [remote] listener */
    cfg.client.port = 443;
    proxy_io_t io = {.ctx = NULL, .now_ms = io_now, .send = io_send};
    fedge_err_t e;
    assert_int_equal(proxy_new(&cfg, &io, &px, &e), 0);
    proxy_set_policy(px, hook, NULL);
    proxy_set_result(px, on_result, NULL);
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

#define INBOUND(method, extra)                                                                     \
    method " sip:carol@contoso.test SIP/2.0\r\n"                                                   \
           "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-" method "-1\r\n"                      \
           "Max-Forwards: 70\r\n"                                                                  \
           "From: <sip:bob@fabrikam.test>;tag=f1\r\n"                                              \
           "To: <sip:carol@contoso.test>\r\n"                                                      \
           "Call-ID: pol-" method "@fabrikam.test\r\n"                                             \
           "CSeq: 1 " method "\r\n" extra "Content-Length: 0\r\n\r\n"

static int status_of(unsigned i)
{
    int st = 0;
    sscanf(sent[i].data, "SIP/2.0 %d", &st);
    return st;
}

static void test_pending_invite_trying_then_allowed(void **state)
{
    (void)state;
    mode = PROXY_POLICY_PENDING;
    feed(&ext_peer, &up, INBOUND("INVITE", ""));
    assert_int_equal(calls, 1);
    assert_int_equal(nsent, 1); /* only the 100 Trying, at once */
    assert_int_equal(status_of(0), 100);
    assert_int_equal(proxy_pending_count(px), 1);
    assert_int_equal(proxy_policy_resume(px, ticket, false, NULL), 0);
    assert_int_equal(nsent, 2);
    assert_true(sent[1].to);
    assert_string_equal(sent[1].host, "10.0.0.7");
    assert_non_null(strstr(sent[1].data, "INVITE sip:carol@contoso.test SIP/2.0\r\n"));
    /* resumed once: a second resume finds nothing */
    assert_int_equal(proxy_policy_resume(px, ticket, false, NULL), FEDGE_ENOENT);
    assert_int_equal(nsent, 2);
}

static void test_pending_message_denied_with_headers(void **state)
{
    (void)state;
    mode = PROXY_POLICY_PENDING;
    feed(&ext_peer, &up, INBOUND("MESSAGE", ""));
    assert_int_equal(nsent, 0); /* no 100 to a non-INVITE */
    proxy_policy_verdict_t v;
    memset(&v, 0, sizeof(v));
    v.status = 403;
    snprintf(v.warning, sizeof(v.warning), "1012 Domain is blocked");
    snprintf(v.extra, sizeof(v.extra),
             "ms-diagnostics-public: 1012;reason=\"Domain is blocked\"\r\n");
    assert_int_equal(proxy_policy_resume(px, ticket, true, &v), 0);
    assert_int_equal(nsent, 1);
    assert_int_equal(status_of(0), 403);
    assert_ptr_equal(sent[0].conn, &up);
    assert_non_null(strstr(sent[0].data, "\r\nWarning: 399 edge.contoso.test \"1012 Domain is "
                                         "blocked\"\r\n"));
    assert_non_null(
        strstr(sent[0].data, "\r\nms-diagnostics-public: 1012;reason=\"Domain is blocked\"\r\n"));
    assert_int_equal(proxy_pending_count(px), 0);
}

static void test_pending_cancel_answers_487(void **state)
{
    (void)state;
    mode = PROXY_POLICY_PENDING;
    feed(&ext_peer, &up, INBOUND("INVITE", ""));
    assert_int_equal(nsent, 1);
    feed(&ext_peer, &up,
         "CANCEL sip:carol@contoso.test SIP/2.0\r\n"
         "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-INVITE-1\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:bob@fabrikam.test>;tag=f1\r\n"
         "To: <sip:carol@contoso.test>\r\n"
         "Call-ID: pol-INVITE@fabrikam.test\r\n"
         "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(nsent, 3);
    assert_int_equal(status_of(1), 200);
    assert_non_null(strstr(sent[1].data, "CSeq: 1 CANCEL"));
    assert_int_equal(status_of(2), 487);
    assert_non_null(strstr(sent[2].data, "CSeq: 1 INVITE"));
    /* a late verdict finds nothing to forward */
    assert_int_equal(proxy_policy_resume(px, ticket, false, NULL), FEDGE_ENOENT);
    assert_int_equal(nsent, 3);
}

static void test_pending_times_out_504(void **state)
{
    (void)state;
    mode = PROXY_POLICY_PENDING;
    feed(&ext_peer, &up, INBOUND("MESSAGE", ""));
    clock_ms += PROXY_POLICY_WAIT_MS - 1;
    proxy_tick(px);
    assert_int_equal(nsent, 0);
    clock_ms += 2;
    proxy_tick(px);
    assert_int_equal(nsent, 1);
    assert_int_equal(status_of(0), 504);
    assert_int_equal(proxy_policy_resume(px, ticket, false, NULL), FEDGE_ENOENT);
    assert_int_equal(proxy_txn_count(px), 0);
}

static void test_edits_are_made_in_the_one_print(void **state)
{
    (void)state;
    assert_int_equal(proxy_edits_strip(&give.edits, "x-dropped"), 0);
    assert_int_equal(proxy_edits_strip(&give.edits, "Via"), 0); /* never stripped */
    assert_int_equal(proxy_edits_add(&give.edits, "X-Added", "yes"), 0);
    assert_int_equal(proxy_edits_add(&give.edits, "X-Bad", "a\r\nInjected: 1"), FEDGE_EINVAL);
    assert_int_equal(proxy_edits_add(&give.edits, "Bad Name", "v"), FEDGE_EINVAL);
    feed(&ext_peer, &up,
         INBOUND("MESSAGE", "X-Dropped: please\r\nx-DROPPED : again\r\nX-Kept: 1\r\n"));
    assert_int_equal(nsent, 1);
    assert_true(sent[0].to);
    /* after the last header */
    assert_non_null(strstr(sent[0].data, "\r\nX-Added: yes\r\n\r\n"));
    assert_null(strcasestr(sent[0].data, "X-Dropped"));
    assert_null(strstr(sent[0].data, "Injected"));
    assert_non_null(strstr(sent[0].data, "\r\nX-Kept: 1\r\n"));
    assert_non_null(
        strstr(sent[0].data, "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-MESSAGE-1"));
    /* the proxy's own edits are made in the same print */
    assert_non_null(strstr(sent[0].data, "Max-Forwards: 69\r\n"));
    assert_non_null(strstr(sent[0].data, "Record-Route:"));
    /* parsed once when it arrived, printed once when forwarded */
    proxy_stats_t st;
    proxy_stats(px, &st);
    assert_int_equal(st.parses, 1);
    assert_int_equal(st.prints, 1);
}

/* A parked request is parsed again once when its verdict comes (with the
 * proxy's limits), and still printed once. */
static void test_parked_request_parsed_twice_printed_once(void **state)
{
    (void)state;
    mode = PROXY_POLICY_PENDING;
    feed(&ext_peer, &up, INBOUND("MESSAGE", "X-Dropped: please\r\n"));
    proxy_policy_verdict_t v;
    memset(&v, 0, sizeof(v));
    proxy_edits_strip(&v.edits, "X-Dropped");
    proxy_edits_add(&v.edits, "X-Added", "later");
    assert_int_equal(proxy_policy_resume(px, ticket, false, &v), 0);
    assert_int_equal(nsent, 1);
    assert_null(strstr(sent[0].data, "X-Dropped"));
    assert_non_null(strstr(sent[0].data, "\r\nX-Added: later\r\n"));
    proxy_stats_t st;
    proxy_stats(px, &st);
    assert_int_equal(st.parses, 2);
    assert_int_equal(st.prints, 1);
}

static void test_target_and_result(void **state)
{
    (void)state;
    snprintf(give.target.host, sizeof(give.target.host), "192.0.2.99");
    give.target.port = 5071;
    give.result_cookie = 77;
    feed(&int_peer, &up,
         "MESSAGE sip:bob@fabrikam.test SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK-out-1\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:carol@contoso.test>;tag=c1\r\n"
         "To: <sip:bob@fabrikam.test>\r\n"
         "Call-ID: out-1@contoso.test\r\n"
         "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(nsent, 1);
    assert_true(sent[0].to);
    assert_string_equal(sent[0].host, "192.0.2.99"); /* not the default route */
    assert_int_equal(sent[0].port, 5071);
    /* the partner's final answer: reported with the cookie */
    char branch[128] = "";
    const char *b = strstr(sent[0].data, "branch=");
    assert_non_null(b);
    sscanf(b + 7, "%127[^;\r]", branch);
    char resp[1024];
    snprintf(resp, sizeof(resp),
             "SIP/2.0 404 Not Found\r\n"
             "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=%s\r\n"
             "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK-out-1\r\n"
             "From: <sip:carol@contoso.test>;tag=c1\r\n"
             "To: <sip:bob@fabrikam.test>;tag=b1\r\n"
             "Call-ID: out-1@contoso.test\r\n"
             "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
             branch);
    proxy_peer_t fed = {PROXY_SIDE_EXTERNAL, "192.0.2.99:5071", &ext_cert};
    feed(&fed, &hop, resp);
    assert_int_equal(nsent, 2);
    assert_int_equal(status_of(1), 404);
    assert_int_equal(res_calls, 1);
    assert_int_equal(res_cookie, 77);
    assert_int_equal(res_status, 404);
}

static void test_result_of_own_refusal(void **state)
{
    (void)state;
    /* allowed with a cookie, but the next hop is unreachable: the edge's
     * own final answer is what the result hook hears */
    give.result_cookie = 5;
    feed(&ext_peer, &up, INBOUND("MESSAGE", ""));
    assert_int_equal(nsent, 1);
    proxy_on_conn_closed(px, &hop, FEDGE_ECLOSED);
    assert_int_equal(nsent, 2);
    assert_int_equal(status_of(1), 503);
    assert_int_equal(res_calls, 1);
    assert_int_equal(res_cookie, 5);
    assert_int_equal(res_status, 503);
}

/* An internal server's MESSAGE for a remote user, routed back through the
 * edge's Path (src/edge/remote.c gives the flow's address, reuse). */
#define TO_FLOW                                                                                    \
    "MESSAGE sip:alice@192.0.2.77:40123;transport=tls SIP/2.0\r\n"                                 \
    "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK-flow-1\r\n"                                     \
    "Max-Forwards: 70\r\n"                                                                         \
    "Route: <sip:AAAAAAAAAAAAAAAAAAAAAAAAAAA@10.0.0.1:5060;transport=tcp;lr;ob>\r\n"               \
    "From: <sip:bob@contoso.test>;tag=b1\r\n"                                                      \
    "To: <sip:alice@contoso.test>\r\n"                                                             \
    "Call-ID: flow-1@contoso.test\r\n"                                                             \
    "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"

static proxy_conn_t remote_client = {2};

static bool untrusted(void *user, const proxy_conn_t *c)
{
    (void)user;
    return c == &remote_client;
}

static void test_in_dialog_from_untrusted_peer_is_decided(void **state)
{
    (void)state;
    mode = 1; /* deny everything */
    give.status = 403;
    snprintf(give.warning, sizeof(give.warning), "19013 remote access off");
#define BYE(branch)                                                                                \
    "BYE sip:carol@contoso.test SIP/2.0\r\n"                                                       \
    "Via: SIP/2.0/TLS 192.0.2.60:5061;branch=z9hG4bK-" branch "\r\n"                               \
    "Max-Forwards: 70\r\n"                                                                         \
    "From: <sip:alice@contoso.test>;tag=a1\r\n"                                                    \
    "To: <sip:carol@contoso.test>;tag=c1\r\n"                                                      \
    "Call-ID: bye-1@client\r\n"                                                                    \
    "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    /* a partner's in-dialog request: not asked (its dialog was) */
    feed(&ext_peer, &up, BYE("bye-1"));
    assert_int_equal(calls, 0);
    assert_int_equal(nsent, 1);
    assert_true(sent[0].to);
    /* a remote client's: asked, and refused */
    proxy_set_untrusted(px, untrusted, NULL);
    proxy_peer_t client = {PROXY_SIDE_EXTERNAL, "192.0.2.60:40000", NULL};
    feed(&client, &remote_client, BYE("bye-2"));
    assert_int_equal(calls, 1);
    assert_int_equal(nsent, 2);
    assert_ptr_equal(sent[1].conn, &remote_client);
    assert_int_equal(status_of(1), 403);
}

static void give_flow(void);

/* A remote client's request for a partner goes to the internal next hop
 * (its server federates it back through the edge), record-routed with the
 * verdict's flow token on the entry that names the [remote] listener; a
 * token with characters a URI would need escaped is not written. */

static void test_client_to_partner_via_internal_with_token(void **state)
{
    (void)state;
    proxy_set_untrusted(px, untrusted, NULL);
    proxy_peer_t client = {PROXY_SIDE_EXTERNAL, "192.0.2.60:40000", NULL};
#define CLIENT_MSG(id)                                                                             \
    "MESSAGE sip:dave@fabrikam.test SIP/2.0\r\n"                                                   \
    "Via: SIP/2.0/TLS 192.0.2.60:40000;branch=z9hG4bK-" id "\r\n"                                  \
    "Max-Forwards: 70\r\n"                                                                         \
    "From: <sip:alice@contoso.test>;tag=a1\r\n"                                                    \
    "To: <sip:dave@fabrikam.test>\r\n"                                                             \
    "Call-ID: " id "@client\r\n"                                                                   \
    "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
    snprintf(give.rr_user, sizeof(give.rr_user), "Tok3n_-x");
    feed(&client, &remote_client, CLIENT_MSG("cm-1"));
    assert_int_equal(calls, 1);
    assert_int_equal(nsent, 1);
    assert_true(sent[0].to);
    assert_string_equal(sent[0].host, "10.0.0.7");
    assert_non_null(strstr(sent[0].data, "Record-Route: <sip:10.0.0.1:5060;transport=tcp;lr>\r\n"
                                         "Record-Route: "
                                         "<sip:Tok3n_-x@198.51.100.10:443;transport=tls;lr>\r\n"));
    /* from a partner the same request is relaying */
    feed(&ext_peer, &up, CLIENT_MSG("cm-2"));
    assert_int_equal(nsent, 2);
    assert_int_equal(status_of(1), 403);
    snprintf(give.rr_user, sizeof(give.rr_user), "bad>user");
    feed(&client, &remote_client, CLIENT_MSG("cm-3"));
    assert_int_equal(nsent, 3);
    assert_non_null(
        strstr(sent[2].data, "Record-Route: <sip:198.51.100.10:443;transport=tls;lr>\r\n"));
    assert_null(strstr(sent[2].data, "bad>user"));
}

/* An in-dialog request from inside whose Route ends in the edge's entry
 * with a token goes to the hook with the token (to be sent on the
 * client's flow); without a token it is not asked. */
static void test_in_dialog_with_token_is_decided(void **state)
{
    (void)state;
#define INSIDE_BYE(id, last)                                                                       \
    "BYE sip:alice@192.0.2.60:40000;transport=tls SIP/2.0\r\n"                                     \
    "Via: SIP/2.0/TCP 10.0.0.7:5060;branch=z9hG4bK-" id "\r\n"                                     \
    "Route: <sip:10.0.0.1:5060;transport=tcp;lr>, " last "\r\n"                                    \
    "Max-Forwards: 70\r\n"                                                                         \
    "From: <sip:dave@fabrikam.test>;tag=d1\r\n"                                                    \
    "To: <sip:alice@contoso.test>;tag=a1\r\n"                                                      \
    "Call-ID: " id "@fabrikam\r\n"                                                                 \
    "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    give_flow();
    reuse_ok = true;
    feed(&int_peer, &up, INSIDE_BYE("ib-1", "<sip:AbCd_-9@198.51.100.10:443;transport=tls;lr>"));
    assert_int_equal(calls, 1);
    assert_string_equal(seen_user, "AbCd_-9");
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].kind, PROXY_TO_REUSE);
    assert_string_equal(sent[0].host, "192.0.2.77");
    /* the same without a token: an ordinary in-dialog request */
    memset(&give, 0, sizeof(give));
    feed(&int_peer, &up, INSIDE_BYE("ib-2", "<sip:198.51.100.10:443;transport=tls;lr>"));
    assert_int_equal(calls, 1);
    assert_int_equal(nsent, 2);
}

static void give_flow(void)
{
    snprintf(give.target.host, sizeof(give.target.host), "192.0.2.77");
    give.target.port = 40123;
    give.reuse = true;
}

static void test_flow_gone_is_430_never_a_new_connection(void **state)
{
    (void)state;
    give_flow();
    feed(&int_peer, &up, TO_FLOW);
    assert_int_equal(nsent, 1); /* only the answer: no connection opened */
    assert_ptr_equal(sent[0].conn, &up);
    assert_int_equal(status_of(0), 430);
    assert_non_null(strstr(sent[0].data, "SIP/2.0 430 Flow Failed\r\n"));
}

static void test_flow_sent_on_its_connection_430_when_it_dies(void **state)
{
    (void)state;
    give_flow();
    reuse_ok = true;
    feed(&int_peer, &up, TO_FLOW);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].kind, PROXY_TO_REUSE);
    assert_string_equal(sent[0].host, "192.0.2.77");
    assert_int_equal(sent[0].port, 40123);
    /* the client's connection closes before it answers: 430, no retry */
    proxy_on_conn_closed(px, &hop, FEDGE_ECLOSED);
    assert_int_equal(nsent, 2);
    assert_ptr_equal(sent[1].conn, &up);
    assert_int_equal(status_of(1), 430);
}

static void test_registrars_in_order_with_failover(void **state)
{
    (void)state;
    give.registrar = true;
    feed(&ext_peer, &up,
         "REGISTER sip:contoso.test SIP/2.0\r\n"
         "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-reg-1\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@contoso.test>;tag=a1\r\n"
         "To: <sip:alice@contoso.test>\r\n"
         "Call-ID: reg-1@client\r\n"
         "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(nsent, 1);
    assert_true(sent[0].to);
    assert_string_equal(sent[0].host, "10.0.0.8"); /* not the next hop 10.0.0.7 */
    assert_int_equal(sent[0].port, 5060);
    proxy_on_conn_closed(px, &hop, FEDGE_ECLOSED);
    assert_int_equal(nsent, 2);
    assert_string_equal(sent[1].host, "10.0.0.9");
    assert_int_equal(sent[1].port, 5062);
    proxy_on_conn_closed(px, &hop, FEDGE_ECLOSED);
    assert_int_equal(nsent, 3);
    assert_ptr_equal(sent[2].conn, &up);
    assert_int_equal(status_of(2), 503);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pending_invite_trying_then_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_message_denied_with_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_cancel_answers_487, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_times_out_504, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edits_are_made_in_the_one_print, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parked_request_parsed_twice_printed_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_target_and_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_of_own_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flow_gone_is_430_never_a_new_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flow_sent_on_its_connection_430_when_it_dies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registrars_in_order_with_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_to_partner_via_internal_with_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_in_dialog_with_token_is_decided, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_dialog_from_untrusted_peer_is_decided, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
