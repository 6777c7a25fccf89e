/* cli_internal.h — subcommands of the fedge command shared between the
 * files of src/cli (private to the folder). */
#ifndef FEDGE_CLI_INTERNAL_H
#define FEDGE_CLI_INTERNAL_H

/* `fedge parse [-c FILE] MESSAGE...` ('-' reads stdin): parses each file
 * as one SIP message (datagram semantics: Content-Length optional; leading
 * CRLFs skipped as on a stream) and prints one JSON object per valid
 * message on stdout, one line each; for an invalid one prints
 * "invalid: <reason> (<file>)" on stderr. -c FILE is the configuration
 * (its [limits] max_message_size), never a message. argv[0] is "fedge",
 * argv[1] "parse". Returns the exit code: 0 when every message is valid,
 * 1 when one is invalid, 2 for bad usage, a configuration that does not
 * load or a file that cannot be read. */
int cli__parse(int argc, char **argv);

/* `fedge resolve DOMAIN [-c FILE] [--json] [--server IP[:PORT],...]
 * [--timeout MS] [--tries N]`: looks up _sipfederationtls._tcp.DOMAIN, its
 * targets' addresses, prints them (text or JSON) with the verdict. -c FILE
 * takes the servers, timeout and tries of its [dns] section (the options
 * override them). Returns 0 when fedge would federate, 1 when not or DNS
 * failed, 2 for bad usage or a configuration that does not load. */
int cli__resolve(int argc, char **argv);

/* `fedge xmpp allow|block|remove|list` (cli_xmpp.c) with main()'s argv:
 * the XMPP partner list of the store. Exit codes as cli__store. */
int cli__xmpp(int argc, char **argv);

/* The store actor of the user running the command: "cli:LOGIN" (or
 * "cli:uidN" without a login name), anything outside printable ASCII
 * without spaces replaced by '_' as the store requires. Points to a static
 * buffer rewritten by each call (not thread-safe); never fails. */
const char *cli__actor(void);

#endif
