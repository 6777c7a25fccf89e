/* fuzz_xmpp_stream.c — libFuzzer harness for the XMPP stream parser of
 * src/xmpp/ (expat with the restricted XML of RFC 6120 §11 and its bounds).
 * The input is fed after a valid stream header, split at a point the input
 * picks, with small limits so that every bound is reached often. Aborts on
 * a broken invariant: memory above the bound, a stanza deeper than allowed,
 * an error without its stream condition, input accepted after an error. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fuzz-rooms: xmpp */
#include "xmpp/xmpp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#define MAX_STANZA 4096
#define MAX_DEPTH 8

static xmpp_parser_t *parser;

static unsigned depth_of(const xmpp_node_t *n)
{
    unsigned d = 1;
    for (const xmpp_node_t *c = n->children; c; c = c->next) {
        unsigned k = 1 + depth_of(c);
        if (k > d)
            d = k;
    }
    return d;
}

static void on_stanza(void *u, const xmpp_node_t *s)
{
    CHECK(depth_of(s) <= MAX_DEPTH);
    CHECK(strlen(s->text) == s->text_len);
    for (size_t i = 0; i < s->n_attrs; i++)
        CHECK(s->attrs[i].name && s->attrs[i].value && s->attrs[i].ns);
    CHECK(xmpp_parser_memory(parser) <= 8 * MAX_STANZA + 65536 + MAX_STANZA);
    if (s->text_len == 7) /* now and then, the restart path */
        xmpp_parser_pause(parser);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hdr[] = "<stream:stream xmlns='jabber:server' "
                              "xmlns:stream='http://etherx.jabber.org/streams' to='a' from='b'>";
    xmpp_limits_t lim = {.max_stanza_bytes = MAX_STANZA,
                         .max_depth = MAX_DEPTH,
                         .max_header_bytes = 1024,
                         .max_token_bytes = 1024};
    xmpp_parser_cbs_t cbs = {NULL, on_stanza, NULL};
    CHECK(xmpp_parser_new(&lim, &cbs, NULL, &parser) == 0);
    /* Either a header from us, or the input makes its own (first byte). */
    bool own = size && (data[0] & 1);
    size_t cut = size > 1 ? data[size - 1] % size : 0;
    if (!own)
        CHECK(xmpp_parser_feed(parser, hdr, sizeof hdr - 1, NULL) == 0);
    const char *in = (const char *)data;
    size_t pos = 0;
    size_t pieces[2] = {cut, size - cut};
    for (int k = 0; k < 2; k++) {
        size_t len = pieces[k], used = 0;
        int rc = xmpp_parser_feed(parser, in + pos, len, &used);
        if (rc == 1) {
            CHECK(used <= len);
            xmpp_parser_reset(parser);
            rc = xmpp_parser_feed(parser, in + pos + used, len - used, NULL);
            if (rc == 1)
                xmpp_parser_reset(parser);
        }
        if (rc < 0) {
            CHECK(xmpp_parser_condition(parser)[0] != '\0');
            CHECK(xmpp_parser_feed(parser, "<a/>", 4, NULL) == rc);
            break;
        }
        CHECK(xmpp_parser_memory(parser) <= 8 * MAX_STANZA + 65536 + MAX_STANZA);
        pos += len;
    }
    xmpp_parser_free(parser);
    return 0;
}
