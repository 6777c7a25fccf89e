/* cli_parse.c — `fedge parse FILE...`: shows how fedge reads SIP messages
 * (one JSON object per valid message) or why it refuses them. */
#include "cli/cli_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sip/sip.h"

/* Files are read whole up to this size, or max_message_size when larger;
 * anything larger is certainly beyond max_message_size and the first bytes
 * suffice to say so. */
#define READ_CAP (1u << 20)

static const char parse_usage[] =
    "usage: fedge parse [-c FILE] MESSAGE...\n"
    "\n"
    "Parses each MESSAGE file ('-' reads stdin) as one SIP message, the way\n"
    "fedge reads a datagram (Content-Length optional; bytes beyond it\n"
    "ignored), and validates it as the edge does, plus every typed header\n"
    "shown. Empty lines (CRLF) before the start line are skipped, as the edge\n"
    "skips them between messages on a stream (RFC 3261 section 7.5).\n"
    "Prints one JSON object per valid message on stdout (one line each);\n"
    "for an invalid one prints 'invalid: <reason> (<file>)' on stderr.\n"
    "With -c FILE (the configuration) its [limits] max_message_size applies;\n"
    "without, the default (64k).\n"
    "\n"
    "examples:\n"
    "  fedge parse message.sip\n"
    "  fedge parse -c /etc/fedge/fedge.ini big-invite.sip\n"
    "  printf 'OPTIONS sip:a@b SIP/2.0\\r\\n...' | fedge parse -\n"
    "\n"
    "Exit status: 0 all valid, 1 some invalid, 2 usage, configuration error or\n"
    "unreadable file.\n";

/* Reads a whole file ("-": stdin) into a heap buffer, a little more than
 * limit bytes at most. Returns 0 or FEDGE_EIO (message in *e). */
static int read_input(const char *path, size_t limit, char **out, size_t *out_len, fedge_err_t *e)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return fedge_err(e, FEDGE_EIO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 8192, n = 0;
    char *buf = fedge_malloc(cap);
    while (n <= limit) {
        if (n == cap) {
            cap *= 2;
            buf = fedge_realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(buf);
        return fedge_err(e, FEDGE_EIO, "cannot read %s", path);
    }
    *out = buf;
    *out_len = n;
    return 0;
}

/* A JSON string from a slice: valid UTF-8 as is; otherwise every byte that
 * is not part of a valid sequence is taken as Latin-1 (shown, not lost). */
static json_t *jstr(fedge_str_t s)
{
    if (!s.s)
        return json_string("");
    json_t *j = json_stringn(s.s, s.len);
    if (j)
        return j;
    char *tmp = fedge_malloc(s.len * 2 + 1);
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.s[i];
        size_t seq = c < 0x80             ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        json_t *probe = seq > 1 && i + seq <= s.len ? json_stringn(s.s + i, seq) : NULL;
        if (seq == 1 || probe) {
            memcpy(tmp + o, s.s + i, seq);
            o += seq;
            i += seq - 1;
        } else {
            tmp[o++] = (char)(0xC0 | (c >> 6));
            tmp[o++] = (char)(0x80 | (c & 0x3F));
        }
        json_decref(probe);
    }
    j = json_stringn(tmp, o);
    free(tmp);
    return j ? j : json_string("");
}

/* A string member only when the slice is present (s != NULL). */
static void set_opt(json_t *o, const char *key, fedge_str_t s)
{
    if (s.s)
        json_object_set_new(o, key, jstr(s));
}

static const char *scheme_name(sip_uri_scheme_t s)
{
    switch (s) {
    case SIP_URI_SIP: return "sip";
    case SIP_URI_SIPS: return "sips";
    case SIP_URI_TEL: return "tel";
    default: return "other";
    }
}

static const char *host_kind_name(sip_host_kind_t k)
{
    return k == SIP_HOST_IPV4 ? "ipv4" : k == SIP_HOST_IPV6 ? "ipv6" : "name";
}

static json_t *uri_json(const sip_uri_t *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "raw", jstr(u->raw));
    json_object_set_new(o, "scheme", json_string(scheme_name(u->scheme)));
    if (u->scheme == SIP_URI_OTHER)
        return o;
    json_object_set_new(o, "user", jstr(u->user));
    if (u->has_password)
        json_object_set_new(o, "password", jstr(u->password));
    if (u->scheme != SIP_URI_TEL) {
        json_object_set_new(o, "host", jstr(u->host));
        json_object_set_new(o, "host_kind", json_string(host_kind_name(u->host_kind)));
        json_object_set_new(o, "port", u->has_port ? json_integer(u->port) : json_null());
    }
    json_object_set_new(o, "params", jstr(u->params));
    set_opt(o, "headers", u->headers);
    set_opt(o, "transport", u->transport);
    set_opt(o, "maddr", u->maddr);
    set_opt(o, "user_param", u->user_param);
    if (u->lr)
        json_object_set_new(o, "lr", json_true());
    return o;
}

static json_t *via_json(const sip_via_t *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "raw", jstr(v->raw));
    json_object_set_new(o, "transport", jstr(v->transport));
    json_object_set_new(o, "host", jstr(v->host));
    json_object_set_new(o, "port", v->has_port ? json_integer(v->port) : json_null());
    if (v->branch.len)
        json_object_set_new(o, "branch", jstr(v->branch));
    if (v->received.len)
        json_object_set_new(o, "received", jstr(v->received));
    if (v->has_rport)
        json_object_set_new(o, "rport", v->rport ? json_integer(v->rport) : json_true());
    if (v->maddr.len)
        json_object_set_new(o, "maddr", jstr(v->maddr));
    if (v->ttl.len)
        json_object_set_new(o, "ttl", jstr(v->ttl));
    if (v->has_alias)
        json_object_set_new(o, "alias", json_true());
    return o;
}

static json_t *nameaddr_json(const sip_nameaddr_t *n)
{
    json_t *o = json_object();
    if (n->star) {
        json_object_set_new(o, "star", json_true());
        return o;
    }
    if (n->display.len || n->display_quoted)
        json_object_set_new(o, "display", jstr(n->display));
    json_object_set_new(o, "uri", jstr(n->uri_str));
    json_object_set_new(o, "uri_parts", uri_json(&n->uri));
    if (n->has_tag)
        json_object_set_new(o, "tag", jstr(n->tag));
    if (n->params.len)
        json_object_set_new(o, "params", jstr(n->params));
    if (n->expires.len)
        json_object_set_new(o, "expires", jstr(n->expires));
    if (n->q.len)
        json_object_set_new(o, "q", jstr(n->q));
    return o;
}

/* Everything the edge checks, then every typed header this command shows:
 * returns 0 or the first error. */
static int validate(sip_msg_t *m)
{
    int rc = sip_msg_check(m);
    if (rc)
        return rc;
    const sip_uri_t *u;
    if (m->is_request && (rc = sip_msg_ruri(m, &u)))
        return rc;
    sip_iter_t it;
    sip_via_t via;
    sip_iter_init(&it, m, SIP_HDR_VIA);
    while ((rc = sip_iter_via(&it, &via, NULL)) == 1)
        ;
    if (rc < 0)
        return rc;
    const sip_nameaddr_t *na;
    const sip_cseq_t *cs;
    fedge_str_t cid;
    int mf;
    long long ex;
    if ((rc = sip_msg_from(m, &na)) || (rc = sip_msg_to(m, &na)) ||
        (rc = sip_msg_call_id(m, &cid)) || (rc = sip_msg_cseq(m, &cs)))
        return rc;
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
    if ((rc = sip_msg_expires(m, &ex)) && rc != FEDGE_ENOENT)
        return rc;
    return 0;
}

/* The JSON object of a message that passed validate(). */
static json_t *msg_json(sip_msg_t *m, const char *path)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "kind", json_string(m->is_request ? "request" : "response"));
    if (m->is_request) {
        const sip_uri_t *u;
        json_object_set_new(o, "method", jstr(m->method));
        if (!sip_msg_ruri(m, &u))
            json_object_set_new(o, "request_uri", uri_json(u));
    } else {
        json_object_set_new(o, "status", json_integer(m->status));
        json_object_set_new(o, "reason", jstr(m->reason));
    }

    json_t *hs = json_array();
    for (unsigned i = 0; i < m->nhdrs; i++) {
        json_t *h = json_object();
        json_object_set_new(h, "name", jstr(m->hdrs[i].name));
        json_object_set_new(h, "value", jstr(m->hdrs[i].value));
        json_array_append_new(hs, h);
    }
    json_object_set_new(o, "headers", hs);

    json_t *vias = json_array();
    sip_iter_t it;
    sip_via_t via;
    sip_iter_init(&it, m, SIP_HDR_VIA);
    while (sip_iter_via(&it, &via, NULL) == 1)
        json_array_append_new(vias, via_json(&via));
    json_object_set_new(o, "via", vias);

    const sip_nameaddr_t *na;
    if (!sip_msg_from(m, &na))
        json_object_set_new(o, "from", nameaddr_json(na));
    if (!sip_msg_to(m, &na))
        json_object_set_new(o, "to", nameaddr_json(na));
    fedge_str_t cid;
    if (!sip_msg_call_id(m, &cid))
        json_object_set_new(o, "call_id", jstr(cid));
    const sip_cseq_t *cs;
    if (!sip_msg_cseq(m, &cs)) {
        json_t *c = json_object();
        json_object_set_new(c, "seq", json_integer(cs->seq));
        json_object_set_new(c, "method", jstr(cs->method));
        json_object_set_new(o, "cseq", c);
    }
    int mf;
    json_object_set_new(o, "max_forwards",
                        sip_msg_max_forwards(m, &mf) ? json_null() : json_integer(mf));

    json_t *contacts = json_array();
    sip_nameaddr_t c;
    sip_iter_init(&it, m, SIP_HDR_CONTACT);
    while (sip_iter_nameaddr(&it, &c, NULL) == 1)
        json_array_append_new(contacts, nameaddr_json(&c));
    json_object_set_new(o, "contact", contacts);

    long long ex;
    if (!sip_msg_expires(m, &ex))
        json_object_set_new(o, "expires", json_integer(ex));
    json_object_set_new(o, "content_length",
                        m->content_length < 0 ? json_null() : json_integer(m->content_length));
    json_object_set_new(o, "body_length", json_integer((json_int_t)m->body.len));
    return o;
}

/* Parses and prints one file; returns 0 valid, 1 invalid, 2 unreadable. */
static int parse_one(const char *path, const sip_limits_t *limits, sip_msg_t *m)
{
    fedge_err_t e;
    char *buf = NULL;
    size_t len = 0;
    size_t cap = limits->max_message_size > READ_CAP ? limits->max_message_size : READ_CAP;
    if (read_input(path, cap, &buf, &len, &e)) {
        fprintf(stderr, "fedge parse: %s\n", e.msg);
        return 2;
    }
    const char *name = strcmp(path, "-") ? path : "<stdin>";
    /* RFC 3261 section 7.5: CRLFs before the start line are ignored on
     * streams; the framer takes them as keep-alives (src/sip/frame.c). */
    size_t skip = 0;
    while (len - skip >= 2 && buf[skip] == '\r' && buf[skip + 1] == '\n')
        skip += 2;
    int rc = sip_parse(buf + skip, len - skip, limits, m);
    if (!rc)
        rc = validate(m);
    if (rc) {
        fprintf(stderr, "invalid: %s (%s)\n", fedge_strerror(rc), name);
        free(buf);
        return 1;
    }
    json_t *o = msg_json(m, name);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) {
        free(buf);
        fprintf(stderr, "fedge parse: cannot encode JSON for %s\n", name);
        return 2;
    }
    puts(text);
    free(text);
    free(buf);
    return 0;
}

int cli__parse(int argc, char **argv)
{
    /* Options first, wherever they are, so that -c FILE is never a message. */
    const char *file = NULL;
    int nfiles = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(parse_usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "fedge parse: %s needs a value (the configuration file)\n%s",
                        argv[i], parse_usage);
                return 2;
            }
            file = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "fedge parse: unknown option '%s'\n%s", argv[i], parse_usage);
            return 2;
        } else {
            nfiles++;
        }
    }
    if (nfiles == 0) {
        fprintf(stderr, "fedge parse: no MESSAGE file given\n%s", parse_usage);
        return 2;
    }
    sip_limits_t limits;
    sip_limits_default(&limits);
    if (file) {
        config_t *cfg = NULL;
        fedge_err_t e;
        if (config_load(file, &cfg, &e) < 0) {
            fprintf(stderr, "fedge parse: %s\n", e.msg);
            return 2;
        }
        limits.max_message_size = cfg->limits.max_message_size;
        config_free(cfg);
    }
    sip_msg_t *m = fedge_malloc(sizeof(*m)); /* large: keep it off the stack */
    int worst = 0, stdin_used = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
            i++;
            continue;
        }
        if (!strcmp(argv[i], "-") && stdin_used++) {
            fprintf(stderr, "fedge parse: '-' given twice\n");
            worst = 2;
            continue;
        }
        int r = parse_one(argv[i], &limits, m);
        if (r > worst)
            worst = r;
    }
    free(m);
    fflush(stdout);
    return worst;
}
