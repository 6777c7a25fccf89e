/* call.c — the offer/answer state of calls with media, keyed by Call-ID:
 * which ng command (offer, answer, delete) each SIP message that crosses
 * the edge needs. Bounded (LRU) and reaped when idle. */
#include "media/media.h"
#include "sip/sip.h"

#include <stdlib.h>
#include <string.h>

typedef struct link {
    struct link *prev, *next;
} link_t;

typedef struct {
    fedge_map_node_t node;
    link_t lru; /* newest at the head of the table's list */
    uint64_t last_ms;
    bool confirmed; /* a 2xx to the first INVITE went through */
    bool late;      /* INVITE without SDP: its offer comes in a response */
    int offer_side; /* side whose offer awaits an answer, or -1 */
    int offerer;    /* side of the last offer, answered or not, or -1 */
    int8_t ice[2];  /* per side: its last SDP had ICE (1), had not (0), none yet (-1) */
    size_t idlen;
    char id[];
} call_t;

struct media_calls {
    fedge_map_t map;
    link_t lru;
    size_t max;
    uint64_t idle_ms;
    media_dropped_fn dropped;
    void *user;
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

static void drop(media_calls_t *t, call_t *k, bool notify)
{
    fedge_map_remove(&t->map, &k->node);
    unlink_lru(k);
    if (notify && t->dropped)
        t->dropped(t->user, (fedge_str_t){k->id, k->idlen});
    free(k);
}

media_calls_t *media_calls_new(size_t max, uint64_t idle_ms, media_dropped_fn dropped, void *user)
{
    media_calls_t *t = fedge_calloc(1, sizeof(*t));
    t->lru.next = t->lru.prev = &t->lru;
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
    while (t->lru.next != &t->lru)
        drop(t, of(t->lru.next), false);
    fedge_map_free(&t->map);
    free(t);
}

static call_t *create(media_calls_t *t, fedge_str_t id, uint64_t now)
{
    if (fedge_map_count(&t->map) >= t->max)
        drop(t, of(t->lru.prev), true); /* the call idle longest */
    call_t *k = fedge_calloc(1, sizeof(*k) + id.len + 1);
    k->offer_side = -1;
    k->offerer = -1;
    k->ice[0] = k->ice[1] = -1;
    k->last_ms = now;
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

static media_act_t on_request(media_calls_t *t, call_t *k, const media_msg_t *m, uint64_t now)
{
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
            k = create(t, m->call_id, now);
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
        return MEDIA_ACT_DELETE;
    case SIP_METHOD_CANCEL:
        if (!k || k->confirmed)
            return MEDIA_ACT_NONE;
        drop(t, k, false);
        return MEDIA_ACT_DELETE;
    }
    return MEDIA_ACT_NONE;
}

static media_act_t on_response(media_calls_t *t, call_t *k, const media_msg_t *m)
{
    int from = (int)m->from_side, other = !from;
    if (m->status >= 300) {
        if (m->method != SIP_METHOD_INVITE)
            return MEDIA_ACT_NONE;
        if (!k->confirmed) {
            drop(t, k, false);
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
    if (m->status >= 200 && m->method == SIP_METHOD_INVITE)
        k->confirmed = true;
    return act;
}

media_act_t media_calls_on_msg(media_calls_t *t, const media_msg_t *m, uint64_t now_ms)
{
    if (!m->call_id.len)
        return MEDIA_ACT_NONE;
    call_t *k = find(t, m->call_id);
    if (k) {
        k->last_ms = now_ms;
        unlink_lru(k);
        push(t, k);
    }
    if (m->request)
        return on_request(t, k, m, now_ms);
    return k ? on_response(t, k, m) : MEDIA_ACT_NONE;
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
