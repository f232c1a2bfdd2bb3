/*
 * host.c — the plugin host: registry, start-up, event and command routing, and the
 * plugin-facing API (settings, roles, state, time, storage) behind <qunbot/plugin.h>.
 *
 * Plugins run in priority order; a plugin sees an event only if it is enabled for the
 * event's group by the rules files (default policy otherwise) and asked for the kind.
 * Commands are matched here, with the sender's role checked before the plugin runs.
 * The host never frees a plugin's state: the plugin does that in shutdown.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core.h"
#include "scheduler.h"
#include "storage.h"

/* ---- start-up ---- */

static int by_priority(const void *x, const void *y)
{
    const struct qb_ctx *a = x, *b = y;
    if (a->plugin->priority != b->plugin->priority)
        return a->plugin->priority < b->plugin->priority ? -1 : 1;
    return a->index < b->index ? -1 : 1;
}

static int register_plugins(struct qb_bot *b, char *err, size_t errlen)
{
    const struct qb_plugin *const *src = b->plugin_source ? b->plugin_source : qb_builtin_plugins;
    size_t n = 0;
    while (src[n])
        n++;
    b->plugins = calloc(n ? n : 1, sizeof *b->plugins);
    b->plugin_list = calloc(n + 1, sizeof *b->plugin_list);
    if (!b->plugins || !b->plugin_list)
        return QB_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct qb_plugin *p = src[i];
        if (p->abi != QB_PLUGIN_ABI) {
            snprintf(err, errlen, "plugin %s was built for plugin ABI %d, this core has %d",
                     p->name, p->abi, QB_PLUGIN_ABI);
            return QB_EINVAL;
        }
        b->plugins[i] = (struct qb_ctx){.bot = b, .plugin = p, .index = i};
    }
    qsort(b->plugins, n, sizeof *b->plugins, by_priority);
    for (size_t i = 0; i < n; i++) {
        b->plugins[i].index = i;
        b->plugin_list[i] = b->plugins[i].plugin;
    }
    b->nplugins = n;
    return QB_OK;
}

int qb_host_init(struct qb_bot *b, char *err, size_t errlen)
{
    int rc = register_plugins(b, err, errlen);
    if (rc != QB_OK)
        return rc;
    for (size_t i = 0; i < b->nplugins; i++) {
        const struct qb_plugin *p = b->plugins[i].plugin;
        if (p->migrations) {
            char why[256] = "";
            if (qb_store_migrate(b->store, p->name, p->migrations, why, sizeof why) != QB_OK) {
                snprintf(err, errlen, "plugin %s: %s", p->name, why);
                return QB_ESTORE;
            }
        }
    }
    struct qb_diag d = {0};
    rc = qb_rules_load(b->cfg->rules_dir, b->plugin_list, b->nplugins, &b->rules, &d);
    for (size_t i = 0; i < d.n; i++)
        qb_log(QB_LOG_ERROR, "%s", d.v[i]);
    qb_diag_free(&d);
    if (rc != QB_OK) {
        snprintf(err, errlen, "the rules files have errors (listed above)");
        return rc;
    }
    for (size_t i = 0; i < b->nplugins; i++) {
        struct qb_ctx *c = &b->plugins[i];
        if (c->plugin->init && (rc = c->plugin->init(c)) != QB_OK) {
            snprintf(err, errlen, "plugin %s failed to start: %s", c->plugin->name,
                     qb_strerror(rc));
            return rc;
        }
        c->inited = true;
    }
    return QB_OK;
}

void qb_host_shutdown(struct qb_bot *b)
{
    qb_media_shutdown(b); /* pending QR scans are answered before their plugins stop */
    for (size_t i = b->nplugins; i-- > 0;) {
        struct qb_ctx *c = &b->plugins[i];
        if (c->inited && c->plugin->shutdown)
            c->plugin->shutdown(c);
        c->inited = false;
        if (b->sched)
            qb_timers_cancel_owner(b->sched, c);
    }
}

/* ---- policy lookups ---- */

static const struct qb_policy *policy_for(struct qb_bot *b, const char *group_id)
{
    if (!b->rules)
        return NULL;
    if (qb_str_empty(group_id))
        return b->rules->def;
    return qb_rules_for(b->rules, group_id);
}

static bool enabled_in(struct qb_bot *b, size_t index, const char *group_id)
{
    if (!b->rules)
        return false;
    if (!qb_str_empty(group_id)) {
        const struct qb_policy *pol = policy_for(b, group_id);
        return pol && pol->plugins[index].enabled;
    }
    if (b->rules->def && b->rules->def->plugins[index].enabled)
        return true;
    for (size_t i = 0; i < b->rules->n; i++)
        if (b->rules->v[i]->plugins[index].enabled)
            return true;
    return false;
}

/* ---- commands ---- */

static bool is_space_at(const char *s, size_t *len)
{
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        *len = 1;
        return true;
    }
    if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x80) {
        *len = 3;
        return true;
    }
    return false;
}

/* The text a command is read from: text segments after any leading reply and @bot.
 * A message that starts by mentioning someone else is not a command. Caller frees. */
static char *command_text(const struct qb_event *ev)
{
    struct qb_buf out;
    qb_buf_init(&out);
    bool started = false;
    for (size_t i = 0; i < ev->msg.n; i++) {
        const struct qb_seg *s = &ev->msg.segs[i];
        if (s->type == QB_SEG_REPLY)
            continue;
        if (s->type == QB_SEG_AT && !started) {
            if (s->text && !strcmp(s->text, ev->self_id))
                continue;
            qb_buf_free(&out);
            return NULL;
        }
        if (s->type == QB_SEG_TEXT && s->text) {
            qb_buf_puts(&out, s->text);
            if (strspn(s->text, " \t\r\n") != strlen(s->text))
                started = true;
        } else if (s->type != QB_SEG_TEXT) {
            break; /* media ends the command text */
        }
    }
    char *t = qb_buf_steal(&out);
    qb_trim(t);
    return t;
}

static bool word_matches(struct qb_bot *b, const struct qb_command *cmd, const char *word)
{
    const struct qb_strlist *pre = &b->cfg->command_prefixes;
    for (size_t i = 0; i < pre->n; i++) {
        size_t pl = strlen(pre->v[i]);
        if (pl && !strncmp(word, pre->v[i], pl)) {
            const char *bare = word + pl;
            if (!strcasecmp(bare, cmd->name))
                return true;
            for (const char *const *a = cmd->aliases; a && *a; a++)
                if (!strcmp(bare, *a))
                    return true;
        }
    }
    for (const char *const *a = cmd->aliases; a && *a; a++)
        if (!strcmp(word, *a))
            return true;
    return false;
}

/* Split "word rest..." in place into args. */
static void split_args(char *text, struct qb_cmd_args *args)
{
    size_t sl;
    char *p = text;
    while (*p && !is_space_at(p, &sl))
        p++;
    char *rest = p;
    if (*p) {
        *p = '\0';
        rest = p + sl;
    }
    args->used = text;
    while (*rest && is_space_at(rest, &sl))
        rest += sl;
    args->rest = rest;
    args->argc = 0;
    /* argv points into a second copy owned by the caller: see route_command */
}

static void tokenize(char *s, struct qb_cmd_args *args)
{
    size_t sl;
    while (*s && args->argc < QB_CMD_MAXARGS) {
        while (*s && is_space_at(s, &sl)) {
            *s = '\0';
            s += sl;
        }
        if (!*s)
            break;
        args->argv[args->argc++] = s;
        while (*s && !is_space_at(s, &sl))
            s++;
    }
}

static int refuse_command(struct qb_ctx *c, const struct qb_event *ev, const char *why)
{
    if (!ev->backfilled) /* no late refusals for messages recovered after a reconnect */
        qb_reply(c, ev, why, true);
    return QB_HANDLED;
}

static int run_command(struct qb_ctx *c, const struct qb_event *ev, const struct qb_command *cmd,
                       struct qb_cmd_args *args)
{
    char why[200];
    if (cmd->group_only && ev->chat != QB_CHAT_GROUP)
        return refuse_command(c, ev, "这个命令只能在群里使用。");
    if (qb_role_of(c, ev) < cmd->min_role) {
        snprintf(why, sizeof why, "只有%s可以使用这个命令。",
                 cmd->min_role >= QB_ROLE_SUPERUSER ? "机器人管理员"
                 : cmd->min_role >= QB_ROLE_OWNER   ? "群主"
                                                    : "群管理员");
        return refuse_command(c, ev, why);
    }
    args->name = cmd->name;
    return cmd->run(c, ev, args);
}

/* Find and run the plugin's command for this message. Returns QB_PASS if none matched. */
static int route_command(struct qb_ctx *c, const struct qb_event *ev, const char *text)
{
    const struct qb_command *cmds = c->plugin->commands;
    if (!cmds || !text || !*text)
        return QB_PASS;
    char *head = strdup(text), *rest_copy = NULL;
    if (!head)
        return QB_PASS;
    struct qb_cmd_args args;
    memset(&args, 0, sizeof args);
    split_args(head, &args);
    int verdict = QB_PASS;
    for (const struct qb_command *cmd = cmds; cmd->name; cmd++) {
        if (!word_matches(c->bot, cmd, args.used))
            continue;
        rest_copy = strdup(args.rest);
        if (rest_copy)
            tokenize(rest_copy, &args);
        verdict = run_command(c, ev, cmd, &args);
        break;
    }
    free(rest_copy);
    free(head);
    return verdict;
}

/* ---- dispatch ---- */

void qb_host_dispatch(struct qb_bot *b, struct qb_event *ev)
{
    char *text = NULL;
    if (ev->kind == QB_EV_MESSAGE && ev->msg.n)
        text = command_text(ev);
    const char *group = ev->chat == QB_CHAT_GROUP || ev->group_id[0] ? ev->group_id : NULL;
    ev->handled_by = NULL;
    for (size_t i = 0; i < b->nplugins; i++) {
        struct qb_ctx *c = &b->plugins[i];
        const struct qb_plugin *p = c->plugin;
        if (!c->inited || !enabled_in(b, i, group))
            continue;
        bool wants = p->on_event && (p->event_mask & QB_EVMASK(ev->kind));
        if (ev->handled_by) { /* only observers see what another plugin handled */
            if (p->observer && wants)
                p->on_event(c, ev);
            continue;
        }
        if (wants && p->on_event(c, ev) == QB_HANDLED && !p->observer)
            ev->handled_by = p->name;
        else if (text && route_command(c, ev, text) == QB_HANDLED)
            ev->handled_by = p->name;
    }
    free(text);
}

void qb_host_tick(struct qb_bot *b, int64_t now_ms)
{
    for (size_t i = 0; i < b->nplugins; i++) {
        struct qb_ctx *c = &b->plugins[i];
        if (c->inited && c->plugin->on_tick)
            c->plugin->on_tick(c, now_ms);
    }
}

void qb_host_fire_schedule(const char *owner, const char *key, const char *payload, int64_t late_ms,
                           void *ud)
{
    struct qb_bot *b = ud;
    for (size_t i = 0; i < b->nplugins; i++) {
        struct qb_ctx *c = &b->plugins[i];
        if (strcmp(c->plugin->name, owner) || !c->inited || !c->plugin->on_event)
            continue;
        struct qb_event ev;
        qb_event_init(&ev);
        ev.kind = QB_EV_SCHEDULE;
        qb_strlcpy(ev.name, "schedule", sizeof ev.name);
        ev.time_ms = qb_clock_now();
        ev.sched_key = key;
        ev.sched_payload = payload;
        ev.sched_late_ms = late_ms;
        c->plugin->on_event(c, &ev);
        qb_event_clear(&ev);
        return;
    }
    qb_log(QB_LOG_WARN, "a schedule of plugin %s came due but the plugin is not running", owner);
}

void qb_host_fire_timer(void *owner, void *cb, void *ud)
{
    struct qb_ctx *c = owner;
    qb_timer_cb fn;
    memcpy(&fn, &cb, sizeof fn);
    if (c->inited)
        fn(c, ud);
}

/* ---- the plugin API ---- */

void *qb_state(struct qb_ctx *c)
{
    return c->state;
}

void qb_set_state(struct qb_ctx *c, void *state)
{
    c->state = state;
}

const char *qb_plugin_name(struct qb_ctx *c)
{
    return c->plugin ? c->plugin->name : "core";
}

const void *qb_settings(struct qb_ctx *c, const char *group_id)
{
    const struct qb_policy *pol = policy_for(c->bot, group_id);
    if (!pol || !c->plugin)
        return NULL;
    return pol->plugins[c->index].settings;
}

bool qb_enabled(struct qb_ctx *c, const char *group_id)
{
    return c->plugin && enabled_in(c->bot, c->index, group_id);
}

enum qb_role qb_role_of(struct qb_ctx *c, const struct qb_event *ev)
{
    if (qb_strlist_has(&c->bot->cfg->superusers, ev->user_id))
        return QB_ROLE_SUPERUSER;
    if (ev->chat == QB_CHAT_GROUP && ev->sender_role != QB_ROLE_UNKNOWN)
        return ev->sender_role;
    return QB_ROLE_MEMBER;
}

const char *qb_timezone(struct qb_ctx *c, const char *group_id)
{
    const struct qb_policy *pol = policy_for(c->bot, group_id);
    if (pol && pol->timezone)
        return pol->timezone;
    return c->bot->cfg->timezone;
}

static int make_dir(const char *path)
{
    return mkdir(path, 0750) == 0 || errno == EEXIST ? QB_OK : QB_EIO;
}

int qb_export_path(struct qb_ctx *c, const char *name, char *out, size_t n)
{
    if (!name || !name[0] || name[0] == '.' || strchr(name, '/'))
        return QB_EINVAL;
    const char *db = c->bot->cfg->db_path;
    const char *slash = strrchr(db, '/');
    int dirlen = slash ? (int)(slash - db) : 1;
    const char *dir = slash ? db : ".";
    int len = snprintf(out, n, "%.*s/exports", dirlen, dir);
    if (len < 0 || (size_t)len >= n || make_dir(out) != QB_OK)
        return len < 0 || (size_t)len >= n ? QB_EINVAL : QB_EIO;
    len = snprintf(out, n, "%.*s/exports/%s", dirlen, dir, c->plugin->name);
    if (len < 0 || (size_t)len >= n || make_dir(out) != QB_OK)
        return len < 0 || (size_t)len >= n ? QB_EINVAL : QB_EIO;
    len = snprintf(out, n, "%.*s/exports/%s/%s", dirlen, dir, c->plugin->name, name);
    return len < 0 || (size_t)len >= n ? QB_EINVAL : QB_OK;
}

void qb_each_command(struct qb_ctx *c, const char *group_id,
                     void (*fn)(const struct qb_plugin *p, const struct qb_command *cmd, void *ud),
                     void *ud)
{
    struct qb_bot *b = c->bot;
    for (size_t i = 0; i < b->nplugins; i++) {
        const struct qb_plugin *p = b->plugins[i].plugin;
        if (!p->commands || !enabled_in(b, i, group_id))
            continue;
        for (const struct qb_command *cmd = p->commands; cmd->name; cmd++)
            fn(p, cmd, ud);
    }
}

int qb_each_group(struct qb_ctx *c, int (*fn)(struct qb_ctx *c, const char *group_id, void *ud),
                  void *ud)
{
    struct qb_rules *r = c->bot->rules;
    if (!r || !c->plugin || !fn)
        return QB_OK;
    for (size_t i = 0; i < r->n; i++) {
        const struct qb_policy *pol = r->v[i];
        if (pol->is_default || !pol->plugins[c->index].enabled)
            continue;
        for (size_t k = 0; k < pol->groups.n; k++) {
            const char *g = pol->groups.v[k];
            if (qb_str_empty(g) || qb_rules_for(r, g) != pol) /* listed twice: first file wins */
                continue;
            int rc = fn(c, g, ud);
            if (rc)
                return rc;
        }
    }
    return QB_OK;
}

void qb_get_status(struct qb_ctx *c, struct qb_status *st)
{
    *st = c->bot->stats;
    st->accounts = (int)c->bot->naccounts;
}

int64_t qb_now(struct qb_ctx *c)
{
    (void)c;
    return qb_clock_now();
}

int64_t qb_timer_add(struct qb_ctx *c, int64_t delay_ms, qb_timer_cb cb, void *ud)
{
    void *fn;
    memcpy(&fn, &cb, sizeof fn);
    return qb_timers_add(c->bot->sched, qb_clock_now() + delay_ms, c, fn, ud);
}

void qb_timer_cancel(struct qb_ctx *c, int64_t id)
{
    qb_timers_cancel(c->bot->sched, id);
}

int qb_schedule_cron(struct qb_ctx *c, const char *key, const char *cron, const char *tz,
                     const char *payload)
{
    return qb_sched_cron(c->bot->sched, qb_plugin_name(c), key, cron,
                         tz ? tz : c->bot->cfg->timezone, payload, qb_clock_now());
}

int qb_schedule_at(struct qb_ctx *c, const char *key, int64_t when_ms, const char *payload)
{
    return qb_sched_at(c->bot->sched, qb_plugin_name(c), key, when_ms, payload);
}

int qb_schedule_cancel(struct qb_ctx *c, const char *key)
{
    return qb_sched_cancel(c->bot->sched, qb_plugin_name(c), key);
}

int qb_localtime(struct qb_ctx *c, const char *tz, int64_t ms, struct tm *out)
{
    return qb_tz_local_cached(&c->bot->tz_cache, tz ? tz : c->bot->cfg->timezone, ms, out);
}

int64_t qb_mktime(struct qb_ctx *c, const char *tz, const struct tm *local)
{
    return qb_tz_mktime(tz ? tz : c->bot->cfg->timezone, local);
}

void qb_local_date(struct qb_ctx *c, const char *tz, int64_t ms, char *out, size_t n)
{
    struct tm tm;
    if (qb_localtime(c, tz, ms, &tm) != QB_OK || !strftime(out, n, "%Y-%m-%d", &tm))
        qb_strlcpy(out, "", n);
}

struct sqlite3_stmt *qb_stmt(struct qb_ctx *c, const char *sql)
{
    return qb_store_stmt(c->bot->store, sql);
}

int qb_kv_set(struct qb_ctx *c, const char *key, const char *value)
{
    return qb_store_kv_set(c->bot->store, qb_plugin_name(c), key, value);
}

char *qb_kv_get(struct qb_ctx *c, const char *key)
{
    return qb_store_kv_get(c->bot->store, qb_plugin_name(c), key);
}

int qb_kv_del(struct qb_ctx *c, const char *key)
{
    return qb_store_kv_del(c->bot->store, qb_plugin_name(c), key);
}

int qb_audit(struct qb_ctx *c, const struct qb_event *ev, const char *what, const char *details)
{
    /* the plugin's details object, with the plugin's name added */
    cJSON *d = details ? cJSON_Parse(details) : NULL;
    if (!cJSON_IsObject(d)) {
        cJSON_Delete(d);
        d = cJSON_CreateObject();
        if (details)
            cJSON_AddStringToObject(d, "note", details);
    }
    cJSON_AddStringToObject(d, "plugin", qb_plugin_name(c));
    char *text = cJSON_PrintUnformatted(d);
    struct qb_logrec r = {
            .time_ms = qb_clock_now(),
            .direction = "decision",
            .platform = ev ? ev->platform : NULL,
            .self_id = ev ? ev->self_id : NULL,
            .group_id = ev ? ev->group_id : NULL,
            .user_id = ev ? ev->user_id : NULL,
            .kind = what,
            .message_id = ev ? ev->message_id : NULL,
            .details = text,
    };
    int rc = qb_store_log(c->bot->store, &r);
    cJSON_free(text);
    cJSON_Delete(d);
    return rc;
}
