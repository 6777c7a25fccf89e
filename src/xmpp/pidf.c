/* pidf.c — reads and writes the presence documents of the SIP side of the
 * gateway (pure): a PIDF document (RFC 3863) with RPID activities
 * (RFC 4480) read on expat into the XMPP availability it maps to
 * (RFC 8048 §4.3, the other way in §4.4), and the document fedge writes
 * for an XMPP availability. */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmpp/xmpp.h"

#define NS_SEP ' '
#define NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define NS_RPID "urn:ietf:params:xml:ns:pidf:rpid"
#define PIDF_MAX_BYTES 65536
#define PIDF_MAX_DEPTH 16

typedef struct {
    XML_Parser x;
    xmpp_pidf_t *out;
    unsigned depth;
    bool in_basic, in_note, in_acts, seen_basic, seen_note, refused;
    char basic[16];
    size_t basic_len;
} ctx_t;

/* Splits expat's "ns name" into the namespace and the local name. */
static const char *local_of(const char *qn, const char *ns)
{
    size_t n = strlen(ns);
    if (strncmp(qn, ns, n) || qn[n] != NS_SEP)
        return NULL;
    return qn + n + 1;
}

static void refuse(ctx_t *c)
{
    c->refused = true;
    XML_StopParser(c->x, XML_FALSE);
}

static void on_start(void *u, const char *name, const char **attrs)
{
    ctx_t *c = u;
    if (++c->depth > PIDF_MAX_DEPTH)
        return refuse(c);
    const char *l;
    if ((l = local_of(name, NS_PIDF))) {
        if (c->depth == 1 && strcmp(l, "presence"))
            return refuse(c);
        if (!strcmp(l, "basic") && !c->seen_basic) {
            c->in_basic = true;
            c->basic_len = 0;
        } else if (!strcmp(l, "note") && !c->seen_note)
            c->in_note = true;
    } else if (c->depth == 1)
        return refuse(c);
    else if ((l = local_of(name, NS_RPID))) {
        if (!strcmp(l, "activities"))
            c->in_acts = true;
        else if (c->in_acts && !c->out->activity[0] && strcmp(l, "other"))
            snprintf(c->out->activity, sizeof c->out->activity, "%s", l);
    }
}

static void on_end(void *u, const char *name)
{
    ctx_t *c = u;
    c->depth--;
    const char *l;
    if ((l = local_of(name, NS_PIDF))) {
        if (!strcmp(l, "basic") && c->in_basic) {
            c->in_basic = false;
            c->seen_basic = true;
            c->basic[c->basic_len] = '\0';
            c->out->open = !strcmp(c->basic, "open");
            c->out->has_basic = !strcmp(c->basic, "open") || !strcmp(c->basic, "closed");
        } else if (!strcmp(l, "note") && c->in_note) {
            c->in_note = false;
            c->seen_note = true;
        }
    } else if ((l = local_of(name, NS_RPID)) && !strcmp(l, "activities"))
        c->in_acts = false;
}

static void on_text(void *u, const char *s, int len)
{
    ctx_t *c = u;
    if (c->in_basic) {
        for (int i = 0; i < len; i++)
            if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' &&
                c->basic_len < sizeof c->basic - 1)
                c->basic[c->basic_len++] = s[i];
    } else if (c->in_note) {
        size_t have = strlen(c->out->note), room = sizeof c->out->note - 1 - have;
        size_t n = (size_t)len < room ? (size_t)len : room;
        /* cut on a UTF-8 character boundary */
        while (n < (size_t)len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        memcpy(c->out->note + have, s, n);
        c->out->note[have + n] = '\0';
    }
}

/* A DTD, an entity, a comment or a processing instruction: not in a PIDF
 * document fedge reads (no entity is ever expanded). */
static void on_doctype(void *u, const char *n, const char *s, const char *p, int i)
{
    refuse(u);
}

static void on_entity(void *u, const char *n, int pe, const char *v, int vl, const char *b,
                      const char *s, const char *p, const char *no)
{
    refuse(u);
}

static void on_pi(void *u, const char *t, const char *d)
{
    refuse(u);
}

int xmpp_pidf_parse(const char *doc, size_t len, xmpp_pidf_t *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0 || len > PIDF_MAX_BYTES)
        return FEDGE_EINVAL;
    ctx_t c = {.out = out};
    c.x = XML_ParserCreateNS("UTF-8", NS_SEP);
    if (!c.x) {
        fprintf(stderr, "fedge: out of memory (expat)\n");
        abort();
    }
    XML_SetUserData(c.x, &c);
    XML_SetElementHandler(c.x, on_start, on_end);
    XML_SetCharacterDataHandler(c.x, on_text);
    XML_SetStartDoctypeDeclHandler(c.x, on_doctype);
    XML_SetEntityDeclHandler(c.x, on_entity);
    XML_SetProcessingInstructionHandler(c.x, on_pi);
    XML_SetParamEntityParsing(c.x, XML_PARAM_ENTITY_PARSING_NEVER);
    enum XML_Status st = XML_Parse(c.x, doc, (int)len, XML_TRUE);
    XML_ParserFree(c.x);
    if (st != XML_STATUS_OK || c.refused || !out->has_basic) {
        memset(out, 0, sizeof *out);
        return FEDGE_EINVAL;
    }
    return 0;
}

const char *xmpp_pidf_show(const xmpp_pidf_t *p)
{
    if (!p->open)
        return "unavailable";
    if (!strcmp(p->activity, "away") || !strcmp(p->activity, "vacation") ||
        !strcmp(p->activity, "sleeping") || !strcmp(p->activity, "lunch") ||
        !strcmp(p->activity, "meal"))
        return !strcmp(p->activity, "away") ? "away" : "xa";
    if (!strcmp(p->activity, "busy") || !strcmp(p->activity, "on-the-phone") ||
        !strcmp(p->activity, "meeting") || !strcmp(p->activity, "appointment") ||
        !strcmp(p->activity, "presentation") || !strcmp(p->activity, "performance"))
        return "dnd";
    return "available";
}
