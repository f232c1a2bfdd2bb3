/*
 * test_storage.c — the SQLite store: migrations (once, recorded, newer databases
 * refused), the batched transaction (invisible to other readers until committed),
 * interaction rows, text pruning, key-value pairs and the statement cache.
 * link: qb_store
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "storage.h"
#include "test.h"
#include "util/util.h"

static char dir[64];

static void db_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static int count(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    sqlite3_open(path, &h);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static const char *const plugin_v2[] = {
        "CREATE TABLE demo_points (user_id TEXT PRIMARY KEY, points INTEGER NOT NULL)",
        "ALTER TABLE demo_points ADD COLUMN note TEXT",
        NULL,
};

TEST(migrations_run_once_and_are_recorded)
{
    char path[128], err[300] = "";
    db_path(path, sizeof path, "mig.db");
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    CHECK_INT(qb_store_version(st, "core"), 2);
    CHECK_INT(qb_store_migrate(st, "demo", plugin_v2, err, sizeof err), QB_OK);
    CHECK_INT(qb_store_version(st, "demo"), 2);
    CHECK_INT(qb_store_migrate(st, "demo", plugin_v2, err, sizeof err), QB_OK); /* no-op */
    qb_store_close(st);
    CHECK_INT(count(path, "SELECT version FROM schema_version WHERE component='demo'"), 2);
    /* reopening does not re-run anything (an ALTER twice would fail) */
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    CHECK_INT(qb_store_migrate(st, "demo", plugin_v2, err, sizeof err), QB_OK);
    qb_store_close(st);
}

TEST(database_from_a_newer_version_is_refused)
{
    char path[128], err[300] = "";
    db_path(path, sizeof path, "newer.db");
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    qb_store_close(st);
    sqlite3 *h = NULL;
    sqlite3_open(path, &h);
    sqlite3_exec(h, "UPDATE schema_version SET version = 5 WHERE component = 'core'", NULL, NULL,
                 NULL);
    sqlite3_close(h);
    st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_ESTORE);
    CHECK(st == NULL);
    CHECK(strstr(err, "newer qunbot") != NULL);
    CHECK(strstr(err, "core schema 5, this build knows 2") != NULL);
}

TEST(batched_writes_are_visible_only_after_commit)
{
    char path[128], err[300] = "";
    db_path(path, sizeof path, "batch.db");
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    struct qb_logrec r = {.time_ms = 1000, .direction = "in", .kind = "message", .text = "hi"};
    for (int i = 0; i < 10; i++)
        CHECK_INT(qb_store_log(st, &r), QB_OK);
    CHECK_INT(count(path, "SELECT COUNT(*) FROM interactions"), 0);
    CHECK_INT(qb_store_commit(st), QB_OK);
    CHECK_INT(count(path, "SELECT COUNT(*) FROM interactions"), 10);
    CHECK_INT(qb_store_count(st), 10);
    qb_store_log(st, &r);
    qb_store_close(st); /* close commits */
    CHECK_INT(count(path, "SELECT COUNT(*) FROM interactions"), 11);
}

TEST(events_are_logged_with_their_fields)
{
    char path[128], err[300] = "";
    db_path(path, sizeof path, "events.db");
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    struct qb_event ev;
    qb_event_init(&ev);
    ev.kind = QB_EV_MESSAGE;
    ev.time_ms = 1700000000123;
    qb_strlcpy(ev.platform, "qq", sizeof ev.platform);
    qb_id_set(ev.self_id, "10001");
    qb_id_set(ev.group_id, "100");
    qb_id_set(ev.user_id, "20001");
    qb_id_set(ev.message_id, "555");
    qb_msg_text(&ev.msg, "签到");
    qb_msg_image(&ev.msg, "https://x/y.png");
    qb_msg_finish(&ev.msg);
    CHECK_INT(qb_store_log_event(st, &ev, "{\"raw\":true}"), QB_OK);
    ev.kind = QB_EV_UNKNOWN;
    qb_strlcpy(ev.name, "brand_new", sizeof ev.name);
    CHECK_INT(qb_store_log_event(st, &ev, NULL), QB_OK);
    qb_event_clear(&ev);
    qb_store_close(st);
    CHECK_INT(count(path, "SELECT COUNT(*) FROM interactions WHERE ts=1700000000123 AND "
                          "direction='in' AND kind='message' AND platform='qq' AND self_id='10001' "
                          "AND group_id='100' AND user_id='20001' AND message_id='555' AND "
                          "text='签到[图片]' AND details='{\"raw\":true}'"),
              1);
    CHECK_INT(count(path, "SELECT COUNT(*) FROM interactions WHERE kind='brand_new'"), 1);
}

TEST(pruning_removes_old_text_but_keeps_rows)
{
    char path[128], err[300] = "";
    db_path(path, sizeof path, "prune.db");
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    struct qb_logrec old = {
            .time_ms = 1000, .direction = "in", .kind = "message", .text = "old", .details = "{}"};
    struct qb_logrec fresh = {
            .time_ms = 9000, .direction = "in", .kind = "message", .text = "fresh"};
    qb_store_log(st, &old);
    qb_store_log(st, &old);
    qb_store_log(st, &fresh);
    CHECK_INT(qb_store_prune(st, 5000), 2);
    CHECK_INT(qb_store_prune(st, 5000), 0);
    qb_store_close(st);
    CHECK_INT(count(path, "SELECT COUNT(*) FROM interactions"), 3);
    CHECK_INT(count(path, "SELECT COUNT(*) FROM interactions WHERE text IS NOT NULL"), 1);
}

TEST(kv_and_statement_cache)
{
    char err[300] = "";
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(":memory:", &st, err, sizeof err), QB_OK);
    CHECK(qb_store_kv_get(st, "p", "k") == NULL);
    CHECK_INT(qb_store_kv_set(st, "p", "k", "一"), QB_OK);
    CHECK_INT(qb_store_kv_set(st, "p", "k", "二"), QB_OK);
    CHECK_INT(qb_store_kv_set(st, "other", "k", "x"), QB_OK);
    char *v = qb_store_kv_get(st, "p", "k");
    CHECK_STR(v, "二");
    free(v);
    CHECK_INT(qb_store_kv_del(st, "p", "k"), QB_OK);
    CHECK(qb_store_kv_get(st, "p", "k") == NULL);
    v = qb_store_kv_get(st, "other", "k");
    CHECK_STR(v, "x");
    free(v);
    struct sqlite3_stmt *a = qb_store_stmt(st, "SELECT 1");
    struct sqlite3_stmt *b = qb_store_stmt(st, "SELECT 1");
    CHECK(a != NULL && a == b);
    CHECK(qb_store_stmt(st, "SELEKT nonsense") == NULL);
    qb_store_close(st);
}

int main(void)
{
    qb_log_set_level(QB_LOG_ERROR + 1);
    snprintf(dir, sizeof dir, "/tmp/qunbot-store-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(migrations_run_once_and_are_recorded);
    RUN(database_from_a_newer_version_is_refused);
    RUN(batched_writes_are_visible_only_after_commit);
    RUN(events_are_logged_with_their_fields);
    RUN(pruning_removes_old_text_but_keeps_rows);
    RUN(kv_and_statement_cache);
    return test_done();
}
