/*
 * storage.h — the core's SQLite store (internal; plugins use <qunbot/store.h>).
 *
 * Owns the database handle, the statement cache, versioned migrations per component,
 * and the batched write transaction: writes open it, qb_store_commit() closes it
 * (called once per loop iteration by the prepare hook and at shutdown).
 */
#ifndef QB_STORAGE_H
#define QB_STORAGE_H

#include <qunbot/event.h>

struct qb_store;
struct sqlite3;
struct sqlite3_stmt;

/* Open or create the database at path (":memory:" for tests), WAL, foreign keys on,
 * busy_timeout, and migrate the core schema. A database written by a newer qunbot is
 * refused. On error returns QB_ESTORE and a one-line reason in err. */
int qb_store_open(const char *path, struct qb_store **out, char *err, size_t errlen);
/* Commit the batch and close. NULL-safe. */
void qb_store_close(struct qb_store *st);
struct sqlite3 *qb_store_db(struct qb_store *st);

/* Bring component's schema to len(migrations) (index 0 = version 1), each step in its
 * own transaction recorded in schema_version. Refuses a stored version newer than known. */
int qb_store_migrate(struct qb_store *st, const char *component, const char *const *migrations,
                     char *err, size_t errlen);
int qb_store_version(struct qb_store *st, const char *component); /* 0 if none */

/* Cached prepared statement (reset, bindings cleared). Borrowed. NULL + log on error.
 * Opens the batch transaction, so writes through it are batched too. */
struct sqlite3_stmt *qb_store_stmt(struct qb_store *st, const char *sql);
/* Open the batch transaction if not open. */
int qb_store_begin(struct qb_store *st);
/* Commit the batch transaction if one is open. */
int qb_store_commit(struct qb_store *st);
/* Is a batch open (uncommitted writes)? */
bool qb_store_pending(const struct qb_store *st);

/* One row of the interaction log. Any string may be NULL. */
struct qb_logrec {
    int64_t time_ms;
    const char
            *direction; /* "in" (event), "out" (action), "result" (action answered), "decision" */
    const char *platform;
    const char *self_id;
    const char *group_id;
    const char *user_id;
    const char *kind; /* event kind name, action name, or decision name */
    const char *message_id;
    const char *text;    /* message plain text, or action text */
    const char *details; /* JSON object text */
};
int qb_store_log(struct qb_store *st, const struct qb_logrec *r);
/* Log an inbound event (its fields, plain text, and raw frame JSON as details). */
int qb_store_log_event(struct qb_store *st, const struct qb_event *ev, const char *raw_json);
/* Remove message text (and raw details) of rows older than before_ms; counts stay.
 * Returns the number of rows changed, or a negative QB_E*. */
int64_t qb_store_prune(struct qb_store *st, int64_t before_ms);
/* Number of interaction rows (for /status and tests). */
int64_t qb_store_count(struct qb_store *st);

/* Namespaced key-value pairs. get returns a malloc'd copy (caller frees) or NULL. */
int qb_store_kv_set(struct qb_store *st, const char *ns, const char *key, const char *value);
char *qb_store_kv_get(struct qb_store *st, const char *ns, const char *key);
int qb_store_kv_del(struct qb_store *st, const char *ns, const char *key);

#endif
