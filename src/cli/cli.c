/* cli.c — subcommand dispatch and the top-level help text of `fedge`. */
#include "cli/cli.h"
#include "cli/cli_internal.h"
#include "cli/cli_admin.h"
#include "cli/cli_plan.h"
#include "cli/cli_remote.h"
#include "cli/cli_domain_io.h"
#include "cli/cli_pool.h"
#include "cli/cli_store.h"
#include "cli/cli_storecopy.h"

#include "store/store.h"
#include "version.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *cli__actor(void)
{
    static char buf[STORE_ACTOR_MAX + 1];
    const struct passwd *pw = getpwuid(getuid());
    const char *name = pw && pw->pw_name ? pw->pw_name : getenv("USER");
    if (name && *name)
        snprintf(buf, sizeof(buf), "cli:%s", name);
    else
        snprintf(buf, sizeof(buf), "cli:uid%u", (unsigned)getuid());
    /* The store wants printable ASCII without spaces. */
    for (char *p = buf; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            *p = '_';
    return buf;
}

static const char usage[] =
    "fedge — federation edge server for SIP\n"
    "\n"
    "usage: fedge COMMAND [OPTIONS]     (fedge COMMAND --help for its options and examples)\n"
    "\n"
    "commands:\n"
    "  serve -c FILE        run the edge server\n"
    "  check-config -c FILE validate a configuration file, print a summary\n"
    "  parse [-c FILE] MESSAGE...  parse SIP messages ('-' reads stdin), print JSON\n"
    "  resolve DOMAIN [-c FILE]    show a partner domain's SRV records, targets, verdict\n"
    "  plan -c FILE         DNS records, certificate, firewall and partners to set up\n"
    "  check -c FILE        verify the plan live (DNS, certificate, listeners)\n"
    "  probe -c FILE DOMAIN diagnose federation with DOMAIN step by step\n"
    "  domain allow|block|remove|list|import|export  allowed and blocked partner domains (CSV)\n"
    "  provider add|set|remove|list    hosting and public IM providers\n"
    "  policy set|assign|list          external access policies\n"
    "  edge set|show                   edge settings (federation, discovery, ...)\n"
    "  watchlist [--clear DOMAIN]      discovered partners over the contacts limit\n"
    "  remote lockouts|unlock          remote users and addresses locked out\n"
    "  xmpp allow|block|remove|list    XMPP partner domains (the [xmpp] gateway)\n"
    "  admin add|passwd|remove|list|serve  web panel administrators, admin server alone\n"
    "  store copy --from STORE --to STORE  copy a store (SQLite file, postgresql:// URI)\n"
    "  pool status|forget              members of an edge pool sharing a store\n"
    "  version              print the version\n"
    "  help                 this text\n"
    "\n"
    "exit status: 0 done, 1 the operation failed (conflict, not found, store, a check\n"
    "or a message that failed), 2 bad usage or configuration (docs/cli.md, man fedge).\n";

/* `fedge serve --help`: the usage lives here so that the server's own
 * code (cli_serve.c) keeps to running the server. */
static const char serve_usage[] =
    "usage: fedge serve -c FILE\n"
    "\n"
    "Runs the edge in the foreground: listens on [external] (mutual TLS for\n"
    "partners), [internal] and [admin] of FILE, applies store changes live.\n"
    "  SIGHUP   reload the certificates (no connection dropped)\n"
    "  SIGTERM  stop accepting, finish open transactions for up to 5 s, exit\n"
    "Logs go to stderr ([log] level and format). Under systemd (Type=notify)\n"
    "READY=1 is sent on $NOTIFY_SOCKET once the listeners accept.\n"
    "\n"
    "example:\n"
    "  fedge serve -c /etc/fedge/fedge.ini\n"
    "\n"
    "exit status: 0 stopped by a signal, 1 a listener could not be opened,\n"
    "2 bad usage, or a configuration or certificate that cannot be loaded.\n";

static bool wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        fputs(usage, stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        puts("fedge " FEDGE_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "parse"))
        return cli__parse(argc, argv);
    if (!strcmp(argv[1], "resolve"))
        return cli__resolve(argc, argv);
    if (!strcmp(argv[1], "plan") || !strcmp(argv[1], "check") || !strcmp(argv[1], "probe"))
        return cli__plan(argc, argv);
    if (!strcmp(argv[1], "serve")) {
        if (wants_help(argc, argv)) {
            fputs(serve_usage, stdout);
            return 0;
        }
        return cli_serve(argc, argv);
    }
    if (!strcmp(argv[1], "check-config"))
        return cli_check_config(argc, argv);
    if (!strcmp(argv[1], "domain") && argc > 2 &&
        (!strcmp(argv[2], "import") || !strcmp(argv[2], "export")))
        return cli__domain_io(argc, argv);
    if (!strcmp(argv[1], "domain"))
        return cli__store(argc, argv);
    if (!strcmp(argv[1], "provider"))
        return cli__store(argc, argv);
    if (!strcmp(argv[1], "policy"))
        return cli__store(argc, argv);
    if (!strcmp(argv[1], "edge"))
        return cli__store(argc, argv);
    if (!strcmp(argv[1], "watchlist"))
        return cli__store(argc, argv);
    if (!strcmp(argv[1], "admin"))
        return cli__admin(argc, argv);
    if (!strcmp(argv[1], "store"))
        return cli__storecopy(argc, argv);
    if (!strcmp(argv[1], "remote"))
        return cli__remote(argc, argv);
    if (!strcmp(argv[1], "pool"))
        return cli__pool(argc, argv);
    if (!strcmp(argv[1], "xmpp"))
        return cli__xmpp(argc, argv);
    fprintf(stderr, "fedge: unknown command '%s' (try 'fedge help')\n", argv[1]);
    return 2;
}
