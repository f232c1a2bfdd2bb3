/*
 * cfg.h — typed settings for plugins, declared as a table.
 *
 * A plugin lists its settings (key, type, offset in its settings struct, default,
 * bounds). The core validates every rules file against the table (unknown keys and
 * wrong types are errors with file:line:col), fills a zeroed struct with the defaults
 * and overlays the values given for a group. The core owns and frees the struct.
 */
#ifndef QUNBOT_CFG_H
#define QUNBOT_CFG_H

#include "qunbot.h"

enum qb_cfg_type {
    QB_CFG_BOOL = 1, /* bool */
    QB_CFG_INT,      /* int64_t, within [min, max] */
    QB_CFG_STRING,   /* char * (owned by the core) */
    QB_CFG_STRLIST,  /* struct qb_strlist */
    QB_CFG_DURATION, /* int64_t milliseconds; written as "90s", "10m", "2h", "3d" or a number of
                        seconds */
    QB_CFG_TEMPLATE, /* char * (owned by the core): text with {placeholders} from the field's list
                      */
};

struct qb_strlist {
    char **v;
    size_t n;
};

struct qb_cfg_field {
    const char *key;
    enum qb_cfg_type type;
    size_t offset;   /* offsetof(struct my_settings, field) */
    const char *def; /* default as JSON text: "true", "3", "\"签到\"", "[\"a\",\"b\"]", "\"10m\"" */
    int64_t min, max;                /* bounds for INT/DURATION (ms); both 0 = unbounded */
    const char *help;                /* one line for docs and check-config */
    const char *const *placeholders; /* QB_CFG_TEMPLATE: allowed names, NULL-terminated */
};

/* Does the list contain s (exact match)? */
bool qb_strlist_has(const struct qb_strlist *l, const char *s);

#endif
