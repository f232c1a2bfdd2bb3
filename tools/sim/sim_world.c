/*
 * sim_world.c — the simulator's world: groups, members, message history and pending
 * requests, plus the CQ-code codec and the JSON shapes NapCat uses for them.
 * Owns every record it stores (freed by sim__world_free). Does no networking and never
 * pushes events itself; callers decide what to emit.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_int.h"

#define SIM_HISTORY_MAX 20000

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

struct sim_group *sim__group(struct qb_sim *s, const char *group_id)
{
    for (size_t i = 0; group_id && i < s->ngroups; i++)
        if (!strcmp(s->groups[i]->group_id, group_id))
            return s->groups[i];
    return NULL;
}

struct sim_member *sim__member(struct sim_group *g, const char *user_id)
{
    for (size_t i = 0; g && user_id && i < g->nmembers; i++)
        if (!strcmp(g->members[i]->user_id, user_id))
            return g->members[i];
    return NULL;
}

int sim__role_rank(const char *role)
{
    if (!strcmp(role, "owner"))
        return 3;
    if (!strcmp(role, "admin"))
        return 2;
    return 1;
}

static void member_free(struct sim_member *m)
{
    if (!m)
        return;
    free(m->nickname);
    free(m->card);
    free(m->title);
    free(m);
}

struct sim_member *sim__member_add(struct sim_group *g, const char *user_id, const char *nickname,
                                   const char *role)
{
    struct sim_member *m = sim__member(g, user_id);
    if (!m) {
        struct sim_member **arr = grow(g->members, &g->cap, g->nmembers + 1, sizeof *g->members);
        if (!arr)
            return NULL;
        g->members = arr;
        m = calloc(1, sizeof *m);
        if (!m)
            return NULL;
        qb_strlcpy(m->user_id, user_id, sizeof m->user_id);
        m->card = strdup("");
        m->title = strdup("");
        m->join_time = qb_clock_now() / 1000;
        g->members[g->nmembers++] = m;
    }
    if (nickname) {
        free(m->nickname);
        m->nickname = strdup(nickname);
    } else if (!m->nickname) {
        m->nickname = strdup("");
    }
    qb_strlcpy(m->role, role ? role : "member", sizeof m->role);
    return m;
}

void sim__member_remove(struct sim_group *g, const char *user_id)
{
    for (size_t i = 0; i < g->nmembers; i++) {
        if (strcmp(g->members[i]->user_id, user_id))
            continue;
        member_free(g->members[i]);
        memmove(&g->members[i], &g->members[i + 1], (g->nmembers - i - 1) * sizeof *g->members);
        g->nmembers--;
        return;
    }
}

void sim__group_free(struct sim_group *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nmembers; i++)
        member_free(g->members[i]);
    free(g->members);
    free(g->name);
    free(g);
}

const char *sim__nickname(struct qb_sim *s, const char *user_id, char *buf, size_t len)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        struct sim_member *m = sim__member(s->groups[i], user_id);
        if (m && m->nickname && *m->nickname)
            return m->nickname;
    }
    snprintf(buf, len, "QQ用户%s", user_id);
    return buf;
}

void sim__msg_free(struct sim_msg *m)
{
    if (!m)
        return;
    cJSON_Delete(m->message);
    free(m->raw);
    free(m->nickname);
    free(m->card);
    free(m);
}

/* The transcript line a person reads: "12:00:01 [读书会] 王小明: 签到". */
static void print_line(struct qb_sim *s, const struct sim_msg *m)
{
    char when[16];
    time_t t = (time_t)m->time;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%H:%M:%S", &tm);
    struct sim_group *g = m->group ? sim__group(s, m->group_id) : NULL;
    char where[128];
    if (g)
        snprintf(where, sizeof where, "[%s]", g->name ? g->name : g->group_id);
    else
        snprintf(where, sizeof where, "[private %s]", m->self ? m->target_id : m->user_id);
    printf("%s %s %s%s: %s\n", when, where, m->self ? "🤖 " : "",
           m->self ? "qunbot" : (m->card && *m->card ? m->card : m->nickname),
           m->raw ? m->raw : "");
    fflush(stdout);
}

struct sim_msg *sim__msg_store(struct qb_sim *s, bool group, const char *group_id,
                               const char *user_id, const char *target_id, cJSON *message,
                               char *raw, bool self)
{
    if (s->nmsgs >= SIM_HISTORY_MAX) {
        size_t drop = SIM_HISTORY_MAX / 2;
        for (size_t i = 0; i < drop; i++)
            sim__msg_free(s->msgs[i]);
        memmove(s->msgs, s->msgs + drop, (s->nmsgs - drop) * sizeof *s->msgs);
        s->nmsgs -= drop;
    }
    struct sim_msg **arr = grow(s->msgs, &s->mcap, s->nmsgs + 1, sizeof *s->msgs);
    struct sim_msg *m = arr ? calloc(1, sizeof *m) : NULL;
    if (!m) {
        if (arr)
            s->msgs = arr;
        cJSON_Delete(message);
        free(raw);
        return NULL;
    }
    s->msgs = arr;
    if (s->next_msg_id <= 0 || s->next_msg_id >= 0x7fffffff)
        s->next_msg_id = 1000001;
    m->message_id = s->next_msg_id++;
    m->group = group;
    m->self = self;
    qb_strlcpy(m->group_id, group ? group_id : "", sizeof m->group_id);
    qb_strlcpy(m->user_id, user_id, sizeof m->user_id);
    qb_strlcpy(m->target_id, target_id ? target_id : "", sizeof m->target_id);
    m->time = qb_clock_now() / 1000;
    m->message = message;
    m->raw = raw;
    struct sim_member *mem = group ? sim__member(sim__group(s, group_id), user_id) : NULL;
    char nb[64];
    m->nickname = strdup(mem ? mem->nickname : sim__nickname(s, user_id, nb, sizeof nb));
    m->card = strdup(mem ? mem->card : "");
    qb_strlcpy(m->role, mem ? mem->role : "member", sizeof m->role);
    if (mem)
        mem->last_sent_time = m->time;
    s->msgs[s->nmsgs++] = m;
    if (s->transcript)
        print_line(s, m);
    return m;
}

struct sim_msg *sim__msg_find(struct qb_sim *s, int64_t message_id)
{
    for (size_t i = s->nmsgs; i-- > 0;)
        if (s->msgs[i]->message_id == message_id)
            return s->msgs[i];
    return NULL;
}

struct sim_req *sim__req_add(struct qb_sim *s, bool group, const char *group_id,
                             const char *user_id, const char *comment)
{
    struct sim_req **arr = grow(s->reqs, &s->rcap, s->nreqs + 1, sizeof *s->reqs);
    if (!arr)
        return NULL;
    s->reqs = arr;
    struct sim_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->group = group;
    r->seq = ++s->next_seq + 7300000000LL;
    qb_strlcpy(r->group_id, group ? group_id : "", sizeof r->group_id);
    qb_strlcpy(r->user_id, user_id, sizeof r->user_id);
    r->comment = strdup(comment ? comment : "");
    /* opaque to the bot, shaped like NapCat's "<group>|<seq>|<type>" */
    snprintf(r->flag, sizeof r->flag, "%s|%lld|%d", group ? group_id : user_id, (long long)r->seq,
             group ? 1 : 0);
    s->reqs[s->nreqs++] = r;
    return r;
}

struct sim_req *sim__req_find(struct qb_sim *s, const char *flag)
{
    for (size_t i = 0; flag && i < s->nreqs; i++)
        if (!strcmp(s->reqs[i]->flag, flag))
            return s->reqs[i];
    return NULL;
}

void sim__world_free(struct qb_sim *s)
{
    for (size_t i = 0; i < s->ngroups; i++)
        sim__group_free(s->groups[i]);
    free(s->groups);
    for (size_t i = 0; i < s->nmsgs; i++)
        sim__msg_free(s->msgs[i]);
    free(s->msgs);
    for (size_t i = 0; i < s->nreqs; i++) {
        free(s->reqs[i]->comment);
        free(s->reqs[i]);
    }
    free(s->reqs);
    s->groups = NULL;
    s->msgs = NULL;
    s->reqs = NULL;
    s->ngroups = s->nmsgs = s->nreqs = 0;
}

/* ---- CQ codes ---- */

char *sim__cq_escape(const char *s, bool param)
{
    struct qb_buf b;
    qb_buf_init(&b);
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            qb_buf_puts(&b, "&amp;");
            break;
        case '[':
            qb_buf_puts(&b, "&#91;");
            break;
        case ']':
            qb_buf_puts(&b, "&#93;");
            break;
        case ',':
            qb_buf_puts(&b, param ? "&#44;" : ",");
            break;
        default:
            qb_buf_append(&b, s, 1);
        }
    }
    return qb_buf_steal(&b);
}

char *sim__cq_unescape(const char *s, size_t len)
{
    static const struct {
        const char *from, to;
    } map[] = {{"&#44;", ','}, {"&#91;", '['}, {"&#93;", ']'}, {"&amp;", '&'}};
    struct qb_buf b;
    qb_buf_init(&b);
    for (size_t i = 0; i < len;) {
        bool done = false;
        for (size_t k = 0; k < sizeof map / sizeof map[0] && s[i] == '&'; k++) {
            size_t n = strlen(map[k].from);
            if (i + n <= len && !memcmp(s + i, map[k].from, n)) {
                qb_buf_append(&b, &map[k].to, 1);
                i += n;
                done = true;
                break;
            }
        }
        if (!done)
            qb_buf_append(&b, s + i++, 1);
    }
    return qb_buf_steal(&b);
}

/* A segment data value as a string ("" for null/objects). Caller frees. */
static char *value_string(const cJSON *v)
{
    char num[64];
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble == (double)(long long)v->valuedouble)
            snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
        else
            snprintf(num, sizeof num, "%g", v->valuedouble);
        return strdup(num);
    }
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        char *p = cJSON_PrintUnformatted(v);
        char *r = strdup(p ? p : "");
        cJSON_free(p);
        return r;
    }
    return strdup("");
}

char *sim__cq_render(const cJSON *segments)
{
    struct qb_buf b;
    qb_buf_init(&b);
    const cJSON *seg;
    cJSON_ArrayForEach(seg, segments)
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(seg, "type"));
        const cJSON *data = cJSON_GetObjectItem(seg, "data");
        if (!type)
            continue;
        if (!strcmp(type, "text")) {
            char *e =
                    sim__cq_escape(cJSON_GetStringValue(cJSON_GetObjectItem(data, "text")), false);
            qb_buf_puts(&b, e);
            free(e);
            continue;
        }
        qb_buf_printf(&b, "[CQ:%s", type);
        const cJSON *kv;
        cJSON_ArrayForEach(kv, data)
        {
            char *v = value_string(kv);
            char *e = sim__cq_escape(v, true);
            qb_buf_printf(&b, ",%s=%s", kv->string, e);
            free(v);
            free(e);
        }
        qb_buf_puts(&b, "]");
    }
    return qb_buf_steal(&b);
}

static void add_text(cJSON *arr, const char *s, size_t len)
{
    if (!len)
        return;
    char *t = sim__cq_unescape(s, len);
    cJSON *seg = cJSON_CreateObject();
    cJSON_AddStringToObject(seg, "type", "text");
    cJSON *data = cJSON_AddObjectToObject(seg, "data");
    cJSON_AddStringToObject(data, "text", t);
    cJSON_AddItemToArray(arr, seg);
    free(t);
}

static bool cq_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* Parse one "[CQ:...]" at s; returns its length or 0 if it is not a valid code. */
static size_t cq_code(const char *s, cJSON *arr)
{
    const char *end = strchr(s, ']');
    if (!end)
        return 0;
    const char *p = s + 4, *q = p;
    while (q < end && cq_name_char(*q))
        q++;
    if (q == p || (*q != ',' && *q != ']'))
        return 0;
    cJSON *seg = cJSON_CreateObject();
    char *type = qb_strndup(p, (size_t)(q - p));
    cJSON_AddStringToObject(seg, "type", type);
    free(type);
    cJSON *data = cJSON_AddObjectToObject(seg, "data");
    while (*q == ',') {
        const char *k = q + 1, *v = k;
        while (v < end && *v != '=' && *v != ',')
            v++;
        const char *ve = v;
        while (ve < end && *ve != ',')
            ve++;
        if (*v != '=' || v == k) {
            cJSON_Delete(seg);
            return 0;
        }
        char *key = qb_strndup(k, (size_t)(v - k));
        char *val = sim__cq_unescape(v + 1, (size_t)(ve - v - 1));
        cJSON_AddStringToObject(data, key, val);
        free(key);
        free(val);
        q = ve;
    }
    cJSON_AddItemToArray(arr, seg);
    return (size_t)(end - s) + 1;
}

cJSON *sim__cq_parse(const char *s)
{
    cJSON *arr = cJSON_CreateArray();
    const char *text = s;
    for (const char *p = s; *p;) {
        if (!strncmp(p, "[CQ:", 4)) {
            cJSON *tmp = cJSON_CreateArray();
            size_t n = cq_code(p, tmp);
            if (n) {
                add_text(arr, text, (size_t)(p - text));
                cJSON *seg = cJSON_DetachItemFromArray(tmp, 0);
                cJSON_AddItemToArray(arr, seg);
                p += n;
                text = p;
                cJSON_Delete(tmp);
                continue;
            }
            cJSON_Delete(tmp);
        }
        p++;
    }
    add_text(arr, text, strlen(text));
    return arr;
}

cJSON *sim__text_segments(const char *text)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *seg = cJSON_CreateObject();
    cJSON_AddStringToObject(seg, "type", "text");
    cJSON *data = cJSON_AddObjectToObject(seg, "data");
    cJSON_AddStringToObject(data, "text", text ? text : "");
    cJSON_AddItemToArray(arr, seg);
    return arr;
}

/* A copy of one segment with "data" made an object; NULL if it is not a segment. */
static cJSON *segment_copy(const cJSON *seg)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(seg, "type"));
    const cJSON *data = cJSON_GetObjectItem(seg, "data");
    if (!cJSON_IsObject(seg) || !type || !*type ||
        (data && !cJSON_IsObject(data) && !cJSON_IsNull(data)))
        return NULL;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "type", type);
    cJSON_AddItemToObject(
            out, "data", cJSON_IsObject(data) ? cJSON_Duplicate(data, true) : cJSON_CreateObject());
    return out;
}

cJSON *sim__message_param(const cJSON *message, bool auto_escape)
{
    if (cJSON_IsString(message))
        return auto_escape ? sim__text_segments(message->valuestring)
                           : sim__cq_parse(message->valuestring);
    if (cJSON_IsObject(message)) {
        cJSON *seg = segment_copy(message);
        if (!seg)
            return NULL;
        cJSON *arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, seg);
        return arr;
    }
    if (!cJSON_IsArray(message))
        return NULL;
    cJSON *arr = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, message)
    {
        cJSON *seg = segment_copy(it);
        if (!seg) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, seg);
    }
    return arr;
}

/* ---- JSON shapes ---- */

cJSON *sim__id_json(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    bool digits = n > 0 && n <= 15;
    for (size_t i = 0; digits && i < n; i++)
        digits = isdigit((unsigned char)id[i]) != 0;
    if (digits)
        return cJSON_CreateNumber(strtod(id, NULL));
    return cJSON_CreateString(id ? id : "");
}

cJSON *sim__event_new(struct qb_sim *s, const char *post_type)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddNumberToObject(ev, "time", (double)(qb_clock_now() / 1000));
    cJSON_AddItemToObject(ev, "self_id", sim__id_json(s->self_id));
    cJSON_AddStringToObject(ev, "post_type", post_type);
    return ev;
}

cJSON *sim__msg_json(struct qb_sim *s, const struct sim_msg *m, const char *post_type)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddNumberToObject(ev, "time", (double)m->time);
    cJSON_AddItemToObject(ev, "self_id", sim__id_json(s->self_id));
    cJSON_AddStringToObject(ev, "post_type", post_type);
    cJSON_AddStringToObject(ev, "message_type", m->group ? "group" : "private");
    cJSON_AddStringToObject(ev, "sub_type", m->group ? "normal" : "friend");
    cJSON_AddNumberToObject(ev, "message_id", (double)m->message_id);
    cJSON_AddNumberToObject(ev, "message_seq", (double)m->message_id);
    cJSON_AddNumberToObject(ev, "real_id", (double)m->message_id);
    char seq[32];
    snprintf(seq, sizeof seq, "%lld", (long long)(m->message_id % 1000000));
    cJSON_AddStringToObject(ev, "real_seq", seq);
    if (m->group)
        cJSON_AddItemToObject(ev, "group_id", sim__id_json(m->group_id));
    cJSON_AddItemToObject(ev, "user_id", sim__id_json(m->user_id));
    if (!m->group && m->self)
        cJSON_AddItemToObject(ev, "target_id", sim__id_json(m->target_id));
    if (m->group)
        cJSON_AddNullToObject(ev, "anonymous");
    cJSON_AddNumberToObject(ev, "font", 14);
    cJSON *sender = cJSON_AddObjectToObject(ev, "sender");
    cJSON_AddItemToObject(sender, "user_id", sim__id_json(m->user_id));
    cJSON_AddStringToObject(sender, "nickname", m->nickname);
    cJSON_AddStringToObject(sender, "card", m->group ? m->card : "");
    if (m->group)
        cJSON_AddStringToObject(sender, "role", m->role);
    bool recalled = m->recalled; /* NapCat#641: content is gone after a recall */
    if (s->string_format)
        cJSON_AddStringToObject(ev, "message", recalled ? "" : m->raw);
    else
        cJSON_AddItemToObject(ev, "message",
                              recalled ? cJSON_CreateArray() : cJSON_Duplicate(m->message, true));
    cJSON_AddStringToObject(ev, "raw_message", recalled ? "" : m->raw);
    cJSON_AddStringToObject(ev, "message_format", s->string_format ? "string" : "array");
    if (m->self)
        cJSON_AddStringToObject(ev, "message_sent_type", "self");
    if (m->group) {
        struct sim_group *g = sim__group(s, m->group_id);
        cJSON_AddStringToObject(ev, "group_name", g ? g->name : "");
    }
    return ev;
}

cJSON *sim__member_json(const struct sim_group *g, const struct sim_member *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "group_id", sim__id_json(g->group_id));
    cJSON_AddItemToObject(o, "user_id", sim__id_json(m->user_id));
    cJSON_AddStringToObject(o, "nickname", m->nickname);
    cJSON_AddStringToObject(o, "card", m->card);
    cJSON_AddStringToObject(o, "sex", "unknown");
    cJSON_AddNumberToObject(o, "age", 0);
    cJSON_AddStringToObject(o, "area", "");
    cJSON_AddNumberToObject(o, "join_time", (double)m->join_time);
    cJSON_AddNumberToObject(o, "last_sent_time", (double)m->last_sent_time);
    cJSON_AddStringToObject(o, "level", "1");
    cJSON_AddNumberToObject(o, "qq_level", 0);
    cJSON_AddStringToObject(o, "role", m->role);
    cJSON_AddBoolToObject(o, "unfriendly", false);
    cJSON_AddStringToObject(o, "title", m->title);
    cJSON_AddNumberToObject(o, "title_expire_time", 0);
    cJSON_AddBoolToObject(o, "card_changeable", true);
    cJSON_AddBoolToObject(o, "is_robot", false);
    int64_t now = qb_clock_now() / 1000;
    cJSON_AddNumberToObject(o, "shut_up_timestamp",
                            (double)(m->muted_until > now ? m->muted_until : 0));
    return o;
}

cJSON *sim__group_json(const struct sim_group *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "group_id", sim__id_json(g->group_id));
    cJSON_AddStringToObject(o, "group_name", g->name);
    cJSON_AddNumberToObject(o, "member_count", (double)g->nmembers);
    cJSON_AddNumberToObject(o, "max_member_count", 500);
    cJSON_AddNumberToObject(o, "group_all_shut", g->whole_ban ? -1 : 0);
    cJSON_AddStringToObject(o, "group_remark", "");
    return o;
}
