/*
 * config_json.h — internal helpers shared by config.c (bot config) and config_rules.c
 * (rules files): reading a JSON file with cJSON, locating a parsed value back in the
 * source text for "file:line:col" diagnostics, and typed getters that report problems.
 *
 * Only the config module includes this. Nothing here prints; problems go to a qb_diag.
 * Getters never put string values in messages (a value may be a secret).
 */
#ifndef QB_CONFIG_JSON_H
#define QB_CONFIG_JSON_H

#include <cjson/cJSON.h>

#include "config.h"

/* One loaded JSON document and where its problems go. */
struct qb_jdoc {
    const char *file; /* for diagnostics; borrowed */
    char *text;       /* the whole file, NUL-terminated; owned */
    size_t len;
    size_t start; /* offset of the JSON (after a UTF-8 byte order mark) */
    cJSON *root;  /* owned */
    struct qb_diag *d;
    int nerr; /* problems reported for this document */
    bool oom; /* an allocation failed while reading values */
};

/* Read and parse path. On failure reports the problem (I/O, encoding, syntax) and
 * returns QB_EIO, QB_EPARSE or QB_ENOMEM; j is then released. */
int qb_jdoc_load(struct qb_jdoc *j, const char *path, struct qb_diag *d);
void qb_jdoc_free(struct qb_jdoc *j);

/* Order the diagnostics added since index start: those about file by line and column,
 * then the others (about other files) in the order they came. */
void qb_diag_sort_from(struct qb_diag *d, size_t start, const char *file);

/* Report a problem at item (its key when at_key and item is an object member). */
void qb_jdoc_err(struct qb_jdoc *j, const cJSON *item, bool at_key, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Line and column (1-based, in characters) of item, or of its key when at_key. */
void qb_jdoc_pos(const struct qb_jdoc *j, const cJSON *item, bool at_key, int *line, int *col);

/* Report keys of obj not in known (NULL-terminated; "_..." keys are comments), with a
 * "did you mean" suggestion, and keys given twice. extra, if not NULL, is a second list
 * of allowed keys. Returns true when every key is fine. */
bool qb_jdoc_check_keys(struct qb_jdoc *j, const cJSON *obj, const char *const *known,
                        const char *const *extra);

/* The closest of known (NULL-terminated) within edit distance 2 of key, or NULL. */
const char *qb_closest(const char *key, const char *const *known);

/* A short description of an item's type for "found ..." messages. */
const char *qb_json_kind(const cJSON *item);

/* Is the item a whole number in [min, max]? */
bool qb_json_is_int(const cJSON *item, int64_t min, int64_t max);

/* obj[key], or NULL when absent or null (null means "use the default"). Borrowed. */
const cJSON *qb_json_member(const cJSON *obj, const char *key);

/* Typed getters for obj[key]. Absent or null leaves *dst unchanged and succeeds.
 * A wrong value is reported and gives false. */
bool qb_get_bool(struct qb_jdoc *j, const cJSON *obj, const char *key, bool *dst);
bool qb_get_int(struct qb_jdoc *j, const cJSON *obj, const char *key, int64_t min, int64_t max,
                int64_t *dst);
bool qb_get_string(struct qb_jdoc *j, const cJSON *obj, const char *key, bool nonempty,
                   char **dst); /* replaces *dst (freed) with a copy */
bool qb_get_duration(struct qb_jdoc *j, const cJSON *obj, const char *key, int64_t *dst_ms);

/* An id (a string, or a whole number written without quotes) into dst. Reports and
 * returns false on anything else. what names the thing for the message ("group id"). */
bool qb_json_id(struct qb_jdoc *j, const cJSON *item, const char *what, char dst[QB_ID_MAX]);

/* A duration value (text like "90s" or a number of seconds); false if it is not one. */
bool qb_json_duration(const cJSON *item, int64_t *ms);

/* Append a copy of s; QB_OK or QB_ENOMEM. Free the list with qb_sl_free. */
int qb_sl_push(struct qb_strlist *l, const char *s);
void qb_sl_free(struct qb_strlist *l);
/* Linear search (the config module does not depend on qb_strlist_has). */
bool qb_sl_find(const struct qb_strlist *l, const char *s);

/* Does /usr/share/zoneinfo/<name> exist (or is it "UTC")? Rejects ".." and absolute names. */
bool qb_timezone_valid(const char *name);

#endif
