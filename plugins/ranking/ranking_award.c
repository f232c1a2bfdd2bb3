/*
 * ranking_award.c — how members earn points here: counted chat messages (length,
 * cooldown, diminishing within a burst, a daily cap, no repeated text), a bonus for the
 * author of a message that gets replies or @s from distinct members, points for
 * invitations (taken back when the invitee leaves soon), and level rises.
 *
 * Owns the rows of ranking_messages and ranking_replies and the member's carry, text hash
 * and level. Every award is one qb_points_add with a ref, so duplicates and restarts never
 * count twice. Must not answer in the group for awards (points are quiet).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranking.h"

#define MILLI               1000 /* message value is kept in thousandths of a point */
#define RANKING_KEEP_MSGS   (3LL * 86400 * 1000)
#define RANKING_KEEP_REPLY  (30LL * 86400 * 1000)
#define RANKING_MAX_TARGETS 8

static void bind_ids(sqlite3_stmt *st, const char *group_id, const char *user_id)
{
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
}

/* FNV-1a of the text as 16 hex digits. */
static void text_hash(const char *s, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Record the message for reply lookups; false if it was recorded before (a duplicate). */
static bool record_message(struct qb_ctx *c, const struct qb_event *ev, int64_t now)
{
    if (!ev->message_id[0])
        return true;
    sqlite3_stmt *st =
            qb_stmt(c, "INSERT INTO ranking_messages(group_id, message_id, user_id, ts)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT (group_id, message_id) DO NOTHING");
    if (!st)
        return false;
    bind_ids(st, ev->group_id, ev->message_id);
    sqlite3_bind_text(st, 3, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    bool fresh = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sqlite3_db_handle(st)) > 0;
    sqlite3_reset(st);
    return fresh;
}

/* Store the hash of this text as the member's previous one; true if it was the same. */
static bool same_as_previous(struct qb_ctx *c, const char *group_id, const char *user_id,
                             const char *text)
{
    char h[17];
    text_hash(text, h);
    bool same = false;
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT last_hash FROM ranking_members WHERE group_id = ? AND user_id = ?");
    if (st) {
        bind_ids(st, group_id, user_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *prev = (const char *)sqlite3_column_text(st, 0);
            same = prev && !strcmp(prev, h);
        }
        sqlite3_reset(st);
    }
    st = qb_stmt(c, "UPDATE ranking_members SET last_hash = ? WHERE group_id = ? AND user_id = ?");
    if (st) {
        sqlite3_bind_text(st, 1, h, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, user_id, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    return same;
}

/* Counted messages of a member since since_ms, and the newest one's time (0 if none). */
static int64_t counted_since(struct qb_ctx *c, const char *group_id, const char *user_id,
                             int64_t since_ms, int64_t *last_ms)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*), COALESCE(MAX(ts), 0) FROM ranking_messages"
                                  " WHERE group_id = ? AND user_id = ? AND credit > 0 AND ts >= ?");
    if (!st)
        return 0;
    bind_ids(st, group_id, user_id);
    sqlite3_bind_int64(st, 3, since_ms);
    int64_t n = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        if (last_ms)
            *last_ms = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return n;
}

/* Message points this plugin recorded for the member since since_ms. */
static int64_t message_points_since(struct qb_ctx *c, const char *group_id, const char *user_id,
                                    int64_t since_ms)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COALESCE(SUM(delta), 0) FROM points_ledger"
                                  " WHERE group_id = ? AND user_id = ? AND source = ?"
                                  " AND ref LIKE 'msg:%' AND ts >= ?");
    if (!st)
        return 0;
    bind_ids(st, group_id, user_id);
    sqlite3_bind_text(st, 3, qb_plugin_name(c), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, since_ms);
    int64_t sum = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return sum;
}

static int64_t member_int(struct qb_ctx *c, const char *sql, const char *group_id,
                          const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, sql);
    if (!st)
        return 0;
    bind_ids(st, group_id, user_id);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

static void set_member_int(struct qb_ctx *c, const char *sql, int64_t v, const char *group_id,
                           const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, v);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void set_credit(struct qb_ctx *c, const struct qb_event *ev, int64_t credit)
{
    sqlite3_stmt *st = qb_stmt(
            c, "UPDATE ranking_messages SET credit = ? WHERE group_id = ? AND message_id = ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, credit);
    sqlite3_bind_text(st, 2, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->message_id, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* Value of the n-th counted message within a burst window, in thousandths of a point:
 * full for the first burst_full, half for the next burst_full, a quarter after that. */
static int64_t burst_value(const struct ranking_settings *s, int64_t n)
{
    int64_t full = s->message_points * MILLI;
    if (n <= s->burst_full)
        return full;
    if (n <= 2 * s->burst_full)
        return full / 2;
    return full / 4;
}

/* Message points for one live group message whose text passed the length and repeat
 * checks; now is when it was sent (cooldown and bursts follow the senders' timing, the
 * daily cap follows the ledger's days). Returns true if points were written. */
static bool award_message(struct qb_ctx *c, const struct qb_event *ev,
                          const struct ranking_settings *s, int64_t now)
{
    const char *g = ev->group_id, *u = ev->user_id;
    int64_t last = 0;
    if (s->cooldown_ms > 0 && counted_since(c, g, u, now - s->cooldown_ms, &last) > 0 &&
        now - last < s->cooldown_ms)
        return false;
    int64_t n = s->burst_ms > 0 ? counted_since(c, g, u, now - s->burst_ms + 1, NULL) + 1 : 1;
    int64_t today =
            message_points_since(c, g, u, ranking_period_start(c, g, RANKING_DAY, qb_now(c)));
    if (s->daily_cap > 0 && today >= s->daily_cap)
        return false;
    int64_t value = burst_value(s, n);
    set_credit(c, ev, value > 0 ? value : 1);
    int64_t carry =
            member_int(c, "SELECT carry FROM ranking_members WHERE group_id = ? AND user_id = ?", g,
                       u) +
            value;
    int64_t pts = carry / MILLI;
    carry %= MILLI;
    if (s->daily_cap > 0 && pts >= s->daily_cap - today) {
        pts = s->daily_cap - today;
        carry = 0; /* the day is full: no fractions carried over */
    }
    set_member_int(c, "UPDATE ranking_members SET carry = ? WHERE group_id = ? AND user_id = ?",
                   carry, g, u);
    if (pts <= 0)
        return false;
    char ref[1024];
    if (ev->message_id[0])
        snprintf(ref, sizeof ref, "msg:%s:%s", g, ev->message_id);
    else
        snprintf(ref, sizeof ref, "msg:%s:%s:%lld", g, u, (long long)now);
    return qb_points_add(c, g, u, pts, "群聊发言", ref, NULL) == QB_OK;
}

bool ranking_message_author(struct qb_ctx *c, const char *group_id, const char *message_id,
                            char *out, size_t n)
{
    sqlite3_stmt *st = qb_stmt(
            c, "SELECT user_id FROM ranking_messages WHERE group_id = ? AND message_id = ?");
    if (!st || !message_id || !*message_id)
        return false;
    bind_ids(st, group_id, message_id);
    bool found = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        if (u && *u) {
            snprintf(out, n, "%s", u);
            found = true;
        }
    }
    sqlite3_reset(st);
    return found;
}

/* Distinct members this message answers: the quoted message's author and @mentions,
 * never the sender, the bot or @all. Returns how many were written to out. */
static size_t reply_targets(struct qb_ctx *c, const struct qb_event *ev, char out[][QB_ID_MAX],
                            size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->msg.n && n < max; i++) {
        const struct qb_seg *seg = &ev->msg.segs[i];
        char who[QB_ID_MAX] = "";
        if (seg->type == QB_SEG_REPLY)
            ranking_message_author(c, ev->group_id, seg->text, who, sizeof who);
        else if (seg->type == QB_SEG_AT && seg->text)
            snprintf(who, sizeof who, "%s", seg->text);
        if (!who[0] || !strcmp(who, "all") || !strcmp(who, ev->user_id) ||
            !strcmp(who, ev->self_id))
            continue;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = !strcmp(out[k], who);
        if (!dup)
            snprintf(out[n++], QB_ID_MAX, "%s", who);
    }
    return n;
}

static void record_reply(struct qb_ctx *c, const char *group_id, const char *from, const char *to,
                         int64_t now, int64_t bonus)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO ranking_replies(group_id, from_user, to_user, ts,"
                                  " bonus) VALUES (?, ?, ?, ?, ?)");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, to, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, bonus);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* The reply bonus: each answered author gets reply_bonus once per replier per local day. */
static void award_replies(struct qb_ctx *c, const struct qb_event *ev,
                          const struct ranking_settings *s, int64_t now)
{
    char targets[RANKING_MAX_TARGETS][QB_ID_MAX];
    size_t n = reply_targets(c, ev, targets, RANKING_MAX_TARGETS);
    if (!n)
        return;
    char day[16];
    qb_local_date(c, qb_timezone(c, ev->group_id), now, day, sizeof day);
    for (size_t i = 0; i < n; i++) {
        int64_t bonus = 0;
        if (s->reply_bonus > 0) {
            char ref[1024];
            snprintf(ref, sizeof ref, "reply:%s:%s:%s:%s", ev->group_id, targets[i], ev->user_id,
                     day);
            if (qb_points_add(c, ev->group_id, targets[i], s->reply_bonus, "发言收到回复", ref,
                              NULL) == QB_OK)
                bonus = s->reply_bonus;
        }
        ranking_member_touch(c, ev->group_id, targets[i], NULL);
        record_reply(c, ev->group_id, ev->user_id, targets[i], now, bonus);
        if (bonus)
            ranking_level_check(c, ev->self_id, ev->group_id, targets[i]);
    }
}

void ranking_on_message(struct qb_ctx *c, const struct qb_event *ev)
{
    int64_t now = qb_now(c), sent = ev->time_ms > 0 ? ev->time_ms : now;
    ranking_member_touch(c, ev->group_id, ev->user_id, ev->sender_name);
    if (!record_message(c, ev, sent) || ev->backfilled)
        return; /* a duplicate, or recovered after a reconnect: no awards */
    char *text = qb_msg_text_only(&ev->msg);
    if (!text)
        return;
    ranking_trim(text);
    if (ranking_is_command(text)) {
        free(text);
        return;
    }
    const struct ranking_settings *s = ranking_cfg(c, ev->group_id);
    bool repeated = same_as_previous(c, ev->group_id, ev->user_id, text);
    bool awarded = false;
    if (!repeated && s->message_points > 0 && (int64_t)ranking_utf8_len(text) >= s->min_chars &&
        text[0])
        awarded = award_message(c, ev, s, sent);
    free(text);
    award_replies(c, ev, s, now);
    if (awarded)
        ranking_level_check(c, ev->self_id, ev->group_id, ev->user_id);
}

/* ---- invitations ---- */

void ranking_on_join(struct qb_ctx *c, const struct qb_event *ev)
{
    const struct ranking_settings *s = ranking_cfg(c, ev->group_id);
    if (strcmp(ev->sub_type, "invite") || !ev->operator_id[0] || !ev->group_id[0] ||
        !strcmp(ev->operator_id, ev->user_id) || !strcmp(ev->operator_id, ev->self_id) ||
        !strcmp(ev->user_id, ev->self_id) || s->invite_points <= 0)
        return;
    char ref[1024], reason[QB_ID_MAX + 32];
    snprintf(ref, sizeof ref, "invite:%s:%s", ev->group_id, ev->user_id);
    snprintf(reason, sizeof reason, "邀请 %s 入群", ev->user_id);
    ranking_member_touch(c, ev->group_id, ev->operator_id, NULL);
    if (qb_points_add(c, ev->group_id, ev->operator_id, s->invite_points, reason, ref, NULL) !=
        QB_OK)
        return; /* already rewarded once for this invitee (a re-join earns nothing) */
    char details[QB_ID_MAX * 3];
    snprintf(details, sizeof details, "{\"inviter\":\"%s\",\"points\":%lld}", ev->operator_id,
             (long long)s->invite_points);
    qb_audit(c, ev, "ranking.invite", details);
    ranking_level_check(c, ev->self_id, ev->group_id, ev->operator_id);
}

void ranking_on_leave(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!ev->group_id[0] || !ev->user_id[0] || !strcmp(ev->sub_type, "kick_me") ||
        !strcmp(ev->user_id, ev->self_id))
        return;
    const struct ranking_settings *s = ranking_cfg(c, ev->group_id);
    char ref[1024];
    snprintf(ref, sizeof ref, "invite:%s:%s", ev->group_id, ev->user_id);
    sqlite3_stmt *st = qb_stmt(c, "SELECT user_id, ts, delta FROM points_ledger"
                                  " WHERE source = ? AND ref = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, qb_plugin_name(c), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ref, -1, SQLITE_TRANSIENT);
    char inviter[QB_ID_MAX] = "";
    int64_t ts = 0, delta = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        snprintf(inviter, sizeof inviter, "%s", u ? u : "");
        ts = sqlite3_column_int64(st, 1);
        delta = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (!inviter[0] || delta <= 0 || qb_now(c) - ts >= s->invite_keep_ms)
        return;
    char revoke[QB_ID_MAX * 3], reason[QB_ID_MAX + 64];
    snprintf(revoke, sizeof revoke, "invite-revoke:%s:%s", ev->group_id, ev->user_id);
    snprintf(reason, sizeof reason, "邀请的 %s 很快退群，收回邀请积分", ev->user_id);
    if (qb_points_add(c, ev->group_id, inviter, -delta, reason, revoke, NULL) == QB_OK) {
        char details[QB_ID_MAX * 3];
        snprintf(details, sizeof details, "{\"inviter\":\"%s\",\"points\":%lld}", inviter,
                 (long long)-delta);
        qb_audit(c, ev, "ranking.invite_revoke", details);
        ranking_level_check(c, ev->self_id, ev->group_id, inviter);
    }
}

/* ---- levels ---- */

void ranking_level_check(struct qb_ctx *c, const char *self_id, const char *group_id,
                         const char *user_id)
{
    const struct ranking_settings *s = ranking_cfg(c, group_id);
    if (!s->levels.n)
        return;
    const char *title = NULL;
    int idx = ranking_level_of(&s->levels, qb_points_sum(c, group_id, user_id, 0, 0), &title, NULL,
                               NULL);
    int64_t now_idx = idx < 0 ? 0 : idx;
    ranking_member_touch(c, group_id, user_id, NULL);
    int64_t stored =
            member_int(c, "SELECT level FROM ranking_members WHERE group_id = ? AND user_id = ?",
                       group_id, user_id);
    if (now_idx == stored)
        return;
    set_member_int(c, "UPDATE ranking_members SET level = ? WHERE group_id = ? AND user_id = ?",
                   now_idx, group_id, user_id);
    if (now_idx < stored || !title)
        return;
    char details[QB_ID_MAX + 200];
    snprintf(details, sizeof details, "{\"user\":\"%s\",\"level\":%lld}", user_id,
             (long long)now_idx);
    qb_audit(c, NULL, "ranking.level", details);
    if (!s->set_special_title)
        return;
    struct qb_action *a = qb_action_new(QB_ACT_SET_TITLE);
    if (!a)
        return;
    a->chat = QB_CHAT_GROUP;
    qb_id_set(a->self_id, self_id ? self_id : "");
    qb_id_set(a->group_id, group_id);
    qb_id_set(a->user_id, user_id);
    a->text = strdup(title);
    a->reason = strdup("升级，设置等级头衔");
    qb_action_submit(c, a, NULL, NULL);
}

void ranking_prune(struct qb_ctx *c, int64_t now_ms)
{
    sqlite3_stmt *st = qb_stmt(c, "DELETE FROM ranking_messages WHERE ts < ?");
    if (st) {
        sqlite3_bind_int64(st, 1, now_ms - RANKING_KEEP_MSGS);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    st = qb_stmt(c, "DELETE FROM ranking_replies WHERE ts < ?");
    if (st) {
        sqlite3_bind_int64(st, 1, now_ms - RANKING_KEEP_REPLY);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
}
