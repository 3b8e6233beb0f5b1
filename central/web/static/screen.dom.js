// The big screen's building blocks: elements, the stage badges, numbers and times in hall time.
// All text goes through text nodes, never innerHTML.

export const ALARM_STAGES = ["supervision_letter", "red_card", "yellow_card"];
// "Alarms only" (仅预警及以上): a yellow light and worse, and what the calendar cannot judge.
export const WARNING_STAGES = ["supervision_letter", "red_card", "yellow_card", "red_light", "yellow_light", "uncertain"];
export const KINDS = { kiosk: "取号机", rating: "评价器", recorder: "录像机", caller: "叫号器", window: "叫号器",
  display: "叫号屏", gateway: "网关", sim: "模拟设备" };
export const HEALTH = { ready: "正常", ok: "正常", near_end: "纸将尽", paper_out: "缺纸", cover_open: "开盖",
  error: "故障", fault: "故障", offline: "离线", unknown: "未知", stalled: "停滞", recording: "录制中",
  disk_low: "磁盘不足" };
const WEEKDAYS = "日一二三四五六";

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "style") {
      for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);  // custom properties too
    }
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// The legend, keyed by stage: every stage has a word, a colour, a shape and a kind (lamp, card, letter).
export const looks = { byStage: {} };
export function setLegend(legend) {
  looks.byStage = Object.fromEntries(legend.map((l) => [l.stage, l]));
}
export function look(stage) {
  return looks.byStage[stage] || { stage, label: stage, colour: "#888888", shape: "?", kind: "state" };
}

// A stage as the screen writes it: its shape drawn as a lamp, a card or a letter, then its word.
// The text reads "▮ 黄牌": the shape and the word, whatever the colours.
// Column headings are narrow: the same words, shortened where they are long.
const SHORT = { supervision_letter: "建议书", suspended: "暂停", uncertain: "待定" };
export function badge(stage, extra, short) {
  const l = look(stage);
  return el("span", { class: "look " + (extra || ""), "data-stage": stage, "data-kind": l.kind,
    style: { "--c": l.colour } }, el("i", { class: "glyph", "aria-hidden": "true" }, l.shape), " ",
  short && SHORT[stage] ? SHORT[stage] : l.label);
}

// A count of one stage, as a lamp's number or a card's block; zero is a quiet dot.
export function count(stage, n) {
  const l = look(stage);
  if (!n) return el("span", { class: "n zero", "data-stage": stage }, "·");
  return el("span", { class: "n", "data-stage": stage, "data-kind": l.kind, style: { "--c": l.colour } },
    el("i", { class: "glyph", "aria-hidden": "true" }, l.shape), fmt(n));
}

export const fmt = (n) => (n === null || n === undefined) ? "—" : Number(n).toLocaleString("zh-CN");
export const percent = (rate) => (rate === null || rate === undefined) ? "—" : (Math.round(rate * 1000) / 10) + "%";

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return Math.round(seconds) + "秒";
  if (seconds < 3600) return Math.round(seconds / 60) + "分";
  return Math.floor(seconds / 3600) + "时" + Math.round((seconds % 3600) / 60) + "分";
}

// Hall time: the board says central's now and the halls' offset; the browser's own zone plays no part.
export const hallTime = { nowMs: 0, receivedAt: 0, offsetMin: 480 };
export function setHallTime(board) {
  hallTime.nowMs = board.now_ms;
  hallTime.receivedAt = performance.now();
  hallTime.offsetMin = board.utc_offset_min;
}
export function hallNow() {
  return hallTime.nowMs + (performance.now() - hallTime.receivedAt);
}
function wall(ms) {
  return new Date(ms + hallTime.offsetMin * 60000);  // read with the UTC getters: hall wall time
}
const two = (n) => String(n).padStart(2, "0");
export function clockText(ms) {
  const d = wall(ms);
  return two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds());
}
export function dateText(ms) {
  const d = wall(ms);
  return d.getUTCFullYear() + "年" + (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日 星期" + WEEKDAYS[d.getUTCDay()];
}
// A moment for people: "11-23 18:30" (today: "18:30"), in hall time.
export function moment(ms) {
  if (!ms) return "—";
  const d = wall(ms);
  const today = wall(hallNow());
  const hm = two(d.getUTCHours()) + ":" + two(d.getUTCMinutes());
  const sameDay = d.getUTCFullYear() === today.getUTCFullYear() && d.getUTCMonth() === today.getUTCMonth()
    && d.getUTCDate() === today.getUTCDate();
  return (sameDay ? "今天 " : two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) + " ") + hm;
}

// The short name of a centre for tight places: "肃州区分中心" -> "肃州区".
export function shortName(name) {
  const short = String(name).replace(/(政务服务中心|服务中心|分中心|中心)$/, "");
  return short.length >= 2 ? short : String(name);  // "市政务服务中心" stays whole
}
