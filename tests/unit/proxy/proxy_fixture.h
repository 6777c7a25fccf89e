/* proxy_fixture.h — the standard proxy configuration of the proxy unit
 * tests (linked into every unit test, as every non-test_*.c file under
 * tests/unit is). */
#ifndef FEDGE_TEST_PROXY_FIXTURE_H
#define FEDGE_TEST_PROXY_FIXTURE_H

#include "proxy/proxy.h"

/* The proxy of the unit tests' standard edge (proxy_cfg_init, then):
 * edge.contoso.test for the domain contoso.test, external interface
 * edge.contoso.test:5061, internal 10.0.0.1:5060 over TCP, one next hop
 * next_hop:5060. Tests add hops, registrars, a default route. */
void tu_proxy_cfg(proxy_cfg_t *c, const char *next_hop);

#endif
