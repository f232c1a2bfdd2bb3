/*
 * test_scheduler.c — cron parsing and next times in real timezones (weekly in
 * Asia/Shanghai, month ends, leap days, the day-of-month/day-of-week rule, DST gaps and
 * overlaps in America/New_York), persisted schedules across a restart (fired once,
 * however many were missed, with how late), one-shots, and in-memory timers.
 * link: qb_store
 */
#include <stdlib.h>
#include <unistd.h>

#include "scheduler.h"
#include "storage.h"
#include "test.h"
#include "util/util.h"

static int64_t next_of(const char *expr, const char *tz, int64_t after)
{
    struct qb_cron c;
    char err[200];
    if (qb_cron_parse(expr, &c, err, sizeof err) != QB_OK) {
        fprintf(stderr, "parse %s: %s\n", expr, err);
        return -2;
    }
    return qb_cron_next(&c, tz, after);
}

TEST(cron_parse_errors_name_the_field)
{
    struct qb_cron c;
    char err[200];
    CHECK_INT(qb_cron_parse("0 25 * * *", &c, err, sizeof err), QB_EINVAL);
    CHECK(strstr(err, "field 2 (hour)") != NULL && strstr(err, "0-23") != NULL);
    CHECK_INT(qb_cron_parse("0 9 * *", &c, err, sizeof err), QB_EINVAL);
    CHECK(strstr(err, "5 fields") != NULL);
    CHECK_INT(qb_cron_parse("0 9 * * FUNDAY", &c, err, sizeof err), QB_EINVAL);
    CHECK(strstr(err, "field 5") != NULL);
    CHECK_INT(qb_cron_parse("*/0 * * * *", &c, err, sizeof err), QB_EINVAL);
    CHECK_INT(qb_cron_parse("0 9 * * mon-fri", &c, err, sizeof err), QB_OK);
    CHECK_INT(c.wdays, 0x3e);
    CHECK_INT(qb_cron_parse("0 0 * * 7", &c, err, sizeof err), QB_OK);
    CHECK_INT(c.wdays, 0x01); /* 7 is Sunday */
    CHECK_INT(qb_cron_parse("@daily", &c, err, sizeof err), QB_OK);
    CHECK(c.hours == 1 && c.minutes == 1);
}

TEST(cron_next_every_quarter_hour)
{
    CHECK_INT(next_of("*/15 * * * *", "UTC", 1795428450000), 1795428900000);
    /* strictly after: at 10:15:00 the next is 10:30 */
    CHECK_INT(next_of("*/15 * * * *", "UTC", 1795428900000), 1795428900000 + 15 * 60000);
}

TEST(cron_next_weekly_in_shanghai)
{
    /* Monday 2026-11-23 14:00 in Shanghai: next Monday 09:00 is 2026-11-30 01:00 UTC */
    CHECK_INT(next_of("0 9 * * MON", "Asia/Shanghai", 1795413600000), 1796000400000);
}

TEST(cron_next_month_ends_and_leap_days)
{
    CHECK_INT(next_of("0 8 1 * *", "UTC", 1834185600000), 1835481600000 + 8 * 3600000LL);
    CHECK_INT(next_of("0 0 29 2 *", "UTC", 1772323200000), 1835395200000);
    CHECK_INT(next_of("0 0 31 * *", "UTC", 1834185600000), 1835481600000 + 30LL * 86400000);
}

TEST(cron_day_fields_either_matches)
{
    /* "on the 13th or on Fridays": Friday 2026-11-27 comes before 13 December */
    CHECK_INT(next_of("0 0 13 * FRI", "Asia/Shanghai", 1795413600000), 1795708800000);
}

TEST(cron_dst_gap_and_overlap)
{
    /* 02:30 does not exist on 2026-03-08 in New York: it runs right after the gap */
    int64_t gap = next_of("30 2 * * *", "America/New_York", 1772902800000);
    CHECK_INT(gap, 1772953200000); /* 03:00 EDT */
    CHECK_INT(next_of("30 2 * * *", "America/New_York", gap), 1773037800000);
    /* 01:30 happens twice on 2026-11-01: it runs once */
    int64_t first = next_of("30 1 * * *", "America/New_York", 1793462400000);
    CHECK(first == 1793511000000 || first == 1793514600000);
    CHECK_INT(next_of("30 1 * * *", "America/New_York", first), 1793601000000);
}

struct fired {
    int n;
    char key[64], payload[64];
    int64_t late;
};

static void on_fire(const char *owner, const char *key, const char *payload, int64_t late_ms,
                    void *ud)
{
    (void)owner;
    struct fired *f = ud;
    f->n++;
    qb_strlcpy(f->key, key, sizeof f->key);
    qb_strlcpy(f->payload, payload ? payload : "", sizeof f->payload);
    f->late = late_ms;
}

TEST(persisted_schedule_fires_once_after_a_restart)
{
    char dir[64], path[128], err[200];
    snprintf(dir, sizeof dir, "/tmp/qunbot-sched-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/s.db", dir);
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    struct qb_sched *s = qb_sched_new(st, "Asia/Shanghai");
    int64_t t0 = 1795413600000; /* Monday 14:00 in Shanghai */
    CHECK_INT(qb_sched_cron(s, "checkin", "daily-summary", "0 22 * * *", NULL, "sum", t0), QB_OK);
    CHECK_INT(qb_sched_at(s, "talks", "announce", t0 + 3600000, "talk 1"), QB_OK);
    CHECK_INT(qb_sched_next_due(s), t0 + 3600000);
    qb_sched_free(s);
    qb_store_close(st); /* "the bot stops" */

    /* three days later: three 22:00 runs were missed, the one-shot too */
    int64_t later = t0 + 3 * 86400000LL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    s = qb_sched_new(st, "Asia/Shanghai");
    struct fired f = {0};
    CHECK_INT(qb_sched_run_due(s, later, on_fire, &f), 2);
    CHECK_INT(f.n, 2);
    /* the daily one was due first (Monday 22:00 = 8 h after t0): fired once, that late */
    CHECK_INT(qb_sched_run_due(s, later, on_fire, &f), 0);
    /* moved on to the next 22:00 after now, the one-shot is gone */
    CHECK_INT(qb_sched_next_due(s), t0 + 3 * 86400000LL + 8 * 3600000LL);
    memset(&f, 0, sizeof f);
    CHECK_INT(qb_sched_run_due(s, t0 + 3 * 86400000LL + 8 * 3600000LL, on_fire, &f), 1);
    CHECK_STR(f.key, "daily-summary");
    CHECK_STR(f.payload, "sum");
    CHECK_INT(f.late, 0);
    CHECK_INT(qb_sched_cancel(s, "checkin", "daily-summary"), QB_OK);
    CHECK_INT(qb_sched_next_due(s), -1);
    qb_sched_free(s);
    qb_store_close(st);
}

TEST(late_one_shot_reports_how_late)
{
    char err[200];
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(":memory:", &st, err, sizeof err), QB_OK);
    struct qb_sched *s = qb_sched_new(st, "UTC");
    qb_sched_at(s, "talks", "t", 1000, "p");
    struct fired f = {0};
    CHECK_INT(qb_sched_run_due(s, 999, on_fire, &f), 0);
    CHECK_INT(qb_sched_run_due(s, 61000, on_fire, &f), 1);
    CHECK_INT(f.late, 60000);
    CHECK_INT(qb_sched_run_due(s, 62000, on_fire, &f), 0);
    qb_sched_free(s);
    qb_store_close(st);
}

static int order[8], norder;

static void timer_fire(void *owner, void *cb, void *ud)
{
    (void)owner;
    (void)cb;
    order[norder++] = (int)(intptr_t)ud;
}

TEST(timers_fire_in_order_and_cancel)
{
    char err[200];
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(":memory:", &st, err, sizeof err), QB_OK);
    struct qb_sched *s = qb_sched_new(st, "UTC");
    int owner_a, owner_b;
    qb_timers_add(s, 300, &owner_a, NULL, (void *)3);
    int64_t id = qb_timers_add(s, 100, &owner_a, NULL, (void *)1);
    qb_timers_add(s, 200, &owner_b, NULL, (void *)2);
    qb_timers_add(s, 250, &owner_b, NULL, (void *)25);
    qb_timers_add(s, 400, &owner_a, NULL, (void *)4);
    qb_timers_cancel(s, id);
    qb_timers_cancel_owner(s, &owner_b);
    CHECK_INT(qb_timers_run_due(s, 350, timer_fire), 1);
    CHECK_INT(qb_timers_run_due(s, 1000, timer_fire), 1);
    CHECK_INT(norder, 2);
    CHECK_INT(order[0], 3);
    CHECK_INT(order[1], 4);
    qb_sched_free(s);
    qb_store_close(st);
}

int main(void)
{
    qb_log_set_level(QB_LOG_ERROR + 1);
    RUN(cron_parse_errors_name_the_field);
    RUN(cron_next_every_quarter_hour);
    RUN(cron_next_weekly_in_shanghai);
    RUN(cron_next_month_ends_and_leap_days);
    RUN(cron_day_fields_either_matches);
    RUN(cron_dst_gap_and_overlap);
    RUN(persisted_schedule_fires_once_after_a_restart);
    RUN(late_one_shot_reports_how_late);
    RUN(timers_fire_in_order_and_cancel);
    return test_done();
}
