/*
 * test_media.c — QR codes inside pictures (qb_qr_scan) end to end: the real core
 * downloads from qunbot-sim's /media/ server and decodes with the installed zbarimg.
 * Covers payloads from PNG and JPEG, pictures without a code, size and time limits,
 * HTTP errors, redirects, TLS verification, queueing, refusals, hostile files and
 * decoders (crash, hang, flood), a missing decoder, and answers at shutdown.
 * Runs with the repo root as working directory (pictures in tests/fixtures/media).
 * Needs zbarimg (package zbar-tools, installed by tools/dev.sh): without it, it fails.
 * link: qb_core qb_sim
 */
#include <dirent.h>
#include <signal.h>

#include "harness.h"
#include "media.h"
#include "test.h"

#define MEDIA_DIR "tests/fixtures/media"
#define WECHAT    "https://u.wechat.com/abc"

/* ---- a plugin whose context the scans run under ---- */

struct order {
    int next;     /* ticket counter */
    int shutdown; /* ticket taken by the plugin's shutdown */
};
static struct order order;

static void scanner_shutdown(struct qb_ctx *c)
{
    (void)c;
    order.shutdown = ++order.next;
}

static const struct qb_plugin scanner = {
        .abi = QB_PLUGIN_ABI,
        .name = "scanner",
        .version = "1",
        .priority = 10,
        .shutdown = scanner_shutdown,
};
static const struct qb_plugin *const test_plugins[] = {&scanner, NULL};

/* ---- fixture ---- */

struct fx {
    struct ev_loop *loop;
    struct qb_sim *sim;
    struct qb_bot *bot;
    struct qb_ctx *ctx; /* the scanner plugin's */
    char dir[64];
};

static void fx_start_on(struct fx *f, struct ev_loop *loop, const struct qb_sim_opts *extra)
{
    memset(f, 0, sizeof *f);
    f->loop = loop;
    h_tmpdir(f->dir, sizeof f->dir);
    h_log_reset();
    char rules[128], err[300] = "";
    snprintf(rules, sizeof rules, "%s/rules", f->dir);
    mkdir(rules, 0700);
    struct qb_sim_opts o = {.port = 0, .token = "k"};
    if (extra)
        o = *extra;
    o.loop = f->loop;
    o.media_dir = MEDIA_DIR;
    f->sim = qb_sim_new(&o, err, sizeof err);
    if (!f->sim) {
        fprintf(stderr, "sim: %s\n", err);
        abort();
    }
    char json[1024];
    snprintf(json, sizeof json,
             "{\"accounts\":[{\"url\":\"ws://127.0.0.1:%d\",\"token\":\"k\"}],"
             "\"storage\":{\"path\":\"%s/qunbot.db\"},\"rules_dir\":\"rules\"}",
             qb_sim_port(f->sim), f->dir);
    f->bot = qb_bot_new(f->loop, h_config(f->dir, json), err, sizeof err);
    f->bot->plugin_source = test_plugins;
    if (qb_bot_start(f->bot, err, sizeof err) != QB_OK) {
        fprintf(stderr, "bot: %s\n", err);
        abort();
    }
    f->ctx = &f->bot->plugins[0];
}

/* The default loop, like bin/qunbot: decoders are reaped by libev's child watchers. */
static void fx_start(struct fx *f)
{
    fx_start_on(f, ev_default_loop(0), NULL);
}

static void fx_done(struct fx *f)
{
    qb_bot_free(f->bot);
    qb_sim_free(f->sim);
    ev_run(f->loop, EVRUN_NOWAIT);
    ev_loop_destroy(f->loop);
    qb_log_set_capture(NULL, NULL);
}

static const char *media_url(struct fx *f, const char *path)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d/media/%s", qb_sim_port(f->sim), path);
    return buf;
}

/* ---- answers ---- */

struct answer {
    struct qb_ctx *ctx;
    int rc, calls, ticket;
    char payload[QB_QR_PAYLOAD_MAX + 8];
    size_t len;
    double at;
};

static void on_qr(struct qb_ctx *c, int rc, const char *payload, void *ud)
{
    struct answer *a = ud;
    a->ctx = c;
    a->rc = rc;
    a->calls++;
    a->ticket = ++order.next;
    a->at = ev_time();
    a->len = payload ? strlen(payload) : 0;
    qb_strlcpy(a->payload, payload ? payload : "(null)", sizeof a->payload);
}

static bool answered(void *ud)
{
    return ((struct answer *)ud)->calls > 0;
}

/* Scan one URL and wait for the answer (up to secs). */
static struct answer scan(struct fx *f, const char *url, double secs)
{
    struct answer a = {.rc = 1};
    CHECK_INT(qb_qr_scan(f->ctx, url, on_qr, &a), QB_OK);
    CHECK(a.calls == 0); /* never answered inside the call */
    CHECK(h_run_until(f->loop, answered, &a, secs));
    CHECK(a.ctx == f->ctx);
    return a;
}

static void write_script(struct fx *f, char *path, size_t n, const char *body)
{
    snprintf(path, n, "%s/fake-zbarimg", f->dir);
    h_write(path, "#!/bin/sh\n%s\n", body);
    chmod(path, 0700);
}

static bool zbarimg_installed(void)
{
    return system("command -v zbarimg >/dev/null 2>&1") == 0;
}

/* ---- tests ---- */

TEST(decoder_is_installed)
{
    if (!zbarimg_installed())
        fprintf(stderr, "zbarimg is not installed: QR scanning cannot be tested. Install the "
                        "package zbar-tools (tools/dev.sh test does it).\n");
    CHECK(zbarimg_installed());
}

TEST(png_with_qr_code_gives_its_text)
{
    struct fx f;
    fx_start(&f);
    struct answer a = scan(&f, media_url(&f, "qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_OK);
    CHECK_STR(a.payload, WECHAT);
    CHECK_INT(a.calls, 1);
    h_run_for(f.loop, 0.1);
    CHECK_INT(a.calls, 1); /* exactly once */
    fx_done(&f);
}

TEST(jpeg_with_qr_code_gives_its_text)
{
    struct fx f;
    fx_start(&f);
    struct answer a = scan(&f, media_url(&f, "qr-wechat.jpg"), 10);
    CHECK_INT(a.rc, QB_OK);
    CHECK_STR(a.payload, WECHAT);
    fx_done(&f);
}

TEST(photo_without_qr_code_gives_enoent)
{
    struct fx f;
    fx_start(&f);
    struct answer a = scan(&f, media_url(&f, "photo.jpg"), 10);
    CHECK_INT(a.rc, QB_ENOENT);
    CHECK_STR(a.payload, "(null)");
    fx_done(&f);
}

TEST(big_download_is_stopped_early)
{
    struct fx f;
    fx_start(&f);
    struct qb_media_stats st;
    /* announced 6 MiB: refused on the headers, nothing kept */
    struct answer a = scan(&f, media_url(&f, "big"), 10);
    CHECK_INT(a.rc, QB_ETOOBIG);
    qb_media_get_stats(f.bot, &st);
    CHECK_INT(st.last_bytes, 0);
    /* no length announced: stopped at the 5 MiB limit, not after 6 MiB */
    a = scan(&f, media_url(&f, "big/chunked"), 10);
    CHECK_INT(a.rc, QB_ETOOBIG);
    qb_media_get_stats(f.bot, &st);
    CHECK(st.last_bytes > 0 && st.last_bytes <= 5 * 1024 * 1024);
    CHECK_INT(st.decodes, 0);
    /* a lower limit applies to ordinary pictures too (qr-wechat.png is 9 KB) */
    f.bot->media_limits.max_bytes = 4096;
    a = scan(&f, media_url(&f, "qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_ETOOBIG);
    fx_done(&f);
}

/* The scan's temporary file in dir ("" if none); its mode in *mode. */
static const char *temp_file(const char *dir, char *path, size_t n, mode_t *mode)
{
    path[0] = '\0';
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strncmp(e->d_name, "qunbot-media-", 13)) {
            struct stat st;
            int len = snprintf(path, n, "%s/%s", dir, e->d_name);
            *mode = len > 0 && (size_t)len < n && stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
        }
    }
    if (d)
        closedir(d);
    return path;
}

TEST(slow_download_times_out)
{
    struct fx f;
    fx_start(&f);
    f.bot->media_limits.fetch_timeout_ms = 400;
    char *old_tmp = qb_strdup(getenv("TMPDIR")), path[256];
    setenv("TMPDIR", f.dir, 1);
    double t0 = ev_time();
    struct answer a = {.rc = 1};
    mode_t mode = 0;
    CHECK_INT(qb_qr_scan(f.ctx, media_url(&f, "slow/qr-wechat.png"), on_qr, &a), QB_OK);
    h_run_for(f.loop, 0.15);
    /* the download goes to a private temporary file ... */
    CHECK(*temp_file(f.dir, path, sizeof path, &mode));
    CHECK_INT(mode, 0600);
    CHECK(h_run_until(f.loop, answered, &a, 5));
    CHECK_INT(a.rc, QB_ETIMEDOUT);
    /* ... that is gone once the scan has ended */
    CHECK_STR(temp_file(f.dir, path, sizeof path, &mode), "");
    if (old_tmp)
        setenv("TMPDIR", old_tmp, 1);
    else
        unsetenv("TMPDIR");
    free(old_tmp);
    CHECK(a.at - t0 >= 0.35);
    CHECK(a.at - t0 < 3);
    /* the next scan is unaffected */
    a = scan(&f, media_url(&f, "qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_OK);
    fx_done(&f);
}

TEST(missing_picture_gives_efailed)
{
    struct fx f;
    fx_start(&f);
    struct answer a = scan(&f, media_url(&f, "nope.png"), 10);
    CHECK_INT(a.rc, QB_EFAILED);
    CHECK_INT(qb_sim_media_requests(f.sim), 1);
    fx_done(&f);
}

TEST(unreachable_server_gives_eio)
{
    struct fx f;
    fx_start(&f);
    /* port 1 on localhost: nothing listens there */
    struct answer a = scan(&f, "http://127.0.0.1:1/media/qr-wechat.png", 10);
    CHECK_INT(a.rc, QB_EIO);
    fx_done(&f);
}

TEST(redirects_are_followed_up_to_three)
{
    struct fx f;
    fx_start(&f);
    struct answer a = scan(&f, media_url(&f, "redirect/qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_OK);
    CHECK_STR(a.payload, WECHAT);
    int before = qb_sim_media_requests(f.sim);
    a = scan(&f, media_url(&f, "redirect-loop"), 10);
    CHECK_INT(a.rc, QB_EFAILED);
    CHECK_INT(qb_sim_media_requests(f.sim) - before, 4); /* the first request + 3 redirects */
    fx_done(&f);
}

TEST(urls_that_are_not_http_are_refused_at_once)
{
    struct fx f;
    fx_start(&f);
    struct answer a = {0};
    const char *bad[] = {"ftp://127.0.0.1/x.png",
                         "file:///etc/passwd",
                         "javascript:alert(1)",
                         "",
                         "http://",
                         "http://exa mple.com/x.png",
                         "base64://iVBORw0KGgo=",
                         "127.0.0.1/media/qr-wechat.png"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(qb_qr_scan(f.ctx, bad[i], on_qr, &a), QB_EINVAL);
    CHECK_INT(qb_qr_scan(f.ctx, NULL, on_qr, &a), QB_EINVAL);
    CHECK_INT(qb_qr_scan(f.ctx, media_url(&f, "qr-wechat.png"), NULL, NULL), QB_EINVAL);
    h_run_for(f.loop, 0.2);
    CHECK_INT(a.calls, 0);
    CHECK_INT(qb_sim_media_requests(f.sim), 0);
    fx_done(&f);
}

static bool all_answered(void *ud)
{
    struct answer *a = ud;
    for (int i = 0; i < 5; i++)
        if (!a[i].calls)
            return false;
    return true;
}

TEST(five_scans_at_once_all_complete)
{
    struct fx f;
    fx_start(&f);
    struct answer a[5];
    memset(a, 0, sizeof a);
    const char *names[] = {"qr-wechat.png", "qr-wechat.jpg", "photo.jpg", "qr-wechat.png",
                           "qr-wechat.jpg"};
    for (int i = 0; i < 5; i++)
        CHECK_INT(qb_qr_scan(f.ctx, media_url(&f, names[i]), on_qr, &a[i]), QB_OK);
    struct qb_media_stats st;
    qb_media_get_stats(f.bot, &st);
    CHECK_INT(st.running, 4); /* four at a time, the fifth waits */
    CHECK_INT(st.queued, 1);
    CHECK(h_run_until(f.loop, all_answered, a, 20));
    for (int i = 0; i < 5; i++) {
        CHECK_INT(a[i].calls, 1);
        CHECK_INT(a[i].rc, i == 2 ? QB_ENOENT : QB_OK);
        if (i != 2)
            CHECK_STR(a[i].payload, WECHAT);
    }
    qb_media_get_stats(f.bot, &st);
    CHECK_INT(st.running, 0);
    CHECK_INT(st.queued, 0);
    fx_done(&f);
}

static bool connected(void *ud)
{
    struct fx *f = ud;
    return qb_account_connected(&f->bot->accounts[0]);
}

TEST(garbage_pictures_do_not_hurt_the_bot)
{
    struct fx f;
    fx_start(&f);
    CHECK(h_run_until(f.loop, connected, &f, 5));
    struct qb_media_stats st;
    /* random bytes named .png: not a picture, never shown to the decoder */
    struct answer a = scan(&f, media_url(&f, "garbage.png"), 10);
    CHECK_INT(a.rc, QB_EFAILED);
    qb_media_get_stats(f.bot, &st);
    CHECK_INT(st.decodes, 0);
    /* a PNG signature followed by junk: the decoder runs and finds nothing it can read */
    a = scan(&f, media_url(&f, "broken.png"), 10);
    CHECK(a.rc == QB_ENOENT || a.rc == QB_EFAILED);
    qb_media_get_stats(f.bot, &st);
    CHECK_INT(st.decodes, 1);
    /* the bot goes on: scans still work and the account is still connected */
    a = scan(&f, media_url(&f, "qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_OK);
    CHECK(qb_account_connected(&f.bot->accounts[0]));
    fx_done(&f);
}

TEST(crashing_decoder_is_contained)
{
    struct fx f;
    fx_start(&f);
    char prog[128];
    write_script(&f, prog, sizeof prog, "kill -SEGV $$");
    f.bot->media_limits.decoder = prog;
    struct answer a = scan(&f, media_url(&f, "qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_EFAILED);
    CHECK(h_logged("the QR decoder stopped on a picture (signal 11)"));
    fx_done(&f);
}

TEST(hanging_decoder_is_killed)
{
    struct fx f;
    fx_start(&f);
    char prog[128];
    /* a child of the script keeps stdout open: the whole process group must go */
    write_script(&f, prog, sizeof prog, "sleep 30; echo late");
    f.bot->media_limits.decoder = prog;
    f.bot->media_limits.decode_timeout_ms = 300;
    double t0 = ev_time();
    struct answer a = scan(&f, media_url(&f, "qr-wechat.png"), 5);
    CHECK_INT(a.rc, QB_ETIMEDOUT);
    CHECK(a.at - t0 < 3);
    fx_done(&f);
}

TEST(long_payload_is_cut_at_4_kib)
{
    struct fx f;
    fx_start(&f);
    char prog[128];
    write_script(&f, prog, sizeof prog, "head -c 10000 /dev/zero | tr '\\000' a");
    f.bot->media_limits.decoder = prog;
    struct answer a = scan(&f, media_url(&f, "qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_OK);
    CHECK_INT(a.len, QB_QR_PAYLOAD_MAX);
    CHECK(a.payload[0] == 'a' && a.payload[QB_QR_PAYLOAD_MAX - 1] == 'a');
    fx_done(&f);
}

TEST(missing_decoder_turns_scanning_off)
{
    struct fx f;
    fx_start(&f);
    f.bot->media_limits.decoder = "/nonexistent/zbarimg";
    struct answer a = scan(&f, media_url(&f, "qr-wechat.png"), 5);
    CHECK_INT(a.rc, QB_ENOTSUP);
    a = scan(&f, media_url(&f, "qr-wechat.png"), 5);
    CHECK_INT(a.rc, QB_ENOTSUP);
    CHECK(h_logged("QR scanning is off: install zbar-tools"));
    int warned = 0;
    for (int i = 0; i < h_log_buf.n && i < 400; i++)
        warned += strstr(h_log_buf.lines[i], "QR scanning is off") != NULL;
    CHECK_INT(warned, 1);                       /* said once, not per picture */
    CHECK_INT(qb_sim_media_requests(f.sim), 0); /* nothing downloaded for nothing */
    fx_done(&f);
}

static bool make_cert(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem "
             "-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             ">/dev/null 2>&1",
             dir, dir);
    return system(cmd) == 0;
}

TEST(https_certificates_are_verified)
{
    char dir[64], cert[128], key[128], url[256];
    h_tmpdir(dir, sizeof dir);
    CHECK(make_cert(dir));
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    struct fx f;
    struct qb_sim_opts o = {.port = 0, .token = "k", .tls_cert = cert, .tls_key = key};
    fx_start_on(&f, ev_default_loop(0), &o);
    /* self-signed, not in the system CAs: refused, never decoded */
    snprintf(url, sizeof url, "https://127.0.0.1:%d/media/qr-wechat.png", qb_sim_port(f.sim));
    struct answer a = scan(&f, url, 10);
    CHECK_INT(a.rc, QB_EIO);
    struct qb_media_stats st;
    qb_media_get_stats(f.bot, &st);
    CHECK_INT(st.decodes, 0);
    fx_done(&f);
}

TEST(works_on_a_loop_that_is_not_the_default)
{
    struct fx f;
    fx_start_on(&f, ev_loop_new(EVFLAG_AUTO), NULL);
    struct answer a = scan(&f, media_url(&f, "qr-wechat.png"), 10);
    CHECK_INT(a.rc, QB_OK);
    CHECK_STR(a.payload, WECHAT);
    a = scan(&f, media_url(&f, "photo.jpg"), 10);
    CHECK_INT(a.rc, QB_ENOENT);
    fx_done(&f);
}

TEST(full_queue_is_refused_and_shutdown_answers_everything)
{
    struct fx f;
    fx_start(&f);
    static struct answer a[69];
    memset(a, 0, sizeof a);
    memset(&order, 0, sizeof order);
    const char *url = media_url(&f, "slow/qr-wechat.png");
    for (int i = 0; i < 68; i++) /* 4 running + 64 waiting */
        CHECK_INT(qb_qr_scan(f.ctx, url, on_qr, &a[i]), QB_OK);
    CHECK_INT(qb_qr_scan(f.ctx, url, on_qr, &a[68]), QB_ERATE);
    h_run_for(f.loop, 0.2); /* the first four are downloading */
    struct qb_media_stats st;
    qb_media_get_stats(f.bot, &st);
    CHECK_INT(st.running, 4);
    CHECK_INT(st.queued, 64);
    qb_bot_free(f.bot);
    f.bot = NULL;
    for (int i = 0; i < 68; i++) {
        CHECK_INT(a[i].calls, 1);
        CHECK_INT(a[i].rc, QB_EDISCONNECTED);
        CHECK(a[i].ticket < order.shutdown); /* answered before the plugin stopped */
    }
    CHECK_INT(a[68].calls, 0);
    qb_sim_free(f.sim);
    ev_run(f.loop, EVRUN_NOWAIT);
    ev_loop_destroy(f.loop);
    qb_log_set_capture(NULL, NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(decoder_is_installed);
    RUN(png_with_qr_code_gives_its_text);
    RUN(jpeg_with_qr_code_gives_its_text);
    RUN(photo_without_qr_code_gives_enoent);
    RUN(big_download_is_stopped_early);
    RUN(slow_download_times_out);
    RUN(missing_picture_gives_efailed);
    RUN(unreachable_server_gives_eio);
    RUN(redirects_are_followed_up_to_three);
    RUN(urls_that_are_not_http_are_refused_at_once);
    RUN(five_scans_at_once_all_complete);
    RUN(garbage_pictures_do_not_hurt_the_bot);
    RUN(crashing_decoder_is_contained);
    RUN(hanging_decoder_is_killed);
    RUN(long_payload_is_cut_at_4_kib);
    RUN(missing_decoder_turns_scanning_off);
    RUN(https_certificates_are_verified);
    RUN(works_on_a_loop_that_is_not_the_default);
    RUN(full_queue_is_refused_and_shutdown_answers_everything);
    return test_done();
}
