/* test_auth.c — unit tests of the admin server's pure security parts:
 * scrypt password hashing and verification (checked against OpenSSL's
 * EVP_PBE_scrypt), tokens, constant-time equality, the login throttle and
 * the session table (explicit time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"

static const uint8_t SALT[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static void test_hash_format_and_verify(void **state)
{
    char h[ADMIN_HASH_MAX];
    fedge_err_t e;
    assert_int_equal(
        admin_password_hash_with("correct horse", 10, SALT, sizeof(SALT), h, sizeof(h), &e), 0);
    assert_true(strncmp(h, "scrypt$10$8$1$000102030405060708090a0b0c0d0e0f$", 47) == 0);
    assert_int_equal(strlen(h), 47 + 64);
    assert_true(admin_password_verify("correct horse", h));
    assert_false(admin_password_verify("correct horsf", h));
    assert_false(admin_password_verify("correct hors", h));
    assert_false(admin_password_verify("", h));
    assert_false(admin_password_verify(NULL, h));
}

/* The key is scrypt as OpenSSL's independent EVP_PBE_scrypt computes it. */
static void test_hash_matches_openssl(void **state)
{
    char h[ADMIN_HASH_MAX];
    fedge_err_t e;
    assert_int_equal(admin_password_hash_with("pässwörd", 11, SALT, sizeof(SALT), h, sizeof(h), &e),
                     0);
    uint8_t key[32];
    assert_int_equal(EVP_PBE_scrypt("pässwörd", strlen("pässwörd"), SALT, sizeof(SALT), 2048, 8, 1,
                                    0, key, sizeof(key)),
                     1);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    assert_string_equal(strrchr(h, '$') + 1, hex);
}

static void test_hash_default_is_salted(void **state)
{
    char a[ADMIN_HASH_MAX], b[ADMIN_HASH_MAX];
    fedge_err_t e;
    assert_int_equal(admin_password_hash("same password", a, sizeof(a), &e), 0);
    assert_int_equal(admin_password_hash("same password", b, sizeof(b), &e), 0);
    assert_true(strncmp(a, "scrypt$15$8$1$", 14) == 0);
    assert_string_not_equal(a, b); /* a fresh salt each time */
    assert_true(admin_password_verify("same password", a));
    assert_true(admin_password_verify("same password", b));
    char small[40];
    assert_int_equal(
        admin_password_hash_with("x", 10, SALT, sizeof(SALT), small, sizeof(small), &e),
        FEDGE_ENOSPC);
    assert_int_equal(admin_password_hash_with("x", 9, SALT, sizeof(SALT), a, sizeof(a), &e),
                     FEDGE_EINVAL);
    assert_int_equal(admin_password_hash_with("x", 10, SALT, 8, a, sizeof(a), &e), FEDGE_EINVAL);
}

static void test_verify_malformed(void **state)
{
    char h[ADMIN_HASH_MAX];
    fedge_err_t e;
    assert_int_equal(admin_password_hash_with("pw", 10, SALT, sizeof(SALT), h, sizeof(h), &e), 0);
    const char *bad[] = {
        "",
        "scrypt$",
        "bcrypt$10$8$1$x$y",
        "scrypt$10$8$1$",
        "scrypt$30$8$1$00$00",
        "scrypt$10$8$1$000102030405060708090a0b0c0d0e0f$00", /* short key */
        "scrypt$10$8$1$0001$a1",                             /* short salt */
        "scrypt$10$0$1$000102030405060708090a0b0c0d0e0f$"
        "0000000000000000000000000000000000000000000000000000000000000000", /* r 0 */
        "scrypt$10$8$1$000102030405060708090a0b0c0d0e0g$"
        "0000000000000000000000000000000000000000000000000000000000000000", /* not hex */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(admin_password_verify("pw", bad[i]));
    assert_false(admin_password_verify("pw", NULL));
    /* The same text with its key's last digit changed. */
    h[strlen(h) - 1] = h[strlen(h) - 1] == '0' ? '1' : '0';
    assert_false(admin_password_verify("pw", h));
    /* Uppercase hex is not what we write: refused rather than guessed. */
    assert_int_equal(admin_password_hash_with("pw", 10, SALT, sizeof(SALT), h, sizeof(h), &e), 0);
    for (char *p = h + 14; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    assert_false(admin_password_verify("pw", h));
}

static void test_password_check(void **state)
{
    fedge_err_t e;
    assert_int_equal(admin_password_check("12345678", &e), 0);
    assert_int_equal(admin_password_check("1234567", &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "password"));
    assert_int_equal(admin_password_check("good one\tno", &e), FEDGE_EINVAL);
    assert_int_equal(admin_password_check(NULL, &e), FEDGE_EINVAL);
    char longpw[ADMIN_PASSWORD_MAX + 2];
    memset(longpw, 'a', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0';
    assert_int_equal(admin_password_check(longpw, &e), FEDGE_EINVAL);
    longpw[ADMIN_PASSWORD_MAX] = '\0';
    assert_int_equal(admin_password_check(longpw, &e), 0);
}

static void test_tokens(void **state)
{
    char a[ADMIN__HEX], b[ADMIN__HEX];
    fedge_err_t e;
    assert_int_equal(admin__random_hex(a, &e), 0);
    assert_int_equal(admin__random_hex(b, &e), 0);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    assert_string_not_equal(a, b);
    char h[ADMIN__HEX];
    admin__sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(admin__ct_equal("abc", "abc"));
    assert_false(admin__ct_equal("abc", "abd"));
    assert_false(admin__ct_equal("abc", "abcd"));
    assert_false(admin__ct_equal("", "a"));
    assert_true(admin__ct_equal("", ""));
    assert_false(admin__ct_equal(NULL, "a"));
    assert_false(admin__ct_equal("a", NULL));
}

static void test_delays(void **state)
{
    for (uint32_t f = 0; f <= 3; f++)
        assert_int_equal(admin__delay_s(f, 3), 0);
    assert_int_equal(admin__delay_s(4, 3), 1);
    assert_int_equal(admin__delay_s(5, 3), 2);
    assert_int_equal(admin__delay_s(6, 3), 4);
    assert_int_equal(admin__delay_s(12, 3), 256);
    assert_int_equal(admin__delay_s(13, 3), ADMIN__DELAY_MAX_S);
    assert_int_equal(admin__delay_s(UINT32_MAX, 3), ADMIN__DELAY_MAX_S);
    assert_int_equal(admin__delay_s(10, 10), 0);
    assert_int_equal(admin__delay_s(11, 10), 1);
}

static void test_guard_account(void **state)
{
    admin__guard_t *g = admin__guard_new(64);
    int64_t t = 1000000;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(admin__guard_wait(g, "alice", "10.0.0.1", t), 0);
        admin__guard_fail(g, "alice", "10.0.0.1", t);
    }
    assert_int_equal(admin__guard_wait(g, "alice", "10.0.0.1", t), 0); /* 3 are free */
    admin__guard_fail(g, "alice", "10.0.0.1", t);
    assert_int_equal(admin__guard_wait(g, "alice", "10.0.0.1", t), 1000);
    assert_int_equal(admin__guard_wait(g, "alice", "10.0.0.2", t + 400), 600); /* any address */
    assert_int_equal(admin__guard_wait(g, "bob", "10.0.0.2", t), 0);           /* other name */
    assert_int_equal(admin__guard_wait(g, "alice", "10.0.0.1", t + 1000), 0);
    admin__guard_fail(g, "alice", "10.0.0.1", t + 1000);
    assert_int_equal(admin__guard_wait(g, "alice", "10.0.0.1", t + 1000), 2000);
    /* Success forgets. */
    admin__guard_ok(g, "alice", "10.0.0.1");
    assert_int_equal(admin__guard_wait(g, "alice", "10.0.0.1", t + 1000), 0);
    /* Old failures are forgotten. */
    for (int i = 0; i < 6; i++)
        admin__guard_fail(g, "carol", "10.0.0.3", t);
    assert_true(admin__guard_wait(g, "carol", "10.0.0.9", t) > 0);
    assert_int_equal(admin__guard_wait(g, "carol", "10.0.0.9", t + ADMIN__FORGET_S * 1000 + 1), 0);
    admin__guard_free(g);
}

static void test_guard_address(void **state)
{
    admin__guard_t *g = admin__guard_new(64);
    int64_t t = 5000;
    char name[16];
    for (int i = 0; i < ADMIN__FREE_IP + 1; i++) {
        snprintf(name, sizeof(name), "u%d", i);
        admin__guard_fail(g, name, "192.0.2.7", t);
    }
    assert_int_equal(admin__guard_wait(g, "fresh", "192.0.2.7", t), 1000);
    assert_int_equal(admin__guard_wait(g, "fresh", "192.0.2.8", t), 0);
    admin__guard_free(g);
}

static void test_guard_bounded(void **state)
{
    admin__guard_t *g = admin__guard_new(4);
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        admin__guard_fail(g, name, "198.51.100.1", i);
    }
    /* Still answers; the stalest entries were evicted, recent ones kept. */
    assert_int_equal(admin__guard_wait(g, "n0", "198.51.100.2", 100), 0);
    admin__guard_free(g);
}

/* Removals in the middle (success, expiry) move the last entry into the
 * hole: every other entry must still be found under its own key. */
static void test_guard_removals_keep_others(void **state)
{
    admin__guard_t *g = admin__guard_new(64);
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        for (int k = 0; k < ADMIN__FREE_ACCOUNT + 1; k++)
            admin__guard_fail(g, name, "203.0.113.1", 0);
    }
    for (int i = 0; i < 40; i += 3) {
        snprintf(name, sizeof(name), "user%d", i);
        admin__guard_ok(g, name, "203.0.113.9");
    }
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        uint32_t w = admin__guard_wait(g, name, "203.0.113.9", 500);
        assert_int_equal(w, i % 3 == 0 ? 0 : 500);
    }
    admin__guard_free(g);
}

static void test_sessions_many_and_end_in_middle(void **state)
{
    enum { N = 8 };
    admin__sessions_t *ss = admin__sessions_new(N, 60, 600);
    char id[N][ADMIN__HEX], csrf[ADMIN__HEX];
    fedge_err_t e;
    for (int i = 0; i < N; i++) {
        char acct[16];
        snprintf(acct, sizeof(acct), "acct%d", i);
        assert_int_equal(admin__session_new(ss, acct, "fp", 100 + i, id[i], csrf, &e), 0);
    }
    admin__session_end(ss, id[2]);
    admin__session_end(ss, id[5]);
    assert_int_equal(admin__session_count(ss), N - 2);
    for (int i = 0; i < N; i++) {
        admin__session_t *s = admin__session_get(ss, id[i], 120);
        if (i == 2 || i == 5) {
            assert_null(s);
            continue;
        }
        assert_non_null(s);
        char acct[16];
        snprintf(acct, sizeof(acct), "acct%d", i);
        assert_string_equal(s->account, acct);
    }
    /* full again, then one more: the least recently used (acct0) ends */
    assert_int_equal(admin__session_new(ss, "x", "fp", 130, id[2], csrf, &e), 0);
    assert_int_equal(admin__session_new(ss, "y", "fp", 131, id[5], csrf, &e), 0);
    char extra[ADMIN__HEX];
    assert_int_equal(admin__session_new(ss, "z", "fp", 132, extra, csrf, &e), 0);
    assert_int_equal(admin__session_count(ss), N);
    assert_null(admin__session_get(ss, id[0], 133));
    assert_string_equal(admin__session_get(ss, extra, 133)->account, "z");
    assert_string_equal(admin__session_get(ss, id[7], 133)->account, "acct7");
    admin__sessions_free(ss);
}

static void test_sessions(void **state)
{
    admin__sessions_t *ss = admin__sessions_new(2, 60, 600);
    char id[ADMIN__HEX], csrf[ADMIN__HEX], id2[ADMIN__HEX], csrf2[ADMIN__HEX];
    fedge_err_t e;
    assert_int_equal(admin__session_new(ss, "alice", "fp", 100, id, csrf, &e), 0);
    admin__session_t *s = admin__session_get(ss, id, 110);
    assert_non_null(s);
    assert_string_equal(s->account, "alice");
    assert_string_equal(s->csrf, csrf);
    assert_string_not_equal(s->id_hash, id); /* only the hash is kept */
    assert_string_not_equal(id, csrf);
    assert_null(admin__session_get(ss, csrf, 110));
    assert_null(admin__session_get(ss, "short", 110));
    assert_null(admin__session_get(ss, NULL, 110));
    char wrong[ADMIN__HEX];
    memcpy(wrong, id, sizeof(wrong));
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    assert_null(admin__session_get(ss, wrong, 110));
    /* Idle timeout slides with use... */
    assert_non_null(admin__session_get(ss, id, 165));
    assert_non_null(admin__session_get(ss, id, 220));
    /* ...but not past the absolute limit. */
    for (int64_t t = 270; t <= 690; t += 50)
        assert_non_null(admin__session_get(ss, id, t));
    assert_null(admin__session_get(ss, id, 701));
    assert_int_equal(admin__session_count(ss), 0);
    /* Idle too long. */
    assert_int_equal(admin__session_new(ss, "alice", "fp", 1000, id, csrf, &e), 0);
    assert_null(admin__session_get(ss, id, 1061));
    /* Logout. */
    assert_int_equal(admin__session_new(ss, "alice", "fp", 2000, id, csrf, &e), 0);
    admin__session_end(ss, id);
    assert_null(admin__session_get(ss, id, 2000));
    admin__session_end(ss, id); /* twice: harmless */
    /* Full: the least recently used one goes. */
    assert_int_equal(admin__session_new(ss, "a", "fp", 3000, id, csrf, &e), 0);
    assert_int_equal(admin__session_new(ss, "b", "fp", 3001, id2, csrf2, &e), 0);
    assert_non_null(admin__session_get(ss, id, 3002)); /* a used more recently than b */
    char id3[ADMIN__HEX], csrf3[ADMIN__HEX];
    assert_int_equal(admin__session_new(ss, "c", "fp", 3003, id3, csrf3, &e), 0);
    assert_int_equal(admin__session_count(ss), 2);
    assert_null(admin__session_get(ss, id2, 3004));
    assert_non_null(admin__session_get(ss, id, 3004));
    assert_non_null(admin__session_get(ss, id3, 3004));
    admin__sessions_free(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_format_and_verify),
        cmocka_unit_test(test_hash_matches_openssl),
        cmocka_unit_test(test_hash_default_is_salted),
        cmocka_unit_test(test_verify_malformed),
        cmocka_unit_test(test_password_check),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_delays),
        cmocka_unit_test(test_guard_account),
        cmocka_unit_test(test_guard_address),
        cmocka_unit_test(test_guard_bounded),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_guard_removals_keep_others),
        cmocka_unit_test(test_sessions_many_and_end_in_middle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
