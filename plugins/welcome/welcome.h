/*
 * welcome.h — internal header of the welcome plugin (not part of the plugin API):
 * the settings struct, the plugin's in-memory state, and the functions the plugin's
 * .c files share (greeting waves, intros, name cards, join requests, newcomer check).
 *
 * Owns nothing by itself. Only the welcome plugin's own files include it; it must not
 * be included by the core or other plugins. All names start with welcome_.
 */
#ifndef QB_PLUGIN_WELCOME_H
#define QB_PLUGIN_WELCOME_H

#include <qunbot/plugin.h>

struct sqlite3_stmt;

/* Per-group settings, filled by the core from the rules files. */
struct welcome_settings {
    char *welcome;       /* template: {at} {name} {group} {rules} {intro_hours} */
    char *rules_text;    /* group rules, "" = none */
    char *group_name;    /* what {group} says; "" = 本群 */
    int64_t merge_ms;    /* joins this close together share one welcome */
    int64_t intro_hours; /* 0 = no reminder */
    struct qb_strlist intro_prefixes;
    int64_t intro_min_chars; /* 0 = only prefixed intros count */
    char *intro_ack;         /* template: {at} {name} */
    char *intro_remind;      /* template: {at} {name} {intro_hours} */
    char *card_pattern;      /* PCRE2; "" = off */
    char *card_hint;
    char *card_remind; /* template: {at} {name} {hint} */
    char *admission;   /* off | open | invite-only | screen */
    struct qb_strlist screen_keywords;
    char *screen_pattern; /* PCRE2; "" = none */
    char *reject_reason;
    char *newcomer_question; /* "" = off */
    char *newcomer_answer;
    int64_t newcomer_minutes;
};

/* What a pending job waits for: a timer, or an action's answer. */
enum welcome_job_kind {
    WELCOME_JOB_NAME = 1, /* member info for the welcome's {name} */
    WELCOME_JOB_CARD,     /* member info for the name-card check */
    WELCOME_JOB_APPROVE,  /* delayed approval of a join request, then its answer */
    WELCOME_JOB_DECIDE,   /* an admin's approve/reject: the platform's answer */
    WELCOME_JOB_MUTE,     /* the newcomer-check mute: the platform's answer */
};

/* A job is referenced from timers and callbacks by id only (never by pointer), so a
 * late answer after the job is gone is simply ignored. Owned by the state list. */
struct welcome_job {
    struct welcome_job *next;
    int64_t id, timer;
    enum welcome_job_kind kind;
    bool approve;
    char self_id[QB_ID_MAX], group_id[QB_ID_MAX], user_id[QB_ID_MAX];
    char flag[QB_ID_MAX * 4];
    char *text; /* reason or card; owned */
};

#define WELCOME_WAVE_MAX 20

/* Newcomers of one group waiting to be welcomed together. Owned by the state list. */
struct welcome_wave {
    struct welcome_wave *next;
    int64_t id, timer;
    char self_id[QB_ID_MAX], group_id[QB_ID_MAX];
    size_t n;
    struct {
        char user_id[QB_ID_MAX];
        char name[128];
    } v[WELCOME_WAVE_MAX];
};

/* A compiled regex, cached by its text. Owned by the state list. */
struct welcome_re {
    struct welcome_re *next;
    char *pattern;
    void *code; /* pcre2_code * (NULL: does not compile) */
};

struct welcome_state {
    int64_t next_id;
    struct welcome_job *jobs;
    struct welcome_wave *waves;
    struct welcome_re *res;
    char **verified; /* "group\x1fuser\x1fcard" whose card is known to match */
    size_t nverified, capverified;
};

/* ---- welcome.c: shared helpers ---- */
struct welcome_state *welcome_st(struct qb_ctx *c);
const struct welcome_settings *welcome_cfg(struct qb_ctx *c, const char *group_id);
struct welcome_job *welcome_job_new(struct qb_ctx *c, enum welcome_job_kind kind,
                                    const char *self_id, const char *group_id, const char *user_id);
struct welcome_job *welcome_job_find(struct qb_ctx *c, int64_t id);
void welcome_job_free(struct qb_ctx *c, struct welcome_job *j); /* unlinks and frees */
void *welcome_id_ud(int64_t id);
int64_t welcome_ud_id(void *ud);
/* Render tpl into msg: {at} becomes @mentions of ats[0..nats), other vars are text;
 * lines left empty by empty placeholders are dropped. QB_OK or QB_ENOMEM. */
int welcome_render(const char *tpl, const struct qb_tvar *vars, size_t nvars,
                   const char *const *ats, size_t nats, struct qb_msg *msg);
/* Send a rendered template to a group mentioning one member. */
void welcome_say(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
                 const char *tpl, const struct qb_tvar *vars, size_t nvars);
/* The member's stored display name or their id; writes into out. */
void welcome_member_name(struct qb_ctx *c, const char *group_id, const char *user_id, char *out,
                         size_t n);
/* Make sure a welcome_members row exists (joined_ts NULL for members we did not see join). */
void welcome_member_ensure(struct qb_ctx *c, const char *group_id, const char *user_id);
/* A target user id from a command: an @mention in the message, else the first argument
 * when it is a number. Returns false if none. */
bool welcome_target(const struct qb_event *ev, const struct qb_cmd_args *a, char *out, size_t n);

/* ---- welcome_join.c: greetings, intros, reminders, newcomer check ---- */
void welcome_on_join(struct qb_ctx *c, const struct qb_event *ev);
void welcome_on_leave(struct qb_ctx *c, const struct qb_event *ev);
void welcome_on_message(struct qb_ctx *c, const struct qb_event *ev);
void welcome_on_schedule(struct qb_ctx *c, const struct qb_event *ev);
void welcome_name_answer(struct qb_ctx *c, const struct qb_result *r, void *ud);
void welcome_mute_answer(struct qb_ctx *c, const struct qb_result *r, void *ud);
void welcome_waves_free(struct qb_ctx *c);
int welcome_cmd_intro(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int welcome_cmd_clear(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);

/* ---- welcome_card.c: regexes and the name-card convention ---- */
/* Compile pattern into a fresh code object to validate it; why gets PCRE2's message. */
int welcome_re_check(const char *key, const char *pattern, char *why, size_t n);
/* Does text match pattern (cached)? false if the pattern does not compile. */
bool welcome_re_match(struct qb_ctx *c, const char *pattern, const char *text);
void welcome_res_free(struct qb_ctx *c);
void welcome_card_check(struct qb_ctx *c, const struct qb_event *ev);
void welcome_card_answer(struct qb_ctx *c, const struct qb_result *r, void *ud);

/* ---- welcome_request.c: join requests and their commands ---- */
int welcome_on_request(struct qb_ctx *c, const struct qb_event *ev);
int welcome_cmd_request(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int welcome_cmd_approve(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int welcome_cmd_reject(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);

#endif
