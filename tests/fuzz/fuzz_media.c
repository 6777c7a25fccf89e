/* fuzz_media.c — libFuzzer harness for the media room's parsers: the input
 * is decoded as bencode (every slice must lie inside the input, and the
 * value re-encoded must give back exactly the bytes it was decoded from),
 * and split at the first newline into a Content-Type and a SIP body whose
 * SDP is found and replaced (the location must lie inside the body, the
 * new length must add up). The input also drives the offer/answer table of
 * calls as a sequence of messages (three bytes each): it must stay within
 * its bound whatever comes.
 * fuzz-rooms: media */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"
#include "sip/sip.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static const char *base;
static size_t base_len;

static bool inside(fedge_str_t s)
{
    return s.len == 0 || (s.s >= base && s.s + s.len <= base + base_len);
}

static void encode(media_benc_t *b, const media_ben_t *v, bool in_dict)
{
    if (in_dict)
        media_benc_str(b, v->key.s, v->key.len);
    switch (v->type) {
    case MEDIA_BEN_STR: media_benc_str(b, v->str.s, v->str.len); break;
    case MEDIA_BEN_INT: media_benc_int(b, v->num); break;
    case MEDIA_BEN_LIST:
    case MEDIA_BEN_DICT: {
        v->type == MEDIA_BEN_LIST ? media_benc_list(b) : media_benc_dict(b);
        size_t n = 0;
        for (const media_ben_t *c = v->child; c; c = c->next, n++) {
            CHECK(inside(c->key) && inside(c->str));
            encode(b, c, v->type == MEDIA_BEN_DICT);
        }
        CHECK(n == v->count);
        media_benc_end(b);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    base = d;
    base_len = size;
    static media_ben_t nodes[512];
    media_ben_t *root;
    int used = media_ben_decode(d, size, nodes, 512, &root);
    CHECK(used <= (int)size);
    if (used > 0) {
        CHECK(root == &nodes[0] && inside(root->str));
        char *out = malloc((size_t)used);
        media_benc_t b;
        media_benc_init(&b, out, (size_t)used);
        encode(&b, root, false);
        CHECK(media_benc_finish(&b) == used);
        CHECK(memcmp(out, d, (size_t)used) == 0);
        free(out);
        (void)media_ben_get_str(root, "result");
    }

    static const int methods[8] = {SIP_METHOD_INVITE,  SIP_METHOD_ACK,    SIP_METHOD_BYE,
                                   SIP_METHOD_CANCEL,  SIP_METHOD_UPDATE, SIP_METHOD_PRACK,
                                   SIP_METHOD_MESSAGE, SIP_METHOD_INFO};
    static const int statuses[8] = {100, 180, 183, 200, 202, 486, 487, 491};
    static const char *const ids[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    media_calls_t *t = media_calls_new(4, 100, NULL, NULL);
    uint64_t now = 0;
    for (size_t i = 0; i + 3 <= size; i += 3) {
        uint8_t a = data[i], b = data[i + 1], c = data[i + 2];
        media_msg_t m = {
            .request = a & 1,
            .method = methods[(a >> 1) & 7],
            .status = statuses[b & 7],
            .call_id = {ids[c & 7], 1},
            .to_tag = (a >> 5) & 1,
            .has_sdp = (a >> 4) & 1,
            .from_side = (a >> 6) & 1 ? MEDIA_SIDE_EXTERNAL : MEDIA_SIDE_INTERNAL,
            /* a client's crossing (forks of partners' calls), their
             * branches and the client's tags */
            .client = (b >> 6) & 1,
            .branch = {ids[(b >> 3) & 7], 1},
            .from_tag_s = {"f", 1},
            .to_tag_s = {ids[(c >> 3) & 7], (a >> 5) & 1},
        };
        now += c >> 3;
        media_step_t steps[2];
        size_t n = media_calls_plan(t, &m, now, steps);
        CHECK(n <= 2);
        for (size_t k = 0; k < n; k++)
            CHECK(steps[k].act > MEDIA_ACT_NONE && steps[k].act <= MEDIA_ACT_DELETE &&
                  steps[k].call_id.len > 0 && (steps[k].act != MEDIA_ACT_DELETE || n == 1));
        CHECK(media_calls_count(t) <= 4);
        if (b & 0x80)
            (void)media_calls_reap(t, now);
    }
    media_calls_free(t);

    const char *nl = memchr(d, '\n', size);
    if (!nl)
        return 0;
    fedge_str_t ct = {d, (size_t)(nl - d)};
    fedge_str_t body = {nl + 1, size - ct.len - 1};
    media_sdp_loc_t loc;
    if (media_sdp_find(ct, body, &loc) == 0) {
        CHECK(loc.off <= body.len && loc.len <= body.len - loc.off);
        char *out = malloc(body.len + 8);
        int n = media_sdp_replace(body, &loc, FEDGE_STR_LIT("v=0\r\n"), out, body.len + 8);
        if (n >= 0)
            CHECK((size_t)n == body.len - loc.len + 5);
        free(out);
    }
    return 0;
}
