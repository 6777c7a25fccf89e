/* sip_testdata.h — loads the SIP torture suite (tests/data/sip) and reads
 * typed fields of a parsed message by the key names the .expect files use;
 * header-only (static functions) so that every SIP unit test can include it
 * without adding a helper object to all unit tests. */
#ifndef FEDGE_TESTS_SIP_TESTDATA_H
#define FEDGE_TESTS_SIP_TESTDATA_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip.h"

typedef struct {
    char name[300]; /* "valid/001-wsinv" */
    char *data;     /* the .sip bytes (heap, owned) */
    size_t len;
    char *expect; /* the .expect text, NUL-terminated (heap, owned) */
    bool valid;   /* from the valid/ folder */
} td_case_t;

typedef struct {
    td_case_t *v;
    size_t n;
} td_cases_t;

static inline char *td_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = fedge_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = fedge_realloc(buf, cap + 1);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The repository root: $FEDGE_ROOT, else the current directory. */
static inline const char *td_root(void)
{
    const char *r = getenv("FEDGE_ROOT");
    return r && *r ? r : ".";
}

static inline int td_cmp_case(const void *a, const void *b)
{
    return strcmp(((const td_case_t *)a)->name, ((const td_case_t *)b)->name);
}

/* Appends every case of tests/data/sip/<sub> ("valid" or "invalid") to *cs,
 * sorted by name. Returns the number added, or -1 if the folder is missing. */
static inline int td_load(td_cases_t *cs, const char *sub)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/data/sip/%s", td_root(), sub);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t first = cs->n;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".sip"))
            continue;
        cs->v = fedge_realloc(cs->v, (cs->n + 1) * sizeof(*cs->v));
        td_case_t *c = &cs->v[cs->n];
        memset(c, 0, sizeof(*c));
        snprintf(c->name, sizeof(c->name), "%s/%.*s", sub, (int)(l - 4), e->d_name);
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        c->data = td_read_file(path, &c->len);
        snprintf(path + strlen(path) - 4, 8, ".expect");
        size_t elen = 0;
        c->expect = td_read_file(path, &elen);
        if (!c->data) {
            free(c->expect);
            continue;
        }
        if (!c->expect)
            c->expect = fedge_strdup("");
        c->valid = !strcmp(sub, "valid");
        cs->n++;
    }
    closedir(d);
    qsort(cs->v + first, cs->n - first, sizeof(*cs->v), td_cmp_case);
    return (int)(cs->n - first);
}

static inline void td_free(td_cases_t *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->v[i].data);
        free(cs->v[i].expect);
    }
    free(cs->v);
    cs->v = NULL;
    cs->n = 0;
}

/* ------------------------------------------------------------------ */
/* Error names                                                         */
/* ------------------------------------------------------------------ */

static const struct __attribute__((unused)) {
    const char *name;
    int code;
} td_errs[] = {
#define E(x)                                                                                       \
    {                                                                                              \
#x, x                                                                                      \
    }
    E(FEDGE_ESIP_TOO_BIG),
    E(FEDGE_ESIP_NO_CLEN),
    E(FEDGE_ESIP_BAD_CLEN),
    E(FEDGE_ESIP_CLEN_MISMATCH),
    E(FEDGE_ESIP_GARBAGE),
    E(FEDGE_ESIP_START_LINE),
    E(FEDGE_ESIP_VERSION),
    E(FEDGE_ESIP_METHOD),
    E(FEDGE_ESIP_HEADER),
    E(FEDGE_ESIP_HDR_COUNT),
    E(FEDGE_ESIP_LINE_LEN),
    E(FEDGE_ESIP_URI_LEN),
    E(FEDGE_ESIP_VIA_COUNT),
    E(FEDGE_ESIP_URI),
    E(FEDGE_ESIP_VIA),
    E(FEDGE_ESIP_FROM),
    E(FEDGE_ESIP_TO),
    E(FEDGE_ESIP_CALL_ID),
    E(FEDGE_ESIP_CSEQ),
    E(FEDGE_ESIP_MAX_FORWARDS),
    E(FEDGE_ESIP_CONTACT),
    E(FEDGE_ESIP_ROUTE),
    E(FEDGE_ESIP_NO_VIA),
    E(FEDGE_ESIP_CSEQ_METHOD),
    E(FEDGE_ESIP_DUP_HEADER),
    E(FEDGE_ESIP_NUL),
    E(FEDGE_ESIP_BODY_LEN),
    E(FEDGE_ESIP_EXPIRES),
    E(FEDGE_ESIP_CONTENT_TYPE),
    E(FEDGE_ESIP_EVENT),
    E(FEDGE_ESIP_STATUS),
    E(FEDGE_EINVAL),
    E(FEDGE_ENOENT),
    E(FEDGE_ENOSPC),
    E(FEDGE_OK),
#undef E
};

static inline const char *td_err_name(int code)
{
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(td_errs); i++)
        if (td_errs[i].code == code)
            return td_errs[i].name;
    return "?";
}

static inline bool td_err_code(const char *name, size_t len, int *code)
{
    for (size_t i = 0; i < FEDGE_ARRAY_LEN(td_errs); i++)
        if (strlen(td_errs[i].name) == len && !memcmp(td_errs[i].name, name, len)) {
            *code = td_errs[i].code;
            return true;
        }
    return false;
}

/* ------------------------------------------------------------------ */
/* The validation chain                                                */
/* ------------------------------------------------------------------ */

/* Value number n (0-based) of every header with this id, or 0 when there
 * are fewer; the iterator's error when it fails. */
static inline int td_nth_value(const sip_msg_t *m, sip_hdr_id_t id, unsigned n, fedge_str_t *out)
{
    sip_iter_t it;
    sip_iter_init(&it, m, id);
    unsigned i = 0;
    int rc;
    while ((rc = sip_iter_next(&it, out, NULL)) == 1) {
        if (i++ == n)
            return 1;
    }
    return rc;
}

/* Number of values of every header with this id, or the iterator's error. */
static inline int td_count_values(const sip_msg_t *m, sip_hdr_id_t id)
{
    sip_iter_t it;
    sip_iter_init(&it, m, id);
    fedge_str_t v;
    int rc, n = 0;
    while ((rc = sip_iter_next(&it, &v, NULL)) == 1)
        n++;
    return rc < 0 ? rc : n;
}

/* After a successful sip_parse: sip_msg_check, then every typed accessor the
 * torture suite and `fedge parse` look at (Request-URI, every Via value,
 * From, To, Call-ID, CSeq, Max-Forwards, every Contact value, Expires).
 * Returns 0 or the first error. */
static inline int td_validate(sip_msg_t *m)
{
    int rc = sip_msg_check(m);
    if (rc)
        return rc;
    if (m->is_request) {
        const sip_uri_t *u;
        if ((rc = sip_msg_ruri(m, &u)))
            return rc;
    }
    const sip_via_t *topvia;
    if ((rc = sip_msg_via(m, &topvia)) && rc != FEDGE_ENOENT)
        return rc;
    sip_iter_t it;
    sip_via_t via;
    sip_iter_init(&it, m, SIP_HDR_VIA);
    while ((rc = sip_iter_via(&it, &via, NULL)) == 1)
        ;
    if (rc < 0)
        return rc;
    const sip_nameaddr_t *na;
    if ((rc = sip_msg_from(m, &na)))
        return rc;
    if ((rc = sip_msg_to(m, &na)))
        return rc;
    fedge_str_t cid;
    if ((rc = sip_msg_call_id(m, &cid)))
        return rc;
    const sip_cseq_t *cs;
    if ((rc = sip_msg_cseq(m, &cs)))
        return rc;
    int mf;
    if ((rc = sip_msg_max_forwards(m, &mf)) && rc != FEDGE_ENOENT)
        return rc;
    if ((rc = sip_msg_contact(m, &na)) && rc != FEDGE_ENOENT)
        return rc;
    sip_nameaddr_t c;
    sip_iter_init(&it, m, SIP_HDR_CONTACT);
    while ((rc = sip_iter_nameaddr(&it, &c, NULL)) == 1)
        ;
    if (rc < 0)
        return rc;
    long long ex;
    if ((rc = sip_msg_expires(m, &ex)) && rc != FEDGE_ENOENT)
        return rc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Field access by key                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t len, cap;
} td_buf_t;

static inline void td_put(td_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = fedge_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static inline void td_puts(td_buf_t *b, const char *s)
{
    td_put(b, s, strlen(s));
}
static inline void td_putstr(td_buf_t *b, fedge_str_t s)
{
    td_put(b, s.s ? s.s : "", s.s ? s.len : 0);
}
static inline void td_putll(td_buf_t *b, long long v)
{
    char t[32];
    snprintf(t, sizeof(t), "%lld", v);
    td_puts(b, t);
}

static inline const char *td_host_kind(sip_host_kind_t k)
{
    return k == SIP_HOST_IPV4 ? "ipv4" : k == SIP_HOST_IPV6 ? "ipv6" : "name";
}

static inline const char *td_scheme(sip_uri_scheme_t s)
{
    switch (s) {
    case SIP_URI_SIP: return "sip";
    case SIP_URI_SIPS: return "sips";
    case SIP_URI_TEL: return "tel";
    default: return "other";
    }
}

/* Parses a leading decimal index ("12.host" -> 12, rest ".host"). */
static inline bool td_index(const char **k, unsigned *n)
{
    if (**k < '0' || **k > '9') {
        *n = 0;
        return false;
    }
    unsigned v = 0;
    while (**k >= '0' && **k <= '9')
        v = v * 10 + (unsigned)(*(*k)++ - '0');
    *n = v;
    return true;
}

static inline int td_uri_field(const sip_uri_t *u, const char *k, td_buf_t *o)
{
    if (!strcmp(k, "scheme"))
        td_puts(o, td_scheme(u->scheme));
    else if (!strcmp(k, "scheme_str"))
        td_putstr(o, u->scheme_str);
    else if (!strcmp(k, "user"))
        td_putstr(o, u->user);
    else if (!strcmp(k, "password"))
        td_putstr(o, u->password);
    else if (!strcmp(k, "host"))
        td_putstr(o, u->host);
    else if (!strcmp(k, "host_kind"))
        td_puts(o, td_host_kind(u->host_kind));
    else if (!strcmp(k, "port")) {
        if (u->has_port)
            td_putll(o, u->port);
    } else if (!strcmp(k, "params"))
        td_putstr(o, u->params);
    else if (!strcmp(k, "headers"))
        td_putstr(o, u->headers);
    else if (!strcmp(k, "transport"))
        td_putstr(o, u->transport);
    else if (!strcmp(k, "maddr"))
        td_putstr(o, u->maddr);
    else if (!strcmp(k, "user_param"))
        td_putstr(o, u->user_param);
    else if (!strcmp(k, "lr"))
        td_puts(o, u->lr ? "1" : "0");
    else
        return FEDGE_EINVAL;
    return 0;
}

static inline int td_via_field(const sip_via_t *v, const char *k, td_buf_t *o)
{
    if (!strcmp(k, "proto")) {
        td_putstr(o, v->proto_name);
        td_puts(o, "/");
        td_putstr(o, v->proto_version);
    } else if (!strcmp(k, "transport"))
        td_putstr(o, v->transport);
    else if (!strcmp(k, "host"))
        td_putstr(o, v->host);
    else if (!strcmp(k, "host_kind"))
        td_puts(o, td_host_kind(v->host_kind));
    else if (!strcmp(k, "port")) {
        if (v->has_port)
            td_putll(o, v->port);
    } else if (!strcmp(k, "branch"))
        td_putstr(o, v->branch);
    else if (!strcmp(k, "received"))
        td_putstr(o, v->received);
    else if (!strcmp(k, "maddr"))
        td_putstr(o, v->maddr);
    else if (!strcmp(k, "ttl"))
        td_putstr(o, v->ttl);
    else if (!strcmp(k, "rport")) {
        if (!v->has_rport)
            td_puts(o, "none");
        else if (v->rport)
            td_putll(o, v->rport);
    } else if (!strcmp(k, "alias"))
        td_puts(o, v->has_alias ? "1" : "0");
    else if (!strcmp(k, "params"))
        td_putstr(o, v->params);
    else
        return FEDGE_EINVAL;
    return 0;
}

static inline int td_na_field(const sip_nameaddr_t *n, const char *k, td_buf_t *o)
{
    if (!strncmp(k, "uri.", 4))
        return td_uri_field(&n->uri, k + 4, o);
    if (!strcmp(k, "display"))
        td_putstr(o, n->display);
    else if (!strcmp(k, "uri"))
        td_putstr(o, n->uri_str);
    else if (!strcmp(k, "tag"))
        td_putstr(o, n->tag);
    else if (!strcmp(k, "has_tag"))
        td_puts(o, n->has_tag ? "1" : "0");
    else if (!strcmp(k, "params"))
        td_putstr(o, n->params);
    else if (!strcmp(k, "star"))
        td_puts(o, n->star ? "1" : "0");
    else if (!strcmp(k, "q"))
        td_putstr(o, n->q);
    else if (!strcmp(k, "expires"))
        td_putstr(o, n->expires);
    else
        return FEDGE_EINVAL;
    return 0;
}

/* Appends the value of key (see make_cases.py for the list) to *o. Returns
 * 0, FEDGE_EINVAL for an unknown key, FEDGE_ENOENT when the indexed value
 * does not exist, or an accessor's error. */
static inline int td_get(sip_msg_t *m, const char *key, td_buf_t *o)
{
    int rc;
    unsigned n;
    const char *k = key;
    if (!strcmp(k, "kind")) {
        td_puts(o, m->is_request ? "request" : "response");
        return 0;
    }
    if (!strcmp(k, "method")) {
        td_putstr(o, m->method);
        return 0;
    }
    if (!strcmp(k, "status")) {
        td_putll(o, m->status);
        return 0;
    }
    if (!strcmp(k, "reason")) {
        td_putstr(o, m->reason);
        return 0;
    }
    if (!strcmp(k, "ruri")) {
        td_putstr(o, m->ruri_str);
        return 0;
    }
    if (!strncmp(k, "ruri.", 5)) {
        const sip_uri_t *u;
        if ((rc = sip_msg_ruri(m, &u)))
            return rc;
        return td_uri_field(u, k + 5, o);
    }
    if (!strcmp(k, "via.count")) {
        if ((rc = td_count_values(m, SIP_HDR_VIA)) < 0)
            return rc;
        td_putll(o, rc);
        return 0;
    }
    if (!strncmp(k, "via", 3) && (k += 3, td_index(&k, &n)) && *k == '.') {
        fedge_str_t v;
        if ((rc = td_nth_value(m, SIP_HDR_VIA, n, &v)) != 1)
            return rc < 0 ? rc : FEDGE_ENOENT;
        sip_via_t via;
        if ((rc = sip_via_parse(v.s, v.len, &via)))
            return rc;
        if (n == 0) { /* the cached top Via must agree with the iterator */
            const sip_via_t *top;
            if ((rc = sip_msg_via(m, &top)))
                return rc;
            if (top->branch.len != via.branch.len || top->host.len != via.host.len ||
                top->port != via.port || top->transport.len != via.transport.len)
                return FEDGE_EINVAL;
        }
        return td_via_field(&via, k + 1, o);
    }
    k = key;
    if (!strncmp(k, "from.", 5) || !strncmp(k, "to.", 3)) {
        const sip_nameaddr_t *na;
        bool from = k[0] == 'f';
        if ((rc = from ? sip_msg_from(m, &na) : sip_msg_to(m, &na)))
            return rc;
        return td_na_field(na, k + (from ? 5 : 3), o);
    }
    if (!strcmp(k, "contact.count")) {
        if ((rc = td_count_values(m, SIP_HDR_CONTACT)) < 0)
            return rc;
        td_putll(o, rc);
        return 0;
    }
    if (!strncmp(k, "contact.", 8)) {
        const sip_nameaddr_t *na;
        if ((rc = sip_msg_contact(m, &na)))
            return rc;
        return td_na_field(na, k + 8, o);
    }
    if (!strncmp(k, "contact", 7) && (k += 7, td_index(&k, &n)) && *k == '.') {
        fedge_str_t v;
        if ((rc = td_nth_value(m, SIP_HDR_CONTACT, n, &v)) != 1)
            return rc < 0 ? rc : FEDGE_ENOENT;
        sip_nameaddr_t na;
        if ((rc = sip_nameaddr_parse(v.s, v.len, &na)))
            return rc;
        return td_na_field(&na, k + 1, o);
    }
    k = key;
    static const struct {
        const char *p;
        sip_hdr_id_t id;
    } lists[] = {{"record_route", SIP_HDR_RECORD_ROUTE}, {"route", SIP_HDR_ROUTE}};
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(lists[i].p);
        if (strncmp(k, lists[i].p, pl))
            continue;
        const char *r = k + pl;
        if (!strcmp(r, ".count")) {
            if ((rc = td_count_values(m, lists[i].id)) < 0)
                return rc;
            td_putll(o, rc);
            return 0;
        }
        if (td_index(&r, &n) && !*r) {
            fedge_str_t v;
            if ((rc = td_nth_value(m, lists[i].id, n, &v)) != 1)
                return rc < 0 ? rc : FEDGE_ENOENT;
            td_putstr(o, v);
            return 0;
        }
    }
    if (!strcmp(k, "call_id")) {
        fedge_str_t v;
        if ((rc = sip_msg_call_id(m, &v)))
            return rc;
        td_putstr(o, v);
        return 0;
    }
    if (!strcmp(k, "cseq")) {
        const sip_cseq_t *c;
        if ((rc = sip_msg_cseq(m, &c)))
            return rc;
        td_putll(o, c->seq);
        td_puts(o, " ");
        td_putstr(o, c->method);
        return 0;
    }
    if (!strcmp(k, "max_forwards")) {
        int v = -1;
        if ((rc = sip_msg_max_forwards(m, &v)) && rc != FEDGE_ENOENT)
            return rc;
        td_putll(o, rc ? -1 : v);
        return 0;
    }
    if (!strcmp(k, "expires")) {
        long long v = -1;
        if ((rc = sip_msg_expires(m, &v)) && rc != FEDGE_ENOENT)
            return rc;
        td_putll(o, rc ? -1 : v);
        return 0;
    }
    if (!strcmp(k, "content_length")) {
        td_putll(o, m->content_length);
        return 0;
    }
    if (!strcmp(k, "body.len")) {
        td_putll(o, (long long)m->body.len);
        return 0;
    }
    if (!strcmp(k, "hdr.count")) {
        td_putll(o, m->nhdrs);
        return 0;
    }
    if (!strncmp(k, "hdr.", 4)) {
        const sip_hdr_t *h = sip_msg_find_name(m, k + 4);
        if (!h)
            return FEDGE_ENOENT;
        td_putstr(o, h->value);
        return 0;
    }
    if (!strncmp(k, "hdr", 3) && (k += 3, td_index(&k, &n)) && *k == '.') {
        if (n >= m->nhdrs)
            return FEDGE_ENOENT;
        const sip_hdr_t *h = &m->hdrs[n];
        if (!strcmp(k, ".name"))
            td_putstr(o, h->name);
        else if (!strcmp(k, ".value"))
            td_putstr(o, h->value);
        else if (!strcmp(k, ".id"))
            td_puts(o, sip_hdr_name(h->id));
        else
            return FEDGE_EINVAL;
        return 0;
    }
    return FEDGE_EINVAL;
}

/* Decodes the \r \n \t \\ \xHH escapes of an .expect value in place;
 * returns the decoded length. */
static inline size_t td_unescape(char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\' || i + 1 >= len) {
            s[o++] = s[i];
            continue;
        }
        char c = s[++i];
        if (c == 'r')
            s[o++] = '\r';
        else if (c == 'n')
            s[o++] = '\n';
        else if (c == 't')
            s[o++] = '\t';
        else if (c == 'x' && i + 2 < len) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            s[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else
            s[o++] = c;
    }
    return o;
}

/* End of the unit that sip_parse took from a datagram: the body's end. */
static inline size_t td_msg_end(const sip_msg_t *m)
{
    if (!m->body.s)
        return m->len;
    return (size_t)(m->body.s - m->buf) + m->body.len;
}

#endif
