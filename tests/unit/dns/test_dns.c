/* test_dns.c — unit tests of src/dns/: the pure helpers (RFC 2782 order,
 * domain membership, answer parser) and the resolver against a real dnsmasq
 * started on 127.0.0.1 on a free port for each case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "dns/dns_int.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* dnsmasq                                                             */

typedef tu_dnsmasq_t dnsmasq_t;

static char g_dir[400]; /* the test binary's folder, under the build dir */

static void init_dir(void)
{
    if (g_dir[0])
        return;
    char exe[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    snprintf(g_dir, sizeof g_dir, "%s", dirname(exe));
}

/* Sends one raw query over UDP; returns the answer length (0 on timeout). */
static int raw_query(int port, const char *name, int qtype, uint8_t *ans, size_t anslen,
                     int wait_ms)
{
    uint8_t q[300];
    size_t o = 0;
    q[o++] = 0x12;
    q[o++] = 0x34;
    q[o++] = 0x01;
    q[o++] = 0x00;
    q[o++] = 0;
    q[o++] = 1;
    memset(q + o, 0, 6);
    o += 6;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        q[o++] = (uint8_t)l;
        memcpy(q + o, p, l);
        o += l;
        p += l + (dot ? 1 : 0);
    }
    q[o++] = 0;
    q[o++] = (uint8_t)(qtype >> 8);
    q[o++] = (uint8_t)qtype;
    q[o++] = 0;
    q[o++] = 1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sendto(s, q, o, 0, (struct sockaddr *)&a, sizeof a);
    ssize_t n = recv(s, ans, anslen, 0);
    close(s);
    return n > 0 ? (int)n : 0;
}

static void msleep(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* dnsmasq on m->port (0 = pick one) with extra options, its log beside the
 * test binary. */
static void dm_start(dnsmasq_t *m, const char *const *extra)
{
    init_dir();
    tu_dnsmasq_start(m, g_dir, extra);
}

/* How many queries of type (e.g. "SRV") for name dnsmasq logged; waits until
 * the count stays still, since dnsmasq writes its log from its main loop. */
static int dm_count(const dnsmasq_t *m, const char *type, const char *name)
{
    char needle[400];
    snprintf(needle, sizeof needle, "[%s] %s from ", type, name);
    int last = -1;
    for (int round = 0; round < 20; round++) {
        FILE *f = fopen(m->log, "r");
        int c = 0;
        if (f) {
            char line[1024];
            while (fgets(line, sizeof line, f))
                if (strstr(line, needle))
                    c++;
            fclose(f);
        }
        if (c == last)
            return c;
        last = c;
        msleep(60);
    }
    return last;
}

/* ------------------------------------------------------------------ */
/* loop helpers and result capture                                     */

typedef struct {
    int calls;
    dns_status_t status;
    bool cached;
    uint32_t ttl;
    size_t n, n_ordered;
    dns_srv_t recs[64];
    char targets[64][64];
    char ordered[64][64];
    char detail[256];
    uint64_t at_ms;
    uv_loop_t *loop;
} srv_cap_t;

typedef struct {
    int calls;
    dns_status_t status;
    bool cached;
    uint32_t ttl;
    size_t n;
    dns_addr_t addrs[16];
    char detail[256];
    uint64_t at_ms;
    uv_loop_t *loop;
} host_cap_t;

static void srv_cb(void *user, const dns_srv_result_t *r)
{
    srv_cap_t *c = user;
    c->calls++;
    c->status = r->status;
    c->cached = r->cached;
    c->ttl = r->ttl;
    c->n = r->n;
    c->n_ordered = r->n_ordered;
    snprintf(c->detail, sizeof c->detail, "%s", r->detail);
    for (size_t i = 0; i < r->n && i < 64; i++) {
        c->recs[i] = r->records[i];
        snprintf(c->targets[i], sizeof c->targets[i], "%s", r->records[i].target);
        c->recs[i].target = c->targets[i];
    }
    for (size_t i = 0; i < r->n_ordered && i < 64; i++)
        snprintf(c->ordered[i], sizeof c->ordered[i], "%s", r->ordered[i]->target);
    if (c->loop)
        c->at_ms = uv_now(c->loop);
}

static void host_cb(void *user, const dns_host_result_t *r)
{
    host_cap_t *c = user;
    c->calls++;
    c->status = r->status;
    c->cached = r->cached;
    c->ttl = r->ttl;
    c->n = r->n;
    snprintf(c->detail, sizeof c->detail, "%s", r->detail);
    for (size_t i = 0; i < r->n && i < 16; i++)
        c->addrs[i] = r->addrs[i];
    if (c->loop)
        c->at_ms = uv_now(c->loop);
}

static void wake_cb(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop until *counter reaches target or ms pass; true if reached. */
static bool run_until(uv_loop_t *loop, const int *counter, int target, unsigned ms)
{
    bool expired = false;
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &expired;
    uv_timer_start(&t, wake_cb, ms, 0);
    while ((!counter || *counter < target) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return !counter || *counter >= target;
}

static void run_for(uv_loop_t *loop, unsigned ms)
{
    run_until(loop, NULL, 0, ms);
}

static dns_t *mk_dns(uv_loop_t *loop, const char *servers, dns_opts_t *o)
{
    dns_opts_t def;
    if (!o) {
        dns_opts_default(&def);
        def.timeout_ms = 1000;
        o = &def;
    }
    o->servers = servers;
    dns_t *d = NULL;
    fedge_err_t err = {{0}};
    int rc = dns_new(loop, o, &d, &err);
    if (rc != 0)
        fail_msg("dns_new: %s", err.msg);
    return d;
}

/* Frees d and checks that the loop then closes clean. */
static void finish(uv_loop_t *loop, dns_t *d)
{
    dns_free(d);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static char g_srv_server[64];

static const char *server_of(const dnsmasq_t *m)
{
    snprintf(g_srv_server, sizeof g_srv_server, "127.0.0.1:%d", m->port);
    return g_srv_server;
}

static srv_cap_t *resolve_srv_sync(uv_loop_t *loop, dns_t *d, const char *name, srv_cap_t *c)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    assert_int_equal(dns_resolve_srv(d, name, srv_cb, c, NULL), 0);
    assert_true(run_until(loop, &c->calls, 1, 10000));
    assert_int_equal(c->calls, 1);
    return c;
}

static host_cap_t *resolve_host_sync(uv_loop_t *loop, dns_t *d, const char *name, unsigned mask,
                                     host_cap_t *c)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    assert_int_equal(dns_resolve_host(d, name, mask, host_cb, c, NULL), 0);
    assert_true(run_until(loop, &c->calls, 1, 10000));
    assert_int_equal(c->calls, 1);
    return c;
}

static const char *addr_text(const dns_addr_t *a)
{
    static char buf[8][64];
    static int k;
    k = (k + 1) % 8;
    return dns_addr_str(a, buf[k], sizeof buf[k]);
}

/* ------------------------------------------------------------------ */
/* pure: dns_name_in_domain                                            */

static void test_name_in_domain(void **state)
{
    (void)state;
    assert_true(dns_name_in_domain("contoso.com", "contoso.com"));
    assert_true(dns_name_in_domain("edge.contoso.com", "contoso.com"));
    assert_true(dns_name_in_domain("a.b.EDGE.Contoso.COM", "contoso.com"));
    assert_true(dns_name_in_domain("edge.contoso.com.", "CONTOSO.com"));
    assert_true(dns_name_in_domain("edge.contoso.com", "contoso.com."));
    assert_false(dns_name_in_domain("evilcontoso.com", "contoso.com"));
    assert_false(dns_name_in_domain("contoso.com.evil.net", "contoso.com"));
    assert_false(dns_name_in_domain("com", "contoso.com"));
    assert_false(dns_name_in_domain("edge.fabrikam.com", "contoso.com"));
    assert_false(dns_name_in_domain("", "contoso.com"));
    assert_false(dns_name_in_domain("edge.contoso.com", ""));
    assert_false(dns_name_in_domain(".", "."));
    assert_false(dns_name_in_domain(".contoso.com", "xcontoso.com"));
    assert_false(dns_name_in_domain(NULL, "contoso.com"));
}

/* ------------------------------------------------------------------ */
/* pure: dns_srv_order                                                 */

static uint32_t seq_rng(void *ctx)
{
    uint64_t *s = ctx; /* splitmix64: deterministic per seed */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint32_t const_rng(void *ctx)
{
    return *(uint32_t *)ctx;
}

static void test_srv_order_priority(void **state)
{
    (void)state;
    dns_srv_t r[] = {
        {.priority = 20, .weight = 5, .port = 5061, .target = "c"},
        {.priority = 10, .weight = 0, .port = 5061, .target = "b"},
        {.priority = 30, .weight = 9, .port = 5061, .target = "."},
        {.priority = 5, .weight = 100, .port = 5061, .target = "a"},
        {.priority = 20, .weight = 5, .port = 5061, .target = "d"},
    };
    size_t out[5];
    uint64_t seed = 1;
    for (int i = 0; i < 200; i++) {
        size_t k = dns_srv_order(r, 5, seq_rng, &seed, out);
        assert_int_equal(k, 4); /* "." left out */
        assert_string_equal(r[out[0]].target, "a");
        assert_string_equal(r[out[1]].target, "b");
        assert_true(r[out[2]].priority == 20 && r[out[3]].priority == 20);
        assert_true(out[2] != out[3]);
    }
    /* a lone "." record orders to nothing */
    dns_srv_t none[] = {{.priority = 0, .weight = 0, .port = 0, .target = "."}};
    assert_int_equal(dns_srv_order(none, 1, seq_rng, &seed, out), 0);
    assert_int_equal(dns_srv_order(none, 0, seq_rng, &seed, out), 0);
}

/* Chi-square statistic of counts against expected probabilities. */
static double chi2(const int *count, const double *p, int k, int total)
{
    double x = 0;
    for (int i = 0; i < k; i++) {
        double e = p[i] * total;
        x += (count[i] - e) * (count[i] - e) / e;
    }
    return x;
}

static void test_srv_order_weights(void **state)
{
    (void)state;
    dns_srv_t r[] = {
        {.priority = 1, .weight = 10, .target = "x"},
        {.priority = 1, .weight = 30, .target = "y"},
        {.priority = 1, .weight = 60, .target = "z"},
    };
    int first[3] = {0}, second_given_z[3] = {0}, zfirst = 0;
    size_t out[3];
    uint64_t seed = 42;
    const int N = 20000;
    for (int i = 0; i < N; i++) {
        assert_int_equal(dns_srv_order(r, 3, seq_rng, &seed, out), 3);
        first[out[0]]++;
        if (out[0] == 2) {
            zfirst++;
            second_given_z[out[1]]++;
        }
    }
    /* first pick: 10/100, 30/100, 60/100 (weight 0 absent: sum+1 = 101) */
    double p1[3] = {10.0 / 101, 30.0 / 101, 61.0 / 101};
    /* r = 0..100 inclusive: x wins for r <= 10 (11 values), y for 11..40 (30),
     * z for 41..100 (60) */
    p1[0] = 11.0 / 101;
    p1[1] = 30.0 / 101;
    p1[2] = 60.0 / 101;
    assert_true(chi2(first, p1, 3, N) < 13.8); /* p = 0.001, 2 dof */
    /* after z: x vs y with r = 0..40: x for 0..10 (11), y for 11..40 (30) */
    double p2[2] = {11.0 / 41, 30.0 / 41};
    assert_true(chi2(second_given_z, p2, 2, zfirst) < 10.8); /* p = 0.001, 1 dof */
}

static void test_srv_order_zero_weights(void **state)
{
    (void)state;
    /* weight 0 next to weighted records: chosen first only when r == 0 */
    dns_srv_t r[] = {
        {.priority = 1, .weight = 50, .target = "w"},
        {.priority = 1, .weight = 0, .target = "zero"},
    };
    size_t out[2];
    uint32_t v = 0;
    assert_int_equal(dns_srv_order(r, 2, const_rng, &v, out), 2);
    assert_string_equal(r[out[0]].target, "zero"); /* r = 0 picks the weight-0 record */
    v = 0xFFFFFFFFu;
    dns_srv_order(r, 2, const_rng, &v, out);
    assert_string_equal(r[out[0]].target, "w");
    int zero_first = 0;
    uint64_t seed = 7;
    for (int i = 0; i < 10000; i++) {
        dns_srv_order(r, 2, seq_rng, &seed, out);
        zero_first += !strcmp(r[out[0]].target, "zero");
    }
    /* expected 10000/51 = 196 */
    assert_true(zero_first > 120 && zero_first < 290);

    /* all weights 0: uniform, not stuck on the first record */
    dns_srv_t z[] = {
        {.priority = 3, .weight = 0, .target = "p"},
        {.priority = 3, .weight = 0, .target = "q"},
        {.priority = 3, .weight = 0, .target = "s"},
    };
    int cnt[3] = {0};
    size_t o3[3];
    for (int i = 0; i < 9000; i++) {
        assert_int_equal(dns_srv_order(z, 3, seq_rng, &seed, o3), 3);
        cnt[o3[0]]++;
        assert_true(o3[0] != o3[1] && o3[1] != o3[2] && o3[0] != o3[2]);
    }
    double pu[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    assert_true(chi2(cnt, pu, 3, 9000) < 13.8);
}

/* ------------------------------------------------------------------ */
/* pure: the answer parser                                             */

/* A response for _s._tcp.a.test SRV: two SRV records (compressed names),
 * one CNAME-free answer, plus an SOA in authority. */
static size_t build_srv_response(uint8_t *b)
{
    size_t o = 0;
    const uint8_t hdr[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 1, 0, 0};
    memcpy(b, hdr, sizeof hdr);
    o = sizeof hdr;
    const uint8_t qn[] = {2, '_', 's', 4, '_', 't', 'c', 'p', 1, 'a', 4, 't', 'e', 's', 't', 0};
    memcpy(b + o, qn, sizeof qn);
    o += sizeof qn;
    b[o++] = 0;
    b[o++] = 33;
    b[o++] = 0;
    b[o++] = 1;
    for (int i = 0; i < 2; i++) {
        b[o++] = 0xC0;
        b[o++] = 12; /* owner: qname */
        b[o++] = 0;
        b[o++] = 33;
        b[o++] = 0;
        b[o++] = 1; /* SRV IN */
        b[o++] = 0;
        b[o++] = 0;
        b[o++] = 0;
        b[o++] = (uint8_t)(30 + i); /* ttl */
        b[o++] = 0;
        b[o++] = 6 + 5 + 2; /* rdlen */
        b[o++] = 0;
        b[o++] = (uint8_t)(10 + i); /* priority */
        b[o++] = 0;
        b[o++] = 5; /* weight */
        b[o++] = 0x13;
        b[o++] = 0xC5; /* 5061 */
        b[o++] = 4;
        b[o++] = 'E';
        b[o++] = 'd';
        b[o++] = 'g';
        b[o++] = (uint8_t)('1' + i);
        b[o++] = 0xC0;
        b[o++] = 12 + 3 + 5; /* -> "a.test" */
    }
    /* SOA: owner a.test, mname ns.a.test, rname h.a.test, ttl 100, minimum 40 */
    b[o++] = 0xC0;
    b[o++] = 20;
    b[o++] = 0;
    b[o++] = 6;
    b[o++] = 0;
    b[o++] = 1;
    b[o++] = 0;
    b[o++] = 0;
    b[o++] = 0;
    b[o++] = 100;
    size_t rdlen_at = o;
    o += 2;
    size_t rd = o;
    b[o++] = 2;
    b[o++] = 'n';
    b[o++] = 's';
    b[o++] = 0xC0;
    b[o++] = 20;
    b[o++] = 1;
    b[o++] = 'h';
    b[o++] = 0xC0;
    b[o++] = 20;
    for (int i = 0; i < 4; i++) {
        b[o++] = 0;
        b[o++] = 0;
        b[o++] = 0;
        b[o++] = 1;
    }
    b[o++] = 0;
    b[o++] = 0;
    b[o++] = 0;
    b[o++] = 40;
    b[rdlen_at] = 0;
    b[rdlen_at + 1] = (uint8_t)(o - rd);
    return o;
}

static void test_parse_answer(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t len = build_srv_response(b);
    dns__answer_t a;
    assert_int_equal(dns__parse_answer(b, len, "_s._tcp.a.test", DNS__T_SRV, &a), 0);
    assert_int_equal(a.status, DNS_OK);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.srv[0].target, "edg1.a.test");
    assert_string_equal(a.srv[1].target, "edg2.a.test");
    assert_int_equal(a.srv[1].priority, 11);
    assert_int_equal(a.srv[0].port, 5061);
    assert_int_equal(a.min_ttl, 30);
    assert_true(a.has_soa);
    assert_int_equal(a.neg_ttl, 40);
    dns__answer_free(&a);

    /* the same bytes asked as another name: no matching owner → NODATA */
    dns__parse_answer(b, len, "other.test", DNS__T_SRV, &a);
    assert_int_equal(a.status, DNS_NODATA);
    dns__answer_free(&a);

    /* NXDOMAIN rcode */
    b[3] = (b[3] & 0xF0) | 3;
    dns__parse_answer(b, len, "other.test", DNS__T_SRV, &a);
    assert_int_equal(a.status, DNS_NXDOMAIN);
    dns__answer_free(&a);
    b[3] &= 0xF0;

    /* every truncation is either a clean failure or a smaller answer */
    for (size_t cut = 0; cut < len; cut++) {
        dns__parse_answer(b, cut, "_s._tcp.a.test", DNS__T_SRV, &a);
        assert_true(a.status == DNS_SERVFAIL);
        dns__answer_free(&a);
    }
    /* a compression loop is refused, not followed forever */
    uint8_t loop[64];
    memcpy(loop, b, 12 + 16 + 4);
    loop[7] = 1; /* one answer */
    size_t o = 12 + 16 + 4;
    loop[o] = 0xC0; /* points at itself */
    loop[o + 1] = (uint8_t)o;
    o += 2;
    memset(loop + o, 0, 10);
    o += 10;
    dns__parse_answer(loop, o, "_s._tcp.a.test", DNS__T_SRV, &a);
    assert_int_equal(a.status, DNS_SERVFAIL);
    dns__answer_free(&a);
    /* byte flips never crash (ASan watches) */
    uint64_t seed = 99;
    for (int i = 0; i < 3000; i++) {
        uint8_t m[512];
        memcpy(m, b, len);
        for (int k = 0; k < 3; k++)
            m[seq_rng(&seed) % len] = (uint8_t)seq_rng(&seed);
        dns__parse_answer(m, len, "_s._tcp.a.test", DNS__T_SRV, &a);
        for (size_t r = 0; r < a.n; r++)
            assert_true(strlen(a.srv[r].target) <= DNS_NAME_MAX);
        dns__answer_free(&a);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_opts_t o;
    dns_opts_default(&o);
    o.servers = "not-an-ip:53";
    dns_t *d = NULL;
    fedge_err_t err = {{0}};
    assert_int_equal(dns_new(&loop, &o, &d, &err), FEDGE_ECONFIG);
    assert_non_null(strstr(err.msg, "not-an-ip"));
    o.servers = "127.0.0.1:53";
    o.tries = 0;
    assert_int_equal(dns_new(&loop, &o, &d, &err), FEDGE_ECONFIG);
    d = mk_dns(&loop, "127.0.0.1:53", NULL);
    srv_cap_t c = {0};
    assert_int_equal(dns_resolve_srv(d, "", srv_cb, &c, NULL), FEDGE_EINVAL);
    assert_int_equal(dns_resolve_srv(d, "a..b", srv_cb, &c, NULL), FEDGE_EINVAL);
    assert_int_equal(dns_resolve_srv(d, "sp ace.test", srv_cb, &c, NULL), FEDGE_EINVAL);
    assert_int_equal(dns_resolve_srv(d, "x/y.test", srv_cb, &c, NULL), FEDGE_EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(dns_resolve_srv(d, longname, srv_cb, &c, NULL), FEDGE_EINVAL);
    host_cap_t h = {0};
    assert_int_equal(dns_resolve_host(d, "a.test", 0, host_cb, &h, NULL), FEDGE_EINVAL);
    /* IP literals resolve to themselves, asynchronously */
    assert_int_equal(dns_resolve_host(d, "127.0.0.9", DNS_AF_ANY, host_cb, &h, NULL), 0);
    assert_int_equal(dns_resolve_host(d, "[::1]", DNS_AF_ANY, host_cb, &h, NULL), 0);
    assert_int_equal(h.calls, 0);
    assert_true(run_until(&loop, &h.calls, 2, 2000));
    assert_int_equal(h.status, DNS_OK);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.addrs[0].family, AF_INET6);
    assert_string_equal(addr_text(&h.addrs[0]), "::1");
    /* localhost never goes to DNS (the server here does not even exist) */
    memset(&h, 0, sizeof h);
    assert_int_equal(dns_resolve_host(d, "LocalHost.", DNS_AF_ANY, host_cb, &h, NULL), 0);
    assert_true(run_until(&loop, &h.calls, 1, 2000));
    assert_int_equal(h.status, DNS_OK);
    assert_int_equal(h.n, 2);
    assert_string_equal(addr_text(&h.addrs[0]), "127.0.0.1");
    assert_string_equal(addr_text(&h.addrs[1]), "::1");
    memset(&h, 0, sizeof h);
    assert_int_equal(
        dns_resolve_host(d, "localhost", DNS_AF_INET6 | DNS_PREFER_INET6, host_cb, &h, NULL), 0);
    assert_true(run_until(&loop, &h.calls, 1, 2000));
    assert_int_equal(h.n, 1);
    assert_string_equal(addr_text(&h.addrs[0]), "::1");
    dns_stats_t st;
    dns_get_stats(d, &st);
    assert_int_equal(st.queries, 0);
    finish(&loop, d);
}

/* ------------------------------------------------------------------ */
/* live: against dnsmasq                                               */

static void test_srv_live_order_and_weights(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/",
                          "--local-ttl=60",
                          "--srv-host=_sipfederationtls._tcp.w.test,first.w.test,5061,5,0",
                          "--srv-host=_sipfederationtls._tcp.w.test,a.w.test,5061,10,60",
                          "--srv-host=_sipfederationtls._tcp.w.test,b.w.test,5062,10,20",
                          "--srv-host=_sipfederationtls._tcp.w.test,c.w.test,5063,10,20",
                          "--srv-host=_sipfederationtls._tcp.w.test,last.w.test,5064,20,100",
                          NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);

    srv_cap_t c;
    resolve_srv_sync(&loop, d, "_SIPfederationTLS._tcp.W.test.", &c);
    assert_int_equal(c.status, DNS_OK);
    assert_false(c.cached);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.n_ordered, 5);
    assert_int_equal(c.ttl, 60);
    assert_string_equal(c.ordered[0], "first.w.test");
    assert_string_equal(c.ordered[4], "last.w.test");
    bool seen_b = false;
    for (size_t i = 0; i < c.n; i++) {
        if (!strcmp(c.targets[i], "b.w.test")) {
            seen_b = true;
            assert_int_equal(c.recs[i].port, 5062);
            assert_int_equal(c.recs[i].priority, 10);
            assert_int_equal(c.recs[i].weight, 20);
            assert_true(c.recs[i].ttl <= 60 && c.recs[i].ttl >= 59);
        }
    }
    assert_true(seen_b);

    /* 1,000 more requests: all from the cache, each a fresh draw */
    enum { N = 1000 };
    static srv_cap_t caps[N];
    int done = 0;
    for (int i = 0; i < N; i++) {
        memset(&caps[i], 0, sizeof caps[i]);
        assert_int_equal(
            dns_resolve_srv(d, "_sipfederationtls._tcp.w.test", srv_cb, &caps[i], NULL), 0);
    }
    int count[3] = {0};
    for (int spins = 0; spins < 100 && done < N; spins++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        done = 0;
        for (int i = 0; i < N; i++)
            done += caps[i].calls;
    }
    assert_int_equal(done, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(caps[i].status, DNS_OK);
        assert_true(caps[i].cached);
        assert_string_equal(caps[i].ordered[0], "first.w.test");
        assert_string_equal(caps[i].ordered[4], "last.w.test");
        const char *second = caps[i].ordered[1];
        count[!strcmp(second, "a.w.test") ? 0 : !strcmp(second, "b.w.test") ? 1 : 2]++;
    }
    /* r in 0..100: a (60) for 0..60 = 61 values, b 61..80, c 81..100 */
    double p[3] = {61.0 / 101, 20.0 / 101, 20.0 / 101};
    double x = chi2(count, p, 3, N);
    print_message("weights over %d draws: a=%d b=%d c=%d chi2=%.2f\n", N, count[0], count[1],
                  count[2], x);
    /* p = 1e-5 for 2 dof: a false alarm is rare; ~ 300 if weights were ignored */
    assert_true(x < 23.0);

    dns_stats_t st;
    dns_get_stats(d, &st);
    assert_int_equal(st.queries, 1);
    assert_true(st.cache_hits >= N);
    assert_int_equal(dm_count(&m, "SRV", "_sipfederationtls._tcp.w.test"), 1);
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

static void test_host_a_aaaa_ttl(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/",
                          "--host-record=edge1.h.test,127.0.0.2,::2,7",
                          "--host-record=edge1.h.test,127.0.0.3,9",
                          "--host-record=v6only.h.test,::5,11",
                          "--cname=alias.h.test,edge1.h.test,13",
                          NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);

    host_cap_t h;
    resolve_host_sync(&loop, d, "EDGE1.h.test", DNS_AF_ANY, &h);
    assert_int_equal(h.status, DNS_OK);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.addrs[0].family, AF_INET);
    assert_int_equal(h.addrs[1].family, AF_INET);
    assert_int_equal(h.addrs[2].family, AF_INET6);
    assert_string_equal(addr_text(&h.addrs[2]), "::2");
    for (int i = 0; i < 2; i++) {
        const char *t = addr_text(&h.addrs[i]);
        if (!strcmp(t, "127.0.0.2"))
            assert_int_equal(h.addrs[i].ttl, 7);
        else if (!strcmp(t, "127.0.0.3"))
            assert_int_equal(h.addrs[i].ttl, 9);
        else
            fail_msg("unexpected address %s", t);
    }
    assert_int_equal(h.addrs[2].ttl, 7);
    assert_int_equal(h.ttl, 7);

    /* IPv6 first on request; answered from the cache */
    resolve_host_sync(&loop, d, "edge1.h.test", DNS_AF_ANY | DNS_PREFER_INET6, &h);
    assert_true(h.cached);
    assert_int_equal(h.addrs[0].family, AF_INET6);
    assert_int_equal(h.n, 3);

    /* a CNAME is followed within the answer */
    resolve_host_sync(&loop, d, "alias.h.test", DNS_AF_INET, &h);
    assert_int_equal(h.status, DNS_OK);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.addrs[0].family, AF_INET);

    /* one family only */
    resolve_host_sync(&loop, d, "v6only.h.test", DNS_AF_INET6, &h);
    assert_int_equal(h.status, DNS_OK);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.addrs[0].ttl, 11);
    /* both families: the AAAA answer carries it; the A part is NODATA */
    resolve_host_sync(&loop, d, "v6only.h.test", DNS_AF_ANY, &h);
    assert_int_equal(h.status, DNS_OK);
    assert_int_equal(h.n, 1);
    resolve_host_sync(&loop, d, "v6only.h.test", DNS_AF_INET, &h);
    assert_int_equal(h.status, DNS_NODATA);

    struct sockaddr_storage ss;
    dns_addr_t v4 = {.family = AF_INET};
    inet_pton(AF_INET, "127.0.0.2", &v4.u.v4);
    assert_int_equal(dns_addr_to_sockaddr(&v4, 5061, &ss), sizeof(struct sockaddr_in));
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5061);
    assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, v4.u.v4.s_addr);
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

static void test_negative_cached(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    /* authoritative mode: negative answers carry the SOA (minimum = auth-ttl) */
    const char *args[] = {"--auth-server=ns.n.test,127.0.0.1",
                          "--auth-zone=n.test",
                          "--auth-ttl=9",
                          "--host-record=only4.n.test,127.0.0.7",
                          "--srv-host=_sips._tcp.n.test,only4.n.test,5061,1,1",
                          NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_opts_t o;
    dns_opts_default(&o);
    o.timeout_ms = 300;
    o.tries = 1;
    o.neg_ttl_min = 1;
    o.neg_ttl_max = 300;
    dns_t *d = mk_dns(&loop, server_of(&m), &o);

    srv_cap_t c;
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.missing.n.test", &c);
    assert_int_equal(c.status, DNS_NXDOMAIN);
    assert_false(c.cached);
    assert_int_equal(c.ttl, 9); /* SOA minimum */
    host_cap_t h;
    resolve_host_sync(&loop, d, "only4.n.test", DNS_AF_INET6, &h);
    assert_int_equal(h.status, DNS_NODATA);
    assert_int_equal(h.ttl, 9);
    resolve_srv_sync(&loop, d, "_sips._tcp.n.test", &c);
    assert_int_equal(c.status, DNS_OK);

    /* stop the server: the second look-ups are answered from the cache */
    tu_dnsmasq_stop(&m);
    assert_int_equal(dm_count(&m, "SRV", "_sipfederationtls._tcp.missing.n.test"), 1);
    assert_int_equal(dm_count(&m, "AAAA", "only4.n.test"), 1);
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.missing.n.test", &c);
    assert_int_equal(c.status, DNS_NXDOMAIN);
    assert_true(c.cached);
    resolve_host_sync(&loop, d, "only4.n.test", DNS_AF_INET6, &h);
    assert_int_equal(h.status, DNS_NODATA);
    assert_true(h.cached);
    dns_stats_t st;
    dns_get_stats(d, &st);
    assert_int_equal(st.queries, 3);
    finish(&loop, d);

    /* the cap: neg_ttl_max 2 wins over the SOA's 9, and the entry expires */
    dm_start(&m, args);
    uv_loop_init(&loop);
    o.neg_ttl_max = 2;
    d = mk_dns(&loop, server_of(&m), &o);
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.missing.n.test", &c);
    assert_int_equal(c.status, DNS_NXDOMAIN);
    assert_int_equal(c.ttl, 2);
    run_for(&loop, 2100);
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.missing.n.test", &c);
    assert_int_equal(c.status, DNS_NXDOMAIN);
    assert_false(c.cached);
    assert_int_equal(dm_count(&m, "SRV", "_sipfederationtls._tcp.missing.n.test"), 2);
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

static void test_ttl_expiry_and_renumbering(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *v1[] = {"--local=/test/", "--local-ttl=2",
                        "--srv-host=_sipfederationtls._tcp.r.test,edge-old.r.test,5061,1,1",
                        "--host-record=edge.r.test,127.0.0.2,2", NULL};
    const char *v2[] = {"--local=/test/", "--local-ttl=2",
                        "--srv-host=_sipfederationtls._tcp.r.test,edge-new.r.test,5061,1,1",
                        "--host-record=edge.r.test,127.0.0.3,2", NULL};
    dm_start(&m, v1);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);
    srv_cap_t c;
    host_cap_t h;
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.r.test", &c);
    assert_string_equal(c.ordered[0], "edge-old.r.test");
    assert_int_equal(c.ttl, 2);
    resolve_host_sync(&loop, d, "edge.r.test", DNS_AF_INET, &h);
    assert_string_equal(addr_text(&h.addrs[0]), "127.0.0.2");

    /* the partner renumbers: same server address, new data */
    tu_dnsmasq_stop(&m);
    dm_start(&m, v2);
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.r.test", &c);
    assert_true(c.cached); /* still within the TTL */
    assert_string_equal(c.ordered[0], "edge-old.r.test");
    run_for(&loop, 2100);
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.r.test", &c);
    assert_false(c.cached);
    assert_int_equal(c.status, DNS_OK);
    assert_string_equal(c.ordered[0], "edge-new.r.test");
    resolve_host_sync(&loop, d, "edge.r.test", DNS_AF_INET, &h);
    assert_false(h.cached);
    assert_string_equal(addr_text(&h.addrs[0]), "127.0.0.3");
    assert_int_equal(dm_count(&m, "SRV", "_sipfederationtls._tcp.r.test"), 1);
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

static void test_coalescing(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/",
                          "--local-ttl=30",
                          "--srv-host=_sipfederationtls._tcp.co.test,e1.co.test,5061,1,10",
                          "--srv-host=_sipfederationtls._tcp.co.test,e2.co.test,5061,1,10",
                          "--host-record=e1.co.test,127.0.0.2",
                          NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);
    srv_cap_t c[10];
    host_cap_t h[10];
    memset(c, 0, sizeof c);
    memset(h, 0, sizeof h);
    int total = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(dns_resolve_srv(d, "_sipfederationtls._tcp.co.test", srv_cb, &c[i], NULL),
                         0);
        assert_int_equal(dns_resolve_host(d, "e1.co.test", DNS_AF_ANY, host_cb, &h[i], NULL), 0);
    }
    dns_stats_t st;
    dns_get_stats(d, &st);
    assert_int_equal(st.queries, 3); /* SRV, A, AAAA */
    assert_int_equal(st.coalesced, 27);
    assert_int_equal(st.inflight, 3);
    for (int spins = 0; spins < 2000 && total < 20; spins++) {
        uv_run(&loop, UV_RUN_ONCE);
        total = 0;
        for (int i = 0; i < 10; i++)
            total += c[i].calls + h[i].calls;
    }
    assert_int_equal(total, 20);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(c[i].calls, 1);
        assert_int_equal(c[i].status, DNS_OK);
        assert_int_equal(c[i].n_ordered, 2);
        assert_false(c[i].cached);
        assert_int_equal(h[i].status, DNS_OK);
        assert_int_equal(h[i].n, 1);
    }
    assert_int_equal(dm_count(&m, "SRV", "_sipfederationtls._tcp.co.test"), 1);
    assert_int_equal(dm_count(&m, "A", "e1.co.test"), 1);
    assert_int_equal(dm_count(&m, "AAAA", "e1.co.test"), 1);
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

static void test_no_service(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/", "--local-ttl=30",
                          "--srv-host=_sipfederationtls._tcp.none.test", NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);
    srv_cap_t c;
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.none.test", &c);
    assert_int_equal(c.status, DNS_NOSERVICE);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.targets[0], ".");
    assert_int_equal(c.n_ordered, 0);
    assert_int_equal(c.ttl, 30);
    assert_string_equal(dns_status_str(c.status), "no-service");
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

static void test_timeout_bounded_while_good_server_answers(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/", "--local-ttl=30",
                          "--srv-host=_sipfederationtls._tcp.t.test,e.t.test,5061,1,1", NULL};
    dm_start(&m, args);
    /* a "server" that never answers: a UDP socket bound and never read */
    int black = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(black, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(black, (struct sockaddr *)&a, &al);
    char bad[64], both[128];
    snprintf(bad, sizeof bad, "127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(both, sizeof both, "%s,127.0.0.1:%d", bad, m.port);

    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_opts_t o;
    dns_opts_default(&o);
    o.timeout_ms = 200;
    o.tries = 2;
    o.fail_ttl_ms = 600;
    dns_t *dbad = mk_dns(&loop, bad, &o);
    dns_opts_t o2 = o;
    dns_t *dgood = mk_dns(&loop, server_of(&m), &o2);
    dns_opts_t o3 = o;
    dns_t *dboth = mk_dns(&loop, both, &o3);

    srv_cap_t cb_bad = {.loop = &loop}, cb_good = {.loop = &loop}, cb_both = {.loop = &loop};
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    assert_int_equal(dns_resolve_srv(dbad, "_sipfederationtls._tcp.t.test", srv_cb, &cb_bad, NULL),
                     0);
    assert_int_equal(
        dns_resolve_srv(dgood, "_sipfederationtls._tcp.t.test", srv_cb, &cb_good, NULL), 0);
    assert_int_equal(
        dns_resolve_srv(dboth, "_sipfederationtls._tcp.t.test", srv_cb, &cb_both, NULL), 0);
    assert_true(run_until(&loop, &cb_good.calls, 1, 3000));
    assert_int_equal(cb_good.status, DNS_OK);
    assert_int_equal(cb_bad.calls, 0);
    assert_true(cb_good.at_ms - t0 < 190); /* not held up by the dead server */
    assert_true(run_until(&loop, &cb_bad.calls, 1, 3000));
    assert_int_equal(cb_bad.status, DNS_TIMEOUT);
    uint64_t took = cb_bad.at_ms - t0;
    print_message("timeout after %llu ms (bound 200 * (1 + 2) = 600 ms)\n",
                  (unsigned long long)took);
    assert_true(took >= 200 && took <= 600 + 250);
    assert_non_null(strstr(cb_bad.detail, bad));
    /* the pair with a dead first server still resolves through the second */
    assert_true(run_until(&loop, &cb_both.calls, 1, 3000));
    assert_int_equal(cb_both.status, DNS_OK);
    assert_string_equal(cb_both.ordered[0], "e.t.test");

    /* the failure is remembered briefly (cached), then retried */
    srv_cap_t c;
    resolve_srv_sync(&loop, dbad, "_sipfederationtls._tcp.t.test", &c);
    assert_int_equal(c.status, DNS_TIMEOUT);
    assert_true(c.cached);
    run_for(&loop, 650);
    dns_stats_t st;
    dns_get_stats(dbad, &st);
    uint64_t q = st.queries;
    assert_int_equal(st.timeouts, 1); /* counted for metrics, the cached answer not again */
    assert_int_equal(st.failures, 0);
    dns_stats_t sg;
    dns_get_stats(dgood, &sg);
    assert_int_equal(sg.timeouts + sg.failures, 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(dns_resolve_srv(dbad, "_sipfederationtls._tcp.t.test", srv_cb, &c, NULL), 0);
    dns_get_stats(dbad, &st);
    assert_int_equal(st.queries, q + 1);
    dns_free(dbad);
    dns_free(dgood);
    finish(&loop, dboth);
    assert_int_equal(c.calls, 0); /* dropped by dns_free, never called */
    close(black);
    tu_dnsmasq_stop(&m);
}

static void test_failure_does_not_poison(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    m.port = tu_free_port(); /* nothing listens there yet */
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_opts_t o;
    dns_opts_default(&o);
    o.timeout_ms = 200;
    o.tries = 1;
    o.fail_ttl_ms = 1500;
    dns_t *d = mk_dns(&loop, server_of(&m), &o);
    srv_cap_t c;
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.p.test", &c);
    assert_true(c.status == DNS_SERVFAIL || c.status == DNS_TIMEOUT);
    print_message("dead server: %s (%s)\n", dns_status_str(c.status), c.detail);
    const char *args[] = {"--local=/test/", "--local-ttl=30",
                          "--srv-host=_sipfederationtls._tcp.p.test,e.p.test,5061,1,1", NULL};
    dm_start(&m, args);
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.p.test", &c);
    assert_true(c.cached); /* within fail_ttl: the remembered failure */
    assert_int_not_equal(c.status, DNS_OK);
    run_for(&loop, 1550);
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.p.test", &c);
    assert_int_equal(c.status, DNS_OK);
    assert_false(c.cached);
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

static void test_truncated_udp_retried_over_tcp(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    static char recs[40][128];
    const char *args[48];
    int n = 0;
    args[n++] = "--local=/test/";
    args[n++] = "--local-ttl=30";
    for (int i = 0; i < 40; i++) {
        snprintf(recs[i], sizeof recs[i],
                 "--srv-host=_sipfederationtls._tcp.big.test,edge%02d.pool.big.test,5061,%d,%d", i,
                 i / 10, 1 + i);
        args[n++] = recs[i];
    }
    args[n] = NULL;
    dm_start(&m, args);
    /* the UDP answer alone is truncated */
    uint8_t ans[4096];
    int len = raw_query(m.port, "_sipfederationtls._tcp.big.test", 33, ans, sizeof ans, 1000);
    assert_true(len >= 12);
    assert_true(ans[2] & 0x02); /* TC */
    int udp_an = (ans[6] << 8) | ans[7];
    print_message("UDP answer: %d bytes, TC set, %d records\n", len, udp_an);
    assert_true(udp_an < 40);

    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);
    srv_cap_t c;
    resolve_srv_sync(&loop, d, "_sipfederationtls._tcp.big.test", &c);
    assert_int_equal(c.status, DNS_OK);
    assert_int_equal(c.n, 40);
    assert_int_equal(c.n_ordered, 40);
    bool seen[40] = {false};
    for (size_t i = 0; i < 40; i++) {
        int k = -1;
        assert_int_equal(sscanf(c.ordered[i], "edge%d.pool.big.test", &k), 1);
        assert_true(k >= 0 && k < 40 && !seen[k]);
        seen[k] = true;
        assert_int_equal(k / 10, (int)i / 10); /* priority groups in order */
    }
    finish(&loop, d);
    tu_dnsmasq_stop(&m);
}

typedef struct {
    dns_t *d;
    int calls;
    dns_req_t *other;
} reent_t;

static void free_from_cb(void *user, const dns_srv_result_t *r)
{
    reent_t *x = user;
    x->calls++;
    assert_int_equal(r->status, DNS_OK);
    dns_free(x->d); /* tears down while a second result is queued */
}

static void test_cancel_and_free_safety(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/", "--local-ttl=30",
                          "--srv-host=_sipfederationtls._tcp.c.test,e.c.test,5061,1,1", NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);
    srv_cap_t a = {0}, b = {0};
    dns_req_t *ra = NULL;
    assert_int_equal(dns_resolve_srv(d, "_sipfederationtls._tcp.c.test", srv_cb, &a, &ra), 0);
    assert_int_equal(dns_resolve_srv(d, "_sipfederationtls._tcp.c.test", srv_cb, &b, NULL), 0);
    assert_non_null(ra);
    dns_cancel(ra);
    assert_true(run_until(&loop, &b.calls, 1, 3000));
    run_for(&loop, 50);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.status, DNS_OK);
    /* cancel a cached (already queued) answer too */
    memset(&a, 0, sizeof a);
    assert_int_equal(dns_resolve_srv(d, "_sipfederationtls._tcp.c.test", srv_cb, &a, &ra), 0);
    dns_cancel(ra);
    run_for(&loop, 30);
    assert_int_equal(a.calls, 0);

    /* dns_free from inside a callback, with another result still queued */
    reent_t x = {.d = d};
    srv_cap_t later = {0};
    assert_int_equal(dns_resolve_srv(d, "_sipfederationtls._tcp.c.test", free_from_cb, &x, NULL),
                     0);
    assert_int_equal(dns_resolve_srv(d, "_sipfederationtls._tcp.c.test", srv_cb, &later, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(x.calls, 1);
    assert_int_equal(later.calls, 0);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* dns_free with a query in flight: nothing is called, loop closes clean */
    uv_loop_init(&loop);
    d = mk_dns(&loop, server_of(&m), NULL);
    memset(&a, 0, sizeof a);
    assert_int_equal(dns_resolve_srv(d, "_sipfederationtls._tcp.c.test", srv_cb, &a, NULL), 0);
    finish(&loop, d);
    assert_int_equal(a.calls, 0);
    tu_dnsmasq_stop(&m);
}

static void test_cache_bound(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/",
                          "--local-ttl=30",
                          "--host-record=h1.b.test,127.0.0.1",
                          "--host-record=h2.b.test,127.0.0.2",
                          "--host-record=h3.b.test,127.0.0.3",
                          "--host-record=h4.b.test,127.0.0.4",
                          "--host-record=h5.b.test,127.0.0.5",
                          NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_opts_t o;
    dns_opts_default(&o);
    o.cache_max = 3;
    o.max_inflight = 2;
    dns_t *d = mk_dns(&loop, server_of(&m), &o);
    host_cap_t h;
    char name[32];
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "h%d.b.test", i);
        resolve_host_sync(&loop, d, name, DNS_AF_INET, &h);
        assert_int_equal(h.status, DNS_OK);
    }
    dns_stats_t st;
    dns_get_stats(d, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.evictions, 2);
    /* the most recent stays cached, the oldest was evicted */
    resolve_host_sync(&loop, d, "h5.b.test", DNS_AF_INET, &h);
    assert_true(h.cached);
    resolve_host_sync(&loop, d, "h1.b.test", DNS_AF_INET, &h);
    assert_false(h.cached);
    /* max_inflight bounds distinct queries in flight */
    host_cap_t x[3];
    memset(x, 0, sizeof x);
    assert_int_equal(dns_resolve_host(d, "n1.b.test", DNS_AF_INET, host_cb, &x[0], NULL), 0);
    assert_int_equal(dns_resolve_host(d, "n2.b.test", DNS_AF_INET, host_cb, &x[1], NULL), 0);
    assert_int_equal(dns_resolve_host(d, "n3.b.test", DNS_AF_INET, host_cb, &x[2], NULL),
                     FEDGE_ELIMIT);
    finish(&loop, d);
    assert_int_equal(x[0].calls + x[1].calls + x[2].calls, 0);
    tu_dnsmasq_stop(&m);
}

typedef struct {
    int calls;
    dns_status_t status;
    bool cached, fallback;
    uint32_t ttl;
    size_t n;
    char names[16][64];
    uint16_t ports[16];
    dns_status_t tstatus[16];
    size_t naddrs[16];
    char first_addr[16][64];
} route_cap_t;

static void route_cb(void *user, const dns_route_result_t *r)
{
    route_cap_t *c = user;
    c->calls++;
    c->status = r->status;
    c->cached = r->cached;
    c->fallback = r->fallback;
    c->ttl = r->ttl;
    c->n = r->n;
    for (size_t i = 0; i < r->n && i < 16; i++) {
        snprintf(c->names[i], sizeof c->names[i], "%s", r->targets[i].target);
        c->ports[i] = r->targets[i].port;
        c->tstatus[i] = r->targets[i].status;
        c->naddrs[i] = r->targets[i].n;
        c->first_addr[i][0] = '\0';
        if (r->targets[i].n)
            snprintf(c->first_addr[i], sizeof c->first_addr[i], "%s",
                     addr_text(&r->targets[i].addrs[0]));
    }
}

static route_cap_t *route_sync(uv_loop_t *loop, dns_t *d, const char *prefix, const char *domain,
                               uint16_t fb, route_cap_t *c)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(dns_resolve_route(d, prefix, domain, fb, DNS_AF_INET, route_cb, c, NULL), 0);
    assert_true(run_until(loop, &c->calls, 1, 10000));
    assert_int_equal(c->calls, 1);
    return c;
}

static void test_route(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {"--local=/test/",
                          "--local-ttl=30",
                          "--srv-host=_sipfederationtls._tcp.ro.test,e1.ro.test,5061,1,1",
                          "--srv-host=_sipfederationtls._tcp.ro.test,e2.ro.test,5062,2,1",
                          "--srv-host=_sipfederationtls._tcp.ro.test,dark.ro.test,5063,3,1",
                          "--host-record=e1.ro.test,127.0.0.2,20",
                          "--host-record=e2.ro.test,127.0.0.3",
                          "--host-record=pool.internal.test,127.0.0.8",
                          "--srv-host=_sips._tcp.srv.internal.test,pool.internal.test,5070,0,0",
                          "--srv-host=_sipfederationtls._tcp.none.test",
                          NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);
    route_cap_t c;
    route_sync(&loop, d, DNS_SIPFED_PREFIX, "RO.test", 0, &c);
    assert_int_equal(c.status, DNS_OK);
    assert_false(c.cached);
    assert_false(c.fallback);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "e1.ro.test");
    assert_int_equal(c.ports[0], 5061);
    assert_string_equal(c.first_addr[0], "127.0.0.2");
    assert_string_equal(c.names[1], "e2.ro.test");
    assert_string_equal(c.first_addr[1], "127.0.0.3");
    assert_string_equal(c.names[2], "dark.ro.test");
    assert_int_equal(c.tstatus[2], DNS_NXDOMAIN);
    assert_int_equal(c.naddrs[2], 0);
    assert_int_equal(c.ttl, 20); /* the smallest TTL among the answers used */
    /* second time: all from the cache, no new query */
    dns_stats_t st;
    dns_get_stats(d, &st);
    uint64_t q = st.queries;
    route_sync(&loop, d, DNS_SIPFED_PREFIX, "ro.test", 0, &c);
    assert_true(c.cached);
    assert_int_equal(c.n, 3);
    dns_get_stats(d, &st);
    assert_int_equal(st.queries, q);

    /* internal next hop: SRV when there is one, else the FQDN's addresses */
    route_sync(&loop, d, DNS_SIPS_PREFIX, "srv.internal.test", 5061, &c);
    assert_int_equal(c.status, DNS_OK);
    assert_false(c.fallback);
    assert_int_equal(c.ports[0], 5070);
    assert_string_equal(c.first_addr[0], "127.0.0.8");
    route_sync(&loop, d, DNS_SIPS_PREFIX, "pool.internal.test", 5061, &c);
    assert_int_equal(c.status, DNS_OK);
    assert_true(c.fallback);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], "pool.internal.test");
    assert_int_equal(c.ports[0], 5061);
    assert_string_equal(c.first_addr[0], "127.0.0.8");
    /* partner discovery: no fallback, no SRV means not discoverable */
    route_sync(&loop, d, DNS_SIPFED_PREFIX, "pool.internal.test", 0, &c);
    assert_true(c.status == DNS_NXDOMAIN || c.status == DNS_NODATA);
    assert_int_equal(c.n, 0);
    route_sync(&loop, d, DNS_SIPFED_PREFIX, "none.test", 0, &c);
    assert_int_equal(c.status, DNS_NOSERVICE);
    assert_int_equal(c.n, 0);
    assert_int_equal(
        dns_resolve_route(d, DNS_SIPFED_PREFIX, "bad..name", 0, DNS_AF_INET, route_cb, &c, NULL),
        FEDGE_EINVAL);

    /* cancelled in flight (SRV pending), and after the SRV step (addresses
     * pending): never called; then dns_free with a route in flight. The
     * server is replaced by a socket that never answers, so that nothing
     * completes behind the test's back. */
    tu_dnsmasq_stop(&m);
    int black = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ba = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)m.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(black, (struct sockaddr *)&ba, sizeof ba), 0);
    route_cap_t x = {0}, y = {0}, z = {0};
    dns_req_t *rx = NULL, *ry = NULL;
    assert_int_equal(
        dns_resolve_route(d, DNS_SIPFED_PREFIX, "other.test", 0, DNS_AF_ANY, route_cb, &x, &rx), 0);
    dns_cancel(rx);
    assert_int_equal(
        dns_resolve_route(d, DNS_SIPFED_PREFIX, "ro.test", 0, DNS_AF_ANY, route_cb, &y, &ry), 0);
    /* the SRV answer is cached: one loop turn runs the SRV step, whose
     * AAAA queries are new and still pending */
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(y.calls, 0);
    dns_get_stats(d, &st);
    assert_int_equal(st.inflight, 4); /* other.test SRV + 3 AAAA */
    dns_cancel(ry);
    run_for(&loop, 200);
    assert_int_equal(x.calls + y.calls, 0);
    assert_int_equal(
        dns_resolve_route(d, DNS_SIPFED_PREFIX, "third.test", 0, DNS_AF_ANY, route_cb, &z, NULL),
        0);
    finish(&loop, d);
    assert_int_equal(z.calls, 0);
    close(black);
}

typedef struct {
    int calls;
    bool legitimate, cached;
    dns_status_t status;
    char matched[64];
    char reason[600];
} edge_cap_t;

static void edge_cb(void *user, const dns_edge_result_t *r)
{
    edge_cap_t *c = user;
    c->calls++;
    c->legitimate = r->legitimate;
    c->cached = r->cached;
    c->status = r->status;
    snprintf(c->matched, sizeof c->matched, "%s", r->matched ? r->matched : "");
    snprintf(c->reason, sizeof c->reason, "%s", r->reason);
}

static edge_cap_t *edge_sync(uv_loop_t *loop, dns_t *d, const char *domain,
                             const char *const *names, size_t n, edge_cap_t *c)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(dns_verify_edge(d, domain, names, n, edge_cb, c, NULL), 0);
    assert_true(run_until(loop, &c->calls, 1, 10000));
    return c;
}

static void test_verify_edge(void **state)
{
    (void)state;
    dnsmasq_t m = {0};
    const char *args[] = {
        "--local=/test/",
        "--local-ttl=30",
        "--srv-host=_sipfederationtls._tcp.contoso.test,edge1.contoso.test,5061,1,1",
        "--srv-host=_sipfederationtls._tcp.contoso.test,sip.hoster.test,5061,2,1",
        "--srv-host=_sipfederationtls._tcp.none.test",
        NULL};
    dm_start(&m, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    dns_t *d = mk_dns(&loop, server_of(&m), NULL);
    edge_cap_t c;
    const char *good[] = {"contoso.test", "EDGE1.contoso.test"};
    edge_sync(&loop, d, "contoso.test", good, 2, &c);
    assert_true(c.legitimate);
    assert_int_equal(c.status, DNS_OK);
    assert_string_equal(c.matched, "edge1.contoso.test");
    assert_string_equal(c.reason, "");
    const char *hoster[] = {"sip.hoster.test."};
    edge_sync(&loop, d, "Contoso.test", hoster, 1, &c);
    assert_true(c.legitimate);
    assert_true(c.cached);
    assert_string_equal(c.matched, "sip.hoster.test");
    /* no wildcard, no suffix match, no parent */
    const char *bad[] = {"*.contoso.test", "xedge1.contoso.test", "contoso.test", "edge1"};
    edge_sync(&loop, d, "contoso.test", bad, 4, &c);
    assert_false(c.legitimate);
    assert_int_equal(c.status, DNS_OK);
    assert_non_null(strstr(c.reason, "no SRV target of _sipfederationtls._tcp.contoso.test"));
    assert_non_null(strstr(c.reason, "xedge1.contoso.test"));
    assert_non_null(strstr(c.reason, "targets: edge1.contoso.test, sip.hoster.test"));
    edge_sync(&loop, d, "contoso.test", NULL, 0, &c);
    assert_false(c.legitimate);
    edge_sync(&loop, d, "fabrikam.test", good, 2, &c);
    assert_false(c.legitimate);
    assert_int_equal(c.status, DNS_NXDOMAIN);
    assert_non_null(strstr(c.reason, "publishes no"));
    edge_sync(&loop, d, "none.test", good, 2, &c);
    assert_false(c.legitimate);
    assert_int_equal(c.status, DNS_NOSERVICE);
    assert_int_equal(dns_verify_edge(d, "bad..test", good, 2, edge_cb, &c, NULL), FEDGE_EINVAL);
    /* cancelled: never called */
    edge_cap_t x = {0};
    dns_req_t *rx = NULL;
    assert_int_equal(dns_verify_edge(d, "other.test", good, 2, edge_cb, &x, &rx), 0);
    dns_cancel(rx);
    run_for(&loop, 100);
    assert_int_equal(x.calls, 0);
    /* a dead server: not legitimate, but distinguishable as a DNS failure */
    tu_dnsmasq_stop(&m);
    edge_sync(&loop, d, "fresh.test", good, 2, &c);
    assert_false(c.legitimate);
    assert_true(c.status == DNS_SERVFAIL || c.status == DNS_TIMEOUT);
    assert_non_null(strstr(c.reason, "cannot verify"));
    finish(&loop, d);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_in_domain),
        cmocka_unit_test(test_srv_order_priority),
        cmocka_unit_test(test_srv_order_weights),
        cmocka_unit_test(test_srv_order_zero_weights),
        cmocka_unit_test(test_parse_answer),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_srv_live_order_and_weights),
        cmocka_unit_test(test_host_a_aaaa_ttl),
        cmocka_unit_test(test_negative_cached),
        cmocka_unit_test(test_ttl_expiry_and_renumbering),
        cmocka_unit_test(test_coalescing),
        cmocka_unit_test(test_no_service),
        cmocka_unit_test(test_timeout_bounded_while_good_server_answers),
        cmocka_unit_test(test_failure_does_not_poison),
        cmocka_unit_test(test_truncated_udp_retried_over_tcp),
        cmocka_unit_test(test_cancel_and_free_safety),
        cmocka_unit_test(test_cache_bound),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_verify_edge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
