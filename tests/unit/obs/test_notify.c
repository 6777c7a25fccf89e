/* test_notify.c — unit tests of the service manager readiness messages
 * (obs_notify_*): the datagrams a real AF_UNIX listener receives, for a
 * socket path and an abstract name, and the errors for bad NOTIFY_SOCKET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "obs/notify.h"

/* Binds a datagram socket on name (a path, or "@abstract") and sets
 * NOTIFY_SOCKET to it. */
static int listener(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(sa.sun_path, name, len);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    else
        unlink(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
        0);
    setenv("NOTIFY_SOCKET", name, 1);
    return fd;
}

static void receive(int fd, const char *want)
{
    char buf[1024];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_ready_on_path(void **state)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/fedge-notify-%d.sock", (int)getpid());
    int fd = listener(path);
    fedge_err_t e;
    assert_int_equal(obs_notify_ready("listening on 127.0.0.1:5061", &e), 0);
    receive(fd, "READY=1\nSTATUS=listening on 127.0.0.1:5061");
    assert_int_equal(obs_notify_ready(NULL, &e), 0);
    receive(fd, "READY=1");
    assert_int_equal(obs_notify_stopping(&e), 0);
    receive(fd, "STOPPING=1\nSTATUS=draining: finishing open transactions");
    close(fd);
    unlink(path);
    unsetenv("NOTIFY_SOCKET");
}

static void test_ready_on_abstract_name(void **state)
{
    char name[64];
    snprintf(name, sizeof(name), "@fedge-notify-test-%d", (int)getpid());
    int fd = listener(name);
    fedge_err_t e;
    assert_int_equal(obs_notify("RELOADING=1", &e), 0);
    receive(fd, "RELOADING=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

/* Not started by systemd: nothing to do, and no error. */
static void test_no_socket_is_not_an_error(void **state)
{
    unsetenv("NOTIFY_SOCKET");
    fedge_err_t e;
    assert_int_equal(obs_notify_ready("x", &e), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(obs_notify_ready("x", &e), 0);
    unsetenv("NOTIFY_SOCKET");
}

static void test_bad_socket(void **state)
{
    fedge_err_t e;
    setenv("NOTIFY_SOCKET", "relative.sock", 1);
    assert_int_equal(obs_notify_ready(NULL, &e), FEDGE_EINVAL);
    assert_non_null(strstr(e.msg, "relative.sock"));
    setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
    assert_int_equal(obs_notify_ready(NULL, &e), FEDGE_EINVAL);
    /* A path nobody listens on: the send fails and says why. */
    setenv("NOTIFY_SOCKET", "/nonexistent/fedge-notify.sock", 1);
    assert_int_equal(obs_notify_ready(NULL, &e), FEDGE_EIO);
    assert_non_null(strstr(e.msg, "/nonexistent/fedge-notify.sock"));
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_on_path),
        cmocka_unit_test(test_ready_on_abstract_name),
        cmocka_unit_test(test_no_socket_is_not_an_error),
        cmocka_unit_test(test_bad_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
