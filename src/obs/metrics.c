/* metrics.c — the registry of counters and labelled families (counters,
 * gauges, histograms) and its Prometheus text output. Values are atomics:
 * the loop updates them, the metrics server's thread reads them. */
#include "obs/obs.h"

#include "base/base.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* registration and new series */
static obs_counter_t *counters, **counters_tail = &counters;

void obs_counter_register(obs_counter_t *c)
{
    pthread_mutex_lock(&mu);
    obs_counter_t *p = counters;
    while (p && p != c)
        p = p->next;
    if (!p) {
        c->next = NULL;
        *counters_tail = c;
        counters_tail = &c->next;
    }
    pthread_mutex_unlock(&mu);
}

/* ---- labelled families ---- */

typedef struct obs_series {
    const struct obs_family *family;              /* its family (bounds of a histogram) */
    char *values[OBS_LABELS_MAX];                 /* owned, set before the series is published */
    _Atomic int64_t v;                            /* counter or gauge */
    _Atomic uint64_t bucket[OBS_BUCKETS_MAX + 1]; /* histogram: per bound, last is +Inf */
    _Atomic uint64_t sum_us;                      /* histogram: sum in microseconds */
} series_t;

struct obs_family {
    const char *name, *help;
    obs_kind_t kind;
    char *label_names[OBS_LABELS_MAX];
    size_t nl;
    double bounds[OBS_BUCKETS_MAX];
    size_t nb;
    series_t *s;      /* OBS_SERIES_MAX + 1: the last one is "other" */
    _Atomic size_t n; /* series published (readers take 0..n-1) */
    struct obs_family *next;
};

static obs_family_t *families, **families_tail = &families;

obs_family_t *obs_family(const char *name, const char *help, obs_kind_t kind, const char *labels,
                         const double *buckets, size_t nb)
{
    pthread_mutex_lock(&mu);
    obs_family_t *f = families;
    while (f && strcmp(f->name, name))
        f = f->next;
    if (!f) {
        f = fedge_calloc(1, sizeof(*f));
        f->name = name;
        f->help = help;
        f->kind = kind;
        for (const char *l = labels ? labels : ""; *l && f->nl < OBS_LABELS_MAX;) {
            size_t k = strcspn(l, ",");
            f->label_names[f->nl++] = fedge_strndup(l, k);
            l += k + (l[k] == ',');
        }
        f->nb = nb < OBS_BUCKETS_MAX ? nb : OBS_BUCKETS_MAX;
        for (size_t i = 0; i < f->nb; i++)
            f->bounds[i] = buckets[i];
        f->s = fedge_calloc(OBS_SERIES_MAX + 1, sizeof(series_t));
        for (size_t i = 0; i <= OBS_SERIES_MAX; i++)
            f->s[i].family = f;
        for (size_t i = 0; i < f->nl; i++)
            f->s[OBS_SERIES_MAX].values[i] = fedge_strdup("other");
        *families_tail = f;
        families_tail = &f->next;
    }
    pthread_mutex_unlock(&mu);
    return f;
}

static bool same(const series_t *s, size_t nl, const char *const *v)
{
    for (size_t i = 0; i < nl; i++) /* stored values are cut at OBS_VALUE_MAX */
        if (strncmp(s->values[i], v[i], OBS_VALUE_MAX) ||
            strlen(s->values[i]) != strnlen(v[i], OBS_VALUE_MAX))
            return false;
    return true;
}

/* The series of f with label values v, created when missing; the shared
 * "other" series when f is full. */
static series_t *series(obs_family_t *f, const char *const *v)
{
    size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (same(&f->s[i], f->nl, v))
            return &f->s[i];
    pthread_mutex_lock(&mu);
    n = atomic_load_explicit(&f->n, memory_order_relaxed);
    series_t *s = NULL;
    for (size_t i = 0; i < n && !s; i++)
        if (same(&f->s[i], f->nl, v))
            s = &f->s[i];
    if (!s && n < OBS_SERIES_MAX) {
        s = &f->s[n];
        for (size_t i = 0; i < f->nl; i++)
            s->values[i] = fedge_strndup(v[i], strnlen(v[i], OBS_VALUE_MAX));
        atomic_store_explicit(&f->n, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&mu);
    return s ? s : &f->s[OBS_SERIES_MAX];
}

static series_t *series_va(obs_family_t *f, va_list ap)
{
    const char *v[OBS_LABELS_MAX];
    for (size_t i = 0; i < f->nl; i++) {
        v[i] = va_arg(ap, const char *);
        if (!v[i])
            v[i] = "";
    }
    return series(f, v);
}

obs_series_t *obs_series(obs_family_t *f, ...)
{
    va_list ap;
    va_start(ap, f);
    series_t *s = series_va(f, ap);
    va_end(ap);
    return s;
}

void obs_series_add(obs_series_t *s, int64_t n)
{
    atomic_fetch_add_explicit(&s->v, n, memory_order_relaxed);
}

void obs_add(obs_family_t *f, int64_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    series_t *s = series_va(f, ap);
    va_end(ap);
    atomic_fetch_add_explicit(&s->v, n, memory_order_relaxed);
}

void obs_set(obs_family_t *f, int64_t v, ...)
{
    va_list ap;
    va_start(ap, v);
    series_t *s = series_va(f, ap);
    va_end(ap);
    atomic_store_explicit(&s->v, v, memory_order_relaxed);
}

void obs_observe(obs_family_t *f, double seconds, ...)
{
    va_list ap;
    va_start(ap, seconds);
    series_t *s = series_va(f, ap);
    va_end(ap);
    obs_series_observe(s, seconds);
}

void obs_series_observe(obs_series_t *s, double seconds)
{
    const obs_family_t *f = s->family;
    if (!(seconds >= 0)) /* negative or NaN: a clock step; count it as 0 */
        seconds = 0;
    size_t b = 0;
    while (b < f->nb && seconds > f->bounds[b])
        b++;
    atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
    double us = seconds * 1e6;
    atomic_fetch_add_explicit(&s->sum_us, us < 1e18 ? (uint64_t)us : (uint64_t)1e18,
                              memory_order_relaxed);
}

/* ---- bounded label sets ---- */

struct obs_labelset {
    pthread_mutex_t mu;
    char **v;
    size_t n, cap;
};

obs_labelset_t *obs_labelset_new(size_t cap)
{
    obs_labelset_t *ls = fedge_calloc(1, sizeof(*ls));
    pthread_mutex_init(&ls->mu, NULL);
    ls->cap = cap;
    ls->v = fedge_calloc(cap ? cap : 1, sizeof(char *));
    return ls;
}

void obs_labelset_free(obs_labelset_t *ls)
{
    if (!ls)
        return;
    for (size_t i = 0; i < ls->n; i++)
        free(ls->v[i]);
    free(ls->v);
    pthread_mutex_destroy(&ls->mu);
    free(ls);
}

const char *obs_labelset_pick(obs_labelset_t *ls, fedge_str_t v, char *buf)
{
    size_t n = v.len < OBS_VALUE_MAX ? v.len : OBS_VALUE_MAX;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)v.s[i]);
    buf[n] = '\0';
    if (!n)
        return buf;
    const char *r = "other";
    pthread_mutex_lock(&ls->mu);
    for (size_t i = 0; i < ls->n; i++)
        if (!strcmp(ls->v[i], buf)) {
            r = buf;
            break;
        }
    if (r != buf && ls->n < ls->cap) {
        ls->v[ls->n++] = fedge_strdup(buf);
        r = buf;
    }
    pthread_mutex_unlock(&ls->mu);
    return r;
}

/* ---- output ---- */

static void put_escaped(FILE *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (quote && *s == '"')
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

static void put_head(FILE *out, const char *name, const char *help, const char *type)
{
    fprintf(out, "# HELP %s ", name);
    put_escaped(out, help ? help : "", false);
    fprintf(out, "\n# TYPE %s %s\n", name, type);
}

/* name{l1="v1",l2="v2"[,le="x"]} */
static void put_series_name(FILE *out, const obs_family_t *f, const series_t *s, const char *suffix,
                            const char *le)
{
    fprintf(out, "%s%s", f->name, suffix);
    if (!f->nl && !le)
        return;
    fputc('{', out);
    for (size_t i = 0; i < f->nl; i++) {
        fprintf(out, "%s%s=\"", i ? "," : "", f->label_names[i]);
        put_escaped(out, s->values[i], true);
        fputc('"', out);
    }
    if (le)
        fprintf(out, "%sle=\"%s\"", f->nl ? "," : "", le);
    fputc('}', out);
}

static bool series_used(const obs_family_t *f, const series_t *s)
{
    if (f->kind != OBS_KIND_HISTOGRAM)
        return atomic_load_explicit(&s->v, memory_order_relaxed) != 0;
    for (size_t b = 0; b <= f->nb; b++)
        if (atomic_load_explicit(&s->bucket[b], memory_order_relaxed))
            return true;
    return false;
}

static void write_series(FILE *out, const obs_family_t *f, const series_t *s)
{
    if (f->kind != OBS_KIND_HISTOGRAM) {
        put_series_name(out, f, s, "", NULL);
        fprintf(out, " %lld\n", (long long)atomic_load_explicit(&s->v, memory_order_relaxed));
        return;
    }
    uint64_t cum = 0;
    for (size_t b = 0; b <= f->nb; b++) {
        cum += atomic_load_explicit(&s->bucket[b], memory_order_relaxed);
        char le[32];
        if (b < f->nb)
            snprintf(le, sizeof(le), "%g", f->bounds[b]);
        else
            snprintf(le, sizeof(le), "+Inf");
        put_series_name(out, f, s, "_bucket", le);
        fprintf(out, " %llu\n", (unsigned long long)cum);
    }
    put_series_name(out, f, s, "_sum", NULL);
    fprintf(out, " %.6f\n", (double)atomic_load_explicit(&s->sum_us, memory_order_relaxed) / 1e6);
    put_series_name(out, f, s, "_count", NULL);
    fprintf(out, " %llu\n", (unsigned long long)cum);
}

static obs_family_t *first_family(void)
{
    pthread_mutex_lock(&mu);
    obs_family_t *f = families;
    pthread_mutex_unlock(&mu);
    return f;
}

int obs_metrics_write(FILE *out)
{
    pthread_mutex_lock(&mu);
    obs_counter_t *c0 = counters;
    pthread_mutex_unlock(&mu);
    /* The lists only grow at their tails and entries are never removed, so
     * walking them after reading the head under the lock is safe. */
    for (obs_counter_t *c = c0; c; c = c->next) {
        put_head(out, c->name, c->help, "counter");
        fprintf(out, "%s %llu\n", c->name,
                (unsigned long long)atomic_load_explicit(&c->value, memory_order_relaxed));
    }
    static const char *const types[] = {"counter", "gauge", "histogram"};
    for (obs_family_t *f = first_family(); f; f = f->next) {
        put_head(out, f->name, f->help, types[f->kind]);
        size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
        for (size_t i = 0; i < n; i++)
            write_series(out, f, &f->s[i]);
        if (!f->nl && !n) /* an unlabelled family always has its one series */
            write_series(out, f, &f->s[OBS_SERIES_MAX]);
        else if (f->nl && series_used(f, &f->s[OBS_SERIES_MAX]))
            write_series(out, f, &f->s[OBS_SERIES_MAX]);
    }
    return ferror(out) ? FEDGE_EIO : 0;
}

void obs_metrics_totals(void (*cb)(void *ctx, const char *name, double total), void *ctx)
{
    pthread_mutex_lock(&mu);
    obs_counter_t *c0 = counters;
    pthread_mutex_unlock(&mu);
    for (obs_counter_t *c = c0; c; c = c->next)
        cb(ctx, c->name, (double)atomic_load_explicit(&c->value, memory_order_relaxed));
    for (obs_family_t *f = first_family(); f; f = f->next) {
        size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
        double t = 0;
        for (size_t i = 0; i <= OBS_SERIES_MAX; i++) {
            if (i >= n && i < OBS_SERIES_MAX)
                continue;
            const series_t *s = &f->s[i];
            if (f->kind != OBS_KIND_HISTOGRAM) {
                t += (double)atomic_load_explicit(&s->v, memory_order_relaxed);
                continue;
            }
            for (size_t b = 0; b <= f->nb; b++)
                t += (double)atomic_load_explicit(&s->bucket[b], memory_order_relaxed);
        }
        cb(ctx, f->name, t);
    }
}

void obs_metrics_zero(void)
{
    pthread_mutex_lock(&mu);
    for (obs_counter_t *c = counters; c; c = c->next)
        atomic_store(&c->value, 0);
    for (obs_family_t *f = families; f; f = f->next)
        for (size_t i = 0; i <= OBS_SERIES_MAX; i++) {
            atomic_store(&f->s[i].v, 0);
            atomic_store(&f->s[i].sum_us, 0);
            for (size_t b = 0; b <= OBS_BUCKETS_MAX; b++)
                atomic_store(&f->s[i].bucket[b], 0);
        }
    pthread_mutex_unlock(&mu);
}
