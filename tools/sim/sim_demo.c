/*
 * sim_demo.c — the lively demo community (three groups of about thirty members, the bot an
 * admin in each) and the chatter generator that makes its members talk, check in, ask for
 * help, join, leave, ask to join and now and then post an ad. Deterministic for a seed.
 * Owns no state beyond the sim's RNG and chatter timer; it only calls the public sim.h API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄",
                                       "周", "吴", "徐", "孙", "胡", "朱", "高", "林"};
static const char *const given[] = {"小明", "晓燕", "子涵", "浩然", "雨桐", "思远", "欣怡", "俊杰",
                                    "佳琪", "一鸣", "梓萱", "宇轩", "诗雨", "天佑", "可欣", "博文"};
static const char *const nicks[] = {"阿狸",     "Momo", "风吹麦浪", "Kevin", "橘子汽水", "Luna",
                                    "半糖去冰", "老猫", "山海",     "Echo",  "一只咸鱼", "Sunny"};
static const char *const cities[] = {"北京", "上海", "广州", "深圳",
                                     "杭州", "成都", "武汉", "西安"};

static const char *const chat[] = {
        "大家早上好！",
        "今天天气不错，适合出去跑步",
        "有人一起周末去图书馆吗？",
        "晚上好呀各位",
        "请问群里有人知道下次活动是什么时候吗？",
        "这本书真的推荐，看完很有收获",
        "哈哈哈哈太真实了",
        "收到，谢谢管理员",
        "新人报到，请多关照～",
        "今天打卡完成 ✅",
        "有没有人用过 NapCat？配置好难",
        "周末的线下活动我报名了",
        "群文件里的资料在哪里下载？",
        "[CQ:at,qq=10001] 这个是文字不是艾特",
        "晚安 🌙",
        "求推荐几本入门的书",
        "我来晚了，刚才说到哪了？",
        "签到规则是怎样的？连续签到有奖励吗",
};
static const char *const ads[] = {
        "兼职日结300，加微信 vx12345 详聊，名额有限！",
        "低价代购各种会员，点击 http://cheap.example.com/buy 了解",
        "免费领取资料，扫码进群：http://qr.example.net/abc",
};
static const char *const commands[] = {"签到", "打卡", "/help", "帮助", "/status", "积分"};
static const char *const comments[] = {"朋友推荐来的",         "想参加读书活动",   "答案：蓝色",
                                       "我是新人，想学习一下", "看到公众号过来的", ""};

uint64_t sim__rand(struct qb_sim *s)
{
    /* xorshift64* */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t pick(struct qb_sim *s, size_t n)
{
    return n ? (size_t)(sim__rand(s) % n) : 0;
}

#define PICK(s, arr) (arr)[pick((s), sizeof(arr) / sizeof((arr)[0]))]

static void make_nick(struct qb_sim *s, char *buf, size_t len)
{
    if (pick(s, 3) == 0)
        snprintf(buf, len, "%s", PICK(s, nicks));
    else
        snprintf(buf, len, "%s%s", PICK(s, surnames), PICK(s, given));
}

void qb_sim_populate_demo(struct qb_sim *s)
{
    static const struct {
        const char *id, *name;
    } groups[] = {
            {"810001001", "读书会·每周一书"},
            {"810001002", "晨跑打卡群"},
            {"810001003", "开源技术交流"},
    };
    for (size_t gi = 0; gi < 3; gi++) {
        qb_sim_add_group(s, groups[gi].id, groups[gi].name);
        for (int k = 0; k < 30; k++) {
            /* a third of the members are in two groups */
            char uid[SIM_ID], nick[64];
            long long base = 2000000001LL + (long long)gi * 20;
            snprintf(uid, sizeof uid, "%lld", base + k);
            make_nick(s, nick, sizeof nick);
            const char *role = k == 0 ? "owner" : k <= 2 ? "admin" : "member";
            char nb[64];
            const char *known = sim__nickname(s, uid, nb, sizeof nb);
            qb_sim_add_member(s, groups[gi].id, uid, known == nb ? nick : known, role);
            if (k % 4 == 1) {
                struct sim_member *m = sim__member(sim__group(s, groups[gi].id), uid);
                char card[96];
                snprintf(card, sizeof card, "%s-%s", PICK(s, cities), m->nickname);
                free(m->card);
                m->card = strdup(card);
            }
        }
    }
}

/* A member who may speak right now, or NULL. */
static struct sim_member *speaker(struct qb_sim *s, struct sim_group *g)
{
    int64_t now = qb_clock_now() / 1000;
    for (int tries = 0; tries < 8 && g->nmembers; tries++) {
        struct sim_member *m = g->members[pick(s, g->nmembers)];
        if (!strcmp(m->user_id, s->self_id) || m->muted_until > now)
            continue;
        if (g->whole_ban && sim__role_rank(m->role) < 2)
            continue;
        return m;
    }
    return NULL;
}

static void new_user(struct qb_sim *s, char *uid, size_t len)
{
    snprintf(uid, len, "%lld", (long long)s->next_user++);
}

static void chatter_once(struct qb_sim *s)
{
    if (!s->ngroups)
        return;
    struct sim_group *g = s->groups[pick(s, s->ngroups)];
    char gid[SIM_ID], uid[SIM_ID], nick[64];
    qb_strlcpy(gid, g->group_id, sizeof gid);
    unsigned roll = (unsigned)pick(s, 100);
    if (g->nmembers < 15 && roll >= 60)
        roll = 60; /* keep groups from emptying */
    else if (g->nmembers > 45 && roll >= 60 && roll < 70)
        roll = 70; /* or overflowing */
    if (roll >= 60 && roll < 66) {
        new_user(s, uid, sizeof uid);
        make_nick(s, nick, sizeof nick);
        if (qb_sim_member_join(s, gid, uid, pick(s, 2) ? "approve" : "invite", NULL) == QB_OK) {
            struct sim_member *m = sim__member(g, uid);
            free(m->nickname);
            m->nickname = strdup(nick);
        }
        return;
    }
    if (roll >= 66 && roll < 70) {
        new_user(s, uid, sizeof uid);
        qb_sim_join_request(s, gid, uid, PICK(s, comments));
        return;
    }
    if (roll >= 70 && roll < 73) {
        struct sim_member *m = speaker(s, g);
        if (m && !strcmp(m->role, "member")) {
            qb_strlcpy(uid, m->user_id, sizeof uid);
            qb_sim_member_leave(s, gid, uid, "leave", NULL);
        }
        return;
    }
    struct sim_member *m = speaker(s, g);
    if (!m)
        return;
    qb_strlcpy(uid, m->user_id, sizeof uid);
    if (roll < 25)
        qb_sim_group_msg(s, gid, uid, PICK(s, commands));
    else if (roll < 27)
        qb_sim_group_msg(s, gid, uid, PICK(s, ads));
    else
        qb_sim_group_msg(s, gid, uid, PICK(s, chat));
}

static void chatter_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    chatter_once(w->data);
}

void qb_sim_chatter(struct qb_sim *s, int interval_ms)
{
    ev_timer_stop(s->loop, &s->chatter);
    if (interval_ms <= 0)
        return;
    ev_init(&s->chatter, chatter_cb);
    s->chatter.data = s;
    double iv = interval_ms / 1000.0;
    ev_timer_set(&s->chatter, iv, iv);
    ev_timer_start(s->loop, &s->chatter);
}
