/* testutil.c — the scaffolding of testutil.h the unit tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "testutil.h"

void tu_mkdtemp(char *dir, size_t cap, const char *tag)
{
    int n = snprintf(dir, cap, "/tmp/fedge-%s-XXXXXX", tag);
    assert_true(n > 0 && (size_t)n < cap);
    if (!mkdtemp(dir))
        fail_msg("mkdtemp %s failed", dir);
}

int tu_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

void tu_slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    size_t len = fread(buf, 1, cap - 1, f);
    buf[len] = 0;
    fclose(f);
}

int tu_free_port(void)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(u, (struct sockaddr *)&a, sizeof a), 0);
        socklen_t l = sizeof a;
        getsockname(u, (struct sockaddr *)&a, &l);
        int t = socket(AF_INET, SOCK_STREAM, 0);
        int ok = bind(t, (struct sockaddr *)&a, sizeof a) == 0;
        close(t);
        close(u);
        if (ok)
            return ntohs(a.sin_port);
    }
    fail_msg("no free port");
    return -1;
}

int tu_cli_run(const char *dir, int argc, char **argv, char *out, size_t outcap, char *err,
               size_t errcap)
{
    char op[600], ep[600];
    snprintf(op, sizeof(op), "%s/out.txt", dir);
    snprintf(ep, sizeof(ep), "%s/err.txt", dir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    tu_slurp(op, out, outcap);
    tu_slurp(ep, err, errcap);
    return rc;
}

/* True when something answers an A query for ready.probe over UDP within
 * 50 ms (any answer, NXDOMAIN included: the server is up). */
static bool dns_answers(int port)
{
    static const uint8_t q[] = {0x12, 0x34, 1,   0, 0,   1,   0,   0,   0,   0, 0, 0, 5, 'r', 'e',
                                'a',  'd',  'y', 5, 'p', 'r', 'o', 'b', 'e', 0, 0, 1, 0, 1};
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sendto(s, q, sizeof q, 0, (struct sockaddr *)&a, sizeof a);
    uint8_t ans[512];
    ssize_t n = recv(s, ans, sizeof ans, 0);
    close(s);
    return n > 0;
}

void tu_dnsmasq_start(tu_dnsmasq_t *m, const char *logdir, const char *const *extra)
{
    if (!m->port)
        m->port = tu_free_port();
    snprintf(m->log, sizeof m->log, "%s/dnsmasq-%d.log", logdir, m->port);
    unlink(m->log);
    char portarg[32], logarg[600];
    snprintf(portarg, sizeof portarg, "--port=%d", m->port);
    snprintf(logarg, sizeof logarg, "--log-facility=%s", m->log);
    const char *argv[128] = {"/usr/sbin/dnsmasq",
                             "--no-daemon",
                             "--no-resolv",
                             "--no-hosts",
                             "--conf-file=/dev/null",
                             portarg,
                             "--listen-address=127.0.0.1",
                             "--bind-interfaces",
                             "--user=root",
                             "--group=root",
                             "--log-queries",
                             logarg,
                             "--pid-file="};
    int n = 13;
    for (size_t i = 0; extra && extra[i]; i++) {
        assert_true(n < 126);
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    m->pid = pid;
    for (int i = 0; i < 200; i++) {
        if (dns_answers(m->port))
            return;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            m->pid = 0;
            fail_msg("dnsmasq exited at start (status %d); see %s", st, m->log);
        }
    }
    fail_msg("dnsmasq did not answer on port %d", m->port);
}

void tu_dnsmasq_stop(tu_dnsmasq_t *m)
{
    if (m->pid <= 0)
        return;
    kill(m->pid, SIGTERM);
    int st;
    waitpid(m->pid, &st, 0);
    m->pid = 0;
}
