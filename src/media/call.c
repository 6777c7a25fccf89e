/* call.c — the offer/answer state of calls with media, keyed by Call-ID:
 * which ng command (offer, answer, delete) each SIP message that crosses
 * the edge needs. Bounded (LRU) and reaped when idle; calls whose
 * connection closed (orphans) and calls long without signalling are
 * checked at the relay (media.h, "calls whose connection closed"). */
#include "media/media.h"
#include "sip/sip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct link {
    struct link *prev, *next;
} link_t;

/* A connection that carried a call's last message from one side. */
typedef struct {
    fedge_map_node_t node;
    int side;
    link_t calls; /* call_t.clink[side] */
    size_t len;
    char remote[];
} conn_t;

/* An orphan's state (media.h): its packet count is asked (BASE), then it
 * waits for its grace (WAIT), then is asked again (CHECK). */
enum { ORPH_NONE = 0, ORPH_BASE, ORPH_BASE_ASKED, ORPH_WAIT, ORPH_CHECK_ASKED };

#define HOST_MAX 64

typedef struct call {
    fedge_map_node_t node;
    link_t lru; /* newest at the head of the table's list */
    uint64_t last_ms;
    uint64_t started_ms;   /* when the table took the call in */
    int caller;            /* side of the request that created it */
    bool confirmed;        /* a 2xx to the first INVITE went through */
    bool late;             /* INVITE without SDP: its offer comes in a response */
    bool partner;          /* created by a crossing without a remote client (media_msg_t.client) */
    bool outside;          /* its internal party is a remote client (media_msg_t.outside) */
    struct call *parent;   /* a fork (media.h): the call it forks, else NULL */
    link_t forks;          /* a call: its forks (flink) */
    link_t flink;          /* a fork: in its call's forks */
    struct call *answered; /* a call: the fork whose client answered it, or NULL */
    char *ctag;            /* a fork: the client's tag (its responses' To tag), or NULL */
    size_t ctag_len;
    int offer_side;  /* side whose offer awaits an answer, or -1 */
    int offerer;     /* side of the last offer, answered or not, or -1 */
    int8_t ice[2];   /* per side: its last SDP had ICE (1), had not (0), none yet (-1) */
    conn_t *conn[2]; /* per side: the connection its last message came on */
    link_t clink[2];
    int8_t orph;      /* ORPH_* */
    int8_t orph_side; /* the side whose connection closed */
    char orph_host[HOST_MAX];
    uint64_t orph_ms;  /* entered its list (base: orphaned; wait: packet count known) */
    int64_t base;      /* packets when orphaned, -1 unknown */
    link_t olink;      /* in the table's base or wait list (not while asked) */
    bool idle_asked;   /* an idle check is in flight */
    uint64_t retry_ms; /* an idle check failed: not again before */
    size_t idlen;
    char id[];
} call_t;

struct media_calls {
    fedge_map_t map;
    link_t lru;
    fedge_map_t conns; /* conn_t by side and remote */
    link_t base, wait; /* orphans by ORPH_BASE, ORPH_WAIT; oldest first */
    uint64_t grace_ms, check_idle_ms;
    size_t idle_asked; /* idle checks in flight */
    media_calls_stats_t st;
    size_t max;
    uint64_t idle_ms;
    media_dropped_fn dropped;
    void *user;
    char *scratch; /* a fork's ng call-id, for media_calls_plan's steps */
    size_t scratch_cap;
};

static call_t *of(link_t *l)
{
    return FEDGE_CONTAINER_OF(l, call_t, lru);
}

static void unlink_lru(call_t *k)
{
    k->lru.prev->next = k->lru.next;
    k->lru.next->prev = k->lru.prev;
}

static void link_init(link_t *l)
{
    l->prev = l->next = l;
}

static void link_del(link_t *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    link_init(l);
}

static void link_tail(link_t *head, link_t *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

typedef struct {
    int side;
    fedge_str_t remote;
} conn_key_t;

static uint64_t conn_hash(int side, fedge_str_t remote)
{
    return fedge_hash(remote.s, remote.len) ^ (uint64_t)side;
}

static bool conn_eq(const fedge_map_node_t *n, const void *key)
{
    const conn_t *c = FEDGE_CONTAINER_OF(n, conn_t, node);
    const conn_key_t *k = key;
    return c->side == k->side && c->len == k->remote.len && !memcmp(c->remote, k->remote.s, c->len);
}

static conn_t *conn_find(const media_calls_t *t, int side, fedge_str_t remote)
{
    conn_key_t k = {side, remote};
    fedge_map_node_t *n = fedge_map_find(&t->conns, conn_hash(side, remote), conn_eq, &k);
    return n ? FEDGE_CONTAINER_OF(n, conn_t, node) : NULL;
}

static void conn_free(media_calls_t *t, conn_t *c)
{
    fedge_map_remove(&t->conns, &c->node);
    free(c);
}

/* Unties k from its connection on side (the connection goes with its
 * last call). */
static void untie(media_calls_t *t, call_t *k, int side)
{
    conn_t *c = k->conn[side];
    if (!c)
        return;
    link_del(&k->clink[side]);
    k->conn[side] = NULL;
    if (c->calls.next == &c->calls)
        conn_free(t, c);
}

static void tie(media_calls_t *t, call_t *k, int side, fedge_str_t remote)
{
    if (!remote.len || (k->conn[side] && k->conn[side]->len == remote.len &&
                        !memcmp(k->conn[side]->remote, remote.s, remote.len)))
        return;
    untie(t, k, side);
    conn_t *c = conn_find(t, side, remote);
    if (!c) {
        c = fedge_calloc(1, sizeof(*c) + remote.len + 1);
        c->side = side;
        link_init(&c->calls);
        c->len = remote.len;
        memcpy(c->remote, remote.s, remote.len);
        fedge_map_insert(&t->conns, &c->node, conn_hash(side, remote));
    }
    k->conn[side] = c;
    link_tail(&c->calls, &k->clink[side]);
}

/* The host of "ip:port" or "[v6]:port". */
static fedge_str_t host_of(fedge_str_t r)
{
    if (r.len && r.s[0] == '[') {
        const char *e = memchr(r.s, ']', r.len);
        return e ? (fedge_str_t){r.s + 1, (size_t)(e - r.s - 1)} : r;
    }
    for (size_t i = r.len; i > 0; i--)
        if (r.s[i - 1] == ':')
            return (fedge_str_t){r.s, i - 1};
    return r;
}

static void unorphan(media_calls_t *t, call_t *k)
{
    if (k->orph == ORPH_NONE)
        return;
    if (k->orph == ORPH_BASE || k->orph == ORPH_WAIT)
        link_del(&k->olink);
    k->orph = ORPH_NONE;
    t->st.orphans--;
}

static void push(media_calls_t *t, call_t *k)
{
    k->lru.next = t->lru.next;
    k->lru.prev = &t->lru;
    t->lru.next->prev = &k->lru;
    t->lru.next = &k->lru;
}

static bool eq(const fedge_map_node_t *n, const void *key)
{
    const call_t *k = FEDGE_CONTAINER_OF(n, call_t, node);
    const fedge_str_t *s = key;
    return k->idlen == s->len && !memcmp(k->id, s->s, s->len);
}

static call_t *find(const media_calls_t *t, fedge_str_t id)
{
    fedge_map_node_t *n = fedge_map_find(&t->map, fedge_hash(id.s, id.len), eq, &id);
    return n ? FEDGE_CONTAINER_OF(n, call_t, node) : NULL;
}

static call_t *of_fork(link_t *l)
{
    return FEDGE_CONTAINER_OF(l, call_t, flink);
}

static void drop(media_calls_t *t, call_t *k, bool notify)
{
    if (k->parent) {
        link_del(&k->flink);
        if (k->parent->answered == k)
            k->parent->answered = NULL;
    }
    /* a call's forks end with it: named to the dropped callback, which
     * sends their ng delete (the caller deletes the call itself) */
    while (k->forks.next != &k->forks)
        drop(t, of_fork(k->forks.next), true);
    if (k->orph != ORPH_NONE) {
        t->st.orphans_ended++; /* unless the caller counts it otherwise */
        unorphan(t, k);
    }
    if (k->idle_asked)
        t->idle_asked--;
    untie(t, k, 0);
    untie(t, k, 1);
    fedge_map_remove(&t->map, &k->node);
    unlink_lru(k);
    free(k->ctag);
    if (notify && t->dropped)
        t->dropped(t->user, (fedge_str_t){k->id, k->idlen});
    free(k);
}

media_calls_t *media_calls_new(size_t max, uint64_t idle_ms, media_dropped_fn dropped, void *user)
{
    media_calls_t *t = fedge_calloc(1, sizeof(*t));
    t->lru.next = t->lru.prev = &t->lru;
    link_init(&t->base);
    link_init(&t->wait);
    t->grace_ms = MEDIA_DEFAULT_ORPHAN_GRACE_MS;
    t->check_idle_ms = MEDIA_DEFAULT_CHECK_IDLE_MS;
    t->max = max ? max : 1;
    t->idle_ms = idle_ms;
    t->dropped = dropped;
    t->user = user;
    return t;
}

void media_calls_free(media_calls_t *t)
{
    if (!t)
        return;
    t->dropped = NULL; /* forks go with their calls, unnamed */
    while (t->lru.next != &t->lru)
        drop(t, of(t->lru.next), false);
    fedge_map_free(&t->map);
    fedge_map_free(&t->conns);
    free(t->scratch);
    free(t);
}

/* A new call; when the table is full, the call idle longest goes (never
 * keep: a fork's own call). */
static call_t *create(media_calls_t *t, fedge_str_t id, uint64_t now, const call_t *keep)
{
    if (fedge_map_count(&t->map) >= t->max && t->lru.prev != &t->lru) {
        call_t *v = of(t->lru.prev);
        if (v == keep)
            v = v->lru.prev != &t->lru ? of(v->lru.prev) : NULL;
        if (v)
            drop(t, v, true);
    }
    call_t *k = fedge_calloc(1, sizeof(*k) + id.len + 1);
    k->offer_side = -1;
    k->offerer = -1;
    k->ice[0] = k->ice[1] = -1;
    link_init(&k->clink[0]);
    link_init(&k->clink[1]);
    link_init(&k->olink);
    link_init(&k->forks);
    link_init(&k->flink);
    k->base = -1;
    k->last_ms = now;
    k->started_ms = now;
    k->idlen = id.len;
    memcpy(k->id, id.s, id.len);
    fedge_map_insert(&t->map, &k->node, fedge_hash(id.s, id.len));
    push(t, k);
    return k;
}

static bool sdp_method(int m)
{
    return m == SIP_METHOD_INVITE || m == SIP_METHOD_UPDATE || m == SIP_METHOD_PRACK;
}

static media_act_t on_request(media_calls_t *t, call_t **kp, const media_msg_t *m, uint64_t now)
{
    call_t *k = *kp;
    int from = (int)m->from_side, other = !from;
    switch (m->method) {
    case SIP_METHOD_INVITE:
    case SIP_METHOD_UPDATE:
    case SIP_METHOD_PRACK:
        if (!k) {
            /* A new call: an initial request, or an in-dialog offer of a
             * call the table lost (reaped, or fedge restarted). */
            if (!m->has_sdp && (m->to_tag || m->method != SIP_METHOD_INVITE))
                return MEDIA_ACT_NONE;
            k = *kp = create(t, m->call_id, now, NULL);
            k->caller = from;
            k->partner = !m->client;
            k->outside = m->outside;
        }
        if (!m->has_sdp) {
            if (m->method == SIP_METHOD_INVITE) {
                k->late = true;
                k->offer_side = -1;
            }
            return MEDIA_ACT_NONE;
        }
        if (m->method == SIP_METHOD_PRACK && k->offer_side == other) {
            k->offer_side = -1;
            return MEDIA_ACT_ANSWER;
        }
        k->late = false;
        k->offer_side = k->offerer = from;
        return MEDIA_ACT_OFFER;
    case SIP_METHOD_ACK:
        if (k && m->has_sdp && k->offer_side == other) {
            k->offer_side = -1;
            return MEDIA_ACT_ANSWER;
        }
        return MEDIA_ACT_NONE;
    case SIP_METHOD_BYE:
        if (!k)
            return MEDIA_ACT_NONE;
        drop(t, k, false);
        *kp = NULL;
        return MEDIA_ACT_DELETE;
    case SIP_METHOD_CANCEL:
        if (!k || k->confirmed)
            return MEDIA_ACT_NONE;
        drop(t, k, false);
        *kp = NULL;
        return MEDIA_ACT_DELETE;
    }
    return MEDIA_ACT_NONE;
}

static media_act_t on_response(media_calls_t *t, call_t **kp, const media_msg_t *m)
{
    call_t *k = *kp;
    int from = (int)m->from_side, other = !from;
    if (m->status >= 300) {
        if (m->method != SIP_METHOD_INVITE)
            return MEDIA_ACT_NONE;
        if (!k->confirmed) {
            drop(t, k, false);
            *kp = NULL;
            return MEDIA_ACT_DELETE;
        }
        k->offer_side = -1; /* a failed re-INVITE: the call goes on as before */
        return MEDIA_ACT_NONE;
    }
    if (m->status < 101 || !sdp_method(m->method))
        return MEDIA_ACT_NONE;
    media_act_t act = MEDIA_ACT_NONE;
    if (m->has_sdp) {
        if (k->offer_side == other) {
            act = MEDIA_ACT_ANSWER;
        } else if (m->method == SIP_METHOD_INVITE && k->late) {
            k->late = false; /* late offer: the callee offers */
            k->offer_side = k->offerer = from;
            act = MEDIA_ACT_OFFER;
        } else if (k->offerer >= 0) {
            /* The SDP of an exchange already done, repeated (a 200 after a
             * reliable 183, RFC 3262 §5): rewritten again the same way, so
             * that no internal address crosses unrewritten. */
            act = k->offerer == from ? MEDIA_ACT_OFFER : MEDIA_ACT_ANSWER;
        }
    }
    if (m->status >= 200 && k->offer_side == other)
        k->offer_side = -1;
    if (m->status >= 200 && m->method == SIP_METHOD_INVITE && !k->confirmed) {
        k->confirmed = true;
        /* a call forked to remote clients: the 2xx names the one that
         * answered by its tag (the device's answer names none) */
        for (link_t *l = k->forks.next; l != &k->forks && !k->answered; l = l->next) {
            call_t *f = of_fork(l);
            if (f->ctag && f->ctag_len == m->to_tag_s.len &&
                !memcmp(f->ctag, m->to_tag_s.s, f->ctag_len))
                k->answered = f;
        }
    }
    return act;
}

/* m through call k (NULL: none yet; a request may create it): its act,
 * the table updated; *kp is the call after (NULL when dropped or none). */
static media_act_t on_call(media_calls_t *t, call_t **kp, const media_msg_t *m, uint64_t now_ms)
{
    call_t *k = *kp;
    if (k) {
        k->last_ms = now_ms;
        unlink_lru(k);
        push(t, k);
        /* A message of an orphan from the side that lost its connection,
         * from the same peer host: the peer came back (a new connection
         * carries the dialog), the call is no orphan any more. */
        fedge_str_t h = host_of(m->remote);
        if (k->orph != ORPH_NONE && (int)m->from_side == k->orph_side && h.len &&
            h.len == strlen(k->orph_host) && !memcmp(h.s, k->orph_host, h.len)) {
            unorphan(t, k);
            t->st.rescued++;
        }
    }
    media_act_t act = m->request ? on_request(t, kp, m, now_ms)
                      : k        ? on_response(t, kp, m)
                                 : MEDIA_ACT_NONE;
    if (act != MEDIA_ACT_DELETE && m->remote.len && *kp)
        tie(t, *kp, (int)m->from_side, m->remote);
    return act;
}

int media_calls_fork_id(fedge_str_t call_id, fedge_str_t branch, char *buf, size_t cap)
{
    static const char sep[] = ";fork=";
    size_t n = call_id.len + sizeof(sep) - 1 + branch.len;
    if (n >= cap)
        return FEDGE_ENOSPC;
    memcpy(buf, call_id.s, call_id.len);
    memcpy(buf + call_id.len, sep, sizeof(sep) - 1);
    memcpy(buf + call_id.len + sizeof(sep) - 1, branch.s, branch.len);
    buf[n] = '\0';
    return (int)n;
}

static void scratch_room(media_calls_t *t, size_t need)
{
    if (need > t->scratch_cap) {
        free(t->scratch);
        t->scratch = fedge_malloc(need);
        t->scratch_cap = need;
    }
}

/* The fork id of k for branch, in the table's scratch. */
static fedge_str_t fork_id(media_calls_t *t, const call_t *k, fedge_str_t branch)
{
    size_t need = k->idlen + branch.len + 8;
    scratch_room(t, need);
    int n = media_calls_fork_id((fedge_str_t){k->id, k->idlen}, branch, t->scratch, need);
    return (fedge_str_t){t->scratch, n > 0 ? (size_t)n : 0};
}

static bool tag_is(const call_t *f, fedge_str_t tag)
{
    return f->ctag && tag.len && f->ctag_len == tag.len && !memcmp(f->ctag, tag.s, tag.len);
}

/* k's fork that m belongs to: by branch (the first INVITE, its responses
 * and CANCEL), else by the client's tag (in the dialog); NULL if none. */
static call_t *fork_of(media_calls_t *t, const call_t *k, const media_msg_t *m)
{
    if (m->branch.len) {
        call_t *f = find(t, fork_id(t, k, m->branch));
        if (f && f->parent == k)
            return f;
    }
    for (link_t *l = k->forks.next; l != &k->forks; l = l->next) {
        call_t *f = of_fork(l);
        if (tag_is(f, m->to_tag_s) || tag_is(f, m->from_tag_s))
            return f;
    }
    return NULL;
}

static void set_step(media_step_t *s, media_act_t act, fedge_str_t id, media_side_t from,
                     bool trusted)
{
    *s = (media_step_t){act, id, from, trusted};
}

/* A message of k's crossing to a remote client (media.h, "forks"). */
static size_t on_fork_crossing(media_calls_t *t, call_t *k, const media_msg_t *m, uint64_t now_ms,
                               media_step_t out[2])
{
    k->last_ms = now_ms; /* the call lives */
    unlink_lru(k);
    push(t, k);
    call_t *f = fork_of(t, k, m);
    if (!f) {
        if (!m->request || m->method != SIP_METHOD_INVITE || m->to_tag ||
            m->from_side != MEDIA_SIDE_INTERNAL || k->confirmed)
            return 0;
        /* the internal server's fork of the first INVITE to a client */
        f = create(t, fork_id(t, k, m->branch), now_ms, k);
        f->parent = k;
        link_tail(&k->forks, &f->flink);
        f->caller = MEDIA_SIDE_INTERNAL;
    }
    if (!m->request && m->from_side == MEDIA_SIDE_EXTERNAL && m->to_tag_s.len &&
        (!f->confirmed || !f->ctag)) {
        free(f->ctag);
        f->ctag = fedge_strndup(m->to_tag_s.s, m->to_tag_s.len);
        f->ctag_len = m->to_tag_s.len;
    }
    /* its id outlives it in the scratch: a CANCEL or failure drops it */
    scratch_room(t, f->idlen + 1);
    memcpy(t->scratch, f->id, f->idlen);
    fedge_str_t id = {t->scratch, f->idlen};
    media_act_t act = on_call(t, &f, m, now_ms);
    if (act == MEDIA_ACT_NONE)
        return 0;
    set_step(&out[0], act, id, m->from_side, false);
    return 1;
}

size_t media_calls_plan(media_calls_t *t, const media_msg_t *m, uint64_t now_ms,
                        media_step_t out[2])
{
    if (!m->call_id.len)
        return 0;
    call_t *k = find(t, m->call_id);
    if (k && k->parent)
        return 0; /* a fork's id is no Call-ID (';'): not reached */
    /* A partner's call on its crossing to a remote client: a fork. */
    if (k && k->partner && m->client)
        return on_fork_crossing(t, k, m, now_ms, out);
    media_act_t act = on_call(t, &k, m, now_ms);
    /* A call a remote client answered: the exchanges the client starts
     * (its requests from the internal side, the partner's responses to
     * them) pass the fork first for the client's SDP, the call first for
     * the partner's; its crossing did not show them to the relay. The
     * partner's own offers and the client's answers to them reach the
     * fork on its crossing. */
    call_t *f = k ? k->answered : NULL;
    bool mine = m->request ? m->from_side == MEDIA_SIDE_INTERNAL && sdp_method(m->method)
                           : m->from_side == MEDIA_SIDE_EXTERNAL && sdp_method(m->method);
    if (!f || m->client || !mine) {
        if (act == MEDIA_ACT_NONE)
            return 0;
        set_step(&out[0], act, m->call_id, m->from_side, false);
        return 1;
    }
    media_msg_t fm = *m; /* the fork's view: its sides are the other way round */
    fm.from_side = m->from_side == MEDIA_SIDE_INTERNAL ? MEDIA_SIDE_EXTERNAL : MEDIA_SIDE_INTERNAL;
    fm.remote = (fedge_str_t){"", 0}; /* not its connections */
    fedge_str_t fid = {f->id, f->idlen};
    media_act_t fact = on_call(t, &f, &fm, now_ms);
    size_t n = 0;
    bool sdp_act = act == MEDIA_ACT_OFFER || act == MEDIA_ACT_ANSWER;
    bool fsdp_act = f && (fact == MEDIA_ACT_OFFER || fact == MEDIA_ACT_ANSWER);
    if (m->request) {
        if (fsdp_act)
            set_step(&out[n++], fact, fid, fm.from_side, true);
        if (sdp_act)
            set_step(&out[n++], act, m->call_id, m->from_side, false);
    } else {
        if (sdp_act)
            set_step(&out[n++], act, m->call_id, m->from_side, false);
        if (fsdp_act)
            set_step(&out[n++], fact, fid, fm.from_side, true);
    }
    return n;
}

media_act_t media_calls_on_msg(media_calls_t *t, const media_msg_t *m, uint64_t now_ms)
{
    media_step_t s[2];
    return media_calls_plan(t, m, now_ms, s) ? s[0].act : MEDIA_ACT_NONE;
}

bool media_calls_outside(const media_calls_t *t, fedge_str_t call_id)
{
    const call_t *k = find(t, call_id);
    return k && k->outside;
}

bool media_calls_has(const media_calls_t *t, fedge_str_t call_id)
{
    const call_t *k = find(t, call_id);
    return k && !k->parent;
}

void media_calls_set_checks(media_calls_t *t, uint64_t orphan_grace_ms, uint64_t check_idle_ms)
{
    t->grace_ms = orphan_grace_ms ? orphan_grace_ms : MEDIA_DEFAULT_ORPHAN_GRACE_MS;
    t->check_idle_ms = check_idle_ms ? check_idle_ms : MEDIA_DEFAULT_CHECK_IDLE_MS;
}

size_t media_calls_conn_closed(media_calls_t *t, media_side_t side, fedge_str_t remote,
                               uint64_t now_ms)
{
    conn_t *c = conn_find(t, (int)side, remote);
    if (!c)
        return 0;
    size_t n = 0;
    fedge_str_t h = host_of(remote);
    while (c->calls.next != &c->calls) {
        call_t *k = FEDGE_CONTAINER_OF(c->calls.next, call_t, clink[side]);
        link_del(&k->clink[side]);
        k->conn[side] = NULL;
        if (k->orph != ORPH_NONE)
            continue;
        k->orph = ORPH_BASE;
        k->orph_side = (int8_t)side;
        snprintf(k->orph_host, sizeof(k->orph_host), "%.*s", (int)h.len, h.s);
        k->orph_ms = now_ms;
        k->base = -1;
        link_tail(&t->base, &k->olink);
        t->st.orphans++;
        t->st.orphaned++;
        n++;
    }
    conn_free(t, c);
    return n;
}

#define OLINK(l) FEDGE_CONTAINER_OF(l, call_t, olink)

size_t media_calls_due(media_calls_t *t, uint64_t now_ms, media_due_t *out, size_t max)
{
    size_t n = 0;
    /* orphans' packet counts: all due at once */
    while (n < max && t->base.next != &t->base) {
        call_t *k = OLINK(t->base.next);
        link_del(&k->olink);
        k->orph = ORPH_BASE_ASKED;
        out[n++] = (media_due_t){MEDIA_CHECK_BASELINE, {k->id, k->idlen}};
    }
    /* orphans whose grace has passed: the list is in the order they entered */
    while (n < max && t->wait.next != &t->wait) {
        call_t *k = OLINK(t->wait.next);
        if (now_ms - k->orph_ms < t->grace_ms)
            break;
        link_del(&k->olink);
        k->orph = ORPH_CHECK_ASKED;
        out[n++] = (media_due_t){MEDIA_CHECK_ORPHAN, {k->id, k->idlen}};
    }
    /* calls without signalling for check_idle_ms, from the one idle
     * longest; calls asked already (in flight) or that failed lately are
     * passed over, at most max more than those in flight, so that a
     * tick's work stays bounded */
    size_t skipped = 0;
    for (link_t *l = t->lru.prev; n < max && l != &t->lru && skipped < max + t->idle_asked;
         l = l->prev) {
        call_t *k = of(l);
        if (now_ms - k->last_ms < t->check_idle_ms)
            break;
        if (k->idle_asked || k->orph != ORPH_NONE || now_ms < k->retry_ms) {
            skipped++;
            continue;
        }
        k->idle_asked = true;
        t->idle_asked++;
        out[n++] = (media_due_t){MEDIA_CHECK_IDLE, {k->id, k->idlen}};
    }
    return n;
}

media_checked_t media_calls_checked(media_calls_t *t, fedge_str_t call_id, media_check_t kind,
                                    media_query_t q, int64_t packets, uint64_t now_ms)
{
    call_t *k = find(t, call_id);
    if (!k)
        return MEDIA_CHECKED_KEEP;
    if (kind == MEDIA_CHECK_IDLE) {
        if (!k->idle_asked)
            return MEDIA_CHECKED_KEEP;
        k->idle_asked = false;
        t->idle_asked--;
        if (q == MEDIA_QUERY_GONE) {
            t->st.reaped++;
            drop(t, k, false);
            return MEDIA_CHECKED_GONE;
        }
        if (q == MEDIA_QUERY_KNOWN) {
            k->last_ms = now_ms; /* the relay holds it: asked again after check_idle_ms */
            unlink_lru(k);
            push(t, k);
        } else {
            k->retry_ms = now_ms + t->check_idle_ms;
        }
        return MEDIA_CHECKED_KEEP;
    }
    int asked = kind == MEDIA_CHECK_BASELINE ? ORPH_BASE_ASKED : ORPH_CHECK_ASKED;
    if (k->orph != asked)
        return MEDIA_CHECKED_KEEP; /* rescued meanwhile */
    if (q == MEDIA_QUERY_GONE) {
        drop(t, k, false); /* counted as ended */
        return MEDIA_CHECKED_GONE;
    }
    if (kind == MEDIA_CHECK_ORPHAN && q == MEDIA_QUERY_KNOWN && k->base >= 0) {
        if (packets > k->base) {
            /* media flows: its parties still talk, whatever the signalling */
            t->st.orphans_kept++;
            unorphan(t, k);
            k->last_ms = now_ms;
            unlink_lru(k);
            push(t, k);
            return MEDIA_CHECKED_KEEP;
        }
        t->st.orphans_deleted++;
        unorphan(t, k); /* counted here, not as ended by drop */
        drop(t, k, false);
        return MEDIA_CHECKED_DELETE;
    }
    /* the packet count taken now (a baseline, or an orphan whose
     * baseline the relay did not give): the grace runs from here */
    if (q == MEDIA_QUERY_KNOWN)
        k->base = packets;
    k->orph = ORPH_WAIT;
    k->orph_ms = now_ms;
    link_tail(&t->wait, &k->olink);
    return MEDIA_CHECKED_KEEP;
}

bool media_calls_is_orphan(const media_calls_t *t, fedge_str_t call_id)
{
    const call_t *k = find(t, call_id);
    return k && k->orph != ORPH_NONE;
}

void media_calls_stats(const media_calls_t *t, media_calls_stats_t *out)
{
    *out = t->st;
}

bool media_calls_forget(media_calls_t *t, fedge_str_t call_id)
{
    call_t *k = find(t, call_id);
    if (!k)
        return false;
    drop(t, k, false);
    return true;
}

size_t media_calls_reap(media_calls_t *t, uint64_t now_ms)
{
    size_t n = 0;
    /* The list is ordered by last activity: the idle ones are at its tail. */
    while (t->lru.prev != &t->lru) {
        call_t *k = of(t->lru.prev);
        if (now_ms - k->last_ms < t->idle_ms)
            break;
        drop(t, k, true);
        n++;
    }
    return n;
}

const char *media_calls_ice(media_calls_t *t, fedge_str_t call_id, media_side_t from,
                            bool sdp_has_ice)
{
    int to = from == MEDIA_SIDE_INTERNAL ? MEDIA_SIDE_EXTERNAL : MEDIA_SIDE_INTERNAL;
    call_t *k = find(t, call_id);
    int known = -1;
    if (k) {
        k->ice[from] = sdp_has_ice;
        known = k->ice[to];
    }
    if (known < 0)
        known = sdp_has_ice; /* a first offer: as its sender */
    return known ? "force" : "remove";
}

size_t media_calls_count(const media_calls_t *t)
{
    return fedge_map_count(&t->map);
}

const char *media_call_state_name(media_call_state_t s)
{
    static const char *const names[] = {"setting up", "active", "updating", "orphan"};
    return (size_t)s < FEDGE_ARRAY_LEN(names) ? names[s] : "?";
}

static media_call_info_t info_of(const call_t *k)
{
    media_call_state_t st = k->orph != ORPH_NONE ? MEDIA_CALL_ORPHAN
                            : !k->confirmed      ? MEDIA_CALL_SETUP
                            : k->offer_side >= 0 ? MEDIA_CALL_UPDATING
                                                 : MEDIA_CALL_ACTIVE;
    return (media_call_info_t){.call_id = {k->id, k->idlen},
                               .state = st,
                               .caller = (media_side_t)k->caller,
                               .started_ms = k->started_ms,
                               .last_ms = k->last_ms};
}

size_t media_calls_list(const media_calls_t *t, media_call_info_t *out, size_t max)
{
    size_t n = 0;
    for (const link_t *l = t->lru.next; l != &t->lru && n < max; l = l->next, n++)
        out[n] = info_of(FEDGE_CONTAINER_OF(l, call_t, lru));
    return n;
}

void media_calls_each(const media_calls_t *t, media_call_fn fn, void *user)
{
    for (const link_t *l = t->lru.next; l != &t->lru; l = l->next) {
        media_call_info_t k = info_of(FEDGE_CONTAINER_OF(l, call_t, lru));
        fn(user, &k);
    }
}
