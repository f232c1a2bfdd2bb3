/*
 * storage.c — the core's SQLite store: open (WAL), versioned migrations per component,
 * a statement cache, the batched write transaction, the interaction log and the
 * namespaced key-value table.
 *
 * Every write joins one open transaction, committed by qb_store_commit() (the prepare
 * hook calls it once per loop iteration, and the bot at shutdown). SQL only through
 * prepared statements. Keep SQL standard: a PostgreSQL backend will follow.
 */
#include "storage.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define STMT_SLOTS 128

struct stmt_node {
    char *sql;
    sqlite3_stmt *st;
    struct stmt_node *next;
};

struct qb_store {
    sqlite3 *db;
    struct stmt_node *slots[STMT_SLOTS];
    bool in_batch;
};

static const char *const core_migrations[] = {
        /* v1 */
        "CREATE TABLE interactions ("
        " id INTEGER PRIMARY KEY,"
        " ts INTEGER NOT NULL,"
        " direction TEXT NOT NULL,"
        " platform TEXT, self_id TEXT, group_id TEXT, user_id TEXT,"
        " kind TEXT, message_id TEXT, text TEXT, details TEXT);"
        "CREATE INDEX interactions_ts ON interactions(ts);"
        "CREATE INDEX interactions_group_ts ON interactions(group_id, ts);"
        "CREATE INDEX interactions_user_ts ON interactions(user_id, ts);"
        "CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT,"
        " PRIMARY KEY (ns, key));"
        "CREATE TABLE schedules (owner TEXT NOT NULL, key TEXT NOT NULL, cron TEXT, tz TEXT,"
        " next_ms INTEGER NOT NULL, payload TEXT, PRIMARY KEY (owner, key));"
        "CREATE INDEX schedules_next ON schedules(next_ms);",
        /* v2: the shared points ledger (<qunbot/points.h>) */
        "CREATE TABLE points_ledger ("
        " id INTEGER PRIMARY KEY,"
        " ts INTEGER NOT NULL,"
        " platform TEXT NOT NULL,"
        " group_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL,"
        " delta INTEGER NOT NULL,"
        " reason TEXT,"
        " source TEXT NOT NULL,"
        " ref TEXT,"
        " actor TEXT);"
        "CREATE UNIQUE INDEX points_ledger_ref ON points_ledger(source, ref);"
        "CREATE INDEX points_ledger_member ON points_ledger(group_id, user_id, ts);"
        "CREATE INDEX points_ledger_group_ts ON points_ledger(group_id, ts);",
        NULL,
};

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int exec(struct qb_store *st, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return QB_ESTORE;
    }
    return QB_OK;
}

int qb_store_open(const char *path, struct qb_store **out, char *err, size_t errlen)
{
    *out = NULL;
    struct qb_store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return QB_ENOMEM;
    }
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the database %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        qb_store_close(st);
        return QB_ESTORE;
    }
    sqlite3_busy_timeout(st->db, 5000);
    char why[300] = "";
    if (exec(st,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
             " PRAGMA mmap_size=268435456;",
             why, sizeof why) != QB_OK ||
        qb_store_migrate(st, "core", core_migrations, why, sizeof why) != QB_OK) {
        snprintf(err, errlen, "database %s: %s", path, why);
        qb_store_close(st);
        return QB_ESTORE;
    }
    *out = st;
    return QB_OK;
}

void qb_store_close(struct qb_store *st)
{
    if (!st)
        return;
    qb_store_commit(st);
    for (size_t i = 0; i < STMT_SLOTS; i++) {
        struct stmt_node *n = st->slots[i], *next;
        for (; n; n = next) {
            next = n->next;
            sqlite3_finalize(n->st);
            free(n->sql);
            free(n);
        }
    }
    sqlite3_close(st->db);
    free(st);
}

struct sqlite3 *qb_store_db(struct qb_store *st)
{
    return st->db;
}

int qb_store_begin(struct qb_store *st)
{
    if (st->in_batch)
        return QB_OK;
    if (exec(st, "BEGIN", NULL, 0) != QB_OK) {
        qb_log(QB_LOG_WARN, "database: cannot begin a transaction: %s", sqlite3_errmsg(st->db));
        return QB_ESTORE;
    }
    st->in_batch = true;
    return QB_OK;
}

bool qb_store_pending(const struct qb_store *st)
{
    return st && st->in_batch;
}

int qb_store_commit(struct qb_store *st)
{
    if (!st || !st->in_batch)
        return QB_OK;
    st->in_batch = false;
    if (exec(st, "COMMIT", NULL, 0) != QB_OK) {
        qb_log(QB_LOG_ERROR, "database: commit failed: %s", sqlite3_errmsg(st->db));
        exec(st, "ROLLBACK", NULL, 0);
        return QB_ESTORE;
    }
    return QB_OK;
}

/* A statement outside the batch (migrations, version reads). Caller finalizes. */
static sqlite3_stmt *prepare(struct qb_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        qb_log(QB_LOG_WARN, "database: cannot prepare \"%.60s\": %s", sql, sqlite3_errmsg(st->db));
        return NULL;
    }
    return s;
}

int qb_store_version(struct qb_store *st, const char *component)
{
    sqlite3_stmt *s = prepare(st, "SELECT version FROM schema_version WHERE component = ?");
    if (!s)
        return 0;
    sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
    int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return v;
}

static int set_version(struct qb_store *st, const char *component, int v)
{
    sqlite3_stmt *s =
            prepare(st, "INSERT INTO schema_version(component, version) VALUES (?, ?) "
                        "ON CONFLICT(component) DO UPDATE SET version = excluded.version");
    if (!s)
        return QB_ESTORE;
    sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, v);
    int rc = sqlite3_step(s) == SQLITE_DONE ? QB_OK : QB_ESTORE;
    sqlite3_finalize(s);
    return rc;
}

int qb_store_migrate(struct qb_store *st, const char *component, const char *const *migrations,
                     char *err, size_t errlen)
{
    qb_store_commit(st);
    if (exec(st,
             "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY,"
             " version INTEGER NOT NULL)",
             err, errlen) != QB_OK)
        return QB_ESTORE;
    int known = 0;
    while (migrations && migrations[known])
        known++;
    int have = qb_store_version(st, component);
    if (have > known) {
        snprintf(err, errlen,
                 "the database was written by a newer qunbot (%s schema %d, this build knows %d); "
                 "upgrade qunbot or use another database",
                 component, have, known);
        return QB_ESTORE;
    }
    for (int v = have + 1; v <= known; v++) {
        char why[300] = "";
        if (exec(st, "BEGIN", why, sizeof why) != QB_OK ||
            exec(st, migrations[v - 1], why, sizeof why) != QB_OK ||
            set_version(st, component, v) != QB_OK ||
            exec(st, "COMMIT", why, sizeof why) != QB_OK) {
            exec(st, "ROLLBACK", NULL, 0);
            snprintf(err, errlen, "%s schema step %d failed: %s", component, v,
                     why[0] ? why : sqlite3_errmsg(st->db));
            return QB_ESTORE;
        }
        qb_log(QB_LOG_DEBUG, "database: %s schema is now version %d", component, v);
    }
    return QB_OK;
}

struct sqlite3_stmt *qb_store_stmt(struct qb_store *st, const char *sql)
{
    size_t slot = hash_sql(sql) % STMT_SLOTS;
    struct stmt_node *n = st->slots[slot];
    while (n && strcmp(n->sql, sql))
        n = n->next;
    if (!n) {
        sqlite3_stmt *s = prepare(st, sql);
        if (!s)
            return NULL;
        n = calloc(1, sizeof *n);
        if (!n || !(n->sql = strdup(sql))) {
            free(n);
            sqlite3_finalize(s);
            return NULL;
        }
        n->st = s;
        n->next = st->slots[slot];
        st->slots[slot] = n;
    }
    sqlite3_reset(n->st);
    sqlite3_clear_bindings(n->st);
    if (!sqlite3_stmt_readonly(n->st))
        qb_store_begin(st);
    return n->st;
}

/* Run a write statement to its end and reset it; a failure is logged here, once. */
static int step_done(struct qb_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return QB_OK;
    qb_log(QB_LOG_WARN, "database: cannot %s: %s", what, sqlite3_errmsg(st->db));
    return QB_ESTORE;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

int qb_store_log(struct qb_store *st, const struct qb_logrec *r)
{
    sqlite3_stmt *s = qb_store_stmt(st, "INSERT INTO interactions(ts, direction, platform, self_id,"
                                        " group_id, user_id, kind, message_id, text, details)"
                                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s)
        return QB_ESTORE;
    sqlite3_bind_int64(s, 1, r->time_ms ? r->time_ms : qb_clock_now());
    sqlite3_bind_text(s, 2, r->direction ? r->direction : "in", -1, SQLITE_TRANSIENT);
    bind_opt(s, 3, r->platform);
    bind_opt(s, 4, r->self_id);
    bind_opt(s, 5, r->group_id);
    bind_opt(s, 6, r->user_id);
    bind_opt(s, 7, r->kind);
    bind_opt(s, 8, r->message_id);
    bind_opt(s, 9, r->text);
    bind_opt(s, 10, r->details);
    return step_done(st, s, "log an interaction");
}

int qb_store_log_event(struct qb_store *st, const struct qb_event *ev, const char *raw_json)
{
    const char *kind = ev->kind == QB_EV_UNKNOWN || ev->kind == QB_EV_NOTICE
                               ? ev->name
                               : qb_event_kind_name(ev->kind);
    const char *text = ev->msg.plain && ev->msg.plain[0] ? ev->msg.plain : ev->text;
    struct qb_logrec r = {
            .time_ms = ev->time_ms,
            .direction = "in",
            .platform = ev->platform,
            .self_id = ev->self_id,
            .group_id = ev->group_id,
            .user_id = ev->user_id,
            .kind = kind,
            .message_id = ev->message_id,
            .text = text,
            .details = raw_json,
    };
    return qb_store_log(st, &r);
}

int64_t qb_store_prune(struct qb_store *st, int64_t before_ms)
{
    sqlite3_stmt *s =
            qb_store_stmt(st, "UPDATE interactions SET text = NULL, details = NULL"
                              " WHERE ts < ? AND (text IS NOT NULL OR details IS NOT NULL)"
                              " AND direction IN ('in', 'out')");
    if (!s)
        return QB_ESTORE;
    sqlite3_bind_int64(s, 1, before_ms);
    int rc = step_done(st, s, "remove old message text");
    return rc == QB_OK ? sqlite3_changes(st->db) : rc;
}

int64_t qb_store_count(struct qb_store *st)
{
    sqlite3_stmt *s = qb_store_stmt(st, "SELECT COUNT(*) FROM interactions");
    if (!s)
        return QB_ESTORE;
    int rc = sqlite3_step(s);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : QB_ESTORE;
    if (rc != SQLITE_ROW)
        qb_log(QB_LOG_WARN, "database: cannot count interactions: %s", sqlite3_errmsg(st->db));
    sqlite3_reset(s);
    return n;
}

int qb_store_kv_set(struct qb_store *st, const char *ns, const char *key, const char *value)
{
    sqlite3_stmt *s =
            qb_store_stmt(st, "INSERT INTO kv(ns, key, value) VALUES (?, ?, ?)"
                              " ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value");
    if (!s)
        return QB_ESTORE;
    sqlite3_bind_text(s, 1, ns, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, value, -1, SQLITE_TRANSIENT);
    return step_done(st, s, "save a setting");
}

char *qb_store_kv_get(struct qb_store *st, const char *ns, const char *key)
{
    sqlite3_stmt *s = qb_store_stmt(st, "SELECT value FROM kv WHERE ns = ? AND key = ?");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, ns, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    char *v = NULL;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = qb_strdup((const char *)sqlite3_column_text(s, 0));
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        qb_log(QB_LOG_WARN, "database: cannot read a setting: %s", sqlite3_errmsg(st->db));
    sqlite3_reset(s);
    return v;
}

int qb_store_kv_del(struct qb_store *st, const char *ns, const char *key)
{
    sqlite3_stmt *s = qb_store_stmt(st, "DELETE FROM kv WHERE ns = ? AND key = ?");
    if (!s)
        return QB_ESTORE;
    sqlite3_bind_text(s, 1, ns, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    return step_done(st, s, "delete a setting");
}
