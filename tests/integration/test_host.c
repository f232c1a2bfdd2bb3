/*
 * test_host.c — the plugin host end to end, with a test plugin loaded into the real
 * core and driven through qunbot-sim: command names, Chinese aliases and prefixes,
 * per-group enabling and settings from rules files, role checks, rules reload (good
 * and broken edits), plugin migrations and statements, key-value storage and
 * persisted schedules delivered as events.
 */
#include "harness.h"
#include "test.h"

/* ---- the test plugin ---- */

struct probe_settings {
    char *reply;
    int64_t repeat;
};

static const struct qb_cfg_field probe_table[] = {
        {"reply", QB_CFG_STRING, offsetof(struct probe_settings, reply), "\"pong\"", 0, 0, "reply",
         NULL},
        {"repeat", QB_CFG_INT, offsetof(struct probe_settings, repeat), "1", 1, 5, "times", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

struct probe_state {
    int schedules;
    char last_key[64], last_payload[64];
};

static int ping_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    const struct probe_settings *s = qb_settings(c, ev->group_id);
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO probe_hits(group_id, user_id) VALUES (?, ?)");
    sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    for (int64_t i = 0; i < s->repeat; i++)
        qb_reply(c, ev, s->reply, false);
    return QB_HANDLED;
}

static int admin_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    char text[200];
    snprintf(text, sizeof text, "admin ok argc=%d rest=%s", a->argc, a->rest);
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}

static int remember_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (a->argc == 1) {
        qb_kv_set(c, "memo", a->argv[0]);
        qb_reply(c, ev, "saved", false);
    } else {
        char *v = qb_kv_get(c, "memo");
        qb_reply(c, ev, v ? v : "(none)", false);
        free(v);
    }
    return QB_HANDLED;
}

static int award_run(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    int first = qb_points_add(c, ev->group_id, ev->user_id, 5, "test award", a->rest, NULL);
    int again = qb_points_add(c, ev->group_id, ev->user_id, 5, "test award", a->rest, NULL);
    qb_points_add(c, ev->group_id, ev->user_id, -2, "no ref", NULL, "20002");
    char text[100];
    snprintf(text, sizeof text, "first=%d again=%d total=%lld", first, again,
             (long long)qb_points_sum(c, ev->group_id, ev->user_id, 0, 0));
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}

static int probe_check(const void *settings, char *why, size_t n)
{
    const struct probe_settings *s = settings;
    if (s->repeat == 3) {
        snprintf(why, n, "repeat 3 is unlucky");
        return QB_EINVAL;
    }
    return QB_OK;
}

static const char *const ping_aliases[] = {"乒", NULL};
static const struct qb_command probe_commands[] = {
        {.name = "ping",
         .aliases = ping_aliases,
         .help = "ping",
         .min_role = QB_ROLE_MEMBER,
         .run = ping_run},
        {.name = "admin",
         .help = "admin only",
         .min_role = QB_ROLE_ADMIN,
         .group_only = true,
         .run = admin_run},
        {.name = "remember", .help = "kv", .min_role = QB_ROLE_MEMBER, .run = remember_run},
        {.name = "award", .help = "points", .min_role = QB_ROLE_MEMBER, .run = award_run},
        {.name = NULL},
};

static const char *const probe_migrations[] = {
        "CREATE TABLE probe_hits (group_id TEXT, user_id TEXT)",
        NULL,
};

static int probe_init(struct qb_ctx *c)
{
    qb_set_state(c, calloc(1, sizeof(struct probe_state)));
    return qb_schedule_at(c, "soon", qb_now(c) + 300, "the payload");
}

static int probe_event(struct qb_ctx *c, const struct qb_event *ev)
{
    struct probe_state *st = qb_state(c);
    if (ev->kind == QB_EV_SCHEDULE) {
        st->schedules++;
        qb_strlcpy(st->last_key, ev->sched_key, sizeof st->last_key);
        qb_strlcpy(st->last_payload, ev->sched_payload ? ev->sched_payload : "",
                   sizeof st->last_payload);
    } else if (ev->kind == QB_EV_MEMBER_JOIN) {
        qb_reply(c, ev, "welcome!", false);
        return QB_HANDLED;
    }
    return QB_PASS;
}

static void probe_shutdown(struct qb_ctx *c)
{
    free(qb_state(c));
}

static const struct qb_plugin probe_plugin = {
        .abi = QB_PLUGIN_ABI,
        .name = "probe",
        .version = "1",
        .priority = 50,
        .event_mask = QB_EVMASK(QB_EV_MEMBER_JOIN),
        .default_on = false,
        .settings = probe_table,
        .settings_size = sizeof(struct probe_settings),
        .commands = probe_commands,
        .migrations = probe_migrations,
        .init = probe_init,
        .on_event = probe_event,
        .shutdown = probe_shutdown,
        .check = probe_check,
};

/* Two onlookers of join events: `late` is an ordinary plugin after probe, `watcher` an
 * observer (analytics) that also sees what probe handled, told by whom. */
struct onlooker {
    int seen;
    char handled_by[32];
};

static int onlooker_init(struct qb_ctx *c)
{
    qb_set_state(c, calloc(1, sizeof(struct onlooker)));
    return qb_state(c) ? QB_OK : QB_ENOMEM;
}

static int onlooker_event(struct qb_ctx *c, const struct qb_event *ev)
{
    struct onlooker *o = qb_state(c);
    o->seen++;
    qb_strlcpy(o->handled_by, ev->handled_by ? ev->handled_by : "", sizeof o->handled_by);
    return QB_HANDLED; /* ignored for an observer; stops nobody after `late` anyway */
}

static const struct qb_plugin late_plugin = {
        .abi = QB_PLUGIN_ABI,
        .name = "late",
        .version = "1",
        .priority = 200,
        .event_mask = QB_EVMASK(QB_EV_MEMBER_JOIN),
        .default_on = true,
        .init = onlooker_init,
        .on_event = onlooker_event,
        .shutdown = probe_shutdown,
};

static const struct qb_plugin watcher_plugin = {
        .abi = QB_PLUGIN_ABI,
        .name = "watcher",
        .version = "1",
        .priority = 900,
        .event_mask = QB_EVMASK(QB_EV_MEMBER_JOIN),
        .default_on = true,
        .init = onlooker_init,
        .on_event = onlooker_event,
        .shutdown = probe_shutdown,
        .observer = true,
};

static const struct qb_plugin *const test_plugins[] = {&probe_plugin, &late_plugin, &watcher_plugin,
                                                       NULL};

/* ---- fixture ---- */

struct fx {
    struct ev_loop *loop;
    struct qb_sim *sim;
    struct qb_bot *bot;
    char dir[64], rules[128];
};

static void write_rules(struct fx *f, const char *name, const char *json)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->rules, name);
    h_write(path, "%s", json);
}

static void fx_start(struct fx *f)
{
    memset(f, 0, sizeof *f);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    h_tmpdir(f->dir, sizeof f->dir);
    h_log_reset();
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    mkdir(f->rules, 0700);
    write_rules(f, "default.json",
                "{\"default\": true, \"plugins\": {\"probe\": {\"enabled\": true}}}");
    write_rules(f, "quiet.json",
                "{\"name\": \"quiet\", \"groups\": [\"200\"], \"plugins\": {\"probe\": "
                "{\"enabled\": false}}}");
    write_rules(f, "chinese.json",
                "{\"name\": \"cn\", \"groups\": [300], \"plugins\": {\"probe\": "
                "{\"enabled\": true, \"reply\": \"乓!\", \"repeat\": 2}}}");
    char err[300] = "";
    f->sim = qb_sim_new(&(struct qb_sim_opts){.loop = f->loop, .port = 0, .token = "k"}, err,
                        sizeof err);
    CHECK(f->sim != NULL);
    const char *groups[] = {"100", "200", "300"};
    for (int i = 0; i < 3; i++) {
        qb_sim_add_group(f->sim, groups[i], groups[i]);
        qb_sim_add_member(f->sim, groups[i], "20001", "Alice", "member");
        qb_sim_add_member(f->sim, groups[i], "20002", "Bob", "admin");
        qb_sim_add_member(f->sim, groups[i], "99999", "Op", "member");
    }
    char json[2048];
    snprintf(json, sizeof json,
             "{\"accounts\":[{\"url\":\"ws://127.0.0.1:%d\",\"token\":\"k\"}],"
             "\"storage\":{\"path\":\"%s/qunbot.db\"},\"rules_dir\":\"rules\","
             "\"superusers\":[\"99999\"],\"command_prefixes\":[\"/\",\"!\"],"
             "\"rate_limits\":{\"account_interval\":\"0ms\",\"jitter\":\"0ms\","
             "\"group_per_minute\":600,\"group_burst\":50}}",
             qb_sim_port(f->sim), f->dir);
    f->bot = qb_bot_new(f->loop, h_config(f->dir, json), err, sizeof err);
    f->bot->plugin_source = test_plugins;
    if (qb_bot_start(f->bot, err, sizeof err) != QB_OK) {
        fprintf(stderr, "bot: %s\n", err);
        abort();
    }
}

static void fx_done(struct fx *f)
{
    qb_bot_free(f->bot);
    qb_sim_free(f->sim);
    ev_run(f->loop, EVRUN_NOWAIT);
    ev_loop_destroy(f->loop);
    qb_log_set_capture(NULL, NULL);
}

static bool connected(void *ud)
{
    struct fx *f = ud;
    return qb_account_connected(&f->bot->accounts[0]);
}

struct want {
    struct qb_sim *sim;
    size_t n;
};

static bool sends_at_least(void *ud)
{
    struct want *w = ud;
    return qb_sim_count(w->sim, "send_group_msg") >= w->n;
}

/* Send text as user in group; wait for `expect` more replies (or 0.8 s if expect is 0);
 * return the params of the newest send. */
static const char *say(struct fx *f, const char *group, const char *user, const char *text,
                       size_t expect)
{
    size_t before = qb_sim_count(f->sim, "send_group_msg");
    qb_sim_group_msg(f->sim, group, user, text);
    if (expect) {
        struct want w = {f->sim, before + expect};
        CHECK(h_run_until(f->loop, sends_at_least, &w, 5));
    } else {
        h_run_for(f->loop, 0.8);
        CHECK_INT(qb_sim_count(f->sim, "send_group_msg"), before);
    }
    for (size_t i = qb_sim_ncalls(f->sim); i-- > 0;) {
        const struct qb_sim_call *c = qb_sim_call_at(f->sim, i);
        if (!strcmp(c->action, "send_group_msg"))
            return c->params;
    }
    return "";
}

TEST(commands_follow_names_aliases_prefixes_and_group_rules)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    CHECK(strstr(say(&f, "100", "20001", "/ping", 1), "pong") != NULL);
    CHECK(strstr(say(&f, "100", "20001", "!ping", 1), "pong") != NULL);
    CHECK(strstr(say(&f, "100", "20001", "乒", 1), "pong") != NULL);
    say(&f, "100", "20001", "ping", 0);                             /* a name needs a prefix */
    say(&f, "100", "20001", "乒乓球真好玩", 0);                     /* an alias is a whole word */
    say(&f, "200", "20001", "/ping", 0);                            /* disabled in group 200 */
    CHECK(strstr(say(&f, "300", "20001", "乒", 2), "乓!") != NULL); /* settings: repeat 2 */
    /* the plugin's own table, through its migration */
    sqlite3_stmt *st = NULL;
    qb_store_commit(f.bot->store);
    sqlite3_prepare_v2(qb_store_db(f.bot->store), "SELECT COUNT(*) FROM probe_hits", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 4);
    sqlite3_finalize(st);
    fx_done(&f);
}

TEST(roles_are_checked_before_a_command_runs)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    CHECK(strstr(say(&f, "100", "20001", "/admin", 1), "只有群管理员") != NULL);
    const char *p = say(&f, "100", "20002", "/admin  a  b", 1);
    CHECK(strstr(p, "admin ok argc=2 rest=a  b") != NULL);
    CHECK(strstr(say(&f, "100", "99999", "/admin", 1), "admin ok") != NULL); /* superuser */
    fx_done(&f);
}

TEST(rules_reload_applies_good_edits_and_keeps_rules_on_broken_ones)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    say(&f, "200", "20001", "/ping", 0);
    write_rules(&f, "quiet.json",
                "{\"name\": \"quiet\", \"groups\": [\"200\"], \"plugins\": {\"probe\": "
                "{\"enabled\": true, \"reply\": \"now on\"}}}");
    CHECK_INT(qb_bot_reload_rules(f.bot), QB_OK);
    CHECK(strstr(say(&f, "200", "20001", "/ping", 1), "now on") != NULL);
    /* a typo: refused, previous rules stay */
    write_rules(&f, "quiet.json",
                "{\"name\": \"quiet\", \"groups\": [\"200\"], \"plugins\": {\"probe\": "
                "{\"enabled\": true, \"replly\": \"typo\"}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("kept the previous rules"));
    CHECK(h_logged("quiet.json:1:"));
    CHECK(strstr(say(&f, "200", "20001", "/ping", 1), "now on") != NULL);
    /* settings that pass their types but not the plugin's own check */
    write_rules(&f, "quiet.json",
                "{\"name\": \"quiet\", \"groups\": [\"200\"], \"plugins\": {\"probe\": "
                "{\"enabled\": true, \"repeat\": 3}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("plugin \"probe\": repeat 3 is unlucky"));
    fx_done(&f);
}

struct reply_want {
    struct fx *f;
    const char *group, *needle;
};

/* Ask /ping every half second until the reply contains needle. */
static bool ping_replies(void *ud)
{
    struct reply_want *w = ud;
    size_t before = qb_sim_count(w->f->sim, "send_group_msg");
    qb_sim_group_msg(w->f->sim, w->group, "20001", "/ping");
    h_run_for(w->f->loop, 0.5);
    for (size_t i = qb_sim_ncalls(w->f->sim);
         i-- > 0 && qb_sim_count(w->f->sim, "send_group_msg") > before;) {
        const struct qb_sim_call *c = qb_sim_call_at(w->f->sim, i);
        if (!strcmp(c->action, "send_group_msg"))
            return strstr(c->params, w->needle) != NULL;
    }
    return false;
}

TEST(editing_a_rules_file_in_place_reloads_it)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    CHECK(strstr(say(&f, "300", "20001", "/ping", 2), "乓!") != NULL);
    /* rewrite the same file (same inode: the directory itself does not change) */
    write_rules(&f, "chinese.json",
                "{\"name\": \"cn\", \"groups\": [300], \"plugins\": {\"probe\": "
                "{\"enabled\": true, \"reply\": \"edited\"}}}");
    struct reply_want w = {&f, "300", "edited"};
    CHECK(h_run_until(f.loop, ping_replies, &w, 10));
    CHECK(h_logged("a rules file changed: reloading"));
    fx_done(&f);
}

static bool schedule_fired(void *ud)
{
    struct fx *f = ud;
    struct probe_state *st = f->bot->plugins[0].state;
    return st && st->schedules > 0;
}

TEST(schedules_arrive_as_events_and_storage_works)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, schedule_fired, &f, 5));
    struct probe_state *st = f.bot->plugins[0].state;
    CHECK_STR(st->last_key, "soon");
    CHECK_STR(st->last_payload, "the payload");
    CHECK(h_run_until(f.loop, connected, &f, 5));
    CHECK(strstr(say(&f, "100", "20001", "/remember 读书", 1), "saved") != NULL);
    CHECK(strstr(say(&f, "100", "20001", "/remember", 1), "读书") != NULL);
    /* the points ledger: an award with a ref counts once */
    CHECK(strstr(say(&f, "100", "20001", "/award day-1", 1), "first=0 again=-13 total=3") != NULL);
    CHECK(strstr(say(&f, "100", "20001", "/award day-1", 1), "first=-13 again=-13 total=1") !=
          NULL);
    /* the schedule was one-shot */
    h_run_for(f.loop, 1.5);
    CHECK_INT(st->schedules, 1);
    fx_done(&f);
}

TEST(join_event_reaches_plugin_only_where_enabled)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    size_t before = qb_sim_count(f.sim, "send_group_msg");
    qb_sim_member_join(f.sim, "200", "30001", "approve", "20002");
    qb_sim_member_join(f.sim, "100", "30002", "invite", "20001");
    struct want w = {f.sim, before + 1};
    CHECK(h_run_until(f.loop, sends_at_least, &w, 5));
    h_run_for(f.loop, 0.5);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), before + 1);
    CHECK(qb_sim_find(f.sim, 0, "send_group_msg", "\"group_id\":100") >= 0);
    fx_done(&f);
}

static struct onlooker *onlooker_of(struct fx *f, const struct qb_plugin *p)
{
    for (size_t i = 0; i < f->bot->nplugins; i++)
        if (f->bot->plugins[i].plugin == p)
            return f->bot->plugins[i].state;
    return NULL;
}

static bool watcher_saw_two(void *ud)
{
    struct onlooker *o = onlooker_of(ud, &watcher_plugin);
    return o && o->seen >= 2;
}

TEST(observers_see_handled_events_and_others_do_not)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    qb_sim_member_join(f.sim, "100", "30002", "invite", "20001"); /* probe handles it */
    h_run_for(f.loop, 0.5);
    struct onlooker *late = onlooker_of(&f, &late_plugin);
    struct onlooker *watcher = onlooker_of(&f, &watcher_plugin);
    CHECK(late && watcher);
    if (!late || !watcher) {
        fx_done(&f);
        return;
    }
    CHECK_INT(late->seen, 0);
    CHECK_INT(watcher->seen, 1);
    CHECK_STR(watcher->handled_by, "probe");
    qb_sim_member_join(f.sim, "200", "30001", "approve", "20002"); /* probe is off there */
    CHECK(h_run_until(f.loop, watcher_saw_two, &f, 5));
    CHECK_INT(late->seen, 1);
    CHECK_STR(watcher->handled_by, "late"); /* late handled it: the watcher still sees it */
    fx_done(&f);
}

int main(void)
{
    RUN(commands_follow_names_aliases_prefixes_and_group_rules);
    RUN(roles_are_checked_before_a_command_runs);
    RUN(rules_reload_applies_good_edits_and_keeps_rules_on_broken_ones);
    RUN(editing_a_rules_file_in_place_reloads_it);
    RUN(schedules_arrive_as_events_and_storage_works);
    RUN(join_event_reaches_plugin_only_where_enabled);
    RUN(observers_see_handled_events_and_others_do_not);
    return test_done();
}
