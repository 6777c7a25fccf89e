/* reuse.c — the connection-reuse index (RFC 5923): finds an open connection
 * by the "host:port" it was opened to, or by a name its peer's verified
 * certificate carries, in constant time however many peers are connected. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "net/net_int.h"

static uint32_t hash_key(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a over the lower-cased key */
    for (; *s; s++)
        h = (h ^ (uint32_t)tolower((unsigned char)*s)) * 16777619u;
    return h;
}

static void insert(net_t *n, struct net__alias *a)
{
    if (n->atab_count + 1 > n->atab_size * 2) {
        size_t size = n->atab_size ? n->atab_size * 2 : 256;
        struct net__alias **tab = fedge_calloc(size, sizeof *tab);
        for (size_t i = 0; i < n->atab_size; i++) {
            for (struct net__alias *e = n->atab[i], *nx; e; e = nx) {
                nx = e->next;
                e->next = tab[e->hash & (size - 1)];
                tab[e->hash & (size - 1)] = e;
            }
        }
        free(n->atab);
        n->atab = tab;
        n->atab_size = size;
    }
    struct net__alias **b = &n->atab[a->hash & (n->atab_size - 1)];
    a->next = *b;
    *b = a;
    n->atab_count++;
}

static void unlink_alias(net_t *n, struct net__alias *a)
{
    if (!a->key || !n->atab)
        return;
    for (struct net__alias **pp = &n->atab[a->hash & (n->atab_size - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            n->atab_count--;
            break;
        }
    }
    a->key = NULL;
}

void net__reuse_add_target(net_conn_t *c)
{
    struct net__alias *a = &c->target_alias;
    a->conn = c;
    a->key = c->target;
    a->hash = hash_key(c->target);
    a->target = true;
    insert(c->net, a);
}

void net__reuse_add_names(net_conn_t *c)
{
    const net_peer_t *p = c->peer;
    if (!p || !p->verified)
        return;
    size_t total = p->n_dns + p->n_sip + (p->cn ? 1 : 0);
    if (total == 0)
        return;
    c->name_aliases = fedge_calloc(total, sizeof *c->name_aliases);
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        const char *name = i < p->n_dns                ? p->dns[i]
                           : i < p->n_dns + p->n_sip ? p->sip[i - p->n_dns]
                                                     : p->cn;
        if (name[0] == '*') /* wildcards never match (RFC 5922 §7.2) */
            continue;
        struct net__alias *a = &c->name_aliases[k++];
        a->conn = c;
        a->key = name;
        a->hash = hash_key(name);
        insert(c->net, a);
    }
    c->n_name_aliases = k;
}

void net__reuse_remove(net_conn_t *c)
{
    unlink_alias(c->net, &c->target_alias);
    for (size_t i = 0; i < c->n_name_aliases; i++)
        unlink_alias(c->net, &c->name_aliases[i]);
    free(c->name_aliases);
    c->name_aliases = NULL;
    c->n_name_aliases = 0;
}

void net__reuse_free(net_t *n)
{
    free(n->atab);
    n->atab = NULL;
    n->atab_size = n->atab_count = 0;
}

/* True when key ends in ":digits" outside brackets (a host:port key). */
static bool key_has_port(const char *key)
{
    const char *colon = strrchr(key, ':');
    if (!colon || colon[1] == '\0')
        return false;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    if (key[0] == '[')
        return colon > key && colon[-1] == ']';
    return strchr(key, ':') == colon;
}

net_conn_t *net_find_conn(net_t *n, const void *tag, const char *key)
{
    if (!n || !key || !*key || !n->atab)
        return NULL;
    bool hp = key_has_port(key);
    uint32_t h = hash_key(key);
    net_conn_t *best = NULL;
    for (const struct net__alias *a = n->atab[h & (n->atab_size - 1)]; a; a = a->next) {
        net_conn_t *c = a->conn;
        if (a->hash != h || a->target != hp || strcasecmp(a->key, key) != 0)
            continue;
        if (c->closing || (tag && c->tag != tag))
            continue;
        if (!best || (c->ready && !best->ready) ||
            (c->ready == best->ready && c->active_ms > best->active_ms))
            best = c;
    }
    return best;
}
