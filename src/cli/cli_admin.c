/* cli_admin.c — `fedge admin add|passwd|remove|list|serve`: administrator
 * accounts of the web panel (password from the terminal without echo, or
 * stdin when it is not a terminal) and the admin server on its own. */
#include "cli/cli_admin.h"
#include "cli/cli_internal.h"

#include "admin/admin.h"
#include "config/config.h"
#include "obs/obs.h"
#include "store/store.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char usage[] =
    "usage: fedge admin add NAME -c FILE       create an administrator (asks for the "
    "password)\n"
    "       fedge admin passwd NAME -c FILE    change an administrator's password\n"
    "       fedge admin remove NAME -c FILE    remove an administrator\n"
    "       fedge admin list -c FILE           list administrators\n"
    "       fedge admin serve -c FILE          run only the admin server (REST API and web "
    "panel)\n"
    "The password is read from the terminal without echo, or from the first line of\n"
    "stdin when stdin is not a terminal. -c FILE may be replaced by --store PATH\n"
    "(except for serve).\n"
    "\n"
    "examples:\n"
    "  fedge admin add alice -c /etc/fedge/fedge.ini\n"
    "  fedge admin list -c /etc/fedge/fedge.ini\n"
    "\n"
    "exit status: 0 done, 1 the operation failed, 2 bad usage or configuration.\n";

static int usage_err(const char *msg, const char *arg)
{
    fprintf(stderr, "fedge: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fputs(usage, stderr);
    return 2;
}

/* Reads one line (without its newline) into buf; without echo when stdin
 * is a terminal. Returns 0, or -1 at end of input. */
static int read_line(const char *prompt, char *buf, size_t n)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            quiet.c_lflag |= ECHONL;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        } else {
            tty = false;
        }
    }
    char *r = fgets(buf, (int)n, stdin);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (!r)
        return -1;
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    return 0;
}

static int read_password(char *pw, size_t n)
{
    char again[ADMIN_PASSWORD_MAX + 2];
    fedge_err_t e;
    if (read_line("Password: ", pw, n) < 0) {
        fprintf(stderr, "fedge: no password given (expected one line on stdin)\n");
        return 2;
    }
    if (admin_password_check(pw, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 2;
    }
    if (isatty(STDIN_FILENO)) {
        if (read_line("Again: ", again, sizeof(again)) < 0 || strcmp(pw, again)) {
            memset(again, 0, sizeof(again));
            fprintf(stderr, "fedge: the passwords differ\n");
            return 2;
        }
        memset(again, 0, sizeof(again));
    }
    return 0;
}

static int serve(config_t *cfg)
{
    admin_opts_t o = {
        .store_path = cfg->edge.store,
        .listen = &cfg->admin.listen,
        .certificate = cfg->admin.certificate,
        .private_key = cfg->admin.private_key,
        .edge_fqdn = cfg->edge.fqdn,
        .sip_domains = cfg->edge.sip_domains,
        .n_sip_domains = cfg->edge.sip_domain_count,
    };
    obs_log_init(cfg->log.level, cfg->log.format, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Block before the server's thread starts so that it inherits the mask
     * and the signals come to sigwait below. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    admin_t *a = NULL;
    fedge_err_t e;
    if (admin_start(&o, &a, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    store_t *s = NULL;
    size_t n = 0;
    if (store_open(cfg->edge.store, &s, &e) == 0 && store_account_count(s, &n, &e) == 0 && !n)
        printf("fedge: no administrator yet: create one with\n  fedge admin add NAME -c %s\n",
               cfg->path);
    store_close(s);
    printf("fedge: admin panel at %s\n", admin_url(a));
    fflush(stdout);
    obs_logkv(OBS_LOG_NOTICE, "admin", "admin server started", "url", admin_url(a), NULL);
    int sig = 0;
    sigwait(&set, &sig);
    obs_logkv(OBS_LOG_NOTICE, "admin", "admin server stopping", "signal",
              sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    admin_stop(a);
    return 0;
}

static int list_cb(const store_account_t *a, void *ctx)
{
    printf("%-24s created %s  password changed %s\n", a->name, a->created_at, a->changed_at);
    return 0;
}

int cli__admin(int argc, char **argv)
{
    if (argc < 3)
        return usage_err("expected add, passwd, remove, list or serve", NULL);
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        }
    const char *sub = argv[2], *name = NULL, *config = NULL, *store_path = NULL;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config") || !strcmp(argv[i], "--store")) {
            if (i + 1 >= argc)
                return usage_err(argv[i], "needs a value (a file name)");
            if (!strcmp(argv[i], "--store"))
                store_path = argv[++i];
            else
                config = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_err("unknown option", argv[i]);
        } else if (!name) {
            name = argv[i];
        } else {
            return usage_err("unexpected argument", argv[i]);
        }
    }
    bool is_serve = !strcmp(sub, "serve"), is_list = !strcmp(sub, "list");
    if (!is_serve && !is_list && strcmp(sub, "add") && strcmp(sub, "passwd") &&
        strcmp(sub, "remove"))
        return usage_err("unknown admin command", sub);
    if ((is_serve || is_list) && name)
        return usage_err("unexpected argument", name);
    if (!is_serve && !is_list && !name)
        return usage_err("expected the administrator's NAME after", sub);
    if (is_serve && !config)
        return usage_err("fedge admin serve needs -c FILE", NULL);
    if (!config && !store_path)
        return usage_err("no store: expected -c FILE or --store PATH", NULL);
    fedge_err_t e;
    config_t *cfg = NULL;
    if (config && config_load(config, &cfg, &e) < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 2;
    }
    if (is_serve) {
        int rc = serve(cfg);
        config_free(cfg);
        return rc;
    }
    char nm[STORE_NAME_MAX + 1];
    if (name && store_check_name("NAME", name, nm, sizeof(nm), &e) < 0) {
        config_free(cfg);
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 2;
    }
    store_t *s = NULL;
    int r = store_open(store_path ? store_path : cfg->edge.store, &s, &e);
    config_free(cfg);
    if (r < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return 1;
    }
    int rc = 0;
    if (is_list) {
        r = store_account_list(s, list_cb, NULL, &e);
    } else if (!strcmp(sub, "remove")) {
        r = store_account_remove(s, nm, cli__actor(), &e);
        if (r == 0)
            printf("administrator %s removed (their sessions end)\n", nm);
    } else {
        char pw[ADMIN_PASSWORD_MAX + 2], hash[ADMIN_HASH_MAX];
        char probe[STORE_ACCOUNT_HASH_MAX];
        bool add = !strcmp(sub, "add");
        /* Fail before asking for a password that cannot be used. */
        r = store_account_get(s, nm, probe, sizeof(probe), &e);
        if (add && r == 0) {
            fprintf(stderr,
                    "fedge: administrator '%s' already exists; use 'fedge admin passwd "
                    "%s'\n",
                    nm, nm);
            store_close(s);
            return 1;
        }
        if (!add && r < 0) {
            fprintf(stderr, "fedge: %s\n", e.msg);
            store_close(s);
            return 1;
        }
        if ((rc = read_password(pw, sizeof(pw))) == 0) {
            r = admin_password_hash(pw, hash, sizeof(hash), &e);
            if (r == 0)
                r = add ? store_account_add(s, nm, hash, cli__actor(), &e)
                        : store_account_passwd(s, nm, hash, cli__actor(), &e);
            if (r == 0)
                printf(add ? "administrator %s added\n" : "password of %s changed\n", nm);
        }
        memset(pw, 0, sizeof(pw));
    }
    store_close(s);
    if (rc)
        return rc;
    if (r < 0) {
        fprintf(stderr, "fedge: %s\n", e.msg);
        return r == FEDGE_EINVAL ? 2 : 1;
    }
    return 0;
}
