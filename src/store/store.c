/* store.c — the configuration store's public face: input validation shared
 * by CLI and REST API, opening and schema migrations, and every change as
 * one audited transaction, on top of a backend (store_int.h). */
#include "store/store_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

const char *store_routing_name(store_routing_t r)
{
    return r == STORE_ROUTING_DEFAULT_ROUTE ? "default-route" : "dns-srv";
}

const char *store_provider_kind_name(store_provider_kind_t k)
{
    return k == STORE_PROVIDER_PUBLIC ? "public" : "hosting";
}

const char *store_verification_name(store_verification_t v)
{
    switch (v) {
    case STORE_VERIFY_ALWAYS_UNVERIFIED: return "always-unverified";
    case STORE_VERIFY_USE_SOURCE: return "use-source";
    default: return "always-verified";
    }
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

/* Checks a DNS name of at least min_labels labels; 0 or an error text. */
static const char *domain_problem(const char *s, size_t len, int min_labels)
{
    if (len == 0)
        return "it is empty";
    if (len > STORE_FQDN_MAX)
        return "it is longer than 253 characters";
    int labels = 0;
    size_t start = 0;
    bool last_numeric = true;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            size_t l = i - start;
            if (l == 0)
                return "it has an empty label";
            if (l > 63)
                return "a label is longer than 63 characters";
            if (s[start] == '-' || s[i - 1] == '-')
                return "a label starts or ends with '-'";
            last_numeric = true;
            for (size_t k = start; k < i; k++)
                if (!isdigit((unsigned char)s[k]))
                    last_numeric = false;
            labels++;
            start = i + 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-')
            return "it contains a character other than letters, digits, '-' and '.'";
    }
    if (last_numeric)
        return "it is an IP address or ends in a numeric label";
    if (labels < min_labels)
        return "it needs at least two labels (like example.com)";
    return NULL;
}

static int copy_lower(const char *field, const char *s, size_t len, char *out, size_t outsz,
                      fedge_err_t *err)
{
    if (len + 1 > outsz)
        return fedge_err(err, FEDGE_EINVAL, "%s: value too long", field);
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = 0;
    return 0;
}

int store_check_domain(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    if (len > 0 && s[len - 1] == '.')
        len--;
    const char *p = domain_problem(s, len, 2);
    if (p)
        return fedge_err(err, FEDGE_EINVAL,
                         "%s '%.300s' is not a valid domain name: %s; expected a DNS "
                         "name such as contoso.com (letters, digits, '-', labels "
                         "separated by '.')",
                         field, s, p);
    return copy_lower(field, s, len, out, outsz, err);
}

static bool user_char(unsigned char c)
{
    return isalnum(c) || strchr("-_.!~*'()&=+$,?/%", c) != NULL;
}

int store_check_user(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err)
{
    if (!s)
        s = "";
    if (!strncasecmp(s, "sip:", 4))
        s += 4;
    const char *at = strchr(s, '@');
    const char *expect = "expected user@domain, such as alice@contoso.com";
    if (!at || at == s)
        return fedge_err(err, FEDGE_EINVAL, "%s '%.300s' is not a user address: %s", field, s,
                         expect);
    size_t ulen = (size_t)(at - s);
    if (ulen > 64)
        return fedge_err(err, FEDGE_EINVAL,
                         "%s '%.300s': the user part is longer than 64 characters; %s", field, s,
                         expect);
    for (size_t i = 0; i < ulen; i++)
        if (!user_char((unsigned char)s[i]))
            return fedge_err(err, FEDGE_EINVAL,
                             "%s '%.300s': the user part has a character not allowed "
                             "in a SIP user name; %s",
                             field, s, expect);
    char dom[STORE_FQDN_MAX + 1];
    int r = store_check_domain(field, at + 1, dom, sizeof(dom), err);
    if (r < 0)
        return r;
    size_t dl = strlen(dom);
    if (ulen + 1 + dl + 1 > outsz)
        return fedge_err(err, FEDGE_EINVAL, "%s: value too long", field);
    copy_lower(field, s, ulen, out, outsz, err);
    out[ulen] = '@';
    memcpy(out + ulen + 1, dom, dl + 1);
    return 0;
}

int store_check_name(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    bool ok = len >= 1 && len <= STORE_NAME_MAX && isalnum((unsigned char)s[0]);
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        ok = isalnum(c) || c == '.' || c == '_' || c == '-';
    }
    if (!ok)
        return fedge_err(err, FEDGE_EINVAL,
                         "%s '%.300s' is not a valid name: expected 1 to 64 letters, "
                         "digits, '.', '_' or '-', starting with a letter or digit",
                         field, s);
    return copy_lower(field, s, len, out, outsz, err);
}

int store_check_bool(const char *field, const char *s, bool *out, fedge_err_t *err)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (size_t i = 0; s && i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return fedge_err(err, FEDGE_EINVAL, "%s '%.300s': expected on or off", field, s ? s : "");
}

int store_check_uint(const char *field, const char *s, uint32_t min, uint32_t max, uint32_t *out,
                     fedge_err_t *err)
{
    uint64_t v = 0;
    bool ok = s && *s;
    for (const char *p = s; ok && *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 0xffffffffull) {
            ok = false;
            break;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (!ok || v < min || v > max)
        return fedge_err(err, FEDGE_EINVAL, "%s '%.300s': expected a whole number from %u to %u",
                         field, s ? s : "", min, max);
    *out = (uint32_t)v;
    return 0;
}

static bool ipv4_literal(const char *s, size_t len)
{
    int parts = 0, digits = 0, val = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (digits == 0 || val > 255)
                return false;
            parts++;
            digits = val = 0;
            continue;
        }
        if (!isdigit((unsigned char)s[i]) || ++digits > 3)
            return false;
        val = val * 10 + (s[i] - '0');
    }
    return parts == 4;
}

int store_check_hostport(const char *field, const char *s, char *out, size_t outsz,
                         fedge_err_t *err)
{
    const char *expect = "expected HOST[:PORT], such as sip.contoso.com:5061, "
                         "192.0.2.1:5061 or [2001:db8::1]:5061";
    if (!s)
        s = "";
    size_t len = strlen(s);
    const char *host = s, *port = NULL;
    size_t hlen;
    bool ok = true;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        ok = rb && rb > s + 1;
        if (ok) {
            for (const char *p = s + 1; p < rb; p++)
                if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                    ok = false;
            hlen = (size_t)(rb - s) + 1;
            if (rb[1] == ':')
                port = rb + 2;
            else if (rb[1])
                ok = false;
        }
    } else {
        const char *colon = strchr(s, ':');
        hlen = colon ? (size_t)(colon - s) : len;
        if (colon)
            port = colon + 1;
        ok = ipv4_literal(host, hlen) || !domain_problem(host, hlen, 1);
    }
    if (ok && port) {
        uint32_t pv;
        ok = store_check_uint(field, port, 1, 65535, &pv, NULL) == 0;
    }
    if (!ok)
        return fedge_err(err, FEDGE_EINVAL, "%s '%.300s' is not valid: %s", field, s, expect);
    return copy_lower(field, s, len, out, outsz, err);
}

int store_check_routing(const char *field, const char *s, store_routing_t *out, fedge_err_t *err)
{
    if (s && !strcasecmp(s, "dns-srv"))
        *out = STORE_ROUTING_DNS_SRV;
    else if (s && !strcasecmp(s, "default-route"))
        *out = STORE_ROUTING_DEFAULT_ROUTE;
    else
        return fedge_err(err, FEDGE_EINVAL, "%s '%.300s': expected dns-srv or default-route", field,
                         s ? s : "");
    return 0;
}

int store_check_provider_kind(const char *field, const char *s, store_provider_kind_t *out,
                              fedge_err_t *err)
{
    if (s && !strcasecmp(s, "hosting"))
        *out = STORE_PROVIDER_HOSTING;
    else if (s && !strcasecmp(s, "public"))
        *out = STORE_PROVIDER_PUBLIC;
    else
        return fedge_err(err, FEDGE_EINVAL, "%s '%.300s': expected hosting or public", field,
                         s ? s : "");
    return 0;
}

int store_check_verification(const char *field, const char *s, store_verification_t *out,
                             fedge_err_t *err)
{
    if (s && !strcasecmp(s, "always-verified"))
        *out = STORE_VERIFY_ALWAYS_VERIFIED;
    else if (s && !strcasecmp(s, "always-unverified"))
        *out = STORE_VERIFY_ALWAYS_UNVERIFIED;
    else if (s && !strcasecmp(s, "use-source"))
        *out = STORE_VERIFY_USE_SOURCE;
    else
        return fedge_err(err, FEDGE_EINVAL,
                         "%s '%.300s': expected always-verified, always-unverified or "
                         "use-source",
                         field, s ? s : "");
    return 0;
}

int store_check_scope(const char *field, const char *s, char *out, size_t outsz, fedge_err_t *err)
{
    if (!s)
        s = "";
    if (!strcasecmp(s, "global"))
        return copy_lower(field, "global", 6, out, outsz, err);
    if (!strncasecmp(s, "site:", 5)) {
        char name[STORE_NAME_MAX + 1];
        if (store_check_name(field, s + 5, name, sizeof(name), NULL) < 0)
            return fedge_err(err, FEDGE_EINVAL,
                             "%s '%.300s': expected global, site:NAME or NAME, NAME being "
                             "1 to 64 letters, digits, '.', '_' or '-'",
                             field, s);
        if (strlen(name) + 6 > outsz)
            return fedge_err(err, FEDGE_EINVAL, "%s: value too long", field);
        snprintf(out, outsz, "site:%s", name);
        return 0;
    }
    if (store_check_name(field, s, out, outsz, NULL) < 0)
        return fedge_err(err, FEDGE_EINVAL,
                         "%s '%.300s': expected global, site:NAME or NAME, NAME being 1 "
                         "to 64 letters, digits, '.', '_' or '-'",
                         field, s);
    return 0;
}

int store__check_actor(const char *actor, fedge_err_t *err)
{
    size_t len = actor ? strlen(actor) : 0;
    bool ok = len >= 1 && len <= STORE_ACTOR_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = actor[i] > 0x20 && actor[i] < 0x7f;
    if (!ok)
        return fedge_err(err, FEDGE_EINVAL,
                         "actor '%.200s': expected 1 to 128 printable characters without "
                         "spaces, such as cli:root or admin:alice",
                         actor ? actor : "");
    return 0;
}

static int check_comment(const char *c, fedge_err_t *err)
{
    if (!c)
        return 0;
    size_t len = strlen(c);
    if (len > STORE_COMMENT_MAX)
        return fedge_err(err, FEDGE_EINVAL, "comment: longer than %d bytes", STORE_COMMENT_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
            return fedge_err(err, FEDGE_EINVAL,
                             "comment: control characters are not allowed (one line of "
                             "text expected)");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Edge settings                                                       */
/* ------------------------------------------------------------------ */

void store__edge_defaults(store_edge_t *e)
{
    *e = (store_edge_t){
        .federation = true,
        .discovery = false,
        .outside_users = false,
        .routing = STORE_ROUTING_DNS_SRV,
        .default_route = "",
        .discovered_rate = 20,
        .discovered_contacts = 1000,
        .contacts_limit = true,
        .report_period_min = 60,
        .mark_verifiable = true,
        .block_subdomains = true,
    };
}

static const char edge_keys[] =
    "federation, discovery, outside-users, routing, default-route, discovered-rate, "
    "discovered-contacts, contacts-limit, report-period, mark-verifiable, "
    "block-subdomains";

int store__edge_apply(store_edge_t *e, const char *key, const char *v, fedge_err_t *err)
{
    if (!strcmp(key, "federation"))
        return store_check_bool(key, v, &e->federation, err);
    if (!strcmp(key, "discovery"))
        return store_check_bool(key, v, &e->discovery, err);
    if (!strcmp(key, "outside-users"))
        return store_check_bool(key, v, &e->outside_users, err);
    if (!strcmp(key, "contacts-limit"))
        return store_check_bool(key, v, &e->contacts_limit, err);
    if (!strcmp(key, "mark-verifiable"))
        return store_check_bool(key, v, &e->mark_verifiable, err);
    if (!strcmp(key, "block-subdomains"))
        return store_check_bool(key, v, &e->block_subdomains, err);
    if (!strcmp(key, "routing"))
        return store_check_routing(key, v, &e->routing, err);
    if (!strcmp(key, "discovered-rate"))
        return store_check_uint(key, v, 1, 100000, &e->discovered_rate, err);
    if (!strcmp(key, "discovered-contacts"))
        return store_check_uint(key, v, 1, 1000000, &e->discovered_contacts, err);
    if (!strcmp(key, "report-period"))
        return store_check_uint(key, v, 1, 10080, &e->report_period_min, err);
    if (!strcmp(key, "default-route")) {
        if (v && *v) {
            char tmp[STORE_FQDN_MAX + 16];
            int r = store_check_hostport(key, v, tmp, sizeof(tmp), err);
            if (r < 0)
                return r;
        }
        e->default_route = v ? v : "";
        return 0;
    }
    return fedge_err(err, FEDGE_EINVAL, "unknown edge setting '%.100s': expected one of %s", key,
                     edge_keys);
}

/* ------------------------------------------------------------------ */
/* Open, migrate                                                       */
/* ------------------------------------------------------------------ */

int store_schema_current(void)
{
    return (int)store__sqlite.n_migrations;
}

static int int_cb(const store__val_t *c, size_t n, void *ctx)
{
    if (n >= 1 && c[0].t == STORE__INT)
        *(int64_t *)ctx = c[0].i;
    return 0;
}

static int migrate(store_t *s, fedge_err_t *err)
{
    const store__backend_t *o = s->ops;
    int r = o->begin(s->be, true, err);
    if (r < 0)
        return r;
    r = o->script(s->be, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)",
                  err);
    int64_t v = -1;
    if (r == 0)
        r = o->query(s->be, "SELECT version FROM schema_version", NULL, 0, int_cb, &v, err);
    if (r == 0 && v < 0) {
        v = 0;
        r = o->exec(s->be, "INSERT INTO schema_version VALUES(0)", NULL, 0, NULL, err);
    }
    if (r == 0)
        r = o->commit(s->be, err);
    else
        o->rollback(s->be);
    if (r < 0)
        return r;
    if (v > (int64_t)o->n_migrations)
        return fedge_err(err, FEDGE_ESTORE,
                         "store %s has schema version %lld, written by a newer fedge "
                         "(this one knows up to %zu); upgrade fedge",
                         s->path, (long long)v, o->n_migrations);
    /* One transaction per migration: a failure leaves the store at the
     * last complete version. The version is re-read under the write lock
     * so that two processes opening a new store do not both migrate. */
    for (;;) {
        r = o->begin(s->be, true, err);
        if (r < 0)
            return r;
        v = -1;
        r = o->query(s->be, "SELECT version FROM schema_version", NULL, 0, int_cb, &v, err);
        if (r < 0 || v >= (int64_t)o->n_migrations) {
            o->rollback(s->be);
            return r;
        }
        r = o->script(s->be, o->migrations[v], err);
        if (r == 0) {
            store__val_t a[] = {STORE__I(v + 1)};
            r = o->exec(s->be, "UPDATE schema_version SET version = ?1", a, 1, NULL, err);
        }
        if (r < 0) {
            o->rollback(s->be);
            fedge_err_t e2 = {{0}};
            if (err)
                e2 = *err;
            return fedge_err(err, FEDGE_ESTORE, "migrating store %s to schema %lld: %s", s->path,
                             (long long)(v + 1), e2.msg);
        }
        r = o->commit(s->be, err);
        if (r < 0)
            return r;
    }
}

int store_open(const char *path, store_t **out, fedge_err_t *err)
{
    if (!path || !*path)
        return fedge_err(err, FEDGE_EINVAL, "store: expected a file name or a postgresql:// URI");
    fedge_err_t bad = {{0}};
    if (store_check_location(path, &bad) < 0) {
        char where[512];
        store_location_shown(path, where, sizeof(where));
        return fedge_err(err, FEDGE_EINVAL, "store %s: %s", where, bad.msg);
    }
    store_t *s = fedge_calloc(1, sizeof(*s));
    bool uri = store_location_is_uri(path);
    s->ops = uri ? &store__pg : &store__sqlite;
    char shown[1024];
    store_location_shown(path, shown, sizeof(shown));
    s->path = fedge_strdup(shown);
    struct stat sb;
    bool created = !uri && stat(path, &sb) < 0 && errno == ENOENT;
    int r = s->ops->open(path, &s->be, err);
    if (r == 0)
        r = migrate(s, err);
    if (r < 0) {
        store_close(s);
        return r;
    }
    /* Policy and administrator accounts: readable by the owner
     * only, whatever the umask. SQLite gives its -wal and -shm files the
     * database file's mode when it creates them later. */
    if (created) {
        char side[PATH_MAX];
        chmod(path, 0600);
        snprintf(side, sizeof(side), "%s-wal", path);
        chmod(side, 0600);
        snprintf(side, sizeof(side), "%s-shm", path);
        chmod(side, 0600);
    }
    *out = s;
    return 0;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    if (s->be)
        s->ops->close(s->be);
    free(s->path);
    free(s);
}

int store_schema_version(store_t *s, int *version, fedge_err_t *err)
{
    int64_t v = -1;
    int r = s->ops->query(s->be, "SELECT version FROM schema_version", NULL, 0, int_cb, &v, err);
    if (r < 0)
        return r;
    *version = (int)v;
    return 0;
}

bool store_notifies(const store_t *s)
{
    return s->ops->wait != NULL;
}

int store_wait_change(store_t *s, int timeout_ms, fedge_err_t *err)
{
    if (!s->ops->wait) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        return 0;
    }
    return s->ops->wait(s->be, timeout_ms, err);
}

int store_changed(store_t *s, bool *changed, fedge_err_t *err)
{
    bool other = false;
    *changed = false;
    int r = s->ops->changed(s->be, &other, err);
    if (r < 0)
        return r;
    *changed = other || s->dirty || !s->polled;
    s->dirty = false;
    s->polled = true;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Transactions and audit                                              */
/* ------------------------------------------------------------------ */

static int tx_begin(store_t *s, const char *actor, fedge_err_t *err)
{
    int r = store__check_actor(actor, err);
    if (r < 0)
        return r;
    return s->ops->begin(s->be, true, err);
}

/* Ends the change: on r < 0 rolls back and returns r; else bumps the
 * generation and commits. */
static int tx_end(store_t *s, int r, fedge_err_t *err)
{
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    r = s->ops->exec(s->be, "UPDATE meta SET value = value + 1 WHERE key = 'generation'", NULL, 0,
                     NULL, err);
    if (r < 0) {
        s->ops->rollback(s->be);
        return r;
    }
    r = s->ops->commit(s->be, err);
    if (r == 0)
        s->dirty = true;
    return r;
}

int store__tx_begin(store_t *s, const char *actor, fedge_err_t *err)
{
    return tx_begin(s, actor, err);
}

int store__tx_end(store_t *s, int r, fedge_err_t *err)
{
    return tx_end(s, r, err);
}

void store__now_text(char *at, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int store__audit(store_t *s, const char *actor, const char *action, const char *object,
                 fedge_err_t *err, const char *fmt, ...)
{
    char at[32], detail[1024];
    store__now_text(at, sizeof(at));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    store__val_t a[] = {STORE__S(at), STORE__S(actor), STORE__S(action), STORE__S(object),
                        STORE__S(detail)};
    return s->ops->exec(s->be,
                        "INSERT INTO audit(at, actor, action, object, detail) "
                        "VALUES(?1, ?2, ?3, ?4, ?5)",
                        a, 5, NULL, err);
}

/* One change deleting the row sql (its one parameter ?1 = key) names:
 * FEDGE_ENOENT with the message missing (a format whose one %s is key)
 * when there is none, else audited as action on key with detail. */
static int remove_one(store_t *s, const char *actor, const char *sql, const char *key,
                      const char *action, const char *detail, const char *missing, fedge_err_t *err)
{
    int r = tx_begin(s, actor, err);
    if (r < 0)
        return r;
    int64_t n = 0;
    store__val_t a[] = {STORE__S(key)};
    r = s->ops->exec(s->be, sql, a, 1, &n, err);
    if (r == 0 && n == 0)
        r = fedge_err(err, FEDGE_ENOENT, missing, key);
    if (r == 0)
        r = store__audit(s, actor, action, key, err, "%s", detail);
    return tx_end(s, r, err);
}

static int exists(store_t *s, const char *sql, const char *key, bool *found, fedge_err_t *err)
{
    int64_t v = 0;
    store__val_t a[] = {STORE__S(key)};
    int r = s->ops->query(s->be, sql, a, 1, int_cb, &v, err);
    *found = v != 0;
    return r;
}

/* First text column of a one-row query. */
typedef struct {
    char s[STORE_FQDN_MAX + 64];
} text_t;

static int text_cb(const store__val_t *c, size_t nc, void *x)
{
    text_t *t = x;
    if (nc >= 1 && c[0].t == STORE__TEXT)
        snprintf(t->s, sizeof(t->s), "%s", c[0].s);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Changes                                                             */
/* ------------------------------------------------------------------ */

/* The canonical text of edge setting key in force inside the open
 * transaction (stored, else the default), into out; "" when unset. */
static void edge_current(store_t *s, const char *key, char *out, size_t n)
{
    text_t t = {{0}};
    bool set = false;
    store__val_t a[] = {STORE__S(key)};
    if (exists(s, "SELECT COUNT(*) FROM edge_setting WHERE key = ?1", key, &set, NULL) == 0 &&
        set &&
        s->ops->query(s->be, "SELECT value FROM edge_setting WHERE key = ?1", a, 1, text_cb, &t,
                      NULL) == 0) {
        snprintf(out, n, "%s", t.s);
        return;
    }
    store_edge_t d;
    store__edge_defaults(&d);
    if (!strcmp(key, "routing"))
        snprintf(out, n, "%s", store_routing_name(d.routing));
    else if (!strcmp(key, "default-route"))
        snprintf(out, n, "%s", d.default_route ? d.default_route : "");
    else if (!strcmp(key, "discovered-rate"))
        snprintf(out, n, "%u", d.discovered_rate);
    else if (!strcmp(key, "discovered-contacts"))
        snprintf(out, n, "%u", d.discovered_contacts);
    else if (!strcmp(key, "report-period"))
        snprintf(out, n, "%u", d.report_period_min);
    else {
        bool b = !strcmp(key, "federation")         ? d.federation
                 : !strcmp(key, "discovery")        ? d.discovery
                 : !strcmp(key, "outside-users")    ? d.outside_users
                 : !strcmp(key, "contacts-limit")   ? d.contacts_limit
                 : !strcmp(key, "mark-verifiable")  ? d.mark_verifiable
                 : !strcmp(key, "block-subdomains") ? d.block_subdomains
                                                    : false;
        snprintf(out, n, "%s", b ? "on" : "off");
    }
}

int store_edge_set(store_t *s, const store_setting_t *kv, size_t n, const char *actor,
                   fedge_err_t *err)
{
    /* Validate everything before touching the store. */
    for (size_t i = 0; i < n; i++) {
        store_edge_t tmp;
        store__edge_defaults(&tmp);
        if (!kv[i].key)
            return fedge_err(err, FEDGE_EINVAL, "edge setting without a key");
        int r = store__edge_apply(&tmp, kv[i].key, kv[i].value, err);
        if (r < 0)
            return r;
    }
    int r = tx_begin(s, actor, err);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char norm[STORE_FQDN_MAX + 16];
        const char *v = kv[i].value ? kv[i].value : "";
        /* Store the canonical text: "on"/"off", lowercase names. */
        store_edge_t tmp;
        store__edge_defaults(&tmp);
        store__edge_apply(&tmp, kv[i].key, v, NULL);
        const char *k = kv[i].key;
        if (!strcmp(k, "routing"))
            v = store_routing_name(tmp.routing);
        else if (!strcmp(k, "default-route")) {
            if (*v) {
                store_check_hostport(k, v, norm, sizeof(norm), NULL);
                v = norm;
            }
        } else if (!strcmp(k, "discovered-rate") || !strcmp(k, "discovered-contacts") ||
                   !strcmp(k, "report-period")) {
            uint32_t u = !strcmp(k, "discovered-rate")       ? tmp.discovered_rate
                         : !strcmp(k, "discovered-contacts") ? tmp.discovered_contacts
                                                             : tmp.report_period_min;
            snprintf(norm, sizeof(norm), "%u", u);
            v = norm;
        } else {
            bool b = false;
            store_check_bool(k, v, &b, NULL);
            v = b ? "on" : "off";
        }
        /* One audit entry per value actually changed, with its old value
         * (the default when never set): a save of the whole form that
         * changes one setting logs one entry. */
        char before[sizeof(text_t)];
        edge_current(s, k, before, sizeof(before));
        if (!strcmp(before, v))
            continue;
        store__val_t a[] = {STORE__S(k), STORE__S(v)};
        r = s->ops->exec(s->be,
                         "INSERT INTO edge_setting(key, value) VALUES(?1, ?2) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         a, 2, NULL, err);
        if (r == 0)
            r = store__audit(s, actor, "edge.set", k, err, "%s" STORE_AUDIT_ARROW "%s",
                             before[0] ? before : "(none)", v[0] ? v : "(none)");
    }
    /* Cross-field rule, on the resulting state. */
    if (r == 0) {
        text_t route = {{0}}, routing = {{0}};
        store__val_t a1[] = {STORE__S("default-route")}, a2[] = {STORE__S("routing")};
        r = s->ops->query(s->be, "SELECT value FROM edge_setting WHERE key = ?1", a1, 1, text_cb,
                          &route, err);
        if (r == 0)
            r = s->ops->query(s->be, "SELECT value FROM edge_setting WHERE key = ?1", a2, 1,
                              text_cb, &routing, err);
        if (r == 0 && !strcmp(routing.s, "default-route") && !route.s[0])
            r = fedge_err(err, FEDGE_EINVAL,
                          "default-route: routing default-route needs a default route "
                          "(HOST[:PORT]); set both together");
    }
    return tx_end(s, r, err);
}

/* The row of a domain as it is before a change (allowed or blocked). */
typedef struct {
    bool found, monitor;
    char fqdn[STORE_FQDN_MAX + 1];
    char comment[STORE_COMMENT_MAX + 1];
} domain_row_t;

static int domain_row_cb(const store__val_t *c, size_t n, void *x)
{
    domain_row_t *d = x;
    if (n < 3)
        return 0;
    d->found = true;
    snprintf(d->fqdn, sizeof(d->fqdn), "%s", c[0].t == STORE__TEXT ? c[0].s : "");
    snprintf(d->comment, sizeof(d->comment), "%s", c[1].t == STORE__TEXT ? c[1].s : "");
    d->monitor = c[2].t == STORE__INT && c[2].i != 0;
    return 0;
}

/* "partner server X, monitored, comment \"...\"" for the audit. */
static void describe_allowed(char *out, size_t n, const char *fqdn, bool monitor,
                             const char *comment)
{
    snprintf(out, n, "%s%s%s%s%s%s", *fqdn ? "partner server " : "allowed domain", fqdn,
             monitor ? ", monitored" : "", *comment ? ", comment \"" : "", comment,
             *comment ? "\"" : "");
}

int store_domain_allow(store_t *s, const char *domain, const char *proxy_fqdn, const char *comment,
                       bool monitor, const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1], fqdn[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof(dom), err);
    if (r < 0)
        return r;
    bool server = proxy_fqdn && *proxy_fqdn;
    if (server && (r = store_check_domain("proxy-fqdn", proxy_fqdn, fqdn, sizeof(fqdn), err)) < 0)
        return r;
    if ((r = check_comment(comment, err)) < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    bool blocked = false;
    r = exists(s, "SELECT COUNT(*) FROM blocked_domain WHERE domain = ?1", dom, &blocked, err);
    if (r == 0 && blocked)
        r = fedge_err(err, FEDGE_EEXIST,
                      "domain %s is blocked; a domain cannot be both allowed and blocked: "
                      "remove it from the blocked list first (fedge domain remove %s)",
                      dom, dom);
    /* A change to an existing entry is audited with before and after;
     * one that changes nothing is not audited. */
    domain_row_t was = {0};
    store__val_t q[] = {STORE__S(dom)};
    if (r == 0)
        r = s->ops->query(
            s->be, "SELECT proxy_fqdn, comment, monitor FROM allowed_domain WHERE domain = ?1", q,
            1, domain_row_cb, &was, err);
    const char *cm = comment ? comment : "";
    if (r == 0 && was.found && !strcmp(was.fqdn, server ? fqdn : "") && !strcmp(was.comment, cm) &&
        was.monitor == monitor)
        return tx_end(s, r, err);
    if (r == 0) {
        store__val_t a[] = {STORE__S(dom), STORE__S(server ? fqdn : NULL), STORE__S(cm),
                            STORE__I(monitor)};
        r = s->ops->exec(s->be,
                         "INSERT INTO allowed_domain(domain, proxy_fqdn, comment, monitor) "
                         "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(domain) DO UPDATE SET "
                         "proxy_fqdn = excluded.proxy_fqdn, comment = excluded.comment, "
                         "monitor = excluded.monitor",
                         a, 4, NULL, err);
    }
    if (r == 0 && was.found) {
        char before[STORE_FQDN_MAX + STORE_COMMENT_MAX + 64];
        char after[STORE_FQDN_MAX + STORE_COMMENT_MAX + 64];
        describe_allowed(before, sizeof(before), was.fqdn, was.monitor, was.comment);
        describe_allowed(after, sizeof(after), server ? fqdn : "", monitor, cm);
        r = store__audit(s, actor, "domain.allow", dom, err, "%s" STORE_AUDIT_ARROW "%s", before,
                         after);
    } else if (r == 0) {
        r = store__audit(s, actor, "domain.allow", dom, err, "%s%s%s%s",
                         server ? "partner server " : "allowed domain", server ? fqdn : "",
                         monitor ? ", monitored" : "", *cm ? ", with comment" : "");
    }
    return tx_end(s, r, err);
}

int store_domain_block(store_t *s, const char *domain, const char *comment, const char *actor,
                       fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof(dom), err);
    if (r < 0)
        return r;
    if ((r = check_comment(comment, err)) < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    bool allowed = false;
    r = exists(s, "SELECT COUNT(*) FROM allowed_domain WHERE domain = ?1", dom, &allowed, err);
    if (r == 0 && allowed)
        r = fedge_err(err, FEDGE_EEXIST,
                      "domain %s is allowed; a domain cannot be both allowed and blocked: "
                      "remove it from the allowed list first (fedge domain remove %s)",
                      dom, dom);
    domain_row_t was = {0};
    store__val_t q[] = {STORE__S(dom)};
    if (r == 0)
        r = s->ops->query(s->be, "SELECT NULL, comment, 0 FROM blocked_domain WHERE domain = ?1", q,
                          1, domain_row_cb, &was, err);
    const char *cm = comment ? comment : "";
    if (r == 0 && was.found && !strcmp(was.comment, cm))
        return tx_end(s, r, err); /* nothing changes: not audited */
    if (r == 0) {
        store__val_t a[] = {STORE__S(dom), STORE__S(cm)};
        r = s->ops->exec(s->be,
                         "INSERT INTO blocked_domain(domain, comment) VALUES(?1, ?2) "
                         "ON CONFLICT(domain) DO UPDATE SET comment = excluded.comment",
                         a, 2, NULL, err);
    }
    if (r == 0 && was.found)
        r = store__audit(s, actor, "domain.block", dom, err,
                         "blocked, comment \"%s\"" STORE_AUDIT_ARROW "blocked, comment \"%s\"",
                         was.comment, cm);
    else if (r == 0)
        r = store__audit(s, actor, "domain.block", dom, err, "blocked%s",
                         *cm ? ", with comment" : "");
    return tx_end(s, r, err);
}

int store_domain_remove(store_t *s, const char *domain, const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof(dom), err);
    if (r < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    int64_t n1 = 0, n2 = 0;
    store__val_t a[] = {STORE__S(dom)};
    r = s->ops->exec(s->be, "DELETE FROM allowed_domain WHERE domain = ?1", a, 1, &n1, err);
    if (r == 0)
        r = s->ops->exec(s->be, "DELETE FROM blocked_domain WHERE domain = ?1", a, 1, &n2, err);
    if (r == 0 && n1 + n2 == 0)
        r = fedge_err(err, FEDGE_ENOENT, "domain %s is neither allowed nor blocked", dom);
    if (r == 0)
        r = store__audit(s, actor, "domain.remove", dom, err, "removed from the %s list",
                         n1 ? "allowed" : "blocked");
    return tx_end(s, r, err);
}

/* Validates and lowercases a provider's domain list into a fresh array
 * (one block; free the returned pointer). */
static int check_domain_list(const char *const *in, size_t n, char ***out, fedge_err_t *err)
{
    if (n > STORE_PROVIDER_DOMAINS_MAX)
        return fedge_err(err, FEDGE_EINVAL, "domains: more than %d domains",
                         STORE_PROVIDER_DOMAINS_MAX);
    char **v = fedge_calloc(n + 1, sizeof(char *) + STORE_FQDN_MAX + 1);
    char *buf = (char *)(v + n + 1);
    for (size_t i = 0; i < n; i++) {
        v[i] = buf + i * (STORE_FQDN_MAX + 1);
        int r = store_check_domain("domains", in[i], v[i], STORE_FQDN_MAX + 1, err);
        if (r < 0) {
            free(v);
            return r;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(v[k], v[i])) {
                r = fedge_err(err, FEDGE_EINVAL, "domains: %s is listed twice", v[i]);
                free(v);
                return r;
            }
    }
    *out = v;
    return 0;
}

typedef struct {
    char owner[STORE_NAME_MAX + 1];
} owner_t;

static int owner_cb(const store__val_t *c, size_t n, void *x)
{
    owner_t *o = x;
    if (n >= 1 && c[0].t == STORE__TEXT)
        snprintf(o->owner, sizeof(o->owner), "%s", c[0].s);
    return 0;
}

/* Replaces the domains of provider name (inside a transaction). */
static int put_provider_domains(store_t *s, const char *name, char **doms, size_t n,
                                fedge_err_t *err)
{
    store__val_t a[] = {STORE__S(name)};
    int r = s->ops->exec(s->be, "DELETE FROM provider_domain WHERE provider = ?1", a, 1, NULL, err);
    for (size_t i = 0; r == 0 && i < n; i++) {
        owner_t o = {""};
        store__val_t q[] = {STORE__S(doms[i])};
        r = s->ops->query(s->be, "SELECT provider FROM provider_domain WHERE domain = ?1", q, 1,
                          owner_cb, &o, err);
        if (r == 0 && o.owner[0])
            r = fedge_err(err, FEDGE_EEXIST,
                          "domains: %s is already served by provider %s; a domain has one "
                          "provider",
                          doms[i], o.owner);
        if (r == 0) {
            store__val_t b[] = {STORE__S(doms[i]), STORE__S(name)};
            r = s->ops->exec(s->be, "INSERT INTO provider_domain(domain, provider) VALUES(?1, ?2)",
                             b, 2, NULL, err);
        }
    }
    return r;
}

static int check_fqdn_free(store_t *s, const char *fqdn, const char *self, fedge_err_t *err)
{
    owner_t o = {""};
    store__val_t q[] = {STORE__S(fqdn)};
    int r = s->ops->query(s->be, "SELECT name FROM provider WHERE proxy_fqdn = ?1", q, 1, owner_cb,
                          &o, err);
    if (r == 0 && o.owner[0] && (!self || strcmp(self, o.owner)))
        r = fedge_err(err, FEDGE_EEXIST,
                      "proxy-fqdn: %s is already the proxy of provider %s; proxy FQDNs are "
                      "unique across providers",
                      fqdn, o.owner);
    return r;
}

int store_provider_add(store_t *s, const store_provider_in_t *p, const char *actor,
                       fedge_err_t *err)
{
    char name[STORE_NAME_MAX + 1], fqdn[STORE_FQDN_MAX + 1];
    char **doms = NULL;
    int r = store_check_name("name", p->name, name, sizeof(name), err);
    if (r == 0)
        r = store_check_domain("proxy-fqdn", p->proxy_fqdn, fqdn, sizeof(fqdn), err);
    if (r == 0 && ((unsigned)p->kind > STORE_PROVIDER_PUBLIC ||
                   (unsigned)p->verification > STORE_VERIFY_USE_SOURCE))
        r = fedge_err(err, FEDGE_EINVAL, "kind or verification out of range");
    if (r == 0)
        r = check_domain_list(p->domains, p->n_domains, &doms, err);
    if (r < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0) {
        free(doms);
        return r;
    }
    bool taken = false;
    r = exists(s, "SELECT COUNT(*) FROM provider WHERE name = ?1", name, &taken, err);
    if (r == 0 && taken)
        r = fedge_err(err, FEDGE_EEXIST,
                      "name: provider %s exists already (change it with fedge provider set)", name);
    if (r == 0)
        r = check_fqdn_free(s, fqdn, NULL, err);
    if (r == 0) {
        store__val_t a[] = {
            STORE__S(name), STORE__S(fqdn), STORE__S(store_provider_kind_name(p->kind)),
            STORE__S(store_verification_name(p->verification)), STORE__I(p->enabled)};
        r = s->ops->exec(s->be,
                         "INSERT INTO provider(name, proxy_fqdn, kind, verification, enabled) "
                         "VALUES(?1, ?2, ?3, ?4, ?5)",
                         a, 5, NULL, err);
    }
    if (r == 0)
        r = put_provider_domains(s, name, doms, p->n_domains, err);
    if (r == 0)
        r = store__audit(
            s, actor, "provider.add", name, err, "%s provider, proxy %s, %zu domains, %s, %s",
            store_provider_kind_name(p->kind), fqdn, p->n_domains,
            store_verification_name(p->verification), p->enabled ? "enabled" : "disabled");
    free(doms);
    return tx_end(s, r, err);
}

/* A provider as it is before a change; domains ",a,b," (sorted, fresh
 * memory) for set comparison. */
typedef struct {
    char fqdn[STORE_FQDN_MAX + 1];
    char kind[32], verification[32];
    bool enabled;
    char *domains;
    size_t n_domains, len;
} provider_row_t;

static int provider_row_cb(const store__val_t *c, size_t n, void *x)
{
    provider_row_t *p = x;
    if (n < 4)
        return 0;
    snprintf(p->fqdn, sizeof(p->fqdn), "%s", c[0].t == STORE__TEXT ? c[0].s : "");
    snprintf(p->kind, sizeof(p->kind), "%s", c[1].t == STORE__TEXT ? c[1].s : "");
    snprintf(p->verification, sizeof(p->verification), "%s", c[2].t == STORE__TEXT ? c[2].s : "");
    p->enabled = c[3].t == STORE__INT && c[3].i != 0;
    return 0;
}

static int provider_domain_cb(const store__val_t *c, size_t n, void *x)
{
    provider_row_t *p = x;
    if (n < 1 || c[0].t != STORE__TEXT)
        return 0;
    size_t l = strlen(c[0].s);
    char *d = realloc(p->domains, p->len + l + 3);
    if (!d)
        abort();
    p->domains = d;
    if (!p->len)
        p->domains[p->len++] = ',';
    memcpy(p->domains + p->len, c[0].s, l);
    p->len += l;
    p->domains[p->len++] = ',';
    p->domains[p->len] = '\0';
    p->n_domains++;
    return 0;
}

int store_provider_set(store_t *s, const char *name_in, const store_provider_patch_t *p,
                       const char *actor, fedge_err_t *err)
{
    char name[STORE_NAME_MAX + 1], fqdn[STORE_FQDN_MAX + 1];
    char **doms = NULL;
    int r = store_check_name("name", name_in, name, sizeof(name), err);
    if (r == 0 && p->proxy_fqdn)
        r = store_check_domain("proxy-fqdn", p->proxy_fqdn, fqdn, sizeof(fqdn), err);
    if (r == 0 && (p->kind > (int)STORE_PROVIDER_PUBLIC ||
                   p->verification > (int)STORE_VERIFY_USE_SOURCE || p->enabled > 1))
        r = fedge_err(err, FEDGE_EINVAL, "kind, verification or enabled out of range");
    if (r == 0 && p->domains)
        r = check_domain_list(p->domains, p->n_domains, &doms, err);
    if (r < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0) {
        free(doms);
        return r;
    }
    bool found = false;
    r = exists(s, "SELECT COUNT(*) FROM provider WHERE name = ?1", name, &found, err);
    if (r == 0 && !found)
        r = fedge_err(err, FEDGE_ENOENT, "name: no provider called %s (see fedge provider list)",
                      name);
    /* Only what changes is written and audited, with before and after. */
    provider_row_t was;
    memset(&was, 0, sizeof(was));
    store__val_t q[] = {STORE__S(name)};
    if (r == 0)
        r = s->ops->query(s->be,
                          "SELECT proxy_fqdn, kind, verification, enabled FROM provider "
                          "WHERE name = ?1",
                          q, 1, provider_row_cb, &was, err);
    if (r == 0)
        r = s->ops->query(s->be,
                          "SELECT domain FROM provider_domain WHERE provider = ?1 ORDER BY domain",
                          q, 1, provider_domain_cb, &was, err);
    char before[1024] = "", after[1024] = "";
    size_t bl = 0, al = 0;
#define ADD(buf, len, ...)                                                                         \
    len += (size_t)snprintf(buf + len, len < sizeof(buf) ? sizeof(buf) - len : 0, __VA_ARGS__)
    if (r == 0 && p->proxy_fqdn && strcmp(fqdn, was.fqdn)) {
        r = check_fqdn_free(s, fqdn, name, err);
        store__val_t a[] = {STORE__S(fqdn), STORE__S(name)};
        if (r == 0)
            r = s->ops->exec(s->be, "UPDATE provider SET proxy_fqdn = ?1 WHERE name = ?2", a, 2,
                             NULL, err);
        ADD(before, bl, "%sproxy %s", bl ? "; " : "", was.fqdn);
        ADD(after, al, "%sproxy %s", al ? "; " : "", fqdn);
    }
    if (r == 0 && p->kind >= 0 && strcmp(store_provider_kind_name(p->kind), was.kind)) {
        store__val_t a[] = {STORE__S(store_provider_kind_name(p->kind)), STORE__S(name)};
        r = s->ops->exec(s->be, "UPDATE provider SET kind = ?1 WHERE name = ?2", a, 2, NULL, err);
        ADD(before, bl, "%skind %s", bl ? "; " : "", was.kind);
        ADD(after, al, "%skind %s", al ? "; " : "", store_provider_kind_name(p->kind));
    }
    if (r == 0 && p->verification >= 0 &&
        strcmp(store_verification_name(p->verification), was.verification)) {
        store__val_t a[] = {STORE__S(store_verification_name(p->verification)), STORE__S(name)};
        r = s->ops->exec(s->be, "UPDATE provider SET verification = ?1 WHERE name = ?2", a, 2, NULL,
                         err);
        ADD(before, bl, "%sverification %s", bl ? "; " : "", was.verification);
        ADD(after, al, "%sverification %s", al ? "; " : "",
            store_verification_name(p->verification));
    }
    if (r == 0 && p->enabled >= 0 && (p->enabled != 0) != was.enabled) {
        store__val_t a[] = {STORE__I(p->enabled), STORE__S(name)};
        r = s->ops->exec(s->be, "UPDATE provider SET enabled = ?1 WHERE name = ?2", a, 2, NULL,
                         err);
        ADD(before, bl, "%s%s", bl ? "; " : "", was.enabled ? "enabled" : "disabled");
        ADD(after, al, "%s%s", al ? "; " : "", p->enabled ? "enabled" : "disabled");
    }
    if (r == 0 && p->domains) {
        /* The same set in another order is no change. */
        bool same = p->n_domains == was.n_domains;
        for (size_t i = 0; same && i < p->n_domains; i++) {
            char pat[STORE_FQDN_MAX + 3];
            snprintf(pat, sizeof(pat), ",%s,", doms[i]);
            same = strstr(was.domains, pat) != NULL;
        }
        if (!same) {
            r = put_provider_domains(s, name, doms, p->n_domains, err);
            ADD(before, bl, "%sdomains %.*s", bl ? "; " : "",
                was.n_domains ? (int)strlen(was.domains) - 2 : 4,
                was.n_domains ? was.domains + 1 : "none");
            ADD(after, al, "%sdomains ", al ? "; " : "");
            for (size_t i = 0; i < p->n_domains; i++)
                ADD(after, al, "%s%s", i ? "," : "", doms[i]);
            if (!p->n_domains)
                ADD(after, al, "none");
        }
    }
#undef ADD
    if (r == 0 && al)
        r = store__audit(s, actor, "provider.set", name, err, "%s" STORE_AUDIT_ARROW "%s", before,
                         after);
    free(was.domains);
    free(doms);
    return tx_end(s, r, err);
}

int store_provider_remove(store_t *s, const char *name_in, const char *actor, fedge_err_t *err)
{
    char name[STORE_NAME_MAX + 1];
    int r = store_check_name("name", name_in, name, sizeof(name), err);
    if (r < 0)
        return r;
    return remove_one(s, actor, "DELETE FROM provider WHERE name = ?1", name, "provider.remove",
                      "removed with its domains", "name: no provider called %s", err);
}

static int flags_cb(const store__val_t *c, size_t n, void *x)
{
    int64_t *v = x;
    for (size_t i = 0; i < n && i < 5; i++)
        v[i] = c[i].t == STORE__INT ? c[i].i : 0;
    return 0;
}

int store_policy_set(store_t *s, const char *scope_in, const store_policy_patch_t *p,
                     const char *actor, fedge_err_t *err)
{
    char scope[STORE_NAME_MAX + 8];
    int r = store_check_scope("scope", scope_in, scope, sizeof(scope), err);
    if (r < 0)
        return r;
    if (p->federation > 1 || p->public_im > 1 || p->outside > 1 || p->xmpp > 1 || p->av > 1)
        return fedge_err(err, FEDGE_EINVAL, "policy fields: expected on or off");
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    store__val_t a[] = {STORE__S(scope)};
    int64_t created = 0;
    r = s->ops->exec(s->be,
                     "INSERT INTO external_policy(scope, federation, public_im, outside, xmpp, av) "
                     "VALUES(?1, 0, 0, 0, 0, 1) ON CONFLICT(scope) DO NOTHING",
                     a, 1, &created, err);
    static const char *const cols[] = {"federation", "public_im", "outside", "xmpp", "av"};
    const int vals[] = {p->federation, p->public_im, p->outside, p->xmpp, p->av};
    int64_t old[5] = {0, 0, 0, 0, 1};
    if (r == 0)
        r = s->ops->query(s->be,
                          "SELECT federation, public_im, outside, xmpp, av FROM external_policy "
                          "WHERE scope = ?1",
                          a, 1, flags_cb, old, err);
    char detail[256] = "", after[128] = "";
    size_t dl = 0, al = 0;
    for (size_t i = 0; r == 0 && i < 5; i++) {
        /* Only what changes is audited, with its old value. */
        if (vals[i] < 0 || (old[i] != 0) == (vals[i] != 0))
            continue;
        al += (size_t)snprintf(after + al, sizeof(after) - al, "%s%s %s", al ? ", " : "", cols[i],
                               vals[i] ? "on" : "off");
        char sql[96];
        snprintf(sql, sizeof(sql), "UPDATE external_policy SET %s = ?1 WHERE scope = ?2", cols[i]);
        store__val_t b[] = {STORE__I(vals[i]), STORE__S(scope)};
        r = s->ops->exec(s->be, sql, b, 2, NULL, err);
        dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "%s%s %s", dl ? ", " : "", cols[i],
                               old[i] ? "on" : "off");
    }
    if (r == 0 && created)
        r = store__audit(s, actor, "policy.add", scope, err, "created%s%s", al ? ": " : "", after);
    else if (r == 0 && al)
        r = store__audit(s, actor, "policy.set", scope, err, "%s" STORE_AUDIT_ARROW "%s", detail,
                         after);
    return tx_end(s, r, err);
}

int store_policy_remove(store_t *s, const char *scope_in, const char *actor, fedge_err_t *err)
{
    char scope[STORE_NAME_MAX + 8];
    int r = store_check_scope("scope", scope_in, scope, sizeof(scope), err);
    if (r < 0)
        return r;
    if (!strcmp(scope, "global"))
        return fedge_err(err, FEDGE_EINVAL,
                         "scope: the global policy always exists; change its settings instead");
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    int64_t users = 0;
    store__val_t a[] = {STORE__S(scope)};
    r = s->ops->query(s->be, "SELECT COUNT(*) FROM user_policy WHERE policy = ?1", a, 1, int_cb,
                      &users, err);
    if (r == 0 && users > 0)
        r = fedge_err(err, FEDGE_EEXIST,
                      "scope: %lld user%s assigned to policy %s; assign %s to another policy "
                      "first",
                      (long long)users, users == 1 ? " is" : "s are", scope,
                      users == 1 ? "that user" : "them");
    int64_t n = 0;
    if (r == 0)
        r = s->ops->exec(s->be, "DELETE FROM external_policy WHERE scope = ?1", a, 1, &n, err);
    if (r == 0 && n == 0)
        r = fedge_err(err, FEDGE_ENOENT, "scope: no policy called %s", scope);
    if (r == 0)
        r = store__audit(s, actor, "policy.remove", scope, err, "removed");
    return tx_end(s, r, err);
}

int store_domain_switch(store_t *s, const char *domain, bool blocked, const char *proxy_fqdn,
                        const char *comment, bool monitor, const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1], fqdn[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof(dom), err);
    if (r < 0)
        return r;
    bool server = !blocked && proxy_fqdn && *proxy_fqdn;
    if (server && (r = store_check_domain("proxy-fqdn", proxy_fqdn, fqdn, sizeof(fqdn), err)) < 0)
        return r;
    if ((r = check_comment(comment, err)) < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    int64_t n1 = 0, n2 = 0;
    store__val_t a[] = {STORE__S(dom)};
    r = s->ops->exec(s->be, "DELETE FROM allowed_domain WHERE domain = ?1", a, 1, &n1, err);
    if (r == 0)
        r = s->ops->exec(s->be, "DELETE FROM blocked_domain WHERE domain = ?1", a, 1, &n2, err);
    if (r == 0 && n1 + n2 == 0)
        r = fedge_err(err, FEDGE_ENOENT, "domain %s is neither allowed nor blocked", dom);
    if (r == 0 && blocked) {
        store__val_t b[] = {STORE__S(dom), STORE__S(comment ? comment : "")};
        r = s->ops->exec(s->be, "INSERT INTO blocked_domain(domain, comment) VALUES(?1, ?2)", b, 2,
                         NULL, err);
    } else if (r == 0) {
        store__val_t b[] = {STORE__S(dom), STORE__S(server ? fqdn : NULL),
                            STORE__S(comment ? comment : ""), STORE__I(monitor)};
        r = s->ops->exec(s->be,
                         "INSERT INTO allowed_domain(domain, proxy_fqdn, comment, monitor) "
                         "VALUES(?1, ?2, ?3, ?4)",
                         b, 4, NULL, err);
    }
    if (r == 0)
        r = store__audit(s, actor, "domain.access", dom, err, "%s" STORE_AUDIT_ARROW "%s%s%s",
                         n1 ? "allowed" : "blocked",
                         blocked ? "blocked" : (server ? "allowed partner server " : "allowed"),
                         server ? fqdn : "", monitor && !blocked ? ", monitored" : "");
    return tx_end(s, r, err);
}

int store_policy_assign(store_t *s, const char *user_in, const char *policy_in, const char *actor,
                        fedge_err_t *err)
{
    char user[STORE_USER_MAX + 1], scope[STORE_NAME_MAX + 8];
    int r = store_check_user("user", user_in, user, sizeof(user), err);
    if (r == 0)
        r = store_check_scope("policy", policy_in, scope, sizeof(scope), err);
    if (r == 0 && !strncmp(scope, "site:", 5))
        r = fedge_err(err, FEDGE_EINVAL,
                      "policy '%s': site policies apply by site and are not assigned to "
                      "users; expected the name of a named policy (or global to remove "
                      "the assignment)",
                      scope);
    if (r < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    store__val_t a[] = {STORE__S(user), STORE__S(scope)};
    if (!strcmp(scope, "global")) {
        r = s->ops->exec(s->be, "DELETE FROM user_policy WHERE user_aor = ?1", a, 1, NULL, err);
        if (r == 0)
            r = store__audit(s, actor, "policy.assign", user, err,
                             "assignment removed (global applies)");
        return tx_end(s, r, err);
    }
    bool found = false;
    r = exists(s, "SELECT COUNT(*) FROM external_policy WHERE scope = ?1", scope, &found, err);
    if (r == 0 && !found)
        r = fedge_err(err, FEDGE_ENOENT,
                      "policy: no named policy called %s (create it with fedge policy set %s)",
                      scope, scope);
    if (r == 0)
        r = s->ops->exec(s->be,
                         "INSERT INTO user_policy(user_aor, policy) VALUES(?1, ?2) "
                         "ON CONFLICT(user_aor) DO UPDATE SET policy = excluded.policy",
                         a, 2, NULL, err);
    if (r == 0)
        r = store__audit(s, actor, "policy.assign", user, err, "policy %s", scope);
    return tx_end(s, r, err);
}

int store_watchlist_add(store_t *s, const char *domain, uint32_t users, const char *reason,
                        const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof(dom), err);
    if (r == 0)
        r = check_comment(reason, err);
    if (r < 0)
        return r;
    if ((r = tx_begin(s, actor, err)) < 0)
        return r;
    char at[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    store__val_t a[] = {STORE__S(dom), STORE__S(at), STORE__I(users),
                        STORE__S(reason ? reason : "")};
    r = s->ops->exec(s->be,
                     "INSERT INTO watchlist(domain, added_at, users, reason) "
                     "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(domain) DO UPDATE SET "
                     "added_at = excluded.added_at, users = excluded.users, "
                     "reason = excluded.reason",
                     a, 4, NULL, err);
    if (r == 0)
        r = store__audit(s, actor, "watchlist.add", dom, err, "%u distinct local users: %s", users,
                         reason ? reason : "");
    return tx_end(s, r, err);
}

int store_watchlist_clear(store_t *s, const char *domain, const char *actor, fedge_err_t *err)
{
    char dom[STORE_FQDN_MAX + 1];
    int r = store_check_domain("domain", domain, dom, sizeof(dom), err);
    if (r < 0)
        return r;
    return remove_one(s, actor, "DELETE FROM watchlist WHERE domain = ?1", dom, "watchlist.clear",
                      "cleared", "domain %s is not on the watch list", err);
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

int store_audit_list(store_t *s, size_t limit, store_audit_cb cb, void *ctx, fedge_err_t *err)
{
    audit_ctx_t a = {cb, ctx};
    store__val_t lim[] = {STORE__I((int64_t)(limit > INT32_MAX ? INT32_MAX : limit))};
    return s->ops->query(s->be,
                         "SELECT id, at, actor, action, object, detail FROM "
                         "(SELECT * FROM audit ORDER BY id DESC LIMIT ?1) AS recent ORDER BY id",
                         lim, 1, audit_row, &a, err);
}
