/*
 * http_server.c — the dashboard's HTTP server: a libwebsockets vhost of its own bound to
 * cfg->http.host:port (127.0.0.1 by default), read-only (GET and HEAD), every request
 * authenticated by the configured token (constant-time compare).
 *
 * Owns struct qb_http and each connection's pending response, which it writes in chunks from
 * LWS_CALLBACK_HTTP_WRITEABLE (never blocking the loop). Static files come only from the web
 * root's index.html and assets/ with known extensions; the API is http_api.c's, heavy answers
 * through http_work.c's cache: a request whose answer is being computed is parked (nothing
 * written until the worker's answer arrives). It never writes to the database and never
 * serves WebSocket upgrades.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

#define CHUNK       16384
#define MAX_FILE    (16 << 20)
#define COOKIE_NAME "qb_token"
#define CSP                                                                                        \
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "               \
    "frame-ancestors 'none'; form-action 'none'"
#define HTML_TYPE "text/html; charset=utf-8"

/* What a browser sees when it opens the page without the token. */
static const char refusal_page[] =
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>qunbot</title>"
        "<h1>需要访问令牌</h1><p>请用带令牌的地址打开仪表盘：<code>/?token=你的令牌</code>"
        "（令牌是配置文件里 <code>http.token</code> 的值）。</p>"
        "<p>Missing or wrong token: open the dashboard as <code>/?token=YOUR_TOKEN</code>.</p>"
        "</html>\n";

/* One connection's response in progress (lws allocates and zeroes it per connection). */
struct http_conn {
    struct qb_http_waiter w; /* parked on a worker's answer (w.job != NULL) */
    struct lws *wsi;
    struct qb_http_resp r;
    size_t off;
    bool head;
    bool headers_due; /* the answer arrived while parked: headers go out when writable */
};

static const struct {
    const char *ext, *type;
} file_types[] = {
        {".html", HTML_TYPE},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
};

/* ---- authentication ---- */

static void cookie_token(struct lws *wsi, char *out, size_t outlen)
{
    char c[2048];
    if (lws_hdr_copy(wsi, c, sizeof c, WSI_TOKEN_HTTP_COOKIE) <= 0)
        return;
    for (char *p = c; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        char *end = strchr(p, ';');
        if (end)
            *end = '\0';
        if (qb_starts_with(p, COOKIE_NAME "=")) {
            const char *v = p + strlen(COOKIE_NAME "=");
            if (strlen(v) < outlen * 3)
                lws_urldecode(out, v, (int)outlen);
            return;
        }
        p = end ? end + 1 : NULL;
    }
}

/* The token the client presented: Authorization "Bearer x", else ?token=, else the cookie
 * the page set. *from_query tells whether it came in the address. */
static void presented_token(struct lws *wsi, char *out, size_t outlen, bool *from_query)
{
    char auth[600] = "", arg[600];
    out[0] = '\0';
    *from_query = false;
    if (lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        !strncasecmp(auth, "Bearer ", 7)) {
        qb_strlcpy(out, auth + 7, outlen);
        qb_trim(out);
        if (out[0])
            return;
    }
    const char *q = lws_get_urlarg_by_name(wsi, "token=", arg, (int)sizeof arg);
    if (q && *q) {
        qb_strlcpy(out, q, outlen);
        *from_query = true;
        return;
    }
    cookie_token(wsi, out, outlen);
}

/* ---- static files ---- */

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof file_types / sizeof file_types[0]; i++)
        if (!strcmp(dot, file_types[i].ext))
            return file_types[i].type;
    return NULL;
}

/* Only "/index.html" and "/assets/<name>" made of [A-Za-z0-9._-/], no hidden or ".." part. */
static bool servable(const char *path)
{
    if (strcmp(path, "/index.html") && !qb_starts_with(path, "/assets/"))
        return false;
    if (strlen(path) > 200)
        return false;
    for (const char *p = path; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' || *p == '/';
        if (!ok || (*p == '/' && (p[1] == '.' || p[1] == '/' || p[1] == '\0')))
            return false;
    }
    return type_of(path) != NULL;
}

static int read_all(int fd, size_t size, struct qb_http_resp *r)
{
    char *buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (!buf || got != size) {
        free(buf);
        return buf ? QB_EIO : QB_ENOMEM;
    }
    r->body = buf;
    r->len = size;
    return QB_OK;
}

static int read_file(const char *full, struct qb_http_resp *r)
{
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP ? QB_ENOENT : QB_EIO;
    struct stat sb;
    int rc;
    if (fstat(fd, &sb) != 0)
        rc = QB_EIO;
    else if (!S_ISREG(sb.st_mode))
        rc = QB_ENOENT;
    else if (sb.st_size > MAX_FILE)
        rc = QB_ETOOBIG;
    else
        rc = read_all(fd, (size_t)sb.st_size, r);
    close(fd);
    return rc;
}

static int serve_static(struct qb_bot *b, const char *path, struct qb_http_resp *r)
{
    if (!strcmp(path, "/"))
        path = "/index.html";
    if (!servable(path))
        return qb_http_error(r, 404, "no such page");
    const char *root = b->web_root ? b->web_root : QB_HTTP_WEB_ROOT;
    char full[1024];
    if ((size_t)snprintf(full, sizeof full, "%s%s", root, path) >= sizeof full)
        return qb_http_error(r, 404, "no such page");
    int rc = read_file(full, r);
    if (rc == QB_ENOENT && !strcmp(path, "/index.html"))
        return qb_http_error(r, 404,
                             "the dashboard's page was not found in " QB_HTTP_WEB_ROOT
                             ": start qunbot from its installation folder");
    if (rc == QB_ENOENT)
        return qb_http_error(r, 404, "no such page");
    if (rc != QB_OK)
        return qb_http_error(r, 500, "the dashboard's file could not be read");
    r->status = 200;
    r->type = type_of(path);
    r->api = false;
    return QB_OK;
}

/* ---- writing the response ---- */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* The transaction is over: forget the body and wait for the next request (or close). */
static int finish(struct lws *wsi, struct http_conn *hc)
{
    qb_http_resp_clear(&hc->r);
    hc->off = 0;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int send_headers(struct lws *wsi, struct http_conn *hc, const char *cookie_value)
{
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    struct qb_http_resp *r = &hc->r;
    char cookie[2200];
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->type, (lws_filepos_t)r->len, &p,
                                    end) ||
        add_header(wsi, "content-security-policy:", CSP, &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "x-frame-options:", "DENY", &p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
        add_header(wsi, "cache-control:", r->api ? "no-store" : "no-cache", &p, end))
        return -1;
    char computed[24];
    snprintf(computed, sizeof computed, "%lld", (long long)r->computed_ms);
    if (r->api && r->computed_ms > 0 && add_header(wsi, "x-qunbot-computed:", computed, &p, end))
        return -1;
    if (r->status == 405 && add_header(wsi, "allow:", "GET, HEAD", &p, end))
        return -1;
    if (cookie_value) {
        char enc[1600];
        lws_urlencode(enc, cookie_value, (int)sizeof enc);
        snprintf(cookie, sizeof cookie, COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict", enc);
        if (add_header(wsi, "set-cookie:", cookie, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (hc->head || !r->len)
        return finish(wsi, hc);
    lws_callback_on_writable(wsi);
    return 0;
}

static int write_chunk(struct lws *wsi, struct http_conn *hc)
{
    struct qb_http_resp *r = &hc->r;
    if (!r->body || hc->off >= r->len)
        return 0;
    unsigned char buf[LWS_PRE + CHUNK];
    size_t n = r->len - hc->off;
    if (n > CHUNK)
        n = CHUNK;
    memcpy(buf + LWS_PRE, r->body + hc->off, n);
    bool last = hc->off + n >= r->len;
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
        return -1;
    hc->off += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return finish(wsi, hc);
}

/* ---- a request ---- */

static bool is_page(const char *path)
{
    return !strcmp(path, "/") || !strcmp(path, "/index.html");
}

/* A worker's answer for a parked connection (r borrowed): share it and send it as soon as
 * the socket is writable. */
static void parked_ready(struct qb_http_waiter *w, struct qb_http_resp *r)
{
    struct http_conn *hc = (struct http_conn *)(void *)w; /* w is hc's first member */
    int rc = r->status ? qb_http_resp_share(&hc->r, r) : QB_ENOMEM;
    if (rc != QB_OK)
        rc = qb_http_error(&hc->r, 500, "the dashboard ran out of memory; try again");
    if (rc != QB_OK) {
        lws_set_timeout(hc->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    hc->headers_due = true;
    lws_set_timeout(hc->wsi, NO_PENDING_TIMEOUT, 0);
    lws_callback_on_writable(hc->wsi);
}

/* An API request with a good token: heavy answers from the cache (or parked until a worker
 * has computed them), the rest at once. *parked: nothing to send yet. */
static int api_request(struct lws *wsi, struct http_conn *hc, struct qb_http *h, const char *path,
                       bool *parked)
{
    char arg[80], key[600];
    const char *since = lws_get_urlarg_by_name(wsi, "since=", arg, (int)sizeof arg);
    int64_t now = qb_clock_now();
    if (!qb_http_api_heavy(h, path, since, now, key, sizeof key))
        return qb_http_api(h, path, since, now, &hc->r);
    hc->w.ready = parked_ready;
    int rc = qb_http_answer(h, key, path, since, &hc->w, &hc->r, parked);
    if (rc == QB_OK && *parked) /* not dropped before the worker's deadline */
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, (int)QB_HTTP_DEADLINE_S + 10);
    return rc;
}

static int on_request(struct lws *wsi, struct http_conn *hc, const char *in, size_t len)
{
    struct qb_bot *b = lws_context_user(lws_get_context(wsi));
    struct qb_http *h = b ? b->http : NULL;
    if (!h || !hc)
        return -1;
    qb_http_unpark(&hc->w);
    qb_http_resp_clear(&hc->r);
    hc->off = 0;
    hc->wsi = wsi;
    hc->headers_due = false;
    bool parked = false;
    char path[512];
    qb_strlcpy(path, "", sizeof path);
    if (in && len < sizeof path) {
        memcpy(path, in, len);
        path[len] = '\0';
    }
    char *uri = NULL;
    int ulen = 0;
    int method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    hc->head = method == LWSHUMETH_HEAD;
    char token[512];
    bool from_query = false, ok = false;
    const char *set_cookie = NULL;
    int rc;

    if (method != LWSHUMETH_GET && method != LWSHUMETH_HEAD) {
        rc = qb_http_error(&hc->r, 405, "the dashboard is read-only: only GET is allowed");
    } else {
        presented_token(wsi, token, sizeof token, &from_query);
        ok = token[0] && !qb_str_empty(b->cfg->http.token) &&
             qb_secret_eq(token, b->cfg->http.token);
        if (!path[0]) {
            rc = qb_http_error(&hc->r, 404, "no such page");
        } else if (!strcmp(path, "/api") || qb_starts_with(path, "/api/")) {
            rc = ok ? api_request(wsi, hc, h, path, &parked)
                    : qb_http_error(&hc->r, 401, "missing or wrong token");
        } else if (!ok && is_page(path)) {
            rc = qb_http_error(&hc->r, 401, "missing or wrong token");
            if (rc == QB_OK) {
                free(hc->r.body);
                hc->r.body = qb_strdup(refusal_page);
                hc->r.len = hc->r.body ? strlen(hc->r.body) : 0;
                hc->r.type = HTML_TYPE;
                rc = hc->r.body ? QB_OK : QB_ENOMEM;
            }
        } else if (!ok) {
            rc = qb_http_error(&hc->r, 401, "missing or wrong token");
        } else {
            rc = serve_static(b, path, &hc->r);
            if (rc == QB_OK && from_query && is_page(path))
                set_cookie = token; /* so the page's own assets load without the token */
        }
    }
    if (rc == QB_OK && parked) {
        qb_strlcpy(token, "", sizeof token);
        return 0; /* parked_ready answers */
    }
    if (rc != QB_OK || !hc->r.status)
        return -1;
    rc = send_headers(wsi, hc, set_cookie);
    qb_strlcpy(token, "", sizeof token);
    return rc;
}

static int dashboard_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct http_conn *hc = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* no WebSockets here */
    case LWS_CALLBACK_HTTP:
        return on_request(wsi, hc, in, len);
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return 0; /* bodies are ignored: only GET is served */
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!hc)
            return -1;
        if (hc->w.job)
            return 0; /* still parked */
        if (hc->headers_due) {
            hc->headers_due = false;
            return send_headers(wsi, hc, NULL);
        }
        return write_chunk(wsi, hc);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (hc) {
            qb_http_unpark(&hc->w); /* closed while parked: the job forgets it */
            qb_http_resp_clear(&hc->r);
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols dashboard_protocols[] = {
        {"qunbot-dashboard", dashboard_cb, sizeof(struct http_conn), 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- start and stop ---- */

int qb_http_start(struct qb_bot *b, char *err, size_t errlen)
{
    const struct qb_config *cfg = b->cfg;
    b->http_port = -1;
    if (!cfg->http.enabled)
        return QB_OK;
    if (qb_str_empty(cfg->http.token)) {
        snprintf(err, errlen, "the dashboard (\"http\") needs a token; set \"token\" in \"http\"");
        return QB_EINVAL;
    }
    if (b->listen_vh && cfg->http.port && cfg->http.port == cfg->listen.port) {
        snprintf(err, errlen,
                 "\"http\" and \"listen\" both use port %d: give the dashboard another port",
                 cfg->http.port);
        return QB_EINVAL;
    }
    struct qb_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return QB_ENOMEM;
    }
    h->bot = b;
    b->http = h;
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.vhost_name = "dashboard";
    vi.port = cfg->http.port;
    vi.iface = cfg->http.host;
    vi.protocols = dashboard_protocols;
    vi.server_string = "qunbot";
    if (qb_ipv4_literal(cfg->http.host)) /* "127.0.0.1" must mean loopback only */
        vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    h->vh = lws_create_vhost(b->lws, &vi);
    if (!h->vh) {
        snprintf(err, errlen,
                 "could not serve the dashboard on %s:%d (port in use, or not allowed?)",
                 cfg->http.host, cfg->http.port);
        return QB_EIO;
    }
    b->http_port = lws_get_vhost_listen_port(h->vh);
    qb_log(QB_LOG_INFO, "dashboard at http://%s:%d/?token=... (the token from \"http\")",
           cfg->http.host, b->http_port);
    qb_http_warm(h); /* so the first click is answered from the cache */
    return QB_OK;
}

void qb_http_stop(struct qb_bot *b)
{
    struct qb_http *h = b->http;
    if (!h)
        return;
    b->http = NULL;
    qb_http_work_stop(h);
    sqlite3_close(h->db);
    free(h);
}
