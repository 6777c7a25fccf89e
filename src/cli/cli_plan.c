/* cli_plan.c — `fedge plan`, `fedge check` and `fedge probe DOMAIN`: the
 * planning guide and the live diagnostics of src/plan on the command line,
 * as text or JSON. */
#include "cli/cli_plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "plan/plan.h"
#include "store/store.h"

static const char plan_usage[] =
    "usage: fedge plan -c FILE [--json] [--hlb ADDRESS] [--csr BASE [--key KEY]]\n"
    "       fedge check -c FILE [--json] [--timeout MS] [--hlb ADDRESS]\n"
    "       fedge probe -c FILE DOMAIN [--json] [--timeout MS]\n"
    "       fedge probe -c FILE --xmpp DOMAIN [--json] [--timeout MS]\n"
    "\n"
    "plan   what to publish in DNS (zone-file form), the certificate to obtain, the\n"
    "       firewall table and what each configured partner must publish or present.\n"
    "check  verifies every planned item live: SRV and A/AAAA records through [dns]\n"
    "       servers, the external certificate (key, chain, SANs, EKUs, expiry) and the\n"
    "       listeners (a TLS handshake presenting our own certificate).\n"
    "probe  diagnoses federation with DOMAIN step by step: SRV, addresses, TCP, TLS\n"
    "       (presenting our certificate), SIP OPTIONS, and our policy for it.\n"
    "       With --xmpp: _xmpp-server._tcp SRV (else DOMAIN:5269), TCP, XMPP stream,\n"
    "       STARTTLS, TLS, then SASL EXTERNAL (dialback offered is reported).\n"
    "--timeout is per network step (default 3000 ms).\n"
    "--hlb ADDRESS (a pool, [edge] pool_fqdn): the pool FQDN names a hardware load\n"
    "       balancer's virtual address instead of one record per member.\n"
    "--csr BASE (plan): also writes BASE.cnf, an OpenSSL request configuration for\n"
    "       exactly the certificate's names in the plan (serverAuth+clientAuth); with\n"
    "       --key KEY (an unencrypted PEM private key) also BASE.csr, the request.\n"
    "\n"
    "examples:\n"
    "  fedge plan -c /etc/fedge/fedge.ini\n"
    "  fedge plan -c /etc/fedge/fedge.ini --csr /etc/fedge/tls/edge --key /etc/fedge/tls/edge.key\n"
    "  fedge check -c /etc/fedge/fedge.ini --json\n"
    "  fedge probe -c /etc/fedge/fedge.ini fabrikam.test\n"
    "  fedge probe -c /etc/fedge/fedge.ini --xmpp fabrikam.test\n"
    "\n"
    "Exit status: 0 nothing failed, 1 something failed (check, probe), 2 usage or\n"
    "configuration error.\n";

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
}

/* The verdict as JSON. */
static json_t *verdict_json(const plan_report_t *r, const char *const *steps, size_t n,
                            const char *line)
{
    const plan_item_t *v = plan_verdict(r, steps, n);
    json_t *o = json_object();
    json_object_set_new(o, "result", json_string(v ? "fail" : "pass"));
    json_object_set_new(o, "step", v ? json_string(v->step) : json_null());
    json_object_set_new(o, "id", json_integer(v ? v->id : 0));
    json_object_set_new(o, "text", v ? json_string(v->text) : json_null());
    json_object_set_new(o, "fix", v && v->fix ? json_string(v->fix) : json_null());
    json_object_set_new(o, "line", json_string(line));
    return o;
}

typedef struct {
    store_member_t *m;
    size_t n;
} members_t;

static int member_cb(const store_member_t *m, void *ctx)
{
    members_t *ms = ctx;
    if (ms->n >= 1000) /* bounded: a pool has a handful of members */
        return 0;
    ms->m = fedge_realloc(ms->m, (ms->n + 1) * sizeof *ms->m);
    ms->m[ms->n++] = *m;
    return 0;
}

/* Writes text to path (replacing it); 0, or prints why and returns 1. */
static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "fedge plan: cannot write %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    return 0;
}

/* --csr BASE [--key KEY]: BASE.cnf and, with a key, BASE.csr; says so on
 * stderr (stdout stays the plan). 0, 1 (cannot write) or 2 (bad key). */
static int write_csr(const plan_t *p, const char *base, const char *key)
{
    char path[4096];
    char *cnf = plan_csr_config(p);
    snprintf(path, sizeof path, "%s.cnf", base);
    int rc = write_text(path, cnf);
    free(cnf);
    if (rc)
        return rc;
    fprintf(stderr, "fedge plan: wrote %s (openssl req -new -config %s -key KEY)\n", path, path);
    if (!key)
        return 0;
    char *pem;
    fedge_err_t e = {{0}};
    if (plan_csr(p, key, &pem, &e) < 0) {
        fprintf(stderr, "fedge plan: %s\n", e.msg);
        return 2;
    }
    snprintf(path, sizeof path, "%s.csr", base);
    rc = write_text(path, pem);
    free(pem);
    if (!rc)
        fprintf(stderr, "fedge plan: wrote %s (give it to your CA)\n", path);
    return rc;
}

int cli__plan(int argc, char **argv)
{
    const char *cmd = argv[1], *file = NULL, *domain = NULL, *hlb = NULL, *csr = NULL, *key = NULL;
    bool json = false, xmpp = false;
    unsigned timeout = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(plan_usage, stdout);
            return 0;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(a, "--timeout") && i + 1 < argc && strcmp(cmd, "plan")) {
            char *end;
            unsigned long t = strtoul(argv[++i], &end, 10);
            if (!*argv[i] || *end || t == 0 || t > 60000) {
                fprintf(stderr, "fedge %s: bad --timeout '%s' (1..60000 ms)\n", cmd, argv[i]);
                return 2;
            }
            timeout = (unsigned)t;
        } else if (!strcmp(a, "--hlb") && i + 1 < argc && strcmp(cmd, "probe")) {
            hlb = argv[++i];
            unsigned char buf[16];
            if (inet_pton(AF_INET, hlb, buf) != 1 && inet_pton(AF_INET6, hlb, buf) != 1) {
                fprintf(stderr,
                        "fedge %s: bad --hlb '%s'; expected the load balancer's IP address "
                        "like 192.0.2.10 or 2001:db8::10\n",
                        cmd, hlb);
                return 2;
            }
        } else if (!strcmp(a, "--xmpp") && i + 1 < argc && !strcmp(cmd, "probe") && !domain) {
            xmpp = true;
            domain = argv[++i];
        } else if (!strcmp(a, "--csr") && i + 1 < argc && !strcmp(cmd, "plan")) {
            csr = argv[++i];
        } else if (!strcmp(a, "--key") && i + 1 < argc && !strcmp(cmd, "plan")) {
            key = argv[++i];
        } else if (a[0] != '-' && !strcmp(cmd, "probe") && !domain) {
            domain = a;
        } else {
            fprintf(stderr, "fedge %s: unexpected argument '%s'\n%s", cmd, a, plan_usage);
            return 2;
        }
    }
    if (key && !csr) {
        fprintf(stderr, "fedge plan: --key goes with --csr BASE\n%s", plan_usage);
        return 2;
    }
    if (!file || (!strcmp(cmd, "probe") && !domain)) {
        fprintf(stderr, "fedge %s: %s\n%s", cmd,
                !file ? "-c FILE is required" : "DOMAIN is required", plan_usage);
        return 2;
    }
    fedge_err_t e = {{0}};
    config_t *cfg = NULL;
    if (config_load(file, &cfg, &e) < 0) {
        fprintf(stderr, "fedge %s: %s\n", cmd, e.msg);
        return 2;
    }
    /* The partners come from the store; without it the plan still holds
     * everything that depends on the configuration alone. */
    store_t *st = NULL;
    store_snapshot_t *snap = NULL;
    members_t ms = {NULL, 0};
    if (hlb && !cfg->edge.pool_fqdn) {
        fprintf(stderr, "fedge %s: --hlb needs a pool: [edge] pool_fqdn in %s\n", cmd, file);
        config_free(cfg);
        return 2;
    }
    if (store_open(cfg->edge.store, &st, &e) < 0 || store_snapshot_load(st, &snap, &e) < 0) {
        fprintf(stderr, "fedge %s: warning: %s; going on without the store's partners%s\n", cmd,
                e.msg, cfg->edge.pool_fqdn ? " and pool members" : "");
        snap = store_snapshot_empty();
    } else if (cfg->edge.pool_fqdn && store_member_list(st, member_cb, &ms, &e) < 0) {
        fprintf(stderr, "fedge %s: warning: %s; going on without the pool's members\n", cmd, e.msg);
    }
    store_close(st);
    plan_pool_t pool = {ms.m, ms.n, hlb};

    int rc = 0;
    if (!strcmp(cmd, "plan")) {
        plan_t *p = plan_build_pool(cfg, snap, &pool);
        if (csr && (rc = write_csr(p, csr, key)) != 0) {
            plan_free(p);
            goto out;
        }
        if (json) {
            json_t *o = plan_json(p);
            print_json(o);
            json_decref(o);
        } else {
            char *t = plan_text(p);
            fputs(t, stdout);
            free(t);
        }
        plan_free(p);
        goto out;
    }

    plan_report_t r = {0};
    plan_live_opts_t lo = {.timeout_ms = timeout, .pool = &pool};
    bool check = !strcmp(cmd, "check");
    int x = check  ? plan_check(cfg, snap, &lo, &r, &e)
            : xmpp ? plan_probe_xmpp(cfg, domain, &lo, &r, &e)
                   : plan_probe(cfg, snap, domain, &lo, &r, &e);
    if (x < 0) {
        fprintf(stderr, "fedge %s: %s\n", cmd, e.msg);
        rc = x == FEDGE_EINVAL ? 2 : 1;
        plan_report_clear(&r);
        goto out;
    }
    const char *const *steps = check  ? plan_check_steps
                               : xmpp ? plan_probe_xmpp_steps
                                      : plan_probe_steps;
    size_t n_steps = check  ? plan_check_n_steps
                     : xmpp ? plan_probe_xmpp_n_steps
                            : plan_probe_n_steps;
    char ok[512];
    if (check)
        snprintf(ok, sizeof ok, "every planned item of %s checks out", cfg->edge.fqdn);
    else
        snprintf(ok, sizeof ok, "%sfederation with %s works", xmpp ? "XMPP " : "", domain);
    char *line = plan_verdict_line(&r, steps, n_steps, ok);
    if (json) {
        json_t *o = plan_report_json(&r);
        json_object_set_new(o, "command", json_string(cmd));
        if (domain)
            json_object_set_new(o, "domain", json_string(domain));
        if (xmpp)
            json_object_set_new(o, "protocol", json_string("xmpp"));
        json_object_set_new(o, "verdict", verdict_json(&r, steps, n_steps, line));
        print_json(o);
        json_decref(o);
    } else {
        char *t = plan_report_text(&r);
        fputs(t, stdout);
        free(t);
        printf("verdict: %s\n", line);
    }
    rc = plan_verdict(&r, steps, n_steps) ? 1 : 0;
    free(line);
    plan_report_clear(&r);
out:
    free(ms.m);
    store_snapshot_unref(snap);
    config_free(cfg);
    return rc;
}
