/* cli_pool.c — `fedge pool status|forget`: the members of an edge pool as
 * they record themselves in the shared store (docs/pools.md), which ones
 * went quiet, and whether each one's certificate names the pool. */
#include "cli/cli_pool.h"
#include "cli/cli_internal.h"

#include "config/config.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: fedge pool status [--json] (-c FILE | --store STORE)\n"
    "       fedge pool forget FQDN (-c FILE | --store STORE)\n"
    "  status: every member recorded in the store, when it was last seen (stale after\n"
    "  10 s), its addresses, version, open connections, requests per second, and\n"
    "  whether its certificate names the pool. Exit 0 when every member is live and\n"
    "  named right, 1 when one is not or the store cannot be read, 2 bad usage.\n"
    "  forget: removes a member taken out of the pool for good (a running member\n"
    "  records itself again within seconds).\n";

static int usage_err(const char *what, const char *arg)
{
    fprintf(stderr, "fedge: pool: %s%s%s\n%s", what, arg ? " " : "", arg ? arg : "", usage);
    return 2;
}

typedef struct {
    const char *pool; /* the configuration's pool_fqdn, or NULL */
    time_t now;
    json_t *json;
    size_t n, stale, bad_cert, other_pool;
} status_t;

static void fmt_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int status_cb(const store_member_t *m, void *ctx)
{
    status_t *st = ctx;
    const char *state = store_member_state(m, st->pool, (int64_t)st->now);
    long long ago = (long long)(st->now - m->seen_s);
    st->n++;
    st->stale += !strcmp(state, "stale");
    st->other_pool += !strcmp(state, "other-pool");
    st->bad_cert += !m->cert_ok;
    char started[32], seen[32];
    fmt_time(m->started_s, started, sizeof(started));
    fmt_time(m->seen_s, seen, sizeof(seen));
    if (st->json) {
        json_array_append_new(
            st->json, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:s}",
                                "fqdn", m->fqdn, "pool", m->pool, "addresses", m->addresses,
                                "internal", m->internal, "version", m->version, "started", started,
                                "last_seen", seen, "seen_seconds_ago", (json_int_t)ago,
                                "connections", (json_int_t)m->connections, "requests_per_second",
                                (json_int_t)m->rps, "certificate_names", m->cert_names,
                                "certificate_names_pool", m->cert_ok, "state", state));
        return 0;
    }
    printf("%-28s %-10s %-24s %-7s %-20s %6llds %6llu %6llu  %-3s  %s\n", m->fqdn, state,
           m->addresses, m->version, started, ago, (unsigned long long)m->connections,
           (unsigned long long)m->rps, m->cert_ok ? "yes" : "NO", m->cert_names);
    return 0;
}

/* Opens the store named by --store, or by [edge] store of -c FILE (whose
 * pool_fqdn is copied into pool, size n). Returns 0 or an exit code. */
static int open_store(const char *cfile, const char *loc, store_t **s, char *pool, size_t n)
{
    fedge_err_t e;
    pool[0] = 0;
    if (!cfile && !loc)
        return usage_err("no store: expected", "-c FILE or --store STORE");
    if (cfile) {
        config_t *cf = NULL;
        if (config_load(cfile, &cf, &e) < 0) {
            fprintf(stderr, "fedge: %s\n", e.msg);
            return 2;
        }
        snprintf(pool, n, "%s", cf->edge.pool_fqdn ? cf->edge.pool_fqdn : "");
        int r = loc ? 0 : store_open(cf->edge.store, s, &e);
        config_free(cf);
        if (r < 0) {
            fprintf(stderr, "fedge: %s\n", e.msg);
            return 1;
        }
        if (!loc)
            return 0;
    }
    if (store_open(loc, s, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    return 0;
}

int cli__pool(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[2], "help") || !strcmp(argv[2], "--help")) {
        if (argc >= 3) {
            fputs(usage, stdout);
            return 0;
        }
        return usage_err("expected a subcommand:", "status or forget");
    }
    bool status = !strcmp(argv[2], "status"), forget = !strcmp(argv[2], "forget");
    if (!status && !forget)
        return usage_err("unknown subcommand", argv[2]);
    const char *cfile = NULL, *loc = NULL, *fqdn = NULL;
    bool json = false;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config") || !strcmp(argv[i], "--store")) {
            if (i + 1 >= argc)
                return usage_err(argv[i], "needs a value");
            const char **dst = strcmp(argv[i], "--store") ? &cfile : &loc;
            *dst = argv[i + 1];
            i++;
        } else if (status && !strcmp(argv[i], "--json")) {
            json = true;
        } else if (forget && !fqdn && argv[i][0] != '-') {
            fqdn = argv[i];
        } else {
            return usage_err("unexpected argument", argv[i]);
        }
    }
    if (forget && !fqdn)
        return usage_err("forget: expected", "the member's FQDN");
    store_t *s = NULL;
    char pool[STORE_FQDN_MAX + 1];
    int code = open_store(cfile, loc, &s, pool, sizeof(pool));
    if (code)
        return code;
    fedge_err_t e;
    if (forget) {
        code = 0;
        if (store_member_forget(s, fqdn, cli__actor(), &e) < 0) {
            fprintf(stderr, "fedge: %s\n", e.msg);
            code = 1;
        } else {
            printf("forgot pool member %s\n", fqdn);
        }
        store_close(s);
        return code;
    }
    status_t st = {pool[0] ? pool : NULL, time(NULL), json ? json_array() : NULL, 0, 0, 0, 0};
    if (!json)
        printf("%-28s %-10s %-24s %-7s %-20s %7s %6s %6s  %-3s  %s\n", "MEMBER", "STATE",
               "ADDRESSES", "VERSION", "STARTED", "SEEN", "CONNS", "REQ/S", "CRT",
               "CERTIFICATE NAMES");
    int r = store_member_list(s, status_cb, &st, &e);
    store_close(s);
    if (r < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        json_decref(st.json);
        return 1;
    }
    if (json) {
        json_t *o =
            json_pack("{s:s?, s:o, s:I, s:I, s:I}", "pool", st.pool, "members", st.json, "stale",
                      (json_int_t)st.stale, "certificate_problems", (json_int_t)st.bad_cert,
                      "stale_after_seconds", (json_int_t)STORE_MEMBER_STALE_S);
        char *txt = json_dumps(o, JSON_INDENT(2));
        puts(txt);
        free(txt);
        json_decref(o);
    } else if (!st.n) {
        puts("(no member recorded: members with [edge] pool_fqdn record themselves while "
             "they run)");
    } else {
        printf("%zu member%s, %zu stale, %zu whose certificate does not name the pool%s\n", st.n,
               st.n == 1 ? "" : "s", st.stale, st.bad_cert,
               st.other_pool ? ", some of another pool" : "");
    }
    return st.n && !st.stale && !st.bad_cert && !st.other_pool ? 0 : 1;
}
