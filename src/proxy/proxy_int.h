/* proxy_int.h — internals shared by the files of src/proxy/ (not public):
 * the transaction and proxy state, the tables and timers (txn.c), the
 * message builders (build.c), the target iterator (targets.c) and the
 * outbound candidates (outbound.c). */
#ifndef FEDGE_PROXY_INT_H
#define FEDGE_PROXY_INT_H

#include "proxy/proxy.h"

#include "dns/dns.h"

/* Most Route values the proxy looks at in one request. */
#define PROXY__MAX_ROUTES 32

/* FNV-1a style, 64 bit, incremental, 8 bytes a step (host byte order: its
 * values are only compared within one process): the loop hash over several
 * fields, and tags (not a MAC). The server transaction table, whose keys a peer chooses,
 * uses fedge_hash; the client one proxy__branch_hash. */
uint64_t proxy__hash(uint64_t h, const void *data, size_t len);
#define PROXY__HASH_INIT 0xcbf29ce484222325ull

/* The client transaction table's hash of a branch of PROXY_BRANCH_LEN
 * bytes: its last 16 hex digits as a number. In the edge's own branches
 * they are a keyed SipHash output (proxy_branch_make), which the peers who
 * cause the transactions cannot steer, so no hash of the branch is needed;
 * a peer's response with another branch only looks in one bucket. */
uint64_t proxy__branch_hash(const char *branch);

/* Compares a host from a message (IPv6 with brackets) with a configured
 * one (IPv6 without), case-insensitively. */
bool proxy__host_eq(fedge_str_t msg_host, const char *cfg_host);

/* Writes host for a URI or Via (brackets around IPv6) into out; returns the
 * length written (out always NUL-terminated, truncating). */
size_t proxy__host_fmt(const char *host, char *out, size_t cap);

/* True when Via value v has the sent-by (host and port) of one of the
 * edge's interfaces, as the edge writes them into its own Via values. */
bool proxy__via_is_ours(const proxy_cfg_t *cfg, const sip_via_t *v);

/* Result of §16.4 route preprocessing on one request. */
typedef struct {
    unsigned nroutes;    /* Route values found (<= PROXY__MAX_ROUTES) */
    unsigned first_kept; /* values [0, first_kept) are ours: popped */
    bool strict;         /* R-URI was ours: replaced by the last value */
    unsigned end_kept;   /* values [first_kept, end_kept) stay */
    proxy_side_t popped_side;
    /* user part of the last popped entry that has one (a flow token the
     * edge wrote into a Path or Record-Route), or empty */
    fedge_str_t popped_user;
    const sip_uri_t *ruri; /* effective Request-URI */
    fedge_str_t ruri_str;
    const sip_uri_t *next_route; /* first kept value, or NULL */
    /* Last, and valid up to nroutes only: proxy__routes_prep zeroes the
     * fields above, not these (32 parsed name-addrs, about 12 KiB, whose
     * zeroing cost more than the rest of a request's routing). */
    fedge_str_t values[PROXY__MAX_ROUTES];
    unsigned hdr_of[PROXY__MAX_ROUTES]; /* header index of each value */
    sip_nameaddr_t na[PROXY__MAX_ROUTES];
} proxy__routes_t;

/* Parses the Route set of m and applies §16.4: strict-router Request-URI
 * restore, then pops the edge's own entries from the top. Returns 0, or
 * FEDGE_ESIP_ROUTE / FEDGE_ESIP_URI / FEDGE_ELIMIT (too many values). */
int proxy__routes_prep(const proxy_cfg_t *cfg, sip_msg_t *m, proxy__routes_t *r);

/* ------------------------------------------------------------------ */
/* Outbound target selection (outbound.c)                              */
/* ------------------------------------------------------------------ */

/* How an outbound request's targets are found. */
typedef enum {
    PROXY__OUT_SRV = 0,  /* federation: SRV _sipfederationtls._tcp.<domain>,
                            no A/AAAA fallback; certificate: PARTNER */
    PROXY__OUT_FQDN = 1, /* host:port (0: 5061) by A/AAAA; certificate:
                            names expect_peer (or host) */
    PROXY__OUT_HOP = 2,  /* internal next hop by name: SRV _sips._tcp (tls)
                            or _sip._tcp (tcp), then A/AAAA at 5061/5060 */
} proxy__out_kind_t;

/* One candidate: a target host, one of its addresses, the port. */
typedef struct {
    char host[PROXY_HOST_MAX];
    char addr[48];
    uint16_t port;
    bool multi;      /* the host has several addresses (named in notes) */
    bool no_address; /* the address look-up failed: addr is the reason */
} proxy__cand_t;

/* How long (in T1) a DNS target gets to send any response while other
 * targets are left: 16 x 500 ms = 8 s, then the next one is tried. */
#define PROXY__ATTEMPT_T1 16u

/* Most candidates kept for one request (targets x addresses). */
#define PROXY__OUT_MAX_CANDS 128

/* One resolved target as kept for the route cache: SRV fields and up to
 * PROXY__RT_ADDRS addresses (or why it has none). */
#define PROXY__RT_ADDRS 4
typedef struct {
    char host[PROXY_HOST_MAX];
    uint16_t port, priority, weight;
    bool ok;
    char why[24];
    unsigned naddrs;
    char addrs[PROXY__RT_ADDRS][48];
} proxy__rtarget_t;

/* The outbound state of one request: its route, the resolved candidates
 * in order, the one in use and the record of what failed and why. */
typedef struct proxy__out {
    proxy__out_kind_t kind;
    bool tls;
    char domain[PROXY_HOST_MAX]; /* D, or the next hop's name */
    char host[PROXY_HOST_MAX];   /* FQDN: the server */
    uint16_t port;
    char expect_peer[PROXY_HOST_MAX];
    int state; /* 0 not resolved, 1 resolving, 2 resolved */
    dns_req_t *req;
    void (*done)(void *arg);
    void *arg;
    char dns_fail[640];   /* resolution failed: why ("" when it did not) */
    proxy__rtarget_t *rt; /* the targets as resolved, in the order used */
    size_t nrt;
    uint32_t ttl; /* seconds the resolution stays valid */
    proxy__cand_t *cands;
    size_t ncands, next;
    const proxy__cand_t *cur; /* being tried */
    proxy_expect_t expect;    /* what cur's certificate must name */
    char notes[1024];         /* "host:port why; ..." */
    size_t notes_len;
    unsigned ndropped; /* notes that did not fit */
} proxy__out_t;

/* A new outbound state (free with proxy__out_free). domain: D for SRV, the
 * next hop's name for HOP, and for FQDN the domain for messages; host/port
 * for FQDN; expect_peer "" or NULL for the kind's rule. */
proxy__out_t *proxy__out_new(proxy__out_kind_t kind, bool tls, const char *domain, const char *host,
                             uint16_t port, const char *expect_peer);

/* Cancels a look-up in flight and frees ob (NULL: no-op). */
void proxy__out_free(proxy__out_t *ob);

/* Cancels a look-up in flight (done will not be called). */
void proxy__out_cancel(proxy__out_t *ob);

/* Starts resolving ob's targets with dns; done(arg) is called from the
 * loop when they are known (ob->state 2, ob->dns_fail set on failure).
 * Returns 0, or a negative code (ob->state 2 with dns_fail set: nothing
 * will be called). dns NULL fails with "no resolver". */
int proxy__out_resolve(proxy__out_t *ob, dns_t *dns, void (*done)(void *arg), void *arg);

/* Sets ob's candidates from a route result (what proxy__out_resolve does
 * on its answer; exposed for tests). */
void proxy__out_set_route(proxy__out_t *ob, const dns_route_result_t *res);

/* Route cache: resolved targets by route (kind, domain, host, port), kept
 * for their DNS TTL, so that the hot path does no DNS work at all (not
 * even an asynchronous cache hit); each hit is a fresh RFC 2782 draw.
 * Direct-mapped (a colliding route replaces the older one). */
#define PROXY__RCACHE_SLOTS 1024
typedef struct {
    char key[PROXY_HOST_MAX * 2 + 16];
    uint64_t until;
    proxy__rtarget_t *t;
    size_t n;
} proxy__rcache_ent_t;

typedef struct {
    proxy__rcache_ent_t *slot; /* PROXY__RCACHE_SLOTS, allocated on first use */
    uint64_t rng;
    uint64_t hits, misses;
} proxy__rcache_t;

/* Remembers ob's resolution (when it succeeded and has a TTL; at most 5 s
 * when a target had no address) at now. */
void proxy__rcache_put(proxy__rcache_t *c, const proxy__out_t *ob, uint64_t now);
/* When ob's route is cached and fresh at now, gives ob its candidates (a
 * new weighted draw), sets ob->state 2 and returns true. */
bool proxy__rcache_get(proxy__rcache_t *c, proxy__out_t *ob, uint64_t now);
void proxy__rcache_free(proxy__rcache_t *c);

/* Failed-target memory: a target that failed is left out of routing for a
 * while. Keyed by "host:port/addr". */
typedef struct {
    char key[PROXY_HOST_MAX + 64];
    uint64_t since, until;
    char why[160];
} proxy__skip_ent_t;

typedef struct {
    proxy__skip_ent_t *e;
    size_t n, cap;
} proxy__skip_t;

#define PROXY__SKIP_MAX 4096

/* Remembers key as failed at now for ms (0: not at all) with why. When
 * full, the entry that ends first is replaced. */
void proxy__skip_add(proxy__skip_t *s, const char *key, uint64_t now, unsigned ms, const char *why);
/* The live entry for key at now, or NULL (expired entries are dropped). */
const proxy__skip_ent_t *proxy__skip_find(proxy__skip_t *s, const char *key, uint64_t now);
void proxy__skip_free(proxy__skip_t *s);

/* Writes the skip key of c into out. */
void proxy__cand_key(const proxy__cand_t *c, char *out, size_t cap);

/* The next candidate to try, skipping (and noting) those in the skip
 * table; fills ob->expect for it and sets ob->cur. NULL when none is
 * left (ob->cur NULL). */
const proxy__cand_t *proxy__out_next(proxy__out_t *ob, proxy__skip_t *s, uint64_t now);

/* Records that ob->cur failed (why) in the notes and in the skip table
 * for skip_ms. */
void proxy__out_fail(proxy__out_t *ob, proxy__skip_t *s, uint64_t now, unsigned skip_ms,
                     const char *why);

/* Appends "host:port why" (or "host:port (addr) why") to the notes. */
void proxy__out_note(proxy__out_t *ob, const proxy__cand_t *c, const char *why);

/* The Warning text when every target failed: "no usable edge for D: " and
 * the notes (or why resolution failed), cut with "; ..." to fit cap. */
void proxy__out_warning(const proxy__out_t *ob, char *out, size_t cap);

/* ------------------------------------------------------------------ */
/* Transactions and the proxy's state                                  */
/* ------------------------------------------------------------------ */

typedef enum {
    PROXY__T_PROCEEDING = 0, /* waiting for a final response from downstream */
    PROXY__T_COMPLETED,      /* INVITE: non-2xx final sent upstream, awaiting ACK */
    PROXY__T_ACCEPTED,       /* INVITE: 2xx sent upstream (RFC 6026), more 2xx pass */
} proxy__tstate_t;

typedef enum {
    PROXY__TM_NONE = 0,
    PROXY__TM_NO_FINAL,     /* Timer B (INVITE, nothing yet) / Timer F (non-INVITE) */
    PROXY__TM_C,            /* INVITE after a provisional: cancel */
    PROXY__TM_CANCEL_GUARD, /* after our CANCEL: give up waiting for the final */
    PROXY__TM_WAIT_ACK,     /* Timer H */
    PROXY__TM_LINGER,       /* Timer L (accepted) */
    PROXY__TM_POLICY,       /* parked for the policy hook's verdict */
    PROXY__TM_ATTEMPT,      /* a DNS target with others left: no response yet */
    PROXY__TM_MEDIA,        /* held for the media hook (proxy_media_resume) */
} proxy__tmkind_t;

/* The tables a transaction is linked in: by server key (every one), by the
 * branch of its client side (once forwarded), by ticket (parked). */
enum { PROXY__BY_KEY = 0, PROXY__BY_BRANCH = 1, PROXY__BY_TICKET = 2, PROXY__NTABS = 3 };

/* Where a transaction's targets come from (targets.c). */
typedef enum {
    PROXY__TGT_NEXT_HOPS = PROXY_TARGET_NEXT_HOPS,
    PROXY__TGT_DEFAULT_ROUTE = PROXY_TARGET_DEFAULT_ROUTE,
    PROXY__TGT_HOST = PROXY_TARGET_HOST,
    PROXY__TGT_REGISTRAR = PROXY_TARGET_REGISTRAR,
} proxy__tgt_kind_t;

typedef struct proxy__txn {
    fedge_map_node_t node[PROXY__NTABS]; /* in p->tab[w] when linked[w] */
    bool linked[PROXY__NTABS];
    uint8_t pool_class; /* its block's size class in p's pool, 0: none */
    char *skey;
    size_t skey_len;
    uint64_t skey_hash; /* fedge_hash of skey, computed once */
    char branch[PROXY_BRANCH_LEN + 1];

    bool invite;
    proxy__tstate_t state;
    proxy_side_t in_side, out_side;
    proxy_conn_t *in_conn, *out_conn;
    char *req; /* the request as received (a copy in t's own block, as skey) */
    size_t req_len;
    char *fwd; /* INVITE: the request as forwarded (for CANCEL/ACK) */
    size_t fwd_len;
    char *resp; /* last response sent upstream */
    size_t resp_len;
    int resp_status;
    char up_host[PROXY_HOST_MAX]; /* where responses go when in_conn is gone */
    uint16_t up_port;
    char remote[64];      /* the upstream peer, for logs */
    proxy_edits_t *edits; /* the verdict's edits (NULL: none) */

    /* the target iterator (targets.c) */
    proxy_target_t target;
    unsigned hop;
    /* targets found by DNS (dns-srv federation, next hop by name):
     * outbound.c's state for the current route, or NULL */
    struct proxy__out *ob;
    unsigned attempts; /* client transactions started (one branch each) */
    struct proxy *owner;
    /* in-dialog towards the inside: an existing connection to this
     * host:port (the remote target or the next Route) is tried first */
    char pref_host[PROXY_HOST_MAX];
    uint16_t pref_port;
    bool pref_tried, on_pref;
    proxy_hostport_t route; /* PROXY_TARGET_HOST */
    bool policy_srv;        /* the policy routes it by SRV (dns-srv) */
    bool route_reuse;       /* route only over an existing connection (a flow) */
    bool in_client;         /* it came over a remote user's connection */
    bool to_client;         /* it goes out on a remote user's flow (verdict reuse) */
    bool no_media;          /* the media hook is not called for it (admit) */
    char *rr_user;          /* the verdict's Record-Route user part (NULL: none) */

    bool got_response, got_provisional;
    bool cancel_pending, cancel_sent, cancelled_upstream;
    char to_tag[20]; /* "" until the edge answers itself (txn_tag) */

    /* UDP (RFC 3261 §17): the server side (in_conn) or the client side
     * (out_conn) carries datagrams; one retransmission timer at a time
     * (Timer A/E for the request or CANCEL sent, Timer G for a non-2xx
     * final sent upstream), in p->rheap */
    bool in_udp, out_udp, acked, cancel_answered;
    unsigned rtx_iv;
    uint64_t rtx_at;
    size_t rtx_idx; /* SIZE_MAX when not in p->rheap */

    proxy__tmkind_t timer;
    uint64_t deadline;
    size_t heap_idx; /* SIZE_MAX when not in the heap */

    bool dead;
    struct proxy__txn *dead_next;

    /* policy: parked until proxy_policy_resume (in the ticket table) */
    bool parked, result_told;
    uint64_t ticket, result_cookie;
    /* media: parked for the media hook (with parked), the body it gave
     * for the forwarded request, responses held (proxy.c) */
    bool media_parked, has_body, kill_when_flushed;
    char *body;
    size_t body_len;
    unsigned held;

    /* metrics.c: when it came in and was first forwarded (proxy__now,
     * fwd_ms + 1 so that 0 is "not forwarded"); final status accounted */
    uint64_t started_ms, fwd_ms;
    bool final_told;
} proxy__txn_t;

#define PROXY__MAX_TXNS 65536 /* beyond this, new requests get 503 */

/* The pool of transaction blocks: classes of 512 bytes up to 4096 (a
 * transaction, its key and a request without a large body), 16 kept per
 * class. Off under AddressSanitizer, which then sees every block's life. */
#define PROXY__POOL_UNIT 512
#define PROXY__POOL_CLASSES 8
#define PROXY__POOL_KEEP 16
#if defined(__SANITIZE_ADDRESS__)
#define PROXY__POOLING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROXY__POOLING 0
#endif
#endif
#ifndef PROXY__POOLING
#define PROXY__POOLING 1
#endif

/* An interface's lines, made once from the configuration
 * (proxy__lines_init): the forwarded request's Via up to its branch
 * ("Via: SIP/2.0/TLS host:port;branch=") and its plain Record-Route line;
 * a length of 0 when one did not fit (then it is built each time). */
typedef struct {
    char via[PROXY_HOST_MAX + 64], rr[PROXY_HOST_MAX + 64];
    size_t via_len, rr_len;
} proxy__lines_t;

struct proxy {
    bool access_log; /* [log] access (metrics.c) */
    proxy_cfg_t cfg;
    proxy_io_t io;
    dns_t *dns;             /* for outbound.c (not owned) */
    proxy__skip_t skip;     /* outbound targets that failed recently */
    proxy__rcache_t rcache; /* resolved outbound routes, by TTL */
    proxy_policy_fn policy;
    void *policy_user;
    proxy_untrusted_fn untrusted; /* proxy_set_untrusted */
    void *untrusted_user;
    proxy_result_fn result;
    void *result_user;
    proxy_media_fn media;
    void *media_user;
    struct proxy__held *held, **held_tail; /* responses and ACKs held, in order */
    uint64_t tickets;
    sip_limits_t limits;
    uint64_t secret;
    uint64_t tag_counter;

    fedge_map_t tab[PROXY__NTABS]; /* keyed hashes: a peer chooses the keys */
    proxy__txn_t **heap;
    size_t heap_len, heap_cap;
    proxy__txn_t **rheap; /* retransmission timers (UDP) */
    size_t rheap_len, rheap_cap;
    proxy__txn_t *dead;
    unsigned depth;

    sip_msg_t *msg;                 /* the message being handled */
    sip_msg_t *tmsg;                /* a stored request re-parsed */
    proxy__routes_t *rp, *rp_retry; /* Route sets of p->msg and p->tmsg */
    size_t pending;                 /* transactions still waiting for a final response */
    char *out;                      /* output scratch */
    size_t out_cap;
    char *text; /* edit texts scratch */
    size_t text_cap;
    proxy__lines_t lines[2]; /* [0] external, [1] internal */
    /* freed transaction blocks (by size class of PROXY__POOL_UNIT bytes)
     * and edits, kept for the next ones: most are bigger than what
     * malloc serves from its fast per-thread cache */
    void *pool[PROXY__POOL_CLASSES][PROXY__POOL_KEEP];
    unsigned npool[PROXY__POOL_CLASSES];
    proxy_edits_t *epool[PROXY__POOL_KEEP];
    unsigned nepool;
    proxy_stats_t st;
    const char *cur_remote; /* the peer of the message being handled, for logs */
    proxy_side_t cur_side;
};

/* Fills p->lines from p->cfg. */
void proxy__lines_init(proxy_t *p);

/* ---- txn.c: tables, timers, lifetime ---- */

uint64_t proxy__now(proxy_t *p);
/* Links t in table w under its key there (server key, branch, ticket). */
void proxy__tab_add(proxy_t *p, int w, proxy__txn_t *t);
void proxy__tab_del(proxy_t *p, int w, proxy__txn_t *t);
/* Also sets *hash to the key's hash, for proxy__txn_new: one hash per
 * request. */
proxy__txn_t *proxy__find_server(proxy_t *p, const char *key, size_t len, uint64_t *hash);
proxy__txn_t *proxy__find_client(proxy_t *p, fedge_str_t branch);
proxy__txn_t *proxy__find_parked(proxy_t *p, uint64_t ticket);
void proxy__timer_start(proxy_t *p, proxy__txn_t *t, proxy__tmkind_t kind, uint64_t ms);
void proxy__timer_stop(proxy_t *p, proxy__txn_t *t);
/* t's retransmission timer (UDP): next one ms from now (t->rtx_iv is the
 * caller's), or none. */
void proxy__rtx_start(proxy_t *p, proxy__txn_t *t, uint64_t ms);
void proxy__rtx_stop(proxy_t *p, proxy__txn_t *t);
/* The transaction whose retransmission is due at now, taken off the
 * retransmission heap, or NULL. */
proxy__txn_t *proxy__rtx_due(proxy_t *p, uint64_t now);
/* A new server transaction for request m (copied) received on c, under
 * key (key_hash: as proxy__find_server gave it). */
proxy__txn_t *proxy__txn_new(proxy_t *p, proxy_conn_t *c, const proxy_peer_t *peer, sip_msg_t *m,
                             const char *key, size_t key_len, uint64_t key_hash);
/* Parks t under a new ticket (proxy__find_parked) / takes it out. */
void proxy__park(proxy_t *p, proxy__txn_t *t);
void proxy__unpark(proxy_t *p, proxy__txn_t *t);
/* Edits for a transaction, from p's pool or new (contents unspecified);
 * proxy__txn_free gives them back. */
proxy_edits_t *proxy__edits_new(proxy_t *p);
/* Frees the pool's blocks (proxy_free, after the transactions). */
void proxy__pool_free(proxy_t *p);
/* Unlinks t now; frees it when the outermost entry point returns
 * (proxy__reap with depth 0). */
void proxy__txn_kill(proxy_t *p, proxy__txn_t *t);
void proxy__txn_free(proxy__txn_t *t);
void proxy__reap(proxy_t *p);
/* Every live transaction (server key table), in no order; n set. The
 * array is to be freed by the caller. */
proxy__txn_t **proxy__txn_list(proxy_t *p, size_t *n);

/* ---- build.c: messages the proxy prints ---- */

/* sip_parse with the proxy's limits (counted in st.parses). */
int proxy__parse(proxy_t *p, const char *buf, size_t len, sip_msg_t *m);
/* sip_print, counted in st.prints. */
int proxy__print(proxy_t *p, const sip_msg_t *m, const fedge_str_t *start, const sip_edit_t *ed,
                 unsigned ne, size_t *out_len);
/* Parses a stored copy into p->tmsg (and checks it), or NULL. */
sip_msg_t *proxy__reparse(proxy_t *p, const char *buf, size_t len);
const proxy_iface_t *proxy__iface(const proxy_t *p, proxy_side_t s);
void proxy__make_tag(proxy_t *p, char *out /* >= 17 */);
/* NUL-terminated copy of a slice for logs (truncating). */
const char *proxy__cstr(fedge_str_t s, char *buf, size_t cap);
/* host of a URI or Via without IPv6 brackets, into out. */
void proxy__unbracket(fedge_str_t h, char *out, size_t cap);
/* Header lines of a response the edge generates: more (may be NULL), and
 * a Warning with reason when code >= 300. Returns the length. */
size_t proxy__gen_extra(proxy_t *p, int code, const char *reason, const char *more, char *buf,
                        size_t cap);
/* A 400 for request m from its readable Via/From/To/Call-ID/CSeq lines,
 * when sip_build_response cannot make one. */
int proxy__build_400(proxy_t *p, sip_msg_t *m, const char *why, size_t *out_len);
bool proxy__wants_record_route(sip_msg_t *m);
/* Prints the forwarded copy of m (RFC 3261 §16.6) into p->out. udp_src:
 * the "ip:port" m came from over UDP (NULL: not UDP): its top Via gets
 * received and, when it asked, rport (RFC 3581 §4). via_tcp: our Via says
 * TCP on a UDP side (a request too large for UDP, §18.1.1). in_client:
 * m came from a remote user's client, whose Record-Route entry names the
 * [remote] listener (cfg client); to_client: m goes out on a remote
 * user's flow, and the Record-Route entry of out_side names the [remote]
 * listener instead; rr_user (NULL: none): the user part of the entry
 * facing the client — of in_side, or of out_side with to_client (a flow
 * token, RFC 5626 §5.3). */
int proxy__build_forward(proxy_t *p, sip_msg_t *m, const proxy__routes_t *r, proxy_side_t in_side,
                         proxy_side_t out_side, const char *branch, bool rr, bool in_client,
                         bool to_client, const char *rr_user, const proxy_edits_t *edits,
                         const fedge_str_t *body, const char *udp_src, bool via_tcp,
                         size_t *out_len);
/* A CANCEL (resp NULL) or the ACK for non-2xx resp, from t's forwarded
 * INVITE, into p->out. */
int proxy__build_cancel_ack(proxy_t *p, proxy__txn_t *t, sip_msg_t *resp, size_t *out_len);

/* ---- targets.c: where a request goes next ---- */

/* The next attempt of a transaction. */
typedef struct {
    proxy_dest_t d;
    proxy_expect_t x; /* d.expect points here or into the DNS state */
    bool more;        /* DNS targets remain: a short attempt timer */
    const char *name; /* target name, for logs */
} proxy__hop_t;

/* Remembers uri's host:port as the preferred (existing-connection) target. */
void proxy__tgt_prefer(proxy__txn_t *t, const sip_uri_t *u);
/* The destination of the next attempt of t (m/r: its request parsed):
 * 1 with *h filled; 0 while DNS resolves (proxy__forward is called again
 * when it is done); negative when none is left: *status and the Warning
 * text in why, for the caller's answer. */
int proxy__tgt_next(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, const proxy__routes_t *r,
                    proxy__hop_t *h, int *status, char *why, size_t cap);
/* The current target of t failed (why): recorded (the DNS notes and skip
 * table). Returns true when another target may be tried (the next
 * proxy__tgt_next says which), false when t must be answered. */
bool proxy__tgt_fail(proxy_t *p, proxy__txn_t *t, const char *why);
/* The name of t's current target, for logs. */
const char *proxy__tgt_name(proxy_t *p, const proxy__txn_t *t);
/* Where a request routed to target goes when no transaction keeps it
 * (ACK): the first next hop or the default route, with expect into x. */
void proxy__tgt_static(proxy_t *p, proxy_target_t target, proxy_side_t side, proxy_dest_t *d,
                       proxy_expect_t *x);

/* ---- proxy.c ---- */

/* Sends t's request to its next target (m/r: parsed, or NULL to re-parse
 * the stored copy), failing over while targets remain. */
void proxy__forward(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, proxy__routes_t *r);
/* The edge answers t's request itself (req: parsed, or NULL). */
void proxy__txn_reply(proxy_t *p, proxy__txn_t *t, sip_msg_t *req, int code, const char *reason,
                      const char *more);

/* ---- metrics.c: forwarding latency and the access log ---- */

/* t is being forwarded (its first attempt; later ones are ignored). */
void proxy__started(proxy_t *p, proxy__txn_t *t);
/* t's final status (>= 200) goes upstream, relayed (m the response) or the
 * edge's own (m the request, reason its Warning text): observes the
 * forwarding latency and writes the access log line, once per t. */
void proxy__final(proxy_t *p, proxy__txn_t *t, sip_msg_t *m, int status, const char *reason);

#endif
