/*
 * test_template.c — message templates: allowed and unknown placeholders (the message a
 * community manager sees from check-config), literal braces, and rendering.
 * link: qb_util
 */
#include <stdlib.h>

#include <qunbot/template.h>

#include "test.h"

static const char *const allowed[] = {"at", "name", "streak", NULL};

TEST(check_accepts_known_and_names_unknown)
{
    char why[200] = "";
    CHECK_INT(qb_template_check("欢迎 {at}，连续 {streak} 天", allowed, why, sizeof why), QB_OK);
    CHECK_INT(qb_template_check("{{不是占位符}}", allowed, why, sizeof why), QB_OK);
    CHECK_INT(qb_template_check("你好 {nmae}", allowed, why, sizeof why), QB_EINVAL);
    CHECK_STR(why, "unknown placeholder {nmae}; allowed: {at}, {name}, {streak}");
    CHECK_INT(qb_template_check("未闭合 {name", allowed, why, sizeof why), QB_EINVAL);
    CHECK(strstr(why, "not closed") != NULL);
}

TEST(render_fills_values_and_keeps_the_rest)
{
    struct qb_tvar v[] = {{"name", "小王"}, {"streak", "12"}, {"at", NULL}};
    char *s = qb_template_render("{name} 已连续 {streak} 天{at} {{x}} {other}", v, 3);
    CHECK_STR(s, "小王 已连续 12 天 {x} {other}");
    free(s);
    s = qb_template_render("{name}{name}", v, 1);
    CHECK_STR(s, "小王小王");
    free(s);
}

int main(void)
{
    RUN(check_accepts_known_and_names_unknown);
    RUN(render_fills_values_and_keeps_the_rest);
    return test_done();
}
