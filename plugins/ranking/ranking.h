/*
 * ranking.h — internal header of the ranking plugin (not part of the plugin API): the
 * settings struct, the plugin's in-memory state and the functions its .c files share
 * (member rows, period boundaries, levels, awarding, leaderboards, admin grants).
 *
 * Owns nothing by itself. Only the ranking plugin's own files include it; the core and
 * other plugins must not. All names start with ranking_. Points are written only through
 * qb_points_add; totals are read from the core table points_ledger (every source).
 */
#ifndef QB_PLUGIN_RANKING_H
#define QB_PLUGIN_RANKING_H

#include <qunbot/plugin.h>

/* Per-group settings, filled by the core from the rules files. */
struct ranking_settings {
    int64_t message_points;   /* points for a counted message (before diminishing) */
    int64_t min_chars;        /* code points of text a message needs to count */
    int64_t cooldown_ms;      /* at most one counted message per member per cooldown */
    int64_t burst_ms;         /* the window in which awards diminish */
    int64_t burst_full;       /* counted messages per window at full value */
    int64_t daily_cap;        /* message points per local day (0 = no cap) */
    int64_t reply_bonus;      /* to an author, once per distinct replier per day */
    int64_t invite_points;    /* to the inviter */
    int64_t invite_keep_ms;   /* an invitee leaving within this takes the points back */
    int64_t top;              /* leaderboard length */
    struct qb_strlist levels; /* "threshold:title", ascending */
    bool set_special_title;   /* give the level's title as the QQ special title */
};

/* In-memory state: only housekeeping times. Owned by the plugin, freed in shutdown. */
struct ranking_state {
    int64_t last_prune_ms;
};

/* A leaderboard period: [since, until) in Unix ms (0, 0 = all time). */
enum ranking_period { RANKING_DAY = 0, RANKING_WEEK, RANKING_MONTH, RANKING_ALL };

/* ---- ranking.c: the frame and shared helpers ---- */
const struct ranking_settings *ranking_cfg(struct qb_ctx *c, const char *group_id);
/* Start of the period containing now in the group's timezone (Unix ms; 0 for all time). */
int64_t ranking_period_start(struct qb_ctx *c, const char *group_id, enum ranking_period p,
                             int64_t now_ms);
/* Remember the member's display name (if given) and make sure the row exists. */
void ranking_member_touch(struct qb_ctx *c, const char *group_id, const char *user_id,
                          const char *name);
/* The member's remembered name, else their id. */
void ranking_member_name(struct qb_ctx *c, const char *group_id, const char *user_id, char *out,
                         size_t n);
bool ranking_member_hidden(struct qb_ctx *c, const char *group_id, const char *user_id);
int ranking_member_set_hidden(struct qb_ctx *c, const char *group_id, const char *user_id,
                              bool hidden);
/* Parse one levels entry "100:活跃成员": threshold and a pointer to the title. */
bool ranking_level_parse(const char *entry, int64_t *threshold, const char **title);
/* Index of the level for total (-1 if below the first), title pointer and the next level's
 * threshold and title (next_title NULL when at the top). */
int ranking_level_of(const struct qb_strlist *levels, int64_t total, const char **title,
                     int64_t *next_at, const char **next_title);
/* Is text (trimmed text-only content) one of this plugin's commands, or command-like
 * (a prefix character followed by a word)? Such messages earn no message points. */
bool ranking_is_command(const char *text);

/* Trim ASCII white space and full-width spaces in place; returns s. */
char *ranking_trim(char *s);
/* Code points in a UTF-8 string (continuation bytes are not counted). */
size_t ranking_utf8_len(const char *s);

/* ---- ranking_award.c: message points, reply bonus, invitations, levels ---- */
void ranking_on_message(struct qb_ctx *c, const struct qb_event *ev);
void ranking_on_join(struct qb_ctx *c, const struct qb_event *ev);
void ranking_on_leave(struct qb_ctx *c, const struct qb_event *ev);
/* After points changed for a member: record a level rise and, if configured, set the
 * special title. */
void ranking_level_check(struct qb_ctx *c, const char *self_id, const char *group_id,
                         const char *user_id);
/* The author of a recorded group message, or false. */
bool ranking_message_author(struct qb_ctx *c, const char *group_id, const char *message_id,
                            char *out, size_t n);
/* Drop message and reply rows too old to matter. */
void ranking_prune(struct qb_ctx *c, int64_t now_ms);

/* ---- ranking_board.c: leaderboards, /me, hide/show, pairs, admin grants ---- */
int ranking_cmd_rank(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int ranking_cmd_me(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int ranking_cmd_pairs(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int ranking_cmd_points(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int ranking_cmd_add(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int ranking_cmd_deduct(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);

#endif
