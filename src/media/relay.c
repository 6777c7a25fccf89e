/* relay.c — what the edge runs for a SIP message with SDP crossing sides:
 * the offer/answer table decides the ng command, the ng client sends it,
 * and the relay's SDP replaces the sender's in the body to forward. */
#include "media/media.h"
#include "obs/obs.h"
#include "sip/sip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_IDLE_MS (12u * 3600u * 1000u)

struct media_relay {
    uv_loop_t *loop;
    media_client_t *ng;
    media_calls_t *calls;
    char *iface[2];
    media_transport_t tp[2];
    bool forward_on_failure;
};

/* One ng query of media_relay_run_checks. */
typedef struct {
    media_relay_t *r;
    media_check_t kind;
    size_t idlen;
    char id[];
} check_t;

/* One ng command of a job (media_step_t with its call-id copied). */
typedef struct {
    media_act_t act;
    media_side_t from;
    bool trusted;
    char *call_id;
    size_t call_id_len;
} step_t;

struct media_job {
    media_relay_t *r;
    media_pending_t *pending;
    media_out_cb cb;
    void *arg;
    bool request, new_call;
    media_cmd_t cmd;
    char *call_id; /* the command's relay call (the step's) */
    size_t call_id_len;
    char *body; /* a copy of the message body */
    size_t body_len;
    media_sdp_loc_t loc;
    /* the message's tags and sender, for each step */
    char *from_tag, *to_tag;
    size_t from_tag_len, to_tag_len;
    char peer_ip[64];
    /* a second command (media_calls_plan), with the SDP the first gave */
    bool has_next;
    step_t next;
};

/* Flags by the side the SDP comes from. From the partners' side the
 * addresses in the SDP are not trusted: rtpengine starts with the address
 * the SIP message came from (SIP-source-address, with received-from) and
 * then latches onto where the partner's media really comes from, accepting
 * no other source after that (strict-source). So a partner cannot make the
 * relay send the internal party's media to an address of its choosing —
 * an internal host, say — before its own media arrives. From the inside,
 * the SDP names the internal party's own address: trusted. */
static const char *const FLAGS_EXTERNAL[] = {"SIP-source-address", "strict-source"};
static const char *const REPLACE[] = {"origin", "session-connection"};

static void dropped(void *user, fedge_str_t call_id);

int media_relay_new(uv_loop_t *loop, const media_relay_opts_t *o, media_relay_t **out,
                    fedge_err_t *err)
{
    media_relay_t *r = fedge_calloc(1, sizeof(*r));
    int rc = media_client_new(loop, &o->ng, &r->ng, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->loop = loop;
    r->calls = media_calls_new(o->max_calls ? o->max_calls : MEDIA_DEFAULT_MAX_CALLS,
                               o->idle_ms ? o->idle_ms : DEFAULT_IDLE_MS, dropped, r);
    media_calls_set_checks(r->calls, o->orphan_grace_ms, o->check_idle_ms);
    r->tp[0] = o->transport[0];
    r->tp[1] = o->transport[1];
    for (int i = 0; i < 2; i++)
        r->iface[i] = fedge_strdup(o->interface[i]            ? o->interface[i]
                                   : i == MEDIA_SIDE_INTERNAL ? "internal"
                                                              : "external");
    r->forward_on_failure = o->forward_on_failure;
    *out = r;
    return 0;
}

void media_relay_close(media_relay_t *r)
{
    if (!r)
        return;
    /* Jobs' ng callbacks run with FEDGE_ECLOSED from media_client_close;
     * they free the jobs without calling their owners back. */
    media_client_close(r->ng);
    r->ng = NULL;
    media_calls_free(r->calls);
    free(r->iface[0]);
    free(r->iface[1]);
    free(r);
}

media_client_t *media_relay_client(media_relay_t *r)
{
    return r->ng;
}

size_t media_relay_calls(const media_relay_t *r)
{
    return media_calls_count(r->calls);
}

size_t media_relay_list(const media_relay_t *r, media_call_info_t *out, size_t max)
{
    return media_calls_list(r->calls, out, max);
}

void media_relay_each(const media_relay_t *r, media_call_fn fn, void *user)
{
    media_calls_each(r->calls, fn, user);
}

static void job_free(media_job_t *j)
{
    free(j->call_id);
    free(j->body);
    free(j->from_tag);
    free(j->to_tag);
    free(j->next.call_id);
    free(j);
}

static void delete_done(void *arg, int status, const media_reply_t *reply, const fedge_err_t *err)
{
    if (status < 0 && status != FEDGE_ECLOSED && !(reply && reply->error_reason.len))
        obs_logkv(OBS_LOG_WARNING, "media", "ng delete failed", "reason", err ? err->msg : NULL,
                  NULL);
}

static void send_delete(media_relay_t *r, fedge_str_t call_id)
{
    if (!r->ng)
        return;
    media_req_t q = {.cmd = MEDIA_CMD_DELETE, .call_id = call_id, .relay = -1};
    fedge_err_t e;
    if (media_request(r->ng, &q, delete_done, NULL, NULL, &e) < 0)
        obs_logkv(OBS_LOG_WARNING, "media", "ng delete not sent", "reason", e.msg, NULL);
}

static void dropped(void *user, fedge_str_t call_id)
{
    send_delete(user, call_id);
}

void media_relay_end_call(media_relay_t *r, fedge_str_t call_id)
{
    if (media_calls_forget(r->calls, call_id))
        send_delete(r, call_id);
}

void media_relay_end_msg(media_relay_t *r, const media_msg_t *m, int status)
{
    /* as the final failure the edge sent, coming from the side the
     * request went to */
    media_msg_t x = *m;
    x.request = false;
    x.status = status;
    x.has_sdp = false;
    x.remote = (fedge_str_t){"", 0};
    x.from_side = m->from_side == MEDIA_SIDE_INTERNAL ? MEDIA_SIDE_EXTERNAL : MEDIA_SIDE_INTERNAL;
    media_step_t steps[2];
    if (media_calls_plan(r->calls, &x, uv_now(r->loop), steps) && steps[0].act == MEDIA_ACT_DELETE)
        send_delete(r, steps[0].call_id);
}

bool media_relay_has_call(const media_relay_t *r, fedge_str_t call_id)
{
    return media_calls_has(r->calls, call_id);
}

size_t media_relay_reap(media_relay_t *r)
{
    return media_calls_reap(r->calls, uv_now(r->loop));
}

size_t media_relay_conn_closed(media_relay_t *r, media_side_t side, const char *remote)
{
    if (!remote)
        return 0;
    return media_calls_conn_closed(r->calls, side, (fedge_str_t){remote, strlen(remote)},
                                   uv_now(r->loop));
}

void media_relay_stats(const media_relay_t *r, media_calls_stats_t *out)
{
    media_calls_stats(r->calls, out);
}

/* The packets the relay received for a call: "totals" of an ng query
 * reply, RTP and RTCP; -1 when the reply has none. */
static int64_t packets_of(const media_ben_t *d)
{
    const media_ben_t *tot = media_ben_get(d, "totals");
    if (!tot)
        return -1;
    int64_t n = -1;
    const char *kinds[] = {"RTP", "RTCP"};
    for (size_t i = 0; i < 2; i++) {
        const media_ben_t *p = media_ben_get(media_ben_get(tot, kinds[i]), "packets");
        if (p && p->type == MEDIA_BEN_INT && p->num >= 0)
            n = (n < 0 ? 0 : n) + p->num;
    }
    return n;
}

static void check_done(void *arg, int status, const media_reply_t *reply, const fedge_err_t *err)
{
    check_t *c = arg;
    media_relay_t *r = c->r;
    if (status == FEDGE_ECLOSED) {
        free(c);
        return;
    }
    fedge_str_t id = {c->id, c->idlen};
    media_query_t q = MEDIA_QUERY_FAILED;
    int64_t packets = -1;
    if (status == 0) {
        q = MEDIA_QUERY_KNOWN;
        packets = packets_of(reply->dict);
    } else if (status == FEDGE_EPERM && reply && reply->error_reason.len == 15 &&
               !strncasecmp(reply->error_reason.s, "Unknown call-id", 15)) {
        q = MEDIA_QUERY_GONE;
    } else if (c->kind == MEDIA_CHECK_ORPHAN || c->kind == MEDIA_CHECK_BASELINE) {
        obs_logkv(OBS_LOG_INFO, "media", "ng query of an orphan call failed; asked again later",
                  "call_id", c->id, "reason", err ? err->msg : NULL, NULL);
    }
    media_checked_t v = media_calls_checked(r->calls, id, c->kind, q, packets, uv_now(r->loop));
    if (v == MEDIA_CHECKED_DELETE) {
        obs_logkv(OBS_LOG_INFO, "media",
                  "call deleted at the relay: its connection closed, no peer came back within "
                  "[media] orphan_grace and its media stopped",
                  "call_id", c->id, NULL);
        send_delete(r, id);
    } else if (v == MEDIA_CHECKED_GONE) {
        /* rtpengine timed the call out: forgotten here too (the delete,
         * answered "Unknown call-id", makes the ng client forget which
         * relay held it) */
        obs_logkv(OBS_LOG_INFO, "media", "call forgotten: the relay no longer knows it", "call_id",
                  c->id, NULL);
        send_delete(r, id);
    }
    free(c);
}

void media_relay_run_checks(media_relay_t *r)
{
    if (!r->ng)
        return;
    media_due_t due[MEDIA_CHECKS_PER_RUN];
    size_t n = media_calls_due(r->calls, uv_now(r->loop), due, MEDIA_CHECKS_PER_RUN);
    for (size_t i = 0; i < n; i++) {
        check_t *c = fedge_calloc(1, sizeof(*c) + due[i].call_id.len + 1);
        c->r = r;
        c->kind = due[i].kind;
        c->idlen = due[i].call_id.len;
        memcpy(c->id, due[i].call_id.s, c->idlen);
        media_req_t q = {.cmd = MEDIA_CMD_QUERY, .call_id = {c->id, c->idlen}, .relay = -1};
        fedge_err_t e;
        if (media_request(r->ng, &q, check_done, c, NULL, &e) < 0) {
            (void)media_calls_checked(r->calls, (fedge_str_t){c->id, c->idlen}, c->kind,
                                      MEDIA_QUERY_FAILED, -1, uv_now(r->loop));
            free(c);
        }
    }
}

static void ng_done(void *arg, int status, const media_reply_t *reply, const fedge_err_t *err);

/* Sends step st of job j with sdp (copied by media_request): 0, or the
 * error of media_request. */
static int send_step(media_relay_t *r, media_job_t *j, const step_t *st, fedge_str_t sdp,
                     fedge_err_t *e)
{
    media_side_t from = st->from,
                 to = from == MEDIA_SIDE_INTERNAL ? MEDIA_SIDE_EXTERNAL : MEDIA_SIDE_INTERNAL;
    fedge_str_t id = {st->call_id, st->call_id_len};
    /* SDP of the external party, as the SIP message that carries it came
     * from it: not trusted (FLAGS_EXTERNAL); a remote client's SDP that
     * comes through the internal server is (st->trusted): received-from
     * would name the internal server. */
    bool ext = from == MEDIA_SIDE_EXTERNAL && !st->trusted;
    /* A remote client's call to a partner (media_msg_t.outside): the
     * client is outside the network, so its leg is on the relay's
     * external interface as the partner's is. Its SDP still counts as the
     * internal side's (trusted: the client signed in through the
     * registrar, and received-from would name the internal server, not
     * the client). */
    bool outside = media_calls_outside(r->calls, id);
    /* rtpengine's from-tag names the party that made the offer: the
     * message's From tag for an offer in a request or an answer in a
     * response, its To tag for an offer in a response (late offer) or an
     * answer in a request (ACK, PRACK) — as Kamailio's rtpengine module
     * does. */
    bool swap = j->request == (st->act == MEDIA_ACT_ANSWER);
    fedge_str_t ftag = {j->from_tag, j->from_tag_len}, ttag = {j->to_tag, j->to_tag_len};
    media_req_t q = {
        .cmd = st->act == MEDIA_ACT_OFFER ? MEDIA_CMD_OFFER : MEDIA_CMD_ANSWER,
        .call_id = id,
        .from_tag = swap ? ttag : ftag,
        .to_tag = swap ? ftag : ttag,
        .sdp = sdp,
        .from_interface = r->iface[outside ? MEDIA_SIDE_EXTERNAL : from],
        .to_interface = r->iface[outside ? MEDIA_SIDE_EXTERNAL : to],
        .flags = ext ? FLAGS_EXTERNAL : NULL,
        .flag_count = ext ? FEDGE_ARRAY_LEN(FLAGS_EXTERNAL) : 0,
        .replace = REPLACE,
        .replace_count = FEDGE_ARRAY_LEN(REPLACE),
        .ice = media_calls_ice(r->calls, id, from, media_sdp_has_ice(sdp)),
        /* bridging RTP and SRTP: an offer towards a side that wants one
         * of them; the relay answers the offerer in its own protocol */
        .transport_protocol =
            st->act == MEDIA_ACT_OFFER ? media_transport_protocol(r->tp[to], sdp) : NULL,
        .received_from = ext && j->peer_ip[0] ? j->peer_ip : NULL,
        .relay = -1,
    };
    j->cmd = q.cmd;
    return media_request(r->ng, &q, ng_done, j, &j->pending, e);
}

static void ng_done(void *arg, int status, const media_reply_t *reply, const fedge_err_t *err)
{
    media_job_t *j = arg;
    if (status == FEDGE_ECLOSED) {
        job_free(j); /* the relay is closing: nobody to call back */
        return;
    }
    media_out_t out = {.kind = MEDIA_OUT_FORWARD};
    char *nb = NULL;
    fedge_err_t e2;
    if (status == 0 && j->has_next) {
        /* the second command of the message, on the other relay call of
         * its dialog, with the SDP the first gave */
        j->has_next = false;
        j->new_call = false;
        free(j->call_id);
        j->call_id = j->next.call_id;
        j->call_id_len = j->next.call_id_len;
        j->next.call_id = NULL;
        step_t st = j->next;
        st.call_id = j->call_id;
        if (send_step(j->r, j, &st, reply->sdp, &e2) == 0)
            return;
        status = FEDGE_EINVAL;
        err = &e2;
    }
    if (status == 0) {
        size_t cap = j->body_len - j->loc.len + reply->sdp.len;
        nb = fedge_malloc(cap ? cap : 1);
        int n =
            media_sdp_replace((fedge_str_t){j->body, j->body_len}, &j->loc, reply->sdp, nb, cap);
        if (n >= 0) {
            out.kind = MEDIA_OUT_REPLACE;
            out.body = nb;
            out.body_len = (size_t)n;
        }
    } else {
        const char *what = err ? err->msg : fedge_strerror(status);
        if (j->new_call)
            media_calls_forget(j->r->calls, (fedge_str_t){j->call_id, j->call_id_len});
        if (j->request && !j->r->forward_on_failure) {
            out.kind = MEDIA_OUT_REFUSE;
            out.status = 503;
            snprintf(out.warning, sizeof(out.warning), "media relay failed: %.200s", what);
            obs_logkv(OBS_LOG_WARNING, "media", "call refused: no media relay", "call_id",
                      j->call_id, "reason", what, NULL);
        } else {
            obs_logkv(OBS_LOG_WARNING, "media", "SDP forwarded unchanged: no media relay",
                      "call_id", j->call_id, "command", media_cmd_name(j->cmd), "reason", what,
                      NULL);
        }
    }
    media_out_cb cb = j->cb;
    void *cb_arg = j->arg;
    job_free(j);
    cb(cb_arg, &out);
    free(nb);
}

/* A copy of s, "" when empty (its pointer may then be NULL). */
static char *dup_str(fedge_str_t s)
{
    return s.len ? fedge_strndup(s.s, s.len) : fedge_strdup("");
}

int media_relay_process(media_relay_t *r, const media_in_t *in, media_out_cb cb, void *arg,
                        media_job_t **job, media_out_t *now)
{
    memset(now, 0, sizeof(*now));
    now->kind = MEDIA_OUT_FORWARD;
    media_msg_t m = in->msg;
    media_sdp_loc_t loc = {0, 0};
    m.has_sdp = in->body.len && media_sdp_find(in->content_type, in->body, &loc) == 0;
    if (!m.from_tag_s.len)
        m.from_tag_s = in->from_tag;
    if (!m.to_tag_s.len)
        m.to_tag_s = in->to_tag;
    size_t before = media_calls_count(r->calls);
    media_step_t steps[2];
    size_t n = media_calls_plan(r->calls, &m, uv_now(r->loop), steps);
    if (n == 0)
        return 0;
    if (steps[0].act == MEDIA_ACT_DELETE) {
        send_delete(r, steps[0].call_id);
        return 0;
    }
    media_job_t *j = fedge_calloc(1, sizeof(*j));
    j->r = r;
    j->cb = cb;
    j->arg = arg;
    j->request = m.request;
    j->new_call = media_calls_count(r->calls) > before;
    j->call_id = fedge_strndup(steps[0].call_id.s, steps[0].call_id.len);
    j->call_id_len = steps[0].call_id.len;
    if (n == 2) {
        j->has_next = true;
        j->next =
            (step_t){steps[1].act, steps[1].from, steps[1].trusted,
                     fedge_strndup(steps[1].call_id.s, steps[1].call_id.len), steps[1].call_id.len};
    }
    j->from_tag = dup_str(in->from_tag);
    j->from_tag_len = in->from_tag.len;
    j->to_tag = dup_str(in->to_tag); /* none yet in a first INVITE */
    j->to_tag_len = in->to_tag.len;
    snprintf(j->peer_ip, sizeof(j->peer_ip), "%s", in->peer_ip ? in->peer_ip : "");
    j->body = fedge_malloc(in->body.len ? in->body.len : 1);
    memcpy(j->body, in->body.s, in->body.len);
    j->body_len = in->body.len;
    j->loc = loc;
    step_t st = {steps[0].act, steps[0].from, steps[0].trusted, j->call_id, j->call_id_len};
    fedge_err_t e;
    int rc = send_step(r, j, &st, (fedge_str_t){in->body.s + loc.off, loc.len}, &e);
    if (rc < 0) {
        /* A command that cannot even be sent (an answer without To tag,
         * an SDP too big for a datagram): as a relay failure. */
        if (j->new_call)
            media_calls_forget(r->calls, (fedge_str_t){j->call_id, j->call_id_len});
        obs_logkv(OBS_LOG_WARNING, "media", "ng command not sent", "call_id", j->call_id, "reason",
                  e.msg, NULL);
        job_free(j);
        if (m.request && !r->forward_on_failure) {
            now->kind = MEDIA_OUT_REFUSE;
            now->status = 503;
            snprintf(now->warning, sizeof(now->warning), "media relay failed: %.200s", e.msg);
        }
        return 0;
    }
    if (job)
        *job = j;
    return 1;
}

void media_relay_cancel(media_job_t *j)
{
    if (j->pending)
        media_request_cancel(j->pending);
    job_free(j);
}

int media_in_from_sip(struct sip_msg *m, media_side_t from_side, const char *peer_ip,
                      media_in_t *in)
{
    memset(in, 0, sizeof(*in));
    const sip_nameaddr_t *from, *to;
    const sip_cseq_t *cseq;
    int rc;
    if ((rc = sip_msg_call_id(m, &in->msg.call_id)) < 0 || (rc = sip_msg_from(m, &from)) < 0 ||
        (rc = sip_msg_to(m, &to)) < 0 || (rc = sip_msg_cseq(m, &cseq)) < 0)
        return rc;
    in->msg.request = m->is_request;
    in->msg.method = m->is_request ? (int)m->method_id : (int)cseq->method_id;
    in->msg.status = m->is_request ? 0 : m->status;
    in->msg.to_tag = to->has_tag;
    in->msg.from_side = from_side;
    in->from_tag = in->msg.from_tag_s = from->tag;
    in->to_tag = in->msg.to_tag_s = to->tag;
    /* the branch of the hop before the edge: a request's top Via, a
     * response's second (the first is the edge's own); a Via that does
     * not parse leaves it unknown */
    sip_iter_t it;
    sip_via_t v;
    sip_iter_init(&it, m, SIP_HDR_VIA);
    for (int i = 0; i < (m->is_request ? 1 : 2); i++) {
        if (sip_iter_via(&it, &v, NULL) != 1) {
            v.branch = (fedge_str_t){"", 0};
            break;
        }
    }
    in->msg.branch = v.branch;
    const sip_hdr_t *ct = sip_msg_find(m, SIP_HDR_CONTENT_TYPE);
    if (ct)
        in->content_type = ct->value;
    in->body = m->body;
    in->peer_ip = peer_ip;
    return 0;
}
