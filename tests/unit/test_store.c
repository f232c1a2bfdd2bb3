/*
 * test_store.c — store details beyond test_storage.c: the connection settings (WAL on a
 * file, foreign keys, busy timeout), a failing migration step rolled back and reported
 * while earlier steps and the open batch stay committed, how events map to rows (empty
 * ids stored as NULL, notice names, text fallback, missing time = now), and cached
 * statements handed back reset with their bindings cleared.
 * link: qb_store
 */
#include <sqlite3.h>
#include <stdlib.h>

#include "storage.h"
#include "test.h"
#include "util/util.h"

#include <qunbot/qunbot.h>

static char dir[64];

static int64_t query_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int64_t other_conn_int(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_open(path, &h);
    int64_t v = query_int(h, sql);
    sqlite3_close(h);
    return v;
}

TEST(connection_settings)
{
    char path[128], err[300] = "";
    snprintf(path, sizeof path, "%s/conn.db", dir);
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    sqlite3 *h = qb_store_db(st);
    sqlite3_stmt *s = NULL;
    CHECK_INT(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(s), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    CHECK_INT(query_int(h, "PRAGMA foreign_keys"), 1);
    CHECK_INT(query_int(h, "PRAGMA busy_timeout"), 5000);
    CHECK_INT(query_int(h, "PRAGMA synchronous"), 1); /* NORMAL */
    qb_store_close(st);
    /* a database in a folder that does not exist: a reason, no handle */
    st = NULL;
    snprintf(path, sizeof path, "%s/missing/x.db", dir);
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_ESTORE);
    CHECK(st == NULL);
    CHECK(strstr(err, "cannot open the database") != NULL);
}

static const char *const broken_v3[] = {
        "CREATE TABLE demo_a (x TEXT)",
        "CREATE TABLE demo_b (y TEXT)",
        "CREATE TABLE demo_c (z TEXT); INSERT INTO no_such_table VALUES (1)",
        NULL,
};

TEST(failing_migration_step_is_rolled_back_and_reported)
{
    char path[128], err[300] = "";
    snprintf(path, sizeof path, "%s/mig.db", dir);
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(path, &st, err, sizeof err), QB_OK);
    CHECK_INT(qb_store_kv_set(st, "p", "k", "v"), QB_OK); /* an open batch */
    CHECK(qb_store_pending(st));
    CHECK_INT(qb_store_migrate(st, "demo", broken_v3, err, sizeof err), QB_ESTORE);
    CHECK(strstr(err, "demo schema step 3 failed") != NULL);
    CHECK(strstr(err, "no_such_table") != NULL);
    CHECK_INT(qb_store_version(st, "demo"), 2);
    CHECK_INT(other_conn_int(path, "SELECT COUNT(*) FROM kv WHERE ns = 'p'"), 1);
    CHECK_INT(other_conn_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'demo_b'"), 1);
    CHECK_INT(other_conn_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'demo_c'"), 0);
    /* the store still works afterwards */
    CHECK_INT(qb_store_kv_set(st, "p", "k2", "v2"), QB_OK);
    CHECK_INT(qb_store_commit(st), QB_OK);
    CHECK_INT(other_conn_int(path, "SELECT COUNT(*) FROM kv WHERE ns = 'p'"), 2);
    qb_store_close(st);
}

static const char *text_of(sqlite3 *h, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *s = NULL;
    const char *r = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
        sqlite3_column_type(s, 0) != SQLITE_NULL) {
        qb_strlcpy(buf, (const char *)sqlite3_column_text(s, 0), n);
        r = buf;
    }
    sqlite3_finalize(s);
    return r;
}

TEST(events_map_to_rows)
{
    char err[300] = "", buf[128];
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(":memory:", &st, err, sizeof err), QB_OK);
    sqlite3 *h = qb_store_db(st);
    qb_clock_fake(1800000000000);
    struct qb_event ev;
    qb_event_init(&ev);
    ev.kind = QB_EV_NOTICE;
    qb_strlcpy(ev.name, "poke", sizeof ev.name);
    qb_strlcpy(ev.platform, "qq", sizeof ev.platform);
    qb_id_set(ev.group_id, "100");
    ev.text = qb_strdup("戳了戳");
    CHECK_INT(qb_store_log_event(st, &ev, NULL), QB_OK); /* time 0, no user, no message */
    qb_event_clear(&ev);
    qb_clock_fake(0);
    CHECK_STR(text_of(h, "SELECT kind FROM interactions", buf, sizeof buf), "poke");
    CHECK_STR(text_of(h, "SELECT text FROM interactions", buf, sizeof buf), "戳了戳");
    CHECK_INT(query_int(h, "SELECT ts FROM interactions"), 1800000000000);
    CHECK_INT(query_int(h, "SELECT COUNT(*) FROM interactions WHERE user_id IS NULL AND "
                           "self_id IS NULL AND message_id IS NULL AND details IS NULL "
                           "AND group_id = '100' AND direction = 'in'"),
              1);
    /* a record with empty strings keeps NULLs, and the direction it was given */
    struct qb_logrec r = {
            .time_ms = 5, .direction = "out", .group_id = "", .kind = "send_group_msg"};
    CHECK_INT(qb_store_log(st, &r), QB_OK);
    CHECK_INT(query_int(h, "SELECT COUNT(*) FROM interactions WHERE ts = 5 AND "
                           "direction = 'out' AND group_id IS NULL AND text IS NULL"),
              1);
    CHECK_INT(qb_store_count(st), 2);
    qb_store_close(st);
}

TEST(cached_statement_comes_back_clean)
{
    char err[300] = "";
    struct qb_store *st = NULL;
    CHECK_INT(qb_store_open(":memory:", &st, err, sizeof err), QB_OK);
    CHECK_INT(qb_store_kv_set(st, "n", "a", "1"), QB_OK);
    CHECK_INT(qb_store_kv_set(st, "n", "b", "2"), QB_OK);
    const char *sql = "SELECT COUNT(*) FROM kv WHERE ns = ?";
    struct sqlite3_stmt *s = qb_store_stmt(st, sql);
    CHECK(s != NULL);
    sqlite3_bind_text(s, 1, "n", -1, SQLITE_STATIC);
    CHECK_INT(sqlite3_step(s), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(s, 0), 2);
    /* left mid-step with a binding: the next user gets it reset and unbound */
    struct sqlite3_stmt *again = qb_store_stmt(st, sql);
    CHECK(again == s);
    CHECK_INT(sqlite3_step(again), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(again, 0), 0); /* ns = NULL matches nothing */
    CHECK(qb_store_stmt(st, "SELECT COUNT(*) FROM kv") != s);
    /* a write through a cached statement joins the batch */
    CHECK_INT(qb_store_commit(st), QB_OK);
    CHECK(!qb_store_pending(st));
    struct sqlite3_stmt *w = qb_store_stmt(st, "DELETE FROM kv WHERE ns = ?");
    CHECK(qb_store_pending(st));
    sqlite3_bind_text(w, 1, "n", -1, SQLITE_STATIC);
    CHECK_INT(sqlite3_step(w), SQLITE_DONE);
    qb_store_close(st);
}

int main(void)
{
    qb_log_set_level(QB_LOG_ERROR + 1);
    snprintf(dir, sizeof dir, "/tmp/qunbot-store2-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(connection_settings);
    RUN(failing_migration_step_is_rolled_back_and_reported);
    RUN(events_map_to_rows);
    RUN(cached_statement_comes_back_clean);
    return test_done();
}
