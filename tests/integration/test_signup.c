/*
 * test_signup.c — the sign-up list plugin (接龙/报名) end to end through qunbot-sim with a
 * fake clock: cap and waiting list with automatic promotion (@-mentioned), duplicate +1
 * (same message twice, also after a restart, and a second +1) counted once, changes within
 * repost_window merged into one repost, closing refuses later joins, the CSV export
 * (quoting, neutralised formulas), a restart keeps the list, two open lists need the name,
 * who may open, bad input, and the check hook.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

#include "../../plugins/signup/signup.h" /* the settings struct and CSV field, for unit checks */

extern const struct qb_plugin qb_plugin_signup;
static const struct qb_plugin *const test_plugins[] = {&qb_plugin_signup, NULL};

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
/* Monday 2026-11-23 08:00 in Asia/Shanghai (00:00 UTC). */
#define MON_8H 1795392000000LL

#define AT(id)  "{\"type\":\"at\",\"data\":{\"qq\":\"" id "\"}}"
#define EVIL    "=HYPERLINK(\"http://x.example\",\"点我\")"
#define COMMAED "Smith, John"

/* ---- fixture ---- */

/* Start with group 100 (Asia/Shanghai) under `settings` (the plugin's JSON object body, may
 * be ""). Members: Alice 20001, Bob 20002 (admin), Carol 20003, Dave 20004, and two with
 * awkward names: 20005 (a spreadsheet formula) and 20006 (a comma). */
static void fx_start(struct h_fx *f, const char *settings)
{
    h_fx_init(f, MON_8H, test_plugins, NULL);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
             " \"plugins\": {\"signup\": {\"enabled\": true%s%s}}}",
             settings[0] ? ", " : "", settings);
    h_fx_rules(f, "main.json", json);
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    qb_sim_add_member(f->sim, "100", "20003", "Carol", "member");
    qb_sim_add_member(f->sim, "100", "20004", "Dave", "member");
    qb_sim_add_member(f->sim, "100", "20005", EVIL, "member");
    qb_sim_add_member(f->sim, "100", "20006", COMMAED, "member");
    h_fx_boot(f, "");
}

/* Members currently on the open or latest list called name. */
static long long members_of(struct h_fx *f, const char *name)
{
    return h_fx_number(f,
                       "SELECT COUNT(*) FROM signup_entries WHERE left_at IS NULL AND list_id ="
                       " (SELECT MAX(id) FROM signup_lists WHERE group_id = '100' AND name = ?1)",
                       name);
}

static long long lists_named(struct h_fx *f, const char *name)
{
    return h_fx_number(f, "SELECT COUNT(*) FROM signup_lists WHERE name = ?1", name);
}

struct count_want {
    struct h_fx *f;
    const char *name;
    long long n;
};

static bool members_reach(void *ud)
{
    struct count_want *w = ud;
    return members_of(w->f, w->name) == w->n;
}

/* Wait until the list has n members (for changes whose repost waits for the window). */
static bool wait_members(struct h_fx *f, const char *name, long long n)
{
    struct count_want w = {f, name, n};
    return h_run_until(f->loop, members_reach, &w, 5);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- tests ---- */

TEST(cap_waiting_list_and_promotion)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    const char *p = h_fx_ask(&f, "20002", "接龙 羽毛球 2");
    CHECK(strstr(p, "接龙「羽毛球」开始啦（限 2 人，满了进候补）") != NULL);
    p = h_fx_ask(&f, "20001", "+1");
    CHECK(strstr(p, "羽毛球（1/2）：1. Alice") != NULL);
    p = h_fx_ask(&f, "20003", "报名");
    CHECK(strstr(p, "羽毛球（2/2）：1. Alice 2. Carol") != NULL);
    p = h_fx_ask(&f, "20004", "+1");
    CHECK(strstr(p, "羽毛球（2/2）：1. Alice 2. Carol\\n候补：1. Dave") != NULL);
    /* a second +1 from someone on the waiting list tells where they are */
    p = h_fx_ask(&f, "20004", "报名");
    CHECK(strstr(p, "候补第 1 位") != NULL);
    CHECK_INT(members_of(&f, "羽毛球"), 3);
    /* Alice leaves: Dave moves up and is mentioned */
    p = h_fx_ask(&f, "20001", "取消");
    CHECK(strstr(p, AT("20004")) != NULL);
    CHECK(strstr(p, "你已从候补转为「羽毛球」的正式报名") != NULL);
    CHECK(strstr(p, "羽毛球（2/2）：1. Carol 2. Dave") != NULL);
    CHECK_INT(count_of(p, "候补"), 1); /* only in the promotion line: nobody waits */
    CHECK_INT(members_of(&f, "羽毛球"), 2);
    /* someone in the waiting list leaving promotes nobody; a non-member is told */
    p = h_fx_ask(&f, "20001", "取消报名");
    CHECK(strstr(p, "你还没有报名进行中的接龙") != NULL);
    h_fx_done(&f);
}

TEST(duplicate_plus_one_counts_once)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    h_fx_ask(&f, "20002", "接龙 羽毛球 5");
    h_fx_say_raw(&f, "20001", "Alice", 700001, "+1");
    h_fx_say_raw(&f, "20001", "Alice", 700001, "+1");
    CHECK(h_fx_wait_sends(&f, 2));
    h_run_for(f.loop, 0.5);
    CHECK_INT(h_fx_sends(&f), 2); /* one repost, no "already" reply for the duplicate */
    CHECK_INT(members_of(&f, "羽毛球"), 1);
    /* the core's duplicate cache is gone after a restart: the plugin still knows */
    h_fx_restart(&f);
    size_t before = h_fx_sends(&f);
    h_fx_say_raw(&f, "20001", "Alice", 700001, "+1");
    h_run_for(f.loop, 0.5);
    CHECK_INT(h_fx_sends(&f), before);
    /* a second, new +1 is answered with the place on the list */
    const char *p = h_fx_ask(&f, "20001", "+1");
    CHECK(strstr(p, "你已经报名「羽毛球」了（第 1 位）") != NULL);
    CHECK_INT(members_of(&f, "羽毛球"), 1);
    CHECK_INT(h_fx_number(&f, "SELECT COUNT(*) FROM signup_entries WHERE user_id = ?1", "20001"),
              1);
    h_fx_done(&f);
}

TEST(changes_within_the_window_make_one_repost)
{
    struct h_fx f;
    fx_start(&f, ""); /* repost_window 10s by default */
    h_fx_ask(&f, "20002", "接龙 聚餐");
    size_t before = h_fx_sends(&f);
    qb_sim_group_msg(f.sim, "100", "20001", "+1");
    qb_sim_group_msg(f.sim, "100", "20003", "+1");
    qb_sim_group_msg(f.sim, "100", "20004", "报名 聚餐 带一位朋友");
    CHECK(wait_members(&f, "聚餐", 3));
    qb_clock_advance(5 * SEC);
    qb_sim_group_msg(f.sim, "100", "20003", "取消");
    CHECK(wait_members(&f, "聚餐", 2));
    h_run_for(f.loop, 0.5);
    CHECK_INT(h_fx_sends(&f), before); /* still inside the window */
    qb_clock_advance(5 * SEC);
    CHECK(h_fx_wait_sends(&f, before + 1));
    const char *p = h_fx_last_send(&f);
    CHECK(strstr(p, "聚餐（2 人）：1. Alice 2. Dave（带一位朋友）") != NULL);
    CHECK(strstr(p, "Carol") == NULL);
    h_run_for(f.loop, 0.5);
    CHECK_INT(h_fx_sends(&f), before + 1);
    /* a later change gets its own repost after the window */
    qb_clock_advance(MIN);
    qb_sim_group_msg(f.sim, "100", "20003", "+1");
    CHECK(wait_members(&f, "聚餐", 3));
    qb_clock_advance(10 * SEC);
    CHECK(h_fx_wait_sends(&f, before + 2));
    CHECK(strstr(h_fx_last_send(&f), "聚餐（3 人）：1. Alice 2. Dave（带一位朋友） 3. Carol") !=
          NULL);
    h_fx_done(&f);
}

TEST(closing_refuses_later_joins)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    h_fx_ask(&f, "20002", "接龙 羽毛球 8");
    h_fx_ask(&f, "20001", "+1");
    /* a member may not close it; the bare word from a member is just chat */
    CHECK(strstr(h_fx_ask(&f, "20003", "/signup close 羽毛球"), "只有群管理员") != NULL);
    h_fx_silent(&f, "20003", "截止 羽毛球");
    const char *p = h_fx_ask(&f, "20002", "截止 羽毛球");
    CHECK(strstr(p, "接龙「羽毛球」已截止，最终名单") != NULL);
    CHECK(strstr(p, "羽毛球（1/8）【已截止】：1. Alice") != NULL);
    p = h_fx_ask(&f, "20003", "报名 羽毛球");
    CHECK(strstr(p, "接龙「羽毛球」已经截止了，不能再报名") != NULL);
    p = h_fx_ask(&f, "20004", "+1");
    CHECK(strstr(p, "已经截止了") != NULL);
    p = h_fx_ask(&f, "20001", "取消 羽毛球");
    CHECK(strstr(p, "名单不再变动") != NULL);
    CHECK_INT(members_of(&f, "羽毛球"), 1);
    CHECK(strstr(h_fx_ask(&f, "20001", "接龙列表"), "现在没有进行中的接龙") != NULL);
    /* the same name can be opened again as a new list */
    CHECK(strstr(h_fx_ask(&f, "20002", "接龙 羽毛球 8"), "开始啦") != NULL);
    CHECK_INT(lists_named(&f, "羽毛球"), 2);
    CHECK_INT(members_of(&f, "羽毛球"), 0);
    h_fx_done(&f);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

TEST(export_writes_a_safe_csv)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    h_fx_ask(&f, "20002", "接龙 羽毛球 2");
    h_fx_ask(&f, "20005", "+1");
    h_fx_ask(&f, "20006", "报名 羽毛球 +2 带朋友");
    h_fx_ask(&f, "20001", "+1");
    h_fx_silent(&f, "20001", "导出 羽毛球"); /* a member saying the word is not answered */
    const char *p = h_fx_ask(&f, "20002", "导出 羽毛球");
    CHECK(strstr(p, "已导出「羽毛球」的名单（3 人）：signup-1.csv") != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/exports/signup/signup-1.csv", f.dir);
    const char *csv = slurp(path);
    CHECK(csv != NULL);
    if (csv) {
        CHECK(!strncmp(csv, "\xEF\xBB\xBF序号,状态,QQ号,昵称,备注,报名时间\r\n", 40));
        CHECK(strstr(csv, "\r\n1,正式,20005,\"'=HYPERLINK(\"\"http://x.example\"\",\"\"点我\"\")\","
                          ",2026-11-23 08:00:00\r\n") != NULL);
        CHECK(strstr(csv, "\r\n2,正式,20006,\"Smith, John\",'+2 带朋友,2026-11-23 08:00:00\r\n") !=
              NULL);
        CHECK(strstr(csv, "\r\n3,候补,20001,Alice,,2026-11-23 08:00:00\r\n") != NULL);
        CHECK_INT(count_of(csv, "\r\n"), 4);
    }
    /* unknown list: one line */
    CHECK(strstr(h_fx_ask(&f, "20002", "导出 篮球"), "没有叫「篮球」的接龙") != NULL);
    h_fx_done(&f);
}

TEST(csv_fields_are_quoted_and_neutralised)
{
    char out[128];
    CHECK_INT(signup_csv_field("Alice", out, sizeof out), QB_OK);
    CHECK_STR(out, "Alice");
    signup_csv_field("a,b", out, sizeof out);
    CHECK_STR(out, "\"a,b\"");
    signup_csv_field("say \"hi\"", out, sizeof out);
    CHECK_STR(out, "\"say \"\"hi\"\"\"");
    signup_csv_field("=1+2", out, sizeof out);
    CHECK_STR(out, "'=1+2");
    signup_csv_field("-3", out, sizeof out);
    CHECK_STR(out, "'-3");
    signup_csv_field("@SUM(A1)", out, sizeof out);
    CHECK_STR(out, "'@SUM(A1)");
    signup_csv_field("line\nbreak", out, sizeof out);
    CHECK_STR(out, "\"line\nbreak\"");
    signup_csv_field("", out, sizeof out);
    CHECK_STR(out, "");
    CHECK_INT(signup_csv_field("0123456789", out, 5), QB_ETOOBIG);
}

TEST(a_restart_keeps_the_list)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    h_fx_ask(&f, "20002", "接龙 羽毛球 2");
    h_fx_ask(&f, "20001", "+1");
    h_fx_ask(&f, "20003", "+1");
    h_fx_restart(&f);
    const char *p = h_fx_ask(&f, "20004", "+1");
    CHECK(strstr(p, "羽毛球（2/2）：1. Alice 2. Carol\\n候补：1. Dave") != NULL);
    p = h_fx_ask(&f, "20004", "接龙列表");
    CHECK(strstr(p, "1. 羽毛球（2/2，有候补）") != NULL);
    p = h_fx_ask(&f, "20003", "取消");
    CHECK(strstr(p, AT("20004")) != NULL);
    CHECK(strstr(p, "羽毛球（2/2）：1. Alice 2. Dave") != NULL);
    h_fx_done(&f);
}

TEST(two_open_lists_need_the_name)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    h_fx_ask(&f, "20002", "接龙 羽毛球 8");
    const char *p = h_fx_ask(&f, "20002", "/signup open 聚餐");
    CHECK(strstr(p, "发「报名 聚餐」参加") != NULL);
    p = h_fx_ask(&f, "20001", "+1");
    CHECK(strstr(p, "现在有 2 个接龙：「羽毛球」、「聚餐」，请发「报名 活动名」选一个") != NULL);
    CHECK_INT(members_of(&f, "羽毛球") + members_of(&f, "聚餐"), 0);
    p = h_fx_ask(&f, "20001", "报名 聚餐");
    CHECK(strstr(p, "聚餐（1 人）：1. Alice") != NULL);
    p = h_fx_ask(&f, "20001", "报名 篮球");
    CHECK(strstr(p, "没有叫「篮球」的接龙，正在进行的有：「羽毛球」、「聚餐」") != NULL);
    /* one name per open list */
    CHECK(strstr(h_fx_ask(&f, "20002", "接龙 聚餐"), "「聚餐」已经在接龙了") != NULL);
    CHECK_INT(lists_named(&f, "聚餐"), 1);
    /* a bare 取消 finds the only list Alice is on */
    p = h_fx_ask(&f, "20001", "取消");
    CHECK(strstr(p, "聚餐（0 人）") != NULL);
    CHECK_INT(members_of(&f, "聚餐"), 0);
    h_fx_done(&f);
}

TEST(who_may_open_a_list)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    CHECK(strstr(h_fx_ask(&f, "20001", "接龙 羽毛球 5"), "只有群管理员可以发起接龙") != NULL);
    CHECK_INT(lists_named(&f, "羽毛球"), 0);
    h_fx_silent(&f, "20001", "接龙"); /* the bare word is chat */
    h_fx_silent(&f, "20001", "+1");   /* nothing open: +1 is chat too */
    h_fx_silent(&f, "20001", "取消");
    h_fx_done(&f);
    fx_start(&f, "\"repost_window\": \"0s\", \"open_role\": \"member\"");
    CHECK(strstr(h_fx_ask(&f, "20001", "接龙 羽毛球 5"), "开始啦") != NULL);
    CHECK_INT(lists_named(&f, "羽毛球"), 1);
    h_fx_done(&f);
}

TEST(bad_input_gets_one_line)
{
    struct h_fx f;
    fx_start(&f, "\"repost_window\": \"0s\"");
    const char *bad_caps[] = {"接龙 羽毛球 0", "接龙 羽毛球 -3", "接龙 羽毛球 10001",
                              "接龙 羽毛球 很多"};
    for (size_t i = 0; i < 4; i++) {
        const char *p = h_fx_ask(&f, "20002", bad_caps[i]);
        CHECK(strstr(p, "人数上限要是 1 到 10000 之间的整数") != NULL);
        CHECK(strstr(p, "\\n") == NULL);
    }
    CHECK(strstr(h_fx_ask(&f, "20002", "接龙"), "用法：接龙 活动名 [人数上限]") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "接龙 20"), "不能全是数字") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "接龙 一二三四五六七八九十一二三四五六七八九十一"),
                 "1 到 20 个字") != NULL);
    CHECK_INT(h_fx_number(&f, "SELECT COUNT(*) FROM signup_lists WHERE ?1 = ?1", "x"), 0);
    /* 10000 is the largest cap, "8人" reads as 8 */
    CHECK(strstr(h_fx_ask(&f, "20002", "接龙 大会 10000"), "限 10000 人") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "接龙 羽毛球 8人"), "限 8 人") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20001", "报名"), "现在有 2 个接龙") != NULL);
    CHECK(strstr(h_fx_ask(&f, "20002", "/signup frobnicate"), "用法：/signup open") != NULL);
    h_fx_done(&f);
}

TEST(check_hook_rejects_an_unknown_open_role)
{
    struct signup_settings s = {.open_role = "owner", .repost_ms = 10000};
    char why[200] = "";
    CHECK_INT(qb_plugin_signup.check(&s, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "open_role \"owner\"") != NULL);
    s.open_role = "member";
    CHECK_INT(qb_plugin_signup.check(&s, why, sizeof why), QB_OK);
}

int main(void)
{
    RUN(cap_waiting_list_and_promotion);
    RUN(duplicate_plus_one_counts_once);
    RUN(changes_within_the_window_make_one_repost);
    RUN(closing_refuses_later_joins);
    RUN(export_writes_a_safe_csv);
    RUN(csv_fields_are_quoted_and_neutralised);
    RUN(a_restart_keeps_the_list);
    RUN(two_open_lists_need_the_name);
    RUN(who_may_open_a_list);
    RUN(bad_input_gets_one_line);
    RUN(check_hook_rejects_an_unknown_open_role);
    return test_done();
}
