/*
 * test_insight.c — the insight plugin end to end through qunbot-sim with a fake clock:
 * group messages fill the rollup tables, a reply segment and an @ make edges and answer a
 * question, duplicates and history back-filled after a restart are counted once, /report
 * answers admins with the right numbers (and refuses members), /forgetme deletes in two
 * steps and is audited.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

extern const struct qb_plugin qb_plugin_insight;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_insight, NULL};

#define SEC 1000LL
#define MIN (60 * SEC)
/* Monday 2026-11-23 08:00 in Asia/Shanghai (00:00 UTC). */
#define MON_8H 1795392000000LL

static void fx_start(struct h_fx *f)
{
    h_fx_init(f, MON_8H, test_plugins, NULL);
    h_fx_rules(f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
               " \"plugins\": {\"insight\": {\"enabled\": true}}}");
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    qb_sim_add_member(f->sim, "100", "20003", "Carol", "member");
    h_fx_boot(f, "");
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

static const char *ask(struct h_fx *f, const char *user, const char *text)
{
    size_t before = qb_sim_count(f->sim, "send_group_msg");
    qb_sim_group_msg(f->sim, "100", user, text);
    CHECK(h_fx_wait(f, "send_group_msg", before + 1));
    return h_fx_last(f, "send_group_msg");
}

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
    const char *p = ask(&f, "20002", "/report 7d"); /* the command itself is the 4th message */
    CHECK(strstr(p, "消息 4 条") != NULL);
    CHECK(strstr(p, "发言 3 人") != NULL);
    CHECK(strstr(p, "入群 1") != NULL);
    CHECK(strstr(p, "2026-11-17 ~ 2026-11-23") != NULL);
    p = ask(&f, "20002", "群报告 5x");
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
    const char *p = ask(&f, "20001", "/forgetme confirm"); /* no request before: refused */
    CHECK(strstr(p, "先发送") != NULL);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20001'"), 1);
    p = ask(&f, "20001", "删除我的数据");
    CHECK(strstr(p, "confirm") != NULL);
    p = ask(&f, "20001", "/forgetme confirm");
    CHECK(strstr(p, "积分") != NULL);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20001'"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_activity WHERE user_id = '20001'"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE instr(text, '秘密') > 0"), 0);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM interactions WHERE instr(text, '别人的') > 0"), 1);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20003'"), 1);
    CHECK_INT(h_log_rows(f.bot, "decision", "insight.forgetme", NULL), 1);
    /* a confirmation more than 5 minutes after the request is refused */
    ask(&f, "20003", "/forgetme");
    qb_clock_advance(6 * MIN);
    p = ask(&f, "20003", "/forgetme confirm");
    CHECK(strstr(p, "先发送") != NULL);
    CHECK_INT(db_num(&f, "SELECT COUNT(*) FROM insight_members WHERE user_id = '20003'"), 1);
    h_fx_done(&f);
}

int main(void)
{
    RUN(replies_and_mentions_make_edges_and_answer_questions);
    RUN(duplicates_and_backfill_count_once);
    RUN(report_answers_admins_with_the_numbers);
    RUN(forgetme_deletes_in_two_steps_and_is_audited);
    return test_done();
}
