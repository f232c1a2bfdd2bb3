/*
 * talks_live.c — what happens in a group while a talk runs: attendance (who sent anything
 * in the window, talks_attendance), the speakers' words in order (talks_speech, text only),
 * questions (提问 … or /q …) queued in order with a short acknowledgement, quiet mode
 * "recall" (non-speakers' chat recalled, one gentle reminder per member per talk), the
 * question list posted in order, and 已答 N marks.
 *
 * Owns nothing. Messages recovered after a reconnect are recorded but never recalled or
 * answered. Member text only ever goes into text segments.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talks.h"

#define LIST_MAX 6000

static int64_t event_ms(struct qb_ctx *c, const struct qb_event *ev)
{
    return ev->backfilled && ev->time_ms ? ev->time_ms : qb_now(c);
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s && s[0])
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* The first word of text (up to white space) in out. */
static void first_word(const char *text, char *out, size_t n)
{
    size_t l = strcspn(text, " \t\r\n");
    const char *fw = strstr(text, "\xe3\x80\x80");
    if (fw && (size_t)(fw - text) < l)
        l = (size_t)(fw - text);
    snprintf(out, n, "%.*s", (int)(l < n ? l : n - 1), text);
}

/* The word without one leading ASCII command prefix ("/q" → "q"); NULL if none. */
static const char *unprefixed(const char *w)
{
    return w[0] && strchr("/!.#~", w[0]) ? w + 1 : NULL;
}

static bool word_in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return true;
    return false;
}

static bool is_question(const char *text)
{
    static const char *const prefixed[] = {"q", "Q", "提问", NULL};
    char w[64];
    first_word(text, w, sizeof w);
    const char *bare = unprefixed(w);
    return !strcmp(w, "提问") || (bare && word_in(bare, prefixed));
}

/* A command of this plugin (not part of the talk's content). */
static bool is_own_command(const char *text)
{
    static const char *const bare_words[] = {"提问", "已答",     "开始答疑", "结束分享", "分享列表",
                                             "改期", "取消分享", "添加分享", "分享",     NULL};
    static const char *const prefixed[] = {"talk",     "q",        "Q",        "提问", "已答",
                                           "开始答疑", "结束分享", "分享列表", "改期", "取消分享",
                                           "添加分享", "分享",     NULL};
    char w[64];
    first_word(text, w, sizeof w);
    const char *bare = unprefixed(w);
    return word_in(w, bare_words) || (bare && word_in(bare, prefixed));
}

/* ---- recording ---- */

static void attend(struct qb_ctx *c, const struct talks_talk *t, const struct qb_event *ev,
                   int64_t ms)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO talks_attendance(talk_id, user_id, name,"
                                  " first_ts, messages) VALUES (?, ?, ?, ?, 1)"
                                  " ON CONFLICT (talk_id, user_id) DO UPDATE SET"
                                  " messages = talks_attendance.messages + 1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_text(st, 2, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->sender_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, ms);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void record_speech(struct qb_ctx *c, const struct talks_talk *t, const struct qb_event *ev,
                          const char *text, int64_t ms)
{
    int64_t seq = talks_count(
            c, "SELECT COALESCE(MAX(seq), 0) + 1 FROM talks_speech WHERE talk_id = ?", t->id);
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO talks_speech(talk_id, seq, ts, user_id, name, text,"
                                  " message_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
                                  " ON CONFLICT (talk_id, message_id) DO NOTHING");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_int64(st, 3, ms);
    sqlite3_bind_text(st, 4, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, ev->sender_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, text, -1, SQLITE_TRANSIENT);
    bind_opt(st, 7, ev->message_id);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* First reminder for this member in this talk? */
static bool first_reminder(struct qb_ctx *c, const struct talks_talk *t, const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, "UPDATE talks_attendance SET reminded = 1"
                                  " WHERE talk_id = ? AND user_id = ? AND reminded = 0");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE && changed > 0;
}

static void remind(struct qb_ctx *c, const struct qb_event *ev)
{
    struct qb_msg m;
    qb_msg_init(&m);
    if (qb_msg_at(&m, ev->user_id) == QB_OK &&
        qb_msg_text(&m, " 分享进行中，闲聊消息会被撤回哦～有问题请发「提问 你的问题」，"
                        "结束后统一答疑。") == QB_OK &&
        qb_msg_finish(&m) == QB_OK)
        qb_send_group(c, ev->self_id, ev->group_id, &m);
    qb_msg_clear(&m);
}

int talks_on_message(struct qb_ctx *c, const struct qb_event *ev)
{
    talks_group_seen(c, ev->platform, ev->self_id, ev->group_id);
    int64_t ms = event_ms(c, ev);
    struct talks_talk t;
    if (talks_live_at(c, ev->group_id, ms, &t) != QB_OK)
        return QB_PASS;
    attend(c, &t, ev, ms);
    char *text = qb_msg_text_only(&ev->msg);
    if (text)
        talks_trim(text);
    bool speaker = talks_is_speaker(&t, ev->user_id);
    bool question = text && is_question(text);
    if (speaker && text && text[0] && !is_own_command(text))
        record_speech(c, &t, ev, text, ms);
    free(text);
    if (speaker || question || qb_role_of(c, ev) >= QB_ROLE_ADMIN || ev->backfilled)
        return QB_PASS;
    if (strcmp(talks_cfg(c, ev->group_id)->quiet, "recall"))
        return QB_PASS;
    qb_recall(c, ev, "talk in progress (quiet mode recall)");
    if (first_reminder(c, &t, ev->user_id))
        remind(c, ev);
    return QB_HANDLED;
}

/* ---- questions ---- */

static int64_t add_question(struct qb_ctx *c, const struct talks_talk *t, const struct qb_event *ev,
                            const char *text)
{
    int64_t seq = talks_count(
            c, "SELECT COALESCE(MAX(seq), 0) + 1 FROM talks_questions WHERE talk_id = ?", t->id);
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO talks_questions(talk_id, seq, user_id, name,"
                                  " text, ts, message_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
                                  " ON CONFLICT (talk_id, message_id) DO NOTHING");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_text(st, 3, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, ev->sender_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, event_ms(c, ev));
    bind_opt(st, 7, ev->message_id);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return QB_ESTORE;
    return changed ? seq : 0;
}

static void say(struct qb_ctx *c, const struct qb_event *ev, const char *text)
{
    if (!ev->backfilled)
        qb_reply(c, ev, text, true);
}

int talks_cmd_question(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    bool bare = !strcmp(a->used, "提问");
    if (a->argc >= 1 && !strcmp(a->argv[0], "done"))
        return talks_cmd_done(c, ev, a);
    struct talks_talk t;
    if (talks_live_at(c, ev->group_id, event_ms(c, ev), &t) != QB_OK) {
        if (!bare)
            say(c, ev, "现在没有进行中的分享，分享开始后再提问吧。");
        return bare ? QB_PASS : QB_HANDLED;
    }
    if (!a->argc) {
        say(c, ev, "用法：提问 你的问题（或 /q 你的问题）");
        return QB_HANDLED;
    }
    int64_t seq = add_question(c, &t, ev, a->rest);
    char text[120];
    if (seq > 0) {
        snprintf(text, sizeof text, "已记录你的问题，第 %lld 个", (long long)seq);
        say(c, ev, text);
    }
    return QB_HANDLED;
}

static bool may_lead(struct qb_ctx *c, const struct qb_event *ev, const struct talks_talk *t)
{
    return talks_is_speaker(t, ev->user_id) || qb_role_of(c, ev) >= QB_ROLE_ADMIN;
}

/* 已答 N · /q done N */
int talks_cmd_done(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    const char *num = !strcmp(a->name, "q") ? (a->argc >= 2 ? a->argv[1] : "")
                                            : (a->argc >= 1 ? a->argv[0] : "");
    struct talks_talk t;
    if (talks_latest(c, ev->group_id, qb_now(c), &t) != QB_OK) {
        say(c, ev, "本群还没有进行过分享。");
        return QB_HANDLED;
    }
    if (!may_lead(c, ev, &t)) {
        say(c, ev, "只有主讲人或群管理员可以标记已答。");
        return QB_HANDLED;
    }
    char *end;
    long long n = strtoll(num, &end, 10);
    if (!num[0] || *end || n <= 0) {
        say(c, ev, "用法：已答 序号（如 已答 2）");
        return QB_HANDLED;
    }
    sqlite3_stmt *st = qb_stmt(c, "UPDATE talks_questions SET answered = 1"
                                  " WHERE talk_id = ? AND seq = ?");
    if (!st)
        return QB_HANDLED;
    sqlite3_bind_int64(st, 1, t.id);
    sqlite3_bind_int64(st, 2, n);
    sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    char text[120];
    if (!changed)
        snprintf(text, sizeof text, "没有第 %lld 个问题，发「开始答疑」可以看问题清单。", n);
    else
        snprintf(text, sizeof text, "第 %lld 个问题已标记为已答 ✅", n);
    say(c, ev, text);
    if (changed && !strcmp(t.status, "ended"))
        talks_write_summary(c, &t); /* the summary follows late marks */
    return QB_HANDLED;
}

void talks_post_questions(struct qb_ctx *c, const struct talks_talk *t, bool final)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT seq, name, user_id, text, answered FROM talks_questions"
                                  " WHERE talk_id = ? ORDER BY seq");
    int64_t total = talks_count(c, "SELECT COUNT(*) FROM talks_questions WHERE talk_id = ?", t->id);
    if (!st || !total)
        return;
    char *out = malloc(LIST_MAX);
    if (!out)
        return;
    int len = snprintf(out, LIST_MAX, "%s问题清单（共 %lld 个，按提问顺序）：",
                       final ? "分享结束，" : "开始答疑！", (long long)total);
    sqlite3_bind_int64(st, 1, t->id);
    while (sqlite3_step(st) == SQLITE_ROW && len > 0 && len < LIST_MAX - 400) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *uid = (const char *)sqlite3_column_text(st, 2);
        len += snprintf(out + len, LIST_MAX - (size_t)len, "\n%lld. %s %.60s：%.200s",
                        (long long)sqlite3_column_int64(st, 0),
                        sqlite3_column_int(st, 4) ? "✅" : "⬜",
                        name && name[0] ? name : (uid ? uid : "?"),
                        (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
    if (len > 0 && len < LIST_MAX - 200)
        snprintf(out + len, LIST_MAX - (size_t)len, "\n%s",
                 final ? "完整问答见纪要文件。" : "主讲答完一个可以发「已答 序号」标记。");
    talks_send(c, t, out, false);
    free(out);
}
