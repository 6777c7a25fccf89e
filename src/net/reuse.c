/* reuse.c — the connection-reuse index (RFC 5923): finds an open connection
 * by the "host:port" it was opened to, or by a name its peer's verified
 * certificate carries, in constant time however many peers are connected. */
#include <string.h>
#include <strings.h>

#include "net/net_int.h"

/* Keys are host names and addresses a peer's certificate or a Request-URI
 * chooses: hashed under the process key, compared without case. */
static uint64_t hash_key(const char *s)
{
    return fedge_hash_ci((fedge_str_t){s, strlen(s)});
}

static void insert(net_t *n, struct net__alias *a)
{
    fedge_map_insert(&n->aliases, &a->node, hash_key(a->key));
}

static void unlink_alias(net_t *n, struct net__alias *a)
{
    if (!a->key)
        return;
    fedge_map_remove(&n->aliases, &a->node);
    a->key = NULL;
}

void net__reuse_add_target(net_conn_t *c)
{
    struct net__alias *a = &c->target_alias;
    a->conn = c;
    a->key = c->target;
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
        const char *name = i < p->n_dns              ? p->dns[i]
                           : i < p->n_dns + p->n_sip ? p->sip[i - p->n_dns]
                                                     : p->cn;
        if (name[0] == '*') /* wildcards never match (RFC 5922 §7.2) */
            continue;
        struct net__alias *a = &c->name_aliases[k++];
        a->conn = c;
        a->key = name;
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
    fedge_map_free(&n->aliases);
}

/* True when the len bytes of key end in ":digits" outside brackets (a
 * host:port key). One pass back over the digits, with the length the hash
 * needs anyway. */
static bool key_has_port(const char *key, size_t len)
{
    size_t j = len;
    while (j > 0 && key[j - 1] >= '0' && key[j - 1] <= '9')
        j--;
    if (j == len || j == 0 || key[j - 1] != ':')
        return false;
    const char *colon = key + j - 1;
    if (key[0] == '[')
        return colon > key && colon[-1] == ']';
    return !memchr(key, ':', j - 1);
}

struct lookup {
    const char *key;
    bool hp;
};

static bool alias_eq(const fedge_map_node_t *node, const void *key)
{
    const struct net__alias *a = FEDGE_CONTAINER_OF(node, struct net__alias, node);
    const struct lookup *l = key;
    return a->target == l->hp && strcasecmp(a->key, l->key) == 0;
}

net_conn_t *net_find_conn(net_t *n, const void *tag, const char *key)
{
    if (!n || !key || !*key || !fedge_map_count(&n->aliases))
        return NULL;
    size_t len = strlen(key);
    struct lookup l = {key, key_has_port(key, len)};
    net_conn_t *best = NULL;
    uint64_t h = fedge_hash_ci((fedge_str_t){key, len});
    for (fedge_map_node_t *node = fedge_map_find(&n->aliases, h, alias_eq, &l); node;
         node = fedge_map_find_next(&n->aliases, node, alias_eq, &l)) {
        net_conn_t *c = FEDGE_CONTAINER_OF(node, struct net__alias, node)->conn;
        if (c->closing || (tag && c->tag != tag))
            continue;
        if (!best || (c->ready && !best->ready) ||
            (c->ready == best->ready && c->active_ms > best->active_ms))
            best = c;
    }
    return best;
}
