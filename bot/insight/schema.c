/*
 * schema.c — the insight rollup tables: SQL per schema version, applied by the insight
 * plugin's migrations and by tests that build databases by hand.
 *
 * Owns only the SQL text. Standard SQL (PostgreSQL will follow): BIGINT times in Unix ms,
 * local days as 'YYYY-MM-DD' text, upserts via primary keys. Never edit a shipped version;
 * add a new string instead. Documented in docs/INSIGHT.md.
 */
#include <stddef.h>

#include "insight.h"

const char *const qb_insight_migrations[] = {
        /* v1 */
        "CREATE TABLE insight_activity ("
        " platform TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " day TEXT NOT NULL, hour INTEGER NOT NULL, weekday INTEGER NOT NULL,"
        " messages BIGINT NOT NULL DEFAULT 0, chars BIGINT NOT NULL DEFAULT 0,"
        " PRIMARY KEY (group_id, user_id, day, hour, platform));"
        "CREATE INDEX insight_activity_group_day ON insight_activity(group_id, day, hour);"
        "CREATE TABLE insight_members ("
        " platform TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " name TEXT, joined_ms BIGINT NOT NULL DEFAULT 0, left_ms BIGINT NOT NULL DEFAULT 0,"
        " inviter TEXT, first_msg_ms BIGINT NOT NULL DEFAULT 0,"
        " last_msg_ms BIGINT NOT NULL DEFAULT 0, messages BIGINT NOT NULL DEFAULT 0,"
        " replies_received BIGINT NOT NULL DEFAULT 0, first_reply_ms BIGINT NOT NULL DEFAULT 0,"
        " is_admin INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (group_id, user_id, platform));"
        "CREATE INDEX insight_members_last ON insight_members(group_id, last_msg_ms);"
        "CREATE INDEX insight_members_inviter ON insight_members(group_id, inviter);"
        "CREATE TABLE insight_edges ("
        " platform TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, src TEXT NOT NULL,"
        " dst TEXT NOT NULL, kind TEXT NOT NULL, n BIGINT NOT NULL DEFAULT 0,"
        " last_ms BIGINT NOT NULL DEFAULT 0,"
        " PRIMARY KEY (group_id, src, dst, kind, platform));"
        "CREATE INDEX insight_edges_dst ON insight_edges(group_id, dst);"
        "CREATE TABLE insight_msgs ("
        " platform TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, ts BIGINT NOT NULL, question INTEGER NOT NULL DEFAULT 0,"
        " first_reply_ms BIGINT NOT NULL DEFAULT 0, first_reply_by TEXT,"
        " PRIMARY KEY (group_id, message_id, platform));"
        "CREATE INDEX insight_msgs_ts ON insight_msgs(group_id, ts);"
        "CREATE INDEX insight_msgs_user ON insight_msgs(group_id, user_id, ts);"
        "CREATE INDEX insight_msgs_prune ON insight_msgs(ts);"
        "CREATE TABLE insight_recalls ("
        " platform TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, message_id TEXT NOT NULL,"
        " user_id TEXT, operator_id TEXT, ts BIGINT NOT NULL,"
        " PRIMARY KEY (group_id, message_id, platform));"
        "CREATE INDEX insight_recalls_ts ON insight_recalls(group_id, ts);",
        NULL,
};
