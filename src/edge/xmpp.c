/* xmpp.c — the edge's SIP <-> XMPP gateway (docs/xmpp.md), on when the
 * configuration has an [xmpp] section: the server-to-server service of
 * src/xmpp on [xmpp] listen, the XMPP partner list of the store, one-to-one
 * IM both ways (RFC 7572: SIP MESSAGE text/plain <-> <message type='chat'>),
 * presence both ways (RFC 8048: SUBSCRIBE/NOTIFY with PIDF <-> presence
 * subscriptions, kept in the store: a restart restores them, a live pool
 * member adopts a stale member's), addresses and errors
 * mapped per RFC 7247, the user's external access policy (its xmpp
 * switch) in force.
 *
 * SIP -> XMPP: a request from the internal side whose Request-URI domain is
 * on the XMPP partner list is taken here before the proxy sees it
 * (transport.c), answered 200 once the stanza is written on an
 * authenticated stream, or with the mapped error.
 * XMPP -> SIP: a message for a user of our domains becomes a SIP MESSAGE
 * sent on the gateway's own connections to the internal next hops (in
 * order, with fail-over: hop_send); a final failure goes back to the
 * sender as a stanza error. */
#include "edge/edge_int.h"

#include "obs/obs.h"
#include "xmpp/xmpp.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char C[] = "xmpp";

#define HOP_TIMEOUT_MS 32000 /* RFC 3261 Timer F */
#define MAX_PENDING 1000     /* SIP MESSAGEs waiting for the next hop */

/* [internal] next_hop fail-over: a hop that could not be opened is passed
 * over (while another can be tried) for 1 s, then 2, 4 ... up to 30 s
 * while it keeps failing. */
#define HOP_BACKOFF_MIN_MS 1000
#define HOP_BACKOFF_MAX_MS 30000
#define HOP_EARLY_MAX (1024 * 1024) /* bytes held for hops still connecting */

/* A SIP MESSAGE waiting for its stanza to be written (SIP -> XMPP). */
typedef struct sip_pend {
    struct sip_pend *next, *prev;
    edge__xmpp_t *x; /* NULL once the gateway is gone */
    net_conn_t *nc;  /* where to answer; NULL once it closed */
    char *req;
    size_t len;
} sip_pend_t;

/* A SIP MESSAGE sent to the next hop for a stanza (XMPP -> SIP). */
typedef struct hop_pend {
    struct hop_pend *next;
    size_t hop; /* the index of the next hop it went to */
    char branch[48];
    char from[320], to[320], id[128]; /* the stanza's, for an error back */
    char local[256], remote[256];
    uint64_t deadline;
} hop_pend_t;

/* The gateway's connection to one [internal] next hop (its index in the
 * list). Requests go to the first hop, in order, that is connected or not
 * backing off; what is written before a connection is ready is held in
 * early, so that it goes on to the next hop when this one cannot be
 * opened (docs/xmpp.md, "Internal next hops"). */
typedef struct hop {
    edge__xmpp_t *x;
    size_t idx;
    net_conn_t *c; /* NULL: no connection */
    bool ready;
    bool heard; /* something came back on this connection */
    sip_framer_t fr;
    char *buf; /* received bytes not framed yet */
    size_t len, cap;
    xmpp_buf_t early;    /* requests waiting for the connection */
    unsigned fails;      /* opens failed in a row */
    uint64_t down_until; /* loop ms: passed over before (back-off) */
} hop_t;

/* A SIP presence subscription to an XMPP user (RFC 7248 §4), kept in the
 * store too (xops below). The gateway is the notifier of the SIP dialog. */
typedef struct psub {
    struct psub *next;
    char jid_from[400], jid_to[400]; /* the SIP user's JID, the XMPP user's (bare) */
    char sip_from[600], sip_to[400]; /* subscriber's From URI, our side's URI */
    char target[600];                /* subscriber's Contact (NOTIFY Request-URI) */
    char call_id[256], rtag[128], ltag[24];
    uint32_t cseq;
    uint64_t expires_at;
    bool active; /* the XMPP user approved (subscribed) */
    char pidf[2048];
    char pres[16], note[256]; /* what pidf says, for the store */
    xmpp_presence_t res;      /* the XMPP user's resources (pidf: the most available) */
    bool probed;              /* restored and probed: the next presence is notified even
                                 when it changes nothing (docs/xmpp.md, "Kept in the store") */
    bool held;                /* a NOTIFY held back until the store says the row is still
                                 this member's (own_check below) */
} psub_t;

/* An XMPP user's presence subscription to a SIP user (RFC 8048 §5): the
 * gateway is the subscriber of a SIP dialog with the internal presence
 * server, kept in the store too. */
typedef struct wsub {
    struct wsub *next;
    char jid_w[400], jid_u[400]; /* the XMPP watcher (bare), the SIP user's JID */
    char call_id[256], ltag[128], rtag[128];
    char rtarget[600]; /* the server's Contact ("" until known) */
    char branch[64];   /* of the SUBSCRIBE awaiting its answer ("" none) */
    uint32_t cseq;
    uint64_t sent_at, expires_at, refresh_at; /* loop ms; refresh_at 0: none due */
    bool active;                              /* the SIP side said active: subscribed sent */
    bool fresh;                               /* the dialog is new: a 481 is final */
    char pres[16], note[256];                 /* last availability known ("" none) */
} wsub_t;

/* A write of the presence subscriptions to the store, done in order on
 * the thread pool. */
typedef struct xop {
    struct xop *next;
    bool del;
    bool claim; /* a new subscription: the row is this member's whoever had it
                   (store_xsub_put); else only while it still is (store_xsub_keep) */
    store_xsub_t row;
} xop_t;

/* A row another pool member owns now ("dir\nwatcher\ntarget"), found by
 * the subscription job; what this member holds of it is let go. */
typedef struct lost {
    struct lost *next;
    char key[];
} lost_t;

#define MAX_XOPS 20000

#define MAX_SUBS 10000
#define SUB_MAX_EXPIRES 3600

struct edge__xmpp {
    psub_t *subs;
    size_t n_subs;
    wsub_t *wsubs;
    size_t n_wsubs;
    /* Subscription writes (xop_t): queued here, handed in batches to one
     * job at a time on the thread pool, which alone uses sstore; the
     * first job loads this edge's subscriptions (restore). */
    xop_t *ops, **ops_tail, *sjob_ops;
    size_t n_ops;
    uv_work_t swork;
    bool sjob, subs_loading;
    bool restore_due; /* loaded, waiting for the first snapshot (policies) */
    int sjob_rc;
    uint64_t sretry_ms;
    store_t *sstore;
    store_xsub_t **loaded;
    size_t n_loaded;
    fedge_err_t sjob_err;
    edge_t *ed;
    xmpp_s2s_t *s2s;
    net_tls_t *tls;
    store_t *store;
    store_xmpp_list_t *list;
    uint64_t list_gen;
    bool list_loaded;
    /* Reloads run on the thread pool (a PostgreSQL store may be slow or
     * away; the loop never waits for it). The worker alone uses store. */
    uv_work_t work;
    bool job, freeing, timer_done;
    uint64_t job_gen, retry_ms;
    store_xmpp_list_t *job_list;
    fedge_err_t job_err;
    sip_limits_t lim;
    sip_msg_t *msg;
    sip_pend_t *sp;
    hop_pend_t *hp;
    size_t n_hp;
    hop_t *hops; /* one per [internal] next_hop, in order */
    size_t n_hops;
    size_t early_bytes; /* held in every hop's early */
    char via_host[PROXY_HOST_MAX];
    uv_timer_t timer;
    uint64_t seq;
    /* Pool takeover (docs/pools.md): every STORE_MEMBER_BEAT_S the
     * subscription job looks for stale members' rows (store_xsub_adopt). */
    bool adopt_due, sjob_adopt;
    uint64_t adopt_next_ms;
    int adopt_rc;
    size_t adopt_n;
    char adopt_from[256];                 /* the members adopted from, "a,b" */
    char adopt_said[sizeof(fedge_err_t)]; /* the last failure logged, "" after a success */
    fedge_err_t adopt_err;
    /* A pool member away from the store (no subscription job succeeded
     * for OWN_GAP_MS: its database lost, or the process stopped) may have
     * been adopted from meanwhile (docs/pools.md): until the job has
     * checked which rows others own now (store_xsub_foreign), its timers'
     * refreshes and expiries wait and its NOTIFYs are held back. */
    uint64_t store_ok_ms; /* loop time of the last job that reached the store */
    bool own_due, sjob_own, own_said;
    int own_rc;
    fedge_err_t own_err;
    lost_t *lost; /* filled by the job, read by subs_done */
    size_t n_lost;
    edge__xmpp_figures_t fig; /* the counters among the figures */
};

#define OWN_GAP_MS (STORE_MEMBER_STALE_S * 1000u / 2)

static void rnd_hex(char *out, size_t bytes)
{
    unsigned char b[16];
    if (bytes > sizeof b)
        bytes = sizeof b;
    if (RAND_bytes(b, (int)bytes) != 1)
        abort();
    for (size_t i = 0; i < bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void lower(char *dst, size_t cap, fedge_str_t s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)((s.s[i] >= 'A' && s.s[i] <= 'Z') ? s.s[i] + 32 : s.s[i]);
    dst[n] = '\0';
}

static bool is_local(edge__xmpp_t *x, const char *d)
{
    const config_t *cf = x->ed->cfg;
    for (size_t i = 0; i < cf->edge.sip_domain_count; i++)
        if (!strcasecmp(cf->edge.sip_domains[i], d))
            return true;
    return false;
}

static const store_snapshot_t *snap_of(edge__xmpp_t *x)
{
    return x->ed->fed ? x->ed->fed->snap : NULL;
}

static void load_work(uv_work_t *w)
{
    edge__xmpp_t *x = FEDGE_CONTAINER_OF(w, edge__xmpp_t, work);
    x->job_list = NULL;
    if (!x->store && store_open(x->ed->cfg->edge.store, &x->store, &x->job_err) < 0) {
        x->store = NULL;
        return;
    }
    if (store_xmpp_load(x->store, &x->job_list, &x->job_err) < 0)
        x->job_list = NULL;
}

static void release(edge__xmpp_t *x);
static void maybe_release(edge__xmpp_t *x);
static bool notify_in(edge__xmpp_t *x, net_conn_t *nc, sip_msg_t *m);

static void load_done(uv_work_t *w, int status)
{
    edge__xmpp_t *x = FEDGE_CONTAINER_OF(w, edge__xmpp_t, work);
    x->job = false;
    if (x->freeing) {
        store_xmpp_list_free(x->job_list);
        maybe_release(x);
        return;
    }
    if (!x->job_list) {
        obs_logkv(OBS_LOG_WARNING, C, "cannot read the XMPP partner list: keeping the last one",
                  "reason", x->job_err.msg, NULL);
        x->retry_ms = uv_now(x->ed->loop) + 1000;
        return;
    }
    store_xmpp_list_free(x->list);
    x->list = x->job_list;
    x->job_list = NULL;
    x->list_gen = x->job_gen;
    x->list_loaded = true;
    char g[24], n[24];
    snprintf(g, sizeof g, "%llu", (unsigned long long)x->list_gen);
    snprintf(n, sizeof n, "%zu", x->list->n);
    obs_logkv(OBS_LOG_INFO, C, "XMPP partners loaded", "generation", g, "partners", n, NULL);
}

/* Reloads the partner list when the store changed (the federation driver
 * keeps the snapshot current; its generation says when): in the
 * background, the last list stays in force meanwhile. */
static void refresh(edge__xmpp_t *x)
{
    const store_snapshot_t *snap = snap_of(x);
    uint64_t gen = snap ? snap->generation : 0;
    if (x->job || x->freeing || (x->list_loaded && gen == x->list_gen) ||
        uv_now(x->ed->loop) < x->retry_ms)
        return;
    x->job = true;
    x->job_gen = gen;
    if (uv_queue_work(x->ed->loop, &x->work, load_work, load_done) != 0)
        x->job = false;
}

/* ------------------------------------------------------------------ */
/* The partner decision (the s2s service's policy)                     */
/* ------------------------------------------------------------------ */

static void s2s_policy(void *user, const char *domain, xmpp_peer_policy_t *out)
{
    edge__xmpp_t *x = user;
    memset(out, 0, sizeof *out);
    refresh(x);
    const store_snapshot_t *snap = snap_of(x);
    if (!snap || !snap->edge.federation) {
        snprintf(out->why, sizeof out->why, "federation is off on this edge");
        return;
    }
    const store_xmpp_partner_t *p = store_xmpp_find(x->list, domain);
    if (p && p->blocked) {
        snprintf(out->why, sizeof out->why, "%s is blocked for XMPP on this edge", domain);
        return;
    }
    if (!p && !snap->edge.discovery) {
        snprintf(out->why, sizeof out->why,
                 "%s is not an XMPP partner of this edge (partner discovery is off)", domain);
        return;
    }
    out->allowed = true;
    /* A discovered partner gets the strict defaults. */
    out->tls_required = p ? p->tls_required : true;
    out->sasl = p ? p->sasl : true;
    out->dialback = p ? p->dialback : true;
    if (p && p->proxy) {
        config_hostport_t hp;
        fedge_err_t e;
        if (config_parse_hostport(p->proxy, strlen(p->proxy), CONFIG_HP_ALLOW_NAME, 5269, &hp,
                                  &e) == 0) {
            snprintf(out->host, sizeof out->host, "%s", hp.host);
            out->port = hp.port;
            config_hostport_free(&hp);
        }
    }
}

/* ------------------------------------------------------------------ */
/* SIP answers                                                         */
/* ------------------------------------------------------------------ */

/* Answers m on nc. A refusal (code >= 300) names its diagnostic (diag,
 * docs/diagnostics.md) in a Warning and an ms-diagnostics header, as the
 * federation policy's refusals do, with why as the reason: the table's
 * reason, or a more precise text. */
static void answer_tag(edge__xmpp_t *x, net_conn_t *nc, sip_msg_t *m, int code, int diag,
                       const char *why, const char *extra, const char *to_tag)
{
    char tag[20], hdrs[1400], out[8192];
    rnd_hex(tag, 6);
    if (to_tag)
        snprintf(tag, sizeof tag, "%s", to_tag);
    size_t o = 0;
    hdrs[0] = '\0';
    if (code >= 300) {
        const policy_diag_t *d = policy_diag(diag);
        const char *reason = why ? why : d ? d->reason : "refused";
        const char *fqdn = x->ed->cfg->edge.fqdn;
        char w[600], md[600];
        if (policy_format_warning(diag, reason, (fedge_str_t){fqdn, strlen(fqdn)}, w, sizeof w) < 0)
            w[0] = '\0';
        if (policy_format_diag(diag, reason, (fedge_str_t){fqdn, strlen(fqdn)}, false, md,
                               sizeof md) < 0)
            md[0] = '\0';
        o += (size_t)snprintf(hdrs, sizeof hdrs, "Warning: %s\r\nms-diagnostics: %s\r\n", w, md);
        why = reason;
    }
    snprintf(hdrs + o, sizeof hdrs - o, "%s", extra ? extra : "");
    size_t len = 0;
    if (sip_build_response(m, code, sip_reason_phrase(code), tag, hdrs[0] ? hdrs : NULL, out,
                           sizeof out, &len) == 0)
        (void)net_conn_write(nc, out, len);
    char st[8];
    snprintf(st, sizeof st, "%d", code);
    obs_logkv(code >= 300 ? OBS_LOG_INFO : OBS_LOG_DEBUG, C, "SIP request answered by the gateway",
              "status", st, "reason", why ? why : "-", NULL);
}

static void answer(edge__xmpp_t *x, net_conn_t *nc, sip_msg_t *m, int code, int diag,
                   const char *why, const char *extra)
{
    answer_tag(x, nc, m, code, diag, why, extra, NULL);
}

static void sent_cb(void *user, int code, const char *cond, const char *reason)
{
    sip_pend_t *p = user;
    edge__xmpp_t *x = p->x;
    if (x) {
        if (p->prev)
            p->prev->next = p->next;
        else
            x->sp = p->next;
        if (p->next)
            p->next->prev = p->prev;
        if (p->nc && sip_parse(p->req, p->len, &x->lim, x->msg) == 0) {
            int st = code == 0 ? 200 : xmpp_sip_status_from_error(cond);
            if (code == 0)
                x->fig.sip_to_xmpp++;
            char why[300];
            snprintf(why, sizeof why, "XMPP: %s%s%s", cond, reason[0] ? ": " : "", reason);
            answer(x, p->nc, x->msg, st, POLICY_DIAG_XMPP_FAILED, code ? why : NULL, NULL);
        }
    }
    free(p->req);
    free(p);
}

/* ------------------------------------------------------------------ */
/* SIP -> XMPP                                                         */
/* ------------------------------------------------------------------ */

static void subscribe_in(edge__xmpp_t *x, net_conn_t *nc, sip_msg_t *m, const char *fuser,
                         const char *fdom, const char *tuser, const char *dom);

bool edge__xmpp_sip_in(edge__xmpp_t *x, net_conn_t *nc, const char *buf, size_t len)
{
    sip_msg_t *m = x->msg;
    const sip_uri_t *ru;
    if (sip_parse(buf, len, &x->lim, m) < 0 || !m->is_request || sip_msg_ruri(m, &ru) < 0 ||
        (ru->scheme != SIP_URI_SIP && ru->scheme != SIP_URI_SIPS))
        return false;
    /* NOTIFYs of the presence server for the gateway's own SUBSCRIBEs */
    if (m->method_id == SIP_METHOD_NOTIFY && sip_msg_check(m) == 0 && notify_in(x, nc, m))
        return true;
    char dom[256];
    lower(dom, sizeof dom, ru->host);
    refresh(x);
    const store_xmpp_partner_t *p = store_xmpp_find(x->list, dom);
    if (!p || sip_msg_check(m) < 0)
        return false; /* not ours: the proxy routes (or refuses) it */
    if (m->method_id == SIP_METHOD_ACK)
        return true;
    if (p->blocked) {
        char why[300];
        snprintf(why, sizeof why, "%s is blocked for XMPP on this edge", dom);
        x->fig.refused_partner++;
        answer(x, nc, m, 403, POLICY_DIAG_XMPP_BLOCKED, why, NULL);
        return true;
    }
    if (m->method_id != SIP_METHOD_MESSAGE && m->method_id != SIP_METHOD_SUBSCRIBE) {
        answer(x, nc, m, 405, POLICY_DIAG_XMPP_METHOD, NULL, "Allow: MESSAGE, SUBSCRIBE\r\n");
        return true;
    }
    const sip_nameaddr_t *from, *to;
    if (sip_msg_from(m, &from) < 0 || sip_msg_to(m, &to) < 0)
        return false;
    char fdom[256], fuser[320], tuser[320];
    lower(fdom, sizeof fdom, from->uri.host);
    if (!is_local(x, fdom)) {
        answer(x, nc, m, 403, POLICY_DIAG_FROM_NOT_LOCAL, NULL, NULL);
        return true;
    }
    if (xmpp_localpart_from_sip(from->uri.user.s, from->uri.user.len, fuser, sizeof fuser) < 0 ||
        xmpp_localpart_from_sip(ru->user.s, ru->user.len, tuser, sizeof tuser) < 0) {
        answer(x, nc, m, 404, POLICY_DIAG_XMPP_ADDRESS, NULL, NULL);
        return true;
    }
    /* The sender's external access policy (docs/admin.md): its xmpp switch. */
    const store_snapshot_t *snap = snap_of(x);
    const store_policy_t *pol =
        snap ? policy_for_user(snap, from->uri.user, from->uri.host, (fedge_str_t){"", 0}) : NULL;
    if (!pol || !pol->xmpp) {
        char why[300];
        snprintf(why, sizeof why, "the external access policy %s of %s@%s does not allow XMPP",
                 pol ? pol->scope : "(none)", fuser, fdom);
        x->fig.refused_policy++;
        answer(x, nc, m, 403, POLICY_DIAG_XMPP_NO_POLICY, why, NULL);
        return true;
    }
    if (m->method_id == SIP_METHOD_SUBSCRIBE) {
        subscribe_in(x, nc, m, fuser, fdom, tuser, dom);
        return true;
    }
    sip_mtype_t ct;
    if (m->body.len && (sip_msg_content_type(m, &ct) < 0 || !fedge_str_ieq(ct.type, "text") ||
                        !fedge_str_ieq(ct.subtype, "plain"))) {
        answer(x, nc, m, 415, POLICY_DIAG_XMPP_TYPE, NULL, "Accept: text/plain\r\n");
        return true;
    }
    if (!xmpp_text_ok(m->body.s, m->body.len)) {
        answer(x, nc, m, 400, POLICY_DIAG_XMPP_TEXT, NULL, NULL);
        return true;
    }
    /* RFC 7572 §5: <message type='chat'> with the body as text. */
    xmpp_buf_t b = {0};
    char id[24];
    rnd_hex(id, 8);
    xmpp_buf_printf(&b, "<message type='chat' id='%s' from='", id);
    xmpp_buf_esc(&b, fuser, strlen(fuser));
    xmpp_buf_printf(&b, "@");
    xmpp_buf_esc(&b, fdom, strlen(fdom));
    xmpp_buf_printf(&b, "' to='");
    xmpp_buf_esc(&b, tuser, strlen(tuser));
    xmpp_buf_printf(&b, "@");
    xmpp_buf_esc(&b, dom, strlen(dom));
    xmpp_buf_printf(&b, "'><body>");
    xmpp_buf_esc(&b, m->body.s, m->body.len);
    xmpp_buf_printf(&b, "</body></message>");
    sip_pend_t *sp = fedge_calloc(1, sizeof *sp);
    sp->x = x;
    sp->nc = nc;
    sp->req = fedge_malloc(m->len);
    memcpy(sp->req, buf, m->len);
    sp->len = m->len;
    fedge_err_t e;
    int rc = xmpp_s2s_send(x->s2s, fdom, dom, b.s, b.len, sent_cb, sp, &e);
    xmpp_buf_free(&b);
    if (rc < 0) {
        free(sp->req);
        free(sp);
        answer(x, nc, m,
               rc == FEDGE_EPERM    ? 403
               : rc == FEDGE_ELIMIT ? 503
                                    : 500,
               rc == FEDGE_EPERM ? POLICY_DIAG_FEDERATION_OFF : POLICY_DIAG_XMPP_FAILED, e.msg,
               rc == FEDGE_ELIMIT ? "Retry-After: 5\r\n" : NULL);
        return true;
    }
    sp->next = x->sp;
    if (x->sp)
        x->sp->prev = sp;
    x->sp = sp;
    return true;
}

void edge__xmpp_conn_gone(edge__xmpp_t *x, net_conn_t *nc)
{
    for (sip_pend_t *p = x->sp; p; p = p->next)
        if (p->nc == nc)
            p->nc = NULL;
}

/* ------------------------------------------------------------------ */
/* XMPP -> SIP                                                         */
/* ------------------------------------------------------------------ */

/* Sends a stanza error for a message back to its sender (RFC 6120 §8.3). */
static void stanza_error(edge__xmpp_t *x, const char *local, const char *remote, const char *from,
                         const char *to, const char *id, const char *type, const char *cond,
                         const char *text)
{
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<message type='error' from='");
    xmpp_buf_esc(&b, to, strlen(to));
    xmpp_buf_printf(&b, "' to='");
    xmpp_buf_esc(&b, from, strlen(from));
    if (id && id[0]) {
        xmpp_buf_printf(&b, "' id='");
        xmpp_buf_esc(&b, id, strlen(id));
    }
    xmpp_buf_printf(&b, "'><error type='%s'><%s xmlns='" XMPP_NS_STANZA_ERR "'/>", type, cond);
    if (text) {
        xmpp_buf_printf(&b, "<text xmlns='" XMPP_NS_STANZA_ERR "'>");
        xmpp_buf_esc(&b, text, strlen(text));
        xmpp_buf_printf(&b, "</text>");
    }
    xmpp_buf_printf(&b, "</error></message>");
    fedge_err_t e;
    if (xmpp_s2s_send(x->s2s, local, remote, b.s, b.len, NULL, NULL, &e) < 0)
        obs_logkv(OBS_LOG_INFO, C, "stanza error not sent", "to", from, "reason", e.msg, NULL);
    xmpp_buf_free(&b);
}

static void wsub_response(edge__xmpp_t *x, sip_msg_t *m, fedge_str_t branch);

static void hop_response(edge__xmpp_t *x, sip_msg_t *m)
{
    const sip_via_t *v;
    const sip_cseq_t *cs;
    if (m->is_request || m->status < 200 || sip_msg_via(m, &v) < 0 || sip_msg_cseq(m, &cs) < 0)
        return;
    if (cs->method_id == SIP_METHOD_SUBSCRIBE) {
        wsub_response(x, m, v->branch);
        return;
    }
    hop_pend_t **pp = &x->hp;
    while (*pp && !fedge_str_eq(v->branch, (*pp)->branch))
        pp = &(*pp)->next;
    hop_pend_t *h = *pp;
    if (!h)
        return;
    *pp = h->next;
    x->n_hp--;
    char st[8];
    snprintf(st, sizeof st, "%d", m->status);
    obs_logkv(m->status < 300 ? OBS_LOG_DEBUG : OBS_LOG_INFO, C,
              "XMPP message delivered to the internal side", "from", h->from, "to", h->to, "status",
              st, NULL);
    if (m->status >= 300) {
        const char *type;
        const char *cond = xmpp_error_from_sip_status(m->status, &type);
        char text[200];
        snprintf(text, sizeof text, "SIP %d %.*s", m->status, (int)m->reason.len, m->reason.s);
        stanza_error(x, h->local, h->remote, h->from, h->to, h->id, type, cond, text);
    }
    free(h);
}

static void fail_hop(edge__xmpp_t *x, size_t hop, bool all, const char *cond, const char *text);
static int hop_pick(edge__xmpp_t *x, size_t from);

static void hop_name(const edge__xmpp_t *x, size_t i, char *out, size_t cap)
{
    const config_t *cf = x->ed->cfg;
    const config_hostport_t *nh = &cf->internal.next_hop.items[i];
    bool tls = cf->internal.transport == CONFIG_TRANSPORT_TLS;
    fedge_hostport_format(out, cap, nh->host, nh->port ? nh->port : (tls ? 5061 : 5060));
}

static void hop_drop_early(edge__xmpp_t *x, hop_t *h)
{
    x->early_bytes -= h->early.len;
    xmpp_buf_free(&h->early);
    memset(&h->early, 0, sizeof h->early);
}

/* Bytes for hop h: written when it is ready, else held until it is
 * (bounded by HOP_EARLY_MAX over all hops). */
static int hop_put(edge__xmpp_t *x, hop_t *h, const char *buf, size_t len)
{
    if (h->ready)
        return net_conn_write(h->c, buf, len);
    if (x->early_bytes + len > HOP_EARLY_MAX)
        return FEDGE_ELIMIT;
    xmpp_buf_add(&h->early, buf, len);
    x->early_bytes += len;
    return 0;
}

/* Hop h could not be opened: not tried again before its back-off, and
 * the log says which one was given up, why, and for how long. */
static void hop_down(edge__xmpp_t *x, hop_t *h, const char *reason)
{
    if (h->fails < 16)
        h->fails++;
    uint64_t wait = HOP_BACKOFF_MIN_MS << (h->fails - 1);
    if (wait > HOP_BACKOFF_MAX_MS)
        wait = HOP_BACKOFF_MAX_MS;
    h->down_until = uv_now(x->ed->loop) + wait;
    char name[PROXY_HOST_MAX + 16], nx[PROXY_HOST_MAX + 16] = "none", ws[16];
    hop_name(x, h->idx, name, sizeof name);
    /* where hop_pick goes next: the first later hop not backing off, else
     * the first later one */
    size_t nj = h->idx + 1;
    for (size_t j = h->idx + 1; j < x->n_hops; j++)
        if (x->hops[j].c || uv_now(x->ed->loop) >= x->hops[j].down_until) {
            nj = j;
            break;
        }
    if (nj < x->n_hops)
        hop_name(x, nj, nx, sizeof nx);
    snprintf(ws, sizeof ws, "%llu", (unsigned long long)(wait / 1000));
    obs_logkv(OBS_LOG_WARNING, C, "internal next hop given up", "next_hop", name, "reason", reason,
              "retry_in_s", ws, "next", nx, NULL);
}

static void hop_ready(net_conn_t *c)
{
    hop_t *h = net_conn_user(c);
    if (!h)
        return;
    edge__xmpp_t *x = h->x;
    h->ready = true;
    if (h->fails) {
        char name[PROXY_HOST_MAX + 16];
        hop_name(x, h->idx, name, sizeof name);
        obs_logkv(OBS_LOG_NOTICE, C, "internal next hop reachable again", "next_hop", name, NULL);
    }
    h->fails = 0;
    h->down_until = 0;
    if (h->early.len)
        (void)net_conn_write(c, h->early.s, h->early.len); /* a failure closes c: hop_close */
    hop_drop_early(x, h);
}

static void hop_data(net_conn_t *c, const char *buf, size_t len)
{
    hop_t *h = net_conn_user(c);
    if (!h)
        return;
    edge__xmpp_t *x = h->x;
    h->heard = true;
    if (h->len + len > h->cap) {
        h->cap = h->len + len + 4096;
        h->buf = fedge_realloc(h->buf, h->cap);
    }
    memcpy(h->buf + h->len, buf, len);
    h->len += len;
    size_t off = 0;
    while (off < h->len) {
        size_t unit = 0;
        int k = sip_framer_next(&h->fr, h->buf + off, h->len - off, &unit);
        if (k < 0) {
            net_conn_close(c);
            h->len = 0;
            return;
        }
        if (k == SIP_FRAME_NEED_MORE)
            break;
        if (k == SIP_FRAME_MESSAGE && sip_parse(h->buf + off, unit, &x->lim, x->msg) == 0) {
            /* a NOTIFY of the presence server may come on this connection */
            if (!x->msg->is_request)
                hop_response(x, x->msg);
            else if (sip_msg_check(x->msg) == 0)
                (void)notify_in(x, c, x->msg);
        }
        off += unit;
    }
    memmove(h->buf, h->buf + off, h->len - off);
    h->len -= off;
}

/* Stanzas waiting for an answer: all == false, those past their deadline
 * (any hop); all == true, every one sent to hop (SIZE_MAX: any hop). */
static void fail_hop(edge__xmpp_t *x, size_t hop, bool all, const char *cond, const char *text)
{
    uint64_t now = uv_now(x->ed->loop);
    for (hop_pend_t **pp = &x->hp; *pp;) {
        hop_pend_t *h = *pp;
        if (all ? (hop != SIZE_MAX && h->hop != hop) : h->deadline > now) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        x->n_hp--;
        stanza_error(x, h->local, h->remote, h->from, h->to, h->id, "wait", cond, text);
        free(h);
    }
}

static void hop_close(net_conn_t *c, int code, const char *reason)
{
    hop_t *h = net_conn_user(c);
    if (!h)
        return;
    edge__xmpp_t *x = h->x;
    bool was_ready = h->ready, heard = h->heard;
    h->c = NULL;
    h->ready = false;
    h->heard = false;
    h->len = 0;
    sip_framer_init(&h->fr, x->ed->cfg->limits.max_message_size);
    if (was_ready) {
        /* It died with requests on it: what was sent is not sent again
         * (the hop may have acted on it); the senders are told. */
        bool pend = false;
        for (hop_pend_t *p = x->hp; p && !pend; p = p->next)
            pend = p->hop == h->idx;
        if (pend) {
            char name[PROXY_HOST_MAX + 16];
            hop_name(x, h->idx, name, sizeof name);
            obs_logkv(OBS_LOG_WARNING, C, "connection to the internal next hop closed", "next_hop",
                      name, "reason", reason, NULL);
        }
        fail_hop(x, h->idx, true, "service-unavailable",
                 "the internal SIP server is not reachable");
        /* One that accepts and closes without a word (full, or refusing
         * our certificate after a TLS 1.3 handshake) backs off as one
         * that refused: the next requests go to the next hop. */
        if (!heard)
            hop_down(x, h, reason);
        return;
    }
    /* Never opened: nothing reached it, so what waited goes on to the
     * next hop in order (each request moves forward only: at most one
     * try per hop). */
    hop_down(x, h, reason);
    int j = hop_pick(x, h->idx + 1);
    if (j >= 0) {
        xmpp_buf_t moved = h->early;
        memset(&h->early, 0, sizeof h->early);
        x->early_bytes -= moved.len;
        int rc = moved.len ? hop_put(x, &x->hops[j], moved.s, moved.len) : 0;
        xmpp_buf_free(&moved);
        if (rc == 0) {
            for (hop_pend_t *p = x->hp; p; p = p->next)
                if (p->hop == h->idx)
                    p->hop = (size_t)j;
            return;
        }
    }
    hop_drop_early(x, h);
    fail_hop(x, h->idx, true, "service-unavailable", "the internal SIP server is not reachable");
}

static const net_conn_cbs_t hop_cbs = {hop_ready, hop_data, hop_close};

/* Opens a connection to hop i; false when it cannot even be started. */
static bool hop_open(edge__xmpp_t *x, hop_t *h)
{
    const config_t *cf = x->ed->cfg;
    bool tls = cf->internal.transport == CONFIG_TRANSPORT_TLS;
    const config_hostport_t *nh = &cf->internal.next_hop.items[h->idx];
    net_connect_opts_t o = {.host = nh->host,
                            .port = nh->port ? nh->port : (tls ? 5061 : 5060),
                            .tls = tls ? x->ed->int_tls : NULL,
                            .user = h,
                            .cbs = hop_cbs};
    fedge_err_t e;
    if (net_connect(x->ed->net, &o, &h->c, &e) < 0) {
        h->c = NULL;
        hop_down(x, h, e.msg);
        return false;
    }
    return true;
}

/* The index of the first hop from `from` on that is connected (or
 * connecting) or may be opened now (not backing off), opening it. When
 * every one is backing off they are tried all the same, in order: the
 * back-off decides which hop comes first, it never drops a request. -1
 * when none can be started. */
static int hop_pick(edge__xmpp_t *x, size_t from)
{
    uint64_t now = uv_now(x->ed->loop);
    for (size_t i = from; i < x->n_hops; i++) {
        hop_t *h = &x->hops[i];
        if (h->c)
            return (int)i;
        if (now >= h->down_until && hop_open(x, h))
            return (int)i;
    }
    for (size_t i = from; i < x->n_hops; i++)
        if (uv_now(x->ed->loop) < x->hops[i].down_until && hop_open(x, &x->hops[i]))
            return (int)i;
    return -1;
}

/* Sends one request (complete SIP bytes) to the internal side: to the
 * first usable next hop, failing over in order. The hop's index, or -1
 * when no hop can take it now. */
static int hop_send(edge__xmpp_t *x, const char *buf, size_t len)
{
    int i = hop_pick(x, 0);
    if (i < 0 || hop_put(x, &x->hops[i], buf, len) < 0)
        return -1;
    return i;
}

/* ------------------------------------------------------------------ */
/* Presence subscriptions in the store (store_xsub_*, migration 8)      */
/* ------------------------------------------------------------------ */

/* Writes go to the store in order, in the background (a PostgreSQL store
 * may be slow or away: the loop never waits for it); memory stays the
 * truth while the edge runs, the store is what a restart starts from. */

static void subs_restore(edge__xmpp_t *x);

static int load_row(const store_xsub_t *r, void *ctx)
{
    edge__xmpp_t *x = ctx;
    if (x->n_loaded >= 2 * MAX_SUBS)
        return 0; /* more than the edge holds: the rest stay in the store */
    x->loaded = fedge_realloc(x->loaded, (x->n_loaded + 1) * sizeof *x->loaded);
    x->loaded[x->n_loaded] = fedge_malloc(sizeof **x->loaded);
    *x->loaded[x->n_loaded++] = *r;
    return 0;
}

/* A row adopted from a stale member: restored like a restart's. */
static int adopt_row(const store_xsub_t *r, void *ctx)
{
    edge__xmpp_t *x = ctx;
    size_t len = strlen(x->adopt_from);
    if (!strstr(x->adopt_from, r->owner) && len + strlen(r->owner) + 2 < sizeof x->adopt_from)
        snprintf(x->adopt_from + len, sizeof x->adopt_from - len, "%s%s", len ? "," : "", r->owner);
    return load_row(r, ctx);
}

static void lost_add(edge__xmpp_t *x, store_xsub_dir_t dir, const char *watcher, const char *target)
{
    size_t n = strlen(watcher) + strlen(target) + 4;
    lost_t *l = fedge_malloc(sizeof *l + n);
    snprintf(l->key, n, "%d\n%s\n%s", (int)dir, watcher, target);
    l->next = x->lost;
    x->lost = l;
    x->n_lost++;
}

/* A row owned by another member (store_xsub_foreign), on the job's thread. */
static int foreign_row(const store_xsub_t *r, void *ctx)
{
    lost_add(ctx, r->dir, r->watcher, r->target);
    return 0;
}

static void subs_work(uv_work_t *w)
{
    edge__xmpp_t *x = FEDGE_CONTAINER_OF(w, edge__xmpp_t, swork);
    x->sjob_rc = 0;
    x->adopt_rc = 1; /* not run */
    x->adopt_n = 0;
    if (!x->sstore &&
        (x->sjob_rc = store_open(x->ed->cfg->edge.store, &x->sstore, &x->sjob_err)) < 0) {
        x->sstore = NULL;
        return;
    }
    if (x->subs_loading) {
        x->sjob_rc = store_xsub_reload(x->sstore, x->ed->cfg->edge.fqdn, (int64_t)time(NULL),
                                       load_row, x, &x->sjob_err);
        return;
    }
    /* which rows others own now, before any write of this batch (its
     * writes cannot take them back: store_xsub_keep) */
    x->own_rc = 1; /* not run */
    if (x->sjob_own)
        x->own_rc = store_xsub_foreign(x->sstore, x->ed->cfg->edge.fqdn, (int64_t)time(NULL),
                                       foreign_row, x, &x->own_err);
    for (xop_t *o = x->sjob_ops; o; o = o->next) {
        bool lost = false;
        int rc = o->del     ? store_xsub_del(x->sstore, o->row.dir, o->row.watcher, o->row.target,
                                             &x->sjob_err)
                 : o->claim ? store_xsub_put(x->sstore, &o->row, &x->sjob_err)
                            : store_xsub_keep(x->sstore, &o->row, &lost, &x->sjob_err);
        if (rc < 0)
            x->sjob_rc = rc; /* logged once for the batch; the next writes go on */
        else if (lost)
            lost_add(x, o->row.dir, o->row.watcher, o->row.target);
    }
    if (x->sjob_adopt) {
        x->adopt_from[0] = '\0';
        x->adopt_rc =
            store_xsub_adopt(x->sstore, x->ed->cfg->edge.fqdn, x->ed->cfg->edge.pool_fqdn,
                             (int64_t)time(NULL), adopt_row, x, &x->adopt_n, &x->adopt_err);
    }
}

static void subs_kick(edge__xmpp_t *x);
static void lost_free(edge__xmpp_t *x);
static void subs_let_go(edge__xmpp_t *x, bool checked);
static bool subs_away(edge__xmpp_t *x);

static void subs_done(uv_work_t *w, int status)
{
    edge__xmpp_t *x = FEDGE_CONTAINER_OF(w, edge__xmpp_t, swork);
    x->sjob = false;
    bool loading = x->subs_loading && !x->sjob_ops;
    bool adopting = x->sjob_adopt, owning = x->sjob_own;
    bool reached = adopting || owning || x->subs_loading || x->sjob_ops;
    x->sjob_adopt = false;
    x->sjob_own = false;
    while (x->sjob_ops) {
        xop_t *o = x->sjob_ops;
        x->sjob_ops = o->next;
        free(o);
    }
    if (x->freeing) {
        lost_free(x);
        maybe_release(x);
        return;
    }
    if (reached && x->sjob_rc == 0 && (!adopting || x->adopt_rc >= 0) &&
        (!owning || x->own_rc >= 0))
        x->store_ok_ms = uv_now(x->ed->loop);
    if (owning && x->own_rc < 0 && !x->own_said) /* once, not every second */
        obs_logkv(OBS_LOG_WARNING, C,
                  "cannot check which presence subscriptions are still this pool member's: "
                  "retrying",
                  "reason", x->own_err.msg, NULL);
    if (owning)
        x->own_said = x->own_rc < 0;
    if (x->n_lost || (owning && x->own_rc == 0))
        subs_let_go(x, owning && x->own_rc == 0);
    if (x->sjob_rc < 0) {
        obs_logkv(OBS_LOG_WARNING, C,
                  loading ? "cannot read the presence subscriptions from the store: retrying"
                          : "cannot write presence subscriptions to the store",
                  "reason", x->sjob_err.msg, NULL);
        x->sretry_ms = uv_now(x->ed->loop) + 1000;
    } else if (loading) {
        x->subs_loading = false;
        x->restore_due = true;
        if (snap_of(x))
            subs_restore(x);
    }
    if (adopting && x->adopt_rc < 0) {
        if (strcmp(x->adopt_said, x->adopt_err.msg)) /* once per cause, not every 2 s */
            obs_logkv(OBS_LOG_WARNING, C,
                      "cannot adopt the presence subscriptions of stale pool members: retrying",
                      "reason", x->adopt_err.msg, NULL);
        snprintf(x->adopt_said, sizeof x->adopt_said, "%s", x->adopt_err.msg);
    } else if (adopting && x->adopt_rc == 0) {
        x->adopt_said[0] = '\0';
    }
    /* rows adopted are ours in the store now: held even if a write of
     * the same batch failed */
    if (adopting && x->adopt_rc == 0 && x->adopt_n) {
        char n[24];
        snprintf(n, sizeof n, "%zu", x->adopt_n);
        obs_logkv(OBS_LOG_NOTICE, C,
                  "presence subscriptions adopted from a stale pool member: re-established here",
                  "from", x->adopt_from, "subscriptions", n, NULL);
        x->fig.adopted += x->adopt_n;
        x->restore_due = true;
        if (snap_of(x))
            subs_restore(x);
    }
    subs_kick(x);
}

/* Starts the next job: the restore first, then the writes queued. */
static void subs_kick(edge__xmpp_t *x)
{
    if (x->sjob || x->freeing || (!x->ops && !x->subs_loading && !x->adopt_due && !x->own_due) ||
        uv_now(x->ed->loop) < x->sretry_ms)
        return;
    /* the check of what others own now, when due, goes with the next job
     * (before its writes and its adoption) */
    x->sjob_own = x->own_due && !x->subs_loading;
    /* an adoption waits until the rows loaded last are held */
    x->sjob_adopt = x->adopt_due && !x->subs_loading && !x->restore_due && !x->n_loaded;
    if (x->sjob_adopt)
        x->adopt_due = false;
    if (!x->subs_loading) {
        x->sjob_ops = x->ops;
        x->ops = NULL;
        x->ops_tail = &x->ops;
        x->n_ops = 0;
    }
    x->sjob = true;
    if (uv_queue_work(x->ed->loop, &x->swork, subs_work, subs_done) != 0) {
        x->sjob = false;
        x->sjob_adopt = false;
        x->sjob_own = false;
        if (x->sjob_ops) { /* back in front of what came since */
            xop_t *last = x->sjob_ops;
            while (last->next)
                last = last->next;
            last->next = x->ops;
            if (!x->ops)
                x->ops_tail = &last->next;
            x->ops = x->sjob_ops;
            x->sjob_ops = NULL;
        }
    }
}

static void xop_push(edge__xmpp_t *x, xop_t *o)
{
    if (x->n_ops >= MAX_XOPS) {
        obs_logkv(OBS_LOG_WARNING, C, "presence subscription not written: the store is behind",
                  "watcher", o->row.watcher, "target", o->row.target, NULL);
        free(o);
        return;
    }
    o->next = NULL;
    *x->ops_tail = o;
    x->ops_tail = &o->next;
    x->n_ops++;
    subs_kick(x);
}

/* Seconds since the epoch at loop time at (ms). */
static int64_t wall_at(edge__xmpp_t *x, uint64_t at)
{
    uint64_t now = uv_now(x->ed->loop);
    int64_t t = (int64_t)time(NULL);
    return at > now ? t + (int64_t)((at - now) / 1000) : t;
}

static void xop_del(edge__xmpp_t *x, store_xsub_dir_t dir, const char *watcher, const char *target)
{
    xop_t *o = fedge_calloc(1, sizeof *o);
    o->del = true;
    o->row.dir = dir;
    snprintf(o->row.watcher, sizeof o->row.watcher, "%s", watcher);
    snprintf(o->row.target, sizeof o->row.target, "%s", target);
    xop_push(x, o);
}

/* claim: a subscription just made here (the row becomes this member's
 * whoever had it); otherwise an update, written only while the row is
 * still this member's (store_xsub_keep). */
static void psub_save(edge__xmpp_t *x, const psub_t *s, bool claim)
{
    xop_t *o = fedge_calloc(1, sizeof *o);
    o->claim = claim;
    store_xsub_t *r = &o->row;
    r->dir = STORE_XSUB_SIP;
    snprintf(r->watcher, sizeof r->watcher, "%s", s->jid_from);
    snprintf(r->target, sizeof r->target, "%s", s->jid_to);
    snprintf(r->owner, sizeof r->owner, "%s", x->ed->cfg->edge.fqdn);
    r->active = s->active;
    snprintf(r->call_id, sizeof r->call_id, "%s", s->call_id);
    snprintf(r->local_tag, sizeof r->local_tag, "%s", s->ltag);
    snprintf(r->remote_tag, sizeof r->remote_tag, "%s", s->rtag);
    snprintf(r->remote_uri, sizeof r->remote_uri, "%s", s->sip_from);
    snprintf(r->remote_target, sizeof r->remote_target, "%s", s->target);
    r->cseq = s->cseq;
    r->expires_s = wall_at(x, s->expires_at);
    snprintf(r->presence, sizeof r->presence, "%s", s->pres);
    snprintf(r->note, sizeof r->note, "%s", s->note);
    xop_push(x, o);
}

static void wsub_save(edge__xmpp_t *x, const wsub_t *w, bool claim)
{
    xop_t *o = fedge_calloc(1, sizeof *o);
    o->claim = claim;
    store_xsub_t *r = &o->row;
    r->dir = STORE_XSUB_XMPP;
    snprintf(r->watcher, sizeof r->watcher, "%s", w->jid_w);
    snprintf(r->target, sizeof r->target, "%s", w->jid_u);
    snprintf(r->owner, sizeof r->owner, "%s", x->ed->cfg->edge.fqdn);
    r->active = w->active;
    snprintf(r->call_id, sizeof r->call_id, "%s", w->call_id);
    snprintf(r->local_tag, sizeof r->local_tag, "%s", w->ltag);
    snprintf(r->remote_tag, sizeof r->remote_tag, "%s", w->rtag);
    snprintf(r->remote_uri, sizeof r->remote_uri, "sip:%s", w->jid_u);
    snprintf(r->remote_target, sizeof r->remote_target, "%s", w->rtarget);
    r->cseq = w->cseq;
    r->expires_s = wall_at(x, w->expires_at);
    snprintf(r->presence, sizeof r->presence, "%s", w->pres);
    snprintf(r->note, sizeof r->note, "%s", w->note);
    xop_push(x, o);
}

/* Copies text (len bytes) into dst, cut on a UTF-8 character boundary. */
static void copy_note(char *dst, size_t cap, const char *text, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    while (n < len && n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    memcpy(dst, text, n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Presence (RFC 7248 as obsoleted by RFC 8048)                         */
/* ------------------------------------------------------------------ */

/* A presence stanza of type (subscribe, unsubscribe) for the subscription. */
static void presence_send(edge__xmpp_t *x, const psub_t *s, const char *type)
{
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<presence type='%s' from='", type);
    xmpp_buf_esc(&b, s->jid_from, strlen(s->jid_from));
    xmpp_buf_printf(&b, "' to='");
    xmpp_buf_esc(&b, s->jid_to, strlen(s->jid_to));
    xmpp_buf_printf(&b, "'/>");
    const char *fd = strchr(s->jid_from, '@'), *td = strchr(s->jid_to, '@');
    fedge_err_t e;
    if (xmpp_s2s_send(x->s2s, fd + 1, td + 1, b.s, b.len, NULL, NULL, &e) < 0)
        obs_logkv(OBS_LOG_INFO, C, "presence stanza not sent", "type", type, "to", s->jid_to,
                  "reason", e.msg, NULL);
    else
        obs_logkv(OBS_LOG_INFO, C, "presence stanza sent", "type", type, "from", s->jid_from, "to",
                  s->jid_to, NULL);
    xmpp_buf_free(&b);
}

/* The PIDF document (RFC 3863, RPID RFC 4480) for an XMPP availability
 * (RFC 8048 §4.3): no type -> open; <show/> away and xa -> open with the
 * activity away, dnd -> open with busy; unavailable -> closed. The
 * <status/> text, when any, is the note. */
static void pidf_set(psub_t *s, bool open, const char *show, const char *status, size_t slen)
{
    const char *act = NULL, *note = open ? "Available" : "Offline";
    if (open && show && (!strcmp(show, "away") || !strcmp(show, "xa"))) {
        act = "away";
        note = !strcmp(show, "xa") ? "Extended away" : "Away";
    } else if (open && show && !strcmp(show, "dnd")) {
        act = "busy";
        note = "Do not disturb";
    }
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<?xml version='1.0' encoding='UTF-8'?>\r\n"
                        "<presence xmlns='urn:ietf:params:xml:ns:pidf'"
                        " xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model'"
                        " xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' entity='");
    xmpp_buf_esc(&b, s->sip_to, strlen(s->sip_to));
    xmpp_buf_printf(&b, "'><tuple id='xmpp'><status><basic>%s</basic></status></tuple>",
                    open ? "open" : "closed");
    if (act)
        xmpp_buf_printf(&b,
                        "<dm:person id='p'><rpid:activities><rpid:%s/></rpid:activities>"
                        "</dm:person>",
                        act);
    xmpp_buf_printf(&b, "<note>");
    if (status && slen) {
        /* At most 200 bytes, cut on a UTF-8 character boundary, so that the
         * escaped document always fits s->pidf. */
        size_t n = slen < 200 ? slen : 200;
        while (n < slen && n > 0 && ((unsigned char)status[n] & 0xC0) == 0x80)
            n--;
        xmpp_buf_esc(&b, status, n);
    } else
        xmpp_buf_printf(&b, "%s", note);
    xmpp_buf_printf(&b, "</note></presence>\r\n");
    if (b.len < sizeof s->pidf)
        memcpy(s->pidf, b.s, b.len + 1);
    xmpp_buf_free(&b);
    bool known = show && (!strcmp(show, "away") || !strcmp(show, "xa") || !strcmp(show, "dnd") ||
                          !strcmp(show, "chat"));
    snprintf(s->pres, sizeof s->pres, "%s", !open ? "unavailable" : known ? show : "available");
    copy_note(s->note, sizeof s->note, status ? status : "", status ? slen : 0);
}

/* A NOTIFY in the subscription's dialog (RFC 6665 §4.2.2), sent to the
 * internal next hops (hop_send), as the MESSAGEs of message_in are; its
 * response is not awaited. */
static void notify(edge__xmpp_t *x, psub_t *s, const char *state, bool body)
{
    const config_t *cf = x->ed->cfg;
    bool tls = cf->internal.transport == CONFIG_TRANSPORT_TLS;
    char r[20];
    rnd_hex(r, 8);
    size_t blen = body ? strlen(s->pidf) : 0;
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b,
                    "NOTIFY %s SIP/2.0\r\n"
                    "Via: SIP/2.0/%s %s:%u;branch=z9hG4bK-xpn-%llu-%s;rport\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: <%s>;tag=%s\r\n"
                    "To: <%s>;tag=%s\r\n"
                    "Call-ID: %s\r\n"
                    "CSeq: %u NOTIFY\r\n"
                    "Contact: <sip:%s:%u;transport=%s>\r\n"
                    "Event: presence\r\n"
                    "Subscription-State: %s\r\n"
                    "%s"
                    "Content-Length: %zu\r\n\r\n",
                    s->target, tls ? "TLS" : "TCP", x->via_host, (unsigned)x->ed->int_port,
                    (unsigned long long)++x->seq, r, s->sip_to, s->ltag, s->sip_from, s->rtag,
                    s->call_id, ++s->cseq, x->via_host, (unsigned)x->ed->int_port,
                    tls ? "tls" : "tcp", state,
                    body ? "Content-Type: application/pidf+xml\r\n" : "", blen);
    if (body)
        xmpp_buf_add(&b, s->pidf, blen);
    if (hop_send(x, b.s, b.len) < 0)
        obs_logkv(OBS_LOG_INFO, C, "NOTIFY not sent", "to", s->sip_from, NULL);
    xmpp_buf_free(&b);
}

static void sub_state(psub_t *s, uint64_t now, char *out, size_t cap)
{
    unsigned left = s->expires_at > now ? (unsigned)((s->expires_at - now) / 1000) : 0;
    snprintf(out, cap, "%s;expires=%u", s->active ? "active" : "pending", left);
}

static void sub_remove(edge__xmpp_t *x, psub_t *s)
{
    xop_del(x, STORE_XSUB_SIP, s->jid_from, s->jid_to);
    for (psub_t **pp = &x->subs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            x->n_subs--;
            xmpp_presence_free(&s->res);
            free(s);
            return;
        }
}

/* SIP SUBSCRIBE (Event: presence) -> XMPP presence subscription (RFC 8048
 * §4.1, §4.4): a new subscription is answered 202 and sends
 * <presence type='subscribe'/>; a refresh is answered 200; Expires: 0
 * ends it with a final NOTIFY and <presence type='unsubscribe'/>. Each is
 * followed by a NOTIFY with the state known (RFC 6665 §4.2.1.2). */
static void subscribe_in(edge__xmpp_t *x, net_conn_t *nc, sip_msg_t *m, const char *fuser,
                         const char *fdom, const char *tuser, const char *dom)
{
    sip_event_t ev;
    if (sip_msg_event(m, &ev) < 0 || !fedge_str_ieq(ev.package, "presence")) {
        answer(x, nc, m, 489, POLICY_DIAG_XMPP_METHOD,
               "only the presence event package is carried to XMPP", "Allow-Events: presence\r\n");
        return;
    }
    const sip_nameaddr_t *from, *ct = NULL;
    fedge_str_t cid;
    long long exp = SUB_MAX_EXPIRES;
    if (sip_msg_from(m, &from) < 0 || sip_msg_call_id(m, &cid) < 0 || !from->has_tag ||
        (sip_msg_find(m, SIP_HDR_EXPIRES) && sip_msg_expires(m, &exp) < 0)) {
        answer(x, nc, m, 400, POLICY_DIAG_XMPP_METHOD,
               "a SUBSCRIBE needs a From tag, a Call-ID and a valid Expires", NULL);
        return;
    }
    if (exp > SUB_MAX_EXPIRES)
        exp = SUB_MAX_EXPIRES;
    if (sip_msg_contact(m, &ct) < 0)
        ct = from;
    psub_t *s = x->subs;
    while (s && !(fedge_str_eq(cid, s->call_id) && fedge_str_eq(from->tag, s->rtag)))
        s = s->next;
    uint64_t now = uv_now(x->ed->loop);
    char hdr[400], st[64];
    if (exp == 0) {
        if (!s) {
            answer(x, nc, m, 481, POLICY_DIAG_XMPP_METHOD, "no such subscription", NULL);
            return;
        }
        answer_tag(x, nc, m, 200, 0, NULL, "Expires: 0\r\n", s->ltag);
        notify(x, s, "terminated;reason=timeout", false);
        presence_send(x, s, "unsubscribe");
        sub_remove(x, s);
        return;
    }
    const sip_nameaddr_t *to;
    if (!s && sip_msg_to(m, &to) == 0 && to->has_tag) {
        /* A refresh of a subscription this edge does not hold (it
         * expired, or the edge restarted): the subscriber starts anew. */
        answer(x, nc, m, 481, POLICY_DIAG_XMPP_METHOD, "no such subscription", NULL);
        return;
    }
    bool fresh = !s;
    if (fresh) {
        if (x->n_subs >= MAX_SUBS || cid.len >= sizeof s->call_id ||
            from->tag.len >= sizeof s->rtag || from->uri_str.len >= sizeof s->sip_from ||
            ct->uri_str.len >= sizeof s->target) {
            answer(x, nc, m, 503, POLICY_DIAG_XMPP_FAILED, "too many presence subscriptions",
                   "Retry-After: 60\r\n");
            return;
        }
        s = fedge_calloc(1, sizeof *s);
        snprintf(s->jid_from, sizeof s->jid_from, "%s@%s", fuser, fdom);
        snprintf(s->jid_to, sizeof s->jid_to, "%s@%s", tuser, dom);
        snprintf(s->sip_from, sizeof s->sip_from, "%.*s", (int)from->uri_str.len, from->uri_str.s);
        const sip_uri_t *ru;
        (void)sip_msg_ruri(m, &ru);
        snprintf(s->sip_to, sizeof s->sip_to, "sip:%.*s@%s", (int)ru->user.len, ru->user.s, dom);
        snprintf(s->target, sizeof s->target, "%.*s", (int)ct->uri_str.len, ct->uri_str.s);
        snprintf(s->call_id, sizeof s->call_id, "%.*s", (int)cid.len, cid.s);
        snprintf(s->rtag, sizeof s->rtag, "%.*s", (int)from->tag.len, from->tag.s);
        rnd_hex(s->ltag, 8);
        s->next = x->subs;
        x->subs = s;
        x->n_subs++;
    }
    s->expires_at = now + (uint64_t)exp * 1000;
    psub_save(x, s, fresh);
    snprintf(hdr, sizeof hdr, "Expires: %lld\r\nContact: <sip:%s:%u;transport=tcp>\r\n", exp,
             x->via_host, (unsigned)x->ed->int_port);
    answer_tag(x, nc, m, fresh ? 202 : 200, 0, NULL, hdr, s->ltag);
    sub_state(s, now, st, sizeof st);
    notify(x, s, st, s->active && s->pidf[0]);
    if (fresh)
        presence_send(x, s, "subscribe");
}

static void bare(char *dst, size_t cap, const char *jid)
{
    const char *sl = strchr(jid, '/');
    size_t n = sl ? (size_t)(sl - jid) : strlen(jid);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, jid, n);
    dst[n] = '\0';
}

/* XMPP presence for subscriptions of the SIP side (RFC 8048 §4.2, §4.3).
 * The state follows the last availability stanza of any resource. A
 * subscription asked by an XMPP user (subscribe, unsubscribe) and probes
 * go to watch_in (the other direction, RFC 8048 §5). */
static void watch_in(edge__xmpp_t *x, const char *local, const char *type, const char *bf,
                     const char *bt);

static void presence_in(edge__xmpp_t *x, const char *local, const xmpp_node_t *st)
{
    const char *type = xmpp_attr(st, "type");
    const char *from = xmpp_attr(st, "from"), *to = xmpp_attr(st, "to");
    if (!from || !to)
        return;
    char bf[400], bt[400];
    bare(bf, sizeof bf, from);
    bare(bt, sizeof bt, to);
    if (type &&
        (!strcmp(type, "subscribe") || !strcmp(type, "unsubscribe") || !strcmp(type, "probe"))) {
        watch_in(x, local, type, bf, bt);
        return;
    }
    bool avail = !type, gone = type && !strcmp(type, "unavailable");
    bool ok = type && !strcmp(type, "subscribed"), no = type && !strcmp(type, "unsubscribed");
    if (!avail && !gone && !ok && !no) {
        obs_logkv(OBS_LOG_DEBUG, C, "XMPP presence not carried", "type", type, "from", from, NULL);
        return;
    }
    const xmpp_node_t *sh = xmpp_child(st, XMPP_NS_SERVER, "show");
    const xmpp_node_t *stt = xmpp_child(st, XMPP_NS_SERVER, "status");
    char show[16] = "";
    if (sh && sh->text_len < sizeof show) {
        memcpy(show, sh->text, sh->text_len);
        show[sh->text_len] = '\0';
    }
    const char *slash = strchr(from, '/');
    uint64_t now = uv_now(x->ed->loop);
    for (psub_t *s = x->subs, *nx; s; s = nx) {
        nx = s->next;
        if (strcasecmp(s->jid_to, bf) || strcasecmp(s->jid_from, bt))
            continue;
        if (no) {
            notify(x, s, "terminated;reason=rejected", false);
            sub_remove(x, s);
            continue;
        }
        bool was_active = s->active;
        s->active = true; /* presence comes only on an approved subscription */
        if (!ok) {
            /* One state for all the user's resources: the most available
             * (xmpp_presence_best); nothing to tell when it did not change. */
            xmpp_presence_update(&s->res, slash ? slash + 1 : "", avail, show,
                                 stt ? stt->text : NULL, stt ? stt->text_len : 0);
            const xmpp_resource_t *best = xmpp_presence_best(&s->res);
            char before[sizeof s->pidf];
            memcpy(before, s->pidf, sizeof before);
            pidf_set(s, best != NULL, best ? best->show : NULL, best ? best->status : NULL,
                     best ? strlen(best->status) : 0);
            bool same = was_active && !s->probed && !strcmp(before, s->pidf);
            s->probed = false;
            if (same) {
                obs_logkv(OBS_LOG_DEBUG, C, "XMPP presence of one resource: no change for SIP",
                          "type", type ? type : "available", "show", show[0] ? show : "-", "from",
                          from, "to", s->sip_from, NULL);
                continue;
            }
        }
        psub_save(x, s, false);
        if (subs_away(x)) {
            /* the NOTIFY would make the subscriber's next refresh come
             * here (it carries our Contact): not before the store says
             * the subscription is still ours (subs_let_go) */
            s->held = true;
            continue;
        }
        char ss[64];
        sub_state(s, now, ss, sizeof ss);
        notify(x, s, ss, s->pidf[0] != '\0');
        obs_logkv(OBS_LOG_INFO, C, "XMPP presence carried to SIP", "type",
                  type ? type : "available", "show", show[0] ? show : "-", "from", bf, "to",
                  s->sip_from, NULL);
    }
}

/* ------------------------------------------------------------------ */
/* XMPP users watching SIP users (RFC 8048 §5)                          */
/* ------------------------------------------------------------------ */

#define WSUB_EXPIRES 3600    /* asked of the presence server */
#define WSUB_RETRY_MS 30000  /* after no answer or a passing failure */
#define WSUB_ANSWER_MS 32000 /* RFC 3261 Timer F */
#define WSUB_CALLID_PREFIX "xps-"

/* A presence stanza from the SIP user to the XMPP watcher: a
 * subscription state (type "subscribed", "unsubscribed") or, with type
 * NULL, the availability w knows (none known: unavailable). Availability
 * comes from the resource "sip" of the SIP user's JID (RFC 6121 §4.2.2
 * wants a full JID); subscription states from the bare JID. */
static void wsub_stanza(edge__xmpp_t *x, const wsub_t *w, const char *type)
{
    const char *pres = w->pres[0] ? w->pres : "unavailable";
    bool off = !type && !strcmp(pres, "unavailable");
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b, "<presence");
    if (type || off)
        xmpp_buf_printf(&b, " type='%s'", type ? type : "unavailable");
    xmpp_buf_printf(&b, " from='");
    xmpp_buf_esc(&b, w->jid_u, strlen(w->jid_u));
    if (!type)
        xmpp_buf_printf(&b, "/sip");
    xmpp_buf_printf(&b, "' to='");
    xmpp_buf_esc(&b, w->jid_w, strlen(w->jid_w));
    xmpp_buf_printf(&b, "'>");
    if (!type && !off && strcmp(pres, "available"))
        xmpp_buf_printf(&b, "<show>%s</show>", pres);
    if (!type && w->note[0]) {
        xmpp_buf_printf(&b, "<status>");
        xmpp_buf_esc(&b, w->note, strlen(w->note));
        xmpp_buf_printf(&b, "</status>");
    }
    xmpp_buf_printf(&b, "</presence>");
    const char *ld = strchr(w->jid_u, '@'), *rd = strchr(w->jid_w, '@');
    fedge_err_t e;
    if (!ld || !rd || xmpp_s2s_send(x->s2s, ld + 1, rd + 1, b.s, b.len, NULL, NULL, &e) < 0)
        obs_logkv(OBS_LOG_INFO, C, "presence stanza not sent", "to", w->jid_w, "reason",
                  ld && rd ? e.msg : "bad JID", NULL);
    else
        obs_logkv(OBS_LOG_INFO, C, "SIP presence carried to XMPP", "type", type ? type : pres,
                  "from", w->jid_u, "to", w->jid_w, NULL);
    xmpp_buf_free(&b);
}

/* The SIP URI user@domain for a bare JID (RFC 7247 §5). */
static int sip_of_jid(const char *jid, char *out, size_t cap)
{
    const char *at = strchr(jid, '@');
    char lp[320], su[400];
    if (!at || (size_t)(at - jid) >= sizeof lp)
        return FEDGE_EINVAL;
    memcpy(lp, jid, (size_t)(at - jid));
    lp[at - jid] = '\0';
    int rc = xmpp_sip_user_from_localpart(lp, su, sizeof su);
    if (rc < 0)
        return rc;
    return snprintf(out, cap, "%s@%s", su, at + 1) < (int)cap ? 0 : FEDGE_ENOSPC;
}

/* Starts w over in a new dialog (a new Call-ID and tag). */
static void wsub_new_dialog(edge__xmpp_t *x, wsub_t *w)
{
    char r[40];
    rnd_hex(r, 16);
    snprintf(w->call_id, sizeof w->call_id, WSUB_CALLID_PREFIX "%s@%s", r, x->ed->cfg->edge.fqdn);
    rnd_hex(w->ltag, 8);
    w->rtag[0] = w->rtarget[0] = '\0';
    w->cseq = 0;
    w->fresh = true;
}

/* Sends SUBSCRIBE (Event: presence, Accept: application/pidf+xml) in w's
 * dialog to the internal side, to the internal next hops (hop_send, as
 * the MESSAGEs of message_in). */
static void wsub_send(edge__xmpp_t *x, wsub_t *w, unsigned expires)
{
    uint64_t now = uv_now(x->ed->loop);
    char wu[800], uu[800];
    if (sip_of_jid(w->jid_w, wu, sizeof wu) < 0 || sip_of_jid(w->jid_u, uu, sizeof uu) < 0) {
        w->refresh_at = now + WSUB_RETRY_MS;
        return;
    }
    const config_t *cf = x->ed->cfg;
    bool tls = cf->internal.transport == CONFIG_TRANSPORT_TLS;
    char r[20], ruri[820];
    rnd_hex(r, 8);
    snprintf(w->branch, sizeof w->branch, "z9hG4bK-xps-%llu-%s", (unsigned long long)++x->seq, r);
    if (w->rtarget[0])
        snprintf(ruri, sizeof ruri, "%s", w->rtarget);
    else
        snprintf(ruri, sizeof ruri, "sip:%s", uu);
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b,
                    "SUBSCRIBE %s SIP/2.0\r\n"
                    "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: <sip:%s>;tag=%s\r\n"
                    "To: <sip:%s>%s%s\r\n"
                    "Call-ID: %s\r\n"
                    "CSeq: %u SUBSCRIBE\r\n"
                    "Contact: <sip:xmpp-gw@%s:%u;transport=%s>\r\n"
                    "Event: presence\r\n"
                    "Accept: application/pidf+xml\r\n"
                    "Expires: %u\r\n"
                    "Content-Length: 0\r\n\r\n",
                    ruri, tls ? "TLS" : "TCP", x->via_host, (unsigned)x->ed->int_port, w->branch,
                    wu, w->ltag, uu, w->rtag[0] ? ";tag=" : "", w->rtag, w->call_id, ++w->cseq,
                    x->via_host, (unsigned)x->ed->int_port, tls ? "tls" : "tcp", expires);
    w->sent_at = now;
    w->refresh_at = 0;
    if (hop_send(x, b.s, b.len) < 0) {
        w->branch[0] = '\0';
        w->refresh_at = now + WSUB_RETRY_MS;
    }
    xmpp_buf_free(&b);
}

static void wsub_remove(edge__xmpp_t *x, wsub_t *w, bool forget)
{
    if (forget)
        xop_del(x, STORE_XSUB_XMPP, w->jid_w, w->jid_u);
    for (wsub_t **pp = &x->wsubs; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            x->n_wsubs--;
            free(w);
            return;
        }
}

/* ------------------------------------------------------------------ */
/* A pool member back from being away from the store (docs/pools.md)    */
/* ------------------------------------------------------------------ */

/* Whether this member may have been adopted from: it is in a pool and no
 * subscription job reached the store for OWN_GAP_MS (half the time after
 * which the others see it stale: its own beat, written by the feed, went
 * through the same database), or the check of that is under way. */
static bool subs_away(edge__xmpp_t *x)
{
    if (!x->ed->cfg->edge.pool_fqdn || x->subs_loading)
        return false;
    if (!x->own_due && !x->sjob_own && (x->n_subs || x->n_wsubs) &&
        uv_now(x->ed->loop) - x->store_ok_ms > OWN_GAP_MS) { /* nothing held: nothing to check */
        x->own_due = true;
        obs_logkv(OBS_LOG_INFO, C,
                  "the store was out of reach: checking which presence subscriptions are still "
                  "this pool member's before refreshing or notifying them",
                  NULL);
    }
    return x->own_due || x->sjob_own;
}

static void lost_free(edge__xmpp_t *x)
{
    while (x->lost) {
        lost_t *l = x->lost;
        x->lost = l->next;
        free(l);
    }
    x->n_lost = 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static bool key_lost(char **keys, size_t n, store_xsub_dir_t dir, const char *watcher,
                     const char *target)
{
    char k[1024];
    snprintf(k, sizeof k, "%d\n%s\n%s", (int)dir, watcher, target);
    const char *kp = k;
    return n && bsearch(&kp, keys, n, sizeof *keys, key_cmp) != NULL;
}

/* After a subscription job: the subscriptions another member owns now
 * (adopted while this one was away, or made anew through it) are let go
 * here without a word to either side — no NOTIFY terminated, no
 * unsubscribe, no Expires: 0: the owner serves them. When the job checked
 * (checked), the NOTIFYs held back meanwhile go out for the rest. */
static void subs_let_go(edge__xmpp_t *x, bool checked)
{
    char **keys = x->n_lost ? fedge_malloc(x->n_lost * sizeof *keys) : NULL;
    size_t n = 0;
    for (lost_t *l = x->lost; l; l = l->next)
        keys[n++] = l->key;
    if (n > 1)
        qsort(keys, n, sizeof *keys, key_cmp);
    size_t n_sip = 0, n_xmpp = 0;
    uint64_t now = uv_now(x->ed->loop);
    for (psub_t **pp = &x->subs; *pp;) {
        psub_t *s = *pp;
        if (key_lost(keys, n, STORE_XSUB_SIP, s->jid_from, s->jid_to)) {
            *pp = s->next; /* the row is the other member's: not deleted */
            x->n_subs--;
            xmpp_presence_free(&s->res);
            free(s);
            n_sip++;
            continue;
        }
        if (checked && s->held) {
            s->held = false;
            char ss[64];
            sub_state(s, now, ss, sizeof ss);
            notify(x, s, ss, s->pidf[0] != '\0');
        }
        pp = &s->next;
    }
    for (wsub_t *w = x->wsubs, *nx; w; w = nx) {
        nx = w->next;
        if (key_lost(keys, n, STORE_XSUB_XMPP, w->jid_w, w->jid_u)) {
            wsub_remove(x, w, false);
            n_xmpp++;
        }
    }
    free(keys);
    lost_free(x);
    if (checked) {
        x->own_due = false;
        obs_logkv(OBS_LOG_INFO, C, "presence subscriptions checked against the store", NULL);
    }
    if (n_sip + n_xmpp) {
        char a[24], b[24];
        snprintf(a, sizeof a, "%zu", n_sip);
        snprintf(b, sizeof b, "%zu", n_xmpp);
        obs_logkv(OBS_LOG_NOTICE, C,
                  "presence subscriptions owned by another pool member now: let go here",
                  "sip_watchers", a, "xmpp_watchers", b, NULL);
    }
}

/* The presence server refused: the watcher is told unsubscribed (RFC
 * 8048 §5.2) and the subscription ends. */
static void wsub_refused(edge__xmpp_t *x, wsub_t *w, const char *why)
{
    obs_logkv(OBS_LOG_INFO, C, "SIP presence subscription for an XMPP user refused", "watcher",
              w->jid_w, "user", w->jid_u, "reason", why, NULL);
    if (w->active)
        wsub_stanza(x, w, "unavailable");
    wsub_stanza(x, w, "unsubscribed");
    wsub_remove(x, w, true);
}

/* A final response to one of the gateway's SUBSCRIBEs. */
static void wsub_response(edge__xmpp_t *x, sip_msg_t *m, fedge_str_t branch)
{
    wsub_t *w = x->wsubs;
    while (w && !fedge_str_eq(branch, w->branch))
        w = w->next;
    if (!w)
        return;
    w->branch[0] = '\0';
    uint64_t now = uv_now(x->ed->loop);
    int st = m->status;
    if (st >= 200 && st < 300) {
        const sip_nameaddr_t *to, *ct;
        if (!w->rtag[0] && sip_msg_to(m, &to) == 0 && to->has_tag && to->tag.len < sizeof w->rtag)
            snprintf(w->rtag, sizeof w->rtag, "%.*s", (int)to->tag.len, to->tag.s);
        if (sip_msg_contact(m, &ct) == 0 && !ct->star && ct->uri_str.len < sizeof w->rtarget)
            snprintf(w->rtarget, sizeof w->rtarget, "%.*s", (int)ct->uri_str.len, ct->uri_str.s);
        long long exp = WSUB_EXPIRES;
        if (sip_msg_find(m, SIP_HDR_EXPIRES) &&
            (sip_msg_expires(m, &exp) < 0 || exp > WSUB_EXPIRES))
            exp = WSUB_EXPIRES;
        if (exp < 10)
            exp = 10;
        w->fresh = false;
        w->expires_at = now + (uint64_t)exp * 1000;
        w->refresh_at = now + (uint64_t)exp * 800; /* before it ends (RFC 6665 §4.1.2.1) */
        wsub_save(x, w, false);
        return;
    }
    char why[80];
    snprintf(why, sizeof why, "SIP %d", st);
    if (st == 481 && !w->fresh) {
        /* The server forgot the dialog (it restarted, or ours outlived
         * it): a new one. */
        wsub_new_dialog(x, w);
        wsub_send(x, w, WSUB_EXPIRES);
    } else if (st == 408 || (st >= 500 && st < 600)) {
        w->refresh_at = now + WSUB_RETRY_MS; /* passing: tried again */
    } else
        wsub_refused(x, w, why);
}

/* Subscription-State: substate *(";" param): the state and the reason and
 * expires parameters. */
static void sub_state_parse(fedge_str_t v, char *state, size_t cap, char *reason, size_t rcap,
                            long long *expires)
{
    size_t i = 0;
    while (i < v.len && v.s[i] != ';' && v.s[i] != ' ' && v.s[i] != '\t')
        i++;
    lower(state, cap, (fedge_str_t){v.s, i});
    reason[0] = '\0';
    *expires = -1;
    while (i < v.len) {
        while (i < v.len && (v.s[i] == ';' || v.s[i] == ' ' || v.s[i] == '\t'))
            i++;
        size_t k = i;
        while (i < v.len && v.s[i] != ';')
            i++;
        fedge_str_t p = {v.s + k, i - k};
        if (p.len > 7 && !strncasecmp(p.s, "reason=", 7))
            lower(reason, rcap, (fedge_str_t){p.s + 7, p.len - 7});
        else if (p.len > 8 && !strncasecmp(p.s, "expires=", 8))
            *expires = strtoll(p.s + 8, NULL, 10);
    }
}

/* A NOTIFY from the internal presence server for one of the gateway's
 * SUBSCRIBE dialogs (RFC 8048 §5.3): answered here, its state carried to
 * the XMPP watcher. Returns false when the NOTIFY is not the gateway's. */
static bool notify_in(edge__xmpp_t *x, net_conn_t *nc, sip_msg_t *m)
{
    fedge_str_t cid;
    const sip_nameaddr_t *from, *to;
    if (!m->is_request || m->method_id != SIP_METHOD_NOTIFY || sip_msg_call_id(m, &cid) < 0 ||
        sip_msg_to(m, &to) < 0 || sip_msg_from(m, &from) < 0)
        return false;
    wsub_t *w = x->wsubs;
    while (w && !(fedge_str_eq(cid, w->call_id) && fedge_str_eq(to->tag, w->ltag)))
        w = w->next;
    if (!w) {
        /* ours by the form of wsub_new_dialog's Call-IDs: prefix@fqdn */
        const char *fq = x->ed->cfg->edge.fqdn;
        size_t fl = strlen(fq);
        if (cid.len < sizeof WSUB_CALLID_PREFIX + fl + 1 ||
            strncmp(cid.s, WSUB_CALLID_PREFIX, sizeof WSUB_CALLID_PREFIX - 1) ||
            cid.s[cid.len - fl - 1] != '@' || strncasecmp(cid.s + cid.len - fl, fq, fl))
            return false;
        /* a dialog the gateway ended or forgot: the server ends it too
         * (RFC 6665 §4.1.3) */
        answer(x, nc, m, 481, POLICY_DIAG_XMPP_METHOD, "no such subscription", NULL);
        return true;
    }
    const sip_hdr_t *ss = sip_msg_find(m, SIP_HDR_SUBSCRIPTION_STATE);
    if (!ss) {
        answer(x, nc, m, 400, POLICY_DIAG_XMPP_METHOD, "a NOTIFY needs Subscription-State", NULL);
        return true;
    }
    answer_tag(x, nc, m, 200, 0, NULL, NULL, w->ltag);
    if (!w->rtag[0] && from->has_tag && from->tag.len < sizeof w->rtag)
        snprintf(w->rtag, sizeof w->rtag, "%.*s", (int)from->tag.len, from->tag.s);
    const sip_nameaddr_t *ct;
    if (sip_msg_contact(m, &ct) == 0 && !ct->star && ct->uri_str.len < sizeof w->rtarget)
        snprintf(w->rtarget, sizeof w->rtarget, "%.*s", (int)ct->uri_str.len, ct->uri_str.s);
    char state[24], reason[24];
    long long exp;
    sub_state_parse(ss->value, state, sizeof state, reason, sizeof reason, &exp);
    bool body = false;
    sip_mtype_t mt;
    if (m->body.len && sip_msg_content_type(m, &mt) == 0 && fedge_str_ieq(mt.type, "application") &&
        fedge_str_ieq(mt.subtype, "pidf+xml")) {
        xmpp_pidf_t pf;
        if (xmpp_pidf_parse(m->body.s, m->body.len, &pf) == 0) {
            snprintf(w->pres, sizeof w->pres, "%s", xmpp_pidf_show(&pf));
            if (xmpp_text_ok(pf.note, strlen(pf.note)))
                snprintf(w->note, sizeof w->note, "%s", pf.note);
            else
                w->note[0] = '\0';
            body = true;
        } else
            obs_logkv(OBS_LOG_INFO, C, "PIDF document not understood: state unchanged", "user",
                      w->jid_u, NULL);
    }
    uint64_t now = uv_now(x->ed->loop);
    if (!strcmp(state, "terminated")) {
        if (!strcmp(reason, "timeout") || !strcmp(reason, "deactivated") ||
            !strcmp(reason, "probation") || reason[0] == '\0') {
            /* RFC 6665 §4.1.3: subscribe anew (a new dialog) */
            wsub_new_dialog(x, w);
            wsub_send(x, w, WSUB_EXPIRES);
            wsub_save(x, w, false);
        } else
            wsub_refused(x, w, reason);
        return true;
    }
    if (exp >= 0 && exp <= WSUB_EXPIRES) {
        w->expires_at = now + (uint64_t)exp * 1000;
        if (!w->branch[0])
            w->refresh_at = now + (uint64_t)(exp < 10 ? 1 : exp) * 800;
    }
    if (!strcmp(state, "active")) {
        if (!w->active) {
            w->active = true;
            wsub_stanza(x, w, "subscribed");
        }
        if (body)
            wsub_stanza(x, w, NULL);
    }
    wsub_save(x, w, false);
    return true;
}

/* <presence type='subscribe|unsubscribe|probe'/> from an XMPP user to a
 * user of our SIP domains (RFC 8048 §5.1, §5.4; RFC 6121 §3, §4.3). */
static void watch_in(edge__xmpp_t *x, const char *local, const char *type, const char *bf,
                     const char *bt)
{
    const char *at = strchr(bt, '@');
    if (!at || at == bt || strchr(bt, '/') || !strchr(bf, '@') || strlen(bf) >= 400 ||
        strlen(bt) >= 400)
        return;
    wsub_t *w = x->wsubs;
    while (w && (strcasecmp(w->jid_w, bf) || strcasecmp(w->jid_u, bt)))
        w = w->next;
    bool sub = !strcmp(type, "subscribe"), probe = !strcmp(type, "probe");
    const store_snapshot_t *snap = snap_of(x);
    const store_policy_t *pol =
        snap ? policy_for_user(snap, (fedge_str_t){bt, (size_t)(at - bt)},
                               (fedge_str_t){local, strlen(local)}, (fedge_str_t){"", 0})
             : NULL;
    wsub_t tmp = {0};
    snprintf(tmp.jid_w, sizeof tmp.jid_w, "%s", bf);
    snprintf(tmp.jid_u, sizeof tmp.jid_u, "%s", bt);
    if (!strcmp(type, "unsubscribe")) {
        if (w) {
            /* RFC 6121 §3.3.3: the watcher gets unavailable; the SIP
             * subscription ends (Expires: 0) and is forgotten. */
            wsub_stanza(x, w, "unavailable");
            wsub_send(x, w, 0);
            wsub_remove(x, w, true);
        }
        return;
    }
    if (!pol || !pol->xmpp) {
        x->fig.refused_policy++;
        obs_logkv(OBS_LOG_INFO, C,
                  "XMPP presence subscription refused: the user's policy has XMPP off", "watcher",
                  bf, "user", bt, NULL);
        wsub_stanza(x, w ? w : &tmp, "unsubscribed");
        if (w)
            wsub_remove(x, w, true);
        return;
    }
    if (probe) {
        /* RFC 6121 §4.3.2: the state to a subscriber, unsubscribed to
         * anyone else */
        wsub_stanza(x, w && w->active ? w : &tmp, w && w->active ? NULL : "unsubscribed");
        return;
    }
    if (!sub)
        return;
    if (w) {
        if (w->active) { /* RFC 6121 §3.1.3: already approved */
            wsub_stanza(x, w, "subscribed");
            wsub_stanza(x, w, NULL);
        }
        return;
    }
    if (x->n_wsubs >= MAX_SUBS) {
        wsub_stanza(x, &tmp, "unsubscribed");
        return;
    }
    w = fedge_calloc(1, sizeof *w);
    *w = tmp;
    wsub_new_dialog(x, w);
    w->next = x->wsubs;
    x->wsubs = w;
    x->n_wsubs++;
    obs_logkv(OBS_LOG_INFO, C, "XMPP presence subscription carried to SIP", "watcher", bf, "user",
              bt, NULL);
    wsub_send(x, w, WSUB_EXPIRES);
    wsub_save(x, w, true);
}

/* Whether w may go on: the watcher's domain still an XMPP partner (not
 * blocked, on the list or discovered), the SIP user's policy still with
 * XMPP on. Checked before each refresh. */
static bool wsub_allowed(edge__xmpp_t *x, const wsub_t *w, char *why, size_t cap)
{
    const char *wd = strchr(w->jid_w, '@'), *ud = strchr(w->jid_u, '@');
    if (!wd || !ud)
        return false;
    xmpp_peer_policy_t pp;
    s2s_policy(x, wd + 1, &pp);
    if (!pp.allowed) {
        snprintf(why, cap, "%s", pp.why);
        return false;
    }
    const store_snapshot_t *snap = snap_of(x);
    const store_policy_t *pol =
        snap ? policy_for_user(snap, (fedge_str_t){w->jid_u, (size_t)(ud - w->jid_u)},
                               (fedge_str_t){ud + 1, strlen(ud + 1)}, (fedge_str_t){"", 0})
             : NULL;
    if (snap && (!pol || !pol->xmpp)) {
        snprintf(why, cap, "the external access policy of %s does not allow XMPP", w->jid_u);
        return false;
    }
    return true;
}

/* Refreshes due, answers that never came (every second). */
static void wsubs_tick(edge__xmpp_t *x)
{
    uint64_t now = uv_now(x->ed->loop);
    for (wsub_t *w = x->wsubs, *nx; w; w = nx) {
        nx = w->next;
        if (w->branch[0] && now - w->sent_at > WSUB_ANSWER_MS) {
            w->branch[0] = '\0';
            w->refresh_at = now + WSUB_RETRY_MS;
        }
        if (w->branch[0] || !w->refresh_at || now < w->refresh_at)
            continue;
        char why[480];
        if (!wsub_allowed(x, w, why, sizeof why)) {
            /* ended on both sides: Expires: 0 to SIP, unsubscribed to XMPP
             * (which a blocked partner's stream no longer carries) */
            wsub_send(x, w, 0);
            wsub_refused(x, w, why);
            continue;
        }
        wsub_send(x, w, WSUB_EXPIRES);
    }
}

/* After a restart: the subscriptions this edge held come back from the
 * store. A SIP user's subscription to an XMPP user is held again as the
 * same dialog (refreshes keep working) and the XMPP user is probed for
 * the current state (RFC 6121 §4.3); an XMPP user's subscription to a SIP
 * user is refreshed in its stored dialog (a new one if the presence
 * server answers 481). Ones that expired meanwhile are dropped. */
static void subs_restore(edge__xmpp_t *x)
{
    uint64_t now = uv_now(x->ed->loop);
    int64_t t = (int64_t)time(NULL);
    size_t n_sip = 0, n_xmpp = 0;
    x->restore_due = false;
    for (size_t i = 0; i < x->n_loaded; i++) {
        store_xsub_t *r = x->loaded[i];
        if (r->dir == STORE_XSUB_SIP) {
            psub_t *s = x->subs;
            while (s && (strcasecmp(s->jid_from, r->watcher) || strcasecmp(s->jid_to, r->target)))
                s = s->next;
            char su[396]; /* fits s->sip_to after "sip:" */
            if (s || x->n_subs >= MAX_SUBS || sip_of_jid(r->target, su, sizeof su) < 0)
                continue;
            if (r->expires_s <= t) {
                xop_del(x, STORE_XSUB_SIP, r->watcher, r->target);
                continue;
            }
            s = fedge_calloc(1, sizeof *s);
            snprintf(s->jid_from, sizeof s->jid_from, "%s", r->watcher);
            snprintf(s->jid_to, sizeof s->jid_to, "%s", r->target);
            snprintf(s->sip_from, sizeof s->sip_from, "%s", r->remote_uri);
            snprintf(s->sip_to, sizeof s->sip_to, "sip:%s", su);
            snprintf(s->target, sizeof s->target, "%s", r->remote_target);
            snprintf(s->call_id, sizeof s->call_id, "%s", r->call_id);
            snprintf(s->rtag, sizeof s->rtag, "%s", r->remote_tag);
            snprintf(s->ltag, sizeof s->ltag, "%.23s", r->local_tag);
            s->cseq = (uint32_t)r->cseq;
            s->active = r->active;
            s->expires_at = now + (uint64_t)(r->expires_s - t) * 1000;
            if (r->presence[0]) {
                bool open = strcmp(r->presence, "unavailable") != 0;
                pidf_set(s, open, r->presence, r->note, strlen(r->note));
            }
            s->next = x->subs;
            x->subs = s;
            x->n_subs++;
            s->probed = true;
            presence_send(x, s, "probe");
            n_sip++;
        } else {
            wsub_t *w = x->wsubs;
            while (w && (strcasecmp(w->jid_w, r->watcher) || strcasecmp(w->jid_u, r->target)))
                w = w->next;
            if (w || x->n_wsubs >= MAX_SUBS)
                continue;
            w = fedge_calloc(1, sizeof *w);
            snprintf(w->jid_w, sizeof w->jid_w, "%s", r->watcher);
            snprintf(w->jid_u, sizeof w->jid_u, "%s", r->target);
            snprintf(w->call_id, sizeof w->call_id, "%s", r->call_id);
            snprintf(w->ltag, sizeof w->ltag, "%s", r->local_tag);
            snprintf(w->rtag, sizeof w->rtag, "%s", r->remote_tag);
            snprintf(w->rtarget, sizeof w->rtarget, "%s", r->remote_target);
            snprintf(w->pres, sizeof w->pres, "%s", r->presence);
            snprintf(w->note, sizeof w->note, "%s", r->note);
            w->cseq = (uint32_t)r->cseq;
            w->active = r->active;
            w->expires_at = r->expires_s > t ? now + (uint64_t)(r->expires_s - t) * 1000 : now;
            if (!w->call_id[0] || !w->ltag[0])
                wsub_new_dialog(x, w);
            w->next = x->wsubs;
            x->wsubs = w;
            x->n_wsubs++;
            wsub_send(x, w, WSUB_EXPIRES);
            n_xmpp++;
        }
    }
    for (size_t i = 0; i < x->n_loaded; i++)
        free(x->loaded[i]);
    free(x->loaded);
    x->loaded = NULL;
    x->n_loaded = 0;
    char a[24], b[24];
    snprintf(a, sizeof a, "%zu", n_sip);
    snprintf(b, sizeof b, "%zu", n_xmpp);
    obs_logkv(OBS_LOG_INFO, C, "presence subscriptions restored from the store", "sip_watchers", a,
              "xmpp_watchers", b, NULL);
}

/* Subscriptions not refreshed in time end (RFC 6665 §4.2.2). */
static void subs_expire(edge__xmpp_t *x)
{
    uint64_t now = uv_now(x->ed->loop);
    for (psub_t *s = x->subs, *nx; s; s = nx) {
        nx = s->next;
        if (s->expires_at > now)
            continue;
        notify(x, s, "terminated;reason=timeout", false);
        presence_send(x, s, "unsubscribe");
        sub_remove(x, s);
    }
}

static void message_in(edge__xmpp_t *x, const char *remote, const char *local,
                       const xmpp_node_t *st)
{
    const char *type = xmpp_attr(st, "type");
    const char *from = xmpp_attr(st, "from"), *to = xmpp_attr(st, "to");
    const char *id = xmpp_attr(st, "id");
    if (type && !strcmp(type, "error")) {
        obs_logkv(OBS_LOG_INFO, C, "XMPP error for a message from the SIP side", "from",
                  from ? from : "-", "to", to ? to : "-", NULL);
        return;
    }
    if (type && strcmp(type, "chat") && strcmp(type, "normal"))
        return; /* groupchat, headline: not carried (RFC 7572 is one-to-one) */
    const xmpp_node_t *body = xmpp_child(st, XMPP_NS_SERVER, "body");
    if (!body || !from || !to)
        return; /* chat states and receipts without a body: nothing to carry */
    /* The addresses (RFC 7247 §5): localpart@domain[/resource]. */
    char tl[320], fl[320], tu[400], fu[400];
    const char *at = strchr(to, '@'), *fat = strchr(from, '@');
    size_t tlen = at ? (size_t)(at - to) : 0, flen = fat ? (size_t)(fat - from) : 0;
    if (!tlen || tlen >= sizeof tl || !flen || flen >= sizeof fl) {
        stanza_error(x, local, remote, from, to, id, "modify", "jid-malformed",
                     "a message for a SIP user needs localpart@domain addresses");
        return;
    }
    memcpy(tl, to, tlen);
    tl[tlen] = '\0';
    memcpy(fl, from, flen);
    fl[flen] = '\0';
    if (xmpp_sip_user_from_localpart(tl, tu, sizeof tu) < 0 ||
        xmpp_sip_user_from_localpart(fl, fu, sizeof fu) < 0) {
        stanza_error(x, local, remote, from, to, id, "modify", "jid-malformed", NULL);
        return;
    }
    const store_snapshot_t *snap = snap_of(x);
    const store_policy_t *pol =
        snap ? policy_for_user(snap, (fedge_str_t){tl, tlen}, (fedge_str_t){local, strlen(local)},
                               (fedge_str_t){"", 0})
             : NULL;
    if (!pol || !pol->xmpp) {
        x->fig.refused_policy++;
        stanza_error(x, local, remote, from, to, id, "auth", "forbidden",
                     "the recipient's external access policy does not allow XMPP");
        return;
    }
    if (x->n_hp >= MAX_PENDING) {
        x->fig.refused_limit++;
        stanza_error(x, local, remote, from, to, id, "wait", "resource-constraint", NULL);
        return;
    }
    hop_pend_t *h = fedge_calloc(1, sizeof *h);
    char r[20];
    rnd_hex(r, 8);
    snprintf(h->branch, sizeof h->branch, "z9hG4bK-xmpp-%llu-%s", (unsigned long long)++x->seq, r);
    snprintf(h->from, sizeof h->from, "%s", from);
    snprintf(h->to, sizeof h->to, "%s", to);
    snprintf(h->id, sizeof h->id, "%s", id ? id : "");
    snprintf(h->local, sizeof h->local, "%s", local);
    snprintf(h->remote, sizeof h->remote, "%s", remote);
    h->deadline = uv_now(x->ed->loop) + HOP_TIMEOUT_MS;
    const config_t *cf = x->ed->cfg;
    bool tls = cf->internal.transport == CONFIG_TRANSPORT_TLS;
    xmpp_buf_t b = {0};
    xmpp_buf_printf(&b,
                    "MESSAGE sip:%s@%s SIP/2.0\r\n"
                    "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: <sip:%s@%s>;tag=x%s\r\n"
                    "To: <sip:%s@%s>\r\n"
                    "Call-ID: xmpp-%llu-%s@%s\r\n"
                    "CSeq: 1 MESSAGE\r\n"
                    "Content-Type: text/plain;charset=UTF-8\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    tu, local, tls ? "TLS" : "TCP", x->via_host, (unsigned)x->ed->int_port,
                    h->branch, fu, remote, r, tu, local, (unsigned long long)x->seq, r,
                    cf->edge.fqdn, body->text_len);
    xmpp_buf_add(&b, body->text, body->text_len);
    int rc = hop_send(x, b.s, b.len);
    xmpp_buf_free(&b);
    if (rc < 0) {
        free(h);
        stanza_error(x, local, remote, from, to, id, "wait", "service-unavailable",
                     "the internal SIP server is not reachable");
        return;
    }
    h->hop = (size_t)rc;
    h->next = x->hp;
    x->hp = h;
    x->n_hp++;
    x->fig.xmpp_to_sip++;
}

static void s2s_stanza(void *user, const char *remote, const char *local, const xmpp_node_t *st)
{
    edge__xmpp_t *x = user;
    if (!strcmp(st->name, "message")) {
        message_in(x, remote, local, st);
    } else if (!strcmp(st->name, "iq")) {
        /* RFC 6120 §8.2.3: every get/set gets an answer; the gateway
         * offers no IQ service. */
        const char *type = xmpp_attr(st, "type");
        if (!type || (strcmp(type, "get") && strcmp(type, "set")))
            return;
        const char *from = xmpp_attr(st, "from"), *to = xmpp_attr(st, "to");
        const char *id = xmpp_attr(st, "id");
        xmpp_buf_t b = {0};
        xmpp_buf_printf(&b, "<iq type='error' from='");
        xmpp_buf_esc(&b, to ? to : local, strlen(to ? to : local));
        xmpp_buf_printf(&b, "' to='");
        xmpp_buf_esc(&b, from ? from : remote, strlen(from ? from : remote));
        xmpp_buf_printf(&b, "' id='");
        xmpp_buf_esc(&b, id ? id : "", strlen(id ? id : ""));
        xmpp_buf_printf(&b, "'><error type='cancel'><service-unavailable xmlns='" XMPP_NS_STANZA_ERR
                            "'/></error></iq>");
        xmpp_s2s_send(x->s2s, local, remote, b.s, b.len, NULL, NULL, NULL);
        xmpp_buf_free(&b);
    } else if (!strcmp(st->name, "presence"))
        presence_in(x, local, st);
}

static void s2s_log(void *user, int level, const char *msg)
{
    obs_log(level == XMPP_LOG_DEBUG  ? OBS_LOG_DEBUG
            : level == XMPP_LOG_INFO ? OBS_LOG_INFO
                                     : OBS_LOG_WARNING,
            C, "%s", msg);
}

static void on_timer(uv_timer_t *t)
{
    edge__xmpp_t *x = t->data;
    refresh(x); /* a store change reaches the list within a second */
    fail_hop(x, SIZE_MAX, false, "remote-server-timeout", "the internal SIP server did not answer");
    /* away from the store: another member may serve these now; their
     * expiries (NOTIFY terminated, unsubscribe) and refreshes wait for
     * the check (subs_away, subs_let_go) */
    bool away = subs_away(x);
    if (!away)
        subs_expire(x);
    if (x->restore_due && snap_of(x))
        subs_restore(x);
    if (!away)
        wsubs_tick(x);
    uint64_t now = uv_now(x->ed->loop);
    if (x->ed->cfg->edge.pool_fqdn && now >= x->adopt_next_ms) {
        x->adopt_due = true; /* stale members' subscriptions (docs/pools.md) */
        x->adopt_next_ms = now + STORE_MEMBER_BEAT_S * 1000u;
    }
    subs_kick(x); /* a restore, writes waiting after a store failure, an adoption */
}

/* ------------------------------------------------------------------ */
/* Life                                                                */
/* ------------------------------------------------------------------ */

int edge__xmpp_new(edge_t *ed, edge__xmpp_t **out, fedge_err_t *e)
{
    const config_t *cf = ed->cfg;
    *out = NULL;
    edge__xmpp_t *x = fedge_calloc(1, sizeof *x);
    x->ed = ed;
    sip_limits_default(&x->lim);
    x->lim.max_message_size = cf->limits.max_message_size;
    x->msg = fedge_malloc(sizeof *x->msg);
    x->n_hops = cf->internal.next_hop.count;
    x->hops = fedge_calloc(x->n_hops ? x->n_hops : 1, sizeof *x->hops);
    for (size_t i = 0; i < x->n_hops; i++) {
        x->hops[i].x = x;
        x->hops[i].idx = i;
        sip_framer_init(&x->hops[i].fr, cf->limits.max_message_size);
    }
    snprintf(x->via_host, sizeof x->via_host, "%s", cf->edge.fqdn);
    for (size_t i = 0; i < cf->internal.listen.count; i++) {
        const char *h = cf->internal.listen.items[i].host;
        if (strcmp(h, "0.0.0.0") && strcmp(h, "::")) {
            if (strchr(h, ':'))
                snprintf(x->via_host, sizeof x->via_host, "[%s]", h);
            else
                snprintf(x->via_host, sizeof x->via_host, "%s", h);
            break;
        }
    }
    /* Our certificate for STARTTLS (server) and SASL EXTERNAL (client):
     * [xmpp]'s, else [external]'s; a client certificate is asked for but
     * optional, so that partners without one can use dialback. The
     * partners' certificates are checked against [external]'s CRLs, as on
     * the SIP side (a revoked one is not verified: no SASL EXTERNAL
     * inbound, no stream outbound); edge_reload_tls re-reads them. */
    net_tls_opts_t to = {
        .certificate = cf->xmpp.certificate ? cf->xmpp.certificate : cf->external.certificate,
        .private_key = cf->xmpp.certificate ? cf->xmpp.private_key : cf->external.private_key,
        .ca_file = cf->xmpp.ca_file ? cf->xmpp.ca_file : cf->external.ca_file,
        .ca_path = cf->xmpp.ca_file ? NULL : cf->external.ca_path,
        .require_client_certificate = false,
        .min_version = config_tls_version_name(cf->external.tls_min_version),
        .crl_file = cf->external.crl_file,
        .crl_path = cf->external.crl_path};
    fedge_err_t e1;
    int rc = net_tls_new(&to, &x->tls, &e1);
    if (rc < 0) {
        free(x->msg);
        free(x);
        return fedge_err(e, FEDGE_ECONFIG, "[xmpp] %s", e1.msg);
    }
    const char *doms[PROXY_MAX_DOMAINS];
    size_t nd = 0;
    for (size_t i = 0; i < cf->edge.sip_domain_count && nd < PROXY_MAX_DOMAINS; i++)
        doms[nd++] = cf->edge.sip_domains[i];
    /* The first list now, as the federation driver loads its first
     * snapshot: until it is there every request would go to SIP. */
    fedge_err_t e2;
    if (store_open(cf->edge.store, &x->store, &e2) == 0 &&
        store_xmpp_load(x->store, &x->list, &e2) == 0) {
        x->list_loaded = true;
        x->list_gen = x->list->generation;
    } else {
        obs_logkv(OBS_LOG_WARNING, C, "cannot read the XMPP partner list yet: retrying", "reason",
                  e2.msg, NULL);
    }
    uv_timer_init(ed->loop, &x->timer);
    x->timer.data = x;
    x->ops_tail = &x->ops;
    x->subs_loading = true; /* the first job restores this edge's subscriptions */
    subs_kick(x);
    uv_timer_start(&x->timer, on_timer, 1000, 1000);
    x->store_ok_ms = uv_now(ed->loop);
    /* One service for every listen address: partners, dialback secret and
     * outbound streams are one, whichever address a stream came in on. */
    for (size_t i = 0; i < cf->xmpp.listen.count; i++) {
        char hp[PROXY_HOST_MAX + 16];
        fedge_hostport_format(hp, sizeof hp, cf->xmpp.listen.items[i].host,
                              cf->xmpp.listen.items[i].port);
        uint16_t port = 0;
        if (i == 0) {
            xmpp_s2s_opts_t o = {.loop = ed->loop,
                                 .net = ed->net,
                                 .dns = ed->dns,
                                 .tls = x->tls,
                                 .listen = hp,
                                 .domains = doms,
                                 .n_domains = nd,
                                 .rate = cf->xmpp.stanza_rate,
                                 .cbs = {s2s_policy, s2s_stanza, s2s_log},
                                 .user = x};
            rc = xmpp_s2s_new(&o, &x->s2s, e);
            if (rc == 0)
                port = xmpp_s2s_port(x->s2s);
        } else {
            rc = xmpp_s2s_listen(x->s2s, hp, &port, e);
        }
        if (rc < 0) { /* e names the address (net_listen) */
            edge__xmpp_free(x);
            return rc;
        }
        char ps[8];
        snprintf(ps, sizeof ps, "%u", port);
        obs_logkv(OBS_LOG_NOTICE, "serve", "listening", "side", "xmpp", "address",
                  cf->xmpp.listen.items[i].host, "port", ps, "transport", "tcp+starttls", NULL);
    }
    *out = x;
    return 0;
}

void edge__xmpp_stop_accepting(edge__xmpp_t *x)
{
    if (x)
        xmpp_s2s_stop_accepting(x->s2s);
}

int edge__xmpp_reload_tls(edge__xmpp_t *x, fedge_err_t *e)
{
    return x ? net_tls_reload(x->tls, e) : 0;
}

/* The last of x: once its timer is closed and no job runs. The writes
 * still queued are done now (the loop is stopping: waiting is fine), so
 * that a restart finds the last state. */
static void release(edge__xmpp_t *x)
{
    fedge_err_t e;
    if (x->ops && !x->sstore && store_open(x->ed->cfg->edge.store, &x->sstore, &e) < 0)
        x->sstore = NULL;
    while (x->ops) {
        xop_t *o = x->ops;
        x->ops = o->next;
        bool lost;
        if (x->sstore &&
            (o->del     ? store_xsub_del(x->sstore, o->row.dir, o->row.watcher, o->row.target, &e)
             : o->claim ? store_xsub_put(x->sstore, &o->row, &e)
                        : store_xsub_keep(x->sstore, &o->row, &lost, &e)) < 0)
            fprintf(stderr, "fedge: presence subscription not written: %s\n", e.msg);
        free(o);
    }
    for (size_t i = 0; i < x->n_loaded; i++)
        free(x->loaded[i]);
    free(x->loaded);
    lost_free(x);
    store_close(x->sstore);
    store_xmpp_list_free(x->list);
    store_close(x->store);
    free(x);
}

void edge__xmpp_figures(const edge__xmpp_t *x, edge__xmpp_figures_t *out)
{
    memset(out, 0, sizeof *out);
    if (!x)
        return;
    *out = x->fig;
    out->subs_sip = x->n_subs;
    out->subs_xmpp = x->n_wsubs;
    if (x->s2s) {
        xmpp_s2s_stats_t st;
        xmpp_s2s_stats(x->s2s, &st);
        out->streams_in = st.streams_in;
        out->streams_out = st.streams_out;
        out->stanzas_in = st.stanzas_in;
        out->stanzas_out = st.stanzas_out;
        out->refused_partner += st.refused;
        out->refused_limit += st.refused_limit;
    }
}

static void maybe_release(edge__xmpp_t *x)
{
    if (x->freeing && x->timer_done && !x->job && !x->sjob)
        release(x);
}

static void timer_closed(uv_handle_t *h)
{
    edge__xmpp_t *x = h->data;
    x->timer_done = true;
    maybe_release(x);
}

void edge__xmpp_free(edge__xmpp_t *x)
{
    if (!x)
        return;
    x->freeing = true;
    for (sip_pend_t *p = x->sp; p; p = p->next)
        p->x = NULL; /* their callbacks come from the s2s service later */
    x->sp = NULL;
    if (x->s2s)
        xmpp_s2s_free(x->s2s);
    for (size_t i = 0; i < x->n_hops; i++) {
        hop_t *h = &x->hops[i];
        if (h->c) {
            net_conn_set_user(h->c, NULL);
            net_conn_close(h->c);
        }
        xmpp_buf_free(&h->early);
        free(h->buf);
    }
    free(x->hops);
    x->hops = NULL;
    x->n_hops = 0;
    while (x->subs) { /* kept in the store for the next start */
        psub_t *s = x->subs;
        x->subs = s->next;
        xmpp_presence_free(&s->res);
        free(s);
    }
    while (x->wsubs) {
        wsub_t *w = x->wsubs;
        x->wsubs = w->next;
        free(w);
    }
    while (x->hp) {
        hop_pend_t *h = x->hp;
        x->hp = h->next;
        free(h);
    }
    net_tls_free(x->tls);
    free(x->msg);
    uv_timer_stop(&x->timer);
    uv_close((uv_handle_t *)&x->timer, timer_closed); /* then release() */
}
