/*
 * test_guard.c — the guard plugin end to end through qunbot-sim with a fake clock: a
 * keyword ad recalled before later plugins see it, the ladder over four offences (private
 * warning with case number, public @, mute, kick) without ever repeating the offending
 * word, strikes that survive a restart and decay, appeal + pardon (unmute, a lower next
 * step, the overturn in 规则统计), shadow rules and dry runs that only audit, exempt
 * admins and trusted members, the group's own words, the newcomer link rule, the
 * blacklist across groups, warnings recalled after warning_ttl, repost notes that survive
 * a restart (fingerprints pruned daily), and the check hook.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

extern const struct qb_plugin qb_plugin_guard;

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   1795000000000LL /* fake clock start */

#define AD     "今天有刷单的活动，有兴趣的来"
#define AD2    "兼职日结，轻松赚钱"
#define AT(id) "{\"type\":\"at\",\"data\":{\"qq\":\"" id "\"}}"
#define LONG_TEXT                                                                                         \
    "人生就像一杯茶，不会苦一辈子，但总会苦一阵子。学会在苦中寻找甘甜，" \
    "在平凡中发现美好，才能让每一天都过得充实而有意义，愿你我都能成为更好的自己"

/* A later plugin (priority 100) that counts the group messages it gets to see. */
struct later {
    int seen;
};

static int later_init(struct qb_ctx *c)
{
    qb_set_state(c, calloc(1, sizeof(struct later)));
    return QB_OK;
}

static int later_event(struct qb_ctx *c, const struct qb_event *ev)
{
    struct later *l = qb_state(c);
    if (ev->kind == QB_EV_MESSAGE && ev->chat == QB_CHAT_GROUP)
        l->seen++;
    return QB_PASS;
}

static void later_shutdown(struct qb_ctx *c)
{
    free(qb_state(c));
    qb_set_state(c, NULL);
}

static const struct qb_plugin later_plugin = {
        .abi = QB_PLUGIN_ABI,
        .name = "later",
        .version = "1",
        .description = "test: sees what the guard lets through",
        .priority = 100,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE),
        .default_on = true,
        .init = later_init,
        .on_event = later_event,
        .shutdown = later_shutdown,
};

static const struct qb_plugin *const test_plugins[] = {&qb_plugin_guard, &later_plugin, NULL};

/* ---- fixture ---- */

struct fx {
    struct ev_loop *loop;
    struct qb_sim *sim;
    struct qb_bot *bot;
    char dir[64], rules[128], pack[160];
    bool no_backfill; /* start bots without the history back-fill after connecting */
};

static void write_rules(struct fx *f, const char *name, const char *json)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->rules, name);
    h_write(path, "%s", json);
}

/* Group 100 and 200 run the guard on the test pack; group 100 adds `settings` (the guard's
 * JSON object body), group 200 has the blacklist on. */
static void write_group_rules(struct fx *f, const char *settings)
{
    char json[3000];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"guard\": "
             "{\"enabled\": true, \"packs\": [\"%s\"]%s%s}}}",
             f->pack, settings[0] ? ", " : "", settings);
    write_rules(f, "main.json", json);
    snprintf(json, sizeof json,
             "{\"name\": \"second\", \"groups\": [\"200\"], \"plugins\": {\"guard\": "
             "{\"enabled\": true, \"packs\": [\"%s\"], \"blacklist\": true}}}",
             f->pack);
    write_rules(f, "second.json", json);
}

static void bot_start(struct fx *f)
{
    char json[2048], err[300] = "";
    snprintf(json, sizeof json,
             "{\"accounts\":[{\"url\":\"ws://127.0.0.1:%d\",\"token\":\"k\"}],"
             "\"storage\":{\"path\":\"%s/qunbot.db\"},\"rules_dir\":\"rules\","
             "\"superusers\":[\"99999\"],"
             "\"command_prefixes\":[\"/\"],"
             "\"connection\":{\"heartbeat_fallback\":\"3650d\",\"backfill_count\":%d},"
             "\"rate_limits\":{\"account_interval\":\"0ms\",\"jitter\":\"0ms\","
             "\"group_per_minute\":600,\"group_burst\":50}}",
             qb_sim_port(f->sim), f->dir, f->no_backfill ? 0 : 30);
    f->bot = qb_bot_new(f->loop, h_config(f->dir, json), err, sizeof err);
    f->bot->plugin_source = test_plugins;
    if (qb_bot_start(f->bot, err, sizeof err) != QB_OK) {
        fprintf(stderr, "bot: %s\n", err);
        abort();
    }
}

static bool connected(void *ud)
{
    struct fx *f = ud;
    return qb_account_connected(&f->bot->accounts[0]);
}

static void fx_start(struct fx *f, const char *settings)
{
    memset(f, 0, sizeof *f);
    qb_clock_fake(T0);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    h_tmpdir(f->dir, sizeof f->dir);
    h_log_reset();
    snprintf(f->rules, sizeof f->rules, "%s/rules", f->dir);
    mkdir(f->rules, 0700);
    snprintf(f->pack, sizeof f->pack, "%s/pack.json", f->dir);
    h_write(f->pack, "%s",
            "{\"name\":\"t\",\"rules\":["
            "{\"id\":\"ad.words\",\"version\":2,\"detector\":\"keywords\","
            "\"words\":[\"刷单\",\"兼职日结\"],\"action\":\"strike\",\"reason\":\"禁止发广告\"},"
            "{\"id\":\"link.newcomer\",\"version\":1,\"detector\":\"link\",\"links\":\"any\","
            "\"newcomer\":true,\"action\":\"recall\",\"reason\":\"新成员先不要发链接\"},"
            "{\"id\":\"repost\",\"version\":1,\"detector\":\"repost\",\"action\":\"note\","
            "\"reason\":\"转发内容请说说你的看法\"}]}");
    write_group_rules(f, settings);
    char err[300] = "";
    f->sim = qb_sim_new(
            &(struct qb_sim_opts){
                    .loop = f->loop, .port = 0, .token = "k", .media_dir = "tests/fixtures/media"},
            err, sizeof err);
    CHECK(f->sim != NULL);
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_group(f->sim, "200", "200");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member"); /* only in 100 */
    const char *groups[] = {"100", "200"};
    for (int i = 0; i < 2; i++) {
        qb_sim_add_member(f->sim, groups[i], "20002", "Bob", "admin");
        qb_sim_add_member(f->sim, groups[i], "20003", "Carol", "member");
    }
    bot_start(f);
    CHECK(h_run_until(f->loop, connected, f, 5));
}

/* Stop the bot and start a new one on the same database (the simulator keeps running). */
static void fx_restart(struct fx *f)
{
    qb_bot_free(f->bot);
    ev_run(f->loop, EVRUN_NOWAIT);
    bot_start(f);
    CHECK(h_run_until(f->loop, connected, f, 5));
}

static void fx_done(struct fx *f)
{
    qb_bot_free(f->bot);
    qb_sim_free(f->sim);
    ev_run(f->loop, EVRUN_NOWAIT);
    ev_loop_destroy(f->loop);
    qb_log_set_capture(NULL, NULL);
    qb_clock_fake(0);
}

struct want {
    struct qb_sim *sim;
    const char *action;
    size_t n;
};

static bool calls_at_least(void *ud)
{
    struct want *w = ud;
    return qb_sim_count(w->sim, w->action) >= w->n;
}

/* Wait until `action` has been called n times in all (false after 5 s). */
static bool wait_calls(struct fx *f, const char *action, size_t n)
{
    struct want w = {f->sim, action, n};
    return h_run_until(f->loop, calls_at_least, &w, 5);
}

static size_t calls(struct fx *f, const char *action)
{
    return qb_sim_count(f->sim, action);
}

/* Move the fake clock and let timers run. */
static void advance(struct fx *f, int64_t ms)
{
    qb_clock_advance(ms);
    h_run_for(f->loop, 1.2);
}

/* Params of the newest call of action, or "". */
static const char *last_call(struct fx *f, const char *action)
{
    for (size_t i = qb_sim_ncalls(f->sim); i-- > 0;) {
        const struct qb_sim_call *c = qb_sim_call_at(f->sim, i);
        if (!strcmp(c->action, action))
            return c->params;
    }
    return "";
}

/* A member says text in a group and the bot gets a moment; returns the message id. */
static int64_t say(struct fx *f, const char *group, const char *user, const char *text)
{
    int64_t id = qb_sim_group_msg(f->sim, group, user, text);
    h_run_for(f->loop, 0.6);
    return id;
}

static void say_private(struct fx *f, const char *user, const char *text)
{
    qb_sim_private_msg(f->sim, user, text);
    h_run_for(f->loop, 0.6);
}

/* Was message id recalled (a delete_msg call for it)? */
static bool recalled(struct fx *f, int64_t id)
{
    char needle[48];
    snprintf(needle, sizeof needle, "\"message_id\":%lld", (long long)id);
    return qb_sim_find(f->sim, 0, "delete_msg", needle) >= 0;
}

/* Does any message the bot sent contain needle? */
static bool bot_said(struct fx *f, const char *needle)
{
    return qb_sim_find(f->sim, 0, "send_group_msg", needle) >= 0 ||
           qb_sim_find(f->sim, 0, "send_private_msg", needle) >= 0;
}

static int later_seen(struct fx *f)
{
    for (size_t i = 0; i < f->bot->nplugins; i++)
        if (f->bot->plugins[i].plugin == &later_plugin)
            return ((struct later *)f->bot->plugins[i].state)->seen;
    return -1;
}

/* Count the guard's decision records of a kind whose details contain needle. */
static int audits(struct fx *f, const char *kind, const char *needle)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f->bot->store),
                       "SELECT COUNT(*) FROM interactions WHERE direction = 'decision'"
                       " AND kind = ? AND instr(details, ?) > 0",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, needle ? needle : "", -1, SQLITE_STATIC);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

static int fingerprints(struct fx *f)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f->bot->store), "SELECT COUNT(*) FROM guard_fingerprints", -1,
                       &st, NULL);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

/* ---- enforcement ---- */

TEST(a_keyword_ad_is_recalled_before_later_plugins_see_it)
{
    struct fx f;
    fx_start(&f, "");
    say(&f, "100", "20001", "大家早上好");
    CHECK_INT(later_seen(&f), 1);
    int64_t id = say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, id));
    CHECK(wait_calls(&f, "send_private_msg", 1));
    const char *p = last_call(&f, "send_private_msg");
    CHECK(strstr(p, "\"user_id\":20001") != NULL);
    CHECK(strstr(p, "禁止发广告") != NULL);
    CHECK(strstr(p, "#1") != NULL);
    CHECK(strstr(p, "申诉 1 理由") != NULL);
    CHECK(strstr(p, "刷单") == NULL);
    CHECK_INT(later_seen(&f), 1); /* the guard handled it: nobody else answers or scores it */
    CHECK_INT(calls(&f, "send_group_msg"), 0);
    CHECK_INT(audits(&f, "guard.strike", "\"rule_id\":\"ad.words\",\"version\":2"), 1);
    CHECK_INT(audits(&f, "guard.strike", "\"step\":\"warn_private\",\"case\":1"), 1);
    CHECK_INT(audits(&f, "guard.strike", "刷单"), 1); /* the evidence is for admins */
    /* evasion spelling is caught too (normalisation) */
    id = say(&f, "100", "20001", "兼 职·日 结，私我");
    CHECK(wait_calls(&f, "delete_msg", 2));
    CHECK(recalled(&f, id));
    fx_done(&f);
}

TEST(the_ladder_over_four_offences_never_repeats_the_word)
{
    struct fx f;
    fx_start(&f, "");
    /* 1: private warning */
    int64_t id = say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "send_private_msg", 1));
    CHECK(recalled(&f, id));
    CHECK_INT(calls(&f, "send_group_msg"), 0);
    /* 2: public reminder with @ */
    id = say(&f, "100", "20001", AD2);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    CHECK(recalled(&f, id));
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, AT("20001")) != NULL);
    CHECK(strstr(p, "禁止发广告") != NULL);
    CHECK(strstr(p, "#2") != NULL);
    CHECK(strstr(p, "再次违规将被禁言") != NULL);
    CHECK_INT(calls(&f, "set_group_ban"), 0);
    /* 3: mute for mute_duration (10 minutes) */
    id = say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "set_group_ban", 1));
    CHECK(recalled(&f, id));
    p = last_call(&f, "set_group_ban");
    CHECK(strstr(p, "\"user_id\":20001") != NULL && strstr(p, "\"duration\":600") != NULL);
    CHECK(wait_calls(&f, "send_group_msg", 2));
    CHECK(strstr(last_call(&f, "send_group_msg"), "禁言 10 分钟") != NULL);
    CHECK_INT(calls(&f, "set_group_kick"), 0);
    /* 4: kick, once the mute is over */
    advance(&f, 11 * MIN);
    id = say(&f, "100", "20001", AD2);
    CHECK(id > 0);
    CHECK(wait_calls(&f, "set_group_kick", 1));
    CHECK(recalled(&f, id));
    p = last_call(&f, "set_group_kick");
    CHECK(strstr(p, "\"user_id\":20001") != NULL);
    CHECK(strstr(p, "\"reject_add_request\":false") != NULL);
    CHECK(wait_calls(&f, "send_group_msg", 3));
    CHECK(strstr(last_call(&f, "send_group_msg"), "移出本群") != NULL);
    /* the offending words never appear in anything the bot sent */
    CHECK(!bot_said(&f, "刷单"));
    CHECK(!bot_said(&f, "兼职"));
    CHECK(!bot_said(&f, "日结"));
    CHECK_INT(audits(&f, "guard.strike", "\"step\":\"kick\",\"case\":4"), 1);
    fx_done(&f);
}

TEST(strikes_survive_a_restart_and_decay)
{
    struct fx f;
    fx_start(&f, "\"strike_decay\": \"30d\"");
    say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "send_private_msg", 1));
    fx_restart(&f);
    int64_t id = say(&f, "100", "20001", AD2);
    CHECK(wait_calls(&f, "send_group_msg", 1)); /* the second strike: public */
    CHECK(recalled(&f, id));
    CHECK(strstr(last_call(&f, "send_group_msg"), "#2") != NULL);
    /* a month later both strikes have decayed: a private warning again, case #3 */
    advance(&f, 31 * DAY);
    size_t groups = calls(&f, "send_group_msg"), priv = calls(&f, "send_private_msg");
    id = say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "send_private_msg", priv + 1));
    CHECK(recalled(&f, id));
    CHECK(strstr(last_call(&f, "send_private_msg"), "#3") != NULL);
    CHECK_INT(calls(&f, "send_group_msg"), groups);
    CHECK_INT(calls(&f, "set_group_ban"), 0);
    fx_done(&f);
}

TEST(an_appeal_and_a_pardon_unmute_and_lower_the_next_step)
{
    struct fx f;
    fx_start(&f, "\"ladder\": [\"warn_private\", \"mute\", \"kick\"], \"warning_ttl\": \"0s\"");
    say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "send_private_msg", 1));
    say(&f, "100", "20001", AD2);
    CHECK(wait_calls(&f, "set_group_ban", 1));
    /* someone else cannot appeal Alice's case; Alice can, once */
    say_private(&f, "20003", "申诉 2 不是她的错");
    CHECK(strstr(last_call(&f, "send_private_msg"), "没有找到你的案件 #2") != NULL);
    size_t groups = calls(&f, "send_group_msg");
    say_private(&f, "20001", "申诉 2 我发的是正常内容");
    CHECK(strstr(last_call(&f, "send_private_msg"), "已收到你对案件 #2 的申诉") != NULL);
    CHECK(wait_calls(&f, "send_group_msg", groups + 1)); /* the admins hear of it */
    CHECK(strstr(last_call(&f, "send_group_msg"), "撤销 2") != NULL);
    say_private(&f, "20001", "申诉 2 再说一次");
    CHECK(strstr(last_call(&f, "send_private_msg"), "正在处理中") != NULL);
    say_private(&f, "20001", "申诉");
    CHECK(strstr(last_call(&f, "send_private_msg"), "用法：申诉") != NULL);
    /* members cannot list or pardon */
    say(&f, "100", "20003", "撤销 2");
    CHECK(strstr(last_call(&f, "send_group_msg"), "只有群管理员") != NULL);
    say(&f, "100", "20002", "申诉列表");
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, "#2") != NULL && strstr(p, "20001") != NULL);
    CHECK(strstr(p, "我发的是正常内容") != NULL);
    /* the admin pardons: unmute, the member is told */
    size_t priv = calls(&f, "send_private_msg");
    say(&f, "100", "20002", "撤销 2");
    CHECK(wait_calls(&f, "set_group_ban", 2));
    CHECK(strstr(last_call(&f, "set_group_ban"), "\"duration\":0") != NULL);
    CHECK(wait_calls(&f, "send_private_msg", priv + 1));
    p = last_call(&f, "send_private_msg");
    CHECK(strstr(p, "\"user_id\":20001") != NULL && strstr(p, "#2 已撤销") != NULL);
    CHECK(strstr(last_call(&f, "send_group_msg"), "已撤销案件 #2") != NULL);
    say(&f, "100", "20002", "申诉列表");
    CHECK(strstr(last_call(&f, "send_group_msg"), "没有待处理的申诉") != NULL);
    say(&f, "100", "20002", "撤销 abc");
    CHECK(strstr(last_call(&f, "send_group_msg"), "用法：撤销") != NULL);
    /* the next offence is the second active strike again: mute, not kick */
    h_run_for(f.loop, 0.3);
    int64_t id = say(&f, "100", "20001", AD);
    CHECK(id > 0);
    CHECK(wait_calls(&f, "set_group_ban", 3));
    CHECK(strstr(last_call(&f, "set_group_ban"), "\"duration\":600") != NULL);
    CHECK_INT(calls(&f, "set_group_kick"), 0);
    /* the statistics show the overturn: 3 enforced, 1 pardoned */
    say(&f, "100", "20002", "规则统计");
    p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, "ad.words v2：执行 3，影子 0，撤销 1，撤销率 33%") != NULL);
    CHECK_INT(audits(&f, "guard.pardon", "\"case\":2"), 1);
    fx_done(&f);
}

TEST(uphold_closes_the_appeal_and_tells_the_member)
{
    struct fx f;
    fx_start(&f, "");
    say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "send_private_msg", 1));
    say(&f, "100", "20001", "申诉 #1 误会");
    CHECK(strstr(last_call(&f, "send_group_msg"), "已收到你对案件 #1 的申诉") != NULL);
    say(&f, "200", "20002", "维持 1"); /* another group's admin: not their case */
    CHECK(strstr(last_call(&f, "send_group_msg"), "没有找到本群的案件 #1") != NULL);
    size_t priv = calls(&f, "send_private_msg");
    say(&f, "100", "20002", "维持 1 确实是广告");
    CHECK(wait_calls(&f, "send_private_msg", priv + 1));
    CHECK(strstr(last_call(&f, "send_private_msg"), "维持原处理") != NULL);
    say(&f, "100", "20002", "维持 1");
    CHECK(strstr(last_call(&f, "send_group_msg"), "没有待处理的申诉") != NULL);
    say(&f, "100", "20001", "申诉 1 再看看");
    CHECK(strstr(last_call(&f, "send_group_msg"), "已经申诉过") != NULL);
    /* a superuser can list every group's statistics in private chat */
    say_private(&f, "99999", "规则统计");
    CHECK(strstr(last_call(&f, "send_private_msg"), "所有群") != NULL);
    fx_done(&f);
}

TEST(shadow_rules_and_dry_runs_only_audit)
{
    struct fx f;
    fx_start(&f, "\"rules_shadow\": [\"ad.*\"]");
    say(&f, "100", "20001", AD);
    h_run_for(f.loop, 0.5);
    CHECK_INT(calls(&f, "delete_msg"), 0);
    CHECK_INT(calls(&f, "send_private_msg"), 0);
    CHECK_INT(calls(&f, "send_group_msg"), 0);
    CHECK_INT(later_seen(&f), 1); /* not handled */
    CHECK_INT(audits(&f, "guard.shadow", "\"action\":\"would strike\",\"step\":\"warn_private\""),
              1);
    /* after a restart the message comes back in the history back-fill: judged once only */
    fx_restart(&f);
    h_run_for(f.loop, 0.8);
    CHECK_INT(later_seen(&f), 1);                   /* it was delivered again ... */
    CHECK_INT(audits(&f, "guard.shadow", NULL), 1); /* ... but not judged again */
    fx_done(&f);

    fx_start(&f, "\"dry_run\": true");
    say(&f, "100", "20001", AD);
    say(&f, "100", "20001", AD2);
    h_run_for(f.loop, 0.5);
    CHECK_INT(calls(&f, "delete_msg"), 0);
    CHECK_INT(calls(&f, "send_private_msg"), 0);
    CHECK_INT(audits(&f, "guard.shadow", "\"mode\":\"shadow\""), 2);
    CHECK_INT(audits(&f, "guard.strike", NULL), 0);
    say(&f, "100", "20002", "规则统计");
    CHECK(strstr(last_call(&f, "send_group_msg"), "执行 0，影子 2") != NULL);
    fx_done(&f);
}

TEST(admins_and_trusted_members_are_exempt)
{
    struct fx f;
    fx_start(&f, "\"trusted\": [\"20003\"]");
    say(&f, "100", "20002", AD);
    say(&f, "100", "20003", AD);
    h_run_for(f.loop, 0.5);
    CHECK_INT(calls(&f, "delete_msg"), 0);
    CHECK_INT(later_seen(&f), 2);
    int64_t id = say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, id));
    fx_done(&f);

    fx_start(&f, "\"exempt_admins\": false");
    id = say(&f, "100", "20002", AD);
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, id));
    fx_done(&f);
}

TEST(the_groups_own_words_are_enforced_like_the_packs)
{
    struct fx f;
    fx_start(&f, "\"words\": [\"代购\", \"!!!\"]");
    int64_t id = say(&f, "100", "20001", "有人要代 购吗？私我");
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, id));
    CHECK_INT(audits(&f, "guard.strike", "\"rule_id\":\"group.words\""), 1);
    CHECK(!bot_said(&f, "代购"));
    say(&f, "200", "20003", "有人要代购吗"); /* another group's list does not have it */
    h_run_for(f.loop, 0.3);
    CHECK_INT(calls(&f, "delete_msg"), 1);
    fx_done(&f);
}

TEST(newcomers_may_not_post_links_for_a_day)
{
    struct fx f;
    fx_start(&f, "");
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    h_run_for(f.loop, 0.3);
    advance(&f, HOUR);
    int64_t id = say(&f, "100", "30001", "看看这个 https://example.com/a");
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, id));
    h_run_for(f.loop, 0.3);
    CHECK_INT(calls(&f, "send_private_msg"), 0); /* recall only: no strike, no case */
    CHECK_INT(audits(&f, "guard.recall", "\"rule_id\":\"link.newcomer\""), 1);
    say(&f, "100", "20001", "看看这个 https://example.com/a"); /* an old member */
    h_run_for(f.loop, 0.3);
    CHECK_INT(calls(&f, "delete_msg"), 1);
    advance(&f, 24 * HOUR);
    say(&f, "100", "30001", "看看这个 https://example.com/b");
    h_run_for(f.loop, 0.3);
    CHECK_INT(calls(&f, "delete_msg"), 1);
    fx_done(&f);
}

/* A member posts a picture served by the simulator (it stands in for QQ's image CDN). */
static int64_t show(struct fx *f, const char *group, const char *user, const char *picture)
{
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/media/%s", qb_sim_port(f->sim), picture);
    int64_t id = qb_sim_group_image(f->sim, group, user, url, NULL);
    h_run_for(f->loop, 0.3);
    return id;
}

TEST(a_qr_code_in_a_picture_is_treated_like_a_link)
{
    struct fx f;
    fx_start(&f, "");
    int64_t photo = show(&f, "100", "20001", "photo.jpg");
    int64_t qr = show(&f, "100", "20001", "qr-wechat.png");
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, qr));
    CHECK(!recalled(&f, photo)); /* a picture without a code is left alone */
    CHECK(wait_calls(&f, "send_private_msg", 1));
    CHECK(strstr(last_call(&f, "send_private_msg"), "二维码") != NULL);
    CHECK(strstr(last_call(&f, "send_private_msg"), "wechat") == NULL); /* no evidence sent */
    CHECK_INT(audits(&f, "guard.strike", "\"rule_id\":\"qr.code\""), 1);
    CHECK_INT(audits(&f, "guard.strike", "u.wechat.com"), 1); /* evidence for admins */
    show(&f, "100", "20002", "qr-wechat.png");                /* an admin is exempt */
    h_run_for(f.loop, 2.0);
    CHECK_INT(calls(&f, "delete_msg"), 1);
    fx_done(&f);

    /* A code for an allowed site passes; in shadow mode the strike is only written down. */
    fx_start(&f, "\"allow_domains\": [\"wechat.com\"]");
    show(&f, "100", "20001", "qr-wechat.png");
    h_run_for(f.loop, 2.0);
    CHECK_INT(calls(&f, "delete_msg"), 0);
    fx_done(&f);
    fx_start(&f, "\"rules_shadow\": [\"qr.*\"]");
    show(&f, "100", "20001", "qr-wechat.png");
    for (int i = 0; i < 40 && !audits(&f, "guard.shadow", "qr.code"); i++)
        h_run_for(f.loop, 0.1);
    CHECK_INT(audits(&f, "guard.shadow", "\"rule_id\":\"qr.code\""), 1);
    CHECK_INT(calls(&f, "delete_msg"), 0);
    fx_done(&f);
}

TEST(a_kicked_member_is_refused_by_blacklisting_groups)
{
    struct fx f;
    fx_start(&f, "\"ladder\": [\"kick\"], \"block_rejoin\": true");
    say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "set_group_kick", 1));
    CHECK(strstr(last_call(&f, "set_group_kick"), "\"reject_add_request\":true") != NULL);
    h_run_for(f.loop, 0.3);
    /* group 200 has the blacklist on: the request is refused */
    qb_sim_join_request(f.sim, "200", "20001", "让我进去");
    CHECK(wait_calls(&f, "set_group_add_request", 1));
    const char *p = last_call(&f, "set_group_add_request");
    CHECK(strstr(p, "\"approve\":false") != NULL && strstr(p, "已被列入黑名单") != NULL);
    /* group 100 has it off: its admins decide */
    qb_sim_join_request(f.sim, "100", "20001", "我错了");
    h_run_for(f.loop, 0.5);
    CHECK_INT(calls(&f, "set_group_add_request"), 1);
    /* joining group 200 anyway: removed */
    qb_sim_member_join(f.sim, "200", "20001", "invite", "20003");
    CHECK(wait_calls(&f, "set_group_kick", 2));
    CHECK(strstr(last_call(&f, "set_group_kick"), "\"group_id\":200") != NULL);
    /* admins manage the list by hand */
    say(&f, "200", "20002", "黑名单");
    CHECK(strstr(last_call(&f, "send_group_msg"), "QQ 20001") != NULL);
    say(&f, "200", "20002", "拉黑 40001 广告号");
    CHECK(strstr(last_call(&f, "send_group_msg"), "已把 QQ 40001 加入黑名单") != NULL);
    qb_sim_join_request(f.sim, "200", "40001", "hi");
    CHECK(wait_calls(&f, "set_group_add_request", 2));
    say(&f, "200", "20002", "解除拉黑 40001");
    CHECK(strstr(last_call(&f, "send_group_msg"), "已把 QQ 40001 移出黑名单") != NULL);
    qb_sim_join_request(f.sim, "200", "40002", "hi");
    say(&f, "200", "20002", "拉黑");
    CHECK(strstr(last_call(&f, "send_group_msg"), "用法：拉黑") != NULL);
    h_run_for(f.loop, 0.5);
    CHECK_INT(calls(&f, "set_group_add_request"), 2);
    CHECK_INT(audits(&f, "guard.blacklist.reject", "\"member\":\"20001\""), 1);
    fx_done(&f);
}

TEST(public_warnings_are_recalled_after_warning_ttl)
{
    struct fx f;
    fx_start(&f, "\"ladder\": [\"warn_public\"], \"warning_ttl\": \"2m\"");
    int64_t id = say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, id));
    advance(&f, MIN);
    CHECK_INT(calls(&f, "delete_msg"), 1); /* not yet */
    advance(&f, MIN + 5 * SEC);
    CHECK(wait_calls(&f, "delete_msg", 2));
    CHECK(strstr(last_call(&f, "delete_msg"), "\"message_id\":") != NULL);
    /* the second recall is not the member's message again */
    char needle[48];
    snprintf(needle, sizeof needle, "\"message_id\":%lld", (long long)id);
    CHECK(strstr(last_call(&f, "delete_msg"), needle) == NULL);
    fx_done(&f);
}

TEST(reposts_get_a_gentle_note_even_after_a_restart)
{
    struct fx f;
    fx_start(&f, "");
    say(&f, "100", "20001", LONG_TEXT);
    h_run_for(f.loop, 0.3);
    CHECK_INT(calls(&f, "send_group_msg"), 0);
    f.no_backfill = true; /* the new bot must learn the text from the guard's table */
    fx_restart(&f);
    advance(&f, 2 * DAY);
    int64_t id = say(&f, "200", "20003", LONG_TEXT);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, "转发内容请说说你的看法") != NULL);
    CHECK(strstr(p, "\"group_id\":200") != NULL);
    char reply[64];
    snprintf(reply, sizeof reply, "\"type\":\"reply\",\"data\":{\"id\":\"%lld\"}", (long long)id);
    CHECK(strstr(p, reply) != NULL);
    CHECK_INT(calls(&f, "delete_msg"), 0); /* a note: no recall, no strike */
    CHECK_INT(calls(&f, "send_private_msg"), 0);
    CHECK_INT(later_seen(&f), 1);
    CHECK_INT(fingerprints(&f), 2);
    /* fingerprints older than the repost window are pruned once a day */
    advance(&f, 8 * DAY);
    CHECK_INT(fingerprints(&f), 0);
    fx_done(&f);
}

TEST(the_check_hook_rejects_bad_packs_and_unknown_steps)
{
    struct fx f;
    fx_start(&f, "");
    write_rules(&f, "main.json",
                "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"guard\": "
                "{\"enabled\": true, \"packs\": [\"/nonexistent/pack.json\"]}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("the rule packs do not load"));
    CHECK(h_logged("main.json:1:"));
    write_group_rules(&f, "\"ladder\": [\"warn_private\", \"ban\"]");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("ladder step \"ban\" is unknown"));
    write_group_rules(&f, "\"ladder\": [\"log\"]");
    CHECK_INT(qb_bot_reload_rules(f.bot), QB_OK);
    /* the log step: recalled and counted, nobody is told */
    int64_t id = say(&f, "100", "20001", AD);
    CHECK(wait_calls(&f, "delete_msg", 1));
    CHECK(recalled(&f, id));
    h_run_for(f.loop, 0.3);
    CHECK_INT(calls(&f, "send_private_msg"), 0);
    CHECK_INT(calls(&f, "send_group_msg"), 0);
    CHECK_INT(audits(&f, "guard.strike", "\"step\":\"log\""), 1);
    fx_done(&f);
}

int main(void)
{
    RUN(a_keyword_ad_is_recalled_before_later_plugins_see_it);
    RUN(the_ladder_over_four_offences_never_repeats_the_word);
    RUN(strikes_survive_a_restart_and_decay);
    RUN(an_appeal_and_a_pardon_unmute_and_lower_the_next_step);
    RUN(uphold_closes_the_appeal_and_tells_the_member);
    RUN(shadow_rules_and_dry_runs_only_audit);
    RUN(admins_and_trusted_members_are_exempt);
    RUN(the_groups_own_words_are_enforced_like_the_packs);
    RUN(newcomers_may_not_post_links_for_a_day);
    RUN(a_qr_code_in_a_picture_is_treated_like_a_link);
    RUN(a_kicked_member_is_refused_by_blacklisting_groups);
    RUN(public_warnings_are_recalled_after_warning_ttl);
    RUN(reposts_get_a_gentle_note_even_after_a_restart);
    RUN(the_check_hook_rejects_bad_packs_and_unknown_steps);
    return test_done();
}
