/*
 * metrics_newcomers.c — newcomer activation (新成员激活): for members who joined in the range,
 * time to their first message, whether someone answered that first message and how fast,
 * and who asked a question in their first 14 days that nobody answered.
 *
 * Reads insight_members and insight_msgs (kept 90 days: an older first message is
 * "unknown", never "unanswered"). Never writes or logs. Owns the lists it returns (freed by
 * qb_insight_newcomers_free). Formulas in docs/INSIGHT.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

#define LIST_MAX       200
#define UNANSWERED_MAX 50
#define QUESTION_DAYS  14

/* The prepared lookups on insight_msgs (index insight_msgs_user). */
struct lookups {
    sqlite3_stmt *first_after; /* ?1 group ?2 user ?3 from ?4 end: MIN(ts) */
    sqlite3_stmt *row_at;      /* ?1 group ?2 user ?3 ts: first_reply_ms of the row at ts */
    sqlite3_stmt *question;    /* ?1 group ?2 user ?3 from ?4 to ?5 end: MIN(ts) unanswered */
};

static void lookups_close(struct lookups *l)
{
    sqlite3_finalize(l->first_after);
    sqlite3_finalize(l->row_at);
    sqlite3_finalize(l->question);
    memset(l, 0, sizeof *l);
}

static int lookups_open(sqlite3 *db, struct lookups *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    int rc = ins_prepare(db,
                         "SELECT MIN(ts) FROM insight_msgs WHERE group_id = ?1 AND user_id = ?2"
                         " AND ts >= ?3 AND ts < ?4",
                         &l->first_after, err, errlen);
    if (rc == QB_OK)
        rc = ins_prepare(db,
                         "SELECT first_reply_ms FROM insight_msgs WHERE group_id = ?1 AND"
                         " user_id = ?2 AND ts = ?3 ORDER BY first_reply_ms DESC LIMIT 1",
                         &l->row_at, err, errlen);
    if (rc == QB_OK)
        rc = ins_prepare(db,
                         "SELECT MIN(ts) FROM insight_msgs WHERE group_id = ?1 AND user_id = ?2"
                         " AND question = 1 AND ts >= ?3 AND ts < ?4 AND (first_reply_ms = 0"
                         " OR first_reply_ms >= ?5)",
                         &l->question, err, errlen);
    if (rc != QB_OK)
        lookups_close(l);
    return rc;
}

/* Bind group and user to ?1, ?2 and int64s to ?3.. of a reset statement; one row's first
 * column, or def when there is no row or it is NULL. */
static int64_t lookup(sqlite3_stmt *st, const char *group_id, const char *user_id, int nargs,
                      const int64_t *args, int64_t def)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(st, 3 + i, args[i]);
    int64_t v = def;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

/* Fill the figures of one newcomer whose row gave first_msg_ms fm (0: never spoke). */
static void figures(struct lookups *l, const char *group_id, int64_t end, int64_t fm,
                    struct qb_insight_newcomer *m)
{
    if (fm > 0 && fm < m->joined_ms) { /* spoke before a re-join: the first message since */
        int64_t a[2] = {m->joined_ms, end};
        fm = lookup(l->first_after, group_id, m->user_id, 2, a, 0);
    }
    m->first_msg_ms = fm > 0 && fm < end ? fm : 0;
    m->first_msg_replied = -1;
    m->first_reply_s = -1;
    if (m->first_msg_ms > 0) {
        int64_t a[1] = {m->first_msg_ms};
        int64_t reply = lookup(l->row_at, group_id, m->user_id, 1, a, -1);
        if (reply >= 0) { /* the row is still kept: answered before the report end? */
            bool yes = reply > 0 && reply < end && reply >= m->first_msg_ms;
            m->first_msg_replied = yes ? 1 : 0;
            if (yes)
                m->first_reply_s = (double)(reply - m->first_msg_ms) / 1000.0;
        }
    }
    int64_t to = m->joined_ms + QUESTION_DAYS * INS_DAY_MS;
    int64_t q[3] = {m->joined_ms, to < end ? to : end, end};
    m->unanswered_question_ms = lookup(l->question, group_id, m->user_id, 3, q, 0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (!n)
        return -1;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Everyone who joined in the range, newest first, with their figures. */
static int load(sqlite3 *db, const char *group_id, const struct qb_insight_range *r, int64_t end,
                struct qb_insight_newcomer **out, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    struct lookups l;
    int rc = lookups_open(db, &l, err, errlen);
    if (rc == QB_OK)
        rc = ins_prepare(db,
                         "SELECT user_id, COALESCE(name, ''), joined_ms, first_msg_ms FROM"
                         " insight_members WHERE group_id = ?1 AND joined_ms >= ?2 AND"
                         " joined_ms < ?3 ORDER BY joined_ms DESC, user_id",
                         &st, err, errlen);
    if (rc != QB_OK) {
        lookups_close(&l);
        return rc;
    }
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    struct qb_insight_newcomer *v = NULL;
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            struct qb_insight_newcomer *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = QB_ENOMEM;
                break;
            }
            v = nv;
        }
        struct qb_insight_newcomer *m = &v[(*n)++];
        memset(m, 0, sizeof *m);
        qb_id_set(m->user_id, (const char *)sqlite3_column_text(st, 0));
        snprintf(m->name, sizeof m->name, "%s", (const char *)sqlite3_column_text(st, 1));
        m->joined_ms = sqlite3_column_int64(st, 2);
        figures(&l, group_id, end, sqlite3_column_int64(st, 3), m);
    }
    sqlite3_finalize(st);
    lookups_close(&l);
    if (rc != QB_OK) {
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return QB_OK;
}

/* Summary figures, then the list cut to LIST_MAX and the unanswered ones copied out. */
static int summarise(struct qb_insight_newcomer *v, size_t n, struct qb_insight_newcomers *o)
{
    double *first = malloc((n ? n : 1) * sizeof *first);
    double *reply = malloc((n ? n : 1) * sizeof *reply);
    o->unanswered =
            calloc(n < UNANSWERED_MAX ? (n ? n : 1) : UNANSWERED_MAX, sizeof *o->unanswered);
    if (!first || !reply || !o->unanswered) {
        free(first);
        free(reply);
        return QB_ENOMEM;
    }
    size_t nf = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        const struct qb_insight_newcomer *m = &v[i];
        o->joined++;
        if (m->first_msg_ms > 0) {
            o->spoke++;
            if (m->first_msg_ms - m->joined_ms < 7 * INS_DAY_MS)
                o->spoke_7d++;
            first[nf++] = (double)(m->first_msg_ms - m->joined_ms) / 1000.0;
        }
        if (m->first_msg_replied == 1) {
            o->first_replied++;
            reply[nr++] = m->first_reply_s;
        }
        if (m->unanswered_question_ms > 0 && o->n_unanswered < UNANSWERED_MAX)
            o->unanswered[o->n_unanswered++] = *m;
    }
    o->activation_rate = o->joined > 0 ? (double)o->spoke_7d / (double)o->joined : 0;
    o->median_first_msg_s = median(first, nf);
    o->median_first_reply_s = median(reply, nr);
    free(first);
    free(reply);
    return QB_OK;
}

int qb_insight_newcomers(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                         int64_t now_ms, struct qb_insight_newcomers *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->median_first_msg_s = out->median_first_reply_s = -1;
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    int64_t end = now_ms > 0 && now_ms < r->until_ms ? now_ms : r->until_ms;
    struct qb_insight_newcomer *v = NULL;
    size_t n = 0;
    rc = load(db, group_id, r, end, &v, &n, err, errlen);
    if (rc == QB_OK)
        rc = summarise(v, n, out);
    if (rc != QB_OK) {
        free(v);
        qb_insight_newcomers_free(out);
        return rc;
    }
    if (n > LIST_MAX) {
        struct qb_insight_newcomer *shrunk = realloc(v, LIST_MAX * sizeof *v);
        v = shrunk ? shrunk : v;
        n = LIST_MAX;
    }
    out->list = v;
    out->n_list = n;
    return QB_OK;
}

void qb_insight_newcomers_free(struct qb_insight_newcomers *n)
{
    if (!n)
        return;
    free(n->list);
    free(n->unanswered);
    n->list = n->unanswered = NULL;
    n->n_list = n->n_unanswered = 0;
}
