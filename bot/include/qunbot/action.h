/*
 * action.h — what plugins ask the platform to do: send, reply, recall, mute, kick ...
 *
 * Every function copies its arguments into the account's outbound queue and returns
 * at once: QB_OK means "queued", not "done". The optional callback runs later on the
 * loop with the platform's answer (or QB_ETIMEDOUT / QB_EDISCONNECTED). Sends and
 * moderation actions are never retried blindly. Every action is written to the
 * interaction log with the plugin name and the reason given.
 */
#ifndef QUNBOT_ACTION_H
#define QUNBOT_ACTION_H

#include "event.h"

struct qb_ctx;

enum qb_action_kind {
    QB_ACT_SEND = 0,       /* send msg to group_id (chat GROUP) or user_id (chat PRIVATE) */
    QB_ACT_RECALL,         /* message_id (group_id for rate limiting) */
    QB_ACT_MUTE,           /* group_id, user_id, duration_s (0 = unmute) */
    QB_ACT_MUTE_ALL,       /* group_id, enable */
    QB_ACT_KICK,           /* group_id, user_id, enable = refuse re-joining */
    QB_ACT_SET_CARD,       /* group_id, user_id, text = new card ("" clears) */
    QB_ACT_SET_TITLE,      /* group_id, user_id, text = special title */
    QB_ACT_HANDLE_REQUEST, /* flag, sub_type ("add"/"invite"/"friend"), enable = approve, text =
                              reason */
    QB_ACT_GET_STATUS,     /* core: liveness probe */
    QB_ACT_GET_LOGIN,      /* core: who am I */
    QB_ACT_GET_HISTORY,    /* core: recent group messages after a reconnect (group_id, count) */
    QB_ACT_GET_MEMBER,     /* group_id, user_id → result.member */
    QB_ACT__COUNT
};

struct qb_action {
    enum qb_action_kind kind;
    enum qb_chat chat;
    char self_id[QB_ID_MAX]; /* account; "" = the only/first account */
    char group_id[QB_ID_MAX];
    char user_id[QB_ID_MAX];
    char message_id[QB_ID_MAX];
    char flag[QB_ID_MAX * 4];
    char sub_type[16];
    struct qb_msg msg;
    int64_t duration_s;
    int64_t count;
    bool enable;
    char *text;     /* owned */
    char *reason;   /* owned: why (audit log); never sent to the platform */
    int timeout_ms; /* 0 = default (30 s; 120 s for media) */
};

struct qb_member_info {
    char user_id[QB_ID_MAX];
    char nickname[128];
    char card[128];
    char title[128];
    enum qb_role role;
    int64_t join_time_ms;
    int64_t last_sent_ms;
};

/* The platform's answer to an action. Borrowed for the callback. */
struct qb_result {
    int err;                    /* QB_OK, QB_EFAILED, QB_ETIMEDOUT, QB_EDISCONNECTED, ... */
    int retcode;                /* protocol retcode when the platform answered, else -1 */
    const char *detail;         /* platform's error text, or "" */
    char message_id[QB_ID_MAX]; /* QB_ACT_SEND: id of the sent message */
    const struct qb_member_info *member; /* QB_ACT_GET_MEMBER */
};

typedef void (*qb_action_cb)(struct qb_ctx *c, const struct qb_result *r, void *ud);

/* Allocate a zeroed action of a kind. Free with qb_action_free() unless submitted. */
struct qb_action *qb_action_new(enum qb_action_kind kind);
void qb_action_free(struct qb_action *a);
/* Queue an action. Takes ownership of a in every case. cb may be NULL. */
int qb_action_submit(struct qb_ctx *c, struct qb_action *a, qb_action_cb cb, void *ud);

/* Conveniences. Strings are copied; msg contents are moved out (msg is left empty). */
int qb_send_group(struct qb_ctx *c, const char *self_id, const char *group_id, struct qb_msg *msg);
int qb_send_private(struct qb_ctx *c, const char *self_id, const char *user_id, struct qb_msg *msg);
/* Reply where ev happened (group or private) with plain text; quote = reply to the message. */
int qb_reply(struct qb_ctx *c, const struct qb_event *ev, const char *text, bool quote);
int qb_reply_msg(struct qb_ctx *c, const struct qb_event *ev, struct qb_msg *msg);
int qb_recall(struct qb_ctx *c, const struct qb_event *ev, const char *reason);
int qb_mute(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
            int64_t seconds, const char *reason);
int qb_kick(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
            bool block, const char *reason);
int qb_set_card(struct qb_ctx *c, const char *self_id, const char *group_id, const char *user_id,
                const char *card);
int qb_handle_request(struct qb_ctx *c, const struct qb_event *ev, bool approve,
                      const char *reason);

const char *qb_action_kind_name(enum qb_action_kind k);

#endif
