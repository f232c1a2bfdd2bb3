/*
 * harness.h — running the real bot core and the simulator in one process on one
 * libev loop, for integration tests: temporary config files, a loop runner that waits
 * for a condition with a deadline (no sleeps), and a capture of the bot's log lines.
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

#endif
