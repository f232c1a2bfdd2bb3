/*
 * render_csv.c — the engagement report as CSV for spreadsheets: UTF-8 with a BOM (so Excel
 * shows Chinese), sections overview, daily, heatmap, members, cohorts, words, then newcomer
 * figures and list, effects, inviters, invite tree, communities, bridges and moderation by
 * detector, each with a header row and separated by a blank line; RFC 4180 quoting and CRLF
 * line ends.
 *
 * Text fields that a spreadsheet would run as a formula (starting with = + - @, tab or CR)
 * get a leading apostrophe; numbers are written as plain numbers. Reads a filled report and
 * writes to the caller's stream; owns nothing after it returns. Never touches the database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics_internal.h"
#include "util/util.h"

static const char *const stage_keys[QB_STAGE__COUNT] = {"onlooker", "follower", "participant",
                                                        "spreader", "partner"};
static const char *const weekday_names[7] = {"周一", "周二", "周三", "周四",
                                             "周五", "周六", "周日"};

/* ------------------------------------------------------------------ fields */

/* One text field: formula-neutralised, quoted when it holds , " CR or LF. */
static void field(FILE *out, const char *s)
{
    char *copy = qb_strdup(s ? s : "");
    if (!copy)
        return;
    qb_utf8_sanitize(copy, strlen(copy));
    bool formula = copy[0] && strchr("=+-@\t\r", copy[0]);
    bool quote = strpbrk(copy, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (const char *p = copy; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    if (quote)
        fputc('"', out);
    free(copy);
}

static void num(FILE *out, double v)
{
    fprintf(out, "%.6g", isfinite(v) ? v : 0.0);
}

static void eol(FILE *out)
{
    fputs("\r\n", out);
}

static void kv_int(FILE *out, const char *key, int64_t v)
{
    fprintf(out, "%s,%lld\r\n", key, (long long)v);
}

static void kv_num(FILE *out, const char *key, double v)
{
    fprintf(out, "%s,", key);
    num(out, v);
    eol(out);
}

static void kv_str(FILE *out, const char *key, const char *v)
{
    fprintf(out, "%s,", key);
    field(out, v);
    eol(out);
}

/* ------------------------------------------------------------------ local time */

/* The range's zone set for a whole section (one tzset instead of one per member). */
struct tz_scope {
    char *old;
};

static void tz_enter(const char *tz, struct tz_scope *s)
{
    const char *old = getenv("TZ");
    s->old = old ? strdup(old) : NULL;
    setenv("TZ", tz && *tz ? tz : "UTC", 1);
    tzset();
}

static void tz_leave(struct tz_scope *s)
{
    if (s->old)
        setenv("TZ", s->old, 1);
    else
        unsetenv("TZ");
    free(s->old);
    tzset();
}

/* "YYYY-MM-DD HH:MM" in the zone entered, "" for 0 (unknown / never). */
static void when(int64_t ms, char out[32])
{
    out[0] = '\0';
    if (ms <= 0)
        return;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}

/* ------------------------------------------------------------------ sections */

static void overview(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_overview *o = &rep->ov;
    char from[11], to[11], gen[32];
    ins_civil_fmt(ins_local_day(rep->range.tz, rep->range.since_ms, NULL), from);
    ins_civil_fmt(ins_local_day(rep->range.tz, rep->range.until_ms - 1, NULL), to);
    struct tz_scope s;
    tz_enter(rep->range.tz, &s);
    when(rep->generated_ms, gen);
    tz_leave(&s);
    fputs("key,value\r\n", out);
    kv_str(out, "group_id", o->group_id);
    kv_str(out, "from", from);
    kv_str(out, "to", to);
    kv_str(out, "timezone", rep->range.tz && *rep->range.tz ? rep->range.tz : "UTC");
    kv_str(out, "generated", gen);
    kv_int(out, "messages", o->messages);
    kv_int(out, "active_members", o->active_members);
    kv_int(out, "members", o->members);
    kv_num(out, "dau", o->dau);
    kv_num(out, "wau", o->wau);
    kv_num(out, "mau", o->mau);
    kv_num(out, "dau_mau", o->dau_mau);
    kv_int(out, "joins", o->joins);
    kv_int(out, "leaves", o->leaves);
    kv_int(out, "net_growth", o->net_growth);
    kv_int(out, "checkins", o->checkins);
    kv_num(out, "checkin_rate", o->checkin_rate);
    kv_int(out, "talks", o->talks);
    kv_int(out, "talk_attendance", o->talk_attendance);
    kv_int(out, "questions", o->questions);
    kv_int(out, "unanswered_questions", o->unanswered_questions);
    if (o->median_response_s >= 0)
        kv_num(out, "median_response_s", o->median_response_s);
    else
        kv_str(out, "median_response_s", "");
    kv_int(out, "moderation", o->moderation);
    kv_int(out, "pardons", o->pardons);
    kv_num(out, "top10_share", o->top10_share);
    for (int st = 0; st < QB_STAGE__COUNT; st++) {
        char key[32];
        snprintf(key, sizeof key, "stage_%s", stage_keys[st]);
        kv_int(out, key, rep->funnel[st]);
    }
}

static void daily(const struct qb_insight_report *rep, FILE *out)
{
    fputs("date,messages,active\r\n", out);
    int64_t day0 = ins_local_day(rep->range.tz, rep->range.since_ms, NULL);
    for (size_t i = 0; rep->daily_messages && rep->daily_active && i < rep->n_days; i++) {
        char d[11];
        ins_civil_fmt(day0 + (int64_t)i, d);
        fprintf(out, "%s,%lld,%lld\r\n", d, (long long)rep->daily_messages[i],
                (long long)rep->daily_active[i]);
    }
}

static void heatmap(const struct qb_insight_report *rep, FILE *out)
{
    fputs("weekday", out);
    for (int h = 0; h < 24; h++)
        fprintf(out, ",h%02d", h);
    eol(out);
    for (int d = 0; d < 7; d++) {
        fputs(weekday_names[d], out);
        for (int h = 0; h < 24; h++)
            fprintf(out, ",%lld", (long long)rep->heat[d][h]);
        eol(out);
    }
}

static void member_row(FILE *out, const struct qb_insight_member *m)
{
    char joined[32], last[32];
    when(m->joined_ms, joined);
    when(m->last_msg_ms, last);
    field(out, m->user_id);
    fputc(',', out);
    field(out, m->name);
    fprintf(out, ",%s,%s,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%d,%d,",
            m->stage >= 0 && m->stage < QB_STAGE__COUNT ? stage_keys[m->stage] : "",
            qb_insight_stage_name(m->stage), joined, (long long)m->messages,
            (long long)m->replies_received, (long long)m->mentions_received, (long long)m->checkins,
            (long long)m->talks_attended, (long long)m->signups, (long long)m->invites_stayed,
            m->admin ? 1 : 0, m->speaker ? 1 : 0);
    fprintf(out, "%s,", last);
    num(out, m->degree);
    fputc(',', out);
    num(out, m->pagerank);
    fputc(',', out);
    num(out, m->value);
    fputc(',', out);
    field(out, m->value_why);
    eol(out);
}

static void members(const struct qb_insight_report *rep, FILE *out)
{
    fputs("user_id,name,stage,stage_name,joined,messages,replies_received,mentions_received,"
          "checkins,talks_attended,signups,invites_stayed,admin,speaker,last_message,degree,"
          "pagerank,value,value_why\r\n",
          out);
    struct tz_scope s;
    tz_enter(rep->range.tz, &s);
    for (size_t i = 0; rep->members && i < rep->n_members; i++)
        member_row(out, &rep->members[i]);
    tz_leave(&s);
}

static void cohorts(const struct qb_insight_report *rep, FILE *out)
{
    fputs("week,joined,week1,week2,week4,week8\r\n", out);
    for (size_t i = 0; rep->cohorts && i < rep->n_cohorts; i++) {
        const struct qb_insight_cohort *c = &rep->cohorts[i];
        field(out, c->week);
        fprintf(out, ",%lld", (long long)c->joined);
        for (int k = 0; k < 4; k++) {
            if (c->active[k] >= 0)
                fprintf(out, ",%lld", (long long)c->active[k]);
            else
                fputc(',', out);
        }
        eol(out);
    }
}

static void words(const struct qb_insight_report *rep, FILE *out)
{
    fputs("word,count\r\n", out);
    for (size_t i = 0; i < rep->n_words && i < sizeof rep->words / sizeof rep->words[0]; i++) {
        field(out, rep->words[i].text);
        fprintf(out, ",%lld\r\n", (long long)rep->words[i].count);
    }
}

/* A figure where a negative value means "none" (an empty field). */
static void opt(FILE *out, double v)
{
    if (v >= 0 && isfinite(v))
        num(out, v);
}

/* 1 / 0, or empty when unknown (negative). */
static void tri(FILE *out, int v)
{
    if (v >= 0)
        fputc(v ? '1' : '0', out);
}

static void newcomer_figures(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_newcomers *n = &rep->newcomers;
    fputs("newcomer_figure,value\r\n", out);
    kv_int(out, "joined", n->joined);
    kv_int(out, "spoke", n->spoke);
    kv_int(out, "spoke_7d", n->spoke_7d);
    kv_num(out, "activation_rate", n->activation_rate);
    fputs("median_first_msg_s,", out);
    opt(out, n->spoke > 0 ? n->median_first_msg_s : -1);
    eol(out);
    kv_int(out, "first_replied", n->first_replied);
    fputs("median_first_reply_s,", out);
    opt(out, n->first_replied > 0 ? n->median_first_reply_s : -1);
    eol(out);
}

static void newcomer_list(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_newcomers *n = &rep->newcomers;
    fputs("newcomer_id,name,joined,first_message,first_msg_replied,first_reply_s,"
          "unanswered_question\r\n",
          out);
    struct tz_scope s;
    tz_enter(rep->range.tz, &s);
    for (size_t i = 0; n->list && i < n->n_list; i++) {
        const struct qb_insight_newcomer *m = &n->list[i];
        char joined[32], first[32], question[32];
        when(m->joined_ms, joined);
        when(m->first_msg_ms, first);
        when(m->unanswered_question_ms, question);
        field(out, m->user_id);
        fputc(',', out);
        field(out, m->name);
        fprintf(out, ",%s,%s,", joined, first);
        tri(out, m->first_msg_ms > 0 ? m->first_msg_replied : -1);
        fputc(',', out);
        opt(out, m->first_reply_s);
        fprintf(out, ",%s\r\n", question);
    }
    tz_leave(&s);
}

static void effects(const struct qb_insight_report *rep, FILE *out)
{
    fputs("kind,label,time,window_h,messages,speakers,joins,base_messages,base_speakers,"
          "base_joins,base_weeks,lift\r\n",
          out);
    struct tz_scope s;
    tz_enter(rep->range.tz, &s);
    for (size_t i = 0; rep->effects && i < rep->n_effects; i++) {
        const struct qb_insight_effect *e = &rep->effects[i];
        bool base = e->base_weeks > 0;
        char t[32];
        when(e->ts, t);
        field(out, e->kind);
        fputc(',', out);
        field(out, e->label);
        fprintf(out, ",%s,%d,%lld,%lld,%lld,", t, e->window_h, (long long)e->messages,
                (long long)e->speakers, (long long)e->joins);
        opt(out, base ? e->base_messages : -1);
        fputc(',', out);
        opt(out, base ? e->base_speakers : -1);
        fputc(',', out);
        opt(out, base ? e->base_joins : -1);
        fprintf(out, ",%d,", e->base_weeks);
        opt(out, e->lift);
        eol(out);
    }
    tz_leave(&s);
}

static void inviters(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_invites *inv = &rep->invites;
    fputs("inviter_id,name,invited,stayed,left\r\n", out);
    for (size_t i = 0; inv->leaderboard && i < inv->n_leaderboard; i++) {
        const struct qb_insight_inviter *v = &inv->leaderboard[i];
        field(out, v->user_id);
        fputc(',', out);
        field(out, v->name);
        fprintf(out, ",%lld,%lld,%lld\r\n", (long long)v->invited, (long long)v->stayed,
                (long long)v->left);
    }
}

static void invite_tree(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_invites *inv = &rep->invites;
    fputs("invited_by,user_id,name,joined,stayed,left\r\n", out);
    struct tz_scope s;
    tz_enter(rep->range.tz, &s);
    for (size_t i = 0; inv->tree && i < inv->n_tree; i++) {
        const struct qb_insight_invitee *v = &inv->tree[i];
        char joined[32], left[32];
        when(v->joined_ms, joined);
        when(v->left_ms, left);
        field(out, v->inviter);
        fputc(',', out);
        field(out, v->user_id);
        fputc(',', out);
        field(out, v->name);
        fprintf(out, ",%s,", joined);
        tri(out, v->stayed);
        fprintf(out, ",%s\r\n", left);
    }
    tz_leave(&s);
}

static void communities(const struct qb_insight_report *rep, FILE *out)
{
    fputs("community,size\r\n", out);
    for (size_t i = 0; rep->bridges.sizes && i < rep->bridges.n_sizes; i++)
        fprintf(out, "%zu,%lld\r\n", i, (long long)rep->bridges.sizes[i]);
}

static void bridges(const struct qb_insight_report *rep, FILE *out)
{
    fputs("bridge_id,name,community,reached,outside_share,weight\r\n", out);
    for (size_t i = 0; rep->bridges.v && i < rep->bridges.n; i++) {
        const struct qb_insight_bridge *v = &rep->bridges.v[i];
        field(out, v->user_id);
        fputc(',', out);
        field(out, v->name);
        fprintf(out, ",%zu,%lld,", v->community, (long long)v->reached);
        num(out, v->outside_share);
        fputc(',', out);
        num(out, v->weight);
        eol(out);
    }
}

static void moderation_by(const struct qb_insight_report *rep, FILE *out)
{
    fputs("detector,hits,acted,cases,pardoned\r\n", out);
    for (size_t i = 0; rep->moderation_by && i < rep->n_moderation_by; i++) {
        const struct qb_insight_moderation *m = &rep->moderation_by[i];
        field(out, m->detector);
        fprintf(out, ",%lld,%lld,%lld,%lld\r\n", (long long)m->hits, (long long)m->acted,
                (long long)m->cases, (long long)m->pardoned);
    }
}

int qb_insight_render_csv(const struct qb_insight_report *rep, FILE *out)
{
    if (!rep || !out)
        return QB_EINVAL;
    void (*const sections[])(const struct qb_insight_report *, FILE *) = {
            overview,      daily,   heatmap,  members,     cohorts,     words,   newcomer_figures,
            newcomer_list, effects, inviters, invite_tree, communities, bridges, moderation_by};
    fputs("\xEF\xBB\xBF", out);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (i)
            eol(out);
        sections[i](rep, out);
    }
    return fflush(out) == 0 && !ferror(out) ? QB_OK : QB_EIO;
}
