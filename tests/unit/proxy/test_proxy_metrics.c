/* test_proxy_metrics.c — the proxy's forwarding latency histogram and its
 * access log ([log] access): one line per transaction with the domains,
 * partner, status, diagnostic and duration, on an injected transport and
 * clock. */
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
#include "sip/sip.h"

struct proxy_conn {
    int id;
};

static char sent[8][8192];
static size_t sent_len[8];
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
    assert_true(nsent < 8 && len < sizeof(sent[0]));
    memcpy(sent[nsent], data, len);
    sent_len[nsent++] = len;
    if (used)
        *used = d->kind == PROXY_TO_CONN ? d->conn : &hop;
    return 0;
}

static proxy_t *px;
static const char *ext_names[] = {"edge.fabrikam.test"};
static const net_peer_t ext_cert = {
    .presented = true, .verified = true, .dns = ext_names, .n_dns = 1, .eku_ok = true};
static proxy_peer_t ext_peer = {PROXY_SIDE_EXTERNAL, "192.0.2.50:40000", &ext_cert};
static proxy_peer_t int_peer = {PROXY_SIDE_INTERNAL, "10.0.0.7:5060", NULL};
static proxy_policy_verdict_t give;
static bool deny;
static char *logbuf;
static size_t loglen;
static FILE *logf_;

static int hook(void *user, const proxy_policy_in_t *in, proxy_policy_verdict_t *v)
{
    (void)user;
    (void)in;
    *v = give;
    return deny ? 1 : 0; /* non-zero: deny with v (proxy.h) */
}

static int setup(void **state)
{
    (void)state;
    logf_ = open_memstream(&logbuf, &loglen);
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, logf_);
    nsent = 0;
    clock_ms = 1000000;
    deny = false;
    memset(&give, 0, sizeof(give));
    proxy_cfg_t cfg;
    tu_proxy_cfg(&cfg, "10.0.0.7");
    proxy_io_t io = {.ctx = NULL, .now_ms = io_now, .send = io_send};
    fedge_err_t e;
    assert_int_equal(proxy_new(&cfg, &io, &px, &e), 0);
    proxy_set_policy(px, hook, NULL);
    proxy_set_access_log(px, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proxy_free(px);
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, NULL);
    fclose(logf_);
    free(logbuf);
    return 0;
}

static const char *log_text(void)
{
    fflush(logf_);
    return logbuf ? logbuf : "";
}

static char *scrape(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(obs_metrics_write(f), 0);
    fclose(f);
    return buf;
}

#define INBOUND(method, n)                                                                         \
    method " sip:carol@contoso.test SIP/2.0\r\n"                                                   \
           "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK-m" n "\r\n"                            \
           "Max-Forwards: 70\r\n"                                                                  \
           "From: <sip:bob@Fabrikam.test>;tag=f1\r\n"                                              \
           "To: <sip:carol@contoso.test>\r\n"                                                      \
           "Call-ID: met-" n "@fabrikam.test\r\n"                                                  \
           "CSeq: 1 " method "\r\n"                                                                \
           "Content-Length: 0\r\n\r\n"

static void feed(const proxy_peer_t *peer, proxy_conn_t *c, const char *msg, size_t len)
{
    assert_int_equal(proxy_on_message(px, c, peer, msg, len), 0);
}

/* The 200 a UAS sends to the forwarded request sent[i]. */
static void respond_200(unsigned i)
{
    static sip_msg_t m;
    assert_int_equal(sip_parse(sent[i], sent_len[i], NULL, &m), 0);
    char b[8192];
    size_t len;
    assert_int_equal(sip_build_response(&m, 200, NULL, "t9", "", b, sizeof(b), &len), 0);
    feed(&int_peer, &hop, b, len);
}

static void test_forwarded_message_latency_and_access_line(void **state)
{
    (void)state;
    const char *req = INBOUND("MESSAGE", "1");
    feed(&ext_peer, &up, req, strlen(req));
    assert_int_equal(nsent, 1); /* forwarded to 10.0.0.7 */
    clock_ms += 42;
    respond_200(0);
    assert_int_equal(nsent, 2);
    assert_non_null(strstr(sent[1], "SIP/2.0 200"));
    char *t = scrape();
    assert_non_null(strstr(t, "# TYPE fedge_sip_forward_duration_seconds histogram\n"));
    assert_non_null(strstr(t, "fedge_sip_forward_duration_seconds_bucket{side=\"internal\","
                              "method=\"MESSAGE\",le=\"0.025\"} 0\n"));
    assert_non_null(strstr(t, "fedge_sip_forward_duration_seconds_bucket{side=\"internal\","
                              "method=\"MESSAGE\",le=\"0.05\"} 1\n"));
    assert_non_null(strstr(
        t, "fedge_sip_forward_duration_seconds_sum{side=\"internal\",method=\"MESSAGE\"} 0.042"));
    free(t);
    const char *l = log_text();
    assert_non_null(strstr(l, " info access: transaction method=MESSAGE from=Fabrikam.test "
                              "to=contoso.test partner=Fabrikam.test status=200 diagnostic=- "
                              "duration_ms=42 in=external out=internal peer=192.0.2.50:40000\n"));
    /* one line per transaction: a retransmitted 200 adds none */
    size_t n = 0;
    for (const char *p = l; (p = strstr(p, "access: ")); p++)
        n++;
    assert_int_equal(n, 1);
}

static void test_refusal_has_diagnostic_and_no_latency(void **state)
{
    (void)state;
    deny = true;
    give.status = 403;
    snprintf(give.warning, sizeof(give.warning), "1012 Domain is blocked");
    const char *req = INBOUND("MESSAGE", "2");
    char *before = scrape();
    feed(&ext_peer, &up, req, strlen(req));
    assert_int_equal(nsent, 1);
    assert_non_null(strstr(sent[0], "SIP/2.0 403"));
    char *after = scrape();
    /* nothing was forwarded: the histogram is unchanged */
    const char *k =
        "fedge_sip_forward_duration_seconds_count{side=\"internal\",method=\"MESSAGE\"}";
    const char *a = strstr(before, k), *b = strstr(after, k);
    if (a || b) {
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(strtol(a + strlen(k), NULL, 10), strtol(b + strlen(k), NULL, 10));
    }
    free(before);
    free(after);
    assert_non_null(strstr(log_text(), " access: transaction method=MESSAGE from=Fabrikam.test "
                                       "to=contoso.test partner=Fabrikam.test status=403 "
                                       "diagnostic=1012 duration_ms=0 in=external out=- "));
}

static void test_access_log_off_writes_nothing(void **state)
{
    (void)state;
    proxy_set_access_log(px, false);
    const char *req = INBOUND("MESSAGE", "3");
    feed(&ext_peer, &up, req, strlen(req));
    respond_200(0);
    assert_null(strstr(log_text(), "access:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forwarded_message_latency_and_access_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusal_has_diagnostic_and_no_latency, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_access_log_off_writes_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
