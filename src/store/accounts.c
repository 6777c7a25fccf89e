/* accounts.c — administrator accounts of the web panel (docs/admin.md): name and
 * password hash in the store, each change one transaction with an audit
 * entry. The hash is opaque here (src/admin makes and checks it). */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

static int check_hash(const char *h, fedge_err_t *err)
{
    size_t len = h ? strlen(h) : 0;
    bool ok = len >= 1 && len < STORE_ACCOUNT_HASH_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = h[i] > 0x20 && h[i] < 0x7f;
    if (!ok)
        return fedge_err(err, FEDGE_EINVAL,
                         "password hash: expected 1 to %d printable "
                         "characters",
                         STORE_ACCOUNT_HASH_MAX - 1);
    return 0;
}

/* One change: validate, begin, run sql with (name, hash, at), expect
 * exactly one row changed (else FEDGE_ENOENT / the constraint's EEXIST),
 * audit, commit. */
static int change(store_t *s, const char *sql, const char *action, const char *name,
                  const char *hash, const char *actor, fedge_err_t *err)
{
    char nm[STORE_NAME_MAX + 1];
    int r = store_check_name("name", name, nm, sizeof(nm), err);
    if (r == 0 && hash)
        r = check_hash(hash, err);
    if (r == 0)
        r = store__check_actor(actor, err);
    if (r < 0)
        return r;
    if ((r = s->ops->begin(s->be, true, err)) < 0)
        return r;
    char at[32];
    store__now_text(at, sizeof(at));
    store__val_t a[] = {STORE__S(nm), STORE__S(hash ? hash : ""), STORE__S(at)};
    int64_t changed = 0;
    r = s->ops->exec(s->be, sql, a, 3, &changed, err);
    if (r == FEDGE_EEXIST)
        r = fedge_err(err, FEDGE_EEXIST,
                      "administrator '%s' already exists; use 'fedge admin passwd %s' to "
                      "change the password",
                      nm, nm);
    else if (r == 0 && changed != 1)
        r = fedge_err(err, FEDGE_ENOENT, "no administrator named '%s'", nm);
    if (r == 0)
        r = store__audit(s, actor, action, nm, err, "%s", "");
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    return s->ops->commit(s->be, err);
}

int store_account_add(store_t *s, const char *name, const char *pwhash, const char *actor,
                      fedge_err_t *err)
{
    if (!pwhash)
        return check_hash(NULL, err);
    return change(s,
                  "INSERT INTO admin_account(name, pwhash, created_at, changed_at) "
                  "VALUES(?1, ?2, ?3, ?3)",
                  "account.add", name, pwhash, actor, err);
}

int store_account_passwd(store_t *s, const char *name, const char *pwhash, const char *actor,
                         fedge_err_t *err)
{
    if (!pwhash)
        return check_hash(NULL, err);
    return change(s, "UPDATE admin_account SET pwhash = ?2, changed_at = ?3 WHERE name = ?1",
                  "account.passwd", name, pwhash, actor, err);
}

int store_account_remove(store_t *s, const char *name, const char *actor, fedge_err_t *err)
{
    return change(s, "DELETE FROM admin_account WHERE name = ?1 AND ?2 = ?2 AND ?3 = ?3",
                  "account.remove", name, NULL, actor, err);
}

typedef struct {
    char *out;
    size_t outsz;
    bool found;
    bool fits;
} get_t;

static int get_cb(const store__val_t *c, size_t n, void *ctx)
{
    get_t *g = ctx;
    if (n < 1 || c[0].t != STORE__TEXT)
        return 0;
    g->found = true;
    size_t len = strlen(c[0].s);
    g->fits = len < g->outsz;
    if (g->fits)
        memcpy(g->out, c[0].s, len + 1);
    return 0;
}

int store_account_get(store_t *s, const char *name, char *pwhash, size_t sz, fedge_err_t *err)
{
    char nm[STORE_NAME_MAX + 1];
    int r = store_check_name("name", name, nm, sizeof(nm), err);
    if (r < 0)
        return r;
    get_t g = {pwhash, sz, false, false};
    store__val_t a[] = {STORE__S(nm)};
    r = s->ops->query(s->be, "SELECT pwhash FROM admin_account WHERE name = ?1", a, 1, get_cb, &g,
                      err);
    if (r < 0)
        return r;
    if (!g.found)
        return fedge_err(err, FEDGE_ENOENT, "no administrator named '%s'", nm);
    if (!g.fits)
        return fedge_err(err, FEDGE_ENOSPC, "password hash of '%s' too long", nm);
    return 0;
}

static int count_cb(const store__val_t *c, size_t n, void *ctx)
{
    if (n >= 1 && c[0].t == STORE__INT)
        *(int64_t *)ctx = c[0].i;
    return 0;
}

int store_account_count(store_t *s, size_t *n, fedge_err_t *err)
{
    int64_t v = 0;
    int r = s->ops->query(s->be, "SELECT count(*) FROM admin_account", NULL, 0, count_cb, &v, err);
    if (r < 0)
        return r;
    *n = (size_t)v;
    return 0;
}

typedef struct {
    store_account_cb cb;
    void *ctx;
} list_t;

static int list_cb(const store__val_t *c, size_t n, void *ctx)
{
    list_t *l = ctx;
    if (n < 3)
        return 0;
    store_account_t a = {c[0].s ? c[0].s : "", c[1].s ? c[1].s : "", c[2].s ? c[2].s : ""};
    return l->cb(&a, l->ctx);
}

int store_account_list(store_t *s, store_account_cb cb, void *ctx, fedge_err_t *err)
{
    list_t l = {cb, ctx};
    return s->ops->query(s->be,
                         "SELECT name, created_at, changed_at FROM admin_account ORDER BY name",
                         NULL, 0, list_cb, &l, err);
}
