/* cli_store.c — `fedge domain|provider|policy|edge|watchlist`: the
 * administrator's command line onto the configuration store, text or JSON
 * output, every change audited as "cli:<login>" and printed as what it
 * changed (read back from the store, before and after). */
#include "cli/cli_store.h"
#include "cli/cli_internal.h"

#include "config/config.h"
#include "store/store.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage_domain[] =
    "usage: fedge domain allow DOMAIN [--proxy-fqdn FQDN] [--comment TEXT] "
    "[--monitor|--no-monitor]\n"
    "                          [--replace]\n"
    "       fedge domain block DOMAIN [--comment TEXT]\n"
    "       fedge domain remove DOMAIN\n"
    "       fedge domain list [--json]\n"
    "       fedge domain import FILE [--replace] | export [FILE]   (CSV: see --help of each)\n"
    "\n"
    "allow adds an allowed partner domain (found by DNS SRV) or, with --proxy-fqdn,\n"
    "an allowed partner server (its edge must present FQDN). On an entry that is\n"
    "already allowed it changes only what is given; an entry of the other kind or\n"
    "with another edge FQDN is refused (exit 1) unless --replace replaces it.\n"
    "block refuses DOMAIN in both directions. Every change prints what changed.\n"
    "\n"
    "examples:\n"
    "  fedge domain allow fabrikam.test -c /etc/fedge/fedge.ini\n"
    "  fedge domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test --comment \"partner\" -c "
    "...\n"
    "  fedge domain allow fabrikam.test --proxy-fqdn edge2.fabrikam.test --replace -c ...\n"
    "  fedge domain block spam.example -c /etc/fedge/fedge.ini\n";
static const char usage_provider[] =
    "usage: fedge provider add NAME --proxy-fqdn FQDN --kind hosting|public\n"
    "                 [--domains D,...] [--verification always-verified|always-unverified|"
    "use-source]\n"
    "                 [--disabled]\n"
    "       fedge provider set NAME [--proxy-fqdn FQDN] [--kind hosting|public] [--domains "
    "D,...]\n"
    "                 [--verification ...] [--enabled|--disabled]\n"
    "       fedge provider remove NAME\n"
    "       fedge provider list [--json]\n"
    "\n"
    "examples:\n"
    "  fedge provider add hoster --proxy-fqdn sip.hoster.test --kind hosting --domains "
    "a.test,b.test -c ...\n"
    "  fedge provider set hoster --disabled -c /etc/fedge/fedge.ini\n";
static const char usage_policy[] =
    "usage: fedge policy set global|site:NAME|NAME [--federation on|off] [--public on|off]\n"
    "                 [--outside on|off] [--xmpp on|off] [--av on|off]\n"
    "       fedge policy assign USER NAME   (NAME global removes the assignment)\n"
    "       fedge policy list [--json]\n"
    "\n"
    "examples:\n"
    "  fedge policy set global --federation on --public off -c /etc/fedge/fedge.ini\n"
    "  fedge policy set partners --federation on -c ...\n"
    "  fedge policy set im-only --federation on --av off -c ...   (IM and presence, no calls)\n"
    "  fedge policy assign alice@contoso.test partners -c ...\n";
static const char usage_edge[] =
    "usage: fedge edge set [--federation on|off] [--discovery on|off] [--outside-users on|off]\n"
    "                 [--routing dns-srv|default-route] [--default-route HOST[:PORT]]\n"
    "                 [--discovered-rate N] [--discovered-contacts N] [--contacts-limit "
    "on|off]\n"
    "                 [--report-period MINUTES] [--mark-verifiable on|off] "
    "[--block-subdomains on|off]\n"
    "       fedge edge show [--json]\n"
    "\n"
    "examples:\n"
    "  fedge edge set --discovery on -c /etc/fedge/fedge.ini\n"
    "  fedge edge set --routing default-route --default-route gw.contoso.test:5061 -c ...\n"
    "  fedge edge show -c /etc/fedge/fedge.ini\n";
static const char usage_watchlist[] =
    "usage: fedge watchlist [--clear DOMAIN] [--json]\n"
    "\n"
    "Discovered partners that went over the contacts limit; --clear DOMAIN takes\n"
    "one off the list.\n"
    "\n"
    "examples:\n"
    "  fedge watchlist -c /etc/fedge/fedge.ini\n"
    "  fedge watchlist --clear fabrikam.test -c /etc/fedge/fedge.ini\n";
static const char usage_common[] =
    "every command takes -c FILE (the store of [edge] store) or --store PATH.\n"
    "exit status: 0 done, 1 the operation failed (conflict, not found, store),\n"
    "2 bad usage or configuration.\n";

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

/* What parse() returns when it printed the help: the command exits 0. */
#define HELP (-1)

static int help(const char *usage)
{
    fputs(usage, stdout);
    fputs(usage_common, stdout);
    return HELP;
}

/* Exit code of a parse() result other than 0. */
static int exit_of(int rc)
{
    return rc == HELP ? 0 : rc;
}

/* Parses argv[from..] against spec (plus -c, --store, --json when
 * json_ok, -h/--help). Returns 0, HELP (usage printed on stdout) or the
 * exit code 2 (message printed). */
static int parse(int argc, char **argv, int from, const optspec_t *spec, bool json_ok, int max_pos,
                 const char *usage, args_t *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = from; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return help(usage);
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

/* Exit code of a failed store call, printing its message: 2 for input
 * the store refused as malformed, 1 for everything else (conflict, not
 * found, store locked or corrupt). */
static int failed(int r, const fedge_err_t *e)
{
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

static void lower_copy(char *out, size_t n, const char *in)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

static fedge_str_t str_of(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

/* ---- saying what changed ---- */

/* "label before -> after" for each field that differs, comma-separated. */
typedef struct {
    char buf[4096];
    size_t n;
    int count;
} diff_t;

static void diff_add(diff_t *d, const char *label, const char *before, const char *after)
{
    if (!strcmp(before, after) || d->n >= sizeof(d->buf) - 1)
        return;
    int w = snprintf(d->buf + d->n, sizeof(d->buf) - d->n, "%s%s%s%s -> %s", d->count ? ", " : "",
                     label, *label ? " " : "", before, after);
    if (w > 0)
        d->n = d->n + (size_t)w < sizeof(d->buf) ? d->n + (size_t)w : sizeof(d->buf) - 1;
    d->count++;
}

/* "\"text\"" or "none" for a comment. */
static const char *quoted(const char *c, char *buf, size_t n)
{
    if (!c || !*c)
        return "none";
    snprintf(buf, n, "\"%s\"", c);
    return buf;
}

/* What an allowed entry is: "partner server edge.fabrikam.test" or
 * "allowed domain". */
static const char *allowed_kind(const store_allowed_t *d, char *buf, size_t n)
{
    if (!d->proxy_fqdn)
        return "allowed domain";
    snprintf(buf, n, "partner server %s", d->proxy_fqdn);
    return buf;
}

/* The whole entry: "partner server edge.fabrikam.test, monitored,
 * comment \"...\"". */
static const char *allowed_desc(const store_allowed_t *d, char *buf, size_t n)
{
    char k[STORE_FQDN_MAX + 32];
    snprintf(buf, n, "%s%s%s%s%s", allowed_kind(d, k, sizeof(k)), d->monitor ? ", monitored" : "",
             *d->comment ? ", comment \"" : "", d->comment, *d->comment ? "\"" : "");
    return buf;
}

static void allowed_diff(diff_t *df, const store_allowed_t *a, const store_allowed_t *b)
{
    char k1[STORE_FQDN_MAX + 32], k2[STORE_FQDN_MAX + 32];
    char c1[STORE_COMMENT_MAX + 3], c2[STORE_COMMENT_MAX + 3];
    diff_add(df, "", allowed_kind(a, k1, sizeof(k1)), allowed_kind(b, k2, sizeof(k2)));
    diff_add(df, "monitoring", onoff(a->monitor), onoff(b->monitor));
    diff_add(df, "comment", quoted(a->comment, c1, sizeof(c1)), quoted(b->comment, c2, sizeof(c2)));
}

/* ---- domain ---- */

static int domain_allow(store_t *s, const store_snapshot_t *before, const char *dom,
                        const args_t *a)
{
    fedge_err_t e;
    char fqdn[STORE_FQDN_MAX + 1] = "";
    const char *fq = opt(a, "--proxy-fqdn");
    if (fq && *fq && store_check_domain("--proxy-fqdn", fq, fqdn, sizeof(fqdn), &e) < 0)
        return usage_err(usage_domain, "%s", e.msg);
    bool server = fqdn[0] != '\0';
    const char *comment = opt(a, "--comment");
    bool replace = opt(a, "--replace") != NULL;
    const store_allowed_t *cur = store_snapshot_allowed(before, str_of(dom));
    char d1[1024], k1[STORE_FQDN_MAX + 32];
    bool monitor = opt(a, "--monitor") != NULL;
    if (cur && !replace) {
        bool same = server ? cur->proxy_fqdn && !strcmp(cur->proxy_fqdn, fqdn) : !cur->proxy_fqdn;
        if (!same) {
            /* The REST API answers 409 here: an entry is never turned into
             * another kind (losing its edge FQDN, comment) by accident. */
            fprintf(stderr,
                    "fedge: %s is already allowed as %s; allowing it as %s%s would replace that "
                    "entry (its comment and monitoring too): add --replace to do so%s%s\n",
                    dom, allowed_desc(cur, d1, sizeof(d1)),
                    server ? "partner server " : "an allowed domain", server ? fqdn : "",
                    cur->proxy_fqdn && !server ? ", or give --proxy-fqdn " : "",
                    cur->proxy_fqdn && !server ? cur->proxy_fqdn : "");
            return 1;
        }
        /* The same entry: change only what is given. */
        if (!comment)
            comment = cur->comment;
        monitor = opt(a, "--monitor") ? true : opt(a, "--no-monitor") ? false : cur->monitor;
        if (!strcmp(comment, cur->comment) && monitor == cur->monitor) {
            printf("unchanged %s (%s): already allowed\n", dom, allowed_desc(cur, d1, sizeof(d1)));
            return 0;
        }
    }
    if (cur && replace) {
        bool same_kind =
            server ? cur->proxy_fqdn && !strcmp(cur->proxy_fqdn, fqdn) : !cur->proxy_fqdn;
        if (same_kind && !strcmp(comment ? comment : "", cur->comment) && monitor == cur->monitor) {
            printf("unchanged %s (%s): already allowed\n", dom, allowed_desc(cur, d1, sizeof(d1)));
            return 0;
        }
    }
    /* Kept for the message: the snapshot stays valid, but be explicit. */
    store_allowed_t was = cur ? *cur : (store_allowed_t){0};
    int r = store_domain_allow(s, dom, server ? fqdn : NULL, comment, monitor, cli__actor(), &e);
    if (r < 0)
        return failed(r, &e);
    int rc = 0;
    store_snapshot_t *after = load(s, &rc);
    const store_allowed_t *now = after ? store_snapshot_allowed(after, str_of(dom)) : NULL;
    if (!now) {
        printf("allowed %s (%s%s; could not read it back)\n", dom,
               server ? "partner server " : "allowed domain", fqdn);
    } else if (!cur) {
        printf("allowed %s (%s)\n", dom, allowed_desc(now, d1, sizeof(d1)));
    } else {
        diff_t df = {0};
        allowed_diff(&df, &was, now);
        printf("%s %s: %s\n", replace ? "replaced" : "changed", dom,
               df.count ? df.buf : allowed_kind(now, k1, sizeof(k1)));
    }
    store_snapshot_unref(after);
    return 0;
}

static int domain_block(store_t *s, const store_snapshot_t *before, const char *dom,
                        const args_t *a)
{
    fedge_err_t e;
    const store_blocked_t *cur = store_snapshot_blocked(before, str_of(dom));
    const char *comment = opt(a, "--comment");
    char c1[STORE_COMMENT_MAX + 3], c2[STORE_COMMENT_MAX + 3];
    if (cur && (!comment || !strcmp(comment, cur->comment))) {
        printf("unchanged %s: already blocked%s%s\n", dom, *cur->comment ? ", comment " : "",
               *cur->comment ? quoted(cur->comment, c1, sizeof(c1)) : "");
        return 0;
    }
    int r = store_domain_block(s, dom, comment, cli__actor(), &e);
    if (r < 0)
        return failed(r, &e);
    if (cur)
        printf("changed %s: comment %s -> %s\n", dom, quoted(cur->comment, c1, sizeof(c1)),
               quoted(comment, c2, sizeof(c2)));
    else
        printf("blocked %s (both directions%s%s)\n", dom, comment && *comment ? ", comment " : "",
               comment && *comment ? quoted(comment, c1, sizeof(c1)) : "");
    return 0;
}

static int domain_remove(store_t *s, const store_snapshot_t *before, const char *dom)
{
    fedge_err_t e;
    const store_allowed_t *al = store_snapshot_allowed(before, str_of(dom));
    const store_blocked_t *bl = store_snapshot_blocked(before, str_of(dom));
    char d1[1024];
    if (al)
        allowed_desc(al, d1, sizeof(d1));
    int r = store_domain_remove(s, dom, cli__actor(), &e);
    if (r < 0)
        return failed(r, &e);
    if (al)
        printf("removed %s (was allowed: %s)\n", dom, d1);
    else if (bl)
        printf("removed %s (was blocked)\n", dom);
    else
        printf("removed %s\n", dom);
    return 0;
}

static int cmd_domain(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_domain, "expected allow, block, remove or list");
    const char *sub = argv[2];
    static const optspec_t allow_spec[] = {{"--proxy-fqdn", true}, {"--comment", true},
                                           {"--monitor", false},   {"--no-monitor", false},
                                           {"--replace", false},   {NULL, false}};
    static const optspec_t block_spec[] = {{"--comment", true}, {NULL, false}};
    args_t a;
    int rc;
    bool list = !strcmp(sub, "list");
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help"))
        return exit_of(help(usage_domain));
    if (!strcmp(sub, "allow"))
        rc = parse(argc, argv, 3, allow_spec, false, 1, usage_domain, &a);
    else if (!strcmp(sub, "block"))
        rc = parse(argc, argv, 3, block_spec, false, 1, usage_domain, &a);
    else if (!strcmp(sub, "remove") || list)
        rc = parse(argc, argv, 3, NULL, list, list ? 0 : 1, usage_domain, &a);
    else
        return usage_err(usage_domain, "unknown domain command '%s'", sub);
    if (rc)
        return exit_of(rc);
    if (!list && a.npos != 1)
        return usage_err(usage_domain, "fedge domain %s needs a DOMAIN", sub);
    if (opt(&a, "--monitor") && opt(&a, "--no-monitor"))
        return usage_err(usage_domain, "--monitor and --no-monitor exclude each other");
    char dom[STORE_FQDN_MAX + 1] = "";
    fedge_err_t e;
    if (!list && store_check_domain("domain", a.pos[0], dom, sizeof(dom), &e) < 0)
        return usage_err(usage_domain, "%s", e.msg);
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    store_snapshot_t *snap = load(s, &rc);
    if (!snap) {
        store_close(s);
        return rc;
    }
    if (!strcmp(sub, "allow")) {
        rc = domain_allow(s, snap, dom, &a);
    } else if (!strcmp(sub, "block")) {
        rc = domain_block(s, snap, dom, &a);
    } else if (!strcmp(sub, "remove")) {
        rc = domain_remove(s, snap, dom);
    } else if (a.json) {
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
    } else {
        printf("%-8s %-40s %-40s %s\n", "LIST", "DOMAIN", "PARTNER EDGE FQDN", "COMMENT");
        for (size_t i = 0; i < snap->n_allowed; i++) {
            const store_allowed_t *d = &snap->allowed[i];
            printf("%-8s %-40s %-40s %s%s\n", "allowed", d->domain,
                   d->proxy_fqdn ? d->proxy_fqdn : "-", d->monitor ? "[monitor] " : "", d->comment);
        }
        for (size_t i = 0; i < snap->n_blocked; i++)
            printf("%-8s %-40s %-40s %s\n", "blocked", snap->blocked[i].domain, "-",
                   snap->blocked[i].comment);
        rc = 0;
    }
    store_snapshot_unref(snap);
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

static const store_provider_t *find_provider(const store_snapshot_t *snap, const char *name)
{
    for (size_t i = 0; snap && i < snap->n_providers; i++)
        if (!strcasecmp(snap->providers[i].name, name))
            return &snap->providers[i];
    return NULL;
}

static const char *provider_domains(const store_provider_t *p, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < p->n_domains && used < n; k++) {
        int w = snprintf(buf + used, n - used, "%s%s", k ? "," : "", p->domains[k]);
        if (w > 0)
            used += (size_t)w;
    }
    return p->n_domains ? buf : "none";
}

static const char *provider_desc(const store_provider_t *p, char *buf, size_t n)
{
    char d[2048];
    snprintf(buf, n, "%s, proxy %s, verification %s, %s, domains %s",
             store_provider_kind_name(p->kind), p->proxy_fqdn,
             store_verification_name(p->verification), p->enabled ? "enabled" : "disabled",
             provider_domains(p, d, sizeof(d)));
    return buf;
}

/* Prints what a provider change did, from the snapshots around it. */
static void provider_said(const char *verb, const char *name, const store_provider_t *was,
                          const store_provider_t *now)
{
    char d1[4096], d2[4096];
    if (!was && now) {
        printf("%s provider %s (%s)\n", verb, now->name, provider_desc(now, d1, sizeof(d1)));
    } else if (was && !now) {
        printf("%s provider %s (was: %s)\n", verb, was->name, provider_desc(was, d1, sizeof(d1)));
    } else if (was && now) {
        diff_t df = {0};
        diff_add(&df, "proxy", was->proxy_fqdn, now->proxy_fqdn);
        diff_add(&df, "kind", store_provider_kind_name(was->kind),
                 store_provider_kind_name(now->kind));
        diff_add(&df, "verification", store_verification_name(was->verification),
                 store_verification_name(now->verification));
        diff_add(&df, "", was->enabled ? "enabled" : "disabled",
                 now->enabled ? "enabled" : "disabled");
        diff_add(&df, "domains", provider_domains(was, d1, sizeof(d1)),
                 provider_domains(now, d2, sizeof(d2)));
        if (df.count)
            printf("%s provider %s: %s\n", verb, now->name, df.buf);
        else
            printf("unchanged provider %s (%s)\n", now->name, provider_desc(now, d1, sizeof(d1)));
    } else {
        printf("%s provider %s\n", verb, name);
    }
}

static int cmd_provider(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_provider, "expected add, set, remove or list");
    const char *sub = argv[2];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help"))
        return exit_of(help(usage_provider));
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
        return exit_of(rc);
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
    store_snapshot_t *before = NULL;
    if (!list && !(before = load(s, &rc))) {
        free(dl);
        store_close(s);
        return rc;
    }
    int r = 0;
    if (!strcmp(sub, "add")) {
        store_provider_in_t p = {
            a.pos[0], opt(&a, "--proxy-fqdn"), kind, ver, !opt(&a, "--disabled"), doms, nd};
        r = store_provider_add(s, &p, cli__actor(), &e);
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
        r = store_provider_set(s, a.pos[0], &p, cli__actor(), &e);
    } else if (!strcmp(sub, "remove")) {
        r = store_provider_remove(s, a.pos[0], cli__actor(), &e);
    }
    if (!list) {
        if (r < 0) {
            rc = failed(r, &e);
        } else {
            int lrc = 0;
            store_snapshot_t *after = load(s, &lrc);
            provider_said(!strcmp(sub, "add")   ? "added"
                          : !strcmp(sub, "set") ? "changed"
                                                : "removed",
                          a.pos[0], find_provider(before, a.pos[0]),
                          find_provider(after, a.pos[0]));
            store_snapshot_unref(after);
            rc = 0;
        }
        store_snapshot_unref(before);
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

static void policy_diff(diff_t *df, const store_policy_t *a, const store_policy_t *b)
{
    diff_add(df, "federation", onoff(a->federation), onoff(b->federation));
    diff_add(df, "public", onoff(a->public_im), onoff(b->public_im));
    diff_add(df, "outside", onoff(a->outside), onoff(b->outside));
    diff_add(df, "xmpp", onoff(a->xmpp), onoff(b->xmpp));
    diff_add(df, "av", onoff(a->av), onoff(b->av));
}

static int policy_set(store_t *s, const store_snapshot_t *before, const char *scope,
                      const store_policy_patch_t *p)
{
    fedge_err_t e;
    char sc[128];
    lower_copy(sc, sizeof(sc), scope);
    const store_policy_t *was = store_snapshot_policy(before, str_of(sc));
    store_policy_t w = was ? *was : (store_policy_t){0};
    int r = store_policy_set(s, scope, p, cli__actor(), &e);
    if (r < 0)
        return failed(r, &e);
    int rc = 0;
    store_snapshot_t *after = load(s, &rc);
    const store_policy_t *now = after ? store_snapshot_policy(after, str_of(sc)) : NULL;
    if (!now) {
        printf("set policy %s\n", sc);
    } else {
        diff_t df = {0};
        policy_diff(&df, &w, now);
        if (!was)
            printf("added policy %s (federation %s, public %s, outside %s, xmpp %s, av %s)\n",
                   now->scope, onoff(now->federation), onoff(now->public_im), onoff(now->outside),
                   onoff(now->xmpp), onoff(now->av));
        else if (df.count)
            printf("changed policy %s: %s\n", now->scope, df.buf);
        else
            printf("unchanged policy %s (federation %s, public %s, outside %s, xmpp %s, av %s)\n",
                   now->scope, onoff(now->federation), onoff(now->public_im), onoff(now->outside),
                   onoff(now->xmpp), onoff(now->av));
    }
    store_snapshot_unref(after);
    return 0;
}

static int policy_assign(store_t *s, const store_snapshot_t *before, const char *user,
                         const char *policy)
{
    fedge_err_t e;
    char u[STORE_FQDN_MAX + 80];
    lower_copy(u, sizeof(u), user);
    const store_policy_t *was = store_snapshot_user_policy(before, str_of(u));
    char w[128];
    snprintf(w, sizeof(w), "%s", was ? was->scope : "global (no assignment)");
    int r = store_policy_assign(s, user, policy, cli__actor(), &e);
    if (r < 0)
        return failed(r, &e);
    int rc = 0;
    store_snapshot_t *after = load(s, &rc);
    const store_policy_t *now = after ? store_snapshot_user_policy(after, str_of(u)) : NULL;
    if (!after)
        printf("assigned %s to %s\n", u, policy);
    else if (!now && !was)
        printf("unchanged %s: no assignment (the site or global policy applies)\n", u);
    else if (!now)
        printf("removed the assignment of %s (was: %s): the site or global policy applies\n", u, w);
    else if (was && !strcmp(was->scope, now->scope))
        printf("unchanged %s: already assigned to policy %s\n", u, now->scope);
    else
        printf("assigned %s to policy %s (was: %s)\n", u, now->scope, w);
    store_snapshot_unref(after);
    return 0;
}

static int cmd_policy(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_policy, "expected set, assign or list");
    const char *sub = argv[2];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help"))
        return exit_of(help(usage_policy));
    static const optspec_t set_spec[] = {{"--federation", true}, {"--public", true},
                                         {"--outside", true},    {"--xmpp", true},
                                         {"--av", true},         {NULL, false}};
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
        return exit_of(rc);
    store_policy_patch_t p = {-1, -1, -1, -1, -1};
    if (!strcmp(sub, "set")) {
        if (a.npos != 1)
            return usage_err(usage_policy, "fedge policy set needs a scope: global, "
                                           "site:NAME or NAME");
        if ((rc = onoff_opt(&a, "--federation", &p.federation, usage_policy)) ||
            (rc = onoff_opt(&a, "--public", &p.public_im, usage_policy)) ||
            (rc = onoff_opt(&a, "--outside", &p.outside, usage_policy)) ||
            (rc = onoff_opt(&a, "--xmpp", &p.xmpp, usage_policy)) ||
            (rc = onoff_opt(&a, "--av", &p.av, usage_policy)))
            return rc;
    }
    if (!strcmp(sub, "assign") && a.npos != 2)
        return usage_err(usage_policy, "fedge policy assign needs USER (user@domain) and NAME");
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    if (!list) {
        store_snapshot_t *before = load(s, &rc);
        if (before)
            rc = !strcmp(sub, "set") ? policy_set(s, before, a.pos[0], &p)
                                     : policy_assign(s, before, a.pos[0], a.pos[1]);
        store_snapshot_unref(before);
    } else {
        store_snapshot_t *snap = load(s, &rc);
        if (snap && a.json) {
            json_t *pa = json_array(), *aa = json_array();
            for (size_t i = 0; i < snap->n_policies; i++) {
                const store_policy_t *q = &snap->policies[i];
                json_array_append_new(pa, json_pack("{s:s, s:b, s:b, s:b, s:b, s:b}", "scope",
                                                    q->scope, "federation", q->federation, "public",
                                                    q->public_im, "outside", q->outside, "xmpp",
                                                    q->xmpp, "av", q->av));
            }
            for (size_t i = 0; i < snap->n_assignments; i++)
                json_array_append_new(aa, json_pack("{s:s, s:s}", "user", snap->assignments[i].user,
                                                    "policy", snap->assignments[i].policy));
            rc = print_json(json_pack("{s:o, s:o}", "policies", pa, "assignments", aa));
        } else if (snap) {
            printf("%-24s %-10s %-6s %-7s %-4s %s\n", "SCOPE", "FEDERATION", "PUBLIC", "OUTSIDE",
                   "XMPP", "AV");
            for (size_t i = 0; i < snap->n_policies; i++) {
                const store_policy_t *q = &snap->policies[i];
                printf("%-24s %-10s %-6s %-7s %-4s %s\n", q->scope, onoff(q->federation),
                       onoff(q->public_im), onoff(q->outside), onoff(q->xmpp), onoff(q->av));
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

/* The edge settings as text, in the order of `fedge edge show`. */
static void edge_diff(diff_t *df, const store_edge_t *a, const store_edge_t *b)
{
    char n1[32], n2[32];
    diff_add(df, "federation", onoff(a->federation), onoff(b->federation));
    diff_add(df, "discovery", onoff(a->discovery), onoff(b->discovery));
    diff_add(df, "outside-users", onoff(a->outside_users), onoff(b->outside_users));
    diff_add(df, "routing", store_routing_name(a->routing), store_routing_name(b->routing));
    diff_add(df, "default-route", a->default_route[0] ? a->default_route : "none",
             b->default_route[0] ? b->default_route : "none");
    snprintf(n1, sizeof(n1), "%u", a->discovered_rate);
    snprintf(n2, sizeof(n2), "%u", b->discovered_rate);
    diff_add(df, "discovered-rate", n1, n2);
    snprintf(n1, sizeof(n1), "%u", a->discovered_contacts);
    snprintf(n2, sizeof(n2), "%u", b->discovered_contacts);
    diff_add(df, "discovered-contacts", n1, n2);
    diff_add(df, "contacts-limit", onoff(a->contacts_limit), onoff(b->contacts_limit));
    snprintf(n1, sizeof(n1), "%u", a->report_period_min);
    snprintf(n2, sizeof(n2), "%u", b->report_period_min);
    diff_add(df, "report-period", n1, n2);
    diff_add(df, "mark-verifiable", onoff(a->mark_verifiable), onoff(b->mark_verifiable));
    diff_add(df, "block-subdomains", onoff(a->block_subdomains), onoff(b->block_subdomains));
}

static int cmd_edge(int argc, char **argv)
{
    if (argc < 3)
        return usage_err(usage_edge, "expected set or show");
    const char *sub = argv[2];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help"))
        return exit_of(help(usage_edge));
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
        return exit_of(rc);
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
        store_snapshot_t *before = load(s, &rc);
        if (before)
            rc = store_edge_set(s, kv, n, cli__actor(), &e);
        if (!before) {
            /* load() said why */
        } else if (rc == FEDGE_EINVAL) {
            /* The store names the key; the user typed the option. */
            fprintf(stderr, "fedge: --%s\n", e.msg);
            fputs(usage_edge, stderr);
            rc = 2;
        } else if (rc < 0) {
            rc = failed(rc, &e);
        } else {
            store_snapshot_t *after = load(s, &rc);
            diff_t df = {0};
            if (after)
                edge_diff(&df, &before->edge, &after->edge);
            if (!after)
                printf("set edge settings\n");
            else if (df.count)
                printf("changed edge settings: %s\n", df.buf);
            else
                printf("unchanged edge settings (already so)\n");
            store_snapshot_unref(after);
            rc = 0;
        }
        store_snapshot_unref(before);
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
        return exit_of(rc);
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    fedge_err_t e;
    const char *clear = opt(&a, "--clear");
    if (clear) {
        store_snapshot_t *before = load(s, &rc);
        char dom[STORE_FQDN_MAX + 1];
        lower_copy(dom, sizeof(dom), clear);
        const store_watch_t *w = before ? store_snapshot_watched(before, str_of(dom)) : NULL;
        char was[160] = "";
        if (w)
            snprintf(was, sizeof(was), " (on it since %s, %u users)", w->added_at, w->users);
        int r = before ? store_watchlist_clear(s, clear, cli__actor(), &e) : 0;
        if (before && r < 0)
            rc = failed(r, &e);
        else if (before)
            printf("cleared %s from the watch list%s\n", dom, was);
        store_snapshot_unref(before);
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
