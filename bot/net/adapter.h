/*
 * adapter.h — the boundary between a wire protocol and the internal model.
 *
 * An adapter is a table of pure functions: parse one inbound text frame into an
 * event or an API response, format an action as a request frame, read typed results
 * out of a response. No sockets, no globals, no clock: unit-testable and fuzzable.
 * One file per protocol (onebot11.c now; onebot12.c and satori.c later).
 */
#ifndef QB_ADAPTER_H
#define QB_ADAPTER_H

#include <qunbot/action.h>
#include <qunbot/event.h>

enum qb_frame_type { QB_FRAME_NONE = 0, QB_FRAME_EVENT, QB_FRAME_RESPONSE };

/* One parsed inbound frame. Initialise with qb_frame_init, release with qb_frame_clear. */
struct qb_frame {
    enum qb_frame_type type;
    struct qb_event ev; /* QB_FRAME_EVENT */
    char echo[64];      /* QB_FRAME_RESPONSE: the echo as a string, "" when absent or null */
    bool ok;            /* status == "ok" (or "async") and retcode 0/1 */
    int retcode;
    char detail[256]; /* message/wording of a failure, "" otherwise */
    void *root;       /* adapter-private parsed document; freed by qb_frame_clear */
    const void *data; /* adapter-private: the response's data inside root */
};

void qb_frame_init(struct qb_frame *f);
void qb_frame_clear(struct qb_frame *f);

struct qb_adapter_ops {
    const char *name;     /* "onebot11" */
    const char *platform; /* "qq" */
    /* Parse one text frame (len bytes, not necessarily NUL-terminated). On error returns
     * QB_EPARSE/QB_EINVAL and writes a one-line reason into err. Unknown event kinds are
     * not errors: they parse to QB_EV_UNKNOWN. */
    int (*parse)(const char *buf, size_t len, struct qb_frame *out, char *err, size_t errlen);
    /* Format an action as a request frame with this echo. Returns a malloc'd string
     * (caller frees) or NULL with *err set (QB_ENOTSUP for actions the protocol lacks). */
    char *(*format)(const struct qb_action *a, const char *echo, int *err);
    /* Fill r (and *mi for QB_ACT_GET_MEMBER) from a response to action a. */
    void (*result)(const struct qb_action *a, const struct qb_frame *resp, struct qb_result *r,
                   struct qb_member_info *mi);
    /* For a QB_ACT_GET_HISTORY response: call each() for every message in it, oldest
     * first, as a message event with backfilled = true. Returns how many were delivered. */
    int (*history)(const struct qb_frame *resp, const char *self_id,
                   void (*each)(struct qb_event *ev, void *ud), void *ud);
};

extern const struct qb_adapter_ops qb_onebot11;

/* OneBot v11 CQ-code string format (also used to log messages compactly). */
int qb_cq_parse(const char *s, struct qb_msg *out); /* appends to out; QB_OK or QB_ENOMEM */
char *qb_cq_encode(const struct qb_msg *m);         /* malloc'd; caller frees */
/* Escape text for CQ strings: in_param also escapes ','. malloc'd; caller frees. */
char *qb_cq_escape(const char *s, bool in_param);
char *qb_cq_unescape(const char *s); /* malloc'd; caller frees */

#endif
