/* cli_storecopy.h — `fedge store copy`, private to src/cli. */
#ifndef FEDGE_CLI_STORECOPY_H
#define FEDGE_CLI_STORECOPY_H

/* `fedge store copy --from STORE --to STORE [--force]` with main()'s argv
 * (argv[1] is "store"). STORE is a file path (SQLite) or a postgresql://
 * URI. Copies everything (store_copy), prints the verified counts.
 * Returns the exit code: 0 copied, 1 failed (target not empty without
 * --force, a store unreachable or damaged: nothing changed in the target),
 * 2 bad usage (the message names the option and the expected form). */
int cli__storecopy(int argc, char **argv);

#endif
