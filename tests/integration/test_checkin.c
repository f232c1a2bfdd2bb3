/*
 * test_checkin.c — the check-in plugin end to end through qunbot-sim with a fake clock
 * in Asia/Shanghai: the order of the day, duplicate deliveries counted once (also after a
 * restart), a second check-in refused, local day boundaries and streaks (gap resets, the
 * longest is kept), the window refusal, merged confirmations, a restart between two days,
 * 补签 (cost, streak repair, monthly limit, not enough points), the daily summary posted
 * by its schedule, and the check hook.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

#include "../../plugins/checkin/checkin.h" /* the settings struct, for the check hook */

extern const struct qb_plugin qb_plugin_checkin;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_checkin, NULL};

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
/* Monday 2026-11-23 08:00 in Asia/Shanghai (00:00 UTC). */
#define MON_8H 1795392000000LL

#define AT(id) "{\"type\":\"at\",\"data\":{\"qq\":\"" id "\"}}"

/* ---- fixture ---- */

/* Start at fake time t0 with group 100 (Asia/Shanghai) under `settings` (the plugin's JSON
 * object body, may be ""). Members: Alice 20001, Bob 20002 (admin), Carol 20003, Dave 20004. */
static void fx_start(struct h_fx *f, int64_t t0, const char *settings)
{
    h_fx_init(f, t0, test_plugins, NULL);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
             " \"plugins\": {\"checkin\": {\"enabled\": true%s%s}}}",
             settings[0] ? ", " : "", settings);
    h_fx_rules(f, "main.json", json);
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    qb_sim_add_member(f->sim, "100", "20003", "Carol", "member");
    qb_sim_add_member(f->sim, "100", "20004", "Dave", "member");
    h_fx_boot(f, "");
}

static long long points_of(struct h_fx *f, const char *user)
{
    return h_fx_number(f,
                       "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE group_id = '100'"
                       " AND user_id = ?1",
                       user);
}

static long long award_rows(struct h_fx *f, const char *user)
{
    return h_fx_number(f,
                       "SELECT COUNT(*) FROM points_ledger WHERE group_id = '100' AND user_id = ?1"
                       " AND source = 'checkin' AND delta > 0",
                       user);
}

static long long days_of(struct h_fx *f, const char *user)
{
    return h_fx_number(
            f, "SELECT COUNT(*) FROM checkin_days WHERE group_id = '100' AND user_id = ?1", user);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- tests ---- */

TEST(order_of_the_day_across_three_members)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"merge_window\": \"0s\"");
    const char *p = h_fx_ask(&f, "20001", "签到");
    CHECK(strstr(p, AT("20001")) != NULL);
    CHECK(strstr(p, "今天第 1 位") != NULL);
    CHECK(strstr(p, "连续 1 天") != NULL);
    CHECK(strstr(p, "+5 分") != NULL);
    CHECK(strstr(p, "排第 1") != NULL);
    p = h_fx_ask(&f, "20002", "打卡");
    CHECK(strstr(p, AT("20002")) != NULL);
    CHECK(strstr(p, "今天第 2 位") != NULL);
    p = h_fx_ask(&f, "20003", "/checkin");
    CHECK(strstr(p, AT("20003")) != NULL);
    CHECK(strstr(p, "今天第 3 位") != NULL);
    /* chat that merely contains the word is not a check-in */
    size_t before = h_fx_sends(&f);
    qb_sim_group_msg(f.sim, "100", "20004", "今天签到了吗");
    h_run_for(f.loop, 0.8);
    CHECK_INT(h_fx_sends(&f), before);
    CHECK_INT(days_of(&f, "20004"), 0);
    /* the board lists today's order */
    p = h_fx_ask(&f, "20004", "签到榜");
    CHECK(strstr(p, "今日签到（3 人）") != NULL);
    CHECK(strstr(p, "1. Alice") != NULL && strstr(p, "2. Bob") != NULL &&
          strstr(p, "3. Carol") != NULL);
    h_fx_done(&f);
}

TEST(duplicate_delivery_gives_one_checkin_and_one_award)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"merge_window\": \"0s\"");
    h_fx_say_raw(&f, "20001", "Alice", 900001, "签到");
    h_fx_say_raw(&f, "20001", "Alice", 900001, "签到");
    CHECK(h_fx_wait_sends(&f, 1));
    h_run_for(f.loop, 0.8);
    CHECK_INT(h_fx_sends(&f), 1);
    CHECK_INT(days_of(&f, "20001"), 1);
    CHECK_INT(award_rows(&f, "20001"), 1);
    CHECK_INT(points_of(&f, "20001"), 5);
    /* after a restart the core's duplicate cache is empty: the plugin still knows it */
    h_fx_restart(&f);
    size_t before = h_fx_sends(&f);
    h_fx_say_raw(&f, "20001", "Alice", 900001, "签到");
    h_run_for(f.loop, 0.8);
    CHECK_INT(h_fx_sends(&f), before);
    CHECK_INT(days_of(&f, "20001"), 1);
    CHECK_INT(points_of(&f, "20001"), 5);
    h_fx_done(&f);
}

TEST(second_checkin_the_same_day_is_refused)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"merge_window\": \"0s\"");
    h_fx_ask(&f, "20002", "签到");
    h_fx_ask(&f, "20001", "签到");
    qb_clock_advance(3 * HOUR);
    const char *p = h_fx_ask(&f, "20001", "早安打卡");
    CHECK(strstr(p, "今天已经签到过了（第 2 位，连续 1 天）") != NULL);
    CHECK(strstr(p, AT("20001")) != NULL);
    CHECK_INT(points_of(&f, "20001"), 5);
    CHECK_INT(days_of(&f, "20001"), 1);
    h_fx_done(&f);
}

TEST(days_follow_shanghai_midnight_and_streaks_reset_after_a_gap)
{
    struct h_fx f;
    /* 23:59 local = 15:59 UTC; two minutes later it is a new local day, same UTC day */
    fx_start(&f, MON_8H + 15 * HOUR + 59 * MIN, "\"merge_window\": \"0s\"");
    CHECK(strstr(h_fx_ask(&f, "20001", "签到"), "连续 1 天") != NULL);
    qb_clock_advance(2 * MIN);
    CHECK(strstr(h_fx_ask(&f, "20001", "签到"), "连续 2 天") != NULL);
    CHECK_INT(points_of(&f, "20001"), 10);
    /* skip Wednesday: Thursday starts again */
    qb_clock_advance(2 * DAY);
    const char *p = h_fx_ask(&f, "20001", "签到");
    CHECK(strstr(p, "连续 1 天") != NULL);
    p = h_fx_ask(&f, "20001", "我的签到");
    CHECK(strstr(p, "连续 1 天，最长 2 天，累计 3 天") != NULL);
    h_fx_done(&f);
}

TEST(outside_the_window_members_are_told_when_it_opens)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 3 * HOUR - 30 * MIN, /* 04:30 */
             "\"merge_window\": \"0s\", \"window_start\": \"05:00\", \"window_end\": \"09:30\"");
    const char *p = h_fx_ask(&f, "20001", "签到");
    CHECK(strstr(p, "还没到签到时间，05:00 开始") != NULL);
    qb_clock_advance(5 * HOUR + 30 * MIN); /* 10:00 */
    p = h_fx_ask(&f, "20001", "签到");
    CHECK(strstr(p, "签到时间是 05:00–09:30，明天 05:00 再来吧") != NULL);
    CHECK_INT(days_of(&f, "20001"), 0);
    CHECK_INT(points_of(&f, "20001"), 0);
    qb_clock_advance(20 * HOUR); /* 06:00 the next day */
    CHECK(strstr(h_fx_ask(&f, "20001", "签到"), "今天第 1 位") != NULL);
    CHECK_INT(days_of(&f, "20001"), 1);
    h_fx_done(&f);
}

TEST(confirmations_in_the_morning_rush_are_merged)
{
    struct h_fx f;
    fx_start(&f, MON_8H, ""); /* merge_window 3s by default */
    qb_sim_group_msg(f.sim, "100", "20001", "签到");
    qb_sim_group_msg(f.sim, "100", "20002", "签到");
    qb_sim_group_msg(f.sim, "100", "20003", "打卡");
    h_run_for(f.loop, 0.8);
    CHECK_INT(h_fx_sends(&f), 0);
    CHECK_INT(days_of(&f, "20003"), 1); /* recorded at once, confirmed later */
    qb_clock_advance(3 * SEC);
    CHECK(h_fx_wait_sends(&f, 1));
    const char *p = h_fx_last_send(&f);
    CHECK_INT(count_of(p, "{\"type\":\"at\""), 3);
    CHECK(strstr(p, AT("20001")) != NULL && strstr(p, AT("20002")) != NULL &&
          strstr(p, AT("20003")) != NULL);
    CHECK(strstr(p, "今天第 3 位") != NULL);
    h_run_for(f.loop, 0.8);
    CHECK_INT(h_fx_sends(&f), 1);
    /* a lone check-in later is answered within the window, alone */
    qb_clock_advance(MIN);
    qb_sim_group_msg(f.sim, "100", "20004", "签到");
    h_run_for(f.loop, 0.5);
    qb_clock_advance(3 * SEC);
    CHECK(h_fx_wait_sends(&f, 2));
    p = h_fx_last_send(&f);
    CHECK_INT(count_of(p, "{\"type\":\"at\""), 1);
    CHECK(strstr(p, AT("20004")) != NULL);
    h_fx_done(&f);
}

TEST(a_restart_between_two_days_keeps_the_streak)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"merge_window\": \"0s\"");
    h_fx_ask(&f, "20001", "签到");
    h_fx_restart(&f);
    qb_clock_advance(DAY);
    const char *p = h_fx_ask(&f, "20001", "签到");
    CHECK(strstr(p, "连续 2 天") != NULL);
    CHECK(strstr(p, "今天第 1 位") != NULL);
    CHECK_INT(points_of(&f, "20001"), 10);
    h_fx_done(&f);
}

static bool recorded(void *ud)
{
    struct h_fx *f = ud;
    return days_of(f, "20001") == 1 && days_of(f, "20002") == 1;
}

TEST(backfilled_checkins_are_recorded_and_only_recent_ones_answered)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 5 * MIN, "\"merge_window\": \"0s\"");
    h_fx_ask(&f, "20003", "签到"); /* the bot knows the group: it back-fills it after a restart */
    qb_clock_advance(5 * MIN);
    qb_bot_free(f.bot); /* the bot is away ... */
    f.bot = NULL;
    qb_sim_group_msg(f.sim, "100", "20001", "签到"); /* 08:00, 20 minutes before it is back */
    qb_clock_advance(18 * MIN);
    qb_sim_group_msg(f.sim, "100", "20002", "签到"); /* 08:18 */
    qb_clock_advance(2 * MIN);
    h_fx_start_bot(&f); /* ... and recovers both from history */
    CHECK(h_run_until(f.loop, recorded, &f, 5));
    CHECK(h_fx_wait_sends(&f, 2));
    h_run_for(f.loop, 0.8);
    CHECK_INT(h_fx_sends(&f), 2);
    const char *p = h_fx_last_send(&f);
    CHECK(strstr(p, AT("20002")) != NULL);
    CHECK(strstr(p, AT("20001")) == NULL);
    CHECK(strstr(p, "今天第 3 位") != NULL);
    CHECK_INT(points_of(&f, "20001"), 5);
    CHECK_INT(points_of(&f, "20002"), 5);
    h_fx_done(&f);
}

TEST(makeup_costs_points_repairs_the_streak_and_is_limited_per_month)
{
    struct h_fx f;
    fx_start(&f, MON_8H,
             "\"merge_window\": \"0s\", \"points\": 30, \"makeup_enabled\": true,"
             " \"makeup_cost\": 40, \"makeup_per_month\": 2");
    /* Alice: 23rd, 25th, 27th, 29th; Carol: the 27th only */
    for (int d = 0; d < 7; d++) {
        if (d % 2 == 0)
            h_fx_ask(&f, "20001", "签到");
        if (d == 4)
            h_fx_ask(&f, "20003", "签到");
        if (d < 6)
            qb_clock_advance(DAY);
    }
    CHECK_INT(points_of(&f, "20001"), 120);
    const char *p = h_fx_ask(&f, "20001", "补签");
    CHECK(strstr(p, "补上了 11月28日") != NULL);
    CHECK(strstr(p, "连续 3 天") != NULL);
    CHECK_INT(points_of(&f, "20001"), 80);
    p = h_fx_ask(&f, "20001", "补签");
    CHECK(strstr(p, "补上了 11月26日") != NULL);
    CHECK(strstr(p, "连续 5 天") != NULL);
    CHECK_INT(points_of(&f, "20001"), 40);
    p = h_fx_ask(&f, "20001", "补签");
    CHECK(strstr(p, "本月的补签次数已经用完了") != NULL);
    CHECK_INT(points_of(&f, "20001"), 40);
    p = h_fx_ask(&f, "20001", "我的签到");
    CHECK(strstr(p, "连续 5 天，最长 5 天，累计 6 天；本月还能补签 0 次") != NULL);
    /* Carol missed the 28th but has only 30 points */
    p = h_fx_ask(&f, "20003", "补签");
    CHECK(strstr(p, "积分不够：补签要 40 分，你现在有 30 分") != NULL);
    CHECK_INT(points_of(&f, "20003"), 30);
    CHECK_INT(days_of(&f, "20003"), 1);
    /* Dave never checked in: nothing to make up */
    CHECK(strstr(h_fx_ask(&f, "20004", "补签"), "没有需要补签的日子") != NULL);
    h_fx_done(&f);
}

TEST(makeup_is_refused_where_not_enabled)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"merge_window\": \"0s\"");
    CHECK(strstr(h_fx_ask(&f, "20001", "补签"), "本群没有开启补签") != NULL);
    h_fx_done(&f);
}

static bool summary_sent(void *ud)
{
    struct h_fx *f = ud;
    return qb_sim_find(f->sim, 0, "send_group_msg", "签到小结") >= 0;
}

TEST(the_daily_summary_posts_at_its_time)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 4 * DAY, "\"merge_window\": \"0s\", \"summary_time\": \"21:00\"");
    /* Dave: Thursday to Saturday (19th–21st), then nothing */
    for (int d = 0; d < 3; d++) {
        h_fx_ask(&f, "20004", "签到");
        qb_clock_advance(DAY);
        h_run_for(f.loop, 1.2); /* yesterday's summary comes due late: stale, skipped */
    }
    qb_clock_advance(DAY); /* Monday 08:00 */
    h_run_for(f.loop, 1.2);
    CHECK(!summary_sent(&f));
    h_fx_ask(&f, "20001", "签到");
    h_fx_ask(&f, "20002", "签到");
    h_fx_ask(&f, "20003", "签到");
    qb_clock_advance(12 * HOUR + 59 * MIN); /* 20:59 */
    h_run_for(f.loop, 1.2);
    CHECK(!summary_sent(&f));
    size_t before = h_fx_sends(&f);
    qb_clock_advance(2 * MIN); /* 21:01 */
    CHECK(h_run_until(f.loop, summary_sent, &f, 5));
    const char *p = h_fx_last_send(&f);
    CHECK(strstr(p, "11月23日签到小结：今天共 3 人签到") != NULL);
    CHECK(strstr(p, "最早：Alice、Bob、Carol") != NULL);
    CHECK(strstr(p, "Dave（此前连续 3 天）") != NULL);
    h_run_for(f.loop, 1.2);
    CHECK_INT(h_fx_sends(&f), before + 1);
    /* Tuesday: nobody checks in, no summary */
    qb_clock_advance(DAY);
    h_run_for(f.loop, 1.5);
    CHECK_INT(h_fx_sends(&f), before + 1);
    h_fx_done(&f);
}

/* summary_time added by a reload after the day's only check-in: the summary still comes at
 * 21:00 although nobody says anything more (the group is not waited for). */
TEST(a_summary_time_added_by_a_reload_posts_without_another_checkin)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"merge_window\": \"0s\"");
    h_fx_ask(&f, "20001", "签到");
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
               " \"plugins\": {\"checkin\": {\"enabled\": true, \"merge_window\": \"0s\","
               " \"summary_time\": \"21:00\"}}}");
    CHECK(qb_bot_reload_rules(f.bot) == QB_OK);
    h_run_for(f.loop, 1.3);
    size_t before = h_fx_sends(&f);
    qb_clock_advance(13 * HOUR + MIN); /* 21:01 */
    CHECK(h_run_until(f.loop, summary_sent, &f, 5));
    CHECK(strstr(h_fx_last_send(&f), "11月23日签到小结：今天共 1 人签到") != NULL);
    h_run_for(f.loop, 1.2);
    CHECK_INT(h_fx_sends(&f), before + 1);
    h_fx_done(&f);
}

TEST(check_hook_rejects_a_window_ending_before_it_starts)
{
    /* the hook itself */
    struct checkin_settings s = {
            .window_start = "09:30", .window_end = "05:00", .summary_time = "", .points = 5};
    char why[300] = "";
    CHECK_INT(qb_plugin_checkin.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "window_end") != NULL);
    s.window_end = "09:30"; /* equal: no window at all */
    CHECK_INT(qb_plugin_checkin.check(&s, why, sizeof why), QB_EINVAL);
    s.window_end = "10:00";
    CHECK_INT(qb_plugin_checkin.check(&s, why, sizeof why), QB_OK);
    s.window_start = "5点";
    CHECK_INT(qb_plugin_checkin.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "05:00") != NULL);
    /* through the rules: a reload with such an edit keeps the previous rules */
    struct h_fx f;
    fx_start(&f, MON_8H, "\"merge_window\": \"0s\"");
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"checkin\": "
               "{\"enabled\": true, \"window_start\": \"09:30\", \"window_end\": \"05:00\"}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("window_end \"05:00\" is not after window_start \"09:30\""));
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"checkin\": "
               "{\"enabled\": true, \"points\": -3}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("points is -3"));
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"checkin\": "
               "{\"enabled\": true, \"reply\": \"{at} 第 {ordr} 位\"}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("{ordr}"));
    CHECK(strstr(h_fx_ask(&f, "20001", "签到"), "今天第 1 位") != NULL); /* old rules still on */
    h_fx_done(&f);
}

int main(void)
{
    RUN(order_of_the_day_across_three_members);
    RUN(duplicate_delivery_gives_one_checkin_and_one_award);
    RUN(second_checkin_the_same_day_is_refused);
    RUN(days_follow_shanghai_midnight_and_streaks_reset_after_a_gap);
    RUN(outside_the_window_members_are_told_when_it_opens);
    RUN(confirmations_in_the_morning_rush_are_merged);
    RUN(a_restart_between_two_days_keeps_the_streak);
    RUN(backfilled_checkins_are_recorded_and_only_recent_ones_answered);
    RUN(makeup_costs_points_repairs_the_streak_and_is_limited_per_month);
    RUN(makeup_is_refused_where_not_enabled);
    RUN(the_daily_summary_posts_at_its_time);
    RUN(a_summary_time_added_by_a_reload_posts_without_another_checkin);
    RUN(check_hook_rejects_a_window_ending_before_it_starts);
    return test_done();
}
