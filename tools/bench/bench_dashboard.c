/*
 * bench_dashboard.c — qunbot-bench-dashboard: how fast the dashboard API answers for a big
 * group, and how long the bot's loop stalls meanwhile. Starts the bot core in this process
 * (http on a free port, the simulator as its platform) reading an existing
 * qunbot-bench-insight database, then asks over plain sockets driven by the same loop: the
 * first (cold) answers (a fresh `qunbot dashboard-answer` worker each: exec, opening the
 * database, computing), warm answers (median and max of N), and the loop's longest stall
 * (an ev_timer every 10 ms records its largest lateness) while cold answers are computed.
 *   qunbot-bench-dashboard [--db PATH] [--requests N]
 * Not a test: it asserts nothing. Results go to docs/BENCHMARKS.md "Dashboard API".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "http/http.h"
#include "sim.h"

#define NOW_MS  1795392000000LL /* the "now" qunbot-bench-insight builds its data around */
#define TOKEN   "bench-token"
#define GROUP   "100"
#define MEMBER  "100007"
#define TICK_S  0.010
#define MAX_REQ 1000

struct bench {
    struct ev_loop *loop;
    struct qb_sim *sim;
    struct qb_bot *bot;
    char dir[64];
    ev_timer tick;
    double tick_due, max_late;
};

/* ---- the loop's stall meter ---- */

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct bench *B = w->data;
    double now = ev_time(), late = now - B->tick_due;
    if (late > B->max_late)
        B->max_late = late;
    B->tick_due = now + TICK_S;
}

static void stall_reset(struct bench *B)
{
    B->max_late = 0;
    B->tick_due = ev_time() + TICK_S;
    ev_timer_stop(B->loop, &B->tick);
    ev_timer_set(&B->tick, TICK_S, TICK_S);
    ev_timer_start(B->loop, &B->tick);
}

/* ---- a request over a socket on the loop ---- */

struct req {
    int fd;
    struct qb_buf in;
    bool done;
    int status;
};

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct req *r = w->data;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(r->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            qb_buf_append(&r->in, buf, (size_t)n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            r->done = true;
        break;
    }
    const char *end = r->in.p ? strstr(r->in.p, "\r\n\r\n") : NULL;
    const char *cl = end ? strcasestr(r->in.p, "\r\ncontent-length:") : NULL;
    if (cl && cl < end &&
        r->in.len >= (size_t)(end + 4 - r->in.p) + (size_t)strtoull(cl + 17, NULL, 10))
        r->done = true;
}

/* GET target; seconds until the whole answer was in (negative on failure). */
static double get(struct bench *B, const char *target, int *status)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)B->bot->http_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " TOKEN
                     "\r\n\r\n",
                     target);
    double t0 = ev_time();
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, req, (size_t)n, 0) != n) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct req r = {.fd = fd};
    qb_buf_init(&r.in);
    ev_io io;
    ev_io_init(&io, io_cb, fd, EV_READ);
    io.data = &r;
    ev_io_start(B->loop, &io);
    while (!r.done && ev_time() - t0 < 60)
        ev_run(B->loop, EVRUN_ONCE);
    double took = ev_time() - t0;
    ev_io_stop(B->loop, &io);
    close(fd);
    *status = -1;
    if (!r.in.p || sscanf(r.in.p, "HTTP/1.%*d %d", status) != 1)
        took = -1;
    qb_buf_free(&r.in);
    return r.done ? took : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- the bot ---- */

static struct qb_config *write_config(struct bench *B)
{
    char path[128], json[1024];
    snprintf(path, sizeof path, "%s/qunbot.json", B->dir);
    snprintf(json, sizeof json,
             "{\"accounts\":[{\"name\":\"bench\",\"url\":\"ws://127.0.0.1:%d\",\"token\":\"b\"}],"
             "\"storage\":{\"path\":\"%s/bot.db\"},\"rules_dir\":\"rules\",\"log_level\":\"warn\","
             "\"timezone\":\"Asia/Shanghai\","
             "\"http\":{\"enabled\":true,\"port\":0,\"token\":\"" TOKEN "\"}}",
             qb_sim_port(B->sim), B->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(json, f);
    fclose(f);
    struct qb_config *cfg = NULL;
    struct qb_diag d = {0};
    if (qb_config_load(path, &cfg, &d) != QB_OK)
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.v[i]);
    qb_diag_free(&d);
    return cfg;
}

static const char *const targets[] = {
        "/api/groups",
        "/api/groups/" GROUP "/report?since=90d",
        "/api/groups/" GROUP "/report?since=30d",
        "/api/groups/" GROUP "/report?since=7d",
        "/api/groups/" GROUP "/members?since=30d",
        "/api/groups/" GROUP "/members/" MEMBER "?since=30d",
};

int main(int argc, char **argv)
{
    const char *db = "/tmp/qunbot-bench-insight.db";
    int nreq = 50;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--db"))
            db = argv[i + 1];
        else if (!strcmp(argv[i], "--requests"))
            nreq = atoi(argv[i + 1]);
    }
    if (nreq < 1 || nreq > MAX_REQ)
        nreq = 50;
    struct stat sb;
    if (stat(db, &sb) != 0) {
        fprintf(stderr,
                "qunbot-bench-dashboard: %s does not exist: build it first with "
                "./build-rel/qunbot-bench-insight (or pass --db PATH)\n",
                db);
        return 2;
    }
    struct bench B;
    memset(&B, 0, sizeof B);
    snprintf(B.dir, sizeof B.dir, "/tmp/qunbot-benchdash-XXXXXX");
    if (!mkdtemp(B.dir))
        return 1;
    qb_log_set_level(QB_LOG_WARN);
    qb_clock_fake(NOW_MS);                 /* the periods end where the bench data ends */
    B.loop = ev_default_loop(EVFLAG_AUTO); /* as in qunbot: workers reaped by ev_child */
    char err[300] = "";
    B.sim = qb_sim_new(&(struct qb_sim_opts){.loop = B.loop, .port = 0, .token = "b"}, err,
                       sizeof err);
    struct qb_config *cfg = B.sim ? write_config(&B) : NULL;
    B.bot = cfg ? qb_bot_new(B.loop, cfg, err, sizeof err) : NULL;
    if (B.bot)
        B.bot->dashboard_exe = QB_QUNBOT_EXE; /* this program links the core: run the real one */
    if (!B.bot || qb_bot_start(B.bot, err, sizeof err) != QB_OK || !B.bot->http) {
        fprintf(stderr, "bot: %s\n", err);
        return 1;
    }
    /* read the bench database; forget what the warm-up computed from the bot's own */
    qb_http_work_stop(B.bot->http);
    memset(&B.bot->http->stats, 0, sizeof B.bot->http->stats);
    B.bot->http->db_path = db;
    ev_init(&B.tick, tick_cb);
    B.tick.data = &B;

    size_t nt = sizeof targets / sizeof targets[0];
    double cold[8], cold_stall[8], med[8], max[8];
    int st = 0;
    for (size_t i = 0; i < nt; i++) {
        stall_reset(&B);
        cold[i] = get(&B, targets[i], &st);
        cold_stall[i] = B.max_late;
        if (st != 200)
            fprintf(stderr, "%s: status %d\n", targets[i], st);
    }
    static double t[MAX_REQ];
    for (size_t i = 0; i < nt; i++) {
        for (int k = 0; k < nreq; k++)
            t[k] = get(&B, targets[i], &st);
        qsort(t, (size_t)nreq, sizeof t[0], cmp_double);
        med[i] = t[nreq / 2];
        max[i] = t[nreq - 1];
    }
    /* what the loop would have stalled for when the answer was computed on it */
    struct qb_http_resp r;
    memset(&r, 0, sizeof r);
    double t0 = ev_time();
    qb_http_api(B.bot->http, "/api/groups/" GROUP "/report", "90d", NOW_MS, &r);
    double inline_s = ev_time() - t0;
    qb_http_resp_clear(&r);

    printf("| request | cold | loop's longest stall meanwhile | warm median (%d) | warm max |\n"
           "|---|---|---|---|---|\n",
           nreq);
    for (size_t i = 0; i < nt; i++)
        printf("| `%s` | %.0f ms | %.1f ms | %.2f ms | %.2f ms |\n", targets[i], cold[i] * 1e3,
               cold_stall[i] * 1e3, med[i] * 1e3, max[i] * 1e3);
    printf("\nworkers started: %llu; the 90-day report computed on the loop instead: %.0f ms\n",
           (unsigned long long)B.bot->http->stats.workers_started, inline_s * 1e3);
    qb_bot_free(B.bot);
    qb_sim_free(B.sim);
    return 0;
}
