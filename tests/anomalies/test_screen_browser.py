"""The big screen in a headless browser: open high-risk anomalies join its alarms, projects get a panel."""

from __future__ import annotations

from typing import Any

from central.service import CentralService
from tests.anomalies.test_api import PROJECT
from tests.central.browser import chromium
from tests.central.conftest import SUPERVISOR_TOKEN, VIEWER_TOKEN, client
from tests.support import wait_until


def shown(driver: Any) -> dict[str, Any] | None:
    """The alarm list's anomalies (one by one, or one grouped line) and the projects panel, read in one go."""
    found = driver.execute_script(
        "const alarms = document.getElementById('alarms'), projects = document.getElementById('projects');"
        "if (!alarms || !projects || projects.hidden) return null;"
        "const group = alarms.querySelector('.alarm.anomaly.group');"
        "return {alarms: alarms.innerText, projects: projects.innerText,"
        " anomalies: group ? Number(group.dataset.count) : alarms.querySelectorAll('[data-anomaly]').length,"
        " listed: [...projects.querySelectorAll('[data-project]')].map(p => p.dataset.project)};")
    return dict(found) if found else None


def test_the_screen_counts_open_high_risk_anomalies_among_its_alarms_and_shows_each_projects_slowest_case(
    engine_central: CentralService
) -> None:
    engine_central.tick()  # the demo's self-confirmed completions: high risk
    with client(engine_central, SUPERVISOR_TOKEN) as office:
        assert office.post("/api/projects", json={**PROJECT, "cases": [*PROJECT["cases"], "DEMO-0303"]}
                           ).status_code == 201
    with chromium() as driver:
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}")
        seen = wait_until(lambda: (s := shown(driver)) and s["anomalies"] and s["listed"] and s, 30,
                          "anomalies among the alarms and the projects panel")
        assert seen["anomalies"] == 3
        assert "异常 3" in seen["alarms"] and "自办自核" in seen["alarms"]
        assert seen["listed"] == [PROJECT["id"]]
        assert "新能源产业园一期" in seen["projects"] and "最慢 市场监管局 DEMO-0303" in seen["projects"]
        assert "红牌" in seen["projects"]
        assert "138" not in seen["alarms"] + seen["projects"], "no citizen's phone on the screen"
