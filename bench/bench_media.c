/* bench_media.c — what relaying calls' media costs fedge, with a real
 * rtpengine started here in user space: the set-up of one call through
 * the relay driver (INVITE offer + 200 answer: table, ng round trips, SDP
 * found and replaced), first one call at a time (latency per ng round
 * trip, p50/p99), then paced at 50 calls/s up to N concurrent calls held
 * (default 1000), with fedge's CPU per call set-up reported apart from
 * rtpengine's. Usage: bench_media [CALLS]. Exits 1 when a call fails. */
#include "media/media.h"
#include "sip/sip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* utime + stime of pid from /proc, in microseconds. */
static uint64_t proc_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (ut + st) * 1000000u / (uint64_t)sysconf(_SC_CLK_TCK);
}

static uint16_t udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t start_rtpengine(uint16_t ng)
{
    char listen[64];
    snprintf(listen, sizeof(listen), "--listen-ng=127.0.0.1:%u", ng);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = fileno(fopen("/dev/null", "w"));
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("rtpengine", "rtpengine", "--foreground", "--config-file=none", "--table=-1",
               "--interface=internal/127.0.0.2", "--interface=external/127.0.0.3", listen,
               "--port-min=40000", "--port-max=49999", "--log-stderr", "--log-level=3",
               "--num-threads=1", "--delete-delay=0", (char *)NULL);
        _exit(127);
    }
    return pid;
}

typedef struct {
    bool done;
    media_out_kind_t kind;
} wait_t;

static void done_cb(void *arg, const media_out_t *out)
{
    wait_t *w = arg;
    w->done = true;
    w->kind = out->kind;
}

static media_out_kind_t run(uv_loop_t *loop, media_relay_t *r, media_in_t *in)
{
    wait_t w = {0};
    media_out_t now;
    if (media_relay_process(r, in, done_cb, &w, NULL, &now) == 0)
        return now.kind;
    while (!w.done)
        uv_run(loop, UV_RUN_ONCE);
    return w.kind;
}

static const char SDP_IN[] = "v=0\r\no=a 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
                             "t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
                             "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
static const char SDP_OUT[] = "v=0\r\no=b 1 1 IN IP4 198.51.100.9\r\ns=-\r\n"
                              "c=IN IP4 198.51.100.9\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0 101\r\n"
                              "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

/* Sets up call i (offer, answer); the round-trip times go to rtt[2]. */
static bool setup_call(uv_loop_t *loop, media_relay_t *r, int i, uint64_t rtt[2])
{
    char id[64];
    snprintf(id, sizeof(id), "bench-%d-%d@bench", (int)getpid(), i);
    media_in_t in = {
        .msg = {.request = true,
                .method = SIP_METHOD_INVITE,
                .call_id = {id, strlen(id)},
                .from_side = MEDIA_SIDE_INTERNAL},
        .content_type = FEDGE_STR_LIT("application/sdp"),
        .body = {SDP_IN, sizeof(SDP_IN) - 1},
        .from_tag = FEDGE_STR_LIT("fa"),
        .peer_ip = "127.0.0.1",
    };
    uint64_t t0 = now_us();
    if (run(loop, r, &in) != MEDIA_OUT_REPLACE)
        return false;
    uint64_t t1 = now_us();
    in.msg.request = false;
    in.msg.status = 200;
    in.msg.to_tag = true;
    in.msg.from_side = MEDIA_SIDE_EXTERNAL;
    in.body = (fedge_str_t){SDP_OUT, sizeof(SDP_OUT) - 1};
    in.to_tag = FEDGE_STR_LIT("tb");
    if (run(loop, r, &in) != MEDIA_OUT_REPLACE)
        return false;
    rtt[0] = t1 - t0;
    rtt[1] = now_us() - t1;
    return true;
}

static void end_call(uv_loop_t *loop, media_relay_t *r, int i)
{
    char id[64];
    snprintf(id, sizeof(id), "bench-%d-%d@bench", (int)getpid(), i);
    media_in_t in = {.msg = {.request = true,
                             .method = SIP_METHOD_BYE,
                             .call_id = {id, strlen(id)},
                             .to_tag = true,
                             .from_side = MEDIA_SIDE_INTERNAL}};
    run(loop, r, &in);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int calls = argc > 1 ? atoi(argv[1]) : 1000;
    if (calls < 10)
        calls = 10;
    signal(SIGPIPE, SIG_IGN);
    uint16_t ng = udp_port();
    pid_t rp = start_rtpengine(ng);
    uv_loop_t loop;
    uv_loop_init(&loop);
    media_relay_addr_t addr = {"127.0.0.1", ng};
    media_relay_opts_t o = {.ng = {.relays = &addr, .relay_count = 1, .timeout_ms = 2000},
                            .interface = {"internal", "external"}};
    media_relay_t *r;
    fedge_err_t e;
    if (media_relay_new(&loop, &o, &r, &e) < 0) {
        fprintf(stderr, "bench_media: %s\n", e.msg);
        return 1;
    }
    /* Readiness and warm-up: the first call retried until rtpengine takes
     * it (10 s). */
    uint64_t rtt[2];
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) {
        ok = setup_call(&loop, r, -1 - i, rtt);
        if (ok)
            end_call(&loop, r, -1 - i);
        else
            usleep(200000);
    }
    if (!ok) {
        fprintf(stderr, "bench_media: rtpengine does not answer\n");
        kill(rp, SIGTERM);
        return 1;
    }

    /* 1. One call at a time. */
    int n1 = 200;
    uint64_t *lat = calloc((size_t)n1 * 2, sizeof(*lat));
    uint64_t c0 = self_cpu_us(), r0 = proc_cpu_us(rp), w0 = now_us();
    for (int i = 0; i < n1; i++) {
        if (!setup_call(&loop, r, 100000 + i, rtt)) {
            fprintf(stderr, "bench_media: call %d failed\n", i);
            return 1;
        }
        lat[i] = rtt[0];
        lat[n1 + i] = rtt[1];
        end_call(&loop, r, 100000 + i);
    }
    uint64_t wall = now_us() - w0, cpu = self_cpu_us() - c0, rcpu = proc_cpu_us(rp) - r0;
    qsort(lat, (size_t)n1, sizeof(*lat), cmp_u64);
    qsort(lat + n1, (size_t)n1, sizeof(*lat), cmp_u64);
    printf("media: %d calls one at a time: offer round trip p50 %llu us p99 %llu us, answer p50 "
           "%llu us p99 %llu us; %.0f calls/s; fedge CPU %.1f us/call (set-up + delete), "
           "rtpengine CPU %.1f us/call\n",
           n1, (unsigned long long)lat[n1 / 2], (unsigned long long)lat[n1 * 99 / 100],
           (unsigned long long)lat[n1 + n1 / 2], (unsigned long long)lat[n1 + n1 * 99 / 100],
           n1 * 1e6 / (double)wall, (double)cpu / n1, (double)rcpu / n1);
    free(lat);

    /* 2. Paced at 50 calls/s, every call held until the end. */
    c0 = self_cpu_us();
    r0 = proc_cpu_us(rp);
    w0 = now_us();
    int held = 0;
    uint64_t worst = 0;
    for (int i = 0; i < calls; i++) {
        uint64_t due = w0 + (uint64_t)i * 20000u;
        uint64_t t = now_us();
        if (t < due)
            usleep((useconds_t)(due - t));
        if (!setup_call(&loop, r, i, rtt)) {
            fprintf(stderr, "bench_media: paced call %d failed\n", i);
            break;
        }
        if (rtt[0] + rtt[1] > worst)
            worst = rtt[0] + rtt[1];
        held++;
    }
    cpu = self_cpu_us() - c0;
    rcpu = proc_cpu_us(rp) - r0;
    printf("media: %d calls at 50 calls/s, %d held at once (relay table %zu): worst set-up "
           "%llu us; fedge CPU %.1f us per call set-up, rtpengine CPU %.1f us per call set-up\n",
           calls, held, media_relay_calls(r), (unsigned long long)worst, (double)cpu / held,
           (double)rcpu / held);
    for (int i = 0; i < held; i++)
        end_call(&loop, r, i);
    /* Let the deletes be answered. */
    uint64_t end = now_us() + 2000000;
    while (media_pending_count(media_relay_client(r)) && now_us() < end)
        uv_run(&loop, UV_RUN_ONCE);
    media_relay_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    kill(rp, SIGTERM);
    waitpid(rp, NULL, 0);
    return held == calls ? 0 : 1;
}
