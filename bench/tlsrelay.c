/* tlsrelay.c — the floor of bench/proxy.sh [6]: a relay that does the I/O a
 * mutual-TLS edge does for one forwarded request and no SIP work at all.
 * Each accepted TLS connection (client certificate required and verified
 * against the CA) gets its own TCP connection to the next hop; what is
 * decrypted on one is written to the other, and what the other answers is
 * encrypted back. Built like fedge's I/O (src/net): one libuv loop, the
 * socket read by libuv, OpenSSL on memory BIOs, uv_try_write first,
 * TCP_NODELAY, SSL_MODE_RELEASE_BUFFERS. Its CPU per message, measured in
 * the same rounds as fedge and Kamailio, is what the machine's kernel, TLS
 * and event loop cost before any proxy work: fedge's figure minus this one
 * is what SIP processing costs.
 *
 *   tlsrelay --listen PORT --connect PORT --cert F --key F --ca F
 *
 * Prints "tlsrelay: listening" once the socket is bound; exits on SIGTERM. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct relay {
    uv_tcp_t tls;   /* the partner side, TLS */
    uv_tcp_t plain; /* the next hop, TCP */
    uv_connect_t creq;
    SSL *ssl;
    BIO *rbio, *wbio; /* memory BIOs: network bytes in, network bytes out */
    int open_handles;
    int plain_up;
    int closing;
} relay_t;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} wreq_t;

static SSL_CTX *ctx;
static struct sockaddr_in next_hop;
static char rbuf[65536];
static char pbuf[65536];

static void on_close(uv_handle_t *h)
{
    relay_t *r = h->data;
    if (--r->open_handles == 0) {
        SSL_free(r->ssl);
        free(r);
    }
}

static void relay_close(relay_t *r)
{
    if (r->closing)
        return;
    r->closing = 1;
    uv_close((uv_handle_t *)&r->tls, on_close);
    uv_close((uv_handle_t *)&r->plain, on_close);
}

static void on_write(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    free(w->buf.base);
    free(w);
    (void)status;
}

/* Writes len bytes of p to s: at once when the socket takes them, else a
 * copy is queued. */
static int send_bytes(uv_tcp_t *s, const char *p, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)s, &b, 1);
    if (n == (int)len)
        return 0;
    if (n < 0 && n != UV_EAGAIN)
        return n;
    if (n < 0)
        n = 0;
    wreq_t *w = malloc(sizeof *w);
    if (!w)
        return UV_ENOMEM;
    w->buf = uv_buf_init(malloc(len - (size_t)n), (unsigned)(len - (size_t)n));
    if (!w->buf.base) {
        free(w);
        return UV_ENOMEM;
    }
    memcpy(w->buf.base, p + n, len - (size_t)n);
    return uv_write(&w->req, (uv_stream_t *)s, &w->buf, 1, on_write);
}

/* Sends what OpenSSL has written into the outgoing memory BIO. */
static int flush_tls(relay_t *r)
{
    char *p;
    long n = BIO_get_mem_data(r->wbio, &p);
    if (n <= 0)
        return 0;
    int rc = send_bytes(&r->tls, p, (size_t)n);
    (void)BIO_reset(r->wbio);
    return rc;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    relay_t *r = h->data;
    (void)hint;
    *b = (uv_stream_t *)h == (uv_stream_t *)&r->tls ? uv_buf_init(rbuf, sizeof rbuf)
                                                    : uv_buf_init(pbuf, sizeof pbuf);
}

static void on_tls_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    relay_t *r = s->data;
    if (n < 0) {
        relay_close(r);
        return;
    }
    if (n == 0)
        return;
    BIO_write(r->rbio, b->base, (int)n);
    /* every record this read completed, decrypted into one buffer and
     * written in one call (fedge too writes once per connection and turn) */
    size_t have = 0;
    for (;;) {
        int got = SSL_read(r->ssl, pbuf + have, (int)(sizeof pbuf - have));
        if (got > 0) {
            have += (size_t)got;
            if (have < sizeof pbuf)
                continue;
            if (send_bytes(&r->plain, pbuf, have) != 0) {
                relay_close(r);
                return;
            }
            have = 0;
            continue;
        }
        int e = SSL_get_error(r->ssl, got);
        if (e == SSL_ERROR_WANT_READ)
            break;
        ERR_clear_error();
        relay_close(r);
        return;
    }
    if ((have && send_bytes(&r->plain, pbuf, have) != 0) ||
        flush_tls(r) != 0) /* handshake and session tickets */
        relay_close(r);
}

static void on_plain_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    relay_t *r = s->data;
    if (n < 0) {
        relay_close(r);
        return;
    }
    if (n == 0)
        return;
    if (SSL_write(r->ssl, b->base, (int)n) != (int)n || flush_tls(r) != 0) {
        ERR_clear_error();
        relay_close(r);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    relay_t *r = req->data;
    if (r->closing)
        return;
    if (status != 0) {
        relay_close(r);
        return;
    }
    r->plain_up = 1;
    uv_tcp_nodelay(&r->plain, 1);
    uv_read_start((uv_stream_t *)&r->plain, alloc_cb, on_plain_read);
    uv_read_start((uv_stream_t *)&r->tls, alloc_cb, on_tls_read);
}

static void on_accept(uv_stream_t *srv, int status)
{
    if (status != 0)
        return;
    relay_t *r = calloc(1, sizeof *r);
    if (!r)
        return;
    uv_tcp_init(srv->loop, &r->tls);
    uv_tcp_init(srv->loop, &r->plain);
    r->tls.data = r->plain.data = r->creq.data = r;
    r->open_handles = 2;
    r->ssl = SSL_new(ctx);
    r->rbio = BIO_new(BIO_s_mem());
    r->wbio = BIO_new(BIO_s_mem());
    if (!r->ssl || !r->rbio || !r->wbio) {
        BIO_free(r->rbio);
        BIO_free(r->wbio);
        relay_close(r);
        return;
    }
    BIO_set_mem_eof_return(r->rbio, -1);
    SSL_set_bio(r->ssl, r->rbio, r->wbio);
    SSL_set_accept_state(r->ssl);
    if (uv_accept(srv, (uv_stream_t *)&r->tls) != 0 ||
        uv_tcp_connect(&r->creq, &r->plain, (const struct sockaddr *)&next_hop, on_connect) != 0) {
        relay_close(r);
        return;
    }
    uv_tcp_nodelay(&r->tls, 1);
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)sig;
    uv_stop(s->loop);
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *ca = NULL;
    int listen_port = 0, connect_port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen"))
            listen_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--connect"))
            connect_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cert"))
            cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else if (!strcmp(argv[i], "--ca"))
            ca = argv[i + 1];
    }
    if (!listen_port || !connect_port || !cert || !key || !ca) {
        fprintf(stderr, "usage: tlsrelay --listen PORT --connect PORT --cert F --key F --ca F\n");
        return 2;
    }
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* as src/net/tls.c: a client that resumes a session (stunnel does)
     * with certificate verification on needs a session id context */
    static const unsigned char sid_ctx[] = "tlsrelay";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);

    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t srv;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", listen_port, &addr);
    uv_ip4_addr("127.0.0.1", connect_port, &next_hop);
    uv_tcp_init(loop, &srv);
    int rc = uv_tcp_bind(&srv, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv, 128, on_accept);
    if (rc != 0) {
        fprintf(stderr, "tlsrelay: 127.0.0.1:%d: %s\n", listen_port, uv_strerror(rc));
        return 1;
    }
    uv_signal_t sig;
    uv_signal_init(loop, &sig);
    uv_signal_start(&sig, on_signal, SIGTERM);
    printf("tlsrelay: listening on 127.0.0.1:%d, next hop 127.0.0.1:%d\n", listen_port,
           connect_port);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    SSL_CTX_free(ctx);
    return 0;
}
