/*
 * metrics_members.c — member-level figures: every member's counts for a range, lifecycle
 * stage, conversation-graph rank and value score (qb_insight_members), silent members and
 * join-week retention cohorts.
 *
 * Reads the insight tables and, when present, points_ledger, talks_*, signup_*; a missing
 * table counts as zero. Never writes or logs. Formulas are documented in docs/INSIGHT.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "util/util.h"

const char *qb_insight_stage_name(enum qb_insight_stage s)
{
    static const char *const names[QB_STAGE__COUNT] = {"围观者", "关注者", "消费者", "传播者",
                                                       "合作者"};
    return s >= 0 && s < QB_STAGE__COUNT ? names[s] : "未知";
}

void qb_insight_stages_default(struct qb_insight_stages *s)
{
    s->follower_messages = 1;
    s->participant_actions = 3;
    s->spreader_invites = 1;
    s->spreader_replied_by = 5;
}

/* Members being filled, sorted by user id, with the figures the struct has no room for. */
struct roster {
    struct qb_insight_member *m;
    int64_t *repliers; /* distinct members who replied to or @ each member */
    size_t n;
};

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const struct qb_insight_member *)a)->user_id,
                  ((const struct qb_insight_member *)b)->user_id);
}

static long find(const struct roster *ro, const char *user_id)
{
    if (!user_id)
        return -1;
    size_t lo = 0, hi = ro->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ro->m[mid].user_id, user_id);
        if (!c)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int load_roster(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       struct roster *ro, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT user_id, COALESCE(name, ''), joined_ms, last_msg_ms, is_admin"
                         " FROM insight_members WHERE group_id = ?1 AND (left_ms = 0 OR left_ms"
                         " >= ?2) AND COALESCE(NULLIF(joined_ms, 0), NULLIF(first_msg_ms, 0), 0)"
                         " < ?3 ORDER BY user_id",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (ro->n == cap) {
            cap = cap ? cap * 2 : 64;
            struct qb_insight_member *nm = realloc(ro->m, cap * sizeof *nm);
            if (!nm) {
                sqlite3_finalize(st);
                return QB_ENOMEM;
            }
            ro->m = nm;
        }
        struct qb_insight_member *m = &ro->m[ro->n++];
        memset(m, 0, sizeof *m);
        qb_id_set(m->user_id, (const char *)sqlite3_column_text(st, 0));
        snprintf(m->name, sizeof m->name, "%s", (const char *)sqlite3_column_text(st, 1));
        m->joined_ms = sqlite3_column_int64(st, 2);
        m->last_msg_ms = sqlite3_column_int64(st, 3);
        m->admin = sqlite3_column_int(st, 4) != 0;
    }
    sqlite3_finalize(st);
    ro->repliers = calloc(ro->n ? ro->n : 1, sizeof *ro->repliers);
    if (!ro->repliers)
        return QB_ENOMEM;
    if (ro->n > 1) /* sqlite's order is binary too; be sure */
        qsort(ro->m, ro->n, sizeof *ro->m, cmp_member);
    return QB_OK;
}

/* Run sql (?1 group, ?2 since, ?3 until) whose rows are (user_id, number) and add the
 * number to the int64_t at offset off of each member found; off == SIZE_MAX: repliers. */
static int add_by_user(sqlite3 *db, const char *sql, const char *group_id,
                       const struct qb_insight_range *r, struct roster *ro, size_t off, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db, sql, &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        long i = find(ro, (const char *)sqlite3_column_text(st, 0));
        if (i < 0)
            continue;
        int64_t v = sqlite3_column_int64(st, 1);
        if (off == SIZE_MAX)
            ro->repliers[i] += v;
        else
            *(int64_t *)(void *)((char *)&ro->m[i] + off) += v;
    }
    sqlite3_finalize(st);
    return QB_OK;
}

static int range_messages(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                          struct roster *ro, char *err, size_t errlen)
{
    struct ins_bounds b;
    ins_bounds_of(r, &b);
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db, "SELECT user_id, messages FROM" INS_MEMBER_DAYS, &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    ins_bind_bounds(st, group_id, &b);
    while (sqlite3_step(st) == SQLITE_ROW) {
        long i = find(ro, (const char *)sqlite3_column_text(st, 0));
        if (i >= 0)
            ro->m[i].messages += sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return QB_OK;
}

static bool listed(const char *csv, const char *id)
{
    size_t l = strlen(id);
    for (const char *p = csv; l && p && *p;) {
        const char *comma = strchr(p, ',');
        size_t pl = comma ? (size_t)(comma - p) : strlen(p);
        while (pl && *p == ' ')
            p++, pl--;
        if (pl == l && !strncmp(p, id, l))
            return true;
        p += pl + (comma ? 1 : 0);
    }
    return false;
}

static int mark_speakers(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                         struct roster *ro, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT speakers FROM talks_talks WHERE group_id = ?1 AND status <>"
                         " 'cancelled' AND start_ms < ?2",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->until_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *sp = (const char *)sqlite3_column_text(st, 0);
        for (size_t i = 0; sp && i < ro->n; i++)
            if (listed(sp, ro->m[i].user_id))
                ro->m[i].speaker = true;
    }
    sqlite3_finalize(st);
    return QB_OK;
}

/* Everything other plugins know; tables that are absent are skipped. */
static int other_figures(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                         struct roster *ro, char *err, size_t errlen)
{
    int rc = QB_OK;
    if (ins_table_exists(db, "points_ledger"))
        rc = add_by_user(db,
                         "SELECT user_id, COUNT(*) FROM points_ledger WHERE group_id = ?1 AND"
                         " source = 'checkin' AND delta > 0 AND ts >= ?2 AND ts < ?3"
                         " GROUP BY user_id",
                         group_id, r, ro, offsetof(struct qb_insight_member, checkins), err,
                         errlen);
    if (rc == QB_OK && ins_table_exists(db, "talks_talks") &&
        ins_table_exists(db, "talks_attendance"))
        rc = add_by_user(db,
                         "SELECT a.user_id, COUNT(*) FROM talks_attendance a JOIN talks_talks t"
                         " ON t.id = a.talk_id WHERE t.group_id = ?1 AND t.status <> 'cancelled'"
                         " AND t.start_ms >= ?2 AND t.start_ms < ?3 GROUP BY a.user_id",
                         group_id, r, ro, offsetof(struct qb_insight_member, talks_attended), err,
                         errlen);
    if (rc == QB_OK && ins_table_exists(db, "talks_talks"))
        rc = mark_speakers(db, group_id, r, ro, err, errlen);
    if (rc == QB_OK && ins_table_exists(db, "signup_entries") &&
        ins_table_exists(db, "signup_lists"))
        rc = add_by_user(db,
                         "SELECT e.user_id, COUNT(*) FROM signup_entries e JOIN signup_lists l"
                         " ON l.id = e.list_id WHERE l.group_id = ?1 AND e.ts >= ?2 AND e.ts < ?3"
                         " GROUP BY e.user_id",
                         group_id, r, ro, offsetof(struct qb_insight_member, signups), err, errlen);
    return rc;
}

/* One pass over the conversation graph's edges touched since the range start (in key
 * order, so the kinds of one src → dst pair are adjacent): replies and @s received, the
 * distinct members who replied to / @ each member, and the edges for PageRank. */
struct edges {
    struct qb_insight_edge *e;
    size_t n, cap;
};

static int read_edges(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                      struct roster *ro, struct edges *g, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT src, dst, kind, n FROM insight_edges WHERE group_id = ?1"
                         " AND src <> dst AND last_ms >= ?2 ORDER BY src, dst",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    char prev[2][QB_ID_MAX] = {"", ""};
    while (rc == QB_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *src = (const char *)sqlite3_column_text(st, 0);
        const char *dst = (const char *)sqlite3_column_text(st, 1);
        const char *kind = (const char *)sqlite3_column_text(st, 2);
        int64_t n = sqlite3_column_int64(st, 3);
        long d = find(ro, dst);
        if (!src || d < 0 || n <= 0)
            continue;
        if (kind && !strcmp(kind, "reply"))
            ro->m[d].replies_received += n;
        else if (kind && !strcmp(kind, "at"))
            ro->m[d].mentions_received += n;
        if (strcmp(prev[0], src) || strcmp(prev[1], dst)) /* a new pair: one more replier */
            ro->repliers[d]++;
        qb_strlcpy(prev[0], src, sizeof prev[0]);
        qb_strlcpy(prev[1], dst, sizeof prev[1]);
        long s = find(ro, src); /* a member who left before the range: not in the graph */
        if (s < 0)
            continue;
        ro->m[s].degree += (double)n;
        ro->m[d].degree += (double)n;
        rc = ins_edge_add(&g->e, &g->n, &g->cap, (size_t)s, (size_t)d, (double)n);
    }
    sqlite3_finalize(st);
    return rc;
}

static int insight_figures(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                           struct roster *ro, struct edges *g, char *err, size_t errlen)
{
    int rc = range_messages(db, group_id, r, ro, err, errlen);
    if (rc == QB_OK)
        rc = read_edges(db, group_id, r, ro, g, err, errlen);
    if (rc == QB_OK)
        rc = add_by_user(db,
                         "SELECT inviter, COUNT(*) FROM insight_members WHERE group_id = ?1 AND"
                         " inviter IS NOT NULL AND inviter <> user_id AND joined_ms > 0 AND"
                         " joined_ms + 604800000 <= ?3 AND (left_ms = 0 OR left_ms >= joined_ms"
                         " + 604800000) AND ?2 = ?2 GROUP BY inviter",
                         group_id, r, ro, offsetof(struct qb_insight_member, invites_stayed), err,
                         errlen);
    return rc;
}

/* PageRank over the roster's edges. */
static int graph(struct roster *ro, const struct edges *g)
{
    double *rank = ro->n ? malloc(ro->n * sizeof *rank) : NULL;
    if (ro->n && !rank)
        return QB_ENOMEM;
    qb_insight_pagerank(ro->n, g->e, g->n, 0.85, rank);
    for (size_t i = 0; i < ro->n; i++)
        ro->m[i].pagerank = rank[i];
    free(rank);
    return QB_OK;
}

static enum qb_insight_stage stage_of(const struct qb_insight_member *m, int64_t repliers,
                                      const struct qb_insight_stages *st)
{
    int64_t actions = m->checkins + m->talks_attended + m->signups;
    if (m->admin || m->speaker)
        return QB_STAGE_PARTNER;
    if ((st->spreader_invites > 0 && m->invites_stayed >= st->spreader_invites) ||
        (st->spreader_replied_by > 0 && repliers >= st->spreader_replied_by))
        return QB_STAGE_SPREADER;
    if (st->participant_actions > 0 && actions >= st->participant_actions)
        return QB_STAGE_PARTICIPANT;
    if (m->messages > 0 && m->messages >= st->follower_messages)
        return QB_STAGE_FOLLOWER;
    return QB_STAGE_ONLOOKER;
}

/* value = 100 × (0.4 recency + 0.35 frequency + 0.25 contribution), each in 0..1:
 * recency = exp(-days since the last message / 14) (0 if never spoke), frequency =
 * min(1, ln(1 + messages) / ln(101)), contribution = min(1, (distinct repliers + 2 ×
 * invites stayed + check-ins + talks attended + sign-ups + 5 if speaker) / 10). */
static void value_of(struct qb_insight_member *m, int64_t repliers, int64_t until_ms)
{
    double rec = 0;
    int64_t ago = -1;
    if (m->last_msg_ms > 0) {
        int64_t last = m->last_msg_ms < until_ms ? m->last_msg_ms : until_ms;
        ago = (until_ms - last) / INS_DAY_MS;
        rec = exp(-(double)(until_ms - last) / (double)INS_DAY_MS / 14.0);
    }
    double freq = fmin(1.0, log1p((double)m->messages) / log(101.0));
    double contrib = (double)(repliers + 2 * m->invites_stayed + m->checkins + m->talks_attended +
                              m->signups + (m->speaker ? 5 : 0));
    contrib = fmin(1.0, contrib / 10.0);
    m->value = round(1000.0 * (0.4 * rec + 0.35 * freq + 0.25 * contrib)) / 10.0;
    char last[48];
    if (ago < 0)
        snprintf(last, sizeof last, "从未发言");
    else if (ago == 0)
        snprintf(last, sizeof last, "今天发过言");
    else
        snprintf(last, sizeof last, "最近 %lld 天前发言", (long long)ago);
    int n = snprintf(m->value_why, sizeof m->value_why, "%s · 本期 %lld 条 · 被 %lld 人回复/@",
                     last, (long long)m->messages, (long long)repliers);
    size_t len = n > 0 ? (size_t)n : 0;
    if (len < sizeof m->value_why && m->invites_stayed > 0)
        snprintf(m->value_why + len, sizeof m->value_why - len, " · 邀请 %lld 人留下",
                 (long long)m->invites_stayed);
}

static int cmp_value(const void *a, const void *b)
{
    const struct qb_insight_member *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? 1 : -1;
    if (x->messages != y->messages)
        return x->messages < y->messages ? 1 : -1;
    return strcmp(x->user_id, y->user_id);
}

int qb_insight_members(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       const struct qb_insight_stages *st, struct qb_insight_member **out,
                       size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    struct qb_insight_stages def;
    if (!st) {
        qb_insight_stages_default(&def);
        st = &def;
    }
    struct roster ro = {0};
    struct edges g = {0};
    rc = load_roster(db, group_id, r, &ro, err, errlen);
    if (rc == QB_OK)
        rc = insight_figures(db, group_id, r, &ro, &g, err, errlen);
    if (rc == QB_OK)
        rc = other_figures(db, group_id, r, &ro, err, errlen);
    if (rc == QB_OK)
        rc = graph(&ro, &g);
    free(g.e);
    if (rc != QB_OK) {
        free(ro.m);
        free(ro.repliers);
        return rc;
    }
    for (size_t i = 0; i < ro.n; i++) {
        ro.m[i].stage = stage_of(&ro.m[i], ro.repliers[i], st);
        value_of(&ro.m[i], ro.repliers[i], r->until_ms);
    }
    free(ro.repliers);
    if (ro.n > 1)
        qsort(ro.m, ro.n, sizeof *ro.m, cmp_value);
    *out = ro.m;
    *n = ro.n;
    return QB_OK;
}

/* ---- silent members ---- */

int qb_insight_silent(sqlite3 *db, const char *group_id, int64_t now_ms, int days,
                      struct qb_insight_member **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    struct qb_insight_range r = {0, now_ms > 0 ? now_ms : 1, NULL};
    int rc = ins_check_args(db, group_id, &r, err, errlen);
    if (rc != QB_OK)
        return rc;
    if (days < 1) {
        ins_err(err, errlen, "沉默天数至少是 1 天");
        return QB_EINVAL;
    }
    sqlite3_stmt *st = NULL;
    rc = ins_prepare(db,
                     "SELECT user_id, COALESCE(name, ''), joined_ms, last_msg_ms, messages,"
                     " is_admin, COALESCE(NULLIF(last_msg_ms, 0), joined_ms) AS seen"
                     " FROM insight_members WHERE group_id = ?1 AND left_ms = 0"
                     " AND COALESCE(NULLIF(last_msg_ms, 0), joined_ms) > 0"
                     " AND COALESCE(NULLIF(last_msg_ms, 0), joined_ms) <= ?2"
                     " ORDER BY seen, user_id",
                     &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now_ms - (int64_t)days * INS_DAY_MS);
    size_t cap = 0;
    struct qb_insight_member *v = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            struct qb_insight_member *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                sqlite3_finalize(st);
                *n = 0;
                return QB_ENOMEM;
            }
            v = nv;
        }
        struct qb_insight_member *m = &v[(*n)++];
        memset(m, 0, sizeof *m);
        qb_id_set(m->user_id, (const char *)sqlite3_column_text(st, 0));
        snprintf(m->name, sizeof m->name, "%s", (const char *)sqlite3_column_text(st, 1));
        m->joined_ms = sqlite3_column_int64(st, 2);
        m->last_msg_ms = sqlite3_column_int64(st, 3);
        m->messages = sqlite3_column_int64(st, 4);
        m->admin = sqlite3_column_int(st, 5) != 0;
        long long quiet = (long long)((now_ms - sqlite3_column_int64(st, 6)) / INS_DAY_MS);
        if (m->last_msg_ms > 0)
            snprintf(m->value_why, sizeof m->value_why, "已 %lld 天没发言", quiet);
        else
            snprintf(m->value_why, sizeof m->value_why, "入群 %lld 天从未发言", quiet);
    }
    sqlite3_finalize(st);
    *out = v;
    return QB_OK;
}

/* ---- cohorts ---- */

static const int cohort_weeks[4] = {1, 2, 4, 8};

static bool active_between(sqlite3_stmt *st, const char *group_id, const char *user_id, int64_t d0,
                           int64_t d1)
{
    char a[11], b[11];
    ins_civil_fmt(d0, a);
    ins_civil_fmt(d1, b);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, b, -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_ROW;
}

int qb_insight_cohorts(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       int64_t now_ms, struct qb_insight_cohort **out, size_t *n, char *err,
                       size_t errlen)
{
    *out = NULL;
    *n = 0;
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_stmt *st = NULL, *act = NULL;
    rc = ins_prepare(db,
                     "SELECT user_id, joined_ms FROM insight_members WHERE group_id = ?1"
                     " AND joined_ms >= ?2 AND joined_ms < ?3 ORDER BY joined_ms, user_id",
                     &st, err, errlen);
    if (rc == QB_OK)
        rc = ins_prepare(db,
                         "SELECT 1 FROM insight_member_days WHERE group_id = ?1 AND user_id = ?2"
                         " AND day >= ?3 AND day <= ?4 LIMIT 1",
                         &act, err, errlen);
    if (rc != QB_OK) {
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    int64_t today = ins_local_day(r->tz, now_ms, NULL);
    struct qb_insight_cohort *v = NULL;
    size_t cap = 0;
    int64_t cur_monday = INT64_MIN;
    while (rc == QB_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *user = (const char *)sqlite3_column_text(st, 0);
        int64_t jd = ins_local_day(r->tz, sqlite3_column_int64(st, 1), NULL);
        int64_t monday = jd - ((jd + 3) % 7 + 7) % 7;
        if (monday != cur_monday) { /* joins are in time order: a new week starts a cohort */
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                struct qb_insight_cohort *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    rc = QB_ENOMEM;
                    break;
                }
                v = nv;
            }
            struct qb_insight_cohort *c = &v[(*n)++];
            memset(c, 0, sizeof *c);
            ins_civil_fmt(monday, c->week);
            for (int k = 0; k < 4; k++)
                c->active[k] = today < monday + 7 * cohort_weeks[k] ? -1 : 0;
            cur_monday = monday;
        }
        struct qb_insight_cohort *c = &v[*n - 1];
        c->joined++;
        for (int k = 0; k < 4; k++) {
            int64_t from = jd + 7 * cohort_weeks[k];
            if (c->active[k] >= 0 && active_between(act, group_id, user, from, from + 6))
                c->active[k]++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_finalize(act);
    if (rc != QB_OK) {
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return QB_OK;
}
