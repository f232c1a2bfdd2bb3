/*
 * media.h — core media services for plugins: "does the picture at this URL contain a
 * QR code, and what does it say?" (the guard's question about disguised ads).
 *
 * Calls queue work and return at once; the answer comes later on the loop through a
 * callback. The core downloads the picture itself (HTTP/HTTPS, size and time limits) and
 * decodes it in a separate process (zbarimg), so a hostile picture cannot hurt the bot.
 */
#ifndef QUNBOT_MEDIA_H
#define QUNBOT_MEDIA_H

#include "qunbot.h"

struct qb_ctx;

/* Longest QR payload handed to a callback, in bytes (longer payloads are cut). */
#define QB_QR_PAYLOAD_MAX 4096

/* The answer to qb_qr_scan, called exactly once, later, on the loop:
 *   QB_OK            payload = the text of the first QR code found (borrowed for the call;
 *                    invalid UTF-8 replaced by '?', at most QB_QR_PAYLOAD_MAX bytes)
 *   QB_ENOENT        the picture has no QR code we can read
 *   QB_ETOOBIG       the download is larger than the limit (5 MiB); stopped early
 *   QB_ETIMEDOUT     the download took longer than 10 s, or decoding longer than 5 s
 *   QB_EFAILED       the server answered with an error (404 ...), too many redirects, or the
 *                    file is not a picture format we scan (PNG, JPEG, GIF, WebP, BMP) or the
 *                    decoder could not read it
 *   QB_EIO           the download failed (connection, TLS, DNS) or a local file error
 *   QB_ENOTSUP       QR scanning is off: zbarimg (package zbar-tools) is not installed
 *   QB_EDISCONNECTED the bot is stopping: scans still pending are answered with this just
 *                    before the plugins' shutdown (never dropped silently)
 * payload is NULL unless rc is QB_OK. */
typedef void (*qb_qr_cb)(struct qb_ctx *c, int rc, const char *payload, void *ud);

/* Queue a QR scan of the picture at url (http:// or https://; TLS is verified against the
 * system CAs; up to 3 redirects are followed, never from https to http). Returns QB_OK
 * (cb will run), QB_EINVAL for a URL that is not http(s) or cb NULL, QB_ERATE when 4
 * scans run and 64 wait already, QB_EDISCONNECTED when the bot is stopping, QB_ENOMEM.
 * On any error cb is not called. url is copied. */
int qb_qr_scan(struct qb_ctx *c, const char *url, qb_qr_cb cb, void *ud);

#endif
