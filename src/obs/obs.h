/* obs.h — observability: leveled, structured log lines (text or JSON, one
 * per line) and a tiny registry of counters for metrics. */
#ifndef FEDGE_OBS_H
#define FEDGE_OBS_H

#include "base/base.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Log levels, least to most severe. A line is written when its level is at
 * or above the configured level. */
typedef enum {
    OBS_LOG_DEBUG = 0,
    OBS_LOG_INFO = 1,
    OBS_LOG_NOTICE = 2,
    OBS_LOG_WARNING = 3,
    OBS_LOG_ERROR = 4,
} obs_level_t;

/* Output formats:
 *   text  2026-11-26T20:00:00.123Z info proxy: message k=v k2="a b"
 *   json
 * {"ts":"2026-11-26T20:00:00.123Z","level":"info","component":"proxy","msg":"message","k":"v"} In
 * both, control characters are escaped (a newline from a peer can never start a forged log line);
 * JSON output is valid UTF-8 (invalid bytes become U+FFFD). The message is cut at 4096 bytes and
 * each value at 1024 bytes. */
typedef enum {
    OBS_LOG_TEXT = 0,
    OBS_LOG_JSON = 1,
} obs_format_t;

/* Lowercase name of a level ("debug" ... "error"); "?" when out of range. */
const char *obs_level_name(obs_level_t level);

/* Parses "debug", "info", "notice", "warning" or "error" (exact, lowercase;
 * "warn" is accepted for "warning"). Returns 0 or FEDGE_EINVAL. */
int obs_level_parse(const char *s, obs_level_t *out);

/* "text" or "json" for a format. */
const char *obs_format_name(obs_format_t format);

/* Parses "text" or "json". Returns 0 or FEDGE_EINVAL. */
int obs_format_parse(const char *s, obs_format_t *out);

/* Sets the level, format and stream of the process-wide logger. out is
 * borrowed (not closed by obs); NULL means stderr. Before any call the
 * logger writes level info and above as text to stderr. Not thread-safe
 * against concurrent logging: call it at start-up or from the loop thread. */
void obs_log_init(obs_level_t level, obs_format_t format, FILE *out);

/* For tests: a clock returning the time to stamp lines with, in milliseconds
 * since the Unix epoch; NULL restores the real clock. */
void obs_log_set_clock(int64_t (*now_ms)(void));

/* The configured minimum level; read it through obs_log_enabled(). */
extern obs_level_t obs__log_min_level;

/* True when a line of this level would be written: one comparison. */
static inline bool obs_log_enabled(obs_level_t level)
{
    return level >= obs__log_min_level;
}

/* Writes one log line: printf-style message from component (a short name
 * such as "proxy", "net", "config"). A macro, so that a filtered-out line
 * costs one comparison and its arguments are NOT evaluated (do not put side
 * effects in them).
 *
 * NEVER pass secrets — private keys, passwords, session cookies, CSRF
 * tokens, password hashes — to any obs_log* function: logs are shipped to
 * other tools and people. Log the name of a file, never its content. */
#define obs_log(level, component, ...)                                                             \
    do {                                                                                           \
        if (obs_log_enabled(level))                                                                \
            obs_logf((level), (component), __VA_ARGS__);                                           \
    } while (0)

/* The function behind obs_log(): checks the level again and writes. */
void obs_logf(obs_level_t level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Structured variant: a fixed message followed by key/value pairs given as
 * const char * arguments and ended by NULL, e.g.
 *     obs_logkv(OBS_LOG_INFO, "proxy", "request refused",
 *               "peer", "192.0.2.7", "status", "403", NULL);
 * Text: `... proxy: request refused peer=192.0.2.7 status=403` (a value with
 * spaces, quotes, '=' or control characters is quoted and escaped; a NULL
 * value prints as -). JSON: each pair is a string member ("status":"403";
 * NULL value → null). Keys should be [a-z0-9_]; the names ts, level,
 * component and msg are taken by the line itself. At most 32 pairs are
 * written. Filtered out at the cost of one comparison; values are not
 * copied or inspected when filtered. Same rule on secrets as obs_log(). */
void obs_logkv(obs_level_t level, const char *component, const char *msg, ...);

/* Summarised events: what a peer can cause at will (refused connections,
 * failed handshakes) logged at a bounded rate however many arrive. Per
 * key (the reason) and interval, the first `burst` events are written one
 * by one (message `one`, keys reason and peer), the rest only counted;
 * when the interval ends, each key with events left unwritten gets one
 * line, e.g. with verb "refused" and noun "connections":
 *     refused 86,487 connections from 115 addresses in the last 10 s: max_connections
 * (keys reason, count, addresses). So at most (burst + 1) lines per key
 * and interval, and at most OBS_SUMMARY_KEYS keys (later keys count under
 * "other"). Addresses are counted exactly up to OBS_SUMMARY_ADDRS, then
 * shown as "more than N". Memory is fixed at creation. Loop thread only,
 * like the logger. */
#define OBS_SUMMARY_KEYS 16
#define OBS_SUMMARY_ADDRS 1024

typedef struct obs_summary obs_summary_t;

/* Creates a summary; the strings are borrowed (use literals). interval_ms
 * 0 means 10 s. Never fails (allocation failure aborts). */
obs_summary_t *obs_summary_new(obs_level_t level, const char *component, const char *one,
                               const char *verb, const char *noun, uint32_t interval_ms,
                               unsigned burst);

/* Counts one event with key (cut at 95 bytes) from addr (may be NULL) at
 * now_ms (any monotonic clock in ms, the same for every call). */
void obs_summary_add(obs_summary_t *s, int64_t now_ms, const char *key, const char *addr);

/* Writes the summary lines of an interval that has ended. Call it at least
 * once per interval (a timer): add() calls it too, but after the last
 * event of a flood only the timer does. */
void obs_summary_tick(obs_summary_t *s, int64_t now_ms);

/* Writes what is pending (as if the interval had ended) and frees s
 * (NULL is a no-op). */
void obs_summary_free(obs_summary_t *s);

/* Counters: a monotonic 64-bit value with a fixed name, for metrics.
 * Declare one with static storage and register it once:
 *     static obs_counter_t rx = OBS_COUNTER_INIT("fedge_sip_requests_total",
 *                                                "SIP requests received");
 *     obs_counter_register(&rx);  ...  obs_counter_add(&rx, 1);
 * Updated on the loop, read by the metrics server's thread: atomic. */
typedef struct obs_counter {
    const char *name;         /* Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]* */
    const char *help;         /* one line of help text */
    _Atomic uint64_t value;   /* atomic: the metrics server reads it from its thread */
    struct obs_counter *next; /* registry link, owned by obs */
} obs_counter_t;

#define OBS_COUNTER_INIT(name, help)                                                               \
    {                                                                                              \
        (name), (help), 0, NULL                                                                    \
    }

/* Adds c to the registry (idempotent). c is borrowed and must outlive every
 * later obs_metrics_write() call (use static storage). */
void obs_counter_register(obs_counter_t *c);

static inline void obs_counter_add(obs_counter_t *c, uint64_t n)
{
    c->value += n;
}

/* Writes every registered counter, then every labelled family below, in the
 * Prometheus text exposition format (version 0.0.4: # HELP, # TYPE, one line
 * per series, label values escaped), in registration order. Safe from any
 * thread. Returns 0 or FEDGE_EIO when the stream reports an error. */
int obs_metrics_write(FILE *out);

/* ---- labelled metrics (metrics.c): counters, gauges, histograms ---- */

typedef enum {
    OBS_KIND_COUNTER = 0,
    OBS_KIND_GAUGE = 1,
    OBS_KIND_HISTOGRAM = 2,
} obs_kind_t;

#define OBS_LABELS_MAX 4   /* label names per family */
#define OBS_SERIES_MAX 256 /* series per family; beyond, every label is "other" */
#define OBS_BUCKETS_MAX 16 /* histogram bounds (+Inf is implicit) */
#define OBS_VALUE_MAX 253  /* bytes of a label value kept (a domain name) */

typedef struct obs_family obs_family_t;

/* The family called name, created on first call (later calls with the same
 * name return it; the other arguments must then match). labels is a comma
 * separated list of label names ("side,method"; "" for none); buckets the
 * increasing upper bounds of a histogram (nb <= OBS_BUCKETS_MAX; NULL/0 for
 * other kinds). name, help and labels are borrowed (string literals).
 * Families live until the process ends. Thread-safe. */
obs_family_t *obs_family(const char *name, const char *help, obs_kind_t kind, const char *labels,
                         const double *buckets, size_t nb);

/* Adds n to the counter (or gauge) series of f with the label values that
 * follow, one const char * per label name of f (NULL counts as ""). Values
 * are copied, cut at OBS_VALUE_MAX bytes. Lock-free once the series exists. */
void obs_add(obs_family_t *f, int64_t n, ...);

/* The series of f with these label values (as obs_add), to count into
 * without a look-up: a hot path keeps the pointer (valid until the process
 * ends). The "other" series when f is full. */
typedef struct obs_series obs_series_t;
obs_series_t *obs_series(obs_family_t *f, ...);
void obs_series_add(obs_series_t *s, int64_t n);
/* Counts one observation into a histogram's series. */
void obs_series_observe(obs_series_t *s, double seconds);

/* Sets the series to v (a gauge, or a counter mirrored from a monotonic
 * source such as net_stats). Labels as obs_add. */
void obs_set(obs_family_t *f, int64_t v, ...);

/* Counts one observation of seconds into the histogram series. */
void obs_observe(obs_family_t *f, double seconds, ...);

/* A bounded set of label values (e.g. partner domains): the first cap
 * distinct values seen keep their own value, later ones become "other", so
 * that a family's cardinality stays bounded and every series stays
 * monotonic (a value never moves between series). Thread-safe. */
typedef struct obs_labelset obs_labelset_t;
obs_labelset_t *obs_labelset_new(size_t cap);
void obs_labelset_free(obs_labelset_t *ls);
/* v itself (lowercased into buf, size >= OBS_VALUE_MAX + 1) when kept,
 * else "other"; "" for an empty v. */
const char *obs_labelset_pick(obs_labelset_t *ls, fedge_str_t v, char *buf);

/* Calls cb for each counter and labelled family with the sum over its
 * series (a histogram gives its count of observations), for a short table
 * (the admin Status page). Safe from any thread. */
void obs_metrics_totals(void (*cb)(void *ctx, const char *name, double total), void *ctx);

/* For tests: sets every value of every family to zero (series stay). */
void obs_metrics_zero(void);

#endif
