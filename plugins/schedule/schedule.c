/*
 * schedule.c — the schedule plugin's frame (recurring posts and night mode, issue 5): settings
 * table and its check hook (post entries, cron text, placeholders, night times), tables,
 * commands, event dispatch and lifecycle (schedules of known and rules-listed groups synced at
 * start, listed groups re-checked every tick to follow a reload).
 *
 * Owns the plugin state (the groups seen this run), freed in shutdown. Arming lives in
 * schedule_arm.c, posting and /schedule in schedule_post.c, night mode in schedule_night.c,
 * reading cron text and entries in schedule_cron.c. Keeps no globals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

#define S(f) offsetof(struct schedule_settings, f)

static const char *const post_vars[] = {"date", "weekday", "item", "group", NULL};
static const char *const night_vars[] = {"start", "end", "group", NULL};

static const struct qb_cfg_field schedule_table[] = {
        {"posts", QB_CFG_STRLIST, S(posts), "[]", 0, 0,
         "Recurring posts, each \"<cron>|<name>|<text>\", e.g. \"0 8 * * *|每日话题|@topics\"",
         NULL},
        {"topics", QB_CFG_STRLIST, S(topics), "[]", 0, 0,
         "Rotating content: each post using {item} (or @topics) takes the next one", NULL},
        {"topic_template", QB_CFG_TEMPLATE, S(topic_template),
         "\"📌 {date} {weekday} 今日话题：\\n{item}\"", 0, 0, "What a post written as @topics says",
         post_vars},
        {"group_name", QB_CFG_STRING, S(group_name), "\"\"", 0, 0,
         "What {group} says; empty = 本群", NULL},
        {"stale_after", QB_CFG_DURATION, S(stale_ms), "\"2h\"", 60000, 7 * 86400000LL,
         "A post missed while the bot was away is still sent this late, later it is skipped", NULL},
        {"night_start", QB_CFG_STRING, S(night_start), "\"\"", 0, 0,
         "Night mode (whole-group mute) starts at this local time, \"HH:MM\"; empty = off", NULL},
        {"night_end", QB_CFG_STRING, S(night_end), "\"\"", 0, 0,
         "Night mode ends at this local time, \"HH:MM\" (may be the next morning)", NULL},
        {"night_notice", QB_CFG_TEMPLATE, S(night_notice),
         "\"🌙 夜深了，{start}–{end} 全员禁言，明早见～\"", 0, 0,
         "Posted just before the night mute; empty = none", night_vars},
        {"morning_notice", QB_CFG_TEMPLATE, S(morning_notice),
         "\"☀️ 早上好！禁言已解除，大家可以聊天啦。\"", 0, 0,
         "Posted after the morning lift; empty = none", night_vars},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* ---- check hook ---- */

static int check_post(const struct schedule_settings *s, size_t i, char *why, size_t n)
{
    struct sch_post p, q;
    char sub[300];
    if (sch_post_parse(s->posts.v[i], &p, why, n) != QB_OK)
        return QB_EINVAL;
    if (qb_cron_check(p.cron, sub, sizeof sub) != QB_OK) {
        snprintf(why, n, "posts entry \"%s\": %s", p.name, sub);
        return QB_EINVAL;
    }
    for (size_t j = 0; j < i; j++) {
        if (sch_post_parse(s->posts.v[j], &q, sub, sizeof sub) == QB_OK &&
            !strcmp(p.name, q.name)) {
            snprintf(why, n, "posts: two entries are called \"%s\"; give each post its own name",
                     p.name);
            return QB_EINVAL;
        }
    }
    bool topics = !strcmp(p.text, "@topics");
    if (!topics && qb_template_check(p.text, post_vars, sub, sizeof sub) != QB_OK) {
        snprintf(why, n, "posts entry \"%s\": %s", p.name, sub);
        return QB_EINVAL;
    }
    if ((topics || strstr(p.text, "{item}")) && !s->topics.n) {
        snprintf(why, n, "posts entry \"%s\" takes the next topic but topics is empty: add items",
                 p.name);
        return QB_EINVAL;
    }
    return QB_OK;
}

static int check_night(const struct schedule_settings *s, char *why, size_t n)
{
    int on, off;
    if (!s->night_start[0] && !s->night_end[0])
        return QB_OK;
    if (!s->night_start[0] || !s->night_end[0]) {
        snprintf(why, n, "night mode needs both night_start and night_end (or neither)");
        return QB_EINVAL;
    }
    if (!sch_hhmm(s->night_start, &on) || !sch_hhmm(s->night_end, &off)) {
        snprintf(why, n, "night_start \"%s\" / night_end \"%s\" should be times like \"23:00\"",
                 s->night_start, s->night_end);
        return QB_EINVAL;
    }
    if (on == off) {
        snprintf(why, n, "night_start and night_end are both \"%s\": the night would be empty",
                 s->night_start);
        return QB_EINVAL;
    }
    return QB_OK;
}

static int schedule_check(const void *settings, char *why, size_t n)
{
    const struct schedule_settings *s = settings;
    for (size_t i = 0; i < s->posts.n; i++)
        if (check_post(s, i, why, n) != QB_OK)
            return QB_EINVAL;
    return check_night(s, why, n);
}

static const char *const schedule_migrations[] = {
        /* v1 */
        "CREATE TABLE schedule_groups (group_id TEXT NOT NULL, self_id TEXT,"
        " UNIQUE (group_id));"
        "CREATE TABLE schedule_armed (group_id TEXT NOT NULL, skey TEXT NOT NULL,"
        " spec TEXT NOT NULL, UNIQUE (group_id, skey));"
        "CREATE TABLE schedule_posts (group_id TEXT NOT NULL, name TEXT NOT NULL,"
        " paused INTEGER NOT NULL DEFAULT 0, pos BIGINT NOT NULL DEFAULT 0,"
        " UNIQUE (group_id, name));"
        "CREATE TABLE schedule_runs (group_id TEXT NOT NULL, name TEXT NOT NULL,"
        " due_ms BIGINT NOT NULL, ts BIGINT NOT NULL, outcome TEXT NOT NULL,"
        " UNIQUE (group_id, name, due_ms));"
        "CREATE TABLE schedule_night (group_id TEXT NOT NULL, muted INTEGER NOT NULL,"
        " since BIGINT NOT NULL, UNIQUE (group_id));",
        NULL,
};

/* ---- lifecycle and events ---- */

static int schedule_init(struct qb_ctx *c)
{
    struct sch_state *st = calloc(1, sizeof *st);
    if (!st)
        return QB_ENOMEM;
    qb_set_state(c, st);
    sch_sync_all(c);
    return QB_OK;
}

static void schedule_shutdown(struct qb_ctx *c)
{
    struct sch_state *st = sch_st(c);
    if (!st)
        return;
    sch_groups_free(c);
    sch_night_free(c);
    free(st);
    qb_set_state(c, NULL);
}

static void schedule_tick(struct qb_ctx *c, int64_t now_ms)
{
    (void)now_ms;
    sch_sync_listed(c); /* a reload: new groups, changed posts (unchanged: one hash each) */
}

static void on_schedule(struct qb_ctx *c, const struct qb_event *ev)
{
    const char *key = ev->sched_key, *g = ev->sched_payload;
    if (!key || !g || !g[0])
        return;
    sch_group_seen(c, NULL, g); /* catches settings changed by a reload */
    int64_t due = ev->time_ms - ev->sched_late_ms;
    size_t glen = strlen(g);
    if (!strncmp(key, "post:", 5) && !strncmp(key + 5, g, glen) && key[5 + glen] == '|')
        sch_post_on_schedule(c, g, key + 6 + glen, due, ev->sched_late_ms);
    else if (!strncmp(key, "night-on:", 9))
        sch_night_on_schedule(c, g, true, ev->sched_late_ms);
    else if (!strncmp(key, "night-off:", 10))
        sch_night_on_schedule(c, g, false, ev->sched_late_ms);
}

static int schedule_event(struct qb_ctx *c, const struct qb_event *ev)
{
    if (ev->kind == QB_EV_SCHEDULE)
        on_schedule(c, ev);
    else if (ev->group_id[0] && ev->chat != QB_CHAT_PRIVATE)
        sch_group_seen(c, ev->self_id, ev->group_id);
    return QB_PASS;
}

static const char *const schedule_aliases[] = {"定时任务", NULL};
static const char *const list_aliases[] = {"定时列表", NULL};

static const struct qb_command schedule_commands[] = {
        {.name = "schedule",
         .aliases = schedule_aliases,
         .usage = "/schedule list · /schedule pause|resume|run <名称>",
         .help = "定时发布：查看、暂停、恢复、立即发一次",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = sch_cmd},
        {.name = "schedulelist",
         .aliases = list_aliases,
         .usage = "定时列表",
         .help = "本群的定时发布和宵禁，以及下次时间",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = sch_cmd_list},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_schedule = {
        .abi = QB_PLUGIN_ABI,
        .name = "schedule",
        .version = "1.0",
        .description = "定时发布（每日话题、周报、轮换内容）和宵禁全员禁言",
        .priority = 100,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE) | QB_EVMASK(QB_EV_MEMBER_JOIN) |
                      QB_EVMASK(QB_EV_MEMBER_LEAVE) | QB_EVMASK(QB_EV_RECALL) |
                      QB_EVMASK(QB_EV_MUTE) | QB_EVMASK(QB_EV_POKE) | QB_EVMASK(QB_EV_CARD_CHANGE) |
                      QB_EVMASK(QB_EV_NOTICE) | QB_EVMASK(QB_EV_SCHEDULE),
        .default_on = false,
        .settings = schedule_table,
        .settings_size = sizeof(struct schedule_settings),
        .commands = schedule_commands,
        .migrations = schedule_migrations,
        .init = schedule_init,
        .on_event = schedule_event,
        .on_tick = schedule_tick,
        .shutdown = schedule_shutdown,
        .check = schedule_check,
};
