/* cert.c — the edge's own external certificate judged as `fedge
 * check-config` judges it (src/plan/cert.c), at start, on reload and once a
 * day: refused when expired, not yet valid or not naming the edge; a
 * warning when it expires within EDGE__CERT_WARN_DAYS days. */
#include "edge/edge_int.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <string.h>

static void day_text(time_t t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

/* "DNS:a, URI:sip:b" of p into out (cut to n bytes). */
static void names_text(const net_peer_t *p, char *out, size_t n)
{
    size_t l = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p->n_dns && l < n; i++)
        l += (size_t)snprintf(out + l, n - l, "%sDNS:%s", l ? ", " : "", p->dns[i]);
    for (size_t i = 0; i < p->n_sip && l < n; i++)
        l += (size_t)snprintf(out + l, n - l, "%sURI:sip:%s", l ? ", " : "", p->sip[i]);
    if (!l && p->cn)
        snprintf(out, n, "only CN=%s (no subjectAltName)", p->cn);
    else if (!l)
        snprintf(out, n, "no name");
}

int edge__cert_judge(const char *path, const char *name, time_t now, char *warn, size_t wsz,
                     fedge_err_t *e)
{
    if (wsz)
        warn[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return fedge_err(e, FEDGE_EIO, "%s: cannot open the certificate", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return fedge_err(e, FEDGE_EINVAL, "%s: no PEM certificate", path);
    struct tm tm;
    time_t nb = 0, na = 0;
    memset(&tm, 0, sizeof tm);
    if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
        nb = timegm(&tm);
    memset(&tm, 0, sizeof tm);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        na = timegm(&tm);
    net_peer_t *p = net_peer_from_x509(x);
    X509_free(x);
    char day[40];
    int rc = 0;
    if (now < nb) {
        day_text(nb, day, sizeof day);
        rc = fedge_err(e, FEDGE_ECONFIG,
                       "%s: the certificate is not valid before %s; check the clock of this "
                       "host, or wait until it is valid",
                       path, day);
    } else if (now >= na) {
        day_text(na, day, sizeof day);
        rc = fedge_err(e, FEDGE_ECONFIG,
                       "%s: the certificate expired on %s; renew it (same names and EKUs)", path,
                       day);
    } else if (!net_cert_names(p, name)) {
        char names[512];
        names_text(p, names, sizeof names);
        rc = fedge_err(e, FEDGE_ECONFIG,
                       "%s: the certificate names %s, not %s%s; expected a certificate with "
                       "subjectAltName DNS:%s",
                       path, names, name,
                       net_cert_wildcard_only(p, name)
                           ? " (a wildcard does not count for SIP, RFC 5922 7.2)"
                           : "",
                       name);
    } else if (na - now < (time_t)EDGE__CERT_WARN_DAYS * 86400 && wsz) {
        day_text(na, day, sizeof day);
        snprintf(warn, wsz, "%s: the certificate expires on %s, in %ld days; renew it now", path,
                 day, (long)((na - now) / 86400));
    }
    net_peer_free(p);
    return rc;
}
