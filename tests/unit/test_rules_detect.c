/*
 * test_rules_detect.c — the single-message detectors as admins meet them: link domains in
 * the forms spammers write (full-width and spaced dots, IPs, invite links) and the everyday
 * text that must not look like a link; allow/deny lists with subdomains; phone, QQ, WeChat
 * and "加我" offers in evasion spellings (through qb_rules_normalize) and the chat that must
 * not count (dates, prices, order numbers); hostile 5000-character messages are handled
 * (their speed is benchmarked, not timed here).
 *
 * link: qb_rules
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules.h"
#include "test.h"
#include "util/util.h"

/* ------------------------------------------------------------------ links */

struct links {
    char d[8][128];
    size_t n;
};

static void collect(const char *domain, void *ud)
{
    struct links *l = ud;
    if (l->n < 8)
        qb_strlcpy(l->d[l->n++], domain, sizeof l->d[0]);
}

/* The domains found in text, joined by spaces ("" if none). */
static const char *links_of(const char *text, char *out, size_t outlen)
{
    struct links l = {.n = 0};
    size_t n = qb_detect_links(text, strlen(text), collect, &l);
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++) {
        size_t o = strlen(out);
        snprintf(out + o, outlen - o, "%s%s", i ? " " : "", l.d[i]);
    }
    if (n != l.n)
        snprintf(out, outlen, "count %zu but %zu reported", n, l.n);
    return out;
}

#define CHECK_LINKS(text, want)                                                                    \
    do {                                                                                           \
        char buf_[512];                                                                            \
        CHECK_STR(links_of(text, buf_, sizeof buf_), want);                                        \
    } while (0)

TEST(links_with_scheme)
{
    CHECK_LINKS("看这个 https://Example.COM/path?x=1 不错", "example.com");
    CHECK_LINKS("http://www.pixiv.net/artworks/63570200", "pixiv.net");
    CHECK_LINKS("获取工具:   http://heimao.wa36.com/", "heimao.wa36.com");
    CHECK_LINKS("各种高科技小卖铺：http://959.run/95lyx（超多）", "959.run");
    CHECK_LINKS("https://user@files.example.org:8443/a", "files.example.org");
    /* any host after a scheme counts, whatever its top-level domain */
    CHECK_LINKS("http://intranet.local/wiki", "intranet.local");
}

TEST(links_bare_domains)
{
    CHECK_LINKS("官网abc.com了解一下", "abc.com");
    CHECK_LINKS("www.mysite.cn", "mysite.cn");
    CHECK_LINKS("来 www.shop-now.example 看看", "shop-now.example");
    CHECK_LINKS("hai.cnfox.top 孩的卡网qwq 1+ 21+", "hai.cnfox.top");
    CHECK_LINKS("docs.qq.com/doc/DUWNVQVFTU3liTVlO获取cookie", "docs.qq.com");
    CHECK_LINKS("买房看 fang.com.cn 就行", "fang.com.cn");
    CHECK_LINKS("a.com 和 b.cn 都是", "a.com b.cn");
    CHECK_LINKS("ABC.XYZ", "abc.xyz");
    /* a path does not produce more domains */
    CHECK_LINKS("abc.com/x/y.cn/z.top", "abc.com");
}

TEST(links_evasion_dots)
{
    CHECK_LINKS("访问abc．com领福利", "abc.com"); /* full-width dot */
    CHECK_LINKS("访问abc。com领福利", "abc.com"); /* ideographic full stop */
    CHECK_LINKS("ａｂｃ．ｃｏｍ", "abc.com");     /* full-width letters too */
    CHECK_LINKS("进 abc . com 领取", "abc.com");  /* spaces around the dot */
    CHECK_LINKS("wqkj777. top", "wqkj777.top");   /* space after the dot */
    CHECK_LINKS("abc .com", "abc.com");           /* space before the dot */
    CHECK_LINKS("www ． abc ． vip", "abc.vip");
}

TEST(links_ip_and_invites)
{
    CHECK_LINKS("节点 47.100.23.5:8080 速度快", "47.100.23.5");
    CHECK_LINKS("http://192.168.1.1/admin", "192.168.1.1");
    CHECK_LINKS("https://t.me/CN_Privacy/79?single", "t.me");
    CHECK_LINKS("加我 t.me/abc123", "t.me");
    CHECK_LINKS("wa.me/8613800138000", "wa.me");
    CHECK_LINKS("discord.gg/abcXYZ", "discord.gg");
    CHECK_LINKS("bit.ly/3xYz", "bit.ly");
}

TEST(links_not_links)
{
    CHECK_LINKS("GPT 3.5 比 4 差", "");
    CHECK_LINKS("更新到 v1.2.0 了", "");
    CHECK_LINKS("e.g. 这样写", "");
    CHECK_LINKS("i.e. 也就是说", "");
    CHECK_LINKS("看 notes.txt 和 readme.md", "");
    CHECK_LINKS("1.我们拥有花雨庭的配置 2.禁止引战", "");
    CHECK_LINKS("1.16.5 的服务器，版本 1.8.9", "");
    CHECK_LINKS("9.9元包邮，2023.10.12 到货", "");
    CHECK_LINKS("版本号 1.2.3.4", "");
    CHECK_LINKS("I was there. Me too.", "");
    CHECK_LINKS("my_file.cc 编译不过", "");
    CHECK_LINKS("邮箱 someone@qq.com 联系", "");
    CHECK_LINKS("https:mchkacn", ""); /* no dot, no slashes: nothing to report */
    CHECK_LINKS("结尾一个点. 然后.", "");
    CHECK_LINKS("", "");
}

TEST(links_callback_optional)
{
    const char *t = "a.com b.com";
    CHECK_INT(qb_detect_links(t, strlen(t), NULL, NULL), 2);
    /* len is respected: the text need not be terminated */
    CHECK_INT(qb_detect_links("abc.com", 3, NULL, NULL), 0);
    CHECK_INT(qb_detect_links(NULL, 0, NULL, NULL), 0);
}

TEST(domain_lists)
{
    const char *list[] = {"example.com", "*.evil.cn", "WWW.Shop.top", NULL, ""};
    size_t n = sizeof list / sizeof *list;
    CHECK(qb_domain_in("example.com", list, n));
    CHECK(qb_domain_in("a.b.example.com", list, n));
    CHECK(!qb_domain_in("notexample.com", list, n));
    CHECK(!qb_domain_in("example.com.cn", list, n));
    CHECK(!qb_domain_in("example.co", list, n));
    CHECK(qb_domain_in("x.evil.cn", list, n));
    CHECK(qb_domain_in("evil.cn", list, n));
    CHECK(qb_domain_in("shop.top", list, n));
    CHECK(qb_domain_in("m.shop.top", list, n));
    CHECK(!qb_domain_in("top", list, n));
    CHECK(!qb_domain_in("anything.com", NULL, 0));
    const char *ips[] = {"23.5", "47.100.23.5"};
    CHECK(qb_domain_in("47.100.23.5", ips + 1, 1));
    CHECK(!qb_domain_in("47.100.23.5", ips, 1));
    CHECK(!qb_domain_in("", list, n));
}

/* ------------------------------------------------------------------ contacts */

static char ev_buf[QB_EVIDENCE_MAX];

/* Detect on already normalised text. */
static enum qb_contact_kind on_norm(const char *norm)
{
    return qb_detect_contact(norm, strlen(norm), ev_buf, sizeof ev_buf);
}

/* Normalise raw text the way the engine does, then detect. */
static enum qb_contact_kind on_raw(const char *raw)
{
    size_t n = 0;
    char *norm = qb_rules_normalize(raw, strlen(raw), &n);
    if (!norm)
        return (enum qb_contact_kind) - 1;
    enum qb_contact_kind k = qb_detect_contact(norm, n, ev_buf, sizeof ev_buf);
    free(norm);
    return k;
}

TEST(contact_phone)
{
    CHECK_INT(on_norm("联系13800138000"), QB_CONTACT_PHONE);
    CHECK_STR(ev_buf, "手机号 138****8000");
    CHECK_INT(on_norm("8613912345678详聊"), QB_CONTACT_PHONE); /* +86 */
    CHECK_STR(ev_buf, "手机号 139****5678");
    CHECK_INT(on_raw("幺三八零零一三八零零零"), QB_CONTACT_PHONE);
    CHECK_STR(ev_buf, "手机号 138****8000");
    CHECK_INT(on_raw("电话：138-0013-8000"), QB_CONTACT_PHONE);
    CHECK_INT(on_raw("+86 139 1234 5678 找我"), QB_CONTACT_PHONE);
    CHECK_INT(on_raw("①③⑧⓪⓪①③⑧⓪⓪⓪"), QB_CONTACT_PHONE);
    /* not inside a longer run, not 12x, not an order number */
    CHECK_INT(on_norm("138001380001"), QB_CONTACT_NONE);
    CHECK_INT(on_norm("12800138000"), QB_CONTACT_NONE);
    CHECK_INT(on_norm("订单号13912345678已发货"), QB_CONTACT_NONE);
    CHECK_INT(on_norm("uid13912345678"), QB_CONTACT_NONE);
}

TEST(contact_qq)
{
    CHECK_INT(on_norm("购买加q7800257128"), QB_CONTACT_QQ);
    CHECK_STR(ev_buf, "QQ号 78******28");
    CHECK_INT(on_norm("qq号是2884788508"), QB_CONTACT_QQ);
    CHECK_INT(on_norm("群号886650813"), QB_CONTACT_QQ);
    CHECK_STR(ev_buf, "群号 88*****13");
    CHECK_INT(on_norm("外部2群226049506"), QB_CONTACT_QQ);
    CHECK_INT(on_norm("火速加602295495获取"), QB_CONTACT_QQ);
    CHECK_INT(on_norm("需要联系2884788508"), QB_CONTACT_QQ);
    CHECK_INT(on_norm("需要加我7954701967"), QB_CONTACT_QQ);
    CHECK_INT(on_norm("2884788508qq"), QB_CONTACT_QQ);
    CHECK_INT(on_norm("可商裙957528499"), QB_CONTACT_QQ);
    CHECK_INT(on_norm("企鹅12345678"), QB_CONTACT_QQ);
    CHECK_INT(on_raw("扣扣：2884788508"), QB_CONTACT_QQ);
    CHECK_INT(on_raw("Ｑ Ｑ ② ⑧ ⑧ ④ ⑦ ⑧ ⑧ ⑤ ⓪ ⑧"), QB_CONTACT_QQ);
    CHECK_INT(on_raw("群号: 8 8 6 6 5 0 8 1 3"), QB_CONTACT_QQ);
}

TEST(contact_wechat)
{
    CHECK_INT(on_norm("加微信abcd123"), QB_CONTACT_WECHAT);
    CHECK_STR(ev_buf, "微信号 ab***");
    CHECK_INT(on_norm("微信号是zhang-san_88"), QB_CONTACT_WECHAT);
    CHECK_INT(on_norm("vxabc123456"), QB_CONTACT_WECHAT);
    CHECK_INT(on_norm("wxid_abcdef123"), QB_CONTACT_WECHAT);
    CHECK_INT(on_raw("加 我 薇 信 ab_cd123"), QB_CONTACT_WECHAT);
    CHECK_STR(ev_buf, "微信号 ab***");
    CHECK_INT(on_raw("ＶＸ：Ab_Cd_123"), QB_CONTACT_WECHAT);
    CHECK_INT(on_raw("威信 hello2024"), QB_CONTACT_WECHAT);
    CHECK_INT(on_raw("加微：abc_1234"), QB_CONTACT_WECHAT);
    CHECK_INT(on_raw("加v abc12345"), QB_CONTACT_WECHAT);
    CHECK_INT(on_raw("wx号 zhang_san88"), QB_CONTACT_WECHAT);
    /* too short, starts with a digit-free word that is too long, or no id at all */
    CHECK_INT(on_norm("微信abc"), QB_CONTACT_NONE);
    CHECK_INT(on_norm("微信abcdefghijklmnopqrstuvwxyz"), QB_CONTACT_NONE);
    CHECK_INT(on_norm("出二手vape100r"), QB_CONTACT_NONE);
}

TEST(contact_ask)
{
    CHECK_INT(on_norm("想要的私聊我微信同号"), QB_CONTACT_ASK);
    CHECK_STR(ev_buf, "私聊我+微信");
    CHECK_INT(on_norm("加我qq详聊"), QB_CONTACT_ASK);
    CHECK_STR(ev_buf, "加我+qq");
    CHECK_INT(on_norm("扫码进群领取福利"), QB_CONTACT_ASK);
    CHECK_INT(on_norm("进群扫码"), QB_CONTACT_ASK);
    CHECK_INT(on_norm("私我v"), QB_CONTACT_ASK);
    CHECK_STR(ev_buf, "私我+v");
    CHECK_INT(on_norm("买vape找我v425usd"), QB_CONTACT_NONE); /* "V4": a version, not "v" */
    CHECK_INT(on_raw("有需要的 滴滴我 企鹅"), QB_CONTACT_ASK);
    CHECK_INT(on_raw("微信联系我"), QB_CONTACT_ASK);
    /* the number itself outranks the ask */
    CHECK_INT(on_norm("加我13800138000"), QB_CONTACT_PHONE);
}

TEST(contact_everyday_chat)
{
    CHECK_INT(on_raw("我加了群主微信问了"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("我加群主微信问过了"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("2023年10月12日 下午3点开会"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("20231012 交作业"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("这个卖399元，原价12999元"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("订单号 20231012123456789 还没发货"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("我们群有12345人了"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("这群10000多人"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("签到加200000金币"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("增加100000"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("QQ机器人的"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("扩列聊天都可以加我"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("有事找我"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("@3105730313 2.禁止引战"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("踢1378391115"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("微信怎么做到跳过免打扰强制弹窗的"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("参加我们的活动吧，微信群里说"), QB_CONTACT_NONE);
    CHECK_INT(on_raw("一起来玩"), QB_CONTACT_NONE);
    CHECK_INT(on_norm(""), QB_CONTACT_NONE);
    CHECK_STR(ev_buf, "");
}

TEST(contact_evidence_bounded)
{
    char small[12];
    memset(small, 'x', sizeof small);
    const char *t = "联系13800138000";
    CHECK_INT(qb_detect_contact(t, strlen(t), small, sizeof small), QB_CONTACT_PHONE);
    CHECK(strlen(small) < sizeof small);
    CHECK(qb_utf8_valid(small, strlen(small)));
    CHECK(strncmp(small, "手机号", strlen("手机号")) == 0);
    CHECK_INT(qb_detect_contact(t, strlen(t), NULL, 0), QB_CONTACT_PHONE);
    /* len is respected */
    CHECK_INT(qb_detect_contact(t, strlen("联系1380"), small, sizeof small), QB_CONTACT_NONE);
}

TEST(contact_names)
{
    CHECK_STR(qb_contact_name(QB_CONTACT_PHONE), "手机号");
    CHECK_STR(qb_contact_name(QB_CONTACT_QQ), "QQ号");
    CHECK_STR(qb_contact_name(QB_CONTACT_WECHAT), "微信号");
    CHECK(qb_contact_name(QB_CONTACT_ASK)[0] != '\0');
    CHECK(qb_contact_name((enum qb_contact_kind)99) != NULL);
}

/* ------------------------------------------------------------------ hostile input */

/* text = unit repeated to at least n bytes. Caller frees. */
static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit), len = (n / u + 1) * u;
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i += u)
        memcpy(s + i, unit, u);
    s[len] = '\0';
    return s;
}

static void count_only(const char *d, void *ud)
{
    (void)d;
    (*(size_t *)ud)++;
}

TEST(hostile_messages_bounded)
{
    static const char *const units[] = {
            "a.",         "1.",    "a . ",   "a。",        "ａ．",         "http://",
            "https://a.", "www.",  "a-",     "abc.com/",   "加我加群微信", "qq",
            "1",          "微信",  "加我",   "私聊我进群", "群号1234",     "x@",
            "\xe5\x8a",   "加我 ", "q1234 ", "进群扫码加",
    };
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        char *s = repeat(units[u], 15000); /* 5000+ characters of hostile text */
        size_t len = strlen(s), seen = 0;
        char ev[QB_EVIDENCE_MAX];
        size_t n = qb_detect_links(s, len, count_only, &seen);
        (void)qb_detect_contact(s, len, ev, sizeof ev);
        CHECK_INT(n, seen);
        CHECK(strlen(ev) < sizeof ev);
        free(s);
    }
    /* Speed on these shapes is measured by qunbot-bench-rules (docs/BENCHMARKS.md), not here. */
}

TEST(long_message_finds_the_contact)
{
    char *s = repeat("今天天气不错，我们去打球吧。", 6000);
    size_t len = strlen(s);
    char *t = malloc(len + 64);
    memcpy(t, s, len);
    strcpy(t + len, "加微信abcd123 看 abc.com");
    CHECK_INT(qb_detect_contact(t, strlen(t), ev_buf, sizeof ev_buf), QB_CONTACT_WECHAT);
    CHECK_LINKS(t, "abc.com");
    free(s);
    free(t);
}

int main(void)
{
    RUN(links_with_scheme);
    RUN(links_bare_domains);
    RUN(links_evasion_dots);
    RUN(links_ip_and_invites);
    RUN(links_not_links);
    RUN(links_callback_optional);
    RUN(domain_lists);
    RUN(contact_phone);
    RUN(contact_qq);
    RUN(contact_wechat);
    RUN(contact_ask);
    RUN(contact_everyday_chat);
    RUN(contact_evidence_bounded);
    RUN(contact_names);
    RUN(hostile_messages_bounded);
    RUN(long_message_finds_the_contact);
    return test_done();
}
