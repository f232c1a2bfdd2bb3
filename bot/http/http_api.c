/*
 * http_api.c — the dashboard's JSON API: groups side by side, a group's report, its members
 * (all, or one looked up by id) and its latest moderation cases, answered from the insight
 * rollup tables.
 *
 * Owns the read-only SQLite connection of struct qb_http (opened on first use, never the
 * bot's write connection) and nothing else. Never writes, never logs: every problem becomes
 * a JSON {"error": ...} body with its HTTP status. Runs in the bot (inline answers) and in
 * `qunbot dashboard-answer`, the dashboard's worker process (heavy ones, http_work.c), which
 * has no bot: so it takes "now", the database path and the zone from struct qb_http and never
 * touches the loop. Documented in docs/INSIGHT.md "Dashboard".
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "insight.h"

#define DEFAULT_SINCE "30d"
#define BAD_PERIOD    "period must look like 7d, 30d or 12w"
#define NO_GROUP      "no such group"
#define NO_MEMBER     "no such member"
#define BAD_MEMBER                                                                                 \
    "a member id is the member's account number (letters, digits and . _ - @ : only, at most "     \
    "63 characters)"
#define JSON_TYPE      "application/json; charset=utf-8"
#define MODERATION_MAX 100

void qb_http_resp_clear(struct qb_http_resp *r)
{
    if (r->shared) {
        if (--r->shared->refs == 0)
            free(r->shared);
    } else {
        free(r->body);
    }
    memset(r, 0, sizeof *r);
}

int qb_http_resp_share(struct qb_http_resp *dst, struct qb_http_resp *src)
{
    qb_http_resp_clear(dst);
    if (!src->shared) {
        struct qb_http_shared *sh = malloc(sizeof *sh + src->len + 1);
        if (!sh)
            return QB_ENOMEM;
        sh->refs = 1;
        sh->len = src->len;
        if (src->len)
            memcpy(sh->data, src->body, src->len);
        sh->data[src->len] = '\0';
        free(src->body);
        src->shared = sh;
        src->body = sh->data;
    }
    *dst = *src;
    dst->shared->refs++;
    return QB_OK;
}

/* Take body (malloc'd, may be NULL on allocation failure) as r's JSON answer. */
static int set_json(struct qb_http_resp *r, int status, char *body, size_t len)
{
    if (!body)
        return QB_ENOMEM;
    qb_http_resp_clear(r);
    r->status = status;
    r->type = JSON_TYPE;
    r->body = body;
    r->len = len;
    r->api = true;
    return QB_OK;
}

int qb_http_error(struct qb_http_resp *r, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        return QB_ENOMEM;
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return set_json(r, status, s, s ? strlen(s) : 0);
}

/* Answer 200 with j (consumed; NULL means an allocation failed). */
static int send_json(struct qb_http_resp *r, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s)
        return qb_http_error(r, 500, "out of memory");
    return set_json(r, 200, s, strlen(s));
}

/* ---- the database ---- */

static sqlite3 *db_of(struct qb_http *h)
{
    if (h->db)
        return h->db;
    sqlite3 *db = NULL;
    const char *path = h->db_path ? h->db_path : h->bot->cfg->db_path;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        snprintf(h->db_error, sizeof h->db_error, "the database %s cannot be read (%s)", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 250);
    /* No PRAGMA mmap_size here (unlike qunbot report): the workers are short-lived processes,
     * and mapping the file afresh in each one costs more page faults than it saves (measured
     * with qunbot-bench-dashboard: 90-day report 0.58-0.65 s mapped, 0.53-0.56 s read). */
    h->db = db;
    return db;
}

static bool table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* Has the insight plugin seen this group at all? */
static bool group_known(sqlite3 *db, const char *group_id)
{
    if (!table_exists(db, "insight_members") || !table_exists(db, "insight_activity"))
        return false;
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT EXISTS (SELECT 1 FROM insight_members WHERE group_id = ?1) "
                           "OR EXISTS (SELECT 1 FROM insight_activity WHERE group_id = ?1)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, group_id, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return found;
}

static int range_of(struct qb_http *h, const char *since, int64_t now, struct qb_insight_range *rg)
{
    char err[160];
    const char *tz = h->tz ? h->tz : h->bot->cfg->timezone;
    return qb_insight_range_parse(since, now, tz, rg, err, sizeof err);
}

/* A metrics failure as an answer: bad input is the caller's (400), the rest is ours (500). */
static int metrics_error(struct qb_http_resp *r, int rc, const char *err)
{
    return qb_http_error(r, rc == QB_EINVAL ? 400 : 500,
                         err[0] ? err : "the figures could not be computed");
}

/* ---- GET /api/groups ---- */

/* Newcomers of the 30 days whose first week after joining is over, and how many of them were
 * active in that week (from the join-week cohorts). */
struct newcomers {
    int64_t joined, active_week1;
};

static int newcomers_of(sqlite3 *db, const char *gid, const struct qb_insight_range *month,
                        struct newcomers *nc, char *err, size_t errlen)
{
    struct qb_insight_cohort *c = NULL;
    size_t n = 0;
    memset(nc, 0, sizeof *nc);
    int rc = qb_insight_cohorts(db, gid, month, month->until_ms, &c, &n, err, errlen);
    for (size_t i = 0; rc == QB_OK && i < n; i++) {
        if (c[i].active[0] < 0)
            continue; /* week 1 not reached yet */
        nc->joined += c[i].joined;
        nc->active_week1 += c[i].active[0];
    }
    free(c);
    return rc;
}

static cJSON *group_row(const char *gid, const struct qb_insight_overview *w,
                        const struct qb_insight_overview *m, const struct newcomers *nc)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "group_id", gid);
    cJSON_AddNumberToObject(o, "members", (double)m->members);
    cJSON_AddNumberToObject(o, "messages_7d", (double)w->messages);
    cJSON_AddNumberToObject(o, "active_7d", (double)w->active_members);
    cJSON_AddNumberToObject(o, "messages_30d", (double)m->messages);
    cJSON_AddNumberToObject(o, "active_30d", (double)m->active_members);
    cJSON_AddNumberToObject(o, "dau", m->dau);
    cJSON_AddNumberToObject(o, "mau", m->mau);
    cJSON_AddNumberToObject(o, "dau_mau", m->dau_mau);
    cJSON_AddNumberToObject(o, "top10_share", m->top10_share);
    cJSON_AddNumberToObject(o, "joins_30d", (double)m->joins);
    cJSON_AddNumberToObject(o, "leaves_30d", (double)m->leaves);
    cJSON_AddNumberToObject(o, "net_growth_30d", (double)m->net_growth);
    cJSON_AddNumberToObject(o, "moderation_30d", (double)m->moderation);
    cJSON_AddNumberToObject(o, "moderation_per_1000",
                            m->messages ? (double)m->moderation * 1000.0 / (double)m->messages
                                        : 0.0);
    cJSON_AddNumberToObject(o, "checkin_rate", m->checkin_rate);
    cJSON_AddNumberToObject(o, "median_response_s", m->median_response_s);
    cJSON_AddNumberToObject(o, "newcomers_30d", (double)nc->joined);
    if (nc->joined)
        cJSON_AddNumberToObject(o, "newcomer_retention",
                                (double)nc->active_week1 / (double)nc->joined);
    else
        cJSON_AddNullToObject(o, "newcomer_retention");
    return o;
}

static int api_groups(struct qb_http *h, sqlite3 *db, int64_t now, struct qb_http_resp *r)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr || !table_exists(db, "insight_members"))
        return send_json(r, arr);
    struct qb_insight_range week, month;
    if (range_of(h, "7d", now, &week) != QB_OK || range_of(h, "30d", now, &month) != QB_OK) {
        cJSON_Delete(arr);
        return qb_http_error(r, 500, "the bot's timezone is not usable");
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT group_id FROM insight_members ORDER BY group_id",
                           -1, &st, NULL) != SQLITE_OK) {
        cJSON_Delete(arr);
        return qb_http_error(r, 500, sqlite3_errmsg(db));
    }
    int rc = QB_OK;
    char err[200] = "";
    while (rc == QB_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *gid = (const char *)sqlite3_column_text(st, 0);
        struct qb_insight_overview w, m;
        struct newcomers nc;
        rc = qb_insight_overview(db, gid ? gid : "", &week, &w, err, sizeof err);
        if (rc == QB_OK)
            rc = qb_insight_overview(db, gid ? gid : "", &month, &m, err, sizeof err);
        if (rc == QB_OK)
            rc = newcomers_of(db, gid ? gid : "", &month, &nc, err, sizeof err);
        cJSON *row = rc == QB_OK ? group_row(gid ? gid : "", &w, &m, &nc) : NULL;
        if (rc == QB_OK && !row)
            rc = QB_ENOMEM;
        if (row)
            cJSON_AddItemToArray(arr, row);
    }
    sqlite3_finalize(st);
    if (rc != QB_OK) {
        cJSON_Delete(arr);
        return metrics_error(r, rc, err);
    }
    return send_json(r, arr);
}

/* ---- GET /api/groups/<id>/report ---- */

static int api_report(sqlite3 *db, const char *gid, const struct qb_insight_range *rg, int64_t now,
                      struct qb_http_resp *r)
{
    struct qb_insight_report rep;
    memset(&rep, 0, sizeof rep);
    char err[200] = "";
    int rc = qb_insight_report(db, gid, rg, now, &rep, err, sizeof err);
    if (rc != QB_OK) {
        qb_insight_report_free(&rep);
        return metrics_error(r, rc, err);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        qb_insight_report_free(&rep);
        return qb_http_error(r, 500, "out of memory");
    }
    rc = qb_insight_render_json(&rep, f);
    qb_insight_report_free(&rep);
    if (fclose(f) != 0 && rc == QB_OK)
        rc = QB_EIO;
    if (rc != QB_OK) {
        free(buf);
        return qb_http_error(r, 500, "the report could not be written");
    }
    return set_json(r, 200, buf, len);
}

/* ---- GET /api/groups/<id>/members ---- */

static cJSON *member_json(const struct qb_insight_member *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "user_id", m->user_id);
    cJSON_AddStringToObject(o, "name", m->name);
    static const char *const keys[QB_STAGE__COUNT] = {"onlooker", "follower", "participant",
                                                      "spreader", "partner"};
    cJSON_AddStringToObject(
            o, "stage", m->stage >= 0 && m->stage < QB_STAGE__COUNT ? keys[m->stage] : "unknown");
    cJSON_AddStringToObject(o, "stage_name", qb_insight_stage_name(m->stage));
    cJSON_AddNumberToObject(o, "value", m->value);
    cJSON_AddStringToObject(o, "value_why", m->value_why);
    cJSON_AddNumberToObject(o, "messages", (double)m->messages);
    cJSON_AddNumberToObject(o, "replies_received", (double)m->replies_received);
    cJSON_AddNumberToObject(o, "mentions_received", (double)m->mentions_received);
    cJSON_AddNumberToObject(o, "checkins", (double)m->checkins);
    cJSON_AddNumberToObject(o, "talks_attended", (double)m->talks_attended);
    cJSON_AddNumberToObject(o, "signups", (double)m->signups);
    cJSON_AddNumberToObject(o, "invites_stayed", (double)m->invites_stayed);
    cJSON_AddBoolToObject(o, "admin", m->admin);
    cJSON_AddBoolToObject(o, "speaker", m->speaker);
    cJSON_AddNumberToObject(o, "degree", m->degree);
    cJSON_AddNumberToObject(o, "pagerank", m->pagerank);
    cJSON_AddNumberToObject(o, "joined_ms", (double)m->joined_ms);
    cJSON_AddNumberToObject(o, "last_msg_ms", (double)m->last_msg_ms);
    return o;
}

/* Every member of the group for the range, most valuable first. *out: caller frees. */
static int load_members(sqlite3 *db, const char *gid, const struct qb_insight_range *rg,
                        struct qb_insight_member **out, size_t *n, char *err, size_t errlen)
{
    struct qb_insight_stages stages;
    qb_insight_stages_default(&stages);
    *out = NULL;
    *n = 0;
    return qb_insight_members(db, gid, rg, &stages, out, n, err, errlen);
}

static int api_members(sqlite3 *db, const char *gid, const struct qb_insight_range *rg,
                       struct qb_http_resp *r)
{
    struct qb_insight_member *m = NULL;
    size_t n = 0;
    char err[200] = "";
    int rc = load_members(db, gid, rg, &m, &n, err, sizeof err);
    if (rc != QB_OK) {
        free(m);
        return metrics_error(r, rc, err);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "members") : NULL;
    if (arr) {
        cJSON_AddStringToObject(o, "group_id", gid);
        cJSON_AddNumberToObject(o, "since_ms", (double)rg->since_ms);
        cJSON_AddNumberToObject(o, "until_ms", (double)rg->until_ms);
        for (size_t i = 0; i < n; i++) {
            cJSON *row = member_json(&m[i]);
            if (!row) {
                cJSON_Delete(o);
                o = NULL;
                break;
            }
            cJSON_AddItemToArray(arr, row);
        }
    }
    free(m);
    return send_json(r, o);
}

/* ---- GET /api/groups/<id>/members/<user_id> ---- */

static int api_member(sqlite3 *db, const char *gid, const char *uid,
                      const struct qb_insight_range *rg, struct qb_http_resp *r)
{
    struct qb_insight_member *m = NULL;
    size_t n = 0;
    char err[200] = "";
    int rc = load_members(db, gid, rg, &m, &n, err, sizeof err);
    if (rc != QB_OK) {
        free(m);
        return metrics_error(r, rc, err);
    }
    size_t i = 0;
    while (i < n && strcmp(m[i].user_id, uid))
        i++;
    if (i == n) {
        free(m);
        return qb_http_error(r, 404, NO_MEMBER);
    }
    cJSON *o = member_json(&m[i]);
    free(m);
    if (o && (!cJSON_AddStringToObject(o, "group_id", gid) ||
              !cJSON_AddNumberToObject(o, "rank", (double)(i + 1)) ||
              !cJSON_AddNumberToObject(o, "member_count", (double)n) ||
              !cJSON_AddNumberToObject(o, "since_ms", (double)rg->since_ms) ||
              !cJSON_AddNumberToObject(o, "until_ms", (double)rg->until_ms))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return send_json(r, o);
}

/* ---- GET /api/groups/<id>/moderation ---- */

static void add_text(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    cJSON_AddStringToObject(o, key, v ? v : "");
}

static int api_moderation(sqlite3 *db, const char *gid, struct qb_http_resp *r)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr || !table_exists(db, "guard_cases"))
        return send_json(r, arr); /* the guard never ran: no cases */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT case_no, ts, user_id, rule_id, reason, step, mute_s, pardoned "
                           "FROM guard_cases WHERE group_id = ?1 ORDER BY ts DESC, case_no DESC "
                           "LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        cJSON_Delete(arr);
        return qb_http_error(r, 500, sqlite3_errmsg(db));
    }
    sqlite3_bind_text(st, 1, gid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, MODERATION_MAX);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddNumberToObject(o, "case_no", (double)sqlite3_column_int64(st, 0));
        cJSON_AddNumberToObject(o, "ts", (double)sqlite3_column_int64(st, 1));
        add_text(o, "user_id", st, 2);
        add_text(o, "rule_id", st, 3);
        add_text(o, "reason", st, 4);
        add_text(o, "step", st, 5);
        cJSON_AddNumberToObject(o, "mute_s", (double)sqlite3_column_int64(st, 6));
        cJSON_AddBoolToObject(o, "pardoned", sqlite3_column_int(st, 7) != 0);
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    return send_json(r, arr);
}

/* ---- routing ---- */

/* An address under /api/groups/<id>/: what, and the member id of .../members/<user_id>. */
struct route {
    char gid[QB_ID_MAX];
    char what[16];
    char uid[QB_ID_MAX];
    bool has_uid;
};

/* Copy the path segment starting at p (up to '/' or the end) into out; the end of the
 * segment, or NULL when it is empty or does not fit. */
static const char *segment(const char *p, char *out, size_t outlen)
{
    size_t n = strcspn(p, "/");
    if (!n || n >= outlen)
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return p + n;
}

/* "/api/groups/<id>/<what>[/<user_id>]" into rt; false if the path has another shape. A
 * member id that is present but too long still parses (rt->uid is then "", has_uid true)
 * so that it can be refused as a bad id rather than as an unknown page. */
static bool parse_route(const char *path, struct route *rt)
{
    memset(rt, 0, sizeof *rt);
    const char *p = segment(path + strlen("/api/groups/"), rt->gid, sizeof rt->gid);
    if (!p || *p != '/' || !(p = segment(p + 1, rt->what, sizeof rt->what)))
        return false;
    if (strcmp(rt->what, "report") && strcmp(rt->what, "members") && strcmp(rt->what, "moderation"))
        return false;
    if (!*p)
        return true;
    if (strcmp(rt->what, "members") || p[1] == '\0' || strchr(p + 1, '/'))
        return false; /* only members/<user_id>, one segment, nothing after it */
    rt->has_uid = true;
    if (strlen(p + 1) < sizeof rt->uid)
        qb_strlcpy(rt->uid, p + 1, sizeof rt->uid);
    return true;
}

/* A member id as accounts have them: [A-Za-z0-9._@:-]{1,63}, not made of dots only. */
static bool member_id_ok(const char *uid)
{
    bool dots_only = true;
    if (!uid[0])
        return false;
    for (const char *p = uid; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '@' || c == ':';
        if (!ok)
            return false;
        if (c != '.')
            dots_only = false;
    }
    return !dots_only;
}

static bool is_list(const char *path)
{
    return !strcmp(path, "/api/groups") || !strcmp(path, "/api/groups/");
}

static int api_answer(struct qb_http *h, const char *path, const char *since, int64_t now,
                      struct qb_http_resp *r)
{
    bool list = is_list(path);
    struct route rt;
    if (!list && (!qb_starts_with(path, "/api/groups/") || !parse_route(path, &rt)))
        return qb_http_error(r, 404, "no such page in the dashboard API (see docs/INSIGHT.md)");
    if (!list && rt.has_uid && !member_id_ok(rt.uid))
        return qb_http_error(r, 400, BAD_MEMBER);

    struct qb_insight_range rg;
    if (!list && range_of(h, since ? since : DEFAULT_SINCE, now, &rg) != QB_OK)
        return qb_http_error(r, 400, BAD_PERIOD);
    sqlite3 *db = db_of(h);
    if (!db)
        return qb_http_error(r, 503, h->db_error);
    if (list)
        return api_groups(h, db, now, r);
    if (!group_known(db, rt.gid))
        return qb_http_error(r, 404, NO_GROUP);
    if (!strcmp(rt.what, "report"))
        return api_report(db, rt.gid, &rg, now, r);
    if (!strcmp(rt.what, "members"))
        return rt.has_uid ? api_member(db, rt.gid, rt.uid, &rg, r)
                          : api_members(db, rt.gid, &rg, r);
    return api_moderation(db, rt.gid, r);
}

int qb_http_api(struct qb_http *h, const char *path, const char *since, int64_t now,
                struct qb_http_resp *r)
{
    int rc = api_answer(h, path, since, now, r);
    r->computed_ms = now;
    return rc;
}

bool qb_http_api_heavy(struct qb_http *h, const char *path, const char *since, int64_t now,
                       char *key, size_t keylen)
{
    if (is_list(path))
        return (size_t)snprintf(key, keylen, "/api/groups") < keylen;
    struct route rt;
    struct qb_insight_range rg;
    if (!qb_starts_with(path, "/api/groups/") || !parse_route(path, &rt) ||
        !strcmp(rt.what, "moderation") || (rt.has_uid && !member_id_ok(rt.uid)) ||
        range_of(h, since ? since : DEFAULT_SINCE, now, &rg) != QB_OK)
        return false;
    int n = snprintf(key, keylen, "%s?since=%s", path, since ? since : DEFAULT_SINCE);
    return n > 0 && (size_t)n < keylen;
}
