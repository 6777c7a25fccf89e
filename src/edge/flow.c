/* flow.c — flow tokens (RFC 5626 §5.2) of remote users' connections and
 * the Path header value (RFC 3327) that carries them: encode, verify,
 * format. */
#include "edge/flow.h"
#include "sip/sip.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define ID_LEN 8
#define MAC_LEN 12 /* 96 bits of HMAC-SHA256, as RFC 2104 §5 allows */
#define RAW_LEN (ID_LEN + MAC_LEN)

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int edge__flow_key_init(edge__flow_key_t *k, fedge_err_t *err)
{
    if (RAND_bytes(k->key, sizeof(k->key)) != 1)
        return fedge_err(err, FEDGE_EIO, "no random bytes for the flow-token key (RAND_bytes)");
    return 0;
}

static void mac(const edge__flow_key_t *k, const uint8_t id[ID_LEN], uint8_t out[MAC_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    HMAC(EVP_sha256(), k->key, (int)sizeof(k->key), id, ID_LEN, md, &mdlen);
    memcpy(out, md, MAC_LEN);
}

int edge__flow_token(const edge__flow_key_t *k, uint64_t conn_id, char *out, size_t cap)
{
    if (cap <= EDGE__FLOW_TOKEN_LEN)
        return FEDGE_ENOSPC;
    uint8_t raw[RAW_LEN];
    for (int i = 0; i < ID_LEN; i++)
        raw[i] = (uint8_t)(conn_id >> (56 - 8 * i));
    mac(k, raw, raw + ID_LEN);
    /* base64url without padding: 20 bytes → 27 characters. */
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < RAW_LEN; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = b64[(acc << (6 - bits)) & 63];
    out[o] = 0;
    return (int)o;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int edge__flow_parse(const edge__flow_key_t *k, fedge_str_t token, uint64_t *conn_id)
{
    if (!token.s || token.len != EDGE__FLOW_TOKEN_LEN)
        return FEDGE_EINVAL;
    uint8_t raw[RAW_LEN + 1];
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < token.len; i++) {
        int v = b64_value(token.s[i]);
        if (v < 0)
            return FEDGE_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* The 4 bits left over must be zero: one spelling per token. */
    if (o != RAW_LEN || (acc & ((1u << bits) - 1)))
        return FEDGE_EINVAL;
    uint8_t want[MAC_LEN];
    mac(k, raw, want);
    if (CRYPTO_memcmp(want, raw + ID_LEN, MAC_LEN))
        return FEDGE_EINVAL;
    uint64_t id = 0;
    for (int i = 0; i < ID_LEN; i++)
        id = (id << 8) | raw[i];
    *conn_id = id;
    return 0;
}

int edge__flow_path(const edge__flow_key_t *k, uint64_t conn_id, const char *host, uint16_t port,
                    const char *transport, bool ob, char *out, size_t cap)
{
    char tok[EDGE__FLOW_TOKEN_LEN + 1];
    edge__flow_token(k, conn_id, tok, sizeof(tok));
    bool v6 = strchr(host, ':') && host[0] != '[';
    int n = snprintf(out, cap, "<sip:%s@%s%s%s:%u;transport=%s;lr%s>", tok, v6 ? "[" : "", host,
                     v6 ? "]" : "", (unsigned)port, transport, ob ? ";ob" : "");
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = 0;
        return FEDGE_ENOSPC;
    }
    return n;
}

int edge__flow_in_record_route(const edge__flow_key_t *k, const sip_msg_t *m, uint64_t *conn_id)
{
    sip_iter_t it;
    sip_iter_init(&it, m, SIP_HDR_RECORD_ROUTE);
    sip_nameaddr_t na;
    int rc;
    while ((rc = sip_iter_nameaddr(&it, &na, NULL)) == 1)
        if (na.uri.user.len == EDGE__FLOW_TOKEN_LEN &&
            edge__flow_parse(k, na.uri.user, conn_id) == 0)
            return 1;
    return 0;
}
