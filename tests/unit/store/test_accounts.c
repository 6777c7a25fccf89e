/* test_accounts.c — unit tests of the administrator accounts in the store
 * (migration 2, src/store/accounts.c): add, duplicate, get, passwd, remove,
 * list, count, validation, audit entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static char dir[64], path[128];

static int list_cb(const store_account_t *a, void *ctx)
{
    char *buf = ctx;
    strcat(buf, a->name);
    strcat(buf, ",");
    assert_int_equal(strlen(a->created_at), 20);
    return 0;
}

static int audit_cb(const store_audit_t *a, void *ctx)
{
    char *buf = ctx;
    strcat(buf, a->action);
    strcat(buf, ":");
    strcat(buf, a->object);
    strcat(buf, ":");
    strcat(buf, a->actor);
    strcat(buf, " ");
    return 0;
}

static void test_accounts(void **state)
{
    strcpy(dir, "/tmp/fedge-acct-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fedge.db", dir);
    store_t *s;
    fedge_err_t e;
    assert_int_equal(store_open(path, &s, &e), 0);
    int v;
    assert_int_equal(store_schema_version(s, &v, &e), 0);
    assert_true(v >= 2);
    size_t n = 9;
    assert_int_equal(store_account_count(s, &n, &e), 0);
    assert_int_equal(n, 0);
    char h[STORE_ACCOUNT_HASH_MAX];
    assert_int_equal(store_account_get(s, "alice", h, sizeof(h), &e), FEDGE_ENOENT);
    assert_int_equal(store_account_add(s, "Alice", "scrypt$hash1", "cli:root", &e), 0);
    assert_int_equal(store_account_add(s, "alice", "scrypt$hash2", "cli:root", &e), FEDGE_EEXIST);
    assert_non_null(strstr(e.msg, "already exists"));
    assert_int_equal(store_account_add(s, "bad name", "x", "cli:root", &e), FEDGE_EINVAL);
    assert_int_equal(store_account_add(s, "bob", "", "cli:root", &e), FEDGE_EINVAL);
    assert_int_equal(store_account_add(s, "bob", "has space", "cli:root", &e), FEDGE_EINVAL);
    assert_int_equal(store_account_add(s, "bob", NULL, "cli:root", &e), FEDGE_EINVAL);
    assert_int_equal(store_account_add(s, "bob", "scrypt$b", "bad actor", &e), FEDGE_EINVAL);
    assert_int_equal(store_account_get(s, "ALICE", h, sizeof(h), &e), 0);
    assert_string_equal(h, "scrypt$hash1");
    char tiny[4];
    assert_int_equal(store_account_get(s, "alice", tiny, sizeof(tiny), &e), FEDGE_ENOSPC);
    assert_int_equal(store_account_passwd(s, "alice", "scrypt$hash3", "cli:root", &e), 0);
    assert_int_equal(store_account_get(s, "alice", h, sizeof(h), &e), 0);
    assert_string_equal(h, "scrypt$hash3");
    assert_int_equal(store_account_passwd(s, "nobody", "scrypt$x", "cli:root", &e), FEDGE_ENOENT);
    assert_int_equal(store_account_add(s, "bob", "scrypt$b", "cli:root", &e), 0);
    char names[256] = "";
    assert_int_equal(store_account_list(s, list_cb, names, &e), 0);
    assert_string_equal(names, "alice,bob,");
    assert_int_equal(store_account_count(s, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_account_remove(s, "bob", "cli:root", &e), 0);
    assert_int_equal(store_account_remove(s, "bob", "cli:root", &e), FEDGE_ENOENT);
    assert_int_equal(store_account_count(s, &n, &e), 0);
    assert_int_equal(n, 1);
    char audit[1024] = "";
    assert_int_equal(store_audit_list(s, 10, audit_cb, audit, &e), 0);
    assert_string_equal(audit, "account.add:alice:cli:root account.passwd:alice:cli:root "
                               "account.add:bob:cli:root account.remove:bob:cli:root ");
    /* A second connection sees the accounts (another process: the server). */
    store_t *s2;
    assert_int_equal(store_open(path, &s2, &e), 0);
    assert_int_equal(store_account_get(s2, "alice", h, sizeof(h), &e), 0);
    store_close(s2);
    store_close(s);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_accounts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
