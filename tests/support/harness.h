/*
 * harness.h — running the real bot core and the simulator in one process on one
 * libev loop, for integration tests: temporary config files, a loop runner that waits
 * for a condition with a deadline (no sleeps), and a capture of the bot's log lines; the
 * plugin fixture h_fx, and what plugin tests share: asking the bot in the group and waiting
 * for its answer (h_fx_ask, h_fx_silent), counting and finding what it sent, raw messages
 * with chosen ids, and reading numbers from the database.
 */
#ifndef QB_HARNESS_H
#define QB_HARNESS_H

#include <ev.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "sim.h"
#include "storage.h"
#include "util/util.h"

#include <sqlite3.h>

#include "test.h" /* CHECK in the helpers that wait for an answer */

struct h_log {
    char lines[400][300];
    int n;
};

static struct h_log h_log_buf;

static void h_log_capture(int level, const char *line, void *ud)
{
    (void)level;
    (void)ud;
    struct h_log *l = &h_log_buf;
    qb_strlcpy(l->lines[l->n % 400], line, sizeof l->lines[0]);
    l->n++;
}

/* Did the bot log a line containing needle since the capture was reset? */
static inline bool h_logged(const char *needle)
{
    int n = h_log_buf.n < 400 ? h_log_buf.n : 400;
    for (int i = 0; i < n; i++)
        if (strstr(h_log_buf.lines[i], needle))
            return true;
    return false;
}

static inline void h_log_reset(void)
{
    h_log_buf.n = 0;
    qb_log_set_capture(h_log_capture, NULL);
    lws_set_log_level(LLL_ERR, NULL); /* no start-up notices from the simulator's context */
}

/* A fresh temporary directory; the test leaves it for inspection on failure. */
static inline void h_tmpdir(char *out, size_t n)
{
    snprintf(out, n, "/tmp/qunbot-test-XXXXXX");
    if (!mkdtemp(out))
        abort();
}

static inline void h_write(const char *path, const char *fmt, ...)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* Load a config file written from a JSON text; aborts with the diagnostics if invalid. */
static inline struct qb_config *h_config(const char *dir, const char *json)
{
    char path[512];
    snprintf(path, sizeof path, "%s/qunbot.json", dir);
    h_write(path, "%s", json);
    struct qb_config *cfg = NULL;
    struct qb_diag d = {0};
    if (qb_config_load(path, &cfg, &d) != QB_OK) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.v[i]);
        abort();
    }
    qb_diag_free(&d);
    return cfg;
}

typedef bool (*h_pred)(void *ud);

/* Run the loop until pred(ud) holds or seconds pass. Returns whether it held. */
static inline bool h_run_until(struct ev_loop *loop, h_pred pred, void *ud, double seconds)
{
    double end = ev_time() + seconds;
    while (!pred(ud)) {
        if (ev_time() > end)
            return false;
        ev_run(loop, EVRUN_ONCE);
    }
    return true;
}

/* Run the loop for a while regardless (to prove something does NOT happen). */
static inline void h_run_for(struct ev_loop *loop, double seconds)
{
    double end = ev_time() + seconds;
    while (ev_time() < end)
        ev_run(loop, EVRUN_ONCE);
}

/* Count interaction-log rows matching direction and kind (NULL = any) and, if given,
 * whose text contains needle. Commits the bot's batch first. */
static inline int h_log_rows(struct qb_bot *b, const char *direction, const char *kind,
                             const char *needle)
{
    qb_store_commit(b->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(b->store),
                       "SELECT COUNT(*) FROM interactions WHERE (?1 IS NULL OR direction = ?1) "
                       "AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR instr(text, ?3) > 0)",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, direction, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, needle, -1, SQLITE_STATIC);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

/* Listening TCP sockets on port: how many are on loopback (127.0.0.1, ::1 or the v4-mapped
 * ::ffff:127.0.0.1) and how many on anything else (0.0.0.0, [::] ...), from /proc/net. */
static inline void h_listeners(int port, int *loopback, int *other)
{
    *loopback = *other = 0;
    const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(files[k], "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            char addr[40];
            unsigned lport, state;
            if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", addr, &lport,
                       &state) != 3 ||
                state != 0x0A || (int)lport != port)
                continue;
            if (!strcmp(addr, "0100007F") || !strcmp(addr, "0000000000000000FFFF00000100007F") ||
                !strcmp(addr, "00000000000000000000000001000000"))
                (*loopback)++;
            else
                (*other)++;
        }
        if (f)
            fclose(f);
    }
}

/* ---- the plugin fixture: one loop, the simulator and the bot core with only the plugins
 * under test, in a temporary folder (database, rules/). Plugin tests embed it as `struct
 * h_fx fx` or use it directly; each adds its own groups, members and rules files. ---- */

struct h_fx {
    struct ev_loop *loop;
    struct qb_sim *sim;
    struct qb_bot *bot;
    char dir[64], rules[128];
    char config[2048];
    const struct qb_plugin *const *plugins;
    long long next_msg;    /* message ids for tests that send raw frames (starts at 900001) */
    char group[QB_ID_MAX]; /* the group h_fx_ask and friends talk in ("100") */
};

/* Fake clock at t0 (0 = real clock), a new loop, a temporary folder with rules/, and a
 * simulator (token "k", optional media_dir) with no groups yet. */
static inline void h_fx_init(struct h_fx *f, int64_t t0, const struct qb_plugin *const *plugins,
                             const char *media_dir)
{
    memset(f, 0, sizeof *f);
    if (t0)
        qb_clock_fake(t0);
    f->plugins = plugins;
    f->next_msg = 900001;
    snprintf(f->group, sizeof f->group, "100");
    f->loop = ev_loop_new(EVFLAG_AUTO);
    h_tmpdir(f->dir, sizeof f->dir);
    h_log_reset();
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    mkdir(f->rules, 0700);
    char err[300] = "";
    f->sim = qb_sim_new(
            &(struct qb_sim_opts){.loop = f->loop, .port = 0, .token = "k", .media_dir = media_dir},
            err, sizeof err);
    if (!f->sim) {
        fprintf(stderr, "simulator: %s\n", err);
        abort();
    }
}

/* Write rules/<name> (a community rules file). */
static inline void h_fx_rules(struct h_fx *f, const char *name, const char *json)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->rules, name);
    h_write(path, "%s", json);
}

static inline bool h_fx_connected(void *ud)
{
    struct h_fx *f = ud;
    return f->bot && qb_account_connected(&f->bot->accounts[0]);
}

/* Stop the bot (the simulator and the database stay). */
static inline void h_fx_stop(struct h_fx *f)
{
    qb_bot_free(f->bot);
    f->bot = NULL;
}

/* Start the bot on the folder's database; waits until it is connected (aborts after 5 s). */
static inline void h_fx_start_bot(struct h_fx *f)
{
    char err[300] = "";
    f->bot = qb_bot_new(f->loop, h_config(f->dir, f->config), err, sizeof err);
    if (!f->bot) {
        fprintf(stderr, "bot: %s\n", err);
        abort();
    }
    f->bot->plugin_source = f->plugins;
    if (qb_bot_start(f->bot, err, sizeof err) != QB_OK ||
        !h_run_until(f->loop, h_fx_connected, f, 5)) {
        fprintf(stderr, "bot: %s\n", err[0] ? err : "did not connect to the simulator");
        abort();
    }
}

/* Write the bot config — Asia/Shanghai, "/" prefix, no pacing, no heartbeat watchdog, plus
 * extra top-level keys (",\"superusers\":[...]" or "") — and start the bot. */
static inline void h_fx_boot(struct h_fx *f, const char *extra)
{
    snprintf(f->config, sizeof f->config,
             "{\"accounts\":[{\"url\":\"ws://127.0.0.1:%d\",\"token\":\"k\"}],"
             "\"storage\":{\"path\":\"%s/qunbot.db\"},\"rules_dir\":\"rules\","
             "\"timezone\":\"Asia/Shanghai\","
             "\"command_prefixes\":[\"/\"],\"connection\":{\"heartbeat_fallback\":\"3650d\"},"
             "\"rate_limits\":{\"account_interval\":\"0ms\",\"jitter\":\"0ms\","
             "\"group_per_minute\":600,\"group_burst\":50}%s}",
             qb_sim_port(f->sim), f->dir, extra ? extra : "");
    h_fx_start_bot(f);
}

/* Stop the bot and start a new one on the same database (the simulator keeps running). */
static inline void h_fx_restart(struct h_fx *f)
{
    qb_bot_free(f->bot);
    f->bot = NULL;
    ev_run(f->loop, EVRUN_NOWAIT);
    h_fx_start_bot(f);
}

static inline void h_fx_done(struct h_fx *f)
{
    qb_bot_free(f->bot);
    qb_sim_free(f->sim);
    ev_run(f->loop, EVRUN_NOWAIT);
    ev_loop_destroy(f->loop);
    qb_log_set_capture(NULL, NULL);
    qb_clock_fake(0);
}

/* Params of the newest call of action, or "". */
static inline const char *h_fx_last(struct h_fx *f, const char *action)
{
    for (size_t i = qb_sim_ncalls(f->sim); i-- > 0;) {
        const struct qb_sim_call *c = qb_sim_call_at(f->sim, i);
        if (!strcmp(c->action, action))
            return c->params;
    }
    return "";
}

struct h_fx_want {
    struct qb_sim *sim;
    const char *action;
    size_t n;
};

static inline bool h_fx_calls_reached(void *ud)
{
    struct h_fx_want *w = ud;
    return qb_sim_count(w->sim, w->action) >= w->n;
}

/* Wait until action has been called n times in all (false after 5 s). */
static inline bool h_fx_wait(struct h_fx *f, const char *action, size_t n)
{
    struct h_fx_want w = {f->sim, action, n};
    return h_run_until(f->loop, h_fx_calls_reached, &w, 5);
}

/* ---- what the bot says in the group, and asking it things ---- */

/* How many calls of action contain needle (NULL = any). */
static inline size_t h_fx_count_with(struct h_fx *f, const char *action, const char *needle)
{
    size_t n = 0;
    for (long i = 0; (i = qb_sim_find(f->sim, (size_t)i, action, needle)) >= 0; i++)
        n++;
    return n;
}

struct h_fx_want_with {
    struct h_fx *f;
    const char *action, *needle;
    size_t n;
};

static inline bool h_fx_with_reached(void *ud)
{
    struct h_fx_want_with *w = ud;
    return h_fx_count_with(w->f, w->action, w->needle) >= w->n;
}

/* Wait until at least n calls of action contain needle (NULL = any); false after 5 s. */
static inline bool h_fx_wait_with(struct h_fx *f, const char *action, const char *needle, size_t n)
{
    struct h_fx_want_with w = {f, action, needle, n};
    return h_run_until(f->loop, h_fx_with_reached, &w, 5);
}

/* Group messages the bot has sent so far. */
static inline size_t h_fx_sends(struct h_fx *f)
{
    return qb_sim_count(f->sim, "send_group_msg");
}

/* Wait until the bot has sent n group messages in all (false after 5 s). */
static inline bool h_fx_wait_sends(struct h_fx *f, size_t n)
{
    return h_fx_wait(f, "send_group_msg", n);
}

/* Params of the bot's newest group message, or "". */
static inline const char *h_fx_last_send(struct h_fx *f)
{
    return h_fx_last(f, "send_group_msg");
}

/* Params of the newest group message containing needle, or "". */
static inline const char *h_fx_last_send_with(struct h_fx *f, const char *needle)
{
    for (size_t i = qb_sim_ncalls(f->sim); i-- > 0;) {
        const struct qb_sim_call *c = qb_sim_call_at(f->sim, i);
        if (!strcmp(c->action, "send_group_msg") && strstr(c->params, needle))
            return c->params;
    }
    return "";
}

/* A member's message in f->group that the bot answers at once: waits for the answer (a
 * failed check if none comes within 5 s) and returns it. */
static inline const char *h_fx_ask(struct h_fx *f, const char *user, const char *text)
{
    size_t before = h_fx_sends(f);
    qb_sim_group_msg(f->sim, f->group, user, text);
    bool answered = h_fx_wait_sends(f, before + 1);
    CHECK(answered);
    if (!answered)
        fprintf(stderr, "  no answer to %s\n", text);
    return h_fx_last_send(f);
}

/* A message the bot must not answer: nothing is sent within half a second. */
static inline void h_fx_silent(struct h_fx *f, const char *user, const char *text)
{
    size_t before = h_fx_sends(f);
    qb_sim_group_msg(f->sim, f->group, user, text);
    h_run_for(f->loop, 0.5);
    CHECK_INT(h_fx_sends(f), before);
    if (h_fx_sends(f) != before)
        fprintf(stderr, "  unexpected answer to %s: %s\n", text, h_fx_last_send(f));
}

/* A text message in f->group with a chosen message id, as NapCat posts it (duplicates). */
static inline void h_fx_say_raw(struct h_fx *f, const char *user, const char *name,
                                long long message_id, const char *text)
{
    char frame[2048];
    snprintf(frame, sizeof frame,
             "{\"time\":%lld,\"self_id\":10001,\"post_type\":\"message\",\"message_type\":"
             "\"group\",\"sub_type\":\"normal\",\"message_id\":%lld,\"group_id\":%s,"
             "\"user_id\":%s,\"anonymous\":null,\"font\":14,\"sender\":{\"user_id\":%s,"
             "\"nickname\":\"%s\",\"card\":\"\",\"role\":\"member\"},\"message\":"
             "[{\"type\":\"text\",\"data\":{\"text\":\"%s\"}}],"
             "\"raw_message\":\"\",\"message_format\":\"array\"}",
             (long long)(qb_clock_now() / 1000), message_id, f->group, user, user, name, text);
    qb_sim_send_raw(f->sim, frame, strlen(frame));
}

/* The first column of the first row of sql (after committing the bot's batch), with ?1
 * bound to arg when given; -1 if there is no row. */
static inline long long h_fx_number(struct h_fx *f, const char *sql, const char *arg)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f->bot->store), sql, -1, &st, NULL);
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

#endif
