/*
 * talks_cmd.c — the talks plugin's commands: /talk add|list|move|cancel|end|qa and the
 * Chinese forms (分享 添加 …, 分享列表, 改期, 取消分享, 结束分享, 开始答疑), and the talks
 * listed in the rules file (created once per entry text, cancelled when the entry goes).
 *
 * Owns nothing. Bad input gets a one-line reason and changes nothing; every decision is
 * audited. Speakers come from real @mentions (or "@QQ号" typed as text); the topic is
 * member text and only ever sent in text segments.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talks.h"

#define TOKS 48

struct tok {
    char s[TALKS_TOPIC_MAX];
    bool at;
};

static void say(struct qb_ctx *c, const struct qb_event *ev, const char *text)
{
    if (!ev->backfilled)
        qb_reply(c, ev, text, true);
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

/* ---- tokens of the whole message (the host's args stop at the first @) ---- */

static size_t split_text(const char *text, struct tok *t, size_t n, size_t max)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        return n;
    for (char *p = copy; *p; p++) /* full-width spaces become plain ones */
        if (!strncmp(p, "\xe3\x80\x80", 3))
            memcpy(p, "   ", 3);
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t\r\n", &save); w && n < max;
         w = strtok_r(NULL, " \t\r\n", &save)) {
        t[n].at = false;
        snprintf(t[n++].s, sizeof t[0].s, "%s", w);
    }
    free(copy);
    return n;
}

static size_t tokens(const struct qb_event *ev, struct tok *t, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->msg.n && n < max; i++) {
        const struct qb_seg *g = &ev->msg.segs[i];
        if (g->type == QB_SEG_TEXT)
            n = split_text(g->text, t, n, max);
        else if (g->type == QB_SEG_AT && g->text && strcmp(g->text, ev->self_id) &&
                 strcmp(g->text, "all")) {
            t[n].at = true;
            snprintf(t[n++].s, sizeof t[0].s, "%s", g->text);
        }
    }
    return n;
}

/* "@20003" typed as text counts as a mention. */
static const char *speaker_of(const struct tok *t)
{
    if (t->at)
        return t->s;
    if (t->s[0] == '@' && t->s[1] && strspn(t->s + 1, "0123456789") == strlen(t->s + 1))
        return t->s + 1;
    return NULL;
}

static void add_speaker(char *list, size_t n, const char *id)
{
    struct talks_talk probe;
    snprintf(probe.speakers, sizeof probe.speakers, "%s", list);
    if (talks_is_speaker(&probe, id) || strlen(list) + strlen(id) + 2 > n)
        return;
    snprintf(list + strlen(list), n - strlen(list), "%s%s", list[0] ? "," : "", id);
}

/* Read "<date> <time> <duration> @speaker… topic…" from token i on. */
static int read_request(struct qb_ctx *c, const char *group_id, const struct tok *t, size_t n,
                        size_t i, struct talks_req *r, char *why, size_t wn)
{
    memset(r, 0, sizeof *r);
    if (i + 1 >= n || t[i].at || t[i + 1].at) {
        snprintf(why, wn, "用法：/talk add 2026-12-05 20:00 90m @主讲人 主题");
        return QB_EINVAL;
    }
    if (talks_parse_when(c, qb_timezone(c, group_id), t[i].s, t[i + 1].s, &r->start_ms, why, wn) !=
        QB_OK)
        return QB_EINVAL;
    if (i + 2 >= n || t[i + 2].at || speaker_of(&t[i + 2]) ||
        talks_parse_duration(t[i + 2].s, &r->dur_ms) != QB_OK) {
        snprintf(why, wn, "请写上时长，如 90m、2h 或 90分钟（写在时间后面）。");
        return QB_EINVAL;
    }
    for (size_t k = i + 3; k < n; k++) {
        const char *sp = speaker_of(&t[k]);
        if (sp)
            add_speaker(r->speakers, sizeof r->speakers, sp);
        else
            snprintf(r->topic + strlen(r->topic), sizeof r->topic - strlen(r->topic), "%s%s",
                     r->topic[0] ? " " : "", t[k].s);
    }
    return QB_OK;
}

/* Checks every new or moved talk passes. QB_OK or QB_EINVAL with why. */
static int validate(struct qb_ctx *c, const char *group_id, int64_t start, int64_t dur,
                    int64_t skip_id, char *why, size_t n)
{
    char when[64], other_when[64], other_dur[64];
    talks_fmt_when(c, qb_timezone(c, group_id), start, when, sizeof when);
    if (start <= qb_now(c)) {
        snprintf(why, n, "开始时间 %s 已经过去了，请换一个以后的时间。", when);
        return QB_EINVAL;
    }
    if (dur <= 0) {
        snprintf(why, n, "时长要大于 0，如 90m 或 90分钟。");
        return QB_EINVAL;
    }
    if (dur > TALKS_MAX_DUR_MS) {
        snprintf(why, n, "一场分享最长 8 小时，请缩短时长或分成几场。");
        return QB_EINVAL;
    }
    struct talks_talk o;
    if (talks_overlap(c, group_id, start, dur, skip_id, &o)) {
        talks_fmt_when(c, qb_timezone(c, group_id), o.start_ms, other_when, sizeof other_when);
        talks_fmt_dur(o.dur_ms, other_dur, sizeof other_dur);
        snprintf(why, n, "和分享 #%lld「%.60s」（%s，%s）时间重叠，请换个时间。", (long long)o.id,
                 o.topic, other_when, other_dur);
        return QB_EINVAL;
    }
    return QB_OK;
}

static void audit_add(struct qb_ctx *c, const struct qb_event *ev, const struct talks_talk *t,
                      const char *what, const char *origin)
{
    char d[1000];
    snprintf(
            d, sizeof d,
            "{\"talk\":%lld,\"group\":\"%s\",\"start_ms\":%lld,\"dur_ms\":%lld,\"speakers\":\"%s\","
            "\"origin\":\"%s\"}",
            (long long)t->id, t->group_id, (long long)t->start_ms, (long long)t->dur_ms,
            t->speakers, origin);
    qb_audit(c, ev, what, d);
}

static void offsets_text(struct qb_ctx *c, const char *group_id, char *out, size_t n)
{
    const struct talks_settings *s = talks_cfg(c, group_id);
    out[0] = '\0';
    for (size_t i = 0; i < s->announce_before.n; i++) {
        int64_t ms;
        char d[32];
        if (talks_parse_duration(s->announce_before.v[i], &ms) != QB_OK)
            continue;
        talks_fmt_dur(ms, d, sizeof d);
        snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? "、" : "", d);
    }
}

int talks_cmd_add(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    if (!is_admin(c, ev)) {
        say(c, ev, "只有群管理员可以安排分享。");
        return QB_HANDLED;
    }
    static const char *const after[] = {"add", "添加", "添加分享", "/添加分享", NULL};
    struct tok *t = calloc(TOKS, sizeof *t);
    if (!t)
        return QB_HANDLED;
    size_t n = tokens(ev, t, TOKS), i = 0;
    while (i < n && !word_in(t[i].s, after))
        i++;
    struct talks_req r;
    char why[300];
    int rc = read_request(c, ev->group_id, t, n, i + 1, &r, why, sizeof why);
    free(t);
    if (rc == QB_OK && !r.speakers[0]) {
        snprintf(why, sizeof why, "请 @ 主讲人（可以 @ 多位），写在时长后面。");
        rc = QB_EINVAL;
    } else if (rc == QB_OK && !r.topic[0]) {
        snprintf(why, sizeof why, "请在主讲人后面写上分享主题。");
        rc = QB_EINVAL;
    }
    if (rc == QB_OK)
        rc = validate(c, ev->group_id, r.start_ms, r.dur_ms, 0, why, sizeof why);
    if (rc != QB_OK) {
        say(c, ev, why);
        return QB_HANDLED;
    }
    struct talks_talk tk = {.start_ms = r.start_ms, .dur_ms = r.dur_ms};
    qb_id_set(tk.self_id, ev->self_id);
    qb_id_set(tk.group_id, ev->group_id);
    snprintf(tk.platform, sizeof tk.platform, "%s", ev->platform);
    snprintf(tk.topic, sizeof tk.topic, "%s", r.topic);
    snprintf(tk.speakers, sizeof tk.speakers, "%s", r.speakers);
    int64_t id = talks_insert(c, &tk, NULL, ev->user_id);
    if (id <= 0) {
        say(c, ev, "没能保存这场分享，请稍后再试。");
        return QB_HANDLED;
    }
    tk.id = id;
    talks_arm(c, &tk);
    audit_add(c, ev, &tk, "talks.add", "command");
    char when[64], dur[64], offs[200], text[TALKS_TOPIC_MAX + 500];
    talks_fmt_when(c, qb_timezone(c, ev->group_id), tk.start_ms, when, sizeof when);
    talks_fmt_dur(tk.dur_ms, dur, sizeof dur);
    offsets_text(c, ev->group_id, offs, sizeof offs);
    snprintf(text, sizeof text, "已安排分享 #%lld：「%s」\n时间：%s（%s）\n主讲：\x01%s%s%s",
             (long long)id, tk.topic, when, dur, offs[0] ? "\n会在开始前 " : "", offs,
             offs[0] ? " 提醒大家。" : "");
    talks_send(c, &tk, text, false);
    return QB_HANDLED;
}

/* ---- list, move, cancel ---- */

int talks_cmd_list(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    sqlite3_stmt *st = qb_stmt(c, "SELECT id, start_ms, dur_ms, topic, speakers, status"
                                  " FROM talks_talks WHERE group_id = ?"
                                  " AND status IN ('scheduled', 'live') AND start_ms + dur_ms > ?"
                                  " ORDER BY start_ms LIMIT 10");
    if (!st)
        return QB_HANDLED;
    sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, qb_now(c));
    char out[3000], when[64], dur[64];
    int len = snprintf(out, sizeof out, "近期分享：");
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW && len > 0 && (size_t)len < sizeof out - 400) {
        talks_fmt_when(c, qb_timezone(c, ev->group_id), sqlite3_column_int64(st, 1), when,
                       sizeof when);
        talks_fmt_dur(sqlite3_column_int64(st, 2), dur, sizeof dur);
        len += snprintf(
                out + len, sizeof out - (size_t)len, "\n#%lld %s（%s）「%.120s」主讲 %.100s%s",
                (long long)sqlite3_column_int64(st, 0), when, dur,
                (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4),
                !strcmp((const char *)sqlite3_column_text(st, 5), "live") ? " · 进行中" : "");
        rows++;
    }
    sqlite3_reset(st);
    say(c, ev, rows ? out : "近期没有安排分享。");
    return QB_HANDLED;
}

/* The talk named by word ("3" or "#3") in this group, scheduled. */
static int pick_talk(struct qb_ctx *c, const struct qb_event *ev, const char *word,
                     struct talks_talk *t, const char *usage)
{
    const char *p = word && word[0] == '#' ? word + 1 : word;
    char *end;
    long long id = p && *p ? strtoll(p, &end, 10) : 0;
    if (!p || !*p || *end || id <= 0) {
        say(c, ev, usage);
        return QB_EINVAL;
    }
    char why[200];
    if (talks_load(c, id, t) != QB_OK || strcmp(t->group_id, ev->group_id)) {
        snprintf(why, sizeof why, "本群没有编号 #%lld 的分享，发「分享列表」可以查看。", id);
        say(c, ev, why);
        return QB_ENOENT;
    }
    if (strcmp(t->status, "scheduled") || t->start_ms <= qb_now(c)) {
        snprintf(why, sizeof why,
                 !strcmp(t->status, "cancelled") ? "分享 #%lld 已经取消了。"
                 : !strcmp(t->status, "ended")
                         ? "分享 #%lld 已经结束了。"
                         : "分享 #%lld 已经开始了，要提前结束请发「结束分享」。",
                 id);
        say(c, ev, why);
        return QB_EINVAL;
    }
    return QB_OK;
}

int talks_cmd_move(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    if (!is_admin(c, ev)) {
        say(c, ev, "只有群管理员可以改期。");
        return QB_HANDLED;
    }
    int i = !strcmp(a->name, "talk") ? 1 : 0; /* "/talk move 3 …" or "改期 3 …" */
    static const char *const usage = "用法：改期 编号 日期 时间（如 改期 3 2026-12-06 20:00）";
    struct talks_talk t;
    if (a->argc < i + 3) {
        say(c, ev, usage);
        return QB_HANDLED;
    }
    if (pick_talk(c, ev, a->argv[i], &t, usage) != QB_OK)
        return QB_HANDLED;
    int64_t start;
    char why[300];
    if (talks_parse_when(c, qb_timezone(c, t.group_id), a->argv[i + 1], a->argv[i + 2], &start, why,
                         sizeof why) != QB_OK ||
        validate(c, t.group_id, start, t.dur_ms, t.id, why, sizeof why) != QB_OK) {
        say(c, ev, why);
        return QB_HANDLED;
    }
    talks_disarm(c, &t);
    int64_t old = t.start_ms;
    sqlite3_stmt *st = qb_stmt(c, "UPDATE talks_talks SET start_ms = ?, at_all_done = 0"
                                  " WHERE id = ? AND status = 'scheduled'");
    if (!st)
        return QB_HANDLED;
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, t.id);
    sqlite3_step(st);
    sqlite3_reset(st);
    t.start_ms = start;
    t.at_all_done = false;
    talks_arm(c, &t);
    audit_add(c, ev, &t, "talks.move", "command");
    char was[64], now_when[64], dur[64], text[TALKS_TOPIC_MAX + 400];
    talks_fmt_when(c, qb_timezone(c, t.group_id), old, was, sizeof was);
    talks_fmt_when(c, qb_timezone(c, t.group_id), start, now_when, sizeof now_when);
    talks_fmt_dur(t.dur_ms, dur, sizeof dur);
    snprintf(text, sizeof text, "📢 分享改期：「%s」从 %s 改到 %s（%s），主讲 \x01。", t.topic, was,
             now_when, dur);
    talks_send(c, &t, text, false);
    return QB_HANDLED;
}

int talks_cmd_cancel(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    if (!is_admin(c, ev)) {
        say(c, ev, "只有群管理员可以取消分享。");
        return QB_HANDLED;
    }
    int i = !strcmp(a->name, "talk") ? 1 : 0;
    struct talks_talk t;
    if (a->argc < i + 1 ||
        pick_talk(c, ev, a->argv[i], &t, "用法：取消分享 编号（发「分享列表」查看编号）") != QB_OK)
        return QB_HANDLED;
    if (talks_set_status(c, t.id, "scheduled", "scheduled", "cancelled") != QB_OK)
        return QB_HANDLED;
    talks_disarm(c, &t);
    audit_add(c, ev, &t, "talks.cancel", "command");
    char when[64], text[TALKS_TOPIC_MAX + 300];
    talks_fmt_when(c, qb_timezone(c, t.group_id), t.start_ms, when, sizeof when);
    snprintf(text, sizeof text, "📢 分享取消：原定 %s 的「%s」取消了，给大家添麻烦了。", when,
             t.topic);
    talks_send(c, &t, text, false);
    return QB_HANDLED;
}

/* ---- during the talk ---- */

static int live_for_lead(struct qb_ctx *c, const struct qb_event *ev, struct talks_talk *t)
{
    if (talks_live_at(c, ev->group_id, qb_now(c), t) != QB_OK) {
        say(c, ev, "现在没有进行中的分享。");
        return QB_ENOENT;
    }
    if (!talks_is_speaker(t, ev->user_id) && !is_admin(c, ev)) {
        say(c, ev, "只有主讲人或群管理员可以这样做。");
        return QB_EDENIED;
    }
    return QB_OK;
}

int talks_cmd_end(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    struct talks_talk t;
    if (ev->backfilled || live_for_lead(c, ev, &t) != QB_OK)
        return QB_HANDLED;
    talks_finish(c, t.id, ev);
    return QB_HANDLED;
}

int talks_cmd_qa(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    struct talks_talk t;
    if (ev->backfilled || live_for_lead(c, ev, &t) != QB_OK)
        return QB_HANDLED;
    if (!talks_count(c, "SELECT COUNT(*) FROM talks_questions WHERE talk_id = ?", t.id))
        say(c, ev, "还没有收到提问。");
    else
        talks_post_questions(c, &t, false);
    return QB_HANDLED;
}

int talks_cmd(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    static const char *const add[] = {"add", "添加", NULL}, *const list[] = {"list", "列表", NULL},
                             *const move[] = {"move", "改期", NULL},
                             *const cancel[] = {"cancel", "取消", NULL},
                             *const end[] = {"end", "结束", NULL},
                             *const qa[] = {"qa", "答疑", NULL};
    const char *w = a->argc ? a->argv[0] : "";
    if (word_in(w, add))
        return talks_cmd_add(c, ev, a);
    if (word_in(w, list) || (!a->argc && strcmp(a->used, "分享")))
        return talks_cmd_list(c, ev, a);
    if (word_in(w, move))
        return talks_cmd_move(c, ev, a);
    if (word_in(w, cancel))
        return talks_cmd_cancel(c, ev, a);
    if (word_in(w, end))
        return talks_cmd_end(c, ev, a);
    if (word_in(w, qa))
        return talks_cmd_qa(c, ev, a);
    if (!strcmp(a->used, "分享"))
        return QB_PASS; /* "分享 一下我的经验" is chat */
    say(c, ev,
        "用法：/talk add|list|move|cancel|end|qa（中文：分享 添加 / 分享列表 / 改期 / "
        "取消分享 / 结束分享 / 开始答疑）");
    return QB_HANDLED;
}

/* ---- talks from the rules file ---- */

static bool exists_source(struct qb_ctx *c, const char *group_id, const char *source)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT 1 FROM talks_talks WHERE group_id = ? AND source = ?");
    if (!st)
        return true;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_TRANSIENT);
    bool hit = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return hit;
}

static void group_account(struct qb_ctx *c, const char *group_id, struct talks_talk *t)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT platform, self_id FROM talks_groups WHERE group_id = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        const char *s = (const char *)sqlite3_column_text(st, 1);
        snprintf(t->platform, sizeof t->platform, "%s", p ? p : "");
        qb_id_set(t->self_id, s ? s : "");
    }
    sqlite3_reset(st);
}

static void rules_add(struct qb_ctx *c, const char *group_id, const char *entry)
{
    if (exists_source(c, group_id, entry))
        return;
    struct talks_req r;
    char why[300];
    if (talks_parse_entry(c, qb_timezone(c, group_id), entry, &r, why, sizeof why) != QB_OK ||
        validate(c, group_id, r.start_ms, r.dur_ms, 0, why, sizeof why) != QB_OK) {
        qb_log(QB_LOG_WARN, "talks: rules-file talk \"%s\" for group %s not scheduled: %s", entry,
               group_id, why);
        return;
    }
    struct talks_talk t = {.start_ms = r.start_ms, .dur_ms = r.dur_ms};
    qb_id_set(t.group_id, group_id);
    snprintf(t.topic, sizeof t.topic, "%s", r.topic);
    snprintf(t.speakers, sizeof t.speakers, "%s", r.speakers);
    group_account(c, group_id, &t);
    int64_t id = talks_insert(c, &t, entry, "rules");
    if (id <= 0)
        return;
    t.id = id;
    t.from_rules = true;
    talks_arm(c, &t);
    audit_add(c, NULL, &t, "talks.add", "rules");
    qb_log(QB_LOG_INFO, "talks: scheduled talk #%lld in group %s from the rules file",
           (long long)id, group_id);
}

/* Cancel rules-file talks (not started) whose entry left the file. */
static void rules_drop_removed(struct qb_ctx *c, const char *group_id,
                               const struct talks_settings *s)
{
    int64_t gone[32];
    size_t n = 0;
    sqlite3_stmt *st = qb_stmt(c, "SELECT id, source FROM talks_talks WHERE group_id = ?"
                                  " AND source IS NOT NULL AND status = 'scheduled'");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW && n < 32) {
        const char *src = (const char *)sqlite3_column_text(st, 1);
        if (src && !qb_strlist_has(&s->talks, src))
            gone[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++) {
        struct talks_talk t;
        if (talks_load(c, gone[i], &t) != QB_OK ||
            talks_set_status(c, t.id, "scheduled", "scheduled", "cancelled") != QB_OK)
            continue;
        talks_disarm(c, &t);
        audit_add(c, NULL, &t, "talks.cancel", "rules entry removed");
        qb_log(QB_LOG_INFO,
               "talks: talk #%lld in group %s cancelled: its entry left the rules file",
               (long long)t.id, group_id);
    }
}

void talks_sync_rules(struct qb_ctx *c, const char *group_id)
{
    const struct talks_settings *s = talks_cfg(c, group_id);
    if (!s || !qb_enabled(c, group_id))
        return;
    for (size_t i = 0; i < s->talks.n; i++)
        rules_add(c, group_id, s->talks.v[i]);
    rules_drop_removed(c, group_id, s);
}
