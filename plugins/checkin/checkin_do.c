/*
 * checkin_do.c — checking in: the window, exactly one row per member per local day
 * (UNIQUE in checkin_days, the same message id seen twice is silent), points with the
 * streak bonus through qb_points_add (idempotent by ref), confirmations merged per group
 * within merge_window into one message, and 补签 (make-up check-ins paid with points).
 *
 * Owns the pending confirmation batches (state list). Must not answer back-filled
 * check-ins older than CHECKIN_STALE_MS, but records them. Member names only ever go
 * into text segments; @mentions are real at segments.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkin.h"

#define CHECKIN_STALE_MS (10LL * 60 * 1000)
#define MAKEUP_DAYS      7
#define AT_MARK          '\x01'

/* ---- confirmation batches ---- */

static struct checkin_batch *batch_by_id(struct qb_ctx *c, int64_t id)
{
    for (struct checkin_batch *b = checkin_st(c)->batches; b; b = b->next)
        if (b->id == id)
            return b;
    return NULL;
}

static struct checkin_batch *batch_of_group(struct qb_ctx *c, const char *group_id)
{
    for (struct checkin_batch *b = checkin_st(c)->batches; b; b = b->next)
        if (!strcmp(b->group_id, group_id))
            return b;
    return NULL;
}

static void batch_unlink(struct qb_ctx *c, struct checkin_batch *b)
{
    for (struct checkin_batch **p = &checkin_st(c)->batches; *p; p = &(*p)->next) {
        if (*p == b) {
            *p = b->next;
            return;
        }
    }
}

static void batch_free(struct checkin_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i].line);
    free(b);
}

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

/* One line: text with the member's @mention wherever the template said {at}. */
static int add_line(struct qb_msg *m, const char *line, const char *user_id)
{
    int rc = QB_OK;
    const char *p = line;
    for (const char *k; rc == QB_OK && (k = strchr(p, AT_MARK)); p = k + 1) {
        rc = add_text(m, p, (size_t)(k - p));
        if (rc == QB_OK)
            rc = qb_msg_at(m, user_id);
    }
    return rc == QB_OK ? add_text(m, p, strlen(p)) : rc;
}

static void batch_send(struct qb_ctx *c, struct checkin_batch *b)
{
    struct qb_msg m;
    qb_msg_init(&m);
    int rc = QB_OK;
    for (size_t i = 0; rc == QB_OK && i < b->n; i++) {
        if (i)
            rc = qb_msg_text(&m, "\n");
        if (rc == QB_OK)
            rc = add_line(&m, b->v[i].line, b->v[i].user_id);
    }
    if (rc == QB_OK && m.n && qb_msg_finish(&m) == QB_OK)
        qb_send_group(c, b->self_id, b->group_id, &m);
    qb_msg_clear(&m);
}

static void *id_ud(int64_t id)
{
    return (void *)(intptr_t)id;
}

static void batch_fire(struct qb_ctx *c, void *ud)
{
    struct checkin_batch *b = batch_by_id(c, (int64_t)(intptr_t)ud);
    if (!b)
        return;
    batch_unlink(c, b);
    batch_send(c, b);
    batch_free(b);
}

/* Queue a confirmation line (takes line); send at once when merging is off or full. */
static void confirm(struct qb_ctx *c, const struct qb_event *ev, int64_t merge_ms, char *line)
{
    struct checkin_state *st = checkin_st(c);
    struct checkin_batch *b = batch_of_group(c, ev->group_id);
    if (!b) {
        if (!(b = calloc(1, sizeof *b))) {
            free(line);
            return;
        }
        b->id = ++st->next_id;
        qb_id_set(b->self_id, ev->self_id);
        qb_id_set(b->group_id, ev->group_id);
        b->next = st->batches;
        st->batches = b;
        if (merge_ms > 0)
            b->timer = qb_timer_add(c, merge_ms, batch_fire, id_ud(b->id));
    }
    qb_id_set(b->v[b->n].user_id, ev->user_id);
    b->v[b->n++].line = line;
    if (merge_ms <= 0 || b->timer <= 0 || b->n == CHECKIN_BATCH_MAX) {
        qb_timer_cancel(c, b->timer);
        batch_fire(c, id_ud(b->id));
    }
}

void checkin_batches_free(struct qb_ctx *c)
{
    struct checkin_state *st = checkin_st(c);
    while (st->batches) {
        struct checkin_batch *b = st->batches;
        st->batches = b->next;
        qb_timer_cancel(c, b->timer);
        batch_free(b);
    }
}

/* ---- checking in ---- */

/* The window refusal for minute m of the day, or NULL when check-in is open. */
static const char *window_refusal(const struct checkin_settings *s, int m, char *buf, size_t n)
{
    int start = 0, end = 24 * 60;
    bool has_start = checkin_hhmm(s->window_start, &start);
    bool has_end = checkin_hhmm(s->window_end, &end);
    if ((!has_start && !has_end) || (m >= start && m < end))
        return NULL;
    const char *open = has_start ? s->window_start : "00:00";
    if (m < start)
        snprintf(buf, n, "还没到签到时间，%s 开始", open);
    else
        snprintf(buf, n, "签到时间是 %s–%s，明天 %s 再来吧", open,
                 has_end ? s->window_end : "24:00", open);
    return buf;
}

/* A copy of a member-supplied text that cannot contain the @ marker. Caller frees. */
static char *no_marker(const char *s)
{
    char *d = strdup(s ? s : "");
    for (char *p = d; p && *p; p++)
        if (*p == AT_MARK)
            *p = ' ';
    return d;
}

static bool seen_message(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!ev->message_id[0])
        return false;
    sqlite3_stmt *st = qb_stmt(c, "SELECT 1 FROM checkin_days WHERE platform = ?"
                                  " AND group_id = ? AND message_id = ?");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, ev->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->message_id, -1, SQLITE_TRANSIENT);
    bool seen = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return seen;
}

static int64_t day_count(struct qb_ctx *c, const char *platform, const char *group_id, int64_t day)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*) FROM checkin_days WHERE platform = ?"
                                  " AND group_id = ? AND daynum = ? AND makeup = 0");
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, day);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

struct row {
    const char *platform, *group_id, *user_id, *message_id, *name;
    struct checkin_day day;
    int64_t ts, ord, points;
    bool makeup;
};

/* Insert a day row. QB_OK, QB_EEXIST when the member already has that day, or QB_ESTORE. */
static int insert_day(struct qb_ctx *c, const struct row *r)
{
    sqlite3_stmt *st =
            qb_stmt(c, "INSERT INTO checkin_days(platform, group_id, user_id, day, daynum, ts, ord,"
                       " makeup, points, message_id, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT (platform, group_id, user_id, day) DO NOTHING");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_text(st, 1, r->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, r->day.date, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, r->day.num);
    sqlite3_bind_int64(st, 6, r->ts);
    sqlite3_bind_int64(st, 7, r->ord);
    sqlite3_bind_int(st, 8, r->makeup ? 1 : 0);
    sqlite3_bind_int64(st, 9, r->points);
    if (r->message_id && r->message_id[0])
        sqlite3_bind_text(st, 10, r->message_id, -1, SQLITE_TRANSIENT);
    if (r->name && r->name[0])
        sqlite3_bind_text(st, 11, r->name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(sqlite3_db_handle(st));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return QB_ESTORE;
    return changed ? QB_OK : QB_EEXIST;
}

static int64_t bonus_for(const struct checkin_settings *s, int64_t streak)
{
    int64_t b = (streak - 1) * s->streak_bonus;
    return b > s->streak_bonus_max ? s->streak_bonus_max : b;
}

/* The confirmation line for a fresh check-in, with the @ marker. Caller frees. */
static char *render_line(struct qb_ctx *c, const struct checkin_settings *s,
                         const struct qb_event *ev, const struct row *r, int64_t streak)
{
    int64_t total = qb_points_sum(c, ev->group_id, ev->user_id, 0, 0);
    char num[7][24];
    int64_t vals[7] = {r->ord,
                       streak,
                       checkin_longest(c, r->platform, r->group_id, r->user_id),
                       r->points,
                       total,
                       checkin_rank(c, ev->group_id, ev->user_id, total),
                       checkin_total_days(c, r->platform, r->group_id, r->user_id)};
    for (int i = 0; i < 7; i++)
        snprintf(num[i], sizeof num[i], "%lld", (long long)vals[i]);
    char *name = no_marker(ev->sender_name[0] ? ev->sender_name : ev->user_id);
    struct qb_tvar vars[] = {
            {"at", "\x01"},     {"name", name},      {"order", num[0]},
            {"streak", num[1]}, {"longest", num[2]}, {"points", num[3]},
            {"total", num[4]},  {"rank", num[5]},    {"days", num[6]},
    };
    char *line = qb_template_render(s->reply, vars, sizeof vars / sizeof vars[0]);
    free(name);
    return line;
}

static void audit(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                  const struct row *r, int64_t streak)
{
    char details[200];
    snprintf(details, sizeof details,
             "{\"day\":\"%s\",\"order\":%lld,\"streak\":%lld,\"points\":%lld,\"late\":%s}",
             r->day.date, (long long)r->ord, (long long)streak, (long long)r->points,
             ev && ev->backfilled ? "true" : "false");
    qb_audit(c, ev, what, details);
}

int checkin_do(struct qb_ctx *c, const struct qb_event *ev)
{
    const struct checkin_settings *s = checkin_cfg(c, ev->group_id);
    int64_t now = qb_now(c);
    int64_t at = ev->backfilled && ev->time_ms > 0 ? ev->time_ms : now;
    bool answer = !ev->backfilled || now - at <= CHECKIN_STALE_MS;
    if (!s || seen_message(c, ev)) /* the same message delivered again: already counted */
        return QB_HANDLED;
    char why[200];
    if (window_refusal(s, checkin_minute_of_day(c, ev->group_id, at), why, sizeof why)) {
        if (answer)
            checkin_tell(c, ev, why);
        return QB_HANDLED;
    }
    checkin_group_seen(c, ev->platform, ev->self_id, ev->group_id);
    struct row r = {.platform = ev->platform,
                    .group_id = ev->group_id,
                    .user_id = ev->user_id,
                    .message_id = ev->message_id,
                    .name = ev->sender_name,
                    .day = checkin_day_of(c, ev->group_id, at),
                    .ts = at};
    r.ord = day_count(c, r.platform, r.group_id, r.day.num) + 1;
    int64_t streak = checkin_streak_at(c, r.platform, r.group_id, r.user_id, r.day.num - 1) + 1;
    r.points = s->points + bonus_for(s, streak);
    int rc = insert_day(c, &r);
    if (rc == QB_EEXIST) {
        int64_t ord = 0;
        checkin_has_day(c, r.platform, r.group_id, r.user_id, r.day.num, &ord);
        snprintf(why, sizeof why, "今天已经签到过了（第 %lld 位，连续 %lld 天）", (long long)ord,
                 (long long)checkin_streak_at(c, r.platform, r.group_id, r.user_id, r.day.num));
        if (answer)
            checkin_tell(c, ev, why);
        return QB_HANDLED;
    }
    if (rc != QB_OK) {
        if (answer)
            checkin_tell(c, ev, "签到没能记下来，请稍后再试。");
        return QB_HANDLED;
    }
    if (r.points > 0) {
        char ref[QB_ID_MAX * 2 + 32];
        snprintf(ref, sizeof ref, "checkin:%s:%s:%s", r.group_id, r.user_id, r.day.date);
        qb_points_add(c, r.group_id, r.user_id, r.points, "签到", ref, NULL);
    }
    audit(c, ev, "checkin", &r, streak);
    if (!answer)
        return QB_HANDLED;
    char *line = render_line(c, s, ev, &r, streak);
    if (line)
        confirm(c, ev, s->merge_ms, line);
    return QB_HANDLED;
}

/* ---- 补签 ---- */

/* The most recent day within MAKEUP_DAYS before today the member missed, after having
 * checked in at least once before it. false if there is none. */
static bool makeup_target(struct qb_ctx *c, const struct qb_event *ev, struct checkin_day today,
                          struct checkin_day *out)
{
    for (int64_t k = 1; k <= MAKEUP_DAYS; k++) {
        struct checkin_day d = checkin_day_add(today, -k);
        if (checkin_has_day(c, ev->platform, ev->group_id, ev->user_id, d.num, NULL))
            continue;
        sqlite3_stmt *st = qb_stmt(c, "SELECT 1 FROM checkin_days WHERE platform = ?"
                                      " AND group_id = ? AND user_id = ? AND daynum < ?");
        if (!st)
            return false;
        sqlite3_bind_text(st, 1, ev->platform, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, ev->group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, ev->user_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, d.num);
        bool before = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
        if (before)
            *out = d;
        return before;
    }
    return false;
}

/* "11月21日" from "2026-11-21". */
static void date_words(const char *date, char *out, size_t n)
{
    int y, m, d;
    if (sscanf(date, "%d-%d-%d", &y, &m, &d) == 3)
        snprintf(out, n, "%d月%d日", m, d);
    else
        snprintf(out, n, "%s", date);
}

int checkin_cmd_makeup(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled) /* a paid request from while we were away: not acted on late */
        return QB_HANDLED;
    const struct checkin_settings *s = checkin_cfg(c, ev->group_id);
    char why[240];
    if (!s || !s->makeup_enabled) {
        checkin_tell(c, ev, "本群没有开启补签。");
        return QB_HANDLED;
    }
    int64_t now = qb_now(c);
    int64_t used = checkin_makeups_since(c, ev->platform, ev->group_id, ev->user_id,
                                         checkin_month_start(c, ev->group_id, now));
    if (used >= s->makeup_per_month) {
        snprintf(why, sizeof why, "本月的补签次数已经用完了（每月 %lld 次），下个月再来吧。",
                 (long long)s->makeup_per_month);
        checkin_tell(c, ev, why);
        return QB_HANDLED;
    }
    struct checkin_day today = checkin_day_of(c, ev->group_id, now), target;
    if (!makeup_target(c, ev, today, &target)) {
        checkin_tell(c, ev, "最近 7 天没有需要补签的日子。");
        return QB_HANDLED;
    }
    int64_t have = qb_points_sum(c, ev->group_id, ev->user_id, 0, 0);
    if (have < s->makeup_cost) {
        snprintf(why, sizeof why, "积分不够：补签要 %lld 分，你现在有 %lld 分。",
                 (long long)s->makeup_cost, (long long)have);
        checkin_tell(c, ev, why);
        return QB_HANDLED;
    }
    checkin_group_seen(c, ev->platform, ev->self_id, ev->group_id);
    struct row r = {.platform = ev->platform,
                    .group_id = ev->group_id,
                    .user_id = ev->user_id,
                    .name = ev->sender_name,
                    .day = target,
                    .ts = now,
                    .points = -s->makeup_cost,
                    .makeup = true};
    if (insert_day(c, &r) != QB_OK) {
        checkin_tell(c, ev, "补签没能记下来，请稍后再试。");
        return QB_HANDLED;
    }
    if (s->makeup_cost > 0) {
        char ref[QB_ID_MAX * 2 + 32];
        snprintf(ref, sizeof ref, "makeup:%s:%s:%s", r.group_id, r.user_id, target.date);
        qb_points_add(c, r.group_id, r.user_id, -s->makeup_cost, "补签", ref, NULL);
    }
    int64_t streak = checkin_streak_now(c, r.platform, r.group_id, r.user_id, today.num);
    audit(c, ev, "checkin.makeup", &r, streak);
    char day[32];
    date_words(target.date, day, sizeof day);
    snprintf(why, sizeof why,
             "补签成功：补上了 %s，扣 %lld 分；现在连续 %lld 天，本月还能补签 %lld 次。", day,
             (long long)s->makeup_cost, (long long)streak,
             (long long)(s->makeup_per_month - used - 1));
    checkin_tell(c, ev, why);
    return QB_HANDLED;
}
