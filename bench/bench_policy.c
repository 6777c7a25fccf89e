/* bench_policy.c — cost of one federation decision on the hot path (target
 * under 1 µs): a store with thousands of allowed and blocked domains and
 * providers, decisions of every common kind, ns/decision printed per kind
 * (thread CPU time and wall clock). Exits 1 when a kind of decision costs
 * 1 µs or more of CPU. */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: on a shared machine the wall clock also counts
 * time spent waiting for a core. Both are printed. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static fedge_str_t S(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

static void die(const char *what, const fedge_err_t *e)
{
    fprintf(stderr, "bench_policy: %s: %s\n", what, e->msg);
    exit(1);
}

int main(void)
{
    char dir[] = "/tmp/fedge-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[64];
    snprintf(path, sizeof(path), "%s/fedge.db", dir);
    store_t *st;
    fedge_err_t e;
    if (store_open(path, &st, &e) < 0)
        die("open", &e);

    /* A large configuration, written through the public API (one audited
     * transaction per change, as the CLI does). */
    enum { N_ALLOWED = 2000, N_BLOCKED = 2000, N_PROVIDERS = 20 };
    char d[64], f[64];
    uint64_t t0 = now_ns();
    for (int i = 0; i < N_ALLOWED; i++) {
        snprintf(d, sizeof(d), "partner%d.example.com", i);
        snprintf(f, sizeof(f), "edge.partner%d.example.com", i);
        if (store_domain_allow(st, d, i % 2 ? f : NULL, NULL, false, "bench", &e) < 0)
            die("allow", &e);
    }
    for (int i = 0; i < N_BLOCKED; i++) {
        snprintf(d, sizeof(d), "blocked%d.example.net", i);
        if (store_domain_block(st, d, NULL, "bench", &e) < 0)
            die("block", &e);
    }
    for (int i = 0; i < N_PROVIDERS; i++) {
        char name[32], dom[3][64];
        const char *doms[3];
        snprintf(name, sizeof(name), "prov%d", i);
        snprintf(f, sizeof(f), "sip.prov%d.example.org", i);
        for (int k = 0; k < 3; k++) {
            snprintf(dom[k], sizeof(dom[k]), "d%d.prov%d.example.org", k, i);
            doms[k] = dom[k];
        }
        store_provider_in_t p = {name,
                                 f,
                                 i % 2 ? STORE_PROVIDER_PUBLIC : STORE_PROVIDER_HOSTING,
                                 STORE_VERIFY_ALWAYS_VERIFIED,
                                 true,
                                 doms,
                                 3};
        if (store_provider_add(st, &p, "bench", &e) < 0)
            die("provider", &e);
    }
    store_policy_patch_t g = {1, 1, 0, 0};
    if (store_policy_set(st, "global", &g, "bench", &e) < 0)
        die("policy", &e);
    store_policy_patch_t nofed = {0, 0, 0, 0};
    store_policy_set(st, "nofed", &nofed, "bench", &e);
    for (int i = 0; i < 200; i++) {
        snprintf(d, sizeof(d), "user%d@contoso.com", i);
        if (store_policy_assign(st, d, "nofed", "bench", &e) < 0)
            die("assign", &e);
    }
    store_setting_t kv[] = {{"discovery", "on"}};
    store_edge_set(st, kv, 1, "bench", &e);
    uint64_t t_fill = now_ns() - t0;
    t0 = now_ns();
    store_snapshot_t *snap;
    if (store_snapshot_load(st, &snap, &e) < 0)
        die("snapshot", &e);
    uint64_t t_load = now_ns() - t0;
    bool changed;
    store_changed(st, &changed, &e);
    t0 = now_ns();
    enum { POLLS = 2000 };
    for (int i = 0; i < POLLS; i++)
        store_changed(st, &changed, &e);
    uint64_t t_poll = (now_ns() - t0) / POLLS;

    static const char *const local[] = {"contoso.com", "contoso.net"};
    const char *peer_ps[] = {"edge.partner1001.example.com"};
    const char *peer_ad[] = {"edge.partner1000.example.com"};
    const char *peer_pr[] = {"sip.prov7.example.org"};
    const char *peer_dis[] = {"edge.somewhere.example.info"};
    struct {
        const char *name;
        policy_input_t in;
        policy_outcome_t expect;
    } kinds[] = {
        {"inbound partner server",
         {.dir = POLICY_INBOUND,
          .peer_dns = peer_ps,
          .n_peer_dns = 1,
          .from_user = S("x"),
          .from_domain = S("partner1001.example.com"),
          .to_user = S("bob"),
          .to_domain = S("contoso.com")},
         POLICY_ALLOW},
        {"inbound allowed domain (verified)",
         {.dir = POLICY_INBOUND,
          .peer_dns = peer_ad,
          .n_peer_dns = 1,
          .dns = POLICY_DNS_VERIFIED,
          .from_user = S("x"),
          .from_domain = S("partner1000.example.com"),
          .to_user = S("bob"),
          .to_domain = S("contoso.com")},
         POLICY_ALLOW},
        {"inbound provider",
         {.dir = POLICY_INBOUND,
          .peer_dns = peer_pr,
          .n_peer_dns = 1,
          .from_user = S("x"),
          .from_domain = S("d1.prov7.example.org"),
          .to_user = S("bob"),
          .to_domain = S("contoso.com")},
         POLICY_ALLOW},
        {"inbound discovered (verified)",
         {.dir = POLICY_INBOUND,
          .peer_dns = peer_dis,
          .n_peer_dns = 1,
          .dns = POLICY_DNS_VERIFIED,
          .from_user = S("x"),
          .from_domain = S("somewhere.example.info"),
          .to_user = S("bob"),
          .to_domain = S("contoso.com")},
         POLICY_ALLOW},
        {"inbound blocked subdomain",
         {.dir = POLICY_INBOUND,
          .peer_dns = peer_dis,
          .n_peer_dns = 1,
          .dns = POLICY_DNS_VERIFIED,
          .from_user = S("x"),
          .from_domain = S("a.b.blocked1500.example.net"),
          .to_user = S("bob"),
          .to_domain = S("contoso.com")},
         POLICY_REJECT},
        {"outbound partner server",
         {.dir = POLICY_OUTBOUND,
          .from_user = S("alice"),
          .from_domain = S("contoso.com"),
          .to_user = S("x"),
          .to_domain = S("partner1001.example.com")},
         POLICY_ALLOW},
        {"outbound user policy off",
         {.dir = POLICY_OUTBOUND,
          .from_user = S("user150"),
          .from_domain = S("contoso.com"),
          .to_user = S("x"),
          .to_domain = S("partner1001.example.com")},
         POLICY_REJECT},
    };
    enum { ITER = 1000000 };
    int worst = 0;
    printf("store: %d allowed, %d blocked, %d providers, 200 assignments "
           "(filled in %.1f s through the API)\n",
           N_ALLOWED, N_BLOCKED, N_PROVIDERS, (double)t_fill / 1e9);
    printf("snapshot load: %.2f ms; change poll (store_changed): %llu ns\n", (double)t_load / 1e6,
           (unsigned long long)t_poll);
    for (size_t k = 0; k < FEDGE_ARRAY_LEN(kinds); k++) {
        policy_input_t in = kinds[k].in;
        in.peer_verified = true;
        in.source_verified = -1;
        in.local_domains = local;
        in.n_local_domains = 2;
        policy_verdict_t v;
        policy_decide(snap, &in, &v);
        if (v.outcome != kinds[k].expect) {
            fprintf(stderr, "bench_policy: %s: unexpected outcome %d (diag %d)\n", kinds[k].name,
                    v.outcome, v.diag);
            return 1;
        }
        uint64_t sink = 0;
        t0 = now_ns();
        uint64_t c0 = cpu_ns();
        for (int i = 0; i < ITER; i++) {
            policy_decide(snap, &in, &v);
            sink += (uint64_t)v.outcome + (uint64_t)v.diag;
        }
        double per = (double)(cpu_ns() - c0) / ITER;
        double wall = (double)(now_ns() - t0) / ITER;
        printf("%-36s %7.1f ns/decision (cpu), %7.1f ns wall%s\n", kinds[k].name, per, wall,
               sink ? "" : " ");
        if (per >= 1000.0)
            worst = 1;
    }
    /* Throttle admission, the other per-request cost for discovered peers. */
    policy_throttle_t *t = policy_throttle_new(4096);
    policy_verdict_t v;
    uint64_t c0 = cpu_ns();
    for (int i = 0; i < ITER; i++) {
        char u[32];
        int n = snprintf(u, sizeof(u), "u%d@contoso.com", i % 500);
        policy_throttle_admit(t, snap, S("somewhere.example.info"), (fedge_str_t){u, (size_t)n},
                              (uint64_t)i, &v, NULL);
    }
    printf("%-36s %7.1f ns/request (cpu)\n", "throttle admit (discovered)",
           (double)(cpu_ns() - c0) / ITER);
    policy_throttle_free(t);
    store_snapshot_unref(snap);
    store_close(st);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    if (worst)
        fprintf(stderr, "bench_policy: a decision costs 1 us or more\n");
    return worst;
}
