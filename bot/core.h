/*
 * core.h — the core's shared structures (internal; plugins never include this).
 *
 * struct qb_bot owns everything: the loop watchers, the config, the compiled rules,
 * the store, the scheduler, the plugin slots and the accounts. An account owns its
 * connections, its pending API calls (matched by echo) and its outbound queue.
 * Ownership: the bot frees all of it in qb_bot_free(); nothing here is shared
 * between bots, so two bots can run in one process (the integration tests do).
 */
#ifndef QB_CORE_H
#define QB_CORE_H

#include <ev.h>

#include <qunbot/plugin.h>

#include "config.h"
#include "net/adapter.h"
#include "outq.h"
#include "scheduler.h"
#include "util/util.h"

struct lws;
struct lws_context;
struct lws_vhost;
struct qb_store;
struct qb_sched;
struct qb_account;
struct qb_bot;
struct qb_media;
struct qb_http;

/* Limits of the QR scanning service (media.c); 0 or NULL = the default. Tests shorten them. */
struct qb_media_limits {
    int64_t max_bytes;         /* largest picture downloaded (default 5 MiB) */
    int64_t fetch_timeout_ms;  /* whole download, redirects included (default 10 s) */
    int64_t decode_timeout_ms; /* the decoder process is killed after this (default 5 s) */
    const char *decoder;       /* zbarimg: a path, or a name looked up in PATH. Borrowed. */
};

/* A plugin's context: the handle every plugin API call takes. One per plugin slot,
 * plus one for the core itself (plugin == NULL). */
struct qb_ctx {
    struct qb_bot *bot;
    const struct qb_plugin *plugin;
    size_t index; /* position in bot->plugins (the rules' plugin index) */
    void *state;
    bool inited;
};

enum qb_conn_role { QB_CONN_UNIVERSAL = 0, QB_CONN_API, QB_CONN_EVENT };

/* One WebSocket. Owned by the account while attached; freed on close. */
struct qb_conn {
    struct qb_account *acc; /* NULL once detached (replaced or account gone) */
    struct lws *wsi;
    enum qb_conn_role role;
    bool outgoing; /* we dialled (forward mode) */
    bool open;     /* handshake done */
    bool dropping; /* a too-large frame is being skipped */
    struct qb_buf rx;
    struct qb_frameq {
        char *data; /* LWS_PRE headroom + payload */
        size_t len;
        struct qb_frameq *next;
    } * txq, *txq_tail;
    double opened_at;
    struct qb_conn *next_all; /* bot->conns list */
};

/* An API call waiting for its answer. */
struct qb_pending {
    char echo[24];
    struct qb_action *a; /* owned */
    qb_action_cb cb;
    void *ud;
    struct qb_ctx *ctx;
    struct qb_conn *conn; /* the socket it went out on */
    double deadline;      /* qb_clock_mono() seconds */
    struct qb_pending *next;
};

/* An action waiting in the outbound queue. */
struct qb_outitem {
    struct qb_action *a; /* owned */
    qb_action_cb cb;
    void *ud;
    struct qb_ctx *ctx;
    int64_t queued_ms;
    struct qb_outitem *next;
};

struct qb_account {
    struct qb_bot *bot;
    const struct qb_account_cfg *cfg;
    size_t index;
    const struct qb_adapter_ops *ad;
    char self_id[QB_ID_MAX]; /* learned from the platform (or configured) */
    char vhost[32]; /* "client-N" when the account has its own CA file (lws keeps the pointer) */

    struct qb_conn *uni, *api, *evt; /* current sockets by role */

    /* forward mode: dialling and backoff */
    ev_timer reconnect;
    int attempt;
    bool auth_failed;
    double up_since; /* when the account last became connected (mono s), 0 if down */
    int64_t reconnects;

    /* liveness */
    double last_rx;         /* mono s */
    int64_t hb_interval_ms; /* from heartbeats; 0 if none seen */
    bool probing;
    bool online; /* platform-side login state (heartbeat status.online) */

    /* API calls and the outbound queue */
    struct qb_pending *pending;
    struct qb_outitem *hi, *hi_tail, *lo, *lo_tail; /* moderation first, then chatter */
    size_t queued;
    int64_t next_send_ms; /* account pacing with jitter */
    struct qb_ratemap *group_rate;
    int64_t paused_until_ms; /* backoff after a burst of send timeouts */
    int64_t recent_timeouts[8];
    ev_timer kick; /* wakes the queue at next_send_ms */

    struct qb_dedup *dedup;
    bool backfill_due;
};

struct qb_bot {
    struct ev_loop *loop;
    struct qb_tz_cache tz_cache; /* local times for plugins (qb_localtime) */
    struct qb_config *cfg;       /* owned */
    struct qb_rules *rules;      /* owned; swapped on reload */
    struct qb_store *store;
    struct qb_sched *sched;

    /* the plugins to load: qb_builtin_plugins unless a test sets another list before start */
    const struct qb_plugin *const *plugin_source;
    struct qb_ctx core;     /* the core's own context (plugin NULL) */
    struct qb_ctx *plugins; /* slots, sorted by priority */
    size_t nplugins;
    const struct qb_plugin **plugin_list; /* same order, for qb_rules_load */

    struct qb_account *accounts;
    size_t naccounts;

    struct lws_context *lws;
    struct lws_vhost *client_vh, *listen_vh;
    int listen_port;       /* actual port of the reverse listener, or -1 */
    struct qb_http *http;  /* the admin dashboard (bot/http/), NULL unless cfg->http.enabled */
    int http_port;         /* actual port of the dashboard once started, or -1 */
    const char *web_root;  /* the dashboard's static files; NULL = "web/dist" in the working
                            * directory (tests set their own). Borrowed. */
    struct qb_conn *conns; /* every live socket */
    /* The qunbot program the dashboard's workers run (`dashboard-answer`); NULL = this program.
     * Tests and benchmarks, which link the core into their own, set the built qunbot before
     * start. Borrowed. */
    const char *dashboard_exe;

    ev_prepare prepare;
    ev_timer commit_timer; /* commits a batch at most COMMIT_MS after it was opened */
    double last_commit;
    ev_timer tick; /* 250 ms */
    ev_signal sigint, sigterm, sighup;
    ev_stat *rules_watch; /* the rules directory and each rules file in it */
    size_t nrules_watch;
    ev_timer rules_settle; /* reload shortly after the last change, not mid-save */
    unsigned ticks;
    uint64_t echo_counter;
    bool stopping;
    double stop_deadline;
    int exit_code;
    int64_t last_prune_ms;

    struct qb_status stats;

    struct qb_media *media; /* QR scans in flight (media.c); created on first use */
    struct qb_media_limits media_limits;
};

/* bot.c */
/* Create a bot on loop from a loaded config (ownership of cfg passes to the bot, even
 * on failure). err receives a one-line reason on failure. */
struct qb_bot *qb_bot_new(struct ev_loop *loop, struct qb_config *cfg, char *err, size_t errlen);
/* Open the store, load rules, start plugins, open connections/listener. */
int qb_bot_start(struct qb_bot *b, char *err, size_t errlen);
/* `qunbot replay` (replay.c): argv[0] is "replay"; db_default may be NULL. Exit code. */
int qb_replay_main(int argc, char **argv, const char *db_default);
/* `qunbot report` (report.c): argv[0] is "report"; db_default may be NULL. Exit code. */
int qb_report_main(int argc, char **argv, const char *db_default);
/* Begin a graceful stop: drain queues (up to a few seconds), then break the loop. */
void qb_bot_request_stop(struct qb_bot *b);
/* Stop everything now and free. NULL-safe. */
void qb_bot_free(struct qb_bot *b);
/* Reload rules files; a broken edit keeps the previous rules. Returns QB_OK if swapped. */
int qb_bot_reload_rules(struct qb_bot *b);
struct qb_account *qb_bot_account(struct qb_bot *b, const char *self_id);

/* net.c — sockets */
int qb_net_start(struct qb_bot *b, char *err, size_t errlen);
void qb_net_stop(struct qb_bot *b);
void qb_net_dial(struct qb_account *acc);
/* Queue a text frame on a socket (copied). */
int qb_conn_send(struct qb_conn *c, const char *text, size_t len);
void qb_conn_close(struct qb_conn *c);
/* Detach (the account no longer hears of them) and close an account's sockets. */
void qb_net_detach(struct qb_bot *b, struct qb_account *acc, bool outgoing_only);

/* account.c — protocol session per account */
void qb_account_init(struct qb_bot *b, struct qb_account *acc, size_t index);
void qb_account_release(struct qb_account *acc);
void qb_account_on_open(struct qb_account *acc, struct qb_conn *c);
void qb_account_on_close(struct qb_account *acc, struct qb_conn *c, const char *why);
void qb_account_on_frame(struct qb_account *acc, struct qb_conn *c, char *buf, size_t len);
void qb_account_on_auth_failure(struct qb_account *acc, int http_status);
void qb_account_tick(struct qb_account *acc, double mono, int64_t now_ms);
bool qb_account_connected(const struct qb_account *acc);
struct qb_conn *qb_account_api_conn(struct qb_account *acc);
void qb_account_schedule_reconnect(struct qb_account *acc);
/* Feed a get_group_msg_history answer through the inbound path (duplicates dropped). */
void qb_account_ingest_history(struct qb_account *acc, const struct qb_frame *f);

/* outbox.c — queueing, pacing, echo matching */
int qb_outbox_submit(struct qb_ctx *ctx, struct qb_action *a, qb_action_cb cb, void *ud);
void qb_outbox_pump(struct qb_account *acc);
void qb_outbox_on_response(struct qb_account *acc, struct qb_frame *f);
void qb_outbox_fail_conn(struct qb_account *acc, struct qb_conn *c, int err);
void qb_outbox_expire(struct qb_account *acc, double mono);
void qb_outbox_drop_all(struct qb_account *acc, const char *why);
/* Send an API call now, bypassing the queue (core probes and queries). */
int qb_outbox_call(struct qb_ctx *ctx, struct qb_account *acc, struct qb_action *a, qb_action_cb cb,
                   void *ud);

/* host.c — plugins */
int qb_host_init(struct qb_bot *b, char *err, size_t errlen);
void qb_host_dispatch(struct qb_bot *b, struct qb_event *ev);
void qb_host_tick(struct qb_bot *b, int64_t now_ms);
void qb_host_shutdown(struct qb_bot *b);
void qb_host_fire_schedule(const char *owner, const char *key, const char *payload, int64_t late_ms,
                           void *ud);
void qb_host_fire_timer(void *owner, void *cb, void *ud);

/* media.c — QR scans (the lws callback is declared in media.h) */
/* Answer every pending scan (QB_EDISCONNECTED unless already decided), kill decoders,
 * remove temporary files and free the service. Idempotent. */
void qb_media_shutdown(struct qb_bot *b);

/* plugins_builtin.c — the compiled-in plugins, NULL-terminated */
extern const struct qb_plugin *const qb_builtin_plugins[];

#endif
