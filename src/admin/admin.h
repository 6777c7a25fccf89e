/* admin.h — the administration server of fedge (docs/admin.md): a REST API and
 * the web panel on [admin] listen (libmicrohttpd + jansson), with
 * administrator accounts, sessions, CSRF protection and login throttling;
 * plus the password hashing the `fedge admin` commands share with it. */
#ifndef FEDGE_ADMIN_H
#define FEDGE_ADMIN_H

#include "base/base.h"
#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Passwords                                                           */
/* ------------------------------------------------------------------ */

/* Room for a hash text, with its NUL (fits STORE_ACCOUNT_HASH_MAX). */
#define ADMIN_HASH_MAX 200
#define ADMIN_PASSWORD_MIN 8    /* bytes */
#define ADMIN_PASSWORD_MAX 1024 /* bytes */

/* Checks a new password: ADMIN_PASSWORD_MIN..MAX bytes, no control
 * characters. FEDGE_EINVAL with a message naming "password" otherwise. */
int admin_password_check(const char *password, fedge_err_t *err);

/* Hashes password with scrypt (OpenSSL EVP_KDF "SCRYPT", N = 2^15, r = 8,
 * p = 1, 16 random bytes of salt, 32 bytes of key) into out (size outsz >=
 * ADMIN_HASH_MAX) as "scrypt$15$8$1$SALTHEX$KEYHEX". Returns 0, FEDGE_ENOSPC
 * or FEDGE_EIO (no randomness, KDF failure) with a message. */
int admin_password_hash(const char *password, char *out, size_t outsz, fedge_err_t *err);

/* The same with a chosen cost (log2 N in 10..20) and salt (for tests). */
int admin_password_hash_with(const char *password, unsigned log2n, const uint8_t *salt,
                             size_t saltlen, char *out, size_t outsz, fedge_err_t *err);

/* True when password matches stored (a text made above); the key is
 * compared in constant time. A malformed stored text never matches. */
bool admin_password_verify(const char *password, const char *stored);

/* ------------------------------------------------------------------ */
/* Live status of the edge                                             */
/* ------------------------------------------------------------------ */

/* What the edge fills in for GET /api/status (opaque builder). */
typedef struct admin_status admin_status_t;

/* One partner domain: open connections, requests received from and sent to
 * it, and how many of them fedge rejected. */
void admin_status_partner(admin_status_t *st, const char *domain, uint64_t connections,
                          uint64_t requests, uint64_t rejections);
/* Rejections by diagnostic ID (policy.h). */
void admin_status_diag(admin_status_t *st, int diag_id, uint64_t count);
/* A recent error: at is UTC text ("2026-11-26T20:00:00Z"), text one line.
 * Keep it to the last few dozen. */
void admin_status_error(admin_status_t *st, const char *at, const char *text);
/* Any other named counter (e.g. connections in total). */
void admin_status_counter(admin_status_t *st, const char *name, uint64_t value);

/* Called on the admin server's own thread for each GET /api/status: the
 * edge adds its figures with the functions above. It runs concurrently
 * with the edge's loop, so it must read what it reports in a thread-safe
 * way (a mutex, atomics, or a copy the loop publishes). Strings are copied. */
typedef void (*admin_status_cb)(admin_status_t *st, void *ctx);

/* A ready-made, thread-safe accumulator of these figures for the edge:
 * the loop records (from its policy hook, connection callbacks, error
 * paths), the admin thread reports through admin_stats_report as the
 * status_cb with the admin_stats_t as status_ctx. Bounded: at most
 * ADMIN_STATS_PARTNERS partner domains (later ones are counted under
 * "(other)"), ADMIN_STATS_DIAGS diagnostic IDs, the last ADMIN_STATS_ERRORS
 * errors. Domains are lowercased and cut at 253 bytes. */
#define ADMIN_STATS_PARTNERS 1024
#define ADMIN_STATS_DIAGS 64
#define ADMIN_STATS_ERRORS 50
typedef struct admin_stats admin_stats_t;
/* An empty accumulator; never NULL (aborts on OOM); admin_stats_free it. */
admin_stats_t *admin_stats_new(void);
/* NULL is a no-op; stop the admin server (which may be reporting) first. */
void admin_stats_free(admin_stats_t *st);
/* One request from or to partner domain; diag_id 0 when it was allowed,
 * else the diagnostic ID it was rejected with (counted per ID too). */
void admin_stats_request(admin_stats_t *st, fedge_str_t domain, int diag_id);
/* Connections open to/from partner domain changed by delta (+1 / -1). */
void admin_stats_connection(admin_stats_t *st, fedge_str_t domain, int delta);
/* A recent error (one line; stamped with the current UTC time). */
void admin_stats_error(admin_stats_t *st, const char *text);
/* The status_cb: reports everything recorded (ctx is the admin_stats_t),
 * the totals of every metric (obs_metrics_totals) as counters, and the last
 * hour per minute for the 8 busiest partners ("history"). */
void admin_stats_report(admin_status_t *out, void *ctx);
/* For tests: the clock of the per-minute history, in seconds since the
 * epoch (NULL: time()). Call it before recording. */
void admin_stats_set_clock(admin_stats_t *st, int64_t (*now_s)(void));

/* ------------------------------------------------------------------ */
/* Calls' media (GET /api/media)                                       */
/* ------------------------------------------------------------------ */

/* What the edge fills in for GET /api/media: the relayed calls (at most
 * ADMIN_MEDIA_CALLS_MAX are listed, with the total) and each relay's
 * health. Opaque builder; strings are copied. */
#define ADMIN_MEDIA_CALLS_MAX 200
typedef struct admin_media admin_media_t;

/* The calls the edge relays now, its [media] max_calls, and the UTC time
 * (seconds since the epoch) the figures were taken. */
void admin_media_total(admin_media_t *m, uint64_t calls, uint64_t max_calls, int64_t at_s);
/* One relay (host:port): up when it answered its last ng request; the
 * last request that ended there: when (0: none yet), which command, its
 * result ("pong", "ok", "error: ...", "no answer", "refused") and round
 * trip (rtt_us < 0: not answered). */
void admin_media_relay(admin_media_t *m, const char *relay, bool up, int64_t last_at_s,
                       const char *last_cmd, const char *last_result, int64_t rtt_us);
/* One call: call is its shortened Call-ID (the caller shortens it:
 * docs/admin.md says why), relay "host:port" (NULL: not known), state
 * ("setting up", "active", "updating"), the side its first request came
 * from ("internal" or "external"), seconds since it started and since its
 * last message. Calls beyond ADMIN_MEDIA_CALLS_MAX are ignored. */
void admin_media_call(admin_media_t *m, const char *call, const char *relay, const char *state,
                      const char *from_side, int64_t age_s, int64_t idle_s);

/* Called on the admin server's thread for each GET /api/media; like
 * admin_status_cb it must read what it reports in a thread-safe way. */
typedef void (*admin_media_cb)(admin_media_t *m, void *ctx);

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *store_path;          /* [edge] store; the server opens its own connection */
    const config_hostport_t *listen; /* IP literal and port (port 0: any free port) */
    const char *certificate;         /* PEM files; both or neither. Needed when */
    const char *private_key;         /* listen is not a loopback address (HTTPS) */
    const char *edge_fqdn;           /* shown in the panel; may be NULL */
    admin_status_cb status_cb;       /* NULL: status without edge figures */
    void *status_ctx;
    uint32_t session_idle_s;  /* 0: 1800 (30 min) */
    uint32_t session_max_s;   /* 0: 43200 (12 h) */
    char *const *sip_domains; /* [edge] sip_domains: the panel warns about */
    size_t n_sip_domains;     /* user assignments outside them; may be 0 */
    admin_media_cb media_cb;  /* NULL: no [media] (GET /api/media says so) */
    void *media_ctx;
} admin_opts_t;

typedef struct admin admin_t;

/* Starts the admin server in its own thread (one thread polling
 * libmicrohttpd: every request is handled in turn, so the server's own
 * store connection is used by that thread only). Held connections are
 * bounded: 256 in all, 8 per address, 10 s without a byte, and a request
 * must arrive whole within 10 s of the connection opening or the previous
 * answer (trickled bytes do not extend it). The edge
 * sees the changes by polling the store (store_refresh). Refuses a
 * non-loopback listen address without certificate and private key
 * (FEDGE_ECONFIG), and HTTPS when libmicrohttpd lacks TLS support
 * (FEDGE_ETLS). Other errors: FEDGE_ESTORE/FEDGE_EIO (store), FEDGE_EIO
 * (cannot listen, cannot read the key files). On success *out is set; stop
 * it with admin_stop. opts and the strings in it are copied. */
int admin_start(const admin_opts_t *opts, admin_t **out, fedge_err_t *err);

/* The TCP port the server listens on (useful with port 0). */
uint16_t admin_port(const admin_t *a);

/* The URL of the panel ("http://127.0.0.1:8080/"), valid until admin_stop. */
const char *admin_url(const admin_t *a);

/* Stops the server (waits for its thread), closes its store, forgets every
 * session. NULL is a no-op. */
void admin_stop(admin_t *a);

/* ------------------------------------------------------------------ */
/* Prometheus scrape endpoint ([metrics] listen, src/admin/metrics.c)  */
/* ------------------------------------------------------------------ */

/* Plain HTTP, no session: GET /metrics answers every obs metric
 * (obs_metrics_write) in the Prometheus text format; anything else is 404
 * or 405. Runs in its own libmicrohttpd thread. Meant for a loopback or
 * monitoring-network address (docs/configuration.md, "[metrics]"). */
typedef struct admin_metrics admin_metrics_t;

/* Listens on listen (IP literal; port 0: any free port). Returns 0 and
 * *out, or FEDGE_ECONFIG (not an IP literal) / FEDGE_EIO (cannot listen)
 * with a message naming [metrics] listen. listen is copied. */
int admin_metrics_start(const config_hostport_t *listen, admin_metrics_t **out, fedge_err_t *err);

/* The bound port, and the URL of the endpoint ("http://127.0.0.1:9464/metrics"),
 * valid until admin_metrics_stop. 0 / "" for NULL. */
uint16_t admin_metrics_port(const admin_metrics_t *m);
const char *admin_metrics_url(const admin_metrics_t *m);

/* Stops the server (waits for its thread). NULL is a no-op. */
void admin_metrics_stop(admin_metrics_t *m);

#endif
