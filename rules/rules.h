/*
 * rules.h — the community-rules engine: text normalisation, keyword automaton, near-duplicate
 * fingerprints, the statistical ad score, the per-message detectors and the engine that runs
 * a compiled rule set over one message.
 *
 * Pure code: no I/O except loading rule packs from files the caller names, no globals, the
 * clock is passed in. The guard plugin owns strikes, ladders, appeals and persistence on top
 * (docs/RULES.md). Every function returns its errors; nothing here prints or logs.
 */
#ifndef QB_RULES_H
#define QB_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qunbot/event.h>

/* ------------------------------------------------------------------ normalise.c */

/* Fold text for matching, so that evasion spellings meet the same keywords:
 * - full-width ASCII to ASCII, U+3000 to nothing, letters lower-cased (ASCII, Latin-1,
 *   Greek/Cyrillic look-alikes of Latin letters), mathematical and enclosed alphanumerics
 *   (𝔾 ①  Ⓐ ⒜) to ASCII;
 * - everything that is not a letter, a digit or a CJK character is dropped: spaces,
 *   punctuation (ASCII and CJK), symbols, emoji, variation selectors, zero-width characters,
 *   combining marks — so "加 微·信" becomes "加微信";
 * - runs of 4 or more digit-like characters (ASCII digits, 零〇一二三四五六七八九幺,
 *   壹贰叁肆伍陆柒捌玖, ①…⑨) become ASCII digits, so spelled-out phone and QQ numbers
 *   look like numbers (short runs stay: 一起 is not 1起);
 * - common homophone spellings of contact words become the canonical word: 薇信 威信 徽信
 *   v信 vx wx 微x → 微信, 扣扣 抠抠 蔻蔻 → qq, 加v → 加微信 (table in normalise.c).
 * Returns a newly allocated NUL-terminated string (caller frees) and its length in
 * *out_len (may be NULL), or NULL on ENOMEM. Invalid UTF-8 bytes are dropped. */
char *qb_rules_normalize(const char *text, size_t len, size_t *out_len);

/* ------------------------------------------------------------------ ac.c */

/* A keyword automaton (Aho–Corasick) over bytes. Memory grows with the total length of the
 * patterns (not 256 pointers per node), matching is linear in the text. Patterns are matched
 * as given: normalise them with qb_rules_normalize before adding. */
struct qb_ac;

struct qb_ac *qb_ac_new(void); /* NULL on ENOMEM; free with qb_ac_free */
/* Add a pattern with a caller value (an index into the caller's own table). The same
 * pattern may be added with several values: every value is reported. Empty patterns are
 * rejected with QB_EINVAL. QB_EINVAL also after qb_ac_build. */
int qb_ac_add(struct qb_ac *ac, const char *pattern, size_t len, uint32_t value);
/* Freeze and compute failure links. Adding afterwards fails. QB_OK or QB_ENOMEM. */
int qb_ac_build(struct qb_ac *ac);
/* Called for every occurrence, in order of end position; return non-zero to stop. end is
 * the offset just past the match, len the pattern length. */
typedef int (*qb_ac_hit_fn)(uint32_t value, size_t end, size_t len, void *ud);
/* Scan text; returns the number of hits reported (stops early if fn says so). */
size_t qb_ac_scan(const struct qb_ac *ac, const char *text, size_t len, qb_ac_hit_fn fn, void *ud);
size_t qb_ac_patterns(const struct qb_ac *ac); /* number of patterns added */
size_t qb_ac_memory(const struct qb_ac *ac);   /* bytes held, for the benchmark */
void qb_ac_free(struct qb_ac *ac);             /* NULL-safe */

/* ------------------------------------------------------------------ simhash.c */

/* 64-bit SimHash of normalised text over overlapping character 3-grams (code points; 2-grams
 * or the whole text when shorter). Near-identical texts differ in few bits. */
uint64_t qb_simhash(const char *norm, size_t len);
int qb_hamming64(uint64_t a, uint64_t b);

/* A time-ordered index of recent fingerprints, for duplicates, cross-group blasts and
 * reposts. Fixed capacity: when full the oldest entry goes. Lookups by Hamming distance up
 * to 3 use four 16-bit bands (pigeonhole), so they stay fast with 100k entries. */
struct qb_simidx;
struct qb_simentry {
    uint64_t hash;
    int64_t ts_ms;
    uint64_t group; /* caller's key for the group (qb_rules_key of the id) */
    uint64_t user;  /* caller's key for the member */
};
struct qb_simidx *qb_simidx_new(size_t capacity); /* NULL on ENOMEM */
int qb_simidx_add(struct qb_simidx *ix, const struct qb_simentry *e);
/* Call fn for every entry with ts_ms >= since_ms and distance(hash) <= max_dist (max 3),
 * newest first; fn returns non-zero to stop. Returns the number of entries reported. */
size_t qb_simidx_find(const struct qb_simidx *ix, uint64_t hash, int max_dist, int64_t since_ms,
                      int (*fn)(const struct qb_simentry *e, int dist, void *ud), void *ud);
size_t qb_simidx_count(const struct qb_simidx *ix);
void qb_simidx_free(struct qb_simidx *ix); /* NULL-safe */
/* Stable 64-bit key of a string (FNV-1a), for group and member keys. */
uint64_t qb_rules_key(const char *s);

/* ------------------------------------------------------------------ nb.c */

/* The statistical ad score: multinomial naive Bayes over character 1- and 2-grams of the
 * normalised text, trained offline by tools/guard/guard_train.c (docs/RULES.md) and shipped
 * as a text rule pack (rules/packs/ad-model.nb). */
struct qb_nb;

/* Parse a model from text. On error returns QB_EINVAL and a reason with the line number in
 * err ("line 12: weight is not a number"). */
int qb_nb_parse(const char *text, size_t len, struct qb_nb **out, char *err, size_t errlen);
int qb_nb_load(const char *path, struct qb_nb **out, char *err, size_t errlen);
/* Probability in [0, 1] that normalised text is an ad. If why is not NULL it receives the
 * n-grams that pushed the score most towards "ad", for evidence ("vape 出 r"). */
double qb_nb_score(const struct qb_nb *m, const char *norm, size_t len, char *why, size_t whylen);
void qb_nb_free(struct qb_nb *m); /* NULL-safe */

/* ------------------------------------------------------------------ detect.c */

/* Detectors that look at one message on its own. Each returns true on a hit and writes a
 * short evidence string (never more than evlen bytes, NUL-terminated) that admins read:
 * the matched pattern or a description, never the whole message. */

/* Domains of the links in text ("http(s)://…", "www.…", bare "name.tld/…" for common TLDs,
 * including full-width dots and spaces inside "xxx . com"). Calls fn for each domain,
 * lower-cased, without "www."; returns the number found. */
size_t qb_detect_links(const char *text, size_t len, void (*fn)(const char *domain, void *ud),
                       void *ud);
/* Is domain equal to or a subdomain of an entry in list? */
bool qb_domain_in(const char *domain, const char *const *list, size_t n);

enum qb_contact_kind {
    QB_CONTACT_NONE = 0,
    QB_CONTACT_PHONE,  /* mainland mobile number 1[3-9]xxxxxxxxx */
    QB_CONTACT_QQ,     /* QQ number (5–11 digits) next to a QQ word or "加" */
    QB_CONTACT_WECHAT, /* WeChat id after a WeChat word (微信/vx/wx…) */
    QB_CONTACT_ASK,    /* "加我", "私聊我", "加群", "进群" with a way to reach */
};
/* Contact details in normalised text (see qb_rules_normalize). */
enum qb_contact_kind qb_detect_contact(const char *norm, size_t len, char *ev, size_t evlen);
const char *qb_contact_name(enum qb_contact_kind k);

/* ------------------------------------------------------------------ engine.c, engine_load.c
 * (The engine is struct qb_ruleset / qb_ruleset_*: the core's config.h already uses
 * struct qb_rules for the community rules files.) */

enum qb_rule_mode { QB_MODE_OFF = 0, QB_MODE_SHADOW, QB_MODE_ENFORCE };

/* What a hit asks the guard to do. */
enum qb_rule_action {
    QB_RACT_STRIKE = 0, /* recall and count a strike on the ladder */
    QB_RACT_RECALL,     /* recall only, no strike (e.g. a forward without comment) */
    QB_RACT_NOTE,       /* a gentle note, no recall, no strike (reposts) */
    QB_RACT_LOG,        /* log only */
};

/* Per-group parameters the guard passes to every evaluation (from the group's settings).
 * Lists are borrowed. */
struct qb_rules_policy {
    const char *const *off; /* rule ids (or "detector:*" prefixes) switched off */
    size_t n_off;
    const char *const *shadow; /* rule ids logged but not enforced */
    size_t n_shadow;
    bool dry_run; /* every rule in shadow mode */
    const char *const *allow_domains;
    size_t n_allow;
    const char *const *deny_domains;
    size_t n_deny;
    const struct qb_ac *extra_words; /* the group's own words (values ignored), or NULL */
    int long_paste_chars;            /* 0 = off */
    int sticker_flood;               /* stickers/faces only, N in a row per member; 0 = off */
    int flood_count;                 /* N messages in flood_window_ms per member; 0 = off */
    int64_t flood_window_ms;
    int64_t dup_window_ms; /* same text by one member / across groups; 0 = off */
    int dup_repeats;       /* repeats by one member in the window that count as spam */
    int dup_groups;        /* distinct groups for a cross-group blast */
    int repost_min_chars;  /* texts at least this long are checked for reposts; 0 = off */
    int64_t repost_window_ms;
    double model_threshold; /* 0 = model off */
    int64_t newcomer_ms;    /* stricter rules for members who joined less than this ago */
    int atall_limit;        /* @all by a non-admin: 0 = any is a hit */
};

/* The defaults the guard plugin documents (long paste 600 characters, 6 stickers in a row,
 * 8 messages in 10 s, 3 repeats or 3 groups in 10 min, reposts of 50+ characters within 7
 * days, model threshold 0.9, newcomers for 24 h); lists empty. The guard's settings table,
 * `qunbot replay` and the evaluation tool all start from these. */
void qb_rules_policy_defaults(struct qb_rules_policy *pol);

/* The mode the policy gives a rule id (for hits the guard makes itself, such as QR codes
 * found in images after the message was evaluated). */
enum qb_rule_mode qb_rules_mode(const struct qb_rules_policy *pol, const char *rule_id);

/* One message as the engine sees it. Borrowed. */
struct qb_rules_input {
    const struct qb_msg *msg;
    const char *group_id;
    const char *user_id;
    int64_t now_ms;
    int64_t joined_ms;    /* when the member joined this group, 0 if unknown */
    bool sender_is_admin; /* admins may @all; exemptions are the guard's job */
};

#define QB_RULE_ID_MAX  48
#define QB_EVIDENCE_MAX 160

struct qb_rules_hit {
    char rule_id[QB_RULE_ID_MAX];
    int version;
    char detector[24];      /* "keywords", "regex", "link", "contact", "card", ... */
    enum qb_rule_mode mode; /* after the policy: SHADOW hits are logged, not enforced */
    enum qb_rule_action action;
    char evidence[QB_EVIDENCE_MAX]; /* for the log and admins; never sent to the group */
    char reason[96]; /* for the member: which rule, in plain Chinese ("禁止发广告") */
};

struct qb_ruleset;

/* Compile rule packs (JSON files, format in docs/RULES.md) into one engine. Word lists named
 * by a pack are read relative to the pack's directory. On error returns QB_EINVAL with
 * "file:line: reason" in err. */
int qb_ruleset_load(const char *const *pack_paths, size_t n, struct qb_ruleset **out, char *err,
                    size_t errlen);
/* The same for a running bot: a rule (or a whole pack) that does not load is left out and
 * each problem is passed to on_problem ("file:line:col: reason"); the other rules work.
 * Returns QB_OK (the set may have no rules) or QB_ENOMEM. */
int qb_ruleset_load_partial(const char *const *pack_paths, size_t n, struct qb_ruleset **out,
                            void (*on_problem)(const char *msg, void *ud), void *ud);
/* Evaluate one message. Hits (at most max) are written to out in rule order; returns the
 * number written. The engine remembers the message for flood, duplicate and repost checks
 * (in memory; the guard persists what must survive a restart). */
size_t qb_ruleset_eval(struct qb_ruleset *r, const struct qb_rules_policy *pol,
                       const struct qb_rules_input *in, struct qb_rules_hit *out, size_t max);
/* Teach the repost index a text seen before (a known chain text, or one from the guard's
 * store). Texts shorter than the packs' minimum are ignored. */
int qb_ruleset_remember(struct qb_ruleset *r, const char *text, int64_t ts_ms, const char *group_id,
                        const char *user_id);
/* The repost fingerprint of a message, if its text is long enough to be tracked
 * (pol->repost_min_chars); false otherwise. The guard stores these (not the text) so the
 * repost index survives a restart, and gives them back with qb_ruleset_remember_hash. */
bool qb_ruleset_fingerprint(const struct qb_rules_policy *pol, const struct qb_msg *msg,
                            uint64_t *out);
int qb_ruleset_remember_hash(struct qb_ruleset *r, uint64_t hash, int64_t ts_ms,
                             const char *group_id, const char *user_id);
size_t qb_ruleset_count(const struct qb_ruleset *r); /* number of rules compiled */
void qb_ruleset_free(struct qb_ruleset *r);          /* NULL-safe */

#endif
