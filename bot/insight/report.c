/*
 * report.c — the whole engagement report for one group and range: overview, heatmap,
 * members with stages (and the funnel), cohorts, daily series and hot words.
 *
 * Owns the report's allocations (freed by qb_insight_report_free). Hot words read message
 * text from the interaction log (at most the latest 20 000 messages of the range); every
 * other figure comes from the indexed rollup tables. Never writes or logs.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

#define WORDS_MAX_MESSAGES 20000

/* ---- hot words: CJK character 2- and 3-grams ---- */

struct gram {
    char key[12]; /* up to 3 CJK characters of 3 bytes, NUL-terminated; "" = empty slot */
    int64_t count;
    int len; /* characters */
};

struct gram_table {
    struct gram *v;
    size_t cap, used;
};

static const char *const stop_bigrams[] = {
        "我们", "你们", "他们", "什么", "这个", "那个", "一个", "没有", "就是", "不是", "可以",
        "还是", "因为", "所以", "但是", "如果", "自己", "这样", "那么", "怎么", "现在", "已经",
        "知道", "觉得", "时候", "然后", "大家", "还有", "一下", "这么", "有点", "这种", "哈哈",
        "嗯嗯", "好的", "是的", "的话", "不会", "不要", "可能", "应该", "是不", "不是", "了吗",
        "的人", "我的", "你的", "是个", "也是", "都是", "有没", "一样", "这些", "那些", NULL,
};

static bool is_stop(const char *g, int len)
{
    for (int i = 0; i + 1 < len; i++) /* any stop bigram inside (6 bytes at i * 3) */
        for (const char *const *s = stop_bigrams; *s; s++)
            if (!memcmp(g + i * 3, *s, 6))
                return true;
    if (len >= 2 && !memcmp(g, g + 3, 3)) /* 哈哈, 啊啊啊 */
        return true;
    return false;
}

static int gram_grow(struct gram_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 4096;
    struct gram *v = calloc(cap, sizeof *v);
    if (!v)
        return QB_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->v[i].key[0])
            continue;
        size_t j = ins_hash(t->v[i].key) & (cap - 1);
        while (v[j].key[0])
            j = (j + 1) & (cap - 1);
        v[j] = t->v[i];
    }
    free(t->v);
    t->v = v;
    t->cap = cap;
    return QB_OK;
}

static int gram_add(struct gram_table *t, const char *key, int len)
{
    if ((t->used + 1) * 2 > t->cap && gram_grow(t) != QB_OK)
        return QB_ENOMEM;
    size_t j = ins_hash(key) & (t->cap - 1);
    while (t->v[j].key[0] && strcmp(t->v[j].key, key))
        j = (j + 1) & (t->cap - 1);
    if (!t->v[j].key[0]) {
        memcpy(t->v[j].key, key, strlen(key) + 1);
        t->v[j].len = len;
        t->used++;
    }
    t->v[j].count++;
    return QB_OK;
}

/* A 3-byte UTF-8 CJK ideograph (U+3400..U+4DBF, U+4E00..U+9FFF) at p? */
static bool is_cjk3(const unsigned char *p)
{
    if ((p[0] & 0xF0) != 0xE0 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
        return false;
    unsigned cp = ((unsigned)(p[0] & 0x0F) << 12) | ((unsigned)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF);
}

static int count_text(struct gram_table *t, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    const unsigned char *run[3] = {NULL, NULL, NULL}; /* the last up to 3 CJK chars */
    int have = 0;
    while (*p) {
        if (!is_cjk3(p)) {
            have = 0;
            p++;
            continue;
        }
        run[0] = run[1];
        run[1] = run[2];
        run[2] = p;
        have = have < 3 ? have + 1 : 3;
        for (int len = 2; len <= 3 && len <= have; len++) {
            char key[12];
            memcpy(key, run[3 - len], (size_t)len * 3);
            key[len * 3] = '\0';
            if (!is_stop(key, len) && gram_add(t, key, len) != QB_OK)
                return QB_ENOMEM;
        }
        p += 3;
    }
    return QB_OK;
}

static int cmp_gram(const void *a, const void *b)
{
    const struct gram *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (x->len != y->len)
        return y->len - x->len;
    return strcmp(x->key, y->key);
}

/* Top grams seen at least twice; a bigram inside a chosen trigram as frequent as it is left
 * out (it says nothing more). */
static void pick_words(struct gram_table *t, struct qb_insight_report *rep)
{
    size_t k = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i].key[0] && t->v[i].count >= 2)
            t->v[k++] = t->v[i];
    if (k > 1) /* t->v is NULL when the period had no text */
        qsort(t->v, k, sizeof *t->v, cmp_gram);
    size_t want = sizeof rep->words / sizeof rep->words[0];
    for (size_t i = 0; i < k && rep->n_words < want; i++) {
        bool inside = false;
        for (size_t j = 0; j < rep->n_words && !inside; j++)
            inside = t->v[i].len == 2 && strstr(rep->words[j].text, t->v[i].key) &&
                     rep->words[j].count == t->v[i].count;
        if (inside)
            continue;
        struct qb_insight_word *w = &rep->words[rep->n_words++];
        memcpy(w->text, t->v[i].key, strlen(t->v[i].key) + 1);
        w->count = t->v[i].count;
    }
}

static int hot_words(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                     struct qb_insight_report *rep, char *err, size_t errlen)
{
    if (!ins_table_exists(db, "interactions"))
        return QB_OK;
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT text FROM interactions WHERE group_id = ?1 AND ts >= ?2 AND"
                         " ts < ?3 AND direction = 'in' AND kind = 'message' AND text IS NOT NULL"
                         " ORDER BY ts DESC LIMIT 20000",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    struct gram_table t = {0};
    while (rc == QB_OK && sqlite3_step(st) == SQLITE_ROW)
        rc = count_text(&t, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == QB_OK)
        pick_words(&t, rep);
    free(t.v);
    return rc;
}

/* ---- daily series ---- */

static int daily(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                 struct qb_insight_report *rep, char *err, size_t errlen)
{
    struct ins_bounds b;
    ins_bounds_of(r, &b);
    rep->n_days = (size_t)(b.day1 - b.day0 + 1);
    rep->daily_messages = calloc(rep->n_days, sizeof *rep->daily_messages);
    rep->daily_active = calloc(rep->n_days, sizeof *rep->daily_active);
    if (!rep->daily_messages || !rep->daily_active)
        return QB_ENOMEM;
    /* the days inside the range from the daily rollup (one row per member and day), its
     * first and last day from the hourly one, cut at the range's hours */
    static const char *const sql[2] = {
            "SELECT day, SUM(messages), COUNT(*) FROM insight_member_days WHERE group_id = ?1"
            " AND day > ?2 AND day < ?4 AND ?3 = ?3 AND ?5 = ?5 GROUP BY day",
            "SELECT day, SUM(messages), COUNT(DISTINCT user_id) FROM (" INS_EDGE_HOURS ")"
            " GROUP BY day",
    };
    for (int q = 0; q < 2; q++) {
        sqlite3_stmt *st = NULL;
        int rc = ins_prepare(db, sql[q], &st, err, errlen);
        if (rc != QB_OK)
            return rc;
        ins_bind_bounds(st, group_id, &b);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t d = ins_civil_parse((const char *)sqlite3_column_text(st, 0)) - b.day0;
            if (d < 0 || d >= (int64_t)rep->n_days)
                continue;
            rep->daily_messages[d] = sqlite3_column_int64(st, 1);
            rep->daily_active[d] = sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
    }
    return QB_OK;
}

/* ---- the report ---- */

int qb_insight_report_with(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                           int64_t now_ms, const struct qb_insight_stages *st,
                           struct qb_insight_report *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (r)
        out->range = *r;
    out->generated_ms = now_ms;
    int rc = qb_insight_overview(db, group_id, r, &out->ov, err, errlen);
    if (rc == QB_OK)
        rc = qb_insight_heatmap(db, group_id, r, out->heat, err, errlen);
    if (rc == QB_OK)
        rc = qb_insight_members(db, group_id, r, st, &out->members, &out->n_members, err, errlen);
    if (rc == QB_OK)
        rc = qb_insight_cohorts(db, group_id, r, now_ms, &out->cohorts, &out->n_cohorts, err,
                                errlen);
    if (rc == QB_OK)
        rc = daily(db, group_id, r, out, err, errlen);
    if (rc == QB_OK)
        rc = hot_words(db, group_id, r, out, err, errlen);
    if (rc == QB_OK)
        rc = qb_insight_newcomers(db, group_id, r, now_ms, &out->newcomers, err, errlen);
    if (rc == QB_OK)
        rc = qb_insight_effects(db, group_id, r, now_ms, &out->effects, &out->n_effects, err,
                                errlen);
    if (rc == QB_OK)
        rc = qb_insight_invites(db, group_id, r, &out->invites, err, errlen);
    if (rc == QB_OK)
        rc = qb_insight_bridges(db, group_id, r, &out->bridges, err, errlen);
    if (rc == QB_OK)
        rc = qb_insight_moderation_by(db, group_id, r, &out->moderation_by, &out->n_moderation_by,
                                      err, errlen);
    if (rc != QB_OK) {
        if (rc == QB_ENOMEM)
            ins_err(err, errlen, "内存不足，报告没有生成");
        qb_insight_report_free(out);
        return rc;
    }
    for (size_t i = 0; i < out->n_members; i++)
        out->funnel[out->members[i].stage]++;
    return QB_OK;
}

int qb_insight_report(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                      int64_t now_ms, struct qb_insight_report *out, char *err, size_t errlen)
{
    return qb_insight_report_with(db, group_id, r, now_ms, NULL, out, err, errlen);
}

void qb_insight_report_free(struct qb_insight_report *rep)
{
    if (!rep)
        return;
    free(rep->members);
    free(rep->cohorts);
    free(rep->daily_messages);
    free(rep->daily_active);
    rep->members = NULL;
    rep->cohorts = NULL;
    rep->daily_messages = rep->daily_active = NULL;
    rep->n_members = rep->n_cohorts = rep->n_days = 0;
    qb_insight_newcomers_free(&rep->newcomers);
    free(rep->effects);
    rep->effects = NULL;
    rep->n_effects = 0;
    qb_insight_invites_free(&rep->invites);
    qb_insight_bridges_free(&rep->bridges);
    free(rep->moderation_by);
    rep->moderation_by = NULL;
    rep->n_moderation_by = 0;
}
