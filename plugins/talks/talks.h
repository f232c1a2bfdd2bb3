/*
 * talks.h — internal header of the talks plugin (not part of the plugin API): the
 * settings struct, the plugin's in-memory state (known groups, pending @all checks), one
 * talk as read from talks_talks, and the functions the plugin's .c files share (parsing
 * dates and durations, formatting, schedules and announcements, quiet mode and questions,
 * the summary files).
 *
 * Owns nothing by itself. Only the talks plugin's own files include it. All names start
 * with talks_. Facts live in the plugin's tables (talks_*); schedules are persisted.
 */
#ifndef QB_PLUGIN_TALKS_H
#define QB_PLUGIN_TALKS_H

#include <qunbot/plugin.h>

#define TALKS_MIN_MS      (60LL * 1000)
#define TALKS_HOUR_MS     (60 * TALKS_MIN_MS)
#define TALKS_DAY_MS      (24 * TALKS_HOUR_MS)
#define TALKS_MAX_DUR_MS  (8 * TALKS_HOUR_MS)
#define TALKS_SPEAKERS    8
#define TALKS_TOPIC_MAX   400
#define TALKS_SPEAKER_LEN (TALKS_SPEAKERS * QB_ID_MAX)

/* Per-group settings, filled by the core from the rules files. */
struct talks_settings {
    struct qb_strlist talks;           /* "2026-12-05 20:00|90m|20003,20004|主题" */
    struct qb_strlist announce_before; /* durations before the start: "3d", "1h" ... */
    char *announce;                    /* template of an announcement */
    char *late_policy;                 /* "send" | "skip" */
    int64_t stale_after_ms;            /* a later announcement is skipped */
    bool at_all;                       /* @全体成员 once, with the last announcement */
    char *quiet;                       /* "off" | "mute" | "recall" */
    bool post_summary;                 /* say in the group that the summary is ready */
};

/* A group this process knows (has seen a message from, knew from an earlier run, or a rules
 * file lists with the plugin on). */
struct talks_group {
    struct talks_group *next;
    char group_id[QB_ID_MAX];
    uint64_t talks_hash; /* of the rules file's talks list as last synced; 0 = never */
    bool seen;           /* a message this run recorded the group's account */
};

/* An announcement waiting for the answer about the bot's own role (for @all). */
struct talks_pending {
    struct talks_pending *next;
    int64_t id, talk_id, offset_ms, start_ms;
};

struct talks_state {
    struct talks_group *groups;
    struct talks_pending *pending;
    int64_t next_id;
};

/* One talk (a row of talks_talks). */
struct talks_talk {
    int64_t id;
    char platform[16], self_id[QB_ID_MAX], group_id[QB_ID_MAX];
    char topic[TALKS_TOPIC_MAX];
    char speakers[TALKS_SPEAKER_LEN]; /* ids, comma-separated */
    int64_t start_ms, dur_ms;
    char status[16]; /* scheduled | live | ended | cancelled */
    bool muted, at_all_done, from_rules;
};

/* What /talk add or a rules entry asks for. */
struct talks_req {
    int64_t start_ms, dur_ms;
    char speakers[TALKS_SPEAKER_LEN];
    char topic[TALKS_TOPIC_MAX];
};

/* ---- talks.c: frame ---- */
struct talks_state *talks_st(struct qb_ctx *c);
const struct talks_settings *talks_cfg(struct qb_ctx *c, const char *group_id);
/* Remember a group (and the account that serves it) for rules-file talks. */
void talks_group_seen(struct qb_ctx *c, const char *platform, const char *self_id,
                      const char *group_id);

/* ---- talks_parse.c: input and output of times ---- */
/* "90m" "2h" "3d" "45s" "90分钟" "2小时" "1小时30分钟" "1天" → ms. QB_OK or QB_EINVAL. */
int talks_parse_duration(const char *s, int64_t *ms);
/* A date word ("2026-12-05", "2026年12月5日", "12月5日") and a time ("20:00") in tz:
 * the start (Unix ms). On error a one-line reason for members in why. */
int talks_parse_when(struct qb_ctx *c, const char *tz, const char *date, const char *time,
                     int64_t *ms, char *why, size_t n);
/* A rules-file entry "YYYY-MM-DD HH:MM|90m|id,id|主题" (no clock needed except for tz). */
int talks_parse_entry(struct qb_ctx *c, const char *tz, const char *entry, struct talks_req *r,
                      char *why, size_t n);
/* The format of an entry only (for the check hook): QB_OK or QB_EINVAL with why. */
int talks_check_entry(const char *entry, char *why, size_t n);
/* "12月5日 周六 20:00" in tz. */
void talks_fmt_when(struct qb_ctx *c, const char *tz, int64_t ms, char *out, size_t n);
/* "90分钟", "2小时", "1天3小时" (rounded to minutes). */
void talks_fmt_dur(int64_t ms, char *out, size_t n);
/* Trim ASCII and full-width white space in place. */
char *talks_trim(char *s);

/* ---- talks_store.c: rows ---- */
int talks_load(struct qb_ctx *c, int64_t id, struct talks_talk *t);
/* The talk running in the group at ms (status scheduled/live, start <= ms < end). */
int talks_live_at(struct qb_ctx *c, const char *group_id, int64_t ms, struct talks_talk *t);
/* The talk that started last in the group at or before ms (not cancelled). */
int talks_latest(struct qb_ctx *c, const char *group_id, int64_t ms, struct talks_talk *t);
/* Another scheduled/live talk in the group overlapping [start, start+dur), except skip_id. */
bool talks_overlap(struct qb_ctx *c, const char *group_id, int64_t start, int64_t dur,
                   int64_t skip_id, struct talks_talk *other);
/* Insert a talk; source NULL for commands. Returns the new id, 0 if the source exists,
 * or a negative QB_E*. */
int64_t talks_insert(struct qb_ctx *c, const struct talks_talk *t, const char *source,
                     const char *by);
int talks_set_status(struct qb_ctx *c, int64_t id, const char *from1, const char *from2,
                     const char *to);
bool talks_is_speaker(const struct talks_talk *t, const char *user_id);
int64_t talks_count(struct qb_ctx *c, const char *sql, int64_t id);

/* ---- talks_sched.c: schedules, announcements, start and end ---- */
/* (Re)arm every schedule of a scheduled talk for its current start. */
void talks_arm(struct qb_ctx *c, const struct talks_talk *t);
/* Cancel every schedule of a talk (any offset it may have been armed with). */
void talks_disarm(struct qb_ctx *c, const struct talks_talk *t);
void talks_on_schedule(struct qb_ctx *c, const struct qb_event *ev);
/* End a talk now (end time or command): Q&A, summary, mute lifted. Once per talk. */
void talks_finish(struct qb_ctx *c, int64_t id, const struct qb_event *ev);
void talks_pending_free(struct qb_ctx *c);
/* Send text to the talk's group with the speakers' @mentions where '\x01' stands. */
void talks_send(struct qb_ctx *c, const struct talks_talk *t, const char *text, bool at_all);

/* ---- talks_live.c: during a talk ---- */
/* A group message: attendance, speaker's words, questions, quiet mode. */
int talks_on_message(struct qb_ctx *c, const struct qb_event *ev);
int talks_cmd_question(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int talks_cmd_done(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
/* Post the question queue of a talk in order (numbered, answered marked). */
void talks_post_questions(struct qb_ctx *c, const struct talks_talk *t, bool final);

/* ---- talks_summary.c ---- */
/* Write talk-<id>.md and talk-<id>.html under qb_export_path. QB_OK or QB_E* (logged). */
int talks_write_summary(struct qb_ctx *c, const struct talks_talk *t);

/* ---- talks_cmd.c: admin commands ---- */
int talks_cmd(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int talks_cmd_add(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int talks_cmd_list(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int talks_cmd_move(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int talks_cmd_cancel(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int talks_cmd_end(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
int talks_cmd_qa(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
/* Create a talk from a rules entry if new (idempotent by its text). */
void talks_sync_rules(struct qb_ctx *c, const char *group_id);

#endif
