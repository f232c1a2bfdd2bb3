/*
 * guard_appeal.c — second opinions on the guard's strikes: a member appeals a case
 * (申诉, in the group or privately, one appeal per case), admins list open appeals
 * (申诉列表), pardon (撤销: the strike stops counting, a mute is lifted, a kick's blacklist
 * entry goes) or uphold (维持), and read per-rule statistics (规则统计: enforced hits,
 * shadow hits, pardons, overturn rate).
 *
 * Owns the guard_appeals rows and the pardon columns of guard_cases. In a group, admins
 * act on that group's cases only; in private chat (superusers only, by the host's role
 * check) on every group's. Member text is only ever sent as a text segment.
 */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

/* A case as the commands need it. */
struct guard_case {
    int64_t no;
    int64_t ts;
    char self_id[QB_ID_MAX];
    char group_id[QB_ID_MAX];
    char user_id[QB_ID_MAX];
    char rule_id[QB_RULE_ID_MAX];
    int version;
    char step[24];
    int64_t mute_s;
    bool pardoned;
};

static void col(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    snprintf(out, n, "%s", s ? s : "");
}

static bool case_load(struct qb_ctx *c, int64_t no, struct guard_case *k)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT ts, self_id, group_id, user_id, rule_id, version, step,"
                                  " mute_s, pardoned FROM guard_cases WHERE case_no = ?");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, no);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        memset(k, 0, sizeof *k);
        k->no = no;
        k->ts = sqlite3_column_int64(st, 0);
        col(st, 1, k->self_id, sizeof k->self_id);
        col(st, 2, k->group_id, sizeof k->group_id);
        col(st, 3, k->user_id, sizeof k->user_id);
        col(st, 4, k->rule_id, sizeof k->rule_id);
        k->version = sqlite3_column_int(st, 5);
        col(st, 6, k->step, sizeof k->step);
        k->mute_s = sqlite3_column_int64(st, 7);
        k->pardoned = sqlite3_column_int(st, 8) != 0;
    }
    sqlite3_reset(st);
    return found;
}

/* The appeal's status ("open", "pardoned", "upheld"), or "" if none. */
static void appeal_status(struct qb_ctx *c, int64_t no, char *out, size_t n)
{
    out[0] = '\0';
    sqlite3_stmt *st = qb_stmt(c, "SELECT status FROM guard_appeals WHERE case_no = ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, no);
    if (sqlite3_step(st) == SQLITE_ROW)
        col(st, 0, out, n);
    sqlite3_reset(st);
}

static void appeal_close(struct qb_ctx *c, int64_t no, const char *status, const char *by)
{
    sqlite3_stmt *st = qb_stmt(c, "UPDATE guard_appeals SET status = ?, decided_by = ?,"
                                  " decided_ts = ? WHERE case_no = ? AND status = 'open'");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, by, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, qb_now(c));
    sqlite3_bind_int64(st, 4, no);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void audit_case(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                       const struct guard_case *k, const char *note)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return;
    cJSON_AddNumberToObject(d, "case", (double)k->no);
    cJSON_AddStringToObject(d, "rule_id", k->rule_id);
    cJSON_AddNumberToObject(d, "version", k->version);
    cJSON_AddStringToObject(d, "group", k->group_id);
    cJSON_AddStringToObject(d, "member", k->user_id);
    cJSON_AddStringToObject(d, "step", k->step);
    cJSON_AddStringToObject(d, "by", ev->user_id);
    if (note && note[0])
        cJSON_AddStringToObject(d, "note", note);
    char *text = cJSON_PrintUnformatted(d);
    if (text)
        qb_audit(c, ev, what, text);
    cJSON_free(text);
    cJSON_Delete(d);
}

/* The admin's case: found, and in this group unless asked privately (superusers). */
static bool admin_case(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a,
                       const char *usage, struct guard_case *k)
{
    int64_t no = a->argc >= 1 ? guard_case_arg(a->argv[0]) : 0;
    if (!no) {
        qb_reply(c, ev, usage, false);
        return false;
    }
    if (!case_load(c, no, k) || (ev->chat == QB_CHAT_GROUP && strcmp(k->group_id, ev->group_id))) {
        char text[160];
        snprintf(text, sizeof text, "没有找到本群的案件 #%lld，请检查案件号。", (long long)no);
        qb_reply(c, ev, text, false);
        return false;
    }
    return true;
}

/* ---- 申诉 ---- */

static bool appeal_open(struct qb_ctx *c, const struct qb_event *ev, int64_t no, const char *why)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO guard_appeals(case_no, ts, user_id, reason, status)"
                                  " VALUES (?, ?, ?, ?, 'open') ON CONFLICT (case_no) DO NOTHING");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, no);
    sqlite3_bind_int64(st, 2, qb_now(c));
    sqlite3_bind_text(st, 3, ev->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, why, -1, SQLITE_TRANSIENT);
    bool ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sqlite3_db_handle(st)) > 0;
    sqlite3_reset(st);
    return ok;
}

int guard_cmd_appeal(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    int64_t no = a->argc >= 1 ? guard_case_arg(a->argv[0]) : 0;
    if (!no) {
        qb_reply(c, ev, "用法：申诉 <案件号> [理由]，例如：申诉 12 我发的是正常内容", false);
        return QB_HANDLED;
    }
    struct guard_case k;
    char text[400], status[16];
    if (!case_load(c, no, &k) || strcmp(k.user_id, ev->user_id)) {
        snprintf(text, sizeof text, "没有找到你的案件 #%lld，请检查案件号。", (long long)no);
        qb_reply(c, ev, text, false);
        return QB_HANDLED;
    }
    if (k.pardoned) {
        snprintf(text, sizeof text, "案件 #%lld 已经撤销了，不需要申诉。", (long long)no);
        qb_reply(c, ev, text, false);
        return QB_HANDLED;
    }
    char why[600];
    guard_join_args(a, 1, why, sizeof why);
    if (!appeal_open(c, ev, no, why)) {
        appeal_status(c, no, status, sizeof status);
        snprintf(text, sizeof text,
                 !strcmp(status, "open") ? "案件 #%lld 的申诉正在处理中，请耐心等待。"
                                         : "案件 #%lld 已经申诉过，管理员已经作出了决定。",
                 (long long)no);
        qb_reply(c, ev, text, false);
        return QB_HANDLED;
    }
    audit_case(c, ev, "guard.appeal", &k, why);
    snprintf(text, sizeof text, "已收到你对案件 #%lld 的申诉，管理员会尽快处理。", (long long)no);
    qb_reply(c, ev, text, false);
    if (ev->chat != QB_CHAT_GROUP || strcmp(ev->group_id, k.group_id)) {
        snprintf(text, sizeof text,
                 "📮 案件 #%lld（QQ %s）有新的申诉。管理员可发送「申诉列表」查看，"
                 "「撤销 %lld」或「维持 %lld」处理。",
                 (long long)no, k.user_id, (long long)no, (long long)no);
        guard_say_group(c, k.self_id, k.group_id, NULL, NULL, text, 0);
    }
    return QB_HANDLED;
}

/* ---- 申诉列表 ---- */

int guard_cmd_appeals(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    sqlite3_stmt *st = qb_stmt(c, "SELECT p.case_no, k.user_id, k.rule_id, k.step, p.reason,"
                                  " k.group_id FROM guard_appeals p"
                                  " JOIN guard_cases k ON k.case_no = p.case_no"
                                  " WHERE p.status = 'open' AND (? = '' OR k.group_id = ?)"
                                  " ORDER BY p.ts LIMIT 20");
    if (!st)
        return QB_HANDLED;
    const char *group = ev->chat == QB_CHAT_GROUP ? ev->group_id : "";
    sqlite3_bind_text(st, 1, group, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, group, -1, SQLITE_TRANSIENT);
    char text[3000] = "待处理的申诉：", why[200];
    size_t len = strlen(text);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 4);
        guard_clip(r ? r : "", 40, why, sizeof why);
        char where[QB_ID_MAX + 16] = "";
        if (!group[0])
            snprintf(where, sizeof where, "群 %s，", (const char *)sqlite3_column_text(st, 5));
        int k = snprintf(text + len, sizeof text - len, "\n· #%lld %sQQ %s，规则 %s（%s）：%s",
                         (long long)sqlite3_column_int64(st, 0), where,
                         (const char *)sqlite3_column_text(st, 1),
                         (const char *)sqlite3_column_text(st, 2),
                         (const char *)sqlite3_column_text(st, 3), why[0] ? why : "（没写理由）");
        if (k < 0 || (size_t)k >= sizeof text - len)
            break;
        len += (size_t)k;
        n++;
    }
    sqlite3_reset(st);
    if (n)
        snprintf(text + len, sizeof text - len, "\n处理：撤销 <案件号> 或 维持 <案件号>");
    qb_reply(c, ev, n ? text : "没有待处理的申诉。", false);
    return QB_HANDLED;
}

/* ---- 撤销 / 维持 ---- */

static void mark_pardoned(struct qb_ctx *c, int64_t no, const char *by)
{
    sqlite3_stmt *st = qb_stmt(c, "UPDATE guard_cases SET pardoned = 1, pardon_ts = ?,"
                                  " pardon_by = ? WHERE case_no = ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, qb_now(c));
    sqlite3_bind_text(st, 2, by, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, no);
    sqlite3_step(st);
    sqlite3_reset(st);
}

int guard_cmd_pardon(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    struct guard_case k;
    if (!admin_case(c, ev, a, "用法：撤销 <案件号> [备注]，例如：撤销 12", &k))
        return QB_HANDLED;
    char text[500], note[400];
    if (k.pardoned) {
        snprintf(text, sizeof text, "案件 #%lld 已经撤销过了。", (long long)k.no);
        qb_reply(c, ev, text, false);
        return QB_HANDLED;
    }
    guard_join_args(a, 1, note, sizeof note);
    mark_pardoned(c, k.no, ev->user_id);
    appeal_close(c, k.no, "pardoned", ev->user_id);
    bool unmuted = false;
    if (!strcmp(k.step, "mute") && k.ts + k.mute_s * 1000 > qb_now(c)) {
        qb_mute(c, k.self_id, k.group_id, k.user_id, 0, "guard: case pardoned");
        unmuted = true;
    }
    if (!strcmp(k.step, "kick"))
        guard_blacklist_drop_case(c, k.no);
    audit_case(c, ev, "guard.pardon", &k, note);
    snprintf(text, sizeof text,
             "你在群 %s 的案件 #%lld 已撤销，不再计入违规次数%s。抱歉给你添麻烦了！", k.group_id,
             (long long)k.no, unmuted ? "，禁言已解除" : "");
    guard_say_private(c, k.self_id, k.user_id, text);
    snprintf(text, sizeof text, "已撤销案件 #%lld（QQ %s，规则 %s）%s。", (long long)k.no,
             k.user_id, k.rule_id, unmuted ? "，已解除禁言" : "");
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}

int guard_cmd_uphold(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    struct guard_case k;
    if (!admin_case(c, ev, a, "用法：维持 <案件号> [备注]，例如：维持 12", &k))
        return QB_HANDLED;
    char text[700], status[16], note[400];
    appeal_status(c, k.no, status, sizeof status);
    if (strcmp(status, "open")) {
        snprintf(text, sizeof text, "案件 #%lld 没有待处理的申诉。", (long long)k.no);
        qb_reply(c, ev, text, false);
        return QB_HANDLED;
    }
    guard_join_args(a, 1, note, sizeof note);
    appeal_close(c, k.no, "upheld", ev->user_id);
    audit_case(c, ev, "guard.uphold", &k, note);
    snprintf(text, sizeof text, "你对案件 #%lld 的申诉已处理：管理员维持原处理。%s%s",
             (long long)k.no, note[0] ? "说明：" : "", note);
    guard_say_private(c, k.self_id, k.user_id, text);
    snprintf(text, sizeof text, "已维持案件 #%lld，申诉已关闭。", (long long)k.no);
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}

/* ---- 规则统计 ---- */

static int64_t pardons_of(struct qb_ctx *c, const char *group, const char *rule, int version)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT COUNT(*) FROM guard_cases WHERE pardoned = 1"
                                  " AND rule_id = ? AND version = ? AND (? = '' OR group_id = ?)");
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, rule, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, version);
    sqlite3_bind_text(st, 3, group, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, group, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

struct stat_row {
    char rule[QB_RULE_ID_MAX];
    int version;
    int64_t enforced, shadow;
};

int guard_cmd_stats(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    sqlite3_stmt *st = qb_stmt(c, "SELECT rule_id, version,"
                                  " SUM(CASE WHEN mode = 'enforce' THEN 1 ELSE 0 END),"
                                  " SUM(CASE WHEN mode = 'shadow' THEN 1 ELSE 0 END)"
                                  " FROM guard_hits WHERE (? = '' OR group_id = ?)"
                                  " GROUP BY rule_id, version ORDER BY rule_id, version");
    if (!st)
        return QB_HANDLED;
    const char *group = ev->chat == QB_CHAT_GROUP ? ev->group_id : "";
    sqlite3_bind_text(st, 1, group, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, group, -1, SQLITE_TRANSIENT);
    struct stat_row rows[40];
    size_t n = 0;
    while (n < 40 && sqlite3_step(st) == SQLITE_ROW) {
        col(st, 0, rows[n].rule, sizeof rows[n].rule);
        rows[n].version = sqlite3_column_int(st, 1);
        rows[n].enforced = sqlite3_column_int64(st, 2);
        rows[n].shadow = sqlite3_column_int64(st, 3);
        n++;
    }
    sqlite3_reset(st);
    if (!n) {
        qb_reply(c, ev, "还没有任何规则命中记录。", false);
        return QB_HANDLED;
    }
    char text[3500];
    size_t len = (size_t)snprintf(text, sizeof text, "%s规则统计（执行 / 影子 / 撤销 / 撤销率）：",
                                  group[0] ? "本群" : "所有群");
    for (size_t i = 0; i < n; i++) {
        int64_t p = pardons_of(c, group, rows[i].rule, rows[i].version);
        char rate[16] = "-";
        if (rows[i].enforced > 0)
            snprintf(rate, sizeof rate, "%lld%%", (long long)(p * 100 / rows[i].enforced));
        int k = snprintf(text + len, sizeof text - len,
                         "\n· %s v%d：执行 %lld，影子 %lld，撤销 %lld，撤销率 %s", rows[i].rule,
                         rows[i].version, (long long)rows[i].enforced, (long long)rows[i].shadow,
                         (long long)p, rate);
        if (k < 0 || (size_t)k >= sizeof text - len)
            break;
        len += (size_t)k;
    }
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}
