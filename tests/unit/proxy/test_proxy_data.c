/* test_proxy_data.c — runs the proxy cases of tests/data/proxy/ (one file
 * per case: the configuration, the bytes in on a side, the exact bytes
 * expected out and where they go) on an injected transport and clock. The
 * format is described in tests/data/proxy/README. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/obs.h"
#include "proxy/proxy_int.h"
#include "proxy_fixture.h"

#define MAX_CONNS 32
#define MAX_SENT 256

struct proxy_conn {
    char name[PROXY_HOST_MAX];
    bool udp; /* carries datagrams (io_is_udp) */
};

typedef struct {
    proxy_to_t kind;
    proxy_side_t side;
    proxy_conn_t *conn;
    char host[PROXY_HOST_MAX];
    uint16_t port;
    bool stream; /* d->stream: over TCP on a UDP side */
    char *data;
    size_t len;
} sent_t;

/* The state of one case. */
static struct {
    const char *file;
    unsigned line; /* of the directive being run, for failures */
    proxy_t *px;
    proxy_cfg_t cfg;
    uint64_t clock;
    proxy_conn_t conns[MAX_CONNS];
    unsigned nconns;
    sent_t sent[MAX_SENT];
    unsigned nsent, matched;
    char fail[8][PROXY_HOST_MAX];
    unsigned nfail;
    bool reuse;
    int policy; /* 0 allow, 1 deny, PROXY_POLICY_PENDING */
    proxy_policy_verdict_t verdict;
    uint64_t ticket;
    size_t body; /* body length for the next message in */
} K;

static void fail_at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_at(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fail_msg("%s:%u: %s", K.file, K.line, msg);
}

static proxy_conn_t *conn_named(const char *name)
{
    for (unsigned i = 0; i < K.nconns; i++)
        if (!strcmp(K.conns[i].name, name))
            return &K.conns[i];
    assert_true(K.nconns < MAX_CONNS);
    proxy_conn_t *c = &K.conns[K.nconns++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

/* ---- the injected transport ---- */

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return K.clock;
}

static int io_send(void *ctx, const proxy_dest_t *d, const char *data, size_t len,
                   proxy_conn_t **used, fedge_err_t *why)
{
    (void)ctx;
    proxy_conn_t *c;
    if (d->kind == PROXY_TO_CONN) {
        c = d->conn;
    } else {
        if (d->kind == PROXY_TO_REUSE && !K.reuse)
            return fedge_err(why, FEDGE_ENOENT, "no connection");
        for (unsigned i = 0; i < K.nfail; i++)
            if (!strcmp(K.fail[i], d->host))
                return fedge_err(why, FEDGE_EIO, "connection refused");
        c = conn_named(d->host);
        /* internal over UDP: a datagram unless the proxy asked for TCP */
        if (d->side == PROXY_SIDE_INTERNAL && K.cfg.in.transport == PROXY_TP_UDP)
            c->udp = !d->stream;
    }
    assert_true(K.nsent < MAX_SENT);
    sent_t *s = &K.sent[K.nsent++];
    s->kind = d->kind;
    s->side = d->side;
    s->conn = c;
    snprintf(s->host, sizeof(s->host), "%s", d->host ? d->host : "");
    s->port = d->port;
    s->stream = d->stream;
    s->data = malloc(len + 1);
    memcpy(s->data, data, len);
    s->data[len] = 0;
    s->len = len;
    if (used)
        *used = c;
    return 0;
}

static int hook(void *user, const proxy_policy_in_t *in, proxy_policy_verdict_t *v)
{
    (void)user;
    K.ticket = in->ticket;
    if (K.policy != PROXY_POLICY_PENDING)
        *v = K.verdict;
    return K.policy;
}

/* ---- matching ---- */

/* s matches pattern p, where '*' stands for any run of characters. */
static bool glob(const char *p, size_t pl, const char *s, size_t sl)
{
    while (pl) {
        if (*p == '*') {
            for (size_t k = 0; k <= sl; k++)
                if (glob(p + 1, pl - 1, s + k, sl - k))
                    return true;
            return false;
        }
        if (!sl || *p != *s)
            return false;
        p++, pl--, s++, sl--;
    }
    return sl == 0;
}

/* Compares the expected message want (header lines, "" line, body lines,
 * '\n'-separated) with sent message got: every header line in order, and
 * the body when want has one. */
static void match_msg(const char *want, const sent_t *got)
{
    const char *g = got->data, *gend = got->data + got->len;
    const char *w = want;
    unsigned n = 0;
    bool skipping = false; /* after a "..." line: any header lines */
    for (;;) {
        const char *wl = strchr(w, '\n');
        size_t wn = wl ? (size_t)(wl - w) : strlen(w);
        if (wn == 3 && !memcmp(w, "...", 3)) {
            skipping = true;
            w = wl ? wl + 1 : w + wn;
            continue;
        }
        const char *gl = strstr(g, "\r\n");
        if (!gl)
            fail_at("sent message %u has no end of headers", K.matched);
        size_t gn = (size_t)(gl - g);
        n++;
        if (wn == 0 && gn == 0) {
            g = gl + 2;
            w += wl ? 1 : 0;
            break;
        }
        if (skipping && gn && !(wn && glob(w, wn, g, gn))) {
            g = gl + 2;
            continue;
        }
        skipping = false;
        if (!glob(w, wn, g, gn))
            fail_at("sent message %u, line %u: want \"%.*s\", got \"%.*s\"\n--- sent:\n%s",
                    K.matched, n, (int)wn, w, (int)gn, g, got->data);
        g = gl + 2;
        w = wl ? wl + 1 : w + wn; /* the end of want is the end of the headers */
    }
    if (!*w)
        return; /* no body expected: not compared */
    char body[8192];
    size_t bl = 0;
    for (const char *x = w; *x && bl + 2 < sizeof(body); x++) {
        if (*x == '\n' && !x[1])
            break;
        if (*x == '\n') {
            body[bl++] = '\r';
            body[bl++] = '\n';
        } else {
            body[bl++] = *x;
        }
    }
    if ((size_t)(gend - g) != bl || memcmp(g, body, bl))
        fail_at("sent message %u: body differs\n--- sent:\n%s", K.matched, got->data);
}

static proxy_side_t side_of(const char *s)
{
    if (!strcmp(s, "external"))
        return PROXY_SIDE_EXTERNAL;
    if (!strcmp(s, "internal"))
        return PROXY_SIDE_INTERNAL;
    fail_at("side '%s' is neither external nor internal", s);
    return PROXY_SIDE_NONE;
}

static void expect_out(const char *args, const char *msg)
{
    char kind[16], side[PROXY_HOST_MAX] = "", where[PROXY_HOST_MAX + 8] = "";
    if (sscanf(args, "%15s %255s %263s", kind, side, where) < 2)
        fail_at("out: want KIND SIDE|CONN [HOST:PORT]");
    if (K.matched >= K.nsent)
        fail_at("out %s: nothing more was sent (%u sent)", args, K.nsent);
    const sent_t *s = &K.sent[K.matched];
    if (!strcmp(kind, "conn")) {
        if (s->kind != PROXY_TO_CONN || strcmp(s->conn->name, side))
            fail_at("sent message %u went to %s %s:%u, not on connection %s\n%s", K.matched,
                    s->kind == PROXY_TO_CONN ? s->conn->name : "host", s->host, s->port, side,
                    s->data);
    } else {
        bool tcp = !strcmp(kind, "tcp");
        if (s->stream != tcp)
            fail_at("sent message %u: %s, want %s\n%s", K.matched,
                    s->stream ? "over TCP" : "not over TCP", args, s->data);
        proxy_to_t k = !strcmp(kind, "reuse")         ? PROXY_TO_REUSE
                       : !strcmp(kind, "host") || tcp ? PROXY_TO_HOST
                       : !strcmp(kind, "candidate")   ? PROXY_TO_CANDIDATE
                                                      : (proxy_to_t)-1;
        char hp[PROXY_HOST_MAX + 8];
        snprintf(hp, sizeof(hp), "%s:%u", s->host, s->port);
        if (s->kind != k || s->side != side_of(side) || strcmp(hp, where))
            fail_at("sent message %u: kind %d side %s to %s, want %s\n%s", K.matched, s->kind,
                    proxy_side_name(s->side), hp, args, s->data);
    }
    match_msg(msg, s);
    /* what went out is one whole message: its body as long as it says */
    static sip_msg_t m;
    sip_limits_t lim;
    sip_limits_default(&lim);
    lim.max_message_size = s->len;
    if (sip_parse(s->data, s->len, &lim, &m) < 0 || m.len != s->len ||
        (m.content_length >= 0 && (size_t)m.content_length != m.body.len))
        fail_at("sent message %u is not one whole message (%zu bytes)", K.matched, s->len);
    K.matched++;
}

/* ---- running a case ---- */

static bool io_is_udp(void *ctx, const proxy_conn_t *c)
{
    (void)ctx;
    return c->udp;
}

static void setup_cfg(void)
{
    proxy_cfg_t *c = &K.cfg;
    tu_proxy_cfg(c, "sip1.contoso.test");
    strcpy(c->next_hops[1].host, "sip2.contoso.test");
    c->next_hops[1].port = 5060;
    c->nnext_hops = 2;
    strcpy(c->default_route.host, "fed.example.net");
    c->default_route.port = 5061;
}

static void hostport(const char *s, proxy_hostport_t *hp)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        fail_at("'%s' is not HOST:PORT", s);
    snprintf(hp->host, sizeof(hp->host), "%.*s", (int)(colon - s), s);
    hp->port = (uint16_t)atoi(colon + 1);
}

static void config(const char *args)
{
    char key[64], val[512];
    if (sscanf(args, "%63s %511[^\n]", key, val) != 2)
        fail_at("config: want KEY VALUE");
    if (K.px)
        fail_at("config after the first message");
    if (!strcmp(key, "max_message_size")) {
        K.cfg.max_message_size = (size_t)atol(val);
    } else if (!strcmp(key, "next_hops")) {
        K.cfg.nnext_hops = 0;
        for (char *tok = strtok(val, " "); tok && K.cfg.nnext_hops < PROXY_MAX_HOPS;
             tok = strtok(NULL, " "))
            hostport(tok, &K.cfg.next_hops[K.cfg.nnext_hops++]);
    } else if (!strcmp(key, "internal") && !strcmp(val, "udp")) {
        K.cfg.in.transport = PROXY_TP_UDP;
    } else if (!strcmp(key, "dns_srv")) {
        K.cfg.dns_srv = !strcmp(val, "on");
    } else if (!strcmp(key, "default_route")) {
        hostport(val, &K.cfg.default_route);
    } else {
        fail_at("config: unknown key %s", key);
    }
}

static void start(void)
{
    if (K.px)
        return;
    proxy_io_t io = {NULL, io_now, io_send, io_is_udp};
    fedge_err_t e;
    assert_int_equal(proxy_new(&K.cfg, &io, &K.px, &e), 0);
    proxy_set_policy(K.px, hook, NULL);
}

/* What DNS said about a route, put in the proxy's route cache (TTL 60 s):
 * KIND (hop: a next hop by name; srv: federation) DOMAIN, then targets
 * HOST:PORT=ADDRESS in priority order. */
static void srv(const char *args)
{
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", args);
    char *kind = strtok_r(buf, " ", &save), *domain = strtok_r(NULL, " ", &save);
    if (!kind || !domain)
        fail_at("srv: want hop|srv DOMAIN HOST:PORT=ADDRESS...");
    start();
    dns_target_t t[8];
    dns_addr_t a[8];
    size_t n = 0;
    for (char *tok; n < 8 && (tok = strtok_r(NULL, " ", &save)); n++) {
        char *eq = strchr(tok, '='), *colon = strchr(tok, ':');
        if (!eq || !colon || colon > eq)
            fail_at("srv: '%s' is not HOST:PORT=ADDRESS", tok);
        *colon = *eq = 0;
        memset(&a[n], 0, sizeof(a[n]));
        a[n].family = AF_INET;
        a[n].ttl = 60;
        if (inet_pton(AF_INET, eq + 1, &a[n].u.v4) != 1)
            fail_at("srv: '%s' is not an IPv4 address", eq + 1);
        t[n] = (dns_target_t){
            tok, (uint16_t)atoi(colon + 1), (uint16_t)(10 * (n + 1)), 10, 60, DNS_OK, "", 1, &a[n]};
    }
    dns_route_result_t r = {DNS_OK, domain, "", false, false, 60, n, t};
    bool hop = !strcmp(kind, "hop");
    proxy_side_t side = hop ? PROXY_SIDE_INTERNAL : PROXY_SIDE_EXTERNAL;
    bool tls = (side == PROXY_SIDE_INTERNAL ? K.cfg.in : K.cfg.ext).transport == PROXY_TP_TLS;
    proxy__out_t *ob =
        proxy__out_new(hop ? PROXY__OUT_HOP : PROXY__OUT_SRV, tls, domain, NULL, 0, NULL);
    proxy__out_set_route(ob, &r);
    proxy__rcache_put(&K.px->rcache, ob, K.clock);
    proxy__out_free(ob);
}

static void verdict_edit(const char *cmd, const char *args)
{
    if (!strcmp(cmd, "strip")) {
        if (proxy_edits_strip(&K.verdict.edits, args) < 0)
            fail_at("strip %s refused", args);
        return;
    }
    const char *colon = strchr(args, ':');
    if (!colon)
        fail_at("add: want NAME: VALUE");
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - args), args);
    if (proxy_edits_add(&K.verdict.edits, name, colon + 1 + (colon[1] == ' ')) < 0)
        fail_at("add %s refused", args);
}

static void policy(const char *args)
{
    char what[16];
    int st = 0;
    char text[160] = "";
    if (sscanf(args, "%15s %d %159[^\n]", what, &st, text) < 1)
        fail_at("policy: want allow|pending|deny STATUS TEXT");
    if (!strcmp(what, "allow")) {
        K.policy = 0;
    } else if (!strcmp(what, "pending")) {
        K.policy = PROXY_POLICY_PENDING;
    } else if (!strcmp(what, "deny")) {
        K.policy = 1;
        K.verdict.status = st;
        snprintf(K.verdict.warning, sizeof(K.verdict.warning), "%s", text);
    } else {
        fail_at("policy: unknown %s", what);
    }
}

/* A message block: lines with '\n' turned into CRLF, the body set to
 * K.body bytes when asked (Content-Length rewritten). */
static char *wire(const char *msg, size_t *len)
{
    size_t n = strlen(msg), cap = 2 * n + K.body + 64, l = 0;
    char *b = malloc(cap);
    const char *end = strstr(msg, "\n\n");
    size_t hl = end ? (size_t)(end - msg) + 1 : n;
    for (size_t i = 0; i < hl; i++) {
        if (msg[i] == '\n')
            b[l++] = '\r';
        b[l++] = msg[i];
    }
    if (K.body) {
        char *cl = strstr(b, "Content-Length: ");
        if (!cl)
            fail_at("body: the message has no Content-Length");
        char *eol = strstr(cl, "\r\n");
        char num[32];
        int k = snprintf(num, sizeof(num), "Content-Length: %zu", K.body);
        memmove(cl + k, eol, (size_t)(b + l - eol));
        l = l - (size_t)(eol - cl) + (size_t)k;
        memcpy(cl, num, (size_t)k);
    }
    b[l++] = '\r';
    b[l++] = '\n';
    if (K.body) {
        memset(b + l, 'x', K.body);
        l += K.body;
    } else if (end) {
        for (const char *s = end + 2; *s; s++) {
            if (*s == '\n' && !s[1])
                break; /* the block's last line end is not part of the body */
            if (*s == '\n')
                b[l++] = '\r';
            b[l++] = *s;
        }
    }
    K.body = 0;
    *len = l;
    return b;
}

static void in(const char *args, const char *msg)
{
    char side[16], conn[PROXY_HOST_MAX];
    if (sscanf(args, "%15s %255s", side, conn) != 2)
        fail_at("in: want SIDE CONN");
    /* a partner presents a verified certificate naming its edge */
    static const char *partner[] = {"edge.fabrikam.test", "fabrikam.test"};
    static const net_peer_t cert = {
        .presented = true, .verified = true, .dns = partner, .n_dns = 2, .eku_ok = true};
    proxy_side_t s = side_of(side);
    proxy_peer_t peer = {s, conn, s == PROXY_SIDE_EXTERNAL ? &cert : NULL};
    start();
    size_t len;
    char *b = wire(msg, &len);
    proxy_on_message(K.px, conn_named(conn), &peer, b, len);
    free(b);
}

/* Downstream answers the last request sent out (§12.1.1: its Record-Route
 * copied), on the connection it went on. */
static void reply(const char *args)
{
    int st = 0;
    char reason[64] = "";
    if (sscanf(args, "%d %63[^\n]", &st, reason) < 1)
        fail_at("reply: want STATUS");
    static sip_msg_t m;
    const sent_t *s = NULL;
    for (unsigned i = K.nsent; i-- > 0 && !s;)
        if (K.sent[i].kind != PROXY_TO_CONN &&
            sip_parse(K.sent[i].data, K.sent[i].len, NULL, &m) == 0 && m.is_request)
            s = &K.sent[i];
    if (!s)
        fail_at("reply: no request went out");
    char rr[2048] = "", b[8192];
    size_t rl = 0, len;
    for (unsigned h = 0; h < m.nhdrs; h++)
        if (m.hdrs[h].id == SIP_HDR_RECORD_ROUTE && rl + m.hdrs[h].raw.len < sizeof(rr)) {
            memcpy(rr + rl, m.hdrs[h].raw.s, m.hdrs[h].raw.len);
            rl += m.hdrs[h].raw.len;
            rr[rl] = 0;
        }
    assert_int_equal(
        sip_build_response(&m, st, reason[0] ? reason : NULL, "t1", rr, b, sizeof(b), &len), 0);
    proxy_peer_t peer = {s->side, s->host, NULL};
    proxy_on_message(K.px, s->conn, &peer, b, len);
}

static void resume(const char *args)
{
    char what[16];
    int st = 0;
    char text[160] = "";
    if (sscanf(args, "%15s %d %159[^\n]", what, &st, text) < 1)
        fail_at("resume: want allow|deny STATUS TEXT");
    bool deny = !strcmp(what, "deny");
    if (deny) {
        K.verdict.status = st;
        snprintf(K.verdict.warning, sizeof(K.verdict.warning), "%s", text);
    }
    if (proxy_policy_resume(K.px, K.ticket, deny, &K.verdict) < 0)
        fail_at("resume: no request waits");
}

static void stats(const char *args)
{
    proxy_stats_t st;
    proxy_stats(K.px, &st);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", args);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            fail_at("stats: want NAME=VALUE");
        *eq = 0;
        unsigned long long want = strtoull(eq + 1, NULL, 10), got = 0;
        if (!strcmp(tok, "parses"))
            got = st.parses;
        else if (!strcmp(tok, "prints"))
            got = st.prints;
        else if (!strcmp(tok, "forwarded_requests"))
            got = st.forwarded_requests;
        else if (!strcmp(tok, "forwarded_responses"))
            got = st.forwarded_responses;
        else if (!strcmp(tok, "rejected"))
            got = st.rejected;
        else if (!strcmp(tok, "failovers"))
            got = st.failovers;
        else if (!strcmp(tok, "transactions"))
            got = proxy_txn_count(K.px);
        else
            fail_at("stats: unknown counter %s", tok);
        if (got != want)
            fail_at("stats: %s is %llu, want %llu", tok, got, want);
    }
}

static void run_directive(const char *cmd, const char *args, const char *msg)
{
    if (!strcmp(cmd, "config"))
        config(args);
    else if (!strcmp(cmd, "fail"))
        snprintf(K.fail[K.nfail < 8 ? K.nfail++ : 7], sizeof(K.fail[0]), "%s", args);
    else if (!strcmp(cmd, "udp"))
        conn_named(args)->udp = true;
    else if (!strcmp(cmd, "reuse"))
        K.reuse = !strcmp(args, "on");
    else if (!strcmp(cmd, "policy"))
        policy(args);
    else if (!strcmp(cmd, "strip") || !strcmp(cmd, "add"))
        verdict_edit(cmd, args);
    else if (!strcmp(cmd, "srv"))
        srv(args);
    else if (!strcmp(cmd, "body"))
        K.body = (size_t)atol(args);
    else if (!strcmp(cmd, "in"))
        in(args, msg);
    else if (!strcmp(cmd, "out"))
        expect_out(args, msg);
    else if (!strcmp(cmd, "reply"))
        reply(args);
    else if (!strcmp(cmd, "resume"))
        resume(args);
    else if (!strcmp(cmd, "close"))
        proxy_on_conn_closed(K.px, conn_named(args), FEDGE_ECLOSED);
    else if (!strcmp(cmd, "tick")) {
        K.clock += (uint64_t)atoll(args);
        proxy_tick(K.px);
    } else if (!strcmp(cmd, "stats"))
        stats(args);
    else if (!strcmp(cmd, "end")) {
        if (K.matched != K.nsent)
            fail_at("%u message(s) sent and not expected; the next:\n%s", K.nsent - K.matched,
                    K.sent[K.matched].data);
    } else
        fail_at("unknown directive %%%s", cmd);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

static void run_case(void **state)
{
    const char *path = *state;
    memset(&K, 0, sizeof(K));
    K.file = path;
    K.clock = 1000000;
    K.verdict.status = 403;
    setup_cfg();
    char *text = slurp(path);
    /* directives start with "% "; lines up to the next one are its message
     * ("#" lines are comments) */
    char *p = text;
    unsigned lineno = 1;
    while (*p) {
        char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n < 2 || p[0] != '%' || p[1] != ' ') {
            if (n && p[0] != '#')
                fail_msg("%s:%u: text outside a directive", path, lineno);
            p += n + (eol ? 1 : 0);
            lineno++;
            continue;
        }
        char cmd[32], args[1024] = "";
        sscanf(p + 2, "%31s %1023[^\n]", cmd, args);
        K.line = lineno;
        p += n + (eol ? 1 : 0);
        lineno++;
        /* the message: until the next directive, trailing empty lines cut */
        char *m = p;
        while (*p && !(p[0] == '%' && p[1] == ' ')) {
            char *e = strchr(p, '\n');
            p = e ? e + 1 : p + strlen(p);
            lineno++;
        }
        size_t ml = (size_t)(p - m);
        while (ml && m[ml - 1] == '\n' && (ml < 2 || m[ml - 2] == '\n'))
            ml--;
        char *msg = malloc(ml + 2);
        memcpy(msg, m, ml);
        if (ml && m[ml - 1] != '\n')
            msg[ml++] = '\n';
        msg[ml] = 0;
        run_directive(cmd, args, msg);
        free(msg);
    }
    run_directive("end", "", "");
    free(text);
    proxy_free(K.px);
    for (unsigned i = 0; i < K.nsent; i++)
        free(K.sent[i].data);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct CMUnitTest *)a)->name, ((const struct CMUnitTest *)b)->name);
}

int main(void)
{
    obs_log_init(OBS_LOG_ERROR, OBS_LOG_TEXT, NULL);
    const char *root = getenv("FEDGE_ROOT");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/data/proxy", root ? root : ".");
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    struct CMUnitTest tests[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < FEDGE_ARRAY_LEN(tests)) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".case"))
            continue;
        char *path = malloc(strlen(dir) + l + 2);
        sprintf(path, "%s/%s", dir, e->d_name);
        tests[n++] = (struct CMUnitTest){strdup(e->d_name), run_case, NULL, NULL, path};
    }
    closedir(d);
    if (!n) {
        fprintf(stderr, "no case in %s\n", dir);
        return 1;
    }
    qsort(tests, n, sizeof(tests[0]), by_name);
    int rc = _cmocka_run_group_tests("proxy cases", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        free((char *)tests[i].name);
        free(tests[i].initial_state);
    }
    return rc;
}
