// qunbot dashboard: reads ?token= once, then lists the groups and shows one group's report
// (overview cards, daily chart, heatmap, funnel, top members, moderation) from the bot's
// read-only JSON API (docs/INSIGHT.md "Dashboard"). Member text is only ever set as
// textContent, never as HTML.
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

async function api(path) {
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  const res = await fetch(path, { headers, credentials: 'same-origin', cache: 'no-store' });
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
      pct(g.dau_mau), pct(g.top10_share), num(g.moderation_per_1000, 1), num(g.net_growth_30d)]);
    tr.dataset.group = g.group_id;
    tr.addEventListener('click', () => showGroup(g.group_id));
  }
  $('groups-section').hidden = false;
}

function renderCards(ov) {
  const cards = [
    ['消息', num(ov.messages)], ['发言人数', num(ov.active_members)], ['成员', num(ov.members)],
    ['日活 DAU', num(ov.dau, 1)], ['月活 MAU', num(ov.mau, 1)], ['粘性 DAU/MAU', pct(ov.dau_mau)],
    ['入群', num(ov.joins)], ['退群', num(ov.leaves)], ['净增', num(ov.net_growth)],
    ['签到', num(ov.checkins)], ['提问', num(ov.questions)],
    ['回复中位数', ov.median_response_s === null ? '—' : num(ov.median_response_s / 60, 1) + ' 分钟'],
    ['处置', num(ov.moderation)], ['前 10% 发言占比', pct(ov.top10_share)],
  ];
  const box = $('cards');
  box.replaceChildren();
  for (const [k, v] of cards) {
    const c = el('div', null, 'card');
    c.appendChild(el('div', v, 'v'));
    c.appendChild(el('div', k, 'k'));
    box.appendChild(c);
  }
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

function renderMembers(members) {
  const tbody = $('members').querySelector('tbody');
  tbody.replaceChildren();
  for (const m of members.slice(0, 20)) {
    row(tbody, [m.name ? `${m.name} (${m.user_id})` : m.user_id, m.stage_name, num(m.messages),
      num(m.value, 0), m.value_why]);
  }
}

function renderModeration(cases) {
  const tbody = $('moderation').querySelector('tbody');
  tbody.replaceChildren();
  if (!cases.length) row(tbody, ['没有处置记录', '', '', '', '']);
  for (const c of cases) {
    row(tbody, [fmtTime(c.ts), c.user_id, c.rule_id, c.step, c.pardoned ? '已撤销' : '']);
  }
}

async function showGroup(id) {
  current = id;
  for (const tr of $('groups').querySelectorAll('tbody tr')) {
    tr.classList.toggle('selected', tr.dataset.group === id);
  }
  const since = $('since').value;
  status('加载群 ' + id + ' 的报告…');
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
    renderMembers(rep.members);
    renderModeration(cases);
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
