/* proxy.c — the transaction-stateful proxy: server/client transaction pairs
 * for reliable transports, forwarding with Via/Record-Route/Max-Forwards
 * edits, CANCEL and ACK handling, timers, failover and response routing. */
#include "proxy/proxy_int.h"

#include "obs/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ------------------------------------------------------------------ */
/* Transactions                                                        */
/* ------------------------------------------------------------------ */

typedef enum {
    T_PROCEEDING = 0, /* waiting for a final response from downstream */
    T_COMPLETED,      /* INVITE: non-2xx final sent upstream, awaiting ACK */
    T_ACCEPTED,       /* INVITE: 2xx sent upstream (RFC 6026), more 2xx pass */
} tstate_t;

typedef enum {
    TM_NONE = 0,
    TM_NO_FINAL,      /* Timer B (INVITE, nothing yet) / Timer F (non-INVITE) */
    TM_C,             /* INVITE after a provisional: cancel */
    TM_CANCEL_GUARD,  /* after our CANCEL: give up waiting for the final */
    TM_WAIT_ACK,      /* Timer H */
    TM_LINGER,        /* Timer L (accepted) */
    TM_POLICY,        /* parked for the policy hook's verdict */
    TM_ATTEMPT,       /* a DNS target with others left: no response yet */
} tmkind_t;

typedef struct proxy_txn {
    struct proxy_txn *next[2]; /* hash chains: [0] server key, [1] branch */
    uint64_t hash[2];
    bool linked[2];
    char *skey;
    size_t skey_len;
    char branch[PROXY_BRANCH_LEN + 1];

    bool invite;
    tstate_t state;
    proxy_side_t in_side, out_side;
    proxy_conn_t *in_conn, *out_conn;
    char *req;   /* the request as received (owned copy) */
    size_t req_len;
    char *fwd;   /* INVITE: the request as forwarded (for CANCEL/ACK) */
    size_t fwd_len;
    char *resp;  /* last response sent upstream */
    size_t resp_len;
    int resp_status;
    char up_host[PROXY_HOST_MAX]; /* where responses go when in_conn is gone */
    uint16_t up_port;
    char remote[64];              /* the upstream peer, for logs */

    proxy_target_t target;
    unsigned hop;
    /* targets found by DNS (dns-srv federation, next hop by name):
     * outbound.c's state for the current route, or NULL */
    struct proxy__out *ob;
    unsigned ob_attempts;
    struct proxy *owner;
    /* in-dialog towards the inside: an existing connection to this
     * host:port (the remote target or the next Route) is tried first */
    char pref_host[PROXY_HOST_MAX];
    uint16_t pref_port;
    bool pref_tried, on_pref;
    bool got_response, got_provisional;
    bool cancel_pending, cancel_sent, cancelled_upstream;
    char to_tag[20];

    tmkind_t timer;
    uint64_t deadline;
    size_t heap_idx; /* SIZE_MAX when not in the heap */

    bool dead;
    struct proxy_txn *dead_next;

    /* policy: parked until proxy_policy_resume (list of parked ones) */
    bool parked, result_told;
    uint64_t ticket, result_cookie;
    struct proxy_txn *pnext, *pprev;
    proxy_hostport_t route; /* PROXY_TARGET_HOST */
    bool policy_srv;        /* the policy routes it by SRV (dns-srv) */
} proxy_txn_t;

typedef struct {
    proxy_txn_t **b;
    size_t nb;
    size_t count;
} table_t;

struct proxy {
    proxy_cfg_t cfg;
    proxy_io_t io;
    dns_t *dns;         /* for outbound.c (not owned) */
    proxy__skip_t skip; /* outbound targets that failed recently */
    proxy__rcache_t rcache; /* resolved outbound routes, by TTL */
    proxy_policy_fn policy;
    void *policy_user;
    proxy_result_fn result;
    void *result_user;
    proxy_txn_t *parked; /* waiting for a policy verdict */
    uint64_t tickets;
    sip_limits_t limits;
    uint64_t secret;
    uint64_t tag_counter;

    table_t tab[2];
    proxy_txn_t **heap;
    size_t heap_len, heap_cap;
    proxy_txn_t *dead;
    unsigned depth;

    sip_msg_t *msg;  /* the message being handled */
    sip_msg_t *tmsg; /* a stored request re-parsed */
    proxy__routes_t *rp, *rp_retry; /* Route sets of p->msg and p->tmsg */
    size_t pending;  /* transactions still waiting for a final response */
    char *out;       /* output scratch */
    size_t out_cap;
    char *text;      /* edit texts scratch */
    size_t text_cap;
    proxy_stats_t st;
    const char *cur_remote; /* the peer of the message being handled, for logs */
    proxy_side_t cur_side;
};

static const char C[] = "proxy";

/* Metrics: mirrors of the proxy's counters, refreshed on every tick (one
 * proxy per process; with several, the last one ticked wins). */
static obs_counter_t m_req = OBS_COUNTER_INIT("fedge_sip_requests_total", "SIP requests received");
static obs_counter_t m_resp =
    OBS_COUNTER_INIT("fedge_sip_responses_total", "SIP responses received");
static obs_counter_t m_fwd_req =
    OBS_COUNTER_INIT("fedge_sip_requests_forwarded_total", "SIP requests forwarded");
static obs_counter_t m_fwd_resp =
    OBS_COUNTER_INIT("fedge_sip_responses_forwarded_total", "SIP responses forwarded");
static obs_counter_t m_rej = OBS_COUNTER_INIT(
    "fedge_sip_requests_refused_total", "SIP requests answered by the edge with a status >= 300");
static obs_counter_t m_parse =
    OBS_COUNTER_INIT("fedge_sip_malformed_total", "SIP messages refused or dropped as malformed");
static obs_counter_t m_timeouts =
    OBS_COUNTER_INIT("fedge_sip_timeouts_total", "transactions answered 408/487 for lack of a final");
static obs_counter_t m_failovers =
    OBS_COUNTER_INIT("fedge_sip_failovers_total", "internal next-hop failovers");

static void metrics_sync(const proxy_stats_t *st)
{
    m_req.value = st->requests_in;
    m_resp.value = st->responses_in;
    m_fwd_req.value = st->forwarded_requests;
    m_fwd_resp.value = st->forwarded_responses;
    m_rej.value = st->rejected;
    m_parse.value = st->parse_errors;
    m_timeouts.value = st->timeouts;
    m_failovers.value = st->failovers;
}

/* ---- hash tables ---- */

static void tab_grow(table_t *t, int w)
{
    size_t nb = t->nb ? t->nb * 2 : 256;
    proxy_txn_t **b = fedge_calloc(nb, sizeof(*b));
    for (size_t i = 0; i < t->nb; i++) {
        proxy_txn_t *x = t->b[i];
        while (x) {
            proxy_txn_t *n = x->next[w];
            size_t j = x->hash[w] & (nb - 1);
            x->next[w] = b[j];
            b[j] = x;
            x = n;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static void tab_add(proxy_t *p, int w, proxy_txn_t *x, uint64_t h)
{
    table_t *t = &p->tab[w];
    if (t->count + 1 > t->nb * 2 || !t->nb)
        tab_grow(t, w);
    x->hash[w] = h;
    size_t j = h & (t->nb - 1);
    x->next[w] = t->b[j];
    t->b[j] = x;
    x->linked[w] = true;
    t->count++;
}

static void tab_del(proxy_t *p, int w, proxy_txn_t *x)
{
    table_t *t = &p->tab[w];
    if (!x->linked[w])
        return;
    proxy_txn_t **pp = &t->b[x->hash[w] & (t->nb - 1)];
    while (*pp && *pp != x)
        pp = &(*pp)->next[w];
    if (*pp)
        *pp = x->next[w];
    x->linked[w] = false;
    t->count--;
}

static proxy_txn_t *find_server(proxy_t *p, const char *key, size_t len)
{
    table_t *t = &p->tab[0];
    if (!t->nb)
        return NULL;
    uint64_t h = proxy__hash(PROXY__HASH_INIT, key, len);
    for (proxy_txn_t *x = t->b[h & (t->nb - 1)]; x; x = x->next[0])
        if (x->hash[0] == h && x->skey_len == len && !memcmp(x->skey, key, len) && !x->dead)
            return x;
    return NULL;
}

static proxy_txn_t *find_client(proxy_t *p, fedge_str_t branch)
{
    table_t *t = &p->tab[1];
    if (!t->nb || branch.len != PROXY_BRANCH_LEN)
        return NULL;
    uint64_t h = proxy__hash(PROXY__HASH_INIT, branch.s, branch.len);
    for (proxy_txn_t *x = t->b[h & (t->nb - 1)]; x; x = x->next[1])
        if (x->hash[1] == h && !memcmp(x->branch, branch.s, branch.len) && !x->dead)
            return x;
    return NULL;
}

/* ---- timer heap (min-heap on deadline, intrusive index) ---- */

static void heap_swap(proxy_t *p, size_t a, size_t b)
{
    proxy_txn_t *t = p->heap[a];
    p->heap[a] = p->heap[b];
    p->heap[b] = t;
    p->heap[a]->heap_idx = a;
    p->heap[b]->heap_idx = b;
}

static void heap_up(proxy_t *p, size_t i)
{
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (p->heap[par]->deadline <= p->heap[i]->deadline)
            break;
        heap_swap(p, par, i);
        i = par;
    }
}

static void heap_down(proxy_t *p, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->heap_len && p->heap[l]->deadline < p->heap[m]->deadline)
            m = l;
        if (r < p->heap_len && p->heap[r]->deadline < p->heap[m]->deadline)
            m = r;
        if (m == i)
            break;
        heap_swap(p, i, m);
        i = m;
    }
}

static void timer_stop(proxy_t *p, proxy_txn_t *t)
{
    if (t->heap_idx == SIZE_MAX)
        return;
    size_t i = t->heap_idx;
    size_t last = --p->heap_len;
    if (i != last) {
        p->heap[i] = p->heap[last];
        p->heap[i]->heap_idx = i;
        heap_down(p, i);
        heap_up(p, i);
    }
    t->heap_idx = SIZE_MAX;
    t->timer = TM_NONE;
}

static uint64_t now(proxy_t *p)
{
    return p->io.now_ms ? p->io.now_ms(p->io.ctx) : 0;
}

static void timer_start(proxy_t *p, proxy_txn_t *t, tmkind_t kind, uint64_t ms)
{
    timer_stop(p, t);
    if (p->heap_len == p->heap_cap) {
        p->heap_cap = p->heap_cap ? p->heap_cap * 2 : 256;
        p->heap = fedge_realloc(p->heap, p->heap_cap * sizeof(*p->heap));
    }
    t->timer = kind;
    t->deadline = now(p) + ms;
    t->heap_idx = p->heap_len;
    p->heap[p->heap_len++] = t;
    heap_up(p, t->heap_idx);
}

/* ---- lifetime ---- */

static void txn_free(proxy_txn_t *t)
{
    proxy__out_free(t->ob);
    free(t->skey);
    free(t->req);
    free(t->fwd);
    free(t->resp);
    free(t);
}

static void unpark(proxy_t *p, proxy_txn_t *t)
{
    if (!t->parked)
        return;
    if (t->pprev)
        t->pprev->pnext = t->pnext;
    else
        p->parked = t->pnext;
    if (t->pnext)
        t->pnext->pprev = t->pprev;
    t->pnext = t->pprev = NULL;
    t->parked = false;
}

/* Tells the result hook the final status of a request whose verdict asked. */
static void report_result(proxy_t *p, proxy_txn_t *t, int status)
{
    if (status < 200 || !t->result_cookie || t->result_told || !p->result)
        return;
    t->result_told = true;
    p->result(p->result_user, t->result_cookie, status);
}

/* Unlinks t now; frees it when the outermost entry point returns. */
static void txn_kill(proxy_t *p, proxy_txn_t *t)
{
    if (t->dead)
        return;
    unpark(p, t);
    proxy__out_cancel(t->ob);
    timer_stop(p, t);
    tab_del(p, 0, t);
    tab_del(p, 1, t);
    if (t->state == T_PROCEEDING)
        p->pending--;
    t->dead = true;
    t->dead_next = p->dead;
    p->dead = t;
    p->st.transactions--;
}

static void reap(proxy_t *p)
{
    if (p->depth)
        return;
    while (p->dead) {
        proxy_txn_t *t = p->dead;
        p->dead = t->dead_next;
        txn_free(t);
    }
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */


#define PROXY_MAX_TXNS 65536 /* beyond this, new requests get 503 */

static void make_tag(proxy_t *p, char *out /* >= 17 */)
{
    static const char hx[] = "0123456789abcdef";
    uint64_t c = ++p->tag_counter;
    uint64_t v = proxy__hash(PROXY__HASH_INIT, &p->secret, sizeof(p->secret));
    v = proxy__hash(v, &c, sizeof(c));
    for (int i = 15; i >= 0; i--) {
        out[i] = hx[v & 15];
        v >>= 4;
    }
    out[16] = 0;
}

/* NUL-terminated copy of a slice for logs (truncating). */
static const char *cstr(fedge_str_t s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(buf, s.s, n);
    buf[n] = 0;
    return buf;
}

/* Appends "Warning: 399 <fqdn> \"<text>\"\r\n" to buf at *len, making the
 * text safe inside a quoted string (no quotes, backslashes or controls). */
static void add_warning(proxy_t *p, char *buf, size_t cap, size_t *len, const char *text)
{
    int n = snprintf(buf + *len, cap - *len, "Warning: 399 %s \"", p->cfg.fqdn);
    if (n < 0 || (size_t)n + 5 >= cap - *len) {
        buf[*len] = 0;
        return;
    }
    *len += (size_t)n;
    /* room stays for the closing quote, CRLF and NUL: a long text is cut,
     * never the line */
    for (const char *s = text; *s && *len + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        buf[(*len)++] = (ch == '"' || ch == '\\' || ch < 0x20 || ch == 0x7f) ? '\'' : (char)ch;
    }
    memcpy(buf + *len, "\"\r\n", 4);
    *len += 3;
}

static void txn_log(proxy_t *p, obs_level_t lvl, const char *what, sip_msg_t *m,
                    const char *remote, proxy_side_t side, int status, const char *reason)
{
    if (!obs_log_enabled(lvl))
        return;
    char meth[32], cid[128], st[8];
    fedge_str_t callid = {"", 0};
    if (m)
        sip_msg_call_id(m, &callid);
    snprintf(st, sizeof(st), "%d", status);
    obs_logkv(lvl, C, what, "peer", remote ? remote : "-", "side", proxy_side_name(side),
              "method", m && m->is_request ? cstr(m->method, meth, sizeof(meth)) : "-",
              "call_id", cstr(callid, cid, sizeof(cid)), "status", status ? st : "-", "reason",
              reason, NULL);
}

/* Sends a response to the upstream of t: on the connection the request came
 * in on, else on an existing connection to the Via's address. */
static int send_upstream(proxy_t *p, proxy_txn_t *t, const char *data, size_t len)
{
    if (t->in_conn) {
        if (p->io.send(p->io.ctx, t->in_conn, data, len) == 0)
            return 0;
        t->in_conn = NULL;
    }
    if (p->io.send_reuse && t->up_host[0] &&
        p->io.send_reuse(p->io.ctx, t->in_side, t->up_host, t->up_port, data, len, NULL) == 0)
        return 0;
    obs_logkv(OBS_LOG_WARNING, C, "response dropped: upstream connection gone", "peer", t->remote,
              "side", proxy_side_name(t->in_side), NULL);
    return FEDGE_ECLOSED;
}

static void store_resp(proxy_txn_t *t, const char *data, size_t len, int status)
{
    free(t->resp);
    t->resp = fedge_malloc(len ? len : 1);
    memcpy(t->resp, data, len);
    t->resp_len = len;
    t->resp_status = status;
}

/* Parses a stored copy (request or forwarded request) into p->tmsg. */
static sip_msg_t *reparse(proxy_t *p, const char *buf, size_t len)
{
    if (sip_parse(buf, len, &p->limits, p->tmsg) < 0 || sip_msg_check(p->tmsg) < 0)
        return NULL; /* cannot happen: it parsed when it arrived */
    return p->tmsg;
}

/* Builds "extra" header lines for a response the edge generates. */
static size_t gen_extra(proxy_t *p, int code, const char *reason, const char *more, char *buf,
                        size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    if (more) {
        int n = snprintf(buf, cap, "%s", more);
        len = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    }
    if (code >= 300 && reason)
        add_warning(p, buf, cap, &len, reason);
    buf[len < cap ? len : cap - 1] = 0;
    return len;
}

/* Answers request m on connection c without a transaction. */
static int reply_stateless(proxy_t *p, proxy_conn_t *c, sip_msg_t *m, int code,
                           const char *phrase, const char *reason, const char *more,
                           const char *to_tag)
{
    char extra[1024];
    gen_extra(p, code, reason, more, extra, sizeof(extra));
    char tag[20];
    if (!to_tag) {
        make_tag(p, tag);
        to_tag = tag;
    }
    size_t len;
    int rc = sip_build_response(m, code, phrase, to_tag, extra, p->out, p->out_cap, &len);
    if (rc < 0)
        return rc;
    return p->io.send(p->io.ctx, c, p->out, len);
}

/* The edge answers the request of t itself (a refusal, a timeout, the
 * OPTIONS 200): sends upstream and moves t on (INVITE non-2xx: wait for
 * the ACK; anything else: done). req is t's request parsed, or NULL. */
static void txn_reply(proxy_t *p, proxy_txn_t *t, sip_msg_t *req, int code, const char *reason,
                      const char *more)
{
    if (!req)
        req = reparse(p, t->req, t->req_len);
    unpark(p, t);
    report_result(p, t, code);
    char extra[1024];
    gen_extra(p, code, reason, more, extra, sizeof(extra));
    size_t len;
    if (req && sip_build_response(req, code, NULL, t->to_tag, extra, p->out, p->out_cap, &len) == 0) {
        store_resp(t, p->out, len, code);
        send_upstream(p, t, p->out, len);
    }
    if (code >= 300)
        txn_log(p, OBS_LOG_INFO, "request refused", req, t->remote, t->in_side, code,
                reason ? reason : "");
    if (t->invite && code >= 300) {
        if (t->state == T_PROCEEDING)
            p->pending--;
        t->state = T_COMPLETED;
        timer_start(p, t, TM_WAIT_ACK, 64ull * p->cfg.t1_ms);
    } else if (code >= 200) {
        txn_kill(p, t);
    }
}

static int gave_up_status(const proxy_txn_t *t, int dflt)
{
    return t->cancelled_upstream ? 487 : dflt;
}

/* ------------------------------------------------------------------ */
/* Building forwarded requests, CANCEL and ACK                         */
/* ------------------------------------------------------------------ */

static const proxy_iface_t *iface(const proxy_t *p, proxy_side_t s)
{
    return s == PROXY_SIDE_INTERNAL ? &p->cfg.in : &p->cfg.ext;
}

static const char *tp_name(proxy_transport_t t, bool upper)
{
    if (t == PROXY_TP_TCP)
        return upper ? "TCP" : "tcp";
    return upper ? "TLS" : "tls";
}

typedef struct {
    char *p;
    size_t len, cap;
    bool full;
} tbuf_t;

/* Appends a formatted string to b and returns its slice. */
static fedge_str_t tput(tbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static fedge_str_t tput(tbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = b->full ? -1 : vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->full = true;
        return (fedge_str_t){"", 0};
    }
    fedge_str_t s = {b->p + b->len, (size_t)n};
    b->len += (size_t)n + 1;
    return s;
}

static bool wants_record_route(sip_msg_t *m)
{
    const sip_nameaddr_t *to;
    if (sip_msg_to(m, &to) == 0 && to->has_tag)
        return false; /* mid-dialog: the route set is fixed (§12.2) */
    switch (m->method_id) {
    case SIP_METHOD_REGISTER:
    case SIP_METHOD_ACK:
    case SIP_METHOD_CANCEL: return false;
    default: return true;
    }
}

/* Prints the forwarded copy of m (§16.6) into p->out: Route entries of the
 * edge popped (and the strict-router fix-up), Max-Forwards decremented, a
 * Via of out_side with branch on top, and — when crossing with rr — two
 * Record-Route entries: the interface it leaves by, then the one it came
 * in on. */
static int build_forward(proxy_t *p, sip_msg_t *m, const proxy__routes_t *r, proxy_side_t in_side,
                         proxy_side_t out_side, const char *branch, bool rr, size_t *out_len)
{
    sip_edit_t ed[PROXY__MAX_ROUTES + 8];
    unsigned ne = 0;
    tbuf_t tb = {p->text, 0, p->text_cap, false};
    fedge_str_t start, *startp = NULL;
    if (r->strict) {
        start = tput(&tb, "%.*s %.*s SIP/2.0", (int)m->method.len, m->method.s,
                     (int)r->ruri_str.len, r->ruri_str.s);
        startp = &start;
        unsigned L = r->end_kept, H = r->hdr_of[L];
        if (L == 0 || r->hdr_of[L - 1] != H) {
            ed[ne++] = (sip_edit_t){SIP_EDIT_DELETE, H, {NULL, 0}};
        } else {
            const sip_hdr_t *hd = &m->hdrs[H];
            fedge_str_t prev = r->values[L - 1];
            ed[ne++] = (sip_edit_t){SIP_EDIT_REPLACE_VALUE, H,
                                    {hd->value.s, (size_t)(prev.s + prev.len - hd->value.s)}};
        }
    }
    for (unsigned i = 0; i < r->first_kept; i++)
        ed[ne++] = (sip_edit_t){SIP_EDIT_DELETE_FIRST_VALUE, r->hdr_of[i], {NULL, 0}};
    if (r->next_route && !r->next_route->lr) {
        /* §16.6 item 6: the next hop is a strict router: it gets its own
         * URI as Request-URI, and ours goes to the end of the Route set */
        fedge_str_t nu = r->na[r->first_kept].uri_str;
        start = tput(&tb, "%.*s %.*s SIP/2.0", (int)m->method.len, m->method.s, (int)nu.len, nu.s);
        startp = &start;
        ed[ne++] = (sip_edit_t){SIP_EDIT_DELETE_FIRST_VALUE, r->hdr_of[r->first_kept], {NULL, 0}};
        ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, r->hdr_of[r->nroutes - 1] + 1,
                                tput(&tb, "Route: <%.*s>", (int)r->ruri_str.len, r->ruri_str.s)};
    }

    const proxy_iface_t *of = iface(p, out_side), *inf = iface(p, in_side);
    char host[PROXY_HOST_MAX + 2];
    proxy__host_fmt(of->host, host, sizeof(host));
    unsigned first_via = (unsigned)m->first[SIP_HDR_VIA];
    ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, first_via,
                            tput(&tb, "Via: SIP/2.0/%s %s:%u;branch=%s;alias",
                                 tp_name(of->transport, true), host, of->port, branch)};
    int mf = -1;
    sip_msg_max_forwards(m, &mf);
    if (m->first[SIP_HDR_MAX_FORWARDS] >= 0)
        ed[ne++] = (sip_edit_t){SIP_EDIT_REPLACE_VALUE, (unsigned)m->first[SIP_HDR_MAX_FORWARDS],
                                tput(&tb, "%d", mf > 0 ? mf - 1 : 0)};
    else
        ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, first_via, FEDGE_STR_LIT("Max-Forwards: 70")};
    if (rr) {
        unsigned at = m->first[SIP_HDR_RECORD_ROUTE] >= 0 ? (unsigned)m->first[SIP_HDR_RECORD_ROUTE]
                                                          : m->nhdrs;
        ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, at,
                                tput(&tb, "Record-Route: <sip:%s:%u;transport=%s;lr>", host,
                                     of->port, tp_name(of->transport, false))};
        if (inf != of) {
            char ih[PROXY_HOST_MAX + 2];
            proxy__host_fmt(inf->host, ih, sizeof(ih));
            ed[ne++] = (sip_edit_t){SIP_EDIT_INSERT_BEFORE, at,
                                    tput(&tb, "Record-Route: <sip:%s:%u;transport=%s;lr>", ih,
                                         inf->port, tp_name(inf->transport, false))};
        }
    }
    if (tb.full)
        return FEDGE_ENOSPC;
    return sip_print(m, startp, ed, ne, p->out, p->out_cap, out_len);
}

/* Builds a CANCEL (resp NULL) or the ACK for non-2xx response resp from the
 * forwarded INVITE of t (§9.1, §17.1.1.3) into p->out. */
static int build_cancel_ack(proxy_t *p, proxy_txn_t *t, sip_msg_t *resp, size_t *out_len)
{
    const char *method = resp ? "ACK" : "CANCEL";
    const sip_hdr_t *to_resp = resp ? sip_msg_find(resp, SIP_HDR_TO) : NULL;
    fedge_str_t to_raw = to_resp ? to_resp->raw : (fedge_str_t){NULL, 0};
    /* resp lives in p->msg; the forwarded INVITE goes into p->tmsg */
    sip_msg_t *f = reparse(p, t->fwd, t->fwd_len);
    if (!f)
        return FEDGE_EINVAL;
    const sip_cseq_t *cs;
    sip_msg_cseq(f, &cs);
    sip_iter_t it;
    sip_iter_init(&it, f, SIP_HDR_VIA);
    fedge_str_t via;
    if (sip_iter_next(&it, &via, NULL) != 1)
        return FEDGE_EINVAL;
    tbuf_t b = {p->out, 0, p->out_cap, false};
    tput(&b, "%s %.*s SIP/2.0\r\nVia: %.*s\r\n", method, (int)f->ruri_str.len, f->ruri_str.s,
         (int)via.len, via.s);
    b.len--; /* tput keeps a NUL after each piece: write over it */
    for (unsigned i = 0; i < f->nhdrs; i++) {
        const sip_hdr_t *h = &f->hdrs[i];
        if (h->id == SIP_HDR_ROUTE || h->id == SIP_HDR_FROM || h->id == SIP_HDR_CALL_ID ||
            (h->id == SIP_HDR_TO && !to_raw.s)) {
            tput(&b, "%.*s", (int)h->raw.len, h->raw.s);
            b.len--;
        }
    }
    if (to_raw.s) {
        tput(&b, "%.*s", (int)to_raw.len, to_raw.s);
        b.len--;
    }
    tput(&b, "Max-Forwards: 70\r\nCSeq: %u %s\r\nContent-Length: 0\r\n\r\n", (unsigned)cs->seq,
         method);
    if (b.full)
        return FEDGE_ENOSPC;
    *out_len = b.len - 1;
    return 0;
}

static void send_cancel(proxy_t *p, proxy_txn_t *t)
{
    size_t len;
    t->cancel_pending = false;
    t->cancel_sent = true;
    timer_start(p, t, TM_CANCEL_GUARD, 64ull * p->cfg.t1_ms);
    if (!t->out_conn || build_cancel_ack(p, t, NULL, &len) < 0)
        return;
    p->io.send(p->io.ctx, t->out_conn, p->out, len);
}

static void send_ack(proxy_t *p, proxy_txn_t *t, sip_msg_t *resp)
{
    size_t len;
    if (!t->out_conn || build_cancel_ack(p, t, resp, &len) < 0)
        return;
    p->io.send(p->io.ctx, t->out_conn, p->out, len);
}

/* ------------------------------------------------------------------ */
/* Forwarding requests                                                 */
/* ------------------------------------------------------------------ */

static const proxy_hostport_t *dest_of(proxy_t *p, proxy_target_t target, unsigned hop)
{
    if (target == PROXY_TARGET_NEXT_HOPS)
        return &p->cfg.next_hops[hop];
    return &p->cfg.default_route;
}

/* Where t's request goes now: the policy's target, or dest_of. */
static const proxy_hostport_t *txn_dest(proxy_t *p, const proxy_txn_t *t)
{
    return t->target == PROXY_TARGET_HOST ? &t->route : dest_of(p, t->target, t->hop);
}

static bool is_ip_literal(const char *h)
{
    return strchr(h, ':') || (h[0] && strspn(h, "0123456789.") == strlen(h));
}

static void forward_attempt(proxy_t *p, proxy_txn_t *t, sip_msg_t *m, proxy__routes_t *r);

/* Resolution of t's targets (outbound.c) ended: go on with them. */
static void out_resolved(void *arg)
{
    proxy_txn_t *t = arg;
    proxy_t *p = t->owner;
    p->depth++;
    proxy__rcache_put(&p->rcache, t->ob, now(p));
    if (!t->dead && t->state == T_PROCEEDING) {
        if (t->cancelled_upstream && !t->out_conn) /* CANCEL came first */
            txn_reply(p, t, NULL, 487, "request cancelled", NULL);
        else
            forward_attempt(p, t, NULL, NULL);
    }
    p->depth--;
    reap(p);
}

/* Whether DNS finds t's targets (outbound.c): a next hop named without a
 * port, or with dns-srv routing a request that would take the default
 * route — then to the SRV targets of the Request-URI's domain, or to the
 * host of the next Route (RFC 3263: a port or a Route names one server).
 * Sets t->ob and returns 1; 0: send to d as it is; -1: t was answered. */
static int out_setup(proxy_t *p, proxy_txn_t *t, sip_msg_t *m, const proxy__routes_t *r,
                     const proxy_hostport_t *d)
{
    if (t->ob)
        return 1;
    bool tls = iface(p, t->out_side)->transport == PROXY_TP_TLS;
    if (t->target == PROXY_TARGET_NEXT_HOPS) {
        if (d->port || is_ip_literal(d->host))
            return 0;
        t->ob = proxy__out_new(PROXY__OUT_HOP, tls, d->host, NULL, 0, NULL);
    } else if (t->target == PROXY_TARGET_HOST && t->out_side == PROXY_SIDE_EXTERNAL &&
               !is_ip_literal(d->host)) {
        /* the policy named the partner's server (allowed partner server,
         * provider, a default route by name): its addresses by A/AAAA, its
         * certificate must name it */
        t->ob = proxy__out_new(PROXY__OUT_FQDN, tls, d->host, d->host, d->port ? d->port : 5061,
                               NULL);
    } else if (t->target == PROXY_TARGET_DEFAULT_ROUTE && (p->cfg.dns_srv || t->policy_srv) &&
               t->out_side == PROXY_SIDE_EXTERNAL) {
        const sip_uri_t *u = r->next_route ? r->next_route : r->ruri;
        fedge_str_t h = u->host;
        if (h.len >= 2 && h.s[0] == '[') {
            h.s++;
            h.len -= 2;
        }
        char host[PROXY_HOST_MAX];
        cstr(h, host, sizeof(host));
        for (char *c = host; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        if (!host[0]) {
            p->st.rejected++;
            txn_reply(p, t, m, 504, "no usable edge: the target has no host", NULL);
            return -1;
        }
        /* an IP address (a partner's Contact or Route) names no domain:
         * only a connection that exists to it is used (EXPECT_EXISTING) */
        if (r->next_route || u->has_port || is_ip_literal(host))
            t->ob = proxy__out_new(PROXY__OUT_FQDN, tls, host, host,
                                   u->has_port ? u->port : 5061, NULL);
        else
            t->ob = proxy__out_new(PROXY__OUT_SRV, tls, host, NULL, 0, NULL);
    } else {
        return 0;
    }
    t->owner = p;
    return 1;
}

/* Sends t's request to its current hop; on failure to start, fails over
 * to the next hop, and answers 503 when none is left. m/r are t's request
 * parsed and route-processed, or NULL to do it here. With targets from DNS
 * (t->ob) it waits for their resolution, tries them in order skipping
 * those that failed recently, and answers 504 with a Warning naming what
 * was tried and why when none is left. */
static void forward_attempt(proxy_t *p, proxy_txn_t *t, sip_msg_t *m, proxy__routes_t *r)
{
    for (;;) {
        if (!m) {
            m = reparse(p, t->req, t->req_len);
            r = p->rp_retry;
            if (!m || proxy__routes_prep(&p->cfg, m, r) < 0) {
                txn_reply(p, t, m, 500, "cannot re-read the request", NULL);
                return;
            }
        }
        proxy_dest_t od = {0};
        const proxy__cand_t *cand = NULL;
        int use_ob = out_setup(p, t, m, r, txn_dest(p, t));
        if (use_ob < 0)
            return;
        if (use_ob) {
            if (t->ob->state == 0)
                proxy__rcache_get(&p->rcache, t->ob, now(p));
            if (t->ob->state == 0 &&
                proxy__out_resolve(t->ob, p->dns, out_resolved, t) == 0) {
                if (t->timer != TM_NO_FINAL)
                    timer_start(p, t, TM_NO_FINAL, 64ull * p->cfg.t1_ms);
                return; /* out_resolved goes on */
            }
            if (t->ob->state == 1)
                return;
            cand = proxy__out_next(t->ob, &p->skip, now(p));
            if (!cand) {
                if (t->target == PROXY_TARGET_NEXT_HOPS && t->hop + 1 < p->cfg.nnext_hops) {
                    proxy__out_free(t->ob);
                    t->ob = NULL;
                    t->hop++;
                    p->st.failovers++;
                    continue;
                }
                char w[1024];
                proxy__out_warning(t->ob, w, sizeof(w));
                obs_logkv(OBS_LOG_WARNING, C, "no usable target", "peer", t->remote, "reason", w,
                          NULL);
                /* a partner learns nothing of the inside (names, addresses) */
                bool inside = t->in_side == PROXY_SIDE_EXTERNAL && t->out_side == PROXY_SIDE_INTERNAL;
                txn_reply(p, t, m, gave_up_status(t, 504), inside ? "no internal server available" : w,
                          NULL);
                return;
            }
            od = (proxy_dest_t){t->out_side, cand->host, cand->addr, cand->port, &t->ob->expect};
        }
        tab_del(p, 1, t);
        /* a new branch for every attempt: each is its own client
         * transaction, so a late answer to an abandoned one matches nothing */
        unsigned attempt = t->hop * 2 + (t->pref_tried ? 1 : 0) + 1024u * t->ob_attempts;
        proxy_branch_make(m, p->secret, (fedge_str_t){t->skey, t->skey_len}, attempt, t->branch,
                          sizeof(t->branch));
        tab_add(p, 1, t, proxy__hash(PROXY__HASH_INIT, t->branch, PROXY_BRANCH_LEN));
        size_t len;
        int rc = build_forward(p, m, r, t->in_side, t->out_side, t->branch,
                               wants_record_route(m), &len);
        if (rc < 0) {
            txn_reply(p, t, m, 513, "forwarded message too large", NULL);
            return;
        }
        if (t->invite) {
            free(t->fwd);
            t->fwd = fedge_malloc(len);
            memcpy(t->fwd, p->out, len);
            t->fwd_len = len;
        }
        const proxy_hostport_t *d = txn_dest(p, t);
        t->out_conn = NULL;
        t->got_response = t->got_provisional = false;
        t->on_pref = false;
        if (t->pref_port && !t->pref_tried && p->io.send_reuse) {
            t->pref_tried = true;
            if (p->io.send_reuse(p->io.ctx, t->out_side, t->pref_host, t->pref_port, p->out, len,
                                 &t->out_conn) == 0) {
                t->on_pref = true;
                p->st.forwarded_requests++;
                timer_start(p, t, TM_NO_FINAL, 64ull * p->cfg.t1_ms);
                return;
            }
            t->out_conn = NULL;
        }
        fedge_err_t why = {0};
        if (cand) {
            rc = p->io.send_out ? p->io.send_out(p->io.ctx, &od, p->out, len, &t->out_conn, &why)
                                : fedge_err(&why, FEDGE_EINVAL, "no outbound transport");
            if (rc < 0) {
                t->out_conn = NULL;
                proxy__out_fail(t->ob, &p->skip, now(p), p->cfg.failed_target_skip_ms,
                                why.msg[0] ? why.msg : fedge_strerror(rc));
                t->ob_attempts++;
                p->st.failovers++;
                continue;
            }
            p->st.forwarded_requests++;
            /* a server that accepts but never answers must not eat the
             * whole transaction time while other targets are left */
            if (t->ob->next < t->ob->ncands)
                timer_start(p, t, TM_ATTEMPT, PROXY__ATTEMPT_T1 * p->cfg.t1_ms);
            else
                timer_start(p, t, TM_NO_FINAL, 64ull * p->cfg.t1_ms);
            if (obs_log_enabled(OBS_LOG_DEBUG)) {
                char port[8];
                snprintf(port, sizeof(port), "%u", cand->port);
                obs_logkv(OBS_LOG_DEBUG, C, "request forwarded", "peer", t->remote, "from",
                          proxy_side_name(t->in_side), "to", proxy_side_name(t->out_side),
                          "target", cand->host, "address", cand->addr, "port", port, "branch",
                          t->branch, NULL);
            }
            return;
        }
        rc = p->io.send_to(p->io.ctx, t->out_side, d, p->out, len, &t->out_conn);
        if (rc == 0) {
            p->st.forwarded_requests++;
            timer_start(p, t, TM_NO_FINAL, 64ull * p->cfg.t1_ms);
            if (obs_log_enabled(OBS_LOG_DEBUG)) {
                char port[8];
                snprintf(port, sizeof(port), "%u", d->port);
                obs_logkv(OBS_LOG_DEBUG, C, "request forwarded", "peer", t->remote, "from",
                          proxy_side_name(t->in_side), "to", proxy_side_name(t->out_side),
                          "next_hop", d->host, "port", port, "branch", t->branch, NULL);
            }
            return;
        }
        t->out_conn = NULL;
        obs_logkv(OBS_LOG_WARNING, C, "cannot send to next hop", "next_hop", d->host, "side",
                  proxy_side_name(t->out_side), "error", fedge_strerror(rc), NULL);
        if (t->target == PROXY_TARGET_NEXT_HOPS && t->hop + 1 < p->cfg.nnext_hops) {
            t->hop++;
            p->st.failovers++;
            continue;
        }
        txn_reply(p, t, m, 503, "next hop unreachable", NULL);
        return;
    }
}

/* The connection of t's client side failed before a final response. */
static void client_failed(proxy_t *p, proxy_txn_t *t, const char *why)
{
    if (t->dead || t->state != T_PROCEEDING)
        return;
    obs_logkv(OBS_LOG_WARNING, C, "next hop failed", "next_hop",
              t->on_pref                ? t->pref_host
              : t->ob && t->ob->cur     ? t->ob->cur->host
                                        : txn_dest(p, t)->host,
              "side", proxy_side_name(t->out_side), "reason", why, NULL);
    if (t->on_pref && !t->got_response && !t->cancelled_upstream) {
        forward_attempt(p, t, NULL, NULL); /* now the next hops, from the first */
        return;
    }
    if (t->ob && !t->got_response && !t->cancelled_upstream) {
        /* the next DNS target (outbound.c), with a fresh branch */
        proxy__out_fail(t->ob, &p->skip, now(p), p->cfg.failed_target_skip_ms, why);
        t->ob_attempts++;
        p->st.failovers++;
        forward_attempt(p, t, NULL, NULL);
        return;
    }
    if (!t->got_response && !t->cancelled_upstream && t->target == PROXY_TARGET_NEXT_HOPS &&
        t->hop + 1 < p->cfg.nnext_hops) {
        t->hop++;
        p->st.failovers++;
        forward_attempt(p, t, NULL, NULL);
        return;
    }
    txn_reply(p, t, NULL, gave_up_status(t, 503), "next hop unreachable", NULL);
}

/* Remembers uri's host:port as the preferred (existing-connection) target. */
static void set_pref(proxy_txn_t *t, const sip_uri_t *u)
{
    if (!u->host.len || (u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS))
        return;
    fedge_str_t h = u->host;
    if (h.len >= 2 && h.s[0] == '[') {
        h.s++;
        h.len -= 2;
    }
    cstr(h, t->pref_host, sizeof(t->pref_host));
    bool tls = u->scheme == SIP_URI_SIPS || fedge_str_ieq(u->transport, "tls");
    t->pref_port = u->has_port ? u->port : tls ? 5061 : 5060;
}

/* A 2xx ACK (or any ACK without transaction): forwarded statelessly by the
 * route set; nothing is ever answered to an ACK. */
static void forward_ack(proxy_t *p, const proxy_peer_t *peer, sip_msg_t *m, const char *key,
                        size_t key_len)
{
    int mf = -1;
    sip_msg_max_forwards(m, &mf);
    if (mf == 0 || proxy_loop_detected(&p->cfg, m))
        return;
    proxy__routes_t *r = p->rp;
    proxy_route_t d;
    if (proxy__routes_prep(&p->cfg, m, r) < 0)
        return;
    proxy_route_in_t in = {peer->side, r->popped_side, r->next_route, r->ruri};
    if (proxy_route_decide(&p->cfg, &in, &d) != PROXY_ROUTE_FORWARD)
        return;
    char branch[PROXY_BRANCH_LEN + 1];
    proxy_branch_make(m, p->secret, (fedge_str_t){key, key_len}, 0xacc, branch, sizeof(branch));
    size_t len;
    if (build_forward(p, m, r, peer->side, d.to_side, branch, false, &len) < 0)
        return;
    proxy_conn_t *used = NULL;
    if (d.to_side == PROXY_SIDE_INTERNAL && r->popped_side == PROXY_SIDE_INTERNAL &&
        p->io.send_reuse) {
        proxy_txn_t tmp;
        tmp.pref_port = 0;
        set_pref(&tmp, r->next_route ? r->next_route : r->ruri);
        if (tmp.pref_port && p->io.send_reuse(p->io.ctx, d.to_side, tmp.pref_host, tmp.pref_port,
                                              p->out, len, NULL) == 0)
            goto sent;
    }
    if (d.target == PROXY_TARGET_NEXT_HOPS && p->io.send_reuse) {
        /* the hop that took the INVITE is the one still connected */
        for (unsigned i = 0; i < p->cfg.nnext_hops; i++)
            if (p->io.send_reuse(p->io.ctx, d.to_side, p->cfg.next_hops[i].host,
                                 p->cfg.next_hops[i].port, p->out, len, NULL) == 0)
                goto sent;
    }
    if (d.target == PROXY_TARGET_DEFAULT_ROUTE && p->cfg.dns_srv &&
        d.to_side == PROXY_SIDE_EXTERNAL) {
        /* dns-srv: over the connection to the partner named by the next
         * Route or the Request-URI (the one that carried the INVITE) */
        proxy_txn_t tmp;
        tmp.pref_port = 0;
        set_pref(&tmp, r->next_route ? r->next_route : r->ruri);
        if (tmp.pref_port && p->io.send_reuse &&
            p->io.send_reuse(p->io.ctx, d.to_side, tmp.pref_host, tmp.pref_port, p->out, len,
                             NULL) == 0)
            goto sent;
        txn_log(p, OBS_LOG_DEBUG, "ACK dropped: no connection to the partner", m, peer->remote,
                peer->side, 0, tmp.pref_port ? tmp.pref_host : "-");
        return;
    }
    if (p->io.send_to(p->io.ctx, d.to_side, dest_of(p, d.target, 0), p->out, len, &used) < 0)
        return;
sent:
    p->st.forwarded_requests++;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

/* What the edge's own 200 to OPTIONS says (§11.2): the methods it relays,
 * the bodies its partners use, and no extension it needs. */
static const char OPTIONS_200[] =
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, "
    "PRACK, PUBLISH\r\n"
    "Accept: application/sdp, text/plain, message/cpim, application/pidf+xml\r\n"
    "Supported:\r\n";

static proxy_txn_t *txn_new(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m,
                            const char *key, size_t key_len)
{
    proxy_txn_t *t = fedge_calloc(1, sizeof(*t));
    t->heap_idx = SIZE_MAX;
    t->skey = fedge_malloc(key_len);
    memcpy(t->skey, key, key_len);
    t->skey_len = key_len;
    t->req = fedge_malloc(m->len);
    memcpy(t->req, m->buf, m->len);
    t->req_len = m->len;
    t->invite = m->method_id == SIP_METHOD_INVITE;
    t->in_side = peer->side;
    t->in_conn = c;
    snprintf(t->remote, sizeof(t->remote), "%s", peer->remote ? peer->remote : "-");
    make_tag(p, t->to_tag);
    const sip_via_t *via;
    if (sip_msg_via(m, &via) == 0) {
        fedge_str_t h = via->received.len ? via->received : via->host;
        if (h.len >= 2 && h.s[0] == '[') {
            h.s++;
            h.len -= 2;
        }
        cstr(h, t->up_host, sizeof(t->up_host));
        bool tls = fedge_str_ieq(via->transport, "TLS");
        t->up_port = via->has_rport && via->rport ? via->rport
                     : via->has_port              ? via->port
                     : tls                        ? 5061
                                                  : 5060;
    }
    tab_add(p, 0, t, proxy__hash(PROXY__HASH_INIT, key, key_len));
    p->st.transactions++;
    p->pending++;
    return t;
}

/* §16.2: 100 Trying at once to an INVITE, so that the upstream stops
 * worrying (once per transaction). */
static void send_trying(proxy_t *p, proxy_txn_t *t, sip_msg_t *m)
{
    size_t len;
    if (!t->invite || t->resp)
        return;
    if (sip_build_response(m, 100, NULL, NULL, NULL, p->out, p->out_cap, &len) == 0) {
        store_resp(t, p->out, len, 100);
        send_upstream(p, t, p->out, len);
    }
}

/* The request of t goes on to d (the route decision), with the policy's
 * verdict v (NULL: none): its rewritten copy, its target, its cookie. */
static void admit(proxy_t *p, proxy_txn_t *t, sip_msg_t *m, proxy__routes_t *r,
                  const proxy_route_t *d, const proxy_policy_verdict_t *v)
{
    t->out_side = d->to_side;
    t->target = d->target;
    if (d->to_side == PROXY_SIDE_INTERNAL && r->popped_side == PROXY_SIDE_INTERNAL)
        set_pref(t, r->next_route ? r->next_route : r->ruri);
    if (v && v->target.host[0]) {
        t->target = PROXY_TARGET_HOST;
        t->route = v->target;
        t->route.host[sizeof(t->route.host) - 1] = 0;
    }
    if (v) {
        t->result_cookie = v->result_cookie;
        t->policy_srv = v->srv && d->to_side == PROXY_SIDE_EXTERNAL;
    }
    send_trying(p, t, m);
    if (v && v->rewrite && v->rewrite_len) {
        /* forwarded from the hook's copy (re-parsed by forward_attempt) */
        free(t->req);
        t->req = fedge_malloc(v->rewrite_len);
        memcpy(t->req, v->rewrite, v->rewrite_len);
        t->req_len = v->rewrite_len;
        m = NULL;
        r = NULL;
    }
    forward_attempt(p, t, m, r);
}

/* Refuses t's request as the policy's verdict v says. */
static void deny(proxy_t *p, proxy_txn_t *t, sip_msg_t *m, const proxy_policy_verdict_t *v)
{
    int st = v ? v->status : 403;
    if (st < 300 || st > 699)
        st = 403;
    char w[sizeof(v->warning)], extra[sizeof(v->extra)];
    snprintf(w, sizeof(w), "%.*s", v ? (int)strnlen(v->warning, sizeof(w) - 1) : 0,
             v ? v->warning : "");
    snprintf(extra, sizeof(extra), "%.*s", v ? (int)strnlen(v->extra, sizeof(extra) - 1) : 0,
             v ? v->extra : "");
    p->st.rejected++;
    txn_reply(p, t, m, st, w[0] ? w : "denied by policy", extra[0] ? extra : NULL);
}

/* Parks t until the policy's verdict (proxy_policy_resume). */
static void park(proxy_t *p, proxy_txn_t *t, sip_msg_t *m, proxy_side_t to_side)
{
    t->out_side = to_side;
    t->parked = true;
    t->pprev = NULL;
    t->pnext = p->parked;
    if (p->parked)
        p->parked->pprev = t;
    p->parked = t;
    timer_start(p, t, TM_POLICY, PROXY_POLICY_WAIT_MS);
    send_trying(p, t, m);
}

static void new_request(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m,
                        const char *key, size_t key_len)
{
    if (p->st.transactions >= PROXY_MAX_TXNS) {
        p->st.rejected++;
        reply_stateless(p, c, m, 503, NULL, "edge overloaded: too many transactions",
                        "Retry-After: 5\r\n", NULL);
        return;
    }
    proxy_txn_t *t = txn_new(p, c, peer, m, key, key_len);
    const sip_uri_t *ruri;
    sip_msg_ruri(m, &ruri);
    int mf = -1;
    sip_msg_max_forwards(m, &mf);

    /* §16.3 item 2 */
    if (ruri->scheme != SIP_URI_SIP && ruri->scheme != SIP_URI_SIPS) {
        p->st.rejected++;
        txn_reply(p, t, m, 416, "only sip and sips URIs are routed", NULL);
        return;
    }
    /* §16.3 item 3: OPTIONS with Max-Forwards 0 is answered by the edge
     * as a UAS (§11), anything else is refused */
    if (mf == 0) {
        if (m->method_id == SIP_METHOD_OPTIONS) {
            p->st.local_answers++;
            txn_reply(p, t, m, 200, NULL, OPTIONS_200);
        } else {
            p->st.rejected++;
            txn_reply(p, t, m, 483, "Max-Forwards reached 0", NULL);
        }
        return;
    }
    /* §16.3 item 4 */
    if (proxy_loop_detected(&p->cfg, m)) {
        p->st.rejected++;
        txn_reply(p, t, m, 482, "loop: the request came back to this edge unchanged", NULL);
        return;
    }
    /* §16.3 item 5: the edge supports no proxy extension */
    const sip_hdr_t *pr = sip_msg_find(m, SIP_HDR_PROXY_REQUIRE);
    if (pr) {
        char more[600];
        snprintf(more, sizeof(more), "Unsupported: %.*s\r\n",
                 (int)(pr->value.len < 500 ? pr->value.len : 500), pr->value.s);
        p->st.rejected++;
        txn_reply(p, t, m, 420, "Proxy-Require names an extension this edge does not support",
                  more);
        return;
    }
    proxy__routes_t *r = p->rp;
    int rc = proxy__routes_prep(&p->cfg, m, r);
    if (rc < 0) {
        p->st.rejected++;
        txn_reply(p, t, m, 400, fedge_strerror(rc), NULL);
        return;
    }
    proxy_route_in_t in = {peer->side, r->popped_side, r->next_route, r->ruri};
    proxy_route_t d;
    switch (proxy_route_decide(&p->cfg, &in, &d)) {
    case PROXY_ROUTE_LOCAL:
        p->st.local_answers++;
        if (m->method_id == SIP_METHOD_OPTIONS)
            txn_reply(p, t, m, 200, NULL, OPTIONS_200);
        else
            txn_reply(p, t, m, 405, "the edge itself only answers OPTIONS", "Allow: OPTIONS\r\n");
        return;
    case PROXY_ROUTE_REJECT:
        p->st.rejected++;
        txn_reply(p, t, m, d.status, d.reason, NULL);
        return;
    case PROXY_ROUTE_FORWARD: break;
    }
    const sip_nameaddr_t *to, *from;
    sip_msg_to(m, &to);
    sip_msg_from(m, &from);
    if (p->policy && !to->has_tag) {
        t->ticket = ++p->tickets;
        proxy_policy_in_t pin = {peer->side, d.to_side, peer,      m, &from->uri,
                                 &to->uri,   r->ruri,   t->ticket, c};
        proxy_policy_verdict_t v;
        memset(&v, 0, sizeof(v));
        v.status = 403;
        snprintf(v.warning, sizeof(v.warning), "denied by policy");
        int verdict = p->policy(p->policy_user, &pin, &v);
        if (verdict == PROXY_POLICY_PENDING) {
            park(p, t, m, d.to_side);
            return;
        }
        if (verdict != 0) {
            deny(p, t, m, &v);
            return;
        }
        admit(p, t, m, r, &d, &v);
        return;
    }
    admit(p, t, m, r, &d, NULL);
}

/* Answers 400 to request m that could not be parsed or checked (err):
 * the proper response when its headers allow, else a best-effort one with
 * whatever Via/From/To/Call-ID/CSeq lines were readable. The framing is
 * intact, so the connection — which between edges carries many users'
 * transactions — stays open. Returns 0 or the error of the send. */
static int reply_400(proxy_t *p, proxy_conn_t *c, sip_msg_t *m, int err)
{
    const char *why = fedge_strerror(err);
    p->st.parse_errors++;
    txn_log(p, OBS_LOG_INFO, "request refused", NULL, p->cur_remote, p->cur_side, 400, why);
    if (reply_stateless(p, c, m, 400, why, why, NULL, NULL) == 0)
        return 0;
    tbuf_t b = {p->out, 0, p->out_cap, false};
    tput(&b, "SIP/2.0 400 %s\r\n", why);
    b.len--;
    for (unsigned i = 0; i < m->nhdrs; i++) {
        sip_hdr_id_t id = m->hdrs[i].id;
        if (id == SIP_HDR_VIA || id == SIP_HDR_FROM || id == SIP_HDR_TO || id == SIP_HDR_CALL_ID ||
            id == SIP_HDR_CSEQ) {
            tput(&b, "%.*s", (int)m->hdrs[i].raw.len, m->hdrs[i].raw.s);
            b.len--;
        }
    }
    char w[512];
    size_t wl = 0;
    add_warning(p, w, sizeof(w), &wl, why);
    w[wl] = 0;
    tput(&b, "%sContent-Length: 0\r\n\r\n", w);
    if (b.full)
        return FEDGE_ENOSPC;
    return p->io.send(p->io.ctx, c, p->out, b.len - 1);
}

/* Returns 0, or the parse error of a request too broken to answer. */
static int handle_request(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m)
{
    p->st.requests_in++;
    int rc = sip_msg_check(m);
    if (rc < 0) {
        int src = reply_400(p, c, m, rc);
        return src == 0 || src == FEDGE_ECLOSED ? 0 : rc;
    }
    char key[1024];
    int kl = proxy_txn_key(m, key, sizeof(key));
    if (kl < 0) {
        p->st.rejected++;
        reply_stateless(p, c, m, 400, NULL, "transaction key too long", NULL, NULL);
        return 0;
    }
    proxy_txn_t *t = find_server(p, key, (size_t)kl);
    if (m->method_id == SIP_METHOD_ACK) {
        if (t && t->invite && t->state != T_ACCEPTED) {
            /* ACK for a non-2xx final: hop by hop, it ends here (Timer I
             * is 0 on reliable transports) */
            if (t->state == T_COMPLETED)
                txn_kill(p, t);
            return 0;
        }
        forward_ack(p, peer, m, key, (size_t)kl);
        return 0;
    }
    if (m->method_id == SIP_METHOD_CANCEL) {
        if (!t || !t->invite) {
            p->st.rejected++;
            txn_log(p, OBS_LOG_INFO, "request refused", m, peer->remote, peer->side, 481,
                    "CANCEL matches no INVITE transaction");
            reply_stateless(p, c, m, 481, NULL, "CANCEL matches no INVITE transaction", NULL,
                            NULL);
            return 0;
        }
        /* §16.10: answer the CANCEL hop by hop, then cancel downstream */
        reply_stateless(p, c, m, 200, NULL, NULL, NULL, t->to_tag);
        if (t->parked) {
            /* nothing went downstream yet: the INVITE ends here */
            t->cancelled_upstream = true;
            txn_reply(p, t, NULL, 487, "request cancelled", NULL);
            return 0;
        }
        if (t->state == T_PROCEEDING && !t->cancel_sent) {
            t->cancelled_upstream = true;
            if (t->got_provisional)
                send_cancel(p, t);
            else
                t->cancel_pending = true; /* §9.1: not before a provisional */
        }
        return 0;
    }
    if (t) {
        /* a retransmission: repeat the last response, if any */
        if (t->resp)
            send_upstream(p, t, t->resp, t->resp_len);
        return 0;
    }
    new_request(p, c, peer, m, key, (size_t)kl);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

/* Forwards response m upstream for t (§16.7): our Via popped, 503 turned
 * into 500 (item 6: a 503 from downstream must not make the upstream think
 * the edge itself is unavailable). */
static void forward_response(proxy_t *p, proxy_txn_t *t, sip_msg_t *m)
{
    sip_edit_t e = {SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)m->first[SIP_HDR_VIA], {NULL, 0}};
    fedge_str_t sl = FEDGE_STR_LIT("SIP/2.0 500 Server Internal Error");
    size_t len;
    if (sip_print(m, m->status == 503 ? &sl : NULL, &e, 1, p->out, p->out_cap, &len) < 0)
        return;
    if (m->status > 100)
        store_resp(t, p->out, len, m->status == 503 ? 500 : m->status);
    report_result(p, t, m->status == 503 ? 500 : m->status);
    if (send_upstream(p, t, p->out, len) == 0)
        p->st.forwarded_responses++;
}

/* A 2xx to INVITE that matches no transaction (a retransmission after the
 * transaction ended, or a late fork): forwarded statelessly by the next
 * Via, over an existing connection only. Other orphans are dropped. */
static void forward_orphan(proxy_t *p, const proxy_peer_t *peer, sip_msg_t *m)
{
    const sip_via_t *top;
    if (sip_msg_via(m, &top) < 0 || !proxy__via_is_ours(&p->cfg, top) || !p->io.send_reuse)
        return;
    sip_iter_t it;
    sip_iter_init(&it, m, SIP_HDR_VIA);
    fedge_str_t v;
    sip_via_t up;
    if (sip_iter_next(&it, &v, NULL) != 1 || sip_iter_next(&it, &v, NULL) != 1 ||
        sip_via_parse(v.s, v.len, &up) < 0)
        return;
    char host[PROXY_HOST_MAX];
    fedge_str_t h = up.received.len ? up.received : up.host;
    if (h.len >= 2 && h.s[0] == '[') {
        h.s++;
        h.len -= 2;
    }
    cstr(h, host, sizeof(host));
    uint16_t port = up.has_rport && up.rport ? up.rport
                    : up.has_port            ? up.port
                    : fedge_str_ieq(up.transport, "TLS") ? 5061
                                                          : 5060;
    sip_edit_t e = {SIP_EDIT_DELETE_FIRST_VALUE, (unsigned)m->first[SIP_HDR_VIA], {NULL, 0}};
    size_t len;
    if (sip_print(m, NULL, &e, 1, p->out, p->out_cap, &len) < 0)
        return;
    proxy_side_t side =
        peer->side == PROXY_SIDE_EXTERNAL ? PROXY_SIDE_INTERNAL : PROXY_SIDE_EXTERNAL;
    if (p->io.send_reuse(p->io.ctx, side, host, port, p->out, len, NULL) == 0)
        p->st.forwarded_responses++;
}

static void handle_response(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m)
{
    p->st.responses_in++;
    if (sip_msg_check(m) < 0) {
        p->st.parse_errors++;
        return;
    }
    const sip_via_t *via;
    const sip_cseq_t *cs;
    sip_msg_via(m, &via);
    sip_msg_cseq(m, &cs);
    proxy_txn_t *t = find_client(p, via->branch);
    if (!t) {
        if (m->status >= 200 && m->status < 300 && cs->method_id == SIP_METHOD_INVITE)
            forward_orphan(p, peer, m);
        else
            txn_log(p, OBS_LOG_DEBUG, "response matches no transaction: dropped", m, peer->remote,
                    peer->side, m->status, "-");
        return;
    }
    if (peer->side != t->out_side)
        return; /* a response must come from the side its request went to */
    if (t->invite && cs->method_id == SIP_METHOD_CANCEL)
        return; /* the answer to our CANCEL: hop by hop, ends here */
    if (t->invite != (cs->method_id == SIP_METHOD_INVITE))
        return;
    int st = m->status;
    if (t->state != T_PROCEEDING) {
        if (t->invite && st >= 200 && st < 300)
            forward_response(p, t, m); /* further 2xx (RFC 6026) */
        else if (t->invite && st >= 300)
            send_ack(p, t, m); /* a late non-2xx still needs its ACK */
        return;
    }
    t->got_response = true;
    if (st < 200) {
        if (t->timer == TM_ATTEMPT) /* it answers: the full time is its own */
            timer_start(p, t, TM_NO_FINAL, 64ull * p->cfg.t1_ms);
        if (t->invite) {
            t->got_provisional = true;
            if (t->cancel_pending)
                send_cancel(p, t);
            else if (!t->cancel_sent)
                timer_start(p, t, TM_C, p->cfg.timer_c_ms);
        }
        if (st > 100)
            forward_response(p, t, m);
        return;
    }
    if (st == 503 && t->ob && !t->on_pref && !t->cancelled_upstream) {
        /* RFC 3263 §4.3: the next DNS target, with a fresh branch */
        if (t->invite)
            send_ack(p, t, m);
        proxy__out_fail(t->ob, &p->skip, now(p), p->cfg.failed_target_skip_ms, "answered 503");
        t->ob_attempts++;
        p->st.failovers++;
        forward_attempt(p, t, NULL, NULL);
        return;
    }
    if (st == 503 && t->target == PROXY_TARGET_NEXT_HOPS &&
        (t->on_pref || t->hop + 1 < p->cfg.nnext_hops) && !t->cancelled_upstream) {
        if (t->invite)
            send_ack(p, t, m);
        obs_logkv(OBS_LOG_WARNING, C, "next hop answered 503: failing over", "next_hop",
                  t->on_pref ? t->pref_host : p->cfg.next_hops[t->hop].host, NULL);
        if (!t->on_pref)
            t->hop++;
        p->st.failovers++;
        forward_attempt(p, t, NULL, NULL);
        return;
    }
    if (t->invite && st >= 300)
        send_ack(p, t, m); /* §17.1.1.3: the client transaction ACKs non-2xx */
    forward_response(p, t, m);
    if (!t->invite) {
        txn_kill(p, t);
    } else if (st < 300) {
        p->pending--;
        t->state = T_ACCEPTED;
        timer_start(p, t, TM_LINGER, 64ull * p->cfg.t1_ms);
    } else {
        p->pending--;
        t->state = T_COMPLETED;
        timer_start(p, t, TM_WAIT_ACK, 64ull * p->cfg.t1_ms);
    }
}

/* ------------------------------------------------------------------ */
/* Public entry points                                                 */
/* ------------------------------------------------------------------ */

int proxy_new(const proxy_cfg_t *cfg, const proxy_io_t *io, proxy_t **out, fedge_err_t *e)
{
    *out = NULL;
    if (!cfg->fqdn[0])
        return fedge_err(e, FEDGE_EINVAL, "the edge FQDN is not set");
    if (!cfg->ext.host[0] || !cfg->in.host[0])
        return fedge_err(e, FEDGE_EINVAL, "an interface has no host");
    if (cfg->ext.port == cfg->in.port && proxy__host_eq((fedge_str_t){cfg->ext.host,
                                                                      strlen(cfg->ext.host)},
                                                        cfg->in.host))
        return fedge_err(e, FEDGE_EINVAL,
                         "the external and internal interfaces are both %s:%u: Record-Route "
                         "could not tell them apart",
                         cfg->ext.host, cfg->ext.port);
    if (!io->send || !io->send_to)
        return fedge_err(e, FEDGE_EINVAL, "proxy I/O callbacks missing");
    proxy_t *p = fedge_calloc(1, sizeof(*p));
    p->cfg = *cfg;
    if (!p->cfg.t1_ms)
        p->cfg.t1_ms = 500;
    if (!p->cfg.timer_c_ms)
        p->cfg.timer_c_ms = 180000;
    if (!p->cfg.max_message_size)
        p->cfg.max_message_size = 65536;
    p->io = *io;
    sip_limits_default(&p->limits);
    p->limits.max_message_size = p->cfg.max_message_size;
    if (getrandom(&p->secret, sizeof(p->secret), 0) != (ssize_t)sizeof(p->secret))
        p->secret = (uint64_t)(uintptr_t)p ^ 0x9e3779b97f4a7c15ull;
    p->msg = fedge_malloc(sizeof(*p->msg));
    p->tmsg = fedge_malloc(sizeof(*p->tmsg));
    p->rp = fedge_malloc(sizeof(*p->rp));
    p->rp_retry = fedge_malloc(sizeof(*p->rp_retry));
    p->out_cap = p->cfg.max_message_size + 4096;
    p->out = fedge_malloc(p->out_cap);
    p->text_cap = 16384; /* edit lines: up to two URIs of max_uri_len, Via, RR */
    p->text = fedge_malloc(p->text_cap);
    obs_counter_t *ms[] = {&m_req, &m_resp, &m_fwd_req, &m_fwd_resp,
                           &m_rej, &m_parse, &m_timeouts, &m_failovers};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(ms); i++)
        obs_counter_register(ms[i]);
    *out = p;
    return 0;
}

void proxy_free(proxy_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->tab[0].nb; i++) {
        proxy_txn_t *x = p->tab[0].b[i];
        while (x) {
            proxy_txn_t *n = x->next[0];
            txn_free(x);
            x = n;
        }
    }
    while (p->dead) {
        proxy_txn_t *t = p->dead;
        p->dead = t->dead_next;
        txn_free(t);
    }
    free(p->tab[0].b);
    free(p->tab[1].b);
    proxy__skip_free(&p->skip);
    proxy__rcache_free(&p->rcache);
    free(p->heap);
    free(p->msg);
    free(p->tmsg);
    free(p->rp);
    free(p->rp_retry);
    free(p->out);
    free(p->text);
    free(p);
}

void proxy_set_policy(proxy_t *p, proxy_policy_fn fn, void *user)
{
    p->policy = fn;
    p->policy_user = user;
}

void proxy_set_result(proxy_t *p, proxy_result_fn fn, void *user)
{
    p->result = fn;
    p->result_user = user;
}

int proxy_policy_resume(proxy_t *p, uint64_t ticket, bool deny_it, const proxy_policy_verdict_t *v)
{
    proxy_txn_t *t = p->parked;
    while (t && t->ticket != ticket)
        t = t->pnext;
    if (!t)
        return FEDGE_ENOENT;
    p->depth++;
    unpark(p, t);
    timer_stop(p, t);
    sip_msg_t *m = reparse(p, t->req, t->req_len);
    proxy__routes_t *r = p->rp_retry;
    proxy_route_t d;
    if (deny_it) {
        deny(p, t, m, v);
    } else if (!m || proxy__routes_prep(&p->cfg, m, r) < 0) {
        txn_reply(p, t, m, 500, "cannot re-read the request", NULL);
    } else {
        proxy_route_in_t in = {t->in_side, r->popped_side, r->next_route, r->ruri};
        if (proxy_route_decide(&p->cfg, &in, &d) == PROXY_ROUTE_FORWARD) {
            admit(p, t, m, r, &d, v);
        } else {
            p->st.rejected++;
            txn_reply(p, t, m, d.status ? d.status : 500, d.reason, NULL);
        }
    }
    p->depth--;
    reap(p);
    return 0;
}

int proxy_on_message(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, const char *buf,
                     size_t len)
{
    int ret = 0;
    p->depth++;
    sip_msg_t *m = p->msg;
    int rc = sip_parse(buf, len, &p->limits, m);
    p->cur_remote = peer->remote;
    p->cur_side = peer->side;
    if (rc < 0) {
        /* a request whose start line was readable gets its 400 and the
         * connection stays; anything else: the caller closes it */
        if (!m->is_request || fedge_is_framing_error(rc)) {
            p->st.parse_errors++;
            ret = rc;
        } else {
            int src = reply_400(p, c, m, rc);
            if (src < 0 && src != FEDGE_ECLOSED)
                ret = rc;
        }
    } else if (m->is_request) {
        ret = handle_request(p, c, peer, m);
    } else {
        handle_response(p, c, peer, m);
    }
    p->depth--;
    reap(p);
    return ret;
}

void proxy_on_conn_closed(proxy_t *p, proxy_conn_t *c, int code)
{
    proxy_on_conn_failed(p, c, code, NULL);
}

void proxy_set_dns(proxy_t *p, dns_t *dns)
{
    if (!dns) {
        /* the resolver goes away: no look-up of ours may outlive it */
        for (size_t i = 0; i < p->tab[0].nb; i++)
            for (proxy_txn_t *x = p->tab[0].b[i]; x; x = x->next[0])
                proxy__out_cancel(x->ob);
        for (proxy_txn_t *x = p->dead; x; x = x->dead_next)
            proxy__out_cancel(x->ob);
    }
    p->dns = dns;
}

void proxy_on_conn_failed(proxy_t *p, proxy_conn_t *c, int code, const char *reason)
{
    p->depth++;
    size_t n = 0, cap = 0;
    proxy_txn_t **failed = NULL;
    for (size_t i = 0; i < p->tab[0].nb; i++) {
        for (proxy_txn_t *x = p->tab[0].b[i]; x; x = x->next[0]) {
            if (x->in_conn == c)
                x->in_conn = NULL;
            if (x->out_conn == c) {
                x->out_conn = NULL;
                if (x->state == T_PROCEEDING) {
                    if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        failed = fedge_realloc(failed, cap * sizeof(*failed));
                    }
                    failed[n++] = x;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        client_failed(p, failed[i],
                      reason && reason[0] ? reason
                      : code              ? fedge_strerror(code)
                                          : "connection closed");
    free(failed);
    p->depth--;
    reap(p);
}

void proxy_tick(proxy_t *p)
{
    metrics_sync(&p->st);
    p->depth++;
    uint64_t t_now = now(p);
    while (p->heap_len && p->heap[0]->deadline <= t_now) {
        proxy_txn_t *t = p->heap[0];
        tmkind_t kind = t->timer;
        timer_stop(p, t);
        switch (kind) {
        case TM_NO_FINAL:
        case TM_CANCEL_GUARD:
            if (t->state == T_PROCEEDING) {
                p->st.timeouts++;
                txn_reply(p, t, NULL, gave_up_status(t, 408), "no final response from the next hop",
                          NULL);
            }
            break;
        case TM_C:
            if (t->state == T_PROCEEDING)
                send_cancel(p, t);
            break;
        case TM_ATTEMPT:
            if (t->state == T_PROCEEDING) {
                char why[64];
                snprintf(why, sizeof(why), "no response within %u s",
                         PROXY__ATTEMPT_T1 * p->cfg.t1_ms / 1000);
                client_failed(p, t, why); /* the next target */
            }
            break;
        case TM_POLICY:
            if (t->state == T_PROCEEDING) {
                p->st.timeouts++;
                txn_reply(p, t, NULL, 504, "no policy decision in time", NULL);
            }
            break;
        case TM_WAIT_ACK:
        case TM_LINGER:
        case TM_NONE: txn_kill(p, t); break;
        }
    }
    p->depth--;
    reap(p);
}

size_t proxy_txn_count(const proxy_t *p)
{
    return p->st.transactions;
}

void proxy_abort_pending(proxy_t *p, const char *reason)
{
    p->depth++;
    size_t n = 0;
    proxy_txn_t **v = fedge_calloc(p->pending ? p->pending : 1, sizeof(*v));
    for (size_t i = 0; i < p->tab[0].nb; i++)
        for (proxy_txn_t *x = p->tab[0].b[i]; x; x = x->next[0])
            if (x->state == T_PROCEEDING && !x->dead && n < p->pending)
                v[n++] = x;
    for (size_t i = 0; i < n; i++)
        txn_reply(p, v[i], NULL, 503, reason, "Retry-After: 30\r\n");
    free(v);
    p->depth--;
    reap(p);
}

size_t proxy_pending_count(const proxy_t *p)
{
    return p->pending;
}

void proxy_stats(const proxy_t *p, proxy_stats_t *s)
{
    *s = p->st;
}
