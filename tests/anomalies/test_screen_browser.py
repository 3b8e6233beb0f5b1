"""The big screen's supervision panel in a real headless browser: open high-risk anomalies and projects."""

from __future__ import annotations

from typing import Any

from central.service import CentralService
from tests.anomalies.test_api import PROJECT
from tests.central.browser import chromium
from tests.central.conftest import SUPERVISOR_TOKEN, VIEWER_TOKEN, client
from tests.support import wait_until


def panel(driver: Any) -> dict[str, Any] | None:
    """What the panel shows now, read in one go (it redraws itself every few seconds)."""
    found = driver.execute_script(
        "const p = document.getElementById('supervision');"
        "return p && !p.hidden && {text: p.innerText,"
        " anomalies: [...p.querySelectorAll('[data-anomaly]')].map(a => a.dataset.risk),"
        " projects: [...p.querySelectorAll('[data-project]')].map(x => x.dataset.stage)};")
    return dict(found) if found else None


def test_the_screen_lists_open_high_risk_anomalies_and_each_projects_slowest_case(
    engine_central: CentralService
) -> None:
    engine_central.tick()  # the demo's self-confirmed completions: high risk
    with client(engine_central, SUPERVISOR_TOKEN) as office:
        assert office.post("/api/projects", json={**PROJECT, "cases": [*PROJECT["cases"], "DEMO-0303"]}
                           ).status_code == 201
    with chromium() as driver:
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}")
        shown = wait_until(lambda: (p := panel(driver)) and p["projects"] and p, 30, "the supervision panel")
        assert shown["anomalies"] == ["high", "high", "high"]
        assert "异常监测 · 未关闭 3" in shown["text"] and "自办自核" in shown["text"]
        assert shown["projects"] == ["red_card"]
        assert "新能源产业园一期" in shown["text"] and "最慢：DEMO-0303 市场监管局 红牌" in shown["text"]
        assert "138" not in shown["text"], "no citizen's phone on the screen"
