/* plan_int.h — helpers shared by the files of src/plan (private): string
 * formatting, a blocking TLS client session with deadlines for probing, and
 * synchronous wrappers around the asynchronous resolver. */
#ifndef FEDGE_PLAN_INT_H
#define FEDGE_PLAN_INT_H

#include "plan/plan.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include "dns/dns.h"

/* asprintf that aborts on allocation failure; free() the result. */
char *plan__fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats into one of 8 rotating static buffers of 1024 bytes (truncating):
 * for arguments of a plan_report_add call, which copies them. Not
 * thread-safe. */
const char *plan__tmp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True for a 0.0.0.0 or :: listen address. */
bool plan__is_wildcard(const config_hostport_t *hp);

/* Fills c from an X509 certificate (see plan_cert_load). */
void plan__cert_from_x509(X509 *x, plan_cert_t *c);

/* The names of c as one text, "DNS:a, DNS:b, URI:sip:c", or "CN=x" plus
 * cn_note without a subjectAltName, or "no names"; truncated to max - 1
 * bytes (max >= 16). Never NULL; free() it (cert.c). */
char *plan__cert_names_text(const plan_cert_t *c, size_t max, const char *cn_note);

/* A client TLS context presenting cert/key (may be NULL), trusting ca_file /
 * ca_path (both NULL: system store), recording verification errors instead
 * of failing the handshake (the session reports them). NULL with a message
 * in err when the files cannot be used. */
SSL_CTX *plan__tls_ctx(const char *cert, const char *key, const char *ca_file, const char *ca_path,
                       config_tls_version_t min_version, fedge_err_t *err);

/* How a session's TLS part ended. */
enum {
    PLAN__TLS_NONE = 0, /* not tried (TCP failed) */
    PLAN__TLS_OK,       /* handshake done, no alert afterwards */
    PLAN__TLS_TIMEOUT,  /* no handshake within the deadline */
    PLAN__TLS_NOT_TLS,  /* the peer answered with something that is not TLS */
    PLAN__TLS_CLOSED,   /* the peer closed during the handshake */
    PLAN__TLS_ALERT,    /* the peer sent an alert (alert says which) */
    PLAN__TLS_ERROR,    /* another failure (tls_err) */
};

typedef struct {
    /* in */
    const struct sockaddr *sa;
    socklen_t salen;
    const char *sni;     /* server name to send; NULL none */
    SSL_CTX *ctx;        /* NULL: TCP only */
    unsigned timeout_ms; /* per phase: connect, handshake, answer */
    const char *request; /* sent after the handshake when the peer verified
                            (or send_unverified); NULL: nothing */
    bool send_unverified;
    unsigned linger_ms; /* without a request: wait so long for an alert */

    /* out */
    int tcp; /* 0 connected, -1 failed */
    char tcp_err[160];
    int tls; /* PLAN__TLS_* */
    char tls_err[256];
    int alert;            /* TLS alert number received, -1 none */
    char alert_text[64];  /* "unknown CA" */
    bool after_handshake; /* the alert / closure came after our handshake */
    char version[16];     /* "TLSv1.3" */
    bool peer_presented;
    long verify; /* X509_V_OK or the first verification error */
    char verify_err[160];
    plan_cert_t peer;      /* the partner's leaf (when presented) */
    json_t *chain;         /* [{subject, issuer, not_after}] (owned) */
    bool sent;             /* the request went out */
    int sip_status;        /* final status of the answer, 0 none */
    char sip_line[256];    /* its status line */
    char sip_warning[256]; /* Warning value, "" none */
    char sip_diag[256];    /* ms-diagnostics(-public) value, "" none */
    char sip_err[320];     /* why there is no answer */
} plan__session_t;

/* Runs a session (connect, handshake, request/answer) with blocking I/O
 * bounded by deadlines. Results in s; release with plan__session_clear. */
void plan__session_run(plan__session_t *s);
void plan__session_clear(plan__session_t *s);

/* ---- synchronous DNS on a private loop ---- */

typedef struct {
    uv_loop_t loop;
    dns_t *dns;
} plan__dns_t;

/* Creates a resolver from the configuration's [dns] section. */
int plan__dns_open(plan__dns_t *d, const config_t *cfg, fedge_err_t *err);
void plan__dns_close(plan__dns_t *d);

/* One target of a route, copied out of the callback. */
typedef struct {
    char name[DNS_NAME_MAX + 1];
    uint16_t port, priority, weight;
    dns_status_t status;
    char detail[160];
    size_t n;
    dns_addr_t addrs[16];
} plan__target_t;

typedef struct {
    dns_status_t status;
    char detail[160];
    size_t n;
    plan__target_t targets[16];
} plan__route_t;

/* dns_resolve_route(prefix, domain, no fallback, both families), waited
 * for. Returns 0 or FEDGE_EINVAL (bad name). */
int plan__dns_route(plan__dns_t *d, const char *prefix, const char *domain, plan__route_t *out);
/* dns_resolve_host(name, both families), waited for; the target's port
 * is left 0. */
int plan__dns_host(plan__dns_t *d, const char *name, plan__target_t *out);

#endif
