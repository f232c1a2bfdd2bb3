/*
 * http_work.c — the dashboard's answer cache and its worker processes: heavy API answers
 * (groups, report, members, one member) are computed by a fresh `qunbot dashboard-answer`
 * process (fork + exec: SQLite's per-process state must never run in a forked copy of the
 * bot), which opens the database read-only, computes qb_http_api at the parent's "now" and
 * writes "status\n" + body to a pipe the loop reads; the parent keeps each answer for a
 * while and serves it from memory.
 *
 * Owns the cache entries (at most QB_HTTP_CACHE_MAX / QB_HTTP_CACHE_BYTES, least recently
 * used dropped first) and the jobs (at most QB_HTTP_WORKERS children at once, one per key,
 * the rest queued). Never computes a heavy answer on the loop, never writes the database,
 * never calls a waiter back from inside qb_http_answer.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "proc.h"

#define KEY_MAX   600
#define JSON_TYPE "application/json; charset=utf-8"
#define TOO_LONG                                                                                   \
    "the report took too long (over 30 seconds) and was stopped; try again in a few minutes or "   \
    "pick a shorter period"
#define BUSY "the dashboard is busy computing other answers; try again in a minute"
#define NO_WORKER                                                                                  \
    "the dashboard could not start its worker program, so this page cannot be computed; the "      \
    "bot's log says why (usually the qunbot program was moved or deleted)"
#define ERR_KEPT 1024 /* a failed worker's stderr kept for the log */

struct qb_http_entry {
    char key[KEY_MAX];
    struct qb_http_resp r;
    uint64_t used; /* h->lru_tick when last served */
};

struct qb_http_job {
    struct qb_http *h;
    struct qb_http_job *next;
    char key[KEY_MAX], path[512], since[80];
    bool has_since;
    int64_t now;          /* the parent's clock when the job was made: the end of every period */
    struct qb_proc *proc; /* NULL while queued */
    struct qb_http_waiter *waiters;
};

/* ---- the cache ---- */

static struct qb_http_entry **slot_of(struct qb_http *h, const char *key)
{
    for (size_t i = 0; h->cache && i < QB_HTTP_CACHE_MAX; i++)
        if (h->cache[i] && !strcmp(h->cache[i]->key, key))
            return &h->cache[i];
    return NULL;
}

static void drop(struct qb_http *h, struct qb_http_entry **slot)
{
    h->cache_bytes -= (*slot)->r.len;
    qb_http_resp_clear(&(*slot)->r);
    free(*slot);
    *slot = NULL;
}

/* The least recently used entry other than keep, or NULL. */
static struct qb_http_entry **lru_victim(struct qb_http *h, const struct qb_http_entry *keep)
{
    struct qb_http_entry **v = NULL;
    for (size_t i = 0; i < QB_HTTP_CACHE_MAX; i++)
        if (h->cache[i] && h->cache[i] != keep && (!v || h->cache[i]->used < (*v)->used))
            v = &h->cache[i];
    return v;
}

static struct qb_http_entry **free_slot(struct qb_http *h)
{
    for (size_t i = 0; i < QB_HTTP_CACHE_MAX; i++)
        if (!h->cache[i])
            return &h->cache[i];
    struct qb_http_entry **v = lru_victim(h, NULL);
    drop(h, v);
    h->stats.evicted++;
    return v;
}

/* Keep r's answer under key (replacing an older answer; the body is shared, not copied),
 * evicting for space. */
static void store(struct qb_http *h, const char *key, struct qb_http_resp *r)
{
    if (!h->cache && !(h->cache = calloc(QB_HTTP_CACHE_MAX, sizeof *h->cache)))
        return;
    struct qb_http_entry **slot = slot_of(h, key);
    if (!slot) {
        slot = free_slot(h);
        if (!(*slot = calloc(1, sizeof **slot)))
            return;
        qb_strlcpy((*slot)->key, key, sizeof(*slot)->key);
    }
    struct qb_http_entry *e = *slot;
    h->cache_bytes -= e->r.len;
    if (qb_http_resp_share(&e->r, r) != QB_OK) {
        drop(h, slot);
        return;
    }
    h->cache_bytes += e->r.len;
    e->used = ++h->lru_tick;
    struct qb_http_entry **v;
    while (h->cache_bytes > QB_HTTP_CACHE_BYTES && (v = lru_victim(h, e))) {
        drop(h, v);
        h->stats.evicted++;
    }
}

/* ---- jobs (in the bot) ---- */

static struct qb_http_job *job_of(struct qb_http *h, const char *key)
{
    for (struct qb_http_job *j = h->jobs; j; j = j->next)
        if (!strcmp(j->key, key))
            return j;
    return NULL;
}

static void unlink_job(struct qb_http_job *j)
{
    struct qb_http_job **pp = &j->h->jobs;
    while (*pp && *pp != j)
        pp = &(*pp)->next;
    if (*pp)
        *pp = j->next;
}

/* The worker's output as an answer: "status\n" + JSON body, or an error of ours. */
static int parse_output(const struct qb_proc_result *res, struct qb_http_resp *r)
{
    if (res->timed_out)
        return qb_http_error(r, 503, TOO_LONG);
    const char *nl = memchr(res->out, '\n', res->len);
    int status = nl ? atoi(res->out) : 0;
    if (res->status != 0 || res->truncated || status < 200 || status > 599)
        return qb_http_error(r, 500,
                             res->truncated ? "the answer is too large to send"
                                            : "the figures could not be computed (the worker "
                                              "process failed); see the bot's log");
    size_t len = res->len - (size_t)(nl + 1 - res->out);
    struct qb_http_shared *sh = malloc(sizeof *sh + len + 1);
    if (!sh)
        return QB_ENOMEM;
    sh->refs = 1;
    sh->len = len;
    memcpy(sh->data, nl + 1, len); /* the one copy of the answer */
    sh->data[len] = '\0';
    r->status = status;
    r->type = JSON_TYPE;
    r->shared = sh;
    r->body = sh->data;
    r->len = len;
    r->api = true;
    return QB_OK;
}

static void start_queued(struct qb_http *h);
static void warm_reports(struct qb_http *h, const struct qb_http_resp *groups);

/* Answer every waiter of j with r (they share it) and forget them. */
static void release_waiters(struct qb_http_job *j, struct qb_http_resp *r)
{
    while (j->waiters) {
        struct qb_http_waiter *w = j->waiters;
        j->waiters = w->next;
        w->next = NULL;
        w->job = NULL;
        if (w->ready)
            w->ready(w, r);
    }
}

/* The end of a job, whatever happened: cache the answer, wake the waiters, free the job and
 * start the next queued one. r is consumed. An empty group list is not kept (a bot without
 * data yet soon has some: it must show at once); a list with groups warms their reports. */
static void job_end(struct qb_http_job *j, struct qb_http_resp *r)
{
    struct qb_http *h = j->h;
    unlink_job(j);
    r->computed_ms = j->now;
    bool list = !strcmp(j->key, "/api/groups") && r->status == 200;
    bool empty = list && r->len <= 2; /* "[]" */
    if (r->status && !empty)
        store(h, j->key, r);
    release_waiters(j, r);
    if (list && !empty)
        warm_reports(h, r);
    qb_http_resp_clear(r);
    free(j);
    start_queued(h);
}

static void job_done(void *ud, const struct qb_proc_result *res)
{
    struct qb_http_job *j = ud;
    struct qb_http *h = j->h;
    j->proc = NULL;
    h->running--;
    h->stats.workers_done++;
    struct qb_http_resp r;
    memset(&r, 0, sizeof r);
    if (parse_output(res, &r) != QB_OK)
        r.status = 0; /* out of memory: the waiters get nothing better */
    if (res->timed_out)
        qb_log(QB_LOG_WARN, "dashboard: %s took over %.0f s and was stopped", j->key,
               QB_HTTP_DEADLINE_S);
    else if (res->status != 0)
        qb_log(QB_LOG_WARN, "dashboard: the worker for %s failed (status %d): %.*s", j->key,
               res->status, (int)strcspn(res->err, "\n"), res->err[0] ? res->err : "no message");
    job_end(j, &r);
}

/* The worker's program: h->worker_exe, else the bot's dashboard_exe, else this program. */
static int worker_exe(const struct qb_http *h, char *buf, size_t n)
{
    const char *set = h->worker_exe ? h->worker_exe : h->bot->dashboard_exe;
    if (!set)
        return qb_self_exe(buf, n);
    if (strlen(set) >= n)
        return QB_ETOOBIG;
    qb_strlcpy(buf, set, n);
    return QB_OK;
}

/* Log why no worker could start, once until one starts again (a missing program would
 * otherwise fill the log with one line per click). */
static void launch_failed(struct qb_http *h, const char *exe, int rc)
{
    if (h->start_failed)
        return;
    h->start_failed = true;
    qb_log(QB_LOG_ERROR,
           "dashboard: cannot run its worker program %s (%s); heavy pages answer 503 until it "
           "can: check that qunbot is installed there, or restart the bot from its installed "
           "path",
           exe[0] ? exe : "(unknown)",
           rc == QB_ENOENT    ? "no such program"
           : rc == QB_EDENIED ? "not allowed to run it"
           : rc == QB_EINVAL  ? "not an absolute path"
                              : "could not start a process");
}

/* Start `<exe> dashboard-answer --db ... --tz ... --now ... --path ... [--since ...]`. */
static int job_launch(struct qb_http_job *j)
{
    struct qb_http *h = j->h;
    char exe[4096] = "", now[24];
    int rc = worker_exe(h, exe, sizeof exe);
    snprintf(now, sizeof now, "%lld", (long long)j->now);
    const char *db = h->db_path ? h->db_path : h->bot->cfg->db_path;
    const char *tz = h->tz ? h->tz : h->bot->cfg->timezone;
    char *argv[] = {exe,
                    QB_HTTP_WORKER_CMD,
                    "--db",
                    (char *)db,
                    "--tz",
                    (char *)tz,
                    "--now",
                    now,
                    "--path",
                    j->path,
                    j->has_since ? "--since" : NULL,
                    j->since,
                    NULL};
    struct qb_proc_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_s = QB_HTTP_DEADLINE_S;
    o.max_out = QB_HTTP_OUT_MAX;
    o.max_err = ERR_KEPT;
    if (rc == QB_OK)
        rc = qb_proc_start(h->bot->loop, argv, &o, job_done, j, &j->proc);
    if (rc != QB_OK) {
        launch_failed(h, exe, rc);
        return rc;
    }
    h->start_failed = false;
    h->queued--;
    h->running++;
    h->stats.workers_started++;
    return QB_OK;
}

static void start_queued(struct qb_http *h)
{
    struct qb_http_job *j = h->jobs;
    while (j && h->running < QB_HTTP_WORKERS) {
        struct qb_http_job *next = j->next;
        if (!j->proc && job_launch(j) != QB_OK) {
            h->queued--;
            struct qb_http_resp r;
            memset(&r, 0, sizeof r);
            qb_http_error(&r, 503, NO_WORKER);
            job_end(j, &r); /* restarts this walk through start_queued */
            return;
        }
        j = next;
    }
}

/* A new job for key at the end of the queue, started at once if a worker is free. NULL when
 * the queue is full, memory is short or the worker could not start (nothing is queued);
 * *why (if why != NULL) then says which, for the answer. */
static struct qb_http_job *job_new(struct qb_http *h, const char *key, const char *path,
                                   const char *since, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = BUSY;
    if (h->running + h->queued >= QB_HTTP_WORKERS + QB_HTTP_QUEUE_MAX)
        return NULL;
    *why = "the dashboard ran out of memory; try again";
    struct qb_http_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->h = h;
    qb_strlcpy(j->key, key, sizeof j->key);
    qb_strlcpy(j->path, path, sizeof j->path);
    if (since) {
        j->has_since = true;
        qb_strlcpy(j->since, since, sizeof j->since);
    }
    j->now = qb_clock_now();
    h->queued++;
    if (h->running < QB_HTTP_WORKERS && job_launch(j) != QB_OK) {
        h->queued--;
        free(j);
        *why = NO_WORKER;
        return NULL;
    }
    struct qb_http_job **pp = &h->jobs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = j;
    return j;
}

/* ---- requests ---- */

static bool usable(const struct qb_http_entry *e, int64_t now, bool *stale)
{
    int64_t age = now - e->r.computed_ms;
    *stale = e->r.status == 200 && age >= QB_HTTP_FRESH_MS;
    return e->r.status == 200 || age < QB_HTTP_ERROR_MS;
}

int qb_http_answer(struct qb_http *h, const char *key, const char *path, const char *since,
                   struct qb_http_waiter *w, struct qb_http_resp *r, bool *parked)
{
    *parked = false;
    struct qb_http_entry **slot = slot_of(h, key);
    bool stale = false;
    if (slot && usable(*slot, qb_clock_now(), &stale)) {
        (*slot)->used = ++h->lru_tick;
        if (qb_http_resp_share(r, &(*slot)->r) != QB_OK)
            return qb_http_error(r, 500, "out of memory");
        if (stale)
            h->stats.stale_hits++;
        else
            h->stats.fresh_hits++;
        if (stale && !job_of(h, key))
            job_new(h, key, path, since, NULL); /* best effort: the stale answer is here */
        return QB_OK;
    }
    if (slot)
        drop(h, slot); /* an old error: compute again */
    struct qb_http_job *j = job_of(h, key);
    const char *why = BUSY;
    if (j)
        h->stats.coalesced++;
    else if (!(j = job_new(h, key, path, since, &why)))
        return qb_http_error(r, 503, why);
    w->job = j;
    w->next = j->waiters;
    j->waiters = w;
    h->stats.parked++;
    *parked = true;
    return QB_OK;
}

void qb_http_unpark(struct qb_http_waiter *w)
{
    if (!w || !w->job)
        return;
    struct qb_http_waiter **pp = &w->job->waiters;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    w->job = NULL;
    w->next = NULL;
}

/* ---- warm-up ---- */

/* Queue path's answer unless it is kept already (fresh or stale: stale ones are refreshed when
 * asked for) or being computed. */
static void warm_one(struct qb_http *h, const char *path, const char *since)
{
    char key[KEY_MAX];
    if (!qb_http_api_heavy(h, path, since, qb_clock_now(), key, sizeof key))
        return;
    bool stale = false;
    struct qb_http_entry **slot = slot_of(h, key);
    if ((slot && usable(*slot, qb_clock_now(), &stale)) || job_of(h, key))
        return;
    job_new(h, key, path, since, NULL);
}

static void warm_reports(struct qb_http *h, const struct qb_http_resp *groups)
{
    cJSON *arr = cJSON_ParseWithLength(groups->body, groups->len);
    int n = cJSON_GetArraySize(arr);
    for (int i = 0; i < n && i < QB_HTTP_WARM_GROUPS; i++) {
        const char *gid = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), "group_id"));
        char path[512];
        if (gid && (size_t)snprintf(path, sizeof path, "/api/groups/%s/report", gid) < sizeof path)
            warm_one(h, path, "30d");
    }
    cJSON_Delete(arr);
}

void qb_http_warm(struct qb_http *h)
{
    warm_one(h, "/api/groups", NULL);
}

void qb_http_work_stop(struct qb_http *h)
{
    while (h->jobs) {
        struct qb_http_job *j = h->jobs;
        h->jobs = j->next;
        if (j->proc)
            qb_proc_cancel(j->proc);
        while (j->waiters) { /* their connections close with the lws context */
            struct qb_http_waiter *w = j->waiters;
            j->waiters = w->next;
            w->next = NULL;
            w->job = NULL;
        }
        free(j);
    }
    h->running = h->queued = 0;
    for (size_t i = 0; h->cache && i < QB_HTTP_CACHE_MAX; i++)
        if (h->cache[i])
            drop(h, &h->cache[i]);
    free(h->cache);
    h->cache = NULL;
}
