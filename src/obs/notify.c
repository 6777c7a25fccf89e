/* notify.c — the service manager's readiness protocol (sd_notify(3)): one
 * datagram of "KEY=VALUE" lines sent to the AF_UNIX socket named by
 * $NOTIFY_SOCKET. systemd documents this protocol as a stable interface
 * that services may implement themselves (sd_notify(3), "Notes"); doing so
 * keeps libsystemd out of every fedge binary and test for ten lines. */
#include "obs/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int obs_notify(const char *state, fedge_err_t *e)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    size_t len = strlen(path), slen = strlen(state);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path) || len < 2)
        return fedge_err(e, FEDGE_EINVAL,
                         "NOTIFY_SOCKET \"%.200s\": expected an absolute socket path or an "
                         "abstract name starting with @",
                         path);
    if (slen > 4096)
        return fedge_err(e, FEDGE_EINVAL, "notification longer than 4096 bytes");
    memcpy(sa.sun_path, path, len);
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* Linux abstract namespace: no trailing NUL counted */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fedge_err(e, FEDGE_EIO, "NOTIFY_SOCKET: socket: %s", strerror(errno));
    ssize_t n;
    do
        n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    while (n < 0 && errno == EINTR);
    int err = errno;
    close(fd);
    if (n < 0)
        return fedge_err(e, FEDGE_EIO, "NOTIFY_SOCKET %.200s: %s", path, strerror(err));
    if ((size_t)n != slen)
        return fedge_err(e, FEDGE_EIO, "NOTIFY_SOCKET %.200s: short send", path);
    return 0;
}

int obs_notify_ready(const char *status, fedge_err_t *e)
{
    char buf[512];
    if (status && *status)
        snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", status);
    else
        snprintf(buf, sizeof(buf), "READY=1");
    return obs_notify(buf, e);
}

int obs_notify_stopping(fedge_err_t *e)
{
    return obs_notify("STOPPING=1\nSTATUS=draining: finishing open transactions", e);
}
