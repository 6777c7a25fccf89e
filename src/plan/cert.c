/* cert.c — reading certificates with OpenSSL (names, EKUs, validity, key)
 * and the checks of the edge's own external certificate against the plan. */
#include "plan/plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static char *name_line(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *s = fedge_strndup(data, (size_t)len);
    BIO_free(b);
    return s;
}

void plan__cert_from_x509(X509 *x, plan_cert_t *c)
{
    memset(c, 0, sizeof *c);
    c->subject = name_line(X509_get_subject_name(x));
    c->issuer = name_line(X509_get_issuer_name(x));
    c->id = net_peer_from_x509(x);
    uint32_t xku = X509_get_extended_key_usage(x);
    c->has_eku = (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0;
    c->eku_server = !c->has_eku || (xku & XKU_SSL_SERVER);
    c->eku_client = !c->has_eku || (xku & XKU_SSL_CLIENT);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
        c->not_before = timegm(&tm);
    memset(&tm, 0, sizeof tm);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        c->not_after = timegm(&tm);
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (pk) {
        c->key_bits = EVP_PKEY_get_bits(pk);
        const char *tn = EVP_PKEY_get0_type_name(pk);
        snprintf(c->key_type, sizeof c->key_type, "%s", tn ? tn : "?");
        char g[64];
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(pk, "group", g, sizeof g, &gl) == 1)
            c->curve = fedge_strdup(g);
    }
    c->self_signed = X509_check_issued(x, x) == X509_V_OK;
    ERR_clear_error();
}

int plan_cert_load(const char *path, plan_cert_t *c, fedge_err_t *err)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f)
        return fedge_err(err, FEDGE_EIO, "%s: cannot open: %m", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) {
        ERR_clear_error();
        return fedge_err(err, FEDGE_EINVAL, "%s: no PEM certificate in it", path);
    }
    plan__cert_from_x509(x, c);
    X509_free(x);
    return 0;
}

void plan_cert_clear(plan_cert_t *c)
{
    free(c->subject), free(c->issuer), free(c->curve);
    net_peer_free(c->id);
    memset(c, 0, sizeof *c);
}

char *plan__cert_names_text(const plan_cert_t *c, size_t max, const char *cn_note)
{
    char *buf = fedge_calloc(1, max);
    const net_peer_t *id = c->id;
    for (size_t i = 0; id && i < id->n_dns; i++)
        snprintf(buf + strlen(buf), max - strlen(buf), "%sDNS:%s", buf[0] ? ", " : "", id->dns[i]);
    for (size_t i = 0; id && i < id->n_sip; i++)
        snprintf(buf + strlen(buf), max - strlen(buf), "%sURI:sip:%s", buf[0] ? ", " : "",
                 id->sip[i]);
    if (id && id->cn) /* only without subjectAltName */
        snprintf(buf, max, "CN=%s%s", id->cn, cn_note);
    if (!buf[0])
        snprintf(buf, max, "no names");
    return buf;
}

static void day_text(time_t t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Verifies the leaf of cert_path with the file's other certificates as
 * intermediates against the trust anchors. Returns X509_V_OK or the error. */
static long verify_chain(const char *cert_path, const char *ca_file, const char *ca_path, char *why,
                         size_t n)
{
    long res = X509_V_ERR_UNSPECIFIED;
    FILE *f = fopen(cert_path, "r");
    if (!f) {
        snprintf(why, n, "cannot open %s", cert_path);
        return res;
    }
    X509 *leaf = PEM_read_X509(f, NULL, NULL, NULL);
    STACK_OF(X509) *inter = sk_X509_new_null();
    X509 *x;
    while (leaf && (x = PEM_read_X509(f, NULL, NULL, NULL)))
        sk_X509_push(inter, x);
    fclose(f);
    ERR_clear_error();
    X509_STORE *st = X509_STORE_new();
    if (ca_file || ca_path) {
        if (X509_STORE_load_locations(st, ca_file, ca_path) != 1) {
            snprintf(why, n, "cannot load the trust anchors %s", ca_file ? ca_file : ca_path);
            goto out;
        }
    } else {
        X509_STORE_set_default_paths(st);
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (leaf && X509_STORE_CTX_init(ctx, st, leaf, inter) == 1) {
        /* the edge's certificate serves both roles; check the chain alone */
        res = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
        snprintf(why, n, "%s", X509_verify_cert_error_string(res));
    }
    X509_STORE_CTX_free(ctx);
out:
    X509_STORE_free(st);
    X509_free(leaf);
    sk_X509_pop_free(inter, X509_free);
    ERR_clear_error();
    return res;
}

static bool key_matches(const char *cert_path, const char *key_path, char *why, size_t n)
{
    bool ok = false;
    FILE *f = fopen(cert_path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    f = fopen(key_path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!x)
        snprintf(why, n, "%s holds no PEM certificate", cert_path);
    else if (!k)
        snprintf(why, n, "%s holds no PEM private key (or it is encrypted)", key_path);
    else if (X509_check_private_key(x, k) != 1)
        snprintf(why, n, "%s is not the key of %s", key_path, cert_path);
    else
        ok = true;
    X509_free(x);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return ok;
}

void plan_check_cert(const char *cert_path, const char *key_path, const char *ca_file,
                     const char *ca_path, const char *fqdn, const char *const *domains,
                     size_t n_domains, time_t now, plan_report_t *r)
{
    plan_cert_t c;
    fedge_err_t e = {{0}};
    char *name = plan__fmt("certificate %s", cert_path);
    if (plan_cert_load(cert_path, &c, &e) < 0) {
        plan_report_add(r, "cert", name, PLAN_FAIL, PLAN_DIAG_CERT_UNREADABLE, e.msg,
                        "point [external] certificate at the PEM file of the edge's certificate",
                        NULL);
        free(name);
        return;
    }
    char *names = plan__cert_names_text(&c, 1024, " (no subjectAltName)");
    char na[40], nb[40];
    day_text(c.not_after, na, sizeof na);
    day_text(c.not_before, nb, sizeof nb);
    plan_report_add(r, "cert", name, PLAN_INFO, 0,
                    plan__tmp("subject %s, issuer %s, names %s, valid until %s", c.subject,
                              c.issuer, names, na),
                    NULL,
                    json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "subject", c.subject, "issuer", c.issuer,
                              "names", names, "not_after", na, "key_type", c.key_type, "key_bits",
                              c.key_bits));

    char why[300];
    if (key_matches(cert_path, key_path, why, sizeof why))
        plan_report_add(r, "cert", "key matches certificate", PLAN_PASS, 0,
                        plan__tmp("%s is the key of the certificate", key_path), NULL, NULL);
    else
        plan_report_add(r, "cert", "key matches certificate", PLAN_FAIL, PLAN_DIAG_CERT_KEY, why,
                        "point [external] private_key at the key the certificate was issued for "
                        "(or request a new certificate for this key)",
                        NULL);

    long v = verify_chain(cert_path, ca_file, ca_path, why, sizeof why);
    const char *anchors = ca_file ? ca_file : ca_path ? ca_path : "the system trust store";
    /* [external] ca_file holds the anchors for partners' certificates; our
     * own certificate from a public CA verifies against the system store,
     * which is what partners use. */
    char why2[300];
    if (v != X509_V_OK && (ca_file || ca_path) &&
        verify_chain(cert_path, NULL, NULL, why2, sizeof why2) == X509_V_OK)
        plan_report_add(r, "cert", "chain verifies", PLAN_PASS, 0,
                        plan__tmp("issuer %s verifies against the system trust store (not "
                                  "against %s, which holds the partners' anchors)",
                                  c.issuer, anchors),
                        NULL, NULL);
    else if (v == X509_V_OK)
        plan_report_add(r, "cert", "chain verifies", PLAN_PASS, 0,
                        plan__tmp("issuer %s verifies against %s", c.issuer, anchors), NULL, NULL);
    else
        plan_report_add(
            r, "cert", "chain verifies",
            v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID ? PLAN_WARN
                                                                                   : PLAN_FAIL,
            PLAN_DIAG_CERT_CHAIN, plan__tmp("does not verify against %s: %s", anchors, why),
            c.self_signed ? "replace the self-signed certificate by one from a CA partners trust"
                          : "append the issuing CA's intermediate certificates to the "
                            "certificate file, and get it from a CA partners trust",
            NULL);

    if (net_cert_names(c.id, fqdn))
        plan_report_add(r, "cert", plan__tmp("names %s", fqdn), PLAN_PASS, 0,
                        plan__tmp("the certificate names the edge FQDN %s", fqdn), NULL, NULL);
    else
        plan_report_add(r, "cert", plan__tmp("names %s", fqdn), PLAN_FAIL, PLAN_DIAG_CERT_SAN_FQDN,
                        plan__tmp("the certificate names %s, not the edge FQDN %s%s", names, fqdn,
                                  net_cert_wildcard_only(c.id, fqdn)
                                      ? " (a wildcard does not count for SIP, RFC 5922 7.2)"
                                      : ""),
                        plan__tmp("get a certificate with subjectAltName DNS:%s (partners "
                                  "check it against our SRV target)",
                                  fqdn),
                        NULL);
    for (size_t i = 0; i < n_domains; i++) {
        if (!strcasecmp(domains[i], fqdn))
            continue;
        if (net_cert_names(c.id, domains[i]))
            plan_report_add(r, "cert", plan__tmp("names %s", domains[i]), PLAN_PASS, 0,
                            plan__tmp("the certificate names the SIP domain %s", domains[i]), NULL,
                            NULL);
        else
            plan_report_add(r, "cert", plan__tmp("names %s", domains[i]), PLAN_WARN,
                            PLAN_DIAG_CERT_SAN_DOMAIN,
                            plan__tmp("the certificate does not name the SIP domain %s "
                                      "(it names %s)",
                                      domains[i], names),
                            plan__tmp("add subjectAltName DNS:%s (and URI:sip:%s) at the "
                                      "next renewal: partners that verify by domain (RFC "
                                      "5922) need it",
                                      domains[i], domains[i]),
                            NULL);
    }

    if (c.eku_server && c.eku_client)
        plan_report_add(r, "cert", "EKU serverAuth and clientAuth", PLAN_PASS, 0,
                        c.has_eku ? "extendedKeyUsage has serverAuth and clientAuth"
                                  : "no extendedKeyUsage extension: fit for both roles",
                        NULL, NULL);
    else
        plan_report_add(r, "cert", "EKU serverAuth and clientAuth", PLAN_FAIL, PLAN_DIAG_CERT_EKU,
                        plan__tmp("extendedKeyUsage lacks %s%s%s", c.eku_server ? "" : "serverAuth",
                                  !c.eku_server && !c.eku_client ? " and " : "",
                                  c.eku_client ? "" : "clientAuth"),
                        !c.eku_client ? "request the certificate with both serverAuth and "
                                        "clientAuth: partners refuse our outbound connections "
                                        "without clientAuth"
                                      : "request the certificate with both serverAuth and "
                                        "clientAuth: partners refuse to connect without "
                                        "serverAuth",
                        NULL);

    bool weak = (!strcmp(c.key_type, "RSA") && c.key_bits < 2048) ||
                (!strcmp(c.key_type, "EC") && c.key_bits < 256);
    plan_report_add(r, "cert", "key size", weak ? PLAN_FAIL : PLAN_PASS,
                    weak ? PLAN_DIAG_CERT_WEAK_KEY : 0,
                    plan__tmp("%s %d bits%s%s", c.key_type, c.key_bits, c.curve ? " " : "",
                              c.curve ? c.curve : ""),
                    weak ? "use RSA 2048 bits or more, or ECDSA P-256" : NULL, NULL);

    if (now < c.not_before)
        plan_report_add(r, "cert", "validity", PLAN_FAIL, PLAN_DIAG_CERT_EXPIRED,
                        plan__tmp("not valid before %s", nb),
                        "check the clock of this host, or wait until the certificate is valid",
                        NULL);
    else if (now >= c.not_after)
        plan_report_add(r, "cert", "validity", PLAN_FAIL, PLAN_DIAG_CERT_EXPIRED,
                        plan__tmp("expired on %s", na),
                        "renew the certificate (same names and EKUs) and reload fedge (SIGHUP)",
                        NULL);
    else if (c.not_after - now < 30 * 86400)
        plan_report_add(
            r, "cert", "validity", PLAN_WARN, PLAN_DIAG_CERT_EXPIRING,
            plan__tmp("expires on %s, in %ld days", na, (long)((c.not_after - now) / 86400)),
            "renew the certificate now (same names and EKUs), then reload fedge", NULL);
    else
        plan_report_add(
            r, "cert", "validity", PLAN_PASS, 0,
            plan__tmp("valid until %s (%ld days)", na, (long)((c.not_after - now) / 86400)), NULL,
            NULL);
    free(names);
    free(name);
    plan_cert_clear(&c);
}
