/* cli.h — the `fedge` command line: subcommand dispatch and help. */
#ifndef FEDGE_CLI_H
#define FEDGE_CLI_H

/* Runs the fedge command with main()'s arguments; returns the exit code
 * (0 success, 1 failure of the operation, 2 bad usage or configuration). */
int cli_main(int argc, char **argv);

/* `fedge check-config -c FILE` with main()'s arguments (argv[1] is
 * "check-config"): prints "FILE: ok" and a summary to stdout and returns 0,
 * or prints the FILE:LINE error to stderr and returns 2. */
int cli_check_config(int argc, char **argv);

/* `fedge serve -c FILE` with main()'s arguments (argv[1] is "serve"): runs
 * the edge until SIGTERM/SIGINT (then finishes open transactions for up to
 * 5 s) and returns 0; 2 for bad usage or a configuration (or certificate)
 * that cannot be loaded, with the FILE:LINE error on stderr; 1 when a
 * listener (SIP, or the admin server it runs) cannot be opened. Logs go to
 * stderr (docs/proxy.md). */
int cli_serve(int argc, char **argv);

#endif
