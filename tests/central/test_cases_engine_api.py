"""The API over the real case engine: lights by hall, unit, stage; history that verifies; escalation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.demo import DEMO_UNITS
from central.service import CentralService
from edge.runtime.agent import AgentConfig, EdgeAgent
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from tests.central.conftest import SUPERVISOR_TOKEN, VIEWER_TOKEN, client
from tests.central.hall import start_gateway
from tests.support import wait_until


@pytest.fixture
def api(engine_central: CentralService) -> Iterator[httpx.Client]:
    with client(engine_central, VIEWER_TOKEN) as http:
        yield http


def stages_of(api: httpx.Client, **params: str) -> dict[str, str]:
    page = api.get("/api/cases", params=params).json()
    return {case["case_id"]: case["stage"] for case in page["cases"]}


def test_every_seeded_case_shows_the_light_it_was_seeded_for(api: httpx.Client) -> None:
    shown = stages_of(api, open="true")
    expected = {f"DEMO-{u + 1:02d}{c + 1:02d}": stage
                for u, unit in enumerate(DEMO_UNITS) for c, stage in enumerate(unit["stages"])
                if stage != "completed"}
    assert shown == expected


def test_cases_filter_by_unit_and_by_light(api: httpx.Client) -> None:
    assert set(stages_of(api, unit="人社局", open="true")) == {"DEMO-0201", "DEMO-0202", "DEMO-0203"}
    assert stages_of(api, unit="人社局", stage="completed") == {"DEMO-0204": "completed"}
    assert stages_of(api, stage="red_card") == {"DEMO-0303": "red_card"}
    assert stages_of(api, hall="no-such-hall") == {}


def test_the_most_urgent_cases_come_first(api: httpx.Client) -> None:
    order = [c["stage"] for c in api.get("/api/cases").json()["cases"]]
    assert order[:3] == ["supervision_letter", "red_card", "yellow_card"]


def test_a_case_history_verifies_and_keeps_phones_masked(api: httpx.Client) -> None:
    response = api.get("/api/cases/DEMO-0303/history")
    assert response.status_code == 200
    history = response.json()
    assert history["verified"] is True and history["problem"] is None
    assert [e["kind"] for e in history["events"]][0] == "case.accepted"
    assert history["case"]["contact_phone"] == "138****0202"
    assert "13800000202" not in response.text
    assert api.get("/api/cases/NOPE-1/history").status_code == 404


def test_the_articles_figures_count_cards_per_unit(api: httpx.Client) -> None:
    rows = {row["key"]: row for row in api.get("/api/statistics", params={"by": "unit"}).json()}
    assert rows["人社局"]["received"] == 4
    assert (rows["人社局"]["completed"], rows["人社局"]["on_time"]) == (1, 1)
    assert rows["人社局"]["yellow_cards"] == 1
    assert rows["市场监管局"]["red_cards"] == 1
    # A red card is issued after the yellow card it follows: both count.
    assert rows["市场监管局"]["yellow_cards"] == 1
    total = api.get("/api/statistics").json()
    assert total[0]["received"] == sum(len(u["stages"]) for u in DEMO_UNITS)


def test_a_tick_after_midnight_escalates_and_announces_it(
    engine_central: CentralService, clock: SimulatedClock, api: httpx.Client
) -> None:
    before = engine_central.feed.version
    clock.advance(14 * 3600 * 1000)  # Tuesday 00:05
    steps = {step.case_id: step.stage for step in engine_central.tick()}
    assert steps["DEMO-0104"] == "yellow_card"  # red light on Monday, one day overdue on Tuesday
    assert stages_of(api, unit="民政局")["DEMO-0104"] == "yellow_card"
    announced = [h.data for h in engine_central.feed.since(before) if h.kind == "escalation"]
    assert {"case_id": "DEMO-0104", "stage": "yellow_card", "hall": "hall-01", "unit": "民政局"}.items() \
        <= next(a for a in announced if a["case_id"] == "DEMO-0104").items()


ENTRY = {
    "case_id": "JQ-2026-0100", "by": "window-3", "hall": "hall-01", "unit": "自然资源局",
    "window": "w03", "matter": "户外广告设置许可", "contact_name": "张三",
    "contact_phone": "13812345678", "officer_name": "李四", "officer_phone": "13900001111",
    "applied_at": "2026-11-23T09:30", "accepted_at": "2026-11-23T10:00", "limit": 5,
}


def test_the_case_engines_own_door_is_behind_the_roles(engine_central: CentralService) -> None:
    with client(engine_central, VIEWER_TOKEN) as viewer:
        assert viewer.post("/api/cases", json=ENTRY).status_code == 403
        assert viewer.get("/api/lights").status_code == 200
    with client(engine_central, SUPERVISOR_TOKEN) as office:
        entered = office.post("/api/cases", json=ENTRY)
        assert entered.status_code == 201, entered.text
        assert "13812345678" not in office.get("/api/cases/JQ-2026-0100").text
    with client(engine_central) as anonymous:
        assert anonymous.get("/api/lights").status_code == 401


def test_a_case_a_hall_sends_as_an_event_enters_the_records(
    tmp_path: Path, broker: MosquittoBroker, engine_central: CentralService, api: httpx.Client
) -> None:
    # A case enters from a hall as a window's fact: its caller, its logged-in officer, their unit.
    gateway = start_gateway(tmp_path, broker.port, [{"id": "caller-w03", "kind": "caller", "window": "w03"}],
                            ratings={"officers": {"off-17": {"name": "李四", "department": "自然资源局"}}})
    caller = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": "caller-w03", "hall": "hall-01", "kind": "caller", "window": "w03"},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / "caller-w03" / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 1, "ack_timeout_s": 3},
    }))
    caller.start()
    try:
        caller.record("queue.window_action", {"action": "login", "window": "w03", "officer": "off-17",
                                              "request": "login-0001"})
        caller.record("case.accepted", {**ENTRY, "by": "off-17", "officer_id": "off-17"})
        wait_until(lambda: "JQ-2026-0100" in stages_of(api, hall="hall-01"), 30,
                   "the hall's case to reach the case records")
    finally:
        caller.stop()
        gateway.stop()
    assert stages_of(api, hall="hall-01")["JQ-2026-0100"] == "blue"
