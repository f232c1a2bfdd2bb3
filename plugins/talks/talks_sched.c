/*
 * talks_sched.c — the talks plugin's persisted schedules: announcements at the group's
 * offsets (once per talk, start and offset: UNIQUE in talks_announced), the late policy
 * (stale or superseded announcements are skipped, never a burst), @全体成员 at most once
 * per talk after checking the bot's own role, the start (quiet mode "mute" turns on the
 * whole-group mute) and the end (Q&A, summary files, mute lifted: exactly once).
 *
 * Owns the pending @all checks (state list). A schedule whose payload no longer matches
 * the talk (moved, cancelled, ended) does nothing. Member text only in text segments.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talks.h"

#define SPEAKERS_MARK '\x01'
#define LATE_GRACE_MS (60LL * 1000) /* "skip" policy: later than this counts as late */

static const char *tz_of(struct qb_ctx *c, const struct talks_talk *t)
{
    return qb_timezone(c, t->group_id);
}

/* ---- sending ---- */

static int add_text(struct qb_msg *m, const char *s, size_t len)
{
    if (!len)
        return QB_OK;
    char *t = strndup(s, len);
    if (!t)
        return QB_ENOMEM;
    int rc = qb_msg_text(m, t);
    free(t);
    return rc;
}

static int add_speakers(struct qb_msg *m, const struct talks_talk *t)
{
    int rc = QB_OK;
    char ids[TALKS_SPEAKER_LEN];
    snprintf(ids, sizeof ids, "%s", t->speakers);
    char *save = NULL;
    bool first = true;
    for (char *id = strtok_r(ids, ",", &save); id && rc == QB_OK; id = strtok_r(NULL, ",", &save)) {
        if (!first)
            rc = qb_msg_text(m, " ");
        if (rc == QB_OK)
            rc = qb_msg_at(m, id);
        first = false;
    }
    return rc;
}

void talks_send(struct qb_ctx *c, const struct talks_talk *t, const char *text, bool at_all)
{
    struct qb_msg m;
    qb_msg_init(&m);
    int rc = QB_OK;
    if (at_all) {
        rc = qb_msg_at(&m, "all");
        if (rc == QB_OK)
            rc = qb_msg_text(&m, " ");
    }
    const char *p = text;
    for (const char *k; rc == QB_OK && (k = strchr(p, SPEAKERS_MARK)); p = k + 1) {
        rc = add_text(&m, p, (size_t)(k - p));
        if (rc == QB_OK)
            rc = add_speakers(&m, t);
    }
    if (rc == QB_OK)
        rc = add_text(&m, p, strlen(p));
    if (rc == QB_OK && m.n && qb_msg_finish(&m) == QB_OK)
        qb_send_group(c, t->self_id, t->group_id, &m);
    qb_msg_clear(&m);
}

/* ---- keys and offsets ---- */

static void key_ann(char *out, size_t n, int64_t id, int64_t offset)
{
    snprintf(out, n, "a:%lld:%lld", (long long)id, (long long)offset);
}

/* The group's announcement offsets (valid ones, ms), at most 16. */
static size_t offsets_of(struct qb_ctx *c, const char *group_id, int64_t *out)
{
    const struct talks_settings *s = talks_cfg(c, group_id);
    size_t n = 0;
    for (size_t i = 0; s && i < s->announce_before.n && n < 16; i++) {
        int64_t ms;
        if (talks_parse_duration(s->announce_before.v[i], &ms) == QB_OK && ms > 0)
            out[n++] = ms;
    }
    return n;
}

void talks_arm(struct qb_ctx *c, const struct talks_talk *t)
{
    char key[64], payload[96];
    int64_t off[16], now = qb_now(c);
    size_t n = offsets_of(c, t->group_id, off);
    for (size_t i = 0; i < n; i++) {
        if (t->start_ms - off[i] <= now)
            continue;
        key_ann(key, sizeof key, t->id, off[i]);
        snprintf(payload, sizeof payload, "%lld|%lld|%lld", (long long)t->id,
                 (long long)t->start_ms, (long long)off[i]);
        qb_schedule_at(c, key, t->start_ms - off[i], payload);
    }
    snprintf(payload, sizeof payload, "%lld|%lld|0", (long long)t->id, (long long)t->start_ms);
    snprintf(key, sizeof key, "s:%lld", (long long)t->id);
    qb_schedule_at(c, key, t->start_ms, payload);
    snprintf(key, sizeof key, "e:%lld", (long long)t->id);
    qb_schedule_at(c, key, t->start_ms + t->dur_ms, payload);
}

void talks_disarm(struct qb_ctx *c, const struct talks_talk *t)
{
    static const int64_t defaults[] = {3 * TALKS_DAY_MS, TALKS_DAY_MS, TALKS_HOUR_MS,
                                       10 * TALKS_MIN_MS};
    char key[64];
    int64_t off[16];
    size_t n = offsets_of(c, t->group_id, off);
    for (size_t i = 0; i < n + 4; i++) {
        key_ann(key, sizeof key, t->id, i < n ? off[i] : defaults[i - n]);
        qb_schedule_cancel(c, key);
    }
    snprintf(key, sizeof key, "s:%lld", (long long)t->id);
    qb_schedule_cancel(c, key);
    snprintf(key, sizeof key, "e:%lld", (long long)t->id);
    qb_schedule_cancel(c, key);
}

/* ---- announcements ---- */

static void audit_talk(struct qb_ctx *c, const struct talks_talk *t, const char *what,
                       const char *why)
{
    char d[300];
    snprintf(d, sizeof d, "{\"talk\":%lld,\"group\":\"%s\",\"why\":\"%s\"}", (long long)t->id,
             t->group_id, why);
    qb_audit(c, NULL, what, d);
}

static void announce_now(struct qb_ctx *c, const struct talks_talk *t, bool at_all)
{
    static const char *const mark = "\x01";
    const struct talks_settings *s = talks_cfg(c, t->group_id);
    char start[64], dur[64], left[64];
    talks_fmt_when(c, tz_of(c, t), t->start_ms, start, sizeof start);
    talks_fmt_dur(t->dur_ms, dur, sizeof dur);
    int64_t l = t->start_ms - qb_now(c);
    talks_fmt_dur(l > 0 ? l : 0, left, sizeof left);
    char topic[TALKS_TOPIC_MAX];
    snprintf(topic, sizeof topic, "%s", t->topic);
    for (char *p = topic; *p; p++)
        if (*p == SPEAKERS_MARK)
            *p = ' ';
    struct qb_tvar vars[] = {{"topic", topic},  {"speakers", mark}, {"start", start},
                             {"duration", dur}, {"left", left},     {"group", t->group_id}};
    char *text = qb_template_render(s->announce, vars, sizeof vars / sizeof vars[0]);
    if (!text)
        return;
    talks_send(c, t, text, at_all);
    free(text);
    if (at_all) {
        sqlite3_stmt *st = qb_stmt(c, "UPDATE talks_talks SET at_all_done = 1 WHERE id = ?");
        if (st) {
            sqlite3_bind_int64(st, 1, t->id);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    }
}

static struct talks_pending *pending_take(struct qb_ctx *c, int64_t id)
{
    for (struct talks_pending **p = &talks_st(c)->pending; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            struct talks_pending *hit = *p;
            *p = hit->next;
            return hit;
        }
    }
    return NULL;
}

static void role_answer(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    struct talks_pending *p = pending_take(c, (int64_t)(intptr_t)ud);
    if (!p)
        return;
    struct talks_talk t;
    if (talks_load(c, p->talk_id, &t) == QB_OK && !strcmp(t.status, "scheduled") &&
        t.start_ms == p->start_ms) {
        bool ok = r->err == QB_OK && r->member && r->member->role >= QB_ROLE_ADMIN;
        if (!ok)
            qb_log(QB_LOG_INFO,
                   "talks: no @全体成员 for talk %lld in group %s: the bot is not an admin there "
                   "(%s)",
                   (long long)t.id, t.group_id, r->err == QB_OK ? "member" : qb_strerror(r->err));
        announce_now(c, &t, ok && !t.at_all_done);
    }
    free(p);
}

/* Ask for the bot's own role, then announce (with @all if it may). */
static void announce_checking_role(struct qb_ctx *c, const struct talks_talk *t, int64_t offset)
{
    struct talks_state *st = talks_st(c);
    struct talks_pending *p = calloc(1, sizeof *p);
    struct qb_action *a = p && t->self_id[0] ? qb_action_new(QB_ACT_GET_MEMBER) : NULL;
    if (!a) {
        if (p && !t->self_id[0])
            qb_log(QB_LOG_INFO,
                   "talks: no @全体成员 for talk %lld: the bot's account in group %s is not "
                   "known yet",
                   (long long)t->id, t->group_id);
        free(p);
        announce_now(c, t, false);
        return;
    }
    *p = (struct talks_pending){
            .id = ++st->next_id, .talk_id = t->id, .offset_ms = offset, .start_ms = t->start_ms};
    p->next = st->pending;
    st->pending = p;
    qb_id_set(a->self_id, t->self_id);
    qb_id_set(a->group_id, t->group_id);
    qb_id_set(a->user_id, t->self_id);
    if (qb_action_submit(c, a, role_answer, (void *)(intptr_t)p->id) != QB_OK) {
        free(pending_take(c, p->id));
        announce_now(c, t, false);
    }
}

void talks_pending_free(struct qb_ctx *c)
{
    struct talks_state *st = talks_st(c);
    while (st->pending) {
        struct talks_pending *p = st->pending;
        st->pending = p->next;
        free(p);
    }
}

/* Record the announcement (talk, start, offset) once. false if it was made already. */
static bool mark_announced(struct qb_ctx *c, const struct talks_talk *t, int64_t offset)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO talks_announced(talk_id, start_ms, offset_ms, ts)"
                                  " VALUES (?, ?, ?, ?)"
                                  " ON CONFLICT (talk_id, start_ms, offset_ms) DO NOTHING");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_int64(st, 2, t->start_ms);
    sqlite3_bind_int64(st, 3, offset);
    sqlite3_bind_int64(st, 4, qb_now(c));
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE && changed;
}

/* Why this announcement should not go out now, or NULL. */
static const char *skip_reason(struct qb_ctx *c, const struct talks_talk *t, int64_t offset,
                               int64_t late_ms, bool *last)
{
    const struct talks_settings *s = talks_cfg(c, t->group_id);
    int64_t off[16], now = qb_now(c);
    size_t n = offsets_of(c, t->group_id, off);
    bool listed = false;
    *last = true;
    for (size_t i = 0; i < n; i++) {
        if (off[i] == offset)
            listed = true;
        else if (off[i] < offset) {
            *last = false;
            if (now >= t->start_ms - off[i])
                return "superseded by a later announcement";
        }
    }
    if (!listed)
        return "offset no longer configured";
    if (now >= t->start_ms)
        return "the talk has started";
    if (late_ms > s->stale_after_ms)
        return "stale";
    if (!strcmp(s->late_policy, "skip") && late_ms > LATE_GRACE_MS)
        return "late (late_policy skip)";
    return NULL;
}

static void on_announce(struct qb_ctx *c, const struct talks_talk *t, int64_t offset,
                        int64_t late_ms)
{
    bool last;
    const char *why = skip_reason(c, t, offset, late_ms, &last);
    if (why) {
        audit_talk(c, t, "talks.announce_skipped", why);
        qb_log(QB_LOG_INFO, "talks: announcement of talk %lld in group %s skipped: %s",
               (long long)t->id, t->group_id, why);
        return;
    }
    if (!mark_announced(c, t, offset))
        return;
    audit_talk(c, t, "talks.announce", "due");
    if (talks_cfg(c, t->group_id)->at_all && last && !t->at_all_done)
        announce_checking_role(c, t, offset);
    else
        announce_now(c, t, false);
}

/* ---- start ---- */

static void mute_all(struct qb_ctx *c, const struct talks_talk *t, bool on)
{
    struct qb_action *a = qb_action_new(QB_ACT_MUTE_ALL);
    if (!a)
        return;
    qb_id_set(a->self_id, t->self_id);
    qb_id_set(a->group_id, t->group_id);
    a->enable = on;
    a->reason = strdup(on ? "talk started (quiet mode mute)" : "talk ended");
    qb_action_submit(c, a, NULL, NULL);
    sqlite3_stmt *st = qb_stmt(c, "UPDATE talks_talks SET muted = ? WHERE id = ?");
    if (st) {
        sqlite3_bind_int(st, 1, on ? 1 : 0);
        sqlite3_bind_int64(st, 2, t->id);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
}

static void on_start(struct qb_ctx *c, struct talks_talk *t, int64_t late_ms)
{
    const struct talks_settings *s = talks_cfg(c, t->group_id);
    if (qb_now(c) >= t->start_ms + t->dur_ms ||
        talks_set_status(c, t->id, "scheduled", "scheduled", "live") != QB_OK)
        return;
    audit_talk(c, t, "talks.start", late_ms > s->stale_after_ms ? "late" : "due");
    if (!strcmp(s->quiet, "mute"))
        mute_all(c, t, true);
    if (late_ms > s->stale_after_ms)
        return;
    char dur[64], text[TALKS_TOPIC_MAX + 400];
    talks_fmt_dur(t->dur_ms, dur, sizeof dur);
    const char *rule = !strcmp(s->quiet, "recall") ? "分享期间请勿闲聊，"
                       : !strcmp(s->quiet, "mute") ? "分享期间全员禁言，"
                                                   : "";
    snprintf(text, sizeof text,
             "「%s」分享开始啦！主讲：\x01（%s）\n%s提问请发「提问 你的问题」，结束时统一答疑。",
             t->topic, dur, rule);
    talks_send(c, t, text, false);
}

/* ---- end ---- */

void talks_finish(struct qb_ctx *c, int64_t id, const struct qb_event *ev)
{
    struct talks_talk t;
    if (talks_load(c, id, &t) != QB_OK ||
        talks_set_status(c, id, "scheduled", "live", "ended") != QB_OK)
        return;
    const struct talks_settings *s = talks_cfg(c, t.group_id);
    talks_disarm(c, &t);
    if (t.muted)
        mute_all(c, &t, false);
    talks_post_questions(c, &t, true);
    int rc = talks_write_summary(c, &t);
    int64_t speech = talks_count(c, "SELECT COUNT(*) FROM talks_speech WHERE talk_id = ?", id);
    int64_t qs = talks_count(c, "SELECT COUNT(*) FROM talks_questions WHERE talk_id = ?", id);
    int64_t done = talks_count(
            c, "SELECT COUNT(*) FROM talks_questions WHERE talk_id = ? AND answered = 1", id);
    int64_t people = talks_count(c, "SELECT COUNT(*) FROM talks_attendance WHERE talk_id = ?", id);
    char d[300];
    snprintf(d, sizeof d,
             "{\"talk\":%lld,\"group\":\"%s\",\"speaker_messages\":%lld,\"questions\":%lld,"
             "\"attendance\":%lld,\"summary\":\"%s\"}",
             (long long)id, t.group_id, (long long)speech, (long long)qs, (long long)people,
             rc == QB_OK ? "written" : qb_strerror(rc));
    qb_audit(c, ev, "talks.end", d);
    if (!s->post_summary)
        return;
    char text[TALKS_TOPIC_MAX + 400];
    int len =
            snprintf(text, sizeof text,
                     "「%s」分享结束，感谢主讲 \x01！主讲发言 %lld 条，提问 %lld 个（已答 %lld），"
                     "参与 %lld 人。",
                     t.topic, (long long)speech, (long long)qs, (long long)done, (long long)people);
    if (len > 0 && (size_t)len < sizeof text && rc == QB_OK)
        snprintf(text + len, sizeof text - (size_t)len, "\n纪要文件：talk-%lld.md / talk-%lld.html",
                 (long long)id, (long long)id);
    else if (len > 0 && (size_t)len < sizeof text)
        snprintf(text + len, sizeof text - (size_t)len,
                 "\n纪要文件 talk-%lld 没能写出，请管理员查看日志。", (long long)id);
    talks_send(c, &t, text, false);
}

/* ---- dispatch ---- */

void talks_on_schedule(struct qb_ctx *c, const struct qb_event *ev)
{
    long long id = 0, start = 0, offset = 0;
    const char *key = ev->sched_key ? ev->sched_key : "";
    if (!ev->sched_payload ||
        sscanf(ev->sched_payload, "%lld|%lld|%lld", &id, &start, &offset) != 3)
        return;
    struct talks_talk t;
    if (talks_load(c, id, &t) != QB_OK || t.start_ms != start)
        return; /* moved or gone: an old schedule does nothing */
    if (key[0] == 'e') {
        talks_finish(c, t.id, NULL);
        return;
    }
    if (strcmp(t.status, "scheduled") || !qb_enabled(c, t.group_id))
        return;
    if (key[0] == 'a')
        on_announce(c, &t, offset, ev->sched_late_ms);
    else if (key[0] == 's')
        on_start(c, &t, ev->sched_late_ms);
}
