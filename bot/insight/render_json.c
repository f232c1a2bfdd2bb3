/*
 * render_json.c — the engagement report as one JSON document for other tools, built with
 * cJSON. Field names are stable and documented in docs/INSIGHT.md ("Reports"); figures are
 * JSON numbers, "none" is null (never -1 or ""), times are Unix ms, days "YYYY-MM-DD" local
 * to the range's zone.
 *
 * Reads a filled report and writes to the caller's stream; owns nothing after it returns.
 * Newcomers, effects, invites, communities, bridges and moderation_by follow the words.
 * The member list is streamed one object at a time. Strings are made valid UTF-8 before cJSON
 * escapes them. Never touches the database.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "util/util.h"

#define JSON_FORMAT_VERSION 1

static const char *const stage_keys[QB_STAGE__COUNT] = {"onlooker", "follower", "participant",
                                                        "spreader", "partner"};

/* Builder state: ok turns false at the first allocation failure. */
struct jb {
    bool ok;
};

static void chk(struct jb *b, const void *p)
{
    if (!p)
        b->ok = false;
}

static void add_str(struct jb *b, cJSON *o, const char *key, const char *s)
{
    char *copy = qb_strdup(s ? s : "");
    if (!copy) {
        b->ok = false;
        return;
    }
    qb_utf8_sanitize(copy, strlen(copy));
    chk(b, cJSON_AddStringToObject(o, key, copy));
    free(copy);
}

static void add_num(struct jb *b, cJSON *o, const char *key, double v)
{
    chk(b, isfinite(v) ? cJSON_AddNumberToObject(o, key, v) : cJSON_AddNullToObject(o, key));
}

static void add_int(struct jb *b, cJSON *o, const char *key, int64_t v)
{
    chk(b, cJSON_AddNumberToObject(o, key, (double)v));
}

/* A figure where a negative value means "none" (null). */
static void add_opt(struct jb *b, cJSON *o, const char *key, double v)
{
    if (v < 0 || !isfinite(v))
        chk(b, cJSON_AddNullToObject(o, key));
    else
        add_num(b, o, key, v);
}

static cJSON *add_obj(struct jb *b, cJSON *parent, const char *key)
{
    cJSON *o = cJSON_AddObjectToObject(parent, key);
    chk(b, o);
    return o;
}

static cJSON *add_arr(struct jb *b, cJSON *parent, const char *key)
{
    cJSON *a = cJSON_AddArrayToObject(parent, key);
    chk(b, a);
    return a;
}

/* A new object appended to array a (NULL on failure; a NULL a gives NULL). */
static cJSON *push_obj(struct jb *b, cJSON *a)
{
    cJSON *o = a ? cJSON_CreateObject() : NULL;
    if (!o || !cJSON_AddItemToArray(a, o)) {
        cJSON_Delete(o);
        b->ok = false;
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------------ sections */

static void range(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    const struct qb_insight_range *r = &rep->range;
    char from[11], to[11];
    ins_civil_fmt(ins_local_day(r->tz, r->since_ms, NULL), from);
    ins_civil_fmt(ins_local_day(r->tz, r->until_ms - 1, NULL), to);
    cJSON *o = add_obj(b, root, "range");
    add_int(b, o, "since_ms", r->since_ms);
    add_int(b, o, "until_ms", r->until_ms);
    add_str(b, o, "timezone", r->tz && *r->tz ? r->tz : "UTC");
    add_str(b, o, "from", from);
    add_str(b, o, "to", to);
}

static void overview(struct jb *b, cJSON *root, const struct qb_insight_overview *ov)
{
    cJSON *o = add_obj(b, root, "overview");
    add_int(b, o, "messages", ov->messages);
    add_int(b, o, "active_members", ov->active_members);
    add_int(b, o, "members", ov->members);
    add_num(b, o, "dau", ov->dau);
    add_num(b, o, "wau", ov->wau);
    add_num(b, o, "mau", ov->mau);
    add_num(b, o, "dau_mau", ov->dau_mau);
    add_int(b, o, "joins", ov->joins);
    add_int(b, o, "leaves", ov->leaves);
    add_int(b, o, "net_growth", ov->net_growth);
    add_int(b, o, "checkins", ov->checkins);
    add_num(b, o, "checkin_rate", ov->checkin_rate);
    add_int(b, o, "talks", ov->talks);
    add_int(b, o, "talk_attendance", ov->talk_attendance);
    add_int(b, o, "questions", ov->questions);
    add_int(b, o, "unanswered_questions", ov->unanswered_questions);
    add_opt(b, o, "median_response_s", ov->median_response_s);
    add_int(b, o, "moderation", ov->moderation);
    add_int(b, o, "pardons", ov->pardons);
    add_num(b, o, "top10_share", ov->top10_share);
}

static void funnel(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    cJSON *a = add_arr(b, root, "funnel");
    for (int s = 0; s < QB_STAGE__COUNT; s++) {
        cJSON *o = push_obj(b, a);
        add_str(b, o, "stage", stage_keys[s]);
        add_str(b, o, "name", qb_insight_stage_name((enum qb_insight_stage)s));
        add_int(b, o, "members", rep->funnel[s]);
    }
}

static void daily(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    cJSON *a = add_arr(b, root, "daily");
    int64_t day0 = ins_local_day(rep->range.tz, rep->range.since_ms, NULL);
    for (size_t i = 0; rep->daily_messages && rep->daily_active && i < rep->n_days; i++) {
        char d[11];
        ins_civil_fmt(day0 + (int64_t)i, d);
        cJSON *o = push_obj(b, a);
        add_str(b, o, "date", d);
        add_int(b, o, "messages", rep->daily_messages[i]);
        add_int(b, o, "active", rep->daily_active[i]);
    }
}

static void heatmap(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    cJSON *a = add_arr(b, root, "heatmap");
    for (int d = 0; a && d < 7; d++) {
        cJSON *row = cJSON_CreateArray();
        if (!row || !cJSON_AddItemToArray(a, row)) {
            cJSON_Delete(row);
            b->ok = false;
            return;
        }
        for (int h = 0; h < 24; h++) {
            cJSON *n = cJSON_CreateNumber((double)rep->heat[d][h]);
            if (!n || !cJSON_AddItemToArray(row, n)) {
                cJSON_Delete(n);
                b->ok = false;
            }
        }
    }
}

static void member(struct jb *b, cJSON *o, const struct qb_insight_member *m)
{
    add_str(b, o, "user_id", m->user_id);
    add_str(b, o, "name", m->name);
    add_str(b, o, "stage",
            m->stage >= 0 && m->stage < QB_STAGE__COUNT ? stage_keys[m->stage] : "unknown");
    add_str(b, o, "stage_name", qb_insight_stage_name(m->stage));
    add_opt(b, o, "joined_ms", m->joined_ms > 0 ? (double)m->joined_ms : -1);
    add_opt(b, o, "last_msg_ms", m->last_msg_ms > 0 ? (double)m->last_msg_ms : -1);
    add_int(b, o, "messages", m->messages);
    add_int(b, o, "replies_received", m->replies_received);
    add_int(b, o, "mentions_received", m->mentions_received);
    add_int(b, o, "checkins", m->checkins);
    add_int(b, o, "talks_attended", m->talks_attended);
    add_int(b, o, "signups", m->signups);
    add_int(b, o, "invites_stayed", m->invites_stayed);
    chk(b, cJSON_AddBoolToObject(o, "admin", m->admin));
    chk(b, cJSON_AddBoolToObject(o, "speaker", m->speaker));
    add_num(b, o, "degree", m->degree);
    add_num(b, o, "pagerank", m->pagerank);
    add_num(b, o, "value", m->value);
    add_str(b, o, "value_why", m->value_why);
}

/* Members are written one object at a time after the rest (a big group's list is never
 * held as one tree): `,"members":[{...},...]` — the caller has written the rest without its
 * closing brace. */
static int members(const struct qb_insight_report *rep, FILE *out)
{
    if (fputs(",\"members\":[", out) < 0)
        return QB_EIO;
    for (size_t i = 0; rep->members && i < rep->n_members; i++) {
        struct jb b = {.ok = true};
        cJSON *o = cJSON_CreateObject();
        chk(&b, o);
        if (o)
            member(&b, o, &rep->members[i]);
        char *text = b.ok ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!text)
            return QB_ENOMEM;
        int rc = (i && fputc(',', out) == EOF) || fputs(text, out) < 0 ? QB_EIO : QB_OK;
        free(text);
        if (rc != QB_OK)
            return rc;
    }
    return fputs("]}\n", out) < 0 ? QB_EIO : QB_OK;
}

static void cohorts(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    static const char *const keys[4] = {"week1", "week2", "week4", "week8"};
    cJSON *a = add_arr(b, root, "cohorts");
    for (size_t i = 0; rep->cohorts && i < rep->n_cohorts; i++) {
        const struct qb_insight_cohort *c = &rep->cohorts[i];
        cJSON *o = push_obj(b, a);
        add_str(b, o, "week", c->week);
        add_int(b, o, "joined", c->joined);
        for (int k = 0; k < 4; k++)
            add_opt(b, o, keys[k], (double)c->active[k]);
    }
}

static void words(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    cJSON *a = add_arr(b, root, "words");
    for (size_t i = 0; i < rep->n_words && i < sizeof rep->words / sizeof rep->words[0]; i++) {
        cJSON *o = push_obj(b, a);
        add_str(b, o, "text", rep->words[i].text);
        add_int(b, o, "count", rep->words[i].count);
    }
}

/* ------------------------------------------------------------------ newcomers, effects,
 * invites, bridges, moderation */

/* A time that is 0 when there is none. */
static void add_ms(struct jb *b, cJSON *o, const char *key, int64_t ms)
{
    add_opt(b, o, key, ms > 0 ? (double)ms : -1);
}

/* A tri-state: 1 true, 0 false, negative null. */
static void add_tri(struct jb *b, cJSON *o, const char *key, int v)
{
    chk(b, v < 0 ? cJSON_AddNullToObject(o, key) : cJSON_AddBoolToObject(o, key, v != 0));
}

static void newcomer(struct jb *b, cJSON *a, const struct qb_insight_newcomer *m)
{
    cJSON *o = push_obj(b, a);
    add_str(b, o, "user_id", m->user_id);
    add_str(b, o, "name", m->name);
    add_int(b, o, "joined_ms", m->joined_ms);
    add_ms(b, o, "first_msg_ms", m->first_msg_ms);
    add_tri(b, o, "first_msg_replied", m->first_msg_ms > 0 ? m->first_msg_replied : -1);
    add_opt(b, o, "first_reply_s", m->first_reply_s);
    add_ms(b, o, "unanswered_question_ms", m->unanswered_question_ms);
}

static void newcomers(struct jb *b, cJSON *root, const struct qb_insight_newcomers *n)
{
    cJSON *o = add_obj(b, root, "newcomers");
    add_int(b, o, "joined", n->joined);
    add_int(b, o, "spoke", n->spoke);
    add_int(b, o, "spoke_7d", n->spoke_7d);
    add_num(b, o, "activation_rate", n->activation_rate);
    add_opt(b, o, "median_first_msg_s", n->spoke > 0 ? n->median_first_msg_s : -1);
    add_int(b, o, "first_replied", n->first_replied);
    add_opt(b, o, "median_first_reply_s", n->first_replied > 0 ? n->median_first_reply_s : -1);
    cJSON *list = add_arr(b, o, "list");
    for (size_t i = 0; n->list && i < n->n_list; i++)
        newcomer(b, list, &n->list[i]);
    cJSON *un = add_arr(b, o, "unanswered");
    for (size_t i = 0; n->unanswered && i < n->n_unanswered; i++)
        newcomer(b, un, &n->unanswered[i]);
}

static void effects(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    cJSON *a = add_arr(b, root, "effects");
    for (size_t i = 0; rep->effects && i < rep->n_effects; i++) {
        const struct qb_insight_effect *e = &rep->effects[i];
        bool base = e->base_weeks > 0;
        cJSON *o = push_obj(b, a);
        add_str(b, o, "kind", e->kind);
        add_str(b, o, "label", e->label);
        add_int(b, o, "ts", e->ts);
        add_int(b, o, "window_h", e->window_h);
        add_int(b, o, "messages", e->messages);
        add_int(b, o, "speakers", e->speakers);
        add_int(b, o, "joins", e->joins);
        add_opt(b, o, "base_messages", base ? e->base_messages : -1);
        add_opt(b, o, "base_speakers", base ? e->base_speakers : -1);
        add_opt(b, o, "base_joins", base ? e->base_joins : -1);
        add_int(b, o, "base_weeks", e->base_weeks);
        add_opt(b, o, "lift", e->lift);
    }
}

static void invites(struct jb *b, cJSON *root, const struct qb_insight_invites *inv)
{
    cJSON *o = add_obj(b, root, "invites");
    cJSON *lb = add_arr(b, o, "leaderboard");
    for (size_t i = 0; inv->leaderboard && i < inv->n_leaderboard; i++) {
        const struct qb_insight_inviter *v = &inv->leaderboard[i];
        cJSON *x = push_obj(b, lb);
        add_str(b, x, "user_id", v->user_id);
        add_str(b, x, "name", v->name);
        add_int(b, x, "invited", v->invited);
        add_int(b, x, "stayed", v->stayed);
        add_int(b, x, "left", v->left);
    }
    cJSON *tr = add_arr(b, o, "tree");
    for (size_t i = 0; inv->tree && i < inv->n_tree; i++) {
        const struct qb_insight_invitee *v = &inv->tree[i];
        cJSON *x = push_obj(b, tr);
        add_str(b, x, "inviter", v->inviter);
        add_str(b, x, "user_id", v->user_id);
        add_str(b, x, "name", v->name);
        add_int(b, x, "joined_ms", v->joined_ms);
        add_tri(b, x, "stayed", v->stayed);
        add_ms(b, x, "left_ms", v->left_ms);
    }
}

static void bridges(struct jb *b, cJSON *root, const struct qb_insight_bridges *br)
{
    cJSON *c = add_obj(b, root, "communities");
    add_int(b, c, "count", br->count);
    cJSON *sizes = add_arr(b, c, "sizes");
    for (size_t i = 0; sizes && br->sizes && i < br->n_sizes; i++) {
        cJSON *n = cJSON_CreateNumber((double)br->sizes[i]);
        if (!n || !cJSON_AddItemToArray(sizes, n)) {
            cJSON_Delete(n);
            b->ok = false;
        }
    }
    cJSON *a = add_arr(b, root, "bridges");
    for (size_t i = 0; br->v && i < br->n; i++) {
        const struct qb_insight_bridge *v = &br->v[i];
        cJSON *o = push_obj(b, a);
        add_str(b, o, "user_id", v->user_id);
        add_str(b, o, "name", v->name);
        add_int(b, o, "community", (int64_t)v->community);
        add_int(b, o, "reached", v->reached);
        add_num(b, o, "outside_share", v->outside_share);
        add_num(b, o, "weight", v->weight);
    }
}

static void moderation_by(struct jb *b, cJSON *root, const struct qb_insight_report *rep)
{
    cJSON *a = add_arr(b, root, "moderation_by");
    for (size_t i = 0; rep->moderation_by && i < rep->n_moderation_by; i++) {
        const struct qb_insight_moderation *m = &rep->moderation_by[i];
        cJSON *o = push_obj(b, a);
        add_str(b, o, "detector", m->detector);
        add_int(b, o, "hits", m->hits);
        add_int(b, o, "acted", m->acted);
        add_int(b, o, "cases", m->cases);
        add_int(b, o, "pardoned", m->pardoned);
    }
}

int qb_insight_render_json(const struct qb_insight_report *rep, FILE *out)
{
    if (!rep || !out)
        return QB_EINVAL;
    struct jb b = {.ok = true};
    cJSON *root = cJSON_CreateObject();
    chk(&b, root);
    if (root) {
        add_int(&b, root, "format", JSON_FORMAT_VERSION);
        add_str(&b, root, "group_id", rep->ov.group_id);
        add_int(&b, root, "generated_ms", rep->generated_ms);
        range(&b, root, rep);
        overview(&b, root, &rep->ov);
        funnel(&b, root, rep);
        daily(&b, root, rep);
        heatmap(&b, root, rep);
        cohorts(&b, root, rep);
        words(&b, root, rep);
        newcomers(&b, root, &rep->newcomers);
        effects(&b, root, rep);
        invites(&b, root, &rep->invites);
        bridges(&b, root, &rep->bridges);
        moderation_by(&b, root, rep);
    }
    char *text = b.ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return QB_ENOMEM;
    size_t len = strlen(text); /* "{...}": written without the closing brace */
    int rc = len >= 2 && fwrite(text, 1, len - 1, out) == len - 1 ? QB_OK : QB_EIO;
    free(text);
    if (rc == QB_OK)
        rc = members(rep, out);
    if (rc == QB_OK && (fflush(out) != 0 || ferror(out)))
        rc = QB_EIO;
    return rc;
}
