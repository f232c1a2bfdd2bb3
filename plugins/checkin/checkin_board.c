/*
 * checkin_board.c — what members ask about and the evening round-up: 签到榜 (today's
 * order and the longest running streaks), 我的签到 (own streak, longest, total days,
 * make-ups left this month) and the daily summary posted by the persisted schedule
 * "summary:<group>" (count, first three, longest streaks, streaks of 3+ days broken
 * yesterday; nothing when nobody checked in).
 *
 * Owns no state; reads checkin_days with SQL and writes nothing. Names are member text:
 * they only ever travel in text segments.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkin.h"

#define BOARD_TODAY   10
#define BOARD_STREAKS 5
#define SUMMARY_LATE  (6LL * 3600 * 1000) /* a summary later than this is stale: skipped */
#define BROKEN_MIN    3

struct text {
    char s[3000];
    size_t len;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < sizeof t->s - t->len ? (size_t)n : sizeof t->s - t->len - 1;
}

/* Members with the longest streaks still alive on day (ending that day or the day
 * before), best first: calls fn(user, days) for up to limit of them. */
static void top_streaks(struct qb_ctx *c, const char *platform, const char *group_id, int64_t day,
                        int limit, void (*fn)(struct qb_ctx *, const char *, int64_t, void *),
                        void *ud)
{
    sqlite3_stmt *st = qb_stmt(
            c, "SELECT user_id, COUNT(*) AS n FROM (SELECT user_id,"
               " daynum + ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY daynum DESC) AS k,"
               " MAX(daynum) OVER (PARTITION BY user_id) AS last FROM checkin_days"
               " WHERE platform = ? AND group_id = ? AND daynum <= ?) AS runs"
               " WHERE k = last + 1 AND last >= ? GROUP BY user_id"
               " ORDER BY n DESC, user_id LIMIT ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, day);
    sqlite3_bind_int64(st, 4, day - 1);
    sqlite3_bind_int(st, 5, limit);
    /* copy rows out first: fn runs other statements */
    char users[BOARD_STREAKS][QB_ID_MAX];
    int64_t days[BOARD_STREAKS];
    int n = 0;
    while (n < limit && n < BOARD_STREAKS && sqlite3_step(st) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        qb_id_set(users[n], u ? u : "");
        days[n++] = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    for (int i = 0; i < n; i++)
        fn(c, users[i], days[i], ud);
}

/* Today's check-ins in order: up to limit (user, ts). Returns how many there are in all. */
struct today_row {
    char user_id[QB_ID_MAX];
    int64_t ts;
};

static int64_t today_list(struct qb_ctx *c, const char *platform, const char *group_id, int64_t day,
                          struct today_row *out, int limit, int *got)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT user_id, ts FROM checkin_days WHERE platform = ?"
                                  " AND group_id = ? AND daynum = ? AND makeup = 0"
                                  " ORDER BY ord, ts");
    *got = 0;
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, day);
    int64_t total = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*got < limit) {
            const char *u = (const char *)sqlite3_column_text(st, 0);
            qb_id_set(out[*got].user_id, u ? u : "");
            out[*got].ts = sqlite3_column_int64(st, 1);
            (*got)++;
        }
        total++;
    }
    sqlite3_reset(st);
    return total;
}

struct listing {
    struct text *t;
    const char *platform, *group_id;
    int i;
};

static void streak_line(struct qb_ctx *c, const char *user_id, int64_t days, void *ud)
{
    struct listing *l = ud;
    char name[128];
    checkin_name(c, l->platform, l->group_id, user_id, name, sizeof name);
    put(l->t, "\n%d. %s — %lld 天", ++l->i, name, (long long)days);
}

int checkin_cmd_top(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    struct checkin_day today = checkin_day_of(c, ev->group_id, qb_now(c));
    struct today_row rows[BOARD_TODAY];
    int got;
    int64_t total = today_list(c, ev->platform, ev->group_id, today.num, rows, BOARD_TODAY, &got);
    struct text t = {.len = 0};
    t.s[0] = '\0';
    put(&t, "📅 今日签到（%lld 人）", (long long)total);
    const char *tz = qb_timezone(c, ev->group_id);
    for (int i = 0; i < got; i++) {
        char name[128];
        struct tm tm;
        checkin_name(c, ev->platform, ev->group_id, rows[i].user_id, name, sizeof name);
        if (qb_localtime(c, tz, rows[i].ts, &tm) != QB_OK)
            memset(&tm, 0, sizeof tm);
        put(&t, "\n%d. %s %02d:%02d", i + 1, name, tm.tm_hour, tm.tm_min);
    }
    if (!total)
        put(&t, "\n今天还没有人签到，发送「签到」抢第一！");
    put(&t, "\n🔥 连续签到榜");
    struct listing l = {&t, ev->platform, ev->group_id, 0};
    top_streaks(c, ev->platform, ev->group_id, today.num, BOARD_STREAKS, streak_line, &l);
    if (!l.i)
        put(&t, "\n（暂无）");
    qb_reply(c, ev, t.s, false);
    return QB_HANDLED;
}

int checkin_cmd_me(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    const struct checkin_settings *s = checkin_cfg(c, ev->group_id);
    const char *p = ev->platform, *g = ev->group_id, *u = ev->user_id;
    int64_t now = qb_now(c);
    struct checkin_day today = checkin_day_of(c, g, now);
    bool done = checkin_has_day(c, p, g, u, today.num, NULL);
    struct text t = {.len = 0};
    t.s[0] = '\0';
    put(&t, "%s，连续 %lld 天，最长 %lld 天，累计 %lld 天", done ? "今天已签到" : "今天还没签到",
        (long long)checkin_streak_now(c, p, g, u, today.num),
        (long long)checkin_longest(c, p, g, u), (long long)checkin_total_days(c, p, g, u));
    if (s && s->makeup_enabled) {
        int64_t left = s->makeup_per_month -
                       checkin_makeups_since(c, p, g, u, checkin_month_start(c, g, now));
        put(&t, "；本月还能补签 %lld 次", (long long)(left > 0 ? left : 0));
    }
    put(&t, "。");
    checkin_tell(c, ev, t.s);
    return QB_HANDLED;
}

/* ---- the daily summary ---- */

static void streak_brief(struct qb_ctx *c, const char *user_id, int64_t days, void *ud)
{
    struct listing *l = ud;
    char name[128];
    checkin_name(c, l->platform, l->group_id, user_id, name, sizeof name);
    put(l->t, "%s%s %lld 天", l->i++ ? "、" : "", name, (long long)days);
}

/* Members whose streak of BROKEN_MIN+ days ended the day before yesterday (no check-in
 * yesterday = day - 1). */
static void broken_streaks(struct qb_ctx *c, const char *platform, const char *group_id,
                           int64_t day, struct listing *l)
{
    sqlite3_stmt *st = qb_stmt(
            c, "SELECT user_id, COUNT(*) AS n FROM (SELECT d.user_id,"
               " d.daynum + ROW_NUMBER() OVER (PARTITION BY d.user_id ORDER BY d.daynum DESC)"
               " AS k FROM checkin_days d WHERE d.platform = ? AND d.group_id = ?"
               " AND d.daynum <= ? AND NOT EXISTS (SELECT 1 FROM checkin_days y"
               " WHERE y.platform = d.platform AND y.group_id = d.group_id"
               " AND y.user_id = d.user_id AND y.daynum = ?)) AS runs"
               " WHERE k = ? GROUP BY user_id HAVING COUNT(*) >= ?"
               " ORDER BY n DESC, user_id LIMIT ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, day - 2);
    sqlite3_bind_int64(st, 4, day - 1);
    sqlite3_bind_int64(st, 5, day - 1);
    sqlite3_bind_int(st, 6, BROKEN_MIN);
    sqlite3_bind_int(st, 7, BOARD_STREAKS);
    char users[BOARD_STREAKS][QB_ID_MAX];
    int64_t days[BOARD_STREAKS];
    int n = 0;
    while (n < BOARD_STREAKS && sqlite3_step(st) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        qb_id_set(users[n], u ? u : "");
        days[n++] = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        char name[128];
        checkin_name(c, platform, group_id, users[i], name, sizeof name);
        put(l->t, "%s%s（此前连续 %lld 天）", l->i++ ? "、" : "", name, (long long)days[i]);
    }
}

/* The platform and account a group was last seen on. */
static bool group_origin(struct qb_ctx *c, const char *group_id, char *platform, size_t pn,
                         char *self_id)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT platform, self_id FROM checkin_groups WHERE group_id = ?");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        const char *s = (const char *)sqlite3_column_text(st, 1);
        snprintf(platform, pn, "%s", p ? p : "");
        qb_id_set(self_id, s ? s : "");
    }
    sqlite3_reset(st);
    return found;
}

void checkin_on_schedule(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!ev->sched_key || strncmp(ev->sched_key, "summary:", 8) || !ev->sched_payload)
        return;
    char group_id[QB_ID_MAX], platform[16], self_id[QB_ID_MAX];
    qb_id_set(group_id, ev->sched_payload);
    checkin_arm_summary(c, group_id); /* cancels it if the summary was turned off */
    const struct checkin_settings *s = checkin_cfg(c, group_id);
    if (!s || !s->summary_time[0] || !qb_enabled(c, group_id) || ev->sched_late_ms > SUMMARY_LATE ||
        !group_origin(c, group_id, platform, sizeof platform, self_id))
        return;
    int64_t due = (ev->time_ms ? ev->time_ms : qb_now(c)) - ev->sched_late_ms;
    struct checkin_day day = checkin_day_of(c, group_id, due);
    struct today_row first[3];
    int got;
    int64_t total = today_list(c, platform, group_id, day.num, first, 3, &got);
    if (!total)
        return;
    struct text t = {.len = 0};
    t.s[0] = '\0';
    int y, m, d;
    if (sscanf(day.date, "%d-%d-%d", &y, &m, &d) != 3)
        m = d = 0;
    put(&t, "📊 %d月%d日签到小结：今天共 %lld 人签到", m, d, (long long)total);
    put(&t, "\n🥇 最早：");
    for (int i = 0; i < got; i++) {
        char name[128];
        checkin_name(c, platform, group_id, first[i].user_id, name, sizeof name);
        put(&t, "%s%s", i ? "、" : "", name);
    }
    put(&t, "\n🔥 连续最久：");
    struct listing l = {&t, platform, group_id, 0};
    top_streaks(c, platform, group_id, day.num, 3, streak_brief, &l);
    size_t before = t.len;
    put(&t, "\n💔 昨天断签：");
    l.i = 0;
    broken_streaks(c, platform, group_id, day.num, &l);
    if (!l.i) { /* nobody: drop the line */
        t.len = before;
        t.s[before] = '\0';
    }
    struct qb_msg msg;
    qb_msg_init(&msg);
    if (qb_msg_text(&msg, t.s) == QB_OK && qb_msg_finish(&msg) == QB_OK)
        qb_send_group(c, self_id, group_id, &msg);
    qb_msg_clear(&msg);
}
