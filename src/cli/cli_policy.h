/* cli_policy.h — the federation policy inside `fedge serve` (private to
 * src/cli): the store and its live snapshot, the proxy's policy hook
 * around policy_decide (asynchronous while DNS verifies a peer), the
 * rejection headers, the trust header, discovered-partner throttling and
 * the admin panel's figures. docs/proxy.md "Federation policy". */
#ifndef FEDGE_CLI_POLICY_H
#define FEDGE_CLI_POLICY_H

#include "admin/admin.h"
#include "config/config.h"
#include "dns/dns.h"
#include "net/net.h"
#include "proxy/proxy.h"

#include <uv.h>

typedef struct cli__fed cli__fed_t;

/* The identity of the peer on connection c (cli_serve.c), or NULL. */
const net_peer_t *cli__conn_peer(proxy_conn_t *c);

/* Opens the store of cf ([edge] store; when it cannot be opened now the
 * error is logged and opening is retried every refresh, deciding on the
 * built-in defaults meanwhile: nothing is allowed but what they allow),
 * seeds the store's routing settings from [federation] unless an
 * administrator set them (docs/configuration.md), creates the resolver
 * from [dns] and starts the 250 ms refresh timer on loop. stats may be
 * NULL. Returns 0 and *out, or FEDGE_ECONFIG / FEDGE_EDNS with e when the
 * resolver cannot be made. */
int cli__fed_new(uv_loop_t *loop, const config_t *cf, admin_stats_t *stats, cli__fed_t **out,
                 fedge_err_t *e);

/* Installs the policy and result hooks on p (which must outlive f, or be
 * detached by cli__fed_free first). */
void cli__fed_attach(cli__fed_t *f, proxy_t *p);

/* The resolver (owned by f), for other users in serve. */
dns_t *cli__fed_dns(cli__fed_t *f);

/* Stops: cancels the DNS look-ups in flight (their requests stay parked in
 * the proxy until it answers them), closes the timer and the store, frees
 * the resolver. The memory goes in the close callbacks: run the loop
 * afterwards. NULL is a no-op. */
void cli__fed_free(cli__fed_t *f);

#endif
