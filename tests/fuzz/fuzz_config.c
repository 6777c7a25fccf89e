/* fuzz_config.c — libFuzzer harness for the INI configuration loader
 * (config_load: the line reader over inih, every key's value parser, the
 * rules across keys). The input is the file, handed over as a memfd so
 * that the loader reads it as it reads any file. Invariants: the result is
 * a config or FEDGE_ECONFIG/FEDGE_EIO with a one-line message naming the
 * file (and a line for bad content); a loaded config reloads identically
 * for the fields checked. */
/* fuzz-rooms: config obs store (the loader, the log-level names it parses, the store location rules
 * it checks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("fuzz.ini", 0);
        CHECK(fd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    config_t *c = NULL;
    fedge_err_t e = {{0}};
    int r = config_load(path, &c, &e);
    if (r == 0) {
        CHECK(c != NULL);
        CHECK(c->limits.max_connections_per_ip <= c->limits.max_connections);
        CHECK(c->limits.reserved_for_known < c->limits.max_connections);
        CHECK(c->external.listen.count >= 1 && c->internal.next_hop.count >= 1);
        /* a second load of the same bytes gives the same answer */
        config_t *c2 = NULL;
        CHECK(config_load(path, &c2, &e) == 0);
        CHECK(c2->limits.max_connections == c->limits.max_connections);
        CHECK(!strcmp(c2->edge.fqdn, c->edge.fqdn));
        config_free(c2);
        config_free(c);
        return 0;
    }
    CHECK(c == NULL);
    CHECK(r == FEDGE_ECONFIG || r == FEDGE_EIO || r == FEDGE_ENOMEM);
    size_t pl = strlen(path);
    CHECK(!strncmp(e.msg, path, pl) && e.msg[pl] == ':');
    CHECK(!strchr(e.msg, '\n'));
    if (r == FEDGE_ECONFIG) { /* FILE:LINE: ... */
        const char *p = e.msg + pl + 1;
        CHECK(*p >= '1' && *p <= '9');
    }
    return 0;
}
