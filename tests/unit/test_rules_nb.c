/*
 * test_rules_nb.c — the statistical ad score (rules/nb.c): model parse errors name the line,
 * a hand-written model scores as the logistic of its weights and explains itself, the
 * shipped rules/packs/ad-model.nb tells ads from everyday chat (also on held-out evasion
 * spellings it never saw), and a 100 KB hostile message is scored without trouble.
 * Runs with the repo root as working directory.
 * link: qb_rules
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qunbot/qunbot.h>

#include "rules.h"
#include "test.h"

#define SHIPPED_MODEL "rules/packs/ad-model.nb"

static int parse_str(const char *text, struct qb_nb **m, char *err, size_t errlen)
{
    return qb_nb_parse(text, strlen(text), m, err, errlen);
}

/* Parse must fail with QB_EINVAL and an error starting with want. */
static int parse_fails_with(const char *text, const char *want)
{
    struct qb_nb *m = (struct qb_nb *)1;
    char err[200] = "";
    int rc = parse_str(text, &m, err, sizeof err);
    if (rc != QB_EINVAL || m != NULL || strncmp(err, want, strlen(want)) != 0) {
        fprintf(stderr, "  model %s\n  gave rc %d, err \"%s\"; wanted \"%s...\"\n", text, rc, err,
                want);
        return 0;
    }
    return 1;
}

TEST(parse_errors_name_the_line)
{
    CHECK(parse_fails_with("qunbot-nb 2\nprior 0\n", "line 1: not a qunbot ad model"));
    CHECK(parse_fails_with("hello\tworld\n", "line 1: not a qunbot ad model"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior -1\n# comment\n刷单 2.5\n", "line 4: expected"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior -1\n刷单\tlots\n",
                           "line 3: weight is not a number"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior -1\n刷单\t2.5x\n",
                           "line 3: weight is not a number"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior -1\n刷单\t\n", "line 3: weight is not a number"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior abc\n", "line 2: prior is not a number"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior 1\n\n刷单\t1\n刷单\t2\n",
                           "line 5: n-gram listed twice"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior 1\n加微信\t1\n", "line 3: n-gram longer than two"));
    CHECK(parse_fails_with("qunbot-nb 1\nprior 1\na\\qb\t1\n", "line 3: bad escape"));
    CHECK(parse_fails_with("qunbot-nb 1\n刷单\t1\n", "the model has no \"prior\" line"));
    CHECK(parse_fails_with("", "the model file is empty"));
}

TEST(parse_accepts_escapes_and_crlf)
{
    struct qb_nb *m = NULL;
    char err[200] = "";
    const char *text =
            "qunbot-nb 1\r\nprior 0\r\nunknown 0\r\n\\t\t1.5\r\n\\x23a\t-2\r\n\\\\\t1\r\n";
    CHECK_INT(parse_str(text, &m, err, sizeof err), QB_OK);
    CHECK_STR(err, "");
    if (!m)
        return;
    /* "\t" alone: prior 0 + 1.5 */
    CHECK(fabs(qb_nb_score(m, "\t", 1, NULL, 0) - 1.0 / (1.0 + exp(-1.5))) < 1e-9);
    /* "#a": '#' 0 + 'a' 0 + "#a" -2 */
    CHECK(fabs(qb_nb_score(m, "#a", 2, NULL, 0) - 1.0 / (1.0 + exp(2.0))) < 1e-9);
    qb_nb_free(m);
}

TEST(load_reports_missing_file)
{
    struct qb_nb *m = NULL;
    char err[200] = "";
    CHECK_INT(qb_nb_load("tests/data/no-such-model.nb", &m, err, sizeof err), QB_EIO);
    CHECK(m == NULL);
    CHECK(strstr(err, "no-such-model.nb") != NULL);
}

static const char *tiny_model = "qunbot-nb 1\n"
                                "# a hand-written model\n"
                                "prior -2\n"
                                "unknown 0\n"
                                "刷单\t3\n"
                                "日结\t2.5\n"
                                "微信\t2\n"
                                "加\t0.5\n"
                                "书\t-1.5\n"
                                "推荐\t-1\n";

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

TEST(tiny_model_is_an_explainable_sum)
{
    struct qb_nb *m = NULL;
    char err[200] = "";
    CHECK_INT(parse_str(tiny_model, &m, err, sizeof err), QB_OK);
    if (!m)
        return;
    char why[96];
    const char *ad = "刷单日结加微信";
    double p = qb_nb_score(m, ad, strlen(ad), why, sizeof why);
    /* -2 + 刷单 3 + 日结 2.5 + 加 0.5 + 微信 2; every other n-gram is unknown (0) */
    CHECK(fabs(p - sigmoid(6.0)) < 1e-9);
    CHECK_STR(why, "刷单 日结 微信 加");

    const char *chat = "谁有推荐的书";
    p = qb_nb_score(m, chat, strlen(chat), why, sizeof why);
    CHECK(fabs(p - sigmoid(-4.5)) < 1e-9);
    CHECK_STR(why, ""); /* nothing pushed towards "ad" */

    CHECK(fabs(qb_nb_score(m, "", 0, why, sizeof why) - sigmoid(-2.0)) < 1e-9);

    /* A short why buffer holds whole n-grams only, never half a character. */
    char small[8];
    qb_nb_score(m, ad, strlen(ad), small, sizeof small);
    CHECK_STR(small, "刷单");
    qb_nb_score(m, ad, strlen(ad), small, 4);
    CHECK_STR(small, "");
    qb_nb_free(m);
    qb_nb_free(NULL);
}

static bool held_out(long long id)
{
    return ((uint32_t)((uint64_t)id * 2654435761u) % 5) == 0;
}

static double score_text(const struct qb_nb *m, const char *text, char *why, size_t whylen)
{
    size_t n = 0;
    char *norm = qb_rules_normalize(text, strlen(text), &n);
    double p = norm ? qb_nb_score(m, norm, n, why, whylen) : -1.0;
    free(norm);
    return p;
}

static struct qb_nb *shipped(void)
{
    struct qb_nb *m = NULL;
    char err[256] = "";
    int rc = qb_nb_load(SHIPPED_MODEL, &m, err, sizeof err);
    if (rc != QB_OK)
        fprintf(stderr, "  cannot load %s: %s\n", SHIPPED_MODEL, err);
    return m;
}

struct sample {
    long long id; /* row in tests/data/guard-eval/, 0 = written here */
    const char *text;
};

TEST(shipped_model_flags_ads)
{
    struct qb_nb *m = shipped();
    CHECK(m != NULL);
    if (!m)
        return;
    static const struct sample ads[] = {
            {0, "招兼职刷单，日结三百，手机就能做，加微信详聊"},
            {0, "淘宝刷单返利 一单一结 加V：abc12345"},
            {0, "出vape 100r 要的私聊"},
            /* held-out evasion spellings the model never saw */
            {100061, "滴滴 薇 Ⅴ 信 8 8 6 6 9 9 刷单日结"},
            {100073, "看这里→兼职刷单，返现百分之十五，无需垫付，加Ｑ群"},
            {100060, "各位群友，我这边有个副业，每天一小时，日结一百多，有兴趣的加我微信私聊"},
            {100072, "线上赌场 日赚万元 微：du8888 不接穷人"},
            {100046, "贷款找我，大额低息，最快当天到账 ☎ 1 3 9 1 2 3 4 5 6 7 8"},
    };
    for (size_t i = 0; i < sizeof ads / sizeof ads[0]; i++) {
        if (ads[i].id)
            CHECK(held_out(ads[i].id));
        /* Ads written here must pass the guard's default threshold (0.9); unseen ones must
         * at least land on the ad side. */
        double want = ads[i].id ? 0.5 : 0.9;
        char why[96] = "";
        double p = score_text(m, ads[i].text, why, sizeof why);
        if (p < want)
            fprintf(stderr, "  ad scored %.3f: %s\n", p, ads[i].text);
        CHECK(p >= want);
        CHECK(why[0] != '\0'); /* the evidence names n-grams */
    }
    qb_nb_free(m);
}

TEST(shipped_model_passes_everyday_chat)
{
    struct qb_nb *m = shipped();
    if (!m)
        return;
    static const struct sample chat[] = {
            {0, "今天天气不错，大家周末愉快"},
            {0, "晚上一起吃饭吗"},
            {0, "这个问题我也不会，等群主来回答吧"},
            {0, "2026年11月23日"},
            {0, "会议号 123 456 789"},
            {0, "我加了群主微信问了，他说下周再定"},
            {0, "链接发群里了 github.com/qunbot/qunbot"},
            {0, "这本书京东上卖39块，挺便宜的"},
            /* held-out hard negatives */
            {100085, "签到"},
            {100087, "谁有推荐的书？最近想看点科幻"},
            {100099, "菜市场的白菜三块钱一斤了，涨价好厉害"},
            {100125, "房贷每个月还四千，压力好大"},
            {100151, "周三晚上八点线上分享，腾讯会议"},
            {100164, "下次活动时间：12月6日 14:00，地点图书馆二楼"},
            {100165, "我生日是10月8日，到时候请大家吃蛋糕"},
    };
    for (size_t i = 0; i < sizeof chat / sizeof chat[0]; i++) {
        if (chat[i].id)
            CHECK(held_out(chat[i].id));
        double p = score_text(m, chat[i].text, NULL, 0);
        if (p >= 0.5)
            fprintf(stderr, "  chat scored %.3f: %s\n", p, chat[i].text);
        CHECK(p >= 0.0 && p < 0.5);
    }
    qb_nb_free(m);
}

TEST(huge_hostile_message_is_bounded)
{
    struct qb_nb *m = shipped();
    if (!m)
        return;
    /* 100 KB of ad words, emoji, broken UTF-8 and digits */
    static const char piece[] = "加💰微信\xe5\x88日结\xff刷单 8 8 6 6 ";
    size_t plen = sizeof piece - 1, cap = 100 * 1024;
    char *text = malloc(cap + 1);
    CHECK(text != NULL);
    if (!text) {
        qb_nb_free(m);
        return;
    }
    size_t n = 0;
    while (n + plen <= cap) {
        memcpy(text + n, piece, plen);
        n += plen;
    }
    text[n] = '\0';
    char why[96];
    memset(why, 'x', sizeof why);
    double p = qb_nb_score(m, text, n, why, sizeof why); /* raw bytes, not normalised */
    CHECK(p >= 0.0 && p <= 1.0);
    CHECK(memchr(why, '\0', sizeof why) != NULL);
    p = score_text(m, text, why, sizeof why);
    CHECK(p >= 0.9);
    free(text);
    qb_nb_free(m);
}

int main(void)
{
    RUN(parse_errors_name_the_line);
    RUN(parse_accepts_escapes_and_crlf);
    RUN(load_reports_missing_file);
    RUN(tiny_model_is_an_explainable_sum);
    RUN(shipped_model_flags_ads);
    RUN(shipped_model_passes_everyday_chat);
    RUN(huge_hostile_message_is_bounded);
    return test_done();
}
