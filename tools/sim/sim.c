/*
 * sim.c — qunbot-sim's public face (sim.h): creating and freeing a simulator, building the
 * world, injecting what members do (messages, joins, leaves, requests, recalls) as
 * NapCat-shaped events, recording API calls, and the fault switches.
 * Owns the struct qb_sim; networking lives in sim_net.c, actions in sim_api.c, scripts in
 * sim_script.c, the demo community in sim_demo.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define SIM_BOT_NICK "qunbot"

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        qb_strlcpy(err, msg, errlen);
}

struct qb_sim *qb_sim_new(const struct qb_sim_opts *o, char *err, size_t errlen)
{
    char ebuf[300] = "";
    if (!o || !o->loop) {
        set_err(err, errlen, "no event loop given to the simulator");
        return NULL;
    }
    struct qb_sim *s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = o->loop;
    s->listen_host = strdup(qb_str_empty(o->listen_host) ? "127.0.0.1" : o->listen_host);
    s->port = o->port;
    s->listen = o->port >= 0;
    s->reverse_url = qb_str_empty(o->reverse_url) ? NULL : strdup(o->reverse_url);
    s->reconnect_ms = o->reconnect_ms > 0 ? o->reconnect_ms : 3000;
    s->token = qb_str_empty(o->token) ? NULL : strdup(o->token);
    s->self_id = strdup(qb_str_empty(o->self_id) ? "10001" : o->self_id);
    s->heartbeat_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms : 0;
    s->auth_style = o->auth_style;
    s->report_self = o->report_self;
    s->string_format = o->string_format;
    s->transcript = o->transcript;
    s->tls_cert = o->tls_cert ? strdup(o->tls_cert) : NULL;
    s->tls_key = o->tls_key ? strdup(o->tls_key) : NULL;
    s->media_dir = qb_str_empty(o->media_dir) ? NULL : strdup(o->media_dir);
    s->online = true;
    s->rng = o->seed ? o->seed : 0x9E3779B97F4A7C15ULL;
    s->next_msg_id = 1000001;
    s->next_user = 3000000001LL;
    ev_init(&s->chatter, NULL);
    sim__net_init(s);
    if (strlen(s->self_id) >= SIM_ID) {
        set_err(err, errlen, "the bot account's QQ number (self_id) is too long");
        qb_sim_free(s);
        return NULL;
    }
    if ((s->reverse_url && sim__parse_reverse_url(s, ebuf, sizeof ebuf)) ||
        sim__net_start(s, ebuf, sizeof ebuf)) {
        set_err(err, errlen, ebuf);
        qb_sim_free(s);
        return NULL;
    }
    return s;
}

static void calls_free(struct qb_sim *s)
{
    for (size_t i = 0; i < s->ncalls; i++) {
        free(s->calls[i]->params);
        free(s->calls[i]);
    }
    free(s->calls);
    s->calls = NULL;
    s->ncalls = 0;
}

void qb_sim_free(struct qb_sim *s)
{
    if (!s)
        return;
    ev_timer_stop(s->loop, &s->chatter);
    sim__script_free(s->script);
    s->script = NULL;
    sim__net_stop(s);
    sim__world_free(s);
    calls_free(s);
    for (size_t i = 0; i < s->nfaults; i++)
        free(s->faults[i].message);
    free(s->faults);
    free(s->listen_host);
    free(s->reverse_url);
    free(s->token);
    free(s->self_id);
    free(s->tls_cert);
    free(s->tls_key);
    free(s->media_dir);
    free(s);
}

int qb_sim_port(struct qb_sim *s)
{
    return s && s->listen ? s->port : -1;
}

/* ---- world ---- */

int qb_sim_add_group(struct qb_sim *s, const char *group_id, const char *name)
{
    if (qb_str_empty(group_id) || strlen(group_id) >= SIM_ID)
        return QB_EINVAL;
    struct sim_group *g = sim__group(s, group_id);
    if (!g) {
        struct sim_group **arr = realloc(s->groups, (s->ngroups + 1) * sizeof *s->groups);
        if (!arr)
            return QB_ENOMEM;
        s->groups = arr;
        g = calloc(1, sizeof *g);
        if (!g)
            return QB_ENOMEM;
        qb_strlcpy(g->group_id, group_id, sizeof g->group_id);
        g->at_all_group = 20;
        g->at_all_uin = 10;
        s->groups[s->ngroups++] = g;
        if (!sim__member_add(g, s->self_id, SIM_BOT_NICK, "admin"))
            return QB_ENOMEM;
    }
    free(g->name);
    g->name = strdup(name ? name : "");
    return g->name ? QB_OK : QB_ENOMEM;
}

static bool valid_role(const char *role)
{
    return role && (!strcmp(role, "owner") || !strcmp(role, "admin") || !strcmp(role, "member"));
}

int qb_sim_add_member(struct qb_sim *s, const char *group_id, const char *user_id,
                      const char *nickname, const char *role)
{
    struct sim_group *g = sim__group(s, group_id);
    if (!g)
        return QB_ENOENT;
    if (!role)
        role = "member";
    if (qb_str_empty(user_id) || strlen(user_id) >= SIM_ID || !valid_role(role))
        return QB_EINVAL;
    if (!strcmp(role, "owner")) /* a group has one owner */
        for (size_t i = 0; i < g->nmembers; i++)
            if (!strcmp(g->members[i]->role, "owner"))
                qb_strlcpy(g->members[i]->role, "member", sizeof g->members[i]->role);
    return sim__member_add(g, user_id, nickname, role) ? QB_OK : QB_ENOMEM;
}

/* ---- events ---- */

static int64_t now_s(void)
{
    return qb_clock_now() / 1000;
}

static bool member_may_speak(const struct sim_group *g, const struct sim_member *m)
{
    if (m->muted_until > now_s())
        return false;
    return !g->whole_ban || sim__role_rank(m->role) >= 2;
}

int64_t qb_sim_group_msg(struct qb_sim *s, const char *group_id, const char *user_id,
                         const char *text)
{
    struct sim_group *g = sim__group(s, group_id);
    struct sim_member *m = sim__member(g, user_id);
    if (!text)
        return QB_EINVAL;
    if (!m)
        return QB_ENOENT;
    if (!member_may_speak(g, m))
        return QB_EDENIED;
    struct sim_msg *msg = sim__msg_store(s, true, group_id, user_id, NULL, sim__text_segments(text),
                                         sim__cq_escape(text, false), false);
    if (!msg)
        return QB_ENOMEM;
    sim__emit(s, sim__msg_json(s, msg, "message"));
    return msg->message_id;
}

int64_t qb_sim_group_image(struct qb_sim *s, const char *group_id, const char *user_id,
                           const char *url, const char *text)
{
    struct sim_group *g = sim__group(s, group_id);
    struct sim_member *m = sim__member(g, user_id);
    if (!url)
        return QB_EINVAL;
    if (!m)
        return QB_ENOENT;
    if (!member_may_speak(g, m))
        return QB_EDENIED;
    cJSON *segs = text ? sim__text_segments(text) : cJSON_CreateArray();
    cJSON *seg = cJSON_CreateObject();
    cJSON_AddStringToObject(seg, "type", "image");
    cJSON *data = cJSON_AddObjectToObject(seg, "data");
    cJSON_AddStringToObject(data, "file", "picture.png");
    cJSON_AddStringToObject(data, "url", url);
    cJSON_AddNumberToObject(data, "sub_type", 0);
    cJSON_AddItemToArray(segs, seg);
    struct sim_msg *msg = sim__msg_store(s, true, group_id, user_id, NULL, segs,
                                         sim__cq_escape(text ? text : "", false), false);
    if (!msg)
        return QB_ENOMEM;
    sim__emit(s, sim__msg_json(s, msg, "message"));
    return msg->message_id;
}

int64_t qb_sim_private_msg(struct qb_sim *s, const char *user_id, const char *text)
{
    if (!text || qb_str_empty(user_id) || strlen(user_id) >= SIM_ID)
        return QB_EINVAL;
    struct sim_msg *msg =
            sim__msg_store(s, false, NULL, user_id, s->self_id, sim__text_segments(text),
                           sim__cq_escape(text, false), false);
    if (!msg)
        return QB_ENOMEM;
    sim__emit(s, sim__msg_json(s, msg, "message"));
    return msg->message_id;
}

/* The owner's id (or an admin's, or the bot's) to use as a default operator. */
static const char *default_operator(struct qb_sim *s, struct sim_group *g)
{
    const char *best = s->self_id;
    int rank = 0;
    for (size_t i = 0; i < g->nmembers; i++) {
        int r = sim__role_rank(g->members[i]->role);
        if (r >= 2 && r > rank && strcmp(g->members[i]->user_id, s->self_id)) {
            best = g->members[i]->user_id;
            rank = r;
        }
    }
    return best;
}

static cJSON *notice_new(struct qb_sim *s, const char *type, const char *sub_type,
                         const char *group_id, const char *user_id)
{
    cJSON *ev = sim__event_new(s, "notice");
    cJSON_AddStringToObject(ev, "notice_type", type);
    if (sub_type)
        cJSON_AddStringToObject(ev, "sub_type", sub_type);
    if (group_id)
        cJSON_AddItemToObject(ev, "group_id", sim__id_json(group_id));
    if (user_id)
        cJSON_AddItemToObject(ev, "user_id", sim__id_json(user_id));
    return ev;
}

void sim__emit_notice(struct qb_sim *s, const char *type, const char *sub_type,
                      const char *group_id, const char *user_id, const char *operator_id)
{
    cJSON *ev = notice_new(s, type, sub_type, group_id, user_id);
    if (operator_id)
        cJSON_AddItemToObject(ev, "operator_id", sim__id_json(operator_id));
    sim__emit(s, ev);
}

int qb_sim_member_join(struct qb_sim *s, const char *group_id, const char *user_id,
                       const char *sub_type, const char *operator_id)
{
    struct sim_group *g = sim__group(s, group_id);
    if (!g)
        return QB_ENOENT;
    if (qb_str_empty(sub_type))
        sub_type = "approve";
    if ((strcmp(sub_type, "approve") && strcmp(sub_type, "invite")) || qb_str_empty(user_id) ||
        strlen(user_id) >= SIM_ID)
        return QB_EINVAL;
    if (sim__member(g, user_id))
        return QB_EEXIST;
    char nb[64];
    const char *nick = sim__nickname(s, user_id, nb, sizeof nb);
    char *nick_copy = strdup(nick);
    struct sim_member *m = sim__member_add(g, user_id, nick_copy, "member");
    free(nick_copy);
    if (!m)
        return QB_ENOMEM;
    if (qb_str_empty(operator_id))
        operator_id = default_operator(s, g);
    sim__emit_notice(s, "group_increase", sub_type, group_id, user_id, operator_id);
    return QB_OK;
}

int qb_sim_member_leave(struct qb_sim *s, const char *group_id, const char *user_id,
                        const char *sub_type, const char *operator_id)
{
    struct sim_group *g = sim__group(s, group_id);
    if (!g || !sim__member(g, user_id))
        return QB_ENOENT;
    if (qb_str_empty(sub_type))
        sub_type = "leave";
    if (strcmp(sub_type, "leave") && strcmp(sub_type, "kick") && strcmp(sub_type, "kick_me"))
        return QB_EINVAL;
    if (!strcmp(sub_type, "kick_me") && strcmp(user_id, s->self_id))
        return QB_EINVAL;
    char op[SIM_ID];
    if (!strcmp(sub_type, "leave"))
        operator_id = user_id;
    else if (qb_str_empty(operator_id))
        operator_id = default_operator(s, g);
    qb_strlcpy(op, operator_id, sizeof op);
    char uid[SIM_ID];
    qb_strlcpy(uid, user_id, sizeof uid);
    sim__member_remove(g, uid);
    sim__emit_notice(s, "group_decrease", sub_type, group_id, uid, op);
    return QB_OK;
}

static void emit_request(struct qb_sim *s, const struct sim_req *r)
{
    cJSON *ev = sim__event_new(s, "request");
    cJSON_AddStringToObject(ev, "request_type", r->group ? "group" : "friend");
    if (r->group) {
        cJSON_AddStringToObject(ev, "sub_type", "add");
        cJSON_AddItemToObject(ev, "group_id", sim__id_json(r->group_id));
    }
    cJSON_AddItemToObject(ev, "user_id", sim__id_json(r->user_id));
    cJSON_AddStringToObject(ev, "comment", r->comment);
    cJSON_AddStringToObject(ev, "flag", r->flag);
    sim__emit(s, ev);
}

int qb_sim_join_request(struct qb_sim *s, const char *group_id, const char *user_id,
                        const char *comment)
{
    struct sim_group *g = sim__group(s, group_id);
    if (!g)
        return QB_ENOENT;
    if (qb_str_empty(user_id) || strlen(user_id) >= SIM_ID)
        return QB_EINVAL;
    if (sim__member(g, user_id))
        return QB_EEXIST;
    struct sim_req *r = sim__req_add(s, true, group_id, user_id, comment);
    if (!r)
        return QB_ENOMEM;
    emit_request(s, r);
    return QB_OK;
}

int sim__friend_request(struct qb_sim *s, const char *user_id, const char *comment)
{
    if (qb_str_empty(user_id) || strlen(user_id) >= SIM_ID)
        return QB_EINVAL;
    struct sim_req *r = sim__req_add(s, false, NULL, user_id, comment);
    if (!r)
        return QB_ENOMEM;
    emit_request(s, r);
    return QB_OK;
}

void sim__do_recall(struct qb_sim *s, struct sim_msg *m, const char *operator_id)
{
    m->recalled = true;
    cJSON *ev;
    if (m->group) {
        ev = notice_new(s, "group_recall", NULL, m->group_id, m->user_id);
        cJSON_AddItemToObject(ev, "operator_id", sim__id_json(operator_id));
    } else {
        ev = notice_new(s, "friend_recall", NULL, NULL, m->user_id);
    }
    cJSON_AddNumberToObject(ev, "message_id", (double)m->message_id);
    sim__emit(s, ev);
}

int qb_sim_recall(struct qb_sim *s, const char *group_id, const char *user_id, int64_t message_id,
                  const char *operator_id)
{
    struct sim_msg *m = NULL;
    if (message_id > 0) {
        m = sim__msg_find(s, message_id);
    } else {
        for (size_t i = s->nmsgs; i-- > 0 && !m;) {
            struct sim_msg *c = s->msgs[i];
            if (c->group && !c->recalled && !strcmp(c->group_id, group_id ? group_id : "") &&
                !strcmp(c->user_id, user_id ? user_id : ""))
                m = c;
        }
    }
    if (!m || m->recalled || !m->group || strcmp(m->group_id, group_id ? group_id : ""))
        return QB_ENOENT;
    sim__do_recall(s, m, qb_str_empty(operator_id) ? m->user_id : operator_id);
    return QB_OK;
}

int qb_sim_send_raw(struct qb_sim *s, const char *frame, size_t len)
{
    if (!frame)
        return QB_EINVAL;
    sim__broadcast(s, frame, len);
    return QB_OK;
}

/* ---- observation ---- */

struct qb_sim_call *sim__call_record(struct qb_sim *s, const char *action, const cJSON *echo,
                                     const cJSON *params)
{
    if (s->ncalls == s->ccap) {
        size_t cap = s->ccap ? s->ccap * 2 : 64;
        struct qb_sim_call **arr = realloc(s->calls, cap * sizeof *arr);
        if (!arr)
            return NULL;
        s->calls = arr;
        s->ccap = cap;
    }
    struct qb_sim_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    qb_strlcpy(c->action, action, sizeof c->action);
    if (cJSON_IsString(echo)) {
        qb_strlcpy(c->echo, echo->valuestring, sizeof c->echo);
    } else if (echo && !cJSON_IsNull(echo)) {
        char *p = cJSON_PrintUnformatted(echo);
        qb_strlcpy(c->echo, p ? p : "", sizeof c->echo);
        cJSON_free(p);
    }
    char *p = params ? cJSON_PrintUnformatted(params) : NULL;
    c->params = strdup(p ? p : "{}");
    cJSON_free(p);
    c->at_ms = qb_clock_now();
    s->calls[s->ncalls++] = c;
    return c;
}

size_t qb_sim_ncalls(struct qb_sim *s)
{
    return s->ncalls;
}

const struct qb_sim_call *qb_sim_call_at(struct qb_sim *s, size_t i)
{
    return i < s->ncalls ? s->calls[i] : NULL;
}

size_t qb_sim_count(struct qb_sim *s, const char *action)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ncalls; i++)
        if (!action || !strcmp(s->calls[i]->action, action))
            n++;
    return n;
}

long qb_sim_find(struct qb_sim *s, size_t from, const char *action, const char *needle)
{
    for (size_t i = from; i < s->ncalls; i++) {
        const struct qb_sim_call *c = s->calls[i];
        if ((!action || !strcmp(c->action, action)) && (!needle || strstr(c->params, needle)))
            return (long)i;
    }
    return -1;
}

int qb_sim_connections(struct qb_sim *s)
{
    int n = 0;
    for (struct sim_conn *c = s->conns; c; c = c->next)
        if (!c->dead && !c->refused)
            n++;
    return n;
}

int qb_sim_connects_total(struct qb_sim *s)
{
    return s->connects_total;
}

/* ---- faults ---- */

void qb_sim_drop_connections(struct qb_sim *s)
{
    for (struct sim_conn *c = s->conns; c; c = c->next) {
        if (c->dead)
            continue;
        c->dead = true;
        /* the WRITEABLE callback closes it at once; the timeout is a backstop */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        lws_callback_on_writable(c->wsi);
    }
}

void qb_sim_stop(struct qb_sim *s)
{
    sim__net_stop(s);
}

int qb_sim_start(struct qb_sim *s)
{
    char err[300];
    int rc = sim__net_start(s, err, sizeof err);
    if (rc)
        qb_log(QB_LOG_ERROR, "qunbot-sim: %s", err);
    return rc;
}

static void set_fault(struct qb_sim *s, const char *action, bool hang, int retcode,
                      const char *message, int n)
{
    if (!action)
        return;
    for (size_t i = 0; i < s->nfaults; i++) {
        struct sim_fault *f = &s->faults[i];
        if (f->hang != hang || strcmp(f->action, action))
            continue;
        if (!n) {
            free(f->message);
            s->faults[i] = s->faults[--s->nfaults];
            return;
        }
        f->retcode = retcode;
        f->n = n;
        free(f->message);
        f->message = qb_strdup(message);
        return;
    }
    if (!n)
        return;
    struct sim_fault *arr = realloc(s->faults, (s->nfaults + 1) * sizeof *arr);
    if (!arr)
        return;
    s->faults = arr;
    struct sim_fault *f = &s->faults[s->nfaults++];
    memset(f, 0, sizeof *f);
    qb_strlcpy(f->action, action, sizeof f->action);
    f->hang = hang;
    f->retcode = retcode;
    f->n = n;
    f->message = qb_strdup(message ? message : "");
}

void qb_sim_fail_action(struct qb_sim *s, const char *action, int retcode, const char *message,
                        int n)
{
    set_fault(s, action, false, retcode, message, n);
}

void qb_sim_hang_action(struct qb_sim *s, const char *action, int n)
{
    set_fault(s, action, true, 0, NULL, n);
}

int sim__fault_take(struct qb_sim *s, const char *action, int *retcode, char *msg, size_t msglen)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < s->nfaults; i++) {
            struct sim_fault *f = &s->faults[i];
            if (f->hang != (pass == 0) || strcmp(f->action, action))
                continue;
            int kind = f->hang ? SIM_FAULT_HANG : SIM_FAULT_FAIL;
            *retcode = f->retcode;
            qb_strlcpy(msg, f->message ? f->message : "", msglen);
            if (f->n > 0 && --f->n == 0) {
                free(f->message);
                s->faults[i] = s->faults[--s->nfaults];
            }
            return kind;
        }
    }
    return SIM_FAULT_NONE;
}

void qb_sim_set_online(struct qb_sim *s, bool online)
{
    s->online = online;
}
