/* fuzz_proxy.c — libFuzzer harness for the proxy core (src/proxy: the
 * transactions, CANCEL/ACK matching, Route and Record-Route handling,
 * failover, the parked requests of the policy hook) on an injected
 * transport and clock, as tests/unit/proxy/test_proxy_data.c drives it.
 *
 * The input is a program: its first byte picks a configuration, then each
 * operation is a byte and its operands — a request built from pieces
 * (method, Request-URI, Call-ID, branch, To tag, Route, Max-Forwards, body)
 * or raw bytes, arriving on either side over one of eight connections; a
 * response to one of the requests the proxy sent; a timer tick; a
 * connection closing or failing; a sending host refusing connections; the
 * policy's answer (allow, deny, pending) and its late verdict; a stop.
 *
 * Invariants (a finding traps):
 * - every message sent is one whole message (it parses, its length is
 *   its Content-Length's);
 * - a connection is never used after proxy_on_conn_closed;
 * - a request the proxy sends to a host (not on a connection) goes to the
 *   side the request it forwards did not come from (docs/proxy.md
 *   "Routing between the sides": every route crosses sides); a response
 *   sent to a host goes over a connection that exists, never a new one;
 * - once the input is consumed, enough time passing (timers B/F/H/C, the
 *   policy's wait, lingering transactions) ends every transaction;
 * - ASan/UBSan: no use after free, no leak, no undefined behaviour. */
/* fuzz-rooms: proxy obs dns net (the proxy, its logs and counters, the
 * route types it shares with the resolver, the certificate name rules). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/obs.h"
#include "proxy/proxy.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#define MAX_CONNS 48
#define MAX_SENT 128
#define MAX_ORIGINS 64

struct proxy_conn {
    char name[PROXY_HOST_MAX];
    proxy_side_t side;
    bool closed;
};

typedef struct {
    proxy_side_t side;
    proxy_conn_t *conn;
    char *data;
    size_t len;
} sent_t;

/* Which side a request (by Call-ID and top Via branch) came from: 1
 * external, 2 internal, 3 both (the fuzzer used one key on both sides:
 * not checked). */
typedef struct {
    char key[160];
    unsigned sides;
} origin_t;

static struct {
    proxy_t *px;
    uint64_t clock;
    proxy_conn_t *conns[MAX_CONNS];
    unsigned nconns;
    sent_t sent[MAX_SENT];
    unsigned nsent; /* kept: the last MAX_SENT requests sent to hosts */
    unsigned nsent_total;
    origin_t origins[MAX_ORIGINS];
    unsigned norigins;
    char fail[4][PROXY_HOST_MAX];
    unsigned nfail;
    bool reuse;
    int policy; /* 0 allow, 1 deny, 2 pending, 3 allow with edits */
    uint64_t ticket;
} F;

/* ---- the input ---- */

typedef struct {
    const uint8_t *p;
    size_t n;
} in_t;

static unsigned u8(in_t *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* ---- connections ---- */

static proxy_conn_t *conn_new(const char *name, proxy_side_t side)
{
    if (F.nconns >= MAX_CONNS)
        return NULL;
    proxy_conn_t *c = calloc(1, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->side = side;
    F.conns[F.nconns++] = c;
    return c;
}

/* The open connection named name, or a new one. */
static proxy_conn_t *conn_named(const char *name, proxy_side_t side)
{
    for (unsigned i = F.nconns; i-- > 0;)
        if (!F.conns[i]->closed && !strcmp(F.conns[i]->name, name))
            return F.conns[i];
    return conn_new(name, side);
}

/* ---- origins of requests ---- */

static bool origin_key(const char *buf, size_t len, char *key, size_t cap)
{
    static sip_msg_t m;
    if (sip_parse(buf, len, NULL, &m) < 0 || !m.is_request)
        return false;
    fedge_str_t cid = {0}, via = {0};
    for (unsigned h = 0; h < m.nhdrs; h++) {
        if (m.hdrs[h].id == SIP_HDR_CALL_ID && !cid.s)
            cid = m.hdrs[h].value;
        if (m.hdrs[h].id == SIP_HDR_VIA && !via.s)
            via = m.hdrs[h].value;
    }
    snprintf(key, cap, "%.*s|%.*s", (int)(cid.len > 60 ? 60 : cid.len), cid.s ? cid.s : "",
             (int)(via.len > 90 ? 90 : via.len), via.s ? via.s : "");
    return true;
}

static void origin_note(const char *buf, size_t len, proxy_side_t side)
{
    char key[160];
    if (!origin_key(buf, len, key, sizeof(key)))
        return;
    for (unsigned i = 0; i < F.norigins; i++)
        if (!strcmp(F.origins[i].key, key)) {
            F.origins[i].sides |= (unsigned)side;
            return;
        }
    if (F.norigins < MAX_ORIGINS) {
        snprintf(F.origins[F.norigins].key, sizeof(F.origins[0].key), "%s", key);
        F.origins[F.norigins++].sides = (unsigned)side;
    } else {
        /* table full: forget the origins (nothing is checked for them) */
        F.norigins = 0;
    }
}

/* A forwarded request carries the edge's Via on top and the upstream's
 * under it: that one names the request it forwards. */
static proxy_side_t origin_of_forwarded(const char *buf, size_t len)
{
    static sip_msg_t m;
    if (sip_parse(buf, len, NULL, &m) < 0 || !m.is_request)
        return PROXY_SIDE_NONE;
    fedge_str_t cid = {0}, via = {0};
    unsigned vias = 0;
    for (unsigned h = 0; h < m.nhdrs; h++) {
        if (m.hdrs[h].id == SIP_HDR_CALL_ID && !cid.s)
            cid = m.hdrs[h].value;
        if (m.hdrs[h].id == SIP_HDR_VIA && ++vias == 2)
            via = m.hdrs[h].value;
    }
    if (!via.s)
        return PROXY_SIDE_NONE; /* the edge's own request (an ACK, a CANCEL) */
    char key[160];
    snprintf(key, sizeof(key), "%.*s|%.*s", (int)(cid.len > 60 ? 60 : cid.len), cid.s ? cid.s : "",
             (int)(via.len > 90 ? 90 : via.len), via.s);
    for (unsigned i = 0; i < F.norigins; i++)
        if (!strcmp(F.origins[i].key, key))
            return F.origins[i].sides == 3 ? PROXY_SIDE_NONE : (proxy_side_t)F.origins[i].sides;
    return PROXY_SIDE_NONE;
}

/* ---- the injected transport ---- */

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return F.clock;
}

static int io_send(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                   proxy_conn_t **used, fedge_err_t *why)
{
    (void)ctx;
    /* one whole message */
    static sip_msg_t m;
    sip_limits_t lim;
    sip_limits_default(&lim);
    lim.max_message_size = len;
    CHECK(sip_parse(data, len, &lim, &m) == 0);
    CHECK(m.len == len);
    CHECK(m.content_length < 0 || (size_t)m.content_length == m.body.len);
    proxy_conn_t *c;
    if (d->kind == PROXY_TO_CONN) {
        CHECK(d->conn != NULL);
        CHECK(!d->conn->closed); /* never used after proxy_on_conn_closed */
        c = d->conn;
    } else {
        CHECK(d->host != NULL);
        CHECK(d->side == PROXY_SIDE_EXTERNAL || d->side == PROXY_SIDE_INTERNAL);
        /* a response goes upstream over a connection that exists (RFC
         * 3261 §18.2.2), never a new one */
        CHECK(m.is_request || d->kind == PROXY_TO_REUSE);
        if (m.is_request) {
            proxy_side_t from = origin_of_forwarded(data, len);
            CHECK(from == PROXY_SIDE_NONE || from != d->side); /* routes cross sides */
        }
        if (d->kind == PROXY_TO_REUSE && !F.reuse)
            return fedge_err(why, FEDGE_ENOENT, "no connection");
        for (unsigned i = 0; i < F.nfail; i++)
            if (!strcmp(F.fail[i], d->host))
                return fedge_err(why, FEDGE_EIO, "connection refused");
        c = conn_named(d->host, d->side);
        if (!c)
            return fedge_err(why, FEDGE_EIO, "out of connections");
        if (used)
            *used = c;
        if (!m.is_request)
            return 0;
        sent_t *s = &F.sent[F.nsent_total++ % MAX_SENT];
        free(s->data);
        s->side = d->side;
        s->conn = c;
        s->data = malloc(len);
        memcpy(s->data, data, len);
        s->len = len;
        if (F.nsent < MAX_SENT)
            F.nsent++;
    }
    if (used)
        *used = c;
    return 0;
}

static int hook(void *user, const proxy_policy_in_t *in, proxy_policy_verdict_t *v)
{
    (void)user;
    F.ticket = in->ticket;
    if (F.policy == 1) {
        v->status = 403;
        snprintf(v->warning, sizeof(v->warning), "denied by the fuzzer");
        return 1;
    }
    if (F.policy == 2)
        return PROXY_POLICY_PENDING;
    if (F.policy == 3) {
        (void)proxy_edits_strip(&v->edits, "Subject");
        (void)proxy_edits_add(&v->edits, "X-Fuzz", "1");
        v->result_cookie = 7;
    }
    return 0;
}

static void result(void *user, uint64_t cookie, int status)
{
    (void)user;
    CHECK(cookie == 7);
    CHECK(status >= 100 && status < 700);
}

/* ---- operations ---- */

static const char *const methods[] = {"INVITE", "MESSAGE", "OPTIONS", "ACK",
                                      "CANCEL", "BYE",     "INFO",    "SUBSCRIBE"};
static const char *const ruris[] = {"sip:alice@contoso.test",
                                    "sip:bob@fabrikam.test",
                                    "sip:edge.contoso.test",
                                    "sip:alice@10.0.0.1:5060;transport=tcp",
                                    "sip:carol@sip1.contoso.test:5060",
                                    "sips:dave@fabrikam.test",
                                    "tel:+15551234",
                                    "sip:eve@edge.contoso.test:5061;transport=tls"};
static const char *const routes[] = {
    "",
    "Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\n",
    "Route: <sip:10.0.0.1:5060;transport=tcp;lr>\r\n",
    "Route: <sip:edge.contoso.test:5061;transport=tls;lr>,<sip:10.0.0.1:5060;transport=tcp;lr>\r\n",
    "Route: <sip:fed.example.net:5061;lr>\r\n",
    "Route: <sip:10.0.0.1:5060;transport=tcp;lr>\r\nRoute: <sip:sip2.contoso.test;lr>\r\n",
    "Route: <sip:edge.contoso.test:5061;transport=tls>\r\n", /* strict router */
    "Record-Route: <sip:edge.fabrikam.test;lr>\r\n"};

static proxy_side_t side_of(unsigned b)
{
    return (b & 1) ? PROXY_SIDE_INTERNAL : PROXY_SIDE_EXTERNAL;
}

static void deliver(proxy_conn_t *c, proxy_side_t side, const char *buf, size_t len, unsigned cert)
{
    static const char *partner[] = {"edge.fabrikam.test", "fabrikam.test"};
    static const net_peer_t verified = {
        .presented = true, .verified = true, .dns = partner, .n_dns = 2, .eku_ok = true};
    static const net_peer_t unverified = {.presented = true, .dns = partner, .n_dns = 2};
    const net_peer_t *pc = NULL;
    if (side == PROXY_SIDE_EXTERNAL)
        pc = cert == 0 ? &verified : cert == 1 ? &unverified : NULL;
    proxy_peer_t peer = {side, c->name, pc};
    origin_note(buf, len, side);
    int rc = proxy_on_message(F.px, c, &peer, buf, len);
    if (rc < 0 && !c->closed) {
        /* as the edge does: a message that cannot be answered closes it */
        c->closed = true;
        proxy_on_conn_closed(F.px, c, FEDGE_ECLOSED);
    }
}

/* The connection an operation names: 4 per side, opened by peers. */
static proxy_conn_t *peer_conn(unsigned b, proxy_side_t side)
{
    char name[32];
    snprintf(name, sizeof(name), "%s%u", side == PROXY_SIDE_EXTERNAL ? "x" : "i", b % 4);
    return conn_named(name, side);
}

static void op_request(in_t *in)
{
    unsigned a = u8(in), b = u8(in), c = u8(in), d = u8(in);
    proxy_side_t side = side_of(a);
    proxy_conn_t *conn = peer_conn(a >> 1, side);
    if (!conn)
        return;
    const char *method = methods[b % 8];
    const char *ruri = ruris[(b >> 3) % 8];
    const char *route = routes[c % 8];
    unsigned callid = (c >> 3) % 4, branch = (c >> 5) % 4;
    bool totag = d & 1;
    unsigned mf = (d >> 1) % 4;
    unsigned body = (d >> 3) % 4;
    const char *cseq_method = method;
    char bodybuf[64] = "";
    if (body)
        snprintf(bodybuf, sizeof(bodybuf), "%.*s", (int)(body * 8),
                 "hello fuzz body hello fuzz body");
    char msg[2048];
    int n = snprintf(msg, sizeof(msg),
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/%s %s;branch=z9hG4bKf%u\r\n"
                     "Max-Forwards: %s\r\n"
                     "From: <sip:bob@%s>;tag=f%u\r\n"
                     "To: <%s>%s\r\n"
                     "Call-ID: call%u@fuzz\r\n"
                     "CSeq: %u %s\r\n"
                     "%s"
                     "Contact: <sip:bob@203.0.113.5>\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, ruri, side == PROXY_SIDE_EXTERNAL ? "TLS" : "TCP",
                     side == PROXY_SIDE_EXTERNAL ? "edge.fabrikam.test:5061" : "sip1.contoso.test",
                     branch,
                     mf == 0   ? "70"
                     : mf == 1 ? "1"
                     : mf == 2 ? "0"
                               : "69",
                     side == PROXY_SIDE_EXTERNAL ? "fabrikam.test" : "contoso.test", callid, ruri,
                     totag ? ";tag=t1" : "", callid, 1 + (d >> 5) % 3, cseq_method, route,
                     strlen(bodybuf), bodybuf);
    if (n > 0 && (size_t)n < sizeof(msg))
        deliver(conn, side, msg, (size_t)n, (a >> 3) % 3);
}

static void op_raw(in_t *in)
{
    unsigned a = u8(in);
    size_t len = u8(in) * 4 + u8(in);
    if (len > in->n)
        len = in->n;
    proxy_side_t side = side_of(a);
    proxy_conn_t *conn = peer_conn(a >> 1, side);
    if (conn && len)
        deliver(conn, side, (const char *)in->p, len, (a >> 3) % 3);
    in->p += len;
    in->n -= len;
}

/* A response from downstream to one of the requests sent to a host, on
 * the connection it went on (its Record-Route copied, RFC 3261 §12.1.1). */
static void op_reply(in_t *in)
{
    static const int codes[] = {100, 180, 183, 200, 202, 302, 401, 404,
                                408, 481, 486, 487, 500, 503, 600, 603};
    unsigned a = u8(in), b = u8(in);
    if (!F.nsent)
        return;
    /* newest first: a small index reaches the requests just sent */
    unsigned idx = (F.nsent_total - 1 - a % F.nsent) % MAX_SENT;
    const sent_t *s = &F.sent[idx];
    if (!s->data || s->conn->closed)
        return;
    static sip_msg_t m;
    if (sip_parse(s->data, s->len, NULL, &m) < 0 || !m.is_request)
        return;
    char rr[2048] = "", buf[8192];
    size_t rl = 0, len;
    for (unsigned h = 0; h < m.nhdrs; h++)
        if (m.hdrs[h].id == SIP_HDR_RECORD_ROUTE && rl + m.hdrs[h].raw.len < sizeof(rr)) {
            memcpy(rr + rl, m.hdrs[h].raw.s, m.hdrs[h].raw.len);
            rl += m.hdrs[h].raw.len;
            rr[rl] = 0;
        }
    int code = codes[b % 16];
    const char *tag = (b & 0x10) ? "t2" : "t1";
    if (sip_build_response(&m, code, NULL, tag, rr, buf, sizeof(buf), &len) != 0)
        return;
    deliver(s->conn, s->side, buf, len, 0);
}

static void close_conn(proxy_conn_t *c, bool failed)
{
    if (!c || c->closed)
        return;
    c->closed = true;
    if (failed)
        proxy_on_conn_failed(F.px, c, FEDGE_ETLS, "certificate refused by the fuzzer");
    else
        proxy_on_conn_closed(F.px, c, FEDGE_ECLOSED);
}

static void op_close(in_t *in)
{
    unsigned a = u8(in);
    if (!F.nconns)
        return;
    close_conn(F.conns[a % F.nconns], a & 0x80);
}

static void op_tick(in_t *in)
{
    unsigned a = u8(in);
    /* 0-63 steps of 100 ms, or up to 64 s at once */
    F.clock += (a & 0x80) ? (uint64_t)(a & 0x3f) * 1000 + 1 : (uint64_t)(a & 0x3f) * 100;
    proxy_tick(F.px);
}

static void op_policy(in_t *in)
{
    unsigned a = u8(in);
    switch (a % 6) {
    case 0: F.policy = 0; break;
    case 1: F.policy = 1; break;
    case 2: F.policy = 2; break;
    case 3: F.policy = 3; break;
    case 4: {
        proxy_policy_verdict_t v = {0};
        v.status = 404;
        snprintf(v.warning, sizeof(v.warning), "late no");
        (void)proxy_policy_resume(F.px, F.ticket, a & 0x40, &v);
        break;
    }
    default: (void)proxy_policy_resume(F.px, F.ticket, false, NULL); break;
    }
}

static void op_fail(in_t *in)
{
    static const char *const hosts[] = {"sip1.contoso.test", "sip2.contoso.test", "fed.example.net",
                                        "10.0.0.1"};
    unsigned a = u8(in);
    if (a & 0x80) {
        F.nfail = 0;
        return;
    }
    if (F.nfail < 4)
        snprintf(F.fail[F.nfail++], sizeof(F.fail[0]), "%s", hosts[a % 4]);
}

static void setup(unsigned cfgbyte)
{
    proxy_cfg_t c;
    proxy_cfg_init(&c);
    strcpy(c.fqdn, "edge.contoso.test");
    strcpy(c.domains[0], "contoso.test");
    c.ndomains = 1;
    strcpy(c.ext.host, "edge.contoso.test");
    c.ext.port = 5061;
    strcpy(c.in.host, "10.0.0.1");
    c.in.port = 5060;
    c.in.transport = PROXY_TP_TCP;
    strcpy(c.next_hops[0].host, "sip1.contoso.test");
    c.next_hops[0].port = 5060;
    strcpy(c.next_hops[1].host, "sip2.contoso.test");
    c.next_hops[1].port = 5060;
    c.nnext_hops = 1 + (cfgbyte & 1);
    if (!(cfgbyte & 2)) {
        strcpy(c.default_route.host, "fed.example.net");
        c.default_route.port = 5061;
    }
    c.dns_srv = cfgbyte & 4; /* without a resolver: 504 */
    if (cfgbyte & 8)
        c.max_message_size = 1024;
    proxy_io_t io = {NULL, io_now, io_send};
    fedge_err_t e;
    CHECK(proxy_new(&c, &io, &F.px, &e) == 0);
    proxy_set_policy(F.px, hook, NULL);
    proxy_set_result(F.px, result, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        /* every log line is formatted (attacker bytes in it), none kept */
        obs_log_init(OBS_LOG_INFO, OBS_LOG_TEXT, fopen("/dev/null", "w"));
        once = true;
    }
    memset(&F, 0, sizeof(F));
    F.clock = 1000000;
    in_t in = {data, size};
    setup(u8(&in));
    unsigned ops = 0;
    while (in.n && ops++ < 256) {
        switch (u8(&in) % 10) {
        case 0:
        case 1:
        case 2: op_request(&in); break;
        case 3: op_raw(&in); break;
        case 4:
        case 5: op_reply(&in); break;
        case 6: op_tick(&in); break;
        case 7: op_close(&in); break;
        case 8: op_policy(&in); break;
        default:
            if (u8(&in) & 1)
                F.reuse = !F.reuse;
            else
                op_fail(&in);
            break;
        }
    }
    /* Time passes with nothing arriving: every transaction must end
     * (Timer C is 3 minutes; a parked request waits 10 s; lingering ones
     * absorb retransmissions for at most 64*T1). */
    for (int i = 0; i < 40 && proxy_txn_count(F.px) > 0; i++) {
        F.clock += 30000;
        proxy_tick(F.px);
    }
    CHECK(proxy_txn_count(F.px) == 0);
    proxy_free(F.px);
    for (unsigned i = 0; i < F.nconns; i++)
        free(F.conns[i]);
    for (unsigned i = 0; i < MAX_SENT; i++)
        free(F.sent[i].data);
    return 0;
}
