/*
 * signup.h — internal header of the sign-up list plugin (接龙/报名), not part of the plugin
 * API: the settings struct, the in-memory state (reposts waiting for their merge window)
 * and the functions its .c files share (lists and entries in the tables, reposts, CSV).
 *
 * Owns nothing by itself. Only the signup plugin's own files include it; the core and
 * other plugins must not. All names start with signup_. Lists live in signup_lists and
 * members in signup_entries; nothing about a list is kept only in memory.
 */
#ifndef QB_PLUGIN_SIGNUP_H
#define QB_PLUGIN_SIGNUP_H

#include <qunbot/plugin.h>

#define SIGNUP_CAP_MAX   10000
#define SIGNUP_NAME_MAX  20 /* characters of an activity name */
#define SIGNUP_NOTE_MAX  40 /* characters of a member's note */
#define SIGNUP_PROMO_MAX 16 /* promotions remembered for one repost */

/* Per-group settings, filled by the core from the rules files. */
struct signup_settings {
    char *open_role;   /* "admin" (default) or "member": who may open a list */
    int64_t repost_ms; /* changes within this time share one repost (0 = at once) */
};

/* A repost of one list waiting for its merge window. Owned by the state list. */
struct signup_pending {
    struct signup_pending *next;
    int64_t list_id, timer;
    size_t npromo;
    char promoted[SIGNUP_PROMO_MAX][QB_ID_MAX]; /* members moved up from the waiting list */
};

struct signup_state {
    struct signup_pending *pending;
};

/* One list, as stored. */
struct signup_list {
    int64_t id, cap;   /* cap 0 = no limit */
    int64_t closed_at; /* 0 while open */
    bool open;
    char platform[16], self_id[QB_ID_MAX], group_id[QB_ID_MAX];
    char name[SIGNUP_NAME_MAX * 4 + 1];
};

/* One member on a list, as stored (active entries only). */
struct signup_entry {
    char user_id[QB_ID_MAX];
    char name[128];
    char note[SIGNUP_NOTE_MAX * 4 + 1];
    int64_t ts;
};

/* Active entries of a list in sign-up order. Caller frees v. */
struct signup_entries {
    struct signup_entry *v;
    size_t n;
};

/* ---- signup.c: frame and shared helpers ---- */
struct signup_state *signup_st(struct qb_ctx *c);
const struct signup_settings *signup_cfg(struct qb_ctx *c, const char *group_id);
/* Reply with text, unless ev was recovered from history (a late answer is stale). */
void signup_say(struct qb_ctx *c, const struct qb_event *ev, const char *text);
/* Copy member text into out (n bytes): control characters become spaces, at most
 * max_chars UTF-8 characters, never a cut character. */
void signup_clean(const char *in, size_t max_chars, char *out, size_t n);

/* ---- signup_list.c: the tables ---- */
/* Find a list of ev's group by name (the open one, else the latest closed one) or by its
 * number ("12"). QB_OK, QB_ENOENT or QB_ESTORE. */
int signup_find(struct qb_ctx *c, const struct qb_event *ev, const char *name_or_id,
                struct signup_list *out);
/* Open lists of ev's group, oldest first, at most max. Returns how many (or < 0). */
int signup_open_lists(struct qb_ctx *c, const struct qb_event *ev, struct signup_list *out,
                      int max);
/* Create an open list. QB_OK, QB_EEXIST (one with that name is open) or QB_ESTORE. */
int signup_create(struct qb_ctx *c, const struct qb_event *ev, const char *name, int64_t cap,
                  struct signup_list *out);
int signup_close(struct qb_ctx *c, int64_t list_id, int64_t now);
/* Join (note may be ""): SIGNUP_JOINED, SIGNUP_ALREADY (on it already), SIGNUP_REPEAT (the
 * same message delivered again: say nothing) or SIGNUP_FAILED (database). */
enum signup_join { SIGNUP_JOINED, SIGNUP_ALREADY, SIGNUP_REPEAT, SIGNUP_FAILED };
enum signup_join signup_join(struct qb_ctx *c, const struct qb_event *ev,
                             const struct signup_list *l, const char *note);
/* Leave. SIGNUP_JOINED means "left"; SIGNUP_ALREADY "was not on it"; SIGNUP_REPEAT the same
 * message again. *promoted gets the member moved up from the waiting list, or "". */
enum signup_join signup_leave(struct qb_ctx *c, const struct qb_event *ev,
                              const struct signup_list *l, char promoted[QB_ID_MAX]);
/* Is the member on the list? Their 1-based position in sign-up order (0 if not). */
int64_t signup_position(struct qb_ctx *c, int64_t list_id, const char *user_id);
int signup_entries_load(struct qb_ctx *c, int64_t list_id, struct signup_entries *out);
int signup_load(struct qb_ctx *c, int64_t list_id, struct signup_list *out);
/* The most recently opened list of ev's group, open or not. QB_OK or QB_ENOENT. */
int signup_latest(struct qb_ctx *c, const struct qb_event *ev, struct signup_list *out);

/* ---- signup_post.c: reposts and export ---- */
/* A change happened on the list: repost it after the merge window (promoted may be ""). */
void signup_changed(struct qb_ctx *c, const struct signup_list *l, const char *promoted);
/* Post the list now with a leading line (may be NULL), dropping any waiting repost. */
void signup_post_now(struct qb_ctx *c, const struct signup_list *l, const char *lead);
void signup_pending_free(struct qb_ctx *c);
/* Write the list's CSV into the plugin's export folder; file gets the file name. */
int signup_export(struct qb_ctx *c, const struct signup_list *l, char *file, size_t n,
                  size_t *rows);
/* One CSV field into out (n bytes): quoted when needed, a leading = + - @ (or tab, CR)
 * neutralised with an apostrophe. Returns QB_OK or QB_ETOOBIG. */
int signup_csv_field(const char *s, char *out, size_t n);

#endif
