/* bench_parse.c — SIP parse throughput of fedge against GNU oSIP on the
 * same built-in corpus of realistic messages, in the same run; prints
 * messages/s and MB/s for each and exits non-zero when fedge is not at
 * least 5 times faster (the target in docs/sip-parser.md).
 *
 * usage: bench_parse [SECONDS_PER_PARSER]   (default 2) */
#include <osipparser2/osip_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip/sip.h"

#define TARGET_RATIO 5.0

/* ------------------------------------------------------------------ */
/* Corpus                                                              */
/* ------------------------------------------------------------------ */

#define SDP_BODY                                                                                   \
    "v=0\r\n"                                                                                      \
    "o=alice 2890844526 2890844526 IN IP4 pc33.contoso.test\r\n"                                   \
    "s=Session SDP\r\n"                                                                            \
    "c=IN IP4 192.0.2.101\r\n"                                                                     \
    "t=0 0\r\n"                                                                                    \
    "m=audio 49172 RTP/AVP 0 8 101\r\n"                                                            \
    "a=rtpmap:0 PCMU/8000\r\n"                                                                     \
    "a=rtpmap:8 PCMA/8000\r\n"                                                                     \
    "a=rtpmap:101 telephone-event/8000\r\n"                                                        \
    "a=fmtp:101 0-15\r\n"                                                                          \
    "a=sendrecv\r\n"

#define PIDF_BODY                                                                                  \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"                                               \
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@fabrikam.test\">\r\n"        \
    "  <tuple id=\"sg89ae\">\r\n"                                                                  \
    "    <status><basic>open</basic></status>\r\n"                                                 \
    "    <contact priority=\"0.8\">sip:bob@pc42.fabrikam.test</contact>\r\n"                       \
    "    <note xml:lang=\"en\">In a meeting until 3pm</note>\r\n"                                  \
    "  </tuple>\r\n"                                                                               \
    "</presence>\r\n"

#define LEN(s) sizeof(s) - 1

static const char invite[] =
    "INVITE sip:bob@fabrikam.test SIP/2.0\r\n"
    "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=z9hG4bK776asdhds;received=192.0.2.10\r\n"
    "Via: SIP/2.0/TLS pc33.contoso.test:51234;branch=z9hG4bKnashds8;rport=51234\r\n"
    "Max-Forwards: 69\r\n"
    "Record-Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\n"
    "To: Bob <sip:bob@fabrikam.test>\r\n"
    "From: \"Alice Liddell\" <sip:alice@contoso.test>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.contoso.test\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: "
    "<sip:alice@pc33.contoso.test:51234;transport=tls>;+sip.instance=\"<urn:uuid:00000000-0000-"
    "1000-8000-AABBCCDDEEFF>\"\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n"
    "Supported: timer, replaces, 100rel, gruu\r\n"
    "Session-Expires: 1800;refresher=uac\r\n"
    "User-Agent: Example-UA/4.2.1\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 244\r\n"
    "\r\n" SDP_BODY;

static const char message[] =
    "MESSAGE sip:bob@fabrikam.test SIP/2.0\r\n"
    "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=z9hG4bK.m1ks92;received=192.0.2.10\r\n"
    "Via: SIP/2.0/TLS 192.0.2.20:51234;branch=z9hG4bK6A1F2B3C.1;rport=51234\r\n"
    "Max-Forwards: 69\r\n"
    "From: \"Alice\" <sip:alice@contoso.test>;tag=d3fa9b2c1e;epid=01010101\r\n"
    "To: <sip:bob@fabrikam.test>\r\n"
    "Call-ID: 5d8e0b1c2a3f4e5d6c7b8a9f0e1d2c3b\r\n"
    "CSeq: 1 MESSAGE\r\n"
    "User-Agent: UCCAPI/15.0.4420.1017 OC/15.0.4420.1017 (Microsoft Lync)\r\n"
    "ms-edge-proxy-message-trust: ms-source-type=InternetUser;ms-ep-fqdn=edge.contoso.test\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Length: 27\r\n"
    "\r\n"
    "Are we still on for lunch?\n";

static const char ok200[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bK4b43c2ff8.1;received=198.51.100.7\r\n"
    "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=z9hG4bK776asdhds;received=192.0.2.10\r\n"
    "Via: SIP/2.0/TCP proxy2.contoso.test:5060;branch=z9hG4bK77ef4c2312983.1;received=10.0.0.2\r\n"
    "Via: SIP/2.0/TCP proxy1.contoso.test:5060;branch=z9hG4bK2d4790.1;received=10.0.0.1\r\n"
    "Via: SIP/2.0/TLS "
    "pc33.contoso.test:51234;branch=z9hG4bKnashds8;rport=51234;received=10.0.1.33\r\n"
    "Record-Route: <sip:edge.fabrikam.test:5061;transport=tls;lr>\r\n"
    "Record-Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\n"
    "Record-Route: <sip:proxy2.contoso.test;transport=tcp;lr>\r\n"
    "Record-Route: <sip:proxy1.contoso.test;transport=tcp;lr>\r\n"
    "To: Bob <sip:bob@fabrikam.test>;tag=a6c85cf\r\n"
    "From: \"Alice Liddell\" <sip:alice@contoso.test>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.contoso.test\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:bob@192.0.2.4:5061;transport=tls>\r\n"
    "Supported: timer, replaces\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 244\r\n"
    "\r\n" SDP_BODY;

static const char subscribe[] =
    "SUBSCRIBE sip:bob@fabrikam.test SIP/2.0\r\n"
    "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=z9hG4bKnashds7;received=192.0.2.10\r\n"
    "Via: SIP/2.0/TLS pc33.contoso.test:51234;branch=z9hG4bKsub1;rport=51234\r\n"
    "Max-Forwards: 69\r\n"
    "To: <sip:bob@fabrikam.test>\r\n"
    "From: <sip:alice@contoso.test>;tag=xfg9\r\n"
    "Call-ID: 2010@pc33.contoso.test\r\n"
    "CSeq: 17766 SUBSCRIBE\r\n"
    "Event: presence\r\n"
    "Accept: application/pidf+xml\r\n"
    "Contact: <sip:alice@pc33.contoso.test:51234;transport=tls>\r\n"
    "Expires: 600\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char notify[] =
    "NOTIFY sip:alice@pc33.contoso.test:51234;transport=tls SIP/2.0\r\n"
    "Via: SIP/2.0/TLS edge.fabrikam.test:5061;branch=z9hG4bK8sdf2;received=198.51.100.7\r\n"
    "Via: SIP/2.0/TLS pres.fabrikam.test:5061;branch=z9hG4bKpres9\r\n"
    "Max-Forwards: 69\r\n"
    "Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\n"
    "To: <sip:alice@contoso.test>;tag=xfg9\r\n"
    "From: <sip:bob@fabrikam.test>;tag=ffd2\r\n"
    "Call-ID: 2010@pc33.contoso.test\r\n"
    "CSeq: 88 NOTIFY\r\n"
    "Event: presence\r\n"
    "Subscription-State: active;expires=599\r\n"
    "Contact: <sip:pres.fabrikam.test:5061;transport=tls>\r\n"
    "Content-Type: application/pidf+xml\r\n"
    "Content-Length: 330\r\n"
    "\r\n" PIDF_BODY;

static const char reg[] =
    "REGISTER sip:registrar.contoso.test SIP/2.0\r\n"
    "Via: SIP/2.0/TLS pc33.contoso.test:51234;branch=z9hG4bKnashds7;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Alice <sip:alice@contoso.test>\r\n"
    "From: Alice <sip:alice@contoso.test>;tag=456248\r\n"
    "Call-ID: 843817637684230@998sdasdh09\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "Contact: "
    "<sip:alice@pc33.contoso.test:51234;transport=tls>;expires=3600;+sip.instance=\"<urn:uuid:"
    "00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1\r\n"
    "Supported: path, outbound, gruu\r\n"
    "Authorization: Digest username=\"alice\", realm=\"contoso.test\", "
    "nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", "
    "uri=\"sip:registrar.contoso.test\", response=\"dfe56131d1958046689d83306477ecc\", "
    "algorithm=MD5\r\n"
    "Expires: 3600\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char ringing[] =
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=z9hG4bK776asdhds;received=192.0.2.10\r\n"
    "Via: SIP/2.0/TLS "
    "pc33.contoso.test:51234;branch=z9hG4bKnashds8;rport=51234;received=10.0.1.33\r\n"
    "Record-Route: <sip:edge.fabrikam.test:5061;transport=tls;lr>\r\n"
    "Record-Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\n"
    "To: Bob <sip:bob@fabrikam.test>;tag=a6c85cf\r\n"
    "From: \"Alice Liddell\" <sip:alice@contoso.test>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.contoso.test\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:bob@192.0.2.4:5061;transport=tls>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char bye[] =
    "BYE sip:bob@192.0.2.4:5061;transport=tls SIP/2.0\r\n"
    "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=z9hG4bKnashds10;received=192.0.2.10\r\n"
    "Via: SIP/2.0/TLS pc33.contoso.test:51234;branch=z9hG4bKbye1;rport=51234\r\n"
    "Max-Forwards: 69\r\n"
    "Route: <sip:edge.fabrikam.test:5061;transport=tls;lr>\r\n"
    "From: \"Alice Liddell\" <sip:alice@contoso.test>;tag=1928301774\r\n"
    "To: Bob <sip:bob@fabrikam.test>;tag=a6c85cf\r\n"
    "Call-ID: a84b4c76e66710@pc33.contoso.test\r\n"
    "CSeq: 314160 BYE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char options[] =
    "OPTIONS sip:edge.fabrikam.test:5061;transport=tls SIP/2.0\r\n"
    "Via: SIP/2.0/TLS edge.contoso.test:5061;branch=z9hG4bKhjhs8ass877\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:edge.fabrikam.test>\r\n"
    "From: <sip:edge.contoso.test>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710.keepalive@edge.contoso.test\r\n"
    "CSeq: 63104 OPTIONS\r\n"
    "Contact: <sip:edge.contoso.test:5061;transport=tls>\r\n"
    "Accept: application/sdp\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

typedef struct {
    const char *name;
    const char *buf;
    size_t len;
    const char *call_id; /* checked once on both sides */
    unsigned cseq;
} item_t;

static const item_t corpus[] = {
    {"INVITE+SDP", invite, LEN(invite), "a84b4c76e66710@pc33.contoso.test", 314159},
    {"MESSAGE", message, LEN(message), "5d8e0b1c2a3f4e5d6c7b8a9f0e1d2c3b", 1},
    {"200 OK (5 Via, 4 RR)", ok200, LEN(ok200), "a84b4c76e66710@pc33.contoso.test", 314159},
    {"SUBSCRIBE", subscribe, LEN(subscribe), "2010@pc33.contoso.test", 17766},
    {"NOTIFY+PIDF", notify, LEN(notify), "2010@pc33.contoso.test", 88},
    {"REGISTER", reg, LEN(reg), "843817637684230@998sdasdh09", 1826},
    {"180 Ringing", ringing, LEN(ringing), "a84b4c76e66710@pc33.contoso.test", 314159},
    {"BYE", bye, LEN(bye), "a84b4c76e66710@pc33.contoso.test", 314160},
    {"OPTIONS", options, LEN(options), "a84b4c76e66710.keepalive@edge.contoso.test", 63104},
};
#define NCORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* ------------------------------------------------------------------ */
/* Parsers under test                                                  */
/* ------------------------------------------------------------------ */

static sip_msg_t msg;

/* fedge full parse: every header split and classified (sip_parse), then
 * the top Via, From, To, CSeq and Call-ID typed. Returns the CSeq number,
 * or 0 on failure. */
static unsigned fedge_parse(const item_t *it)
{
    const sip_via_t *v;
    const sip_nameaddr_t *f, *t;
    const sip_cseq_t *c;
    fedge_str_t cid;
    if (sip_parse(it->buf, it->len, NULL, &msg) || sip_msg_via(&msg, &v) ||
        sip_msg_from(&msg, &f) || sip_msg_to(&msg, &t) || sip_msg_cseq(&msg, &c) ||
        sip_msg_call_id(&msg, &cid))
        return 0;
    return c->seq;
}

/* The same plus every Via, Route, Record-Route and Contact value typed, as
 * oSIP's parse does (reported for comparison only). */
static unsigned fedge_parse_all(const item_t *it)
{
    unsigned seq = fedge_parse(it);
    if (!seq)
        return 0;
    sip_iter_t i;
    sip_via_t v;
    sip_nameaddr_t n;
    int rc;
    sip_iter_init(&i, &msg, SIP_HDR_VIA);
    while ((rc = sip_iter_via(&i, &v, NULL)) == 1)
        ;
    if (rc < 0)
        return 0;
    static const sip_hdr_id_t ids[] = {SIP_HDR_ROUTE, SIP_HDR_RECORD_ROUTE, SIP_HDR_CONTACT};
    for (size_t k = 0; k < 3; k++) {
        sip_iter_init(&i, &msg, ids[k]);
        while ((rc = sip_iter_nameaddr(&i, &n, NULL)) == 1)
            ;
        if (rc < 0)
            return 0;
    }
    return seq;
}

/* oSIP: init, parse, free. Returns the CSeq number or 0 on failure. */
static unsigned osip_parse(const item_t *it)
{
    osip_message_t *m;
    unsigned seq = 0;
    if (osip_message_init(&m))
        return 0;
    if (osip_message_parse(m, it->buf, it->len) == 0 && m->cseq && m->cseq->number &&
        osip_list_size(&m->vias) > 0 && m->from && m->to && m->call_id)
        seq = (unsigned)strtoul(m->cseq->number, NULL, 10);
    osip_message_free(m);
    return seq;
}

/* ------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    double msgs_per_s, mb_per_s;
} result_t;

/* Runs parse over the corpus again and again for `secs` seconds. Every
 * result is checked against the expected CSeq, so nothing can be
 * optimised away and a failure cannot go unnoticed. */
static int run(const char *name, unsigned (*parse)(const item_t *), double secs, result_t *r)
{
    unsigned long long msgs = 0, bytes = 0, bad = 0;
    double t0 = now(), t;
    do {
        for (int rep = 0; rep < 50; rep++)
            for (size_t i = 0; i < NCORPUS; i++) {
                if (parse(&corpus[i]) != corpus[i].cseq)
                    bad++;
                bytes += corpus[i].len;
            }
        msgs += 50 * NCORPUS;
        t = now() - t0;
    } while (t < secs);
    r->msgs_per_s = (double)msgs / t;
    r->mb_per_s = (double)bytes / t / 1e6;
    printf("%-36s %12.0f msg/s %9.1f MB/s  (%llu messages in %.2f s)\n", name, r->msgs_per_s,
           r->mb_per_s, msgs, t);
    if (bad) {
        fprintf(stderr, "bench_parse: %s failed on %llu messages\n", name, bad);
        return -1;
    }
    return 0;
}

/* Both parsers must succeed on every corpus message and agree on the
 * Call-ID and CSeq before anything is timed. */
static int verify(void)
{
    int failed = 0;
    for (size_t i = 0; i < NCORPUS; i++) {
        const item_t *it = &corpus[i];
        fedge_str_t cid;
        int rc = sip_parse(it->buf, it->len, NULL, &msg);
        if (!rc)
            rc = sip_msg_check(&msg);
        if (!rc)
            rc = sip_msg_call_id(&msg, &cid);
        if (rc || !fedge_str_eq(cid, it->call_id) || fedge_parse_all(it) != it->cseq ||
            msg.len != it->len || msg.body.len != (size_t)msg.content_length) {
            fprintf(stderr, "bench_parse: fedge fails on %s: %s\n", it->name,
                    rc ? fedge_strerror(rc) : "wrong value");
            failed = 1;
        }
        osip_message_t *m;
        osip_message_init(&m);
        rc = osip_message_parse(m, it->buf, it->len);
        char cidbuf[256] = "";
        if (!rc && m->call_id)
            snprintf(cidbuf, sizeof(cidbuf), "%s%s%s", m->call_id->number ? m->call_id->number : "",
                     m->call_id->host ? "@" : "", m->call_id->host ? m->call_id->host : "");
        if (rc || strcmp(cidbuf, it->call_id) || osip_parse(it) != it->cseq) {
            fprintf(stderr, "bench_parse: oSIP fails on %s (rc %d, Call-ID '%s')\n", it->name, rc,
                    cidbuf);
            failed = 1;
        }
        osip_message_free(m);
    }
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    if (secs <= 0)
        secs = 2.0;
    parser_init();
    if (verify())
        return 1;
    size_t total = 0;
    for (size_t i = 0; i < NCORPUS; i++)
        total += corpus[i].len;
    printf(
        "corpus: %zu messages, %zu bytes (INVITE+SDP, MESSAGE, 200 OK with 5 Via/4 RR, SUBSCRIBE, "
        "NOTIFY+PIDF, REGISTER, 180, BYE, OPTIONS)\n",
        NCORPUS, total);
    result_t f, fa, o;
    if (run("fedge (top Via/From/To/CSeq/Call-ID)", fedge_parse, secs, &f) ||
        run("fedge (+ all Via/Route/RR/Contact)", fedge_parse_all, secs, &fa) ||
        run("GNU oSIP 5.3", osip_parse, secs, &o))
        return 1;
    double ratio = f.msgs_per_s / o.msgs_per_s;
    printf("ratio fedge/oSIP: %.1fx (all values typed: %.1fx); target >= %.0fx: %s\n", ratio,
           fa.msgs_per_s / o.msgs_per_s, TARGET_RATIO, ratio >= TARGET_RATIO ? "met" : "NOT MET");
    return ratio >= TARGET_RATIO ? 0 : 1;
}
