/*
 * schedule.h — internal header of the schedule plugin (recurring posts and night mode; not
 * part of the plugin API): the settings struct, the in-memory list of groups seen this run,
 * the plugin-local cron reader used by the check hook and /schedule list, and the functions
 * the plugin's .c files share.
 *
 * Owns nothing by itself. Only the schedule plugin's own files include it; the core and other
 * plugins must not. All names start with sch_. The persisted schedules themselves belong to
 * the core (qb_schedule_cron); this plugin's tables remember what it armed, pauses, the
 * rotation position of each post and which occurrences were already posted.
 */
#ifndef QB_PLUGIN_SCHEDULE_H
#define QB_PLUGIN_SCHEDULE_H

#include <qunbot/plugin.h>

/* Per-group settings, filled by the core from the rules files. */
struct schedule_settings {
    struct qb_strlist posts;  /* "<cron>|<name>|<text>" entries */
    struct qb_strlist topics; /* rotating content for {item} / @topics */
    char *topic_template;     /* template for a post whose text is "@topics" */
    char *group_name;         /* what {group} says; "" = 本群 */
    int64_t stale_ms;         /* a post later than this is skipped */
    char *night_start;        /* "HH:MM" or "" */
    char *night_end;          /* "HH:MM" or "" */
    char *night_notice;       /* template posted before the whole-group mute; "" = none */
    char *morning_notice;     /* template posted after the lift; "" = none */
};

#define SCH_NAME_MAX 64  /* bytes of a post name, with the NUL */
#define SCH_CRON_MAX 128 /* bytes of a cron text, with the NUL */
#define SCH_KEY_MAX  (QB_ID_MAX + SCH_NAME_MAX + 16)

/* A group seen this run (an event, a schedule, or listed in a rules file), with a signature of
 * the settings its schedules were synced for. */
struct sch_group {
    struct sch_group *next;
    char group_id[QB_ID_MAX];
    uint64_t sig;
    bool recorded; /* an event's account was written to schedule_groups this run */
};

/* A night notice sent and waiting for the platform's answer before the mute goes out (the
 * outbox sends moderation ahead of messages). Owned by the state list; the host calls no
 * callback after shutdown, which frees what is left. */
struct sch_pending {
    struct sch_pending *next;
    char group_id[QB_ID_MAX];
};

struct sch_state {
    struct sch_group *groups;
    struct sch_pending *pending;
};

/* One "<cron>|<name>|<text>" entry split up. text points into the entry (borrowed). */
struct sch_post {
    char cron[SCH_CRON_MAX];
    char name[SCH_NAME_MAX];
    const char *text;
};

/* ---- schedule_cron.c: post entries and HH:MM (cron text is read by the core: qb_cron_check) ----
 */
/* Split an entry; on error a one-line reason in why (names the entry). */
int sch_post_parse(const char *entry, struct sch_post *out, char *why, size_t n);
/* Find the post called name in the settings; false if none. */
bool sch_post_find(const struct schedule_settings *s, const char *name, struct sch_post *out);
/* Parse "HH:MM" (00:00–23:59) into minutes of the day; false if malformed. */
bool sch_hhmm(const char *s, int *minutes);

/* ---- schedule_arm.c: groups and their core schedules ---- */
struct sch_state *sch_st(struct qb_ctx *c);
const struct schedule_settings *sch_cfg(struct qb_ctx *c, const char *group_id);
/* An event came from group_id: remember it (and the account; self_id NULL = a schedule of the
 * group fired, nothing to remember) and sync its schedules when the settings changed since this
 * run last synced them. */
void sch_group_seen(struct qb_ctx *c, const char *self_id, const char *group_id);
/* Make the core's schedules of the group match its settings (arm, re-arm, cancel). */
void sch_sync(struct qb_ctx *c, const char *group_id);
/* Re-sync every group remembered in the plugin's table and every group a rules file lists
 * with the plugin on (start-up: a quiet group's posts must not wait for its first message). */
void sch_sync_all(struct qb_ctx *c);
/* Sync the groups the rules files list (on_tick: a reload may add groups or change posts). */
void sch_sync_listed(struct qb_ctx *c);
/* The account a group was last seen on ("" if unknown, e.g. a quiet group known only from
 * the rules files: the first account). */
void sch_self_of(struct qb_ctx *c, const char *group_id, char self_id[QB_ID_MAX]);
/* Schedule keys: "post:<group>|<name>", "night-on:<group>", "night-off:<group>". */
void sch_post_key(char *out, size_t n, const char *group_id, const char *name);
void sch_groups_free(struct qb_ctx *c);

/* ---- schedule_post.c: posting, pause, the /schedule command ---- */
/* Render the post for the moment when_ms ({date}, {weekday}) and send it to the group; a text
 * using {item} takes the next topic and saves the rotation position. */
int sch_post_send(struct qb_ctx *c, const char *group_id, const struct sch_post *p,
                  int64_t when_ms);
void sch_post_on_schedule(struct qb_ctx *c, const char *group_id, const char *name, int64_t due_ms,
                          int64_t late_ms);
bool sch_paused(struct qb_ctx *c, const char *group_id, const char *name);
int sch_cmd(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int sch_cmd_list(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);

/* ---- schedule_night.c: night mode ---- */
void sch_night_on_schedule(struct qb_ctx *c, const char *group_id, bool start, int64_t late_ms);
/* Night mode was turned off while this plugin had the group muted: lift the mute now. */
void sch_night_release(struct qb_ctx *c, const char *group_id);
/* Start-up: a mute decided before a restart but never submitted goes out now (if still night). */
void sch_night_resume(struct qb_ctx *c, const char *group_id);
void sch_night_free(struct qb_ctx *c);
/* Is ms inside the group's night window? */
bool sch_in_night(struct qb_ctx *c, const char *group_id, int64_t ms);

#endif
