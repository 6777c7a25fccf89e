/* feed.c — the federation driver's store feed: the store opened at start
 * and its snapshot refreshed on the loop's thread pool (every 250 ms, or at
 * once when a PostgreSQL store notifies a change),
 * partners the throttle put on the watch list written to the store, and
 * the INI's routing settings seeded into the store. */
#include "edge/edge_int.h"

#include "obs/obs.h"
#include "store/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define REFRESH_MS 250 /* a change is in force within a second */
#define WATCH_QUEUE EDGE__WATCH_QUEUE

static const char C[] = "policy";

void edge__feed_error(edge__fed_t *f, const char *what, const char *msg)
{
    edge__metrics_store_error();
    if (!strcmp(f->store_err, msg))
        return; /* said already: no log line every 250 ms */
    snprintf(f->store_err, sizeof(f->store_err), "%s", msg);
    obs_logkv(OBS_LOG_ERROR, C, what, "store", f->store_shown, "reason", msg, NULL);
    if (f->stats) {
        char t[1024];
        snprintf(t, sizeof(t), "store %s: %s: %s", f->store_shown, what, msg);
        admin_stats_error(f->stats, t);
    }
}

typedef struct {
    bool admin_set; /* routing or default-route last set by someone else */
} seed_scan_t;

static int seed_cb(const store_audit_t *a, void *ctx)
{
    seed_scan_t *sc = ctx;
    if (!strcmp(a->action, "edge.set") &&
        (!strcmp(a->object, "routing") || !strcmp(a->object, "default-route")))
        sc->admin_set = strcmp(a->actor, STORE_ACTOR_INI) != 0;
    return 0;
}

/* The store wins for routing once an administrator set it; until then the
 * INI's [federation] routing/default_route are written into it (actor
 * serve:ini), so that the policy engine, the CLI and the panel all see
 * the values in force. */
static void seed_routing(edge__fed_t *f)
{
    seed_scan_t sc = {false};
    fedge_err_t e;
    if (store_audit_list(f->store, 1000000, seed_cb, &sc, &e) < 0 || sc.admin_set)
        return;
    const config_t *cf = f->cf;
    char dr[300] = "";
    if (cf->federation.default_route.host)
        config_hostport_format(&cf->federation.default_route, dr, sizeof(dr));
    const char *routing = config_routing_name(cf->federation.routing);
    if (!strcmp(routing, store_routing_name(f->snap->edge.routing)) &&
        !strcmp(dr, f->snap->edge.default_route))
        return;
    store_setting_t kv[2] = {{"default-route", dr}, {"routing", routing}};
    if (store_edge_set(f->store, kv, 2, STORE_ACTOR_INI, &e) < 0) {
        edge__feed_error(f, "cannot seed the routing settings from the configuration", e.msg);
        return;
    }
    obs_logkv(OBS_LOG_NOTICE, C, "routing settings taken from the configuration", "routing",
              routing, "default_route", dr[0] ? dr : "-", NULL);
    fedge_err_t e2;
    store_refresh(f->store, &f->snap, &e2);
}

/* Startup only (on the loop): open and load the store. */
static void load_now(edge__fed_t *f)
{
    fedge_err_t e;
    if (store_open(f->cf->edge.store, &f->store, &e) < 0) {
        f->store = NULL;
        edge__feed_error(f, "store unavailable: deciding on the last good settings", e.msg);
        return;
    }
    if (store_refresh(f->store, &f->snap, &e) < 0)
        edge__feed_error(f, "store unreadable: keeping the last good settings", e.msg);
}

/* The periodic refresh runs on a libuv worker thread, so that a store
 * locked by another process (SQLite waits up to its 5 s busy timeout) never
 * stalls the edge: the loop keeps deciding with the snapshot it has. Only
 * one job is in flight; f->store is used by it alone meanwhile. */
typedef struct {
    uv_work_t req;
    edge__fed_t *f;
    store_snapshot_t *snap; /* in: a reference to the current; out: the newest */
    int rc;                 /* store_refresh's, or < 0 */
    bool opened;
    const char *what; /* what failed, or NULL */
    fedge_err_t err;
    char watch[WATCH_QUEUE][256]; /* newly watch-listed partners to persist */
    uint32_t users[WATCH_QUEUE];
    size_t n_watch, n_watch_done;
    fedge_err_t werr;
    int wait_ms; /* first wait up to this long for a change notification */
    bool beat;   /* member is this pool member's record, due now (pool.c) */
    store_member_t member;
    int beat_rc;
    fedge_err_t beat_err;
    /* remote users: lock-outs to write, then those in force in the store */
    bool remote;
    edge__lockwrite_t lw[EDGE__LOCK_QUEUE];
    size_t n_lw, n_lw_done;
    fedge_err_t lerr;
    edge__lockwrite_t *force;
    size_t n_force, cap_force;
    bool listed;
    bool first; /* the tracker has not had the store's lock-outs yet */
} job_t;

static int force_cb(const store_lockout_t *l, void *ctx)
{
    job_t *j = ctx;
    if (j->n_force == j->cap_force) {
        j->cap_force = j->cap_force ? 2 * j->cap_force : 16;
        j->force = fedge_realloc(j->force, j->cap_force * sizeof(*j->force));
    }
    edge__lockwrite_t *w = &j->force[j->n_force++];
    memset(w, 0, sizeof(*w));
    w->kind = l->kind == STORE_LOCK_USER ? POLICY_LOCK_USER : POLICY_LOCK_ADDRESS;
    snprintf(w->subject, sizeof(w->subject), "%s", l->subject);
    w->failures = l->failures;
    w->until_s = l->until_s;
    return 0;
}

static void job_work(uv_work_t *req)
{
    job_t *j = req->data;
    edge__fed_t *f = j->f;
    if (!f->store) {
        if (store_open(f->cf->edge.store, &f->store, &j->err) < 0) {
            f->store = NULL;
            j->rc = -1;
            j->what = "store unavailable: deciding on the last good settings";
            return;
        }
        j->opened = true;
    }
    /* A store that notifies changes (PostgreSQL) wakes this worker the
     * moment one is committed anywhere; the refresh below follows at once.
     * A failure is the refresh's to report. */
    if (j->wait_ms > 0) {
        fedge_err_t werr;
        store_wait_change(f->store, j->wait_ms, &werr);
    }
    /* a pool member's record: one upsert, before waiting */
    if (j->beat)
        j->beat_rc = store_member_put(f->store, &j->member, &j->beat_err);
    /* off the hot path: partners the throttle put on the watch list */
    for (; j->n_watch_done < j->n_watch; j->n_watch_done++)
        if (store_watchlist_add(f->store, j->watch[j->n_watch_done], j->users[j->n_watch_done],
                                "over the contacts limit of a discovered partner", "serve",
                                &j->werr) < 0)
            break;
    /* remote users: the lock-outs this edge started, and those in force
     * (an administrator's unlock, another member's lock-out) */
    for (; j->n_lw_done < j->n_lw; j->n_lw_done++) {
        const edge__lockwrite_t *w = &j->lw[j->n_lw_done];
        if (store_lockout_add(f->store, w->subject, w->failures, w->until_s, w->reason, "serve",
                              &j->lerr) < 0)
            break;
    }
    j->rc = store_refresh(f->store, &j->snap, &j->err);
    if (j->rc < 0)
        j->what = "store unreadable: keeping the last good settings";
    else if (j->remote && (j->rc == 1 || j->n_lw || j->first))
        j->listed = store_lockout_list(f->store, (int64_t)time(NULL), force_cb, j, &j->lerr) == 0;
}

static void queue_job(edge__fed_t *f, int wait_ms);

static void job_done(uv_work_t *req, int status)
{
    job_t *j = req->data;
    edge__fed_t *f = j->f;
    (void)status;
    f->busy = false;
    if (f->closing) {
        store_snapshot_unref(j->snap);
        free(j->force);
        free(j);
        edge__fed_release(f);
        return;
    }
    if (j->opened)
        obs_logkv(OBS_LOG_NOTICE, C, "store opened", "store", f->store_shown, NULL);
    if (j->beat && f->store)
        edge__pool_done(f, j->beat_rc < 0 ? j->beat_err.msg : NULL);
    for (size_t i = 0; i < j->n_watch_done; i++)
        obs_logkv(OBS_LOG_WARNING, C, "partner put on the watch list", "domain", j->watch[i], NULL);
    if (j->n_watch_done < j->n_watch) {
        edge__feed_error(f, "cannot record a watch-listed partner", j->werr.msg);
        for (size_t i = j->n_watch_done; i < j->n_watch && f->n_watch < WATCH_QUEUE; i++)
            snprintf(f->watch[f->n_watch++], 256, "%s", j->watch[i]); /* next time */
    }
    if (f->remote) {
        if (j->n_lw_done < j->n_lw)
            edge__feed_error(f, "cannot record a lock-out", j->lerr.msg);
        edge__remote_written(f->remote, j->lw, j->n_lw, j->n_lw_done);
        if (j->listed) {
            edge__remote_sync(f->remote, j->force, j->n_force);
            f->lockouts_listed = true;
        }
    }
    free(j->force);
    j->force = NULL;
    if (j->what) {
        edge__feed_error(f, j->what, j->err.msg);
        store_snapshot_unref(j->snap);
        free(j);
        return;
    }
    if (f->store_err[0]) {
        obs_logkv(OBS_LOG_NOTICE, C, "store readable again", "store", f->store_shown, NULL);
        f->store_err[0] = 0;
    }
    if (j->rc == 1) {
        store_snapshot_unref(f->snap);
        f->snap = j->snap;
        policy_throttle_sync(f->throttle, f->snap);
        char g[24];
        snprintf(g, sizeof(g), "%llu", (unsigned long long)f->snap->generation);
        obs_logkv(OBS_LOG_INFO, C, "settings loaded", "generation", g, NULL);
    } else {
        store_snapshot_unref(j->snap);
    }
    free(j);
    /* With notifications, the next job waits for one straight away (the
     * timer then finds it busy); without, or after an error, the timer
     * polls every REFRESH_MS. */
    if (f->store && store_notifies(f->store))
        queue_job(f, REFRESH_MS);
}

typedef struct {
    const char *domain;
    uint32_t users;
} users_of_t;

static void users_cb(const policy_partner_t *p, void *ctx)
{
    users_of_t *u = ctx;
    if (!strcasecmp(p->domain, u->domain))
        u->users = p->users;
}

static void on_timer(uv_timer_t *t)
{
    queue_job(t->data, 0);
}

static void queue_job(edge__fed_t *f, int wait_ms)
{
    if (f->busy || f->closing)
        return;
    job_t *j = fedge_calloc(1, sizeof(*j));
    j->req.data = j;
    j->f = f;
    j->wait_ms = wait_ms;
    j->beat = edge__pool_due(f, &j->member);
    j->snap = store_snapshot_ref(f->snap);
    for (size_t i = 0; i < f->n_watch; i++) {
        users_of_t u = {f->watch[i], 0};
        policy_throttle_each(f->throttle, users_cb, &u);
        snprintf(j->watch[i], sizeof(j->watch[i]), "%s", f->watch[i]);
        j->users[i] = u.users;
    }
    j->n_watch = f->n_watch;
    f->n_watch = 0;
    if (f->remote) {
        j->remote = true;
        j->first = !f->lockouts_listed;
        j->n_lw = edge__remote_take_writes(f->remote, j->lw, EDGE__LOCK_QUEUE);
    }
    if (uv_queue_work(f->loop, &j->req, job_work, job_done) != 0) {
        if (f->remote)
            edge__remote_written(f->remote, j->lw, j->n_lw, 0);
        store_snapshot_unref(j->snap);
        free(j);
        return;
    }
    f->busy = true;
}
static void on_timer_closed(uv_handle_t *h)
{
    edge__fed_t *f = h->data;
    f->timer_closed = true;
    edge__fed_release(f);
}

void edge__feed_start(edge__fed_t *f)
{
    store_location_shown(f->cf->edge.store, f->store_shown, sizeof(f->store_shown));
    load_now(f);
    if (f->store)
        seed_routing(f);
    uv_timer_init(f->loop, &f->timer);
    f->timer.data = f;
    uv_timer_start(&f->timer, on_timer, REFRESH_MS, REFRESH_MS);
}

void edge__feed_stop(edge__fed_t *f)
{
    uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->timer, on_timer_closed); /* then edge__fed_release */
}
