/*
 * test_insight.c — the insight plugin end to end through qunbot-sim with a fake clock:
 * group messages fill the rollup tables, a reply segment and an @ make edges and answer a
 * question, duplicates and history back-filled after a restart are counted once, /report
 * answers admins with the right numbers (and refuses members), /forgetme deletes in two
 * steps and is audited; 沉默成员 (order, left members, nobody silent), 核心成员 (PageRank
 * order with stage and why, bad periods), /mydata answered privately with the asker's own
 * figures, /forgetme's edges, audit and the 5-minute window, the Monday digest (seen admins
 * only, once, late by up to 6 hours but not more) and the text retention prune (aggregates
 * stay, hot words forget).
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

extern const struct qb_plugin qb_plugin_insight;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_insight, NULL};

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
/* Monday 2026-11-23 08:00 in Asia/Shanghai (00:00 UTC). */
#define MON_8H 1795392000000LL

/* Group 100 (Asia/Shanghai) with the insight settings `settings` (JSON object body, may be
 * ""), Monday 08:00. Alice 20001, Bob 20002 (admin), Carol 20003, Dave 20004, Eve 20005,
 * Olga 20006 (owner). The bot is not started. */
static void fx_prepare(struct h_fx *f, const char *settings)
{
    h_fx_init(f, MON_8H, test_plugins, NULL);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
             " \"plugins\": {\"insight\": {\"enabled\": true%s%s}}}",
             settings[0] ? ", " : "", settings);
    h_fx_rules(f, "main.json", json);
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    qb_sim_add_member(f->sim, "100", "20003", "Carol", "member");
    qb_sim_add_member(f->sim, "100", "20004", "Dave", "member");
    qb_sim_add_member(f->sim, "100", "20005", "Eve", "member");
    qb_sim_add_member(f->sim, "100", "20006", "Olga", "owner");
}

static void fx_start_with(struct h_fx *f, const char *settings)
{
    fx_prepare(f, settings);
    h_fx_boot(f, "");
}

static void fx_start(struct h_fx *f)
{
    fx_start_with(f, "");
}

/* A group message with a chosen id and raw segments (JSON array body), as NapCat posts it. */
static void say_segs(struct h_fx *f, const char *user, const char *role, long long message_id,
                     const char *segs)
{
    char frame[2048];
    snprintf(frame, sizeof frame,
             "{\"time\":%lld,\"self_id\":10001,\"post_type\":\"message\",\"message_type\":"
             "\"group\",\"sub_type\":\"normal\",\"message_id\":%lld,\"group_id\":100,"
             "\"user_id\":%s,\"anonymous\":null,\"font\":14,\"sender\":{\"user_id\":%s,"
             "\"nickname\":\"n%s\",\"card\":\"\",\"role\":\"%s\"},\"message\":[%s],"
             "\"raw_message\":\"\",\"message_format\":\"array\"}",
             (long long)(qb_clock_now() / 1000), message_id, user, user, user, role, segs);
    qb_sim_send_raw(f->sim, frame, strlen(frame));
}

#define TEXT(t)  "{\"type\":\"text\",\"data\":{\"text\":\"" t "\"}}"
#define AT(id)   "{\"type\":\"at\",\"data\":{\"qq\":\"" id "\"}}"
#define REPLY(m) "{\"type\":\"reply\",\"data\":{\"id\":\"" m "\"}}"

static long long db_num(struct h_fx *f, const char *sql)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(qb_store_db(f->bot->store), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

struct want_rows {
    struct h_fx *f;
    const char *sql;
    long long n;
};

static bool rows_reached(void *ud)
{
    struct want_rows *w = ud;
    return db_num(w->f, w->sql) >= w->n;
}

static bool wait_rows(struct h_fx *f, const char *sql, long long n)
{
    struct want_rows w = {f, sql, n};
    return h_run_until(f->loop, rows_reached, &w, 5);
}

#define MSGS_100 "SELECT COALESCE(SUM(messages), 0) FROM insight_activity WHERE group_id = '100'"

TEST(replies_and_mentions_make_edges_and_answer_questions)
{
    struct h_fx f;
    fx_start(&f);
    say_segs(&f, "20001", "member", 5001, TEXT("请问报名在哪里"));
    qb_clock_advance(2 * MIN);
    say_segs(&f, "20003", "member", 5002, REPLY("5001") "," AT("20001") "," TEXT(" 看群公告"));
    qb_clock_advance(MIN);
    say_segs(&f, "20002", "admin", 5003, AT("20003") "," TEXT(" 谢谢"));
    CHECK(wait_rows(&f, MSGS_100, 3));
    CHECK_INT(db_num(&f, "SELECT n FROM insight_edges WHERE src = '20003' AND dst = '20001'"
                         " AND kind = 'reply'"),
              1);
    /* the @ QQ adds to a reply is not a second edge */
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_edges WHERE src = '20003' AND kind = 'at'"),
              0);
    CHECK_INT(db_num(&f, "SELECT n FROM insight_edges WHERE src = '20002' AND dst = '20003'"
                         " AND kind = 'at'"),
              1);
    CHECK_INT(db_num(&f, "SELECT question FROM insight_msgs WHERE message_id = '5001'"), 1);
    CHECK_INT(db_num(&f, "SELECT first_reply_ms - ts FROM insight_msgs WHERE message_id = '5001'"),
              2 * MIN);
    /* Carol's message had no reply; Bob's @ of her answers it */
    CHECK(db_num(&f, "SELECT first_reply_ms FROM insight_msgs WHERE message_id = '5002'") > 0);
    CHECK_INT(db_num(&f, "SELECT is_admin FROM insight_members WHERE user_id = '20002'"), 1);
    CHECK_INT(db_num(&f, "SELECT replies_received FROM insight_members WHERE user_id = '20001'"),
              1);
    h_fx_done(&f);
}

TEST(duplicates_and_backfill_count_once)
{
    struct h_fx f;
    fx_start(&f);
    qb_sim_group_msg(f.sim, "100", "20001", "早上好");
    qb_sim_group_msg(f.sim, "100", "20003", "早");
    CHECK(wait_rows(&f, MSGS_100, 2));
    say_segs(&f, "20001", "member", 7001, TEXT("hello"));
    say_segs(&f, "20001", "member", 7001, TEXT("hello")); /* delivered twice */
    CHECK(wait_rows(&f, MSGS_100, 3));
    qb_clock_advance(MIN);
    qb_bot_free(f.bot); /* the bot is away; one message is missed ... */
    f.bot = NULL;
    qb_sim_group_msg(f.sim, "100", "20003", "有人在吗？");
    qb_clock_advance(MIN);
    h_fx_start_bot(&f); /* ... and back-filled with the history it had already seen */
    CHECK(wait_rows(&f, MSGS_100, 4));
    h_run_for(f.loop, 0.5);
    CHECK_INT(db_num(&f, MSGS_100), 4);
    CHECK_INT(db_num(&f, "SELECT messages FROM insight_members WHERE user_id = '20001'"), 2);
    CHECK_INT(db_num(&f, "SELECT messages FROM insight_members WHERE user_id = '20003'"), 2);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_msgs WHERE question = 1"), 1);
    h_fx_done(&f);
}

TEST(report_answers_admins_with_the_numbers)
{
    struct h_fx f;
    fx_start(&f);
    qb_sim_group_msg(f.sim, "100", "20001", "大家好");
    qb_sim_group_msg(f.sim, "100", "20001", "今天天气不错");
    qb_sim_group_msg(f.sim, "100", "20003", "是啊");
    CHECK(wait_rows(&f, MSGS_100, 3));
    qb_sim_member_join(f.sim, "100", "20009", "invite", "20001");
    CHECK(wait_rows(&f, "SELECT COUNT(*) FROM insight_members WHERE inviter = '20001'", 1));
    const char *p = h_fx_ask(&f, "20002", "/report 7d"); /* the command itself is the 4th message */
    CHECK(strstr(p, "消息 4 条") != NULL);
    CHECK(strstr(p, "发言 3 人") != NULL);
    CHECK(strstr(p, "入群 1") != NULL);
    CHECK(strstr(p, "2026-11-17 ~ 2026-11-23") != NULL);
    p = h_fx_ask(&f, "20002", "群报告 5x");
    CHECK(strstr(p, "7d") != NULL); /* a usage line, not a report */
    size_t before = qb_sim_count(f.sim, "send_group_msg");
    qb_sim_group_msg(f.sim, "100", "20001", "/report"); /* members may not */
    h_fx_wait(&f, "send_group_msg", before + 1);
    CHECK(strstr(h_fx_last(&f, "send_group_msg"), "消息") == NULL);
    h_fx_done(&f);
}

TEST(forgetme_deletes_in_two_steps_and_is_audited)
{
    struct h_fx f;
    fx_start(&f);
    qb_sim_group_msg(f.sim, "100", "20001", "我的秘密消息");
    qb_sim_group_msg(f.sim, "100", "20003", "别人的消息");
    CHECK(wait_rows(&f, MSGS_100, 2));
    const char *p = h_fx_ask(&f, "20001", "/forgetme confirm"); /* no request before: refused */
    CHECK(strstr(p, "先发送") != NULL);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20001'"), 1);
    p = h_fx_ask(&f, "20001", "删除我的数据");
    CHECK(strstr(p, "confirm") != NULL);
    p = h_fx_ask(&f, "20001", "/forgetme confirm");
    CHECK(strstr(p, "积分") != NULL);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20001'"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_activity WHERE user_id = '20001'"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE instr(text, '秘密') > 0"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE instr(text, '别人的') > 0"), 1);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20003'"), 1);
    CHECK_INT(h_log_rows(f.bot, "decision", "insight.forgetme", NULL), 1);
    /* a confirmation more than 5 minutes after the request is refused */
    h_fx_ask(&f, "20003", "/forgetme");
    qb_clock_advance(6 * MIN);
    p = h_fx_ask(&f, "20003", "/forgetme confirm");
    CHECK(strstr(p, "先发送") != NULL);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20003'"), 1);
    h_fx_done(&f);
}

/* ---- 沉默成员, 核心成员, 我的数据 ---- */

TEST(silent_lists_the_longest_silent_first_and_refuses_members)
{
    struct h_fx f;
    fx_start_with(&f, "\"silent_days\": 3");
    qb_sim_member_join(f.sim, "100", "20007", "approve", "20002"); /* Frank: never speaks */
    CHECK(wait_rows(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20007'", 1));
    qb_clock_advance(HOUR);
    qb_sim_group_msg(f.sim, "100", "20001", "早上好");
    qb_sim_group_msg(f.sim, "100", "20005", "我先走了");
    CHECK(wait_rows(&f, MSGS_100, 2));
    const char *p = h_fx_ask(&f, "20002", "沉默成员");
    CHECK(strstr(p, "没有超过 3 天不发言的成员") != NULL);
    qb_clock_advance(DAY);
    qb_sim_group_msg(f.sim, "100", "20004", "今天有空");
    qb_sim_member_leave(f.sim, "100", "20005", "leave", NULL); /* Eve leaves */
    CHECK(wait_rows(&f, "SELECT COUNT(*) FROM insight_members WHERE left_ms > 0", 1));
    qb_clock_advance(DAY);
    qb_sim_group_msg(f.sim, "100", "20003", "在的");
    CHECK(wait_rows(&f, MSGS_100, 5));
    qb_clock_advance(2 * DAY + HOUR);
    /* now: Frank joined 4 d 2 h ago, Alice spoke 4 d 1 h ago, Dave 3 d 1 h, Carol 2 d 1 h */
    p = h_fx_ask(&f, "20002", "/silent");
    CHECK(strstr(p, "超过 3 天没发言的成员（共 3 人）") != NULL);
    const char *frank = strstr(p, "20007 · 入群 4 天从未发言");
    const char *alice = strstr(p, "Alice（20001）· 已 4 天没发言");
    const char *dave = strstr(p, "Dave（20004）· 已 3 天没发言");
    CHECK(frank && alice && dave);
    CHECK(frank < alice && alice < dave); /* longest silent first */
    CHECK(strstr(p, "20003") == NULL);    /* Carol spoke 2 days ago */
    CHECK(strstr(p, "20005") == NULL);    /* Eve left */
    CHECK(strstr(p, "20002") == NULL);    /* Bob just asked */
    p = h_fx_ask(&f, "20001", "沉默成员");
    CHECK(strstr(p, "只有群管理员可以使用这个命令") != NULL);
    CHECK(strstr(p, "20007") == NULL);
    h_fx_done(&f);
}

TEST(keymembers_ranks_the_hub_with_stage_and_why_and_rejects_bad_periods)
{
    struct h_fx f;
    fx_start(&f);
    /* Carol is answered by Alice (reply), Dave (@) and Bob (reply): the hub */
    say_segs(&f, "20003", "member", 6001, TEXT("大家好，我是新来的"));
    say_segs(&f, "20001", "member", 6002, REPLY("6001") "," AT("20003") "," TEXT(" 欢迎"));
    say_segs(&f, "20004", "member", 6003, AT("20003") "," TEXT(" 你好"));
    say_segs(&f, "20002", "admin", 6004, REPLY("6001") "," TEXT("欢迎欢迎"));
    say_segs(&f, "20001", "member", 6005, TEXT("今天读什么"));
    CHECK(wait_rows(&f, MSGS_100, 5));
    const char *p = h_fx_ask(&f, "20002", "/keymembers 7d");
    CHECK(strstr(p, "核心成员（按交往圈影响力）") != NULL);
    CHECK(strstr(p, "1. n20003 · 关注者 · 影响力 ") != NULL);
    CHECK(strstr(p, "今天发过言 · 本期 1 条 · 被 3 人回复/@") != NULL);
    CHECK(strstr(p, "Bob · 合作者 · 影响力") != NULL); /* an admin holds a role */
    CHECK(strstr(p, "n20004 · 关注者") != NULL);
    p = h_fx_ask(&f, "20001", "核心成员");
    CHECK(strstr(p, "只有群管理员可以使用这个命令") != NULL);
    p = h_fx_ask(&f, "20002", "/keymembers abc");
    CHECK(strstr(p, "时间段看不懂") != NULL);
    CHECK(strstr(p, "/keymembers 30d") != NULL);
    CHECK(strstr(p, "影响力") == NULL);
    p = h_fx_ask(&f, "20002", "核心成员 30d"); /* and the bot keeps working */
    CHECK(strstr(p, "1. n20003 · 关注者") != NULL);
    h_fx_done(&f);
}

/* The newest call of action whose params name user_id, or "". */
static const char *last_to(struct h_fx *f, const char *action, const char *user)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"user_id\":%s", user);
    const char *found = "";
    for (long i = qb_sim_find(f->sim, 0, action, needle); i >= 0;
         i = qb_sim_find(f->sim, (size_t)i + 1, action, needle))
        found = qb_sim_call_at(f->sim, (size_t)i)->params;
    return found;
}

/* Calls of action from index from on whose params name user_id. */
static int calls_to(struct h_fx *f, size_t from, const char *action, const char *user)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"user_id\":%s", user);
    int n = 0;
    for (long i = qb_sim_find(f->sim, from, action, needle); i >= 0;
         i = qb_sim_find(f->sim, (size_t)i + 1, action, needle))
        n++;
    return n;
}

/* Ask for /mydata in the group; returns the private answer ("" if none came). */
static const char *mydata(struct h_fx *f, const char *user, const char *word)
{
    size_t priv = qb_sim_count(f->sim, "send_private_msg");
    size_t from = qb_sim_ncalls(f->sim);
    const char *p = h_fx_ask(f, user, word);
    CHECK(strstr(p, "私信") != NULL);
    CHECK(strstr(p, "累计发言") == NULL);
    CHECK(h_fx_wait(f, "send_private_msg", priv + 1));
    CHECK_INT(calls_to(f, from, "send_private_msg", user), 1);
    CHECK_INT(qb_sim_find(f->sim, from, "send_group_msg", "累计发言"), -1); /* never in the group */
    return last_to(f, "send_private_msg", user);
}

TEST(mydata_answers_privately_with_only_the_askers_figures)
{
    struct h_fx f;
    fx_start(&f);
    say_segs(&f, "20001", "member", 8001, TEXT("请问几点开始"));
    say_segs(&f, "20003", "member", 8002, REPLY("8001") "," TEXT("八点"));
    say_segs(&f, "20003", "member", 8003, TEXT("记得带书"));
    say_segs(&f, "20003", "member", 8004, TEXT("还有笔记本"));
    CHECK(wait_rows(&f, MSGS_100, 4));
    const char *d = mydata(&f, "20001", "我的数据"); /* the command is her 2nd message */
    CHECK(strstr(d, "累计发言 2 条（近期 2 条）· 被回复 1 次 · 被 @ 0 次") != NULL);
    CHECK(strstr(d, "阶段：关注者") != NULL);
    CHECK(strstr(d, "入群 无 · 第一次发言 2026-11-23 · 最近发言 2026-11-23") != NULL);
    CHECK(strstr(d, "20003") == NULL && strstr(d, "八点") == NULL);
    d = mydata(&f, "20003", "/mydata");
    CHECK(strstr(d, "累计发言 4 条（近期 4 条）· 被回复 0 次") != NULL);
    CHECK(strstr(d, "20001") == NULL);
    h_fx_done(&f);
}

/* ---- /forgetme: what test forgetme_deletes_in_two_steps_and_is_audited does not cover ---- */

#define EDGES_OF_ALICE "SELECT COUNT(*) FROM insight_edges WHERE src = '20001' OR dst = '20001'"

TEST(forgetme_in_time_removes_edges_and_mydata_starts_afresh)
{
    struct h_fx f;
    fx_start(&f);
    say_segs(&f, "20001", "member", 9001, TEXT("请问周末有活动吗"));
    say_segs(&f, "20003", "member", 9002, REPLY("9001") "," TEXT("有的"));
    say_segs(&f, "20001", "member", 9003, AT("20003") "," TEXT(" 谢谢"));
    say_segs(&f, "20004", "member", 9004, AT("20003") "," TEXT(" 我也去"));
    CHECK(wait_rows(&f, MSGS_100, 4));
    CHECK_INT(db_num(&f, EDGES_OF_ALICE), 2);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_msgs WHERE first_reply_by = '20001'"), 1);
    h_fx_ask(&f, "20001", "/forgetme");
    qb_clock_advance(4 * MIN + 59 * SEC); /* still within 5 minutes */
    const char *p = h_fx_ask(&f, "20001", "删除我的数据 确认");
    CHECK(strstr(p, "已删除") != NULL);
    CHECK_INT(db_num(&f, EDGES_OF_ALICE), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_msgs WHERE user_id = '20001'"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_msgs WHERE first_reply_by = '20001'"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20001'"), 0);
    CHECK_INT(db_num(&f, "SELECT n FROM insight_edges WHERE src = '20004' AND dst = '20003'"), 1);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE instr(text, '周末') > 0"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE instr(text, '我也去') > 0"), 1);
    /* audited: a decision row naming the member and the group */
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE direction = 'decision' AND"
                         " kind = 'insight.forgetme' AND group_id = '100' AND user_id = '20001'"
                         " AND instr(details, '\"user_id\":\"20001\"') > 0"
                         " AND instr(details, '\"plugin\":\"insight\"') > 0"),
              1);
    /* /mydata afterwards knows nothing from before: only the /mydata message itself */
    const char *d = mydata(&f, "20001", "/mydata");
    CHECK(strstr(d, "累计发言 1 条（近期 1 条）· 被回复 0 次 · 被 @ 0 次") != NULL);
    /* the request is used up: another confirmation deletes nothing and says what to do */
    p = h_fx_ask(&f, "20001", "/forgetme confirm");
    CHECK(strstr(p, "请先发送 /forgetme，再在 5 分钟内发送 /forgetme confirm") != NULL);
    CHECK_INT(db_num(&f, "SELECT messages FROM insight_members WHERE user_id = '20001'"), 2);
    CHECK_INT(h_log_rows(f.bot, "decision", "insight.forgetme", NULL), 1);
    h_fx_done(&f);
}

/* ---- the Monday digest ---- */

/* Stop the bot, let advance_ms pass while it is down, start it again. */
static void down_for(struct h_fx *f, int64_t advance_ms)
{
    qb_bot_free(f->bot);
    f->bot = NULL;
    ev_run(f->loop, EVRUN_NOWAIT);
    qb_clock_advance(advance_ms);
    h_fx_start_bot(f);
}

TEST(digest_reaches_the_seen_admins_once_on_monday_morning)
{
    struct h_fx f;
    fx_prepare(&f, "\"weekly_digest\": true");
    h_fx_rules(&f, "other.json",
               "{\"name\": \"other\", \"groups\": [\"200\"], \"timezone\": \"Asia/Shanghai\","
               " \"plugins\": {\"insight\": {\"enabled\": true}}}"); /* no digest there */
    qb_sim_add_group(f.sim, "200", "200");
    qb_sim_add_member(f.sim, "200", "20002", "Bob", "admin");
    h_fx_boot(&f, "");
    qb_sim_group_msg(f.sim, "100", "20002", "早上好"); /* admin */
    qb_sim_group_msg(f.sim, "100", "20006", "早");     /* owner */
    qb_sim_group_msg(f.sim, "100", "20001", "早");     /* member */
    qb_sim_group_msg(f.sim, "200", "20002", "早");
    CHECK(wait_rows(&f, "SELECT COUNT(*) FROM insight_members WHERE is_admin = 1", 3));
    h_run_for(f.loop, 1.2); /* 08:00: not yet */
    CHECK_INT(qb_sim_count(f.sim, "send_private_msg"), 0);
    qb_clock_advance(HOUR); /* Monday 09:00 */
    CHECK(h_fx_wait(&f, "send_private_msg", 2));
    h_run_for(f.loop, 0.3);
    CHECK_INT(qb_sim_count(f.sim, "send_private_msg"), 2);
    CHECK_INT(calls_to(&f, 0, "send_private_msg", "20002"), 1);
    CHECK_INT(calls_to(&f, 0, "send_private_msg", "20006"), 1);
    CHECK_INT(calls_to(&f, 0, "send_private_msg", "20001"), 0);
    const char *d = last_to(&f, "send_private_msg", "20002");
    CHECK(strstr(d, "群 100 的每周摘要") != NULL);
    CHECK(strstr(d, "消息 3 条") != NULL);
    CHECK(strstr(d, "2026-11-17 ~ 2026-11-23") != NULL);
    CHECK_INT(qb_sim_find(f.sim, 0, "send_private_msg", "群 200"), -1);
    /* a restart the same morning sends nothing again */
    qb_clock_advance(30 * MIN);
    h_fx_restart(&f);
    h_run_for(f.loop, 1.5);
    CHECK_INT(qb_sim_count(f.sim, "send_private_msg"), 2);
    h_fx_done(&f);
}

TEST(digest_missed_by_an_hour_is_sent_but_not_after_six)
{
    struct h_fx f;
    fx_start_with(&f, "\"weekly_digest\": true");
    qb_sim_group_msg(f.sim, "100", "20002", "早上好");
    CHECK(wait_rows(&f, "SELECT COUNT(*) FROM insight_members WHERE is_admin = 1", 1));
    down_for(&f, 2 * HOUR); /* down from 08:00 to 10:00: one hour late, still sent */
    CHECK(h_fx_wait(&f, "send_private_msg", 1));
    CHECK(strstr(last_to(&f, "send_private_msg", "20002"), "每周摘要") != NULL);
    qb_clock_advance(7 * DAY - 2 * HOUR); /* the next Monday 08:00 */
    down_for(&f, 7 * HOUR + 30 * MIN);    /* down until 15:30: stale, skipped */
    h_run_for(f.loop, 1.5);
    CHECK_INT(qb_sim_count(f.sim, "send_private_msg"), 1);
    qb_clock_advance(7 * DAY - 6 * HOUR - 30 * MIN + SEC); /* the Monday after, 09:00 */
    CHECK(h_fx_wait(&f, "send_private_msg", 2));
    h_fx_done(&f);
}

/* ---- text retention ---- */

/* Like h_fx_boot, with storage.text_retention set. */
static void boot_with_retention(struct h_fx *f, const char *retention)
{
    snprintf(f->config, sizeof f->config,
             "{\"accounts\":[{\"url\":\"ws://127.0.0.1:%d\",\"token\":\"k\"}],"
             "\"storage\":{\"path\":\"%s/qunbot.db\",\"text_retention\":\"%s\"},"
             "\"rules_dir\":\"rules\",\"timezone\":\"Asia/Shanghai\","
             "\"command_prefixes\":[\"/\"],\"connection\":{\"heartbeat_fallback\":\"3650d\"},"
             "\"rate_limits\":{\"account_interval\":\"0ms\",\"jitter\":\"0ms\","
             "\"group_per_minute\":600,\"group_burst\":50}}",
             qb_sim_port(f->sim), f->dir, retention);
    h_fx_start_bot(f);
}

TEST(retention_prunes_old_text_but_the_report_still_counts_it)
{
    struct h_fx f;
    fx_prepare(&f, "");
    boot_with_retention(&f, "2d");
    qb_sim_group_msg(f.sim, "100", "20001", "读书会今晚八点");
    qb_sim_group_msg(f.sim, "100", "20001", "读书会带什么书");
    qb_sim_group_msg(f.sim, "100", "20003", "期待读书会");
    CHECK(wait_rows(&f, MSGS_100, 3));
    const char *p = h_fx_ask(&f, "20002", "/report 7d");
    CHECK(strstr(p, "热词：读书会") != NULL);
    qb_clock_advance(3 * DAY);
    qb_sim_group_msg(f.sim, "100", "20003", "咖啡馆见");
    qb_sim_group_msg(f.sim, "100", "20001", "咖啡馆几点开门");
    CHECK(wait_rows(&f, MSGS_100, 6));
    CHECK(wait_rows(&f, "SELECT COUNT(*) = 0 FROM interactions WHERE instr(text, '读书会') > 0",
                    1));
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE instr(text, '咖啡馆') > 0"), 2);
    p = h_fx_ask(&f, "20002", "/report 7d");
    CHECK(strstr(p, "消息 7 条") != NULL); /* old messages still counted */
    CHECK(strstr(p, "发言 3 人") != NULL);
    CHECK(strstr(p, "咖啡馆") != NULL);
    CHECK(strstr(p, "读书") == NULL); /* their text is gone */
    CHECK_INT(db_num(&f, "SELECT messages FROM insight_members WHERE user_id = '20001'"), 3);
    /* insight's own recent-message rows go after 90 days; the counts stay */
    qb_clock_advance(91 * DAY);
    CHECK(wait_rows(&f, "SELECT COUNT(*) = 0 FROM insight_msgs", 1));
    CHECK_INT(db_num(&f, MSGS_100), 7);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE messages > 0"), 3);
    h_fx_done(&f);
}

int main(void)
{
    RUN(replies_and_mentions_make_edges_and_answer_questions);
    RUN(duplicates_and_backfill_count_once);
    RUN(report_answers_admins_with_the_numbers);
    RUN(forgetme_deletes_in_two_steps_and_is_audited);
    RUN(silent_lists_the_longest_silent_first_and_refuses_members);
    RUN(keymembers_ranks_the_hub_with_stage_and_why_and_rejects_bad_periods);
    RUN(mydata_answers_privately_with_only_the_askers_figures);
    RUN(forgetme_in_time_removes_edges_and_mydata_starts_afresh);
    RUN(digest_reaches_the_seen_admins_once_on_monday_morning);
    RUN(digest_missed_by_an_hour_is_sent_but_not_after_six);
    RUN(retention_prunes_old_text_but_the_report_still_counts_it);
    return test_done();
}
