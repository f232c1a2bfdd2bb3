/*
 * qunbot.h — the base of the plugin API: version, error codes, logging, ids.
 *
 * Every other public header includes this one. Errors are negative QB_E* codes
 * from one enum; QB_OK is 0. Functions return them; callers decide what to log.
 */
#ifndef QUNBOT_QUNBOT_H
#define QUNBOT_QUNBOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QB_VERSION "0.1.0"

/* Longest id (account, group, user, message, request flag) including the NUL.
 * Ids are strings everywhere so OneBot v12 and Satori string ids fit unchanged. */
#define QB_ID_MAX 72

enum qb_err {
    QB_OK = 0,
    QB_ENOMEM = -1,        /* out of memory */
    QB_EINVAL = -2,        /* bad argument or malformed input */
    QB_EIO = -3,           /* file or socket error */
    QB_ETIMEDOUT = -4,     /* the platform did not answer in time (the action may still have run) */
    QB_EDISCONNECTED = -5, /* the connection dropped before the platform answered */
    QB_EDENIED = -6,       /* permission denied (by the bot's rules or the platform) */
    QB_ENOTSUP = -7,       /* the platform or protocol has no such action */
    QB_ERATE = -8,         /* rate limited */
    QB_EFAILED = -9,       /* the platform answered with a failure */
    QB_ENOENT = -10,       /* no such thing (group, account, key) */
    QB_EPARSE = -11,       /* could not parse */
    QB_ETOOBIG = -12,      /* over a size limit */
    QB_EEXIST = -13,       /* already exists */
    QB_ESTORE = -14,       /* database error */
    QB_EOFFLINE = -15,     /* the account is offline; the action stays queued */
};

/* A short English description of an error code. Never NULL. */
const char *qb_strerror(int err);

enum qb_log_level { QB_LOG_DEBUG = 0, QB_LOG_INFO, QB_LOG_WARN, QB_LOG_ERROR };

/* Log a line (printf format) at a level; lines below the configured level are dropped. */
void qb_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy src into a fixed id buffer of QB_ID_MAX bytes (truncates, always terminates). */
void qb_id_set(char dst[QB_ID_MAX], const char *src);

#endif
