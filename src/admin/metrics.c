/* metrics.c — the Prometheus scrape endpoint ([metrics] listen): plain HTTP
 * on libmicrohttpd's own thread, GET /metrics answers obs_metrics_write. */
#include "admin/admin.h"

#include "obs/obs.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct admin_metrics {
    struct MHD_Daemon *d;
    uint16_t port;
    char url[128];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    (void)upload;
    if (!*state) { /* first call: headers only; a body is never wanted */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* discarded */
        return MHD_YES;
    }
    static char not_found[] = "not found: the metrics are at /metrics\n";
    static char not_allowed[] = "method not allowed\n";
    if (strcmp(url, "/metrics"))
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", not_found,
                     sizeof(not_found) - 1, MHD_RESPMEM_PERSISTENT);
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", not_allowed,
                     sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    int rc = obs_metrics_write(f);
    if (fclose(f) != 0 || rc < 0) {
        free(buf);
        return MHD_NO;
    }
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len,
                 MHD_RESPMEM_MUST_FREE);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    obs_logkv(OBS_LOG_WARNING, "metrics", "http server", "detail", buf, NULL);
}

int admin_metrics_start(const config_hostport_t *listen, admin_metrics_t **out, fedge_err_t *err)
{
    *out = NULL;
    char hp[300];
    config_hostport_format(listen, hp, sizeof(hp));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (listen->kind == CONFIG_HOST_IPV4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(listen->port);
        if (inet_pton(AF_INET, listen->host, &s4->sin_addr) != 1)
            return fedge_err(err, FEDGE_ECONFIG, "[metrics] listen = %s: not an IP address", hp);
    } else if (listen->kind == CONFIG_HOST_IPV6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(listen->port);
        if (inet_pton(AF_INET6, listen->host, &s6->sin6_addr) != 1)
            return fedge_err(err, FEDGE_ECONFIG, "[metrics] listen = %s: not an IP address", hp);
        flags |= MHD_USE_IPv6;
    } else {
        return fedge_err(err, FEDGE_ECONFIG, "[metrics] listen = %s: expected an IP address", hp);
    }
    admin_metrics_t *m = fedge_calloc(1, sizeof(*m));
    /* A scrape is small and rare: few connections, short timeouts. */
    m->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, m,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)8, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!m->d) {
        free(m);
        return fedge_err(err, FEDGE_EIO,
                         "metrics: cannot listen on %s (address in use, or not an address of "
                         "this machine)",
                         hp);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = di ? di->port : listen->port;
    if (listen->kind == CONFIG_HOST_IPV6)
        snprintf(m->url, sizeof(m->url), "http://[%s]:%u/metrics", listen->host, m->port);
    else
        snprintf(m->url, sizeof(m->url), "http://%s:%u/metrics", listen->host, m->port);
    *out = m;
    return 0;
}

uint16_t admin_metrics_port(const admin_metrics_t *m)
{
    return m ? m->port : 0;
}

const char *admin_metrics_url(const admin_metrics_t *m)
{
    return m ? m->url : "";
}

void admin_metrics_stop(admin_metrics_t *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
