/* cli_remote.h — `fedge remote lockouts|unlock`: remote users' lock-outs in
 * the store (docs/remote-users.md), private to src/cli. */
#ifndef FEDGE_CLI_REMOTE_H
#define FEDGE_CLI_REMOTE_H

/* `fedge remote lockouts [--json]` lists the users and client addresses
 * locked out now; `fedge remote unlock USER|ADDRESS` ends one (audited as
 * "cli:<login>"). Both take -c FILE (the store of [edge] store) or --store
 * PATH. argv[1] is "remote". Returns the exit code: 0 done, 1 not locked
 * out or the store failed, 2 bad usage or input. */
int cli__remote(int argc, char **argv);

#endif
