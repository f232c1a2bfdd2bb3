/*
 * config_rules.c — loads the community rules files (one per community, listing its
 * groups, enabled plugins and their settings) and builds plugins' settings structs
 * from their qb_cfg_field tables.
 *
 * Owns the qb_rules it returns (freed by qb_rules_free), including every settings
 * struct and the strings in it. Borrows the plugin list. Never prints: problems are
 * "file:line:col: message" diagnostics; a broken set of files gives no rules at all.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_json.h"
#include "util/util.h"

#include <qunbot/template.h>

static const char *const rules_keys[] = {"name", "groups", "default", "timezone", "plugins", NULL};

/* Where a group id or the default policy was declared, for "named twice" errors. */
struct decl {
    char id[QB_ID_MAX];
    const char *file; /* borrowed from the policy */
    int line, col;
};

struct rload {
    const struct qb_plugin *const *plugins;
    size_t nplugins;
    const char **names; /* plugin names, NULL-terminated */
    struct qb_diag *d;
    int nerr;
    bool oom;
    struct decl *groups;
    size_t ngroups;
    struct decl def; /* def.file NULL until a default file is seen */
    struct qb_rules *r;
};

/* ---- settings tables ---- */

#define FIELD(base, f, type) ((type *)(void *)((char *)(base) + (f)->offset))

static bool bounded(const struct qb_cfg_field *f)
{
    return f->min != 0 || f->max != 0;
}

static void fmt_duration(char *buf, size_t n, int64_t ms)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms && ms % units[i].ms == 0) {
            snprintf(buf, n, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
            return;
        }
    }
    snprintf(buf, n, "%" PRId64 "ms", ms);
}

static bool set_strlist(const cJSON *v, struct qb_strlist *dst, char *why, size_t n)
{
    if (!cJSON_IsArray(v)) {
        snprintf(why, n, "must be a list [ ... ] of texts, not %s", qb_json_kind(v));
        return false;
    }
    struct qb_strlist l = {0};
    for (const cJSON *e = v->child; e; e = e->next) {
        char num[32];
        const char *s = cJSON_IsString(e) ? e->valuestring : NULL;
        if (!s && qb_json_is_int(e, INT64_MIN, INT64_MAX)) {
            snprintf(num, sizeof num, "%" PRId64, (int64_t)e->valuedouble);
            s = num;
        }
        if (!s) {
            snprintf(why, n, "must be a list of texts, but one entry is %s", qb_json_kind(e));
            qb_sl_free(&l);
            return false;
        }
        if (qb_sl_push(&l, s) != QB_OK) {
            snprintf(why, n, "out of memory");
            qb_sl_free(&l);
            return false;
        }
    }
    qb_sl_free(dst);
    *dst = l;
    return true;
}

static bool set_number(const struct qb_cfg_field *f, const cJSON *v, void *base, char *why,
                       size_t n)
{
    int64_t x;
    bool dur = f->type == QB_CFG_DURATION;
    if (dur ? !qb_json_duration(v, &x) : !qb_json_is_int(v, INT64_MIN, INT64_MAX)) {
        if (dur)
            snprintf(why, n,
                     "must be a duration like \"90s\", \"10m\", \"2h\", \"3d\" or a "
                     "number of seconds");
        else
            snprintf(why, n, "must be a whole number, not %s",
                     cJSON_IsNumber(v) ? "a fraction" : qb_json_kind(v));
        return false;
    }
    if (!dur)
        x = (int64_t)v->valuedouble;
    if (bounded(f) && (x < f->min || x > f->max)) {
        char lo[32], hi[32];
        if (dur) {
            fmt_duration(lo, sizeof lo, f->min);
            fmt_duration(hi, sizeof hi, f->max);
        } else {
            snprintf(lo, sizeof lo, "%" PRId64, f->min);
            snprintf(hi, sizeof hi, "%" PRId64, f->max);
        }
        if (dur)
            snprintf(why, n, "must be between %s and %s", lo, hi);
        else
            snprintf(why, n, "must be between %s and %s (it is %" PRId64 ")", lo, hi, x);
        return false;
    }
    *FIELD(base, f, int64_t) = x;
    return true;
}

/* Store v into the field; on a wrong value leave the field as it was and explain in why. */
static bool cfg_set(const struct qb_cfg_field *f, const cJSON *v, void *base, char *why, size_t n)
{
    switch (f->type) {
    case QB_CFG_BOOL:
        if (!cJSON_IsBool(v)) {
            snprintf(why, n, "must be true or false, not %s", qb_json_kind(v));
            return false;
        }
        *FIELD(base, f, bool) = cJSON_IsTrue(v);
        return true;
    case QB_CFG_INT:
    case QB_CFG_DURATION:
        return set_number(f, v, base, why, n);
    case QB_CFG_TEMPLATE:
        if (cJSON_IsString(v) &&
            qb_template_check(v->valuestring, f->placeholders, why, n) != QB_OK)
            return false;
        __attribute__((fallthrough)); /* stored like text */
    case QB_CFG_STRING: {
        if (!cJSON_IsString(v)) {
            snprintf(why, n, "must be text in quotes, not %s", qb_json_kind(v));
            return false;
        }
        char *s = strdup(v->valuestring);
        if (!s) {
            snprintf(why, n, "out of memory");
            return false;
        }
        free(*FIELD(base, f, char *));
        *FIELD(base, f, char *) = s;
        return true;
    }
    case QB_CFG_STRLIST:
        return set_strlist(v, FIELD(base, f, struct qb_strlist), why, n);
    }
    snprintf(why, n, "has a type qunbot does not know");
    return false;
}

int qb_cfg_defaults(const struct qb_cfg_field *tab, void *dst)
{
    for (const struct qb_cfg_field *f = tab; f && f->key; f++) {
        char why[160];
        bool ok;
        if (!f->def && (f->type == QB_CFG_STRING || f->type == QB_CFG_TEMPLATE)) {
            *FIELD(dst, f, char *) = strdup(""); /* plugins never see a NULL string */
            ok = *FIELD(dst, f, char *) != NULL;
        } else if (!f->def) {
            ok = true; /* zero: false, 0, empty list */
        } else {
            cJSON *v = cJSON_Parse(f->def);
            ok = v && cfg_set(f, v, dst, why, sizeof why);
            cJSON_Delete(v);
        }
        if (!ok) {
            qb_cfg_release(tab, dst);
            return QB_EINVAL;
        }
    }
    return QB_OK;
}

void qb_cfg_release(const struct qb_cfg_field *tab, void *dst)
{
    for (const struct qb_cfg_field *f = tab; dst && f && f->key; f++) {
        if (f->type == QB_CFG_STRING || f->type == QB_CFG_TEMPLATE) {
            free(*FIELD(dst, f, char *));
            *FIELD(dst, f, char *) = NULL;
        } else if (f->type == QB_CFG_STRLIST) {
            qb_sl_free(FIELD(dst, f, struct qb_strlist));
        }
    }
}

/* ---- policies ---- */

static void policy_free(const struct rload *R, struct qb_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->plugins && i < R->nplugins; i++) {
        qb_cfg_release(R->plugins[i]->settings, p->plugins[i].settings);
        free(p->plugins[i].settings);
    }
    free(p->plugins);
    free(p->file);
    free(p->name);
    free(p->timezone);
    qb_sl_free(&p->groups);
    free(p);
}

/* A policy with every plugin at its defaults. */
static struct qb_policy *policy_new(struct rload *R, const char *file, const char *name)
{
    struct qb_policy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->file = strdup(file);
    p->name = strdup(name);
    p->plugins = calloc(R->nplugins ? R->nplugins : 1, sizeof *p->plugins);
    if (!p->file || !p->name || !p->plugins) {
        policy_free(R, p);
        return NULL;
    }
    for (size_t i = 0; i < R->nplugins; i++) {
        const struct qb_plugin *pl = R->plugins[i];
        p->plugins[i].enabled = pl->default_on;
        if (!pl->settings_size)
            continue;
        p->plugins[i].settings = calloc(1, pl->settings_size);
        if (!p->plugins[i].settings || qb_cfg_defaults(pl->settings, p->plugins[i].settings)) {
            policy_free(R, p);
            return NULL;
        }
    }
    return p;
}

/* Every plugin's default settings must build (a broken table is a bug in the plugin). */
static void check_plugin_defaults(struct rload *R)
{
    for (size_t i = 0; i < R->nplugins; i++) {
        const struct qb_plugin *pl = R->plugins[i];
        if (!pl->settings_size)
            continue;
        void *tmp = calloc(1, pl->settings_size);
        if (!tmp) {
            R->oom = true;
            return;
        }
        if (qb_cfg_defaults(pl->settings, tmp) != QB_OK) {
            qb_diag_add(R->d, pl->name, 0, 0,
                        "a default in this plugin's settings table does not fit its type "
                        "(a bug in the plugin, not in the rules files)");
            R->nerr++;
        }
        qb_cfg_release(pl->settings, tmp);
        free(tmp);
    }
}

static int add_policy(struct rload *R, struct qb_policy *p)
{
    struct qb_policy **v = realloc(R->r->v, (R->r->n + 1) * sizeof *v);
    if (!v)
        return QB_ENOMEM;
    R->r->v = v;
    v[R->r->n++] = p;
    return QB_OK;
}

/* ---- one rules file ---- */

static void plugin_settings(struct rload *R, struct qb_jdoc *j, const cJSON *obj, size_t idx,
                            struct qb_plugin_policy *pp)
{
    const struct qb_plugin *pl = R->plugins[idx];
    size_t nf = 0;
    for (const struct qb_cfg_field *f = pl->settings; f && f->key; f++)
        nf++;
    const char **keys = calloc(nf + 2, sizeof *keys);
    if (!keys) {
        R->oom = true;
        return;
    }
    keys[0] = "enabled";
    for (size_t i = 0; i < nf; i++)
        keys[i + 1] = pl->settings[i].key;
    qb_jdoc_check_keys(j, obj, keys, NULL);
    free(keys);
    qb_get_bool(j, obj, "enabled", &pp->enabled);
    for (size_t i = 0; i < nf && pp->settings; i++) {
        const struct qb_cfg_field *f = &pl->settings[i];
        const cJSON *v = qb_json_member(obj, f->key);
        char why[200];
        if (v && !cfg_set(f, v, pp->settings, why, sizeof why))
            qb_jdoc_err(j, v, false, "\"%s\" %s", f->key, why);
    }
    char why[300] = "";
    if (pl->check && pp->settings && pl->check(pp->settings, why, sizeof why) != QB_OK)
        qb_jdoc_err(j, obj, false, "plugin \"%s\": %s", pl->name,
                    why[0] ? why : "these settings do not fit together");
}

static void parse_plugins(struct rload *R, struct qb_jdoc *j, const cJSON *root,
                          struct qb_policy *p)
{
    const cJSON *obj = qb_json_member(root, "plugins");
    if (!obj)
        return;
    if (!cJSON_IsObject(obj)) {
        qb_jdoc_err(j, obj, false, "\"plugins\" must be an object { \"name\": { ... } }, not %s",
                    qb_json_kind(obj));
        return;
    }
    qb_jdoc_check_keys(j, obj, R->names, NULL);
    for (size_t i = 0; i < R->nplugins; i++) {
        const cJSON *v = qb_json_member(obj, R->plugins[i]->name);
        if (!v)
            continue;
        if (!cJSON_IsObject(v)) {
            qb_jdoc_err(j, v, false,
                        "the settings of plugin \"%s\" must be an object like "
                        "{ \"enabled\": true }, not %s",
                        R->plugins[i]->name, qb_json_kind(v));
            continue;
        }
        plugin_settings(R, j, v, i, &p->plugins[i]);
    }
}

static void declare_group(struct rload *R, struct qb_jdoc *j, const cJSON *item, const char *id,
                          const struct qb_policy *p)
{
    int line, col;
    qb_jdoc_pos(j, item, false, &line, &col);
    for (size_t i = 0; i < R->ngroups; i++) {
        struct decl *g = &R->groups[i];
        if (strcmp(g->id, id) != 0)
            continue;
        if (g->file == p->file) {
            qb_jdoc_err(j, item, false, "group %s is listed twice in this file", id);
            return;
        }
        qb_jdoc_err(j, item, false,
                    "group %s is also listed in %s; a group may belong to one rules file only", id,
                    g->file);
        qb_diag_add(R->d, g->file, g->line, g->col,
                    "group %s is also listed in %s; a group may belong to one rules file only", id,
                    p->file);
        R->nerr++;
        return;
    }
    struct decl *v = realloc(R->groups, (R->ngroups + 1) * sizeof *v);
    if (!v) {
        R->oom = true;
        return;
    }
    R->groups = v;
    qb_id_set(v[R->ngroups].id, id);
    v[R->ngroups].file = p->file;
    v[R->ngroups].line = line;
    v[R->ngroups].col = col;
    R->ngroups++;
}

static void parse_groups(struct rload *R, struct qb_jdoc *j, const cJSON *root, struct qb_policy *p)
{
    const cJSON *def = qb_json_member(root, "default");
    const cJSON *arr = qb_json_member(root, "groups");
    if (p->is_default && arr) {
        qb_jdoc_err(j, def, true,
                    "a file is either the default policy (\"default\": true) or lists "
                    "\"groups\", not both");
        return;
    }
    if (p->is_default) {
        int line, col;
        qb_jdoc_pos(j, def, false, &line, &col);
        if (R->def.file) {
            qb_jdoc_err(j, def, false,
                        "%s already has \"default\": true; only one rules file may be the "
                        "default",
                        R->def.file);
            qb_diag_add(R->d, R->def.file, R->def.line, R->def.col,
                        "%s also has \"default\": true; only one rules file may be the default",
                        p->file);
            R->nerr++;
        } else {
            R->def.file = p->file;
            R->def.line = line;
            R->def.col = col;
        }
        return;
    }
    if (!arr) {
        qb_jdoc_err(j, root, false,
                    "this rules file needs \"groups\": [ ... ] (the group numbers it governs) "
                    "or \"default\": true");
        return;
    }
    if (!cJSON_IsArray(arr) || !arr->child) {
        qb_jdoc_err(j, arr, false, "\"groups\" must be a list of group numbers like [123456]%s",
                    cJSON_IsArray(arr) ? ", and not empty" : "");
        return;
    }
    for (const cJSON *g = arr->child; g; g = g->next) {
        char id[QB_ID_MAX];
        if (!qb_json_id(j, g, "group id", id))
            continue;
        declare_group(R, j, g, id, p);
        if (!qb_sl_find(&p->groups, id) && qb_sl_push(&p->groups, id) != QB_OK)
            R->oom = true;
    }
}

static char *name_from_file(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".json"))
        n -= 5;
    return qb_strndup(b, n);
}

static void load_file(struct rload *R, const char *path)
{
    struct qb_jdoc j;
    size_t first = R->d ? R->d->n : 0;
    int rc = qb_jdoc_load(&j, path, R->d);
    if (rc != QB_OK) {
        R->nerr++;
        R->oom |= rc == QB_ENOMEM;
        return;
    }
    char *fname = name_from_file(path);
    struct qb_policy *p = fname ? policy_new(R, path, fname) : NULL;
    free(fname);
    if (!p || add_policy(R, p) != QB_OK) {
        policy_free(R, p);
        R->oom = true;
        qb_jdoc_free(&j);
        return;
    }
    const cJSON *root = j.root;
    if (!cJSON_IsObject(root)) {
        qb_jdoc_err(&j, root, false, "a rules file must be a JSON object { ... }, not %s",
                    qb_json_kind(root));
    } else {
        qb_jdoc_check_keys(&j, root, rules_keys, NULL);
        qb_get_string(&j, root, "name", true, &p->name);
        qb_get_bool(&j, root, "default", &p->is_default);
        if (qb_get_string(&j, root, "timezone", true, &p->timezone) && p->timezone &&
            !qb_timezone_valid(p->timezone))
            qb_jdoc_err(&j, qb_json_member(root, "timezone"), false,
                        "unknown timezone \"%s\"; use a name like \"Asia/Shanghai\" or \"UTC\"",
                        p->timezone);
        parse_groups(R, &j, root, p);
        parse_plugins(R, &j, root, p);
    }
    R->nerr += j.nerr;
    R->oom |= j.oom;
    qb_jdoc_free(&j);
    qb_diag_sort_from(R->d, first, path);
}

/* ---- the directory ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted paths of the *.json files in dir; missing dir gives none. */
static int list_dir(struct rload *R, const char *dir, struct qb_strlist *out)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        if (errno == ENOENT)
            return QB_OK;
        qb_diag_add(R->d, dir, 0, 0, "cannot read the rules folder: %s", strerror(errno));
        R->nerr++;
        return QB_EIO;
    }
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        struct qb_buf b;
        qb_buf_init(&b);
        if (qb_buf_printf(&b, "%s/%s", dir, e->d_name) != QB_OK || qb_sl_push(out, b.p) != QB_OK) {
            qb_buf_free(&b);
            closedir(dh);
            return QB_ENOMEM;
        }
        qb_buf_free(&b);
    }
    closedir(dh);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return QB_OK;
}

static void free_rules_with(const struct rload *R, struct qb_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        policy_free(R, r->v[i]);
    free(r->v);
    free(r);
}

int qb_rules_load(const char *dir, const struct qb_plugin *const *plugins, size_t nplugins,
                  struct qb_rules **out, struct qb_diag *d)
{
    *out = NULL;
    if (!dir || (nplugins && !plugins))
        return QB_EINVAL;
    struct rload R = {.plugins = plugins, .nplugins = nplugins, .d = d};
    struct qb_strlist files = {0};
    R.r = calloc(1, sizeof *R.r);
    R.names = calloc(nplugins + 1, sizeof *R.names);
    if (!R.r || !R.names) {
        R.oom = true;
        goto out;
    }
    R.r->plugins = plugins;
    R.r->nplugins = nplugins;
    for (size_t i = 0; i < nplugins; i++)
        R.names[i] = plugins[i]->name;
    check_plugin_defaults(&R);
    if (!R.nerr && !R.oom && list_dir(&R, dir, &files) == QB_ENOMEM)
        R.oom = true;
    for (size_t i = 0; i < files.n && !R.oom; i++)
        load_file(&R, files.v[i]);
    for (size_t i = 0; i < R.r->n && !R.nerr; i++)
        if (R.r->v[i]->is_default)
            R.r->def = R.r->v[i];
    if (!R.r->def && !R.nerr && !R.oom) {
        struct qb_policy *p = policy_new(&R, "(built-in)", "built-in default");
        if (!p || add_policy(&R, p) != QB_OK) {
            policy_free(&R, p);
            R.oom = true;
        } else {
            p->is_default = true;
            R.r->def = p;
        }
    }
out:;
    int rc = R.oom ? QB_ENOMEM : R.nerr ? QB_EINVAL : QB_OK;
    if (rc == QB_OK)
        *out = R.r;
    else
        free_rules_with(&R, R.r);
    qb_sl_free(&files);
    free(R.names);
    free(R.groups);
    return rc;
}

const struct qb_policy *qb_rules_for(const struct qb_rules *r, const char *group_id)
{
    if (!r)
        return NULL;
    for (size_t i = 0; group_id && i < r->n; i++)
        if (!r->v[i]->is_default && qb_sl_find(&r->v[i]->groups, group_id))
            return r->v[i];
    return r->def;
}

void qb_rules_free(struct qb_rules *r)
{
    if (!r)
        return;
    struct rload R = {.plugins = r->plugins, .nplugins = r->nplugins};
    free_rules_with(&R, r);
}
