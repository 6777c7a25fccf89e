/* import.c — bulk import of allowed and blocked domains (the CLI's
 * `fedge domain import` and the panel's CSV import): every row checked
 * before anything is written, then one transaction, one audit entry per
 * domain actually added or replaced. */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char domain[STORE_FQDN_MAX + 1];
    char fqdn[STORE_FQDN_MAX + 1]; /* "" none */
    const char *comment;
    bool blocked, monitor;
    size_t row; /* 1-based */
} norm_t;

static int by_domain(const void *a, const void *b)
{
    return strcmp(((const norm_t *)a)->domain, ((const norm_t *)b)->domain);
}

/* The entry in the store: found, blocked, fqdn, comment, monitor. */
typedef struct {
    bool found, blocked, monitor;
    char fqdn[STORE_FQDN_MAX + 1];
    char comment[STORE_COMMENT_MAX + 1];
} cur_t;

static int cur_cb(const store__val_t *c, size_t n, void *x)
{
    cur_t *k = x;
    if (n < 4)
        return 0;
    k->found = true;
    k->blocked = c[0].t == STORE__TEXT && !strcmp(c[0].s, "b");
    snprintf(k->fqdn, sizeof(k->fqdn), "%s", c[1].t == STORE__TEXT ? c[1].s : "");
    snprintf(k->comment, sizeof(k->comment), "%s", c[2].t == STORE__TEXT ? c[2].s : "");
    k->monitor = c[3].t == STORE__INT && c[3].i != 0;
    return 0;
}

/* "blocked", "allowed", "allowed partner server X[, monitored]". */
static void describe(char *out, size_t n, bool blocked, const char *fqdn, bool monitor)
{
    if (blocked)
        snprintf(out, n, "blocked");
    else
        snprintf(out, n, "allowed%s%s%s", *fqdn ? " partner server " : "", fqdn,
                 monitor ? ", monitored" : "");
}

static int import_one(store_t *s, const norm_t *r, bool replace, store_import_count_t *c,
                      const char *actor, fedge_err_t *err)
{
    cur_t k = {0};
    store__val_t a[] = {STORE__S(r->domain)};
    int rc = s->ops->query(s->be,
                           "SELECT 'a', proxy_fqdn, comment, monitor FROM allowed_domain WHERE "
                           "domain = ?1 UNION ALL SELECT 'b', NULL, comment, 0 FROM "
                           "blocked_domain WHERE domain = ?1",
                           a, 1, cur_cb, &k, err);
    if (rc < 0)
        return rc;
    const char *comment = r->comment ? r->comment : "";
    char was[STORE_FQDN_MAX + 64], now[STORE_FQDN_MAX + 64];
    describe(was, sizeof(was), k.blocked, k.fqdn, k.monitor);
    describe(now, sizeof(now), r->blocked, r->fqdn, r->monitor);
    if (k.found) {
        if (k.blocked == r->blocked && !strcmp(k.fqdn, r->fqdn) && k.monitor == r->monitor &&
            !strcmp(k.comment, comment)) {
            c->unchanged++;
            return 0;
        }
        if (!replace)
            return fedge_err(err, FEDGE_EEXIST,
                             "row %zu: %s is %s in the store, %s in the file (import with "
                             "replace to take the file's)",
                             r->row, r->domain, was, strcmp(was, now) ? now : "another comment");
        rc = s->ops->exec(s->be,
                          k.blocked ? "DELETE FROM blocked_domain WHERE domain = ?1"
                                    : "DELETE FROM allowed_domain WHERE domain = ?1",
                          a, 1, NULL, err);
        if (rc < 0)
            return rc;
    }
    if (r->blocked) {
        store__val_t b[] = {STORE__S(r->domain), STORE__S(comment)};
        rc = s->ops->exec(s->be, "INSERT INTO blocked_domain(domain, comment) VALUES(?1, ?2)", b, 2,
                          NULL, err);
    } else {
        store__val_t b[] = {STORE__S(r->domain), STORE__S(r->fqdn[0] ? r->fqdn : NULL),
                            STORE__S(comment), STORE__I(r->monitor)};
        rc = s->ops->exec(s->be,
                          "INSERT INTO allowed_domain(domain, proxy_fqdn, comment, monitor) "
                          "VALUES(?1, ?2, ?3, ?4)",
                          b, 4, NULL, err);
    }
    if (rc < 0)
        return rc;
    if (k.found) {
        c->replaced++;
        return store__audit(s, actor, "domain.import", r->domain, err,
                            "%s%s" STORE_AUDIT_ARROW "%s%s", was,
                            strcmp(k.comment, comment) ? " (other comment)" : "", now,
                            *comment ? ", with comment" : "");
    }
    c->added++;
    return store__audit(s, actor, "domain.import", r->domain, err, "added: %s%s", now,
                        *comment ? ", with comment" : "");
}

int store_domain_import(store_t *s, const store_domain_in_t *rows, size_t n, bool replace,
                        bool dry_run, const char *actor, store_import_count_t *count,
                        fedge_err_t *err)
{
    store_import_count_t c = {0, 0, 0};
    if (n > STORE_IMPORT_MAX)
        return fedge_err(err, FEDGE_EINVAL, "more than %d rows in one import", STORE_IMPORT_MAX);
    norm_t *v = fedge_calloc(n + 1, sizeof(*v));
    int r = 0;
    for (size_t i = 0; r == 0 && i < n; i++) {
        const store_domain_in_t *in = &rows[i];
        norm_t *o = &v[i];
        fedge_err_t e;
        o->row = i + 1;
        o->blocked = in->blocked;
        o->monitor = in->monitor;
        o->comment = in->comment;
        if (store_check_domain("domain", in->domain ? in->domain : "", o->domain, sizeof(o->domain),
                               &e) < 0) {
            r = fedge_err(err, FEDGE_EINVAL, "row %zu: %s", i + 1, e.msg);
            break;
        }
        if (in->proxy_fqdn && *in->proxy_fqdn) {
            if (in->blocked) {
                r = fedge_err(err, FEDGE_EINVAL,
                              "row %zu: %s is blocked: a blocked domain has no partner edge "
                              "(proxy_fqdn)",
                              i + 1, o->domain);
                break;
            }
            if (store_check_domain("proxy_fqdn", in->proxy_fqdn, o->fqdn, sizeof(o->fqdn), &e) <
                0) {
                r = fedge_err(err, FEDGE_EINVAL, "row %zu: %s", i + 1, e.msg);
                break;
            }
        }
        if (in->blocked && in->monitor) {
            r = fedge_err(err, FEDGE_EINVAL,
                          "row %zu: %s is blocked: only allowed domains are monitored", i + 1,
                          o->domain);
            break;
        }
        const char *cm = in->comment ? in->comment : "";
        size_t cl = strlen(cm);
        bool ctl = false;
        for (size_t k = 0; k < cl; k++)
            ctl = ctl || (unsigned char)cm[k] < 0x20 || cm[k] == 0x7f;
        if (cl > STORE_COMMENT_MAX || ctl) {
            r = fedge_err(err, FEDGE_EINVAL, "row %zu: comment: %s", i + 1,
                          ctl ? "control characters are not allowed (one line of text expected)"
                              : "longer than 512 bytes");
            break;
        }
    }
    if (r == 0 && n > 1) {
        /* Sorted by domain, a domain given twice sits next to itself. */
        norm_t *sorted = fedge_calloc(n, sizeof(*sorted));
        memcpy(sorted, v, n * sizeof(*v));
        qsort(sorted, n, sizeof(*sorted), by_domain);
        for (size_t i = 1; r == 0 && i < n; i++)
            if (!strcmp(sorted[i].domain, sorted[i - 1].domain)) {
                size_t a = sorted[i].row < sorted[i - 1].row ? sorted[i].row : sorted[i - 1].row;
                size_t b = sorted[i].row ^ sorted[i - 1].row ^ a;
                r = fedge_err(err, FEDGE_EINVAL, "row %zu: %s is already given in row %zu", b,
                              sorted[i].domain, a);
            }
        free(sorted);
    }
    if (r == 0 && (r = store__tx_begin(s, actor, err)) == 0) {
        for (size_t i = 0; r == 0 && i < n; i++)
            r = import_one(s, &v[i], replace, &c, actor, err);
        if (dry_run || r < 0)
            s->ops->rollback(s->be);
        else
            r = store__tx_end(s, r, err);
    }
    free(v);
    if (r == 0 && count)
        *count = c;
    return r;
}
