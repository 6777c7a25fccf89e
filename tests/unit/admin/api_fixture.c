/* api_fixture.c — the admin API fixture of api_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "api_fixture.h"
#include "../testutil.h" /* built without -Itests/unit */

tu_api_fx_t *tu_api_open(const char *tag, const char *edge_fqdn)
{
    tu_api_fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof(f->dir), tag);
    snprintf(f->path, sizeof(f->path), "%s/fedge.db", f->dir);
    fedge_err_t e;
    if (store_open(f->path, &f->api.store, &e) < 0)
        fail_msg("store_open: %s", e.msg);
    f->api.store_path = f->path;
    f->api.edge_fqdn = edge_fqdn;
    return f;
}

int tu_api_close(tu_api_fx_t *f)
{
    store_close(f->api.store);
    int r = tu_rmtree(f->dir);
    free(f);
    return r;
}
