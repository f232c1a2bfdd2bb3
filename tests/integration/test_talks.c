/*
 * test_talks.c — the talks plugin end to end through qunbot-sim with a fake clock in
 * Asia/Shanghai: a talk added by command is announced at 3d/1d/1h/10m (the last one with
 * @全体成员 when enabled), bad input refused (past, overlap, zero or too long, ambiguous
 * date, no speaker), quiet mode recall (chat recalled with one reminder, questions and the
 * speaker and admins left alone), quiet mode mute (whole-group mute on at the start, off at
 * the end), the question queue in order with 已答 marks, the summary files (.md and .html,
 * member text escaped), move and cancel, a restart between scheduling and the
 * announcements, a stale announcement skipped, talks from the rules file, the check hook.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

#include "../../plugins/talks/talks.h" /* the settings struct, for the check hook */

extern const struct qb_plugin qb_plugin_talks;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_talks, NULL};

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
/* Monday 2026-11-23 08:00 in Asia/Shanghai (00:00 UTC). */
#define MON_8H 1795392000000LL
/* Friday 2026-11-27 20:00 in Asia/Shanghai: the talk most tests schedule. */
#define FRI_20H (MON_8H + 4 * DAY + 12 * HOUR)

#define AT(id)   "{\"type\":\"at\",\"data\":{\"qq\":\"" id "\"}}"
#define TXT(s)   "{\"type\":\"text\",\"data\":{\"text\":\"" s "\"}}"
#define ANNOUNCE "分享预告"

/* ---- fixture ---- */

/* Start at fake time t0 with group 100 (Asia/Shanghai) under `settings` (the plugin's JSON
 * object body, may be ""). Members: Alice 20001, Bob 20002 (admin), Carol 20003 (the
 * speaker in most tests), Dave 20004. The bot (10001) is an admin of the group. */
static void fx_start(struct h_fx *f, int64_t t0, const char *settings)
{
    h_fx_init(f, t0, test_plugins, NULL);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
             " \"plugins\": {\"talks\": {\"enabled\": true%s%s}}}",
             settings[0] ? ", " : "", settings);
    h_fx_rules(f, "main.json", json);
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    qb_sim_add_member(f->sim, "100", "20003", "Carol", "member");
    qb_sim_add_member(f->sim, "100", "20004", "Dave", "member");
    h_fx_boot(f, "");
}

static size_t announcements(struct h_fx *f)
{
    return h_fx_count_with(f, "send_group_msg", ANNOUNCE);
}

/* A group message made of the given segments (JSON array body), as NapCat posts it. */
static void say_segs(struct h_fx *f, const char *user, const char *role, const char *segs)
{
    char frame[4096];
    snprintf(frame, sizeof frame,
             "{\"time\":%lld,\"self_id\":10001,\"post_type\":\"message\",\"message_type\":"
             "\"group\",\"sub_type\":\"normal\",\"message_id\":%lld,\"group_id\":100,"
             "\"user_id\":%s,\"anonymous\":null,\"font\":14,\"sender\":{\"user_id\":%s,"
             "\"nickname\":\"u%s\",\"card\":\"\",\"role\":\"%s\"},\"message\":[%s],"
             "\"raw_message\":\"\",\"message_format\":\"array\"}",
             (long long)(qb_clock_now() / 1000), f->next_msg++, user, user, user, role, segs);
    qb_sim_send_raw(f->sim, frame, strlen(frame));
}

/* Send segments and wait for the bot's next group message; return it. */
static const char *ask_segs(struct h_fx *f, const char *user, const char *role, const char *segs)
{
    size_t before = h_fx_sends(f);
    say_segs(f, user, role, segs);
    CHECK(h_fx_wait_with(f, "send_group_msg", NULL, before + 1));
    return h_fx_last_send(f);
}

/* Bob (admin) schedules Carol's talk "Rust 入门" with the given date, time and duration. */
static const char *add_talk(struct h_fx *f, const char *when_and_dur)
{
    char segs[1024];
    snprintf(segs, sizeof segs, TXT("/talk add %s ") "," AT("20003") "," TXT(" Rust 入门"),
             when_and_dur);
    return ask_segs(f, "20002", "admin", segs);
}

/* Move the fake clock to t and give the scheduler time to run (it checks about once a
 * second), to prove what does NOT happen by then. */
static void advance_to(struct h_fx *f, int64_t t)
{
    qb_clock_fake(t);
    h_run_for(f->loop, 1.3);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* ---- tests ---- */

TEST(announcements_fire_at_each_offset_and_the_last_one_mentions_everyone)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"at_all\": true");
    const char *p = add_talk(&f, "2026-11-27 20:00 90m");
    CHECK(strstr(p, "已安排分享 #1") != NULL);
    CHECK(strstr(p, "Rust 入门") != NULL);
    CHECK(strstr(p, AT("20003")) != NULL);
    CHECK(strstr(p, "11月27日 周五 20:00") != NULL);
    const int64_t offsets[] = {3 * DAY, DAY, HOUR, 10 * MIN};
    const char *left[] = {"还有 3天 开始", "还有 1天 开始", "还有 1小时 开始", "还有 10分钟 开始"};
    for (size_t i = 0; i < 4; i++) {
        advance_to(&f, FRI_20H - offsets[i] - MIN); /* a minute early: nothing */
        CHECK_INT(announcements(&f), i);
        qb_clock_fake(FRI_20H - offsets[i]);
        CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, i + 1));
        p = h_fx_last_send_with(&f, ANNOUNCE);
        CHECK(strstr(p, left[i]) != NULL);
        CHECK(strstr(p, "「Rust 入门」") != NULL);
        CHECK(strstr(p, AT("20003")) != NULL);
        CHECK((strstr(p, AT("all")) != NULL) == (i == 3)); /* @all only in the last one */
    }
    CHECK(qb_sim_count(f.sim, "get_group_member_info") >= 1); /* the bot checked its role */
    h_run_for(f.loop, 1.2);
    CHECK_INT(announcements(&f), 4);
    h_fx_done(&f);
}

TEST(bad_input_is_refused_with_a_reason)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "");
    CHECK(strstr(add_talk(&f, "2026-11-27 20:00 90m"), "已安排分享 #1") != NULL);
    CHECK(strstr(add_talk(&f, "2026-11-20 20:00 90m"), "已经过去了") != NULL);
    CHECK(strstr(add_talk(&f, "2026-11-23 07:30 90m"), "已经过去了") != NULL);
    const char *p = add_talk(&f, "2026-11-27 21:00 1h");
    CHECK(strstr(p, "时间重叠") != NULL && strstr(p, "#1") != NULL);
    CHECK(strstr(add_talk(&f, "2026-11-28 20:00 0m"), "时长要大于 0") != NULL);
    CHECK(strstr(add_talk(&f, "2026-11-28 20:00 9h"), "最长 8 小时") != NULL);
    p = add_talk(&f, "11/28 20:00 90m");
    CHECK(strstr(p, "多种理解") != NULL && strstr(p, "2026-12-05 或 12月5日") != NULL);
    CHECK(strstr(add_talk(&f, "2026-11-28 8pm 90m"), "看不懂时间") != NULL);
    p = ask_segs(&f, "20002", "admin", TXT("/talk add 2026-11-28 20:00 90m 没有主讲人"));
    CHECK(strstr(p, "请 @ 主讲人") != NULL);
    /* a member may not schedule */
    p = ask_segs(&f, "20001", "member",
                 TXT("/talk add 2026-11-29 20:00 90m ") "," AT("20003") "," TXT(" 主题"));
    CHECK(strstr(p, "只有群管理员") != NULL);
    CHECK_INT(h_fx_number(&f, "SELECT COUNT(*) FROM talks_talks", NULL), 1);
    /* the Chinese form, right after the first talk ends, is fine */
    p = ask_segs(&f, "20002", "admin",
                 TXT("分享 添加 11月27日 21:30 1小时 ") "," AT("20003") "," AT("20004") "," TXT(
                         " 两个人的分享"));
    CHECK(strstr(p, "已安排分享 #2") != NULL);
    CHECK(strstr(p, AT("20003")) != NULL && strstr(p, AT("20004")) != NULL);
    p = h_fx_ask(&f, "20001", "分享列表");
    CHECK(strstr(p, "#1 11月27日 周五 20:00") != NULL &&
          strstr(p, "#2 11月27日 周五 21:30") != NULL);
    h_fx_done(&f);
}

static bool recalled(struct h_fx *f, int64_t message_id)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"message_id\":%lld", (long long)message_id);
    return qb_sim_find(f->sim, 0, "delete_msg", needle) >= 0;
}

TEST(quiet_recall_removes_chat_but_not_questions_speakers_or_admins)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"announce_before\": []");
    add_talk(&f, "2026-11-23 08:30 1h");
    size_t before = h_fx_sends(&f);
    qb_clock_fake(MON_8H + 30 * MIN);
    CHECK(h_fx_wait_with(&f, "send_group_msg", "分享开始啦", 1));
    CHECK(strstr(h_fx_last_send(&f), "分享期间请勿闲聊") != NULL);
    /* a member chats: recalled, with one reminder */
    int64_t m1 = qb_sim_group_msg(f.sim, "100", "20001", "大家晚上好");
    CHECK(h_fx_wait_with(&f, "delete_msg", NULL, 1));
    CHECK(recalled(&f, m1));
    CHECK(h_fx_wait_with(&f, "send_group_msg", "闲聊消息会被撤回", 1));
    CHECK(strstr(h_fx_last_send_with(&f, "闲聊消息会被撤回"), AT("20001")) != NULL);
    int64_t m2 = qb_sim_group_msg(f.sim, "100", "20001", "有人吗");
    CHECK(h_fx_wait_with(&f, "delete_msg", NULL, 2));
    CHECK(recalled(&f, m2));
    /* a question is queued and stays */
    int64_t q = qb_sim_group_msg(f.sim, "100", "20004", "提问 怎么安装工具链？");
    CHECK(h_fx_wait_with(&f, "send_group_msg", "已记录你的问题，第 1 个", 1));
    int64_t q2 = qb_sim_group_msg(f.sim, "100", "20001", "/q 支持 Windows 吗");
    CHECK(h_fx_wait_with(&f, "send_group_msg", "已记录你的问题，第 2 个", 1));
    /* the speaker and an admin speak freely */
    int64_t s1 = qb_sim_group_msg(f.sim, "100", "20003", "先讲环境搭建");
    int64_t a1 = qb_sim_group_msg(f.sim, "100", "20002", "补充：文档链接在群公告");
    h_run_for(f.loop, 1.0);
    CHECK(!recalled(&f, q) && !recalled(&f, q2) && !recalled(&f, s1) && !recalled(&f, a1));
    CHECK_INT(qb_sim_count(f.sim, "delete_msg"), 2);
    CHECK_INT(h_fx_count_with(&f, "send_group_msg", "闲聊消息会被撤回"), 1); /* one reminder */
    CHECK_INT(h_fx_number(&f, "SELECT COUNT(*) FROM talks_attendance WHERE talk_id = 1", NULL), 4);
    /* after the talk, chat is left alone */
    qb_clock_fake(MON_8H + 91 * MIN);
    CHECK(h_fx_wait_with(&f, "send_group_msg", "分享结束", 1));
    int64_t late = qb_sim_group_msg(f.sim, "100", "20001", "讲得真好");
    h_run_for(f.loop, 1.0);
    CHECK(!recalled(&f, late));
    CHECK(h_fx_sends(&f) > before);
    h_fx_done(&f);
}

TEST(quiet_mute_turns_whole_group_mute_on_at_start_and_off_at_end)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"announce_before\": [], \"quiet\": \"mute\"");
    add_talk(&f, "2026-11-23 09:00 30m");
    h_run_for(f.loop, 1.2);
    CHECK_INT(qb_sim_count(f.sim, "set_group_whole_ban"), 0);
    qb_clock_fake(MON_8H + HOUR);
    CHECK(h_fx_wait_with(&f, "set_group_whole_ban", "\"enable\":true", 1));
    CHECK(h_fx_wait_with(&f, "send_group_msg", "分享开始啦", 1));
    CHECK(strstr(h_fx_last_send_with(&f, "分享开始啦"), "全员禁言") != NULL);
    /* members cannot speak, the speaker is not an admin: the admin can */
    CHECK(qb_sim_group_msg(f.sim, "100", "20001", "hello") < 0);
    CHECK(qb_sim_group_msg(f.sim, "100", "20002", "我是管理员，可以发言") > 0);
    h_run_for(f.loop, 1.0);
    CHECK_INT(h_fx_count_with(&f, "set_group_whole_ban", "\"enable\":false"), 0);
    qb_clock_fake(MON_8H + HOUR + 30 * MIN);
    CHECK(h_fx_wait_with(&f, "set_group_whole_ban", "\"enable\":false", 1));
    CHECK(qb_sim_group_msg(f.sim, "100", "20001", "终于可以说话了") > 0);
    CHECK_INT(qb_sim_count(f.sim, "set_group_whole_ban"), 2);
    h_fx_done(&f);
}

TEST(questions_are_posted_in_order_marked_and_summarised_in_files)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"announce_before\": []");
    add_talk(&f, "2026-11-23 08:30 1h");
    qb_clock_fake(MON_8H + 31 * MIN);
    CHECK(h_fx_wait_with(&f, "send_group_msg", "分享开始啦", 1));
    h_fx_ask(&f, "20003", "/talk qa"); /* nothing yet */
    CHECK(strstr(h_fx_last_send(&f), "还没有收到提问") != NULL);
    qb_sim_group_msg(f.sim, "100", "20003", "第一部分：安装 rustup");
    h_fx_ask(&f, "20001", "提问 第一个问题：要装 VS 吗");
    h_fx_ask(&f, "20004", "/q 第二个问题 <script>alert(1)</script>");
    h_fx_ask(&f, "20001", "提问 第三个问题 & 更多");
    qb_sim_group_msg(f.sim, "100", "20003", "第二部分：<b>cargo</b> 的用法");
    const char *p = h_fx_ask(&f, "20003", "开始答疑");
    const char *q1 = strstr(p, "1. ⬜ Alice：第一个问题"), *q2 = strstr(p, "2. ⬜ Dave：第二个问题"),
               *q3 = strstr(p, "3. ⬜ Alice：第三个问题");
    CHECK(q1 && q2 && q3 && q1 < q2 && q2 < q3);
    /* a member's 已答 is chat during the talk (recalled), it marks nothing */
    qb_sim_group_msg(f.sim, "100", "20001", "已答 1");
    CHECK(h_fx_wait_with(&f, "send_group_msg", "闲聊消息会被撤回", 1));
    CHECK(strstr(h_fx_ask(&f, "20003", "已答 2"), "第 2 个问题已标记为已答") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20003", "/q done 9"), "没有第 9 个问题") != NULL);
    /* the speaker ends early: the final list, then the summary */
    h_fx_ask(&f, "20003", "结束分享");
    CHECK(h_fx_wait_with(&f, "send_group_msg", "纪要文件：", 1));
    p = h_fx_last_send_with(&f, "分享结束，问题清单");
    CHECK(strstr(p, "2. ✅ Dave") != NULL && strstr(p, "1. ⬜ Alice") != NULL);
    p = h_fx_last_send_with(&f, "纪要文件：");
    CHECK(strstr(p, "主讲发言 2 条，提问 3 个（已答 1），参与 3 人") != NULL);
    CHECK(strstr(p, "talk-1.md / talk-1.html") != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/exports/talks/talk-1.md", f.dir);
    char *md = slurp(path);
    CHECK(md != NULL);
    if (md) {
        const char *s1 = strstr(md, "第一部分：安装 rustup"), *s2 = strstr(md, "第二部分");
        CHECK(s1 && s2 && s1 < s2);
        CHECK(strstr(md, "2. [x] Dave：第二个问题") != NULL);
        CHECK(strstr(md, "参与人数：3") != NULL);
    }
    snprintf(path, sizeof path, "%s/exports/talks/talk-1.html", f.dir);
    char *html = slurp(path);
    CHECK(html != NULL);
    if (html) {
        CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
        CHECK(strstr(html, "<script>") == NULL);
        CHECK(strstr(html, "&lt;b&gt;cargo&lt;/b&gt;") != NULL);
        CHECK(strstr(html, "第三个问题 &amp; 更多") != NULL);
    }
    /* the end schedule later does nothing more */
    size_t n = h_fx_sends(&f);
    advance_to(&f, MON_8H + 2 * HOUR);
    CHECK_INT(h_fx_sends(&f), n);
    h_fx_done(&f);
}

TEST(move_reannounces_and_the_old_times_stay_silent)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "");
    add_talk(&f, "2026-11-27 20:00 90m");
    const char *p = h_fx_ask(&f, "20002", "改期 1 2026-11-28 20:00");
    CHECK(strstr(p, "分享改期") != NULL && strstr(p, "11月28日 周六 20:00") != NULL);
    CHECK(strstr(p, AT("20003")) != NULL);
    advance_to(&f, FRI_20H - 3 * DAY); /* the old 3-day announcement time */
    advance_to(&f, FRI_20H - 3 * DAY + 30 * SEC);
    CHECK_INT(announcements(&f), 0);
    qb_clock_fake(FRI_20H + DAY - 3 * DAY);
    CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, 1));
    CHECK(strstr(h_fx_last_send_with(&f, ANNOUNCE), "11月28日 周六 20:00") != NULL);
    /* the old start passes quietly */
    advance_to(&f, FRI_20H + MIN);
    CHECK_INT(h_fx_count_with(&f, "send_group_msg", "分享开始啦"), 0);
    CHECK(strstr(h_fx_ask(&f, "20002", "改期 1 11/29 20:00"), "多种理解") != NULL);
    h_fx_done(&f);
}

TEST(cancel_announces_and_nothing_fires_after)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"quiet\": \"mute\"");
    add_talk(&f, "2026-11-27 20:00 90m");
    CHECK(strstr(h_fx_ask(&f, "20001", "取消分享 1"), "只有群管理员") != NULL);
    const char *p = h_fx_ask(&f, "20002", "/talk cancel 1");
    CHECK(strstr(p, "分享取消") != NULL && strstr(p, "Rust 入门") != NULL);
    size_t n = h_fx_sends(&f);
    const int64_t at[] = {3 * DAY, DAY, HOUR, 10 * MIN, 0, -2 * HOUR};
    for (size_t i = 0; i < 6; i++)
        advance_to(&f, FRI_20H - at[i]);
    CHECK_INT(h_fx_sends(&f), n);
    CHECK_INT(qb_sim_count(f.sim, "set_group_whole_ban"), 0);
    CHECK(strstr(h_fx_ask(&f, "20001", "分享列表"), "近期没有安排分享") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "取消分享 1"), "已经取消了") != NULL);
    h_fx_done(&f);
}

TEST(a_restart_between_scheduling_and_the_announcement_announces_once)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "");
    add_talk(&f, "2026-11-27 20:00 90m");
    h_fx_restart(&f);
    qb_clock_fake(FRI_20H - 3 * DAY);
    CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, 1));
    h_run_for(f.loop, 1.2);
    h_fx_restart(&f); /* re-arming at start must not repeat it */
    h_run_for(f.loop, 1.5);
    CHECK_INT(announcements(&f), 1);
    qb_clock_fake(FRI_20H - DAY);
    CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, 2));
    h_run_for(f.loop, 1.2);
    CHECK_INT(announcements(&f), 2);
    h_fx_done(&f);
}

TEST(an_announcement_later_than_stale_after_is_skipped)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "");
    add_talk(&f, "2026-11-27 20:00 90m");
    h_fx_stop(&f); /* the bot is down over the 3-day announcement ... */
    qb_clock_fake(FRI_20H - 3 * DAY + 40 * MIN);
    h_fx_start_bot(&f); /* ... and back 40 minutes late: stale (30m) */
    h_run_for(f.loop, 2.0);
    CHECK_INT(announcements(&f), 0);
    CHECK(h_logged("skipped: stale"));
    h_fx_stop(&f); /* down again over the 1-day one, back 5 minutes late: sent */
    qb_clock_fake(FRI_20H - DAY + 5 * MIN);
    h_fx_start_bot(&f);
    CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, 1));
    CHECK(strstr(h_fx_last_send_with(&f, ANNOUNCE), "还有 23小时55分钟 开始") != NULL);
    /* down over both the 1-hour and the 10-minute ones: only the 10-minute one, once */
    h_fx_stop(&f);
    qb_clock_fake(FRI_20H - 8 * MIN);
    h_fx_start_bot(&f);
    CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, 2));
    h_run_for(f.loop, 1.2);
    CHECK_INT(announcements(&f), 2);
    CHECK(strstr(h_fx_last_send_with(&f, ANNOUNCE), "还有 8分钟 开始") != NULL);
    h_fx_done(&f);
}

TEST(talks_in_the_rules_file_are_created_once)
{
    struct h_fx f;
    fx_start(&f, MON_8H,
             "\"talks\": [\"2026-11-27 20:00|90m|20003,20004|规则里的分享\","
             " \"2026-11-20 20:00|90m|20003|已经过去的\"]");
    qb_sim_group_msg(f.sim, "100", "20001", "早"); /* the plugin learns the group */
    h_run_for(f.loop, 1.3);
    const char *p = h_fx_ask(&f, "20001", "分享列表");
    CHECK(strstr(p, "#1 11月27日 周五 20:00") != NULL && strstr(p, "规则里的分享") != NULL);
    CHECK(strstr(p, "已经过去的") == NULL);
    CHECK(h_logged("not scheduled"));
    h_fx_restart(&f);
    h_run_for(f.loop, 1.3);
    CHECK_INT(h_fx_number(&f, "SELECT COUNT(*) FROM talks_talks", NULL), 1);
    qb_clock_fake(FRI_20H - 3 * DAY);
    CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, 1));
    p = h_fx_last_send_with(&f, ANNOUNCE);
    CHECK(strstr(p, AT("20003")) != NULL && strstr(p, AT("20004")) != NULL);
    /* the entry leaves the file: the talk is cancelled, nothing more is announced */
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
               " \"plugins\": {\"talks\": {\"enabled\": true}}}");
    CHECK(qb_bot_reload_rules(f.bot) == QB_OK);
    h_run_for(f.loop, 1.3);
    advance_to(&f, FRI_20H - DAY);
    CHECK_INT(announcements(&f), 1);
    CHECK(strstr(h_fx_ask(&f, "20001", "分享列表"), "近期没有安排分享") != NULL);
    h_fx_done(&f);
}

/* A talk in the rules file for a group where nobody has said anything since the bot first
 * started: it is created at start-up and announced on time, once, across a restart. */
TEST(a_quiet_group_gets_its_rules_file_talk_announced)
{
    struct h_fx f;
    fx_start(&f, MON_8H, "\"talks\": [\"2026-11-27 20:00|90m|20003|规则里的分享\"]");
    h_run_for(f.loop, 1.3);
    h_fx_restart(&f); /* the talk is made once, whatever the restarts */
    h_run_for(f.loop, 1.3);
    CHECK_INT(h_fx_number(&f, "SELECT COUNT(*) FROM talks_talks", NULL), 1);
    qb_clock_fake(FRI_20H - 3 * DAY);
    CHECK(h_fx_wait_with(&f, "send_group_msg", ANNOUNCE, 1));
    const char *p = h_fx_last_send_with(&f, ANNOUNCE);
    CHECK(strstr(p, "\"group_id\":100") != NULL);
    CHECK(strstr(p, "规则里的分享") != NULL && strstr(p, AT("20003")) != NULL);
    h_run_for(f.loop, 1.3);
    CHECK_INT(announcements(&f), 1);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), 1); /* nothing else was said */
    h_fx_done(&f);
}

TEST(check_hook_rejects_bad_settings)
{
    char *before[] = {"3d", "1h"}, *bad_before[] = {"soon"};
    char *talks[] = {"2026-12-05 20:00|90m|20003|主题"}, *bad_talks[] = {"12/5 20:00|90m|20003|x"};
    struct talks_settings s = {.announce_before = {before, 2},
                               .talks = {talks, 1},
                               .late_policy = "send",
                               .quiet = "recall",
                               .stale_after_ms = 30 * MIN};
    char why[300] = "";
    CHECK_INT(qb_plugin_talks.check(&s, why, sizeof why), QB_OK);
    s.quiet = "silence";
    CHECK_INT(qb_plugin_talks.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "quiet") != NULL);
    s.quiet = "mute";
    s.late_policy = "later";
    CHECK_INT(qb_plugin_talks.check(&s, why, sizeof why), QB_EINVAL);
    s.late_policy = "skip";
    s.announce_before = (struct qb_strlist){bad_before, 1};
    CHECK_INT(qb_plugin_talks.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "soon") != NULL);
    s.announce_before = (struct qb_strlist){before, 2};
    s.talks = (struct qb_strlist){bad_talks, 1};
    CHECK_INT(qb_plugin_talks.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "YYYY-MM-DD HH:MM") != NULL);
}

int main(void)
{
    RUN(announcements_fire_at_each_offset_and_the_last_one_mentions_everyone);
    RUN(bad_input_is_refused_with_a_reason);
    RUN(quiet_recall_removes_chat_but_not_questions_speakers_or_admins);
    RUN(quiet_mute_turns_whole_group_mute_on_at_start_and_off_at_end);
    RUN(questions_are_posted_in_order_marked_and_summarised_in_files);
    RUN(move_reannounces_and_the_old_times_stay_silent);
    RUN(cancel_announces_and_nothing_fires_after);
    RUN(a_restart_between_scheduling_and_the_announcement_announces_once);
    RUN(an_announcement_later_than_stale_after_is_skipped);
    RUN(talks_in_the_rules_file_are_created_once);
    RUN(a_quiet_group_gets_its_rules_file_talk_announced);
    RUN(check_hook_rejects_bad_settings);
    return test_done();
}
