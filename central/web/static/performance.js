// Performance table and chart: ranked rows from /api/performance, drawn as SVG bars (no library).
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const pct = (v) => v === null ? "—" : Math.round(v * 1000) / 10 + "%";
  // No completed case and no rating: nothing to judge, so no score (never a perfect 100).
  const scoreText = (row) => row.score === null ? "暂无数据" : row.score.toFixed(1);
  const rankText = (row) => row.rank === null ? "—" : String(row.rank);
  // Cards a correction has since disowned still cost their points: say how many and how much.
  const falseAlarms = (row) => row.false_alarms ? row.false_alarms + "（−" + row.false_alarm_points + "分）" : "0";

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chart(rows) {
    const chart = document.getElementById("chart");
    const barHeight = 34, left = 260, width = 1000;
    chart.setAttribute("viewBox", `0 0 ${width + left + 80} ${rows.length * barHeight + 20}`);
    chart.replaceChildren(...rows.flatMap((row, i) => {
      const y = 10 + i * barHeight;
      const length = row.score === null ? 0 : Math.max(2, row.score / 100 * width);
      return [
        svg("text", { x: left - 10, y: y + 22, "text-anchor": "end" }, rankText(row) + ". " + row.name),
        svg("rect", { x: left, y, width: length, height: barHeight - 8, class: row.score < 60 ? "bar low" : "bar",
          "data-key": row.key }),
        svg("text", { x: left + length + 8, y: y + 22 }, scoreText(row)),
      ];
    }));
  }

  function table(rows) {
    const body = document.querySelector("#table tbody");
    body.replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.title = row.key;
      for (const value of [rankText(row), row.name, scoreText(row), row.cases_completed, pct(row.on_time_rate),
        row.yellow_cards, row.red_cards, row.letters, falseAlarms(row), row.ratings, pct(row.satisfaction),
        row.bad_ratings, row.bad_rectified]) {
        const td = document.createElement("td");
        td.textContent = String(value);
        tr.append(td);
      }
      return tr;
    }));
  }

  async function load() {
    const by = document.getElementById("by").value;
    const response = await fetch("/api/performance?by=" + by, { credentials: "same-origin" });
    const problem = document.getElementById("problem");
    if (!response.ok) {
      problem.textContent = "数据暂不可用：HTTP " + response.status;
      problem.hidden = false;
      return;
    }
    const rows = await response.json();
    chart(rows);
    table(rows);
    problem.hidden = true;
  }

  document.getElementById("by").addEventListener("change", load);
  load();
})();
