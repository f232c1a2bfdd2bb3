/*
 * plugin.h — how a plugin plugs in: one struct of callbacks, declared with designated
 * initializers and listed in bot/plugins_builtin.c.
 *
 * Lifecycle: the core checks the ABI, runs the plugin's migrations, builds its
 * settings for every group from the rules files, then calls init. Events arrive after
 * the rules engine, in priority order (lower first); a plugin returning QB_HANDLED
 * stops later plugins. on_tick runs about once a second. shutdown runs once, after
 * queues have drained. No file-level state: keep it in the struct from qb_state().
 */
#ifndef QUNBOT_PLUGIN_H
#define QUNBOT_PLUGIN_H

#include "qunbot.h"
#include "event.h"
#include "action.h"
#include "command.h"
#include "cfg.h"
#include "store.h"
#include "sched.h"
#include "points.h"
#include "template.h"
#include "media.h"

#define QB_PLUGIN_ABI 1

enum qb_verdict { QB_PASS = 0, QB_HANDLED = 1 };

struct qb_ctx;

struct qb_plugin {
    int abi; /* QB_PLUGIN_ABI */
    const char *name, *version, *description;
    int priority;        /* lower runs first; guard 10, everyday plugins 100, help 1000 */
    uint32_t event_mask; /* QB_EVMASK(kind) bits this plugin wants in on_event */
    bool default_on;     /* enabled in groups whose rules do not mention the plugin */

    /* Per-group settings: table, and the size of the struct it fills. */
    const struct qb_cfg_field *settings;
    size_t settings_size;

    const struct qb_command *commands; /* terminated by an entry with name NULL; may be NULL */
    const char *const *migrations;     /* SQL per schema version (index 0 = v1), NULL-terminated */

    int (*init)(struct qb_ctx *c); /* QB_OK or an error that stops start-up */
    int (*on_event)(struct qb_ctx *c, const struct qb_event *ev);
    void (*on_tick)(struct qb_ctx *c, int64_t now_ms);
    void (*shutdown)(struct qb_ctx *c);

    /* Optional: check one group's filled settings beyond types and bounds (a window that
     * ends before it starts ...). Return QB_OK, or QB_EINVAL with a one-line reason in why.
     * Runs for every rules file section naming the plugin, so check-config reports it as
     * file:line:col and a reload with such an edit keeps the previous rules. */
    int (*check)(const void *settings, char *why, size_t n);

    /* Observers (analytics) also receive the events another plugin handled, after it, with
     * ev->handled_by naming that plugin; an observer's verdict is ignored and its commands
     * are not routed for handled events. */
    bool observer;
};

/* The plugin's private state pointer (NULL until set). The plugin frees it in shutdown. */
void *qb_state(struct qb_ctx *c);
void qb_set_state(struct qb_ctx *c, void *state);

/* This plugin's settings for a group (a struct of settings_size bytes), never NULL:
 * groups no rules file names get the default policy. Borrowed until the next reload. */
const void *qb_settings(struct qb_ctx *c, const char *group_id);
/* Is this plugin enabled in the group? Private chats: enabled if enabled anywhere. */
bool qb_enabled(struct qb_ctx *c, const char *group_id);

/* The sender's effective role for ev (superusers from the bot config win). */
enum qb_role qb_role_of(struct qb_ctx *c, const struct qb_event *ev);
/* The timezone name for a group (rules file, else the bot's, default Asia/Shanghai). */
const char *qb_timezone(struct qb_ctx *c, const char *group_id);

/* Where a plugin writes files for admins (talk summaries, reports): fills out with
 * "<folder of the database>/exports/<plugin>/<name>", creating the folders (mode 0750).
 * name is a plain file name ("talk-12.md"): no '/' and not starting with '.'.
 * Returns QB_OK, QB_EINVAL (bad name, or out too small) or QB_EIO (folder not creatable). */
int qb_export_path(struct qb_ctx *c, const char *name, char *out, size_t n);

/* The plugin's own name (for messages and audit). */
const char *qb_plugin_name(struct qb_ctx *c);

/* Every group a loaded rules file lists (a community file's "groups") with this plugin
 * enabled: calls fn once per group, in file order, from init on (the rules are loaded before
 * any init) and with the current rules after a reload. Groups that only get the default policy
 * are not listed: they are known only from their events. Rules files name a group by its id
 * alone, without platform or account, so fn gets just the id; to send to a group the plugin
 * has not heard from yet, pass self_id "" (the first account: the outbox holds the message
 * until the account is connected) and prefer the account of the group's events once seen.
 * fn returning non-zero stops the walk and qb_each_group returns that value; else QB_OK.
 * group_id is borrowed for the call. Use it to arm schedules at start-up (posts, summaries,
 * announcements) for groups that stay quiet. */
int qb_each_group(struct qb_ctx *c, int (*fn)(struct qb_ctx *c, const char *group_id, void *ud),
                  void *ud);

/* Every enabled plugin's commands, for a help listing: calls fn once per command. */
void qb_each_command(struct qb_ctx *c, const char *group_id,
                     void (*fn)(const struct qb_plugin *p, const struct qb_command *cmd, void *ud),
                     void *ud);

/* Counters for /status. */
struct qb_status {
    int64_t started_ms;
    int accounts, accounts_online;
    int64_t events_in, actions_out, actions_failed, queued;
};
void qb_get_status(struct qb_ctx *c, struct qb_status *st);

#endif
