/*
 * onebot11.c — the OneBot v11 adapter (NapCat, LLOneBot, Lagrange): inbound JSON frames
 * to events and responses, actions to request frames, typed results, history back-fill,
 * and the CQ-code string format.
 *
 * Pure functions: no sockets, no clock, no globals, no logging. Every field of a frame
 * may be missing or of the wrong type; such fields are treated as absent, never trusted.
 * Owns only the cJSON documents it parses (kept in qb_frame.root until qb_frame_clear).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "net/adapter.h"
#include "util/util.h"

/* ---- reading JSON fields: a wrong type reads as absent ---- */

static const cJSON *field(const cJSON *o, const char *key)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *field_str(const cJSON *o, const char *key)
{
    const cJSON *v = field(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An integral double within int64 range (cJSON keeps numbers as doubles). */
static bool double_i64(double d, int64_t *out)
{
    if (!(d > -9.2e18 && d < 9.2e18)) /* also rejects NaN and infinities */
        return false;
    int64_t i = (int64_t)d;
    if ((double)i != d)
        return false;
    *out = i;
    return true;
}

/* A JSON number, or a string holding a decimal integer. */
static bool json_i64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v))
        return double_i64(v->valuedouble, out);
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return false;
    char *end;
    errno = 0;
    long long i = strtoll(v->valuestring, &end, 10);
    if (errno || *end)
        return false;
    *out = i;
    return true;
}

static bool field_i64(const cJSON *o, const char *key, int64_t *out)
{
    return json_i64(field(o, key), out);
}

/* An id as a decimal string: JSON numbers (exact up to 2^53) or strings. */
static bool json_id(const cJSON *v, char *dst, size_t n)
{
    int64_t i;
    if (cJSON_IsString(v)) {
        qb_strlcpy(dst, v->valuestring, n);
        return true;
    }
    if (cJSON_IsNumber(v) && double_i64(v->valuedouble, &i)) {
        snprintf(dst, n, "%lld", (long long)i);
        return true;
    }
    return false;
}

static bool field_id(const cJSON *o, const char *key, char *dst, size_t n)
{
    return json_id(field(o, key), dst, n);
}

/* true/false, a number (non-zero = true) or "true"/"false"/"1"/"0"/"yes"/"no". */
static bool field_bool(const cJSON *o, const char *key, bool *out)
{
    const cJSON *v = field(o, key);
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return true;
    }
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble != 0;
        return true;
    }
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
        *out = false;
        return true;
    }
    return false;
}

/* Compact JSON text of v, malloc'd (free()); NULL on ENOMEM. */
static char *json_compact(const cJSON *v)
{
    char *p = cJSON_PrintUnformatted(v);
    char *s = qb_strdup(p);
    cJSON_free(p);
    return s;
}

/* ---- segments: one table for both directions ---- */

struct seg_map {
    const char *name;
    enum qb_seg_type type;
    const char *text_key, *url_key, *file_key; /* data keys of seg->text, ->url, ->file */
};

static const struct seg_map seg_maps[] = {
        {"text", QB_SEG_TEXT, "text", NULL, NULL},
        {"at", QB_SEG_AT, "qq", NULL, NULL},
        {"reply", QB_SEG_REPLY, "id", NULL, NULL},
        {"face", QB_SEG_FACE, "id", NULL, NULL},
        {"image", QB_SEG_IMAGE, NULL, "url", "file"},
        {"record", QB_SEG_RECORD, NULL, "url", "file"},
        {"video", QB_SEG_VIDEO, NULL, "url", "file"},
        {"file", QB_SEG_FILE, "name", "url", "file"},
        {"forward", QB_SEG_FORWARD, "id", NULL, NULL},
        {"json", QB_SEG_JSON, "data", NULL, NULL},
        {"xml", QB_SEG_XML, "data", NULL, NULL},
        {"share", QB_SEG_SHARE, "title", "url", NULL},
        {"mface", QB_SEG_IMAGE, NULL, "url", "file"}, /* NapCat store sticker */
};

#define N_SEG_MAPS (sizeof seg_maps / sizeof seg_maps[0])

static const struct seg_map *map_by_name(const char *name)
{
    for (size_t i = 0; i < N_SEG_MAPS; i++)
        if (!strcmp(seg_maps[i].name, name))
            return &seg_maps[i];
    return NULL;
}

static const struct seg_map *map_by_type(enum qb_seg_type t)
{
    for (size_t i = 0; i < N_SEG_MAPS; i++)
        if (seg_maps[i].type == t)
            return &seg_maps[i];
    return NULL;
}

/* A data value as a string: strings as is, integral numbers in decimal (NapCat sends some
 * ids as numbers). tmp holds the number's text. NULL when absent or of another type. */
static const char *data_str(const cJSON *data, const char *key, char *tmp, size_t n)
{
    if (!key)
        return NULL;
    const cJSON *v = field(data, key);
    if (cJSON_IsString(v))
        return v->valuestring;
    return json_id(v, tmp, n) ? tmp : NULL;
}

/* QQ picSubType: 0 is a normal picture, anything else is a sticker. */
static bool is_sticker(const cJSON *data)
{
    const cJSON *v = field(data, "sub_type");
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    return cJSON_IsString(v) && v->valuestring[0] && strcmp(v->valuestring, "0") != 0;
}

/* Append the segment {type, data} to m. data may be NULL or any JSON value. */
static int seg_from_json(struct qb_msg *m, const char *type, const cJSON *data)
{
    const struct seg_map *map = map_by_name(type);
    if (!map) {
        struct qb_seg *s = qb_msg_add(m, QB_SEG_UNKNOWN, type, NULL, NULL, NULL);
        if (!s)
            return QB_ENOMEM;
        s->raw = data ? json_compact(data) : qb_strdup("{}");
        return s->raw ? QB_OK : QB_ENOMEM;
    }
    char t1[32], t2[32], t3[32];
    const char *text = data_str(data, map->text_key, t1, sizeof t1);
    const char *url = data_str(data, map->url_key, t2, sizeof t2);
    const char *file = data_str(data, map->file_key, t3, sizeof t3);
    char *card = NULL;
    const cJSON *payload = field(data, "data");
    if (map->type == QB_SEG_JSON && (cJSON_IsObject(payload) || cJSON_IsArray(payload))) {
        if (!(card = json_compact(payload)))
            return QB_ENOMEM;
        text = card;
    }
    if (map->type == QB_SEG_TEXT && !text)
        text = "";
    struct qb_seg *s = qb_msg_add(m, map->type, type, text, url, file);
    free(card);
    if (!s)
        return QB_ENOMEM;
    if (!strcmp(type, "mface") || (map->type == QB_SEG_IMAGE && is_sticker(data)))
        s->flags |= QB_SEGF_STICKER;
    return QB_OK;
}

/* One array element {"type": .., "data": {..}}; elements without a type are skipped. */
static int seg_obj(struct qb_msg *m, const cJSON *o)
{
    const char *type = field_str(o, "type");
    if (!type || !type[0])
        return QB_OK;
    return seg_from_json(m, type, field(o, "data"));
}

/* A message field: segment array, CQ string or a single segment object. */
static int msg_from_json(struct qb_msg *m, const cJSON *v)
{
    int rc = QB_OK;
    if (cJSON_IsString(v)) {
        rc = qb_cq_parse(v->valuestring, m);
    } else if (cJSON_IsArray(v)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if ((rc = seg_obj(m, it)) != QB_OK)
                break;
        }
    } else if (cJSON_IsObject(v)) {
        rc = seg_obj(m, v);
    }
    return rc == QB_OK ? qb_msg_finish(m) : rc;
}

/* Add key = s to o unless s is NULL; sets *rc on ENOMEM. */
static void put_str(cJSON *o, const char *key, const char *s, int *rc)
{
    if (s && !cJSON_AddStringToObject(o, key, s))
        *rc = QB_ENOMEM;
}

/* The protocol type name of a segment as written out. */
static const char *seg_out_type(const struct qb_seg *s, bool for_send)
{
    if (s->type == QB_SEG_UNKNOWN)
        return s->type_name;
    if (s->type == QB_SEG_IMAGE && !strcmp(s->type_name, "mface"))
        return for_send ? "image" : "mface";
    const struct seg_map *map = map_by_type(s->type);
    return map ? map->name : s->type_name;
}

static cJSON *unknown_data(const struct qb_seg *s)
{
    cJSON *d = s->raw ? cJSON_Parse(s->raw) : NULL;
    if (cJSON_IsObject(d))
        return d;
    cJSON_Delete(d);
    return cJSON_CreateObject();
}

/* The data object of a segment. for_send: only what implementations accept when sending
 * (media by one "file" reference, no receive-only fields). */
static cJSON *seg_data(const struct qb_seg *s, bool for_send, int *rc)
{
    if (s->type == QB_SEG_UNKNOWN)
        return unknown_data(s);
    const struct seg_map *map = map_by_type(s->type);
    cJSON *d = cJSON_CreateObject();
    if (!d || !map)
        return d;
    const char *url = s->url, *file = s->file;
    if (for_send && map->url_key && map->file_key) {
        file = file ? file : url;
        url = NULL;
    }
    if (map->text_key)
        put_str(d, map->text_key, s->text ? s->text : "", rc);
    if (map->url_key)
        put_str(d, map->url_key, url, rc);
    if (map->file_key)
        put_str(d, map->file_key, file, rc);
    if ((s->flags & QB_SEGF_STICKER) && !strcmp(seg_out_type(s, for_send), "image"))
        put_str(d, "sub_type", "1", rc);
    return d;
}

/* {"type": .., "data": {..}} for one segment; NULL on ENOMEM. NapCat and LLOneBot have no
 * "share" segment, so for sending a share becomes text. */
static cJSON *seg_to_json(const struct qb_seg *s, bool for_send)
{
    int rc = QB_OK;
    cJSON *o = cJSON_CreateObject();
    cJSON *d = NULL;
    if (!o)
        return NULL;
    if (for_send && s->type == QB_SEG_SHARE) {
        struct qb_buf b;
        qb_buf_init(&b);
        rc = qb_buf_printf(&b, "%s%s%s", s->text ? s->text : "", s->text && s->url ? " " : "",
                           s->url ? s->url : "");
        put_str(o, "type", "text", &rc);
        if ((d = cJSON_AddObjectToObject(o, "data")))
            put_str(d, "text", b.p ? b.p : "", &rc);
        qb_buf_free(&b);
    } else {
        put_str(o, "type", seg_out_type(s, for_send), &rc);
        if ((d = seg_data(s, for_send, &rc)))
            cJSON_AddItemToObject(o, "data", d);
    }
    if (!d || rc != QB_OK) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- CQ strings ---- */

static bool cq_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static size_t cq_span(const char *p)
{
    size_t n = 0;
    while (cq_char(p[n]))
        n++;
    return n;
}

char *qb_cq_escape(const char *s, bool in_param)
{
    if (!s)
        return NULL;
    struct qb_buf b;
    qb_buf_init(&b);
    int rc = qb_buf_puts(&b, "");
    for (const char *p = s; *p && rc == QB_OK; p++) {
        if (*p == '&')
            rc = qb_buf_puts(&b, "&amp;");
        else if (*p == '[')
            rc = qb_buf_puts(&b, "&#91;");
        else if (*p == ']')
            rc = qb_buf_puts(&b, "&#93;");
        else if (*p == ',' && in_param)
            rc = qb_buf_puts(&b, "&#44;");
        else
            rc = qb_buf_append(&b, p, 1);
    }
    if (rc != QB_OK) {
        qb_buf_free(&b);
        return NULL;
    }
    return qb_buf_steal(&b);
}

/* Unescape n bytes. One left-to-right pass gives the same result as replacing &#44; &#91;
 * &#93; first and &amp; last: "&amp;#91;" stays the literal text "&#91;". */
static char *cq_unescape_n(const char *s, size_t n)
{
    static const struct {
        const char *seq;
        char c;
    } esc[] = {{"&#44;", ','}, {"&#91;", '['}, {"&#93;", ']'}, {"&amp;", '&'}};
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        while (k < 4 && !(s[i] == '&' && n - i >= 5 && !memcmp(s + i, esc[k].seq, 5)))
            k++;
        if (k < 4) {
            out[o++] = esc[k].c;
            i += 5;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return out;
}

char *qb_cq_unescape(const char *s)
{
    return s ? cq_unescape_n(s, strlen(s)) : NULL;
}

/* Parse one "[CQ:type,k=v,...]" at p into *type and *data. Returns its length, or QB_ENOMEM,
 * or 0 when p is not a well-formed code: then [p, *stop) is plain text. No "[CQ:" inside
 * that range can start a good code either: its scan would meet the same separators and
 * fail at the same place. Skipping it keeps hostile strings linear. */
static long cq_code(const char *p, char **type, cJSON **data, const char **stop)
{
    const char *q = p + 4; /* after "[CQ:" */
    size_t tn = cq_span(q);
    *stop = q;
    if (!tn)
        return 0;
    const char *tstart = q;
    q += tn;
    *stop = q;
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return QB_ENOMEM;
    while (*q == ',') {
        size_t kn = cq_span(q + 1);
        *stop = q;
        if (!kn || q[1 + kn] != '=')
            goto malformed;
        const char *key = q + 1, *val = q + 2 + kn;
        size_t vn = strcspn(val, ",]");
        char *k = qb_strndup(key, kn), *v = cq_unescape_n(val, vn);
        bool ok = k && v && cJSON_AddStringToObject(d, k, v);
        free(k);
        free(v);
        if (!ok) {
            cJSON_Delete(d);
            return QB_ENOMEM;
        }
        q = val + vn;
    }
    *stop = q;
    if (*q != ']')
        goto malformed;
    if (!(*type = qb_strndup(tstart, tn))) {
        cJSON_Delete(d);
        return QB_ENOMEM;
    }
    *data = d;
    return (long)(q + 1 - p);
malformed:
    cJSON_Delete(d);
    return 0;
}

static int flush_text(struct qb_msg *out, struct qb_buf *text)
{
    if (!text->len)
        return QB_OK;
    char *t = cq_unescape_n(text->p, text->len);
    int rc = t && qb_msg_add(out, QB_SEG_TEXT, NULL, t, NULL, NULL) ? QB_OK : QB_ENOMEM;
    free(t);
    qb_buf_reset(text);
    return rc;
}

int qb_cq_parse(const char *s, struct qb_msg *out)
{
    struct qb_buf text;
    qb_buf_init(&text);
    int rc = QB_OK;
    for (const char *p = s ? s : ""; *p && rc == QB_OK;) {
        char *type = NULL;
        cJSON *data = NULL;
        const char *stop = p + 1;
        long n = qb_starts_with(p, "[CQ:") ? cq_code(p, &type, &data, &stop) : 0;
        if (n < 0) {
            rc = (int)n;
        } else if (n > 0) {
            if ((rc = flush_text(out, &text)) == QB_OK)
                rc = seg_from_json(out, type, data);
            p += n;
        } else {
            rc = qb_buf_append(&text, p, (size_t)(stop - p));
            p = stop;
        }
        free(type);
        cJSON_Delete(data);
    }
    if (rc == QB_OK)
        rc = flush_text(out, &text);
    qb_buf_free(&text);
    return rc == QB_OK ? qb_msg_finish(out) : rc;
}

/* One CQ parameter value: strings escaped, other JSON values as compact JSON, escaped. */
static int cq_value(struct qb_buf *b, const cJSON *v)
{
    char *s = cJSON_IsString(v) ? qb_strdup(v->valuestring) : json_compact(v);
    char *e = qb_cq_escape(s, true);
    int rc = e ? qb_buf_puts(b, e) : QB_ENOMEM;
    free(s);
    free(e);
    return rc;
}

static int cq_seg(struct qb_buf *b, const struct qb_seg *s)
{
    if (s->type == QB_SEG_TEXT) {
        char *e = qb_cq_escape(s->text ? s->text : "", false);
        int rc = e ? qb_buf_puts(b, e) : QB_ENOMEM;
        free(e);
        return rc;
    }
    cJSON *o = seg_to_json(s, false);
    if (!o)
        return QB_ENOMEM;
    int rc = qb_buf_printf(b, "[CQ:%s", field_str(o, "type"));
    const cJSON *kv;
    cJSON_ArrayForEach(kv, field(o, "data"))
    {
        if (rc == QB_OK)
            rc = qb_buf_printf(b, ",%s=", kv->string);
        if (rc == QB_OK)
            rc = cq_value(b, kv);
    }
    if (rc == QB_OK)
        rc = qb_buf_puts(b, "]");
    cJSON_Delete(o);
    return rc;
}

char *qb_cq_encode(const struct qb_msg *m)
{
    struct qb_buf b;
    qb_buf_init(&b);
    int rc = qb_buf_puts(&b, "");
    for (size_t i = 0; m && i < m->n && rc == QB_OK; i++)
        rc = cq_seg(&b, &m->segs[i]);
    if (rc != QB_OK) {
        qb_buf_free(&b);
        return NULL;
    }
    return qb_buf_steal(&b);
}

/* ---- events ---- */

static int set_text(struct qb_event *ev, const char *s)
{
    if (!s)
        return QB_OK;
    free(ev->text);
    ev->text = qb_strdup(s);
    return ev->text ? QB_OK : QB_ENOMEM;
}

static void set_name(struct qb_event *ev, const char *s)
{
    qb_strlcpy(ev->name, s, sizeof ev->name);
}

static int unknown(struct qb_event *ev, const char *name)
{
    ev->kind = QB_EV_UNKNOWN;
    set_name(ev, name);
    return QB_OK;
}

/* Fields every event kind may carry. */
static void common(const cJSON *o, struct qb_event *ev)
{
    int64_t t;
    const cJSON *tv = field(o, "time");
    qb_strlcpy(ev->platform, "qq", sizeof ev->platform);
    if (cJSON_IsNumber(tv) && tv->valuedouble > -9e15 && tv->valuedouble < 9e15)
        ev->time_ms = (int64_t)(tv->valuedouble * 1000.0); /* seconds, maybe fractional */
    else if (json_i64(tv, &t) && t > -9000000000000000LL && t < 9000000000000000LL)
        ev->time_ms = t * 1000;
    field_id(o, "self_id", ev->self_id, sizeof ev->self_id);
    field_id(o, "group_id", ev->group_id, sizeof ev->group_id);
    field_id(o, "user_id", ev->user_id, sizeof ev->user_id);
    field_id(o, "operator_id", ev->operator_id, sizeof ev->operator_id);
    field_id(o, "target_id", ev->target_id, sizeof ev->target_id);
    field_id(o, "message_id", ev->message_id, sizeof ev->message_id);
    const char *st = field_str(o, "sub_type");
    qb_strlcpy(ev->sub_type, st ? st : "", sizeof ev->sub_type);
    ev->chat = ev->group_id[0] ? QB_CHAT_GROUP : ev->user_id[0] ? QB_CHAT_PRIVATE : QB_CHAT_NONE;
}

static enum qb_role role_of(const char *s)
{
    if (!s)
        return QB_ROLE_UNKNOWN;
    if (!strcmp(s, "owner"))
        return QB_ROLE_OWNER;
    if (!strcmp(s, "admin"))
        return QB_ROLE_ADMIN;
    if (!strcmp(s, "member"))
        return QB_ROLE_MEMBER;
    return QB_ROLE_UNKNOWN;
}

/* message / message_sent (post_type given; history items may lack it). */
static int parse_message(const cJSON *o, const char *post_type, struct qb_event *ev)
{
    const char *mt = field_str(o, "message_type");
    if (mt && !strcmp(mt, "group"))
        ev->chat = QB_CHAT_GROUP;
    else if (mt && !strcmp(mt, "private"))
        ev->chat = QB_CHAT_PRIVATE;
    else if (mt)
        return unknown(ev, mt);
    ev->kind = strcmp(post_type, "message_sent") ? QB_EV_MESSAGE : QB_EV_MESSAGE_SELF;
    set_name(ev, post_type);
    const cJSON *sender = field(o, "sender");
    if (!ev->user_id[0] && field_id(sender, "user_id", ev->user_id, sizeof ev->user_id) &&
        ev->chat == QB_CHAT_NONE)
        ev->chat = QB_CHAT_PRIVATE;
    const char *card = field_str(sender, "card");
    const char *nick = field_str(sender, "nickname");
    qb_strlcpy(ev->sender_name, card && card[0] ? card : nick ? nick : "", sizeof ev->sender_name);
    ev->sender_role = role_of(field_str(sender, "role"));
    const cJSON *msg = field(o, "message");
    if (!cJSON_IsString(msg) && !cJSON_IsArray(msg) && !cJSON_IsObject(msg))
        msg = field(o, "raw_message");
    return msg_from_json(&ev->msg, msg);
}

struct notice_map {
    const char *name;
    enum qb_event_kind kind;
    const char *text_key; /* field copied into ev->text */
};

/* notice_type values */
static const struct notice_map notices[] = {
        {"group_increase", QB_EV_MEMBER_JOIN, NULL},
        {"group_decrease", QB_EV_MEMBER_LEAVE, NULL},
        {"group_recall", QB_EV_RECALL, NULL},
        {"friend_recall", QB_EV_RECALL, NULL},
        {"group_ban", QB_EV_MUTE, NULL},
        {"group_admin", QB_EV_ADMIN_CHANGE, NULL},
        {"group_card", QB_EV_CARD_CHANGE, "card_new"},
        {"friend_add", QB_EV_FRIEND_ADD, NULL},
        {"bot_offline", QB_EV_BOT_OFFLINE, "message"},
        {"group_upload", QB_EV_NOTICE, NULL},
        {"essence", QB_EV_NOTICE, NULL},
        {"group_msg_emoji_like", QB_EV_NOTICE, NULL},
};

/* sub_types of notice_type "notify" */
static const struct notice_map notifies[] = {
        {"poke", QB_EV_POKE, NULL},
        {"lucky_king", QB_EV_NOTICE, NULL},
        {"honor", QB_EV_NOTICE, "honor_type"},
        {"title", QB_EV_NOTICE, "title"},
        {"group_name", QB_EV_NOTICE, "name_new"},
        {"input_status", QB_EV_NOTICE, "status_text"},
        {"profile_like", QB_EV_NOTICE, "operator_nick"},
        {"gray_tip", QB_EV_NOTICE, "content"},
};

static const struct notice_map *notice_find(const struct notice_map *t, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(t[i].name, s))
            return &t[i];
    return NULL;
}

static int parse_notice(const cJSON *o, struct qb_event *ev)
{
    const char *nt = field_str(o, "notice_type");
    const struct notice_map *m;
    if (nt && !strcmp(nt, "notify")) {
        m = notice_find(notifies, sizeof notifies / sizeof notifies[0], ev->sub_type);
        if (!m)
            return unknown(ev, ev->sub_type[0] ? ev->sub_type : nt);
    } else {
        m = notice_find(notices, sizeof notices / sizeof notices[0], nt);
        if (!m)
            return unknown(ev, nt ? nt : "notice");
    }
    ev->kind = m->kind;
    set_name(ev, m->name);
    /* NapCat poke and essence name the actor sender_id */
    if (!ev->user_id[0] && field_id(o, "sender_id", ev->user_id, sizeof ev->user_id) &&
        ev->chat == QB_CHAT_NONE)
        ev->chat = QB_CHAT_PRIVATE;
    if (ev->kind == QB_EV_MUTE)
        field_i64(o, "duration", &ev->duration_s);
    if (ev->kind == QB_EV_BOT_OFFLINE)
        ev->chat = QB_CHAT_NONE;
    if (!strcmp(m->name, "group_upload"))
        return set_text(ev, field_str(field(o, "file"), "name"));
    return m->text_key ? set_text(ev, field_str(o, m->text_key)) : QB_OK;
}

static int parse_request(const cJSON *o, struct qb_event *ev)
{
    const char *rt = field_str(o, "request_type");
    if (rt && !strcmp(rt, "group") && !strcmp(ev->sub_type, "add"))
        ev->kind = QB_EV_JOIN_REQUEST;
    else if (rt && !strcmp(rt, "group") && !strcmp(ev->sub_type, "invite"))
        ev->kind = QB_EV_GROUP_INVITE;
    else if (rt && !strcmp(rt, "friend"))
        ev->kind = QB_EV_FRIEND_REQUEST;
    else if (rt && !strcmp(rt, "group"))
        return unknown(ev, ev->sub_type[0] ? ev->sub_type : rt);
    else
        return unknown(ev, rt ? rt : "request");
    set_name(ev, rt);
    if (ev->kind == QB_EV_FRIEND_REQUEST)
        ev->chat = QB_CHAT_PRIVATE;
    field_id(o, "flag", ev->flag, sizeof ev->flag);
    return set_text(ev, field_str(o, "comment"));
}

static int parse_meta(const cJSON *o, struct qb_event *ev)
{
    const char *mt = field_str(o, "meta_event_type");
    ev->chat = QB_CHAT_NONE;
    if (mt && !strcmp(mt, "lifecycle")) {
        ev->kind = QB_EV_LIFECYCLE;
    } else if (mt && !strcmp(mt, "heartbeat")) {
        ev->kind = QB_EV_HEARTBEAT;
        field_i64(o, "interval", &ev->interval_ms);
        ev->online = true;
        field_bool(field(o, "status"), "online", &ev->online);
    } else {
        return unknown(ev, mt ? mt : "meta_event");
    }
    set_name(ev, mt);
    return QB_OK;
}

static int parse_event(const cJSON *o, const char *post_type, struct qb_event *ev)
{
    common(o, ev);
    if (!strcmp(post_type, "message") || !strcmp(post_type, "message_sent"))
        return parse_message(o, post_type, ev);
    if (!strcmp(post_type, "notice"))
        return parse_notice(o, ev);
    if (!strcmp(post_type, "request"))
        return parse_request(o, ev);
    if (!strcmp(post_type, "meta_event"))
        return parse_meta(o, ev);
    return unknown(ev, post_type[0] ? post_type : "unknown");
}

/* ---- responses ---- */

static void echo_string(const cJSON *v, char *dst, size_t n)
{
    dst[0] = '\0';
    if (!v || cJSON_IsNull(v) || json_id(v, dst, n))
        return;
    char *s = json_compact(v);
    qb_strlcpy(dst, s ? s : "", n);
    free(s);
}

static void parse_response(const cJSON *o, struct qb_frame *f)
{
    echo_string(field(o, "echo"), f->echo, sizeof f->echo);
    const char *status = field_str(o, "status");
    int64_t rc = 0;
    bool has_rc = field_i64(o, "retcode", &rc) && rc >= INT_MIN && rc <= INT_MAX;
    if (status)
        f->ok = (!strcmp(status, "ok") || !strcmp(status, "async")) &&
                (!has_rc || rc == 0 || rc == 1);
    else
        f->ok = has_rc && rc == 0;
    f->retcode = has_rc ? (int)rc : f->ok ? 0 : -1;
    if (!f->ok) {
        const char *d = field_str(o, "message");
        if (!d || !d[0])
            d = field_str(o, "wording");
        qb_strlcpy(f->detail, d ? d : "", sizeof f->detail);
    }
    f->data = field(o, "data");
}

/* ---- frames ---- */

void qb_frame_init(struct qb_frame *f)
{
    memset(f, 0, sizeof *f);
    qb_event_init(&f->ev);
}

void qb_frame_clear(struct qb_frame *f)
{
    if (!f)
        return;
    qb_event_clear(&f->ev);
    cJSON_Delete(f->root);
    qb_frame_init(f);
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    return "null";
}

/* Parse the whole buffer as one JSON document; trailing non-space bytes are an error. */
static cJSON *parse_json(const char *buf, size_t len, size_t *bad_at)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
    size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
    if (root) {
        while (at < len &&
               (buf[at] == ' ' || buf[at] == '\t' || buf[at] == '\r' || buf[at] == '\n'))
            at++;
        if (at == len)
            return root;
        cJSON_Delete(root);
    }
    *bad_at = at;
    return NULL;
}

/* The frame is parsed into a freshly initialised *out (a previous content is not freed). */
static int ob11_parse(const char *buf, size_t len, struct qb_frame *out, char *err, size_t errlen)
{
    qb_frame_init(out);
    size_t bad_at = 0;
    if (!buf || !len) {
        snprintf(err, errlen, "the frame is empty");
        return QB_EPARSE;
    }
    if (!qb_utf8_valid(buf, len)) {
        snprintf(err, errlen, "frame is not valid UTF-8");
        return QB_EPARSE;
    }
    cJSON *root = parse_json(buf, len, &bad_at);
    if (!root) {
        snprintf(err, errlen, "malformed JSON at byte %zu", bad_at);
        return QB_EPARSE;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the frame is %s, not a JSON object", json_kind(root));
        cJSON_Delete(root);
        return QB_EINVAL;
    }
    out->root = root;
    const char *post_type = field_str(root, "post_type");
    int rc = QB_OK;
    if (post_type) {
        out->type = QB_FRAME_EVENT;
        rc = parse_event(root, post_type, &out->ev);
    } else {
        out->type = QB_FRAME_RESPONSE;
        parse_response(root, out);
    }
    if (rc != QB_OK) {
        snprintf(err, errlen, "out of memory while reading a frame");
        qb_frame_clear(out);
    }
    return rc;
}

/* ---- requests ---- */

/* Ids go out as JSON numbers when they are plain decimal int64 (NapCat#124: string ids
 * made older NapCat time out), written verbatim so no digit is lost to a double. */
static void put_id(cJSON *o, const char *key, const char *id, int *rc)
{
    size_t n = strlen(id);
    bool digits = n > 0 && n <= 19 && strspn(id, "0123456789") == n && (id[0] != '0' || n == 1);
    if (digits && n == 19 && strcmp(id, "9223372036854775807") > 0)
        digits = false;
    cJSON *v = digits ? cJSON_CreateRaw(id) : cJSON_CreateString(id);
    if (!v || !cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        *rc = QB_ENOMEM;
    }
}

static void put_num(cJSON *o, const char *key, int64_t v, int *rc)
{
    if (!cJSON_AddNumberToObject(o, key, (double)v))
        *rc = QB_ENOMEM;
}

static void put_bool(cJSON *o, const char *key, bool v, int *rc)
{
    if (!cJSON_AddBoolToObject(o, key, v))
        *rc = QB_ENOMEM;
}

static void put_msg(cJSON *o, const struct qb_msg *m, int *rc)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "message");
    if (!arr) {
        *rc = QB_ENOMEM;
        return;
    }
    for (size_t i = 0; i < m->n && *rc == QB_OK; i++) {
        cJSON *s = seg_to_json(&m->segs[i], true);
        if (!s)
            *rc = QB_ENOMEM;
        else
            cJSON_AddItemToArray(arr, s);
    }
}

/* Required ids present? */
static bool ids_given(const char *a, const char *b)
{
    return a[0] && (!b || b[0]);
}

static const char *send_params(const struct qb_action *a, cJSON *p, int *rc)
{
    bool group = a->chat == QB_CHAT_GROUP || (a->chat == QB_CHAT_NONE && a->group_id[0]);
    if (!a->msg.n || !ids_given(group ? a->group_id : a->user_id, NULL)) {
        *rc = QB_EINVAL;
        return NULL;
    }
    if (group) {
        put_id(p, "group_id", a->group_id, rc);
    } else {
        put_id(p, "user_id", a->user_id, rc);
        if (a->group_id[0]) /* NapCat: temporary chat through a group */
            put_id(p, "group_id", a->group_id, rc);
    }
    put_msg(p, &a->msg, rc);
    return group ? "send_group_msg" : "send_private_msg";
}

static const char *request_params(const struct qb_action *a, cJSON *p, int *rc)
{
    if (!a->flag[0]) {
        *rc = QB_EINVAL;
        return NULL;
    }
    put_str(p, "flag", a->flag, rc);
    put_bool(p, "approve", a->enable, rc);
    if (!strcmp(a->sub_type, "friend"))
        return "set_friend_add_request";
    put_str(p, "sub_type", a->sub_type[0] ? a->sub_type : "add", rc);
    put_str(p, "reason", a->text, rc);
    return "set_group_add_request";
}

/* Fill params for a; returns the action name, or NULL with *rc set. */
static const char *build_params(const struct qb_action *a, cJSON *p, int *rc)
{
    const char *g = a->group_id, *u = a->user_id;
    bool member = a->kind == QB_ACT_MUTE || a->kind == QB_ACT_KICK || a->kind == QB_ACT_SET_CARD ||
                  a->kind == QB_ACT_SET_TITLE || a->kind == QB_ACT_GET_MEMBER;
    if ((member && !ids_given(g, u)) ||
        ((a->kind == QB_ACT_MUTE_ALL || a->kind == QB_ACT_GET_HISTORY) && !ids_given(g, NULL)) ||
        (a->kind == QB_ACT_RECALL && !ids_given(a->message_id, NULL))) {
        *rc = QB_EINVAL;
        return NULL;
    }
    if (member || a->kind == QB_ACT_MUTE_ALL || a->kind == QB_ACT_GET_HISTORY)
        put_id(p, "group_id", g, rc);
    if (member)
        put_id(p, "user_id", u, rc);
    switch (a->kind) {
    case QB_ACT_SEND:
        return send_params(a, p, rc);
    case QB_ACT_RECALL:
        put_id(p, "message_id", a->message_id, rc);
        return "delete_msg";
    case QB_ACT_MUTE:
        put_num(p, "duration", a->duration_s > 0 ? a->duration_s : 0, rc);
        return "set_group_ban";
    case QB_ACT_MUTE_ALL:
        put_bool(p, "enable", a->enable, rc);
        return "set_group_whole_ban";
    case QB_ACT_KICK:
        put_bool(p, "reject_add_request", a->enable, rc);
        return "set_group_kick";
    case QB_ACT_SET_CARD:
        put_str(p, "card", a->text ? a->text : "", rc);
        return "set_group_card";
    case QB_ACT_SET_TITLE:
        put_str(p, "special_title", a->text ? a->text : "", rc);
        put_num(p, "duration", -1, rc);
        return "set_group_special_title";
    case QB_ACT_HANDLE_REQUEST:
        return request_params(a, p, rc);
    case QB_ACT_GET_STATUS:
        return "get_status";
    case QB_ACT_GET_LOGIN:
        return "get_login_info";
    case QB_ACT_GET_HISTORY:
        put_num(p, "count", a->count > 0 ? a->count : 20, rc);
        return "get_group_msg_history";
    case QB_ACT_GET_MEMBER:
        put_bool(p, "no_cache", false, rc);
        return "get_group_member_info";
    case QB_ACT__COUNT:
        break;
    }
    *rc = QB_ENOTSUP;
    return NULL;
}

static char *ob11_format(const struct qb_action *a, const char *echo, int *err)
{
    int rc = QB_OK;
    char *out = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *params = cJSON_CreateObject();
    if (!root || !params) {
        rc = QB_ENOMEM;
        cJSON_Delete(params);
        goto done;
    }
    const char *action = build_params(a, params, &rc);
    put_str(root, "action", action, &rc);
    cJSON_AddItemToObject(root, "params", params);
    put_str(root, "echo", echo ? echo : "", &rc);
    if (rc != QB_OK)
        goto done;
    if (!(out = json_compact(root))) {
        rc = QB_ENOMEM;
        goto done;
    }
    /* cJSON copies bytes as they are: keep the frame valid UTF-8 whatever plugins passed */
    qb_utf8_sanitize(out, strlen(out));
done:
    cJSON_Delete(root);
    if (err)
        *err = rc;
    return out;
}

/* ---- results ---- */

static int err_of_retcode(int retcode)
{
    switch (retcode) {
    case 1404:
        return QB_ENOTSUP;
    case 1401:
    case 1403:
        return QB_EDENIED;
    default:
        return QB_EFAILED;
    }
}

static int64_t seconds_ms(const cJSON *o, const char *key)
{
    int64_t s = 0;
    return field_i64(o, key, &s) && s > 0 && s < 9000000000000LL ? s * 1000 : 0;
}

static void member_info(const struct qb_action *a, const cJSON *d, struct qb_member_info *mi)
{
    const char *s;
    memset(mi, 0, sizeof *mi);
    if (!field_id(d, "user_id", mi->user_id, sizeof mi->user_id))
        qb_id_set(mi->user_id, a->user_id);
    if ((s = field_str(d, "nickname")))
        qb_strlcpy(mi->nickname, s, sizeof mi->nickname);
    if ((s = field_str(d, "card")))
        qb_strlcpy(mi->card, s, sizeof mi->card);
    if ((s = field_str(d, "title")))
        qb_strlcpy(mi->title, s, sizeof mi->title);
    mi->role = role_of(field_str(d, "role"));
    mi->join_time_ms = seconds_ms(d, "join_time");
    mi->last_sent_ms = seconds_ms(d, "last_sent_time");
}

static void ob11_result(const struct qb_action *a, const struct qb_frame *resp, struct qb_result *r,
                        struct qb_member_info *mi)
{
    r->message_id[0] = '\0';
    r->member = NULL;
    if (resp->type != QB_FRAME_RESPONSE) {
        r->err = QB_EFAILED;
        r->retcode = -1;
        r->detail = "";
        return;
    }
    r->retcode = resp->retcode;
    r->detail = resp->detail;
    r->err = resp->ok ? QB_OK : err_of_retcode(resp->retcode);
    if (!resp->ok)
        return;
    const cJSON *data = resp->data;
    if (a->kind == QB_ACT_SEND)
        field_id(data, "message_id", r->message_id, sizeof r->message_id);
    /* GET_LOGIN answers {user_id, nickname}: the same shape, read the same way */
    if ((a->kind == QB_ACT_GET_MEMBER || a->kind == QB_ACT_GET_LOGIN) && mi) {
        member_info(a, data, mi);
        r->member = mi;
    }
}

/* ---- history ---- */

struct hist_item {
    struct qb_event ev;
    size_t idx;
};

static int hist_cmp(const void *pa, const void *pb)
{
    const struct hist_item *a = pa, *b = pb;
    if (a->ev.time_ms != b->ev.time_ms)
        return a->ev.time_ms < b->ev.time_ms ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Parse one history entry as a live message would be; false when it is not a message. */
static bool hist_parse(const cJSON *o, const char *self_id, struct qb_event *ev)
{
    const char *pt = field_str(o, "post_type");
    qb_event_init(ev);
    common(o, ev);
    /* without a message id an item cannot be deduplicated against live events */
    if (parse_message(o, pt && !strcmp(pt, "message_sent") ? pt : "message", ev) != QB_OK ||
        ev->kind == QB_EV_UNKNOWN || !ev->message_id[0]) {
        qb_event_clear(ev);
        return false;
    }
    if (self_id && self_id[0])
        qb_id_set(ev->self_id, self_id);
    /* the bot's own lines come back as ordinary messages: never let plugins answer them */
    if (ev->self_id[0] && !strcmp(ev->user_id, ev->self_id))
        ev->kind = QB_EV_MESSAGE_SELF;
    ev->backfilled = true;
    return true;
}

static int ob11_history(const struct qb_frame *resp, const char *self_id,
                        void (*each)(struct qb_event *ev, void *ud), void *ud)
{
    const cJSON *data = resp ? resp->data : NULL;
    const cJSON *list = cJSON_IsArray(data) ? data : field(data, "messages");
    int total = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    if (total <= 0)
        return 0;
    struct hist_item *items = calloc((size_t)total, sizeof *items);
    if (!items)
        return 0;
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        if (hist_parse(it, self_id, &items[n].ev)) {
            items[n].idx = n;
            n++;
        }
    }
    /* newest-first lists: reverse the index order so equal timestamps stay oldest first */
    if (n > 1 && items[0].ev.time_ms > items[n - 1].ev.time_ms)
        for (size_t i = 0; i < n; i++)
            items[i].idx = n - 1 - i;
    qsort(items, n, sizeof *items, hist_cmp);
    for (size_t i = 0; i < n; i++) {
        if (each)
            each(&items[i].ev, ud);
        qb_event_clear(&items[i].ev);
    }
    free(items);
    return (int)n;
}

const struct qb_adapter_ops qb_onebot11 = {
        .name = "onebot11",
        .platform = "qq",
        .parse = ob11_parse,
        .format = ob11_format,
        .result = ob11_result,
        .history = ob11_history,
};
