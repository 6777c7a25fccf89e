/* test_cli_parse.c — `fedge parse` over the torture suite: JSON for every
 * valid message, "invalid: <reason> (<file>)" with the expected reason for
 * every invalid one, and the exit codes 0/1/2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "../sip/sip_testdata.h"

typedef struct {
    int rc;
    char *out, *err;
    size_t out_len, err_len;
} run_t;

static char *slurp_fd(int fd, size_t *len)
{
    lseek(fd, 0, SEEK_SET);
    size_t cap = 4096, n = 0;
    char *b = fedge_malloc(cap + 1);
    ssize_t r;
    while ((r = read(fd, b + n, cap - n)) > 0) {
        n += (size_t)r;
        if (n == cap)
            b = fedge_realloc(b, (cap *= 2) + 1);
    }
    b[n] = '\0';
    *len = n;
    return b;
}

/* Runs `fedge parse ARGS...` in-process with stdout/stderr captured and
 * stdin read from stdin_path (may be NULL). */
static run_t run_parse(const char *stdin_path, int nargs, const char **args)
{
    char *argv[16] = {"fedge", "parse"};
    for (int i = 0; i < nargs; i++)
        argv[2 + i] = (char *)args[i];
    char tout[] = "/tmp/fedge-cli-out-XXXXXX", terr[] = "/tmp/fedge-cli-err-XXXXXX";
    int fo = mkstemp(tout), fe = mkstemp(terr);
    assert_true(fo >= 0 && fe >= 0);
    unlink(tout);
    unlink(terr);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2), si = -1;
    dup2(fo, 1);
    dup2(fe, 2);
    if (stdin_path) {
        si = dup(0);
        int fi = open(stdin_path, O_RDONLY);
        assert_true(fi >= 0);
        dup2(fi, 0);
        close(fi);
        clearerr(stdin);
    }
    run_t r = {0};
    r.rc = cli__parse(2 + nargs, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    if (si >= 0) {
        dup2(si, 0);
        close(si);
        clearerr(stdin);
    }
    r.out = slurp_fd(fo, &r.out_len);
    r.err = slurp_fd(fe, &r.err_len);
    close(fo);
    close(fe);
    return r;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

static td_cases_t cases;

static void path_of(const td_case_t *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/tests/data/sip/%s.sip", td_root(), c->name);
}

/* Every valid case: exit 0, one JSON line that agrees with the parser. */
static void valid_cases_print_json(void **state)
{
    (void)state;
    size_t n = 0;
    sip_msg_t *m = fedge_malloc(sizeof(*m));
    for (size_t i = 0; i < cases.n; i++) {
        const td_case_t *c = &cases.v[i];
        if (!c->valid)
            continue;
        n++;
        char path[1024];
        path_of(c, path, sizeof(path));
        const char *args[] = {path};
        run_t r = run_parse(NULL, 1, args);
        if (r.rc != 0)
            fail_msg("%s: exit %d, stderr: %s", c->name, r.rc, r.err);
        assert_int_equal(r.err_len, 0);
        assert_true(r.out_len > 0 && r.out[r.out_len - 1] == '\n');
        assert_null(memchr(r.out, '\n', r.out_len - 1)); /* one line */
        json_error_t je;
        json_t *o = json_loads(r.out, 0, &je);
        if (!o)
            fail_msg("%s: not JSON: %s", c->name, je.text);
        assert_int_equal(sip_parse(c->data, c->len, NULL, m), 0);
        assert_string_equal(json_string_value(json_object_get(o, "kind")),
                            m->is_request ? "request" : "response");
        assert_string_equal(json_string_value(json_object_get(o, "file")), path);
        assert_int_equal(json_array_size(json_object_get(o, "headers")), m->nhdrs);
        assert_int_equal(json_array_size(json_object_get(o, "via")), m->nvias);
        assert_int_equal(json_integer_value(json_object_get(o, "body_length")),
                         (json_int_t)m->body.len);
        if (m->is_request)
            assert_true(json_is_object(json_object_get(o, "request_uri")));
        else
            assert_int_equal(json_integer_value(json_object_get(o, "status")), m->status);
        assert_true(json_is_object(json_object_get(o, "from")));
        assert_true(json_is_object(json_object_get(o, "to")));
        assert_true(json_is_object(json_object_get(o, "cseq")));
        assert_true(json_is_string(json_object_get(o, "call_id")));
        json_decref(o);
        run_free(&r);
    }
    free(m);
    assert_true(n >= 50);
}

/* Every invalid case: exit 1, nothing on stdout, the expected reason. */
static void invalid_cases_say_why(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < cases.n; i++) {
        const td_case_t *c = &cases.v[i];
        if (c->valid)
            continue;
        n++;
        char path[1024];
        path_of(c, path, sizeof(path));
        const char *args[] = {path};
        run_t r = run_parse(NULL, 1, args);
        if (r.rc != 1)
            fail_msg("%s: exit %d, want 1", c->name, r.rc);
        assert_int_equal(r.out_len, 0);
        /* one of the expected codes' reason, and the file name */
        const char *p = strstr(c->expect, "error=");
        assert_non_null(p);
        p += 6;
        bool matched = false;
        for (;;) {
            size_t l = strcspn(p, "|\n");
            int code = 0;
            assert_true(td_err_code(p, l, &code));
            char want[1200];
            snprintf(want, sizeof(want), "invalid: %s (%s)\n", fedge_strerror(code), path);
            if (!strcmp(r.err, want))
                matched = true;
            if (p[l] != '|')
                break;
            p += l + 1;
        }
        if (!matched)
            fail_msg("%s: stderr '%s' does not give the expected reason", c->name, r.err);
        run_free(&r);
    }
    assert_true(n >= 80);
}

static void typed_fields_in_json(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/sip/valid/042-space-before-colon.sip", td_root());
    const char *args[] = {path};
    run_t r = run_parse(NULL, 1, args);
    assert_int_equal(r.rc, 0);
    json_t *o = json_loads(r.out, 0, NULL);
    assert_non_null(o);
    json_t *via0 = json_array_get(json_object_get(o, "via"), 0);
    assert_string_equal(json_string_value(json_object_get(via0, "host")),
                        "edge.atlanta.example.com");
    assert_int_equal(json_integer_value(json_object_get(via0, "port")), 5061);
    assert_string_equal(json_string_value(json_object_get(via0, "branch")), "z9hG4bKsp1");
    assert_int_equal(json_integer_value(json_object_get(o, "max_forwards")), 70);
    assert_int_equal(json_integer_value(json_object_get(o, "content_length")), 2);
    json_t *h7 = json_array_get(json_object_get(o, "headers"), 7);
    assert_string_equal(json_string_value(json_object_get(h7, "name")),
                        "ms-edge-proxy-message-trust");
    json_t *from = json_object_get(o, "from");
    assert_string_equal(json_string_value(json_object_get(from, "tag")), "sp9");
    json_t *cseq = json_object_get(o, "cseq");
    assert_int_equal(json_integer_value(json_object_get(cseq, "seq")), 5);
    assert_string_equal(json_string_value(json_object_get(cseq, "method")), "MESSAGE");
    json_decref(o);
    run_free(&r);

    snprintf(path, sizeof(path), "%s/tests/data/sip/valid/046-contact-star.sip", td_root());
    r = run_parse(NULL, 1, args);
    assert_int_equal(r.rc, 0);
    o = json_loads(r.out, 0, NULL);
    assert_non_null(o);
    json_t *c0 = json_array_get(json_object_get(o, "contact"), 0);
    assert_true(json_is_true(json_object_get(c0, "star")));
    assert_int_equal(json_integer_value(json_object_get(o, "expires")), 0);
    json_decref(o);
    run_free(&r);
}

static void exit_codes(void **state)
{
    (void)state;
    char ok[1024], bad[1024];
    snprintf(ok, sizeof(ok), "%s/tests/data/sip/valid/006-lwsdisp.sip", td_root());
    snprintf(bad, sizeof(bad), "%s/tests/data/sip/invalid/001-badinv01.sip", td_root());
    const char *mixed[] = {ok, bad, ok};
    run_t r = run_parse(NULL, 3, mixed);
    assert_int_equal(r.rc, 1);
    size_t lines = 0;
    for (size_t i = 0; i < r.out_len; i++)
        lines += r.out[i] == '\n';
    assert_int_equal(lines, 2); /* one JSON line per valid message */
    char want[1200];
    snprintf(want, sizeof(want), "invalid: Malformed Via (%s)\n", bad);
    assert_string_equal(r.err, want);
    run_free(&r);

    const char *missing[] = {ok, "/nonexistent/fedge.sip", bad};
    r = run_parse(NULL, 3, missing);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "/nonexistent/fedge.sip"));
    run_free(&r);

    r = run_parse(NULL, 0, NULL);
    assert_int_equal(r.rc, 2);
    run_free(&r);

    const char *opt[] = {"-x"};
    r = run_parse(NULL, 1, opt);
    assert_int_equal(r.rc, 2);
    run_free(&r);

    const char *dash[] = {"-"};
    r = run_parse(ok, 1, dash);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "\"file\":\"<stdin>\""));
    run_free(&r);
    r = run_parse(bad, 1, dash);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "invalid: Malformed Via (<stdin>)\n");
    run_free(&r);
}

static const char options_msg[] = "OPTIONS sip:bob@contoso.test SIP/2.0\r\n"
                                  "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776\r\n"
                                  "Max-Forwards: 70\r\n"
                                  "To: <sip:bob@contoso.test>\r\n"
                                  "From: <sip:alice@fabrikam.test>;tag=1\r\n"
                                  "Call-ID: a1@192.0.2.1\r\n"
                                  "CSeq: 1 OPTIONS\r\n";

static void write_text(const char *path, const char *a, const char *b, const char *c)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(a, f);
    fputs(b, f);
    fputs(c, f);
    fclose(f);
}

/* RFC 3261 section 7.5: CRLFs before the start line are skipped, as the
 * stream framer does; other leading bytes are still refused. */
static void leading_crlf_skipped(void **state)
{
    (void)state;
    char dir[] = "/tmp/fedge-cli-crlf-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/m.sip", dir);
    write_text(path, "\r\n\r\n\r\n", options_msg, "Content-Length: 0\r\n\r\n");
    const char *args[] = {path};
    run_t r = run_parse(NULL, 1, args);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "\"method\":\"OPTIONS\""));
    run_free(&r);
    write_text(path, "\n", options_msg, "Content-Length: 0\r\n\r\n");
    r = run_parse(NULL, 1, args);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "invalid: "));
    run_free(&r);
    unlink(path);
    rmdir(dir);
}

/* -c FILE is the configuration, never a message to parse, wherever it is
 * given; its [limits] max_message_size applies. */
static void config_limits_apply(void **state)
{
    (void)state;
    char dir[] = "/tmp/fedge-cli-cfg-XXXXXX", ini[128], msg[128], crt[128];
    assert_non_null(mkdtemp(dir));
    snprintf(crt, sizeof(crt), "%s/edge.crt", dir);
    write_text(crt, "stand-in\n", "", "");
    snprintf(crt, sizeof(crt), "%s/edge.key", dir);
    write_text(crt, "stand-in\n", "", "");
    snprintf(ini, sizeof(ini), "%s/fedge.ini", dir);
    write_text(ini,
               "[edge]\nfqdn = edge.contoso.test\nsip_domains = contoso.test\n"
               "[external]\nlisten = 127.0.0.1:5061\ncertificate = edge.crt\n"
               "private_key = edge.key\n",
               "[internal]\nlisten = 127.0.0.1:5070\ntransport = tcp\n"
               "next_hop = 127.0.0.1:5080\n",
               "[limits]\nmax_message_size = 1k\n");
    /* about 1.5 KiB: within the default 64k, above this configuration's 1k */
    char body[1600];
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Content-Length: %zu\r\n\r\n", strlen(body));
    char *head = fedge_malloc(sizeof(options_msg) + sizeof(hdr));
    snprintf(head, sizeof(options_msg) + sizeof(hdr), "%s%s", options_msg, hdr);
    snprintf(msg, sizeof(msg), "%s/big.sip", dir);
    write_text(msg, head, body, "");
    free(head);

    const char *plain[] = {msg};
    run_t r = run_parse(NULL, 1, plain);
    assert_int_equal(r.rc, 0);
    run_free(&r);

    const char *with_c[] = {"-c", ini, msg};
    r = run_parse(NULL, 3, with_c);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, ""); /* the INI file was not parsed as SIP */
    char want[256];
    snprintf(want, sizeof(want), "invalid: %s (%s)\n", fedge_strerror(FEDGE_ESIP_TOO_BIG), msg);
    assert_string_equal(r.err, want);
    run_free(&r);

    const char *c_after[] = {msg, "--config", ini};
    r = run_parse(NULL, 3, c_after);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, want);
    run_free(&r);

    /* a configuration that does not load: usage/configuration error, 2 */
    const char *bad_c[] = {"-c", msg, msg};
    r = run_parse(NULL, 3, bad_c);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.out, "");
    run_free(&r);

    const char *no_value[] = {msg, "-c"};
    r = run_parse(NULL, 2, no_value);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "-c needs a value"));
    run_free(&r);

    const char *only_c[] = {"-c", ini};
    r = run_parse(NULL, 2, only_c);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "no MESSAGE file"));
    run_free(&r);

    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void help_has_examples(void **state)
{
    (void)state;
    const char *args[] = {"x.sip", "--help"};
    run_t r = run_parse(NULL, 2, args);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "usage: fedge parse"));
    assert_non_null(strstr(r.out, "examples:"));
    assert_string_equal(r.err, "");
    run_free(&r);
}

int main(void)
{
    if (td_load(&cases, "valid") < 0 || td_load(&cases, "invalid") < 0) {
        fprintf(stderr, "test_cli_parse: tests/data/sip not found (run from the repo root or set "
                        "FEDGE_ROOT)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_cases_print_json), cmocka_unit_test(invalid_cases_say_why),
        cmocka_unit_test(typed_fields_in_json),   cmocka_unit_test(exit_codes),
        cmocka_unit_test(leading_crlf_skipped),   cmocka_unit_test(config_limits_apply),
        cmocka_unit_test(help_has_examples),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    td_free(&cases);
    return rc;
}
