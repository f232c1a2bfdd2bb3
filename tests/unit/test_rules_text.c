/*
 * test_rules_text.c — tests of the rules engine's text layer: normalisation of evasion
 * spellings, the Aho–Corasick keyword automaton (checked against a naive search) and the
 * SimHash fingerprints with their time-ordered index.
 * Uses only the public API in rules/rules.h; no files, no clock, no sleeps.
 * link: qb_rules
 */
#include "rules.h"

#include <qunbot/qunbot.h>

#include "test.h"
#include "util/util.h"

/* ------------------------------------------------------------------ normalisation */

/* Normalise s and compare with want; also checks the reported length. */
static int norm_is(const char *s, const char *want)
{
    size_t n = 12345;
    char *got = qb_rules_normalize(s, strlen(s), &n);
    int ok = got && strcmp(got, want) == 0 && n == strlen(got);
    if (!ok)
        fprintf(stderr, "  normalize(\"%s\") = \"%s\", want \"%s\"\n", s, got ? got : "(null)",
                want);
    free(got);
    return ok;
}

TEST(normalize_contact_evasions)
{
    CHECK(norm_is("加 微·信", "加微信"));
    CHECK(norm_is("加ｖ信", "加微信"));
    CHECK(norm_is("薇信", "微信"));
    CHECK(norm_is("威信号", "微信号"));
    CHECK(norm_is("ＶＸ", "微信"));
    CHECK(norm_is("wx：abc123", "微信abc123"));
    CHECK(norm_is("加V12345", "加微信12345"));
    CHECK(norm_is("加v", "加微信"));
    CHECK(norm_is("加v信", "加微信"));
    CHECK(norm_is("扣扣", "qq"));
    CHECK(norm_is("蔻 蔻：12345", "qq12345"));
    CHECK(norm_is("ＱＱ：１２３４５", "qq12345"));
}

TEST(normalize_homophones_leave_words_alone)
{
    CHECK(norm_is("加vip群", "加vip群"));
    CHECK(norm_is("devx", "devx"));
    CHECK(norm_is("微笑", "微笑"));
}

TEST(normalize_fancy_letters)
{
    CHECK(norm_is("𝔾𝕝𝕒𝕕𝕪𝕤", "gladys"));
    CHECK(norm_is("ℍ𝕖𝕝𝕝𝕠", "hello"));
    CHECK(norm_is("𝐀𝐁𝐂 𝒙𝒚𝒛", "abcxyz"));
    CHECK(norm_is("ⒶⓑⒸ ⒜", "abca"));
    CHECK(norm_is("ｈｔｔｐ", "http"));
    CHECK(norm_is("аррlе", "apple")); /* Cyrillic а р р е */
    CHECK(norm_is("οκ", "ok"));       /* Greek omicron, kappa */
    CHECK(norm_is("Café DÉJÀ", "cafedeja"));
    CHECK(norm_is("nǐ hǎo", "nihao"));
    CHECK(norm_is("ꜱᴇx", "sex"));
    CHECK(norm_is("Hello, World!", "helloworld"));
}

TEST(normalize_digit_runs)
{
    CHECK(norm_is("①③⑧", "138"));
    CHECK(norm_is("一三八零零一三八零零零", "13800138000"));
    CHECK(norm_is("幺三八 零零一三 八零零零", "13800138000"));
    CHECK(norm_is("壹贰叁肆伍", "12345"));
    CHECK(norm_is("1三8零", "1380"));
    CHECK(norm_is("〇〇〇〇", "0000"));
    CHECK(norm_is("㊀㊁㊂㊃", "1234"));
    CHECK(norm_is("𝟏𝟑𝟖", "138"));
    CHECK(norm_is("1️⃣2️⃣3️⃣", "123"));
    CHECK(norm_is("⑩⑪", "1011"));
    /* short runs are words */
    CHECK(norm_is("一起", "一起"));
    CHECK(norm_is("三三两两", "三三两两"));
    CHECK(norm_is("一二三去打球", "一二三去打球"));
    CHECK(norm_is("第一二三四名", "第1234名"));
}

TEST(normalize_drops_invisible_and_symbols)
{
    CHECK(norm_is("加😀微😀信", "加微信"));
    CHECK(norm_is("加\u200d微\u200b信\ufeff", "加微信"));
    CHECK(norm_is("加\u2060微\u200c信\u200e", "加微信"));
    CHECK(norm_is("加\u3000微　信", "加微信"));
    CHECK(norm_is("【加微信】「看」《这》！", "加微信看这"));
    CHECK(norm_is("e\u0301e\u0308", "ee"));
    CHECK(norm_is("❤\ufe0f👍🏻", ""));
    CHECK(norm_is("加\U000E0100微\U000E0041信", "加微信"));
    CHECK(norm_is("加→微★信♥", "加微信"));
    CHECK(norm_is("加・微・信", "加微信"));
}

TEST(normalize_keeps_cjk_kana_hangul)
{
    CHECK(norm_is("今天天气不错", "今天天气不错"));
    CHECK(norm_is("こんにちはカタカナ", "こんにちはカタカナ"));
    CHECK(norm_is("안녕하세요", "안녕하세요"));
    CHECK(norm_is("𠀀𠀁", "𠀀𠀁")); /* CJK extension B */
}

TEST(normalize_invalid_utf8)
{
    CHECK(norm_is("a\xff\xfe"
                  "b\xc3",
                  "ab"));
    CHECK(norm_is("\xc0\xaf"
                  "x",
                  "x")); /* overlong '/' */
    CHECK(norm_is("\xed\xa0\x80"
                  "y",
                  "y"));                            /* surrogate */
    CHECK(norm_is("加\x80微\xe5\xbe信", "加微信")); /* stray continuation, cut sequence */
    CHECK(norm_is("\xf4\x90\x80\x80z", "z"));       /* above U+10FFFF */
}

TEST(normalize_empty)
{
    size_t n = 99;
    char *s = qb_rules_normalize("", 0, &n);
    CHECK(s != NULL);
    CHECK_STR(s, "");
    CHECK_INT(n, 0);
    free(s);
    s = qb_rules_normalize(NULL, 0, NULL);
    CHECK_STR(s, "");
    free(s);
    s = qb_rules_normalize("  ！？😀 ", strlen("  ！？😀 "), &n);
    CHECK_STR(s, "");
    CHECK_INT(n, 0);
    free(s);
}

TEST(normalize_long_input)
{
    /* 6000 repetitions: folding is linear and the result is exact */
    const char *unit = "加😀微·信";
    size_t ul = strlen(unit), reps = 6000;
    char *in = malloc(ul * reps + 1);
    for (size_t i = 0; i < reps; i++)
        memcpy(in + i * ul, unit, ul);
    in[ul * reps] = '\0';
    size_t n;
    char *out = qb_rules_normalize(in, ul * reps, &n);
    CHECK(out != NULL);
    CHECK_INT(n, reps * strlen("加微信"));
    int same = 1;
    for (size_t i = 0; out && i < reps; i++)
        same &= memcmp(out + i * 9, "加微信", 9) == 0;
    CHECK(same);
    free(out);
    free(in);

    /* homophone rewrites grow the text, but never past three times */
    reps = 5000;
    in = malloc(3 * reps + 1);
    for (size_t i = 0; i < reps; i++)
        memcpy(in + 3 * i, "vx1", 3);
    out = qb_rules_normalize(in, 3 * reps, &n);
    CHECK(out != NULL);
    CHECK_INT(n, reps * strlen("微信1"));
    CHECK(n <= 3 * 3 * reps);
    free(out);

    /* a long digit-word run becomes one number */
    for (size_t i = 0; i < reps; i++)
        memcpy(in + 3 * i, "八", 3);
    out = qb_rules_normalize(in, 3 * reps, &n);
    CHECK_INT(n, reps);
    CHECK(out && out[0] == '8' && out[reps - 1] == '8' && strspn(out, "8") == reps);
    free(out);
    free(in);
}

/* A small deterministic generator, so failures can be reproduced. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

TEST(normalize_random_input_is_bounded_and_stable)
{
    /* random bytes: output is valid UTF-8 and never longer than three times the input */
    uint64_t seed = 42;
    char buf[512];
    int bad = 0;
    for (int round = 0; round < 2000; round++) {
        size_t len = rng_next(&seed) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)rng_next(&seed);
        size_t n;
        char *out = qb_rules_normalize(buf, len, &n);
        bad += !out || n > 3 * len || strlen(out) != n || !qb_utf8_valid(out, n);
        free(out);
    }
    CHECK_INT(bad, 0);

    /* random mixes of evasion pieces: normalising twice changes nothing, so keywords
     * (normalised once) and messages (normalised once) meet */
    static const char *const piece[] = {"加", "v",  "x",  "w",  "信", "微",     "薇", "扣",
                                        "一", "三", "零", "幺", "1",  "①",      "ｖ", "Ｘ",
                                        "😀",  " ",  "·",  "q",  "起", "\u200b", "𝕧",  "а"};
    int unstable = 0;
    for (int round = 0; round < 3000; round++) {
        size_t len = 0, k = 1 + rng_next(&seed) % 12;
        for (size_t i = 0; i < k; i++) {
            const char *p = piece[rng_next(&seed) % (sizeof piece / sizeof piece[0])];
            memcpy(buf + len, p, strlen(p));
            len += strlen(p);
        }
        size_t n1, n2;
        char *once = qb_rules_normalize(buf, len, &n1);
        char *twice = qb_rules_normalize(once, n1, &n2);
        if (n1 != n2 || strcmp(once, twice) != 0) {
            if (unstable++ < 3)
                fprintf(stderr, "  unstable: \"%.*s\" -> \"%s\" -> \"%s\"\n", (int)len, buf, once,
                        twice);
        }
        free(once);
        free(twice);
    }
    CHECK_INT(unstable, 0);
}

/* ------------------------------------------------------------------ automaton */

#define MAX_HITS 64

struct hits {
    int n;
    uint32_t value[MAX_HITS];
    size_t end[MAX_HITS], len[MAX_HITS];
    int stop_after; /* 0 = never stop */
};

static int record(uint32_t value, size_t end, size_t len, void *ud)
{
    struct hits *h = ud;
    if (h->n < MAX_HITS) {
        h->value[h->n] = value;
        h->end[h->n] = end;
        h->len[h->n] = len;
    }
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}

static struct qb_ac *ac_of(const char *const *words, size_t n)
{
    struct qb_ac *ac = qb_ac_new();
    for (size_t i = 0; ac && i < n; i++)
        if (qb_ac_add(ac, words[i], strlen(words[i]), (uint32_t)i) != QB_OK)
            return NULL;
    if (ac && qb_ac_build(ac) != QB_OK)
        return NULL;
    return ac;
}

/* Does the hit list contain (value, end)? */
static int has_hit(const struct hits *h, uint32_t value, size_t end)
{
    for (int i = 0; i < h->n && i < MAX_HITS; i++)
        if (h->value[i] == value && h->end[i] == end)
            return 1;
    return 0;
}

TEST(ac_overlapping_patterns)
{
    const char *words[] = {"he", "she", "his", "hers"};
    struct qb_ac *ac = ac_of(words, 4);
    CHECK(ac != NULL);
    CHECK_INT(qb_ac_patterns(ac), 4);
    struct hits h = {0};
    CHECK_INT(qb_ac_scan(ac, "ushers", 6, record, &h), 3);
    CHECK_INT(h.n, 3);
    CHECK(has_hit(&h, 1, 4)); /* she */
    CHECK(has_hit(&h, 0, 4)); /* he */
    CHECK(has_hit(&h, 3, 6)); /* hers */
    CHECK(h.len[0] + h.len[1] == 5 && h.len[2] == 4);
    /* in order of end position */
    for (int i = 1; i < h.n; i++)
        CHECK(h.end[i - 1] <= h.end[i]);
    memset(&h, 0, sizeof h);
    CHECK_INT(qb_ac_scan(ac, "ahishers", 8, record, &h), 4);
    CHECK(has_hit(&h, 2, 4) && has_hit(&h, 1, 6) && has_hit(&h, 0, 6) && has_hit(&h, 3, 8));
    CHECK_INT(qb_ac_scan(ac, "xyz", 3, record, &h), 0);
    qb_ac_free(ac);
}

TEST(ac_shared_prefixes_and_chinese)
{
    const char *words[] = {"加微信", "加微", "加群", "微信号", "代练", "a", "ab", "abc"};
    struct qb_ac *ac = ac_of(words, 8);
    CHECK(ac != NULL);
    struct hits h = {0};
    const char *t = "快来加微信号买代练";
    qb_ac_scan(ac, t, strlen(t), record, &h);
    CHECK_INT(h.n, 4);
    CHECK(has_hit(&h, 1, strlen("快来加微")));
    CHECK(has_hit(&h, 0, strlen("快来加微信")));
    CHECK(has_hit(&h, 3, strlen("快来加微信号")));
    CHECK(has_hit(&h, 4, strlen(t)));
    CHECK(!has_hit(&h, 2, strlen("快来加群")));
    memset(&h, 0, sizeof h);
    CHECK_INT(qb_ac_scan(ac, "abcab", 5, record, &h), 5);
    CHECK(has_hit(&h, 5, 1) && has_hit(&h, 6, 2) && has_hit(&h, 7, 3) && has_hit(&h, 5, 4) &&
          has_hit(&h, 6, 5));
    qb_ac_free(ac);
}

TEST(ac_same_pattern_twice_reports_every_value)
{
    struct qb_ac *ac = qb_ac_new();
    CHECK_INT(qb_ac_add(ac, "代刷", strlen("代刷"), 7), QB_OK);
    CHECK_INT(qb_ac_add(ac, "代刷", strlen("代刷"), 9), QB_OK);
    CHECK_INT(qb_ac_patterns(ac), 2);
    CHECK_INT(qb_ac_build(ac), QB_OK);
    struct hits h = {0};
    CHECK_INT(qb_ac_scan(ac, "专业代刷", strlen("专业代刷"), record, &h), 2);
    CHECK(has_hit(&h, 7, strlen("专业代刷")) && has_hit(&h, 9, strlen("专业代刷")));
    qb_ac_free(ac);
}

TEST(ac_early_stop)
{
    const char *words[] = {"a"};
    struct qb_ac *ac = ac_of(words, 1);
    struct hits h = {.stop_after = 2};
    CHECK_INT(qb_ac_scan(ac, "aaaaaa", 6, record, &h), 2);
    CHECK_INT(h.n, 2);
    CHECK_INT(h.end[1], 2);
    /* without a callback every hit is counted */
    CHECK_INT(qb_ac_scan(ac, "aaaaaa", 6, NULL, NULL), 6);
    qb_ac_free(ac);
}

TEST(ac_rejects_bad_use)
{
    struct qb_ac *ac = qb_ac_new();
    CHECK_INT(qb_ac_add(ac, "", 0, 1), QB_EINVAL);
    CHECK_INT(qb_ac_add(ac, "x", 1, 1), QB_OK);
    /* not built yet: nothing is found */
    CHECK_INT(qb_ac_scan(ac, "x", 1, NULL, NULL), 0);
    CHECK_INT(qb_ac_build(ac), QB_OK);
    CHECK_INT(qb_ac_add(ac, "y", 1, 2), QB_EINVAL);
    CHECK_INT(qb_ac_patterns(ac), 1);
    CHECK_INT(qb_ac_scan(ac, "xyx", 3, NULL, NULL), 2);
    CHECK(qb_ac_memory(ac) > 0);
    qb_ac_free(ac);
    qb_ac_free(NULL);

    struct qb_ac *empty = qb_ac_new();
    CHECK_INT(qb_ac_build(empty), QB_OK);
    CHECK_INT(qb_ac_scan(empty, "anything", 8, NULL, NULL), 0);
    qb_ac_free(empty);
}


struct count_hits {
    size_t *per_value;
    size_t total;
};

static int count_hit(uint32_t value, size_t end, size_t len, void *ud)
{
    struct count_hits *c = ud;
    (void)end;
    (void)len;
    c->per_value[value]++;
    c->total++;
    return 0;
}

static size_t naive_count(const char *text, size_t tlen, const char *p, size_t plen)
{
    size_t n = 0;
    for (size_t i = 0; i + plen <= tlen; i++)
        n += memcmp(text + i, p, plen) == 0;
    return n;
}

TEST(ac_random_patterns_match_naive_search)
{
    /* 20,000 patterns over a 4-letter alphabet (many overlaps and shared prefixes) plus
     * Chinese syllables, checked against a naive search of every pattern */
    enum { NPAT = 20000, TLEN = 4000 };
    static const char *const syl[] = {"加", "微", "信", "代", "练", "a", "b", "c", "d"};
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    char(*pats)[32] = calloc(NPAT, sizeof *pats);
    struct qb_ac *ac = qb_ac_new();
    for (size_t i = 0; i < NPAT; i++) {
        size_t len = 1 + rng_next(&seed) % 6;
        char *p = pats[i];
        for (size_t k = 0; k < len; k++)
            strcat(p, syl[rng_next(&seed) % 9]);
        CHECK_INT(qb_ac_add(ac, p, strlen(p), (uint32_t)i), QB_OK);
    }
    CHECK_INT(qb_ac_build(ac), QB_OK);
    char *text = calloc(TLEN * 3 + 1, 1);
    for (size_t k = 0; strlen(text) + 3 < (size_t)TLEN * 3;)
        strcat(text, syl[rng_next(&seed) % 9]), k++;
    size_t tlen = strlen(text);
    struct count_hits c = {.per_value = calloc(NPAT, sizeof(size_t))};
    size_t total = qb_ac_scan(ac, text, tlen, count_hit, &c);
    CHECK_INT(total, c.total);
    size_t expect_total = 0, wrong = 0;
    for (size_t i = 0; i < NPAT; i++) {
        size_t n = naive_count(text, tlen, pats[i], strlen(pats[i]));
        expect_total += n;
        wrong += n != c.per_value[i];
    }
    CHECK_INT(wrong, 0);
    CHECK_INT(total, expect_total);
    CHECK(expect_total > 1000); /* the comparison saw real work */
    free(c.per_value);
    free(text);
    free(pats);
    qb_ac_free(ac);
}

/* ------------------------------------------------------------------ SimHash */

static uint64_t sh(const char *s)
{
    size_t n;
    char *norm = qb_rules_normalize(s, strlen(s), &n);
    uint64_t h = qb_simhash(norm, n);
    free(norm);
    return h;
}

TEST(simhash_distances)
{
    const char *a = "出售各种游戏账号装备，价格便宜量大从优，需要的朋友私聊我，诚信交易非诚勿扰";
    const char *a1 = "出售各种游戏账号装备，价格便宜量大从优，需要的朋友私聊我，诚信交易非诚勿找";
    const char *a2 = "出售各种游戏帐号装备，价格便宜量大从优，需要的朋友私聊我，诚信交易非诚勿扰";
    const char *b = "今天晚上八点服务器维护两个小时，大家提前下线，维护结束后会在群里通知";
    CHECK_INT(qb_hamming64(sh(a), sh(a)), 0);
    /* punctuation, spaces and width do not change the fingerprint */
    CHECK_INT(qb_hamming64(sh(a), sh("出售各种 游戏账号装备 价格便宜量大从优！！需要的朋友私聊我 "
                                     "诚信交易非诚勿扰😀")),
              0);
    /* one changed character moves a few bits (SimHash is noisy on short texts), unrelated
     * texts about half of them */
    CHECK(qb_hamming64(sh(a), sh(a1)) <= 10);
    CHECK(qb_hamming64(sh(a), sh(a2)) <= 10);
    const char *l =
            "本群新开了一个游戏交流频道，欢迎大家进来聊天分享攻略，每周六晚上八点有抽奖活动，"
            "奖品是游戏周边和会员月卡，参加方式是在群里发一张你最满意的游戏截图并写上简短的说明";
    const char *l1 =
            "本群新开了一个游戏交流频道，欢迎大家进来聊天分享攻略，每周六晚上八点有抽奖活动，"
            "奖品是游戏周边和会员月卡，参加方式是在群里发一张你最满意的游戏截屏并写上简短的说明";
    CHECK(qb_hamming64(sh(l), sh(l1)) <= 10);
    CHECK(qb_hamming64(sh(l), sh(b)) >= 20);
    CHECK(qb_hamming64(sh(a), sh(b)) >= 16);
    CHECK(qb_hamming64(sh("hello world"), sh("今天吃什么")) >= 16);
    CHECK_INT(qb_simhash("", 0), 0);
    CHECK(qb_simhash("a", 1) != qb_simhash("b", 1)); /* short texts still differ */
    CHECK(qb_simhash("ab", 2) != qb_simhash("ba", 2));
    CHECK_INT(qb_hamming64(0, UINT64_MAX), 64);
    CHECK_INT(qb_hamming64(0x5, 0x3), 2);
}

TEST(rules_key_is_stable)
{
    CHECK(qb_rules_key("123456") == qb_rules_key("123456"));
    CHECK(qb_rules_key("123456") != qb_rules_key("123457"));
    CHECK(qb_rules_key("") == 0xcbf29ce484222325ull); /* FNV-1a offset basis */
    CHECK(qb_rules_key("a") == 0xaf63dc4c8601ec8cull);
}

struct found {
    int n;
    uint64_t user[16];
    int dist[16];
    int stop_after;
};

static int on_found(const struct qb_simentry *e, int dist, void *ud)
{
    struct found *f = ud;
    if (f->n < 16) {
        f->user[f->n] = e->user;
        f->dist[f->n] = dist;
    }
    f->n++;
    return f->stop_after && f->n >= f->stop_after;
}

static void idx_add(struct qb_simidx *ix, uint64_t hash, int64_t ts, uint64_t user)
{
    struct qb_simentry e = {.hash = hash, .ts_ms = ts, .group = 1, .user = user};
    CHECK_INT(qb_simidx_add(ix, &e), QB_OK);
}

TEST(simidx_find_within_distance_newest_first)
{
    struct qb_simidx *ix = qb_simidx_new(1000);
    uint64_t h = 0x0123456789ABCDEFull;
    idx_add(ix, h, 1000, 1);
    idx_add(ix, h ^ 0x1, 2000, 2);                   /* 1 bit */
    idx_add(ix, h ^ 0x10001ull, 3000, 3);            /* 2 bits in two bands */
    idx_add(ix, h ^ 0x0001000100010001ull, 4000, 4); /* 4 bits, one in every band */
    idx_add(ix, ~h, 5000, 5);                        /* far */
    idx_add(ix, h ^ 0x8000000000000007ull, 6000, 6); /* 4 bits */
    idx_add(ix, h ^ 0x8000000000000003ull, 7000, 7); /* 3 bits */
    CHECK_INT(qb_simidx_count(ix), 7);
    struct found f = {0};
    CHECK_INT(qb_simidx_find(ix, h, 3, INT64_MIN, on_found, &f), 4);
    CHECK_INT(f.n, 4);
    CHECK(f.user[0] == 7 && f.user[1] == 3 && f.user[2] == 2 && f.user[3] == 1);
    CHECK(f.dist[0] == 3 && f.dist[1] == 2 && f.dist[2] == 1 && f.dist[3] == 0);
    memset(&f, 0, sizeof f);
    CHECK_INT(qb_simidx_find(ix, h, 0, INT64_MIN, on_found, &f), 1);
    CHECK(f.user[0] == 1);
    /* since_ms leaves older entries out */
    memset(&f, 0, sizeof f);
    CHECK_INT(qb_simidx_find(ix, h, 3, 2500, on_found, &f), 2);
    CHECK(f.user[0] == 7 && f.user[1] == 3);
    /* the callback stops the search */
    memset(&f, 0, sizeof f);
    f.stop_after = 1;
    CHECK_INT(qb_simidx_find(ix, h, 3, INT64_MIN, on_found, &f), 1);
    CHECK(f.user[0] == 7);
    /* wider searches look at everything */
    memset(&f, 0, sizeof f);
    CHECK_INT(qb_simidx_find(ix, h, 4, INT64_MIN, on_found, &f), 6);
    CHECK(f.user[0] == 7 && f.user[1] == 6 && f.user[2] == 4);
    CHECK_INT(qb_simidx_find(ix, h, -1, INT64_MIN, NULL, NULL), 0);
    qb_simidx_free(ix);
}

TEST(simidx_capacity_evicts_oldest)
{
    struct qb_simidx *ix = qb_simidx_new(3);
    uint64_t h = 0xFEEDFACECAFEBEEFull;
    for (uint64_t u = 1; u <= 5; u++)
        idx_add(ix, h ^ u, (int64_t)u * 1000, u);
    CHECK_INT(qb_simidx_count(ix), 3);
    struct found f = {0};
    CHECK_INT(qb_simidx_find(ix, h, 3, INT64_MIN, on_found, &f), 3);
    CHECK(f.user[0] == 5 && f.user[1] == 4 && f.user[2] == 3);
    /* an evicted entry's bucket is reused safely */
    memset(&f, 0, sizeof f);
    CHECK_INT(qb_simidx_find(ix, h ^ 1, 0, INT64_MIN, on_found, &f), 0);
    qb_simidx_free(ix);
    qb_simidx_free(NULL);
}

TEST(simidx_many_entries)
{
    /* 100k random fingerprints in a 65,536 ring: exactly the live near ones are found */
    struct qb_simidx *ix = qb_simidx_new(65536);
    uint64_t seed = 12345, target = 0xA5A5A5A55A5A5A5Aull;
    int planted = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t hash = rng_next(&seed);
        if (i % 1000 == 999) {
            hash = target ^ (1ull << (i % 64)); /* one bit away */
            planted += i >= 100000 - 65536;
        }
        idx_add(ix, hash, i, (uint64_t)i);
    }
    CHECK_INT(qb_simidx_count(ix), 65536);
    struct found f = {0};
    size_t n = qb_simidx_find(ix, target, 3, INT64_MIN, on_found, &f);
    CHECK_INT(n, planted);
    CHECK(f.user[0] == 99999);
    CHECK(f.user[1] == 98999);
    qb_simidx_free(ix);
}

int main(void)
{
    RUN(normalize_contact_evasions);
    RUN(normalize_homophones_leave_words_alone);
    RUN(normalize_fancy_letters);
    RUN(normalize_digit_runs);
    RUN(normalize_drops_invisible_and_symbols);
    RUN(normalize_keeps_cjk_kana_hangul);
    RUN(normalize_invalid_utf8);
    RUN(normalize_empty);
    RUN(normalize_long_input);
    RUN(normalize_random_input_is_bounded_and_stable);
    RUN(ac_overlapping_patterns);
    RUN(ac_shared_prefixes_and_chinese);
    RUN(ac_same_pattern_twice_reports_every_value);
    RUN(ac_early_stop);
    RUN(ac_rejects_bad_use);
    RUN(ac_random_patterns_match_naive_search);
    RUN(simhash_distances);
    RUN(rules_key_is_stable);
    RUN(simidx_find_within_distance_newest_first);
    RUN(simidx_capacity_evicts_oldest);
    RUN(simidx_many_entries);
    return test_done();
}
