/*
 * main.c — the qunbot command line: run, check-config, replay, report, --version, --help,
 * and the internal dashboard-answer (the dashboard's worker process, not for users).
 *
 * Wires the pieces in order (config → bot → loop) and maps failures to exit codes:
 * 0 success, 1 a runtime failure (store, sockets, plugins), 2 usage or config errors.
 * Everything it prints is for the community manager at the terminal.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "http/http.h"

static const char usage[] =
        "qunbot " QB_VERSION " — a community-operations bot for QQ groups (OneBot v11)\n"
        "\n"
        "Usage:\n"
        "  qunbot run [--config FILE] [--connect URL] [--token TOKEN] [--db PATH]\n"
        "             [--rules DIR] [--log-level debug|info|warn|error]\n"
        "  qunbot check-config [--config FILE]\n"
        "  qunbot replay [--db PATH | --jsonl FILE] [--pack FILE]... [--baseline FILE]...\n"
        "                [--group ID] [--since DURATION] [--show N]   (see qunbot replay --help)\n"
        "  qunbot report --group ID [--since 30d] [--format html|csv|json|text] [--out FILE]\n"
        "                [--db PATH] [--tz ZONE]                     (see qunbot report --help)\n"
        "  qunbot --version | --help\n"
        "\n"
        "  --config FILE   bot config (default: config/qunbot.json)\n"
        "  --connect URL   connect to this OneBot v11 WebSocket (e.g. NapCat's "
        "ws://127.0.0.1:3001)\n"
        "                  instead of the first account's address\n"
        "  --token TOKEN   access token for that connection\n"
        "  --db PATH       SQLite database file\n"
        "  --rules DIR     directory of community rules files\n"
        "\n"
        "check-config lists every problem as file:line:col: message and exits 2 if there is any.\n"
        "Signals: SIGTERM/SIGINT stop after sending what is queued; SIGHUP reloads the rules.\n";

struct options {
    const char *cmd;
    const char *config;
    const char *connect, *token, *db, *rules, *log_level;
};

static int parse_args(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->config = "config/qunbot.json";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--config")      ? &o->config
                            : !strcmp(a, "--connect")   ? &o->connect
                            : !strcmp(a, "--token")     ? &o->token
                            : !strcmp(a, "--db")        ? &o->db
                            : !strcmp(a, "--rules")     ? &o->rules
                            : !strcmp(a, "--log-level") ? &o->log_level
                                                        : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "qunbot: %s needs a value\n", a);
                return -1;
            }
            *slot = argv[++i];
        } else if (!strcmp(a, "--version") || !strcmp(a, "-V") || !strcmp(a, "--help") ||
                   !strcmp(a, "-h") || !strcmp(a, "run") || !strcmp(a, "check-config")) {
            if (o->cmd) {
                fprintf(stderr, "qunbot: more than one command given ('%s' and '%s')\n", o->cmd, a);
                return -1;
            }
            o->cmd = a;
        } else {
            fprintf(stderr, "qunbot: unknown argument '%s' (see qunbot --help)\n", a);
            return -1;
        }
    }
    return 0;
}

static void print_diag(struct qb_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s\n", d->v[i]);
}

static void replace(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

/* Command-line overrides for a quick try against a local NapCat. */
static int apply_overrides(struct qb_config *cfg, const struct options *o)
{
    if (o->connect || o->token) {
        struct qb_account_cfg *acc = &cfg->accounts[0];
        if (o->connect) {
            if (strncmp(o->connect, "ws://", 5) && strncmp(o->connect, "wss://", 6)) {
                fprintf(stderr, "qunbot: --connect needs a ws:// or wss:// address, got '%s'\n",
                        o->connect);
                return -1;
            }
            acc->mode = QB_MODE_FORWARD;
            replace(&acc->url, o->connect);
            free(acc->api_url);
            free(acc->event_url);
            acc->api_url = acc->event_url = NULL;
        }
        if (o->token)
            replace(&acc->token, o->token);
    }
    if (o->db)
        replace(&cfg->db_path, o->db);
    if (o->rules)
        replace(&cfg->rules_dir, o->rules);
    if (o->log_level) {
        int lvl = qb_log_level_parse(o->log_level);
        if (lvl < 0) {
            fprintf(stderr, "qunbot: --log-level must be debug, info, warn or error\n");
            return -1;
        }
        cfg->log_level = lvl;
    }
    return 0;
}

static struct qb_config *load_config(const struct options *o)
{
    struct qb_config *cfg = NULL;
    struct qb_diag d = {0};
    if (access(o->config, R_OK) != 0) {
        fprintf(stderr,
                "qunbot: cannot read the config file %s (start from config/qunbot.example.json, "
                "or pass --config FILE)\n",
                o->config);
        return NULL;
    }
    if (qb_config_load(o->config, &cfg, &d) != QB_OK) {
        print_diag(&d);
        fprintf(stderr, "qunbot: %zu problem(s) in %s; nothing started\n", d.n, o->config);
        qb_diag_free(&d);
        return NULL;
    }
    qb_diag_free(&d);
    if (apply_overrides(cfg, o)) {
        qb_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static int check_config(const struct options *o)
{
    struct qb_config *cfg = load_config(o);
    if (!cfg)
        return 2;
    size_t n = 0;
    while (qb_builtin_plugins[n])
        n++;
    struct qb_rules *rules = NULL;
    struct qb_diag d = {0};
    int rc = qb_rules_load(cfg->rules_dir, (const struct qb_plugin *const *)qb_builtin_plugins, n,
                           &rules, &d);
    print_diag(&d);
    if (rc == QB_OK)
        printf("%s: OK — %zu account(s), %zu community rules file(s) in %s%s\n", o->config,
               cfg->naccounts, rules->n, cfg->rules_dir,
               rules->def && rules->def->file ? "" : ", built-in default policy");
    else
        fprintf(stderr, "qunbot: %zu problem(s) in the rules files\n", d.n);
    qb_diag_free(&d);
    qb_rules_free(rules);
    qb_config_free(cfg);
    return rc == QB_OK ? 0 : 2;
}

static int run(const struct options *o)
{
    struct qb_config *cfg = load_config(o);
    if (!cfg)
        return 2;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    char err[512] = "";
    struct qb_bot *b = qb_bot_new(loop, cfg, err, sizeof err);
    if (!b) {
        fprintf(stderr, "qunbot: %s\n", err);
        return 1;
    }
    qb_log(QB_LOG_INFO, "qunbot %s starting (database %s, rules %s)", QB_VERSION, b->cfg->db_path,
           b->cfg->rules_dir);
    int rc = qb_bot_start(b, err, sizeof err);
    if (rc != QB_OK) {
        qb_log(QB_LOG_ERROR, "could not start: %s", err);
        qb_bot_free(b);
        return 1;
    }
    ev_run(loop, 0);
    qb_bot_free(b);
    qb_log(QB_LOG_INFO, "stopped; everything logged is saved");
    ev_loop_destroy(loop);
    return 0;
}

/* `qunbot replay ...` and `qunbot report ...`: their own options (bot/replay.c,
 * bot/report.c); the database defaults to the one named by the config file when that file
 * can be read. */
static int with_db_default(int (*sub_main)(int, char **, const char *), int argc, char **argv)
{
    const char *config = "config/qunbot.json";
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config"))
            config = argv[i + 1];
    struct qb_config *cfg = NULL;
    struct qb_diag d = {0};
    if (access(config, R_OK) == 0 && qb_config_load(config, &cfg, &d) != QB_OK)
        cfg = NULL;
    qb_diag_free(&d);
    int rc = sub_main(argc, argv, cfg ? cfg->db_path : NULL);
    qb_config_free(cfg);
    return rc;
}

/* `qunbot dashboard-answer --db PATH --tz ZONE --now MS --path /api/... [--since 30d]`: the
 * dashboard's worker (bot/http/http_work.c starts it; docs/INSIGHT.md "Dashboard"). A fresh
 * process, so SQLite never runs in a forked copy of the bot: it opens the database read-only,
 * computes what the dashboard would answer for path at that "now" and writes "STATUS\n" +
 * the JSON body to stdout. Exit 0 when all of it was written, 1 if not, 2 on bad arguments. */
static int dashboard_answer(int argc, char **argv)
{
    const char *db = NULL, *tz = NULL, *now_s = NULL, *path = NULL, *since = NULL;
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--db")      ? &db
                            : !strcmp(a, "--tz")    ? &tz
                            : !strcmp(a, "--now")   ? &now_s
                            : !strcmp(a, "--path")  ? &path
                            : !strcmp(a, "--since") ? &since
                                                    : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr,
                    "qunbot dashboard-answer: %s '%s' (this command is for the "
                    "dashboard's own use)\n",
                    slot ? "no value after" : "unknown argument", a);
            return 2;
        }
        *slot = argv[i + 1];
    }
    char *end = NULL;
    long long now = now_s ? strtoll(now_s, &end, 10) : 0;
    if (!db || !db[0] || !tz || !tz[0] || !path || strncmp(path, "/api/", 5) || !end || *end ||
        now <= 0) {
        fprintf(stderr, "qunbot dashboard-answer: needs --db PATH --tz ZONE --now MS (Unix "
                        "milliseconds) --path /api/... (this command is for the dashboard's own "
                        "use)\n");
        return 2;
    }
    struct qb_http h;
    memset(&h, 0, sizeof h);
    h.db_path = db;
    h.tz = tz;
    struct qb_http_resp r;
    memset(&r, 0, sizeof r);
    int rc = qb_http_api(&h, path, since, (int64_t)now, &r);
    sqlite3_close(h.db);
    bool ok = rc == QB_OK && printf("%d\n", r.status) > 0 &&
              fwrite(r.body, 1, r.len, stdout) == r.len && fflush(stdout) == 0;
    qb_http_resp_clear(&r);
    if (!ok)
        fprintf(stderr, "qunbot dashboard-answer: %s\n",
                rc != QB_OK ? "out of memory" : "could not write the answer");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct options o;
    if (argc > 1 && !strcmp(argv[1], QB_HTTP_WORKER_CMD))
        return dashboard_answer(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "replay"))
        return with_db_default(qb_replay_main, argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "report"))
        return with_db_default(qb_report_main, argc - 1, argv + 1);
    if (parse_args(argc, argv, &o))
        return 2;
    if (!o.cmd || !strcmp(o.cmd, "--help") || !strcmp(o.cmd, "-h")) {
        fputs(usage, o.cmd ? stdout : stderr);
        return o.cmd ? 0 : 2;
    }
    if (!strcmp(o.cmd, "--version") || !strcmp(o.cmd, "-V")) {
        printf("qunbot %s\n", QB_VERSION);
        return 0;
    }
    if (!strcmp(o.cmd, "check-config"))
        return check_config(&o);
    return run(&o);
}
