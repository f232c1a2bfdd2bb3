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
        /* v2: daily rollups so a report over a big group reads a row per member and day,
         * not per hour; the hourly table stays for the hours at the ends of a range */
        "CREATE TABLE insight_member_days ("
        " platform TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, day TEXT NOT NULL,"
        " user_id TEXT NOT NULL, messages BIGINT NOT NULL DEFAULT 0,"
        " chars BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (group_id, day, user_id, platform));"
        "CREATE INDEX insight_member_days_user ON insight_member_days(group_id, user_id, day);"
        "CREATE TABLE insight_group_hours ("
        " platform TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, day TEXT NOT NULL,"
        " hour INTEGER NOT NULL, weekday INTEGER NOT NULL, messages BIGINT NOT NULL DEFAULT 0,"
        " PRIMARY KEY (group_id, day, hour, platform));"
        "INSERT INTO insight_member_days(platform, group_id, day, user_id, messages, chars)"
        " SELECT platform, group_id, day, user_id, SUM(messages), SUM(chars)"
        " FROM insight_activity GROUP BY platform, group_id, day, user_id;"
        "INSERT INTO insight_group_hours(platform, group_id, day, hour, weekday, messages)"
        " SELECT platform, group_id, day, hour, MIN(weekday), SUM(messages)"
        " FROM insight_activity GROUP BY platform, group_id, day, hour;"
        "CREATE INDEX insight_msgs_question ON insight_msgs(group_id, question, ts,"
        " first_reply_ms);"
        /* covering indexes: the report's scans then never visit the tables' rows */
        "CREATE INDEX insight_member_days_cover ON insight_member_days(group_id, day, user_id,"
        " messages);"
        "CREATE INDEX insight_edges_cover ON insight_edges(group_id, src, dst, kind, n, last_ms);"
        /* the rollups follow insight_activity by triggers, so whoever writes the hourly
         * rows (the plugin, /forgetme, a test) keeps them right */
        "CREATE TRIGGER insight_activity_ins AFTER INSERT ON insight_activity BEGIN"
        " INSERT INTO insight_member_days(platform, group_id, day, user_id, messages, chars)"
        " VALUES (NEW.platform, NEW.group_id, NEW.day, NEW.user_id, NEW.messages, NEW.chars)"
        " ON CONFLICT (group_id, day, user_id, platform) DO UPDATE SET"
        " messages = insight_member_days.messages + excluded.messages,"
        " chars = insight_member_days.chars + excluded.chars;"
        " INSERT INTO insight_group_hours(platform, group_id, day, hour, weekday, messages)"
        " VALUES (NEW.platform, NEW.group_id, NEW.day, NEW.hour, NEW.weekday, NEW.messages)"
        " ON CONFLICT (group_id, day, hour, platform) DO UPDATE SET"
        " messages = insight_group_hours.messages + excluded.messages; END;"
        "CREATE TRIGGER insight_activity_upd AFTER UPDATE OF messages, chars ON insight_activity"
        " BEGIN"
        " UPDATE insight_member_days SET messages = messages + NEW.messages - OLD.messages,"
        " chars = chars + NEW.chars - OLD.chars WHERE group_id = NEW.group_id AND day = NEW.day"
        " AND user_id = NEW.user_id AND platform = NEW.platform;"
        " UPDATE insight_group_hours SET messages = messages + NEW.messages - OLD.messages"
        " WHERE group_id = NEW.group_id AND day = NEW.day AND hour = NEW.hour"
        " AND platform = NEW.platform; END;"
        "CREATE TRIGGER insight_activity_del AFTER DELETE ON insight_activity BEGIN"
        " UPDATE insight_member_days SET messages = messages - OLD.messages,"
        " chars = chars - OLD.chars WHERE group_id = OLD.group_id AND day = OLD.day"
        " AND user_id = OLD.user_id AND platform = OLD.platform;"
        " DELETE FROM insight_member_days WHERE group_id = OLD.group_id AND day = OLD.day"
        " AND user_id = OLD.user_id AND platform = OLD.platform AND messages <= 0;"
        " UPDATE insight_group_hours SET messages = messages - OLD.messages"
        " WHERE group_id = OLD.group_id AND day = OLD.day AND hour = OLD.hour"
        " AND platform = OLD.platform;"
        " DELETE FROM insight_group_hours WHERE group_id = OLD.group_id AND day = OLD.day"
        " AND hour = OLD.hour AND platform = OLD.platform AND messages <= 0; END;",
        NULL,
};
