/*
 * scheduler.c — cron expressions, timezone conversion, persisted schedules and
 * in-memory timers.
 *
 * Timezones use the system tz database by switching TZ around localtime_r/mktime
 * (the event path is single-threaded) and restoring it afterwards. Persisted
 * schedules live in the core table `schedules`; a due row is moved on (or deleted)
 * before its owner is told, so a crash can never make it fire twice in a burst, and a
 * schedule missed while the bot was down fires once with how late it is.
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

/* Parse one comma-separated field into a bit set. */
static int parse_field(const char *text, int idx, uint64_t *bits, bool *any, char *err,
                       size_t errlen)
{
    const struct field_spec *f = &fields[idx];
    *bits = 0;
    *any = !strcmp(text, "*");
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
        if (lo < f->lo || hi > f->hi || lo > hi) {
            snprintf(err, errlen, "field %d (%s): %d-%d is out of range %d-%d", idx + 1, f->name,
                     lo, hi, f->lo, f->hi);
            return QB_EINVAL;
        }
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

/* ---- cron: next time ---- */

static bool day_matches(const struct qb_cron *c, int mday, int wday)
{
    bool dm = c->mdays & (1u << mday), wm = c->wdays & (1u << wday);
    if (c->mday_any && c->wday_any)
        return true;
    if (c->mday_any)
        return wm;
    if (c->wday_any)
        return dm;
    return dm || wm; /* both restricted: either matches (vixie cron) */
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
            for (int mi = h == h0 ? min0 : 0; mi < 60; mi++) {
                if (!(c->minutes & (1ULL << mi)))
                    continue;
                /* mktime moves a time inside a DST gap to just after it; in an overlap it
                 * picks one of the two, so the job runs once */
                struct tm want = {.tm_year = y - 1900,
                                  .tm_mon = m - 1,
                                  .tm_mday = d,
                                  .tm_hour = h,
                                  .tm_min = mi,
                                  .tm_isdst = -1};
                time_t t = mktime(&want);
                if (t != (time_t)-1 && (int64_t)t * 1000 >= start) {
                    found = (int64_t)t * 1000;
                    break;
                }
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

struct qb_sched {
    struct qb_store *st;
    char *tz;
    struct timer *timers; /* sorted by due, then id */
    size_t ntimers, cap;
    int64_t next_id;
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
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QB_OK : QB_ESTORE;
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
    if (!qb_tz_valid(tz))
        return QB_EINVAL;
    int64_t next = qb_cron_next(&c, tz, now_ms);
    if (next < 0)
        return QB_EINVAL;
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
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? QB_OK : QB_ESTORE;
}

struct due_row {
    char *owner, *key, *cron, *tz, *payload;
    int64_t next;
};

static char *col_dup(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
                   ? NULL
                   : qb_strdup((const char *)sqlite3_column_text(st, i));
}

/* Move a fired row on: cron rows to their next time after now, one-shots away; only if
 * the row is unchanged (the owner may have replaced it). */
static void advance(struct qb_sched *s, const struct due_row *r, int64_t now_ms)
{
    sqlite3_stmt *st;
    struct qb_cron c;
    char err[200];
    int64_t next = -1;
    if (r->cron && qb_cron_parse(r->cron, &c, err, sizeof err) == QB_OK)
        next = qb_cron_next(&c, r->tz ? r->tz : s->tz, now_ms);
    else if (r->cron)
        qb_log(QB_LOG_WARN, "%s: schedule %s has a broken cron (%s); removed", r->owner, r->key,
               err);
    if (next > 0) {
        st = qb_store_stmt(s->st, "UPDATE schedules SET next_ms = ? WHERE owner = ? AND key = ?"
                                  " AND next_ms = ?");
        sqlite3_bind_int64(st, 1, next);
    } else {
        st = qb_store_stmt(s->st, "DELETE FROM schedules WHERE 1 = ? AND owner = ? AND key = ?"
                                  " AND next_ms = ?");
        sqlite3_bind_int64(st, 1, 1);
    }
    if (!st)
        return;
    sqlite3_bind_text(st, 2, r->owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, r->next);
    sqlite3_step(st);
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

int qb_sched_run_due(struct qb_sched *s, int64_t now_ms, qb_sched_fire_fn fire, void *ud)
{
    sqlite3_stmt *st = qb_store_stmt(s->st, "SELECT owner, key, cron, tz, next_ms, payload FROM"
                                            " schedules WHERE next_ms <= ? ORDER BY next_ms");
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
        rows[n++] = (struct due_row){col_dup(st, 0), col_dup(st, 1), col_dup(st, 2),
                                     col_dup(st, 3), col_dup(st, 5), sqlite3_column_int64(st, 4)};
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++)
        advance(s, &rows[i], now_ms);
    qb_store_commit(s->st); /* moved on before anyone is told: never twice */
    for (size_t i = 0; i < n; i++)
        fire(rows[i].owner, rows[i].key, rows[i].payload, now_ms - rows[i].next, ud);
    free_rows(rows, n);
    return (int)n;
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

int qb_timers_run_due(struct qb_sched *s, int64_t now_ms, qb_timer_fire_fn fire)
{
    int n = 0;
    while (s->ntimers && s->timers[0].due <= now_ms) {
        struct timer t = s->timers[0];
        timers_remove_at(s, 0);
        fire(t.owner, t.cb, t.ud);
        n++;
    }
    return n;
}
