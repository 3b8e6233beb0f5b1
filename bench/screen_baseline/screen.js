// The big screen: one snapshot from /api/screen, refreshed when /api/stream says something changed.
// Plain DOM code; all text goes through textContent, never innerHTML.
"use strict";

(function () {
  const ALARM = ["yellow_light", "red_light", "yellow_card", "red_card", "supervision_letter", "uncertain"];
  const KINDS = { kiosk: "取号机", rating: "评价器", recorder: "录像机", caller: "叫号器", window: "叫号器",
    gateway: "网关", sim: "模拟设备" };
  const HEALTH = { ready: "正常", ok: "正常", near_end: "纸将尽", paper_out: "缺纸", cover_open: "开盖",
    error: "故障", offline: "离线", unknown: "未知", stalled: "停滞", recording: "录制中", disk_low: "磁盘不足" };
  const FIGURES = { waiting: "等候", serving: "办理中", issued: "今日取号", served: "今日办结",
    avg_wait_s: "平均等候", avg_service_s: "平均办理", ratings: "评价", satisfaction: "满意率",
    satisfied: "满意", dissatisfied: "不满意", bad: "差评", rated: "今日评价", not_rated: "未评价",
    satisfaction_rate: "满意率", open_followups: "差评待整改" };
  const state = { version: -1, loads: 0, legend: {}, stages: {}, fresh: new Set(), timer: null,
    filters: { hall: "", unit: "", stage: "" } };
  window.hallwatchScreen = state;

  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "style") Object.assign(node.style, value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const time = (ms) => ms ? new Date(ms).toLocaleTimeString("zh-CN", { hour12: false }) : "—";
  // Shanghai time whatever the browser's zone: the countdown's days are Shanghai days.
  const moment = (ms) => new Date(ms).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  const duration = (s) => s >= 60 ? Math.round(s / 60) + "分" : Math.round(s) + "秒";

  function figure(key, value) {
    let shown = value;
    if (key.endsWith("_s") && typeof value === "number") shown = duration(value);
    else if ((key === "satisfaction" || key === "satisfaction_rate") && typeof value === "number") shown = Math.round(value * 100) + "%";
    return el("span", {}, (FIGURES[key] || key) + " ", el("b", {}, shown === null ? "—" : shown));
  }

  function badge(stage) {
    const look = state.legend[stage] || { label: stage, shape: "?", colour: "#888" };
    return el("span", { class: "badge" }, look.shape + " " + look.label);
  }

  function caseTile(c) {
    const look = state.legend[c.stage] || { colour: "#888" };
    const tile = el("div", { class: "case", "data-case": c.case_id, "data-stage": c.stage,
      title: c.matter, style: { background: look.colour } },
      badge(c.stage), el("span", { class: "id" }, c.case_id), el("br"), c.matter, el("br"),
      c.officer_name + (c.due ? " · 期限 " + c.due : ""));
    if (state.fresh.has(c.case_id)) tile.classList.add("fresh");
    return tile;
  }

  function deviceChip(d) {
    const chip = el("span", { class: "device", "data-device": d.device, "data-online": String(d.online),
      title: "最后通信 " + time(d.last_seen) }, (KINDS[d.kind] || d.kind || "设备") + " " + d.device);
    for (const h of d.health) {
      if (h.state !== "ready" && h.state !== "ok") chip.append(" ", el("span", { class: "bad" },
        "⚠ " + (HEALTH[h.state] || h.state)));
    }
    if (!d.online) chip.append(" " + time(d.last_seen));
    if (d.dropped) chip.append(" ", el("span", { class: "bad" }, "丢弃" + d.dropped));
    if (d.refused) chip.append(" ", el("span", { class: "bad", "data-refused": String(d.refused) }, "越权" + d.refused));
    if (d.quarantined) chip.append(" ", el("span", { class: "bad", "data-quarantined": "true" }, "已隔离"));
    return chip;
  }

  function hallPanel(board) {
    const h = board.hall;
    const gateway = h.gateway_online === null ? "网关未连接" : h.gateway_online ? "网关 ● 在线" : "网关 ✕ 离线";
    const facts = el("div", { class: "facts" },
      el("span", {}, gateway),
      el("span", {}, "设备在线 ", el("b", {}, h.devices_online + "/" + h.devices.length)),
      el("span", {}, "投诉待办 ", el("b", {}, board.complaints_open)));
    if (board.complaints_overdue) facts.append(el("span", {}, "投诉超期 ", el("b", {}, board.complaints_overdue)));
    // The hall's facts are known only up to here: its lights are as of then, its cards wait.
    if (h.data_incomplete_since) facts.append(el("span", { class: "bad", "data-incomplete": "true",
      title: "数据完整至 " + moment(h.data_incomplete_since) }, "⚠ 数据不完整 自 " + moment(h.data_incomplete_since)));
    for (const [key, value] of Object.entries(h.queue_today || {})) facts.append(figure(key, value));
    for (const [key, value] of Object.entries(h.ratings_today || {})) facts.append(figure(key, value));
    const panel = el("section", { class: "hall", "data-hall": h.hall },
      el("h2", {}, el("span", {}, h.name), el("span", {}, "在办 " + board.units.reduce((n, u) => n + u.cases.length, 0))),
      facts);
    const alarmOnly = state.filters.stage === "alarm";
    for (const unit of board.units) {
      const cases = unit.cases.filter((c) => !alarmOnly || ALARM.includes(c.stage));
      if (!cases.length) continue;
      panel.append(el("div", { class: "unit", "data-unit": unit.unit }, el("h3", {}, unit.unit),
        el("div", { class: "cases" }, ...cases.map(caseTile))));
    }
    if (!board.units.length) panel.append(el("p", { class: "empty" }, "暂无在办案件"));
    panel.append(el("div", { class: "devices" }, ...h.devices.map(deviceChip)));
    return panel;
  }

  function render(snapshot) {
    state.legend = Object.fromEntries(snapshot.legend.map((l) => [l.stage, l]));
    const legend = $("legend");
    legend.replaceChildren(...snapshot.legend.map((l) =>
      el("span", { class: "key", "data-stage": l.stage, style: { background: l.colour } }, l.shape + " " + l.label)));
    $("totals").replaceChildren(el("span", { class: "total" }, "在办", el("b", {}, snapshot.open_cases)),
      ...Object.entries(snapshot.counts).filter(([, n]) => n > 0).map(([stage, n]) =>
        el("span", { class: "total", "data-total": stage }, badge(stage), el("b", {}, n))));
    // A refused fact is an alarm: it stands above the fold with the escalations.
    const refusals = (snapshot.alarms || []).slice(0, 4).map((a) =>
      el("div", { class: "alert security", "data-security": a.device || "", title: a.reason },
        "越权 " + (a.quarantined ? "（已隔离）" : ""), el("b", {}, (a.hall || "接口") + " · " + (KINDS[a.kind] || a.kind || "") +
        " " + (a.device || "")), " " + (a.type || "整批") + " · " + time(a.at) + " · " + a.reason));
    $("alerts").replaceChildren(...refusals, ...snapshot.recent.filter((r) => r.kind === "escalation").slice(0, 4).map((r) =>
      el("div", { class: "alert", "data-alert": r.case_id }, "升级 ", badge(r.stage), " 案件 " + r.case_id + " · " + r.unit)));
    $("halls").replaceChildren(...snapshot.halls.map(hallPanel));
    fillSelect($("f-hall"), snapshot.halls.map((b) => [b.hall.hall, b.hall.name]), state.filters.hall);
    const units = new Set();
    snapshot.halls.forEach((b) => b.units.forEach((u) => units.add(u.unit)));
    fillSelect($("f-unit"), [...units].sort().map((u) => [u, u]), state.filters.unit);
    $("problem").hidden = true;
  }

  function fillSelect(select, options, chosen) {
    select.replaceChildren(select.options[0], ...options.map(([value, label]) => el("option", { value }, label)));
    select.value = chosen;
  }

  async function load() {
    const params = new URLSearchParams();
    if (state.filters.hall) params.set("hall", state.filters.hall);
    if (state.filters.unit) params.set("unit", state.filters.unit);
    try {
      const response = await fetch("/api/screen?" + params, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) throw new Error(response.status === 401 ? "未授权：请使用带令牌的大屏地址" : "HTTP " + response.status);
      const snapshot = await response.json();
      render(snapshot);
      state.version = snapshot.version;
      state.loads += 1;
      // bench.screen: when the first render and each later one ended (the page is otherwise as it was).
      if (state.loads === 1) state.firstRenderMs = performance.now();
      else if (state.changedAt) { (state.updateMs = state.updateMs || []).push(performance.now() - state.changedAt); state.changedAt = null; }
      document.body.dataset.version = String(snapshot.version);
    } catch (error) {
      $("problem").textContent = "数据暂不可用：" + error.message;
      $("problem").hidden = false;
    }
  }

  function soon(delay) {
    if (state.timer) return;
    state.timer = setTimeout(() => { state.timer = null; load(); }, delay);
  }

  function listen() {
    const source = new EventSource("/api/stream");
    source.addEventListener("hello", () => { $("link").dataset.state = "live"; $("link").textContent = "实时"; });
    source.addEventListener("change", (message) => {
      state.changedAt = state.changedAt || performance.now();  // bench.screen
      const change = JSON.parse(message.data);
      const escalated = change.happenings.filter((h) => h.kind === "escalation");
      escalated.forEach((h) => state.fresh.add(h.case_id));
      const alarmed = change.happenings.some((h) => h.kind === "security");
      soon(escalated.length || alarmed ? 0 : 1000);
    });
    source.onerror = () => { $("link").dataset.state = "polling"; $("link").textContent = "重连中"; };
  }

  for (const id of ["f-hall", "f-unit", "f-stage"]) {
    $(id).addEventListener("change", (event) => {
      state.filters[id.slice(2)] = event.target.value;
      load();
    });
  }
  setInterval(() => { $("clock").textContent = new Date().toLocaleString("zh-CN", { hour12: false }); }, 1000);
  setInterval(load, 30000);  // a safety net under the event stream
  load();
  listen();
})();
