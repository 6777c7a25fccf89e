/* store_int.h — internals shared by the files of src/store: the backend
 * interface (one per database engine) and the snapshot builder. */
#ifndef FEDGE_STORE_INT_H
#define FEDGE_STORE_INT_H

#include "store/store.h"

/* A bound parameter or a result column. */
typedef enum { STORE__NULL = 0, STORE__INT, STORE__TEXT } store__vtype_t;
typedef struct {
    store__vtype_t t;
    int64_t i;
    const char *s; /* STORE__TEXT: NUL-terminated */
} store__val_t;

#define STORE__I(v) ((store__val_t){STORE__INT, (v), NULL})
static inline store__val_t store__s(const char *v)
{
    return (store__val_t){v ? STORE__TEXT : STORE__NULL, 0, v};
}
#define STORE__S(v) store__s(v)

/* Called once per result row; columns valid during the call only. A
 * non-zero return stops the query and is returned by query(). */
typedef int (*store__row_cb)(const store__val_t *cols, size_t ncols, void *ctx);

/* A database engine. SQL handed to exec/query uses ?1, ?2 ... parameters
 * and the portable subset of SQL (a PostgreSQL backend rewrites ?N to $N).
 * Every function returns 0 or FEDGE_ESTORE/FEDGE_EIO with a message. */
typedef struct {
    const char *name;
    /* Opens path; on failure *be untouched and a message names path. */
    int (*open)(const char *path, void **be, fedge_err_t *err);
    void (*close)(void *be);
    /* write: take the write lock now (SQLite BEGIN IMMEDIATE). */
    int (*begin)(void *be, bool write, fedge_err_t *err);
    int (*commit)(void *be, fedge_err_t *err);
    void (*rollback)(void *be);
    /* One statement; *changes (may be NULL) gets the rows changed. */
    int (*exec)(void *be, const char *sql, const store__val_t *args, size_t n, int64_t *changes,
                fedge_err_t *err);
    /* Several statements without parameters (migrations). */
    int (*script)(void *be, const char *sql, fedge_err_t *err);
    int (*query)(void *be, const char *sql, const store__val_t *args, size_t n, store__row_cb cb,
                 void *ctx, fedge_err_t *err);
    /* Committed by another connection since the last call? */
    int (*changed)(void *be, bool *changed, fedge_err_t *err);
    /* Blocks up to timeout_ms for a change notification: 1 when one came
     * (the next changed() reports it), 0 on timeout. NULL: the engine has
     * no notifications (store_wait_change sleeps instead). */
    int (*wait)(void *be, int timeout_ms, fedge_err_t *err);
    /* Migrations of this engine's dialect: migrations[i] brings the schema
     * from version i to i + 1. */
    const char *const *migrations;
    size_t n_migrations;
} store__backend_t;

extern const store__backend_t store__sqlite;
extern const store__backend_t store__pg;

/* Rewrites the ?1, ?2 ... parameters of sql into PostgreSQL's $1, $2 ...
 * outside quoted text, into out (size n). Returns the length, FEDGE_ENOSPC
 * when out is too small, FEDGE_EINVAL for an unterminated quote (pg.c). */
int store__pg_sql(const char *sql, char *out, size_t n);

struct store {
    const store__backend_t *ops;
    void *be;
    bool dirty;  /* this handle committed since the last store_changed */
    bool polled; /* store_changed was called at least once */
    char *path;  /* for messages: a URI is shown without its password */
};

/* Builds a snapshot from the open read transaction of s (snapshot.c). */
int store__snapshot_build(store_t *s, store_snapshot_t **out, fedge_err_t *err);

/* Default edge settings (store.c); the strings are static. */
void store__edge_defaults(store_edge_t *e);

/* Applies one edge setting key/value text to e (store.c), validating it;
 * strings in e point into value. FEDGE_EINVAL names the key. Unknown keys
 * in the store are ignored by the snapshot builder (forward compat). */
int store__edge_apply(store_edge_t *e, const char *key, const char *value, fedge_err_t *err);

/* Checks a change's actor: 1 to STORE_ACTOR_MAX printable ASCII characters
 * without spaces; else FEDGE_EINVAL with a message (store.c). */
int store__check_actor(const char *actor, fedge_err_t *err);

/* One audited change for files of src/store other than store.c: begin
 * checks the actor and takes the write lock; end rolls back when r < 0
 * (returning r), else bumps the generation and commits (store.c). */
int store__tx_begin(store_t *s, const char *actor, fedge_err_t *err);
int store__tx_end(store_t *s, int r, fedge_err_t *err);

/* Writes the current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into at (n >= 21
 * bytes; truncated, not failing, when smaller) (store.c). */
void store__now_text(char *at, size_t n);

/* Appends an audit entry (now, actor, action, object, detail formatted
 * from fmt, truncated to 1023 bytes) inside the open write transaction of
 * s; the backend's error otherwise (store.c). */
int store__audit(store_t *s, const char *actor, const char *action, const char *object,
                 fedge_err_t *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
