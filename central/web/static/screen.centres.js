// The centres table: every centre on one row, always in view: its open cases per light, today's
// figures, its queue, its satisfaction and its devices at a glance.

import { KINDS, HEALTH, badge, count, duration, el, fmt, moment, percent } from "./screen.dom.js";

const CHIPS = 2;  // troubled devices named on a row; the devices page lists them all

export function stagesShown(board, alarmOnly) {
  // Every open stage, worst first; "uncertain" only when some case is uncertain.
  const order = board.legend.map((l) => l.stage).filter((s) => s in board.counts);
  return order.filter((s) => (s !== "uncertain" || board.counts[s] > 0)
    && (!alarmOnly || !["blue", "suspended"].includes(s)));
}

export function deviceChip(d) {
  const chip = el("span", { class: "device", "data-device": d.device, "data-online": String(d.online) },
    (KINDS[d.kind] || d.kind || "设备") + " " + d.device);
  for (const h of d.health) {
    if (!["ready", "ok", "unknown"].includes(h.state)) chip.append(" ", el("b", { class: "bad" }, HEALTH[h.state] || h.state));
  }
  if (!d.online) chip.append(" ", el("b", { class: "bad" }, "离线 " + moment(d.last_seen)));
  if (d.dropped) chip.append(" ", el("b", { class: "bad" }, "丢弃" + d.dropped));
  if (d.refused) chip.append(" ", el("b", { class: "bad", "data-refused": String(d.refused) }, "越权" + d.refused));
  if (d.quarantined) chip.append(" ", el("b", { class: "bad", "data-quarantined": "true" }, "已隔离"));
  return chip;
}

// At a glance: how many are up (● all well, ⚠ someone is needed), and under it the troubled ones
// by name, as many as the cell holds; the devices page shows every device.
function devicesCell(c) {
  const d = c.devices;
  const gateway = d.gateway_online === null ? el("span", { class: "muted" }, " 网关未连接")
    : d.gateway_online ? null : el("b", { class: "bad" }, " ✕ 网关离线");
  const healthy = d.troubled.length === 0 && d.gateway_online !== false;
  return el("td", { class: "devices-cell" + (healthy ? "" : " trouble") },
    el("div", { class: "devices-line" }, el("span", { class: "devices-count", "data-ok": String(healthy) },
      (healthy ? "● " : "⚠ ") + d.online + "/" + d.total), gateway),
    d.troubled.length ? el("div", { class: "troubled" },
      ...d.troubled.slice(0, CHIPS).flatMap((t, i) => (i ? [" ", deviceChip(t)] : [deviceChip(t)])),
      d.troubled.length > CHIPS ? el("span", { class: "more" }, " +" + (d.troubled.length - CHIPS)) : null) : null);
}

function nameCell(c) {
  const cell = el("th", { scope: "row", class: "centre-name" }, el("span", { class: "name" }, c.name));
  // The hall's facts are known only up to here: its lights are as of then, its cards wait.
  if (c.data_incomplete_since) cell.append(el("span", { class: "warn", "data-incomplete": "true" },
    "⚠ 数据不完整 自 " + moment(c.data_incomplete_since)));
  if (c.complaints_open) cell.append(el("span", { class: "note" }, "投诉 " + c.complaints_open
    + (c.complaints_overdue ? " · 超期 " + c.complaints_overdue : "")));
  return cell;
}

export function renderCentres(container, board, alarmOnly) {
  const stages = stagesShown(board, alarmOnly);
  const head = el("tr", {}, el("th", { class: "centre-name" }, "中心"), el("th", {}, "在办"),
    ...stages.map((s) => el("th", { "data-stage": s }, badge(s, "", true))),
    el("th", {}, "今日受理/办结"), el("th", {}, "等候 · 最长"), el("th", {}, "满意率"), el("th", {}, "设备"));
  const rows = board.centres.map((c) => el("tr", { "data-hall": c.hall },
    nameCell(c),
    el("td", { class: "open" }, fmt(c.open)),
    ...stages.map((s) => el("td", { "data-stage": s }, count(s, c.counts[s]))),
    el("td", { class: "today" }, fmt(c.today.received) + " / " + fmt(c.today.completed)),
    el("td", { class: "queue" + (c.queue.longest_wait_s > 1800 ? " slow" : "") },
      fmt(c.queue.waiting), el("small", {}, " · " + duration(c.queue.longest_wait_s))),
    el("td", { class: "satisfaction" }, c.satisfaction ? percent(c.satisfaction.rate) : "—"),
    devicesCell(c)));
  const foot = board.centres.length > 1 ? totalsRow(board, stages) : null;
  container.replaceChildren(el("table", { class: "grid centres-table", "data-stages": String(stages.length) },
    el("thead", {}, head), el("tbody", {}, ...rows), foot ? el("tfoot", {}, foot) : null));
}

// Every centre together: the cases, the queues and the ratings across the halls.
function totalsRow(board, stages) {
  const sum = (pick) => board.centres.reduce((n, c) => n + (pick(c) || 0), 0);
  const rated = sum((c) => c.satisfaction && c.satisfaction.rate !== null ? c.satisfaction.rated : 0);
  const satisfied = sum((c) => c.satisfaction && c.satisfaction.rate !== null ? c.satisfaction.rate * c.satisfaction.rated : 0);
  const longest = Math.max(-1, ...board.centres.map((c) => c.queue.longest_wait_s ?? -1));
  const online = sum((c) => c.devices.online);
  const total = sum((c) => c.devices.total);
  const troubled = sum((c) => c.devices.troubled.length);
  return el("tr", { class: "totals", "data-total": "all" }, el("th", { scope: "row", class: "centre-name" }, "合计"),
    el("td", { class: "open" }, fmt(board.open_cases)),
    ...stages.map((s) => el("td", { "data-stage": s }, count(s, board.counts[s]))),
    el("td", { class: "today" }, fmt(board.today.received) + " / " + fmt(board.today.completed)),
    el("td", { class: "queue" }, fmt(sum((c) => c.queue.waiting)), el("small", {}, " · " + duration(longest >= 0 ? longest : null))),
    el("td", { class: "satisfaction" }, rated ? percent(satisfied / rated) : "—"),
    el("td", { class: "devices-cell" }, el("span", { class: "devices-count", "data-ok": String(!troubled) },
      (troubled ? "⚠ " : "● ") + online + "/" + total)));
}
