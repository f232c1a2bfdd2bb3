/*
 * sched.h — time for plugins: the clock, in-memory timers, persisted schedules.
 *
 * Timers are one-shot callbacks that vanish on restart. Schedules are stored in the
 * database and survive restarts: a cron expression in a timezone, or a single moment.
 * When one comes due the plugin gets a QB_EV_SCHEDULE event with its key and payload.
 * A schedule missed while the bot was down fires once (sched_late_ms tells how late),
 * never once per missed occurrence.
 */
#ifndef QUNBOT_SCHED_H
#define QUNBOT_SCHED_H

#include <time.h>

#include "qunbot.h"

struct qb_ctx;

/* Now, Unix milliseconds (a fake clock in tests). */
int64_t qb_now(struct qb_ctx *c);

typedef void (*qb_timer_cb)(struct qb_ctx *c, void *ud);
/* Run cb once after delay_ms. Returns a timer id (> 0) or a negative QB_E*. */
int64_t qb_timer_add(struct qb_ctx *c, int64_t delay_ms, qb_timer_cb cb, void *ud);
/* Cancel a pending timer; unknown ids are ignored. */
void qb_timer_cancel(struct qb_ctx *c, int64_t id);

/* Create or replace the schedule key of this plugin.
 * cron: 5 fields "min hour day-of-month month day-of-week" (names MON, JAN allowed),
 * tz: IANA zone or NULL for the bot's timezone. payload: any text, may be NULL. */
int qb_schedule_cron(struct qb_ctx *c, const char *key, const char *cron, const char *tz,
                     const char *payload);
/* Check a cron expression as qb_schedule_cron reads it: QB_OK, or QB_EINVAL with a reason
 * for managers in err (a wrong field, or a date that never comes such as 30 FEB). */
int qb_cron_check(const char *expr, char *err, size_t errlen);
/* When expr next fires in tz (IANA name) strictly after after_ms; -1 if it is invalid or
 * never fires within 5 years. Pure: for listings such as "next run". */
int64_t qb_cron_next_ms(const char *expr, const char *tz, int64_t after_ms);
/* One moment (Unix ms). */
int qb_schedule_at(struct qb_ctx *c, const char *key, int64_t when_ms, const char *payload);
int qb_schedule_cancel(struct qb_ctx *c, const char *key);

/* Calendar time in a timezone (tz NULL = the bot's; use qb_timezone(c, group) for a
 * group's). qb_localtime: Unix ms → local broken-down time. qb_mktime: local → Unix ms
 * (tm_isdst ignored; -1 on error). qb_local_date: "YYYY-MM-DD" (n >= 11). */
int qb_localtime(struct qb_ctx *c, const char *tz, int64_t ms, struct tm *out);
int64_t qb_mktime(struct qb_ctx *c, const char *tz, const struct tm *local);
void qb_local_date(struct qb_ctx *c, const char *tz, int64_t ms, char *out, size_t n);

#endif
