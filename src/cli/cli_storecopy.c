/* cli_storecopy.c — `fedge store copy`: moves an edge's configuration from
 * one store to another (its SQLite file into the PostgreSQL of a pool,
 * docs/pools.md), counts verified. */
#include "cli/cli_storecopy.h"
#include "cli/cli_internal.h"

#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: fedge store copy --from STORE --to STORE [--force]\n"
    "  STORE is a SQLite file (like /var/lib/fedge/fedge.db) or a PostgreSQL URI\n"
    "  (like postgresql://fedge@db.contoso.com/fedge). Copies domains, providers,\n"
    "  policies, assignments, edge settings, the watch list, administrators, remote\n"
    "  lock-outs and the audit log, and verifies the counts. The target must be\n"
    "  empty unless --force (which replaces everything in it).\n";

static int usage_err(const char *what, const char *arg)
{
    fprintf(stderr, "fedge: %s%s%s\n%s", what, arg ? " " : "", arg ? arg : "", usage);
    return 2;
}

int cli__storecopy(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "copy") != 0) {
        if (argc >= 3 && (!strcmp(argv[2], "help") || !strcmp(argv[2], "--help"))) {
            fputs(usage, stdout);
            return 0;
        }
        return usage_err(argc < 3 ? "store: expected a subcommand:" : "store: unknown subcommand",
                         argc < 3 ? "copy" : argv[2]);
    }
    const char *from = NULL, *to = NULL;
    bool force = false;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) {
            force = true;
        } else if (!strcmp(argv[i], "--from") || !strcmp(argv[i], "--to")) {
            if (i + 1 >= argc)
                return usage_err(argv[i], "needs a value (a file or a postgresql:// URI)");
            *(argv[i][2] == 'f' ? &from : &to) = argv[i + 1];
            i++;
        } else {
            return usage_err("store copy: unexpected argument", argv[i]);
        }
    }
    if (!from || !to)
        return usage_err("store copy: expected both", "--from STORE and --to STORE");
    fedge_err_t e;
    if (store_check_location(from, &e) < 0 || store_check_location(to, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 2;
    }
    char fshown[512], tshown[512];
    store_location_shown(from, fshown, sizeof(fshown));
    store_location_shown(to, tshown, sizeof(tshown));
    if (!strcmp(fshown, tshown))
        return usage_err("store copy: --from and --to name the same store:", fshown);
    /* A missing source file would be created empty by store_open. */
    struct stat sb;
    if (!store_location_is_uri(from) && stat(from, &sb) < 0) {
        fprintf(stderr, "fedge: store copy: --from %s: %s\n", from, strerror(errno));
        return 1;
    }
    store_t *src = NULL, *dst = NULL;
    int code = 1;
    if (store_open(from, &src, &e) < 0 || store_open(to, &dst, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        goto out;
    }
    store_copy_count_t counts[STORE_COPY_TABLES];
    size_t n = STORE_COPY_TABLES;
    if (store_copy(src, dst, force, cli__actor(), counts, &n, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        goto out;
    }
    printf("copied %s to %s\n", fshown, tshown);
    for (size_t i = 0; i < n; i++)
        printf("  %-20s %8llu (source %llu)\n", counts[i].label, (unsigned long long)counts[i].to,
               (unsigned long long)counts[i].from);
    puts("counts verified");
    code = 0;
out:
    store_close(src);
    store_close(dst);
    return code;
}
