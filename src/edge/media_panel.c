/* media_panel.c — the relayed calls and the relays' health as the admin
 * panel shows them (GET /api/media): a bounded copy taken on the loop once
 * a second, read by the admin thread under a mutex; the same figures
 * summed for Prometheus (calls by state and by relay, the oldest call's
 * age, each relay's health); and an ng ping to a relay nothing was asked
 * of for a while, so that its health stays known when no call uses it. */
#include "edge/edge_int.h"
#include "obs/obs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLISH_MS 1000u
#define SHORT_ID 12 /* characters of a Call-ID shown */

typedef struct {
    char call[SHORT_ID + 16]; /* + "…" and " (fork)" */
    char relay[64];
    media_call_state_t state;
    media_side_t caller;
    int64_t age_s, idle_s;
} row_t;

typedef struct {
    char name[64];
    media_relay_health_t h;
    int64_t last_at_s;
} relay_row_t;

typedef struct {
    edge__media_panel_t *p;
    size_t relay;
} ping_t;

struct edge__media_panel {
    pthread_mutex_t mu;
    /* the copy (under mu) */
    row_t rows[ADMIN_MEDIA_CALLS_MAX];
    size_t nrows, total, max_calls;
    relay_row_t relays[MEDIA_MAX_RELAYS];
    size_t nrelays;
    int64_t taken_s;
    bool taken;
    /* the loop's own */
    media_call_info_t scratch[ADMIN_MEDIA_CALLS_MAX];
    uint64_t started_ms, published_ms;
    bool ping_out[MEDIA_MAX_RELAYS];
    ping_t pings[MEDIA_MAX_RELAYS];
};

static obs_family_t *m_state, *m_relay_calls, *m_oldest, *m_relay_up, *m_relay_rtt;

static void families(void)
{
    m_state = obs_family("fedge_media_calls_by_state",
                         "calls whose media the edge relays now, by state (setting_up: no 2xx to "
                         "the first INVITE yet; active; updating: an offer awaits its answer; "
                         "orphan: its connection "
                         "closed)",
                         OBS_KIND_GAUGE, "state", NULL, 0);
    m_relay_calls = obs_family("fedge_media_relay_calls", "calls held by each rtpengine relay",
                               OBS_KIND_GAUGE, "relay", NULL, 0);
    m_oldest = obs_family("fedge_media_oldest_call_seconds",
                          "age of the oldest call the edge relays now (0: none)", OBS_KIND_GAUGE,
                          "", NULL, 0);
    m_relay_up = obs_family("fedge_media_relay_up",
                            "1 when the rtpengine relay answered its last ng request, else 0",
                            OBS_KIND_GAUGE, "relay", NULL, 0);
    m_relay_rtt = obs_family("fedge_media_relay_rtt_microseconds",
                             "round trip of the last ng request the relay answered", OBS_KIND_GAUGE,
                             "relay", NULL, 0);
}

typedef struct {
    media_client_t *c;
    size_t by_state[4], by_relay[MEDIA_MAX_RELAYS];
    uint64_t oldest_ms;
    bool any;
} census_t;

static void count(void *user, const media_call_info_t *k)
{
    census_t *n = user;
    if ((size_t)k->state < 4)
        n->by_state[k->state]++;
    int ri = media_call_relay(n->c, k->call_id);
    if (ri >= 0 && ri < MEDIA_MAX_RELAYS)
        n->by_relay[ri]++;
    if (!n->any || k->started_ms < n->oldest_ms)
        n->oldest_ms = k->started_ms;
    n->any = true;
}

void edge__media_panel_families(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, families);
}

edge__media_panel_t *edge__media_panel_new(uint64_t now_ms)
{
    edge__media_panel_families();
    edge__media_panel_t *p = fedge_calloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->started_ms = now_ms;
    for (size_t i = 0; i < MEDIA_MAX_RELAYS; i++)
        p->pings[i] = (ping_t){p, i};
    return p;
}

void edge__media_panel_free(edge__media_panel_t *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The Call-ID as shown: its first SHORT_ID characters before any "@"
 * (the host part often names an internal machine), "…" when cut. A whole
 * Call-ID, with the dialog's tags, is what a forged in-dialog request
 * (BYE, re-INVITE) needs; the shown part still finds the call in the
 * logs. */
void edge__media_call_label(fedge_str_t id, char *out, size_t cap)
{
    size_t n = 0;
    while (n < id.len && id.s[n] != '@')
        n++;
    bool cut = n < id.len || n > SHORT_ID;
    if (n > SHORT_ID)
        n = SHORT_ID;
    /* a fork's ng call-id is the Call-ID, ";fork=" and a branch
     * (media_calls_fork_id): the row says it is one, not which */
    bool fork = memmem(id.s, id.len, ";fork=", 6) != NULL;
    snprintf(out, cap, "%.*s%s%s", (int)n, id.s, cut ? "\xe2\x80\xa6" : "", fork ? " (fork)" : "");
}

static void pinged(void *arg, int status, const media_reply_t *reply, const fedge_err_t *err)
{
    ping_t *g = arg;
    g->p->ping_out[g->relay] = false; /* the client recorded the result (media_relay_health) */
}

void edge__media_panel_tick(edge__media_panel_t *p, edge__media_t *m, uint64_t now_ms)
{
    if (!p || !m || now_ms - p->published_ms < PUBLISH_MS)
        return;
    p->published_ms = now_ms;
    size_t max_calls;
    media_relay_t *r = edge__media_relay(m, &max_calls);
    media_client_t *c = media_relay_client(r);
    size_t nr = media_relay_count(c);
    if (nr > MEDIA_MAX_RELAYS)
        nr = MEDIA_MAX_RELAYS;
    /* A relay idle for a while is pinged (one ping at a time). */
    for (size_t i = 0; i < nr; i++) {
        media_relay_health_t h;
        media_relay_health(c, i, &h);
        uint64_t since = h.heard ? h.last_ms : p->started_ms;
        if (p->ping_out[i] || h.inflight || now_ms - since < EDGE__MEDIA_PING_MS)
            continue;
        media_req_t q = {.cmd = MEDIA_CMD_PING, .relay = (int)i};
        fedge_err_t e;
        if (media_request(c, &q, pinged, &p->pings[i], NULL, &e) == 0)
            p->ping_out[i] = true;
    }
    /* Prometheus: a walk of the whole table (bounded by [media]
     * max_calls), once a second. */
    census_t cs = {.c = c};
    media_relay_each(r, count, &cs);
    obs_set(m_state, (int64_t)cs.by_state[MEDIA_CALL_SETUP], "setting_up");
    obs_set(m_state, (int64_t)cs.by_state[MEDIA_CALL_ACTIVE], "active");
    obs_set(m_state, (int64_t)cs.by_state[MEDIA_CALL_UPDATING], "updating");
    obs_set(m_state, (int64_t)cs.by_state[MEDIA_CALL_ORPHAN], "orphan");
    obs_set(m_oldest, cs.any ? (int64_t)((now_ms - cs.oldest_ms) / 1000u) : 0);
    for (size_t i = 0; i < nr; i++) {
        media_relay_health_t h;
        media_relay_health(c, i, &h);
        const char *name = media_relay_name(c, i);
        obs_set(m_relay_calls, (int64_t)cs.by_relay[i], name);
        obs_set(m_relay_up, h.up ? 1 : 0, name);
        if (h.heard && h.rtt_us >= 0)
            obs_set(m_relay_rtt, h.rtt_us, name);
    }
    size_t n = media_relay_list(r, p->scratch, ADMIN_MEDIA_CALLS_MAX);
    int64_t wall = (int64_t)time(NULL);
    pthread_mutex_lock(&p->mu);
    p->taken = true;
    p->taken_s = wall;
    p->total = media_relay_calls(r);
    p->max_calls = max_calls;
    p->nrows = n;
    for (size_t i = 0; i < n; i++) {
        const media_call_info_t *k = &p->scratch[i];
        row_t *w = &p->rows[i];
        edge__media_call_label(k->call_id, w->call, sizeof(w->call));
        int ri = media_call_relay(c, k->call_id);
        snprintf(w->relay, sizeof(w->relay), "%s", ri >= 0 ? media_relay_name(c, (size_t)ri) : "");
        w->state = k->state;
        w->caller = k->caller;
        w->age_s = (int64_t)((now_ms - k->started_ms) / 1000u);
        w->idle_s = (int64_t)((now_ms - k->last_ms) / 1000u);
    }
    p->nrelays = nr;
    for (size_t i = 0; i < nr; i++) {
        relay_row_t *w = &p->relays[i];
        snprintf(w->name, sizeof(w->name), "%s", media_relay_name(c, i));
        media_relay_health(c, i, &w->h);
        w->last_at_s = w->h.heard ? wall - (int64_t)((now_ms - w->h.last_ms) / 1000u) : 0;
    }
    pthread_mutex_unlock(&p->mu);
}

void edge__media_panel_report(admin_media_t *out, void *ctx)
{
    edge__media_panel_t *p = ctx;
    pthread_mutex_lock(&p->mu);
    /* Ages grow between copies: add the time since the copy. */
    int64_t late = p->taken ? (int64_t)time(NULL) - p->taken_s : 0;
    if (late < 0)
        late = 0;
    admin_media_total(out, p->total, p->max_calls, p->taken_s);
    for (size_t i = 0; i < p->nrelays; i++) {
        const relay_row_t *w = &p->relays[i];
        admin_media_relay(out, w->name, w->h.up, w->last_at_s,
                          w->h.heard ? media_cmd_name(w->h.cmd) : "", w->h.result,
                          w->h.heard ? w->h.rtt_us : -1);
    }
    for (size_t i = 0; i < p->nrows; i++) {
        const row_t *w = &p->rows[i];
        admin_media_call(out, w->call, w->relay[0] ? w->relay : NULL,
                         media_call_state_name(w->state),
                         w->caller == MEDIA_SIDE_EXTERNAL ? "external" : "internal",
                         w->age_s + late, w->idle_s + late);
    }
    pthread_mutex_unlock(&p->mu);
}
