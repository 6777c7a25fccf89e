/* cli_remote.c — `fedge remote lockouts|unlock`: the lock-outs that the
 * edge applied to remote users and client addresses after repeated failed
 * sign-ins, listed (text or JSON) and ended by an administrator. */
#include "cli/cli_remote.h"
#include "cli/cli_internal.h"

#include "config/config.h"
#include "store/remote.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: fedge remote lockouts [--json] (-c FILE | --store PATH)\n"
    "       fedge remote unlock USER@DOMAIN|ADDRESS (-c FILE | --store PATH)\n"
    "\n"
    "Remote users locked out after repeated failed sign-ins ([remote] lockout_*),\n"
    "and client addresses locked out the same way; unlock ends one now.\n"
    "\n"
    "examples:\n"
    "  fedge remote lockouts -c /etc/fedge/fedge.ini\n"
    "  fedge remote unlock alice@contoso.com -c /etc/fedge/fedge.ini\n"
    "  fedge remote unlock 192.0.2.7 -c /etc/fedge/fedge.ini\n";

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "fedge remote: %s%s%s%s\n%s", what, arg ? " '" : "", arg ? arg : "",
            arg ? "'" : "", usage);
    return 2;
}

static int open_store(const char *config, const char *path, store_t **s)
{
    fedge_err_t e;
    config_t *cfg = NULL;
    if (!path) {
        if (config_load(config, &cfg, &e) < 0) {
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

typedef struct {
    json_t *arr; /* NULL: text */
    size_t n;
} list_t;

static int list_one(const store_lockout_t *l, void *ctx)
{
    list_t *x = ctx;
    x->n++;
    if (x->arr) {
        json_array_append_new(x->arr,
                              json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "kind",
                                        store_lock_kind_name(l->kind), "subject", l->subject,
                                        "locked_at", l->locked_at, "until", l->until, "failures",
                                        (json_int_t)l->failures, "reason", l->reason));
        return 0;
    }
    if (x->n == 1)
        printf("%-8s %-40s %-21s %-21s %-8s %s\n", "KIND", "USER/ADDRESS", "SINCE", "UNTIL",
               "FAILURES", "REASON");
    printf("%-8s %-40s %-21s %-21s %-8u %s\n", store_lock_kind_name(l->kind), l->subject,
           l->locked_at, l->until, (unsigned)l->failures, l->reason);
    return 0;
}

static int lockouts(store_t *s, bool json)
{
    fedge_err_t e;
    list_t x = {json ? json_array() : NULL, 0};
    int r = store_lockout_list(s, (int64_t)time(NULL), list_one, &x, &e);
    if (r < 0) {
        json_decref(x.arr);
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    if (json) {
        json_t *j = json_pack("{s:o}", "lockouts", x.arr);
        char *out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!out)
            return 1;
        puts(out);
        free(out);
    } else if (!x.n) {
        puts("no user or address is locked out");
    }
    return 0;
}

static int unlock(store_t *s, const char *subject)
{
    fedge_err_t e;
    int r = store_lockout_clear(s, subject, (int64_t)time(NULL), cli__actor(), &e);
    if (r == 0) {
        printf("unlocked %s\n", subject);
        return 0;
    }
    fprintf(stderr, "fedge: %s\n", e.msg);
    return r == FEDGE_EINVAL ? 2 : 1;
}

int cli__remote(int argc, char **argv)
{
    if (argc < 3)
        return bad_usage("expected lockouts or unlock", NULL);
    const char *sub = argv[2];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        fputs(usage, stdout);
        return 0;
    }
    bool is_list = !strcmp(sub, "lockouts"), is_unlock = !strcmp(sub, "unlock");
    if (!is_list && !is_unlock)
        return sub[0] == '-' ? bad_usage("expected lockouts or unlock", NULL)
                             : bad_usage("unknown remote command", sub);
    const char *config = NULL, *path = NULL, *subject = NULL;
    bool json = false;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "--store")) {
            if (i + 1 >= argc)
                return bad_usage("needs a value (a file name):", a);
            if ((!strcmp(a, "--store") ? path : config))
                return bad_usage("option given twice:", a);
            *(!strcmp(a, "--store") ? &path : &config) = argv[++i];
        } else if (!strcmp(a, "--json") && is_list) {
            json = true;
        } else if (a[0] == '-' && a[1] && !strchr(a, ':')) {
            /* An IPv6 address may start with ':' but never with '-'. */
            return bad_usage("unknown option", a);
        } else if (is_unlock && !subject) {
            subject = a;
        } else {
            return bad_usage("unexpected argument", a);
        }
    }
    if (is_unlock && !subject)
        return bad_usage("fedge remote unlock needs a USER@DOMAIN or an ADDRESS", NULL);
    if (!config && !path)
        return bad_usage("no store: expected -c FILE (the configuration naming [edge] store) or "
                         "--store PATH",
                         NULL);
    store_t *s;
    int rc = open_store(config, path, &s);
    if (rc)
        return rc;
    rc = is_list ? lockouts(s, json) : unlock(s, subject);
    store_close(s);
    return rc;
}
