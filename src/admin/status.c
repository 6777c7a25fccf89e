/* status.c — the builder the edge fills for GET /api/status (connections,
 * requests and rejections per partner, rejections per diagnostic ID,
 * recent errors, other counters), and admin_stats, a thread-safe
 * accumulator of those figures that the edge's loop records into. */
#include "admin/admin_int.h"

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

typedef struct {
    char domain[STORE_FQDN_MAX + 1];
    uint64_t requests, rejections;
    int64_t conns; /* open connections (signed while counting, reported >= 0) */
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
};

admin_stats_t *admin_stats_new(void)
{
    admin_stats_t *st = fedge_calloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->p = fedge_calloc(ADMIN_STATS_PARTNERS + 1, sizeof(partner_t));
    return st;
}

void admin_stats_free(admin_stats_t *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->mu);
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
    pthread_mutex_lock(&st->mu);
    partner_t *p = partner(st, domain);
    p->requests++;
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

void admin_stats_report(admin_status_t *out, void *ctx)
{
    admin_stats_t *st = ctx;
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
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
