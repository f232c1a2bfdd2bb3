/*
 * welcome.c — the welcome plugin's frame: settings table and its check hook, tables,
 * commands, the event dispatch, and helpers shared by the plugin's other files (jobs
 * referenced by id, template rendering with @mentions, member rows).
 *
 * Owns the plugin state (jobs, welcome waves, regex cache), freed in shutdown. The
 * behaviour lives in welcome_join.c, welcome_card.c and welcome_request.c. Keeps no
 * globals; never puts member text into markup (text segments only).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "welcome.h"

#define S(f) offsetof(struct welcome_settings, f)

static const char *const welcome_vars[] = {"at", "name", "group", "rules", "intro_hours", NULL};
static const char *const ack_vars[] = {"at", "name", NULL};
static const char *const remind_vars[] = {"at", "name", "intro_hours", NULL};
static const char *const card_vars[] = {"at", "name", "hint", NULL};

static const struct qb_cfg_field welcome_table[] = {
        {"welcome", QB_CFG_TEMPLATE, S(welcome),
         "\"欢迎 {at} 加入{group}！🎉\\n{rules}\\n请在 {intro_hours} "
         "小时内发一段自我介绍（以“自我介绍”开头），让大家认识你～\"",
         0, 0, "Welcome message for newcomers", welcome_vars},
        {"rules_text", QB_CFG_STRING, S(rules_text), "\"\"", 0, 0,
         "Group rules shown in the welcome ({rules}); empty = none", NULL},
        {"group_name", QB_CFG_STRING, S(group_name), "\"\"", 0, 0,
         "What {group} says; empty = 本群", NULL},
        {"merge_window", QB_CFG_DURATION, S(merge_ms), "\"3s\"", 0, 60000,
         "Newcomers joining within this time share one welcome", NULL},
        {"intro_hours", QB_CFG_INT, S(intro_hours), "24", 0, 720,
         "Remind a newcomer once if no self-introduction after this many hours (0 = never)", NULL},
        {"intro_prefixes", QB_CFG_STRLIST, S(intro_prefixes), "[\"自我介绍\"]", 0, 0,
         "A message starting with one of these is a self-introduction", NULL},
        {"intro_min_chars", QB_CFG_INT, S(intro_min_chars), "30", 0, 5000,
         "A newcomer's message longer than this also counts as an introduction (0 = off)", NULL},
        {"intro_ack", QB_CFG_TEMPLATE, S(intro_ack),
         "\"{at} 收到你的自我介绍，谢谢！欢迎多交流～\"", 0, 0,
         "Reply to a self-introduction (once)", ack_vars},
        {"intro_remind", QB_CFG_TEMPLATE, S(intro_remind),
         "\"{at} 入群已经 {intro_hours} 小时啦，还没看到你的自我介绍哦～"
         "发一条以“自我介绍”开头的消息，让大家认识你吧！\"",
         0, 0, "The one reminder to introduce oneself", remind_vars},
        {"card_pattern", QB_CFG_STRING, S(card_pattern), "\"\"", 0, 0,
         "Regular expression (PCRE2) group cards must match; empty = no check", NULL},
        {"card_hint", QB_CFG_STRING, S(card_hint), "\"城市-姓名-行业\"", 0, 0,
         "The card format in words, for the reminder ({hint})", NULL},
        {"card_remind", QB_CFG_TEMPLATE, S(card_remind),
         "\"{at} 本群的群名片格式是「{hint}」，麻烦改一下群名片，方便大家认识你～\"", 0, 0,
         "The one reminder about the group card", card_vars},
        {"admission", QB_CFG_STRING, S(admission), "\"off\"", 0, 0,
         "Join requests: off (leave to admins), open, invite-only or screen", NULL},
        {"screen_keywords", QB_CFG_STRLIST, S(screen_keywords), "[]", 0, 0,
         "screen: a request comment containing one of these is approved", NULL},
        {"screen_pattern", QB_CFG_STRING, S(screen_pattern), "\"\"", 0, 0,
         "screen: a request comment matching this regular expression is approved", NULL},
        {"reject_reason", QB_CFG_STRING, S(reject_reason), "\"本群仅限邀请加入，感谢关注。\"", 0, 0,
         "invite-only: the reason sent with a refused request", NULL},
        {"newcomer_question", QB_CFG_STRING, S(newcomer_question), "\"\"", 0, 0,
         "Question newcomers must answer; empty = no check", NULL},
        {"newcomer_answer", QB_CFG_STRING, S(newcomer_answer), "\"\"", 0, 0,
         "A reply containing this text answers the question", NULL},
        {"newcomer_minutes", QB_CFG_INT, S(newcomer_minutes), "10", 1, 1440,
         "Minutes to answer before the newcomer is muted", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static int welcome_check(const void *settings, char *why, size_t n)
{
    const struct welcome_settings *s = settings;
    static const char *const modes[] = {"off", "open", "invite-only", "screen"};
    bool known = false;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        known = known || !strcmp(s->admission, modes[i]);
    if (!known) {
        snprintf(why, n, "admission \"%s\" is not one of off, open, invite-only, screen",
                 s->admission);
        return QB_EINVAL;
    }
    if (welcome_re_check("card_pattern", s->card_pattern, why, n) != QB_OK ||
        welcome_re_check("screen_pattern", s->screen_pattern, why, n) != QB_OK)
        return QB_EINVAL;
    if (s->newcomer_question[0] && !s->newcomer_answer[0]) {
        snprintf(why, n, "newcomer_question is set but newcomer_answer is empty: give the answer");
        return QB_EINVAL;
    }
    return QB_OK;
}

static const char *const welcome_migrations[] = {
        /* v1 */
        "CREATE TABLE welcome_members ("
        " group_id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT,"
        " joined_ts BIGINT, intro_ts BIGINT,"
        " reminded INTEGER NOT NULL DEFAULT 0, card_reminded INTEGER NOT NULL DEFAULT 0,"
        " check_state INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (group_id, user_id));"
        "CREATE TABLE welcome_requests ("
        " flag TEXT NOT NULL UNIQUE, self_id TEXT, group_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, comment TEXT, ts BIGINT NOT NULL,"
        " status TEXT NOT NULL, decided_by TEXT, reason TEXT);"
        "CREATE INDEX welcome_requests_user ON welcome_requests(group_id, user_id, ts);",
        NULL,
};

/* ---- shared helpers ---- */

struct welcome_state *welcome_st(struct qb_ctx *c)
{
    return qb_state(c);
}

const struct welcome_settings *welcome_cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

void *welcome_id_ud(int64_t id)
{
    return (void *)(intptr_t)id;
}

int64_t welcome_ud_id(void *ud)
{
    return (int64_t)(intptr_t)ud;
}

struct welcome_job *welcome_job_new(struct qb_ctx *c, enum welcome_job_kind kind,
                                    const char *self_id, const char *group_id, const char *user_id)
{
    struct welcome_state *st = welcome_st(c);
    struct welcome_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->id = ++st->next_id;
    j->kind = kind;
    qb_id_set(j->self_id, self_id ? self_id : "");
    qb_id_set(j->group_id, group_id ? group_id : "");
    qb_id_set(j->user_id, user_id ? user_id : "");
    j->next = st->jobs;
    st->jobs = j;
    return j;
}

struct welcome_job *welcome_job_find(struct qb_ctx *c, int64_t id)
{
    for (struct welcome_job *j = welcome_st(c)->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

void welcome_job_free(struct qb_ctx *c, struct welcome_job *j)
{
    struct welcome_state *st = welcome_st(c);
    for (struct welcome_job **p = &st->jobs; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            break;
        }
    }
    free(j->text);
    free(j);
}

/* A copy of s where the @ marker byte cannot appear. Caller frees. */
static char *no_marker(const char *s)
{
    char *d = strdup(s ? s : "");
    for (char *p = d; p && *p; p++)
        if (*p == '\x01')
            *p = ' ';
    return d;
}

/* Is [s, e) only spaces, tabs, CR or full-width spaces? */
static bool blank_span(const char *s, const char *e)
{
    while (s < e) {
        if (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        else if (e - s >= 3 && !memcmp(s, "\xe3\x80\x80", 3))
            s += 3;
        else
            return false;
    }
    return true;
}

/* Drop lines that are blank (left empty by an empty placeholder), in place. */
static void drop_blank_lines(char *s)
{
    char *out = s;
    const char *p = s;
    bool first = true;
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        if (!blank_span(p, e)) {
            if (!first)
                *out++ = '\n';
            memmove(out, p, (size_t)(e - p));
            out += e - p;
            first = false;
        }
        p = *e ? e + 1 : e;
    }
    *out = '\0';
}

static int add_text_part(struct qb_msg *msg, const char *s, size_t len)
{
    if (!len)
        return QB_OK;
    char *t = strndup(s, len);
    if (!t)
        return QB_ENOMEM;
    int rc = qb_msg_text(msg, t);
    free(t);
    return rc;
}

int welcome_render(const char *tpl, const struct qb_tvar *vars, size_t nvars,
                   const char *const *ats, size_t nats, struct qb_msg *msg)
{
    struct qb_tvar all[12];
    char *owned[12];
    size_t n = 0;
    all[n++] = (struct qb_tvar){"at", "\x01"};
    owned[0] = NULL;
    for (size_t i = 0; i < nvars && n < 12; i++, n++) {
        owned[n] = no_marker(vars[i].value);
        all[n] = (struct qb_tvar){vars[i].name, owned[n]};
    }
    char *text = qb_template_render(tpl ? tpl : "", all, n);
    for (size_t i = 1; i < n; i++)
        free(owned[i]);
    if (!text)
        return QB_ENOMEM;
    drop_blank_lines(text);
    int rc = QB_OK;
    const char *p = text;
    for (const char *m; rc == QB_OK && (m = strchr(p, '\x01')); p = m + 1) {
        rc = add_text_part(msg, p, (size_t)(m - p));
        for (size_t i = 0; rc == QB_OK && i < nats; i++) {
            if (i)
                rc = qb_msg_text(msg, " ");
            if (rc == QB_OK)
                rc = qb_msg_at(msg, ats[i]);
        }
    }
    if (rc == QB_OK)
        rc = add_text_part(msg, p, strlen(p));
    free(text);
    return rc == QB_OK ? qb_msg_finish(msg) : rc;
}

void welcome_say(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
                 const char *tpl, const struct qb_tvar *vars, size_t nvars)
{
    struct qb_msg msg;
    qb_msg_init(&msg);
    const char *ats[1] = {user_id};
    if (welcome_render(tpl, vars, nvars, ats, 1, &msg) == QB_OK && msg.n)
        qb_send_group(c, self_id, group_id, &msg);
    qb_msg_clear(&msg);
}

void welcome_member_name(struct qb_ctx *c, const char *group_id, const char *user_id, char *out,
                         size_t n)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT name FROM welcome_members WHERE group_id = ? AND user_id = ?");
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

void welcome_member_ensure(struct qb_ctx *c, const char *group_id, const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO welcome_members(group_id, user_id) VALUES (?, ?)"
                                  " ON CONFLICT (group_id, user_id) DO NOTHING");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

bool welcome_target(const struct qb_event *ev, const struct qb_cmd_args *a, char *out, size_t n)
{
    for (size_t i = 0; i < ev->msg.n; i++) {
        const struct qb_seg *s = &ev->msg.segs[i];
        if (s->type == QB_SEG_AT && s->text && strcmp(s->text, ev->self_id) &&
            strcmp(s->text, "all")) {
            snprintf(out, n, "%s", s->text);
            return true;
        }
    }
    if (a->argc >= 1 && all_digits(a->argv[0])) {
        snprintf(out, n, "%s", a->argv[0]);
        return true;
    }
    return false;
}

/* ---- lifecycle ---- */

static int welcome_init(struct qb_ctx *c)
{
    struct welcome_state *st = calloc(1, sizeof *st);
    if (!st)
        return QB_ENOMEM;
    qb_set_state(c, st);
    return QB_OK;
}

static void welcome_shutdown(struct qb_ctx *c)
{
    struct welcome_state *st = welcome_st(c);
    if (!st)
        return;
    while (st->jobs) {
        qb_timer_cancel(c, st->jobs->timer);
        welcome_job_free(c, st->jobs);
    }
    welcome_waves_free(c);
    welcome_res_free(c);
    for (size_t i = 0; i < st->nverified; i++)
        free(st->verified[i]);
    free(st->verified);
    free(st);
    qb_set_state(c, NULL);
}

static int welcome_event(struct qb_ctx *c, const struct qb_event *ev)
{
    switch (ev->kind) {
    case QB_EV_MEMBER_JOIN:
        welcome_on_join(c, ev);
        return QB_PASS;
    case QB_EV_MEMBER_LEAVE:
        welcome_on_leave(c, ev);
        return QB_PASS;
    case QB_EV_MESSAGE:
        if (ev->chat == QB_CHAT_GROUP && strcmp(ev->user_id, ev->self_id)) {
            welcome_on_message(c, ev);
            welcome_card_check(c, ev);
        }
        return QB_PASS;
    case QB_EV_JOIN_REQUEST:
        return welcome_on_request(c, ev);
    case QB_EV_SCHEDULE:
        welcome_on_schedule(c, ev);
        return QB_PASS;
    default:
        return QB_PASS;
    }
}

static const char *const request_aliases[] = {"入群申请", NULL};
static const char *const approve_aliases[] = {"同意", NULL};
static const char *const reject_aliases[] = {"拒绝", NULL};
static const char *const intro_aliases[] = {"未介绍", NULL};
static const char *const clear_aliases[] = {"放行", NULL};

static const struct qb_command welcome_commands[] = {
        {.name = "request",
         .aliases = request_aliases,
         .usage = "/request [approve|reject <QQ号> [理由]]",
         .help = "查看和处理待审核的入群申请",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = welcome_cmd_request},
        /* members may use these words in chat: the role check happens inside, quietly */
        {.name = "approve",
         .aliases = approve_aliases,
         .usage = "同意 <QQ号>",
         .help = "（管理员）同意入群申请",
         .min_role = QB_ROLE_MEMBER,
         .shown_to = QB_ROLE_ADMIN,
         .group_only = true,
         .run = welcome_cmd_approve},
        {.name = "reject",
         .aliases = reject_aliases,
         .usage = "拒绝 <QQ号> [理由]",
         .help = "（管理员）拒绝入群申请",
         .min_role = QB_ROLE_MEMBER,
         .shown_to = QB_ROLE_ADMIN,
         .group_only = true,
         .run = welcome_cmd_reject},
        {.name = "intro",
         .aliases = intro_aliases,
         .usage = "/intro pending",
         .help = "列出还没有自我介绍的新成员",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = welcome_cmd_intro},
        {.name = "clear",
         .aliases = clear_aliases,
         .usage = "/clear @成员",
         .help = "放行未通过入群验证的新成员（解除禁言）",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = welcome_cmd_clear},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_welcome = {
        .abi = QB_PLUGIN_ABI,
        .name = "welcome",
        .version = "1.0",
        .description = "欢迎新人、自我介绍、群名片格式、入群申请审核",
        .priority = 90,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE) | QB_EVMASK(QB_EV_MEMBER_JOIN) |
                      QB_EVMASK(QB_EV_MEMBER_LEAVE) | QB_EVMASK(QB_EV_JOIN_REQUEST) |
                      QB_EVMASK(QB_EV_SCHEDULE),
        .default_on = true,
        .settings = welcome_table,
        .settings_size = sizeof(struct welcome_settings),
        .commands = welcome_commands,
        .migrations = welcome_migrations,
        .init = welcome_init,
        .on_event = welcome_event,
        .shutdown = welcome_shutdown,
        .check = welcome_check,
};
