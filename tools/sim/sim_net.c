/*
 * sim_net.c — the simulator's sockets: its own libwebsockets context on the caller's libev
 * loop, the forward listener (NapCat path routing and token checks), the reverse client
 * with NapCat's headers and fixed-interval reconnects, per-socket write queues and heartbeats,
 * and plain-HTTP picture serving under /media/ (the QQ image CDN's stand-in).
 * Owns the context and every struct sim_conn. Never calls lws_service and never writes
 * outside the WRITEABLE callback; never serves a file outside the media directory.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sim_int.h"

static int sim_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* Per-request state of a generated media body (lws per-session data). */
struct sim_http {
    int64_t left; /* body bytes still to send */
    bool generating, chunked;
};

static const struct lws_protocols sim_protocols[] = {
        {.name = "onebot",
         .callback = sim_cb,
         .per_session_data_size = sizeof(struct sim_http),
         .rx_buffer_size = 0},
        {.name = NULL, .callback = NULL},
};

static struct qb_sim *sim_of(struct lws *wsi)
{
    struct lws_context *ctx = lws_get_context(wsi);
    return ctx ? lws_context_user(ctx) : NULL;
}

static void frames_free(struct sim_conn *c)
{
    while (c->head) {
        struct sim_frame *f = c->head;
        c->head = f->next;
        free(f);
    }
    c->tail = NULL;
}

void sim__conn_send(struct sim_conn *c, const char *data, size_t len)
{
    if (!c || c->dead)
        return;
    struct sim_frame *f = malloc(sizeof *f + LWS_PRE + len + 1);
    if (!f)
        return;
    f->next = NULL;
    f->len = len;
    memcpy(f->buf + LWS_PRE, data, len);
    if (c->tail)
        c->tail->next = f;
    else
        c->head = f;
    c->tail = f;
    lws_callback_on_writable(c->wsi);
}

int sim__broadcast(struct qb_sim *s, const char *data, size_t len)
{
    int n = 0;
    for (struct sim_conn *c = s->conns; c; c = c->next) {
        if (c->events && !c->dead && !c->refused) {
            sim__conn_send(c, data, len);
            n++;
        }
    }
    return n;
}

void sim__emit(struct qb_sim *s, cJSON *ev)
{
    if (!ev)
        return;
    char *p = cJSON_PrintUnformatted(ev);
    if (p)
        sim__broadcast(s, p, strlen(p));
    cJSON_free(p);
    cJSON_Delete(ev);
}

static void send_json(struct sim_conn *c, cJSON *o)
{
    char *p = cJSON_PrintUnformatted(o);
    if (p)
        sim__conn_send(c, p, strlen(p));
    cJSON_free(p);
    cJSON_Delete(o);
}

/* ---- token and path checks (NapCat: the access_token query wins, else the header) ---- */

/* 0 = accepted, 401 = no token given, 403 = wrong token. */
static int check_token(struct qb_sim *s, struct lws *wsi)
{
    if (qb_str_empty(s->token))
        return 0;
    char buf[1024], tok[1024] = "";
    const char *q = lws_get_urlarg_by_name(wsi, "access_token=", buf, sizeof buf);
    if (q && *q) {
        qb_strlcpy(tok, q, sizeof tok);
    } else if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
        const char *b = strstr(buf, "Bearer ");
        qb_strlcpy(tok, b ? b + 7 : buf, sizeof tok);
    }
    if (!*tok)
        return 401;
    return qb_secret_eq(tok, s->token) ? 0 : 403;
}

static bool is_api_path(struct lws *wsi)
{
    char uri[512] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return false;
    char *qm = strchr(uri, '?');
    if (qm)
        *qm = '\0';
    return !strcmp(uri, "/api") || !strcmp(uri, "/api/");
}

static void refuse_napcat(struct sim_conn *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "failed");
    cJSON_AddNumberToObject(o, "retcode", 1403);
    cJSON_AddNullToObject(o, "data");
    cJSON_AddStringToObject(o, "message", "token验证失败");
    cJSON_AddStringToObject(o, "wording", "token验证失败");
    cJSON_AddNullToObject(o, "echo");
    send_json(c, o);
    c->refused = true;
}

static void send_lifecycle(struct sim_conn *c)
{
    cJSON *ev = sim__event_new(c->sim, "meta_event");
    cJSON_AddStringToObject(ev, "meta_event_type", "lifecycle");
    cJSON_AddStringToObject(ev, "sub_type", "connect");
    send_json(c, ev);
}

static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct qb_sim *s = w->data;
    cJSON *ev = sim__event_new(s, "meta_event");
    cJSON_AddStringToObject(ev, "meta_event_type", "heartbeat");
    cJSON *st = cJSON_AddObjectToObject(ev, "status");
    cJSON_AddBoolToObject(st, "online", s->online);
    cJSON_AddBoolToObject(st, "good", true);
    cJSON_AddNumberToObject(ev, "interval", s->heartbeat_ms);
    sim__emit(s, ev);
}

/* ---- socket lifecycle ---- */

static int on_open(struct qb_sim *s, struct lws *wsi, bool client)
{
    struct sim_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->sim = s;
    c->wsi = wsi;
    c->client = client;
    qb_buf_init(&c->rx);
    c->next = s->conns;
    s->conns = c;
    lws_set_opaque_user_data(wsi, c);
    if (!client && check_token(s, wsi)) {
        refuse_napcat(c);
        return 0;
    }
    c->events = client || !is_api_path(wsi);
    if (client)
        s->rev_warned = false;
    s->connects_total++;
    if (c->events)
        send_lifecycle(c);
    if (s->heartbeat_ms > 0 && !ev_is_active(&s->heartbeat)) {
        double iv = s->heartbeat_ms / 1000.0;
        ev_timer_set(&s->heartbeat, iv, iv);
        ev_timer_start(s->loop, &s->heartbeat);
    }
    return 0;
}

static void conn_release(struct qb_sim *s, struct lws *wsi)
{
    struct sim_conn *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    for (struct sim_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    frames_free(c);
    qb_buf_free(&c->rx);
    free(c);
}

static int on_writable(struct lws *wsi)
{
    struct sim_conn *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return 0;
    if (c->dead)
        return -1;
    struct sim_frame *f = c->head;
    if (!f) {
        if (c->refused) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        return 0;
    }
    c->head = f->next;
    if (!c->head)
        c->tail = NULL;
    int n = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
    bool ok = n >= 0 && (size_t)n >= f->len;
    free(f);
    if (!ok)
        return -1;
    if (c->head || c->refused)
        lws_callback_on_writable(wsi);
    return 0;
}

static int on_rx(struct qb_sim *s, struct lws *wsi, const void *in, size_t len)
{
    struct sim_conn *c = lws_get_opaque_user_data(wsi);
    if (!c || c->dead || c->refused)
        return 0;
    if (qb_buf_append(&c->rx, in, len) != QB_OK)
        return -1;
    if (!lws_is_final_fragment(wsi))
        return 0;
    sim__handle_frame(s, c, c->rx.p ? c->rx.p : "", c->rx.len);
    qb_buf_reset(&c->rx);
    return 0;
}

/* ---- reverse client ---- */

static void client_connect(struct qb_sim *s);

static void client_ended(struct qb_sim *s)
{
    s->client_wsi = NULL;
    if (s->destroying || !s->running || !s->reverse_url || ev_is_active(&s->reconnect))
        return;
    ev_timer_set(&s->reconnect, s->reconnect_ms / 1000.0, 0);
    ev_timer_start(s->loop, &s->reconnect);
}

static void reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    client_connect(w->data);
}

static void client_connect(struct qb_sim *s)
{
    if (!s->ctx || s->client_wsi)
        return;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = s->ctx;
    ci.address = s->rev_host;
    ci.port = s->rev_port;
    ci.path = s->rev_path;
    ci.host = s->rev_host;
    ci.origin = s->rev_host;
    ci.ssl_connection = s->rev_tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = sim_protocols[0].name;
    ci.pwsi = &s->client_wsi;
    if (!lws_client_connect_via_info(&ci))
        client_ended(s);
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int append_headers(struct qb_sim *s, struct lws *wsi, void *in, size_t len)
{
    unsigned char **p = in, *end = *p + len;
    char auth[600];
    snprintf(auth, sizeof auth, "Bearer %s", s->token ? s->token : "");
    if (add_header(wsi, "X-Self-ID:", s->self_id, p, end) ||
        add_header(wsi, "X-Client-Role:", "Universal", p, end) ||
        add_header(wsi, "Authorization:", auth, p, end) ||
        add_header(wsi, "User-Agent:", "OneBot/11", p, end))
        return -1;
    return 0;
}

int sim__parse_reverse_url(struct qb_sim *s, char *err, size_t errlen)
{
    char buf[1024];
    const char *prot, *ads, *path;
    int port;
    qb_strlcpy(buf, s->reverse_url, sizeof buf);
    if (lws_parse_uri(buf, &prot, &ads, &port, &path) ||
        (strcmp(prot, "ws") && strcmp(prot, "wss")) || !*ads) {
        snprintf(err, errlen,
                 "reverse URL \"%s\" is not a WebSocket address; use ws://HOST:PORT/PATH",
                 s->reverse_url);
        return QB_EINVAL;
    }
    s->rev_tls = !strcmp(prot, "wss");
    qb_strlcpy(s->rev_host, ads, sizeof s->rev_host);
    snprintf(s->rev_path, sizeof s->rev_path, "/%s", path);
    s->rev_port = port;
    return QB_OK;
}

/* ---- media: GET /media/<name> over plain HTTP, no token ---- */

#define SIM_BIG_BYTES (6 * 1024 * 1024)
#define SIM_CHUNK     32768

int qb_sim_media_requests(struct qb_sim *s)
{
    return s->media_requests;
}

static const char *mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    static const char *const types[][2] = {
            {".png", "image/png"}, {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"},
            {".gif", "image/gif"}, {".webp", "image/webp"}, {".bmp", "image/bmp"},
    };
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot, types[i][0]))
            return types[i][1];
    return "application/octet-stream";
}

/* A plain file name: letters, digits, '.', '-', '_', not starting with '.' (so never "..",
 * a hidden file, a path or an absolute path). */
static bool safe_name(const char *name)
{
    if (!*name || *name == '.' || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return false;
    return true;
}

static int http_done(struct lws *wsi)
{
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_status(struct lws *wsi, unsigned code)
{
    if (lws_return_http_status(wsi, code, NULL))
        return -1;
    return http_done(wsi);
}

/* Status line and headers; length < 0 with !chunked means none. */
static int send_head(struct lws *wsi, unsigned code, const char *mime, int64_t length, bool chunked,
                     const char *location)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
    if (lws_add_http_header_status(wsi, code, &p, end))
        return -1;
    if (location &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_LOCATION, (const unsigned char *)location,
                                     (int)strlen(location), &p, end))
        return -1;
    if (mime &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, (const unsigned char *)mime,
                                     (int)strlen(mime), &p, end))
        return -1;
    if (chunked && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
                                                (const unsigned char *)"chunked", 7, &p, end))
        return -1;
    if (!chunked && length >= 0 &&
        lws_add_http_header_content_length(wsi, (lws_filepos_t)length, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

static int redirect_to(struct lws *wsi, const char *location)
{
    if (send_head(wsi, HTTP_STATUS_FOUND, "text/plain", 0, false, location))
        return -1;
    return http_done(wsi);
}

/* /media/big (6 MiB, Content-Length announced) and /media/big/chunked (no length). */
static int start_big(struct lws *wsi, struct sim_http *h, bool chunked)
{
    h->generating = true;
    h->chunked = chunked;
    h->left = SIM_BIG_BYTES;
    if (send_head(wsi, HTTP_STATUS_OK, "image/png", SIM_BIG_BYTES, chunked, NULL))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int write_big(struct lws *wsi, struct sim_http *h)
{
    unsigned char buf[LWS_PRE + SIM_CHUNK + 32], *start = buf + LWS_PRE, *p = start;
    size_t n = h->left < SIM_CHUNK ? (size_t)h->left : SIM_CHUNK;
    if (h->chunked)
        p += sprintf((char *)p, "%zx\r\n", n);
    memset(p, 'Q', n);
    p += n;
    h->left -= (int64_t)n;
    if (h->chunked) {
        memcpy(p, h->left ? "\r\n" : "\r\n0\r\n\r\n", h->left ? 2 : 7);
        p += h->left ? 2 : 7;
    }
    int len = (int)(p - start);
    if (lws_write(wsi, start, (size_t)len, h->left ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL) < len)
        return -1;
    if (h->left) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    h->generating = false;
    return http_done(wsi);
}

static int serve_file(struct qb_sim *s, struct lws *wsi, const char *name, bool slow)
{
    char path[4096];
    struct stat st;
    int w = snprintf(path, sizeof path, "%s/%s", s->media_dir, name);
    if (!safe_name(name) || w < 0 || (size_t)w >= sizeof path || lstat(path, &st) ||
        !S_ISREG(st.st_mode))
        return http_status(wsi, HTTP_STATUS_NOT_FOUND);
    if (slow) /* headers, then a body that never comes */
        return send_head(wsi, HTTP_STATUS_OK, mime_of(name), (int64_t)st.st_size, false, NULL);
    int n = lws_serve_http_file(wsi, path, mime_of(name), NULL, 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

static int media_request(struct qb_sim *s, struct lws *wsi, struct sim_http *h)
{
    char uri[512] = "", loc[600];
    if (!s->media_dir || !h || lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
        strncmp(uri, "/media/", 7))
        return http_status(wsi, HTTP_STATUS_NOT_FOUND);
    s->media_requests++;
    const char *rest = uri + 7;
    if (!strcmp(rest, "big") || !strcmp(rest, "big/chunked"))
        return start_big(wsi, h, rest[3] == '/');
    if (!strcmp(rest, "redirect-loop"))
        return redirect_to(wsi, "/media/redirect-loop");
    if (!strncmp(rest, "redirect/", 9) && safe_name(rest + 9)) {
        snprintf(loc, sizeof loc, "/media/%s", rest + 9);
        return redirect_to(wsi, loc);
    }
    bool slow = !strncmp(rest, "slow/", 5);
    return serve_file(s, wsi, slow ? rest + 5 : rest, slow);
}

/* ---- the callback ---- */

static int sim_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct qb_sim *s = sim_of(wsi);
    if (!s)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        if (s->auth_style != QB_SIM_AUTH_HTTP)
            return 0;
        int st = check_token(s, wsi);
        if (!st)
            return 0;
        lws_return_http_status(wsi, (unsigned)st, st == 401 ? "token required" : "wrong token");
        return 1;
    }
    case LWS_CALLBACK_ESTABLISHED:
        return on_open(s, wsi, false);
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        return on_open(s, wsi, true);
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_rx(s, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writable(wsi);
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return append_headers(s, wsi, in, len);
    case LWS_CALLBACK_HTTP:
        return media_request(s, wsi, user);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (user && ((struct sim_http *)user)->generating)
            return write_big(wsi, user);
        break;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        conn_release(s, wsi);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!s->rev_warned && !s->destroying)
            qb_log(QB_LOG_WARN,
                   "qunbot-sim: cannot connect to the bot at %s (%s); retrying every %d ms",
                   s->reverse_url, in ? (const char *)in : "no reason given", s->reconnect_ms);
        s->rev_warned = true;
        conn_release(s, wsi);
        client_ended(s);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        conn_release(s, wsi);
        client_ended(s);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- start/stop ---- */

void sim__net_init(struct qb_sim *s)
{
    ev_init(&s->reconnect, reconnect_cb);
    s->reconnect.data = s;
    ev_init(&s->heartbeat, heartbeat_cb);
    s->heartbeat.data = s;
}

int sim__net_start(struct qb_sim *s, char *err, size_t errlen)
{
    if (s->ctx)
        return QB_OK;
    if (!s->listen && !s->reverse_url) {
        s->running = true;
        return QB_OK;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {s->loop};
    info.options = LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = loops;
    info.port = s->listen ? s->port : CONTEXT_PORT_NO_LISTEN;
    info.iface = s->listen ? s->listen_host : NULL;
    info.protocols = sim_protocols;
    info.user = s;
    info.gid = -1;
    info.uid = -1;
    if (s->listen && s->tls_cert && s->tls_key) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = s->tls_cert;
        info.ssl_private_key_filepath = s->tls_key;
    }
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        if (s->listen)
            snprintf(err, errlen,
                     "cannot listen on %s:%d (the port may be in use, or the address is not "
                     "on this machine); choose another address or port",
                     s->listen_host, s->port);
        else
            snprintf(err, errlen,
                     "cannot start the WebSocket client (is "
                     "libwebsockets-evlib-ev installed?)");
        return QB_EIO;
    }
    if (s->listen) {
        int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
        if (port > 0)
            s->port = port;
    }
    s->running = true;
    if (s->reverse_url)
        client_connect(s);
    return QB_OK;
}

void sim__net_stop(struct qb_sim *s)
{
    s->running = false;
    ev_timer_stop(s->loop, &s->reconnect);
    ev_timer_stop(s->loop, &s->heartbeat);
    if (!s->ctx)
        return;
    s->destroying = true;
    lws_context_destroy(s->ctx);
    s->ctx = NULL;
    s->client_wsi = NULL;
    s->destroying = false;
    /* every socket's WSI_DESTROY ran; anything left is unreachable now */
    while (s->conns) {
        struct sim_conn *c = s->conns;
        s->conns = c->next;
        frames_free(c);
        qb_buf_free(&c->rx);
        free(c);
    }
}
