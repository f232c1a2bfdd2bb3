/*
 * util.c — implementation of util.h: buffers, strings, UTF-8, secrets, durations,
 * the clock and the log sink. Pure helpers; the only state is the clock and log setup.
 */
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qunbot/qunbot.h>

void qb_buf_init(struct qb_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void qb_buf_free(struct qb_buf *b)
{
    free(b->p);
    qb_buf_init(b);
}

void qb_buf_reset(struct qb_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int buf_reserve(struct qb_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return QB_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return QB_ENOMEM;
    b->p = p;
    b->cap = cap;
    return QB_OK;
}

int qb_buf_append(struct qb_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != QB_OK)
        return QB_ENOMEM;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return QB_OK;
}

int qb_buf_puts(struct qb_buf *b, const char *s)
{
    return qb_buf_append(b, s, strlen(s));
}

int qb_buf_vprintf(struct qb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return QB_EINVAL;
    if (buf_reserve(b, (size_t)n) != QB_OK)
        return QB_ENOMEM;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return QB_OK;
}

int qb_buf_printf(struct qb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = qb_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *qb_buf_steal(struct qb_buf *b)
{
    char *p = b->p ? b->p : strdup("");
    qb_buf_init(b);
    return p;
}

char *qb_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *qb_strndup(const char *s, size_t n)
{
    return s ? strndup(s, n) : NULL;
}

size_t qb_strlcpy(char *dst, const char *src, size_t size)
{
    if (!size)
        return 0;
    size_t n = src ? strlen(src) : 0;
    if (n >= size) {
        n = size - 1;
        /* do not cut a UTF-8 sequence in half */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

void qb_id_set(char dst[QB_ID_MAX], const char *src)
{
    qb_strlcpy(dst, src ? src : "", QB_ID_MAX);
}

static size_t lead_space(const char *s)
{
    if (isspace((unsigned char)s[0]))
        return 1;
    if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x80)
        return 3; /* U+3000 ideographic space */
    return 0;
}

char *qb_trim(char *s)
{
    if (!s)
        return s;
    size_t skip = 0, k;
    while ((k = lead_space(s + skip)) > 0)
        skip += k;
    if (skip)
        memmove(s, s + skip, strlen(s + skip) + 1);
    size_t n = strlen(s);
    for (;;) {
        if (n && isspace((unsigned char)s[n - 1])) {
            n--;
        } else if (n >= 3 && (unsigned char)s[n - 3] == 0xE3 && (unsigned char)s[n - 2] == 0x80 &&
                   (unsigned char)s[n - 1] == 0x80) {
            n -= 3;
        } else {
            break;
        }
    }
    s[n] = '\0';
    return s;
}

bool qb_str_empty(const char *s)
{
    return !s || !*s;
}

bool qb_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    return need;
}

bool qb_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

size_t qb_utf8_sanitize(char *s, size_t len)
{
    unsigned char *p = (unsigned char *)s;
    size_t i = 0, bad = 0;
    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);
        if (!k) {
            p[i] = '?';
            bad++;
            k = 1;
        }
        i += k;
    }
    return bad;
}

size_t qb_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

bool qb_secret_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)b[lb ? i % lb : 0];
    return diff == 0 && lb > 0;
}

int qb_parse_duration(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return QB_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return QB_EINVAL;
    double mul;
    if (!*end || !strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "m") || !strcmp(end, "min"))
        mul = 60e3;
    else if (!strcmp(end, "h"))
        mul = 3600e3;
    else if (!strcmp(end, "d"))
        mul = 86400e3;
    else
        return QB_EINVAL;
    if (v * mul > 9e15)
        return QB_EINVAL;
    *out_ms = (int64_t)(v * mul + 0.5);
    return QB_OK;
}

/* ---- clock ---- */

static int64_t fake_now_ms;

int64_t qb_clock_now(void)
{
    if (fake_now_ms)
        return fake_now_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double qb_clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void qb_clock_fake(int64_t ms)
{
    fake_now_ms = ms;
}

void qb_clock_advance(int64_t ms)
{
    if (fake_now_ms)
        fake_now_ms += ms;
}

bool qb_clock_is_fake(void)
{
    return fake_now_ms != 0;
}

/* ---- log ---- */

static int log_level = QB_LOG_INFO;
static void (*log_capture)(int, const char *, void *);
static void *log_capture_ud;

void qb_log_set_level(int level)
{
    log_level = level;
}

int qb_log_get_level(void)
{
    return log_level;
}

int qb_log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, names[i]))
            return i;
    return -1;
}

void qb_log_set_capture(void (*fn)(int, const char *, void *), void *ud)
{
    log_capture = fn;
    log_capture_ud = ud;
}

void qb_log(int level, const char *fmt, ...)
{
    if (level < log_level)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_capture)
        log_capture(level, line, log_capture_ud);
    time_t t = (time_t)(qb_clock_now() / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s %c %s\n", ts, "DIWE"[level < 0 ? 0 : level > 3 ? 3 : level], line);
}

const char *qb_strerror(int err)
{
    switch (err) {
    case QB_OK:
        return "ok";
    case QB_ENOMEM:
        return "out of memory";
    case QB_EINVAL:
        return "invalid argument or input";
    case QB_EIO:
        return "input/output error";
    case QB_ETIMEDOUT:
        return "timed out (the platform may still have done it)";
    case QB_EDISCONNECTED:
        return "connection dropped before the platform answered";
    case QB_EDENIED:
        return "permission denied";
    case QB_ENOTSUP:
        return "not supported by this platform";
    case QB_ERATE:
        return "rate limited";
    case QB_EFAILED:
        return "the platform reported a failure";
    case QB_ENOENT:
        return "not found";
    case QB_EPARSE:
        return "could not parse";
    case QB_ETOOBIG:
        return "too large";
    case QB_EEXIST:
        return "already exists";
    case QB_ESTORE:
        return "database error";
    case QB_EOFFLINE:
        return "account offline";
    default:
        return "unknown error";
    }
}

bool qb_ipv4_literal(const char *host)
{
    struct in_addr a;
    return host && inet_pton(AF_INET, host, &a) == 1;
}
