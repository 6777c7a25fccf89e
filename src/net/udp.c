/* udp.c — one bound UDP socket on the libuv loop: each datagram received
 * is handed up whole (a datagram is one SIP message, RFC 3261 §18.3), and
 * datagrams are sent to an IP literal and port. No connection state. */
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net_udp {
    uv_udp_t h;
    net_udp_recv_fn recv;
    void *user;
    char *buf; /* one receive buffer: libuv reads one datagram at a time */
    size_t cap;
    uint16_t port;
    bool closing;
    uint64_t dropped; /* datagrams larger than the buffer */
};

static int to_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
    char h[64];
    size_t n = strlen(ip);
    if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
        if (n - 2 >= sizeof(h))
            return FEDGE_EINVAL;
        memcpy(h, ip + 1, n - 2);
        h[n - 2] = '\0';
        ip = h;
    }
    memset(ss, 0, sizeof(*ss));
    if (uv_ip4_addr(ip, port, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(ip, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return FEDGE_EINVAL;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    net_udp_t *u = h->data;
    b->base = u->buf;
    b->len = u->cap;
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                    unsigned flags)
{
    (void)b;
    net_udp_t *u = h->data;
    if (n <= 0 || !from || u->closing)
        return; /* 0 with no address: nothing more to read now */
    if (flags & UV_UDP_PARTIAL) {
        u->dropped++; /* truncated: never handed up as if whole */
        return;
    }
    char ip[64] = "";
    uint16_t port = 0;
    if (from->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)from;
        uv_ip4_name(a, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else if (from->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
        uv_ip6_name(a, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    } else {
        return;
    }
    u->recv(u, u->buf, (size_t)n, ip, port);
}

int net_udp_open(uv_loop_t *loop, const char *ip, uint16_t port, size_t max_datagram,
                 net_udp_recv_fn fn, void *user, net_udp_t **out, fedge_err_t *e)
{
    *out = NULL;
    struct sockaddr_storage ss;
    if (!fn || to_addr(ip, port, &ss) < 0)
        return fedge_err(e, FEDGE_EINVAL, "UDP listen address %s is not an IP address", ip);
    net_udp_t *u = fedge_calloc(1, sizeof(*u));
    u->recv = fn;
    u->user = user;
    u->cap = max_datagram ? max_datagram : 65535;
    u->buf = fedge_malloc(u->cap);
    uv_udp_init(loop, &u->h);
    u->h.data = u;
    int rc = uv_udp_bind(&u->h, (const struct sockaddr *)&ss,
                         ss.ss_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&u->h, on_alloc, on_recv);
    if (rc < 0) {
        char hp[96];
        fedge_hostport_format(hp, sizeof(hp), ip, port);
        fedge_err(e, FEDGE_EIO, "cannot listen on UDP %s: %s", hp, uv_strerror(rc));
        net_udp_close(u);
        return FEDGE_EIO;
    }
    struct sockaddr_storage b;
    int bl = sizeof(b);
    if (uv_udp_getsockname(&u->h, (struct sockaddr *)&b, &bl) == 0)
        u->port = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
                                                : ((struct sockaddr_in *)&b)->sin_port);
    *out = u;
    return 0;
}

void *net_udp_user(const net_udp_t *u)
{
    return u->user;
}

uint16_t net_udp_port(const net_udp_t *u)
{
    return u->port;
}

uint64_t net_udp_dropped(const net_udp_t *u)
{
    return u->dropped;
}

int net_udp_send(net_udp_t *u, const char *ip, uint16_t port, const char *buf, size_t len,
                 fedge_err_t *e)
{
    if (u->closing)
        return fedge_err(e, FEDGE_ECLOSED, "UDP socket closing");
    struct sockaddr_storage ss;
    if (to_addr(ip, port, &ss) < 0)
        return fedge_err(e, FEDGE_EINVAL, "%s is not an IP address (UDP sends to addresses only)",
                         ip);
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    /* a datagram either leaves now or is lost, as UDP may lose it anyway:
     * the transaction layer retransmits (RFC 3261 §17) */
    int rc = uv_udp_try_send(&u->h, &b, 1, (const struct sockaddr *)&ss);
    if (rc < 0)
        return fedge_err(e, FEDGE_EIO, "UDP send to %s: %s", ip, uv_strerror(rc));
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    net_udp_t *u = h->data;
    free(u->buf);
    free(u);
}

void net_udp_close(net_udp_t *u)
{
    if (!u || u->closing)
        return;
    u->closing = true;
    uv_close((uv_handle_t *)&u->h, on_closed);
}
