/*
 * help.c — the reference plugin: 帮助 / /help lists the commands enabled in this
 * group, 状态 / /status reports the bot's health. It is deliberately small and
 * commented, as the living tutorial for plugin authors (see docs/PLUGINS.md).
 *
 * It shows the whole path: a command table with Chinese aliases, settings read per
 * group, a reply through the outbound queue, and nothing kept in globals.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <qunbot/plugin.h>

/* Per-group settings, filled by the core from the rules files. */
struct help_settings {
    char *greeting; /* first line of the help text */
};

static const struct qb_cfg_field help_settings_table[] = {
        {"greeting", QB_CFG_STRING, offsetof(struct help_settings, greeting),
         "\"我能帮大家做这些事：\"", 0, 0, "First line of the 帮助 reply", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

struct listing {
    char text[3000];
    size_t len;
    enum qb_role role;
};

static void append(struct listing *l, const char *s)
{
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s", s);
    if (n > 0)
        l->len += (size_t)n < sizeof l->text - l->len ? (size_t)n : sizeof l->text - l->len - 1;
}

/* One line per command the asker may use: "签到 /checkin — 每日签到". */
static void add_line(const struct qb_plugin *p, const struct qb_command *cmd, void *ud)
{
    (void)p;
    struct listing *l = ud;
    if ((cmd->shown_to ? cmd->shown_to : cmd->min_role) > l->role)
        return;
    char line[300];
    snprintf(line, sizeof line, "\n%s%s/%s — %s",
             cmd->aliases && cmd->aliases[0] ? cmd->aliases[0] : "",
             cmd->aliases && cmd->aliases[0] ? " " : "", cmd->name, cmd->help ? cmd->help : "");
    append(l, line);
}

static int help_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED; /* a stale request from while we were away: don't answer late */
    const struct help_settings *s = qb_settings(c, ev->group_id);
    struct listing l = {.len = 0, .role = qb_role_of(c, ev)};
    l.text[0] = '\0';
    append(&l, s && s->greeting ? s->greeting : "");
    qb_each_command(c, ev->chat == QB_CHAT_GROUP ? ev->group_id : NULL, add_line, &l);
    qb_reply(c, ev, l.text, false);
    return QB_HANDLED;
}

static void format_uptime(int64_t ms, char *buf, size_t n)
{
    int64_t m = ms / 60000, h = m / 60, d = h / 24;
    if (d)
        snprintf(buf, n, "%lld天%lld小时", (long long)d, (long long)(h % 24));
    else if (h)
        snprintf(buf, n, "%lld小时%lld分", (long long)h, (long long)(m % 60));
    else
        snprintf(buf, n, "%lld分钟", (long long)m);
}

static int status_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    struct qb_status st;
    qb_get_status(c, &st);
    char up[64], text[400];
    format_uptime(qb_now(c) - st.started_ms, up, sizeof up);
    snprintf(text, sizeof text,
             "qunbot %s 运行中 · 已运行 %s\n账号在线 %d/%d · 收到事件 %lld · 已发送 %lld"
             " · 失败 %lld · 排队 %lld",
             QB_VERSION, up, st.accounts_online, st.accounts, (long long)st.events_in,
             (long long)st.actions_out, (long long)st.actions_failed, (long long)st.queued);
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}

static const char *const help_aliases[] = {"帮助", "菜单", NULL};
static const char *const status_aliases[] = {"状态", NULL};

static const struct qb_command help_commands[] = {
        {.name = "help",
         .aliases = help_aliases,
         .usage = "/help",
         .help = "列出可用的命令",
         .min_role = QB_ROLE_MEMBER,
         .run = help_run},
        {.name = "status",
         .aliases = status_aliases,
         .usage = "/status",
         .help = "机器人运行状态",
         .min_role = QB_ROLE_MEMBER,
         .run = status_run},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_help = {
        .abi = QB_PLUGIN_ABI,
        .name = "help",
        .version = "1.0",
        .description = "帮助 and 状态: list commands, show bot health",
        .priority = 1000,
        .default_on = true,
        .settings = help_settings_table,
        .settings_size = sizeof(struct help_settings),
        .commands = help_commands,
};
