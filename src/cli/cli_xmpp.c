/* cli_xmpp.c — `fedge xmpp allow|block|remove|list`: the XMPP partner list
 * of the store (src/store/xmpp.c), audited as "cli:<login>". */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "config/config.h"
#include "store/store.h"

static const char usage[] =
    "usage: fedge xmpp allow DOMAIN [--tls required|optional] [--sasl on|off]\n"
    "                        [--dialback on|off] [--proxy-fqdn HOST[:PORT]]\n"
    "       fedge xmpp block DOMAIN\n"
    "       fedge xmpp remove DOMAIN\n"
    "       fedge xmpp list [--json]\n"
    "  every command takes -c FILE (the configuration naming [edge] store) or --store PATH\n"
    "  defaults for allow: --tls required --sasl on --dialback on, the partner's server\n"
    "  found by _xmpp-server._tcp SRV (docs/xmpp.md; the gateway needs an [xmpp] section)\n";

static const char examples[] =
    "examples:\n"
    "  fedge xmpp allow jabber.example -c /etc/fedge/fedge.ini\n"
    "  fedge xmpp allow im.partner.test --sasl off --proxy-fqdn xmpp.partner.test:5269 -c ...\n"
    "  fedge xmpp block spam.example -c /etc/fedge/fedge.ini\n"
    "  fedge xmpp list --json -c /etc/fedge/fedge.ini\n";

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fedge: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(usage, stderr);
    return 2;
}

typedef struct {
    const char *domain, *config, *store, *tls, *sasl, *dialback, *proxy;
    bool json;
} xargs_t;

static int parse(int argc, char **argv, bool allow, xargs_t *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 3; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = NULL;
        if (!strcmp(s, "-c") || !strcmp(s, "--config"))
            slot = &a->config;
        else if (!strcmp(s, "--store"))
            slot = &a->store;
        else if (allow && !strcmp(s, "--tls"))
            slot = &a->tls;
        else if (allow && !strcmp(s, "--sasl"))
            slot = &a->sasl;
        else if (allow && !strcmp(s, "--dialback"))
            slot = &a->dialback;
        else if (allow && !strcmp(s, "--proxy-fqdn"))
            slot = &a->proxy;
        else if (!strcmp(s, "--json")) {
            a->json = true;
            continue;
        } else if (s[0] == '-' && s[1])
            return usage_err("unknown option '%s'", s);
        if (slot) {
            if (i + 1 >= argc)
                return usage_err("%s needs a value", s);
            if (*slot)
                return usage_err("option %s given twice", s);
            *slot = argv[++i];
            continue;
        }
        if (a->domain)
            return usage_err("unexpected argument '%s'", s);
        a->domain = s;
    }
    return 0;
}

static int open_store(const xargs_t *a, store_t **s)
{
    fedge_err_t e;
    const char *path = a->store;
    config_t *cfg = NULL;
    if (!path) {
        if (!a->config) {
            fprintf(stderr, "fedge: no store: expected -c FILE (the configuration naming [edge] "
                            "store) or --store PATH\n");
            return 2;
        }
        if (config_load(a->config, &cfg, &e) < 0) {
            fprintf(stderr, "fedge: %s\n", e.msg);
            return 2;
        }
        path = cfg->edge.store;
    }
    int r = store_open(path, s, &e);
    config_free(cfg);
    if (r < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    return 0;
}

static int done(int r, const fedge_err_t *e, const char *ok)
{
    if (r == 0) {
        puts(ok);
        return 0;
    }
    fprintf(stderr, "fedge: %s\n", e->msg);
    return r == FEDGE_EINVAL ? 2 : 1;
}

static int list(store_t *s, bool json)
{
    store_xmpp_list_t *l = NULL;
    fedge_err_t e;
    if (store_xmpp_load(s, &l, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l->n; i++) {
            const store_xmpp_partner_t *p = &l->partners[i];
            if (p->blocked)
                json_array_append_new(
                    arr, json_pack("{s:s, s:s}", "domain", p->domain, "state", "blocked"));
            else
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:b, s:s?}", "domain",
                                                     p->domain, "state", "allowed", "tls",
                                                     p->tls_required ? "required" : "optional",
                                                     "sasl", p->sasl, "dialback", p->dialback,
                                                     "proxy_fqdn", p->proxy));
        }
        json_t *root = json_pack("{s:o}", "xmpp_partners", arr);
        char *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (out)
            puts(out);
        free(out);
    } else {
        printf("%-8s %-40s %-9s %-5s %-9s %s\n", "STATE", "DOMAIN", "TLS", "SASL", "DIALBACK",
               "SERVER");
        for (size_t i = 0; i < l->n; i++) {
            const store_xmpp_partner_t *p = &l->partners[i];
            if (p->blocked)
                printf("%-8s %-40s %-9s %-5s %-9s %s\n", "blocked", p->domain, "-", "-", "-", "-");
            else
                printf("%-8s %-40s %-9s %-5s %-9s %s\n", "allowed", p->domain,
                       p->tls_required ? "required" : "optional", p->sasl ? "on" : "off",
                       p->dialback ? "on" : "off", p->proxy ? p->proxy : "(SRV)");
        }
    }
    store_xmpp_list_free(l);
    return 0;
}

static int onoff(const char *opt, const char *v, bool def, bool *out, fedge_err_t *e)
{
    if (!v) {
        *out = def;
        return 0;
    }
    return store_check_bool(opt, v, out, e);
}

int cli__xmpp(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            fputs(examples, stdout);
            return 0;
        }
    const char *sub = argc > 2 ? argv[2] : NULL;
    if (!sub)
        return usage_err("expected allow, block, remove or list");
    bool is_allow = !strcmp(sub, "allow"), is_list = !strcmp(sub, "list");
    if (!is_allow && !is_list && strcmp(sub, "block") && strcmp(sub, "remove"))
        return usage_err("unknown xmpp command '%s'", sub);
    xargs_t a;
    int rc = parse(argc, argv, is_allow, &a);
    if (rc)
        return rc;
    if (!is_list && !a.domain)
        return usage_err("fedge xmpp %s needs a DOMAIN", sub);
    if (is_list && a.domain)
        return usage_err("unexpected argument '%s'", a.domain);
    fedge_err_t e;
    store_xmpp_partner_t p = {.domain = a.domain, .proxy = a.proxy};
    if (is_allow) {
        if (a.tls && strcmp(a.tls, "required") && strcmp(a.tls, "optional"))
            return usage_err("--tls '%s': expected required or optional", a.tls);
        p.tls_required = !a.tls || !strcmp(a.tls, "required");
        if (onoff("--sasl", a.sasl, true, &p.sasl, &e) < 0 ||
            onoff("--dialback", a.dialback, true, &p.dialback, &e) < 0)
            return usage_err("%s", e.msg);
    }
    store_t *s;
    if ((rc = open_store(&a, &s)))
        return rc;
    if (is_allow)
        rc = done(store_xmpp_allow(s, &p, cli__actor(), &e), &e, "allowed");
    else if (!strcmp(sub, "block"))
        rc = done(store_xmpp_block(s, a.domain, cli__actor(), &e), &e, "blocked");
    else if (!strcmp(sub, "remove"))
        rc = done(store_xmpp_remove(s, a.domain, cli__actor(), &e), &e, "removed");
    else
        rc = list(s, a.json);
    store_close(s);
    return rc;
}
