/*
 * points.c — the points ledger behind <qunbot/points.h>: one audited row per change,
 * idempotent by (source plugin, ref) through a unique index.
 */
#include <sqlite3.h>

#include "core.h"
#include "storage.h"

int qb_points_add(struct qb_ctx *c, const char *group_id, const char *user_id, int64_t delta,
                  const char *reason, const char *ref, const char *actor)
{
    if (qb_str_empty(group_id) || qb_str_empty(user_id))
        return QB_EINVAL;
    sqlite3_stmt *st = qb_store_stmt(c->bot->store,
                                     "INSERT INTO points_ledger(ts, platform, group_id, user_id,"
                                     " delta, reason, source, ref, actor)"
                                     " VALUES (?, 'qq', ?, ?, ?, ?, ?, ?, ?)"
                                     " ON CONFLICT(source, ref) DO NOTHING");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, qb_clock_now());
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, delta);
    sqlite3_bind_text(st, 5, reason ? reason : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, qb_plugin_name(c), -1, SQLITE_TRANSIENT);
    if (ref)
        sqlite3_bind_text(st, 7, ref, -1, SQLITE_TRANSIENT);
    if (actor)
        sqlite3_bind_text(st, 8, actor, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return QB_ESTORE;
    return sqlite3_changes(qb_store_db(c->bot->store)) ? QB_OK : QB_EEXIST;
}

int64_t qb_points_sum(struct qb_ctx *c, const char *group_id, const char *user_id, int64_t since_ms,
                      int64_t until_ms)
{
    sqlite3_stmt *st = qb_store_stmt(c->bot->store,
                                     "SELECT COALESCE(SUM(delta), 0) FROM points_ledger"
                                     " WHERE group_id = ? AND user_id = ? AND ts >= ? AND ts < ?");
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, since_ms);
    sqlite3_bind_int64(st, 4, until_ms > 0 ? until_ms : INT64_MAX);
    int64_t sum = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return sum;
}
