/*
 * schedule_arm.c — which groups the schedule plugin serves and keeping the core's persisted
 * schedules of each group in line with its settings: one cron schedule per post, two for night
 * mode, armed at start-up for the groups the rules files list (qb_each_group) and those in
 * schedule_groups, when a group is first seen (any event from it), and whenever the settings
 * change (reload: checked on events, schedules and every tick for listed groups).
 *
 * What was armed is kept in schedule_armed ("cron|timezone" per key), so an unchanged schedule
 * is never re-armed: re-arming would move its next run past a run missed while the bot was down.
 * Owns the in-memory group list (freed by sch_groups_free). Never sends anything.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

struct sch_state *sch_st(struct qb_ctx *c)
{
    return qb_state(c);
}

const struct schedule_settings *sch_cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

void sch_post_key(char *out, size_t n, const char *group_id, const char *name)
{
    snprintf(out, n, "post:%s|%s", group_id, name);
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL; /* field separator */
}

/* What the group's schedules depend on; never 0. */
static uint64_t signature(struct qb_ctx *c, const char *group_id)
{
    const struct schedule_settings *s = sch_cfg(c, group_id);
    uint64_t h = fnv(14695981039346656037ULL, qb_enabled(c, group_id) ? "on" : "off");
    h = fnv(h, qb_timezone(c, group_id));
    for (size_t i = 0; i < s->posts.n; i++)
        h = fnv(h, s->posts.v[i]);
    h = fnv(fnv(h, s->night_start), s->night_end);
    return h ? h : 1;
}

struct want {
    char key[SCH_KEY_MAX];
    char cron[SCH_CRON_MAX];
};

/* The schedules the group should have. Caller frees *out. */
static size_t wanted(struct qb_ctx *c, const char *group_id, struct want **out)
{
    const struct schedule_settings *s = sch_cfg(c, group_id);
    *out = calloc(s->posts.n + 2, sizeof **out);
    if (!*out || !qb_enabled(c, group_id))
        return 0;
    size_t n = 0;
    char why[300];
    for (size_t i = 0; i < s->posts.n; i++) {
        struct sch_post p;
        if (sch_post_parse(s->posts.v[i], &p, why, sizeof why) != QB_OK ||
            qb_cron_check(p.cron, why, sizeof why) != QB_OK) {
            qb_log(QB_LOG_WARN, "schedule: group %s: %s", group_id, why);
            continue;
        }
        sch_post_key((*out)[n].key, sizeof(*out)[n].key, group_id, p.name);
        snprintf((*out)[n++].cron, SCH_CRON_MAX, "%s", p.cron);
    }
    int on, off;
    if (sch_hhmm(s->night_start, &on) && sch_hhmm(s->night_end, &off) && on != off) {
        snprintf((*out)[n].key, SCH_KEY_MAX, "night-on:%s", group_id);
        snprintf((*out)[n++].cron, SCH_CRON_MAX, "%d %d * * *", on % 60, on / 60);
        snprintf((*out)[n].key, SCH_KEY_MAX, "night-off:%s", group_id);
        snprintf((*out)[n++].cron, SCH_CRON_MAX, "%d %d * * *", off % 60, off / 60);
    }
    return n;
}

/* The spec armed for key ("" if none). */
static void armed_spec(struct qb_ctx *c, const char *group_id, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT spec FROM schedule_armed WHERE group_id = ? AND skey = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", v ? v : "");
    }
    sqlite3_reset(st);
}

static void armed_set(struct qb_ctx *c, const char *group_id, const char *key, const char *spec)
{
    sqlite3_stmt *st =
            qb_stmt(c, "INSERT INTO schedule_armed(group_id, skey, spec) VALUES (?, ?, ?)"
                       " ON CONFLICT (group_id, skey) DO UPDATE SET spec = excluded.spec");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, spec, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void armed_drop(struct qb_ctx *c, const char *group_id, const char *key)
{
    sqlite3_stmt *st = qb_stmt(c, "DELETE FROM schedule_armed WHERE group_id = ? AND skey = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* Cancel every armed schedule of the group that is not wanted any more. */
static void cancel_unwanted(struct qb_ctx *c, const char *group_id, const struct want *w, size_t n)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT skey FROM schedule_armed WHERE group_id = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    char(*gone)[SCH_KEY_MAX] = NULL;
    size_t ngone = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        bool keep = false;
        for (size_t i = 0; k && i < n && !keep; i++)
            keep = !strcmp(w[i].key, k);
        if (!k || keep)
            continue;
        void *grown = realloc(gone, (ngone + 1) * sizeof *gone);
        if (!grown)
            break;
        gone = grown;
        snprintf(gone[ngone++], SCH_KEY_MAX, "%s", k);
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < ngone; i++) {
        qb_schedule_cancel(c, gone[i]);
        armed_drop(c, group_id, gone[i]);
    }
    free(gone);
}

void sch_sync(struct qb_ctx *c, const char *group_id)
{
    struct want *w;
    size_t n = wanted(c, group_id, &w);
    if (!w)
        return;
    const char *tz = qb_timezone(c, group_id);
    for (size_t i = 0; i < n; i++) {
        char spec[SCH_CRON_MAX + 80], had[SCH_CRON_MAX + 80];
        snprintf(spec, sizeof spec, "%s|%s", w[i].cron, tz);
        armed_spec(c, group_id, w[i].key, had, sizeof had);
        if (!strcmp(spec, had))
            continue;
        if (qb_schedule_cron(c, w[i].key, w[i].cron, tz, group_id) == QB_OK)
            armed_set(c, group_id, w[i].key, spec);
        else
            qb_log(QB_LOG_WARN, "schedule: group %s: cannot arm \"%s\" at \"%s\" (%s)", group_id,
                   w[i].key, w[i].cron, tz);
    }
    cancel_unwanted(c, group_id, w, n);
    if (!n || strncmp(w[n - 1].key, "night-off:", 10))
        sch_night_release(c, group_id);
    free(w);
}

static struct sch_group *group_of(struct qb_ctx *c, const char *group_id)
{
    for (struct sch_group *g = sch_st(c)->groups; g; g = g->next)
        if (!strcmp(g->group_id, group_id))
            return g;
    return NULL;
}

static struct sch_group *group_add(struct qb_ctx *c, const char *group_id)
{
    struct sch_group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    qb_id_set(g->group_id, group_id);
    g->next = sch_st(c)->groups;
    sch_st(c)->groups = g;
    return g;
}

/* Sync the group if its settings changed since this run last did. */
static void sync_if_changed(struct qb_ctx *c, struct sch_group *g)
{
    uint64_t sig = signature(c, g->group_id);
    if (sig == g->sig)
        return;
    sch_sync(c, g->group_id);
    g->sig = sig;
}

void sch_group_seen(struct qb_ctx *c, const char *self_id, const char *group_id)
{
    struct sch_group *g = group_of(c, group_id);
    if (self_id && (!g || !g->recorded)) { /* once per group per run */
        sqlite3_stmt *st = qb_stmt(c, "INSERT INTO schedule_groups(group_id, self_id) VALUES (?, ?)"
                                      " ON CONFLICT (group_id) DO UPDATE SET self_id = "
                                      "excluded.self_id");
        if (st) {
            sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, self_id, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    }
    if (!g && !(g = group_add(c, group_id)))
        return;
    if (self_id)
        g->recorded = true;
    sync_if_changed(c, g);
}

static int sync_listed(struct qb_ctx *c, const char *group_id, void *ud)
{
    bool *starting = ud;
    bool known = group_of(c, group_id) != NULL;
    sch_group_seen(c, NULL, group_id);
    if (*starting && !known) /* a night mute decided before a restart, for a quiet group */
        sch_night_resume(c, group_id);
    return 0;
}

void sch_sync_listed(struct qb_ctx *c)
{
    bool starting = false;
    qb_each_group(c, sync_listed, &starting);
}

void sch_sync_all(struct qb_ctx *c)
{
    sqlite3_stmt *q = qb_stmt(c, "SELECT group_id FROM schedule_groups");
    if (!q)
        return;
    char(*ids)[QB_ID_MAX] = NULL;
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        void *grown = v && v[0] ? realloc(ids, (n + 1) * sizeof *ids) : NULL;
        if (!grown)
            continue;
        ids = grown;
        qb_id_set(ids[n++], v);
    }
    sqlite3_reset(q);
    for (size_t i = 0; i < n; i++) {
        struct sch_group *g = group_of(c, ids[i]);
        if (g || (g = group_add(c, ids[i])))
            sync_if_changed(c, g);
        sch_night_resume(c, ids[i]);
    }
    free(ids);
    bool starting = true;
    qb_each_group(c, sync_listed, &starting);
}

void sch_self_of(struct qb_ctx *c, const char *group_id, char self_id[QB_ID_MAX])
{
    self_id[0] = '\0';
    sqlite3_stmt *st = qb_stmt(c, "SELECT self_id FROM schedule_groups WHERE group_id = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        qb_id_set(self_id, v ? v : "");
    }
    sqlite3_reset(st);
}

void sch_groups_free(struct qb_ctx *c)
{
    struct sch_state *st = sch_st(c);
    while (st && st->groups) {
        struct sch_group *g = st->groups;
        st->groups = g->next;
        free(g);
    }
}
