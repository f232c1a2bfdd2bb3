/*
 * signup_list.c — the sign-up plugin's tables: lists (signup_lists, at most one open list
 * per name per group by a partial UNIQUE index) and members (signup_entries, exactly one
 * row per member per list by UNIQUE; leaving marks the row, joining again reuses it).
 *
 * Owns no memory beyond what callers free (signup_entries_load). Only prepared statements
 * through qb_stmt, standard SQL (ids are allocated here, not by the database). Sign-up
 * order is the seq column; the first cap active members are in, the rest wait.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signup.h"

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    snprintf(out, n, "%s", v ? v : "");
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Columns: id, cap, open, platform, self_id, group_id, name, closed_at. */
static void read_list(sqlite3_stmt *st, struct signup_list *l)
{
    memset(l, 0, sizeof *l);
    l->id = sqlite3_column_int64(st, 0);
    l->cap = sqlite3_column_int64(st, 1);
    l->open = sqlite3_column_int(st, 2) != 0;
    col_text(st, 3, l->platform, sizeof l->platform);
    col_text(st, 4, l->self_id, sizeof l->self_id);
    col_text(st, 5, l->group_id, sizeof l->group_id);
    col_text(st, 6, l->name, sizeof l->name);
    l->closed_at = sqlite3_column_int64(st, 7);
}

#define LIST_COLS                                                                                  \
    "SELECT id, cap, CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END, platform, self_id,"            \
    " group_id, name, COALESCE(closed_at, 0) FROM signup_lists "

static int step_list(sqlite3_stmt *st, struct signup_list *out)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_list(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? QB_OK : rc == SQLITE_DONE ? QB_ENOENT : QB_ESTORE;
}

int signup_find(struct qb_ctx *c, const struct qb_event *ev, const char *name_or_id,
                struct signup_list *out)
{
    sqlite3_stmt *st;
    if (all_digits(name_or_id)) {
        st = qb_stmt(c, LIST_COLS "WHERE platform = ? AND group_id = ? AND id = ?");
        if (!st)
            return QB_ESTORE;
        sqlite3_bind_int64(st, 3, strtoll(name_or_id, NULL, 10));
    } else {
        st = qb_stmt(c, LIST_COLS "WHERE platform = ? AND group_id = ? AND name = ?"
                                  " ORDER BY CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END,"
                                  " id DESC LIMIT 1");
        if (!st)
            return QB_ESTORE;
        bind_text(st, 3, name_or_id);
    }
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    return step_list(st, out);
}

int signup_load(struct qb_ctx *c, int64_t list_id, struct signup_list *out)
{
    sqlite3_stmt *st = qb_stmt(c, LIST_COLS "WHERE id = ?");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, list_id);
    return step_list(st, out);
}

int signup_latest(struct qb_ctx *c, const struct qb_event *ev, struct signup_list *out)
{
    sqlite3_stmt *st = qb_stmt(c, LIST_COLS "WHERE platform = ? AND group_id = ?"
                                            " ORDER BY id DESC LIMIT 1");
    if (!st)
        return QB_ESTORE;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    return step_list(st, out);
}

int signup_open_lists(struct qb_ctx *c, const struct qb_event *ev, struct signup_list *out, int max)
{
    sqlite3_stmt *st = qb_stmt(c, LIST_COLS "WHERE platform = ? AND group_id = ?"
                                            " AND closed_at IS NULL ORDER BY id");
    if (!st)
        return QB_ESTORE;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max)
        read_list(st, &out[n++]);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : QB_ESTORE;
}

int signup_create(struct qb_ctx *c, const struct qb_event *ev, const char *name, int64_t cap,
                  struct signup_list *out)
{
    struct signup_list old;
    int rc = signup_find(c, ev, name, &old);
    if (rc == QB_OK && old.open) {
        *out = old;
        return QB_EEXIST;
    }
    if (rc == QB_ESTORE)
        return rc;
    sqlite3_stmt *st = qb_stmt(c, "SELECT COALESCE(MAX(id), 0) + 1 FROM signup_lists");
    if (!st)
        return QB_ESTORE;
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    st = qb_stmt(c, "INSERT INTO signup_lists(id, platform, self_id, group_id, name, cap,"
                    " opened_by, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st || id <= 0)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, ev->platform);
    bind_text(st, 3, ev->self_id);
    bind_text(st, 4, ev->group_id);
    bind_text(st, 5, name);
    sqlite3_bind_int64(st, 6, cap);
    bind_text(st, 7, ev->user_id);
    sqlite3_bind_int64(st, 8, qb_now(c));
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return QB_ESTORE;
    return signup_load(c, id, out);
}

int signup_close(struct qb_ctx *c, int64_t list_id, int64_t now)
{
    sqlite3_stmt *st = qb_stmt(c, "UPDATE signup_lists SET closed_at = ?"
                                  " WHERE id = ? AND closed_at IS NULL");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, list_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QB_OK : QB_ESTORE;
}

/* ---- entries ---- */

struct row {
    bool found, active;
    char message_id[QB_ID_MAX], left_msg[QB_ID_MAX];
};

static int read_row(struct qb_ctx *c, int64_t list_id, const char *user_id, struct row *r)
{
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = qb_stmt(c, "SELECT CASE WHEN left_at IS NULL THEN 1 ELSE 0 END,"
                                  " message_id, left_msg FROM signup_entries"
                                  " WHERE list_id = ? AND user_id = ?");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, list_id);
    bind_text(st, 2, user_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r->found = true;
        r->active = sqlite3_column_int(st, 0) != 0;
        col_text(st, 1, r->message_id, sizeof r->message_id);
        col_text(st, 2, r->left_msg, sizeof r->left_msg);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? QB_OK : QB_ESTORE;
}

static int64_t next_seq(struct qb_ctx *c, int64_t list_id)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT COALESCE(MAX(seq), 0) + 1 FROM signup_entries WHERE list_id = ?");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, list_id);
    int64_t seq = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return seq;
}

static bool same_message(const char *stored, const struct qb_event *ev)
{
    return ev->message_id[0] && !strcmp(stored, ev->message_id);
}

enum signup_join signup_join(struct qb_ctx *c, const struct qb_event *ev,
                             const struct signup_list *l, const char *note)
{
    struct row r;
    if (read_row(c, l->id, ev->user_id, &r) != QB_OK)
        return SIGNUP_FAILED;
    if (r.found && same_message(r.message_id, ev))
        return SIGNUP_REPEAT;
    if (r.found && r.active)
        return SIGNUP_ALREADY;
    int64_t seq = next_seq(c, l->id);
    if (seq <= 0)
        return SIGNUP_FAILED;
    char name[128];
    signup_clean(ev->sender_name[0] ? ev->sender_name : ev->user_id, 40, name, sizeof name);
    sqlite3_stmt *st =
            r.found ? qb_stmt(c, "UPDATE signup_entries SET seq = ?, name = ?, note = ?, ts = ?,"
                                 " message_id = ?, left_at = NULL, left_msg = NULL"
                                 " WHERE list_id = ? AND user_id = ?")
                    : qb_stmt(c, "INSERT INTO signup_entries(seq, name, note, ts, message_id,"
                                 " list_id, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
                                 " ON CONFLICT (list_id, user_id) DO NOTHING");
    if (!st)
        return SIGNUP_FAILED;
    sqlite3_bind_int64(st, 1, seq);
    bind_text(st, 2, name);
    bind_text(st, 3, note);
    sqlite3_bind_int64(st, 4, ev->backfilled && ev->time_ms > 0 ? ev->time_ms : qb_now(c));
    bind_text(st, 5, ev->message_id);
    sqlite3_bind_int64(st, 6, l->id);
    bind_text(st, 7, ev->user_id);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return SIGNUP_FAILED;
    return changed ? SIGNUP_JOINED : SIGNUP_ALREADY;
}

static int64_t active_count(struct qb_ctx *c, int64_t list_id)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*) FROM signup_entries"
                                  " WHERE list_id = ? AND left_at IS NULL");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, list_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

int64_t signup_position(struct qb_ctx *c, int64_t list_id, const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*) FROM signup_entries WHERE list_id = ?"
                                  " AND left_at IS NULL AND seq <= (SELECT seq FROM"
                                  " signup_entries WHERE list_id = ? AND user_id = ?"
                                  " AND left_at IS NULL)");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_int64(st, 2, list_id);
    bind_text(st, 3, user_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* The active member at 1-based position pos, into out ("" if none). */
static void member_at(struct qb_ctx *c, int64_t list_id, int64_t pos, char out[QB_ID_MAX])
{
    out[0] = '\0';
    sqlite3_stmt *st = qb_stmt(c, "SELECT user_id FROM signup_entries WHERE list_id = ?"
                                  " AND left_at IS NULL ORDER BY seq LIMIT 1 OFFSET ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_int64(st, 2, pos - 1);
    if (sqlite3_step(st) == SQLITE_ROW)
        col_text(st, 0, out, QB_ID_MAX);
    sqlite3_reset(st);
}

enum signup_join signup_leave(struct qb_ctx *c, const struct qb_event *ev,
                              const struct signup_list *l, char promoted[QB_ID_MAX])
{
    promoted[0] = '\0';
    struct row r;
    if (read_row(c, l->id, ev->user_id, &r) != QB_OK)
        return SIGNUP_FAILED;
    if (r.found && !r.active && same_message(r.left_msg, ev))
        return SIGNUP_REPEAT;
    if (!r.found || !r.active)
        return SIGNUP_ALREADY;
    int64_t pos = signup_position(c, l->id, ev->user_id);
    int64_t before = active_count(c, l->id);
    sqlite3_stmt *st = qb_stmt(c, "UPDATE signup_entries SET left_at = ?, left_msg = ?"
                                  " WHERE list_id = ? AND user_id = ? AND left_at IS NULL");
    if (!st)
        return SIGNUP_FAILED;
    sqlite3_bind_int64(st, 1, qb_now(c));
    bind_text(st, 2, ev->message_id);
    sqlite3_bind_int64(st, 3, l->id);
    bind_text(st, 4, ev->user_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return SIGNUP_FAILED;
    if (l->cap > 0 && pos >= 1 && pos <= l->cap && before > l->cap)
        member_at(c, l->id, l->cap, promoted); /* the first waiting member moved up */
    return SIGNUP_JOINED;
}

int signup_entries_load(struct qb_ctx *c, int64_t list_id, struct signup_entries *out)
{
    out->v = NULL;
    out->n = 0;
    sqlite3_stmt *st = qb_stmt(c, "SELECT user_id, name, note, ts FROM signup_entries"
                                  " WHERE list_id = ? AND left_at IS NULL ORDER BY seq");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, list_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct signup_entry *v = realloc(out->v, ncap * sizeof *v);
            if (!v)
                break;
            out->v = v;
            cap = ncap;
        }
        struct signup_entry *e = &out->v[out->n++];
        col_text(st, 0, e->user_id, sizeof e->user_id);
        col_text(st, 1, e->name, sizeof e->name);
        col_text(st, 2, e->note, sizeof e->note);
        e->ts = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(out->v);
        out->v = NULL;
        out->n = 0;
        return rc == SQLITE_ROW ? QB_ENOMEM : QB_ESTORE;
    }
    return QB_OK;
}
