/* srtp_tool.c — SRTP with libsrtp for the end-to-end tests of RTP <-> SRTP
 * bridging (tests/e2e/122-media-cleanup.sh): protects or unprotects RTP
 * packets given in hex with an SDES key (RFC 4568 inline key, base64,
 * suite AES_CM_128_HMAC_SHA1_80), so that a test checks what the relay
 * sends with a real SRTP implementation rather than by the packets' shape.
 *
 *   srtp_tool unprotect KEY HEX...  one line per packet: the payload (after
 *                                   the 12-byte RTP header) in hex
 *   srtp_tool protect KEY HEX...    one line per packet: the SRTP packet
 *
 * Exits 1 at the first packet libsrtp refuses (authentication fails). */
#include <openssl/evp.h>
#include <stdbool.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PKT 2048

static int unhex(const char *h, unsigned char *out, size_t cap)
{
    size_t n = strlen(h);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (int)(n / 2);
}

static void puthex(const unsigned char *p, int n)
{
    for (int i = 0; i < n; i++)
        printf("%02x", p[i]);
    putchar('\n');
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "protect") && strcmp(argv[1], "unprotect"))) {
        fprintf(stderr, "usage: srtp_tool protect|unprotect KEY HEX...\n");
        return 2;
    }
    bool protect = !strcmp(argv[1], "protect");
    unsigned char key[64];
    int klen = EVP_DecodeBlock(key, (const unsigned char *)argv[2], (int)strlen(argv[2]));
    /* EVP_DecodeBlock counts the bytes of base64 padding as zeros */
    if (klen < SRTP_AES_ICM_128_KEY_LEN_WSALT) {
        fprintf(stderr, "srtp_tool: key is %d bytes, need %d\n", klen,
                SRTP_AES_ICM_128_KEY_LEN_WSALT);
        return 2;
    }
    if (srtp_init() != srtp_err_status_ok) {
        fprintf(stderr, "srtp_tool: srtp_init failed\n");
        return 2;
    }
    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    srtp_crypto_policy_set_rtp_default(&pol.rtp); /* AES_CM_128_HMAC_SHA1_80 */
    srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    pol.ssrc.type = protect ? ssrc_any_outbound : ssrc_any_inbound;
    pol.key = key;
    pol.window_size = 128;
    srtp_t s;
    if (srtp_create(&s, &pol) != srtp_err_status_ok) {
        fprintf(stderr, "srtp_tool: srtp_create failed\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        unsigned char pkt[MAX_PKT + SRTP_MAX_TRAILER_LEN];
        int len = unhex(argv[i], pkt, MAX_PKT);
        if (len < 12) {
            fprintf(stderr, "srtp_tool: packet %d: not an RTP packet in hex\n", i - 2);
            return 2;
        }
        srtp_err_status_t st = protect ? srtp_protect(s, pkt, &len) : srtp_unprotect(s, pkt, &len);
        if (st != srtp_err_status_ok) {
            fprintf(stderr, "srtp_tool: packet %d: libsrtp error %d\n", i - 2, (int)st);
            return 1;
        }
        if (protect)
            puthex(pkt, len);
        else
            puthex(pkt + 12, len - 12);
    }
    srtp_dealloc(s);
    srtp_shutdown();
    return 0;
}
