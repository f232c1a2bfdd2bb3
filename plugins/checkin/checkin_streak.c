/*
 * checkin_streak.c — what the check-in table says about a member: streaks (runs of
 * consecutive local days, derived from checkin_days with window functions, so they
 * survive restarts and make-ups repair them), the longest run, total days, make-ups
 * used, the day's order, the member's place by all-time points, and their name.
 *
 * Owns no state and writes nothing: read-only SQL through qb_stmt (standard SQL).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "checkin.h"

static void bind_member(sqlite3_stmt *st, const char *platform, const char *group_id,
                        const char *user_id)
{
    sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_TRANSIENT);
}

/* Run a prepared one-number query; 0 when it yields nothing. */
static int64_t one_number(sqlite3_stmt *st)
{
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

int64_t checkin_streak_at(struct qb_ctx *c, const char *platform, const char *group_id,
                          const char *user_id, int64_t day)
{
    /* Newest first, daynum + row number stays day + 1 along the run that ends at day. */
    sqlite3_stmt *st = qb_stmt(
            c, "SELECT COUNT(*) FROM (SELECT daynum + ROW_NUMBER() OVER (ORDER BY daynum DESC)"
               " AS k FROM checkin_days WHERE platform = ? AND group_id = ? AND user_id = ?"
               " AND daynum <= ?) AS runs WHERE k = ?");
    if (!st)
        return 0;
    bind_member(st, platform, group_id, user_id);
    sqlite3_bind_int64(st, 4, day);
    sqlite3_bind_int64(st, 5, day + 1);
    return one_number(st);
}

int64_t checkin_streak_now(struct qb_ctx *c, const char *platform, const char *group_id,
                           const char *user_id, int64_t today)
{
    int64_t n = checkin_streak_at(c, platform, group_id, user_id, today);
    return n ? n : checkin_streak_at(c, platform, group_id, user_id, today - 1);
}

int64_t checkin_longest(struct qb_ctx *c, const char *platform, const char *group_id,
                        const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(
            c, "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM"
               " (SELECT daynum - ROW_NUMBER() OVER (ORDER BY daynum) AS g FROM checkin_days"
               " WHERE platform = ? AND group_id = ? AND user_id = ?) AS runs GROUP BY g) AS lens");
    if (!st)
        return 0;
    bind_member(st, platform, group_id, user_id);
    return one_number(st);
}

int64_t checkin_total_days(struct qb_ctx *c, const char *platform, const char *group_id,
                           const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*) FROM checkin_days WHERE platform = ?"
                                  " AND group_id = ? AND user_id = ?");
    if (!st)
        return 0;
    bind_member(st, platform, group_id, user_id);
    return one_number(st);
}

int64_t checkin_makeups_since(struct qb_ctx *c, const char *platform, const char *group_id,
                              const char *user_id, int64_t since_ms)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*) FROM checkin_days WHERE platform = ?"
                                  " AND group_id = ? AND user_id = ? AND makeup <> 0 AND ts >= ?");
    if (!st)
        return 0;
    bind_member(st, platform, group_id, user_id);
    sqlite3_bind_int64(st, 4, since_ms);
    return one_number(st);
}

bool checkin_has_day(struct qb_ctx *c, const char *platform, const char *group_id,
                     const char *user_id, int64_t day, int64_t *order)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT ord FROM checkin_days WHERE platform = ?"
                                  " AND group_id = ? AND user_id = ? AND daynum = ?");
    if (order)
        *order = 0;
    if (!st)
        return false;
    bind_member(st, platform, group_id, user_id);
    sqlite3_bind_int64(st, 4, day);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found && order)
        *order = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return found;
}

int64_t checkin_rank(struct qb_ctx *c, const char *group_id, const char *user_id, int64_t total)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT COUNT(*) FROM (SELECT user_id FROM points_ledger WHERE group_id = ?"
                       " AND user_id <> ? GROUP BY user_id HAVING SUM(delta) > ?) AS ahead");
    if (!st)
        return 1;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, total);
    return one_number(st) + 1;
}

void checkin_name(struct qb_ctx *c, const char *platform, const char *group_id, const char *user_id,
                  char *out, size_t n)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT name FROM checkin_days WHERE platform = ?"
                                  " AND group_id = ? AND user_id = ? AND name IS NOT NULL"
                                  " AND name <> '' ORDER BY ts DESC LIMIT 1");
    const char *name = NULL;
    if (st) {
        bind_member(st, platform, group_id, user_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            name = (const char *)sqlite3_column_text(st, 0);
    }
    snprintf(out, n, "%s", name && *name ? name : user_id);
    if (st)
        sqlite3_reset(st);
}
