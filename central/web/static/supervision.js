// The big screen's supervision panel: open high-risk anomalies and the major projects.
// Self-contained (its own element, styles and poll) so it moves with the screen's redesign;
// it reads only /api/screen/supervision. All text goes through textContent, never innerHTML.
"use strict";

(function () {
  const POLL_MS = 5000;
  const RISK = { high: "高风险", medium: "中风险", low: "低风险" };
  const panel = document.getElementById("supervision");
  if (!panel) return;
  const state = { loads: 0, last: null };
  window.hallwatchSupervision = state;

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

  function anomalyRow(a) {
    return el("li", { class: "anomaly", "data-anomaly": a.id, "data-risk": a.risk },
      el("span", { class: "risk" }, "⚠ " + (RISK[a.risk] || a.risk)),
      el("b", {}, a.title), " ", a.summary,
      el("span", { class: "where" }, [a.hall, a.unit].filter(Boolean).join(" · ")));
  }

  function projectRow(p) {
    const dark = p.stage === "yellow_light" || p.stage === "yellow_card";
    return el("li", { class: "project", "data-project": p.id, "data-stage": p.stage },
      el("span", { class: "light", style: { background: p.colour, color: dark ? "#0b0b0b" : "#fff" } },
        p.stage_label),
      el("b", {}, p.name), " 协调人 " + p.coordinator + " · " + p.cases + " 件",
      p.own_due ? " · 总期限 " + p.own_due : "",
      p.slowest_case ? el("span", { class: "slowest" },
        "最慢：" + p.slowest_case + " " + (p.slowest_unit || "") + " " + (p.slowest_stage_label || "")) : null);
  }

  function draw(data) {
    const anomalies = el("div", { class: "column" },
      el("h2", {}, "异常监测 · 未关闭 " + data.open_anomalies),
      data.anomalies.length ? el("ul", {}, ...data.anomalies.map(anomalyRow))
        : el("p", { class: "empty" }, "无"));
    const projects = el("div", { class: "column" },
      el("h2", {}, "重大项目绿色通道 · " + data.projects.length),
      data.projects.length ? el("ul", {}, ...data.projects.map(projectRow))
        : el("p", { class: "empty" }, "无"));
    panel.replaceChildren(anomalies, projects);
    panel.hidden = !data.anomalies.length && !data.projects.length;
  }

  async function load() {
    try {
      const response = await fetch("/api/screen/supervision", { credentials: "same-origin" });
      if (response.ok) {
        state.last = await response.json();
        draw(state.last);
        state.loads += 1;
      }
    } catch (error) {
      // The screen's own link indicator reports a lost connection; the panel just tries again.
    }
    setTimeout(load, POLL_MS);
  }
  load();
})();
