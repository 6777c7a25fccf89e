/* testutil.h — scaffolding the unit tests share (linked into every one by
 * the Makefile, as every non-test_*.c file under tests/unit is): temporary
 * folders, free loopback ports, a real dnsmasq, `fedge` commands run with
 * their output captured (the admin API's fixture is admin/api_fixture.h,
 * the standard proxy configuration proxy/proxy_fixture.h). Each fails the
 * running cmocka test when the machine does not cooperate. */
#ifndef FEDGE_TESTUTIL_H
#define FEDGE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Makes a new folder /tmp/fedge-TAG-XXXXXX into dir (cap bytes). */
void tu_mkdtemp(char *dir, size_t cap, const char *tag);

/* Removes dir and all it holds: 0, or -1 when that failed. */
int tu_rmtree(const char *dir);

/* The file's first cap - 1 bytes into buf, NUL-terminated. */
void tu_slurp(const char *path, char *buf, size_t cap);

/* A port free for both UDP and TCP on 127.0.0.1 right now. */
int tu_free_port(void);

/* cli_main(argc, argv) with its standard output into out and its standard
 * error into err (through files out.txt and err.txt in dir, cut to the
 * buffers' sizes); returns its exit status. */
int tu_cli_run(const char *dir, int argc, char **argv, char *out, size_t outcap, char *err,
               size_t errcap);

/* dnsmasq as the DNS server of a test, on 127.0.0.1 only, answering from
 * nothing but the options given, logging every query to log. */
typedef struct {
    pid_t pid;     /* 0 when not running */
    int port;      /* 0 before the first start: a free one is picked */
    char log[512]; /* DIR/dnsmasq-PORT.log */
} tu_dnsmasq_t;

/* Starts dnsmasq on m->port (picks one when 0) with extra options
 * (NULL-terminated, may be NULL), its log in logdir; returns when it
 * answers a query. A dnsmasq stopped with tu_dnsmasq_stop may be started
 * again on the same port. */
void tu_dnsmasq_start(tu_dnsmasq_t *m, const char *logdir, const char *const *extra);

/* Stops it (SIGTERM) and reaps it; nothing when it is not running. */
void tu_dnsmasq_stop(tu_dnsmasq_t *m);

#endif
