/* test_net.c — unit tests of src/net/: real sockets on 127.0.0.1 and ::1, a
 * real libuv loop in-process, real certificates from scripts/gen-certs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "net/net.h"
#include "plan/plan.h"

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

static char pki[64];      /* generated certificates */
static char scratch[128]; /* files a test rewrites (reload) */

static char *pk(const char *name)
{
    static char bufs[16][400];
    static int i;
    char *b = bufs[i++ % 16];
    snprintf(b, sizeof bufs[0], "%s/%s", pki, name);
    return b;
}

typedef struct {
    net_conn_t *c;
    int ready, closed, code;
    char reason[256];
    char data[8192];
    size_t len;
} tconn_t;

static tconn_t pool[1400];
static int npool;
static tconn_t *srv_conns[1400];
static int nsrv;
static bool srv_echo, srv_close_on_data, srv_answer_close;

static uv_loop_t loop;
static net_t *srv, *cli;
static char logbuf[65536];
static size_t loglen;
static uv_timer_t tick;

static tconn_t *tc_new(void)
{
    assert_true(npool < (int)FEDGE_ARRAY_LEN(pool));
    tconn_t *t = &pool[npool++];
    memset(t, 0, sizeof *t);
    return t;
}

static void on_ready(net_conn_t *c)
{
    tconn_t *t = net_conn_user(c);
    if (!t) { /* inbound */
        t = tc_new();
        net_conn_set_user(c, t);
        srv_conns[nsrv++] = t;
    }
    t->c = c;
    t->ready++;
}

static void on_data(net_conn_t *c, const char *buf, size_t len)
{
    tconn_t *t = net_conn_user(c);
    assert_non_null(t);
    if (t->len + len < sizeof t->data) {
        memcpy(t->data + t->len, buf, len);
        t->len += len;
        t->data[t->len] = '\0';
    }
    if (net_conn_is_inbound(c) && srv_echo)
        assert_int_equal(net_conn_write(c, buf, len), 0);
    if (net_conn_is_inbound(c) && srv_answer_close && !t->code) {
        t->code = 1; /* answered once */
        assert_int_equal(net_conn_write(c, "ANSWER\n", 7), 0);
        net_conn_close(c);
    }
    if (net_conn_is_inbound(c) && srv_close_on_data) {
        net_conn_close(c); /* closing inside a callback is safe */
        assert_int_equal(net_conn_write(c, "x", 1), FEDGE_ECLOSED);
        net_conn_close(c); /* idempotent */
    }
}

static void on_close(net_conn_t *c, int code, const char *reason)
{
    tconn_t *t = net_conn_user(c);
    assert_non_null(t);
    t->closed++;
    t->code = code;
    snprintf(t->reason, sizeof t->reason, "%s", reason);
    t->c = NULL;
}

static const net_conn_cbs_t cbs = {on_ready, on_data, on_close};

static void log_cb(void *user, int level, net_conn_t *c, const char *msg)
{
    (void)user;
    (void)level;
    (void)c;
    size_t l = strlen(msg);
    if (loglen + l + 2 < sizeof logbuf) {
        memcpy(logbuf + loglen, msg, l);
        loglen += l;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = '\0';
    }
}

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until cond holds or ms have passed. */
#define RUN_UNTIL(cond, ms)                                                                        \
    do {                                                                                           \
        uint64_t end_ = mono_ms() + (ms);                                                          \
        uv_timer_start(&tick, tick_cb, 5, 5);                                                      \
        while (!(cond) && mono_ms() < end_)                                                        \
            uv_run(&loop, UV_RUN_ONCE);                                                            \
        uv_timer_stop(&tick);                                                                      \
    } while (0)

#define RUN_FOR(ms) RUN_UNTIL(false, ms)

static net_opts_t default_opts(void)
{
    net_opts_t o = {0};
    o.handshake_timeout_ms = 5000;
    o.idle_timeout_ms = 30000;
    o.log = log_cb;
    return o;
}

static void make_nets(const net_opts_t *so, const net_opts_t *co)
{
    fedge_err_t e;
    net_opts_t d = default_opts();
    assert_int_equal(net_new(&loop, so ? so : &d, &srv, &e), 0);
    assert_int_equal(net_new(&loop, co ? co : &d, &cli, &e), 0);
}

static int setup(void **state)
{
    (void)state;
    memset(pool, 0, sizeof pool);
    npool = nsrv = 0;
    srv_echo = srv_close_on_data = srv_answer_close = false;
    loglen = 0;
    logbuf[0] = '\0';
    srv = cli = NULL;
    if (uv_loop_init(&loop) != 0)
        return -1;
    uv_timer_init(&loop, &tick);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (srv)
        net_destroy(srv);
    if (cli)
        net_destroy(cli);
    uv_close((uv_handle_t *)&tick, NULL);
    uint64_t end = mono_ms() + 5000;
    while (uv_run(&loop, UV_RUN_NOWAIT) && mono_ms() < end)
        usleep(1000);
    /* The loop must close clean: nothing left running, nothing leaked. */
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(pki, sizeof pki, "/tmp/fedge-net-XXXXXX");
    if (!mkdtemp(pki))
        return -1;
    if (access("scripts/gen-certs", X_OK) != 0) {
        fprintf(stderr, "run from the repository root (scripts/gen-certs not found)\n");
        return -1;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "scripts/gen-certs %s && "
             "scripts/gen-certs %s uris.fabrikam.test "
             "'DNS:Edge2.Fabrikam.TEST,DNS:*.wild.fabrikam.test,URI:sip:fabrikam.test,"
             "URI:sips:secure.fabrikam.test,URI:sip:alice@users.fabrikam.test,"
             "URI:http://web.fabrikam.test/' && "
             "scripts/gen-certs %s edge-new.contoso.test 'DNS:edge-new.contoso.test'",
             pki, pki, pki);
    if (system(cmd) != 0)
        return -1;
    /* A leaf whose CN is a name its subjectAltName does not carry, with
     * sip URIs holding a port, parameters, an IPv6 host and a user part. */
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -keyout mixed.fabrikam.test.key -subj '/O=fedge tests/CN=cn.fabrikam.test' "
             "-addext 'subjectAltName=DNS:San.Fabrikam.TEST,DNS:*.wild.fabrikam.test,"
             "URI:sip:Port.Fabrikam.TEST:5061;transport=tls,URI:sip:[2001:DB8::5]:5061,"
             "URI:sip:bob@users.fabrikam.test,URI:sips:secure.fabrikam.test' "
             "-addext 'extendedKeyUsage=serverAuth,clientAuth' 2>/dev/null | "
             "openssl x509 -req -CA ca.crt -CAkey ca.key -days 30 -copy_extensions copy "
             "-out mixed.fabrikam.test.crt 2>/dev/null",
             pki);
    if (system(cmd) != 0)
        return -1;
    snprintf(scratch, sizeof scratch, "%s/scratch", pki);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    return system(cmd) == 0 ? 0 : -1;
}

/* TLS configurations. */
static net_tls_t *tls_of(const char *leaf, const char *ca, bool require)
{
    char crt[128], key[128];
    net_tls_opts_t o = {0};
    if (leaf) {
        snprintf(crt, sizeof crt, "%s.crt", leaf);
        snprintf(key, sizeof key, "%s.key", leaf);
        o.certificate = pk(crt);
        o.private_key = pk(key);
    }
    o.ca_file = pk(ca ? ca : "ca.crt");
    o.require_client_certificate = require;
    net_tls_t *t = NULL;
    fedge_err_t e = {{0}};
    int rc = net_tls_new(&o, &t, &e);
    if (rc != 0)
        fprintf(stderr, "net_tls_new: %s\n", e.msg);
    assert_int_equal(rc, 0);
    return t;
}

static net_listener_t *listen_on(const char *hp, net_tls_t *tls, void *tag)
{
    net_listen_opts_t o = {.host_port = hp, .tls = tls, .tag = tag, .cbs = cbs};
    net_listener_t *l = NULL;
    fedge_err_t e = {{0}};
    int rc = net_listen(srv, &o, &l, &e);
    if (rc != 0)
        fprintf(stderr, "net_listen: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_true(net_listener_port(l) > 0);
    return l;
}

static tconn_t *dial(const char *host, uint16_t port, net_tls_t *tls, const char *sni)
{
    tconn_t *t = tc_new();
    net_connect_opts_t o = {
        .host = host, .port = port, .tls = tls, .sni = sni, .user = t, .cbs = cbs};
    fedge_err_t e = {{0}};
    assert_int_equal(net_connect(cli, &o, &t->c, &e), 0);
    assert_non_null(t->c);
    return t;
}

static bool has_name(const char *const *names, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0)
            return true;
    return false;
}

static int raw_connect(int family, const char *ip, uint16_t port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int rc;
    if (family == AF_INET) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, ip, &a.sin_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        inet_pton(AF_INET6, ip, &a.sin6_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    assert_int_equal(rc, 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* 1 when the peer closed the raw socket (EOF or reset), 0 otherwise. */
static int raw_closed(int fd)
{
    char b[4096];
    for (;;) {
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r == 0)
            return 1;
        if (r < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : 1;
    }
}

/* ------------------------------------------------------------------ */
/* Mutual TLS                                                          */
/* ------------------------------------------------------------------ */

static void test_mtls_ipv4_data_both_ways_and_names(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    int side_tag;
    net_listener_t *l = listen_on("127.0.0.1:0", stls, &side_tag);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, "edge.contoso.test");
    assert_true(net_conn_is_tls(ct->c));
    RUN_UNTIL(ct->ready && nsrv == 1, 5000);
    assert_int_equal(ct->ready, 1);
    assert_int_equal(nsrv, 1);
    tconn_t *st = srv_conns[0];

    /* The server sees the client's identity. */
    const net_peer_t *p = net_conn_peer(st->c);
    assert_non_null(p);
    assert_true(p->presented);
    assert_true(p->verified);
    assert_null(p->verify_error);
    assert_true(p->eku_ok);
    assert_int_equal(p->n_dns, 2);
    assert_true(has_name(p->dns, p->n_dns, "edge.fabrikam.test"));
    assert_true(has_name(p->dns, p->n_dns, "fabrikam.test"));
    assert_int_equal(p->n_sip, 1);
    assert_string_equal(p->sip[0], "fabrikam.test");
    assert_null(p->cn); /* there is a SAN: the CN is not an identity */
    assert_true(p->not_after > time(NULL));
    assert_non_null(strstr(p->subject, "CN=edge.fabrikam.test"));
    assert_true(net_peer_names(p, "EDGE.fabrikam.test"));
    assert_false(net_peer_names(p, "edge.contoso.test"));
    assert_false(net_peer_names(p, "test")); /* no suffix match */
    assert_false(net_peer_names(p, "x.fabrikam.test"));
    /* RFC 5922 §7.1: with a sip URI present, DNS names are not SIP
     * domain identities. */
    assert_true(net_peer_is_domain(p, "Fabrikam.test"));
    assert_false(net_peer_is_domain(p, "edge.fabrikam.test"));
    assert_true(net_conn_is_inbound(st->c));
    assert_ptr_equal(net_conn_tag(st->c), &side_tag);
    assert_string_equal(net_conn_sni(st->c), "edge.contoso.test");
    assert_string_equal(net_conn_remote_ip(st->c), "127.0.0.1");
    assert_int_equal(strncmp(net_conn_remote(st->c), "127.0.0.1:", 10), 0);
    assert_null(net_conn_target(st->c));

    /* The client sees the server's identity. */
    const net_peer_t *q = net_conn_peer(ct->c);
    assert_non_null(q);
    assert_true(q->verified);
    assert_true(q->eku_ok);
    assert_true(has_name(q->dns, q->n_dns, "edge.contoso.test"));
    assert_true(has_name(q->sip, q->n_sip, "contoso.test"));
    assert_false(net_conn_is_inbound(ct->c));
    assert_string_equal(net_conn_sni(ct->c), "edge.contoso.test");
    char local[64];
    assert_int_equal(net_conn_local(ct->c, local, sizeof local), 0);
    assert_int_equal(strncmp(local, "127.0.0.1:", 10), 0);
    assert_int_equal(net_conn_local(ct->c, local, 4), FEDGE_ENOSPC);

    /* Data both ways. */
    assert_int_equal(net_conn_write(ct->c, "OPTIONS sip:x SIP/2.0\r\n", 23), 0);
    RUN_UNTIL(st->len == 23, 3000);
    assert_memory_equal(st->data, "OPTIONS sip:x SIP/2.0\r\n", 23);
    fedge_str_t parts[3] = {FEDGE_STR_LIT("SIP/2.0 "), FEDGE_STR_LIT("200 "),
                            FEDGE_STR_LIT("OK\r\n")};
    assert_int_equal(net_conn_writev(st->c, parts, 3), 0);
    RUN_UNTIL(ct->len == 16, 3000);
    assert_string_equal(ct->data, "SIP/2.0 200 OK\r\n");

    net_stats_t s;
    net_stats(srv, &s);
    assert_int_equal(s.open, 1);
    assert_int_equal(s.open_tls, 1);
    assert_int_equal(s.handshakes_ok, 1);
    assert_int_equal(s.bytes_in, 23);
    assert_int_equal(s.bytes_out, 16);

    /* A local close reaches the other side. */
    net_conn_close(ct->c);
    RUN_UNTIL(ct->closed && st->closed, 3000);
    assert_int_equal(ct->closed, 1);
    assert_int_equal(ct->code, 0);
    assert_int_equal(st->closed, 1);
    assert_int_equal(st->code, FEDGE_ECLOSED);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* A returning client resumes its session from a ticket (no certificate
 * exchange), and both sides still see the identity the full handshake
 * verified; a reload of the server's configuration changes the ticket
 * key, so the next connection is a full handshake again. */
static void test_session_resumed_keeps_peer_identity(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    srv_echo = true;
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    uint16_t port = net_listener_port(l);
    tconn_t *first = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    RUN_UNTIL(first->ready && nsrv == 1, 5000);
    assert_int_equal(first->ready, 1);
    assert_false(net_conn_resumed(first->c));
    assert_false(net_conn_resumed(srv_conns[0]->c));
    /* The ticket follows the handshake; an echo proves it was read. */
    assert_int_equal(net_conn_write(first->c, "ping", 4), 0);
    RUN_UNTIL(first->len == 4, 3000);
    assert_int_equal(first->len, 4);

    tconn_t *second = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    RUN_UNTIL(second->ready && nsrv == 2, 5000);
    assert_int_equal(second->ready, 1);
    assert_int_equal(nsrv, 2);
    tconn_t *st = srv_conns[1];
    assert_true(net_conn_resumed(second->c));
    assert_true(net_conn_resumed(st->c));
    const net_peer_t *p = net_conn_peer(st->c);
    assert_non_null(p);
    assert_true(p->presented);
    assert_true(p->verified);
    assert_true(p->eku_ok);
    assert_true(net_peer_names(p, "edge.fabrikam.test"));
    assert_true(net_peer_is_domain(p, "fabrikam.test"));
    assert_non_null(strstr(p->subject, "CN=edge.fabrikam.test"));
    const net_peer_t *q = net_conn_peer(second->c);
    assert_true(q->verified);
    assert_true(net_peer_names(q, "edge.contoso.test"));
    /* the resumed connection carries data */
    assert_int_equal(net_conn_write(second->c, "pong", 4), 0);
    RUN_UNTIL(second->len == 4, 3000);
    assert_memory_equal(second->data, "pong", 4);
    net_stats_t s;
    net_stats(srv, &s);
    assert_int_equal(s.handshakes_ok, 2);
    assert_int_equal(s.handshakes_resumed, 1);

    /* Another SNI is another session: a full handshake. */
    tconn_t *other = dial("127.0.0.1", port, ctls, NULL);
    RUN_UNTIL(other->ready, 5000);
    assert_int_equal(other->ready, 1);
    assert_false(net_conn_resumed(other->c));

    /* After a reload the old tickets are refused: full handshake. */
    fedge_err_t e = {{0}};
    assert_int_equal(net_tls_reload(stls, &e), 0);
    tconn_t *after = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    RUN_UNTIL(after->ready && nsrv == 4, 5000);
    assert_int_equal(after->ready, 1);
    assert_false(net_conn_resumed(after->c));
    assert_false(net_conn_resumed(srv_conns[3]->c));
    assert_true(net_peer_names(net_conn_peer(srv_conns[3]->c), "edge.fabrikam.test"));
    net_stats(srv, &s);
    assert_int_equal(s.handshakes_resumed, 1);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* An inbound handshake whose first record arrives one byte per read (the
 * edge gathers it before the first handshake step): no connection is shown
 * before it is whole, the handshake steps (on the thread pool) then reach
 * ready, and data sent right after the client's Finished arrives intact. */
static void test_handshake_first_record_in_single_bytes(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, false);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    int fd = raw_connect(AF_INET, "127.0.0.1", net_listener_port(l));
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL *ssl = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, rb, wb);
    SSL_set_connect_state(ssl);
    bool first = true, sent_data = false;
    uint64_t end = mono_ms() + 10000;
    while (mono_ms() < end && !(sent_data && nsrv == 1 && srv_conns[0]->len == 5)) {
        (void)SSL_do_handshake(ssl);
        if (SSL_is_init_finished(ssl) && !sent_data) {
            assert_int_equal(SSL_write(ssl, "hello", 5), 5);
            sent_data = true;
        }
        char buf[4096];
        int k;
        while ((k = BIO_read(wb, buf, sizeof buf)) > 0) {
            for (int i = 0; i < k; i++) {
                if (first) { /* the ClientHello: one byte per read */
                    assert_int_equal(send(fd, buf + i, 1, 0), 1);
                    RUN_FOR(2);
                    if (i + 1 < k)
                        assert_int_equal(nsrv, 0);
                } else {
                    assert_int_equal(send(fd, buf + i, (size_t)(k - i), 0), k - i);
                    break;
                }
            }
            first = false;
        }
        RUN_FOR(5);
        ssize_t r;
        while ((r = recv(fd, buf, sizeof buf, 0)) > 0)
            BIO_write(rb, buf, (int)r);
    }
    assert_int_equal(nsrv, 1);
    assert_true(net_conn_is_ready(srv_conns[0]->c));
    assert_false(net_conn_peer(srv_conns[0]->c)->presented);
    assert_int_equal(srv_conns[0]->len, 5);
    assert_memory_equal(srv_conns[0]->data, "hello", 5);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    net_tls_free(stls);
}

/* A big write spans several TLS records and read callbacks. */
static void test_mtls_ipv6_large_echo_and_cn_only(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("cn-only.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("[::1]:0", stls, NULL);
    srv_echo = true;
    tconn_t *ct = dial("::1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(ct->ready && nsrv == 1, 5000);
    assert_int_equal(nsrv, 1);
    const net_peer_t *p = net_conn_peer(srv_conns[0]->c);
    assert_true(p->verified);
    assert_int_equal(p->n_dns, 0);
    assert_int_equal(p->n_sip, 0);
    assert_non_null(p->cn);
    assert_string_equal(p->cn, "edge.fabrikam.test");
    assert_true(net_peer_names(p, "edge.fabrikam.test"));
    assert_true(net_peer_is_domain(p, "edge.fabrikam.test")); /* CN: no SAN */
    assert_null(net_conn_sni(srv_conns[0]->c));               /* literal address: no SNI */
    assert_string_equal(net_conn_remote_ip(srv_conns[0]->c), "::1");
    assert_int_equal(strncmp(net_conn_remote(srv_conns[0]->c), "[::1]:", 6), 0);
    assert_int_equal(strncmp(net_conn_target(ct->c), "[::1]:", 6), 0);

    static char big[6000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(net_conn_write(ct->c, big, sizeof big), 0);
    RUN_UNTIL(ct->len == sizeof big, 3000);
    assert_int_equal(ct->len, sizeof big);
    assert_memory_equal(ct->data, big, sizeof big);
    net_tls_free(stls);
    net_tls_free(ctls);
}

static void test_sip_uri_sans_follow_rfc5922(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("uris.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(ct->ready && nsrv == 1, 5000);
    assert_int_equal(nsrv, 1);
    const net_peer_t *p = net_conn_peer(srv_conns[0]->c);
    assert_true(p->verified);
    /* DNS names lower-cased, wildcard kept as written but never matched. */
    assert_int_equal(p->n_dns, 2);
    assert_true(has_name(p->dns, p->n_dns, "edge2.fabrikam.test"));
    assert_true(has_name(p->dns, p->n_dns, "*.wild.fabrikam.test"));
    assert_false(net_peer_names(p, "x.wild.fabrikam.test"));
    assert_false(net_peer_names(p, "*.wild.fabrikam.test"));
    /* Only sip: URIs without a user part are domain identities. */
    assert_int_equal(p->n_sip, 1);
    assert_string_equal(p->sip[0], "fabrikam.test");
    assert_false(net_peer_names(p, "secure.fabrikam.test"));
    assert_false(net_peer_names(p, "users.fabrikam.test"));
    assert_false(net_peer_names(p, "web.fabrikam.test"));
    assert_true(net_peer_names(p, "fabrikam.test"));
    assert_true(net_peer_is_domain(p, "fabrikam.test"));
    assert_false(net_peer_is_domain(p, "edge2.fabrikam.test"));
    assert_false(net_peer_is_domain(p, "secure.fabrikam.test"));
    assert_null(p->cn);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* The identity of a certificate is read by one routine: the peer of a live
 * connection, the same file read by net_peer_load, and `fedge check`'s
 * plan_cert_load carry the same names and answer every name question
 * alike (RFC 5922 §7.1/§7.2). */
static void same_list(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

static void test_cert_identity_same_for_connection_file_and_plan(void **state)
{
    (void)state;
    static const char *const leaves[] = {"edge.fabrikam.test", "cn-only.fabrikam.test",
                                         "uris.fabrikam.test", "mixed.fabrikam.test"};
    static const char *const hosts[] = {"edge.fabrikam.test",
                                        "EDGE.Fabrikam.test",
                                        "fabrikam.test",
                                        "edge2.fabrikam.test",
                                        "x.wild.fabrikam.test",
                                        "*.wild.fabrikam.test",
                                        "wild.fabrikam.test",
                                        "users.fabrikam.test",
                                        "secure.fabrikam.test",
                                        "web.fabrikam.test",
                                        "san.fabrikam.test",
                                        "cn.fabrikam.test",
                                        "port.fabrikam.test",
                                        "[2001:db8::5]",
                                        "2001:db8::5",
                                        "test",
                                        "",
                                        "*"};
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    make_nets(NULL, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    for (size_t k = 0; k < FEDGE_ARRAY_LEN(leaves); k++) {
        net_tls_t *ctls = tls_of(leaves[k], NULL, true);
        tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
        RUN_UNTIL(ct->ready && nsrv == (int)k + 1, 5000);
        assert_int_equal(nsrv, (int)k + 1);
        const net_peer_t *live = net_conn_peer(srv_conns[k]->c);
        assert_non_null(live);
        assert_true(live->verified);

        char crt[128];
        snprintf(crt, sizeof crt, "%s.crt", leaves[k]);
        net_peer_t *file = NULL;
        fedge_err_t e = {{0}};
        assert_int_equal(net_peer_load(pk(crt), &file, &e), 0);
        assert_true(file->presented);
        assert_false(file->verified); /* a file is read, not verified */
        plan_cert_t pc;
        assert_int_equal(plan_cert_load(pk(crt), &pc, &e), 0);

        const net_peer_t *ids[] = {file, pc.id};
        for (size_t j = 0; j < FEDGE_ARRAY_LEN(ids); j++) {
            const net_peer_t *id = ids[j];
            same_list(live->dns, live->n_dns, id->dns, id->n_dns);
            same_list(live->sip, live->n_sip, id->sip, id->n_sip);
            assert_true((live->cn == NULL) == (id->cn == NULL));
            if (live->cn)
                assert_string_equal(live->cn, id->cn);
            assert_string_equal(live->subject, id->subject);
            assert_true(live->not_after == id->not_after);
            for (size_t h = 0; h < FEDGE_ARRAY_LEN(hosts); h++) {
                assert_true(net_peer_names(live, hosts[h]) == net_cert_names(id, hosts[h]));
                assert_true(net_peer_is_domain(live, hosts[h]) == net_cert_is_domain(id, hosts[h]));
                assert_true(net_cert_wildcard_only(live, hosts[h]) ==
                            net_cert_wildcard_only(id, hosts[h]));
            }
        }
        net_peer_free(file);
        plan_cert_clear(&pc);
        net_conn_close(ct->c);
        RUN_UNTIL(ct->closed, 3000);
        net_tls_free(ctls);
    }

    /* The rules, on the mixed leaf (the last one read). */
    net_peer_t *m = NULL;
    assert_int_equal(net_peer_load(pk("mixed.fabrikam.test.crt"), &m, NULL), 0);
    assert_null(m->cn); /* a SAN: the CN is no identity */
    assert_false(net_cert_names(m, "cn.fabrikam.test"));
    assert_true(net_cert_names(m, "SAN.fabrikam.test"));
    /* wildcards are never names, but are told apart for the user */
    assert_false(net_cert_names(m, "x.wild.fabrikam.test"));
    assert_true(net_cert_wildcard_only(m, "X.Wild.Fabrikam.Test"));
    assert_false(net_cert_wildcard_only(m, "a.b.wild.fabrikam.test"));
    assert_false(net_cert_wildcard_only(m, "wild.fabrikam.test"));
    /* sip URI hosts: port and parameters cut, IPv6 kept in its brackets,
     * user part or sips: not an identity */
    assert_int_equal(m->n_sip, 2);
    assert_string_equal(m->sip[0], "port.fabrikam.test");
    assert_string_equal(m->sip[1], "[2001:db8::5]");
    assert_true(net_cert_is_domain(m, "port.fabrikam.test"));
    assert_false(net_cert_is_domain(m, "san.fabrikam.test")); /* sip URIs rule */
    assert_false(net_cert_names(m, "users.fabrikam.test"));
    assert_false(net_cert_names(m, "secure.fabrikam.test"));
    net_peer_free(m);

    /* cn-only: the CN is the identity when there is no SAN at all */
    assert_int_equal(net_peer_load(pk("cn-only.fabrikam.test.crt"), &m, NULL), 0);
    assert_string_equal(m->cn, "edge.fabrikam.test");
    assert_true(net_cert_names(m, "Edge.Fabrikam.Test"));
    assert_true(net_cert_is_domain(m, "edge.fabrikam.test"));
    net_peer_free(m);

    fedge_err_t e = {{0}};
    assert_int_equal(net_peer_load(pk("absent.crt"), &m, &e), FEDGE_EIO);
    assert_null(m);
    assert_non_null(strstr(e.msg, "absent.crt"));
    assert_int_equal(net_peer_load(pk("edge.fabrikam.test.key"), &m, &e), FEDGE_EINVAL);
    assert_null(m);
    net_tls_free(stls);
}

/* Runs one handshake that the server must refuse; returns the client's
 * record. The server never shows the connection to the layer above. */
static tconn_t *refused_client(const char *leaf, const char *why)
{
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of(leaf, NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, "edge.contoso.test");
    net_stats_t s = {0};
    RUN_UNTIL(ct->closed && (net_stats(srv, &s), s.open == 0), 5000);
    assert_int_equal(ct->closed, 1);
    assert_int_equal(nsrv, 0); /* never reached on_ready on the server */
    net_stats(srv, &s);
    assert_int_equal(s.handshakes_ok, 0);
    assert_int_equal(s.handshakes_failed, 1);
    assert_int_equal(s.open, 0);
    if (!strstr(logbuf, why))
        fprintf(stderr, "log was:\n%s", logbuf);
    assert_non_null(strstr(logbuf, why));
    assert_non_null(strstr(logbuf, "TLS handshake failed"));
    net_tls_free(stls);
    net_tls_free(ctls);
    return ct;
}

static void test_client_without_certificate_refused(void **state)
{
    (void)state;
    tconn_t *ct = refused_client(NULL, "peer did not return a certificate");
    assert_int_equal(ct->code, FEDGE_ETLS);
    assert_non_null(strstr(ct->reason, "certificate required"));
}

static void test_expired_certificate_refused(void **state)
{
    (void)state;
    tconn_t *ct = refused_client("expired.fabrikam.test", "certificate has expired");
    /* The log names who was refused. */
    const char *who = strstr(logbuf, "(peer certificate ");
    assert_non_null(who);
    assert_non_null(strstr(who, "CN=edge.fabrikam.test"));
    assert_int_equal(ct->code, FEDGE_ETLS);
    assert_non_null(strstr(ct->reason, "expired"));
}

static void test_rogue_ca_certificate_refused(void **state)
{
    (void)state;
    tconn_t *ct = refused_client("rogue.fabrikam.test", "unable to get local issuer certificate");
    assert_int_equal(ct->code, FEDGE_ETLS);
}

static void test_server_auth_only_certificate_refused_as_client(void **state)
{
    (void)state;
    tconn_t *ct = refused_client("noclient.fabrikam.test", "unsuitable certificate purpose");
    assert_int_equal(ct->code, FEDGE_ETLS);
}

/* The outbound side verifies the server's chain too. */
static void test_client_refuses_untrusted_server(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", "rogue-ca.crt", true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(ct->closed, 5000);
    assert_int_equal(ct->closed, 1);
    assert_int_equal(ct->ready, 0);
    assert_int_equal(ct->code, FEDGE_ETLS);
    /* The server sends its chain without the root. */
    assert_string_equal(ct->reason,
                        "certificate verify failed: unable to get local issuer certificate");
    net_stats_t s;
    net_stats(cli, &s);
    assert_int_equal(s.handshakes_failed, 1);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* With require_client_certificate=no (internal side) a bad certificate is
 * accepted but reported as unverified, with the reason. */
static void test_optional_client_certificate_reports_unverified(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("sip.contoso.test", NULL, false);
    net_tls_t *expired = tls_of("expired.fabrikam.test", NULL, true);
    net_tls_t *none = tls_of(NULL, NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *a = dial("127.0.0.1", net_listener_port(l), expired, NULL);
    RUN_UNTIL(a->ready && nsrv == 1, 5000);
    assert_int_equal(nsrv, 1);
    /* The client verified the internal server; a DNS-only SAN is its SIP
     * domain identity (RFC 5922 §7.1). */
    const net_peer_t *sp = net_conn_peer(a->c);
    assert_true(sp->verified);
    assert_true(net_peer_is_domain(sp, "sip.contoso.test"));
    assert_false(net_peer_is_domain(sp, "contoso.test"));
    const net_peer_t *p = net_conn_peer(srv_conns[0]->c);
    assert_true(p->presented);
    assert_false(p->verified);
    assert_string_equal(p->verify_error, "certificate has expired");
    assert_false(net_peer_names(p, "edge.fabrikam.test")); /* unverified names never match */
    assert_false(net_peer_is_domain(p, "fabrikam.test"));
    assert_null(net_find_conn(srv, NULL, "edge.fabrikam.test"));

    tconn_t *b = dial("127.0.0.1", net_listener_port(l), none, NULL);
    RUN_UNTIL(b->ready && nsrv == 2, 5000);
    assert_int_equal(nsrv, 2);
    p = net_conn_peer(srv_conns[1]->c);
    assert_false(p->presented);
    assert_false(p->verified);
    assert_null(p->verify_error);
    net_tls_free(stls);
    net_tls_free(expired);
    net_tls_free(none);
}

/* ------------------------------------------------------------------ */
/* Timeouts and limits                                                 */
/* ------------------------------------------------------------------ */

/* Bytes written to an outbound TLS connection before its handshake are
 * sent, in order, once it is done. */
static void test_outbound_writes_queued_until_handshake(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    assert_int_equal(net_conn_write(ct->c, "one,", 4), 0);
    assert_int_equal(net_conn_write(ct->c, "two", 3), 0);
    assert_false(net_conn_is_ready(ct->c));
    RUN_UNTIL(nsrv == 1 && srv_conns[0]->len == 7, 5000);
    assert_int_equal(nsrv, 1);
    assert_string_equal(srv_conns[0]->data, "one,two");
    assert_true(net_conn_is_ready(ct->c));
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* Messages written on one connection in one loop turn leave in one
 * socket write (one TLS write), in order; a close sends what was written
 * before it. */
static void test_writes_of_one_turn_leave_in_one_syscall(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(ct->ready && nsrv == 1, 5000);
    assert_int_equal(nsrv, 1);
    net_stats_t s0, s1;
    net_stats(cli, &s0);
    char want[256] = "";
    for (int i = 0; i < 10; i++) {
        char m[16];
        snprintf(m, sizeof m, "msg%d;", i);
        strcat(want, m);
        assert_int_equal(net_conn_write(ct->c, m, strlen(m)), 0);
    }
    fedge_str_t parts[2] = {{"v1,", 3}, {"v2;", 3}};
    assert_int_equal(net_conn_writev(ct->c, parts, 2), 0);
    strcat(want, "v1,v2;");
    RUN_UNTIL(srv_conns[0]->len == strlen(want), 5000);
    assert_string_equal(srv_conns[0]->data, want);
    net_stats(cli, &s1);
    assert_int_equal(s1.socket_writes - s0.socket_writes, 1);
    assert_int_equal(s1.bytes_out - s0.bytes_out, strlen(want));

    /* written, then closed in the same turn: the bytes go first */
    assert_int_equal(net_conn_write(ct->c, "bye", 3), 0);
    net_conn_close(ct->c);
    strcat(want, "bye");
    RUN_UNTIL(srv_conns[0]->closed && ct->closed, 5000);
    assert_string_equal(srv_conns[0]->data, want);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* A server that accepts TCP but never answers the ClientHello. */
static void test_outbound_handshake_timeout(void **state)
{
    (void)state;
    net_opts_t co = default_opts();
    co.handshake_timeout_ms = 200;
    make_nets(NULL, &co);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL); /* plain TCP: silent */
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(ct->closed, 3000);
    assert_int_equal(ct->closed, 1);
    assert_int_equal(ct->ready, 0);
    assert_int_equal(ct->code, FEDGE_ETIMEDOUT);
    assert_string_equal(ct->reason, "TLS handshake timeout");
    assert_int_equal(nsrv, 1);
    assert_true(srv_conns[0]->len > 0); /* the ClientHello arrived as bytes */
    assert_int_equal((unsigned char)srv_conns[0]->data[0], 0x16); /* TLS handshake record */
    RUN_UNTIL(srv_conns[0]->closed, 3000);
    assert_int_equal(srv_conns[0]->code, FEDGE_ECLOSED);
    net_tls_free(ctls);
}

static void test_handshake_timeout_closes_silent_client(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.handshake_timeout_ms = 200;
    make_nets(&so, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    int fd = raw_connect(AF_INET, "127.0.0.1", net_listener_port(l));
    net_stats_t s = {0};
    RUN_UNTIL((net_stats(srv, &s), s.accepted == 1), 2000);
    assert_int_equal(s.accepted, 1);
    RUN_FOR(100);
    assert_int_equal(raw_closed(fd), 0); /* still waiting for a ClientHello */
    RUN_UNTIL((net_stats(srv, &s), s.timeouts == 1 && s.open == 0), 3000);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.open, 0);
    assert_non_null(strstr(logbuf, "TLS handshake timeout"));
    assert_int_equal(nsrv, 0);
    RUN_FOR(20);
    assert_int_equal(raw_closed(fd), 1);
    close(fd);
    net_tls_free(stls);
}

static void test_idle_timeout_reset_by_traffic(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.idle_timeout_ms = 400;
    make_nets(&so, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    RUN_UNTIL(ct->ready && nsrv == 1, 3000);
    assert_int_equal(nsrv, 1);
    tconn_t *st = srv_conns[0];
    /* Traffic every 100 ms for 1.2 s (three idle periods) keeps it open. */
    for (int i = 0; i < 12; i++) {
        assert_int_equal(net_conn_write(ct->c, "\r\n\r\n", 4), 0);
        RUN_FOR(100);
    }
    assert_int_equal(st->closed, 0);
    assert_int_equal(ct->closed, 0);
    /* Silence: the server closes it. */
    RUN_UNTIL(st->closed && ct->closed, 3000);
    assert_int_equal(st->closed, 1);
    assert_int_equal(st->code, FEDGE_ETIMEDOUT);
    assert_string_equal(st->reason, "idle timeout");
    assert_int_equal(ct->closed, 1);
    assert_int_equal(ct->code, FEDGE_ECLOSED);
    assert_non_null(strstr(logbuf, "idle timeout"));
}

static void test_per_ip_limit(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.max_connections_per_ip = 2;
    make_nets(&so, NULL);
    net_listener_t *l4 = listen_on("127.0.0.1:0", NULL, NULL);
    net_listener_t *l6 = listen_on("[::1]:0", NULL, NULL);
    tconn_t *a = dial("127.0.0.1", net_listener_port(l4), NULL, NULL);
    tconn_t *b = dial("127.0.0.1", net_listener_port(l4), NULL, NULL);
    RUN_UNTIL(nsrv == 2, 3000);
    assert_int_equal(nsrv, 2);
    tconn_t *c = dial("127.0.0.1", net_listener_port(l4), NULL, NULL);
    tconn_t *d = dial("::1", net_listener_port(l6), NULL, NULL); /* another address */
    RUN_UNTIL(c->closed && nsrv == 3, 3000);
    assert_int_equal(c->closed, 1);
    assert_int_equal(nsrv, 3);
    net_stats_t s;
    net_stats(srv, &s);
    assert_int_equal(s.refused_limit, 1);
    assert_int_equal(s.open, 3);
    assert_non_null(strstr(logbuf, "max_connections_per_ip"));
    assert_int_equal(a->closed + b->closed + d->closed, 0);
    /* When one closes, the address may connect again. */
    net_conn_close(a->c);
    RUN_UNTIL(a->closed && srv_conns[0]->closed, 3000);
    tconn_t *e = dial("127.0.0.1", net_listener_port(l4), NULL, NULL);
    RUN_UNTIL(nsrv == 4, 3000);
    assert_int_equal(nsrv, 4);
    assert_int_equal(e->closed, 0);
}

static void test_max_connections(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.max_connections = 2;
    make_nets(&so, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    RUN_UNTIL(nsrv == 2, 3000);
    tconn_t *c = dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    RUN_UNTIL(c->closed, 3000);
    assert_int_equal(c->closed, 1);
    assert_int_equal(nsrv, 2);
    net_stats_t s;
    net_stats(srv, &s);
    assert_int_equal(s.refused_limit, 1);
    assert_non_null(strstr(logbuf, "max_connections (2)"));
}

/* ------------------------------------------------------------------ */
/* Admission by side and by trust                                      */
/* ------------------------------------------------------------------ */

/* A plain socket from source address src (127.0.0.x), non-blocking. */
static int raw_from(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in b = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &b.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&b, sizeof b), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static net_listener_t *listen_budget(const char *hp, net_tls_t *tls, void *tag, size_t max,
                                     size_t reserved)
{
    net_listen_opts_t o = {.host_port = hp,
                           .tls = tls,
                           .tag = tag,
                           .cbs = cbs,
                           .max_connections = max,
                           .reserved_known = reserved};
    net_listener_t *l = NULL;
    fedge_err_t e = {{0}};
    assert_int_equal(net_listen(srv, &o, &l, &e), 0);
    return l;
}

static char events[8192];

static void event_cb(void *user, const char *kind, const char *reason, const char *ip)
{
    (void)user;
    size_t l = strlen(events);
    snprintf(events + l, sizeof events - l, "%s|%s|%s\n", kind, reason, ip);
}

/* A flood on one side never takes the other side's room, nor fedge's own
 * outbound connections': each listener tag has its own budget, outbound
 * its own (max_outbound). */
static void test_budget_per_side_and_outbound(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.max_outbound = 1;
    events[0] = '\0';
    so.log_event = event_cb;
    make_nets(&so, NULL);
    static int ext, in;
    net_listener_t *le = listen_budget("127.0.0.1:0", NULL, &ext, 3, 0);
    net_listener_t *le6 = listen_budget("[::1]:0", NULL, &ext, 0, 0); /* shares ext's 3 */
    net_listener_t *li = listen_budget("127.0.0.1:0", NULL, &in, 2, 0);
    int fe[4];
    for (int i = 0; i < 3; i++)
        fe[i] = raw_from("127.0.0.2", net_listener_port(le));
    RUN_UNTIL(nsrv == 3, 3000);
    assert_int_equal(nsrv, 3);
    fe[3] = raw_connect(AF_INET6, "::1", net_listener_port(le6)); /* same side: refused */
    net_stats_t s = {0};
    RUN_UNTIL((net_stats(srv, &s), s.refused_limit == 1), 3000);
    assert_int_equal(s.refused_limit, 1);
    RUN_UNTIL(raw_closed(fe[3]), 2000);
    assert_int_equal(raw_closed(fe[3]), 1);
    assert_non_null(strstr(events, "refused|max_connections|::1"));
    /* The internal side still takes connections. */
    tconn_t *a = dial("127.0.0.1", net_listener_port(li), NULL, NULL);
    RUN_UNTIL(a->ready && nsrv == 4, 3000);
    assert_int_equal(nsrv, 4);
    /* Outbound: its own budget, whatever the sides hold. */
    net_connect_opts_t o = {
        .host = "127.0.0.1", .port = net_listener_port(li), .user = tc_new(), .cbs = cbs};
    net_conn_t *x = NULL;
    fedge_err_t e;
    assert_int_equal(net_connect(srv, &o, &x, &e), 0);
    assert_non_null(x);
    RUN_UNTIL(nsrv == 5, 3000);
    net_stats(srv, &s);
    assert_int_equal(s.open_out, 1);
    net_conn_t *y = NULL;
    assert_int_equal(net_connect(srv, &o, &y, &e), FEDGE_ELIMIT);
    assert_non_null(strstr(e.msg, "max_outbound (1)"));
    assert_null(y);
    for (int i = 0; i < 4; i++)
        close(fe[i]);
}

/* Known peers (a verified handshake, or net_mark_known) may take the
 * reserved places; when the budget is full a known peer sheds the oldest
 * unknown connection instead of being refused. */
static void test_reserve_for_known_peers_and_shedding(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    events[0] = '\0';
    so.log_event = event_cb;
    make_nets(&so, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, false);
    net_listener_t *l = listen_budget("127.0.0.1:0", stls, NULL, 5, 2);
    uint16_t port = net_listener_port(l);
    assert_false(net_is_known(srv, "127.0.0.1"));
    tconn_t *a = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    RUN_UNTIL(a->ready && nsrv == 1, 5000);
    assert_int_equal(nsrv, 1);
    assert_true(net_is_known(srv, "127.0.0.1")); /* verified handshake */
    /* Unknown addresses: 2 more fit (1 + 2 + 2 reserved = 5), the next not. */
    int u1 = raw_from("127.0.0.3", port);
    int u2 = raw_from("127.0.0.3", port);
    net_stats_t s = {0};
    RUN_UNTIL((net_stats(srv, &s), s.accepted == 3), 3000);
    int u3 = raw_from("127.0.0.3", port);
    RUN_UNTIL((net_stats(srv, &s), s.refused_limit == 1), 3000);
    assert_int_equal(s.refused_limit, 1);
    assert_non_null(strstr(events, "refused|max_connections (the rest is reserved for known "
                                   "peers)|127.0.0.3"));
    RUN_UNTIL(raw_closed(u3), 2000);
    assert_int_equal(raw_closed(u3), 1);
    /* The known address takes the two reserved places... */
    tconn_t *b = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    tconn_t *c = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    RUN_UNTIL(b->ready && c->ready, 5000);
    assert_int_equal(b->ready + c->ready, 2);
    /* ...and, full, sheds the oldest unknown one rather than being refused. */
    tconn_t *d = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    RUN_UNTIL(d->ready, 5000);
    assert_int_equal(d->ready, 1);
    net_stats(srv, &s);
    assert_int_equal(s.shed, 1);
    assert_int_equal(s.refused_limit, 1);
    RUN_UNTIL(raw_closed(u1), 2000);
    assert_int_equal(raw_closed(u1), 1); /* the oldest unknown */
    assert_int_equal(raw_closed(u2), 0);
    assert_non_null(strstr(events, "shed|max_connections: room for a known peer|127.0.0.3"));
    /* An unknown address is refused now; one marked known is not. */
    int u4 = raw_from("127.0.0.4", port);
    RUN_UNTIL((net_stats(srv, &s), s.refused_limit == 2), 3000);
    assert_int_equal(s.refused_limit, 2);
    assert_int_equal(net_mark_known(srv, "127.0.0.4"), 0);
    assert_int_equal(net_mark_known(srv, "not-an-ip"), FEDGE_EINVAL);
    int u5 = raw_from("127.0.0.4", port);
    RUN_UNTIL((net_stats(srv, &s), s.shed == 2), 3000);
    assert_int_equal(s.shed, 2);
    assert_int_equal(s.refused_limit, 2);
    RUN_UNTIL(raw_closed(u2), 2000);
    assert_int_equal(raw_closed(u2), 1);
    assert_int_equal(raw_closed(u5), 0);
    assert_int_equal(a->closed + b->closed + c->closed + d->closed, 0);
    close(u1), close(u2), close(u3), close(u4), close(u5);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* Handshakes in progress are bounded per side: when full, the oldest
 * unknown one is dropped for the newcomer, so connections that never
 * finish cannot keep a real peer out. */
static void test_handshake_places_oldest_dropped(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.max_handshakes = 2;
    so.handshake_rate = 1; /* per second, burst max_connections_per_ip */
    so.max_connections_per_ip = 3;
    events[0] = '\0';
    so.log_event = event_cb;
    make_nets(&so, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, false);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    uint16_t port = net_listener_port(l);
    int h1 = raw_from("127.0.0.5", port);
    int h2 = raw_from("127.0.0.6", port);
    net_stats_t s = {0};
    RUN_UNTIL((net_stats(srv, &s), s.accepted == 2), 3000);
    int h3 = raw_from("127.0.0.7", port); /* drops h1, the oldest */
    RUN_UNTIL(raw_closed(h1), 3000);
    assert_int_equal(raw_closed(h1), 1);
    assert_int_equal(raw_closed(h2), 0);
    net_stats(srv, &s);
    assert_int_equal(s.shed, 1);
    assert_non_null(strstr(events, "shed|max_handshakes: room for a newer handshake|127.0.0.5"));
    /* A real peer among silent ones completes its handshake. */
    tconn_t *a = dial("127.0.0.1", port, ctls, "edge.contoso.test");
    RUN_UNTIL(a->ready && nsrv == 1, 5000);
    assert_int_equal(nsrv, 1);
    close(h1), close(h2), close(h3);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* Each unknown address may start handshake_rate handshakes per second,
 * in a burst of max_connections_per_ip. */
static void test_handshake_rate_per_address(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.handshake_rate = 1;
    so.max_connections_per_ip = 3;
    events[0] = '\0';
    so.log_event = event_cb;
    make_nets(&so, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    uint16_t port = net_listener_port(l);
    int r[5];
    for (int i = 0; i < 3; i++) /* the burst */
        r[i] = raw_from("127.0.0.8", port);
    net_stats_t s = {0};
    RUN_UNTIL((net_stats(srv, &s), s.accepted == 3), 3000);
    assert_int_equal(s.refused_limit, 0);
    close(r[0]); /* below the per-address limit again, but no token left */
    RUN_UNTIL((net_stats(srv, &s), s.open == 2), 3000);
    r[3] = raw_from("127.0.0.8", port);
    RUN_UNTIL((net_stats(srv, &s), s.refused_rate == 1), 3000);
    assert_int_equal(s.refused_rate, 1);
    assert_int_equal(s.refused_limit, 1);
    assert_non_null(strstr(events, "refused|handshake_rate|127.0.0.8"));
    r[4] = raw_from("127.0.0.9", port); /* another address has its own bucket */
    RUN_UNTIL((net_stats(srv, &s), s.accepted == 5 && s.open == 3), 3000);
    assert_int_equal(s.open, 3);
    assert_int_equal(s.refused_limit, 1);
    for (int i = 1; i < 5; i++)
        close(r[i]);
    net_tls_free(stls);
}

/* A deadline closes a connection that keeps sending bytes (each one resets
 * the idle timer) but never finishes; clearing it keeps the connection. */
static void test_deadline_closes_trickling_peer(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    tconn_t *a = dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    tconn_t *b = dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    RUN_UNTIL(a->ready && b->ready && nsrv == 2, 3000);
    assert_int_equal(nsrv, 2);
    net_conn_set_deadline(srv_conns[0]->c, 300, "SIP message");
    net_conn_set_deadline(srv_conns[1]->c, 300, "SIP message");
    net_conn_set_deadline(srv_conns[1]->c, 0, NULL); /* message complete */
    uint64_t t0 = mono_ms();
    for (int i = 0; i < 40 && !srv_conns[0]->closed; i++) {
        net_conn_write(a->c, "I", 1);
        net_conn_write(b->c, "I", 1);
        RUN_FOR(50);
    }
    uint64_t dt = mono_ms() - t0;
    assert_int_equal(srv_conns[0]->closed, 1);
    assert_int_equal(srv_conns[0]->code, FEDGE_ETIMEDOUT);
    assert_string_equal(srv_conns[0]->reason, "deadline passed: SIP message");
    assert_true(dt >= 300 && dt < 1800);
    assert_int_equal(srv_conns[1]->closed, 0);
    assert_non_null(strstr(logbuf, "deadline passed: SIP message"));
}

static void test_write_queue_overflow_closes_only_that_connection(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.max_queued_bytes = 65536;
    make_nets(&so, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    int stuck = raw_connect(AF_INET, "127.0.0.1", net_listener_port(l)); /* never reads */
    RUN_UNTIL(nsrv == 1, 3000);
    assert_int_equal(nsrv, 1);
    tconn_t *ts = srv_conns[0];
    srv_echo = true;
    tconn_t *good = dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    RUN_UNTIL(good->ready && nsrv == 2, 3000);
    assert_int_equal(nsrv, 2);

    static char chunk[16384];
    memset(chunk, 'z', sizeof chunk);
    int rc = 0;
    size_t sent = 0;
    while (sent < (256u << 20)) {
        rc = net_conn_write(ts->c, chunk, sizeof chunk);
        if (rc != 0)
            break;
        sent += sizeof chunk;
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(rc, FEDGE_ELIMIT);
    RUN_UNTIL(ts->closed, 3000);
    assert_int_equal(ts->closed, 1);
    assert_int_equal(ts->code, FEDGE_ELIMIT);
    net_stats_t s;
    net_stats(srv, &s);
    assert_int_equal(s.overflows, 1);

    /* The other connection keeps working. */
    assert_int_equal(net_conn_write(good->c, "ping", 4), 0);
    RUN_UNTIL(good->len == 4, 3000);
    assert_string_equal(good->data, "ping");
    assert_int_equal(good->closed, 0);
    assert_int_equal(srv_conns[1]->closed, 0);
    close(stuck);
}

/* ------------------------------------------------------------------ */
/* Reload, reuse, plain TCP, shutdown                                  */
/* ------------------------------------------------------------------ */

static void copy_file(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_reload_new_certificate_for_new_connections(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    char crt[400], key[400];
    snprintf(crt, sizeof crt, "%s/srv.crt", scratch);
    snprintf(key, sizeof key, "%s/srv.key", scratch);
    copy_file(pk("edge.contoso.test.crt"), crt);
    copy_file(pk("edge.contoso.test.key"), key);
    net_tls_opts_t so = {.certificate = crt,
                         .private_key = key,
                         .ca_file = pk("ca.crt"),
                         .require_client_certificate = true,
                         .min_version = "1.2"};
    net_tls_t *stls;
    fedge_err_t e = {{0}};
    assert_int_equal(net_tls_new(&so, &stls, &e), 0);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    srv_echo = true;
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *old = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(old->ready, 5000);
    assert_true(net_peer_names(net_conn_peer(old->c), "edge.contoso.test"));

    copy_file(pk("edge-new.contoso.test.crt"), crt);
    copy_file(pk("edge-new.contoso.test.key"), key);
    assert_int_equal(net_tls_reload(stls, &e), 0);

    tconn_t *nw = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(nw->ready, 5000);
    assert_int_equal(nw->ready, 1);
    assert_true(net_peer_names(net_conn_peer(nw->c), "edge-new.contoso.test"));
    assert_false(net_peer_names(net_conn_peer(nw->c), "edge.contoso.test"));

    /* The old connection is still open and working. */
    assert_int_equal(net_conn_write(old->c, "still here", 10), 0);
    RUN_UNTIL(old->len == 10, 3000);
    assert_string_equal(old->data, "still here");
    assert_int_equal(old->closed, 0);

    /* A failing reload keeps the previous configuration and says why. */
    FILE *f = fopen(key, "w");
    assert_non_null(f);
    fputs("not a key\n", f);
    fclose(f);
    memset(&e, 0, sizeof e);
    assert_int_equal(net_tls_reload(stls, &e), FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, key));
    tconn_t *third = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(third->ready, 5000);
    assert_int_equal(third->ready, 1);
    assert_true(net_peer_names(net_conn_peer(third->c), "edge-new.contoso.test"));
    net_tls_free(stls); /* the listener keeps its own reference */
    tconn_t *fourth = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(fourth->ready, 5000);
    assert_int_equal(fourth->ready, 1);
    net_tls_free(ctls);
}

/* Revocation: a partner certificate revoked by a CRL of the test CA is
 * refused at the handshake with the reason logged, one not revoked is
 * accepted; a new CRL applies after net_tls_reload; the CRLs may also
 * come from a hashed folder; a CRL file without a CRL is refused. */
static void test_crl_revoked_refused_and_reloaded(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    char crl[400], none[400], dir[400], cmd[4096];
    snprintf(crl, sizeof crl, "%s/crl.pem", scratch);
    snprintf(none, sizeof none, "%s/crl-none.pem", scratch);
    snprintf(dir, sizeof dir, "%s/crls", scratch);
    snprintf(cmd, sizeof cmd,
             "scripts/gen-certs %s --crl %s edge.fabrikam.test && "
             "scripts/gen-certs %s --crl %s && mkdir -p %s && "
             "cp %s %s/$(openssl crl -hash -noout -in %s).r0",
             pki, crl, pki, none, dir, crl, dir, crl);
    assert_int_equal(system(cmd), 0);
    net_tls_opts_t so = {.certificate = pk("edge.contoso.test.crt"),
                         .private_key = pk("edge.contoso.test.key"),
                         .ca_file = pk("ca.crt"),
                         .require_client_certificate = true,
                         .crl_file = crl};
    net_tls_t *stls;
    fedge_err_t e = {{0}};
    assert_int_equal(net_tls_new(&so, &stls, &e), 0);
    net_tls_t *revoked = tls_of("edge.fabrikam.test", NULL, true);
    net_tls_t *good = tls_of("sip.contoso.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    uint16_t port = net_listener_port(l);

    tconn_t *r1 = dial("127.0.0.1", port, revoked, "edge.contoso.test");
    RUN_UNTIL(r1->closed, 5000);
    assert_int_equal(r1->closed, 1);
    assert_int_equal(nsrv, 0);
    if (!strstr(logbuf, "certificate revoked"))
        fprintf(stderr, "log was:\n%s", logbuf);
    assert_non_null(strstr(logbuf, "certificate revoked"));
    assert_non_null(strstr(logbuf, "CN=edge.fabrikam.test"));

    tconn_t *g = dial("127.0.0.1", port, good, "edge.contoso.test");
    RUN_UNTIL(g->ready && nsrv == 1, 5000);
    assert_int_equal(g->ready, 1);
    assert_true(net_peer_names(net_conn_peer(srv_conns[0]->c), "sip.contoso.test"));

    /* a CRL revoking nothing, then the reload: the same partner gets in */
    copy_file(none, crl);
    assert_int_equal(net_tls_reload(stls, &e), 0);
    tconn_t *r2 = dial("127.0.0.1", port, revoked, "edge.contoso.test");
    RUN_UNTIL(r2->ready && nsrv == 2, 5000);
    assert_int_equal(r2->ready, 1);
    assert_true(net_peer_names(net_conn_peer(srv_conns[1]->c), "edge.fabrikam.test"));
    net_tls_free(stls);

    /* the same CRL from a hashed folder (crl_path) */
    so.crl_file = NULL;
    so.crl_path = dir;
    assert_int_equal(net_tls_new(&so, &stls, &e), 0);
    net_listener_t *l2 = listen_on("127.0.0.1:0", stls, NULL);
    loglen = 0;
    logbuf[0] = '\0';
    tconn_t *r3 = dial("127.0.0.1", net_listener_port(l2), revoked, "edge.contoso.test");
    RUN_UNTIL(r3->closed, 5000);
    assert_int_equal(r3->closed, 1);
    assert_int_equal(nsrv, 2);
    assert_non_null(strstr(logbuf, "certificate revoked"));
    net_tls_free(stls);

    /* not a CRL */
    so.crl_path = NULL;
    so.crl_file = pk("ca.crt");
    memset(&e, 0, sizeof e);
    assert_int_equal(net_tls_new(&so, &stls, &e), FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "ca.crt: cannot load a CRL"));
    net_tls_free(revoked);
    net_tls_free(good);
}

static void test_reuse_lookup_by_name_and_target(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    int external, internal;
    net_listener_t *l = listen_on("127.0.0.1:0", stls, &external);
    uint16_t port = net_listener_port(l);
    tconn_t *ct = dial("127.0.0.1", port, ctls, NULL);
    char key[64];
    snprintf(key, sizeof key, "127.0.0.1:%u", (unsigned)port);
    /* Found by target while still connecting (so no second dial). */
    assert_ptr_equal(net_find_conn(cli, NULL, key), ct->c);
    assert_null(net_find_conn(cli, NULL, "edge.contoso.test")); /* not verified yet */
    RUN_UNTIL(ct->ready && nsrv == 1, 5000);
    net_conn_t *sc = srv_conns[0]->c;
    /* The partner's inbound connection carries our requests to it. */
    assert_ptr_equal(net_find_conn(srv, NULL, "edge.fabrikam.test"), sc);
    assert_ptr_equal(net_find_conn(srv, NULL, "FABRIKAM.test"), sc);
    assert_ptr_equal(net_find_conn(srv, &external, "fabrikam.test"), sc);
    assert_null(net_find_conn(srv, &internal, "fabrikam.test"));
    assert_null(net_find_conn(srv, NULL, "contoso.test"));
    assert_null(net_find_conn(srv, NULL, key)); /* inbound has no target */
    assert_ptr_equal(net_find_conn(cli, NULL, "edge.contoso.test"), ct->c);
    assert_ptr_equal(net_find_conn(cli, NULL, key), ct->c);
    char other[64];
    snprintf(other, sizeof other, "127.0.0.1:%u", (unsigned)(port == 65535 ? 1 : port + 1));
    assert_null(net_find_conn(cli, NULL, other));
    /* A closing connection is no longer offered. */
    net_conn_close(ct->c);
    assert_null(net_find_conn(cli, NULL, key));
    RUN_UNTIL(srv_conns[0]->closed, 3000);
    assert_null(net_find_conn(srv, NULL, "edge.fabrikam.test"));
    net_tls_free(stls);
    net_tls_free(ctls);
}

static int count_ready(const tconn_t *ts, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += ts[i].ready && !ts[i].closed;
    return k;
}

/* The index keeps working past its growth points, prefers a ready
 * connection, then the most recently active one. */
static void test_reuse_index_many_connections(void **state)
{
    (void)state;
    net_opts_t so = default_opts();
    so.max_connections_per_ip = 1000;
    make_nets(&so, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    uint16_t port = net_listener_port(l);
    char key[64];
    snprintf(key, sizeof key, "127.0.0.1:%u", (unsigned)port);
    enum { N = 600 };
    static net_conn_t *cs[N];
    static tconn_t ts[N];
    memset(ts, 0, sizeof ts);
    for (int i = 0; i < N; i++) {
        net_connect_opts_t o = {.host = "127.0.0.1", .port = port, .user = &ts[i], .cbs = cbs};
        fedge_err_t e;
        assert_int_equal(net_connect(cli, &o, &cs[i], &e), 0);
        ts[i].c = cs[i];
    }
    RUN_UNTIL(count_ready(ts, N) == N, 10000);
    assert_int_equal(count_ready(ts, N), N);
    assert_non_null(net_find_conn(cli, NULL, key));
    /* Activity picks the connection. */
    RUN_FOR(15);
    assert_int_equal(net_conn_write(cs[123], "x", 1), 0);
    assert_ptr_equal(net_find_conn(cli, NULL, key), cs[123]);
    RUN_FOR(15);
    assert_int_equal(net_conn_write(cs[457], "y", 1), 0);
    assert_ptr_equal(net_find_conn(cli, NULL, key), cs[457]);
    /* Close all but one: that one is found. */
    for (int i = 0; i < N; i++)
        if (i != 321)
            net_conn_close(cs[i]);
    assert_ptr_equal(net_find_conn(cli, NULL, key), cs[321]);
    RUN_UNTIL(count_ready(ts, N) == 1, 5000);
    assert_int_equal(count_ready(ts, N), 1);
    assert_ptr_equal(net_find_conn(cli, NULL, key), cs[321]);
    /* A connection still connecting is found when nothing ready is. */
    net_conn_close(cs[321]);
    tconn_t *fresh = dial("127.0.0.1", port, NULL, NULL);
    assert_ptr_equal(net_find_conn(cli, NULL, key), fresh->c);
    RUN_UNTIL(fresh->ready, 3000);
    assert_ptr_equal(net_find_conn(cli, NULL, key), fresh->c);
}

static void test_plain_tcp_internal_side(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    srv_echo = true;
    net_listener_t *l4 = listen_on("127.0.0.1:0", NULL, NULL);
    net_listener_t *l6 = listen_on("[::1]:0", NULL, NULL);
    tconn_t *a = dial("127.0.0.1", net_listener_port(l4), NULL, NULL);
    tconn_t *b = dial("[::1]", net_listener_port(l6), NULL, NULL);
    assert_int_equal(net_conn_write(a->c, "early", 5), 0); /* queued until connected */
    RUN_UNTIL(a->ready && b->ready && nsrv == 2, 3000);
    assert_int_equal(nsrv, 2);
    assert_false(net_conn_is_tls(a->c));
    assert_null(net_conn_peer(a->c));
    assert_null(net_conn_peer(srv_conns[0]->c));
    assert_null(net_conn_sni(a->c));
    assert_int_equal(net_conn_write(b->c, "hello6", 6), 0);
    RUN_UNTIL(a->len == 5 && b->len == 6, 3000);
    assert_string_equal(a->data, "early");
    assert_string_equal(b->data, "hello6");
    assert_string_equal(net_conn_remote_ip(b->c), "::1");
    assert_int_equal(net_conn_remote_port(b->c), net_listener_port(l6));
}

static void test_close_inside_data_callback(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    srv_close_on_data = true;
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(ct->ready && nsrv == 1, 5000);
    assert_int_equal(net_conn_write(ct->c, "bye", 3), 0);
    RUN_UNTIL(ct->closed && srv_conns[0]->closed, 3000);
    assert_int_equal(srv_conns[0]->closed, 1);
    assert_int_equal(srv_conns[0]->code, 0);
    assert_string_equal(srv_conns[0]->reason, "closed locally");
    assert_int_equal(ct->closed, 1);
    assert_int_equal(ct->code, FEDGE_ECLOSED);
    assert_int_equal(net_conn_write(NULL, "x", 1), FEDGE_ECLOSED);
    net_tls_free(stls);
    net_tls_free(ctls);
}

/* A server that answers and closes while its peer is still sending: the
 * answer must reach the peer. Closing a socket with unread bytes sends a
 * reset, and the peer, failing its next write, may close before it reads
 * the answer; the lingering close (net.c conn_close) reads and drops until
 * the peer's EOF instead. */
static void test_close_while_peer_sends_keeps_answer(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    srv_answer_close = true;
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), NULL, NULL);
    RUN_UNTIL(ct->ready, 5000);
    assert_int_equal(ct->ready, 1);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 64 && !ct->closed; i++) {
        (void)net_conn_write(ct->c, chunk, sizeof chunk);
        RUN_FOR(1);
    }
    RUN_UNTIL(ct->closed && nsrv == 1 && srv_conns[0]->closed, 5000);
    assert_int_equal(ct->closed, 1);
    assert_non_null(strstr(ct->data, "ANSWER\n"));
    assert_int_equal(srv_conns[0]->closed, 1);
}

static void test_connect_failures_reported(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    /* Find a port nobody listens on: bind one, close it. */
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    uint16_t port = net_listener_port(l);
    net_listener_close(l);
    RUN_FOR(20);
    tconn_t *t = dial("127.0.0.1", port, NULL, NULL);
    RUN_UNTIL(t->closed, 3000);
    assert_int_equal(t->closed, 1);
    assert_int_equal(t->ready, 0);
    assert_int_equal(t->code, FEDGE_EIO);
    assert_non_null(strstr(t->reason, "connection refused"));

    tconn_t *u = dial("name.invalid", 5061, NULL, NULL);
    RUN_UNTIL(u->closed, 5000);
    assert_int_equal(u->closed, 1);
    assert_int_equal(u->code, FEDGE_EIO);
    assert_non_null(strstr(u->reason, "cannot resolve name.invalid"));

    fedge_err_t e;
    net_connect_opts_t o = {.host = "127.0.0.1", .port = 0, .cbs = cbs};
    assert_int_equal(net_connect(cli, &o, NULL, &e), FEDGE_EINVAL);
    net_listen_opts_t lo = {.host_port = "127.0.0.1", .cbs = cbs};
    assert_int_equal(net_listen(srv, &lo, NULL, &e), FEDGE_EINVAL);
    lo.host_port = "localhost:5060";
    assert_int_equal(net_listen(srv, &lo, NULL, &e), FEDGE_EINVAL);
    lo.host_port = "[::1:5060";
    assert_int_equal(net_listen(srv, &lo, NULL, &e), FEDGE_EINVAL);
    net_listener_t *busy = listen_on("127.0.0.1:0", NULL, NULL);
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%u", (unsigned)net_listener_port(busy));
    lo.host_port = hp;
    assert_int_equal(net_listen(srv, &lo, NULL, &e), FEDGE_EIO);
    assert_non_null(strstr(e.msg, "address already in use"));
}

/* A host name resolving to ::1 and 127.0.0.1 while only IPv4 listens: the
 * failed address is skipped, and the name goes out as SNI. */
static void test_connect_by_name_tries_each_address(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_t *stls = tls_of("edge.contoso.test", NULL, true);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *ct = dial("localhost", net_listener_port(l), ctls, NULL);
    RUN_UNTIL((ct->ready && nsrv == 1) || ct->closed, 5000);
    assert_int_equal(ct->closed, 0);
    assert_int_equal(ct->ready, 1);
    assert_string_equal(net_conn_sni(srv_conns[0]->c), "localhost");
    assert_string_equal(net_conn_remote_ip(ct->c), "127.0.0.1");
    char key[64];
    snprintf(key, sizeof key, "localhost:%u", (unsigned)net_listener_port(l));
    assert_ptr_equal(net_find_conn(cli, NULL, key), ct->c);
    net_tls_free(stls);
    net_tls_free(ctls);
}

static void test_stop_accepting_and_close_all(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_listener_t *l = listen_on("127.0.0.1:0", NULL, NULL);
    uint16_t port = net_listener_port(l);
    tconn_t *a = dial("127.0.0.1", port, NULL, NULL);
    RUN_UNTIL(a->ready && nsrv == 1, 3000);
    net_stop_accepting(srv);
    RUN_FOR(20);
    tconn_t *b = dial("127.0.0.1", port, NULL, NULL);
    RUN_UNTIL(b->closed, 3000);
    assert_int_equal(b->code, FEDGE_EIO); /* refused: nobody listens */
    assert_int_equal(a->closed, 0);       /* existing connection carries on */
    net_close_all(srv);
    RUN_UNTIL(a->closed && srv_conns[0]->closed, 3000);
    assert_int_equal(srv_conns[0]->code, FEDGE_ECLOSED);
    assert_string_equal(srv_conns[0]->reason, "shutting down");
    assert_int_equal(a->closed, 1);
}

static void test_tls_config_errors(void **state)
{
    (void)state;
    net_tls_t *t = NULL;
    fedge_err_t e;
    net_tls_opts_t o = {.certificate = pk("edge.contoso.test.crt"),
                        .private_key = pk("edge.contoso.test.key"),
                        .ca_file = pk("ca.crt"),
                        .min_version = "1.1"};
    assert_int_equal(net_tls_new(&o, &t, &e), FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "1.1"));
    o.min_version = "1.3";
    assert_int_equal(net_tls_new(&o, &t, &e), 0);
    net_tls_free(t);
    o.private_key = pk("edge.fabrikam.test.key");
    assert_int_equal(net_tls_new(&o, &t, &e), FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "does not match"));
    o.private_key = pk("edge.contoso.test.key");
    o.certificate = pk("missing.crt");
    assert_int_equal(net_tls_new(&o, &t, &e), FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "missing.crt"));
    o.certificate = pk("edge.contoso.test.crt");
    o.ca_file = pk("nope-ca.crt");
    assert_int_equal(net_tls_new(&o, &t, &e), FEDGE_ECONFIG);
    assert_non_null(strstr(e.msg, "nope-ca.crt"));
    o.ca_file = NULL;
    o.private_key = NULL;
    assert_int_equal(net_tls_new(&o, &t, &e), FEDGE_ECONFIG);
}

/* TLS 1.3 minimum on both ends still handshakes; a listener needs a
 * certificate. */
static void test_tls13_only_and_listener_needs_certificate(void **state)
{
    (void)state;
    make_nets(NULL, NULL);
    net_tls_opts_t so = {.certificate = pk("edge.contoso.test.crt"),
                         .private_key = pk("edge.contoso.test.key"),
                         .ca_file = pk("ca.crt"),
                         .require_client_certificate = true,
                         .min_version = "1.3"};
    net_tls_t *stls;
    fedge_err_t e;
    assert_int_equal(net_tls_new(&so, &stls, &e), 0);
    net_tls_t *ctls = tls_of("edge.fabrikam.test", NULL, true);
    net_listener_t *l = listen_on("127.0.0.1:0", stls, NULL);
    tconn_t *ct = dial("127.0.0.1", net_listener_port(l), ctls, NULL);
    RUN_UNTIL(ct->ready && nsrv == 1, 5000);
    assert_int_equal(nsrv, 1);
    net_tls_t *nocert = tls_of(NULL, NULL, true);
    net_listen_opts_t lo = {.host_port = "127.0.0.1:0", .tls = nocert, .cbs = cbs};
    assert_int_equal(net_listen(srv, &lo, NULL, &e), FEDGE_ECONFIG);
    net_tls_free(nocert);
    net_tls_free(stls);
    net_tls_free(ctls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_mtls_ipv4_data_both_ways_and_names),
        T(test_mtls_ipv6_large_echo_and_cn_only),
        T(test_sip_uri_sans_follow_rfc5922),
        T(test_cert_identity_same_for_connection_file_and_plan),
        T(test_client_without_certificate_refused),
        T(test_expired_certificate_refused),
        T(test_rogue_ca_certificate_refused),
        T(test_server_auth_only_certificate_refused_as_client),
        T(test_client_refuses_untrusted_server),
        T(test_optional_client_certificate_reports_unverified),
        T(test_outbound_writes_queued_until_handshake),
        T(test_writes_of_one_turn_leave_in_one_syscall),
        T(test_outbound_handshake_timeout),
        T(test_handshake_timeout_closes_silent_client),
        T(test_idle_timeout_reset_by_traffic),
        T(test_per_ip_limit),
        T(test_max_connections),
        T(test_budget_per_side_and_outbound),
        T(test_reserve_for_known_peers_and_shedding),
        T(test_handshake_places_oldest_dropped),
        T(test_handshake_rate_per_address),
        T(test_deadline_closes_trickling_peer),
        T(test_write_queue_overflow_closes_only_that_connection),
        T(test_reload_new_certificate_for_new_connections),
        T(test_session_resumed_keeps_peer_identity),
        T(test_handshake_first_record_in_single_bytes),
        T(test_crl_revoked_refused_and_reloaded),
        T(test_reuse_lookup_by_name_and_target),
        T(test_reuse_index_many_connections),
        T(test_plain_tcp_internal_side),
        T(test_close_inside_data_callback),
        T(test_close_while_peer_sends_keeps_answer),
        T(test_connect_failures_reported),
        T(test_connect_by_name_tries_each_address),
        T(test_stop_accepting_and_close_all),
        T(test_tls_config_errors),
        T(test_tls13_only_and_listener_needs_certificate),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
