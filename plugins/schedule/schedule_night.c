/*
 * schedule_night.c — night mode (宵禁): at night_start the optional night_notice and the
 * platform's whole-group mute (admins and the owner can still talk under it), at night_end the
 * lift and the optional morning_notice. Windows may cross midnight (23:00–07:00).
 *
 * Whether this plugin muted a group is kept in schedule_night (0 no, 1 muted, 2 notice sent and
 * mute waiting for it), so a restart inside the window neither mutes nor announces twice and the
 * lift still happens; a mute set by an admin by hand is never lifted by the plugin. The mute
 * waits for the notice's answer because the outbox sends moderation ahead of messages. Owns the
 * pending list entries it adds (freed on answer or by sch_night_free). The bot must be a group
 * admin for the mute.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

static bool window(const struct schedule_settings *s, int *on, int *off)
{
    return sch_hhmm(s->night_start, on) && sch_hhmm(s->night_end, off) && *on != *off;
}

bool sch_in_night(struct qb_ctx *c, const char *group_id, int64_t ms)
{
    int on, off;
    struct tm tm;
    if (!window(sch_cfg(c, group_id), &on, &off) ||
        qb_localtime(c, qb_timezone(c, group_id), ms, &tm) != QB_OK)
        return false;
    int m = tm.tm_hour * 60 + tm.tm_min;
    return on < off ? m >= on && m < off : m >= on || m < off;
}

enum { NIGHT_OFF = 0, NIGHT_MUTED = 1, NIGHT_PENDING = 2 };

static int night_state(struct qb_ctx *c, const char *group_id)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT muted FROM schedule_night WHERE group_id = ?");
    if (!st)
        return NIGHT_OFF;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : NIGHT_OFF;
    sqlite3_reset(st);
    return v;
}

static void set_state(struct qb_ctx *c, const char *group_id, int v)
{
    sqlite3_stmt *st =
            qb_stmt(c, "INSERT INTO schedule_night(group_id, muted, since) VALUES (?, ?, ?)"
                       " ON CONFLICT (group_id) DO UPDATE SET muted = excluded.muted,"
                       " since = excluded.since");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, v);
    sqlite3_bind_int64(st, 3, qb_now(c));
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* Post a night/morning template. cb (with ud) gets the platform's answer. Returns QB_OK if
 * queued; QB_ENOENT if the template is empty. */
static int notice(struct qb_ctx *c, const char *group_id, const char *tpl, qb_action_cb cb,
                  void *ud)
{
    const struct schedule_settings *s = sch_cfg(c, group_id);
    if (!tpl || !tpl[0])
        return QB_ENOENT;
    struct qb_tvar vars[] = {
            {"start", s->night_start},
            {"end", s->night_end},
            {"group", s->group_name[0] ? s->group_name : "本群"},
    };
    char *text = qb_template_render(tpl, vars, sizeof vars / sizeof vars[0]);
    struct qb_action *a = text ? qb_action_new(QB_ACT_SEND) : NULL;
    int rc = a ? QB_OK : QB_ENOMEM;
    if (a) {
        a->chat = QB_CHAT_GROUP;
        sch_self_of(c, group_id, a->self_id);
        qb_id_set(a->group_id, group_id);
        a->reason = strdup("night mode notice");
        if ((rc = qb_msg_text(&a->msg, text)) == QB_OK)
            rc = qb_msg_finish(&a->msg);
        if (rc == QB_OK)
            rc = qb_action_submit(c, a, cb, ud);
        else
            qb_action_free(a);
    }
    free(text);
    return rc;
}

static int mute_all(struct qb_ctx *c, const char *group_id, bool enable)
{
    struct qb_action *a = qb_action_new(QB_ACT_MUTE_ALL);
    if (!a)
        return QB_ENOMEM;
    a->chat = QB_CHAT_GROUP;
    sch_self_of(c, group_id, a->self_id);
    qb_id_set(a->group_id, group_id);
    a->enable = enable;
    a->reason = strdup(enable ? "night mode starts" : "night mode ends");
    return qb_action_submit(c, a, NULL, NULL);
}

static void mute_now(struct qb_ctx *c, const char *group_id)
{
    int rc = mute_all(c, group_id, true);
    if (rc != QB_OK) {
        qb_log(QB_LOG_WARN, "schedule: group %s: cannot start the night mute: %s", group_id,
               qb_strerror(rc));
        set_state(c, group_id, NIGHT_OFF);
        return;
    }
    set_state(c, group_id, NIGHT_MUTED);
    qb_audit(c, NULL, "schedule.night_start", NULL);
}

static void lift(struct qb_ctx *c, const char *group_id, bool announce)
{
    int rc = mute_all(c, group_id, false);
    if (rc != QB_OK) {
        qb_log(QB_LOG_WARN, "schedule: group %s: cannot lift the night mute: %s", group_id,
               qb_strerror(rc));
        return;
    }
    set_state(c, group_id, NIGHT_OFF);
    qb_audit(c, NULL, "schedule.night_end", NULL);
    if (announce)
        notice(c, group_id, sch_cfg(c, group_id)->morning_notice, NULL, NULL);
}

/* The night notice was answered (sent or not): now the mute, unless the night was called off. */
static void after_notice(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    (void)r;
    struct sch_pending *p = ud, **pp = &sch_st(c)->pending;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    if (night_state(c, p->group_id) == NIGHT_PENDING)
        mute_now(c, p->group_id);
    free(p);
}

/* Send the night notice, then mute when it is answered; mute at once without a notice. */
static void start_night(struct qb_ctx *c, const char *group_id, bool announce)
{
    struct sch_pending *p = announce ? calloc(1, sizeof *p) : NULL;
    if (p) {
        qb_id_set(p->group_id, group_id);
        set_state(c, group_id, NIGHT_PENDING);
        if (notice(c, group_id, sch_cfg(c, group_id)->night_notice, after_notice, p) == QB_OK) {
            p->next = sch_st(c)->pending;
            sch_st(c)->pending = p;
            return;
        }
        free(p);
    }
    mute_now(c, group_id);
}

void sch_night_on_schedule(struct qb_ctx *c, const char *group_id, bool start, int64_t late_ms)
{
    const struct schedule_settings *s = sch_cfg(c, group_id);
    int on, off;
    if (!qb_enabled(c, group_id) || !window(s, &on, &off))
        return;
    int state = night_state(c, group_id);
    if (!start) {
        if (state == NIGHT_MUTED)
            lift(c, group_id, true);
        else if (state == NIGHT_PENDING)
            set_state(c, group_id, NIGHT_OFF); /* the mute never went out */
        return;
    }
    if (state != NIGHT_OFF)
        return; /* already muted tonight: no second notice */
    if (!sch_in_night(c, group_id, qb_now(c))) {
        qb_log(QB_LOG_INFO,
               "schedule: group %s: night mode start was missed while the bot was away and the "
               "night is over; nothing to do",
               group_id);
        return;
    }
    start_night(c, group_id, late_ms <= s->stale_ms && s->night_notice[0]);
}

void sch_night_release(struct qb_ctx *c, const char *group_id)
{
    int state = night_state(c, group_id);
    if (state == NIGHT_MUTED)
        lift(c, group_id, false);
    else if (state == NIGHT_PENDING)
        set_state(c, group_id, NIGHT_OFF);
}

void sch_night_resume(struct qb_ctx *c, const char *group_id)
{
    if (night_state(c, group_id) != NIGHT_PENDING)
        return;
    if (sch_in_night(c, group_id, qb_now(c)) && qb_enabled(c, group_id))
        mute_now(c, group_id);
    else
        set_state(c, group_id, NIGHT_OFF);
}

void sch_night_free(struct qb_ctx *c)
{
    struct sch_state *st = sch_st(c);
    while (st && st->pending) {
        struct sch_pending *p = st->pending;
        st->pending = p->next;
        free(p);
    }
}
