/*
 * bench_insight.c — qunbot-bench-insight: how long an engagement report takes for a big
 * group. Builds a database the way the insight plugin fills it — one group, N members,
 * M messages (default 1 000 000) spread over 90 days with replies, @s and questions, every
 * message also in the interaction log — then times qb_insight_report for 7, 30 and 90 days
 * and each renderer. Run on demand; results go to docs/BENCHMARKS.md.
 *   qunbot-bench-insight [--messages M] [--members N] [--db PATH]
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "insight.h"
#include "util/util.h"

#define DAY_MS (24LL * 3600 * 1000)
#define NOW_MS 1795392000000LL /* 2026-11-23 08:00 Asia/Shanghai */

static const char *const core_schema =
        "CREATE TABLE interactions (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
        " direction TEXT NOT NULL, platform TEXT, self_id TEXT, group_id TEXT, user_id TEXT,"
        " kind TEXT, message_id TEXT, text TEXT, details TEXT);"
        "CREATE INDEX interactions_ts ON interactions(ts);"
        "CREATE INDEX interactions_group_ts ON interactions(group_id, ts);"
        "CREATE INDEX interactions_user_ts ON interactions(user_id, ts);"
        "CREATE TABLE points_ledger (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
        " platform TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " delta INTEGER NOT NULL, reason TEXT, source TEXT NOT NULL, ref TEXT, actor TEXT);";

static const char *const phrases[] = {"今天读完了第三章",
                                      "有没有人推荐入门的书",
                                      "周末的分享会几点开始",
                                      "签到",
                                      "这个观点很有意思",
                                      "我觉得可以再讨论一下",
                                      "收到，谢谢群主",
                                      "晚上一起打卡吧",
                                      "请问报名截止到什么时候？",
                                      "哈哈哈太真实了",
                                      "早上好",
                                      "明天见"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "qunbot-bench-insight: %s\n", err ? err : "sqlite error");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fprintf(stderr, "qunbot-bench-insight: %s\n", sqlite3_errmsg(db));
    return st;
}

struct fill {
    sqlite3_stmt *log, *act, *mem, *msg, *edge;
};

/* One message at ts by user u (in the style of plugins/insight's recording). */
static void one(struct fill *f, long i, int64_t ts, long u, long reply_to, const char *text)
{
    char user[24], mid[24], peer[24], day[16];
    snprintf(user, sizeof user, "%ld", 100000 + u);
    snprintf(mid, sizeof mid, "%ld", i + 1);
    time_t t = (time_t)(ts / 1000 + 8 * 3600); /* Asia/Shanghai has no DST */
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    sqlite3_bind_int64(f->log, 1, ts);
    sqlite3_bind_text(f->log, 2, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(f->log, 3, mid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(f->log, 4, text, -1, SQLITE_STATIC);
    sqlite3_step(f->log);
    sqlite3_reset(f->log);
    sqlite3_bind_text(f->act, 1, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(f->act, 2, day, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(f->act, 3, tm.tm_hour);
    sqlite3_bind_int(f->act, 4, (tm.tm_wday + 6) % 7);
    sqlite3_bind_int64(f->act, 5, (int64_t)strlen(text) / 3);
    sqlite3_step(f->act);
    sqlite3_reset(f->act);
    sqlite3_bind_text(f->mem, 1, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(f->mem, 2, ts);
    sqlite3_step(f->mem);
    sqlite3_reset(f->mem);
    sqlite3_bind_text(f->msg, 1, mid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(f->msg, 2, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(f->msg, 3, ts);
    sqlite3_bind_int(f->msg, 4, strstr(text, "？") != NULL);
    sqlite3_step(f->msg);
    sqlite3_reset(f->msg);
    if (reply_to >= 0) {
        snprintf(peer, sizeof peer, "%ld", 100000 + reply_to);
        sqlite3_bind_text(f->edge, 1, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(f->edge, 2, peer, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(f->edge, 3, ts);
        sqlite3_step(f->edge);
        sqlite3_reset(f->edge);
    }
}

static int build(sqlite3 *db, long messages, long members)
{
    if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;") || exec(db, core_schema))
        return -1;
    for (size_t i = 0; qb_insight_migrations[i]; i++)
        if (exec(db, qb_insight_migrations[i]))
            return -1;
    struct fill f = {
            .log = prep(db, "INSERT INTO interactions(ts, direction, platform, group_id, user_id,"
                            " kind, message_id, text) VALUES (?, 'in', 'qq', '100', ?, 'message',"
                            " ?, ?)"),
            .act = prep(db, "INSERT INTO insight_activity(platform, group_id, user_id, day, hour,"
                            " weekday, messages, chars) VALUES ('qq', '100', ?, ?, ?, ?, 1, ?)"
                            " ON CONFLICT (group_id, user_id, day, hour, platform) DO UPDATE SET"
                            " messages = messages + 1, chars = chars + excluded.chars"),
            .mem = prep(db, "INSERT INTO insight_members(platform, group_id, user_id, name,"
                            " joined_ms, first_msg_ms, last_msg_ms, messages) VALUES ('qq', '100',"
                            " ?1, ?1, 0, ?2, ?2, 1) ON CONFLICT (group_id, user_id, platform) DO"
                            " UPDATE SET last_msg_ms = excluded.last_msg_ms, messages = messages"
                            " + 1"),
            .msg = prep(db, "INSERT INTO insight_msgs(platform, group_id, message_id, user_id, ts,"
                            " question) VALUES ('qq', '100', ?, ?, ?, ?)"),
            .edge = prep(db, "INSERT INTO insight_edges(platform, group_id, src, dst, kind, n,"
                             " last_ms) VALUES ('qq', '100', ?, ?, 'reply', 1, ?) ON CONFLICT"
                             " (group_id, src, dst, kind, platform) DO UPDATE SET n = n + 1,"
                             " last_ms = excluded.last_ms"),
    };
    if (!f.log || !f.act || !f.mem || !f.msg || !f.edge)
        return -1;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    exec(db, "BEGIN");
    int64_t start = NOW_MS - 90 * DAY_MS;
    for (long i = 0; i < messages; i++) {
        int64_t ts = start + (int64_t)((double)i / (double)messages * 90 * DAY_MS);
        /* a few members talk a lot: the square of a uniform draw skews towards low ids */
        double x = (double)(rng(&seed) % 10000) / 10000.0;
        long u = (long)(x * x * (double)members);
        long reply = rng(&seed) % 4 == 0 ? (long)(rng(&seed) % (uint64_t)members) : -1;
        one(&f, i, ts, u, reply, phrases[rng(&seed) % (sizeof phrases / sizeof phrases[0])]);
        if (i % 100000 == 99999) {
            exec(db, "COMMIT");
            exec(db, "BEGIN");
        }
    }
    exec(db, "COMMIT");
    sqlite3_finalize(f.log);
    sqlite3_finalize(f.act);
    sqlite3_finalize(f.mem);
    sqlite3_finalize(f.msg);
    sqlite3_finalize(f.edge);
    return exec(db, "ANALYZE");
}

static void time_report(sqlite3 *db, const char *since)
{
    struct qb_insight_range r;
    struct qb_insight_report rep;
    char err[256] = "";
    if (qb_insight_range_parse(since, NOW_MS, "Asia/Shanghai", &r, err, sizeof err) != QB_OK) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    double t0 = now_s();
    if (qb_insight_report(db, "100", &r, NOW_MS, &rep, err, sizeof err) != QB_OK) {
        fprintf(stderr, "report %s: %s\n", since, err);
        return;
    }
    double t1 = now_s();
    FILE *null = fopen("/dev/null", "w");
    double th0 = now_s();
    qb_insight_render_html(&rep, null);
    double th = now_s() - th0, tj0 = now_s();
    qb_insight_render_json(&rep, null);
    double tj = now_s() - tj0;
    fclose(null);
    printf("report %-4s %8lld messages, %5zu members: metrics %.3f s, HTML %.3f s, JSON %.3f s\n",
           since, (long long)rep.ov.messages, rep.n_members, t1 - t0, th, tj);
    qb_insight_report_free(&rep);
    /* where the time goes: the parts one by one */
    struct qb_insight_overview ov;
    int64_t heat[7][24];
    struct qb_insight_member *m = NULL;
    struct qb_insight_cohort *co = NULL;
    size_t n = 0;
    double p0 = now_s();
    qb_insight_overview(db, "100", &r, &ov, err, sizeof err);
    double p1 = now_s();
    qb_insight_heatmap(db, "100", &r, heat, err, sizeof err);
    double p2 = now_s();
    qb_insight_members(db, "100", &r, NULL, &m, &n, err, sizeof err);
    double p3 = now_s();
    qb_insight_cohorts(db, "100", &r, NOW_MS, &co, &n, err, sizeof err);
    double p4 = now_s();
    free(m);
    free(co);
    printf("     parts: overview %.3f s, heatmap %.3f s, members %.3f s, cohorts %.3f s\n", p1 - p0,
           p2 - p1, p3 - p2, p4 - p3);
}

/* What the report command and the dashboard do with their read-only connection. */
static void tune(sqlite3 *db)
{
    if (getenv("BENCH_NO_MMAP") == NULL)
        exec(db, "PRAGMA mmap_size = 268435456");
}

int main(int argc, char **argv)
{
    long messages = 1000000, members = 3000;
    const char *path = "/tmp/qunbot-bench-insight.db";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--messages"))
            messages = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--members"))
            members = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--db"))
            path = argv[i + 1];
    }
    bool keep = argc > 1 && !strcmp(argv[argc - 1], "--keep");
    if (messages <= 0 || members <= 0) {
        fprintf(stderr, "usage: qunbot-bench-insight [--messages M] [--members N] [--db PATH]\n");
        return 2;
    }
    if (keep) { /* time the reports on a database an earlier run built */
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            fprintf(stderr, "qunbot-bench-insight: cannot open %s\n", path);
            sqlite3_close(db);
            return 1;
        }
        tune(db);
        time_report(db, "7d");
        time_report(db, "30d");
        time_report(db, "90d");
        sqlite3_close(db);
        return 0;
    }
    remove(path);
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", path);
    remove(wal);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    double t0 = now_s();
    if (build(db, messages, members)) {
        sqlite3_close(db);
        return 1;
    }
    printf("built %s: %ld messages by %ld members over 90 days in %.1f s\n", path, messages,
           members, now_s() - t0);
    tune(db);
    time_report(db, "7d");
    time_report(db, "30d");
    time_report(db, "90d");
    sqlite3_close(db);
    return 0;
}
