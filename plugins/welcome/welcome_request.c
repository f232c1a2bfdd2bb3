/*
 * welcome_request.c — join requests (入群申请) by the group's admission policy: open
 * (approve), invite-only (refuse politely), screen (approve a comment with a keyword or
 * matching screen_pattern, else queue it for the admins), and the admin commands that
 * approve or reject queued requests (/request, 同意, 拒绝).
 *
 * Owns the welcome_requests rows (one per flag: a repeated request event is ignored).
 * Approvals wait ~1 s because NapCat repeats request events approved instantly. Every
 * decision goes to qb_audit with who decided and why. Admission "off" touches nothing.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "welcome.h"

#define APPROVE_DELAY_MS 1000

/* ---- small helpers ---- */

/* Copy s into out as a JSON string body (quotes and control characters escaped). */
static void json_esc(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; s && *s && o + 7 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
}

/* At most max code points of s, with "…" when cut. */
static void clip(const char *s, size_t max, char *out, size_t n)
{
    size_t i = 0, chars = 0;
    while (s[i] && i + 4 < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max)
            break;
        i++;
    }
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) /* never split a character */
        i--;
    memcpy(out, s, i);
    snprintf(out + i, n - i, "%s", s[i] ? "…" : "");
}

static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static void group_text(struct qb_ctx *c, const char *self_id, const char *group_id,
                       const char *text)
{
    struct qb_msg msg;
    qb_msg_init(&msg);
    if (qb_msg_text(&msg, text) == QB_OK && qb_msg_finish(&msg) == QB_OK)
        qb_send_group(c, self_id, group_id, &msg);
    qb_msg_clear(&msg);
}

static void audit_decision(struct qb_ctx *c, const struct qb_event *ev, const char *group_id,
                           const char *user_id, const char *decision, const char *by,
                           const char *why)
{
    char ewhy[600], eby[200], details[1400];
    json_esc(why, ewhy, sizeof ewhy);
    json_esc(by, eby, sizeof eby);
    snprintf(details, sizeof details,
             "{\"group\":\"%s\",\"user\":\"%s\",\"decision\":\"%s\",\"by\":\"%s\",\"why\":\"%s\"}",
             group_id, user_id, decision, eby, ewhy);
    qb_audit(c, ev, "welcome.request", details);
}

static void set_status(struct qb_ctx *c, const char *flag, const char *status, const char *by,
                       const char *reason)
{
    sqlite3_stmt *st = qb_stmt(c, "UPDATE welcome_requests SET status = ?,"
                                  " decided_by = COALESCE(?, decided_by),"
                                  " reason = COALESCE(?, reason) WHERE flag = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, by, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, flag, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* ---- talking to the platform ---- */

static void handle_answer(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    struct welcome_job *j = welcome_job_find(c, welcome_ud_id(ud));
    if (!j)
        return;
    bool ok = r->err == QB_OK;
    set_status(c, j->flag, ok ? (j->approve ? "approved" : "rejected") : "failed", NULL, NULL);
    char text[400];
    if (!ok) {
        qb_log(QB_LOG_WARN,
               "welcome: could not %s the join request of %s in group %s: %s %s (expired, or "
               "the bot is not a group admin?)",
               j->approve ? "approve" : "reject", j->user_id, j->group_id, qb_strerror(r->err),
               r->detail ? r->detail : "");
        audit_decision(c, NULL, j->group_id, j->user_id, "failed", "platform",
                       r->detail ? r->detail : qb_strerror(r->err));
    }
    if (j->kind == WELCOME_JOB_DECIDE) { /* an admin is waiting for the outcome */
        if (ok)
            snprintf(text, sizeof text, "已%s QQ %s 的入群申请。", j->approve ? "同意" : "拒绝",
                     j->user_id);
        else
            snprintf(text, sizeof text,
                     "没能处理 QQ %s 的入群申请：%s。申请可能已过期，或者机器人不是管理员。",
                     j->user_id, r->detail && r->detail[0] ? r->detail : qb_strerror(r->err));
        group_text(c, j->self_id, j->group_id, text);
    }
    welcome_job_free(c, j);
}

static void submit_decision(struct qb_ctx *c, struct welcome_job *j)
{
    struct qb_action *a = qb_action_new(QB_ACT_HANDLE_REQUEST);
    if (!a) {
        welcome_job_free(c, j);
        return;
    }
    qb_id_set(a->self_id, j->self_id);
    qb_id_set(a->group_id, j->group_id);
    qb_id_set(a->user_id, j->user_id);
    snprintf(a->flag, sizeof a->flag, "%s", j->flag);
    snprintf(a->sub_type, sizeof a->sub_type, "add");
    a->enable = j->approve;
    a->text = strdup(j->text ? j->text : "");
    a->reason = strdup(j->approve ? "join request approved" : "join request rejected");
    if (qb_action_submit(c, a, handle_answer, welcome_id_ud(j->id)) != QB_OK)
        welcome_job_free(c, j);
}

static void approve_later(struct qb_ctx *c, void *ud)
{
    struct welcome_job *j = welcome_job_find(c, welcome_ud_id(ud));
    if (j) {
        j->timer = 0;
        submit_decision(c, j);
    }
}

/* Start deciding the request ev: approvals after a short delay (NapCat repeats). */
static void decide(struct qb_ctx *c, enum welcome_job_kind kind, const char *self_id,
                   const char *group_id, const char *user_id, const char *flag, bool approve,
                   const char *reason)
{
    struct welcome_job *j = welcome_job_new(c, kind, self_id, group_id, user_id);
    if (!j)
        return;
    snprintf(j->flag, sizeof j->flag, "%s", flag);
    j->approve = approve;
    j->text = strdup(reason ? reason : "");
    if (kind == WELCOME_JOB_APPROVE && approve)
        j->timer = qb_timer_add(c, APPROVE_DELAY_MS, approve_later, welcome_id_ud(j->id));
    else
        submit_decision(c, j);
}

/* ---- incoming requests ---- */

/* Does the comment pass screening? why says which rule let it in. */
static bool screen_pass(struct qb_ctx *c, const struct welcome_settings *s, const char *comment,
                        char *why, size_t n)
{
    for (size_t i = 0; i < s->screen_keywords.n; i++) {
        const char *k = s->screen_keywords.v[i];
        if (k[0] && strcasestr(comment, k)) {
            snprintf(why, n, "comment contains \"%s\"", k);
            return true;
        }
    }
    if (s->screen_pattern[0] && welcome_re_match(c, s->screen_pattern, comment)) {
        snprintf(why, n, "comment matches screen_pattern");
        return true;
    }
    snprintf(why, n, "comment has no screening keyword");
    return false;
}

/* Record the request once; false if this flag was seen before (a repeated event). */
static bool record_request(struct qb_ctx *c, const struct qb_event *ev, const char *status)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO welcome_requests(flag, self_id, group_id, user_id,"
                                  " comment, ts, status) VALUES (?, ?, ?, ?, ?, ?, ?)"
                                  " ON CONFLICT (flag) DO NOTHING");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, ev->flag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->self_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, ev->text ? ev->text : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, qb_now(c));
    sqlite3_bind_text(st, 7, status, -1, SQLITE_TRANSIENT);
    bool fresh = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sqlite3_db_handle(st)) > 0;
    sqlite3_reset(st);
    return fresh;
}

static void tell_admins(struct qb_ctx *c, const struct qb_event *ev)
{
    char comment[400], text[1000];
    clip(ev->text ? ev->text : "", 60, comment, sizeof comment);
    snprintf(text, sizeof text,
             "📝 入群申请待审核：QQ %s，附言「%s」。管理员回复「同意 %s」或「拒绝 %s 理由」。",
             ev->user_id, comment, ev->user_id, ev->user_id);
    group_text(c, ev->self_id, ev->group_id, text);
}

int welcome_on_request(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!ev->group_id[0] || !ev->flag[0])
        return QB_PASS;
    const struct welcome_settings *s = welcome_cfg(c, ev->group_id);
    const char *mode = s->admission, *comment = ev->text ? ev->text : "";
    if (!strcmp(mode, "off"))
        return QB_PASS;
    char why[200];
    bool approve = false, queue = false;
    if (!strcmp(mode, "open")) {
        approve = true;
        snprintf(why, sizeof why, "admission is open");
    } else if (!strcmp(mode, "invite-only")) {
        snprintf(why, sizeof why, "admission is invite-only");
    } else {
        approve = screen_pass(c, s, comment, why, sizeof why);
        queue = !approve;
    }
    const char *status = approve ? "approving" : queue ? "pending" : "rejecting";
    if (!record_request(c, ev, status))
        return QB_HANDLED; /* the same request again (NapCat repeats): already decided */
    audit_decision(c, ev, ev->group_id, ev->user_id,
                   approve ? "approve"
                   : queue ? "queue"
                           : "reject",
                   "welcome", why);
    if (queue)
        tell_admins(c, ev);
    else
        decide(c, WELCOME_JOB_APPROVE, ev->self_id, ev->group_id, ev->user_id, ev->flag, approve,
               approve ? "" : s->reject_reason);
    return QB_HANDLED;
}

/* ---- admin commands ---- */

static void join_words(const struct qb_cmd_args *a, int from, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = from; i < a->argc; i++) {
        int k = snprintf(out + len, n - len, "%s%s", i > from ? " " : "", a->argv[i]);
        if (k < 0 || (size_t)k >= n - len)
            break;
        len += (size_t)k;
    }
}

/* Approve or reject the newest pending request of uid in the admin's group. */
static int decide_by_admin(struct qb_ctx *c, const struct qb_event *ev, bool approve,
                           const char *uid, const char *reason)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT flag, self_id FROM welcome_requests WHERE group_id = ?"
                                  " AND user_id = ? AND status = 'pending' ORDER BY ts DESC");
    if (!st)
        return QB_HANDLED;
    sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, uid, -1, SQLITE_TRANSIENT);
    char flag[QB_ID_MAX * 4] = "", self_id[QB_ID_MAX] = "";
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(flag, sizeof flag, "%s", (const char *)sqlite3_column_text(st, 0));
        const char *sid = (const char *)sqlite3_column_text(st, 1);
        qb_id_set(self_id, sid && *sid ? sid : ev->self_id);
    }
    sqlite3_reset(st);
    if (!flag[0]) {
        char text[200];
        snprintf(text, sizeof text, "没有找到 QQ %s 待审核的入群申请。", uid);
        qb_reply(c, ev, text, false);
        return QB_HANDLED;
    }
    set_status(c, flag, approve ? "approving" : "rejecting", ev->user_id, reason);
    audit_decision(c, ev, ev->group_id, uid, approve ? "approve" : "reject", ev->user_id,
                   reason[0] ? reason : "admin decision");
    decide(c, WELCOME_JOB_DECIDE, self_id, ev->group_id, uid, flag, approve, reason);
    return QB_HANDLED;
}

static int list_pending(struct qb_ctx *c, const struct qb_event *ev)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT user_id, comment FROM welcome_requests"
                       " WHERE group_id = ? AND status = 'pending' ORDER BY ts LIMIT 20");
    if (!st)
        return QB_HANDLED;
    sqlite3_bind_text(st, 1, ev->group_id, -1, SQLITE_TRANSIENT);
    char text[3000] = "待审核的入群申请：", comment[300];
    size_t len = strlen(text);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c1 = (const char *)sqlite3_column_text(st, 1);
        clip(c1 ? c1 : "", 40, comment, sizeof comment);
        int k = snprintf(text + len, sizeof text - len, "\n· QQ %s：「%s」",
                         (const char *)sqlite3_column_text(st, 0), comment);
        if (k < 0 || (size_t)k >= sizeof text - len)
            break;
        len += (size_t)k;
        n++;
    }
    sqlite3_reset(st);
    qb_reply(c, ev, n ? text : "没有待审核的入群申请。", false);
    return QB_HANDLED;
}

static const char request_usage[] =
        "用法：/request approve <QQ号> 或 /request reject <QQ号> [理由]";

int welcome_cmd_request(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    if (a->argc == 0 || !strcmp(a->argv[0], "list") || !strcmp(a->argv[0], "列表"))
        return list_pending(c, ev);
    bool approve = !strcmp(a->argv[0], "approve") || !strcmp(a->argv[0], "同意");
    bool reject = !strcmp(a->argv[0], "reject") || !strcmp(a->argv[0], "拒绝");
    if ((!approve && !reject) || a->argc < 2 || !all_digits(a->argv[1])) {
        qb_reply(c, ev, request_usage, false);
        return QB_HANDLED;
    }
    char reason[400];
    join_words(a, 2, reason, sizeof reason);
    return decide_by_admin(c, ev, approve, a->argv[1], reason);
}

/* 同意 / 拒绝 are everyday words: from a member, or without a QQ number, they are chat
 * (QB_PASS), unless typed as a command with a prefix (/同意, /approve). */
static int short_command(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                         bool approve)
{
    bool bare = !strcmp(a->used, approve ? "同意" : "拒绝");
    if (ev->backfilled)
        return bare ? QB_PASS : QB_HANDLED;
    if (qb_role_of(c, ev) < QB_ROLE_ADMIN) {
        if (bare)
            return QB_PASS;
        qb_reply(c, ev, "只有群管理员可以处理入群申请。", true);
        return QB_HANDLED;
    }
    if (a->argc < 1 || !all_digits(a->argv[0])) {
        if (bare)
            return QB_PASS;
        qb_reply(c, ev, approve ? "用法：同意 <QQ号>" : "用法：拒绝 <QQ号> [理由]", false);
        return QB_HANDLED;
    }
    char reason[400];
    join_words(a, 1, reason, sizeof reason);
    return decide_by_admin(c, ev, approve, a->argv[0], reason);
}

int welcome_cmd_approve(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    return short_command(c, ev, a, true);
}

int welcome_cmd_reject(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    return short_command(c, ev, a, false);
}
