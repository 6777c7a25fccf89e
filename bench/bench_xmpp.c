/* bench_xmpp.c — the XMPP server-to-server service (src/xmpp/s2s.c) over
 * real TLS on loopback, in one process and one loop: (1) chat messages per
 * second from one domain to another on one authenticated stream (STARTTLS
 * + SASL EXTERNAL), send to delivery; (2) heap bytes per idle authenticated
 * stream (both ends: the outbound stream of one service and the inbound
 * stream of the other), from glibc's mallinfo2 before and after opening
 * them. Certificates from scripts/gen-certs (run from the repository
 * root). Exits 1 when a message is lost or a stream does not come up. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmpp/xmpp.h"

#define N_MSG 20000
#define N_STREAMS 100

static uv_loop_t *loop;
static net_t *net;
static dns_t *dns;
static char pki[64];
static uint16_t f_port;
static unsigned long received;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void policy(void *user, const char *domain, xmpp_peer_policy_t *out)
{
    memset(out, 0, sizeof *out);
    out->allowed = out->tls_required = out->sasl = true;
    snprintf(out->host, sizeof out->host, "127.0.0.1");
    out->port = f_port;
}

static void on_stanza(void *user, const char *remote, const char *local, const xmpp_node_t *st)
{
    received++;
}

static net_tls_t *tls_of(const char *leaf)
{
    char crt[200], key[200], ca[200];
    snprintf(crt, sizeof crt, "%s/%s.crt", pki, leaf);
    snprintf(key, sizeof key, "%s/%s.key", pki, leaf);
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    net_tls_opts_t o = {.certificate = crt, .private_key = key, .ca_file = ca};
    net_tls_t *t;
    fedge_err_t e;
    if (net_tls_new(&o, &t, &e) < 0) {
        fprintf(stderr, "bench_xmpp: %s\n", e.msg);
        exit(1);
    }
    return t;
}

static xmpp_s2s_t *service(const char *domain, net_tls_t *tls, bool listen)
{
    const char *doms[1] = {domain};
    xmpp_s2s_opts_t o = {.loop = loop,
                         .net = net,
                         .dns = dns,
                         .tls = tls,
                         .listen = listen ? "127.0.0.1:0" : NULL,
                         .domains = doms,
                         .n_domains = 1,
                         .rate = 1000000, /* the per-stream policing is not measured here */
                         .max_queue = N_MSG,
                         .cbs = {policy, on_stanza, NULL}};
    xmpp_s2s_t *s;
    fedge_err_t e;
    if (xmpp_s2s_new(&o, &s, &e) < 0) {
        fprintf(stderr, "bench_xmpp: %s\n", e.msg);
        exit(1);
    }
    return s;
}

static void tick(uv_timer_t *t) {}

/* Runs the loop until cond or 30 s. */
#define RUN_UNTIL(cond)                                                                            \
    do {                                                                                           \
        uint64_t end_ = now_ns() + 30000000000ull;                                                 \
        while (!(cond) && now_ns() < end_)                                                         \
            uv_run(loop, UV_RUN_ONCE);                                                             \
    } while (0)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(pki, sizeof pki, "/tmp/fedge-bench-xmpp-XXXXXX");
    if (!mkdtemp(pki))
        return 1;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "scripts/gen-certs %s >/dev/null", pki);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_xmpp: run from the repository root (scripts/gen-certs)\n");
        return 1;
    }
    loop = uv_default_loop();
    fedge_err_t e;
    net_opts_t no = {.max_connections = 1000, .max_connections_per_ip = 1000};
    dns_opts_t d;
    dns_opts_default(&d);
    d.servers = "127.0.0.1:9"; /* never asked: the policy names the host */
    if (net_new(loop, &no, &net, &e) < 0 || dns_new(loop, &d, &dns, &e) < 0) {
        fprintf(stderr, "bench_xmpp: %s\n", e.msg);
        return 1;
    }
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick, 5, 5);
    net_tls_t *tls_c = tls_of("edge.contoso.test"), *tls_f = tls_of("edge.fabrikam.test");
    xmpp_s2s_t *f = service("fabrikam.test", tls_f, true);
    f_port = xmpp_s2s_port(f);

    /* (1) messages per second on one stream */
    xmpp_s2s_t *c = service("contoso.test", tls_c, false);
    char msg[512];
    int ml = snprintf(msg, sizeof msg,
                      "<message from='alice@contoso.test/sip' to='bob@fabrikam.test' "
                      "type='chat' id='m'><body>Hello Bob, this is a benchmark message "
                      "of about one hundred bytes of text, no more.</body></message>");
    xmpp_s2s_send(c, "contoso.test", "fabrikam.test", msg, (size_t)ml, NULL, NULL, &e);
    RUN_UNTIL(received == 1);
    if (received != 1) {
        fprintf(stderr, "bench_xmpp: the stream did not come up\n");
        return 1;
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < N_MSG; i++) {
        if (xmpp_s2s_send(c, "contoso.test", "fabrikam.test", msg, (size_t)ml, NULL, NULL, &e) <
            0) {
            fprintf(stderr, "bench_xmpp: %s\n", e.msg);
            return 1;
        }
        if (i % 500 == 499)
            uv_run(loop, UV_RUN_NOWAIT); /* let the writes drain */
    }
    RUN_UNTIL(received == N_MSG + 1);
    double secs = (double)(now_ns() - t0) / 1e9;
    if (received != N_MSG + 1) {
        fprintf(stderr, "bench_xmpp: %lu of %d messages arrived\n", received - 1, N_MSG);
        return 1;
    }
    printf("xmpp s2s: %d chat messages (%d bytes each) over one STARTTLS+SASL EXTERNAL stream "
           "in %.3f s: %.0f messages/s (sender and receiver in one process, one core)\n",
           N_MSG, ml, secs, N_MSG / secs);

    /* (2) heap per idle authenticated stream (outbound end + inbound end) */
    xmpp_s2s_t *cs[N_STREAMS];
    struct mallinfo2 before = mallinfo2();
    unsigned long base = received;
    for (int i = 0; i < N_STREAMS; i++) {
        cs[i] = service("contoso.test", tls_c, false);
        xmpp_s2s_send(cs[i], "contoso.test", "fabrikam.test", msg, (size_t)ml, NULL, NULL, &e);
    }
    RUN_UNTIL(received == base + N_STREAMS);
    xmpp_s2s_stats_t st;
    xmpp_s2s_stats(f, &st);
    if (received != base + N_STREAMS || st.authed_in != N_STREAMS + 1) {
        fprintf(stderr, "bench_xmpp: %zu of %d streams came up\n", st.authed_in - 1, N_STREAMS);
        return 1;
    }
    /* let the handshakes' transient buffers go */
    uint64_t end = now_ns() + 300000000ull;
    while (now_ns() < end)
        uv_run(loop, UV_RUN_ONCE);
    malloc_trim(0);
    struct mallinfo2 after = mallinfo2();
    double per = ((double)after.uordblks - (double)before.uordblks) / N_STREAMS;
    printf("xmpp s2s: %d idle authenticated streams: %.1f KiB of heap per stream pair "
           "(one outbound + one inbound end, TLS included; %.1f KiB per end on average)\n",
           N_STREAMS, per / 1024, per / 2048);

    for (int i = 0; i < N_STREAMS; i++)
        xmpp_s2s_free(cs[i]);
    xmpp_s2s_free(c);
    xmpp_s2s_free(f);
    net_destroy(net);
    dns_free(dns);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    net_tls_free(tls_c);
    net_tls_free(tls_f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : 1;
}
