/* test_base.c — unit tests of the shared error contract and helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"

static void test_strerror_known_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(fedge_strerror(FEDGE_ESIP_VIA), "Malformed Via");
    assert_string_equal(fedge_strerror(-9999), "Unknown error");
}

static void test_framing_error_class(void **state)
{
    (void)state;
    assert_true(fedge_is_framing_error(FEDGE_ESIP_TOO_BIG));
    assert_true(fedge_is_framing_error(FEDGE_ESIP_GARBAGE));
    assert_false(fedge_is_framing_error(FEDGE_ESIP_VIA));
    assert_false(fedge_is_framing_error(FEDGE_EINVAL));
}

static void test_err_formats_and_returns_code(void **state)
{
    (void)state;
    fedge_err_t e;
    assert_int_equal(fedge_err(&e, FEDGE_EINVAL, "bad %s %d", "port", 7), FEDGE_EINVAL);
    assert_string_equal(e.msg, "bad port 7");
    assert_int_equal(fedge_err(NULL, FEDGE_EIO, "x"), FEDGE_EIO);
}

static void test_str_compare(void **state)
{
    (void)state;
    fedge_str_t s = FEDGE_STR_LIT("Call-ID");
    assert_true(fedge_str_ieq(s, "call-id"));
    assert_false(fedge_str_eq(s, "call-id"));
    assert_true(fedge_str_eq(s, "Call-ID"));
    assert_false(fedge_str_ieq(s, "Call-I"));
}

/* SipHash-2-4 with key 00 01 .. 0f over the messages 00 01 .. (i-1) for
 * i = 0..63: the reference vectors (vectors_sip64 of the authors' reference
 * implementation, read as little-endian 64-bit words). */
static const uint64_t sip64_vectors[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

static void test_utf8_len(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {"a", 1},
        {"\xc3\xa9", 2},         /* é */
        {"\xe2\x82\xac", 3},     /* € */
        {"\xf0\x9f\x98\x80", 4}, /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4}, /* U+10FFFF, the last code point */
        {"\x80", 0},             /* stray continuation byte */
        {"\xc0\xaf", 0},         /* overlong '/' */
        {"\xe0\x80\xaf", 0},     /* overlong, three bytes */
        {"\xf0\x80\x80\xaf", 0}, /* overlong, four bytes */
        {"\xed\xa0\x80", 0},     /* U+D800, a surrogate */
        {"\xf4\x90\x80\x80", 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 0},
        {"\xc3(", 0}, /* continuation missing */
    };
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(cases); i++) {
        const unsigned char *u = (const unsigned char *)cases[i].s;
        assert_int_equal(fedge_utf8_len(u, strlen(cases[i].s)), cases[i].len);
    }
    /* A sequence cut by n is invalid even when the bytes after it are. */
    assert_int_equal(fedge_utf8_len((const unsigned char *)"\xe2\x82\xac", 2), 0);
}

/* SipHash-1-3 under key 00..0f of the messages 00..(len-1), len 0..23:
 * the vectors the Rust standard library checks its SipHasher13 against
 * (as little-endian words). Lengths up to 23 cover the empty message, every
 * tail length, and one and two whole blocks. */
static const uint64_t sip13_vectors[24] = {
    0xabac0158050fc4dcull, 0xc9f49bf37d57ca93ull, 0x82cb9b024dc7d44dull, 0x8bf80ab8e7ddf7fbull,
    0xcf75576088d38328ull, 0xdef9d52f49533b67ull, 0xc50d2b50c59f22a7ull, 0xd3927d989bb11140ull,
    0x369095118d299a8eull, 0x25a48eb36c063de4ull, 0x79de85ee92ff097full, 0x70c118c1f94dc352ull,
    0x78a384b157b4d9a2ull, 0x306f760c1229ffa7ull, 0x605aa111c0f95d34ull, 0xd320d86d2a519956ull,
    0xcc4fdd1a7d908b66ull, 0x9cf2689063dbd80cull, 0x8ffc389cb473e63eull, 0xf21f9de58d297d1cull,
    0xc0dc2f46a6cce040ull, 0xb992abfe2b45f844ull, 0x7ffe7b9ba320872eull, 0x525a0e7fdae6c123ull,
};

static void test_siphash13_reference_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[24];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 24; i++)
        msg[i] = (uint8_t)i;
    for (size_t len = 0; len < 24; len++)
        assert_true(fedge_siphash13(key, msg, len) == sip13_vectors[len]);
    assert_true(fedge_siphash13(key, NULL, 0) == sip13_vectors[0]);
    /* the two variants differ */
    assert_true(fedge_siphash13(key, msg, 15) != fedge_siphash24(key, msg, 15));
}

static void test_siphash24_reference_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    for (size_t len = 0; len < 64; len++)
        assert_true(fedge_siphash24(key, msg, len) == sip64_vectors[len]);
    /* the example of the SipHash paper (appendix A): 15 bytes */
    assert_true(fedge_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
    assert_true(fedge_siphash24(key, NULL, 0) == sip64_vectors[0]);
}

static void test_hash_ci(void **state)
{
    (void)state;
    fedge_str_t a = FEDGE_STR_LIT("Edge.Contoso.TEST"), b = FEDGE_STR_LIT("edge.contoso.test");
    fedge_str_t c = FEDGE_STR_LIT("edge.contoso.tesu");
    assert_true(fedge_hash_ci(a) == fedge_hash_ci(b));
    assert_true(fedge_hash_ci(b) != fedge_hash_ci(c));
    /* lowercasing is the only difference from fedge_hash */
    assert_true(fedge_hash_ci(b) == fedge_hash(b.s, b.len));
    assert_true(fedge_hash(a.s, a.len) != fedge_hash(b.s, b.len));
    /* only ASCII letters fold: '@' (0x40) and '`' (0x60) stay apart, and so
     * do bytes above 0x7f that differ by 0x20 */
    assert_true(fedge_hash_ci(FEDGE_STR_LIT("@")) != fedge_hash_ci(FEDGE_STR_LIT("`")));
    assert_true(fedge_hash_ci(FEDGE_STR_LIT("\xc4")) != fedge_hash_ci(FEDGE_STR_LIT("\xe4")));
    /* long keys (several 8-byte blocks plus a tail) fold throughout */
    fedge_str_t la = FEDGE_STR_LIT("SIP.Partner-Domain.EXAMPLE.ORG"),
                lb = FEDGE_STR_LIT("sip.partner-domain.example.org");
    assert_true(fedge_hash_ci(la) == fedge_hash_ci(lb));
    fedge_str_t empty = {NULL, 0};
    assert_true(fedge_hash_ci(empty) == fedge_hash_ci((fedge_str_t){"x", 0}));
    assert_true(fedge_hash_ci(empty) == fedge_hash(NULL, 0));
    /* every byte value, in a whole 8-byte block and in the tail: only
     * 'A'..'Z' fold, to 'a'..'z' */
    for (int byte = 0; byte < 256; byte++) {
        char in[11], low[11];
        for (int i = 0; i < 11; i++) {
            in[i] = (char)(i % 2 ? byte : 'Q'); /* next to a letter that folds */
            low[i] = (char)(i % 2 ? (byte >= 'A' && byte <= 'Z' ? byte + 32 : byte) : 'q');
        }
        assert_true(fedge_hash_ci((fedge_str_t){in, sizeof in}) == fedge_hash(low, sizeof low));
    }
    /* the length is part of the hash: "a" and "a\0" differ */
    assert_true(fedge_hash("a", 1) != fedge_hash("a", 2));
}

static const char *self_path;

/* fedge_hash("alice") as computed by a fresh process (this binary run with
 * --print-hash). */
static uint64_t hash_in_new_process(void)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        execl(self_path, self_path, "--print-hash", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[64] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fd[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    close(fd[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return strtoull(buf, NULL, 16);
}

static void test_hash_key_is_per_process(void **state)
{
    (void)state;
    uint64_t here = fedge_hash("alice", 5);
    assert_true(here == fedge_hash("alice", 5)); /* stable within a process */
    uint64_t a = hash_in_new_process(), b = hash_in_new_process();
    /* three independent random keys: equal values would mean a fixed key
     * (chance of a false failure: about 2^-63) */
    assert_true(a != here);
    assert_true(b != here);
    assert_true(a != b);
}

/* ---- map ---- */

typedef struct {
    fedge_map_node_t node;
    char name[32];
    int value;
} item_t;

static bool item_eq(const fedge_map_node_t *n, const void *key)
{
    return strcasecmp(FEDGE_CONTAINER_OF(n, item_t, node)->name, key) == 0;
}

static uint64_t h(const char *s)
{
    return fedge_hash_ci((fedge_str_t){s, strlen(s)});
}

static item_t *find(fedge_map_t *m, const char *k)
{
    fedge_map_node_t *n = fedge_map_find(m, h(k), item_eq, k);
    return n ? FEDGE_CONTAINER_OF(n, item_t, node) : NULL;
}

static void test_map_insert_find_remove_grow(void **state)
{
    (void)state;
    enum { N = 5000 };
    fedge_map_t m = FEDGE_MAP_INIT;
    assert_null(find(&m, "nobody"));
    assert_false(fedge_map_remove(&m, &(item_t){0}.node));
    item_t *items = calloc(N, sizeof *items);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].name, sizeof items[i].name, "User%d@Example.ORG", i);
        items[i].value = i;
        fedge_map_insert(&m, &items[i].node, h(items[i].name));
        assert_int_equal(fedge_map_count(&m), (size_t)i + 1);
    }
    /* grew: power of two, load at most 1 */
    assert_true(m.nbuckets >= N);
    assert_int_equal(m.nbuckets & (m.nbuckets - 1), 0);
    for (int i = 0; i < N; i++) {
        char k[32];
        snprintf(k, sizeof k, "user%d@example.org", i);
        item_t *it = find(&m, k);
        assert_non_null(it);
        assert_int_equal(it->value, i);
    }
    assert_null(find(&m, "user5000@example.org"));
    /* remove every other item */
    for (int i = 0; i < N; i += 2)
        assert_true(fedge_map_remove(&m, &items[i].node));
    assert_false(fedge_map_remove(&m, &items[0].node)); /* not in it any more */
    assert_int_equal(fedge_map_count(&m), N / 2);
    for (int i = 0; i < N; i++)
        assert_true((find(&m, items[i].name) != NULL) == (i % 2 == 1));
    fedge_map_free(&m);
    assert_int_equal(fedge_map_count(&m), 0);
    assert_null(find(&m, items[1].name));
    free(items);
}

static void test_map_duplicate_keys_find_next(void **state)
{
    (void)state;
    fedge_map_t m = FEDGE_MAP_INIT;
    item_t a = {.name = "edge.example", .value = 1}, b = {.name = "EDGE.example", .value = 2},
           c = {.name = "other.example", .value = 3};
    fedge_map_insert(&m, &a.node, h(a.name));
    fedge_map_insert(&m, &b.node, h(b.name));
    fedge_map_insert(&m, &c.node, h(c.name));
    int seen = 0;
    const char *k = "Edge.Example";
    for (fedge_map_node_t *n = fedge_map_find(&m, h(k), item_eq, k); n;
         n = fedge_map_find_next(&m, n, item_eq, k))
        seen |= 1 << FEDGE_CONTAINER_OF(n, item_t, node)->value;
    assert_int_equal(seen, (1 << 1) | (1 << 2));
    assert_null(fedge_map_find_next(&m, NULL, item_eq, k));
    fedge_map_free(&m);
}

/* A hash function that puts every key in one chain: the map stays correct
 * (only slower), whatever the keys. */
static void test_map_all_colliding(void **state)
{
    (void)state;
    fedge_map_t m = FEDGE_MAP_INIT;
    item_t it[40];
    for (int i = 0; i < 40; i++) {
        snprintf(it[i].name, sizeof it[i].name, "k%d", i);
        it[i].value = i;
        fedge_map_insert(&m, &it[i].node, 42);
    }
    for (int i = 0; i < 40; i++) {
        fedge_map_node_t *n = fedge_map_find(&m, 42, item_eq, it[i].name);
        assert_ptr_equal(n, &it[i].node);
    }
    assert_true(fedge_map_remove(&m, &it[20].node));
    assert_null(fedge_map_find(&m, 42, item_eq, "k20"));
    assert_non_null(fedge_map_find(&m, 42, item_eq, "k21"));
    fedge_map_free(&m);
}

static void test_map_iterate_while_removing(void **state)
{
    (void)state;
    enum { N = 300 };
    fedge_map_t m = FEDGE_MAP_INIT;
    item_t **items = calloc(N, sizeof *items);
    for (int i = 0; i < N; i++) {
        items[i] = calloc(1, sizeof **items);
        snprintf(items[i]->name, sizeof items[i]->name, "n%d", i);
        items[i]->value = i;
        fedge_map_insert(&m, &items[i]->node, h(items[i]->name));
    }
    /* every node once; remove and free the odd ones while iterating */
    unsigned char seen[N] = {0};
    fedge_map_iter_t it;
    fedge_map_iter_init(&it, &m);
    for (fedge_map_node_t *n; (n = fedge_map_iter_next(&it));) {
        item_t *x = FEDGE_CONTAINER_OF(n, item_t, node);
        assert_int_equal(seen[x->value]++, 0);
        if (x->value % 2) {
            assert_true(fedge_map_remove(&m, n));
            items[x->value] = NULL;
            free(x);
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(fedge_map_count(&m), N / 2);
    /* a second pass sees exactly the even ones; remove them all */
    size_t count = 0;
    fedge_map_iter_init(&it, &m);
    for (fedge_map_node_t *n; (n = fedge_map_iter_next(&it));) {
        assert_int_equal(FEDGE_CONTAINER_OF(n, item_t, node)->value % 2, 0);
        assert_true(fedge_map_remove(&m, n));
        count++;
    }
    assert_int_equal(count, N / 2);
    assert_int_equal(fedge_map_count(&m), 0);
    /* iterating an empty or never-used map */
    fedge_map_iter_init(&it, &m);
    assert_null(fedge_map_iter_next(&it));
    fedge_map_t never = FEDGE_MAP_INIT;
    fedge_map_iter_init(&it, &never);
    assert_null(fedge_map_iter_next(&it));
    fedge_map_free(&m);
    for (int i = 0; i < N; i++)
        free(items[i]);
    free(items);
}

/* ---- hosts ---- */

static void test_host_is_ip(void **state)
{
    (void)state;
    assert_true(fedge_host_is_ip("192.0.2.1"));
    assert_true(fedge_host_is_ip("127.0.0.1"));
    assert_true(fedge_host_is_ip("::1"));
    assert_true(fedge_host_is_ip("2001:db8::1"));
    assert_true(fedge_host_is_ip("[2001:db8::1]"));
    assert_true(fedge_host_is_ip("[::ffff:192.0.2.1]"));
    assert_true(fedge_host_is_ip("::ffff:192.0.2.1"));
    /* the empty string and NULL are not addresses */
    assert_false(fedge_host_is_ip(""));
    assert_false(fedge_host_is_ip(NULL));
    assert_false(fedge_host_is_ip("edge.example.org"));
    assert_false(fedge_host_is_ip("1.2.3"));
    assert_false(fedge_host_is_ip("1.2.3.4.5"));
    assert_false(fedge_host_is_ip("256.0.0.1"));
    assert_false(fedge_host_is_ip("1.2.3.4:5060"));
    assert_false(fedge_host_is_ip("[192.0.2.1]")); /* brackets hold IPv6 only */
    assert_false(fedge_host_is_ip("[::1"));
    assert_false(fedge_host_is_ip("::1]"));
    assert_false(fedge_host_is_ip("[]"));
    assert_false(fedge_host_is_ip("[::1]:5061"));
    assert_false(fedge_host_is_ip("fe80::1%eth0"));
    assert_false(fedge_host_is_ip("[1:2:3:4:5:6:7:8:9:0:1:2:3:4:5:6:7:8:9:0:1:2:3:4:5:6:7:8:9]"));
    assert_false(fedge_host_is_ip("123"));
}

static void test_hostport_format(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(fedge_hostport_format(b, sizeof b, "edge.example", 5061), 17);
    assert_string_equal(b, "edge.example:5061");
    assert_int_equal(fedge_hostport_format(b, sizeof b, "192.0.2.1", 5060), 14);
    assert_string_equal(b, "192.0.2.1:5060");
    assert_int_equal(fedge_hostport_format(b, sizeof b, "2001:db8::1", 5061), 18);
    assert_string_equal(b, "[2001:db8::1]:5061");
    /* already in brackets: not twice */
    assert_int_equal(fedge_hostport_format(b, sizeof b, "[::1]", 0), 7);
    assert_string_equal(b, "[::1]:0");
    /* too small: an error and an empty string, never a truncated key */
    char s[9];
    assert_int_equal(fedge_hostport_format(s, 8, "::1", 5061), FEDGE_ENOSPC);
    assert_string_equal(s, "");
    assert_int_equal(fedge_hostport_format(s, 8, "a.b", 5061), FEDGE_ENOSPC);
    assert_int_equal(fedge_hostport_format(s, 9, "a.b", 5061), 8);
    assert_string_equal(s, "a.b:5061");
    assert_int_equal(fedge_hostport_format(NULL, 0, "a", 1), FEDGE_ENOSPC);
    /* the bracketed form at its exact size, and one byte short */
    char t[16];
    assert_int_equal(fedge_hostport_format(t, 11, "::1", 5061), 10);
    assert_string_equal(t, "[::1]:5061");
    assert_int_equal(fedge_hostport_format(t, 10, "::1", 5061), FEDGE_ENOSPC);
    assert_string_equal(t, "");
    assert_int_equal(fedge_hostport_format(t, sizeof t, "h", 65535), 7);
    assert_string_equal(t, "h:65535");
    assert_int_equal(fedge_hostport_format(t, sizeof t, "", 9), 2);
    assert_string_equal(t, ":9");
}

static void test_sb(void **state)
{
    (void)state;
    char b[16];
    fedge_sb_t sb;
    fedge_sb_init(&sb, b, sizeof b);
    assert_string_equal(b, "");
    fedge_sb_puts(&sb, "port ");
    fedge_sb_putu(&sb, 0);
    fedge_sb_put(&sb, ",", 1);
    fedge_sb_putu(&sb, 65535);
    assert_false(sb.full);
    assert_int_equal(sb.len, 12);
    assert_string_equal(b, "port 0,65535");
    /* a piece that does not fit whole is not written, and the buffer
     * stays terminated: 12 + 4 bytes leave no room for the NUL */
    fedge_sb_put(&sb, "abcd", 4);
    assert_true(sb.full);
    assert_int_equal(sb.len, 12);
    assert_string_equal(b, "port 0,65535");
    fedge_sb_init(&sb, b, sizeof b);
    fedge_sb_putu(&sb, 18446744073709551615ull);
    assert_true(sb.full);
    char big[32];
    fedge_sb_init(&sb, big, sizeof big);
    fedge_sb_putu(&sb, 18446744073709551615ull);
    assert_string_equal(big, "18446744073709551615");
    fedge_sb_init(&sb, NULL, 0);
    assert_true(sb.full);
    fedge_sb_puts(&sb, "x");
    assert_int_equal(sb.len, 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--print-hash") == 0) {
        printf("%llx\n", (unsigned long long)fedge_hash("alice", 5));
        return 0;
    }
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_known_and_unknown),
        cmocka_unit_test(test_framing_error_class),
        cmocka_unit_test(test_err_formats_and_returns_code),
        cmocka_unit_test(test_str_compare),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_siphash24_reference_vectors),
        cmocka_unit_test(test_siphash13_reference_vectors),
        cmocka_unit_test(test_hash_ci),
        cmocka_unit_test(test_hash_key_is_per_process),
        cmocka_unit_test(test_map_insert_find_remove_grow),
        cmocka_unit_test(test_map_duplicate_keys_find_next),
        cmocka_unit_test(test_map_all_colliding),
        cmocka_unit_test(test_map_iterate_while_removing),
        cmocka_unit_test(test_host_is_ip),
        cmocka_unit_test(test_hostport_format),
        cmocka_unit_test(test_sb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
