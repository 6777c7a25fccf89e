/* flow.h — SIP Outbound flow tokens of remote users' connections (RFC 5626
 * §5.2): the token that the edge puts in the user part of the Path URI
 * (RFC 3327) it adds to a remote client's REGISTER, so that a request the
 * registrar later sends for that user, routed back through the edge, names
 * the client's connection. Private to src/edge.
 *
 * A token carries the connection's number and an HMAC-SHA256 of it under a
 * key drawn at start (RFC 5626 §5.2: "the token is protected so that it
 * cannot be forged or tampered with"); a token from a previous process, or
 * one an outsider made up, does not verify. Pure apart from the random key
 * (OpenSSL RAND_bytes); no allocation. */
#ifndef FEDGE_EDGE_FLOW_H
#define FEDGE_EDGE_FLOW_H

#include "base/base.h"

#include <stdint.h>

struct sip_msg;

#define EDGE__FLOW_KEY_LEN 32
/* Token length: base64url of 8 bytes of connection number and 12 of MAC,
 * no padding — 27 characters of [A-Za-z0-9_-], all valid in a SIP URI user
 * part (RFC 3261 §25.1 unreserved). */
#define EDGE__FLOW_TOKEN_LEN 27

typedef struct {
    uint8_t key[EDGE__FLOW_KEY_LEN];
} edge__flow_key_t;

/* Draws a fresh key. Returns 0, or FEDGE_EIO with a message when the
 * system has no random bytes to give. */
int edge__flow_key_init(edge__flow_key_t *k, fedge_err_t *err);

/* Writes the token of connection number conn_id into out (cap >
 * EDGE__FLOW_TOKEN_LEN; NUL-terminated). Returns the length, or
 * FEDGE_ENOSPC. */
int edge__flow_token(const edge__flow_key_t *k, uint64_t conn_id, char *out, size_t cap);

/* Reads a token (the user part of a Route URI, any bytes): 0 and
 * *conn_id when it is one of ours, FEDGE_EINVAL when it is not (wrong
 * length, alphabet or MAC — compared in constant time). */
int edge__flow_parse(const edge__flow_key_t *k, fedge_str_t token, uint64_t *conn_id);

/* Writes the Path header value naming the edge for a remote client's
 * REGISTER (RFC 3327 §4, RFC 5626 §5.1: ";ob" when the client asked for
 * outbound): "<sip:TOKEN@HOST:PORT;transport=TRANSPORT;lr[;ob]>" (HOST an
 * IPv6 literal in brackets). HOST, PORT and TRANSPORT are those of the
 * edge's internal interface: the registrar sends the user's requests there.
 * Returns the length or FEDGE_ENOSPC. */
/* The flow named by this edge's own Record-Route entry in m: the first
 * Record-Route value whose URI user part is a token of ours
 * (edge__flow_parse — the HMAC is checked, so an entry a peer wrote
 * itself, or a token from before a restart, does not count). The edge puts
 * such an entry in a remote client's dialog-creating request on its first
 * crossing (src/proxy/build.c, record-routing with
 * proxy_policy_verdict_t.rr_user), so the request's second crossing, back
 * from the internal server, carries it. Returns 1 and *conn_id; 0 when no
 * entry is ours or a Record-Route value does not parse. Pure. */
int edge__flow_in_record_route(const edge__flow_key_t *k, const struct sip_msg *m,
                               uint64_t *conn_id);

int edge__flow_path(const edge__flow_key_t *k, uint64_t conn_id, const char *host, uint16_t port,
                    const char *transport, bool ob, char *out, size_t cap);

#endif
