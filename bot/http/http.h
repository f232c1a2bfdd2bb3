/*
 * http.h — the admin dashboard served by the bot (internal): a read-only HTTP server on its
 * own libwebsockets vhost (http_server.c) answering the JSON API (http_api.c) and the static
 * page from web/dist.
 *
 * Owns the dashboard's state (struct qb_http: a separate read-only SQLite connection, opened
 * on first use) and never writes to the database or changes the bot. net.c calls
 * qb_http_start() when cfg->http.enabled and qb_http_stop() when it tears the context down.
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

struct qb_http {
    struct qb_bot *bot;   /* borrowed */
    struct lws_vhost *vh; /* owned by the lws context */
    sqlite3 *db;          /* read-only; NULL until the first API call */
    char db_error[200];   /* why the database could not be opened (last attempt) */
};

/* Create the dashboard's vhost on b->lws bound to cfg->http.host:port and set b->http and
 * b->http_port. Does nothing (QB_OK) when http is not enabled. */
int qb_http_start(struct qb_bot *b, char *err, size_t errlen);
/* Close the database and free b->http. Safe to call twice and before qb_http_start. */
void qb_http_stop(struct qb_bot *b);

/* One response, built whole before it is sent. */
struct qb_http_resp {
    int status;       /* 200, 400, 401, 404, 405, 500, 503 */
    const char *type; /* Content-Type (static string) */
    char *body;       /* malloc'd; owned by the response */
    size_t len;
    bool api; /* JSON API answer: Cache-Control no-store */
};

/* Answer GET /api/... (path without the query; since = the "since" argument or NULL) into r.
 * Always fills r (errors become JSON bodies with their status); QB_ENOMEM if it could not. */
int qb_http_api(struct qb_http *h, const char *path, const char *since, struct qb_http_resp *r);
/* Set r to status with body {"error": msg} (msg is JSON-escaped). QB_OK or QB_ENOMEM. */
int qb_http_error(struct qb_http_resp *r, int status, const char *msg);
void qb_http_resp_clear(struct qb_http_resp *r);

#endif
