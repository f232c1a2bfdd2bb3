/*
 * insight.c — the insight plugin (engagement analysis): settings, migrations (the schema of
 * bot/insight/schema.c), the event hook that keeps the rollup tables, the daily prune of
 * recent messages and the optional Monday digest sent privately to a group's admins.
 *
 * Priority 900: runs after every other plugin and never returns QB_HANDLED. Keeps no
 * globals; its state (pending /forgetme confirmations) lives in qb_set_state.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insight_plugin.h"

static const struct qb_cfg_field insight_settings_table[] = {
        {"follower_messages", QB_CFG_INT, offsetof(struct insight_settings, follower_messages), "1",
         1, 100000, "Messages in the period to count as 关注者 (follower)", NULL},
        {"participant_actions", QB_CFG_INT, offsetof(struct insight_settings, participant_actions),
         "3", 1, 100000,
         "Check-ins + talks attended + sign-ups in the period for 消费者 (participant)", NULL},
        {"spreader_invites", QB_CFG_INT, offsetof(struct insight_settings, spreader_invites), "1",
         1, 100000, "Invited members who stayed 7 days for 传播者 (spreader)", NULL},
        {"spreader_replied_by", QB_CFG_INT, offsetof(struct insight_settings, spreader_replied_by),
         "5", 1, 100000, "Distinct members who replied to or @ someone for 传播者 (spreader)",
         NULL},
        {"silent_days", QB_CFG_INT, offsetof(struct insight_settings, silent_days), "14", 1, 3650,
         "Days without a message before a member is listed by 沉默成员", NULL},
        {"weekly_digest", QB_CFG_BOOL, offsetof(struct insight_settings, weekly_digest), "false", 0,
         0, "Send the weekly summary privately to the group's admins on Monday 09:00", NULL},
        {"report_period", QB_CFG_STRING, offsetof(struct insight_settings, report_period), "\"7d\"",
         0, 0, "Default period of 群报告 and 核心成员: 7d, 30d, 12w or 24h", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

void insight_stages_of(const struct insight_settings *s, struct qb_insight_stages *st)
{
    qb_insight_stages_default(st);
    if (!s)
        return;
    st->follower_messages = (int)s->follower_messages;
    st->participant_actions = (int)s->participant_actions;
    st->spreader_invites = (int)s->spreader_invites;
    st->spreader_replied_by = (int)s->spreader_replied_by;
}

static int insight_check(const void *settings, char *why, size_t n)
{
    const struct insight_settings *s = settings;
    struct qb_insight_range r;
    char err[200] = "";
    if (s->report_period && qb_insight_range_parse(s->report_period, 86400000LL * 400, "UTC", &r,
                                                   err, sizeof err) != QB_OK) {
        snprintf(why, n, "report_period \"%s\" is not a period: write 7d, 30d, 12w or 24h",
                 s->report_period);
        return QB_EINVAL;
    }
    return QB_OK;
}

/* Arm a persisted schedule once. Re-creating it at every start would move a run missed while
 * the bot was down to the next occurrence, so it would never fire late; the armed spec (cron
 * and timezone) is remembered and the schedule is only replaced when that changes. */
static void arm_once(struct qb_ctx *c, const char *key, const char *cron, const char *what)
{
    char kv_key[64], spec[160];
    snprintf(kv_key, sizeof kv_key, "armed:%s", key);
    const char *tz = qb_timezone(c, NULL);
    snprintf(spec, sizeof spec, "%s|%s", cron, tz);
    char *had = qb_kv_get(c, kv_key);
    bool same = had && !strcmp(had, spec);
    free(had);
    if (same)
        return;
    if (qb_schedule_cron(c, key, cron, tz, NULL) != QB_OK) {
        qb_log(QB_LOG_WARN, "insight: %s could not be scheduled", what);
        return;
    }
    qb_kv_set(c, kv_key, spec);
}

static int insight_init(struct qb_ctx *c)
{
    struct insight_state *s = calloc(1, sizeof *s);
    if (!s)
        return QB_ENOMEM;
    qb_set_state(c, s);
    arm_once(c, "prune", "30 4 * * *", "the daily prune of old message rows");
    arm_once(c, "digest", "0 9 * * MON", "the Monday digest");
    return QB_OK;
}

static void insight_shutdown(struct qb_ctx *c)
{
    free(qb_state(c));
    qb_set_state(c, NULL);
}

static int insight_event(struct qb_ctx *c, const struct qb_event *ev)
{
    if (ev->kind == QB_EV_SCHEDULE) {
        if (ev->sched_key && !strcmp(ev->sched_key, "prune"))
            insight_prune(c);
        else if (ev->sched_key && !strcmp(ev->sched_key, "digest"))
            insight_digest(c, ev->sched_late_ms);
        return QB_PASS;
    }
    /* An observer: it also sees messages other plugins handled (签到, commands), which are
     * activity. Messages the guard recalled are not: they count as moderation instead. */
    if (ev->handled_by && !strcmp(ev->handled_by, "guard"))
        return QB_PASS;
    insight_record(c, ev);
    return QB_PASS;
}

/* ---- the Monday digest ---- */

static void digest_group(struct qb_ctx *c, sqlite3 *db, const char *group_id)
{
    const struct insight_settings *s = qb_settings(c, group_id);
    if (!s || !s->weekly_digest || !qb_enabled(c, group_id))
        return;
    struct qb_insight_range r;
    struct qb_insight_report rep;
    struct qb_insight_stages st;
    char err[200] = "";
    insight_stages_of(s, &st);
    const char *tz = qb_timezone(c, group_id);
    int64_t now = qb_now(c);
    if (qb_insight_range_parse("7d", now + 1000, tz, &r, err, sizeof err) != QB_OK ||
        qb_insight_report_with(db, group_id, &r, now, &st, &rep, err, sizeof err) != QB_OK)
        return;
    char *text = qb_insight_render_text(&rep);
    qb_insight_report_free(&rep);
    if (!text)
        return;
    sqlite3_stmt *q = qb_stmt(c, "SELECT user_id FROM insight_members WHERE group_id = ?1 AND"
                                 " is_admin = 1 AND left_ms = 0 ORDER BY user_id LIMIT 10");
    if (q) {
        sqlite3_bind_text(q, 1, group_id, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(q) == SQLITE_ROW) {
            struct qb_msg m;
            qb_msg_init(&m);
            if (qb_msg_textf(&m, "群 %s 的每周摘要\n%s", group_id, text) == QB_OK)
                qb_send_private(c, "", (const char *)sqlite3_column_text(q, 0), &m);
            qb_msg_clear(&m);
        }
        sqlite3_reset(q);
    }
    free(text);
}

void insight_digest(struct qb_ctx *c, int64_t late_ms)
{
    if (late_ms > 6 * 3600 * 1000LL)
        return; /* a digest missed by more than a morning is stale: wait for next Monday */
    sqlite3 *db = insight_db(c);
    sqlite3_stmt *g = qb_stmt(c, "SELECT DISTINCT group_id FROM insight_members");
    if (!db || !g)
        return;
    char groups[64][QB_ID_MAX];
    size_t n = 0;
    while (n < 64 && sqlite3_step(g) == SQLITE_ROW)
        qb_id_set(groups[n++], (const char *)sqlite3_column_text(g, 0));
    sqlite3_reset(g);
    for (size_t i = 0; i < n; i++)
        digest_group(c, db, groups[i]);
}

const struct qb_plugin qb_plugin_insight = {
        .abi = QB_PLUGIN_ABI,
        .name = "insight",
        .version = "1.0",
        .description = "群数据分析：活跃度、成员阶段、交往圈、群报告",
        .priority = 900,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE) | QB_EVMASK(QB_EV_MEMBER_JOIN) |
                      QB_EVMASK(QB_EV_MEMBER_LEAVE) | QB_EVMASK(QB_EV_ADMIN_CHANGE) |
                      QB_EVMASK(QB_EV_RECALL) | QB_EVMASK(QB_EV_SCHEDULE),
        .default_on = true,
        .settings = insight_settings_table,
        .settings_size = sizeof(struct insight_settings),
        .commands = insight_commands,
        .migrations = qb_insight_migrations,
        .init = insight_init,
        .on_event = insight_event,
        .observer = true,
        .shutdown = insight_shutdown,
        .check = insight_check,
};
