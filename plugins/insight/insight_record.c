/*
 * insight_record.c — keeps the insight rollup tables up to date as events arrive: hourly
 * activity per member (local to the group's timezone), member facts (first/last message,
 * joins with inviter, leaves, admin role), recent messages with question flags and first
 * replies, reply/@ edges, recalls by others; plus /forgetme deletion and the daily prune.
 *
 * A message counts once: only when its row in insight_msgs was inserted (back-filled
 * duplicates change nothing). Prepared statements via qb_stmt only; never sends anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "insight_plugin.h"

sqlite3 *insight_db(struct qb_ctx *c)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT 1");
    return st ? sqlite3_db_handle(st) : NULL;
}

static bool step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW;
}

static int64_t changes_of(sqlite3_stmt *st)
{
    sqlite3 *db = sqlite3_db_handle(st);
    return db ? sqlite3_changes(db) : 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t l = strlen(suffix);
    return n >= l && !memcmp(s + n - l, suffix, l);
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

bool insight_is_question(const char *text)
{
    if (!text)
        return false;
    const char *s = text, *e = text + strlen(text);
    for (;;) { /* skip ASCII white space and full-width spaces at both ends */
        if (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++;
        else if (e - s >= 3 && !memcmp(s, "\u3000", 3))
            s += 3;
        else if (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
            e--;
        else if (e - s >= 3 && !memcmp(e - 3, "\u3000", 3))
            e -= 3;
        else
            break;
    }
    size_t n = (size_t)(e - s);
    return ends_with(s, n, "?") || ends_with(s, n, "？") || starts_with(s, "提问") ||
           starts_with(s, "请问") || starts_with(s, "求助") || starts_with(s, "有没有人");
}

/* Characters (UTF-8 code points) in s. */
static int64_t utf8_chars(const char *s)
{
    int64_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void edge_add(struct qb_ctx *c, const struct qb_event *ev, const char *dst, const char *kind)
{
    sqlite3_stmt *st = qb_stmt(
            c, "INSERT INTO insight_edges(platform, group_id, src, dst, kind, n, last_ms)"
               " VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)"
               " ON CONFLICT (group_id, src, dst, kind, platform) DO UPDATE SET"
               " n = insight_edges.n + 1, last_ms = CASE WHEN excluded.last_ms >"
               " insight_edges.last_ms THEN excluded.last_ms ELSE insight_edges.last_ms END");
    if (!st)
        return;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    bind_text(st, 3, ev->user_id);
    bind_text(st, 4, dst);
    bind_text(st, 5, kind);
    sqlite3_bind_int64(st, 6, ev->time_ms);
    step_done(st);
}

/* Someone other than the author answered one of author's messages. */
static void member_replied(struct qb_ctx *c, const struct qb_event *ev, const char *author)
{
    sqlite3_stmt *st = qb_stmt(c, "UPDATE insight_members SET replies_received ="
                                  " replies_received + 1, first_reply_ms = CASE WHEN"
                                  " first_reply_ms = 0 THEN ?3 ELSE first_reply_ms END"
                                  " WHERE group_id = ?1 AND user_id = ?2");
    if (!st)
        return;
    bind_text(st, 1, ev->group_id);
    bind_text(st, 2, author);
    sqlite3_bind_int64(st, 3, ev->time_ms);
    step_done(st);
}

/* A reply segment: an edge to the quoted message's author and its first reply. */
static void record_reply(struct qb_ctx *c, const struct qb_event *ev, const char *quoted,
                         char *author, size_t n)
{
    author[0] = '\0';
    sqlite3_stmt *st = qb_stmt(c, "SELECT user_id FROM insight_msgs WHERE group_id = ?1 AND"
                                  " message_id = ?2");
    if (!st)
        return;
    bind_text(st, 1, ev->group_id);
    bind_text(st, 2, quoted);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(author, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (!author[0] || !strcmp(author, ev->user_id))
        return;
    edge_add(c, ev, author, "reply");
    st = qb_stmt(c, "UPDATE insight_msgs SET first_reply_ms = ?3, first_reply_by = ?4"
                    " WHERE group_id = ?1 AND message_id = ?2 AND first_reply_ms = 0");
    if (!st)
        return;
    bind_text(st, 1, ev->group_id);
    bind_text(st, 2, quoted);
    sqlite3_bind_int64(st, 3, ev->time_ms);
    bind_text(st, 4, ev->user_id);
    step_done(st);
    member_replied(c, ev, author);
}

/* An @ of another member: an edge, and their latest unanswered message counts as answered. */
static void record_at(struct qb_ctx *c, const struct qb_event *ev, const char *target)
{
    edge_add(c, ev, target, "at");
    sqlite3_stmt *st =
            qb_stmt(c, "UPDATE insight_msgs SET first_reply_ms = ?3, first_reply_by = ?4"
                       " WHERE group_id = ?1 AND message_id = (SELECT message_id FROM insight_msgs"
                       " WHERE group_id = ?1 AND user_id = ?2 AND first_reply_ms = 0 AND ts <= ?3"
                       " ORDER BY ts DESC LIMIT 1)");
    if (!st)
        return;
    bind_text(st, 1, ev->group_id);
    bind_text(st, 2, target);
    sqlite3_bind_int64(st, 3, ev->time_ms);
    bind_text(st, 4, ev->user_id);
    if (step_done(st) && changes_of(st) > 0)
        member_replied(c, ev, target);
}

static void record_links(struct qb_ctx *c, const struct qb_event *ev)
{
    char replied[QB_ID_MAX] = "", seen[8][QB_ID_MAX];
    size_t nseen = 0;
    for (size_t i = 0; i < ev->msg.n; i++) {
        const struct qb_seg *s = &ev->msg.segs[i];
        if (s->type == QB_SEG_REPLY && s->text && !replied[0])
            record_reply(c, ev, s->text, replied, sizeof replied);
    }
    for (size_t i = 0; i < ev->msg.n; i++) {
        const struct qb_seg *s = &ev->msg.segs[i];
        if (s->type != QB_SEG_AT || !s->text || !s->text[0] || !strcmp(s->text, "all") ||
            !strcmp(s->text, ev->user_id) || !strcmp(s->text, ev->self_id) ||
            !strcmp(s->text, replied)) /* QQ adds an @ of the quoted author to replies */
            continue;
        bool dup = false;
        for (size_t k = 0; k < nseen && !dup; k++)
            dup = !strcmp(seen[k], s->text);
        if (dup || nseen == 8)
            continue;
        qb_id_set(seen[nseen++], s->text);
        record_at(c, ev, s->text);
    }
}

/* The message's row in insight_msgs; false when it was there already (a duplicate). */
static bool record_msg_row(struct qb_ctx *c, const struct qb_event *ev, bool question)
{
    if (!ev->message_id[0])
        return true;
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO insight_msgs(platform, group_id, message_id,"
                                  " user_id, ts, question) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                                  " ON CONFLICT DO NOTHING");
    if (!st)
        return false;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    bind_text(st, 3, ev->message_id);
    bind_text(st, 4, ev->user_id);
    sqlite3_bind_int64(st, 5, ev->time_ms);
    sqlite3_bind_int(st, 6, question);
    return step_done(st) && changes_of(st) > 0;
}

static void record_activity(struct qb_ctx *c, const struct qb_event *ev, int64_t chars)
{
    struct tm tm;
    if (qb_localtime(c, qb_timezone(c, ev->group_id), ev->time_ms, &tm) != QB_OK)
        return;
    char day[16];
    snprintf(day, sizeof day, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100);
    sqlite3_stmt *st = qb_stmt(
            c, "INSERT INTO insight_activity(platform, group_id, user_id, day, hour, weekday,"
               " messages, chars) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)"
               " ON CONFLICT (group_id, user_id, day, hour, platform) DO UPDATE SET"
               " messages = insight_activity.messages + 1,"
               " chars = insight_activity.chars + excluded.chars");
    if (!st)
        return;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    bind_text(st, 3, ev->user_id);
    bind_text(st, 4, day);
    sqlite3_bind_int(st, 5, tm.tm_hour);
    sqlite3_bind_int(st, 6, (tm.tm_wday + 6) % 7);
    sqlite3_bind_int64(st, 7, chars);
    step_done(st);
}

static void record_member_msg(struct qb_ctx *c, const struct qb_event *ev)
{
    sqlite3_stmt *st = qb_stmt(
            c, "INSERT INTO insight_members(platform, group_id, user_id, name, first_msg_ms,"
               " last_msg_ms, messages, is_admin) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, ?6)"
               " ON CONFLICT (group_id, user_id, platform) DO UPDATE SET"
               " name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE"
               " insight_members.name END,"
               " first_msg_ms = CASE WHEN insight_members.first_msg_ms = 0 OR excluded.first_msg_ms"
               " < insight_members.first_msg_ms THEN excluded.first_msg_ms ELSE"
               " insight_members.first_msg_ms END,"
               " last_msg_ms = CASE WHEN excluded.last_msg_ms > insight_members.last_msg_ms"
               " THEN excluded.last_msg_ms ELSE insight_members.last_msg_ms END,"
               " messages = insight_members.messages + 1,"
               " is_admin = CASE WHEN ?7 = 1 THEN excluded.is_admin ELSE insight_members.is_admin"
               " END");
    if (!st)
        return;
    bool known = ev->sender_role != QB_ROLE_UNKNOWN;
    bool admin = ev->sender_role == QB_ROLE_ADMIN || ev->sender_role == QB_ROLE_OWNER;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    bind_text(st, 3, ev->user_id);
    bind_text(st, 4, ev->sender_name);
    sqlite3_bind_int64(st, 5, ev->time_ms);
    sqlite3_bind_int(st, 6, admin);
    sqlite3_bind_int(st, 7, known);
    step_done(st);
}

static void record_message(struct qb_ctx *c, const struct qb_event *ev)
{
    char *text = qb_msg_text_only(&ev->msg);
    bool question = insight_is_question(text);
    int64_t chars = utf8_chars(text);
    free(text);
    if (!record_msg_row(c, ev, question))
        return; /* seen before (back-fill, duplicate delivery): count once */
    record_activity(c, ev, chars);
    record_member_msg(c, ev);
    record_links(c, ev);
}

static void record_join(struct qb_ctx *c, const struct qb_event *ev, bool join)
{
    const char *inviter = join && !strcmp(ev->sub_type, "invite") && ev->operator_id[0] &&
                                          strcmp(ev->operator_id, ev->user_id)
                                  ? ev->operator_id
                                  : NULL;
    sqlite3_stmt *st =
            join ? qb_stmt(c, "INSERT INTO insight_members(platform, group_id, user_id,"
                              " joined_ms, inviter) VALUES (?1, ?2, ?3, ?4, ?5)"
                              " ON CONFLICT (group_id, user_id, platform) DO UPDATE SET"
                              " joined_ms = excluded.joined_ms, left_ms = 0,"
                              " inviter = COALESCE(excluded.inviter, insight_members.inviter)")
                 : qb_stmt(c, "INSERT INTO insight_members(platform, group_id, user_id,"
                              " left_ms) VALUES (?1, ?2, ?3, ?4)"
                              " ON CONFLICT (group_id, user_id, platform) DO UPDATE SET"
                              " left_ms = excluded.left_ms");
    if (!st)
        return;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    bind_text(st, 3, ev->user_id);
    sqlite3_bind_int64(st, 4, ev->time_ms > 0 ? ev->time_ms : 1);
    if (join) {
        if (inviter)
            bind_text(st, 5, inviter);
        else
            sqlite3_bind_null(st, 5);
    }
    step_done(st);
}

static void record_admin(struct qb_ctx *c, const struct qb_event *ev)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO insight_members(platform, group_id, user_id,"
                                  " is_admin) VALUES (?1, ?2, ?3, ?4)"
                                  " ON CONFLICT (group_id, user_id, platform) DO UPDATE SET"
                                  " is_admin = excluded.is_admin");
    if (!st)
        return;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    bind_text(st, 3, ev->user_id);
    sqlite3_bind_int(st, 4, !strcmp(ev->sub_type, "set"));
    step_done(st);
}

/* Recalls by someone other than the author and the bot: moderation by an admin. */
static void record_recall(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!ev->operator_id[0] || !strcmp(ev->operator_id, ev->user_id) ||
        !strcmp(ev->operator_id, ev->self_id))
        return;
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO insight_recalls(platform, group_id, message_id,"
                                  " user_id, operator_id, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                                  " ON CONFLICT DO NOTHING");
    if (!st)
        return;
    bind_text(st, 1, ev->platform);
    bind_text(st, 2, ev->group_id);
    bind_text(st, 3, ev->message_id);
    bind_text(st, 4, ev->user_id);
    bind_text(st, 5, ev->operator_id);
    sqlite3_bind_int64(st, 6, ev->time_ms);
    step_done(st);
}

void insight_record(struct qb_ctx *c, const struct qb_event *ev)
{
    if (ev->chat != QB_CHAT_GROUP && ev->kind == QB_EV_MESSAGE)
        return;
    if (!ev->group_id[0] || !ev->user_id[0])
        return;
    switch (ev->kind) {
    case QB_EV_MESSAGE:
        record_message(c, ev);
        break;
    case QB_EV_MEMBER_JOIN:
        record_join(c, ev, true);
        break;
    case QB_EV_MEMBER_LEAVE:
        record_join(c, ev, false);
        break;
    case QB_EV_ADMIN_CHANGE:
        record_admin(c, ev);
        break;
    case QB_EV_RECALL:
        record_recall(c, ev);
        break;
    default:
        break;
    }
}

/* ---- deletion and pruning ---- */

static const char *const forget_sql[] = {
        "DELETE FROM insight_activity WHERE group_id = ?1 AND user_id = ?2",
        "DELETE FROM insight_members WHERE group_id = ?1 AND user_id = ?2",
        "DELETE FROM insight_edges WHERE group_id = ?1 AND (src = ?2 OR dst = ?2)",
        "DELETE FROM insight_msgs WHERE group_id = ?1 AND user_id = ?2",
        "UPDATE insight_msgs SET first_reply_by = NULL WHERE group_id = ?1 AND first_reply_by = ?2",
        "DELETE FROM insight_recalls WHERE group_id = ?1 AND (user_id = ?2 OR operator_id = ?2)",
        NULL,
};

int64_t insight_forget(struct qb_ctx *c, const char *group_id, const char *user_id)
{
    int64_t rows = 0;
    for (const char *const *q = forget_sql; *q; q++) {
        sqlite3_stmt *st = qb_stmt(c, *q);
        if (!st)
            return QB_ESTORE;
        bind_text(st, 1, group_id);
        bind_text(st, 2, user_id);
        if (!step_done(st))
            return QB_ESTORE;
        rows += changes_of(st);
    }
    /* their messages in this group only ("本群"); audit rows ('decision') stay whole */
    sqlite3_stmt *st = qb_stmt(c, "UPDATE interactions SET text = NULL, details = NULL"
                                  " WHERE user_id = ?1 AND group_id = ?2"
                                  " AND direction IN ('in', 'out')");
    if (!st)
        return QB_ESTORE;
    bind_text(st, 1, user_id);
    bind_text(st, 2, group_id);
    if (!step_done(st))
        return QB_ESTORE;
    return rows + changes_of(st);
}

void insight_prune(struct qb_ctx *c)
{
    sqlite3_stmt *st = qb_stmt(c, "DELETE FROM insight_msgs WHERE ts < ?1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, qb_now(c) - INSIGHT_KEEP_MS);
    step_done(st);
}
