/*
 * schedule_post.c — recurring posts: rendering a post ({date} {weekday} {item} {group}, the
 * rotating topics list), posting it when its schedule comes due (once per occurrence, kept by
 * the UNIQUE row in schedule_runs; skipped when paused or later than stale_after), and the
 * admin command /schedule (定时任务): list, pause, resume, run.
 *
 * Owns nothing beyond the rows it writes (schedule_posts: paused flag and rotation position;
 * schedule_runs: occurrences handled). Topics are always sent as text segments, never markup.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

static const char *const weekdays[] = {"星期日", "星期一", "星期二", "星期三",
                                       "星期四", "星期五", "星期六"};

/* ---- per-post rows ---- */

static void post_row(struct qb_ctx *c, const char *group_id, const char *name)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO schedule_posts(group_id, name) VALUES (?, ?)"
                                  " ON CONFLICT (group_id, name) DO NOTHING");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

bool sch_paused(struct qb_ctx *c, const char *group_id, const char *name)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT paused FROM schedule_posts WHERE group_id = ? AND name = ?");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    bool paused = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return paused;
}

static void set_paused(struct qb_ctx *c, const char *group_id, const char *name, bool paused)
{
    post_row(c, group_id, name);
    sqlite3_stmt *st =
            qb_stmt(c, "UPDATE schedule_posts SET paused = ? WHERE group_id = ? AND name = ?");
    if (!st)
        return;
    sqlite3_bind_int(st, 1, paused ? 1 : 0);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* The rotation position of a post, moved on by one (wraps around n). */
static size_t take_position(struct qb_ctx *c, const char *group_id, const char *name, size_t n)
{
    post_row(c, group_id, name);
    int64_t pos = 0;
    sqlite3_stmt *st = qb_stmt(c, "SELECT pos FROM schedule_posts WHERE group_id = ? AND name = ?");
    if (st) {
        sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            pos = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    if (pos < 0)
        pos = 0;
    size_t at = (size_t)pos % n;
    st = qb_stmt(c, "UPDATE schedule_posts SET pos = ? WHERE group_id = ? AND name = ?");
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)((at + 1) % n));
        sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    return at;
}

/* Record that the occurrence due_ms of a post was handled; false if it already was. */
static bool claim_run(struct qb_ctx *c, const char *group_id, const char *name, int64_t due_ms,
                      const char *outcome)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO schedule_runs(group_id, name, due_ms, ts, outcome)"
                                  " VALUES (?, ?, ?, ?, ?)"
                                  " ON CONFLICT (group_id, name, due_ms) DO NOTHING");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, due_ms);
    sqlite3_bind_int64(st, 4, qb_now(c));
    sqlite3_bind_text(st, 5, outcome, -1, SQLITE_TRANSIENT);
    bool fresh = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sqlite3_db_handle(st)) > 0;
    sqlite3_reset(st);
    return fresh;
}

/* ---- rendering and sending ---- */

/* "11月24日 08:00" (and the weekday) of ms in the group's timezone. */
static void local_when(struct qb_ctx *c, const char *group_id, int64_t ms, char *date, size_t dn,
                       char *clock, size_t cn, const char **weekday)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    qb_localtime(c, qb_timezone(c, group_id), ms, &tm);
    snprintf(date, dn, "%d月%d日", (tm.tm_mon % 12) + 1, tm.tm_mday % 32);
    snprintf(clock, cn, "%02d:%02d", tm.tm_hour % 24, tm.tm_min % 60);
    *weekday = weekdays[(tm.tm_wday % 7 + 7) % 7];
}

int sch_post_send(struct qb_ctx *c, const char *group_id, const struct sch_post *p, int64_t when_ms)
{
    const struct schedule_settings *s = sch_cfg(c, group_id);
    const char *tpl = !strcmp(p->text, "@topics") ? s->topic_template : p->text;
    const char *item = "";
    if (strstr(tpl, "{item}") && s->topics.n)
        item = s->topics.v[take_position(c, group_id, p->name, s->topics.n)];
    char date[32], clock[8];
    const char *weekday;
    local_when(c, group_id, when_ms, date, sizeof date, clock, sizeof clock, &weekday);
    struct qb_tvar vars[] = {
            {"date", date},
            {"weekday", weekday},
            {"item", item},
            {"group", s->group_name[0] ? s->group_name : "本群"},
    };
    char *text = qb_template_render(tpl, vars, sizeof vars / sizeof vars[0]);
    if (!text)
        return QB_ENOMEM;
    char self_id[QB_ID_MAX];
    sch_self_of(c, group_id, self_id);
    struct qb_msg m;
    qb_msg_init(&m);
    int rc = qb_msg_text(&m, text);
    if (rc == QB_OK)
        rc = qb_msg_finish(&m);
    if (rc == QB_OK)
        rc = qb_send_group(c, self_id, group_id, &m);
    qb_msg_clear(&m);
    free(text);
    return rc;
}

void sch_post_on_schedule(struct qb_ctx *c, const char *group_id, const char *name, int64_t due_ms,
                          int64_t late_ms)
{
    const struct schedule_settings *s = sch_cfg(c, group_id);
    struct sch_post p;
    if (!qb_enabled(c, group_id) || !sch_post_find(s, name, &p))
        return; /* removed from the rules: sch_sync has cancelled it */
    if (sch_paused(c, group_id, name)) {
        claim_run(c, group_id, name, due_ms, "paused");
        return;
    }
    if (late_ms > s->stale_ms) {
        if (claim_run(c, group_id, name, due_ms, "stale"))
            qb_log(QB_LOG_INFO,
                   "schedule: group %s: post \"%s\" was due %lld min ago while the bot was away; "
                   "skipped as stale (stale_after is %lld min)",
                   group_id, name, (long long)(late_ms / 60000), (long long)(s->stale_ms / 60000));
        return;
    }
    if (!claim_run(c, group_id, name, due_ms, "sent"))
        return; /* this occurrence was already posted */
    int rc = sch_post_send(c, group_id, &p, due_ms);
    if (rc != QB_OK)
        qb_log(QB_LOG_WARN, "schedule: group %s: post \"%s\" could not be queued: %s", group_id,
               name, qb_strerror(rc));
    else
        qb_audit(c, NULL, "schedule.post", NULL);
}

/* ---- /schedule ---- */

static bool word_is(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return true;
    return false;
}

/* Append to a fixed buffer, dropping what does not fit. */
static void put(char *buf, size_t n, size_t *len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len >= n - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len = *len + (size_t)k < n ? *len + (size_t)k : n - 1;
}

/* " 下次 11月24日 08:00 星期二" for a cron, or " 时间写错了". */
static void next_text(struct qb_ctx *c, const char *group_id, const char *cron, char *out, size_t n)
{
    char date[32], clock[8];
    const char *weekday;
    int64_t next = qb_cron_next_ms(cron, qb_timezone(c, group_id), qb_now(c));
    if (next < 0) {
        snprintf(out, n, "时间写错了");
        return;
    }
    local_when(c, group_id, next, date, sizeof date, clock, sizeof clock, &weekday);
    snprintf(out, n, "下次 %s %s %s", date, weekday, clock);
}

int sch_cmd_list(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    const struct schedule_settings *s = sch_cfg(c, ev->group_id);
    char buf[3000], when[96], why[300];
    size_t len = 0;
    buf[0] = '\0';
    put(buf, sizeof buf, &len, "⏰ 本群定时任务（%s）", qb_timezone(c, ev->group_id));
    int shown = 0;
    for (size_t i = 0; i < s->posts.n; i++) {
        struct sch_post p;
        if (sch_post_parse(s->posts.v[i], &p, why, sizeof why) != QB_OK)
            continue;
        if (sch_paused(c, ev->group_id, p.name))
            snprintf(when, sizeof when, "已暂停");
        else
            next_text(c, ev->group_id, p.cron, when, sizeof when);
        put(buf, sizeof buf, &len, "\n%d. %s（%s）%s", ++shown, p.name, p.cron, when);
    }
    int on, off;
    if (sch_hhmm(s->night_start, &on) && sch_hhmm(s->night_end, &off) && on != off)
        put(buf, sizeof buf, &len, "\n🌙 宵禁 %s–%s，全员禁言（管理员不受影响）", s->night_start,
            s->night_end);
    else if (!shown)
        put(buf, sizeof buf, &len, "\n还没有定时任务：在规则文件的 schedule.posts 里添加。");
    qb_reply(c, ev, buf, false);
    return QB_HANDLED;
}

static int usage(struct qb_ctx *c, const struct qb_event *ev)
{
    qb_reply(c, ev,
             "用法：/schedule list 列表；/schedule pause <名称> 暂停；/schedule resume <名称> "
             "恢复；/schedule run <名称> 立即发一次",
             true);
    return QB_HANDLED;
}

/* Pause, resume or run the post named in argv[1]. */
static int act_on_post(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                       const char *name)
{
    struct sch_post p;
    if (!sch_post_find(sch_cfg(c, ev->group_id), name, &p)) {
        char msg[300];
        snprintf(msg, sizeof msg, "没有叫「%s」的定时任务，发 /schedule list 看看有哪些。", name);
        qb_reply(c, ev, msg, true);
        return QB_HANDLED;
    }
    char msg[400], when[96];
    if (!strcmp(what, "run")) {
        if (sch_post_send(c, ev->group_id, &p, qb_now(c)) != QB_OK)
            qb_reply(c, ev, "这次没发出去，请稍后再试。", true);
        return QB_HANDLED;
    }
    bool pause = !strcmp(what, "pause");
    set_paused(c, ev->group_id, p.name, pause);
    if (pause) {
        snprintf(msg, sizeof msg, "已暂停「%s」，发 /schedule resume %s 恢复。", p.name, p.name);
    } else {
        next_text(c, ev->group_id, p.cron, when, sizeof when);
        snprintf(msg, sizeof msg, "已恢复「%s」，%s。", p.name, when);
    }
    qb_audit(c, ev, pause ? "schedule.pause" : "schedule.resume", NULL);
    qb_reply(c, ev, msg, true);
    return QB_HANDLED;
}

int sch_cmd(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    static const char *const list[] = {"list", "列表", NULL};
    static const char *const pause[] = {"pause", "暂停", NULL};
    static const char *const resume[] = {"resume", "恢复", NULL};
    static const char *const run[] = {"run", "立即", "发布", NULL};
    if (ev->backfilled)
        return QB_HANDLED;
    const char *w = a->argc ? a->argv[0] : "list";
    if (a->argc <= 1 && word_is(w, list))
        return sch_cmd_list(c, ev, a);
    if (a->argc != 2)
        return usage(c, ev);
    if (word_is(w, pause))
        return act_on_post(c, ev, "pause", a->argv[1]);
    if (word_is(w, resume))
        return act_on_post(c, ev, "resume", a->argv[1]);
    if (word_is(w, run))
        return act_on_post(c, ev, "run", a->argv[1]);
    return usage(c, ev);
}
