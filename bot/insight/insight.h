/*
 * insight.h — engagement analysis over the bot's database: the metrics library
 * (bot/insight/metrics.c, graph.c), the report renderers (render_*.c) and the contract with the
 * insight plugin (plugins/insight), which keeps the rollup tables these functions read.
 *
 * Everything here takes an open sqlite3 handle (read-only is enough) and a time range; it
 * never writes, never logs, and returns QB_* errors with a reason for admins in err. Results
 * are plain structs the caller frees with the matching _free function. Time boundaries
 * (days, weeks, hours of the day) are local to the range's timezone.
 *
 * Tables read (created by plugins/insight's migrations; the schema is in docs/INSIGHT.md):
 *   insight_activity(platform, group_id, user_id, day, hour, weekday, messages, chars)
 *   insight_members(platform, group_id, user_id, name, joined_ms, left_ms, inviter,
 *                   first_msg_ms, last_msg_ms, messages, replies_received, first_reply_ms)
 *   insight_edges(platform, group_id, src, dst, kind, n, last_ms)     kind: 'reply' | 'at'
 *   insight_msgs(platform, group_id, message_id, user_id, ts, question, first_reply_ms,
 *                first_reply_by)                                      (recent messages)
 * and, when those plugins ran, points_ledger (check-ins: source 'checkin'), talks_attendance,
 * talks_talks, signup_entries, guard_cases, guard_hits.
 */
#ifndef QB_INSIGHT_H
#define QB_INSIGHT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <qunbot/qunbot.h>

/* The insight tables' schema (bot/insight/schema.c): SQL per schema version (index 0 = v1),
 * NULL-terminated — plugins/insight's migrations, and what tests use to build databases. */
extern const char *const qb_insight_migrations[];

/* [since_ms, until_ms) in Unix ms; tz an IANA name ("Asia/Shanghai"). Borrowed. */
struct qb_insight_range {
    int64_t since_ms, until_ms;
    const char *tz;
};

/* Parse "30d", "12w", "90d", "24h" ending now_ms into r (tz borrowed). QB_OK / QB_EINVAL. */
int qb_insight_range_parse(const char *since, int64_t now_ms, const char *tz,
                           struct qb_insight_range *r, char *err, size_t errlen);

/* ------------------------------------------------------------------ overview */

struct qb_insight_overview {
    char group_id[QB_ID_MAX];
    int64_t messages;
    int64_t active_members; /* spoke at least once in the range */
    int64_t members;        /* known members at the end of the range (joined, not left) */
    double dau, wau, mau;   /* averages over the range's days; wau/mau: trailing windows */
    double dau_mau;         /* stickiness */
    int64_t joins, leaves, net_growth;
    double checkin_rate; /* check-ins / (members × days); 0 when the plugin never ran */
    int64_t checkins;
    int64_t talks, talk_attendance, questions;
    int64_t moderation; /* guard strikes + recalls */
    int64_t pardons;
    double top10_share;       /* share of messages from the top 10 % of speakers */
    double median_response_s; /* questions: time to the first reply by someone else; -1 none */
    int64_t unanswered_questions;
};

int qb_insight_overview(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                        struct qb_insight_overview *out, char *err, size_t errlen);

/* Messages per local weekday (0 = Monday) × hour. */
int qb_insight_heatmap(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       int64_t cells[7][24], char *err, size_t errlen);

/* ------------------------------------------------------------------ members */

enum qb_insight_stage {
    QB_STAGE_ONLOOKER = 0, /* 围观者: never spoke */
    QB_STAGE_FOLLOWER,     /* 关注者: spoke, replied or reacted */
    QB_STAGE_PARTICIPANT,  /* 消费者: checks in, attends talks, signs up */
    QB_STAGE_SPREADER, /* 传播者: invited members who stayed, or whose messages get replies */
    QB_STAGE_PARTNER,  /* 合作者: gave a talk or holds a role (admin) */
    QB_STAGE__COUNT
};
const char *qb_insight_stage_name(enum qb_insight_stage s); /* "围观者" ... */

/* Thresholds for the stages (defaults by qb_insight_stages_default; documented in
 * docs/INSIGHT.md, configurable in the insight plugin's settings). */
struct qb_insight_stages {
    int follower_messages;   /* messages in the range to count as follower (1) */
    int participant_actions; /* check-ins + talks attended + sign-ups (3) */
    int spreader_invites;    /* invited members who stayed 7 days (1) */
    int spreader_replied_by; /* distinct members who replied to or @ them (5) */
};
void qb_insight_stages_default(struct qb_insight_stages *s);

struct qb_insight_member {
    char user_id[QB_ID_MAX];
    char name[128];
    int64_t joined_ms, last_msg_ms; /* 0 if unknown / never */
    int64_t messages, replies_received, mentions_received;
    int64_t checkins, talks_attended, signups, invites_stayed;
    bool admin, speaker;
    enum qb_insight_stage stage;
    double degree;       /* weighted degree in the conversation graph */
    double pagerank;     /* sums to 1 over the group's members */
    double value;        /* member value score 0..100 (recency, frequency, contribution) */
    char value_why[160]; /* "最近 2 天前发言 · 本期 120 条 · 被 14 人回复" */
};

/* Every member known in the group with their figures for the range, ordered by value
 * (highest first). *out is allocated (caller frees with free()). */
int qb_insight_members(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       const struct qb_insight_stages *st, struct qb_insight_member **out,
                       size_t *n, char *err, size_t errlen);

/* Members silent for at least days (known members who have not left), longest silent first. */
int qb_insight_silent(sqlite3 *db, const char *group_id, int64_t now_ms, int days,
                      struct qb_insight_member **out, size_t *n, char *err, size_t errlen);

/* ------------------------------------------------------------------ cohorts */

struct qb_insight_cohort {
    char week[11]; /* local Monday of the joining week, "YYYY-MM-DD" */
    int64_t joined;
    int64_t active[4]; /* of them, active in week 1, 2, 4 and 8 after joining (-1: not yet) */
};
int qb_insight_cohorts(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       int64_t now_ms, struct qb_insight_cohort **out, size_t *n, char *err,
                       size_t errlen);

/* ------------------------------------------------------------------ graph (graph.c, pure) */

struct qb_insight_edge {
    size_t src, dst; /* node indexes */
    double w;
};
/* PageRank with damping d (0.85) over a weighted directed graph of n nodes; dangling nodes
 * spread evenly; iterates until the L1 change < 1e-9 or 100 rounds. rank[n] sums to 1. */
void qb_insight_pagerank(size_t n, const struct qb_insight_edge *e, size_t ne, double d,
                         double *rank);

/* ------------------------------------------------------------------ newcomers, effects,
 * invites, bridges, moderation by detector (metrics_newcomers.c, metrics_effects.c,
 * metrics_social.c; formulas in docs/INSIGHT.md "Newcomers, effects, invites, bridges and
 * moderation"). In these structs a negative double / int means "none" (JSON null). */

struct qb_insight_newcomer {
    char user_id[QB_ID_MAX];
    char name[128];
    int64_t joined_ms;
    int64_t first_msg_ms;           /* first message after joining; 0: none by the report end */
    int first_msg_replied;          /* 1 / 0; -1: never spoke, or the message is not kept */
    double first_reply_s;           /* seconds to the first reply; -1 none */
    int64_t unanswered_question_ms; /* first unanswered question in the first 14 days; 0 none */
};

struct qb_insight_newcomers {
    int64_t joined, spoke, spoke_7d, first_replied;
    double activation_rate;           /* spoke_7d / joined (0 when none joined) */
    double median_first_msg_s;        /* -1 none */
    double median_first_reply_s;      /* -1 none */
    struct qb_insight_newcomer *list; /* newest join first, at most 200; owned */
    size_t n_list;
    struct qb_insight_newcomer *unanswered; /* those with an unanswered question, max 50; owned */
    size_t n_unanswered;
};
/* Members who joined in the range. out is freed with qb_insight_newcomers_free. */
int qb_insight_newcomers(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                         int64_t now_ms, struct qb_insight_newcomers *out, char *err,
                         size_t errlen);
void qb_insight_newcomers_free(struct qb_insight_newcomers *n);

#define QB_INSIGHT_EFFECT_WINDOW_H 3
struct qb_insight_effect {
    char kind[12];   /* "talk" | "post" | "broadcast" */
    char label[128]; /* talk topic, post name, broadcast name */
    int64_t ts;
    int window_h;
    int64_t messages, speakers, joins;
    double base_messages, base_speakers, base_joins; /* -1 when base_weeks is 0 */
    int base_weeks;                                  /* 0..4 previous weeks averaged */
    double lift;                                     /* messages / base_messages; -1 none */
};
/* Talks, scheduled posts and broadcasts of the range that can be measured by now_ms, newest
 * first, at most 50. *out allocated (caller frees with free()). */
int qb_insight_effects(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       int64_t now_ms, struct qb_insight_effect **out, size_t *n, char *err,
                       size_t errlen);

struct qb_insight_inviter {
    char user_id[QB_ID_MAX];
    char name[128];
    int64_t invited, stayed, left;
};
struct qb_insight_invitee {
    char inviter[QB_ID_MAX];
    char user_id[QB_ID_MAX];
    char name[128];
    int64_t joined_ms;
    int stayed;      /* 1 / 0; -1 joined less than 7 days before the range end */
    int64_t left_ms; /* 0 while in the group */
};
struct qb_insight_invites {
    struct qb_insight_inviter *leaderboard; /* at most 50; owned */
    size_t n_leaderboard;
    struct qb_insight_invitee *tree; /* joins in the range, at most 500; owned */
    size_t n_tree;
};
int qb_insight_invites(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       struct qb_insight_invites *out, char *err, size_t errlen);
void qb_insight_invites_free(struct qb_insight_invites *inv);

/* Communities by deterministic weighted label propagation (pure, metrics_social.c) on the
 * undirected graph of n nodes (edge weights of both directions added): nodes in index order
 * take the label with the highest neighbour weight (ties: smallest label) until nothing
 * changes or 50 rounds. label[n] gets communities numbered 0.. by size (largest first; ties:
 * the one with the smallest node first). Returns the number of communities (singletons
 * included); 0 when out of memory (every node then its own label). */
size_t qb_insight_communities(size_t n, const struct qb_insight_edge *e, size_t ne, size_t *label);

struct qb_insight_bridge {
    char user_id[QB_ID_MAX];
    char name[128];
    size_t community;
    int64_t reached;      /* other communities their edges go into (>= 2) */
    double outside_share; /* weight to other communities / weight */
    double weight;        /* total weight of their edges */
};
struct qb_insight_bridges {
    int64_t count;  /* communities with at least 2 members */
    int64_t *sizes; /* their sizes, largest first; owned */
    size_t n_sizes;
    struct qb_insight_bridge *v; /* at most 30; owned */
    size_t n;
};
int qb_insight_bridges(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       struct qb_insight_bridges *out, char *err, size_t errlen);
void qb_insight_bridges_free(struct qb_insight_bridges *b);

struct qb_insight_moderation {
    char detector[64]; /* guard detector, or "manual" for recalls by admins */
    int64_t hits, acted, cases, pardoned;
};
/* Guard hits of the range by detector (and recalls as "manual"), most hits first. *out
 * allocated (caller frees with free()); empty when the guard never ran. */
int qb_insight_moderation_by(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                             struct qb_insight_moderation **out, size_t *n, char *err,
                             size_t errlen);

/* ------------------------------------------------------------------ the whole report */

struct qb_insight_word {
    char text[32];
    int64_t count;
};

struct qb_insight_report {
    struct qb_insight_range range;
    int64_t generated_ms;
    struct qb_insight_overview ov;
    int64_t heat[7][24];
    struct qb_insight_member *members;
    size_t n_members;
    int64_t funnel[QB_STAGE__COUNT]; /* members per stage */
    struct qb_insight_cohort *cohorts;
    size_t n_cohorts;
    struct qb_insight_word words[20]; /* hot character n-grams of the range */
    size_t n_words;
    int64_t *daily_messages; /* one per local day of the range */
    int64_t *daily_active;
    size_t n_days;
    struct qb_insight_newcomers newcomers;
    struct qb_insight_effect *effects;
    size_t n_effects;
    struct qb_insight_invites invites;
    struct qb_insight_bridges bridges; /* also the communities */
    struct qb_insight_moderation *moderation_by;
    size_t n_moderation_by;
};

int qb_insight_report(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                      int64_t now_ms, struct qb_insight_report *out, char *err, size_t errlen);
void qb_insight_report_free(struct qb_insight_report *rep);
/* The same with stage thresholds (NULL = qb_insight_stages_default): the insight plugin
 * passes a group's configured thresholds. rep->range.tz stays borrowed from r. */
int qb_insight_report_with(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                           int64_t now_ms, const struct qb_insight_stages *st,
                           struct qb_insight_report *out, char *err, size_t errlen);

/* Renderers (render.c): a self-contained HTML page (inline SVG charts, no network), CSV (one
 * section per table, RFC 4180 quoting, spreadsheet formulas neutralised) and JSON. Member
 * names are escaped. QB_OK or QB_EIO. */
int qb_insight_render_html(const struct qb_insight_report *rep, FILE *out);
int qb_insight_render_csv(const struct qb_insight_report *rep, FILE *out);
int qb_insight_render_json(const struct qb_insight_report *rep, FILE *out);
/* A short text summary for chat (Chinese, ~8 lines); returns a malloc'd string. */
char *qb_insight_render_text(const struct qb_insight_report *rep);

#endif
