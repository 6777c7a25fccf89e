/* test_ng.c — the ng client (src/media/ng.c) against a real rtpengine that
 * the test starts in user space on loopback: ping, offer/answer/query/
 * delete with a real SDP, failover past a closed port and past a relay
 * that never answers, timeout, cancel and close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "media/media.h"
#include "sip/sip.h"

static pid_t rtp_pid;
static uint16_t ng_port;
static int blackhole_fd = -1; /* a bound UDP socket nobody reads */
static uint16_t blackhole_port;
static uint16_t closed_port; /* a UDP port with no socket */

static uint16_t bound_udp(int *keep)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return 0;
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    if (keep)
        *keep = fd;
    else
        close(fd);
    return ntohs(a.sin_port);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True once rtpengine answers a ping on ng_port (raw socket, 10 s). */
static bool wait_rtpengine(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(ng_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int64_t end = now_ms() + 10000;
    bool ok = false;
    while (!ok && now_ms() < end) {
        int st;
        if (waitpid(rtp_pid, &st, WNOHANG) == rtp_pid)
            break; /* it exited: wrong options or port taken */
        sendto(fd, "w d7:command4:pinge", 19, 0, (struct sockaddr *)&a, sizeof(a));
        char buf[64];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        ok = n > 0 && memmem(buf, (size_t)n, "pong", 4);
    }
    close(fd);
    return ok;
}

static int setup(void **state)
{
    ng_port = bound_udp(NULL);
    closed_port = bound_udp(NULL);
    blackhole_port = bound_udp(&blackhole_fd);
    /* An RTP port range of our own, away from the ephemeral range. */
    unsigned base = 20000 + (unsigned)(getpid() % 100) * 100;
    char listen[64], pmin[32], pmax[32];
    snprintf(listen, sizeof(listen), "--listen-ng=127.0.0.1:%u", ng_port);
    snprintf(pmin, sizeof(pmin), "--port-min=%u", base);
    snprintf(pmax, sizeof(pmax), "--port-max=%u", base + 99);
    rtp_pid = fork();
    if (rtp_pid == 0) {
        const char *log = getenv("MEDIA_TEST_RTPENGINE_LOG");
        int fd = log ? fileno(fopen(log, "w")) : -1;
        if (fd < 0)
            fd = fileno(fopen("/dev/null", "w"));
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("rtpengine", "rtpengine", "--foreground", "--config-file=none", "--table=-1",
               "--interface=internal/127.0.0.2", "--interface=external/127.0.0.3", listen, pmin,
               pmax, "--log-stderr", "--log-level=6", "--num-threads=1", "--delete-delay=0",
               (char *)NULL);
        _exit(127);
    }
    if (!wait_rtpengine()) {
        fprintf(stderr, "rtpengine did not start (is rtpengine-daemon installed? set "
                        "MEDIA_TEST_RTPENGINE_LOG=file to see its log)\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    if (rtp_pid > 0) {
        kill(rtp_pid, SIGTERM);
        waitpid(rtp_pid, NULL, 0);
    }
    if (blackhole_fd >= 0)
        close(blackhole_fd);
    return 0;
}

/* ---- a request and its outcome ---- */

typedef struct {
    bool done;
    int status;
    int calls;
    char result[32], sdp[4096], err[512], reason[256];
    size_t relay;
    bool has_totals;
} outcome_t;

static void copy(char *dst, size_t cap, fedge_str_t s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.s, n);
    dst[n] = '\0';
}

static void done_cb(void *arg, int status, const media_reply_t *r, const fedge_err_t *e)
{
    outcome_t *o = arg;
    o->done = true;
    o->calls++;
    o->status = status;
    if (r) {
        copy(o->result, sizeof(o->result), r->result);
        copy(o->sdp, sizeof(o->sdp), r->sdp);
        copy(o->reason, sizeof(o->reason), r->error_reason);
        o->relay = r->relay;
        o->has_totals = media_ben_get(r->dict, "totals") != NULL;
    }
    if (e)
        snprintf(o->err, sizeof(o->err), "%s", e->msg);
}

static void run_until(uv_loop_t *loop, const outcome_t *o, int64_t max_ms)
{
    int64_t end = now_ms() + max_ms;
    while (!o->done && now_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
}

static void run_request(uv_loop_t *loop, media_client_t *c, const media_req_t *r, outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    fedge_err_t e;
    int rc = media_request(c, r, done_cb, o, NULL, &e);
    if (rc < 0)
        fail_msg("media_request: %s", e.msg);
    assert_false(o->done); /* never from inside media_request */
    run_until(loop, o, 10000);
    assert_true(o->done);
}

static media_client_t *client(uv_loop_t *loop, const uint16_t *ports, size_t n, uint32_t timeout)
{
    media_relay_addr_t relays[MEDIA_MAX_RELAYS];
    for (size_t i = 0; i < n; i++)
        relays[i] = (media_relay_addr_t){"127.0.0.1", ports[i]};
    media_opts_t o = {.relays = relays, .relay_count = n, .timeout_ms = timeout};
    media_client_t *c;
    fedge_err_t e;
    if (media_client_new(loop, &o, &c, &e) < 0)
        fail_msg("media_client_new: %s", e.msg);
    return c;
}

static void close_client(uv_loop_t *loop, media_client_t *c)
{
    media_client_close(c);
    uv_run(loop, UV_RUN_DEFAULT); /* runs the close callbacks, then nothing is left */
    assert_int_equal(uv_loop_close(loop), 0);
}

static const char *SDP_IN = "v=0\r\no=alice 2890844526 2890844526 IN IP4 10.0.0.5\r\ns=-\r\n"
                            "c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n"
                            "a=rtpmap:0 PCMU/8000\r\n";
static const char *SDP_OUT = "v=0\r\no=bob 2808844564 2808844564 IN IP4 198.51.100.9\r\ns=-\r\n"
                             "c=IN IP4 198.51.100.9\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n"
                             "a=rtpmap:0 PCMU/8000\r\n";

static const char *const REPLACE[] = {"origin", "session-connection"};

static media_req_t offer(const char *call_id)
{
    return (media_req_t){.cmd = MEDIA_CMD_OFFER,
                         .call_id = {call_id, strlen(call_id)},
                         .from_tag = FEDGE_STR_LIT("ft1"),
                         .sdp = {SDP_IN, strlen(SDP_IN)},
                         .from_interface = "internal",
                         .to_interface = "external",
                         .replace = REPLACE,
                         .replace_count = 2,
                         .relay = -1};
}

/* A Call-ID whose hash puts relay `first` first among n relays. */
static void call_id_for(char *buf, size_t cap, size_t first, size_t n, const char *tag)
{
    for (unsigned i = 0;; i++) {
        snprintf(buf, cap, "%s-%u@test", tag, i);
        if (fedge_hash(buf, strlen(buf)) % n == first)
            return;
    }
}

static void test_ping(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_client_t *c = client(&loop, &ng_port, 1, 1000);
    outcome_t o;
    media_req_t r = {.cmd = MEDIA_CMD_PING, .relay = 0};
    run_request(&loop, c, &r, &o);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.result, "pong");
    assert_true(media_relay_up(c, 0));
    char name[32];
    snprintf(name, sizeof(name), "127.0.0.1:%u", ng_port);
    assert_string_equal(media_relay_name(c, 0), name);
    close_client(&loop, c);
}

static void test_offer_answer_query_delete(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_client_t *c = client(&loop, &ng_port, 1, 1000);
    outcome_t o;
    char id[64];
    snprintf(id, sizeof(id), "oaqd-%d@test", (int)getpid());

    media_req_t r = offer(id);
    run_request(&loop, c, &r, &o);
    if (o.status)
        fail_msg("offer: %s", o.err);
    assert_string_equal(o.result, "ok");
    /* Towards the external side: the relay's external address, not ours. */
    assert_non_null(strstr(o.sdp, "c=IN IP4 127.0.0.3"));
    assert_null(strstr(o.sdp, "10.0.0.5"));
    assert_int_equal(media_call_count(c), 1);

    media_req_t a = {.cmd = MEDIA_CMD_ANSWER,
                     .call_id = {id, strlen(id)},
                     .from_tag = FEDGE_STR_LIT("ft1"),
                     .to_tag = FEDGE_STR_LIT("tt1"),
                     .sdp = {SDP_OUT, strlen(SDP_OUT)},
                     .from_interface = "external",
                     .to_interface = "internal",
                     .replace = REPLACE,
                     .replace_count = 2,
                     .relay = -1};
    run_request(&loop, c, &a, &o);
    if (o.status)
        fail_msg("answer: %s", o.err);
    assert_non_null(strstr(o.sdp, "c=IN IP4 127.0.0.2"));
    assert_null(strstr(o.sdp, "198.51.100.9"));

    media_req_t q = {.cmd = MEDIA_CMD_QUERY, .call_id = {id, strlen(id)}, .relay = -1};
    run_request(&loop, c, &q, &o);
    assert_int_equal(o.status, 0);
    assert_true(o.has_totals);

    media_req_t d = {.cmd = MEDIA_CMD_DELETE,
                     .call_id = {id, strlen(id)},
                     .from_tag = FEDGE_STR_LIT("ft1"),
                     .relay = -1};
    run_request(&loop, c, &d, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(media_call_count(c), 0);

    /* The relay has forgotten the call. */
    run_request(&loop, c, &q, &o);
    assert_int_equal(o.status, FEDGE_EPERM);
    assert_string_equal(o.result, "error");
    assert_true(strlen(o.reason) > 0);
    assert_non_null(strstr(o.err, "refused query"));
    close_client(&loop, c);
}

/* Address and port of the first audio stream of an SDP. */
static bool sdp_audio(const char *sdp, char *ip, size_t cap, unsigned *port)
{
    const char *c = strstr(sdp, "c=IN IP4 "), *m = strstr(sdp, "m=audio ");
    if (!c || !m)
        return false;
    c += 9;
    size_t n = strcspn(c, "\r\n");
    if (n >= cap)
        return false;
    memcpy(ip, c, n);
    ip[n] = '\0';
    *port = (unsigned)atoi(m + 8);
    return *port > 0;
}

static int udp_on(const char *ip, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &a.sin_addr);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends n RTP packets (PCMU, sequence numbers from 1) from fd to ip:port
 * and counts those that reach to_fd, each checked by its payload. */
static int rtp_through(int fd, const char *ip, unsigned port, int to_fd, int n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    int got = 0;
    for (int i = 1; i <= n; i++) {
        unsigned char pkt[12 + 160] = {
            0x80, 0x00, 0, (unsigned char)i, 0, 0, 0, (unsigned char)i, 0x12, 0x34, 0x56, 0x78};
        memset(pkt + 12, 0x55 + i, 160);
        sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&a, sizeof(a));
        unsigned char in[512];
        ssize_t r = recv(to_fd, in, sizeof(in), 0);
        if (r == (ssize_t)sizeof(pkt) && in[12] == (unsigned char)(0x55 + i))
            got++;
    }
    return got;
}

static void test_media_flows_through_the_relay(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_client_t *c = client(&loop, &ng_port, 1, 1000);
    uint16_t pa, pb;
    int fa = udp_on("127.0.0.1", &pa), fb = udp_on("127.0.0.1", &pb);
    char sdp_a[512], sdp_b[512], id[64];
    snprintf(sdp_a, sizeof(sdp_a),
             "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
             pa);
    snprintf(sdp_b, sizeof(sdp_b),
             "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
             pb);
    snprintf(id, sizeof(id), "rtp-%d@test", (int)getpid());
    outcome_t o;
    media_req_t r = offer(id);
    r.sdp = (fedge_str_t){sdp_a, strlen(sdp_a)};
    run_request(&loop, c, &r, &o);
    if (o.status)
        fail_msg("offer: %s", o.err);
    char ext_ip[64], int_ip[64];
    unsigned ext_port, int_port;
    assert_true(sdp_audio(o.sdp, ext_ip, sizeof(ext_ip), &ext_port));
    assert_string_equal(ext_ip, "127.0.0.3"); /* what the partner is told */

    media_req_t a = {.cmd = MEDIA_CMD_ANSWER,
                     .call_id = {id, strlen(id)},
                     .from_tag = FEDGE_STR_LIT("ft1"),
                     .to_tag = FEDGE_STR_LIT("tt1"),
                     .sdp = {sdp_b, strlen(sdp_b)},
                     .from_interface = "external",
                     .to_interface = "internal",
                     .replace = REPLACE,
                     .replace_count = 2,
                     .relay = -1};
    run_request(&loop, c, &a, &o);
    if (o.status)
        fail_msg("answer: %s", o.err);
    assert_true(sdp_audio(o.sdp, int_ip, sizeof(int_ip), &int_port));
    assert_string_equal(int_ip, "127.0.0.2"); /* what the inside is told */

    /* A (inside) sends to the relay's internal port, B (partner) to its
     * external port; each receives the other's packets. */
    int a_to_b = rtp_through(fa, int_ip, int_port, fb, 10);
    int b_to_a = rtp_through(fb, ext_ip, ext_port, fa, 10);
    if (a_to_b < 9 || b_to_a < 9)
        fail_msg("RTP through the relay: %d/10 inside->partner, %d/10 partner->inside", a_to_b,
                 b_to_a);

    media_req_t d = {.cmd = MEDIA_CMD_DELETE, .call_id = {id, strlen(id)}, .relay = -1};
    run_request(&loop, c, &d, &o);
    assert_int_equal(o.status, 0);
    close(fa);
    close(fb);
    close_client(&loop, c);
}

static void test_sticky_table_is_bounded(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_addr_t relays[1] = {{"127.0.0.1", ng_port}};
    media_opts_t opts = {.relays = relays, .relay_count = 1, .timeout_ms = 1000, .max_calls = 2};
    media_client_t *c;
    fedge_err_t e;
    assert_int_equal(media_client_new(&loop, &opts, &c, &e), 0);
    outcome_t o;
    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        snprintf(ids[i], sizeof(ids[i]), "bound-%d-%d@test", i, (int)getpid());
        media_req_t r = offer(ids[i]);
        run_request(&loop, c, &r, &o);
        assert_int_equal(o.status, 0);
        assert_int_equal(media_call_count(c), i < 2 ? (size_t)i + 1 : 2);
    }
    for (int i = 0; i < 3; i++) {
        media_req_t d = {.cmd = MEDIA_CMD_DELETE, .call_id = {ids[i], strlen(ids[i])}, .relay = -1};
        run_request(&loop, c, &d, &o);
        assert_int_equal(o.status, 0); /* the forgotten one is found by hash */
    }
    assert_int_equal(media_call_count(c), 0);
    close_client(&loop, c);
}

static void burst_cb(void *arg, int status, const media_reply_t *r, const fedge_err_t *e)
{
    int *n = arg;
    if (status == 0 || status == FEDGE_EPERM)
        n[0]++; /* answered (a query of an unknown call is answered "error") */
    else
        n[1]++;
}

/* 400 commands at once, with replies of some size (query of unknown
 * calls, offers): all answered, at most MAX_INFLIGHT in flight. */
static void test_burst_is_paced(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_client_t *c = client(&loop, &ng_port, 1, 2000);
    int n[2] = {0, 0};
    char ids[400][48];
    fedge_err_t e;
    for (int i = 0; i < 400; i++) {
        snprintf(ids[i], sizeof(ids[i]), "burst-%d-%d@test", i, (int)getpid());
        media_req_t r = offer(ids[i]);
        assert_int_equal(media_request(c, &r, burst_cb, n, NULL, &e), 0);
    }
    assert_int_equal(media_pending_count(c), 400);
    int64_t end = now_ms() + 20000;
    while (n[0] + n[1] < 400 && now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(n[1], 0);
    assert_int_equal(n[0], 400);
    n[0] = 0;
    for (int i = 0; i < 400; i++) {
        media_req_t d = {.cmd = MEDIA_CMD_DELETE, .call_id = {ids[i], strlen(ids[i])}, .relay = -1};
        assert_int_equal(media_request(c, &d, burst_cb, n, NULL, &e), 0);
    }
    end = now_ms() + 20000;
    while (n[0] + n[1] < 400 && now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    if (n[0] != 400)
        fail_msg("deletes: %d answered, %d not", n[0], n[1]);
    assert_int_equal(media_call_count(c), 0);
    close_client(&loop, c);
}

static void test_relay_error_and_bad_requests(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_client_t *c = client(&loop, &ng_port, 1, 1000);
    outcome_t o;
    media_req_t r = offer("bad-sdp@test");
    r.sdp = FEDGE_STR_LIT("v=0\r\nm=nonsense\r\n");
    run_request(&loop, c, &r, &o);
    assert_int_equal(o.status, FEDGE_EPERM);
    assert_string_equal(o.result, "error");
    assert_int_equal(media_call_count(c), 0);

    fedge_err_t e;
    media_req_t no_id = {.cmd = MEDIA_CMD_QUERY, .relay = -1};
    assert_int_equal(media_request(c, &no_id, done_cb, &o, NULL, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "call-id"));
    media_req_t no_tag = offer("x@test");
    no_tag.from_tag = (fedge_str_t){NULL, 0};
    assert_int_equal(media_request(c, &no_tag, done_cb, &o, NULL, &e), FEDGE_EINVAL);
    media_req_t ans = offer("x@test");
    ans.cmd = MEDIA_CMD_ANSWER;
    assert_int_equal(media_request(c, &ans, done_cb, &o, NULL, &e), FEDGE_EINVAL);
    media_req_t far = {.cmd = MEDIA_CMD_PING, .relay = 3};
    assert_int_equal(media_request(c, &far, done_cb, &o, NULL, &e), FEDGE_EINVAL);
    assert_int_equal(media_pending_count(c), 0);
    close_client(&loop, c);
}

static void test_failover_past_closed_port(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint16_t ports[2] = {closed_port, ng_port};
    media_client_t *c = client(&loop, ports, 2, 2000);
    char id[64];
    call_id_for(id, sizeof(id), 0, 2, "closed");
    outcome_t o;
    media_req_t r = offer(id);
    int64_t t0 = now_ms();
    run_request(&loop, c, &r, &o);
    int64_t took = now_ms() - t0;
    if (o.status)
        fail_msg("offer: %s", o.err);
    assert_int_equal(o.relay, 1);
    /* ICMP port unreachable moves on at once, well before the timeout. */
    if (took >= 1000)
        fail_msg("failover took %lld ms", (long long)took);
    assert_false(media_relay_up(c, 0));
    assert_true(media_relay_up(c, 1));
    /* Health as the panel shows it: relay 0 refused, relay 1 answered. */
    media_relay_health_t h;
    media_relay_health(c, 0, &h);
    assert_true(h.heard);
    assert_false(h.up);
    assert_string_equal(h.result, "refused");
    assert_true(h.rtt_us < 0);
    media_relay_health(c, 1, &h);
    assert_true(h.heard && h.up);
    assert_int_equal(h.cmd, MEDIA_CMD_OFFER);
    assert_string_equal(h.result, "ok");
    assert_true(h.rtt_us >= 0 && h.rtt_us < 2000000);
    assert_int_equal(media_call_relay(c, (fedge_str_t){id, strlen(id)}), 1);

    /* Sticky: the delete goes to relay 1 only, and is answered. */
    media_req_t d = {.cmd = MEDIA_CMD_DELETE, .call_id = {id, strlen(id)}, .relay = -1};
    run_request(&loop, c, &d, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.relay, 1);
    assert_int_equal(media_call_relay(c, (fedge_str_t){id, strlen(id)}), -1);
    media_relay_health(c, 1, &h);
    assert_int_equal(h.cmd, MEDIA_CMD_DELETE);

    /* A relay that failed lately is tried last: the next call starting
     * at relay 0 goes to relay 1 first, at once. */
    call_id_for(id, sizeof(id), 0, 2, "closed2");
    r = offer(id);
    run_request(&loop, c, &r, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.relay, 1);
    media_req_t d2 = {.cmd = MEDIA_CMD_DELETE, .call_id = {id, strlen(id)}, .relay = -1};
    run_request(&loop, c, &d2, &o);
    assert_int_equal(o.status, 0);
    close_client(&loop, c);
}

static void test_failover_past_silent_relay_and_timeout(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint16_t ports[2] = {blackhole_port, ng_port};
    const uint32_t timeout = 400;
    media_client_t *c = client(&loop, ports, 2, timeout);
    char id[64];
    call_id_for(id, sizeof(id), 0, 2, "silent");
    outcome_t o;
    media_req_t r = offer(id);
    int64_t t0 = now_ms();
    run_request(&loop, c, &r, &o);
    int64_t took = now_ms() - t0;
    if (o.status)
        fail_msg("offer: %s", o.err);
    assert_int_equal(o.relay, 1);
    if (took < timeout - 20 || took > timeout + 1000)
        fail_msg("failover after %lld ms, expected about %u", (long long)took, timeout);
    /* The silent relay got the command twice (one retransmission). */
    char buf[8192];
    int got = 0;
    while (recv(blackhole_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
        assert_non_null(memmem(buf, 64, " d7:command5:offer", 18));
        got++;
    }
    assert_int_equal(got, 2);
    media_req_t d = {.cmd = MEDIA_CMD_DELETE, .call_id = {id, strlen(id)}, .relay = -1};
    run_request(&loop, c, &d, &o);
    assert_int_equal(o.status, 0);

    /* Only the silent relay: a timeout naming it, after about timeout. */
    media_req_t p = {.cmd = MEDIA_CMD_PING, .relay = 0};
    t0 = now_ms();
    run_request(&loop, c, &p, &o);
    took = now_ms() - t0;
    assert_int_equal(o.status, FEDGE_ETIMEDOUT);
    char name[32];
    snprintf(name, sizeof(name), "127.0.0.1:%u", blackhole_port);
    assert_non_null(strstr(o.err, name));
    if (took < timeout - 20 || took > timeout + 1000)
        fail_msg("timeout after %lld ms, expected about %u", (long long)took, timeout);
    while (recv(blackhole_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
    close_client(&loop, c);
}

static void test_cancel_and_close(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_client_t *c = client(&loop, &blackhole_port, 1, 300);
    outcome_t a = {0}, b = {0};
    media_req_t p = {.cmd = MEDIA_CMD_PING, .relay = 0};
    media_pending_t *pa;
    fedge_err_t e;
    assert_int_equal(media_request(c, &p, done_cb, &a, &pa, &e), 0);
    assert_int_equal(media_request(c, &p, done_cb, &b, NULL, &e), 0);
    assert_int_equal(media_pending_count(c), 2);
    media_request_cancel(pa);
    assert_int_equal(media_pending_count(c), 1);
    /* Closing runs the other's callback with FEDGE_ECLOSED, once. */
    media_client_close(c);
    assert_true(b.done);
    assert_int_equal(b.status, FEDGE_ECLOSED);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_false(a.done);
    assert_int_equal(b.calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
    char buf[512];
    while (recv(blackhole_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

static void test_client_options(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_client_t *c;
    fedge_err_t e;
    media_relay_addr_t bad[1] = {{"rtp.example.com", 2223}};
    media_opts_t o = {.relays = bad, .relay_count = 1, .timeout_ms = 100};
    assert_int_equal(media_client_new(&loop, &o, &c, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "not an IP address"));
    o.relay_count = 0;
    assert_int_equal(media_client_new(&loop, &o, &c, &e), FEDGE_EINVAL);
    media_relay_addr_t v6[1] = {{"::1", 2223}};
    o = (media_opts_t){.relays = v6, .relay_count = 1, .timeout_ms = 0};
    assert_int_equal(media_client_new(&loop, &o, &c, &e), FEDGE_EINVAL);
    o.timeout_ms = 100;
    assert_int_equal(media_client_new(&loop, &o, &c, &e), 0);
    assert_string_equal(media_relay_name(c, 0), "[::1]:2223");
    close_client(&loop, c);
}

/* ---- the relay driver (src/media/relay.c) ---- */

typedef struct {
    bool done;
    media_out_t out;
    char body[4096];
} job_out_t;

static void job_cb(void *arg, const media_out_t *out)
{
    job_out_t *j = arg;
    j->done = true;
    j->out = *out;
    size_t n = out->body_len < sizeof(j->body) - 1 ? out->body_len : sizeof(j->body) - 1;
    if (out->body)
        memcpy(j->body, out->body, n);
    j->body[n] = '\0';
    j->out.body = j->body;
}

static media_relay_t *relay_on(uv_loop_t *loop, const uint16_t *ports, size_t n, bool forward)
{
    media_relay_addr_t relays[MEDIA_MAX_RELAYS];
    for (size_t i = 0; i < n; i++)
        relays[i] = (media_relay_addr_t){"127.0.0.1", ports[i]};
    media_relay_opts_t o = {.ng = {.relays = relays, .relay_count = n, .timeout_ms = 300},
                            .interface = {"internal", "external"},
                            .forward_on_failure = forward};
    media_relay_t *r;
    fedge_err_t e;
    if (media_relay_new(loop, &o, &r, &e) < 0)
        fail_msg("media_relay_new: %s", e.msg);
    return r;
}

/* Runs one message through r; returns what to do with it. */
static media_out_t relay_msg(uv_loop_t *loop, media_relay_t *r, media_in_t *in, job_out_t *jo)
{
    memset(jo, 0, sizeof(*jo));
    media_out_t now;
    int rc = media_relay_process(r, in, job_cb, jo, NULL, &now);
    if (rc == 0)
        return now;
    assert_int_equal(rc, 1);
    assert_false(jo->done);
    int64_t end = now_ms() + 5000;
    while (!jo->done && now_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
    assert_true(jo->done);
    return jo->out;
}

static media_in_t msg_in(bool request, int method, int status, const char *id, media_side_t from,
                         const char *ctype, const char *body, const char *to_tag)
{
    media_in_t in = {
        .msg = {.request = request,
                .method = method,
                .status = status,
                .call_id = {id, strlen(id)},
                .to_tag = to_tag != NULL,
                .from_side = from},
        .content_type = {ctype, strlen(ctype)},
        .body = {body, strlen(body)},
        .from_tag = FEDGE_STR_LIT("ft9"),
        .to_tag = {to_tag ? to_tag : "", to_tag ? strlen(to_tag) : 0},
        .peer_ip = "127.0.0.1",
    };
    return in;
}

/* Asks the relay whether it still has the call. */
static int query_status(uv_loop_t *loop, media_client_t *c, const char *id)
{
    outcome_t o;
    media_req_t q = {.cmd = MEDIA_CMD_QUERY, .call_id = {id, strlen(id)}, .relay = -1};
    run_request(loop, c, &q, &o);
    return o.status;
}

static void test_relay_call_flow(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_t *r = relay_on(&loop, &ng_port, 1, false);
    char id[64];
    snprintf(id, sizeof(id), "relay-%d@test", (int)getpid());
    job_out_t jo;

    media_in_t in = msg_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_INTERNAL, "application/sdp",
                           SDP_IN, NULL);
    media_out_t out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_int_equal(out.body_len, strlen(jo.body));
    assert_non_null(strstr(jo.body, "c=IN IP4 127.0.0.3"));
    assert_null(strstr(jo.body, "10.0.0.5"));
    assert_null(strstr(jo.body, "a=candidate"));
    assert_int_equal(media_relay_calls(r), 1);

    /* 180 without body: nothing to do. */
    in = msg_in(false, SIP_METHOD_INVITE, 180, id, MEDIA_SIDE_EXTERNAL, "", "", "tt9");
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_FORWARD);

    /* 200 with the partner's SDP inside multipart/mixed. */
    char mp[1024];
    snprintf(mp, sizeof(mp),
             "--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--zz\r\nContent-Type: "
             "application/sdp\r\n\r\n%s\r\n--zz--\r\n",
             SDP_OUT);
    in = msg_in(false, SIP_METHOD_INVITE, 200, id, MEDIA_SIDE_EXTERNAL,
                "multipart/mixed;boundary=zz", mp, "tt9");
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_non_null(strstr(jo.body, "c=IN IP4 127.0.0.2"));
    assert_null(strstr(jo.body, "198.51.100.9"));
    assert_memory_equal(jo.body, "--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--zz\r\n", 45);
    assert_non_null(strstr(jo.body, "\r\n--zz--\r\n"));
    assert_int_equal(query_status(&loop, media_relay_client(r), id), 0);

    /* BYE: forwarded at once, the delete goes in the background. */
    in = msg_in(true, SIP_METHOD_BYE, 0, id, MEDIA_SIDE_EXTERNAL, "", "", "tt9");
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_FORWARD);
    assert_int_equal(media_relay_calls(r), 0);
    int st = 0;
    for (int i = 0; i < 20 && st == 0; i++)
        st = query_status(&loop, media_relay_client(r), id);
    assert_int_equal(st, FEDGE_EPERM); /* the relay no longer knows it */

    /* A 486 to a new INVITE deletes it too; a CANCEL as well. */
    snprintf(id, sizeof(id), "relay486-%d@test", (int)getpid());
    in = msg_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_EXTERNAL, "application/sdp", SDP_OUT,
                NULL);
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_non_null(strstr(jo.body, "c=IN IP4 127.0.0.2"));
    in = msg_in(false, SIP_METHOD_INVITE, 486, id, MEDIA_SIDE_INTERNAL, "", "", "tt1");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_FORWARD);
    st = 0;
    for (int i = 0; i < 20 && st == 0; i++)
        st = query_status(&loop, media_relay_client(r), id);
    assert_int_equal(st, FEDGE_EPERM);

    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A partner's call forked on to a remote client (media.h, "forks"): the
 * client's crossing is a relay call of its own; the client's answer is
 * answered by the fork, then by the call; the client's own re-INVITE and
 * the partner's answer to it pass through both (the answer given to the
 * client is the fork's external address, not the call's internal one);
 * the BYE deletes both at the relay. */
static media_in_t fork_in(bool request, int method, int status, const char *id, media_side_t from,
                          bool client, const char *body, const char *ftag, const char *ttag,
                          const char *branch)
{
    media_in_t in =
        msg_in(request, method, status, id, from, body[0] ? "application/sdp" : "", body, ttag);
    in.msg.client = client;
    in.from_tag = (fedge_str_t){ftag, strlen(ftag)};
    in.msg.branch = (fedge_str_t){branch, strlen(branch)};
    return in;
}

static void test_relay_fork_to_remote_client(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_t *r = relay_on(&loop, &ng_port, 1, false);
    char id[64], fid[96], i1[4096], i2[4096], cl[512];
    snprintf(id, sizeof(id), "fork-%d@test", (int)getpid());
    snprintf(fid, sizeof(fid), "%s;fork=z9hG4bK-k1", id);
    job_out_t jo;
    char ip[64];
    unsigned port, e2;

    /* the partner's INVITE: call 1, external -> internal */
    media_in_t in = fork_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_EXTERNAL, false, SDP_OUT,
                            "fp", NULL, "z9hG4bK-p");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
    assert_true(sdp_audio(jo.body, ip, sizeof(ip), &port) && !strcmp(ip, "127.0.0.2"));
    snprintf(i1, sizeof(i1), "%s", jo.body);
    /* the internal server's fork to the client: a call of its own */
    in = fork_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_INTERNAL, true, i1, "fp", NULL,
                 "z9hG4bK-k1");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
    assert_true(sdp_audio(jo.body, ip, sizeof(ip), &e2) && !strcmp(ip, "127.0.0.3"));
    assert_int_equal(media_relay_calls(r), 2);
    assert_int_equal(query_status(&loop, media_relay_client(r), fid), 0);
    /* the client's 200: the fork answers (its internal side), then call 1
     * (its external side) */
    snprintf(cl, sizeof(cl), "%s", SDP_IN);
    in = fork_in(false, SIP_METHOD_INVITE, 200, id, MEDIA_SIDE_EXTERNAL, true, cl, "fp", "tc",
                 "z9hG4bK-k1");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
    assert_true(sdp_audio(jo.body, ip, sizeof(ip), &port) && !strcmp(ip, "127.0.0.2"));
    assert_null(strstr(jo.body, "10.0.0.5"));
    snprintf(i2, sizeof(i2), "%s", jo.body);
    in = fork_in(false, SIP_METHOD_INVITE, 200, id, MEDIA_SIDE_INTERNAL, false, i2, "fp", "tc",
                 "z9hG4bK-p");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
    assert_true(sdp_audio(jo.body, ip, sizeof(ip), &port) && !strcmp(ip, "127.0.0.3"));
    /* the client's re-INVITE, on the partner's crossing only: through the
     * fork, then call 1 (the partner sees call 1's external side) */
    in = fork_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_INTERNAL, false, cl, "tc", "fp",
                 "z9hG4bK-c1");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
    assert_true(sdp_audio(jo.body, ip, sizeof(ip), &port) && !strcmp(ip, "127.0.0.3"));
    assert_null(strstr(jo.body, "10.0.0.5"));
    /* the partner's 200: call 1, then the fork: the client is given the
     * fork's external side again, not call 1's internal one */
    in = fork_in(false, SIP_METHOD_INVITE, 200, id, MEDIA_SIDE_EXTERNAL, false, SDP_OUT, "tc", "fp",
                 "z9hG4bK-c1");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
    assert_true(sdp_audio(jo.body, ip, sizeof(ip), &port) && !strcmp(ip, "127.0.0.3"));
    assert_int_equal(port, e2);
    /* the partner's BYE: call 1 and its fork deleted at the relay */
    in = fork_in(true, SIP_METHOD_BYE, 0, id, MEDIA_SIDE_EXTERNAL, false, "", "fp", "tc",
                 "z9hG4bK-b");
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_FORWARD);
    assert_int_equal(media_relay_calls(r), 0);
    int st = 0, fst = 0;
    for (int i = 0; i < 20 && (st == 0 || fst == 0); i++) {
        st = query_status(&loop, media_relay_client(r), id);
        fst = query_status(&loop, media_relay_client(r), fid);
    }
    assert_int_equal(st, FEDGE_EPERM);
    assert_int_equal(fst, FEDGE_EPERM);

    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The partner's SDP names 127.0.0.9 (standing for an internal host it
 * would like the relay to send to); its SIP came from 127.0.0.1. The
 * relay sends the inside's media to 127.0.0.1 (the SIP source), on the
 * port the SDP gives, not to 127.0.0.9. */
static void test_relay_ignores_partner_sdp_address(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_t *r = relay_on(&loop, &ng_port, 1, false);
    uint16_t pa, pb;
    int fa = udp_on("127.0.0.1", &pa), fb = udp_on("127.0.0.1", &pb);
    int f9 = -1;
    uint16_t p9 = 0;
    char sdp_a[512], sdp_b[512], id[64];
    snprintf(sdp_a, sizeof(sdp_a),
             "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %u RTP/AVP 0\r\n",
             pa);
    /* A socket on 127.0.0.9 with B's port, to see whether anything goes
     * there. */
    f9 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a9 = {.sin_family = AF_INET, .sin_port = htons(pb)};
    inet_pton(AF_INET, "127.0.0.9", &a9.sin_addr);
    assert_int_equal(bind(f9, (struct sockaddr *)&a9, sizeof(a9)), 0);
    struct timeval tv = {0, 50000};
    setsockopt(f9, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)p9;
    snprintf(sdp_b, sizeof(sdp_b),
             "v=0\r\no=b 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n"
             "m=audio %u RTP/AVP 0\r\n",
             pb);
    snprintf(id, sizeof(id), "spoof-%d@test", (int)getpid());
    job_out_t jo;
    media_in_t in =
        msg_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_INTERNAL, "application/sdp", sdp_a, NULL);
    media_out_t out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    char ext_ip[64], int_ip[64];
    unsigned ext_port, int_port;
    assert_true(sdp_audio(jo.body, ext_ip, sizeof(ext_ip), &ext_port));
    in = msg_in(false, SIP_METHOD_INVITE, 200, id, MEDIA_SIDE_EXTERNAL, "application/sdp", sdp_b,
                "tt9");
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_true(sdp_audio(jo.body, int_ip, sizeof(int_ip), &int_port));

    /* Before the partner sends anything: the inside's media. */
    int to_b = rtp_through(fa, int_ip, int_port, fb, 5);
    char buf[512];
    int to_9 = 0;
    while (recv(f9, buf, sizeof(buf), 0) > 0)
        to_9++;
    if (to_b < 4 || to_9 != 0)
        fail_msg("inside's RTP: %d/5 to the SIP source, %d to the SDP's address", to_b, to_9);
    close(fa);
    close(fb);
    close(f9);
    media_relay_end_call(r, (fedge_str_t){id, strlen(id)});
    assert_int_equal(media_relay_calls(r), 0);
    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Late offer: the INVITE has no SDP, the partner's 200 offers, the
 * inside's ACK answers (rtpengine's from-tag is then the partner's). */
static void test_relay_late_offer(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_t *r = relay_on(&loop, &ng_port, 1, false);
    char id[64];
    snprintf(id, sizeof(id), "late-%d@test", (int)getpid());
    job_out_t jo;
    media_in_t in = msg_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_INTERNAL, "", "", NULL);
    assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_FORWARD);
    in = msg_in(false, SIP_METHOD_INVITE, 200, id, MEDIA_SIDE_EXTERNAL, "application/sdp", SDP_OUT,
                "tt9");
    media_out_t out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_non_null(strstr(jo.body, "c=IN IP4 127.0.0.2"));
    in = msg_in(true, SIP_METHOD_ACK, 0, id, MEDIA_SIDE_INTERNAL, "application/sdp", SDP_IN, "tt9");
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_non_null(strstr(jo.body, "c=IN IP4 127.0.0.3"));
    assert_null(strstr(jo.body, "10.0.0.5"));
    /* A re-INVITE from the partner (From/To swapped in the message). */
    in = msg_in(true, SIP_METHOD_INVITE, 0, id, MEDIA_SIDE_EXTERNAL, "application/sdp", SDP_OUT,
                "ft9");
    in.from_tag = FEDGE_STR_LIT("tt9");
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_non_null(strstr(jo.body, "c=IN IP4 127.0.0.2"));
    in = msg_in(false, SIP_METHOD_INVITE, 200, id, MEDIA_SIDE_INTERNAL, "application/sdp", SDP_IN,
                "ft9");
    in.from_tag = FEDGE_STR_LIT("tt9");
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REPLACE);
    assert_non_null(strstr(jo.body, "c=IN IP4 127.0.0.3"));
    media_relay_end_call(r, (fedge_str_t){id, strlen(id)});
    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_relay_failure_refuse_or_forward(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_t *r = relay_on(&loop, &closed_port, 1, false);
    job_out_t jo;
    media_in_t in = msg_in(true, SIP_METHOD_INVITE, 0, "down1@test", MEDIA_SIDE_INTERNAL,
                           "application/sdp", SDP_IN, NULL);
    media_out_t out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_REFUSE);
    assert_int_equal(out.status, 503);
    char name[32];
    snprintf(name, sizeof(name), "127.0.0.1:%u", closed_port);
    assert_non_null(strstr(out.warning, name));
    assert_int_equal(media_relay_calls(r), 0); /* the call was never set up */
    /* A response cannot be refused: forwarded as it is. */
    in = msg_in(true, SIP_METHOD_INVITE, 0, "down2@test", MEDIA_SIDE_INTERNAL, "application/sdp",
                SDP_IN, NULL);
    (void)relay_msg(&loop, r, &in, &jo);
    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);

    r = relay_on(&loop, &closed_port, 1, true);
    in = msg_in(true, SIP_METHOD_INVITE, 0, "down3@test", MEDIA_SIDE_INTERNAL, "application/sdp",
                SDP_IN, NULL);
    out = relay_msg(&loop, r, &in, &jo);
    assert_int_equal(out.kind, MEDIA_OUT_FORWARD);
    /* No body, or not SDP: nothing asked. */
    in = msg_in(true, SIP_METHOD_MESSAGE, 0, "im@test", MEDIA_SIDE_INTERNAL, "text/plain", "hi",
                NULL);
    media_out_t now;
    assert_int_equal(media_relay_process(r, &in, job_cb, &jo, NULL, &now), 0);
    assert_int_equal(now.kind, MEDIA_OUT_FORWARD);
    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Runs the loop and the relay's checks until cond holds (or 5 s). */
static bool checks_until(uv_loop_t *loop, media_relay_t *r, bool (*cond)(media_relay_t *))
{
    int64_t end = now_ms() + 5000;
    while (!cond(r) && now_ms() < end) {
        media_relay_run_checks(r);
        uv_run(loop, UV_RUN_NOWAIT);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return cond(r);
}

static bool one_call_left(media_relay_t *r)
{
    return media_relay_calls(r) == 1;
}

/* Against a real rtpengine: a call whose connection closed and which got
 * no media is deleted after the grace; a call the relay lost (its own
 * timeout, done here with a delete from another client) is forgotten by
 * the idle check, and a call the relay still holds stays. */
static void test_relay_orphans_and_reaper(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_addr_t relay = {"127.0.0.1", ng_port};
    media_relay_opts_t o = {.ng = {.relays = &relay, .relay_count = 1, .timeout_ms = 300},
                            .interface = {"internal", "external"},
                            .orphan_grace_ms = 100,
                            .check_idle_ms = 200};
    media_relay_t *r;
    fedge_err_t e;
    assert_int_equal(media_relay_new(&loop, &o, &r, &e), 0);
    char ids[3][64];
    job_out_t jo;
    for (int i = 0; i < 3; i++) {
        snprintf(ids[i], sizeof(ids[i]), "orph%d-%d@test", i, (int)getpid());
        media_in_t in = msg_in(true, SIP_METHOD_INVITE, 0, ids[i], MEDIA_SIDE_INTERNAL,
                               "application/sdp", SDP_IN, NULL);
        in.msg.remote = FEDGE_STR_LIT("10.0.0.5:5060");
        assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
        in = msg_in(false, SIP_METHOD_INVITE, 200, ids[i], MEDIA_SIDE_EXTERNAL, "application/sdp",
                    SDP_OUT, "tt9");
        in.msg.remote = i == 0 ? FEDGE_STR_LIT("127.0.0.1:5061") : FEDGE_STR_LIT("127.0.0.1:5062");
        assert_int_equal(relay_msg(&loop, r, &in, &jo).kind, MEDIA_OUT_REPLACE);
    }
    assert_int_equal(media_relay_calls(r), 3);

    /* call 0's partner connection closes; nobody comes back, no media */
    assert_int_equal(media_relay_conn_closed(r, MEDIA_SIDE_EXTERNAL, "127.0.0.1:5061"), 1);
    /* call 1 is lost by the relay */
    uv_loop_t loop2; /* its own loop: closing it runs that loop dry */
    uv_loop_init(&loop2);
    media_client_t *other = client(&loop2, &ng_port, 1, 300);
    outcome_t oc;
    media_req_t del = {.cmd = MEDIA_CMD_DELETE, .call_id = {ids[1], strlen(ids[1])}, .relay = 0};
    run_request(&loop2, other, &del, &oc);
    assert_int_equal(oc.status, 0);
    close_client(&loop2, other); /* closes loop2 */

    assert_true(checks_until(&loop, r, one_call_left));
    media_calls_stats_t st;
    media_relay_stats(r, &st);
    assert_int_equal(st.orphaned, 1);
    assert_int_equal(st.orphans_deleted, 1);
    assert_int_equal(st.reaped, 1);
    assert_int_equal(st.orphans, 0);
    int qs = 0;
    for (int i = 0; i < 20 && qs == 0; i++)
        qs = query_status(&loop, media_relay_client(r), ids[0]);
    assert_int_equal(qs, FEDGE_EPERM); /* deleted at the relay */
    assert_int_equal(query_status(&loop, media_relay_client(r), ids[2]), 0); /* kept */

    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_options),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_offer_answer_query_delete),
        cmocka_unit_test(test_media_flows_through_the_relay),
        cmocka_unit_test(test_sticky_table_is_bounded),
        cmocka_unit_test(test_burst_is_paced),
        cmocka_unit_test(test_relay_error_and_bad_requests),
        cmocka_unit_test(test_failover_past_closed_port),
        cmocka_unit_test(test_failover_past_silent_relay_and_timeout),
        cmocka_unit_test(test_cancel_and_close),
        cmocka_unit_test(test_relay_call_flow),
        cmocka_unit_test(test_relay_fork_to_remote_client),
        cmocka_unit_test(test_relay_ignores_partner_sdp_address),
        cmocka_unit_test(test_relay_late_offer),
        cmocka_unit_test(test_relay_failure_refuse_or_forward),
        cmocka_unit_test(test_relay_orphans_and_reaper),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
