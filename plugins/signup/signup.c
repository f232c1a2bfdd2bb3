/*
 * signup.c — the sign-up list plugin (接龙/报名): settings and their check hook, tables,
 * commands (接龙, 报名/+1, 取消, 截止, 导出, 接龙列表 and /signup ...), which list a
 * message means, role checks, one-line refusals, and the lifecycle.
 *
 * Owns the plugin state (pending reposts, see signup_post.c), freed in shutdown. Tables
 * are in signup_list.c. Bare everyday words (+1, 取消, 截止, 导出) that do not concern a
 * list are left alone for other plugins and chat. Keeps no globals; never answers a
 * message recovered from history, but records the joins and leaves it contains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signup.h"

#define S(f)          offsetof(struct signup_settings, f)
#define LISTS_MAX     20
#define RECENT_CLOSED (24LL * 3600 * 1000) /* a bare +1 this soon after a close is told */

/* What the list-finding and gate helpers return when the command goes on; otherwise they
 * return the verdict (QB_PASS or QB_HANDLED) the command ends with. */
enum { SIGNUP_GO = 2 };

static const struct qb_cfg_field signup_table[] = {
        {"open_role", QB_CFG_STRING, S(open_role), "\"admin\"", 0, 0,
         "Who may open a sign-up list with 接龙: \"admin\" or \"member\"", NULL},
        {"repost_window", QB_CFG_DURATION, S(repost_ms), "\"10s\"", 0, 600000,
         "Changes to a list within this time share one repost of the list (0s = repost at once)",
         NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static int signup_check(const void *settings, char *why, size_t n)
{
    const struct signup_settings *s = settings;
    if (strcmp(s->open_role, "admin") && strcmp(s->open_role, "member")) {
        snprintf(why, n, "open_role \"%s\" should be \"admin\" or \"member\"", s->open_role);
        return QB_EINVAL;
    }
    return QB_OK;
}

static const char *const signup_migrations[] = {
        /* v1 */
        "CREATE TABLE signup_lists ("
        " id BIGINT NOT NULL PRIMARY KEY, platform TEXT NOT NULL, self_id TEXT,"
        " group_id TEXT NOT NULL, name TEXT NOT NULL, cap BIGINT NOT NULL DEFAULT 0,"
        " opened_by TEXT, opened_at BIGINT NOT NULL, closed_at BIGINT);"
        "CREATE UNIQUE INDEX signup_lists_open_name ON signup_lists(platform, group_id, name)"
        " WHERE closed_at IS NULL;"
        "CREATE TABLE signup_entries ("
        " list_id BIGINT NOT NULL, user_id TEXT NOT NULL, seq BIGINT NOT NULL,"
        " name TEXT NOT NULL, note TEXT, ts BIGINT NOT NULL, message_id TEXT,"
        " left_at BIGINT, left_msg TEXT,"
        " UNIQUE (list_id, user_id));"
        "CREATE INDEX signup_entries_order ON signup_entries(list_id, seq);",
        NULL,
};

/* ---- shared helpers ---- */

struct signup_state *signup_st(struct qb_ctx *c)
{
    return qb_state(c);
}

const struct signup_settings *signup_cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

void signup_say(struct qb_ctx *c, const struct qb_event *ev, const char *text)
{
    if (!ev->backfilled)
        qb_reply(c, ev, text, true);
}

static size_t utf8_len(unsigned char b)
{
    return b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
}

void signup_clean(const char *in, size_t max_chars, char *out, size_t n)
{
    size_t k = 0, chars = 0;
    if (!n)
        return;
    for (const char *p = in; *p && chars < max_chars;) {
        size_t len = utf8_len((unsigned char)*p);
        if (strnlen(p, len) < len || k + len >= n)
            break;
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            out[k++] = ' ';
        else
            memcpy(out + k, p, len), k += len;
        p += len;
        chars++;
    }
    out[k] = '\0';
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s += utf8_len((unsigned char)*s))
        n++;
    return n;
}

static bool is_admin(struct qb_ctx *c, const struct qb_event *ev)
{
    return qb_role_of(c, ev) >= QB_ROLE_ADMIN;
}

static bool word_in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return true;
    return false;
}

/* The text after the first word of rest ("" if none). */
static const char *after_first(const struct qb_cmd_args *a)
{
    if (!a->argc)
        return "";
    const char *p = a->rest + strlen(a->argv[0]);
    for (;;) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        else if (!strncmp(p, "\xe3\x80\x80", 3))
            p += 3;
        else
            return p;
    }
}

/* a without its first word (for /signup <sub> ...). */
static struct qb_cmd_args shifted(const struct qb_cmd_args *a)
{
    struct qb_cmd_args b = *a;
    b.used = a->argc ? a->argv[0] : "";
    b.rest = after_first(a);
    b.argc = a->argc ? a->argc - 1 : 0;
    for (int i = 0; i < b.argc; i++)
        b.argv[i] = a->argv[i + 1];
    return b;
}

/* "A、B、C" from the names of lists. */
static void names_of(const struct signup_list *v, int n, char *out, size_t size)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < n && k < size; i++) {
        int w = snprintf(out + k, size - k, "%s「%s」", i ? "、" : "", v[i].name);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

/* ---- opening ---- */

static const char open_usage[] = "用法：接龙 活动名 [人数上限]，例如：接龙 周六羽毛球 8";

static bool parse_cap(const char *s, int64_t *cap)
{
    int64_t v = 0;
    size_t digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 7; s++, digits++)
        v = v * 10 + (*s - '0');
    if (!digits || (*s && strcmp(s, "人")))
        return false;
    *cap = v;
    return v >= 1 && v <= SIGNUP_CAP_MAX;
}

static bool name_ok(const char *name)
{
    if (!name[0] || utf8_chars(name) > SIGNUP_NAME_MAX ||
        strspn(name, "0123456789") == strlen(name))
        return false;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int do_open(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                   bool bare)
{
    const struct signup_settings *s = signup_cfg(c, ev->group_id);
    bool allowed = is_admin(c, ev) || (s && !strcmp(s->open_role, "member"));
    if (!allowed) {
        if (bare && (!a->argc || a->argc > 2))
            return QB_PASS; /* someone just said 接龙, or pasted a hand-made chain */
        signup_say(c, ev, "只有群管理员可以发起接龙。");
        return QB_HANDLED;
    }
    char why[600];
    int64_t cap = 0;
    if (a->argc < 1 || a->argc > 2) {
        signup_say(c, ev, open_usage);
        return QB_HANDLED;
    }
    if (!name_ok(a->argv[0])) {
        snprintf(why, sizeof why, "活动名要是 1 到 %d 个字、不能全是数字。%s", SIGNUP_NAME_MAX,
                 open_usage);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    if (a->argc == 2 && !parse_cap(a->argv[1], &cap)) {
        snprintf(why, sizeof why, "人数上限要是 1 到 %d 之间的整数，例如：接龙 %s 8",
                 SIGNUP_CAP_MAX, a->argv[0]);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    struct signup_list l, open[LISTS_MAX];
    int rc = signup_create(c, ev, a->argv[0], cap, &l);
    if (rc == QB_EEXIST) {
        snprintf(why, sizeof why, "「%s」已经在接龙了，发「报名 %s」参加。", l.name, l.name);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    if (rc != QB_OK) {
        signup_say(c, ev, "接龙没能创建，请稍后再试。");
        return QB_HANDLED;
    }
    snprintf(why, sizeof why, "{\"list\":%lld,\"cap\":%lld}", (long long)l.id, (long long)cap);
    qb_audit(c, ev, "signup.open", why);
    bool several = signup_open_lists(c, ev, open, LISTS_MAX) > 1;
    char capword[64] = "";
    if (cap)
        snprintf(capword, sizeof capword, "（限 %lld 人，满了进候补）", (long long)cap);
    if (several)
        snprintf(why, sizeof why, "接龙「%s」开始啦%s！发「报名 %s」参加，「取消 %s」退出。",
                 l.name, capword, l.name, l.name);
    else
        snprintf(why, sizeof why, "接龙「%s」开始啦%s！发「+1」或「报名」参加，「取消」退出。",
                 l.name, capword);
    if (!ev->backfilled)
        qb_reply(c, ev, why, false);
    return QB_HANDLED;
}

/* ---- joining and leaving ---- */

static void tell_position(struct qb_ctx *c, const struct qb_event *ev, const struct signup_list *l)
{
    char why[600];
    int64_t pos = signup_position(c, l->id, ev->user_id);
    if (l->cap > 0 && pos > l->cap)
        snprintf(why, sizeof why, "你已经在「%s」的候补里了（候补第 %lld 位）。", l->name,
                 (long long)(pos - l->cap));
    else
        snprintf(why, sizeof why, "你已经报名「%s」了（第 %lld 位）。", l->name, (long long)pos);
    signup_say(c, ev, why);
}

static void audit_member(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                         const struct signup_list *l, const char *promoted)
{
    char details[200];
    snprintf(details, sizeof details, "{\"list\":%lld,\"promoted\":\"%s\",\"late\":%s}",
             (long long)l->id, promoted ? promoted : "", ev->backfilled ? "true" : "false");
    qb_audit(c, ev, what, details);
}

/* The list a join with no name means: the only open list. SIGNUP_GO, or QB_HANDLED /
 * QB_PASS when the member was answered or the word was just chat. */
static int only_open(struct qb_ctx *c, const struct qb_event *ev, bool bare,
                     struct signup_list *out)
{
    struct signup_list v[LISTS_MAX];
    char why[600], names[400];
    int n = signup_open_lists(c, ev, v, LISTS_MAX);
    if (n == 1) {
        *out = v[0];
        return SIGNUP_GO;
    }
    if (n > 1) {
        names_of(v, n, names, sizeof names);
        snprintf(why, sizeof why, "现在有 %d 个接龙：%s，请发「报名 活动名」选一个。", n, names);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    struct signup_list last;
    if (signup_latest(c, ev, &last) == QB_OK && !last.open &&
        (!bare || qb_now(c) - last.closed_at < RECENT_CLOSED)) {
        snprintf(why, sizeof why, "接龙「%s」已经截止了，不能再报名。", last.name);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    if (bare)
        return QB_PASS;
    signup_say(c, ev, "现在没有进行中的接龙。");
    return QB_HANDLED;
}

/* The list called name. SIGNUP_GO, or QB_HANDLED after answering. */
static int named(struct qb_ctx *c, const struct qb_event *ev, const char *name,
                 struct signup_list *out)
{
    char why[600], names[400];
    int rc = signup_find(c, ev, name, out);
    if (rc == QB_OK)
        return SIGNUP_GO;
    struct signup_list v[LISTS_MAX];
    int n = signup_open_lists(c, ev, v, LISTS_MAX);
    if (n > 0) {
        names_of(v, n, names, sizeof names);
        snprintf(why, sizeof why, "没有叫「%s」的接龙，正在进行的有：%s。", name, names);
    } else {
        snprintf(why, sizeof why, "没有叫「%s」的接龙，现在也没有进行中的接龙。", name);
    }
    signup_say(c, ev, rc == QB_ENOENT ? why : "接龙没能读出来，请稍后再试。");
    return QB_HANDLED;
}

static int do_join(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                   bool bare)
{
    struct signup_list l;
    char why[600], note[SIGNUP_NOTE_MAX * 4 + 1] = "";
    int rc = a->argc ? named(c, ev, a->argv[0], &l) : only_open(c, ev, bare, &l);
    if (rc != SIGNUP_GO)
        return rc;
    if (!l.open) {
        snprintf(why, sizeof why, "接龙「%s」已经截止了，不能再报名。", l.name);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    signup_clean(after_first(a), SIGNUP_NOTE_MAX, note, sizeof note);
    switch (signup_join(c, ev, &l, note)) {
    case SIGNUP_JOINED:
        audit_member(c, ev, "signup.join", &l, NULL);
        signup_changed(c, &l, NULL);
        break;
    case SIGNUP_ALREADY:
        tell_position(c, ev, &l);
        break;
    case SIGNUP_REPEAT:
        break;
    case SIGNUP_FAILED:
        signup_say(c, ev, "报名没能记下来，请稍后再试。");
        break;
    }
    return QB_HANDLED;
}

/* The only open list the member is on (for 取消 with no name). SIGNUP_GO or a verdict. */
static int leave_target(struct qb_ctx *c, const struct qb_event *ev, bool bare,
                        struct signup_list *out)
{
    struct signup_list v[LISTS_MAX], mine[LISTS_MAX];
    char why[600], names[400];
    int n = signup_open_lists(c, ev, v, LISTS_MAX), k = 0;
    for (int i = 0; i < n; i++)
        if (signup_position(c, v[i].id, ev->user_id) > 0)
            mine[k++] = v[i];
    if (k == 1) {
        *out = mine[0];
        return SIGNUP_GO;
    }
    if (k > 1) {
        names_of(mine, k, names, sizeof names);
        snprintf(why, sizeof why, "你报名了 %d 个接龙：%s，请发「取消 活动名」选一个。", k, names);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    if (bare)
        return QB_PASS; /* 取消 in a chat about something else */
    signup_say(c, ev, "你还没有报名进行中的接龙。");
    return QB_HANDLED;
}

static int do_leave(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                    bool bare)
{
    struct signup_list l, v[1];
    char why[600], promoted[QB_ID_MAX];
    if (a->argc && bare && signup_find(c, ev, a->argv[0], &l) != QB_OK &&
        signup_open_lists(c, ev, v, 1) <= 0)
        return QB_PASS; /* "取消 会议" with no such list and none open: chat */
    int rc = a->argc ? named(c, ev, a->argv[0], &l) : leave_target(c, ev, bare, &l);
    if (rc != SIGNUP_GO)
        return rc;
    if (!l.open) {
        snprintf(why, sizeof why, "接龙「%s」已经截止，名单不再变动；有变化请联系管理员。", l.name);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    switch (signup_leave(c, ev, &l, promoted)) {
    case SIGNUP_JOINED:
        audit_member(c, ev, "signup.leave", &l, promoted);
        signup_changed(c, &l, promoted);
        break;
    case SIGNUP_ALREADY:
        snprintf(why, sizeof why, "你不在「%s」的名单里。", l.name);
        signup_say(c, ev, why);
        break;
    case SIGNUP_REPEAT:
        break;
    case SIGNUP_FAILED:
        signup_say(c, ev, "没能取消，请稍后再试。");
        break;
    }
    return QB_HANDLED;
}

/* ---- admin: close, export; everyone: list ---- */

/* Admin and argument check for 截止/导出 (members saying the bare word are chatting).
 * SIGNUP_GO or a verdict. */
static int admin_gate(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                      bool bare, const char *usage)
{
    if (!is_admin(c, ev)) {
        if (bare)
            return QB_PASS;
        signup_say(c, ev, "只有群管理员可以截止或导出接龙。");
        return QB_HANDLED;
    }
    if (a->argc != 1) {
        if (bare && !a->argc)
            return QB_PASS;
        signup_say(c, ev, usage);
        return QB_HANDLED;
    }
    return SIGNUP_GO;
}

static int do_close(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                    bool bare)
{
    int rc = admin_gate(c, ev, a, bare, "用法：截止 活动名（或 /signup close 活动名）");
    struct signup_list l;
    if (rc != SIGNUP_GO || (rc = named(c, ev, a->argv[0], &l)) != SIGNUP_GO)
        return rc;
    char why[600];
    if (!l.open) {
        snprintf(why, sizeof why, "接龙「%s」已经截止了。", l.name);
        signup_say(c, ev, why);
        return QB_HANDLED;
    }
    if (signup_close(c, l.id, qb_now(c)) != QB_OK || signup_load(c, l.id, &l) != QB_OK) {
        signup_say(c, ev, "没能截止，请稍后再试。");
        return QB_HANDLED;
    }
    audit_member(c, ev, "signup.close", &l, NULL);
    snprintf(why, sizeof why, "接龙「%s」已截止，最终名单：", l.name);
    if (!ev->backfilled)
        signup_post_now(c, &l, why);
    return QB_HANDLED;
}

static int do_export(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                     bool bare)
{
    int rc = admin_gate(c, ev, a, bare, "用法：导出 活动名（或 /signup export 活动名）");
    struct signup_list l;
    if (rc != SIGNUP_GO)
        return rc;
    if (ev->backfilled)
        return QB_HANDLED; /* nobody is waiting for this file any more */
    if ((rc = named(c, ev, a->argv[0], &l)) != SIGNUP_GO)
        return rc;
    char file[64], why[600];
    size_t rows = 0;
    if (signup_export(c, &l, file, sizeof file, &rows) != QB_OK) {
        signup_say(c, ev, "导出失败：写不了文件，请检查机器人数据目录的权限。");
        return QB_HANDLED;
    }
    audit_member(c, ev, "signup.export", &l, NULL);
    snprintf(why, sizeof why,
             "已导出「%s」的名单（%zu 人）：%s（在机器人数据目录的 exports/signup/ 里）", l.name,
             rows, file);
    signup_say(c, ev, why);
    return QB_HANDLED;
}

static int do_list(struct qb_ctx *c, const struct qb_event *ev)
{
    struct signup_list v[LISTS_MAX];
    int n = signup_open_lists(c, ev, v, LISTS_MAX);
    if (n <= 0) {
        signup_say(c, ev, n < 0 ? "接龙没能读出来，请稍后再试。" : "现在没有进行中的接龙。");
        return QB_HANDLED;
    }
    char text[2000];
    size_t k = (size_t)snprintf(text, sizeof text, "进行中的接龙：");
    for (int i = 0; i < n && k < sizeof text; i++) {
        struct signup_entries es;
        size_t total = signup_entries_load(c, v[i].id, &es) == QB_OK ? es.n : 0;
        free(es.v);
        size_t in = v[i].cap > 0 && total > (size_t)v[i].cap ? (size_t)v[i].cap : total;
        int w;
        if (v[i].cap > 0)
            w = snprintf(text + k, sizeof text - k, "\n%d. %s（%zu/%lld%s）", i + 1, v[i].name, in,
                         (long long)v[i].cap, total > in ? "，有候补" : "");
        else
            w = snprintf(text + k, sizeof text - k, "\n%d. %s（%zu 人）", i + 1, v[i].name, in);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    signup_say(c, ev, text);
    return QB_HANDLED;
}

/* ---- commands ---- */

static const char *const open_aliases[] = {"接龙", NULL};
static const char *const join_aliases[] = {"报名", "+1", "＋1", NULL};
static const char *const leave_aliases[] = {"取消", "取消报名", NULL};
static const char *const close_aliases[] = {"截止", NULL};
static const char *const export_aliases[] = {"导出", NULL};
static const char *const list_aliases[] = {"接龙列表", NULL};

/* Words typed bare (no prefix) that members also use in chat: handled softly. */
static const char *const soft_words[] = {"接龙", "+1", "＋1", "取消", "截止", "导出", NULL};

static bool is_bare(const struct qb_cmd_args *a)
{
    return word_in(a->used, soft_words);
}

static int cmd_open(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    return ev->chat == QB_CHAT_GROUP ? do_open(c, ev, a, is_bare(a)) : QB_PASS;
}

static int cmd_join(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    return ev->chat == QB_CHAT_GROUP ? do_join(c, ev, a, is_bare(a)) : QB_PASS;
}

static int cmd_leave(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    return ev->chat == QB_CHAT_GROUP ? do_leave(c, ev, a, is_bare(a)) : QB_PASS;
}

static int cmd_close(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    return ev->chat == QB_CHAT_GROUP ? do_close(c, ev, a, is_bare(a)) : QB_PASS;
}

static int cmd_export(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    return ev->chat == QB_CHAT_GROUP ? do_export(c, ev, a, is_bare(a)) : QB_PASS;
}

static int cmd_list(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    return ev->chat == QB_CHAT_GROUP ? do_list(c, ev) : QB_PASS;
}

static const char signup_usage[] =
        "用法：/signup open 活动名 [上限] · join [活动名] [备注] · leave [活动名] · "
        "close 活动名 · export 活动名 · list";

/* /signup <open|join|leave|close|export|list> ... */
static int cmd_signup(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    static const char *const open_w[] = {"open", "开始", "接龙", NULL};
    static const char *const join_w[] = {"join", "报名", NULL};
    static const char *const leave_w[] = {"leave", "取消", NULL};
    static const char *const close_w[] = {"close", "截止", NULL};
    static const char *const export_w[] = {"export", "导出", NULL};
    static const char *const list_w[] = {"list", "列表", NULL};
    if (ev->chat != QB_CHAT_GROUP) {
        qb_reply(c, ev, "接龙只能在群里使用。", false);
        return QB_HANDLED;
    }
    const char *w = a->argc ? a->argv[0] : "";
    struct qb_cmd_args b = shifted(a);
    if (word_in(w, open_w))
        return do_open(c, ev, &b, false);
    if (word_in(w, join_w))
        return do_join(c, ev, &b, false);
    if (word_in(w, leave_w))
        return do_leave(c, ev, &b, false);
    if (word_in(w, close_w))
        return do_close(c, ev, &b, false);
    if (word_in(w, export_w))
        return do_export(c, ev, &b, false);
    if (word_in(w, list_w) || !a->argc)
        return do_list(c, ev);
    signup_say(c, ev, signup_usage);
    return QB_HANDLED;
}

static const struct qb_command signup_commands[] = {
        {.name = "signup",
         .usage = "/signup open|join|leave|close|export|list",
         .help = "接龙报名：发起、报名、取消、截止、导出",
         .min_role = QB_ROLE_MEMBER,
         .run = cmd_signup},
        {.name = "signupopen",
         .aliases = open_aliases,
         .usage = "接龙 活动名 [上限]",
         .help = "发起一个接龙（报名名单），可设人数上限，满了进候补",
         .min_role = QB_ROLE_MEMBER,
         .run = cmd_open},
        {.name = "signupjoin",
         .aliases = join_aliases,
         .usage = "+1 · 报名 [活动名] [备注]",
         .help = "报名参加接龙",
         .min_role = QB_ROLE_MEMBER,
         .run = cmd_join},
        {.name = "signupleave",
         .aliases = leave_aliases,
         .usage = "取消 [活动名]",
         .help = "退出接龙，候补第一位自动补上",
         .min_role = QB_ROLE_MEMBER,
         .run = cmd_leave},
        {.name = "signupclose",
         .aliases = close_aliases,
         .usage = "截止 活动名",
         .help = "截止接龙并发出最终名单",
         .min_role = QB_ROLE_MEMBER,
         .shown_to = QB_ROLE_ADMIN,
         .run = cmd_close},
        {.name = "signupexport",
         .aliases = export_aliases,
         .usage = "导出 活动名",
         .help = "把接龙名单导出成表格（CSV）",
         .min_role = QB_ROLE_MEMBER,
         .shown_to = QB_ROLE_ADMIN,
         .run = cmd_export},
        {.name = "signuplist",
         .aliases = list_aliases,
         .usage = "接龙列表",
         .help = "看看正在进行的接龙",
         .min_role = QB_ROLE_MEMBER,
         .run = cmd_list},
        {.name = NULL},
};

/* ---- lifecycle ---- */

static int signup_init(struct qb_ctx *c)
{
    struct signup_state *st = calloc(1, sizeof *st);
    if (!st)
        return QB_ENOMEM;
    qb_set_state(c, st);
    return QB_OK;
}

static void signup_shutdown(struct qb_ctx *c)
{
    if (!signup_st(c))
        return;
    signup_pending_free(c);
    free(signup_st(c));
    qb_set_state(c, NULL);
}

const struct qb_plugin qb_plugin_signup = {
        .abi = QB_PLUGIN_ABI,
        .name = "signup",
        .version = "1.0",
        .description = "接龙报名：人数上限、候补自动递补、合并刷新名单、截止与导出",
        .priority = 100,
        .event_mask = 0,
        .default_on = false,
        .settings = signup_table,
        .settings_size = sizeof(struct signup_settings),
        .commands = signup_commands,
        .migrations = signup_migrations,
        .init = signup_init,
        .shutdown = signup_shutdown,
        .check = signup_check,
};
