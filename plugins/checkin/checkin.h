/*
 * checkin.h — internal header of the check-in plugin (not part of the plugin API): the
 * settings struct, the plugin's in-memory state (pending merged confirmations, armed
 * summary schedules) and the functions its .c files share (local days, the window,
 * streak queries, check-ins, make-ups, boards and the daily summary).
 *
 * Owns nothing by itself. Only the check-in plugin's own files include it; the core and
 * other plugins must not. All names start with checkin_. Points are written only through
 * qb_points_add; check-in facts live in the plugin's table checkin_days.
 */
#ifndef QB_PLUGIN_CHECKIN_H
#define QB_PLUGIN_CHECKIN_H

#include <qunbot/plugin.h>

/* Per-group settings, filled by the core from the rules files. */
struct checkin_settings {
    struct qb_strlist triggers; /* whole-message words that check in */
    char *window_start;         /* "HH:MM" or "" (all day) */
    char *window_end;           /* "HH:MM" or "" */
    int64_t points;             /* points per check-in */
    int64_t streak_bonus;       /* extra points per consecutive day beyond the first */
    int64_t streak_bonus_max;   /* cap on the bonus */
    char *reply;                /* template: one confirmation line */
    int64_t merge_ms;           /* confirmations this close together share one message */
    bool makeup_enabled;
    int64_t makeup_cost;
    int64_t makeup_per_month;
    char *summary_time; /* "HH:MM" or "" (no daily summary) */
};

#define CHECKIN_BATCH_MAX 30

/* Confirmations of one group waiting to go out as one message. Owned by the state list. */
struct checkin_batch {
    struct checkin_batch *next;
    int64_t id, timer;
    char self_id[QB_ID_MAX], group_id[QB_ID_MAX];
    size_t n;
    struct {
        char user_id[QB_ID_MAX];
        char *line; /* rendered; '\x01' marks where the @mention goes. Owned. */
    } v[CHECKIN_BATCH_MAX];
};

/* A group whose summary schedule this process has armed, and with which cron. */
struct checkin_armed {
    struct checkin_armed *next;
    char group_id[QB_ID_MAX];
    char cron[96]; /* "min hour * * *|timezone" as armed; "" = none */
    bool seen;     /* an event from the group was recorded in checkin_groups this run */
};

struct checkin_state {
    int64_t next_id;
    struct checkin_batch *batches;
    struct checkin_armed *armed;
};

/* A local calendar day: "YYYY-MM-DD" and its day number (days since 1970-01-01). */
struct checkin_day {
    char date[16];
    int64_t num;
};

/* ---- checkin.c: frame and shared helpers ---- */
struct checkin_state *checkin_st(struct qb_ctx *c);
const struct checkin_settings *checkin_cfg(struct qb_ctx *c, const char *group_id);
/* The group's local day containing ms. */
struct checkin_day checkin_day_of(struct qb_ctx *c, const char *group_id, int64_t ms);
/* The day num days after d (negative: before). */
struct checkin_day checkin_day_add(struct checkin_day d, int64_t days);
/* Parse "HH:MM" (00:00–24:00) into minutes of the day; false if malformed. */
bool checkin_hhmm(const char *s, int *minutes);
/* Minutes since local midnight at ms in the group's timezone, and the month start (ms). */
int checkin_minute_of_day(struct qb_ctx *c, const char *group_id, int64_t ms);
int64_t checkin_month_start(struct qb_ctx *c, const char *group_id, int64_t ms);
/* Is the message exactly one of the group's triggers (and mentions nobody but the bot)? */
bool checkin_is_trigger(const struct checkin_settings *s, const struct qb_event *ev);
/* Send text as one message to ev's group, mentioning the sender first. */
void checkin_tell(struct qb_ctx *c, const struct qb_event *ev, const char *text);
/* Remember the group (platform, account) for the summary and arm its schedule if the
 * setting changed since this process last armed it. Groups listed in the rules files are
 * armed without an event too (at start-up and after a reload: checkin.c). */
void checkin_group_seen(struct qb_ctx *c, const char *platform, const char *self_id,
                        const char *group_id);
void checkin_arm_summary(struct qb_ctx *c, const char *group_id);

/* ---- checkin_streak.c: queries over checkin_days ---- */
/* Consecutive days ending exactly at day (0 if no check-in that day). */
int64_t checkin_streak_at(struct qb_ctx *c, const char *platform, const char *group_id,
                          const char *user_id, int64_t day);
/* The current streak: ending today, else yesterday (still alive), else 0. */
int64_t checkin_streak_now(struct qb_ctx *c, const char *platform, const char *group_id,
                           const char *user_id, int64_t today);
int64_t checkin_longest(struct qb_ctx *c, const char *platform, const char *group_id,
                        const char *user_id);
int64_t checkin_total_days(struct qb_ctx *c, const char *platform, const char *group_id,
                           const char *user_id);
/* Make-ups recorded at or after since_ms. */
int64_t checkin_makeups_since(struct qb_ctx *c, const char *platform, const char *group_id,
                              const char *user_id, int64_t since_ms);
/* Does the member have a row for day? Their order that day (0 if none or a make-up). */
bool checkin_has_day(struct qb_ctx *c, const char *platform, const char *group_id,
                     const char *user_id, int64_t day, int64_t *order);
/* All-time points total in the group and the member's place by it (1 = most). */
int64_t checkin_rank(struct qb_ctx *c, const char *group_id, const char *user_id, int64_t total);
/* The member's last known display name, else their id. */
void checkin_name(struct qb_ctx *c, const char *platform, const char *group_id, const char *user_id,
                  char *out, size_t n);

/* ---- checkin_do.c: checking in, merged confirmations, make-ups ---- */
/* Handle a check-in message (trigger or /checkin). Always QB_HANDLED. */
int checkin_do(struct qb_ctx *c, const struct qb_event *ev);
int checkin_cmd_makeup(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
void checkin_batches_free(struct qb_ctx *c);

/* ---- checkin_board.c: 签到榜, 我的签到, the daily summary ---- */
int checkin_cmd_top(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int checkin_cmd_me(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
void checkin_on_schedule(struct qb_ctx *c, const struct qb_event *ev);

#endif
