/*
 * talks.c — the talks plugin's frame: settings table and its check hook, tables, the
 * command table, event dispatch, lifecycle (scheduled talks re-armed at start), and the
 * groups it knows (for talks listed in rules files, which are synced for every group a rules
 * file lists from start-up on, for other groups when first seen, and whenever a list changes
 * by a reload).
 *
 * Owns the plugin state (known groups, pending @all checks), freed in shutdown. Talks are
 * scheduled in talks_cmd.c, announced/started/ended in talks_sched.c, run in talks_live.c
 * and summarised in talks_summary.c. Keeps no globals.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talks.h"

#define S(f) offsetof(struct talks_settings, f)

static const char *const announce_vars[] = {"topic", "speakers", "start", "duration",
                                            "left",  "group",    NULL};

static const struct qb_cfg_field talks_table[] = {
        {"talks", QB_CFG_STRLIST, S(talks), "[]", 0, 0,
         "Talks to schedule: \"2026-12-05 20:00|90m|speaker QQ ids, comma-separated|topic\"", NULL},
        {"announce_before", QB_CFG_STRLIST, S(announce_before), "[\"3d\", \"1d\", \"1h\", \"10m\"]",
         0, 0, "Announce this long before each talk (durations like \"3d\", \"1h\", \"10m\")",
         NULL},
        {"announce", QB_CFG_TEMPLATE, S(announce),
         "\"📢 分享预告：「{topic}」\\n主讲：{speakers}\\n时间：{start}（{duration}）\\n"
         "还有 {left} 开始，欢迎准时参加！提问请发「提问 你的问题」。\"",
         0, 0, "The announcement text", announce_vars},
        {"late_policy", QB_CFG_STRING, S(late_policy), "\"send\"", 0, 0,
         "An announcement that comes due late (bot was down): \"send\" it, or \"skip\" it", NULL},
        {"stale_after", QB_CFG_DURATION, S(stale_after_ms), "\"30m\"", 0, 7 * TALKS_DAY_MS,
         "An announcement later than this is always skipped", NULL},
        {"at_all", QB_CFG_BOOL, S(at_all), "false", 0, 0,
         "@全体成员 in the last announcement before a talk (only where the bot is an admin)", NULL},
        {"quiet", QB_CFG_STRING, S(quiet), "\"recall\"", 0, 0,
         "During a talk: \"off\", \"mute\" (whole-group mute) or \"recall\" (recall chat)", NULL},
        {"post_summary", QB_CFG_BOOL, S(post_summary), "true", 0, 0,
         "Say in the group when a talk ends, with the numbers and the summary file name", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static int talks_check(const void *settings, char *why, size_t n)
{
    const struct talks_settings *s = settings;
    if (strcmp(s->late_policy, "send") && strcmp(s->late_policy, "skip")) {
        snprintf(why, n, "late_policy \"%s\" should be \"send\" or \"skip\"", s->late_policy);
        return QB_EINVAL;
    }
    if (strcmp(s->quiet, "off") && strcmp(s->quiet, "mute") && strcmp(s->quiet, "recall")) {
        snprintf(why, n, "quiet \"%s\" should be \"off\", \"mute\" or \"recall\"", s->quiet);
        return QB_EINVAL;
    }
    for (size_t i = 0; i < s->announce_before.n; i++) {
        int64_t ms;
        if (talks_parse_duration(s->announce_before.v[i], &ms) != QB_OK || ms <= 0 ||
            ms > 30 * TALKS_DAY_MS) {
            snprintf(why, n,
                     "announce_before \"%s\" should be a duration like \"3d\", \"1h\" or \"10m\" "
                     "(at most 30d)",
                     s->announce_before.v[i]);
            return QB_EINVAL;
        }
    }
    for (size_t i = 0; i < s->talks.n; i++)
        if (talks_check_entry(s->talks.v[i], why, n) != QB_OK)
            return QB_EINVAL;
    return QB_OK;
}

static const char *const talks_migrations[] = {
        /* v1 */
        "CREATE TABLE talks_talks ("
        " id BIGINT NOT NULL UNIQUE, platform TEXT NOT NULL DEFAULT '',"
        " self_id TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, topic TEXT NOT NULL,"
        " speakers TEXT NOT NULL, start_ms BIGINT NOT NULL, dur_ms BIGINT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'scheduled', source TEXT, created_by TEXT,"
        " created_ms BIGINT NOT NULL, ended_ms BIGINT NOT NULL DEFAULT 0,"
        " muted INTEGER NOT NULL DEFAULT 0, at_all_done INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (group_id, source));"
        "CREATE INDEX talks_talks_group ON talks_talks(group_id, status, start_ms);"
        "CREATE TABLE talks_announced ("
        " talk_id BIGINT NOT NULL, start_ms BIGINT NOT NULL, offset_ms BIGINT NOT NULL,"
        " ts BIGINT NOT NULL, UNIQUE (talk_id, start_ms, offset_ms));"
        "CREATE TABLE talks_questions ("
        " talk_id BIGINT NOT NULL, seq INTEGER NOT NULL, user_id TEXT NOT NULL, name TEXT,"
        " text TEXT NOT NULL, ts BIGINT NOT NULL, message_id TEXT,"
        " answered INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (talk_id, seq), UNIQUE (talk_id, message_id));"
        "CREATE TABLE talks_speech ("
        " talk_id BIGINT NOT NULL, seq INTEGER NOT NULL, ts BIGINT NOT NULL,"
        " user_id TEXT NOT NULL, name TEXT, text TEXT NOT NULL, message_id TEXT,"
        " UNIQUE (talk_id, seq), UNIQUE (talk_id, message_id));"
        "CREATE TABLE talks_attendance ("
        " talk_id BIGINT NOT NULL, user_id TEXT NOT NULL, name TEXT,"
        " first_ts BIGINT NOT NULL, messages INTEGER NOT NULL DEFAULT 0,"
        " reminded INTEGER NOT NULL DEFAULT 0, UNIQUE (talk_id, user_id));"
        "CREATE TABLE talks_groups ("
        " group_id TEXT NOT NULL UNIQUE, platform TEXT NOT NULL DEFAULT '',"
        " self_id TEXT NOT NULL DEFAULT '');",
        NULL,
};

/* ---- shared helpers ---- */

struct talks_state *talks_st(struct qb_ctx *c)
{
    return qb_state(c);
}

const struct talks_settings *talks_cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

static struct talks_group *group_known(struct qb_ctx *c, const char *group_id)
{
    for (struct talks_group *g = talks_st(c)->groups; g; g = g->next)
        if (!strcmp(g->group_id, group_id))
            return g;
    return NULL;
}

static struct talks_group *group_add(struct qb_ctx *c, const char *group_id)
{
    struct talks_group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    qb_id_set(g->group_id, group_id);
    g->next = talks_st(c)->groups;
    talks_st(c)->groups = g;
    return g;
}

static void exec_text3(struct qb_ctx *c, const char *sql, const char *a, const char *b,
                       const char *d)
{
    sqlite3_stmt *st = qb_stmt(c, sql);
    if (!st)
        return;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, d, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

void talks_group_seen(struct qb_ctx *c, const char *platform, const char *self_id,
                      const char *group_id)
{
    struct talks_group *g = group_known(c, group_id);
    if (!group_id[0] || (g && g->seen))
        return;
    if (!g && !(g = group_add(c, group_id)))
        return;
    g->seen = true;
    exec_text3(c,
               "INSERT INTO talks_groups(group_id, platform, self_id) VALUES (?, ?, ?)"
               " ON CONFLICT (group_id) DO UPDATE SET platform = excluded.platform,"
               " self_id = excluded.self_id",
               group_id, platform, self_id);
    /* talks from the rules file made before the bot knew its account in the group */
    exec_text3(c,
               "UPDATE talks_talks SET platform = ?, self_id = ? WHERE group_id = ?"
               " AND self_id = ''",
               platform, self_id, group_id);
}

/* FNV-1a over the group's rules-file talks and whether the plugin is on there. */
static uint64_t talks_hash(struct qb_ctx *c, const char *group_id)
{
    const struct talks_settings *s = talks_cfg(c, group_id);
    uint64_t h = 1469598103934665603ULL;
    h = (h ^ (qb_enabled(c, group_id) ? 1u : 2u)) * 1099511628211ULL;
    for (size_t i = 0; s && i < s->talks.n; i++)
        for (const char *p = s->talks.v[i];; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
            if (!*p)
                break;
        }
    return h;
}

/* ---- lifecycle ---- */

static void rearm_scheduled(struct qb_ctx *c)
{
    int64_t ids[256];
    size_t n = 0;
    sqlite3_stmt *q = qb_stmt(c, "SELECT id FROM talks_talks WHERE status = 'scheduled'"
                                 " ORDER BY start_ms");
    while (q && n < 256 && sqlite3_step(q) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(q, 0);
    if (q)
        sqlite3_reset(q);
    for (size_t i = 0; i < n; i++) {
        struct talks_talk t;
        if (talks_load(c, ids[i], &t) == QB_OK)
            talks_arm(c, &t); /* picks up announce_before changed while the bot was down */
    }
}

/* A group a rules file lists: known from now on, so its rules-file talks are synced (and
 * announced) even if nobody there ever says anything. */
static int add_listed(struct qb_ctx *c, const char *group_id, void *ud)
{
    (void)ud;
    if (!group_known(c, group_id))
        group_add(c, group_id);
    return 0;
}

static int talks_init(struct qb_ctx *c)
{
    struct talks_state *st = calloc(1, sizeof *st);
    if (!st)
        return QB_ENOMEM;
    qb_set_state(c, st);
    sqlite3_stmt *q = qb_stmt(c, "SELECT group_id FROM talks_groups");
    while (q && sqlite3_step(q) == SQLITE_ROW) {
        const char *g = (const char *)sqlite3_column_text(q, 0);
        if (g && g[0] && !group_known(c, g))
            group_add(c, g);
    }
    if (q)
        sqlite3_reset(q);
    qb_each_group(c, add_listed, NULL);
    rearm_scheduled(c);
    return QB_OK;
}

static void talks_tick(struct qb_ctx *c, int64_t now_ms)
{
    (void)now_ms;
    qb_each_group(c, add_listed, NULL); /* groups a reload added */
    for (struct talks_group *g = talks_st(c)->groups; g; g = g->next) {
        uint64_t h = talks_hash(c, g->group_id);
        if (h == g->talks_hash)
            continue;
        g->talks_hash = h;
        talks_sync_rules(c, g->group_id);
    }
}

static void talks_shutdown(struct qb_ctx *c)
{
    struct talks_state *st = talks_st(c);
    if (!st)
        return;
    talks_pending_free(c);
    while (st->groups) {
        struct talks_group *g = st->groups;
        st->groups = g->next;
        free(g);
    }
    free(st);
    qb_set_state(c, NULL);
}

static int talks_event(struct qb_ctx *c, const struct qb_event *ev)
{
    switch (ev->kind) {
    case QB_EV_MESSAGE:
        if (ev->chat == QB_CHAT_GROUP && ev->group_id[0] && strcmp(ev->user_id, ev->self_id))
            return talks_on_message(c, ev);
        return QB_PASS;
    case QB_EV_SCHEDULE:
        talks_on_schedule(c, ev);
        return QB_PASS;
    default:
        return QB_PASS;
    }
}

static const char *const talk_aliases[] = {"分享", NULL};
static const char *const add_aliases[] = {"添加分享", NULL};
static const char *const list_aliases[] = {"分享列表", NULL};
static const char *const move_aliases[] = {"改期", NULL};
static const char *const cancel_aliases[] = {"取消分享", NULL};
static const char *const end_aliases[] = {"结束分享", NULL};
static const char *const qa_aliases[] = {"开始答疑", NULL};
static const char *const q_aliases[] = {"提问", NULL};
static const char *const done_aliases[] = {"已答", NULL};

static const struct qb_command talks_commands[] = {
        {.name = "talk",
         .aliases = talk_aliases,
         .usage = "/talk add 2026-12-05 20:00 90m @主讲人 主题 · /talk list|move|cancel|end|qa",
         .help = "群分享：安排、改期、取消、结束、答疑",
         .min_role = QB_ROLE_MEMBER, /* members get 分享列表 through it; the rest checks roles */
         .group_only = true,
         .shown_to = QB_ROLE_ADMIN,
         .run = talks_cmd},
        {.name = "addtalk",
         .aliases = add_aliases,
         .usage = "添加分享 12月5日 20:00 90分钟 @主讲人 主题",
         .help = "安排一场分享（管理员）",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = talks_cmd_add},
        {.name = "talks",
         .aliases = list_aliases,
         .usage = "分享列表",
         .help = "近期的分享安排",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = talks_cmd_list},
        {.name = "movetalk",
         .aliases = move_aliases,
         .usage = "改期 编号 2026-12-06 20:00",
         .help = "分享改期（管理员）",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = talks_cmd_move},
        {.name = "canceltalk",
         .aliases = cancel_aliases,
         .usage = "取消分享 编号",
         .help = "取消一场分享（管理员）",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = talks_cmd_cancel},
        {.name = "endtalk",
         .aliases = end_aliases,
         .usage = "结束分享",
         .help = "提前结束分享，发出问题清单和纪要（主讲人或管理员）",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .shown_to = QB_ROLE_ADMIN,
         .run = talks_cmd_end},
        {.name = "qa",
         .aliases = qa_aliases,
         .usage = "开始答疑",
         .help = "按顺序列出收到的问题（主讲人或管理员）",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .shown_to = QB_ROLE_ADMIN,
         .run = talks_cmd_qa},
        {.name = "q",
         .aliases = q_aliases,
         .usage = "提问 你的问题 · /q 你的问题",
         .help = "分享时提问，结束后统一答疑",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = talks_cmd_question},
        {.name = "answered",
         .aliases = done_aliases,
         .usage = "已答 序号 · /q done 序号",
         .help = "把问题标记为已答（主讲人或管理员）",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .shown_to = QB_ROLE_ADMIN,
         .run = talks_cmd_done},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_talks = {
        .abi = QB_PLUGIN_ABI,
        .name = "talks",
        .version = "1.0",
        .description = "群分享：预告、安静模式、提问队列、答疑和纪要",
        .priority = 50,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE) | QB_EVMASK(QB_EV_SCHEDULE),
        .default_on = false,
        .settings = talks_table,
        .settings_size = sizeof(struct talks_settings),
        .commands = talks_commands,
        .migrations = talks_migrations,
        .init = talks_init,
        .on_event = talks_event,
        .on_tick = talks_tick,
        .shutdown = talks_shutdown,
        .check = talks_check,
};
