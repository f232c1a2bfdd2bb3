/*
 * metrics_effects.c — the effect of talks, scheduled posts and broadcasts (活动效果): messages,
 * distinct speakers and joins in the local hours after each, against the same weekday and
 * hours of up to four previous weeks.
 *
 * Reads talks_talks, schedule_runs and broadcast_sends (a future broadcast plugin's table)
 * when they exist — a missing table means no moments — plus insight_activity and
 * insight_members. Never writes or logs. The caller frees the returned array.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

#define EFFECTS_MAX    50
#define BASELINE_WEEKS 4

struct counts {
    int64_t messages, speakers, joins;
};

/* What the measurement needs, prepared once. */
struct probe {
    const char *group_id, *tz;
    sqlite3_stmt *activity; /* messages and speakers between two local (day, hour) */
    int64_t *joins;         /* every known join time of the group, ascending */
    size_t n_joins;
    int64_t first_day; /* the group's first local day with activity; INT64_MAX none */
};

static int cmp_effect(const void *a, const void *b)
{
    const struct qb_insight_effect *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? 1 : -1;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->label, y->label);
}

/* Append the moments sql gives (rows: label, ts; ?1 group, ?2 from, ?3 to). */
static int moments_of(sqlite3 *db, const char *sql, const char *kind, const char *group_id,
                      int64_t from, int64_t to, struct qb_insight_effect **v, size_t *n,
                      size_t *cap, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db, sql, &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            struct qb_insight_effect *nv = realloc(*v, nc * sizeof *nv);
            if (!nv) {
                rc = QB_ENOMEM;
                break;
            }
            *v = nv;
            *cap = nc;
        }
        struct qb_insight_effect *e = &(*v)[(*n)++];
        memset(e, 0, sizeof *e);
        snprintf(e->kind, sizeof e->kind, "%s", kind);
        const char *label = (const char *)sqlite3_column_text(st, 0);
        snprintf(e->label, sizeof e->label, "%s", label ? label : "");
        e->ts = sqlite3_column_int64(st, 1);
        e->window_h = QB_INSIGHT_EFFECT_WINDOW_H;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Talks, posts and broadcasts with ts in [from, to), newest first, at most EFFECTS_MAX. */
static int moments(sqlite3 *db, const char *group_id, int64_t from, int64_t to,
                   struct qb_insight_effect **v, size_t *n, char *err, size_t errlen)
{
    size_t cap = 0;
    int rc = QB_OK;
    if (ins_table_exists(db, "talks_talks"))
        rc = moments_of(db,
                        "SELECT topic, start_ms FROM talks_talks WHERE group_id = ?1 AND status"
                        " <> 'cancelled' AND start_ms >= ?2 AND start_ms < ?3"
                        " ORDER BY start_ms DESC LIMIT 50",
                        "talk", group_id, from, to, v, n, &cap, err, errlen);
    if (rc == QB_OK && ins_table_exists(db, "schedule_runs"))
        rc = moments_of(db,
                        "SELECT name, ts FROM schedule_runs WHERE group_id = ?1 AND outcome ="
                        " 'sent' AND ts >= ?2 AND ts < ?3 ORDER BY ts DESC LIMIT 50",
                        "post", group_id, from, to, v, n, &cap, err, errlen);
    if (rc == QB_OK && ins_table_exists(db, "broadcast_sends"))
        rc = moments_of(db,
                        "SELECT name, ts FROM broadcast_sends WHERE group_id = ?1 AND ts >= ?2"
                        " AND ts < ?3 ORDER BY ts DESC LIMIT 50",
                        "broadcast", group_id, from, to, v, n, &cap, err, errlen);
    if (rc == QB_OK && *n > 1)
        qsort(*v, *n, sizeof **v, cmp_effect);
    if (*n > EFFECTS_MAX)
        *n = EFFECTS_MAX;
    return rc;
}

static int probe_open(sqlite3 *db, struct probe *p, char *err, size_t errlen)
{
    int rc = ins_prepare(db,
                         "SELECT COALESCE(SUM(messages), 0), COUNT(DISTINCT user_id) FROM"
                         " insight_activity WHERE group_id = ?1 AND" INS_IN_RANGE,
                         &p->activity, err, errlen);
    sqlite3_stmt *st = NULL;
    if (rc == QB_OK)
        rc = ins_prepare(db, "SELECT MIN(day) FROM insight_activity WHERE group_id = ?1", &st, err,
                         errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, p->group_id, -1, SQLITE_TRANSIENT);
    p->first_day = INT64_MAX;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        int64_t d = ins_civil_parse((const char *)sqlite3_column_text(st, 0));
        p->first_day = d == INT64_MIN ? INT64_MAX : d;
    }
    sqlite3_finalize(st);
    rc = ins_prepare(db,
                     "SELECT joined_ms FROM insight_members WHERE group_id = ?1 AND joined_ms > 0"
                     " ORDER BY joined_ms",
                     &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, p->group_id, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (p->n_joins == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *nv = realloc(p->joins, cap * sizeof *nv);
            if (!nv) {
                rc = QB_ENOMEM;
                break;
            }
            p->joins = nv;
        }
        p->joins[p->n_joins++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

static void probe_close(struct probe *p)
{
    sqlite3_finalize(p->activity);
    free(p->joins);
}

/* Joins at or after ms: index of the first join time >= ms. */
static size_t joins_from(const struct probe *p, int64_t ms)
{
    size_t lo = 0, hi = p->n_joins;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->joins[mid] < ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The window of window_h local hours starting at local hour `hour` of civil day `day`;
 * joins counted from start_ms for as many hours. */
static void measure(struct probe *p, int64_t day, int hour, int window_h, int64_t start_ms,
                    struct counts *c)
{
    struct ins_bounds b;
    int last = hour + window_h - 1;
    b.day0 = day;
    b.h0 = hour;
    b.day1 = day + last / 24;
    b.h1 = last % 24;
    ins_civil_fmt(b.day0, b.d0);
    ins_civil_fmt(b.day1, b.d1);
    sqlite3_reset(p->activity);
    ins_bind_bounds(p->activity, p->group_id, &b);
    c->messages = c->speakers = 0;
    if (sqlite3_step(p->activity) == SQLITE_ROW) {
        c->messages = sqlite3_column_int64(p->activity, 0);
        c->speakers = sqlite3_column_int64(p->activity, 1);
    }
    sqlite3_reset(p->activity);
    int64_t end_ms = start_ms + (int64_t)window_h * INS_HOUR_MS;
    c->joins = (int64_t)(joins_from(p, end_ms) - joins_from(p, start_ms));
}

/* One moment against its baseline weeks. */
static void effect_of(struct probe *p, struct qb_insight_effect *e)
{
    int hour = 0;
    int64_t day = ins_local_day(p->tz, e->ts, &hour);
    int64_t into_day = e->ts - ins_day_start_ms(p->tz, day);
    struct counts c, sum = {0, 0, 0};
    measure(p, day, hour, e->window_h, e->ts, &c);
    e->messages = c.messages;
    e->speakers = c.speakers;
    e->joins = c.joins;
    for (int w = 1; w <= BASELINE_WEEKS; w++) {
        int64_t bd = day - 7 * w;
        if (bd < p->first_day)
            break; /* the bot was not recording this group yet */
        measure(p, bd, hour, e->window_h, ins_day_start_ms(p->tz, bd) + into_day, &c);
        sum.messages += c.messages;
        sum.speakers += c.speakers;
        sum.joins += c.joins;
        e->base_weeks++;
    }
    e->base_messages = e->base_speakers = e->base_joins = e->lift = -1;
    if (e->base_weeks > 0) {
        double k = (double)e->base_weeks;
        e->base_messages = (double)sum.messages / k;
        e->base_speakers = (double)sum.speakers / k;
        e->base_joins = (double)sum.joins / k;
        if (e->base_messages > 0)
            e->lift = (double)e->messages / e->base_messages;
    }
}

int qb_insight_effects(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       int64_t now_ms, struct qb_insight_effect **out, size_t *n, char *err,
                       size_t errlen)
{
    *out = NULL;
    *n = 0;
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    /* measurable: ts + window <= now, i.e. ts < now - window + 1 */
    int64_t to = now_ms - QB_INSIGHT_EFFECT_WINDOW_H * INS_HOUR_MS + 1;
    if (to > r->until_ms)
        to = r->until_ms;
    struct qb_insight_effect *v = NULL;
    size_t nv = 0;
    if (to > r->since_ms)
        rc = moments(db, group_id, r->since_ms, to, &v, &nv, err, errlen);
    struct probe p = {.group_id = group_id, .tz = r->tz};
    if (rc == QB_OK && nv > 0) {
        rc = probe_open(db, &p, err, errlen);
        for (size_t i = 0; rc == QB_OK && i < nv; i++)
            effect_of(&p, &v[i]);
        probe_close(&p);
    }
    if (rc != QB_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return QB_OK;
}
