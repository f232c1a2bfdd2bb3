/*
 * test_sim.c — qunbot-sim's protocol behaviour as a bot would see it: a plain libwebsockets
 * client (and, for reverse mode, a tiny lws server) on the same libev loop as the simulator.
 * Covers tokens (NapCat and HTTP styles), /api routing, lifecycle and heartbeats, API
 * answers and retcodes, CQ-safe member text, history, permissions, faults, restarts on the
 * same port, reverse-mode headers and reconnects, and scenario scripts. No sleeps: the loop
 * runs until a condition holds, with a deadline.
 * link: qb_sim
 */
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>
#include <libwebsockets.h>

#include <qunbot/qunbot.h>

#include "sim.h"
#include "test.h"
#include "util/util.h"

/* ---- a minimal bot-side client ---- */

struct cli {
    struct lws *wsi;
    const char *auth; /* Authorization header value, or NULL */
    bool established, closed, error;
    int http_status;
    char **frames;
    int nframes;
    struct qb_buf rx;
    char *out[16];
    int nout;
};

struct fx {
    struct ev_loop *loop;
    ev_timer tick;
    struct lws_context *cctx;
    struct qb_sim *sim;
};

#define WAIT_UNTIL(f, cond, secs)                                                                  \
    do {                                                                                           \
        double end_ = ev_time() + (secs);                                                          \
        while (!(cond) && ev_time() < end_)                                                        \
            ev_run((f)->loop, EVRUN_ONCE);                                                         \
    } while (0)

static int cli_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct cli *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        if (c->auth && lws_add_http_header_by_name(wsi, (const unsigned char *)"Authorization:",
                                                   (const unsigned char *)c->auth,
                                                   (int)strlen(c->auth), p, end))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->established = true;
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        qb_buf_append(&c->rx, in, len);
        if (lws_is_final_fragment(wsi)) {
            c->frames = realloc(c->frames, (size_t)(c->nframes + 1) * sizeof *c->frames);
            c->frames[c->nframes++] = qb_buf_steal(&c->rx);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c->nout) {
            char *s = c->out[0];
            size_t n = strlen(s);
            unsigned char *buf = malloc(LWS_PRE + n);
            memcpy(buf + LWS_PRE, s, n);
            lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
            free(buf);
            free(s);
            memmove(c->out, c->out + 1, (size_t)(--c->nout) * sizeof c->out[0]);
            if (c->nout)
                lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c->error = true;
        c->closed = true;
        c->http_status = (int)lws_http_client_http_response(wsi);
        c->wsi = NULL;
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->closed = true;
        c->wsi = NULL;
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols cli_protocols[] = {
        {.name = "test", .callback = cli_cb},
        {.name = NULL, .callback = NULL},
};

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

static struct lws_context *ctx_new(struct ev_loop *loop, int port,
                                   const struct lws_protocols *protocols, void *user)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = loops;
    info.port = port;
    info.iface = port == CONTEXT_PORT_NO_LISTEN ? NULL : "127.0.0.1";
    info.protocols = protocols;
    info.user = user;
    info.gid = -1;
    info.uid = -1;
    return lws_create_context(&info);
}

static void fx_init(struct fx *f, struct qb_sim_opts o)
{
    memset(f, 0, sizeof *f);
    lws_set_log_level(LLL_ERR, NULL);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer_init(&f->tick, tick_cb, 0.02, 0.02);
    ev_timer_start(f->loop, &f->tick);
    f->cctx = ctx_new(f->loop, CONTEXT_PORT_NO_LISTEN, cli_protocols, NULL);
    o.loop = f->loop;
    char err[300] = "";
    f->sim = qb_sim_new(&o, err, sizeof err);
    if (!f->sim) {
        fprintf(stderr, "simulator: %s\n", err);
        abort();
    }
    qb_sim_add_group(f->sim, "100", "读书会");
    qb_sim_add_member(f->sim, "100", "20001", "Alice", "member");
    qb_sim_add_member(f->sim, "100", "20002", "Bob", "admin");
    qb_sim_add_member(f->sim, "100", "20003", "Carol", "owner");
}

static void cli_free(struct cli *c)
{
    for (int i = 0; i < c->nframes; i++)
        free(c->frames[i]);
    free(c->frames);
    for (int i = 0; i < c->nout; i++)
        free(c->out[i]);
    qb_buf_free(&c->rx);
    memset(c, 0, sizeof *c);
}

static void fx_done(struct fx *f)
{
    qb_sim_free(f->sim);
    lws_context_destroy(f->cctx);
    ev_timer_stop(f->loop, &f->tick);
    ev_run(f->loop, EVRUN_NOWAIT);
    ev_loop_destroy(f->loop);
}

static void cli_connect(struct fx *f, struct cli *c, const char *path, const char *auth)
{
    memset(c, 0, sizeof *c);
    c->auth = auth;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = f->cctx;
    ci.address = "127.0.0.1";
    ci.port = qb_sim_port(f->sim);
    ci.path = path;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.local_protocol_name = "test";
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&ci))
        c->error = c->closed = true;
}

static void cli_send(struct cli *c, const char *frame)
{
    if (!c->wsi || c->nout == 16)
        return;
    c->out[c->nout++] = strdup(frame);
    lws_callback_on_writable(c->wsi);
}

static int find_frame(struct cli *c, int from, const char *needle)
{
    for (int i = from; i < c->nframes; i++)
        if (strstr(c->frames[i], needle))
            return i;
    return -1;
}

/* Send a call and wait for the answer with that echo. Caller deletes the result. */
static cJSON *cli_call(struct fx *f, struct cli *c, const char *action, const char *params,
                       const char *echo)
{
    char frame[4096], needle[128];
    snprintf(frame, sizeof frame, "{\"action\":\"%s\",\"params\":%s,\"echo\":\"%s\"}", action,
             params ? params : "{}", echo);
    snprintf(needle, sizeof needle, "\"echo\":\"%s\"", echo);
    cli_send(c, frame);
    WAIT_UNTIL(f, find_frame(c, 0, needle) >= 0, 3);
    int i = find_frame(c, 0, needle);
    return i >= 0 ? cJSON_Parse(c->frames[i]) : NULL;
}

static int retcode(const cJSON *o)
{
    const cJSON *r = cJSON_GetObjectItem(o, "retcode");
    return cJSON_IsNumber(r) ? r->valueint : -999;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItem(o, a);
    if (b)
        v = cJSON_GetObjectItem(v, b);
    return cJSON_GetStringValue(v);
}

static double num_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItem(o, a);
    if (b)
        v = cJSON_GetObjectItem(v, b);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static struct qb_sim_opts opts_token(void)
{
    return (struct qb_sim_opts){.port = 0, .token = "secret"};
}

/* Connect as the bot with the right token and wait for the lifecycle frame. */
static bool connect_ok(struct fx *f, struct cli *c, const char *path)
{
    cli_connect(f, c, path, "Bearer secret");
    WAIT_UNTIL(f, c->established && qb_sim_connections(f->sim) > 0, 3);
    return c->established;
}

/* ---- tests ---- */

TEST(good_token_gets_lifecycle_then_heartbeat)
{
    struct fx f;
    struct qb_sim_opts o = opts_token();
    o.heartbeat_ms = 100;
    fx_init(&f, o);
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    WAIT_UNTIL(&f, c.nframes >= 2, 3);
    CHECK(c.nframes >= 2);
    if (c.nframes >= 2) {
        cJSON *a = cJSON_Parse(c.frames[0]), *b = cJSON_Parse(c.frames[1]);
        CHECK_STR(str_at(a, "meta_event_type", NULL), "lifecycle");
        CHECK_STR(str_at(a, "sub_type", NULL), "connect");
        CHECK_INT(num_at(a, "self_id", NULL), 10001);
        CHECK(num_at(a, "time", NULL) > 1e9 && num_at(a, "time", NULL) < 1e11); /* seconds */
        CHECK_STR(str_at(b, "meta_event_type", NULL), "heartbeat");
        CHECK_INT(num_at(b, "interval", NULL), 100);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "status"), "online")));
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    CHECK_INT(qb_sim_connects_total(f.sim), 1);
    /* offline is reported in the next heartbeat and by get_status */
    qb_sim_set_online(f.sim, false);
    int n = c.nframes;
    WAIT_UNTIL(&f, find_frame(&c, n, "\"online\":false") >= 0, 3);
    CHECK(find_frame(&c, n, "\"online\":false") >= 0);
    cJSON *st = cli_call(&f, &c, "get_status", NULL, "s1");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "data"), "online")));
    cJSON_Delete(st);
    cli_free(&c);
    fx_done(&f);
}

TEST(query_token_wins_and_empty_bearer_is_no_token)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    cli_connect(&f, &c, "/?access_token=secret", "Bearer wrong");
    WAIT_UNTIL(&f, c.nframes >= 1, 3);
    CHECK(c.nframes >= 1 && strstr(c.frames[0], "lifecycle"));
    cli_free(&c);
    struct cli d;
    cli_connect(&f, &d, "/", "Bearer ");
    WAIT_UNTIL(&f, d.closed, 3);
    CHECK(d.nframes == 1 && strstr(d.frames[0], "1403"));
    cli_free(&d);
    fx_done(&f);
}

TEST(bad_token_napcat_style_gets_one_1403_frame_then_close)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    cli_connect(&f, &c, "/", "Bearer wrong");
    WAIT_UNTIL(&f, c.closed, 3);
    CHECK(c.established);
    CHECK(c.closed);
    CHECK_INT(c.nframes, 1);
    if (c.nframes == 1)
        CHECK_STR(c.frames[0], "{\"status\":\"failed\",\"retcode\":1403,\"data\":null,\"message\":"
                               "\"token验证失败\",\"wording\":\"token验证失败\",\"echo\":null}");
    CHECK_INT(qb_sim_connections(f.sim), 0);
    CHECK_INT(qb_sim_connects_total(f.sim), 0);
    cli_free(&c);
    /* no token at all: the same */
    cli_connect(&f, &c, "/", NULL);
    WAIT_UNTIL(&f, c.closed, 3);
    CHECK(c.nframes == 1 && strstr(c.frames[0], "\"retcode\":1403"));
    cli_free(&c);
    fx_done(&f);
}

TEST(bad_token_http_style_is_refused_before_the_upgrade)
{
    struct fx f;
    struct qb_sim_opts o = opts_token();
    o.auth_style = QB_SIM_AUTH_HTTP;
    fx_init(&f, o);
    struct cli c;
    cli_connect(&f, &c, "/", "Bearer wrong");
    WAIT_UNTIL(&f, c.closed, 3);
    CHECK(!c.established);
    CHECK_INT(c.http_status, 403);
    cli_free(&c);
    cli_connect(&f, &c, "/", NULL);
    WAIT_UNTIL(&f, c.closed, 3);
    CHECK(!c.established);
    CHECK_INT(c.http_status, 401);
    cli_free(&c);
    CHECK(connect_ok(&f, &c, "/"));
    cli_free(&c);
    fx_done(&f);
}

TEST(api_path_gets_no_lifecycle_and_no_events)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    CHECK(connect_ok(&f, &c, "/api"));
    qb_sim_group_msg(f.sim, "100", "20001", "hello");
    cJSON *r = cli_call(&f, &c, "get_login_info", NULL, "1");
    CHECK_INT(retcode(r), 0);
    CHECK_INT(num_at(r, "data", "user_id"), 10001);
    cJSON_Delete(r);
    CHECK_INT(c.nframes, 1); /* only the answer: no lifecycle, no message event */
    cli_free(&c);
    /* any other path is universal */
    CHECK(connect_ok(&f, &c, "/onebot/v11/ws"));
    WAIT_UNTIL(&f, c.nframes >= 1, 3);
    CHECK(c.nframes >= 1 && strstr(c.frames[0], "lifecycle"));
    cli_free(&c);
    fx_done(&f);
}

TEST(send_group_msg_returns_an_id_and_is_recorded)
{
    struct fx f;
    struct qb_sim_opts o = opts_token();
    o.report_self = true;
    fx_init(&f, o);
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    cJSON *r = cli_call(&f, &c, "send_group_msg",
                        "{\"group_id\":\"100\",\"message\":[{\"type\":\"text\",\"data\":{\"text\":"
                        "\"hi [x]\"}},{\"type\":\"at\",\"data\":{\"qq\":\"20001\"}}]}",
                        "42");
    CHECK_STR(str_at(r, "status", NULL), "ok");
    CHECK_INT(retcode(r), 0);
    CHECK_STR(str_at(r, "echo", NULL), "42");
    double id = num_at(r, "data", "message_id");
    CHECK(id > 0 && id < 2147483648.0);
    cJSON_Delete(r);
    CHECK_INT(qb_sim_count(f.sim, "send_group_msg"), 1);
    const struct qb_sim_call *call = qb_sim_call_at(f.sim, 0);
    CHECK_STR(call->action, "send_group_msg");
    CHECK_STR(call->echo, "42");
    CHECK(strstr(call->params, "\"group_id\":\"100\"") != NULL);
    CHECK(call->answered);
    CHECK_INT(qb_sim_find(f.sim, 0, "send_group_msg", "hi [x]"), 0);
    CHECK_INT(qb_sim_find(f.sim, 0, "send_group_msg", "nope"), -1);
    /* report_self: a message_sent event with the CQ rendering */
    WAIT_UNTIL(&f, find_frame(&c, 0, "message_sent") >= 0, 3);
    int i = find_frame(&c, 0, "message_sent");
    CHECK(i >= 0);
    if (i >= 0) {
        cJSON *ev = cJSON_Parse(c.frames[i]);
        CHECK_STR(str_at(ev, "raw_message", NULL), "hi &#91;x&#93;[CQ:at,qq=20001]");
        CHECK_INT(num_at(ev, "message_id", NULL), id);
        cJSON_Delete(ev);
    }
    /* a CQ string and numeric ids work too; the bot's own message is in the history */
    r = cli_call(&f, &c, "send_msg", "{\"group_id\":100,\"message\":\"[CQ:face,id=1]ok\"}", "43");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    r = cli_call(&f, &c, "get_group_msg_history", "{\"group_id\":100,\"count\":5}", "44");
    cJSON *msgs = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "messages");
    CHECK_INT(cJSON_GetArraySize(msgs), 2);
    CHECK_STR(str_at(cJSON_GetArrayItem(msgs, 1), "raw_message", NULL), "[CQ:face,id=1]ok");
    cJSON_Delete(r);
    cli_free(&c);
    fx_done(&f);
}

TEST(unknown_action_malformed_json_and_bad_params)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    cJSON *r = cli_call(&f, &c, "send_foo", NULL, "u1");
    CHECK_INT(retcode(r), 1404);
    CHECK_STR(str_at(r, "status", NULL), "failed");
    CHECK_STR(str_at(r, "message", NULL), "不支持的API send_foo");
    cJSON_Delete(r);
    int n = c.nframes;
    cli_send(&c, "{oops");
    WAIT_UNTIL(&f, c.nframes > n, 3);
    CHECK(c.nframes > n);
    if (c.nframes > n) {
        r = cJSON_Parse(c.frames[n]);
        CHECK_INT(retcode(r), 1400);
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(r, "echo")));
        cJSON_Delete(r);
    }
    n = c.nframes;
    cli_send(&c, "{\"ping\":1,\"echo\":7}");
    WAIT_UNTIL(&f, c.nframes > n, 3);
    if (c.nframes > n) {
        r = cJSON_Parse(c.frames[n]);
        CHECK_INT(retcode(r), 1400);
        CHECK_INT(num_at(r, "echo", NULL), 7);
        cJSON_Delete(r);
    }
    r = cli_call(&f, &c, "send_group_msg", "{\"message\":\"x\"}", "p1");
    CHECK_INT(retcode(r), 1400);
    cJSON_Delete(r);
    r = cli_call(&f, &c, "get_group_info", "{\"group_id\":999}", "p2");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    r = cli_call(&f, &c, "get_version_info", NULL, "p3");
    CHECK_STR(str_at(r, "data", "app_name"), "qunbot-sim");
    cJSON_Delete(r);
    /* the socket survived all of it */
    CHECK_INT(qb_sim_connections(f.sim), 1);
    cli_free(&c);
    fx_done(&f);
}

TEST(member_text_with_cq_codes_stays_text)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    int64_t id = qb_sim_group_msg(f.sim, "100", "20001", "[CQ:at,qq=1] a&b, c");
    CHECK(id > 0);
    WAIT_UNTIL(&f, find_frame(&c, 0, "\"post_type\":\"message\"") >= 0, 3);
    int i = find_frame(&c, 0, "\"post_type\":\"message\"");
    CHECK(i >= 0);
    if (i >= 0) {
        cJSON *ev = cJSON_Parse(c.frames[i]);
        cJSON *msg = cJSON_GetObjectItem(ev, "message");
        CHECK_INT(cJSON_GetArraySize(msg), 1);
        CHECK_STR(str_at(cJSON_GetArrayItem(msg, 0), "type", NULL), "text");
        CHECK_STR(str_at(cJSON_GetArrayItem(msg, 0), "data", "text"), "[CQ:at,qq=1] a&b, c");
        CHECK_STR(str_at(ev, "raw_message", NULL), "&#91;CQ:at,qq=1&#93; a&amp;b, c");
        CHECK_INT(num_at(ev, "message_id", NULL), id);
        CHECK_INT(num_at(ev, "group_id", NULL), 100);
        CHECK_INT(num_at(ev, "user_id", NULL), 20001);
        CHECK_STR(str_at(ev, "sender", "nickname"), "Alice");
        CHECK_STR(str_at(ev, "sender", "role"), "member");
        CHECK_STR(str_at(ev, "sub_type", NULL), "normal");
        cJSON_Delete(ev);
    }
    cli_free(&c);
    fx_done(&f);
    /* string format: message is the escaped CQ string */
    struct qb_sim_opts o = opts_token();
    o.string_format = true;
    fx_init(&f, o);
    CHECK(connect_ok(&f, &c, "/"));
    qb_sim_group_msg(f.sim, "100", "20001", "[CQ:at,qq=1]");
    WAIT_UNTIL(&f, find_frame(&c, 0, "\"post_type\":\"message\"") >= 0, 3);
    i = find_frame(&c, 0, "\"post_type\":\"message\"");
    if (i >= 0) {
        cJSON *ev = cJSON_Parse(c.frames[i]);
        CHECK_STR(str_at(ev, "message", NULL), "&#91;CQ:at,qq=1&#93;");
        CHECK_STR(str_at(ev, "message_format", NULL), "string");
        cJSON_Delete(ev);
    }
    CHECK(i >= 0);
    cli_free(&c);
    fx_done(&f);
}

TEST(history_has_messages_sent_while_nobody_was_connected)
{
    struct fx f;
    fx_init(&f, opts_token());
    int64_t a = qb_sim_group_msg(f.sim, "100", "20001", "one");
    int64_t b = qb_sim_group_msg(f.sim, "100", "20002", "two");
    int64_t c3 = qb_sim_group_msg(f.sim, "100", "20001", "three");
    CHECK(a > 0 && b > a && c3 > b);
    CHECK_INT(qb_sim_group_msg(f.sim, "100", "99999", "stranger"), QB_ENOENT);
    CHECK_INT(qb_sim_group_msg(f.sim, "404", "20001", "no group"), QB_ENOENT);
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    cJSON *r = cli_call(&f, &c, "get_group_msg_history", "{\"group_id\":\"100\",\"count\":2}", "h");
    cJSON *msgs = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "messages");
    CHECK_INT(cJSON_GetArraySize(msgs), 2);
    CHECK_INT(num_at(cJSON_GetArrayItem(msgs, 0), "message_id", NULL), b); /* oldest first */
    CHECK_INT(num_at(cJSON_GetArrayItem(msgs, 1), "message_id", NULL), c3);
    CHECK_STR(str_at(cJSON_GetArrayItem(msgs, 1), "raw_message", NULL), "three");
    cJSON_Delete(r);
    /* nothing was buffered for the bot: lifecycle and the answer only */
    CHECK_INT(c.nframes, 2);
    r = cli_call(&f, &c, "get_msg", "{\"message_id\":1}", "g");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    cli_free(&c);
    fx_done(&f);
}

TEST(raw_frames_arrive_verbatim_even_when_huge)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    size_t big = 1u << 20;
    char *huge = malloc(big + 1);
    memset(huge, 'x', big);
    huge[big] = '\0';
    CHECK_INT(qb_sim_send_raw(f.sim, "{oops", 5), QB_OK);
    CHECK_INT(qb_sim_send_raw(f.sim, huge, big), QB_OK);
    WAIT_UNTIL(&f, c.nframes >= 3, 5);
    CHECK_INT(c.nframes, 3);
    if (c.nframes >= 3) {
        CHECK_STR(c.frames[1], "{oops");
        CHECK(strlen(c.frames[2]) == big && !strcmp(c.frames[2], huge));
    }
    free(huge);
    cli_free(&c);
    fx_done(&f);
}

TEST(permissions_and_moderation_notices)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    /* the bot is an admin: it can mute a member (notice follows), not an admin or the owner */
    cJSON *r = cli_call(&f, &c, "set_group_ban",
                        "{\"group_id\":100,\"user_id\":20001,\"duration\":600}", "b1");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    WAIT_UNTIL(&f, find_frame(&c, 0, "\"group_ban\"") >= 0, 3);
    int i = find_frame(&c, 0, "\"group_ban\"");
    CHECK(i >= 0 && strstr(c.frames[i], "\"sub_type\":\"ban\"") &&
          strstr(c.frames[i], "\"operator_id\":10001") && strstr(c.frames[i], "\"duration\":600"));
    CHECK_INT(qb_sim_group_msg(f.sim, "100", "20001", "muted"), QB_EDENIED);
    r = cli_call(&f, &c, "set_group_ban", "{\"group_id\":100,\"user_id\":20003,\"duration\":60}",
                 "b2");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    r = cli_call(&f, &c, "set_group_kick", "{\"group_id\":100,\"user_id\":20002}", "b3");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    /* recall: a member's message yes (notice with operator = bot), the owner's no */
    int64_t m1 = qb_sim_group_msg(f.sim, "100", "20002", "admin says");
    int64_t m2 = qb_sim_group_msg(f.sim, "100", "20003", "owner says");
    char p[128];
    snprintf(p, sizeof p, "{\"message_id\":%lld}", (long long)m2);
    r = cli_call(&f, &c, "delete_msg", p, "r1");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    snprintf(p, sizeof p, "{\"message_id\":%lld}", (long long)m1);
    r = cli_call(&f, &c, "delete_msg", p, "r2");
    CHECK_INT(retcode(r), 1200); /* 20002 is an admin too */
    cJSON_Delete(r);
    int64_t m3 = qb_sim_group_msg(f.sim, "100", "20002", "x");
    CHECK(m3 > 0);
    r = cli_call(&f, &c, "delete_msg", "{\"message_id\":123456789}", "r3");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    /* lift the ban, then recall Alice's message */
    r = cli_call(&f, &c, "set_group_ban", "{\"group_id\":100,\"user_id\":20001}", "b4");
    CHECK_INT(retcode(r), 0); /* duration defaults to 0 = lift, like NapCat */
    cJSON_Delete(r);
    int64_t m4 = qb_sim_group_msg(f.sim, "100", "20001", "spam");
    CHECK(m4 > 0);
    snprintf(p, sizeof p, "{\"message_id\":\"%lld\"}", (long long)m4);
    r = cli_call(&f, &c, "delete_msg", p, "r4");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    WAIT_UNTIL(&f, find_frame(&c, 0, "group_recall") >= 0, 3);
    i = find_frame(&c, 0, "group_recall");
    CHECK(i >= 0 && strstr(c.frames[i], "\"operator_id\":10001") &&
          strstr(c.frames[i], "\"user_id\":20001"));
    CHECK(find_frame(&c, 0, "lift_ban") >= 0);
    /* kick a member: group_decrease kick with the bot as operator, and the member is gone */
    r = cli_call(&f, &c, "set_group_kick", "{\"group_id\":100,\"user_id\":20001}", "k1");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    WAIT_UNTIL(&f, find_frame(&c, 0, "group_decrease") >= 0, 3);
    i = find_frame(&c, 0, "group_decrease");
    CHECK(i >= 0 && strstr(c.frames[i], "\"sub_type\":\"kick\""));
    r = cli_call(&f, &c, "get_group_member_info", "{\"group_id\":100,\"user_id\":20001}", "k2");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    cli_free(&c);
    fx_done(&f);
}

TEST(member_role_bot_cannot_moderate)
{
    struct fx f;
    fx_init(&f, opts_token());
    qb_sim_add_member(f.sim, "100", "10001", "qunbot", "member");
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    cJSON *r = cli_call(&f, &c, "set_group_kick", "{\"group_id\":100,\"user_id\":20001}", "1");
    CHECK_INT(retcode(r), 1200);
    CHECK(str_at(r, "message", NULL) && strstr(str_at(r, "message", NULL), "权限"));
    cJSON_Delete(r);
    r = cli_call(&f, &c, "get_group_at_all_remain", "{\"group_id\":100}", "2");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "can_at_all")));
    cJSON_Delete(r);
    cli_free(&c);
    fx_done(&f);
}

TEST(join_request_approve_flow)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    CHECK_INT(qb_sim_join_request(f.sim, "100", "30001", "答案：蓝色"), QB_OK);
    WAIT_UNTIL(&f, find_frame(&c, 0, "\"request_type\":\"group\"") >= 0, 3);
    int i = find_frame(&c, 0, "\"request_type\":\"group\"");
    CHECK(i >= 0);
    char flag[64] = "";
    if (i >= 0) {
        cJSON *ev = cJSON_Parse(c.frames[i]);
        CHECK_STR(str_at(ev, "comment", NULL), "答案：蓝色");
        qb_strlcpy(flag, str_at(ev, "flag", NULL) ? str_at(ev, "flag", NULL) : "", sizeof flag);
        cJSON_Delete(ev);
    }
    cJSON *r = cli_call(&f, &c, "get_group_system_msg", NULL, "s");
    cJSON *join = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "join_requests");
    CHECK_INT(cJSON_GetArraySize(join), 1);
    cJSON_Delete(r);
    r = cli_call(&f, &c, "set_group_add_request", "{\"flag\":\"nope\",\"approve\":true}", "a0");
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    char p[200];
    snprintf(p, sizeof p, "{\"flag\":\"%s\",\"sub_type\":\"add\",\"approve\":true}", flag);
    r = cli_call(&f, &c, "set_group_add_request", p, "a1");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    WAIT_UNTIL(&f, find_frame(&c, 0, "group_increase") >= 0, 3);
    i = find_frame(&c, 0, "group_increase");
    CHECK(i >= 0 && strstr(c.frames[i], "\"sub_type\":\"approve\"") &&
          strstr(c.frames[i], "\"user_id\":30001"));
    r = cli_call(&f, &c, "get_group_member_info", "{\"group_id\":100,\"user_id\":30001}", "m");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    r = cli_call(&f, &c, "set_group_add_request", p, "a2"); /* already handled */
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    cli_free(&c);
    fx_done(&f);
}

TEST(fail_and_hang_faults)
{
    struct fx f;
    fx_init(&f, opts_token());
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    qb_sim_fail_action(f.sim, "send_group_msg", 1200, "Timeout: NTEvent sendMsg", 1);
    const char *p = "{\"group_id\":100,\"message\":\"hi\"}";
    cJSON *r = cli_call(&f, &c, "send_group_msg", p, "f1");
    CHECK_INT(retcode(r), 1200);
    CHECK_STR(str_at(r, "message", NULL), "Timeout: NTEvent sendMsg");
    cJSON_Delete(r);
    r = cli_call(&f, &c, "send_group_msg", p, "f2");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    qb_sim_hang_action(f.sim, "get_msg", 1);
    cli_send(&c, "{\"action\":\"get_msg\",\"params\":{\"message_id\":1},\"echo\":\"h1\"}");
    r = cli_call(&f, &c, "get_status", NULL, "h2"); /* answered after the hung call arrived */
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    CHECK(find_frame(&c, 0, "\"echo\":\"h1\"") < 0);
    long h = qb_sim_find(f.sim, 0, "get_msg", NULL);
    CHECK(h >= 0 && !qb_sim_call_at(f.sim, (size_t)h)->answered);
    r = cli_call(&f, &c, "get_msg", "{\"message_id\":1}", "h3"); /* used up: answers again */
    CHECK_INT(retcode(r), 1200);
    cJSON_Delete(r);
    cli_free(&c);
    fx_done(&f);
}

TEST(stop_and_start_on_the_same_port)
{
    struct fx f;
    fx_init(&f, opts_token());
    int port = qb_sim_port(f.sim);
    CHECK(port > 0);
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    qb_sim_stop(f.sim);
    CHECK_INT(qb_sim_connections(f.sim), 0);
    WAIT_UNTIL(&f, c.closed, 3);
    CHECK(c.closed);
    cli_free(&c);
    cli_connect(&f, &c, "/", "Bearer secret"); /* nobody listens now */
    WAIT_UNTIL(&f, c.closed, 3);
    CHECK(c.error && !c.established);
    cli_free(&c);
    qb_sim_group_msg(f.sim, "100", "20001", "while down");
    CHECK_INT(qb_sim_start(f.sim), 0);
    CHECK_INT(qb_sim_port(f.sim), port);
    CHECK(connect_ok(&f, &c, "/"));
    CHECK_INT(qb_sim_connects_total(f.sim), 2);
    /* drop: the socket closes, the listener stays */
    qb_sim_drop_connections(f.sim);
    WAIT_UNTIL(&f, c.closed, 3);
    CHECK(c.closed);
    cli_free(&c);
    CHECK(connect_ok(&f, &c, "/"));
    cli_free(&c);
    fx_done(&f);
}

/* ---- a tiny reverse-mode server standing in for the bot ---- */

struct srv {
    int opens;
    char self_id[32], role[32], auth[128], agent[64], uri[128];
    int frames;
    bool lifecycle_first;
};

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct srv *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        lws_hdr_custom_copy(wsi, s->self_id, sizeof s->self_id, "x-self-id:", 10);
        lws_hdr_custom_copy(wsi, s->role, sizeof s->role, "x-client-role:", 14);
        lws_hdr_copy(wsi, s->auth, sizeof s->auth, WSI_TOKEN_HTTP_AUTHORIZATION);
        lws_hdr_copy(wsi, s->agent, sizeof s->agent, WSI_TOKEN_HTTP_USER_AGENT);
        lws_hdr_copy(wsi, s->uri, sizeof s->uri, WSI_TOKEN_GET_URI);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        s->opens++;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!s->frames && len > 0)
            s->lifecycle_first = memmem(in, len, "\"lifecycle\"", 11) != NULL;
        s->frames++;
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols srv_protocols[] = {
        {.name = "bot", .callback = srv_cb},
        {.name = NULL, .callback = NULL},
};

static void reverse_case(const char *token, const char *want_auth)
{
    struct fx f;
    memset(&f, 0, sizeof f);
    f.loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer_init(&f.tick, tick_cb, 0.02, 0.02);
    ev_timer_start(f.loop, &f.tick);
    struct srv s;
    memset(&s, 0, sizeof s);
    f.cctx = ctx_new(f.loop, 0, srv_protocols, &s);
    CHECK(f.cctx != NULL);
    int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(f.cctx, "default"));
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/onebot/v11/ws", port);
    char err[200] = "";
    f.sim = qb_sim_new(&(struct qb_sim_opts){.loop = f.loop,
                                             .port = -1,
                                             .reverse_url = url,
                                             .token = token,
                                             .reconnect_ms = 100,
                                             .self_id = "10001"},
                       err, sizeof err);
    CHECK(f.sim != NULL);
    if (!f.sim) {
        fprintf(stderr, "%s\n", err);
        fx_done(&f);
        return;
    }
    CHECK_INT(qb_sim_port(f.sim), -1);
    WAIT_UNTIL(&f, s.opens >= 1 && s.frames >= 1, 5);
    CHECK_INT(s.opens, 1);
    CHECK_STR(s.self_id, "10001");
    CHECK_STR(s.role, "Universal");
    CHECK_STR(s.auth, want_auth);
    CHECK_STR(s.agent, "OneBot/11");
    CHECK_STR(s.uri, "/onebot/v11/ws");
    CHECK(s.lifecycle_first);
    CHECK_INT(qb_sim_connections(f.sim), 1);
    /* NapCat reconnects at a fixed interval after the socket drops */
    qb_sim_drop_connections(f.sim);
    WAIT_UNTIL(&f, s.opens >= 2, 5);
    CHECK_INT(s.opens, 2);
    WAIT_UNTIL(&f, qb_sim_connects_total(f.sim) >= 2, 3);
    CHECK_INT(qb_sim_connects_total(f.sim), 2);
    fx_done(&f);
}

TEST(reverse_mode_sends_napcat_headers_and_reconnects)
{
    reverse_case("t0k", "Bearer t0k");
    reverse_case(NULL, "Bearer "); /* NapCat sends "Bearer " even without a token */
}

/* ---- scripts ---- */

struct logcap {
    char lines[8][300];
    int n;
};

static void capture(int level, const char *line, void *ud)
{
    (void)level;
    struct logcap *l = ud;
    if (l->n < 8)
        qb_strlcpy(l->lines[l->n++], line, sizeof l->lines[0]);
}

static void write_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0)
            perror("write");
        close(fd);
    }
}

TEST(script_runs_steps_and_counts_failed_expectations)
{
    struct fx f;
    fx_init(&f, opts_token());
    char path[] = "/tmp/qb_sim_scriptXXXXXX";
    write_file(path, "# a small scenario\n"
                     "group 200 测试群\n"
                     "member 200 30001 Alice member\n"
                     "\n"
                     "expect-connected within 3s\n"
                     "msg 200 30001 帮助 [CQ:at,qq=1]\n"
                     "expect send_group_msg within 3s contains 收到\n"
                     "expect-none set_group_kick for 100ms\n"
                     "expect delete_msg within 200ms\n");
    struct logcap lc;
    memset(&lc, 0, sizeof lc);
    qb_log_set_capture(capture, &lc);
    char err[300] = "";
    CHECK_INT(qb_sim_load_script(f.sim, path, err, sizeof err), QB_OK);
    CHECK(!qb_sim_script_finished(f.sim));
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    WAIT_UNTIL(&f, find_frame(&c, 0, "\"group_id\":200") >= 0, 3);
    CHECK(find_frame(&c, 0, "&#91;CQ:at,qq=1&#93;") >= 0);
    cJSON *r = cli_call(&f, &c, "send_group_msg", "{\"group_id\":200,\"message\":\"收到\"}", "1");
    CHECK_INT(retcode(r), 0);
    cJSON_Delete(r);
    WAIT_UNTIL(&f, qb_sim_script_finished(f.sim), 5);
    CHECK(qb_sim_script_finished(f.sim));
    CHECK_INT(qb_sim_script_failures(f.sim), 1);
    char want[200];
    snprintf(want, sizeof want, "%s:9: expected a delete_msg call", path);
    CHECK(lc.n >= 1 && strstr(lc.lines[0], want) != NULL);
    qb_log_set_capture(NULL, NULL);
    unlink(path);
    cli_free(&c);
    fx_done(&f);
}

TEST(script_errors_name_file_and_line)
{
    struct fx f;
    fx_init(&f, opts_token());
    char path[] = "/tmp/qb_sim_scriptXXXXXX";
    write_file(path, "group 1 g\nwiat 2s\n");
    char err[300] = "", want[200];
    CHECK(qb_sim_load_script(f.sim, path, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s:2: unknown command \"wiat\"", path);
    CHECK(strstr(err, want) != NULL);
    unlink(path);
    char path2[] = "/tmp/qb_sim_scriptXXXXXX";
    write_file(path2, "# roles\nmember 1 2 x boss\n");
    CHECK(qb_sim_load_script(f.sim, path2, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s:2: role \"boss\"", path2);
    CHECK(strstr(err, want) != NULL);
    unlink(path2);
    char path3[] = "/tmp/qb_sim_scriptXXXXXX";
    write_file(path3, "wait soon\n");
    CHECK(qb_sim_load_script(f.sim, path3, err, sizeof err) < 0);
    CHECK(strstr(err, ":1: \"soon\" is not a duration") != NULL);
    unlink(path3);
    CHECK(qb_sim_script_finished(f.sim)); /* nothing loaded */
    fx_done(&f);
}

TEST(demo_world_has_groups_and_an_admin_bot)
{
    struct fx f;
    fx_init(&f, opts_token());
    qb_sim_populate_demo(f.sim);
    struct cli c;
    CHECK(connect_ok(&f, &c, "/"));
    cJSON *r = cli_call(&f, &c, "get_group_list", NULL, "1");
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "data")), 4);
    cJSON_Delete(r);
    r = cli_call(&f, &c, "get_group_member_info", "{\"group_id\":810001001,\"user_id\":10001}",
                 "2");
    CHECK_STR(str_at(r, "data", "role"), "admin");
    cJSON_Delete(r);
    r = cli_call(&f, &c, "get_group_member_list", "{\"group_id\":810001002}", "3");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "data")) >= 30);
    cJSON_Delete(r);
    qb_sim_chatter(f.sim, 5);
    WAIT_UNTIL(&f, find_frame(&c, 0, "\"post_type\":\"message\"") >= 0, 3);
    CHECK(find_frame(&c, 0, "\"post_type\":\"message\"") >= 0);
    qb_sim_chatter(f.sim, 0);
    cli_free(&c);
    fx_done(&f);
}

int main(void)
{
    RUN(good_token_gets_lifecycle_then_heartbeat);
    RUN(query_token_wins_and_empty_bearer_is_no_token);
    RUN(bad_token_napcat_style_gets_one_1403_frame_then_close);
    RUN(bad_token_http_style_is_refused_before_the_upgrade);
    RUN(api_path_gets_no_lifecycle_and_no_events);
    RUN(send_group_msg_returns_an_id_and_is_recorded);
    RUN(unknown_action_malformed_json_and_bad_params);
    RUN(member_text_with_cq_codes_stays_text);
    RUN(history_has_messages_sent_while_nobody_was_connected);
    RUN(raw_frames_arrive_verbatim_even_when_huge);
    RUN(permissions_and_moderation_notices);
    RUN(member_role_bot_cannot_moderate);
    RUN(join_request_approve_flow);
    RUN(fail_and_hang_faults);
    RUN(stop_and_start_on_the_same_port);
    RUN(reverse_mode_sends_napcat_headers_and_reconnects);
    RUN(script_runs_steps_and_counts_failed_expectations);
    RUN(script_errors_name_file_and_line);
    RUN(demo_world_has_groups_and_an_admin_bot);
    return test_done();
}
