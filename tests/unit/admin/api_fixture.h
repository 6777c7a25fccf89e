/* api_fixture.h — the admin API on a store of its own, for the unit tests
 * of its resources (linked into every unit test, as every non-test_*.c
 * file under tests/unit is). */
#ifndef FEDGE_TEST_API_FIXTURE_H
#define FEDGE_TEST_API_FIXTURE_H

#include "admin/admin_int.h"

/* The admin API's resources on a store of their own (admin__api without
 * HTTP): a temporary folder holding fedge.db. */
typedef struct {
    char dir[64], path[128];
    admin__api_t api;
} tu_api_fx_t;

/* A fresh store under /tmp/fedge-TAG-XXXXXX and the API on it, serving as
 * edge_fqdn. The caller owns the result (tu_api_close). */
tu_api_fx_t *tu_api_open(const char *tag, const char *edge_fqdn);

/* Closes the store, removes the folder and frees f: 0, or -1 when the
 * folder could not be removed. */
int tu_api_close(tu_api_fx_t *f);

#endif
