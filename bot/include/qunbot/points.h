/*
 * points.h — the community's points ledger, shared by every plugin that awards or takes
 * points (check-ins, messages, talks, Q&A, invitations, admin grants).
 *
 * Every change is one row of the core table points_ledger (ts, platform, group_id,
 * user_id, delta, reason, source = plugin name, ref, actor), so a member's total is always
 * the sum of their rows. A non-NULL ref makes an award idempotent: the same (plugin, ref)
 * is recorded once, whatever duplicates, reconnects or restarts happen. Plugins may read
 * points_ledger with their own SQL (leaderboards); they write it only through this API.
 */
#ifndef QUNBOT_POINTS_H
#define QUNBOT_POINTS_H

#include "qunbot.h"

struct qb_ctx;

/* Add delta (may be negative) points to user in group. reason: shown to admins; ref: an
 * idempotency key such as "checkin:2026-12-01" or NULL; actor: who decided (an admin's id,
 * or NULL for the plugin itself). Returns QB_OK, QB_EEXIST if (plugin, ref) is already
 * recorded, or QB_ESTORE. */
int qb_points_add(struct qb_ctx *c, const char *group_id, const char *user_id, int64_t delta,
                  const char *reason, const char *ref, const char *actor);

/* Sum of a member's points in a group with since_ms <= ts < until_ms (0 and 0 = all time). */
int64_t qb_points_sum(struct qb_ctx *c, const char *group_id, const char *user_id, int64_t since_ms,
                      int64_t until_ms);

#endif
