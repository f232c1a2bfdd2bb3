/*
 * signup_post.c — what the sign-up plugin shows: the compact repost of a list after a
 * change ("周六羽毛球（2/8）：1. 张三 2. 李四" with the waiting list on a second line),
 * changes within repost_window merged into one repost by an in-memory timer, members moved
 * up from the waiting list @-mentioned in that repost, and the CSV export for admins.
 *
 * Owns the pending reposts (state list). Member names only ever go into text segments;
 * CSV fields are quoted and spreadsheet formulas neutralised. Reads lists from the tables
 * at send time, so a repost always shows the stored truth.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signup.h"

#define SHOW_IN      100 /* names shown in a repost before "… 等 N 人" */
#define SHOW_WAITING 30

/* ---- pending reposts ---- */

static struct signup_pending *pending_of(struct qb_ctx *c, int64_t list_id)
{
    for (struct signup_pending *p = signup_st(c)->pending; p; p = p->next)
        if (p->list_id == list_id)
            return p;
    return NULL;
}

/* Remove and return the pending repost of a list (its timer cancelled), or NULL. */
static struct signup_pending *pending_take(struct qb_ctx *c, int64_t list_id)
{
    for (struct signup_pending **pp = &signup_st(c)->pending; *pp; pp = &(*pp)->next) {
        struct signup_pending *p = *pp;
        if (p->list_id == list_id) {
            *pp = p->next;
            qb_timer_cancel(c, p->timer);
            return p;
        }
    }
    return NULL;
}

void signup_pending_free(struct qb_ctx *c)
{
    struct signup_state *st = signup_st(c);
    while (st->pending) {
        struct signup_pending *p = st->pending;
        st->pending = p->next;
        qb_timer_cancel(c, p->timer);
        free(p);
    }
}

/* ---- rendering ---- */

static void put_entry(FILE *f, size_t i, const struct signup_entry *e)
{
    fprintf(f, "%s%zu. %s", i ? " " : "", i + 1, e->name);
    if (e->note[0])
        fprintf(f, "（%s）", e->note);
}

/* The list as text: title line with count and cap, then the waiting list. Caller frees. */
static char *render(const struct signup_list *l, const struct signup_entries *es)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    size_t in = l->cap > 0 && es->n > (size_t)l->cap ? (size_t)l->cap : es->n;
    if (l->cap > 0)
        fprintf(f, "%s（%zu/%lld）", l->name, in, (long long)l->cap);
    else
        fprintf(f, "%s（%zu 人）", l->name, in);
    if (!l->open)
        fputs("【已截止】", f);
    fputs("：", f);
    if (!es->n)
        fputs(l->open ? "还没有人报名，发「+1」或「报名」参加" : "没有人报名", f);
    for (size_t i = 0; i < in && i < SHOW_IN; i++)
        put_entry(f, i, &es->v[i]);
    if (in > SHOW_IN)
        fprintf(f, " … 等 %zu 人", in);
    if (es->n > in) {
        fputs("\n候补：", f);
        for (size_t i = 0; i < es->n - in && i < SHOW_WAITING; i++)
            put_entry(f, i, &es->v[in + i]);
        if (es->n - in > SHOW_WAITING)
            fprintf(f, " … 共 %zu 人候补", es->n - in);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Is user among the first cap (the "in" part) of the list? */
static bool is_in(const struct signup_list *l, const struct signup_entries *es, const char *user)
{
    for (size_t i = 0; i < es->n && (l->cap <= 0 || i < (size_t)l->cap); i++)
        if (!strcmp(es->v[i].user_id, user))
            return true;
    return false;
}

/* Send: promotion mentions (still in), the lead line, the list. */
static void post(struct qb_ctx *c, const struct signup_list *l, const struct signup_pending *p,
                 const char *lead)
{
    struct signup_entries es;
    if (signup_entries_load(c, l->id, &es) != QB_OK)
        return;
    char *body = render(l, &es);
    struct qb_msg m;
    qb_msg_init(&m);
    int rc = body ? QB_OK : QB_ENOMEM;
    for (size_t i = 0; p && rc == QB_OK && i < p->npromo; i++) {
        if (!is_in(l, &es, p->promoted[i]))
            continue; /* left again before the repost */
        rc = qb_msg_at(&m, p->promoted[i]);
        if (rc == QB_OK)
            rc = qb_msg_textf(&m, " 有人退出，你已从候补转为「%s」的正式报名。\n", l->name);
    }
    if (rc == QB_OK && lead)
        rc = qb_msg_textf(&m, "%s\n", lead);
    if (rc == QB_OK)
        rc = qb_msg_text(&m, body);
    if (rc == QB_OK && qb_msg_finish(&m) == QB_OK)
        qb_send_group(c, l->self_id, l->group_id, &m);
    qb_msg_clear(&m);
    free(body);
    free(es.v);
}

static void repost_fire(struct qb_ctx *c, void *ud)
{
    struct signup_pending *p = pending_take(c, (int64_t)(intptr_t)ud);
    struct signup_list l;
    if (p && signup_load(c, p->list_id, &l) == QB_OK)
        post(c, &l, p, NULL);
    free(p);
}

void signup_changed(struct qb_ctx *c, const struct signup_list *l, const char *promoted)
{
    struct signup_pending *p = pending_of(c, l->id);
    if (!p) {
        if (!(p = calloc(1, sizeof *p)))
            return;
        p->list_id = l->id;
        p->next = signup_st(c)->pending;
        signup_st(c)->pending = p;
        const struct signup_settings *s = signup_cfg(c, l->group_id);
        if (s && s->repost_ms > 0)
            p->timer = qb_timer_add(c, s->repost_ms, repost_fire, (void *)(intptr_t)l->id);
    }
    if (promoted && promoted[0] && p->npromo < SIGNUP_PROMO_MAX)
        qb_id_set(p->promoted[p->npromo++], promoted);
    if (p->timer <= 0) /* no merging (or no timer): post at once */
        repost_fire(c, (void *)(intptr_t)l->id);
}

void signup_post_now(struct qb_ctx *c, const struct signup_list *l, const char *lead)
{
    struct signup_pending *p = pending_take(c, l->id);
    post(c, l, p, lead);
    free(p);
}

/* ---- CSV ---- */

int signup_csv_field(const char *s, char *out, size_t n)
{
    bool formula = strchr("=+-@\t\r", s[0]) && s[0];
    bool quote = strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' ');
    size_t k = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (k + 1 >= n)                                                                            \
            return QB_ETOOBIG;                                                                     \
        out[k++] = (ch);                                                                           \
    } while (0)
    if (quote)
        PUT('"');
    if (formula)
        PUT('\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            PUT('"');
        PUT(*p);
    }
    if (quote)
        PUT('"');
#undef PUT
    if (!n)
        return QB_ETOOBIG;
    out[k] = '\0';
    return QB_OK;
}

static void put_field(FILE *f, const char *s, bool last)
{
    char buf[1024];
    if (signup_csv_field(s, buf, sizeof buf) == QB_OK)
        fputs(buf, f);
    fputs(last ? "\r\n" : ",", f);
}

static void local_time(struct qb_ctx *c, const char *group_id, int64_t ms, char *out, size_t n)
{
    struct tm tm;
    if (qb_localtime(c, qb_timezone(c, group_id), ms, &tm) != QB_OK) {
        snprintf(out, n, "%lld", (long long)ms);
        return;
    }
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int signup_export(struct qb_ctx *c, const struct signup_list *l, char *file, size_t n, size_t *rows)
{
    char path[1024];
    snprintf(file, n, "signup-%lld.csv", (long long)l->id);
    int rc = qb_export_path(c, file, path, sizeof path);
    if (rc != QB_OK)
        return rc;
    struct signup_entries es;
    if ((rc = signup_entries_load(c, l->id, &es)) != QB_OK)
        return rc;
    FILE *f = fopen(path, "w");
    if (!f) {
        free(es.v);
        return QB_EIO;
    }
    fputs("\xEF\xBB\xBF", f); /* BOM: spreadsheet programs then read the Chinese correctly */
    fputs("序号,状态,QQ号,昵称,备注,报名时间\r\n", f);
    for (size_t i = 0; i < es.n; i++) {
        char num[24], when[40];
        snprintf(num, sizeof num, "%zu", i + 1);
        local_time(c, l->group_id, es.v[i].ts, when, sizeof when);
        put_field(f, num, false);
        put_field(f, l->cap > 0 && i >= (size_t)l->cap ? "候补" : "正式", false);
        put_field(f, es.v[i].user_id, false);
        put_field(f, es.v[i].name, false);
        put_field(f, es.v[i].note, false);
        put_field(f, when, true);
    }
    *rows = es.n;
    free(es.v);
    return fclose(f) == 0 ? QB_OK : QB_EIO;
}
