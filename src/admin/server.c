/* server.c — the admin server on libmicrohttpd: one internal polling
 * thread, static assets of the web panel, login/logout, session cookies,
 * CSRF and origin checks, security headers, then the JSON API (api.c). */
#include "admin/admin_int.h"
#include "obs/obs.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define BODY_MAX (64 * 1024)
#define COOKIE "fedge_session"

/* Connection limits: a browser opens up to 6 connections per host and
 * keeps them alive, so two browsers (or two administrators behind one NAT)
 * need 12; no set of fewer than 16 addresses can take them all. */
#define CONN_MAX 256u
#define CONN_PER_IP 16u
#define CONN_IDLE_S 10u
/* A request (headers and body) must have arrived this long after the
 * connection opened or the previous answer went out, however slowly its
 * bytes trickle in (libmicrohttpd's timeout is reset by every byte). */
#define REQUEST_MS 10000

/* One open connection, for the request deadline (server thread only). */
typedef struct track {
    struct track *next, *prev;
    int fd;
    int64_t deadline_ms; /* 0 while the request is being answered */
} track_t;

struct admin {
    struct MHD_Daemon *d;
    admin__api_t api;
    admin__guard_t *guard;
    admin__sessions_t *sessions;
    bool tls;
    uint16_t port;
    uint32_t max_s;
    char url[96];
    char dummy_hash[ADMIN_HASH_MAX]; /* verified for unknown names: same cost */
    char *store_path, *edge_fqdn, *cert_pem, *key_pem;
    char *sip_domains; /* comma-separated, NULL when none were given */
    pthread_t thread;  /* runs libmicrohttpd and the request deadlines */
    bool thread_started;
    atomic_bool quit;
    track_t *tracks;
    obs_summary_t *closed, *mhd_log; /* bounded logging (server thread) */
};

typedef struct {
    char *body;
    size_t len;
    bool too_big;
} req_t;

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- responses ---- */

static void security_headers(struct MHD_Response *r, bool api)
{
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                            "form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", api ? "no-store" : "no-cache");
}

/* Sends body (taken, may be NULL) with status; extra headers as name,value
 * pairs ending in NULL. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *body, ...)
{
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(body);
    } else if (status != 204) {
        status = 500;
        text = strdup("{\"error\":\"internal error building the answer\"}");
    }
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    security_headers(r, true);
    va_list ap;
    va_start(ap, body);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        MHD_add_response_header(r, k, v);
    }
    va_end(ap);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return send_json(c, status, json_pack("{s:s}", "error", msg), NULL);
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const char *url)
{
    if (!strcmp(url, "/") || !strcmp(url, ""))
        url = "/index.html";
    for (size_t i = 0; i < admin__n_assets; i++) {
        const admin__asset_t *a = &admin__assets[i];
        if (strcmp(a->path, url))
            continue;
        struct MHD_Response *r =
            MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Content-Type", a->type);
        security_headers(r, false);
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    static const char nf[] = "not found\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    security_headers(r, false);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- helpers ---- */

static void client_ip(struct MHD_Connection *c, char *out, size_t n)
{
    snprintf(out, n, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

/* A cross-site request carries an Origin that is not ours: refuse it
 * (defence in depth behind SameSite=Strict and the CSRF token). */
static bool origin_ok(admin_t *a, struct MHD_Connection *c)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return true;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!host)
        return false;
    char want[300];
    snprintf(want, sizeof(want), "%s://%s", a->tls ? "https" : "http", host);
    return !strcasecmp(origin, want);
}

/* On a loopback address (plain HTTP), the Host must be a loopback name:
 * a web page whose DNS name was rebound to 127.0.0.1 must not reach the
 * API (DNS rebinding). */
static bool host_ok(admin_t *a, struct MHD_Connection *c)
{
    if (a->tls)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!h)
        return false;
    size_t n = strlen(h);
    const char *colon = h[0] == '[' ? strstr(h, "]:") : strrchr(h, ':');
    if (colon)
        n = (size_t)(colon - h) + (h[0] == '[');
    if ((n == 9 && !strncasecmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)))
        return true;
    if (n >= 7 && n < 16 && !strncmp(h, "127.", 4)) {
        for (size_t i = 4; i < n; i++)
            if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
                return false;
        return true;
    }
    return false;
}

static bool is_json_type(struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    return t && !strncasecmp(t, "application/json", 16) &&
           (t[16] == '\0' || t[16] == ';' || t[16] == ' ');
}

static void cookie(admin_t *a, char *out, size_t n, const char *id, uint32_t max_age)
{
    snprintf(out, n, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%u%s", id, max_age,
             a->tls ? "; Secure" : "");
}

/* Parses the body as JSON (NULL when empty). Returns 0 or sends 400. */
static int parse_body(struct MHD_Connection *c, req_t *q, json_t **body, enum MHD_Result *ret)
{
    *body = NULL;
    if (!q->len)
        return 0;
    json_error_t je;
    *body = json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &je);
    if (!*body) {
        char msg[300];
        snprintf(msg, sizeof(msg), "the body is not valid JSON: %s (at byte %d)", je.text,
                 je.position);
        *ret = send_json(c, 400, admin__field_error("", msg), NULL);
        return -1;
    }
    return 0;
}

/* ---- login ---- */

static enum MHD_Result login(admin_t *a, struct MHD_Connection *c, json_t *body)
{
    char ip[INET6_ADDRSTRLEN + 1];
    client_ip(c, ip, sizeof(ip));
    json_t *jn = body ? json_object_get(body, "name") : NULL;
    json_t *jp = body ? json_object_get(body, "password") : NULL;
    if (!json_is_string(jn) || !json_string_length(jn))
        return send_json(c, 400, admin__field_error("name", "name: required"), NULL);
    if (!json_is_string(jp) || !json_string_length(jp))
        return send_json(c, 400, admin__field_error("password", "password: required"), NULL);
    char name[STORE_NAME_MAX + 1];
    fedge_err_t e = {{0}};
    bool valid = store_check_name("name", json_string_value(jn), name, sizeof(name), &e) == 0;
    if (!valid)
        snprintf(name, sizeof(name), "%.*s", STORE_NAME_MAX, json_string_value(jn));
    int64_t now = now_s();
    uint32_t wait_ms = admin__guard_wait(a->guard, name, ip, now_ms());
    uint32_t wait = (wait_ms + 999) / 1000;
    if (wait) {
        char ra[16], msg[128];
        snprintf(ra, sizeof(ra), "%u", wait);
        snprintf(msg, sizeof(msg), "too many failed logins: try again in %u s", wait);
        obs_logkv(OBS_LOG_WARNING, "admin", "login refused (throttled)", "account", name, "ip", ip,
                  "retry_after", ra, NULL);
        return send_json(c, 429, json_pack("{s:s, s:i}", "error", msg, "retry_after", (int)wait),
                         "Retry-After", ra, NULL);
    }
    char hash[ADMIN_HASH_MAX + 64];
    int r = valid ? store_account_get(a->api.store, name, hash, sizeof(hash), &e) : FEDGE_ENOENT;
    if (r < 0 && r != FEDGE_ENOENT)
        return send_error(c, 503, e.msg);
    bool ok = admin_password_verify(json_string_value(jp), r == 0 ? hash : a->dummy_hash) && r == 0;
    if (!ok) {
        admin__guard_fail(a->guard, name, ip, now_ms());
        obs_logkv(OBS_LOG_WARNING, "admin", "login failed", "account", name, "ip", ip, NULL);
        return send_error(c, 401, "wrong name or password");
    }
    admin__guard_ok(a->guard, name, ip);
    char id[ADMIN__HEX], csrf[ADMIN__HEX], fp[ADMIN__HEX], ck[256];
    admin__sha256_hex(hash, strlen(hash), fp);
    if (admin__session_new(a->sessions, name, fp, now, id, csrf, &e) < 0)
        return send_error(c, 500, e.msg);
    cookie(a, ck, sizeof(ck), id, a->max_s);
    obs_logkv(OBS_LOG_NOTICE, "admin", "login", "account", name, "ip", ip, NULL);
    return send_json(c, 200, json_pack("{s:s, s:s}", "name", name, "csrf", csrf), "Set-Cookie", ck,
                     NULL);
}

/* ---- dispatch ---- */

/* A query parameter of the request being answered (admin__arg_fn). */
static const char *query_arg(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result handle(admin_t *a, struct MHD_Connection *c, const char *url,
                              const char *method, req_t *q)
{
    if (!host_ok(a, c))
        return send_error(c, 421,
                          "unexpected Host: use http://127.0.0.1:PORT/ or "
                          "http://localhost:PORT/");
    if (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/api") != 0) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return send_error(c, 405, "method not allowed");
        return send_asset(c, url);
    }
    bool safe = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (q->too_big)
        return send_error(c, 413, "request body larger than 64 KiB");
    if (!strcmp(url, "/api/login")) {
        if (strcmp(method, "POST"))
            return send_error(c, 405, "use POST");
        if (!origin_ok(a, c))
            return send_error(c, 403, "cross-origin request refused");
        if (!is_json_type(c))
            return send_error(c, 415, "expected Content-Type: application/json");
        json_t *body;
        enum MHD_Result ret;
        if (parse_body(c, q, &body, &ret) < 0)
            return ret;
        ret = login(a, c, body);
        json_decref(body);
        return ret;
    }
    /* Everything else needs a live session. */
    const char *id = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    int64_t now = now_s();
    admin__session_t *s = id ? admin__session_get(a->sessions, id, now) : NULL;
    if (s) {
        /* The account must still exist with the password it logged in with
         * (fedge admin passwd / remove end its sessions). */
        char hash[ADMIN_HASH_MAX + 64], fp[ADMIN__HEX];
        fedge_err_t e = {{0}};
        int r = store_account_get(a->api.store, s->account, hash, sizeof(hash), &e);
        if (r < 0 && r != FEDGE_ENOENT)
            return send_error(c, 503, e.msg);
        if (r == 0)
            admin__sha256_hex(hash, strlen(hash), fp);
        if (r < 0 || !admin__ct_equal(fp, s->pw_fp)) {
            admin__session_end(a->sessions, id);
            s = NULL;
        }
    }
    if (!s)
        return send_error(c, 401, "login required");
    if (!safe) {
        const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!origin_ok(a, c))
            return send_error(c, 403, "cross-origin request refused");
        if (!tok || !admin__ct_equal(tok, s->csrf))
            return send_error(c, 403, "missing or wrong X-CSRF-Token header");
        if (q->len && !is_json_type(c))
            return send_error(c, 415, "expected Content-Type: application/json");
    }
    if (!strcmp(url, "/api/logout")) {
        if (strcmp(method, "POST"))
            return send_error(c, 405, "use POST");
        char ck[256];
        cookie(a, ck, sizeof(ck), "", 0);
        obs_logkv(OBS_LOG_NOTICE, "admin", "logout", "account", s->account, NULL);
        admin__session_end(a->sessions, id);
        return send_json(c, 204, NULL, "Set-Cookie", ck, NULL);
    }
    if (!strcmp(url, "/api/session")) {
        if (!safe)
            return send_error(c, 405, "use GET");
        return send_json(c, 200,
                         json_pack("{s:s, s:s, s:s, s:s}", "name", s->account, "csrf", s->csrf,
                                   "edge_fqdn", a->edge_fqdn ? a->edge_fqdn : "", "sip_domains",
                                   a->sip_domains ? a->sip_domains : ""),
                         NULL);
    }
    json_t *body, *out = NULL;
    enum MHD_Result ret;
    if (parse_body(c, q, &body, &ret) < 0)
        return ret;
    char actor[STORE_ACTOR_MAX + 1];
    snprintf(actor, sizeof(actor), "admin:%s", s->account);
    int status = admin__api_args(&a->api, !strcmp(method, "HEAD") ? "GET" : method, url + 4,
                                 query_arg, c, body, actor, &out);
    json_decref(body);
    if (!safe && status < 300) {
        char st[16];
        snprintf(st, sizeof(st), "%d", status);
        obs_logkv(OBS_LOG_INFO, "admin", "change", "account", s->account, "method", method, "path",
                  url, "status", st, NULL);
    }
    return send_json(c, (unsigned)status, out, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    admin_t *a = cls;
    req_t *q = *con_cls;
    if (!q) {
        q = fedge_calloc(1, sizeof(*q));
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_big && q->len + *upload_size <= BODY_MAX) {
            q->body = fedge_realloc(q->body, q->len + *upload_size + 1);
            memcpy(q->body + q->len, upload, *upload_size);
            q->len += *upload_size;
        } else {
            q->too_big = true;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* The request is all there: no deadline while it is answered. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context)
        ((track_t *)ci->socket_context)->deadline_ms = 0;
    return handle(a, c, url, method, q);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    admin_t *a = cls;
    track_t *t = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        t = fedge_calloc(1, sizeof(*t));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        t->fd = ci ? ci->connect_fd : -1;
        t->deadline_ms = now_ms() + REQUEST_MS;
        t->next = a->tracks;
        if (a->tracks)
            a->tracks->prev = t;
        a->tracks = t;
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && t) {
        if (t->prev)
            t->prev->next = t->next;
        else
            a->tracks = t->next;
        if (t->next)
            t->next->prev = t->prev;
        free(t);
        *socket_context = NULL;
    }
}

/* Closes connections whose request did not arrive in time. Runs in the
 * server thread between two MHD_run_wait calls, so the descriptor is still
 * libmicrohttpd's: shutdown() makes it see the end of the stream and close
 * the connection itself. */
static void sweep(admin_t *a)
{
    int64_t now = now_ms();
    for (track_t *t = a->tracks; t; t = t->next)
        if (t->deadline_ms && now >= t->deadline_ms && t->fd >= 0) {
            t->deadline_ms = 0;
            char ip[INET6_ADDRSTRLEN] = "";
            struct sockaddr_storage ss;
            socklen_t len = sizeof(ss);
            if (getpeername(t->fd, (struct sockaddr *)&ss, &len) == 0)
                inet_ntop(ss.ss_family,
                          ss.ss_family == AF_INET6
                              ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                              : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
                          ip, sizeof(ip));
            obs_summary_add(a->closed, now, "request not complete within 10 s", ip);
            shutdown(t->fd, SHUT_RDWR);
        }
    obs_summary_tick(a->closed, now);
    obs_summary_tick(a->mhd_log, now);
}

static void *serve_thread(void *arg)
{
    admin_t *a = arg;
    while (!atomic_load(&a->quit)) {
        MHD_run_wait(a->d, 100);
        sweep(a);
    }
    return NULL;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode code)
{
    req_t *q = *con_cls;
    if (q) {
        free(q->body);
        free(q);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    /* Refusals (connection limits) come here once per connection: summarised. */
    admin_t *a = cls;
    obs_summary_add(a->mhd_log, now_ms(), buf, NULL);
}

/* ---- start / stop ---- */

static char *slurp(const char *path, fedge_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fedge_err(err, FEDGE_EIO, "admin: cannot read %s", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > 1024 * 1024) {
                free(buf);
                fclose(f);
                fedge_err(err, FEDGE_EIO, "admin: %s is larger than 1 MiB", path);
                return NULL;
            }
            buf = fedge_realloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

void admin_stop(admin_t *a)
{
    if (!a)
        return;
    if (a->thread_started) {
        atomic_store(&a->quit, true);
        pthread_join(a->thread, NULL);
    }
    if (a->d)
        MHD_stop_daemon(a->d);
    obs_summary_free(a->closed);
    obs_summary_free(a->mhd_log);
    store_close(a->api.store);
    admin__guard_free(a->guard);
    admin__sessions_free(a->sessions);
    free(a->store_path);
    free(a->edge_fqdn);
    free(a->sip_domains);
    if (a->key_pem) {
        memset(a->key_pem, 0, strlen(a->key_pem));
        free(a->key_pem);
    }
    free(a->cert_pem);
    free(a);
}

int admin_start(const admin_opts_t *o, admin_t **out, fedge_err_t *err)
{
    if (!o || !o->listen || !o->listen->host || !o->store_path)
        return fedge_err(err, FEDGE_EINVAL, "admin: expected a listen address and a store");
    bool tls = o->certificate && o->private_key;
    if ((o->certificate != NULL) != (o->private_key != NULL))
        return fedge_err(err, FEDGE_ECONFIG,
                         "[admin] certificate and private_key go together: give both or "
                         "neither");
    char hp[300];
    config_hostport_format(o->listen, hp, sizeof(hp));
    if (!config_hostport_is_loopback(o->listen) && !tls)
        return fedge_err(err, FEDGE_ECONFIG,
                         "[admin] listen = %s is not a loopback address: set [admin] "
                         "certificate and private_key (the panel is then served over HTTPS), "
                         "or listen on 127.0.0.1",
                         hp);
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return fedge_err(err, FEDGE_ETLS,
                         "admin: this libmicrohttpd is built without TLS support: HTTPS is "
                         "impossible; listen on a loopback address without certificate");
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    /* Polled by our own thread (serve_thread), which also enforces the
     * request deadline. */
    unsigned flags = MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (o->listen->kind == CONFIG_HOST_IPV4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(o->listen->port);
        if (inet_pton(AF_INET, o->listen->host, &s4->sin_addr) != 1)
            return fedge_err(err, FEDGE_ECONFIG, "[admin] listen = %s: not an IP address", hp);
    } else if (o->listen->kind == CONFIG_HOST_IPV6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(o->listen->port);
        if (inet_pton(AF_INET6, o->listen->host, &s6->sin6_addr) != 1)
            return fedge_err(err, FEDGE_ECONFIG, "[admin] listen = %s: not an IP address", hp);
        flags |= MHD_USE_IPv6;
    } else {
        return fedge_err(err, FEDGE_ECONFIG, "[admin] listen = %s: expected an IP address", hp);
    }
    admin_t *a = fedge_calloc(1, sizeof(*a));
    a->tls = tls;
    a->store_path = fedge_strdup(o->store_path);
    a->edge_fqdn = o->edge_fqdn ? fedge_strdup(o->edge_fqdn) : NULL;
    a->max_s = o->session_max_s ? o->session_max_s : 43200;
    a->guard = admin__guard_new(4096);
    a->closed =
        obs_summary_new(OBS_LOG_INFO, "admin", "connection closed: request not complete in time",
                        "closed", "connections", 10000, 3);
    a->mhd_log =
        obs_summary_new(OBS_LOG_WARNING, "admin", "http server", "logged", "times", 10000, 3);
    a->sessions = admin__sessions_new(256, o->session_idle_s ? o->session_idle_s : 1800, a->max_s);
    a->api = (admin__api_t){.store_path = a->store_path,
                            .edge_fqdn = a->edge_fqdn,
                            .status_cb = o->status_cb,
                            .status_ctx = o->status_ctx,
                            .started_s = now_s(),
                            .media_cb = o->media_cb,
                            .media_ctx = o->media_ctx};
    if (o->n_sip_domains) {
        size_t len = 1;
        for (size_t i = 0; i < o->n_sip_domains; i++)
            len += strlen(o->sip_domains[i]) + 1;
        a->sip_domains = fedge_calloc(1, len);
        for (size_t i = 0; i < o->n_sip_domains; i++) {
            if (i)
                strcat(a->sip_domains, ",");
            strcat(a->sip_domains, o->sip_domains[i]);
        }
        a->api.sip_domains = a->sip_domains;
    }
    int r = store_open(a->store_path, &a->api.store, err);
    if (r == 0 && store_location_is_uri(a->store_path)) {
        /* A pool's shared store: a session opened on any member works on
         * all, failed logins throttle on all (docs/pools.md). */
        admin__sessions_use_store(a->sessions, a->api.store);
        admin__guard_use_store(a->guard, a->api.store);
    }
    if (r == 0)
        r = admin_password_hash("not-a-password-of-anyone", a->dummy_hash, sizeof(a->dummy_hash),
                                err);
    if (r == 0 && tls) {
        a->cert_pem = slurp(o->certificate, err);
        a->key_pem = a->cert_pem ? slurp(o->private_key, err) : NULL;
        if (!a->key_pem)
            r = FEDGE_EIO;
        flags |= MHD_USE_TLS;
    }
    if (r < 0) {
        admin_stop(a);
        return r;
    }
    if (tls)
        a->d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_done, a,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, a, MHD_OPTION_CONNECTION_LIMIT, CONN_MAX,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONN_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
            CONN_IDLE_S, MHD_OPTION_HTTPS_MEM_CERT, a->cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
            a->key_pem, MHD_OPTION_END);
    else
        a->d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_done, a,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, a, MHD_OPTION_CONNECTION_LIMIT, CONN_MAX,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONN_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
            CONN_IDLE_S, MHD_OPTION_END);
    if (!a->d) {
        admin_stop(a);
        return fedge_err(err, FEDGE_EIO,
                         "admin: cannot listen on %s (address in use, or not an address of "
                         "this machine%s)",
                         hp, tls ? ", or a bad certificate/private key" : "");
    }
    if (pthread_create(&a->thread, NULL, serve_thread, a) != 0) {
        admin_stop(a);
        return fedge_err(err, FEDGE_EIO, "admin: cannot start its thread");
    }
    a->thread_started = true;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = di ? di->port : o->listen->port;
    if (o->listen->kind == CONFIG_HOST_IPV6)
        snprintf(a->url, sizeof(a->url), "%s://[%s]:%u/", tls ? "https" : "http", o->listen->host,
                 a->port);
    else
        snprintf(a->url, sizeof(a->url), "%s://%s:%u/", tls ? "https" : "http", o->listen->host,
                 a->port);
    *out = a;
    return 0;
}

uint16_t admin_port(const admin_t *a)
{
    return a->port;
}

const char *admin_url(const admin_t *a)
{
    return a->url;
}
