/*
 * insight_cmd.c — the insight plugin's chat commands: for admins 群报告 (/report),
 * 沉默成员 (/silent), 核心成员 (/keymembers); for members 我的数据 (/mydata, answered
 * privately) and 删除我的数据 (/forgetme, two steps, audited).
 *
 * Reads through the metrics library (<insight.h>) on the bot's own connection; answers are
 * plain text segments (member names are never markup). Stale back-filled commands are
 * ignored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insight_plugin.h"

/* A fixed-size text being built for one chat answer (cut at the end if too long). */
struct text {
    char s[3000];
    size_t len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
    if (t->len >= sizeof t->s - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < sizeof t->s - t->len ? (size_t)n : sizeof t->s - t->len - 1;
}

static const struct insight_settings *cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

/* The group's range for the command's first argument or the configured period. */
static bool range_for(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                      struct qb_insight_range *r)
{
    const struct insight_settings *s = cfg(c, ev->group_id);
    const char *period = a->argc > 0 ? a->argv[0] : s->report_period ? s->report_period : "7d";
    char err[200] = "";
    /* up to the end of the current second: the asking message itself is in the report */
    if (qb_insight_range_parse(period, qb_now(c) + 1000, qb_timezone(c, ev->group_id), r, err,
                               sizeof err) != QB_OK) {
        char why[200];
        snprintf(why, sizeof why, "时间段看不懂，请用 7d、30d、12w 或 24h，例如：%.60s 30d",
                 a->used && a->used[0] ? a->used : "/report");
        qb_reply(c, ev, why, false);
        return false;
    }
    return true;
}

static int report_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    struct qb_insight_range r;
    if (!range_for(c, ev, a, &r))
        return QB_HANDLED;
    struct qb_insight_stages st;
    insight_stages_of(cfg(c, ev->group_id), &st);
    struct qb_insight_report rep;
    char err[200] = "";
    if (qb_insight_report_with(insight_db(c), ev->group_id, &r, qb_now(c), &st, &rep, err,
                               sizeof err) != QB_OK) {
        qb_reply(c, ev, "报告暂时生成不了，请稍后再试或联系机器人管理员。", false);
        qb_log(QB_LOG_WARN, "insight: report for group %s failed: %s", ev->group_id, err);
        return QB_HANDLED;
    }
    char *text = qb_insight_render_text(&rep);
    qb_insight_report_free(&rep);
    qb_reply(c, ev, text ? text : "报告生成失败（内存不足）。", false);
    free(text);
    return QB_HANDLED;
}

static int silent_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    const struct insight_settings *s = cfg(c, ev->group_id);
    struct qb_insight_member *m = NULL;
    size_t n = 0;
    char err[200] = "";
    if (qb_insight_silent(insight_db(c), ev->group_id, qb_now(c), (int)s->silent_days, &m, &n, err,
                          sizeof err) != QB_OK) {
        qb_reply(c, ev, "沉默成员名单暂时查不到，请稍后再试。", false);
        return QB_HANDLED;
    }
    struct text b = {.len = 0};
    b.s[0] = '\0';
    if (!n)
        add(&b, "没有超过 %lld 天不发言的成员，大家都很活跃 👍", (long long)s->silent_days);
    else
        add(&b, "超过 %lld 天没发言的成员（共 %zu 人）：", (long long)s->silent_days, n);
    for (size_t i = 0; i < n && i < 20; i++) {
        if (m[i].name[0]) /* members who never spoke have no name yet: the id alone */
            add(&b, "\n%s（%s）· %s", m[i].name, m[i].user_id, m[i].value_why);
        else
            add(&b, "\n%s · %s", m[i].user_id, m[i].value_why);
    }
    if (n > 20)
        add(&b, "\n……还有 %zu 人", n - 20);
    free(m);
    qb_reply(c, ev, b.s, false);
    return QB_HANDLED;
}

static int cmp_rank(const void *x, const void *y)
{
    const struct qb_insight_member *a = x, *b = y;
    if (a->pagerank != b->pagerank)
        return a->pagerank < b->pagerank ? 1 : -1;
    return a->value < b->value ? 1 : a->value > b->value ? -1 : 0;
}

static int keymembers_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    struct qb_insight_range r;
    if (!range_for(c, ev, a, &r))
        return QB_HANDLED;
    struct qb_insight_stages st;
    insight_stages_of(cfg(c, ev->group_id), &st);
    struct qb_insight_member *m = NULL;
    size_t n = 0;
    char err[200] = "";
    if (qb_insight_members(insight_db(c), ev->group_id, &r, &st, &m, &n, err, sizeof err) !=
        QB_OK) {
        qb_reply(c, ev, "核心成员暂时查不到，请稍后再试。", false);
        return QB_HANDLED;
    }
    qsort(m, n, sizeof *m, cmp_rank);
    struct text b = {.len = 0};
    b.s[0] = '\0';
    add(&b, "%s", "核心成员（按交往圈影响力）：");
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < 10; i++) {
        if (!m[i].messages && m[i].degree <= 0)
            continue;
        shown++;
        add(&b, "\n%zu. %s · %s · 影响力 %.3f · 价值 %.1f（%s）", shown,
            m[i].name[0] ? m[i].name : m[i].user_id, qb_insight_stage_name(m[i].stage),
            m[i].pagerank, m[i].value, m[i].value_why);
    }
    if (!shown)
        add(&b, "%s", "\n这段时间还没有人发言。");
    free(m);
    qb_reply(c, ev, b.s, false);
    return QB_HANDLED;
}

static void fmt_time(struct qb_ctx *c, const char *tz, int64_t ms, char *out, size_t n)
{
    if (ms <= 0) {
        snprintf(out, n, "无");
        return;
    }
    qb_local_date(c, tz, ms, out, n);
}

static int mydata_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    struct qb_insight_range r;
    if (!range_for(c, ev, a, &r))
        return QB_HANDLED;
    struct qb_insight_stages st;
    insight_stages_of(cfg(c, ev->group_id), &st);
    struct qb_insight_member *m = NULL, *me = NULL;
    size_t n = 0;
    char err[200] = "";
    qb_insight_members(insight_db(c), ev->group_id, &r, &st, &m, &n, err, sizeof err);
    for (size_t i = 0; i < n && !me; i++)
        if (!strcmp(m[i].user_id, ev->user_id))
            me = &m[i];
    int64_t total = 0, first = 0;
    sqlite3_stmt *q = qb_stmt(c, "SELECT messages, first_msg_ms FROM insight_members WHERE"
                                 " group_id = ?1 AND user_id = ?2");
    if (q) {
        sqlite3_bind_text(q, 1, ev->group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 2, ev->user_id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) == SQLITE_ROW) {
            total = sqlite3_column_int64(q, 0);
            first = sqlite3_column_int64(q, 1);
        }
        sqlite3_reset(q);
    }
    const char *tz = qb_timezone(c, ev->group_id);
    char d_first[16], d_last[16], d_join[16];
    fmt_time(c, tz, first, d_first, sizeof d_first);
    fmt_time(c, tz, me ? me->last_msg_ms : 0, d_last, sizeof d_last);
    fmt_time(c, tz, me ? me->joined_ms : 0, d_join, sizeof d_join);
    struct qb_msg msg;
    qb_msg_init(&msg);
    qb_msg_textf(&msg,
                 "你在群 %s 里机器人记录的数据：\n累计发言 %lld 条（近期 %lld 条）· 被回复 %lld 次"
                 " · 被 @ %lld 次\n入群 %s · 第一次发言 %s · 最近发言 %s\n阶段：%s · 签到 %lld 次"
                 " · 参加分享 %lld 场 · 报名 %lld 次\n积分合计 %lld\n另外，聊天记录里保存着你消息的"
                 "文字。想删除请在群里发送 /forgetme。",
                 ev->group_id, (long long)total, (long long)(me ? me->messages : 0),
                 (long long)(me ? me->replies_received : 0),
                 (long long)(me ? me->mentions_received : 0), d_join, d_first, d_last,
                 qb_insight_stage_name(me ? me->stage : QB_STAGE_ONLOOKER),
                 (long long)(me ? me->checkins : 0), (long long)(me ? me->talks_attended : 0),
                 (long long)(me ? me->signups : 0),
                 (long long)qb_points_sum(c, ev->group_id, ev->user_id, 0, 0));
    free(m);
    qb_send_private(c, ev->self_id, ev->user_id, &msg);
    qb_msg_clear(&msg);
    qb_reply(c, ev, "你的数据已私信发给你（如果没收到，请先加机器人为好友）。", false);
    return QB_HANDLED;
}

static struct insight_pending *pending_of(struct qb_ctx *c, const struct qb_event *ev, bool make)
{
    struct insight_state *s = qb_state(c);
    struct insight_pending *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < INSIGHT_PENDING_MAX; i++) {
        struct insight_pending *p = &s->pending[i];
        if (p->asked_ms && !strcmp(p->group_id, ev->group_id) && !strcmp(p->user_id, ev->user_id))
            return p;
        if (!p->asked_ms && !free_slot)
            free_slot = p;
        if (!oldest || p->asked_ms < oldest->asked_ms)
            oldest = p;
    }
    if (!make)
        return NULL;
    struct insight_pending *p = free_slot ? free_slot : oldest;
    qb_id_set(p->group_id, ev->group_id);
    qb_id_set(p->user_id, ev->user_id);
    return p;
}

static int forgetme_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    int64_t now = qb_now(c);
    bool confirm = a->argc > 0 && (!strcmp(a->argv[0], "confirm") || !strcmp(a->argv[0], "确认"));
    if (!confirm) {
        struct insight_pending *p = pending_of(c, ev, true);
        p->asked_ms = now;
        qb_reply(c, ev,
                 "确定要删除机器人记录的你在本群的统计数据和消息文字吗？5 分钟内发送"
                 " /forgetme confirm 确认。",
                 true);
        return QB_HANDLED;
    }
    struct insight_pending *p = pending_of(c, ev, false);
    if (!p || now - p->asked_ms > INSIGHT_FORGET_MS) {
        if (p)
            p->asked_ms = 0;
        qb_reply(c, ev, "请先发送 /forgetme，再在 5 分钟内发送 /forgetme confirm。", true);
        return QB_HANDLED;
    }
    p->asked_ms = 0;
    int64_t rows = insight_forget(c, ev->group_id, ev->user_id);
    if (rows < 0) {
        qb_reply(c, ev, "删除没有成功，请稍后再试或联系管理员。", true);
        return QB_HANDLED;
    }
    char details[200];
    snprintf(details, sizeof details, "{\"user_id\":\"%s\",\"rows\":%lld}",
             strspn(ev->user_id, "0123456789") == strlen(ev->user_id) ? ev->user_id : "?",
             (long long)rows);
    qb_audit(c, ev, "insight.forgetme", details);
    char text[400];
    snprintf(text, sizeof text,
             "已删除你在本群的统计数据，聊天记录里你消息的文字也已清空。为了公平，积分流水会保留"
             "（当前合计 %lld 分）。",
             (long long)qb_points_sum(c, ev->group_id, ev->user_id, 0, 0));
    qb_reply(c, ev, text, true);
    return QB_HANDLED;
}

static const char *const report_aliases[] = {"群报告", NULL};
static const char *const silent_aliases[] = {"沉默成员", NULL};
static const char *const key_aliases[] = {"核心成员", NULL};
static const char *const mydata_aliases[] = {"我的数据", NULL};
static const char *const forget_aliases[] = {"删除我的数据", NULL};

const struct qb_command insight_commands[] = {
        {.name = "report",
         .aliases = report_aliases,
         .usage = "/report [7d|30d]",
         .help = "群活跃度报告",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = report_run},
        {.name = "silent",
         .aliases = silent_aliases,
         .usage = "/silent",
         .help = "长时间没发言的成员",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = silent_run},
        {.name = "keymembers",
         .aliases = key_aliases,
         .usage = "/keymembers [7d|30d]",
         .help = "交往圈里的核心成员",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = keymembers_run},
        {.name = "mydata",
         .aliases = mydata_aliases,
         .usage = "/mydata",
         .help = "私信查看机器人记录的我的数据",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = mydata_run},
        {.name = "forgetme",
         .aliases = forget_aliases,
         .usage = "/forgetme [confirm]",
         .help = "删除机器人记录的我的数据",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = forgetme_run},
        {.name = NULL},
};
