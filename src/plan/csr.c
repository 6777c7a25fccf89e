/* csr.c — `fedge plan --csr`: the certificate request for exactly the names
 * the plan requires (the SRV target — the pool FQDN on a pool member — the
 * edge FQDN, the SIP domains and their sip: URIs; serverAuth and
 * clientAuth), as an OpenSSL request configuration and, given a key, as a
 * PEM CSR made with OpenSSL's API. */
#include "plan/plan_int.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_USAGE "critical, digitalSignature, keyEncipherment"
#define EXT_KEY_USAGE "serverAuth, clientAuth"

/* "DNS:a, DNS:b, URI:sip:c": the plan's SANs, and the edge's own FQDN on a
 * pool member (reached by it too; the plan's first name is the pool's). */
static char *san_list(const plan_t *p)
{
    size_t n = 1;
    for (size_t i = 0; i < p->cert.n_sans; i++)
        n += strlen(p->cert.sans[i]) + 2;
    n += strlen(p->edge_fqdn) + 8;
    char *s = fedge_malloc(n);
    size_t l = 0;
    s[0] = '\0';
    for (size_t i = 0; i < p->cert.n_sans; i++) {
        l += (size_t)snprintf(s + l, n - l, "%s%s", i ? ", " : "", p->cert.sans[i]);
        if (i == 0 && strcmp(p->edge_fqdn, p->srv_target))
            l += (size_t)snprintf(s + l, n - l, ", DNS:%s", p->edge_fqdn);
    }
    return s;
}

char *plan_csr_config(const plan_t *p)
{
    char *sans = san_list(p);
    char *t = plan__fmt("# OpenSSL request configuration for %s, written by fedge plan --csr:\n"
                        "# the names the plan requires (docs/planning.md).\n"
                        "#   openssl req -new -config THIS -key KEY -out REQUEST.csr\n"
                        "# or with a new ECDSA P-256 key:\n"
                        "#   openssl req -new -config THIS -newkey ec -pkeyopt "
                        "ec_paramgen_curve:prime256v1 -nodes -keyout KEY -out REQUEST.csr\n"
                        "[req]\n"
                        "prompt = no\n"
                        "default_md = sha256\n"
                        "distinguished_name = dn\n"
                        "req_extensions = ext\n"
                        "\n"
                        "[dn]\n"
                        "CN = %s\n"
                        "\n"
                        "[ext]\n"
                        "subjectAltName = %s\n"
                        "extendedKeyUsage = " EXT_KEY_USAGE "\n"
                        "keyUsage = " KEY_USAGE "\n",
                        p->srv_target, p->srv_target, sans);
    free(sans);
    return t;
}

static int ossl_fail(fedge_err_t *err, int code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    int rc = fedge_err(err, code, "%s%s%s", what, r ? ": " : "", r ? r : "");
    ERR_clear_error();
    return rc;
}

static bool add_ext(STACK_OF(X509_EXTENSION) * exts, int nid, const char *value)
{
    X509_EXTENSION *x = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
    if (!x)
        return false;
    sk_X509_EXTENSION_push(exts, x);
    return true;
}

int plan_csr(const plan_t *p, const char *key_path, char **pem, fedge_err_t *err)
{
    *pem = NULL;
    ERR_clear_error();
    FILE *f = fopen(key_path, "r");
    if (!f)
        return fedge_err(err, FEDGE_EIO, "%s: cannot open the private key", key_path);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key) {
        ERR_clear_error();
        return fedge_err(err, FEDGE_EINVAL, "%s: no unencrypted PEM private key", key_path);
    }
    int rc = 0;
    char *sans = san_list(p);
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    const char *cn = p->srv_target;
    /* Ed25519/Ed448 sign without a separate digest */
    const EVP_MD *md =
        EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? NULL : EVP_sha256();
    if (!req || !name || !exts || !X509_REQ_set_version(req, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_REQ_set_subject_name(req, name) || !add_ext(exts, NID_subject_alt_name, sans) ||
        !add_ext(exts, NID_ext_key_usage, EXT_KEY_USAGE) ||
        !add_ext(exts, NID_key_usage, KEY_USAGE) || !X509_REQ_add_extensions(req, exts) ||
        !X509_REQ_set_pubkey(req, key) || X509_REQ_sign(req, key, md) <= 0) {
        rc = ossl_fail(err, FEDGE_EINVAL, "cannot make the certificate request");
        goto done;
    }
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_X509_REQ(b, req) != 1) {
        BIO_free(b);
        rc = ossl_fail(err, FEDGE_EINVAL, "cannot write the certificate request");
        goto done;
    }
    char *data;
    long len = BIO_get_mem_data(b, &data);
    *pem = fedge_malloc((size_t)len + 1);
    memcpy(*pem, data, (size_t)len);
    (*pem)[len] = '\0';
    BIO_free(b);
done:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    free(sans);
    return rc;
}
