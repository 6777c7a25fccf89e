/* admin_int.h — internals shared by the files of src/admin: tokens, the
 * login throttle, the session table, the JSON API dispatcher (pure of HTTP,
 * so unit tests call it directly) and the embedded web assets. */
#ifndef FEDGE_ADMIN_INT_H
#define FEDGE_ADMIN_INT_H

#include "admin/admin.h"
#include "store/store.h"

#include <jansson.h>

/* ---- tokens (auth.c) ---- */

#define ADMIN__HEX 65 /* 64 hex digits of 256 bits, and a NUL */

/* 32 random bytes (OpenSSL RAND_bytes) as 64 lowercase hex digits.
 * FEDGE_EIO when the generator fails. */
int admin__random_hex(char out[ADMIN__HEX], fedge_err_t *err);
/* SHA-256 of s as 64 lowercase hex digits. */
void admin__sha256_hex(const char *s, size_t len, char out[ADMIN__HEX]);
/* Constant-time (for equal lengths) equality of two NUL-terminated texts;
 * NULL equals nothing. */
bool admin__ct_equal(const char *a, const char *b);

/* ---- login throttle (guard.c): explicit time, no clock ---- */

/* Failures forgiven before delays start, per account and per source IP. */
#define ADMIN__FREE_ACCOUNT 3
#define ADMIN__FREE_IP 10
#define ADMIN__DELAY_MAX_S 300
#define ADMIN__FORGET_S 900 /* failures older than this are forgotten */

/* Seconds to wait after `failures` failed logins when `free` are free:
 * 0 up to free, then 1, 2, 4 ... capped at ADMIN__DELAY_MAX_S. */
uint32_t admin__delay_s(uint32_t failures, uint32_t free);

typedef struct admin__guard admin__guard_t;
/* A bounded table (max entries; the stalest is evicted when full). */
admin__guard_t *admin__guard_new(size_t max);
void admin__guard_free(admin__guard_t *g);
/* Milliseconds until a login for account from ip may be tried (0: now);
 * times in milliseconds (a second boundary between two attempts must not
 * shorten a delay). */
uint32_t admin__guard_wait(admin__guard_t *g, const char *account, const char *ip, int64_t now_ms);
/* Records a failed / successful login (success forgets the account's and
 * the address's failures). */
void admin__guard_fail(admin__guard_t *g, const char *account, const char *ip, int64_t now_ms);
void admin__guard_ok(admin__guard_t *g, const char *account, const char *ip);
/* Shares the failures through store s as well (the members of a pool
 * throttle together): failures are then counted in both, in the store by
 * the wall clock, and a wait is the longer of the two; a store that
 * cannot be read or written leaves the table alone in force. s is
 * borrowed (it outlives g and is used on g's thread only); NULL: the
 * table alone. */
void admin__guard_use_store(admin__guard_t *g, store_t *s);

/* ---- sessions (guard.c) ---- */

typedef struct {
    char id_hash[ADMIN__HEX]; /* SHA-256 of the cookie value: the id itself is not kept */
    char csrf[ADMIN__HEX];
    char account[STORE_NAME_MAX + 1];
    char pw_fp[ADMIN__HEX]; /* SHA-256 of the account's hash at login */
    int64_t created_s, last_s;
} admin__session_t;

typedef struct admin__sessions admin__sessions_t;
/* A table of at most max (0 counts as 1) sessions ending after idle_s
 * seconds unused or max_s in all; never NULL (aborts on OOM). _free wipes
 * the secrets and releases it; NULL is a no-op. */
admin__sessions_t *admin__sessions_new(size_t max, uint32_t idle_s, uint32_t max_s);
void admin__sessions_free(admin__sessions_t *ss);
/* A new session: writes the cookie value (id) and the CSRF token. When the
 * table is full the least recently used session ends. FEDGE_EIO when no
 * randomness. */
int admin__session_new(admin__sessions_t *ss, const char *account, const char *pw_fp, int64_t now_s,
                       char id[ADMIN__HEX], char csrf[ADMIN__HEX], fedge_err_t *err);
/* The live session of cookie value id (refreshing its idle timer), or
 * NULL (unknown, idle too long, too old: an expired one is removed). */
admin__session_t *admin__session_get(admin__sessions_t *ss, const char *id, int64_t now_s);
/* Ends one session (logout); unknown ids are ignored. */
void admin__session_end(admin__sessions_t *ss, const char *id);
/* Number of live sessions (tests). */
size_t admin__session_count(const admin__sessions_t *ss);
/* Keeps the sessions in store s too (the members of a pool share them and
 * a restart signs nobody out): new sessions are written there (a failure
 * fails the login), a lookup reads the store first (a session ended or
 * expired anywhere ends here; one made on another member is taken in) and
 * refreshes its idle timer there at most every ADMIN__TOUCH_S; when the
 * store cannot be read the table alone answers. s is borrowed (it outlives
 * ss and is used on ss's thread only); NULL: the table alone. */
#define ADMIN__TOUCH_S 30
void admin__sessions_use_store(admin__sessions_t *ss, store_t *s);

/* ---- JSON API (api.c) ---- */

typedef struct {
    store_t *store;
    const char *store_path;
    const char *edge_fqdn;
    admin_status_cb status_cb;
    void *status_ctx;
    int64_t started_s;
    const char *sip_domains; /* "a.test,b.test" or NULL: assignments outside warn */
    admin_media_cb media_cb; /* GET /api/media; NULL: no [media] */
    void *media_ctx;
} admin__api_t;

/* Handles one authenticated API request: method ("GET", "POST", "PUT",
 * "DELETE"), path below /api ("/domains/allowed/contoso.com"), query
 * parameter limit (NULL if absent), the parsed body (NULL when none),
 * actor for the audit ("admin:alice"). Returns the HTTP status and sets
 * *out to the JSON body (NULL for 204); 400 bodies are
 * {"field": NAME, "error": TEXT}, other errors {"error": TEXT}. */
int admin__api(admin__api_t *api, const char *method, const char *path, const char *limit,
               json_t *body, const char *actor, json_t **out);

/* The same with every query parameter: arg(ctx, NAME) gives the value of
 * NAME (NULL if absent); the strings must live until the call returns.
 * Lists take q, sort, dir (asc|desc), offset and limit (docs/admin.md). */
typedef const char *(*admin__arg_fn)(void *ctx, const char *name);
int admin__api_args(admin__api_t *api, const char *method, const char *path, admin__arg_fn arg,
                    void *arg_ctx, json_t *body, const char *actor, json_t **out);

/* {"field": field, "error": msg} */
json_t *admin__field_error(const char *field, const char *msg);

/* ---- status builder (status.c) ---- */

struct admin_status {
    json_t *partners; /* object domain -> {connections, requests, rejections} */
    json_t *diags;    /* object "ID" -> count */
    json_t *errors;   /* array of {at, text} */
    json_t *counters; /* object name -> value */
    json_t *history;  /* {minute0, partners: {domain: {requests: [60], rejections: [60]}}} */
};

/* ---- calls' media (media.c) ---- */

struct admin_media {
    json_t *calls;  /* array of {call, relay, state, from, age_s, idle_s} */
    json_t *relays; /* array of {relay, up, last_at, last_command, last_result, rtt_ms} */
    uint64_t total, max_calls;
    int64_t at_s;
};

/* GET /api/media: {"enabled": false, "note"} without media_cb, else the
 * builder's figures. Returns 200 with *out. */
int admin__media(admin__api_t *api, json_t **out);

/* ---- web assets ($(BUILD)/gen/admin/www_assets.c, generated from src/admin/www/
 * by scripts/embed-www in the build) ---- */

typedef struct {
    const char *path; /* "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} admin__asset_t;

extern const admin__asset_t admin__assets[];
extern const size_t admin__n_assets;

#endif
