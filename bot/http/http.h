/*
 * http.h — the admin dashboard served by the bot (internal): a read-only HTTP server on its
 * own libwebsockets vhost (http_server.c) answering the JSON API (http_api.c) and the static
 * page from web/dist; the heavy API answers come from a cache refreshed by worker processes
 * (fresh `qunbot dashboard-answer` runs, http_work.c), so a big group's report never stalls
 * the bot's loop.
 *
 * Owns the dashboard's state (struct qb_http: a separate read-only SQLite connection, opened
 * on first use, the answer cache and the workers) and never writes to the database or changes
 * the bot. net.c calls qb_http_start() when cfg->http.enabled and qb_http_stop() when it tears
 * the context down.
 */
#ifndef QB_HTTP_H
#define QB_HTTP_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* The default folder of the page's static files, relative to the working directory. */
#define QB_HTTP_WEB_ROOT "web/dist"

/* Cache and worker limits (docs/INSIGHT.md "Dashboard"). */
#define QB_HTTP_FRESH_MS    60000              /* a 200 answer is served as is this long */
#define QB_HTTP_ERROR_MS    5000               /* an error answer is kept at most this long */
#define QB_HTTP_CACHE_MAX   128                /* entries */
#define QB_HTTP_CACHE_BYTES ((size_t)64 << 20) /* bodies, all entries together */
#define QB_HTTP_WORKERS     2                  /* worker processes at once; others queue */
#define QB_HTTP_QUEUE_MAX   64                 /* computations waiting for a worker */
#define QB_HTTP_DEADLINE_S  30.0               /* a worker is killed after this */
#define QB_HTTP_OUT_MAX     ((size_t)64 << 20) /* a worker's answer, status line included */
#define QB_HTTP_WARM_GROUPS 20                 /* groups whose 30-day report is warmed */

struct qb_http_entry; /* a cached answer (http_work.c) */
struct qb_http_job;   /* an answer being computed or queued (http_work.c) */

/* What the cache and its workers did (tests and the benchmark read it). */
struct qb_http_stats {
    uint64_t workers_started; /* worker processes started */
    uint64_t workers_done;    /* ... whose answer has been taken in (or failed) */
    uint64_t fresh_hits;      /* answered from a fresh cache entry */
    uint64_t stale_hits;      /* answered from a stale entry (a refresh was due) */
    uint64_t parked;          /* requests that waited for a worker */
    uint64_t coalesced;       /* ... of them joining a computation already under way */
    uint64_t evicted;         /* entries dropped for space */
};

struct qb_http {
    struct qb_bot *bot;     /* borrowed */
    struct lws_vhost *vh;   /* owned by the lws context */
    sqlite3 *db;            /* read-only; NULL until the first inline API call */
    char db_error[200];     /* why the database could not be opened (last attempt) */
    const char *db_path;    /* the database read; NULL = cfg->db_path (the benchmark sets its
                             * own). Borrowed. */
    const char *tz;         /* the zone of days and hours; NULL = cfg->timezone. Borrowed. With
                             * db_path and tz set, bot may be NULL (qunbot dashboard-answer). */
    const char *worker_exe; /* the program run as a worker; NULL = b->dashboard_exe, else this
                             * program (qb_self_exe). Borrowed. */

    /* http_work.c */
    struct qb_http_entry **cache; /* QB_HTTP_CACHE_MAX slots, NULL = free */
    size_t cache_bytes;
    uint64_t lru_tick;
    struct qb_http_job *jobs; /* running first, then queued, in order */
    size_t running, queued;
    bool start_failed; /* the last worker could not be started (logged once until one starts) */
    struct qb_http_stats stats;
};

/* Create the dashboard's vhost on b->lws bound to cfg->http.host:port, set b->http and
 * b->http_port and start warming the cache. Does nothing (QB_OK) when http is not enabled. */
int qb_http_start(struct qb_bot *b, char *err, size_t errlen);
/* Kill the workers, drop the cache, close the database and free b->http. Safe to call twice
 * and before qb_http_start. */
void qb_http_stop(struct qb_bot *b);

/* A body shared by the cache and the connections sending it (never copied: a megabyte-sized
 * report costs milliseconds per copy in page faults alone). Freed with its last reference. */
struct qb_http_shared {
    size_t refs;
    size_t len;
    char data[]; /* len bytes and a NUL */
};

/* One response, built whole before it is sent. */
struct qb_http_resp {
    int status;                    /* 200, 400, 401, 404, 405, 500, 503 */
    const char *type;              /* Content-Type (static string) */
    char *body;                    /* malloc'd and owned by the response, or shared->data */
    struct qb_http_shared *shared; /* when body is shared: one reference held by r */
    size_t len;
    bool api;            /* JSON API answer: Cache-Control no-store */
    int64_t computed_ms; /* API answers: when it was computed (X-Qunbot-Computed); 0 = none */
};

/* ---- http_api.c ---- */

/* Answer GET /api/... (path without the query; since = the "since" argument or NULL) into r,
 * with now (Unix ms) as the end of every period. Always fills r (errors become JSON bodies
 * with their status); QB_ENOMEM if it could not. Reads h->db (opened on first use). Needs
 * h->bot only for what h->db_path or h->tz leave unset; never touches the loop. */
int qb_http_api(struct qb_http *h, const char *path, const char *since, int64_t now,
                struct qb_http_resp *r);
/* Is this API request a heavy one (groups, report, members, one member) that is well formed?
 * Then true, and key (keylen >= 600) names its answer in the cache: the path and the period,
 * defaulted. Anything else (a bad address, period or member id, moderation) is answered
 * inline with qb_http_api: false. Never touches the database. */
bool qb_http_api_heavy(struct qb_http *h, const char *path, const char *since, int64_t now,
                       char *key, size_t keylen);
/* Set r to status with body {"error": msg} (msg is JSON-escaped). QB_OK or QB_ENOMEM. */
int qb_http_error(struct qb_http_resp *r, int status, const char *msg);
/* Free (or release the shared reference of) r's body and zero r. */
void qb_http_resp_clear(struct qb_http_resp *r);
/* Make dst (cleared first) another reference to src's answer: shares src's body, turning it
 * into a shared one first if it is not. QB_OK or QB_ENOMEM (dst then empty). */
int qb_http_resp_share(struct qb_http_resp *dst, struct qb_http_resp *src);

/* ---- http_work.c: the cache and the worker processes ---- */

/* The hidden subcommand that computes one heavy answer in a worker process (argv[1]). */
#define QB_HTTP_WORKER_CMD "dashboard-answer"

/* A connection waiting for a worker's answer (embedded in the server's connection state). */
struct qb_http_waiter {
    struct qb_http_job *job; /* NULL when not waiting */
    struct qb_http_waiter *next;
    /* Called once, on the loop, with the answer (borrowed: share it with qb_http_resp_share)
     * when the job ends. The waiter has already been unlinked. */
    void (*ready)(struct qb_http_waiter *w, struct qb_http_resp *r);
};

/* Answer the heavy request named key (from qb_http_api_heavy; path and since as received)
 * from the cache: a fresh entry is shared into r; a stale one too, and a refresh starts in
 * the background; with no entry w is parked on the job computing it (*parked = true, r
 * untouched) and w->ready is called later. Errors (queue full, out of memory) fill r with a
 * JSON error. QB_OK, or QB_ENOMEM when r could not be filled. */
int qb_http_answer(struct qb_http *h, const char *key, const char *path, const char *since,
                   struct qb_http_waiter *w, struct qb_http_resp *r, bool *parked);
/* Stop waiting (the connection closed): w is unlinked and never called. Safe when w is not
 * waiting. */
void qb_http_unpark(struct qb_http_waiter *w);
/* Queue the answers the page asks for first: /api/groups, then (when it arrives) the 30-day
 * report of each of its first QB_HTTP_WARM_GROUPS groups. Every /api/groups answer with
 * groups does the latter for the reports not kept yet. */
void qb_http_warm(struct qb_http *h);
/* Kill every worker, release waiters (never called back) and drop the cache. */
void qb_http_work_stop(struct qb_http *h);

#endif
