/*
 * metrics_internal.h — helpers shared by the metrics files of bot/insight (metrics*.c,
 * report.c): civil-day arithmetic, local time in a named zone, the range's bounds on the
 * hourly rollup, statement preparation with a reason for admins. Not part of the contract
 * (insight.h); nothing outside bot/insight includes it.
 */
#ifndef QB_INSIGHT_METRICS_INTERNAL_H
#define QB_INSIGHT_METRICS_INTERNAL_H

#include <time.h>

#include "insight.h"

#define INS_DAY_MS  86400000LL
#define INS_HOUR_MS 3600000LL

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t ins_civil(int y, int m, int d);
void ins_civil_fmt(int64_t days, char out[11]);
/* "YYYY-MM-DD" → days, or INT64_MIN when malformed. */
int64_t ins_civil_parse(const char *s);

/* Local broken-down time of ms in tz (IANA; NULL/"" = UTC). QB_OK or QB_EINVAL. */
int ins_local(const char *tz, int64_t ms, struct tm *out);
/* The local civil day of ms (and the local hour if hour != NULL). */
int64_t ins_local_day(const char *tz, int64_t ms, int *hour);
/* Unix ms of local midnight starting civil day `day`. */
int64_t ins_day_start_ms(const char *tz, int64_t day);

/* The range on the hourly rollup: rows with (day, hour) between (d0, h0) and (d1, h1),
 * both inclusive; day0/day1 as civil days. */
struct ins_bounds {
    char d0[11], d1[11];
    int h0, h1;
    int64_t day0, day1;
};
void ins_bounds_of(const struct qb_insight_range *r, struct ins_bounds *b);
/* The SQL condition for those bounds with parameters ?2..?5 (d0, h0, d1, h1). */
#define INS_IN_RANGE                                                                               \
    " (day > ?2 OR (day = ?2 AND hour >= ?3)) AND (day < ?4 OR (day = ?4 AND hour <= ?5)) "
/* Rows (user_id, day, messages) of the range from the daily rollup for the days strictly
 * inside it, and from the hourly rollup for its first and last day (hours cut as above; two
 * equality lookups, so the planner never turns them into a scan of the days between); a
 * member may have several rows on those two days. Same parameters as INS_IN_RANGE. */
#define INS_EDGE_HOURS                                                                             \
    " SELECT user_id, day, messages FROM insight_activity WHERE group_id = ?1 AND day = ?2"        \
    " AND hour >= ?3 AND (?2 < ?4 OR hour <= ?5) UNION ALL SELECT user_id, day, messages"          \
    " FROM insight_activity WHERE group_id = ?1 AND day = ?4 AND ?4 > ?2 AND hour <= ?5 "
#define INS_MEMBER_DAYS                                                                            \
    " (SELECT user_id, day, messages FROM insight_member_days WHERE group_id = ?1"                 \
    " AND day > ?2 AND day < ?4 UNION ALL" INS_EDGE_HOURS ") "
/* Bind group_id to ?1 and the bounds to ?2..?5. */
void ins_bind_bounds(sqlite3_stmt *st, const char *group_id, const struct ins_bounds *b);

/* Prepare sql; on failure write a reason into err and return QB_ESTORE. */
int ins_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen);
/* One integer from sql with group_id as ?1 and the ms bounds as ?2, ?3 (0 on no row). */
int ins_count(sqlite3 *db, const char *sql, const char *group_id, int64_t a, int64_t b,
              int64_t *out, char *err, size_t errlen);
bool ins_table_exists(sqlite3 *db, const char *name);
/* Check the arguments every metric takes. */
int ins_check_args(sqlite3 *db, const char *group_id, const struct qb_insight_range *r, char *err,
                   size_t errlen);
/* FNV-1a of a NUL-terminated string (hash tables of ids and words). */
uint64_t ins_hash(const char *k);

/* Append the edge s → d of weight w to (*e, *n, *cap), or add w to the last edge when it is
 * the same pair (rows read in src, dst order keep a pair's kinds adjacent). QB_OK/QB_ENOMEM. */
int ins_edge_add(struct qb_insight_edge **e, size_t *n, size_t *cap, size_t s, size_t d, double w);

/* Member ids seen while reading rows, each given a dense index 0, 1, … in order of first
 * sight (open addressing). Owns its arrays; ins_ids_free releases them. */
struct ins_ids {
    char (*keys)[QB_ID_MAX];
    size_t n, cap_keys;
    int64_t *slot; /* index + 1, 0 = empty */
    size_t cap;
};
/* The index of id (added when new), or -1 when memory runs out. */
int64_t ins_ids_get(struct ins_ids *ids, const char *id);
void ins_ids_free(struct ins_ids *ids);

void ins_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
