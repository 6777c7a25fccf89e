/* remote.h — the store's part of remote users (docs/remote-users.md): the
 * lock-outs the edge applied after repeated failed sign-ins, kept so that
 * administrators see them (`fedge remote lockouts`) and end them
 * (`fedge remote unlock`), and so that every member of a pool learns of a
 * change (each change bumps the store's generation, like any other).
 *
 * Same contract as store.h: each change is one transaction with an audit
 * entry by actor; inputs validated (FEDGE_EINVAL naming the field). */
#ifndef FEDGE_STORE_REMOTE_H
#define FEDGE_STORE_REMOTE_H

#include "store/store.h"

typedef enum {
    STORE_LOCK_USER = 0,    /* a user, user@domain */
    STORE_LOCK_ADDRESS = 1, /* a client address, an IP literal */
} store_lock_kind_t;

/* "user" or "address"; never NULL. */
const char *store_lock_kind_name(store_lock_kind_t k);

/* What a lock-out is about: user@domain (store_check_user) or an IPv4 or
 * IPv6 address (written in its canonical form, lowercase, no brackets;
 * "[2001:db8::1]" is accepted). Sets *kind and out (size >= 64 for an
 * address, STORE_USER_MAX + 1 for a user). FEDGE_EINVAL otherwise. */
int store_lockout_subject(const char *field, const char *s, store_lock_kind_t *kind, char *out,
                          size_t outsz, fedge_err_t *err);

/* Records (or replaces) the lock-out of subject until until_s (seconds
 * since the epoch, UTC) after failures failed sign-ins; reason a short
 * line of text (may be NULL). Lock-outs that ended are pruned here. */
int store_lockout_add(store_t *s, const char *subject, uint32_t failures, int64_t until_s,
                      const char *reason, const char *actor, fedge_err_t *err);

/* Ends the lock-out of subject. FEDGE_ENOENT when it has none in force
 * (an ended one is removed all the same). */
int store_lockout_clear(store_t *s, const char *subject, int64_t now_s, const char *actor,
                        fedge_err_t *err);

typedef struct {
    store_lock_kind_t kind;
    const char *subject;   /* user@domain or address */
    const char *locked_at; /* UTC, "YYYY-MM-DDTHH:MM:SSZ" */
    int64_t until_s;       /* seconds since the epoch */
    const char *until;     /* the same as UTC text */
    uint32_t failures;
    const char *reason;
} store_lockout_t;

/* Calls cb for every lock-out still in force at now_s, by kind then
 * subject (strings valid during the call only). A non-zero return of cb
 * stops and is returned. */
typedef int (*store_lockout_cb)(const store_lockout_t *l, void *ctx);
int store_lockout_list(store_t *s, int64_t now_s, store_lockout_cb cb, void *ctx, fedge_err_t *err);

#endif
