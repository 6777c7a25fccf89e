/* fuzz_media.c — libFuzzer harness for the media room's parsers: the input
 * is decoded as bencode (every slice must lie inside the input, and the
 * value re-encoded must give back exactly the bytes it was decoded from),
 * and split at the first newline into a Content-Type and a SIP body whose
 * SDP is found and replaced (the location must lie inside the body, the
 * new length must add up).
 * fuzz-rooms: media */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"

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
