/* fuzz_pidf.c — libFuzzer harness for the PIDF reader of the XMPP gateway
 * (src/xmpp/pidf.c, expat): what a presence server on the internal side
 * sends in a NOTIFY. Aborts on a broken invariant: a document accepted
 * without <basic/>, a note that is not NUL-terminated within its array or
 * was cut inside a UTF-8 character, an availability outside the set. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* fuzz-rooms: xmpp */
#include "xmpp/xmpp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmpp_pidf_t p;
    int rc = xmpp_pidf_parse((const char *)data, size, &p);
    if (rc < 0) {
        CHECK(rc == FEDGE_EINVAL && !p.has_basic && !p.note[0]);
        return 0;
    }
    CHECK(p.has_basic);
    size_t n = strnlen(p.note, sizeof p.note);
    CHECK(n < sizeof p.note);
    CHECK(xmpp_text_ok(p.note, n)); /* expat gave UTF-8; a cut never splits a character */
    CHECK(strnlen(p.activity, sizeof p.activity) < sizeof p.activity);
    const char *show = xmpp_pidf_show(&p);
    CHECK(!strcmp(show, "available") || !strcmp(show, "away") || !strcmp(show, "xa") ||
          !strcmp(show, "dnd") || !strcmp(show, "unavailable"));
    CHECK(p.open || !strcmp(show, "unavailable"));
    return 0;
}
