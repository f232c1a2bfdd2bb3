/*
 * bench_rules.c — qunbot-bench-rules: measures the rules engine's text layer on synthetic
 * Chinese data: keyword automaton build time and memory, scan throughput, normalisation
 * throughput, SimHash fingerprints and the fingerprint index, and the worst case of one
 * 5000-character hostile message (the guard's budget is 1 ms per message).
 * Standalone program; deterministic input (fixed seed); prints a report, writes no files.
 * Usage: qunbot-bench-rules [--words N] [--messages M]
 */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qunbot/qunbot.h>

#define N_DISTINCT  4096 /* distinct messages, cycled through M times */
#define IDX_ENTRIES 100000

/* Common characters, so words and messages share an alphabet like real chat does. */
static const char POOL[] =
        "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可"
        "下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最"
        "女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲"
        "其进此话常与活正感见明问力理尔点文几定本公特做外孩相西果走将月十实向声车全信重三机工物气"
        "每并别真打太新比才便夫再书部水像眼等体却加电主界门利海受听表德少克代员许稜先口由死安写性"
        "马光白或住难望教命花结乐色更拉东神记处让母父应直字场平报友关放至张认接告入笑内英军候民岁"
        "往何度山觉路带万男边风解叫任金快原吃妈变通师立象数四失满战远格士音轻目条呢微群号码免费价"
        "格优惠代练刷钻充值游戏账号出售收购兼职日结招聘联系私聊扫码进群红包福利赚钱";

static const char *const DECOR[] = {" ",  "，", "。", "！", "😀",  "·",  "\u200b", "ｖｘ",
                                    "１", "Ａ", "、", "~",  "【", "】", "🔥",      "\u3000"};

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Append one random pool character (3 bytes) to dst at *len. */
static void put_char(char *dst, size_t *len, uint64_t *seed)
{
    size_t n = (sizeof POOL - 1) / 3;
    memcpy(dst + *len, POOL + 3 * (rng(seed) % n), 3);
    *len += 3;
}

/* A raw message of 10–200 characters with some decorations. Caller frees. */
static char *make_message(uint64_t *seed, size_t chars)
{
    char *m = malloc(chars * 8 + 1);
    size_t len = 0;
    for (size_t i = 0; i < chars; i++) {
        if (rng(seed) % 8 == 0) {
            const char *d = DECOR[rng(seed) % (sizeof DECOR / sizeof DECOR[0])];
            memcpy(m + len, d, strlen(d));
            len += strlen(d);
        } else {
            put_char(m, &len, seed);
        }
    }
    m[len] = '\0';
    return m;
}

static int count_hit(uint32_t value, size_t end, size_t len, void *ud)
{
    (void)value;
    (void)end;
    (void)len;
    (*(size_t *)ud)++;
    return 0;
}

static int count_found(const struct qb_simentry *e, int dist, void *ud)
{
    (void)e;
    (void)dist;
    (*(size_t *)ud)++;
    return 0;
}

static struct qb_ac *bench_build(size_t n_words, uint64_t *seed)
{
    double t0 = now_s();
    struct qb_ac *ac = qb_ac_new();
    char word[16];
    for (size_t i = 0; ac && i < n_words; i++) {
        size_t len = 0, chars = 2 + rng(seed) % 3; /* 2–4 characters */
        for (size_t k = 0; k < chars; k++)
            put_char(word, &len, seed);
        if (qb_ac_add(ac, word, len, (uint32_t)i) != QB_OK) {
            qb_ac_free(ac);
            return NULL;
        }
    }
    size_t mem_before = qb_ac_memory(ac);
    if (!ac || qb_ac_build(ac) != QB_OK) {
        qb_ac_free(ac);
        return NULL;
    }
    double dt = now_s() - t0;
    printf("automaton: %zu words built in %.1f ms; %.2f MB while adding, %.2f MB built "
           "(%.1f bytes per word)\n",
           n_words, dt * 1e3, (double)mem_before / 1e6, (double)qb_ac_memory(ac) / 1e6,
           (double)qb_ac_memory(ac) / (double)n_words);
    return ac;
}

static void bench_text(const struct qb_ac *ac, char **raw, size_t n_msgs)
{
    char **norm = calloc(N_DISTINCT, sizeof *norm);
    size_t *nlen = calloc(N_DISTINCT, sizeof *nlen);
    size_t raw_bytes = 0, norm_bytes = 0, hits = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n_msgs; i++) {
        size_t k = i % N_DISTINCT, len = strlen(raw[k]), n;
        char *s = qb_rules_normalize(raw[k], len, &n);
        raw_bytes += len;
        if (i < N_DISTINCT) {
            norm[k] = s;
            nlen[k] = n;
        } else {
            free(s);
        }
    }
    double dt = now_s() - t0;
    printf("normalise: %zu messages in %.1f ms: %.0f messages/s, %.1f MB/s\n", n_msgs, dt * 1e3,
           (double)n_msgs / dt, (double)raw_bytes / dt / 1e6);

    t0 = now_s();
    for (size_t i = 0; i < n_msgs; i++) {
        size_t k = i % N_DISTINCT;
        qb_ac_scan(ac, norm[k], nlen[k], count_hit, &hits);
        norm_bytes += nlen[k];
    }
    dt = now_s() - t0;
    printf("scan:      %zu messages in %.1f ms: %.0f messages/s, %.1f MB/s, %zu hits\n", n_msgs,
           dt * 1e3, (double)n_msgs / dt, (double)norm_bytes / dt / 1e6, hits);

    uint64_t sink = 0;
    t0 = now_s();
    for (size_t i = 0; i < n_msgs; i++) {
        size_t k = i % N_DISTINCT;
        sink ^= qb_simhash(norm[k], nlen[k]);
    }
    dt = now_s() - t0;
    printf("simhash:   %zu messages in %.1f ms: %.0f messages/s, %.1f MB/s (%016llx)\n", n_msgs,
           dt * 1e3, (double)n_msgs / dt, (double)norm_bytes / dt / 1e6, (unsigned long long)sink);
    for (size_t k = 0; k < N_DISTINCT; k++)
        free(norm[k]);
    free(norm);
    free(nlen);
}

static void bench_index(uint64_t *seed)
{
    struct qb_simidx *ix = qb_simidx_new(IDX_ENTRIES);
    if (!ix)
        return;
    uint64_t *hashes = malloc(IDX_ENTRIES * sizeof *hashes);
    for (size_t i = 0; i < IDX_ENTRIES; i++)
        hashes[i] = rng(seed);
    double t0 = now_s();
    for (size_t i = 0; i < IDX_ENTRIES; i++) {
        struct qb_simentry e = {
                .hash = hashes[i], .ts_ms = (int64_t)i, .group = i % 50, .user = i % 5000};
        qb_simidx_add(ix, &e);
    }
    double dt_add = now_s() - t0;
    size_t found = 0;
    t0 = now_s();
    for (size_t i = 0; i < IDX_ENTRIES; i++) {
        /* half the queries are near an entry (2 bits away), half are new texts */
        uint64_t q = i % 2 ? hashes[(i * 7919) % IDX_ENTRIES] ^ 0x0000000100000001ull : rng(seed);
        qb_simidx_find(ix, q, 3, 0, count_found, &found);
    }
    double dt_find = now_s() - t0;
    printf("simidx:    %d entries: add %.0f/s, find (3 bits) %.0f/s, %zu found\n", IDX_ENTRIES,
           IDX_ENTRIES / dt_add, IDX_ENTRIES / dt_find, found);
    free(hashes);
    qb_simidx_free(ix);
}

/* One 5000-character message of keyword fragments, emoji and zero-width characters. */
static void bench_hostile(const struct qb_ac *ac, uint64_t *seed)
{
    char *m = make_message(seed, 5000);
    size_t len = strlen(m), hits = 0, n;
    enum { ROUNDS = 200 };
    double t0 = now_s();
    for (int r = 0; r < ROUNDS; r++) {
        char *s = qb_rules_normalize(m, len, &n);
        qb_ac_scan(ac, s, n, count_hit, &hits);
        (void)qb_simhash(s, n);
        free(s);
    }
    double dt = (now_s() - t0) / ROUNDS;
    printf("worst case: one 5000-character message (%zu bytes): normalise + scan + simhash in "
           "%.3f ms\n",
           len, dt * 1e3);
    free(m);
}

/* The whole engine as the guard runs it: the shipped pack (words, contacts, model, links,
 * floods, repeats, reposts) on every message, members and groups varying. */
static void bench_engine(char **raw, size_t n_msgs, const char *pack)
{
    struct qb_ruleset *rs = NULL;
    char err[512];
    if (qb_ruleset_load(&pack, 1, &rs, err, sizeof err) != QB_OK) {
        printf("engine:    skipped (%s)\n", err);
        return;
    }
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    struct qb_msg *msgs = malloc(N_DISTINCT * sizeof *msgs);
    for (size_t k = 0; k < N_DISTINCT; k++) {
        qb_msg_init(&msgs[k]);
        qb_msg_text(&msgs[k], raw[k]);
        qb_msg_finish(&msgs[k]);
    }
    struct qb_rules_hit hits[16];
    size_t n_hits = 0;
    double worst = 0, t0 = now_s();
    for (size_t i = 0; i < n_msgs; i++) {
        char user[24], group[24];
        snprintf(user, sizeof user, "%zu", 10000 + i % 5000);
        snprintf(group, sizeof group, "%zu", 100 + i % 50);
        struct qb_rules_input in = {.msg = &msgs[i % N_DISTINCT],
                                    .group_id = group,
                                    .user_id = user,
                                    .now_ms = 1700000000000LL + (int64_t)i * 20};
        double m0 = now_s();
        n_hits += qb_ruleset_eval(rs, &pol, &in, hits, 16);
        double dm = now_s() - m0;
        if (dm > worst)
            worst = dm;
    }
    double dt = now_s() - t0;
    printf("engine:    %zu messages through %s (%zu rules) in %.1f ms: %.0f messages/s, "
           "%.1f µs average, %.3f ms slowest, %zu hits\n",
           n_msgs, pack, qb_ruleset_count(rs), dt * 1e3, n_msgs / dt, dt / n_msgs * 1e6,
           worst * 1e3, n_hits);
    for (size_t k = 0; k < N_DISTINCT; k++)
        qb_msg_clear(&msgs[k]);
    free(msgs);
    qb_ruleset_free(rs);
}

static int parse_count(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    size_t n_words = 50000, n_msgs = 100000;
    for (int i = 1; i < argc; i++) {
        size_t *dst = !strcmp(argv[i], "--words")      ? &n_words
                      : !strcmp(argv[i], "--messages") ? &n_msgs
                                                       : NULL;
        if (!dst || i + 1 >= argc || parse_count(argv[++i], dst) != 0) {
            fprintf(stderr, "usage: %s [--words N] [--messages M]\n", argv[0]);
            return 2;
        }
    }
    uint64_t seed = 0x243F6A8885A308D3ull;
    struct qb_ac *ac = bench_build(n_words, &seed);
    if (!ac) {
        fprintf(stderr, "out of memory building the automaton\n");
        return 1;
    }
    char **raw = malloc(N_DISTINCT * sizeof *raw);
    size_t total = 0;
    for (size_t k = 0; k < N_DISTINCT; k++) {
        raw[k] = make_message(&seed, 10 + rng(&seed) % 191);
        total += strlen(raw[k]);
    }
    printf("messages:  %zu (cycling %d distinct, average %.0f bytes)\n", n_msgs, N_DISTINCT,
           (double)total / N_DISTINCT);
    bench_text(ac, raw, n_msgs);
    bench_index(&seed);
    bench_hostile(ac, &seed);
    bench_engine(raw, n_msgs, "rules/packs/default.json");
    for (size_t k = 0; k < N_DISTINCT; k++)
        free(raw[k]);
    free(raw);
    qb_ac_free(ac);
    return 0;
}
