/* cli_serve.c — `fedge serve -c FILE`: loads the configuration, runs the
 * edge (src/edge/) on a libuv loop, and wires the signals: SIGHUP reloads
 * the certificates, SIGTERM/SIGINT drain (a second one stops at once). */
#include "cli/cli.h"

#include "config/config.h"
#include "edge/edge.h"
#include "obs/obs.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char serve_usage[] = "usage: fedge serve -c FILE\n";

static void on_signal(uv_signal_t *h, int signum)
{
    edge_t *ed = h->data;
    if (signum == SIGHUP) {
        fedge_err_t e;
        edge_reload_tls(ed, &e); /* logs the outcome */
        return;
    }
    if (!edge_draining(ed))
        obs_logkv(OBS_LOG_NOTICE, "serve", "stopping: no new connections, finishing transactions",
                  "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    edge_drain(ed); /* the second time: at once */
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

int cli_serve(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(serve_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "fedge serve: unexpected argument '%s'\n%s", argv[i], serve_usage);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "fedge serve: -c FILE is required\n%s", serve_usage);
        return 2;
    }
    config_t *cf;
    fedge_err_t e;
    if (config_load(file, &cf, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    obs_log_init(cf->log.level, cf->log.format, NULL);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    edge_t *ed;
    int rc = edge_new(&loop, cf, &ed, &e);
    if (rc < 0) {
        if (rc == FEDGE_ECONFIG)
            fprintf(stderr, "%s: %s\n", file, e.msg);
        else
            fprintf(stderr, "fedge serve: %s\n", e.msg);
        uv_run(&loop, UV_RUN_DEFAULT); /* let the handles it opened close */
        uv_loop_close(&loop);
        config_free(cf);
        return rc == FEDGE_ECONFIG ? 2 : 1;
    }
    /* the signal handles do not keep the loop running: it ends when the
     * edge has closed everything after edge_drain */
    uv_signal_t sigs[3];
    int nums[3] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&loop, &sigs[i]);
        sigs[i].data = ed;
        uv_signal_start(&sigs[i], on_signal, nums[i]);
        uv_unref((uv_handle_t *)&sigs[i]);
    }
    obs_logkv(OBS_LOG_NOTICE, "serve", "fedge serve started", "fqdn", cf->edge.fqdn, "config", file,
              NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&sigs[i], on_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    edge_free(ed);
    uv_loop_close(&loop);
    config_free(cf);
    return 0;
}
