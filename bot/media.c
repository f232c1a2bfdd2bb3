/*
 * media.c — the QR scanning service behind <qunbot/media.h>: download a picture over
 * HTTP(S) with the bot's libwebsockets context, then decode it with zbarimg in a child
 * process, all on the bot's libev loop (no threads).
 *
 * Owns every scan (struct job): its socket while downloading, its private temporary file
 * (mode 0600, removed when the scan ends), its decoder process (killed after the decode
 * limit, always reaped: proc.c runs it) and the plugin's callback, which it calls exactly
 * once, from a zero-delay timer so it never runs inside a libwebsockets callback or qb_qr_scan.
 * It must not decode pictures in the bot's own process: a hostile picture may crash the
 * decoder, and only the child dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <qunbot/media.h>

#include "media.h"
#include "proc.h"

#define RUNNING_MAX       4
#define QUEUE_MAX         64
#define REDIRECTS_MAX     3
#define URL_MAX           4096
#define DEF_MAX_BYTES     (5 * 1024 * 1024)
#define DEF_FETCH_MS      10000
#define DEF_DECODE_MS     5000
#define CHILD_MEM_LIMIT   ((rlim_t)1024 * 1024 * 1024) /* address space of the decoder */
#define CHILD_CPU_S       10                           /* CPU seconds of the decoder */
#define ZBARIMG_NOT_FOUND 4                            /* zbarimg's exit status: no symbol */

enum job_state { JOB_QUEUED, JOB_FETCH, JOB_DECODE, JOB_DONE };

struct job {
    struct qb_media *m;
    struct qb_ctx *ctx;
    qb_qr_cb cb;
    void *ud;
    char *url; /* owned */
    enum job_state state;
    int rc;
    const char *why; /* static text: why it ended (debug log) */
    ev_timer timer;  /* download deadline, then the deferred answer */

    /* download */
    struct lws *wsi;
    bool https;
    int redirects;
    int fd;     /* the temporary file, -1 when closed */
    char *path; /* its name, owned; NULL once removed */
    int64_t got;
    unsigned char head[12]; /* the first bytes, to recognise the format */
    size_t headlen;

    /* decode */
    struct qb_proc *proc; /* the decoder while it runs (proc.c owns it); NULL otherwise */
    char payload[QB_QR_PAYLOAD_MAX + 1];
    size_t plen;

    struct job *next;
};

struct qb_media {
    struct qb_bot *b;
    struct job *jobs; /* started (fetching, decoding or answered soon) */
    struct job *queue, *queue_tail;
    int running, queued;
    bool warned_missing;
    struct qb_media_stats stats;
};

static void job_start(struct job *j);
static void job_end(struct job *j, int rc, const char *why);

/* ---- limits ---- */

static int64_t lim_bytes(const struct qb_bot *b)
{
    return b->media_limits.max_bytes > 0 ? b->media_limits.max_bytes : DEF_MAX_BYTES;
}

static double lim_fetch_s(const struct qb_bot *b)
{
    int64_t ms = b->media_limits.fetch_timeout_ms;
    return (ms > 0 ? ms : DEF_FETCH_MS) / 1000.0;
}

static double lim_decode_s(const struct qb_bot *b)
{
    int64_t ms = b->media_limits.decode_timeout_ms;
    return (ms > 0 ? ms : DEF_DECODE_MS) / 1000.0;
}

/* ---- the decoder program ---- */

/* Resolve the decoder (a path, or a name in PATH) into out. Checked at every scan so
 * installing zbar-tools turns scanning on without a restart. */
static bool find_decoder(const struct qb_bot *b, char *out, size_t n)
{
    const char *name = qb_str_empty(b->media_limits.decoder) ? "zbarimg" : b->media_limits.decoder;
    if (strchr(name, '/')) {
        qb_strlcpy(out, name, n);
        return access(out, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (qb_str_empty(path))
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        int w = len ? snprintf(out, n, "%.*s/%s", (int)len, path, name)
                    : snprintf(out, n, "./%s", name);
        struct stat st;
        if (w > 0 && (size_t)w < n && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
            access(out, X_OK) == 0)
            return true;
        path += len;
        if (*path == ':')
            path++;
    }
    return false;
}

/* The ImageMagick coder for the file's first bytes, or NULL if it is not a picture format
 * we scan. Naming the coder ("png:/tmp/x") stops ImageMagick from guessing the format from
 * the content, so a "picture" that is really PostScript or SVG never reaches a delegate. */
static const char *coder_for(const unsigned char *h, size_t n)
{
    if (n >= 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8))
        return "png";
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF)
        return "jpeg";
    if (n >= 6 && (!memcmp(h, "GIF87a", 6) || !memcmp(h, "GIF89a", 6)))
        return "gif";
    if (n >= 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WEBP", 4))
        return "webp";
    if (n >= 2 && h[0] == 'B' && h[1] == 'M')
        return "bmp";
    return NULL;
}

/* ---- ending a scan ---- */

static void detach_wsi(struct job *j)
{
    if (!j->wsi)
        return;
    lws_set_opaque_user_data(j->wsi, NULL);
    lws_set_timeout(j->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
    j->wsi = NULL;
}

static void remove_file(struct job *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    if (j->path)
        unlink(j->path);
    free(j->path);
    j->path = NULL;
}

/* Kill and reap a decoder that is still running (shutdown). */
static void stop_decoder(struct job *j)
{
    qb_proc_cancel(j->proc);
    j->proc = NULL;
}

/* Release everything the scan holds except the job itself. */
static void job_release(struct job *j)
{
    struct ev_loop *loop = j->m->b->loop;
    ev_timer_stop(loop, &j->timer);
    detach_wsi(j);
    stop_decoder(j);
    remove_file(j);
}

static void unlink_job(struct qb_media *m, struct job *j)
{
    for (struct job **p = &m->jobs; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            m->running--;
            return;
        }
    }
}

static void job_free(struct job *j)
{
    free(j->url);
    free(j);
}

/* Start queued scans while there is room. */
static void pump(struct qb_media *m)
{
    while (m->queue && m->running < RUNNING_MAX) {
        struct job *j = m->queue;
        m->queue = j->next;
        if (!m->queue)
            m->queue_tail = NULL;
        m->queued--;
        j->next = m->jobs;
        m->jobs = j;
        m->running++;
        job_start(j);
    }
}

static void answer(struct job *j)
{
    qb_log(QB_LOG_DEBUG, "QR scan of %s: %s%s%s", j->url, qb_strerror(j->rc), j->why ? ": " : "",
           j->why ? j->why : "");
    j->cb(j->ctx, j->rc, j->rc == QB_OK ? j->payload : NULL, j->ud);
}

static void answer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct job *j = w->data;
    struct qb_media *m = j->m;
    unlink_job(m, j);
    answer(j);
    job_free(j);
    pump(m);
}

/* The scan is decided: free its resources now and answer on the next loop iteration. */
static void job_end(struct job *j, int rc, const char *why)
{
    if (j->state == JOB_DONE)
        return;
    job_release(j);
    j->state = JOB_DONE;
    j->rc = rc;
    j->why = why;
    j->m->stats.last_bytes = j->got;
    struct ev_loop *loop = j->m->b->loop;
    ev_set_cb(&j->timer, answer_cb);
    ev_timer_set(&j->timer, 0., 0.);
    ev_timer_start(loop, &j->timer);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void arm_deadline(struct job *j, double secs)
{
    struct ev_loop *loop = j->m->b->loop;
    ev_now_update(loop); /* the loop's clock may be stale after slow work in this iteration */
    ev_timer_stop(loop, &j->timer);
    ev_set_cb(&j->timer, deadline_cb);
    ev_timer_set(&j->timer, secs, 0.);
    ev_timer_start(loop, &j->timer);
}

/* ---- decoding ---- */

/* zbarimg's verdict: 0 with text = found, 0 without or 4 = none, anything else = failed. */
static void decode_done(void *ud, const struct qb_proc_result *r)
{
    struct job *j = ud;
    j->proc = NULL; /* proc.c frees it after this returns */
    if (r->timed_out) {
        job_end(j, QB_ETIMEDOUT, "the decoder took too long and was stopped");
        return;
    }
    if (r->status < 0 && r->status != QB_PROC_LOST) {
        qb_log(QB_LOG_WARN,
               "the QR decoder stopped on a picture (signal %d); the bot is not affected",
               -r->status);
        job_end(j, QB_EFAILED, "the decoder crashed");
        return;
    }
    /* reaped elsewhere (SIGCHLD ignored): judge by the output */
    int code = r->status == QB_PROC_LOST ? (r->len ? 0 : 1) : r->status;
    if (code == 0 && r->len) {
        memcpy(j->payload, r->out, r->len);
        j->plen = r->len;
        j->payload[j->plen] = '\0';
        for (size_t i = 0; i < j->plen; i++)
            if (j->payload[i] == '\0')
                j->payload[i] = '?';
        qb_utf8_sanitize(j->payload, j->plen);
        job_end(j, QB_OK, NULL);
    } else if (code == 0 || code == ZBARIMG_NOT_FOUND) {
        job_end(j, QB_ENOENT, "no QR code in the picture");
    } else {
        job_end(j, QB_EFAILED, "the decoder could not read the picture");
    }
}

static void start_decode(struct job *j)
{
    struct qb_bot *b = j->m->b;
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    ev_timer_stop(b->loop, &j->timer); /* the download deadline; proc.c keeps the decode one */
    const char *coder = coder_for(j->head, j->headlen);
    if (!coder) {
        job_end(j, QB_EFAILED, "the download is not a PNG, JPEG, GIF, WebP or BMP picture");
        return;
    }
    char prog[4096];
    if (!find_decoder(b, prog, sizeof prog)) {
        job_end(j, QB_ENOTSUP, "the decoder disappeared");
        return;
    }
    char target[4200];
    snprintf(target, sizeof target, "%s:%s", coder, j->path);
    char *argv[] = {prog,        "--raw",           "--quiet", "--nodbus", "--oneshot",
                    "-Sdisable", "-Sqrcode.enable", target,    NULL};
    struct qb_proc_opts o = {
            .timeout_s = lim_decode_s(b),
            .max_out = QB_QR_PAYLOAD_MAX,
            .mem_limit = CHILD_MEM_LIMIT,
            .cpu_s = CHILD_CPU_S,
    };
    int rc = qb_proc_start(b->loop, argv, &o, decode_done, j, &j->proc);
    if (rc == QB_ENOENT) {
        job_end(j, QB_ENOTSUP, "the decoder disappeared");
        return;
    }
    if (rc != QB_OK) {
        job_end(j, QB_EIO, "could not start the decoder");
        return;
    }
    j->state = JOB_DECODE;
    j->m->stats.decodes++;
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct job *j = w->data;
    if (j->state == JOB_FETCH)
        job_end(j, QB_ETIMEDOUT, "the download took too long");
}

/* ---- downloading ---- */

static int open_temp(struct job *j)
{
    const char *dir = getenv("TMPDIR");
    if (qb_str_empty(dir))
        dir = "/tmp";
    size_t n = strlen(dir) + 32;
    j->path = malloc(n);
    if (!j->path)
        return QB_ENOMEM;
    snprintf(j->path, n, "%s/qunbot-media-XXXXXX", dir);
    j->fd = mkostemp(j->path, O_CLOEXEC);
    if (j->fd < 0) {
        free(j->path);
        j->path = NULL;
        return QB_EIO;
    }
    fchmod(j->fd, 0600);
    return QB_OK;
}

/* Split an http(s) URL; buf receives the pieces. */
static int split_url(const char *url, char *buf, size_t n, const char **host, int *port, char *path,
                     size_t pathlen, bool *https)
{
    const char *prot, *rest;
    qb_strlcpy(buf, url, n);
    if (lws_parse_uri(buf, &prot, host, port, &rest))
        return QB_EINVAL;
    if (strcasecmp(prot, "http") && strcasecmp(prot, "https"))
        return QB_EINVAL;
    if (!**host || strchr(*host, '@'))
        return QB_EINVAL;
    *https = !strcasecmp(prot, "https");
    snprintf(path, pathlen, "/%s", rest);
    return QB_OK;
}

static void connect_job(struct job *j)
{
    struct qb_bot *b = j->m->b;
    char buf[URL_MAX], path[URL_MAX + 2];
    const char *host;
    int port;
    if (split_url(j->url, buf, sizeof buf, &host, &port, path, sizeof path, &j->https)) {
        job_end(j, QB_EINVAL, "the address is not a valid http(s) URL");
        return;
    }
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = b->lws;
    i.vhost = b->client_vh; /* the system CAs */
    i.address = host;
    i.port = port;
    i.path = path;
    i.host = host;
    i.method = "GET";
    i.alpn = "http/1.1";
    i.local_protocol_name = QB_MEDIA_PROTOCOL;
    i.opaque_user_data = j;
    if (j->https)
        i.ssl_connection = LCCSCF_USE_SSL;
    struct lws *wsi = lws_client_connect_via_info(&i);
    if (j->state != JOB_FETCH)
        return; /* a callback during the call already decided it */
    if (!wsi)
        job_end(j, QB_EIO, "could not start the download");
    else
        j->wsi = wsi;
}

static void job_start(struct job *j)
{
    struct qb_media *m = j->m;
    struct qb_bot *b = m->b;
    char prog[4096];
    j->state = JOB_FETCH;
    if (!find_decoder(b, prog, sizeof prog)) {
        if (!m->warned_missing)
            qb_log(QB_LOG_WARN, "QR scanning is off: install zbar-tools");
        m->warned_missing = true;
        job_end(j, QB_ENOTSUP, "zbarimg is not installed");
        return;
    }
    m->warned_missing = false;
    if (!b->lws || !b->client_vh) {
        job_end(j, QB_EIO, "the network is not running");
        return;
    }
    int rc = open_temp(j);
    if (rc != QB_OK) {
        job_end(j, rc, "could not create a temporary file");
        return;
    }
    m->stats.downloads++;
    arm_deadline(j, lim_fetch_s(b));
    connect_job(j);
}

static int on_redirect(struct job *j, const char *location)
{
    if (++j->redirects > REDIRECTS_MAX) {
        job_end(j, QB_EFAILED, "too many redirects");
        return -1;
    }
    bool absolute = strstr(location, "://") != NULL;
    if (absolute && strncasecmp(location, "https://", 8) && strncasecmp(location, "http://", 7)) {
        job_end(j, QB_EFAILED, "redirected to an address that is not http(s)");
        return -1;
    }
    if (absolute && j->https && strncasecmp(location, "https://", 8)) {
        job_end(j, QB_EFAILED, "redirected from https to plain http");
        return -1;
    }
    if (absolute)
        j->https = !strncasecmp(location, "https://", 8);
    return 0;
}

static int on_response(struct job *j, struct lws *wsi)
{
    unsigned status = lws_http_client_http_response(wsi);
    if (status != 200) {
        job_end(j, QB_EFAILED, "the server did not answer 200 OK");
        return -1;
    }
    char cl[32];
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        strtoll(cl, NULL, 10) > lim_bytes(j->m->b)) {
        job_end(j, QB_ETOOBIG, "the server announced a picture over the size limit");
        return -1;
    }
    return 0;
}

static int on_body(struct job *j, const char *data, size_t len)
{
    if (j->got + (int64_t)len > lim_bytes(j->m->b)) {
        job_end(j, QB_ETOOBIG, "the picture is over the size limit");
        return -1;
    }
    if (j->headlen < sizeof j->head) {
        size_t take = sizeof j->head - j->headlen;
        take = take < len ? take : len;
        memcpy(j->head + j->headlen, data, take);
        j->headlen += take;
    }
    while (len) {
        ssize_t w = write(j->fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            job_end(j, QB_EIO, "could not write the temporary file (disk full?)");
            return -1;
        }
        data += w;
        len -= (size_t)w;
        j->got += w;
    }
    return 0;
}

static int on_complete(struct job *j)
{
    detach_wsi(j);
    start_decode(j);
    return -1; /* close the connection: it is not reused */
}

static int read_body(struct lws *wsi)
{
    char buf[LWS_PRE + 16384];
    char *p = buf + LWS_PRE;
    int n = (int)sizeof buf - LWS_PRE;
    return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
}

static int add_headers(struct lws *wsi, void *in, size_t len)
{
    unsigned char **p = in, *end = *p + len;
    static const char ua[] = "qunbot/" QB_VERSION;
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT, (const unsigned char *)ua,
                                     (int)strlen(ua), p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ACCEPT, (const unsigned char *)"image/*",
                                     7, p, end))
        return -1;
    return 0;
}

int qb_media_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    (void)user;
    struct job *j = lws_get_opaque_user_data(wsi);
    if (j && j->state != JOB_FETCH)
        j = NULL;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_HTTP:
        return 1; /* downloads only: never serve anything on this protocol */
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return j ? add_headers(wsi, in, len) : -1;
    case LWS_CALLBACK_CLIENT_HTTP_REDIRECT:
        return j ? on_redirect(j, in ? (const char *)in : "") : -1;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        return j ? on_response(j, wsi) : -1;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
        return j ? read_body(wsi) : -1;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        return j ? on_body(j, in, len) : -1;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        return j ? on_complete(j) : -1;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (j) {
            j->wsi = NULL;
            lws_set_opaque_user_data(wsi, NULL);
            job_end(j, QB_EIO, "could not connect (address, DNS or TLS certificate)");
        }
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_WSI_DESTROY:
        if (j) {
            j->wsi = NULL;
            lws_set_opaque_user_data(wsi, NULL);
            job_end(j, QB_EIO, "the connection closed before the picture was complete");
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- the API ---- */

static bool url_ok(const char *url)
{
    if (!url || strlen(url) >= URL_MAX)
        return false;
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    char buf[URL_MAX], path[URL_MAX + 2];
    const char *host;
    int port;
    bool https;
    return split_url(url, buf, sizeof buf, &host, &port, path, sizeof path, &https) == QB_OK;
}

static struct qb_media *media_of(struct qb_bot *b)
{
    if (!b->media) {
        b->media = calloc(1, sizeof *b->media);
        if (b->media)
            b->media->b = b;
    }
    return b->media;
}

int qb_qr_scan(struct qb_ctx *c, const char *url, qb_qr_cb cb, void *ud)
{
    if (!c || !c->bot || !cb || !url_ok(url))
        return QB_EINVAL;
    struct qb_bot *b = c->bot;
    if (b->stopping)
        return QB_EDISCONNECTED;
    struct qb_media *m = media_of(b);
    if (!m)
        return QB_ENOMEM;
    if (m->running >= RUNNING_MAX && m->queued >= QUEUE_MAX)
        return QB_ERATE;
    struct job *j = calloc(1, sizeof *j);
    if (!j || !(j->url = strdup(url))) {
        free(j);
        return QB_ENOMEM;
    }
    j->m = m;
    j->ctx = c;
    j->cb = cb;
    j->ud = ud;
    j->fd = -1;
    ev_init(&j->timer, deadline_cb);
    j->timer.data = j;
    j->state = JOB_QUEUED;
    if (m->queue_tail)
        m->queue_tail->next = j;
    else
        m->queue = j;
    m->queue_tail = j;
    m->queued++;
    pump(m);
    return QB_OK;
}

void qb_media_get_stats(struct qb_bot *b, struct qb_media_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!b->media)
        return;
    *st = b->media->stats;
    st->running = b->media->running;
    st->queued = b->media->queued;
}

void qb_media_shutdown(struct qb_bot *b)
{
    struct qb_media *m = b->media;
    if (!m)
        return;
    b->media = NULL;
    /* a callback below may not start new scans: b->stopping is set, or media is gone */
    struct job *lists[2] = {m->jobs, m->queue};
    m->jobs = m->queue = m->queue_tail = NULL;
    for (int l = 0; l < 2; l++) {
        while (lists[l]) {
            struct job *j = lists[l];
            lists[l] = j->next;
            if (j->state != JOB_DONE) {
                job_release(j);
                j->rc = QB_EDISCONNECTED;
                j->why = "the bot is stopping";
            }
            ev_timer_stop(b->loop, &j->timer);
            answer(j);
            job_free(j);
        }
    }
    free(m);
}
