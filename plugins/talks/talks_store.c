/*
 * talks_store.c — the talks plugin's rows in talks_talks: reading one talk, finding the
 * talk running in a group, the overlap check, inserting (idempotent for rules-file
 * entries by UNIQUE (group_id, source)) and status changes that happen exactly once
 * (guarded by the old status in the UPDATE).
 *
 * Only prepared statements through qb_stmt (cached, never finalized). Owns nothing.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "talks.h"

#define TALK_COLS                                                                                  \
    "id, platform, self_id, group_id, topic, speakers, start_ms, dur_ms, status, muted,"           \
    " at_all_done, source IS NOT NULL"

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    snprintf(out, n, "%s", v ? v : "");
}

static void row_read(sqlite3_stmt *st, struct talks_talk *t)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, t->platform, sizeof t->platform);
    col_copy(st, 2, t->self_id, sizeof t->self_id);
    col_copy(st, 3, t->group_id, sizeof t->group_id);
    col_copy(st, 4, t->topic, sizeof t->topic);
    col_copy(st, 5, t->speakers, sizeof t->speakers);
    t->start_ms = sqlite3_column_int64(st, 6);
    t->dur_ms = sqlite3_column_int64(st, 7);
    col_copy(st, 8, t->status, sizeof t->status);
    t->muted = sqlite3_column_int(st, 9) != 0;
    t->at_all_done = sqlite3_column_int(st, 10) != 0;
    t->from_rules = sqlite3_column_int(st, 11) != 0;
}

static int one_row(sqlite3_stmt *st, struct talks_talk *t)
{
    int rc = sqlite3_step(st) == SQLITE_ROW ? QB_OK : QB_ENOENT;
    if (rc == QB_OK && t)
        row_read(st, t);
    sqlite3_reset(st);
    return rc;
}

int talks_load(struct qb_ctx *c, int64_t id, struct talks_talk *t)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT " TALK_COLS " FROM talks_talks WHERE id = ?");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    return one_row(st, t);
}

int talks_live_at(struct qb_ctx *c, const char *group_id, int64_t ms, struct talks_talk *t)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT " TALK_COLS " FROM talks_talks WHERE group_id = ?"
                                  " AND status IN ('scheduled', 'live') AND start_ms <= ?"
                                  " AND start_ms + dur_ms > ? ORDER BY start_ms LIMIT 1");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ms);
    sqlite3_bind_int64(st, 3, ms);
    return one_row(st, t);
}

int talks_latest(struct qb_ctx *c, const char *group_id, int64_t ms, struct talks_talk *t)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT " TALK_COLS " FROM talks_talks WHERE group_id = ?"
                                  " AND status IN ('scheduled', 'live', 'ended') AND start_ms <= ?"
                                  " ORDER BY start_ms DESC LIMIT 1");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ms);
    return one_row(st, t);
}

bool talks_overlap(struct qb_ctx *c, const char *group_id, int64_t start, int64_t dur,
                   int64_t skip_id, struct talks_talk *other)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT " TALK_COLS " FROM talks_talks WHERE group_id = ?"
                                  " AND status IN ('scheduled', 'live') AND id <> ?"
                                  " AND start_ms < ? AND start_ms + dur_ms > ?"
                                  " ORDER BY start_ms LIMIT 1");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, skip_id);
    sqlite3_bind_int64(st, 3, start + dur);
    sqlite3_bind_int64(st, 4, start);
    return one_row(st, other) == QB_OK;
}

int64_t talks_count(struct qb_ctx *c, const char *sql, int64_t id)
{
    sqlite3_stmt *st = qb_stmt(c, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

int64_t talks_insert(struct qb_ctx *c, const struct talks_talk *t, const char *source,
                     const char *by)
{
    /* ids are MAX + 1: one loop writes, and the SQL stays portable */
    int64_t id = talks_count(c, "SELECT COALESCE(MAX(id), 0) + 1 + 0 * ? FROM talks_talks", 0);
    sqlite3_stmt *st =
            qb_stmt(c, "INSERT INTO talks_talks(id, platform, self_id, group_id, topic, speakers,"
                       " start_ms, dur_ms, status, source, created_by, created_ms)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?)"
                       " ON CONFLICT (group_id, source) DO NOTHING");
    if (!st || id <= 0)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, t->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, t->self_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, t->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, t->topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, t->speakers, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, t->start_ms);
    sqlite3_bind_int64(st, 8, t->dur_ms);
    if (source)
        sqlite3_bind_text(st, 9, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, by ? by : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 11, qb_now(c));
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return QB_ESTORE;
    return changed ? id : 0;
}

int talks_set_status(struct qb_ctx *c, int64_t id, const char *from1, const char *from2,
                     const char *to)
{
    sqlite3_stmt *st = qb_stmt(c, "UPDATE talks_talks SET status = ?, ended_ms = ?"
                                  " WHERE id = ? AND status IN (?, ?)");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_text(st, 1, to, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, strcmp(to, "live") ? qb_now(c) : 0);
    sqlite3_bind_int64(st, 3, id);
    sqlite3_bind_text(st, 4, from1, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, from2, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return QB_ESTORE;
    return changed ? QB_OK : QB_ENOENT;
}

bool talks_is_speaker(const struct talks_talk *t, const char *user_id)
{
    size_t l = strlen(user_id);
    for (const char *p = t->speakers; l && *p;) {
        const char *comma = strchr(p, ',');
        size_t pl = comma ? (size_t)(comma - p) : strlen(p);
        if (pl == l && !strncmp(p, user_id, l))
            return true;
        p += pl + (comma ? 1 : 0);
    }
    return false;
}
