/* test_cert.c — edge__cert_judge, the edge's own certificate judged at
 * start, on reload and daily (src/edge/cert.c), on real certificates from
 * scripts/gen-certs at chosen moments of their validity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "edge/edge_int.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char pki[64];
static char crt[128], wild[128];
static time_t nb, na; /* validity of crt */

static int group_setup(void **state)
{
    (void)state;
    snprintf(pki, sizeof pki, "/tmp/fedge-cert-pki-XXXXXX");
    if (!mkdtemp(pki))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "scripts/gen-certs %s >/dev/null && "
             "scripts/gen-certs %s wild.contoso.test 'DNS:*.contoso.test' >/dev/null",
             pki, pki);
    if (system(cmd) != 0)
        return -1;
    snprintf(crt, sizeof crt, "%s/edge.contoso.test.crt", pki);
    snprintf(wild, sizeof wild, "%s/wild.contoso.test.crt", pki);
    FILE *f = fopen(crt, "r");
    if (!f)
        return -1;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return -1;
    struct tm tm = {0};
    ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm);
    nb = timegm(&tm);
    memset(&tm, 0, sizeof tm);
    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
    na = timegm(&tm);
    X509_free(x);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_valid_names_the_edge(void **state)
{
    (void)state;
    char warn[512];
    fedge_err_t e;
    assert_int_equal(edge__cert_judge(crt, "edge.contoso.test", nb + 86400, warn, sizeof warn, &e),
                     0);
    assert_string_equal(warn, "");
    /* case-insensitive, as partners compare (RFC 5922 7.2) */
    assert_int_equal(edge__cert_judge(crt, "EDGE.contoso.test", nb + 86400, warn, sizeof warn, &e),
                     0);
}

static void test_warns_within_30_days(void **state)
{
    (void)state;
    char warn[512];
    fedge_err_t e;
    /* 31 days left: quiet; 29.5 days: warned, with the days left */
    assert_int_equal(
        edge__cert_judge(crt, "edge.contoso.test", na - 31 * 86400, warn, sizeof warn, &e), 0);
    assert_string_equal(warn, "");
    assert_int_equal(
        edge__cert_judge(crt, "edge.contoso.test", na - 29 * 86400 - 43200, warn, sizeof warn, &e),
        0);
    assert_non_null(strstr(warn, crt));
    assert_non_null(strstr(warn, "the certificate expires on"));
    assert_non_null(strstr(warn, "in 29 days; renew it now"));
}

static void test_expired_and_not_yet_valid_refused(void **state)
{
    (void)state;
    char warn[512];
    fedge_err_t e;
    assert_int_equal(edge__cert_judge(crt, "edge.contoso.test", na, warn, sizeof warn, &e),
                     FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, crt));
    assert_non_null(strstr(e.msg, "the certificate expired on"));
    assert_int_equal(edge__cert_judge(crt, "edge.contoso.test", nb - 60, warn, sizeof warn, &e),
                     FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "the certificate is not valid before"));
}

static void test_other_name_refused(void **state)
{
    (void)state;
    char warn[512];
    fedge_err_t e;
    assert_int_equal(edge__cert_judge(crt, "edge2.contoso.test", nb + 86400, warn, sizeof warn, &e),
                     FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "the certificate names DNS:edge.contoso.test, DNS:contoso.test, "
                                  "URI:sip:contoso.test, not edge2.contoso.test"));
    /* a wildcard is refused, and the reason is told */
    assert_int_equal(edge__cert_judge(wild, "edge.contoso.test", time(NULL), warn, sizeof warn, &e),
                     FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "a wildcard does not count for SIP"));
}

static void test_unreadable(void **state)
{
    (void)state;
    char warn[512];
    fedge_err_t e;
    assert_int_equal(edge__cert_judge("/nonexistent/x.crt", "edge.contoso.test", time(NULL), warn,
                                      sizeof warn, &e),
                     FEDGE_EIO);
    assert_non_null(strstr(e.msg, "/nonexistent/x.crt"));
    char key[128];
    snprintf(key, sizeof key, "%s/ca.key", pki);
    assert_int_equal(edge__cert_judge(key, "edge.contoso.test", time(NULL), warn, sizeof warn, &e),
                     FEDGE_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_names_the_edge),
        cmocka_unit_test(test_warns_within_30_days),
        cmocka_unit_test(test_expired_and_not_yet_valid_refused),
        cmocka_unit_test(test_other_name_refused),
        cmocka_unit_test(test_unreadable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
