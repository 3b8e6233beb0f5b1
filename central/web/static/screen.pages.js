// The detail pages that rotate under the centres table. Each page is cut into parts that fit the
// area (nothing scrolls); a page renders one part and says how many it has.

import { KINDS, WARNING_STAGES, badge, count, duration, el, fmt, look, moment, percent, shortName } from "./screen.dom.js";
import { deviceChip, stagesShown } from "./screen.centres.js";

const SEVERITY = ["supervision_letter", "red_card", "yellow_card", "red_light", "yellow_light", "uncertain"];
const MATRIX_CHIPS = 3;

function worstFirst(a, b) {
  for (const s of SEVERITY) {
    const d = (b.counts[s] || 0) - (a.counts[s] || 0);
    if (d) return d;
  }
  return (b.open || 0) - (a.open || 0);
}

function fits(node, area) {
  return node.getBoundingClientRect().bottom <= area.getBoundingClientRect().bottom + 1;
}

// A table whose rows all have the same height: how many fit is one measurement.
function tablePart(area, className, head, makers, part) {
  const body = el("tbody");
  const table = el("table", { class: "grid " + className }, el("thead", {}, el("tr", {}, ...head)), body);
  area.replaceChildren(table);
  if (!makers.length) return 1;
  const probe = makers[0]();
  body.append(probe);
  const per = Math.max(1, Math.floor((area.clientHeight - table.tHead.offsetHeight) / probe.offsetHeight));
  const parts = Math.ceil(makers.length / per);
  const shown = Math.min(part, parts - 1);
  body.replaceChildren(...makers.slice(shown * per, (shown + 1) * per).map((make) => make()));
  return parts;
}

// Blocks of any height: fill the area block by block; the parts are where a block would not fit.
function blockParts(area, frame, makers) {
  const parts = [];
  let start = 0;
  while (start < makers.length) {
    const slot = frame();
    let end = start;
    for (; end < makers.length; end++) {
      const node = makers[end]();
      slot.append(node);
      if (end > start && !fits(node, area)) {
        node.remove();
        break;
      }
    }
    parts.push([start, end]);
    start = end;
  }
  return parts;
}

function blockPart(area, frame, makers, part) {
  const parts = blockParts(area, frame, makers);
  const [start, end] = parts[Math.min(part, parts.length - 1)] || [0, 0];
  const slot = frame();
  for (let i = start; i < end; i++) slot.append(makers[i]());
  return Math.max(1, parts.length);
}

// --- 中心×部门: every unit against every centre ---------------------------------------------

function matrixCell(counts, alarmOnly, extra) {
  const total = Object.values(counts).reduce((n, v) => n + v, 0);
  const warnings = SEVERITY.filter((s) => counts[s]).slice(0, MATRIX_CHIPS);
  const cell = el("td", { class: "cell " + (extra || "") });
  if (!total) return cell;
  cell.append(...warnings.map((s) => count(s, counts[s])));
  if (!alarmOnly) cell.append(el("span", { class: "total" }, fmt(total)));
  return cell;
}

function matrixPage(area, ctx, part) {
  const { board, alarmOnly } = ctx;
  const cells = new Map(board.matrix.map((m) => [m.hall + "\u0000" + m.unit, m.counts]));
  const units = [...board.units].filter((u) => !alarmOnly || WARNING_STAGES.some((s) => u.counts[s]))
    .sort(worstFirst);
  const head = [el("th", { class: "unit-name" }, "部门 \\ 中心"),
    ...board.centres.map((c) => el("th", { "data-hall": c.hall }, shortName(c.name))), el("th", { class: "total-col" }, "合计")];
  const makers = units.map((u) => () => el("tr", { "data-unit": u.unit }, el("th", { scope: "row", class: "unit-name" }, u.unit),
    ...board.centres.map((c) => matrixCell(cells.get(c.hall + "\u0000" + u.unit) || {}, alarmOnly)),
    matrixCell(u.counts, alarmOnly, "total-col")));
  return tablePart(area, "matrix", head, makers, part);
}

// --- 部门统计: the per-department table -----------------------------------------------------

function unitsPage(area, ctx, part) {
  const { board, alarmOnly } = ctx;
  const stages = stagesShown(board, true).filter((s) => s !== "uncertain" || board.counts[s]);
  const units = [...board.units].filter((u) => !alarmOnly || WARNING_STAGES.some((s) => u.counts[s])).sort(worstFirst);
  const head = [el("th", { class: "unit-name" }, "部门"), el("th", {}, "在办"),
    ...stages.map((s) => el("th", { "data-stage": s }, badge(s, "", true))), el("th", {}, "本年办结"), el("th", {}, "本年按时率")];
  const makers = units.map((u) => () => el("tr", { "data-unit": u.unit },
    el("th", { scope: "row", class: "unit-name" }, u.unit), el("td", { class: "open" }, fmt(u.open)),
    ...stages.map((s) => el("td", { "data-stage": s }, count(s, u.counts[s]))),
    el("td", {}, fmt(u.year.completed)), el("td", { class: "rate" }, percent(u.year.on_time_rate))));
  return tablePart(area, "units", head, makers, part);
}

// --- 窗口: who is at which window, serving what, and who waits -----------------------------

function windowCard(w, nowMs) {
  const serving = w.ticket !== null;
  return el("div", { class: "window" + (serving ? " serving" : ""), "data-window": w.window },
    el("div", { class: "window-name" }, w.window + " 号窗口"),
    el("div", { class: "officer" }, w.officer || "—"),
    el("div", { class: "ticket" }, serving ? w.ticket : "空闲"),
    el("div", { class: "since" }, serving ? "办理 " + duration((nowMs - w.serving_since) / 1000)
      : "今日已办 " + w.served_today));
}

function windowsPage(area, ctx, part) {
  const now = ctx.now();
  const centres = ctx.board.centres.filter((c) => c.queue.windows.length || c.queue.services.length || c.queue.issued);
  const c = centres[Math.min(part, centres.length - 1)];
  const q = c.queue;
  area.replaceChildren(el("section", { class: "windows-page", "data-hall": c.hall },
    el("h3", {}, c.name, el("span", { class: "facts" },
      "等候 ", el("b", {}, fmt(q.waiting)), " · 最长 ", el("b", {}, duration(q.longest_wait_s)),
      " · 今日取号 ", el("b", {}, fmt(q.issued)), " · 今日已办 ", el("b", {}, fmt(q.served)),
      " · 平均等候 ", el("b", {}, duration(q.avg_wait_s)),
      c.satisfaction ? [" · 满意率 ", el("b", {}, percent(c.satisfaction.rate))] : null)),
    el("div", { class: "services" }, ...q.services.map((s) => el("span", { class: "service", "data-service": s.service },
      s.service + " 类 等候 ", el("b", {}, fmt(s.waiting)), " · 最长 " + duration(s.longest_wait_s)))),
    el("div", { class: "windows" }, ...q.windows.map((w) => windowCard(w, now)))));
  // Windows that do not fit are left out rather than scrolled: the hall's own display has them all.
  const grid = area.querySelector(".windows");
  while (grid.lastChild && !fits(grid.lastChild, area)) grid.lastChild.remove();
  return Math.max(1, centres.length);
}

// --- 设备: every device of every hall -------------------------------------------------------

function devicesPage(area, ctx, part) {
  const centres = ctx.board.centres.filter((c) => c.devices.total || c.devices.gateway_online !== null);
  const frame = () => {
    const grid = el("div", { class: "device-blocks" });
    area.replaceChildren(grid);
    return grid;
  };
  const makers = centres.map((c) => () => {
    const d = c.devices;
    const all = ctx.devices(c.hall);
    return el("section", { class: "device-block", "data-hall": c.hall },
      el("h3", {}, c.name, el("span", { class: "facts" }, d.gateway_online === null ? "网关未连接"
        : d.gateway_online ? "网关 ● 在线" : "网关 ✕ 离线", " · 在线 ", el("b", {}, d.online + "/" + d.total))),
      el("div", { class: "devices" }, ...(all.length ? all : d.troubled).map(deviceChip)));
  });
  return blockPart(area, frame, makers, part);
}

// --- 告警明细: every alarm with its details ----------------------------------------------

function alarmsPage(area, ctx, part) {
  const { board, names } = ctx;
  const head = ["告警", "中心", "部门", "案件号", "事项", "首问责任人", "期限", "升级于"].map((t) => el("th", {}, t));
  const makers = [
    ...board.alarms.cases.map((a) => () => el("tr", { "data-alert-row": a.case_id }, el("td", {}, badge(a.stage)),
      el("td", {}, shortName(names[a.hall] || a.hall)), el("td", {}, a.unit), el("td", {}, a.case_id),
      el("td", {}, a.matter), el("td", {}, a.officer), el("td", {}, a.due || "—"), el("td", {}, moment(a.since)))),
    ...board.alarms.security.map((a) => () => el("tr", { class: "security" }, el("td", {}, "越权" + (a.quarantined ? "（已隔离）" : "")),
      el("td", {}, shortName(names[a.hall] || a.hall || "接口")), el("td", {}, KINDS[a.kind] || a.kind || ""),
      el("td", {}, a.device || ""), el("td", { colspan: "3" }, (a.type || "整批") + " · " + a.reason), el("td", {}, moment(a.at)))),
  ];
  return tablePart(area, "alarm-table", head, makers, part);
}

// --- 案件: the most urgent open cases as tiles, by centre and unit ---------------------------

function tile(c, fresh) {
  const l = look(c.stage);
  return el("div", { class: "case" + (fresh.has(c.case_id) ? " fresh" : ""), "data-case": c.case_id,
    "data-stage": c.stage, "data-kind": l.kind, title: c.matter, style: { background: l.colour } },
  badge(c.stage, "tile-look"), el("span", { class: "id" }, c.case_id), el("br"), c.matter, el("br"),
  c.officer_name + (c.due ? " · 期限 " + c.due : ""));
}

function casesPage(area, ctx, part) {
  const { names, fresh } = ctx;
  if (!ctx.cases) {
    area.replaceChildren(el("p", { class: "calm" }, "载入中…"));
    return 1;
  }
  const cases = ctx.cases.cases.filter((c) => !ctx.alarmOnly || WARNING_STAGES.includes(c.stage));
  if (!cases.length) {
    area.replaceChildren(el("p", { class: "calm" }, "暂无在办案件"));
    return 1;
  }
  // Grouped by centre and unit, each group where its most urgent case stands in the API's order
  // (most urgent first), so the worst cases are on the first part.
  const rank = new Map();
  cases.forEach((c, i) => {
    if (!rank.has(c.hall)) rank.set(c.hall, i);
    if (!rank.has(c.hall + "\u0000" + c.unit)) rank.set(c.hall + "\u0000" + c.unit, i);
  });
  const sorted = cases.map((c, i) => [c, i]).sort(([a, i], [b, j]) =>
    rank.get(a.hall) - rank.get(b.hall) || rank.get(a.hall + "\u0000" + a.unit) - rank.get(b.hall + "\u0000" + b.unit)
    || i - j).map(([c]) => c);
  // Lays tiles out from `start` until one would not fit, and says where it stopped.
  const layOut = (start) => {
    const root = el("div", { class: "case-groups" });
    area.replaceChildren(root);
    let hallBox = null;
    let row = null;
    let i = start;
    for (; i < sorted.length; i++) {
      const c = sorted[i];
      const added = [];
      if (!hallBox || hallBox.dataset.hall !== c.hall) {
        hallBox = el("section", { class: "case-hall", "data-hall": c.hall }, el("h3", {}, names[c.hall] || c.hall));
        root.append(hallBox);
        added.push(hallBox);
        row = null;
      }
      if (!row || row.parentNode.dataset.unit !== c.unit) {
        const unit = el("div", { class: "unit", "data-unit": c.unit }, el("h4", {}, c.unit), el("div", { class: "cases" }));
        hallBox.append(unit);
        added.push(unit);
        row = unit.lastChild;
      }
      const made = tile(c, fresh);
      row.append(made);
      if (i > start && !fits(made, area)) {
        made.remove();
        added.reverse().forEach((node) => node.remove());
        break;
      }
    }
    return i;
  };
  const starts = [0];
  for (let end = layOut(0); end < sorted.length; end = layOut(end)) starts.push(end);
  const shown = Math.min(part, starts.length - 1);
  layOut(starts[shown]);
  if (ctx.cases.total > cases.length || starts.length > 1) {
    area.append(el("p", { class: "cases-note" }, "最紧急的 " + fmt(cases.length) + " 件，共 " + fmt(ctx.cases.total)
      + " 件在办 · 第 " + (shown + 1) + "/" + starts.length + " 页"));
  }
  return starts.length;
}

export const PAGES = {
  matrix: { label: "中心×部门", shows: (b) => b.centres.length > 1 && b.matrix.length > 0, render: matrixPage },
  units: { label: "部门统计", shows: (b) => b.units.length > 0, render: unitsPage },
  windows: { label: "窗口", shows: (b) => b.centres.some((c) => c.queue.windows.length || c.queue.services.length || c.queue.issued),
    render: windowsPage },
  devices: { label: "设备", shows: (b) => b.centres.some((c) => c.devices.total || c.devices.gateway_online !== null),
    render: devicesPage },
  alarms: { label: "告警明细", shows: (b) => b.alarms.cases.length + b.alarms.security.length > 0, render: alarmsPage },
  cases: { label: "案件", shows: (b) => b.open_cases > 0, render: casesPage },
};
export const DEFAULT_PAGES = ["matrix", "units", "windows", "devices", "alarms", "cases"];
