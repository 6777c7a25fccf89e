/* cli_admin.h — `fedge admin ...`: administrator accounts and the admin
 * server on its own (private to src/cli). */
#ifndef FEDGE_CLI_ADMIN_H
#define FEDGE_CLI_ADMIN_H

/* `fedge admin add|passwd|remove NAME`, `fedge admin list`, with -c FILE
 * or --store PATH; `fedge admin serve -c FILE` runs the admin server of
 * [admin] until SIGINT/SIGTERM. argv[1] is "admin". Returns the exit code:
 * 0 done, 1 failed (exists, not found, store error, cannot listen), 2 bad
 * usage or input. */
int cli__admin(int argc, char **argv);

#endif
