/*
 * engine.c — evaluates one message against a compiled rule set (engine_load.c) and the
 * group's policy, and keeps the short-term memory that flood, duplicate, cross-group and
 * repost rules need (per-member timestamps, recent fingerprints).
 *
 * Each detector is a small function that adds at most one hit for its rule. The engine
 * decides nothing about strikes or penalties: it reports hits with evidence, and the guard
 * plugin acts on them. Memory is bounded: fixed-size member table, fingerprint rings.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "util/util.h"

#define DUP_MIN_CHARS   6 /* shorter texts ("哈哈哈", "+1") are chat, not spam blasts */
#define CROSS_MIN_CHARS 10
#define REMEMBER_MIN    20
#define MAX_GROUPS      16

struct eval {
    struct qb_ruleset *r;
    const struct qb_rules_policy *pol;
    const struct qb_rules_input *in;
    char *text; /* text segments only, raw */
    size_t text_len, chars;
    char *norm;
    size_t norm_len, norm_chars;
    bool newcomer;
    uint64_t gkey, ukey;
    uint64_t hash;
    struct qb_member_mem *mem;
    int flood_count; /* messages in the flood window, this one included */
    struct qb_rules_hit *out;
    size_t max, n;
};

/* ------------------------------------------------------------------ policy */

void qb_rules_policy_defaults(struct qb_rules_policy *pol)
{
    memset(pol, 0, sizeof *pol);
    pol->long_paste_chars = 600;
    pol->sticker_flood = 6;
    pol->flood_count = 8;
    pol->flood_window_ms = 10 * 1000;
    pol->dup_window_ms = 10 * 60 * 1000;
    pol->dup_repeats = 3;
    pol->dup_groups = 3;
    pol->repost_min_chars = 50;
    pol->repost_window_ms = 7LL * 24 * 3600 * 1000;
    pol->model_threshold = 0.9;
    pol->newcomer_ms = 24LL * 3600 * 1000;
}

static bool listed(const char *const *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = v[i];
        size_t len = strlen(s);
        if (len && s[len - 1] == '*') {
            if (!strncmp(id, s, len - 1))
                return true;
        } else if (!strcmp(id, s)) {
            return true;
        }
    }
    return false;
}

enum qb_rule_mode qb_rules_mode(const struct qb_rules_policy *pol, const char *rule_id)
{
    if (listed(pol->off, pol->n_off, rule_id))
        return QB_MODE_OFF;
    if (pol->dry_run || listed(pol->shadow, pol->n_shadow, rule_id))
        return QB_MODE_SHADOW;
    return QB_MODE_ENFORCE;
}

static enum qb_rule_mode mode_of(const struct qb_rules_policy *pol, const struct qb_rule *rule)
{
    return qb_rules_mode(pol, rule->id);
}

/* Add a hit for rule (unless the output is full). evidence is printf-style. */
static void hit(struct eval *e, const struct qb_rule *rule, enum qb_rule_action action,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void hit(struct eval *e, const struct qb_rule *rule, enum qb_rule_action action,
                const char *fmt, ...)
{
    if (e->n >= e->max)
        return;
    struct qb_rules_hit *h = &e->out[e->n++];
    memset(h, 0, sizeof *h);
    qb_strlcpy(h->rule_id, rule->id, sizeof h->rule_id);
    h->version = rule->version;
    qb_strlcpy(h->detector, qb_det_name(rule->det), sizeof h->detector);
    h->mode = mode_of(e->pol, rule);
    h->action = action;
    qb_strlcpy(h->reason, rule->reason, sizeof h->reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->evidence, sizeof h->evidence, fmt, ap);
    va_end(ap);
    qb_utf8_sanitize(h->evidence, strlen(h->evidence)); /* a cut may split a character */
}

/* Later messages of the same burst are recalled but not struck again. */
static enum qb_rule_action repeat_action(const struct qb_rule *rule, bool first)
{
    if (first || rule->action != QB_RACT_STRIKE)
        return rule->action;
    return QB_RACT_RECALL;
}

/* A copy of at most max bytes of s, cut at a character boundary, into out. */
static void excerpt(const char *s, size_t len, char *out, size_t max)
{
    size_t n = len < max - 1 ? len : max - 1;
    while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* ------------------------------------------------------------------ detectors on text */

struct kw_scan {
    const struct qb_ruleset *r;
    int32_t *first; /* per rule: first word index, -1 if none */
};

static int kw_hit(uint32_t value, size_t end, size_t len, void *ud)
{
    (void)end;
    (void)len;
    struct kw_scan *k = ud;
    uint32_t ri = k->r->word_rule[value];
    if (k->first[ri] < 0)
        k->first[ri] = (int32_t)value;
    return 0;
}

static void detect_keywords(struct eval *e, int32_t *first)
{
    if (qb_ac_patterns(e->r->words) == 0 || !e->norm_len)
        return;
    struct kw_scan k = {.r = e->r, .first = first};
    qb_ac_scan(e->r->words, e->norm, e->norm_len, kw_hit, &k);
}

struct extra_scan {
    size_t end, len;
    bool found;
};

static int extra_hit(uint32_t value, size_t end, size_t len, void *ud)
{
    (void)value;
    struct extra_scan *x = ud;
    x->end = end;
    x->len = len;
    x->found = true;
    return 1;
}

/* The group's own words: reported under the rule id "group.words". */
static void detect_extra_words(struct eval *e)
{
    if (!e->pol->extra_words || !e->norm_len)
        return;
    struct extra_scan x = {0};
    qb_ac_scan(e->pol->extra_words, e->norm, e->norm_len, extra_hit, &x);
    if (!x.found)
        return;
    static const struct qb_rule group_words = {.id = "group.words",
                                               .version = 1,
                                               .det = QB_DET_KEYWORDS,
                                               .action = QB_RACT_STRIKE,
                                               .reason = "触发了本群的禁用词"};
    char word[64];
    excerpt(e->norm + x.end - x.len, x.len, word, sizeof word);
    hit(e, &group_words, QB_RACT_STRIKE, "本群禁用词「%s」", word);
}

static void detect_regex(struct eval *e, const struct qb_rule *rule)
{
    const char *s = rule->on_raw ? e->text : e->norm;
    size_t len = rule->on_raw ? e->text_len : e->norm_len;
    int rc = pcre2_match(rule->re, (PCRE2_SPTR)s, len, 0, 0, e->r->md, e->r->mctx);
    if (rc < 0)
        return; /* no match, or the match limit stopped a pathological pattern */
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->r->md);
    char m[64];
    excerpt(s + ov[0], ov[1] - ov[0], m, sizeof m);
    hit(e, rule, rule->action, "匹配「%s」", m);
}

struct link_scan {
    struct eval *e;
    const struct qb_rule *rule;
    char found[128];
    bool denied;
};

static void link_seen(const char *domain, void *ud)
{
    struct link_scan *l = ud;
    const struct qb_rules_policy *pol = l->e->pol;
    if (l->found[0] && l->denied)
        return;
    if (qb_domain_in(domain, (const char *const *)pol->allow_domains, pol->n_allow))
        return;
    bool denied = qb_domain_in(domain, pol->deny_domains, pol->n_deny) ||
                  qb_domain_in(domain, (const char *const *)l->rule->deny, l->rule->n_deny);
    if (denied || (l->rule->any_link && !l->found[0])) {
        qb_strlcpy(l->found, domain, sizeof l->found);
        l->denied = denied;
    }
}

static void detect_links(struct eval *e, const struct qb_rule *rule)
{
    struct link_scan l = {.e = e, .rule = rule};
    if (e->text_len)
        qb_detect_links(e->text, e->text_len, link_seen, &l);
    const struct qb_msg *m = e->in->msg;
    for (size_t i = 0; i < m->n; i++)
        if (m->segs[i].type == QB_SEG_SHARE && m->segs[i].url)
            qb_detect_links(m->segs[i].url, strlen(m->segs[i].url), link_seen, &l);
    if (l.found[0])
        hit(e, rule, rule->action, "%s %s", l.denied ? "禁止的域名" : "链接", l.found);
}

static void detect_contact(struct eval *e, const struct qb_rule *rule)
{
    char ev[QB_EVIDENCE_MAX];
    if (!e->norm_len)
        return;
    if (qb_detect_contact(e->norm, e->norm_len, ev, sizeof ev) != QB_CONTACT_NONE)
        hit(e, rule, rule->action, "%s", ev);
}

static void detect_model(struct eval *e, const struct qb_rule *rule)
{
    if (e->pol->model_threshold <= 0 || !rule->model || !e->norm_len)
        return;
    char why[96] = "";
    double p = qb_nb_score(rule->model, e->norm, e->norm_len, why, sizeof why);
    if (p >= e->pol->model_threshold)
        hit(e, rule, rule->action, "广告概率 %.2f（%s）", p, why);
}

/* ------------------------------------------------------------------ detectors on segments */

static void detect_card(struct eval *e, const struct qb_rule *rule)
{
    const struct qb_msg *m = e->in->msg;
    for (size_t i = 0; i < m->n; i++) {
        const struct qb_seg *s = &m->segs[i];
        if (s->type != QB_SEG_JSON && s->type != QB_SEG_XML && s->type != QB_SEG_SHARE)
            continue;
        bool mini = s->text && (strstr(s->text, "miniapp") || strstr(s->text, "小程序"));
        hit(e, rule, rule->action, "%s（%s）", mini ? "小程序" : "分享卡片", s->type_name);
        return;
    }
}

static void detect_forward(struct eval *e, const struct qb_rule *rule)
{
    const struct qb_msg *m = e->in->msg;
    bool fwd = false;
    for (size_t i = 0; i < m->n; i++)
        fwd = fwd || m->segs[i].type == QB_SEG_FORWARD;
    if (fwd && e->norm_len == 0)
        hit(e, rule, rule->action, "合并转发的聊天记录，没有附言");
}

static void detect_long_paste(struct eval *e, const struct qb_rule *rule)
{
    if (e->pol->long_paste_chars > 0 && e->chars > (size_t)e->pol->long_paste_chars)
        hit(e, rule, rule->action, "%zu 字的长文（上限 %d）", e->chars, e->pol->long_paste_chars);
}

static void detect_atall(struct eval *e, const struct qb_rule *rule)
{
    if (e->in->sender_is_admin)
        return;
    const struct qb_msg *m = e->in->msg;
    for (size_t i = 0; i < m->n; i++)
        if (m->segs[i].type == QB_SEG_AT && m->segs[i].text && !strcmp(m->segs[i].text, "all")) {
            hit(e, rule, rule->action, "非管理员 @全体成员");
            return;
        }
}

/* ------------------------------------------------------------------ member memory */

static struct qb_member_mem *member(struct qb_ruleset *r, uint64_t key, int64_t now)
{
    size_t start = (size_t)(key % QB_MEM_SLOTS);
    struct qb_member_mem *oldest = NULL;
    for (size_t i = 0; i < QB_MEM_PROBE; i++) {
        struct qb_member_mem *m = &r->mem[(start + i) % QB_MEM_SLOTS];
        if (m->key == key)
            return m;
        if (m->key == 0) {
            oldest = m;
            break;
        }
        if (!oldest || m->last_ms < oldest->last_ms)
            oldest = m;
    }
    memset(oldest, 0, sizeof *oldest); /* a new member, or the least recent one makes room */
    oldest->key = key;
    oldest->last_ms = now;
    return oldest;
}

/* Record this message in the member's ring; count those inside the flood window. */
static void track_member(struct eval *e)
{
    uint64_t key = (e->gkey * 0x100000001b3ULL) ^ e->ukey;
    if (!key)
        key = 1;
    struct qb_member_mem *m = member(e->r, key, e->in->now_ms);
    e->mem = m;
    m->last_ms = e->in->now_ms;
    m->ring[m->head] = e->in->now_ms;
    m->head = (m->head + 1) % QB_FLOOD_RING;
    if (m->count < QB_FLOOD_RING)
        m->count++;
    int64_t since = e->in->now_ms - e->pol->flood_window_ms;
    int n = 0;
    for (unsigned i = 0; i < m->count; i++)
        n += m->ring[i] > since;
    e->flood_count = n;

    const struct qb_msg *msg = e->in->msg;
    bool stickers = msg->n > 0 && e->norm_len == 0;
    for (size_t i = 0; i < msg->n && stickers; i++) {
        const struct qb_seg *s = &msg->segs[i];
        stickers = s->type == QB_SEG_FACE ||
                   (s->type == QB_SEG_IMAGE && (s->flags & QB_SEGF_STICKER)) ||
                   (s->type == QB_SEG_TEXT && (!s->text || qb_str_empty(s->text)));
    }
    m->sticker_run = stickers ? m->sticker_run + 1 : 0;
}

static void detect_flood(struct eval *e, const struct qb_rule *rule)
{
    int limit = e->pol->flood_count;
    if (limit <= 0 || e->pol->flood_window_ms <= 0 || e->flood_count < limit)
        return;
    hit(e, rule, repeat_action(rule, e->flood_count == limit), "%lld 秒内 %d 条消息",
        (long long)(e->pol->flood_window_ms / 1000), e->flood_count);
}

static void detect_sticker_flood(struct eval *e, const struct qb_rule *rule)
{
    int limit = e->pol->sticker_flood;
    if (limit <= 0 || !e->mem || e->mem->sticker_run < limit)
        return;
    hit(e, rule, repeat_action(rule, e->mem->sticker_run == limit), "连续 %d 条只有表情",
        e->mem->sticker_run);
}

/* ------------------------------------------------------------------ fingerprints */

struct dup_scan {
    const struct eval *e;
    int same_group; /* earlier copies by this member in this group */
    uint64_t groups[MAX_GROUPS];
    int n_groups; /* distinct other groups with a copy by this member */
};

static int dup_seen(const struct qb_simentry *s, int dist, void *ud)
{
    (void)dist;
    struct dup_scan *d = ud;
    if (s->user != d->e->ukey)
        return 0;
    if (s->group == d->e->gkey) {
        d->same_group++;
        return 0;
    }
    for (int i = 0; i < d->n_groups; i++)
        if (d->groups[i] == s->group)
            return 0;
    if (d->n_groups < MAX_GROUPS)
        d->groups[d->n_groups++] = s->group;
    return 0;
}

static void detect_dups(struct eval *e, const struct qb_rule *dup, const struct qb_rule *cross)
{
    if (e->pol->dup_window_ms <= 0 || e->norm_chars < DUP_MIN_CHARS)
        return;
    struct dup_scan d = {.e = e};
    qb_simidx_find(e->r->recent, e->hash, 3, e->in->now_ms - e->pol->dup_window_ms, dup_seen, &d);
    int repeats = d.same_group + 1;
    if (dup && e->pol->dup_repeats > 1 && repeats >= e->pol->dup_repeats)
        hit(e, dup, repeat_action(dup, repeats == e->pol->dup_repeats),
            "同样的内容 %lld 分钟内第 %d 次", (long long)(e->pol->dup_window_ms / 60000), repeats);
    int groups = d.n_groups + 1;
    if (cross && e->norm_chars >= CROSS_MIN_CHARS && e->pol->dup_groups > 1 &&
        groups >= e->pol->dup_groups)
        hit(e, cross, repeat_action(cross, groups == e->pol->dup_groups && d.same_group == 0),
            "同样的内容发到了 %d 个群", groups);
}

struct repost_scan {
    const struct eval *e;
    const struct qb_simentry *match;
    int dist;
};

static int repost_seen(const struct qb_simentry *s, int dist, void *ud)
{
    struct repost_scan *p = ud;
    if (s->user == p->e->ukey && s->group == p->e->gkey)
        return 0; /* the member's own earlier copy here is a duplicate, not a repost */
    p->match = s;
    p->dist = dist;
    return 1;
}

static void detect_repost(struct eval *e, const struct qb_rule *rule)
{
    const struct qb_rules_policy *pol = e->pol;
    if (pol->repost_min_chars <= 0 || e->norm_chars < REMEMBER_MIN)
        return;
    struct repost_scan p = {.e = e};
    if (qb_simidx_find(e->r->chain, e->hash, 3, INT64_MIN, repost_seen, &p)) {
        hit(e, rule, rule->action, "已知的转发段子（相差 %d 位）", p.dist);
        return;
    }
    if (pol->repost_window_ms <= 0 || e->norm_chars < (size_t)pol->repost_min_chars)
        return;
    qb_simidx_find(e->r->seen, e->hash, 3, e->in->now_ms - pol->repost_window_ms, repost_seen, &p);
    if (!p.match)
        return;
    long long hours = (long long)((e->in->now_ms - p.match->ts_ms) / 3600000);
    hit(e, rule, rule->action, "%s%lld 小时前出现过相似内容（相差 %d 位）",
        p.match->group == e->gkey ? "本群" : "另一个群", hours, p.dist);
}

static void remember(struct eval *e)
{
    struct qb_simentry s = {
            .hash = e->hash, .ts_ms = e->in->now_ms, .group = e->gkey, .user = e->ukey};
    if (e->norm_chars >= DUP_MIN_CHARS)
        qb_simidx_add(e->r->recent, &s);
    if (e->pol->repost_min_chars > 0 && e->norm_chars >= (size_t)e->pol->repost_min_chars)
        qb_simidx_add(e->r->seen, &s);
}

/* ------------------------------------------------------------------ evaluation */

static void run_rule(struct eval *e, const struct qb_rule *rule, const int32_t *first)
{
    if (rule->newcomer_only && !e->newcomer)
        return;
    switch (rule->det) {
    case QB_DET_KEYWORDS: {
        int32_t w = first[rule - e->r->rules];
        if (w >= 0)
            hit(e, rule, rule->action, "关键词「%s」", e->r->wordv[w]);
        break;
    }
    case QB_DET_REGEX:
        detect_regex(e, rule);
        break;
    case QB_DET_LINK:
        detect_links(e, rule);
        break;
    case QB_DET_CONTACT:
        detect_contact(e, rule);
        break;
    case QB_DET_CARD:
        detect_card(e, rule);
        break;
    case QB_DET_FORWARD:
        detect_forward(e, rule);
        break;
    case QB_DET_LONG_PASTE:
        detect_long_paste(e, rule);
        break;
    case QB_DET_STICKER_FLOOD:
        detect_sticker_flood(e, rule);
        break;
    case QB_DET_ATALL:
        detect_atall(e, rule);
        break;
    case QB_DET_FLOOD:
        detect_flood(e, rule);
        break;
    case QB_DET_DUPLICATE:
        detect_dups(e, rule, NULL);
        break;
    case QB_DET_CROSS_GROUP:
        detect_dups(e, NULL, rule);
        break;
    case QB_DET_REPOST:
        detect_repost(e, rule);
        break;
    case QB_DET_MODEL:
        detect_model(e, rule);
        break;
    case QB_DET__COUNT:
        break;
    }
}

static bool prepare(struct eval *e)
{
    e->text = qb_msg_text_only(e->in->msg);
    if (!e->text)
        return false;
    e->text_len = strlen(e->text);
    e->chars = qb_utf8_len(e->text);
    e->norm = qb_rules_normalize(e->text, e->text_len, &e->norm_len);
    if (!e->norm)
        return false;
    e->norm_chars = qb_utf8_len(e->norm);
    e->gkey = qb_rules_key(e->in->group_id ? e->in->group_id : "");
    e->ukey = qb_rules_key(e->in->user_id ? e->in->user_id : "");
    e->hash = qb_simhash(e->norm, e->norm_len);
    e->newcomer = e->in->joined_ms > 0 && e->pol->newcomer_ms > 0 &&
                  e->in->now_ms - e->in->joined_ms < e->pol->newcomer_ms;
    return true;
}

size_t qb_ruleset_eval(struct qb_ruleset *r, const struct qb_rules_policy *pol,
                       const struct qb_rules_input *in, struct qb_rules_hit *out, size_t max)
{
    struct eval e = {.r = r, .pol = pol, .in = in, .out = out, .max = max};
    int32_t *first = r && r->n ? malloc(r->n * sizeof *first) : NULL;
    if (!r || !in || !in->msg || (r->n && !first) || !prepare(&e)) {
        free(first);
        free(e.text);
        free(e.norm);
        return 0;
    }
    for (size_t i = 0; i < r->n; i++)
        first[i] = -1;
    track_member(&e);
    detect_keywords(&e, first);
    detect_extra_words(&e);
    for (size_t i = 0; i < r->n; i++)
        if (!r->rules[i].disabled && mode_of(pol, &r->rules[i]) != QB_MODE_OFF)
            run_rule(&e, &r->rules[i], first);
    remember(&e);
    free(first);
    free(e.text);
    free(e.norm);
    return e.n;
}

/* ------------------------------------------------------------------ repost memory */

int qb_ruleset_remember(struct qb_ruleset *r, const char *text, int64_t ts_ms, const char *group_id,
                        const char *user_id)
{
    size_t len = 0;
    char *norm = qb_rules_normalize(text, strlen(text), &len);
    if (!norm)
        return QB_ENOMEM;
    int rc = QB_OK;
    if (qb_utf8_len(norm) >= REMEMBER_MIN)
        rc = qb_ruleset_remember_hash(r, qb_simhash(norm, len), ts_ms, group_id, user_id);
    free(norm);
    return rc;
}

int qb_ruleset_remember_hash(struct qb_ruleset *r, uint64_t hash, int64_t ts_ms,
                             const char *group_id, const char *user_id)
{
    struct qb_simentry s = {.hash = hash,
                            .ts_ms = ts_ms,
                            .group = qb_rules_key(group_id ? group_id : ""),
                            .user = qb_rules_key(user_id ? user_id : "")};
    return qb_simidx_add(r->seen, &s);
}

bool qb_ruleset_fingerprint(const struct qb_rules_policy *pol, const struct qb_msg *msg,
                            uint64_t *out)
{
    if (pol->repost_min_chars <= 0)
        return false;
    char *text = qb_msg_text_only(msg);
    if (!text)
        return false;
    size_t len = 0;
    char *norm = qb_rules_normalize(text, strlen(text), &len);
    free(text);
    if (!norm)
        return false;
    bool ok = qb_utf8_len(norm) >= (size_t)pol->repost_min_chars;
    if (ok)
        *out = qb_simhash(norm, len);
    free(norm);
    return ok;
}
