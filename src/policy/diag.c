/* diag.c — the table of rejection diagnostics (ID, SIP status, reason,
 * cause, fix; docs/diagnostics.md mirrors it) and the formatting of the
 * ms-diagnostics, ms-diagnostics-public and Warning header values. */
#include "policy/policy.h"

#include <stdio.h>
#include <string.h>

/* Ordered by ID (policy_diag does a binary search). Reasons of the MS-OCER
 * IDs 1009, 1010, 1027, 1034 and 1047 are Lync's own texts; 1002, 1005,
 * 1008, 1012 and 1014 carry fedge's texts (see docs/diagnostics.md). */
static const policy_diag_t table[] = {
    {POLICY_DIAG_USER_NO_FEDERATION, 403,
     "From URI not authorized to communicate with federated partners",
     "The sender's external access policy (named, site or global) has federation off.",
     "fedge policy set <policy> --federation on, or assign the user another policy."},
    {POLICY_DIAG_USER_NO_PUBLIC, 403,
     "From URI not authorized to communicate with public IM providers",
     "The target domain is served by a public IM provider and the sender's policy has "
     "public off.",
     "fedge policy set <policy> --public on, or assign the user another policy."},
    {POLICY_DIAG_SRV_FAILED, 504, "Unable to resolve DNS SRV record",
     "No _sipfederationtls._tcp SRV record for the target domain (or no address for its "
     "target).",
     "Ask the partner to publish the SRV record, or allow it with --proxy-fqdn."},
    {POLICY_DIAG_SRV_NO_MATCH, 403, "No match for domain in DNS SRV results",
     "The peer's certificate names none of the SRV targets of the sender's domain that "
     "lie in that domain.",
     "Partner: publish _sipfederationtls._tcp.<domain> pointing to the edge FQDN in its "
     "certificate. Here: allow it as a partner server (--proxy-fqdn)."},
    {POLICY_DIAG_CERT_MISMATCH, 403,
     "Certificate trust with another server could not be established",
     "The peer's certificate does not name the configured partner server or provider "
     "proxy FQDN.",
     "Check --proxy-fqdn against the partner's certificate (subjectAltName)."},
    {POLICY_DIAG_BLOCKED, 403, "Domain is blocked",
     "The partner domain (or a parent domain, when block-subdomains is on) is on the "
     "blocked list.",
     "fedge domain remove <domain> if the block is no longer wanted."},
    {POLICY_DIAG_NOT_ALLOWED, 403, "Domain is not an allowed federated partner",
     "Partner discovery is off and the domain is neither allowed nor served by a "
     "provider.",
     "fedge domain allow <domain>, or fedge edge set --discovery on."},
    {POLICY_DIAG_FEDERATION_OFF, 403,
     "Cannot route this type of SIP request to or from federated partners",
     "Federation is disabled on this edge.", "fedge edge set --federation on."},
    {POLICY_DIAG_PEER_NO_DIAG, 0,
     "Previous hop federated peer did not report diagnostic information",
     "A partner answered with an error and no diagnostics of its own (added by the proxy "
     "to the partner's status).",
     "Look at the partner's side; its status code is passed on unchanged."},
    {POLICY_DIAG_TLS_FAILED, 504, "Failed to complete TLS negotiation with a federated peer server",
     "The TLS handshake with the partner's edge failed (untrusted CA, wrong name, "
     "no common protocol).",
     "Check that each side trusts the other's CA and the partner's certificate names "
     "its edge FQDN."},
    {POLICY_DIAG_SPOOF_LOCAL_FROM, 403, "From domain is a local SIP domain",
     "A request from outside claims to come from one of this edge's own SIP domains "
     "(spoofing).",
     "None on this side; the partner's edge or a user there forged the From."},
    {POLICY_DIAG_NOT_ENTITLED, 403, "Peer is not entitled to send for this domain",
     "The peer is a known partner server or provider, but the From domain is not one it "
     "serves, and it is not a verified edge of that domain.",
     "Add the domain to the provider (fedge provider set --domains) or allow it."},
    {POLICY_DIAG_PROVIDER_DISABLED, 403, "The provider serving this domain is disabled",
     "The domain is served by a provider that is disabled, and discovery is off.",
     "fedge provider set <name> --enabled."},
    {POLICY_DIAG_TARGET_NOT_LOCAL, 403, "Target is not in a local SIP domain",
     "An inbound request targets a domain this edge does not serve (relay attempt or "
     "misrouted request).",
     "Add the domain to [edge] sip_domains if it is yours."},
    {POLICY_DIAG_RCPT_NO_FEDERATION, 403, "Recipient is not enabled for federation",
     "The recipient's external access policy has federation off.",
     "fedge policy set <policy> --federation on, or assign the user another policy."},
    {POLICY_DIAG_RCPT_NO_PUBLIC, 403, "Recipient is not enabled for public IM connectivity",
     "The sender comes through a public IM provider and the recipient's policy has "
     "public off.",
     "fedge policy set <policy> --public on."},
    {POLICY_DIAG_FROM_NOT_LOCAL, 403, "From domain is not a local SIP domain",
     "An outbound request's From is not in this edge's SIP domains (open relay "
     "attempt, or a missing domain in the configuration).",
     "Add the domain to [edge] sip_domains if it is yours."},
    {POLICY_DIAG_PEER_UNVERIFIED, 403, "Peer certificate is missing or not trusted",
     "The partner connected without a client certificate, or its chain does not verify "
     "against the trusted CAs.",
     "Partner: present a certificate with clientAuth from a CA this edge trusts."},
    {POLICY_DIAG_WATCHLIST, 403, "Discovered partner is on the watch list",
     "The discovered partner reached more distinct local users than the contacts limit "
     "within the report period.",
     "Review it (fedge watchlist); clear it (fedge watchlist --clear <domain>) or allow "
     "or block the domain."},
    {POLICY_DIAG_RATE_LIMITED, 503, "Discovered partner exceeded its request rate",
     "The discovered partner sent more than the standard rate (or 1 request/s when most "
     "of its requests fail).",
     "Allow the domain to lift the limit, or raise --discovered-rate."},
    {POLICY_DIAG_BAD_ADDRESS, 400, "Missing or malformed From or target domain",
     "The request has no usable domain in its From or Request-URI.",
     "Fix the sending client or server."},
    {POLICY_DIAG_DNS_ERROR, 504, "DNS lookup to verify the peer failed",
     "The SRV lookup needed to verify the sender's edge timed out or failed.",
     "Check the edge's DNS servers; the partner may retry."},
    {POLICY_DIAG_REMOTE_OFF, 403, "Remote user access is disabled on this edge",
     "A client connected to the [remote] listener while the edge's outside-users setting is "
     "off.",
     "fedge edge set --outside-users on (and give the users a policy with --outside on)."},
    {POLICY_DIAG_REMOTE_NOT_LOCAL, 403, "Remote user is not in a local SIP domain",
     "A remote client's From (or the address it registers) is not in [edge] sip_domains: only "
     "the organization's own users sign in through the edge.",
     "Add the domain to [edge] sip_domains if it is yours; else the client is misconfigured."},
    {POLICY_DIAG_REMOTE_USER_OFF, 403, "User is not enabled for remote access",
     "The external access policy that applies to the user (named, site or global) has remote "
     "access off.",
     "fedge policy set <policy> --outside on, or assign the user another policy."},
    {POLICY_DIAG_REMOTE_LOCKED_USER, 403, "User is locked out after repeated failed sign-ins",
     "The registrar refused this user's credentials too often within the lock-out window "
     "([remote] lockout_user_failures, lockout_window).",
     "Wait for [remote] lockout_period, or fedge remote unlock <user>; check the client's "
     "password and look for password guessing in the log."},
    {POLICY_DIAG_REMOTE_LOCKED_ADDR, 403,
     "Client address is locked out after repeated failed sign-ins",
     "The registrar refused credentials from this address too often within the lock-out "
     "window ([remote] lockout_address_failures, lockout_window).",
     "Wait for [remote] lockout_period, or fedge remote unlock <address>."},
    {POLICY_DIAG_USER_NO_AV, 488, "User is not enabled for calls with external users",
     "An internal user placed an audio/video call (an INVITE offering m=audio or m=video, or a "
     "late offer) to a partner while the external access policy that applies to the user has "
     "A/V off. Instant messages and presence still flow.",
     "fedge policy set <policy> --av on, or assign the user a policy with A/V on."},
    {POLICY_DIAG_RCPT_NO_AV, 488, "Recipient is not enabled for calls with external users",
     "A partner called an internal user whose external access policy has A/V off. Instant "
     "messages and presence still flow.",
     "fedge policy set <policy> --av on for the recipient's policy if calls are wanted."},
    {POLICY_DIAG_XMPP_BLOCKED, 403, "Domain is blocked for XMPP",
     "The target domain is on the XMPP blocked list (fedge xmpp block).",
     "fedge xmpp remove <domain> if the block is no longer wanted."},
    {POLICY_DIAG_XMPP_NO_POLICY, 403,
     "From URI not authorized to communicate with XMPP federated users",
     "The sender's external access policy (named, site or global) has XMPP off.",
     "fedge policy set <policy> --xmpp on, or assign the user another policy."},
    {POLICY_DIAG_XMPP_METHOD, 405, "Only MESSAGE and SUBSCRIBE are carried to XMPP domains",
     "A request other than MESSAGE or SUBSCRIBE (presence) for an XMPP partner domain (calls "
     "are not carried), or a SUBSCRIBE for another event package than presence (489) or "
     "outside any subscription (481).",
     "None: only instant messages and presence reach XMPP users (docs/xmpp.md)."},
    {POLICY_DIAG_XMPP_TYPE, 415, "Only text/plain is carried to XMPP (RFC 7572)",
     "The MESSAGE body for an XMPP partner domain is not text/plain.",
     "Send text/plain to XMPP users."},
    {POLICY_DIAG_XMPP_TEXT, 400, "Body is not UTF-8 text that XMPP can carry",
     "The text/plain body is not UTF-8 or holds characters XML does not allow (controls).",
     "Fix the sending client's encoding."},
    {POLICY_DIAG_XMPP_ADDRESS, 404, "Address cannot be written as an XMPP address",
     "A user part holds a space or one of \" & ' / : < > @, or is not UTF-8 (RFC 7247, RFC 7622).",
     "Use an address whose user part XMPP allows."},
    {POLICY_DIAG_XMPP_FAILED, 0, "XMPP delivery failed",
     "The XMPP stream to the partner could not be opened or authenticated, or its queue was full; "
     "the status is mapped from the XMPP condition (RFC 7247 §8), which the Warning names.",
     "Read the condition: fedge plan and the edge's log name the failed step (DNS, TLS, SASL, "
     "dialback)."},
};

const policy_diag_t *policy_diag(int id)
{
    size_t lo = 0, hi = FEDGE_ARRAY_LEN(table);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (table[mid].id == id)
            return &table[mid];
        if (table[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const policy_diag_t *policy_diag_table(size_t *n)
{
    *n = FEDGE_ARRAY_LEN(table);
    return table;
}

/* Appends a SIP quoted-string body (RFC 3261 §25.1: '"' and '\' escaped,
 * controls dropped). Returns the new length or SIZE_MAX on overflow. */
static size_t put_quoted(char *buf, size_t n, size_t at, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            continue;
        if (c == '"' || c == '\\') {
            if (at + 1 >= n)
                return SIZE_MAX;
            buf[at++] = '\\';
        }
        if (at + 1 >= n)
            return SIZE_MAX;
        buf[at++] = (char)c;
    }
    return at;
}

static size_t put_raw(char *buf, size_t n, size_t at, const char *s, size_t len)
{
    if (at == SIZE_MAX || at + len + 1 > n)
        return SIZE_MAX;
    memcpy(buf + at, s, len);
    return at + len;
}

/* Terminates the text of length at (SIZE_MAX: it overflowed, leaving ""
 * in a non-empty buf) and returns its length or FEDGE_ENOSPC. */
static int finish(char *buf, size_t n, size_t at)
{
    if (at == SIZE_MAX) {
        if (n)
            buf[0] = 0;
        return FEDGE_ENOSPC;
    }
    buf[at] = 0;
    return (int)at;
}

int policy_format_diag(int id, const char *reason, fedge_str_t source, bool public_form, char *buf,
                       size_t n)
{
    char head[32];
    int hl = snprintf(head, sizeof(head), "%d;reason=\"", id);
    size_t at = put_raw(buf, n, 0, head, (size_t)hl);
    if (at != SIZE_MAX)
        at = put_quoted(buf, n, at, reason);
    at = put_raw(buf, n, at, "\"", 1);
    if (!public_form) {
        at = put_raw(buf, n, at, ";source=\"", 9);
        char src[256];
        size_t sl = source.len < sizeof(src) - 1 ? source.len : sizeof(src) - 1;
        if (source.s)
            memcpy(src, source.s, sl);
        src[source.s ? sl : 0] = 0;
        if (at != SIZE_MAX)
            at = put_quoted(buf, n, at, src);
        at = put_raw(buf, n, at, "\"", 1);
    }
    return finish(buf, n, at);
}

int policy_format_warning(int id, const char *reason, fedge_str_t edge_fqdn, char *buf, size_t n)
{
    char head[32];
    size_t at = put_raw(buf, n, 0, "399 ", 4);
    at = put_raw(buf, n, at, edge_fqdn.s ? edge_fqdn.s : "", edge_fqdn.s ? edge_fqdn.len : 0);
    int hl = snprintf(head, sizeof(head), " \"%d ", id);
    at = put_raw(buf, n, at, head, (size_t)hl);
    if (at != SIZE_MAX)
        at = put_quoted(buf, n, at, reason);
    at = put_raw(buf, n, at, "\"", 1);
    return finish(buf, n, at);
}
