/* tls.c — OpenSSL contexts (load, reload), the BIO that connects an SSL
 * object to a libuv connection without a socket, and the peer identity
 * taken from a verified certificate (RFC 5922). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "net/net_int.h"

/* ------------------------------------------------------------------ */
/* The connection BIO                                                  */
/* ------------------------------------------------------------------ */

/* Why a custom BIO and not BIO_s_mem: a memory BIO keeps its grown buffer
 * for the life of the connection; reading straight from the shared read
 * buffer and writing straight to the socket keeps an idle connection down
 * to the SSL object itself (SSL_MODE_RELEASE_BUFFERS frees the rest). */
static int bio_write(BIO *b, const char *buf, int len)
{
    net_conn_t *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    struct net__hsjob *j = c->hs_job;
    if (j) { /* on a pool thread: collect, the loop sends (net.c hs_done) */
        if (j->out_len + (size_t)len > j->out_cap) {
            size_t cap = j->out_cap ? j->out_cap : 4096;
            while (cap < j->out_len + (size_t)len)
                cap *= 2;
            j->out = fedge_realloc(j->out, cap);
            j->out_cap = cap;
        }
        memcpy(j->out + j->out_len, buf, (size_t)len);
        j->out_len += (size_t)len;
        return len;
    }
    net__conn_send_raw(c, buf, (size_t)len);
    return len;
}

static int bio_read(BIO *b, char *buf, int len)
{
    net_conn_t *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (c->in_len == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = (size_t)len < c->in_len ? (size_t)len : c->in_len;
    memcpy(buf, c->in, n);
    c->in += n;
    c->in_len -= n;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    net_conn_t *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return c ? (long)c->in_len : 0;
    case BIO_CTRL_WPENDING: return 0;
    default: return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static BIO_METHOD *bio_method(void)
{
    /* Process-wide and never freed: one small table, still reachable. */
    static BIO_METHOD *m;
    if (!m) {
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fedge-uv");
        if (!m)
            abort();
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, bio_create);
        BIO_meth_set_destroy(m, bio_destroy);
    }
    return m;
}

/* ------------------------------------------------------------------ */
/* Contexts                                                            */
/* ------------------------------------------------------------------ */

static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown OpenSSL error";
}

/* ------------------------------------------------------------------ */
/* Client sessions (outbound resumption)                               */
/* ------------------------------------------------------------------ */

static void session_key(const net_conn_t *c, char *buf, size_t size)
{
    snprintf(buf, size, "%s|%s", c->target ? c->target : "", c->sni ? c->sni : "");
}

static void session_clear(struct net__session *s)
{
    free(s->key);
    SSL_SESSION_free(s->sess);
    SSL_CTX_free(s->ctx);
    memset(s, 0, sizeof *s);
}

/* OpenSSL hands over a client session (after the handshake in TLS 1.2;
 * on a NewSessionTicket in TLS 1.3, read on the loop): keep it under the
 * connection's target and SNI, replacing the entry for that key or the
 * oldest. Outbound handshakes run on the loop, so this does too. */
static int session_new(SSL *ssl, SSL_SESSION *sess)
{
    BIO *b = SSL_get_rbio(ssl);
    net_conn_t *c = b ? BIO_get_data(b) : NULL;
    if (!c || c->inbound || !c->target || !SSL_SESSION_is_resumable(sess))
        return 0;
    net_t *n = c->net;
    char key[600];
    session_key(c, key, sizeof key);
    struct net__session *slot = NULL;
    for (size_t i = 0; i < NET__SESSIONS && !slot; i++)
        if (n->sessions[i].key && strcmp(n->sessions[i].key, key) == 0)
            slot = &n->sessions[i];
    for (size_t i = 0; i < NET__SESSIONS && !slot; i++)
        if (!n->sessions[i].key)
            slot = &n->sessions[i];
    if (!slot) {
        slot = &n->sessions[0];
        for (size_t i = 1; i < NET__SESSIONS; i++)
            if (n->sessions[i].at_ms < slot->at_ms)
                slot = &n->sessions[i];
    }
    session_clear(slot);
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    SSL_CTX_up_ref(ctx);
    slot->key = fedge_strdup(key);
    slot->ctx = ctx;
    slot->sess = sess; /* returning 1 keeps OpenSSL's reference */
    slot->at_ms = uv_now(n->loop);
    return 1;
}

void net__tls_offer_session(net_conn_t *c, SSL *ssl)
{
    char key[600];
    session_key(c, key, sizeof key);
    for (size_t i = 0; i < NET__SESSIONS; i++) {
        struct net__session *s = &c->net->sessions[i];
        if (s->key && s->ctx == SSL_get_SSL_CTX(ssl) && strcmp(s->key, key) == 0) {
            (void)SSL_set_session(ssl, s->sess);
            return;
        }
    }
}

void net__tls_sessions_free(net_t *n)
{
    for (size_t i = 0; i < NET__SESSIONS; i++)
        session_clear(&n->sessions[i]);
}

/* The revocation lists of t into ctx's verify store, and CRL checking of
 * the whole peer chain switched on (net_tls_opts_t.crl_file/crl_path). */
static int load_crls(const net_tls_t *t, SSL_CTX *ctx, fedge_err_t *e)
{
    if (!t->crl_file && !t->crl_path)
        return 0;
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);
    if (t->crl_file) {
        X509_LOOKUP *lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());
        if (!lu || X509_load_crl_file(lu, t->crl_file, X509_FILETYPE_PEM) < 1)
            return fedge_err(e, FEDGE_ECONFIG, "%s: cannot load a CRL: %s", t->crl_file,
                             ossl_reason());
    }
    if (t->crl_path) {
        /* looked up by issuer hash at each verification (HASH.r0) */
        X509_LOOKUP *lu = X509_STORE_add_lookup(st, X509_LOOKUP_hash_dir());
        if (!lu || X509_LOOKUP_add_dir(lu, t->crl_path, X509_FILETYPE_PEM) != 1)
            return fedge_err(e, FEDGE_ECONFIG, "%s: cannot use the CRL folder: %s", t->crl_path,
                             ossl_reason());
    }
    X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return 0;
}

static int build_ctx(const net_tls_t *t, SSL_CTX **out, fedge_err_t *e)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx)
        return fedge_err(e, FEDGE_ETLS, "TLS: cannot create context: %s", ossl_reason());
    SSL_CTX_set_min_proto_version(ctx, t->min_version);
    /* No renegotiation, no compression. Resumption by stateless tickets
     * (TLS 1.3 tickets, TLS 1.2 session tickets): a returning partner
     * skips the certificate exchange and its verification, and the server
     * keeps no state per peer (the ticket, encrypted under this context's
     * own random key, carries the session, the peer certificate and its
     * verification result). Every context has new keys, so a reload
     * (new certificate or trust anchors) invalidates every ticket issued
     * before it. One ticket per handshake, valid one hour. The client
     * side keeps sessions itself (net_t's cache, session_new below). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_timeout(ctx, 3600);
    /* Required for resumption with client verification on: a session is
     * resumed only in the context kind that made it. */
    static const unsigned char sid_ctx[] = "fedge-sip";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, session_new);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify_depth(ctx, 8);

    int rc = 0;
    if (t->certificate) {
        if (SSL_CTX_use_certificate_chain_file(ctx, t->certificate) != 1) {
            rc = fedge_err(e, FEDGE_ECONFIG, "%s: cannot load certificate: %s", t->certificate,
                           ossl_reason());
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, t->private_key, SSL_FILETYPE_PEM) != 1) {
            if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
                rc = fedge_err(e, FEDGE_ECONFIG, "%s: private key does not match certificate %s",
                               t->private_key, t->certificate);
                goto fail;
            }
            rc = fedge_err(e, FEDGE_ECONFIG, "%s: cannot load private key: %s", t->private_key,
                           ossl_reason());
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            rc = fedge_err(e, FEDGE_ECONFIG, "%s: private key does not match certificate %s",
                           t->private_key, t->certificate);
            goto fail;
        }
    }
    if (t->ca_file || t->ca_path) {
        if (SSL_CTX_load_verify_locations(ctx, t->ca_file, t->ca_path) != 1) {
            rc = fedge_err(e, FEDGE_ECONFIG, "%s: cannot load trust anchors: %s",
                           t->ca_file ? t->ca_file : t->ca_path, ossl_reason());
            goto fail;
        }
        if (t->ca_file) {
            /* The CA names sent in CertificateRequest: clients with several
             * certificates (Lync/Skype edges do) pick by them. */
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca_file);
            if (names)
                SSL_CTX_set_client_CA_list(ctx, names);
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        rc = fedge_err(e, FEDGE_ECONFIG, "cannot load the system trust store: %s", ossl_reason());
        goto fail;
    }
    if (t->certificate) {
        /* Send our chain without its root: a root in the chain is useless
         * to the peer (it must have it already) and costs every peer that
         * stores our chain a parsed certificate per connection. Built once
         * here from the certificate file and the trust anchors. */
        (void)SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT |
                                                SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR);
    }
    /* after our chain is built: the CRLs judge the peers' chains */
    if ((rc = load_crls(t, ctx, e)) < 0)
        goto fail;
    ERR_clear_error();
    *out = ctx;
    return 0;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return rc;
}

int net_tls_new(const net_tls_opts_t *o, net_tls_t **out, fedge_err_t *e)
{
    if (!o || !out)
        return fedge_err(e, FEDGE_EINVAL, "TLS: no options");
    if ((o->certificate == NULL) != (o->private_key == NULL))
        return fedge_err(e, FEDGE_ECONFIG, "TLS: certificate and private_key go together");
    int minv;
    if (!o->min_version || strcmp(o->min_version, "1.2") == 0)
        minv = TLS1_2_VERSION;
    else if (strcmp(o->min_version, "1.3") == 0)
        minv = TLS1_3_VERSION;
    else
        return fedge_err(e, FEDGE_ECONFIG, "tls_min_version '%s': expected 1.2 or 1.3",
                         o->min_version);
    net_tls_t *t = fedge_calloc(1, sizeof *t);
    t->certificate = o->certificate ? fedge_strdup(o->certificate) : NULL;
    t->private_key = o->private_key ? fedge_strdup(o->private_key) : NULL;
    t->ca_file = o->ca_file ? fedge_strdup(o->ca_file) : NULL;
    t->ca_path = o->ca_path ? fedge_strdup(o->ca_path) : NULL;
    t->crl_file = o->crl_file ? fedge_strdup(o->crl_file) : NULL;
    t->crl_path = o->crl_path ? fedge_strdup(o->crl_path) : NULL;
    t->require_client = o->require_client_certificate;
    t->min_version = minv;
    t->refs = 1;
    int rc = build_ctx(t, &t->ctx, e);
    if (rc < 0) {
        net__tls_unref(t);
        return rc;
    }
    *out = t;
    return 0;
}

int net_tls_reload(net_tls_t *t, fedge_err_t *e)
{
    SSL_CTX *ctx;
    int rc = build_ctx(t, &ctx, e);
    if (rc < 0)
        return rc;
    /* Connections hold their own reference to the old context (SSL_new
     * took one), so they carry on; new handshakes take the new one. */
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    return 0;
}

void net__tls_ref(net_tls_t *t)
{
    t->refs++;
}

void net__tls_unref(net_tls_t *t)
{
    if (!t || --t->refs > 0)
        return;
    SSL_CTX_free(t->ctx);
    free(t->certificate);
    free(t->private_key);
    free(t->ca_file);
    free(t->ca_path);
    free(t->crl_file);
    free(t->crl_path);
    free(t);
}

void net_tls_free(net_tls_t *t)
{
    net__tls_unref(t);
}

/* Remembers the subject of a peer certificate that failed verification,
 * so that the log names who was refused (OpenSSL keeps no peer
 * certificate after a failed handshake). */
static void note_failure(int ok, X509_STORE_CTX *x)
{
    if (ok)
        return;
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    BIO *b = ssl ? SSL_get_rbio(ssl) : NULL;
    net_conn_t *c = b ? BIO_get_data(b) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    if (!c || c->bad_subject || !leaf)
        return;
    char subj[256];
    if (X509_NAME_oneline(X509_get_subject_name(leaf), subj, sizeof subj))
        c->bad_subject = fedge_strdup(subj);
}

static int verify_strict(int ok, X509_STORE_CTX *x)
{
    note_failure(ok, x);
    return ok;
}

/* Server side with optional client certificates: record a failed
 * verification (SSL_get_verify_result keeps it) but let the handshake on. */
static int verify_optional(int ok, X509_STORE_CTX *x)
{
    note_failure(ok, x);
    return 1;
}

SSL *net__tls_ssl_new(net_tls_t *t, net_conn_t *c, bool server, const char *sni)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        return NULL;
    BIO *b = BIO_new(bio_method());
    if (!b) {
        SSL_free(ssl);
        return NULL;
    }
    BIO_set_data(b, c);
    SSL_set_bio(ssl, b, b);
    if (server) {
        SSL_set_accept_state(ssl);
        if (t->require_client)
            SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_strict);
        else
            SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_optional);
        (void)SSL_set_purpose(ssl, X509_PURPOSE_SSL_CLIENT);
    } else {
        SSL_set_connect_state(ssl);
        SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_strict);
        (void)SSL_set_purpose(ssl, X509_PURPOSE_SSL_SERVER);
        if (sni && *sni)
            SSL_set_tlsext_host_name(ssl, sni);
    }
    return ssl;
}

/* ------------------------------------------------------------------ */
/* Peer identity                                                       */
/* ------------------------------------------------------------------ */

/* Names collected before the one allocation is made. */
typedef struct {
    const char *s;
    size_t len;
} name_t;

#define MAX_NAMES 64

static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f)
            return false; /* NUL tricks, spaces, non-ASCII */
    }
    return true;
}

/* RFC 5922 §7.1: a URI SAN is a domain identity only with scheme "sip" and
 * no user part; the identity is its host part. */
static bool san_sip_host(const char *s, size_t len, name_t *out)
{
    if (len < 5 || strncasecmp(s, "sip:", 4) != 0)
        return false;
    const char *h = s + 4, *end = s + len;
    for (const char *p = h; p < end; p++)
        if (*p == '@')
            return false;
    const char *p = h;
    if (p < end && *p == '[') {
        while (p < end && *p != ']')
            p++;
        if (p == end)
            return false;
        p++;
    } else {
        while (p < end && *p != ':' && *p != ';' && *p != '?')
            p++;
    }
    if (!name_ok(h, (size_t)(p - h)))
        return false;
    out->s = h;
    out->len = (size_t)(p - h);
    return true;
}

static char *put_lower(char **w, const char *s, size_t len)
{
    char *d = *w;
    for (size_t i = 0; i < len; i++)
        d[i] = (char)tolower((unsigned char)s[i]);
    d[len] = '\0';
    *w += len + 1;
    return d;
}

/* The one routine that reads a certificate's identity (RFC 5922 §7.1) for
 * the running edge (peers of connections) and for `fedge check` / `fedge
 * plan` (certificate files, through net_peer_from_x509): the names of
 * cert (may be NULL: no names), the subject, notAfter and verr in one
 * allocation. presented, verified and eku_ok are left for the caller. */
static net_peer_t *peer_build(const X509 *cert, const char *verr)
{
    name_t dns[MAX_NAMES], sip[MAX_NAMES], cn = {0};
    size_t nd = 0, ns = 0;
    char subj[256] = "";
    GENERAL_NAMES *gens = NULL;
    unsigned char *cn_utf8 = NULL;

    if (cert) {
        int crit = 0;
        gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
        /* The extension's presence, even undecodable, rules the CN out. */
        bool has_san = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1) >= 0;
        for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
            if (g->type == GEN_DNS && nd < MAX_NAMES) {
                const char *s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
                size_t len = (size_t)ASN1_STRING_length(g->d.dNSName);
                if (name_ok(s, len))
                    dns[nd++] = (name_t){s, len};
            } else if (g->type == GEN_URI && ns < MAX_NAMES) {
                const char *s = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
                size_t len = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
                name_t h;
                if (san_sip_host(s, len, &h))
                    sip[ns++] = h;
            }
        }
        const X509_NAME *sn = X509_get_subject_name(cert);
        if (sn)
            X509_NAME_oneline(sn, subj, sizeof subj);
        if (!has_san && sn) {
            int idx = X509_NAME_get_index_by_NID(sn, NID_commonName, -1);
            if (idx >= 0) {
                const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, idx));
                int l = ASN1_STRING_to_UTF8(&cn_utf8, d);
                if (l > 0 && name_ok((const char *)cn_utf8, (size_t)l))
                    cn = (name_t){(const char *)cn_utf8, (size_t)l};
            }
        }
    }

    size_t size = sizeof(net_peer_t) + (nd + ns) * sizeof(char *);
    for (size_t i = 0; i < nd; i++)
        size += dns[i].len + 1;
    for (size_t i = 0; i < ns; i++)
        size += sip[i].len + 1;
    size += cn.len + 1 + strlen(subj) + 1 + (verr ? strlen(verr) + 1 : 0);

    net_peer_t *p = fedge_calloc(1, size);
    const char **arr = (const char **)(p + 1);
    char *w = (char *)(arr + nd + ns);
    for (size_t i = 0; i < nd; i++)
        arr[i] = put_lower(&w, dns[i].s, dns[i].len);
    for (size_t i = 0; i < ns; i++)
        arr[nd + i] = put_lower(&w, sip[i].s, sip[i].len);
    p->dns = arr;
    p->n_dns = nd;
    p->sip = arr + nd;
    p->n_sip = ns;
    p->cn = cn.s ? put_lower(&w, cn.s, cn.len) : NULL;
    if (subj[0]) {
        size_t l = strlen(subj);
        memcpy(w, subj, l + 1);
        p->subject = w;
        w += l + 1;
    }
    if (verr) {
        memcpy(w, verr, strlen(verr) + 1);
        p->verify_error = w;
    }
    if (cert) {
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
            p->not_after = timegm(&tm);
    }
    GENERAL_NAMES_free(gens);
    OPENSSL_free(cn_utf8);
    ERR_clear_error();
    return p;
}

net_peer_t *net__peer_from_ssl(SSL *ssl, bool inbound)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    long vr = SSL_get_verify_result(ssl);
    /* A resumed session carries the certificate and the result of its
     * verification at the full handshake; one that has expired since is
     * no longer verified (the ticket's hour is bounded, the certificate's
     * validity is checked again here). */
    if (cert && vr == X509_V_OK && SSL_session_reused(ssl) &&
        X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
        vr = X509_V_ERR_CERT_HAS_EXPIRED;
    net_peer_t *p =
        peer_build(cert, cert && vr != X509_V_OK ? X509_verify_cert_error_string(vr) : NULL);
    p->presented = cert != NULL;
    p->verified = cert != NULL && vr == X509_V_OK;
    if (cert)
        p->eku_ok = X509_check_purpose(
                        cert, inbound ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER, 0) == 1;
    ERR_clear_error();
    return p;
}

net_peer_t *net_peer_from_x509(const struct x509_st *x)
{
    net_peer_t *p = peer_build(x, NULL);
    p->presented = x != NULL;
    return p;
}

int net_peer_load(const char *path, net_peer_t **out, fedge_err_t *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return fedge_err(err, FEDGE_EIO, "%s: cannot open: %s", path, strerror(errno));
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) {
        ERR_clear_error();
        return fedge_err(err, FEDGE_EINVAL, "%s: no PEM certificate in it", path);
    }
    *out = net_peer_from_x509(x);
    X509_free(x);
    return 0;
}

void net_peer_free(net_peer_t *p)
{
    free(p);
}

/* A name of the certificate that may stand for a host: never a wildcard
 * (RFC 5922 §7.2), compared as DNS names are, without case. */
static bool same_name(const char *name, const char *host)
{
    return name[0] != '*' && strcasecmp(name, host) == 0;
}

bool net_cert_names(const net_peer_t *p, const char *host)
{
    if (!p || !host || !*host || host[0] == '*')
        return false;
    for (size_t i = 0; i < p->n_dns; i++)
        if (same_name(p->dns[i], host))
            return true;
    for (size_t i = 0; i < p->n_sip; i++)
        if (same_name(p->sip[i], host))
            return true;
    return p->cn && same_name(p->cn, host);
}

bool net_cert_is_domain(const net_peer_t *p, const char *domain)
{
    if (!p || !domain || !*domain || domain[0] == '*')
        return false;
    if (p->n_sip > 0) {
        for (size_t i = 0; i < p->n_sip; i++)
            if (same_name(p->sip[i], domain))
                return true;
        return false;
    }
    for (size_t i = 0; i < p->n_dns; i++)
        if (same_name(p->dns[i], domain))
            return true;
    return p->cn && same_name(p->cn, domain);
}

bool net_cert_wildcard_only(const net_peer_t *p, const char *host)
{
    if (!p || !host || net_cert_names(p, host))
        return false;
    const char *dot = strchr(host, '.');
    if (!dot || dot == host)
        return false;
    for (size_t i = 0; i < p->n_dns; i++) {
        const char *w = p->dns[i];
        /* "*.x" with x holding a dot, and host one label then x */
        if (w[0] == '*' && w[1] == '.' && strchr(w + 2, '.') && strcasecmp(dot + 1, w + 2) == 0)
            return true;
    }
    return false;
}

bool net_peer_names(const net_peer_t *p, const char *host)
{
    return p && p->verified && net_cert_names(p, host);
}

bool net_peer_is_domain(const net_peer_t *p, const char *domain)
{
    return p && p->verified && net_cert_is_domain(p, domain);
}

void net__tls_reason(SSL *ssl, int ssl_err, char *buf, size_t size)
{
    long vr = SSL_get_verify_result(ssl);
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (vr != X509_V_OK) {
        snprintf(buf, size, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
    } else if (r) {
        snprintf(buf, size, "%s", r);
    } else if (ssl_err == SSL_ERROR_SYSCALL) {
        snprintf(buf, size, "TLS: unexpected end of stream");
    } else {
        snprintf(buf, size, "TLS error %d", ssl_err);
    }
    ERR_clear_error();
}
