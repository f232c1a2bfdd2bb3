/*
 * test_config.c — the bot config and community rules loaders: good files give the
 * right values and defaults, every check reports the right "file:line:col: message",
 * tokens never show up in diagnostics, and the shipped example files load cleanly.
 * Runs with the repo root as working directory (fixtures in tests/fixtures/config).
 * link: qb_core
 */
#include <stddef.h>
#include <stdlib.h>

#include "config.h"
#include "test.h"
#include "util/util.h"

#define FIX "tests/fixtures/config/"

/* ---- fake plugins ---- */

struct guard_settings {
    bool strict;
    int64_t max_warnings;
    char *greeting;
    struct qb_strlist words;
    int64_t mute_for;
};

static const struct qb_cfg_field guard_tab[] = {
        {"strict", QB_CFG_BOOL, offsetof(struct guard_settings, strict), "false", 0, 0, "strict",
         NULL},
        {"max_warnings", QB_CFG_INT, offsetof(struct guard_settings, max_warnings), "3", 1, 10,
         "warnings before a mute", NULL},
        {"greeting", QB_CFG_STRING, offsetof(struct guard_settings, greeting), "\"hi\"", 0, 0,
         "greeting", NULL},
        {"words", QB_CFG_STRLIST, offsetof(struct guard_settings, words), "[\"spam\",\"ad\"]", 0, 0,
         "banned words", NULL},
        {"mute_for", QB_CFG_DURATION, offsetof(struct guard_settings, mute_for), "\"10m\"", 60000,
         30LL * 86400000, "mute length", NULL},
        {0},
};

static const struct qb_plugin help_plugin = {
        .abi = QB_PLUGIN_ABI, .name = "help", .default_on = true};
static const struct qb_plugin guard_plugin = {.abi = QB_PLUGIN_ABI,
                                              .name = "guard",
                                              .default_on = false,
                                              .settings = guard_tab,
                                              .settings_size = sizeof(struct guard_settings)};
static const struct qb_plugin *const plugins[] = {&help_plugin, &guard_plugin};
enum { HELP = 0, GUARD = 1 };

/* ---- helpers ---- */

static bool diag_has(const struct qb_diag *d, const char *exact)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->v[i], exact))
            return true;
    return false;
}

static bool diag_mentions(const struct qb_diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->v[i], needle))
            return true;
    return false;
}

/* Check d holds exactly the lines of want (in order); print the difference. */
static void check_diags(const struct qb_diag *d, const char *const *want, size_t n)
{
    CHECK_INT(d->n, n);
    for (size_t i = 0; i < n && i < d->n; i++)
        CHECK_STR(d->v[i], want[i]);
    for (size_t i = n; i < d->n; i++)
        fprintf(stderr, "  unexpected: %s\n", d->v[i]);
}

static void setup_env(void)
{
    setenv("QB_TEST_TOKEN_2", "tok-from-env", 1);
    setenv("QB_TEST_HTTP_TOKEN", "tok-http", 1);
    unsetenv("QB_TEST_UNSET_VARIABLE");
}

static int load_cfg(const char *path, struct qb_config **c, struct qb_diag *d)
{
    setup_env();
    return qb_config_load(path, c, d);
}

static const struct guard_settings *guard_of(const struct qb_policy *p)
{
    return p->plugins[GUARD].settings;
}

/* ---- bot config: good files ---- */

TEST(config_full_file_values)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg(FIX "good/full.json", &c, &d), QB_OK);
    CHECK_INT(d.n, 0);
    if (!c)
        return;
    CHECK_INT(c->naccounts, 3);
    const struct qb_account_cfg *a = &c->accounts[0];
    CHECK_STR(a->name, "main");
    CHECK_STR(a->protocol, "onebot11");
    CHECK_INT(a->mode, QB_MODE_FORWARD);
    CHECK_STR(a->url, "wss://bot.example.org/ws");
    CHECK_STR(a->token, "tok-main");
    CHECK(!a->tls_verify);
    CHECK_STR(a->ca_file, FIX "good/ca.pem");
    CHECK_INT(a->api_timeout_ms, 15000);
    CHECK_INT(a->media_timeout_ms, 120000);
    CHECK_STR(a->self_id, "10001");
    a = &c->accounts[1];
    CHECK_STR(a->name, "second");
    CHECK_INT(a->mode, QB_MODE_REVERSE);
    CHECK_STR(a->self_id, "10002");
    CHECK_STR(a->token, "tok-from-env");
    CHECK(a->tls_verify);
    CHECK(a->url == NULL);
    a = &c->accounts[2];
    CHECK_STR(a->name, "account-3");
    CHECK(a->url == NULL);
    CHECK_STR(a->api_url, "ws://127.0.0.1:3002/api");
    CHECK_STR(a->event_url, "ws://127.0.0.1:3002/event");
    CHECK_STR(a->token, "tok-from-file"); /* trailing newline stripped */
    CHECK_STR(c->listen.host, "0.0.0.0");
    CHECK_INT(c->listen.port, 0);
    CHECK_STR(c->listen.path, "/ws");
    CHECK_STR(c->db_path, FIX "good/data/bot.db");
    CHECK_INT(c->storage.text_retention_ms, 0);
    CHECK_STR(c->rules_dir, "/srv/qunbot/rules");
    CHECK_INT(c->superusers.n, 2);
    if (c->superusers.n == 2) {
        CHECK_STR(c->superusers.v[0], "12345678");
        CHECK_STR(c->superusers.v[1], "87654321");
    }
    CHECK_STR(c->timezone, "UTC");
    CHECK_INT(c->log_level, QB_LOG_DEBUG);
    CHECK_INT(c->command_prefixes.n, 3);
    if (c->command_prefixes.n == 3)
        CHECK_STR(c->command_prefixes.v[2], "＃");
    CHECK_INT(c->rate.account_interval_ms, 1500);
    CHECK_INT(c->rate.jitter_ms, 0);
    CHECK_INT(c->rate.group_per_min, 20);
    CHECK_INT(c->rate.group_burst, 5);
    CHECK_INT(c->rate.timeout_burst, 2);
    CHECK_INT(c->rate.timeout_backoff_ms, 3600000);
    CHECK(c->http.enabled);
    CHECK_STR(c->http.host, "::1");
    CHECK_INT(c->http.port, 9000);
    CHECK_STR(c->http.token, "tok-http");
    CHECK_INT(c->max_frame_bytes, 2097152);
    CHECK_INT(c->backfill_count, 0);
    CHECK_INT(c->reconnect_min_ms, 2000);
    CHECK_INT(c->reconnect_max_ms, 60000);
    CHECK_INT(c->heartbeat_fallback_ms, 60000);
    qb_config_free(c);
    qb_diag_free(&d);
}

TEST(config_defaults_and_relative_paths)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg(FIX "good/minimal.json", &c, &d), QB_OK);
    CHECK_INT(d.n, 0);
    if (!c)
        return;
    CHECK_STR(c->path, FIX "good/minimal.json");
    CHECK_STR(c->accounts[0].name, "account-1");
    CHECK_STR(c->accounts[0].protocol, "onebot11");
    CHECK_STR(c->accounts[0].token, "");
    CHECK(c->accounts[0].tls_verify);
    CHECK_INT(c->accounts[0].api_timeout_ms, 30000);
    CHECK_INT(c->accounts[0].media_timeout_ms, 120000);
    CHECK_STR(c->listen.host, "127.0.0.1");
    CHECK_INT(c->listen.port, 8080);
    CHECK_STR(c->listen.path, "/onebot/v11/ws");
    CHECK_STR(c->db_path, FIX "good/qunbot.db");
    CHECK_STR(c->rules_dir, FIX "good/rules");
    CHECK_STR(c->timezone, "Asia/Shanghai");
    CHECK_INT(c->log_level, QB_LOG_INFO);
    CHECK_INT(c->superusers.n, 0);
    CHECK_INT(c->command_prefixes.n, 1);
    CHECK_STR(c->command_prefixes.v[0], "/");
    CHECK_INT(c->rate.account_interval_ms, 1000);
    CHECK_INT(c->rate.jitter_ms, 500);
    CHECK_INT(c->rate.group_per_min, 10);
    CHECK_INT(c->rate.group_burst, 3);
    CHECK_INT(c->rate.timeout_burst, 3);
    CHECK_INT(c->rate.timeout_backoff_ms, 600000);
    CHECK(!c->http.enabled);
    CHECK_STR(c->http.host, "127.0.0.1");
    CHECK_INT(c->http.port, 8081);
    CHECK_INT(c->storage.text_retention_ms, 180LL * 86400 * 1000);
    CHECK_INT(c->max_frame_bytes, 1048576);
    CHECK_INT(c->backfill_count, 30);
    CHECK_INT(c->reconnect_min_ms, 1000);
    CHECK_INT(c->reconnect_max_ms, 30000);
    CHECK_INT(c->heartbeat_fallback_ms, 90000);
    qb_config_free(c);
}

TEST(example_config_loads_cleanly)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg("config/qunbot.example.json", &c, &d), QB_OK);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "  %s\n", d.v[i]);
    CHECK_INT(d.n, 0);
    if (!c)
        return;
    CHECK_INT(c->naccounts, 1);
    CHECK_INT(c->accounts[0].mode, QB_MODE_FORWARD);
    CHECK_STR(c->accounts[0].url, "ws://127.0.0.1:3001");
    CHECK_STR(c->accounts[0].token, "change-me");
    CHECK_STR(c->rules_dir, "config/rules");
    CHECK_STR(c->db_path, "config/qunbot.db");
    qb_config_free(c);
    qb_diag_free(&d);
}

/* ---- bot config: problems ---- */

TEST(config_json_syntax_errors)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg(FIX "bad/syntax.json", &c, &d), QB_EPARSE);
    CHECK(c == NULL);
    const char *const want[] = {
            FIX "bad/syntax.json:3:24: this is not valid JSON near here (look for a missing "
                "comma or quote, or text outside quotes)"};
    check_diags(&d, want, 1);
    qb_diag_free(&d);

    CHECK_INT(load_cfg(FIX "bad/truncated.json", &c, &d), QB_EPARSE);
    CHECK_INT(d.n, 1);
    CHECK(d.n && qb_starts_with(d.v[0], FIX "bad/truncated.json:3:23: this is not valid JSON: "
                                            "it ends too early"));
    qb_diag_free(&d);

    CHECK_INT(load_cfg(FIX "bad/trailing_comma.json", &c, &d), QB_EPARSE);
    CHECK(d.n == 1 && qb_starts_with(d.v[0], FIX "bad/trailing_comma.json:3:1: "));
    qb_diag_free(&d);

    CHECK_INT(load_cfg(FIX "bad/empty.json", &c, &d), QB_EPARSE);
    CHECK(d.n == 1 && strstr(d.v[0], "bad/empty.json:1:1: the file is empty"));
    qb_diag_free(&d);

    CHECK_INT(load_cfg(FIX "bad/no-such-file.json", &c, &d), QB_EIO);
    CHECK(d.n == 1 && !strcmp(d.v[0], FIX "bad/no-such-file.json: cannot read the file: No such "
                                          "file or directory"));
    qb_diag_free(&d);
}

TEST(config_encoding_and_columns)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    /* byte order mark skipped, CRLF line ends, columns counted in characters */
    CHECK_INT(load_cfg(FIX "bad/bom_columns.json", &c, &d), QB_EINVAL);
    const char *const want[] = {
            FIX "bad/bom_columns.json:1:16: unknown key \"log_levle\"; did you mean 'log_level'?"};
    check_diags(&d, want, 1);
    qb_diag_free(&d);

    CHECK_INT(load_cfg(FIX "bad/gbk.json", &c, &d), QB_EPARSE);
    const char *const want2[] = {FIX "bad/gbk.json:2:1: this line is not UTF-8 text; save the "
                                     "file as UTF-8 (not GBK or ANSI)"};
    check_diags(&d, want2, 1);
    qb_diag_free(&d);
}

TEST(config_unknown_keys_suggest)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg(FIX "bad/keys.json", &c, &d), QB_EINVAL);
    CHECK(c == NULL);
    const char *const want[] = {
            FIX "bad/keys.json:1:1: \"accounts\" is missing; add at least one account to "
                "connect to",
            FIX "bad/keys.json:2:3: unknown key \"acounts\"; did you mean 'accounts'?",
            FIX "bad/keys.json:4:14: unknown key \"hots\"; did you mean 'host'?",
            FIX "bad/keys.json:5:3: unknown key \"colour\" (remove it, or start it with \"_\" to "
                "make it a comment)",
    };
    check_diags(&d, want, 4);
    qb_diag_free(&d);
}

TEST(config_account_checks)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg(FIX "bad/accounts.json", &c, &d), QB_EINVAL);
    CHECK(c == NULL);
#define A FIX "bad/accounts.json:"
    const char *const want[] = {
            A "3:5: a forward account needs \"url\" (like \"ws://127.0.0.1:3001\"), or both "
              "\"api_url\" and \"event_url\"",
            A "3:37: protocol \"satori\" is not supported yet; use \"onebot11\"",
            A "4:5: a reverse account needs \"self_id\": the QQ number of the bot account that "
              "connects",
            A "4:5: a reverse account needs a token (\"token\", \"token_env\" or \"token_file\"): "
              "qunbot never listens without one",
            A "4:25: \"url\" is only for forward accounts; the platform reaches a reverse account "
              "through the \"listen\" address",
            A "5:14: \"mode\" must be \"forward\" or \"reverse\"",
            A "6:32: \"url\" must start with ws:// or wss://, like \"ws://127.0.0.1:3001\"",
            A "7:25: \"api_url\" and \"event_url\" go together; add \"event_url\" too",
            A "9:36: self_id 777 is already used by reverse account \"account-6\"; each reverse "
              "account needs its own",
            A "10:56: give only one of \"token\", \"token_env\" and \"token_file\" (\"token\" is "
              "already given)",
            A "11:55: the environment variable QB_TEST_UNSET_VARIABLE is not set; set it to the "
              "token before starting qunbot",
            A "12:56: cannot read the token file " FIX "bad/no-such-token-file: No such file or "
              "directory",
            A "13:68: a self_id must be a number like 123456 or text like \"123456\", not a "
              "negative or fractional number",
            A "14:14: two accounts are named \"dup\"; give each a different \"name\"",
            A "14:72: \"api_timeout\" must be a duration like \"90s\", \"10m\", \"2h\", \"3d\" or "
              "a number of seconds",
    };
#undef A
    check_diags(&d, want, sizeof want / sizeof want[0]);
    qb_diag_free(&d);
}

TEST(config_value_checks)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg(FIX "bad/values.json", &c, &d), QB_EINVAL);
#define V FIX "bad/values.json:"
    const char *const want[] = {
            V "3:22: \"port\" must be a whole number from 0 to 65535 (it is 70000)",
            V "3:37: \"path\" must start with /, like \"/onebot/v11/ws\"",
            V "4:33: \"text_retention\" must be a duration like \"90s\", \"10m\", \"2h\", \"3d\" "
              "or a number of seconds",
            V "5:25: a user id must be a number like 123456 or text like \"123456\", not a "
              "negative or fractional number",
            V "5:30: a user id must be a number like 123456 or text like \"123456\", not "
              "true/false",
            V "6:15: unknown timezone \"Mars/Olympus_Mons\"; use a name like \"Asia/Shanghai\" "
              "or \"UTC\"",
            V "7:16: \"log_level\" must be \"debug\", \"info\", \"warn\" or \"error\"",
            V "8:23: \"command_prefixes\" must not be empty",
            V "9:39: \"group_per_minute\" must be a whole number from 1 to 100000 (it is 0)",
            V "9:57: \"group_burst\" must be a whole number from 1 to 100000, not text",
            V "10:23: the admin HTTP API needs a token (\"token\", \"token_env\" or "
              "\"token_file\") when \"enabled\" is true",
            V "11:37: \"max_frame_bytes\" must be a whole number from 1024 to 67108864 (it is "
              "100)",
            V "11:59: \"reconnect_min\" must not be longer than \"reconnect_max\"",
            V "12:36: \"backfill_count\" must be a whole number from 0 to 1000, not a fraction",
    };
#undef V
    check_diags(&d, want, sizeof want / sizeof want[0]);
    qb_diag_free(&d);

    CHECK_INT(load_cfg(FIX "bad/timezone_escape.json", &c, &d), QB_EINVAL);
    CHECK(d.n == 1 && strstr(d.v[0], ":1:66: unknown timezone \"../../etc/passwd\""));
    qb_diag_free(&d);

    CHECK_INT(load_cfg(FIX "bad/not_object.json", &c, &d), QB_EINVAL);
    CHECK(d.n == 1 && !strcmp(d.v[0], FIX "bad/not_object.json:1:1: the config must be a JSON "
                                          "object { ... }, not a list [...]"));
    qb_diag_free(&d);
}

TEST(config_never_shows_tokens)
{
    struct qb_config *c = NULL;
    struct qb_diag d = {0};
    CHECK_INT(load_cfg(FIX "bad/secret.json", &c, &d), QB_EINVAL);
    CHECK(d.n >= 6); /* the file has problems next to every token */
    CHECK(diag_has(&d, FIX "bad/secret.json:3:54: unknown key \"tokn\"; did you mean 'token'?"));
    CHECK(diag_has(&d, FIX "bad/secret.json:8:23: \"enabled\" must be true or false, not text"));
    CHECK(!diag_mentions(&d, "SECRET"));
    CHECK(!diag_mentions(&d, "access_token"));
    qb_diag_free(&d);

    /* nor the token read from an environment variable */
    CHECK_INT(load_cfg(FIX "bad/accounts.json", &c, &d), QB_EINVAL);
    CHECK(!diag_mentions(&d, "tok-from-env"));
    qb_diag_free(&d);
}

/* ---- rules files ---- */

/* The shipped rules name real plugins, so they are checked against the compiled-in list. */
extern const struct qb_plugin *const qb_builtin_plugins[];

TEST(rules_example_files_load_cleanly)
{
    size_t nbuiltin = 0, help = 0;
    while (qb_builtin_plugins[nbuiltin])
        nbuiltin++;
    while (help < nbuiltin && strcmp(qb_builtin_plugins[help]->name, "help"))
        help++;
    CHECK(help < nbuiltin);
    struct qb_rules *r = NULL;
    struct qb_diag d = {0};
    CHECK_INT(qb_rules_load("config/rules", qb_builtin_plugins, nbuiltin, &r, &d), QB_OK);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "  %s\n", d.v[i]);
    CHECK_INT(d.n, 0);
    if (!r)
        return;
    CHECK_INT(r->n, 2);
    CHECK(r->def && r->def->is_default);
    CHECK_STR(r->def->file, "config/rules/default.json");
    CHECK(r->def->plugins[help].enabled);
    const struct qb_policy *p = qb_rules_for(r, "123456");
    CHECK_STR(p->name, "北京读书会");
    CHECK(qb_rules_for(r, "234567") == p);
    CHECK_STR(p->timezone, "Asia/Shanghai");
    CHECK(p->plugins[help].enabled);
    CHECK(qb_rules_for(r, "999") == r->def);
    qb_rules_free(r);
}

TEST(rules_values_defaults_and_selection)
{
    struct qb_rules *r = NULL;
    struct qb_diag d = {0};
    CHECK_INT(qb_rules_load(FIX "rules/good", plugins, 2, &r, &d), QB_OK);
    CHECK_INT(d.n, 0);
    if (!r)
        return;
    CHECK_INT(r->n, 3); /* README.txt is not a rules file */
    CHECK_STR(r->v[0]->file, FIX "rules/good/00-default.json");
    CHECK_STR(r->v[2]->file, FIX "rules/good/20-games.json");

    const struct qb_policy *def = r->def;
    CHECK_STR(def->name, "everyone");
    CHECK(def->timezone == NULL);
    CHECK(def->plugins[HELP].enabled);  /* not mentioned: the plugin's default_on */
    CHECK(def->plugins[GUARD].enabled); /* switched on by the file */
    CHECK_INT(guard_of(def)->max_warnings, 5);
    CHECK(!guard_of(def)->strict); /* default */
    CHECK_STR(guard_of(def)->greeting, "hi");
    CHECK_INT(guard_of(def)->mute_for, 600000);
    CHECK_INT(guard_of(def)->words.n, 2);

    const struct qb_policy *books = qb_rules_for(r, "234567");
    CHECK_STR(books->name, "北京读书会");
    CHECK_STR(books->timezone, "Asia/Tokyo");
    CHECK(!books->plugins[HELP].enabled);
    CHECK(books->plugins[GUARD].enabled);
    CHECK(guard_of(books)->strict);
    CHECK_INT(guard_of(books)->max_warnings, 3);
    CHECK_STR(guard_of(books)->greeting, "欢迎");
    CHECK_INT(guard_of(books)->words.n, 2);
    if (guard_of(books)->words.n == 2) {
        CHECK_STR(guard_of(books)->words.v[0], "a");
        CHECK_STR(guard_of(books)->words.v[1], "7");
    }
    CHECK_INT(guard_of(books)->mute_for, 2 * 3600 * 1000);
    CHECK(qb_rules_for(r, "123456") == books);

    const struct qb_policy *games = qb_rules_for(r, "345678");
    CHECK_STR(games->name, "20-games"); /* no "name": the file name */
    CHECK(games->plugins[HELP].enabled);
    CHECK(!games->plugins[GUARD].enabled); /* settings given, "enabled" not: default_on */
    CHECK_INT(guard_of(games)->mute_for, 600000);

    CHECK(qb_rules_for(r, "1") == def);
    CHECK(qb_rules_for(r, NULL) == def);
    qb_rules_free(r);
}

TEST(rules_missing_dir_gives_builtin_default)
{
    struct qb_rules *r = NULL;
    struct qb_diag d = {0};
    CHECK_INT(qb_rules_load(FIX "rules/does-not-exist", plugins, 2, &r, &d), QB_OK);
    CHECK_INT(d.n, 0);
    if (!r)
        return;
    CHECK_INT(r->n, 1);
    CHECK(r->def != NULL);
    CHECK_STR(r->def->name, "built-in default");
    CHECK(r->def->is_default);
    CHECK(r->def->plugins[HELP].enabled);
    CHECK(!r->def->plugins[GUARD].enabled);
    CHECK_INT(guard_of(r->def)->max_warnings, 3);
    CHECK_STR(guard_of(r->def)->greeting, "hi");
    CHECK(qb_rules_for(r, "42") == r->def);
    qb_rules_free(r);

    /* a folder with only a named community also gets the built-in default */
    CHECK_INT(qb_rules_load(FIX "rules/nodefault", plugins, 2, &r, &d), QB_OK);
    CHECK_INT(d.n, 0);
    if (!r)
        return;
    CHECK_INT(r->n, 2);
    CHECK_STR(qb_rules_for(r, "1")->name, "A");
    CHECK(qb_rules_for(r, "1")->plugins[GUARD].enabled);
    CHECK_STR(qb_rules_for(r, "2")->name, "built-in default");
    CHECK(!qb_rules_for(r, "2")->plugins[GUARD].enabled);
    qb_rules_free(r);
}

TEST(rules_plugin_and_setting_errors)
{
    struct qb_rules *r = NULL;
    struct qb_diag d = {0};
    CHECK_INT(qb_rules_load(FIX "rules/bad_plugins", plugins, 2, &r, &d), QB_EINVAL);
    CHECK(r == NULL);
#define P FIX "rules/bad_plugins/a.json:"
#define Q FIX "rules/bad_plugins/b.json:"
    const char *const want[] = {
            P "5:5: unknown key \"hepl\"; did you mean 'help'?",
            P "6:26: \"enabled\" must be true or false, not text",
            P "6:43: \"strict\" must be true or false, not a number",
            P "6:62: \"max_warnings\" must be between 1 and 10 (it is 11)",
            P "6:78: \"greeting\" must be text in quotes, not a number",
            P "7:24: \"words\" must be a list [ ... ] of texts, not text",
            P "7:44: \"mute_for\" must be between 1m and 30d",
            P "7:50: unknown key \"mute_fro\"; did you mean 'mute_for'?",
            P "8:13: the settings of plugin \"help\" must be an object like { \"enabled\": true }, "
              "not true/false",
            P "10:15: unknown timezone \"/etc/passwd\"; use a name like \"Asia/Shanghai\" or "
              "\"UTC\"",
            P "11:3: unknown key \"name2\"; did you mean 'name'?",
            Q "1:29: a group id must be a number like 123456 or text like \"123456\", not a "
              "negative or fractional number",
            Q "1:34: a group id must not be empty",
            Q "1:43: group 9 is listed twice in this file",
            Q "2:40: \"max_warnings\" must be a whole number, not a fraction",
            Q "2:57: \"mute_for\" must be a duration like \"90s\", \"10m\", \"2h\", \"3d\" or a "
              "number of seconds",
            Q "2:72: \"words\" must be a list of texts, but one entry is true/false",
    };
#undef P
#undef Q
    check_diags(&d, want, sizeof want / sizeof want[0]);
    qb_diag_free(&d);
}

TEST(rules_group_in_two_files)
{
    struct qb_rules *r = NULL;
    struct qb_diag d = {0};
    CHECK_INT(qb_rules_load(FIX "rules/dup_group", plugins, 2, &r, &d), QB_EINVAL);
    CHECK(r == NULL);
    const char *const want[] = {
            FIX "rules/dup_group/b.json:4:14: group 200 is also listed in " FIX
                "rules/dup_group/a.json; a group may belong to one rules file only",
            FIX "rules/dup_group/a.json:3:21: group 200 is also listed in " FIX
                "rules/dup_group/b.json; a group may belong to one rules file only",
    };
    check_diags(&d, want, 2);
    qb_diag_free(&d);
}

TEST(rules_default_and_groups_problems)
{
    struct qb_rules *r = NULL;
    struct qb_diag d = {0};
    CHECK_INT(qb_rules_load(FIX "rules/two_defaults", plugins, 2, &r, &d), QB_EINVAL);
    CHECK(r == NULL);
    CHECK_INT(d.n, 2);
    CHECK(diag_has(&d, FIX "rules/two_defaults/b.json:2:13: " FIX "rules/two_defaults/a.json "
                           "already has \"default\": true; only one rules file may be the "
                           "default"));
    CHECK(diag_has(&d, FIX "rules/two_defaults/a.json:1:30: " FIX "rules/two_defaults/b.json "
                           "also has \"default\": true; only one rules file may be the default"));
    qb_diag_free(&d);

    CHECK_INT(qb_rules_load(FIX "rules/no_groups", plugins, 2, &r, &d), QB_EINVAL);
    const char *const want[] = {
            FIX "rules/no_groups/a.json:1:1: this rules file needs \"groups\": [ ... ] (the group "
                "numbers it governs) or \"default\": true",
            FIX "rules/no_groups/b.json:1:29: \"groups\" must be a list of group numbers like "
                "[123456], and not empty",
            FIX "rules/no_groups/c.json:1:18: a file is either the default policy (\"default\": "
                "true) or lists \"groups\", not both",
    };
    check_diags(&d, want, 3);
    qb_diag_free(&d);

    CHECK_INT(qb_rules_load(FIX "rules/syntax", plugins, 2, &r, &d), QB_EINVAL);
    CHECK(d.n == 1 && qb_starts_with(d.v[0], FIX "rules/syntax/a.json:1:29: this is not valid "
                                                 "JSON"));
    qb_diag_free(&d);
}

/* ---- settings tables ---- */

TEST(cfg_defaults_and_release)
{
    struct guard_settings s;
    memset(&s, 0, sizeof s);
    CHECK_INT(qb_cfg_defaults(guard_tab, &s), QB_OK);
    CHECK(!s.strict);
    CHECK_INT(s.max_warnings, 3);
    CHECK_STR(s.greeting, "hi");
    CHECK_INT(s.words.n, 2);
    CHECK_INT(s.mute_for, 600000);
    qb_cfg_release(guard_tab, &s);
    CHECK(s.greeting == NULL);
    CHECK(s.words.v == NULL && s.words.n == 0);

    static const struct qb_cfg_field broken[] = {
            {"greeting", QB_CFG_STRING, offsetof(struct guard_settings, greeting), "\"ok\"", 0, 0,
             "", NULL},
            {"max_warnings", QB_CFG_INT, offsetof(struct guard_settings, max_warnings), "[oops", 0,
             0, "", NULL},
            {0},
    };
    memset(&s, 0, sizeof s);
    CHECK_INT(qb_cfg_defaults(broken, &s), QB_EINVAL);
    CHECK(s.greeting == NULL); /* nothing left to free after a failure */

    static const struct qb_cfg_field wrong_type[] = {
            {"strict", QB_CFG_BOOL, offsetof(struct guard_settings, strict), "\"yes\"", 0, 0, "",
             NULL},
            {0},
    };
    CHECK_INT(qb_cfg_defaults(wrong_type, &s), QB_EINVAL);

    /* the rules loader reports a plugin with a broken table instead of crashing */
    const struct qb_plugin bad_plugin = {.abi = QB_PLUGIN_ABI,
                                         .name = "badplug",
                                         .settings = broken,
                                         .settings_size = sizeof(struct guard_settings)};
    const struct qb_plugin *const list[] = {&help_plugin, &bad_plugin};
    struct qb_rules *r = NULL;
    struct qb_diag d = {0};
    CHECK_INT(qb_rules_load("config/rules", list, 2, &r, &d), QB_EINVAL);
    CHECK(r == NULL);
    CHECK(d.n == 1 && qb_starts_with(d.v[0], "badplug: a default in this plugin's settings"));
    qb_diag_free(&d);

    static const struct qb_cfg_field no_def[] = {
            {"greeting", QB_CFG_STRING, offsetof(struct guard_settings, greeting), NULL, 0, 0, "",
             NULL},
            {"max_warnings", QB_CFG_INT, offsetof(struct guard_settings, max_warnings), NULL, 0, 0,
             "", NULL},
            {0},
    };
    CHECK_INT(qb_cfg_defaults(no_def, &s), QB_OK);
    CHECK_STR(s.greeting, "");
    CHECK_INT(s.max_warnings, 0);
    qb_cfg_release(no_def, &s);
}

TEST(diag_format)
{
    struct qb_diag d = {0};
    qb_diag_add(&d, "a.json", 3, 7, "bad %s", "thing");
    qb_diag_add(&d, "dir", 0, 0, "cannot read");
    CHECK_INT(d.n, 2);
    CHECK_STR(d.v[0], "a.json:3:7: bad thing");
    CHECK_STR(d.v[1], "dir: cannot read");
    qb_diag_free(&d);
    CHECK(d.n == 0 && d.v == NULL);
}

int main(void)
{
    RUN(config_full_file_values);
    RUN(config_defaults_and_relative_paths);
    RUN(example_config_loads_cleanly);
    RUN(config_json_syntax_errors);
    RUN(config_encoding_and_columns);
    RUN(config_unknown_keys_suggest);
    RUN(config_account_checks);
    RUN(config_value_checks);
    RUN(config_never_shows_tokens);
    RUN(rules_example_files_load_cleanly);
    RUN(rules_values_defaults_and_selection);
    RUN(rules_missing_dir_gives_builtin_default);
    RUN(rules_plugin_and_setting_errors);
    RUN(rules_group_in_two_files);
    RUN(rules_default_and_groups_problems);
    RUN(cfg_defaults_and_release);
    RUN(diag_format);
    return test_done();
}
