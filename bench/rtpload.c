/* rtpload.c — the RTP of many relayed calls at once, for bench/media.sh:
 * one process sends 20 ms RTP packets (PCMU size) both ways for each call
 * through the relay ports its signalling got, receives them on the other
 * side and counts per call and direction what arrived, in steps of more and
 * more calls, with the CPU of the relay, of fedge and its own (from /proc)
 * and the machine's idle time over each step's measured window.
 *
 *   rtpload --calls FILE --int-ports P,P,... --ext-ports P,P,... \
 *           [--steps 250,500,1000] [--pps 50] [--warmup-ms 2000] \
 *           [--measure-ms 10000] [--relay-pid PID] [--fedge-pid PID]
 *
 * FILE: one line per call, "INT_IP INT_PORT EXT_IP EXT_PORT S": the relay's
 * address the inside sends to (it forwards to the partner), the one the
 * partner sends to, and the index S of the call's socket in each port
 * list: the call sends from and receives on those 127.0.0.1 ports, the
 * ones its SDP named (bench/media_calls.py), so the relay sends to them
 * from the start. Each packet carries the call
 * and direction in its SSRC and the step and window in its payload, so
 * packets of a warm-up or of an earlier step are never counted. sendmmsg
 * and recvmmsg batch the system calls; a 1 ms timerfd drives 20 slots of
 * calls (call k sends in slot k % (1000 / pps)). A packet that has not
 * arrived 1 s after the step's last one is lost; each packet also carries
 * its send time, for the one-way time through the relay (p50, p99, max).
 * Drops the kernel counts (at rtpload's sockets, at every UDP socket, in
 * the input backlog) are shown beside the loss, to tell where it was.
 * Prints one "rtp:" line per step and a last "rtp: held" line: the most
 * calls whose loss stayed at or under 1 % both ways. Exit status 0 when
 * the first step held. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKS 64
#define MAX_STEPS 16
#define BATCH 64
#define PKT_LEN 172 /* 12 bytes of RTP header, 160 of PCMU: 20 ms at 8 kHz */
#define MAGIC 0x7274706cu
/* After a step's last packet: what arrives later counts as lost (for
 * audio it is: jitter buffers hold tens of milliseconds). */
#define DRAIN_US 1000000u

typedef struct {
    struct sockaddr_in to[2]; /* 0: relay internal (inside -> partner), 1: relay external */
    uint64_t sent[2], got[2]; /* in the measured window of the current step */
    uint16_t seq[2];
    size_t sock; /* index of its socket on each side */
} call_t;

typedef struct {
    int fd;
    uint64_t drops; /* SO_RXQ_OVFL: datagrams the kernel dropped, socket full */
} sock_t;

static call_t *calls;
static size_t ncalls;
static sock_t socks[2][MAX_SOCKS]; /* [0]: the inside's, [1]: the partner's */
static size_t nsocks;
static uint64_t misrouted, foreign;
/* A packet later than this counts as lost: a receiver's jitter buffer
 * (tens of ms, 200 at most) has played past it (ITU-T G.114 puts good
 * conversation under 150 ms one way). */
#define LATE_US 200000u
static uint64_t late[2]; /* arrived later than LATE_US, per direction */
/* One-way time through the relay of the measured packets: 100 us buckets
 * up to 2 s (the last one holds everything later). */
#define LAT_BUCKET_US 100u
#define LAT_BUCKETS 20000u
static uint64_t lat_hist[LAT_BUCKETS];

/* The time under which a fraction q of the counted packets arrived, ms. */
static double lat_quantile(double q)
{
    uint64_t total = 0, acc = 0;
    for (size_t i = 0; i < LAT_BUCKETS; i++)
        total += lat_hist[i];
    for (size_t i = 0; i < LAT_BUCKETS; i++) {
        acc += lat_hist[i];
        if (total && (double)acc >= q * (double)total)
            return (double)(i + 1) * LAT_BUCKET_US / 1000.0;
    }
    return 0;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* utime + stime of pid from /proc in microseconds (0 when pid is 0). */
static uint64_t proc_cpu_us(long pid)
{
    char path[64], buf[1024];
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
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

static uint64_t self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* The machine's idle jiffies (idle, iowait), those of nice'd processes
 * and all (first line of /proc/stat). Nice'd processes do not yield to
 * the benchmark's under scheduler autogroups (each session gets its fair
 * share first), so they are shown apart. */
static void machine_ticks(uint64_t *idle, uint64_t *niced, uint64_t *total)
{
    unsigned long long v[10] = {0};
    FILE *f = fopen("/proc/stat", "r");
    *idle = *niced = *total = 0;
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 4) {
        for (int i = 0; i < 8; i++)
            *total += v[i];
        *idle = v[3] + v[4];
        *niced = v[1];
    }
    fclose(f);
}

/* UDP receive-buffer errors of the whole host (/proc/net/snmp "Udp:"). */
static uint64_t udp_rcvbuf_errors(void)
{
    char line[1024], names[1024] = "";
    uint64_t out = 0;
    FILE *f = fopen("/proc/net/snmp", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Udp: ", 5) != 0)
            continue;
        if (!names[0]) {
            snprintf(names, sizeof(names), "%s", line);
            continue;
        }
        /* The value line: the column whose name is RcvbufErrors. */
        int col = 0, want = -1;
        for (char *s = names, *t; (t = strtok_r(s, " \n", &s));) {
            if (strcmp(t, "RcvbufErrors") == 0)
                want = col;
            col++;
        }
        col = 0;
        for (char *s = line, *t; (t = strtok_r(s, " \n", &s));) {
            if (col++ == want)
                out = strtoull(t, NULL, 10);
        }
        break;
    }
    fclose(f);
    return out;
}

/* Packets the kernel dropped because a CPU's input backlog was full
 * (net.core.netdev_max_backlog; loopback goes through it): the second
 * column of /proc/net/softnet_stat, summed over CPUs. */
static uint64_t backlog_drops(void)
{
    unsigned long long a, b;
    uint64_t out = 0;
    char line[512];
    FILE *f = fopen("/proc/net/softnet_stat", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%llx %llx", &a, &b) == 2)
            out += b;
    fclose(f);
    return out;
}

static int parse_list(const char *s, long *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s)
            return -1;
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return *s ? -1 : n;
}

static int open_sock(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int buf = 4 << 20, one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "rtpload: cannot bind 127.0.0.1:%u: %s\n", port, strerror(errno));
        exit(2);
    }
    return fd;
}

static int load_calls(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "rtpload: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1024;
    calls = calloc(cap, sizeof(*calls));
    char ip[2][64];
    unsigned port[2];
    size_t sock;
    while (fscanf(f, "%63s %u %63s %u %zu", ip[0], &port[0], ip[1], &port[1], &sock) == 5) {
        if (sock >= nsocks) {
            fprintf(stderr, "rtpload: %s line %zu: socket %zu of %zu\n", path, ncalls + 1, sock,
                    nsocks);
            fclose(f);
            return -1;
        }
        if (ncalls == cap) {
            cap *= 2;
            calls = realloc(calls, cap * sizeof(*calls));
        }
        call_t *c = &calls[ncalls];
        memset(c, 0, sizeof(*c));
        c->sock = sock;
        for (int d = 0; d < 2; d++) {
            c->to[d].sin_family = AF_INET;
            c->to[d].sin_port = htons((uint16_t)port[d]);
            if (inet_pton(AF_INET, ip[d], &c->to[d].sin_addr) != 1 || port[d] == 0 ||
                port[d] > 65535) {
                fprintf(stderr, "rtpload: %s line %zu: bad address %s %u\n", path, ncalls + 1,
                        ip[d], port[d]);
                fclose(f);
                return -1;
            }
        }
        ncalls++;
    }
    fclose(f);
    return 0;
}

/* Packets of one tick, gathered per socket and side, then one sendmmsg
 * per socket. */
static unsigned char pkts[2][MAX_SOCKS][BATCH][PKT_LEN];
static struct mmsghdr msgs[2][MAX_SOCKS][BATCH];
static struct iovec iovs[2][MAX_SOCKS][BATCH];
static unsigned nmsg[2][MAX_SOCKS];
static uint64_t send_errors;

static void flush(int d, size_t s)
{
    unsigned off = 0;
    while (off < nmsg[d][s]) {
        int r = sendmmsg(socks[d][s].fd, msgs[d][s] + off, nmsg[d][s] - off, 0);
        if (r <= 0) {
            send_errors += nmsg[d][s] - off;
            break;
        }
        off += (unsigned)r;
    }
    nmsg[d][s] = 0;
}

/* Queues the next packet of call k in direction d (0: from the inside). */
static void queue(size_t k, int d, uint32_t step, bool measured)
{
    size_t s = calls[k].sock;
    if (nmsg[d][s] == BATCH)
        flush(d, s);
    unsigned i = nmsg[d][s]++;
    call_t *c = &calls[k];
    unsigned char *p = pkts[d][s][i];
    uint16_t seq = c->seq[d]++;
    uint32_t ssrc = htonl((uint32_t)(k * 2 + (size_t)d)), ts = htonl((uint32_t)seq * 160u);
    uint32_t w[4] = {htonl(MAGIC), htonl(step), htonl(measured), htonl((uint32_t)now_us())};
    p[0] = 0x80;
    p[1] = 0; /* PCMU */
    p[2] = (unsigned char)(seq >> 8);
    p[3] = (unsigned char)seq;
    memcpy(p + 4, &ts, 4);
    memcpy(p + 8, &ssrc, 4);
    memcpy(p + 12, w, sizeof(w));
    memset(p + 28, 0xff, PKT_LEN - 28);
    iovs[d][s][i] = (struct iovec){p, PKT_LEN};
    msgs[d][s][i].msg_hdr = (struct msghdr){.msg_name = &c->to[d],
                                            .msg_namelen = sizeof(c->to[d]),
                                            .msg_iov = &iovs[d][s][i],
                                            .msg_iovlen = 1};
    if (measured)
        c->sent[d]++;
}

static void drain(int d, size_t s, uint32_t step)
{
    static unsigned char buf[BATCH][256];
    static struct iovec iov[BATCH];
    static struct mmsghdr mm[BATCH];
    static char ctl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
            mm[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i],
                                            .msg_iovlen = 1,
                                            .msg_control = ctl[i],
                                            .msg_controllen = sizeof(ctl[i])};
        }
        int r = recvmmsg(socks[d][s].fd, mm, BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return;
        for (int i = 0; i < r; i++) {
            struct msghdr *h = &mm[i].msg_hdr;
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
                    uint32_t v;
                    memcpy(&v, CMSG_DATA(cm), sizeof(v));
                    if (v > socks[d][s].drops)
                        socks[d][s].drops = v;
                }
            }
            const unsigned char *p = buf[i];
            uint32_t ssrc, w[4];
            if (mm[i].msg_len != PKT_LEN) {
                foreign++;
                continue;
            }
            memcpy(&ssrc, p + 8, 4);
            memcpy(w, p + 12, sizeof(w));
            ssrc = ntohl(ssrc);
            size_t k = ssrc / 2;
            int from = (int)(ssrc & 1);
            if (ntohl(w[0]) != MAGIC || k >= ncalls) {
                foreign++;
                continue;
            }
            /* A packet from the inside (0) arrives at the partner's socket
             * (1) of its call, and the other way round. */
            if (from == d || calls[k].sock != s) {
                misrouted++;
                continue;
            }
            if (ntohl(w[1]) == step && ntohl(w[2])) {
                uint32_t lat = (uint32_t)now_us() - ntohl(w[3]); /* wraps in 71 min: fine */
                size_t b = lat / LAT_BUCKET_US;
                lat_hist[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
                if (lat <= LATE_US)
                    calls[k].got[from]++;
                else
                    late[from]++;
            }
        }
    }
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    long ports[2][MAX_SOCKS], steps[MAX_STEPS], relay_pid = 0, fedge_pid = 0;
    int nports[2] = {0, 0}, nsteps = 0;
    long pps = 50, warmup_ms = 2000, measure_ms = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--calls"))
            file = v;
        else if (!strcmp(o, "--int-ports"))
            nports[0] = parse_list(v, ports[0], MAX_SOCKS);
        else if (!strcmp(o, "--ext-ports"))
            nports[1] = parse_list(v, ports[1], MAX_SOCKS);
        else if (!strcmp(o, "--steps"))
            nsteps = parse_list(v, steps, MAX_STEPS);
        else if (!strcmp(o, "--pps"))
            pps = atol(v);
        else if (!strcmp(o, "--warmup-ms"))
            warmup_ms = atol(v);
        else if (!strcmp(o, "--measure-ms"))
            measure_ms = atol(v);
        else if (!strcmp(o, "--relay-pid"))
            relay_pid = atol(v);
        else if (!strcmp(o, "--fedge-pid"))
            fedge_pid = atol(v);
        else {
            fprintf(stderr, "rtpload: unknown option %s\n", o);
            return 2;
        }
    }
    if (!file || nports[0] < 1 || nports[0] != nports[1] || pps < 1 || pps > 1000 || 1000 % pps ||
        measure_ms < 1000 || nsteps < 0) {
        fprintf(stderr, "usage: rtpload --calls FILE --int-ports P,.. --ext-ports P,.. (as many) "
                        "[--steps N,..] [--pps 50 (divides 1000)] [--warmup-ms MS] "
                        "[--measure-ms MS >= 1000] [--relay-pid PID] [--fedge-pid PID]\n");
        return 2;
    }
    nsocks = (size_t)nports[0];
    if (load_calls(file) < 0)
        return 2;
    if (ncalls == 0) {
        fprintf(stderr, "rtpload: %s holds no call\n", file);
        return 2;
    }
    if (nsteps == 0)
        steps[nsteps++] = (long)ncalls;
    int ep = epoll_create1(0);
    for (int d = 0; d < 2; d++)
        for (size_t s = 0; s < nsocks; s++) {
            socks[d][s].fd = open_sock((uint16_t)ports[d][s]);
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)d << 32 | s};
            epoll_ctl(ep, EPOLL_CTL_ADD, socks[d][s].fd, &ev);
        }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec its = {.it_interval = {0, 1000000}, .it_value = {0, 1000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    struct epoll_event tev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

    const uint64_t slots = (uint64_t)(1000 / pps);
    long held = 0;
    char why[160] = "";
    bool first_ok = false;
    for (int st = 0; st < nsteps; st++) {
        size_t n = steps[st] > (long)ncalls ? ncalls : (size_t)steps[st];
        for (size_t k = 0; k < ncalls; k++)
            calls[k].sent[0] = calls[k].sent[1] = calls[k].got[0] = calls[k].got[1] = 0;
        memset(lat_hist, 0, sizeof(lat_hist));
        late[0] = late[1] = 0;
        uint64_t drops0 = 0;
        for (int d = 0; d < 2; d++)
            for (size_t s = 0; s < nsocks; s++)
                drops0 += socks[d][s].drops;
        uint64_t t0 = now_us(), m0 = t0 + (uint64_t)warmup_ms * 1000u,
                 m1 = m0 + (uint64_t)measure_ms * 1000u, end = m1 + DRAIN_US;
        uint64_t tick = 0, late_ticks = 0, rcpu0 = 0, fcpu0 = 0, scpu0 = 0, idle0 = 0, nice0 = 0,
                 tot0 = 0, rbe0 = 0, bl0 = 0;
        bool measuring = false, stopped = false;
        uint32_t step = (uint32_t)st + 1;
        for (;;) {
            uint64_t t = now_us();
            if (!measuring && t >= m0) {
                measuring = true;
                rcpu0 = proc_cpu_us(relay_pid);
                fcpu0 = proc_cpu_us(fedge_pid);
                scpu0 = self_cpu_us();
                machine_ticks(&idle0, &nice0, &tot0);
                rbe0 = udp_rcvbuf_errors();
                bl0 = backlog_drops();
            }
            if (t >= m1 && !stopped)
                stopped = true;
            if (t >= end)
                break;
            struct epoll_event evs[2 * MAX_SOCKS + 1];
            int ne = epoll_wait(ep, evs, 2 * MAX_SOCKS + 1, 5);
            for (int i = 0; i < ne; i++) {
                if (evs[i].data.u64 == UINT64_MAX) {
                    uint64_t exp = 0;
                    if (read(tfd, &exp, sizeof(exp)) != sizeof(exp) || stopped)
                        continue;
                    if (exp > 1)
                        late_ticks += exp - 1;
                    /* Missed ticks are caught up, at most one round of
                     * slots (beyond it a call would send twice at once). */
                    if (exp > slots)
                        exp = slots;
                    bool meas = now_us() >= m0;
                    for (uint64_t e = 0; e < exp; e++, tick++) {
                        for (size_t k = tick % slots; k < n; k += slots) {
                            queue(k, 0, step, meas);
                            queue(k, 1, step, meas);
                        }
                    }
                    for (int d = 0; d < 2; d++)
                        for (size_t s = 0; s < nsocks; s++)
                            if (nmsg[d][s])
                                flush(d, s);
                    continue;
                }
                int d = (int)(evs[i].data.u64 >> 32);
                size_t s = (size_t)(evs[i].data.u64 & 0xffffffffu);
                drain(d, s, step);
            }
        }
        double secs = (double)measure_ms / 1000.0;
        uint64_t rcpu = proc_cpu_us(relay_pid) - rcpu0, fcpu = proc_cpu_us(fedge_pid) - fcpu0,
                 scpu = self_cpu_us() - scpu0, idle1, nice1, tot1;
        machine_ticks(&idle1, &nice1, &tot1);
        uint64_t rbe = udp_rcvbuf_errors() - rbe0, bl = backlog_drops() - bl0, drops = 0;
        for (int d = 0; d < 2; d++)
            for (size_t s = 0; s < nsocks; s++)
                drops += socks[d][s].drops;
        drops -= drops0;
        uint64_t sent[2] = {0, 0}, got[2] = {0, 0};
        size_t bad_calls = 0, silent = 0;
        double worst = 0;
        for (size_t k = 0; k < n; k++) {
            double lk = 0;
            for (int d = 0; d < 2; d++) {
                sent[d] += calls[k].sent[d];
                got[d] += calls[k].got[d];
                if (calls[k].sent[d]) {
                    double l = 1.0 - (double)calls[k].got[d] / (double)calls[k].sent[d];
                    if (l > lk)
                        lk = l;
                }
                if (calls[k].got[d] == 0)
                    silent++;
            }
            if (lk > 0.01)
                bad_calls++;
            if (lk > worst)
                worst = lk;
        }
        double loss[2];
        for (int d = 0; d < 2; d++)
            loss[d] = sent[d] ? 100.0 * (1.0 - (double)got[d] / (double)sent[d]) : 100.0;
        double idle_pct = tot1 > tot0 ? 100.0 * (double)(idle1 - idle0) / (double)(tot1 - tot0) : 0;
        double nice_pct = tot1 > tot0 ? 100.0 * (double)(nice1 - nice0) / (double)(tot1 - tot0) : 0;
        printf(
            "rtp: %zu calls x %ld pps x 2 ways (%.0f packets/s through the relay asked, "
            "%.0f sent), %.0f s measured: inside->partner %llu/%llu received within 200 ms (%llu "
            "later; loss %.2f %%), partner->inside %llu/%llu (%llu later; loss %.2f %%); calls "
            "with > 1 %% loss %zu, directions with nothing "
            "%zu, worst call %.1f %%; CPU %% of one core: rtpengine %.1f, fedge %.1f, "
            "rtpload %.1f; machine idle %.0f %%, nice'd processes %.0f %%; late ticks %llu; "
            "one-way time p50 %.1f "
            "ms p99 %.1f ms max %.1f ms; drops: rtpload sockets %llu, all UDP sockets %llu, "
            "kernel backlog %llu; send errors %llu\n",
            n, pps, (double)(n * 2) * (double)pps, (double)(sent[0] + sent[1]) / secs, secs,
            (unsigned long long)got[0], (unsigned long long)sent[0], (unsigned long long)late[0],
            loss[0], (unsigned long long)got[1], (unsigned long long)sent[1],
            (unsigned long long)late[1], loss[1], bad_calls, silent, worst * 100.0,
            100.0 * (double)rcpu / (secs * 1e6), 100.0 * (double)fcpu / (secs * 1e6),
            100.0 * (double)scpu / (secs * 1e6), idle_pct, nice_pct, (unsigned long long)late_ticks,
            lat_quantile(0.5), lat_quantile(0.99), lat_quantile(1.0), (unsigned long long)drops,
            (unsigned long long)rbe, (unsigned long long)bl, (unsigned long long)send_errors);
        fflush(stdout);
        /* A step counts when rtpload offered the load (99 % of the packets
         * asked: a starved generator tests nothing) and at most 1 % was
         * lost either way. */
        double asked = (double)n * 2.0 * (double)pps * secs;
        bool offered = (double)(sent[0] + sent[1]) >= 0.99 * asked;
        bool ok = offered && loss[0] <= 1.0 && loss[1] <= 1.0;
        if (!ok)
            snprintf(why, sizeof(why),
                     !offered ? "at %zu calls rtpload could not send what was asked (%.0f %%): the "
                                "machine has no CPU left for it"
                              : "at %zu calls more than 1 %% was lost or later than 200 ms",
                     n, 100.0 * (double)(sent[0] + sent[1]) / asked);
        if (ok && (long)n > held)
            held = (long)n;
        if (st == 0)
            first_ok = ok;
        if (!ok)
            break; /* more calls would only lose more */
    }
    printf("rtp: held %ld calls with RTP both ways at loss <= 1 %% (of %zu set up)%s%s%s; packets "
           "misrouted %llu, foreign %llu\n",
           held, ncalls, why[0] ? "; stopped: " : "", why,
           misrouted || foreign ? " -- UNEXPECTED PACKETS" : "", (unsigned long long)misrouted,
           (unsigned long long)foreign);
    return first_ok && !misrouted ? 0 : 1;
}
