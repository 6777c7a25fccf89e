/* stream.c — the XMPP stream parser: expat in namespace mode, restricted to
 * the XML RFC 6120 §11 allows, bounded in bytes per stanza, in depth and in
 * tree memory, building one small tree per top-level element. */
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmpp/xmpp.h"

/* expat joins a namespace URI and a local name with this byte; neither
 * may contain a space. */
#define NS_SEP ' '

/* Per-stanza arena: a list of chunks, released at once after each
 * top-level element. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

struct xmpp_parser {
    XML_Parser x;
    xmpp_limits_t lim;
    xmpp_parser_cbs_t cbs;
    void *user;
    struct chunk *arena;
    size_t arena_bytes, arena_cap;
    unsigned depth; /* 0 before the header, 1 in the stream, 2+ in a stanza */
    bool opened, failed, paused;
    int err;
    size_t fed;        /* bytes given to this expat parser */
    size_t boundary;   /* where the current stanza (or the header) began */
    size_t stop_at;    /* after a pause: the end of the pausing element */
    size_t last_event; /* end of the last event expat reported */
    xmpp_node_t *cur;
    char *content_ns; /* default namespace declared on the header */
    char *pending_ns; /* seen by the namespace handler before the header */
    char cond[32];
    char reason[200];
};

/* ------------------------------------------------------------------ */
/* Tree access                                                         */
/* ------------------------------------------------------------------ */

const char *xmpp_attr(const xmpp_node_t *n, const char *name)
{
    for (size_t i = 0; n && i < n->n_attrs; i++)
        if (!n->attrs[i].ns[0] && !strcmp(n->attrs[i].name, name))
            return n->attrs[i].value;
    return NULL;
}

bool xmpp_is(const xmpp_node_t *n, const char *ns, const char *name)
{
    return n && (!ns || !strcmp(n->ns, ns)) && (!name || !strcmp(n->name, name));
}

const xmpp_node_t *xmpp_child(const xmpp_node_t *n, const char *ns, const char *name)
{
    for (const xmpp_node_t *c = n ? n->children : NULL; c; c = c->next)
        if (xmpp_is(c, ns, name))
            return c;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Errors and the arena                                                */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 4, 5))) static void fail(xmpp_parser_t *p, int err, const char *cond,
                                                       const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err = err;
    snprintf(p->cond, sizeof p->cond, "%s", cond);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
    XML_StopParser(p->x, XML_FALSE);
}

static void arena_reset(xmpp_parser_t *p)
{
    while (p->arena) {
        struct chunk *nx = p->arena->next;
        free(p->arena);
        p->arena = nx;
    }
    p->arena_bytes = 0;
    p->cur = NULL;
}

/* NULL (and the parser failed) when the stanza's tree would pass its cap. */
static void *arena_alloc(xmpp_parser_t *p, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct chunk *c = p->arena;
    /* Text may leave used unaligned (see on_text). */
    if (c)
        c->used = (c->used + 15) & ~(size_t)15;
    if (!c || c->used > c->cap || c->cap - c->used < size) {
        size_t cap = size > 4000 ? size : 4000;
        if (p->arena_bytes + cap > p->arena_cap) {
            fail(p, FEDGE_ELIMIT, "policy-violation", "stanza tree larger than %zu bytes",
                 p->arena_cap);
            return NULL;
        }
        c = fedge_malloc(sizeof *c + cap);
        c->cap = cap;
        c->used = 0;
        c->next = p->arena;
        p->arena = c;
        p->arena_bytes += sizeof *c + cap;
    }
    void *r = c->data + c->used;
    c->used += size;
    return r;
}

static char *arena_strndup(xmpp_parser_t *p, const char *s, size_t n)
{
    char *r = arena_alloc(p, n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

/* Splits expat's "uri local" (or "local") into *ns and *local, sharing the
 * namespace string of the parent or of the stream where it is the same so
 * that many small elements do not each copy a long URI. */
static bool split_name(xmpp_parser_t *p, const char *qn, const xmpp_node_t *parent, const char **ns,
                       const char **local)
{
    const char *sp = strrchr(qn, NS_SEP);
    if (!sp) {
        *ns = "";
        *local = arena_strndup(p, qn, strlen(qn));
        return *local != NULL;
    }
    size_t nl = (size_t)(sp - qn);
    if (parent && strlen(parent->ns) == nl && !memcmp(parent->ns, qn, nl))
        *ns = parent->ns;
    else if (p->content_ns && strlen(p->content_ns) == nl && !memcmp(p->content_ns, qn, nl))
        *ns = p->content_ns;
    else
        *ns = arena_strndup(p, qn, nl);
    *local = arena_strndup(p, sp + 1, strlen(sp + 1));
    return *ns && *local;
}

static size_t event_end(xmpp_parser_t *p)
{
    return (size_t)XML_GetCurrentByteIndex(p->x) + (size_t)XML_GetCurrentByteCount(p->x);
}

static void saw_event(xmpp_parser_t *p)
{
    p->last_event = event_end(p);
}

/* ------------------------------------------------------------------ */
/* expat handlers                                                      */
/* ------------------------------------------------------------------ */

static xmpp_node_t *build(xmpp_parser_t *p, const char *name, const char **atts,
                          xmpp_node_t *parent)
{
    xmpp_node_t *n = arena_alloc(p, sizeof *n);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    n->parent = parent;
    n->text = "";
    if (!split_name(p, name, parent, &n->ns, &n->name))
        return NULL;
    size_t na = 0;
    while (atts[2 * na])
        na++;
    if (na) {
        n->attrs = arena_alloc(p, na * sizeof *n->attrs);
        if (!n->attrs)
            return NULL;
        for (size_t i = 0; i < na; i++) {
            xmpp_attr_t *a = &n->attrs[i];
            if (!split_name(p, atts[2 * i], NULL, &a->ns, &a->name))
                return NULL;
            a->value = arena_strndup(p, atts[2 * i + 1], strlen(atts[2 * i + 1]));
            if (!a->value)
                return NULL;
        }
    }
    n->n_attrs = na;
    return n;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    xmpp_parser_t *p = ud;
    saw_event(p);
    if (p->failed)
        return;
    if (p->depth == 0) {
        /* The stream header (RFC 6120 §4.7). */
        free(p->content_ns);
        p->content_ns = p->pending_ns;
        p->pending_ns = NULL;
        xmpp_node_t *root = build(p, name, atts, NULL);
        if (!root)
            return;
        if (strcmp(root->name, "stream") || strcmp(root->ns, XMPP_NS_STREAMS)) {
            fail(p, FEDGE_EINVAL, "invalid-namespace",
                 "stream header is {%s}%s, not {" XMPP_NS_STREAMS "}stream", root->ns, root->name);
            return;
        }
        p->depth = 1;
        p->opened = true;
        p->boundary = event_end(p);
        if (p->cbs.on_open)
            p->cbs.on_open(p->user, root, p->content_ns ? p->content_ns : "");
        arena_reset(p);
        return;
    }
    if (p->depth - 1 >= p->lim.max_depth) {
        fail(p, FEDGE_ELIMIT, "policy-violation", "elements nested deeper than %u",
             p->lim.max_depth);
        return;
    }
    xmpp_node_t *n = build(p, name, atts, p->cur);
    if (!n)
        return;
    if (p->cur) {
        xmpp_node_t **link = &p->cur->children;
        /* Appending walks the siblings: bounded by the stanza's size, and
         * stanzas are small; a tail pointer is not worth the bytes. */
        while (*link)
            link = &(*link)->next;
        *link = n;
    }
    p->cur = n;
    p->depth++;
}

static void on_end(void *ud, const XML_Char *name)
{
    xmpp_parser_t *p = ud;
    saw_event(p);
    if (p->failed)
        return;
    if (p->depth == 1) {
        p->depth = 0;
        if (p->cbs.on_close)
            p->cbs.on_close(p->user);
        return;
    }
    xmpp_node_t *n = p->cur;
    p->cur = n->parent;
    p->depth--;
    if (p->depth == 1) {
        p->boundary = event_end(p);
        if (p->cbs.on_stanza)
            p->cbs.on_stanza(p->user, n);
        arena_reset(p);
    }
}

static bool all_space(const char *s, int len)
{
    for (int i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
    xmpp_parser_t *p = ud;
    saw_event(p);
    if (p->failed || len <= 0)
        return;
    if (p->depth <= 1) {
        /* Between stanzas only whitespace (keep-alives) may appear; it
         * starts the byte count afresh so a long-lived stream of pings is
         * not mistaken for one huge stanza. */
        if (!all_space(s, len)) {
            fail(p, FEDGE_EINVAL, "bad-format", "text outside any stanza");
            return;
        }
        p->boundary = event_end(p);
        return;
    }
    xmpp_node_t *n = p->cur;
    struct chunk *c = p->arena;
    size_t need = (size_t)len;
    /* expat hands text in pieces; extend in place when the node's text is
     * the last thing in the arena, else copy. */
    if (n->text_len && c && n->text + n->text_len + 1 == c->data + c->used &&
        c->cap - c->used >= need) {
        char *t = (char *)n->text;
        memcpy(t + n->text_len, s, need);
        n->text_len += need;
        t[n->text_len] = '\0';
        c->used += need;
        return;
    }
    /* Allocate unrounded so the next piece can extend it. */
    size_t total = n->text_len + need + 1;
    c = p->arena;
    char *t;
    if (c && c->cap - c->used >= total) {
        t = c->data + c->used;
        c->used += total;
    } else {
        t = arena_alloc(p, total);
        if (!t)
            return;
        /* arena_alloc rounded up: give the slack back so that the end of
         * this text is the end of the arena. */
        p->arena->used -= ((total + 15) & ~(size_t)15) - total;
    }
    memcpy(t, n->text, n->text_len);
    memcpy(t + n->text_len, s, need);
    n->text_len += need;
    t[n->text_len] = '\0';
    n->text = t;
}

static void on_ns_start(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
    xmpp_parser_t *p = ud;
    if (p->depth == 0 && !prefix) {
        free(p->pending_ns);
        p->pending_ns = fedge_strdup(uri ? uri : "");
    }
}

/* RFC 6120 §11.1: no comments, processing instructions, DTDs or entity
 * declarations. Refusing the DTD at its start is what keeps entity
 * expansion ("billion laughs") from ever beginning. */
static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
    fail(ud, FEDGE_EINVAL, "restricted-xml", "document type declaration");
}

static void on_entity_decl(void *ud, const XML_Char *name, int pe, const XML_Char *value,
                           int value_len, const XML_Char *base, const XML_Char *sysid,
                           const XML_Char *pubid, const XML_Char *notation)
{
    fail(ud, FEDGE_EINVAL, "restricted-xml", "entity declaration");
}

static void on_comment(void *ud, const XML_Char *data)
{
    fail(ud, FEDGE_EINVAL, "restricted-xml", "XML comment");
}

static void on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
    fail(ud, FEDGE_EINVAL, "restricted-xml", "processing instruction");
}

static void on_skipped(void *ud, const XML_Char *name, int pe)
{
    fail(ud, FEDGE_EINVAL, "restricted-xml", "entity reference");
}

/* ------------------------------------------------------------------ */
/* The parser                                                          */
/* ------------------------------------------------------------------ */

static void start_expat(xmpp_parser_t *p)
{
    /* The encoding is forced to UTF-8 whatever the declaration says
     * (RFC 6120 §11.6). */
    p->x = XML_ParserCreateNS("UTF-8", NS_SEP);
    if (!p->x) {
        fprintf(stderr, "fedge: out of memory (expat)\n");
        abort();
    }
    XML_SetUserData(p->x, p);
    XML_SetElementHandler(p->x, on_start, on_end);
    XML_SetCharacterDataHandler(p->x, on_text);
    XML_SetStartNamespaceDeclHandler(p->x, on_ns_start);
    XML_SetStartDoctypeDeclHandler(p->x, on_doctype);
    XML_SetEntityDeclHandler(p->x, on_entity_decl);
    XML_SetCommentHandler(p->x, on_comment);
    XML_SetProcessingInstructionHandler(p->x, on_pi);
    XML_SetSkippedEntityHandler(p->x, on_skipped);
    XML_SetParamEntityParsing(p->x, XML_PARAM_ENTITY_PARSING_NEVER);
    /* A stream must see each element as soon as its last byte is in:
     * expat's reparse deferral (its guard against quadratic re-scanning of
     * one huge token, CVE-2023-52425) would hold a stanza back until more
     * bytes come, and a peer waiting for our answer sends none. The guard
     * is kept by other means: no token may exceed max_token_bytes (see
     * xmpp_parser_feed), so a re-scan never costs more than that. */
    XML_SetReparseDeferralEnabled(p->x, XML_FALSE);
    p->depth = 0;
    p->opened = p->failed = p->paused = false;
    p->err = 0;
    p->fed = p->boundary = p->stop_at = p->last_event = 0;
    p->cond[0] = p->reason[0] = '\0';
}

int xmpp_parser_new(const xmpp_limits_t *lim, const xmpp_parser_cbs_t *cbs, void *user,
                    xmpp_parser_t **out)
{
    xmpp_parser_t *p = fedge_calloc(1, sizeof *p);
    if (lim)
        p->lim = *lim;
    if (!p->lim.max_stanza_bytes)
        p->lim.max_stanza_bytes = 262144;
    if (!p->lim.max_header_bytes)
        p->lim.max_header_bytes = 4096;
    if (!p->lim.max_depth)
        p->lim.max_depth = 32;
    if (!p->lim.max_token_bytes)
        p->lim.max_token_bytes = 16384;
    /* A tree costs more than its text (a node is about 100 bytes, "<b/>"
     * 4 on the wire): eight times the wire bytes covers real stanzas and
     * stops trees of empty elements built to inflate. */
    p->arena_cap = 8 * p->lim.max_stanza_bytes + 65536;
    if (cbs)
        p->cbs = *cbs;
    p->user = user;
    start_expat(p);
    *out = p;
    return 0;
}

void xmpp_parser_free(xmpp_parser_t *p)
{
    if (!p)
        return;
    arena_reset(p);
    XML_ParserFree(p->x);
    free(p->content_ns);
    free(p->pending_ns);
    free(p);
}

void xmpp_parser_reset(xmpp_parser_t *p)
{
    arena_reset(p);
    XML_ParserFree(p->x);
    free(p->content_ns);
    free(p->pending_ns);
    p->content_ns = p->pending_ns = NULL;
    start_expat(p);
}

void xmpp_parser_pause(xmpp_parser_t *p)
{
    if (p->paused || p->failed)
        return;
    p->paused = true;
    p->stop_at = event_end(p);
    XML_StopParser(p->x, XML_FALSE);
}

int xmpp_parser_feed(xmpp_parser_t *p, const char *buf, size_t len, size_t *consumed)
{
    size_t done = 0;
    if (consumed)
        *consumed = 0;
    if (p->failed)
        return p->err;
    if (p->paused)
        return FEDGE_EINVAL; /* reset first */
    while (done < len) {
        size_t limit = p->opened ? p->lim.max_stanza_bytes : p->lim.max_header_bytes;
        size_t used = p->fed - p->boundary;
        if (used >= limit) {
            if (p->opened)
                fail(p, FEDGE_ELIMIT, "policy-violation", "stanza larger than %zu bytes", limit);
            else
                fail(p, FEDGE_ELIMIT, "policy-violation",
                     "stream header not complete after %zu bytes", limit);
            return p->err;
        }
        if (p->fed - p->last_event > p->lim.max_token_bytes) {
            fail(p, FEDGE_ELIMIT, "policy-violation", "one tag longer than %zu bytes",
                 p->lim.max_token_bytes);
            return p->err;
        }
        size_t n = len - done;
        if (n > limit - used)
            n = limit - used;
        /* In pieces no larger than a token may be, so that the check above
         * runs before expat buffers more than that. */
        if (n > p->lim.max_token_bytes + 1)
            n = p->lim.max_token_bytes + 1;
        if (n > (size_t)(1 << 30))
            n = (size_t)1 << 30;
        size_t before = p->fed;
        enum XML_Status st = XML_Parse(p->x, buf + done, (int)n, XML_FALSE);
        p->fed += n;
        if (p->failed)
            return p->err;
        if (p->paused) {
            if (consumed)
                *consumed = done + (p->stop_at - before);
            return 1;
        }
        if (st != XML_STATUS_OK) {
            enum XML_Error xe = XML_GetErrorCode(p->x);
            fail(p, FEDGE_EINVAL, "not-well-formed", "%s at line %lu", XML_ErrorString(xe),
                 (unsigned long)XML_GetCurrentLineNumber(p->x));
            return p->err;
        }
        done += n;
    }
    if (consumed)
        *consumed = len;
    return 0;
}

const char *xmpp_parser_condition(const xmpp_parser_t *p)
{
    return p->cond;
}

const char *xmpp_parser_reason(const xmpp_parser_t *p)
{
    return p->reason;
}

size_t xmpp_parser_memory(const xmpp_parser_t *p)
{
    /* expat keeps at most the bytes since the last boundary (fed in
     * bounded pieces) plus its own tables. */
    return p->arena_bytes + (p->fed - p->boundary);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

void xmpp_buf_free(xmpp_buf_t *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

static void reserve(xmpp_buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->s = fedge_realloc(b->s, cap);
    b->cap = cap;
}

void xmpp_buf_add(xmpp_buf_t *b, const char *s, size_t len)
{
    reserve(b, len);
    memcpy(b->s + b->len, s, len);
    b->len += len;
    b->s[b->len] = '\0';
}

void xmpp_buf_printf(xmpp_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void xmpp_buf_esc(xmpp_buf_t *b, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: continue;
        }
        xmpp_buf_add(b, s + start, i - start);
        xmpp_buf_add(b, rep, strlen(rep));
        start = i + 1;
    }
    xmpp_buf_add(b, s + start, len - start);
}
