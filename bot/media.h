/*
 * media.h — core-internal side of the QR scanning service (media.c): the libwebsockets
 * protocol callback net.c lists for HTTP(S) downloads, and counters for tests.
 *
 * Plugins use <qunbot/media.h> instead. Nothing here allocates for the caller.
 */
#ifndef QB_MEDIA_INT_H
#define QB_MEDIA_INT_H

#include <libwebsockets.h>

#include "core.h"

/* The name of the HTTP client protocol on the bot's lws context. */
#define QB_MEDIA_PROTOCOL "qunbot-http"

/* The protocol callback for picture downloads (client side only: any server-side use of
 * this protocol, such as a WebSocket upgrade naming it on the listener, is refused). */
int qb_media_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

struct qb_media_stats {
    int64_t downloads;  /* downloads started */
    int64_t decodes;    /* decoder processes started */
    int64_t last_bytes; /* body bytes kept by the most recently ended download */
    int running, queued;
};
/* Counters since the service started (all zero if it has not). */
void qb_media_get_stats(struct qb_bot *b, struct qb_media_stats *st);

#endif
