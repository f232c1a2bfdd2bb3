/*
 * outbox.c — actions on their way to the platform: the per-account queue (moderation
 * ahead of chatter), pacing (account interval with jitter, per-group token buckets),
 * echo matching with deadlines, and the interaction log of every action and result.
 *
 * Rules kept here: nothing queued is dropped silently (the queue waits while the
 * account is offline; leftovers at shutdown are logged); a call whose socket drops
 * completes at once with QB_EDISCONNECTED; nothing is ever resent blindly; a burst of
 * send timeouts (NapCat retcode 1200) pauses the account and alerts the superusers.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "storage.h"

#define TIMEOUT_WINDOW_MS 60000

static bool is_query(enum qb_action_kind k)
{
    return k == QB_ACT_GET_STATUS || k == QB_ACT_GET_LOGIN || k == QB_ACT_GET_HISTORY ||
           k == QB_ACT_GET_MEMBER;
}

static bool is_moderation(enum qb_action_kind k)
{
    return k == QB_ACT_RECALL || k == QB_ACT_MUTE || k == QB_ACT_MUTE_ALL || k == QB_ACT_KICK ||
           k == QB_ACT_HANDLE_REQUEST;
}

static bool has_media(const struct qb_action *a)
{
    for (size_t i = 0; i < a->msg.n; i++) {
        enum qb_seg_type t = a->msg.segs[i].type;
        if (t == QB_SEG_IMAGE || t == QB_SEG_RECORD || t == QB_SEG_VIDEO || t == QB_SEG_FILE)
            return true;
    }
    return false;
}

/* ---- the interaction log ---- */

static const char *ctx_name(const struct qb_ctx *c)
{
    return c && c->plugin ? c->plugin->name : "core";
}

static void log_action(struct qb_account *acc, const struct qb_ctx *ctx, const struct qb_action *a,
                       const char *echo, const char *dropped)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "plugin", ctx_name(ctx));
    if (echo)
        cJSON_AddStringToObject(d, "echo", echo);
    if (a->reason)
        cJSON_AddStringToObject(d, "reason", a->reason);
    if (a->kind == QB_ACT_MUTE)
        cJSON_AddNumberToObject(d, "duration_s", (double)a->duration_s);
    if (dropped)
        cJSON_AddStringToObject(d, "dropped", dropped);
    char *details = cJSON_PrintUnformatted(d);
    struct qb_logrec r = {
            .time_ms = qb_clock_now(),
            .direction = "out",
            .platform = acc->ad->platform,
            .self_id = acc->self_id,
            .group_id = a->group_id,
            .user_id = a->user_id,
            .kind = qb_action_kind_name(a->kind),
            .message_id = a->message_id,
            .text = a->msg.plain && a->msg.plain[0] ? a->msg.plain : a->text,
            .details = details,
    };
    qb_store_log(acc->bot->store, &r);
    cJSON_free(details);
    cJSON_Delete(d);
}

static void log_result(struct qb_account *acc, const struct qb_pending *p,
                       const struct qb_result *res)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "plugin", ctx_name(p->ctx));
    cJSON_AddStringToObject(d, "echo", p->echo);
    cJSON_AddBoolToObject(d, "ok", res->err == QB_OK);
    cJSON_AddNumberToObject(d, "retcode", res->retcode);
    if (res->err != QB_OK)
        cJSON_AddStringToObject(d, "error", qb_strerror(res->err));
    if (res->detail && res->detail[0])
        cJSON_AddStringToObject(d, "detail", res->detail);
    char *details = cJSON_PrintUnformatted(d);
    struct qb_logrec r = {
            .time_ms = qb_clock_now(),
            .direction = "result",
            .platform = acc->ad->platform,
            .self_id = acc->self_id,
            .group_id = p->a->group_id,
            .user_id = p->a->user_id,
            .kind = qb_action_kind_name(p->a->kind),
            .message_id = res->message_id[0] ? res->message_id : p->a->message_id,
            .details = details,
    };
    qb_store_log(acc->bot->store, &r);
    cJSON_free(details);
    cJSON_Delete(d);
}

/* ---- completing calls ---- */

/* A plugin that has shut down gets no more callbacks. */
static bool callable(const struct qb_ctx *c)
{
    return c && (!c->plugin || c->inited);
}

static void alert_superusers(struct qb_account *acc, const char *text)
{
    const struct qb_strlist *su = &acc->bot->cfg->superusers;
    for (size_t i = 0; i < su->n; i++) {
        struct qb_action *a = qb_action_new(QB_ACT_SEND);
        if (!a)
            return;
        a->chat = QB_CHAT_PRIVATE;
        qb_id_set(a->user_id, su->v[i]);
        qb_msg_text(&a->msg, text);
        qb_msg_finish(&a->msg);
        a->reason = qb_strdup("alert");
        qb_outbox_call(&acc->bot->core, acc, a, NULL, NULL);
    }
}

/* NapCat answers retcode 1200 ("Timeout: NTEvent ... sendMsg") when QQ never confirmed
 * a send — usually risk control. A burst of them pauses the account. */
static void note_send_timeout(struct qb_account *acc)
{
    const struct qb_config *cfg = acc->bot->cfg;
    int64_t now = qb_clock_now();
    size_t n = sizeof acc->recent_timeouts / sizeof acc->recent_timeouts[0];
    memmove(acc->recent_timeouts + 1, acc->recent_timeouts, (n - 1) * sizeof(int64_t));
    acc->recent_timeouts[0] = now;
    int burst = cfg->rate.timeout_burst > 0 ? cfg->rate.timeout_burst : 3;
    if ((size_t)burst > n)
        burst = (int)n;
    if (now - acc->recent_timeouts[burst - 1] > TIMEOUT_WINDOW_MS || now < acc->paused_until_ms)
        return;
    acc->paused_until_ms = now + cfg->rate.timeout_backoff_ms;
    memset(acc->recent_timeouts, 0, sizeof acc->recent_timeouts);
    qb_log(QB_LOG_ERROR,
           "account %s: %d sends timed out within a minute (QQ risk control?); pausing sends "
           "for %llds",
           acc->cfg->name, burst, (long long)(cfg->rate.timeout_backoff_ms / 1000));
    char text[300];
    snprintf(text, sizeof text,
             "[qunbot] 账号 %s 一分钟内 %d 次发送超时（可能触发了风控），已暂停发送 %lld 分钟。"
             "排队的消息会在之后继续发送。",
             acc->cfg->name, burst, (long long)(cfg->rate.timeout_backoff_ms / 60000));
    alert_superusers(acc, text);
}

static void complete(struct qb_account *acc, struct qb_pending *p, struct qb_result *res)
{
    struct qb_bot *b = acc->bot;
    log_result(acc, p, res);
    if (res->err != QB_OK)
        b->stats.actions_failed++;
    if (p->a->kind == QB_ACT_SEND && (res->err == QB_ETIMEDOUT || res->retcode == 1200))
        note_send_timeout(acc);
    if (res->err != QB_OK && p->ctx == &b->core && p->a->kind != QB_ACT_GET_STATUS)
        qb_log(QB_LOG_DEBUG, "account %s: %s failed: %s %s", acc->cfg->name,
               qb_action_kind_name(p->a->kind), qb_strerror(res->err), res->detail);
    if (p->cb && callable(p->ctx))
        p->cb(p->ctx, res, p->ud);
    qb_action_free(p->a);
    free(p);
}

static void fail_now(struct qb_account *acc, struct qb_pending *p, int err)
{
    struct qb_result res = {.err = err, .retcode = -1, .detail = ""};
    complete(acc, p, &res);
}

static struct qb_pending *unlink_where(struct qb_account *acc,
                                       bool (*match)(const struct qb_pending *, const void *),
                                       const void *arg)
{
    struct qb_pending *out = NULL, **pp = &acc->pending;
    while (*pp) {
        struct qb_pending *p = *pp;
        if (match(p, arg)) {
            *pp = p->next;
            p->next = out;
            out = p;
        } else {
            pp = &p->next;
        }
    }
    return out;
}

static bool on_conn(const struct qb_pending *p, const void *conn)
{
    return p->conn == conn;
}

static bool expired(const struct qb_pending *p, const void *mono)
{
    return p->deadline <= *(const double *)mono;
}

void qb_outbox_fail_conn(struct qb_account *acc, struct qb_conn *c, int err)
{
    struct qb_pending *list = unlink_where(acc, on_conn, c);
    while (list) {
        struct qb_pending *p = list;
        list = p->next;
        fail_now(acc, p, err);
    }
}

void qb_outbox_expire(struct qb_account *acc, double mono)
{
    struct qb_pending *list = unlink_where(acc, expired, &mono);
    while (list) {
        struct qb_pending *p = list;
        list = p->next;
        if (p->a->kind != QB_ACT_GET_STATUS)
            qb_log(QB_LOG_WARN,
                   "account %s: %s got no answer in time; not resending (it may have been done)",
                   acc->cfg->name, qb_action_kind_name(p->a->kind));
        fail_now(acc, p, QB_ETIMEDOUT);
    }
}

void qb_outbox_on_response(struct qb_account *acc, struct qb_frame *f)
{
    struct qb_pending **pp = &acc->pending;
    while (*pp && strcmp((*pp)->echo, f->echo))
        pp = &(*pp)->next;
    if (!*pp) {
        qb_log(QB_LOG_DEBUG, "account %s: dropped an answer to an unknown call (echo '%s')",
               acc->cfg->name, f->echo);
        return;
    }
    struct qb_pending *p = *pp;
    *pp = p->next;
    struct qb_member_info mi;
    struct qb_result res;
    memset(&mi, 0, sizeof mi);
    memset(&res, 0, sizeof res);
    res.detail = "";
    acc->ad->result(p->a, f, &res, &mi);
    if (p->a->kind == QB_ACT_GET_HISTORY && res.err == QB_OK)
        qb_account_ingest_history(acc, f);
    if (p->a->kind == QB_ACT_GET_LOGIN && res.err == QB_OK && !acc->self_id[0] && res.member)
        qb_id_set(acc->self_id, res.member->user_id);
    complete(acc, p, &res);
}

/* ---- sending ---- */

int qb_outbox_call(struct qb_ctx *ctx, struct qb_account *acc, struct qb_action *a, qb_action_cb cb,
                   void *ud)
{
    struct qb_bot *b = acc->bot;
    struct qb_pending *p = calloc(1, sizeof *p);
    if (!p) {
        qb_action_free(a);
        return QB_ENOMEM;
    }
    p->a = a;
    p->cb = cb;
    p->ud = ud;
    p->ctx = ctx;
    snprintf(p->echo, sizeof p->echo, "%llu", (unsigned long long)++b->echo_counter);
    if (!a->self_id[0])
        qb_id_set(a->self_id, acc->self_id);

    int err = QB_OK;
    char *frame = acc->ad->format(a, p->echo, &err);
    struct qb_conn *c = qb_account_api_conn(acc);
    if (!frame) {
        qb_log(QB_LOG_WARN, "account %s: cannot send %s: %s", acc->cfg->name,
               qb_action_kind_name(a->kind), qb_strerror(err));
        fail_now(acc, p, err ? err : QB_EINVAL);
        return err ? err : QB_EINVAL;
    }
    if (!c) {
        free(frame);
        fail_now(acc, p, QB_EDISCONNECTED);
        return QB_EDISCONNECTED;
    }
    int64_t timeout = a->timeout_ms > 0 ? a->timeout_ms
                      : has_media(a)    ? acc->cfg->media_timeout_ms
                                        : acc->cfg->api_timeout_ms;
    p->deadline = qb_clock_mono() + (double)timeout / 1000.0;
    p->conn = c;
    if (!is_query(a->kind)) {
        log_action(acc, ctx, a, p->echo, NULL);
        b->stats.actions_out++;
    }
    int rc = qb_conn_send(c, frame, strlen(frame));
    free(frame);
    if (rc != QB_OK) {
        fail_now(acc, p, rc);
        return rc;
    }
    p->next = acc->pending;
    acc->pending = p;
    return QB_OK;
}

static void enqueue(struct qb_account *acc, struct qb_outitem *it)
{
    bool hi = is_moderation(it->a->kind);
    struct qb_outitem **head = hi ? &acc->hi : &acc->lo,
                      **tail = hi ? &acc->hi_tail : &acc->lo_tail;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
    acc->queued++;
    acc->bot->stats.queued++;
}

static struct qb_account *route(struct qb_bot *b, const char *self_id)
{
    return qb_bot_account(b, self_id);
}

int qb_outbox_submit(struct qb_ctx *ctx, struct qb_action *a, qb_action_cb cb, void *ud)
{
    struct qb_account *acc = route(ctx->bot, a->self_id);
    if (!acc) {
        qb_log(QB_LOG_WARN, "%s: no account '%s' to send %s from", ctx_name(ctx), a->self_id,
               qb_action_kind_name(a->kind));
        qb_action_free(a);
        return QB_ENOENT;
    }
    if (a->kind == QB_ACT_SEND) {
        bool to_group = a->chat == QB_CHAT_GROUP && a->group_id[0];
        bool to_user = a->chat == QB_CHAT_PRIVATE && a->user_id[0];
        if ((!to_group && !to_user) || a->msg.n == 0) {
            qb_action_free(a);
            return QB_EINVAL;
        }
        if (!a->msg.plain)
            qb_msg_finish(&a->msg);
    }
    if (is_query(a->kind) && qb_account_connected(acc))
        return qb_outbox_call(ctx, acc, a, cb, ud);
    struct qb_outitem *it = calloc(1, sizeof *it);
    if (!it) {
        qb_action_free(a);
        return QB_ENOMEM;
    }
    it->a = a;
    it->cb = cb;
    it->ud = ud;
    it->ctx = ctx;
    it->queued_ms = qb_clock_now();
    enqueue(acc, it);
    return QB_OK;
}

static void kick_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    qb_outbox_pump(w->data);
}

static void wake_in(struct qb_account *acc, int64_t ms)
{
    struct qb_bot *b = acc->bot;
    if (ev_is_active(&acc->kick))
        ev_timer_stop(b->loop, &acc->kick);
    ev_timer_init(&acc->kick, kick_fire, (double)(ms < 1 ? 1 : ms) / 1000.0, 0.);
    ev_timer_start(b->loop, &acc->kick);
}

/* Take the first item (in queue order) whose group may send now; *wait gets the
 * shortest wait among blocked groups. */
static struct qb_outitem *take_ready(struct qb_account *acc, struct qb_outitem **head,
                                     struct qb_outitem **tail, int64_t now, int64_t *wait)
{
    struct qb_outitem *prev = NULL;
    for (struct qb_outitem *it = *head; it; prev = it, it = it->next) {
        if (!is_query(it->a->kind) && it->a->group_id[0]) {
            struct qb_bucket *bk = qb_ratemap_get(acc->group_rate, it->a->group_id, now);
            if (bk && !qb_bucket_take(bk, now)) {
                int64_t w = qb_bucket_wait(bk, now);
                if (*wait < 0 || w < *wait)
                    *wait = w;
                continue;
            }
        }
        if (prev)
            prev->next = it->next;
        else
            *head = it->next;
        if (*tail == it)
            *tail = prev;
        it->next = NULL;
        return it;
    }
    return NULL;
}

static int64_t jitter(int64_t max)
{
    return max > 0 ? (int64_t)((double)rand() / RAND_MAX * (double)max) : 0;
}

void qb_outbox_pump(struct qb_account *acc)
{
    struct qb_bot *b = acc->bot;
    if (!qb_account_connected(acc) || (!acc->hi && !acc->lo))
        return;
    for (;;) {
        int64_t now = qb_clock_now();
        if (!acc->online)
            return; /* a heartbeat saying online wakes us */
        if (now < acc->paused_until_ms) {
            wake_in(acc, acc->paused_until_ms - now);
            return;
        }
        if (now < acc->next_send_ms) {
            wake_in(acc, acc->next_send_ms - now);
            return;
        }
        int64_t wait = -1;
        struct qb_outitem *it = take_ready(acc, &acc->hi, &acc->hi_tail, now, &wait);
        if (!it)
            it = take_ready(acc, &acc->lo, &acc->lo_tail, now, &wait);
        if (!it) {
            if (wait >= 0)
                wake_in(acc, wait);
            return;
        }
        acc->queued--;
        b->stats.queued--;
        if (!is_query(it->a->kind))
            acc->next_send_ms =
                    now + b->cfg->rate.account_interval_ms + jitter(b->cfg->rate.jitter_ms);
        qb_outbox_call(it->ctx, acc, it->a, it->cb, it->ud);
        free(it);
    }
}

static void drop_list(struct qb_account *acc, struct qb_outitem **head, struct qb_outitem **tail,
                      const char *why)
{
    while (*head) {
        struct qb_outitem *it = *head;
        *head = it->next;
        log_action(acc, it->ctx, it->a, NULL, why);
        qb_log(QB_LOG_WARN, "account %s: %s to %s%s was not sent (%s); logged as dropped",
               acc->cfg->name, qb_action_kind_name(it->a->kind),
               it->a->group_id[0] ? "group " : "user ",
               it->a->group_id[0] ? it->a->group_id : it->a->user_id, why);
        if (it->cb && callable(it->ctx)) {
            struct qb_result res = {.err = QB_EDISCONNECTED, .retcode = -1, .detail = why};
            it->cb(it->ctx, &res, it->ud);
        }
        qb_action_free(it->a);
        free(it);
        acc->queued--;
        acc->bot->stats.queued--;
    }
    *tail = NULL;
}

void qb_outbox_drop_all(struct qb_account *acc, const char *why)
{
    drop_list(acc, &acc->hi, &acc->hi_tail, why);
    drop_list(acc, &acc->lo, &acc->lo_tail, why);
    while (acc->pending) {
        struct qb_pending *p = acc->pending;
        acc->pending = p->next;
        fail_now(acc, p, QB_EDISCONNECTED);
    }
}
