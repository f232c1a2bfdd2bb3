/*
 * test_schedule.c — the schedule plugin end to end through qunbot-sim with a fake clock in
 * Asia/Shanghai: a daily 08:00 post on consecutive days with rotating topics, a weekly Monday
 * post, pause/resume by an admin (members refused), a restart between runs and a missed run
 * (once, late, never twice), a run missed by more than stale_after skipped, night mode muting at
 * 23:00 and lifting at 07:00 across a restart (and starting late after downtime), and the check
 * hook refusing broken cron text and unknown placeholders.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

#include "../../plugins/schedule/schedule.h" /* the settings struct, for the check hook */

extern const struct qb_plugin qb_plugin_schedule;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_schedule, NULL};

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
/* Monday 2026-11-23 08:00 in Asia/Shanghai (00:00 UTC). */
#define MON_8H 1795392000000LL

#define DAILY "\"posts\": [\"0 8 * * *|每日话题|@topics\"], \"topics\": [\"读书\", \"电影\"]"
#define NIGHT "\"night_start\": \"23:00\", \"night_end\": \"07:00\""

/* ---- fixture ---- */

static bool group_known(void *ud)
{
    return h_fx_number(ud, "SELECT COUNT(*) FROM schedule_groups WHERE group_id = '100'", NULL) ==
           1;
}

/* Start at fake time t0 with group 100 (Asia/Shanghai) under `settings` (the plugin's JSON
 * object body). Members: Alice 20001, Bob 20002 (admin). Alice says hello so the plugin
 * knows the group (it arms a group's schedules when it first sees an event from it). */
static void fx_start(struct h_fx *f, int64_t t0, const char *settings)
{
    h_fx_init(f, t0, test_plugins, NULL);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
             " \"plugins\": {\"schedule\": {\"enabled\": true, %s}}}",
             settings);
    h_fx_rules(f, "main.json", json);
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    h_fx_boot(f, "");
    qb_sim_group_msg(f->sim, "100", "20001", "大家好");
    CHECK(h_run_until(f->loop, group_known, f, 5));
}

static size_t bans(struct h_fx *f)
{
    return qb_sim_count(f->sim, "set_group_whole_ban");
}

/* Move the fake clock and give the bot's scheduler time to look (it runs once a second). */
static void pass(struct h_fx *f, int64_t ms)
{
    qb_clock_advance(ms);
    h_run_for(f->loop, 1.3);
}

/* ---- tests ---- */

TEST(daily_post_fires_at_eight_on_consecutive_days_with_rotating_topics)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 30 * MIN, DAILY);
    pass(&f, 29 * MIN); /* 07:59 */
    CHECK_INT(h_fx_sends(&f), 0);
    qb_clock_advance(MIN); /* 08:00 */
    CHECK(h_fx_wait_sends(&f, 1));
    const char *p = h_fx_last_send(&f);
    CHECK(strstr(p, "11月23日 星期一 今日话题") != NULL);
    CHECK(strstr(p, "读书") != NULL);
    h_run_for(f.loop, 1.3);
    CHECK_INT(h_fx_sends(&f), 1);
    qb_clock_advance(DAY);
    CHECK(h_fx_wait_sends(&f, 2));
    p = h_fx_last_send(&f);
    CHECK(strstr(p, "11月24日 星期二") != NULL);
    CHECK(strstr(p, "电影") != NULL);
    qb_clock_advance(DAY); /* the list wraps around */
    CHECK(h_fx_wait_sends(&f, 3));
    CHECK(strstr(h_fx_last_send(&f), "读书") != NULL);
    h_fx_done(&f);
}

TEST(weekly_monday_post_fires_only_on_monday)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 23 * HOUR, /* Sunday 09:00 */
             "\"group_name\": \"读书会\","
             " \"posts\": [\"0 9 * * MON|周报|本周周报 {date} {weekday}，{group}加油！\"]");
    pass(&f, MIN); /* Sunday 09:01 */
    CHECK_INT(h_fx_sends(&f), 0);
    qb_clock_advance(DAY - MIN); /* Monday 09:00 */
    CHECK(h_fx_wait_sends(&f, 1));
    CHECK(strstr(h_fx_last_send(&f), "本周周报 11月23日 星期一，读书会加油！") != NULL);
    pass(&f, DAY); /* Tuesday 09:00 */
    CHECK_INT(h_fx_sends(&f), 1);
    pass(&f, 5 * DAY); /* Sunday 09:00 */
    CHECK_INT(h_fx_sends(&f), 1);
    qb_clock_advance(DAY); /* Monday 11-30 */
    CHECK(h_fx_wait_sends(&f, 2));
    CHECK(strstr(h_fx_last_send(&f), "11月30日 星期一") != NULL);
    h_fx_done(&f);
}

TEST(pause_stops_a_post_and_resume_restarts_it)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 30 * MIN, DAILY);
    CHECK(strstr(h_fx_ask(&f, "20002", "/schedule pause 每日话题"), "已暂停「每日话题」") != NULL);
    /* a member cannot resume it */
    const char *p = h_fx_ask(&f, "20001", "/schedule resume 每日话题");
    CHECK(strstr(p, "已恢复") == NULL);
    size_t before = h_fx_sends(&f);
    pass(&f, 30 * MIN); /* 08:00 */
    CHECK_INT(h_fx_sends(&f), before);
    p = h_fx_ask(&f, "20002", "定时列表");
    CHECK(strstr(p, "每日话题（0 8 * * *）已暂停") != NULL);
    p = h_fx_ask(&f, "20002", "/schedule resume 每日话题");
    CHECK(strstr(p, "已恢复「每日话题」，下次 11月24日 星期二 08:00") != NULL);
    p = h_fx_ask(&f, "20002", "/schedule pause 没有这个");
    CHECK(strstr(p, "没有叫「没有这个」的定时任务") != NULL);
    before = h_fx_sends(&f);
    qb_clock_advance(DAY);
    CHECK(h_fx_wait_sends(&f, before + 1));
    CHECK(strstr(h_fx_last_send(&f), "读书") != NULL); /* the paused day took no topic */
    p = h_fx_ask(&f, "20002", "/schedule list");
    CHECK(strstr(p, "每日话题（0 8 * * *）下次 11月25日 星期三 08:00") != NULL);
    /* run once now, for testing: the next topic */
    CHECK(strstr(h_fx_ask(&f, "20002", "/schedule run 每日话题"), "电影") != NULL);
    h_fx_done(&f);
}

static long long runs(struct h_fx *f)
{
    return h_fx_number(f, "SELECT COUNT(*) FROM schedule_runs WHERE outcome = 'sent'", NULL);
}

TEST(restarts_never_duplicate_and_a_missed_post_fires_once_late)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 30 * MIN, DAILY);
    h_fx_restart(&f); /* 07:30: the schedule is kept, not re-armed */
    qb_clock_advance(30 * MIN);
    CHECK(h_fx_wait_sends(&f, 1));
    h_fx_restart(&f); /* right after posting */
    h_run_for(f.loop, 1.3);
    CHECK_INT(h_fx_sends(&f), 1);
    /* the bot is away over the next 08:00 and back at 08:20 */
    h_fx_stop(&f);
    qb_clock_advance(DAY + 20 * MIN);
    h_fx_start_bot(&f);
    CHECK(h_fx_wait_sends(&f, 2));
    CHECK(strstr(h_fx_last_send(&f), "11月24日 星期二") != NULL); /* dated when it was due */
    CHECK(strstr(h_fx_last_send(&f), "电影") != NULL);
    h_fx_restart(&f);
    h_run_for(f.loop, 1.3);
    CHECK_INT(h_fx_sends(&f), 2);
    CHECK_INT(runs(&f), 2);
    h_fx_done(&f);
}

TEST(a_post_missed_by_more_than_stale_after_is_skipped)
{
    struct h_fx f;
    fx_start(&f, MON_8H - 30 * MIN, DAILY);
    h_fx_stop(&f);
    qb_clock_advance(3 * HOUR + 30 * MIN); /* back at 11:00: three hours late */
    h_fx_start_bot(&f);
    h_run_for(f.loop, 1.5);
    CHECK_INT(h_fx_sends(&f), 0);
    CHECK(h_logged("post \"每日话题\" was due 180 min ago"));
    CHECK(h_logged("skipped as stale"));
    qb_clock_advance(21 * HOUR); /* the next morning runs as usual, with the first topic */
    CHECK(h_fx_wait_sends(&f, 1));
    CHECK(strstr(h_fx_last_send(&f), "读书") != NULL);
    h_fx_done(&f);
}

TEST(night_mode_mutes_at_23_and_lifts_at_7_across_a_restart)
{
    struct h_fx f;
    fx_start(&f, MON_8H + 14 * HOUR + 30 * MIN, NIGHT); /* 22:30 */
    pass(&f, 29 * MIN);
    CHECK_INT(bans(&f), 0);
    qb_clock_advance(MIN); /* 23:00 */
    CHECK(h_fx_wait(&f, "set_group_whole_ban", 1));
    CHECK(strstr(h_fx_last(&f, "set_group_whole_ban"), "\"enable\":true") != NULL);
    CHECK(h_fx_wait_sends(&f, 1));
    CHECK(strstr(h_fx_last_send(&f), "23:00–07:00 全员禁言") != NULL);
    /* the notice goes out before the mute */
    CHECK(qb_sim_find(f.sim, 0, "send_group_msg", "全员禁言") <
          qb_sim_find(f.sim, 0, "set_group_whole_ban", "\"enable\":true"));
    qb_clock_advance(2 * HOUR); /* 01:00: restart inside the night */
    h_fx_restart(&f);
    h_run_for(f.loop, 1.3);
    CHECK_INT(bans(&f), 1);
    CHECK_INT(h_fx_sends(&f), 1);
    pass(&f, 5 * HOUR + 59 * MIN); /* 06:59 */
    CHECK_INT(bans(&f), 1);
    qb_clock_advance(MIN); /* 07:00 */
    CHECK(h_fx_wait(&f, "set_group_whole_ban", 2));
    CHECK(strstr(h_fx_last(&f, "set_group_whole_ban"), "\"enable\":false") != NULL);
    CHECK(h_fx_wait_sends(&f, 2));
    CHECK(strstr(h_fx_last_send(&f), "早上好") != NULL);
    h_run_for(f.loop, 1.3);
    CHECK_INT(bans(&f), 2);
    CHECK_INT(h_fx_sends(&f), 2);
    h_fx_done(&f);
}

TEST(night_mode_missed_at_23_starts_late_once)
{
    struct h_fx f;
    fx_start(&f, MON_8H + 14 * HOUR + 30 * MIN, NIGHT); /* 22:30 */
    h_fx_stop(&f);
    qb_clock_advance(HOUR); /* back at 23:30 */
    h_fx_start_bot(&f);
    CHECK(h_fx_wait(&f, "set_group_whole_ban", 1));
    CHECK(strstr(h_fx_last(&f, "set_group_whole_ban"), "\"enable\":true") != NULL);
    CHECK(h_fx_wait_sends(&f, 1));
    h_fx_restart(&f);
    h_run_for(f.loop, 1.3);
    CHECK_INT(bans(&f), 1);
    CHECK_INT(h_fx_sends(&f), 1);
    /* away all night: the lift still happens when it is back */
    h_fx_stop(&f);
    qb_clock_advance(8 * HOUR); /* 07:30 */
    h_fx_start_bot(&f);
    CHECK(h_fx_wait(&f, "set_group_whole_ban", 2));
    CHECK(strstr(h_fx_last(&f, "set_group_whole_ban"), "\"enable\":false") != NULL);
    h_fx_done(&f);
}

/* Group 100 is listed in the rules file but nobody there ever says anything: its post is
 * armed at start-up all the same; a reload that lists a second quiet group arms that one too. */
TEST(a_quiet_group_listed_in_the_rules_gets_its_posts)
{
    struct h_fx f;
    h_fx_init(&f, MON_8H - 30 * MIN, test_plugins, NULL);
#define QUIET_RULES(groups)                                                                        \
    "{\"name\": \"main\", \"groups\": [" groups "], \"timezone\": \"Asia/Shanghai\","              \
    " \"plugins\": {\"schedule\": {\"enabled\": true, " DAILY "}}}"
    char json[1024];
    snprintf(json, sizeof json, "%s", QUIET_RULES("\"100\""));
    h_fx_rules(&f, "main.json", json);
    qb_sim_add_group(f.sim, "100", "100");
    qb_sim_add_group(f.sim, "200", "200");
    h_fx_boot(&f, "");
    pass(&f, 29 * MIN); /* 07:59 */
    CHECK_INT(h_fx_sends(&f), 0);
    qb_clock_advance(MIN); /* 08:00 */
    CHECK(h_fx_wait_sends(&f, 1));
    const char *p = h_fx_last_send(&f);
    CHECK(strstr(p, "\"group_id\":100") != NULL);
    CHECK(strstr(p, "11月23日 星期一 今日话题") != NULL && strstr(p, "读书") != NULL);
    snprintf(json, sizeof json, "%s", QUIET_RULES("\"100\", \"200\""));
    h_fx_rules(&f, "main.json", json);
    CHECK(qb_bot_reload_rules(f.bot) == QB_OK);
    h_run_for(f.loop, 1.3);
    qb_clock_advance(DAY); /* Tuesday 08:00: both groups */
    CHECK(h_fx_wait_sends(&f, 3));
    CHECK(qb_sim_find(f.sim, 0, "send_group_msg", "\"group_id\":200") >= 0);
    CHECK(strstr(h_fx_last_send(&f), "11月24日 星期二") != NULL);
    h_run_for(f.loop, 1.3);
    CHECK_INT(h_fx_sends(&f), 3);
    h_fx_done(&f);
}

TEST(check_hook_rejects_broken_cron_and_unknown_placeholders)
{
    char *posts[1], *topics[1] = {"读书"};
    struct schedule_settings s = {.posts = {posts, 1},
                                  .topics = {topics, 1},
                                  .night_start = "",
                                  .night_end = "",
                                  .group_name = ""};
    char why[300] = "";
    posts[0] = "0 25 * * *|早报|早上好";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "早报") != NULL && strstr(why, "hour") != NULL);
    posts[0] = "0 8 * *|早报|早上好";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "5 fields") != NULL);
    posts[0] = "0 8 * * XYZ|早报|早上好";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    posts[0] = "0 8 30 2 *|早报|早上好";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    posts[0] = "0 8 * * *|早报|{date} {nmae}";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "早报") != NULL && strstr(why, "{nmae}") != NULL);
    posts[0] = "0 8 * * *|早报";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    posts[0] = "0 8 * * 1-5|早报|{date} {weekday} {item} {group}";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_OK);
    s.topics.n = 0;
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "topics is empty") != NULL);
    s.posts.n = 0;
    s.night_start = "23:00";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    s.night_end = "7点";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_EINVAL);
    s.night_end = "07:00";
    CHECK_INT(qb_plugin_schedule.check(&s, why, sizeof why), QB_OK);
    /* through the rules: a reload with such an edit keeps the previous rules */
    struct h_fx f;
    fx_start(&f, MON_8H - 30 * MIN, DAILY);
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"schedule\": "
               "{\"enabled\": true, \"posts\": [\"0 8 * * 8|坏的|hi\"]}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("field 5 (day of week)"));
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"schedule\": "
               "{\"enabled\": true, \"posts\": [\"0 8 * * *|话题|今天：{itme}\"]}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("{itme}"));
    qb_clock_advance(30 * MIN); /* the old rules still post */
    CHECK(h_fx_wait_sends(&f, 1));
    CHECK(strstr(h_fx_last_send(&f), "读书") != NULL);
    h_fx_done(&f);
}

int main(void)
{
    RUN(daily_post_fires_at_eight_on_consecutive_days_with_rotating_topics);
    RUN(weekly_monday_post_fires_only_on_monday);
    RUN(pause_stops_a_post_and_resume_restarts_it);
    RUN(restarts_never_duplicate_and_a_missed_post_fires_once_late);
    RUN(a_post_missed_by_more_than_stale_after_is_skipped);
    RUN(night_mode_mutes_at_23_and_lifts_at_7_across_a_restart);
    RUN(night_mode_missed_at_23_starts_late_once);
    RUN(a_quiet_group_listed_in_the_rules_gets_its_posts);
    RUN(check_hook_rejects_broken_cron_and_unknown_placeholders);
    return test_done();
}
