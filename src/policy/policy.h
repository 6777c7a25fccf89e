/* policy.h — the federation decision of fedge (docs/diagnostics.md): a
 * pure function of (store snapshot, direction, peer identity, DNS
 * verification, From/To) to a verdict — allow with federation type, route
 * and trust annotations, reject with SIP status and diagnostic ID, or "look
 * up DNS first"; the diagnostics table; header formatting helpers; and the
 * discovered-partner throttle (explicit time, no clock, no I/O).
 *
 * Nothing here allocates on the decision path or does I/O. Strings in a
 * verdict point into the snapshot, the input or static tables: they live as
 * long as the snapshot and the input do.
 *
 * How the server uses it:
 *  - startup: store_open([edge] store), snap = store_snapshot_empty(), then
 *    store_refresh(store, &snap); throttle = policy_throttle_new(N);
 *  - every ~250 ms: store_refresh(store, &snap); on 1, policy_throttle_sync
 *    (throttle, snap); on error log it and keep going with the old snap;
 *  - per request (after parsing, before forwarding): take a reference to
 *    snap for the transaction, fill policy_input_t (direction from the side
 *    it arrived on; peer fields from net_peer_t; From/To domains and users;
 *    [edge] sip_domains) and call policy_decide:
 *      NEED_DNS: resolve _sipfederationtls._tcp.<dns_domain>, set in.dns
 *                from policy_edge_verified (or POLICY_DNS_ERROR), decide
 *                again;
 *      REJECT:   answer v.status with Warning (policy_format_warning) and
 *                ms-diagnostics (internal side) or ms-diagnostics-public
 *                (partner side) from policy_format_diag;
 *      ALLOW:    inbound: if v.throttle, policy_throttle_admit (a REJECT as
 *                above when it refuses; when *newly_watched, persist with
 *                store_watchlist_add off the hot path); strip every header
 *                for which policy_is_trust_header is true and add
 *                ms-edge-proxy-message-trust: policy_format_trust(...);
 *                outbound: route by v.route / v.route_host and check that
 *                the partner's certificate names v.expect_peer (the SRV
 *                target for POLICY_ROUTE_SRV);
 *  - final response of a throttled request: policy_throttle_result. */
#ifndef FEDGE_POLICY_H
#define FEDGE_POLICY_H

#include "base/base.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Diagnostics: one table (docs/diagnostics.md mirrors it)             */
/* ------------------------------------------------------------------ */

/* IDs taken over from MS-OCER where the meaning fits (Lync/SfB clients and
 * admins know them), and fedge's own range 19000-19999 (MS-OCER assigns
 * 0-17999 and 90000+ to Microsoft components; 2000-2999 is its presence
 * range, so fedge stays clear of it). */
enum {
    POLICY_DIAG_USER_NO_FEDERATION = 1002, /* sender's policy: no federation */
    POLICY_DIAG_USER_NO_PUBLIC = 1005,     /* sender's policy: no public IM */
    POLICY_DIAG_SRV_FAILED = 1008,         /* no _sipfederationtls SRV (proxy/dns) */
    POLICY_DIAG_SRV_NO_MATCH = 1009,       /* peer not an SRV edge of the domain */
    POLICY_DIAG_CERT_MISMATCH = 1010,      /* peer cert lacks the configured FQDN */
    POLICY_DIAG_BLOCKED = 1012,            /* domain on the blocked list */
    POLICY_DIAG_NOT_ALLOWED = 1014,        /* unknown domain, discovery off */
    POLICY_DIAG_FEDERATION_OFF = 1027,     /* federation disabled on the edge */
    POLICY_DIAG_PEER_NO_DIAG = 1034,       /* partner error without diagnostics (proxy) */
    POLICY_DIAG_TLS_FAILED = 1047,         /* outbound TLS failed (proxy/net) */

    POLICY_DIAG_SPOOF_LOCAL_FROM = 19001,   /* inbound From in a local SIP domain */
    POLICY_DIAG_NOT_ENTITLED = 19002,       /* peer may not send for this domain */
    POLICY_DIAG_PROVIDER_DISABLED = 19003,  /* domain's provider disabled */
    POLICY_DIAG_TARGET_NOT_LOCAL = 19004,   /* inbound To not a local SIP domain */
    POLICY_DIAG_RCPT_NO_FEDERATION = 19005, /* recipient's policy: no federation */
    POLICY_DIAG_RCPT_NO_PUBLIC = 19006,     /* recipient's policy: no public IM */
    POLICY_DIAG_FROM_NOT_LOCAL = 19007,     /* outbound From not local (relay) */
    POLICY_DIAG_PEER_UNVERIFIED = 19008,    /* no verified client certificate */
    POLICY_DIAG_WATCHLIST = 19009,          /* discovered partner on watch list */
    POLICY_DIAG_RATE_LIMITED = 19010,       /* discovered partner over its rate */
    POLICY_DIAG_BAD_ADDRESS = 19011,        /* From/To domain missing/malformed */
    POLICY_DIAG_DNS_ERROR = 19012,          /* DNS lookup for verification failed */
    POLICY_DIAG_REMOTE_OFF = 19013,         /* remote user access off on the edge */
    POLICY_DIAG_REMOTE_NOT_LOCAL = 19014,   /* remote request not for a local domain */
    POLICY_DIAG_REMOTE_USER_OFF = 19015,    /* user's policy: no remote access */
    POLICY_DIAG_REMOTE_LOCKED_USER = 19016, /* user locked out (failed logins) */
    POLICY_DIAG_REMOTE_LOCKED_ADDR = 19017, /* client address locked out */
    POLICY_DIAG_USER_NO_AV = 19018,         /* sender's policy: no A/V calls */
    POLICY_DIAG_RCPT_NO_AV = 19019,         /* recipient's policy: no A/V calls */

    /* The SIP <-> XMPP gateway (src/edge/xmpp.c, docs/xmpp.md): 19060-19069. */
    POLICY_DIAG_XMPP_BLOCKED = 19060,   /* domain blocked for XMPP */
    POLICY_DIAG_XMPP_NO_POLICY = 19061, /* sender's policy: no XMPP */
    POLICY_DIAG_XMPP_METHOD = 19062,    /* not a MESSAGE */
    POLICY_DIAG_XMPP_TYPE = 19063,      /* body not text/plain */
    POLICY_DIAG_XMPP_TEXT = 19064,      /* body not UTF-8 XML text */
    POLICY_DIAG_XMPP_ADDRESS = 19065,   /* address not mappable to a JID */
    POLICY_DIAG_XMPP_FAILED = 19066,    /* the XMPP side failed (mapped status) */
};

typedef struct {
    int id;
    int status;         /* SIP status fedge answers with; 0: as received */
    const char *reason; /* the reason="..." text, also the Warning text */
    const char *cause;  /* for administrators (docs) */
    const char *fix;
} policy_diag_t;

/* The entry for id, or NULL. */
const policy_diag_t *policy_diag(int id);
/* The whole table, ordered by ID. */
const policy_diag_t *policy_diag_table(size_t *n);

/* ------------------------------------------------------------------ */
/* Decision                                                            */
/* ------------------------------------------------------------------ */

typedef enum {
    POLICY_INBOUND = 0,  /* from a partner (external side) to a local user */
    POLICY_OUTBOUND = 1, /* from a local user (internal side) to a partner */
} policy_dir_t;

/* "Is the peer a legitimate edge of From domain D?" as the proxy found
 * out: DNS SRV _sipfederationtls._tcp.D names a target that the peer's
 * certificate names (see policy_edge_verified). */
typedef enum {
    POLICY_DNS_UNKNOWN = 0,  /* not looked up yet: the verdict may ask */
    POLICY_DNS_VERIFIED,     /* yes */
    POLICY_DNS_NOT_VERIFIED, /* looked up, it is not (dns_reason says why) */
    POLICY_DNS_ERROR,        /* the lookup failed (timeout, SERVFAIL) */
} policy_dns_t;

typedef enum {
    POLICY_FED_NONE = 0,
    POLICY_FED_PARTNER_SERVER,   /* allowed partner server (direct federation) */
    POLICY_FED_ALLOWED_DOMAIN,   /* allowed domain (enhanced federation) */
    POLICY_FED_PROVIDER_HOSTING, /* hosting provider */
    POLICY_FED_PROVIDER_PUBLIC,  /* public IM provider */
    POLICY_FED_DISCOVERED,       /* discovered partner (open federation) */
} policy_fed_t;

/* ms-source-type values of MS-SIPRE §2.2.15. */
typedef enum {
    POLICY_SRC_DIRECT_PARTNER = 0, /* "DirectPartner": allowed partner server */
    POLICY_SRC_AUTO_FEDERATION,    /* "AutoFederation": allowed domain, discovered */
    POLICY_SRC_AUTHORIZED_SERVER,  /* "AuthorizedServer": hosting/public provider */
    POLICY_SRC_EDGE_GENERATED,     /* "EdgeProxyGenerated": made by fedge itself */
} policy_src_t;

typedef enum {
    POLICY_ROUTE_NONE = 0,
    POLICY_ROUTE_FQDN,    /* connect to route_host:5061 (partner server, provider) */
    POLICY_ROUTE_SRV,     /* resolve _sipfederationtls._tcp.<to_domain> */
    POLICY_ROUTE_DEFAULT, /* the edge's default route, route_host = HOST[:PORT] */
} policy_route_t;

typedef enum {
    POLICY_ALLOW = 0,
    POLICY_REJECT,
    POLICY_NEED_DNS, /* verify the peer as an edge of dns_domain, then call again */
} policy_outcome_t;

typedef struct {
    policy_dir_t dir;

    /* Inbound: the peer's identity, as net_peer_t carries it (lowercase
     * names; RFC 5922: exact match, wildcards never match). */
    bool peer_verified; /* certificate presented and its chain verified */
    const char *const *peer_dns;
    size_t n_peer_dns;
    const char *const *peer_sip;
    size_t n_peer_sip;
    const char *peer_cn; /* only when the certificate has no SAN, else NULL */

    /* Inbound: DNS verification of the peer for from_domain. */
    policy_dns_t dns;
    const char *dns_reason; /* NOT_VERIFIED/ERROR: short text, may be NULL */

    /* Inbound, provider with use-source verification: what the provider
     * asserted for this message (-1 nothing, 0 unverified, 1 verified). */
    int source_verified;

    fedge_str_t from_user, from_domain; /* From URI (any case) */
    fedge_str_t to_user, to_domain;     /* target: Request-URI (or To) */

    const char *const *local_domains; /* the edge's SIP domains, lowercase */
    size_t n_local_domains;
    fedge_str_t site; /* site of the local user ("" none): site:NAME policy */

    /* The request sets up a call with audio or video (policy_wants_av):
     * refused when the local user's policy has A/V off. */
    bool av;
} policy_input_t;

typedef struct {
    policy_outcome_t outcome;
    policy_fed_t type; /* ALLOW; also set on REJECT once known */

    /* ALLOW, inbound: annotations for ms-edge-proxy-message-trust. */
    policy_src_t source_type;
    bool verified_user;      /* ms-source-verified-user=verified */
    bool public_cloud;       /* ms-source-network=publiccloud (else federation) */
    const char *remote_fqdn; /* provider's proxy FQDN (public providers) or NULL */
    bool throttle;           /* discovered partner: run policy_throttle_admit */
    bool monitor;            /* the allowed domain is marked for monitoring */

    /* ALLOW, outbound: where to send. */
    policy_route_t route;
    const char *route_host; /* FQDN or HOST[:PORT]; NULL for SRV routes */
    /* The name the partner's server certificate must carry; NULL for SRV
     * routes (there: the SRV target, RFC 5922) and the default route. */
    const char *expect_peer;
    bool mark_verifiable; /* edge setting "mark-verifiable" */

    /* REJECT */
    int status;         /* SIP status code */
    int diag;           /* diagnostic ID (policy_diag) */
    const char *reason; /* the table's reason text */

    /* NEED_DNS: the domain whose SRV edges the peer must be one of. */
    fedge_str_t dns_domain;
} policy_verdict_t;

/* Decides. snap, in and out must not be NULL; never fails (a malformed
 * input is a REJECT with POLICY_DIAG_BAD_ADDRESS). Rules, in order:
 *  inbound:  no verified certificate → 19008; bad From/To → 19011;
 *            federation off → 1027; From in a local domain → 19001;
 *            From blocked (also as a subdomain when block-subdomains) → 1012;
 *            To not local → 19004; then by the From domain's type:
 *            partner server (peer must name its FQDN, else 1010), allowed
 *            domain (DNS verified, else NEED_DNS / 1009 / 19012), enabled
 *            provider (peer must name its proxy FQDN, else 1010), discovered
 *            when discovery is on (as allowed domain; throttle), else 1014
 *            (19003 when its provider is disabled; 19002 when the peer is
 *            a known partner server or provider of another domain); finally
 *            the recipient's policy (19005 / 19006; 19019 for an A/V call
 *            when its A/V switch is off).
 *  outbound: bad From/To → 19011; From not local → 19007; federation off →
 *            1027; To blocked → 1012; by type as above (discovered only with
 *            discovery on, else 1014 / 19003); sender's policy (1002 /
 *            1005; 19018 for an A/V call when its A/V switch is off); route by type,
 *            or the default route. */
void policy_decide(const store_snapshot_t *snap, const policy_input_t *in, policy_verdict_t *out);

/* Whether a request sets up an audio/video call, for policy_input_t.av:
 * an INVITE whose SDP (sdp: the session description, already found in its
 * body; an empty string when the INVITE has none) has an m=audio or
 * m=video line, or that has no SDP at all (a late offer: the media is
 * chosen in the 200, after the policy decided). An INVITE whose SDP offers
 * only other media (m=message: Lync's IM sessions; m=application) is no
 * call. Pure. */
bool policy_wants_av(bool is_invite, fedge_str_t sdp);

/* The external access policy that applies to local user user@domain: the
 * named policy assigned to the user, else site:SITE when it exists, else
 * global; NULL only if the store has no global policy. */
const store_policy_t *policy_for_user(const store_snapshot_t *snap, fedge_str_t user,
                                      fedge_str_t domain, fedge_str_t site);

/* Verification of "peer is a legitimate edge of domain": one of the SRV
 * targets of _sipfederationtls._tcp.<domain> (lowercase FQDNs) is named
 * by the peer (same name rules as policy_input_t) and lies in domain
 * itself (the target equals domain or ends in ".domain"; Lync's rule, a
 * stranger's SRV pointing elsewhere proves nothing). Returns VERIFIED or
 * NOT_VERIFIED with *reason (static text) set. */
policy_dns_t policy_edge_verified(fedge_str_t domain, const char *const *srv_targets,
                                  size_t n_targets, const policy_input_t *peer,
                                  const char **reason);

/* True if the peer (in's peer fields) names fqdn. */
bool policy_peer_names(const policy_input_t *in, const char *fqdn);

/* ------------------------------------------------------------------ */
/* Remote users (src/policy/remote.c, docs/remote-users.md)            */
/* ------------------------------------------------------------------ */

/* A request from a remote client (the [remote] listener): one of the
 * organization's own users outside its network. */
typedef struct {
    bool is_register;                   /* REGISTER: To is the AOR registered */
    fedge_str_t from_user, from_domain; /* From URI (any case) */
    fedge_str_t to_user, to_domain;     /* To URI (REGISTER) */
    const char *const *local_domains;   /* the edge's SIP domains, lowercase */
    size_t n_local_domains;
    fedge_str_t site; /* site of the user ("" none): site:NAME policy */
} policy_remote_input_t;

/* Decides whether a remote client's request may go to the internal side.
 * Rules, in order: bad From (or, for REGISTER, To) → 19011; the edge's
 * outside-users switch off → 19013; From not in a local SIP domain, or a
 * REGISTER whose To is not → 19014; the policy that applies to the From
 * user (policy_for_user) has remote access off → 19015; else ALLOW.
 * Authentication is the registrar's: nothing here looks at credentials.
 * Pure; never fails; out->outcome is POLICY_ALLOW or POLICY_REJECT. */
void policy_remote_decide(const store_snapshot_t *snap, const policy_remote_input_t *in,
                          policy_verdict_t *out);

/* Lock-out of password guessing through the edge: the registrar's
 * authentication failures counted per user (user@domain) and per client
 * address within a window; at the threshold the user or address is locked
 * out for a period (requests refused 19016 / 19017 without reaching the
 * registrar). Time is passed in; no clock, no I/O. Bounded: at most
 * max_entries users and addresses are tracked; when full, the entry seen
 * least recently that is not locked out is forgotten (a flood of new
 * addresses cannot unlock anybody), and when every entry is locked out a
 * new failure is not counted. */
typedef struct policy_lockout policy_lockout_t;

typedef struct {
    uint32_t user_failures; /* per user within window_ms; >= 1 */
    uint32_t addr_failures; /* per address within window_ms; >= 1 */
    uint32_t window_ms;
    uint32_t period_ms;
    size_t max_entries;
} policy_lockout_cfg_t;

typedef enum { POLICY_LOCK_USER = 0, POLICY_LOCK_ADDRESS = 1 } policy_lock_kind_t;

/* A new tracker (never NULL; aborts on out of memory like fedge_malloc). */
policy_lockout_t *policy_lockout_new(const policy_lockout_cfg_t *cfg);
void policy_lockout_free(policy_lockout_t *t);

/* Before forwarding a remote client's request from addr (an IP literal as
 * text) for user (user@domain, any case; empty when unknown): true when
 * neither is locked out at now_ms. Otherwise false, v turned into a REJECT
 * (19016 for the user, 19017 for the address) and *until_ms (may be NULL)
 * set to when the lock-out ends. */
bool policy_lockout_check(const policy_lockout_t *t, fedge_str_t user, fedge_str_t addr,
                          uint64_t now_ms, policy_verdict_t *v, uint64_t *until_ms);

/* What a counted failure did. */
typedef struct {
    bool user_locked; /* this failure locked the user out (persist it) */
    bool addr_locked; /* this failure locked the address out */
    uint64_t until_ms;
} policy_lockout_event_t;

/* The registrar's final answer to a remote REGISTER. Only real failures
 * count: callers pass counted = true for a 403, and for a 401/407 only when
 * the request carried credentials (Authorization / Proxy-Authorization) and
 * the challenge does not say stale=true (RFC 3261 §22, RFC 7616 §3.3): the
 * first 401 of every digest exchange is not a failure. A 2xx resets the
 * user's count (not the address's: one good password on a shared address
 * must not hide guessing of other users). ev (may be NULL) reports a
 * lock-out this answer started. */
void policy_lockout_result(policy_lockout_t *t, fedge_str_t user, fedge_str_t addr, int status,
                           bool counted, uint64_t now_ms, policy_lockout_event_t *ev);

/* Ends the lock-out and the failure count of user or address key (an
 * administrator's `fedge remote unlock`). FEDGE_ENOENT when not tracked. */
int policy_lockout_clear(policy_lockout_t *t, policy_lock_kind_t kind, fedge_str_t key);

typedef struct {
    policy_lock_kind_t kind;
    const char *key;   /* user@domain (lowercase) or address */
    uint32_t failures; /* in the current window */
    uint64_t until_ms; /* 0: not locked out */
} policy_lockout_entry_t;

/* Calls cb for every tracked user and address (order unspecified). */
void policy_lockout_each(const policy_lockout_t *t,
                         void (*cb)(const policy_lockout_entry_t *e, void *ctx), void *ctx);

/* The store's side (src/store/remote.h). A lock-out this tracker started is
 * written to the store off the hot path (store_lockout_add), then
 * policy_lockout_persisted marks it (FEDGE_ENOENT when key is not locked
 * out here any more). After each store change, policy_lockout_sync gets
 * the lock-outs in force there (kind, key, until_ms on this tracker's
 * clock; failures ignored) and makes the tracker agree: one it had
 * persisted and the store no longer has was ended by an administrator
 * (cleared here too, its count restarted); one the store has and the
 * tracker does not (another member of a pool, or before a restart) is
 * applied until its end. One locked here and not yet persisted is kept. */
int policy_lockout_persisted(policy_lockout_t *t, policy_lock_kind_t kind, fedge_str_t key);
void policy_lockout_sync(policy_lockout_t *t, const policy_lockout_entry_t *in_force, size_t n,
                         uint64_t now_ms);

/* ------------------------------------------------------------------ */
/* Header helpers                                                      */
/* ------------------------------------------------------------------ */

/* The value of ms-edge-proxy-message-trust for an inbound ALLOW:
 * "ms-source-type=AutoFederation;ms-ep-fqdn=<edge_fqdn>;
 *  ms-source-verified-user=verified;ms-source-network=federation"
 * (+ ";ms-remote-fqdn=<fqdn>" for public providers). Returns the length
 * written (NUL-terminated) or FEDGE_ENOSPC. */
int policy_format_trust(const policy_verdict_t *v, fedge_str_t edge_fqdn, char *buf, size_t n);

/* The value of ms-diagnostics (public false: `ID;reason="...";source="fqdn"`)
 * or ms-diagnostics-public (public true: `ID;reason="..."`, MS-OCER
 * §2.2.1.2 forbids source there). The reason is escaped as a SIP
 * quoted-string. Returns the length or FEDGE_ENOSPC. */
int policy_format_diag(int id, const char *reason, fedge_str_t source, bool public_form, char *buf,
                       size_t n);

/* The Warning value for a rejection (RFC 3261 §20.43, code 399):
 * `399 <edge_fqdn> "<ID> <reason>"`. Returns the length or FEDGE_ENOSPC. */
int policy_format_warning(int id, const char *reason, fedge_str_t edge_fqdn, char *buf, size_t n);

/* True for a header name that must be stripped from anything arriving from
 * outside: ms-edge-proxy-message-trust in any case, with any spaces or tabs
 * before the colon included in name (the caller passes the raw name). */
bool policy_is_trust_header(fedge_str_t name);

/* ------------------------------------------------------------------ */
/* Discovered-partner throttling                                       */
/* ------------------------------------------------------------------ */

typedef struct policy_throttle policy_throttle_t;

/* Requests per second of a partner whose requests mostly fail. */
#define POLICY_SLOW_RATE 1
/* A partner "mostly fails" when, within the report period, at least this
 * many requests were answered and more than half failed (>= 400 other than
 * 401/407). */
#define POLICY_FAIL_MIN_SAMPLES 20

/* A throttle tracking up to max_partners partner domains (the least
 * recently seen one that is not watch-listed is forgotten when full). */
policy_throttle_t *policy_throttle_new(size_t max_partners);
void policy_throttle_free(policy_throttle_t *t);

/* Admission of one request from discovered partner domain to local user
 * (user@domain), at now_ms (any monotonic clock in milliseconds), with the
 * rate, contacts limit and report period of snap. Returns true to admit;
 * false with v turned into a REJECT: 19009 (watch list: the snapshot's or
 * ours) or 19010 (over the standard rate, or 1 request/s when slowed).
 * *newly_watched (may be NULL) is set true when this request put domain
 * on the watch list: persist it with store_watchlist_add, off the hot path. */
bool policy_throttle_admit(policy_throttle_t *t, const store_snapshot_t *snap, fedge_str_t domain,
                           fedge_str_t user, uint64_t now_ms, policy_verdict_t *v,
                           bool *newly_watched);

/* The final status of a request admitted for domain (enumeration check). */
void policy_throttle_result(policy_throttle_t *t, fedge_str_t domain, int status, uint64_t now_ms);

/* After loading a new snapshot: a domain this throttle watch-listed and
 * that the store had (persisted) but no longer has was cleared by an
 * administrator — clear it here too and restart its count. */
void policy_throttle_sync(policy_throttle_t *t, const store_snapshot_t *snap);

/* Clears domain's watch-list flag and distinct-user count. Returns 0 or
 * FEDGE_ENOENT when it was not watch-listed here. */
int policy_throttle_clear(policy_throttle_t *t, fedge_str_t domain);

typedef struct {
    const char *domain;
    uint32_t users; /* distinct local users in the current period */
    bool watched;
    bool slowed;         /* mostly failing: 1 request/s */
    uint32_t ok, failed; /* results in the current period */
} policy_partner_t;

/* Calls cb for every tracked partner (order unspecified). */
void policy_throttle_each(const policy_throttle_t *t,
                          void (*cb)(const policy_partner_t *p, void *ctx), void *ctx);

/* ------------------------------------------------------------------ */
/* Events per key and window (remote users' REGISTER rate)             */
/* ------------------------------------------------------------------ */

/* Counts events (REGISTERs) per key (a client's address) in fixed windows
 * and refuses those over a limit. Bounded: at most max_keys keys are
 * tracked. A new key when all are tracked takes the place of the key
 * whose window began first: one whose window is over costs nothing; a
 * live one is forgotten (its count starts again at its next event) and
 * counted in policy_rate_evictions. So one address cannot escape its limit
 * by sending from many others: only max_keys new keys within one window
 * push it out, and then it gets one more window's worth, at the price of
 * max_keys events it was allowed anyway. Time is passed in; no clock, no
 * I/O. Keys longer than POLICY_RATE_KEY_MAX - 1 bytes are cut there. */
typedef struct policy_rate policy_rate_t;

#define POLICY_RATE_KEY_MAX 64

/* A tracker of up to max_keys keys (at least 1; never NULL, aborts on out
 * of memory like fedge_malloc). */
policy_rate_t *policy_rate_new(size_t max_keys);
void policy_rate_free(policy_rate_t *t);

/* One more event of key at now_ms (any monotonic clock in milliseconds):
 * true and counted when the key's current window of window_ms has had
 * fewer than limit events; false (not counted) when it is full. A limit
 * of 0 admits everything without tracking. */
bool policy_rate_admit(policy_rate_t *t, fedge_str_t key, uint32_t limit, uint32_t window_ms,
                       uint64_t now_ms);

/* How many keys are tracked now, and how many keys were forgotten inside
 * their window to make room (since policy_rate_new). */
size_t policy_rate_count(const policy_rate_t *t);
uint64_t policy_rate_evictions(const policy_rate_t *t);

#endif
