/* cli_domain_io.h — `fedge domain import|export` (CSV), private to
 * src/cli. */
#ifndef FEDGE_CLI_DOMAIN_IO_H
#define FEDGE_CLI_DOMAIN_IO_H

/* main()'s argv with argv[1] "domain" and argv[2] "import" or "export".
 * Returns the exit code: 0 done, 1 the import or export failed (conflict,
 * store, file not writable), 2 bad usage or a malformed file. */
int cli__domain_io(int argc, char **argv);

#endif
