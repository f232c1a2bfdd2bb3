/*
 * event.c — the internal event model: message segments and their plain-text view,
 * event and action lifetimes, and the names of kinds and roles.
 *
 * Owns the memory of messages (segments, strings, plain view), of event text and of
 * actions created with qb_action_new. Knows no protocol: no JSON, no CQ codes here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qunbot/action.h>
#include <qunbot/cfg.h>
#include <qunbot/event.h>

#include "util/util.h"

/* ---- messages ---- */

void qb_msg_init(struct qb_msg *m)
{
    memset(m, 0, sizeof *m);
}

static void seg_free(struct qb_seg *s)
{
    free(s->type_name);
    free(s->text);
    free(s->url);
    free(s->file);
    free(s->raw);
}

void qb_msg_clear(struct qb_msg *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        seg_free(&m->segs[i]);
    free(m->segs);
    free(m->plain);
    qb_msg_init(m);
}

static int msg_grow(struct qb_msg *m)
{
    if (m->n < m->cap)
        return QB_OK;
    size_t cap = m->cap ? m->cap * 2 : 4;
    struct qb_seg *segs = realloc(m->segs, cap * sizeof *segs);
    if (!segs)
        return QB_ENOMEM;
    m->segs = segs;
    m->cap = cap;
    return QB_OK;
}

/* Copy the strings of a segment; on failure frees what was copied. */
static int seg_fill(struct qb_seg *s, enum qb_seg_type type, const char *type_name,
                    const char *text, const char *url, const char *file)
{
    memset(s, 0, sizeof *s);
    s->type = type;
    s->type_name = qb_strdup(type_name ? type_name : qb_seg_type_name(type));
    s->text = qb_strdup(text);
    s->url = qb_strdup(url);
    s->file = qb_strdup(file);
    if (!s->type_name || (text && !s->text) || (url && !s->url) || (file && !s->file)) {
        seg_free(s);
        return QB_ENOMEM;
    }
    return QB_OK;
}

struct qb_seg *qb_msg_add(struct qb_msg *m, enum qb_seg_type type, const char *type_name,
                          const char *text, const char *url, const char *file)
{
    if (msg_grow(m) != QB_OK)
        return NULL;
    struct qb_seg *s = &m->segs[m->n];
    if (seg_fill(s, type, type_name, text, url, file) != QB_OK)
        return NULL;
    m->n++;
    return s;
}

int qb_msg_text(struct qb_msg *m, const char *text)
{
    return qb_msg_add(m, QB_SEG_TEXT, NULL, text ? text : "", NULL, NULL) ? QB_OK : QB_ENOMEM;
}

int qb_msg_textf(struct qb_msg *m, const char *fmt, ...)
{
    struct qb_buf b;
    qb_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    int rc = qb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc == QB_OK)
        rc = qb_msg_text(m, b.p ? b.p : "");
    qb_buf_free(&b);
    return rc;
}

int qb_msg_at(struct qb_msg *m, const char *user_id)
{
    return qb_msg_add(m, QB_SEG_AT, NULL, user_id, NULL, NULL) ? QB_OK : QB_ENOMEM;
}

int qb_msg_reply(struct qb_msg *m, const char *message_id)
{
    return qb_msg_add(m, QB_SEG_REPLY, NULL, message_id, NULL, NULL) ? QB_OK : QB_ENOMEM;
}

int qb_msg_image(struct qb_msg *m, const char *url_or_file)
{
    bool web = url_or_file &&
               (qb_starts_with(url_or_file, "http://") || qb_starts_with(url_or_file, "https://"));
    return qb_msg_add(m, QB_SEG_IMAGE, NULL, NULL, web ? url_or_file : NULL, url_or_file)
                   ? QB_OK
                   : QB_ENOMEM;
}

/* The plain-text rendering of one segment. */
static int seg_plain(struct qb_buf *b, const struct qb_seg *s)
{
    switch (s->type) {
    case QB_SEG_TEXT:
        return s->text ? qb_buf_puts(b, s->text) : QB_OK;
    case QB_SEG_AT:
        if (s->text && strcmp(s->text, "all") == 0)
            return qb_buf_puts(b, "@全体成员");
        return qb_buf_printf(b, "@%s", s->text ? s->text : "");
    case QB_SEG_REPLY:
        return QB_OK;
    case QB_SEG_FACE:
        return qb_buf_puts(b, "[表情]");
    case QB_SEG_IMAGE:
        return qb_buf_puts(b, (s->flags & QB_SEGF_STICKER) ? "[动画表情]" : "[图片]");
    case QB_SEG_RECORD:
        return qb_buf_puts(b, "[语音]");
    case QB_SEG_VIDEO:
        return qb_buf_puts(b, "[视频]");
    case QB_SEG_FILE:
        return qb_buf_puts(b, "[文件]");
    case QB_SEG_FORWARD:
        return qb_buf_puts(b, "[聊天记录]");
    case QB_SEG_JSON:
    case QB_SEG_XML:
        return qb_buf_puts(b, "[卡片]");
    case QB_SEG_SHARE:
        return qb_buf_puts(b, "[链接]");
    case QB_SEG_UNKNOWN:
        break;
    }
    return qb_buf_printf(b, "[%s]", s->type_name ? s->type_name : "unknown");
}

int qb_msg_finish(struct qb_msg *m)
{
    struct qb_buf b;
    qb_buf_init(&b);
    int rc = qb_buf_puts(&b, "");
    for (size_t i = 0; rc == QB_OK && i < m->n; i++)
        rc = seg_plain(&b, &m->segs[i]);
    if (rc != QB_OK) {
        qb_buf_free(&b);
        return QB_ENOMEM;
    }
    free(m->plain);
    m->plain = qb_buf_steal(&b);
    return QB_OK;
}

int qb_msg_copy(struct qb_msg *dst, const struct qb_msg *src)
{
    qb_msg_clear(dst);
    for (size_t i = 0; i < src->n; i++) {
        const struct qb_seg *s = &src->segs[i];
        struct qb_seg *d = qb_msg_add(dst, s->type, s->type_name, s->text, s->url, s->file);
        if (!d)
            goto nomem;
        d->flags = s->flags;
        if (s->raw && !(d->raw = qb_strdup(s->raw)))
            goto nomem;
    }
    if (src->plain && !(dst->plain = qb_strdup(src->plain)))
        goto nomem;
    return QB_OK;
nomem:
    qb_msg_clear(dst);
    return QB_ENOMEM;
}

char *qb_msg_text_only(const struct qb_msg *m)
{
    struct qb_buf b;
    qb_buf_init(&b);
    int rc = qb_buf_puts(&b, "");
    for (size_t i = 0; rc == QB_OK && i < m->n; i++)
        if (m->segs[i].type == QB_SEG_TEXT && m->segs[i].text)
            rc = qb_buf_puts(&b, m->segs[i].text);
    if (rc != QB_OK) {
        qb_buf_free(&b);
        return NULL;
    }
    return qb_buf_steal(&b);
}

const char *qb_seg_type_name(enum qb_seg_type t)
{
    static const char *const names[] = {
            [QB_SEG_TEXT] = "text",       [QB_SEG_AT] = "at",       [QB_SEG_REPLY] = "reply",
            [QB_SEG_FACE] = "face",       [QB_SEG_IMAGE] = "image", [QB_SEG_RECORD] = "record",
            [QB_SEG_VIDEO] = "video",     [QB_SEG_FILE] = "file",   [QB_SEG_FORWARD] = "forward",
            [QB_SEG_JSON] = "json",       [QB_SEG_XML] = "xml",     [QB_SEG_SHARE] = "share",
            [QB_SEG_UNKNOWN] = "unknown",
    };
    if ((unsigned)t < sizeof names / sizeof names[0] && names[t])
        return names[t];
    return "unknown";
}

/* ---- events ---- */

void qb_event_init(struct qb_event *ev)
{
    memset(ev, 0, sizeof *ev);
    qb_msg_init(&ev->msg);
}

void qb_event_clear(struct qb_event *ev)
{
    if (!ev)
        return;
    free(ev->text);
    qb_msg_clear(&ev->msg);
    qb_event_init(ev);
}

const char *qb_event_kind_name(enum qb_event_kind k)
{
    static const char *const names[] = {
            [QB_EV_MESSAGE] = "message",
            [QB_EV_MESSAGE_SELF] = "message_self",
            [QB_EV_MEMBER_JOIN] = "member_join",
            [QB_EV_MEMBER_LEAVE] = "member_leave",
            [QB_EV_RECALL] = "recall",
            [QB_EV_MUTE] = "mute",
            [QB_EV_ADMIN_CHANGE] = "admin_change",
            [QB_EV_JOIN_REQUEST] = "join_request",
            [QB_EV_GROUP_INVITE] = "group_invite",
            [QB_EV_FRIEND_REQUEST] = "friend_request",
            [QB_EV_FRIEND_ADD] = "friend_add",
            [QB_EV_POKE] = "poke",
            [QB_EV_CARD_CHANGE] = "card_change",
            [QB_EV_NOTICE] = "notice",
            [QB_EV_LIFECYCLE] = "lifecycle",
            [QB_EV_HEARTBEAT] = "heartbeat",
            [QB_EV_BOT_OFFLINE] = "bot_offline",
            [QB_EV_UNKNOWN] = "unknown",
            [QB_EV_SCHEDULE] = "schedule",
    };
    if ((unsigned)k < sizeof names / sizeof names[0] && names[k])
        return names[k];
    return "unknown";
}

const char *qb_role_name(enum qb_role r)
{
    switch (r) {
    case QB_ROLE_MEMBER:
        return "member";
    case QB_ROLE_ADMIN:
        return "admin";
    case QB_ROLE_OWNER:
        return "owner";
    case QB_ROLE_SUPERUSER:
        return "superuser";
    case QB_ROLE_UNKNOWN:
        break;
    }
    return "unknown";
}

/* ---- actions ---- */

struct qb_action *qb_action_new(enum qb_action_kind kind)
{
    struct qb_action *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->kind = kind;
    qb_msg_init(&a->msg);
    return a;
}

void qb_action_free(struct qb_action *a)
{
    if (!a)
        return;
    qb_msg_clear(&a->msg);
    free(a->text);
    free(a->reason);
    free(a);
}

const char *qb_action_kind_name(enum qb_action_kind k)
{
    static const char *const names[] = {
            [QB_ACT_SEND] = "send",
            [QB_ACT_RECALL] = "recall",
            [QB_ACT_MUTE] = "mute",
            [QB_ACT_MUTE_ALL] = "mute_all",
            [QB_ACT_KICK] = "kick",
            [QB_ACT_SET_CARD] = "set_card",
            [QB_ACT_SET_TITLE] = "set_title",
            [QB_ACT_HANDLE_REQUEST] = "handle_request",
            [QB_ACT_GET_STATUS] = "get_status",
            [QB_ACT_GET_LOGIN] = "get_login",
            [QB_ACT_GET_HISTORY] = "get_history",
            [QB_ACT_GET_MEMBER] = "get_member",
    };
    if ((unsigned)k < sizeof names / sizeof names[0] && names[k])
        return names[k];
    return "unknown";
}

/* ---- settings helpers ---- */

bool qb_strlist_has(const struct qb_strlist *l, const char *s)
{
    if (!l || !s)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && strcmp(l->v[i], s) == 0)
            return true;
    return false;
}
