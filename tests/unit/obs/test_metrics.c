/* test_metrics.c — unit tests of the labelled metric families (counters,
 * gauges, histograms) and their Prometheus text output: HELP/TYPE, label
 * escaping, bounded series and label sets, totals, and a reader thread
 * scraping while the "loop" counts (run it under -fsanitize=thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/obs.h"

/* The whole exposition text (caller frees). */
static char *scrape(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(obs_metrics_write(f), 0);
    fclose(f);
    return buf;
}

static void assert_has(const char *text, const char *line)
{
    if (!strstr(text, line))
        fail_msg("missing %s in:\n%s", line, text);
}

static void test_counter_labels_and_escaping(void **state)
{
    (void)state;
    obs_family_t *f = obs_family("t_requests_total", "requests by \\ side\nand method",
                                 OBS_KIND_COUNTER, "side,method", NULL, 0);
    assert_ptr_equal(obs_family("t_requests_total", "", OBS_KIND_COUNTER, "", NULL, 0), f);
    obs_add(f, 2, "external", "MESSAGE");
    obs_add(f, 1, "external", "MESSAGE");
    obs_add(f, 1, "in\"ter\\nal\n", NULL);
    char *t = scrape();
    assert_has(t, "# HELP t_requests_total requests by \\\\ side\\nand method\n");
    assert_has(t, "# TYPE t_requests_total counter\n");
    assert_has(t, "t_requests_total{side=\"external\",method=\"MESSAGE\"} 3\n");
    assert_has(t, "t_requests_total{side=\"in\\\"ter\\\\nal\\n\",method=\"\"} 1\n");
    free(t);
}

static void test_gauge_and_unlabelled(void **state)
{
    (void)state;
    obs_family_t *g = obs_family("t_open", "open now", OBS_KIND_GAUGE, "side", NULL, 0);
    obs_add(g, 1, "a");
    obs_add(g, 1, "a");
    obs_add(g, -1, "a");
    obs_set(g, 7, "b");
    obs_family_t *u = obs_family("t_generation", "generation", OBS_KIND_GAUGE, "", NULL, 0);
    char *t = scrape();
    assert_has(t, "# TYPE t_open gauge\nt_open{side=\"a\"} 1\nt_open{side=\"b\"} 7\n");
    assert_has(t, "# TYPE t_generation gauge\nt_generation 0\n"); /* always present */
    free(t);
    obs_set(u, 42);
    t = scrape();
    assert_has(t, "\nt_generation 42\n");
    free(t);
}

static void test_histogram(void **state)
{
    (void)state;
    static const double b[] = {0.01, 0.1, 1};
    obs_family_t *h = obs_family("t_seconds", "latency", OBS_KIND_HISTOGRAM, "side", b, 3);
    obs_observe(h, 0.005, "x");
    obs_observe(h, 0.01, "x"); /* le is inclusive */
    obs_observe(h, 0.5, "x");
    obs_observe(h, 3, "x");
    obs_observe(h, -1, "x"); /* a clock step counts as 0 */
    char *t = scrape();
    assert_has(t, "# TYPE t_seconds histogram\n");
    assert_has(t, "t_seconds_bucket{side=\"x\",le=\"0.01\"} 3\n"
                  "t_seconds_bucket{side=\"x\",le=\"0.1\"} 3\n"
                  "t_seconds_bucket{side=\"x\",le=\"1\"} 4\n"
                  "t_seconds_bucket{side=\"x\",le=\"+Inf\"} 5\n"
                  "t_seconds_sum{side=\"x\"} 3.515000\n"
                  "t_seconds_count{side=\"x\"} 5\n");
    free(t);
}

static void test_series_bound(void **state)
{
    (void)state;
    obs_family_t *f = obs_family("t_many_total", "many", OBS_KIND_COUNTER, "k", NULL, 0);
    char k[32];
    for (int i = 0; i < OBS_SERIES_MAX + 10; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        obs_add(f, 1, k);
    }
    char *t = scrape();
    assert_has(t, "t_many_total{k=\"k0\"} 1\n");
    snprintf(k, sizeof(k), "t_many_total{k=\"k%d\"} 1\n", OBS_SERIES_MAX - 1);
    assert_has(t, k);
    snprintf(k, sizeof(k), "{k=\"k%d\"}", OBS_SERIES_MAX);
    assert_null(strstr(t, k));
    assert_has(t, "t_many_total{k=\"other\"} 10\n");
    free(t);
}

static void test_labelset(void **state)
{
    (void)state;
    obs_labelset_t *ls = obs_labelset_new(2);
    char b[OBS_VALUE_MAX + 1];
    assert_string_equal(obs_labelset_pick(ls, FEDGE_STR_LIT("Fabrikam.TEST"), b), "fabrikam.test");
    assert_string_equal(obs_labelset_pick(ls, FEDGE_STR_LIT("b.test"), b), "b.test");
    assert_string_equal(obs_labelset_pick(ls, FEDGE_STR_LIT("c.test"), b), "other");
    assert_string_equal(obs_labelset_pick(ls, FEDGE_STR_LIT("fabrikam.test"), b), "fabrikam.test");
    assert_string_equal(obs_labelset_pick(ls, FEDGE_STR_LIT(""), b), "");
    obs_labelset_free(ls);
}

static void total_cb(void *ctx, const char *name, double total)
{
    if (!strcmp(name, "t_requests_total"))
        *(double *)ctx = total;
}

static void test_totals(void **state)
{
    (void)state;
    double t = -1;
    obs_metrics_totals(total_cb, &t);
    assert_true(t >= 4);
}

/* A scrape thread reading while this thread counts and creates series:
 * every scrape sees a consistent, growing value (and TSan sees no race). */
static atomic_bool stop_reader;

static void *reader(void *arg)
{
    (void)arg;
    int n = 0;
    while (!atomic_load(&stop_reader) || n < 3) {
        char *t = scrape();
        assert_non_null(strstr(t, "# TYPE t_race_total counter"));
        free(t);
        n++;
    }
    return NULL;
}

static void test_concurrent_scrape(void **state)
{
    (void)state;
    obs_family_t *f = obs_family("t_race_total", "race", OBS_KIND_COUNTER, "k", NULL, 0);
    static const double b[] = {0.1};
    obs_family_t *h = obs_family("t_race_seconds", "race", OBS_KIND_HISTOGRAM, "", b, 1);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader, NULL), 0);
    char k[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof(k), "k%d", i % 50);
        obs_add(f, 1, k);
        obs_observe(h, 0.05);
    }
    atomic_store(&stop_reader, true);
    pthread_join(th, NULL);
    char *t = scrape();
    assert_has(t, "t_race_total{k=\"k0\"} 400\n");
    assert_has(t, "t_race_seconds_count 20000\n");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_labels_and_escaping),
        cmocka_unit_test(test_gauge_and_unlabelled),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_series_bound),
        cmocka_unit_test(test_labelset),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_concurrent_scrape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
