/*
 * checkin.c — the check-in plugin's frame: settings table and its check hook (window,
 * times, negative points), tables, commands, event dispatch, lifecycle (summary schedules
 * armed on start for known and rules-listed groups, and again after a reload), and helpers
 * the plugin's other files share (local days and day arithmetic, the window's times,
 * trigger matching, replies that mention the sender).
 *
 * Owns the plugin state (pending confirmations, armed schedules), freed in shutdown.
 * Checking in lives in checkin_do.c, queries in checkin_streak.c, boards and the daily
 * summary in checkin_board.c. Keeps no globals; never puts member text into markup.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkin.h"

#define S(f) offsetof(struct checkin_settings, f)

static const char *const reply_vars[] = {"at",     "name",  "order", "streak", "longest",
                                         "points", "total", "rank",  "days",   NULL};

static const struct qb_cfg_field checkin_table[] = {
        {"triggers", QB_CFG_STRLIST, S(triggers), "[\"签到\", \"打卡\", \"早安打卡\"]", 0, 0,
         "A message that is exactly one of these words checks in (/checkin always works)", NULL},
        {"window_start", QB_CFG_STRING, S(window_start), "\"\"", 0, 0,
         "Check-in opens at this local time, \"HH:MM\"; empty = all day", NULL},
        {"window_end", QB_CFG_STRING, S(window_end), "\"\"", 0, 0,
         "Check-in closes at this local time, \"HH:MM\"; empty = until midnight", NULL},
        {"points", QB_CFG_INT, S(points), "5", 0, 0, "Points for a check-in", NULL},
        {"streak_bonus", QB_CFG_INT, S(streak_bonus), "0", 0, 0,
         "Extra points per consecutive day after the first (0 = no bonus)", NULL},
        {"streak_bonus_max", QB_CFG_INT, S(streak_bonus_max), "10", 0, 0,
         "The streak bonus never exceeds this", NULL},
        {"reply", QB_CFG_TEMPLATE, S(reply),
         "\"{at} 签到成功！今天第 {order} 位，连续 {streak} 天，+{points} 分"
         "（共 {total} 分，排第 {rank}）\"",
         0, 0, "One confirmation line per member", reply_vars},
        {"merge_window", QB_CFG_DURATION, S(merge_ms), "\"3s\"", 0, 60000,
         "Confirmations within this time go out as one message (0s = each at once)", NULL},
        {"makeup_enabled", QB_CFG_BOOL, S(makeup_enabled), "false", 0, 0,
         "Allow 补签 (make-up check-ins) paid with points", NULL},
        {"makeup_cost", QB_CFG_INT, S(makeup_cost), "20", 0, 0, "Points a make-up costs", NULL},
        {"makeup_per_month", QB_CFG_INT, S(makeup_per_month), "2", 0, 31,
         "Make-ups a member may use per calendar month", NULL},
        {"summary_time", QB_CFG_STRING, S(summary_time), "\"\"", 0, 0,
         "Post the day's check-in summary at this local time, \"HH:MM\"; empty = off", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static int check_time(const char *key, const char *v, bool allow_24, char *why, size_t n)
{
    int m;
    if (!v[0])
        return QB_OK;
    if (!checkin_hhmm(v, &m) || (!allow_24 && m >= 24 * 60)) {
        snprintf(why, n, "%s \"%s\" should be a time like \"05:00\" (24-hour HH:MM)", key, v);
        return QB_EINVAL;
    }
    return QB_OK;
}

static int check_not_negative(const char *key, int64_t v, char *why, size_t n)
{
    if (v >= 0)
        return QB_OK;
    snprintf(why, n, "%s is %lld: it cannot be negative, use 0 or more", key, (long long)v);
    return QB_EINVAL;
}

static int checkin_check(const void *settings, char *why, size_t n)
{
    const struct checkin_settings *s = settings;
    if (check_time("window_start", s->window_start, false, why, n) != QB_OK ||
        check_time("window_end", s->window_end, true, why, n) != QB_OK ||
        check_time("summary_time", s->summary_time, false, why, n) != QB_OK)
        return QB_EINVAL;
    int a, b;
    if (s->window_start[0] && s->window_end[0] && checkin_hhmm(s->window_start, &a) &&
        checkin_hhmm(s->window_end, &b) && b <= a) {
        snprintf(why, n,
                 "window_end \"%s\" is not after window_start \"%s\": the check-in window must "
                 "end later the same day",
                 s->window_end, s->window_start);
        return QB_EINVAL;
    }
    if (check_not_negative("points", s->points, why, n) != QB_OK ||
        check_not_negative("streak_bonus", s->streak_bonus, why, n) != QB_OK ||
        check_not_negative("streak_bonus_max", s->streak_bonus_max, why, n) != QB_OK ||
        check_not_negative("makeup_cost", s->makeup_cost, why, n) != QB_OK)
        return QB_EINVAL;
    return QB_OK;
}

static const char *const checkin_migrations[] = {
        /* v1 */
        "CREATE TABLE checkin_days ("
        " platform TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " day TEXT NOT NULL, daynum INTEGER NOT NULL, ts BIGINT NOT NULL,"
        " ord INTEGER NOT NULL DEFAULT 0, makeup INTEGER NOT NULL DEFAULT 0,"
        " points INTEGER NOT NULL DEFAULT 0, message_id TEXT, name TEXT,"
        " UNIQUE (platform, group_id, user_id, day));"
        "CREATE INDEX checkin_days_group_day ON checkin_days(platform, group_id, daynum);"
        "CREATE INDEX checkin_days_message ON checkin_days(platform, group_id, message_id);"
        "CREATE TABLE checkin_groups ("
        " platform TEXT NOT NULL, group_id TEXT NOT NULL, self_id TEXT,"
        " UNIQUE (platform, group_id));",
        NULL,
};

/* ---- shared helpers ---- */

struct checkin_state *checkin_st(struct qb_ctx *c)
{
    return qb_state(c);
}

const struct checkin_settings *checkin_cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static struct checkin_day day_from_num(int64_t num)
{
    struct checkin_day d = {.num = num};
    int64_t y, m, dd;
    civil_from_days(num, &y, &m, &dd);
    /* y is 1970..9999 for any date the bot sees; the modulo keeps -Wformat-truncation sure. */
    snprintf(d.date, sizeof d.date, "%04u-%02u-%02u", (unsigned)(y % 10000), (unsigned)(m % 100),
             (unsigned)(dd % 100));
    return d;
}

struct checkin_day checkin_day_of(struct qb_ctx *c, const char *group_id, int64_t ms)
{
    struct tm tm;
    if (qb_localtime(c, qb_timezone(c, group_id), ms, &tm) != QB_OK)
        return day_from_num(ms / 86400000);
    return day_from_num(days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1LL, tm.tm_mday));
}

struct checkin_day checkin_day_add(struct checkin_day d, int64_t days)
{
    return day_from_num(d.num + days);
}

bool checkin_hhmm(const char *s, int *minutes)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m))
        return false;
    *minutes = h * 60 + m;
    return true;
}

int checkin_minute_of_day(struct qb_ctx *c, const char *group_id, int64_t ms)
{
    struct tm tm;
    if (qb_localtime(c, qb_timezone(c, group_id), ms, &tm) != QB_OK)
        return 0;
    return tm.tm_hour * 60 + tm.tm_min;
}

int64_t checkin_month_start(struct qb_ctx *c, const char *group_id, int64_t ms)
{
    const char *tz = qb_timezone(c, group_id);
    struct tm tm;
    if (qb_localtime(c, tz, ms, &tm) != QB_OK)
        return 0;
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    int64_t t = qb_mktime(c, tz, &tm);
    return t < 0 ? 0 : t;
}

static bool is_space(const char *s, size_t *len)
{
    if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
        *len = 1;
        return true;
    }
    if (!strncmp(s, "\xe3\x80\x80", 3)) { /* full-width space */
        *len = 3;
        return true;
    }
    return false;
}

/* Trim ASCII and full-width white space in place. */
static char *trim(char *s)
{
    size_t k, start = 0, len = strlen(s);
    while (s[start] && is_space(s + start, &k))
        start += k;
    memmove(s, s + start, len - start + 1);
    len -= start;
    for (;;) {
        if (len && strchr(" \t\r\n", s[len - 1]))
            len--;
        else if (len >= 3 && !strncmp(s + len - 3, "\xe3\x80\x80", 3))
            len -= 3;
        else
            break;
        s[len] = '\0';
    }
    return s;
}

bool checkin_is_trigger(const struct checkin_settings *s, const struct qb_event *ev)
{
    if (!s || !s->triggers.n)
        return false;
    for (size_t i = 0; i < ev->msg.n; i++) { /* "@someone 签到" is not the sender's check-in */
        const struct qb_seg *g = &ev->msg.segs[i];
        if (g->type == QB_SEG_AT && (!g->text || strcmp(g->text, ev->self_id)))
            return false;
    }
    char *text = qb_msg_text_only(&ev->msg);
    if (!text)
        return false;
    bool hit = qb_strlist_has(&s->triggers, trim(text));
    free(text);
    return hit;
}

void checkin_tell(struct qb_ctx *c, const struct qb_event *ev, const char *text)
{
    struct qb_msg m;
    qb_msg_init(&m);
    if (qb_msg_at(&m, ev->user_id) == QB_OK && qb_msg_text(&m, " ") == QB_OK &&
        qb_msg_text(&m, text) == QB_OK && qb_msg_finish(&m) == QB_OK)
        qb_reply_msg(c, ev, &m);
    qb_msg_clear(&m);
}

/* ---- summary schedules ---- */

static struct checkin_armed *armed_of(struct qb_ctx *c, const char *group_id)
{
    for (struct checkin_armed *a = checkin_st(c)->armed; a; a = a->next)
        if (!strcmp(a->group_id, group_id))
            return a;
    return NULL;
}

void checkin_arm_summary(struct qb_ctx *c, const char *group_id)
{
    const struct checkin_settings *s = checkin_cfg(c, group_id);
    char want[32] = "", key[QB_ID_MAX + 16], spec[96] = "";
    int m;
    if (s && qb_enabled(c, group_id) && checkin_hhmm(s->summary_time, &m) && m < 24 * 60)
        snprintf(want, sizeof want, "%d %d * * *", m % 60, m / 60);
    const char *tz = qb_timezone(c, group_id);
    if (want[0])
        snprintf(spec, sizeof spec, "%s|%s", want, tz);
    snprintf(key, sizeof key, "summary:%s", group_id);
    struct checkin_armed *a = armed_of(c, group_id);
    if (!a) {
        if (!(a = calloc(1, sizeof *a)))
            return;
        qb_id_set(a->group_id, group_id);
        char *known = qb_kv_get(c, key); /* what an earlier run armed (schedules persist) */
        snprintf(a->cron, sizeof a->cron, "%s", known ? known : "");
        free(known);
        a->next = checkin_st(c)->armed;
        checkin_st(c)->armed = a;
        if (!a->cron[0] && !want[0])
            return;
    }
    if (!strcmp(a->cron, spec))
        return;
    int rc = want[0] ? qb_schedule_cron(c, key, want, tz, group_id) : qb_schedule_cancel(c, key);
    if (rc != QB_OK && want[0])
        return;
    snprintf(a->cron, sizeof a->cron, "%s", spec);
    if (want[0])
        qb_kv_set(c, key, spec);
    else
        qb_kv_del(c, key);
}

void checkin_group_seen(struct qb_ctx *c, const char *platform, const char *self_id,
                        const char *group_id)
{
    struct checkin_armed *a = armed_of(c, group_id);
    if (!a || !a->seen) { /* once per group per run */
        sqlite3_stmt *st = qb_stmt(c, "INSERT INTO checkin_groups(platform, group_id, self_id)"
                                      " VALUES (?, ?, ?) ON CONFLICT (platform, group_id)"
                                      " DO UPDATE SET self_id = excluded.self_id");
        if (st) {
            sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, self_id, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    }
    checkin_arm_summary(c, group_id); /* also catches a summary_time changed by a reload */
    if ((a = armed_of(c, group_id)))
        a->seen = true;
}

static int arm_listed(struct qb_ctx *c, const char *group_id, void *ud)
{
    (void)ud;
    checkin_arm_summary(c, group_id);
    return 0;
}

/* ---- lifecycle ---- */

static int checkin_init(struct qb_ctx *c)
{
    struct checkin_state *st = calloc(1, sizeof *st);
    if (!st)
        return QB_ENOMEM;
    qb_set_state(c, st);
    /* re-arm (or cancel) the summary of every group that has ever checked in */
    sqlite3_stmt *q = qb_stmt(c, "SELECT DISTINCT group_id FROM checkin_groups");
    while (q && sqlite3_step(q) == SQLITE_ROW) {
        char g[QB_ID_MAX];
        const char *v = (const char *)sqlite3_column_text(q, 0);
        qb_id_set(g, v ? v : "");
        if (g[0])
            checkin_arm_summary(c, g);
    }
    if (q)
        sqlite3_reset(q);
    /* and of every group a rules file lists, even one that never says anything */
    qb_each_group(c, arm_listed, NULL);
    return QB_OK;
}

/* A reload may list new groups or change a summary_time: follow it within a second
 * (arming compares with what was armed, so an unchanged group costs a string compare). */
static void checkin_tick(struct qb_ctx *c, int64_t now_ms)
{
    (void)now_ms;
    qb_each_group(c, arm_listed, NULL);
}

static void checkin_shutdown(struct qb_ctx *c)
{
    struct checkin_state *st = checkin_st(c);
    if (!st)
        return;
    checkin_batches_free(c);
    while (st->armed) {
        struct checkin_armed *a = st->armed;
        st->armed = a->next;
        free(a);
    }
    free(st);
    qb_set_state(c, NULL);
}

static int checkin_event(struct qb_ctx *c, const struct qb_event *ev)
{
    switch (ev->kind) {
    case QB_EV_MESSAGE:
        if (ev->chat == QB_CHAT_GROUP && ev->group_id[0] && strcmp(ev->user_id, ev->self_id) &&
            checkin_is_trigger(checkin_cfg(c, ev->group_id), ev))
            return checkin_do(c, ev);
        return QB_PASS;
    case QB_EV_SCHEDULE:
        checkin_on_schedule(c, ev);
        return QB_PASS;
    default:
        return QB_PASS;
    }
}

static bool word_is(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return true;
    return false;
}

static const char *const checkin_aliases[] = {"签到", "打卡", "早安打卡", NULL};

/* /checkin [top|me|makeup]. A bare alias (签到) that this group removed from its triggers
 * is left alone: the member is just chatting. */
static int checkin_cmd(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    static const char *const top[] = {"top", "榜", "排行", NULL};
    static const char *const me[] = {"me", "我的", NULL};
    static const char *const makeup[] = {"makeup", "补签", NULL};
    bool bare = word_is(a->used, checkin_aliases);
    const char *w = a->argc ? a->argv[0] : "";
    if (a->argc == 1 && word_is(w, top))
        return checkin_cmd_top(c, ev, a);
    if (a->argc == 1 && word_is(w, me))
        return checkin_cmd_me(c, ev, a);
    if (a->argc == 1 && word_is(w, makeup))
        return checkin_cmd_makeup(c, ev, a);
    if (bare)
        return QB_PASS;
    if (a->argc) {
        if (!ev->backfilled)
            qb_reply(c, ev,
                     "用法：/checkin 签到；/checkin top 签到榜；/checkin me 我的签到；"
                     "/checkin makeup 补签",
                     true);
        return QB_HANDLED;
    }
    return checkin_do(c, ev);
}

static const char *const top_aliases[] = {"签到榜", NULL};
static const char *const me_aliases[] = {"我的签到", NULL};
static const char *const makeup_aliases[] = {"补签", NULL};

static const struct qb_command checkin_commands[] = {
        {.name = "checkin",
         .aliases = checkin_aliases,
         .usage = "签到 · /checkin [top|me|makeup]",
         .help = "每日签到，领积分、攒连续天数",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = checkin_cmd},
        {.name = "checkintop",
         .aliases = top_aliases,
         .usage = "签到榜",
         .help = "今天的签到顺序和连续签到榜",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = checkin_cmd_top},
        {.name = "mycheckin",
         .aliases = me_aliases,
         .usage = "我的签到",
         .help = "查看我的连续天数、最长纪录和累计天数",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = checkin_cmd_me},
        {.name = "makeup",
         .aliases = makeup_aliases,
         .usage = "补签",
         .help = "用积分补上最近漏掉的一天（需本群开启）",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = checkin_cmd_makeup},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_checkin = {
        .abi = QB_PLUGIN_ABI,
        .name = "checkin",
        .version = "1.0",
        .description = "每日签到：连续天数、积分、合并回复、补签、每日小结",
        .priority = 100,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE) | QB_EVMASK(QB_EV_SCHEDULE),
        .default_on = false,
        .settings = checkin_table,
        .settings_size = sizeof(struct checkin_settings),
        .commands = checkin_commands,
        .migrations = checkin_migrations,
        .init = checkin_init,
        .on_event = checkin_event,
        .on_tick = checkin_tick,
        .shutdown = checkin_shutdown,
        .check = checkin_check,
};
