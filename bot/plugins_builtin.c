/*
 * plugins_builtin.c — the list of plugins compiled into qunbot (nginx's ngx_modules
 * idea). Adding a plugin: write plugins/<name>/<name>.c, declare it here, list it.
 */
#include "core.h"

extern const struct qb_plugin qb_plugin_guard;
extern const struct qb_plugin qb_plugin_help;
extern const struct qb_plugin qb_plugin_welcome;
extern const struct qb_plugin qb_plugin_ranking;
extern const struct qb_plugin qb_plugin_checkin;
extern const struct qb_plugin qb_plugin_signup;
extern const struct qb_plugin qb_plugin_schedule;
extern const struct qb_plugin qb_plugin_talks;
extern const struct qb_plugin qb_plugin_insight;

const struct qb_plugin *const qb_builtin_plugins[] = {
        &qb_plugin_guard,    &qb_plugin_help,
        &qb_plugin_welcome,  &qb_plugin_ranking,
        &qb_plugin_checkin,  &qb_plugin_signup,
        &qb_plugin_schedule, &qb_plugin_talks,
        &qb_plugin_insight,  NULL,
};
