/* sessions.c — web panel sessions and failed-login counts in the store, so
 * that the members of a pool share them (docs/pools.md): a session opened
 * on one member works on every member and survives a restart, and failed
 * logins throttle on all. One statement each, not audited. */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#define LOGIN_KEY_MAX 200

/* Printable ASCII without spaces, 1 to max - 1 bytes. */
static int check_text(const char *field, const char *v, size_t max, fedge_err_t *err)
{
    size_t len = v ? strlen(v) : 0;
    bool ok = len >= 1 && len < max;
    for (size_t i = 0; ok && i < len; i++)
        ok = v[i] > 0x20 && v[i] < 0x7f;
    if (!ok)
        return fedge_err(err, FEDGE_EINVAL, "%s: expected 1 to %zu printable characters", field,
                         max - 1);
    return 0;
}

int store_session_put(store_t *s, const store_session_t *ss, fedge_err_t *err)
{
    int r = check_text("session id hash", ss->id_hash, STORE_HEX_MAX, err);
    if (r == 0)
        r = check_text("csrf", ss->csrf, STORE_HEX_MAX, err);
    if (r == 0)
        r = check_text("account", ss->account, STORE_NAME_MAX + 1, err);
    if (r == 0)
        r = check_text("password fingerprint", ss->pw_fp, STORE_HEX_MAX, err);
    if (r < 0)
        return r;
    store__val_t a[] = {STORE__S(ss->id_hash), STORE__S(ss->csrf),      STORE__S(ss->account),
                        STORE__S(ss->pw_fp),   STORE__I(ss->created_s), STORE__I(ss->last_s)};
    /* delete + insert rather than an upsert: the same text on both engines */
    r = s->ops->begin(s->be, true, err);
    if (r < 0)
        return r;
    r = s->ops->exec(s->be, "DELETE FROM admin_session WHERE id_hash = ?1", a, 1, NULL, err);
    if (r == 0)
        r = s->ops->exec(s->be,
                         "INSERT INTO admin_session(id_hash, csrf, account, pw_fp, created_s, "
                         "last_s) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                         a, 6, NULL, err);
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    return s->ops->commit(s->be, err);
}

typedef struct {
    store_session_t *out;
    bool found;
} get_t;

static void copy_text(char *dst, size_t n, const store__val_t *v)
{
    snprintf(dst, n, "%s", v->t == STORE__TEXT && v->s ? v->s : "");
}

static int session_row(const store__val_t *c, size_t n, void *x)
{
    get_t *g = x;
    if (n < 6)
        return 0;
    copy_text(g->out->id_hash, sizeof(g->out->id_hash), &c[0]);
    copy_text(g->out->csrf, sizeof(g->out->csrf), &c[1]);
    copy_text(g->out->account, sizeof(g->out->account), &c[2]);
    copy_text(g->out->pw_fp, sizeof(g->out->pw_fp), &c[3]);
    g->out->created_s = c[4].i;
    g->out->last_s = c[5].i;
    g->found = true;
    return 0;
}

int store_session_get(store_t *s, const char *id_hash, store_session_t *out, fedge_err_t *err)
{
    int r = check_text("session id hash", id_hash, STORE_HEX_MAX, err);
    if (r < 0)
        return r;
    get_t g = {out, false};
    store__val_t a[] = {STORE__S(id_hash)};
    r = s->ops->query(s->be,
                      "SELECT id_hash, csrf, account, pw_fp, created_s, last_s FROM admin_session "
                      "WHERE id_hash = ?1",
                      a, 1, session_row, &g, err);
    if (r < 0)
        return r;
    return g.found ? 0 : fedge_err(err, FEDGE_ENOENT, "no such session");
}

int store_session_touch(store_t *s, const char *id_hash, int64_t last_s, fedge_err_t *err)
{
    store__val_t a[] = {STORE__I(last_s), STORE__S(id_hash)};
    return s->ops->exec(s->be, "UPDATE admin_session SET last_s = ?1 WHERE id_hash = ?2", a, 2,
                        NULL, err);
}

int store_session_end(store_t *s, const char *id_hash, fedge_err_t *err)
{
    store__val_t a[] = {STORE__S(id_hash)};
    return s->ops->exec(s->be, "DELETE FROM admin_session WHERE id_hash = ?1", a, 1, NULL, err);
}

int store_session_purge(store_t *s, int64_t idle_before_s, int64_t created_before_s,
                        fedge_err_t *err)
{
    store__val_t a[] = {STORE__I(idle_before_s), STORE__I(created_before_s)};
    return s->ops->exec(s->be, "DELETE FROM admin_session WHERE last_s < ?1 OR created_s < ?2", a,
                        2, NULL, err);
}

typedef struct {
    int64_t failures, last_ms;
} login_t;

static int login_row(const store__val_t *c, size_t n, void *x)
{
    login_t *l = x;
    if (n >= 2) {
        l->failures = c[0].i;
        l->last_ms = c[1].i;
    }
    return 0;
}

int store_login_get(store_t *s, const char *key, int64_t forget_before_ms, uint32_t *failures,
                    int64_t *last_ms, fedge_err_t *err)
{
    int r = check_text("login key", key, LOGIN_KEY_MAX, err);
    if (r < 0)
        return r;
    login_t l = {0, 0};
    store__val_t a[] = {STORE__S(key)};
    r = s->ops->query(s->be, "SELECT failures, last_ms FROM admin_login_failure WHERE key = ?1", a,
                      1, login_row, &l, err);
    if (r < 0)
        return r;
    bool live = l.failures > 0 && l.last_ms >= forget_before_ms;
    *failures = live ? (uint32_t)(l.failures > UINT32_MAX ? UINT32_MAX : l.failures) : 0;
    *last_ms = live ? l.last_ms : 0;
    return 0;
}

int store_login_fail(store_t *s, const char *key, int64_t now_ms, int64_t forget_before_ms,
                     fedge_err_t *err)
{
    int r = check_text("login key", key, LOGIN_KEY_MAX, err);
    if (r < 0)
        return r;
    if ((r = s->ops->begin(s->be, true, err)) < 0)
        return r;
    store__val_t a[] = {STORE__S(key), STORE__I(now_ms), STORE__I(forget_before_ms)};
    /* the old entries go first: one failing key at a time keeps it bounded */
    r = s->ops->exec(s->be, "DELETE FROM admin_login_failure WHERE last_ms < ?1", &a[2], 1, NULL,
                     err);
    if (r == 0)
        r = s->ops->exec(s->be,
                         "INSERT INTO admin_login_failure(key, failures, last_ms) "
                         "VALUES(?1, 1, ?2) ON CONFLICT(key) DO UPDATE SET "
                         "failures = admin_login_failure.failures + 1, last_ms = ?2",
                         a, 2, NULL, err);
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    return s->ops->commit(s->be, err);
}

int store_login_forget(store_t *s, const char *key, fedge_err_t *err)
{
    int r = check_text("login key", key, LOGIN_KEY_MAX, err);
    if (r < 0)
        return r;
    store__val_t a[] = {STORE__S(key)};
    return s->ops->exec(s->be, "DELETE FROM admin_login_failure WHERE key = ?1", a, 1, NULL, err);
}
