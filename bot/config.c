/*
 * config.c — loads and validates the bot config file (accounts, listener, storage,
 * rate limits, admin HTTP, connection tuning) into struct qb_config.
 *
 * Owns the qb_config it returns (freed by qb_config_free). Every problem is collected
 * as a "file:line:col: message" diagnostic; loading never prints and never puts a
 * token (or a URL, which may carry one) into a message. Rules files: config_rules.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_json.h"
#include "util/util.h"

#define MAX_TOKEN_FILE 65536

static const char *const top_keys[] = {"accounts",    "listen",   "storage",    "rules_dir",
                                       "superusers",  "timezone", "log_level",  "command_prefixes",
                                       "rate_limits", "http",     "connection", NULL};
static const char *const account_keys[] = {
        "name",       "protocol", "mode",        "url",           "api_url",
        "event_url",  "token",    "token_env",   "token_file",    "self_id",
        "tls_verify", "ca_file",  "api_timeout", "media_timeout", NULL};
static const char *const listen_keys[] = {"host", "port", "path", NULL};
static const char *const storage_keys[] = {"path", "text_retention", NULL};
static const char *const rate_keys[] = {
        "account_interval", "jitter", "group_per_minute", "group_burst", "timeout_burst",
        "timeout_backoff",  NULL};
static const char *const http_keys[] = {"enabled",   "host",       "port", "token",
                                        "token_env", "token_file", NULL};
static const char *const conn_keys[] = {"max_frame_bytes", "backfill_count",     "reconnect_min",
                                        "reconnect_max",   "heartbeat_fallback", NULL};

/* What the loader needs besides the document: the config file's directory. */
struct loader {
    struct qb_jdoc j;
    char *base; /* directory of the config file, NULL when it is the current one */
};

/* ---- small helpers ---- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    return qb_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* A path from the config file, relative to the config file's directory. Caller frees. */
static char *resolve(const struct loader *L, const char *p)
{
    if (!L->base || p[0] == '/' || !strcmp(p, ":memory:"))
        return strdup(p);
    struct qb_buf b;
    qb_buf_init(&b);
    if (qb_buf_printf(&b, "%s%s%s", L->base, L->base[strlen(L->base) - 1] == '/' ? "" : "/", p) !=
        QB_OK) {
        qb_buf_free(&b);
        return NULL;
    }
    return qb_buf_steal(&b);
}

/* obj[key] as an object section, or NULL (absent, or reported when not an object). */
static const cJSON *section(struct qb_jdoc *j, const cJSON *root, const char *key,
                            const char *const *keys)
{
    const cJSON *s = qb_json_member(root, key);
    if (!s)
        return NULL;
    if (!cJSON_IsObject(s)) {
        qb_jdoc_err(j, s, false, "\"%s\" must be an object { ... }, not %s", key, qb_json_kind(s));
        return NULL;
    }
    qb_jdoc_check_keys(j, s, keys, NULL);
    return s;
}

/* A path-valued string, resolved against the config file's directory. */
static void get_path(struct loader *L, const cJSON *obj, const char *key, char **dst)
{
    char *raw = NULL;
    if (!qb_get_string(&L->j, obj, key, true, &raw) || !raw)
        return;
    char *p = resolve(L, raw);
    free(raw);
    if (!p) {
        L->j.oom = true;
        return;
    }
    free(*dst);
    *dst = p;
}

/* A duration that must be longer than zero. */
static void get_positive_duration(struct qb_jdoc *j, const cJSON *obj, const char *key,
                                  int64_t *dst)
{
    int64_t v = *dst;
    if (!qb_get_duration(j, obj, key, &v))
        return;
    if (v <= 0) {
        qb_jdoc_err(j, qb_json_member(obj, key), false, "\"%s\" must be longer than 0", key);
        return;
    }
    *dst = v;
}

static void get_int_field(struct qb_jdoc *j, const cJSON *obj, const char *key, int64_t min,
                          int64_t max, int *dst)
{
    int64_t v = *dst;
    if (qb_get_int(j, obj, key, min, max, &v))
        *dst = (int)v;
}

static bool is_ws_url(const char *u)
{
    return (qb_starts_with(u, "ws://") && u[5]) || (qb_starts_with(u, "wss://") && u[6]);
}

/* ---- tokens ---- */

static int read_token_file(const char *path, char **out, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = errno;
        return QB_EIO;
    }
    char *buf = malloc(MAX_TOKEN_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_TOKEN_FILE + 1, f) : 0;
    bool bad = buf && ferror(f);
    *err = bad ? errno : 0;
    fclose(f);
    if (!buf)
        return QB_ENOMEM;
    if (bad || n > MAX_TOKEN_FILE) {
        free(buf);
        return bad ? QB_EIO : QB_ETOOBIG;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    *out = buf;
    return QB_OK;
}

/* Resolve "token" / "token_env" / "token_file" of obj into *dst ("" when none given).
 * Returns false when a given source is wrong (already reported). */
static bool get_token(struct loader *L, const cJSON *obj, char **dst)
{
    struct qb_jdoc *j = &L->j;
    static const char *const keys[] = {"token", "token_env", "token_file"};
    const cJSON *given = NULL;
    int which = -1;
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        const cJSON *v = qb_json_member(obj, keys[i]);
        if (!v)
            continue;
        if (given) {
            qb_jdoc_err(j, v, true,
                        "give only one of \"token\", \"token_env\" and \"token_file\" "
                        "(\"%s\" is already given)",
                        given->string);
            ok = false;
            continue;
        }
        given = v;
        which = i;
    }
    if (!given)
        return ok;
    if (!cJSON_IsString(given) || (which > 0 && !given->valuestring[0])) {
        qb_jdoc_err(j, given, false, "\"%s\" must be %s", given->string,
                    which == 0   ? "text in quotes"
                    : which == 1 ? "the name of an environment variable, in quotes"
                                 : "the path of a file, in quotes");
        return false;
    }
    char *tok = NULL;
    if (which == 0) {
        tok = strdup(given->valuestring);
    } else if (which == 1) {
        const char *e = getenv(given->valuestring);
        if (!e) {
            qb_jdoc_err(j, given, false,
                        "the environment variable %s is not set; set it to the token before "
                        "starting qunbot",
                        given->valuestring);
            return false;
        }
        tok = strdup(e);
    } else {
        char *path = resolve(L, given->valuestring);
        int err = 0;
        int rc = path ? read_token_file(path, &tok, &err) : QB_ENOMEM;
        if (rc == QB_EIO || rc == QB_ETOOBIG)
            qb_jdoc_err(j, given, false, "cannot read the token file %s: %s", path,
                        rc == QB_ETOOBIG ? "it is too large to be a token" : strerror(err));
        free(path);
        if (rc != QB_OK) {
            j->oom |= rc == QB_ENOMEM;
            return false;
        }
    }
    if (!tok) {
        j->oom = true;
        return false;
    }
    free(*dst);
    *dst = tok;
    return ok;
}

/* ---- accounts ---- */

struct account_src {
    const cJSON *obj, *name, *self_id;
};

static void account_mode(struct qb_jdoc *j, const cJSON *a, struct qb_account_cfg *ac)
{
    const cJSON *m = qb_json_member(a, "mode");
    if (!m) {
        ac->mode = QB_MODE_FORWARD; /* the common case: qunbot dials NapCat's WebSocket server */
    } else if (cJSON_IsString(m) && !strcmp(m->valuestring, "forward")) {
        ac->mode = QB_MODE_FORWARD;
    } else if (cJSON_IsString(m) && !strcmp(m->valuestring, "reverse")) {
        ac->mode = QB_MODE_REVERSE;
    } else {
        qb_jdoc_err(j, m, false, "\"mode\" must be \"forward\" or \"reverse\"");
    }
}

static void check_urls(struct qb_jdoc *j, const cJSON *a, const struct qb_account_cfg *ac)
{
    static const char *const keys[] = {"url", "api_url", "event_url"};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = qb_json_member(a, keys[i]);
        if (!v || !cJSON_IsString(v))
            continue;
        if (ac->mode == QB_MODE_REVERSE)
            qb_jdoc_err(j, v, true,
                        "\"%s\" is only for forward accounts; the platform reaches a reverse "
                        "account through the \"listen\" address",
                        keys[i]);
        else if (!is_ws_url(v->valuestring))
            qb_jdoc_err(j, v, false,
                        "\"%s\" must start with ws:// or wss://, like \"ws://127.0.0.1:3001\"",
                        keys[i]);
    }
    if (ac->mode != QB_MODE_FORWARD)
        return;
    if (ac->url && (ac->api_url || ac->event_url))
        qb_jdoc_err(j, qb_json_member(a, ac->api_url ? "api_url" : "event_url"), true,
                    "give either \"url\" or both \"api_url\" and \"event_url\", not both kinds");
    else if (!ac->url && !ac->api_url && !ac->event_url)
        qb_jdoc_err(j, a, false,
                    "a forward account needs \"url\" (like \"ws://127.0.0.1:3001\"), or both "
                    "\"api_url\" and \"event_url\"");
    else if (!ac->url && (!ac->api_url || !ac->event_url))
        qb_jdoc_err(j, qb_json_member(a, ac->api_url ? "api_url" : "event_url"), true,
                    "\"api_url\" and \"event_url\" go together; add \"%s\" too",
                    ac->api_url ? "event_url" : "api_url");
}

static void parse_account(struct loader *L, const cJSON *a, size_t idx, struct qb_account_cfg *ac,
                          struct account_src *src)
{
    struct qb_jdoc *j = &L->j;
    char def_name[32];
    snprintf(def_name, sizeof def_name, "account-%zu", idx + 1);
    ac->name = strdup(def_name);
    ac->protocol = strdup("onebot11");
    ac->token = strdup("");
    ac->tls_verify = true;
    ac->api_timeout_ms = 30000;
    ac->media_timeout_ms = 120000;
    if (!ac->name || !ac->protocol || !ac->token)
        j->oom = true;
    src->obj = a;
    if (!cJSON_IsObject(a)) {
        qb_jdoc_err(j, a, false, "each account must be an object { ... }, not %s", qb_json_kind(a));
        return;
    }
    qb_jdoc_check_keys(j, a, account_keys, NULL);
    if (qb_get_string(j, a, "name", true, &ac->name))
        src->name = qb_json_member(a, "name");
    if (qb_get_string(j, a, "protocol", true, &ac->protocol) &&
        strcmp(ac->protocol, "onebot11") != 0)
        qb_jdoc_err(j, qb_json_member(a, "protocol"), false,
                    "protocol \"%s\" is not supported yet; use \"onebot11\"", ac->protocol);
    account_mode(j, a, ac);
    qb_get_string(j, a, "url", true, &ac->url);
    qb_get_string(j, a, "api_url", true, &ac->api_url);
    qb_get_string(j, a, "event_url", true, &ac->event_url);
    check_urls(j, a, ac);
    const cJSON *sid = qb_json_member(a, "self_id");
    if (sid && qb_json_id(j, sid, "self_id", ac->self_id))
        src->self_id = sid;
    bool tok_ok = get_token(L, a, &ac->token);
    qb_get_bool(j, a, "tls_verify", &ac->tls_verify);
    get_path(L, a, "ca_file", &ac->ca_file);
    if (ac->ca_file && access(ac->ca_file, R_OK) != 0)
        qb_jdoc_err(j, qb_json_member(a, "ca_file"), false, "cannot read the CA file %s: %s",
                    ac->ca_file, strerror(errno));
    get_positive_duration(j, a, "api_timeout", &ac->api_timeout_ms);
    get_positive_duration(j, a, "media_timeout", &ac->media_timeout_ms);
    if (ac->mode == QB_MODE_REVERSE && !src->self_id && !sid)
        qb_jdoc_err(j, a, false,
                    "a reverse account needs \"self_id\": the QQ number of the bot account "
                    "that connects");
    if (ac->mode == QB_MODE_REVERSE && tok_ok && !ac->token[0])
        qb_jdoc_err(j, a, false,
                    "a reverse account needs a token (\"token\", \"token_env\" or "
                    "\"token_file\"): qunbot never listens without one");
}

/* Names unique among all accounts, self_ids unique among reverse accounts. */
static void check_account_clashes(struct qb_jdoc *j, const struct qb_config *c,
                                  const struct account_src *src)
{
    for (size_t k = 0; k < c->naccounts; k++) {
        const struct qb_account_cfg *b = &c->accounts[k];
        for (size_t i = 0; i < k; i++) {
            const struct qb_account_cfg *a = &c->accounts[i];
            if (a->name && b->name && !strcmp(a->name, b->name)) {
                qb_jdoc_err(j, src[k].name ? src[k].name : src[k].obj, false,
                            "two accounts are named \"%s\"; give each a different \"name\"",
                            b->name);
                break;
            }
        }
        if (b->mode != QB_MODE_REVERSE || !src[k].self_id)
            continue;
        for (size_t i = 0; i < k; i++) {
            const struct qb_account_cfg *a = &c->accounts[i];
            if (a->mode == QB_MODE_REVERSE && src[i].self_id && !strcmp(a->self_id, b->self_id)) {
                qb_jdoc_err(j, src[k].self_id, false,
                            "self_id %s is already used by reverse account \"%s\"; each reverse "
                            "account needs its own",
                            b->self_id, a->name ? a->name : "?");
                break;
            }
        }
    }
}

static void parse_accounts(struct loader *L, const cJSON *root, struct qb_config *c)
{
    struct qb_jdoc *j = &L->j;
    const cJSON *arr = qb_json_member(root, "accounts");
    if (!arr) {
        qb_jdoc_err(j, root, false,
                    "\"accounts\" is missing; add at least one account to connect to");
        return;
    }
    if (!cJSON_IsArray(arr)) {
        qb_jdoc_err(j, arr, false, "\"accounts\" must be a list [ ... ] of accounts, not %s",
                    qb_json_kind(arr));
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0) {
        qb_jdoc_err(j, arr, false, "\"accounts\" is empty; add at least one account");
        return;
    }
    c->accounts = calloc(n, sizeof *c->accounts);
    struct account_src *src = calloc(n, sizeof *src);
    if (!c->accounts || !src) {
        free(src);
        j->oom = true;
        return;
    }
    c->naccounts = n;
    size_t i = 0;
    for (const cJSON *a = arr->child; a; a = a->next, i++)
        parse_account(L, a, i, &c->accounts[i], &src[i]);
    check_account_clashes(j, c, src);
    free(src);
}

/* ---- other sections ---- */

static void parse_strlist(struct qb_jdoc *j, const cJSON *root, const char *key, bool ids,
                          struct qb_strlist *dst)
{
    const cJSON *arr = qb_json_member(root, key);
    if (!arr)
        return;
    if (!cJSON_IsArray(arr)) {
        qb_jdoc_err(j, arr, false, "\"%s\" must be a list [ ... ], not %s", key, qb_json_kind(arr));
        return;
    }
    qb_sl_free(dst);
    if (!ids && !arr->child)
        qb_jdoc_err(j, arr, false, "\"%s\" must not be empty", key);
    for (const cJSON *v = arr->child; v; v = v->next) {
        char id[QB_ID_MAX];
        const char *s = NULL;
        if (ids && qb_json_id(j, v, "user id", id)) {
            s = id;
        } else if (!ids) {
            if (cJSON_IsString(v) && v->valuestring[0])
                s = v->valuestring;
            else
                qb_jdoc_err(j, v, false, "each entry of \"%s\" must be non-empty text", key);
        }
        if (s && qb_sl_push(dst, s) != QB_OK)
            j->oom = true;
    }
}

static void parse_top_strings(struct loader *L, const cJSON *root, struct qb_config *c)
{
    struct qb_jdoc *j = &L->j;
    get_path(L, root, "rules_dir", &c->rules_dir);
    if (qb_get_string(j, root, "timezone", true, &c->timezone) && !qb_timezone_valid(c->timezone))
        qb_jdoc_err(j, qb_json_member(root, "timezone"), false,
                    "unknown timezone \"%s\"; use a name like \"Asia/Shanghai\" or \"UTC\"",
                    c->timezone);
    const cJSON *lv = qb_json_member(root, "log_level");
    if (lv) {
        int level = cJSON_IsString(lv) ? qb_log_level_parse(lv->valuestring) : -1;
        if (level < 0)
            qb_jdoc_err(j, lv, false,
                        "\"log_level\" must be \"debug\", \"info\", \"warn\" or \"error\"");
        else
            c->log_level = level;
    }
    parse_strlist(j, root, "superusers", true, &c->superusers);
    parse_strlist(j, root, "command_prefixes", false, &c->command_prefixes);
}

static void parse_sections(struct loader *L, const cJSON *root, struct qb_config *c)
{
    struct qb_jdoc *j = &L->j;
    const cJSON *s = section(j, root, "listen", listen_keys);
    if (s) {
        qb_get_string(j, s, "host", true, &c->listen.host);
        get_int_field(j, s, "port", 0, 65535, &c->listen.port);
        if (qb_get_string(j, s, "path", true, &c->listen.path) && c->listen.path[0] != '/')
            qb_jdoc_err(j, qb_json_member(s, "path"), false,
                        "\"path\" must start with /, like \"/onebot/v11/ws\"");
    }
    if ((s = section(j, root, "storage", storage_keys))) {
        get_path(L, s, "path", &c->db_path);
        qb_get_duration(j, s, "text_retention", &c->storage.text_retention_ms);
    }
    if ((s = section(j, root, "rate_limits", rate_keys))) {
        qb_get_duration(j, s, "account_interval", &c->rate.account_interval_ms);
        qb_get_duration(j, s, "jitter", &c->rate.jitter_ms);
        get_int_field(j, s, "group_per_minute", 1, 100000, &c->rate.group_per_min);
        get_int_field(j, s, "group_burst", 1, 100000, &c->rate.group_burst);
        get_int_field(j, s, "timeout_burst", 1, 100000, &c->rate.timeout_burst);
        qb_get_duration(j, s, "timeout_backoff", &c->rate.timeout_backoff_ms);
    }
    if ((s = section(j, root, "http", http_keys))) {
        qb_get_bool(j, s, "enabled", &c->http.enabled);
        qb_get_string(j, s, "host", true, &c->http.host);
        get_int_field(j, s, "port", 0, 65535, &c->http.port);
        if (get_token(L, s, &c->http.token) && c->http.enabled && !c->http.token[0])
            qb_jdoc_err(j, qb_json_member(s, "enabled"), false,
                        "the admin HTTP API needs a token (\"token\", \"token_env\" or "
                        "\"token_file\") when \"enabled\" is true");
    }
    if ((s = section(j, root, "connection", conn_keys))) {
        qb_get_int(j, s, "max_frame_bytes", 1024, 64 << 20, &c->max_frame_bytes);
        get_int_field(j, s, "backfill_count", 0, 1000, &c->backfill_count);
        get_positive_duration(j, s, "reconnect_min", &c->reconnect_min_ms);
        get_positive_duration(j, s, "reconnect_max", &c->reconnect_max_ms);
        get_positive_duration(j, s, "heartbeat_fallback", &c->heartbeat_fallback_ms);
        if (c->reconnect_min_ms > c->reconnect_max_ms) {
            const cJSON *at = qb_json_member(s, "reconnect_min");
            qb_jdoc_err(j, at ? at : qb_json_member(s, "reconnect_max"), false,
                        "\"reconnect_min\" must not be longer than \"reconnect_max\"");
        }
    }
}

static int set_defaults(struct loader *L, struct qb_config *c)
{
    c->listen.port = 8080;
    c->log_level = QB_LOG_INFO;
    c->rate.account_interval_ms = 1000;
    c->rate.jitter_ms = 500;
    c->rate.group_per_min = 10;
    c->rate.group_burst = 3;
    c->rate.timeout_burst = 3;
    c->rate.timeout_backoff_ms = 10LL * 60 * 1000;
    c->http.port = 8081;
    c->storage.text_retention_ms = 180LL * 86400 * 1000;
    c->max_frame_bytes = 1 << 20;
    c->backfill_count = 30;
    c->reconnect_min_ms = 1000;
    c->reconnect_max_ms = 30000;
    c->heartbeat_fallback_ms = 90000;
    c->listen.host = strdup("127.0.0.1");
    c->listen.path = strdup("/onebot/v11/ws");
    c->db_path = resolve(L, "qunbot.db");
    c->rules_dir = resolve(L, "rules");
    c->timezone = strdup("Asia/Shanghai");
    c->http.host = strdup("127.0.0.1");
    c->http.token = strdup("");
    if (!c->listen.host || !c->listen.path || !c->db_path || !c->rules_dir || !c->timezone ||
        !c->http.host || !c->http.token || qb_sl_push(&c->command_prefixes, "/") != QB_OK)
        return QB_ENOMEM;
    return QB_OK;
}

int qb_config_load(const char *path, struct qb_config **out, struct qb_diag *d)
{
    *out = NULL;
    if (!path)
        return QB_EINVAL;
    struct loader L = {0};
    size_t first = d ? d->n : 0;
    int rc = qb_jdoc_load(&L.j, path, d);
    if (rc != QB_OK)
        return rc;
    struct qb_config *c = calloc(1, sizeof *c);
    L.base = dir_of(path);
    if (!c || (strchr(path, '/') && !L.base) || !(c->path = strdup(path)) ||
        set_defaults(&L, c) != QB_OK) {
        rc = QB_ENOMEM;
        goto out;
    }
    const cJSON *root = L.j.root;
    if (!cJSON_IsObject(root)) {
        qb_jdoc_err(&L.j, root, false, "the config must be a JSON object { ... }, not %s",
                    qb_json_kind(root));
    } else {
        qb_jdoc_check_keys(&L.j, root, top_keys, NULL);
        parse_accounts(&L, root, c);
        parse_top_strings(&L, root, c);
        parse_sections(&L, root, c);
    }
    rc = L.j.oom ? QB_ENOMEM : L.j.nerr ? QB_EINVAL : QB_OK;
    qb_diag_sort_from(d, first, path);
out:
    qb_jdoc_free(&L.j);
    free(L.base);
    if (rc == QB_OK)
        *out = c;
    else
        qb_config_free(c);
    return rc;
}

static void account_free(struct qb_account_cfg *a)
{
    free(a->name);
    free(a->protocol);
    free(a->url);
    free(a->api_url);
    free(a->event_url);
    if (a->token) {
        memset(a->token, 0, strlen(a->token)); /* do not leave secrets in freed memory */
        free(a->token);
    }
    free(a->ca_file);
}

void qb_config_free(struct qb_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->naccounts; i++)
        account_free(&c->accounts[i]);
    free(c->accounts);
    free(c->path);
    free(c->listen.host);
    free(c->listen.path);
    free(c->db_path);
    free(c->rules_dir);
    free(c->timezone);
    qb_sl_free(&c->superusers);
    qb_sl_free(&c->command_prefixes);
    free(c->http.host);
    if (c->http.token) {
        memset(c->http.token, 0, strlen(c->http.token));
        free(c->http.token);
    }
    free(c);
}
