// The big screen: the board from /api/screen/board, redrawn when /api/stream says something changed.
// Everything it shows is set by its address, so a kiosk-mode screen is configured by its URL:
//   hall, unit     one centre, one unit (default: the whole city)
//   stage=alarm    alarms only (a yellow light and worse)
//   page, part     the detail page (and its part) to show; alone, it pins that page
//   pages          the pages to rotate through, in order (default: all that have something)
//   rotate         seconds per part (default 20; 0: no rotation)
//   kiosk=1        no controls, no cursor
// Choosing in the controls rewrites the address, so a reload shows the same screen.

import { $, clockText, dateText, el, fmt, hallNow, percent, setHallTime, setLegend, shortName } from "./screen.dom.js";
import { renderCentres } from "./screen.centres.js";
import { renderAlarms, renderProjects } from "./screen.side.js";
import { DEFAULT_PAGES, PAGES } from "./screen.pages.js";

const ROTATE_S = 20;
const SPACING_MS = 500;  // at most two board reads a second, however busy the halls are
const CASE_TILES = 120;

const params = new URLSearchParams(location.search);
const number = (value, fallback) => (value !== null && value !== "" && !Number.isNaN(Number(value)) ? Number(value) : fallback);
const state = {
  filters: { hall: params.get("hall") || "", unit: params.get("unit") || "", stage: params.get("stage") || "" },
  pages: (params.get("pages") || "").split(",").filter((p) => p in PAGES),
  page: params.get("page") in PAGES ? params.get("page") : null,
  part: Math.max(0, number(params.get("part"), 1) - 1),
  rotate: number(params.get("rotate"), ROTATE_S),
  pinned: params.has("page") && !params.has("rotate"),
  kiosk: params.get("kiosk") === "1",
  board: null, cases: null, devices: new Map(), version: -1, loads: 0, parts: 1,
  fresh: null, alarmMode: null,
  timings: { first: null, updates: [], lastFetchMs: null, lastRenderMs: null },
  problem: null,
};
// An escalation flashes where it shows for a while, then stays without flashing.
const FRESH_MS = 15000;
const freshUntil = new Map();
state.fresh = { has: (caseId) => (freshUntil.get(caseId) || 0) > performance.now() };
window.hallwatchScreen = state;

// --- the address ------------------------------------------------------------------------

function writeAddress() {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(state.filters)) if (value) out.set(key, value);
  if (state.pages.length) out.set("pages", state.pages.join(","));
  if (state.pinned && state.page) {
    out.set("page", state.page);
    if (state.part) out.set("part", String(state.part + 1));
  }
  if (params.has("rotate")) out.set("rotate", String(state.rotate));
  if (state.kiosk) out.set("kiosk", "1");
  const query = out.toString();
  history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
}

// --- reading ------------------------------------------------------------------------------

function scopeQuery() {
  const out = new URLSearchParams();
  if (state.filters.hall) out.set("hall", state.filters.hall);
  if (state.filters.unit) out.set("unit", state.filters.unit);
  return out;
}

async function getJson(path, early) {
  const response = await (early || fetch(path, { credentials: "same-origin", cache: "no-store" }));
  if (!response.ok) throw new Error(response.status === 401 ? "未授权：请使用带令牌的大屏地址" : "HTTP " + response.status);
  return response.json();
}

async function readBoard() {
  // The page's head asked for the first board already (screen.html).
  const early = window.hallwatchFirstBoard;
  window.hallwatchFirstBoard = null;
  const [board, halls] = await Promise.all([
    getJson("/api/screen/board?" + scopeQuery(), early),
    // Every device of every hall, for the devices page only (the board names the troubled ones).
    currentPage() === "devices" ? getJson("/api/halls") : Promise.resolve(null),
  ]);
  if (halls) state.devices = new Map(halls.map((h) => [h.hall, h.devices]));
  return board;
}

async function readCases() {
  const query = scopeQuery();
  query.set("open", "true");
  query.set("limit", String(CASE_TILES));
  state.cases = await getJson("/api/cases?" + query);
}

let loading = null;
let again = false;
let lastLoad = -Infinity;
let startedBy = null;

// Reads and redraws; a change that arrives meanwhile is read right after, never lost.
async function load(cause) {
  if (loading) {
    again = true;
    return loading;
  }
  const started = performance.now();
  startedBy = cause || null;
  loading = (async () => {
    try {
      const board = await readBoard();
      if (currentPage(board) === "cases") await readCases();
      state.timings.lastFetchMs = performance.now() - started;
      render(board);
      state.problem = null;
      $("problem").hidden = true;
    } catch (error) {
      state.problem = error.message;
      $("problem").textContent = "数据暂不可用：" + error.message;
      $("problem").hidden = false;
    }
  })();
  await loading;
  loading = null;
  lastLoad = performance.now();
  const took = lastLoad - (startedBy !== null ? startedBy : started);
  if (state.loads > 1) state.timings.updates.push(Math.round(took));
  if (state.timings.updates.length > 50) state.timings.updates.shift();
  if (again) {
    again = false;
    soon(performance.now());
  }
}

let timer = null;
function soon(changedAt) {
  if (timer) return;
  const wait = Math.max(0, lastLoad + SPACING_MS - performance.now());
  timer = setTimeout(() => {
    timer = null;
    load(changedAt);
  }, wait);
}

// --- drawing ------------------------------------------------------------------------------

// A small office's cases fit on a part or two as tiles: then the tiles come first.
const SMALL_OFFICE = 150;

function availablePages(board) {
  const small = board.open_cases <= SMALL_OFFICE;
  const wanted = state.pages.length ? state.pages
    : small ? ["cases", ...DEFAULT_PAGES.filter((id) => id !== "cases")] : DEFAULT_PAGES;
  return wanted.filter((id) => PAGES[id].shows(board));
}

function currentPage(board) {
  const b = board || state.board;
  if (!b) return state.page;
  const pages = availablePages(b);
  if (state.page && (pages.includes(state.page) || state.pinned)) return state.page;
  return pages[0] || null;
}

function names(board) {
  return Object.fromEntries(board.centres.map((c) => [c.hall, c.name]));
}

function renderHeader(board) {
  const scope = board.scope.hall ? (names(board)[board.scope.hall] || board.scope.hall) : "全市 · " + board.centres.length + " 个中心";
  $("scope").textContent = scope + (board.scope.unit ? " · " + board.scope.unit : "")
    + (state.filters.stage === "alarm" ? " · 仅预警及以上" : "");
  const figure = (key, label, value, extra) => el("div", { class: "figure" + (extra ? " " + extra : ""), "data-figure": key },
    el("span", { class: "label" }, label), el("b", {}, value));
  $("figures").replaceChildren(
    figure("open", "在办", fmt(board.open_cases)),
    figure("received_today", "今日受理", fmt(board.today.received)),
    figure("completed_today", "今日办结", fmt(board.today.completed)),
    figure("on_time_today", "今日按时办结率", percent(board.today.on_time_rate)),
    figure("received_year", "本年受理", fmt(board.year.received), "year"),
    figure("completed_year", "本年办结", fmt(board.year.completed), "year"),
    figure("on_time_year", "本年按时率", percent(board.year.on_time_rate), "year"),
    figure("cards_year", "本年黄牌 · 红牌", fmt(board.year.yellow_cards) + " · " + fmt(board.year.red_cards), "year cards"));
}

function renderTabs(board, pages) {
  const tabs = pages.map((id) => el("button", { type: "button", class: "tab" + (id === currentPage(board) ? " active" : ""),
    "data-page": id }, PAGES[id].label, id === currentPage(board) && state.parts > 1
    ? el("small", {}, " " + (Math.min(state.part, state.parts - 1) + 1) + "/" + state.parts) : null));
  const pin = el("button", { type: "button", id: "pin", class: "pin", "aria-pressed": String(state.pinned) },
    state.pinned ? "▶ 轮播" : "■ 固定");
  $("tabs").replaceChildren(...tabs, pin);
}

function renderPage() {
  const board = state.board;
  if (!board) return;
  const pages = availablePages(board);
  const page = currentPage(board);
  const area = $("page");
  area.dataset.page = page || "";
  if (!page || !PAGES[page].shows(board)) {
    // A page pinned by the address may have nothing to show yet (no queue today, no devices).
    area.replaceChildren(el("p", { class: "calm" }, page ? PAGES[page].label + "：暂无" : "暂无可显示的明细"));
    state.parts = 1;
  } else {
    const ctx = { board, names: names(board), fresh: state.fresh, alarmOnly: state.filters.stage === "alarm",
      cases: state.cases, now: hallNow, devices: (hall) => state.devices.get(hall) || [] };
    state.parts = PAGES[page].render(area, ctx, state.part);
    if (state.part >= state.parts) state.part = state.parts - 1;
  }
  renderTabs(board, pages);
}

function render(board) {
  const t0 = performance.now();
  setLegend(board.legend);
  setHallTime(board);
  const firstTime = state.board === null;
  state.board = board;
  state.version = board.version;
  document.body.dataset.version = String(board.version);
  renderHeader(board);
  renderCentres($("centres"), board, state.filters.stage === "alarm");
  state.alarmMode = renderAlarms($("alarms"), board, names(board), state.fresh);
  renderProjects($("projects"), board, names(board));
  renderPage();
  fillFilters(board);
  tickClock();
  state.loads += 1;
  state.timings.lastRenderMs = Math.round(performance.now() - t0);
  if (firstTime) {
    // From the start of navigation to the first full screen: what a supervisor waits for.
    state.timings.first = Math.round(performance.now());
    scheduleRotation();
  }
}

// --- rotation -----------------------------------------------------------------------------

let rotation = null;
function scheduleRotation() {
  clearTimeout(rotation);
  const bar = $("progress");
  bar.style.transition = "none";
  bar.style.width = "0";
  if (state.pinned || state.rotate <= 0) return;
  void bar.offsetWidth;  // restart the bar's transition from zero
  bar.style.transition = "width " + state.rotate + "s linear";
  bar.style.width = "100%";
  rotation = setTimeout(advance, state.rotate * 1000);
}

async function advance() {
  const pages = availablePages(state.board);
  if (state.part + 1 < state.parts) {
    state.part += 1;
  } else {
    const at = pages.indexOf(currentPage());
    state.page = pages[(at + 1) % Math.max(1, pages.length)] || null;
    state.part = 0;
  }
  await showPage();
  scheduleRotation();
}

async function showPage() {
  if (currentPage() === "cases") await readCases().catch(() => null);
  if (currentPage() === "devices") {
    const halls = await getJson("/api/halls").catch(() => null);
    if (halls) state.devices = new Map(halls.map((h) => [h.hall, h.devices]));
  }
  renderPage();
}

// --- the controls -------------------------------------------------------------------------

function fillSelect(select, options, chosen) {
  select.replaceChildren(select.options[0], ...options.map(([value, label]) => el("option", { value }, label)));
  if (chosen && !options.some(([value]) => value === chosen)) select.append(el("option", { value: chosen }, chosen));
  select.value = chosen;
}

function fillFilters(board) {
  if (!state.filters.hall) fillSelect($("f-hall"), board.centres.map((c) => [c.hall, shortName(c.name)]), state.filters.hall);
  else if ($("f-hall").options.length <= 1) fillSelect($("f-hall"), [[state.filters.hall, board.centres[0] ? board.centres[0].name : state.filters.hall]], state.filters.hall);
  fillSelect($("f-unit"), board.units.map((u) => [u.unit, u.unit]), state.filters.unit);
  $("f-stage").value = state.filters.stage;
}

function wire() {
  for (const id of ["f-hall", "f-unit", "f-stage"]) {
    $(id).addEventListener("change", (event) => {
      state.filters[id.slice(2)] = event.target.value;
      state.part = 0;
      writeAddress();
      load();
    });
  }
  $("tabs").addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.id === "pin") {
      state.pinned = !state.pinned;
      if (state.pinned) state.page = currentPage();
    } else {
      // Choosing a page pins it: a supervisor who looks at something keeps it.
      state.page = button.dataset.page;
      state.part = 0;
      state.pinned = true;
    }
    writeAddress();
    await showPage();
    scheduleRotation();
  });
  if (state.kiosk) document.body.classList.add("kiosk");
}

// --- the clock and the stream -------------------------------------------------------------

function tickClock() {
  if (!state.board) return;
  const now = hallNow();
  $("clock").textContent = clockText(now);
  $("date").textContent = dateText(now);
}

let connected = false;
function listen() {
  const source = new EventSource("/api/stream");
  source.addEventListener("hello", () => {
    $("link").dataset.state = "live";
    $("link").textContent = "实时";
    // Back after a break in the stream: what changed meanwhile was never announced.
    if (connected) soon(null);
    connected = true;
  });
  source.addEventListener("change", (message) => {
    const change = JSON.parse(message.data);
    for (const h of change.happenings) if (h.kind === "escalation") freshUntil.set(h.case_id, performance.now() + FRESH_MS);
    soon(performance.now());
  });
  source.onerror = () => {
    $("link").dataset.state = "polling";
    $("link").textContent = "重连中";
  };
}

wire();
setInterval(tickClock, 1000);
setInterval(() => soon(null), 30000);  // a safety net under the event stream; also moves waits on
load();
listen();
