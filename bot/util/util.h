/*
 * util.h — small helpers shared by the core, the simulator and the tests:
 * a growable byte buffer, string helpers, UTF-8 checks, constant-time compare,
 * the clock (real or fake) and log configuration.
 *
 * Nothing here allocates behind the caller's back: every returned pointer says who frees it.
 */
#ifndef QB_UTIL_H
#define QB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Growable buffer; always NUL-terminated when p != NULL. Free with qb_buf_free(). */
struct qb_buf {
    char *p;
    size_t len, cap;
};

void qb_buf_init(struct qb_buf *b);
void qb_buf_free(struct qb_buf *b);
void qb_buf_reset(struct qb_buf *b); /* len = 0, keeps the memory */
int qb_buf_append(struct qb_buf *b, const void *data, size_t len);
int qb_buf_puts(struct qb_buf *b, const char *s);
int qb_buf_printf(struct qb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int qb_buf_vprintf(struct qb_buf *b, const char *fmt, va_list ap);
/* Hand the string to the caller (who frees it with free()); b is left empty. Never NULL. */
char *qb_buf_steal(struct qb_buf *b);

/* strdup that accepts NULL (returns NULL). */
char *qb_strdup(const char *s);
char *qb_strndup(const char *s, size_t n);
/* Copy with truncation at a UTF-8 boundary; always terminates. Returns strlen(dst). */
size_t qb_strlcpy(char *dst, const char *src, size_t size);
/* Trim ASCII white space and full-width spaces (U+3000) in place; returns s. */
char *qb_trim(char *s);
bool qb_str_empty(const char *s);
bool qb_starts_with(const char *s, const char *prefix);

/* Is [s, s+len) valid UTF-8 (no overlongs, no surrogates)? */
bool qb_utf8_valid(const char *s, size_t len);
/* Replace invalid UTF-8 sequences in place with '?'; returns the number replaced. */
size_t qb_utf8_sanitize(char *s, size_t len);
/* Number of code points in a valid UTF-8 string. */
size_t qb_utf8_len(const char *s);

/* Is host an IPv4 address literal ("127.0.0.1")? Listeners use it to keep such a host on
 * an IPv4 socket: lws 4.1 with IPv6 binds [::], every interface, when given an IPv4 address. */
bool qb_ipv4_literal(const char *host);

/* Constant-time equality of two NUL-terminated secrets (time depends only on lengths). */
bool qb_secret_eq(const char *a, const char *b);

/* Parse "90s", "10m", "2h", "3d", "1500ms" or a bare number of seconds into ms. */
int qb_parse_duration(const char *s, int64_t *out_ms);

/* Clock. Real wall time unless a fake clock is installed (tests). */
int64_t qb_clock_now(void);     /* Unix ms */
double qb_clock_mono(void);     /* monotonic seconds for deadlines and liveness: always real
                                 * time, like the loop's timers, even under a fake clock */
void qb_clock_fake(int64_t ms); /* install or move the fake clock; 0 restores the real clock */
void qb_clock_advance(int64_t ms);
bool qb_clock_is_fake(void);

/* Logging destination and level. Default: stderr, INFO. Lines: "2026-11-23 06:00:00 W text". */
void qb_log_set_level(int level);
int qb_log_get_level(void);
int qb_log_level_parse(const char *s); /* "debug" "info" "warn" "error" → level, -1 if unknown */
void qb_log_set_capture(void (*fn)(int level, const char *line, void *ud), void *ud);

#endif
