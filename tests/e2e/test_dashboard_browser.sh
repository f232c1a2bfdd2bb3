#!/usr/bin/env bash
# test_dashboard_browser.sh — the dashboard in headless Chromium: the real qunbot (http on,
# insight plugin recording the simulator's demo chatter) serves the page, and the test adds a
# few rows of its own to the bot's database (a member 查找测试员 with invitees, a talk and its
# week-earlier baseline, two guard cases). Opened with the token the page lists the groups in
# the comparison table, draws the charts (canvases with painted pixels), finds the member by
# part of the name and shows their stage, renders the moderation log and every report section
# the API sends; opened without it shows the refusal.
# DASHBOARD_SHOT=docs/dashboard.png saves the screenshot there.
# Usage: test_dashboard_browser.sh QUNBOT QUNBOT_SIM
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

# --- the test's own rows, written next to the running bot (WAL: readers and writers coexist)
export TZ=Asia/Shanghai
G=810001001 SEEKER=2999999001 now=$(date +%s)
at() { # at USER EPOCH_S MESSAGES: one hour of activity
    echo "INSERT INTO insight_activity (group_id, user_id, day, hour, weekday, messages, chars)" \
        "VALUES ('$G', '$1', '$(date -d "@$2" +%F)', $((10#$(date -d "@$2" +%H))),"\
        "$(($(date -d "@$2" +%u) - 1)), $3, $(($3 * 12)));"
}
talk=$(((now / 3600 - 5) * 3600)) # a talk five hours ago, on the hour
{
    echo "BEGIN;"
    echo "INSERT INTO insight_members (group_id, user_id, name, joined_ms, first_msg_ms,"\
        "last_msg_ms, messages) VALUES ('$G', '$SEEKER', '查找测试员', $(((now - 40 * 86400) * 1000)),"\
        "$(((now - 39 * 86400) * 1000)), $((now * 1000)), 30);"
    for k in 1 2 3; do
        left=0; [ $k = 3 ] && left=$(((now - 2 * 86400) * 1000))
        echo "INSERT INTO insight_members (group_id, user_id, name, joined_ms, left_ms, inviter)"\
            "VALUES ('$G', '299999910$k', '被邀请的朋友$k', $(((now - 12 * 86400) * 1000)), $left, '$SEEKER');"
    done
    at $SEEKER "$now" 4
    at 2999999101 $((now - 4 * 86400)) 3 # one invitee spoke in their first week
    for h in 0 1 2; do
        at $SEEKER $((talk + h * 3600)) 9
        at 2999999002 $((talk + h * 3600)) 6
        for w in 1 2; do at $SEEKER $((talk - w * 7 * 86400 + h * 3600)) 2; done
    done
    echo "INSERT INTO talks_talks (id, group_id, topic, speakers, start_ms, dur_ms, status,"\
        "source, created_ms) VALUES (990001, '$G', '如何读完一本书', '2999999002',"\
        "$((talk * 1000)), 3600000, 'ended', 'e2e-seed', $(((talk - 86400) * 1000)));"
    for c in 1 2; do
        echo "INSERT INTO guard_cases (case_no, ts, platform, self_id, group_id, user_id,"\
            "message_id, rule_id, version, reason, step, mute_s, pardoned) VALUES (99000$c,"\
            "$(((now - c * 3600) * 1000)), 'qq', '10001', '$G', '$SEEKER', 'e2e-m$c', 'ads.link', 1,"\
            "'发了广告链接 $c', '$([ $c = 1 ] && echo warn || echo mute)', $((c * 300)), $((c - 1)));"
    done
    echo "COMMIT;"
} >"$dir/seed.sql"
sqlite3 -cmd ".timeout 5000" "$dir/qunbot.db" <"$dir/seed.sql" || fail "the test rows do not load"
# The dashboard caches its answers for 60 s and warms them at start, possibly before the rows
# above were there (a slow, sanitised build starts later): restart the bot so the page sees
# them, as an operator would after editing the database by hand.
kill -TERM $bot 2>/dev/null
wait $bot 2>/dev/null
"$QUNBOT" run --config "$dir/qunbot.json" >>"$dir/bot.log" 2>&1 &
bot=$!
for _ in $(seq 100); do [ "$(grep -c "dashboard at" "$dir/bot.log")" -ge 2 ] && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$dir/bot.log" | tail -1)
[ "$(grep -c "dashboard at" "$dir/bot.log")" -ge 2 ] || fail "the bot did not restart the dashboard"

cat >"$dir/check.js" <<'JS'
const { chromium } = require(process.env.ROOT + '/web/node_modules/playwright-core');
const GROUP = '810001001', SEEKER = '2999999001';
(async () => {
  const [chrome, url, shot] = process.argv.slice(2);
  const apiGet = async (path) => {
    const r = await fetch(url + path.slice(1), { headers: { Authorization: 'Bearer dash-token' } });
    if (!r.ok) throw new Error(path + ': ' + r.status);
    return r.json();
  };
  const browser = await chromium.launch({ executablePath: chrome, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  let res = await page.goto(url + '?token=dash-token');
  if (res.status() !== 200) throw new Error('page status ' + res.status());
  await page.waitForSelector('#groups tbody tr', { timeout: 10000 });
  await page.waitForSelector('#group-section:not([hidden])', { timeout: 10000 });
  await page.waitForSelector('#moderation tbody tr', { timeout: 10000 });
  if (page.url().includes('token=')) throw new Error('the token stayed in the address bar');

  // the comparison table: every group, with DAU/MAU, newcomer retention, top-10% share and
  // moderation per 1,000 messages
  const groups = await page.$$eval('#groups tbody tr', (rows) => rows.map((r) => r.dataset.group));
  if (!groups.includes(GROUP)) throw new Error('group ' + GROUP + ' not in the comparison table');
  const heads = await page.$$eval('#groups thead th', (t) => t.map((e) => e.textContent));
  for (const h of ['DAU/MAU', '新人留存', '前 10% 发言占比', '每千条消息处置']) {
    if (!heads.includes(h)) throw new Error('the comparison table has no column ' + h);
  }
  const cells = await page.$$eval(`#groups tr[data-group="${GROUP}"] td`, (t) => t.map((e) => e.textContent));
  if (cells.length !== heads.length || !/%$/.test(cells[heads.indexOf('DAU/MAU')]))
    throw new Error('the comparison row is incomplete: ' + cells.join(' | '));

  // charts drawn
  const painted = async (id) => page.$eval(id, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  const daily = await painted('#daily-chart');
  if (daily < 1000) throw new Error('the daily chart is empty (' + daily + ' pixels)');

  // the moderation log: the seeded cases, newest first, with the member's name
  const mod = await page.$$eval('#moderation tbody tr', (rows) => rows.map((r) => r.textContent));
  const seeded = mod.filter((t) => t.includes('发了广告链接'));
  if (seeded.length !== 2 || !seeded[0].includes('990001') || !seeded[0].includes('查找测试员') ||
      !seeded[1].includes('已撤销'))
    throw new Error('the moderation log does not show the seeded cases: ' + mod.join(' / '));

  // report sections: shown exactly when the API sends them
  const rep = await apiGet(`/api/groups/${GROUP}/report?since=30d`);
  const sections = { newcomers: '#newcomers-section', effects: '#effects-section',
    invites: '#invites-section', bridges: '#bridges-section', moderation_by: '#moderation-by-section' };
  const shown = [];
  for (const [key, sel] of Object.entries(sections)) {
    const present = key === 'effects' ? Array.isArray(rep.effects) && rep.effects.length > 0
      : rep[key] !== undefined && rep[key] !== null;
    const visible = await page.$eval(sel, (e) => !e.hidden);
    if (present !== visible) throw new Error(`section ${key}: sent ${present}, shown ${visible}`);
    if (visible) shown.push(key);
  }
  if (rep.effects && rep.effects.length) {
    const eff = await painted('#effects-chart');
    if (eff < 500) throw new Error('the effects chart is empty (' + eff + ' pixels)');
  }
  if (rep.invites) {
    const inv = await page.$eval('#invites tbody', (t) => t.textContent);
    if (!inv.includes('查找测试员')) throw new Error('the referral leaderboard misses the seeded inviter');
  }

  // member lookup by part of the name: the card shows their stage
  const want = await apiGet(`/api/groups/${GROUP}/members/${SEEKER}?since=30d`);
  await page.fill('#member-search', '查找测试');
  await page.click(`#member-results li[data-user="${SEEKER}"]`, { timeout: 5000 });
  await page.waitForSelector('#member-card:not([hidden]) .stage', { timeout: 5000 });
  const card = await page.textContent('#member-card');
  if (!card.includes('查找测试员') || !card.includes(want.stage_name) ||
      !card.includes('PageRank') || !/第 \d+ \/ \d+ 名/.test(card)) // the demo keeps chatting
    throw new Error('the member card is wrong: ' + card);
  await page.fill('#member-search', 'no-such-member-xyz');
  const none = await page.textContent('#member-results');
  if (!none.includes('没有找到')) throw new Error('an unknown name does not say so');
  await page.fill('#member-search', '');

  await page.screenshot({ path: shot, fullPage: true });
  const anon = await browser.newPage();
  res = await anon.goto(url);
  const text = await anon.textContent('body');
  if (res.status() !== 401 || !text.includes('需要访问令牌')) throw new Error('no refusal without a token');
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  await browser.close();
  console.log(`groups: ${groups.join(', ')}; chart pixels: ${daily}; stage: ${want.stage_name};` +
    ` sections: ${shown.join(', ') || 'none sent'}`);
})().catch((e) => { console.error(e.message); process.exit(1); });
JS
ROOT=$ROOT node "$dir/check.js" "$CHROME" "$url" "${DASHBOARD_SHOT:-$dir/dashboard.png}" >"$dir/check.log" 2>&1 \
    || { cat "$dir/check.log"; fail "the dashboard check in Chromium failed"; }
cat "$dir/check.log"
kill -TERM $bot; wait $bot
kill $sim; wait $sim 2>/dev/null
rm -rf "$dir"
echo "1 passed, 0 failed"
