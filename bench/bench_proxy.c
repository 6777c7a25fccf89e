/* bench_proxy.c — CPU cost of the proxy core per forwarded MESSAGE: a
 * partner's MESSAGE (1 KiB, trust header stripped and added by the policy
 * verdict's edits) forwarded inside and its 200 relayed back, over an
 * injected transport that only copies the bytes (no TLS, no syscalls).
 * Prints ns per MESSAGE + 200 (thread CPU time and wall clock) and the
 * parses and prints per MESSAGE; exits 1 when a MESSAGE took more than one
 * parse or one print of the request (proxy_stats_t counts both). */
#include "obs/obs.h"
#include "proxy/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 200000

struct proxy_conn {
    int id;
};

static proxy_conn_t up = {1}, hop = {2};
static char last[8192]; /* the last request sent downstream */
static size_t last_len;

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return clock_ns(CLOCK_MONOTONIC) / 1000000u;
}

static int io_send(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                   proxy_conn_t **used, fedge_err_t *why)
{
    (void)ctx;
    (void)why;
    if (d->kind != PROXY_TO_CONN && len < sizeof(last)) {
        memcpy(last, data, len);
        last_len = len;
    }
    if (used)
        *used = d->kind == PROXY_TO_CONN ? d->conn : &hop;
    return 0;
}

static int allow_inbound(void *user, const proxy_policy_in_t *in, proxy_policy_verdict_t *v)
{
    (void)user;
    (void)in;
    proxy_edits_strip(&v->edits, "ms-edge-proxy-message-trust");
    proxy_edits_add(&v->edits, "ms-edge-proxy-message-trust",
                    "ms-source-type=DirectPartner;ms-ep-fqdn=edge.contoso.test;"
                    "ms-source-verified-user=verified;ms-source-network=federation");
    return 0;
}

static const char BODY[] =
    "Hello Alice, this is Bob from Fabrikam. Are we still on for the design review at ten? "
    "I have the slides ready and the numbers from last quarter; bring the prototype if you "
    "can. Thanks!";

int main(void)
{
    obs_log_init(OBS_LOG_ERROR, OBS_LOG_TEXT, NULL);
    proxy_cfg_t cfg;
    proxy_cfg_init(&cfg);
    strcpy(cfg.fqdn, "edge.contoso.test");
    strcpy(cfg.domains[0], "contoso.test");
    cfg.ndomains = 1;
    strcpy(cfg.ext.host, "edge.contoso.test");
    cfg.ext.port = 5061;
    strcpy(cfg.in.host, "10.0.0.1");
    cfg.in.port = 5060;
    cfg.in.transport = PROXY_TP_TCP;
    strcpy(cfg.next_hops[0].host, "10.0.0.7");
    cfg.next_hops[0].port = 5060;
    cfg.nnext_hops = 1;
    proxy_io_t io = {NULL, io_now, io_send, NULL};
    proxy_t *px;
    fedge_err_t e;
    if (proxy_new(&cfg, &io, &px, &e) < 0) {
        fprintf(stderr, "bench_proxy: %s\n", e.msg);
        return 1;
    }
    proxy_set_policy(px, allow_inbound, NULL);
    static const char *names[] = {"edge.fabrikam.test", "fabrikam.test"};
    static const net_peer_t cert = {
        .presented = true, .verified = true, .dns = names, .n_dns = 2, .eku_ok = true};
    proxy_peer_t ext = {PROXY_SIDE_EXTERNAL, "192.0.2.50:40000", &cert};
    proxy_peer_t in = {PROXY_SIDE_INTERNAL, "10.0.0.7:5060", NULL};
    static char req[4096], resp[4096];
    uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
    for (unsigned i = 0; i < N; i++) {
        int rl = snprintf(
            req, sizeof(req),
            "MESSAGE sip:alice@contoso.test SIP/2.0\r\n"
            "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK%08x;ms-internal-info=\"ab\"\r\n"
            "Max-Forwards: 69\r\n"
            "From: \"Bob\" <sip:bob@fabrikam.test>;tag=%08x;epid=01010101\r\n"
            "To: <sip:alice@contoso.test>\r\n"
            "Call-ID: %08x-bench@fabrikam.test\r\n"
            "CSeq: 1 MESSAGE\r\n"
            "Record-Route: <sip:edge.fabrikam.test:5061;transport=tls;lr>\r\n"
            "Contact: <sip:bob@fabrikam.test;opaque=user:epid:abcdef;gruu>\r\n"
            "User-Agent: UCCAPI/16.0.0.0 OC/16.0.0.0 (Skype for Business)\r\n"
            "ms-edge-proxy-message-trust: ms-source-type=forged\r\n"
            "Supported: ms-dialog-route-set-update\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Length: %zu\r\n\r\n%s",
            i, i, i, strlen(BODY), BODY);
        proxy_on_message(px, &up, &ext, req, (size_t)rl);
        /* the 200 to what went downstream: our Via on top */
        last[last_len < sizeof(last) ? last_len : sizeof(last) - 1] = 0;
        const char *b = strstr(last, "branch=");
        const char *be = b ? strpbrk(b, ";\r") : NULL;
        if (!b || !be) {
            fprintf(stderr, "bench_proxy: nothing forwarded\n");
            return 1;
        }
        int sl = snprintf(resp, sizeof(resp),
                          "SIP/2.0 200 OK\r\n"
                          "Via: SIP/2.0/TCP 10.0.0.1:5060;%.*s;alias\r\n"
                          "Via: SIP/2.0/TLS 192.0.2.50:5061;branch=z9hG4bK%08x;"
                          "ms-internal-info=\"ab\"\r\n"
                          "From: \"Bob\" <sip:bob@fabrikam.test>;tag=%08x;epid=01010101\r\n"
                          "To: <sip:alice@contoso.test>;tag=a1\r\n"
                          "Call-ID: %08x-bench@fabrikam.test\r\n"
                          "CSeq: 1 MESSAGE\r\n"
                          "Content-Length: 0\r\n\r\n",
                          (int)(be - b), b, i, i, i);
        proxy_on_message(px, &hop, &in, resp, (size_t)sl);
    }
    uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0, wall = clock_ns(CLOCK_MONOTONIC) - w0;
    proxy_stats_t st;
    proxy_stats(px, &st);
    proxy_free(px);
    /* each MESSAGE: its parse and print, and its 200's */
    double parses = (double)st.parses / N - 1, prints = (double)st.prints / N - 1;
    printf("proxy core, MESSAGE + 200 with trust-header edits: %.0f ns CPU, %.0f ns wall per "
           "MESSAGE (%u MESSAGE, %llu forwarded, %llu responses)\n",
           (double)cpu / N, (double)wall / N, N, (unsigned long long)st.forwarded_requests,
           (unsigned long long)st.forwarded_responses);
    printf("per MESSAGE: %.2f parse(s), %.2f print(s) of the request\n", parses, prints);
    if (st.forwarded_requests != N || st.forwarded_responses != N || parses > 1.0 || prints > 1.0)
        return 1;
    return 0;
}
