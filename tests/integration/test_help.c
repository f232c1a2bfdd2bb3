/*
 * test_help.c — 帮助 with every built-in plugin on, end to end through qunbot-sim: a short
 * menu (one line per plugin with its main commands; admins get one more line pointing at
 * 帮助 管理), 帮助 管理 for admins only, 帮助 <功能或命令> for the details, and members never
 * shown a command above their role.
 * link: qb_core qb_sim
 */
#include "harness.h"
#include "test.h"

/* Monday 2026-11-23 08:00 in Asia/Shanghai (00:00 UTC). */
#define MON_8H 1795392000000LL

/* Every built-in plugin on in group 100. Members: Alice 20001 (member), Bob 20002 (admin). */
static void fx_start(struct h_fx *f)
{
    h_fx_init(f, MON_8H, NULL, NULL); /* NULL: the built-in plugin list */
    h_fx_rules(f, "main.json",
               "{\"name\": \"main\", \"groups\": [\"100\"], \"timezone\": \"Asia/Shanghai\","
               " \"plugins\": {\"guard\": {\"enabled\": true}, \"help\": {\"enabled\": true},"
               " \"welcome\": {\"enabled\": true}, \"ranking\": {\"enabled\": true},"
               " \"checkin\": {\"enabled\": true}, \"signup\": {\"enabled\": true},"
               " \"schedule\": {\"enabled\": true}, \"talks\": {\"enabled\": true},"
               " \"insight\": {\"enabled\": true}}}");
    qb_sim_add_group(f->sim, "100", "100");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    h_fx_boot(f, "");
}

/* Lines of a sent message (its text is JSON-escaped in the params: "\n" is two chars). */
static int lines_of(const char *params)
{
    int n = 1;
    for (const char *p = params; (p = strstr(p, "\\n")); p += 2)
        n++;
    return n;
}

static bool has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* Words of admin commands of several plugins: none may reach a member. */
static const char *const admin_words[] = {"帮助 管理", "定时",     "加分",     "扣分",   "申诉列表",
                                          "拉黑",      "改期",     "同意",     "群报告", "截止",
                                          "导出",      "添加分享", "开始答疑", NULL};

static bool shows_admin_words(const char *p)
{
    for (const char *const *w = admin_words; *w; w++)
        if (has(p, *w)) {
            fprintf(stderr, "  admin word %s shown: %s\n", *w, p);
            return true;
        }
    return false;
}

TEST(a_member_gets_one_short_line_per_plugin_and_no_admin_commands)
{
    struct h_fx f;
    fx_start(&f);
    const char *p = h_fx_ask(&f, "20001", "帮助");
    CHECK(lines_of(p) <= 10);
    CHECK(has(p, "· 签到：签到、签到榜、我的签到\\n"));
    CHECK(has(p, "· 群分享：分享列表、提问"));
    CHECK(has(p, "· 积分排行：排行、我的积分"));
    CHECK(has(p, "帮助 签到"));
    CHECK(!has(p, "补签")); /* a fourth command: only in 帮助 签到 */
    CHECK(!shows_admin_words(p));
    h_fx_done(&f);
}

TEST(an_admin_gets_one_more_line_and_the_admin_commands_on_request)
{
    struct h_fx f;
    fx_start(&f);
    const char *p = h_fx_ask(&f, "20002", "帮助");
    CHECK(lines_of(p) <= 11);
    CHECK(has(p, "· 签到：签到、签到榜、我的签到"));
    CHECK(has(p, "「帮助 管理」查看管理命令"));
    CHECK(!has(p, "定时列表") && !has(p, "加分"));
    p = h_fx_ask(&f, "20002", "帮助 管理");
    CHECK(has(p, "· 定时发布：定时任务、定时列表"));
    CHECK(has(p, "加分") && has(p, "申诉列表") && has(p, "添加分享"));
    CHECK(!has(p, "签到榜"));               /* members' commands stay in 帮助 */
    p = h_fx_ask(&f, "20001", "帮助 管理"); /* a member asking: one line, nothing listed */
    CHECK_INT(lines_of(p), 1);
    CHECK(has(p, "只有群管理员"));
    CHECK(!has(p, "定时列表") && !has(p, "加分"));
    h_fx_done(&f);
}

TEST(details_of_a_plugin_or_a_command_by_any_of_its_names)
{
    struct h_fx f;
    fx_start(&f);
    const char *p = h_fx_ask(&f, "20001", "帮助 签到");
    CHECK(has(p, "【签到】") && has(p, "/checkin [top|me|makeup]") && has(p, "补签 — "));
    CHECK_INT(lines_of(p), 5);
    p = h_fx_ask(&f, "20001", "帮助 talks");
    CHECK(has(p, "【群分享】") && has(p, "提问 你的问题"));
    CHECK(!shows_admin_words(p) && !has(p, "/talk add"));
    p = h_fx_ask(&f, "20002", "帮助 分享"); /* an admin sees the admin commands too */
    CHECK(has(p, "/talk add") && has(p, "取消分享 编号"));
    p = h_fx_ask(&f, "20001", "帮助 我的积分");
    CHECK(has(p, "【积分排行】") && has(p, "我的积分 — "));
    CHECK_INT(lines_of(p), 2);
    p = h_fx_ask(&f, "20001", "/help /mydata");
    CHECK(has(p, "【群数据】") && has(p, "我的数据"));
    p = h_fx_ask(&f, "20001", "帮助 定时列表"); /* admin only: unknown to members */
    CHECK(has(p, "没有找到「定时列表」") && !has(p, "下次时间"));
    p = h_fx_ask(&f, "20001", "帮助 定时"); /* a plugin with only admin commands */
    CHECK(has(p, "没有找到"));
    p = h_fx_ask(&f, "20002", "帮助 定时列表");
    CHECK(has(p, "【定时发布】") && has(p, "下次时间"));
    p = h_fx_ask(&f, "20001", "帮助 天气");
    CHECK(has(p, "没有找到「天气」"));
    CHECK_INT(lines_of(p), 1);
    h_fx_done(&f);
}

int main(void)
{
    RUN(a_member_gets_one_short_line_per_plugin_and_no_admin_commands);
    RUN(an_admin_gets_one_more_line_and_the_admin_commands_on_request);
    RUN(details_of_a_plugin_or_a_command_by_any_of_its_names);
    return test_done();
}
