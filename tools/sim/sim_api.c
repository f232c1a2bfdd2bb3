/*
 * sim_api.c — the OneBot v11 actions the simulator answers, the way NapCat answers them:
 * ids as numbers or strings, {status, retcode, data, message, wording, echo} replies,
 * retcode 1400 for bad JSON or parameters, 1404 for unknown actions, 1200 for failures
 * (no permission, unknown group/member/message), with realistic side effects and notices.
 * Owns nothing beyond one frame; records every call through sim.c before answering.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

struct api_res {
    int retcode;
    char msg[300];
    cJSON *data; /* NULL → JSON null */
};

#define SEND_TIMEOUT_MSG                                                                           \
    "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg "                             \
    "ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet: {\"result\":0}"

static void fail(struct api_res *r, int retcode, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void fail(struct api_res *r, int retcode, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->retcode = retcode;
    cJSON_Delete(r->data);
    r->data = NULL;
}

/* ---- parameters (NapCat coerces numbers and strings both ways) ---- */

/* 0 ok, 1 absent, -1 malformed. */
static int get_id(const cJSON *p, const char *key, char out[SIM_ID])
{
    const cJSON *v = cJSON_GetObjectItem(p, key);
    if (!v || cJSON_IsNull(v))
        return 1;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d < 0 || d > 9e15 || d != (double)(int64_t)d)
            return -1;
        snprintf(out, SIM_ID, "%.0f", d);
        return 0;
    }
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) >= SIM_ID)
        return -1;
    for (const char *c = v->valuestring; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    qb_strlcpy(out, v->valuestring, SIM_ID);
    return 0;
}

static bool need_id(const cJSON *p, const char *key, char out[SIM_ID], struct api_res *r)
{
    int rc = get_id(p, key, out);
    if (rc == 1)
        fail(r, 1400, "参数错误: 缺少 %s (missing parameter %s)", key, key);
    else if (rc < 0)
        fail(r, 1400, "参数错误: %s 不是有效的数字 (%s must be a number)", key, key);
    return rc == 0;
}

/* 0 ok, 1 absent, -1 malformed. */
static int get_int(const cJSON *p, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItem(p, key);
    if (!v || cJSON_IsNull(v))
        return 1;
    if (cJSON_IsNumber(v)) {
        *out = (int64_t)v->valuedouble;
        return 0;
    }
    if (cJSON_IsString(v) && *v->valuestring) {
        char *end;
        long long n = strtoll(v->valuestring, &end, 10);
        if (*end)
            return -1;
        *out = n;
        return 0;
    }
    return -1;
}

static bool get_bool(const cJSON *p, const char *key, bool def)
{
    const cJSON *v = cJSON_GetObjectItem(p, key);
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1"))
            return true;
        if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0"))
            return false;
    }
    return def;
}

static const char *get_str(const cJSON *p, const char *key, const char *def)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(p, key));
    return s ? s : def;
}

/* ---- world lookups with NapCat-like failures ---- */

static struct sim_group *need_group(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    char gid[SIM_ID];
    if (!need_id(p, "group_id", gid, r))
        return NULL;
    struct sim_group *g = sim__group(s, gid);
    if (!g)
        fail(r, 1200, "群 %s 不存在 (the bot is not in group %s)", gid, gid);
    else if (!sim__member(g, s->self_id))
        fail(r, 1200, "机器人不在群 %s 中 (the bot is not a member of group %s)", gid, gid);
    return r->retcode ? NULL : g;
}

static struct sim_member *need_member(struct sim_group *g, const cJSON *p, struct api_res *r)
{
    char uid[SIM_ID];
    if (!need_id(p, "user_id", uid, r))
        return NULL;
    struct sim_member *m = sim__member(g, uid);
    if (!m)
        fail(r, 1200, "群成员 %s 不存在 (user %s is not in group %s)", uid, uid, g->group_id);
    return m;
}

static struct sim_member *bot_of(struct qb_sim *s, struct sim_group *g)
{
    return sim__member(g, s->self_id);
}

/* May the bot moderate target? Admins act on members only; the owner on everyone else. */
static bool can_manage(struct qb_sim *s, struct sim_group *g, const struct sim_member *target,
                       const char *what, struct api_res *r)
{
    struct sim_member *bot = bot_of(s, g);
    int br = sim__role_rank(bot->role), tr = target ? sim__role_rank(target->role) : 1;
    if (br < 2) {
        fail(r, 1200, "%s失败: 权限不足, 机器人不是群 %s 的管理员 (the bot is not an admin)", what,
             g->group_id);
        return false;
    }
    if (tr >= br) {
        fail(r, 1200,
             "%s失败: 权限不足, 不能操作群主或其他管理员 (cannot act on the owner or "
             "another admin)",
             what);
        return false;
    }
    return true;
}

/* ---- messages ---- */

static bool has_at_all(const cJSON *segs)
{
    const cJSON *seg;
    cJSON_ArrayForEach(seg, segs)
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(seg, "type"));
        const cJSON *d = cJSON_GetObjectItem(seg, "data");
        const char *qq = cJSON_GetStringValue(cJSON_GetObjectItem(d, "qq"));
        if (t && !strcmp(t, "at") && qq && !strcmp(qq, "all"))
            return true;
    }
    return false;
}

static void do_send(struct qb_sim *s, const cJSON *p, bool group, struct api_res *r)
{
    struct sim_group *g = NULL;
    char uid[SIM_ID] = "";
    if (group) {
        if (!(g = need_group(s, p, r)))
            return;
    } else if (!need_id(p, "user_id", uid, r)) {
        return;
    }
    const cJSON *message = cJSON_GetObjectItem(p, "message");
    if (!message) {
        fail(r, 1400, "参数错误: 缺少 message (missing parameter message)");
        return;
    }
    cJSON *segs = sim__message_param(message, get_bool(p, "auto_escape", false));
    if (!segs || !cJSON_GetArraySize(segs)) {
        cJSON_Delete(segs);
        fail(r, 1400,
             "消息体无法解析, 请检查是否发送了不支持的消息类型 (empty or unsupported "
             "message)");
        return;
    }
    if (!s->online) {
        cJSON_Delete(segs);
        fail(r, 1200, "%s (QQ is offline)", SEND_TIMEOUT_MSG);
        return;
    }
    if (g) {
        struct sim_member *bot = bot_of(s, g);
        if (bot->muted_until > qb_clock_now() / 1000 ||
            (g->whole_ban && sim__role_rank(bot->role) < 2)) {
            cJSON_Delete(segs);
            fail(r, 1200, "%s (the bot is muted in group %s)", SEND_TIMEOUT_MSG, g->group_id);
            return;
        }
        if (has_at_all(segs)) {
            if (g->at_all_group > 0)
                g->at_all_group--;
            if (g->at_all_uin > 0)
                g->at_all_uin--;
        }
    }
    char *raw = sim__cq_render(segs);
    struct sim_msg *m =
            sim__msg_store(s, group, g ? g->group_id : NULL, s->self_id, uid, segs, raw, true);
    if (!m) {
        fail(r, 1200, "out of memory");
        return;
    }
    if (s->report_self)
        sim__emit(s, sim__msg_json(s, m, "message_sent"));
    r->data = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->data, "message_id", (double)m->message_id);
}

static void api_send_group_msg(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    do_send(s, p, true, r);
}

static void api_send_private_msg(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    do_send(s, p, false, r);
}

static void api_send_msg(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    const char *type = get_str(p, "message_type", NULL);
    bool group = type ? !strcmp(type, "group") : cJSON_GetObjectItem(p, "group_id") != NULL;
    if (type && strcmp(type, "group") && strcmp(type, "private")) {
        fail(r, 1400, "参数错误: message_type 只能是 group 或 private");
        return;
    }
    do_send(s, p, group, r);
}

static struct sim_msg *need_msg(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    int64_t id = 0;
    int rc = get_int(p, "message_id", &id);
    if (rc) {
        fail(r, 1400, "参数错误: %s message_id", rc > 0 ? "缺少" : "无效的");
        return NULL;
    }
    struct sim_msg *m = sim__msg_find(s, id);
    if (!m)
        fail(r, 1200, "消息 %lld 不存在 (message not found)", (long long)id);
    return m;
}

static void api_delete_msg(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_msg *m = need_msg(s, p, r);
    if (!m)
        return;
    if (m->recalled) {
        fail(r, 1200, "消息 %lld 已被撤回 (message already recalled)", (long long)m->message_id);
        return;
    }
    if (!m->self) {
        struct sim_group *g = m->group ? sim__group(s, m->group_id) : NULL;
        if (!g || !bot_of(s, g)) {
            fail(r, 1200,
                 "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/recallMsg (cannot "
                 "recall someone else's private message)");
            return;
        }
        struct sim_member *sender = sim__member(g, m->user_id);
        if (!can_manage(s, g, sender, "撤回消息", r)) {
            char why[300];
            qb_strlcpy(why, r->msg, sizeof why);
            fail(r, 1200,
                 "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/recallMsg "
                 "ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate (%.200s)",
                 why);
            return;
        }
    }
    sim__do_recall(s, m, s->self_id);
}

static void api_get_msg(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_msg *m = need_msg(s, p, r);
    if (m)
        r->data = sim__msg_json(s, m, "message");
}

/* ---- moderation ---- */

static void api_set_group_ban(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    struct sim_member *m = g ? need_member(g, p, r) : NULL;
    if (!m)
        return;
    int64_t duration = 0; /* NapCat's default (the spec says 1800) */
    if (get_int(p, "duration", &duration) < 0 || duration < 0) {
        fail(r, 1400, "参数错误: duration 必须是非负整数 (seconds)");
        return;
    }
    if (duration > 2592000) {
        fail(r, 1200, "禁言时长不能超过 30 天 (at most 2592000 seconds)");
        return;
    }
    if (!can_manage(s, g, m, "禁言", r))
        return;
    m->muted_until = duration ? qb_clock_now() / 1000 + duration : 0;
    cJSON *ev = sim__event_new(s, "notice");
    cJSON_AddStringToObject(ev, "notice_type", "group_ban");
    cJSON_AddStringToObject(ev, "sub_type", duration ? "ban" : "lift_ban");
    cJSON_AddItemToObject(ev, "group_id", sim__id_json(g->group_id));
    cJSON_AddItemToObject(ev, "operator_id", sim__id_json(s->self_id));
    cJSON_AddItemToObject(ev, "user_id", sim__id_json(m->user_id));
    cJSON_AddNumberToObject(ev, "duration", (double)duration);
    sim__emit(s, ev);
}

static void api_set_group_whole_ban(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    if (!g || !can_manage(s, g, NULL, "全员禁言", r))
        return;
    bool enable = get_bool(p, "enable", true);
    g->whole_ban = enable;
    cJSON *ev = sim__event_new(s, "notice");
    cJSON_AddStringToObject(ev, "notice_type", "group_ban");
    cJSON_AddStringToObject(ev, "sub_type", enable ? "ban" : "lift_ban");
    cJSON_AddItemToObject(ev, "group_id", sim__id_json(g->group_id));
    cJSON_AddItemToObject(ev, "operator_id", sim__id_json(s->self_id));
    cJSON_AddNumberToObject(ev, "user_id", 0);
    cJSON_AddNumberToObject(ev, "duration", enable ? -1 : 0);
    sim__emit(s, ev);
}

static void api_set_group_kick(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    struct sim_member *m = g ? need_member(g, p, r) : NULL;
    if (!m || !can_manage(s, g, m, "踢出群成员", r))
        return;
    char uid[SIM_ID];
    qb_strlcpy(uid, m->user_id, sizeof uid);
    sim__member_remove(g, uid);
    sim__emit_notice(s, "group_decrease", "kick", g->group_id, uid, s->self_id);
}

static void api_set_group_card(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    struct sim_member *m = g ? need_member(g, p, r) : NULL;
    if (!m)
        return;
    if (strcmp(m->user_id, s->self_id) && !can_manage(s, g, m, "修改群名片", r))
        return;
    const char *card = get_str(p, "card", "");
    if (!strcmp(card, m->card))
        return;
    cJSON *ev = sim__event_new(s, "notice");
    cJSON_AddStringToObject(ev, "notice_type", "group_card");
    cJSON_AddItemToObject(ev, "group_id", sim__id_json(g->group_id));
    cJSON_AddItemToObject(ev, "user_id", sim__id_json(m->user_id));
    cJSON_AddStringToObject(ev, "card_new", card);
    cJSON_AddStringToObject(ev, "card_old", m->card);
    free(m->card);
    m->card = strdup(card);
    sim__emit(s, ev);
}

static void api_set_group_special_title(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    struct sim_member *m = g ? need_member(g, p, r) : NULL;
    if (!m)
        return;
    if (strcmp(bot_of(s, g)->role, "owner")) {
        fail(r, 1200, "设置专属头衔失败: 只有群主可以设置 (only the group owner can set titles)");
        return;
    }
    const char *title = get_str(p, "special_title", "");
    free(m->title);
    m->title = strdup(title);
    cJSON *ev = sim__event_new(s, "notice");
    cJSON_AddStringToObject(ev, "notice_type", "notify");
    cJSON_AddStringToObject(ev, "sub_type", "title");
    cJSON_AddItemToObject(ev, "group_id", sim__id_json(g->group_id));
    cJSON_AddItemToObject(ev, "user_id", sim__id_json(m->user_id));
    cJSON_AddStringToObject(ev, "title", title);
    sim__emit(s, ev);
}

static struct sim_req *need_request(struct qb_sim *s, const cJSON *p, bool group, struct api_res *r)
{
    const char *flag = get_str(p, "flag", NULL);
    if (!flag) {
        fail(r, 1400, "参数错误: 缺少 flag (missing parameter flag)");
        return NULL;
    }
    struct sim_req *q = sim__req_find(s, flag);
    if (!q || q->group != group || q->checked) {
        fail(r, 1200, "请求 %s 不存在或已处理 (unknown or already handled request)", flag);
        return NULL;
    }
    return q;
}

static void api_set_group_add_request(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_req *q = need_request(s, p, true, r);
    if (!q)
        return;
    struct sim_group *g = sim__group(s, q->group_id);
    if (!g || !bot_of(s, g)) {
        fail(r, 1200, "机器人不在群 %s 中", q->group_id);
        return;
    }
    if (sim__role_rank(bot_of(s, g)->role) < 2) {
        fail(r, 1200, "处理加群请求失败: 权限不足, 机器人不是管理员 (the bot is not an admin)");
        return;
    }
    q->checked = true;
    if (!get_bool(p, "approve", true))
        return;
    if (sim__member(g, q->user_id))
        return;
    char nb[64];
    char *nick = strdup(sim__nickname(s, q->user_id, nb, sizeof nb));
    sim__member_add(g, q->user_id, nick, "member");
    free(nick);
    sim__emit_notice(s, "group_increase", "approve", g->group_id, q->user_id, s->self_id);
}

static void api_set_friend_add_request(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_req *q = need_request(s, p, false, r);
    if (!q)
        return;
    q->checked = true;
    if (get_bool(p, "approve", true))
        sim__emit_notice(s, "friend_add", NULL, NULL, q->user_id, NULL);
}

/* ---- information ---- */

static void api_get_login_info(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    (void)p;
    r->data = cJSON_CreateObject();
    cJSON_AddItemToObject(r->data, "user_id", sim__id_json(s->self_id));
    cJSON_AddStringToObject(r->data, "nickname", "qunbot");
}

static void api_get_status(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    (void)p;
    r->data = cJSON_CreateObject();
    cJSON_AddBoolToObject(r->data, "online", s->online);
    cJSON_AddBoolToObject(r->data, "good", true);
    cJSON_AddObjectToObject(r->data, "stat");
}

static void api_get_version_info(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    (void)s;
    (void)p;
    r->data = cJSON_CreateObject();
    cJSON_AddStringToObject(r->data, "app_name", "qunbot-sim");
    cJSON_AddStringToObject(r->data, "app_version", QB_VERSION);
    cJSON_AddStringToObject(r->data, "protocol_version", "v11");
}

static void api_get_group_list(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    (void)p;
    r->data = cJSON_CreateArray();
    for (size_t i = 0; i < s->ngroups; i++)
        if (bot_of(s, s->groups[i]))
            cJSON_AddItemToArray(r->data, sim__group_json(s->groups[i]));
}

static void api_get_group_info(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    if (g)
        r->data = sim__group_json(g);
}

static void api_get_group_member_list(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    if (!g)
        return;
    r->data = cJSON_CreateArray();
    for (size_t i = 0; i < g->nmembers; i++)
        cJSON_AddItemToArray(r->data, sim__member_json(g, g->members[i]));
}

static void api_get_group_member_info(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    struct sim_member *m = g ? need_member(g, p, r) : NULL;
    if (m)
        r->data = sim__member_json(g, m);
}

static void api_get_stranger_info(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    char uid[SIM_ID], nb[64];
    if (!need_id(p, "user_id", uid, r))
        return;
    r->data = cJSON_CreateObject();
    cJSON_AddItemToObject(r->data, "user_id", sim__id_json(uid));
    cJSON_AddStringToObject(r->data, "nickname", sim__nickname(s, uid, nb, sizeof nb));
    cJSON_AddStringToObject(r->data, "sex", "unknown");
    cJSON_AddNumberToObject(r->data, "age", 0);
}

static void api_get_group_msg_history(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    if (!g)
        return;
    int64_t count = 20, seq = 0;
    if (get_int(p, "count", &count) < 0 || get_int(p, "message_seq", &seq) < 0) {
        fail(r, 1400, "参数错误: count 和 message_seq 必须是整数");
        return;
    }
    if (count <= 0)
        count = 20;
    /* newest first while collecting, starting at message_seq when given */
    size_t n = 0, cap = (size_t)count;
    struct sim_msg **pick = calloc(cap, sizeof *pick);
    bool started = seq <= 0;
    for (size_t i = s->nmsgs; i-- > 0 && n < cap && pick;) {
        struct sim_msg *m = s->msgs[i];
        if (!m->group || strcmp(m->group_id, g->group_id))
            continue;
        if (!started && m->message_id == seq)
            started = true;
        if (started && !m->recalled)
            pick[n++] = m;
    }
    bool reverse = get_bool(p, "reverse_order", get_bool(p, "reverseOrder", false));
    r->data = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r->data, "messages");
    for (size_t k = 0; k < n; k++)
        cJSON_AddItemToArray(arr, sim__msg_json(s, pick[reverse ? k : n - 1 - k], "message"));
    free(pick);
}

static void api_get_group_at_all_remain(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    struct sim_group *g = need_group(s, p, r);
    if (!g)
        return;
    r->data = cJSON_CreateObject();
    cJSON_AddBoolToObject(r->data, "can_at_all", sim__role_rank(bot_of(s, g)->role) >= 2);
    cJSON_AddNumberToObject(r->data, "remain_at_all_count_for_group", g->at_all_group);
    cJSON_AddNumberToObject(r->data, "remain_at_all_count_for_uin", g->at_all_uin);
}

static void api_get_group_system_msg(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    (void)p;
    r->data = cJSON_CreateObject();
    cJSON_AddArrayToObject(r->data, "invited_requests");
    cJSON_AddArrayToObject(r->data, "InvitedRequest");
    cJSON *join = cJSON_AddArrayToObject(r->data, "join_requests");
    for (size_t i = 0; i < s->nreqs; i++) {
        const struct sim_req *q = s->reqs[i];
        if (!q->group)
            continue;
        struct sim_group *g = sim__group(s, q->group_id);
        char nb[64];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "request_id", (double)q->seq);
        cJSON_AddStringToObject(o, "flag", q->flag);
        cJSON_AddItemToObject(o, "requester_uin", sim__id_json(q->user_id));
        cJSON_AddStringToObject(o, "requester_nick", sim__nickname(s, q->user_id, nb, sizeof nb));
        cJSON_AddStringToObject(o, "message", q->comment);
        cJSON_AddItemToObject(o, "group_id", sim__id_json(q->group_id));
        cJSON_AddStringToObject(o, "group_name", g ? g->name : "");
        cJSON_AddBoolToObject(o, "checked", q->checked);
        cJSON_AddNumberToObject(o, "actor", q->checked ? strtod(s->self_id, NULL) : 0);
        cJSON_AddItemToArray(join, o);
    }
}

static void api_can_send(struct qb_sim *s, const cJSON *p, struct api_res *r)
{
    (void)s;
    (void)p;
    r->data = cJSON_CreateObject();
    cJSON_AddBoolToObject(r->data, "yes", true);
}

static const struct {
    const char *name;
    void (*fn)(struct qb_sim *, const cJSON *, struct api_res *);
} actions[] = {
        {"send_group_msg", api_send_group_msg},
        {"send_private_msg", api_send_private_msg},
        {"send_msg", api_send_msg},
        {"delete_msg", api_delete_msg},
        {"get_msg", api_get_msg},
        {"set_group_ban", api_set_group_ban},
        {"set_group_whole_ban", api_set_group_whole_ban},
        {"set_group_kick", api_set_group_kick},
        {"set_group_card", api_set_group_card},
        {"set_group_special_title", api_set_group_special_title},
        {"set_group_add_request", api_set_group_add_request},
        {"set_friend_add_request", api_set_friend_add_request},
        {"get_login_info", api_get_login_info},
        {"get_status", api_get_status},
        {"get_version_info", api_get_version_info},
        {"get_group_list", api_get_group_list},
        {"get_group_info", api_get_group_info},
        {"get_group_member_list", api_get_group_member_list},
        {"get_group_member_info", api_get_group_member_info},
        {"get_stranger_info", api_get_stranger_info},
        {"get_group_msg_history", api_get_group_msg_history},
        {"get_group_at_all_remain", api_get_group_at_all_remain},
        {"get_group_system_msg", api_get_group_system_msg},
        {"can_send_image", api_can_send},
        {"can_send_record", api_can_send},
};

static void reply(struct sim_conn *c, const struct api_res *r, const cJSON *echo)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", r->retcode ? "failed" : "ok");
    cJSON_AddNumberToObject(o, "retcode", r->retcode);
    cJSON_AddItemToObject(o, "data", r->data ? r->data : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "message", r->msg);
    cJSON_AddStringToObject(o, "wording", r->msg);
    cJSON_AddItemToObject(o, "echo", echo ? cJSON_Duplicate(echo, true) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "stream", "normal-action");
    char *p = cJSON_PrintUnformatted(o);
    if (p)
        sim__conn_send(c, p, strlen(p));
    cJSON_free(p);
    cJSON_Delete(o); /* frees r->data too */
}

/* NapCat registers "_async" and "_rate_limited" as plain aliases. */
static void base_action(const char *action, char *out, size_t len)
{
    qb_strlcpy(out, action, len);
    size_t n = strlen(out);
    static const char *suffixes[] = {"_async", "_rate_limited"};
    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && !strcmp(out + n - k, suffixes[i]))
            out[n - k] = '\0';
    }
}

static void dispatch(struct qb_sim *s, struct sim_conn *c, const char *action, const cJSON *params,
                     const cJSON *echo)
{
    struct api_res r = {0};
    struct qb_sim_call *call = sim__call_record(s, action, echo, params);
    int kind = sim__fault_take(s, action, &r.retcode, r.msg, sizeof r.msg);
    if (kind == SIM_FAULT_HANG)
        return; /* like NapCat#1729: never answers */
    if (kind == SIM_FAULT_FAIL) {
        if (!r.retcode)
            r.retcode = 1200;
    } else {
        char name[64];
        base_action(action, name, sizeof name);
        size_t i = 0;
        while (i < sizeof actions / sizeof actions[0] && strcmp(actions[i].name, name))
            i++;
        if (i == sizeof actions / sizeof actions[0])
            fail(&r, 1404, "不支持的API %s", action);
        else
            actions[i].fn(s, params, &r);
    }
    reply(c, &r, echo);
    if (call)
        call->answered = true;
}

void sim__handle_frame(struct qb_sim *s, struct sim_conn *c, const char *data, size_t len)
{
    struct api_res r = {0};
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(root)) {
        fail(&r, 1400, "json解析失败,请检查数据格式");
        reply(c, &r, NULL);
        cJSON_Delete(root);
        return;
    }
    const cJSON *echo = cJSON_GetObjectItem(root, "echo");
    const char *action = cJSON_GetStringValue(cJSON_GetObjectItem(root, "action"));
    const cJSON *params = cJSON_GetObjectItem(root, "params");
    if (!action || !*action) {
        fail(&r, 1400, "参数错误: 缺少 action (missing action)");
        reply(c, &r, echo);
    } else if (params && !cJSON_IsObject(params) && !cJSON_IsNull(params)) {
        fail(&r, 1400, "参数错误: params 必须是对象 (params must be an object)");
        reply(c, &r, echo);
    } else {
        cJSON *empty = NULL;
        if (!cJSON_IsObject(params))
            params = empty = cJSON_CreateObject();
        dispatch(s, c, action, params, echo);
        cJSON_Delete(empty);
    }
    cJSON_Delete(root);
}
