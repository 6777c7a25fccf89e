/* ng.c — a client of rtpengine's ng control protocol: "COOKIE bencoded-dict"
 * datagrams over UDP, one socket per relay, replies matched by cookie,
 * a retransmission at half the timeout (rtpengine answers a repeated cookie
 * from its cache, so a retransmitted offer is not done twice), failover to
 * the next relay, and calls sticking to the relay that took their offer. */
#include "media/media.h"
#include "obs/obs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Requests in flight per relay; more wait in order. A burst of replies
 * (the stats of 1000 deletes) would otherwise overflow the socket's
 * receive buffer and be lost. */
#define MAX_INFLIGHT 64
/* Receive buffer asked for each socket (the kernel may cap it). */
#define RCVBUF (1024 * 1024)

/* Largest UDP payload over IPv4; a command or reply never exceeds it. */
#define NG_MAX_DATAGRAM 65507
#define COOKIE_LEN 16

typedef struct {
    media_client_t *c;
    uv_udp_t udp;
    size_t inflight;                /* requests sent and not done */
    media_pending_t *qhead, *qtail; /* waiting for a slot, in order */
    char name[64];
    uint64_t down_until; /* uv_now() before which the relay is tried last */
    bool up;             /* answered its last request */
    /* the last request that ended here (media_relay_health) */
    bool heard;
    uint64_t last_ms;
    int64_t last_rtt_us;
    media_cmd_t last_cmd;
    char last_result[96];
} relay_t;

/* A call remembered for stickiness, in an LRU list (newest at head). */
typedef struct lru_link {
    struct lru_link *prev, *next;
} lru_link_t;

typedef struct call {
    fedge_map_node_t node;
    lru_link_t link;
    size_t relay;
    size_t idlen;
    char id[];
} call_t;

struct media_client {
    uv_loop_t *loop;
    relay_t relays[MEDIA_MAX_RELAYS];
    size_t nrelays;
    uint32_t timeout_ms, down_ms;
    size_t max_calls;
    fedge_map_t pending; /* media_pending_t by cookie */
    fedge_map_t calls;   /* call_t by Call-ID */
    lru_link_t lru;      /* sentinel of the LRU list of call_t */
    size_t open_handles;
    bool closed;
    char rbuf[NG_MAX_DATAGRAM + 1];
    media_ben_t nodes[MEDIA_MAX_REPLY_NODES];
};

struct media_pending {
    fedge_map_node_t node;
    media_client_t *c;
    uv_timer_t timer;
    media_done_cb cb;
    void *arg;
    media_cmd_t cmd;
    char cookie[COOKIE_LEN + 1];
    char *call_id; /* NUL-terminated copy, may be "" */
    size_t call_id_len;
    char *pkt;
    size_t pkt_len;
    uint8_t order[MEDIA_MAX_RELAYS];
    size_t norder, at;
    uint32_t tried; /* bit per relay index */
    bool retransmitted, failed_now;
    bool queued;      /* in its relay's queue, not sent */
    int slot;         /* relay whose in-flight slot it holds, or -1 */
    uint64_t sent_ns; /* uv_hrtime() of the first send to the current relay */
    media_pending_t *qprev, *qnext;
    char why[MEDIA_MAX_RELAYS * 96]; /* what each relay tried did */
};

static const char *const cmd_names[] = {"ping", "offer", "answer", "delete", "query"};

const char *media_cmd_name(media_cmd_t cmd)
{
    return (size_t)cmd < FEDGE_ARRAY_LEN(cmd_names) ? cmd_names[cmd] : "?";
}

/* ---- stickiness ---- */

static bool call_eq(const fedge_map_node_t *n, const void *key)
{
    const call_t *k = FEDGE_CONTAINER_OF(n, call_t, node);
    const fedge_str_t *s = key;
    return k->idlen == s->len && !memcmp(k->id, s->s, s->len);
}

static call_t *call_find(media_client_t *c, fedge_str_t id)
{
    fedge_map_node_t *n = fedge_map_find(&c->calls, fedge_hash(id.s, id.len), call_eq, &id);
    return n ? FEDGE_CONTAINER_OF(n, call_t, node) : NULL;
}

static void lru_unlink(call_t *k)
{
    k->link.prev->next = k->link.next;
    k->link.next->prev = k->link.prev;
}

static void lru_push(media_client_t *c, call_t *k)
{
    k->link.next = c->lru.next;
    k->link.prev = &c->lru;
    c->lru.next->prev = &k->link;
    c->lru.next = &k->link;
}

static void call_drop(media_client_t *c, call_t *k)
{
    fedge_map_remove(&c->calls, &k->node);
    lru_unlink(k);
    free(k);
}

static void call_forget(media_client_t *c, fedge_str_t id)
{
    call_t *k = id.len ? call_find(c, id) : NULL;
    if (k)
        call_drop(c, k);
}

static void call_remember(media_client_t *c, fedge_str_t id, size_t relay)
{
    if (id.len == 0)
        return;
    call_t *k = call_find(c, id);
    if (k) {
        k->relay = relay;
        lru_unlink(k);
        lru_push(c, k);
        return;
    }
    /* Bounded: the oldest call is forgotten (its later commands are then
     * routed by hash, which is the same relay unless one failed). */
    if (fedge_map_count(&c->calls) >= c->max_calls && c->lru.prev != &c->lru)
        call_drop(c, FEDGE_CONTAINER_OF(c->lru.prev, call_t, link));
    k = fedge_malloc(sizeof(*k) + id.len + 1);
    k->relay = relay;
    k->idlen = id.len;
    memcpy(k->id, id.s, id.len);
    k->id[id.len] = '\0';
    fedge_map_insert(&c->calls, &k->node, fedge_hash(id.s, id.len));
    lru_push(c, k);
}

/* ---- requests ---- */

static bool pending_eq(const fedge_map_node_t *n, const void *key)
{
    return !memcmp(FEDGE_CONTAINER_OF(n, media_pending_t, node)->cookie, key, COOKIE_LEN);
}

static void timer_closed(uv_handle_t *h)
{
    media_pending_t *p = h->data;
    free(p->call_id);
    free(p->pkt);
    free(p);
}

static void attempt(media_pending_t *p);

static void unqueue(media_pending_t *p)
{
    relay_t *r = &p->c->relays[p->order[p->at]];
    if (p->qprev)
        p->qprev->qnext = p->qnext;
    else
        r->qhead = p->qnext;
    if (p->qnext)
        p->qnext->qprev = p->qprev;
    else
        r->qtail = p->qprev;
    p->qprev = p->qnext = NULL;
    p->queued = false;
}

/* Gives back p's in-flight slot (or its place in the queue), and sends
 * what waited for a slot. */
static void release_slot(media_pending_t *p)
{
    media_client_t *c = p->c;
    if (p->queued) {
        unqueue(p);
        return;
    }
    if (p->slot < 0)
        return;
    relay_t *r = &c->relays[p->slot];
    p->slot = -1;
    r->inflight--;
    while (!c->closed && r->qhead && r->inflight < MAX_INFLIGHT) {
        media_pending_t *q = r->qhead;
        unqueue(q);
        attempt(q);
    }
}

/* Takes p out of the client and releases it (after its timer closes). */
static void pending_release(media_pending_t *p)
{
    release_slot(p);
    fedge_map_remove(&p->c->pending, &p->node);
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, timer_closed);
}

static void finish(media_pending_t *p, int status, const media_reply_t *reply,
                   const fedge_err_t *err)
{
    pending_release(p);
    p->cb(p->arg, status, reply, err);
}

static void relay_set_up(relay_t *r, bool up, const char *why)
{
    if (r->up != up) {
        if (up)
            obs_logkv(OBS_LOG_NOTICE, "media", "relay answers again", "relay", r->name, NULL);
        else
            obs_logkv(OBS_LOG_WARNING, "media", "relay does not answer", "relay", r->name, "reason",
                      why, NULL);
    }
    r->up = up;
    if (up)
        r->down_until = 0;
    else
        r->down_until = uv_now(r->c->loop) + r->c->down_ms;
}

/* Records how the request p ended at relay r, for media_relay_health. */
static void relay_heard(relay_t *r, const media_pending_t *p, int64_t rtt_us, const char *result)
{
    r->heard = true;
    r->last_ms = uv_now(r->c->loop);
    r->last_rtt_us = rtt_us;
    r->last_cmd = p->cmd;
    snprintf(r->last_result, sizeof(r->last_result), "%s", result);
}

static void timer_cb(uv_timer_t *t);

/* Sends the datagram to the relay of the current attempt and arms the
 * retransmission timer. A failed send only counts as a lost datagram: the
 * timer decides. */
static void attempt(media_pending_t *p)
{
    media_client_t *c = p->c;
    relay_t *r = &c->relays[p->order[p->at]];
    if (r->inflight >= MAX_INFLIGHT) {
        p->queued = true;
        p->qprev = r->qtail;
        p->qnext = NULL;
        if (r->qtail)
            r->qtail->qnext = p;
        else
            r->qhead = p;
        r->qtail = p;
        return;
    }
    r->inflight++;
    p->slot = p->order[p->at];
    p->tried |= 1u << p->order[p->at];
    p->retransmitted = false;
    p->failed_now = false;
    p->sent_ns = uv_hrtime();
    uv_buf_t b = uv_buf_init(p->pkt, (unsigned)p->pkt_len);
    int rc = uv_udp_try_send(&r->udp, &b, 1, NULL);
    if (rc == UV_ECONNREFUSED) {
        p->failed_now = true; /* the relay's port is closed (ICMP) */
        uv_timer_start(&p->timer, timer_cb, 0, 0);
        return;
    }
    uint64_t half = c->timeout_ms / 2;
    uv_timer_start(&p->timer, timer_cb, half ? half : 1, 0);
}

static void next_attempt(media_pending_t *p, bool refused)
{
    media_client_t *c = p->c;
    relay_t *r = &c->relays[p->order[p->at]];
    relay_set_up(r, false, refused ? "connection refused" : "timeout");
    relay_heard(r, p, -1, refused ? "refused" : "no answer");
    release_slot(p);
    size_t o = strlen(p->why);
    if (o < sizeof(p->why))
        snprintf(p->why + o, sizeof(p->why) - o, "%srtpengine %s %s", o ? "; " : "", r->name,
                 refused ? "refused it (nothing listens on the port)" : "did not answer");
    if (++p->at < p->norder) {
        attempt(p);
        return;
    }
    fedge_err_t e;
    fedge_err(&e, FEDGE_ETIMEDOUT, "ng %s not answered within %ums: %s", media_cmd_name(p->cmd),
              (unsigned)c->timeout_ms, p->why);
    finish(p, FEDGE_ETIMEDOUT, NULL, &e);
}

static void timer_cb(uv_timer_t *t)
{
    media_pending_t *p = t->data;
    if (p->failed_now) {
        next_attempt(p, true);
        return;
    }
    if (p->retransmitted) {
        next_attempt(p, false);
        return;
    }
    media_client_t *c = p->c;
    relay_t *r = &c->relays[p->order[p->at]];
    uv_buf_t b = uv_buf_init(p->pkt, (unsigned)p->pkt_len);
    (void)uv_udp_try_send(&r->udp, &b, 1, NULL); /* a loss is the timer's business */
    p->retransmitted = true;
    uint64_t rest = c->timeout_ms - c->timeout_ms / 2;
    uv_timer_start(&p->timer, timer_cb, rest ? rest : 1, 0);
}

static void put_list(media_benc_t *b, const char *key, const char *const *items, size_t n)
{
    if (!n)
        return;
    media_benc_cstr(b, key);
    media_benc_list(b);
    for (size_t i = 0; i < n; i++)
        media_benc_cstr(b, items[i]);
    media_benc_end(b);
}

static void put_str(media_benc_t *b, const char *key, fedge_str_t v)
{
    if (!v.len)
        return;
    media_benc_cstr(b, key);
    media_benc_str(b, v.s, v.len);
}

/* The dictionary of r, after the cookie and a space, into p->pkt. */
static int encode(media_pending_t *p, const media_req_t *r, fedge_err_t *err)
{
    char *buf = fedge_malloc(NG_MAX_DATAGRAM);
    memcpy(buf, p->cookie, COOKIE_LEN);
    buf[COOKIE_LEN] = ' ';
    media_benc_t b;
    media_benc_init(&b, buf + COOKIE_LEN + 1, NG_MAX_DATAGRAM - COOKIE_LEN - 1);
    media_benc_dict(&b);
    media_benc_cstr(&b, "command");
    media_benc_cstr(&b, media_cmd_name(r->cmd));
    put_str(&b, "call-id", r->call_id);
    put_str(&b, "from-tag", r->from_tag);
    put_str(&b, "to-tag", r->to_tag);
    if (r->cmd == MEDIA_CMD_OFFER || r->cmd == MEDIA_CMD_ANSWER) {
        put_str(&b, "sdp", r->sdp);
        if (r->from_interface && r->to_interface) {
            const char *dir[2] = {r->from_interface, r->to_interface};
            put_list(&b, "direction", dir, 2);
        }
        put_list(&b, "flags", r->flags, r->flag_count);
        put_list(&b, "replace", r->replace, r->replace_count);
        if (r->ice) {
            media_benc_cstr(&b, "ICE");
            media_benc_cstr(&b, r->ice);
        }
        if (r->transport_protocol) {
            media_benc_cstr(&b, "transport-protocol");
            media_benc_cstr(&b, r->transport_protocol);
        }
        if (r->received_from) {
            /* rtpengine: a list of address family and address. */
            const char *rf[2] = {strchr(r->received_from, ':') ? "IP6" : "IP4", r->received_from};
            put_list(&b, "received-from", rf, 2);
        }
    } else {
        put_list(&b, "flags", r->flags, r->flag_count);
    }
    media_benc_end(&b);
    int n = media_benc_finish(&b);
    if (n < 0) {
        free(buf);
        return fedge_err(err, FEDGE_ENOSPC, "ng %s does not fit in one datagram (%d bytes)",
                         media_cmd_name(r->cmd), NG_MAX_DATAGRAM);
    }
    p->pkt_len = COOKIE_LEN + 1 + (size_t)n;
    p->pkt = fedge_realloc(buf, p->pkt_len);
    return 0;
}

static int check_req(const media_client_t *c, const media_req_t *r, fedge_err_t *err)
{
    if ((size_t)r->cmd >= FEDGE_ARRAY_LEN(cmd_names))
        return fedge_err(err, FEDGE_EINVAL, "unknown ng command %d", (int)r->cmd);
    const char *cmd = media_cmd_name(r->cmd);
    if (r->cmd != MEDIA_CMD_PING && !r->call_id.len)
        return fedge_err(err, FEDGE_EINVAL, "ng %s needs a call-id", cmd);
    if ((r->cmd == MEDIA_CMD_OFFER || r->cmd == MEDIA_CMD_ANSWER) &&
        (!r->from_tag.len || !r->sdp.len))
        return fedge_err(err, FEDGE_EINVAL, "ng %s needs a from-tag and an SDP", cmd);
    if (r->cmd == MEDIA_CMD_ANSWER && !r->to_tag.len)
        return fedge_err(err, FEDGE_EINVAL, "ng answer needs a to-tag");
    if (r->relay >= 0 && (size_t)r->relay >= c->nrelays)
        return fedge_err(err, FEDGE_EINVAL, "no relay %d (%zu configured)", r->relay, c->nrelays);
    return 0;
}

/* The relays to try, in order (see media_request). */
static void plan_order(media_client_t *c, media_pending_t *p, const media_req_t *r)
{
    if (r->relay >= 0) {
        p->order[p->norder++] = (uint8_t)r->relay;
        return;
    }
    call_t *k = r->call_id.len ? call_find(c, r->call_id) : NULL;
    if (k) {
        p->order[p->norder++] = (uint8_t)k->relay;
        return;
    }
    size_t start = r->call_id.len ? fedge_hash(r->call_id.s, r->call_id.len) % c->nrelays : 0;
    uint64_t now = uv_now(c->loop);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->nrelays; i++) {
            size_t j = (start + i) % c->nrelays;
            bool down = c->relays[j].down_until > now;
            if (down == (pass == 1))
                p->order[p->norder++] = (uint8_t)j;
        }
}

int media_request(media_client_t *c, const media_req_t *r, media_done_cb cb, void *arg,
                  media_pending_t **out, fedge_err_t *err)
{
    if (c->closed)
        return fedge_err(err, FEDGE_ECLOSED, "media client closed");
    int rc = check_req(c, r, err);
    if (rc < 0)
        return rc;
    media_pending_t *p = fedge_calloc(1, sizeof(*p));
    p->c = c;
    p->cb = cb;
    p->arg = arg;
    p->cmd = r->cmd;
    p->slot = -1;
    /* rtpengine keeps replies by cookie alone (whoever asked) and answers a
     * known cookie from that cache: cookies must differ across clients and
     * across restarts, hence one counter per process under a random key.
     * Cookies are sent (and logged by the relay): they come from
     * fedge_siphash24 under a key derived once from the process key, never
     * from fedge_hash itself (src/base/base.h: its values are not sent). */
    static uint64_t seq;
    static uint8_t cookie_key[16];
    if (seq == 0) {
        uint64_t k0 = fedge_hash("ng cookie key 0", 15), k1 = fedge_hash("ng cookie key 1", 15);
        memcpy(cookie_key, &k0, 8);
        memcpy(cookie_key + 8, &k1, 8);
    }
    do {
        seq++;
        snprintf(p->cookie, sizeof(p->cookie), "%016" PRIx64,
                 fedge_siphash24(cookie_key, &seq, sizeof(seq)));
    } while (fedge_map_find(&c->pending, fedge_hash(p->cookie, COOKIE_LEN), pending_eq, p->cookie));
    rc = encode(p, r, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p->call_id = fedge_strndup(r->call_id.len ? r->call_id.s : "", r->call_id.len);
    p->call_id_len = r->call_id.len;
    plan_order(c, p, r);
    uv_timer_init(c->loop, &p->timer);
    p->timer.data = p;
    fedge_map_insert(&c->pending, &p->node, fedge_hash(p->cookie, COOKIE_LEN));
    attempt(p);
    if (out)
        *out = p;
    return 0;
}

void media_request_cancel(media_pending_t *p)
{
    pending_release(p);
}

/* ---- replies ---- */

static void on_reply(media_client_t *c, size_t ri, const char *d, size_t n)
{
    relay_t *r = &c->relays[ri];
    const char *sp = memchr(d, ' ', n);
    if (!sp || sp - d != COOKIE_LEN) {
        obs_logkv(OBS_LOG_DEBUG, "media", "reply without a cookie of ours dropped", "relay",
                  r->name, NULL);
        return;
    }
    fedge_map_node_t *node = fedge_map_find(&c->pending, fedge_hash(d, COOKIE_LEN), pending_eq, d);
    if (!node)
        return; /* late (answered after a retransmission) or cancelled */
    media_pending_t *p = FEDGE_CONTAINER_OF(node, media_pending_t, node);
    if (!(p->tried & (1u << ri)))
        return; /* a relay we did not ask for this cookie */
    relay_set_up(r, true, NULL);

    const char *body = sp + 1;
    size_t blen = n - COOKIE_LEN - 1;
    media_ben_t *root = NULL;
    int used = media_ben_decode(body, blen, c->nodes, FEDGE_ARRAY_LEN(c->nodes), &root);
    fedge_err_t e;
    if (used < 0 || (size_t)used != blen || root->type != MEDIA_BEN_DICT) {
        fedge_err(&e, FEDGE_EINVAL, "rtpengine %s: malformed reply to %s (%s)", r->name,
                  media_cmd_name(p->cmd),
                  used == FEDGE_ENOSPC ? "too many values" : "not one bencoded dictionary");
        finish(p, FEDGE_EINVAL, NULL, &e);
        return;
    }
    media_reply_t rep = {
        .dict = root,
        .result = media_ben_get_str(root, "result"),
        .sdp = media_ben_get_str(root, "sdp"),
        .error_reason = media_ben_get_str(root, "error-reason"),
        .warning = media_ben_get_str(root, "warning"),
        .relay = ri,
    };
    fedge_str_t id = {p->call_id, p->call_id_len};
    bool ok = fedge_str_eq(rep.result, "ok") || fedge_str_eq(rep.result, "pong");
    char res[96];
    snprintf(res, sizeof(res), "%.*s%s%.*s", (int)(rep.result.len > 32 ? 32 : rep.result.len),
             rep.result.s, ok || !rep.error_reason.len ? "" : ": ",
             ok ? 0 : (int)(rep.error_reason.len > 60 ? 60 : rep.error_reason.len),
             rep.error_reason.s);
    relay_heard(r, p, (int64_t)((uv_hrtime() - p->sent_ns) / 1000u), res);
    if (p->cmd == MEDIA_CMD_DELETE)
        call_forget(c, id);
    if (!ok) {
        fedge_err(&e, FEDGE_EPERM, "rtpengine %s refused %s: %.*s%s%.*s", r->name,
                  media_cmd_name(p->cmd), (int)(rep.result.len > 32 ? 32 : rep.result.len),
                  rep.result.s, rep.error_reason.len ? ": " : "",
                  (int)(rep.error_reason.len > 200 ? 200 : rep.error_reason.len),
                  rep.error_reason.s);
        finish(p, FEDGE_EPERM, &rep, &e);
        return;
    }
    if ((p->cmd == MEDIA_CMD_OFFER || p->cmd == MEDIA_CMD_ANSWER) && !rep.sdp.len) {
        fedge_err(&e, FEDGE_EINVAL, "rtpengine %s: reply to %s without an SDP", r->name,
                  media_cmd_name(p->cmd));
        finish(p, FEDGE_EINVAL, NULL, &e);
        return;
    }
    if (p->cmd == MEDIA_CMD_OFFER || p->cmd == MEDIA_CMD_ANSWER)
        call_remember(c, id, ri);
    finish(p, 0, &rep, NULL);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    relay_t *r = h->data;
    /* One buffer for every socket: the loop delivers one datagram at a
     * time and on_reply is done with it before the next read. */
    *buf = uv_buf_init(r->c->rbuf, NG_MAX_DATAGRAM);
}

static void recv_cb(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    relay_t *r = u->data;
    media_client_t *c = r->c;
    size_t ri = (size_t)(r - c->relays);
    if (nread < 0) {
        /* On a connected socket an ICMP "port unreachable" shows here:
         * every request waiting on this relay moves on now. */
        fedge_map_iter_t it;
        fedge_map_iter_init(&it, &c->pending);
        for (fedge_map_node_t *n; (n = fedge_map_iter_next(&it));) {
            media_pending_t *p = FEDGE_CONTAINER_OF(n, media_pending_t, node);
            if (p->slot == (int)ri && !p->failed_now) {
                p->failed_now = true;
                uv_timer_start(&p->timer, timer_cb, 0, 0);
            }
        }
        return;
    }
    if (nread == 0 || (flags & UV_UDP_PARTIAL))
        return;
    on_reply(c, ri, buf->base, (size_t)nread);
}

/* ---- client ---- */

int media_client_new(uv_loop_t *loop, const media_opts_t *o, media_client_t **out, fedge_err_t *err)
{
    *out = NULL;
    if (o->relay_count == 0 || o->relay_count > MEDIA_MAX_RELAYS)
        return fedge_err(err, FEDGE_EINVAL, "%zu relays; expected 1 to %d", o->relay_count,
                         MEDIA_MAX_RELAYS);
    if (o->timeout_ms == 0)
        return fedge_err(err, FEDGE_EINVAL, "ng timeout of 0ms");
    struct sockaddr_storage addrs[MEDIA_MAX_RELAYS];
    for (size_t i = 0; i < o->relay_count; i++) {
        const media_relay_addr_t *a = &o->relays[i];
        if (!a->host || !a->port)
            return fedge_err(err, FEDGE_EINVAL, "relay %zu has no host or port", i + 1);
        if (uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)&addrs[i]) &&
            uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)&addrs[i]))
            return fedge_err(err, FEDGE_EINVAL, "relay \"%s\" is not an IP address", a->host);
    }
    media_client_t *c = fedge_calloc(1, sizeof(*c));
    c->loop = loop;
    c->timeout_ms = o->timeout_ms;
    c->down_ms = o->relay_down_ms ? o->relay_down_ms : MEDIA_DEFAULT_RELAY_DOWN_MS;
    c->max_calls = o->max_calls ? o->max_calls : MEDIA_DEFAULT_MAX_CALLS;
    c->lru.next = c->lru.prev = &c->lru;
    for (size_t i = 0; i < o->relay_count; i++) {
        relay_t *r = &c->relays[i];
        r->c = c;
        r->up = true;
        fedge_hostport_format(r->name, sizeof(r->name), o->relays[i].host, o->relays[i].port);
        int rc = uv_udp_init_ex(loop, &r->udp, addrs[i].ss_family);
        if (rc < 0) {
            fedge_err(err, FEDGE_EIO, "rtpengine %s: socket: %s", r->name, uv_strerror(rc));
            media_client_close(c);
            return FEDGE_EIO;
        }
        r->udp.data = r;
        c->nrelays++;
        c->open_handles++;
        rc = uv_udp_connect(&r->udp, (const struct sockaddr *)&addrs[i]);
        if (rc == 0) {
            int size = RCVBUF;
            (void)uv_recv_buffer_size((uv_handle_t *)&r->udp, &size); /* best effort */
            rc = uv_udp_recv_start(&r->udp, alloc_cb, recv_cb);
        }
        if (rc < 0) {
            fedge_err(err, FEDGE_EIO, "rtpengine %s: %s", r->name, uv_strerror(rc));
            media_client_close(c);
            return FEDGE_EIO;
        }
    }
    *out = c;
    return 0;
}

static void client_free(media_client_t *c)
{
    while (c->lru.next != &c->lru)
        call_drop(c, FEDGE_CONTAINER_OF(c->lru.next, call_t, link));
    fedge_map_free(&c->calls);
    fedge_map_free(&c->pending);
    free(c);
}

static void relay_closed(uv_handle_t *h)
{
    relay_t *r = h->data;
    media_client_t *c = r->c;
    if (--c->open_handles == 0)
        client_free(c);
}

void media_client_close(media_client_t *c)
{
    if (!c || c->closed)
        return;
    c->closed = true;
    fedge_err_t e;
    fedge_err(&e, FEDGE_ECLOSED, "media client closed");
    /* A callback may cancel other requests: take them one at a time. */
    for (;;) {
        fedge_map_iter_t it;
        fedge_map_iter_init(&it, &c->pending);
        fedge_map_node_t *n = fedge_map_iter_next(&it);
        if (!n)
            break;
        finish(FEDGE_CONTAINER_OF(n, media_pending_t, node), FEDGE_ECLOSED, NULL, &e);
    }
    size_t n = c->nrelays;
    if (n == 0) {
        client_free(c);
        return;
    }
    for (size_t i = 0; i < n; i++)
        uv_close((uv_handle_t *)&c->relays[i].udp, relay_closed);
}

size_t media_relay_count(const media_client_t *c)
{
    return c->nrelays;
}

const char *media_relay_name(const media_client_t *c, size_t i)
{
    return i < c->nrelays ? c->relays[i].name : "";
}

bool media_relay_up(const media_client_t *c, size_t i)
{
    return i < c->nrelays && c->relays[i].up;
}

size_t media_call_count(const media_client_t *c)
{
    return fedge_map_count(&c->calls);
}

int media_call_relay(const media_client_t *c, fedge_str_t call_id)
{
    if (!call_id.len)
        return -1;
    fedge_map_node_t *n =
        fedge_map_find(&c->calls, fedge_hash(call_id.s, call_id.len), call_eq, &call_id);
    return n ? (int)FEDGE_CONTAINER_OF(n, call_t, node)->relay : -1;
}

void media_relay_health(const media_client_t *c, size_t i, media_relay_health_t *h)
{
    const relay_t *r = &c->relays[i];
    *h = (media_relay_health_t){.up = r->up,
                                .heard = r->heard,
                                .last_ms = r->last_ms,
                                .rtt_us = r->last_rtt_us,
                                .cmd = r->last_cmd,
                                .inflight = r->inflight};
    snprintf(h->result, sizeof(h->result), "%s", r->last_result);
}

size_t media_pending_count(const media_client_t *c)
{
    return fedge_map_count(&c->pending);
}
