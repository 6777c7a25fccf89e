/* bencode.c — the encoding of rtpengine's ng protocol (BitTorrent's
 * bencode, BEP 3): a decoder into caller-given nodes and a bounded writer. */
#include "media/media.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *buf;
    size_t len, pos;
    media_ben_t *nodes;
    size_t max, used;
} dec_t;

/* Reads digits at d->pos up to the terminator term; no leading zeros (but
 * "0" itself), no more than 18 digits (fits int64). */
static int read_digits(dec_t *d, char term, uint64_t *out)
{
    size_t start = d->pos;
    uint64_t v = 0;
    while (d->pos < d->len && d->buf[d->pos] >= '0' && d->buf[d->pos] <= '9') {
        if (d->pos - start >= 18)
            return FEDGE_EINVAL;
        v = v * 10 + (uint64_t)(d->buf[d->pos] - '0');
        d->pos++;
    }
    size_t n = d->pos - start;
    if (n == 0 || (n > 1 && d->buf[start] == '0'))
        return FEDGE_EINVAL;
    if (d->pos >= d->len || d->buf[d->pos] != term)
        return FEDGE_EINVAL;
    d->pos++;
    *out = v;
    return 0;
}

static int read_string(dec_t *d, fedge_str_t *out)
{
    uint64_t n;
    int rc = read_digits(d, ':', &n);
    if (rc < 0)
        return rc;
    if (n > d->len - d->pos)
        return FEDGE_EINVAL;
    out->s = d->buf + d->pos;
    out->len = (size_t)n;
    d->pos += (size_t)n;
    return 0;
}

static int value(dec_t *d, int depth, media_ben_t **out)
{
    if (d->pos >= d->len)
        return FEDGE_EINVAL;
    if (d->used >= d->max)
        return FEDGE_ENOSPC;
    media_ben_t *n = &d->nodes[d->used++];
    memset(n, 0, sizeof(*n));
    size_t start = d->pos;
    char c = d->buf[d->pos];
    int rc;
    if (c >= '0' && c <= '9') {
        n->type = MEDIA_BEN_STR;
        rc = read_string(d, &n->str);
        if (rc < 0)
            return rc;
    } else if (c == 'i') {
        n->type = MEDIA_BEN_INT;
        d->pos++;
        bool neg = d->pos < d->len && d->buf[d->pos] == '-';
        if (neg)
            d->pos++;
        uint64_t v;
        rc = read_digits(d, 'e', &v);
        if (rc < 0 || (neg && v == 0))
            return FEDGE_EINVAL; /* "-0" is not an integer in bencode */
        n->num = neg ? -(int64_t)v : (int64_t)v;
        n->str = (fedge_str_t){d->buf + start, d->pos - start};
    } else if (c == 'l' || c == 'd') {
        if (depth >= MEDIA_BEN_MAX_DEPTH)
            return FEDGE_EINVAL;
        n->type = c == 'l' ? MEDIA_BEN_LIST : MEDIA_BEN_DICT;
        d->pos++;
        media_ben_t **tail = &n->child;
        for (;;) {
            if (d->pos >= d->len)
                return FEDGE_EINVAL;
            if (d->buf[d->pos] == 'e') {
                d->pos++;
                break;
            }
            fedge_str_t key = {NULL, 0};
            if (n->type == MEDIA_BEN_DICT) {
                char k = d->buf[d->pos];
                if (k < '0' || k > '9')
                    return FEDGE_EINVAL;
                rc = read_string(d, &key);
                if (rc < 0)
                    return rc;
            }
            media_ben_t *child;
            rc = value(d, depth + 1, &child);
            if (rc < 0)
                return rc;
            child->key = key;
            *tail = child;
            tail = &child->next;
            n->count++;
        }
        n->str = (fedge_str_t){d->buf + start, d->pos - start};
    } else {
        return FEDGE_EINVAL;
    }
    *out = n;
    return 0;
}

int media_ben_decode(const char *buf, size_t len, media_ben_t *nodes, size_t max_nodes,
                     media_ben_t **root)
{
    dec_t d = {buf, len, 0, nodes, max_nodes, 0};
    media_ben_t *r;
    int rc = value(&d, 0, &r);
    if (rc < 0)
        return rc;
    *root = r;
    return (int)d.pos;
}

const media_ben_t *media_ben_get(const media_ben_t *d, const char *key)
{
    if (!d || d->type != MEDIA_BEN_DICT)
        return NULL;
    for (const media_ben_t *c = d->child; c; c = c->next)
        if (fedge_str_eq(c->key, key))
            return c;
    return NULL;
}

fedge_str_t media_ben_get_str(const media_ben_t *d, const char *key)
{
    const media_ben_t *v = media_ben_get(d, key);
    if (!v || v->type != MEDIA_BEN_STR)
        return (fedge_str_t){"", 0};
    return v->str;
}

/* ---- writer ---- */

void media_benc_init(media_benc_t *b, char *buf, size_t cap)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->overflow = false;
}

static void put(media_benc_t *b, const char *s, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

void media_benc_str(media_benc_t *b, const char *s, size_t len)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%zu:", len);
    put(b, num, (size_t)n);
    put(b, s, len);
}

void media_benc_cstr(media_benc_t *b, const char *s)
{
    media_benc_str(b, s, strlen(s));
}

void media_benc_int(media_benc_t *b, int64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "i%llde", (long long)v);
    put(b, num, (size_t)n);
}

void media_benc_dict(media_benc_t *b)
{
    put(b, "d", 1);
}

void media_benc_list(media_benc_t *b)
{
    put(b, "l", 1);
}

void media_benc_end(media_benc_t *b)
{
    put(b, "e", 1);
}

int media_benc_finish(const media_benc_t *b)
{
    return b->overflow ? FEDGE_ENOSPC : (int)b->len;
}
