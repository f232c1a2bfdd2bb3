#!/usr/bin/env bash
# test_report.sh — `qunbot report` as an operator uses it: a database holding the insight
# rollup tables (built with the sqlite3 CLI from the schema in bot/insight/schema.c, data
# around today) gives an HTML page (written atomically to --out), CSV, JSON and a text
# summary with the group's figures and escaped names; an unknown group names the groups
# that exist, a bad --since, a missing database, a database without insight data and an
# unwritable --out are plain errors with exit 2.  Usage: test_report.sh QUNBOT QUNBOT_SIM
set -u
QUNBOT=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/qunbot-report-XXXXXX)
passed=0 failed=0
fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    [ -n "${2:-}" ] && { echo "--- output"; head -c 3000 "$2"; echo; }
}
ok() { passed=$((passed + 1)); }
check() { # check NAME EXPECTED_STATUS PATTERN -- command...  (stdout and stderr together)
    local name=$1 want=$2 pattern=$3; shift 4
    "$@" >"$dir/out" 2>&1
    local status=$?
    if [ "$status" -eq "$want" ] && grep -q -- "$pattern" "$dir/out"; then ok; else
        fail "$name: exit $status (want $want), no '$pattern'" "$dir/out"; fi
}

# --- a database with the insight tables, as the insight plugin keeps them
schema=$(sed -n '/qb_insight_migrations\[\] = {/,/^ *NULL,$/p' "$here/../../bot/insight/schema.c" \
    | grep -o '"[^"]*"' | sed 's/^"//; s/"$//' | tr -d '\n')
[ -n "$schema" ] || { echo "FAIL: no schema found in bot/insight/schema.c"; exit 1; }
db=$dir/qunbot.db
export TZ=Asia/Shanghai
today=$(date +%F) yesterday=$(date -d yesterday +%F)
wd_today=$(($(date +%u) - 1)) wd_yesterday=$(($(date -d yesterday +%u) - 1))
now_ms=$(($(date +%s) * 1000)) day_ms=86400000
sqlite3 "$db" "$schema" || { echo "FAIL: the schema does not load"; exit 1; }
sqlite3 "$db" <<SQL || { echo "FAIL: test data does not load"; exit 1; }
CREATE TABLE interactions (id INTEGER PRIMARY KEY, ts BIGINT, direction TEXT, platform TEXT,
  self_id TEXT, group_id TEXT, user_id TEXT, kind TEXT, message_id TEXT, text TEXT, details TEXT);
INSERT INTO interactions (ts, direction, group_id, user_id, kind, text) VALUES
  ($((now_ms - 3600000)), 'in', '100', '20001', 'message', '今晚读书会几点开始'),
  ($((now_ms - 7200000)), 'in', '100', '20002', 'message', '读书会在哪里'),
  ($((now_ms - 7300000)), 'in', '100', '20002', 'message', '<i>读书会</i>');
INSERT INTO insight_members (group_id, user_id, name, joined_ms, first_msg_ms, last_msg_ms,
  messages, is_admin) VALUES
  ('100', '20001', '<b>Alice</b> & "A"', $((now_ms - 60 * day_ms)), $((now_ms - 50 * day_ms)),
   $((now_ms - 3600000)), 40, 1),
  ('100', '20002', '=HYPERLINK("x")', $((now_ms - 3 * day_ms)), $((now_ms - 2 * day_ms)),
   $((now_ms - day_ms)), 4, 0),
  ('100', '20003', 'Carol', $((now_ms - 2 * day_ms)), 0, 0, 0, 0),
  ('200', '30001', 'Dan', $((now_ms - 9 * day_ms)), 0, 0, 0, 0);
INSERT INTO insight_activity (group_id, user_id, day, hour, weekday, messages, chars) VALUES
  ('100', '20001', '$today', 0, $wd_today, 3, 30),
  ('100', '20001', '$yesterday', 10, $wd_yesterday, 2, 20),
  ('100', '20002', '$yesterday', 10, $wd_yesterday, 4, 40),
  ('200', '30001', '$yesterday', 9, $wd_yesterday, 1, 5);
SQL

# --- HTML to a file
check html 0 "wrote the HTML report of group 100" -- \
    "$QUNBOT" report --db "$db" --group 100 --since 7d --out "$dir/r.html"
h=$dir/r.html
if [ -s "$h" ] && grep -q "<title>群报告 100 .*–$today</title>" "$h" && grep -q "<svg" "$h" \
    && grep -q ">9<" "$h" && grep -q "&lt;b&gt;Alice&lt;/b&gt; &amp; &quot;A&quot;" "$h" \
    && ! grep -q "<b>Alice" "$h" && grep -q "$yesterday：6 条消息，2 人发言" "$h" \
    && grep -q "读书会<small>3</small>" "$h"; then ok; else
    fail "html content" "$h"; fi
[ -z "$(find "$dir" -name 'r.html.*')" ] && ok || fail "a temp file was left next to r.html"
# the format follows the file name; an existing file is replaced whole
check csv-file 0 "wrote the CSV report" -- \
    "$QUNBOT" report --db "$db" --group 100 --out "$dir/r.csv"
head -c 3 "$dir/r.csv" | od -An -tx1 | grep -q "ef bb bf" && ok || fail "no BOM in CSV" "$dir/r.csv"

# --- CSV, JSON and text on stdout
"$QUNBOT" report --db "$db" --group 100 --since 7d --format csv >"$dir/csv" 2>&1 \
    && grep -q "^messages,9"$'\r'"$" "$dir/csv" && grep -q "^active_members,2"$'\r' "$dir/csv" \
    && grep -q "^20002,\"'=HYPERLINK(\"\"x\"\")\"," "$dir/csv" \
    && grep -q '^20001,"<b>Alice</b> & ""A""",partner,' "$dir/csv" \
    && grep -q "^$yesterday,6,2"$'\r' "$dir/csv" && grep -q "^读书会,3"$'\r' "$dir/csv" \
    && ok || fail "csv content" "$dir/csv"
"$QUNBOT" report --db "$db" --group 100 --since 7d --format json >"$dir/json" 2>&1 \
    && grep -q '"group_id":"100"' "$dir/json" && grep -q '"messages":9,' "$dir/json" \
    && grep -q '"active_members":2,' "$dir/json" \
    && grep -q '"name":"<b>Alice</b> & \\"A\\""' "$dir/json" \
    && grep -q "\"date\":\"$yesterday\",\"messages\":6,\"active\":2" "$dir/json" \
    && ok || fail "json content" "$dir/json"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["overview"]["messages"] == 9
assert len(d["heatmap"]) == 7 and len(d["members"]) == 3' "$dir/json" && ok || fail "json does not parse" "$dir/json"
fi
check text 0 "群报告" -- "$QUNBOT" report --db "$db" --group 100 --since 7d
grep -q "消息 9 条" "$dir/out" && ok || fail "text summary figures" "$dir/out"

# --- errors in plain words, exit 2
check unknown-group 2 "no data for group 999.*Groups with data: 100, 200" -- \
    "$QUNBOT" report --db "$db" --group 999
check no-group 2 "say which group with --group" -- "$QUNBOT" report --db "$db"
check bad-since 2 "\-\-since" -- "$QUNBOT" report --db "$db" --group 100 --since 30x
check bad-format 2 "must be html, csv, json or text" -- \
    "$QUNBOT" report --db "$db" --group 100 --format pdf
check bad-tz 2 "unknown time zone 'Mars/Base'" -- \
    "$QUNBOT" report --db "$db" --group 100 --tz Mars/Base
check missing-db 2 "cannot read the database $dir/none.db" -- \
    "$QUNBOT" report --db "$dir/none.db" --group 100
sqlite3 "$dir/plain.db" "CREATE TABLE interactions (id INTEGER PRIMARY KEY);"
check no-insight 2 "this database has no insight data yet: run the bot with the insight plugin on" \
    -- "$QUNBOT" report --db "$dir/plain.db" --group 100
echo "not a database at all, just some text that is long enough to be a header ......" \
    >"$dir/junk.db"
check junk-db 2 "cannot be read as a qunbot database" -- \
    "$QUNBOT" report --db "$dir/junk.db" --group 100
check bad-out 2 "cannot write $dir/nope/r.html" -- \
    "$QUNBOT" report --db "$db" --group 100 --out "$dir/nope/r.html"
check help 0 "Usage: qunbot report" -- "$QUNBOT" report --help
# the database is only read
[ "$(sqlite3 "$db" 'select sum(messages) from insight_activity')" = 10 ] && ok \
    || fail "the database changed"

rm -rf "$dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
