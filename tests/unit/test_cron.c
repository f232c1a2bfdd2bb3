/*
 * test_cron.c — cron details beyond test_scheduler.c: the exact wording of parse
 * errors, steps/ranges/names, the vixie rule for a day field starting with '*', the
 * chosen DST rule (a skipped wall time runs at the first moment after the gap, a
 * repeated hour runs once), leap days in Asia/Shanghai, impossible dates, and the
 * timezone helpers (names checked, the caller's TZ left as it was).
 * link: qb_store
 */
#include <stdlib.h>

#include "scheduler.h"
#include "test.h"
#include "util/util.h"

#include <qunbot/qunbot.h>

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

static const char *parse_err(const char *expr)
{
    static char err[200];
    struct qb_cron c;
    err[0] = '\0';
    if (qb_cron_parse(expr, &c, err, sizeof err) == QB_OK)
        return "(accepted)";
    return err;
}

TEST(parse_errors_say_what_is_wrong)
{
    CHECK_STR(parse_err("0 25 * * *"), "field 2 (hour): 25 is out of range 0-23");
    CHECK_STR(parse_err("60 * * * *"), "field 1 (minute): 60 is out of range 0-59");
    CHECK_STR(parse_err("0 0 0 * *"), "field 3 (day of month): 0 is out of range 1-31");
    CHECK_STR(parse_err("0 0 1 1-13 *"), "field 4 (month): 13 is out of range 1-12");
    CHECK_STR(parse_err("30-10 * * * *"),
              "field 1 (minute): the range 30-10 runs backwards; write it low-high");
    CHECK(strstr(parse_err("0 9 * * MONDAY"), "field 5 (day of week)") != NULL);
    CHECK(strstr(parse_err("@fortnightly"), "5 fields") != NULL);
    CHECK(strstr(parse_err("0 9 * * * *"), "5 fields") != NULL);
    CHECK(strstr(parse_err(""), "5 fields") != NULL);
}

TEST(parse_fields_steps_ranges_and_names)
{
    struct qb_cron c;
    char err[200];
    CHECK_INT(qb_cron_parse("1-30/5 */6 1,15 jan-Mar,dec sun,SAT", &c, err, sizeof err), QB_OK);
    CHECK(c.minutes == (1ULL << 1 | 1ULL << 6 | 1ULL << 11 | 1ULL << 16 | 1ULL << 21 | 1ULL << 26));
    CHECK_INT(c.hours, 1u << 0 | 1u << 6 | 1u << 12 | 1u << 18);
    CHECK_INT(c.mdays, 1u << 1 | 1u << 15);
    CHECK_INT(c.months, 1u << 1 | 1u << 2 | 1u << 3 | 1u << 12);
    CHECK_INT(c.wdays, 1u << 0 | 1u << 6);
    CHECK(!c.mday_any && !c.wday_any);
    CHECK_INT(qb_cron_parse("0 0 * * 5-7", &c, err, sizeof err), QB_OK);
    CHECK_INT(c.wdays, 1u << 5 | 1u << 6 | 1u << 0); /* 7 is Sunday */
    CHECK_INT(qb_cron_parse("@hourly", &c, err, sizeof err), QB_OK);
    CHECK(c.minutes == 1 && c.hours == 0xffffff);
    CHECK_INT(qb_cron_parse("@WEEKLY", &c, err, sizeof err), QB_OK);
    CHECK(c.wdays == 1 && c.hours == 1 && !c.wday_any);
    CHECK_INT(qb_cron_parse("@monthly", &c, err, sizeof err), QB_OK);
    CHECK(c.mdays == 2 && c.months == 0x1ffe);
    CHECK_INT(qb_cron_parse("@yearly", &c, err, sizeof err), QB_OK);
    CHECK(c.mdays == 2 && c.months == 2);
}

TEST(day_field_with_a_star_step_is_not_restricted)
{
    /* vixie cron: "* /2" in day-of-month does not trigger the either-day rule, so odd days
     * AND Mondays: from Tuesday 2026-11-24 (Shanghai) that is Monday 7 December, not the
     * 25th */
    CHECK_INT(next_of("0 0 */2 * MON", "Asia/Shanghai", 1795449600000), 1796572800000);
    /* both plainly restricted: either (Monday 30 November before 1 December) */
    CHECK_INT(next_of("0 0 1,15 * MON", "Asia/Shanghai", 1795449600000), 1795968000000);
}

TEST(leap_day_and_new_year_in_shanghai)
{
    /* 29 February 08:00 in Shanghai, next one after 2027-03-01 is 2028-02-29 00:00 UTC */
    CHECK_INT(next_of("0 8 29 2 *", "Asia/Shanghai", 1803830400000), 1835395200000);
    /* "0 8 1 * *" from mid-December 2027 → 2028-01-01 08:00 +08 */
    CHECK_INT(next_of("0 8 1 * *", "Asia/Shanghai", 1828843200000), 1830297600000);
    /* a date that never exists gives up instead of spinning */
    CHECK_INT(next_of("0 0 30 2 *", "UTC", 1803830400000), -1);
    CHECK_INT(next_of("0 0 31 4,6,9,11 *", "UTC", 1803830400000), -1);
}

TEST(dst_gap_runs_at_the_first_moment_after_it)
{
    const char *ny = "America/New_York";
    /* 2026-03-08: clocks go 01:59:59 EST → 03:00 EDT. From 01:30 EST: */
    int64_t t0130 = 1772951400000, t0300 = 1772953200000, t0330 = 1772955000000;
    /* several skipped times collapse into one run at 03:00, then the next day is normal */
    CHECK_INT(next_of("0,30 2 * * *", ny, t0130), t0300);
    CHECK_INT(next_of("0,30 2 * * *", ny, t0300), 1773036000000); /* 2026-03-09 02:00 EDT */
    /* hourly at :30 — 01:30, then 03:00 for the missing 02:30, then 03:30 */
    CHECK_INT(next_of("30 * * * *", ny, t0130), t0300);
    CHECK_INT(next_of("30 * * * *", ny, t0300), t0330);
    /* a time just after the gap is not disturbed */
    CHECK_INT(next_of("30 3 * * *", ny, t0130), t0330);
}

TEST(dst_overlap_runs_once)
{
    const char *ny = "America/New_York";
    /* 2026-11-01: 01:00-01:59 happens twice (EDT, then EST) */
    int64_t e0100 = 1793509200000, e0130 = 1793511000000, s0110 = 1793513400000,
            s0200 = 1793516400000;
    CHECK_INT(next_of("*/30 * * * *", ny, 1793507400000), e0100);
    CHECK_INT(next_of("*/30 * * * *", ny, e0100), e0130);
    CHECK_INT(next_of("*/30 * * * *", ny, e0130), s0200); /* the repeated hour is quiet */
    CHECK_INT(next_of("30 1 * * *", ny, 1793505600000), e0130);
    /* set during the second 01:10: 01:30 has already been, so tomorrow */
    CHECK_INT(next_of("30 1 * * *", ny, s0110), 1793601000000);
}

TEST(timezone_names_and_helpers)
{
    CHECK(qb_tz_valid("Asia/Shanghai"));
    CHECK(qb_tz_valid("UTC"));
    CHECK(!qb_tz_valid("Mars/Olympus_Mons"));
    CHECK(!qb_tz_valid("../../etc/passwd"));
    CHECK(!qb_tz_valid("/usr/share/zoneinfo/UTC"));
    CHECK(!qb_tz_valid("Asia"));
    CHECK(!qb_tz_valid(""));
    CHECK(!qb_tz_valid(NULL));

    setenv("TZ", "Europe/Berlin", 1);
    struct tm lt;
    CHECK_INT(qb_tz_local("Asia/Shanghai", 1795413600000, &lt), QB_OK);
    CHECK(lt.tm_year == 126 && lt.tm_mon == 10 && lt.tm_mday == 23 && lt.tm_hour == 14);
    CHECK_INT(lt.tm_wday, 1);
    CHECK_INT(qb_tz_mktime("Asia/Shanghai", &lt), 1795413600000);
    CHECK_STR(getenv("TZ"), "Europe/Berlin"); /* the caller's zone is back */
    unsetenv("TZ");
    CHECK_INT(qb_tz_local("America/New_York", 1772953200000, &lt), QB_OK);
    CHECK(lt.tm_hour == 3 && lt.tm_isdst > 0);
    CHECK(getenv("TZ") == NULL);
}

/* The cached local time agrees with the direct one minute by minute across daylight-saving
 * changes (New York's one-hour and Lord Howe's half-hour) and in a zone without them. */
TEST(cached_local_time_matches_across_dst_changes)
{
    static const struct {
        const char *tz;
        int64_t from_ms;
    } cases[] = {
            {"America/New_York", 1772946000000},    /* 2026-03-08 05:00 UTC, before the gap */
            {"America/New_York", 1793509200000},    /* 2026-11-01 05:00 UTC, before the overlap */
            {"Australia/Lord_Howe", 1775304000000}, /* 2026-04-04 12:00 UTC, 3 h before */
            {"Asia/Shanghai", 1795392000000},
    };
    struct qb_tz_cache cache = {0};
    int mismatches = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int m = 0; m < 6 * 60; m += 1) { /* six hours, minute by minute, plus seconds */
            int64_t ms = cases[c].from_ms + (int64_t)m * 60000 + (m % 7) * 1000;
            struct tm a, b;
            CHECK_INT(qb_tz_local(cases[c].tz, ms, &a), QB_OK);
            CHECK_INT(qb_tz_local_cached(&cache, cases[c].tz, ms, &b), QB_OK);
            if (a.tm_year != b.tm_year || a.tm_yday != b.tm_yday || a.tm_hour != b.tm_hour ||
                a.tm_min != b.tm_min || a.tm_sec != b.tm_sec || a.tm_wday != b.tm_wday ||
                a.tm_mday != b.tm_mday || a.tm_mon != b.tm_mon || a.tm_isdst != b.tm_isdst ||
                a.tm_gmtoff != b.tm_gmtoff)
                mismatches++;
        }
    CHECK_INT(mismatches, 0);
    /* the gap itself: 2026-03-08 07:00 UTC is 03:00 EDT, a minute before is 01:59 EST */
    struct tm lt;
    CHECK_INT(qb_tz_local_cached(&cache, "America/New_York", 1772953200000, &lt), QB_OK);
    CHECK_INT(lt.tm_hour, 3);
    CHECK_INT(qb_tz_local_cached(&cache, "America/New_York", 1772953140000, &lt), QB_OK);
    CHECK_INT(lt.tm_hour, 1);
    CHECK_INT(lt.tm_min, 59);
    CHECK(getenv("TZ") == NULL);
}

int main(void)
{
    qb_log_set_level(QB_LOG_ERROR + 1);
    RUN(parse_errors_say_what_is_wrong);
    RUN(parse_fields_steps_ranges_and_names);
    RUN(day_field_with_a_star_step_is_not_restricted);
    RUN(leap_day_and_new_year_in_shanghai);
    RUN(dst_gap_runs_at_the_first_moment_after_it);
    RUN(dst_overlap_runs_once);
    RUN(timezone_names_and_helpers);
    RUN(cached_local_time_matches_across_dst_changes);
    return test_done();
}
