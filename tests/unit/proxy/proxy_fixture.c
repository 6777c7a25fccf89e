/* proxy_fixture.c — the standard proxy configuration of proxy_fixture.h. */
#include <stdio.h>
#include <string.h>

#include "proxy_fixture.h"

void tu_proxy_cfg(proxy_cfg_t *c, const char *next_hop)
{
    proxy_cfg_init(c);
    strcpy(c->fqdn, "edge.contoso.test");
    strcpy(c->domains[0], "contoso.test");
    c->ndomains = 1;
    strcpy(c->ext.host, "edge.contoso.test");
    c->ext.port = 5061;
    strcpy(c->in.host, "10.0.0.1");
    c->in.port = 5060;
    c->in.transport = PROXY_TP_TCP;
    snprintf(c->next_hops[0].host, sizeof(c->next_hops[0].host), "%s", next_hop);
    c->next_hops[0].port = 5060;
    c->nnext_hops = 1;
}
