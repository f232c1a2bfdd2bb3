#!/usr/bin/env bash
# test_replay.sh — `qunbot replay` as an operator uses it: candidate rules over a JSONL export
# print each message that would be acted on with the rule id, version and ladder step (one
# member climbing private word → public reminder → mute → removal), a summary, the difference
# against a baseline rule set, and clear errors for a broken pack or a missing file. Nothing
# is sent (no platform exists here).  Usage: test_replay.sh QUNBOT QUNBOT_SIM
set -u
QUNBOT=$1
dir=$(mktemp -d /tmp/qunbot-replay-XXXXXX)
fail() { echo "FAIL: $*"; echo "--- output"; cat "$dir/out" 2>/dev/null; exit 1; }

cat >"$dir/msgs.jsonl" <<'JSONL'
{"ts": 1700000000000, "group_id": "100", "user_id": "1", "text": "大家早上好"}
{"ts": 1700000060000, "group_id": "100", "user_id": "2", "text": "刷单兼职，一单一结"}
{"ts": 1700000120000, "group_id": "100", "user_id": "1", "text": "今天的分享会几点开始？"}
{"ts": 1700003600000, "group_id": "100", "user_id": "2", "text": "刷 单 日 结 了 解 一 下"}
{"ts": 1700007200000, "group_id": "100", "user_id": "2", "text": "想赚零花钱的来，刷·单"}
{"ts": 1700010800000, "group_id": "100", "user_id": "2", "text": "最后一次，刷单"}
{"ts": 1700010900000, "group_id": "200", "user_id": "3", "text": "刷单日结"}
not json at all
{"ts": 1700011000000, "group_id": "200", "user_id": "4", "text": "好的收到"}
JSONL
cat >"$dir/cand.json" <<'JSON'
{"name": "candidate", "rules": [
  {"id": "ad.words", "version": 7, "detector": "keywords", "words": ["刷单"], "reason": "禁止发广告"}
]}
JSON
cat >"$dir/base.json" <<'JSON'
{"name": "baseline", "rules": [{"id": "flood", "detector": "flood"}]}
JSON

"$QUNBOT" replay --jsonl "$dir/msgs.jsonl" --pack "$dir/cand.json" >"$dir/out" 2>"$dir/err" \
    || fail "replay exited with $?"
grep -q "line 8\|:8:" "$dir/err" || fail "the broken line was not reported: $(cat "$dir/err")"
[ "$(grep -c 'ad.words v7' "$dir/out")" = 5 ] || fail "expected 5 flagged messages"
grep -q '成员 2 .*' "$dir/out" || fail "member 2 not listed"
for step in 私聊提醒 公开提醒 禁言 移出群; do
    grep -q "撤回 + $step" "$dir/out" || fail "ladder step $step missing"
done
# the newcomer in group 200 starts at the first step
grep -A1 '群 200  成员 3' "$dir/out" | grep -q '私聊提醒' || fail "member 3 should start at the first step"
grep -q '扫描 8 条，处理 5 条' "$dir/out" || fail "summary counts wrong"
grep -q '涉及 2 人' "$dir/out" || fail "members affected wrong"
grep -q '刷单兼职' "$dir/out" || fail "no excerpt of the flagged message"

"$QUNBOT" replay --jsonl "$dir/msgs.jsonl" --pack "$dir/cand.json" --baseline "$dir/base.json" \
    --group 100 >"$dir/out" 2>/dev/null || fail "compare run failed"
grep -q '两套规则结论不同的消息：4 条' "$dir/out" || fail "difference count wrong"
grep -q '基线: （不处理）' "$dir/out" || fail "baseline column missing"

"$QUNBOT" replay --jsonl "$dir/msgs.jsonl" --show 0 >"$dir/out" 2>/dev/null \
    || fail "the built-in pack does not load"
grep -q '扫描 8 条' "$dir/out" || fail "built-in pack summary missing"

echo '{"rules": [{"id": "x", "detector": "keyword", "words": ["a"]}]}' >"$dir/bad.json"
"$QUNBOT" replay --jsonl "$dir/msgs.jsonl" --pack "$dir/bad.json" >"$dir/out" 2>&1
[ $? -eq 2 ] || fail "a broken pack must exit 2"
grep -q 'bad.json:1:.*did you mean "keywords"' "$dir/out" || fail "broken pack message unclear"
"$QUNBOT" replay --db "$dir/none.db" >"$dir/out" 2>&1
[ $? -eq 2 ] || fail "a missing database must exit 2"
grep -q 'cannot open the database\|does not look like a qunbot database' "$dir/out" || fail "missing database message unclear"
rm -rf "$dir"
echo "1 passed, 0 failed"
