/*
 * test_ranking.c — the ranking plugin end to end through qunbot-sim with a fake clock:
 * message points (minimum length, cooldown, diminishing in a burst, daily cap by local
 * day, repeated text), the reply bonus once per distinct replier and the mutual-boosting
 * report, invitation points taken back when the invitee leaves within 7 days, leaderboard
 * order and period boundaries over every ledger row, hide/show, admin grants with reason
 * and actor (refused for members), levels with special titles, and the levels check hook.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

extern const struct qb_plugin qb_plugin_ranking;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_ranking, NULL};

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
/* Sunday 2026-11-22 23:00 in Asia/Shanghai: one hour before a new day, week (Monday). */
#define SUNDAY_23H 1795359600000LL

/* ---- fixture ---- */

/* Start at fake time t0 with group 100 under `settings` (the ranking plugin's JSON object
 * body, may be ""). Members: Alice 20001, Bob 20002 (admin), Carol 20003, Dave 20004. */
static void fx_start(struct h_fx *f, int64_t t0, const char *settings)
{
    h_fx_init(f, t0, test_plugins, NULL);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
             " \"plugins\": {\"ranking\": {\"enabled\": true%s%s}}}",
             settings[0] ? ", " : "", settings);
    h_fx_rules(f, "main.json", json);
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    qb_sim_add_member(f->sim, "100", "20003", "Carol", "member");
    qb_sim_add_member(f->sim, "100", "20004", "Dave", "member");
    h_fx_boot(f, "");
}

/* Events are handled in order: once an answer to a later command arrives, everything sent
 * before it has been handled. */
static void settle(struct h_fx *f)
{
    h_fx_ask(f, "20004", "/rank 总");
}

/* A chat message (no answer expected); returns its message id. */
static int64_t say(struct h_fx *f, const char *user, const char *text)
{
    int64_t id = qb_sim_group_msg(f->sim, "100", user, text);
    CHECK(id > 0);
    return id;
}

/* A group message with the given segments (JSON array body), as NapCat would post it. */
static void say_segments(struct h_fx *f, const char *user, const char *name, const char *segs)
{
    char frame[2048];
    snprintf(frame, sizeof frame,
             "{\"time\":%lld,\"self_id\":10001,\"post_type\":\"message\",\"message_type\":"
             "\"group\",\"sub_type\":\"normal\",\"message_id\":%lld,\"group_id\":100,"
             "\"user_id\":%s,\"anonymous\":null,\"font\":14,\"sender\":{\"user_id\":%s,"
             "\"nickname\":\"%s\",\"card\":\"\",\"role\":\"%s\"},\"message\":[%s],"
             "\"raw_message\":\"\",\"message_format\":\"array\"}",
             (long long)(qb_clock_now() / 1000), (long long)f->next_msg++, user, user, name,
             strcmp(user, "20002") ? "member" : "admin", segs);
    qb_sim_send_raw(f->sim, frame, strlen(frame));
}

/* Sum of the ledger for a member (every source), straight from the database. */
static long long ledger_sum(struct h_fx *f, const char *user, const char *ref_like)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f->bot->store),
                       "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE group_id = '100'"
                       " AND user_id = ?1 AND (?2 IS NULL OR ref LIKE ?2)",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ref_like, -1, SQLITE_STATIC);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static long long ledger_rows(struct h_fx *f, const char *user, const char *ref_like)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f->bot->store),
                       "SELECT COUNT(*) FROM points_ledger WHERE group_id = '100'"
                       " AND user_id = ?1 AND ref LIKE ?2",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ref_like, -1, SQLITE_STATIC);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

/* Another plugin's award (check-ins), written as the core would. */
static void foreign_points(struct h_fx *f, const char *user, int delta)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f->bot->store),
                       "INSERT INTO points_ledger(ts, platform, group_id, user_id, delta, reason,"
                       " source) VALUES (?1, 'qq', '100', ?2, ?3, '签到', 'checkin')",
                       -1, &st, NULL);
    sqlite3_bind_int64(st, 1, qb_clock_now());
    sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, delta);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    qb_store_commit(f->bot->store);
}

/* Position of needle in hay, or -1. */
static long pos(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? (long)(p - hay) : -1;
}

/* ---- tests ---- */

TEST(message_points_need_length_respect_cooldown_and_skip_repeats)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H - 2 * HOUR, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    say(&f, "20001", "你好");   /* 2 characters: too short */
    say(&f, "20001", "  ok  "); /* trimmed: too short */
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 0);
    say(&f, "20001", "今天天气不错呀"); /* 7 characters */
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 1);
    qb_clock_advance(10 * SEC);
    say(&f, "20001", "我们去爬山吧朋友"); /* inside the 60 s cooldown */
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 1);
    qb_clock_advance(61 * SEC);
    say(&f, "20001", "我们去爬山吧朋友"); /* same text as the previous message */
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 1);
    qb_clock_advance(61 * SEC);
    say(&f, "20001", "明天也一起去吧"); /* 2nd counted in the burst window */
    qb_clock_advance(61 * SEC);
    say(&f, "20001", "带上相机拍照片"); /* 3rd: still full value */
    qb_clock_advance(61 * SEC);
    say(&f, "20001", "再带一些零食吧"); /* 4th: half a point, carried */
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 3);
    qb_clock_advance(61 * SEC);
    say(&f, "20001", "还有水和帽子哦"); /* 5th: another half → one point */
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 4);
    CHECK_INT(ledger_rows(&f, "20001", "msg:100:%"), 4);
    /* a quiet ten minutes resets the burst: full value again */
    qb_clock_advance(11 * MIN);
    say(&f, "20001", "休息好了继续聊");
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 5);
    /* commands earn nothing */
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20004", NULL), 0);
    h_fx_done(&f);
}

TEST(daily_cap_counts_per_local_day)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H, "\"daily_cap\": 3, \"cooldown\": \"0s\", \"burst_window\": \"0s\"");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    const char *texts[] = {"第一条消息哦", "第二条消息哦", "第三条消息哦", "第四条消息哦",
                           "第五条消息哦"};
    for (int i = 0; i < 5; i++)
        say(&f, "20001", texts[i]);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 3);
    qb_clock_advance(30 * MIN); /* 23:30 local: still the same day */
    say(&f, "20001", "第六条消息哦");
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 3);
    qb_clock_advance(31 * MIN); /* 00:01 local: a new day */
    say(&f, "20001", "新的一天开始了");
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 4);
    h_fx_done(&f);
}

TEST(reply_bonus_once_per_distinct_replier_per_day)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H - 12 * HOUR, "\"message_points\": 0");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    int64_t id = say(&f, "20001", "有人知道附近哪家咖啡好喝吗");
    char segs[512];
    snprintf(segs, sizeof segs,
             "{\"type\":\"reply\",\"data\":{\"id\":\"%lld\"}},"
             "{\"type\":\"text\",\"data\":{\"text\":\"楼下那家不错\"}}",
             (long long)id);
    say_segments(&f, "20002", "Bob", segs);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 2);
    say_segments(&f, "20002", "Bob", segs); /* Bob again the same day: no more */
    say_segments(&f, "20002", "Bob",
                 "{\"type\":\"at\",\"data\":{\"qq\":\"20001\"}},"
                 "{\"type\":\"text\",\"data\":{\"text\":\" 还有街角那家\"}}");
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 2);
    /* a different member's @ counts */
    say_segments(&f, "20003", "Carol",
                 "{\"type\":\"at\",\"data\":{\"qq\":\"20001\"}},"
                 "{\"type\":\"text\",\"data\":{\"text\":\" 我也想知道\"}}");
    /* answering oneself does not */
    say_segments(&f, "20001", "Alice", segs);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 4);
    CHECK_INT(ledger_rows(&f, "20001", "reply:%"), 2);
    CHECK_INT(ledger_sum(&f, "20002", NULL), 0);
    /* the next local day Bob's reply counts again */
    qb_clock_advance(13 * HOUR);
    say_segments(&f, "20002", "Bob", segs);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 6);
    h_fx_done(&f);
}

/* Bob and Carol answer only each other for two days; Alice's bonus comes from both. */
TEST(pairs_report_finds_mutual_boosting_for_admins_only)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H - 12 * HOUR, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    for (int day = 0; day < 2; day++) {
        char segs[512];
        int64_t b = say(&f, "20002", day ? "第二天我又来了" : "大家好我是小鲍");
        int64_t c = say(&f, "20003", day ? "第二天继续冲呀" : "大家好我是小卡");
        int64_t a = say(&f, "20001", day ? "今天有什么新闻" : "今天天气真不错");
        snprintf(segs, sizeof segs,
                 "{\"type\":\"reply\",\"data\":{\"id\":\"%lld\"}},"
                 "{\"type\":\"text\",\"data\":{\"text\":\"说得好\"}}",
                 (long long)b);
        say_segments(&f, "20003", "Carol", segs);
        snprintf(segs, sizeof segs,
                 "{\"type\":\"reply\",\"data\":{\"id\":\"%lld\"}},"
                 "{\"type\":\"text\",\"data\":{\"text\":\"你也是\"}}",
                 (long long)c);
        say_segments(&f, "20002", "Bob", segs);
        snprintf(segs, sizeof segs,
                 "{\"type\":\"reply\",\"data\":{\"id\":\"%lld\"}},"
                 "{\"type\":\"text\",\"data\":{\"text\":\"同意\"}}",
                 (long long)a);
        say_segments(&f, day ? "20002" : "20003", day ? "Bob" : "Carol", segs);
        settle(&f);
        qb_clock_advance(DAY);
    }
    CHECK_INT(ledger_sum(&f, "20002", "reply:%"), 4);
    const char *p = h_fx_ask(&f, "20002", "/rank pairs");
    CHECK(strstr(p, "Bob(20002)") != NULL && strstr(p, "Carol(20003)") != NULL);
    CHECK(strstr(p, "Alice") == NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "互刷"), "Carol(20003)") != NULL);
    /* members: /rank pairs is refused in one line, the bare word is just chat */
    CHECK(strstr(h_fx_ask(&f, "20001", "/rank pairs"), "只有群管理员") != NULL);
    size_t before = qb_sim_count(f.sim, "send_group_msg");
    say(&f, "20001", "互刷");
    h_run_for(f.loop, 0.5);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), before);
    h_fx_done(&f);
}

TEST(invite_points_are_taken_back_when_the_invitee_leaves_within_7_days)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    CHECK_INT(qb_sim_member_join(f.sim, "100", "30001", "invite", "20001"), QB_OK);
    CHECK_INT(qb_sim_member_join(f.sim, "100", "30002", "invite", "20001"), QB_OK);
    CHECK_INT(qb_sim_member_join(f.sim, "100", "30003", "approve", "20002"), QB_OK);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 40);
    CHECK_INT(ledger_sum(&f, "20002", NULL), 0); /* approving is not inviting */
    qb_clock_advance(3 * DAY);
    CHECK_INT(qb_sim_member_leave(f.sim, "100", "30001", "leave", NULL), QB_OK);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 20);
    CHECK_INT(ledger_rows(&f, "20001", "invite-revoke:100:30001"), 1);
    /* after 7 days the invitation is kept */
    qb_clock_advance(5 * DAY);
    CHECK_INT(qb_sim_member_leave(f.sim, "100", "30002", "leave", NULL), QB_OK);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 20);
    /* inviting the same person again earns nothing */
    CHECK_INT(qb_sim_member_join(f.sim, "100", "30001", "invite", "20001"), QB_OK);
    settle(&f);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 20);
    h_fx_done(&f);
}

TEST(leaderboard_orders_members_and_respects_period_boundaries)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    say(&f, "20001", "hi");
    say(&f, "20003", "hi");
    say(&f, "20004", "hi");
    /* Sunday 23:00: Carol earns 5 last week */
    CHECK(strstr(h_fx_ask(&f, "20002", "/points add 20003 5 周日分享"), "加 5 分") != NULL);
    qb_clock_advance(2 * HOUR); /* Monday 01:00: a new day, week (and not a new month) */
    h_fx_ask(&f, "20002", "加分 20001 3 回答问题");
    h_fx_ask(&f, "20002", "加分 20004 7 组织活动");
    const char *p = h_fx_ask(&f, "20001", "排行");
    CHECK(strstr(p, "本周积分榜（11月23日起）") != NULL);
    CHECK(pos(p, "Dave — 7 分") >= 0 && pos(p, "Alice — 3 分") > pos(p, "Dave — 7 分"));
    CHECK(strstr(p, "Carol") == NULL); /* last week's point does not count this week */
    p = h_fx_ask(&f, "20001", "/rank 日");
    CHECK(strstr(p, "今日积分榜") != NULL && strstr(p, "Carol") == NULL);
    p = h_fx_ask(&f, "20001", "/rank month");
    CHECK(strstr(p, "本月积分榜（11月1日起）") != NULL && strstr(p, "Carol — 5 分") != NULL);
    p = h_fx_ask(&f, "20001", "积分榜 总");
    CHECK(pos(p, "1. Dave — 7 分") >= 0 && pos(p, "2. Carol — 5 分") > pos(p, "1. Dave") &&
          pos(p, "3. Alice — 3 分") > pos(p, "2. Carol"));
    /* every source of the ledger counts (a check-in from another plugin) */
    foreign_points(&f, "20001", 10);
    p = h_fx_ask(&f, "20001", "/rank");
    CHECK(pos(p, "1. Alice — 13 分") >= 0 && pos(p, "2. Dave — 7 分") > 0);
    /* hide: off the board but still earning and seeing one's own points */
    CHECK(strstr(h_fx_ask(&f, "20004", "/rank hide"), "隐藏") != NULL);
    h_fx_ask(&f, "20002", "加分 20004 1 帮忙");
    p = h_fx_ask(&f, "20001", "/rank");
    CHECK(strstr(p, "Dave") == NULL && strstr(p, "Alice") != NULL);
    p = h_fx_ask(&f, "20004", "我的积分");
    CHECK(strstr(p, "累计 8 分") != NULL && strstr(p, "已在排行榜上隐藏") != NULL);
    h_fx_ask(&f, "20004", "/rank show");
    CHECK(strstr(h_fx_ask(&f, "20001", "/rank"), "2. Dave — 8 分") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20001", "/rank 年"), "用法") != NULL);
    h_fx_done(&f);
}

TEST(admin_grants_record_reason_and_actor_and_are_refused_for_members)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    const char *p = h_fx_ask(&f, "20002", "加分 20001 5 分享了好资料");
    CHECK(strstr(p, "加 5 分（理由：分享了好资料），现在共 5 分") != NULL);
    CHECK(strstr(p, "\"qq\":\"20001\"") != NULL); /* the member is @mentioned */
    /* an @mention as the target, with /points deduct */
    size_t before = qb_sim_count(f.sim, "send_group_msg");
    say_segments(&f, "20002", "Bob",
                 "{\"type\":\"text\",\"data\":{\"text\":\"/points deduct \"}},"
                 "{\"type\":\"at\",\"data\":{\"qq\":\"20001\"}},"
                 "{\"type\":\"text\",\"data\":{\"text\":\" 2 刷屏\"}}");
    CHECK(h_fx_wait_sends(&f, before + 1));
    CHECK(strstr(h_fx_last_send(&f), "扣 2 分（理由：刷屏），现在共 3 分") != NULL);
    qb_store_commit(f.bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f.bot->store),
                       "SELECT delta, reason, actor FROM points_ledger WHERE user_id = '20001'"
                       " ORDER BY id",
                       -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 5);
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "分享了好资料");
    CHECK_STR((const char *)sqlite3_column_text(st, 2), "20002");
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), -2);
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "刷屏");
    CHECK_STR((const char *)sqlite3_column_text(st, 2), "20002");
    sqlite3_finalize(st);
    /* replying to a member's message names them */
    int64_t id = say(&f, "20003", "我整理了一份学习笔记");
    char segs[512];
    snprintf(segs, sizeof segs,
             "{\"type\":\"reply\",\"data\":{\"id\":\"%lld\"}},"
             "{\"type\":\"text\",\"data\":{\"text\":\"加分 4 笔记很有用\"}}",
             (long long)id);
    before = qb_sim_count(f.sim, "send_group_msg");
    say_segments(&f, "20002", "Bob", segs);
    CHECK(h_fx_wait_sends(&f, before + 1));
    CHECK(strstr(h_fx_last_send(&f), "加 4 分（理由：笔记很有用）") != NULL);
    CHECK_INT(ledger_sum(&f, "20003", "admin:%"), 4);
    /* a member cannot change anyone's points */
    CHECK(strstr(h_fx_ask(&f, "20001", "加分 20003 100 哈哈"), "只有群管理员") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20003", "/points deduct 20001 3 报复"), "只有群管理员") != NULL);
    CHECK_INT(ledger_sum(&f, "20003", "admin:%"), 4);
    /* bad arguments: one usage line, nothing written */
    CHECK(strstr(h_fx_ask(&f, "20002", "加分 20001"), "用法：加分") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "/points add 20001 abc 理由"), "用法：/points") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "/points give 20001 5 理由"), "用法：/points") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "扣分 20001 3"), "用法：扣分") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "加分 20002 5 自己"), "不能给自己加分") != NULL);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 3);
    CHECK_INT(ledger_sum(&f, "20002", NULL), 0);
    /* /me shows the total, which is the ledger's sum over every source */
    foreign_points(&f, "20001", 4);
    p = h_fx_ask(&f, "20001", "/me");
    CHECK(strstr(p, "累计 7 分") != NULL);
    CHECK_INT(ledger_sum(&f, "20001", NULL), 7);
    h_fx_done(&f);
}

static bool title_set(void *ud)
{
    struct h_fx *f = ud;
    return qb_sim_count(f->sim, "set_group_special_title") > 0;
}

TEST(levels_show_in_me_and_set_the_special_title)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H,
             "\"levels\": [\"0:新手\", \"10:活跃成员\", \"50:核心成员\"],"
             " \"set_special_title\": true");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    const char *p = h_fx_ask(&f, "20001", "/me");
    CHECK(strstr(p, "等级：新手 · 距「活跃成员」还差 10 分") != NULL);
    h_fx_ask(&f, "20002", "加分 20001 12 活动组织得好");
    CHECK(h_run_until(f.loop, title_set, &f, 5));
    long i = qb_sim_find(f.sim, 0, "set_group_special_title", "\"user_id\":20001");
    CHECK(i >= 0);
    CHECK(i >= 0 && strstr(qb_sim_call_at(f.sim, (size_t)i)->params, "活跃成员") != NULL);
    p = h_fx_ask(&f, "20001", "我的积分");
    CHECK(strstr(p, "等级：活跃成员 · 距「核心成员」还差 38 分") != NULL);
    h_fx_ask(&f, "20002", "加分 20001 1 再来一分"); /* same level: no new title */
    h_run_for(f.loop, 0.3);
    CHECK_INT(qb_sim_count(f.sim, "set_group_special_title"), 1);
    h_fx_done(&f);
}

TEST(levels_check_hook_rejects_a_descending_list)
{
    struct h_fx f;
    fx_start(&f, SUNDAY_23H, "");
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"ranking\": "
               "{\"levels\": [\"0:新手\", \"500:核心成员\", \"100:活跃成员\"]}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("levels must go up"));
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"ranking\": "
               "{\"levels\": [\"新手\"]}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("should be points:title"));
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"ranking\": "
               "{\"levels\": [\"0:新手\", \"100：活跃成员\"]}}}");
    CHECK_INT(qb_bot_reload_rules(f.bot), QB_OK);
    h_fx_done(&f);
}

int main(void)
{
    RUN(message_points_need_length_respect_cooldown_and_skip_repeats);
    RUN(daily_cap_counts_per_local_day);
    RUN(reply_bonus_once_per_distinct_replier_per_day);
    RUN(pairs_report_finds_mutual_boosting_for_admins_only);
    RUN(invite_points_are_taken_back_when_the_invitee_leaves_within_7_days);
    RUN(leaderboard_orders_members_and_respects_period_boundaries);
    RUN(admin_grants_record_reason_and_actor_and_are_refused_for_members);
    RUN(levels_show_in_me_and_set_the_special_title);
    RUN(levels_check_hook_rejects_a_descending_list);
    return test_done();
}
