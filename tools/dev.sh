#!/usr/bin/env bash
# tools/dev.sh — the two set-up commands of the README, for a fresh Debian/Ubuntu machine.
#   tools/dev.sh sandbox   install what is missing, build, and start qunbot against the
#                          simulator playing a small lively community (SQLite in sandbox/)
#   tools/dev.sh test      install what is missing, build (plain and ASan+UBSan, warnings
#                          as errors) and run the whole test suite under CTest
# apt-get installs the system packages; npm (from web/package-lock.json) only the browser-test
# tools of the dashboard. The dashboard itself is shipped built in web/dist.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libwebsockets-dev libwebsockets-evlib-ev libev-dev
          libcjson-dev libsqlite3-dev libssl-dev libpcre2-dev tzdata sqlite3 ca-certificates openssl
          zbar-tools)
# The dashboard's browser test: Debian's chromium, CJK fonts, and playwright-core from the npm
# registry (web/package-lock.json); node and npm from Debian when the machine has none.
TEST_PACKAGES=(chromium fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || TEST_PACKAGES+=(nodejs npm)
JOBS=$(nproc 2>/dev/null || echo 2)

install_missing() { # install_missing [extra packages...]
    local missing=()
    for p in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() { # build DIR [cmake args...]
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQB_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

cmd_test() {
    install_missing "${TEST_PACKAGES[@]}"
    if [ ! -d web/node_modules/playwright-core ]; then
        echo "== installing the dashboard's test packages (npm ci in web/)"
        (cd web && npm ci --no-audit --no-fund --loglevel=error)
    fi
    echo "== build (warnings as errors)"
    build build
    echo "== tests"
    (cd build && ctest --output-on-failure -j "$JOBS")
    echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan -DQB_SANITIZE=ON
    echo "== tests under ASan+UBSan"
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp:print_suppressions=0" \
        ctest --output-on-failure -j "$JOBS")
}

cmd_sandbox() {
    install_missing
    build build
    mkdir -p sandbox
    local port=${QUNBOT_SIM_PORT:-3001}
    echo "== starting the simulator (a lively demo community) on ws://127.0.0.1:$port"
    ./build/qunbot-sim --listen "127.0.0.1:$port" --token sandbox-token --demo --chatter 1500 \
        --heartbeat 30000 --transcript --script tools/sim/demo.scenario \
        --record sandbox/api-calls.jsonl &
    SIM_PID=$!
    trap 'kill $SIM_PID 2>/dev/null; wait $SIM_PID 2>/dev/null' EXIT INT TERM
    sleep 0.5
    echo "== starting qunbot (database sandbox/qunbot.db); Ctrl-C stops both"
    ./build/qunbot run --config config/sandbox.json --connect "ws://127.0.0.1:$port"
}

case "${1:-}" in
test) cmd_test ;;
sandbox) cmd_sandbox ;;
*) echo "usage: tools/dev.sh test|sandbox" >&2; exit 2 ;;
esac
