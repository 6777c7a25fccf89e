/* main.c — the fedge command: dispatches to the subcommands in src/cli. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
