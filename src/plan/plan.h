/* plan.h — planning and diagnostics (docs/planning.md): what an administrator must
 * publish in DNS, obtain as certificate and open in the firewall (the plan,
 * derived from the configuration and the store), the live verification of
 * every planned item (check), and a step-by-step diagnosis of federation
 * with one partner domain (probe), each finding with a diagnostic ID and a
 * fix (docs/diagnostics.md, "Planning and probe findings"). */
#ifndef FEDGE_PLAN_H
#define FEDGE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "base/base.h"
#include "config/config.h"
#include "net/net.h"
#include "store/store.h"

/* ------------------------------------------------------------------ */
/* The plan                                                            */
/* ------------------------------------------------------------------ */

/* The SRV prefix remote users' clients look up (Lync clients, RFC 3263
 * "_sip._tls"): "_sip._tls." + domain -> sip.<domain> on the remote port. */
#define PLAN_REMOTE_SRV_PREFIX "_sip._tls."

/* One DNS record to publish, zone-file fields. */
typedef struct {
    char *owner;      /* "_sipfederationtls._tcp.contoso.com." */
    char *type;       /* "SRV", "A", "AAAA" */
    char *value;      /* "0 0 5061 edge.contoso.com." or an address */
    char *note;       /* why / what to replace; "" when none */
    bool placeholder; /* value is a placeholder to replace (wildcard listen) */
} plan_record_t;

/* One row of the firewall table. */
typedef struct {
    char *port;  /* "5061", "53", "80,443" */
    char *proto; /* "TCP", "UDP/TCP" */
    char *dir;   /* "in", "out" */
    char *from;  /* "any (partners' edges)", "edge external address", ... */
    char *to;
    char *purpose; /* "SIP over mutual TLS from partners" */
} plan_fw_t;

/* What one configured partner must publish or present. */
typedef struct {
    char *kind;   /* "partner server", "allowed domain", "hosting provider",
                     "public provider" */
    char *domain; /* the partner domain (providers: their proxy FQDN's name) */
    char *fqdn;   /* partner server / provider proxy FQDN, NULL for a domain */
    char **needs; /* sentences, n_needs of them */
    size_t n_needs;
} plan_partner_t;

typedef struct {
    char *edge_fqdn;
    char *pool_fqdn;      /* [edge] pool_fqdn, NULL for an edge alone */
    char *srv_target;     /* what the SRV records name: pool_fqdn, else edge_fqdn */
    uint16_t port;        /* the SRV port: the external listener's port (5061) */
    uint16_t remote_port; /* [remote] listen's first port; 0 without [remote]:
                             remote users' clients find the edge by
                             _sip._tls.<domain> SRV -> sip.<domain> on it */
    char **sip_domains;
    size_t n_sip_domains;

    plan_record_t *records;
    size_t n_records;

    struct {
        char *subject;      /* "CN=edge.contoso.com" */
        char **sans;        /* "DNS:edge.contoso.com", "DNS:contoso.com",
                               "URI:sip:contoso.com" (optional ones flagged) */
        bool *san_required; /* per SAN: false for the optional sip: URIs */
        size_t n_sans;
        char *eku; /* "serverAuth, clientAuth" */
        char *key; /* "RSA 2048 bits or more, or ECDSA P-256" */
        char *ca;  /* "a public CA that partners trust" */
    } cert;

    plan_fw_t *fw;
    size_t n_fw;

    plan_partner_t *partners;
    size_t n_partners;

    char **notes; /* general remarks (routing, discovery) */
    size_t n_notes;
} plan_t;

/* What a pool's plan derives from besides the configuration
 * (docs/pools.md): the members recorded in the store (store_member_list;
 * those of another pool are left out) and, with a hardware load
 * balancer in front of the pool, its external virtual address. */
typedef struct {
    const store_member_t *members;
    size_t n_members;
    const char *hlb; /* IP literal of the load balancer's VIP, or NULL (DNS load balancing) */
} plan_pool_t;

/* Builds the plan from a loaded configuration and a store snapshot (snap
 * may be NULL: no partners). Pure: no I/O. Never fails (the configuration
 * was validated by config_load); free with plan_free. */
plan_t *plan_build(const config_t *cfg, const store_snapshot_t *snap);

/* The same for a member of a pool ([edge] pool_fqdn): the SRV records
 * name the pool FQDN, which gets one A/AAAA record per member (or the
 * VIP of pool->hlb), the certificate names the pool, the internal pool
 * name ([internal] pool_name) one record per member's internal address,
 * and notes on OCS 2007/R2 partners and the load balancer. pool may be
 * NULL (no member recorded yet: this member's addresses only). Without
 * pool_fqdn it is plan_build. */
plan_t *plan_build_pool(const config_t *cfg, const store_snapshot_t *snap, const plan_pool_t *pool);

/* Frees p and everything it owns; NULL is a no-op. */
void plan_free(plan_t *p);

/* `fedge plan --csr`: an OpenSSL request configuration (openssl req
 * -config) for p's certificate: CN the SRV target (the pool FQDN on a pool
 * member), subjectAltName every name of p->cert (and the edge FQDN when it
 * is not the SRV target), extendedKeyUsage serverAuth + clientAuth.
 * malloc'd text. */
char *plan_csr_config(const plan_t *p);

/* The same request as a PEM CSR signed with the unencrypted PEM private
 * key at key_path, made with OpenSSL's API: 0 and *pem (malloc'd), or
 * FEDGE_EIO (cannot open) / FEDGE_EINVAL (no key, OpenSSL failure) with a
 * message in err and *pem NULL. */
int plan_csr(const plan_t *p, const char *key_path, char **pem, fedge_err_t *err);

/* The plan as text for a terminal (zone-file block, certificate, firewall
 * table, partners). Returns a malloc'd NUL-terminated string (free()). */
char *plan_text(const plan_t *p);

/* The plan as a JSON object (new reference; json_decref it). */
json_t *plan_json(const plan_t *p);

/* ------------------------------------------------------------------ */
/* Findings (check and probe)                                          */
/* ------------------------------------------------------------------ */

typedef enum {
    PLAN_PASS = 0, /* as it should be */
    PLAN_INFO,     /* a fact, nothing to judge */
    PLAN_SKIP,     /* not tried (an earlier step failed or not applicable) */
    PLAN_WARN,     /* works, but something should be fixed */
    PLAN_FAIL,     /* broken: federation fails because of it */
} plan_status_t;

/* "pass", "info", "skip", "warn", "fail". */
const char *plan_status_name(plan_status_t s);

/* One finding. */
typedef struct {
    char *step; /* check: "dns", "cert", "listen", "pool", "partner", "media";
                   probe: "srv", "address", "tcp", "tls", "options", "policy" */
    char *name; /* what was looked at: "SRV _sipfederationtls._tcp.contoso.com" */
    plan_status_t status;
    int id;       /* diagnostic ID (plan_diag) for warn/fail, else 0; the
                     policy step uses the policy IDs (1012, 1014, ...) */
    char *text;   /* what was found, one line */
    char *fix;    /* what to do, one line; NULL when nothing */
    json_t *data; /* details for --json (owned), or NULL */
} plan_item_t;

typedef struct {
    plan_item_t *items;
    size_t n, cap;
} plan_report_t;

/* Appends an item (strings copied; data reference stolen, may be NULL) and
 * returns it. fix may be NULL. */
plan_item_t *plan_report_add(plan_report_t *r, const char *step, const char *name, plan_status_t st,
                             int id, const char *text, const char *fix, json_t *data);

/* Frees every item (the report struct itself is the caller's). */
void plan_report_clear(plan_report_t *r);

/* Counts items of a status. */
size_t plan_report_count(const plan_report_t *r, plan_status_t st);

/* The verdict of a report: the first FAIL item in the order of steps
 * (steps: n_steps step names, earliest first; items of a step not listed
 * come last, in report order), or NULL when nothing failed. Pure. */
const plan_item_t *plan_verdict(const plan_report_t *r, const char *const *steps, size_t n_steps);

/* The one verdict line: "FAIL at tls: <text> — fix: <fix>", or, with no
 * failure, "PASS: <ok_text>" (", N warnings" appended when there are).
 * Returns a malloc'd string. */
char *plan_verdict_line(const plan_report_t *r, const char *const *steps, size_t n_steps,
                        const char *ok_text);

/* The report as JSON: {"items":[{step,name,status,id,code,text,fix,data}],
 * "summary":{"pass":n,"warn":n,"fail":n,...}} (new reference). */
json_t *plan_report_json(const plan_report_t *r);

/* The report as text lines "[fail] step  name: text\n        fix: ...". */
char *plan_report_text(const plan_report_t *r);

/* ------------------------------------------------------------------ */
/* Diagnostic IDs of findings (fedge range 19500-19599)                */
/* ------------------------------------------------------------------ */

enum {
    PLAN_DIAG_SRV_MISSING = 19501,      /* our SRV record is not published */
    PLAN_DIAG_SRV_WRONG = 19502,        /* our SRV points elsewhere */
    PLAN_DIAG_DNS_ERROR = 19503,        /* a look-up failed (timeout, SERVFAIL) */
    PLAN_DIAG_HOST_MISSING = 19504,     /* no A/AAAA for the edge FQDN */
    PLAN_DIAG_HOST_OTHER = 19505,       /* A/AAAA not the listen address (NAT?) */
    PLAN_DIAG_POOL_ADDRESS = 19506,     /* the pool FQDN does not lead to this member */
    PLAN_DIAG_POOL_MEMBER = 19507,      /* a member is not recorded, stale or misnamed */
    PLAN_DIAG_CERT_UNREADABLE = 19510,  /* certificate/key cannot be read */
    PLAN_DIAG_CERT_KEY = 19511,         /* key does not match the certificate */
    PLAN_DIAG_CERT_CHAIN = 19512,       /* chain does not verify */
    PLAN_DIAG_CERT_SAN_FQDN = 19513,    /* edge FQDN not in the SANs */
    PLAN_DIAG_CERT_SAN_DOMAIN = 19514,  /* a SIP domain not in the SANs */
    PLAN_DIAG_CERT_EKU = 19515,         /* serverAuth or clientAuth missing */
    PLAN_DIAG_CERT_EXPIRED = 19516,     /* expired or not yet valid */
    PLAN_DIAG_CERT_EXPIRING = 19517,    /* expires within 30 days */
    PLAN_DIAG_CERT_WEAK_KEY = 19518,    /* key too small */
    PLAN_DIAG_LISTEN_DOWN = 19520,      /* nothing accepts on a listen address */
    PLAN_DIAG_LISTEN_TLS = 19521,       /* the listener's TLS handshake failed */
    PLAN_DIAG_REMOTE_TLS = 19522,       /* [remote] listener: no handshake without a client cert */
    PLAN_DIAG_REMOTE_CERT = 19523,      /* the certificate does not name sip.<domain> */
    PLAN_DIAG_PARTNER_DNS = 19525,      /* a partner's records are missing */
    PLAN_DIAG_MEDIA_RELAY = 19526,      /* an rtpengine relay does not answer */
    PLAN_DIAG_PROBE_NO_SRV = 19530,     /* partner publishes no SRV record */
    PLAN_DIAG_PROBE_NO_SERVICE = 19531, /* partner's SRV target is "." */
    PLAN_DIAG_PROBE_OUTSIDE = 19532,    /* SRV target outside the partner domain */
    PLAN_DIAG_PROBE_NO_ADDRESS = 19533, /* SRV target / FQDN has no address */
    PLAN_DIAG_PROBE_TCP = 19534,        /* TCP connect refused / timed out */
    PLAN_DIAG_PROBE_NOT_TLS = 19535,    /* the port does not speak TLS */
    PLAN_DIAG_PROBE_REFUSED_US = 19536, /* partner refused our certificate */
    PLAN_DIAG_PROBE_UNTRUSTED = 19537,  /* partner's chain does not verify */
    PLAN_DIAG_PROBE_EXPIRED = 19538,    /* partner's certificate expired */
    PLAN_DIAG_PROBE_NAME = 19539,       /* partner's certificate names neither */
    PLAN_DIAG_PROBE_NO_CLIENT = 19540,  /* partner's cert lacks clientAuth */
    PLAN_DIAG_PROBE_TLS = 19541,        /* other TLS failure / timeout */
    PLAN_DIAG_PROBE_NO_ANSWER = 19542,  /* OPTIONS got no answer */
    PLAN_DIAG_PROBE_SIP_ERROR = 19543,  /* OPTIONS answered with an error */
    PLAN_DIAG_XMPP_STREAM = 19545,      /* probe --xmpp: no stream / features */
    PLAN_DIAG_XMPP_STARTTLS = 19546,    /* probe --xmpp: STARTTLS absent / refused */
    PLAN_DIAG_XMPP_AUTH = 19547,        /* probe --xmpp: SASL EXTERNAL refused */
};

typedef struct {
    int id;
    const char *code;  /* short stable name, "srv-missing" */
    const char *cause; /* for administrators (docs) */
    const char *fix;   /* generic fix (items carry the specific one) */
} plan_diag_t;

/* The entry for id, or NULL. */
const plan_diag_t *plan_diag(int id);
/* The whole table, ordered by ID. */
const plan_diag_t *plan_diag_table(size_t *n);

/* ------------------------------------------------------------------ */
/* Certificates (pure apart from reading the files)                    */
/* ------------------------------------------------------------------ */

/* What a certificate says, as plan reads it. */
typedef struct {
    char *subject, *issuer; /* one-line DNs */
    /* The names, read by net's routine for peers (net_peer_from_x509), so
     * that plan judges a certificate as the running edge does: ask with
     * net_cert_names / net_cert_is_domain / net_cert_wildcard_only. Owned;
     * never NULL after a successful load. */
    net_peer_t *id;
    bool has_eku;                /* an extendedKeyUsage extension is present */
    bool eku_server, eku_client; /* usable for (true without EKU extension) */
    time_t not_before, not_after;
    char key_type[16]; /* "RSA", "EC", "Ed25519", ... */
    int key_bits;
    char *curve; /* "prime256v1" for EC, else NULL */
    bool self_signed;
} plan_cert_t;

/* Fills c from the first certificate of the PEM file path. 0, or
 * FEDGE_EIO / FEDGE_EINVAL with a message in err. Free with plan_cert_clear. */
int plan_cert_load(const char *path, plan_cert_t *c, fedge_err_t *err);
/* Frees what c owns and zeroes it. */
void plan_cert_clear(plan_cert_t *c);

/* The checks of the edge's own external certificate, appended to r with
 * step "cert": readable, key matches (key_path), chain verifies against
 * ca_file / ca_path (both NULL: the system store; the certificate file's
 * further certificates serve as intermediates; when it fails there but
 * verifies against the system store — a public CA — it passes), SANs cover
 * fqdn (fail) and
 * each SIP domain (warn), EKUs serverAuth + clientAuth, key size,
 * validity at now (warn when fewer than 30 days remain). */
void plan_check_cert(const char *cert_path, const char *key_path, const char *ca_file,
                     const char *ca_path, const char *fqdn, const char *const *domains,
                     size_t n_domains, time_t now, plan_report_t *r);

/* ------------------------------------------------------------------ */
/* Live commands                                                       */
/* ------------------------------------------------------------------ */

typedef struct {
    unsigned timeout_ms;     /* per network step (connect, handshake, answer);
                                0 = 3000 */
    time_t now;              /* 0 = time(NULL) */
    const plan_pool_t *pool; /* a pool member: the pool's members, --hlb */
} plan_live_opts_t;

/* `fedge check`: every planned item verified live (DNS through the
 * configured [dns] servers, the external certificate, the listeners,
 * partners' records, an ng ping to each [media] rtpengine relay),
 * appended to r. Returns 0, or FEDGE_EDNS when the
 * resolver cannot be created (message in err; nothing appended). */
int plan_check(const config_t *cfg, const store_snapshot_t *snap, const plan_live_opts_t *o,
               plan_report_t *r, fedge_err_t *err);

/* The order of the check steps for plan_verdict. */
extern const char *const plan_check_steps[];
extern const size_t plan_check_n_steps;

/* `fedge probe DOMAIN`: SRV look-up (or the configured partner server /
 * provider FQDN), addresses, TCP connect to each target, TLS handshake
 * presenting our certificate and checking the partner's, SIP OPTIONS over
 * it, and our policy for the domain; appended to r in that order. Returns
 * 0, FEDGE_EINVAL (domain is not a valid name) or FEDGE_EDNS (resolver),
 * with a message in err. */
int plan_probe(const config_t *cfg, const store_snapshot_t *snap, const char *domain,
               const plan_live_opts_t *o, plan_report_t *r, fedge_err_t *err);

/* The order of the probe steps for plan_verdict. */
extern const char *const plan_probe_steps[];
extern const size_t plan_probe_n_steps;

/* `fedge probe --xmpp DOMAIN` (probe_xmpp.c): server-to-server XMPP with
 * DOMAIN as the gateway sets it up: _xmpp-server._tcp SRV (else the
 * domain's A/AAAA at 5269), address, TCP, stream header and features,
 * STARTTLS, TLS presenting [xmpp]'s (else [external]'s) certificate and
 * verifying the partner's for DOMAIN, then SASL EXTERNAL tried when
 * offered (dialback only reported: it needs the partner to call us back).
 * Appended to r in that order. Returns 0, FEDGE_EINVAL (bad name),
 * FEDGE_ECONFIG (certificate files) or FEDGE_EDNS, message in err. */
int plan_probe_xmpp(const config_t *cfg, const char *domain, const plan_live_opts_t *o,
                    plan_report_t *r, fedge_err_t *err);

/* The order of the probe --xmpp steps for plan_verdict. */
extern const char *const plan_probe_xmpp_steps[];
extern const size_t plan_probe_xmpp_n_steps;

#endif
