/*
 * action.c — the plugin-facing action functions of <qunbot/action.h>.
 *
 * Each builds a struct qb_action (copying the caller's strings, moving message
 * contents) and hands it to the outbox. No I/O here.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

int qb_action_submit(struct qb_ctx *c, struct qb_action *a, qb_action_cb cb, void *ud)
{
    if (!a)
        return QB_EINVAL;
    return qb_outbox_submit(c, a, cb, ud);
}

static struct qb_action *new_for(enum qb_action_kind kind, const char *self_id,
                                 const char *group_id, const char *user_id)
{
    struct qb_action *a = qb_action_new(kind);
    if (!a)
        return NULL;
    qb_id_set(a->self_id, self_id);
    qb_id_set(a->group_id, group_id);
    qb_id_set(a->user_id, user_id);
    return a;
}

/* Move msg's contents into the action (msg is left empty). */
static void take_msg(struct qb_action *a, struct qb_msg *msg)
{
    a->msg = *msg;
    qb_msg_init(msg);
    qb_msg_finish(&a->msg);
}

int qb_send_group(struct qb_ctx *c, const char *self_id, const char *group_id, struct qb_msg *msg)
{
    struct qb_action *a = new_for(QB_ACT_SEND, self_id, group_id, NULL);
    if (!a)
        return QB_ENOMEM;
    a->chat = QB_CHAT_GROUP;
    take_msg(a, msg);
    return qb_outbox_submit(c, a, NULL, NULL);
}

int qb_send_private(struct qb_ctx *c, const char *self_id, const char *user_id, struct qb_msg *msg)
{
    struct qb_action *a = new_for(QB_ACT_SEND, self_id, NULL, user_id);
    if (!a)
        return QB_ENOMEM;
    a->chat = QB_CHAT_PRIVATE;
    take_msg(a, msg);
    return qb_outbox_submit(c, a, NULL, NULL);
}

int qb_reply_msg(struct qb_ctx *c, const struct qb_event *ev, struct qb_msg *msg)
{
    if (ev->chat == QB_CHAT_GROUP)
        return qb_send_group(c, ev->self_id, ev->group_id, msg);
    if (ev->chat == QB_CHAT_PRIVATE)
        return qb_send_private(c, ev->self_id, ev->user_id, msg);
    qb_msg_clear(msg);
    return QB_EINVAL;
}

int qb_reply(struct qb_ctx *c, const struct qb_event *ev, const char *text, bool quote)
{
    struct qb_msg m;
    qb_msg_init(&m);
    if (quote && ev->message_id[0])
        qb_msg_reply(&m, ev->message_id);
    qb_msg_text(&m, text);
    return qb_reply_msg(c, ev, &m);
}

int qb_recall(struct qb_ctx *c, const struct qb_event *ev, const char *reason)
{
    struct qb_action *a = new_for(QB_ACT_RECALL, ev->self_id, ev->group_id, ev->user_id);
    if (!a)
        return QB_ENOMEM;
    qb_id_set(a->message_id, ev->message_id);
    a->reason = qb_strdup(reason);
    return qb_outbox_submit(c, a, NULL, NULL);
}

int qb_mute(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
            int64_t seconds, const char *reason)
{
    struct qb_action *a = new_for(QB_ACT_MUTE, self_id, group_id, user_id);
    if (!a)
        return QB_ENOMEM;
    a->duration_s = seconds;
    a->reason = qb_strdup(reason);
    return qb_outbox_submit(c, a, NULL, NULL);
}

int qb_kick(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
            bool block, const char *reason)
{
    struct qb_action *a = new_for(QB_ACT_KICK, self_id, group_id, user_id);
    if (!a)
        return QB_ENOMEM;
    a->enable = block;
    a->reason = qb_strdup(reason);
    return qb_outbox_submit(c, a, NULL, NULL);
}

int qb_set_card(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
                const char *card)
{
    struct qb_action *a = new_for(QB_ACT_SET_CARD, self_id, group_id, user_id);
    if (!a)
        return QB_ENOMEM;
    a->text = qb_strdup(card ? card : "");
    return qb_outbox_submit(c, a, NULL, NULL);
}

int qb_handle_request(struct qb_ctx *c, const struct qb_event *ev, bool approve, const char *reason)
{
    struct qb_action *a = new_for(QB_ACT_HANDLE_REQUEST, ev->self_id, ev->group_id, ev->user_id);
    if (!a)
        return QB_ENOMEM;
    qb_strlcpy(a->flag, ev->flag, sizeof a->flag);
    qb_strlcpy(a->sub_type,
               ev->kind == QB_EV_FRIEND_REQUEST ? "friend"
               : ev->kind == QB_EV_GROUP_INVITE ? "invite"
                                                : "add",
               sizeof a->sub_type);
    a->enable = approve;
    a->text = qb_strdup(reason);
    a->reason = qb_strdup(reason);
    return qb_outbox_submit(c, a, NULL, NULL);
}
