/*
 * guard_blacklist.c — the operator-wide blacklist: members the guard kicked (and users an
 * admin adds with 拉黑) are refused when they ask to join a group that has the blacklist
 * on, and removed if they get in anyway. Admin commands 拉黑, 解除拉黑, 黑名单.
 *
 * Owns the guard_blacklist rows (one per platform and user). Groups with `blacklist`
 * off are never touched. Every refusal and removal is audited.
 */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

#define REJECT_REASON "已被列入黑名单"

bool guard_blacklisted(struct qb_ctx *c, const char *platform, const char *user_id)
{
    sqlite3_stmt *st =
            qb_stmt(c, "SELECT 1 FROM guard_blacklist WHERE platform = ? AND user_id = ?");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

void guard_blacklist_add(struct qb_ctx *c, const char *platform, const char *user_id,
                         const char *reason, int64_t case_no, const char *by)
{
    sqlite3_stmt *st = qb_stmt(c, "INSERT INTO guard_blacklist(platform, user_id, reason, case_no,"
                                  " ts, added_by) VALUES (?, ?, ?, ?, ?, ?)"
                                  " ON CONFLICT (platform, user_id) DO UPDATE SET"
                                  " reason = excluded.reason, case_no = excluded.case_no,"
                                  " ts = excluded.ts, added_by = excluded.added_by");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, platform, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_TRANSIENT);
    if (case_no > 0)
        sqlite3_bind_int64(st, 4, case_no);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, qb_now(c));
    if (by)
        sqlite3_bind_text(st, 6, by, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_text(st, 6, "guard", -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_reset(st);
}

void guard_blacklist_drop_case(struct qb_ctx *c, int64_t case_no)
{
    sqlite3_stmt *st = qb_stmt(c, "DELETE FROM guard_blacklist WHERE case_no = ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, case_no);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void audit(struct qb_ctx *c, const struct qb_event *ev, const char *what,
                  const char *user_id, const char *reason)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return;
    cJSON_AddStringToObject(d, "member", user_id);
    if (ev->group_id[0])
        cJSON_AddStringToObject(d, "group", ev->group_id);
    cJSON_AddStringToObject(d, "by", ev->kind == QB_EV_MESSAGE ? ev->user_id : "guard");
    if (reason && reason[0])
        cJSON_AddStringToObject(d, "reason", reason);
    char *text = cJSON_PrintUnformatted(d);
    if (text)
        qb_audit(c, ev, what, text);
    cJSON_free(text);
    cJSON_Delete(d);
}

/* ---- events ---- */

int guard_on_request(struct qb_ctx *c, const struct qb_event *ev)
{
    if (!ev->group_id[0] || !ev->flag[0])
        return QB_PASS;
    const struct guard_settings *s = guard_cfg(c, ev->group_id);
    if (!s || !s->blacklist || !guard_blacklisted(c, ev->platform, ev->user_id))
        return QB_PASS;
    qb_handle_request(c, ev, false, REJECT_REASON);
    audit(c, ev, "guard.blacklist.reject", ev->user_id, "join request from a blacklisted user");
    return QB_HANDLED;
}

int guard_check_joined(struct qb_ctx *c, const struct qb_event *ev)
{
    const struct guard_settings *s = guard_cfg(c, ev->group_id);
    if (!s || !s->blacklist || !guard_blacklisted(c, ev->platform, ev->user_id))
        return QB_PASS;
    qb_kick(c, ev->self_id, ev->group_id, ev->user_id, s->block_rejoin,
            "guard: blacklisted user joined");
    char text[200];
    snprintf(text, sizeof text, "QQ %s 在黑名单中，已移出本群。", ev->user_id);
    guard_say_group(c, ev->self_id, ev->group_id, NULL, NULL, text, s->warning_ttl_ms);
    audit(c, ev, "guard.blacklist.kick", ev->user_id, "a blacklisted user joined");
    return QB_HANDLED;
}

/* ---- commands ---- */

int guard_cmd_block(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    char uid[QB_ID_MAX], reason[400], text[600];
    if (!guard_target(ev, a, uid, sizeof uid)) {
        qb_reply(c, ev, "用法：拉黑 <QQ号> [理由]，例如：拉黑 123456789 发广告", false);
        return QB_HANDLED;
    }
    guard_join_args(a, 1, reason, sizeof reason);
    guard_blacklist_add(c, ev->platform, uid, reason[0] ? reason : "管理员拉黑", 0, ev->user_id);
    audit(c, ev, "guard.blacklist.add", uid, reason);
    snprintf(text, sizeof text, "已把 QQ %s 加入黑名单。开启了黑名单的群会拒绝其入群申请。", uid);
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}

int guard_cmd_unblock(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    if (ev->backfilled)
        return QB_HANDLED;
    char uid[QB_ID_MAX], text[300];
    if (!guard_target(ev, a, uid, sizeof uid)) {
        qb_reply(c, ev, "用法：解除拉黑 <QQ号>", false);
        return QB_HANDLED;
    }
    sqlite3_stmt *st = qb_stmt(c, "DELETE FROM guard_blacklist WHERE platform = ? AND user_id = ?");
    bool removed = false;
    if (st) {
        sqlite3_bind_text(st, 1, ev->platform, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, uid, -1, SQLITE_TRANSIENT);
        removed = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(sqlite3_db_handle(st)) > 0;
        sqlite3_reset(st);
    }
    if (removed)
        audit(c, ev, "guard.blacklist.remove", uid, NULL);
    snprintf(text, sizeof text, removed ? "已把 QQ %s 移出黑名单。" : "QQ %s 不在黑名单中。", uid);
    qb_reply(c, ev, text, false);
    return QB_HANDLED;
}

int guard_cmd_blacklist(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a)
{
    (void)a;
    if (ev->backfilled)
        return QB_HANDLED;
    sqlite3_stmt *st = qb_stmt(c, "SELECT user_id, reason, case_no FROM guard_blacklist"
                                  " WHERE platform = ? ORDER BY ts DESC LIMIT 30");
    if (!st)
        return QB_HANDLED;
    sqlite3_bind_text(st, 1, ev->platform, -1, SQLITE_TRANSIENT);
    char text[3000] = "黑名单（最近 30 个）：";
    size_t len = strlen(text);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 1);
        char why[200], where[40] = "";
        guard_clip(r && *r ? r : "未写理由", 30, why, sizeof why);
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            snprintf(where, sizeof where, "，案件 #%lld", (long long)sqlite3_column_int64(st, 2));
        int k = snprintf(text + len, sizeof text - len, "\n· QQ %s（%s%s）",
                         (const char *)sqlite3_column_text(st, 0), why, where);
        if (k < 0 || (size_t)k >= sizeof text - len)
            break;
        len += (size_t)k;
        n++;
    }
    sqlite3_reset(st);
    qb_reply(c, ev, n ? text : "黑名单是空的。", false);
    return QB_HANDLED;
}
