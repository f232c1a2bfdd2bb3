/*
 * test_sched.c — persisted schedules and timers when callbacks act during a run: a
 * schedule cancelled by an earlier callback of the same run does not fire, one added
 * as due waits for the next run, a row whose repeat rule no longer parses fires once
 * and is removed (with a warning), the bot's timezone is the default, and a timer that
 * re-arms itself with no delay cannot spin the loop.
 * link: qb_store
 */
#include <sqlite3.h>
#include <stdlib.h>

#include "scheduler.h"
#include "storage.h"
#include "test.h"
#include "util/util.h"

#include <qunbot/qunbot.h>

struct run {
    struct qb_sched *s;
    int n;
    char keys[8][32];
    int64_t late[8];
    int64_t now;
};

static void on_fire(const char *owner, const char *key, const char *payload, int64_t late_ms,
                    void *ud)
{
    (void)owner;
    (void)payload;
    struct run *r = ud;
    if (r->n < 8) {
        qb_strlcpy(r->keys[r->n], key, sizeof r->keys[0]);
        r->late[r->n] = late_ms;
    }
    r->n++;
    if (!strcmp(key, "a")) { /* "a" cancels "b" and asks for "c" right now */
        qb_sched_cancel(r->s, "p", "b");
        qb_sched_at(r->s, "p", "c", r->now, "later");
    }
}

static struct qb_sched *fresh(struct qb_store **st, const char *tz)
{
    char err[200];
    *st = NULL;
    if (qb_store_open(":memory:", st, err, sizeof err) != QB_OK)
        return NULL;
    return qb_sched_new(*st, tz);
}

TEST(callbacks_cancel_and_add_during_a_run)
{
    struct qb_store *st;
    struct qb_sched *s = fresh(&st, "UTC");
    CHECK(s != NULL);
    CHECK_INT(qb_sched_at(s, "p", "a", 1000, NULL), QB_OK);
    CHECK_INT(qb_sched_at(s, "p", "b", 2000, NULL), QB_OK);
    struct run r = {.s = s, .now = 5000};
    CHECK_INT(qb_sched_run_due(s, 5000, on_fire, &r), 1);
    CHECK_INT(r.n, 1);
    CHECK_STR(r.keys[0], "a");
    CHECK_INT(r.late[0], 4000);
    /* "c" was added as due during the run: it fires on the next one, once */
    CHECK_INT(qb_sched_next_due(s), 5000);
    CHECK_INT(qb_sched_run_due(s, 5000, on_fire, &r), 1);
    CHECK_STR(r.keys[1], "c");
    CHECK_INT(r.late[1], 0);
    CHECK_INT(qb_sched_run_due(s, 9000, on_fire, &r), 0);
    CHECK_INT(qb_sched_next_due(s), -1);
    qb_sched_free(s);
    qb_store_close(st);
}

static int warnings;
static char last_warning[300];

static void capture(int level, const char *line, void *ud)
{
    (void)ud;
    if (level == QB_LOG_WARN) {
        warnings++;
        qb_strlcpy(last_warning, line, sizeof last_warning);
    }
}

TEST(unreadable_repeat_rule_fires_once_and_is_removed)
{
    struct qb_store *st;
    struct qb_sched *s = fresh(&st, "UTC");
    CHECK(s != NULL);
    /* as if written by another version: a rule this one cannot read */
    CHECK_INT(sqlite3_exec(qb_store_db(st),
                           "INSERT INTO schedules(owner, key, cron, tz, next_ms, payload)"
                           " VALUES ('p', 'odd', '0 9 * * MON#2', 'UTC', 1000, 'x')",
                           NULL, NULL, NULL),
              SQLITE_OK);
    warnings = 0;
    qb_log_set_capture(capture, NULL);
    struct run r = {.s = s};
    CHECK_INT(qb_sched_run_due(s, 2000, on_fire, &r), 1);
    qb_log_set_capture(NULL, NULL);
    CHECK_STR(r.keys[0], "odd");
    CHECK_INT(warnings, 1);
    CHECK(strstr(last_warning, "schedule odd") != NULL);
    CHECK_INT(qb_sched_next_due(s), -1);
    qb_sched_free(s);
    qb_store_close(st);
}

TEST(bad_schedules_are_refused)
{
    struct qb_store *st;
    struct qb_sched *s = fresh(&st, "UTC");
    CHECK(s != NULL);
    CHECK_INT(qb_sched_cron(s, "p", "k", "0 25 * * *", NULL, NULL, 0), QB_EINVAL);
    CHECK_INT(qb_sched_cron(s, "p", "k", "0 9 * * *", "Mars/Base", NULL, 0), QB_EINVAL);
    CHECK_INT(qb_sched_cron(s, "p", "k", "0 0 30 2 *", NULL, NULL, 0), QB_EINVAL);
    CHECK_INT(qb_sched_next_due(s), -1);
    qb_sched_free(s);
    qb_store_close(st);
}

TEST(default_timezone_is_used_and_replacing_a_key_moves_it)
{
    struct qb_store *st;
    struct qb_sched *s = fresh(&st, "Asia/Shanghai");
    CHECK(s != NULL);
    int64_t t0 = 1795413600000; /* Monday 2026-11-23 14:00 in Shanghai (06:00 UTC) */
    CHECK_INT(qb_sched_cron(s, "p", "k", "0 22 * * *", NULL, NULL, t0), QB_OK);
    CHECK_INT(qb_sched_next_due(s), t0 + 8 * 3600000LL); /* 22:00 +08 */
    CHECK_INT(qb_sched_cron(s, "p", "k", "0 22 * * *", "UTC", NULL, t0), QB_OK);
    CHECK_INT(qb_sched_next_due(s), t0 + 16 * 3600000LL); /* 22:00 UTC, one row */
    struct run r = {.s = s};
    CHECK_INT(qb_sched_run_due(s, t0 + 16 * 3600000LL, on_fire, &r), 1);
    CHECK_INT(qb_sched_next_due(s), t0 + 40 * 3600000LL);
    qb_sched_free(s);
    qb_store_close(st);
}

struct tstate {
    struct qb_sched *s;
    int fired[8], n;
    int64_t cancel_id, now;
};

static void timer_fire(void *owner, void *cb, void *ud)
{
    (void)cb;
    struct tstate *t = owner;
    int tag = (int)(intptr_t)ud;
    if (t->n < 8)
        t->fired[t->n] = tag;
    t->n++;
    if (tag == 1) /* re-arm with no delay: must wait for the next run */
        qb_timers_add(t->s, t->now, t, NULL, (void *)(intptr_t)1);
    if (tag == 2)
        qb_timers_cancel(t->s, t->cancel_id);
}

TEST(timers_rearmed_or_cancelled_by_callbacks)
{
    struct qb_store *st;
    struct qb_sched *s = fresh(&st, "UTC");
    CHECK(s != NULL);
    struct tstate t = {.s = s, .now = 100};
    qb_timers_add(s, 50, &t, NULL, (void *)(intptr_t)2);
    t.cancel_id = qb_timers_add(s, 60, &t, NULL, (void *)(intptr_t)3);
    qb_timers_add(s, 50, &t, NULL, (void *)(intptr_t)1); /* same due as 2: after it */
    CHECK_INT(qb_timers_run_due(s, 100, timer_fire), 2);
    CHECK_INT(t.n, 2);
    CHECK_INT(t.fired[0], 2);
    CHECK_INT(t.fired[1], 1);
    CHECK_INT(qb_timers_run_due(s, 100, timer_fire), 1); /* the re-armed one */
    CHECK_INT(t.fired[2], 1);
    qb_timers_cancel_owner(s, &t);
    CHECK_INT(qb_timers_run_due(s, 1000, timer_fire), 0);
    CHECK_INT(t.n, 3);
    qb_sched_free(s);
    qb_store_close(st);
}

int main(void)
{
    qb_log_set_level(QB_LOG_WARN);
    RUN(callbacks_cancel_and_add_during_a_run);
    RUN(unreadable_repeat_rule_fires_once_and_is_removed);
    RUN(bad_schedules_are_refused);
    RUN(default_timezone_is_used_and_replacing_a_key_moves_it);
    RUN(timers_rearmed_or_cancelled_by_callbacks);
    return test_done();
}
