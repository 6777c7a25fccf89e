/* bench_snapshot.c — how the snapshot rebuild (store_snapshot_load: one
 * read transaction of every table, then the hash indexes) grows with the
 * size of the allow list: what a member of a pool pays on every change
 * (docs/pools.md). Target: 10,000 domains rebuilt in at most 50 ms.
 *
 *   bench_snapshot                 SQLite stores in a temporary folder with
 *                                  1,000, 10,000 and 50,000 allowed domains
 *   bench_snapshot --store LOC     the store at LOC as it is (bench/pool.sh
 *                                  fills a PostgreSQL store with psql)
 *   --runs N                       loads per size (default 20)
 *
 * Prints the median and largest load time per size (wall clock). Exit 1
 * when a store of 10,000 domains or fewer takes more than 50 ms (median),
 * 2 on errors. */
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TARGET_MS 50.0
#define TARGET_SIZE 10000

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Loads loc's snapshot runs times; prints and returns the median (ms),
 * or < 0 on error. */
static double measure(const char *loc, int runs, size_t *n_out)
{
    store_t *s;
    fedge_err_t e;
    if (store_open(loc, &s, &e) < 0) {
        fprintf(stderr, "bench_snapshot: %s\n", e.msg);
        return -1;
    }
    double *t = calloc((size_t)runs, sizeof(*t));
    size_t n = 0;
    for (int i = 0; i < runs; i++) {
        store_snapshot_t *snap = NULL;
        double t0 = now_ms();
        if (store_snapshot_load(s, &snap, &e) < 0) {
            fprintf(stderr, "bench_snapshot: %s\n", e.msg);
            free(t);
            store_close(s);
            return -1;
        }
        t[i] = now_ms() - t0;
        n = snap->n_allowed + snap->n_blocked;
        store_snapshot_unref(snap);
    }
    store_close(s);
    qsort(t, (size_t)runs, sizeof(*t), cmp);
    double med = t[runs / 2];
    char shown[256];
    store_location_shown(loc, shown, sizeof(shown));
    printf("snapshot rebuild, %6zu domains (%s): median %7.2f ms, max %7.2f ms over %d loads\n", n,
           store_location_is_uri(loc) ? "PostgreSQL" : "SQLite", med, t[runs - 1], runs);
    free(t);
    *n_out = n;
    return med;
}

/* A SQLite store at path with n allowed domains, written in one
 * transaction straight into the table (the CLI would audit each). */
static int seed(const char *path, int n)
{
    store_t *s;
    fedge_err_t e;
    if (store_open(path, &s, &e) < 0) {
        fprintf(stderr, "bench_snapshot: %s\n", e.msg);
        return -1;
    }
    store_close(s);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO allowed_domain(domain, comment) VALUES(?1, '')",
                                -1, &st, NULL);
    for (int i = 0; rc == SQLITE_OK && i < n; i++) {
        char d[64];
        snprintf(d, sizeof(d), "d%06d.bench.test", i);
        sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "UPDATE meta SET value = value + 1 WHERE key = 'generation'; COMMIT",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "bench_snapshot: seeding %s: %s\n", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *loc = NULL;
    int runs = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--store") && i + 1 < argc)
            loc = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc && atoi(argv[i + 1]) > 0)
            runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_snapshot [--store LOCATION] [--runs N]\n");
            return 2;
        }
    }
    bool ok = true;
    size_t n = 0;
    if (loc) {
        double med = measure(loc, runs, &n);
        if (med < 0)
            return 2;
        ok = n > TARGET_SIZE || med <= TARGET_MS;
    } else {
        char dir[] = "/tmp/fedge-bench-snapshot.XXXXXX";
        if (!mkdtemp(dir))
            return 2;
        static const int sizes[] = {1000, 10000, 50000};
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            char path[128];
            snprintf(path, sizeof(path), "%s/s%d.db", dir, sizes[k]);
            double med = seed(path, sizes[k]) < 0 ? -1 : measure(path, runs, &n);
            char rm[160];
            snprintf(rm, sizeof(rm), "%s-wal", path);
            unlink(rm);
            snprintf(rm, sizeof(rm), "%s-shm", path);
            unlink(rm);
            unlink(path);
            if (med < 0) {
                rmdir(dir);
                return 2;
            }
            if (n <= TARGET_SIZE && med > TARGET_MS)
                ok = false;
        }
        rmdir(dir);
    }
    printf("target: %d domains rebuilt in <= %.0f ms (median): %s\n", TARGET_SIZE, TARGET_MS,
           ok ? "met" : "MISSED");
    return ok ? 0 : 1;
}
