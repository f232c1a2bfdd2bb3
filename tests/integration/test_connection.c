/*
 * test_connection.c — the real bot core against qunbot-sim over loopback WebSockets,
 * both on one libev loop: connect, authenticate (good and bad tokens, NapCat and HTTP
 * styles), events in and replies out, simulator killed and restarted, in-flight calls
 * failing fast, timeouts not resent, duplicates dropped, malformed frames survived,
 * history back-filled, reverse mode with socket replacement, two accounts, pacing,
 * moderation ahead of chatter, and a graceful stop that loses nothing.
 */
#include "harness.h"
#include "test.h"

struct fx {
    struct ev_loop *loop;
    struct qb_sim *sim, *sim2;
    struct qb_bot *bot;
    char dir[64];
};

static struct qb_sim *start_sim(struct fx *f, struct qb_sim_opts o)
{
    char err[200] = "";
    o.loop = f->loop;
    if (!o.self_id)
        o.self_id = "10001";
    struct qb_sim *s = qb_sim_new(&o, err, sizeof err);
    if (!s) {
        fprintf(stderr, "simulator: %s\n", err);
        abort();
    }
    qb_sim_add_group(s, "100", "读书会");
    qb_sim_add_member(s, "100", "20001", "Alice", "member");
    qb_sim_add_member(s, "100", "20002", "Bob", "admin");
    qb_sim_add_member(s, "100", "20003", "Carol", "member");
    return s;
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    h_tmpdir(f->dir, sizeof f->dir);
    h_log_reset();
}

/* Start the bot with one forward account to the simulator (or a custom accounts array). */
static void start_bot(struct fx *f, const char *accounts, const char *extra)
{
    char json[4096], acc[1024];
    if (!accounts) {
        snprintf(acc, sizeof acc,
                 "[{\"name\":\"main\",\"url\":\"ws://127.0.0.1:%d/\",\"token\":\"secret\","
                 "\"api_timeout\":\"1s\"}]",
                 qb_sim_port(f->sim));
        accounts = acc;
    }
    snprintf(json, sizeof json,
             "{\"accounts\":%s,\"storage\":{\"path\":\"%s/qunbot.db\"},\"rules_dir\":\"%s/rules\","
             "\"superusers\":[\"99999\"],\"listen\":{\"port\":0},"
             "\"rate_limits\":{\"account_interval\":\"0ms\",\"jitter\":\"0ms\","
             "\"group_per_minute\":600,\"group_burst\":50},"
             "\"connection\":{\"reconnect_min\":\"200ms\",\"reconnect_max\":\"2s\"}%s%s}",
             accounts, f->dir, f->dir, extra ? "," : "", extra ? extra : "");
    struct qb_config *cfg = h_config(f->dir, json);
    if (getenv("QB_TEST_DEBUG"))
        cfg->log_level = QB_LOG_DEBUG;
    char err[300] = "";
    f->bot = qb_bot_new(f->loop, cfg, err, sizeof err);
    if (!f->bot || qb_bot_start(f->bot, err, sizeof err) != QB_OK) {
        fprintf(stderr, "bot: %s\n", err);
        abort();
    }
}

static void fx_done(struct fx *f)
{
    qb_bot_free(f->bot);
    qb_sim_free(f->sim);
    qb_sim_free(f->sim2);
    ev_run(f->loop, EVRUN_NOWAIT);
    ev_loop_destroy(f->loop);
    qb_log_set_capture(NULL, NULL);
}

static bool connected(void *ud)
{
    struct fx *f = ud;
    return qb_account_connected(&f->bot->accounts[0]) && qb_sim_connections(f->sim) > 0;
}

struct want {
    struct qb_sim *sim;
    const char *action;
    size_t n;
};

static bool got_calls(void *ud)
{
    struct want *w = ud;
    return qb_sim_count(w->sim, w->action) >= w->n;
}

static bool wait_calls(struct fx *f, struct qb_sim *s, const char *action, size_t n, double secs)
{
    struct want w = {s, action, n};
    return h_run_until(f->loop, got_calls, &w, secs);
}

static const char *last_params(struct qb_sim *s, const char *action)
{
    for (size_t i = qb_sim_ncalls(s); i-- > 0;) {
        const struct qb_sim_call *c = qb_sim_call_at(s, i);
        if (!strcmp(c->action, action))
            return c->params;
    }
    return "";
}

TEST(forward_connect_and_help_roundtrip)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret", .heartbeat_ms = 1000});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    CHECK(qb_sim_group_msg(f.sim, "100", "20001", "帮助") > 0);
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));
    const char *p = last_params(f.sim, "send_group_msg");
    CHECK(strstr(p, "\"group_id\":100") != NULL);
    CHECK(strstr(p, "帮助、状态") != NULL); /* the help plugin's line of the short menu */
    /* everything is in the interaction log */
    CHECK_INT(h_log_rows(f.bot, "in", "message", "帮助"), 1);
    CHECK(h_log_rows(f.bot, "out", "send", NULL) >= 1);
    h_run_for(f.loop, 0.3);
    CHECK(h_log_rows(f.bot, "result", "send", NULL) >= 1);
    fx_done(&f);
}

TEST(private_status_command)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_private_msg(f.sim, "20001", "/status");
    CHECK(wait_calls(&f, f.sim, "send_private_msg", 1, 5));
    CHECK(strstr(last_params(f.sim, "send_private_msg"), "qunbot") != NULL);
    fx_done(&f);
}

TEST(message_mentioning_someone_else_is_not_a_command)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    char frame[1024];
    snprintf(frame, sizeof frame,
             "{\"time\":%lld,\"self_id\":10001,\"post_type\":\"message\","
             "\"message_type\":\"group\",\"sub_type\":\"normal\",\"message_id\":5551,"
             "\"group_id\":100,\"user_id\":20001,\"sender\":{\"user_id\":20001,\"nickname\":"
             "\"Alice\",\"card\":\"\",\"role\":\"member\"},\"message\":[{\"type\":\"at\",\"data\":"
             "{\"qq\":\"20003\"}},{\"type\":\"text\",\"data\":{\"text\":\" 帮助\"}}],"
             "\"raw_message\":\"[CQ:at,qq=20003] 帮助\",\"font\":14}",
             (long long)(qb_clock_now() / 1000));
    qb_sim_send_raw(f.sim, frame, strlen(frame));
    h_run_for(f.loop, 1.0);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), 0);
    CHECK_INT(h_log_rows(f.bot, "in", "message", "帮助"), 1);
    fx_done(&f);
}

static void bad_token(enum qb_sim_auth style)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret", .auth_style = style});
    char acc[300];
    snprintf(acc, sizeof acc,
             "[{\"name\":\"main\",\"url\":\"ws://127.0.0.1:%d\",\"token\":\"wrong\"}]",
             qb_sim_port(f.sim));
    start_bot(&f, acc, NULL);
    h_run_for(f.loop, 2.5);
    CHECK(!qb_account_connected(&f.bot->accounts[0]) || qb_sim_connections(f.sim) == 0);
    CHECK(h_logged("refused our access token"));
    /* retried slowly, not in a storm */
    CHECK(qb_sim_connects_total(f.sim) <= 1);
    CHECK(ev_is_active(&f.bot->accounts[0].reconnect));
    CHECK(ev_timer_remaining(f.loop, &f.bot->accounts[0].reconnect) > 10.0);
    fx_done(&f);
}

TEST(bad_token_napcat_style_is_reported_and_retried_slowly)
{
    bad_token(QB_SIM_AUTH_NAPCAT);
}

TEST(bad_token_http_style_is_reported_and_retried_slowly)
{
    bad_token(QB_SIM_AUTH_HTTP);
}

struct done {
    bool called;
    int err;
};

static void record_result(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    (void)c;
    struct done *d = ud;
    d->called = true;
    d->err = r->err;
}

static bool is_called(void *ud)
{
    return ((struct done *)ud)->called;
}

TEST(simulator_restart_fails_inflight_calls_and_reconnects)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_hang_action(f.sim, "get_group_member_info", -1);
    struct qb_action *a = qb_action_new(QB_ACT_GET_MEMBER);
    qb_id_set(a->group_id, "100");
    qb_id_set(a->user_id, "20001");
    a->timeout_ms = 60000;
    struct done d = {0};
    CHECK_INT(qb_action_submit(&f.bot->core, a, record_result, &d), QB_OK);
    CHECK(wait_calls(&f, f.sim, "get_group_member_info", 1, 3));
    double t0 = ev_time();
    qb_sim_stop(f.sim);
    CHECK(h_run_until(f.loop, is_called, &d, 3));
    CHECK_INT(d.err, QB_EDISCONNECTED);
    CHECK(ev_time() - t0 < 2.0); /* at once, not after the 60 s timeout */
    CHECK(qb_sim_start(f.sim) == 0);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    CHECK(qb_sim_connects_total(f.sim) >= 2);
    /* and it works again */
    qb_sim_group_msg(f.sim, "100", "20001", "/help");
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));
    fx_done(&f);
}

TEST(timed_out_send_is_not_resent)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_hang_action(f.sim, "send_group_msg", 1);
    qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));
    h_run_for(f.loop, 2.0); /* api_timeout is 1s */
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), 1);
    CHECK(h_logged("got no answer in time"));
    CHECK_INT(h_log_rows(f.bot, "result", "send", NULL), 1);
    fx_done(&f);
}

TEST(duplicate_events_are_dropped)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    const char *frame =
            "{\"time\":1718000000,\"self_id\":10001,\"post_type\":\"notice\","
            "\"notice_type\":\"group_increase\",\"sub_type\":\"invite\",\"group_id\":100,"
            "\"user_id\":20009,\"operator_id\":20001}";
    qb_sim_send_raw(f.sim, frame, strlen(frame));
    qb_sim_send_raw(f.sim, frame, strlen(frame));
    qb_sim_group_msg(f.sim, "100", "20001", "/help"); /* a marker after both */
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));
    CHECK_INT(h_log_rows(f.bot, "in", "member_join", NULL), 1);
    fx_done(&f);
}

TEST(malformed_frames_do_not_stop_the_bot)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    const char *bad[] = {
            "{oops",
            "[1,2,3]",
            "",
            "{\"post_type\":\"message\",\"message_type\":\"group\",\"group_id\":{},\"message\":7}",
            "{\"time\":1718000001,\"self_id\":10001,\"post_type\":\"notice\",\"notice_type\":"
            "\"brand_new_kind\",\"group_id\":100,\"user_id\":20001}",
            "{\"time\":1718000002,\"self_id\":10001,\"post_type\":\"message\",\"message_type\":"
            "\"group\",\"message_id\":777,\"group_id\":100,\"user_id\":20001,\"message\":"
            "[{\"type\":\"text\",\"data\":{\"text\":\"bad \xff\xfe bytes\"}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        qb_sim_send_raw(f.sim, bad[i], strlen(bad[i]));
    size_t big = 2u << 20;
    char *huge = malloc(big);
    memset(huge, 'x', big);
    memcpy(huge, "{\"x\":\"", 6);
    memcpy(huge + big - 2, "\"}", 2);
    qb_sim_send_raw(f.sim, huge, big);
    free(huge);
    qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));
    CHECK(h_logged("malformed frame"));
    CHECK(h_logged("larger than max_frame_bytes"));
    CHECK(h_logged("invalid UTF-8"));
    CHECK_INT(h_log_rows(f.bot, "in", "brand_new_kind", NULL), 1);
    CHECK_INT(h_log_rows(f.bot, "in", "message", "bad ?? bytes"), 1);
    CHECK(connected(&f));
    fx_done(&f);
}

struct rows_want {
    struct fx *f;
    const char *needle;
};

static bool has_row(void *ud)
{
    struct rows_want *w = ud;
    return h_log_rows(w->f->bot, "in", "message", w->needle) > 0;
}

TEST(missed_messages_are_backfilled_after_reconnect)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_group_msg(f.sim, "100", "20001", "早上好");
    struct rows_want w0 = {&f, "早上好"};
    CHECK(h_run_until(f.loop, has_row, &w0, 3));
    qb_sim_stop(f.sim);
    h_run_for(f.loop, 0.3);
    qb_sim_group_msg(f.sim, "100", "20003", "while you were away");
    CHECK(qb_sim_start(f.sim) == 0);
    struct rows_want w = {&f, "while you were away"};
    CHECK(h_run_until(f.loop, has_row, &w, 6));
    CHECK(qb_sim_count(f.sim, "get_group_msg_history") >= 1);
    /* already-seen messages from the history are not logged twice */
    CHECK_INT(h_log_rows(f.bot, "in", "message", "早上好"), 1);
    fx_done(&f);
}

static bool reverse_connected(void *ud)
{
    struct fx *f = ud;
    struct qb_sim *s = f->sim2 ? f->sim2 : f->sim;
    return qb_account_connected(&f->bot->accounts[0]) && s && qb_sim_connections(s) > 0;
}

TEST(reverse_mode_accepts_good_token_refuses_bad_and_replaces_sockets)
{
    struct fx f;
    fx_init(&f);
    start_bot(&f,
              "[{\"name\":\"rev\",\"mode\":\"reverse\",\"self_id\":\"10001\",\"token\":\"t0k\"}]",
              NULL);
    CHECK(f.bot->listen_port > 0);
    int loopback = 0, other = 0; /* "127.0.0.1" (the default) means loopback only */
    h_listeners(f.bot->listen_port, &loopback, &other);
    CHECK_INT(loopback, 1);
    CHECK_INT(other, 0);
    char url[200];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/onebot/v11/ws", f.bot->listen_port);

    /* wrong token: refused before the upgrade */
    f.sim2 = start_sim(
            &f, (struct qb_sim_opts){
                        .port = -1, .reverse_url = url, .token = "nope", .reconnect_ms = 5000});
    h_run_for(f.loop, 1.0);
    CHECK(!reverse_connected(&f));
    CHECK(h_logged("wrong access token"));
    qb_sim_free(f.sim2);
    f.sim2 = NULL;

    f.sim = start_sim(
            &f, (struct qb_sim_opts){
                        .port = -1, .reverse_url = url, .token = "t0k", .reconnect_ms = 60000});
    CHECK(h_run_until(f.loop, reverse_connected, &f, 5));
    qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));

    /* a second socket for the same self id replaces the first */
    f.sim2 = start_sim(
            &f, (struct qb_sim_opts){
                        .port = -1, .reverse_url = url, .token = "t0k", .reconnect_ms = 60000});
    CHECK(h_run_until(f.loop, reverse_connected, &f, 5));
    h_run_for(f.loop, 0.5);
    CHECK(h_logged("new socket"));
    CHECK_INT(qb_sim_connections(f.sim), 0); /* the old socket was closed */
    /* both simulators number messages from the same start: the first id is a duplicate */
    qb_sim_group_msg(f.sim2, "100", "20001", "same id as before");
    qb_sim_group_msg(f.sim2, "100", "20001", "/help");
    CHECK(wait_calls(&f, f.sim2, "send_group_msg", 1, 5));
    fx_done(&f);
}

TEST(two_accounts_answer_through_their_own_connection)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "a", .self_id = "10001"});
    f.sim2 = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "b", .self_id = "10002"});
    char acc[600];
    snprintf(acc, sizeof acc,
             "[{\"name\":\"one\",\"url\":\"ws://127.0.0.1:%d\",\"token\":\"a\"},"
             "{\"name\":\"two\",\"url\":\"ws://127.0.0.1:%d\",\"token\":\"b\"}]",
             qb_sim_port(f.sim), qb_sim_port(f.sim2));
    start_bot(&f, acc, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_group_msg(f.sim2, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim2, "send_group_msg", 1, 5));
    h_run_for(f.loop, 0.3);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), 0);
    fx_done(&f);
}

TEST(sends_are_paced_per_account)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    f.bot->cfg->rate.account_interval_ms = 300;
    CHECK(h_run_until(f.loop, connected, &f, 5));
    for (int i = 0; i < 4; i++)
        qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 4, 8));
    int64_t prev = -1;
    for (size_t i = 0; i < qb_sim_ncalls(f.sim); i++) {
        const struct qb_sim_call *c = qb_sim_call_at(f.sim, i);
        if (strcmp(c->action, "send_group_msg"))
            continue;
        if (prev >= 0)
            CHECK(c->at_ms - prev >= 250);
        prev = c->at_ms;
    }
    fx_done(&f);
}

TEST(moderation_goes_ahead_of_chatter)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    f.bot->cfg->rate.account_interval_ms = 200;
    CHECK(h_run_until(f.loop, connected, &f, 5));
    int64_t mid = qb_sim_group_msg(f.sim, "100", "20003", "buy cheap stuff");
    h_run_for(f.loop, 0.3);
    for (int i = 0; i < 3; i++) {
        struct qb_msg m;
        qb_msg_init(&m);
        qb_msg_text(&m, "chatter");
        qb_send_group(&f.bot->core, "", "100", &m);
    }
    struct qb_event ev;
    qb_event_init(&ev);
    ev.chat = QB_CHAT_GROUP;
    qb_id_set(ev.group_id, "100");
    qb_id_set(ev.user_id, "20003");
    snprintf(ev.message_id, sizeof ev.message_id, "%lld", (long long)mid);
    CHECK_INT(qb_recall(&f.bot->core, &ev, "test"), QB_OK);
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 3, 5));
    long recall = qb_sim_find(f.sim, 0, "delete_msg", NULL);
    long first_send = qb_sim_find(f.sim, 0, "send_group_msg", NULL);
    CHECK(recall >= 0 && recall < first_send);
    fx_done(&f);
}

TEST(graceful_stop_sends_or_logs_everything)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    start_bot(&f, NULL, NULL);
    f.bot->cfg->rate.account_interval_ms = 100;
    CHECK(h_run_until(f.loop, connected, &f, 5));
    for (int i = 0; i < 5; i++) {
        struct qb_msg m;
        qb_msg_init(&m);
        qb_msg_textf(&m, "announcement %d", i);
        qb_send_group(&f.bot->core, "", "100", &m);
    }
    qb_bot_request_stop(f.bot);
    ev_run(f.loop, 0); /* returns when drained */
    char db[128];
    snprintf(db, sizeof db, "%s/qunbot.db", f.dir);
    qb_bot_free(f.bot);
    f.bot = NULL;
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), 5);
    sqlite3 *h = NULL;
    sqlite3_open(db, &h);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(h,
                       "SELECT COUNT(*) FROM interactions WHERE direction='out' AND "
                       "text LIKE 'announcement %'",
                       -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 5);
    sqlite3_finalize(st);
    sqlite3_close(h);
    fx_done(&f);
}

TEST(burst_of_send_timeouts_pauses_the_account_and_alerts_superusers)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    qb_sim_add_member(f.sim, "100", "99999", "Operator", "member");
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_fail_action(f.sim, "send_group_msg", 1200,
                       "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg", -1);
    for (int i = 0; i < 3; i++)
        qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim, "send_private_msg", 1, 5));
    const char *alert = last_params(f.sim, "send_private_msg");
    CHECK(strstr(alert, "\"user_id\":99999") != NULL);
    CHECK(strstr(alert, "风控") != NULL);
    CHECK(h_logged("pausing sends"));
    /* while paused, new replies wait in the queue instead of being sent */
    size_t sent = qb_sim_count(f.sim, "send_group_msg");
    qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    h_run_for(f.loop, 1.0);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), sent);
    CHECK_INT(f.bot->accounts[0].queued, 1);
    fx_done(&f);
}

TEST(silent_platform_is_probed_then_dropped_and_redialled)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret", .heartbeat_ms = 0});
    start_bot(&f, NULL, "\"log_level\":\"info\"");
    f.bot->cfg->heartbeat_fallback_ms = 2000;
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_hang_action(f.sim, "get_status", -1); /* a hung implementation: socket open, silent */
    h_run_for(f.loop, 4.5);
    CHECK(qb_sim_count(f.sim, "get_status") >= 1); /* probed with a real OneBot call */
    CHECK(h_logged("no frame from the platform"));
    CHECK(qb_sim_connects_total(f.sim) >= 2);
    fx_done(&f);
}

static bool sends_at_least_one(void *ud)
{
    return qb_sim_count(ud, "send_group_msg") >= 1;
}

TEST(sending_waits_while_the_platform_account_is_offline)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret", .heartbeat_ms = 200});
    start_bot(&f, NULL, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_set_online(f.sim, false);
    h_run_for(f.loop, 0.6); /* a heartbeat says offline */
    CHECK(!f.bot->accounts[0].online);
    qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    h_run_for(f.loop, 0.8);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), 0);
    CHECK(h_logged("offline"));
    qb_sim_set_online(f.sim, true);
    CHECK(h_run_until(f.loop, sends_at_least_one, f.sim, 5));
    fx_done(&f);
}

TEST(separate_api_and_event_sockets)
{
    struct fx f;
    fx_init(&f);
    f.sim = start_sim(&f, (struct qb_sim_opts){.port = 0, .token = "secret"});
    char acc[400];
    snprintf(acc, sizeof acc,
             "[{\"name\":\"split\",\"api_url\":\"ws://127.0.0.1:%d/api\","
             "\"event_url\":\"ws://127.0.0.1:%d/event\",\"token\":\"secret\"}]",
             qb_sim_port(f.sim), qb_sim_port(f.sim));
    start_bot(&f, acc, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    h_run_for(f.loop, 0.3);
    CHECK_INT(qb_sim_connections(f.sim), 2);
    qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));
    /* losing one half of the pair redials both */
    qb_sim_drop_connections(f.sim);
    h_run_for(f.loop, 0.2);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    h_run_for(f.loop, 0.3);
    CHECK_INT(qb_sim_connections(f.sim), 2);
    fx_done(&f);
}

/* A throw-away certificate authority-less self-signed certificate for 127.0.0.1. */
static bool make_cert(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem "
             "-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             ">/dev/null 2>&1",
             dir, dir);
    return system(cmd) == 0;
}

TEST(wss_verifies_certificates)
{
    struct fx f;
    fx_init(&f);
    CHECK(make_cert(f.dir));
    char cert[128], key[128], acc[600];
    snprintf(cert, sizeof cert, "%s/cert.pem", f.dir);
    snprintf(key, sizeof key, "%s/key.pem", f.dir);
    f.sim = start_sim(&f, (struct qb_sim_opts){
                                  .port = 0, .token = "secret", .tls_cert = cert, .tls_key = key});
    /* account one trusts the simulator's certificate; account two uses the system CAs */
    snprintf(acc, sizeof acc,
             "[{\"name\":\"trusting\",\"url\":\"wss://127.0.0.1:%d\",\"token\":\"secret\","
             "\"ca_file\":\"%s\"},"
             "{\"name\":\"strict\",\"url\":\"wss://127.0.0.1:%d\",\"token\":\"secret\","
             "\"self_id\":\"10002\"}]",
             qb_sim_port(f.sim), cert, qb_sim_port(f.sim));
    start_bot(&f, acc, NULL);
    CHECK(h_run_until(f.loop, connected, &f, 8));
    h_run_for(f.loop, 1.0);
    CHECK(!qb_account_connected(&f.bot->accounts[1])); /* self-signed: refused */
    CHECK(h_logged("account strict: could not connect: the TLS handshake failed"));
    qb_sim_group_msg(f.sim, "100", "20001", "帮助");
    CHECK(wait_calls(&f, f.sim, "send_group_msg", 1, 5));
    fx_done(&f);
}

int main(void)
{
    RUN(forward_connect_and_help_roundtrip);
    RUN(private_status_command);
    RUN(message_mentioning_someone_else_is_not_a_command);
    RUN(bad_token_napcat_style_is_reported_and_retried_slowly);
    RUN(bad_token_http_style_is_reported_and_retried_slowly);
    RUN(simulator_restart_fails_inflight_calls_and_reconnects);
    RUN(timed_out_send_is_not_resent);
    RUN(duplicate_events_are_dropped);
    RUN(malformed_frames_do_not_stop_the_bot);
    RUN(missed_messages_are_backfilled_after_reconnect);
    RUN(reverse_mode_accepts_good_token_refuses_bad_and_replaces_sockets);
    RUN(two_accounts_answer_through_their_own_connection);
    RUN(sends_are_paced_per_account);
    RUN(moderation_goes_ahead_of_chatter);
    RUN(graceful_stop_sends_or_logs_everything);
    RUN(burst_of_send_timeouts_pauses_the_account_and_alerts_superusers);
    RUN(silent_platform_is_probed_then_dropped_and_redialled);
    RUN(sending_waits_while_the_platform_account_is_offline);
    RUN(wss_verifies_certificates);
    RUN(separate_api_and_event_sockets);
    return test_done();
}
