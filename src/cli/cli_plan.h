/* cli_plan.h — `fedge plan`, `fedge check`, `fedge probe` (private to
 * src/cli): planning and live diagnostics from the configuration. */
#ifndef FEDGE_CLI_PLAN_H
#define FEDGE_CLI_PLAN_H

/* `fedge plan|check|probe -c FILE [--json] [--timeout MS] [DOMAIN]` with
 * main()'s arguments (argv[1] is the command). Returns the exit code:
 * plan 0; check and probe 0 when nothing failed, 1 when something did;
 * 2 for bad usage or a configuration that cannot be loaded. */
int cli__plan(int argc, char **argv);

#endif
