/*
 * guard.h — internal header of the guard plugin (not part of the plugin API): the settings
 * struct, the in-memory state (compiled rule sets, per-group word automatons, warnings
 * waiting to be recalled) and the functions the plugin's .c files share.
 *
 * Owns nothing by itself. Only the guard's own files include it; the core and other
 * plugins must not. All names start with guard_. The rules engine (rules/rules.h) only
 * reports hits: strikes, the ladder, appeals and the blacklist live here.
 */
#ifndef QB_PLUGIN_GUARD_H
#define QB_PLUGIN_GUARD_H

#include <qunbot/plugin.h>

#include "rules.h"

/* Per-group settings, filled by the core from the rules files. */
struct guard_settings {
    struct qb_strlist packs;        /* rule pack files, relative to the working directory */
    struct qb_strlist rules_off;    /* rule ids (trailing "*" = prefix) switched off */
    struct qb_strlist rules_shadow; /* rule ids logged but not enforced */
    bool dry_run;                   /* every rule in shadow mode */
    struct qb_strlist allow_domains;
    struct qb_strlist deny_domains;
    struct qb_strlist words; /* the group's own banned words */
    int64_t long_paste_chars;
    int64_t sticker_flood;
    int64_t flood_count;
    int64_t flood_window_ms;
    int64_t dup_window_ms;
    int64_t dup_repeats;
    int64_t dup_groups;
    int64_t repost_min_chars;
    int64_t repost_window_ms;
    int64_t model_threshold; /* percent, 0 = off */
    int64_t newcomer_ms;
    bool exempt_admins;
    struct qb_strlist trusted; /* user ids never checked */
    struct qb_strlist ladder;  /* steps: warn_private, warn_public, mute, kick, log */
    int64_t strike_decay_ms;   /* strikes older than this no longer count (0 = never) */
    int64_t mute_duration_ms;
    bool block_rejoin;      /* kick with "refuse re-joining" */
    int64_t warning_ttl_ms; /* the bot's group warnings are recalled after this (0 = keep) */
    bool blacklist;         /* refuse / remove blacklisted users in this group */
    bool qr_scan;           /* look for QR codes in members' pictures (rule qr.code) */
};

/* A compiled rule set for one list of packs (NULL rs: the packs failed to load). */
struct guard_engine {
    char *key; /* the pack paths, each followed by '\n' */
    struct qb_ruleset *rs;
    struct guard_engine *next;
};

/* A group's own word list compiled into an automaton (NULL ac: no usable words). */
struct guard_words {
    char *key;
    struct qb_ac *ac;
    struct guard_words *next;
};

/* A bot message in a group waiting for its id and then for its recall. */
struct guard_job {
    int64_t id;
    int64_t ttl_ms;
    int64_t timer;
    char self_id[QB_ID_MAX];
    char group_id[QB_ID_MAX];
    char message_id[QB_ID_MAX];
    struct guard_job *next;
};

/* In-memory state. Owned by the plugin, freed in shutdown. */
struct guard_state {
    struct guard_engine *engines;
    size_t nengines;
    struct guard_words *words;
    size_t nwords;
    struct guard_job *jobs;
    int64_t next_job;
    int64_t last_prune_ms;
    int64_t fp_horizon_ms; /* the longest repost window seen (fingerprints kept that long) */
};

/* Ladder steps. */
enum guard_step {
    GUARD_STEP_NONE = 0,
    GUARD_STEP_WARN_PRIVATE,
    GUARD_STEP_WARN_PUBLIC,
    GUARD_STEP_MUTE,
    GUARD_STEP_KICK,
    GUARD_STEP_LOG,
};

/* ---- guard.c: the frame and shared helpers ---- */
struct guard_state *guard_st(struct qb_ctx *c);
const struct guard_settings *guard_cfg(struct qb_ctx *c, const char *group_id);
/* The rule set for the group's packs (built and cached on first use; a failure is logged
 * once). NULL when the packs do not load. Borrowed. */
struct qb_ruleset *guard_engine_for(struct qb_ctx *c, const struct guard_settings *s);
/* The group's own words as an automaton, or NULL if none. Borrowed. */
const struct qb_ac *guard_words_for(struct qb_ctx *c, const struct guard_settings *s);
/* Fill pol from the group's settings (lists borrowed from s). */
void guard_policy(struct qb_ctx *c, const struct guard_settings *s, struct qb_rules_policy *pol);
enum guard_step guard_step_parse(const char *s);
const char *guard_step_name(enum guard_step st);
/* A case number from "12" or "#12" (full-width ＃ too); 0 if not one. */
int64_t guard_case_arg(const char *s);
/* The user a command names: the first @mention other than the bot, else argv[0] if it is
 * a QQ number. */
bool guard_target(const struct qb_event *ev, const struct qb_cmd_args *a, char *out, size_t n);
/* At most max code points of s into out, with "…" when cut (never splits a character). */
void guard_clip(const char *s, size_t max, char *out, size_t n);
/* Words argv[from..] joined with spaces. */
void guard_join_args(const struct qb_cmd_args *a, int from, char *out, size_t n);
/* Send text (and an @mention first if at_user) to a group; the message is recalled after
 * ttl_ms (0 = kept). */
void guard_say_group(struct qb_ctx *c, const char *self_id, const char *group_id,
                     const char *at_user, const char *reply_to, const char *text, int64_t ttl_ms);
void guard_say_private(struct qb_ctx *c, const char *self_id, const char *user_id,
                       const char *text);

/* ---- guard_enforce.c: evaluation, the ladder, strikes, warnings ---- */
int guard_on_message(struct qb_ctx *c, const struct qb_event *ev);
void guard_on_join(struct qb_ctx *c, const struct qb_event *ev);
/* Load the remembered repost fingerprints into a freshly built rule set. */
void guard_load_fingerprints(struct qb_ctx *c, struct qb_ruleset *rs);
/* Drop fingerprints older than the longest repost window. */
void guard_prune(struct qb_ctx *c, int64_t now_ms);
/* Record a decision: kind "guard.<what>", details built from the hit and the outcome. */
void guard_audit_hit(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                     const struct qb_rules_hit *h, const char *action, const char *step,
                     int64_t case_no);

/* ---- guard_appeal.c: appeals, pardons, rule statistics ---- */
int guard_cmd_appeal(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int guard_cmd_appeals(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int guard_cmd_pardon(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int guard_cmd_uphold(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int guard_cmd_stats(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);

/* ---- guard_blacklist.c: the operator-wide blacklist ---- */
bool guard_blacklisted(struct qb_ctx *c, const char *platform, const char *user_id);
/* Add (or update) an entry; case_no 0 = added by hand. */
void guard_blacklist_add(struct qb_ctx *c, const char *platform, const char *user_id,
                         const char *reason, int64_t case_no, const char *by);
/* Remove the entry a case created (after a pardon). */
void guard_blacklist_drop_case(struct qb_ctx *c, int64_t case_no);
/* QB_HANDLED when a join request was refused. */
int guard_on_request(struct qb_ctx *c, const struct qb_event *ev);
/* A blacklisted member joined a group with the blacklist on: removed; QB_HANDLED. */
int guard_check_joined(struct qb_ctx *c, const struct qb_event *ev);
int guard_cmd_block(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int guard_cmd_unblock(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int guard_cmd_blacklist(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);

#endif
