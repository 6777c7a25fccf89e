/* config.h — the static INI configuration of fedge (`fedge serve -c FILE`):
 * loading with inih, validation with FILE:LINE messages, and the plain-data
 * config_t that the server reads. docs/configuration.md is the user guide. */
#ifndef FEDGE_CONFIG_H
#define FEDGE_CONFIG_H

#include "base/base.h"
#include "obs/obs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- defaults: the one place where they are set (docs mirror them) ---- */

/* Federation routing when [federation] routing is not given: per partner
 * domain by DNS SRV (docs/configuration.md, "[federation]"). */
#define CONFIG_DEFAULT_ROUTING CONFIG_ROUTING_DNS_SRV
/* How long an outbound target that failed is skipped. */
#define CONFIG_DEFAULT_FAILED_TARGET_SKIP_MS 30000u /* 30s */

#define CONFIG_DEFAULT_STORE "fedge.db" /* relative to the config file's folder */
#define CONFIG_DEFAULT_REQUIRE_CLIENT_CERT true
#define CONFIG_DEFAULT_TLS_MIN_VERSION CONFIG_TLS_1_2
#define CONFIG_DEFAULT_INTERNAL_TRANSPORT CONFIG_TRANSPORT_TLS
#define CONFIG_DEFAULT_FEDERATION_PORT 5061 /* default_route without a port */
#define CONFIG_DEFAULT_MAX_MESSAGE_SIZE (64u * 1024u)
#define CONFIG_DEFAULT_MAX_CONNECTIONS 10000u
#define CONFIG_DEFAULT_MAX_CONNECTIONS_PER_IP 100u
#define CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u /* 10s */
#define CONFIG_DEFAULT_IDLE_TIMEOUT_MS 300000u     /* 5m */
#define CONFIG_DEFAULT_MAX_QUEUED_BYTES (1024u * 1024u)
#define CONFIG_DEFAULT_MAX_CONNECTIONS_INTERNAL 1000u
#define CONFIG_DEFAULT_MAX_CONNECTIONS_OUTBOUND 1000u
#define CONFIG_DEFAULT_RESERVED_FOR_KNOWN 1000u /* of max_connections */
#define CONFIG_DEFAULT_MAX_HANDSHAKES 500u
#define CONFIG_DEFAULT_HANDSHAKE_RATE 20u        /* per second per address */
#define CONFIG_DEFAULT_MESSAGE_TIMEOUT_MS 10000u /* 10s */
#define CONFIG_DEFAULT_LOG_LEVEL OBS_LOG_INFO
#define CONFIG_DEFAULT_LOG_FORMAT OBS_LOG_TEXT
#define CONFIG_DEFAULT_DNS_PORT 53
#define CONFIG_DEFAULT_DNS_TIMEOUT_MS 2000u /* per try */
#define CONFIG_DEFAULT_DNS_TRIES 3u
#define CONFIG_DEFAULT_ADMIN_LISTEN "127.0.0.1:8080"
/* [remote]: the listener for the organization's own users outside its
 * network (docs/remote-users.md). 443 is where Lync clients looked first. */
#define CONFIG_DEFAULT_REMOTE_PORT 443
#define CONFIG_DEFAULT_REMOTE_MAX_CONNECTIONS_PER_IP 100u
#define CONFIG_DEFAULT_REMOTE_REGISTER_RATE 60u         /* REGISTERs per minute per address */
#define CONFIG_DEFAULT_REMOTE_LOCKOUT_USER_FAILURES 10u /* 401/403 per user in the window */
#define CONFIG_DEFAULT_REMOTE_LOCKOUT_ADDR_FAILURES 50u /* 401/403 per address in the window */
#define CONFIG_DEFAULT_REMOTE_LOCKOUT_WINDOW_MS 300000u /* 5m */
#define CONFIG_DEFAULT_REMOTE_LOCKOUT_PERIOD_MS 900000u /* 15m */
#define CONFIG_DEFAULT_MEDIA_INTERNAL_INTERFACE "internal"
#define CONFIG_DEFAULT_MEDIA_EXTERNAL_INTERFACE "external"
#define CONFIG_DEFAULT_MEDIA_TIMEOUT_MS 1000u /* 1s per relay */
#define CONFIG_DEFAULT_MEDIA_ON_RELAY_FAILURE CONFIG_MEDIA_REFUSE
#define CONFIG_DEFAULT_MEDIA_MAX_CALLS 10000u /* concurrent relayed calls */
#define CONFIG_DEFAULT_XMPP_STANZA_RATE 50u   /* stanzas/s per inbound XMPP stream */
/* A call whose connection closed waits this long for its peer to come
 * back on a new connection: 64*T1, the time RFC 3261 gives a transaction
 * (Timer B/F) — a peer that reconnects and retries within a transaction's
 * life is still in time (docs/media.md, "When a connection closes"). */
#define CONFIG_DEFAULT_MEDIA_ORPHAN_GRACE_MS 32000u

/* Longest accepted line of a configuration file, in bytes (without the
 * newline), and largest accepted file. */
#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_FILE_SIZE (1024 * 1024)

/* Longest FQDN (RFC 1035, without a trailing dot) and a buffer for one. */
#define CONFIG_FQDN_MAX 253
#define CONFIG_FQDN_BUFSIZE (CONFIG_FQDN_MAX + 1)

typedef enum {
    CONFIG_ROUTING_DEFAULT_ROUTE = 0, /* all federated traffic to default_route */
    CONFIG_ROUTING_DNS_SRV = 1,       /* per partner domain, DNS SRV (RFC 3263 §4.2) */
} config_routing_t;

typedef enum {
    CONFIG_TLS_1_2 = 12,
    CONFIG_TLS_1_3 = 13,
} config_tls_version_t;

typedef enum {
    CONFIG_TRANSPORT_TLS = 0,
    CONFIG_TRANSPORT_TCP = 1,
    /* UDP towards the internal servers, with a TCP listener beside it on
     * the same address for requests too large for UDP (RFC 3261 §18.1.1) */
    CONFIG_TRANSPORT_UDP = 2,
} config_transport_t;

/* What a call gets when no relay answers (docs/media.md). */
typedef enum {
    CONFIG_MEDIA_REFUSE = 0,  /* 503 with a Warning naming the relay */
    CONFIG_MEDIA_FORWARD = 1, /* the SDP goes on unchanged, and it is logged */
} config_media_failure_t;

/* What the media towards one side must be (docs/media.md, "RTP and
 * SRTP"); the values match media_transport_t. */
typedef enum {
    CONFIG_MEDIA_TP_PASS = 0, /* as offered: SRTP and DTLS-SRTP untouched */
    CONFIG_MEDIA_TP_RTP = 1,  /* plain RTP */
    CONFIG_MEDIA_TP_SRTP = 2, /* SRTP with SDES keys */
} config_media_transport_t;

typedef enum {
    CONFIG_HOST_IPV4 = 0, /* dotted quad, e.g. 192.0.2.1 */
    CONFIG_HOST_IPV6 = 1, /* literal without brackets, e.g. 2001:db8::1 */
    CONFIG_HOST_NAME = 2, /* DNS name, validated and lowercased */
} config_host_kind_t;

/* One host[:port]. host is a NUL-terminated string owned by whoever owns
 * the config_hostport_t (the config_t for values inside one). port is 0
 * when the text had none and no default applied (see each key). */
typedef struct {
    char *host;
    uint16_t port;
    config_host_kind_t kind;
} config_hostport_t;

typedef struct {
    config_hostport_t *items;
    size_t count;
} config_hostport_list_t;

/* The loaded configuration. Plain data: every string and array is owned by
 * the config_t and released by config_free(); a loaded config_t is never
 * modified (a new file gives a new config_t). Paths are as written in the
 * file when absolute, else joined to the folder of the configuration file
 * ("dir/path"), so they do not depend on the working directory. Optional
 * strings not set are NULL. Durations are in milliseconds. */
typedef struct {
    char *path; /* the configuration file as given to config_load() */

    struct {
        char *fqdn;         /* required; lowercase FQDN */
        char **sip_domains; /* required, >= 1; lowercase FQDNs, no duplicates */
        size_t sip_domain_count;
        char *store; /* default CONFIG_DEFAULT_STORE (resolved) */
        /* the pool's external FQDN (docs/pools.md): the SRV target shared
         * by every member, named by every member's certificate; lowercase,
         * never equal to fqdn; NULL for an edge alone */
        char *pool_fqdn;
    } edge;

    struct {
        config_hostport_list_t listen; /* required, >= 1; IP literals, port given */
        char *certificate;             /* required; readable file */
        char *private_key;             /* required; readable file */
        char *ca_file;                 /* NULL and ca_path NULL: system store */
        char *ca_path;                 /* readable folder (OpenSSL hashed dir) */
        /* certificate revocation lists for partner certificates (RFC 5280
         * §5): a PEM file of CRLs and/or a folder of hashed CRLs (OpenSSL
         * c_rehash names, NAME.r0); NULL both: no revocation checking */
        char *crl_file;
        char *crl_path;
        bool require_client_certificate;
        config_tls_version_t tls_min_version;
    } external;

    struct {
        config_hostport_list_t listen; /* required, >= 1; IP literals, port given */
        config_transport_t transport;  /* default tls */
        char *certificate;             /* required when transport is tls */
        char *private_key;             /* required when transport is tls */
        char *ca_file;                 /* NULL: system store */
        /* required, >= 1, tried in order. An IP literal without a port gets
         * 5061 (tls) or 5060 (tcp); a DNS name without a port keeps port 0,
         * meaning "resolve by SRV (_sips._tcp / _sip._tcp), then A/AAAA". */
        config_hostport_list_t next_hop;
        /* the pool's name towards internal servers (needs edge.pool_fqdn;
         * differs from edge.fqdn and edge.pool_fqdn); NULL when not set */
        char *pool_name;
    } internal;

    struct {
        config_routing_t routing; /* default CONFIG_DEFAULT_ROUTING */
        /* required when routing is default-route; host NULL when not set;
         * port CONFIG_DEFAULT_FEDERATION_PORT when the text had none. */
        config_hostport_t default_route;
        /* how long a partner edge (SRV target) or next hop that failed is
         * left out of outbound routing; 0 = never skipped */
        uint32_t failed_target_skip_ms;
    } federation;

    struct {
        uint32_t max_message_size; /* bytes */
        uint32_t max_connections;
        uint32_t max_connections_per_ip; /* <= max_connections */
        uint32_t handshake_timeout_ms;
        uint32_t idle_timeout_ms;
        uint32_t max_queued_bytes;         /* per connection write queue */
        uint32_t max_connections_internal; /* internal side's own budget */
        uint32_t max_connections_outbound; /* fedge's own connections */
        uint32_t reserved_for_known;       /* < max_connections */
        uint32_t max_handshakes;           /* per side, unknown addresses */
        uint32_t handshake_rate;           /* per second per unknown address */
        uint32_t message_timeout_ms;       /* a started SIP message completes */
    } limits;

    struct {
        obs_level_t level;
        obs_format_t format;
        bool access; /* one info line per transaction; default off */
    } log;

    struct {
        config_hostport_list_t servers; /* IP literals; count 0: system resolver */
        uint32_t timeout_ms;            /* per try */
        uint32_t tries;
    } dns;

    struct {
        config_hostport_t listen; /* IP literal and port; default 127.0.0.1:8080 */
        char *certificate;        /* required when listen is not loopback */
        char *private_key;        /* idem */
    } admin;

    /* [remote]: absent when listen.count is 0 (remote users are then off
     * whatever the store says). */
    struct {
        /* IP literals; an item without a port gets CONFIG_DEFAULT_REMOTE_PORT.
         * Never the address and port of an [external] listener: partners
         * there must present a client certificate, remote clients do not. */
        config_hostport_list_t listen;
        /* The internal server that authenticates and registers users,
         * required with listen; tried in order, resolved like next_hop (an
         * IP literal without a port gets 5061 or 5060 by [internal]
         * transport; a name without a port keeps 0: SRV, then A/AAAA). */
        config_hostport_list_t registrar;
        uint32_t max_connections_per_ip; /* open client connections per address */
        uint32_t register_rate;          /* REGISTERs per minute per address */
        uint32_t lockout_user_failures;  /* registrar 401/403 per user in window */
        uint32_t lockout_addr_failures;  /* idem per client address */
        uint32_t lockout_window_ms;
        uint32_t lockout_period_ms; /* how long a lock-out lasts */
    } remote;
    struct {
        /* IP literals with ports, in order; count 0 when [media] is absent:
         * calls' media is then not relayed (docs/media.md). */
        config_hostport_list_t rtpengine;
        char *internal_interface; /* rtpengine interface names */
        char *external_interface;
        uint32_t timeout_ms; /* per relay asked */
        config_media_failure_t on_relay_failure;
        uint32_t max_calls;       /* new calls beyond it get 503 */
        uint32_t orphan_grace_ms; /* a call whose connection closed waits this long */
        config_media_transport_t internal_transport, external_transport;
    } media;

    /* The XMPP gateway (docs/xmpp.md): on when the file has an [xmpp]
     * section. certificate/private_key/ca_file NULL: [external]'s. */
    struct {
        bool enabled;
        config_hostport_list_t listen; /* required when enabled; IP literals */
        char *certificate;
        char *private_key;
        char *ca_file;
        uint32_t stanza_rate; /* per inbound stream and second (burst twice
                                 that); more closes the stream */
    } xmpp;
    struct {
        /* IP literal and port of the Prometheus endpoint; host NULL when
         * not set (no endpoint). */
        config_hostport_t listen;
    } metrics;

    /* Where each key was set, for messages about values found wrong later
     * (read it with config_key_line). */
    struct config_keyline *keylines;
    size_t keyline_count;
} config_t;

/* Loads and validates the INI file at path. On success returns 0 and sets
 * *out to a new config_t (free it with config_free). On failure returns
 * FEDGE_ECONFIG (bad content) or FEDGE_EIO (cannot read the file), leaves
 * *out NULL and puts into err->msg one line of the form
 *
 *     FILE:LINE: <what is wrong>; expected <what would be right>
 *
 * e.g. `edge.ini:12: [limits] idle_timeout = "ten"; expected a duration like
 * 30s, 5m or 500ms`. FILE is path as given. LINE is the line of the faulty
 * section header or key; for a missing key it is the line of its section
 * header, or the last line of the file when the section is missing too. Only
 * a file that cannot be read has no LINE (`FILE: cannot read: <reason>`).
 * Checked: syntax, unknown/duplicate sections and keys, every value's form
 * and range, then cross-field rules (required keys, files named must exist
 * and be readable, default_route with default-route routing, tls transport
 * needs certificate and key, non-loopback admin needs certificate and key,
 * max_connections_per_ip <= max_connections, a [media] section needs
 * rtpengine).
 * Not thread-safe with other inih users in the process (it sets inih's
 * line-buffer options for the duration of the call). */
int config_load(const char *path, config_t **out, fedge_err_t *err);

/* Frees c and everything it owns; c may be NULL. */
void config_free(config_t *c);

/* Line of the file on which [section] key was set, or 0 when the key was not
 * in the file (its default applies). Names are lowercase, as documented. */
int config_key_line(const config_t *c, const char *section, const char *key);

/* Name of a routing mode ("default-route", "dns-srv"), transport ("tls",
 * "tcp"), TLS version ("1.2", "1.3") and relay-failure choice ("refuse",
 * "forward"). */
const char *config_routing_name(config_routing_t r);
const char *config_transport_name(config_transport_t t);
const char *config_tls_version_name(config_tls_version_t v);
const char *config_media_failure_name(config_media_failure_t f);
/* "pass", "rtp" or "srtp". */
const char *config_media_transport_name(config_media_transport_t t);

/* Flags for config_parse_hostport. */
enum {
    CONFIG_HP_ALLOW_NAME = 1u << 0,   /* a DNS name may stand for the host */
    CONFIG_HP_REQUIRE_PORT = 1u << 1, /* the port must be written */
};

/* Parses one host[:port] from s[0..len): "192.0.2.1:5061", "[2001:db8::1]:5061",
 * "edge.contoso.com:5061", and without the port "192.0.2.1", "[::1]",
 * "edge.contoso.com" (an IPv6 literal must be bracketed when a port follows;
 * a bare IPv6 literal without brackets and without port is accepted).
 * Surrounding spaces are ignored. Ports are 1-65535. A name must be a valid
 * DNS name (see config_normalize_fqdn; a single label such as "localhost" is
 * allowed here) and is lowercased; an all-numeric name is refused. When no
 * port is written, out->port = default_port (may be 0).
 * On success returns 0 and fills *out (out->host newly allocated, free it
 * with config_hostport_free). On failure returns FEDGE_EINVAL with a short
 * reason in err (e.g. "port 70000 is out of range 1-65535"), *out untouched. */
int config_parse_hostport(const char *s, size_t len, unsigned flags, uint16_t default_port,
                          config_hostport_t *out, fedge_err_t *err);

/* Frees hp->host and sets it NULL; hp may be NULL. */
void config_hostport_free(config_hostport_t *hp);

/* Formats hp as host:port ("[v6]:port" for IPv6; just host when port is 0)
 * into buf (size n, truncating, always terminated). Returns buf. */
char *config_hostport_format(const config_hostport_t *hp, char *buf, size_t n);

/* True when hp is an IP literal in 127.0.0.0/8 or ::1. */
bool config_hostport_is_loopback(const config_hostport_t *hp);

/* Validates a domain name s[0..len) and writes it lowercased and NUL-
 * terminated into out (size >= CONFIG_FQDN_BUFSIZE). Rules: labels of 1-63
 * letters, digits or hyphens, not starting or ending with a hyphen; total at
 * most 253; one trailing dot is dropped; the last label is not all digits;
 * with min_labels 2 at least one dot is required (what FQDN-valued keys and
 * SIP domains use). Returns the length, or FEDGE_EINVAL with a short reason
 * in err (e.g. `label "-x" starts with a hyphen`). */
int config_normalize_fqdn(const char *s, size_t len, int min_labels, char *out, fedge_err_t *err);

/* Parses a duration: digits followed by ms, s, m or h, or plain digits
 * (seconds): "500ms", "30s", "5m", "1h", "10". Returns 0 and *out_ms, or
 * FEDGE_EINVAL (bad form, or more than 2^32-1 ms). */
int config_parse_duration(const char *s, uint32_t *out_ms);

/* Parses a size in bytes: digits with an optional binary suffix k/K (x1024)
 * or m/M (x1048576): "65536", "64k", "1M". Returns 0 and *out, or
 * FEDGE_EINVAL (bad form, or more than 2^32-1). */
int config_parse_size(const char *s, uint32_t *out);

/* Parses a boolean: yes/no, true/false, on/off, 1/0 (case-insensitive).
 * Returns 0 and *out, or FEDGE_EINVAL. */
int config_parse_bool(const char *s, bool *out);

#endif
