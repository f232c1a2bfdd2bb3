/*
 * net.c — every WebSocket the bot holds, on libwebsockets bound to our libev loop.
 *
 * Owns the lws context, the client vhosts (one per forward account, so each can have
 * its own CA file) and the reverse-mode listener. It authenticates incoming platform
 * sockets before the upgrade (path, X-Self-ID, Bearer token in constant time),
 * reassembles fragmented frames under the size limit, and keeps a write queue per
 * socket (written only in WRITEABLE). Protocol meaning is the account's business:
 * this file hands whole text frames to qb_account_on_frame() and nothing more.
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "http/http.h"
#include "media.h"

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

static const struct lws_protocols qb_protocols[] = {
        {"qunbot-onebot", ws_callback, 0, 65536, 0, NULL, 0},
        {QB_MEDIA_PROTOCOL, qb_media_http_cb, 0, 0, 0, NULL, 0}, /* picture downloads (media.c) */
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* WebSocket-level keepalive: ping after 20 s of silence, hang up after 45 s. */
static const lws_retry_bo_t qb_idle_policy = {
        .secs_since_valid_ping = 20,
        .secs_since_valid_hangup = 45,
};

static struct qb_bot *bot_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- connection objects ---- */

static struct qb_conn *conn_new(struct qb_bot *b, struct qb_account *acc, enum qb_conn_role role,
                                bool outgoing)
{
    struct qb_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->acc = acc;
    c->role = role;
    c->outgoing = outgoing;
    qb_buf_init(&c->rx);
    c->next_all = b->conns;
    b->conns = c;
    return c;
}

static void conn_free(struct qb_bot *b, struct qb_conn *c)
{
    for (struct qb_conn **p = &b->conns; *p; p = &(*p)->next_all) {
        if (*p == c) {
            *p = c->next_all;
            break;
        }
    }
    while (c->txq) {
        struct qb_frameq *f = c->txq;
        c->txq = f->next;
        free(f->data);
        free(f);
    }
    qb_buf_free(&c->rx);
    free(c);
}

int qb_conn_send(struct qb_conn *c, const char *text, size_t len)
{
    if (!c || !c->wsi || !c->open)
        return QB_EDISCONNECTED;
    struct qb_frameq *f = calloc(1, sizeof *f);
    if (!f)
        return QB_ENOMEM;
    f->data = malloc(LWS_PRE + len);
    if (!f->data) {
        free(f);
        return QB_ENOMEM;
    }
    memcpy(f->data + LWS_PRE, text, len);
    f->len = len;
    if (c->txq_tail)
        c->txq_tail->next = f;
    else
        c->txq = f;
    c->txq_tail = f;
    lws_callback_on_writable(c->wsi);
    return QB_OK;
}

void qb_conn_close(struct qb_conn *c)
{
    if (c && c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static int conn_write_one(struct qb_conn *c)
{
    struct qb_frameq *f = c->txq;
    if (!f)
        return 0;
    int n = lws_write(c->wsi, (unsigned char *)f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
    if (n < (int)f->len)
        return -1;
    c->txq = f->next;
    if (!c->txq)
        c->txq_tail = NULL;
    free(f->data);
    free(f);
    if (c->txq)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void conn_receive(struct qb_bot *b, struct qb_conn *c, struct lws *wsi, const void *in,
                         size_t len)
{
    if (lws_frame_is_binary(wsi)) {
        if (lws_is_final_fragment(wsi))
            qb_log(QB_LOG_WARN, "ignored a binary frame from the platform (OneBot v11 is text)");
        return;
    }
    if (!c->dropping) {
        if (c->rx.len + len > (size_t)b->cfg->max_frame_bytes) {
            c->dropping = true;
            qb_buf_free(&c->rx);
        } else if (qb_buf_append(&c->rx, in, len) != QB_OK) {
            c->dropping = true;
            qb_buf_free(&c->rx);
        }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return;
    if (c->dropping) {
        qb_log(QB_LOG_WARN,
               "dropped a frame from the platform larger than max_frame_bytes (%lld bytes)",
               (long long)b->cfg->max_frame_bytes);
        c->dropping = false;
        return;
    }
    if (c->acc)
        qb_account_on_frame(c->acc, c, c->rx.p ? c->rx.p : (char *)"", c->rx.len);
    qb_buf_reset(&c->rx);
}

/* ---- reverse mode: authenticate the platform before the upgrade ---- */

static bool path_matches(const char *want, const char *got)
{
    size_t wl = strlen(want), gl = strcspn(got, "?");
    while (wl > 1 && want[wl - 1] == '/')
        wl--;
    while (gl > 1 && got[gl - 1] == '/')
        gl--;
    return wl == gl && !strncmp(want, got, wl);
}

/* The token the client presented: Authorization "Bearer x"/"Token x", else ?access_token=.
 * An empty "Bearer " counts as no token (NapCat sends it when it has none). */
static void presented_token(struct lws *wsi, char *out, size_t outlen)
{
    char auth[512] = "";
    out[0] = '\0';
    if (lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
        const char *v = auth;
        if (!strncasecmp(v, "Bearer", 6))
            v += 6;
        else if (!strncasecmp(v, "Token", 5))
            v += 5;
        while (*v == ' ')
            v++;
        qb_strlcpy(out, v, outlen);
        qb_trim(out);
    }
    if (!out[0]) {
        char q[512];
        const char *v = lws_get_urlarg_by_name(wsi, "access_token=", q, sizeof q);
        if (v)
            qb_strlcpy(out, v, outlen);
    }
}

static struct qb_account *reverse_account(struct qb_bot *b, const char *self_id)
{
    for (size_t i = 0; i < b->naccounts; i++) {
        struct qb_account *a = &b->accounts[i];
        if (a->cfg->mode == QB_MODE_REVERSE && !strcmp(a->cfg->self_id, self_id))
            return a;
    }
    return NULL;
}

static enum qb_conn_role header_role(struct lws *wsi)
{
    char role[32] = "";
    lws_hdr_custom_copy(wsi, role, sizeof role, "x-client-role:", 14);
    if (!strcasecmp(role, "api"))
        return QB_CONN_API;
    if (!strcasecmp(role, "event"))
        return QB_CONN_EVENT;
    return QB_CONN_UNIVERSAL;
}

static int refuse(struct lws *wsi, unsigned code, const char *why, const char *self_id)
{
    qb_log(QB_LOG_WARN, "refused a platform connection (self id '%s'): %s", self_id, why);
    lws_return_http_status(wsi, code, why);
    return 1;
}

static int filter_incoming(struct qb_bot *b, struct lws *wsi)
{
    char uri[512] = "", self_id[QB_ID_MAX] = "", token[512];
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    lws_hdr_custom_copy(wsi, self_id, sizeof self_id, "x-self-id:", 10);
    if (!path_matches(b->cfg->listen.path, uri))
        return refuse(wsi, HTTP_STATUS_NOT_FOUND, "wrong path", self_id);
    if (!self_id[0])
        return refuse(wsi, HTTP_STATUS_BAD_REQUEST, "missing X-Self-ID header", self_id);
    struct qb_account *acc = reverse_account(b, self_id);
    if (!acc)
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "no reverse account has this self id", self_id);
    presented_token(wsi, token, sizeof token);
    if (!token[0])
        return refuse(wsi, HTTP_STATUS_UNAUTHORIZED, "no access token", self_id);
    if (!qb_secret_eq(token, acc->cfg->token))
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "wrong access token", self_id);
    struct qb_conn *c = conn_new(b, acc, header_role(wsi), false);
    if (!c)
        return 1;
    c->wsi = wsi;
    lws_set_opaque_user_data(wsi, c);
    return 0;
}

/* ---- forward mode: dial ---- */

static int client_headers(struct qb_conn *c, unsigned char **p, unsigned char *end)
{
    const char *token = c->acc ? c->acc->cfg->token : NULL;
    if (qb_str_empty(token))
        return 0;
    char v[600];
    int n = snprintf(v, sizeof v, "Bearer %s", token);
    if (n < 0 || (size_t)n >= sizeof v)
        return -1;
    if (lws_add_http_header_by_name(c->wsi, (const unsigned char *)"authorization:",
                                    (const unsigned char *)v, n, p, end))
        return -1;
    return 0;
}

static void client_error(struct qb_bot *b, struct qb_conn *c, struct lws *wsi, const char *why)
{
    unsigned status = lws_http_client_http_response(wsi);
    struct qb_account *acc = c ? c->acc : NULL;
    if (c)
        c->wsi = NULL;
    if (!acc || b->stopping)
        return;
    if (status == 401 || status == 403) {
        qb_account_on_auth_failure(acc, (int)status);
    } else if (why && strstr(why, "SSL")) {
        qb_log(QB_LOG_WARN,
               "account %s: could not connect: the TLS handshake failed (%s). If the server uses "
               "a self-signed or private certificate, name its CA in \"ca_file\"",
               acc->cfg->name, why);
    } else {
        qb_log(QB_LOG_WARN, "account %s: could not connect: %s", acc->cfg->name,
               why && *why ? why : "connection failed");
    }
    qb_account_on_close(acc, c, "connect failed");
}

static int dial_one(struct qb_account *acc, const char *url, enum qb_conn_role role)
{
    struct qb_bot *b = acc->bot;
    char buf[1024], path[1100];
    const char *prot, *host, *rest;
    int port;
    qb_strlcpy(buf, url, sizeof buf);
    if (lws_parse_uri(buf, &prot, &host, &port, &rest))
        return QB_EINVAL;
    snprintf(path, sizeof path, "/%s", rest);
    bool tls = !strcmp(prot, "wss") || !strcmp(prot, "https");

    struct qb_conn *c = conn_new(b, acc, role, true);
    if (!c)
        return QB_ENOMEM;
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = b->lws;
    i.vhost = acc->vhost[0] ? lws_get_vhost_by_name(b->lws, acc->vhost) : b->client_vh;
    i.address = host;
    i.port = port;
    i.path = path;
    i.host = host;
    i.origin = host;
    i.local_protocol_name = qb_protocols[0].name;
    i.retry_and_idle_policy = &qb_idle_policy;
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    if (tls) {
        i.ssl_connection = LCCSCF_USE_SSL;
        if (!acc->cfg->tls_verify)
            i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    if (!lws_client_connect_via_info(&i)) {
        /* lws may already have reported and destroyed it through the callback: free
         * the connection only if it is still ours */
        for (struct qb_conn *x = b->conns; x; x = x->next_all) {
            if (x == c) {
                conn_free(b, c);
                break;
            }
        }
        qb_log(QB_LOG_WARN, "account %s: could not start connecting to %s", acc->cfg->name, url);
        return QB_EIO;
    }
    return QB_OK;
}

void qb_net_dial(struct qb_account *acc)
{
    const struct qb_account_cfg *cfg = acc->cfg;
    int rc;
    if (cfg->url) {
        rc = dial_one(acc, cfg->url, QB_CONN_UNIVERSAL);
    } else {
        rc = dial_one(acc, cfg->api_url, QB_CONN_API);
        if (rc == QB_OK)
            rc = dial_one(acc, cfg->event_url, QB_CONN_EVENT);
    }
    if (rc != QB_OK)
        qb_account_schedule_reconnect(acc);
}

/* ---- the callback ---- */

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    (void)user;
    struct qb_bot *b = bot_of(wsi);
    struct qb_conn *c = lws_get_opaque_user_data(wsi);

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter_incoming(b, wsi);
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (c && client_headers(c, (unsigned char **)in, (unsigned char *)in + len))
            return -1;
        break;
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c)
            return -1;
        c->wsi = wsi;
        c->open = true;
        c->opened_at = qb_clock_mono();
        if (c->acc)
            qb_account_on_open(c->acc, c);
        break;
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c)
            conn_receive(b, c, wsi, in, len);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c && conn_write_one(c))
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        client_error(b, c, wsi, in ? (const char *)in : "");
        break;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c && c->open) {
            c->open = false;
            if (c->acc)
                qb_account_on_close(c->acc, c, "connection closed");
        }
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        if (c) {
            if (c->open && c->acc)
                qb_account_on_close(c->acc, c, "connection lost");
            lws_set_opaque_user_data(wsi, NULL);
            conn_free(b, c);
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ---- context ---- */

static bool has_reverse(const struct qb_bot *b)
{
    for (size_t i = 0; i < b->naccounts; i++)
        if (b->accounts[i].cfg->mode == QB_MODE_REVERSE)
            return true;
    return false;
}

static void lws_log_bridge(int level, const char *line)
{
    size_t n = strlen(line);
    char copy[512];
    qb_strlcpy(copy, line, sizeof copy);
    if (n && n < sizeof copy && copy[n - 1] == '\n')
        copy[n - 1] = '\0';
    qb_log(level == LLL_ERR ? QB_LOG_WARN : QB_LOG_DEBUG, "libwebsockets: %s", copy);
}

int qb_net_start(struct qb_bot *b, char *err, size_t errlen)
{
    lws_set_log_level(LLL_ERR | (qb_log_get_level() == QB_LOG_DEBUG ? LLL_WARN : 0),
                      lws_log_bridge);
    void *loops[] = {b->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = loops;
    info.user = b;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = qb_protocols;
    b->lws = lws_create_context(&info);
    if (!b->lws) {
        snprintf(err, errlen,
                 "could not start libwebsockets on the libev loop "
                 "(is the package libwebsockets-evlib-ev installed?)");
        return QB_EIO;
    }

    /* one client vhost with the system CAs, and one per account that names its own CA */
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.vhost_name = "client";
    vi.port = CONTEXT_PORT_NO_LISTEN;
    vi.protocols = qb_protocols;
    vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    b->client_vh = lws_create_vhost(b->lws, &vi);
    if (!b->client_vh) {
        snprintf(err, errlen, "could not create the client side of libwebsockets");
        return QB_EIO;
    }
    for (size_t i = 0; i < b->naccounts; i++) {
        struct qb_account *acc = &b->accounts[i];
        const struct qb_account_cfg *ac = acc->cfg;
        if (!ac->ca_file)
            continue;
        snprintf(acc->vhost, sizeof acc->vhost, "client-%zu", i);
        vi.vhost_name = acc->vhost;
        vi.client_ssl_ca_filepath = ac->ca_file;
        if (!lws_create_vhost(b->lws, &vi)) {
            snprintf(err, errlen, "account %s: could not load the CA file %s", ac->name,
                     ac->ca_file);
            return QB_EIO;
        }
    }

    b->listen_port = -1;
    if (has_reverse(b)) {
        memset(&vi, 0, sizeof vi);
        vi.vhost_name = "listen";
        vi.port = b->cfg->listen.port;
        vi.iface = b->cfg->listen.host;
        if (qb_ipv4_literal(b->cfg->listen.host)) /* "127.0.0.1" must mean loopback only */
            vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
        vi.protocols = qb_protocols;
        vi.retry_and_idle_policy = &qb_idle_policy;
        b->listen_vh = lws_create_vhost(b->lws, &vi);
        if (!b->listen_vh) {
            snprintf(err, errlen, "could not listen on %s:%d (in use, or not allowed?)",
                     b->cfg->listen.host, b->cfg->listen.port);
            return QB_EIO;
        }
        b->listen_port = lws_get_vhost_listen_port(b->listen_vh);
        qb_log(QB_LOG_INFO, "waiting for platform connections on ws://%s:%d%s (token required)",
               b->cfg->listen.host, b->listen_port, b->cfg->listen.path);
    }
    int rc = qb_http_start(b, err, errlen); /* the dashboard, when "http" is enabled */
    if (rc != QB_OK)
        return rc;
    for (size_t i = 0; i < b->naccounts; i++)
        if (b->accounts[i].cfg->mode == QB_MODE_FORWARD)
            qb_net_dial(&b->accounts[i]);
    return QB_OK;
}

void qb_net_stop(struct qb_bot *b)
{
    qb_media_shutdown(b); /* its downloads live on this context */
    qb_http_stop(b);      /* the dashboard's database; its requests die with the context */
    if (!b->lws)
        return;
    lws_context_destroy(b->lws);
    b->lws = NULL;
    ev_run(b->loop, EVRUN_NOWAIT);
    while (b->conns) {
        struct qb_conn *c = b->conns;
        conn_free(b, c);
    }
}

void qb_net_detach(struct qb_bot *b, struct qb_account *acc, bool outgoing_only)
{
    for (struct qb_conn *c = b->conns; c; c = c->next_all) {
        if (c->acc == acc && (c->outgoing || !outgoing_only)) {
            c->acc = NULL;
            qb_conn_close(c);
        }
    }
}
