/*
 * metrics.c — group-level engagement figures over the insight rollup tables: the range
 * parser, the overview (messages, DAU/WAU/MAU, joins, check-ins, talks, moderation,
 * response times) and the weekday × hour heatmap, plus the helpers the other metric files
 * share (civil days, local time, bounds on the hourly rollup).
 *
 * Reads only; never logs; errors come back as QB_* codes with a reason for admins.
 * Tables of other plugins may be absent: their figures are then zero.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "util/util.h"

/* ---- civil days (Howard Hinnant's days-from-civil arithmetic) ---- */

int64_t ins_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ins_civil_fmt(int64_t days, char out[11])
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

int64_t ins_civil_parse(const char *s)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31)
        return INT64_MIN;
    return ins_civil(y, m, d);
}

/* ---- local time in a named zone (TZ switched for the call, as the scheduler does) ---- */

struct tz_saved {
    char *old;
};

static void tz_enter(const char *tz, struct tz_saved *s)
{
    const char *old = getenv("TZ");
    s->old = old ? strdup(old) : NULL;
    setenv("TZ", tz && *tz ? tz : "UTC", 1);
    tzset();
}

static void tz_leave(struct tz_saved *s)
{
    if (s->old)
        setenv("TZ", s->old, 1);
    else
        unsetenv("TZ");
    free(s->old);
    tzset();
}

int ins_local(const char *tz, int64_t ms, struct tm *out)
{
    struct tz_saved s;
    tz_enter(tz, &s);
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm *r = localtime_r(&t, out);
    tz_leave(&s);
    return r ? QB_OK : QB_EINVAL;
}

int64_t ins_local_day(const char *tz, int64_t ms, int *hour)
{
    struct tm tm;
    if (ins_local(tz, ms, &tm) != QB_OK) {
        memset(&tm, 0, sizeof tm);
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }
    if (hour)
        *hour = tm.tm_hour;
    return ins_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int64_t ins_day_start_ms(const char *tz, int64_t day)
{
    char d[11];
    ins_civil_fmt(day, d);
    struct tm tm = {0};
    sscanf(d, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    struct tz_saved s;
    tz_enter(tz, &s);
    time_t t = mktime(&tm);
    tz_leave(&s);
    return t == (time_t)-1 ? day * INS_DAY_MS : (int64_t)t * 1000;
}

void ins_bounds_of(const struct qb_insight_range *r, struct ins_bounds *b)
{
    b->day0 = ins_local_day(r->tz, r->since_ms, &b->h0);
    b->day1 = ins_local_day(r->tz, r->until_ms - 1, &b->h1);
    ins_civil_fmt(b->day0, b->d0);
    ins_civil_fmt(b->day1, b->d1);
}

void ins_bind_bounds(sqlite3_stmt *st, const char *group_id, const struct ins_bounds *b)
{
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, b->d0, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, b->h0);
    sqlite3_bind_text(st, 4, b->d1, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, b->h1);
}

void ins_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int ins_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return QB_OK;
    ins_err(err, errlen, "读取数据库失败（%s）：请确认已启用 insight 插件并运行过机器人",
            sqlite3_errmsg(db));
    return QB_ESTORE;
}

int ins_count(sqlite3 *db, const char *sql, const char *group_id, int64_t a, int64_t b,
              int64_t *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    int rc = ins_prepare(db, sql, &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return QB_OK;
}

bool ins_table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

int ins_check_args(sqlite3 *db, const char *group_id, const struct qb_insight_range *r, char *err,
                   size_t errlen)
{
    if (!db || !group_id || !*group_id || !r || r->until_ms <= r->since_ms) {
        ins_err(err, errlen, "参数不对：需要群号和一个有效的时间段");
        return QB_EINVAL;
    }
    if (!ins_table_exists(db, "insight_activity")) {
        ins_err(err, errlen, "数据库里还没有分析数据：请先开启 insight 插件运行机器人");
        return QB_ENOENT;
    }
    return QB_OK;
}

/* ---- member ids → dense indexes ---- */

uint64_t ins_hash(const char *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return h;
}

int ins_edge_add(struct qb_insight_edge **e, size_t *n, size_t *cap, size_t s, size_t d, double w)
{
    if (*n && (*e)[*n - 1].src == s && (*e)[*n - 1].dst == d) {
        (*e)[*n - 1].w += w;
        return QB_OK;
    }
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        struct qb_insight_edge *nv = realloc(*e, ncap * sizeof *nv);
        if (!nv)
            return QB_ENOMEM;
        *e = nv;
        *cap = ncap;
    }
    (*e)[(*n)++] = (struct qb_insight_edge){s, d, w};
    return QB_OK;
}

static int ids_grow(struct ins_ids *ids)
{
    size_t cap = ids->cap ? ids->cap * 2 : 1024;
    int64_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return QB_ENOMEM;
    for (size_t i = 0; i < ids->n; i++) {
        size_t j = ins_hash(ids->keys[i]) & (cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = (int64_t)i + 1;
    }
    free(ids->slot);
    ids->slot = slot;
    ids->cap = cap;
    return QB_OK;
}

int64_t ins_ids_get(struct ins_ids *ids, const char *id)
{
    if (!id)
        id = "";
    if ((ids->n + 1) * 2 > ids->cap && ids_grow(ids) != QB_OK)
        return -1;
    size_t j = ins_hash(id) & (ids->cap - 1);
    for (; ids->slot[j]; j = (j + 1) & (ids->cap - 1))
        if (!strcmp(ids->keys[ids->slot[j] - 1], id))
            return ids->slot[j] - 1;
    if (ids->n == ids->cap_keys) {
        size_t cap = ids->cap_keys ? ids->cap_keys * 2 : 512;
        char(*keys)[QB_ID_MAX] = realloc(ids->keys, cap * sizeof *keys);
        if (!keys)
            return -1;
        ids->keys = keys;
        ids->cap_keys = cap;
    }
    qb_strlcpy(ids->keys[ids->n], id, QB_ID_MAX);
    ids->slot[j] = (int64_t)ids->n + 1;
    return (int64_t)ids->n++;
}

void ins_ids_free(struct ins_ids *ids)
{
    free(ids->keys);
    free(ids->slot);
    memset(ids, 0, sizeof *ids);
}

/* ---- the range ---- */

int qb_insight_range_parse(const char *since, int64_t now_ms, const char *tz,
                           struct qb_insight_range *r, char *err, size_t errlen)
{
    char *end = NULL;
    long n = since ? strtol(since, &end, 10) : 0;
    char unit = end ? end[0] : 0;
    bool ok = since && end != since && n > 0 && (unit == 'd' || unit == 'w' || unit == 'h') &&
              end[1] == '\0';
    if (ok &&
        ((unit == 'h' && n > 24 * 3650) || (unit == 'd' && n > 3650) || (unit == 'w' && n > 520)))
        ok = false;
    if (!ok) {
        ins_err(err, errlen, "时间段“%s”看不懂：请写成 7d、30d、12w 或 24h（天 d、周 w、小时 h）",
                since ? since : "");
        return QB_EINVAL;
    }
    r->tz = tz;
    r->until_ms = now_ms;
    if (unit == 'h') {
        r->since_ms = now_ms - (int64_t)n * INS_HOUR_MS;
        return QB_OK;
    }
    int64_t days = unit == 'w' ? (int64_t)n * 7 : (int64_t)n;
    int64_t today = ins_local_day(tz, now_ms, NULL);
    r->since_ms = ins_day_start_ms(tz, today - days + 1);
    return QB_OK;
}

/* ---- overview ---- */

/* Per member, a bit per day from 29 days before the range through its end. */
struct day_bits {
    struct ins_ids ids;
    unsigned char *seen; /* ids.n rows of ndays bytes */
    size_t rows;
    int64_t ndays;
};

static int day_bits_set(struct day_bits *db, const char *user, int64_t d)
{
    int64_t u = ins_ids_get(&db->ids, user);
    if (u < 0)
        return QB_ENOMEM;
    if ((size_t)u >= db->rows) {
        size_t rows = db->rows ? db->rows * 2 : 256;
        unsigned char *seen = realloc(db->seen, rows * (size_t)db->ndays);
        if (!seen)
            return QB_ENOMEM;
        memset(seen + db->rows * (size_t)db->ndays, 0, (rows - db->rows) * (size_t)db->ndays);
        db->seen = seen;
        db->rows = rows;
    }
    if (d >= 0 && d < db->ndays)
        db->seen[(size_t)u * (size_t)db->ndays + (size_t)d] = 1;
    return QB_OK;
}

/* Average DAU, trailing-7-day WAU and trailing-30-day MAU over the range's days, from the
 * days each member spoke (daily rollup, and the hourly one for the range's last day). */
static int active_windows(sqlite3 *db, const char *group_id, const struct ins_bounds *b,
                          struct qb_insight_overview *o, char *err, size_t errlen)
{
    int64_t first = b->day0 - 29, nrange = b->day1 - b->day0 + 1;
    char d_first[11];
    ins_civil_fmt(first, d_first);
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT user_id, day FROM insight_member_days WHERE group_id = ?1"
                         " AND day >= ?2 AND day < ?3 UNION ALL SELECT user_id, day FROM"
                         " insight_activity WHERE group_id = ?1 AND day = ?3 AND hour <= ?4",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, d_first, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, b->d1, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, b->h1);
    struct day_bits bits = {.ndays = b->day1 - first + 1};
    while (rc == QB_OK && sqlite3_step(st) == SQLITE_ROW)
        rc = day_bits_set(&bits, (const char *)sqlite3_column_text(st, 0),
                          ins_civil_parse((const char *)sqlite3_column_text(st, 1)) - first);
    sqlite3_finalize(st);
    double sd = 0, sw = 0, sm = 0;
    for (size_t u = 0; rc == QB_OK && u < bits.ids.n; u++) {
        const unsigned char *seen = bits.seen + u * (size_t)bits.ndays;
        int64_t last = INT64_MIN / 2; /* the latest day (index) this member spoke */
        for (int64_t i = 0; i < bits.ndays; i++) {
            if (seen[i])
                last = i;
            if (i < 29)
                continue;
            sd += seen[i];
            sw += i - last < 7;
            sm += i - last < 30;
        }
    }
    free(bits.seen);
    ins_ids_free(&bits.ids);
    o->dau = sd / (double)nrange;
    o->wau = sw / (double)nrange;
    o->mau = sm / (double)nrange;
    o->dau_mau = o->mau > 0 ? o->dau / o->mau : 0;
    return rc;
}

static int cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Messages and speakers of the range, and the share of the top 10 % of speakers. */
static int speakers_share(sqlite3 *db, const char *group_id, const struct ins_bounds *b,
                          struct qb_insight_overview *o, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db, "SELECT user_id, messages FROM" INS_MEMBER_DAYS, &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    ins_bind_bounds(st, group_id, b);
    struct ins_ids ids = {0};
    int64_t *v = NULL, total = 0;
    size_t cap = 0;
    while (rc == QB_OK && sqlite3_step(st) == SQLITE_ROW) {
        int64_t u = ins_ids_get(&ids, (const char *)sqlite3_column_text(st, 0));
        if (u >= 0 && (size_t)u >= cap) {
            size_t ncap = cap ? cap * 2 : 256;
            int64_t *nv = realloc(v, ncap * sizeof *nv);
            if (nv) {
                memset(nv + cap, 0, (ncap - cap) * sizeof *nv);
                v = nv;
                cap = ncap;
            }
        }
        if (u < 0 || (size_t)u >= cap) {
            rc = QB_ENOMEM;
            break;
        }
        int64_t m = sqlite3_column_int64(st, 1);
        v[u] += m;
        total += m;
    }
    sqlite3_finalize(st);
    int64_t n = (int64_t)ids.n;
    ins_ids_free(&ids);
    if (rc != QB_OK) {
        free(v);
        return rc;
    }
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, cmp_desc_i64);
    o->active_members = n;
    o->messages = total;
    int64_t top = (n + 9) / 10, sum = 0;
    for (int64_t i = 0; i < top; i++)
        sum += v[i];
    o->top10_share = total > 0 ? (double)sum / (double)total : 0;
    free(v);
    return QB_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int questions(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                     struct qb_insight_overview *o, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT first_reply_ms - ts FROM insight_msgs WHERE group_id = ?1"
                         " AND question = 1 AND ts >= ?2 AND ts < ?3",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    int64_t *v = NULL, n = 0, cap = 0;
    o->questions = 0;
    o->unanswered_questions = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        o->questions++;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL || sqlite3_column_int64(st, 0) < 0) {
            o->unanswered_questions++;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            int64_t *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                free(v);
                sqlite3_finalize(st);
                return QB_ENOMEM;
            }
            v = nv;
        }
        v[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    o->median_response_s = -1;
    if (n > 0) {
        qsort(v, (size_t)n, sizeof *v, cmp_i64);
        double med = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
        o->median_response_s = med / 1000.0;
    }
    free(v);
    return QB_OK;
}

/* The figures other plugins' tables give; each is zero when its table is absent. */
static int other_plugins(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                         struct qb_insight_overview *o, char *err, size_t errlen)
{
    int rc = QB_OK;
    int64_t a = r->since_ms, b = r->until_ms, recalls = 0, strikes = 0;
    if (ins_table_exists(db, "points_ledger"))
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM points_ledger WHERE group_id = ?1 AND source = "
                       "'checkin' AND delta > 0 AND ts >= ?2 AND ts < ?3",
                       group_id, a, b, &o->checkins, err, errlen);
    if (rc == QB_OK && ins_table_exists(db, "talks_talks")) {
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM talks_talks WHERE group_id = ?1 AND status <> "
                       "'cancelled' AND start_ms >= ?2 AND start_ms < ?3",
                       group_id, a, b, &o->talks, err, errlen);
        if (rc == QB_OK && ins_table_exists(db, "talks_attendance"))
            rc = ins_count(db,
                           "SELECT COUNT(*) FROM talks_attendance a JOIN talks_talks t ON t.id ="
                           " a.talk_id WHERE t.group_id = ?1 AND t.status <> 'cancelled'"
                           " AND t.start_ms >= ?2 AND t.start_ms < ?3",
                           group_id, a, b, &o->talk_attendance, err, errlen);
    }
    if (rc == QB_OK && ins_table_exists(db, "guard_cases")) {
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM guard_cases WHERE group_id = ?1 AND ts >= ?2"
                       " AND ts < ?3",
                       group_id, a, b, &strikes, err, errlen);
        if (rc == QB_OK)
            rc = ins_count(db,
                           "SELECT COUNT(*) FROM guard_cases WHERE group_id = ?1 AND pardoned <> 0"
                           " AND pardon_ts >= ?2 AND pardon_ts < ?3",
                           group_id, a, b, &o->pardons, err, errlen);
    }
    if (rc == QB_OK)
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM insight_recalls WHERE group_id = ?1 AND ts >= ?2"
                       " AND ts < ?3",
                       group_id, a, b, &recalls, err, errlen);
    o->moderation = strikes + recalls;
    return rc;
}

int qb_insight_overview(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                        struct qb_insight_overview *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    qb_id_set(o->group_id, group_id);
    struct ins_bounds b;
    ins_bounds_of(r, &b);
    int64_t a = r->since_ms, u = r->until_ms;
    rc = speakers_share(db, group_id, &b, o, err, errlen);
    if (rc == QB_OK)
        rc = active_windows(db, group_id, &b, o, err, errlen);
    if (rc == QB_OK)
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM insight_members WHERE group_id = ?1"
                       " AND (left_ms = 0 OR left_ms >= ?3) AND COALESCE(NULLIF(joined_ms, 0),"
                       " NULLIF(first_msg_ms, 0), 0) < ?3",
                       group_id, a, u, &o->members, err, errlen);
    if (rc == QB_OK)
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM insight_members WHERE group_id = ?1"
                       " AND joined_ms >= ?2 AND joined_ms < ?3",
                       group_id, a, u, &o->joins, err, errlen);
    if (rc == QB_OK)
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM insight_members WHERE group_id = ?1"
                       " AND left_ms >= ?2 AND left_ms < ?3 AND left_ms > 0",
                       group_id, a, u, &o->leaves, err, errlen);
    if (rc == QB_OK)
        rc = questions(db, group_id, r, o, err, errlen);
    if (rc == QB_OK)
        rc = other_plugins(db, group_id, r, o, err, errlen);
    if (rc != QB_OK)
        return rc;
    o->net_growth = o->joins - o->leaves;
    int64_t days = b.day1 - b.day0 + 1;
    o->checkin_rate = o->members > 0 && days > 0 && o->checkins > 0
                              ? (double)o->checkins / ((double)o->members * (double)days)
                              : 0;
    return QB_OK;
}

int qb_insight_heatmap(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       int64_t cells[7][24], char *err, size_t errlen)
{
    memset(cells, 0, sizeof(int64_t) * 7 * 24);
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    struct ins_bounds b;
    ins_bounds_of(r, &b);
    sqlite3_stmt *st = NULL;
    rc = ins_prepare(db,
                     "SELECT weekday, hour, SUM(messages) FROM insight_group_hours"
                     " WHERE group_id = ?1 AND" INS_IN_RANGE "GROUP BY weekday, hour",
                     &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    ins_bind_bounds(st, group_id, &b);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int wd = sqlite3_column_int(st, 0), h = sqlite3_column_int(st, 1);
        if (wd >= 0 && wd < 7 && h >= 0 && h < 24)
            cells[wd][h] += sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return QB_OK;
}
