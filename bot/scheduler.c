/*
 * scheduler.c — cron expressions, timezone conversion, persisted schedules and
 * in-memory timers.
 *
 * Timezones use the system tz database by switching TZ around localtime_r/mktime
 * (the event path is single-threaded) and restoring it afterwards. Persisted
 * schedules live in the core table `schedules`; a due row is moved on (or deleted)
 * before its owner is told, so a crash can never make it fire twice in a burst, and a
 * schedule missed while the bot was down fires once with how late it is.
 * Must not: scan time minute by minute, or call out while a statement is being stepped.
 */
#include "scheduler.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage.h"
#include "util/util.h"

#include <qunbot/qunbot.h>
#include <qunbot/sched.h>

/* ---- cron parsing ---- */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct field_spec {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] = lo + i */
    int nnames;
};

static const struct field_spec fields[5] = {
        {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
        {"day of month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 12},
        {"day of week", 0, 7, day_names, 7},
};

/* A number or a name; advances *p. Returns -1 if neither. */
static int read_value(const char **p, const struct field_spec *f)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        while (isdigit((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        *p = s;
        return v;
    }
    for (int i = 0; i < f->nnames; i++) {
        if (!strncasecmp(s, f->names[i], 3)) {
            *p = s + 3;
            return f->lo + i;
        }
    }
    return -1;
}

/* Explain a value or range outside the field's limits (true if there was a problem). */
static bool range_error(const struct field_spec *f, int idx, int lo, int hi, char *err,
                        size_t errlen)
{
    int bad = lo < f->lo || lo > f->hi ? lo : hi > f->hi ? hi : -1;
    if (bad >= 0)
        snprintf(err, errlen, "field %d (%s): %d is out of range %d-%d", idx + 1, f->name, bad,
                 f->lo, f->hi);
    else if (lo > hi)
        snprintf(err, errlen, "field %d (%s): the range %d-%d runs backwards; write it low-high",
                 idx + 1, f->name, lo, hi);
    return bad >= 0 || lo > hi;
}

/* Parse one comma-separated field into a bit set. */
static int parse_field(const char *text, int idx, uint64_t *bits, bool *any, char *err,
                       size_t errlen)
{
    const struct field_spec *f = &fields[idx];
    *bits = 0;
    /* vixie cron: a field starting with '*' (also with a step) is not "restricted" */
    *any = text[0] == '*';
    const char *p = text;
    for (;;) {
        int lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi;
            p++;
        } else {
            lo = read_value(&p, f);
            if (lo < 0)
                goto bad;
            hi = lo;
            if (*p == '-') {
                p++;
                hi = read_value(&p, f);
                if (hi < 0)
                    goto bad;
            }
        }
        if (*p == '/') {
            p++;
            step = read_value(&p, &fields[0]);
            if (step <= 0)
                goto bad;
            if (lo == hi && text[0] != '*')
                hi = f->hi; /* "5/15" means from 5 to the end */
        }
        if (range_error(f, idx, lo, hi, err, errlen))
            return QB_EINVAL;
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ULL << (idx == 4 && v == 7 ? 0 : v);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0')
            return QB_OK;
        goto bad;
    }
bad:
    snprintf(err, errlen, "field %d (%s): cannot read \"%s\"", idx + 1, f->name, text);
    return QB_EINVAL;
}

static const char *shorthand(const char *expr)
{
    static const char *const map[][2] = {
            {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
            {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
            {"@annually", "0 0 1 1 *"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(expr, map[i][0]))
            return map[i][1];
    return expr;
}

int qb_cron_parse(const char *expr, struct qb_cron *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!expr) {
        snprintf(err, errlen, "empty schedule");
        return QB_EINVAL;
    }
    char buf[256];
    qb_strlcpy(buf, shorthand(expr), sizeof buf);
    char *parts[6], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(buf, " \t", &save); t && n < 6; t = strtok_r(NULL, " \t", &save))
        parts[n++] = t;
    if (n != 5) {
        snprintf(err, errlen,
                 "a schedule needs 5 fields \"minute hour day-of-month month day-of-week\", "
                 "got %d",
                 n);
        return QB_EINVAL;
    }
    uint64_t bits[5];
    bool any[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(parts[i], i, &bits[i], &any[i], err, errlen) != QB_OK)
            return QB_EINVAL;
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)bits[4];
    out->mday_any = any[2];
    out->wday_any = any[4];
    return QB_OK;
}

/* ---- timezones ---- */

bool qb_tz_valid(const char *tz)
{
    if (!tz || !*tz || tz[0] == '/' || strstr(tz, ".."))
        return false;
    if (!strcmp(tz, "UTC"))
        return true;
    char path[512];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char magic[4] = {0};
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(magic, "TZif", 4);
}

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

int qb_tz_local(const char *tz, int64_t ms, struct tm *out)
{
    struct tz_saved s;
    tz_enter(tz, &s);
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm *r = localtime_r(&t, out);
    tz_leave(&s);
    return r ? QB_OK : QB_EINVAL;
}

#define TZ_BUCKET_S 900

/* Broken-down time of t for a known UTC offset. */
static void tm_from_offset(time_t t, long gmtoff, int isdst, struct tm *out)
{
    time_t local = t + gmtoff;
    gmtime_r(&local, out);
    out->tm_gmtoff = gmtoff;
    out->tm_isdst = isdst;
    out->tm_zone = "";
}

int qb_tz_local_cached(struct qb_tz_cache *cache, const char *tz, int64_t ms, struct tm *out)
{
    const char *zone = tz && *tz ? tz : "UTC";
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int64_t bucket = (int64_t)(t >= 0 ? t / TZ_BUCKET_S : (t - TZ_BUCKET_S + 1) / TZ_BUCKET_S);
    if (!cache || strlen(zone) >= sizeof cache->e[0].tz || bucket <= 0)
        return qb_tz_local(tz, ms, out);
    for (unsigned i = 0; i < QB_TZ_CACHE_N; i++)
        if (cache->e[i].bucket == bucket && !strcmp(cache->e[i].tz, zone)) {
            tm_from_offset(t, cache->e[i].gmtoff, cache->e[i].isdst, out);
            return QB_OK;
        }
    struct tz_saved s;
    tz_enter(zone, &s);
    time_t a = (time_t)(bucket * TZ_BUCKET_S), b = a + TZ_BUCKET_S - 1;
    struct tm ta, tb;
    bool ok = localtime_r(&a, &ta) && localtime_r(&b, &tb);
    struct tm *r = localtime_r(&t, out);
    tz_leave(&s);
    if (ok && r && ta.tm_gmtoff == tb.tm_gmtoff && ta.tm_isdst == tb.tm_isdst) {
        unsigned k = cache->next++ % QB_TZ_CACHE_N;
        qb_strlcpy(cache->e[k].tz, zone, sizeof cache->e[k].tz);
        cache->e[k].bucket = bucket;
        cache->e[k].gmtoff = ta.tm_gmtoff;
        cache->e[k].isdst = ta.tm_isdst;
    }
    return r ? QB_OK : QB_EINVAL;
}

int64_t qb_tz_mktime(const char *tz, const struct tm *local)
{
    struct tz_saved s;
    tz_enter(tz, &s);
    struct tm copy = *local;
    copy.tm_isdst = -1;
    time_t t = mktime(&copy);
    tz_leave(&s);
    return t == (time_t)-1 ? -1 : (int64_t)t * 1000;
}

/* ---- cron: next time ----
 *
 * The search walks calendar days in the target zone, skipping whole days whose month or
 * day does not match, then whole hours, and converts only candidate minutes to instants.
 * Daylight saving time (the rule we chose):
 *  - gap (spring forward): a wall time that does not exist that day runs once, at the
 *    first valid moment after the gap (New York 2026-03-08: "30 2 * * *" runs at 03:00
 *    EDT). Several gap times in one expression collapse into that one run.
 *  - overlap (fall back): a wall time that happens twice runs once, at its first
 *    occurrence (the daylight one) — the search never goes back to a wall time it has
 *    passed, so the repeated hour stays quiet.
 */

static bool day_matches(const struct qb_cron *c, int mday, int wday)
{
    bool dm = c->mdays & (1u << mday), wm = c->wdays & (1u << wday);
    if (c->mday_any || c->wday_any)
        return dm && wm; /* a field starting with '*' has its bits; both must hold */
    return dm || wm;     /* both restricted: either matches (vixie cron) */
}

/* Calendar day arithmetic on a civil date, independent of any timezone. */
static void add_days(int *y, int *m, int *d, int days, int *wday)
{
    struct tm t = {.tm_year = *y - 1900, .tm_mon = *m - 1, .tm_mday = *d + days, .tm_hour = 12};
    time_t u = timegm(&t);
    gmtime_r(&u, &t);
    *y = t.tm_year + 1900;
    *m = t.tm_mon + 1;
    *d = t.tm_mday;
    *wday = t.tm_wday;
}

/* A wall-clock time as one comparable number: YYYYMMDDhhmmss. */
static int64_t wall_key(const struct tm *t)
{
    return ((((t->tm_year + 1900LL) * 100 + t->tm_mon + 1) * 100 + t->tm_mday) * 100 + t->tm_hour) *
                   10000 +
           t->tm_min * 100LL + t->tm_sec;
}

static int64_t wall_of(time_t t)
{
    struct tm lt;
    return localtime_r(&t, &lt) ? wall_key(&lt) : -1;
}

/* The instant at which the wall clock first passes `want` (the end of the gap that
 * swallowed it), searched within hours of `near`; `near` itself if the clock does not
 * behave. Needs the zone already entered. */
static time_t gap_end(int64_t want, time_t near)
{
    time_t lo = near - 6 * 3600, hi = near + 6 * 3600;
    if (wall_of(lo) > want || wall_of(hi) <= want)
        return near;
    while (hi - lo > 1) { /* invariant: wall(lo) <= want < wall(hi) */
        time_t mid = lo + (hi - lo) / 2;
        if (wall_of(mid) > want)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* The first instant whose wall clock is y-m-d h:mi (the earlier of two in an overlap), or
 * the end of the gap if that wall time does not exist; -1 if that is before start
 * (seconds). Zone entered. */
static int64_t instant_of(int y, int m, int d, int h, int mi, time_t start)
{
    struct tm want = {
            .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    int64_t key = wall_key(&want);
    time_t best = -1, any = -1;
    static const int guesses[] = {-1, 1, 0}; /* in an overlap 1 and 0 give both instants */
    for (size_t i = 0; i < sizeof guesses / sizeof guesses[0]; i++) {
        struct tm t = want;
        t.tm_isdst = guesses[i];
        time_t u = mktime(&t);
        if (u == (time_t)-1)
            continue;
        if (any < 0)
            any = u;
        if (wall_of(u) == key && (best < 0 || u < best))
            best = u;
    }
    if (best < 0 && any >= 0) { /* a wall time the gap skipped */
        time_t end = gap_end(key, any);
        if (wall_of(end) > key)
            best = end;
    }
    return best >= start ? best : -1;
}

int64_t qb_cron_next(const struct qb_cron *c, const char *tz, int64_t after_ms)
{
    int64_t start = (after_ms / 60000 + 1) * 60000; /* the next whole minute, strictly after */
    struct tm lt;
    if (qb_tz_local(tz, start, &lt) != QB_OK)
        return -1;
    int y = lt.tm_year + 1900, m = lt.tm_mon + 1, d = lt.tm_mday, wday = lt.tm_wday;
    int h0 = lt.tm_hour, min0 = lt.tm_min;
    struct tz_saved s;
    tz_enter(tz, &s);
    int64_t found = -1;
    for (int day = 0; day < 5 * 366 && found < 0; day++) {
        if (day > 0) {
            add_days(&y, &m, &d, 1, &wday);
            h0 = 0;
            min0 = 0;
        }
        if (!(c->months & (1u << m)) || !day_matches(c, d, wday))
            continue;
        for (int h = h0; h < 24 && found < 0; h++) {
            if (!(c->hours & (1u << h)))
                continue;
            for (int mi = h == h0 ? min0 : 0; mi < 60 && found < 0; mi++) {
                if (!(c->minutes & (1ULL << mi)))
                    continue;
                int64_t t = instant_of(y, m, d, h, mi, (time_t)(start / 1000));
                if (t >= 0)
                    found = t * 1000;
            }
        }
    }
    tz_leave(&s);
    return found;
}

/* ---- persisted schedules ---- */

struct timer {
    int64_t id, due;
    void *owner, *cb, *ud;
};

struct due_row {
    char *owner, *key, *cron, *tz, *payload;
    int64_t next;
    bool dropped; /* cancelled by an earlier callback of the same run */
};

struct qb_sched {
    struct qb_store *st;
    char *tz;
    struct timer *timers; /* sorted by due, then id */
    size_t ntimers, cap;
    int64_t next_id;
    struct due_row *firing; /* rows being handed out by qb_sched_run_due, else NULL */
    size_t nfiring;
};

struct qb_sched *qb_sched_new(struct qb_store *st, const char *default_tz)
{
    struct qb_sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->st = st;
    s->tz = strdup(default_tz ? default_tz : "Asia/Shanghai");
    if (!s->tz) {
        free(s);
        return NULL;
    }
    return s;
}

void qb_sched_free(struct qb_sched *s)
{
    if (!s)
        return;
    free(s->timers);
    free(s->tz);
    free(s);
}

/* Run a write statement to its end; a failure is logged here, once. */
static int step_done(struct qb_sched *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return QB_OK;
    qb_log(QB_LOG_WARN, "database: cannot %s: %s", what, sqlite3_errmsg(qb_store_db(s->st)));
    return QB_ESTORE;
}

static int upsert(struct qb_sched *s, const char *owner, const char *key, const char *cron,
                  const char *tz, int64_t next, const char *payload)
{
    sqlite3_stmt *st = qb_store_stmt(
            s->st,
            "INSERT INTO schedules(owner, key, cron, tz, next_ms, payload) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT(owner, key) DO UPDATE SET cron = excluded.cron, tz = excluded.tz,"
            " next_ms = excluded.next_ms, payload = excluded.payload");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    if (cron)
        sqlite3_bind_text(st, 3, cron, -1, SQLITE_TRANSIENT);
    if (tz)
        sqlite3_bind_text(st, 4, tz, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, next);
    if (payload)
        sqlite3_bind_text(st, 6, payload, -1, SQLITE_TRANSIENT);
    return step_done(s, st, "save a schedule");
}

int qb_sched_cron(struct qb_sched *s, const char *owner, const char *key, const char *cron,
                  const char *tz, const char *payload, int64_t now_ms)
{
    struct qb_cron c;
    char err[200];
    if (!tz)
        tz = s->tz;
    if (qb_cron_parse(cron, &c, err, sizeof err) != QB_OK) {
        qb_log(QB_LOG_WARN, "%s: schedule %s: %s", owner, key, err);
        return QB_EINVAL;
    }
    if (!qb_tz_valid(tz)) {
        qb_log(QB_LOG_WARN,
               "%s: schedule %s: unknown timezone \"%s\" (use a name like "
               "Asia/Shanghai)",
               owner, key, tz);
        return QB_EINVAL;
    }
    int64_t next = qb_cron_next(&c, tz, now_ms);
    if (next < 0) {
        qb_log(QB_LOG_WARN, "%s: schedule %s: \"%s\" never comes due in the next 5 years", owner,
               key, cron);
        return QB_EINVAL;
    }
    return upsert(s, owner, key, cron, tz, next, payload);
}

int qb_sched_at(struct qb_sched *s, const char *owner, const char *key, int64_t when_ms,
                const char *payload)
{
    return upsert(s, owner, key, NULL, NULL, when_ms, payload);
}

int qb_sched_cancel(struct qb_sched *s, const char *owner, const char *key)
{
    sqlite3_stmt *st = qb_store_stmt(s->st, "DELETE FROM schedules WHERE owner = ? AND key = ?");
    if (!st)
        return QB_ESTORE;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    for (size_t i = 0; i < s->nfiring; i++) /* still to fire in this run: not any more */
        if (!strcmp(s->firing[i].owner, owner) && !strcmp(s->firing[i].key, key))
            s->firing[i].dropped = true;
    return step_done(s, st, "cancel a schedule");
}


static char *col_dup(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
                   ? NULL
                   : qb_strdup((const char *)sqlite3_column_text(st, i));
}

/* Move a due row on before it fires: cron rows to their next time after now, one-shots
 * (and rows whose cron no longer parses, which still fire this once) away. Only if the
 * row is unchanged since it was read. */
static void advance(struct qb_sched *s, const struct due_row *r, int64_t now_ms)
{
    struct qb_cron c;
    char err[200];
    int64_t next = -1;
    if (r->cron && qb_cron_parse(r->cron, &c, err, sizeof err) == QB_OK)
        next = qb_cron_next(&c, r->tz ? r->tz : s->tz, now_ms);
    else if (r->cron)
        qb_log(QB_LOG_WARN,
               "%s: schedule %s has a repeat rule this version cannot read (%s); it fires once "
               "more and is removed — set it again",
               r->owner, r->key, err);
    sqlite3_stmt *st;
    int i = 1;
    if (next >= 0) {
        st = qb_store_stmt(s->st, "UPDATE schedules SET next_ms = ? WHERE owner = ? AND key = ?"
                                  " AND next_ms = ?");
        if (st)
            sqlite3_bind_int64(st, i++, next);
    } else {
        st = qb_store_stmt(s->st,
                           "DELETE FROM schedules WHERE owner = ? AND key = ? AND next_ms = ?");
    }
    if (!st)
        return;
    sqlite3_bind_text(st, i++, r->owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, i++, r->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, i, r->next);
    if (sqlite3_step(st) != SQLITE_DONE)
        qb_log(QB_LOG_WARN, "database: cannot move schedule %s/%s on: %s", r->owner, r->key,
               sqlite3_errmsg(qb_store_db(s->st)));
    sqlite3_reset(st);
}

static void free_rows(struct due_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].owner);
        free(rows[i].key);
        free(rows[i].cron);
        free(rows[i].tz);
        free(rows[i].payload);
    }
    free(rows);
}

/* Read every due row (the statement is finished before anything else runs). */
static size_t collect_due(struct qb_sched *s, int64_t now_ms, struct due_row **out)
{
    sqlite3_stmt *st = qb_store_stmt(s->st, "SELECT owner, key, cron, tz, next_ms, payload FROM"
                                            " schedules WHERE next_ms <= ?"
                                            " ORDER BY next_ms, owner, key");
    *out = NULL;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, now_ms);
    struct due_row *rows = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct due_row *more = realloc(rows, cap * sizeof *rows);
            if (!more)
                break;
            rows = more;
        }
        struct due_row r = {col_dup(st, 0), col_dup(st, 1), col_dup(st, 2),
                            col_dup(st, 3), col_dup(st, 5), sqlite3_column_int64(st, 4),
                            false};
        rows[n++] = r;
        if (!r.owner || !r.key) { /* out of memory: leave it for the next run */
            free_rows(rows, n);
            rows = NULL;
            n = 0;
            break;
        }
    }
    sqlite3_reset(st);
    *out = rows;
    return n;
}

int qb_sched_run_due(struct qb_sched *s, int64_t now_ms, qb_sched_fire_fn fire, void *ud)
{
    if (s->firing) /* called from inside a callback: the outer run goes on */
        return 0;
    struct due_row *rows;
    size_t n = collect_due(s, now_ms, &rows);
    for (size_t i = 0; i < n; i++)
        advance(s, &rows[i], now_ms);
    qb_store_commit(s->st); /* moved on before anyone is told: never twice */
    int fired = 0;
    s->firing = rows;
    s->nfiring = n;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].dropped)
            continue;
        rows[i].dropped = true; /* a cancel from its own callback changes nothing here */
        fire(rows[i].owner, rows[i].key, rows[i].payload, now_ms - rows[i].next, ud);
        fired++;
    }
    s->firing = NULL;
    s->nfiring = 0;
    free_rows(rows, n);
    return fired;
}

int64_t qb_sched_next_due(struct qb_sched *s)
{
    sqlite3_stmt *st = qb_store_stmt(s->st, "SELECT MIN(next_ms) FROM schedules");
    if (!st)
        return -1;
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

/* ---- in-memory timers ---- */

int64_t qb_timers_add(struct qb_sched *s, int64_t due_ms, void *owner, void *cb, void *ud)
{
    if (s->ntimers == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct timer *t = realloc(s->timers, cap * sizeof *t);
        if (!t)
            return QB_ENOMEM;
        s->timers = t;
        s->cap = cap;
    }
    size_t i = s->ntimers;
    while (i > 0 && s->timers[i - 1].due > due_ms)
        i--;
    memmove(s->timers + i + 1, s->timers + i, (s->ntimers - i) * sizeof *s->timers);
    s->timers[i] = (struct timer){++s->next_id, due_ms, owner, cb, ud};
    s->ntimers++;
    return s->next_id;
}

static void timers_remove_at(struct qb_sched *s, size_t i)
{
    memmove(s->timers + i, s->timers + i + 1, (s->ntimers - i - 1) * sizeof *s->timers);
    s->ntimers--;
}

void qb_timers_cancel(struct qb_sched *s, int64_t id)
{
    for (size_t i = 0; i < s->ntimers; i++) {
        if (s->timers[i].id == id) {
            timers_remove_at(s, i);
            return;
        }
    }
}

void qb_timers_cancel_owner(struct qb_sched *s, void *owner)
{
    for (size_t i = s->ntimers; i-- > 0;)
        if (s->timers[i].owner == owner)
            timers_remove_at(s, i);
}

/* Timers added by a callback wait for the next run, even if already due: a callback that
 * re-arms itself with no delay cannot spin this loop forever. */
int qb_timers_run_due(struct qb_sched *s, int64_t now_ms, qb_timer_fire_fn fire)
{
    int64_t last_id = s->next_id;
    int n = 0;
    for (;;) {
        size_t i = 0;
        while (i < s->ntimers && s->timers[i].due <= now_ms && s->timers[i].id > last_id)
            i++;
        if (i == s->ntimers || s->timers[i].due > now_ms)
            return n;
        struct timer t = s->timers[i];
        timers_remove_at(s, i);
        fire(t.owner, t.cb, t.ud);
        n++;
    }
}

int qb_cron_check(const char *expr, char *err, size_t errlen)
{
    struct qb_cron c;
    if (qb_cron_parse(expr, &c, err, errlen) != QB_OK)
        return QB_EINVAL;
    if (qb_cron_next(&c, "UTC", qb_clock_now()) < 0) {
        snprintf(err, errlen, "\"%s\" never comes (no such date in the next 5 years)", expr);
        return QB_EINVAL;
    }
    return QB_OK;
}

int64_t qb_cron_next_ms(const char *expr, const char *tz, int64_t after_ms)
{
    struct qb_cron c;
    char err[160];
    if (qb_cron_parse(expr, &c, err, sizeof err) != QB_OK)
        return -1;
    return qb_cron_next(&c, tz, after_ms);
}
