/* api.c — the JSON resources of the admin REST API (docs/admin.md): edge
 * settings, allowed and blocked domains, providers, policies and
 * assignments, watch list, audit log and status, onto the store's own
 * validators and changes (one source of truth with the CLI). Pure of HTTP:
 * method, path and parsed body in, status and JSON out. */
#include "admin/admin_int.h"
#include "policy/policy.h"
#include "store/remote.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* True when s is UTF-8 text without control characters. */
static bool is_text(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0, k; i < n; i += k) {
        if (u[i] < 0x20 || u[i] == 0x7f || !(k = fedge_utf8_len(u + i, n - i)))
            return false;
    }
    return true;
}

/* A JSON string from text that may hold invalid UTF-8 (store messages quote
 * what the client sent, cut at a byte count): invalid bytes become U+FFFD,
 * so that building an error answer never fails (jansson refuses invalid
 * UTF-8 and json_pack would return NULL). */
static json_t *text_of(const char *s)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)u);
    char *buf = fedge_malloc(3 * n + 1), *o = buf;
    for (size_t i = 0, k; i < n; i += k) {
        if (!(k = fedge_utf8_len(u + i, n - i))) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            k = 1;
        } else {
            memcpy(o, u + i, k);
            o += k;
        }
    }
    *o = '\0';
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

/* msg in the panel's own words: the store's messages are shared with the
 * command line and may end in a hint such as "(see fedge provider list)",
 * which means nothing in a browser. Such parenthesised hints are left out
 * (into buf, size n). */
static const char *panel_words(const char *msg, char *buf, size_t n)
{
    size_t o = 0;
    for (const char *p = msg; *p && o + 1 < n; p++) {
        if (*p == ' ' && p[1] == '(') {
            const char *close = strchr(p, ')');
            const char *cli = strstr(p, "fedge ");
            if (close && cli && cli < close) {
                p = close;
                continue;
            }
        }
        buf[o++] = *p;
    }
    buf[o] = '\0';
    return buf;
}

json_t *admin__field_error(const char *field, const char *msg)
{
    char buf[1024];
    return json_pack("{s:o, s:o}", "field", text_of(field), "error",
                     text_of(panel_words(msg, buf, sizeof(buf))));
}

static json_t *error(const char *msg)
{
    char buf[1024];
    return json_pack("{s:o}", "error", text_of(panel_words(msg, buf, sizeof(buf))));
}

/* Warnings for a provider's domains that are blocked: their users are
 * refused whatever the provider asserts (blocked overrides everything). */
static json_t *provider_warnings(const store_snapshot_t *snap, const store_provider_t *p)
{
    json_t *w = json_array();
    for (size_t i = 0; i < p->n_domains; i++)
        if (store_snapshot_blocked(snap, (fedge_str_t){p->domains[i], strlen(p->domains[i])})) {
            char msg[STORE_FQDN_MAX + 160];
            snprintf(msg, sizeof(msg),
                     "%s is a blocked domain: its users are refused even through this provider",
                     p->domains[i]);
            json_array_append_new(w, json_string(msg));
        }
    return w;
}

/* A warning when user@domain is outside the edge's SIP domains (a policy
 * for it never applies: its messages are not this edge's users'), else
 * NULL. */
static json_t *user_warning(const admin__api_t *api, const char *user)
{
    const char *at = strrchr(user, '@');
    if (!api->sip_domains || !*api->sip_domains || !at)
        return NULL;
    const char *d = at + 1, *list = api->sip_domains;
    size_t dl = strlen(d);
    while (*list) {
        const char *comma = strchr(list, ',');
        size_t l = comma ? (size_t)(comma - list) : strlen(list);
        if (l == dl && !strncasecmp(list, d, l))
            return NULL;
        list += l + (comma ? 1 : 0);
    }
    char msg[STORE_USER_MAX + 256];
    snprintf(msg, sizeof(msg),
             "%s is not in this edge's SIP domains (%s): the policy applies only to users of "
             "those domains",
             d, api->sip_domains);
    return json_string(msg);
}

/* HTTP status for a store result that is not 0; *out gets the body. */
static int fail(int r, const char *field, const fedge_err_t *e, json_t **out)
{
    switch (r) {
    case FEDGE_EINVAL: *out = admin__field_error(field, e->msg); return 400;
    case FEDGE_ENOENT: *out = error(e->msg); return 404;
    case FEDGE_EEXIST: *out = admin__field_error(field, e->msg); return 409;
    case FEDGE_ESTORE: *out = error(e->msg); return 503;
    default: *out = error(e->msg[0] ? e->msg : fedge_strerror(r)); return 500;
    }
}

/* ---- body fields ---- */

/* A bad field: fills *out with a 400 body and returns 400. */
static int bad(json_t **out, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(json_t **out, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *out = admin__field_error(field, msg);
    return 400;
}

/* Optional string field: *v NULL when absent or null. */
static int opt_str(json_t *body, const char *field, const char **v, json_t **out)
{
    json_t *j = body ? json_object_get(body, field) : NULL;
    *v = NULL;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_string(j))
        return bad(out, field, "%s: expected a string", field);
    if (strlen(json_string_value(j)) != json_string_length(j))
        return bad(out, field, "%s: NUL characters are not allowed", field);
    *v = json_string_value(j);
    return 0;
}

static int req_str(json_t *body, const char *field, const char **v, json_t **out)
{
    int st = opt_str(body, field, v, out);
    if (st)
        return st;
    if (!*v || !**v)
        return bad(out, field, "%s: required", field);
    return 0;
}

/* A PUT names its item in the path; the body may repeat that name (a client
 * sending back what it read) but not change it. 0 with the key taken out of
 * body, or 400 with "KEY: <rule>". */
static int same_name(json_t *body, const char *key, const char *name, const char *rule,
                     json_t **out)
{
    json_t *d = body ? json_object_get(body, key) : NULL;
    if (!d)
        return 0;
    if (!(json_is_string(d) && !strcasecmp(json_string_value(d), name)))
        return bad(out, key, "%s: %s", key, rule);
    json_object_del(body, key);
    return 0;
}

/* The answer to a DELETE of an item the store removed with r: 204, or the
 * error, where a name the store cannot even read is one it does not have. */
static int removed(int r, const char *field, const fedge_err_t *e, json_t **out)
{
    if (r == FEDGE_EINVAL)
        r = FEDGE_ENOENT;
    return r < 0 ? fail(r, field, e, out) : 204;
}

/* Optional boolean: -1 when absent. Accepts true/false only. */
static int opt_bool(json_t *body, const char *field, int *v, json_t **out)
{
    json_t *j = body ? json_object_get(body, field) : NULL;
    *v = -1;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_boolean(j))
        return bad(out, field, "%s: expected true or false", field);
    *v = json_is_true(j);
    return 0;
}

static int check_comment(const char *c, json_t **out)
{
    if (!c)
        return 0;
    size_t len = strlen(c);
    if (len > STORE_COMMENT_MAX)
        return bad(out, "comment", "comment: longer than %d bytes", STORE_COMMENT_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
            return bad(out, "comment",
                       "comment: control characters are not allowed (one "
                       "line of text expected)");
    return 0;
}

static int check_domain(const char *field, const char *s, char *norm, json_t **out)
{
    fedge_err_t e;
    if (store_check_domain(field, s, norm, STORE_FQDN_MAX + 1, &e) < 0) {
        *out = admin__field_error(field, e.msg);
        return 400;
    }
    return 0;
}

/* Refuses members other than those listed (typos must not pass silently). */
static int only(json_t *body, const char *const *names, json_t **out)
{
    if (!body)
        return 0;
    if (!json_is_object(body))
        return bad(out, "", "expected a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        bool ok = false;
        for (const char *const *n = names; *n && !ok; n++)
            ok = !strcmp(*n, k);
        if (!ok)
            return bad(out, k, "%s: unknown field", k);
    }
    return 0;
}

/* ---- snapshot to JSON ---- */

static json_t *j_allowed(const store_allowed_t *a)
{
    /* Free text (comment) may come from the CLI as any bytes: text_of(). */
    return json_pack("{s:s, s:s, s:o, s:o, s:b}", "domain", a->domain, "kind",
                     a->proxy_fqdn ? "server" : "domain", "proxy_fqdn",
                     a->proxy_fqdn ? json_string(a->proxy_fqdn) : json_null(), "comment",
                     text_of(a->comment), "monitor", a->monitor);
}

static json_t *j_blocked(const store_blocked_t *b)
{
    return json_pack("{s:s, s:o}", "domain", b->domain, "comment", text_of(b->comment));
}

static json_t *j_provider(const store_provider_t *p)
{
    json_t *d = json_array();
    for (size_t i = 0; i < p->n_domains; i++)
        json_array_append_new(d, json_string(p->domains[i]));
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "name", p->name, "proxy_fqdn", p->proxy_fqdn,
                     "kind", store_provider_kind_name(p->kind), "verification",
                     store_verification_name(p->verification), "enabled", p->enabled, "domains", d);
}

static json_t *j_policy(const store_policy_t *p)
{
    const char *kind = !strcmp(p->scope, "global")      ? "global"
                       : !strncmp(p->scope, "site:", 5) ? "site"
                                                        : "named";
    return json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "scope", p->scope, "kind", kind,
                     "federation", p->federation, "public_im", p->public_im, "outside", p->outside,
                     "xmpp", p->xmpp, "av", p->av);
}

static json_t *j_edge(const store_edge_t *e)
{
    return json_pack("{s:b, s:b, s:b, s:s, s:s, s:i, s:i, s:b, s:i, s:b, s:b}", "federation",
                     e->federation, "discovery", e->discovery, "outside-users", e->outside_users,
                     "routing", store_routing_name(e->routing), "default-route",
                     e->default_route ? e->default_route : "", "discovered-rate",
                     (json_int_t)e->discovered_rate, "discovered-contacts",
                     (json_int_t)e->discovered_contacts, "contacts-limit", e->contacts_limit,
                     "report-period", (json_int_t)e->report_period_min, "mark-verifiable",
                     e->mark_verifiable, "block-subdomains", e->block_subdomains);
}

static json_t *items(json_t *arr)
{
    return json_pack("{s:o}", "items", arr);
}

/* One lock-out of remote users as JSON (GET /api/remote/lockouts). */
static int lockout_cb(const store_lockout_t *l, void *ctx)
{
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "kind",
                                         store_lock_kind_name(l->kind), "subject", l->subject,
                                         "locked_at", l->locked_at, "until", l->until, "failures",
                                         (json_int_t)l->failures, "reason", text_of(l->reason)));
    return 0;
}

static int load(admin__api_t *api, store_snapshot_t **snap, json_t **out)
{
    fedge_err_t e = {{0}};
    int r = store_snapshot_load(api->store, snap, &e);
    return r < 0 ? fail(r, "", &e, out) : 0;
}

/* ---- edge settings ---- */

static const char *const edge_bools[] = {
    "federation",       "discovery", "outside-users", "contacts-limit", "mark-verifiable",
    "block-subdomains", NULL};
static const char *const edge_uints[] = {"discovered-rate", "discovered-contacts", "report-period",
                                         NULL};
static const uint32_t edge_max[] = {100000, 1000000, 10080};

static bool in(const char *const *list, const char *k, size_t *idx)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(list[i], k)) {
            if (idx)
                *idx = i;
            return true;
        }
    return false;
}

static int edge_put(admin__api_t *api, json_t *body, const char *actor, json_t **out)
{
    if (!json_is_object(body) || json_object_size(body) == 0)
        return bad(out, "", "expected a JSON object of settings, e.g. {\"discovery\": true}");
    size_t n = json_object_size(body), i = 0;
    store_setting_t *kv = fedge_calloc(n, sizeof(*kv));
    char(*text)[STORE_FQDN_MAX + 16] = fedge_calloc(n, sizeof(*text));
    const char *k;
    json_t *v;
    int st = 0;
    json_object_foreach(body, k, v)
    {
        size_t idx;
        fedge_err_t e;
        if (in(edge_bools, k, NULL)) {
            if (!json_is_boolean(v)) {
                st = bad(out, k, "%s: expected true or false", k);
                break;
            }
            snprintf(text[i], sizeof(text[i]), "%s", json_is_true(v) ? "on" : "off");
        } else if (in(edge_uints, k, &idx)) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > (json_int_t)edge_max[idx]) {
                st = bad(out, k, "%s: expected a whole number from 1 to %u", k, edge_max[idx]);
                break;
            }
            snprintf(text[i], sizeof(text[i]), "%lld", (long long)json_integer_value(v));
        } else if (!strcmp(k, "routing")) {
            store_routing_t rt;
            if (!json_is_string(v) || store_check_routing(k, json_string_value(v), &rt, &e) < 0) {
                st = bad(out, k, "routing: expected \"dns-srv\" or \"default-route\"");
                break;
            }
            snprintf(text[i], sizeof(text[i]), "%s", store_routing_name(rt));
        } else if (!strcmp(k, "default-route")) {
            if (!json_is_string(v) && !json_is_null(v)) {
                st = bad(out, k, "default-route: expected HOST[:PORT] or an empty string");
                break;
            }
            const char *s = json_is_string(v) ? json_string_value(v) : "";
            if (*s && store_check_hostport(k, s, text[i], sizeof(text[i]), &e) < 0) {
                *out = admin__field_error(k, e.msg);
                st = 400;
                break;
            }
            if (!*s)
                text[i][0] = '\0';
        } else {
            st = bad(out, k, "%s: unknown edge setting", k);
            break;
        }
        kv[i].key = k;
        kv[i].value = text[i];
        i++;
    }
    if (!st) {
        fedge_err_t e = {{0}};
        int r = store_edge_set(api->store, kv, n, actor, &e);
        if (r < 0) {
            /* The store names the key first ("default-route: ..."). */
            char field[32] = "";
            const char *colon = strchr(e.msg, ':');
            if (colon && (size_t)(colon - e.msg) < sizeof(field))
                snprintf(field, sizeof(field), "%.*s", (int)(colon - e.msg), e.msg);
            st = fail(r, field, &e, out);
        }
    }
    free(kv);
    free(text);
    if (st)
        return st;
    store_snapshot_t *snap;
    if ((st = load(api, &snap, out)))
        return st;
    *out = j_edge(&snap->edge);
    store_snapshot_unref(snap);
    return 200;
}

/* ---- domains ---- */

static int allowed_write(admin__api_t *api, const char *domain, json_t *body, bool create,
                         const char *actor, json_t **out)
{
    static const char *const fields[] = {"domain", "proxy_fqdn", "comment", "monitor", NULL};
    const char *d = domain, *fqdn, *comment;
    int monitor, st;
    char dn[STORE_FQDN_MAX + 1], fn[STORE_FQDN_MAX + 1];
    if ((st = only(body, fields, out)))
        return st;
    if (create && (st = req_str(body, "domain", &d, out)))
        return st;
    if ((st = opt_str(body, "proxy_fqdn", &fqdn, out)) ||
        (st = opt_str(body, "comment", &comment, out)) ||
        (st = opt_bool(body, "monitor", &monitor, out)))
        return st;
    if ((st = check_domain("domain", d, dn, out)))
        return st;
    if (fqdn && *fqdn && (st = check_domain("proxy_fqdn", fqdn, fn, out)))
        return st;
    if ((st = check_comment(comment, out)))
        return st;
    store_snapshot_t *snap;
    if ((st = load(api, &snap, out)))
        return st;
    const store_allowed_t *cur = store_snapshot_allowed(snap, (fedge_str_t){dn, strlen(dn)});
    const store_blocked_t *blk = store_snapshot_blocked(snap, (fedge_str_t){dn, strlen(dn)});
    if (create && cur) {
        store_snapshot_unref(snap);
        *out = admin__field_error("domain", "this domain is already allowed; edit it instead");
        return 409;
    }
    if (create && blk) {
        store_snapshot_unref(snap);
        *out = admin__field_error("domain", "this domain is blocked; remove it from the "
                                            "blocked domains first");
        return 409;
    }
    if (!create && !cur) {
        store_snapshot_unref(snap);
        *out = error("no such allowed domain");
        return 404;
    }
    /* An edit keeps what the body does not name. */
    char keep_fqdn[STORE_FQDN_MAX + 1] = "", keep_comment[STORE_COMMENT_MAX + 1] = "";
    bool keep_monitor = false;
    if (cur) {
        snprintf(keep_fqdn, sizeof(keep_fqdn), "%s", cur->proxy_fqdn ? cur->proxy_fqdn : "");
        snprintf(keep_comment, sizeof(keep_comment), "%s", cur->comment ? cur->comment : "");
        keep_monitor = cur->monitor;
    }
    store_snapshot_unref(snap);
    bool has_fqdn = body && json_object_get(body, "proxy_fqdn");
    fedge_err_t e = {{0}};
    int r = store_domain_allow(api->store, dn, has_fqdn ? (fqdn ? fqdn : "") : keep_fqdn,
                               comment ? comment : keep_comment,
                               monitor >= 0 ? monitor : keep_monitor, actor, &e);
    if (r < 0)
        return fail(r, "domain", &e, out);
    if ((st = load(api, &snap, out)))
        return st;
    cur = store_snapshot_allowed(snap, (fedge_str_t){dn, strlen(dn)});
    *out = cur ? j_allowed(cur) : json_object();
    store_snapshot_unref(snap);
    return create ? 201 : 200;
}

static int blocked_write(admin__api_t *api, const char *domain, json_t *body, bool create,
                         const char *actor, json_t **out)
{
    static const char *const fields[] = {"domain", "comment", NULL};
    const char *d = domain, *comment;
    int st;
    char dn[STORE_FQDN_MAX + 1];
    if ((st = only(body, fields, out)))
        return st;
    if (create && (st = req_str(body, "domain", &d, out)))
        return st;
    if ((st = opt_str(body, "comment", &comment, out)))
        return st;
    if ((st = check_domain("domain", d, dn, out)) || (st = check_comment(comment, out)))
        return st;
    store_snapshot_t *snap;
    if ((st = load(api, &snap, out)))
        return st;
    fedge_str_t ds = {dn, strlen(dn)};
    bool is_blocked = store_snapshot_blocked(snap, ds) != NULL;
    bool is_allowed = store_snapshot_allowed(snap, ds) != NULL;
    store_snapshot_unref(snap);
    if (create && is_blocked) {
        *out = admin__field_error("domain", "this domain is already blocked");
        return 409;
    }
    if (create && is_allowed) {
        *out = admin__field_error("domain", "this domain is allowed; remove it from the "
                                            "allowed domains first");
        return 409;
    }
    if (!create && !is_blocked) {
        *out = error("no such blocked domain");
        return 404;
    }
    fedge_err_t e = {{0}};
    int r = store_domain_block(api->store, dn, comment ? comment : "", actor, &e);
    if (r < 0)
        return fail(r, "domain", &e, out);
    if ((st = load(api, &snap, out)))
        return st;
    const store_blocked_t *b = store_snapshot_blocked(snap, ds);
    *out = b ? j_blocked(b) : json_object();
    store_snapshot_unref(snap);
    return create ? 201 : 200;
}

/* ---- XMPP partners (src/store/xmpp.c, docs/xmpp.md) ---- */

static json_t *j_xmpp(const store_xmpp_partner_t *p)
{
    if (p->blocked)
        return json_pack("{s:s, s:s}", "domain", p->domain, "state", "blocked");
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:s?}", "domain", p->domain, "state", "allowed",
                     "tls", p->tls_required ? "required" : "optional", "sasl", p->sasl, "dialback",
                     p->dialback, "proxy_fqdn", p->proxy);
}

static int xmpp_list(admin__api_t *api, json_t **out)
{
    store_xmpp_list_t *l = NULL;
    fedge_err_t e = {{0}};
    int r = store_xmpp_load(api->store, &l, &e);
    if (r < 0)
        return fail(r, "", &e, out);
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, j_xmpp(&l->partners[i]));
    store_xmpp_list_free(l);
    *out = items(a);
    return 200;
}

/* POST /api/xmpp (domain in the body) and PUT /api/xmpp/DOMAIN: allow
 * with settings (fields left out: the defaults, tls required, SASL and
 * dialback on) or block ("state": "blocked"). */
static int xmpp_write(admin__api_t *api, const char *domain, json_t *body, bool create,
                      const char *actor, json_t **out)
{
    static const char *const fields[] = {"domain",   "state",      "tls", "sasl",
                                         "dialback", "proxy_fqdn", NULL};
    const char *d = domain, *state, *tls, *proxy;
    int sasl, dialback, st;
    char dn[STORE_FQDN_MAX + 1];
    if ((st = only(body, fields, out)))
        return st;
    if (create && (st = req_str(body, "domain", &d, out)))
        return st;
    if ((st = opt_str(body, "state", &state, out)) || (st = opt_str(body, "tls", &tls, out)) ||
        (st = opt_str(body, "proxy_fqdn", &proxy, out)) ||
        (st = opt_bool(body, "sasl", &sasl, out)) ||
        (st = opt_bool(body, "dialback", &dialback, out)))
        return st;
    if ((st = check_domain("domain", d, dn, out)))
        return st;
    if (state && strcmp(state, "allowed") && strcmp(state, "blocked"))
        return bad(out, "state", "state: expected allowed or blocked");
    if (tls && strcmp(tls, "required") && strcmp(tls, "optional"))
        return bad(out, "tls", "tls: expected required or optional");
    bool block = state && !strcmp(state, "blocked");
    if (block && (tls || proxy || sasl >= 0 || dialback >= 0))
        return bad(out, "state", "state: a blocked partner has no stream settings");
    store_xmpp_list_t *l = NULL;
    fedge_err_t e = {{0}};
    if ((st = store_xmpp_load(api->store, &l, &e)) < 0)
        return fail(st, "", &e, out);
    bool exists = store_xmpp_find(l, dn) != NULL;
    store_xmpp_list_free(l);
    if (create && exists) {
        *out = admin__field_error("domain", "this domain is already on the XMPP list; edit it "
                                            "instead");
        return 409;
    }
    if (!create && !exists) {
        *out = error("no such XMPP partner");
        return 404;
    }
    int r;
    if (block) {
        r = store_xmpp_block(api->store, dn, actor, &e);
    } else {
        store_xmpp_partner_t p = {.domain = dn,
                                  .tls_required = !tls || !strcmp(tls, "required"),
                                  .sasl = sasl != 0,
                                  .dialback = dialback != 0,
                                  .proxy = proxy};
        r = store_xmpp_allow(api->store, &p, actor, &e);
    }
    if (r < 0)
        return fail(r, strstr(e.msg, "proxy") ? "proxy_fqdn" : "domain", &e, out);
    if ((st = store_xmpp_load(api->store, &l, &e)) < 0)
        return fail(st, "", &e, out);
    const store_xmpp_partner_t *p = store_xmpp_find(l, dn);
    *out = p ? j_xmpp(p) : json_object();
    store_xmpp_list_free(l);
    return create ? 201 : 200;
}

static int domain_delete(admin__api_t *api, const char *domain, bool allowed, const char *actor,
                         json_t **out)
{
    char dn[STORE_FQDN_MAX + 1];
    int st;
    fedge_err_t e = {{0}};
    if (store_check_domain("domain", domain, dn, sizeof(dn), &e) < 0) {
        *out = error("no such domain");
        return 404;
    }
    store_snapshot_t *snap;
    if ((st = load(api, &snap, out)))
        return st;
    fedge_str_t ds = {dn, strlen(dn)};
    bool there = allowed ? store_snapshot_allowed(snap, ds) != NULL
                         : store_snapshot_blocked(snap, ds) != NULL;
    store_snapshot_unref(snap);
    if (!there) {
        *out = error(allowed ? "no such allowed domain" : "no such blocked domain");
        return 404;
    }
    int r = store_domain_remove(api->store, dn, actor, &e);
    if (r < 0)
        return fail(r, "domain", &e, out);
    *out = NULL;
    return 204;
}

/* ---- providers ---- */

static int provider_write(admin__api_t *api, const char *name, json_t *body, bool create,
                          const char *actor, json_t **out)
{
    static const char *const fields[] = {"name",    "proxy_fqdn", "kind", "verification",
                                         "enabled", "domains",    NULL};
    const char *nm = name, *fqdn, *kind_s, *ver_s;
    int enabled, st;
    char nn[STORE_NAME_MAX + 1], fn[STORE_FQDN_MAX + 1];
    fedge_err_t e = {{0}};
    if ((st = only(body, fields, out)))
        return st;
    if (create && (st = req_str(body, "name", &nm, out)))
        return st;
    if (store_check_name("name", nm, nn, sizeof(nn), &e) < 0) {
        *out = admin__field_error("name", e.msg);
        return 400;
    }
    if ((st = (create ? req_str : opt_str)(body, "proxy_fqdn", &fqdn, out)) ||
        (st = opt_str(body, "kind", &kind_s, out)) ||
        (st = opt_str(body, "verification", &ver_s, out)) ||
        (st = opt_bool(body, "enabled", &enabled, out)))
        return st;
    if (fqdn && (st = check_domain("proxy_fqdn", fqdn, fn, out)))
        return st;
    store_provider_kind_t kind = STORE_PROVIDER_HOSTING;
    store_verification_t ver = STORE_VERIFY_USE_SOURCE;
    if (create && !kind_s)
        return bad(out, "kind", "kind: required (\"hosting\" or \"public\")");
    if (kind_s && store_check_provider_kind("kind", kind_s, &kind, &e) < 0) {
        *out = admin__field_error("kind", e.msg);
        return 400;
    }
    if (ver_s && store_check_verification("verification", ver_s, &ver, &e) < 0) {
        *out = admin__field_error("verification", e.msg);
        return 400;
    }
    json_t *jd = body ? json_object_get(body, "domains") : NULL;
    size_t nd = 0;
    char(*dn)[STORE_FQDN_MAX + 1] = NULL;
    const char **dp = NULL;
    if (jd && !json_is_null(jd)) {
        if (!json_is_array(jd) || json_array_size(jd) > STORE_PROVIDER_DOMAINS_MAX)
            return bad(out, "domains", "domains: expected a list of at most %d domain names",
                       STORE_PROVIDER_DOMAINS_MAX);
        nd = json_array_size(jd);
        dn = fedge_calloc(nd ? nd : 1, sizeof(*dn));
        dp = fedge_calloc(nd ? nd : 1, sizeof(*dp));
        for (size_t i = 0; i < nd; i++) {
            json_t *x = json_array_get(jd, i);
            if (!json_is_string(x) ||
                store_check_domain("domains", json_string_value(x), dn[i], sizeof(dn[i]), &e) < 0) {
                if (!json_is_string(x))
                    snprintf(e.msg, sizeof(e.msg), "domains: expected domain names");
                free(dn);
                free(dp);
                *out = admin__field_error("domains", e.msg);
                return 400;
            }
            dp[i] = dn[i];
        }
    }
    int r;
    if (create) {
        store_provider_in_t in = {nn, fn, kind, ver, enabled != 0, dp, nd};
        r = store_provider_add(api->store, &in, actor, &e);
    } else {
        store_provider_patch_t p = {fqdn ? fn : NULL,
                                    kind_s ? (int)kind : -1,
                                    ver_s ? (int)ver : -1,
                                    enabled,
                                    (jd && !json_is_null(jd)) ? dp : NULL,
                                    nd};
        static const char *const none[1] = {NULL};
        if (jd && !json_is_null(jd) && nd == 0)
            p.domains = none;
        r = store_provider_set(api->store, nn, &p, actor, &e);
    }
    free(dn);
    free(dp);
    if (r < 0) {
        const char *field = strstr(e.msg, "proxy")    ? "proxy_fqdn"
                            : strstr(e.msg, "domain") ? "domains"
                                                      : "name";
        return fail(r, field, &e, out);
    }
    store_snapshot_t *snap;
    if ((st = load(api, &snap, out)))
        return st;
    *out = json_object();
    for (size_t i = 0; i < snap->n_providers; i++)
        if (!strcmp(snap->providers[i].name, nn)) {
            json_decref(*out);
            *out = j_provider(&snap->providers[i]);
            json_object_set_new(*out, "warnings", provider_warnings(snap, &snap->providers[i]));
        }
    store_snapshot_unref(snap);
    return create ? 201 : 200;
}

/* ---- policies ---- */

static int policy_write(admin__api_t *api, const char *scope, json_t *body, bool create,
                        const char *actor, json_t **out)
{
    static const char *const fields[] = {"scope", "federation", "public_im", "outside",
                                         "xmpp",  "av",         NULL};
    const char *sc = scope;
    int st;
    char sn[STORE_NAME_MAX + 8];
    fedge_err_t e = {{0}};
    if ((st = only(body, fields, out)))
        return st;
    if (create && (st = req_str(body, "scope", &sc, out)))
        return st;
    if (store_check_scope("scope", sc, sn, sizeof(sn), &e) < 0) {
        *out = admin__field_error("scope", e.msg);
        return 400;
    }
    store_policy_patch_t p;
    if ((st = opt_bool(body, "federation", &p.federation, out)) ||
        (st = opt_bool(body, "public_im", &p.public_im, out)) ||
        (st = opt_bool(body, "outside", &p.outside, out)) ||
        (st = opt_bool(body, "xmpp", &p.xmpp, out)) || (st = opt_bool(body, "av", &p.av, out)))
        return st;
    store_snapshot_t *snap;
    if ((st = load(api, &snap, out)))
        return st;
    bool exists = store_snapshot_policy(snap, (fedge_str_t){sn, strlen(sn)}) != NULL;
    store_snapshot_unref(snap);
    if (create && exists) {
        *out = admin__field_error("scope", "a policy of this scope exists; edit it instead");
        return 409;
    }
    if (!create && !exists) {
        *out = error("no such policy");
        return 404;
    }
    int r = store_policy_set(api->store, sn, &p, actor, &e);
    if (r < 0)
        return fail(r, "scope", &e, out);
    if ((st = load(api, &snap, out)))
        return st;
    const store_policy_t *pol = store_snapshot_policy(snap, (fedge_str_t){sn, strlen(sn)});
    *out = pol ? j_policy(pol) : json_object();
    store_snapshot_unref(snap);
    return create ? 201 : 200;
}

static int assign(admin__api_t *api, const char *user, const char *policy, const char *actor,
                  json_t **out)
{
    char un[STORE_USER_MAX + 1];
    fedge_err_t e = {{0}};
    if (store_check_user("user", user, un, sizeof(un), &e) < 0) {
        *out = admin__field_error("user", e.msg);
        return 400;
    }
    int r = store_policy_assign(api->store, un, policy, actor, &e);
    if (r == FEDGE_ENOENT) {
        *out = admin__field_error("policy", e.msg);
        return 400;
    }
    if (r < 0)
        return fail(r, "policy", &e, out);
    return 0;
}

/* ---- status ---- */

static int status(admin__api_t *api, json_t **out)
{
    store_snapshot_t *snap;
    int st = load(api, &snap, out);
    if (st)
        return st;
    char where[512]; /* a PostgreSQL URI without its password */
    store_location_shown(api->store_path, where, sizeof(where));
    json_t *store =
        json_pack("{s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:i}", "path", where, "generation",
                  (json_int_t)snap->generation, "allowed", (int)snap->n_allowed, "blocked",
                  (int)snap->n_blocked, "providers", (int)snap->n_providers, "policies",
                  (int)snap->n_policies, "assignments", (int)snap->n_assignments, "watchlist",
                  (int)snap->n_watchlist);
    store_snapshot_unref(snap);
    int64_t now = (int64_t)time(NULL);
    json_t *edge;
    if (api->status_cb) {
        admin_status_t s = {json_object(), json_object(), json_array(), json_object(),
                            json_object()};
        api->status_cb(&s, api->status_ctx);
        edge = json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "attached", 1, "partners", s.partners,
                         "diagnostics", s.diags, "errors", s.errors, "counters", s.counters,
                         "history", s.history);
    } else {
        edge = json_pack("{s:b, s:s}", "attached", 0, "note",
                         "this admin server runs on its own (fedge admin serve): live figures "
                         "come from an admin server started by fedge serve");
    }
    *out = json_pack("{s:s, s:s, s:I, s:o, s:o}", "version", FEDGE_VERSION, "edge_fqdn",
                     api->edge_fqdn ? api->edge_fqdn : "", "uptime_s",
                     (json_int_t)(now - api->started_s), "store", store, "edge", edge);
    return 200;
}

/* ---- pool members ---- */

typedef struct {
    const char *self; /* this member's fqdn */
    const char *pool; /* its pool, found in its own row */
    int64_t now;
    json_t *rows;
    char pool_buf[STORE_FQDN_MAX + 1];
} pool_list_t;

static int pool_self_cb(const store_member_t *m, void *ctx)
{
    pool_list_t *p = ctx;
    if (p->self && !strcmp(m->fqdn, p->self))
        snprintf(p->pool_buf, sizeof(p->pool_buf), "%s", m->pool);
    return 0;
}

static int pool_row_cb(const store_member_t *m, void *ctx)
{
    pool_list_t *p = ctx;
    json_array_append_new(
        p->rows,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:s, s:b}", "fqdn",
                  m->fqdn, "pool", m->pool, "addresses", m->addresses, "internal", m->internal,
                  "version", m->version, "started_s", (json_int_t)m->started_s, "seen_s",
                  (json_int_t)m->seen_s, "seen_ago_s", (json_int_t)(p->now - m->seen_s),
                  "connections", (json_int_t)m->connections, "requests_per_second",
                  (json_int_t)m->rps, "certificate_names", m->cert_names, "certificate_names_pool",
                  m->cert_ok, "state", store_member_state(m, p->pool, p->now), "this",
                  p->self && !strcmp(m->fqdn, p->self)));
    return 0;
}

/* GET /api/pool: the members recorded in the store (docs/pools.md), their
 * state judged against this member's pool. */
static int pool_members(admin__api_t *api, json_t **out)
{
    pool_list_t p = {api->edge_fqdn, NULL, (int64_t)time(NULL), json_array(), ""};
    fedge_err_t e;
    int r = store_member_list(api->store, pool_self_cb, &p, &e);
    p.pool = p.pool_buf[0] ? p.pool_buf : NULL;
    if (r == 0)
        r = store_member_list(api->store, pool_row_cb, &p, &e);
    if (r < 0) {
        json_decref(p.rows);
        return fail(r, "", &e, out);
    }
    *out = json_pack("{s:s, s:s?, s:I, s:i, s:o}", "member", api->edge_fqdn ? api->edge_fqdn : "",
                     "pool", p.pool, "now_s", (json_int_t)p.now, "stale_after_s",
                     STORE_MEMBER_STALE_S, "items", p.rows);
    return 200;
}

/* ---- audit ---- */

static int audit_cb(const store_audit_t *a, void *ctx)
{
    json_array_append_new(ctx, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)a->id,
                                         "at", text_of(a->at), "actor", text_of(a->actor), "action",
                                         text_of(a->action), "object", text_of(a->object), "detail",
                                         text_of(a->detail)));
    return 0;
}

/* ---- pages of lists (q, sort, dir, offset, limit) ---- */

typedef struct {
    admin__arg_fn fn;
    void *ctx;
} args_t;

static const char *arg(const args_t *a, const char *name)
{
    return a && a->fn ? a->fn(a->ctx, name) : NULL;
}

/* Reads the paging parameters; limit defaults to def, at most max. */
static int page_args(const args_t *a, store_page_t *p, size_t def, size_t max, json_t **out)
{
    const char *off = arg(a, "offset"), *lim = arg(a, "limit"), *dir = arg(a, "dir");
    p->query = arg(a, "q");
    p->sort = arg(a, "sort");
    p->desc = dir && !strcmp(dir, "desc");
    p->offset = 0;
    p->limit = def;
    if (dir && strcmp(dir, "asc") && strcmp(dir, "desc"))
        return bad(out, "dir", "dir: expected asc or desc");
    if (p->query && !is_text(p->query))
        return bad(out, "q", "q: control characters and invalid UTF-8 are not allowed");
    char *end;
    if (off) {
        long v = strtol(off, &end, 10);
        if (*end || !*off || v < 0 || v > 100000000)
            return bad(out, "offset", "offset: expected a whole number from 0");
        p->offset = (size_t)v;
    }
    if (lim) {
        long v = strtol(lim, &end, 10);
        if (*end || !*lim || v < 1 || (size_t)v > max)
            return bad(out, "limit", "limit: expected a whole number from 1 to %zu", max);
        p->limit = (size_t)v;
    }
    return 0;
}

static int domain_row_cb(const store_domain_row_t *d, void *ctx)
{
    json_array_append_new(
        ctx, json_pack("{s:s, s:s, s:s, s:o, s:o, s:b}", "domain", d->domain, "status",
                       !strcmp(d->access, "Blocked") ? "blocked" : "allowed", "type", d->type,
                       "proxy_fqdn", d->proxy_fqdn[0] ? json_string(d->proxy_fqdn) : json_null(),
                       "comment", text_of(d->comment), "monitor", d->monitor));
    return 0;
}

static int domain_page(admin__api_t *api, const args_t *args, json_t **out)
{
    store_page_t p;
    int st = page_args(args, &p, 100, 100000, out);
    if (st)
        return st;
    uint64_t matched = 0, total = 0;
    fedge_err_t e = {{0}};
    json_t *a = json_array();
    int r = store_domain_page(api->store, &p, &matched, &total, domain_row_cb, a, &e);
    if (r < 0) {
        json_decref(a);
        return fail(r, r == FEDGE_EINVAL ? (strstr(e.msg, "sort") ? "sort" : "q") : "", &e, out);
    }
    *out =
        json_pack("{s:o, s:I, s:I, s:I, s:I}", "items", a, "matched", (json_int_t)matched, "total",
                  (json_int_t)total, "offset", (json_int_t)p.offset, "limit", (json_int_t)p.limit);
    return 200;
}

/* What a list row shows, lowercased, for searching small lists in memory
 * (providers, policies: a few dozen rows at most). */
static void shown_add(char *buf, size_t n, const char *s)
{
    size_t l = strlen(buf);
    if (l + 1 < n)
        snprintf(buf + l, n - l, "\x1f%s", s);
}

static bool shown_match(const char *shown, const char *q)
{
    if (!q || !*q)
        return true;
    size_t ql = strlen(q);
    for (const char *p = shown; *p; p++)
        if (!strncasecmp(p, q, ql))
            return true;
    return false;
}

static const char *sort_key;
static int sort_desc;
static int cmp_items(const void *x, const void *y)
{
    json_t *a = json_object_get(*(json_t *const *)x, sort_key);
    json_t *b = json_object_get(*(json_t *const *)y, sort_key);
    int c;
    if (json_is_string(a) && json_is_string(b))
        c = strcasecmp(json_string_value(a), json_string_value(b));
    else if (json_is_array(a) && json_is_array(b))
        c = (int)json_array_size(a) - (int)json_array_size(b);
    else
        c = (json_is_true(a) ? 1 : 0) - (json_is_true(b) ? 1 : 0);
    return sort_desc ? -c : c;
}

/* Filters items (each with its shown text), sorts by sort (a member name
 * among allowed), cuts the page: {"items", "matched", "total"}. Steals
 * items; shown[i] belongs to the caller. */
static int small_page(json_t *items, char **shown, const args_t *args, const char *const *sortable,
                      json_t **out)
{
    store_page_t p;
    int st = page_args(args, &p, 100000, 100000, out);
    if (st) {
        json_decref(items);
        return st;
    }
    if (p.sort && *p.sort && !in(sortable, p.sort, NULL)) {
        json_decref(items);
        return bad(out, "sort", "sort: not a column of this list");
    }
    size_t n = json_array_size(items), m = 0;
    json_t **v = fedge_calloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        if (shown_match(shown[i], p.query))
            v[m++] = json_array_get(items, i);
    /* One request at a time per admin server thread: the statics are
     * only for qsort's comparison. */
    sort_key = p.sort && *p.sort ? p.sort : sortable[0];
    sort_desc = p.desc;
    qsort(v, m, sizeof(*v), cmp_items);
    json_t *a = json_array();
    for (size_t i = p.offset; i < m && i < p.offset + p.limit; i++)
        json_array_append(a, v[i]);
    free(v);
    *out =
        json_pack("{s:o, s:I, s:I}", "items", a, "matched", (json_int_t)m, "total", (json_int_t)n);
    json_decref(items);
    return 200;
}

static int provider_list(admin__api_t *api, const args_t *args, json_t **out)
{
    static const char *const sortable[] = {"name",    "kind",    "proxy_fqdn", "verification",
                                           "domains", "enabled", NULL};
    store_snapshot_t *snap;
    int st = load(api, &snap, out);
    if (st)
        return st;
    json_t *a = json_array();
    char **shown = fedge_calloc(snap->n_providers + 1, sizeof(char *));
    for (size_t i = 0; i < snap->n_providers; i++) {
        const store_provider_t *p = &snap->providers[i];
        json_t *jp = j_provider(p);
        json_object_set_new(jp, "warnings", provider_warnings(snap, p));
        json_array_append_new(a, jp);
        size_t sz = 256 + 3 * STORE_FQDN_MAX + p->n_domains * (STORE_FQDN_MAX + 2);
        shown[i] = fedge_calloc(1, sz);
        shown_add(shown[i], sz, p->name);
        shown_add(shown[i], sz, p->kind == STORE_PROVIDER_HOSTING ? "Hosting" : "Public");
        shown_add(shown[i], sz, p->proxy_fqdn);
        shown_add(shown[i], sz, store_verification_name(p->verification));
        for (size_t k = 0; k < p->n_domains; k++)
            shown_add(shown[i], sz, p->domains[k]);
        shown_add(shown[i], sz, p->enabled ? "On" : "Off");
    }
    size_t n = snap->n_providers;
    store_snapshot_unref(snap);
    st = small_page(a, shown, args, sortable, out);
    for (size_t i = 0; i < n; i++)
        free(shown[i]);
    free(shown);
    return st;
}

static int policy_list(admin__api_t *api, const args_t *args, json_t **out)
{
    static const char *const sortable[] = {"scope",   "kind", "federation", "public_im",
                                           "outside", "xmpp", "av",         NULL};
    store_snapshot_t *snap;
    int st = load(api, &snap, out);
    if (st)
        return st;
    json_t *a = json_array(), *u = json_array();
    char **shown = fedge_calloc(snap->n_policies + 1, sizeof(char *));
    for (size_t i = 0; i < snap->n_policies; i++) {
        const store_policy_t *p = &snap->policies[i];
        json_t *j = j_policy(p);
        const char *kind = json_string_value(json_object_get(j, "kind"));
        json_array_append_new(a, j);
        shown[i] = fedge_calloc(1, 256);
        shown_add(shown[i], 256, p->scope);
        shown_add(shown[i], 256,
                  !strcmp(kind, "global") ? "Global"
                  : !strcmp(kind, "site") ? "Site"
                                          : "User");
        const bool f[] = {p->federation, p->public_im, p->outside, p->xmpp, p->av};
        for (size_t k = 0; k < 5; k++)
            shown_add(shown[i], 256, f[k] ? "On" : "Off");
    }
    for (size_t i = 0; i < snap->n_assignments; i++) {
        json_t *w = user_warning(api, snap->assignments[i].user);
        json_array_append_new(u, json_pack("{s:s, s:s, s:o}", "user", snap->assignments[i].user,
                                           "policy", snap->assignments[i].policy, "warning",
                                           w ? w : json_null()));
    }
    size_t n = snap->n_policies;
    store_snapshot_unref(snap);
    st = small_page(a, shown, args, sortable, out);
    for (size_t i = 0; i < n; i++)
        free(shown[i]);
    free(shown);
    if (st == 200)
        json_object_set_new(*out, "assignments", u);
    else
        json_decref(u);
    return st;
}

/* An audit entry with before and after split out of the detail when it
 * records a change to an existing value (STORE_AUDIT_ARROW). */
static int audit_page_cb(const store_audit_t *a, void *ctx)
{
    const char *arrow = strstr(a->detail, STORE_AUDIT_ARROW);
    json_t *j = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)a->id, "at",
                          text_of(a->at), "actor", text_of(a->actor), "action", text_of(a->action),
                          "object", text_of(a->object), "detail", text_of(a->detail));
    if (arrow) {
        char before[1024];
        snprintf(before, sizeof(before), "%.*s", (int)(arrow - a->detail), a->detail);
        json_object_set_new(j, "before", text_of(before));
        json_object_set_new(j, "after", text_of(arrow + strlen(STORE_AUDIT_ARROW)));
    }
    json_array_append_new(ctx, j);
    return 0;
}

static int audit_search(admin__api_t *api, const args_t *args, json_t **out)
{
    store_page_t p;
    int st = page_args(args, &p, 100, 1000, out);
    if (st)
        return st;
    store_audit_filter_t f = {arg(args, "actor"),
                              arg(args, "object"),
                              arg(args, "action"),
                              arg(args, "since"),
                              arg(args, "until"),
                              p.query,
                              p.offset,
                              p.limit};
    const char *const checked[] = {"actor", "object", "action", "since", "until"};
    const char *vals[] = {f.actor, f.object, f.action, f.since, f.until};
    for (size_t i = 0; i < 5; i++)
        if (vals[i] && !is_text(vals[i]))
            return bad(out, checked[i], "%s: control characters and invalid UTF-8 are not allowed",
                       checked[i]);
    uint64_t matched = 0;
    fedge_err_t e = {{0}};
    json_t *a = json_array();
    int r = store_audit_page(api->store, &f, &matched, audit_page_cb, a, &e);
    if (r < 0) {
        json_decref(a);
        char field[16] = "";
        const char *colon = strchr(e.msg, ':');
        if (colon && (size_t)(colon - e.msg) < sizeof(field))
            snprintf(field, sizeof(field), "%.*s", (int)(colon - e.msg), e.msg);
        return fail(r, field, &e, out);
    }
    *out = json_pack("{s:o, s:I, s:I, s:I}", "items", a, "matched", (json_int_t)matched, "offset",
                     (json_int_t)p.offset, "limit", (json_int_t)p.limit);
    return 200;
}

/* PUT /domains/DOMAIN {"access": "allowed"|"blocked", ...}: moves a
 * domain between the lists (the Edit dialog's Allowed / Blocked). */
static int domain_access(admin__api_t *api, const char *domain, json_t *body, const char *actor,
                         json_t **out)
{
    static const char *const fields[] = {"access", "proxy_fqdn", "comment", "monitor", NULL};
    const char *access, *fqdn, *comment;
    int monitor, st;
    char dn[STORE_FQDN_MAX + 1], fn[STORE_FQDN_MAX + 1];
    if ((st = only(body, fields, out)) || (st = req_str(body, "access", &access, out)) ||
        (st = opt_str(body, "proxy_fqdn", &fqdn, out)) ||
        (st = opt_str(body, "comment", &comment, out)) ||
        (st = opt_bool(body, "monitor", &monitor, out)))
        return st;
    if (strcmp(access, "allowed") && strcmp(access, "blocked"))
        return bad(out, "access", "access: expected allowed or blocked");
    if ((st = check_domain("domain", domain, dn, out)))
        return st;
    if (fqdn && *fqdn && (st = check_domain("proxy_fqdn", fqdn, fn, out)))
        return st;
    if ((st = check_comment(comment, out)))
        return st;
    fedge_err_t e = {{0}};
    int r = store_domain_switch(api->store, dn, !strcmp(access, "blocked"), fqdn, comment,
                                monitor > 0, actor, &e);
    if (r < 0)
        return fail(r, "domain", &e, out);
    *out = json_pack("{s:s, s:s}", "domain", dn, "status", access);
    return 200;
}

/* GET /diagnostics: the diagnostics table (docs/diagnostics.md), so that
 * the panel shows an ID with its reason. */
static int diagnostics(json_t **out)
{
    size_t n = 0;
    const policy_diag_t *t = policy_diag_table(&n);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:i, s:i, s:s, s:s?, s:s?}", "id", t[i].id, "status",
                                           t[i].status, "reason", t[i].reason, "cause", t[i].cause,
                                           "fix", t[i].fix));
    *out = items(a);
    return 200;
}

/* POST /domains/import {"rows": [{"domain", "access", "proxy_fqdn",
 * "comment", "monitor"}], "replace": false, "dry_run": false}: one
 * all-or-nothing store_domain_import; dry_run checks without writing. */
static int domain_import(admin__api_t *api, json_t *body, const char *actor, json_t **out)
{
    static const char *const fields[] = {"rows", "replace", "dry_run", NULL};
    static const char *const row_fields[] = {"domain",  "access",  "proxy_fqdn",
                                             "comment", "monitor", NULL};
    int replace, dry, st;
    if ((st = only(body, fields, out)) || (st = opt_bool(body, "replace", &replace, out)) ||
        (st = opt_bool(body, "dry_run", &dry, out)))
        return st;
    json_t *rows = body ? json_object_get(body, "rows") : NULL;
    if (!json_is_array(rows))
        return bad(out, "rows", "rows: expected a list of domains");
    size_t n = json_array_size(rows);
    if (n > STORE_IMPORT_MAX)
        return bad(out, "rows", "rows: more than %d", STORE_IMPORT_MAX);
    store_domain_in_t *in = fedge_calloc(n + 1, sizeof(*in));
    for (size_t i = 0; i < n && !st; i++) {
        json_t *r = json_array_get(rows, i);
        const char *access = NULL;
        int monitor;
        if ((st = only(r, row_fields, out)) || (st = req_str(r, "domain", &in[i].domain, out)) ||
            (st = opt_str(r, "access", &access, out)) ||
            (st = opt_str(r, "proxy_fqdn", &in[i].proxy_fqdn, out)) ||
            (st = opt_str(r, "comment", &in[i].comment, out)) ||
            (st = opt_bool(r, "monitor", &monitor, out))) {
            json_decref(*out);
            st = bad(out, "rows", "row %zu: a field is missing or of the wrong type", i + 1);
            break;
        }
        if (access && strcmp(access, "allowed") && strcmp(access, "blocked")) {
            st = bad(out, "rows", "row %zu: access: expected allowed or blocked", i + 1);
            break;
        }
        in[i].blocked = access && !strcmp(access, "blocked");
        in[i].monitor = monitor > 0;
    }
    if (st) {
        free(in);
        return st;
    }
    store_import_count_t c = {0, 0, 0};
    fedge_err_t e = {{0}};
    int r = store_domain_import(api->store, in, n, replace > 0, dry > 0, actor, &c, &e);
    free(in);
    if (r < 0)
        return fail(r, "rows", &e, out);
    *out =
        json_pack("{s:I, s:I, s:I, s:b}", "added", (json_int_t)c.added, "replaced",
                  (json_int_t)c.replaced, "unchanged", (json_int_t)c.unchanged, "dry_run", dry > 0);
    return 200;
}

/* ---- dispatch ---- */

/* Splits "/a/b/c" into at most 4 segments (pointers into buf). */
static size_t split(const char *path, char *buf, size_t bufsz, const char **seg)
{
    snprintf(buf, bufsz, "%s", path);
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, "/", &save); t && n < 5; t = strtok_r(NULL, "/", &save))
        seg[n++] = t;
    return n;
}

static bool is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

static const char *limit_only(void *ctx, const char *name)
{
    return !strcmp(name, "limit") ? ctx : NULL;
}

int admin__api(admin__api_t *api, const char *method, const char *path, const char *limit,
               json_t *body, const char *actor, json_t **out)
{
    return admin__api_args(api, method, path, limit_only, (void *)limit, body, actor, out);
}

int admin__api_args(admin__api_t *api, const char *method, const char *path, admin__arg_fn argf,
                    void *arg_ctx, json_t *body, const char *actor, json_t **out)
{
    const args_t args = {argf, arg_ctx};
    const char *limit = arg(&args, "limit");
    char buf[1024];
    const char *seg[5] = {0};
    *out = NULL;
    if (strlen(path) >= sizeof(buf)) {
        *out = error("no such resource");
        return 404;
    }
    if (!is_text(path)) {
        /* %FF or %00 in a URL arrive here decoded: a name can never hold
         * them, so this is the client's error, said plainly. */
        *out = error("the path is not valid UTF-8 text (control characters and invalid "
                     "byte sequences are refused)");
        return 400;
    }
    size_t n = split(path, buf, sizeof(buf), seg);
    bool get = is(method, "GET"), post = is(method, "POST"), put = is(method, "PUT"),
         del = is(method, "DELETE");
    store_snapshot_t *snap = NULL;
    int st;
    fedge_err_t e = {{0}};

    if (n == 1 && is(seg[0], "edge")) {
        if (put)
            return edge_put(api, body, actor, out);
        if (!get)
            goto method;
        if ((st = load(api, &snap, out)))
            return st;
        *out = j_edge(&snap->edge);
        store_snapshot_unref(snap);
        return 200;
    }
    if (n == 1 && is(seg[0], "domains")) {
        if (!get)
            goto method;
        return domain_page(api, &args, out);
    }
    if (n == 2 && is(seg[0], "domains") && is(seg[1], "import")) {
        if (!post)
            goto method;
        return domain_import(api, body, actor, out);
    }
    if (n == 1 && is(seg[0], "diagnostics")) {
        if (!get)
            goto method;
        return diagnostics(out);
    }
    if (n == 2 && is(seg[0], "domains") && !is(seg[1], "allowed") && !is(seg[1], "blocked")) {
        if (!put)
            goto method;
        return domain_access(api, seg[1], body, actor, out);
    }
    if (n >= 2 && is(seg[0], "domains") && (is(seg[1], "allowed") || is(seg[1], "blocked"))) {
        bool allowed = is(seg[1], "allowed");
        if (n == 2 && get) {
            if ((st = load(api, &snap, out)))
                return st;
            json_t *a = json_array();
            if (allowed)
                for (size_t i = 0; i < snap->n_allowed; i++)
                    json_array_append_new(a, j_allowed(&snap->allowed[i]));
            else
                for (size_t i = 0; i < snap->n_blocked; i++)
                    json_array_append_new(a, j_blocked(&snap->blocked[i]));
            store_snapshot_unref(snap);
            *out = items(a);
            return 200;
        }
        if (n == 2 && post)
            return allowed ? allowed_write(api, NULL, body, true, actor, out)
                           : blocked_write(api, NULL, body, true, actor, out);
        if (n == 3 && put) {
            if ((st = same_name(body, "domain", seg[2], "cannot be changed; delete and add instead",
                                out)))
                return st;
            return allowed ? allowed_write(api, seg[2], body, false, actor, out)
                           : blocked_write(api, seg[2], body, false, actor, out);
        }
        if (n == 3 && del)
            return domain_delete(api, seg[2], allowed, actor, out);
        if (n <= 3)
            goto method;
    }
    if (n >= 1 && n <= 2 && is(seg[0], "xmpp")) {
        if (n == 1 && get)
            return xmpp_list(api, out);
        if (n == 1 && post)
            return xmpp_write(api, NULL, body, true, actor, out);
        if (n == 2 && put) {
            if ((st = same_name(body, "domain", seg[1], "cannot be changed; delete and add instead",
                                out)))
                return st;
            return xmpp_write(api, seg[1], body, false, actor, out);
        }
        if (n == 2 && del)
            return removed(store_xmpp_remove(api->store, seg[1], actor, &e), "domain", &e, out);
        goto method;
    }
    if (n >= 1 && n <= 2 && is(seg[0], "providers")) {
        if (n == 1 && get)
            return provider_list(api, &args, out);
        if (n == 1 && post)
            return provider_write(api, NULL, body, true, actor, out);
        if (n == 2 && put) {
            if ((st = same_name(body, "name", seg[1], "cannot be changed; delete and add instead",
                                out)))
                return st;
            return provider_write(api, seg[1], body, false, actor, out);
        }
        if (n == 2 && del)
            return removed(store_provider_remove(api->store, seg[1], actor, &e), "name", &e, out);
        goto method;
    }
    if (n >= 1 && n <= 2 && is(seg[0], "policies")) {
        if (n == 1 && get)
            return policy_list(api, &args, out);
        if (n == 2 && del) {
            int r = store_policy_remove(api->store, seg[1], actor, &e);
            if (r < 0)
                return fail(r, "scope", &e, out);
            return 204;
        }
        if (n == 1 && post)
            return policy_write(api, NULL, body, true, actor, out);
        if (n == 2 && put) {
            if ((st = same_name(body, "scope", seg[1], "cannot be changed", out)))
                return st;
            return policy_write(api, seg[1], body, false, actor, out);
        }
        goto method;
    }
    if (n >= 1 && n <= 2 && is(seg[0], "assignments")) {
        if (n == 1 && post) {
            static const char *const fields[] = {"user", "policy", NULL};
            const char *user, *policy;
            if ((st = only(body, fields, out)) || (st = req_str(body, "user", &user, out)) ||
                (st = req_str(body, "policy", &policy, out)))
                return st;
            if ((st = assign(api, user, policy, actor, out)))
                return st;
            *out = json_pack("{s:s, s:s, s:[]}", "user", user, "policy", policy, "warnings");
            json_t *w = user_warning(api, user);
            if (w)
                json_array_append_new(json_object_get(*out, "warnings"), w);
            return 200;
        }
        if (n == 2 && del) {
            if ((st = load(api, &snap, out)))
                return st;
            bool there = store_snapshot_user_policy(snap, (fedge_str_t){seg[1], strlen(seg[1])});
            store_snapshot_unref(snap);
            if (!there) {
                *out = error("no such assignment");
                return 404;
            }
            if ((st = assign(api, seg[1], "global", actor, out)))
                return st;
            return 204;
        }
        goto method;
    }
    if (n >= 1 && n <= 2 && is(seg[0], "watchlist")) {
        if (n == 1 && get) {
            if ((st = load(api, &snap, out)))
                return st;
            json_t *a = json_array();
            for (size_t i = 0; i < snap->n_watchlist; i++) {
                const store_watch_t *w = &snap->watchlist[i];
                json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:o}", "domain", w->domain,
                                                   "added_at", w->added_at, "users",
                                                   (json_int_t)w->users, "reason",
                                                   text_of(w->reason)));
            }
            store_snapshot_unref(snap);
            *out = items(a);
            return 200;
        }
        if (n == 2 && del) {
            int r = store_watchlist_clear(api->store, seg[1], actor, &e);
            if (r == FEDGE_EINVAL)
                r = FEDGE_ENOENT;
            if (r < 0)
                return fail(r, "domain", &e, out);
            return 204;
        }
        goto method;
    }
    if (n >= 2 && n <= 3 && is(seg[0], "remote") && is(seg[1], "lockouts")) {
        if (n == 2 && get) {
            json_t *a = json_array();
            int r = store_lockout_list(api->store, (int64_t)time(NULL), lockout_cb, a, &e);
            if (r < 0) {
                json_decref(a);
                return fail(r, "", &e, out);
            }
            *out = items(a);
            return 200;
        }
        if (n == 3 && del) {
            int r = store_lockout_clear(api->store, seg[2], (int64_t)time(NULL), actor, &e);
            if (r < 0)
                return fail(r, "subject", &e, out);
            return 204;
        }
        goto method;
    }
    if (n == 2 && is(seg[0], "audit") && is(seg[1], "search")) {
        if (!get)
            goto method;
        return audit_search(api, &args, out);
    }
    if (n == 1 && is(seg[0], "audit")) {
        if (!get)
            goto method;
        long lim = 200;
        if (limit) {
            char *end;
            lim = strtol(limit, &end, 10);
            if (*end || lim < 1 || lim > 10000)
                return bad(out, "limit", "limit: expected a whole number from 1 to 10000");
        }
        json_t *a = json_array();
        int r = store_audit_list(api->store, (size_t)lim, audit_cb, a, &e);
        if (r < 0) {
            json_decref(a);
            return fail(r, "", &e, out);
        }
        *out = items(a);
        return 200;
    }
    if (n == 1 && is(seg[0], "pool")) {
        if (!get)
            goto method;
        return pool_members(api, out);
    }
    if (n == 1 && is(seg[0], "status")) {
        if (!get)
            goto method;
        return status(api, out);
    }
    if (n == 1 && is(seg[0], "media")) {
        if (!get)
            goto method;
        return admin__media(api, out);
    }
    *out = error("no such resource");
    return 404;
method:
    *out = error("method not allowed on this resource");
    return 405;
}
