/* cli_pool.h — `fedge pool`, private to src/cli. */
#ifndef FEDGE_CLI_POOL_H
#define FEDGE_CLI_POOL_H

/* `fedge pool status [--json] (-c FILE | --store STORE)` and `fedge pool
 * forget FQDN (-c FILE | --store STORE)` with main()'s argv (argv[1] is
 * "pool"). Returns the exit code: status 0 when every recorded member is
 * live and its certificate names the pool, 1 when one is stale, of
 * another pool or misnamed, none is recorded, or the store cannot be
 * read; forget 0 or 1; 2 bad usage. */
int cli__pool(int argc, char **argv);

#endif
