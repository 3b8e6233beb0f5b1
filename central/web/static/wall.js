// The video wall: 1, 4, 9 or 16 windows, a hall camera chosen in each, played live with hls.js.
// A window without a camera fetches nothing; a camera is fetched only while a window shows it.
// Layouts are saved at central (shared by the monitoring room's browsers); the current one is
// also remembered by this browser.
"use strict";

(function () {
  const GRIDS = [1, 4, 9, 16];
  const PAGE = { "X-Hallwatch-Page": "wall" };
  const REMEMBERED = "hallwatch.wall";
  // Low latency without LL-HLS: the recorder cuts 1 s segments; play 1.5 s behind the newest
  // one, and speed up a little (not jump) when more than 3.5 s behind.
  const PLAYER = {
    liveSyncDuration: 1.5, liveMaxLatencyDuration: 3.5, maxLiveSyncPlaybackRate: 1.5,
    backBufferLength: 4, maxBufferLength: 6, enableWorker: true, lowLatencyMode: false,
    manifestLoadingMaxRetry: 6, levelLoadingMaxRetry: 6, fragLoadingMaxRetry: 6,
  };
  const STALLED_MS = 10000;  // a window whose picture has not moved this long is restarted
  const RETRY_MS = 3000;

  let cameras = [];
  let grid = 4;
  let cells = [];
  let savedLayouts = [];
  const tiles = [];

  const keyOf = (cell) => cell ? `${cell.hall}/${cell.device}/${cell.camera}` : "";
  const cellOf = (key) => {
    if (!key) return null;
    const [hall, device, camera] = key.split("/");
    return { hall, device, camera };
  };
  const labelOf = (cell) => {
    const known = cameras.find((c) => keyOf(c) === keyOf(cell));
    return known ? `${known.hall_name} · ${known.camera}` : `${cell.hall} · ${cell.camera}`;
  };

  async function api(path, options) {
    const response = await fetch(path, { credentials: "same-origin", ...(options || {}) });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(`${response.status} ${detail}`);
    }
    return response.status === 204 ? null : response.json();
  }

  function problem(text) {
    const node = document.getElementById("problem");
    node.hidden = !text;
    node.textContent = text || "";
  }

  // --- the windows ---------------------------------------------------------------------

  function tile(index) {
    if (tiles[index]) return tiles[index];
    const node = document.createElement("div");
    node.className = "tile";
    node.dataset.window = String(index);
    node.dataset.state = "empty";
    const select = document.createElement("select");
    select.setAttribute("aria-label", `第 ${index + 1} 画面的摄像机`);
    select.addEventListener("change", () => {
      cells[index] = cellOf(select.value);
      remember();
      show(index);
    });
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    const caption = document.createElement("div");
    caption.className = "caption";
    caption.innerHTML = '<span class="name"></span><span class="state"></span>';
    node.append(video, select, caption);
    tiles[index] = { node, select, video, caption, hls: null, key: "", lastTime: 0, movedAt: 0, retry: null };
    return tiles[index];
  }

  function fillChoices(t, index) {
    const chosen = keyOf(cells[index]);
    const options = [new Option("（无）", "")];
    for (const camera of cameras) {
      const option = new Option(`${camera.hall_name} · ${camera.camera}（${camera.device}）`, keyOf(camera));
      option.disabled = !camera.watchable;
      options.push(option);
    }
    if (chosen && !cameras.some((c) => keyOf(c) === chosen)) options.push(new Option(chosen, chosen));
    t.select.replaceChildren(...options);
    t.select.value = chosen;
  }

  function caption(t, name, state) {
    t.caption.querySelector(".name").textContent = name;
    t.caption.querySelector(".state").textContent = state;
  }

  function stop(t) {
    clearTimeout(t.retry);
    t.retry = null;
    if (t.hls) t.hls.destroy();
    t.hls = null;
    t.key = "";
    t.video.removeAttribute("src");
    t.video.load();
    t.node.dataset.state = "empty";
    delete t.node.dataset.camera;
    delete t.node.dataset.latencyMs;
    caption(t, "", "");
  }

  function play(t, cell) {
    stop(t);
    t.key = keyOf(cell);
    t.node.dataset.camera = t.key;
    t.node.dataset.state = "loading";
    t.lastTime = 0;
    t.movedAt = Date.now();
    caption(t, labelOf(cell), "连接中…");
    const url = `/api/video/live/${encodeURIComponent(cell.hall)}/${encodeURIComponent(cell.device)}/` +
      `${encodeURIComponent(cell.camera)}/index.m3u8`;
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls(PLAYER);
      t.hls = hls;
      hls.on(window.Hls.Events.MANIFEST_PARSED, () => t.video.play().catch(() => {}));
      hls.on(window.Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        const status = data.response && data.response.code;
        t.node.dataset.state = "error";
        caption(t, labelOf(cell), status === 503 ? "无信号" : `中断（${status || data.details}）`);
        retry(t, cell);
      });
      hls.loadSource(url);
      hls.attachMedia(t.video);
    } else if (t.video.canPlayType("application/vnd.apple.mpegurl")) {
      t.video.src = url;  // a browser that plays HLS itself
    } else {
      problem("此浏览器无法播放视频（需要 Media Source Extensions）");
    }
  }

  function retry(t, cell) {
    clearTimeout(t.retry);
    t.retry = setTimeout(() => { if (t.key === keyOf(cell)) play(t, cell); }, RETRY_MS);
  }

  function show(index) {
    const t = tile(index);
    const cell = cells[index];
    if (!cell) { stop(t); return; }
    if (t.key !== keyOf(cell)) play(t, cell);
  }

  function render() {
    const wall = document.getElementById("wall");
    wall.dataset.grid = String(grid);
    for (const button of document.querySelectorAll("[data-grid]")) {
      button.classList.toggle("on", Number(button.dataset.grid) === grid);
    }
    const shown = [];
    for (let index = 0; index < 16; index += 1) {
      const t = tile(index);
      if (index < grid) {
        fillChoices(t, index);
        shown.push(t.node);
        show(index);
      } else if (t.key) {
        stop(t);  // a window the layout no longer has costs nothing
      }
    }
    wall.replaceChildren(...shown);
  }

  // Every second: is each picture moving, and how far behind the camera (its program date-time)?
  function watch() {
    const now = Date.now();
    for (const t of tiles) {
      if (!t || !t.key) continue;
      const time = t.video.currentTime;
      if (time > t.lastTime + 0.01) {
        t.lastTime = time;
        t.movedAt = now;
        t.node.dataset.state = "playing";
      }
      const date = t.hls && t.hls.playingDate;
      if (date) {
        const behind = now - date.getTime();
        t.node.dataset.latencyMs = String(Math.round(behind));
        if (t.node.dataset.state === "playing") {
          caption(t, labelOf(cellOf(t.key)), `延迟 ${(behind / 1000).toFixed(1)} 秒`);
        }
      }
      if (now - t.movedAt > STALLED_MS) play(t, cellOf(t.key));
    }
  }

  // --- layouts ------------------------------------------------------------------------------

  // Every window's camera, the hidden ones too, without trailing empty windows.
  function chosen() {
    const all = Array.from({ length: 16 }, (_, index) => cells[index] || null);
    while (all.length && all[all.length - 1] === null) all.pop();
    return all;
  }

  function remember() {
    localStorage.setItem(REMEMBERED, JSON.stringify({ grid, cells: chosen() }));
  }

  function apply(layout) {
    grid = GRIDS.includes(layout.grid) ? layout.grid : 4;
    cells = (layout.cells || []).slice(0, 16);  // past the grid: kept for a bigger one
    remember();
    render();
  }

  async function loadLayouts(selected) {
    savedLayouts = await api("/api/video/layouts");
    const select = document.getElementById("layouts");
    select.replaceChildren(new Option("（未保存）", ""),
      ...savedLayouts.map((l) => new Option(`${l.name}（${l.grid}）`, l.name)));
    select.value = selected || "";
  }

  async function save() {
    const name = document.getElementById("layout-name").value.trim();
    if (!name) { problem("请先输入布局名称"); return; }
    try {
      await api(`/api/video/layouts/${encodeURIComponent(name)}`, {
        method: "PUT", headers: { "Content-Type": "application/json", ...PAGE },
        body: JSON.stringify({ grid, cells: chosen() }),
      });
      await loadLayouts(name);
      history.replaceState(null, "", `/wall?layout=${encodeURIComponent(name)}`);
      document.getElementById("saved").textContent = `已保存：${name}`;
      problem("");
    } catch (error) {
      problem(`布局未保存：${error.message}`);
    }
  }

  async function start() {
    for (const button of document.querySelectorAll("[data-grid]")) {
      button.addEventListener("click", () => { grid = Number(button.dataset.grid); remember(); render(); });
    }
    document.getElementById("save").addEventListener("click", save);
    try {
      cameras = await api("/api/video/cameras");
      const wanted = new URLSearchParams(location.search).get("layout");
      await loadLayouts(wanted);
      const layout = savedLayouts.find((l) => l.name === wanted);
      if (layout) {
        document.getElementById("layout-name").value = layout.name;
        apply(layout);
      } else {
        apply(JSON.parse(localStorage.getItem(REMEMBERED) || '{"grid": 4, "cells": []}'));
      }
      document.getElementById("layouts").addEventListener("change", (event) => {
        const chosen = savedLayouts.find((l) => l.name === event.target.value);
        if (!chosen) return;
        document.getElementById("layout-name").value = chosen.name;
        history.replaceState(null, "", `/wall?layout=${encodeURIComponent(chosen.name)}`);
        apply(chosen);
      });
    } catch (error) {
      problem(`无法读取摄像机列表：${error.message}`);
    }
    setInterval(watch, 1000);
  }

  // For the monitoring room's tests and diagnostics: what each window plays now.
  window.hallwatchWall = {
    windows: () => tiles.slice(0, grid).map((t, index) => ({
      window: index, camera: t.key || null, state: t.node.dataset.state,
      currentTime: t.video.currentTime,
      latencyMs: t.node.dataset.latencyMs ? Number(t.node.dataset.latencyMs) : null,
    })),
  };

  start();
})();
