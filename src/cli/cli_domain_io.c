/* cli_domain_io.c — `fedge domain import|export`: allowed and blocked
 * domain lists as CSV (RFC 4180; the columns domain, access, proxy_fqdn,
 * comment, monitor, as the web panel's import and export), imported in
 * one all-or-nothing change (store_domain_import). */
#include "cli/cli_domain_io.h"
#include "cli/cli_internal.h"

#include "config/config.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
    "usage: fedge domain import FILE [--replace] (-c FILE | --store PATH)\n"
    "       fedge domain export [FILE] (-c FILE | --store PATH)\n"
    "\n"
    "CSV with a header line naming the columns: domain (required), access\n"
    "(allowed or blocked; allowed when empty), proxy_fqdn (the partner's edge\n"
    "for an allowed partner server), comment, monitor (yes or no). FILE - is\n"
    "stdin (import) or stdout (export, the default). An import is all or\n"
    "nothing: every row is checked first and the first bad one is named by its\n"
    "line. An entry equal to the store's is left as it is; one that differs is\n"
    "refused unless --replace. Names are stored lowercase.\n"
    "\n"
    "examples:\n"
    "  fedge domain export partners.csv -c /etc/fedge/fedge.ini\n"
    "  fedge domain import partners.csv -c /etc/fedge/fedge.ini\n"
    "  fedge domain import partners.csv --replace -c /etc/fedge/fedge.ini\n"
    "\n"
    "exit status: 0 done, 1 the import failed (a conflict or the store), 2 bad\n"
    "usage or a malformed file.\n";

#define FILE_MAX (64u << 20) /* bytes read from an import file */

static int usage_err(const char *msg, const char *arg)
{
    fprintf(stderr, "fedge: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fputs(usage, stderr);
    return 2;
}

/* ---- CSV (RFC 4180) ---- */

typedef struct {
    char **f; /* fields of one record, NUL-terminated, in place */
    size_t n, cap;
} rec_t;

/* Parses the record starting at *p (text ends at end; quotes unescaped in
 * place), advancing *p past its line end. *line counts physical lines.
 * Returns 0, 1 at the end of the text, or -1 with msg set. */
static int csv_record(char **p, char *end, rec_t *r, size_t *line, const char **msg)
{
    char *s = *p;
    r->n = 0;
    if (s >= end)
        return 1;
    for (;;) {
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 8;
            r->f = realloc(r->f, r->cap * sizeof(char *));
            if (!r->f)
                abort();
        }
        char *out = s;
        r->f[r->n++] = out;
        if (s < end && *s == '"') {
            s++;
            for (;;) {
                if (s >= end) {
                    *msg = "a quoted field is not closed";
                    return -1;
                }
                if (*s == '"' && s + 1 < end && s[1] == '"') {
                    *out++ = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    if (*s == '\n')
                        ++*line;
                    *out++ = *s++;
                }
            }
            if (s < end && *s != ',' && *s != '\n' && *s != '\r') {
                *msg = "text after a closing quote (a quote inside a field is written \"\")";
                return -1;
            }
        } else {
            while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
                if (*s == '"') {
                    *msg = "a quote inside an unquoted field (quote the whole field)";
                    return -1;
                }
                *out++ = *s++;
            }
        }
        /* Where the field ends decides the next step; its NUL may then
         * overwrite the separator. */
        char c = s < end ? *s : '\n';
        bool crlf = c == '\r' && s + 1 < end && s[1] == '\n';
        *out = '\0';
        if (c == ',') {
            s++;
            continue;
        }
        if (s < end)
            s += crlf ? 2 : 1;
        ++*line;
        *p = s;
        return 0;
    }
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "fedge: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = fedge_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= FILE_MAX) {
                fprintf(stderr, "fedge: %s: larger than %u MiB\n", path, FILE_MAX >> 20);
                free(buf);
                if (f != stdin)
                    fclose(f);
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (!buf)
                abort();
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "fedge: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- store ---- */

static int open_store(const char *config, const char *path, store_t **s)
{
    fedge_err_t e;
    if (path) {
        if (store_open(path, s, &e) < 0) {
            fprintf(stderr, "fedge: %s\n", e.msg);
            return 1;
        }
        return 0;
    }
    if (!config)
        return usage_err("no store: expected -c FILE (the configuration naming [edge] store) "
                         "or --store PATH",
                         NULL);
    config_t *cfg = NULL;
    if (config_load(config, &cfg, &e) < 0) {
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

/* ---- import ---- */

enum { COL_DOMAIN, COL_ACCESS, COL_FQDN, COL_COMMENT, COL_MONITOR, NCOL };
static const char *const col_names[NCOL] = {"domain", "access", "proxy_fqdn", "comment", "monitor"};

static int do_import(store_t *s, const char *path, bool replace)
{
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text)
        return 2;
    char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) /* a spreadsheet's byte order mark */
        p += 3;
    rec_t r = {0};
    size_t line = 1, start, nrows = 0, cap = 0;
    int col[NCOL], rc = 0;
    const char *msg = NULL;
    store_domain_in_t *rows = NULL;
    size_t *lines = NULL;
    for (int i = 0; i < NCOL; i++)
        col[i] = -1;
    /* The header names the columns, in any order. */
    start = line;
    int k = csv_record(&p, end, &r, &line, &msg);
    if (k != 0) {
        fprintf(stderr, "fedge: %s: %s\n", path,
                k > 0 ? "empty file (expected a header line: domain,access,proxy_fqdn,comment,"
                        "monitor)"
                      : msg);
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < r.n; i++) {
        int c = -1;
        for (int j = 0; j < NCOL; j++)
            if (!strcasecmp(r.f[i], col_names[j]))
                c = j;
        if (c < 0 || col[c] >= 0) {
            fprintf(stderr,
                    "fedge: %s line %zu: %s column '%s' (expected a header line naming "
                    "domain, access, proxy_fqdn, comment, monitor)\n",
                    path, start, c < 0 ? "unknown" : "repeated", r.f[i]);
            rc = 2;
            goto out;
        }
        col[c] = (int)i;
    }
    if (col[COL_DOMAIN] < 0) {
        fprintf(stderr, "fedge: %s line %zu: no domain column in the header\n", path, start);
        rc = 2;
        goto out;
    }
    size_t ncols = r.n;
    for (;;) {
        start = line;
        k = csv_record(&p, end, &r, &line, &msg);
        if (k > 0)
            break;
        if (k < 0) {
            fprintf(stderr, "fedge: %s line %zu: %s\n", path, start, msg);
            rc = 2;
            goto out;
        }
        if (r.n == 1 && !r.f[0][0])
            continue; /* a blank line */
        if (r.n != ncols) {
            fprintf(stderr, "fedge: %s line %zu: %zu fields, the header has %zu\n", path, start,
                    r.n, ncols);
            rc = 2;
            goto out;
        }
        if (nrows == STORE_IMPORT_MAX) {
            fprintf(stderr, "fedge: %s: more than %d rows\n", path, STORE_IMPORT_MAX);
            rc = 2;
            goto out;
        }
        if (nrows == cap) {
            cap = cap ? 2 * cap : 256;
            rows = realloc(rows, cap * sizeof(*rows));
            lines = realloc(lines, cap * sizeof(*lines));
            if (!rows || !lines)
                abort();
        }
        const char *v[NCOL];
        for (int j = 0; j < NCOL; j++)
            v[j] = col[j] >= 0 ? r.f[col[j]] : "";
        store_domain_in_t *d = &rows[nrows];
        if (*v[COL_ACCESS] && strcasecmp(v[COL_ACCESS], "allowed") &&
            strcasecmp(v[COL_ACCESS], "blocked")) {
            fprintf(stderr, "fedge: %s line %zu: access '%s': expected allowed or blocked\n", path,
                    start, v[COL_ACCESS]);
            rc = 2;
            goto out;
        }
        if (*v[COL_MONITOR] && strcasecmp(v[COL_MONITOR], "yes") &&
            strcasecmp(v[COL_MONITOR], "no")) {
            fprintf(stderr, "fedge: %s line %zu: monitor '%s': expected yes or no\n", path, start,
                    v[COL_MONITOR]);
            rc = 2;
            goto out;
        }
        /* The fields point into text, which lives until the end. */
        *d = (store_domain_in_t){v[COL_DOMAIN], !strcasecmp(v[COL_ACCESS], "blocked"), v[COL_FQDN],
                                 v[COL_COMMENT], !strcasecmp(v[COL_MONITOR], "yes")};
        lines[nrows++] = start;
    }
    store_import_count_t c;
    fedge_err_t e = {{0}};
    int res = store_domain_import(s, rows, nrows, replace, false, cli__actor(), &c, &e);
    if (res < 0) {
        /* "row N: ..." names the data row: say its line in the file. */
        size_t row = 0;
        const char *rest = e.msg;
        if (sscanf(e.msg, "row %zu:", &row) == 1 && row >= 1 && row <= nrows) {
            rest = strchr(e.msg, ':') + 1;
            while (*rest == ' ')
                rest++;
            fprintf(stderr, "fedge: %s line %zu: %s\nnothing was imported\n", path, lines[row - 1],
                    rest);
        } else {
            fprintf(stderr, "fedge: %s\nnothing was imported\n", e.msg);
        }
        rc = res == FEDGE_EINVAL ? 2 : 1;
        goto out;
    }
    printf("imported %zu row%s from %s: %zu added, %zu replaced, %zu unchanged\n", nrows,
           nrows == 1 ? "" : "s", path, c.added, c.replaced, c.unchanged);
out:
    free(r.f);
    free(rows);
    free(lines);
    free(text);
    return rc;
}

/* ---- export ---- */

static void csv_field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n") || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '))) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static int do_export(store_t *s, const char *path)
{
    store_snapshot_t *snap = NULL;
    fedge_err_t e;
    if (store_snapshot_load(s, &snap, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    FILE *f = path && strcmp(path, "-") ? fopen(path, "wb") : stdout;
    if (!f) {
        fprintf(stderr, "fedge: cannot write %s: %s\n", path, strerror(errno));
        store_snapshot_unref(snap);
        return 1;
    }
    fputs("domain,access,proxy_fqdn,comment,monitor\r\n", f);
    /* Both lists are sorted by domain: merge them. */
    size_t i = 0, j = 0;
    while (i < snap->n_allowed || j < snap->n_blocked) {
        bool take_a =
            j >= snap->n_blocked ||
            (i < snap->n_allowed && strcmp(snap->allowed[i].domain, snap->blocked[j].domain) < 0);
        if (take_a) {
            const store_allowed_t *d = &snap->allowed[i++];
            csv_field(f, d->domain, false);
            csv_field(f, "allowed", false);
            csv_field(f, d->proxy_fqdn ? d->proxy_fqdn : "", false);
            csv_field(f, d->comment ? d->comment : "", false);
            csv_field(f, d->monitor ? "yes" : "no", true);
        } else {
            const store_blocked_t *d = &snap->blocked[j++];
            csv_field(f, d->domain, false);
            csv_field(f, "blocked", false);
            csv_field(f, "", false);
            csv_field(f, d->comment ? d->comment : "", false);
            csv_field(f, "no", true);
        }
    }
    size_t n = snap->n_allowed + snap->n_blocked;
    store_snapshot_unref(snap);
    bool bad = ferror(f);
    if (f != stdout)
        bad = fclose(f) != 0 || bad;
    else
        bad = fflush(f) != 0 || bad;
    if (bad) {
        fprintf(stderr, "fedge: writing %s failed\n", path ? path : "stdout");
        return 1;
    }
    if (f != stdout)
        fprintf(stderr, "exported %zu domain%s to %s\n", n, n == 1 ? "" : "s", path);
    return 0;
}

int cli__domain_io(int argc, char **argv)
{
    bool import = !strcmp(argv[2], "import"), replace = false;
    const char *config = NULL, *store = NULL, *file = NULL;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "--store")) {
            if (i + 1 >= argc)
                return usage_err("needs a value (a file name):", a);
            if (!strcmp(a, "--store"))
                store = argv[++i];
            else
                config = argv[++i];
        } else if (import && !strcmp(a, "--replace")) {
            replace = true;
        } else if (a[0] == '-' && a[1]) {
            return usage_err("unknown option", a);
        } else if (file) {
            return usage_err("unexpected argument", a);
        } else {
            file = a;
        }
    }
    if (import && !file)
        return usage_err("fedge domain import needs a FILE (- for stdin)", NULL);
    store_t *s;
    int rc = open_store(config, store, &s);
    if (rc)
        return rc;
    rc = import ? do_import(s, file, replace) : do_export(s, file);
    store_close(s);
    return rc;
}
