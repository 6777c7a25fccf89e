/* test_torture.c — runs the SIP torture suite in tests/data/sip (one cmocka
 * test per case): valid messages must pass parse, check and every typed
 * accessor with the expected field values; invalid ones must be refused
 * with the expected FEDGE_ESIP_* code, never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip_testdata.h"

static td_cases_t cases;

/* Parses a private copy of exactly len bytes, so that ASan sees any read
 * past the end of the message. */
static int parse_copy(const td_case_t *c, sip_msg_t *m, char **copy)
{
    *copy = fedge_malloc(c->len ? c->len : 1);
    memcpy(*copy, c->data, c->len);
    int rc = sip_parse(*copy, c->len, NULL, m);
    return rc ? rc : td_validate(m);
}

static void check_valid(const td_case_t *c, sip_msg_t *m)
{
    int failures = 0;
    char *text = fedge_strdup(c->expect);
    td_buf_t got = {0};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !strcmp(line, "ok"))
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            print_error("%s: bad expect line '%s'\n", c->name, line);
            failures++;
            continue;
        }
        *eq = '\0';
        char *want = eq + 1;
        size_t wlen = td_unescape(want, strlen(want));
        got.len = 0;
        td_put(&got, "", 0);
        int rc = td_get(m, line, &got);
        if (rc == FEDGE_EINVAL) {
            print_error("%s: unknown or inconsistent key '%s'\n", c->name, line);
            failures++;
        } else if (rc) {
            print_error("%s: %s: accessor failed: %s (%s)\n", c->name, line, td_err_name(rc),
                        fedge_strerror(rc));
            failures++;
        } else if (got.len != wlen || memcmp(got.s, want, wlen)) {
            print_error("%s: %s: want '%.*s' got '%.*s'\n", c->name, line, (int)wlen, want,
                        (int)got.len, got.s);
            failures++;
        }
    }
    free(got.s);
    free(text);

    /* Accessors are cached: a second call gives the same object. */
    const sip_via_t *v1, *v2;
    const sip_nameaddr_t *f1, *f2;
    const sip_cseq_t *c1, *c2;
    assert_int_equal(sip_msg_via(m, &v1), 0);
    assert_int_equal(sip_msg_via(m, &v2), 0);
    assert_ptr_equal(v1, v2);
    assert_int_equal(sip_msg_from(m, &f1), 0);
    assert_int_equal(sip_msg_from(m, &f2), 0);
    assert_ptr_equal(f1, f2);
    assert_int_equal(sip_msg_cseq(m, &c1), 0);
    assert_int_equal(sip_msg_cseq(m, &c2), 0);
    assert_ptr_equal(c1, c2);
    if (failures)
        fail_msg("%s: %d field(s) differ", c->name, failures);
}

static void check_invalid(const td_case_t *c, int rc)
{
    const char *p = strstr(c->expect, "\nerror=");
    if (!p && !strncmp(c->expect, "error=", 6))
        p = c->expect - 1;
    if (!p)
        fail_msg("%s: no error= line in .expect", c->name);
    p += 7;
    if (rc == 0)
        fail_msg("%s: accepted, but must be refused with %.*s", c->name, (int)strcspn(p, "\n"), p);
    assert_string_not_equal(fedge_strerror(rc), "Unknown error");
    for (;;) {
        size_t n = strcspn(p, "|\n");
        int want = 0;
        if (!td_err_code(p, n, &want))
            fail_msg("%s: unknown error name '%.*s'", c->name, (int)n, p);
        if (want == rc)
            return;
        if (p[n] != '|')
            break;
        p += n + 1;
    }
    const char *all = strstr(c->expect, "error=") + 6;
    fail_msg("%s: refused with %s (%s), want %.*s", c->name, td_err_name(rc), fedge_strerror(rc),
             (int)strcspn(all, "\n"), all);
}

static void run_case(void **state)
{
    const td_case_t *c = *state;
    sip_msg_t *m = fedge_calloc(1, sizeof(*m));
    char *copy;
    int rc = parse_copy(c, m, &copy);
    bool want_ok = false;
    for (const char *l = c->expect; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (*l == '#')
            continue;
        want_ok = !strncmp(l, "ok\n", 3) || !strcmp(l, "ok");
        break;
    }
    if (want_ok != c->valid) {
        free(copy);
        free(m);
        fail_msg("%s: .expect says %s but the case is in the %s folder", c->name,
                 want_ok ? "ok" : "error", c->valid ? "valid" : "invalid");
    }
    if (want_ok) {
        if (rc) {
            free(copy);
            free(m);
            fail_msg("%s: refused with %s (%s), want ok", c->name, td_err_name(rc),
                     fedge_strerror(rc));
        }
        check_valid(c, m);
    } else {
        check_invalid(c, rc);
    }
    free(copy);
    free(m);
}

/* The suite must not pass vacuously: both folders exist and hold cases. */
static void suite_is_loaded(void **state)
{
    (void)state;
    size_t nv = 0, ni = 0;
    for (size_t i = 0; i < cases.n; i++)
        if (cases.v[i].valid)
            nv++;
        else
            ni++;
    assert_true(nv >= 50);
    assert_true(ni >= 80);
}

int main(void)
{
    if (td_load(&cases, "valid") < 0 || td_load(&cases, "invalid") < 0) {
        fprintf(
            stderr,
            "test_torture: tests/data/sip not found (run from the repo root or set FEDGE_ROOT)\n");
        return 1;
    }
    struct CMUnitTest *tests = fedge_calloc(cases.n + 1, sizeof(*tests));
    tests[0] = (struct CMUnitTest)cmocka_unit_test(suite_is_loaded);
    for (size_t i = 0; i < cases.n; i++) {
        tests[i + 1].name = cases.v[i].name;
        tests[i + 1].test_func = run_case;
        tests[i + 1].initial_state = &cases.v[i];
    }
    int rc = _cmocka_run_group_tests("sip_torture", tests, cases.n + 1, NULL, NULL);
    free(tests);
    td_free(&cases);
    return rc;
}
