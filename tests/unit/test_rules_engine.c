/*
 * test_rules_engine.c — the rules engine as the guard uses it: packs that load or are
 * refused with file:line:col, each detector on messages members really send (including
 * evasion spellings), per-group modes (off, shadow, dry run), newcomer rules, flood,
 * repeats, cross-group blasts and reposts over time, and bounded regex matching.
 * link: qb_rules
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"
#include "test.h"
#include "util/util.h"

static char dir[] = "/tmp/qb-rules-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static struct qb_ruleset *load_text(const char *json, char *err, size_t errlen)
{
    const char *p = write_file("pack.json", json);
    struct qb_ruleset *rs = NULL;
    if (qb_ruleset_load(&p, 1, &rs, err, errlen) != QB_OK)
        return NULL;
    return rs;
}

/* Evaluate text from user in group at t; returns the number of hits, first in *h. */
struct msgspec {
    const char *text, *group, *user;
    int64_t t, joined;
    bool admin;
};

static size_t eval_msg(struct qb_ruleset *rs, const struct qb_rules_policy *pol,
                       const struct qb_msg *m, const struct msgspec *s, struct qb_rules_hit *h,
                       size_t max)
{
    struct qb_rules_input in = {.msg = m,
                                .group_id = s->group ? s->group : "g1",
                                .user_id = s->user ? s->user : "u1",
                                .now_ms = s->t ? s->t : 1000000,
                                .joined_ms = s->joined,
                                .sender_is_admin = s->admin};
    return qb_ruleset_eval(rs, pol, &in, h, max);
}

static size_t eval_text(struct qb_ruleset *rs, const struct qb_rules_policy *pol, struct msgspec s,
                        struct qb_rules_hit *h)
{
    struct qb_msg m;
    qb_msg_init(&m);
    qb_msg_text(&m, s.text);
    qb_msg_finish(&m);
    size_t n = eval_msg(rs, pol, &m, &s, h, 8);
    qb_msg_clear(&m);
    return n;
}

static const char *basic_pack =
        "{\"name\": \"t\", \"rules\": [\n"
        "  {\"id\": \"ad.words\", \"version\": 3, \"detector\": \"keywords\",\n"
        "   \"words\": [\"刷单\", \"兼职日结\", \"加微信\"], \"reason\": \"禁止发广告\"},\n"
        "  {\"id\": \"ad.regex\", \"detector\": \"regex\", \"pattern\": \"免费领.{0,4}红包\"},\n"
        "  {\"id\": \"link.bad\", \"detector\": \"link\", \"links\": \"deny\", \"deny\": "
        "[\"bad.example\"]},\n"
        "  {\"id\": \"link.newcomer\", \"detector\": \"link\", \"links\": \"any\", \"newcomer\": "
        "true, \"action\": \"recall\"},\n"
        "  {\"id\": \"card\", \"detector\": \"card\"},\n"
        "  {\"id\": \"fwd\", \"detector\": \"forward\", \"action\": \"recall\"},\n"
        "  {\"id\": \"paste\", \"detector\": \"long_paste\", \"action\": \"recall\"},\n"
        "  {\"id\": \"atall\", \"detector\": \"atall\"},\n"
        "  {\"id\": \"flood\", \"detector\": \"flood\"},\n"
        "  {\"id\": \"stickers\", \"detector\": \"sticker_flood\"},\n"
        "  {\"id\": \"dup\", \"detector\": \"duplicate\"},\n"
        "  {\"id\": \"cross\", \"detector\": \"cross_group\"},\n"
        "  {\"id\": \"repost\", \"detector\": \"repost\"}\n"
        "]}\n";

static struct qb_ruleset *basic(void)
{
    char err[512] = "";
    struct qb_ruleset *rs = load_text(basic_pack, err, sizeof err);
    if (!rs)
        fprintf(stderr, "basic pack: %s\n", err);
    return rs;
}

static const struct qb_rules_hit *find(const struct qb_rules_hit *h, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].rule_id, id))
            return &h[i];
    return NULL;
}

TEST(pack_errors_name_the_place)
{
    char err[512];
    CHECK(!load_text("{\"rules\": [{\"id\": \"a\", \"detector\": \"keyword\", \"words\": "
                     "[\"x\"]}]}",
                     err, sizeof err));
    CHECK(strstr(err, "pack.json:1:"));
    CHECK(strstr(err, "did you mean \"keywords\""));
    CHECK(!load_text("{\"rules\": [\n {\"id\": \"r\", \"detector\": \"regex\",\n"
                     "  \"pattern\": \"(unclosed\"}]}",
                     err, sizeof err));
    CHECK(strstr(err, "pack.json:3:"));
    CHECK(strstr(err, "does not compile"));
    CHECK(!load_text("{\"rules\": [{\"id\": \"w\", \"detector\": \"keywords\", \"words_file\": "
                     "\"missing.txt\"}]}",
                     err, sizeof err));
    CHECK(strstr(err, "missing.txt"));
    CHECK(!load_text("{\"rules\": [{\"id\": \"a\", \"detector\": \"atall\"}, {\"id\": \"a\", "
                     "\"detector\": \"flood\"}]}",
                     err, sizeof err));
    CHECK(strstr(err, "used twice"));
    CHECK(!load_text("{\"rules\": [{\"id\": \"w\", \"detector\": \"keywords\", \"words\": "
                     "[\"!!!\"]}]}",
                     err, sizeof err));
    CHECK(strstr(err, "would match nothing"));
    CHECK(!load_text("{\"rules\": [{\"id\": \"Bad Id\", \"detector\": \"flood\"}]}", err,
                     sizeof err));
    CHECK(!load_text("{\"rules\": [}", err, sizeof err));
    CHECK(err[0]);
}

TEST(word_list_file_lines)
{
    write_file("words.txt", "# ads\n刷单\n\n  返利  \n");
    char err[512] = "";
    struct qb_ruleset *rs = load_text("{\"rules\": [{\"id\": \"w\", \"detector\": \"keywords\", "
                                      "\"words_file\": \"words.txt\"}]}",
                                      err, sizeof err);
    CHECK(rs);
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    CHECK_INT(eval_text(rs, &pol, (struct msgspec){.text = "高额返利，名额有限"}, h), 1);
    CHECK(strstr(h[0].evidence, "返利"));
    qb_ruleset_free(rs);
}

TEST(keywords_see_through_evasions)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    const char *ads[] = {"刷 单，一单一结", "兼·职·日·结", "想赚钱的 加 微 信", "加薇信了解",
                         "刷😀单，一天三百"};
    for (size_t i = 0; i < sizeof ads / sizeof ads[0]; i++) {
        size_t n = eval_text(rs, &pol, (struct msgspec){.text = ads[i], .user = ads[i]}, h);
        const struct qb_rules_hit *k = find(h, n, "ad.words");
        if (!k)
            fprintf(stderr, "  not caught: %s\n", ads[i]);
        CHECK(k);
        if (k) {
            CHECK_INT(k->version, 3);
            CHECK_STR(k->reason, "禁止发广告");
            CHECK_INT(k->action, QB_RACT_STRIKE);
            CHECK_INT(k->mode, QB_MODE_ENFORCE);
        }
    }
    CHECK_INT(eval_text(rs, &pol,
                        (struct msgspec){.text = "今天的单词背完了，周末去刷题", .user = "x"}, h),
              0);
    qb_ruleset_free(rs);
}

TEST(modes_off_shadow_dry_run)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    const char *off[] = {"ad.*"};
    pol.off = off;
    pol.n_off = 1;
    CHECK(!find(h, eval_text(rs, &pol, (struct msgspec){.text = "刷单日结"}, h), "ad.words"));
    pol.n_off = 0;
    const char *shadow[] = {"ad.words"};
    pol.shadow = shadow;
    pol.n_shadow = 1;
    const struct qb_rules_hit *k =
            find(h, eval_text(rs, &pol, (struct msgspec){.text = "刷单日结", .user = "u2"}, h),
                 "ad.words");
    CHECK(k && k->mode == QB_MODE_SHADOW);
    pol.n_shadow = 0;
    pol.dry_run = true;
    size_t n = eval_text(rs, &pol, (struct msgspec){.text = "免费领取大额红包", .user = "u3"}, h);
    k = find(h, n, "ad.regex");
    CHECK(k && k->mode == QB_MODE_SHADOW);
    qb_ruleset_free(rs);
}

TEST(links_allow_deny_and_newcomers)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    const int64_t now = 100LL * 24 * 3600 * 1000;
    size_t n = eval_text(rs, &pol,
                         (struct msgspec){.text = "看这个 https://www.bad.example/x", .t = now}, h);
    CHECK(find(h, n, "link.bad"));
    CHECK(strstr(find(h, n, "link.bad") ? find(h, n, "link.bad")->evidence : "", "bad.example"));
    /* A member of long standing may post ordinary links. */
    n = eval_text(rs, &pol,
                  (struct msgspec){.text = "文档在 https://github.com/x/y",
                                   .t = now,
                                   .joined = now - 30LL * 24 * 3600 * 1000,
                                   .user = "old"},
                  h);
    CHECK_INT(n, 0);
    /* A newcomer may not, unless the domain is allowed. */
    n = eval_text(rs, &pol,
                  (struct msgspec){.text = "文档在 https://github.com/x/y",
                                   .t = now,
                                   .joined = now - 3600 * 1000,
                                   .user = "new"},
                  h);
    CHECK(find(h, n, "link.newcomer") && find(h, n, "link.newcomer")->action == QB_RACT_RECALL);
    const char *allow[] = {"github.com"};
    pol.allow_domains = allow;
    pol.n_allow = 1;
    n = eval_text(rs, &pol,
                  (struct msgspec){.text = "文档在 https://github.com/x/y",
                                   .t = now + 1,
                                   .joined = now - 3600 * 1000,
                                   .user = "new2"},
                  h);
    CHECK(!find(h, n, "link.newcomer"));
    qb_ruleset_free(rs);
}

TEST(segments_cards_forwards_atall_paste)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    struct qb_msg m;
    qb_msg_init(&m);
    qb_msg_add(&m, QB_SEG_JSON, "json", "{\"app\":\"com.tencent.miniapp\"}", NULL, NULL);
    qb_msg_finish(&m);
    size_t n = eval_msg(rs, &pol, &m, &(struct msgspec){.user = "c1"}, h, 8);
    CHECK(find(h, n, "card") && strstr(find(h, n, "card")->evidence, "小程序"));
    qb_msg_clear(&m);

    qb_msg_add(&m, QB_SEG_FORWARD, "forward", "fw1", NULL, NULL);
    qb_msg_finish(&m);
    n = eval_msg(rs, &pol, &m, &(struct msgspec){.user = "c2"}, h, 8);
    CHECK(find(h, n, "fwd"));
    qb_msg_text(&m, "这段讨论很有意思，大家看看");
    qb_msg_finish(&m);
    n = eval_msg(rs, &pol, &m, &(struct msgspec){.user = "c3"}, h, 8);
    CHECK(!find(h, n, "fwd")); /* a forward with a comment is fine */
    qb_msg_clear(&m);

    qb_msg_at(&m, "all");
    qb_msg_text(&m, " 今晚八点开会");
    qb_msg_finish(&m);
    n = eval_msg(rs, &pol, &m, &(struct msgspec){.user = "c4"}, h, 8);
    CHECK(find(h, n, "atall"));
    n = eval_msg(rs, &pol, &m, &(struct msgspec){.user = "c5", .admin = true}, h, 8);
    CHECK(!find(h, n, "atall"));
    qb_msg_clear(&m);

    struct qb_buf b;
    qb_buf_init(&b);
    for (int i = 0; i < 700; i++)
        qb_buf_puts(&b, i % 7 ? "字" : "，");
    n = eval_text(rs, &pol, (struct msgspec){.text = b.p, .user = "c6"}, h);
    CHECK(find(h, n, "paste"));
    qb_buf_free(&b);
    qb_ruleset_free(rs);
}

TEST(flood_strikes_once_then_recalls)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    const char *words[] = {"早", "在吗", "哈哈", "好的", "收到", "嗯嗯", "对", "是的", "行"};
    int first = -1;
    for (int i = 0; i < 9; i++) {
        size_t n = eval_text(
                rs, &pol, (struct msgspec){.text = words[i], .user = "fl", .t = 5000000 + i * 1000},
                h);
        const struct qb_rules_hit *f = find(h, n, "flood");
        if (f && first < 0) {
            first = i;
            CHECK_INT(f->action, QB_RACT_STRIKE);
        } else if (f) {
            CHECK_INT(f->action, QB_RACT_RECALL);
        }
    }
    CHECK_INT(first, 7); /* the 8th message in 10 seconds */
    /* The same number of messages spread over minutes is conversation. */
    for (int i = 0; i < 12; i++) {
        size_t n = eval_text(
                rs, &pol,
                (struct msgspec){.text = words[i % 9], .user = "calm", .t = 9000000 + i * 30000},
                h);
        CHECK(!find(h, n, "flood"));
    }
    qb_ruleset_free(rs);
}

TEST(sticker_runs)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    pol.flood_count = 0;
    struct qb_rules_hit h[8];
    size_t n = 0;
    for (int i = 0; i < 6; i++) {
        struct qb_msg m;
        qb_msg_init(&m);
        struct qb_seg *s = qb_msg_add(&m, QB_SEG_IMAGE, "mface", NULL, "http://x/s.gif", NULL);
        s->flags = QB_SEGF_STICKER;
        qb_msg_finish(&m);
        n = eval_msg(rs, &pol, &m, &(struct msgspec){.user = "st", .t = 100000 + i * 60000}, h, 8);
        if (i < 5)
            CHECK(!find(h, n, "stickers"));
        qb_msg_clear(&m);
    }
    CHECK(find(h, n, "stickers"));
    qb_ruleset_free(rs);
}

TEST(repeats_and_cross_group_blasts)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    const char *text = "周末读书会报名开始啦，名额有限，快来报名";
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        n = eval_text(rs, &pol,
                      (struct msgspec){.text = text, .user = "rp", .t = 100000 + i * 60000}, h);
    CHECK(find(h, n, "dup"));
    /* Three different members saying the same thing are not one spammer. */
    for (int i = 0; i < 3; i++) {
        char u[8];
        snprintf(u, sizeof u, "m%d", i);
        n = eval_text(rs, &pol,
                      (struct msgspec){.text = "收到，谢谢群主的分享和安排",
                                       .user = u,
                                       .t = 200000 + i * 1000},
                      h);
        CHECK(!find(h, n, "dup"));
    }
    /* One member posting the same text in three groups within minutes is a blast. */
    const char *blast = "低价出售各类会员账号，需要的私聊我，童叟无欺";
    const char *groups[] = {"ga", "gb", "gc"};
    for (int i = 0; i < 3; i++)
        n = eval_text(
                rs, &pol,
                (struct msgspec){
                        .text = blast, .group = groups[i], .user = "bl", .t = 300000 + i * 20000},
                h);
    CHECK(find(h, n, "cross") && strstr(find(h, n, "cross")->evidence, "3 个群"));
    qb_ruleset_free(rs);
}

TEST(reposts_from_another_member_get_a_note)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    pol.repost_min_chars = 30;
    struct qb_rules_hit h[8];
    const char *chain = "人生就像一杯茶，不会苦一辈子，但总会苦一阵子。"
                        "懂得放下，才能拿起，转给你在乎的每一个朋友吧。";
    const int64_t day = 24LL * 3600 * 1000;
    size_t n = eval_text(rs, &pol,
                         (struct msgspec){.text = chain, .group = "g1", .user = "a", .t = 10 * day},
                         h);
    CHECK(!find(h, n, "repost"));
    n = eval_text(rs, &pol,
                  (struct msgspec){.text = chain, .group = "g2", .user = "b", .t = 12 * day}, h);
    const struct qb_rules_hit *r = find(h, n, "repost");
    CHECK(r && r->action == QB_RACT_NOTE && strstr(r->evidence, "另一个群"));
    /* After the window the text is new again. */
    n = eval_text(rs, &pol,
                  (struct msgspec){.text = chain, .group = "g3", .user = "c", .t = 30 * day}, h);
    CHECK(!find(h, n, "repost"));

    /* A restarted engine learns the fingerprints back from the guard's store. */
    struct qb_msg m;
    qb_msg_init(&m);
    qb_msg_text(&m, chain);
    uint64_t fp = 0;
    CHECK(qb_ruleset_fingerprint(&pol, &m, &fp));
    qb_msg_clear(&m);
    qb_ruleset_free(rs);
    rs = basic();
    if (!rs)
        return;
    CHECK_INT(qb_ruleset_remember_hash(rs, fp, 40 * day, "g1", "a"), QB_OK);
    n = eval_text(rs, &pol,
                  (struct msgspec){.text = chain, .group = "g1", .user = "d", .t = 41 * day}, h);
    r = find(h, n, "repost");
    CHECK(r && strstr(r->evidence, "本群"));
    qb_ruleset_free(rs);
}

TEST(group_words_and_bounded_regex)
{
    struct qb_ruleset *rs = basic();
    if (!rs)
        return;
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_ac *ac = qb_ac_new();
    size_t len = 0;
    char *w = qb_rules_normalize("拼多多砍一刀", strlen("拼多多砍一刀"), &len);
    qb_ac_add(ac, w, len, 0);
    free(w);
    qb_ac_build(ac);
    pol.extra_words = ac;
    struct qb_rules_hit h[8];
    size_t n = eval_text(rs, &pol, (struct msgspec){.text = "帮我拼 多 多砍一刀吧"}, h);
    const struct qb_rules_hit *g = find(h, n, "group.words");
    CHECK(g && strstr(g->evidence, "拼多多砍一刀"));
    qb_ac_free(ac);
    qb_ruleset_free(rs);

    /* A catastrophic pattern on hostile text gives up instead of stalling the loop. */
    char err[512] = "";
    rs = load_text("{\"rules\": [{\"id\": \"evil\", \"detector\": \"regex\", \"on\": \"raw\", "
                   "\"pattern\": \"^(a+)+$\"}]}",
                   err, sizeof err);
    CHECK(rs);
    if (!rs)
        return;
    char *text = malloc(5002);
    memset(text, 'a', 5000);
    text[5000] = '!';
    text[5001] = '\0';
    pol.extra_words = NULL;
    pol.long_paste_chars = 0;
    n = eval_text(rs, &pol, (struct msgspec){.text = text}, h);
    CHECK_INT(n, 0);
    free(text);
    qb_ruleset_free(rs);
}

static void count_problem(const char *msg, void *ud)
{
    (void)msg;
    (*(int *)ud)++;
}

TEST(a_running_bot_keeps_the_rules_that_load)
{
    const char *p = write_file(
            "mixed.json", "{\"rules\": [\n"
                          " {\"id\": \"bad.words\", \"detector\": \"keywords\", \"words\": "
                          "[\"兼职\", \"!!!\"]},\n"
                          " {\"id\": \"bad.re\", \"detector\": \"regex\", \"pattern\": \"(\"},\n"
                          " {\"id\": \"good\", \"detector\": \"keywords\", \"words\": [\"刷单\"]}\n"
                          "]}\n");
    struct qb_ruleset *rs = NULL;
    char err[512];
    CHECK_INT(qb_ruleset_load(&p, 1, &rs, err, sizeof err), QB_EINVAL); /* check-config */
    int problems = 0;
    CHECK_INT(qb_ruleset_load_partial(&p, 1, &rs, count_problem, &problems), QB_OK);
    CHECK_INT(problems, 2);
    CHECK_INT(qb_ruleset_count(rs), 1);
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_rules_hit h[8];
    size_t n = eval_text(rs, &pol, (struct msgspec){.text = "刷单"}, h);
    CHECK_INT(n, 1);
    CHECK_STR(h[0].rule_id, "good");
    /* the broken rule's valid word does not fire under another rule's name */
    CHECK_INT(eval_text(rs, &pol, (struct msgspec){.text = "兼职", .user = "u9"}, h), 0);
    qb_ruleset_free(rs);
}

TEST(shipped_default_pack_loads)
{
    const char *p = "rules/packs/default.json";
    struct qb_ruleset *rs = NULL;
    char err[512] = "";
    int rc = qb_ruleset_load(&p, 1, &rs, err, sizeof err);
    if (rc != QB_OK)
        fprintf(stderr, "  default pack: %s\n", err);
    CHECK_INT(rc, QB_OK);
    CHECK(qb_ruleset_count(rs) >= 10);
    qb_ruleset_free(rs);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    RUN(pack_errors_name_the_place);
    RUN(word_list_file_lines);
    RUN(keywords_see_through_evasions);
    RUN(modes_off_shadow_dry_run);
    RUN(links_allow_deny_and_newcomers);
    RUN(segments_cards_forwards_atall_paste);
    RUN(flood_strikes_once_then_recalls);
    RUN(sticker_runs);
    RUN(repeats_and_cross_group_blasts);
    RUN(reposts_from_another_member_get_a_note);
    RUN(group_words_and_bounded_regex);
    RUN(a_running_bot_keeps_the_rules_that_load);
    RUN(shipped_default_pack_loads);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_done();
}
