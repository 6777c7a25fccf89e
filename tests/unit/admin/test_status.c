/* test_status.c — unit tests of admin_stats, the edge's accumulator for the
 * Status page: per-partner figures, the last hour per minute (top partners
 * plus "(other)", stale minutes dropped), recent errors, metric totals as
 * counters, and the Prometheus families it counts (bounded partner label). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/admin_int.h"
#include "obs/obs.h"

static int64_t now_s = 1795723200; /* 2026-11-26T20:00:00Z, a minute boundary */
static int64_t clock_s(void)
{
    return now_s;
}

static admin_status_t report(admin_stats_t *st)
{
    admin_status_t s = {json_object(), json_object(), json_array(), json_object(), json_object()};
    admin_stats_report(&s, st);
    return s;
}

static void status_free(admin_status_t *s)
{
    json_decref(s->partners);
    json_decref(s->diags);
    json_decref(s->errors);
    json_decref(s->counters);
    json_decref(s->history);
}

static fedge_str_t str(const char *s)
{
    return (fedge_str_t){s, strlen(s)};
}

static json_int_t at(json_t *hist, const char *domain, const char *key, size_t i)
{
    json_t *a = json_object_get(json_object_get(json_object_get(hist, "partners"), domain), key);
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 60);
    return json_integer_value(json_array_get(a, i));
}

static void test_history_top_and_other(void **state)
{
    (void)state;
    admin_stats_t *st = admin_stats_new();
    admin_stats_set_clock(st, clock_s);
    /* partner k gets k + 1 requests this minute; p0 also one refusal */
    for (int k = 0; k < 10; k++) {
        char d[32];
        snprintf(d, sizeof(d), "P%d.test", k);
        for (int i = 0; i <= k; i++)
            admin_stats_request(st, str(d), 0);
    }
    admin_stats_request(st, str("p0.test"), 1009);
    now_s += 120; /* two minutes later */
    admin_stats_request(st, str("p9.test"), 0);
    admin_status_t s = report(st);
    json_t *parts = json_object_get(s.history, "partners");
    assert_int_equal(json_object_size(parts), 9); /* 8 busiest + (other) */
    assert_int_equal(json_integer_value(json_object_get(s.history, "minute0")),
                     (now_s / 60 - 59) * 60);
    assert_int_equal(at(s.history, "p9.test", "requests", 59), 1);
    assert_int_equal(at(s.history, "p9.test", "requests", 57), 10);
    assert_int_equal(at(s.history, "p2.test", "requests", 57), 3);
    assert_null(json_object_get(parts, "p0.test"));
    assert_null(json_object_get(parts, "p1.test"));
    /* p0 (1 + 1 refused) and p1 (2) are summed as (other) */
    assert_int_equal(at(s.history, "(other)", "requests", 57), 4);
    assert_int_equal(at(s.history, "(other)", "rejections", 57), 1);
    /* all-time figures and the diagnostic */
    json_t *p0 = json_object_get(s.partners, "p0.test");
    assert_int_equal(json_integer_value(json_object_get(p0, "requests")), 2);
    assert_int_equal(json_integer_value(json_object_get(p0, "rejections")), 1);
    assert_int_equal(json_integer_value(json_object_get(s.diags, "1009")), 1);
    /* the metric totals are in the counters */
    assert_true(json_integer_value(json_object_get(s.counters, "fedge_partner_requests_total")) >=
                57);
    status_free(&s);

    /* an hour later, the old minutes are gone */
    now_s += 3600;
    admin_stats_request(st, str("p3.test"), 0);
    s = report(st);
    parts = json_object_get(s.history, "partners");
    assert_int_equal(json_object_size(parts), 1);
    assert_int_equal(at(s.history, "p3.test", "requests", 59), 1);
    for (size_t i = 0; i < 59; i++)
        assert_int_equal(at(s.history, "p3.test", "requests", i), 0);
    status_free(&s);
    admin_stats_free(st);
}

static void test_errors_ring(void **state)
{
    (void)state;
    admin_stats_t *st = admin_stats_new();
    for (int i = 0; i < ADMIN_STATS_ERRORS + 5; i++) {
        char t[32];
        snprintf(t, sizeof(t), "error %d\nforged", i);
        admin_stats_error(st, t);
    }
    admin_status_t s = report(st);
    assert_int_equal(json_array_size(s.errors), ADMIN_STATS_ERRORS);
    json_t *first = json_array_get(s.errors, 0);
    assert_string_equal(json_string_value(json_object_get(first, "text")), "error 5 forged");
    status_free(&s);
    admin_stats_free(st);
}

static void test_prometheus_partner_label_bounded(void **state)
{
    (void)state;
    admin_stats_t *st = admin_stats_new();
    for (int k = 0; k < 25; k++) {
        char d[32];
        snprintf(d, sizeof(d), "q%d.test", k);
        admin_stats_request(st, str(d), k % 2 ? 1005 : 0);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(obs_metrics_write(f), 0);
    fclose(f);
    assert_non_null(
        strstr(buf, "fedge_partner_requests_total{partner=\"q0.test\",outcome=\"allowed\"} 1\n"));
    assert_non_null(
        strstr(buf, "fedge_partner_requests_total{partner=\"q19.test\",outcome=\"refused\"} 1\n"));
    assert_null(strstr(buf, "partner=\"q20.test\""));
    assert_non_null(
        strstr(buf, "fedge_partner_requests_total{partner=\"other\",outcome=\"allowed\"} 3\n"));
    assert_non_null(strstr(buf, "fedge_policy_refusals_total{diagnostic=\"1005\"} 12\n"));
    free(buf);
    admin_stats_free(st);
}

static bool metric_line(const char *line)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(obs_metrics_write(f), 0);
    fclose(f);
    bool found = strstr(buf, line) != NULL;
    if (!found)
        fprintf(stderr, "missing: %s", line);
    free(buf);
    return found;
}

/* Repeated requests of one partner entry count into the same series, in any
 * case; an empty domain shares the "(unknown)" entry with one so named but
 * keeps its own label, and the shared "(other)" entry labels each domain by
 * itself (here domains seen only through connections filled the table). */
static void test_prometheus_partner_series_per_domain(void **state)
{
    (void)state;
    admin_stats_t *st = admin_stats_new();
    admin_stats_request(st, str("Repeat.test"), 0);
    admin_stats_request(st, str("repeat.TEST"), 0);
    admin_stats_request(st, str("repeat.test"), 1005);
    admin_stats_request(st, str("repeat.test"), 0);
    admin_stats_request(st, str(""), 0);
    admin_stats_request(st, str("(unknown)"), 0);
    admin_stats_request(st, str(""), 0);
    assert_true(metric_line(
        "fedge_partner_requests_total{partner=\"repeat.test\",outcome=\"allowed\"} 3\n"));
    assert_true(metric_line(
        "fedge_partner_requests_total{partner=\"repeat.test\",outcome=\"refused\"} 1\n"));
    assert_true(metric_line("fedge_partner_requests_total{partner=\"\",outcome=\"allowed\"} 2\n"));
    assert_true(
        metric_line("fedge_partner_requests_total{partner=\"(unknown)\",outcome=\"allowed\"} 1\n"));
    for (int k = 0; k < ADMIN_STATS_PARTNERS; k++) {
        char d[32];
        snprintf(d, sizeof(d), "c%d.test", k);
        admin_stats_connection(st, str(d), 1);
    }
    admin_stats_request(st, str("late1.test"), 0);
    admin_stats_request(st, str("late2.test"), 0);
    admin_stats_request(st, str("late1.test"), 0);
    assert_true(metric_line(
        "fedge_partner_requests_total{partner=\"late1.test\",outcome=\"allowed\"} 2\n"));
    assert_true(metric_line(
        "fedge_partner_requests_total{partner=\"late2.test\",outcome=\"allowed\"} 1\n"));
    admin_status_t s = report(st);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(s.partners, "(other)"), "requests")), 3);
    status_free(&s);
    admin_stats_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_top_and_other),
        cmocka_unit_test(test_errors_ring),
        cmocka_unit_test(test_prometheus_partner_label_bounded),
        cmocka_unit_test(test_prometheus_partner_series_per_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
