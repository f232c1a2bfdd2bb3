/*
 * talks_parse.c — reading and writing times for the talks plugin: durations in English
 * and Chinese ("90m", "1小时30分钟"), dates that cannot be misread ("2026-12-05",
 * "12月5日"; "12/5" is refused, never guessed), 24-hour times, rules-file entries, and
 * the local-time and duration texts members see.
 *
 * Pure functions plus the group's timezone through qb_localtime/qb_mktime; owns nothing.
 * Must not guess: anything ambiguous is an error with a one-line reason for members.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talks.h"

static const char *const DATE_HELP = "请写成 2026-12-05 或 12月5日";

static bool is_space(const char *s, size_t *len)
{
    if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
        *len = 1;
        return true;
    }
    if (!strncmp(s, "\xe3\x80\x80", 3)) {
        *len = 3;
        return true;
    }
    return false;
}

char *talks_trim(char *s)
{
    size_t k, start = 0, len = strlen(s);
    while (s[start] && is_space(s + start, &k))
        start += k;
    memmove(s, s + start, len - start + 1);
    len -= start;
    for (;;) {
        if (len && strchr(" \t\r\n", s[len - 1]))
            len--;
        else if (len >= 3 && !strncmp(s + len - 3, "\xe3\x80\x80", 3))
            len -= 3;
        else
            break;
        s[len] = '\0';
    }
    return s;
}

/* ---- durations ---- */

struct unit {
    const char *word;
    int64_t ms;
};

static const struct unit units[] = {
        {"小时", TALKS_HOUR_MS},
        {"分钟", TALKS_MIN_MS},
        {"min", TALKS_MIN_MS},
        {"天", TALKS_DAY_MS},
        {"时", TALKS_HOUR_MS},
        {"分", TALKS_MIN_MS},
        {"秒", 1000},
        {"d", TALKS_DAY_MS},
        {"h", TALKS_HOUR_MS},
        {"m", TALKS_MIN_MS},
        {"s", 1000},
};

/* One "<number><unit>" at *p; advances p. */
static int duration_part(const char **p, int64_t *ms)
{
    char *end;
    double v = strtod(*p, &end);
    if (end == *p || v < 0 || v > 1e6 || *end == '\0')
        return QB_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t l = strlen(units[i].word);
        if (!strncmp(end, units[i].word, l)) {
            *ms = (int64_t)(v * (double)units[i].ms + 0.5);
            *p = end + l;
            return QB_OK;
        }
    }
    return QB_EINVAL;
}

int talks_parse_duration(const char *s, int64_t *ms)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return QB_EINVAL;
    int64_t total = 0;
    const char *p = s;
    while (*p) {
        if (*p < '0' || *p > '9')
            return QB_EINVAL;
        int64_t part;
        if (duration_part(&p, &part) != QB_OK)
            return QB_EINVAL;
        total += part;
    }
    *ms = total;
    return QB_OK;
}

/* ---- dates and times ---- */

/* Digits at *p (1..maxd of them) as a number; advances p. -1 if none. */
static int digits(const char **p, int maxd)
{
    int v = 0, n = 0;
    while (**p >= '0' && **p <= '9' && n < maxd) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n ? v : -1;
}

static bool eat(const char **p, const char *word)
{
    size_t l = strlen(word);
    if (strncmp(*p, word, l))
        return false;
    *p += l;
    return true;
}

/* "2026-12-05", "2026年12月5日": y/m/d. "12月5日": y = 0. */
static bool parse_date(const char *s, int *y, int *m, int *d)
{
    const char *p = s;
    int a = digits(&p, 4);
    if (a < 0)
        return false;
    if (p - s == 4 && *p == '-') {
        p++;
        *y = a;
        *m = digits(&p, 2);
        if (!eat(&p, "-"))
            return false;
        *d = digits(&p, 2);
        return *m > 0 && *d > 0 && !*p;
    }
    if (p - s == 4 && eat(&p, "年")) {
        *y = a;
        a = digits(&p, 2);
    } else {
        *y = 0;
    }
    *m = a;
    if (!eat(&p, "月"))
        return false;
    *d = digits(&p, 2);
    if (!eat(&p, "日"))
        eat(&p, "号");
    return *m > 0 && *d > 0 && !*p;
}

static bool parse_time(const char *s, int *h, int *min)
{
    const char *p = s;
    *h = digits(&p, 2);
    if (*h < 0 || (!eat(&p, ":") && !eat(&p, "\xef\xbc\x9a"))) /* ':' or full-width '：' */
        return false;
    const char *mstart = p;
    *min = digits(&p, 2);
    return !*p && p - mstart == 2 && *h < 24 && *min < 60;
}

static int64_t local_ms(struct qb_ctx *c, const char *tz, int y, int m, int d, int h, int min)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = min;
    int64_t ms = qb_mktime(c, tz, &tm);
    struct tm back;
    if (ms < 0 || qb_localtime(c, tz, ms, &back) != QB_OK || back.tm_mday != d ||
        back.tm_mon != m - 1)
        return -1; /* 2月30日 and the like */
    return ms;
}

int talks_parse_when(struct qb_ctx *c, const char *tz, const char *date, const char *time,
                     int64_t *ms, char *why, size_t n)
{
    int y, m, d, h, min;
    if (!parse_date(date, &y, &m, &d)) {
        if (strpbrk(date, "/.-") || strstr(date, "\xef\xbc\x8f")) /* '/' full-width too */
            snprintf(why, n, "日期「%.40s」可能有多种理解，%s。", date, DATE_HELP);
        else
            snprintf(why, n, "看不懂日期「%.40s」，%s。", date, DATE_HELP);
        return QB_EINVAL;
    }
    if (!time || !parse_time(time, &h, &min)) {
        snprintf(why, n, "看不懂时间「%.40s」，请写成 24 小时制，如 20:00。", time ? time : "");
        return QB_EINVAL;
    }
    if (!y) { /* 12月5日: this year, or next year when that day has passed */
        struct tm now;
        if (qb_localtime(c, tz, qb_now(c), &now) != QB_OK)
            return QB_EINVAL;
        y = now.tm_year + 1900;
        if (m - 1 < now.tm_mon || (m - 1 == now.tm_mon && d < now.tm_mday))
            y++;
    }
    if (m > 12 || (*ms = local_ms(c, tz, y, m, d, h, min)) < 0) {
        snprintf(why, n, "没有 %d年%d月%d日 这一天，请检查日期。", y, m, d);
        return QB_EINVAL;
    }
    return QB_OK;
}

/* ---- rules-file entries ---- */

/* Split "a|b|c|d" into 4 trimmed fields in buf. */
static bool split_entry(char *buf, char *f[4])
{
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        char *bar = i < 3 ? strchr(p, '|') : NULL;
        if (i < 3 && !bar)
            return false;
        if (bar) {
            *bar = '\0';
            p = bar + 1;
        }
        talks_trim(f[i]);
    }
    return true;
}

static int entry_fields(const char *entry, char *buf, size_t bufn, char *f[4], char *why, size_t n)
{
    snprintf(buf, bufn, "%s", entry);
    if (!split_entry(buf, f)) {
        snprintf(why, n,
                 "talk \"%.60s\" should be \"2026-12-05 20:00|90m|speaker ids|topic\" "
                 "(four parts separated by |)",
                 entry);
        return QB_EINVAL;
    }
    return QB_OK;
}

static int entry_speakers(const char *list, char *out, size_t outn, char *why, size_t n)
{
    out[0] = '\0';
    size_t count = 0;
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t l = strspn(p, "0123456789");
        if (!l && *p) {
            snprintf(why, n, "speaker ids \"%.60s\" should be QQ numbers separated by commas",
                     list);
            return QB_EINVAL;
        }
        if (l && ++count <= TALKS_SPEAKERS)
            snprintf(out + strlen(out), outn - strlen(out), "%s%.*s", out[0] ? "," : "", (int)l, p);
        p += l;
    }
    if (!out[0]) {
        snprintf(why, n, "a talk needs at least one speaker (QQ number)");
        return QB_EINVAL;
    }
    return QB_OK;
}

static int entry_basic(const char *entry, char *f[4], char *buf, size_t bufn, int64_t *dur,
                       char *speakers, size_t spn, char *why, size_t n)
{
    if (entry_fields(entry, buf, bufn, f, why, n) != QB_OK)
        return QB_EINVAL;
    if (talks_parse_duration(f[1], dur) != QB_OK || *dur <= 0 || *dur > TALKS_MAX_DUR_MS) {
        snprintf(why, n, "talk duration \"%.30s\" should be like \"90m\" or \"2h\" (at most 8h)",
                 f[1]);
        return QB_EINVAL;
    }
    if (entry_speakers(f[2], speakers, spn, why, n) != QB_OK)
        return QB_EINVAL;
    if (!f[3][0]) {
        snprintf(why, n, "talk \"%.60s\" has no topic", entry);
        return QB_EINVAL;
    }
    char *sp = strchr(f[0], ' ');
    int y, m, d, h, min;
    if (!sp || (*sp = '\0', !parse_date(f[0], &y, &m, &d)) || !y || strchr(f[0], '/') ||
        !parse_time(talks_trim(sp + 1), &h, &min)) {
        snprintf(why, n, "talk start \"%.40s\" should be \"YYYY-MM-DD HH:MM\"", f[0]);
        return QB_EINVAL;
    }
    return QB_OK;
}

int talks_check_entry(const char *entry, char *why, size_t n)
{
    char buf[1024], sp[TALKS_SPEAKER_LEN], *f[4];
    int64_t dur;
    return entry_basic(entry, f, buf, sizeof buf, &dur, sp, sizeof sp, why, n);
}

int talks_parse_entry(struct qb_ctx *c, const char *tz, const char *entry, struct talks_req *r,
                      char *why, size_t n)
{
    char buf[1024], *f[4];
    memset(r, 0, sizeof *r);
    if (entry_basic(entry, f, buf, sizeof buf, &r->dur_ms, r->speakers, sizeof r->speakers, why,
                    n) != QB_OK)
        return QB_EINVAL;
    snprintf(r->topic, sizeof r->topic, "%s", f[3]);
    return talks_parse_when(c, tz, f[0], f[0] + strlen(f[0]) + 1, &r->start_ms, why, n);
}

/* ---- output ---- */

void talks_fmt_when(struct qb_ctx *c, const char *tz, int64_t ms, char *out, size_t n)
{
    static const char *const wd[] = {"周日", "周一", "周二", "周三", "周四", "周五", "周六"};
    struct tm tm;
    if (qb_localtime(c, tz, ms, &tm) != QB_OK) {
        snprintf(out, n, "?");
        return;
    }
    snprintf(out, n, "%d月%d日 %s %02d:%02d", tm.tm_mon + 1, tm.tm_mday, wd[tm.tm_wday % 7],
             tm.tm_hour, tm.tm_min);
}

void talks_fmt_dur(int64_t ms, char *out, size_t n)
{
    int64_t min = (ms + TALKS_MIN_MS / 2) / TALKS_MIN_MS;
    int64_t d = min / (24 * 60), h = min / 60 % 24, m = min % 60;
    out[0] = '\0';
    if (d)
        snprintf(out + strlen(out), n - strlen(out), "%lld天", (long long)d);
    if (h)
        snprintf(out + strlen(out), n - strlen(out), "%lld小时", (long long)h);
    if (m || !out[0])
        snprintf(out + strlen(out), n - strlen(out), "%lld分钟", (long long)m);
}
