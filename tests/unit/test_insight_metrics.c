/*
 * test_insight_metrics.c — the engagement metrics (bot/insight) on databases built by hand
 * with known answers: the range parser, overview counts, DAU/WAU/MAU on a worked example,
 * heatmap cells, stages of hand-made members, PageRank on small graphs worked out here,
 * silent members, retention of two join cohorts, daily series and hot words.
 * link: qb_insight
 */
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <time.h>

#include "insight.h"
#include "test.h"

#define DAY  86400000LL
#define HOUR 3600000LL
/* Monday 2026-11-23 00:00 in Asia/Shanghai (UTC+8). */
#define MON0 1795363200000LL
#define TZ   "Asia/Shanghai"

/* Local time in Shanghai: day offset from MON0 (may be negative) and hour. */
static int64_t at(int day, int hour)
{
    return MON0 + day * DAY + hour * HOUR;
}

static sqlite3 *db_new(void)
{
    sqlite3 *db = NULL;
    sqlite3_open(":memory:", &db);
    for (const char *const *m = qb_insight_migrations; *m; m++)
        CHECK(sqlite3_exec(db, *m, NULL, NULL, NULL) == SQLITE_OK);
    /* the core's tables, as bot/storage.c creates them */
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE interactions (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
                       " direction TEXT NOT NULL, platform TEXT, self_id TEXT, group_id TEXT,"
                       " user_id TEXT, kind TEXT, message_id TEXT, text TEXT, details TEXT);"
                       "CREATE INDEX interactions_group_ts ON interactions(group_id, ts);"
                       "CREATE TABLE points_ledger (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
                       " platform TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
                       " delta INTEGER NOT NULL, reason TEXT, source TEXT NOT NULL, ref TEXT,"
                       " actor TEXT);",
                       NULL, NULL, NULL) == SQLITE_OK);
    return db;
}

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

/* Messages of user in the local hour (day from MON0, hour); day string and weekday derived. */
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

static void member(sqlite3 *db, const char *g, const char *user, int64_t joined, int64_t left,
                   const char *inviter, int64_t last_msg, int admin)
{
    sql(db,
        "INSERT INTO insight_members(platform, group_id, user_id, name, joined_ms, left_ms,"
        " inviter, first_msg_ms, last_msg_ms, messages, is_admin) VALUES ('qq', %Q, %Q, %Q,"
        " %lld, %lld, %Q, %lld, %lld, 0, %d)",
        g, user, user, (long long)joined, (long long)left, inviter, (long long)last_msg,
        (long long)last_msg, admin);
}

/* The worked example, group g1, week Mon 2026-11-23 .. Sun 11-29:
 *   A: Mon 10h ×5, Tue 10h ×3   B: Mon 20h ×2   C: Wed 10h ×1   D: 11-10 09h ×4 (before)
 *   A: Mon 11-30 01h ×99 (after the range)
 * Members: A (joined 11-01), B (11-23 12:00, invited by A), C (11-24), D (10-01),
 *   E (11-25, never spoke), F (10-01, left 11-26), G (11-02 invited by A, left 11-05),
 *   H (admin, join unknown, never spoke), I (11-05 invited by A, stayed, never spoke). */
static sqlite3 *worked(void)
{
    sqlite3 *db = db_new();
    act(db, "g1", "A", 0, 10, 5);
    act(db, "g1", "A", 1, 10, 3);
    act(db, "g1", "B", 0, 20, 2);
    act(db, "g1", "C", 2, 10, 1);
    act(db, "g1", "D", -13, 9, 4);
    act(db, "g1", "A", 7, 1, 99);
    act(db, "g2", "A", 0, 10, 50); /* another group must not leak in */
    member(db, "g1", "A", at(-22, 9), 0, NULL, at(1, 10), 0);
    member(db, "g1", "B", at(0, 12), 0, "A", at(0, 20), 0);
    member(db, "g1", "C", at(1, 9), 0, NULL, at(2, 10), 0);
    member(db, "g1", "D", at(-53, 9), 0, NULL, at(-13, 9), 0);
    member(db, "g1", "E", at(2, 9), 0, NULL, 0, 0);
    member(db, "g1", "F", at(-53, 9), at(3, 9), NULL, 0, 0);
    member(db, "g1", "G", at(-21, 9), at(-18, 9), "A", 0, 0);
    member(db, "g1", "H", 0, 0, NULL, 0, 1);
    member(db, "g1", "I", at(-18, 9), 0, "A", 0, 0);
    /* check-ins: A ×3, B ×1, C ×3, and a make-up cost (negative, not a check-in) */
    const char *ck[] = {"A", "A", "A", "B", "C", "C", "C"};
    for (int i = 0; i < 7; i++)
        sql(db,
            "INSERT INTO points_ledger(ts, platform, group_id, user_id, delta, source, ref)"
            " VALUES (%lld, 'qq', 'g1', %Q, 5, 'checkin', 'r%d')",
            (long long)at(i % 3, 8), ck[i], i);
    sql(db,
        "INSERT INTO points_ledger(ts, platform, group_id, user_id, delta, source, ref)"
        " VALUES (%lld, 'qq', 'g1', 'A', -10, 'checkin', 'makeup')",
        (long long)at(1, 9));
    /* questions: B's answered after 600 s, C's after 120 s, C's second never */
    sql(db,
        "INSERT INTO insight_msgs(platform, group_id, message_id, user_id, ts, question,"
        " first_reply_ms, first_reply_by) VALUES"
        " ('qq', 'g1', 'm1', 'B', %lld, 1, %lld, 'A'),"
        " ('qq', 'g1', 'm2', 'C', %lld, 1, %lld, 'A'),"
        " ('qq', 'g1', 'm3', 'C', %lld, 1, 0, NULL),"
        " ('qq', 'g1', 'm4', 'A', %lld, 0, 0, NULL)",
        (long long)at(0, 20), (long long)(at(0, 20) + 600000), (long long)at(2, 10),
        (long long)(at(2, 10) + 120000), (long long)(at(2, 10) + 300000), (long long)at(0, 10));
    /* conversation: B replied to A twice, C @ A once, A replied to C once */
    sql(db,
        "INSERT INTO insight_edges(platform, group_id, src, dst, kind, n, last_ms) VALUES"
        " ('qq', 'g1', 'B', 'A', 'reply', 2, %lld), ('qq', 'g1', 'C', 'A', 'at', 1, %lld),"
        " ('qq', 'g1', 'A', 'C', 'reply', 1, %lld)",
        (long long)at(0, 20), (long long)at(2, 10), (long long)at(2, 10));
    /* message text for hot words */
    const char *texts[] = {"周末一起去爬山吧", "周末一起去爬山吧！", "我们周末一起去爬山吧",
                           "爬山好累 hhh", "/report"};
    for (int i = 0; i < 5; i++)
        sql(db,
            "INSERT INTO interactions(ts, direction, platform, group_id, user_id, kind, text)"
            " VALUES (%lld, 'in', 'qq', 'g1', 'A', 'message', %Q)",
            (long long)at(i % 3, 11), texts[i]);
    sql(db,
        "INSERT INTO interactions(ts, direction, platform, group_id, user_id, kind, text)"
        " VALUES (%lld, 'out', 'qq', 'g1', 'A', 'send', '爬山爬山爬山爬山爬山')",
        (long long)at(0, 12));
    return db;
}

static const struct qb_insight_range week = {MON0, MON0 + 7 * DAY, TZ};

TEST(range_parse_days_weeks_hours_and_refusals)
{
    struct qb_insight_range r;
    char err[200] = "";
    int64_t now = at(6, 15); /* Sunday 15:00 */
    CHECK_INT(qb_insight_range_parse("7d", now, TZ, &r, err, sizeof err), QB_OK);
    CHECK_INT(r.since_ms, MON0); /* today and the six days before, from local midnight */
    CHECK_INT(r.until_ms, now);
    CHECK_INT(qb_insight_range_parse("2w", now, TZ, &r, err, sizeof err), QB_OK);
    CHECK_INT(r.since_ms, MON0 - 7 * DAY);
    CHECK_INT(qb_insight_range_parse("24h", now, TZ, &r, err, sizeof err), QB_OK);
    CHECK_INT(r.since_ms, now - 24 * HOUR);
    CHECK_INT(qb_insight_range_parse("abc", now, TZ, &r, err, sizeof err), QB_EINVAL);
    CHECK(strstr(err, "7d") != NULL);
    CHECK_INT(qb_insight_range_parse("0d", now, TZ, &r, err, sizeof err), QB_EINVAL);
    CHECK_INT(qb_insight_range_parse("7x", now, TZ, &r, err, sizeof err), QB_EINVAL);
    CHECK_INT(qb_insight_range_parse(NULL, now, TZ, &r, err, sizeof err), QB_EINVAL);
}

TEST(overview_counts_on_the_worked_week)
{
    sqlite3 *db = worked();
    struct qb_insight_overview o;
    char err[200] = "";
    CHECK_INT(qb_insight_overview(db, "g1", &week, &o, err, sizeof err), QB_OK);
    CHECK_STR(o.group_id, "g1");
    CHECK_INT(o.messages, 11);      /* 5 + 3 + 2 + 1; D before and A's 99 after are outside */
    CHECK_INT(o.active_members, 3); /* A, B, C */
    CHECK_INT(o.members, 7);        /* A B C D E H I; F and G left */
    CHECK_INT(o.joins, 3);          /* B, C, E */
    CHECK_INT(o.leaves, 1);         /* F */
    CHECK_INT(o.net_growth, 2);
    CHECK_INT(o.checkins, 7); /* the make-up cost is not a check-in */
    CHECK(fabs(o.checkin_rate - 7.0 / (7 * 7)) < 1e-9);
    CHECK_INT(o.questions, 3);
    CHECK_INT(o.unanswered_questions, 1);
    CHECK(fabs(o.median_response_s - 360.0) < 1e-9); /* median of 120 s and 600 s */
    CHECK(fabs(o.top10_share - 8.0 / 11.0) < 1e-9);  /* top 10 % of 3 speakers = A */
    CHECK_INT(o.talks, 0);                           /* no talks plugin tables: zero */
    CHECK_INT(o.moderation, 0);
    sqlite3_close(db);
}

/* DAU per day: Mon {A,B} 2, Tue {A} 1, Wed {C} 1, then 0 → 4 / 7.
 * WAU (trailing 7 days): Mon 2, Tue 2, Wed..Sun 3 → 19 / 7.
 * MAU (trailing 30 days, D's 11-10 included): Mon 3, Tue 3, Wed..Sun 4 → 26 / 7. */
TEST(dau_wau_mau_on_a_worked_example)
{
    sqlite3 *db = worked();
    struct qb_insight_overview o;
    char err[200] = "";
    CHECK_INT(qb_insight_overview(db, "g1", &week, &o, err, sizeof err), QB_OK);
    CHECK(fabs(o.dau - 4.0 / 7) < 1e-9);
    CHECK(fabs(o.wau - 19.0 / 7) < 1e-9);
    CHECK(fabs(o.mau - 26.0 / 7) < 1e-9);
    CHECK(fabs(o.dau_mau - 4.0 / 26) < 1e-9);
    sqlite3_close(db);
}

TEST(heatmap_cells_by_local_weekday_and_hour)
{
    sqlite3 *db = worked();
    int64_t h[7][24];
    char err[200] = "";
    CHECK_INT(qb_insight_heatmap(db, "g1", &week, h, err, sizeof err), QB_OK);
    CHECK_INT(h[0][10], 5); /* Monday 10:00 */
    CHECK_INT(h[1][10], 3);
    CHECK_INT(h[0][20], 2);
    CHECK_INT(h[2][10], 1);
    int64_t sum = 0;
    for (int d = 0; d < 7; d++)
        for (int k = 0; k < 24; k++)
            sum += h[d][k];
    CHECK_INT(sum, 11);
    sqlite3_close(db);
}

static const struct qb_insight_member *find(const struct qb_insight_member *m, size_t n,
                                            const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].user_id, id))
            return &m[i];
    return NULL;
}

TEST(stages_values_and_ranks_of_hand_made_members)
{
    sqlite3 *db = worked();
    struct qb_insight_member *m = NULL;
    size_t n = 0;
    char err[200] = "";
    CHECK_INT(qb_insight_members(db, "g1", &week, NULL, &m, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 8); /* also F, who left during the week; not G, who left before it */
    const struct qb_insight_member *A = find(m, n, "A"), *B = find(m, n, "B"), *C = find(m, n, "C"),
                                   *E = find(m, n, "E"), *H = find(m, n, "H");
    CHECK(A && B && C && E && H);
    if (A && B && C && E && H) {
        CHECK_INT(H->stage, QB_STAGE_PARTNER);  /* admin */
        CHECK_INT(A->stage, QB_STAGE_SPREADER); /* I stayed 7 days (G left after 3) */
        CHECK_INT(A->invites_stayed, 1);
        CHECK_INT(C->stage, QB_STAGE_PARTICIPANT); /* 3 check-ins */
        CHECK_INT(B->stage, QB_STAGE_FOLLOWER);    /* spoke, 1 check-in */
        CHECK_INT(E->stage, QB_STAGE_ONLOOKER);    /* never spoke */
        CHECK_INT(A->messages, 8);
        CHECK_INT(A->replies_received, 2);
        CHECK_INT(A->mentions_received, 1);
        CHECK_INT(A->checkins, 3);
        CHECK(strstr(A->value_why, "被 2 人回复") != NULL);
        CHECK(m[0].value >= m[1].value && !strcmp(m[0].user_id, "A")); /* ordered by value */
        CHECK(A->pagerank > C->pagerank && C->pagerank > B->pagerank);
        CHECK(A->degree == 4.0); /* in 2 + 1, out 1 */
        CHECK(E->value < B->value);
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += m[i].pagerank;
    CHECK(fabs(sum - 1.0) < 1e-9);
    free(m);
    /* stricter thresholds move A down to participant (3 check-ins), B to onlooker */
    struct qb_insight_stages st = {3, 3, 2, 5};
    CHECK_INT(qb_insight_members(db, "g1", &week, &st, &m, &n, err, sizeof err), QB_OK);
    CHECK_INT(find(m, n, "A")->stage, QB_STAGE_PARTICIPANT);
    CHECK_INT(find(m, n, "B")->stage, QB_STAGE_ONLOOKER);
    free(m);
    sqlite3_close(db);
}

/* Star: 1, 2, 3 each link to 0; 0 has no out-links (dangling, spread evenly). With d = 0.85,
 * n = 4, r0 = x and r1 = r2 = r3 = y = (1 - x) / 3:
 *   y = (1-d)/4 + d·x/4,   x = (1-d)/4 + d·x/4 + 3·d·y
 * → x = 0.8875 / 1.6375 = 0.54198473…, y = 0.15267175…  */
TEST(pagerank_of_a_star_matches_the_closed_form)
{
    struct qb_insight_edge e[] = {{1, 0, 1}, {2, 0, 1}, {3, 0, 1}};
    double r[4];
    qb_insight_pagerank(4, e, 3, 0.85, r);
    double x = 0.8875 / 1.6375, y = (1 - x) / 3;
    CHECK(fabs(r[0] - x) < 1e-7);
    CHECK(fabs(r[1] - y) < 1e-7 && fabs(r[2] - y) < 1e-7 && fabs(r[3] - y) < 1e-7);
}

/* Weighted: 0 → 1 (weight 3), 0 → 2 (weight 1), 1 → 0, 2 → 0; node 3 has no links. Nodes 1
 * and 2 get rank only from 0, split 3 : 1, on top of the same base b = r3, so
 * r1 - r3 = 3 (r2 - r3); and 0 receives everything 1 and 2 pass on. */
TEST(pagerank_follows_weights_and_sums_to_one)
{
    struct qb_insight_edge e[] = {{0, 1, 3}, {0, 2, 1}, {1, 0, 1}, {2, 0, 1}};
    double r[4];
    qb_insight_pagerank(4, e, 4, 0.85, r);
    CHECK(fabs((r[1] - r[3]) - 3 * (r[2] - r[3])) < 1e-7);
    CHECK(fabs(r[0] + r[1] + r[2] + r[3] - 1.0) < 1e-9);
    CHECK(r[0] > r[1] && r[1] > r[2] && r[2] > r[3]);
    double one[1];
    qb_insight_pagerank(1, NULL, 0, 0.85, one);
    CHECK(fabs(one[0] - 1.0) < 1e-12);
}

TEST(silent_members_longest_first)
{
    sqlite3 *db = worked();
    struct qb_insight_member *m = NULL;
    size_t n = 0;
    char err[200] = "";
    CHECK_INT(qb_insight_silent(db, "g1", MON0 + 7 * DAY, 14, &m, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 2); /* I joined 11-05 and never spoke; D last spoke 11-10 */
    if (n == 2) {
        CHECK_STR(m[0].user_id, "I");
        CHECK_STR(m[1].user_id, "D");
        CHECK(strstr(m[1].value_why, "19 天") != NULL);
    }
    free(m);
    CHECK_INT(qb_insight_silent(db, "g1", MON0 + 7 * DAY, 30, &m, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 0);
    free(m);
    sqlite3_close(db);
}

/* Cohort of Mon 11-02: u1 (joined Mon 11-02) active 11-10 (week 1) and 11-30 (week 4);
 * u2 (Wed 11-04) active 11-11 (week 1) and 11-20 (week 2). Cohort of Mon 11-16: u3 (Tue 11-17)
 * active 11-24 (week 1). Now 12-10: week 8 of both and week 4 of the second are not due. */
TEST(retention_of_two_join_cohorts)
{
    sqlite3 *db = db_new();
    member(db, "g2", "u1", at(-21, 10), 0, NULL, 0, 0);
    member(db, "g2", "u2", at(-19, 10), 0, NULL, 0, 0);
    member(db, "g2", "u3", at(-6, 10), 0, NULL, 0, 0);
    act(db, "g2", "u1", -13, 10, 1);
    act(db, "g2", "u1", 7, 10, 1);
    act(db, "g2", "u2", -12, 10, 1);
    act(db, "g2", "u2", -3, 10, 1);
    act(db, "g2", "u3", 1, 10, 1);
    struct qb_insight_range r = {at(-21, 0), MON0, TZ};
    struct qb_insight_cohort *c = NULL;
    size_t n = 0;
    char err[200] = "";
    CHECK_INT(qb_insight_cohorts(db, "g2", &r, at(17, 12), &c, &n, err, sizeof err), QB_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(c[0].week, "2026-11-02");
        CHECK_INT(c[0].joined, 2);
        CHECK_INT(c[0].active[0], 2);
        CHECK_INT(c[0].active[1], 1);
        CHECK_INT(c[0].active[2], 1);
        CHECK_INT(c[0].active[3], -1);
        CHECK_STR(c[1].week, "2026-11-16");
        CHECK_INT(c[1].joined, 1);
        CHECK_INT(c[1].active[0], 1);
        CHECK_INT(c[1].active[1], 0);
        CHECK_INT(c[1].active[2], -1);
        CHECK_INT(c[1].active[3], -1);
    }
    free(c);
    sqlite3_close(db);
}

TEST(report_assembles_series_words_funnel_and_text)
{
    sqlite3 *db = worked();
    struct qb_insight_report rep;
    char err[200] = "";
    CHECK_INT(qb_insight_report(db, "g1", &week, MON0 + 7 * DAY, &rep, err, sizeof err), QB_OK);
    CHECK_INT(rep.n_days, 7);
    CHECK_INT(rep.daily_messages[0], 7);
    CHECK_INT(rep.daily_messages[1], 3);
    CHECK_INT(rep.daily_messages[2], 1);
    CHECK_INT(rep.daily_messages[6], 0);
    CHECK_INT(rep.daily_active[0], 2);
    CHECK_INT(rep.n_members, 8);
    CHECK_INT(rep.funnel[QB_STAGE_PARTNER], 1);
    CHECK_INT(rep.funnel[QB_STAGE_SPREADER], 1);
    CHECK_INT(rep.funnel[QB_STAGE_ONLOOKER], 4); /* D, E, F, I */
    CHECK(rep.n_words > 0);
    if (rep.n_words > 0) {
        CHECK_STR(rep.words[0].text, "爬山"); /* 4 messages; the bot's own text is not counted */
        CHECK_INT(rep.words[0].count, 4);
    }
    for (size_t i = 0; i < rep.n_words; i++)
        CHECK(strcmp(rep.words[i].text, "我们") != 0); /* a stop word */
    char *text = qb_insight_render_text(&rep);
    CHECK(text && strstr(text, "消息 11 条") && strstr(text, "2026-11-23 ~ 2026-11-29"));
    free(text);
    qb_insight_report_free(&rep);
    CHECK_INT(qb_insight_report(db, "g1", &(struct qb_insight_range){5, 1, TZ}, 0, &rep, err,
                                sizeof err),
              QB_EINVAL);
    sqlite3_close(db);
}

TEST(a_database_without_insight_tables_is_explained)
{
    sqlite3 *db = NULL;
    sqlite3_open(":memory:", &db);
    struct qb_insight_overview o;
    char err[200] = "";
    CHECK_INT(qb_insight_overview(db, "g1", &week, &o, err, sizeof err), QB_ENOENT);
    CHECK(strstr(err, "insight") != NULL);
    sqlite3_close(db);
}

int main(void)
{
    RUN(range_parse_days_weeks_hours_and_refusals);
    RUN(overview_counts_on_the_worked_week);
    RUN(dau_wau_mau_on_a_worked_example);
    RUN(heatmap_cells_by_local_weekday_and_hour);
    RUN(stages_values_and_ranks_of_hand_made_members);
    RUN(pagerank_of_a_star_matches_the_closed_form);
    RUN(pagerank_follows_weights_and_sums_to_one);
    RUN(silent_members_longest_first);
    RUN(retention_of_two_join_cohorts);
    RUN(report_assembles_series_words_funnel_and_text);
    RUN(a_database_without_insight_tables_is_explained);
    return test_done();
}
