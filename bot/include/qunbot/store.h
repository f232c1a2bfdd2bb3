/*
 * store.h — durable state for plugins: a namespaced key-value store, cached prepared
 * statements on the plugin's own tables, and decision records in the interaction log.
 *
 * All SQL goes through prepared statements. Writes join the core's batched
 * transaction, committed at least once per loop iteration and at shutdown.
 */
#ifndef QUNBOT_STORE_H
#define QUNBOT_STORE_H

#include "event.h"

struct qb_ctx;
struct sqlite3_stmt;

/* A cached prepared statement for sql (reset and cleared, ready to bind), or NULL
 * (logged) on error. Borrowed: do not finalize. sql must be a string literal or
 * otherwise outlive the plugin. */
struct sqlite3_stmt *qb_stmt(struct qb_ctx *c, const char *sql);

/* Key-value store namespaced by plugin. qb_kv_get returns a new string (caller frees)
 * or NULL when absent. */
int qb_kv_set(struct qb_ctx *c, const char *key, const char *value);
char *qb_kv_get(struct qb_ctx *c, const char *key);
int qb_kv_del(struct qb_ctx *c, const char *key);

/* Record a plugin decision about ev (may be NULL) in the interaction log:
 * what = short kind ("checkin", "guard.hit"), details = JSON object text or NULL. */
int qb_audit(struct qb_ctx *c, const struct qb_event *ev, const char *what, const char *details);

#endif
