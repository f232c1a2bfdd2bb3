/*
 * scheduler.h — cron expressions, timezones, persisted schedules and timers (internal).
 *
 * Pure parts (cron parse/next, timezone conversion) take the time as an argument.
 * Persisted schedules live in the core table `schedules`; qb_sched_run_due() hands
 * due ones to a callback and reschedules them. Timers are in-memory one-shots.
 */
#ifndef QB_SCHEDULER_H
#define QB_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct qb_store;

struct qb_cron {
    uint64_t minutes;        /* bit m = minute m (0-59) */
    uint32_t hours;          /* bit h (0-23) */
    uint32_t mdays;          /* bit d (1-31) */
    uint16_t months;         /* bit m (1-12) */
    uint8_t wdays;           /* bit w (0 = Sunday .. 6; 7 is folded into 0) */
    bool mday_any, wday_any; /* '*' given: cron's "either day field matches" rule */
};

/* Parse "min hour mday month wday" (lists, ranges, steps, names JAN..DEC, SUN..SAT)
 * or the shorthands @daily @hourly @weekly @monthly. Error reason in err. */
int qb_cron_parse(const char *expr, struct qb_cron *out, char *err, size_t errlen);
/* The first moment strictly after after_ms at which the expression fires in tz.
 * Handles DST gaps/overlaps sensibly. Returns -1 if none within 5 years. */
int64_t qb_cron_next(const struct qb_cron *c, const char *tz, int64_t after_ms);

/* Timezones by IANA name ("Asia/Shanghai"). */
bool qb_tz_valid(const char *tz);
int qb_tz_local(const char *tz, int64_t ms, struct tm *out); /* ms → local broken-down time */
/* The same through a small cache of UTC offsets per zone and quarter hour (switching TZ
 * re-reads the zone file, which cost a fifth of the bot's time per message). A bucket is
 * cached only when the offset is the same at both of its ends, so a daylight-saving change
 * inside it is computed directly. tm_zone is "" for cached answers. Owned by the caller. */
#define QB_TZ_CACHE_N 8
struct qb_tz_cache {
    struct {
        char tz[64];
        int64_t bucket; /* Unix seconds / 900; 0 = empty */
        long gmtoff;
        int isdst;
    } e[QB_TZ_CACHE_N];
    unsigned next; /* round-robin replacement */
};
int qb_tz_local_cached(struct qb_tz_cache *cache, const char *tz, int64_t ms, struct tm *out);
int64_t qb_tz_mktime(const char *tz, const struct tm *local); /* local → ms (tm_isdst = -1) */

struct qb_sched;

typedef void (*qb_sched_fire_fn)(const char *owner, const char *key, const char *payload,
                                 int64_t late_ms, void *ud);
typedef void (*qb_timer_fire_fn)(void *owner, void *cb, void *ud);

struct qb_sched *qb_sched_new(struct qb_store *st, const char *default_tz);
void qb_sched_free(struct qb_sched *s);

/* Persisted schedules, keyed by (owner, key). */
int qb_sched_cron(struct qb_sched *s, const char *owner, const char *key, const char *cron,
                  const char *tz, const char *payload, int64_t now_ms);
int qb_sched_at(struct qb_sched *s, const char *owner, const char *key, int64_t when_ms,
                const char *payload);
int qb_sched_cancel(struct qb_sched *s, const char *owner, const char *key);
/* Deliver every schedule due at now_ms once (late_ms = now - due), then move cron ones
 * to their next time after now and delete one-shot ones. Returns how many fired. */
int qb_sched_run_due(struct qb_sched *s, int64_t now_ms, qb_sched_fire_fn fire, void *ud);
/* The next due time among schedules, or -1 if none. */
int64_t qb_sched_next_due(struct qb_sched *s);

/* In-memory timers: owner/cb/ud are opaque and handed back to fire. */
int64_t qb_timers_add(struct qb_sched *s, int64_t due_ms, void *owner, void *cb, void *ud);
void qb_timers_cancel(struct qb_sched *s, int64_t id);
/* Cancel every timer of an owner (plugin shutdown). */
void qb_timers_cancel_owner(struct qb_sched *s, void *owner);
int qb_timers_run_due(struct qb_sched *s, int64_t now_ms, qb_timer_fire_fn fire);

#endif
