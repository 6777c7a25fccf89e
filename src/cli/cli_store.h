/* cli_store.h — the store subcommands of the fedge command (domain,
 * provider, policy, edge, watchlist), private to src/cli. */
#ifndef FEDGE_CLI_STORE_H
#define FEDGE_CLI_STORE_H

/* `fedge domain|provider|policy|edge|watchlist ...` with main()'s argv
 * (argv[1] is the command). Opens the store named by `[edge] store` of
 * `-c FILE`, or by `--store PATH`; changes are audited as "cli:<login>".
 * Returns the exit code: 0 done, 1 the operation failed (conflict, not
 * found, store locked or corrupt), 2 bad usage or input (the message names
 * the option and the expected form). */
int cli__store(int argc, char **argv);

#endif
