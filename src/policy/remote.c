/* remote.c — remote users: who may sign in through the [remote] listener
 * (the edge switch, local SIP domains, the user's external access policy)
 * and the lock-out of password guessing (registrar failures per user and
 * per address within a window). Time is passed in; no clock, no I/O. */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the decision ---- */

static void reject(policy_verdict_t *v, int diag)
{
    const policy_diag_t *d = policy_diag(diag);
    v->outcome = POLICY_REJECT;
    v->diag = diag;
    v->status = d ? d->status : 403;
    v->reason = d ? d->reason : "";
}

/* Same grammar as the federation decision's domains: 3..253 bytes of
 * [A-Za-z0-9.-] with at least one dot, not starting or ending with one. */
static bool domain_ok(fedge_str_t d)
{
    if (!d.s || d.len < 3 || d.len > STORE_FQDN_MAX || d.s[0] == '.' || d.s[d.len - 1] == '.' ||
        !memchr(d.s, '.', d.len))
        return false;
    for (size_t i = 0; i < d.len; i++) {
        char c = d.s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool is_local(const policy_remote_input_t *in, fedge_str_t d)
{
    for (size_t i = 0; i < in->n_local_domains; i++) {
        size_t n = strlen(in->local_domains[i]);
        if (d.len == n && !strncasecmp(d.s, in->local_domains[i], n))
            return true;
    }
    return false;
}

void policy_remote_decide(const store_snapshot_t *snap, const policy_remote_input_t *in,
                          policy_verdict_t *v)
{
    memset(v, 0, sizeof(*v));
    /* A user needs a name: an anonymous From cannot have a policy. */
    if (!domain_ok(in->from_domain) || !in->from_user.len ||
        (in->is_register && (!domain_ok(in->to_domain) || !in->to_user.len)))
        return reject(v, POLICY_DIAG_BAD_ADDRESS);
    if (!snap->edge.outside_users)
        return reject(v, POLICY_DIAG_REMOTE_OFF);
    if (!is_local(in, in->from_domain) || (in->is_register && !is_local(in, in->to_domain)))
        return reject(v, POLICY_DIAG_REMOTE_NOT_LOCAL);
    const store_policy_t *p = policy_for_user(snap, in->from_user, in->from_domain, in->site);
    if (!p || !p->outside)
        return reject(v, POLICY_DIAG_REMOTE_USER_OFF);
    v->outcome = POLICY_ALLOW;
}

/* ---- the lock-out ---- */

/* Longest key: user@domain (STORE_USER_MAX) or an IPv6 literal. */
#define KEY_MAX STORE_USER_MAX

typedef struct entry {
    fedge_map_node_t node; /* in by_key while used */
    bool used;
    policy_lock_kind_t kind;
    char key[KEY_MAX + 1]; /* lowercased */
    size_t klen;
    uint32_t failures;
    uint64_t window_start;
    uint64_t until; /* 0: not locked out */
    uint64_t last_seen;
    bool persisted; /* this lock-out is in the store */
    bool seen;      /* policy_lockout_sync: listed by the store */
    /* Every used entry, least recently seen first: the slot to reuse when
     * the table is full is found from the front in O(1) (skipping those
     * locked out), not by scanning the table under a flood of addresses. */
    struct entry *prev, *next;
} entry_t;

struct policy_lockout {
    policy_lockout_cfg_t cfg;
    entry_t *e; /* max_entries slots; never moved (nodes point in) */
    size_t n;   /* slots handed out so far */
    fedge_map_t by_key;
    entry_t *lru_head, *lru_tail;
};

typedef struct {
    policy_lock_kind_t kind;
    fedge_str_t key;
} lookup_t;

static bool entry_eq(const fedge_map_node_t *n, const void *k)
{
    const entry_t *e = FEDGE_CONTAINER_OF(n, entry_t, node);
    const lookup_t *l = k;
    return e->kind == l->kind && e->klen == l->key.len && !strncasecmp(e->key, l->key.s, e->klen);
}

/* The kind is mixed in so that a user and an address never share a hash
 * chain by construction. */
static uint64_t key_hash(policy_lock_kind_t kind, fedge_str_t key)
{
    return fedge_hash_ci(key) ^ (kind == POLICY_LOCK_ADDRESS ? 0x9e3779b97f4a7c15ull : 0);
}

policy_lockout_t *policy_lockout_new(const policy_lockout_cfg_t *cfg)
{
    policy_lockout_t *t = fedge_calloc(1, sizeof(*t));
    t->cfg = *cfg;
    if (t->cfg.max_entries < 2)
        t->cfg.max_entries = 2;
    if (!t->cfg.user_failures)
        t->cfg.user_failures = 1;
    if (!t->cfg.addr_failures)
        t->cfg.addr_failures = 1;
    t->e = fedge_calloc(t->cfg.max_entries, sizeof(entry_t));
    return t;
}

void policy_lockout_free(policy_lockout_t *t)
{
    if (!t)
        return;
    fedge_map_free(&t->by_key);
    free(t->e);
    free(t);
}

static entry_t *find(const policy_lockout_t *t, policy_lock_kind_t kind, fedge_str_t key)
{
    lookup_t l = {kind, key};
    fedge_map_node_t *n = fedge_map_find(&t->by_key, key_hash(kind, key), entry_eq, &l);
    return n ? FEDGE_CONTAINER_OF(n, entry_t, node) : NULL;
}

static bool locked(const entry_t *e, uint64_t now)
{
    return e && e->until && now < e->until;
}

static void lru_unlink(policy_lockout_t *t, entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        t->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        t->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_append(policy_lockout_t *t, entry_t *e)
{
    e->prev = t->lru_tail;
    e->next = NULL;
    if (t->lru_tail)
        t->lru_tail->next = e;
    else
        t->lru_head = e;
    t->lru_tail = e;
}

/* e was seen now: to the back of the list. */
static void touch(policy_lockout_t *t, entry_t *e, uint64_t now)
{
    e->last_seen = now;
    if (t->lru_tail != e) {
        lru_unlink(t, e);
        lru_append(t, e);
    }
}

/* The least recently seen entry that is not locked out, or NULL. Locked
 * ones met on the way go to the back, so that the next search does not
 * walk over them again. */
static entry_t *victim(policy_lockout_t *t, uint64_t now)
{
    for (size_t i = 0; i < t->n && t->lru_head; i++) {
        entry_t *e = t->lru_head;
        if (!locked(e, now))
            return e;
        lru_unlink(t, e);
        lru_append(t, e);
    }
    return NULL;
}

/* The entry for key, created when absent; NULL when the key is unusable or
 * every slot is locked out. */
static entry_t *get(policy_lockout_t *t, policy_lock_kind_t kind, fedge_str_t key, uint64_t now)
{
    if (!key.len || key.len > KEY_MAX)
        return NULL;
    entry_t *e = find(t, kind, key);
    if (e)
        return e;
    if (t->n < t->cfg.max_entries) {
        e = &t->e[t->n++];
    } else {
        if (!(e = victim(t, now)))
            return NULL;
        fedge_map_remove(&t->by_key, &e->node);
        lru_unlink(t, e);
    }
    memset(e, 0, sizeof(*e));
    e->used = true;
    e->kind = kind;
    e->klen = key.len;
    for (size_t i = 0; i < key.len; i++) {
        char c = key.s[i];
        e->key[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    e->window_start = now;
    e->last_seen = now;
    fedge_map_insert(&t->by_key, &e->node, key_hash(kind, key));
    lru_append(t, e);
    return e;
}

bool policy_lockout_check(const policy_lockout_t *t, fedge_str_t user, fedge_str_t addr,
                          uint64_t now_ms, policy_verdict_t *v, uint64_t *until_ms)
{
    const entry_t *u = user.len ? find(t, POLICY_LOCK_USER, user) : NULL;
    const entry_t *a = addr.len ? find(t, POLICY_LOCK_ADDRESS, addr) : NULL;
    const entry_t *hit = locked(u, now_ms) ? u : locked(a, now_ms) ? a : NULL;
    if (!hit)
        return true;
    reject(v, hit == u ? POLICY_DIAG_REMOTE_LOCKED_USER : POLICY_DIAG_REMOTE_LOCKED_ADDR);
    if (until_ms)
        *until_ms = hit->until;
    return false;
}

/* Counts one failure on e; true when it started a lock-out. */
static bool count(policy_lockout_t *t, entry_t *e, uint32_t threshold, uint64_t now)
{
    if (!e)
        return false;
    touch(t, e, now);
    if (locked(e, now))
        return false; /* refused before the registrar while locked; nothing to add */
    if (e->until || now - e->window_start >= t->cfg.window_ms) {
        /* The window (or an ended lock-out) is over: count afresh. */
        e->until = 0;
        e->failures = 0;
        e->window_start = now;
    }
    if (++e->failures < threshold)
        return false;
    e->persisted = false;
    e->until = now + t->cfg.period_ms;
    if (e->until == 0)
        e->until = 1;
    return true;
}

void policy_lockout_result(policy_lockout_t *t, fedge_str_t user, fedge_str_t addr, int status,
                           bool counted, uint64_t now_ms, policy_lockout_event_t *ev)
{
    if (ev)
        memset(ev, 0, sizeof(*ev));
    if (status >= 200 && status < 300) {
        entry_t *u = user.len ? find(t, POLICY_LOCK_USER, user) : NULL;
        if (u && !locked(u, now_ms)) {
            u->failures = 0;
            u->until = 0;
            u->window_start = now_ms;
        }
        return;
    }
    /* A 403 is a refusal whatever the request carried. */
    bool failure = status == 403 || ((status == 401 || status == 407) && counted);
    if (!failure)
        return;
    /* The user's slot may be reused for the address when every other slot
     * is locked out: read what it says before asking for the address's. */
    entry_t *u = get(t, POLICY_LOCK_USER, user, now_ms);
    bool ul = count(t, u, t->cfg.user_failures, now_ms);
    uint64_t u_until = ul ? u->until : 0;
    entry_t *a = get(t, POLICY_LOCK_ADDRESS, addr, now_ms);
    bool al = count(t, a, t->cfg.addr_failures, now_ms);
    if (ev) {
        ev->user_locked = ul;
        ev->addr_locked = al;
        ev->until_ms = ul ? u_until : al ? a->until : 0;
    }
}

int policy_lockout_clear(policy_lockout_t *t, policy_lock_kind_t kind, fedge_str_t key)
{
    entry_t *e = find(t, kind, key);
    if (!e)
        return FEDGE_ENOENT;
    e->failures = 0;
    e->until = 0;
    e->persisted = false;
    e->window_start = e->last_seen;
    return 0;
}

int policy_lockout_persisted(policy_lockout_t *t, policy_lock_kind_t kind, fedge_str_t key)
{
    entry_t *e = find(t, kind, key);
    if (!e || !e->until)
        return FEDGE_ENOENT;
    e->persisted = true;
    return 0;
}

void policy_lockout_sync(policy_lockout_t *t, const policy_lockout_entry_t *in_force, size_t n,
                         uint64_t now_ms)
{
    /* Mark what the store lists (by hash, so that a long list against a
     * full table stays linear), then end what was persisted and is gone. */
    for (size_t i = 0; i < n; i++) {
        if (!in_force[i].key)
            continue;
        entry_t *e =
            find(t, in_force[i].kind, (fedge_str_t){in_force[i].key, strlen(in_force[i].key)});
        if (e)
            e->seen = true;
    }
    for (size_t i = 0; i < t->n; i++) {
        entry_t *e = &t->e[i];
        if (e->used && e->until && e->persisted && !e->seen) {
            /* Ended by an administrator: persisted here, gone from the store. */
            e->until = 0;
            e->failures = 0;
            e->persisted = false;
            e->window_start = now_ms;
        }
        e->seen = false;
    }
    /* In the store, not here: apply it until its end. */
    for (size_t i = 0; i < n; i++) {
        const policy_lockout_entry_t *l = &in_force[i];
        if (!l->key || l->until_ms <= now_ms)
            continue;
        fedge_str_t k = {l->key, strlen(l->key)};
        entry_t *e = get(t, l->kind, k, now_ms);
        if (!e)
            continue;
        touch(t, e, now_ms);
        if (!locked(e, now_ms) || e->persisted) {
            e->until = l->until_ms;
            e->persisted = true;
        }
    }
}

void policy_lockout_each(const policy_lockout_t *t,
                         void (*cb)(const policy_lockout_entry_t *e, void *ctx), void *ctx)
{
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->e[i];
        if (!e->used)
            continue;
        policy_lockout_entry_t out = {e->kind, e->key, e->failures, e->until};
        cb(&out, ctx);
    }
}
