/* guard.c — the admin server's login throttle (growing delays per account
 * and per source address) and its session table (ids kept only as SHA-256
 * hashes, idle and absolute expiry). Pure: the caller passes the time —
 * unless a store is attached (a pool's shared store): both are then also
 * kept there, by the wall clock, the members' common time. */
#include "admin/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>
#include <time.h>

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- throttle ---- */

typedef struct {
    fedge_map_node_t node;         /* in by_key */
    char key[STORE_NAME_MAX + 72]; /* "a:NAME" or "i:ADDRESS" */
    uint32_t failures;
    int64_t last_ms;
} entry_t;

/* Entries packed in e[0..n) (removal moves the last one into the hole) and
 * indexed by key: names and addresses come from whoever tries to log in,
 * hence the keyed hash. */
struct admin__guard {
    entry_t *e;
    size_t n, max;
    fedge_map_t by_key;
    store_t *store; /* borrowed, or NULL */
};

/* Removes element i of an array of n elements of size sz whose
 * fedge_map_node_t sits at node(i), filling the hole with the last one
 * (re-indexed under the same hash). Returns the new count. */
static size_t drop(fedge_map_t *m, void *arr, size_t sz, size_t n, size_t i,
                   fedge_map_node_t *(*node)(void *arr, size_t i))
{
    fedge_map_remove(m, node(arr, i));
    if (i != n - 1) {
        fedge_map_node_t *last = node(arr, n - 1);
        uint64_t h = last->hash;
        fedge_map_remove(m, last);
        memcpy((char *)arr + i * sz, (char *)arr + (n - 1) * sz, sz);
        fedge_map_insert(m, node(arr, i), h);
    }
    memset((char *)arr + (n - 1) * sz, 0, sz);
    return n - 1;
}

static fedge_map_node_t *entry_node(void *arr, size_t i)
{
    return &((entry_t *)arr)[i].node;
}

static void entry_drop(admin__guard_t *g, size_t i)
{
    g->n = drop(&g->by_key, g->e, sizeof(entry_t), g->n, i, entry_node);
}

static bool entry_eq(const fedge_map_node_t *n, const void *key)
{
    return strcmp(FEDGE_CONTAINER_OF(n, entry_t, node)->key, key) == 0;
}

static uint64_t key_hash(const char *key)
{
    return fedge_hash(key, strlen(key));
}

/* The index in g->e of key, or SIZE_MAX. */
static size_t entry_find(admin__guard_t *g, const char *key)
{
    fedge_map_node_t *n = fedge_map_find(&g->by_key, key_hash(key), entry_eq, key);
    return n ? (size_t)(FEDGE_CONTAINER_OF(n, entry_t, node) - g->e) : SIZE_MAX;
}

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
    fedge_map_free(&g->by_key);
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
    size_t i = entry_find(g, key);
    if (i == SIZE_MAX)
        return NULL;
    if (now_ms - g->e[i].last_ms > (int64_t)ADMIN__FORGET_S * 1000) {
        entry_drop(g, i);
        return NULL;
    }
    return &g->e[i];
}

/* The wait the store's count of key asks for (0 without a store or when
 * it cannot be read: the table's count still applies). */
static uint32_t store_wait_for(admin__guard_t *g, const char *key, uint32_t free)
{
    uint32_t failures = 0;
    int64_t last = 0, now = wall_ms();
    fedge_err_t e;
    if (!g->store || store_login_get(g->store, key, now - (int64_t)ADMIN__FORGET_S * 1000,
                                     &failures, &last, &e) < 0)
        return 0;
    int64_t until = last + (int64_t)admin__delay_s(failures, free) * 1000;
    if (until - now > (int64_t)ADMIN__DELAY_MAX_S * 1000)
        until = now + (int64_t)ADMIN__DELAY_MAX_S * 1000; /* a clock set back */
    return until > now ? (uint32_t)(until - now) : 0;
}

static uint32_t wait_for(admin__guard_t *g, const char *key, uint32_t free, int64_t now_ms)
{
    uint32_t shared = store_wait_for(g, key, free);
    entry_t *e = find(g, key, now_ms);
    if (!e)
        return shared;
    int64_t until = e->last_ms + (int64_t)admin__delay_s(e->failures, free) * 1000;
    uint32_t own = until > now_ms ? (uint32_t)(until - now_ms) : 0;
    return own > shared ? own : shared;
}

uint32_t admin__guard_wait(admin__guard_t *g, const char *account, const char *ip, int64_t now_ms)
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
            entry_drop(g, old);
        }
        e = &g->e[g->n++];
        memset(e, 0, sizeof(*e));
        memcpy(e->key, key, strlen(key) + 1);
        fedge_map_insert(&g->by_key, &e->node, key_hash(e->key));
    }
    if (e->failures < UINT32_MAX)
        e->failures++;
    e->last_ms = now_ms;
    fedge_err_t err;
    if (g->store) {
        int64_t now = wall_ms();
        store_login_fail(g->store, key, now, now - (int64_t)ADMIN__FORGET_S * 1000, &err);
    }
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
    size_t i = entry_find(g, key);
    if (i != SIZE_MAX)
        entry_drop(g, i);
    fedge_err_t err;
    if (g->store)
        store_login_forget(g->store, key, &err);
}

void admin__guard_use_store(admin__guard_t *g, store_t *s)
{
    g->store = s;
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

/* Sessions packed in s[0..n), node[i] indexing s[i] by its id hash. */
typedef struct {
    fedge_map_node_t node;
    admin__session_t s;
} slot_t;

struct admin__sessions {
    slot_t *s;
    size_t n, max;
    fedge_map_t by_id;
    uint32_t idle_s, max_s;
    store_t *store; /* borrowed, or NULL */
};

static fedge_map_node_t *slot_node(void *arr, size_t i)
{
    return &((slot_t *)arr)[i].node;
}

static void session_drop(admin__sessions_t *ss, size_t i)
{
    ss->n = drop(&ss->by_id, ss->s, sizeof(slot_t), ss->n, i, slot_node);
}

admin__sessions_t *admin__sessions_new(size_t max, uint32_t idle_s, uint32_t max_s)
{
    admin__sessions_t *ss = fedge_calloc(1, sizeof(*ss));
    ss->max = max ? max : 1;
    ss->s = fedge_calloc(ss->max, sizeof(slot_t));
    ss->idle_s = idle_s;
    ss->max_s = max_s;
    return ss;
}

void admin__sessions_free(admin__sessions_t *ss)
{
    if (!ss)
        return;
    memset(ss->s, 0, ss->max * sizeof(slot_t));
    fedge_map_free(&ss->by_id);
    free(ss->s);
    free(ss);
}

void admin__sessions_use_store(admin__sessions_t *ss, store_t *s)
{
    ss->store = s;
}

/* A free slot, the least recently used session ending when all are taken. */
static slot_t *slot_take(admin__sessions_t *ss)
{
    if (ss->n == ss->max) {
        size_t old = 0;
        for (size_t i = 1; i < ss->n; i++)
            if (ss->s[i].s.last_s < ss->s[old].s.last_s)
                old = i;
        session_drop(ss, old);
    }
    slot_t *slot = &ss->s[ss->n++];
    memset(slot, 0, sizeof(*slot));
    return slot;
}

int admin__session_new(admin__sessions_t *ss, const char *account, const char *pw_fp, int64_t now_s,
                       char id[ADMIN__HEX], char csrf[ADMIN__HEX], fedge_err_t *err)
{
    int r = admin__random_hex(id, err);
    if (r == 0)
        r = admin__random_hex(csrf, err);
    if (r < 0)
        return r;
    slot_t *slot = slot_take(ss);
    admin__session_t *s = &slot->s;
    admin__sha256_hex(id, strlen(id), s->id_hash);
    fedge_map_insert(&ss->by_id, &slot->node, fedge_hash(s->id_hash, ADMIN__HEX - 1));
    memcpy(s->csrf, csrf, ADMIN__HEX);
    snprintf(s->account, sizeof(s->account), "%s", account);
    snprintf(s->pw_fp, sizeof(s->pw_fp), "%s", pw_fp ? pw_fp : "");
    s->created_s = s->last_s = now_s;
    if (ss->store) {
        store_session_t row;
        memset(&row, 0, sizeof(row));
        memcpy(row.id_hash, s->id_hash, ADMIN__HEX);
        memcpy(row.csrf, s->csrf, ADMIN__HEX);
        snprintf(row.account, sizeof(row.account), "%s", s->account);
        snprintf(row.pw_fp, sizeof(row.pw_fp), "%s", s->pw_fp);
        row.created_s = row.last_s = now_s;
        fedge_err_t e2;
        store_session_purge(ss->store, now_s - (int64_t)ss->idle_s, now_s - (int64_t)ss->max_s,
                            &e2);
        r = store_session_put(ss->store, &row, err);
        if (r < 0) {
            session_drop(ss, (size_t)(slot - ss->s));
            return r;
        }
    }
    return 0;
}

static bool session_eq(const fedge_map_node_t *n, const void *key)
{
    return admin__ct_equal(FEDGE_CONTAINER_OF(n, slot_t, node)->s.id_hash, key);
}

/* Looked up by the SHA-256 of the id, compared in constant time: what a
 * timing difference could tell is about a hash of a guess, not a live id. */
static ssize_t find_session(admin__sessions_t *ss, const char *id)
{
    if (!id || strlen(id) != ADMIN__HEX - 1)
        return -1;
    char h[ADMIN__HEX];
    admin__sha256_hex(id, strlen(id), h);
    fedge_map_node_t *n = fedge_map_find(&ss->by_id, fedge_hash(h, ADMIN__HEX - 1), session_eq, h);
    return n ? FEDGE_CONTAINER_OF(n, slot_t, node) - ss->s : -1;
}

/* The store's word on session id: the table's entry updated from it (or
 * taken in when it was made on another member), or dropped when the store
 * no longer has it. Returns the index, -1 when gone, -2 when the store
 * cannot say (the table alone answers). */
static ssize_t from_store(admin__sessions_t *ss, const char *id, ssize_t i, int64_t now_s)
{
    if (!id || strlen(id) != ADMIN__HEX - 1)
        return -1;
    char h[ADMIN__HEX];
    admin__sha256_hex(id, strlen(id), h);
    store_session_t row;
    fedge_err_t e;
    int r = store_session_get(ss->store, h, &row, &e);
    if (r == FEDGE_ENOENT) {
        if (i >= 0)
            session_drop(ss, (size_t)i);
        return -1;
    }
    if (r < 0)
        return -2;
    if (i < 0) {
        slot_t *slot = slot_take(ss);
        memcpy(slot->s.id_hash, h, ADMIN__HEX);
        fedge_map_insert(&ss->by_id, &slot->node, fedge_hash(h, ADMIN__HEX - 1));
        i = slot - ss->s;
        slot->s.last_s = row.last_s;
    }
    admin__session_t *s = &ss->s[i].s;
    snprintf(s->csrf, sizeof(s->csrf), "%s", row.csrf);
    snprintf(s->account, sizeof(s->account), "%s", row.account);
    snprintf(s->pw_fp, sizeof(s->pw_fp), "%s", row.pw_fp);
    s->created_s = row.created_s;
    /* the store's idle timer lags by up to ADMIN__TOUCH_S: the later wins */
    if (row.last_s > s->last_s)
        s->last_s = row.last_s;
    if (now_s - row.last_s >= ADMIN__TOUCH_S && now_s - s->last_s <= (int64_t)ss->idle_s)
        store_session_touch(ss->store, h, now_s, &e);
    return i;
}

admin__session_t *admin__session_get(admin__sessions_t *ss, const char *id, int64_t now_s)
{
    ssize_t i = find_session(ss, id);
    if (ss->store) {
        ssize_t k = from_store(ss, id, i, now_s);
        if (k != -2)
            i = k;
    }
    if (i < 0)
        return NULL;
    admin__session_t *s = &ss->s[i].s;
    if (now_s - s->last_s > (int64_t)ss->idle_s || now_s - s->created_s > (int64_t)ss->max_s ||
        now_s < s->created_s) {
        fedge_err_t e;
        if (ss->store)
            store_session_end(ss->store, s->id_hash, &e);
        session_drop(ss, (size_t)i);
        return NULL;
    }
    s->last_s = now_s;
    return s;
}

void admin__session_end(admin__sessions_t *ss, const char *id)
{
    ssize_t i = find_session(ss, id);
    if (ss->store && id && strlen(id) == ADMIN__HEX - 1) {
        char h[ADMIN__HEX];
        fedge_err_t e;
        admin__sha256_hex(id, strlen(id), h);
        store_session_end(ss->store, h, &e);
    }
    if (i >= 0) {
        memset(&ss->s[i].s, 0, sizeof(ss->s[i].s));
        session_drop(ss, (size_t)i);
    }
}

size_t admin__session_count(const admin__sessions_t *ss)
{
    return ss->n;
}
