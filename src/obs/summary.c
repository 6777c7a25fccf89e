/* summary.c — summarised log events: per key and interval, the first few
 * written one by one, the rest counted and written as one line. */
#include "obs/obs.h"
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[96];
    uint64_t count;                    /* events in this interval */
    uint64_t logged;                   /* of which written one by one */
    uint32_t addrs[OBS_SUMMARY_ADDRS]; /* hashes of distinct addresses, 0 free */
    size_t naddrs;
    bool addrs_full;
} entry_t;

struct obs_summary {
    obs_level_t level;
    const char *component, *one, *verb, *noun;
    uint32_t interval_ms;
    unsigned burst;
    bool started;
    int64_t start_ms;
    size_t nkeys;
    entry_t keys[OBS_SUMMARY_KEYS];
};

obs_summary_t *obs_summary_new(obs_level_t level, const char *component, const char *one,
                               const char *verb, const char *noun, uint32_t interval_ms,
                               unsigned burst)
{
    obs_summary_t *s = fedge_calloc(1, sizeof(*s));
    s->level = level;
    s->component = component;
    s->one = one;
    s->verb = verb;
    s->noun = noun;
    s->interval_ms = interval_ms ? interval_ms : 10000;
    s->burst = burst;
    return s;
}

/* 86487 -> "86,487" */
static void thousands(uint64_t v, char *buf, size_t size)
{
    char raw[32], out[48];
    int n = snprintf(raw, sizeof(raw), "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
    snprintf(buf, size, "%s", out);
}

static uint32_t addr_hash(const char *a)
{
    uint32_t h = 2166136261u;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 16777619u;
    return h ? h : 1;
}

static void add_addr(entry_t *e, const char *addr)
{
    if (!addr || !*addr)
        return;
    uint32_t h = addr_hash(addr);
    size_t i = h & (OBS_SUMMARY_ADDRS - 1);
    for (size_t probes = 0; probes < OBS_SUMMARY_ADDRS; probes++) {
        if (e->addrs[i] == h)
            return;
        if (e->addrs[i] == 0) {
            /* Kept at most three quarters full so that probing stays short. */
            if (e->naddrs >= OBS_SUMMARY_ADDRS * 3 / 4) {
                e->addrs_full = true;
                return;
            }
            e->addrs[i] = h;
            e->naddrs++;
            return;
        }
        i = (i + 1) & (OBS_SUMMARY_ADDRS - 1);
    }
}

static void flush(obs_summary_t *s)
{
    for (size_t k = 0; k < s->nkeys; k++) {
        entry_t *e = &s->keys[k];
        if (e->count > e->logged) {
            char count[48], addrs[80] = "", msg[320], secs[16];
            thousands(e->count, count, sizeof(count));
            if (e->addrs_full) {
                snprintf(addrs, sizeof(addrs), " from more than %zu addresses", e->naddrs);
            } else if (e->naddrs) {
                char a[48];
                thousands(e->naddrs, a, sizeof(a));
                snprintf(addrs, sizeof(addrs), " from %s address%s", a, e->naddrs == 1 ? "" : "es");
            }
            if (s->interval_ms % 1000 == 0)
                snprintf(secs, sizeof(secs), "%u s", (unsigned)(s->interval_ms / 1000));
            else
                snprintf(secs, sizeof(secs), "%u ms", (unsigned)s->interval_ms);
            snprintf(msg, sizeof(msg), "%s %s %s%s in the last %s: %s", s->verb, count, s->noun,
                     addrs, secs, e->key);
            char n1[24], n2[24];
            snprintf(n1, sizeof(n1), "%llu", (unsigned long long)e->count);
            snprintf(n2, sizeof(n2), "%zu", e->naddrs);
            obs_logkv(s->level, s->component, msg, "reason", e->key, "count", n1, "addresses", n2,
                      NULL);
        }
    }
    s->nkeys = 0;
    s->started = false;
}

void obs_summary_tick(obs_summary_t *s, int64_t now_ms)
{
    if (s->started && now_ms - s->start_ms >= (int64_t)s->interval_ms)
        flush(s);
}

void obs_summary_add(obs_summary_t *s, int64_t now_ms, const char *key, const char *addr)
{
    obs_summary_tick(s, now_ms);
    if (!s->started) {
        s->started = true;
        s->start_ms = now_ms;
    }
    if (!key)
        key = "";
    entry_t *e = NULL;
    for (size_t k = 0; k < s->nkeys && !e; k++)
        if (!strncmp(s->keys[k].key, key, sizeof(e->key) - 1))
            e = &s->keys[k];
    if (!e && s->nkeys < OBS_SUMMARY_KEYS - 1) {
        e = &s->keys[s->nkeys++];
        memset(e, 0, sizeof(*e));
        snprintf(e->key, sizeof(e->key), "%s", key);
    }
    if (!e) { /* the last slot gathers every further key */
        e = &s->keys[OBS_SUMMARY_KEYS - 1];
        if (s->nkeys < OBS_SUMMARY_KEYS) {
            s->nkeys = OBS_SUMMARY_KEYS;
            memset(e, 0, sizeof(*e));
            snprintf(e->key, sizeof(e->key), "other");
        }
    }
    e->count++;
    add_addr(e, addr);
    if (e->count <= s->burst) {
        e->logged++;
        obs_logkv(s->level, s->component, s->one, "reason", key, "peer", addr, NULL);
    }
}

void obs_summary_free(obs_summary_t *s)
{
    if (!s)
        return;
    flush(s);
    free(s);
}
