/* cli_store.c — `fedge domain|provider|policy|edge|watchlist`: the
 * administrator's command line onto the configuration store (issue 5),
 * text or JSON output, every change audited as "cli:<login>". */
#include "cli/cli_store.h"
#include "cli/cli_internal.h"

#include "config/config.h"
#include "store/store.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_domain[] =
    "usage: fedge domain allow DOMAIN [--proxy-fqdn FQDN] [--comment TEXT] [--monitor]\n"
    "       fedge domain block DOMAIN [--comment TEXT]\n"
    "       fedge domain remove DOMAIN\n"
    "       fedge domain list [--json]\n";
static const char usage_provider[] =
    "usage: fedge provider add NAME --proxy-fqdn FQDN --kind hosting|public\n"
    "                 [--domains D,...] [--verification always-verified|always-unverified|"
    "use-source]\n"
    "                 [--disabled]\n"
    "       fedge provider set NAME [--proxy-fqdn FQDN] [--kind hosting|public] [--domains "
    "D,...]\n"
    "                 [--verification ...] [--enabled|--disabled]\n"
    "       fedge provider remove NAME\n"
    "       fedge provider list [--json]\n";
static const char usage_policy[] =
    "usage: fedge policy set global|site:NAME|NAME [--federation on|off] [--public on|off]\n"
    "                 [--outside on|off] [--xmpp on|off]\n"
    "       fedge policy assign USER NAME   (NAME global removes the assignment)\n"
    "       fedge policy list [--json]\n";
static const char usage_edge[] =
    "usage: fedge edge set [--federation on|off] [--discovery on|off] [--outside-users on|off]\n"
    "                 [--routing dns-srv|default-route] [--default-route HOST[:PORT]]\n"
    "                 [--discovered-rate N] [--discovered-contacts N] [--contacts-limit "
    "on|off]\n"
    "                 [--report-period MINUTES] [--mark-verifiable on|off] "
    "[--block-subdomains on|off]\n"
    "       fedge edge show [--json]\n";
static const char usage_watchlist[] = "usage: fedge watchlist [--clear DOMAIN] [--json]\n";
static const char usage_common[] =
    "every command takes -c FILE (the store of [edge] store) or --store PATH\n";

/* ---- options ---- */

#define MAX_POS 4
#define MAX_OPT 16

typedef struct {
    const char *name; /* "--kind" */
    bool value;       /* takes a value */
} optspec_t;

typedef struct {
    const char *pos[MAX_POS];
    int npos;
    const char *name[MAX_OPT];
    const char *val[MAX_OPT]; /* flag: "" */
    int nopt;
    const char *config, *store;
    bool json;
} args_t;

static const char *opt(const args_t *a, const char *name)
{
    for (int i = 0; i < a->nopt; i++)
        if (!strcmp(a->name[i], name))
            return a->val[i];
    return NULL;
}

static int usage_err(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_err(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fedge: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(usage, stderr);
    fputs(usage_common, stderr);
    return 2;
}

/* Parses argv[from..] against spec (plus -c, --store, --json when
 * json_ok). Returns 0 or the exit code 2 (message printed). */
static int parse(int argc, char **argv, int from, const optspec_t *spec, bool json_ok, int max_pos,
                 const char *usage, args_t *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = from; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-c") || !strcmp(s, "--config") || !strcmp(s, "--store")) {
            if (i + 1 >= argc)
                return usage_err(usage, "%s needs a value (a file name)", s);
            if (!strcmp(s, "--store"))
                a->store = argv[++i];
            else
                a->config = argv[++i];
            continue;
        }
        if (!strcmp(s, "--json") && json_ok) {
            a->json = true;
            continue;
        }
        if (s[0] == '-' && s[1]) {
            const optspec_t *o = NULL;
            for (const optspec_t *p = spec; p && p->name; p++)
                if (!strcmp(p->name, s))
                    o = p;
            if (!o)
                return usage_err(usage, "unknown option '%s'", s);
            if (a->nopt >= MAX_OPT)
                return usage_err(usage, "too many options");
            for (int k = 0; k < a->nopt; k++)
                if (!strcmp(a->name[k], s))
                    return usage_err(usage, "option %s given twice", s);
            a->name[a->nopt] = o->name;
            if (o->value) {
                if (i + 1 >= argc)
                    return usage_err(usage, "%s needs a value", s);
                a->val[a->nopt++] = argv[++i];
            } else {
                a->val[a->nopt++] = "";
            }
            continue;
        }
        if (a->npos >= max_pos)
            return usage_err(usage, "unexpected argument '%s'", s);
        a->pos[a->npos++] = s;
    }
    return 0;
}

/* ---- opening the store ---- */

static int open_store(const args_t *a, store_t **s)
{
    fedge_err_t e;
    if (a->store) {
        if (store_open(a->store, s, &e) < 0) {
            fprintf(stderr, "fedge: %s\n", e.msg);
            return 1;
        }
        return 0;
    }
    if (!a->config) {
        fprintf(stderr, "fedge: no store: expected -c FILE (the configuration naming [edge] "
                        "store) or --store PATH\n");
        return 2;
    }
    config_t *cfg = NULL;
    if (config_load(a->config, &cfg, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 2;
    }
    int r = store_open(cfg->edge.store, s, &e);
    config_free(cfg);
    if (r < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    return 0;
}

/* Exit code for a store result, printing the message. */
static int done(int r, const fedge_err_t *e, const char *ok_msg)
{
    if (r == 0) {
        if (ok_msg)
            puts(ok_msg);
        return 0;
    }
    fprintf(stderr, "fedge: %s\n", e->msg);
    return r == FEDGE_EINVAL ? 2 : 1;
}

static store_snapshot_t *load(store_t *s, int *rc)
{
    store_snapshot_t *snap = NULL;
    fedge_err_t e;
    if (store_snapshot_load(s, &snap, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        *rc = 1;
        return NULL;
    }
    return snap;
}

static int print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return 1;
    puts(s);
    free(s);
    return 0;
}

static const char *onoff(bool b)
{
    return b ? "on" : "off";
}

/* ---- domain ---- */

static int cmd_domain(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_domain, "expected allow, block, remove or list");
    const char *sub = argv[2];
    static const optspec_t allow_spec[] = {
        {"--proxy-fqdn", true}, {"--comment", true}, {"--monitor", false}, {NULL, false}};
    static const optspec_t block_spec[] = {{"--comment", true}, {NULL, false}};
    args_t a;
    int rc;
    bool list = !strcmp(sub, "list");
    if (!strcmp(sub, "allow"))
        rc = parse(argc, argv, 3, allow_spec, false, 1, usage_domain, &a);
    else if (!strcmp(sub, "block"))
        rc = parse(argc, argv, 3, block_spec, false, 1, usage_domain, &a);
    else if (!strcmp(sub, "remove") || list)
        rc = parse(argc, argv, 3, NULL, list, list ? 0 : 1, usage_domain, &a);
    else
        return usage_err(usage_domain, "unknown domain command '%s'", sub);
    if (rc)
        return rc;
    if (!list && a.npos != 1)
        return usage_err(usage_domain, "fedge domain %s needs a DOMAIN", sub);
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    fedge_err_t e;
    if (!strcmp(sub, "allow")) {
        const char *fqdn = opt(&a, "--proxy-fqdn");
        rc = done(store_domain_allow(s, a.pos[0], fqdn, opt(&a, "--comment"),
                                     opt(&a, "--monitor") != NULL, cli__actor(), &e),
                  &e, fqdn ? "allowed (partner server)" : "allowed");
    } else if (!strcmp(sub, "block")) {
        rc = done(store_domain_block(s, a.pos[0], opt(&a, "--comment"), cli__actor(), &e), &e,
                  "blocked");
    } else if (!strcmp(sub, "remove")) {
        rc = done(store_domain_remove(s, a.pos[0], cli__actor(), &e), &e, "removed");
    } else {
        store_snapshot_t *snap = load(s, &rc);
        if (snap && a.json) {
            json_t *al = json_array(), *bl = json_array();
            for (size_t i = 0; i < snap->n_allowed; i++) {
                const store_allowed_t *d = &snap->allowed[i];
                json_array_append_new(
                    al, json_pack("{s:s, s:s, s:s?, s:s, s:b}", "domain", d->domain, "type",
                                  d->proxy_fqdn ? "partner-server" : "allowed-domain", "proxy_fqdn",
                                  d->proxy_fqdn, "comment", d->comment, "monitor", d->monitor));
            }
            for (size_t i = 0; i < snap->n_blocked; i++)
                json_array_append_new(bl, json_pack("{s:s, s:s}", "domain", snap->blocked[i].domain,
                                                    "comment", snap->blocked[i].comment));
            rc = print_json(json_pack("{s:o, s:o}", "allowed", al, "blocked", bl));
        } else if (snap) {
            printf("%-8s %-40s %-40s %s\n", "LIST", "DOMAIN", "PARTNER EDGE FQDN", "COMMENT");
            for (size_t i = 0; i < snap->n_allowed; i++) {
                const store_allowed_t *d = &snap->allowed[i];
                printf("%-8s %-40s %-40s %s%s\n", "allowed", d->domain,
                       d->proxy_fqdn ? d->proxy_fqdn : "-", d->monitor ? "[monitor] " : "",
                       d->comment);
            }
            for (size_t i = 0; i < snap->n_blocked; i++)
                printf("%-8s %-40s %-40s %s\n", "blocked", snap->blocked[i].domain, "-",
                       snap->blocked[i].comment);
            rc = 0;
        }
        store_snapshot_unref(snap);
    }
    store_close(s);
    return rc;
}

/* ---- provider ---- */

/* Splits "a,b,c" into up to STORE_PROVIDER_DOMAINS_MAX parts (in place). */
static int split_domains(char *list, const char **out, size_t *n)
{
    *n = 0;
    if (!*list)
        return 0;
    for (char *p = list;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        while (*p == ' ')
            p++;
        if (*n >= STORE_PROVIDER_DOMAINS_MAX)
            return -1;
        out[(*n)++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int cmd_provider(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_provider, "expected add, set, remove or list");
    const char *sub = argv[2];
    static const optspec_t add_spec[] = {{"--proxy-fqdn", true}, {"--kind", true},
                                         {"--domains", true},    {"--verification", true},
                                         {"--disabled", false},  {NULL, false}};
    static const optspec_t set_spec[] = {{"--proxy-fqdn", true}, {"--kind", true},
                                         {"--domains", true},    {"--verification", true},
                                         {"--enabled", false},   {"--disabled", false},
                                         {NULL, false}};
    args_t a;
    int rc;
    bool list = !strcmp(sub, "list");
    if (!strcmp(sub, "add"))
        rc = parse(argc, argv, 3, add_spec, false, 1, usage_provider, &a);
    else if (!strcmp(sub, "set"))
        rc = parse(argc, argv, 3, set_spec, false, 1, usage_provider, &a);
    else if (!strcmp(sub, "remove") || list)
        rc = parse(argc, argv, 3, NULL, list, list ? 0 : 1, usage_provider, &a);
    else
        return usage_err(usage_provider, "unknown provider command '%s'", sub);
    if (rc)
        return rc;
    if (!list && a.npos != 1)
        return usage_err(usage_provider, "fedge provider %s needs a NAME", sub);

    /* Validate the option values before opening anything. */
    fedge_err_t e;
    store_provider_kind_t kind = STORE_PROVIDER_HOSTING;
    store_verification_t ver = STORE_VERIFY_ALWAYS_VERIFIED;
    const char *v;
    if ((v = opt(&a, "--kind")) && store_check_provider_kind("--kind", v, &kind, &e) < 0)
        return usage_err(usage_provider, "%s", e.msg);
    if ((v = opt(&a, "--verification")) &&
        store_check_verification("--verification", v, &ver, &e) < 0)
        return usage_err(usage_provider, "%s", e.msg);
    if (opt(&a, "--enabled") && opt(&a, "--disabled"))
        return usage_err(usage_provider, "--enabled and --disabled exclude each other");
    static const char *doms[STORE_PROVIDER_DOMAINS_MAX];
    size_t nd = 0;
    char *dl = NULL;
    if ((v = opt(&a, "--domains"))) {
        dl = fedge_strdup(v);
        if (split_domains(dl, doms, &nd) < 0) {
            free(dl);
            return usage_err(usage_provider, "--domains: more than %d domains",
                             STORE_PROVIDER_DOMAINS_MAX);
        }
    }
    if (!strcmp(sub, "add")) {
        if (!opt(&a, "--proxy-fqdn") || !opt(&a, "--kind")) {
            free(dl);
            return usage_err(usage_provider,
                             "fedge provider add needs --proxy-fqdn FQDN and --kind "
                             "hosting|public");
        }
    }
    store_t *s;
    if ((rc = open_store(&a, &s))) {
        free(dl);
        return rc;
    }
    if (!strcmp(sub, "add")) {
        store_provider_in_t p = {
            a.pos[0], opt(&a, "--proxy-fqdn"), kind, ver, !opt(&a, "--disabled"), doms, nd};
        rc = done(store_provider_add(s, &p, cli__actor(), &e), &e, "added");
    } else if (!strcmp(sub, "set")) {
        store_provider_patch_t p = {
            opt(&a, "--proxy-fqdn"),
            opt(&a, "--kind") ? (int)kind : -1,
            opt(&a, "--verification") ? (int)ver : -1,
            opt(&a, "--enabled")    ? 1
            : opt(&a, "--disabled") ? 0
                                    : -1,
            opt(&a, "--domains") ? doms : NULL,
            nd,
        };
        rc = done(store_provider_set(s, a.pos[0], &p, cli__actor(), &e), &e, "changed");
    } else if (!strcmp(sub, "remove")) {
        rc = done(store_provider_remove(s, a.pos[0], cli__actor(), &e), &e, "removed");
    } else {
        store_snapshot_t *snap = load(s, &rc);
        if (snap && a.json) {
            json_t *arr = json_array();
            for (size_t i = 0; i < snap->n_providers; i++) {
                const store_provider_t *p = &snap->providers[i];
                json_t *d = json_array();
                for (size_t k = 0; k < p->n_domains; k++)
                    json_array_append_new(d, json_string(p->domains[k]));
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "name", p->name, "proxy_fqdn",
                                   p->proxy_fqdn, "kind", store_provider_kind_name(p->kind),
                                   "verification", store_verification_name(p->verification),
                                   "enabled", p->enabled, "domains", d));
            }
            rc = print_json(json_pack("{s:o}", "providers", arr));
        } else if (snap) {
            printf("%-16s %-32s %-8s %-18s %-8s %s\n", "NAME", "PROXY FQDN", "KIND", "VERIFICATION",
                   "ENABLED", "DOMAINS");
            for (size_t i = 0; i < snap->n_providers; i++) {
                const store_provider_t *p = &snap->providers[i];
                printf("%-16s %-32s %-8s %-18s %-8s ", p->name, p->proxy_fqdn,
                       store_provider_kind_name(p->kind), store_verification_name(p->verification),
                       p->enabled ? "yes" : "no");
                for (size_t k = 0; k < p->n_domains; k++)
                    printf("%s%s", k ? "," : "", p->domains[k]);
                printf("%s\n", p->n_domains ? "" : "-");
            }
            rc = 0;
        }
        store_snapshot_unref(snap);
    }
    free(dl);
    store_close(s);
    return rc;
}

/* ---- policy ---- */

static int onoff_opt(const args_t *a, const char *name, int *out, const char *usage)
{
    const char *v = opt(a, name);
    *out = -1;
    if (!v)
        return 0;
    bool b;
    fedge_err_t e;
    if (store_check_bool(name, v, &b, &e) < 0)
        return usage_err(usage, "%s", e.msg);
    *out = b;
    return 0;
}

static int cmd_policy(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_policy, "expected set, assign or list");
    const char *sub = argv[2];
    static const optspec_t set_spec[] = {{"--federation", true},
                                         {"--public", true},
                                         {"--outside", true},
                                         {"--xmpp", true},
                                         {NULL, false}};
    args_t a;
    int rc;
    bool list = !strcmp(sub, "list");
    if (!strcmp(sub, "set"))
        rc = parse(argc, argv, 3, set_spec, false, 1, usage_policy, &a);
    else if (!strcmp(sub, "assign"))
        rc = parse(argc, argv, 3, NULL, false, 2, usage_policy, &a);
    else if (list)
        rc = parse(argc, argv, 3, NULL, true, 0, usage_policy, &a);
    else
        return usage_err(usage_policy, "unknown policy command '%s'", sub);
    if (rc)
        return rc;
    store_policy_patch_t p = {-1, -1, -1, -1};
    if (!strcmp(sub, "set")) {
        if (a.npos != 1)
            return usage_err(usage_policy, "fedge policy set needs a scope: global, "
                                           "site:NAME or NAME");
        if ((rc = onoff_opt(&a, "--federation", &p.federation, usage_policy)) ||
            (rc = onoff_opt(&a, "--public", &p.public_im, usage_policy)) ||
            (rc = onoff_opt(&a, "--outside", &p.outside, usage_policy)) ||
            (rc = onoff_opt(&a, "--xmpp", &p.xmpp, usage_policy)))
            return rc;
    }
    if (!strcmp(sub, "assign") && a.npos != 2)
        return usage_err(usage_policy, "fedge policy assign needs USER (user@domain) and NAME");
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    fedge_err_t e;
    if (!strcmp(sub, "set")) {
        rc = done(store_policy_set(s, a.pos[0], &p, cli__actor(), &e), &e, "set");
    } else if (!strcmp(sub, "assign")) {
        rc = done(store_policy_assign(s, a.pos[0], a.pos[1], cli__actor(), &e), &e, "assigned");
    } else {
        store_snapshot_t *snap = load(s, &rc);
        if (snap && a.json) {
            json_t *pa = json_array(), *aa = json_array();
            for (size_t i = 0; i < snap->n_policies; i++) {
                const store_policy_t *q = &snap->policies[i];
                json_array_append_new(pa,
                                      json_pack("{s:s, s:b, s:b, s:b, s:b}", "scope", q->scope,
                                                "federation", q->federation, "public", q->public_im,
                                                "outside", q->outside, "xmpp", q->xmpp));
            }
            for (size_t i = 0; i < snap->n_assignments; i++)
                json_array_append_new(aa, json_pack("{s:s, s:s}", "user", snap->assignments[i].user,
                                                    "policy", snap->assignments[i].policy));
            rc = print_json(json_pack("{s:o, s:o}", "policies", pa, "assignments", aa));
        } else if (snap) {
            printf("%-24s %-10s %-6s %-7s %s\n", "SCOPE", "FEDERATION", "PUBLIC", "OUTSIDE",
                   "XMPP");
            for (size_t i = 0; i < snap->n_policies; i++) {
                const store_policy_t *q = &snap->policies[i];
                printf("%-24s %-10s %-6s %-7s %s\n", q->scope, onoff(q->federation),
                       onoff(q->public_im), onoff(q->outside), onoff(q->xmpp));
            }
            if (snap->n_assignments) {
                printf("\n%-40s %s\n", "USER", "POLICY");
                for (size_t i = 0; i < snap->n_assignments; i++)
                    printf("%-40s %s\n", snap->assignments[i].user, snap->assignments[i].policy);
            }
            rc = 0;
        }
        store_snapshot_unref(snap);
    }
    store_close(s);
    return rc;
}

/* ---- edge ---- */

static const struct {
    const char *opt, *key;
} edge_opts[] = {
    {"--federation", "federation"},
    {"--discovery", "discovery"},
    {"--outside-users", "outside-users"},
    {"--routing", "routing"},
    {"--default-route", "default-route"},
    {"--discovered-rate", "discovered-rate"},
    {"--discovered-contacts", "discovered-contacts"},
    {"--contacts-limit", "contacts-limit"},
    {"--report-period", "report-period"},
    {"--mark-verifiable", "mark-verifiable"},
    {"--block-subdomains", "block-subdomains"},
};

static int cmd_edge(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_edge, "expected set or show");
    const char *sub = argv[2];
    optspec_t spec[FEDGE_ARRAY_LEN(edge_opts) + 1];
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(edge_opts); i++)
        spec[i] = (optspec_t){edge_opts[i].opt, true};
    spec[FEDGE_ARRAY_LEN(edge_opts)] = (optspec_t){NULL, false};
    args_t a;
    int rc;
    if (!strcmp(sub, "set"))
        rc = parse(argc, argv, 3, spec, false, 0, usage_edge, &a);
    else if (!strcmp(sub, "show"))
        rc = parse(argc, argv, 3, NULL, true, 0, usage_edge, &a);
    else
        return usage_err(usage_edge, "unknown edge command '%s'", sub);
    if (rc)
        return rc;
    store_setting_t kv[FEDGE_ARRAY_LEN(edge_opts)];
    size_t n = 0;
    if (!strcmp(sub, "set")) {
        for (size_t i = 0; i < FEDGE_ARRAY_LEN(edge_opts); i++) {
            const char *v = opt(&a, edge_opts[i].opt);
            if (v)
                kv[n++] = (store_setting_t){edge_opts[i].key, v};
        }
        if (n == 0)
            return usage_err(usage_edge, "fedge edge set needs at least one setting");
    }
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    fedge_err_t e;
    if (n) {
        rc = store_edge_set(s, kv, n, cli__actor(), &e);
        if (rc == FEDGE_EINVAL) {
            /* The store names the key; the user typed the option. */
            fprintf(stderr, "fedge: --%s\n", e.msg);
            fputs(usage_edge, stderr);
            rc = 2;
        } else {
            rc = done(rc, &e, "set");
        }
    } else {
        store_snapshot_t *snap = load(s, &rc);
        if (snap) {
            const store_edge_t *g = &snap->edge;
            if (a.json) {
                rc = print_json(json_pack(
                    "{s:b, s:b, s:b, s:s, s:s?, s:i, s:i, s:b, s:i, s:b, s:b, s:I}", "federation",
                    g->federation, "discovery", g->discovery, "outside_users", g->outside_users,
                    "routing", store_routing_name(g->routing), "default_route",
                    g->default_route[0] ? g->default_route : NULL, "discovered_rate",
                    (int)g->discovered_rate, "discovered_contacts", (int)g->discovered_contacts,
                    "contacts_limit", g->contacts_limit, "report_period", (int)g->report_period_min,
                    "mark_verifiable", g->mark_verifiable, "block_subdomains", g->block_subdomains,
                    "generation", (json_int_t)snap->generation));
            } else {
                printf("federation           %s\n", onoff(g->federation));
                printf("discovery            %s\n", onoff(g->discovery));
                printf("outside-users        %s\n", onoff(g->outside_users));
                printf("routing              %s\n", store_routing_name(g->routing));
                printf("default-route        %s\n", g->default_route[0] ? g->default_route : "-");
                printf("discovered-rate      %u requests/s\n", g->discovered_rate);
                printf("discovered-contacts  %u distinct local users\n", g->discovered_contacts);
                printf("contacts-limit       %s\n", onoff(g->contacts_limit));
                printf("report-period        %u minutes\n", g->report_period_min);
                printf("mark-verifiable      %s\n", onoff(g->mark_verifiable));
                printf("block-subdomains     %s\n", onoff(g->block_subdomains));
                printf("generation           %llu\n", (unsigned long long)snap->generation);
                rc = 0;
            }
        }
        store_snapshot_unref(snap);
    }
    store_close(s);
    return rc;
}

/* ---- watchlist ---- */

static int cmd_watchlist(int argc, char **argv)
{
    static const optspec_t spec[] = {{"--clear", true}, {NULL, false}};
    args_t a;
    int rc = parse(argc, argv, 2, spec, true, 0, usage_watchlist, &a);
    if (rc)
        return rc;
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    fedge_err_t e;
    const char *clear = opt(&a, "--clear");
    if (clear) {
        rc = done(store_watchlist_clear(s, clear, cli__actor(), &e), &e, "cleared");
    } else {
        store_snapshot_t *snap = load(s, &rc);
        if (snap && a.json) {
            json_t *arr = json_array();
            for (size_t i = 0; i < snap->n_watchlist; i++) {
                const store_watch_t *w = &snap->watchlist[i];
                json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s}", "domain", w->domain,
                                                     "added_at", w->added_at, "users",
                                                     (int)w->users, "reason", w->reason));
            }
            rc = print_json(json_pack("{s:o}", "watchlist", arr));
        } else if (snap) {
            printf("%-40s %-21s %-7s %s\n", "DOMAIN", "SINCE", "USERS", "REASON");
            for (size_t i = 0; i < snap->n_watchlist; i++) {
                const store_watch_t *w = &snap->watchlist[i];
                printf("%-40s %-21s %-7u %s\n", w->domain, w->added_at, w->users, w->reason);
            }
            rc = 0;
        }
        store_snapshot_unref(snap);
    }
    store_close(s);
    return rc;
}

int cli__store(int argc, char **argv)
{
    const char *cmd = argv[1];
    if (!strcmp(cmd, "domain"))
        return cmd_domain(argc, argv);
    if (!strcmp(cmd, "provider"))
        return cmd_provider(argc, argv);
    if (!strcmp(cmd, "policy"))
        return cmd_policy(argc, argv);
    if (!strcmp(cmd, "edge"))
        return cmd_edge(argc, argv);
    if (!strcmp(cmd, "watchlist"))
        return cmd_watchlist(argc, argv);
    fprintf(stderr, "fedge: unknown command '%s'\n", cmd);
    return 2;
}
