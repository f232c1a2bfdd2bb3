/*
 * engine_int.h — the compiled form of rule packs, shared by engine_load.c (which builds it
 * from JSON packs) and engine.c (which evaluates messages against it and keeps the flood,
 * duplicate and repost memory). Private to rules/: the guard sees only rules.h.
 */
#ifndef QB_RULES_ENGINE_INT_H
#define QB_RULES_ENGINE_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rules.h"

enum qb_det {
    QB_DET_KEYWORDS = 0,
    QB_DET_REGEX,
    QB_DET_LINK,
    QB_DET_CONTACT,
    QB_DET_CARD,
    QB_DET_FORWARD,
    QB_DET_LONG_PASTE,
    QB_DET_STICKER_FLOOD,
    QB_DET_ATALL,
    QB_DET_FLOOD,
    QB_DET_DUPLICATE,
    QB_DET_CROSS_GROUP,
    QB_DET_REPOST,
    QB_DET_MODEL,
    QB_DET__COUNT
};

/* One compiled rule. Owned by the engine. */
struct qb_rule {
    char id[QB_RULE_ID_MAX];
    int version;
    enum qb_det det;
    enum qb_rule_action action;
    char reason[96];
    bool newcomer_only; /* applies only to members who joined less than newcomer_ms ago */
    bool disabled;      /* did not load (qb_ruleset_load_partial): kept only as a slot */
    bool any_link;      /* link: every link not allowed is a hit (else only denied domains) */
    bool on_raw;        /* regex: match the raw text instead of the normalised text */
    pcre2_code *re;     /* regex */
    struct qb_nb *model;
    char **deny; /* link: the pack's own denied domains */
    size_t n_deny;
};

/* Per-member short-term memory for flood and sticker runs. */
#define QB_FLOOD_RING 32
struct qb_member_mem {
    uint64_t key; /* 0 = free slot */
    int64_t last_ms;
    int64_t ring[QB_FLOOD_RING];
    unsigned head, count;
    int sticker_run;
};

struct qb_ruleset {
    struct qb_rule *rules;
    size_t n;
    struct qb_ac *words; /* keywords of every keyword rule; value indexes word_rule/wordv */
    uint32_t *word_rule;
    char **wordv; /* the normalised words, for evidence */
    size_t n_words, cap_words;
    struct qb_simidx *recent; /* every text message, for duplicates and blasts */
    struct qb_simidx *seen;   /* long texts, for reposts */
    struct qb_simidx *chain;  /* known chain texts from the packs; never expire */
    int chain_min_chars;
    struct qb_member_mem *mem; /* open addressing, QB_MEM_SLOTS */
    pcre2_match_context *mctx;
    pcre2_match_data *md;
};

#define QB_MEM_SLOTS 16384
#define QB_MEM_PROBE 16

const char *qb_det_name(enum qb_det d);
/* Reason shown to members when a pack gives none. */
const char *qb_det_default_reason(enum qb_det d);
/* Add a normalised word for rule index ri. */
int qb_rules__add_word(struct qb_ruleset *r, const char *word, uint32_t ri);
void qb_rules__free_rule(struct qb_rule *rule);

#endif
