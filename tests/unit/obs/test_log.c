/* test_log.c — unit tests of the obs logger (text and JSON lines, escaping,
 * level filtering, truncation) and of the counters' Prometheus output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/obs.h"

/* 2026-11-26T20:00:00.123Z */
static int64_t fixed_clock(void)
{
    return 1795723200123LL;
}

typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} sink_t;

static int setup(void **state)
{
    sink_t *s = calloc(1, sizeof(*s));
    s->f = open_memstream(&s->buf, &s->len);
    obs_log_set_clock(fixed_clock);
    *state = s;
    return s->f ? 0 : -1;
}

static int teardown(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, NULL);
    obs_log_set_clock(NULL);
    fclose(s->f);
    free(s->buf);
    free(s);
    return 0;
}

/* What was logged so far (memstream contents after the logger's fflush). */
static const char *out(sink_t *s)
{
    fflush(s->f);
    return s->buf ? s->buf : "";
}

static void test_text_line(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, s->f);
    obs_log(OBS_LOG_INFO, "proxy", "forwarded %s to %d", "MESSAGE", 3);
    assert_string_equal(out(s), "2026-11-26T20:00:00.123Z info proxy: forwarded MESSAGE to 3\n");
}

static void test_text_kv_quoting(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_DEBUG, OBS_LOG_TEXT, s->f);
    obs_logkv(OBS_LOG_WARNING, "net", "handshake failed", "peer", "192.0.2.7:5061", "reason",
              "no client certificate", "q", "a\"b\\c", "eq", "x=y", "nl", "a\nb", "empty", "",
              "none", NULL, NULL);
    assert_string_equal(out(s), "2026-11-26T20:00:00.123Z warning net: handshake failed "
                                "peer=192.0.2.7:5061 reason=\"no client certificate\" "
                                "q=\"a\\\"b\\\\c\" eq=\"x=y\" nl=\"a\\nb\" empty=\"\" none=-\n");
}

static void test_text_escapes_newlines_in_message(void **state)
{
    /* A peer-supplied string must never start a forged second line. */
    sink_t *s = *state;
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, s->f);
    obs_log(OBS_LOG_ERROR, "sip", "bad header %s",
            "X\r\n2026-01-01T00:00:00.000Z error fake: x\x01");
    assert_string_equal(out(s), "2026-11-26T20:00:00.123Z error sip: bad header "
                                "X\\r\\n2026-01-01T00:00:00.000Z error fake: x\\x01\n");
    assert_int_equal(strchr(out(s), '\n') - out(s), strlen(out(s)) - 1);
}

static void test_json_line_exact(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_INFO, OBS_LOG_JSON, s->f);
    obs_logkv(OBS_LOG_NOTICE, "proxy", "refused", "status", "403", "peer", NULL, NULL);
    assert_string_equal(out(s), "{\"ts\":\"2026-11-26T20:00:00.123Z\",\"level\":\"notice\","
                                "\"component\":\"proxy\",\"msg\":\"refused\",\"status\":\"403\","
                                "\"peer\":null}\n");
}

static void test_json_escaping_parses_back(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_DEBUG, OBS_LOG_JSON, s->f);
    const char *tricky = "q\" b\\ nl\n tab\t ctl\x01 del\x7f utf8 \xc3\xa9 \xe2\x82\xac";
    obs_logkv(OBS_LOG_DEBUG, "sip", tricky, "v", tricky, "bad", "a\xff\xc3(b\xed\xa0\x80z", NULL);
    const char *line = out(s);
    assert_int_equal(strchr(line, '\n') - line, strlen(line) - 1); /* one line */
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "debug");
    assert_string_equal(json_string_value(json_object_get(j, "component")), "sip");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), tricky);
    assert_string_equal(json_string_value(json_object_get(j, "v")), tricky);
    /* Invalid UTF-8 (a stray 0xff, a cut sequence, a surrogate) becomes
     * U+FFFD per bad byte, the rest is kept. */
    assert_string_equal(json_string_value(json_object_get(j, "bad")),
                        "a\xef\xbf\xbd\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
    json_decref(j);
}

static void test_json_printf_message(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_INFO, OBS_LOG_JSON, s->f);
    obs_log(OBS_LOG_ERROR, "config", "%s:%d: bad \"%s\"", "edge.ini", 12, "x");
    json_t *j = json_loads(out(s), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "edge.ini:12: bad \"x\"");
    assert_string_equal(json_string_value(json_object_get(j, "ts")), "2026-11-26T20:00:00.123Z");
    json_decref(j);
}

static int evaluated;
static const char *count_eval(void)
{
    evaluated++;
    return "x";
}

static void test_filtering(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_WARNING, OBS_LOG_TEXT, s->f);
    evaluated = 0;
    obs_log(OBS_LOG_DEBUG, "t", "debug %s", count_eval());
    obs_log(OBS_LOG_INFO, "t", "info %s", count_eval());
    obs_log(OBS_LOG_NOTICE, "t", "notice %s", count_eval());
    obs_logkv(OBS_LOG_INFO, "t", "kv info", "k", "v", NULL);
    assert_int_equal(evaluated, 0); /* filtered lines do not evaluate arguments */
    assert_string_equal(out(s), "");
    assert_false(obs_log_enabled(OBS_LOG_NOTICE));
    assert_true(obs_log_enabled(OBS_LOG_WARNING));
    obs_log(OBS_LOG_WARNING, "t", "warning %s", count_eval());
    obs_log(OBS_LOG_ERROR, "t", "error");
    assert_int_equal(evaluated, 1);
    assert_string_equal(out(s), "2026-11-26T20:00:00.123Z warning t: warning x\n"
                                "2026-11-26T20:00:00.123Z error t: error\n");
}

static void test_long_message_and_value_cut(void **state)
{
    sink_t *s = *state;
    obs_log_init(OBS_LOG_INFO, OBS_LOG_JSON, s->f);
    char *big = malloc(10001);
    memset(big, 'a', 10000);
    big[10000] = '\0';
    obs_log(OBS_LOG_INFO, "t", "%s", big);
    json_t *j = json_loads(out(s), 0, NULL);
    assert_non_null(j);
    const char *msg = json_string_value(json_object_get(j, "msg"));
    assert_int_equal(strlen(msg), 4096 + 3);
    assert_string_equal(msg + 4096, "...");
    json_decref(j);

    fclose(s->f);
    free(s->buf);
    s->buf = NULL;
    s->f = open_memstream(&s->buf, &s->len);
    obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, s->f);
    obs_logkv(OBS_LOG_INFO, "t", "m", "v", big, NULL);
    const char *line = out(s);
    const char *v = strstr(line, " v=");
    assert_non_null(v);
    assert_int_equal(strlen(v), 3 + 1024 + 3 + 1); /* " v=" value "..." newline */
    free(big);
}

static void test_level_and_format_names(void **state)
{
    (void)state;
    obs_level_t l;
    obs_format_t f;
    const char *names[] = {"debug", "info", "notice", "warning", "error"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(obs_level_parse(names[i], &l), 0);
        assert_int_equal(l, i);
        assert_string_equal(obs_level_name(l), names[i]);
    }
    assert_int_equal(obs_level_parse("warn", &l), 0);
    assert_int_equal(l, OBS_LOG_WARNING);
    assert_true(obs_level_parse("verbose", &l) < 0);
    assert_true(obs_level_parse("INFO", &l) < 0);
    assert_string_equal(obs_level_name((obs_level_t)9), "?");
    assert_int_equal(obs_format_parse("json", &f), 0);
    assert_int_equal(f, OBS_LOG_JSON);
    assert_int_equal(obs_format_parse("text", &f), 0);
    assert_int_equal(f, OBS_LOG_TEXT);
    assert_true(obs_format_parse("xml", &f) < 0);
    assert_string_equal(obs_format_name(OBS_LOG_JSON), "json");
}

static obs_counter_t c_rx = OBS_COUNTER_INIT("fedge_test_rx_total", "Requests received");
static obs_counter_t c_rej =
    OBS_COUNTER_INIT("fedge_test_rejected_total", "Requests\nrefused \\ by policy");

static void test_counters_prometheus(void **state)
{
    sink_t *s = *state;
    obs_counter_register(&c_rx);
    obs_counter_register(&c_rej);
    obs_counter_register(&c_rx); /* idempotent */
    obs_counter_add(&c_rx, 3);
    obs_counter_add(&c_rx, 2);
    obs_counter_add(&c_rej, 1);
    assert_int_equal(obs_metrics_write(s->f), 0);
    assert_string_equal(out(s),
                        "# HELP fedge_test_rx_total Requests received\n"
                        "# TYPE fedge_test_rx_total counter\n"
                        "fedge_test_rx_total 5\n"
                        "# HELP fedge_test_rejected_total Requests\\nrefused \\\\ by policy\n"
                        "# TYPE fedge_test_rejected_total counter\n"
                        "fedge_test_rejected_total 1\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_kv_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_escapes_newlines_in_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_line_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_escaping_parses_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_printf_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filtering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message_and_value_cut, setup, teardown),
        cmocka_unit_test(test_level_and_format_names),
        cmocka_unit_test_setup_teardown(test_counters_prometheus, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
