/*
 * bot.c — the bot object and its life on the loop: start-up order, the prepare hook
 * (commit the batched log, pump queues), the 250 ms tick (deadlines, timers,
 * schedules, liveness, 1 Hz plugin ticks, hourly text pruning), signals (INT/TERM drain
 * and flush, HUP reload) and rules-directory watching.
 *
 * Start-up order: store → scheduler → plugins (migrations, rules, init) → sockets.
 * Stop order: stop taking events → drain queues (≤ 5 s) → plugins' shutdown →
 * log what could not be sent → close sockets → commit and close the store.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "scheduler.h"
#include "storage.h"

#define DRAIN_SECS  5.0
#define COMMIT_SECS 0.05 /* batch log writes for up to 50 ms */

static void commit_now(struct qb_bot *b)
{
    qb_store_commit(b->store);
    b->last_commit = ev_now(b->loop);
    ev_timer_stop(b->loop, &b->commit_timer);
}

static void commit_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    commit_now(w->data);
}

/* Before the loop sleeps: pump the queues, and commit the log batch once it is 50 ms old
 * (under load many iterations share one transaction; when idle a timer commits it). */
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    struct qb_bot *b = w->data;
    for (size_t i = 0; i < b->naccounts; i++)
        qb_outbox_pump(&b->accounts[i]);
    if (!qb_store_pending(b->store))
        return;
    double age = ev_now(loop) - b->last_commit;
    if (age >= COMMIT_SECS) {
        commit_now(b);
    } else if (!ev_is_active(&b->commit_timer)) {
        ev_timer_set(&b->commit_timer, COMMIT_SECS - age, 0.);
        ev_timer_start(loop, &b->commit_timer);
    }
}

static bool drained(const struct qb_bot *b)
{
    for (size_t i = 0; i < b->naccounts; i++) {
        const struct qb_account *a = &b->accounts[i];
        bool can_send = qb_account_connected(a) && a->online;
        if (a->pending || (a->queued && can_send))
            return false;
    }
    return true;
}

static void prune_text(struct qb_bot *b, int64_t now)
{
    if (b->cfg->storage.text_retention_ms <= 0 || now - b->last_prune_ms < 3600 * 1000)
        return;
    b->last_prune_ms = now;
    int64_t n = qb_store_prune(b->store, now - b->cfg->storage.text_retention_ms);
    if (n > 0)
        qb_log(QB_LOG_INFO, "removed the text of %lld message(s) older than the retention period",
               (long long)n);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct qb_bot *b = w->data;
    double mono = qb_clock_mono();
    int64_t now = qb_clock_now();
    for (size_t i = 0; i < b->naccounts; i++)
        qb_outbox_expire(&b->accounts[i], mono);
    qb_timers_run_due(b->sched, now, qb_host_fire_timer);
    if (++b->ticks % 4 == 0) {
        for (size_t i = 0; i < b->naccounts; i++)
            qb_account_tick(&b->accounts[i], mono, now);
        if (!b->stopping) {
            qb_sched_run_due(b->sched, now, qb_host_fire_schedule, b);
            qb_host_tick(b, now);
        }
        prune_text(b, now);
    }
    if (b->stopping && (drained(b) || mono >= b->stop_deadline))
        ev_break(loop, EVBREAK_ALL);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    struct qb_bot *b = w->data;
    if (w->signum == SIGHUP) {
        qb_log(QB_LOG_INFO, "SIGHUP: reloading the rules files");
        qb_bot_reload_rules(b);
        return;
    }
    if (b->stopping) {
        qb_log(QB_LOG_WARN, "second stop signal: stopping without waiting for the queues");
        ev_break(b->loop, EVBREAK_ALL);
        return;
    }
    qb_log(QB_LOG_INFO, "stopping: sending what is queued (up to %.0fs), then saving", DRAIN_SECS);
    qb_bot_request_stop(b);
}

static void watch_rules(struct qb_bot *b);

static void rules_settled_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct qb_bot *b = w->data;
    qb_log(QB_LOG_INFO, "a rules file changed: reloading");
    qb_bot_reload_rules(b);
    watch_rules(b); /* files may have come or gone */
}

static void rules_changed_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
    (void)revents;
    struct qb_bot *b = w->data;
    ev_timer_stop(loop, &b->rules_settle);
    ev_timer_set(&b->rules_settle, 0.3, 0.);
    ev_timer_start(loop, &b->rules_settle);
}

static void unwatch_rules(struct qb_bot *b)
{
    for (size_t i = 0; i < b->nrules_watch; i++) {
        ev_stat_stop(b->loop, &b->rules_watch[i]);
        free((char *)b->rules_watch[i].path);
    }
    free(b->rules_watch);
    b->rules_watch = NULL;
    b->nrules_watch = 0;
}

static void watch_one(struct qb_bot *b, char *path)
{
    ev_stat *w = &b->rules_watch[b->nrules_watch++];
    ev_stat_init(w, rules_changed_cb, path, 1.0);
    w->data = b;
    ev_stat_start(b->loop, w);
}

/* Watch the directory (files added, removed, renamed over) and every rules file in it
 * (edited in place). */
static void watch_rules(struct qb_bot *b)
{
    unwatch_rules(b);
    const char *dir = b->cfg->rules_dir;
    size_t cap = 1;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        cap++;
    b->rules_watch = calloc(cap, sizeof *b->rules_watch);
    if (!b->rules_watch) {
        if (d)
            closedir(d);
        return;
    }
    char *dir_copy = strdup(dir);
    if (dir_copy)
        watch_one(b, dir_copy);
    if (!d)
        return;
    rewinddir(d);
    while ((e = readdir(d)) && b->nrules_watch < cap) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
            continue;
        char *path = malloc(strlen(dir) + n + 2);
        if (path) {
            sprintf(path, "%s/%s", dir, e->d_name);
            watch_one(b, path);
        }
    }
    closedir(d);
}

struct qb_bot *qb_bot_new(struct ev_loop *loop, struct qb_config *cfg, char *err, size_t errlen)
{
    struct qb_bot *b = calloc(1, sizeof *b);
    if (!b) {
        qb_config_free(cfg);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->loop = loop;
    b->cfg = cfg;
    b->core.bot = b;
    b->listen_port = -1;
    b->accounts = calloc(cfg->naccounts ? cfg->naccounts : 1, sizeof *b->accounts);
    if (!b->accounts) {
        qb_bot_free(b);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->naccounts = cfg->naccounts;
    for (size_t i = 0; i < cfg->naccounts; i++)
        qb_account_init(b, &b->accounts[i], i);
    qb_log_set_level(cfg->log_level);
    return b;
}

static void start_watchers(struct qb_bot *b)
{
    ev_prepare_init(&b->prepare, prepare_cb);
    b->prepare.data = b;
    ev_init(&b->commit_timer, commit_timer_cb);
    b->commit_timer.data = b;
    ev_prepare_start(b->loop, &b->prepare);
    ev_timer_init(&b->tick, tick_cb, 0.25, 0.25);
    b->tick.data = b;
    ev_timer_start(b->loop, &b->tick);
    ev_signal *sigs[] = {&b->sigint, &b->sigterm, &b->sighup};
    int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        ev_signal_init(sigs[i], signal_cb, nums[i]);
        sigs[i]->data = b;
        ev_signal_start(b->loop, sigs[i]);
    }
    ev_init(&b->rules_settle, rules_settled_cb);
    b->rules_settle.data = b;
    watch_rules(b);
}

int qb_bot_start(struct qb_bot *b, char *err, size_t errlen)
{
    int rc = qb_store_open(b->cfg->db_path, &b->store, err, errlen);
    if (rc != QB_OK)
        return rc;
    b->sched = qb_sched_new(b->store, b->cfg->timezone);
    if (!b->sched) {
        snprintf(err, errlen, "out of memory");
        return QB_ENOMEM;
    }
    b->stats.started_ms = qb_clock_now();
    if ((rc = qb_host_init(b, err, errlen)) != QB_OK)
        return rc;
    qb_store_commit(b->store);
    start_watchers(b);
    return qb_net_start(b, err, errlen);
}

void qb_bot_request_stop(struct qb_bot *b)
{
    if (b->stopping)
        return;
    b->stopping = true;
    b->stop_deadline = qb_clock_mono() + DRAIN_SECS;
    for (size_t i = 0; i < b->naccounts; i++)
        ev_timer_stop(b->loop, &b->accounts[i].reconnect);
}

static void stop_watchers(struct qb_bot *b)
{
    ev_prepare_stop(b->loop, &b->prepare);
    ev_timer_stop(b->loop, &b->commit_timer);
    ev_timer_stop(b->loop, &b->tick);
    ev_signal_stop(b->loop, &b->sigint);
    ev_signal_stop(b->loop, &b->sigterm);
    ev_signal_stop(b->loop, &b->sighup);
    ev_timer_stop(b->loop, &b->rules_settle);
    unwatch_rules(b);
}

void qb_bot_free(struct qb_bot *b)
{
    if (!b)
        return;
    b->stopping = true;
    stop_watchers(b);
    for (size_t i = 0; i < b->naccounts; i++)
        qb_outbox_drop_all(&b->accounts[i], "bot stopped before it could be sent");
    if (b->plugins)
        qb_host_shutdown(b);
    for (size_t i = 0; i < b->naccounts; i++)
        qb_outbox_drop_all(&b->accounts[i], "queued while the bot was stopping");
    qb_net_stop(b);
    for (size_t i = 0; i < b->naccounts; i++)
        qb_account_release(&b->accounts[i]);
    if (b->store)
        qb_store_commit(b->store);
    qb_sched_free(b->sched);
    qb_store_close(b->store);
    qb_rules_free(b->rules);
    free(b->plugins);
    free(b->plugin_list);
    free(b->accounts);
    qb_config_free(b->cfg);
    free(b);
}

int qb_bot_reload_rules(struct qb_bot *b)
{
    struct qb_rules *fresh = NULL;
    struct qb_diag d = {0};
    int rc = qb_rules_load(b->cfg->rules_dir, b->plugin_list, b->nplugins, &fresh, &d);
    if (rc != QB_OK) {
        for (size_t i = 0; i < d.n; i++)
            qb_log(QB_LOG_ERROR, "%s", d.v[i]);
        qb_log(QB_LOG_ERROR, "kept the previous rules: fix the problems above and save again");
        qb_diag_free(&d);
        return rc;
    }
    qb_diag_free(&d);
    qb_rules_free(b->rules);
    b->rules = fresh;
    qb_log(QB_LOG_INFO, "rules reloaded: %zu community file(s)", fresh->n);
    return QB_OK;
}

struct qb_account *qb_bot_account(struct qb_bot *b, const char *self_id)
{
    if (!b->naccounts)
        return NULL;
    if (qb_str_empty(self_id))
        return &b->accounts[0];
    for (size_t i = 0; i < b->naccounts; i++)
        if (!strcmp(b->accounts[i].self_id, self_id))
            return &b->accounts[i];
    return NULL;
}
