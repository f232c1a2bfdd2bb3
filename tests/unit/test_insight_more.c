/*
 * test_insight_more.c — the later engagement metrics of bot/insight on databases built by
 * hand with known answers worked out here: newcomer activation, the effect of talks /
 * scheduled posts / broadcasts against their weekday baseline, the invite leaderboard and
 * tree, communities by label propagation and bridge members, and moderation by detector —
 * plus no data, other plugins' tables missing, moments too recent, short baselines.
 * link: qb_insight
 */
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <time.h>

#include "insight.h"
#include "test.h"

#define DAY    86400000LL
#define HOUR   3600000LL
#define MINUTE 60000LL
/* Monday 2026-11-23 00:00 in Asia/Shanghai (UTC+8). */
#define MON0 1795363200000LL
#define TZ   "Asia/Shanghai"

static int64_t at(int day, int hour)
{
    return MON0 + day * DAY + hour * HOUR;
}

/* The other plugins' tables, copied from their migrations. */
static const char talks_sql[] =
        "CREATE TABLE talks_talks ("
        " id BIGINT NOT NULL UNIQUE, platform TEXT NOT NULL DEFAULT '',"
        " self_id TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, topic TEXT NOT NULL,"
        " speakers TEXT NOT NULL, start_ms BIGINT NOT NULL, dur_ms BIGINT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'scheduled', source TEXT, created_by TEXT,"
        " created_ms BIGINT NOT NULL, ended_ms BIGINT NOT NULL DEFAULT 0,"
        " muted INTEGER NOT NULL DEFAULT 0, at_all_done INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (group_id, source));";
static const char schedule_sql[] =
        "CREATE TABLE schedule_runs (group_id TEXT NOT NULL, name TEXT NOT NULL,"
        " due_ms BIGINT NOT NULL, ts BIGINT NOT NULL, outcome TEXT NOT NULL,"
        " UNIQUE (group_id, name, due_ms));";
static const char guard_sql[] =
        "CREATE TABLE guard_cases ("
        " case_no BIGINT NOT NULL UNIQUE, ts BIGINT NOT NULL, platform TEXT NOT NULL,"
        " self_id TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " message_id TEXT NOT NULL, rule_id TEXT NOT NULL, version INTEGER NOT NULL,"
        " reason TEXT NOT NULL, step TEXT NOT NULL, mute_s BIGINT NOT NULL DEFAULT 0,"
        " pardoned INTEGER NOT NULL DEFAULT 0, pardon_ts BIGINT, pardon_by TEXT,"
        " UNIQUE (platform, group_id, message_id));"
        "CREATE TABLE guard_hits ("
        " ts BIGINT NOT NULL, platform TEXT NOT NULL, group_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, message_id TEXT, rule_id TEXT NOT NULL,"
        " version INTEGER NOT NULL, detector TEXT, mode TEXT NOT NULL, action TEXT NOT NULL,"
        " acted INTEGER NOT NULL DEFAULT 0, case_no BIGINT);"
        "CREATE INDEX guard_hits_rule ON guard_hits(group_id, rule_id);";

static void sql(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *q = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    char *err = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "SQL failed: %s: %s\n", q, err);
        CHECK(0);
    }
    sqlite3_free(err);
    sqlite3_free(q);
}

static sqlite3 *db_new(void)
{
    sqlite3 *db = NULL;
    sqlite3_open(":memory:", &db);
    for (const char *const *m = qb_insight_migrations; *m; m++)
        CHECK(sqlite3_exec(db, *m, NULL, NULL, NULL) == SQLITE_OK);
    return db;
}

/* n messages of user in the local hour (day from MON0, hour). */
static void act(sqlite3 *db, const char *g, const char *user, int day, int hour, int n)
{
    int64_t ms = at(day, hour) + 8 * HOUR; /* as UTC wall clock = Shanghai local */
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char d[16];
    strftime(d, sizeof d, "%Y-%m-%d", &tm);
    sql(db,
        "INSERT INTO insight_activity(platform, group_id, user_id, day, hour, weekday, messages,"
        " chars) VALUES ('qq', %Q, %Q, %Q, %d, %d, %d, %d)",
        g, user, d, hour, (tm.tm_wday + 6) % 7, n, n * 4);
}

static void member(sqlite3 *db, const char *g, const char *user, const char *name, int64_t joined,
                   int64_t left, const char *inviter, int64_t first_msg)
{
    sql(db,
        "INSERT INTO insight_members(platform, group_id, user_id, name, joined_ms, left_ms,"
        " inviter, first_msg_ms, last_msg_ms) VALUES ('qq', %Q, %Q, %Q, %lld, %lld, %Q, %lld,"
        " %lld)",
        g, user, name, (long long)joined, (long long)left, inviter, (long long)first_msg,
        (long long)first_msg);
}

static void msg(sqlite3 *db, const char *g, const char *id, const char *user, int64_t ts,
                int question, int64_t reply)
{
    sql(db,
        "INSERT INTO insight_msgs(platform, group_id, message_id, user_id, ts, question,"
        " first_reply_ms, first_reply_by) VALUES ('qq', %Q, %Q, %Q, %lld, %d, %lld, %Q)",
        g, id, user, (long long)ts, question, (long long)reply, reply ? "helper" : NULL);
}

static const struct qb_insight_range week = {MON0, MON0 + 7 * DAY, TZ};

/* ------------------------------------------------------------------ newcomers */

/* Joined in the week: N1 Mon 09 (spoke 1 h later, a question answered in 5 min), N2 Tue 09
 * (first spoke 2 days later, not answered; a question on Fri nobody answered), N3 Wed (never
 * spoke), N4 Thu 09 (spoke 1 h later but that message is no longer kept), N6 Fri 09 (a
 * re-join: spoke a month ago; first message since on Sat, answered in 60 s). N5 joined
 * earlier, g2's newcomer is another group. */
static sqlite3 *newcomers_db(void)
{
    sqlite3 *db = db_new();
    act(db, "g1", "N1", 0, 10, 1);
    member(db, "g1", "N1", "新人一", at(0, 9), 0, NULL, at(0, 10));
    msg(db, "g1", "m1", "N1", at(0, 10), 1, at(0, 10) + 5 * MINUTE);
    member(db, "g1", "N2", "新人二", at(1, 9), 0, NULL, at(3, 9));
    msg(db, "g1", "m2", "N2", at(3, 9), 0, 0);
    msg(db, "g1", "m3", "N2", at(4, 9), 1, 0);
    msg(db, "g1", "m4", "N2", at(4, 10), 1, 0); /* a later one: the first unanswered counts */
    member(db, "g1", "N3", "新人三", at(2, 9), 0, NULL, 0);
    member(db, "g1", "N4", "新人四", at(3, 9), 0, NULL, at(3, 10));
    member(db, "g1", "N5", "老人", at(-10, 9), 0, NULL, at(-10, 10));
    msg(db, "g1", "m5", "N5", at(1, 9), 1, 0);
    member(db, "g1", "N6", "回归", at(4, 9), 0, NULL, at(-30, 9));
    msg(db, "g1", "m6", "N6", at(5, 9), 1, at(5, 9) + MINUTE);
    msg(db, "g1", "m7", "N6", at(5, 10), 0, 0);
    member(db, "g2", "Z", "别的群", at(1, 9), 0, NULL, 0);
    return db;
}

TEST(newcomers_activation_replies_and_unanswered_questions)
{
    sqlite3 *db = newcomers_db();
    struct qb_insight_newcomers n;
    char err[200] = "";
    CHECK_INT(qb_insight_newcomers(db, "g1", &week, week.until_ms, &n, err, sizeof err), QB_OK);
    CHECK_INT(n.joined, 5);   /* N1 N2 N3 N4 N6 */
    CHECK_INT(n.spoke, 4);    /* not N3 */
    CHECK_INT(n.spoke_7d, 4); /* 1 h, 2 d, 1 h, 1 d */
    CHECK(fabs(n.activation_rate - 0.8) < 1e-9);
    /* 3600, 3600, 86400, 172800 s: median (3600 + 86400) / 2 */
    CHECK(fabs(n.median_first_msg_s - 45000) < 1e-9);
    CHECK_INT(n.first_replied, 2); /* N1 (300 s) and N6 (60 s) */
    CHECK(fabs(n.median_first_reply_s - 180) < 1e-9);
    CHECK_INT(n.n_list, 5);
    if (n.n_list == 5) {
        /* newest join first */
        CHECK_STR(n.list[0].user_id, "N6");
        CHECK_STR(n.list[1].user_id, "N4");
        CHECK_STR(n.list[2].user_id, "N3");
        CHECK_STR(n.list[3].user_id, "N2");
        CHECK_STR(n.list[4].user_id, "N1");
        CHECK_INT(n.list[0].first_msg_ms, at(5, 9)); /* the first message since the re-join */
        CHECK_INT(n.list[0].first_msg_replied, 1);
        CHECK(fabs(n.list[0].first_reply_s - 60) < 1e-9);
        CHECK_INT(n.list[1].first_msg_ms, at(3, 10));
        CHECK_INT(n.list[1].first_msg_replied, -1); /* message not kept: unknown */
        CHECK(n.list[1].first_reply_s < 0);
        CHECK_INT(n.list[2].first_msg_ms, 0);
        CHECK_INT(n.list[2].first_msg_replied, -1);
        CHECK_INT(n.list[3].first_msg_replied, 0);
        CHECK_INT(n.list[3].unanswered_question_ms, at(4, 9));
        CHECK_STR(n.list[4].name, "新人一");
        CHECK_INT(n.list[4].unanswered_question_ms, 0);
    }
    CHECK_INT(n.n_unanswered, 1);
    if (n.n_unanswered == 1)
        CHECK_STR(n.unanswered[0].user_id, "N2");
    qb_insight_newcomers_free(&n);

    /* a report ending before N2's question: nobody is "unanswered", N2 had not spoken yet */
    struct qb_insight_range early = {MON0, at(3, 0), TZ};
    CHECK_INT(qb_insight_newcomers(db, "g1", &early, early.until_ms, &n, err, sizeof err), QB_OK);
    CHECK_INT(n.joined, 3); /* N1 N2 N3 */
    CHECK_INT(n.spoke, 1);
    CHECK_INT(n.n_unanswered, 0);
    qb_insight_newcomers_free(&n);
    sqlite3_close(db);
}

TEST(newcomers_of_a_quiet_group_are_zero_and_null)
{
    sqlite3 *db = db_new();
    struct qb_insight_newcomers n;
    char err[200] = "";
    CHECK_INT(qb_insight_newcomers(db, "g1", &week, week.until_ms, &n, err, sizeof err), QB_OK);
    CHECK_INT(n.joined, 0);
    CHECK(n.activation_rate == 0);
    CHECK(n.median_first_msg_s < 0);
    CHECK(n.median_first_reply_s < 0);
    CHECK_INT(n.n_list, 0);
    CHECK_INT(n.n_unanswered, 0);
    qb_insight_newcomers_free(&n);
    /* without the insight tables: an error for admins */
    sqlite3 *empty = NULL;
    sqlite3_open(":memory:", &empty);
    CHECK_INT(qb_insight_newcomers(empty, "g1", &week, week.until_ms, &n, err, sizeof err),
              QB_ENOENT);
    CHECK(strstr(err, "insight") != NULL);
    sqlite3_close(empty);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------ effects */

/* g1 records from Mon day 0. Week 3 (days 21..27) has: a talk Mon day 21 20:30 (window
 * 20-22h), a post Wed day 23 08:00 (window 8-10h), a late talk Thu day 24 23:00 (window 23h
 * and 0-1h of day 25), a cancelled talk, a paused post, a talk before the range and a talk
 * too recent to measure (Sun day 27 20:00, the report is made at 22:00). */
static sqlite3 *effects_db(void)
{
    sqlite3 *db = db_new();
    sql(db, "%s%s", talks_sql, schedule_sql);
    act(db, "g1", "Z", 0, 1, 1); /* the group's first day */
    /* the talk's window: 10 + 5 + 3 = 18 messages by A, B, C; D's 23h and A's 19h outside */
    act(db, "g1", "A", 21, 20, 10);
    act(db, "g1", "B", 21, 21, 5);
    act(db, "g1", "C", 21, 22, 3);
    act(db, "g1", "D", 21, 23, 7);
    act(db, "g1", "A", 21, 19, 4);
    member(db, "g1", "J1", "J1", at(21, 20) + 40 * MINUTE, 0, NULL, 0); /* in the window */
    member(db, "g1", "J2", "J2", at(21, 23) + 40 * MINUTE, 0, NULL, 0); /* after it */
    member(db, "g1", "J3", "J3", at(21, 20) + 10 * MINUTE, 0, NULL, 0); /* before the talk */
    /* its baseline: day 14 (6 messages, 2 speakers, 1 join), day 7 (6, 1, 0), day 0 (0) */
    act(db, "g1", "A", 14, 20, 3);
    act(db, "g1", "B", 14, 22, 3);
    member(db, "g1", "J4", "J4", at(14, 21), 0, NULL, 0);
    act(db, "g1", "A", 7, 21, 6);
    /* the post: 2 messages; baseline day 16 has 1, days 9 and 2 none */
    act(db, "g1", "A", 23, 9, 2);
    act(db, "g1", "B", 16, 8, 1);
    /* the late talk: 2 + 1 + 1 across midnight, C's 2h outside; baseline day 17 has 1 */
    act(db, "g1", "A", 24, 23, 2);
    act(db, "g1", "B", 25, 0, 1);
    act(db, "g1", "A", 25, 1, 1);
    act(db, "g1", "C", 25, 2, 9);
    act(db, "g1", "A", 17, 23, 1);
    const char *talk = "INSERT INTO talks_talks(id, group_id, topic, speakers, start_ms, dur_ms,"
                       " status, source, created_ms) VALUES (%d, %Q, %Q, 'S', %lld, 3600000, %Q,"
                       " %Q, 0)";
    sql(db, talk, 1, "g1", "周会分享", (long long)(at(21, 20) + 30 * MINUTE), "ended", "s1");
    sql(db, talk, 2, "g1", "夜谈", (long long)at(24, 23), "ended", "s2");
    sql(db, talk, 3, "g1", "取消了", (long long)at(22, 10), "cancelled", "s3");
    sql(db, talk, 4, "g1", "上周的", (long long)at(20, 10), "ended", "s4");
    sql(db, talk, 5, "g1", "刚开始", (long long)at(27, 20), "live", "s5");
    sql(db, talk, 6, "g2", "别的群", (long long)at(22, 10), "ended", "s6");
    const char *run = "INSERT INTO schedule_runs(group_id, name, due_ms, ts, outcome) VALUES"
                      " ('g1', %Q, %lld, %lld, %Q)";
    sql(db, run, "早安", (long long)at(23, 8), (long long)at(23, 8), "sent");
    sql(db, run, "早安", (long long)at(25, 8), (long long)at(25, 8), "paused");
    sql(db, run, "早安", (long long)at(26, 8), (long long)at(26, 12), "stale");
    return db;
}

static const struct qb_insight_range week3 = {MON0 + 21 * DAY, MON0 + 28 * DAY, TZ};

TEST(effects_against_the_weekday_baseline)
{
    sqlite3 *db = effects_db();
    struct qb_insight_effect *e = NULL;
    size_t n = 0;
    char err[200] = "";
    CHECK_INT(qb_insight_effects(db, "g1", &week3, at(27, 22), &e, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 3); /* newest first: the late talk, the post, the talk */
    if (n == 3) {
        CHECK_STR(e[0].kind, "talk");
        CHECK_STR(e[0].label, "夜谈");
        CHECK_INT(e[0].messages, 4);
        CHECK_INT(e[0].speakers, 2);
        CHECK_INT(e[0].base_weeks, 3); /* days 17, 10, 3; day -4 is before the first day */
        CHECK(fabs(e[0].base_messages - 1.0 / 3) < 1e-9);
        CHECK(fabs(e[0].lift - 12) < 1e-9);

        CHECK_STR(e[1].kind, "post");
        CHECK_STR(e[1].label, "早安");
        CHECK_INT(e[1].ts, at(23, 8));
        CHECK_INT(e[1].messages, 2);
        CHECK_INT(e[1].speakers, 1);
        CHECK(fabs(e[1].lift - 6) < 1e-9);

        CHECK_STR(e[2].label, "周会分享");
        CHECK_INT(e[2].window_h, 3);
        CHECK_INT(e[2].messages, 18);
        CHECK_INT(e[2].speakers, 3);
        CHECK_INT(e[2].joins, 1); /* J1 only: J3 came before the talk, J2 after the window */
        CHECK_INT(e[2].base_weeks, 3);
        CHECK(fabs(e[2].base_messages - 4) < 1e-9); /* (6 + 6 + 0) / 3 */
        CHECK(fabs(e[2].base_speakers - 1) < 1e-9); /* (2 + 1 + 0) / 3 */
        CHECK(fabs(e[2].base_joins - 1.0 / 3) < 1e-9);
        CHECK(fabs(e[2].lift - 4.5) < 1e-9);
    }
    free(e);

    /* made right after the late talk started: it is not measurable yet */
    CHECK_INT(qb_insight_effects(db, "g1", &week3, at(25, 1), &e, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 2);
    if (n == 2)
        CHECK_STR(e[0].label, "早安");
    free(e);

    /* a broadcast plugin's table, when it exists, adds its sends */
    sql(db, "CREATE TABLE broadcast_sends (group_id TEXT NOT NULL, ts BIGINT NOT NULL,"
            " name TEXT NOT NULL)");
    sql(db, "INSERT INTO broadcast_sends VALUES ('g1', %lld, '双十一通知')", (long long)at(26, 15));
    CHECK_INT(qb_insight_effects(db, "g1", &week3, at(27, 22), &e, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(e[0].kind, "broadcast");
        CHECK_STR(e[0].label, "双十一通知");
        CHECK_INT(e[0].messages, 0);
        CHECK(e[0].lift < 0); /* nothing in the baseline hours either */
        CHECK_INT(e[0].base_weeks, 3);
    }
    free(e);
    sqlite3_close(db);
}

TEST(effects_short_baseline_missing_tables_and_no_data)
{
    sqlite3 *db = effects_db();
    struct qb_insight_effect *e = NULL;
    size_t n = 0;
    char err[200] = "";
    /* g3 only began on the day of its talk: no earlier week to compare with */
    act(db, "g3", "A", 22, 10, 5);
    sql(db,
        "INSERT INTO talks_talks(id, group_id, topic, speakers, start_ms, dur_ms, status,"
        " source, created_ms) VALUES (9, 'g3', '第一次', 'A', %lld, 3600000, 'ended', 's9', 0)",
        (long long)at(22, 10));
    CHECK_INT(qb_insight_effects(db, "g3", &week3, at(27, 22), &e, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(e[0].messages, 5);
        CHECK_INT(e[0].base_weeks, 0);
        CHECK(e[0].base_messages < 0 && e[0].base_speakers < 0 && e[0].base_joins < 0);
        CHECK(e[0].lift < 0);
    }
    free(e);
    /* one week of history: a baseline of one week */
    act(db, "g3", "B", 15, 11, 2);
    CHECK_INT(qb_insight_effects(db, "g3", &week3, at(27, 22), &e, &n, err, sizeof err), QB_OK);
    CHECK(n == 1 && e[0].base_weeks == 1 && fabs(e[0].base_messages - 2) < 1e-9 &&
          fabs(e[0].lift - 2.5) < 1e-9);
    free(e);
    sqlite3_close(db);

    /* neither the talks nor the schedule plugin ever ran: no moments, no error */
    db = db_new();
    act(db, "g1", "A", 21, 20, 10);
    e = NULL;
    CHECK_INT(qb_insight_effects(db, "g1", &week3, at(27, 22), &e, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 0);
    free(e);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------ invites */

/* A (Alice) invited I1 (stayed), I2 (left after 2 days), I3 (left after 15 days: stayed),
 * I4 (joined 5 days before the end); B invited J1, J2 (both stayed) and J3 (joined in the
 * last week, left); C's invite came after the range; X "invited" itself. */
static sqlite3 *invites_db(void)
{
    sqlite3 *db = db_new();
    member(db, "g1", "A", "Alice", at(-60, 9), 0, NULL, at(-60, 10));
    member(db, "g1", "I1", "I1", at(-20, 9), 0, "A", 0);
    member(db, "g1", "I2", "I2", at(-20, 9), at(-18, 9), "A", 0);
    member(db, "g1", "I3", "I3", at(-20, 9), at(-5, 9), "A", 0);
    member(db, "g1", "I4", "I4", at(2, 9), 0, "A", 0);
    member(db, "g1", "J1", "J1", at(-10, 9), 0, "B", 0);
    member(db, "g1", "J2", "J2", at(-3, 9), 0, "B", 0);
    member(db, "g1", "J3", "J3", at(0, 1), at(3, 9), "B", 0);
    member(db, "g1", "K1", "K1", at(8, 9), 0, "C", 0);
    member(db, "g1", "X", "X", at(-9, 9), 0, "X", 0);
    member(db, "g2", "Q", "Q", at(-9, 9), 0, "A", 0);
    return db;
}

TEST(invites_leaderboard_counts_members_who_stayed)
{
    sqlite3 *db = invites_db();
    struct qb_insight_range four = {at(-21, 0), at(7, 0), TZ};
    struct qb_insight_invites inv;
    char err[200] = "";
    CHECK_INT(qb_insight_invites(db, "g1", &four, &inv, err, sizeof err), QB_OK);
    CHECK_INT(inv.n_leaderboard, 2); /* C's invite is after the range, X's is not an invite */
    if (inv.n_leaderboard == 2) {
        /* both have 2 who stayed; A invited more */
        CHECK_STR(inv.leaderboard[0].user_id, "A");
        CHECK_STR(inv.leaderboard[0].name, "Alice");
        CHECK_INT(inv.leaderboard[0].invited, 4);
        CHECK_INT(inv.leaderboard[0].stayed, 2);
        CHECK_INT(inv.leaderboard[0].left, 2);
        CHECK_STR(inv.leaderboard[1].user_id, "B");
        CHECK_STR(inv.leaderboard[1].name, ""); /* B never seen: no name */
        CHECK_INT(inv.leaderboard[1].invited, 3);
        CHECK_INT(inv.leaderboard[1].stayed, 2);
        CHECK_INT(inv.leaderboard[1].left, 1);
    }
    CHECK_INT(inv.n_tree, 7);
    if (inv.n_tree == 7) {
        static const char *const order[7] = {"I1", "I2", "I3", "I4", "J1", "J2", "J3"};
        static const int stayed[7] = {1, 0, 1, -1, 1, 1, -1};
        for (int i = 0; i < 7; i++) {
            CHECK_STR(inv.tree[i].user_id, order[i]);
            CHECK_INT(inv.tree[i].stayed, stayed[i]);
        }
        CHECK_STR(inv.tree[0].inviter, "A");
        CHECK_INT(inv.tree[0].left_ms, 0);
        CHECK_INT(inv.tree[1].left_ms, at(-18, 9));
        CHECK_INT(inv.tree[6].left_ms, at(3, 9));
        CHECK_INT(inv.tree[6].joined_ms, at(0, 1));
    }
    qb_insight_invites_free(&inv);

    /* the tree is the range's joins; the leaderboard stays all-time */
    CHECK_INT(qb_insight_invites(db, "g1", &week, &inv, err, sizeof err), QB_OK);
    CHECK_INT(inv.n_tree, 2); /* I4, J3 */
    CHECK_INT(inv.n_leaderboard, 2);
    qb_insight_invites_free(&inv);

    CHECK_INT(qb_insight_invites(db, "g9", &week, &inv, err, sizeof err), QB_OK);
    CHECK_INT(inv.n_leaderboard + inv.n_tree, 0);
    qb_insight_invites_free(&inv);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------ communities and bridges */

TEST(label_propagation_on_two_triangles_joined_through_one_node)
{
    /* A0 B1 C2 and D3 E4 F5 are triangles; X6 talks to C and D.
     * Round 1: A takes min(1, 2) = 1, B 1, C (A, B, X: 1 twice) 1, D min(4, 5, 6) = 4, E 4,
     * F 4, X between C (1) and D (4) ties: 1. Round 2 changes nothing. */
    const struct qb_insight_edge e[] = {
            {0, 1, 1}, {1, 2, 1}, {2, 0, 1}, {3, 4, 1}, {4, 5, 1}, {5, 3, 1}, {6, 2, 1}, {3, 6, 1},
    };
    size_t label[7];
    CHECK_INT(qb_insight_communities(7, e, sizeof e / sizeof e[0], label), 2);
    static const size_t want[7] = {0, 0, 0, 1, 1, 1, 0}; /* {A B C X} is the larger */
    for (int i = 0; i < 7; i++)
        CHECK_INT(label[i], want[i]);
    /* X is the only node with an edge leaving its community */
    for (size_t k = 0; k < sizeof e / sizeof e[0]; k++)
        if (label[e[k].src] != label[e[k].dst])
            CHECK(e[k].src == 6 || e[k].dst == 6);

    /* the heavier tie wins over the smaller label: node 4 hangs between triangle 0 1 2
     * (weight 1 to node 0) and triangle 3 5 6 (weight 3 to node 3). Round 1: 0 1 2 take 1,
     * 3 takes 4 (weight 3), 4 stays 4 (3 > 1), 5 and 6 take 4; round 2 changes nothing. */
    const struct qb_insight_edge w[] = {{0, 1, 1}, {1, 2, 1}, {2, 0, 1}, {3, 5, 1},
                                        {5, 6, 1}, {6, 3, 1}, {4, 0, 1}, {3, 4, 3}};
    size_t l7[7];
    CHECK_INT(qb_insight_communities(7, w, sizeof w / sizeof w[0], l7), 2);
    CHECK(l7[3] == 0 && l7[4] == 0 && l7[5] == 0 && l7[6] == 0);
    CHECK(l7[0] == 1 && l7[1] == 1 && l7[2] == 1);

    /* no edges: everyone alone, numbered in node order; no nodes: nothing */
    size_t alone[3];
    CHECK_INT(qb_insight_communities(3, NULL, 0, alone), 3);
    CHECK(alone[0] == 0 && alone[1] == 1 && alone[2] == 2);
    CHECK_INT(qb_insight_communities(0, NULL, 0, alone), 0);
}

static void edge(sqlite3 *db, const char *src, const char *dst, const char *kind, int n,
                 int64_t last)
{
    sql(db,
        "INSERT INTO insight_edges(platform, group_id, src, dst, kind, n, last_ms) VALUES"
        " ('qq', 'g1', %Q, %Q, %Q, %d, %lld)",
        src, dst, kind, n, (long long)last);
}

TEST(bridge_links_three_circles)
{
    /* triangles a1 a2 a3, b1 b2 b3, c1 c2 c3; x talks to a3, b3 and c3 — as in the pure test
     * above x joins the a circle (ties: smallest label) and reaches the two others */
    sqlite3 *db = db_new();
    act(db, "g1", "a1", 0, 10, 1);
    const char *tri[3][3] = {{"a1", "a2", "a3"}, {"b1", "b2", "b3"}, {"c1", "c2", "c3"}};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 3; i++)
            edge(db, tri[t][i], tri[t][(i + 1) % 3], "reply", 1, at(1, 10));
    edge(db, "a2", "a1", "at", 1, at(1, 10)); /* both directions and kinds add up */
    edge(db, "x", "a3", "reply", 1, at(2, 10));
    edge(db, "b3", "x", "at", 1, at(2, 10));
    edge(db, "x", "c3", "reply", 1, at(2, 10));
    edge(db, "x", "a1", "reply", 5, at(-3, 10)); /* before the range: not counted */
    edge(db, "x", "x", "reply", 5, at(2, 10));   /* to oneself: not counted */
    member(db, "g1", "x", "小桥", at(-30, 9), 0, NULL, at(-30, 9));
    struct qb_insight_bridges b;
    char err[200] = "";
    CHECK_INT(qb_insight_bridges(db, "g1", &week, &b, err, sizeof err), QB_OK);
    CHECK_INT(b.count, 3);
    CHECK_INT(b.n_sizes, 3);
    if (b.n_sizes == 3)
        CHECK(b.sizes[0] == 4 && b.sizes[1] == 3 && b.sizes[2] == 3);
    CHECK_INT(b.n, 1);
    if (b.n == 1) {
        CHECK_STR(b.v[0].user_id, "x");
        CHECK_STR(b.v[0].name, "小桥");
        CHECK_INT(b.v[0].community, 0);
        CHECK_INT(b.v[0].reached, 2);
        CHECK(fabs(b.v[0].weight - 3) < 1e-9);
        CHECK(fabs(b.v[0].outside_share - 2.0 / 3) < 1e-9);
    }
    qb_insight_bridges_free(&b);

    /* a group without conversation: no communities, no bridges */
    CHECK_INT(qb_insight_bridges(db, "g2", &week, &b, err, sizeof err), QB_OK);
    CHECK_INT(b.count, 0);
    CHECK_INT(b.n, 0);
    qb_insight_bridges_free(&b);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------ moderation by detector */

static void hit(sqlite3 *db, const char *g, int64_t ts, const char *rule, const char *detector,
                int acted, int case_no)
{
    char c[16];
    snprintf(c, sizeof c, "%d", case_no);
    sql(db,
        "INSERT INTO guard_hits(ts, platform, group_id, user_id, message_id, rule_id, version,"
        " detector, mode, action, acted, case_no) VALUES (%lld, 'qq', %Q, 'u', 'm', %Q, 1, %Q,"
        " 'enforce', 'recall', %d, %s)",
        (long long)ts, g, rule, detector, acted, case_no ? c : "NULL");
}

static void recall(sqlite3 *db, const char *id, int64_t ts)
{
    sql(db,
        "INSERT INTO insight_recalls(platform, group_id, message_id, user_id, operator_id, ts)"
        " VALUES ('qq', 'g1', %Q, 'u', 'admin', %lld)",
        id, (long long)ts);
}

TEST(moderation_by_detector_with_pardons_and_manual_recalls)
{
    sqlite3 *db = db_new();
    struct qb_insight_moderation *m = NULL;
    size_t n = 0;
    char err[200] = "";
    /* nothing at all, guard never ran */
    CHECK_INT(qb_insight_moderation_by(db, "g1", &week, &m, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 0);
    free(m);
    /* only recalls by admins */
    recall(db, "r1", at(1, 10));
    recall(db, "r2", at(2, 10));
    recall(db, "r0", at(-2, 10)); /* before the range */
    CHECK_INT(qb_insight_moderation_by(db, "g1", &week, &m, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(m[0].detector, "manual");
        CHECK(m[0].hits == 2 && m[0].acted == 2 && m[0].cases == 0 && m[0].pardoned == 0);
    }
    free(m);

    sql(db, "%s", guard_sql);
    hit(db, "g1", at(1, 9), "ad.words", "keywords", 1, 1);
    hit(db, "g1", at(1, 9), "ad.words2", "keywords", 1, 2);
    hit(db, "g1", at(2, 9), "ad.words", "keywords", 0, 0);  /* warn only: no case */
    hit(db, "g1", at(3, 9), "flood.fast", NULL, 1, 3);      /* no detector: "flood" */
    hit(db, "g1", at(3, 9), "norule", NULL, 0, 0);          /* no dot: the rule id */
    hit(db, "g1", at(-1, 9), "ad.words", "keywords", 1, 4); /* before the range */
    hit(db, "g2", at(1, 9), "ad.words", "keywords", 1, 5);  /* another group */
    const char *kase = "INSERT INTO guard_cases(case_no, ts, platform, self_id, group_id, user_id,"
                       " message_id, rule_id, version, reason, step, pardoned) VALUES (%d, 0,"
                       " 'qq', 's', 'g1', 'u', 'm%d', 'r', 1, 'x', 'warn', %d)";
    sql(db, kase, 1, 1, 1);
    sql(db, kase, 2, 2, 0);
    sql(db, kase, 3, 3, 1);
    CHECK_INT(qb_insight_moderation_by(db, "g1", &week, &m, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(m[0].detector, "keywords");
        CHECK(m[0].hits == 3 && m[0].acted == 2 && m[0].cases == 2 && m[0].pardoned == 1);
        CHECK_STR(m[1].detector, "manual");
        CHECK_STR(m[2].detector, "flood"); /* ties by name */
        CHECK(m[2].hits == 1 && m[2].acted == 1 && m[2].cases == 1 && m[2].pardoned == 1);
        CHECK_STR(m[3].detector, "norule");
        CHECK(m[3].hits == 1 && m[3].acted == 0 && m[3].cases == 0);
    }
    free(m);
    /* guard_hits without guard_cases: no pardons known */
    sql(db, "DROP TABLE guard_cases");
    CHECK_INT(qb_insight_moderation_by(db, "g1", &week, &m, &n, err, sizeof err), QB_OK);
    CHECK(n == 4 && m[0].cases == 2 && m[0].pardoned == 0);
    free(m);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------ the whole report */

TEST(report_carries_the_new_sections_and_frees_them)
{
    sqlite3 *db = effects_db();
    sql(db, "%s", guard_sql);
    hit(db, "g1", at(22, 9), "ad.words", "keywords", 1, 1);
    member(db, "g1", "N", "新人", at(22, 9), 0, "A", at(22, 10));
    msg(db, "g1", "q", "N", at(22, 10), 1, 0);
    struct qb_insight_report rep;
    char err[200] = "";
    CHECK_INT(qb_insight_report(db, "g1", &week3, at(27, 22), &rep, err, sizeof err), QB_OK);
    CHECK_INT(rep.n_effects, 3);
    CHECK_INT(rep.newcomers.joined, 4); /* J1, J2, J3 of the effects data and N */
    CHECK_INT(rep.newcomers.n_unanswered, 1);
    CHECK_INT(rep.invites.n_tree, 1);
    CHECK_INT(rep.n_moderation_by, 1);
    char *text = qb_insight_render_text(&rep);
    CHECK(text && strstr(text, "新人提问没人回复：新人") != NULL);
    CHECK(text && strstr(text, "新人 7 天内发言 1/4") != NULL);
    free(text);
    qb_insight_report_free(&rep);
    CHECK(rep.effects == NULL && rep.newcomers.list == NULL && rep.moderation_by == NULL);
    sqlite3_close(db);
}

int main(void)
{
    RUN(newcomers_activation_replies_and_unanswered_questions);
    RUN(newcomers_of_a_quiet_group_are_zero_and_null);
    RUN(effects_against_the_weekday_baseline);
    RUN(effects_short_baseline_missing_tables_and_no_data);
    RUN(invites_leaderboard_counts_members_who_stayed);
    RUN(label_propagation_on_two_triangles_joined_through_one_node);
    RUN(bridge_links_three_circles);
    RUN(moderation_by_detector_with_pardons_and_manual_recalls);
    RUN(report_carries_the_new_sections_and_frees_them);
    return test_done();
}
