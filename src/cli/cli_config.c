/* cli_config.c — `fedge check-config -c FILE`: load and validate a
 * configuration file and the external certificate it names (key, names,
 * validity: plan's checks, the edge's own identity rules), print
 * "FILE: ok" and a summary, or the errors; then the store's settings in
 * force (routing, federation, discovery), read without creating it. */
#include "cli/cli.h"

#include "config/config.h"
#include "plan/plan.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char check_usage[] =
    "usage: fedge check-config -c FILE\n"
    "\n"
    "Loads FILE as `fedge serve` would and prints a summary; a problem is printed\n"
    "as FILE:LINE: what is wrong; expected what would be right. The [external]\n"
    "certificate is checked too: a private key that is not its key, a certificate\n"
    "that does not name [edge] fqdn (a pool member: pool_fqdn), that has expired or\n"
    "is not valid yet are errors; fewer than 30 days left, a SIP domain not named, a\n"
    "missing EKU or a chain that does not verify are warnings.\n"
    "\n"
    "example:\n"
    "  fedge check-config -c /etc/fedge/fedge.ini\n"
    "\n"
    "exit status: 0 valid (warnings may be printed), 2 usage error, a file that is\n"
    "not valid or a certificate refused.\n"
    "\n"
    "After the summary, the settings in force from the store ([edge] store, never\n"
    "created here): routing, federation and discovery; a store routing an\n"
    "administrator set (fedge edge set) is what the running edge uses.\n";

static void print_list(FILE *out, const config_hostport_list_t *l)
{
    char buf[300];
    for (size_t i = 0; i < l->count; i++)
        fprintf(out, "%s%s", i ? ", " : "", config_hostport_format(&l->items[i], buf, sizeof(buf)));
}

static void print_duration(FILE *out, uint32_t ms)
{
    if (ms % 3600000 == 0)
        fprintf(out, "%uh", (unsigned)(ms / 3600000));
    else if (ms % 60000 == 0)
        fprintf(out, "%um", (unsigned)(ms / 60000));
    else if (ms % 1000 == 0)
        fprintf(out, "%us", (unsigned)(ms / 1000));
    else
        fprintf(out, "%ums", (unsigned)ms);
}

static void print_size(FILE *out, uint32_t n)
{
    if (n % (1024 * 1024) == 0)
        fprintf(out, "%uM", (unsigned)(n >> 20));
    else if (n % 1024 == 0)
        fprintf(out, "%uk", (unsigned)(n >> 10));
    else
        fprintf(out, "%u", (unsigned)n);
}

static void print_summary(FILE *out, const config_t *c)
{
    char buf[300];
    fprintf(out, "  edge        %s", c->edge.fqdn);
    if (c->edge.pool_fqdn)
        fprintf(out, ", member of the pool %s", c->edge.pool_fqdn);
    fputs("; SIP domains ", out);
    for (size_t i = 0; i < c->edge.sip_domain_count; i++)
        fprintf(out, "%s%s", i ? ", " : "", c->edge.sip_domains[i]);
    char where[512]; /* a PostgreSQL URI without its password */
    store_location_shown(c->edge.store, where, sizeof(where));
    fprintf(out, "; store %s\n", where);

    fputs("  external    listen ", out);
    print_list(out, &c->external.listen);
    fprintf(out, "; TLS >= %s, client certificate %s; partners trusted from %s%s%s\n",
            config_tls_version_name(c->external.tls_min_version),
            c->external.require_client_certificate ? "required" : "optional",
            c->external.ca_file ? c->external.ca_file : "",
            c->external.ca_file && c->external.ca_path ? " and " : "",
            c->external.ca_path ? c->external.ca_path
                                : (c->external.ca_file ? "" : "the system store"));
    fprintf(out, "              certificate %s\n", c->external.certificate);
    if (c->external.crl_file || c->external.crl_path)
        fprintf(out, "              revocation lists %s%s%s (every partner CA needs one)\n",
                c->external.crl_file ? c->external.crl_file : "",
                c->external.crl_file && c->external.crl_path ? " and " : "",
                c->external.crl_path ? c->external.crl_path : "");

    fputs("  internal    listen ", out);
    print_list(out, &c->internal.listen);
    fprintf(out, " (%s); next hop ", config_transport_name(c->internal.transport));
    print_list(out, &c->internal.next_hop);
    fputc('\n', out);

    fprintf(out, "  federation  routing %s", config_routing_name(c->federation.routing));
    if (c->federation.default_route.host)
        fprintf(out, "; default route %s",
                config_hostport_format(&c->federation.default_route, buf, sizeof(buf)));
    fputc('\n', out);

    fputs("  limits      message ", out);
    print_size(out, c->limits.max_message_size);
    fprintf(out, ", connections %u (%u per IP), handshake ", (unsigned)c->limits.max_connections,
            (unsigned)c->limits.max_connections_per_ip);
    print_duration(out, c->limits.handshake_timeout_ms);
    fputs(", idle ", out);
    print_duration(out, c->limits.idle_timeout_ms);
    fputs(", queue ", out);
    print_size(out, c->limits.max_queued_bytes);
    fputc('\n', out);

    fprintf(out, "  log         %s, %s\n", obs_level_name(c->log.level),
            obs_format_name(c->log.format));

    fputs("  dns         ", out);
    if (c->dns.servers.count)
        print_list(out, &c->dns.servers);
    else
        fputs("system resolver", out);
    fputs(", timeout ", out);
    print_duration(out, c->dns.timeout_ms);
    fprintf(out, ", %u tries\n", (unsigned)c->dns.tries);

    fprintf(out, "  admin       %s %s\n", c->admin.certificate ? "https" : "http",
            config_hostport_format(&c->admin.listen, buf, sizeof(buf)));

    if (c->remote.listen.count) {
        fputs("  remote      listen ", out);
        print_list(out, &c->remote.listen);
        fputs(" (TLS, no client certificate); registrar ", out);
        print_list(out, &c->remote.registrar);
        fprintf(out,
                "\n              %u connections and %u REGISTER/min per IP; lock-out after %u "
                "failures per user or %u per IP in ",
                (unsigned)c->remote.max_connections_per_ip, (unsigned)c->remote.register_rate,
                (unsigned)c->remote.lockout_user_failures,
                (unsigned)c->remote.lockout_addr_failures);
        print_duration(out, c->remote.lockout_window_ms);
        fputs(" for ", out);
        print_duration(out, c->remote.lockout_period_ms);
        fputc('\n', out);
    }

    fputs("  media       ", out);
    if (c->media.rtpengine.count) {
        fputs("rtpengine ", out);
        print_list(out, &c->media.rtpengine);
        fprintf(out, " (interfaces %s, %s), timeout ", c->media.internal_interface,
                c->media.external_interface);
        print_duration(out, c->media.timeout_ms);
        fprintf(out, ", on relay failure %s, at most %u calls, orphan grace ",
                config_media_failure_name(c->media.on_relay_failure), (unsigned)c->media.max_calls);
        print_duration(out, c->media.orphan_grace_ms);
        fprintf(out, ", media to internal %s, to external %s\n",
                config_media_transport_name(c->media.internal_transport),
                config_media_transport_name(c->media.external_transport));
    } else {
        fputs("not relayed (no [media] section)\n", out);
    }
}

typedef struct {
    bool admin_set; /* routing or default-route last set by an administrator */
} routing_scan_t;

static int routing_cb(const store_audit_t *a, void *ctx)
{
    routing_scan_t *sc = ctx;
    if (!strcmp(a->action, "edge.set") &&
        (!strcmp(a->object, "routing") || !strcmp(a->object, "default-route")))
        sc->admin_set = strcmp(a->actor, STORE_ACTOR_INI) != 0;
    return 0;
}

/* The store's edge settings (docs/admin.md) over the file's: a running
 * edge routes as the store says once an administrator set it there (until
 * then it seeds the store from [federation] at start, src/edge/feed.c
 * seed_routing). Never creates the store: store_open would. Problems are
 * one line each; the file stays valid. */
static void print_store(FILE *out, const config_t *c)
{
    char where[512];
    store_location_shown(c->edge.store, where, sizeof(where));
    struct stat sb;
    if (!store_location_is_uri(c->edge.store) && stat(c->edge.store, &sb) != 0) {
        fprintf(out,
                "  in force    store %s does not exist yet: the file's settings are seeded at "
                "first start\n",
                where);
        return;
    }
    store_t *st = NULL;
    store_snapshot_t *snap = NULL;
    fedge_err_t e = {{0}};
    routing_scan_t sc = {false};
    if (store_open(c->edge.store, &st, &e) < 0 || store_snapshot_load(st, &snap, &e) < 0 ||
        store_audit_list(st, 1000000, routing_cb, &sc, &e) < 0) {
        fprintf(out, "  in force    cannot read the store's settings: %s\n", e.msg);
        store_snapshot_unref(snap);
        store_close(st);
        return;
    }
    store_close(st);
    const store_edge_t *se = &snap->edge;
    char ini_dr[300] = "";
    if (c->federation.default_route.host)
        config_hostport_format(&c->federation.default_route, ini_dr, sizeof(ini_dr));
    bool ini_def = c->federation.routing == CONFIG_ROUTING_DEFAULT_ROUTE;
    bool st_def = se->routing == STORE_ROUTING_DEFAULT_ROUTE;
    bool differ = ini_def != st_def || (st_def && strcmp(ini_dr, se->default_route));
    /* Without an administrator's setting the edge writes the file's over
     * the store's at its next start: the file's are the ones in force. */
    bool store_wins = sc.admin_set || !differ;
    fputs("  in force    routing ", out);
    if (store_wins) {
        fputs(store_routing_name(se->routing), out);
        if (st_def)
            fprintf(out, "; default route %s", se->default_route[0] ? se->default_route : "(none)");
    } else {
        fputs(config_routing_name(c->federation.routing), out);
        if (ini_def)
            fprintf(out, "; default route %s", ini_dr[0] ? ini_dr : "(none)");
    }
    fprintf(out, "; federation %s, discovery %s (store %s)\n", se->federation ? "on" : "off",
            se->discovery ? "on" : "off", where);
    if (differ && sc.admin_set)
        fprintf(out,
                "              the store's routing %s%s differs from this file's: the running "
                "edge uses the store's (fedge edge show)\n",
                st_def ? "default-route " : "dns-srv", st_def ? se->default_route : "");
    else if (differ)
        fprintf(out,
                "              the store's routing %s%s, seeded from an earlier file, is "
                "replaced by this file's at the next start\n",
                st_def ? "default-route " : "dns-srv", st_def ? se->default_route : "");
    store_snapshot_unref(snap);
}

/* Findings about the external certificate that make the edge useless or
 * wrong, refused as configuration errors; the others are warnings. */
static bool refused(const plan_item_t *it)
{
    return it->status == PLAN_FAIL &&
           (it->id == PLAN_DIAG_CERT_UNREADABLE || it->id == PLAN_DIAG_CERT_KEY ||
            it->id == PLAN_DIAG_CERT_SAN_FQDN || it->id == PLAN_DIAG_CERT_EXPIRED);
}

/* Checks [external] certificate and private_key as `fedge check` does
 * (plan_check_cert: net's certificate-identity routine). Prints the
 * errors as FILE:LINE lines on stderr and returns their number; the
 * warnings go to *warn (a memstream) for printing after the summary. */
static int check_certificate(const config_t *c, const char *file, FILE *warn)
{
    plan_report_t r = {0};
    /* a pool member is reached by the pool's name: that is what partners
     * compare with the SRV target (docs/pools.md) */
    plan_check_cert(c->external.certificate, c->external.private_key, c->external.ca_file,
                    c->external.ca_path, c->edge.pool_fqdn ? c->edge.pool_fqdn : c->edge.fqdn,
                    (const char *const *)c->edge.sip_domains, c->edge.sip_domain_count, time(NULL),
                    &r);
    int line = config_key_line(c, "external", "certificate");
    int errors = 0;
    for (size_t i = 0; i < r.n; i++) {
        const plan_item_t *it = &r.items[i];
        if (it->status != PLAN_FAIL && it->status != PLAN_WARN)
            continue;
        if (refused(it)) {
            fprintf(stderr, "%s:%d: [external] certificate = \"%s\": %s: %s%s%s\n", file, line,
                    c->external.certificate, it->name, it->text, it->fix ? "; " : "",
                    it->fix ? it->fix : "");
            errors++;
        } else {
            fprintf(warn, "warning: [external] certificate: %s: %s%s%s\n", it->name, it->text,
                    it->fix ? "; " : "", it->fix ? it->fix : "");
        }
    }
    plan_report_clear(&r);
    return errors;
}

int cli_check_config(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(check_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "fedge check-config: unexpected argument '%s'\n%s", argv[i],
                    check_usage);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "fedge check-config: -c FILE is required\n%s", check_usage);
        return 2;
    }
    config_t *c;
    fedge_err_t err;
    if (config_load(file, &c, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    char *warnings = NULL;
    size_t wlen = 0;
    FILE *warn = open_memstream(&warnings, &wlen);
    if (!warn) {
        config_free(c);
        fprintf(stderr, "fedge check-config: out of memory\n");
        return 1;
    }
    int errors = check_certificate(c, file, warn);
    fclose(warn);
    if (errors) {
        fputs(warnings, stderr);
        free(warnings);
        config_free(c);
        return 2;
    }
    printf("%s: ok\n", file);
    print_summary(stdout, c);
    print_store(stdout, c);
    fputs(warnings, stdout);
    free(warnings);
    config_free(c);
    return 0;
}
