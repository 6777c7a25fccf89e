/* cli.h — the `fedge` command line: subcommand dispatch and help. */
#ifndef FEDGE_CLI_H
#define FEDGE_CLI_H

/* Runs the fedge command with main()'s arguments; returns the exit code
 * (0 success, 1 failure of the operation, 2 bad usage or configuration). */
int cli_main(int argc, char **argv);

#endif
