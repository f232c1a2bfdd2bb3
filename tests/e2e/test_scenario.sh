#!/usr/bin/env bash
# test_scenario.sh — the real qunbot and qunbot-sim binaries over loopback: the simulator
# runs tests/e2e/basic.scenario (help in a group and in private, malformed frames, the
# platform killed and restarted with back-fill), SIGHUP reloads the rules, then qunbot is
# stopped with SIGTERM and the database must hold what happened.  Usage: test_scenario.sh QUNBOT QUNBOT_SIM
set -u
QUNBOT=$1 SIM=$2
dir=$(mktemp -d /tmp/qunbot-e2e-XXXXXX)
fail() { echo "FAIL: $*"; echo "--- qunbot log"; tail -30 "$dir/bot.log"; echo "--- sim log"; tail -30 "$dir/sim.log"; exit 1; }

"$SIM" --listen 127.0.0.1:0 --port-file "$dir/port" --token e2e-token --heartbeat 1000 \
    --script tests/e2e/basic.scenario --exit-after-script --record "$dir/calls.jsonl" \
    >"$dir/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || fail "the simulator did not start"
port=$(cat "$dir/port")

mkdir -p "$dir/rules"
cat >"$dir/qunbot.json" <<JSON
{"accounts": [{"name": "e2e", "url": "ws://127.0.0.1:$port", "token": "e2e-token"}],
 "storage": {"path": "qunbot.db"}, "rules_dir": "rules",
 "rate_limits": {"account_interval": "100ms", "jitter": "0ms"},
 "connection": {"reconnect_min": "500ms", "reconnect_max": "2s"}}
JSON
"$QUNBOT" run --config "$dir/qunbot.json" >"$dir/bot.log" 2>&1 &
bot=$!

wait $sim
sim_status=$?
# SIGHUP reloads the rules without dropping anything
kill -HUP $bot
for _ in $(seq 50); do grep -q "rules reloaded" "$dir/bot.log" && break; sleep 0.1; done
kill -TERM $bot
wait $bot
bot_status=$?
[ $sim_status -eq 0 ] || fail "scenario expectations failed (simulator exit $sim_status)"
[ $bot_status -eq 0 ] || fail "qunbot exited with $bot_status after SIGTERM"
grep -q "everything logged is saved" "$dir/bot.log" || fail "no clean-stop message"
grep -q "malformed frame" "$dir/bot.log" || fail "malformed frame not reported"
grep -q "rules reloaded" "$dir/bot.log" || fail "SIGHUP did not reload the rules"

q() { sqlite3 "$dir/qunbot.db" "$1"; }
[ "$(q "select count(*) from interactions where direction='in' and kind='message' and text='帮助'")" = 1 ] \
    || fail "the 帮助 message is not in the log exactly once"
[ "$(q "select count(*) from interactions where direction='in' and text='while the bot was away'")" = 1 ] \
    || fail "the message sent while the bot was away was not back-filled"
[ "$(q "select count(*) from interactions where direction='in' and kind='never_seen_before'")" = 1 ] \
    || fail "the unknown event kind was not kept"
sends=$(q "select count(*) from interactions where direction='out' and kind='send'")
results=$(q "select count(*) from interactions where direction='result' and kind='send'")
[ "$sends" -ge 4 ] || fail "expected at least 4 sends in the log, got $sends"
[ "$sends" = "$results" ] || fail "$sends sends but $results results in the log"
[ "$(grep -c '"action":"send_' "$dir/calls.jsonl")" = "$sends" ] || fail "the simulator saw a different number of sends"
rm -rf "$dir"
echo "1 passed, 0 failed"
