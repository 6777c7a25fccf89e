/* edge.h — the running edge server as a library: from a loaded
 * configuration it builds the TLS contexts, the transport (net), the
 * resolver (dns), the proxy, the federation driver (policy verdicts, DNS
 * verification, throttling, the store feed) and the admin server, and runs
 * them on one libuv loop. `fedge serve` (src/cli/cli_serve.c) is argument
 * handling and signals around it; tests drive it directly.
 *
 * Threading: every function here runs on the loop given to edge_new(), and
 * no function may be called from another thread. The admin server runs on
 * its own thread and reads live figures through a thread-safe admin_stats_t;
 * the store snapshot is refreshed on the loop's thread pool (uv_queue_work).
 *
 * Lifetimes: the config_t given to edge_new() is borrowed and must outlive
 * the edge (until edge_free() has returned). The edge's memory is released
 * only by edge_free(), which is called after the loop has ended (see
 * edge_drain()).
 *
 * Errors: functions return 0 or a negative FEDGE_E* code (base/base.h) and
 * fill a fedge_err_t with a message for a user. */
#ifndef FEDGE_EDGE_H
#define FEDGE_EDGE_H

#include <stdint.h>

#include <uv.h>

#include "base/base.h"
#include "config/config.h"

typedef struct edge edge_t;

/* Builds and starts the edge of cf on loop: listens on the external and
 * internal sides, starts the admin server (its own thread), opens the
 * store and starts the proxy's tick. Returns 0 and *out; the edge then
 * serves when the loop runs. Errors (nothing is serving, *out is NULL):
 * FEDGE_ECONFIG for a problem in the configuration's content (certificate,
 * key, CA, DNS servers, proxy settings), with e naming the section
 * ("[external] ...", "[internal] ...", "[dns] ..."); any other code for a
 * failure of the environment (address in use, admin server, ...). After a
 * failure some handles may still be closing on loop: run the loop until
 * it returns before closing it. */
int edge_new(uv_loop_t *loop, const config_t *cf, edge_t **out, fedge_err_t *e);

/* Stops gracefully: no new connections; open transactions are finished
 * (for at most 5 s), then every connection, listener and timer of the edge
 * is closed, so that the loop ends once nothing else keeps it running.
 * Called again while draining: stops at once (open transactions are
 * answered 503 and abandoned). Idempotent after the stop. */
void edge_drain(edge_t *ed);

/* True once edge_drain() was called. */
bool edge_draining(const edge_t *ed);

/* Re-reads the certificates, keys, trust anchors and CRLs of every side
 * (external, remote, internal, XMPP; for SIGHUP). New handshakes use the
 * new files; on failure of a side its old
 * configuration stays in use, the failure is logged and returned in e
 * (FEDGE_ECONFIG). */
int edge_reload_tls(edge_t *ed, fedge_err_t *e);

/* The port bound by the first listener of the external / internal side
 * (useful with port 0 in tests); 0 when the side has no listener. */
uint16_t edge_port_external(const edge_t *ed);
uint16_t edge_port_internal(const edge_t *ed);

/* The port of the first [remote] listener (0: none). */
uint16_t edge_port_remote(const edge_t *s);

/* The admin server's URL ("https://127.0.0.1:8443/"), valid while ed is. */
const char *edge_admin_url(const edge_t *ed);

/* Releases ed. Call it after the loop has ended following edge_drain()
 * (every handle of the edge is closed then). NULL is a no-op. */
void edge_free(edge_t *ed);

#endif
