/* fuzz_admin_api.c — libFuzzer harness for the REST API's request handling
 * (admin__api in src/admin/api.c: JSON bodies, paths, the store's
 * validators) on a real store in a temporary folder (in /dev/shm when it
 * exists, so that SQLite's syncs cost little). Input: "METHOD PATH\n" then
 * the body (JSON text, may be invalid: the server answers 400 before the
 * API then). Invariants: never a 5xx other than 503 (the store), every
 * answer but 204 has a JSON body that serialises, and the path's status
 * class is consistent (4xx carries "error"). */
/* fuzz-rooms: admin store obs policy (api.o, the store and the diagnostics table). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin_int.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static admin__api_t api;
static unsigned runs;

static void open_store(void)
{
    static char dir[64], db[96];
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "%s/fedge-fuzz-api-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        CHECK(mkdtemp(dir) != NULL);
        snprintf(db, sizeof(db), "%s/fedge.db", dir);
    }
    if (api.store)
        store_close(api.store);
    unlink(db);
    char wal[120];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", db);
    unlink(wal);
    fedge_err_t e;
    CHECK(store_open(db, &api.store, &e) == 0);
    api.store_path = db;
    api.edge_fqdn = "edge.contoso.test";
    /* a few things to edit and delete */
    CHECK(store_domain_allow(api.store, "fabrikam.test", "", "partner", false, "fuzz", &e) == 0);
    CHECK(store_domain_block(api.store, "spam.test", "", "fuzz", &e) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A fresh store now and then keeps it small. */
    if (runs++ % 5000 == 0)
        open_store();
    const char *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - (const char *)data) : size;
    if (hl > 2048)
        return 0;
    char head[2049];
    memcpy(head, data, hl);
    head[hl] = '\0';
    if (strlen(head) != hl)
        return 0; /* the HTTP layer hands over C strings: no NUL inside */
    char *sp = strchr(head, ' ');
    if (!sp)
        return 0;
    *sp = '\0';
    const char *method = head, *path = sp + 1;
    const char *limit = NULL;
    char *q = strchr(sp + 1, '?');
    if (q) {
        *q = '\0';
        if (!strncmp(q + 1, "limit=", 6))
            limit = q + 7;
    }
    json_t *body = NULL;
    if (nl && size > hl + 1) {
        json_error_t je;
        body = json_loadb((const char *)data + hl + 1, size - hl - 1, JSON_REJECT_DUPLICATES, &je);
        if (!body)
            return 0; /* server.c answers 400 before the API */
    }
    json_t *out = NULL;
    int st = admin__api(&api, method, path, limit, body, "admin:fuzz", &out);
    json_decref(body);
    CHECK(st >= 200 && st <= 599);
    CHECK(st < 500 || st == 503);
    if (st == 204) {
        CHECK(out == NULL);
    } else {
        CHECK(out != NULL);
        char *text = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
        CHECK(text != NULL);
        free(text);
        if (st >= 400)
            CHECK(json_is_string(json_object_get(out, "error")));
    }
    json_decref(out);
    return 0;
}
