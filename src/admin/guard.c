/* guard.c — the admin server's login throttle (growing delays per account
 * and per source address) and its session table (ids kept only as SHA-256
 * hashes, idle and absolute expiry). Pure: the caller passes the time. */
#include "admin/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

/* ---- throttle ---- */

typedef struct {
    char key[STORE_NAME_MAX + 72]; /* "a:NAME" or "i:ADDRESS" */
    uint32_t failures;
    int64_t last_ms;
} entry_t;

struct admin__guard {
    entry_t *e;
    size_t n, max;
};

uint32_t admin__delay_s(uint32_t failures, uint32_t free)
{
    if (failures <= free)
        return 0;
    uint32_t k = failures - free - 1;
    if (k >= 9)
        return ADMIN__DELAY_MAX_S;
    uint32_t d = 1u << k;
    return d > ADMIN__DELAY_MAX_S ? ADMIN__DELAY_MAX_S : d;
}

admin__guard_t *admin__guard_new(size_t max)
{
    admin__guard_t *g = fedge_calloc(1, sizeof(*g));
    g->max = max ? max : 1;
    g->e = fedge_calloc(g->max, sizeof(entry_t));
    return g;
}

void admin__guard_free(admin__guard_t *g)
{
    if (!g)
        return;
    free(g->e);
    free(g);
}

static void make_key(char *k, size_t n, char kind, const char *v)
{
    size_t len = strlen(v);
    if (len > n - 3)
        len = n - 3;
    k[0] = kind;
    k[1] = ':';
    memcpy(k + 2, v, len);
    k[len + 2] = '\0';
}

static entry_t *find(admin__guard_t *g, const char *key, int64_t now_ms)
{
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->e[i].key, key))
            continue;
        if (now_ms - g->e[i].last_ms > (int64_t)ADMIN__FORGET_S * 1000) {
            g->e[i] = g->e[--g->n];
            return NULL;
        }
        return &g->e[i];
    }
    return NULL;
}

static uint32_t wait_for(admin__guard_t *g, const char *key, uint32_t free, int64_t now_ms)
{
    entry_t *e = find(g, key, now_ms);
    if (!e)
        return 0;
    int64_t until = e->last_ms + (int64_t)admin__delay_s(e->failures, free) * 1000;
    return until > now_ms ? (uint32_t)(until - now_ms) : 0;
}

uint32_t admin__guard_wait(admin__guard_t *g, const char *account, const char *ip,
                           int64_t now_ms)
{
    char ka[sizeof(((entry_t *)0)->key)], ki[sizeof(ka)];
    make_key(ka, sizeof(ka), 'a', account ? account : "");
    make_key(ki, sizeof(ki), 'i', ip ? ip : "");
    uint32_t a = wait_for(g, ka, ADMIN__FREE_ACCOUNT, now_ms);
    uint32_t i = wait_for(g, ki, ADMIN__FREE_IP, now_ms);
    return a > i ? a : i;
}

static void fail_one(admin__guard_t *g, const char *key, int64_t now_ms)
{
    entry_t *e = find(g, key, now_ms);
    if (!e) {
        if (g->n == g->max) {
            /* Evict the stalest entry. */
            size_t old = 0;
            for (size_t i = 1; i < g->n; i++)
                if (g->e[i].last_ms < g->e[old].last_ms)
                    old = i;
            g->e[old] = g->e[--g->n];
        }
        e = &g->e[g->n++];
        memset(e, 0, sizeof(*e));
        memcpy(e->key, key, strlen(key) + 1);
    }
    if (e->failures < UINT32_MAX)
        e->failures++;
    e->last_ms = now_ms;
}

void admin__guard_fail(admin__guard_t *g, const char *account, const char *ip, int64_t now_ms)
{
    char k[sizeof(((entry_t *)0)->key)];
    make_key(k, sizeof(k), 'a', account ? account : "");
    fail_one(g, k, now_ms);
    make_key(k, sizeof(k), 'i', ip ? ip : "");
    fail_one(g, k, now_ms);
}

static void forget(admin__guard_t *g, const char *key)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->e[i].key, key)) {
            g->e[i] = g->e[--g->n];
            return;
        }
}

void admin__guard_ok(admin__guard_t *g, const char *account, const char *ip)
{
    char k[sizeof(((entry_t *)0)->key)];
    make_key(k, sizeof(k), 'a', account ? account : "");
    forget(g, k);
    make_key(k, sizeof(k), 'i', ip ? ip : "");
    forget(g, k);
}

/* ---- sessions ---- */

struct admin__sessions {
    admin__session_t *s;
    size_t n, max;
    uint32_t idle_s, max_s;
};

admin__sessions_t *admin__sessions_new(size_t max, uint32_t idle_s, uint32_t max_s)
{
    admin__sessions_t *ss = fedge_calloc(1, sizeof(*ss));
    ss->max = max ? max : 1;
    ss->s = fedge_calloc(ss->max, sizeof(admin__session_t));
    ss->idle_s = idle_s;
    ss->max_s = max_s;
    return ss;
}

void admin__sessions_free(admin__sessions_t *ss)
{
    if (!ss)
        return;
    memset(ss->s, 0, ss->max * sizeof(admin__session_t));
    free(ss->s);
    free(ss);
}

int admin__session_new(admin__sessions_t *ss, const char *account, const char *pw_fp,
                       int64_t now_s, char id[ADMIN__HEX], char csrf[ADMIN__HEX],
                       fedge_err_t *err)
{
    int r = admin__random_hex(id, err);
    if (r == 0)
        r = admin__random_hex(csrf, err);
    if (r < 0)
        return r;
    if (ss->n == ss->max) {
        size_t old = 0;
        for (size_t i = 1; i < ss->n; i++)
            if (ss->s[i].last_s < ss->s[old].last_s)
                old = i;
        ss->s[old] = ss->s[--ss->n];
    }
    admin__session_t *s = &ss->s[ss->n++];
    memset(s, 0, sizeof(*s));
    admin__sha256_hex(id, strlen(id), s->id_hash);
    memcpy(s->csrf, csrf, ADMIN__HEX);
    snprintf(s->account, sizeof(s->account), "%s", account);
    snprintf(s->pw_fp, sizeof(s->pw_fp), "%s", pw_fp ? pw_fp : "");
    s->created_s = s->last_s = now_s;
    return 0;
}

static ssize_t find_session(admin__sessions_t *ss, const char *id)
{
    if (!id || strlen(id) != ADMIN__HEX - 1)
        return -1;
    char h[ADMIN__HEX];
    admin__sha256_hex(id, strlen(id), h);
    for (size_t i = 0; i < ss->n; i++)
        if (admin__ct_equal(ss->s[i].id_hash, h))
            return (ssize_t)i;
    return -1;
}

admin__session_t *admin__session_get(admin__sessions_t *ss, const char *id, int64_t now_s)
{
    ssize_t i = find_session(ss, id);
    if (i < 0)
        return NULL;
    admin__session_t *s = &ss->s[i];
    if (now_s - s->last_s > (int64_t)ss->idle_s || now_s - s->created_s > (int64_t)ss->max_s ||
        now_s < s->created_s) {
        ss->s[i] = ss->s[--ss->n];
        return NULL;
    }
    s->last_s = now_s;
    return s;
}

void admin__session_end(admin__sessions_t *ss, const char *id)
{
    ssize_t i = find_session(ss, id);
    if (i >= 0) {
        memset(&ss->s[i], 0, sizeof(ss->s[i]));
        ss->s[i] = ss->s[--ss->n];
    }
}

size_t admin__session_count(const admin__sessions_t *ss)
{
    return ss->n;
}
