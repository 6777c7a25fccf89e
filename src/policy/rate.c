/* rate.c — events per key in fixed windows, bounded, oldest window out
 * first (policy.h, "Events per key and window"): the REGISTER rate of
 * remote users' addresses. */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    fedge_map_node_t node;
    char key[POLICY_RATE_KEY_MAX];
    uint64_t start;    /* when its window began */
    uint32_t n;        /* events counted in it */
    size_t prev, next; /* the list by window start, oldest first; NONE ends it */
} entry_t;

#define NONE ((size_t)-1)

struct policy_rate {
    fedge_map_t map; /* key -> entry */
    entry_t *e;      /* max slots; never moved (the map points in) */
    size_t max, n;
    size_t head, tail; /* oldest and newest window */
    uint64_t evictions;
};

policy_rate_t *policy_rate_new(size_t max_keys)
{
    policy_rate_t *t = fedge_calloc(1, sizeof(*t));
    t->max = max_keys ? max_keys : 1;
    t->e = fedge_calloc(t->max, sizeof(entry_t));
    t->head = t->tail = NONE;
    return t;
}

void policy_rate_free(policy_rate_t *t)
{
    if (!t)
        return;
    fedge_map_free(&t->map);
    free(t->e);
    free(t);
}

static bool key_eq(const fedge_map_node_t *n, const void *key)
{
    return !strcmp(FEDGE_CONTAINER_OF(n, entry_t, node)->key, key);
}

static void unlink_entry(policy_rate_t *t, size_t i)
{
    entry_t *x = &t->e[i];
    if (x->prev != NONE)
        t->e[x->prev].next = x->next;
    else
        t->head = x->next;
    if (x->next != NONE)
        t->e[x->next].prev = x->prev;
    else
        t->tail = x->prev;
}

/* At the newest end: windows begin in time order, so the list stays
 * sorted by start. */
static void append(policy_rate_t *t, size_t i)
{
    entry_t *x = &t->e[i];
    x->prev = t->tail;
    x->next = NONE;
    if (t->tail != NONE)
        t->e[t->tail].next = i;
    else
        t->head = i;
    t->tail = i;
}

bool policy_rate_admit(policy_rate_t *t, fedge_str_t key, uint32_t limit, uint32_t window_ms,
                       uint64_t now_ms)
{
    if (!limit)
        return true;
    char k[POLICY_RATE_KEY_MAX];
    size_t kl = key.len < sizeof(k) - 1 ? key.len : sizeof(k) - 1;
    if (kl)
        memcpy(k, key.s, kl);
    k[kl] = '\0';
    uint64_t h = fedge_hash(k, kl);
    fedge_map_node_t *found = fedge_map_find(&t->map, h, key_eq, k);
    entry_t *x;
    size_t i;
    if (found) {
        x = FEDGE_CONTAINER_OF(found, entry_t, node);
        i = (size_t)(x - t->e);
        if (now_ms - x->start >= window_ms) { /* a new window */
            unlink_entry(t, i);
            append(t, i);
            x->start = now_ms;
            x->n = 0;
        }
    } else {
        if (t->n < t->max) {
            i = t->n++;
        } else {
            i = t->head;
            entry_t *old = &t->e[i];
            if (now_ms - old->start < window_ms)
                t->evictions++;
            fedge_map_remove(&t->map, &old->node);
            unlink_entry(t, i);
        }
        x = &t->e[i];
        memcpy(x->key, k, kl + 1);
        x->start = now_ms;
        x->n = 0;
        fedge_map_insert(&t->map, &x->node, h);
        append(t, i);
    }
    if (x->n >= limit)
        return false;
    x->n++;
    return true;
}

size_t policy_rate_count(const policy_rate_t *t)
{
    return t->n;
}

uint64_t policy_rate_evictions(const policy_rate_t *t)
{
    return t->evictions;
}
