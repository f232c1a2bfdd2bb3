-- report_demo.sql — extra rows for the screenshot docs/report.png: member names, joins with
-- inviters and leaves, two talks with attendance, weekly posts, guard cases and hits, on top of
-- a small qunbot-bench-insight database (see docs/INSIGHT.md, "Reports"). Not used by tests.
UPDATE insight_members SET name = (CASE (CAST(user_id AS INTEGER) % 7) WHEN 0 THEN '阿青' WHEN 1 THEN '小满' WHEN 2 THEN '书虫' WHEN 3 THEN '晚风' WHEN 4 THEN '南山' WHEN 5 THEN '橘子' ELSE '阿木' END) || (CAST(user_id AS INTEGER) - 100000);
UPDATE insight_members SET is_admin = 1 WHERE user_id IN ('100000', '100001');
UPDATE insight_members SET joined_ms = 1795392000000 - (CAST(user_id AS INTEGER) - 100240) * 43200000, inviter = CASE WHEN CAST(user_id AS INTEGER) % 3 = 0 THEN '100002' WHEN CAST(user_id AS INTEGER) % 3 = 1 THEN '100005' ELSE NULL END WHERE CAST(user_id AS INTEGER) >= 100240;
UPDATE insight_members SET left_ms = joined_ms + 3 * 86400000 WHERE CAST(user_id AS INTEGER) >= 100240 AND CAST(user_id AS INTEGER) % 5 = 0;
CREATE TABLE talks_talks (id BIGINT NOT NULL UNIQUE, platform TEXT NOT NULL DEFAULT '', self_id TEXT NOT NULL DEFAULT '', group_id TEXT NOT NULL, topic TEXT NOT NULL, speakers TEXT NOT NULL, start_ms BIGINT NOT NULL, dur_ms BIGINT NOT NULL, status TEXT NOT NULL DEFAULT 'scheduled', source TEXT, created_by TEXT, created_ms BIGINT NOT NULL, ended_ms BIGINT NOT NULL DEFAULT 0, muted INTEGER NOT NULL DEFAULT 0, at_all_done INTEGER NOT NULL DEFAULT 0, UNIQUE (group_id, source));
INSERT INTO talks_talks VALUES (1, 'qq', '', '100', '如何读一本难书', '100003', 1795392000000 - 9 * 86400000 + 12 * 3600000, 3600000, 'done', 'cmd:1', '100000', 1794000000000, 0, 0, 0);
INSERT INTO talks_talks VALUES (2, 'qq', '', '100', '《百年孤独》共读分享', '100004', 1795392000000 - 16 * 86400000 + 12 * 3600000, 3600000, 'done', 'cmd:2', '100000', 1794000000000, 0, 0, 0);
CREATE TABLE talks_attendance (talk_id BIGINT NOT NULL, user_id TEXT NOT NULL, name TEXT, first_ts BIGINT NOT NULL, messages INTEGER NOT NULL DEFAULT 0, reminded INTEGER NOT NULL DEFAULT 0, UNIQUE (talk_id, user_id));
INSERT INTO talks_attendance SELECT 1, user_id, name, 1795392000000 - 9 * 86400000 + 12 * 3600000, 3, 0 FROM insight_members WHERE CAST(user_id AS INTEGER) < 100040;
CREATE TABLE schedule_runs (group_id TEXT NOT NULL, name TEXT NOT NULL, due_ms BIGINT NOT NULL, ts BIGINT NOT NULL, outcome TEXT NOT NULL, UNIQUE (group_id, name, due_ms));
INSERT INTO schedule_runs VALUES ('100', '每周书单', 1795392000000 - 5 * 86400000 + 1 * 3600000, 1795392000000 - 5 * 86400000 + 1 * 3600000, 'sent');
INSERT INTO schedule_runs VALUES ('100', '每周书单', 1795392000000 - 12 * 86400000 + 1 * 3600000, 1795392000000 - 12 * 86400000 + 1 * 3600000, 'sent');
CREATE TABLE guard_cases (case_no BIGINT NOT NULL UNIQUE, ts BIGINT NOT NULL, platform TEXT NOT NULL, self_id TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL, message_id TEXT NOT NULL, rule_id TEXT NOT NULL, version INTEGER NOT NULL, reason TEXT NOT NULL, step TEXT NOT NULL, mute_s BIGINT NOT NULL DEFAULT 0, pardoned INTEGER NOT NULL DEFAULT 0, pardon_ts BIGINT, pardon_by TEXT, UNIQUE (platform, group_id, message_id));
CREATE TABLE guard_hits (ts BIGINT NOT NULL, platform TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL, message_id TEXT, rule_id TEXT NOT NULL, version INTEGER NOT NULL, detector TEXT, mode TEXT NOT NULL, action TEXT NOT NULL, acted INTEGER NOT NULL DEFAULT 0, case_no BIGINT);
INSERT INTO guard_cases VALUES (1, 1795392000000 - 3 * 86400000, 'qq', '', '100', '100251', 'g1', 'link.deny', 1, '发了外部链接', 'private', 0, 0, NULL, NULL);
INSERT INTO guard_cases VALUES (2, 1795392000000 - 2 * 86400000, 'qq', '', '100', '100262', 'g2', 'contact.wechat', 1, '留了微信号', 'public', 0, 1, 1795392000000 - 86400000, '100000');
INSERT INTO guard_cases VALUES (3, 1795392000000 - 1 * 86400000, 'qq', '', '100', '100262', 'g3', 'nb.ad', 1, '广告模型判定', 'mute', 600, 0, NULL, NULL);
INSERT INTO guard_hits VALUES (1795392000000 - 3 * 86400000, 'qq', '100', '100251', 'g1', 'link.deny', 1, 'link', 'on', 'recall', 1, 1);
INSERT INTO guard_hits VALUES (1795392000000 - 2 * 86400000, 'qq', '100', '100262', 'g2', 'contact.wechat', 1, 'contact', 'on', 'recall', 1, 2);
INSERT INTO guard_hits VALUES (1795392000000 - 1 * 86400000, 'qq', '100', '100262', 'g3', 'nb.ad', 1, 'model', 'on', 'recall', 1, 3);
INSERT INTO guard_hits VALUES (1795392000000 - 1 * 86400000, 'qq', '100', '100263', 'g4', 'nb.ad', 1, 'model', 'shadow', 'recall', 0, NULL);
