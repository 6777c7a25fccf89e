/* status.c — the builder the edge fills for GET /api/status (connections,
 * requests and rejections per partner, rejections per diagnostic ID,
 * recent errors, other counters). */
#include "admin/admin_int.h"

#include <stdio.h>

void admin_status_partner(admin_status_t *st, const char *domain, uint64_t connections,
                          uint64_t requests, uint64_t rejections)
{
    if (!st || !domain)
        return;
    json_object_set_new(st->partners, domain,
                        json_pack("{s:I, s:I, s:I}", "connections", (json_int_t)connections,
                                  "requests", (json_int_t)requests, "rejections",
                                  (json_int_t)rejections));
}

void admin_status_diag(admin_status_t *st, int diag_id, uint64_t count)
{
    if (!st)
        return;
    char k[16];
    snprintf(k, sizeof(k), "%d", diag_id);
    json_object_set_new(st->diags, k, json_integer((json_int_t)count));
}

void admin_status_error(admin_status_t *st, const char *at, const char *text)
{
    if (!st || json_array_size(st->errors) >= 100)
        return;
    json_array_append_new(st->errors,
                          json_pack("{s:s, s:s}", "at", at ? at : "", "text", text ? text : ""));
}

void admin_status_counter(admin_status_t *st, const char *name, uint64_t value)
{
    if (!st || !name)
        return;
    json_object_set_new(st->counters, name, json_integer((json_int_t)value));
}
