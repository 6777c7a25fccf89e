/* auth.c — administrator passwords (scrypt through OpenSSL's EVP_KDF,
 * salted, compared in constant time) and the random tokens of sessions and
 * CSRF protection. */
#include "admin/admin_int.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define KEY_LEN 32
#define LOG2N_DEFAULT 15
#define R_DEFAULT 8
#define P_DEFAULT 1

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

int admin_password_check(const char *pw, fedge_err_t *err)
{
    size_t len = pw ? strlen(pw) : 0;
    if (len < ADMIN_PASSWORD_MIN || len > ADMIN_PASSWORD_MAX)
        return fedge_err(err, FEDGE_EINVAL, "password: expected %d to %d characters, got %zu",
                         ADMIN_PASSWORD_MIN, ADMIN_PASSWORD_MAX, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
            return fedge_err(err, FEDGE_EINVAL, "password: control characters are not allowed");
    return 0;
}

static int scrypt(const char *pw, const uint8_t *salt, size_t saltlen, unsigned log2n, unsigned r,
                  unsigned p, uint8_t *key, size_t keylen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    if (!kdf)
        return -1;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    uint64_t n = (uint64_t)1 << log2n;
    uint32_t rr = r, pp = p;
    uint64_t maxmem = (uint64_t)1 << 30;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, strlen(pw)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, key, keylen, params);
    EVP_KDF_CTX_free(ctx);
    return ok == 1 ? 0 : -1;
}

int admin_password_hash_with(const char *pw, unsigned log2n, const uint8_t *salt, size_t saltlen,
                             char *out, size_t outsz, fedge_err_t *err)
{
    if (!pw || log2n < 10 || log2n > 20 || saltlen != SALT_LEN)
        return fedge_err(err, FEDGE_EINVAL, "password hash: bad parameters");
    uint8_t key[KEY_LEN];
    if (scrypt(pw, salt, saltlen, log2n, R_DEFAULT, P_DEFAULT, key, sizeof(key)) < 0)
        return fedge_err(err, FEDGE_EIO, "password hash: OpenSSL scrypt failed");
    char sh[2 * SALT_LEN + 1], kh[2 * KEY_LEN + 1];
    hex(salt, saltlen, sh);
    hex(key, sizeof(key), kh);
    OPENSSL_cleanse(key, sizeof(key));
    int n = snprintf(out, outsz, "scrypt$%u$%u$%u$%s$%s", log2n, R_DEFAULT, P_DEFAULT, sh, kh);
    if (n < 0 || (size_t)n >= outsz)
        return fedge_err(err, FEDGE_ENOSPC, "password hash: buffer too small");
    return 0;
}

int admin_password_hash(const char *pw, char *out, size_t outsz, fedge_err_t *err)
{
    uint8_t salt[SALT_LEN];
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return fedge_err(err, FEDGE_EIO, "password hash: no random bytes from OpenSSL");
    return admin_password_hash_with(pw, LOG2N_DEFAULT, salt, sizeof(salt), out, outsz, err);
}

bool admin_password_verify(const char *pw, const char *stored)
{
    if (!pw || !stored || strncmp(stored, "scrypt$", 7) != 0)
        return false;
    /* scrypt$LOG2N$R$P$SALT$KEY */
    unsigned log2n, r, p;
    int off = 0;
    if (sscanf(stored + 7, "%2u$%2u$%2u$%n", &log2n, &r, &p, &off) != 3 || off == 0)
        return false;
    if (log2n < 10 || log2n > 20 || r < 1 || r > 32 || p < 1 || p > 16)
        return false;
    const char *salt_hex = stored + 7 + off;
    const char *dollar = strchr(salt_hex, '$');
    if (!dollar)
        return false;
    uint8_t salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
    if (unhex(salt_hex, (size_t)(dollar - salt_hex), salt, sizeof(salt)) < 0 ||
        unhex(dollar + 1, strlen(dollar + 1), want, sizeof(want)) < 0)
        return false;
    if (scrypt(pw, salt, sizeof(salt), log2n, r, p, got, sizeof(got)) < 0)
        return false;
    bool ok = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}

int admin__random_hex(char out[ADMIN__HEX], fedge_err_t *err)
{
    uint8_t b[32];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return fedge_err(err, FEDGE_EIO, "no random bytes from OpenSSL");
    hex(b, sizeof(b), out);
    OPENSSL_cleanse(b, sizeof(b));
    return 0;
}

void admin__sha256_hex(const char *s, size_t len, char out[ADMIN__HEX])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, len, md);
    hex(md, sizeof(md), out);
}

bool admin__ct_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}
