#!/usr/bin/env bash
# test_cli.sh — the qunbot command line as a community manager meets it: --version,
# --help, usage errors, and check-config on good and broken files (every problem as
# file:line:col, exit 2).  Usage: test_cli.sh QUNBOT QUNBOT_SIM
set -u
QUNBOT=$1
dir=$(mktemp -d /tmp/qunbot-cli-XXXXXX)
passed=0 failed=0
check() { # check NAME EXPECTED_STATUS PATTERN -- command...
    local name=$1 want=$2 pattern=$3; shift 4
    local out status
    out=$("$@" 2>&1); status=$?
    if [ "$status" -eq "$want" ] && grep -q -- "$pattern" <<<"$out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: exit $status (want $want), output:"; echo "$out" | head -20
    fi
}

check version 0 "^qunbot 0\." -- "$QUNBOT" --version
check help 0 "check-config" -- "$QUNBOT" --help
check no-command 2 "Usage" -- "$QUNBOT"
check unknown-arg 2 "unknown argument '--frobnicate'" -- "$QUNBOT" run --frobnicate
check missing-config 2 "cannot read the config file" -- "$QUNBOT" run --config "$dir/nope.json"
check example-ok 0 "OK" -- "$QUNBOT" check-config --config config/qunbot.example.json

cat >"$dir/bad.json" <<'JSON'
{
  "accounts": [{"url": "http://127.0.0.1:3001", "token": "s3cret-token"}],
  "log_level": "loud",
  "tmezone": "Asia/Shanghai"
}
JSON
check bad-url 2 "bad.json:2:.*ws://" -- "$QUNBOT" check-config --config "$dir/bad.json"
check bad-level 2 "bad.json:3:16: .*log_level" -- "$QUNBOT" check-config --config "$dir/bad.json"
check typo 2 "bad.json:4:3: .*did you mean 'timezone'" -- "$QUNBOT" check-config --config "$dir/bad.json"
out=$("$QUNBOT" check-config --config "$dir/bad.json" 2>&1)
if grep -q "s3cret-token" <<<"$out"; then failed=$((failed + 1)); echo "FAIL token printed"; else passed=$((passed + 1)); fi

mkdir -p "$dir/rules"
echo '{"accounts": [{"url": "ws://127.0.0.1:1"}], "rules_dir": "rules"}' >"$dir/ok.json"
printf '{\n  "name": "x",\n  "groups": ["1"],\n  "plugins": {"hepl": {"enabled": true}}\n}\n' >"$dir/rules/c.json"
check rules-typo 2 "c.json:4:15: .*did you mean 'help'" -- "$QUNBOT" check-config --config "$dir/ok.json"
rm "$dir/rules/c.json"
check rules-ok 0 "OK" -- "$QUNBOT" check-config --config "$dir/ok.json"
check bad-override 2 "ws:// or wss://" -- "$QUNBOT" run --config "$dir/ok.json" --connect http://x

rm -rf "$dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
