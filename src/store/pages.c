/* pages.c — one page of the domain list or of the audit log as the web
 * panel shows it: searched over the text shown (never over hidden values),
 * sorted, counted and cut in SQL that runs unchanged on SQLite and
 * PostgreSQL (store_int.h), so that a store of tens of thousands of
 * entries never travels whole to the browser. */
#include "store/store_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A LIKE pattern matching text containing q (lowercased ASCII, %, _ and \
 * escaped with \), into out (size n >= 2 * STORE_COMMENT_MAX + 3). */
static int like_pattern(const char *field, const char *q, char *out, size_t n, fedge_err_t *err)
{
    size_t len = strlen(q), o = 0;
    if (len > STORE_COMMENT_MAX)
        return fedge_err(err, FEDGE_EINVAL, "%s: longer than %d bytes", field, STORE_COMMENT_MAX);
    out[o++] = '%';
    for (size_t i = 0; i < len && o + 3 < n; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c < 0x20 || c == 0x7f)
            return fedge_err(err, FEDGE_EINVAL, "%s: control characters are not allowed", field);
        if (c == '%' || c == '_' || c == '\\')
            out[o++] = '\\';
        out[o++] = (char)tolower(c);
    }
    out[o++] = '%';
    out[o] = '\0';
    return 0;
}

static int count_cb(const store__val_t *c, size_t n, void *x)
{
    uint64_t *v = x;
    for (size_t i = 0; i < n && i < 2; i++)
        v[i] = c[i].t == STORE__INT && c[i].i > 0 ? (uint64_t)c[i].i : 0;
    return 0;
}

/* The rows as shown; the panel's columns are these, in this order. The
 * unit separator (0x1f) between columns in the searched text keeps a
 * match from spanning two columns: queries never hold control bytes. */
#define DOMAIN_ROWS                                                                                \
    "(SELECT domain, 'Allowed' AS access, CASE WHEN proxy_fqdn IS NULL THEN 'Partner domain' "     \
    "ELSE 'Partner server' END AS type, COALESCE(proxy_fqdn, '') AS proxy_fqdn, comment, "         \
    "CASE WHEN monitor <> 0 THEN 'Yes' ELSE '' END AS monitor FROM allowed_domain UNION ALL "      \
    "SELECT domain, 'Blocked', '', '', comment, '' FROM blocked_domain) AS d"
#define DOMAIN_MATCH                                                                               \
    "lower(domain || '\x1f' || access || '\x1f' || type || '\x1f' || proxy_fqdn || '\x1f' || "     \
    "comment || '\x1f' || monitor) LIKE ?3 ESCAPE '\\'"

typedef struct {
    store_domain_row_cb cb;
    void *ctx;
} domain_ctx_t;

static int domain_row(const store__val_t *c, size_t n, void *x)
{
    domain_ctx_t *d = x;
    if (n < 6)
        return 0;
    store_domain_row_t r = {c[0].s ? c[0].s : "", c[1].s ? c[1].s : "",
                            c[2].s ? c[2].s : "", c[3].s ? c[3].s : "",
                            c[4].s ? c[4].s : "", c[5].s && !strcmp(c[5].s, "Yes")};
    return d->cb(&r, d->ctx);
}

int store_domain_page(store_t *s, const store_page_t *p, uint64_t *matched, uint64_t *total,
                      store_domain_row_cb cb, void *ctx, fedge_err_t *err)
{
    static const char *const cols[] = {"domain",     "access",  "type",
                                       "proxy_fqdn", "comment", "monitor"};
    const char *col = NULL;
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        if (!p->sort || !*p->sort || !strcmp(p->sort, cols[i])) {
            col = cols[i];
            break;
        }
    if (!col)
        return fedge_err(err, FEDGE_EINVAL,
                         "sort: expected domain, access, type, proxy_fqdn, comment or monitor");
    char pat[2 * STORE_COMMENT_MAX + 4];
    bool q = p->query && *p->query;
    int r = q ? like_pattern("q", p->query, pat, sizeof(pat), err) : 0;
    if (r < 0)
        return r;
    uint64_t counts[2] = {0, 0};
    store__val_t a[] = {STORE__I((int64_t)(p->limit > INT32_MAX ? INT32_MAX : p->limit)),
                        STORE__I((int64_t)(p->offset > INT32_MAX ? INT32_MAX : p->offset)),
                        STORE__S(q ? pat : "")};
    /* Parameters ?1 and ?2 are only in the page query: the count takes
     * the pattern alone, as ?1. */
    store__val_t ca[] = {STORE__S(q ? pat : "")};
    r = s->ops->begin(s->be, false, err);
    if (r < 0)
        return r;
    if (q)
        r = s->ops->query(s->be,
                          "SELECT COUNT(*), COUNT(CASE WHEN "
                          "lower(domain || '\x1f' || access || '\x1f' || type || '\x1f' || "
                          "proxy_fqdn || '\x1f' || comment || '\x1f' || monitor) "
                          "LIKE ?1 ESCAPE '\\' THEN 1 END) FROM " DOMAIN_ROWS,
                          ca, 1, count_cb, counts, err);
    else
        r = s->ops->query(s->be, "SELECT COUNT(*), COUNT(*) FROM " DOMAIN_ROWS, NULL, 0, count_cb,
                          counts, err);
    if (r == 0) {
        char sql[1536];
        const char *dir = p->desc ? "DESC" : "ASC";
        snprintf(sql, sizeof(sql),
                 "SELECT domain, access, type, proxy_fqdn, comment, monitor FROM " DOMAIN_ROWS
                 "%s ORDER BY %s %s, domain %s LIMIT ?1 OFFSET ?2",
                 q ? " WHERE " DOMAIN_MATCH : "", col, dir, dir);
        domain_ctx_t d = {cb, ctx};
        r = s->ops->query(s->be, sql, a, q ? 3 : 2, domain_row, &d, err);
    }
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    *total = counts[0];
    *matched = counts[1];
    return s->ops->commit(s->be, err);
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (digits where digits go). */
static bool time_text(const char *t)
{
    static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
    size_t n = strlen(t);
    if (n != 10 && n != 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (form[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != form[i])
            return false;
    return true;
}

typedef struct {
    store_audit_cb cb;
    void *ctx;
} audit_ctx_t;

static int audit_row(const store__val_t *c, size_t n, void *x)
{
    audit_ctx_t *a = x;
    if (n < 6)
        return 0;
    store_audit_t e = {c[0].i, c[1].s, c[2].s, c[3].s, c[4].s, c[5].s};
    return a->cb(&e, a->ctx);
}

int store_audit_page(store_t *s, const store_audit_filter_t *f, uint64_t *matched,
                     store_audit_cb cb, void *ctx, fedge_err_t *err)
{
    /* Patterns for actor, object, action, query; then since, until. */
    char pats[4][2 * STORE_COMMENT_MAX + 4], until[32];
    const char *in[4] = {f->actor, f->object, f->action, f->query};
    static const char *const names[4] = {"actor", "object", "action", "q"};
    static const char *const conds[4] = {
        "lower(actor) LIKE ?%d ESCAPE '\\'", "lower(object) LIKE ?%d ESCAPE '\\'",
        "lower(action) LIKE ?%d ESCAPE '\\'",
        "lower(at || '\x1f' || actor || '\x1f' || action || '\x1f' || object || '\x1f' || "
        "detail) LIKE ?%d ESCAPE '\\'"};
    store__val_t a[8];
    size_t na = 0;
    char where[1024] = "";
    size_t wl = 0;
    int r;
    for (size_t i = 0; i < 4; i++) {
        if (!in[i] || !*in[i])
            continue;
        if ((r = like_pattern(names[i], in[i], pats[i], sizeof(pats[i]), err)) < 0)
            return r;
        a[na++] = STORE__S(pats[i]);
        wl += (size_t)snprintf(where + wl, sizeof(where) - wl, "%s", wl ? " AND " : " WHERE ");
        wl += (size_t)snprintf(where + wl, sizeof(where) - wl, conds[i], (int)na);
    }
    if (f->since && *f->since) {
        if (!time_text(f->since))
            return fedge_err(err, FEDGE_EINVAL,
                             "since: expected a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SSZ");
        a[na++] = STORE__S(f->since);
        wl += (size_t)snprintf(where + wl, sizeof(where) - wl, "%sat >= ?%d",
                               wl ? " AND " : " WHERE ", (int)na);
    }
    if (f->until && *f->until) {
        if (!time_text(f->until))
            return fedge_err(err, FEDGE_EINVAL,
                             "until: expected a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SSZ");
        /* A date covers its whole day. */
        snprintf(until, sizeof(until), "%s%s", f->until, strlen(f->until) == 10 ? "T99" : "");
        a[na++] = STORE__S(until);
        wl += (size_t)snprintf(where + wl, sizeof(where) - wl, "%sat <= ?%d",
                               wl ? " AND " : " WHERE ", (int)na);
    }
    uint64_t counts[2] = {0, 0};
    char sql[1536];
    if ((r = s->ops->begin(s->be, false, err)) < 0)
        return r;
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM audit%s", where);
    r = s->ops->query(s->be, sql, a, na, count_cb, counts, err);
    if (r == 0) {
        size_t nq = na;
        a[nq++] = STORE__I((int64_t)(f->limit > INT32_MAX ? INT32_MAX : f->limit));
        a[nq++] = STORE__I((int64_t)(f->offset > INT32_MAX ? INT32_MAX : f->offset));
        snprintf(sql, sizeof(sql),
                 "SELECT id, at, actor, action, object, detail FROM audit%s ORDER BY id DESC "
                 "LIMIT ?%zu OFFSET ?%zu",
                 where, na + 1, na + 2);
        audit_ctx_t c = {cb, ctx};
        r = s->ops->query(s->be, sql, a, nq, audit_row, &c, err);
    }
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    *matched = counts[0];
    return s->ops->commit(s->be, err);
}
