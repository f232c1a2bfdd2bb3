/*
 * guard.c — the guard plugin's frame: settings table and its check hook (ladder steps,
 * rule packs that load), tables, commands, event dispatch, housekeeping, and helpers the
 * plugin's other files share (rule sets cached per pack list, the group's own words
 * cached per word list, the policy handed to the engine, bot warnings recalled later).
 *
 * Owns the plugin state (compiled rule sets, word automatons, pending warning recalls),
 * freed in shutdown. Enforcement lives in guard_enforce.c, appeals and statistics in
 * guard_appeal.c, the blacklist in guard_blacklist.c. Keeps no globals; never puts member
 * text into markup (text segments only).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

#define S(f)              offsetof(struct guard_settings, f)
#define GUARD_PRUNE_EVERY (24LL * 3600 * 1000)
#define DAY_MS            (24LL * 3600 * 1000)
#define MAX_WORD_SETS     256

static const struct qb_cfg_field guard_table[] = {
        {"packs", QB_CFG_STRLIST, S(packs), "[\"rules/packs/default.json\"]", 0, 0,
         "Rule packs (JSON files, paths relative to the bot's working directory)", NULL},
        {"rules_off", QB_CFG_STRLIST, S(rules_off), "[]", 0, 0,
         "Rule ids switched off in this group (\"link.*\" = every id starting with link.)", NULL},
        {"rules_shadow", QB_CFG_STRLIST, S(rules_shadow), "[]", 0, 0,
         "Rule ids only logged, not enforced (trailing * = prefix)", NULL},
        {"dry_run", QB_CFG_BOOL, S(dry_run), "false", 0, 0,
         "Log what the guard would do without doing anything", NULL},
        {"allow_domains", QB_CFG_STRLIST, S(allow_domains), "[]", 0, 0,
         "Link domains always allowed (subdomains included)", NULL},
        {"deny_domains", QB_CFG_STRLIST, S(deny_domains), "[]", 0, 0,
         "Link domains never allowed (subdomains included)", NULL},
        {"words", QB_CFG_STRLIST, S(words), "[]", 0, 0, "This group's own banned words", NULL},
        {"long_paste_chars", QB_CFG_INT, S(long_paste_chars), "600", 0, 100000,
         "A text longer than this many characters is a wall of paste (0 = off)", NULL},
        {"sticker_flood", QB_CFG_INT, S(sticker_flood), "6", 0, 1000,
         "Sticker-only messages in a row by one member that count as a flood (0 = off)", NULL},
        {"flood_count", QB_CFG_INT, S(flood_count), "8", 0, 1000,
         "Messages within flood_window by one member that count as a flood (0 = off)", NULL},
        {"flood_window", QB_CFG_DURATION, S(flood_window_ms), "\"10s\"", 0, 3600000,
         "The time window of flood_count", NULL},
        {"dup_window", QB_CFG_DURATION, S(dup_window_ms), "\"10m\"", 0, 7 * DAY_MS,
         "Window for repeated texts and cross-group blasts (0 = off)", NULL},
        {"dup_repeats", QB_CFG_INT, S(dup_repeats), "3", 0, 1000,
         "Repeats of one text by one member within dup_window that count as spam", NULL},
        {"dup_groups", QB_CFG_INT, S(dup_groups), "3", 0, 1000,
         "Groups one text is posted in within dup_window that count as a blast", NULL},
        {"repost_min_chars", QB_CFG_INT, S(repost_min_chars), "50", 0, 100000,
         "Texts at least this long are checked for reposts (0 = off)", NULL},
        {"repost_window", QB_CFG_DURATION, S(repost_window_ms), "\"7d\"", 0, 365 * DAY_MS,
         "How long a text is remembered for repost checks", NULL},
        {"model_threshold", QB_CFG_INT, S(model_threshold), "90", 0, 100,
         "Ad score in percent from which the statistical rule hits (0 = off)", NULL},
        {"newcomer_period", QB_CFG_DURATION, S(newcomer_ms), "\"24h\"", 0, 365 * DAY_MS,
         "Members who joined less than this ago get the stricter newcomer rules", NULL},
        {"exempt_admins", QB_CFG_BOOL, S(exempt_admins), "true", 0, 0,
         "Group admins and the owner are never checked", NULL},
        {"trusted", QB_CFG_STRLIST, S(trusted), "[]", 0, 0,
         "QQ numbers never checked in this group", NULL},
        {"ladder", QB_CFG_STRLIST, S(ladder),
         "[\"warn_private\", \"warn_public\", \"mute\", \"kick\"]", 0, 0,
         "What the 1st, 2nd, ... active strike does: warn_private, warn_public, mute, kick, log",
         NULL},
        {"strike_decay", QB_CFG_DURATION, S(strike_decay_ms), "\"30d\"", 0, 3650 * DAY_MS,
         "Strikes older than this no longer count (0 = never expire)", NULL},
        {"mute_duration", QB_CFG_DURATION, S(mute_duration_ms), "\"10m\"", 60000, 30 * DAY_MS,
         "How long the mute step mutes", NULL},
        {"block_rejoin", QB_CFG_BOOL, S(block_rejoin), "false", 0, 0,
         "The kick step also refuses the member's future join requests (QQ side)", NULL},
        {"warning_ttl", QB_CFG_DURATION, S(warning_ttl_ms), "\"2m\"", 0, DAY_MS,
         "The bot's warnings in the group are recalled after this (0 = keep them)", NULL},
        {"blacklist", QB_CFG_BOOL, S(blacklist), "false", 0, 0,
         "Refuse join requests from blacklisted users and remove them if they join", NULL},
        {"qr_scan", QB_CFG_BOOL, S(qr_scan), "true", 0, 0,
         "Look for QR codes in members' pictures and treat them like links (rule qr.code)", NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static int guard_check(const void *settings, char *why, size_t n)
{
    const struct guard_settings *s = settings;
    if (!s->ladder.n) {
        snprintf(why, n, "ladder is empty: list at least one step, for example [\"warn_private\"]");
        return QB_EINVAL;
    }
    for (size_t i = 0; i < s->ladder.n; i++) {
        if (guard_step_parse(s->ladder.v[i]) == GUARD_STEP_NONE) {
            snprintf(why, n,
                     "ladder step \"%s\" is unknown: use warn_private, warn_public, mute, kick "
                     "or log",
                     s->ladder.v[i]);
            return QB_EINVAL;
        }
    }
    if (!s->packs.n) {
        snprintf(why, n,
                 "packs is empty: name at least one rule pack, for example "
                 "\"rules/packs/default.json\"");
        return QB_EINVAL;
    }
    struct qb_ruleset *rs = NULL;
    char err[400] = "";
    int rc = qb_ruleset_load((const char *const *)s->packs.v, s->packs.n, &rs, err, sizeof err);
    qb_ruleset_free(rs);
    if (rc != QB_OK) {
        snprintf(why, n, "the rule packs do not load: %s; fix the pack or change packs",
                 err[0] ? err : qb_strerror(rc));
        return QB_EINVAL;
    }
    return QB_OK;
}

static const char *const guard_migrations[] = {
        /* v1 */
        "CREATE TABLE guard_members ("
        " platform TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " joined_ts BIGINT NOT NULL, UNIQUE (platform, group_id, user_id));"
        "CREATE TABLE guard_cases ("
        " case_no BIGINT NOT NULL UNIQUE, ts BIGINT NOT NULL, platform TEXT NOT NULL,"
        " self_id TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " message_id TEXT NOT NULL, rule_id TEXT NOT NULL, version INTEGER NOT NULL,"
        " reason TEXT NOT NULL, step TEXT NOT NULL, mute_s BIGINT NOT NULL DEFAULT 0,"
        " pardoned INTEGER NOT NULL DEFAULT 0, pardon_ts BIGINT, pardon_by TEXT,"
        " UNIQUE (platform, group_id, message_id));"
        "CREATE INDEX guard_cases_member ON guard_cases(platform, group_id, user_id, ts);"
        "CREATE TABLE guard_hits ("
        " ts BIGINT NOT NULL, platform TEXT NOT NULL, group_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, message_id TEXT, rule_id TEXT NOT NULL,"
        " version INTEGER NOT NULL, detector TEXT, mode TEXT NOT NULL, action TEXT NOT NULL,"
        " acted INTEGER NOT NULL DEFAULT 0, case_no BIGINT);"
        "CREATE INDEX guard_hits_rule ON guard_hits(group_id, rule_id);"
        "CREATE INDEX guard_hits_message ON guard_hits(group_id, message_id);"
        "CREATE TABLE guard_appeals ("
        " case_no BIGINT NOT NULL UNIQUE, ts BIGINT NOT NULL, user_id TEXT NOT NULL,"
        " reason TEXT, status TEXT NOT NULL, decided_by TEXT, decided_ts BIGINT);"
        "CREATE TABLE guard_blacklist ("
        " platform TEXT NOT NULL, user_id TEXT NOT NULL, reason TEXT, case_no BIGINT,"
        " ts BIGINT NOT NULL, added_by TEXT, UNIQUE (platform, user_id));"
        "CREATE TABLE guard_fingerprints ("
        " hash BIGINT NOT NULL, ts BIGINT NOT NULL, group_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, UNIQUE (hash, ts, group_id, user_id));"
        "CREATE INDEX guard_fingerprints_ts ON guard_fingerprints(ts);",
        /* v2: reports count a period's hits per detector */
        "CREATE INDEX guard_hits_ts ON guard_hits(group_id, ts);",
        NULL,
};

/* ---- shared helpers ---- */

struct guard_state *guard_st(struct qb_ctx *c)
{
    return qb_state(c);
}

const struct guard_settings *guard_cfg(struct qb_ctx *c, const char *group_id)
{
    return qb_settings(c, group_id);
}

static const char *const step_names[] = {"", "warn_private", "warn_public", "mute", "kick", "log"};

enum guard_step guard_step_parse(const char *s)
{
    for (int i = GUARD_STEP_WARN_PRIVATE; i <= GUARD_STEP_LOG; i++)
        if (s && !strcmp(s, step_names[i]))
            return (enum guard_step)i;
    return GUARD_STEP_NONE;
}

const char *guard_step_name(enum guard_step st)
{
    return st >= GUARD_STEP_WARN_PRIVATE && st <= GUARD_STEP_LOG ? step_names[st] : "none";
}

/* A list as one string: every entry followed by '\n'. Caller frees; NULL on ENOMEM. */
static char *list_key(const struct qb_strlist *l)
{
    size_t len = 1;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + 1;
    char *k = malloc(len), *p = k;
    if (!k)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->v[i]);
        memcpy(p, l->v[i], n);
        p[n] = '\n';
        p += n + 1;
    }
    *p = '\0';
    return k;
}

/* Does key (from list_key) describe exactly this list? No allocation. */
static bool key_is(const char *key, const struct qb_strlist *l)
{
    const char *p = key;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->v[i]);
        if (strncmp(p, l->v[i], n) || p[n] != '\n')
            return false;
        p += n + 1;
    }
    return *p == '\0';
}

static void log_pack_problem(const char *msg, void *ud)
{
    (void)ud;
    qb_log(QB_LOG_ERROR, "guard: rule left out: %s (the other rules keep working)", msg);
}

struct qb_ruleset *guard_engine_for(struct qb_ctx *c, const struct guard_settings *s)
{
    struct guard_state *st = guard_st(c);
    for (struct guard_engine *e = st->engines; e; e = e->next)
        if (key_is(e->key, &s->packs))
            return e->rs;
    struct guard_engine *e = calloc(1, sizeof *e);
    char *key = list_key(&s->packs);
    if (!e || !key) {
        free(e);
        free(key);
        return NULL;
    }
    e->key = key;
    /* At run time a broken rule is left out (and logged) while the others keep working;
     * check-config is strict and shows every problem before it gets here. */
    int rc = s->packs.n ? qb_ruleset_load_partial((const char *const *)s->packs.v, s->packs.n,
                                                  &e->rs, log_pack_problem, NULL)
                        : QB_EINVAL;
    if (rc != QB_OK) {
        e->rs = NULL;
        qb_log(QB_LOG_ERROR, "guard: %s; groups using these packs run without the guard",
               s->packs.n ? "out of memory while loading the rule packs" : "packs is empty");
    } else {
        if (qb_ruleset_count(e->rs) == 0)
            qb_log(QB_LOG_ERROR, "guard: no rule in the packs could be used; groups using them "
                                 "run without the guard until the packs are fixed");
        guard_load_fingerprints(c, e->rs);
    }
    e->next = st->engines;
    st->engines = e;
    st->nengines++;
    return e->rs;
}

static void words_free(struct guard_state *st)
{
    while (st->words) {
        struct guard_words *w = st->words;
        st->words = w->next;
        qb_ac_free(w->ac);
        free(w->key);
        free(w);
    }
    st->nwords = 0;
}

static struct qb_ac *words_build(const struct qb_strlist *l)
{
    struct qb_ac *ac = qb_ac_new();
    size_t added = 0;
    for (size_t i = 0; ac && i < l->n; i++) {
        size_t len = 0;
        char *norm = qb_rules_normalize(l->v[i], strlen(l->v[i]), &len);
        if (norm && len && qb_ac_add(ac, norm, len, (uint32_t)i) == QB_OK)
            added++;
        free(norm);
    }
    if (ac && (!added || qb_ac_build(ac) != QB_OK)) {
        qb_ac_free(ac);
        ac = NULL;
    }
    return ac;
}

const struct qb_ac *guard_words_for(struct qb_ctx *c, const struct guard_settings *s)
{
    if (!s->words.n)
        return NULL;
    struct guard_state *st = guard_st(c);
    for (struct guard_words *w = st->words; w; w = w->next)
        if (key_is(w->key, &s->words))
            return w->ac;
    if (st->nwords >= MAX_WORD_SETS)
        words_free(st); /* many reloads with changing lists: start over */
    struct guard_words *w = calloc(1, sizeof *w);
    char *key = list_key(&s->words);
    if (!w || !key) {
        free(w);
        free(key);
        return NULL;
    }
    w->key = key;
    w->ac = words_build(&s->words);
    w->next = st->words;
    st->words = w;
    st->nwords++;
    return w->ac;
}

void guard_policy(struct qb_ctx *c, const struct guard_settings *s, struct qb_rules_policy *pol)
{
    qb_rules_policy_defaults(pol);
    pol->off = (const char *const *)s->rules_off.v;
    pol->n_off = s->rules_off.n;
    pol->shadow = (const char *const *)s->rules_shadow.v;
    pol->n_shadow = s->rules_shadow.n;
    pol->dry_run = s->dry_run;
    pol->allow_domains = (const char *const *)s->allow_domains.v;
    pol->n_allow = s->allow_domains.n;
    pol->deny_domains = (const char *const *)s->deny_domains.v;
    pol->n_deny = s->deny_domains.n;
    pol->extra_words = guard_words_for(c, s);
    pol->long_paste_chars = (int)s->long_paste_chars;
    pol->sticker_flood = (int)s->sticker_flood;
    pol->flood_count = (int)s->flood_count;
    pol->flood_window_ms = s->flood_window_ms;
    pol->dup_window_ms = s->dup_window_ms;
    pol->dup_repeats = (int)s->dup_repeats;
    pol->dup_groups = (int)s->dup_groups;
    pol->repost_min_chars = (int)s->repost_min_chars;
    pol->repost_window_ms = s->repost_window_ms;
    pol->model_threshold = (double)s->model_threshold / 100.0;
    pol->newcomer_ms = s->newcomer_ms;
    struct guard_state *st = guard_st(c);
    if (s->repost_window_ms > st->fp_horizon_ms) { /* remembered across restarts */
        st->fp_horizon_ms = s->repost_window_ms;
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)st->fp_horizon_ms);
        qb_kv_set(c, "fp_horizon_ms", v);
    }
}

int64_t guard_case_arg(const char *s)
{
    if (!s)
        return 0;
    if (*s == '#')
        s++;
    else if (!strncmp(s, "\xef\xbc\x83", 3)) /* full-width ＃ */
        s += 3;
    int64_t v = 0;
    if (*s < '0' || *s > '9')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000000LL)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

bool guard_target(const struct qb_event *ev, const struct qb_cmd_args *a, char *out, size_t n)
{
    for (size_t i = 0; i < ev->msg.n; i++) {
        const struct qb_seg *s = &ev->msg.segs[i];
        if (s->type == QB_SEG_AT && s->text && strcmp(s->text, ev->self_id) &&
            strcmp(s->text, "all")) {
            snprintf(out, n, "%s", s->text);
            return true;
        }
    }
    if (a->argc >= 1 && all_digits(a->argv[0]) && strlen(a->argv[0]) >= 5 &&
        strlen(a->argv[0]) < QB_ID_MAX) {
        snprintf(out, n, "%s", a->argv[0]);
        return true;
    }
    return false;
}

void guard_clip(const char *s, size_t max, char *out, size_t n)
{
    size_t i = 0, chars = 0;
    while (s[i] && i + 4 < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max)
            break;
        i++;
    }
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    memcpy(out, s, i);
    snprintf(out + i, n - i, "%s", s[i] ? "…" : "");
}

void guard_join_args(const struct qb_cmd_args *a, int from, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = from; i < a->argc; i++) {
        int k = snprintf(out + len, n - len, "%s%s", i > from ? " " : "", a->argv[i]);
        if (k < 0 || (size_t)k >= n - len) {
            /* cut at a character boundary */
            size_t e = strlen(out);
            while (e > 0 && ((unsigned char)out[e - 1] & 0xC0) == 0x80)
                e--;
            if (e > 0 && ((unsigned char)out[e - 1] & 0xC0) == 0xC0)
                e--;
            out[e] = '\0';
            break;
        }
        len += (size_t)k;
    }
}

/* ---- bot messages recalled after a while ---- */

static void *id_ud(int64_t id)
{
    return (void *)(intptr_t)id;
}

static int64_t ud_id(void *ud)
{
    return (int64_t)(intptr_t)ud;
}

static struct guard_job *job_find(struct guard_state *st, int64_t id)
{
    for (struct guard_job *j = st->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

static void job_free(struct guard_state *st, struct guard_job *j)
{
    for (struct guard_job **p = &st->jobs; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            break;
        }
    }
    free(j);
}

static void recall_later(struct qb_ctx *c, void *ud)
{
    struct guard_state *st = guard_st(c);
    struct guard_job *j = st ? job_find(st, ud_id(ud)) : NULL;
    if (!j)
        return;
    struct qb_action *a = qb_action_new(QB_ACT_RECALL);
    if (a) {
        qb_id_set(a->self_id, j->self_id);
        qb_id_set(a->group_id, j->group_id);
        qb_id_set(a->message_id, j->message_id);
        a->reason = strdup("guard: warning_ttl passed");
        qb_action_submit(c, a, NULL, NULL);
    }
    job_free(st, j);
}

static void sent(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    struct guard_state *st = guard_st(c);
    struct guard_job *j = st ? job_find(st, ud_id(ud)) : NULL;
    if (!j)
        return;
    if (r->err != QB_OK || !r->message_id[0]) {
        job_free(st, j);
        return;
    }
    qb_id_set(j->message_id, r->message_id);
    j->timer = qb_timer_add(c, j->ttl_ms, recall_later, id_ud(j->id));
    if (j->timer <= 0)
        job_free(st, j);
}

void guard_say_group(struct qb_ctx *c, const char *self_id, const char *group_id,
                     const char *at_user, const char *reply_to, const char *text, int64_t ttl_ms)
{
    struct qb_action *a = qb_action_new(QB_ACT_SEND);
    if (!a)
        return;
    a->chat = QB_CHAT_GROUP;
    qb_id_set(a->self_id, self_id);
    qb_id_set(a->group_id, group_id);
    int rc = QB_OK;
    if (reply_to && reply_to[0])
        rc = qb_msg_reply(&a->msg, reply_to);
    if (rc == QB_OK && at_user && at_user[0]) {
        rc = qb_msg_at(&a->msg, at_user);
        if (rc == QB_OK)
            rc = qb_msg_text(&a->msg, " ");
    }
    if (rc == QB_OK)
        rc = qb_msg_text(&a->msg, text);
    if (rc == QB_OK)
        rc = qb_msg_finish(&a->msg);
    a->reason = strdup("guard warning");
    if (rc != QB_OK) {
        qb_action_free(a);
        return;
    }
    struct guard_state *st = guard_st(c);
    struct guard_job *j = ttl_ms > 0 ? calloc(1, sizeof *j) : NULL;
    if (!j) {
        qb_action_submit(c, a, NULL, NULL);
        return;
    }
    j->id = ++st->next_job;
    j->ttl_ms = ttl_ms;
    qb_id_set(j->self_id, self_id);
    qb_id_set(j->group_id, group_id);
    j->next = st->jobs;
    st->jobs = j;
    qb_action_submit(c, a, sent, id_ud(j->id));
}

void guard_say_private(struct qb_ctx *c, const char *self_id, const char *user_id, const char *text)
{
    struct qb_msg msg;
    qb_msg_init(&msg);
    if (qb_msg_text(&msg, text) == QB_OK && qb_msg_finish(&msg) == QB_OK)
        qb_send_private(c, self_id, user_id, &msg);
    qb_msg_clear(&msg);
}

/* ---- lifecycle ---- */

static int guard_init(struct qb_ctx *c)
{
    struct guard_state *st = calloc(1, sizeof *st);
    if (!st)
        return QB_ENOMEM;
    st->fp_horizon_ms = 7 * DAY_MS;
    char *v = qb_kv_get(c, "fp_horizon_ms");
    if (v && atoll(v) > st->fp_horizon_ms)
        st->fp_horizon_ms = atoll(v);
    free(v);
    st->last_prune_ms = qb_now(c); /* first prune a day after start: groups seen by then */
    qb_set_state(c, st);
    return QB_OK;
}

static void guard_shutdown(struct qb_ctx *c)
{
    struct guard_state *st = guard_st(c);
    if (!st)
        return;
    while (st->engines) {
        struct guard_engine *e = st->engines;
        st->engines = e->next;
        qb_ruleset_free(e->rs);
        free(e->key);
        free(e);
    }
    words_free(st);
    while (st->jobs) {
        qb_timer_cancel(c, st->jobs->timer);
        job_free(st, st->jobs);
    }
    free(st);
    qb_set_state(c, NULL);
}

static void guard_tick(struct qb_ctx *c, int64_t now_ms)
{
    struct guard_state *st = guard_st(c);
    if (!st || now_ms - st->last_prune_ms < GUARD_PRUNE_EVERY)
        return;
    st->last_prune_ms = now_ms;
    guard_prune(c, qb_now(c));
}

static int guard_event(struct qb_ctx *c, const struct qb_event *ev)
{
    switch (ev->kind) {
    case QB_EV_MESSAGE:
        if (ev->chat == QB_CHAT_GROUP && ev->group_id[0] && strcmp(ev->user_id, ev->self_id))
            return guard_on_message(c, ev);
        return QB_PASS;
    case QB_EV_MEMBER_JOIN:
        if (!ev->group_id[0] || !strcmp(ev->user_id, ev->self_id))
            return QB_PASS;
        guard_on_join(c, ev);
        return guard_check_joined(c, ev);
    case QB_EV_JOIN_REQUEST:
        return guard_on_request(c, ev);
    default:
        return QB_PASS;
    }
}

static const char *const appeal_aliases[] = {"申诉", NULL};
static const char *const appeals_aliases[] = {"申诉列表", NULL};
static const char *const pardon_aliases[] = {"撤销", NULL};
static const char *const uphold_aliases[] = {"维持", NULL};
static const char *const stats_aliases[] = {"规则统计", NULL};
static const char *const block_aliases[] = {"拉黑", NULL};
static const char *const unblock_aliases[] = {"解除拉黑", NULL};
static const char *const blacklist_aliases[] = {"黑名单", NULL};

static const struct qb_command guard_commands[] = {
        {.name = "appeal",
         .aliases = appeal_aliases,
         .usage = "申诉 <案件号> [理由]",
         .help = "对被撤回或处罚的消息申诉（群里或私聊都可以）",
         .min_role = QB_ROLE_MEMBER,
         .group_only = false,
         .run = guard_cmd_appeal},
        {.name = "appeals",
         .aliases = appeals_aliases,
         .usage = "申诉列表",
         .help = "（管理员）查看待处理的申诉",
         .min_role = QB_ROLE_ADMIN,
         .group_only = false,
         .run = guard_cmd_appeals},
        {.name = "pardon",
         .aliases = pardon_aliases,
         .usage = "撤销 <案件号> [备注]",
         .help = "（管理员）撤销一次处罚：不再计入违规次数，解除禁言",
         .min_role = QB_ROLE_ADMIN,
         .group_only = false,
         .run = guard_cmd_pardon},
        {.name = "uphold",
         .aliases = uphold_aliases,
         .usage = "维持 <案件号> [备注]",
         .help = "（管理员）维持处罚，关闭申诉",
         .min_role = QB_ROLE_ADMIN,
         .group_only = false,
         .run = guard_cmd_uphold},
        {.name = "rulestats",
         .aliases = stats_aliases,
         .usage = "规则统计",
         .help = "（管理员）每条规则的命中、影子命中、撤销次数和撤销率",
         .min_role = QB_ROLE_ADMIN,
         .group_only = false,
         .run = guard_cmd_stats},
        {.name = "block",
         .aliases = block_aliases,
         .usage = "拉黑 <QQ号> [理由]",
         .help = "（管理员）加入黑名单：开启黑名单的群会拒绝其入群",
         .min_role = QB_ROLE_ADMIN,
         .group_only = false,
         .run = guard_cmd_block},
        {.name = "unblock",
         .aliases = unblock_aliases,
         .usage = "解除拉黑 <QQ号>",
         .help = "（管理员）移出黑名单",
         .min_role = QB_ROLE_ADMIN,
         .group_only = false,
         .run = guard_cmd_unblock},
        {.name = "blacklist",
         .aliases = blacklist_aliases,
         .usage = "黑名单",
         .help = "（管理员）查看黑名单",
         .min_role = QB_ROLE_ADMIN,
         .group_only = false,
         .run = guard_cmd_blacklist},
        {.name = NULL},
};

const struct qb_plugin qb_plugin_guard = {
        .abi = QB_PLUGIN_ABI,
        .name = "guard",
        .version = "1.0",
        .description = "群规守卫: removes ads and spam by rule packs, strikes on a ladder "
                       "(warn, mute, kick), appeals, rule statistics, blacklist",
        .priority = 10,
        .event_mask = QB_EVMASK(QB_EV_MESSAGE) | QB_EVMASK(QB_EV_MEMBER_JOIN) |
                      QB_EVMASK(QB_EV_JOIN_REQUEST),
        .default_on = false,
        .settings = guard_table,
        .settings_size = sizeof(struct guard_settings),
        .commands = guard_commands,
        .migrations = guard_migrations,
        .init = guard_init,
        .on_event = guard_event,
        .on_tick = guard_tick,
        .shutdown = guard_shutdown,
        .check = guard_check,
};
