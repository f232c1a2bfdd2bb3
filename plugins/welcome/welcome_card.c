/*
 * welcome_card.c — regular expressions (PCRE2, compiled once per pattern text and
 * cached in the plugin state) and the group-card convention: a member whose card does
 * not match card_pattern is reminded once (@mention + the hint) when they speak.
 *
 * The sender name of a message is the card, or the nickname when no card is set, so a
 * name that seems to match is confirmed with the real card (QB_ACT_GET_MEMBER) before
 * trusting it; an empty card never matches. Must not remind the same member twice.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "welcome.h"

#define VERIFIED_MAX 20000

static pcre2_code *re_compile(const char *pattern, int *err, PCRE2_SIZE *off)
{
    return pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, err,
                         off, NULL);
}

int welcome_re_check(const char *key, const char *pattern, char *why, size_t n)
{
    if (!pattern || !pattern[0])
        return QB_OK;
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *code = re_compile(pattern, &err, &off);
    if (code) {
        pcre2_code_free(code);
        return QB_OK;
    }
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(err, msg, sizeof msg) < 0)
        snprintf((char *)msg, sizeof msg, "error %d", err);
    snprintf(why, n, "%s \"%s\" is not a valid regular expression: %s at offset %zu", key, pattern,
             (const char *)msg, (size_t)off);
    return QB_EINVAL;
}

static struct welcome_re *re_get(struct qb_ctx *c, const char *pattern)
{
    struct welcome_state *st = welcome_st(c);
    for (struct welcome_re *r = st->res; r; r = r->next)
        if (!strcmp(r->pattern, pattern))
            return r;
    struct welcome_re *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->pattern = strdup(pattern);
    if (!r->pattern) {
        free(r);
        return NULL;
    }
    int err = 0;
    PCRE2_SIZE off = 0;
    r->code = re_compile(pattern, &err, &off);
    if (!r->code) /* the check hook refuses such rules; say it once if one slips through */
        qb_log(QB_LOG_WARN, "welcome: the regular expression \"%s\" does not compile; ignored",
               pattern);
    r->next = st->res;
    st->res = r;
    return r;
}

bool welcome_re_match(struct qb_ctx *c, const char *pattern, const char *text)
{
    struct welcome_re *r = re_get(c, pattern);
    if (!r || !r->code)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->code, NULL);
    if (!md)
        return false;
    int rc = pcre2_match(r->code, (PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

void welcome_res_free(struct qb_ctx *c)
{
    struct welcome_state *st = welcome_st(c);
    while (st->res) {
        struct welcome_re *r = st->res;
        st->res = r->next;
        pcre2_code_free(r->code);
        free(r->pattern);
        free(r);
    }
}

/* ---- cards known to match (in memory: a restart only costs one lookup each) ---- */

static void verified_key(char *out, size_t n, const char *group_id, const char *user_id,
                         const char *card)
{
    snprintf(out, n, "%s\x1f%s\x1f%s", group_id, user_id, card);
}

static bool verified_has(struct welcome_state *st, const char *key)
{
    for (size_t i = 0; i < st->nverified; i++)
        if (!strcmp(st->verified[i], key))
            return true;
    return false;
}

static void verified_add(struct welcome_state *st, const char *key)
{
    if (st->nverified == VERIFIED_MAX) { /* forget everything: re-checked on demand */
        for (size_t i = 0; i < st->nverified; i++)
            free(st->verified[i]);
        st->nverified = 0;
    }
    if (st->nverified == st->capverified) {
        size_t cap = st->capverified ? st->capverified * 2 : 64;
        char **v = realloc(st->verified, cap * sizeof *v);
        if (!v)
            return;
        st->verified = v;
        st->capverified = cap;
    }
    char *k = strdup(key);
    if (k)
        st->verified[st->nverified++] = k;
}

/* ---- the reminder ---- */

static bool already_reminded(struct qb_ctx *c, const char *group_id, const char *user_id)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT card_reminded FROM welcome_members"
                                  " WHERE group_id = ? AND user_id = ?");
    if (!st)
        return true; /* cannot tell: better silent than repetitive */
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    bool done = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return done;
}

static void remind(struct qb_ctx *c, const struct qb_event *ev, const char *self_id,
                   const char *group_id, const char *user_id, const char *name)
{
    if (already_reminded(c, group_id, user_id))
        return;
    welcome_member_ensure(c, group_id, user_id);
    sqlite3_stmt *st = qb_stmt(c, "UPDATE welcome_members SET card_reminded = 1"
                                  " WHERE group_id = ? AND user_id = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
    const struct welcome_settings *s = welcome_cfg(c, group_id);
    struct qb_tvar vars[] = {{"name", name}, {"hint", s->card_hint}};
    welcome_say(c, self_id, group_id, user_id, s->card_remind, vars, 2);
    char details[200];
    snprintf(details, sizeof details, "{\"group\":\"%s\",\"user\":\"%s\"}", group_id, user_id);
    qb_audit(c, ev, "welcome.card.reminded", details);
}

static bool lookup_pending(struct qb_ctx *c, const char *group_id, const char *user_id)
{
    for (struct welcome_job *j = welcome_st(c)->jobs; j; j = j->next)
        if (j->kind == WELCOME_JOB_CARD && !strcmp(j->group_id, group_id) &&
            !strcmp(j->user_id, user_id))
            return true;
    return false;
}

static void lookup_card(struct qb_ctx *c, const struct qb_event *ev)
{
    if (lookup_pending(c, ev->group_id, ev->user_id))
        return;
    struct welcome_job *j =
            welcome_job_new(c, WELCOME_JOB_CARD, ev->self_id, ev->group_id, ev->user_id);
    struct qb_action *a = j ? qb_action_new(QB_ACT_GET_MEMBER) : NULL;
    if (!a) {
        if (j)
            welcome_job_free(c, j);
        return;
    }
    j->text = strdup(ev->sender_name);
    qb_id_set(a->self_id, ev->self_id);
    qb_id_set(a->group_id, ev->group_id);
    qb_id_set(a->user_id, ev->user_id);
    if (qb_action_submit(c, a, welcome_card_answer, welcome_id_ud(j->id)) != QB_OK)
        welcome_job_free(c, j);
}

void welcome_card_answer(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    struct welcome_job *j = welcome_job_find(c, welcome_ud_id(ud));
    if (!j)
        return;
    const struct welcome_settings *s = welcome_cfg(c, j->group_id);
    char key[400];
    verified_key(key, sizeof key, j->group_id, j->user_id, j->text ? j->text : "");
    if (r->err != QB_OK || !r->member) {
        verified_add(welcome_st(c), key); /* cannot tell: fail open, do not ask again */
    } else if (s->card_pattern[0]) {
        const char *card = r->member->card;
        if (card[0] && welcome_re_match(c, s->card_pattern, card))
            verified_add(welcome_st(c), key);
        else
            remind(c, NULL, j->self_id, j->group_id, j->user_id,
                   r->member->nickname[0] ? r->member->nickname : j->user_id);
    }
    welcome_job_free(c, j);
}

void welcome_card_check(struct qb_ctx *c, const struct qb_event *ev)
{
    const struct welcome_settings *s = welcome_cfg(c, ev->group_id);
    if (!s->card_pattern[0] || ev->backfilled)
        return;
    struct welcome_re *re = re_get(c, s->card_pattern);
    if (!re || !re->code)
        return; /* a broken pattern checks nothing */
    if (already_reminded(c, ev->group_id, ev->user_id))
        return;
    const char *name = ev->sender_name;
    if (name[0] && !welcome_re_match(c, s->card_pattern, name)) {
        /* neither the card nor (without a card) the nickname matches */
        remind(c, ev, ev->self_id, ev->group_id, ev->user_id, name);
        return;
    }
    char key[400];
    verified_key(key, sizeof key, ev->group_id, ev->user_id, name);
    if (!verified_has(welcome_st(c), key))
        lookup_card(c, ev); /* it may be a nickname that happens to match */
}
