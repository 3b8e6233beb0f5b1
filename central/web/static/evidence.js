// A complaint's evidence: its held footage per camera; fetch the clip from the recorder, play it,
// show whether its SHA-256 checks hold (docs/video.md), download the export with its manifest.
"use strict";

(function () {
  const PAGE = { "X-Hallwatch-Page": "evidence" };
  const WORDS = {
    verified: "已验证（verified）",
    awaiting_record: "等待录像机记录（awaiting the recorder's record）",
    failed: "校验失败（failed）",
  };
  let pending = null;
  const players = new Map();  // export id -> its video element, kept across redraws so it plays on

  async function api(path, options) {
    const response = await fetch(path, { credentials: "same-origin", ...(options || {}) });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(`${response.status} ${detail}`);
    }
    return response.json();
  }

  function problem(text) {
    const node = document.getElementById("problem");
    node.hidden = !text;
    node.textContent = text || "";
  }

  function element(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function summary(complaint) {
    const node = document.getElementById("summary");
    node.hidden = false;
    node.replaceChildren(
      element("div", {}, `投诉 ${complaint.id} · ${complaint.hall} · 窗口 ${complaint.window || "—"}` +
        ` · 票号 ${complaint.ticket || "—"} · ${complaint.state}`),
      element("div", {}, `办理时段：${complaint.visit_from || "—"} 至 ${complaint.visit_to || "—"}`),
      element("div", {}, complaint.summary),
    );
  }

  function held(complaint, footage) {
    const node = element("article", {
      class: "held", "data-device": footage.device, "data-camera": footage.camera,
    });
    node.append(
      element("h2", {}, `${footage.hall} · ${footage.device} · ${footage.camera}（窗口 ${footage.window}）`),
      element("div", {}, `保全时段：${footage.start} 至 ${footage.end}`),
    );
    const clip = footage.clip;
    if (!clip) {
      const fetchButton = element("button", { type: "button", class: "fetch" }, "调取录像");
      fetchButton.addEventListener("click", async () => {
        fetchButton.disabled = true;
        fetchButton.textContent = "正在从录像机调取…";
        try {
          await api(footage.fetch_url, { method: "POST", headers: PAGE });
          await load(complaint);
        } catch (error) {
          problem(`调取失败：${error.message}`);
          fetchButton.disabled = false;
          fetchButton.textContent = "调取录像";
        }
      });
      node.append(fetchButton);
      return node;
    }
    let video = players.get(clip.export_id);
    if (!video) {
      video = element("video", { controls: "", muted: "", autoplay: "", playsinline: "", src: clip.clip_url });
      video.muted = true;
      players.set(clip.export_id, video);
    }
    const badge = element("span", { class: "verification", "data-state": clip.verification },
      WORDS[clip.verification] || clip.verification);
    const again = element("button", { type: "button", class: "verify" }, "重新校验");
    again.addEventListener("click", async () => {
      try {
        await api(`${footage.fetch_url}/verify`, { method: "POST", headers: PAGE });
        await load(complaint);
      } catch (error) {
        problem(`校验失败：${error.message}`);
      }
    });
    const checks = element("ul", { class: "checks" });
    for (const line of [...clip.problems, ...clip.checks]) checks.append(element("li", {}, line));
    node.append(
      video,
      element("div", {}, ""),
      badge,
      element("div", { class: "checks" }, `导出 ${clip.export_id} · ${clip.bytes} 字节 · SHA-256 ${clip.sha256}` +
        ` · 调取人 ${clip.fetched_by} · ${clip.fetched_at}`),
      checks,
      element("a", { href: clip.download_url, class: "download" }, "下载证据包（录像与清单）"),
      element("span", {}, " "),
      element("a", { href: clip.manifest_url, class: "manifest" }, "清单"),
      element("span", {}, " "),
      again,
    );
    if (clip.verification === "awaiting_record") {
      clearTimeout(pending);
      pending = setTimeout(() => load(complaint), 2000);  // the recorder's event is on its way
    }
    return node;
  }

  async function load(id) {
    problem("");
    try {
      const [complaint, footage] = await Promise.all([
        api(`/api/complaints/${encodeURIComponent(id)}`),
        api(`/api/video/evidence/${encodeURIComponent(id)}`),
      ]);
      summary(complaint);
      const list = document.getElementById("footage");
      list.replaceChildren(...footage.map((f) => held(id, f)));
      if (!footage.length) list.replaceChildren(element("p", {}, "此投诉尚无已确认保全的录像。"));
    } catch (error) {
      problem(`无法读取投诉 ${id}：${error.message}`);
    }
  }

  document.getElementById("pick").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = document.getElementById("complaint").value.trim();
    if (!id) return;
    history.replaceState(null, "", `/evidence?complaint=${encodeURIComponent(id)}`);
    load(id);
  });
  const wanted = new URLSearchParams(location.search).get("complaint");
  if (wanted) {
    document.getElementById("complaint").value = wanted;
    load(wanted);
  }
})();
