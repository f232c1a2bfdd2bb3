/*
 * guard_enforce.c — what the guard does with a group message: asks the rules engine for
 * hits, acts once on the strongest enforced hit (strike > recall > note > log), counts
 * strikes on the group's ladder (warn privately, warn publicly, mute, kick), and audits
 * every hit, shadow and dry-run hits included ("what would have been done").
 *
 * Owns the guard_cases, guard_hits, guard_members and guard_fingerprints rows. Warnings
 * name the rule's reason only: never the offending text or the matched word. Member text
 * never goes into markup.
 */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

#define MAX_HITS 16

/* ---- small helpers ---- */

static const char *action_name(enum qb_rule_action a)
{
    switch (a) {
    case QB_RACT_STRIKE:
        return "strike";
    case QB_RACT_RECALL:
        return "recall";
    case QB_RACT_NOTE:
        return "note";
    case QB_RACT_LOG:
        return "log";
    }
    return "log";
}

static const char *mode_name(enum qb_rule_mode m)
{
    return m == QB_MODE_ENFORCE ? "enforce" : m == QB_MODE_SHADOW ? "shadow" : "off";
}

static const char *reason_of(const struct qb_rules_hit *h)
{
    return h->reason[0] ? h->reason : "违反群规";
}

/* "10 分钟", "2 小时", "3 天" (rounded down, at least 1 minute). */
static void fmt_duration(int64_t ms, char *out, size_t n)
{
    int64_t min = ms / 60000;
    if (min < 1)
        min = 1;
    if (min % (24 * 60) == 0)
        snprintf(out, n, "%lld 天", (long long)(min / (24 * 60)));
    else if (min % 60 == 0)
        snprintf(out, n, "%lld 小时", (long long)(min / 60));
    else
        snprintf(out, n, "%lld 分钟", (long long)min);
}

void guard_audit_hit(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                     const struct qb_rules_hit *h, const char *action, const char *step,
                     int64_t case_no)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return;
    cJSON_AddStringToObject(d, "rule_id", h->rule_id);
    cJSON_AddNumberToObject(d, "version", h->version);
    cJSON_AddStringToObject(d, "detector", h->detector);
    cJSON_AddStringToObject(d, "mode", mode_name(h->mode));
    cJSON_AddStringToObject(d, "rule_action", action_name(h->action));
    cJSON_AddStringToObject(d, "evidence", h->evidence);
    cJSON_AddStringToObject(d, "reason", h->reason);
    cJSON_AddStringToObject(d, "action", action);
    if (step)
        cJSON_AddStringToObject(d, "step", step);
    if (case_no > 0)
        cJSON_AddNumberToObject(d, "case", (double)case_no);
    char *text = cJSON_PrintUnformatted(d);
    char kind[48];
    snprintf(kind, sizeof kind, "guard.%s", what);
    if (text)
        qb_audit(c, ev, kind, text);
    cJSON_free(text);
    cJSON_Delete(d);
}

/* ---- member join times ---- */

void guard_on_join(struct qb_ctx *c, const struct qb_event *ev)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO guard_members(platform, group_id, user_id,"
                                  " joined_ts) VALUES (?, ?, ?, ?)"
                                  " ON CONFLICT (platform, group_id, user_id)"
                                  " DO UPDATE SET joined_ts = excluded.joined_ts");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, ev->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, ev->time_ms > 0 ? ev->time_ms : qb_now(c));
    sqlite3_step(st);
    sqlite3_reset(st);
}

static int64_t joined_at(struct qb_ctx *c, const struct qb_event *ev)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT joined_ts FROM guard_members"
                                  " WHERE platform = ? AND group_id = ? AND user_id = ?");
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, ev->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->user_id, -1, SQLITE_TRANSIENT);
    int64_t t = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return t;
}

/* ---- repost memory ---- */

static void store_fingerprint(struct qb_ctx *c, const struct qb_event *ev, uint64_t hash,
                              int64_t ts)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO guard_fingerprints(hash, ts, group_id, user_id)"
                                  " VALUES (?, ?, ?, ?) ON CONFLICT (hash, ts, group_id, user_id)"
                                  " DO NOTHING");
    if (!st)
        return;
    int64_t h;
    memcpy(&h, &hash, sizeof h);
    sqlite3_bind_int64(st, 1, h);
    sqlite3_bind_int64(st, 2, ts);
    sqlite3_bind_text(st, 3, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

void guard_load_fingerprints(struct qb_ctx *c, struct qb_ruleset *rs)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT hash, ts, group_id, user_id FROM guard_fingerprints"
                                  " WHERE ts >= ? ORDER BY ts");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, qb_now(c) - guard_st(c)->fp_horizon_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t h = sqlite3_column_int64(st, 0);
        uint64_t hash;
        memcpy(&hash, &h, sizeof hash);
        qb_ruleset_remember_hash(rs, hash, sqlite3_column_int64(st, 1),
                                 (const char *)sqlite3_column_text(st, 2),
                                 (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
}

void guard_prune(struct qb_ctx *c, int64_t now_ms)
{
    sqlite3_stmt *st = qb_stmt(c, "DELETE FROM guard_fingerprints WHERE ts < ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, now_ms - guard_st(c)->fp_horizon_ms);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* Was this message judged before (a back-filled copy of one seen live before a restart)? */
static bool judged_before(struct qb_ctx *c, const struct qb_event *ev)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT 1 FROM guard_hits WHERE group_id = ? AND message_id = ? LIMIT 1");
    if (!st || !ev->message_id[0])
        return false;
    sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->message_id, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

/* ---- strikes ---- */

/* The member's strikes in this group, not pardoned and younger than strike_decay. */
static int active_strikes(struct qb_ctx *c, const struct qb_event *ev,
                          const struct guard_settings *s)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*) FROM guard_cases WHERE platform = ?"
                                  " AND group_id = ? AND user_id = ? AND pardoned = 0"
                                  " AND ts >= ?");
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, ev->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, s->strike_decay_ms > 0 ? qb_now(c) - s->strike_decay_ms : INT64_MIN);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* The ladder step for the active-th strike (1-based). */
static enum guard_step step_for(const struct guard_settings *s, int active)
{
    if (!s->ladder.n || active < 1)
        return GUARD_STEP_NONE;
    size_t i = (size_t)active < s->ladder.n ? (size_t)active : s->ladder.n;
    return guard_step_parse(s->ladder.v[i - 1]);
}

static int64_t next_case_no(struct qb_ctx *c)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COALESCE(MAX(case_no), 0) + 1 FROM guard_cases");
    if (!st)
        return 0;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* Open a case for a strike. 0 if this message already has one (a repeated event) or on a
 * store error. */
static int64_t open_case(struct qb_ctx *c, const struct qb_event *ev, const struct qb_rules_hit *h,
                         enum guard_step step, int64_t mute_s)
{
    int64_t no = next_case_no(c);
    sqlite3_stmt *st = no ? qb_stmt(c, "INSERT INTO guard_cases(case_no, ts, platform, self_id,"
                                       " group_id, user_id, message_id, rule_id, version, reason,"
                                       " step, mute_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                                       " ON CONFLICT (platform, group_id, message_id) DO NOTHING")
                          : NULL;
    if (!st)
        return 0;
    char mid[QB_ID_MAX + 24];
    if (ev->message_id[0])
        snprintf(mid, sizeof mid, "%s", ev->message_id);
    else
        snprintf(mid, sizeof mid, "case-%lld", (long long)no);
    sqlite3_bind_int64(st, 1, no);
    sqlite3_bind_int64(st, 2, qb_now(c));
    sqlite3_bind_text(st, 3, ev->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, ev->self_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, mid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, h->rule_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 9, h->version);
    sqlite3_bind_text(st, 10, reason_of(h), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, guard_step_name(step), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 12, mute_s);
    bool ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sqlite3_db_handle(st)) > 0;
    sqlite3_reset(st);
    return ok ? no : 0;
}

static void record_hit(struct qb_ctx *c, const struct qb_event *ev, const struct qb_rules_hit *h,
                       bool acted, int64_t case_no)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO guard_hits(ts, platform, group_id, user_id,"
                                  " message_id, rule_id, version, detector, mode, action, acted,"
                                  " case_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, qb_now(c));
    sqlite3_bind_text(st, 2, ev->platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, ev->message_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, h->rule_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, h->version);
    sqlite3_bind_text(st, 8, h->detector, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, mode_name(h->mode), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, action_name(h->action), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 11, acted ? 1 : 0);
    if (case_no > 0)
        sqlite3_bind_int64(st, 12, case_no);
    else
        sqlite3_bind_null(st, 12);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* ---- the ladder ---- */

/* What the next strike would do, as a clause for the public warning ("" if nothing new). */
static const char *next_threat(enum guard_step next)
{
    switch (next) {
    case GUARD_STEP_MUTE:
        return "再次违规将被禁言。";
    case GUARD_STEP_KICK:
        return "再次违规将被移出本群。";
    default:
        return "";
    }
}

static void tell_member(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                        const char *reason, int active, int64_t case_no)
{
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "你在群 %s 的一条消息%s，原因：%s（案件 #%lld，当前有效违规 %d 次）。\n"
                     "如有误判，私聊我发送：申诉 %lld 理由",
                     ev->group_id, what, reason, (long long)case_no, active, (long long)case_no);
    if (n > 0) /* ids and reasons are short; a cut would only shorten the reason */
        guard_say_private(c, ev->self_id, ev->user_id, text);
}

/* Carry out a strike: open the case, recall, apply the step. false if the message was
 * already handled (the same event again). */
static bool strike(struct qb_ctx *c, const struct qb_event *ev, const struct guard_settings *s,
                   const struct qb_rules_hit *h, int64_t *case_out, enum guard_step *step_out)
{
    int active = active_strikes(c, ev, s) + 1;
    enum guard_step step = step_for(s, active);
    int64_t mute_s = step == GUARD_STEP_MUTE ? s->mute_duration_ms / 1000 : 0;
    int64_t no = open_case(c, ev, h, step, mute_s);
    *case_out = no;
    *step_out = step;
    if (!no)
        return false;
    const char *reason = reason_of(h);
    char why[200], text[600], dur[32];
    snprintf(why, sizeof why, "guard: %s (case #%lld)", h->rule_id, (long long)no);
    qb_recall(c, ev, why);
    int64_t ttl = s->warning_ttl_ms;
    switch (step) {
    case GUARD_STEP_WARN_PRIVATE:
        tell_member(c, ev, "已被撤回", reason, active, no);
        break;
    case GUARD_STEP_WARN_PUBLIC:
        snprintf(text, sizeof text, "请注意：%s，消息已撤回（案件 #%lld）。%s", reason,
                 (long long)no, next_threat(step_for(s, active + 1)));
        guard_say_group(c, ev->self_id, ev->group_id, ev->user_id, NULL, text, ttl);
        tell_member(c, ev, "已被撤回", reason, active, no);
        break;
    case GUARD_STEP_MUTE:
        fmt_duration(s->mute_duration_ms, dur, sizeof dur);
        qb_mute(c, ev->self_id, ev->group_id, ev->user_id, mute_s, why);
        snprintf(text, sizeof text, "%s，消息已撤回，禁言 %s（案件 #%lld）。%s", reason, dur,
                 (long long)no, next_threat(step_for(s, active + 1)));
        guard_say_group(c, ev->self_id, ev->group_id, ev->user_id, NULL, text, ttl);
        snprintf(text, sizeof text, "已被撤回并禁言 %s", dur);
        tell_member(c, ev, text, reason, active, no);
        break;
    case GUARD_STEP_KICK:
        tell_member(c, ev, "已被撤回，你已被移出该群", reason, active, no);
        qb_kick(c, ev->self_id, ev->group_id, ev->user_id, s->block_rejoin, why);
        guard_blacklist_add(c, ev->platform, ev->user_id, reason, no, NULL);
        snprintf(text, sizeof text, "QQ %s 多次违规（%s），已被移出本群（案件 #%lld）。",
                 ev->user_id, reason, (long long)no);
        guard_say_group(c, ev->self_id, ev->group_id, NULL, NULL, text, ttl);
        break;
    case GUARD_STEP_LOG:
    case GUARD_STEP_NONE:
        break;
    }
    return true;
}

/* ---- one message ---- */

static bool exempt(struct qb_ctx *c, const struct qb_event *ev, const struct guard_settings *s)
{
    if (s->exempt_admins && qb_role_of(c, ev) >= QB_ROLE_ADMIN)
        return true;
    return qb_strlist_has(&s->trusted, ev->user_id);
}

/* Index of the strongest hit in mode m (lowest action value), or -1. */
static int strongest(const struct qb_rules_hit *hits, size_t n, enum qb_rule_mode m)
{
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if (hits[i].mode == m && (best < 0 || hits[i].action < hits[best].action))
            best = (int)i;
    return best;
}

/* Audit the shadow hits: what would have been done, with the ladder step for strikes. */
static void audit_shadow(struct qb_ctx *c, const struct qb_event *ev,
                         const struct guard_settings *s, const struct qb_rules_hit *hits, size_t n,
                         int acted)
{
    int best = strongest(hits, n, QB_MODE_SHADOW);
    int active = -1;
    for (size_t i = 0; i < n; i++) {
        if (hits[i].mode != QB_MODE_SHADOW)
            continue;
        const char *step = NULL;
        if (hits[i].action == QB_RACT_STRIKE) {
            if (active < 0)
                active = active_strikes(c, ev, s) + 1;
            step = guard_step_name(step_for(s, active));
        }
        char action[48];
        snprintf(action, sizeof action, "would %s%s", action_name(hits[i].action),
                 (int)i == best && acted < 0 ? "" : " (not the strongest)");
        guard_audit_hit(c, ev, "shadow", &hits[i], action, step, 0);
        record_hit(c, ev, &hits[i], false, 0);
    }
}

static int act_on_hits(struct qb_ctx *c, const struct qb_event *ev, const struct guard_settings *s,
                       const struct qb_rules_hit *hits, size_t n);

/* ---- QR codes in pictures ---- */

#define QR_RULE_ID "qr.code"
#define QR_PER_MSG 2 /* pictures scanned per message */

/* What a pending scan needs to act later: the message's ids (the event is gone by then). */
struct qr_job {
    char platform[16], self_id[QB_ID_MAX], group_id[QB_ID_MAX], user_id[QB_ID_MAX];
    char message_id[QB_ID_MAX];
    int64_t time_ms;
    enum qb_role role;
};

struct qr_domain {
    char first[96];
    bool allowed_only; /* every link in the payload is on the allow list */
    size_t n;
    const struct guard_settings *s;
};

static void qr_domain_seen(const char *domain, void *ud)
{
    struct qr_domain *d = ud;
    bool allowed = qb_strlist_has(&d->s->allow_domains, domain);
    for (size_t i = 0; !allowed && i < d->s->allow_domains.n; i++) {
        const char *a = d->s->allow_domains.v[i];
        size_t la = strlen(a), ld = strlen(domain);
        allowed = ld > la && !strcmp(domain + ld - la, a) && domain[ld - la - 1] == '.';
    }
    if (d->n++ == 0)
        d->allowed_only = allowed;
    else
        d->allowed_only = d->allowed_only && allowed;
    if (!d->first[0] || !allowed)
        snprintf(d->first, sizeof d->first, "%s", domain);
}

static void qr_done(struct qb_ctx *c, int rc, const char *payload, void *ud)
{
    struct qr_job *job = ud;
    const struct guard_settings *s = rc == QB_OK ? guard_cfg(c, job->group_id) : NULL;
    if (!s || !payload || !payload[0]) {
        if (rc != QB_OK && rc != QB_ENOENT && rc != QB_ENOTSUP && rc != QB_EDISCONNECTED)
            qb_log(QB_LOG_INFO, "guard: picture in group %s not scanned: %s", job->group_id,
                   qb_strerror(rc));
        free(job);
        return;
    }
    struct qr_domain d = {.s = s};
    qb_detect_links(payload, strlen(payload), qr_domain_seen, &d);
    if (d.n && d.allowed_only) {
        free(job);
        return; /* a QR code of an allowed site is like an allowed link */
    }
    struct qb_rules_policy pol;
    guard_policy(c, s, &pol);
    struct qb_rules_hit h = {.rule_id = QR_RULE_ID,
                             .version = 1,
                             .detector = "qr",
                             .mode = qb_rules_mode(&pol, QR_RULE_ID),
                             .action = QB_RACT_STRIKE,
                             .reason = "禁止发带二维码的图片拉人或打广告"};
    if (d.n)
        snprintf(h.evidence, sizeof h.evidence, "图片里的二维码，链接 %s", d.first);
    else
        snprintf(h.evidence, sizeof h.evidence, "图片里的二维码（%zu 字的内容，不是链接）",
                 strlen(payload));
    struct qb_event ev;
    qb_event_init(&ev);
    ev.kind = QB_EV_MESSAGE;
    ev.chat = QB_CHAT_GROUP;
    ev.time_ms = job->time_ms;
    ev.sender_role = job->role;
    snprintf(ev.name, sizeof ev.name, "message");
    snprintf(ev.platform, sizeof ev.platform, "%s", job->platform);
    snprintf(ev.self_id, sizeof ev.self_id, "%s", job->self_id);
    snprintf(ev.group_id, sizeof ev.group_id, "%s", job->group_id);
    snprintf(ev.user_id, sizeof ev.user_id, "%s", job->user_id);
    snprintf(ev.message_id, sizeof ev.message_id, "%s", job->message_id);
    act_on_hits(c, &ev, s, &h, 1); /* shadow mode: audited as "would strike" */
    qb_event_clear(&ev);
    free(job);
}

/* Ask the core to look for QR codes in the message's pictures (not stickers). */
static void scan_pictures(struct qb_ctx *c, const struct qb_event *ev)
{
    int queued = 0;
    for (size_t i = 0; i < ev->msg.n && queued < QR_PER_MSG; i++) {
        const struct qb_seg *seg = &ev->msg.segs[i];
        if (seg->type != QB_SEG_IMAGE || (seg->flags & QB_SEGF_STICKER) || !seg->url ||
            strncmp(seg->url, "http", 4))
            continue;
        struct qr_job *job = calloc(1, sizeof *job);
        if (!job)
            return;
        snprintf(job->platform, sizeof job->platform, "%s", ev->platform);
        snprintf(job->self_id, sizeof job->self_id, "%s", ev->self_id);
        snprintf(job->group_id, sizeof job->group_id, "%s", ev->group_id);
        snprintf(job->user_id, sizeof job->user_id, "%s", ev->user_id);
        snprintf(job->message_id, sizeof job->message_id, "%s", ev->message_id);
        job->time_ms = ev->time_ms;
        job->role = ev->sender_role;
        int rc = qb_qr_scan(c, seg->url, qr_done, job);
        if (rc != QB_OK) {
            if (rc != QB_ENOTSUP)
                qb_log(QB_LOG_INFO, "guard: cannot scan a picture in group %s: %s", ev->group_id,
                       qb_strerror(rc));
            free(job);
            continue;
        }
        queued++;
    }
}

int guard_on_message(struct qb_ctx *c, const struct qb_event *ev)
{
    const struct guard_settings *s = guard_cfg(c, ev->group_id);
    if (!s || exempt(c, ev, s) || (ev->backfilled && judged_before(c, ev)))
        return QB_PASS;
    struct qb_rules_policy pol;
    guard_policy(c, s, &pol);
    struct qb_ruleset *rs = guard_engine_for(c, s);
    if (!rs)
        return QB_PASS;
    int64_t now = ev->backfilled && ev->time_ms > 0 ? ev->time_ms : qb_now(c);
    int64_t sent_ms = ev->time_ms > 0 ? ev->time_ms : now; /* the same for a back-filled copy */
    struct qb_rules_input in = {.msg = &ev->msg,
                                .group_id = ev->group_id,
                                .user_id = ev->user_id,
                                .now_ms = now,
                                .joined_ms = joined_at(c, ev),
                                .sender_is_admin = qb_role_of(c, ev) >= QB_ROLE_ADMIN};
    struct qb_rules_hit hits[MAX_HITS];
    size_t n = qb_ruleset_eval(rs, &pol, &in, hits, MAX_HITS);
    uint64_t fp;
    if (qb_ruleset_fingerprint(&pol, &ev->msg, &fp))
        store_fingerprint(c, ev, fp, sent_ms);
    int verdict = n ? act_on_hits(c, ev, s, hits, n) : QB_PASS;
    if (verdict == QB_PASS && !ev->backfilled && s->qr_scan &&
        qb_rules_mode(&pol, QR_RULE_ID) != QB_MODE_OFF)
        scan_pictures(c, ev);
    return verdict;
}

/* Act once on the strongest enforced hit, audit the rest; QB_HANDLED when the message was
 * recalled (later plugins must not answer it or give points for it). */
static int act_on_hits(struct qb_ctx *c, const struct qb_event *ev, const struct guard_settings *s,
                       const struct qb_rules_hit *hits, size_t n)
{
    int best = strongest(hits, n, QB_MODE_ENFORCE);
    bool stale = best >= 0 && ev->backfilled && hits[best].action == QB_RACT_NOTE;
    if (stale)
        best = -1; /* a note on a message from while the bot was away would be stale */
    audit_shadow(c, ev, s, hits, n, best);
    int verdict = QB_PASS;
    int64_t case_no = 0;
    enum guard_step step = GUARD_STEP_NONE;
    const char *done = "none";
    if (best >= 0) {
        const struct qb_rules_hit *h = &hits[best];
        switch (h->action) {
        case QB_RACT_STRIKE:
            if (!strike(c, ev, s, h, &case_no, &step))
                return QB_HANDLED; /* the same message again: already dealt with */
            done = "recall+strike";
            verdict = QB_HANDLED;
            break;
        case QB_RACT_RECALL:
            qb_recall(c, ev, h->rule_id);
            done = "recall";
            verdict = QB_HANDLED;
            break;
        case QB_RACT_NOTE:
            guard_say_group(c, ev->self_id, ev->group_id, NULL, ev->message_id, reason_of(h),
                            s->warning_ttl_ms);
            done = "note";
            break;
        case QB_RACT_LOG:
            done = "log";
            break;
        }
        guard_audit_hit(c, ev, action_name(h->action), h, done,
                        h->action == QB_RACT_STRIKE ? guard_step_name(step) : NULL, case_no);
        record_hit(c, ev, h, true, case_no);
    }
    for (size_t i = 0; i < n; i++) {
        if ((int)i == best || hits[i].mode != QB_MODE_ENFORCE)
            continue;
        guard_audit_hit(c, ev, "hit", &hits[i],
                        stale ? "none (sent while the bot was away)"
                              : "none (a stronger rule acted)",
                        NULL, case_no);
        record_hit(c, ev, &hits[i], false, case_no);
    }
    return verdict;
}
