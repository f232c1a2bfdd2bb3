/*
 * ranking.c — the ranking plugin's frame: settings table and its check hook (levels),
 * tables, commands, event dispatch, housekeeping, and helpers the plugin's other files
 * share (member rows, period boundaries in the group's timezone, levels).
 *
 * Owns the plugin state (housekeeping times), freed in shutdown. Awarding lives in
 * ranking_award.c, leaderboards and admin grants in ranking_board.c. Keeps no globals;
 * writes points only through qb_points_add.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranking.h"

#define S(f)                offsetof(struct ranking_settings, f)
#define RANKING_PRUNE_EVERY (3600LL * 1000)

static const struct qb_cfg_field ranking_table[] = {
        {"message_points", QB_CFG_INT, S(message_points), "1", 0, 100,
         "Points for a counted chat message (0 = no message points)", NULL},
        {"min_chars", QB_CFG_INT, S(min_chars), "5", 0, 1000,
         "Characters of text a message needs to earn points", NULL},
        {"cooldown", QB_CFG_DURATION, S(cooldown_ms), "\"60s\"", 0, 86400000,
         "At most one counted message per member within this time", NULL},
        {"burst_window", QB_CFG_DURATION, S(burst_ms), "\"10m\"", 0, 86400000,
         "Window in which message points diminish (0 = never diminish)", NULL},
        {"burst_full", QB_CFG_INT, S(burst_full), "3", 1, 1000,
         "Counted messages per window at full value; the next as many are worth half, the rest "
         "a quarter",
         NULL},
        {"daily_cap", QB_CFG_INT, S(daily_cap), "30", 0, 100000,
         "Message points a member can earn per day, group's local day (0 = no cap)", NULL},
        {"reply_bonus", QB_CFG_INT, S(reply_bonus), "2", 0, 1000,
         "Points to an author whose message gets a reply or @, once per replier per day", NULL},
        {"invite_points", QB_CFG_INT, S(invite_points), "20", 0, 100000,
         "Points for inviting a member into the group", NULL},
        {"invite_keep", QB_CFG_DURATION, S(invite_keep_ms), "\"7d\"", 0, 0,
         "An invitee leaving within this time takes the inviter's points back", NULL},
        {"top", QB_CFG_INT, S(top), "10", 1, 50, "How many members a leaderboard shows", NULL},
        {"levels", QB_CFG_STRLIST, S(levels), "[\"0:新手\", \"100:活跃成员\", \"500:核心成员\"]", 0,
         0, "Levels as \"points:title\", lowest first", NULL},
        {"set_special_title", QB_CFG_BOOL, S(set_special_title), "false", 0, 0,
         "Give a member the level's title as QQ special title when they reach it", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static int ranking_check(const void *settings, char *why, size_t n)
{
    const struct ranking_settings *s = settings;
    int64_t prev = -1;
    for (size_t i = 0; i < s->levels.n; i++) {
        int64_t t;
        const char *title;
        if (!ranking_level_parse(s->levels.v[i], &t, &title)) {
            snprintf(why, n,
                     "levels entry \"%s\" should be points:title, for example \"100:活跃成员\"",
                     s->levels.v[i]);
            return QB_EINVAL;
        }
        if (i && t <= prev) {
            snprintf(why, n,
                     "levels must go up: \"%s\" comes after \"%s\"; list them from the lowest "
                     "points to the highest",
                     s->levels.v[i], s->levels.v[i - 1]);
            return QB_EINVAL;
        }
        prev = t;
    }
    return QB_OK;
}

static const char *const ranking_migrations[] = {
        /* v1 */
        "CREATE TABLE ranking_members ("
        " group_id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT,"
        " hidden INTEGER NOT NULL DEFAULT 0, last_hash TEXT,"
        " carry INTEGER NOT NULL DEFAULT 0, level INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (group_id, user_id));"
        "CREATE TABLE ranking_messages ("
        " group_id TEXT NOT NULL, message_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " ts BIGINT NOT NULL, credit INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (group_id, message_id));"
        "CREATE INDEX ranking_messages_member ON ranking_messages(group_id, user_id, ts);"
        "CREATE INDEX ranking_messages_ts ON ranking_messages(ts);"
        "CREATE TABLE ranking_replies ("
        " group_id TEXT NOT NULL, from_user TEXT NOT NULL, to_user TEXT NOT NULL,"
        " ts BIGINT NOT NULL, bonus INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX ranking_replies_group_ts ON ranking_replies(group_id, ts);",
        NULL,
};

/* ---- shared helpers ---- */

const struct ranking_settings *ranking_cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

int64_t ranking_period_start(struct qb_ctx *c, const char *group_id, enum ranking_period p,
                             int64_t now_ms)
{
    if (p == RANKING_ALL)
        return 0;
    const char *tz = qb_timezone(c, group_id);
    struct tm tm;
    if (qb_localtime(c, tz, now_ms, &tm) != QB_OK)
        return 0;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    if (p == RANKING_WEEK)
        tm.tm_mday -= (tm.tm_wday + 6) % 7; /* back to Monday */
    else if (p == RANKING_MONTH)
        tm.tm_mday = 1;
    int64_t t = qb_mktime(c, tz, &tm);
    return t < 0 ? 0 : t;
}

void ranking_member_touch(struct qb_ctx *c, const char *group_id, const char *user_id,
                          const char *name)
{
    sqlite3_stmt *st;
    if (name && *name)
        st = qb_stmt(c, "INSERT INTO ranking_members(group_id, user_id, name) VALUES (?, ?, ?)"
                        " ON CONFLICT (group_id, user_id) DO UPDATE SET name = excluded.name");
    else
        st = qb_stmt(c, "INSERT INTO ranking_members(group_id, user_id) VALUES (?, ?)"
                        " ON CONFLICT (group_id, user_id) DO NOTHING");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    if (name && *name)
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

void ranking_member_name(struct qb_ctx *c, const char *group_id, const char *user_id, char *out,
                         size_t n)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT name FROM ranking_members WHERE group_id = ? AND user_id = ?");
    const char *name = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            name = (const char *)sqlite3_column_text(st, 0);
    }
    snprintf(out, n, "%s", name && *name ? name : user_id);
    if (st)
        sqlite3_reset(st);
}

bool ranking_member_hidden(struct qb_ctx *c, const char *group_id, const char *user_id)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT hidden FROM ranking_members WHERE group_id = ? AND user_id = ?");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    bool hidden = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return hidden;
}

int ranking_member_set_hidden(struct qb_ctx *c, const char *group_id, const char *user_id,
                              bool hidden)
{
    ranking_member_touch(c, group_id, user_id, NULL);
    sqlite3_stmt *st =
            qb_stmt(c, "UPDATE ranking_members SET hidden = ? WHERE group_id = ? AND user_id = ?");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_int(st, 1, hidden ? 1 : 0);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QB_OK : QB_ESTORE;
}

bool ranking_level_parse(const char *entry, int64_t *threshold, const char **title)
{
    const char *p = entry;
    int64_t t = 0;
    if (!p || *p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (t > (INT64_MAX - 9) / 10)
            return false;
        t = t * 10 + (*p - '0');
    }
    if (*p == ':')
        p++;
    else if (!strncmp(p, "\xef\xbc\x9a", 3)) /* full-width colon */
        p += 3;
    else
        return false;
    while (*p == ' ')
        p++;
    if (!*p)
        return false;
    *threshold = t;
    *title = p;
    return true;
}

int ranking_level_of(const struct qb_strlist *levels, int64_t total, const char **title,
                     int64_t *next_at, const char **next_title)
{
    int idx = -1;
    if (title)
        *title = NULL;
    if (next_title)
        *next_title = NULL;
    for (size_t i = 0; i < levels->n; i++) {
        int64_t t;
        const char *name;
        if (!ranking_level_parse(levels->v[i], &t, &name))
            continue;
        if (total >= t) {
            idx = (int)i;
            if (title)
                *title = name;
        } else {
            if (next_at)
                *next_at = t;
            if (next_title)
                *next_title = name;
            break;
        }
    }
    return idx;
}

static size_t space_len(const char *s)
{
    if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        return 1;
    return strncmp(s, "\xe3\x80\x80", 3) ? 0 : 3;
}

char *ranking_trim(char *s)
{
    size_t k, start = 0, len = strlen(s);
    while ((k = space_len(s + start)) > 0)
        start += k;
    memmove(s, s + start, len - start + 1);
    len -= start;
    for (;;) {
        if (len &&
            (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
            len--;
        else if (len >= 3 && !strncmp(s + len - 3, "\xe3\x80\x80", 3))
            len -= 3;
        else
            break;
        s[len] = '\0';
    }
    return s;
}

size_t ranking_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

bool ranking_is_command(const char *text)
{
    static const char *const words[] = {"排行", "排行榜", "积分榜", "我的积分",
                                        "加分", "扣分",   "互刷",   NULL};
    if (!text || !*text)
        return false;
    const unsigned char *u = (const unsigned char *)text;
    bool prefixed = false;
    size_t skip = 0;
    if (*u == '/' || *u == '!') {
        prefixed = true;
        skip = 1;
    } else if (!strncmp(text, "\xef\xbc\x81", 3)) { /* full-width ! */
        prefixed = true;
        skip = 3;
    }
    if (prefixed) {
        unsigned char next = u[skip];
        if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || next >= 0x80)
            return true;
    }
    size_t len = strcspn(text, " \t\r\n");
    const char *fw = strstr(text, "\xe3\x80\x80"); /* full-width space ends a word too */
    if (fw && (size_t)(fw - text) < len)
        len = (size_t)(fw - text);
    for (const char *const *w = words; *w; w++)
        if (strlen(*w) == len && !strncmp(text, *w, len))
            return true;
    return false;
}

/* ---- lifecycle ---- */

static int ranking_init(struct qb_ctx *c)
{
    struct ranking_state *st = calloc(1, sizeof *st);
    if (!st)
        return QB_ENOMEM;
    qb_set_state(c, st);
    return QB_OK;
}

static void ranking_shutdown(struct qb_ctx *c)
{
    free(qb_state(c));
    qb_set_state(c, NULL);
}

static void ranking_tick(struct qb_ctx *c, int64_t now_ms)
{
    struct ranking_state *st = qb_state(c);
    if (!st || now_ms - st->last_prune_ms < RANKING_PRUNE_EVERY)
        return;
    st->last_prune_ms = now_ms;
    ranking_prune(c, qb_now(c));
}

static int ranking_event(struct qb_ctx *c, const struct qb_event *ev)
{
    switch (ev->kind) {
    case QB_EV_MESSAGE:
        if (ev->chat == QB_CHAT_GROUP && ev->group_id[0] && strcmp(ev->user_id, ev->self_id))
            ranking_on_message(c, ev);
        return QB_PASS;
    case QB_EV_MEMBER_JOIN:
        ranking_on_join(c, ev);
        return QB_PASS;
    case QB_EV_MEMBER_LEAVE:
        ranking_on_leave(c, ev);
        return QB_PASS;
    default:
        return QB_PASS;
    }
}

static const char *const rank_aliases[] = {"排行", "排行榜", "积分榜", NULL};
static const char *const me_aliases[] = {"我的积分", NULL};
static const char *const pairs_aliases[] = {"互刷", NULL};
static const char *const add_aliases[] = {"加分", NULL};
static const char *const deduct_aliases[] = {"扣分", NULL};

static const struct qb_command ranking_commands[] = {
        {.name = "rank",
         .aliases = rank_aliases,
         .usage = "/rank [日|周|月|总] · /rank hide|show · /rank pairs",
         .help = "积分排行榜（默认本周）；/rank hide 隐藏自己，/rank show 恢复",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = ranking_cmd_rank},
        {.name = "me",
         .aliases = me_aliases,
         .usage = "/me",
         .help = "查看我的积分、排名和等级",
         .min_role = QB_ROLE_MEMBER,
         .group_only = true,
         .run = ranking_cmd_me},
        /* an everyday word: a member typing it is treated as chat (quietly) */
        {.name = "pairs",
         .aliases = pairs_aliases,
         .usage = "/rank pairs",
         .help = "（管理员）近 7 天互相回复刷分的成员",
         .min_role = QB_ROLE_MEMBER,
         .shown_to = QB_ROLE_ADMIN,
         .group_only = true,
         .run = ranking_cmd_pairs},
        {.name = "points",
         .usage = "/points add|deduct @成员 分数 理由",
         .help = "（管理员）给成员加分或扣分",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = ranking_cmd_points},
        {.name = "addpoints",
         .aliases = add_aliases,
         .usage = "加分 @成员 分数 理由",
         .help = "（管理员）给成员加分",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = ranking_cmd_add},
        {.name = "deductpoints",
         .aliases = deduct_aliases,
         .usage = "扣分 @成员 分数 理由",
         .help = "（管理员）给成员扣分",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = ranking_cmd_deduct},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_ranking = {
        .abi = QB_PLUGIN_ABI,
        .name = "ranking",
        .version = "1.0",
        .description = "积分: points for messages, replies and invitations; leaderboards, "
                       "levels, admin grants",
        .priority = 120,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE) | QB_EVMASK(QB_EV_MEMBER_JOIN) |
                      QB_EVMASK(QB_EV_MEMBER_LEAVE),
        .default_on = true,
        .settings = ranking_table,
        .settings_size = sizeof(struct ranking_settings),
        .commands = ranking_commands,
        .migrations = ranking_migrations,
        .init = ranking_init,
        .on_event = ranking_event,
        .on_tick = ranking_tick,
        .shutdown = ranking_shutdown,
        .check = ranking_check,
};
