/*
 * test_dashboard.c — the admin dashboard over real HTTP: the bot runs with "http" enabled on
 * a free port, the database holds hand-made insight rows (and one guard case), and the test
 * talks plain HTTP/1.1 over a socket on the same loop: tokens, the JSON API, errors with
 * their status, the read-only rule, path tricks, the page and its security headers.
 * link: qb_core qb_sim
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include "harness.h"
#include "insight.h"
#include "test.h"

#define T0      1773115200000LL /* 2026-03-10 12:00 Asia/Shanghai, a Tuesday */
#define TOKEN   "s3cret-dash"
#define GROUP   "20001"
#define FILLERS 1500 /* silent members: the members answer is several write chunks */

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
                 " ('20001', '30003', 'Bob', 1770000000000, 1772900000000, 1773100000000, 2);"
                 "INSERT INTO insight_activity (group_id, user_id, day, hour, weekday, messages,"
                 " chars) VALUES"
                 " ('20001', '30001', '2026-03-10', 9, 1, 4, 40),"
                 " ('20001', '30001', '2026-03-09', 20, 0, 2, 20),"
                 " ('20001', '30002', '2026-03-10', 10, 1, 3, 30),"
                 " ('20001', '30003', '2026-03-10', 11, 1, 2, 20);"
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
    const char *cl = strcasestr(w->in.p, "\r\ncontent-length:");
    if (!cl || cl > end)
        return false; /* until the server closes */
    size_t want = (size_t)strtoull(cl + 17, NULL, 10);
    return w->in.len >= (size_t)(end + 4 - w->in.p) + want;
}

/* Send a request (method, target, extra header lines ending in \r\n or "") and wait for
 * the whole answer. */
static struct reply http_req(const char *method, const char *target, const char *headers)
{
    struct reply r = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.bot->http_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        abort();
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, target,
                     headers);
    if (send(fd, req, (size_t)n, 0) != n)
        abort();
    struct http_wait w = {.fd = fd};
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
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "members")), 3 + FILLERS);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(g, "dau_mau")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(g, "top10_share")));
    /* one guard case over 11 messages */
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "moderation_per_1000")) > 90.0);
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
    CHECK_INT(cJSON_GetArraySize(m), 3 + FILLERS);
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

TEST(clear_errors_for_bad_requests)
{
    char v[200];
    struct reply r = get("/api/groups/99999/report?since=7d");
    CHECK_INT(r.status, 404);
    CHECK_STR(json_error(&r, v, sizeof v), "no such group");
    free(r.raw);

    const char *bad[] = {"banana", "7", "-3d", "7dd", "0d", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char target[128];
        snprintf(target, sizeof target, "/api/groups/" GROUP "/report?since=%s", bad[i]);
        r = get(target);
        CHECK_INT(r.status, 400);
        CHECK_STR(json_error(&r, v, sizeof v), "period must look like 7d, 30d or 12w");
        free(r.raw);
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
    for (size_t i = 0; i < 4; i++) {
        struct reply r = http_req(methods[i], "/api/groups",
                                  "Authorization: Bearer " TOKEN "\r\nContent-Length: 0\r\n");
        CHECK_INT(r.status, 405);
        CHECK_STR(header(&r, "allow", v, sizeof v), "GET, HEAD");
        CHECK(strstr(json_error(&r, v, sizeof v), "read-only") != NULL);
        free(r.raw);
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

int main(void)
{
    static const struct qb_plugin *const none[] = {NULL};
    h_fx_init(&fx, T0, none, NULL);
    seed_db(fx.dir);
    h_fx_boot(&fx, ",\"http\":{\"enabled\":true,\"port\":0,\"token\":\"" TOKEN "\"}");
    char root[1024];
    web_root(root, sizeof root);
    fx.bot->web_root = root;
    CHECK(fx.bot->http_port > 0);
    drive_messages();
    RUN(refuses_without_or_with_wrong_token);
    RUN(lists_groups_side_by_side);
    RUN(serves_a_groups_report);
    RUN(members_and_moderation);
    RUN(clear_errors_for_bad_requests);
    RUN(read_only);
    RUN(no_files_outside_the_page);
    RUN(serves_the_page_with_security_headers);
    RUN(binds_loopback_by_default);
    h_fx_done(&fx);
    return test_done();
}
