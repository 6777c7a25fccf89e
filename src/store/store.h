/* store.h — the persistent federation configuration of fedge (docs/admin.md):
 * edge settings, allowed and blocked domains, providers, external access
 * policies and their assignments, the discovered-partner watch list and an
 * audit log of every change; immutable reference-counted snapshots for the
 * policy engine, and a cheap change check for live reload.
 *
 * Backend-neutral: no database type appears here. A store location is a
 * file path (SQLite, the embedded default) or a libpq connection URI
 * postgresql://... or postgres://... (PostgreSQL, shared by the members of
 * an edge pool: docs/pools.md); see store_int.h, store__backend_t.
 *
 * Threading: a store_t is used by one thread at a time. Snapshots are
 * immutable and may be shared between threads (atomic reference count).
 *
 * Blocking: every function taking a store_t may block — on SQLite's lock
 * (busy timeout 5 s) or on the network with PostgreSQL (bounded: connect
 * 3 s, statements 5 s, a dead peer 5 s; a server known to be down fails at
 * once until the reconnection backoff, 250 ms doubling to 4 s, allows a new
 * attempt). So never call them on the libuv loop of a running edge except
 * once at startup: use a worker thread (uv_queue_work), as the snapshot
 * refresh does. The validators, the location functions and the snapshot
 * functions (load excepted) never block. */
#ifndef FEDGE_STORE_H
#define FEDGE_STORE_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Limits and value domains (shared by CLI and REST API)               */
/* ------------------------------------------------------------------ */

#define STORE_FQDN_MAX 253    /* RFC 1035, without the trailing dot */
#define STORE_NAME_MAX 64     /* provider and policy names, site names */
#define STORE_COMMENT_MAX 512 /* comments, bytes */
#define STORE_USER_MAX 320    /* user@domain */
#define STORE_ACTOR_MAX 128   /* "cli:root", "admin:alice" */
/* The actor under which a starting edge seeds the store's routing settings
 * from its INI file (src/edge/feed.c); any other actor of the last routing
 * change is an administrator, whose setting wins (docs/configuration.md). */
#define STORE_ACTOR_INI "serve:ini"
#define STORE_PROVIDER_DOMAINS_MAX 1000

typedef enum {
    STORE_ROUTING_DNS_SRV = 0,       /* per partner domain (or configured FQDN) */
    STORE_ROUTING_DEFAULT_ROUTE = 1, /* all federated traffic to default_route */
} store_routing_t;

typedef enum {
    STORE_PROVIDER_HOSTING = 0, /* hosting provider (e.g. hosted Lync/SfB) */
    STORE_PROVIDER_PUBLIC = 1,  /* public IM provider */
} store_provider_kind_t;

typedef enum {
    STORE_VERIFY_ALWAYS_VERIFIED = 0,   /* trust the provider's users */
    STORE_VERIFY_ALWAYS_UNVERIFIED = 1, /* never trust them */
    STORE_VERIFY_USE_SOURCE = 2,        /* as the provider asserts per message */
} store_verification_t;

/* Names used on the command line, in JSON and in the store ("dns-srv",
 * "hosting", "always-verified", ...); never NULL. */
const char *store_routing_name(store_routing_t r);
const char *store_provider_kind_name(store_provider_kind_t k);
const char *store_verification_name(store_verification_t v);

/* ------------------------------------------------------------------ */
/* Validation: the same rules for CLI, REST API and store              */
/* ------------------------------------------------------------------ */

/* Each validator checks text s (NUL-terminated) for the value of field
 * (used in the message, e.g. "domain", "--proxy-fqdn"), writes the
 * normalised form into out (size outsz; lowercase) and returns 0, or
 * returns FEDGE_EINVAL with a message naming the field, the value and the
 * expected form. */

/* A DNS domain name with at least two labels: letters, digits, hyphens;
 * labels 1..63 not starting or ending with '-'; total <= 253; one trailing
 * dot allowed and removed; no IP literals. Lowercased. */
int store_check_domain(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err);

/* user@domain (a SIP address of record without scheme): a user part of
 * 1..64 RFC 3261 user characters (no '@', ':', ';', '<', '>', '"',
 * whitespace or controls), and a domain as store_check_domain. Lowercased. */
int store_check_user(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err);

/* A name (provider, policy, site): 1..64 of [A-Za-z0-9._-], starting with
 * a letter or digit. Lowercased. */
int store_check_name(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err);

/* "on" | "off" (also "true"/"false", "yes"/"no", "1"/"0"). */
int store_check_bool(const char *field, const char *s, bool *out, fedge_err_t *err);

/* A decimal integer in [min, max]. */
int store_check_uint(const char *field, const char *s, uint32_t min, uint32_t max, uint32_t *out,
                     fedge_err_t *err);

/* HOST[:PORT]: HOST a domain (>= 1 label accepted here: "localhost" is a
 * valid default route in tests) or an IPv4 literal or [IPv6]; PORT 1..65535.
 * Lowercased into out. */
int store_check_hostport(const char *field, const char *s, char *out, size_t outsz,
                         fedge_err_t *err);

/* Enum parsers: accept the names above; message lists the accepted ones. */
int store_check_routing(const char *field, const char *s, store_routing_t *out, fedge_err_t *err);
int store_check_provider_kind(const char *field, const char *s, store_provider_kind_t *out,
                              fedge_err_t *err);
int store_check_verification(const char *field, const char *s, store_verification_t *out,
                             fedge_err_t *err);

/* A policy scope: "global", "site:NAME" or NAME (a named policy); NAME as
 * store_check_name; "site:" alone or a named policy called "global" or
 * starting "site" followed by ':' are refused. Lowercased into out. */
int store_check_scope(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

typedef struct store store_t;

/* Is loc a PostgreSQL connection URI (postgresql:// or postgres://, any
 * case)? Anything else is a file path (SQLite). */
bool store_location_is_uri(const char *loc);

/* Checks a store location without connecting: a path is accepted as is;
 * a URI must parse as a libpq connection URI (known parameters only).
 * FEDGE_EINVAL with a message giving the expected form otherwise. */
int store_check_location(const char *loc, fedge_err_t *err);

/* Writes loc into out (size n, truncated, NUL-terminated) with the
 * password of a URI (user:PASSWORD@ or password=...) replaced by "***",
 * for messages and logs. Returns the length written. */
size_t store_location_shown(const char *loc, char *out, size_t n);

/* Opens (creating it if absent) the store at path and brings its schema to
 * the current version, each migration in its own transaction. path is a
 * file name (SQLite backend; WAL mode, foreign keys on, 5 s busy timeout)
 * or a PostgreSQL URI (the database must exist; fedge creates its tables
 * and LISTENs for changes). *out is set on success; close with
 * store_close. Errors: FEDGE_ESTORE with a message naming the file (or the
 * URI without its password) and what went wrong ("is not a fedge store /
 * is corrupt", "is locked by another process", "was written by a newer
 * fedge (schema N)", "cannot reach the PostgreSQL server (...)"),
 * FEDGE_EIO when the file cannot be opened. */
int store_open(const char *path, store_t **out, fedge_err_t *err);

/* Closes the store; NULL is a no-op. Snapshots stay valid. */
void store_close(store_t *s);

/* The schema version the store is at (after store_open: the current one). */
int store_schema_version(store_t *s, int *version, fedge_err_t *err);

/* The schema version this fedge writes. */
int store_schema_current(void);

/* ------------------------------------------------------------------ */
/* Changes. Every function below is one transaction: all or nothing,   */
/* plus one audit entry per change, by actor (e.g. "cli:root",         */
/* "admin:alice"; 1..128 printable characters). Inputs are validated   */
/* as above (FEDGE_EINVAL naming the field). FEDGE_ESTORE when the     */
/* store is locked past the busy timeout or corrupt.                   */
/* ------------------------------------------------------------------ */

/* Edge settings, by key. Keys and values:
 *   federation, discovery, outside-users, contacts-limit,
 *   mark-verifiable, block-subdomains          on|off
 *   routing                                    dns-srv|default-route
 *   default-route                              HOST[:PORT] or "" (unset)
 *   discovered-rate                            1..100000 requests/s
 *   discovered-contacts                        1..1000000 distinct users
 *   report-period                              1..10080 minutes
 * All pairs are applied together; routing default-route needs a default
 * route (FEDGE_EINVAL naming "default-route" otherwise). Unknown key:
 * FEDGE_EINVAL listing the keys. */
typedef struct {
    const char *key;
    const char *value;
} store_setting_t;
int store_edge_set(store_t *s, const store_setting_t *kv, size_t n, const char *actor,
                   fedge_err_t *err);

/* Adds or replaces an allowed domain. proxy_fqdn NULL or "": an allowed
 * domain (verified by DNS SRV); else an allowed partner server with that
 * edge FQDN. comment may be NULL. Refused with FEDGE_EEXIST when domain is
 * blocked ("... is blocked; remove it from the blocked list first"). */
int store_domain_allow(store_t *s, const char *domain, const char *proxy_fqdn, const char *comment,
                       bool monitor, const char *actor, fedge_err_t *err);

/* Adds or replaces a blocked domain. FEDGE_EEXIST when it is allowed. */
int store_domain_block(store_t *s, const char *domain, const char *comment, const char *actor,
                       fedge_err_t *err);

/* Removes domain from the allowed or blocked list. FEDGE_ENOENT if on
 * neither. */
int store_domain_remove(store_t *s, const char *domain, const char *actor, fedge_err_t *err);

/* A provider as given to store_provider_add. domains: n_domains served
 * domains (each unique across providers: FEDGE_EEXIST otherwise). */
typedef struct {
    const char *name;
    const char *proxy_fqdn;
    store_provider_kind_t kind;
    store_verification_t verification;
    bool enabled;
    const char *const *domains;
    size_t n_domains;
} store_provider_in_t;

/* Adds a provider. FEDGE_EEXIST when the name or the proxy FQDN is taken
 * or a domain is served by another provider. */
int store_provider_add(store_t *s, const store_provider_in_t *p, const char *actor,
                       fedge_err_t *err);

/* Changes some fields of provider name: NULL pointers / negative values
 * leave a field as it is; domains non-NULL replaces the whole list (an
 * empty list when n_domains is 0). FEDGE_ENOENT when no such provider. */
typedef struct {
    const char *proxy_fqdn;
    int kind;         /* store_provider_kind_t or -1 */
    int verification; /* store_verification_t or -1 */
    int enabled;      /* 0, 1 or -1 */
    const char *const *domains;
    size_t n_domains;
} store_provider_patch_t;
int store_provider_set(store_t *s, const char *name, const store_provider_patch_t *p,
                       const char *actor, fedge_err_t *err);

/* Removes provider name and its domains. FEDGE_ENOENT when none. */
int store_provider_remove(store_t *s, const char *name, const char *actor, fedge_err_t *err);

/* Creates or changes the external access policy of scope ("global",
 * "site:NAME", NAME). Fields < 0 are left as they are; a new policy starts
 * with everything off. The global policy always exists. */
typedef struct {
    int federation; /* 0, 1 or -1 */
    int public_im;
    int outside;
    int xmpp;
    int av; /* calls (audio/video) with partners; a new policy starts with it on */
} store_policy_patch_t;
int store_policy_set(store_t *s, const char *scope, const store_policy_patch_t *p,
                     const char *actor, fedge_err_t *err);

/* Removes the named or site policy of scope (the global one cannot be
 * removed: FEDGE_EINVAL). FEDGE_ENOENT when there is none; FEDGE_EEXIST
 * when users are assigned to it (the message says how many). */
int store_policy_remove(store_t *s, const char *scope, const char *actor, fedge_err_t *err);

/* Moves domain between the allowed and blocked lists in one change
 * (blocked true: onto the blocked list, keeping comment; else onto the
 * allowed list as store_domain_allow). FEDGE_ENOENT when it is on neither
 * list; audited as "domain.access" with before and after. */
int store_domain_switch(store_t *s, const char *domain, bool blocked, const char *proxy_fqdn,
                        const char *comment, bool monitor, const char *actor, fedge_err_t *err);

/* Assigns internal user (user@domain) to the named policy; policy "global"
 * removes the assignment (the site or global policy applies again).
 * FEDGE_ENOENT when the named policy does not exist; FEDGE_EINVAL for a
 * site scope (sites are not assigned to users). */
int store_policy_assign(store_t *s, const char *user, const char *policy, const char *actor,
                        fedge_err_t *err);

/* The discovered-partner watch list: the server adds a partner that went
 * over the contacts limit (users: distinct local users it reached, reason
 * a short text); administrators clear it. add replaces an existing entry;
 * clear returns FEDGE_ENOENT when domain is not listed. */
int store_watchlist_add(store_t *s, const char *domain, uint32_t users, const char *reason,
                        const char *actor, fedge_err_t *err);
int store_watchlist_clear(store_t *s, const char *domain, const char *actor, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Audit log                                                           */
/* ------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    const char *at; /* UTC, "YYYY-MM-DDTHH:MM:SSZ" */
    const char *actor;
    const char *action; /* "domain.allow", "edge.set", ... */
    const char *object; /* "contoso.com", "federation", ... */
    const char *detail; /* human-readable, may be "" */
} store_audit_t;

/* A change to a value that existed has the detail BEFORE STORE_AUDIT_ARROW
 * AFTER (edge.set, policy.set, domain.access), so that readers can show
 * both. */
#define STORE_AUDIT_ARROW " \xe2\x86\x92 " /* U+2192 RIGHTWARDS ARROW */

/* Calls cb for the last `limit` audit entries, oldest first; the strings
 * are valid during the call only. A non-zero return of cb stops and is
 * returned. */
typedef int (*store_audit_cb)(const store_audit_t *a, void *ctx);
int store_audit_list(store_t *s, size_t limit, store_audit_cb cb, void *ctx, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */
/* ------------------------------------------------------------------ */

typedef struct {
    bool federation;              /* default on */
    bool discovery;               /* default off */
    bool outside_users;           /* default off */
    store_routing_t routing;      /* default dns-srv */
    const char *default_route;    /* HOST[:PORT] or "" */
    uint32_t discovered_rate;     /* requests/s, default 20 */
    uint32_t discovered_contacts; /* distinct local users, default 1000 */
    bool contacts_limit;          /* default on */
    uint32_t report_period_min;   /* default 60 */
    bool mark_verifiable;         /* default on */
    bool block_subdomains;        /* default on */
} store_edge_t;

typedef struct {
    const char *domain;
    const char *proxy_fqdn; /* NULL: allowed domain; else partner server */
    const char *comment;    /* "" when none */
    bool monitor;
} store_allowed_t;

typedef struct {
    const char *domain;
    const char *comment;
} store_blocked_t;

typedef struct {
    const char *name;
    const char *proxy_fqdn;
    store_provider_kind_t kind;
    store_verification_t verification;
    bool enabled;
    const char *const *domains;
    size_t n_domains;
} store_provider_t;

typedef struct {
    const char *scope; /* "global", "site:NAME" or NAME */
    bool federation;
    bool public_im;
    bool outside;
    bool xmpp;
    bool av; /* audio/video calls allowed (with federation/public_im) */
} store_policy_t;

typedef struct {
    const char *user;   /* user@domain, lowercase */
    const char *policy; /* a named policy's scope */
} store_assignment_t;

typedef struct {
    const char *domain;
    const char *added_at; /* UTC text */
    uint32_t users;
    const char *reason;
} store_watch_t;

/* An immutable, reference-counted view of the whole store. All arrays are
 * sorted by their key; all strings lowercase where they are names. Read the
 * fields directly; use the lookup functions for O(1) lookups. */
typedef struct store_snapshot {
    uint64_t generation; /* bumped by every committed change */
    store_edge_t edge;
    const store_allowed_t *allowed;
    size_t n_allowed;
    const store_blocked_t *blocked;
    size_t n_blocked;
    const store_provider_t *providers;
    size_t n_providers;
    const store_policy_t *policies; /* global first, then sites, then named */
    size_t n_policies;
    const store_assignment_t *assignments;
    size_t n_assignments;
    const store_watch_t *watchlist;
    size_t n_watchlist;
    struct store__snap_priv *priv; /* hash indexes and memory */
} store_snapshot_t;

/* Builds a new snapshot of the committed state, read in one transaction
 * (consistent). *out has a reference count of 1. On error (locked past the
 * busy timeout, corrupt, I/O) returns FEDGE_ESTORE with a message and
 * leaves *out untouched: keep using the last good snapshot. */
int store_snapshot_load(store_t *s, store_snapshot_t **out, fedge_err_t *err);

/* A snapshot with the defaults and nothing else (generation 0): what a
 * server uses before its first successful load. Never fails. */
store_snapshot_t *store_snapshot_empty(void);

/* Reference counting (atomic). unref frees at zero; NULL is a no-op. */
store_snapshot_t *store_snapshot_ref(store_snapshot_t *snap);
void store_snapshot_unref(store_snapshot_t *snap);

/* Cheap check whether a change was committed — by this handle, another
 * connection or another process — since the previous call (the first call
 * after store_open reports true). One PRAGMA, no table read: fine to call
 * every 250 ms. On error *changed is left false and FEDGE_ESTORE returned. */
int store_changed(store_t *s, bool *changed, fedge_err_t *err);

/* The server loop's one call (every ~250 ms): when store_changed says so,
 * loads a new snapshot and swaps it into *cur (dropping the reference to
 * the old one; in-flight work holding its own reference keeps it). Returns
 * 1 when *cur was replaced, 0 when nothing changed, or FEDGE_ESTORE with a
 * message when the store is locked or corrupt: *cur is then kept (the last
 * good snapshot) and the next call tries the load again. */
int store_refresh(store_t *s, store_snapshot_t **cur, fedge_err_t *err);

/* Does the store's engine notify changes (PostgreSQL: LISTEN/NOTIFY)?
 * Then a refresher may block in store_wait_change instead of polling. */
bool store_notifies(const store_t *s);

/* Blocks the calling thread (a worker, never the loop) up to timeout_ms
 * for a change committed by anyone: returns 1 when one was notified (the
 * next store_changed / store_refresh sees it), 0 when the time passed
 * without one, or FEDGE_ESTORE when the server cannot be reached (then
 * returns at once: keep polling with store_refresh, which reconnects).
 * Without notifications (SQLite) it sleeps timeout_ms and returns 0. */
int store_wait_change(store_t *s, int timeout_ms, fedge_err_t *err);

/* O(1) lookups; domain need not be NUL-terminated nor lowercase. NULL when
 * absent. */
const store_allowed_t *store_snapshot_allowed(const store_snapshot_t *snap, fedge_str_t domain);
const store_blocked_t *store_snapshot_blocked(const store_snapshot_t *snap, fedge_str_t domain);
/* The provider serving domain (enabled or not), NULL if none. */
const store_provider_t *store_snapshot_provider_for(const store_snapshot_t *snap,
                                                    fedge_str_t domain);
/* The provider whose proxy FQDN is fqdn, NULL if none. */
const store_provider_t *store_snapshot_provider_by_fqdn(const store_snapshot_t *snap,
                                                        fedge_str_t fqdn);
/* The allowed partner server entry whose proxy FQDN is fqdn (the first by
 * domain when several domains use one edge), NULL if none. */
const store_allowed_t *store_snapshot_partner_by_fqdn(const store_snapshot_t *snap,
                                                      fedge_str_t fqdn);
/* The policy of exactly this scope, NULL if none. */
const store_policy_t *store_snapshot_policy(const store_snapshot_t *snap, fedge_str_t scope);
/* The named policy assigned to user (user@domain), NULL if none. */
const store_policy_t *store_snapshot_user_policy(const store_snapshot_t *snap, fedge_str_t user);
const store_watch_t *store_snapshot_watched(const store_snapshot_t *snap, fedge_str_t domain);

/* ------------------------------------------------------------------ */
/* XMPP partners (src/store/xmpp.c)                                    */
/* ------------------------------------------------------------------ */

/* An XMPP partner domain, allowed with its stream settings or blocked.
 * Audited as "xmpp.allow", "xmpp.block", "xmpp.remove". A domain may be
 * on the SIP lists and on the XMPP list independently: they are two
 * protocols with two sets of servers. */
typedef struct {
    const char *domain;
    bool blocked;
    bool tls_required; /* allowed only: STARTTLS must succeed (default) */
    bool sasl;         /* SASL EXTERNAL with certificates (default on) */
    bool dialback;     /* Server Dialback (default on) */
    const char *proxy; /* HOST[:PORT] of the partner's XMPP server, or NULL:
                          _xmpp-server._tcp SRV of the domain */
} store_xmpp_partner_t;

/* Adds or replaces an allowed XMPP partner (p->blocked ignored).
 * FEDGE_EEXIST when the domain is blocked for XMPP; FEDGE_EINVAL for a bad
 * domain or proxy, or with both sasl and dialback off (no way left to
 * authenticate a stream). */
int store_xmpp_allow(store_t *s, const store_xmpp_partner_t *p, const char *actor,
                     fedge_err_t *err);
/* Blocks domain for XMPP. FEDGE_EEXIST when it is allowed for XMPP. */
int store_xmpp_block(store_t *s, const char *domain, const char *actor, fedge_err_t *err);
/* Takes domain off the XMPP list. FEDGE_ENOENT when it is not on it. */
int store_xmpp_remove(store_t *s, const char *domain, const char *actor, fedge_err_t *err);

/* An immutable copy of the XMPP list, read in one transaction: load it
 * when store_refresh reports a change. One allocation; free with
 * store_xmpp_list_free (NULL is a no-op). */
typedef struct {
    uint64_t generation;
    const store_xmpp_partner_t *partners; /* sorted by domain */
    size_t n;
} store_xmpp_list_t;
int store_xmpp_load(store_t *s, store_xmpp_list_t **out, fedge_err_t *err);
void store_xmpp_list_free(store_xmpp_list_t *l);
/* The entry of domain (case-insensitive), NULL if none. O(log n). */
const store_xmpp_partner_t *store_xmpp_find(const store_xmpp_list_t *l, const char *domain);

/* ------------------------------------------------------------------ */
/* Administrator accounts (src/store/accounts.c)                      */
/* ------------------------------------------------------------------ */

/* Longest stored password hash text, with its NUL. */
#define STORE_ACCOUNT_HASH_MAX 256

/* Account names follow store_check_name (lowercased). The hash is an
 * opaque printable string made by src/admin (scrypt, salted); the store
 * never sees a password. Each change is one transaction with an audit
 * entry ("account.add", "account.passwd", "account.remove") by actor. */

/* FEDGE_EEXIST when the name is taken. */
int store_account_add(store_t *s, const char *name, const char *pwhash, const char *actor,
                      fedge_err_t *err);
/* FEDGE_ENOENT when no such account. */
int store_account_passwd(store_t *s, const char *name, const char *pwhash, const char *actor,
                         fedge_err_t *err);
/* FEDGE_ENOENT when no such account. */
int store_account_remove(store_t *s, const char *name, const char *actor, fedge_err_t *err);
/* Copies the account's hash into pwhash (size sz). FEDGE_ENOENT when no
 * such account, FEDGE_EINVAL for a malformed name. */
int store_account_get(store_t *s, const char *name, char *pwhash, size_t sz, fedge_err_t *err);
/* Number of accounts. */
int store_account_count(store_t *s, size_t *n, fedge_err_t *err);

typedef struct {
    const char *name;
    const char *created_at; /* UTC text */
    const char *changed_at; /* last password change */
} store_account_t;
/* Calls cb for every account by name (strings valid during the call); a
 * non-zero return of cb stops and is returned. */
typedef int (*store_account_cb)(const store_account_t *a, void *ctx);
int store_account_list(store_t *s, store_account_cb cb, void *ctx, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Web panel sessions and failed logins (src/store/sessions.c)         */
/* ------------------------------------------------------------------ */

/* What the admin server keeps of a session, shared through the store by
 * the members of a pool so that a session opened on one works on all and
 * survives a restart. Ids are kept as hashes only; src/admin makes them.
 * None of these is audited nor bumps the generation (not configuration);
 * each is one statement (its own transaction). */
#define STORE_HEX_MAX 65 /* 64 hex digits and a NUL */
typedef struct {
    char id_hash[STORE_HEX_MAX]; /* SHA-256 of the cookie value */
    char csrf[STORE_HEX_MAX];
    char account[STORE_NAME_MAX + 1];
    char pw_fp[STORE_HEX_MAX]; /* SHA-256 of the account's hash at login */
    int64_t created_s, last_s; /* UTC seconds */
} store_session_t;

/* Adds session ss (replacing one with its id_hash). FEDGE_EINVAL for a
 * field that is not printable text of its size; FEDGE_EEXIST when the
 * account does not exist. */
int store_session_put(store_t *s, const store_session_t *ss, fedge_err_t *err);
/* Reads the session of id_hash into *out; FEDGE_ENOENT when none (ended,
 * expired and purged, or its account removed). */
int store_session_get(store_t *s, const char *id_hash, store_session_t *out, fedge_err_t *err);
/* Sets its last use (idle timer); 0 also when it is gone. */
int store_session_touch(store_t *s, const char *id_hash, int64_t last_s, fedge_err_t *err);
/* Ends it; 0 also when it is gone. */
int store_session_end(store_t *s, const char *id_hash, fedge_err_t *err);
/* Removes sessions unused since idle_before_s or created before
 * created_before_s. */
int store_session_purge(store_t *s, int64_t idle_before_s, int64_t created_before_s,
                        fedge_err_t *err);

/* Failed logins by key ("a:ACCOUNT", "i:ADDRESS", at most 200 bytes):
 * failures and the time of the last one (UTC milliseconds). get sets
 * *failures to 0 when none was recorded since forget_before_ms. fail
 * counts one at now_ms (starting again from 1 when the last was before
 * forget_before_ms) and removes every key older than that (bounded
 * table); forget removes key. */
int store_login_get(store_t *s, const char *key, int64_t forget_before_ms, uint32_t *failures,
                    int64_t *last_ms, fedge_err_t *err);
int store_login_fail(store_t *s, const char *key, int64_t now_ms, int64_t forget_before_ms,
                     fedge_err_t *err);
int store_login_forget(store_t *s, const char *key, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Pool membership (src/store/pool.c)                                  */
/* ------------------------------------------------------------------ */

/* What a running member of an edge pool says about itself, written by its
 * store feed every few seconds (docs/pools.md) and read by `fedge pool
 * status`, the panel's Pool page and `fedge plan`. Not configuration: not
 * audited, no generation bump, not copied by store_copy. Texts are
 * printable ASCII; longer ones are cut to their field. */
#define STORE_MEMBER_TEXT_MAX 512
typedef struct {
    char fqdn[STORE_FQDN_MAX + 1];         /* [edge] fqdn: the key */
    char pool[STORE_FQDN_MAX + 1];         /* [edge] pool_fqdn, "" when alone */
    char addresses[STORE_MEMBER_TEXT_MAX]; /* external listeners "IP:PORT,..." */
    char internal[STORE_MEMBER_TEXT_MAX];  /* internal listeners */
    char version[32];
    int64_t started_s, seen_s;              /* UTC seconds */
    uint64_t connections;                   /* open now */
    uint64_t rps;                           /* requests per second since the last record */
    char cert_names[STORE_MEMBER_TEXT_MAX]; /* DNS names of its external certificate */
    bool cert_ok;                           /* its certificate names the pool (and its own fqdn) */
} store_member_t;

/* How long without a record before a member is called stale (three
 * missed records of STORE_MEMBER_BEAT_S). */
#define STORE_MEMBER_BEAT_S 2
#define STORE_MEMBER_STALE_S 10

/* Records m (replacing the row of m->fqdn). FEDGE_EINVAL when fqdn is not
 * a domain name or a text is not printable. One statement. */
int store_member_put(store_t *s, const store_member_t *m, fedge_err_t *err);

/* Calls cb for every recorded member by fqdn (m valid during the call); a
 * non-zero return of cb stops and is returned. */
typedef int (*store_member_cb)(const store_member_t *m, void *ctx);
int store_member_list(store_t *s, store_member_cb cb, void *ctx, fedge_err_t *err);

/* A member's state at now (UTC seconds) for a pool of that name (NULL or
 * "": any): "stale" when not seen for more than STORE_MEMBER_STALE_S,
 * "other-pool" when it records another pool, "cert" when its certificate
 * does not name its pool, else "live". Never fails; the text is static. */
const char *store_member_state(const store_member_t *m, const char *pool, int64_t now);

/* Forgets member fqdn (a machine taken out of the pool for good), audited
 * as "pool.forget" by actor. FEDGE_ENOENT when not recorded. A running
 * member records itself again within STORE_MEMBER_BEAT_S. */
int store_member_forget(store_t *s, const char *fqdn, const char *actor, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Copying a store (src/store/copy.c)                                  */
/* A presence subscription across the SIP <-> XMPP gateway
 * (src/edge/xmpp.c, docs/xmpp.md#presence): runtime state of the edge
 * named owner, kept so that it outlives a restart and is seen by a pool's
 * members. Not audited, no generation bump. Strings are NUL-terminated
 * and must fit their arrays (FEDGE_EINVAL otherwise). */
typedef enum {
    STORE_XSUB_SIP = 0, /* a SIP user watches an XMPP user (the edge is the
                           notifier of the SIP dialog) */
    STORE_XSUB_XMPP = 1 /* an XMPP user watches a SIP user (the edge is the
                           subscriber of the SIP dialog) */
} store_xsub_dir_t;

typedef struct {
    store_xsub_dir_t dir;
    char watcher[400]; /* bare JID of the watcher */
    char target[400];  /* bare JID of the watched user */
    char owner[256];   /* FQDN of the edge holding the SIP dialog */
    bool active;       /* approved (XMPP subscribed / SIP active) */
    /* The SIP dialog, as the edge sees it: Call-ID, its own tag, the
     * peer's tag, the peer's URI (From or To) and remote target (Contact,
     * may be ""), the last CSeq the edge sent. */
    char call_id[256], local_tag[128], remote_tag[128];
    char remote_uri[600], remote_target[600];
    int64_t cseq;
    int64_t expires_s; /* the SIP subscription's end, seconds since the epoch */
    char presence[16]; /* last availability known: "" none, "available",
                          "away", "xa", "dnd", "chat", "unavailable" */
    char note[256];    /* its text ("" none) */
} store_xsub_t;

/* Adds or replaces the subscription (dir, watcher, target). */
int store_xsub_put(store_t *s, const store_xsub_t *x, fedge_err_t *err);
/* A member's update of a subscription it holds (src/edge/xmpp.c): adds the
 * row, or replaces it only while x->owner (compared without case) still
 * owns it; a row another member owns now (adopted while x->owner was
 * stale, store_xsub_adopt) is left as it is and *lost is set. One
 * statement: no adoption slips in between the check and the write. */
int store_xsub_keep(store_t *s, const store_xsub_t *x, bool *lost, fedge_err_t *err);
/* Removes it; removing one that is not there is not an error. */
int store_xsub_del(store_t *s, store_xsub_dir_t dir, const char *watcher, const char *target,
                   fedge_err_t *err);
/* Calls cb for each subscription of owner (NULL: every owner), ordered by
 * direction, watcher, target; a non-zero return from cb stops the
 * listing and is returned. x is valid only during the call. */
typedef int (*store_xsub_cb)(const store_xsub_t *x, void *ctx);
int store_xsub_list(store_t *s, const char *owner, store_xsub_cb cb, void *ctx, fedge_err_t *err);

/* A pool member back after being away from the store (src/edge/xmpp.c,
 * docs/pools.md): in one write transaction, marks me as seen at now (as
 * store_xsub_reload) and calls cb for each subscription owned by another
 * member than me (owner compared without case), ordered as
 * store_xsub_list. Under the writers' lock: a row adopted from me before
 * is listed; after it, nobody adopts from me (I am live), so what I hold
 * and is not listed stays mine. */
int store_xsub_foreign(store_t *s, const char *me, int64_t now, store_xsub_cb cb, void *ctx,
                       fedge_err_t *err);

/* An edge's start (src/edge/xmpp.c): in one write transaction, marks the
 * pool member me as seen at now (seconds since the epoch; no-op when me
 * is not a recorded member) and calls cb for each subscription owned by
 * me (owner compared without case). Taken under the writers' lock, so that
 * no other member adopts a row (store_xsub_adopt) between the two: either
 * it adopted them before (none listed here) or it sees me live. */
int store_xsub_reload(store_t *s, const char *me, int64_t now, store_xsub_cb cb, void *ctx,
                      fedge_err_t *err);

/* Pool takeover (docs/pools.md): the subscriptions owned by members of
 * pool that are stale at now (seen_s before now - STORE_MEMBER_STALE_S,
 * the rule of `fedge pool status`; never me) become me's. One write
 * transaction under the writers' lock; each dead member's rows move in one
 * UPDATE ... WHERE owner = dead AND dead is still stale, so that two live
 * members never adopt the same row. cb is called for each row adopted,
 * with x->owner the member it came from. A cheap read first: when no stale
 * member owns a row, no lock is taken. *adopted (may be NULL) gets the
 * number of rows adopted. */
int store_xsub_adopt(store_t *s, const char *me, const char *pool, int64_t now, store_xsub_cb cb,
                     void *ctx, size_t *adopted, fedge_err_t *err);

/* ------------------------------------------------------------------ */

/* Rows of one table in the source and, after the copy, in the target. */
typedef struct {
    const char *table; /* "allowed_domain", ... (static) */
    const char *label; /* "allowed domains", ... (static) */
    uint64_t from, to;
} store_copy_count_t;

#define STORE_COPY_TABLES 13 /* the tables store_copy copies */

/* Copies everything in from (edge settings, domains, providers and their
 * domains, policies, assignments, watch list, XMPP partners and presence
 * subscriptions, administrators, remote lock-outs, audit) into
 * to, in one read transaction of from and one write transaction of to,
 * and checks before committing that every table has as many rows in to
 * as in from; adds a "store.copy" audit entry by actor and bumps to's
 * generation (running edges on to reload). Web panel sessions, failed
 * logins and the schema version are not copied (both stores are at the
 * current schema).
 * FEDGE_EEXIST when to holds anything (rows other than the global policy,
 * or audit entries) and force is false; with force, its contents are
 * replaced. out (room for *n, at least STORE_COPY_TABLES) gets the counts
 * and *n their number. Nothing changes in to on any error. */
int store_copy(store_t *from, store_t *to, bool force, const char *actor, store_copy_count_t *out,
               size_t *n, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Pages of lists, as the web panel shows them (src/store/pages.c)     */
/* ------------------------------------------------------------------ */

/* One page of a list: rows matching query (a case-insensitive substring
 * of any column as shown, NULL or "" for all), sorted by column sort
 * (names below; NULL for the first) ascending or, with desc, descending
 * (ties by the list's key), skipping offset rows, at most limit rows.
 * The same SQL runs on SQLite and PostgreSQL. */
typedef struct {
    const char *query;
    const char *sort;
    bool desc;
    size_t offset;
    size_t limit;
} store_page_t;

/* A domain row as shown: access "Allowed" or "Blocked", type "Partner
 * server", "Partner domain" or "" (blocked), proxy_fqdn "" when none,
 * monitor shown "Yes" or "". Sort columns: domain, access, type,
 * proxy_fqdn, comment, monitor. */
typedef struct {
    const char *domain;
    const char *access;
    const char *type;
    const char *proxy_fqdn;
    const char *comment;
    bool monitor;
} store_domain_row_t;
typedef int (*store_domain_row_cb)(const store_domain_row_t *d, void *ctx);

/* Calls cb for each row of the page (strings valid during the call);
 * *matched gets the number of rows matching the query, *total the number
 * of domains. FEDGE_EINVAL for an unknown sort column or a query longer
 * than STORE_COMMENT_MAX. */
int store_domain_page(store_t *s, const store_page_t *p, uint64_t *matched, uint64_t *total,
                      store_domain_row_cb cb, void *ctx, fedge_err_t *err);

/* Audit entries, newest first: actor, object and action are substrings
 * (case-insensitive; NULL or "" for any), since and until bound the time
 * text ("YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ", inclusive; until as a date
 * covers the whole day), query a substring of any column. */
typedef struct {
    const char *actor;
    const char *object;
    const char *action;
    const char *since;
    const char *until;
    const char *query;
    size_t offset;
    size_t limit;
} store_audit_filter_t;
int store_audit_page(store_t *s, const store_audit_filter_t *f, uint64_t *matched,
                     store_audit_cb cb, void *ctx, fedge_err_t *err);

/* ------------------------------------------------------------------ */
/* Importing domain lists (src/store/import.c)                         */
/* ------------------------------------------------------------------ */

#define STORE_IMPORT_MAX 100000 /* rows in one import */

/* One row to import: an allowed domain (proxy_fqdn NULL or "": found by
 * DNS SRV; else a partner server) or, with blocked, a blocked domain
 * (proxy_fqdn and monitor then must be unset). comment may be NULL. */
typedef struct {
    const char *domain;
    bool blocked;
    const char *proxy_fqdn;
    const char *comment;
    bool monitor;
} store_domain_in_t;

typedef struct {
    size_t added, replaced, unchanged;
} store_import_count_t;

/* Imports n rows (at most STORE_IMPORT_MAX) in one transaction: all or
 * nothing. Every row is checked first (FEDGE_EINVAL "row N: ..." with N
 * counted from 1; a domain given twice is refused). A row equal to the
 * entry in the store is left unchanged; one that differs is refused with
 * FEDGE_EEXIST ("row N: ...") unless replace, which replaces it (moving it
 * between the allowed and blocked lists when its access differs). One
 * audit entry "domain.import" per domain added or replaced. *count (may
 * be NULL) gets what happened. With dry_run nothing is written (the
 * transaction is rolled back): the same checks and counts. */
int store_domain_import(store_t *s, const store_domain_in_t *rows, size_t n, bool replace,
                        bool dry_run, const char *actor, store_import_count_t *count,
                        fedge_err_t *err);

#endif
