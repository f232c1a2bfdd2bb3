/*
 * sim.h — qunbot-sim as a library: a OneBot v11 implementation's side (what NapCat
 * or LLOneBot would be), for tests, the demo and benchmarks.
 *
 * It runs on the caller's libev loop with its own libwebsockets context, so a test can
 * run the bot and the simulator in one process on one loop. Forward mode: the simulator
 * listens and the bot connects. Reverse mode: the simulator connects to the bot's
 * listener (X-Self-ID, X-Client-Role: Universal, Authorization: Bearer), and reconnects
 * every reconnect_ms like NapCat. It keeps a world of groups and members, answers the
 * APIs a community bot uses with realistic results and errors, and records every call.
 */
#ifndef QB_SIM_H
#define QB_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct qb_sim;

enum qb_sim_auth {
    QB_SIM_AUTH_NAPCAT =
            0, /* bad token: upgrade, send one retcode-1403 frame, close (NapCat, LLOneBot) */
    QB_SIM_AUTH_HTTP, /* bad token: HTTP 401/403 before the upgrade (Lagrange, spec) */
};

struct qb_sim_opts {
    struct ev_loop *loop;    /* required */
    const char *listen_host; /* forward mode: address to listen on (default 127.0.0.1) */
    int port;                /* forward mode: port, 0 = any free port; -1 = do not listen */
    const char *reverse_url; /* reverse mode: ws://host:port/path of the bot; NULL = off */
    int reconnect_ms;        /* reverse mode: retry interval (default 3000) */
    const char *token;       /* the access token; NULL or "" = none required */
    enum qb_sim_auth auth_style;
    const char *self_id;   /* the bot account's QQ number (default "10001") */
    int heartbeat_ms;      /* heartbeat interval; 0 = none (some NapCat configs) */
    bool report_self;      /* send message_sent events for the bot's own messages */
    bool string_format;    /* post messages as CQ strings instead of segment arrays */
    bool transcript;       /* print every message (members' and the bot's) to stdout */
    const char *tls_cert;  /* forward mode: serve wss:// with this PEM certificate ... */
    const char *tls_key;   /* ... and this PEM private key (both or neither) */
    uint64_t seed;         /* for the demo/load generators */
    const char *media_dir; /* serve GET /media/<name> from this directory over plain HTTP on
                            * the listening port, no token (QQ's picture CDN); NULL = off */
};

/* A recorded API call. Strings owned by the simulator. */
struct qb_sim_call {
    char action[64];
    char echo[64];
    char *params; /* compact JSON of params ("{}" if none) */
    int64_t at_ms;
    bool answered;
};

struct qb_sim *qb_sim_new(const struct qb_sim_opts *o, char *err, size_t errlen);
void qb_sim_free(struct qb_sim *s);
/* The port the simulator listens on (forward mode), or -1. */
int qb_sim_port(struct qb_sim *s);

/* World. Roles: "owner", "admin", "member". */
int qb_sim_add_group(struct qb_sim *s, const char *group_id, const char *name);
int qb_sim_add_member(struct qb_sim *s, const char *group_id, const char *user_id,
                      const char *nickname, const char *role);
/* A small lively community: 3 groups with ~30 members each (used by the demo). */
void qb_sim_populate_demo(struct qb_sim *s);

/* Events pushed to every connected event-receiving socket. Return the message id (> 0)
 * for messages, QB_OK(0) for others, negative on error (no such group/member). */
int64_t qb_sim_group_msg(struct qb_sim *s, const char *group_id, const char *user_id,
                         const char *text);
/* A group message with a picture at url (after the text, if text is not NULL). */
int64_t qb_sim_group_image(struct qb_sim *s, const char *group_id, const char *user_id,
                           const char *url, const char *text);
int64_t qb_sim_private_msg(struct qb_sim *s, const char *user_id, const char *text);
int qb_sim_member_join(struct qb_sim *s, const char *group_id, const char *user_id,
                       const char *sub_type, const char *operator_id);
int qb_sim_member_leave(struct qb_sim *s, const char *group_id, const char *user_id,
                        const char *sub_type, const char *operator_id);
int qb_sim_join_request(struct qb_sim *s, const char *group_id, const char *user_id,
                        const char *comment);
int qb_sim_recall(struct qb_sim *s, const char *group_id, const char *user_id, int64_t message_id,
                  const char *operator_id);
/* Send any text frame as is (malformed JSON, unknown kinds, huge frames ...). */
int qb_sim_send_raw(struct qb_sim *s, const char *frame, size_t len);
/* Group messages sent while no bot was connected stay in history (get_group_msg_history)
 * but are not pushed: like NapCat, nothing is buffered for the bot. */

/* Observation. */
size_t qb_sim_ncalls(struct qb_sim *s);
const struct qb_sim_call *qb_sim_call_at(struct qb_sim *s, size_t i);
/* Media requests answered so far (GET /media/..., any outcome). */
int qb_sim_media_requests(struct qb_sim *s);
/* Number of calls of an action ("send_group_msg"). */
size_t qb_sim_count(struct qb_sim *s, const char *action);
/* Index of the first call of action at or after index from whose params contain needle
 * (as a substring of the compact JSON; needle may be NULL), or -1. */
long qb_sim_find(struct qb_sim *s, size_t from, const char *action, const char *needle);
/* Open bot sockets right now. */
int qb_sim_connections(struct qb_sim *s);
/* Total connections accepted/made since start (counts reconnects). */
int qb_sim_connects_total(struct qb_sim *s);

/* Faults. */
void qb_sim_drop_connections(struct qb_sim *s); /* close every bot socket at once */
/* Stop listening and drop sockets (like a killed NapCat); start again later on the same port. */
void qb_sim_stop(struct qb_sim *s);
int qb_sim_start(struct qb_sim *s);
/* Make an action answer with a failure (retcode, message) n times (-1 = always, 0 = clear). */
void qb_sim_fail_action(struct qb_sim *s, const char *action, int retcode, const char *message,
                        int n);
/* Make an action never answer (like NapCat#1729) n times (-1 = always, 0 = clear). */
void qb_sim_hang_action(struct qb_sim *s, const char *action, int n);
/* Set the QQ-side online flag reported in heartbeats and get_status. */
void qb_sim_set_online(struct qb_sim *s, bool online);

/* Scenario files (tests as data), see docs/SIMULATOR.md. load parses and schedules on the
 * loop relative to now; errors name file:line. finished() is true when every step ran;
 * failures() counts "expect" lines that did not hold (each is logged). */
int qb_sim_load_script(struct qb_sim *s, const char *path, char *err, size_t errlen);
bool qb_sim_script_finished(struct qb_sim *s);
int qb_sim_script_failures(struct qb_sim *s);
/* Demo/load generator: every interval_ms, one random member of a random group does
 * something (chat, 签到, join, leave, request ...). 0 stops it. */
void qb_sim_chatter(struct qb_sim *s, int interval_ms);

#endif
