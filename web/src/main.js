// qunbot dashboard: reads ?token= once, then lists the groups side by side and shows one
// group's report (overview cards, daily chart, heatmap, funnel, newcomers, event effects,
// referrals, bridges, top members, member lookup, moderation) from the bot's read-only JSON
// API (docs/INSIGHT.md "Dashboard"). Report sections the bot does not send are left hidden.
// Member text is only ever set as textContent, never as HTML.
import {
  Chart, LineController, LineElement, PointElement, BarController, BarElement,
  LinearScale, CategoryScale, Tooltip, Legend, Filler,
} from 'chart.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement,
  LinearScale, CategoryScale, Tooltip, Legend, Filler);

const WEEKDAYS = ['周一', '周二', '周三', '周四', '周五', '周六', '周日'];
const params = new URLSearchParams(location.search);
let token = params.get('token') || '';
if (token) {
  // keep the token out of the address bar and history; the page's cookie keeps us signed in
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + (rest ? '?' + rest : ''));
}

const charts = {};
let current = null;
let members = []; // the shown group's members (from its report), for the lookup box
const memberNames = new Map();
const $ = (id) => document.getElementById(id);

function status(text, error) {
  const el = $('status');
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('error', !!error);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// When the server computed an answer (X-Qunbot-Computed, Unix ms): the oldest of the
// answers on screen is shown as 数据更新于 HH:MM:SS (answers may come from the bot's cache).
let oldestComputed = 0;

function showComputed() {
  const box = $('computed');
  if (!oldestComputed) { box.hidden = true; return; }
  const d = new Date(oldestComputed);
  const two = (n) => String(n).padStart(2, '0');
  box.textContent = `数据更新于 ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  box.title = d.toLocaleString('zh-CN');
  box.hidden = false;
}

function noteComputed(res) {
  const ms = Number(res.headers.get('X-Qunbot-Computed'));
  if (!Number.isFinite(ms) || ms <= 0) return;
  if (!oldestComputed || ms < oldestComputed) oldestComputed = ms;
  showComputed();
}

async function api(path) {
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  const res = await fetch(path, { headers, credentials: 'same-origin', cache: 'no-store' });
  if (res.ok) noteComputed(res);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) throw new ApiError(res.status, (body && body.error) || res.statusText);
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function num(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return digits === undefined ? Number(v).toLocaleString('zh-CN')
    : Number(v).toFixed(digits);
}

function pct(v) {
  return v === null || v === undefined ? '—' : (v * 100).toFixed(1) + '%';
}

function row(tbody, cells) {
  const tr = el('tr');
  for (const c of cells) tr.appendChild(el('td', c));
  tbody.appendChild(tr);
  return tr;
}

function fmtTime(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function renderGroups(groups) {
  const tbody = $('groups').querySelector('tbody');
  tbody.replaceChildren();
  for (const g of groups) {
    const tr = row(tbody, [g.group_id, num(g.members), num(g.messages_7d), num(g.active_7d),
      pct(g.dau_mau), pct(g.newcomer_retention), pct(g.top10_share),
      num(g.moderation_per_1000, 1), num(g.net_growth_30d)]);
    tr.dataset.group = g.group_id;
    tr.cells[5].title = g.newcomers_30d ? `${g.newcomers_30d} 位新人已满一周` : '最近 30 天没有已满一周的新人';
    tr.addEventListener('click', () => showGroup(g.group_id));
  }
  $('groups-section').hidden = false;
}

function renderCards(ov) {
  const list = [
    ['消息', num(ov.messages)], ['发言人数', num(ov.active_members)], ['成员', num(ov.members)],
    ['日活 DAU', num(ov.dau, 1)], ['月活 MAU', num(ov.mau, 1)], ['粘性 DAU/MAU', pct(ov.dau_mau)],
    ['入群', num(ov.joins)], ['退群', num(ov.leaves)], ['净增', num(ov.net_growth)],
    ['签到', num(ov.checkins)], ['提问', num(ov.questions)],
    ['回复中位数', ov.median_response_s === null ? '—' : num(ov.median_response_s / 60, 1) + ' 分钟'],
    ['处置', num(ov.moderation)], ['前 10% 发言占比', pct(ov.top10_share)],
  ];
  cards($('cards'), list);
}

function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), config);
}

function renderDaily(daily) {
  chart('daily-chart', {
    type: 'line',
    data: {
      labels: daily.map((d) => d.date.slice(5)),
      datasets: [
        { label: '消息', data: daily.map((d) => d.messages), borderColor: '#2f6fde',
          backgroundColor: 'rgba(47,111,222,0.12)', fill: true, tension: 0.25, yAxisID: 'y' },
        { label: '发言人数', data: daily.map((d) => d.active), borderColor: '#e07b00',
          tension: 0.25, yAxisID: 'y1' },
      ],
    },
    options: {
      animation: false, maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, position: 'left' },
        y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } },
    },
  });
}

function renderFunnel(funnel) {
  chart('funnel-chart', {
    type: 'bar',
    data: {
      labels: funnel.map((f) => f.name),
      datasets: [{ label: '人数', data: funnel.map((f) => f.members), backgroundColor: '#3fa36b' }],
    },
    options: { animation: false, maintainAspectRatio: false, indexAxis: 'y',
      plugins: { legend: { display: false } } },
  });
}

function renderHeatmap(heat) {
  const table = $('heatmap');
  table.replaceChildren();
  let max = 0;
  for (const r of heat) for (const v of r) max = Math.max(max, v);
  const head = el('tr');
  head.appendChild(el('th', ''));
  for (let h = 0; h < 24; h++) head.appendChild(el('th', h));
  table.appendChild(head);
  heat.forEach((r, d) => {
    const tr = el('tr');
    tr.appendChild(el('th', WEEKDAYS[d]));
    r.forEach((v, h) => {
      const td = el('td', v ? v : '');
      td.title = `${WEEKDAYS[d]} ${h}:00 — ${v} 条`;
      const a = max ? v / max : 0;
      td.style.backgroundColor = `rgba(47,111,222,${(0.06 + 0.9 * a).toFixed(3)})`;
      td.style.color = a > 0.5 ? '#fff' : '#1f2933';
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
}

function who(userId, name) {
  const n = name || memberNames.get(userId);
  return n ? `${n} (${userId})` : userId;
}

function duration(s) {
  if (s === null || s === undefined || s < 0) return '—';
  if (s < 60) return Math.round(s) + ' 秒';
  if (s < 3600) return (s / 60).toFixed(1) + ' 分钟';
  if (s < 86400) return (s / 3600).toFixed(1) + ' 小时';
  return (s / 86400).toFixed(1) + ' 天';
}

function cards(box, list) {
  box.replaceChildren();
  for (const [k, v] of list) {
    const c = el('div', null, 'card');
    c.appendChild(el('div', v, 'v'));
    c.appendChild(el('div', k, 'k'));
    box.appendChild(c);
  }
}

function tableRows(id, items, cells, empty) {
  const tbody = $(id).querySelector('tbody');
  tbody.replaceChildren();
  const n = $(id).querySelectorAll('thead th').length;
  if (!items.length && empty) row(tbody, [empty, ...Array(n - 1).fill('')]);
  for (const it of items) row(tbody, cells(it));
}

// A report section: shown only when the bot sent it.
function section(id, present) {
  $(id).hidden = !present;
  return present;
}

function renderMembers(list) {
  const tbody = $('members').querySelector('tbody');
  tbody.replaceChildren();
  for (const m of list.slice(0, 20)) {
    row(tbody, [who(m.user_id, m.name), m.stage_name, num(m.messages), num(m.value, 0),
      m.value_why]);
  }
}

function renderNewcomers(nc) {
  if (!section('newcomers-section', nc && typeof nc === 'object')) return;
  cards($('newcomer-cards'), [
    ['新入群', num(nc.joined)], ['已发言', num(nc.spoke)], ['7 天内发言', num(nc.spoke_7d)],
    ['激活率', pct(nc.activation_rate)], ['首次发言用时（中位）', duration(nc.median_first_msg_s)],
    ['首条消息有人回复', num(nc.first_replied)],
    ['等到回复用时（中位）', duration(nc.median_first_reply_s)],
  ]);
  tableRows('unanswered', Array.isArray(nc.unanswered) ? nc.unanswered : [],
    (u) => [who(u.user_id, u.name), fmtTime(u.joined_ms), fmtTime(u.first_msg_ms),
      fmtTime(u.unanswered_question_ms)], '没有无人回应的新人提问');
}

const EFFECT_KINDS = { talk: '分享会', post: '定时发布', broadcast: '公告' };

function renderEffects(effects) {
  if (!section('effects-section', Array.isArray(effects) && effects.length > 0)) {
    if (charts['effects-chart']) { charts['effects-chart'].destroy(); delete charts['effects-chart']; }
    return;
  }
  const label = (e) => `${EFFECT_KINDS[e.kind] || e.kind}：${e.label || ''}`;
  chart('effects-chart', {
    type: 'bar',
    data: {
      labels: effects.map((e) => label(e).slice(0, 24)),
      datasets: [
        { label: '活动后消息', data: effects.map((e) => e.messages), backgroundColor: '#2f6fde' },
        { label: '平时同时段', data: effects.map((e) => e.base_messages), backgroundColor: '#b8c4d6' },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
  });
  tableRows('effects', effects, (e) => [label(e), fmtTime(e.ts), num(e.messages),
    num(e.base_messages, 1), num(e.speakers), num(e.joins),
    e.lift === null || e.lift === undefined ? '—' : '×' + Number(e.lift).toFixed(2)]);
}

function renderInvites(inv) {
  const board = inv && Array.isArray(inv.leaderboard) ? inv.leaderboard : null;
  if (!section('invites-section', !!board)) return;
  tableRows('invites', board, (i) => [who(i.user_id, i.name), num(i.invited), num(i.stayed),
    num(i.left)], '还没有成员拉人入群');
}

function renderBridges(communities, bridges) {
  const has = Array.isArray(bridges) || (communities && typeof communities === 'object');
  if (!section('bridges-section', has)) return;
  const c = communities || {};
  if (c.count === undefined) $('communities').textContent = '';
  else if (!c.count) $('communities').textContent = '互动还不够多，还分不出小圈子。';
  else {
    $('communities').textContent = `发言互动分成 ${num(c.count)} 个小圈子` +
      (Array.isArray(c.sizes) && c.sizes.length ? `，人数分别为 ${c.sizes.join('、')}` : '');
  }
  tableRows('bridges', Array.isArray(bridges) ? bridges : [],
    (b) => [who(b.user_id, b.name), num(b.community), num(b.reached), pct(b.outside_share)],
    '没有跨圈子的成员');
}

function renderModerationBy(by) {
  if (!section('moderation-by-section', Array.isArray(by))) return;
  tableRows('moderation-by', by, (d) => [d.detector, num(d.hits), num(d.acted), num(d.cases),
    num(d.pardoned)], '这段时间没有检测器命中');
}

function renderModeration(cases) {
  tableRows('moderation', cases, (c) => ['#' + c.case_no, fmtTime(c.ts), who(c.user_id),
    c.rule_id, c.reason, c.step, c.pardoned ? '已撤销' : ''], '没有处置记录');
}

// ---- member lookup: searched in the browser over the group's member list; the card's
// figures come from GET /api/groups/<id>/members/<user_id>.

function searchMembers() {
  const q = $('member-search').value.trim().toLowerCase();
  const list = $('member-results');
  list.replaceChildren();
  if (!q) return;
  const found = members.filter((m) => m.user_id.includes(q) ||
    (m.name || '').toLowerCase().includes(q)).slice(0, 10);
  if (!found.length) {
    list.appendChild(el('li', '没有找到这个成员', 'none'));
    return;
  }
  for (const m of found) {
    const li = el('li', who(m.user_id, m.name));
    li.tabIndex = 0;
    li.dataset.user = m.user_id;
    li.addEventListener('click', () => showMember(m.user_id));
    li.addEventListener('keydown', (e) => { if (e.key === 'Enter') showMember(m.user_id); });
    list.appendChild(li);
  }
}

// The server's member-id rule: only such ids are ever put into an address.
const MEMBER_ID = /^(?!\.+$)[A-Za-z0-9._@:-]{1,63}$/;

async function showMember(userId) {
  const id = current;
  const box = $('member-card');
  $('member-results').replaceChildren();
  try {
    if (!MEMBER_ID.test(userId)) throw new ApiError(400, '成员号格式不对');
    const m = await api(`/api/groups/${encodeURIComponent(id)}/members/` +
      `${encodeURIComponent(userId)}?since=${$('since').value}`);
    if (current !== id) return;
    box.replaceChildren();
    const head = el('div');
    head.appendChild(el('span', who(m.user_id, m.name), 'name'));
    head.appendChild(el('span', m.stage_name, 'stage'));
    box.appendChild(head);
    box.appendChild(el('p', `价值分 ${num(m.value, 0)}（第 ${m.rank} / ${m.member_count} 名）` +
      (m.value_why ? `：${m.value_why}` : ''), 'note'));
    const dl = el('dl');
    const facts = [
      ['消息', num(m.messages)], ['签到', num(m.checkins)], ['听分享会', num(m.talks_attended)],
      ['报名', num(m.signups)], ['拉新（留下）', num(m.invites_stayed)],
      ['被回复', num(m.replies_received)], ['被 @', num(m.mentions_received)],
      ['互动度', num(m.degree, 1)], ['PageRank', num(m.pagerank, 4)],
      ['入群', fmtTime(m.joined_ms)], ['最后发言', fmtTime(m.last_msg_ms)],
    ];
    for (const [k, v] of facts) {
      dl.appendChild(el('dt', k));
      dl.appendChild(el('dd', v));
    }
    box.appendChild(dl);
    box.hidden = false;
  } catch (e) {
    box.replaceChildren(el('p', e.status === 404 ? '这段时间里没有这个成员的记录。'
      : '查不到这个成员：' + e.message, 'note'));
    box.hidden = false;
  }
}

async function showGroup(id) {
  current = id;
  for (const tr of $('groups').querySelectorAll('tbody tr')) {
    tr.classList.toggle('selected', tr.dataset.group === id);
  }
  const since = $('since').value;
  status('加载群 ' + id + ' 的报告…');
  oldestComputed = 0; /* the group's answers replace what was on screen */
  try {
    const enc = encodeURIComponent(id);
    const [rep, cases] = await Promise.all([
      api(`/api/groups/${enc}/report?since=${since}`),
      api(`/api/groups/${enc}/moderation`),
    ]);
    if (current !== id) return;
    $('group-title').textContent = `群 ${id} · ${rep.range.from} 至 ${rep.range.to}`;
    $('group-section').hidden = false;
    renderCards(rep.overview);
    renderDaily(rep.daily);
    renderFunnel(rep.funnel);
    renderHeatmap(rep.heatmap);
    members = Array.isArray(rep.members) ? rep.members : [];
    memberNames.clear();
    for (const m of members) if (m.name) memberNames.set(m.user_id, m.name);
    renderNewcomers(rep.newcomers);
    renderEffects(rep.effects);
    renderInvites(rep.invites);
    renderBridges(rep.communities, rep.bridges);
    renderModerationBy(rep.moderation_by);
    renderMembers(members);
    renderModeration(cases);
    $('member-card').hidden = true;
    searchMembers();
    status('');
  } catch (e) {
    fail(e);
  }
}

function fail(e) {
  if (e instanceof ApiError && e.status === 401) {
    status('需要访问令牌：请用 /?token=你的令牌 打开本页（令牌是配置文件里 http.token 的值）。', true);
    $('groups-section').hidden = true;
    $('group-section').hidden = true;
  } else {
    status('出错了：' + e.message, true);
  }
}

async function start() {
  $('since').addEventListener('change', () => { if (current) showGroup(current); });
  $('member-search').addEventListener('input', searchMembers);
  try {
    const groups = await api('/api/groups');
    if (!groups.length) {
      status('还没有任何群的分析数据：请开启 insight 插件并让机器人运行一段时间。');
      return;
    }
    status('');
    renderGroups(groups);
    showGroup(groups[0].group_id);
  } catch (e) {
    fail(e);
  }
}

start();
