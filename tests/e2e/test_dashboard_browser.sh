#!/usr/bin/env bash
# test_dashboard_browser.sh — the dashboard in headless Chromium: the real qunbot (http on,
# insight plugin recording the simulator's demo chatter) serves the page; opened with the
# token it lists the groups and draws the charts (a canvas with painted pixels), opened
# without it shows the refusal. DASHBOARD_SHOT=docs/dashboard.png saves the screenshot there.  Usage: test_dashboard_browser.sh QUNBOT QUNBOT_SIM
# Needs Debian's chromium (CHROMIUM=path to override) and web/node_modules (cd web && npm ci).
set -u
QUNBOT=$1 SIM=$2
ROOT=$(pwd)
CHROME=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
dir=$(mktemp -d /tmp/qunbot-e2e-XXXXXX)
fail() { echo "FAIL: $*"; echo "--- qunbot log"; tail -30 "$dir/bot.log" 2>/dev/null; kill $bot $sim 2>/dev/null; exit 1; }
[ -n "$CHROME" ] || fail "chromium is not installed (apt-get install chromium)"
[ -d web/node_modules/playwright-core ] || fail "playwright-core is missing (cd web && npm ci)"
[ -f web/dist/index.html ] || fail "web/dist is missing (cd web && npm run build)"
bot= sim=

"$SIM" --listen 127.0.0.1:0 --port-file "$dir/port" --token e2e --demo --chatter 20 \
    >"$dir/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || fail "the simulator did not start"
cat >"$dir/qunbot.json" <<JSON
{"accounts": [{"url": "ws://127.0.0.1:$(cat "$dir/port")", "token": "e2e"}],
 "storage": {"path": "$dir/qunbot.db"}, "rules_dir": "$dir/rules",
 "http": {"enabled": true, "port": 0, "token": "dash-token"}}
JSON
"$QUNBOT" run --config "$dir/qunbot.json" >"$dir/bot.log" 2>&1 &
bot=$!
for _ in $(seq 100); do grep -q "dashboard at" "$dir/bot.log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$dir/bot.log" | head -1)
[ -n "$url" ] || fail "the bot did not start the dashboard"
sleep 3 # let the demo community chat for a while (insight rows are written as events arrive)

cat >"$dir/check.js" <<'JS'
const { chromium } = require(process.env.ROOT + '/web/node_modules/playwright-core');
(async () => {
  const [chrome, url, shot] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: chrome, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  let res = await page.goto(url + '?token=dash-token');
  if (res.status() !== 200) throw new Error('page status ' + res.status());
  await page.waitForSelector('#groups tbody tr', { timeout: 10000 });
  await page.waitForSelector('#group-section:not([hidden])', { timeout: 10000 });
  const groups = await page.$$eval('#groups tbody tr', (rows) => rows.map((r) => r.dataset.group));
  if (!groups.length) throw new Error('no group listed');
  const painted = await page.$eval('#daily-chart', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  if (painted < 1000) throw new Error('the daily chart is empty (' + painted + ' pixels)');
  if (page.url().includes('token=')) throw new Error('the token stayed in the address bar');
  await page.screenshot({ path: shot, fullPage: true });
  const anon = await browser.newPage();
  res = await anon.goto(url);
  const text = await anon.textContent('body');
  if (res.status() !== 401 || !text.includes('需要访问令牌')) throw new Error('no refusal without a token');
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  await browser.close();
  console.log('groups: ' + groups.join(', ') + '; chart pixels: ' + painted);
})().catch((e) => { console.error(e.message); process.exit(1); });
JS
ROOT=$ROOT node "$dir/check.js" "$CHROME" "$url" "${DASHBOARD_SHOT:-$dir/dashboard.png}" >"$dir/check.log" 2>&1 \
    || { cat "$dir/check.log"; fail "the dashboard check in Chromium failed"; }
cat "$dir/check.log"
kill -TERM $bot; wait $bot
kill $sim; wait $sim 2>/dev/null
rm -rf "$dir"
echo "1 passed, 0 failed"
