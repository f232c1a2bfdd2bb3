/*
 * event.h — the internal event model every adapter produces and every plugin reads.
 *
 * A message is an array of typed segments plus a plain-text view; events are typed
 * structs with string ids. Plugins receive events borrowed for the duration of a
 * callback: copy what you keep. No protocol JSON is visible here.
 */
#ifndef QUNBOT_EVENT_H
#define QUNBOT_EVENT_H

#include "qunbot.h"

enum qb_seg_type {
    QB_SEG_TEXT = 0, /* text: the text */
    QB_SEG_AT,       /* text: user id, or "all" for @everyone */
    QB_SEG_REPLY,    /* text: id of the quoted message */
    QB_SEG_FACE,     /* text: platform face id */
    QB_SEG_IMAGE,    /* file, url; flags QB_SEGF_STICKER when the platform says sticker */
    QB_SEG_RECORD,   /* voice: file, url */
    QB_SEG_VIDEO,    /* file, url */
    QB_SEG_FILE,     /* file, text: display name */
    QB_SEG_FORWARD,  /* text: forward id (merged chat record) */
    QB_SEG_JSON,     /* text: card payload (mini-programs, share cards) */
    QB_SEG_XML,      /* text: card payload */
    QB_SEG_SHARE,    /* url, text: title */
    QB_SEG_UNKNOWN,  /* raw: the segment data kept verbatim (compact JSON) */
};

#define QB_SEGF_STICKER 0x1

/* One message segment. All strings owned by the message; NULL when absent. */
struct qb_seg {
    enum qb_seg_type type;
    char *type_name; /* the protocol's name for the type ("image", "mface", ...); never NULL */
    char *text;
    char *url;
    char *file;
    char *raw; /* compact JSON of the protocol data, kept only for unknown types (logging) */
    int flags;
};

/* A message: segments in order and a plain-text view for logs, search and matching. */
struct qb_msg {
    struct qb_seg *segs;
    size_t n, cap;
    char *plain; /* built by qb_msg_finish(): text as is, @id for mentions, [图片] etc. */
};

void qb_msg_init(struct qb_msg *m);
/* Free all segments and the plain view; leaves m empty and reusable. NULL-safe. */
void qb_msg_clear(struct qb_msg *m);
/* Append a segment; strings are copied (NULL allowed). Returns the segment or NULL (ENOMEM). */
struct qb_seg *qb_msg_add(struct qb_msg *m, enum qb_seg_type type, const char *type_name,
                          const char *text, const char *url, const char *file);
/* Builders for outgoing messages. Return QB_OK or QB_ENOMEM. */
int qb_msg_text(struct qb_msg *m, const char *text);
int qb_msg_textf(struct qb_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int qb_msg_at(struct qb_msg *m, const char *user_id);
int qb_msg_reply(struct qb_msg *m, const char *message_id);
int qb_msg_image(struct qb_msg *m, const char *url_or_file);
/* (Re)build m->plain from the segments. Returns QB_OK or QB_ENOMEM. */
int qb_msg_finish(struct qb_msg *m);
/* Deep copy src into dst (dst must be initialised and is cleared first). */
int qb_msg_copy(struct qb_msg *dst, const struct qb_msg *src);
/* Concatenated text of the text segments only (no mentions or media), newly allocated. */
char *qb_msg_text_only(const struct qb_msg *m);
const char *qb_seg_type_name(enum qb_seg_type t);

enum qb_event_kind {
    QB_EV_MESSAGE = 0,    /* a member's group or private message */
    QB_EV_MESSAGE_SELF,   /* the bot's own message reported back (NapCat message_sent) */
    QB_EV_MEMBER_JOIN,    /* sub_type approve|invite; operator_id = approver or inviter */
    QB_EV_MEMBER_LEAVE,   /* sub_type leave|kick|kick_me|disband; operator_id */
    QB_EV_RECALL,         /* message_id recalled; user_id = author, operator_id = who recalled */
    QB_EV_MUTE,           /* sub_type ban|lift_ban; duration_s; user_id "0" = whole group */
    QB_EV_ADMIN_CHANGE,   /* sub_type set|unset */
    QB_EV_JOIN_REQUEST,   /* someone asks to join a group: comment, flag */
    QB_EV_GROUP_INVITE,   /* someone invites the bot into a group: flag */
    QB_EV_FRIEND_REQUEST, /* comment, flag */
    QB_EV_FRIEND_ADD,
    QB_EV_POKE,        /* user_id pokes target_id */
    QB_EV_CARD_CHANGE, /* group card changed: text = new card */
    QB_EV_NOTICE,      /* any other known notice; name says which */
    QB_EV_LIFECYCLE,   /* sub_type connect|enable|disable */
    QB_EV_HEARTBEAT,   /* online, interval_ms */
    QB_EV_BOT_OFFLINE, /* the platform session of the account dropped */
    QB_EV_UNKNOWN,     /* kept and logged, never dropped: name holds the protocol's kind */
    QB_EV_SCHEDULE,    /* core-made: a persisted schedule of this plugin came due */
    QB_EV__COUNT
};

#define QB_EVMASK(k)  (1u << (k))
#define QB_EVMASK_ALL 0xffffffffu

enum qb_chat { QB_CHAT_NONE = 0, QB_CHAT_GROUP, QB_CHAT_PRIVATE };

enum qb_role {
    QB_ROLE_UNKNOWN = 0,
    QB_ROLE_MEMBER,
    QB_ROLE_ADMIN,
    QB_ROLE_OWNER,
    QB_ROLE_SUPERUSER, /* configured in the bot config; outranks everyone */
};

struct qb_event {
    enum qb_event_kind kind;
    char name[48];     /* protocol event name: "message", "group_increase", "poke", ... */
    char sub_type[32]; /* protocol sub type, "" if none */
    int64_t time_ms;   /* when it happened, platform clock, Unix milliseconds */
    enum qb_chat chat;
    char platform[16]; /* "qq" for OneBot v11 */
    char self_id[QB_ID_MAX];
    char group_id[QB_ID_MAX];
    char user_id[QB_ID_MAX];
    char operator_id[QB_ID_MAX];
    char target_id[QB_ID_MAX];
    char message_id[QB_ID_MAX];
    char flag[QB_ID_MAX * 4]; /* request flag, opaque */
    char sender_name[128];    /* group card, else nickname; "" if unknown */
    enum qb_role sender_role;
    int64_t duration_s;        /* QB_EV_MUTE */
    int64_t interval_ms;       /* QB_EV_HEARTBEAT */
    bool online;               /* QB_EV_HEARTBEAT status.online */
    bool backfilled;           /* recovered from history after a reconnect, not live */
    char *text;                /* request comment, new card, notice text; NULL if none */
    struct qb_msg msg;         /* message events; empty otherwise */
    const char *sched_key;     /* QB_EV_SCHEDULE: the key given at creation */
    const char *sched_payload; /* QB_EV_SCHEDULE: the payload given at creation */
    int64_t sched_late_ms;     /* QB_EV_SCHEDULE: how late it fires (bot was down) */
    const char *handled_by;    /* for observer plugins: the plugin that handled the event
                                  (the guard for a recalled ad, a plugin for its command), or
                                  NULL; set by the core while it dispatches */
};

void qb_event_init(struct qb_event *ev);
/* Free what the event owns (text, msg); leaves it initialised. */
void qb_event_clear(struct qb_event *ev);
const char *qb_event_kind_name(enum qb_event_kind k);
const char *qb_role_name(enum qb_role r);

#endif
