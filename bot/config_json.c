/*
 * config_json.c — the JSON side of the config module: diagnostics, reading a file with
 * cJSON, a locator that maps a parsed value back to its line and column in the source
 * text, "did you mean" suggestions and typed getters.
 *
 * The locator is a scanner over strings and brackets of text cJSON already accepted;
 * it is not a second parser. Nothing here prints, and no string value is ever copied
 * into a message (a value may be a token).
 */
#include "config_json.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

#define MAX_FILE_BYTES (16u << 20)
#define MAX_PATH_DEPTH 64

/* ---- diagnostics ---- */

void qb_diag_add(struct qb_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
    if (!d)
        return;
    struct qb_buf b;
    qb_buf_init(&b);
    int rc;
    if (line > 0)
        rc = qb_buf_printf(&b, "%s:%d:%d: ", file ? file : "?", line, col);
    else
        rc = qb_buf_printf(&b, "%s: ", file ? file : "?");
    va_list ap;
    va_start(ap, fmt);
    if (rc == QB_OK)
        rc = qb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char **v = rc == QB_OK ? realloc(d->v, (d->n + 1) * sizeof *v) : NULL;
    if (!v) {
        qb_buf_free(&b);
        return;
    }
    d->v = v;
    d->v[d->n++] = qb_buf_steal(&b);
}

void qb_diag_free(struct qb_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

/* Sort key of a diagnostic: line * 2^20 + column for file, a large value for others. */
static long long diag_key(const char *msg, const char *file)
{
    size_t n = strlen(file);
    if (strncmp(msg, file, n) != 0 || msg[n] != ':')
        return LLONG_MAX;
    char *end;
    long long line = strtoll(msg + n + 1, &end, 10);
    if (*end != ':' || end == msg + n + 1)
        return 0; /* "file: message" without a position comes first */
    long long col = strtoll(end + 1, NULL, 10);
    return line * (1LL << 20) + col;
}

void qb_diag_sort_from(struct qb_diag *d, size_t start, const char *file)
{
    if (!d || !file)
        return;
    for (size_t i = start + 1; i < d->n; i++) { /* insertion sort: stable, lists are short */
        char *m = d->v[i];
        long long k = diag_key(m, file);
        size_t p = i;
        while (p > start && diag_key(d->v[p - 1], file) > k) {
            d->v[p] = d->v[p - 1];
            p--;
        }
        d->v[p] = m;
    }
}

/* ---- positions ---- */

static void line_col(const struct qb_jdoc *j, size_t off, int *line, int *col)
{
    const char *text = j->text;
    int l = 1, c = 1;
    for (size_t i = j->start; i < off && i < j->len; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            c++; /* count characters, not bytes */
        }
    }
    *line = l;
    *col = c;
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* i at an opening quote; returns the offset after the closing quote. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\')
            i++;
    return i < n ? i + 1 : n;
}

static size_t skip_value(const char *s, size_t i, size_t n)
{
    if (i >= n)
        return n;
    if (s[i] == '"')
        return skip_string(s, i, n);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, i, n);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return n;
    }
    while (i < n && !strchr(",]} \t\r\n", s[i]))
        i++;
    return i;
}

/* Offset of the child number k of the container at i (its key when want_key). */
static size_t child_at(const char *s, size_t i, size_t n, int k, bool want_key)
{
    bool obj = s[i] == '{';
    i++;
    for (int idx = 0;; idx++) {
        i = skip_ws(s, i, n);
        if (i >= n || s[i] == '}' || s[i] == ']')
            return i;
        size_t key = i;
        if (obj) {
            i = skip_ws(s, skip_string(s, i, n), n);
            if (i < n && s[i] == ':')
                i = skip_ws(s, i + 1, n);
        }
        if (idx == k)
            return obj && want_key ? key : i;
        i = skip_ws(s, skip_value(s, i, n), n);
        if (i < n && s[i] == ',')
            i++;
    }
}

/* Child indices from node down to target; returns the depth or -1. */
static int find_path(const cJSON *node, const cJSON *target, int *path, int depth)
{
    if (node == target)
        return depth;
    if (depth >= MAX_PATH_DEPTH || !(cJSON_IsObject(node) || cJSON_IsArray(node)))
        return -1;
    int k = 0;
    for (const cJSON *c = node->child; c; c = c->next, k++) {
        path[depth] = k;
        int r = find_path(c, target, path, depth + 1);
        if (r >= 0)
            return r;
    }
    return -1;
}

static size_t locate(const struct qb_jdoc *j, const cJSON *item, bool at_key)
{
    int path[MAX_PATH_DEPTH];
    size_t pos = skip_ws(j->text, j->start, j->len);
    int depth = item ? find_path(j->root, item, path, 0) : 0;
    for (int lv = 0; lv < depth && pos < j->len; lv++) {
        if (j->text[pos] != '{' && j->text[pos] != '[')
            break;
        pos = child_at(j->text, pos, j->len, path[lv], at_key && lv == depth - 1);
    }
    return pos;
}

void qb_jdoc_pos(const struct qb_jdoc *j, const cJSON *item, bool at_key, int *line, int *col)
{
    *line = *col = 1;
    if (j->root)
        line_col(j, locate(j, item, at_key), line, col);
}

void qb_jdoc_err(struct qb_jdoc *j, const cJSON *item, bool at_key, const char *fmt, ...)
{
    int line, col;
    qb_jdoc_pos(j, item, at_key, &line, &col);
    struct qb_buf b;
    qb_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    qb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    qb_diag_add(j->d, j->file, line, col, "%s", b.p ? b.p : "");
    qb_buf_free(&b);
    j->nerr++;
}

/* ---- loading ---- */

static int read_file(const char *path, char **out, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = errno;
        return QB_EIO;
    }
    struct qb_buf b;
    qb_buf_init(&b);
    char chunk[8192];
    size_t n;
    int rc = QB_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > MAX_FILE_BYTES) {
            rc = QB_ETOOBIG;
            break;
        }
        if (qb_buf_append(&b, chunk, n) != QB_OK) {
            rc = QB_ENOMEM;
            break;
        }
    }
    if (rc == QB_OK && ferror(f)) {
        *err = errno;
        rc = QB_EIO;
    }
    fclose(f);
    if (rc != QB_OK) {
        qb_buf_free(&b);
        return rc;
    }
    *len = b.len;
    *out = qb_buf_steal(&b);
    return QB_OK;
}

/* Line of the first invalid UTF-8 sequence, or 0 if the text is valid. */
static int bad_utf8_line(const char *s, size_t len)
{
    int line = 1;
    size_t begin = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '\n') {
            if (!qb_utf8_valid(s + begin, i - begin))
                return line;
            line++;
            begin = i + 1;
        }
    }
    return 0;
}

static void syntax_error(struct qb_jdoc *j, const char *end)
{
    size_t off = end ? (size_t)(end - j->text) : j->len;
    bool at_end = skip_ws(j->text, off, j->len) >= j->len;
    if (at_end) {
        /* point at the last thing written, not past the end of the file */
        size_t k = skip_ws(j->text, j->start, j->len) < j->len ? j->len : j->start;
        while (k > j->start && strchr(" \t\r\n", j->text[k - 1]))
            k--;
        off = k > j->start ? k - 1 : j->start;
    }
    int line, col;
    line_col(j, off, &line, &col);
    if (skip_ws(j->text, j->start, j->len) >= j->len)
        qb_diag_add(j->d, j->file, line, col,
                    "the file is empty; it should hold a JSON object "
                    "like { \"key\": value }");
    else if (at_end)
        qb_diag_add(j->d, j->file, line, col,
                    "this is not valid JSON: it ends too early or has a mistake near here "
                    "(look for a missing quote, } or ], or a comma before } or ])");
    else
        qb_diag_add(j->d, j->file, line, col,
                    "this is not valid JSON near here (look for a missing comma or quote, "
                    "or text outside quotes)");
    j->nerr++;
}

int qb_jdoc_load(struct qb_jdoc *j, const char *path, struct qb_diag *d)
{
    memset(j, 0, sizeof *j);
    j->file = path;
    j->d = d;
    int err = 0;
    int rc = read_file(path, &j->text, &j->len, &err);
    if (rc == QB_ETOOBIG) {
        qb_diag_add(d, path, 0, 0, "the file is too large (over %u MiB)", MAX_FILE_BYTES >> 20);
        return QB_EIO;
    }
    if (rc != QB_OK) {
        if (rc == QB_EIO)
            qb_diag_add(d, path, 0, 0, "cannot read the file: %s",
                        err ? strerror(err) : "read error");
        return rc;
    }
    if (j->len >= 3 && !memcmp(j->text, "\xEF\xBB\xBF", 3))
        j->start = 3; /* UTF-8 byte order mark, as some Windows editors write */
    if (memchr(j->text, '\0', j->len)) {
        qb_diag_add(d, path, 0, 0, "this is not a text file (it contains NUL bytes)");
        qb_jdoc_free(j);
        return QB_EPARSE;
    }
    int bad = bad_utf8_line(j->text, j->len);
    if (bad) {
        qb_diag_add(d, path, bad, 1,
                    "this line is not UTF-8 text; save the file as UTF-8 (not GBK or ANSI)");
        qb_jdoc_free(j);
        return QB_EPARSE;
    }
    const char *end = NULL;
    j->root = cJSON_ParseWithLengthOpts(j->text + j->start, j->len - j->start + 1, &end, 1);
    if (!j->root) {
        syntax_error(j, end);
        qb_jdoc_free(j);
        return QB_EPARSE;
    }
    return QB_OK;
}

void qb_jdoc_free(struct qb_jdoc *j)
{
    cJSON_Delete(j->root);
    free(j->text);
    j->root = NULL;
    j->text = NULL;
    j->len = 0;
}

/* ---- keys ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t k = 0; k <= lb; k++)
        row[k] = k;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t k = 1; k <= lb; k++) {
            size_t up = row[k];
            size_t best = diag + (a[i - 1] != b[k - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[k - 1] + 1 < best)
                best = row[k - 1] + 1;
            row[k] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *qb_closest(const char *key, const char *const *known)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; known && known[i]; i++) {
        size_t dist = edit_distance(key, known[i]);
        if (dist < bestd) {
            bestd = dist;
            best = known[i];
        }
    }
    return best;
}

static bool in_list(const char *key, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(key, list[i]))
            return true;
    return false;
}

bool qb_jdoc_check_keys(struct qb_jdoc *j, const cJSON *obj, const char *const *known,
                        const char *const *extra)
{
    bool ok = true;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (c->string[0] == '_')
            continue;
        for (const cJSON *p = obj->child; p != c; p = p->next) {
            if (!strcmp(p->string, c->string)) {
                qb_jdoc_err(j, c, true, "\"%s\" is given twice in the same place; keep one",
                            c->string);
                ok = false;
                break;
            }
        }
        if (in_list(c->string, known) || in_list(c->string, extra))
            continue;
        const char *s = qb_closest(c->string, known);
        if (!s)
            s = qb_closest(c->string, extra);
        if (s)
            qb_jdoc_err(j, c, true, "unknown key \"%s\"; did you mean '%s'?", c->string, s);
        else
            qb_jdoc_err(j, c, true,
                        "unknown key \"%s\" (remove it, or start it with \"_\" to make it "
                        "a comment)",
                        c->string);
        ok = false;
    }
    return ok;
}

/* ---- values ---- */

const char *qb_json_kind(const cJSON *item)
{
    if (cJSON_IsString(item))
        return "text";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsBool(item))
        return "true/false";
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsArray(item))
        return "a list [...]";
    if (cJSON_IsObject(item))
        return "an object {...}";
    return "something else";
}

bool qb_json_is_int(const cJSON *item, int64_t min, int64_t max)
{
    if (!cJSON_IsNumber(item))
        return false;
    double v = item->valuedouble;
    if (!isfinite(v) || v < -9007199254740992.0 || v > 9007199254740992.0 ||
        v != (double)(int64_t)v)
        return false; /* not whole, or beyond what a double holds exactly */
    return (int64_t)v >= min && (int64_t)v <= max;
}

const cJSON *qb_json_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

bool qb_get_bool(struct qb_jdoc *j, const cJSON *obj, const char *key, bool *dst)
{
    const cJSON *v = qb_json_member(obj, key);
    if (!v)
        return true;
    if (!cJSON_IsBool(v)) {
        qb_jdoc_err(j, v, false, "\"%s\" must be true or false, not %s", key, qb_json_kind(v));
        return false;
    }
    *dst = cJSON_IsTrue(v);
    return true;
}

static void range_text(char *buf, size_t size, int64_t min, int64_t max)
{
    if (max == INT64_MAX)
        snprintf(buf, size, "at least %" PRId64, min);
    else
        snprintf(buf, size, "from %" PRId64 " to %" PRId64, min, max);
}

bool qb_get_int(struct qb_jdoc *j, const cJSON *obj, const char *key, int64_t min, int64_t max,
                int64_t *dst)
{
    const cJSON *v = qb_json_member(obj, key);
    if (!v)
        return true;
    char range[96];
    range_text(range, sizeof range, min, max);
    if (!qb_json_is_int(v, INT64_MIN, INT64_MAX)) {
        qb_jdoc_err(j, v, false, "\"%s\" must be a whole number %s, not %s", key, range,
                    cJSON_IsNumber(v) ? "a fraction" : qb_json_kind(v));
        return false;
    }
    if (!qb_json_is_int(v, min, max)) {
        qb_jdoc_err(j, v, false, "\"%s\" must be a whole number %s (it is %.0f)", key, range,
                    v->valuedouble);
        return false;
    }
    *dst = (int64_t)v->valuedouble;
    return true;
}

bool qb_get_string(struct qb_jdoc *j, const cJSON *obj, const char *key, bool nonempty, char **dst)
{
    const cJSON *v = qb_json_member(obj, key);
    if (!v)
        return true;
    if (!cJSON_IsString(v)) {
        qb_jdoc_err(j, v, false, "\"%s\" must be text in quotes, not %s", key, qb_json_kind(v));
        return false;
    }
    if (nonempty && !v->valuestring[0]) {
        qb_jdoc_err(j, v, false, "\"%s\" must not be empty", key);
        return false;
    }
    char *s = strdup(v->valuestring);
    if (!s) {
        j->oom = true;
        return false;
    }
    free(*dst);
    *dst = s;
    return true;
}

bool qb_json_duration(const cJSON *item, int64_t *ms)
{
    if (cJSON_IsString(item))
        return qb_parse_duration(item->valuestring, ms) == QB_OK;
    if (cJSON_IsNumber(item) && isfinite(item->valuedouble) && item->valuedouble >= 0 &&
        item->valuedouble <= 9e12) {
        *ms = (int64_t)(item->valuedouble * 1000 + 0.5);
        return true;
    }
    return false;
}

bool qb_get_duration(struct qb_jdoc *j, const cJSON *obj, const char *key, int64_t *dst_ms)
{
    const cJSON *v = qb_json_member(obj, key);
    if (!v)
        return true;
    if (!qb_json_duration(v, dst_ms)) {
        qb_jdoc_err(j, v, false,
                    "\"%s\" must be a duration like \"90s\", \"10m\", \"2h\", \"3d\" or a "
                    "number of seconds",
                    key);
        return false;
    }
    return true;
}

bool qb_json_id(struct qb_jdoc *j, const cJSON *item, const char *what, char dst[QB_ID_MAX])
{
    if (cJSON_IsString(item)) {
        size_t n = strlen(item->valuestring);
        if (n == 0 || n >= QB_ID_MAX) {
            qb_jdoc_err(j, item, false, "a %s must not be %s", what, n ? "this long" : "empty");
            return false;
        }
        qb_id_set(dst, item->valuestring);
        return true;
    }
    if (qb_json_is_int(item, 0, INT64_MAX)) {
        snprintf(dst, QB_ID_MAX, "%" PRId64, (int64_t)item->valuedouble);
        return true;
    }
    qb_jdoc_err(j, item, false, "a %s must be a number like 123456 or text like \"123456\", not %s",
                what,
                cJSON_IsNumber(item) ? "a negative or fractional number" : qb_json_kind(item));
    return false;
}

bool qb_timezone_valid(const char *name)
{
    if (!name || !*name || name[0] == '/' || strstr(name, ".."))
        return false;
    if (!strcmp(name, "UTC"))
        return true;
    char path[512];
    if ((size_t)snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name) >= sizeof path)
        return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int qb_sl_push(struct qb_strlist *l, const char *s)
{
    char *c = strdup(s);
    char **v = c ? realloc(l->v, (l->n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(c);
        return QB_ENOMEM;
    }
    l->v = v;
    l->v[l->n++] = c;
    return QB_OK;
}

void qb_sl_free(struct qb_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool qb_sl_find(const struct qb_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return true;
    return false;
}
