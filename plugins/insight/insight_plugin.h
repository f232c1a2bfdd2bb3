/*
 * insight_plugin.h — internal header of the insight plugin (not part of the plugin API):
 * its settings, its in-memory state (pending /forgetme confirmations) and the functions
 * its .c files share (recording events into the rollup tables, the commands).
 *
 * Only the insight plugin's own .c files include it. The metrics themselves live in bot/insight
 * (<insight.h>); this plugin keeps the tables they read up to date and answers admins.
 */
#ifndef QB_PLUGIN_INSIGHT_H
#define QB_PLUGIN_INSIGHT_H

#include <insight.h>
#include <qunbot/plugin.h>

#define INSIGHT_FORGET_MS   (5 * 60 * 1000LL) /* /forgetme confirm must follow within this */
#define INSIGHT_PENDING_MAX 64
#define INSIGHT_KEEP_MS     (90LL * 86400000) /* insight_msgs rows older than this are pruned */

/* Per-group settings, filled by the core from the rules files. */
struct insight_settings {
    int64_t follower_messages;
    int64_t participant_actions;
    int64_t spreader_invites;
    int64_t spreader_replied_by;
    int64_t silent_days;
    bool weekly_digest;
    char *report_period; /* "7d", "30d", "12w", "24h" */
};

struct insight_pending {
    char group_id[QB_ID_MAX], user_id[QB_ID_MAX];
    int64_t asked_ms; /* 0 = free slot */
};

struct insight_state {
    struct insight_pending pending[INSIGHT_PENDING_MAX];
};

extern const struct qb_command insight_commands[];

/* The bot's database handle (the same connection and batch as qb_stmt). Borrowed. */
sqlite3 *insight_db(struct qb_ctx *c);
void insight_stages_of(const struct insight_settings *s, struct qb_insight_stages *st);
/* Record one event in the rollup tables (group events only). */
void insight_record(struct qb_ctx *c, const struct qb_event *ev);
/* Delete what the insight tables hold on a member of a group and blank their message text
 * in the interaction log; returns the number of rows touched or a negative QB_E*. */
int64_t insight_forget(struct qb_ctx *c, const char *group_id, const char *user_id);
/* Is the text a question (ends with ？/? or starts with 提问/请问/求助/有没有人)? */
bool insight_is_question(const char *text);
/* The weekly digest and the daily prune (QB_EV_SCHEDULE). */
void insight_digest(struct qb_ctx *c, int64_t late_ms);
void insight_prune(struct qb_ctx *c);

#endif
