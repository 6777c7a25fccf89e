/* config.c — loads the INI configuration with inih, checks every line,
 * section, key and value, then the rules across keys, into a config_t. */
#include "config/config.h"
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why a reader of our own: Debian's libinih (r55) is built without
 * INI_HANDLER_LINENO, so the key handler never learns its line number, and
 * inih silently splits lines longer than its 200-byte buffer. We therefore
 * parse with ini_parse_stream() over a reader that hands inih one line at a
 * time from the file held in memory: the reader knows the line number when
 * inih calls the handler for that line (inih calls the handler before it
 * reads the next line), and it checks each line's shape itself (section
 * header, key = value, comment; length; NUL bytes), so every error carries
 * an exact line number and an indented line can never be taken for one of
 * inih's multi-line continuations (the reader strips leading blanks). The
 * long-line limit is lifted through Debian's runtime knobs (ini_use_stack,
 * ini_allow_realloc, ini_max_line), restored after the parse. */

enum {
    S_EDGE,
    S_EXTERNAL,
    S_INTERNAL,
    S_FEDERATION,
    S_LIMITS,
    S_LOG,
    S_DNS,
    S_ADMIN,
    S_REMOTE,
    S_MEDIA,
    S_XMPP,
    S_METRICS,
    S__COUNT
};

static const char *const section_names[S__COUNT] = {
    "edge", "external", "internal", "federation", "limits", "log",
    "dns",  "admin",    "remote",   "media",      "xmpp",   "metrics",
};

enum {
    K_EDGE_FQDN,
    K_EDGE_SIP_DOMAINS,
    K_EDGE_STORE,
    K_EDGE_POOL_FQDN,
    K_EXT_LISTEN,
    K_EXT_CERT,
    K_EXT_KEY,
    K_EXT_CA_FILE,
    K_EXT_CA_PATH,
    K_EXT_CRL_FILE,
    K_EXT_CRL_PATH,
    K_EXT_REQ_CLIENT,
    K_EXT_TLS_MIN,
    K_INT_LISTEN,
    K_INT_TRANSPORT,
    K_INT_CERT,
    K_INT_KEY,
    K_INT_CA_FILE,
    K_INT_NEXT_HOP,
    K_INT_POOL_NAME,
    K_FED_ROUTING,
    K_FED_DEFAULT_ROUTE,
    K_FED_FAILED_SKIP,
    K_LIM_MSG_SIZE,
    K_LIM_CONNS,
    K_LIM_CONNS_IP,
    K_LIM_HANDSHAKE,
    K_LIM_IDLE,
    K_LIM_QUEUED,
    K_LIM_CONNS_INT,
    K_LIM_CONNS_OUT,
    K_LIM_RESERVED,
    K_LIM_HANDSHAKES,
    K_LIM_HS_RATE,
    K_LIM_MSG_TIMEOUT,
    K_LOG_LEVEL,
    K_LOG_FORMAT,
    K_DNS_SERVERS,
    K_DNS_TIMEOUT,
    K_DNS_TRIES,
    K_ADMIN_LISTEN,
    K_ADMIN_CERT,
    K_ADMIN_KEY,
    K_REM_LISTEN,
    K_REM_REGISTRAR,
    K_REM_CONNS_IP,
    K_REM_REG_RATE,
    K_REM_LOCK_USER,
    K_REM_LOCK_ADDR,
    K_REM_LOCK_WINDOW,
    K_REM_LOCK_PERIOD,
    K_MEDIA_RTPENGINE,
    K_MEDIA_INT_IFACE,
    K_MEDIA_EXT_IFACE,
    K_MEDIA_TIMEOUT,
    K_MEDIA_ON_FAILURE,
    K_MEDIA_MAX_CALLS,
    K_MEDIA_ORPHAN_GRACE,
    K_MEDIA_INT_TP,
    K_MEDIA_EXT_TP,
    K_XMPP_LISTEN,
    K_XMPP_CERT,
    K_XMPP_KEY,
    K_XMPP_CA_FILE,
    K_XMPP_STANZA_RATE,
    K_LOG_ACCESS,
    K_METRICS_LISTEN,
    K__COUNT
};

typedef enum {
    T_FQDN,
    T_DOMAINS,
    T_PATH,  /* any path (not checked) */
    T_STORE, /* a path, or a PostgreSQL URI (store_check_location) */
    T_FILE,  /* a readable file */
    T_DIR,   /* a readable folder */
    T_LISTEN,
    T_NEXT_HOPS,
    T_DNS_SERVERS,
    T_ADMIN_LISTEN,
    T_ROUTE,
    T_BOOL,
    T_TLS_VERSION,
    T_TRANSPORT,
    T_ROUTING,
    T_SIZE,
    T_COUNT,
    T_DURATION,
    T_LEVEL,
    T_FORMAT,
    T_RELAYS,     /* [media] rtpengine */
    T_IFACE,      /* an rtpengine interface name */
    T_ON_FAILURE, /* refuse or forward */
    T_MEDIA_TP,   /* pass, rtp or srtp */
    T_METRICS_LISTEN,
    T_ACCESS,
} vtype_t;

typedef struct {
    int section;
    const char *name;
    vtype_t type;
    uint32_t min, max; /* T_SIZE, T_COUNT, T_DURATION (ms) */
    const char *form;  /* the text after "expected" */
} key_def_t;

#define FORM_FILE "a path to a readable file"
#define FORM_LISTEN "a comma-separated list of IP:port like 0.0.0.0:5061 or [::]:5061"
#define FORM_IFACE                                                                                 \
    "an rtpengine interface name (--interface NAME/address) of 1 to 32 letters, digits, '-' or "   \
    "'_'"

static const key_def_t keys[K__COUNT] = {
    [K_EDGE_FQDN] = {S_EDGE, "fqdn", T_FQDN, 0, 0,
                     "a fully qualified domain name like edge.contoso.com"},
    [K_EDGE_SIP_DOMAINS] = {S_EDGE, "sip_domains", T_DOMAINS, 0, 0,
                            "a comma-separated list of domain names like contoso.com, "
                            "contoso.net"},
    [K_EDGE_STORE] = {S_EDGE, "store", T_STORE, 0, 0,
                      "a file path like /var/lib/fedge/fedge.db (SQLite) or a PostgreSQL "
                      "connection URI like postgresql://fedge@db.contoso.com:5432/fedge"},
    [K_EDGE_POOL_FQDN] = {S_EDGE, "pool_fqdn", T_FQDN, 0, 0,
                          "a fully qualified domain name like edge-pool.contoso.com, the name "
                          "the SRV records point to, other than fqdn"},
    [K_EXT_LISTEN] = {S_EXTERNAL, "listen", T_LISTEN, 0, 0, FORM_LISTEN},
    [K_EXT_CERT] = {S_EXTERNAL, "certificate", T_FILE, 0, 0, FORM_FILE},
    [K_EXT_KEY] = {S_EXTERNAL, "private_key", T_FILE, 0, 0, FORM_FILE},
    [K_EXT_CA_FILE] = {S_EXTERNAL, "ca_file", T_FILE, 0, 0, FORM_FILE},
    [K_EXT_CA_PATH] = {S_EXTERNAL, "ca_path", T_DIR, 0, 0, "a path to a readable folder"},
    [K_EXT_CRL_FILE] = {S_EXTERNAL, "crl_file", T_FILE, 0, 0, FORM_FILE},
    [K_EXT_CRL_PATH] = {S_EXTERNAL, "crl_path", T_DIR, 0, 0, "a path to a readable folder"},
    [K_EXT_REQ_CLIENT] = {S_EXTERNAL, "require_client_certificate", T_BOOL, 0, 0,
                          "yes or no (or true/false, on/off, 1/0)"},
    [K_EXT_TLS_MIN] = {S_EXTERNAL, "tls_min_version", T_TLS_VERSION, 0, 0, "1.2 or 1.3"},
    [K_INT_LISTEN] = {S_INTERNAL, "listen", T_LISTEN, 0, 0, FORM_LISTEN},
    [K_INT_TRANSPORT] = {S_INTERNAL, "transport", T_TRANSPORT, 0, 0, "tls, tcp or udp"},
    [K_INT_CERT] = {S_INTERNAL, "certificate", T_FILE, 0, 0, FORM_FILE},
    [K_INT_KEY] = {S_INTERNAL, "private_key", T_FILE, 0, 0, FORM_FILE},
    [K_INT_CA_FILE] = {S_INTERNAL, "ca_file", T_FILE, 0, 0, FORM_FILE},
    [K_INT_NEXT_HOP] = {S_INTERNAL, "next_hop", T_NEXT_HOPS, 0, 0,
                        "a comma-separated list of host[:port] like 10.0.0.5:5061, "
                        "[2001:db8::5]:5061 or sip.contoso.com"},
    [K_INT_POOL_NAME] = {S_INTERNAL, "pool_name", T_FQDN, 0, 0,
                         "a fully qualified domain name like edge-pool.corp.contoso.com that "
                         "resolves to every member's internal address, other than the external "
                         "names"},
    [K_FED_ROUTING] = {S_FEDERATION, "routing", T_ROUTING, 0, 0, "dns-srv or default-route"},
    [K_FED_DEFAULT_ROUTE] = {S_FEDERATION, "default_route", T_ROUTE, 0, 0,
                             "host[:port] like sip.provider.example or 192.0.2.10:5061"},
    [K_FED_FAILED_SKIP] = {S_FEDERATION, "failed_target_skip", T_DURATION, 0, 3600 * 1000,
                           "a duration like 30s, 5m or 500ms, from 0 to 1h"},
    [K_LIM_MSG_SIZE] = {S_LIMITS, "max_message_size", T_SIZE, 1024, 16u * 1024 * 1024,
                        "a size like 65536, 64k or 1M, from 1k to 16M"},
    [K_LIM_CONNS] = {S_LIMITS, "max_connections", T_COUNT, 1, 1000000,
                     "a whole number from 1 to 1000000"},
    [K_LIM_CONNS_IP] = {S_LIMITS, "max_connections_per_ip", T_COUNT, 1, 1000000,
                        "a whole number from 1 to 1000000"},
    [K_LIM_HANDSHAKE] = {S_LIMITS, "handshake_timeout", T_DURATION, 100, 5 * 60 * 1000,
                         "a duration like 30s, 5m or 500ms, from 100ms to 5m"},
    [K_LIM_IDLE] = {S_LIMITS, "idle_timeout", T_DURATION, 1000, 24 * 3600 * 1000,
                    "a duration like 30s, 5m or 500ms, from 1s to 24h"},
    [K_LIM_QUEUED] = {S_LIMITS, "max_queued_bytes", T_SIZE, 4096, 1024u * 1024 * 1024,
                      "a size like 65536, 64k or 1M, from 4k to 1024M"},
    [K_LIM_CONNS_INT] = {S_LIMITS, "max_connections_internal", T_COUNT, 1, 1000000,
                         "a whole number from 1 to 1000000"},
    [K_LIM_CONNS_OUT] = {S_LIMITS, "max_connections_outbound", T_COUNT, 1, 1000000,
                         "a whole number from 1 to 1000000"},
    [K_LIM_RESERVED] = {S_LIMITS, "reserved_for_known", T_COUNT, 0, 1000000,
                        "a whole number from 0 to 1000000"},
    [K_LIM_HANDSHAKES] = {S_LIMITS, "max_handshakes", T_COUNT, 1, 1000000,
                          "a whole number from 1 to 1000000"},
    [K_LIM_HS_RATE] = {S_LIMITS, "handshake_rate", T_COUNT, 1, 1000000,
                       "a whole number of handshakes per second from 1 to 1000000"},
    [K_LIM_MSG_TIMEOUT] = {S_LIMITS, "message_timeout", T_DURATION, 100, 5 * 60 * 1000,
                           "a duration like 10s or 500ms, from 100ms to 5m"},
    [K_LOG_LEVEL] = {S_LOG, "level", T_LEVEL, 0, 0, "debug, info, notice, warning or error"},
    [K_LOG_FORMAT] = {S_LOG, "format", T_FORMAT, 0, 0, "text or json"},
    [K_DNS_SERVERS] = {S_DNS, "servers", T_DNS_SERVERS, 0, 0,
                       "a comma-separated list of IP[:port] like 127.0.0.1:53 or [::1]"},
    [K_DNS_TIMEOUT] = {S_DNS, "timeout", T_DURATION, 100, 60 * 1000,
                       "a duration like 2s or 500ms, from 100ms to 60s"},
    [K_DNS_TRIES] = {S_DNS, "tries", T_COUNT, 1, 10, "a whole number from 1 to 10"},
    [K_ADMIN_LISTEN] = {S_ADMIN, "listen", T_ADMIN_LISTEN, 0, 0,
                        "IP:port like 127.0.0.1:8080 or [::1]:8080"},
    [K_ADMIN_CERT] = {S_ADMIN, "certificate", T_FILE, 0, 0, FORM_FILE},
    [K_ADMIN_KEY] = {S_ADMIN, "private_key", T_FILE, 0, 0, FORM_FILE},
    [K_REM_LISTEN] = {S_REMOTE, "listen", T_LISTEN, 0, 0,
                      "a comma-separated list of IP[:port] like 0.0.0.0:443 or [::] (port 443 "
                      "when left out)"},
    [K_REM_REGISTRAR] = {S_REMOTE, "registrar", T_NEXT_HOPS, 0, 0,
                         "a comma-separated list of host[:port] like 10.0.0.5:5061, "
                         "[2001:db8::5]:5061 or registrar.contoso.com"},
    [K_REM_CONNS_IP] = {S_REMOTE, "max_connections_per_ip", T_COUNT, 1, 1000000,
                        "a whole number from 1 to 1000000"},
    [K_REM_REG_RATE] = {S_REMOTE, "register_rate", T_COUNT, 1, 100000,
                        "a whole number of REGISTERs per minute from 1 to 100000"},
    [K_REM_LOCK_USER] = {S_REMOTE, "lockout_user_failures", T_COUNT, 1, 100000,
                         "a whole number from 1 to 100000"},
    [K_REM_LOCK_ADDR] = {S_REMOTE, "lockout_address_failures", T_COUNT, 1, 100000,
                         "a whole number from 1 to 100000"},
    [K_REM_LOCK_WINDOW] = {S_REMOTE, "lockout_window", T_DURATION, 1000, 24 * 3600 * 1000,
                           "a duration like 5m or 30s, from 1s to 24h"},
    [K_REM_LOCK_PERIOD] = {S_REMOTE, "lockout_period", T_DURATION, 1000, 7 * 24 * 3600 * 1000u,
                           "a duration like 15m or 1h, from 1s to 168h"},
    [K_MEDIA_RTPENGINE] = {S_MEDIA, "rtpengine", T_RELAYS, 0, 0,
                           "a comma-separated list of IP:port of rtpengine ng listeners like "
                           "127.0.0.1:2223 or [::1]:2223"},
    [K_MEDIA_INT_IFACE] = {S_MEDIA, "internal_interface", T_IFACE, 0, 0, FORM_IFACE},
    [K_MEDIA_EXT_IFACE] = {S_MEDIA, "external_interface", T_IFACE, 0, 0, FORM_IFACE},
    [K_MEDIA_TIMEOUT] = {S_MEDIA, "timeout", T_DURATION, 100, 30 * 1000,
                         "a duration like 1s or 500ms, from 100ms to 30s"},
    [K_MEDIA_ON_FAILURE] = {S_MEDIA, "on_relay_failure", T_ON_FAILURE, 0, 0, "refuse or forward"},
    [K_MEDIA_MAX_CALLS] = {S_MEDIA, "max_calls", T_COUNT, 1, 100000,
                           "a whole number from 1 to 100000"},
    [K_MEDIA_ORPHAN_GRACE] = {S_MEDIA, "orphan_grace", T_DURATION, 1000, 3600 * 1000,
                              "a duration like 32s or 2m, from 1s to 1h"},
    [K_MEDIA_INT_TP] = {S_MEDIA, "internal_transport", T_MEDIA_TP, 0, 0, "pass, rtp or srtp"},
    [K_MEDIA_EXT_TP] = {S_MEDIA, "external_transport", T_MEDIA_TP, 0, 0, "pass, rtp or srtp"},
    [K_XMPP_LISTEN] = {S_XMPP, "listen", T_LISTEN, 0, 0,
                       "a comma-separated list of IP:port like 0.0.0.0:5269 or [::]:5269"},
    [K_XMPP_CERT] = {S_XMPP, "certificate", T_FILE, 0, 0, FORM_FILE},
    [K_XMPP_KEY] = {S_XMPP, "private_key", T_FILE, 0, 0, FORM_FILE},
    [K_XMPP_CA_FILE] = {S_XMPP, "ca_file", T_FILE, 0, 0, FORM_FILE},
    [K_XMPP_STANZA_RATE] = {S_XMPP, "stanza_rate", T_COUNT, 1, 100000,
                            "a whole number from 1 to 100000"},
    [K_LOG_ACCESS] = {S_LOG, "access", T_ACCESS, 0, 0, "on or off (or yes/no, true/false, 1/0)"},
    [K_METRICS_LISTEN] = {S_METRICS, "listen", T_METRICS_LISTEN, 0, 0,
                          "IP:port like 127.0.0.1:9464 or [::1]:9464"},
};

struct config_keyline {
    const char *section;
    const char *key;
    int line;
};

typedef struct {
    const char *path;
    const char *dir; /* folder of the file with a trailing '/', or "" */
    size_t dirlen;
    const char *buf; /* the whole file */
    size_t len, pos;
    int line;    /* line of the text last handed to inih */
    int section; /* current section, -1 before the first */
    int cur_key; /* key of the current line, -1 when none */
    int section_line[S__COUNT];
    int key_line[K__COUNT];
    config_t *c;
    fedge_err_t *err;
    int rc; /* 0, or the first error (later ones are not reported) */
} ctx_t;

static void fail(ctx_t *x, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(ctx_t *x, int line, const char *fmt, ...)
{
    if (x->rc)
        return;
    char what[sizeof(x->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* Values are quoted with escapes, but details may echo raw bytes of the
     * file: never send control characters to the operator's terminal. */
    for (char *p = what; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    x->rc = fedge_err(x->err, FEDGE_ECONFIG, "%s:%d: %s", x->path, line, what);
}

/* s[0..len) quoted for a message: control bytes as \xNN, cut at 80 bytes. */
static const char *quote(const char *s, size_t len, char *buf, size_t n)
{
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i == 80) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, n - o, ch == '"' || ch == '\\' ? "\\%c" : "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* "[section] key = "value": detail; expected form" at the current line. */
static void bad_value(ctx_t *x, int key, const char *v, size_t vlen, const char *detail)
{
    char q[128];
    const key_def_t *k = &keys[key];
    fail(x, x->line, "[%s] %s = %s%s%s; expected %s", section_names[k->section], k->name,
         quote(v, vlen, q, sizeof(q)), detail ? ": " : "", detail ? detail : "", k->form);
}

/* ---- the reader: one line at a time, checked, line numbers counted ---- */

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

static int find_section(const char *s, size_t len)
{
    for (int i = 0; i < S__COUNT; i++)
        if (strlen(section_names[i]) == len && !strncasecmp(section_names[i], s, len))
            return i;
    return -1;
}

static int find_key(int section, const char *s, size_t len)
{
    for (int i = 0; i < K__COUNT; i++)
        if (keys[i].section == section && strlen(keys[i].name) == len &&
            !strncasecmp(keys[i].name, s, len))
            return i;
    return -1;
}

static void list_keys(int section, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < K__COUNT; i++)
        if (keys[i].section == section && o < n)
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", keys[i].name);
}

/* Checks the line starting at x->pos (leading blanks already skipped),
 * whose text without line end is s[0..len). Returns false after fail(). */
static bool check_line(ctx_t *x, const char *s, size_t len)
{
    char q[128];
    x->cur_key = -1;
    if (len == 0 || s[0] == ';' || s[0] == '#')
        return true;
    if (s[0] == '[') {
        size_t i = 1;
        while (i < len && is_name_char(s[i]))
            i++;
        size_t nlen = i - 1;
        size_t j = i;
        if (j < len && s[j] == ']') {
            j++;
            while (j < len && is_blank(s[j]))
                j++;
        }
        if (nlen == 0 || i >= len || s[i] != ']' || (j < len && s[j] != ';' && s[j] != '#')) {
            fail(x, x->line, "malformed section header %s; expected [name] alone on its line",
                 quote(s, len, q, sizeof(q)));
            return false;
        }
        int sec = find_section(s + 1, nlen);
        if (sec < 0) {
            fail(x, x->line,
                 "unknown section [%.*s]; expected one of [edge], [external], [internal], "
                 "[federation], [limits], [log], [dns], [admin], [remote], [media], [xmpp], "
                 "[metrics]",
                 (int)nlen, s + 1);
            return false;
        }
        if (x->section_line[sec]) {
            fail(x, x->line,
                 "duplicate section [%s] (first on line %d); expected each section once",
                 section_names[sec], x->section_line[sec]);
            return false;
        }
        x->section = sec;
        x->section_line[sec] = x->line;
        return true;
    }
    size_t i = 0;
    while (i < len && is_name_char(s[i]))
        i++;
    size_t nlen = i;
    while (i < len && is_blank(s[i]))
        i++;
    if (nlen == 0 || i >= len || s[i] != '=') {
        fail(x, x->line,
             "malformed line %s; expected key = value, a [section] header, or a comment "
             "starting with ; or #",
             quote(s, len, q, sizeof(q)));
        return false;
    }
    if (x->section < 0) {
        fail(x, x->line,
             "key \"%.*s\" is outside any section; expected a [section] header before it",
             (int)nlen, s);
        return false;
    }
    int key = find_key(x->section, s, nlen);
    if (key < 0) {
        char list[256];
        list_keys(x->section, list, sizeof(list));
        fail(x, x->line, "unknown key %s in [%s]; expected one of %s", quote(s, nlen, q, sizeof(q)),
             section_names[x->section], list);
        return false;
    }
    if (x->key_line[key]) {
        fail(x, x->line, "duplicate key [%s] %s (first set on line %d); expected each key once",
             section_names[x->section], keys[key].name, x->key_line[key]);
        return false;
    }
    x->key_line[key] = x->line;
    x->cur_key = key;
    return true;
}

/* Starts a new physical line at x->pos: counts it, checks it, skips its
 * leading blanks. Returns false (after fail()) to stop the parse. */
static bool begin_line(ctx_t *x)
{
    x->line++;
    const char *s = x->buf + x->pos;
    size_t rest = x->len - x->pos;
    const char *nl = memchr(s, '\n', rest);
    size_t len = nl ? (size_t)(nl - s) : rest;
    if (len > CONFIG_MAX_LINE) {
        fail(x, x->line, "line is %zu bytes long; expected at most %d", len, CONFIG_MAX_LINE);
        return false;
    }
    if (memchr(s, '\0', len)) {
        fail(x, x->line, "NUL byte in the line; expected text");
        return false;
    }
    size_t skip = 0;
    if (x->line == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        skip = 3; /* UTF-8 byte order mark */
    while (skip < len && is_blank(s[skip]))
        skip++;
    x->pos += skip;
    size_t tlen = len - skip;
    while (tlen > 0 && (is_blank(s[skip + tlen - 1]) || s[skip + tlen - 1] == '\r'))
        tlen--;
    return check_line(x, s + skip, tlen);
}

static char *reader(char *str, int num, void *stream)
{
    ctx_t *x = stream;
    if (x->rc || x->pos >= x->len || num < 2)
        return NULL;
    if (x->pos == 0 || x->buf[x->pos - 1] == '\n') {
        if (!begin_line(x))
            return NULL;
    }
    const char *s = x->buf + x->pos;
    size_t rest = x->len - x->pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl ? (size_t)(nl - s) + 1 : rest;
    if (n > (size_t)num - 1)
        n = (size_t)num - 1; /* inih asks again for the rest (ini_allow_realloc) */
    memcpy(str, s, n);
    str[n] = '\0';
    x->pos += n;
    return str;
}

/* ---- values ---- */

static char *resolve_path(ctx_t *x, const char *v)
{
    if (v[0] == '/' || x->dirlen == 0)
        return fedge_strdup(v);
    size_t n = strlen(v);
    char *p = fedge_malloc(x->dirlen + n + 1);
    memcpy(p, x->dir, x->dirlen);
    memcpy(p + x->dirlen, v, n + 1);
    return p;
}

static char **str_field(config_t *c, int key)
{
    switch (key) {
    case K_EDGE_FQDN: return &c->edge.fqdn;
    case K_EDGE_STORE: return &c->edge.store;
    case K_EDGE_POOL_FQDN: return &c->edge.pool_fqdn;
    case K_INT_POOL_NAME: return &c->internal.pool_name;
    case K_EXT_CERT: return &c->external.certificate;
    case K_EXT_KEY: return &c->external.private_key;
    case K_EXT_CA_FILE: return &c->external.ca_file;
    case K_EXT_CA_PATH: return &c->external.ca_path;
    case K_EXT_CRL_FILE: return &c->external.crl_file;
    case K_EXT_CRL_PATH: return &c->external.crl_path;
    case K_INT_CERT: return &c->internal.certificate;
    case K_INT_KEY: return &c->internal.private_key;
    case K_INT_CA_FILE: return &c->internal.ca_file;
    case K_ADMIN_CERT: return &c->admin.certificate;
    case K_ADMIN_KEY: return &c->admin.private_key;
    case K_MEDIA_INT_IFACE: return &c->media.internal_interface;
    case K_MEDIA_EXT_IFACE: return &c->media.external_interface;
    case K_XMPP_CERT: return &c->xmpp.certificate;
    case K_XMPP_KEY: return &c->xmpp.private_key;
    case K_XMPP_CA_FILE: return &c->xmpp.ca_file;
    }
    return NULL;
}

static config_hostport_list_t *list_field(config_t *c, int key)
{
    switch (key) {
    case K_EXT_LISTEN: return &c->external.listen;
    case K_INT_LISTEN: return &c->internal.listen;
    case K_INT_NEXT_HOP: return &c->internal.next_hop;
    case K_DNS_SERVERS: return &c->dns.servers;
    case K_REM_LISTEN: return &c->remote.listen;
    case K_REM_REGISTRAR: return &c->remote.registrar;
    case K_MEDIA_RTPENGINE: return &c->media.rtpengine;
    case K_XMPP_LISTEN: return &c->xmpp.listen;
    }
    return NULL;
}

static uint32_t *u32_field(config_t *c, int key)
{
    switch (key) {
    case K_LIM_MSG_SIZE: return &c->limits.max_message_size;
    case K_LIM_CONNS: return &c->limits.max_connections;
    case K_LIM_CONNS_IP: return &c->limits.max_connections_per_ip;
    case K_LIM_HANDSHAKE: return &c->limits.handshake_timeout_ms;
    case K_LIM_IDLE: return &c->limits.idle_timeout_ms;
    case K_LIM_QUEUED: return &c->limits.max_queued_bytes;
    case K_LIM_CONNS_INT: return &c->limits.max_connections_internal;
    case K_LIM_CONNS_OUT: return &c->limits.max_connections_outbound;
    case K_LIM_RESERVED: return &c->limits.reserved_for_known;
    case K_LIM_HANDSHAKES: return &c->limits.max_handshakes;
    case K_LIM_HS_RATE: return &c->limits.handshake_rate;
    case K_LIM_MSG_TIMEOUT: return &c->limits.message_timeout_ms;
    case K_DNS_TIMEOUT: return &c->dns.timeout_ms;
    case K_DNS_TRIES: return &c->dns.tries;
    case K_FED_FAILED_SKIP: return &c->federation.failed_target_skip_ms;
    case K_REM_CONNS_IP: return &c->remote.max_connections_per_ip;
    case K_REM_REG_RATE: return &c->remote.register_rate;
    case K_REM_LOCK_USER: return &c->remote.lockout_user_failures;
    case K_REM_LOCK_ADDR: return &c->remote.lockout_addr_failures;
    case K_REM_LOCK_WINDOW: return &c->remote.lockout_window_ms;
    case K_REM_LOCK_PERIOD: return &c->remote.lockout_period_ms;
    case K_MEDIA_TIMEOUT: return &c->media.timeout_ms;
    case K_MEDIA_MAX_CALLS: return &c->media.max_calls;
    case K_XMPP_STANZA_RATE: return &c->xmpp.stanza_rate;
    case K_MEDIA_ORPHAN_GRACE: return &c->media.orphan_grace_ms;
    }
    return NULL;
}

static bool same_hostport(const config_hostport_t *a, const config_hostport_t *b)
{
    return a->port == b->port && a->kind == b->kind && !strcmp(a->host, b->host);
}

/* Calls fn(item, len) for each comma-separated item of v; an empty item is
 * an error. Returns false after fail(). */
static bool parse_list(ctx_t *x, int key, const char *v,
                       bool (*fn)(ctx_t *, int, const char *, size_t))
{
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = p;
        size_t len = n;
        while (len > 0 && is_blank(*s)) {
            s++;
            len--;
        }
        while (len > 0 && is_blank(s[len - 1]))
            len--;
        if (len == 0) {
            bad_value(x, key, v, strlen(v), "empty item in the list");
            return false;
        }
        if (!fn(x, key, s, len))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

static bool add_domain(ctx_t *x, int key, const char *s, size_t len)
{
    char buf[CONFIG_FQDN_BUFSIZE];
    fedge_err_t e;
    if (config_normalize_fqdn(s, len, 2, buf, &e) < 0) {
        bad_value(x, key, s, len, e.msg);
        return false;
    }
    config_t *c = x->c;
    for (size_t i = 0; i < c->edge.sip_domain_count; i++)
        if (!strcmp(c->edge.sip_domains[i], buf)) {
            bad_value(x, key, s, len, "listed twice");
            return false;
        }
    c->edge.sip_domains =
        fedge_realloc(c->edge.sip_domains, (c->edge.sip_domain_count + 1) * sizeof(char *));
    c->edge.sip_domains[c->edge.sip_domain_count++] = fedge_strdup(buf);
    return true;
}

static bool add_hostport(ctx_t *x, int key, const char *s, size_t len)
{
    unsigned flags = 0;
    uint16_t defport = 0;
    switch (key) {
    case K_EXT_LISTEN:
    case K_INT_LISTEN:
    case K_MEDIA_RTPENGINE: flags = CONFIG_HP_REQUIRE_PORT; break;
    case K_REM_LISTEN: defport = CONFIG_DEFAULT_REMOTE_PORT; break;
    case K_INT_NEXT_HOP:
    case K_REM_REGISTRAR: flags = CONFIG_HP_ALLOW_NAME; break;
    case K_DNS_SERVERS: defport = CONFIG_DEFAULT_DNS_PORT; break;
    }
    config_hostport_t hp;
    fedge_err_t e;
    if (config_parse_hostport(s, len, flags, defport, &hp, &e) < 0) {
        bad_value(x, key, s, len, e.msg);
        return false;
    }
    config_hostport_list_t *l = list_field(x->c, key);
    for (size_t i = 0; i < l->count; i++)
        if (same_hostport(&l->items[i], &hp)) {
            config_hostport_free(&hp);
            bad_value(x, key, s, len, "listed twice");
            return false;
        }
    l->items = fedge_realloc(l->items, (l->count + 1) * sizeof(*l->items));
    l->items[l->count++] = hp;
    return true;
}

static bool parse_count(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* Parses value v of key into the config; returns false after fail(). */
static bool set_value(ctx_t *x, int key, const char *v)
{
    config_t *c = x->c;
    const key_def_t *k = &keys[key];
    size_t vlen = strlen(v);
    if (vlen == 0) {
        bad_value(x, key, v, 0, "empty value");
        return false;
    }
    switch (k->type) {
    case T_FQDN: {
        char buf[CONFIG_FQDN_BUFSIZE];
        fedge_err_t e;
        if (config_normalize_fqdn(v, vlen, 2, buf, &e) < 0) {
            bad_value(x, key, v, vlen, e.msg);
            return false;
        }
        *str_field(c, key) = fedge_strdup(buf);
        return true;
    }
    case T_DOMAINS: return parse_list(x, key, v, add_domain);
    case T_STORE:
        if (store_location_is_uri(v)) {
            fedge_err_t e;
            if (store_check_location(v, &e) < 0) {
                char shown[256]; /* never a password in a message */
                size_t n = store_location_shown(v, shown, sizeof(shown));
                char *form = strstr(e.msg, "; expected"); /* the key's form says it */
                if (form)
                    *form = 0;
                bad_value(x, key, shown, n, e.msg);
                return false;
            }
            free(c->edge.store); /* the default */
            c->edge.store = fedge_strdup(v);
            return true;
        }
        /* a file path, as T_PATH */
        /* fall through */
    case T_PATH:
    case T_FILE:
    case T_DIR: {
        char **f = str_field(c, key);
        free(*f); /* a default (store) */
        *f = resolve_path(x, v);
        return true;
    }
    case T_LISTEN:
    case T_NEXT_HOPS:
    case T_DNS_SERVERS:
    case T_RELAYS: return parse_list(x, key, v, add_hostport);
    case T_IFACE: {
        bool ok = vlen <= 32;
        for (size_t i = 0; ok && i < vlen; i++)
            ok = isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '_';
        if (!ok)
            break;
        char **f = str_field(c, key);
        free(*f); /* the default */
        *f = fedge_strdup(v);
        return true;
    }
    case T_MEDIA_TP: {
        config_media_transport_t tp;
        if (!strcasecmp(v, "pass"))
            tp = CONFIG_MEDIA_TP_PASS;
        else if (!strcasecmp(v, "rtp"))
            tp = CONFIG_MEDIA_TP_RTP;
        else if (!strcasecmp(v, "srtp"))
            tp = CONFIG_MEDIA_TP_SRTP;
        else
            break;
        *(key == K_MEDIA_INT_TP ? &c->media.internal_transport : &c->media.external_transport) = tp;
        return true;
    }
    case T_ON_FAILURE:
        if (!strcasecmp(v, "refuse"))
            c->media.on_relay_failure = CONFIG_MEDIA_REFUSE;
        else if (!strcasecmp(v, "forward"))
            c->media.on_relay_failure = CONFIG_MEDIA_FORWARD;
        else
            break;
        return true;
    case T_ADMIN_LISTEN:
    case T_ROUTE: {
        config_hostport_t hp;
        fedge_err_t e;
        bool admin = k->type == T_ADMIN_LISTEN;
        if (config_parse_hostport(v, vlen, admin ? CONFIG_HP_REQUIRE_PORT : CONFIG_HP_ALLOW_NAME,
                                  admin ? 0 : CONFIG_DEFAULT_FEDERATION_PORT, &hp, &e) < 0) {
            bad_value(x, key, v, vlen, e.msg);
            return false;
        }
        config_hostport_t *f = admin ? &c->admin.listen : &c->federation.default_route;
        config_hostport_free(f);
        *f = hp;
        return true;
    }
    case T_BOOL:
        if (config_parse_bool(v, &c->external.require_client_certificate) < 0)
            break;
        return true;
    case T_TLS_VERSION:
        if (!strcmp(v, "1.2"))
            c->external.tls_min_version = CONFIG_TLS_1_2;
        else if (!strcmp(v, "1.3"))
            c->external.tls_min_version = CONFIG_TLS_1_3;
        else
            break;
        return true;
    case T_TRANSPORT:
        if (!strcasecmp(v, "tls"))
            c->internal.transport = CONFIG_TRANSPORT_TLS;
        else if (!strcasecmp(v, "tcp"))
            c->internal.transport = CONFIG_TRANSPORT_TCP;
        else if (!strcasecmp(v, "udp"))
            c->internal.transport = CONFIG_TRANSPORT_UDP;
        else
            break;
        return true;
    case T_ROUTING:
        if (!strcasecmp(v, "dns-srv"))
            c->federation.routing = CONFIG_ROUTING_DNS_SRV;
        else if (!strcasecmp(v, "default-route"))
            c->federation.routing = CONFIG_ROUTING_DEFAULT_ROUTE;
        else
            break;
        return true;
    case T_LEVEL:
        if (obs_level_parse(v, &c->log.level) < 0)
            break;
        return true;
    case T_METRICS_LISTEN: {
        config_hostport_t hp;
        fedge_err_t e;
        if (config_parse_hostport(v, vlen, CONFIG_HP_REQUIRE_PORT, 0, &hp, &e) < 0) {
            bad_value(x, key, v, vlen, e.msg);
            return false;
        }
        config_hostport_free(&c->metrics.listen);
        c->metrics.listen = hp;
        return true;
    }
    case T_ACCESS:
        if (config_parse_bool(v, &c->log.access) < 0)
            break;
        return true;
    case T_FORMAT:
        if (obs_format_parse(v, &c->log.format) < 0)
            break;
        return true;
    case T_SIZE:
    case T_COUNT:
    case T_DURATION: {
        uint32_t n;
        bool ok = k->type == T_SIZE       ? config_parse_size(v, &n) == 0
                  : k->type == T_DURATION ? config_parse_duration(v, &n) == 0
                                          : parse_count(v, &n);
        if (!ok)
            break;
        if (n < k->min || n > k->max) {
            bad_value(x, key, v, vlen, "out of range");
            return false;
        }
        *u32_field(c, key) = n;
        return true;
    }
    }
    bad_value(x, key, v, vlen, NULL);
    return false;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    ctx_t *x = user;
    if (x->rc)
        return 1; /* the reader stops the parse at the next line */
    int key = x->cur_key;
    if (key < 0 || strcasecmp(keys[key].name, name) ||
        strcasecmp(section_names[keys[key].section], section)) {
        /* Cannot happen: the reader checked this line's key. */
        fail(x, x->line,
             "key \"%s\" in [%s] could not be matched to its line; expected one key per line", name,
             section);
        return 0;
    }
    x->cur_key = -1; /* one value per key line */
    return set_value(x, key, value) ? 1 : 0;
}

/* ---- rules across keys ---- */

/* Line to report a missing key of section sec at. */
static int missing_line(const ctx_t *x, int sec)
{
    if (x->section_line[sec])
        return x->section_line[sec];
    return x->line > 0 ? x->line : 1;
}

static void missing(ctx_t *x, int key, const char *why)
{
    const key_def_t *k = &keys[key];
    fail(x, missing_line(x, k->section), "[%s] %s is missing%s; expected %s = %s",
         section_names[k->section], k->name, why ? why : "", k->name, k->form);
}

/* Both or neither of a certificate/private_key pair. */
static void check_pair(ctx_t *x, int cert, int key)
{
    const char *c = *str_field(x->c, cert), *k = *str_field(x->c, key);
    if (c && !k)
        fail(x, x->key_line[cert],
             "[%s] certificate is set but private_key is missing; expected both or neither",
             section_names[keys[cert].section]);
    else if (k && !c)
        fail(x, x->key_line[key],
             "[%s] private_key is set but certificate is missing; expected both or neither",
             section_names[keys[key].section]);
}

static void check_readable(ctx_t *x, int key)
{
    const char *p = *str_field(x->c, key);
    if (!p || x->rc)
        return;
    bool dir = keys[key].type == T_DIR;
    const char *why = NULL;
    /* O_NONBLOCK: a FIFO named by mistake must not hang the check. */
    int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0) {
        why = strerror(errno);
    } else {
        struct stat st;
        if (fstat(fd, &st) < 0)
            why = strerror(errno);
        else if (!dir && !S_ISREG(st.st_mode))
            why = S_ISDIR(st.st_mode) ? "it is a folder" : "not a regular file";
        if (!why && !dir) {
            char b;
            if (read(fd, &b, 1) < 0) /* e.g. EISDIR, EACCES on some filesystems */
                why = strerror(errno);
        }
        close(fd);
    }
    if (!why)
        return;
    /* Show the value as written; add the resolved path when it differs. */
    const char *written = p;
    if (x->dirlen && !strncmp(p, x->dir, x->dirlen) && x->key_line[key])
        written = p + x->dirlen;
    char q[128], q2[128];
    const key_def_t *k = &keys[key];
    if (written != p)
        fail(x, x->key_line[key], "[%s] %s = %s: cannot read %s: %s; expected %s",
             section_names[k->section], k->name, quote(written, strlen(written), q, sizeof(q)),
             quote(p, strlen(p), q2, sizeof(q2)), why, k->form);
    else
        fail(x, x->key_line[key], "[%s] %s = %s: cannot read it: %s; expected %s",
             section_names[k->section], k->name, quote(p, strlen(p), q, sizeof(q)), why, k->form);
}

static bool is_unspecified(const config_hostport_t *hp)
{
    return !strcmp(hp->host, "0.0.0.0") || !strcmp(hp->host, "::");
}

/* Two listening addresses that cannot both be bound. */
static bool listen_clash(const config_hostport_t *a, const config_hostport_t *b)
{
    if (a->port != b->port)
        return false;
    if (a->kind != b->kind)
        return false; /* [::] and 0.0.0.0 may coexist (the listener sets IPV6_V6ONLY) */
    /* A wildcard takes the port on every address of its family. */
    return !strcmp(a->host, b->host) || is_unspecified(a) || is_unspecified(b);
}

static void check_listen_clashes(ctx_t *x)
{
    struct {
        const config_hostport_t *hp;
        int key;
    } all[64];
    size_t n = 0;
    const config_hostport_list_t *lists[4] = {&x->c->external.listen, &x->c->internal.listen,
                                              &x->c->remote.listen, &x->c->xmpp.listen};
    const int lkeys[4] = {K_EXT_LISTEN, K_INT_LISTEN, K_REM_LISTEN, K_XMPP_LISTEN};
    for (int l = 0; l < 4; l++)
        for (size_t i = 0; i < lists[l]->count && n < FEDGE_ARRAY_LEN(all) - 1; i++) {
            all[n].hp = &lists[l]->items[i];
            all[n++].key = lkeys[l];
        }
    all[n].hp = &x->c->admin.listen;
    all[n++].key = K_ADMIN_LISTEN;
    if (x->c->metrics.listen.host) {
        all[n].hp = &x->c->metrics.listen;
        all[n++].key = K_METRICS_LISTEN;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (!listen_clash(all[i].hp, all[j].hp))
                continue;
            /* Report at the later of the two lines (a default has line 0). */
            int ki = all[i].key, kj = all[j].key;
            int li = x->key_line[ki], lj = x->key_line[kj];
            int at = lj >= li ? kj : ki, other = at == kj ? ki : kj;
            const config_hostport_t *ha = at == kj ? all[j].hp : all[i].hp;
            const config_hostport_t *hb = at == kj ? all[i].hp : all[j].hp;
            char a[80], b[80], q[128];
            config_hostport_format(ha, a, sizeof(a));
            config_hostport_format(hb, b, sizeof(b));
            const key_def_t *k = &keys[at], *ko = &keys[other];
            if ((at == K_REM_LISTEN && other == K_EXT_LISTEN) ||
                (at == K_EXT_LISTEN && other == K_REM_LISTEN))
                /* One TLS listener cannot both require client certificates
                 * (partners) and not ask for them (remote users). */
                fail(x, x->key_line[at],
                     "[%s] %s = %s: shares %s with [%s] listen on line %d; expected a port or "
                     "address of its own (partners on [external] present a client certificate, "
                     "remote clients do not; 443 is the usual remote port)",
                     section_names[k->section], k->name, quote(a, strlen(a), q, sizeof(q)), b,
                     section_names[ko->section], x->key_line[other]);
            else if (x->key_line[other])
                fail(x, x->key_line[at],
                     "[%s] %s = %s: clashes with %s of [%s] %s on line %d; expected distinct "
                     "listening ports or addresses",
                     section_names[k->section], k->name, quote(a, strlen(a), q, sizeof(q)), b,
                     section_names[ko->section], ko->name, x->key_line[other]);
            else
                fail(x, x->key_line[at],
                     "[%s] %s = %s: clashes with %s of [%s] %s (its default); expected distinct "
                     "listening ports or addresses",
                     section_names[k->section], k->name, quote(a, strlen(a), q, sizeof(q)), b,
                     section_names[ko->section], ko->name);
            return;
        }
}

/* The pool's names (docs/pools.md) must tell the pool from its member and
 * the two sides apart: a Record-Route naming the pool is recognised as
 * the edge's own by every member, so neither may be a member's own name. */
static void check_pool(ctx_t *x)
{
    config_t *c = x->c;
    const char *pool = c->edge.pool_fqdn, *name = c->internal.pool_name;
    if (pool && !strcmp(pool, c->edge.fqdn))
        fail(x, x->key_line[K_EDGE_POOL_FQDN],
             "[edge] pool_fqdn = %s: the same as fqdn; expected %s (fqdn names this member, "
             "pool_fqdn every member; leave pool_fqdn out for an edge alone)",
             pool, keys[K_EDGE_POOL_FQDN].form);
    else if (name && !pool)
        fail(x, x->key_line[K_INT_POOL_NAME],
             "[internal] pool_name = %s: set without [edge] pool_fqdn; expected pool_fqdn in "
             "[edge] as well (a pool has both names), or no pool_name",
             name);
    else if (name && (!strcmp(name, pool) || !strcmp(name, c->edge.fqdn)))
        fail(x, x->key_line[K_INT_POOL_NAME],
             "[internal] pool_name = %s: the same as [edge] %s; expected %s", name,
             !strcmp(name, pool) ? "pool_fqdn" : "fqdn", keys[K_INT_POOL_NAME].form);
}

static void check(ctx_t *x)
{
    config_t *c = x->c;
    if (!c->edge.fqdn)
        missing(x, K_EDGE_FQDN, NULL);
    if (!c->edge.sip_domain_count)
        missing(x, K_EDGE_SIP_DOMAINS, NULL);
    if (!c->external.listen.count)
        missing(x, K_EXT_LISTEN, NULL);
    if (!c->external.certificate)
        missing(x, K_EXT_CERT, NULL);
    if (!c->external.private_key)
        missing(x, K_EXT_KEY, NULL);
    if (!c->internal.listen.count)
        missing(x, K_INT_LISTEN, NULL);
    if (!c->internal.next_hop.count)
        missing(x, K_INT_NEXT_HOP, NULL);
    if (x->rc)
        return;

    if (c->internal.transport == CONFIG_TRANSPORT_TLS &&
        (!c->internal.certificate || !c->internal.private_key)) {
        int line = x->key_line[K_INT_TRANSPORT] ? x->key_line[K_INT_TRANSPORT]
                                                : missing_line(x, S_INTERNAL);
        fail(x, line,
             "[internal] transport is tls%s but %s is missing; expected certificate = %s and "
             "private_key = %s in [internal], or transport = tcp",
             x->key_line[K_INT_TRANSPORT] ? "" : " (the default)",
             !c->internal.certificate ? "certificate" : "private_key", FORM_FILE, FORM_FILE);
    }
    check_pair(x, K_INT_CERT, K_INT_KEY);
    if (c->internal.transport == CONFIG_TRANSPORT_UDP) {
        /* datagrams go to addresses: the edge resolves no next hop name
         * for UDP (no _sip._udp SRV) */
        for (size_t i = 0; i < c->internal.next_hop.count; i++)
            if (c->internal.next_hop.items[i].kind == CONFIG_HOST_NAME) {
                fail(x, x->key_line[K_INT_NEXT_HOP],
                     "[internal] next_hop %s is a name but transport = udp sends to IP "
                     "addresses only; expected an IP address like 192.0.2.10:5060",
                     c->internal.next_hop.items[i].host);
                break;
            }
    }

    if (c->federation.routing == CONFIG_ROUTING_DEFAULT_ROUTE && !c->federation.default_route.host)
        missing(x, K_FED_DEFAULT_ROUTE,
                x->key_line[K_FED_ROUTING] ? " (needed by routing = default-route)"
                                           : " (needed by routing = default-route, the default)");

    check_pool(x);
    check_pair(x, K_ADMIN_CERT, K_ADMIN_KEY);
    if (!x->rc && !config_hostport_is_loopback(&c->admin.listen) && !c->admin.certificate) {
        char a[80], q[128];
        config_hostport_format(&c->admin.listen, a, sizeof(a));
        fail(x, x->key_line[K_ADMIN_LISTEN],
             "[admin] listen = %s is not a loopback address but certificate and private_key are "
             "missing; expected certificate and private_key in [admin] (the API is then served "
             "over HTTPS), or a loopback address like 127.0.0.1:8080",
             quote(a, strlen(a), q, sizeof(q)));
    }

    if (c->limits.max_connections_per_ip > c->limits.max_connections) {
        int kl = x->key_line[K_LIM_CONNS_IP] ? K_LIM_CONNS_IP : K_LIM_CONNS;
        fail(x, x->key_line[kl],
             "[limits] max_connections_per_ip = %u is more than max_connections = %u; expected "
             "max_connections_per_ip <= max_connections",
             (unsigned)c->limits.max_connections_per_ip, (unsigned)c->limits.max_connections);
    }

    if (c->limits.reserved_for_known >= c->limits.max_connections) {
        int kl = x->key_line[K_LIM_RESERVED] ? K_LIM_RESERVED : K_LIM_CONNS;
        /* The default reserve follows a small max_connections down. */
        if (!x->key_line[K_LIM_RESERVED])
            c->limits.reserved_for_known = c->limits.max_connections / 10;
        else
            fail(x, x->key_line[kl],
                 "[limits] reserved_for_known = %u is not less than max_connections = %u; "
                 "expected reserved_for_known < max_connections (the places kept for known "
                 "peers out of the external side's budget)",
                 (unsigned)c->limits.reserved_for_known, (unsigned)c->limits.max_connections);
    }

    /* A [remote] section turns on the client listener: it needs both ends. */
    if (x->section_line[S_REMOTE] && !c->remote.listen.count)
        missing(x, K_REM_LISTEN, " (a [remote] section serves remote users)");
    if (x->section_line[S_REMOTE] && !c->remote.registrar.count)
        missing(x, K_REM_REGISTRAR, " (remote users register with an internal server)");
    /* A [media] section means "relay calls' media": it needs its relays. */
    if (x->section_line[S_MEDIA] && !c->media.rtpengine.count)
        missing(x, K_MEDIA_RTPENGINE, " (a [media] section relays calls' media through rtpengine)");

    /* [xmpp]: the section turns the gateway on; listen is then required,
     * the certificate and trust anchors default to [external]'s. */
    c->xmpp.enabled = x->section_line[S_XMPP] > 0;
    if (c->xmpp.enabled && !c->xmpp.listen.count)
        missing(x, K_XMPP_LISTEN, " (the [xmpp] section turns the XMPP gateway on)");
    check_pair(x, K_XMPP_CERT, K_XMPP_KEY);

    static const int files[] = {K_EXT_CERT,     K_EXT_KEY,      K_EXT_CA_FILE, K_EXT_CA_PATH,
                                K_EXT_CRL_FILE, K_EXT_CRL_PATH, K_INT_CERT,    K_INT_KEY,
                                K_INT_CA_FILE,  K_ADMIN_CERT,   K_ADMIN_KEY,   K_XMPP_CERT,
                                K_XMPP_KEY,     K_XMPP_CA_FILE};
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(files); i++)
        check_readable(x, files[i]);

    if (!x->rc)
        check_listen_clashes(x);

    /* RFC 3263 §4.2: an IP literal without port uses the transport's default
     * port; a name without port is resolved by SRV, so it keeps port 0. */
    for (size_t i = 0; i < c->internal.next_hop.count; i++) {
        config_hostport_t *hp = &c->internal.next_hop.items[i];
        if (!hp->port && hp->kind != CONFIG_HOST_NAME)
            hp->port = c->internal.transport == CONFIG_TRANSPORT_TLS ? 5061 : 5060;
    }
    for (size_t i = 0; i < c->remote.registrar.count; i++) {
        config_hostport_t *hp = &c->remote.registrar.items[i];
        if (!hp->port && hp->kind != CONFIG_HOST_NAME)
            hp->port = c->internal.transport == CONFIG_TRANSPORT_TLS ? 5061 : 5060;
    }
}

/* ---- load, free, accessors ---- */

static void set_defaults(config_t *c, const char *dir, size_t dirlen)
{
    ctx_t tmp = {.dir = dir, .dirlen = dirlen};
    c->edge.store = resolve_path(&tmp, CONFIG_DEFAULT_STORE);
    c->external.require_client_certificate = CONFIG_DEFAULT_REQUIRE_CLIENT_CERT;
    c->external.tls_min_version = CONFIG_DEFAULT_TLS_MIN_VERSION;
    c->internal.transport = CONFIG_DEFAULT_INTERNAL_TRANSPORT;
    c->federation.routing = CONFIG_DEFAULT_ROUTING;
    c->federation.failed_target_skip_ms = CONFIG_DEFAULT_FAILED_TARGET_SKIP_MS;
    c->limits.max_message_size = CONFIG_DEFAULT_MAX_MESSAGE_SIZE;
    c->limits.max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
    c->limits.max_connections_per_ip = CONFIG_DEFAULT_MAX_CONNECTIONS_PER_IP;
    c->limits.handshake_timeout_ms = CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    c->limits.idle_timeout_ms = CONFIG_DEFAULT_IDLE_TIMEOUT_MS;
    c->limits.max_queued_bytes = CONFIG_DEFAULT_MAX_QUEUED_BYTES;
    c->limits.max_connections_internal = CONFIG_DEFAULT_MAX_CONNECTIONS_INTERNAL;
    c->limits.max_connections_outbound = CONFIG_DEFAULT_MAX_CONNECTIONS_OUTBOUND;
    c->limits.reserved_for_known = CONFIG_DEFAULT_RESERVED_FOR_KNOWN;
    c->limits.max_handshakes = CONFIG_DEFAULT_MAX_HANDSHAKES;
    c->limits.handshake_rate = CONFIG_DEFAULT_HANDSHAKE_RATE;
    c->limits.message_timeout_ms = CONFIG_DEFAULT_MESSAGE_TIMEOUT_MS;
    c->log.level = CONFIG_DEFAULT_LOG_LEVEL;
    c->log.format = CONFIG_DEFAULT_LOG_FORMAT;
    c->dns.timeout_ms = CONFIG_DEFAULT_DNS_TIMEOUT_MS;
    c->dns.tries = CONFIG_DEFAULT_DNS_TRIES;
    c->remote.max_connections_per_ip = CONFIG_DEFAULT_REMOTE_MAX_CONNECTIONS_PER_IP;
    c->remote.register_rate = CONFIG_DEFAULT_REMOTE_REGISTER_RATE;
    c->remote.lockout_user_failures = CONFIG_DEFAULT_REMOTE_LOCKOUT_USER_FAILURES;
    c->remote.lockout_addr_failures = CONFIG_DEFAULT_REMOTE_LOCKOUT_ADDR_FAILURES;
    c->remote.lockout_window_ms = CONFIG_DEFAULT_REMOTE_LOCKOUT_WINDOW_MS;
    c->remote.lockout_period_ms = CONFIG_DEFAULT_REMOTE_LOCKOUT_PERIOD_MS;
    c->media.internal_interface = fedge_strdup(CONFIG_DEFAULT_MEDIA_INTERNAL_INTERFACE);
    c->media.external_interface = fedge_strdup(CONFIG_DEFAULT_MEDIA_EXTERNAL_INTERFACE);
    c->media.timeout_ms = CONFIG_DEFAULT_MEDIA_TIMEOUT_MS;
    c->media.on_relay_failure = CONFIG_DEFAULT_MEDIA_ON_RELAY_FAILURE;
    c->media.max_calls = CONFIG_DEFAULT_MEDIA_MAX_CALLS;
    c->xmpp.stanza_rate = CONFIG_DEFAULT_XMPP_STANZA_RATE;
    c->media.orphan_grace_ms = CONFIG_DEFAULT_MEDIA_ORPHAN_GRACE_MS;
    const char *al = CONFIG_DEFAULT_ADMIN_LISTEN;
    int rc =
        config_parse_hostport(al, strlen(al), CONFIG_HP_REQUIRE_PORT, 0, &c->admin.listen, NULL);
    (void)rc; /* a constant that parses */
}

/* Reads the whole file (bounded) into a NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *len, fedge_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fedge_err(err, FEDGE_EIO, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = fedge_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > CONFIG_MAX_FILE_SIZE) {
                fclose(f);
                free(buf);
                return fedge_err(
                    err, FEDGE_ECONFIG,
                    "%s:1: file is larger than %d bytes; expected a configuration file", path,
                    CONFIG_MAX_FILE_SIZE);
            }
            cap *= 2;
            buf = fedge_realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return fedge_err(err, FEDGE_EIO, "%s: cannot read: %s", path, strerror(e));
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int config_load(const char *path, config_t **out, fedge_err_t *err)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc < 0)
        return rc;

    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;

    config_t *c = fedge_calloc(1, sizeof(*c));
    c->path = fedge_strdup(path);
    set_defaults(c, path, dirlen);

    ctx_t x = {
        .path = path,
        .dir = path,
        .dirlen = dirlen,
        .buf = buf,
        .len = len,
        .section = -1,
        .cur_key = -1,
        .c = c,
        .err = err,
    };

    /* Debian's runtime knobs (see the comment at the top): a heap line
     * buffer that grows to CONFIG_MAX_LINE plus newline and NUL. */
    bool old_stack = ini_use_stack, old_realloc = ini_allow_realloc;
    int old_max = ini_max_line;
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = CONFIG_MAX_LINE + 2;
    int r = ini_parse_stream(reader, &x, handler, &x);
    ini_use_stack = old_stack;
    ini_allow_realloc = old_realloc;
    ini_max_line = old_max;

    if (!x.rc && r == -1)
        x.rc = fedge_err(err, FEDGE_ENOMEM, "%s: out of memory while parsing", path);
    else if (!x.rc && r != 0)
        fail(&x, r,
             "inih refused this line; expected key = value, a [section] header, or a comment");
    if (!x.rc)
        check(&x);
    free(buf);
    if (x.rc) {
        config_free(c);
        return x.rc;
    }

    for (int k = 0; k < K__COUNT; k++)
        if (x.key_line[k]) {
            c->keylines = fedge_realloc(c->keylines, (c->keyline_count + 1) * sizeof(*c->keylines));
            c->keylines[c->keyline_count++] = (struct config_keyline){
                section_names[keys[k].section], keys[k].name, x.key_line[k]};
        }
    *out = c;
    return 0;
}

static void free_list(config_hostport_list_t *l)
{
    for (size_t i = 0; i < l->count; i++)
        config_hostport_free(&l->items[i]);
    free(l->items);
}

void config_free(config_t *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->edge.fqdn);
    for (size_t i = 0; i < c->edge.sip_domain_count; i++)
        free(c->edge.sip_domains[i]);
    free(c->edge.sip_domains);
    free(c->edge.store);
    free(c->edge.pool_fqdn);
    free(c->internal.pool_name);
    free_list(&c->external.listen);
    free(c->external.certificate);
    free(c->external.private_key);
    free(c->external.ca_file);
    free(c->external.ca_path);
    free(c->external.crl_file);
    free(c->external.crl_path);
    free_list(&c->internal.listen);
    free(c->internal.certificate);
    free(c->internal.private_key);
    free(c->internal.ca_file);
    free_list(&c->internal.next_hop);
    config_hostport_free(&c->federation.default_route);
    free_list(&c->dns.servers);
    config_hostport_free(&c->admin.listen);
    config_hostport_free(&c->metrics.listen);
    free(c->admin.certificate);
    free(c->admin.private_key);
    free_list(&c->remote.listen);
    free_list(&c->remote.registrar);
    free_list(&c->media.rtpengine);
    free(c->media.internal_interface);
    free(c->media.external_interface);
    free_list(&c->xmpp.listen);
    free(c->xmpp.certificate);
    free(c->xmpp.private_key);
    free(c->xmpp.ca_file);
    free(c->keylines);
    free(c);
}

int config_key_line(const config_t *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->keyline_count; i++)
        if (!strcmp(c->keylines[i].section, section) && !strcmp(c->keylines[i].key, key))
            return c->keylines[i].line;
    return 0;
}

const char *config_routing_name(config_routing_t r)
{
    return r == CONFIG_ROUTING_DNS_SRV ? "dns-srv" : "default-route";
}

const char *config_transport_name(config_transport_t t)
{
    return t == CONFIG_TRANSPORT_UDP ? "udp" : t == CONFIG_TRANSPORT_TCP ? "tcp" : "tls";
}

const char *config_tls_version_name(config_tls_version_t v)
{
    return v == CONFIG_TLS_1_3 ? "1.3" : "1.2";
}

const char *config_media_transport_name(config_media_transport_t t)
{
    return t == CONFIG_MEDIA_TP_RTP ? "rtp" : t == CONFIG_MEDIA_TP_SRTP ? "srtp" : "pass";
}

const char *config_media_failure_name(config_media_failure_t f)
{
    return f == CONFIG_MEDIA_FORWARD ? "forward" : "refuse";
}
