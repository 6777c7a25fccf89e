/* outbound.c — where a request leaving the edge goes when DNS decides it:
 * candidates from SRV/A/AAAA in RFC 2782 order, the failed-target skip
 * table, the server certificate rules (RFC 5922 §7.3 and the Lync rule)
 * and the Warning text naming what was tried and why. */
#include "proxy/proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* ------------------------------------------------------------------ */
/* Server certificate rules                                            */
/* ------------------------------------------------------------------ */

bool proxy_expect_check(const proxy_expect_t *x, const net_peer_t *peer, char *why, size_t cap)
{
    if (cap)
        why[0] = 0;
    if (x->mode == PROXY_EXPECT_NONE)
        return true;
    if (!peer || !peer->presented) {
        snprintf(why, cap, "presented no certificate");
        return false;
    }
    if (!peer->verified) {
        snprintf(why, cap, "certificate not verified: %s",
                 peer->verify_error ? peer->verify_error : "unknown reason");
        return false;
    }
    switch (x->mode) {
    case PROXY_EXPECT_NONE: return true;
    case PROXY_EXPECT_NAME:
        if (net_peer_names(peer, x->host))
            return true;
        snprintf(why, cap, "certificate does not name %s", x->host);
        return false;
    case PROXY_EXPECT_PARTNER:
        /* RFC 5922 §7.3: the domain itself, as a SIP domain identity */
        if (net_peer_is_domain(peer, x->domain))
            return true;
        /* the Lync/SfB rule: the SRV target we connected to, in D */
        if (dns_name_in_domain(x->host, x->domain)) {
            if (net_peer_names(peer, x->host))
                return true;
            snprintf(why, cap, "certificate does not name %s or %s", x->domain, x->host);
        } else {
            snprintf(why, cap, "certificate does not name %s, and %s is outside %s", x->domain,
                     x->host, x->domain);
        }
        return false;
    case PROXY_EXPECT_EXISTING: return true; /* verified above */
    case PROXY_EXPECT_NAME_OR_DOMAIN:
        if (net_peer_names(peer, x->host) || net_peer_names(peer, x->domain))
            return true;
        snprintf(why, cap, "certificate does not name %s or %s", x->domain, x->host);
        return false;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Skip table                                                          */
/* ------------------------------------------------------------------ */

static void skip_drop(proxy__skip_t *s, size_t i)
{
    s->e[i] = s->e[--s->n];
}

const proxy__skip_ent_t *proxy__skip_find(proxy__skip_t *s, const char *key, uint64_t now)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->e[i].key, key))
            continue;
        if (s->e[i].until <= now) {
            skip_drop(s, i);
            return NULL;
        }
        return &s->e[i];
    }
    return NULL;
}

void proxy__skip_add(proxy__skip_t *s, const char *key, uint64_t now, unsigned ms, const char *why)
{
    if (!ms)
        return;
    proxy__skip_ent_t *e = NULL;
    for (size_t i = 0; i < s->n && !e; i++)
        if (!strcmp(s->e[i].key, key))
            e = &s->e[i];
    if (!e) {
        /* drop what has expired, then make room */
        for (size_t i = 0; i < s->n;)
            if (s->e[i].until <= now)
                skip_drop(s, i);
            else
                i++;
        if (s->n == PROXY__SKIP_MAX) {
            size_t m = 0;
            for (size_t i = 1; i < s->n; i++)
                if (s->e[i].until < s->e[m].until)
                    m = i;
            skip_drop(s, m);
        }
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            s->e = fedge_realloc(s->e, s->cap * sizeof(*s->e));
        }
        e = &s->e[s->n++];
        snprintf(e->key, sizeof(e->key), "%s", key);
    }
    e->since = now;
    e->until = now + ms;
    snprintf(e->why, sizeof(e->why), "%s", why ? why : "failed");
}

void proxy__skip_free(proxy__skip_t *s)
{
    free(s->e);
    s->e = NULL;
    s->n = s->cap = 0;
}

void proxy__cand_key(const proxy__cand_t *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%u/%s", c->host, c->port, c->addr);
}

/* ------------------------------------------------------------------ */
/* Candidates                                                          */
/* ------------------------------------------------------------------ */

proxy__out_t *proxy__out_new(proxy__out_kind_t kind, bool tls, const char *domain, const char *host,
                             uint16_t port, const char *expect_peer)
{
    proxy__out_t *ob = fedge_calloc(1, sizeof(*ob));
    ob->kind = kind;
    ob->tls = tls;
    snprintf(ob->domain, sizeof(ob->domain), "%s", domain ? domain : "");
    snprintf(ob->host, sizeof(ob->host), "%s", host ? host : "");
    ob->port = port;
    snprintf(ob->expect_peer, sizeof(ob->expect_peer), "%s", expect_peer ? expect_peer : "");
    return ob;
}

void proxy__out_cancel(proxy__out_t *ob)
{
    if (ob && ob->req) {
        dns_cancel(ob->req);
        ob->req = NULL;
    }
}

void proxy__out_free(proxy__out_t *ob)
{
    if (!ob)
        return;
    proxy__out_cancel(ob);
    free(ob->rt);
    free(ob->cands);
    free(ob);
}

static proxy__cand_t *cand_add(proxy__out_t *ob, size_t *cap)
{
    if (ob->ncands == PROXY__OUT_MAX_CANDS)
        return NULL;
    if (ob->ncands == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        ob->cands = fedge_realloc(ob->cands, *cap * sizeof(*ob->cands));
    }
    proxy__cand_t *c = &ob->cands[ob->ncands++];
    memset(c, 0, sizeof(*c));
    return c;
}

/* Builds ob's candidates from ob->rt in order: one per address, one noting
 * a target without address. */
static void build_cands(proxy__out_t *ob)
{
    free(ob->cands);
    ob->cands = NULL;
    ob->ncands = ob->next = 0;
    ob->cur = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < ob->nrt; i++) {
        const proxy__rtarget_t *t = &ob->rt[i];
        if (!t->ok || !t->naddrs) {
            proxy__cand_t *c = cand_add(ob, &cap);
            if (!c)
                return;
            snprintf(c->host, sizeof(c->host), "%s", t->host);
            c->port = t->port;
            c->no_address = true;
            snprintf(c->addr, sizeof(c->addr), "%s", t->ok ? "no address" : t->why);
            continue;
        }
        for (unsigned k = 0; k < t->naddrs; k++) {
            proxy__cand_t *c = cand_add(ob, &cap);
            if (!c)
                return;
            snprintf(c->host, sizeof(c->host), "%s", t->host);
            c->port = t->port;
            c->multi = t->naddrs > 1;
            snprintf(c->addr, sizeof(c->addr), "%s", t->addrs[k]);
        }
    }
}

void proxy__out_set_route(proxy__out_t *ob, const dns_route_result_t *res)
{
    free(ob->rt);
    ob->rt = NULL;
    ob->nrt = 0;
    ob->state = 2;
    ob->dns_fail[0] = 0;
    ob->ttl = res->ttl;
    if (res->status != DNS_OK || !res->n) {
        snprintf(ob->dns_fail, sizeof(ob->dns_fail), "DNS %s %s: %s%s%s",
                 res->fallback ? "A/AAAA" : "SRV", res->name,
                 res->status == DNS_OK ? "no usable record" : dns_status_str(res->status),
                 res->detail && res->detail[0] ? " " : "", res->detail ? res->detail : "");
        build_cands(ob);
        return;
    }
    ob->rt = fedge_calloc(res->n, sizeof(*ob->rt));
    for (size_t i = 0; i < res->n; i++) {
        const dns_target_t *t = &res->targets[i];
        proxy__rtarget_t *r = &ob->rt[ob->nrt++];
        snprintf(r->host, sizeof(r->host), "%s", t->target);
        r->port = t->port;
        r->priority = t->priority;
        r->weight = t->weight;
        r->ok = t->status == DNS_OK && t->n;
        snprintf(r->why, sizeof(r->why), "%s", dns_status_str(t->status));
        for (size_t k = 0; k < t->n && r->naddrs < PROXY__RT_ADDRS; k++)
            dns_addr_str(&t->addrs[k], r->addrs[r->naddrs++], sizeof(r->addrs[0]));
    }
    build_cands(ob);
}

/* ---- route cache ---- */

static void rcache_key(const proxy__out_t *ob, char *out, size_t cap)
{
    snprintf(out, cap, "%d%d|%s|%s|%u", (int)ob->kind, ob->tls ? 1 : 0, ob->domain, ob->host,
             ob->port);
}

static proxy__rcache_ent_t *rcache_slot(proxy__rcache_t *c, const char *key)
{
    if (!c->slot)
        c->slot = fedge_calloc(PROXY__RCACHE_SLOTS, sizeof(*c->slot));
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *k = key; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 0x100000001b3ull;
    }
    return &c->slot[h % PROXY__RCACHE_SLOTS];
}

void proxy__rcache_put(proxy__rcache_t *c, const proxy__out_t *ob, uint64_t now)
{
    if (ob->dns_fail[0] || !ob->nrt || !ob->ttl)
        return;
    uint64_t ms = (uint64_t)ob->ttl * 1000;
    for (size_t i = 0; i < ob->nrt; i++)
        if (!ob->rt[i].ok && ms > 5000)
            ms = 5000; /* a target without address: ask again soon */
    char key[sizeof(((proxy__rcache_ent_t *)0)->key)];
    rcache_key(ob, key, sizeof(key));
    proxy__rcache_ent_t *e = rcache_slot(c, key);
    free(e->t);
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->until = now + ms;
    e->n = ob->nrt;
    e->t = fedge_malloc(ob->nrt * sizeof(*e->t));
    memcpy(e->t, ob->rt, ob->nrt * sizeof(*e->t));
}

static uint32_t rc_rng(void *ctx)
{
    uint64_t *s = ctx; /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

bool proxy__rcache_get(proxy__rcache_t *c, proxy__out_t *ob, uint64_t now)
{
    char key[sizeof(((proxy__rcache_ent_t *)0)->key)];
    rcache_key(ob, key, sizeof(key));
    proxy__rcache_ent_t *e = rcache_slot(c, key);
    if (!e->t || e->until <= now || strcmp(e->key, key)) {
        c->misses++;
        return false;
    }
    c->hits++;
    if (!c->rng) {
        if (getrandom(&c->rng, sizeof(c->rng), 0) != (ssize_t)sizeof(c->rng))
            c->rng = (uint64_t)(uintptr_t)c ^ now;
        c->rng |= 1;
    }
    /* a fresh RFC 2782 draw over the cached records */
    dns_srv_t recs[PROXY__OUT_MAX_CANDS];
    size_t idx[PROXY__OUT_MAX_CANDS];
    size_t n = e->n < PROXY__OUT_MAX_CANDS ? e->n : PROXY__OUT_MAX_CANDS;
    for (size_t i = 0; i < n; i++)
        recs[i] = (dns_srv_t){e->t[i].priority, e->t[i].weight, e->t[i].port, 0, e->t[i].host};
    size_t k = dns_srv_order(recs, n, rc_rng, &c->rng, idx);
    free(ob->rt);
    ob->rt = fedge_malloc((k ? k : 1) * sizeof(*ob->rt));
    ob->nrt = k;
    for (size_t i = 0; i < k; i++)
        ob->rt[i] = e->t[idx[i]];
    ob->ttl = (uint32_t)((e->until - now) / 1000);
    ob->dns_fail[0] = 0;
    ob->state = 2;
    build_cands(ob);
    return true;
}

void proxy__rcache_free(proxy__rcache_t *c)
{
    if (c->slot)
        for (size_t i = 0; i < PROXY__RCACHE_SLOTS; i++)
            free(c->slot[i].t);
    free(c->slot);
    c->slot = NULL;
}

static void on_route(void *arg, const dns_route_result_t *res)
{
    proxy__out_t *ob = arg;
    ob->req = NULL;
    proxy__out_set_route(ob, res);
    ob->done(ob->arg);
}

/* The A/AAAA look-up of an FQDN route, shaped as a one-target route. */
static void on_host(void *arg, const dns_host_result_t *res)
{
    proxy__out_t *ob = arg;
    dns_target_t t = {
        ob->host,  ob->port ? ob->port : 5061, 0, 0, 0, res->status, res->detail, res->n,
        res->addrs};
    dns_route_result_t r = {DNS_OK, res->name, "", res->cached, true, res->ttl, 1, &t};
    if (res->status != DNS_OK) {
        r.status = res->status;
        r.detail = res->detail;
        r.n = 0;
    }
    on_route(arg, &r);
}

int proxy__out_resolve(proxy__out_t *ob, dns_t *dns, void (*done)(void *arg), void *arg)
{
    ob->done = done;
    ob->arg = arg;
    ob->state = 1;
    int rc = FEDGE_EINVAL;
    if (!dns) {
        ob->state = 2;
        snprintf(ob->dns_fail, sizeof(ob->dns_fail), "no DNS resolver configured");
        return FEDGE_EINVAL;
    }
    switch (ob->kind) {
    case PROXY__OUT_SRV:
        rc = dns_resolve_route(dns, DNS_SIPFED_PREFIX, ob->domain, 0, DNS_AF_ANY, on_route, ob,
                               &ob->req);
        break;
    case PROXY__OUT_HOP:
        rc = dns_resolve_route(dns, ob->tls ? DNS_SIPS_PREFIX : "_sip._tcp.", ob->domain,
                               ob->tls ? 5061 : 5060, DNS_AF_ANY, on_route, ob, &ob->req);
        break;
    case PROXY__OUT_FQDN:
        rc = dns_resolve_host(dns, ob->host, DNS_AF_ANY, on_host, ob, &ob->req);
        break;
    }
    if (rc < 0) {
        ob->req = NULL;
        ob->state = 2;
        snprintf(ob->dns_fail, sizeof(ob->dns_fail), "cannot look up %s: %s",
                 ob->kind == PROXY__OUT_FQDN ? ob->host : ob->domain, fedge_strerror(rc));
    }
    return rc;
}

static void fill_expect(proxy__out_t *ob, const proxy__cand_t *c)
{
    proxy_expect_t *x = &ob->expect;
    snprintf(x->domain, sizeof(x->domain), "%s", ob->domain);
    snprintf(x->host, sizeof(x->host), "%s", c->host);
    if (!ob->tls) {
        x->mode = PROXY_EXPECT_NONE;
        return;
    }
    switch (ob->kind) {
    case PROXY__OUT_SRV:
        if (ob->expect_peer[0]) {
            x->mode = PROXY_EXPECT_NAME;
            snprintf(x->host, sizeof(x->host), "%s", ob->expect_peer);
        } else {
            x->mode = PROXY_EXPECT_PARTNER;
        }
        break;
    case PROXY__OUT_FQDN:
        if (fedge_host_is_ip(c->host)) {
            x->mode = PROXY_EXPECT_EXISTING; /* no name to check a new one by */
            break;
        }
        x->mode = PROXY_EXPECT_NAME;
        snprintf(x->host, sizeof(x->host), "%s", ob->expect_peer[0] ? ob->expect_peer : ob->host);
        break;
    case PROXY__OUT_HOP: x->mode = PROXY_EXPECT_NAME_OR_DOMAIN; break;
    }
}

const proxy__cand_t *proxy__out_next(proxy__out_t *ob, proxy__skip_t *s, uint64_t now)
{
    ob->cur = NULL;
    while (ob->next < ob->ncands) {
        const proxy__cand_t *c = &ob->cands[ob->next++];
        if (c->no_address) {
            char w[96];
            snprintf(w, sizeof(w), "has no address (%s)", c->addr);
            proxy__out_note(ob, c, w);
            continue;
        }
        char key[sizeof(((proxy__skip_ent_t *)0)->key)];
        proxy__cand_key(c, key, sizeof(key));
        const proxy__skip_ent_t *e = proxy__skip_find(s, key, now);
        if (e) {
            char w[256];
            snprintf(w, sizeof(w), "skipped: failed %llus ago (%s)",
                     (unsigned long long)((now - e->since) / 1000), e->why);
            proxy__out_note(ob, c, w);
            continue;
        }
        ob->cur = c;
        fill_expect(ob, c);
        return c;
    }
    return NULL;
}

void proxy__out_note(proxy__out_t *ob, const proxy__cand_t *c, const char *why)
{
    char one[512];
    int n;
    if (c->multi)
        n = snprintf(one, sizeof(one), "%s%s:%u (%s) %s", ob->notes_len ? "; " : "", c->host,
                     c->port, c->addr, why);
    else
        n = snprintf(one, sizeof(one), "%s%s:%u %s", ob->notes_len ? "; " : "", c->host, c->port,
                     why);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(one) ? (size_t)n : sizeof(one) - 1;
    if (ob->ndropped || ob->notes_len + len >= sizeof(ob->notes)) {
        ob->ndropped++;
        return;
    }
    memcpy(ob->notes + ob->notes_len, one, len + 1);
    ob->notes_len += len;
}

void proxy__out_fail(proxy__out_t *ob, proxy__skip_t *s, uint64_t now, unsigned skip_ms,
                     const char *why)
{
    if (!ob->cur)
        return;
    proxy__out_note(ob, ob->cur, why);
    char key[sizeof(((proxy__skip_ent_t *)0)->key)];
    proxy__cand_key(ob->cur, key, sizeof(key));
    proxy__skip_add(s, key, now, skip_ms, why);
    ob->cur = NULL;
}

void proxy__out_warning(const proxy__out_t *ob, char *out, size_t cap)
{
    if (!cap)
        return;
    const char *what = ob->kind == PROXY__OUT_HOP ? "next hop" : "edge";
    const char *d = ob->kind == PROXY__OUT_FQDN && !ob->domain[0] ? ob->host : ob->domain;
    char full[2048 + 1024];
    if (ob->dns_fail[0] && !ob->notes_len)
        snprintf(full, sizeof(full), "no usable %s for %s: %s", what, d, ob->dns_fail);
    else if (!ob->notes_len)
        snprintf(full, sizeof(full), "no usable %s for %s: no target", what, d);
    else
        snprintf(full, sizeof(full), "no usable %s for %s: %s%s", what, d, ob->notes,
                 ob->ndropped ? "; ..." : "");
    size_t len = strlen(full);
    if (len < cap) {
        memcpy(out, full, len + 1);
        return;
    }
    /* too long: cut after the last whole note that fits, then "; ..." */
    static const char more[] = "; ...";
    if (cap < sizeof(more)) {
        out[0] = 0;
        return;
    }
    size_t lim = cap - sizeof(more); /* room for the marker and the NUL */
    size_t cut = lim;
    while (cut > 0 && !(full[cut] == ';' && full[cut + 1] == ' '))
        cut--;
    if (!cut)
        cut = lim;
    memcpy(out, full, cut);
    memcpy(out + cut, more, sizeof(more));
}
