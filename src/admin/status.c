/* status.c — the builder the edge fills for GET /api/status (connections,
 * requests and rejections per partner, rejections per diagnostic ID,
 * recent errors, the metrics' totals, the last hour per partner), and
 * admin_stats, a thread-safe accumulator of those figures that the edge's
 * loop records into (and counts for Prometheus, src/obs/metrics.c). */
#include "admin/admin_int.h"

#include "obs/obs.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void admin_status_partner(admin_status_t *st, const char *domain, uint64_t connections,
                          uint64_t requests, uint64_t rejections)
{
    if (!st || !domain)
        return;
    json_object_set_new(st->partners, domain,
                        json_pack("{s:I, s:I, s:I}", "connections", (json_int_t)connections,
                                  "requests", (json_int_t)requests, "rejections",
                                  (json_int_t)rejections));
}

void admin_status_diag(admin_status_t *st, int diag_id, uint64_t count)
{
    if (!st)
        return;
    char k[16];
    snprintf(k, sizeof(k), "%d", diag_id);
    json_object_set_new(st->diags, k, json_integer((json_int_t)count));
}

void admin_status_error(admin_status_t *st, const char *at, const char *text)
{
    if (!st || json_array_size(st->errors) >= 100)
        return;
    json_array_append_new(st->errors,
                          json_pack("{s:s, s:s}", "at", at ? at : "", "text", text ? text : ""));
}

void admin_status_counter(admin_status_t *st, const char *name, uint64_t value)
{
    if (!st || !name)
        return;
    json_object_set_new(st->counters, name, json_integer((json_int_t)value));
}

/* ---- admin_stats: the edge's thread-safe accumulator ---- */

#define HIST_MINUTES 60  /* the Status page's chart: the last hour, per minute */
#define HIST_TOP 8       /* partners drawn; the rest are summed as "(other)" */
#define PROM_PARTNERS 20 /* partners with their own Prometheus label */

typedef struct {
    char domain[STORE_FQDN_MAX + 1];
    uint64_t requests, rejections;
    int64_t conns; /* open connections (signed while counting, reported >= 0) */
    /* per minute of the last hour: slot m % 60 holds minute m when hmin
     * says so (older contents are stale and read as 0) */
    int64_t hmin[HIST_MINUTES];
    uint32_t hreq[HIST_MINUTES], hrej[HIST_MINUTES];
    /* fedge_partner_requests_total's series of this domain, [0] allowed,
     * [1] refused, found on its first request of that outcome: every
     * domain of an entry has the same lowercased, cut name, so the labelset
     * answers them alike (a value never moves between its series). Not
     * used for the shared "(other)" entry, whose domains differ. */
    obs_series_t *prom[2];
} partner_t;

struct admin_stats {
    pthread_mutex_t mu;
    partner_t *p; /* ADMIN_STATS_PARTNERS + 1 ("(other)") */
    size_t np;
    struct {
        int id;
        uint64_t n;
    } d[ADMIN_STATS_DIAGS];
    size_t nd;
    struct {
        char at[24];
        char text[200];
    } e[ADMIN_STATS_ERRORS];
    size_t ne, next_e; /* ring */
    obs_labelset_t *prom_partners;
    obs_family_t *m_partner, *m_refusals;
    int64_t (*now_s)(void); /* clock (tests) */
};

static int64_t real_now_s(void)
{
    return (int64_t)time(NULL);
}

admin_stats_t *admin_stats_new(void)
{
    admin_stats_t *st = fedge_calloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->p = fedge_calloc(ADMIN_STATS_PARTNERS + 1, sizeof(partner_t));
    st->prom_partners = obs_labelset_new(PROM_PARTNERS);
    st->m_partner = obs_family("fedge_partner_requests_total",
                               "new requests from or to a partner domain, by partner (the first "
                               "20 seen; later ones are partner=\"other\") and outcome",
                               OBS_KIND_COUNTER, "partner,outcome", NULL, 0);
    st->m_refusals = obs_family("fedge_policy_refusals_total",
                                "requests refused by the federation policy, by diagnostic ID "
                                "(docs/diagnostics.md)",
                                OBS_KIND_COUNTER, "diagnostic", NULL, 0);
    st->now_s = real_now_s;
    return st;
}

void admin_stats_free(admin_stats_t *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->mu);
    obs_labelset_free(st->prom_partners);
    free(st->p);
    free(st);
}

/* The entry of domain (lowercased), created when there is room, else the
 * shared "(other)" entry. Called with the lock held. */
static partner_t *partner(admin_stats_t *st, fedge_str_t domain)
{
    char d[STORE_FQDN_MAX + 1];
    size_t n = domain.len < STORE_FQDN_MAX ? domain.len : STORE_FQDN_MAX;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)tolower((unsigned char)domain.s[i]);
    d[n] = '\0';
    if (!n)
        snprintf(d, sizeof(d), "(unknown)");
    for (size_t i = 0; i < st->np; i++)
        if (!strcmp(st->p[i].domain, d))
            return &st->p[i];
    partner_t *p = &st->p[ADMIN_STATS_PARTNERS];
    if (st->np < ADMIN_STATS_PARTNERS)
        p = &st->p[st->np++];
    else
        snprintf(d, sizeof(d), "(other)");
    if (!p->domain[0])
        snprintf(p->domain, sizeof(p->domain), "%s", d);
    return p;
}

void admin_stats_request(admin_stats_t *st, fedge_str_t domain, int diag_id)
{
    if (!st)
        return;
    if (diag_id) {
        char id[16];
        snprintf(id, sizeof(id), "%d", diag_id);
        obs_add(st->m_refusals, 1, id);
    }
    int64_t m = st->now_s() / 60;
    pthread_mutex_lock(&st->mu);
    partner_t *p = partner(st, domain);
    /* An empty domain shares the "(unknown)" entry with one literally so
     * named but is labelled "": it takes the look-up each time, as do the
     * domains of the shared "(other)" entry. */
    bool own = domain.len && p != &st->p[ADMIN_STATS_PARTNERS];
    obs_series_t *s = own ? p->prom[diag_id != 0] : NULL;
    if (!s) {
        char lb[OBS_VALUE_MAX + 1];
        s = obs_series(st->m_partner, obs_labelset_pick(st->prom_partners, domain, lb),
                       diag_id ? "refused" : "allowed");
        if (own)
            p->prom[diag_id != 0] = s;
    }
    obs_series_add(s, 1);
    p->requests++;
    size_t slot = (size_t)(m % HIST_MINUTES);
    if (p->hmin[slot] != m) {
        p->hmin[slot] = m;
        p->hreq[slot] = p->hrej[slot] = 0;
    }
    p->hreq[slot]++;
    if (diag_id)
        p->hrej[slot]++;
    if (diag_id) {
        p->rejections++;
        size_t i = 0;
        while (i < st->nd && st->d[i].id != diag_id)
            i++;
        if (i == st->nd && st->nd < ADMIN_STATS_DIAGS)
            st->d[st->nd++].id = diag_id;
        if (i < st->nd)
            st->d[i].n++;
    }
    pthread_mutex_unlock(&st->mu);
}

void admin_stats_connection(admin_stats_t *st, fedge_str_t domain, int delta)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    partner(st, domain)->conns += delta;
    pthread_mutex_unlock(&st->mu);
}

void admin_stats_error(admin_stats_t *st, const char *text)
{
    if (!st || !text)
        return;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    pthread_mutex_lock(&st->mu);
    size_t k = st->next_e;
    strftime(st->e[k].at, sizeof(st->e[k].at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(st->e[k].text, sizeof(st->e[k].text), "%s", text);
    for (char *c = st->e[k].text; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    st->next_e = (k + 1) % ADMIN_STATS_ERRORS;
    if (st->ne < ADMIN_STATS_ERRORS)
        st->ne++;
    pthread_mutex_unlock(&st->mu);
}

static void add_total(void *ctx, const char *name, double total)
{
    admin_status_counter(ctx, name, (uint64_t)(total > 0 ? total : 0));
}

/* requests of p in the minutes (m0, m0 + HIST_MINUTES] */
static uint64_t hist_sum(const partner_t *p, int64_t m0)
{
    uint64_t n = 0;
    for (size_t i = 0; i < HIST_MINUTES; i++)
        if (p->hmin[i] > m0)
            n += p->hreq[i];
    return n;
}

/* The last hour per minute: the HIST_TOP busiest partners, the rest summed
 * as "(other)". Called with the lock held. */
static void report_history(admin_stats_t *st, admin_status_t *out)
{
    if (!out->history)
        return;
    int64_t now_m = st->now_s() / 60, m0 = now_m - HIST_MINUTES;
    size_t top[HIST_TOP];
    uint64_t topn[HIST_TOP];
    size_t nt = 0;
    for (size_t i = 0; i <= ADMIN_STATS_PARTNERS; i++) {
        if ((i >= st->np && i < ADMIN_STATS_PARTNERS) || !st->p[i].domain[0])
            continue;
        uint64_t n = hist_sum(&st->p[i], m0);
        if (!n)
            continue;
        size_t k = nt < HIST_TOP ? nt++ : HIST_TOP;
        if (k == HIST_TOP && n <= topn[HIST_TOP - 1])
            continue;
        if (k == HIST_TOP)
            k = HIST_TOP - 1;
        while (k > 0 && topn[k - 1] < n) {
            top[k] = top[k - 1];
            topn[k] = topn[k - 1];
            k--;
        }
        top[k] = i;
        topn[k] = n;
    }
    uint32_t oreq[HIST_MINUTES] = {0}, orej[HIST_MINUTES] = {0};
    bool other = false;
    json_t *parts = json_object();
    for (size_t i = 0; i <= ADMIN_STATS_PARTNERS; i++) {
        if ((i >= st->np && i < ADMIN_STATS_PARTNERS) || !st->p[i].domain[0])
            continue;
        const partner_t *p = &st->p[i];
        bool is_top = false;
        for (size_t k = 0; k < nt; k++)
            is_top |= top[k] == i;
        json_t *rq = is_top ? json_array() : NULL, *rj = is_top ? json_array() : NULL;
        for (int64_t m = m0 + 1; m <= now_m; m++) {
            size_t slot = (size_t)(m % HIST_MINUTES);
            bool cur = p->hmin[slot] == m;
            uint32_t a = cur ? p->hreq[slot] : 0, b = cur ? p->hrej[slot] : 0;
            if (is_top) {
                json_array_append_new(rq, json_integer(a));
                json_array_append_new(rj, json_integer(b));
            } else if (a) {
                oreq[m - m0 - 1] += a;
                orej[m - m0 - 1] += b;
                other = true;
            }
        }
        if (is_top)
            json_object_set_new(parts, p->domain,
                                json_pack("{s:o, s:o}", "requests", rq, "rejections", rj));
    }
    if (other) {
        json_t *rq = json_array(), *rj = json_array();
        for (size_t k = 0; k < HIST_MINUTES; k++) {
            json_array_append_new(rq, json_integer(oreq[k]));
            json_array_append_new(rj, json_integer(orej[k]));
        }
        json_object_set_new(parts, "(other)",
                            json_pack("{s:o, s:o}", "requests", rq, "rejections", rj));
    }
    json_object_set_new(out->history, "minute0", json_integer((json_int_t)((m0 + 1) * 60)));
    json_object_set_new(out->history, "partners", parts);
}

void admin_stats_set_clock(admin_stats_t *st, int64_t (*now_s)(void))
{
    st->now_s = now_s ? now_s : real_now_s;
}

void admin_stats_report(admin_status_t *out, void *ctx)
{
    admin_stats_t *st = ctx;
    if (!st)
        return;
    obs_metrics_totals(add_total, out);
    pthread_mutex_lock(&st->mu);
    report_history(st, out);
    for (size_t i = 0; i <= ADMIN_STATS_PARTNERS; i++) {
        const partner_t *p = &st->p[i];
        if (i >= st->np && i < ADMIN_STATS_PARTNERS)
            continue;
        if (!p->domain[0])
            continue;
        admin_status_partner(out, p->domain, p->conns > 0 ? (uint64_t)p->conns : 0, p->requests,
                             p->rejections);
    }
    for (size_t i = 0; i < st->nd; i++)
        admin_status_diag(out, st->d[i].id, st->d[i].n);
    /* Oldest first. */
    for (size_t j = 0; j < st->ne; j++) {
        size_t k = (st->next_e + ADMIN_STATS_ERRORS - st->ne + j) % ADMIN_STATS_ERRORS;
        admin_status_error(out, st->e[k].at, st->e[k].text);
    }
    pthread_mutex_unlock(&st->mu);
}
