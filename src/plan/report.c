/* report.c — findings of check and probe: the report list, the verdict (the
 * first failed step), text and JSON forms, and the table of their
 * diagnostic IDs (docs/diagnostics.md mirrors it). */
#include "plan/plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const plan_diag_t diags[] = {
    {PLAN_DIAG_SRV_MISSING, "srv-missing",
     "A local SIP domain has no _sipfederationtls._tcp SRV record: partners cannot find the edge.",
     "Publish the SRV record that fedge plan prints for the domain."},
    {PLAN_DIAG_SRV_WRONG, "srv-wrong",
     "The SRV record of a local SIP domain exists but no record points to the edge FQDN and "
     "port.",
     "Change the record to the edge FQDN and the external listener's port (fedge plan)."},
    {PLAN_DIAG_DNS_ERROR, "dns-error",
     "A DNS look-up timed out or failed (SERVFAIL, unreachable server).",
     "Check [dns] servers and that UDP/TCP 53 to them is open."},
    {PLAN_DIAG_HOST_MISSING, "host-missing", "The edge FQDN has no A or AAAA record.",
     "Publish the A/AAAA records that fedge plan prints."},
    {PLAN_DIAG_HOST_OTHER, "host-other",
     "The edge FQDN's addresses do not include the external listen address (fine behind NAT).",
     "If there is no NAT in front of the edge, publish the listen address."},
    {PLAN_DIAG_POOL_ADDRESS, "pool-address",
     "The pool FQDN's addresses do not include this member's external address (or the load "
     "balancer's): DNS load balancing never sends partners to it.",
     "Publish one A/AAAA record of the pool FQDN per member (fedge plan on a member)."},
    {PLAN_DIAG_POOL_MEMBER, "pool-member",
     "A member of the pool is not recorded in the shared store, has not been seen for 10 s, or "
     "its certificate does not name the pool FQDN.",
     "Start the member (or fedge pool forget FQDN for a machine removed for good); give every "
     "member a certificate naming the pool FQDN."},
    {PLAN_DIAG_CERT_UNREADABLE, "cert-unreadable",
     "The external certificate file cannot be read or holds no PEM certificate.",
     "Point [external] certificate at the PEM certificate (leaf first, then intermediates)."},
    {PLAN_DIAG_CERT_KEY, "cert-key", "The private key is not the certificate's key.",
     "Point [external] private_key at the matching key."},
    {PLAN_DIAG_CERT_CHAIN, "cert-chain",
     "The certificate does not verify against the trust anchors (missing intermediate, "
     "self-signed, unknown CA).",
     "Append the intermediates to the certificate file; use a CA partners trust."},
    {PLAN_DIAG_CERT_SAN_FQDN, "cert-san-fqdn",
     "The certificate does not name the edge FQDN, which partners compare with our SRV target.",
     "Get a certificate with subjectAltName DNS:<edge fqdn>."},
    {PLAN_DIAG_CERT_SAN_DOMAIN, "cert-san-domain",
     "The certificate does not name a local SIP domain; partners that verify the domain itself "
     "(RFC 5922) refuse it.",
     "Add DNS:<domain> (and URI:sip:<domain>) to the subjectAltName at renewal."},
    {PLAN_DIAG_CERT_EKU, "cert-eku",
     "The certificate lacks serverAuth or clientAuth: the edge is TLS server and TLS client.",
     "Request the certificate with both extended key usages."},
    {PLAN_DIAG_CERT_EXPIRED, "cert-expired", "The certificate has expired or is not valid yet.",
     "Renew it and reload fedge (SIGHUP)."},
    {PLAN_DIAG_CERT_EXPIRING, "cert-expiring", "The certificate expires within 30 days.",
     "Renew it now."},
    {PLAN_DIAG_CERT_WEAK_KEY, "cert-weak-key", "The key is smaller than RSA 2048 / ECDSA P-256.",
     "Use RSA 2048+ or ECDSA P-256."},
    {PLAN_DIAG_LISTEN_DOWN, "listen-down",
     "Nothing accepts connections on a configured listen address.",
     "Start fedge (fedge serve -c FILE) and check that no firewall blocks the port."},
    {PLAN_DIAG_LISTEN_TLS, "listen-tls",
     "The external listener accepted TCP but the TLS handshake with our own certificate failed.",
     "Read the handshake error: certificate, trust anchors or TLS version of [external]."},
    {PLAN_DIAG_REMOTE_TLS, "remote-tls",
     "The [remote] listener accepted TCP but a TLS handshake without a client certificate (as "
     "remote users' clients make it) failed.",
     "Read the handshake error; the [remote] listen address must not be an [external] one "
     "(those require a client certificate)."},
    {PLAN_DIAG_REMOTE_CERT, "remote-cert-name",
     "The [external] certificate, which the [remote] listener presents, does not name "
     "sip.<domain>, the target remote users' clients look up and verify.",
     "Add DNS:sip.<domain> for each SIP domain to the subjectAltName at renewal."},
    {PLAN_DIAG_PARTNER_DNS, "partner-dns",
     "A configured partner's SRV or A/AAAA records are missing or failed.",
     "Ask the partner to publish them (fedge probe DOMAIN shows the details)."},
    {PLAN_DIAG_MEDIA_RELAY, "media-relay",
     "An rtpengine relay of [media] rtpengine does not answer an ng ping (not running, another "
     "address or port, or a firewall drops UDP).",
     "Start rtpengine with --listen-ng=IP:PORT as written in [media] rtpengine, and let UDP "
     "through."},
    {PLAN_DIAG_PROBE_NO_SRV, "probe-no-srv",
     "The partner domain has no _sipfederationtls._tcp SRV record.",
     "The partner publishes the record, or allow it as a partner server with --proxy-fqdn."},
    {PLAN_DIAG_PROBE_NO_SERVICE, "probe-no-service",
     "The partner's SRV record has target '.': it declares no federation service.",
     "The partner publishes a real target, or allow it with --proxy-fqdn."},
    {PLAN_DIAG_PROBE_OUTSIDE, "probe-outside",
     "An SRV target lies outside the partner domain; fedge (like Lync) refuses such targets.",
     "The partner uses an edge FQDN inside its domain, or allow it with --proxy-fqdn <target>."},
    {PLAN_DIAG_PROBE_NO_ADDRESS, "probe-no-address",
     "The SRV target or partner FQDN has no A/AAAA record.",
     "The partner publishes the address records of its edge."},
    {PLAN_DIAG_PROBE_TCP, "probe-tcp",
     "The partner's edge refused or did not answer the TCP connection.",
     "The partner's edge is down, or a firewall (theirs, or ours outbound) blocks the port."},
    {PLAN_DIAG_PROBE_NOT_TLS, "probe-not-tls",
     "The port in the SRV record answers, but not with TLS (e.g. plain SIP on 5060).",
     "The partner points the SRV record at its TLS port (5061)."},
    {PLAN_DIAG_PROBE_REFUSED_US, "probe-refused-us",
     "The partner's edge refused our certificate with a TLS alert (unknown CA, bad "
     "certificate).",
     "The partner trusts the CA that issued our certificate (or we use a public CA)."},
    {PLAN_DIAG_PROBE_UNTRUSTED, "probe-untrusted",
     "The partner's certificate chain does not verify against our trust anchors.",
     "The partner uses a CA we trust (and sends its intermediates), or add its CA to "
     "[external] ca_file."},
    {PLAN_DIAG_PROBE_EXPIRED, "probe-expired",
     "The partner's certificate has expired (or is not valid yet).",
     "The partner renews its certificate."},
    {PLAN_DIAG_PROBE_NAME, "probe-name",
     "The partner's certificate names neither the SRV target / configured FQDN nor the domain.",
     "The partner gets a certificate naming its edge FQDN (the SRV target)."},
    {PLAN_DIAG_PROBE_NO_CLIENT, "probe-no-clientauth",
     "The partner's certificate lacks the clientAuth EKU: its connections to us will be "
     "refused.",
     "The partner gets a certificate with serverAuth and clientAuth."},
    {PLAN_DIAG_PROBE_TLS, "probe-tls", "The TLS handshake failed otherwise or timed out.",
     "Compare TLS versions and ciphers; read the error text."},
    {PLAN_DIAG_PROBE_NO_ANSWER, "probe-no-answer",
     "The partner accepted TLS but did not answer the SIP OPTIONS.",
     "The partner checks its edge's SIP service and logs."},
    {PLAN_DIAG_PROBE_SIP_ERROR, "probe-sip-error",
     "The partner answered the OPTIONS with an error status (the path works; its policy or "
     "routing refused).",
     "Read the status, Warning and ms-diagnostics; the partner allows our domain."},
    {PLAN_DIAG_XMPP_STREAM, "probe-xmpp-stream",
     "The partner's XMPP port did not open a server-to-server stream with features (not XMPP, "
     "a stream error, or the partner does not serve the domain).",
     "The partner points _xmpp-server._tcp at its server-to-server port and serves the domain."},
    {PLAN_DIAG_XMPP_STARTTLS, "probe-xmpp-starttls",
     "The partner's XMPP server does not offer STARTTLS or refused it.",
     "The partner enables TLS for server-to-server streams, or allow it with --tls optional."},
    {PLAN_DIAG_XMPP_AUTH, "probe-xmpp-auth",
     "The partner did not accept SASL EXTERNAL with our certificate (dialback may remain).",
     "The partner trusts the CA of our certificate, or allow dialback (--dialback on)."},
};

const plan_diag_t *plan_diag_table(size_t *n)
{
    *n = FEDGE_ARRAY_LEN(diags);
    return diags;
}

const plan_diag_t *plan_diag(int id)
{
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(diags); i++)
        if (diags[i].id == id)
            return &diags[i];
    return NULL;
}

const char *plan_status_name(plan_status_t s)
{
    switch (s) {
    case PLAN_PASS: return "pass";
    case PLAN_INFO: return "info";
    case PLAN_SKIP: return "skip";
    case PLAN_WARN: return "warn";
    case PLAN_FAIL: return "fail";
    }
    return "?";
}

plan_item_t *plan_report_add(plan_report_t *r, const char *step, const char *name, plan_status_t st,
                             int id, const char *text, const char *fix, json_t *data)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = fedge_realloc(r->items, r->cap * sizeof *r->items);
    }
    plan_item_t *it = &r->items[r->n++];
    *it = (plan_item_t){fedge_strdup(step),
                        fedge_strdup(name),
                        st,
                        id,
                        fedge_strdup(text),
                        fix ? fedge_strdup(fix) : NULL,
                        data};
    return it;
}

void plan_report_clear(plan_report_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        plan_item_t *it = &r->items[i];
        free(it->step), free(it->name), free(it->text), free(it->fix);
        json_decref(it->data);
    }
    free(r->items);
    *r = (plan_report_t){0};
}

size_t plan_report_count(const plan_report_t *r, plan_status_t st)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->items[i].status == st;
    return n;
}

const plan_item_t *plan_verdict(const plan_report_t *r, const char *const *steps, size_t n_steps)
{
    for (size_t s = 0; s < n_steps; s++)
        for (size_t i = 0; i < r->n; i++)
            if (r->items[i].status == PLAN_FAIL && !strcmp(r->items[i].step, steps[s]))
                return &r->items[i];
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].status == PLAN_FAIL)
            return &r->items[i];
    return NULL;
}

char *plan_verdict_line(const plan_report_t *r, const char *const *steps, size_t n_steps,
                        const char *ok_text)
{
    const plan_item_t *v = plan_verdict(r, steps, n_steps);
    if (v)
        return plan__fmt("FAIL at %s: %s%s%s", v->step, v->text,
                         v->fix ? " \xe2\x80\x94 fix: " : "", v->fix ? v->fix : "");
    size_t w = plan_report_count(r, PLAN_WARN);
    if (w)
        return plan__fmt("PASS: %s, %zu warning%s", ok_text, w, w == 1 ? "" : "s");
    return plan__fmt("PASS: %s", ok_text);
}

json_t *plan_report_json(const plan_report_t *r)
{
    json_t *items = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const plan_item_t *it = &r->items[i];
        const plan_diag_t *d = plan_diag(it->id);
        json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s?,s:s,s:s?}", "step", it->step, "name", it->name,
                              "status", plan_status_name(it->status), "id", it->id, "code",
                              d ? d->code : NULL, "text", it->text, "fix", it->fix);
        if (it->data)
            json_object_set(o, "data", it->data);
        json_array_append_new(items, o);
    }
    json_t *sum =
        json_pack("{s:I,s:I,s:I,s:I,s:I}", "pass", (json_int_t)plan_report_count(r, PLAN_PASS),
                  "info", (json_int_t)plan_report_count(r, PLAN_INFO), "skip",
                  (json_int_t)plan_report_count(r, PLAN_SKIP), "warn",
                  (json_int_t)plan_report_count(r, PLAN_WARN), "fail",
                  (json_int_t)plan_report_count(r, PLAN_FAIL));
    return json_pack("{s:o,s:o}", "items", items, "summary", sum);
}

char *plan_report_text(const plan_report_t *r)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        abort();
    for (size_t i = 0; i < r->n; i++) {
        const plan_item_t *it = &r->items[i];
        fprintf(f, "[%s] %-8s %s: %s", plan_status_name(it->status), it->step, it->name, it->text);
        if (it->id)
            fprintf(f, " (%d)", it->id);
        fprintf(f, "\n");
        if (it->fix && (it->status == PLAN_FAIL || it->status == PLAN_WARN))
            fprintf(f, "       fix: %s\n", it->fix);
    }
    fclose(f);
    return out;
}
