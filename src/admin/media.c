/* media.c — GET /api/media: the calls the edge relays through rtpengine
 * (newest signalling first, bounded) and each relay's health, as the
 * edge's media callback fills them (docs/admin.md, "Calls' media"). */
#include "admin/admin_int.h"

#include <time.h>

void admin_media_total(admin_media_t *m, uint64_t calls, uint64_t max_calls, int64_t at_s)
{
    if (!m)
        return;
    m->total = calls;
    m->max_calls = max_calls;
    m->at_s = at_s;
}

/* "2026-12-04T21:00:00Z" of t (seconds since the epoch), "" for 0. */
static void utc(int64_t t, char out[24])
{
    out[0] = '\0';
    if (t <= 0)
        return;
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm))
        strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void admin_media_relay(admin_media_t *m, const char *relay, bool up, int64_t last_at_s,
                       const char *last_cmd, const char *last_result, int64_t rtt_us)
{
    if (!m || !relay || json_array_size(m->relays) >= 64)
        return;
    char at[24];
    utc(last_at_s, at);
    json_t *rtt = rtt_us < 0 ? json_null() : json_real((double)rtt_us / 1000.0);
    json_array_append_new(m->relays,
                          json_pack("{s:s, s:b, s:s, s:s, s:s, s:o}", "relay", relay, "up", up,
                                    "last_at", at, "last_command", last_cmd ? last_cmd : "",
                                    "last_result", last_result ? last_result : "", "rtt_ms", rtt));
}

void admin_media_call(admin_media_t *m, const char *call, const char *relay, const char *state,
                      const char *from_side, int64_t age_s, int64_t idle_s)
{
    if (!m || !call || json_array_size(m->calls) >= ADMIN_MEDIA_CALLS_MAX)
        return;
    json_array_append_new(m->calls,
                          json_pack("{s:s, s:s?, s:s, s:s, s:I, s:I}", "call", call, "relay", relay,
                                    "state", state ? state : "", "from", from_side ? from_side : "",
                                    "age_s", (json_int_t)(age_s < 0 ? 0 : age_s), "idle_s",
                                    (json_int_t)(idle_s < 0 ? 0 : idle_s)));
}

int admin__media(admin__api_t *api, json_t **out)
{
    if (!api->media_cb) {
        *out = json_pack("{s:b, s:s}", "enabled", 0, "note",
                         "no media relay: without [media] calls' SDP crosses the edge unchanged "
                         "(docs/media.md); a stand-alone admin server (fedge admin serve) sees "
                         "no calls either");
        return 200;
    }
    admin_media_t m = {json_array(), json_array(), 0, 0, 0};
    api->media_cb(&m, api->media_ctx);
    char at[24];
    utc(m.at_s, at);
    *out = json_pack("{s:b, s:I, s:I, s:I, s:i, s:s, s:o, s:o}", "enabled", 1, "calls_total",
                     (json_int_t)m.total, "max_calls", (json_int_t)m.max_calls, "shown",
                     (json_int_t)json_array_size(m.calls), "shown_max", ADMIN_MEDIA_CALLS_MAX,
                     "taken_at", at, "relays", m.relays, "calls", m.calls);
    return 200;
}
