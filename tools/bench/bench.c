/*
 * bench.c — qunbot-bench: measures the bot core's inbound throughput and command round
 * trip against qunbot-sim over loopback WebSockets, both in this process on one libev
 * loop (the bot's and the simulator's work are both counted: a lower bound for the bot).
 *
 *   qunbot-bench [--messages N] [--commands M] [--db PATH]
 *
 * Phase 1 pushes N ordinary group messages and waits until every one is parsed,
 * de-duplicated, logged to SQLite (WAL, batched) and offered to the plugins. Phase 2
 * sends M 帮助 commands and waits for all M replies (pacing off). Results go to stdout as a
 * Markdown table row; docs/BENCHMARKS.md records runs. Not a test: it asserts nothing.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "sim.h"
#include "storage.h"

struct bench {
    struct ev_loop *loop;
    struct qb_sim *sim;
    struct qb_bot *bot;
    long messages, commands;
    char dir[64];
};

static struct qb_config *write_config(struct bench *B, const char *db)
{
    char path[128], json[1024];
    snprintf(path, sizeof path, "%s/qunbot.json", B->dir);
    snprintf(json, sizeof json,
             "{\"accounts\":[{\"name\":\"bench\",\"url\":\"ws://127.0.0.1:%d\",\"token\":\"b\"}],"
             "\"storage\":{\"path\":\"%s\"},\"rules_dir\":\"rules\",\"log_level\":\"warn\","
             "\"rate_limits\":{\"account_interval\":\"0ms\",\"jitter\":\"0ms\","
             "\"group_per_minute\":100000,\"group_burst\":100000},"
             "\"connection\":{\"max_frame_bytes\":1048576,\"backfill_count\":0}}",
             qb_sim_port(B->sim), db);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(json, f);
    fclose(f);
    struct qb_config *cfg = NULL;
    struct qb_diag d = {0};
    if (qb_config_load(path, &cfg, &d) != QB_OK)
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.v[i]);
    qb_diag_free(&d);
    return cfg;
}

static bool run_until(struct bench *B, bool (*pred)(struct bench *), double secs)
{
    double end = ev_time() + secs;
    while (!pred(B)) {
        if (ev_time() > end)
            return false;
        ev_run(B->loop, EVRUN_ONCE);
    }
    return true;
}

static bool is_connected(struct bench *B)
{
    return qb_account_connected(&B->bot->accounts[0]) && qb_sim_connections(B->sim) > 0;
}

static int64_t target_events;
static size_t target_replies;

static bool all_events(struct bench *B)
{
    return B->bot->stats.events_in >= target_events;
}

static bool all_replies(struct bench *B)
{
    return qb_sim_count(B->sim, "send_group_msg") >= target_replies;
}

static const char *const texts[] = {
        "大家早上好！今天也要加油", "这本书真的推荐，看完很有收获", "有没有人周末一起去图书馆？",
        "收到，谢谢管理员",         "晚上的分享几点开始？",         "哈哈哈哈太真实了",
};

static double phase_ingest(struct bench *B)
{
    char uid[16];
    target_events = B->bot->stats.events_in + B->messages;
    double t0 = ev_time();
    for (long i = 0; i < B->messages; i++) {
        snprintf(uid, sizeof uid, "%ld", 20000 + i % 200);
        qb_sim_group_msg(B->sim, i % 2 ? "100" : "200", uid, texts[i % 6]);
        if (i % 500 == 499)
            ev_run(B->loop, EVRUN_NOWAIT); /* let the sockets drain as a real peer would */
    }
    if (!run_until(B, all_events, 300))
        fprintf(stderr, "qunbot-bench: timed out waiting for events\n");
    qb_store_commit(B->bot->store);
    return ev_time() - t0;
}

static double phase_commands(struct bench *B, double *avg_latency_ms)
{
    char uid[16];
    size_t before = qb_sim_count(B->sim, "send_group_msg");
    target_replies = before + (size_t)B->commands;
    int64_t sent_at = qb_clock_now();
    double t0 = ev_time();
    for (long i = 0; i < B->commands; i++) {
        snprintf(uid, sizeof uid, "%ld", 20000 + i % 200);
        qb_sim_group_msg(B->sim, "100", uid, "帮助");
        if (i % 100 == 99)
            ev_run(B->loop, EVRUN_NOWAIT);
    }
    if (!run_until(B, all_replies, 300))
        fprintf(stderr, "qunbot-bench: timed out waiting for replies\n");
    double elapsed = ev_time() - t0;
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < qb_sim_ncalls(B->sim); i++) {
        const struct qb_sim_call *c = qb_sim_call_at(B->sim, i);
        if (!strcmp(c->action, "send_group_msg") && n++ >= before)
            sum += (double)(c->at_ms - sent_at);
    }
    *avg_latency_ms = n > before ? sum / (double)(n - before) : 0;
    return elapsed;
}

static void setup_world(struct bench *B)
{
    const char *groups[] = {"100", "200"};
    char uid[16];
    for (int g = 0; g < 2; g++) {
        qb_sim_add_group(B->sim, groups[g], groups[g]);
        for (int u = 0; u < 200; u++) {
            snprintf(uid, sizeof uid, "%d", 20000 + u);
            qb_sim_add_member(B->sim, groups[g], uid, uid, u == 0 ? "owner" : "member");
        }
    }
}

int main(int argc, char **argv)
{
    struct bench B = {.messages = 20000, .commands = 1000};
    const char *db = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--messages"))
            B.messages = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--commands"))
            B.commands = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--db"))
            db = argv[i + 1];
    }
    snprintf(B.dir, sizeof B.dir, "/tmp/qunbot-bench-XXXXXX");
    if (!mkdtemp(B.dir))
        return 1;
    char dbpath[128];
    snprintf(dbpath, sizeof dbpath, "%s/bench.db", B.dir);
    if (!db)
        db = dbpath;
    qb_log_set_level(QB_LOG_WARN);
    B.loop = ev_loop_new(EVFLAG_AUTO);
    char err[300] = "";
    B.sim = qb_sim_new(&(struct qb_sim_opts){.loop = B.loop, .port = 0, .token = "b"}, err,
                       sizeof err);
    if (!B.sim) {
        fprintf(stderr, "simulator: %s\n", err);
        return 1;
    }
    setup_world(&B);
    struct qb_config *cfg = write_config(&B, db);
    B.bot = cfg ? qb_bot_new(B.loop, cfg, err, sizeof err) : NULL;
    if (!B.bot || qb_bot_start(B.bot, err, sizeof err) != QB_OK) {
        fprintf(stderr, "bot: %s\n", err);
        return 1;
    }
    if (!run_until(&B, is_connected, 10)) {
        fprintf(stderr, "qunbot-bench: could not connect\n");
        return 1;
    }
    double ingest = phase_ingest(&B);
    double latency = 0;
    double cmds = phase_commands(&B, &latency);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct stat stb;
    long long dbsize = stat(db, &stb) == 0 ? (long long)stb.st_size : -1;
    printf("| messages | events/s in | commands | replies/s | avg reply latency | max RSS "
           "(bot+sim) "
           "| log rows | db size |\n|---|---|---|---|---|---|---|---|\n");
    printf("| %ld | %.0f | %ld | %.0f | %.1f ms | %.1f MiB | %lld | %.1f MiB |\n", B.messages,
           (double)B.messages / ingest, B.commands, (double)B.commands / cmds, latency,
           (double)ru.ru_maxrss / 1024.0, (long long)qb_store_count(B.bot->store),
           (double)dbsize / 1048576.0);
    qb_bot_free(B.bot);
    qb_sim_free(B.sim);
    ev_loop_destroy(B.loop);
    return 0;
}
