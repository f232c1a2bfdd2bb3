/*
 * test_welcome.c — the welcome plugin end to end through qunbot-sim: one welcome per
 * wave of joins with @mentions and the rules, self-introductions acknowledged once, the
 * persisted reminder after intro_hours (fake clock), the name-card reminder, the check
 * hook on a broken regex, and join requests under open / invite-only / screen admission
 * with admin approval by command.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "sim_int.h" /* to give a simulated member a group card */
#include "test.h"

extern const struct qb_plugin qb_plugin_welcome;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_welcome, NULL};

#define T0 1795000000000LL /* fake clock start */

/* ---- fixture ---- */

/* Start with group 100 under `settings` (the welcome plugin's JSON object body), group 200
 * invite-only and group 300 screened. */
static void fx_start(struct h_fx *f, const char *settings)
{
    h_fx_init(f, T0, test_plugins, NULL);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"welcome\": "
             "{\"enabled\": true%s%s}}}",
             settings[0] ? ", " : "", settings);
    h_fx_rules(f, "main.json", json);
    h_fx_rules(f, "invite.json",
               "{\"name\": \"invite\", \"groups\": [\"200\"], \"plugins\": {\"welcome\": "
               "{\"admission\": \"invite-only\", \"reject_reason\": \"本群仅限邀请\"}}}");
    h_fx_rules(f, "screen.json",
               "{\"name\": \"screen\", \"groups\": [\"300\"], \"plugins\": {\"welcome\": "
               "{\"admission\": \"screen\", \"screen_keywords\": [\"朋友介绍\"],"
               " \"screen_pattern\": \"^学员\\\\d{4}$\"}}}");
    const char *groups[] = {"100", "200", "300"};
    for (int i = 0; i < 3; i++) {
        qb_sim_add_group(f->sim, groups[i], groups[i]);
        qb_sim_add_member(f->sim, groups[i], "20001", "Alice", "member");
        qb_sim_add_member(f->sim, groups[i], "20002", "Bob", "admin");
    }
    h_fx_boot(f, "");
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
static bool wait_calls(struct h_fx *f, const char *action, size_t n)
{
    struct want w = {f->sim, action, n};
    return h_run_until(f->loop, calls_at_least, &w, 5);
}

/* Move the fake clock and let timers (250 ms tick) and schedules (1 s) run. */
static void advance(struct h_fx *f, int64_t ms)
{
    qb_clock_advance(ms);
    h_run_for(f->loop, 1.5);
}

/* Params of the newest call of action, or "". */
static const char *last_call(struct h_fx *f, const char *action)
{
    for (size_t i = qb_sim_ncalls(f->sim); i-- > 0;) {
        const struct qb_sim_call *c = qb_sim_call_at(f->sim, i);
        if (!strcmp(c->action, action))
            return c->params;
    }
    return "";
}

/* Count the plugin's decision records of a kind whose details contain needle. */
static int audits(struct h_fx *f, const char *kind, const char *needle)
{
    qb_store_commit(f->bot->store);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(qb_store_db(f->bot->store),
                       "SELECT COUNT(*) FROM interactions WHERE direction = 'decision'"
                       " AND kind = ? AND instr(details, ?) > 0",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, needle, -1, SQLITE_STATIC);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

/* A join request arrives (and is taken in before the clock moves). */
static void request(struct h_fx *f, const char *group, const char *user, const char *comment)
{
    qb_sim_join_request(f->sim, group, user, comment);
    h_run_for(f->loop, 0.5);
}

/* A member says text; returns the number of bot messages it caused within 0.8 s. */
static size_t say(struct h_fx *f, const char *group, const char *user, const char *text)
{
    size_t before = h_fx_sends(f);
    qb_sim_group_msg(f->sim, group, user, text);
    h_run_for(f->loop, 0.8);
    return h_fx_sends(f) - before;
}

#define AT(id) "{\"type\":\"at\",\"data\":{\"qq\":\"" id "\"}}"

/* ---- welcome ---- */

TEST(a_newcomer_gets_one_welcome_with_mention_and_rules)
{
    struct h_fx f;
    fx_start(&f, "\"rules_text\": \"1. 不发广告 2. 友善交流\"");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    h_run_for(f.loop, 0.5);
    CHECK_INT(h_fx_sends(&f), 0); /* waits a moment for others joining with them */
    advance(&f, 3000);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, AT("30001")) != NULL);
    CHECK(strstr(p, "不发广告") != NULL);
    CHECK(strstr(p, "24 小时内") != NULL);
    CHECK(strstr(p, "\"group_id\":100") != NULL);
    advance(&f, 5000);
    CHECK_INT(h_fx_sends(&f), 1);
    h_fx_done(&f);
}

TEST(joins_in_quick_succession_share_one_welcome)
{
    struct h_fx f;
    fx_start(&f, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    qb_clock_advance(1000);
    h_run_for(f.loop, 0.3);
    qb_sim_member_join(f.sim, "100", "30002", "invite", "20001");
    h_run_for(f.loop, 0.3);
    CHECK_INT(h_fx_sends(&f), 0);
    advance(&f, 3000);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, AT("30001")) != NULL);
    CHECK(strstr(p, AT("30002")) != NULL);
    CHECK(strstr(p, "\\n\\n") == NULL); /* no rules set: no empty rules line */
    advance(&f, 5000);
    CHECK_INT(h_fx_sends(&f), 1);
    h_fx_done(&f);
}

/* ---- self-introductions ---- */

TEST(an_intro_is_recognised_and_acknowledged_once)
{
    struct h_fx f;
    fx_start(&f, "\"merge_window\": \"0s\"");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    qb_sim_member_join(f.sim, "100", "30002", "approve", "20002");
    advance(&f, 500);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    CHECK_INT(say(&f, "100", "30001", "大家好"), 0); /* short chat is not an intro */
    CHECK_INT(say(&f, "100", "30001", "【自我介绍】我是小明，在深圳做设计"), 1);
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, AT("30001")) != NULL);
    CHECK(strstr(p, "自我介绍") != NULL);
    CHECK_INT(say(&f, "100", "30001", "自我介绍补充一下：我喜欢跑步"), 0); /* once */
    /* a newcomer's long first message counts too (intro_min_chars 30) */
    CHECK_INT(say(&f, "100", "30002",
                  "大家好，我叫王芳，来自杭州，做跨境电商五年了，主要做欧美市场，"
                  "很高兴认识大家，希望多交流！"),
              1);
    CHECK(strstr(last_call(&f, "send_group_msg"), AT("30002")) != NULL);
    /* an old member's long message is just chat */
    CHECK_INT(say(&f, "100", "20001",
                  "今天讨论的话题很有意思，我觉得跨境电商的关键在于供应链和品牌建设，"
                  "大家怎么看呢？"),
              0);
    h_fx_done(&f);
}

TEST(one_reminder_after_intro_hours_and_none_after_an_intro)
{
    struct h_fx f;
    fx_start(&f, "\"intro_hours\": 2, \"merge_window\": \"0s\"");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    qb_sim_member_join(f.sim, "100", "30002", "approve", "20002");
    advance(&f, 500);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    CHECK_INT(say(&f, "100", "30002", "自我介绍：我是小红"), 1);
    /* the admin's list names only the one still missing */
    CHECK_INT(say(&f, "100", "20002", "未介绍"), 1);
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, "30001") != NULL);
    CHECK(strstr(p, "30002") == NULL);
    CHECK_INT(say(&f, "100", "20001", "/intro pending"), 1);
    CHECK(strstr(last_call(&f, "send_group_msg"), "只有群管理员") != NULL);
    size_t before = h_fx_sends(&f);
    advance(&f, 3600 * 1000);
    CHECK_INT(h_fx_sends(&f), before); /* not yet */
    advance(&f, 3600 * 1000 + 1000);
    CHECK(wait_calls(&f, "send_group_msg", before + 1));
    p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, AT("30001")) != NULL);
    CHECK(strstr(p, "2 小时") != NULL);
    advance(&f, 24 * 3600 * 1000LL);
    CHECK_INT(h_fx_sends(&f), before + 1); /* once, and never for 30002 */
    CHECK(strstr(last_call(&f, "send_group_msg"), AT("30002")) == NULL);
    h_fx_done(&f);
}

TEST(no_reminder_for_a_member_who_left)
{
    struct h_fx f;
    fx_start(&f, "\"intro_hours\": 1, \"merge_window\": \"0s\"");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    advance(&f, 500);
    CHECK(wait_calls(&f, "send_group_msg", 1));
    qb_sim_member_leave(f.sim, "100", "30001", "leave", NULL);
    h_run_for(f.loop, 0.3);
    advance(&f, 2 * 3600 * 1000);
    CHECK_INT(h_fx_sends(&f), 1);
    h_fx_done(&f);
}

/* ---- the entry question ---- */

#define QUESTION                                                                                   \
    "\"newcomer_question\": \"本群主要聊什么？\", \"newcomer_answer\": \"读书\","        \
    " \"newcomer_minutes\": 10, \"merge_window\": \"0s\""

TEST(an_unanswered_entry_question_mutes_until_an_admin_clears)
{
    struct h_fx f;
    fx_start(&f, QUESTION);
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    qb_sim_member_join(f.sim, "100", "30002", "approve", "20002");
    advance(&f, 500);
    CHECK(wait_calls(&f, "send_group_msg", 2)); /* the welcome, then the question */
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, "本群主要聊什么") != NULL);
    CHECK(strstr(p, AT("30001")) != NULL && strstr(p, AT("30002")) != NULL);
    CHECK_INT(say(&f, "100", "30002", "是读书吧"), 1);
    CHECK(strstr(last_call(&f, "send_group_msg"), "回答正确") != NULL);
    size_t before = h_fx_sends(&f);
    advance(&f, 10 * 60 * 1000 + 1000);
    CHECK(wait_calls(&f, "set_group_ban", 1));
    p = last_call(&f, "set_group_ban");
    CHECK(strstr(p, "30001") != NULL && strstr(p, "\"duration\":2592000") != NULL);
    CHECK(wait_calls(&f, "send_group_msg", before + 1)); /* and says why */
    p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, AT("30001")) != NULL && strstr(p, "没有在 10 分钟内回答") != NULL);
    advance(&f, 60 * 60 * 1000);
    CHECK_INT(qb_sim_count(f.sim, "set_group_ban"), 1); /* 30002 answered */
    /* a member cannot clear; an admin can */
    CHECK_INT(say(&f, "100", "20001", "/clear 30001"), 1);
    CHECK_INT(qb_sim_count(f.sim, "set_group_ban"), 1);
    qb_sim_group_msg(f.sim, "100", "20002", "/clear 30001");
    CHECK(wait_calls(&f, "set_group_ban", 2));
    CHECK(strstr(last_call(&f, "set_group_ban"), "\"duration\":0") != NULL);
    CHECK(wait_calls(&f, "send_group_msg", before + 3));
    CHECK(strstr(last_call(&f, "send_group_msg"), "解除禁言") != NULL);
    h_fx_done(&f);
}

TEST(a_failed_mute_lets_the_newcomer_in_quietly)
{
    struct h_fx f;
    fx_start(&f, QUESTION);
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_fail_action(f.sim, "set_group_ban", 1200, "权限不足", -1);
    qb_sim_member_join(f.sim, "100", "30001", "approve", "20002");
    advance(&f, 500);
    CHECK(wait_calls(&f, "send_group_msg", 2));
    advance(&f, 10 * 60 * 1000 + 1000);
    CHECK(wait_calls(&f, "set_group_ban", 1));
    h_run_for(f.loop, 0.5);
    CHECK_INT(h_fx_sends(&f), 2);
    CHECK_INT(audits(&f, "welcome.check.mute_failed", "30001"), 1);
    CHECK(h_logged("could not mute newcomer 30001"));
    h_fx_done(&f);
}

/* ---- group cards ---- */

static void set_card(struct h_fx *f, const char *group, const char *user, const char *card)
{
    struct sim_member *m = sim__member(sim__group(f->sim, group), user);
    free(m->card);
    m->card = strdup(card);
}

TEST(a_non_matching_card_is_reminded_once)
{
    struct h_fx f;
    fx_start(&f, "\"card_pattern\": \"^[^-]+-[^-]+-[^-]+$\", \"card_hint\": \"城市-姓名-行业\"");
    qb_sim_add_member(f.sim, "100", "20003", "Carol", "member");
    set_card(&f, "100", "20003", "上海-Carol-设计");
    qb_sim_add_member(f.sim, "100", "20004", "北京-老王-餐饮", "member"); /* no card */
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    CHECK_INT(say(&f, "100", "20001", "早上好"), 1); /* no card at all */
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, AT("20001")) != NULL);
    CHECK(strstr(p, "城市-姓名-行业") != NULL);
    CHECK_INT(say(&f, "100", "20001", "今天天气不错"), 0); /* once */
    CHECK_INT(say(&f, "100", "20003", "早"), 0);           /* matching card */
    CHECK_INT(say(&f, "100", "20003", "早"), 0);
    /* the nickname looks right but there is no card: the real card is checked */
    CHECK_INT(say(&f, "100", "20004", "大家好"), 1);
    CHECK(strstr(last_call(&f, "send_group_msg"), AT("20004")) != NULL);
    CHECK(qb_sim_count(f.sim, "get_group_member_info") >= 2);
    h_fx_done(&f);
}

TEST(the_check_hook_rejects_a_broken_regex)
{
    struct h_fx f;
    fx_start(&f, "");
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"welcome\": "
               "{\"card_pattern\": \"^(城市-\"}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("card_pattern \"^(城市-\" is not a valid regular expression: missing closing "
                   "parenthesis at offset"));
    CHECK(h_logged("main.json:1:"));
    h_fx_rules(&f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"plugins\": {\"welcome\": "
               "{\"admission\": \"closed\"}}}");
    CHECK(qb_bot_reload_rules(f.bot) != QB_OK);
    CHECK(h_logged("admission \"closed\" is not one of"));
    h_fx_done(&f);
}

/* ---- join requests ---- */

static bool approved_request(struct h_fx *f, const char *group, bool approve)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"flag\":\"%s|", group);
    const char *p = last_call(f, "set_group_add_request");
    return strstr(p, needle) && strstr(p, approve ? "\"approve\":true" : "\"approve\":false");
}

TEST(open_admission_approves_after_a_moment_and_once)
{
    struct h_fx f;
    fx_start(&f, "\"admission\": \"open\"");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    request(&f, "100", "40001", "你好");
    CHECK_INT(qb_sim_count(f.sim, "set_group_add_request"), 0); /* not instantly */
    advance(&f, 1200);
    CHECK(wait_calls(&f, "set_group_add_request", 1));
    CHECK(approved_request(&f, "100", true));
    /* NapCat repeats the request event: the same flag is ignored */
    const char *p = strstr(last_call(&f, "set_group_add_request"), "\"flag\":\"");
    CHECK(p != NULL);
    char flag[64] = "";
    sscanf(p + 8, "%63[^\"]", flag);
    char frame[512];
    snprintf(frame, sizeof frame,
             "{\"time\":%lld,\"self_id\":10001,\"post_type\":\"request\",\"request_type\":"
             "\"group\",\"sub_type\":\"add\",\"group_id\":100,\"user_id\":40001,\"comment\":"
             "\"你好\",\"flag\":\"%s\"}",
             (long long)(T0 / 1000), flag);
    qb_clock_advance(11 * 60 * 1000); /* past the core's own duplicate filter */
    qb_sim_send_raw(f.sim, frame, strlen(frame));
    advance(&f, 1200);
    CHECK_INT(qb_sim_count(f.sim, "set_group_add_request"), 1);
    CHECK_INT(audits(&f, "welcome.request", "admission is open"), 1);
    h_fx_done(&f);
}

TEST(invite_only_rejects_politely)
{
    struct h_fx f;
    fx_start(&f, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    qb_sim_join_request(f.sim, "200", "40002", "想加入");
    CHECK(wait_calls(&f, "set_group_add_request", 1));
    CHECK(approved_request(&f, "200", false));
    CHECK(strstr(last_call(&f, "set_group_add_request"), "本群仅限邀请") != NULL);
    /* admission off (group 100 here): requests are left to the admins */
    request(&f, "100", "40003", "想加入");
    advance(&f, 1200);
    CHECK_INT(qb_sim_count(f.sim, "set_group_add_request"), 1);
    h_fx_done(&f);
}

TEST(screening_approves_good_answers_and_queues_others_for_admins)
{
    struct h_fx f;
    fx_start(&f, "");
    CHECK(h_run_until(f.loop, h_fx_connected, &f, 5));
    request(&f, "300", "40004", "我是朋友介绍来的");
    advance(&f, 1200);
    CHECK(wait_calls(&f, "set_group_add_request", 1));
    CHECK(approved_request(&f, "300", true));
    request(&f, "300", "40006", "学员2024");
    advance(&f, 1200);
    CHECK(wait_calls(&f, "set_group_add_request", 2));
    CHECK(approved_request(&f, "300", true));
    /* a wrong answer: queued, admins told in the group */
    size_t before = h_fx_sends(&f);
    qb_sim_join_request(f.sim, "300", "40005", "随便看看");
    CHECK(wait_calls(&f, "send_group_msg", before + 1));
    const char *p = last_call(&f, "send_group_msg");
    CHECK(strstr(p, "40005") != NULL && strstr(p, "随便看看") != NULL);
    advance(&f, 1200);
    CHECK_INT(qb_sim_count(f.sim, "set_group_add_request"), 2);
    /* a member cannot decide */
    CHECK_INT(say(&f, "300", "20001", "/request approve 40005"), 1);
    CHECK(strstr(last_call(&f, "send_group_msg"), "只有群管理员") != NULL);
    CHECK_INT(say(&f, "300", "20001", "同意 40005"), 0); /* just a word in chat */
    CHECK_INT(qb_sim_count(f.sim, "set_group_add_request"), 2);
    /* the admin lists and approves */
    CHECK_INT(say(&f, "300", "20002", "/request"), 1);
    CHECK(strstr(last_call(&f, "send_group_msg"), "40005") != NULL);
    before = h_fx_sends(&f);
    qb_sim_group_msg(f.sim, "300", "20002", "同意 40005");
    CHECK(wait_calls(&f, "set_group_add_request", 3));
    CHECK(approved_request(&f, "300", true));
    CHECK(wait_calls(&f, "send_group_msg", before + 1));
    CHECK(strstr(last_call(&f, "send_group_msg"), "已同意 QQ 40005") != NULL);
    CHECK_INT(audits(&f, "welcome.request", "\"decision\":\"approve\",\"by\":\"20002\""), 1);
    /* nothing left to decide */
    CHECK_INT(say(&f, "300", "20002", "/request reject 40005 不符合"), 1);
    CHECK(strstr(last_call(&f, "send_group_msg"), "没有找到") != NULL);
    h_fx_done(&f);
}

int main(void)
{
    RUN(a_newcomer_gets_one_welcome_with_mention_and_rules);
    RUN(joins_in_quick_succession_share_one_welcome);
    RUN(an_intro_is_recognised_and_acknowledged_once);
    RUN(one_reminder_after_intro_hours_and_none_after_an_intro);
    RUN(no_reminder_for_a_member_who_left);
    RUN(an_unanswered_entry_question_mutes_until_an_admin_clears);
    RUN(a_failed_mute_lets_the_newcomer_in_quietly);
    RUN(a_non_matching_card_is_reminded_once);
    RUN(the_check_hook_rejects_a_broken_regex);
    RUN(open_admission_approves_after_a_moment_and_once);
    RUN(invite_only_rejects_politely);
    RUN(screening_approves_good_answers_and_queues_others_for_admins);
    return test_done();
}
