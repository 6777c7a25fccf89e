/* test_summary.c — unit tests of summarised log events: the first events
 * of a key one by one, the rest as one line per key and interval, bounded
 * lines under a flood, distinct addresses counted, keys bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/obs.h"

typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} sink_t;

static int setup(void **state)
{
    sink_t *s = calloc(1, sizeof(*s));
    s->f = open_memstream(&s->buf, &s->len);
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, s->f);
    *state = s;
    return s->f ? 0 : -1;
}

static int teardown(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, NULL);
    fclose(s->f);
    free(s->buf);
    free(s);
    return 0;
}

static const char *out(sink_t *s)
{
    fflush(s->f);
    return s->buf ? s->buf : "";
}

static size_t lines(sink_t *s)
{
    size_t n = 0;
    for (const char *p = out(s); *p; p++)
        n += *p == '\n';
    return n;
}

static size_t count_of(sink_t *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = out(s); (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The flood of the report: 86,487 refusals from 115 addresses in 10 s give
 * 3 lines one by one and one summary line. */
static void test_flood_is_one_line_per_interval(void **state)
{
    sink_t *s = *state;
    obs_summary_t *sm = obs_summary_new(OBS_LOG_WARNING, "net", "connection refused", "refused",
                                        "connections", 10000, 3);
    char ip[32];
    for (int i = 0; i < 86487; i++) {
        snprintf(ip, sizeof(ip), "127.0.%d.%d", i % 115 / 100, 2 + i % 115 % 100);
        obs_summary_add(sm, 1000 + i / 10, "max_connections", ip);
    }
    assert_int_equal(lines(s), 3);
    assert_int_equal(count_of(s, "connection refused reason=max_connections peer=127.0.0.2"), 1);
    obs_summary_tick(sm, 1000 + 9999);
    assert_int_equal(lines(s), 3); /* the interval has not ended */
    obs_summary_tick(sm, 1000 + 10000);
    assert_int_equal(lines(s), 4);
    assert_non_null(strstr(out(s), "warning net: refused 86,487 connections from 115 addresses in "
                                   "the last 10 s: max_connections reason=max_connections "
                                   "count=86487 addresses=115\n"));
    obs_summary_tick(sm, 1000 + 30000);
    assert_int_equal(lines(s), 4); /* nothing new */
    obs_summary_free(sm);
    assert_int_equal(lines(s), 4);
}

/* Each key has its own burst and summary; a key with only a few events gets
 * no summary line; a new interval starts a new burst. */
static void test_keys_and_intervals(void **state)
{
    sink_t *s = *state;
    obs_summary_t *sm = obs_summary_new(OBS_LOG_INFO, "net", "TLS handshake failed", "failed",
                                        "handshakes", 1000, 2);
    for (int i = 0; i < 10; i++)
        obs_summary_add(sm, 0, "certificate verify failed: certificate has expired", "192.0.2.1");
    obs_summary_add(sm, 1, "no certificate", "192.0.2.2");
    assert_int_equal(lines(s), 3);
    obs_summary_add(sm, 1500, "no certificate", "192.0.2.2"); /* ends the first interval */
    assert_int_equal(count_of(s, "failed 10 handshakes from 1 address in the last 1 s: "
                                 "certificate verify failed: certificate has expired"),
                     1);
    assert_int_equal(count_of(s, "failed 1 handshakes"), 0);
    assert_int_equal(count_of(s, "TLS handshake failed reason=\"no certificate\""), 2);
    obs_summary_free(sm);
    assert_int_equal(lines(s), 5);
    /* Without addresses, the line says nothing of them. */
    sm = obs_summary_new(OBS_LOG_WARNING, "admin", "http server", "logged", "times", 10000, 0);
    for (int i = 0; i < 104; i++)
        obs_summary_add(sm, 0, "Server reached connection limit.", NULL);
    obs_summary_free(sm);
    assert_non_null(strstr(out(s), "warning admin: logged 104 times in the last 10 s: Server "
                                   "reached connection limit. reason="));
}

/* Keys and addresses are bounded: many distinct reasons fold into "other",
 * many distinct addresses show as "more than N". */
static void test_bounded_keys_and_addresses(void **state)
{
    sink_t *s = *state;
    obs_summary_t *sm =
        obs_summary_new(OBS_LOG_INFO, "net", "refused", "refused", "connections", 10000, 0);
    char key[32], ip[48];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "reason %d", i % 40);
        snprintf(ip, sizeof(ip), "2001:db8::%x", i);
        obs_summary_add(sm, 5, key, ip);
    }
    assert_int_equal(lines(s), 0); /* burst 0: nothing one by one */
    obs_summary_free(sm);
    assert_int_equal(lines(s), OBS_SUMMARY_KEYS);
    assert_int_equal(count_of(s, ": other reason=other"), 1);
    assert_int_equal(count_of(s, "refused 62,500 connections from more than"), 1);
    assert_int_equal(count_of(s, "refused 2,500 connections from more than"), 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flood_is_one_line_per_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_and_intervals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_keys_and_addresses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
