/* throttle.c — discovered-partner throttling: per partner domain a token
 * bucket at the standard rate, the distinct local users reached within the
 * report period against the contacts limit (watch list), and a slow lane
 * of 1 request/s for partners whose requests mostly fail (enumeration).
 * Time is passed in; no clock, no I/O: pure and testable. */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { W_NONE = 0, W_PENDING, W_PERSISTED };

typedef struct {
    fedge_map_node_t node;           /* in by_domain while tracked */
    char domain[STORE_FQDN_MAX + 1]; /* lowercased */
    size_t dlen;
    uint64_t last_seen;
    int64_t tokens;       /* milli-requests */
    uint64_t refilled_at; /* ms */
    bool bucket_init;
    uint64_t window_start;
    bool window_init;
    /* Open-addressed set of keyed user hashes (fedge_hash_ci), 0 = empty:
     * two users count as one only if their 64-bit hashes meet, which a
     * partner cannot arrange without the process key. */
    uint64_t *users;
    size_t users_cap;
    uint32_t n_users;
    uint32_t ok, failed;
    bool slowed;
    int watch;
} partner_t;

struct policy_throttle {
    partner_t *e; /* max entries, n used; never moved (nodes point in) */
    size_t n, max;
    fedge_map_t by_domain; /* partner_t by domain, keyed hash */
};

policy_throttle_t *policy_throttle_new(size_t max_partners)
{
    if (max_partners < 1)
        max_partners = 1;
    policy_throttle_t *t = fedge_calloc(1, sizeof(*t));
    t->max = max_partners;
    t->e = fedge_calloc(max_partners, sizeof(partner_t));
    return t;
}

void policy_throttle_free(policy_throttle_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].users);
    free(t->e);
    fedge_map_free(&t->by_domain);
    free(t);
}

static bool partner_eq(const fedge_map_node_t *n, const void *key)
{
    const partner_t *p = FEDGE_CONTAINER_OF(n, partner_t, node);
    const fedge_str_t *d = key;
    return p->dlen == d->len && !strncasecmp(p->domain, d->s, d->len);
}

static partner_t *find(const policy_throttle_t *t, fedge_str_t d)
{
    fedge_map_node_t *n = fedge_map_find(&t->by_domain, fedge_hash_ci(d), partner_eq, &d);
    return n ? FEDGE_CONTAINER_OF(n, partner_t, node) : NULL;
}

static void reset_window(partner_t *p, uint64_t now)
{
    p->window_start = now;
    p->window_init = true;
    if (p->users)
        memset(p->users, 0, p->users_cap * sizeof(uint64_t));
    p->n_users = 0;
    p->ok = p->failed = 0;
    p->slowed = false;
}

static partner_t *get(policy_throttle_t *t, fedge_str_t d, uint64_t now)
{
    partner_t *p = find(t, d);
    if (p)
        return p;
    size_t ix;
    if (t->n < t->max) {
        ix = t->n++;
    } else {
        /* Full: forget the least recently seen partner not watch-listed
         * (a watch-listed partner must stay refused). */
        size_t victim = SIZE_MAX;
        for (size_t k = 0; k < t->n; k++)
            if (t->e[k].watch == W_NONE &&
                (victim == SIZE_MAX || t->e[k].last_seen < t->e[victim].last_seen))
                victim = k;
        if (victim == SIZE_MAX)
            return NULL;
        partner_t *v = &t->e[victim];
        fedge_map_remove(&t->by_domain, &v->node);
        free(v->users);
        ix = victim;
    }
    p = &t->e[ix];
    memset(p, 0, sizeof(*p));
    p->dlen = d.len;
    for (size_t k = 0; k < d.len; k++) {
        char c = d.s[k];
        p->domain[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    p->domain[d.len] = 0;
    p->last_seen = now;
    fedge_map_insert(&t->by_domain, &p->node, fedge_hash_ci(d));
    return p;
}

/* Adds a user hash; returns the number of distinct users after. */
static uint32_t add_user(partner_t *p, uint64_t h)
{
    if (h == 0)
        h = 1;
    if (p->users_cap == 0 || (size_t)(p->n_users + 1) * 2 > p->users_cap) {
        size_t cap = p->users_cap ? p->users_cap * 2 : 16;
        uint64_t *n = fedge_calloc(cap, sizeof(uint64_t));
        for (size_t k = 0; k < p->users_cap; k++) {
            if (!p->users[k])
                continue;
            size_t j = (size_t)p->users[k] & (cap - 1);
            while (n[j])
                j = (j + 1) & (cap - 1);
            n[j] = p->users[k];
        }
        free(p->users);
        p->users = n;
        p->users_cap = cap;
    }
    size_t j = (size_t)h & (p->users_cap - 1);
    while (p->users[j]) {
        if (p->users[j] == h)
            return p->n_users;
        j = (j + 1) & (p->users_cap - 1);
    }
    p->users[j] = h;
    return ++p->n_users;
}

static void refuse(policy_verdict_t *v, int diag)
{
    const policy_diag_t *d = policy_diag(diag);
    v->outcome = POLICY_REJECT;
    v->diag = diag;
    v->status = d->status;
    v->reason = d->reason;
}

bool policy_throttle_admit(policy_throttle_t *t, const store_snapshot_t *snap, fedge_str_t domain,
                           fedge_str_t user, uint64_t now_ms, policy_verdict_t *v,
                           bool *newly_watched)
{
    if (newly_watched)
        *newly_watched = false;
    if (store_snapshot_watched(snap, domain)) {
        refuse(v, POLICY_DIAG_WATCHLIST);
        return false;
    }
    if (domain.len == 0 || domain.len > STORE_FQDN_MAX) {
        refuse(v, POLICY_DIAG_BAD_ADDRESS);
        return false;
    }
    partner_t *p = get(t, domain, now_ms);
    if (!p) { /* every tracked partner is watch-listed: fail closed */
        refuse(v, POLICY_DIAG_RATE_LIMITED);
        return false;
    }
    p->last_seen = now_ms;
    if (p->watch != W_NONE) {
        refuse(v, POLICY_DIAG_WATCHLIST);
        return false;
    }
    uint64_t period = (uint64_t)snap->edge.report_period_min * 60000u;
    if (!p->window_init || now_ms - p->window_start >= period)
        reset_window(p, now_ms);

    if (snap->edge.contacts_limit) {
        uint32_t n = add_user(p, fedge_hash_ci(user));
        if (n > snap->edge.discovered_contacts) {
            p->watch = W_PENDING;
            if (newly_watched)
                *newly_watched = true;
            refuse(v, POLICY_DIAG_WATCHLIST);
            return false;
        }
    }

    /* Token bucket in milli-requests, one second of burst. */
    int64_t rate = p->slowed ? POLICY_SLOW_RATE : (int64_t)snap->edge.discovered_rate;
    int64_t cap = rate * 1000;
    if (!p->bucket_init) {
        p->tokens = cap;
        p->refilled_at = now_ms;
        p->bucket_init = true;
    } else if (now_ms > p->refilled_at) {
        uint64_t dt = now_ms - p->refilled_at;
        p->tokens = dt >= 1000 ? cap : p->tokens + (int64_t)dt * rate;
        p->refilled_at = now_ms;
    }
    if (p->tokens > cap)
        p->tokens = cap;
    if (p->tokens < 1000) {
        refuse(v, POLICY_DIAG_RATE_LIMITED);
        return false;
    }
    p->tokens -= 1000;
    return true;
}

void policy_throttle_result(policy_throttle_t *t, fedge_str_t domain, int status, uint64_t now_ms)
{
    partner_t *p = find(t, domain);
    if (!p || status < 200)
        return;
    if (status >= 400 && status != 401 && status != 407)
        p->failed++;
    else
        p->ok++;
    uint32_t total = p->ok + p->failed;
    if (!p->slowed && total >= POLICY_FAIL_MIN_SAMPLES && p->failed * 2 > total) {
        p->slowed = true;
        if (p->tokens > POLICY_SLOW_RATE * 1000)
            p->tokens = POLICY_SLOW_RATE * 1000;
    }
    (void)now_ms;
}

void policy_throttle_sync(policy_throttle_t *t, const store_snapshot_t *snap)
{
    for (size_t i = 0; i < t->n; i++) {
        partner_t *p = &t->e[i];
        bool listed = store_snapshot_watched(snap, (fedge_str_t){p->domain, p->dlen}) != NULL;
        if (p->watch == W_PENDING && listed)
            p->watch = W_PERSISTED;
        else if (p->watch == W_PERSISTED && !listed) {
            p->watch = W_NONE;
            p->window_init = false; /* a fresh count from the next request */
        }
    }
}

int policy_throttle_clear(policy_throttle_t *t, fedge_str_t domain)
{
    partner_t *p = find(t, domain);
    if (!p || p->watch == W_NONE)
        return FEDGE_ENOENT;
    p->watch = W_NONE;
    p->window_init = false;
    return 0;
}

void policy_throttle_each(const policy_throttle_t *t,
                          void (*cb)(const policy_partner_t *p, void *ctx), void *ctx)
{
    for (size_t i = 0; i < t->n; i++) {
        const partner_t *p = &t->e[i];
        policy_partner_t out = {p->domain, p->n_users, p->watch != W_NONE,
                                p->slowed, p->ok,      p->failed};
        cb(&out, ctx);
    }
}
