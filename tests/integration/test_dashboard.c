/*
 * test_dashboard.c — the admin dashboard over real HTTP: the bot runs with "http" enabled on
 * a free port, the database holds hand-made insight rows (and one guard case), and the test
 * talks plain HTTP/1.1 over a socket on the same loop: tokens, the JSON API (groups side by
 * side with newcomer retention, report, members, one member's lookup, moderation), errors
 * with their status and JSON body, the read-only rule, path and member-id tricks, the page
 * and its security headers; heavy answers come from worker processes (the built qunbot's
 * dashboard-answer, fork + exec) through a cache (equal to the inline answer, served again
 * from the cache, stale then refreshed, one worker for concurrent requests, a connection closed
 * while it waits, a missing worker program answered with a 503 while the rest keeps working).
 * link: qb_core qb_sim
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include "harness.h"
#include "http/http.h"
#include "insight.h"
#include "test.h"

#define T0      1773115200000LL /* 2026-03-10 12:00 Asia/Shanghai, a Tuesday */
#define TOKEN   "s3cret-dash"
#define GROUP   "20001"
#define FILLERS 1500          /* silent members: the members answer is several write chunks */
#define KNOWN   (6 + FILLERS) /* members of GROUP in the database */

#ifndef QB_QUNBOT_EXE
#error "CMake passes QB_QUNBOT_EXE, the built qunbot the dashboard's workers run"
#endif

static struct h_fx fx;

/* ---- the database, made before the bot starts ---- */

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sql: %s\n", err ? err : "?");
        abort();
    }
}

static void seed_db(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/qunbot.db", dir);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        abort();
    for (size_t i = 0; qb_insight_migrations[i]; i++)
        exec_sql(db, qb_insight_migrations[i]);
    exec_sql(db, "BEGIN;"
                 "INSERT INTO insight_members (group_id, user_id, name, joined_ms, first_msg_ms,"
                 " last_msg_ms, messages) VALUES"
                 " ('20001', '30001', 'Alice', 1770000000000, 1772900000000, 1773100000000, 6),"
                 " ('20001', '30002', '小明', 1770000000000, 1772900000000, 1773100000000, 3),"
                 " ('20001', '30003', 'Bob', 1770000000000, 1772900000000, 1773100000000, 2),"
                 /* newcomers: two joined on Friday 2026-02-20 (their first week is over; one
                  * spoke in it), one yesterday (first week not over: not counted yet) */
                 " ('20001', '30004', 'Newbie A', 1771560000000, 1772420400000, 1772420400000, 1),"
                 " ('20001', '30005', 'Newbie B', 1771560000000, 0, 0, 0),"
                 " ('20001', '30006', 'Newbie C', 1773028800000, 0, 0, 0);"
                 "INSERT INTO insight_activity (group_id, user_id, day, hour, weekday, messages,"
                 " chars) VALUES"
                 " ('20001', '30001', '2026-03-10', 9, 1, 4, 40),"
                 " ('20001', '30001', '2026-03-09', 20, 0, 2, 20),"
                 " ('20001', '30002', '2026-03-10', 10, 1, 3, 30),"
                 " ('20001', '30003', '2026-03-10', 11, 1, 2, 20),"
                 " ('20001', '30004', '2026-03-02', 11, 0, 1, 10);"
                 /* the guard plugin's case table, as plugins/guard creates it */
                 "CREATE TABLE guard_cases (case_no BIGINT NOT NULL UNIQUE, ts BIGINT NOT NULL,"
                 " platform TEXT NOT NULL, self_id TEXT NOT NULL, group_id TEXT NOT NULL,"
                 " user_id TEXT NOT NULL, message_id TEXT NOT NULL, rule_id TEXT NOT NULL,"
                 " version INTEGER NOT NULL, reason TEXT NOT NULL, step TEXT NOT NULL,"
                 " mute_s BIGINT NOT NULL DEFAULT 0, pardoned INTEGER NOT NULL DEFAULT 0,"
                 " pardon_ts BIGINT, pardon_by TEXT, UNIQUE (platform, group_id, message_id));"
                 "INSERT INTO guard_cases (case_no, ts, platform, self_id, group_id, user_id,"
                 " message_id, rule_id, version, reason, step) VALUES (7, 1773100000000, 'qq',"
                 " '10001', '20001', '30003', 'm1', 'ads.link', 1, 'link', 'warn');");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db,
                       "INSERT INTO insight_members (group_id, user_id, name, joined_ms)"
                       " VALUES ('20001', ?1, ?2, 1770000000000)",
                       -1, &st, NULL);
    for (int i = 0; i < FILLERS; i++) {
        char uid[32], name[64];
        snprintf(uid, sizeof uid, "%d", 500000 + i);
        snprintf(name, sizeof name, "潜水成员 number %d with a longer nickname", i);
        sqlite3_bind_text(st, 1, uid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec_sql(db, "COMMIT;");
    sqlite3_close(db);
}

/* ---- a tiny HTTP client on the test's loop ---- */

struct reply {
    int status;
    char *raw; /* headers and body */
    size_t len;
    const char *body;
};

struct http_wait {
    int fd;
    struct qb_buf in;
    bool done;
    bool head; /* a HEAD answer ends with its headers, whatever its Content-Length says */
};

static void io_noop(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)w, (void)revents;
}

static bool response_complete(void *ud)
{
    struct http_wait *w = ud;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(w->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            qb_buf_append(&w->in, buf, (size_t)n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            w->done = true;
        break;
    }
    if (w->done || !w->in.p)
        return w->done;
    const char *end = strstr(w->in.p, "\r\n\r\n");
    if (!end)
        return false;
    if (w->head)
        return true;
    const char *cl = strcasestr(w->in.p, "\r\ncontent-length:");
    if (!cl || cl > end)
        return false; /* until the server closes */
    size_t want = (size_t)strtoull(cl + 17, NULL, 10);
    return w->in.len >= (size_t)(end + 4 - w->in.p) + want;
}

/* Connect and send a request (method, target, extra header lines ending in \r\n or ""); the
 * socket. */
static int http_send(const char *method, const char *target, const char *headers)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.bot->http_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        abort();
    char req[8192];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, target,
                     headers);
    if (n < 0 || (size_t)n >= sizeof req)
        abort();
    if (send(fd, req, (size_t)n, 0) != n)
        abort();
    return fd;
}

/* Wait for the whole answer on fd (closed); head: the request was a HEAD. */
static struct reply http_recv(int fd, bool head)
{
    struct reply r = {0};
    struct http_wait w = {.fd = fd, .head = head};
    qb_buf_init(&w.in);
    ev_io io;
    ev_io_init(&io, io_noop, fd, EV_READ);
    ev_io_start(fx.loop, &io);
    bool ok = h_run_until(fx.loop, response_complete, &w, 10);
    ev_io_stop(fx.loop, &io);
    close(fd);
    if (!ok || !w.in.p || sscanf(w.in.p, "HTTP/1.%*d %d", &r.status) != 1)
        r.status = -1;
    r.len = w.in.len;
    r.raw = qb_buf_steal(&w.in);
    const char *end = strstr(r.raw, "\r\n\r\n");
    r.body = end ? end + 4 : "";
    return r;
}

/* Send a request and wait for the whole answer. */
static struct reply http_req(const char *method, const char *target, const char *headers)
{
    return http_recv(http_send(method, target, headers), !strcmp(method, "HEAD"));
}

static struct reply get(const char *target)
{
    return http_req("GET", target, "Authorization: Bearer " TOKEN "\r\n");
}

/* The value of a response header (lower-case name without colon) into out, or "". */
static const char *header(const struct reply *r, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *end = strstr(r->raw, "\r\n\r\n");
    char needle[80];
    snprintf(needle, sizeof needle, "\r\n%s:", name);
    const char *h = strcasestr(r->raw, needle);
    if (!h || (end && h > end))
        return out;
    h += strlen(needle);
    while (*h == ' ')
        h++;
    size_t n = strcspn(h, "\r\n");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, h, n);
    out[n] = '\0';
    return out;
}

static const char *json_error(const struct reply *r, char *out, size_t outlen)
{
    cJSON *j = cJSON_Parse(r->body);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    qb_strlcpy(out, cJSON_IsString(e) ? e->valuestring : "(no error field)", outlen);
    cJSON_Delete(j);
    return out;
}

/* ---- tests ---- */

TEST(refuses_without_or_with_wrong_token)
{
    char v[200];
    struct reply r = http_req("GET", "/api/groups", "");
    CHECK_INT(r.status, 401);
    CHECK_STR(json_error(&r, v, sizeof v), "missing or wrong token");
    CHECK(strstr(header(&r, "content-type", v, sizeof v), "application/json") != NULL);
    free(r.raw);

    r = http_req("GET", "/api/groups", "Authorization: Bearer wrong-token\r\n");
    CHECK_INT(r.status, 401);
    CHECK_STR(json_error(&r, v, sizeof v), "missing or wrong token");
    free(r.raw);

    r = http_req("GET", "/api/groups?token=s3cret", "");
    CHECK_INT(r.status, 401); /* a prefix of the token is not the token */
    free(r.raw);

    r = http_req("GET", "/", "");
    CHECK_INT(r.status, 401);
    CHECK(strstr(r.body, "token") != NULL);
    CHECK(strstr(r.body, "<script") == NULL);
    free(r.raw);

    r = http_req("GET", "/assets/main.js", "");
    CHECK_INT(r.status, 401);
    free(r.raw);
}

TEST(lists_groups_side_by_side)
{
    char v[200];
    struct reply r = get("/api/groups");
    CHECK_INT(r.status, 200);
    CHECK_STR(header(&r, "cache-control", v, sizeof v), "no-store");
    CHECK_STR(header(&r, "x-content-type-options", v, sizeof v), "nosniff");
    cJSON *j = cJSON_Parse(r.body);
    CHECK(cJSON_IsArray(j));
    CHECK_INT(cJSON_GetArraySize(j), 1);
    const cJSON *g = cJSON_GetArrayItem(j, 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(g, "group_id")), GROUP);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "messages_7d")), 11);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "active_7d")), 3);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "members")), KNOWN);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(g, "dau_mau")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(g, "top10_share")));
    /* one guard case over 11 messages */
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "moderation_per_1000")) > 80.0);
    /* newcomer retention: of the 2 newcomers whose first week is over, 1 spoke in it */
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "newcomers_30d")), 2);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "newcomer_retention")) == 0.5);
    cJSON_Delete(j);
    free(r.raw);

    r = http_req("GET", "/api/groups?token=" TOKEN, ""); /* the token in the address */
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"group_id\":\"" GROUP "\"") != NULL);
    free(r.raw);
}

TEST(serves_a_groups_report)
{
    struct reply r = get("/api/groups/" GROUP "/report?since=7d");
    CHECK_INT(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    CHECK(j != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "group_id")), GROUP);
    const cJSON *ov = cJSON_GetObjectItem(j, "overview");
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(ov, "messages")), 11);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "daily")), 7);
    const cJSON *tue = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "heatmap"), 1);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetArrayItem(tue, 9)), 4);
    cJSON_Delete(j);
    free(r.raw);

    r = get("/api/groups/" GROUP "/report?since=1d"); /* today only: Monday's 2 drop out */
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"messages\":9") != NULL);
    free(r.raw);
}

TEST(members_and_moderation)
{
    struct reply r = get("/api/groups/" GROUP "/members?since=30d");
    CHECK_INT(r.status, 200);
    CHECK(r.len > 3 * 16384); /* sent in several chunks */
    cJSON *j = cJSON_Parse(r.body);
    CHECK(j != NULL);
    const cJSON *m = cJSON_GetObjectItem(j, "members");
    CHECK_INT(cJSON_GetArraySize(m), KNOWN);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "name")),
              "Alice"); /* the most valuable member first */
    cJSON_Delete(j);
    free(r.raw);

    r = get("/api/groups/" GROUP "/moderation");
    CHECK_INT(r.status, 200);
    j = cJSON_Parse(r.body);
    CHECK_INT(cJSON_GetArraySize(j), 1);
    const cJSON *c = cJSON_GetArrayItem(j, 0);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(c, "case_no")), 7);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "rule_id")), "ads.link");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "user_id")), "30003");
    cJSON_Delete(j);
    free(r.raw);
}

static double num_of(const cJSON *o, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

TEST(looks_up_one_member)
{
    char v[200];
    struct reply r = get("/api/groups/" GROUP "/members/30002?since=30d");
    CHECK_INT(r.status, 200);
    CHECK_STR(header(&r, "cache-control", v, sizeof v), "no-store");
    cJSON *j = cJSON_Parse(r.body);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "user_id")), "30002");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")), "小明");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stage")), "follower");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stage_name")), "关注者");
    CHECK_INT(num_of(j, "messages"), 3);
    CHECK_INT(num_of(j, "rank"), 2); /* after Alice's 6 messages */
    CHECK_INT(num_of(j, "member_count"), KNOWN);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, "pagerank")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, "degree")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, "checkins")));
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "value_why")));
    cJSON_Delete(j);
    free(r.raw);

    r = get("/api/groups/" GROUP "/members/30001");
    CHECK_INT(r.status, 200);
    j = cJSON_Parse(r.body);
    CHECK_INT(num_of(j, "rank"), 1);
    CHECK_INT(num_of(j, "messages"), 6);
    cJSON_Delete(j);
    free(r.raw);

    /* the period counts: last week's message only, today's 7-day window has none of Newbie A */
    r = get("/api/groups/" GROUP "/members/30004?since=7d");
    CHECK_INT(r.status, 200);
    j = cJSON_Parse(r.body);
    CHECK_INT(num_of(j, "messages"), 0);
    cJSON_Delete(j);
    free(r.raw);

    r = get("/api/groups/" GROUP "/members/424242");
    CHECK_INT(r.status, 404);
    CHECK_STR(json_error(&r, v, sizeof v), "no such member");
    free(r.raw);

    r = get("/api/groups/99999/members/30001");
    CHECK_INT(r.status, 404);
    CHECK_STR(json_error(&r, v, sizeof v), "no such group");
    free(r.raw);

    r = http_req("GET", "/api/groups/" GROUP "/members/30001", "");
    CHECK_INT(r.status, 401);
    free(r.raw);
}

/* Nothing in a reply that would come from outside the JSON API. */
static void check_not_a_file(const struct reply *r)
{
    CHECK(strstr(r->body, "root:") == NULL);
    CHECK(strstr(r->body, "<html") == NULL); /* not the page */
    CHECK(strstr(r->body, "<!doctype") == NULL);
}

/* Odd member ids are refused (400) or not found (404) with a JSON body, the route never
 * reaches a file or the page, and the bot keeps answering. */
TEST(member_ids_cannot_escape)
{
    char v[200], longid[300], huge[3100];
    memset(longid, '7', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    memset(huge, '8', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    char t_long[400], t_huge[3200];
    snprintf(t_long, sizeof t_long, "/api/groups/" GROUP "/members/%s", longid);
    snprintf(t_huge, sizeof t_huge, "/api/groups/" GROUP "/members/%s", huge);
    const char *tricks[] = {"/api/groups/" GROUP "/members/%00",
                            "/api/groups/" GROUP "/members/..",
                            "/api/groups/" GROUP "/members/%2e%2e",
                            "/api/groups/" GROUP "/members/...",
                            "/api/groups/" GROUP "/members/..%2f..%2f..%2fetc%2fpasswd",
                            "/api/groups/" GROUP "/members/%2e%2e%2f%2e%2e%2f%2e%2e%2findex.html",
                            "/api/groups/" GROUP "/members/30001/report",
                            "/api/groups/" GROUP "/members/30001/",
                            "/api/groups/" GROUP "/members/30001%2freport",
                            "/api/groups/" GROUP "/members/a%20b",
                            "/api/groups/" GROUP "/members/%3Cscript%3E",
                            "/api/groups/" GROUP "/members/%E5%B0%8F%E6%98%8E",
                            "/api/groups/" GROUP "/members/%ff%fe",
                            "/api/groups/" GROUP "/report/30001",
                            "/api/groups/" GROUP "/moderation/30001",
                            t_long,
                            t_huge};
    for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++) {
        struct reply r = get(tricks[i]);
        if (r.status != 400 && r.status != 404)
            fprintf(stderr, "  %.80s -> %d\n", tricks[i], r.status);
        CHECK(r.status == 400 || r.status == 404);
        CHECK(strstr(header(&r, "content-type", v, sizeof v), "application/json") != NULL);
        CHECK(strcmp(json_error(&r, v, sizeof v), "(no error field)") != 0);
        CHECK(strstr(r.raw, "X-Evil") == NULL);
        check_not_a_file(&r);
        free(r.raw);
    }
    struct reply r = get(t_long); /* an id too long for an account: a bad id */
    CHECK_INT(r.status, 400);
    CHECK(strstr(json_error(&r, v, sizeof v), "member id") != NULL);
    free(r.raw);
    r = get("/api/groups/" GROUP "/members/a%20b");
    CHECK_INT(r.status, 400);
    free(r.raw);

    /* The HTTP library decodes %2F and resolves dot segments (RFC 3986) before the dashboard
     * routes a request, and ends the path at a decoded CR or LF: such an address is just
     * another request with the same token — a member id never becomes a file name, and
     * nothing outside web/dist or a header of the sender's choosing comes back. */
    const char *resolved[] = {"/api/groups/" GROUP "/members/../report",
                              "/api/groups/" GROUP "/members/..%2f..%2f..%2f..%2fassets%2fmain.js",
                              "/api/groups/" GROUP "/members/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
                              "/api/groups/" GROUP "/members/30001%0d%0aX-Evil:%201"};
    for (size_t i = 0; i < sizeof resolved / sizeof resolved[0]; i++) {
        r = get(resolved[i]);
        CHECK(r.status == 200 || r.status == 400 || r.status == 404);
        CHECK(strstr(r.body, "root:") == NULL);
        CHECK(strstr(r.raw, "X-Evil") == NULL);
        free(r.raw);
    }

    /* A NUL byte after other characters: libwebsockets drops the connection before the
     * dashboard sees the request (-1 here) — never a crash, and the bot keeps answering. */
    r = get("/api/groups/" GROUP "/members/30001%00");
    CHECK(r.status == -1 || r.status == 400 || r.status == 404);
    check_not_a_file(&r);
    free(r.raw);
    r = get("/api/groups/" GROUP "/members/30001");
    CHECK_INT(r.status, 200);
    free(r.raw);
}

TEST(clear_errors_for_bad_requests)
{
    char v[200];
    struct reply r = get("/api/groups/99999/report?since=7d");
    CHECK_INT(r.status, 404);
    CHECK_STR(json_error(&r, v, sizeof v), "no such group");
    free(r.raw);

    const char *bad[] = {"banana", "abc", "7", "-3d", "7dd", "0d", "99999d", "3.5d", ""};
    const char *what[] = {"report", "members", "members/30001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t k = 0; k < 3; k++) {
            char target[128];
            snprintf(target, sizeof target, "/api/groups/" GROUP "/%s?since=%s", what[k], bad[i]);
            r = get(target);
            CHECK_INT(r.status, 400);
            CHECK(strstr(header(&r, "content-type", v, sizeof v), "application/json") != NULL);
            CHECK_STR(json_error(&r, v, sizeof v), "period must look like 7d, 30d or 12w");
            free(r.raw);
        }
    }

    r = get("/api/nothing");
    CHECK_INT(r.status, 404);
    free(r.raw);
    r = get("/api/groups/" GROUP "/secrets");
    CHECK_INT(r.status, 404);
    free(r.raw);
}

TEST(read_only)
{
    char v[200];
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    const char *targets[] = {"/api/groups", "/api/groups/" GROUP "/members/30001", "/"};
    for (size_t i = 0; i < 4; i++) {
        for (size_t k = 0; k < 3; k++) {
            struct reply r = http_req(methods[i], targets[k],
                                      "Authorization: Bearer " TOKEN "\r\nContent-Length: 0\r\n");
            CHECK_INT(r.status, 405);
            CHECK_STR(header(&r, "allow", v, sizeof v), "GET, HEAD");
            CHECK(strstr(json_error(&r, v, sizeof v), "read-only") != NULL);
            free(r.raw);
        }
    }
}

TEST(no_files_outside_the_page)
{
    const char *tricks[] = {"/../etc/passwd",
                            "/assets/../../etc/passwd",
                            "/assets/%2e%2e/%2e%2e/etc/passwd",
                            "/etc/passwd",
                            "/assets/.hidden.js",
                            "/assets/main.exe",
                            "/..%2f..%2fetc%2fpasswd"};
    for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++) {
        struct reply r = get(tricks[i]);
        CHECK_INT(r.status, 404);
        CHECK(strstr(r.body, "root:") == NULL);
        free(r.raw);
    }
}

TEST(serves_the_page_with_security_headers)
{
    char v[300], cookie[300];
    struct reply r = http_req("GET", "/?token=" TOKEN, "");
    CHECK_INT(r.status, 200);
    CHECK(strstr(header(&r, "content-type", v, sizeof v), "text/html") != NULL);
    CHECK(strstr(header(&r, "content-security-policy", v, sizeof v), "default-src 'self'") != NULL);
    CHECK_STR(header(&r, "x-content-type-options", v, sizeof v), "nosniff");
    CHECK(strstr(r.body, "<canvas") != NULL);
    CHECK(strstr(r.body, "assets/main.js") != NULL);
    header(&r, "set-cookie", cookie, sizeof cookie);
    CHECK(strstr(cookie, "HttpOnly") != NULL);
    CHECK(strstr(cookie, "SameSite=Strict") != NULL);
    free(r.raw);

    /* the page's own script loads with the cookie the page set */
    char hdr[400];
    snprintf(hdr, sizeof hdr, "Cookie: %.*s\r\n", (int)strcspn(cookie, ";"), cookie);
    r = http_req("GET", "/assets/main.js", hdr);
    CHECK_INT(r.status, 200);
    CHECK(strstr(header(&r, "content-type", v, sizeof v), "text/javascript") != NULL);
    CHECK(r.len > 1000);
    free(r.raw);

    r = http_req("HEAD", "/index.html", "Authorization: Bearer " TOKEN "\r\n");
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "");
    free(r.raw);
}

/* The listening socket is on 127.0.0.1 only (the default "host"). */
TEST(binds_loopback_by_default)
{
    CHECK_STR(fx.bot->cfg->http.host, "127.0.0.1");
    int loopback = 0, other = 0;
    h_listeners(fx.bot->http_port, &loopback, &other);
    CHECK_INT(loopback, 1);
    CHECK_INT(other, 0);
}

/* ---- heavy answers: workers and the cache ---- */

#define AUTH "Authorization: Bearer " TOKEN "\r\n"

static const struct qb_http_stats *stats(void)
{
    return &fx.bot->http->stats;
}

static long long computed_of(const struct reply *r)
{
    char v[40];
    return strtoll(header(r, "x-qunbot-computed", v, sizeof v), NULL, 10);
}

static bool workers_idle(void *ud)
{
    (void)ud;
    return stats()->workers_done == stats()->workers_started;
}

/* The worker's answer is byte for byte the one the bot would compute itself at that "now". */
TEST(worker_answer_equals_inline)
{
    const char *paths[] = {"/api/groups/" GROUP "/report", "/api/groups/" GROUP "/members",
                           "/api/groups/" GROUP "/members/30002"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        uint64_t started = stats()->workers_started;
        char target[200];
        snprintf(target, sizeof target, "%s?since=14d", paths[i]);
        struct reply r = get(target);
        CHECK_INT(r.status, 200);
        long long at = computed_of(&r);
        CHECK(at >= T0);
        CHECK_INT(stats()->workers_started, started + 1);
        struct qb_http_resp in = {0};
        CHECK_INT(qb_http_api(fx.bot->http, paths[i], "14d", at, &in), QB_OK);
        CHECK_INT(in.status, 200);
        CHECK(strlen(r.body) == in.len && !memcmp(r.body, in.body, in.len));
        qb_http_resp_clear(&in);
        free(r.raw);
    }
}

/* Within a minute the same answer comes from memory (same computation time, no worker); a
 * minute later the old answer is served once while a worker refreshes it. */
TEST(cache_fresh_then_stale_then_refreshed)
{
    const char *target = "/api/groups/" GROUP "/report?since=10d";
    struct reply first = get(target);
    CHECK_INT(first.status, 200);
    long long at = computed_of(&first);
    CHECK(h_run_until(fx.loop, workers_idle, NULL, 10));
    uint64_t started = stats()->workers_started, fresh = stats()->fresh_hits;

    qb_clock_advance(30000);
    struct reply again = get(target);
    CHECK_INT(again.status, 200);
    CHECK(computed_of(&again) == at);
    CHECK_INT(stats()->workers_started, started);
    CHECK_INT(stats()->fresh_hits, fresh + 1);
    CHECK_STR(again.body, first.body);
    free(again.raw);

    qb_clock_advance(31000); /* 61 s after it was computed: stale */
    uint64_t stale = stats()->stale_hits;
    struct reply old = get(target);
    CHECK_INT(old.status, 200);
    CHECK(computed_of(&old) == at);
    CHECK_INT(stats()->stale_hits, stale + 1);
    CHECK_INT(stats()->workers_started, started + 1); /* the refresh */
    free(old.raw);
    CHECK(h_run_until(fx.loop, workers_idle, NULL, 10));

    struct reply fresh_one = get(target);
    CHECK_INT(fresh_one.status, 200);
    CHECK(computed_of(&fresh_one) == at + 61000);
    CHECK_INT(stats()->workers_started, started + 1);
    free(fresh_one.raw);
    free(first.raw);
}

/* Two requests for an answer nobody has computed yet: one worker, the same answer twice. */
TEST(concurrent_cold_requests_share_one_worker)
{
    uint64_t started = stats()->workers_started, coalesced = stats()->coalesced,
             fresh = stats()->fresh_hits;
    const char *target = "/api/groups/" GROUP "/members?since=21d";
    int a = http_send("GET", target, AUTH), b = http_send("GET", target, AUTH);
    struct reply ra = http_recv(a, false), rb = http_recv(b, false);
    CHECK_INT(ra.status, 200);
    CHECK_INT(rb.status, 200);
    CHECK_STR(ra.body, rb.body);
    CHECK(computed_of(&ra) == computed_of(&rb));
    CHECK_INT(stats()->workers_started, started + 1);
    /* the second one joined the worker (or, had it come after the answer, hit the cache) */
    CHECK_INT(stats()->coalesced - coalesced + stats()->fresh_hits - fresh, 1);
    free(ra.raw);
    free(rb.raw);
}

static bool parked_reached(void *ud)
{
    return stats()->parked >= *(uint64_t *)ud;
}

/* A browser that gives up while its answer is computed: nothing breaks, the answer is kept. */
TEST(connection_closed_while_parked)
{
    uint64_t want = stats()->parked + 1, started = stats()->workers_started;
    const char *target = "/api/groups/" GROUP "/report?since=28d";
    int fd = http_send("GET", target, AUTH);
    CHECK(h_run_until(fx.loop, parked_reached, &want, 10));
    close(fd);
    CHECK(h_run_until(fx.loop, workers_idle, NULL, 10));
    CHECK_INT(stats()->workers_started, started + 1);
    struct reply r = get(target); /* from the cache */
    CHECK_INT(r.status, 200);
    CHECK_INT(stats()->workers_started, started + 1);
    CHECK(strstr(r.body, "\"group_id\":\"" GROUP "\"") != NULL);
    free(r.raw);
}

/* Answers that are bad requests or small are inline: no worker, still the computation time. */
TEST(errors_and_small_answers_stay_inline)
{
    uint64_t started = stats()->workers_started;
    struct reply r = get("/api/groups/" GROUP "/report?since=banana");
    CHECK_INT(r.status, 400);
    free(r.raw);
    r = get("/api/groups/" GROUP "/moderation");
    CHECK_INT(r.status, 200);
    CHECK(computed_of(&r) == qb_clock_now());
    free(r.raw);
    CHECK_INT(stats()->workers_started, started);
}

static int log_lines_with(const char *needle)
{
    int n = h_log_buf.n < 400 ? h_log_buf.n : 400, found = 0;
    for (int i = 0; i < n; i++)
        found += strstr(h_log_buf.lines[i], needle) != NULL;
    return found;
}

/* The worker program is missing (qunbot moved away under a running bot): heavy answers are a
 * 503 with a sentence saying so, logged once, while the rest of the dashboard keeps serving;
 * once the program is back the same page is computed. */
TEST(missing_worker_program_is_a_503)
{
    CHECK(h_run_until(fx.loop, workers_idle, NULL, 10));
    struct qb_http *h = fx.bot->http;
    h->worker_exe = "/nonexistent/qunbot";
    h_log_reset();
    const char *target = "/api/groups/" GROUP "/report?since=17d";
    char err[300];
    for (int i = 0; i < 3; i++) {
        struct reply r = get(target);
        CHECK_INT(r.status, 503);
        char v[80];
        CHECK(strstr(header(&r, "content-type", v, sizeof v), "application/json") != NULL);
        CHECK(strstr(json_error(&r, err, sizeof err), "could not start its worker program"));
        free(r.raw);
    }
    CHECK_INT(log_lines_with("/nonexistent/qunbot"), 1);
    CHECK(h_logged("no such program"));
    struct reply r = get("/api/groups/" GROUP "/moderation"); /* inline: still served */
    CHECK_INT(r.status, 200);
    free(r.raw);
    r = get("/api/groups/" GROUP "/report?since=10d"); /* kept earlier: still served */
    CHECK_INT(r.status, 200);
    free(r.raw);
    r = get("/?token=" TOKEN); /* the page */
    CHECK_INT(r.status, 200);
    free(r.raw);

    h->worker_exe = NULL; /* back to the bot's dashboard_exe: the built qunbot */
    r = get(target);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"group_id\":\"" GROUP "\"") != NULL);
    free(r.raw);
}

/* The warm-up computed /api/groups and the group's 30-day report when the bot started. */
TEST(warm_up_fills_the_cache)
{
    CHECK(h_run_until(fx.loop, workers_idle, NULL, 10));
    uint64_t fresh = stats()->fresh_hits, stale = stats()->stale_hits;
    struct reply r = get("/api/groups/" GROUP "/report?since=30d");
    CHECK_INT(r.status, 200);
    CHECK(computed_of(&r) <= qb_clock_now()); /* and no worker for this request: */
    CHECK_INT(stats()->fresh_hits + stats()->stale_hits, fresh + stale + 1);
    free(r.raw);
}

static void web_root(char *out, size_t n)
{
    /* this file is <source>/tests/integration/test_dashboard.c */
    qb_strlcpy(out, __FILE__, n);
    char *p = strstr(out, "tests/integration/test_dashboard.c");
    if (p)
        qb_strlcpy(p, "web/dist", n - (size_t)(p - out));
    else
        qb_strlcpy(out, "web/dist", n);
}

static bool logged_two(void *ud)
{
    (void)ud;
    return h_log_rows(fx.bot, "in", "message", NULL) >= 2;
}

/* Two real group messages through the simulator, so the interaction log has text for the
 * report's hot words (the insight tables above stand in for the insight plugin). */
static void drive_messages(void)
{
    qb_sim_add_group(fx.sim, GROUP, "测试群");
    qb_sim_add_member(fx.sim, GROUP, "30001", "Alice", "member");
    qb_sim_group_msg(fx.sim, GROUP, "30001", "周末活动大家报名了吗");
    qb_sim_group_msg(fx.sim, GROUP, "30001", "周末活动在图书馆");
    CHECK(h_run_until(fx.loop, logged_two, NULL, 5));
    qb_clock_advance(60000); /* reports end "now": a minute after the messages */
}

/* h_fx_boot with the dashboard on, its workers running the built qunbot: this test links the
 * core into its own program, and the warm-up starts workers as soon as the bot starts. */
static void boot(void)
{
    snprintf(fx.config, sizeof fx.config,
             "{\"accounts\":[{\"url\":\"ws://127.0.0.1:%d\",\"token\":\"k\"}],"
             "\"storage\":{\"path\":\"%s/qunbot.db\"},\"rules_dir\":\"rules\","
             "\"timezone\":\"Asia/Shanghai\","
             "\"command_prefixes\":[\"/\"],\"connection\":{\"heartbeat_fallback\":\"3650d\"},"
             "\"rate_limits\":{\"account_interval\":\"0ms\",\"jitter\":\"0ms\","
             "\"group_per_minute\":600,\"group_burst\":50},"
             "\"http\":{\"enabled\":true,\"port\":0,\"token\":\"" TOKEN "\"}}",
             qb_sim_port(fx.sim), fx.dir);
    char err[300] = "";
    fx.bot = qb_bot_new(fx.loop, h_config(fx.dir, fx.config), err, sizeof err);
    if (!fx.bot) {
        fprintf(stderr, "bot: %s\n", err);
        abort();
    }
    fx.bot->plugin_source = fx.plugins;
    fx.bot->dashboard_exe = QB_QUNBOT_EXE;
    if (qb_bot_start(fx.bot, err, sizeof err) != QB_OK ||
        !h_run_until(fx.loop, h_fx_connected, &fx, 5)) {
        fprintf(stderr, "bot: %s\n", err[0] ? err : "did not connect to the simulator");
        abort();
    }
}

int main(void)
{
    static const struct qb_plugin *const none[] = {NULL};
    h_fx_init(&fx, T0, none, NULL);
    seed_db(fx.dir);
    boot();
    char root[1024];
    web_root(root, sizeof root);
    fx.bot->web_root = root;
    CHECK(fx.bot->http_port > 0);
    drive_messages();
    RUN(refuses_without_or_with_wrong_token);
    RUN(lists_groups_side_by_side);
    RUN(serves_a_groups_report);
    RUN(members_and_moderation);
    RUN(looks_up_one_member);
    RUN(member_ids_cannot_escape);
    RUN(clear_errors_for_bad_requests);
    RUN(read_only);
    RUN(no_files_outside_the_page);
    RUN(serves_the_page_with_security_headers);
    RUN(binds_loopback_by_default);
    RUN(warm_up_fills_the_cache);
    RUN(worker_answer_equals_inline);
    RUN(cache_fresh_then_stale_then_refreshed);
    RUN(concurrent_cold_requests_share_one_worker);
    RUN(connection_closed_while_parked);
    RUN(errors_and_small_answers_stay_inline);
    RUN(missing_worker_program_is_a_503);
    h_fx_done(&fx);
    return test_done();
}
