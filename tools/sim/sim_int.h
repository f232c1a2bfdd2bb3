/*
 * sim_int.h — internals shared by the simulator's files (not part of the sim.h contract):
 * the world (groups, members, history, requests), bot sockets, faults and scripts.
 * Only the simulator's own .c files include this. Nothing here may depend on the bot's core: the
 * only project code used is bot/util (util.h, and qunbot.h for error codes and qb_log).
 */
#ifndef QB_SIM_INT_H
#define QB_SIM_INT_H

#include <ev.h>
#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include <qunbot/qunbot.h>

#include "sim.h"
#include "util/util.h"

#define SIM_ID 24 /* longest id we keep, incl. NUL */

struct sim_member {
    char user_id[SIM_ID];
    char *nickname, *card, *title;                  /* owned */
    char role[8];                                   /* owner | admin | member */
    int64_t join_time, last_sent_time, muted_until; /* Unix seconds; muted_until 0 = not muted */
};

struct sim_group {
    char group_id[SIM_ID];
    char *name; /* owned */
    struct sim_member **members;
    size_t nmembers, cap;
    bool whole_ban;
    int at_all_group, at_all_uin; /* remaining @全体成员 for today */
};

/* One message in the history (group or private, members' and the bot's own). */
struct sim_msg {
    int64_t message_id;
    bool group, self, recalled;
    char group_id[SIM_ID];
    char user_id[SIM_ID];   /* sender */
    char target_id[SIM_ID]; /* private: the other side */
    char *nickname, *card;  /* sender snapshot, owned */
    char role[8];
    int64_t time;   /* seconds */
    cJSON *message; /* segment array, owned */
    char *raw;      /* CQ string, owned */
};

struct sim_req {
    char flag[48];
    bool group; /* false: friend request */
    char group_id[SIM_ID], user_id[SIM_ID];
    char *comment; /* owned */
    int64_t seq;
    bool checked;
};

struct sim_fault {
    char action[64];
    bool hang;
    int retcode, n; /* n: remaining (-1 = always) */
    char *message;  /* owned */
};

struct sim_frame {
    struct sim_frame *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE headroom + payload */
};

/* One bot socket (accepted in forward mode, or our reverse connection). */
struct sim_conn {
    struct qb_sim *sim;
    struct lws *wsi;
    struct sim_conn *next;
    bool client, events, dead, refused; /* refused: bad token, closes after its frame */
    struct sim_frame *head, *tail;
    struct qb_buf rx;
};

struct sim_script;

struct qb_sim {
    struct ev_loop *loop;
    char *listen_host, *reverse_url, *token, *self_id;
    int port; /* configured; after the first start the real port (kept for restarts) */
    bool listen;
    int reconnect_ms, heartbeat_ms;
    enum qb_sim_auth auth_style;
    bool report_self, string_format, online, transcript;
    char *tls_cert, *tls_key;

    /* net */
    struct lws_context *ctx;
    bool running, destroying;
    struct sim_conn *conns;
    struct lws *client_wsi;
    char rev_host[256], rev_path[512];
    int rev_port;
    bool rev_tls, rev_warned;
    ev_timer reconnect, heartbeat;
    int connects_total;
    char *media_dir; /* owned; NULL = no media serving */
    int media_requests;

    /* world */
    struct sim_group **groups;
    size_t ngroups, gcap;
    struct sim_msg **msgs;
    size_t nmsgs, mcap;
    int64_t next_msg_id;
    struct sim_req **reqs;
    size_t nreqs, rcap;
    int64_t next_seq;

    /* observation and faults */
    struct qb_sim_call **calls;
    size_t ncalls, ccap;
    struct sim_fault *faults;
    size_t nfaults;

    /* scripts and chatter */
    struct sim_script *script;
    ev_timer chatter;
    uint64_t rng;
    int64_t next_user;
};

/* ---- sim_world.c ---- */
struct sim_group *sim__group(struct qb_sim *s, const char *group_id);
struct sim_member *sim__member(struct sim_group *g, const char *user_id);
struct sim_member *sim__member_add(struct sim_group *g, const char *user_id, const char *nickname,
                                   const char *role);
void sim__member_remove(struct sim_group *g, const char *user_id);
void sim__group_free(struct sim_group *g);
int sim__role_rank(const char *role);
/* A known nickname for user_id (from any group), else "QQ用户<id>". Borrowed or static buf. */
const char *sim__nickname(struct qb_sim *s, const char *user_id, char *buf, size_t len);
/* Store a message (takes message and raw). Returns the record (owned by the sim). */
struct sim_msg *sim__msg_store(struct qb_sim *s, bool group, const char *group_id,
                               const char *user_id, const char *target_id, cJSON *message,
                               char *raw, bool self);
struct sim_msg *sim__msg_find(struct qb_sim *s, int64_t message_id);
void sim__msg_free(struct sim_msg *m);
struct sim_req *sim__req_add(struct qb_sim *s, bool group, const char *group_id,
                             const char *user_id, const char *comment);
struct sim_req *sim__req_find(struct qb_sim *s, const char *flag);
void sim__world_free(struct qb_sim *s);

/* CQ codes (own small codec: the simulator must not use the bot's). Caller frees. */
char *sim__cq_escape(const char *s, bool param);
char *sim__cq_unescape(const char *s, size_t len);
char *sim__cq_render(const cJSON *segments);
cJSON *sim__cq_parse(const char *s);
/* Segment array from an API "message" param (array, CQ string or one segment); NULL if bad. */
cJSON *sim__message_param(const cJSON *message, bool auto_escape);
cJSON *sim__text_segments(const char *text);

/* JSON builders. Caller owns the result. */
cJSON *sim__id_json(const char *id);
cJSON *sim__event_new(struct qb_sim *s, const char *post_type);
cJSON *sim__msg_json(struct qb_sim *s, const struct sim_msg *m, const char *post_type);
cJSON *sim__member_json(const struct sim_group *g, const struct sim_member *m);
cJSON *sim__group_json(const struct sim_group *g);

/* ---- sim.c ---- */
enum { SIM_FAULT_NONE, SIM_FAULT_FAIL, SIM_FAULT_HANG };
/* Consume one use of a fault set for action (hang before fail); fills retcode/msg for fails. */
int sim__fault_take(struct qb_sim *s, const char *action, int *retcode, char *msg, size_t msglen);
struct qb_sim_call *sim__call_record(struct qb_sim *s, const char *action, const cJSON *echo,
                                     const cJSON *params);
void sim__emit_notice(struct qb_sim *s, const char *type, const char *sub_type,
                      const char *group_id, const char *user_id, const char *operator_id);
void sim__do_recall(struct qb_sim *s, struct sim_msg *m, const char *operator_id);
int sim__friend_request(struct qb_sim *s, const char *user_id, const char *comment);

/* ---- sim_net.c ---- */
void sim__net_init(struct qb_sim *s); /* once, before start */
int sim__net_start(struct qb_sim *s, char *err, size_t errlen);
void sim__net_stop(struct qb_sim *s);
int sim__parse_reverse_url(struct qb_sim *s, char *err, size_t errlen);
void sim__conn_send(struct sim_conn *c, const char *data, size_t len);
/* Push a frame to every event-receiving socket; returns how many got it. */
int sim__broadcast(struct qb_sim *s, const char *data, size_t len);
/* Print, push and delete an event. */
void sim__emit(struct qb_sim *s, cJSON *ev);

/* ---- sim_api.c ---- */
/* Handle one text frame from the bot and queue the answer on c. */
void sim__handle_frame(struct qb_sim *s, struct sim_conn *c, const char *data, size_t len);

/* ---- sim_script.c ---- */
void sim__script_free(struct sim_script *sc);

/* ---- sim_demo.c ---- */
uint64_t sim__rand(struct qb_sim *s);

#endif
