/*
 * ranking_board.c — what members and admins ask for: the leaderboard of a period (day,
 * week, month, all time; boundaries in the group's timezone) over every row of the
 * points ledger, 我的积分, hiding oneself, the mutual-boosting report and admin grants.
 *
 * Owns no state. Reads points_ledger with SQL and writes it only through qb_points_add
 * (admin grants, with the admin as actor and the reason). Replies are one short Chinese
 * message; member names and reasons always go into text segments, never markup.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ranking.h"

#define PAIRS_DAYS 7
#define PAIRS_MIN  2 /* bonuses each way before a pair is worth a look */
#define GRANT_MAX  10000

struct text {
    char s[3000];
    size_t len;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < sizeof t->s - t->len ? (size_t)n : sizeof t->s - t->len - 1;
}

/* Reply with an @ of the sender followed by text. */
static void reply_at(struct qb_ctx *c, const struct qb_event *ev, const char *who, const char *text)
{
    struct qb_msg m;
    qb_msg_init(&m);
    if (qb_msg_at(&m, who) == QB_OK && qb_msg_text(&m, text) == QB_OK && qb_msg_finish(&m) == QB_OK)
        qb_reply_msg(c, ev, &m);
    qb_msg_clear(&m);
}

static bool word_in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcasecmp(w, *list))
            return true;
    return false;
}

/* ---- leaderboard ---- */

static const char *const period_names[] = {"今日", "本周", "本月", "总"};

static bool parse_period(const char *w, enum ranking_period *p)
{
    static const char *const day[] = {"日", "今日", "今天", "day", "today", NULL};
    static const char *const week[] = {"周", "本周", "week", NULL};
    static const char *const month[] = {"月", "本月", "month", NULL};
    static const char *const all[] = {"总", "总榜", "全部", "all", "total", NULL};
    if (!*w || word_in(w, week))
        *p = RANKING_WEEK;
    else if (word_in(w, day))
        *p = RANKING_DAY;
    else if (word_in(w, month))
        *p = RANKING_MONTH;
    else if (word_in(w, all))
        *p = RANKING_ALL;
    else
        return false;
    return true;
}

static void board(struct qb_ctx *c, const struct qb_event *ev, enum ranking_period p)
{
    const struct ranking_settings *s = ranking_cfg(c, ev->group_id);
    int64_t since = ranking_period_start(c, ev->group_id, p, qb_now(c));
    struct text t = {.len = 0};
    t.s[0] = '\0';
    if (p == RANKING_ALL) {
        put(&t, "🏆 总积分榜");
    } else {
        struct tm tm;
        qb_localtime(c, qb_timezone(c, ev->group_id), since, &tm);
        put(&t, "🏆 %s积分榜（%d月%d日起）", period_names[p], tm.tm_mon + 1, tm.tm_mday);
    }
    sqlite3_stmt *st = qb_stmt(
            c, "SELECT l.user_id, SUM(l.delta) AS pts FROM points_ledger l"
               " WHERE l.group_id = ? AND l.ts >= ?"
               " AND NOT EXISTS (SELECT 1 FROM ranking_members m WHERE m.group_id = l.group_id"
               " AND m.user_id = l.user_id AND m.hidden <> 0)"
               " GROUP BY l.user_id HAVING SUM(l.delta) > 0 ORDER BY pts DESC, l.user_id LIMIT ?");
    int shown = 0;
    if (st) {
        sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, since);
        sqlite3_bind_int64(st, 3, s->top);
        int64_t prev = -1, place = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *u = (const char *)sqlite3_column_text(st, 0);
            int64_t pts = sqlite3_column_int64(st, 1);
            shown++;
            if (pts != prev)
                place = shown; /* equal points share a place */
            prev = pts;
            char name[128];
            ranking_member_name(c, ev->group_id, u ? u : "", name, sizeof name);
            put(&t, "\n%lld. %s — %lld 分", (long long)place, name, (long long)pts);
        }
        sqlite3_reset(st);
    }
    if (!shown)
        put(&t, "\n还没有人上榜，多聊天、多签到就能上榜～");
    qb_reply(c, ev, t.s, false);
}

int ranking_cmd_rank(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    static const char *const hide[] = {"hide", "隐藏", NULL};
    static const char *const show[] = {"show", "显示", NULL};
    static const char *const pairs[] = {"pairs", "互刷", NULL};
    if (ev->backfilled)
        return QB_HANDLED;
    const char *w = a->argc ? a->argv[0] : "";
    enum ranking_period p;
    if (word_in(w, pairs)) {
        if (qb_role_of(c, ev) < QB_ROLE_ADMIN) {
            qb_reply(c, ev, "只有群管理员可以查看互刷名单。", true);
            return QB_HANDLED;
        }
        return ranking_cmd_pairs(c, ev, a);
    }
    if (word_in(w, hide) || word_in(w, show)) {
        bool hidden = word_in(w, hide);
        if (ranking_member_set_hidden(c, ev->group_id, ev->user_id, hidden) != QB_OK)
            qb_reply(c, ev, "没能保存设置，请稍后再试。", true);
        else
            reply_at(c, ev, ev->user_id,
                     hidden ? " 已在排行榜上隐藏你，积分照常累计，「我的积分」仍可查看；"
                              "发送 /rank show 恢复显示。"
                            : " 已恢复在排行榜上显示你。");
        return QB_HANDLED;
    }
    if (!parse_period(w, &p)) {
        qb_reply(c, ev,
                 "用法：排行 [日|周|月|总]，默认本周；/rank hide 隐藏自己，/rank show 恢复。",
                 true);
        return QB_HANDLED;
    }
    board(c, ev, p);
    return QB_HANDLED;
}

/* ---- 我的积分 ---- */

/* 1 + visible members (other than user) with more points since since_ms; 0 if pts <= 0. */
static int64_t place_of(struct qb_ctx *c, const char *group_id, const char *user_id,
                        int64_t since_ms, int64_t pts)
{
    if (pts <= 0)
        return 0;
    sqlite3_stmt *st = qb_stmt(
            c, "SELECT COUNT(*) FROM (SELECT l.user_id FROM points_ledger l"
               " WHERE l.group_id = ? AND l.user_id <> ? AND l.ts >= ?"
               " AND NOT EXISTS (SELECT 1 FROM ranking_members m WHERE m.group_id = l.group_id"
               " AND m.user_id = l.user_id AND m.hidden <> 0)"
               " GROUP BY l.user_id HAVING SUM(l.delta) > ?) AS ahead");
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, since_ms);
    sqlite3_bind_int64(st, 4, pts);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n + 1;
}

static void put_place(struct text *t, int64_t place)
{
    if (place > 0)
        put(t, "（第 %lld 名）", (long long)place);
    else
        put(t, "（未上榜）");
}

int ranking_cmd_me(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    const char *g = ev->group_id, *u = ev->user_id;
    const struct ranking_settings *s = ranking_cfg(c, g);
    ranking_member_touch(c, g, u, ev->sender_name);
    ranking_level_check(c, ev->self_id, g, u);
    int64_t now = qb_now(c), week_start = ranking_period_start(c, g, RANKING_WEEK, now);
    int64_t total = qb_points_sum(c, g, u, 0, 0), week = qb_points_sum(c, g, u, week_start, 0);
    struct text t = {.len = 0};
    t.s[0] = '\0';
    put(&t, " 累计 %lld 分", (long long)total);
    put_place(&t, place_of(c, g, u, 0, total));
    put(&t, "，本周 %lld 分", (long long)week);
    put_place(&t, place_of(c, g, u, week_start, week));
    const char *title = NULL, *next_title = NULL;
    int64_t next_at = 0;
    if (s->levels.n) {
        ranking_level_of(&s->levels, total, &title, &next_at, &next_title);
        put(&t, "\n等级：%s", title ? title : "暂无");
        if (next_title)
            put(&t, " · 距「%s」还差 %lld 分", next_title, (long long)(next_at - total));
    }
    if (ranking_member_hidden(c, g, u))
        put(&t, "\n你已在排行榜上隐藏（/rank show 恢复显示）");
    reply_at(c, ev, u, t.s);
    return QB_HANDLED;
}

/* ---- 互刷: pairs whose reply bonuses came mostly from each other ---- */

int ranking_cmd_pairs(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    if (qb_role_of(c, ev) < QB_ROLE_ADMIN)
        return QB_PASS; /* a member saying 互刷 in chat: not a command for them */
    sqlite3_stmt *st =
            qb_stmt(c, "WITH r AS (SELECT from_user, to_user, COUNT(*) AS n FROM ranking_replies"
                       " WHERE group_id = ? AND ts >= ? AND bonus > 0 GROUP BY from_user, to_user),"
                       " t AS (SELECT to_user, SUM(n) AS total FROM r GROUP BY to_user)"
                       " SELECT x.from_user, x.to_user, x.n, y.n, tx.total, ty.total"
                       " FROM r x JOIN r y ON x.from_user = y.to_user AND x.to_user = y.from_user"
                       " JOIN t tx ON tx.to_user = x.to_user JOIN t ty ON ty.to_user = y.to_user"
                       " WHERE x.from_user < x.to_user AND x.n >= ? AND y.n >= ?"
                       " AND x.n * 2 > tx.total AND y.n * 2 > ty.total"
                       " ORDER BY x.n + y.n DESC, x.from_user LIMIT 10");
    struct text t = {.len = 0};
    t.s[0] = '\0';
    put(&t, "近 %d 天回复加分主要来自彼此的成员：", PAIRS_DAYS);
    int found = 0;
    if (st) {
        sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, qb_now(c) - PAIRS_DAYS * 86400LL * 1000);
        sqlite3_bind_int(st, 3, PAIRS_MIN);
        sqlite3_bind_int(st, 4, PAIRS_MIN);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *x = (const char *)sqlite3_column_text(st, 0);
            const char *y = (const char *)sqlite3_column_text(st, 1);
            int64_t xy = sqlite3_column_int64(st, 2), yx = sqlite3_column_int64(st, 3);
            int64_t ty = sqlite3_column_int64(st, 4), tx = sqlite3_column_int64(st, 5);
            char nx[128], ny[128];
            ranking_member_name(c, ev->group_id, x ? x : "", nx, sizeof nx);
            ranking_member_name(c, ev->group_id, y ? y : "", ny, sizeof ny);
            put(&t,
                "\n%d. %s(%s) ↔ %s(%s)：%s 给 %s %lld 次（占其所得 %lld%%），反向 %lld 次（占 "
                "%lld%%）",
                ++found, nx, x ? x : "", ny, y ? y : "", nx, ny, (long long)xy,
                (long long)(xy * 100 / (ty ? ty : 1)), (long long)yx,
                (long long)(yx * 100 / (tx ? tx : 1)));
        }
        sqlite3_reset(st);
    }
    if (!found)
        put(&t, "\n没有发现。");
    qb_reply(c, ev, t.s, false);
    return QB_HANDLED;
}

/* ---- admin grants ---- */

static bool all_digits(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Next word of *p (ASCII or full-width spaces separate words): start and length. */
static bool next_word(const char **p, const char **w, size_t *n)
{
    const char *s = *p;
    for (;;) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        else if (!strncmp(s, "\xe3\x80\x80", 3))
            s += 3;
        else
            break;
    }
    if (!*s)
        return false;
    const char *e = s;
    while (*e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n' &&
           strncmp(e, "\xe3\x80\x80", 3))
        e++;
    *w = s;
    *n = (size_t)(e - s);
    *p = e;
    return true;
}

/* The member a grant is for: an @mention, else a QQ number followed by the points, else
 * the author of the quoted message. Advances *p past a QQ number it used. */
static bool grant_target(struct qb_ctx *c, const struct qb_event *ev, const char **p, char *out,
                         size_t n)
{
    for (size_t i = 0; i < ev->msg.n; i++) {
        const struct qb_seg *seg = &ev->msg.segs[i];
        if (seg->type == QB_SEG_AT && seg->text && strcmp(seg->text, ev->self_id) &&
            strcmp(seg->text, "all")) {
            snprintf(out, n, "%s", seg->text);
            return true;
        }
    }
    const char *q = *p, *w1, *w2;
    size_t n1, n2;
    if (next_word(&q, &w1, &n1) && all_digits(w1, n1)) {
        const char *q2 = q;
        if (next_word(&q2, &w2, &n2) && all_digits(w2, n2) && n1 < n) {
            memcpy(out, w1, n1);
            out[n1] = '\0';
            *p = q;
            return true;
        }
    }
    for (size_t i = 0; i < ev->msg.n; i++) {
        const struct qb_seg *seg = &ev->msg.segs[i];
        if (seg->type == QB_SEG_REPLY && ranking_message_author(c, ev->group_id, seg->text, out, n))
            return true;
    }
    return false;
}

struct grant {
    char target[QB_ID_MAX];
    int64_t points;
    char reason[400];
};

/* Parse "<cmd> [add|deduct] (@member|QQ) N reason" from the text-only content. sign is
 * +1/-1 for 加分/扣分, 0 when the word after the command says which. */
static bool parse_grant(struct qb_ctx *c, const struct qb_event *ev, int *sign, struct grant *g)
{
    static const char *const add[] = {"add", "加", "加分", NULL};
    static const char *const deduct[] = {"deduct", "扣", "扣分", NULL};
    char *text = qb_msg_text_only(&ev->msg);
    if (!text)
        return false;
    const char *p = text, *w;
    size_t n;
    bool ok = next_word(&p, &w, &n); /* the command word */
    if (ok && *sign == 0) {
        char word[16] = "";
        ok = next_word(&p, &w, &n) && n < sizeof word;
        if (ok) {
            memcpy(word, w, n);
            word[n] = '\0';
            *sign = word_in(word, add) ? 1 : word_in(word, deduct) ? -1 : 0;
            ok = *sign != 0;
        }
    }
    ok = ok && grant_target(c, ev, &p, g->target, sizeof g->target);
    ok = ok && next_word(&p, &w, &n) && all_digits(w, n) && n <= 5;
    if (ok) {
        g->points = strtoll(w, NULL, 10);
        snprintf(g->reason, sizeof g->reason, "%s", p);
        ranking_trim(g->reason);
        ok = g->points >= 1 && g->points <= GRANT_MAX && g->reason[0];
    }
    free(text);
    return ok;
}

static int grant(struct qb_ctx *c, const struct qb_event *ev, int sign)
{
    if (ev->backfilled)
        return QB_HANDLED;
    struct grant g = {.points = 0};
    int given = sign;
    if (!parse_grant(c, ev, &sign, &g)) {
        qb_reply(c, ev,
                 given > 0 ? "用法：加分 @成员 分数 理由（分数 1–10000，理由必填）"
                 : given < 0 ? "用法：扣分 @成员 分数 理由（分数 1–10000，理由必填）"
                             : "用法：/points add|deduct @成员 分数 理由（分数 1–10000，理由必填）",
                 true);
        return QB_HANDLED;
    }
    if (sign > 0 && !strcmp(g.target, ev->user_id)) {
        qb_reply(c, ev, "不能给自己加分哦，请另一位管理员来加。", true);
        return QB_HANDLED;
    }
    char ref[1024];
    snprintf(ref, sizeof ref, "admin:%s:%s", ev->group_id,
             ev->message_id[0] ? ev->message_id : "-");
    int rc = qb_points_add(c, ev->group_id, g.target, sign * g.points, g.reason,
                           ev->message_id[0] ? ref : NULL, ev->user_id);
    if (rc == QB_EEXIST)
        return QB_HANDLED; /* the same command delivered twice */
    if (rc != QB_OK) {
        qb_reply(c, ev, "记账没有成功，请稍后再试。", true);
        return QB_HANDLED;
    }
    ranking_member_touch(c, ev->group_id, g.target, NULL);
    ranking_level_check(c, ev->self_id, ev->group_id, g.target);
    char details[600];
    snprintf(details, sizeof details, "{\"target\":\"%s\",\"points\":%lld}", g.target,
             (long long)(sign * g.points));
    qb_audit(c, ev, "ranking.grant", details);
    char text[600];
    snprintf(text, sizeof text, " %s %lld 分（理由：%s），现在共 %lld 分。", sign > 0 ? "加" : "扣",
             (long long)g.points, g.reason,
             (long long)qb_points_sum(c, ev->group_id, g.target, 0, 0));
    reply_at(c, ev, g.target, text);
    return QB_HANDLED;
}

int ranking_cmd_points(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    return grant(c, ev, 0);
}

int ranking_cmd_add(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    return grant(c, ev, 1);
}

int ranking_cmd_deduct(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    return grant(c, ev, -1);
}
