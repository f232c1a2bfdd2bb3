/*
 * welcome_join.c — newcomers: one welcome per wave of joins (a short in-memory buffer
 * per group), self-introductions recognised and acknowledged once, the one persisted
 * reminder ("intro:<group>:<user>"), the optional entry question with its persisted
 * deadline ("check:<group>:<user>"), and the admin commands /intro pending and /clear.
 *
 * Owns the welcome waves (state list) and the welcome_members rows. Must not act on
 * the bot's own joins, nor answer back-filled messages (it still records their facts).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "welcome.h"

#define HOUR_MS      3600000LL
#define CHECK_MUTE_S (30LL * 24 * 3600) /* the platform's longest mute: until cleared */
#define CHECK_ASKING 1
#define CHECK_PASSED 2
#define CHECK_MUTED  3
#define CHECK_LET_IN 4

/* ---- member rows ---- */

struct member_row {
    bool found, joined, introduced, reminded;
    int check_state;
};

static struct member_row member_get(struct qb_ctx *c, const char *group_id, const char *user_id)
{
    struct member_row m = {0};
    sqlite3_stmt *st = qb_stmt(c, "SELECT joined_ts, intro_ts, reminded, check_state"
                                  " FROM welcome_members WHERE group_id = ? AND user_id = ?");
    if (!st)
        return m;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        m.found = true;
        m.joined = sqlite3_column_type(st, 0) != SQLITE_NULL;
        m.introduced = sqlite3_column_type(st, 1) != SQLITE_NULL;
        m.reminded = sqlite3_column_int(st, 2) != 0;
        m.check_state = sqlite3_column_int(st, 3);
    }
    sqlite3_reset(st);
    return m;
}

static void member_set_int(struct qb_ctx *c, const char *sql, int64_t v, const char *group_id,
                           const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, v);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void sched_key(char *out, size_t n, const char *what, const char *group_id,
                      const char *user_id)
{
    snprintf(out, n, "%s:%s:%s", what, group_id, user_id);
}

static void audit_member(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                         const char *group_id, const char *user_id, const char *actor)
{
    char details[300];
    snprintf(details, sizeof details, "{\"group\":\"%s\",\"user\":\"%s\",\"by\":\"%s\"}", group_id,
             user_id, actor ? actor : "welcome");
    qb_audit(c, ev, what, details);
}

/* ---- welcome waves ---- */

static struct welcome_wave *wave_by_id(struct qb_ctx *c, int64_t id)
{
    for (struct welcome_wave *w = welcome_st(c)->waves; w; w = w->next)
        if (w->id == id)
            return w;
    return NULL;
}

static struct welcome_wave *wave_of_group(struct qb_ctx *c, const char *group_id)
{
    for (struct welcome_wave *w = welcome_st(c)->waves; w; w = w->next)
        if (!strcmp(w->group_id, group_id))
            return w;
    return NULL;
}

static void wave_unlink(struct qb_ctx *c, struct welcome_wave *w)
{
    for (struct welcome_wave **p = &welcome_st(c)->waves; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

/* The entry question, one message mentioning every newcomer of the wave still asked. */
static void ask_question(struct qb_ctx *c, const struct welcome_settings *s,
                         const struct welcome_wave *w)
{
    struct qb_msg msg;
    qb_msg_init(&msg);
    size_t asked = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (member_get(c, w->group_id, w->v[i].user_id).check_state != CHECK_ASKING)
            continue;
        if (asked++)
            qb_msg_text(&msg, " ");
        qb_msg_at(&msg, w->v[i].user_id);
    }
    if (asked) {
        qb_msg_textf(&msg, " 入群验证：%s\n请在 %lld 分钟内直接回复答案，超时会被暂时禁言。",
                     s->newcomer_question, (long long)s->newcomer_minutes);
        qb_msg_finish(&msg);
        qb_send_group(c, w->self_id, w->group_id, &msg);
    }
    qb_msg_clear(&msg);
}

static void wave_flush(struct qb_ctx *c, struct welcome_wave *w)
{
    const struct welcome_settings *s = welcome_cfg(c, w->group_id);
    if (!w->n || !qb_enabled(c, w->group_id))
        return;
    const char *ats[WELCOME_WAVE_MAX];
    char names[WELCOME_WAVE_MAX * 130] = "", hours[24];
    size_t len = 0;
    for (size_t i = 0; i < w->n; i++) {
        ats[i] = w->v[i].user_id;
        int k = snprintf(names + len, sizeof names - len, "%s%s", i ? "、" : "",
                         w->v[i].name[0] ? w->v[i].name : w->v[i].user_id);
        if (k > 0 && (size_t)k < sizeof names - len)
            len += (size_t)k;
    }
    snprintf(hours, sizeof hours, "%lld", (long long)s->intro_hours);
    struct qb_tvar vars[] = {
            {"name", names},
            {"group", s->group_name[0] ? s->group_name : "本群"},
            {"rules", s->rules_text},
            {"intro_hours", hours},
    };
    struct qb_msg msg;
    qb_msg_init(&msg);
    if (welcome_render(s->welcome, vars, 4, ats, w->n, &msg) == QB_OK && msg.n)
        qb_send_group(c, w->self_id, w->group_id, &msg);
    qb_msg_clear(&msg);
    if (s->newcomer_question[0])
        ask_question(c, s, w);
}

static void wave_fire(struct qb_ctx *c, void *ud)
{
    struct welcome_wave *w = wave_by_id(c, welcome_ud_id(ud));
    if (!w)
        return;
    wave_unlink(c, w);
    wave_flush(c, w);
    free(w);
}

static void wave_add(struct qb_ctx *c, const struct qb_event *ev, const struct welcome_settings *s)
{
    struct welcome_wave *w = wave_of_group(c, ev->group_id);
    if (w && w->n == WELCOME_WAVE_MAX) { /* a big wave: welcome these now, start another */
        qb_timer_cancel(c, w->timer);
        wave_fire(c, welcome_id_ud(w->id));
        w = NULL;
    }
    if (!w) {
        struct welcome_state *st = welcome_st(c);
        w = calloc(1, sizeof *w);
        if (!w)
            return;
        w->id = ++st->next_id;
        qb_id_set(w->self_id, ev->self_id);
        qb_id_set(w->group_id, ev->group_id);
        w->timer = qb_timer_add(c, s->merge_ms, wave_fire, welcome_id_ud(w->id));
        w->next = st->waves;
        st->waves = w;
    }
    qb_id_set(w->v[w->n].user_id, ev->user_id);
    w->v[w->n].name[0] = '\0';
    w->n++;
}

static void wave_drop_member(struct qb_ctx *c, const char *group_id, const char *user_id)
{
    struct welcome_wave *w = wave_of_group(c, group_id);
    for (size_t i = 0; w && i < w->n; i++) {
        if (!strcmp(w->v[i].user_id, user_id)) {
            memmove(&w->v[i], &w->v[i + 1], (w->n - i - 1) * sizeof w->v[0]);
            w->n--;
            return;
        }
    }
}

void welcome_waves_free(struct qb_ctx *c)
{
    struct welcome_state *st = welcome_st(c);
    while (st->waves) {
        struct welcome_wave *w = st->waves;
        st->waves = w->next;
        qb_timer_cancel(c, w->timer);
        free(w);
    }
}

/* ---- joins and leaves ---- */

static void lookup_name(struct qb_ctx *c, const struct qb_event *ev)
{
    struct welcome_job *j =
            welcome_job_new(c, WELCOME_JOB_NAME, ev->self_id, ev->group_id, ev->user_id);
    struct qb_action *a = j ? qb_action_new(QB_ACT_GET_MEMBER) : NULL;
    if (!a) {
        if (j)
            welcome_job_free(c, j);
        return;
    }
    qb_id_set(a->self_id, ev->self_id);
    qb_id_set(a->group_id, ev->group_id);
    qb_id_set(a->user_id, ev->user_id);
    if (qb_action_submit(c, a, welcome_name_answer, welcome_id_ud(j->id)) != QB_OK)
        welcome_job_free(c, j);
}

void welcome_name_answer(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    struct welcome_job *j = welcome_job_find(c, welcome_ud_id(ud));
    if (!j)
        return;
    if (r->err == QB_OK && r->member) {
        const char *name = r->member->card[0] ? r->member->card : r->member->nickname;
        struct welcome_wave *w = wave_of_group(c, j->group_id);
        for (size_t i = 0; w && i < w->n; i++)
            if (!strcmp(w->v[i].user_id, j->user_id))
                snprintf(w->v[i].name, sizeof w->v[i].name, "%s", name);
        sqlite3_stmt *st = qb_stmt(
                c, "UPDATE welcome_members SET name = ? WHERE group_id = ? AND user_id = ?");
        if (st) {
            sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, j->group_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, j->user_id, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    }
    welcome_job_free(c, j);
}

void welcome_on_join(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!strcmp(ev->user_id, ev->self_id) || !ev->group_id[0])
        return;
    const struct welcome_settings *s = welcome_cfg(c, ev->group_id);
    int64_t now = qb_now(c);
    bool ask = s->newcomer_question[0] != '\0';
    sqlite3_stmt *st =
            qb_stmt(c, "INSERT INTO welcome_members(group_id, user_id, joined_ts, check_state)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT (group_id, user_id) DO UPDATE SET"
                       " joined_ts = excluded.joined_ts, intro_ts = NULL, reminded = 0,"
                       " check_state = excluded.check_state");
    if (st) {
        sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, ev->user_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int(st, 4, ask ? CHECK_ASKING : 0);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    char key[200];
    if (s->intro_hours > 0) {
        sched_key(key, sizeof key, "intro", ev->group_id, ev->user_id);
        qb_schedule_at(c, key, now + s->intro_hours * HOUR_MS, ev->self_id);
    }
    if (ask) {
        sched_key(key, sizeof key, "check", ev->group_id, ev->user_id);
        qb_schedule_at(c, key, now + s->newcomer_minutes * 60000, ev->self_id);
    }
    wave_add(c, ev, s);
    lookup_name(c, ev);
}

void welcome_on_leave(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!strcmp(ev->user_id, ev->self_id) || !ev->group_id[0])
        return;
    char key[200];
    sched_key(key, sizeof key, "intro", ev->group_id, ev->user_id);
    qb_schedule_cancel(c, key);
    sched_key(key, sizeof key, "check", ev->group_id, ev->user_id);
    qb_schedule_cancel(c, key);
    wave_drop_member(c, ev->group_id, ev->user_id);
    sqlite3_stmt *st = qb_stmt(c, "DELETE FROM welcome_members WHERE group_id = ? AND user_id = ?");
    if (st) {
        sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, ev->user_id, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
}

/* ---- messages: answers and introductions ---- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Skip white space and decorations people put before a heading: 【 [ # 「 ＃. */
static const char *skip_decor(const char *s)
{
    static const char *const decor[] = {" ", "\t", "\n", "\xe3\x80\x80", "【",
                                        "[", "#",  "「", "＃",           NULL};
    for (bool again = true; again;) {
        again = false;
        for (const char *const *d = decor; *d; d++) {
            size_t l = strlen(*d);
            if (!strncmp(s, *d, l)) {
                s += l;
                again = true;
            }
        }
    }
    return s;
}

static bool is_intro(const struct welcome_settings *s, const char *text, bool newcomer)
{
    const char *t = skip_decor(text);
    for (size_t i = 0; i < s->intro_prefixes.n; i++) {
        const char *p = s->intro_prefixes.v[i];
        if (p[0] && !strncmp(t, p, strlen(p)))
            return true;
    }
    return newcomer && s->intro_min_chars > 0 && utf8_chars(text) > (size_t)s->intro_min_chars;
}

static void check_answer(struct qb_ctx *c, const struct qb_event *ev,
                         const struct welcome_settings *s, const char *text)
{
    if (!s->newcomer_answer[0] || !strstr(text, s->newcomer_answer))
        return;
    member_set_int(c,
                   "UPDATE welcome_members SET check_state = ? WHERE group_id = ? AND user_id = ?",
                   CHECK_PASSED, ev->group_id, ev->user_id);
    char key[200];
    sched_key(key, sizeof key, "check", ev->group_id, ev->user_id);
    qb_schedule_cancel(c, key);
    audit_member(c, ev, "welcome.check.passed", ev->group_id, ev->user_id, NULL);
    if (!ev->backfilled)
        welcome_say(c, ev->self_id, ev->group_id, ev->user_id, "{at} 回答正确，欢迎加入！", NULL,
                    0);
}

void welcome_on_message(struct qb_ctx *c, const struct qb_event *ev)
{
    const struct welcome_settings *s = welcome_cfg(c, ev->group_id);
    char *text = qb_msg_text_only(&ev->msg);
    if (!text)
        return;
    struct member_row m = member_get(c, ev->group_id, ev->user_id);
    if (m.check_state == CHECK_ASKING)
        check_answer(c, ev, s, text);
    if (!m.introduced && is_intro(s, text, m.joined)) {
        welcome_member_ensure(c, ev->group_id, ev->user_id);
        int64_t when = ev->time_ms > 0 ? ev->time_ms : qb_now(c);
        member_set_int(c,
                       "UPDATE welcome_members SET intro_ts = ? WHERE group_id = ? AND user_id = ?",
                       when, ev->group_id, ev->user_id);
        char key[200];
        sched_key(key, sizeof key, "intro", ev->group_id, ev->user_id);
        qb_schedule_cancel(c, key);
        audit_member(c, ev, "welcome.intro", ev->group_id, ev->user_id, NULL);
        if (!ev->backfilled) {
            char name[128];
            snprintf(name, sizeof name, "%s", ev->sender_name[0] ? ev->sender_name : ev->user_id);
            struct qb_tvar vars[] = {{"name", name}};
            welcome_say(c, ev->self_id, ev->group_id, ev->user_id, s->intro_ack, vars, 1);
        }
    }
    free(text);
}

/* ---- persisted deadlines ---- */

/* "what:group:user" → group and user. */
static bool parse_key(const char *key, const char *what, char *group_id, char *user_id)
{
    size_t wl = strlen(what);
    if (strncmp(key, what, wl) || key[wl] != ':')
        return false;
    const char *g = key + wl + 1, *sep = strchr(g, ':');
    if (!sep || sep == g || !sep[1] || (size_t)(sep - g) >= QB_ID_MAX)
        return false;
    memcpy(group_id, g, (size_t)(sep - g));
    group_id[sep - g] = '\0';
    qb_id_set(user_id, sep + 1);
    return true;
}

static void remind_intro(struct qb_ctx *c, const struct qb_event *ev, const char *group_id,
                         const char *user_id)
{
    struct member_row m = member_get(c, group_id, user_id);
    if (!m.found || !m.joined || m.introduced || m.reminded || !qb_enabled(c, group_id))
        return;
    const struct welcome_settings *s = welcome_cfg(c, group_id);
    member_set_int(c, "UPDATE welcome_members SET reminded = ? WHERE group_id = ? AND user_id = ?",
                   1, group_id, user_id);
    char name[128], hours[24];
    welcome_member_name(c, group_id, user_id, name, sizeof name);
    snprintf(hours, sizeof hours, "%lld", (long long)s->intro_hours);
    struct qb_tvar vars[] = {{"name", name}, {"intro_hours", hours}};
    welcome_say(c, ev->sched_payload ? ev->sched_payload : "", group_id, user_id, s->intro_remind,
                vars, 2);
    audit_member(c, NULL, "welcome.intro.reminded", group_id, user_id, NULL);
}

static void mute_unanswered(struct qb_ctx *c, const struct qb_event *ev, const char *group_id,
                            const char *user_id)
{
    if (member_get(c, group_id, user_id).check_state != CHECK_ASKING || !qb_enabled(c, group_id))
        return;
    const char *self_id = ev->sched_payload ? ev->sched_payload : "";
    struct welcome_job *j = welcome_job_new(c, WELCOME_JOB_MUTE, self_id, group_id, user_id);
    struct qb_action *a = j ? qb_action_new(QB_ACT_MUTE) : NULL;
    if (!a) {
        if (j)
            welcome_job_free(c, j);
        return;
    }
    qb_id_set(a->self_id, self_id);
    qb_id_set(a->group_id, group_id);
    qb_id_set(a->user_id, user_id);
    a->duration_s = CHECK_MUTE_S;
    a->reason = strdup("newcomer did not answer the entry question in time");
    if (qb_action_submit(c, a, welcome_mute_answer, welcome_id_ud(j->id)) != QB_OK)
        welcome_job_free(c, j);
}

void welcome_mute_answer(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    struct welcome_job *j = welcome_job_find(c, welcome_ud_id(ud));
    if (!j)
        return;
    const struct welcome_settings *s = welcome_cfg(c, j->group_id);
    if (r->err == QB_OK) {
        member_set_int(
                c, "UPDATE welcome_members SET check_state = ? WHERE group_id = ? AND user_id = ?",
                CHECK_MUTED, j->group_id, j->user_id);
        char text[300];
        snprintf(text, sizeof text,
                 "{at} 你没有在 %lld 分钟内回答入群问题，已被暂时禁言。"
                 "请私聊管理员，核实后管理员会为你解除。",
                 (long long)s->newcomer_minutes);
        welcome_say(c, j->self_id, j->group_id, j->user_id, text, NULL, 0);
        audit_member(c, NULL, "welcome.check.muted", j->group_id, j->user_id, NULL);
    } else { /* fail open: the newcomer stays, nothing is said */
        member_set_int(
                c, "UPDATE welcome_members SET check_state = ? WHERE group_id = ? AND user_id = ?",
                CHECK_LET_IN, j->group_id, j->user_id);
        qb_log(QB_LOG_WARN,
               "welcome: could not mute newcomer %s in group %s who did not answer the entry "
               "question (%s: %s); they were let in. Is the bot a group admin?",
               j->user_id, j->group_id, qb_strerror(r->err), r->detail ? r->detail : "");
        audit_member(c, NULL, "welcome.check.mute_failed", j->group_id, j->user_id, NULL);
    }
    welcome_job_free(c, j);
}

void welcome_on_schedule(struct qb_ctx *c, const struct qb_event *ev)
{
    char group_id[QB_ID_MAX], user_id[QB_ID_MAX];
    if (!ev->sched_key)
        return;
    if (parse_key(ev->sched_key, "intro", group_id, user_id))
        remind_intro(c, ev, group_id, user_id);
    else if (parse_key(ev->sched_key, "check", group_id, user_id))
        mute_unanswered(c, ev, group_id, user_id);
}

/* ---- admin commands ---- */

static void format_age(int64_t ms, char *out, size_t n)
{
    int64_t h = ms / HOUR_MS;
    if (h < 1)
        snprintf(out, n, "不到 1 小时");
    else if (h < 48)
        snprintf(out, n, "%lld 小时", (long long)h);
    else
        snprintf(out, n, "%lld 天", (long long)(h / 24));
}

int welcome_cmd_intro(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    if (a->argc > 0 && strcmp(a->argv[0], "pending") && strcmp(a->argv[0], "未介绍")) {
        qb_reply(c, ev, "用法：/intro pending（列出还没有自我介绍的新成员）", false);
        return QB_HANDLED;
    }
    sqlite3_stmt *st = qb_stmt(c, "SELECT user_id, name, joined_ts FROM welcome_members"
                                  " WHERE group_id = ? AND joined_ts IS NOT NULL"
                                  " AND intro_ts IS NULL ORDER BY joined_ts LIMIT 31");
    if (!st)
        return QB_HANDLED;
    sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
    char text[3000] = "", age[32];
    size_t len = 0;
    int n = 0;
    int64_t now = qb_now(c);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (++n > 30) {
            len += (size_t)snprintf(text + len, sizeof text - len, "\n……还有更多");
            break;
        }
        const char *uid = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        format_age(now - sqlite3_column_int64(st, 2), age, sizeof age);
        int k = snprintf(text + len, sizeof text - len, "\n· %s（%s），入群 %s",
                         name && *name ? name : uid, uid, age);
        if (k < 0 || (size_t)k >= sizeof text - len)
            break;
        len += (size_t)k;
    }
    sqlite3_reset(st);
    char out[3100];
    if (n)
        snprintf(out, sizeof out, "还没有自我介绍的新成员：%s", text);
    else
        snprintf(out, sizeof out, "新成员都已经做过自我介绍了 👍");
    qb_reply(c, ev, out, false);
    return QB_HANDLED;
}

int welcome_cmd_clear(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    char uid[QB_ID_MAX];
    if (!welcome_target(ev, a, uid, sizeof uid)) {
        qb_reply(c, ev, "用法：/clear @成员（放行未通过入群验证的新成员）", false);
        return QB_HANDLED;
    }
    int state = member_get(c, ev->group_id, uid).check_state;
    if (state != CHECK_ASKING && state != CHECK_MUTED) {
        qb_reply(c, ev, "这位成员没有在等待入群验证。", false);
        return QB_HANDLED;
    }
    char key[200];
    sched_key(key, sizeof key, "check", ev->group_id, uid);
    qb_schedule_cancel(c, key);
    if (state == CHECK_MUTED)
        qb_mute(c, ev->self_id, ev->group_id, uid, 0, "admin cleared a newcomer");
    member_set_int(c,
                   "UPDATE welcome_members SET check_state = ? WHERE group_id = ? AND user_id = ?",
                   CHECK_LET_IN, ev->group_id, uid);
    audit_member(c, ev, "welcome.check.cleared", ev->group_id, uid, ev->user_id);
    welcome_say(c, ev->self_id, ev->group_id, uid,
                state == CHECK_MUTED ? "{at} 管理员已为你解除禁言，欢迎加入！"
                                     : "{at} 管理员已为你放行，欢迎加入！",
                NULL, 0);
    return QB_HANDLED;
}
