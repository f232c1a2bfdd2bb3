/*
 * help.c — the reference plugin: 帮助 / /help gives a short menu (one line per plugin
 * with its main commands), 帮助 <功能或命令> the details, 帮助 管理 the admin commands,
 * and 状态 / /status reports the bot's health. It is deliberately small and commented, as
 * the living tutorial for plugin authors (see docs/PLUGINS.md).
 *
 * It shows the whole path: a command table with Chinese aliases, settings read per
 * group, a reply through the outbound queue, and nothing kept in globals. Members never
 * see a command above their role (a command's shown_to, else its min_role).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* Chinese names of the built-in plugins, and another word members may ask for. A plugin
 * not listed here is called by its description up to the first colon, else its name. */
static const struct {
    const char *plugin, *title, *also;
} titles[] = {
        {"guard", "群规守卫", "守卫"},    {"help", "帮助", "菜单"},
        {"welcome", "迎新", "欢迎"},      {"ranking", "积分排行", "积分"},
        {"checkin", "签到", "打卡"},      {"signup", "接龙报名", "接龙"},
        {"schedule", "定时发布", "定时"}, {"talks", "群分享", "分享"},
        {"insight", "群数据", "数据"},
};

#define MAIN_COMMANDS 3   /* commands shown per plugin in the short menu */
#define MAX_COMMANDS  256 /* commands collected for one answer */

/* Every command enabled where the asker is, in the host's order (plugin by plugin). */
struct collected {
    struct {
        const struct qb_plugin *p;
        const struct qb_command *cmd;
    } v[MAX_COMMANDS];
    size_t n;
};

struct text {
    char s[4000];
    size_t len;
};

static void append(struct text *t, const char *s)
{
    int n = snprintf(t->s + t->len, sizeof t->s - t->len, "%s", s);
    if (n > 0)
        t->len += (size_t)n < sizeof t->s - t->len ? (size_t)n : sizeof t->s - t->len - 1;
}

static void collect(const struct qb_plugin *p, const struct qb_command *cmd, void *ud)
{
    struct collected *all = ud;
    if (all->n < MAX_COMMANDS) {
        all->v[all->n].p = p;
        all->v[all->n++].cmd = cmd;
    }
}

static enum qb_role shown_from(const struct qb_command *cmd)
{
    return cmd->shown_to ? cmd->shown_to : cmd->min_role;
}

static bool is_admin_cmd(const struct qb_command *cmd)
{
    return shown_from(cmd) > QB_ROLE_MEMBER;
}

static void title_of(const struct qb_plugin *p, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (!strcmp(p->name, titles[i].plugin)) {
            snprintf(out, n, "%s", titles[i].title);
            return;
        }
    const char *d = p->description ? p->description : "";
    const char *cut = strstr(d, "：");
    if (!cut)
        cut = strchr(d, ':');
    size_t len = cut ? (size_t)(cut - d) : 0;
    if (len && len < n && len <= 24)
        snprintf(out, n, "%.*s", (int)len, d);
    else
        snprintf(out, n, "%s", p->name);
}

/* Does word name the plugin (its name, Chinese name or other word)? */
static bool names_plugin(const struct qb_plugin *p, const char *word)
{
    char title[64];
    title_of(p, title, sizeof title);
    if (!strcasecmp(word, p->name) || !strcmp(word, title))
        return true;
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (!strcmp(p->name, titles[i].plugin) && titles[i].also && !strcmp(word, titles[i].also))
            return true;
    return false;
}

/* Does word name the command ("签到榜", "/checkintop", "checkintop")? */
static bool names_command(const struct qb_command *cmd, const char *word)
{
    const char *bare = word[0] == '/' ? word + 1 : word;
    if (!strcasecmp(bare, cmd->name))
        return true;
    for (const char *const *a = cmd->aliases; a && *a; a++)
        if (!strcmp(word, *a) || !strcmp(bare, *a))
            return true;
    return false;
}

/* What members type: the first Chinese alias, else /name. */
static void word_of(const struct qb_command *cmd, char *out, size_t n)
{
    if (cmd->aliases && cmd->aliases[0])
        snprintf(out, n, "%s", cmd->aliases[0]);
    else
        snprintf(out, n, "/%s", cmd->name);
}

/* "\n· 签到：签到、签到榜、我的签到" — up to max commands of the plugin starting at i that
 * admin_list picks (member commands, or admin commands the asker may see). Returns the
 * index after the plugin's commands. */
static size_t plugin_line(const struct collected *all, size_t i, bool admin_list, enum qb_role role,
                          size_t max, struct text *t)
{
    const struct qb_plugin *p = all->v[i].p;
    char line[600], title[64];
    title_of(p, title, sizeof title);
    int len = snprintf(line, sizeof line, "\n· %s：", title);
    size_t shown = 0;
    for (; i < all->n && all->v[i].p == p; i++) {
        const struct qb_command *cmd = all->v[i].cmd;
        if (is_admin_cmd(cmd) != admin_list || shown_from(cmd) > role || shown >= max)
            continue;
        char w[64];
        word_of(cmd, w, sizeof w);
        if (len > 0 && (size_t)len < sizeof line)
            len += snprintf(line + len, sizeof line - (size_t)len, "%s%s", shown ? "、" : "", w);
        shown++;
    }
    if (shown)
        append(t, line);
    return i;
}

/* The short menu: one line per plugin with its main member commands. */
static void short_menu(const struct collected *all, const char *greeting, enum qb_role role,
                       struct text *t)
{
    append(t, greeting);
    bool admin_cmds = false;
    for (size_t i = 0; i < all->n; i++)
        admin_cmds |= is_admin_cmd(all->v[i].cmd) && shown_from(all->v[i].cmd) <= role;
    for (size_t i = 0; i < all->n;)
        i = plugin_line(all, i, false, role, MAIN_COMMANDS, t);
    if (admin_cmds)
        append(t, "\n· 管理员：发送「帮助 管理」查看管理命令");
    append(t, "\n发送「帮助 功能或命令」查看用法，如：帮助 签到");
}

/* 帮助 管理: every admin command the asker may use, one line per plugin. */
static void admin_menu(const struct collected *all, enum qb_role role, struct text *t)
{
    append(t, "管理命令：");
    size_t before = t->len;
    for (size_t i = 0; i < all->n;)
        i = plugin_line(all, i, true, role, MAX_COMMANDS, t);
    if (t->len == before)
        append(t, "\n本群没有开启带管理命令的功能。");
    else
        append(t, "\n发送「帮助 命令」查看用法，如：帮助 定时列表");
}

/* "\n签到榜 — 今天的签到顺序和连续签到榜（用法：签到榜）" */
static void command_line(const struct qb_command *cmd, struct text *t)
{
    char w[64], line[700];
    word_of(cmd, w, sizeof w);
    snprintf(line, sizeof line, "\n%s — %s（用法：%s）", w, cmd->help ? cmd->help : "",
             cmd->usage ? cmd->usage : w);
    append(t, line);
}

/* 帮助 <word>: the plugin's commands the asker may see, else the one command. */
static bool details(const struct collected *all, const char *word, enum qb_role role,
                    struct text *t)
{
    for (size_t i = 0; i < all->n; i++) {
        const struct qb_plugin *p = all->v[i].p;
        if ((i && all->v[i - 1].p == p) || !names_plugin(p, word))
            continue;
        char head[200], title[64];
        title_of(p, title, sizeof title);
        snprintf(head, sizeof head, "【%s】", title);
        append(t, head);
        size_t before = t->len;
        for (size_t k = i; k < all->n && all->v[k].p == p; k++)
            if (shown_from(all->v[k].cmd) <= role)
                command_line(all->v[k].cmd, t);
        if (t->len > before)
            return true;
        t->len = 0; /* nothing the asker may use: as if unknown */
        t->s[0] = '\0';
    }
    for (size_t i = 0; i < all->n; i++) {
        const struct qb_command *cmd = all->v[i].cmd;
        if (shown_from(cmd) > role || !names_command(cmd, word))
            continue;
        char head[200], title[64];
        title_of(all->v[i].p, title, sizeof title);
        snprintf(head, sizeof head, "【%s】", title);
        append(t, head);
        command_line(cmd, t);
        return true;
    }
    return false;
}

static int help_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED; /* a stale request from while we were away: don't answer late */
    const struct help_settings *s = qb_settings(c, ev->group_id);
    enum qb_role role = qb_role_of(c, ev);
    struct collected all = {.n = 0};
    qb_each_command(c, ev->chat == QB_CHAT_GROUP ? ev->group_id : NULL, collect, &all);
    struct text t = {.len = 0};
    t.s[0] = '\0';
    const char *word = a->argc ? a->argv[0] : "";
    if (!word[0]) {
        short_menu(&all, s && s->greeting ? s->greeting : "", role, &t);
    } else if (!strcmp(word, "管理") || !strcasecmp(word, "admin")) {
        if (role < QB_ROLE_ADMIN)
            append(&t, "管理命令只有群管理员能用。发送「帮助」看看大家能用的命令。");
        else
            admin_menu(&all, role, &t);
    } else if (!details(&all, word, role, &t)) {
        char line[300];
        snprintf(line, sizeof line, "没有找到「%.60s」。发送「帮助」看看本群能用的命令。", word);
        append(&t, line);
    }
    qb_reply(c, ev, t.s, false);
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
         .usage = "帮助 · 帮助 <功能或命令> · 帮助 管理",
         .help = "列出可用的命令，或某个功能的详细用法",
         .min_role = QB_ROLE_MEMBER,
         .run = help_run},
        {.name = "status",
         .aliases = status_aliases,
         .usage = "状态 · /status",
         .help = "机器人运行状态",
         .min_role = QB_ROLE_MEMBER,
         .run = status_run},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_help = {
        .abi = QB_PLUGIN_ABI,
        .name = "help",
        .version = "1.1",
        .description = "帮助 and 状态: list commands, show bot health",
        .priority = 1000,
        .default_on = true,
        .settings = help_settings_table,
        .settings_size = sizeof(struct help_settings),
        .commands = help_commands,
};
