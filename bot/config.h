/*
 * config.h — the bot config file and the community rules files (internal).
 *
 * Loading never prints: every problem becomes a diagnostic "file:line:col: message"
 * (line and column of the offending JSON value or key) collected in a qb_diag, so
 * `qunbot check-config` can list them all and a reload can report why it kept the
 * previous rules. Secrets (tokens) are never put in diagnostics.
 */
#ifndef QB_CONFIG_H
#define QB_CONFIG_H

#include <qunbot/cfg.h>
#include <qunbot/plugin.h>

/* Collected diagnostics. */
struct qb_diag {
    char **v; /* "file:line:col: message" */
    size_t n;
};
void qb_diag_add(struct qb_diag *d, const char *file, int line, int col, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
void qb_diag_free(struct qb_diag *d);

enum qb_conn_mode { QB_MODE_FORWARD = 1, QB_MODE_REVERSE };

struct qb_account_cfg {
    char *name;     /* label for logs and messages; default "account-<n>" */
    char *protocol; /* "onebot11" */
    enum qb_conn_mode mode;
    char *url;     /* forward: universal endpoint ws:// or wss:// (or NULL when api/event given) */
    char *api_url; /* forward: separate API socket (with event_url) */
    char *event_url;
    char *token;              /* resolved from "token", "token_env" or "token_file"; "" = none */
    char self_id[QB_ID_MAX];  /* reverse: the X-Self-ID this account accepts; forward: optional */
    bool tls_verify;          /* default true */
    char *ca_file;            /* optional CA bundle for wss:// */
    int64_t api_timeout_ms;   /* default 30000 */
    int64_t media_timeout_ms; /* default 120000 */
};

struct qb_config {
    char *path;
    struct qb_account_cfg *accounts;
    size_t naccounts;
    struct {
        char *host;  /* default "127.0.0.1" */
        int port;    /* default 8080; 0 = any free port */
        char *path;  /* default "/onebot/v11/ws" */
    } listen;        /* reverse-mode WebSocket listener (only if a reverse account exists) */
    char *db_path;   /* default "qunbot.db" */
    char *rules_dir; /* default "config/rules" relative to the config file's directory */
    char *timezone;  /* default "Asia/Shanghai" */
    int log_level;   /* QB_LOG_*; default info */
    struct qb_strlist superusers;
    struct qb_strlist command_prefixes; /* default ["/"] */
    struct {
        int64_t account_interval_ms; /* default 1000: one message a second per account */
        int64_t jitter_ms;           /* default 500: random extra delay up to this */
        int group_per_min;           /* default 10 */
        int group_burst;             /* default 3 */
        int timeout_burst;           /* default 3 send timeouts within a minute ... */
        int64_t timeout_backoff_ms;  /* ... pause the account this long; default 10 min */
    } rate;
    struct {
        bool enabled;
        char *host;  /* default "127.0.0.1" */
        int port;    /* default 8081 */
        char *token; /* required when enabled */
    } http;
    struct {
        int64_t text_retention_ms; /* default 180 days; 0 = keep forever */
    } storage;
    int64_t max_frame_bytes;       /* default 1 MiB */
    int backfill_count;            /* default 30 messages per group after a reconnect; 0 = off */
    int64_t reconnect_min_ms;      /* default 1000 */
    int64_t reconnect_max_ms;      /* default 30000 */
    int64_t heartbeat_fallback_ms; /* watchdog when the platform sends no heartbeat; default 90000
                                    */
};

/* Load and validate a bot config. Returns QB_OK and *out, or an error with every
 * problem in d (then *out is NULL). */
int qb_config_load(const char *path, struct qb_config **out, struct qb_diag *d);
void qb_config_free(struct qb_config *c);

/* A plugin's state in one policy. */
struct qb_plugin_policy {
    bool enabled;
    void *settings; /* settings_size bytes filled from the plugin's table; NULL if size 0 */
};

/* One community rules file, compiled. */
struct qb_policy {
    char *file;
    char *name;
    bool is_default;                  /* applies to groups no other file names */
    struct qb_strlist groups;         /* group ids this file governs */
    char *timezone;                   /* NULL = the bot's */
    struct qb_plugin_policy *plugins; /* indexed like the plugin list given to qb_rules_load */
};

struct qb_rules {
    struct qb_policy **v;
    size_t n;
    struct qb_policy *def; /* the default policy (a file with "default": true, or built in) */
    const struct qb_plugin *const *plugins;
    size_t nplugins;
};

/* Load every *.json in dir (sorted by name). A missing dir gives the built-in default
 * policy only (plugins with default_on). Returns QB_OK and *out, or an error with the
 * problems in d (then *out is NULL). */
int qb_rules_load(const char *dir, const struct qb_plugin *const *plugins, size_t nplugins,
                  struct qb_rules **out, struct qb_diag *d);
const struct qb_policy *qb_rules_for(const struct qb_rules *r, const char *group_id);
void qb_rules_free(struct qb_rules *r);

/* Settings structs from a plugin's table: defaults into a zeroed struct, and release. */
int qb_cfg_defaults(const struct qb_cfg_field *tab, void *dst);
void qb_cfg_release(const struct qb_cfg_field *tab, void *dst);

#endif
