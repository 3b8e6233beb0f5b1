// The alarm list, always in view: yellow cards and worse (issued before the page opened too), facts
// refused as beyond their author's authority, open high-risk anomalies; newest first.
// When they do not fit one by one they are shown in fewer lines, then grouped by centre and unit,
// then by centre, so that every alarm is always counted on screen.

import { ALARM_STAGES, KINDS, badge, el, fmt, look, moment, shortName } from "./screen.dom.js";

// "kinds": the cards still one by one, the security and anomaly alarms one line each.
const MODES = ["full", "compact", "kinds", "units", "centres"];

function caseRow(a, names, fresh) {
  return el("div", { class: "alarm case-alarm" + (fresh.has(a.case_id) ? " fresh" : ""), "data-alert": a.case_id,
    "data-stage": a.stage, title: a.matter, style: { "--c": look(a.stage).colour } },
  el("div", { class: "line" }, badge(a.stage), el("b", {}, shortName(names[a.hall] || a.hall)),
    el("span", { class: "unit" }, a.unit)),
  el("div", { class: "more" }, a.case_id + " · " + a.matter + " · " + a.officer + (a.due ? " · 期限 " + a.due : "")
    + " · " + moment(a.since)));
}

function securityRow(a, names) {
  return el("div", { class: "alarm security", "data-security": a.device || "", title: a.reason },
    el("div", { class: "line" }, el("span", { class: "tag" }, "越权" + (a.quarantined ? "（已隔离）" : "")),
      el("b", {}, shortName(names[a.hall] || a.hall || "接口")), " " + (KINDS[a.kind] || a.kind || "") + " "
      + (a.device || "") + " " + (a.type || "整批"), el("span", { class: "when" }, moment(a.at))),
    el("div", { class: "more" }, a.reason));
}

function anomalyRow(a, names) {
  return el("div", { class: "alarm anomaly", "data-anomaly": a.anomaly, title: a.rule },
    el("div", { class: "line" }, el("span", { class: "tag" }, "异常"), el("b", {}, a.title),
      el("span", { class: "when" }, moment(a.at))),
    el("div", { class: "more" }, a.rule + (a.hall ? " · " + shortName(names[a.hall] || a.hall) : "")
      + (a.unit ? " · " + a.unit : "") + " · 风险 " + a.risk));
}

// Every alarm one by one, newest first across kinds.
function singleRows(board, names, fresh) {
  const rows = [
    ...board.alarms.cases.map((a) => [a.since || 0, () => caseRow(a, names, fresh)]),
    ...board.alarms.security.map((a) => [a.at, () => securityRow(a, names)]),
    ...(board.alarms.anomalies || []).map((a) => [a.at, () => anomalyRow(a, names)]),
  ];
  return rows.sort((x, y) => y[0] - x[0]).map(([, make]) => make());
}

// The cards one by one, newest first.
function caseRows(board, names, fresh) {
  return [...board.alarms.cases].sort((x, y) => (y.since || 0) - (x.since || 0)).map((a) => caseRow(a, names, fresh));
}

function chips(counts) {
  return ALARM_STAGES.filter((s) => counts[s]).map((s) =>
    el("span", { class: "group-count", "data-stage": s, "data-count": String(counts[s]) }, badge(s), "×" + counts[s]));
}

// Cases grouped from the matrix (every open case, not just the listed ones), the other kinds summed.
function groupRows(board, names, byUnit) {
  const groups = new Map();
  for (const cell of board.matrix) {
    const total = ALARM_STAGES.reduce((n, s) => n + (cell.counts[s] || 0), 0);
    if (!total) continue;
    const key = byUnit ? cell.hall + "/" + cell.unit : cell.hall;
    const group = groups.get(key) || { hall: cell.hall, unit: byUnit ? cell.unit : null, counts: {}, total: 0 };
    for (const s of ALARM_STAGES) group.counts[s] = (group.counts[s] || 0) + (cell.counts[s] || 0);
    group.total += total;
    groups.set(key, group);
  }
  const worst = (g) => ALARM_STAGES.map((s) => -(g.counts[s] || 0));
  const ordered = [...groups.entries()].sort((a, b) => {
    const [x, y] = [worst(a[1]), worst(b[1])];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return a[0] < b[0] ? -1 : 1;
  });
  const rows = ordered.map(([key, g]) => el("div", { class: "alarm group", "data-group": key,
    "data-count": String(g.total) }, el("div", { class: "line" },
    el("b", {}, shortName(names[g.hall] || g.hall)), g.unit ? " " + g.unit : "", el("span", { class: "chips" }, ...chips(g.counts)))));
  return [...rows, ...otherGroups(board)];
}

// The security and anomaly alarms, each kind on one counted line.
function otherGroups(board) {
  const rows = [];
  const security = board.alarms.security;
  if (security.length) rows.push(el("div", { class: "alarm security group", "data-security": security[0].device || "",
    "data-count": String(security.length) }, el("div", { class: "line" }, el("span", { class: "tag" }, "越权 ×" + security.length),
    " 最新 " + (security[0].device || "接口") + " " + (security[0].type || "整批") + " · " + moment(security[0].at))));
  const anomalies = board.alarms.anomalies || [];
  if (anomalies.length) rows.push(el("div", { class: "alarm anomaly group", "data-count": String(anomalies.length) },
    el("div", { class: "line" }, el("span", { class: "tag" }, "异常 ×" + anomalies.length), " 最新 " + anomalies[0].title)));
  return rows;
}

function overflows(list) {
  return list.scrollHeight > list.clientHeight + 1;
}

export function renderAlarms(container, board, names, fresh) {
  const a = board.alarms;
  const total = a.cases_total + a.security.length + (a.anomalies ? a.anomalies.length : 0);
  const summary = el("div", { class: "alarm-counts" },
    ...ALARM_STAGES.map((s) => el("span", { class: "alarm-count", "data-stage": s }, badge(s), " " + fmt(board.counts[s] || 0))),
    el("span", { class: "alarm-count security" }, "越权 " + a.security.length),
    a.anomalies ? el("span", { class: "alarm-count anomaly" }, "异常 " + a.anomalies.length) : null);
  const list = el("div", { class: "alarm-list" });
  container.replaceChildren(el("h2", {}, "告警", el("b", { id: "alarm-total" }, fmt(total))), summary, list);
  if (!total) {
    list.append(el("p", { class: "calm" }, "✓ 暂无黄牌、红牌、监察建议书"));
    container.dataset.mode = "none";
    return "none";
  }
  for (const mode of MODES) {
    list.className = "alarm-list " + mode;
    const single = mode === "full" || mode === "compact";
    // One by one only while every case alarm is listed; more than the board lists are grouped.
    const cardsOneByOne = single || mode === "kinds";
    if (cardsOneByOne && a.cases.length < a.cases_total) continue;
    let rows;
    if (single) rows = singleRows(board, names, fresh);
    else if (mode === "kinds") rows = [...caseRows(board, names, fresh), ...otherGroups(board)];
    else rows = groupRows(board, names, mode === "units");
    list.replaceChildren(...rows);
    if (!overflows(list) || mode === "centres") {
      container.dataset.mode = mode;
      return mode;
    }
  }
  return "centres";
}

export function renderProjects(container, board, names) {
  if (board.projects === null || board.projects === undefined) {
    container.hidden = true;
    return;
  }
  container.hidden = false;
  const rows = board.projects.map((p) => el("div", { class: "project", "data-project": p.project },
    badge(p.stage), el("b", {}, p.name), el("span", { class: "more" },
      (p.slowest_unit ? "最慢 " + p.slowest_unit : "") + (p.slowest_case ? " " + p.slowest_case : "")
      + (p.due ? " · 期限 " + p.due : ""))));
  container.replaceChildren(el("h2", {}, "重大项目", el("b", {}, fmt(board.projects.length))),
    el("div", { class: "project-list" }, ...(rows.length ? rows : [el("p", { class: "calm" }, "暂无在办重大项目")])));
  // Only what fits: the slowest first, the rest are counted in the heading.
  const list = container.querySelector(".project-list");
  while (list.children.length > 1 && list.scrollHeight > list.clientHeight + 1) list.lastChild.remove();
}
