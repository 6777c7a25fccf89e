/* remote.c — lock-outs of remote users and client addresses in the store
 * (remote.h): record, end, list; each change one transaction with an audit
 * entry that bumps the generation so that running edges notice it. */
#include "store/remote.h"
#include "store/store_int.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ADDR_MAX 64 /* INET6_ADDRSTRLEN (46) and room */

const char *store_lock_kind_name(store_lock_kind_t k)
{
    return k == STORE_LOCK_ADDRESS ? "address" : "user";
}

int store_lockout_subject(const char *field, const char *s, store_lock_kind_t *kind, char *out,
                          size_t outsz, fedge_err_t *err)
{
    if (!s || !*s)
        return fedge_err(err, FEDGE_EINVAL,
                         "%s: expected a user like alice@contoso.com or an IP address", field);
    if (strchr(s, '@')) {
        *kind = STORE_LOCK_USER;
        return store_check_user(field, s, out, outsz, err);
    }
    char lit[ADDR_MAX];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(lit)) {
        memcpy(lit, s + 1, n - 2);
        lit[n - 2] = 0;
    } else if (n < sizeof(lit)) {
        memcpy(lit, s, n + 1);
    } else {
        lit[0] = 0;
    }
    unsigned char bin[16];
    int af = strchr(lit, ':') ? AF_INET6 : AF_INET;
    if (!lit[0] || inet_pton(af, lit, bin) != 1 || outsz < ADDR_MAX)
        return fedge_err(err, FEDGE_EINVAL,
                         "%s '%.80s': expected a user like alice@contoso.com or an IP address "
                         "like 192.0.2.7 or 2001:db8::7",
                         field, s);
    /* One spelling per address, so that a lock-out is found however it is
     * written. */
    if (!inet_ntop(af, bin, out, (socklen_t)outsz))
        return fedge_err(err, FEDGE_EINVAL, "%s '%.80s': cannot be written back", field, s);
    *kind = STORE_LOCK_ADDRESS;
    return 0;
}

static void utc_text(int64_t t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int check_reason(const char *r, fedge_err_t *err)
{
    size_t len = r ? strlen(r) : 0;
    if (len > STORE_COMMENT_MAX)
        return fedge_err(err, FEDGE_EINVAL, "reason: longer than %d bytes", STORE_COMMENT_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
            return fedge_err(err, FEDGE_EINVAL, "reason: control characters are not allowed");
    return 0;
}

/* Bumps the generation and commits, or rolls back when r < 0. */
static int finish(store_t *s, int r, fedge_err_t *err)
{
    if (r == 0)
        r = s->ops->exec(s->be, "UPDATE meta SET value = value + 1 WHERE key = 'generation'", NULL,
                         0, NULL, err);
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    r = s->ops->commit(s->be, err);
    if (r == 0)
        s->dirty = true;
    return r;
}

int store_lockout_add(store_t *s, const char *subject, uint32_t failures, int64_t until_s,
                      const char *reason, const char *actor, fedge_err_t *err)
{
    char sub[STORE_USER_MAX + 1];
    store_lock_kind_t kind;
    int r = store_lockout_subject("subject", subject, &kind, sub, sizeof(sub), err);
    if (r == 0)
        r = check_reason(reason, err);
    if (r == 0)
        r = store__check_actor(actor, err);
    if (r < 0)
        return r;
    if ((r = s->ops->begin(s->be, true, err)) < 0)
        return r;
    char at[32], until[32];
    store__now_text(at, sizeof(at));
    utc_text(until_s, until, sizeof(until));
    store__val_t now[] = {STORE__I((int64_t)time(NULL))};
    r = s->ops->exec(s->be, "DELETE FROM remote_lockout WHERE until_s <= ?1", now, 1, NULL, err);
    store__val_t a[] = {STORE__S(store_lock_kind_name(kind)),
                        STORE__S(sub),
                        STORE__S(at),
                        STORE__I(until_s),
                        STORE__I(failures),
                        STORE__S(reason ? reason : "")};
    if (r == 0)
        r = s->ops->exec(s->be,
                         "INSERT INTO remote_lockout(kind, subject, locked_at, until_s, failures, "
                         "reason) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kind, subject) DO "
                         "UPDATE SET locked_at = excluded.locked_at, until_s = excluded.until_s, "
                         "failures = excluded.failures, reason = excluded.reason",
                         a, 6, NULL, err);
    if (r == 0)
        r = store__audit(s, actor, "remote.lockout", sub, err,
                         "%s locked out until %s after %u "
                         "failed sign-ins%s%s",
                         store_lock_kind_name(kind), until, failures, reason && *reason ? ": " : "",
                         reason ? reason : "");
    return finish(s, r, err);
}

int store_lockout_clear(store_t *s, const char *subject, int64_t now_s, const char *actor,
                        fedge_err_t *err)
{
    char sub[STORE_USER_MAX + 1];
    store_lock_kind_t kind;
    int r = store_lockout_subject("subject", subject, &kind, sub, sizeof(sub), err);
    if (r == 0)
        r = store__check_actor(actor, err);
    if (r < 0)
        return r;
    if ((r = s->ops->begin(s->be, true, err)) < 0)
        return r;
    store__val_t a[] = {STORE__S(store_lock_kind_name(kind)), STORE__S(sub), STORE__I(now_s)};
    int64_t in_force = 0;
    r = s->ops->exec(s->be,
                     "DELETE FROM remote_lockout WHERE kind = ?1 AND subject = ?2 AND until_s > ?3",
                     a, 3, &in_force, err);
    /* One that ended is left for store_lockout_add to prune: nothing
     * changes, nothing to audit. */
    if (r == 0 && in_force == 0)
        r = fedge_err(err, FEDGE_ENOENT, "%s %s is not locked out", store_lock_kind_name(kind),
                      sub);
    if (r == 0)
        r = store__audit(s, actor, "remote.unlock", sub, err, "%s lock-out ended",
                         store_lock_kind_name(kind));
    return finish(s, r, err);
}

typedef struct {
    store_lockout_cb cb;
    void *ctx;
} list_ctx_t;

static int list_row(const store__val_t *c, size_t n, void *x)
{
    list_ctx_t *l = x;
    if (n < 6)
        return 0;
    char until[32];
    utc_text(c[3].i, until, sizeof(until));
    store_lockout_t e = {
        .kind = c[0].s && !strcmp(c[0].s, "address") ? STORE_LOCK_ADDRESS : STORE_LOCK_USER,
        .subject = c[1].s ? c[1].s : "",
        .locked_at = c[2].s ? c[2].s : "",
        .until_s = c[3].i,
        .until = until,
        .failures = c[4].i < 0            ? 0
                    : c[4].i > UINT32_MAX ? UINT32_MAX
                                          : (uint32_t)c[4].i,
        .reason = c[5].s ? c[5].s : "",
    };
    return l->cb(&e, l->ctx);
}

int store_lockout_list(store_t *s, int64_t now_s, store_lockout_cb cb, void *ctx, fedge_err_t *err)
{
    list_ctx_t l = {cb, ctx};
    store__val_t a[] = {STORE__I(now_s)};
    return s->ops->query(s->be,
                         "SELECT kind, subject, locked_at, until_s, failures, reason FROM "
                         "remote_lockout WHERE until_s > ?1 ORDER BY kind DESC, subject",
                         a, 1, list_row, &l, err);
}
