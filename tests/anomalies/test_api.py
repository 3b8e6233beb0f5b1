"""The supervision office's API on a running central: anomalies, decisions, projects, the screen panel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from central.service import CentralService
from contract.commands.queue import QueueAppointments
from tests.central.conftest import SUPERVISOR_TOKEN, VIEWER_TOKEN, client

SELF_CONFIRMED = {"DEMO-0105", "DEMO-0106", "DEMO-0204"}
"""The demo's completed cases: each confirmed by the officer who completed it."""


@pytest.fixture
def office(engine_central: CentralService) -> Iterator[httpx.Client]:
    with client(engine_central, SUPERVISOR_TOKEN) as http:
        yield http


@pytest.fixture
def screen(engine_central: CentralService) -> Iterator[httpx.Client]:
    with client(engine_central, VIEWER_TOKEN) as http:
        yield http


def test_the_office_works_an_anomaly_through_to_its_finding(
    engine_central: CentralService, office: httpx.Client, screen: httpx.Client
) -> None:
    engine_central.tick()
    listed = screen.get("/api/anomalies", params={"rule": "self_confirmed", "open": "true"}).json()
    assert {a["case_id"] for a in listed} == SELF_CONFIRMED
    anomaly = listed[0]["id"]
    assert screen.post(f"/api/anomalies/{anomaly}/acknowledge").status_code == 403
    assert office.post(f"/api/anomalies/{anomaly}/acknowledge").json()["state"] == "acknowledged"
    assigned = office.post(f"/api/anomalies/{anomaly}/assign", json={"assignee": "民政局 纪检员"}).json()
    assert (assigned["state"], assigned["assignee"]) == ("assigned", "民政局 纪检员")
    no_cause = office.post(f"/api/anomalies/{anomaly}/close",
                           json={"finding": "false_alarm", "note": "查无问题"})
    assert no_cause.status_code == 422 and "needs its cause" in no_cause.text
    closed = office.post(f"/api/anomalies/{anomaly}/close", json={
        "finding": "false_alarm", "cause": "legitimate_reason", "note": "科室仅一人值班，已报备"}).json()
    assert (closed["state"], closed["finding"], closed["cause"]) == (
        "closed", "false_alarm", "legitimate_reason")
    assert [s["type"] for s in closed["history"]] == [
        "anomaly.raised", "anomaly.acknowledged", "anomaly.assigned", "anomaly.closed"]
    assert closed["history"][0]["actor"] == "central" and closed["history"][1]["actor"] == "office"
    again = office.post(f"/api/anomalies/{anomaly}/close", json={"finding": "confirmed", "note": "再次"})
    assert again.status_code == 409
    assert screen.get("/api/anomalies/AN20260101-9999").status_code == 404
    assert screen.get("/api/anomalies/verify").json()["ok"] is True
    stats = {(row["unit"], row["rule"]): row for row in screen.get("/api/anomalies/stats").json()}
    assert stats[(closed["unit"], "self_confirmed")]["false_alarms"] == 1
    assert sum(row["raised"] for (_unit, rule), row in stats.items() if rule == "self_confirmed") == 3
    assert sum(row["open"] for row in stats.values()) == 2
    rules = screen.get("/api/anomalies/rules").json()
    assert len(rules) == 11 and {r["name"] for r in rules} >= {"self_confirmed", "camera_gap_in_complaint"}


def decision(amount: float, reason: str = "") -> dict[str, Any]:
    return {"case_id": "DEMO-0101", "by": "李明", "at": "2026-11-23T10:00", "matter": "违法建设罚款",
            "circumstance": "一般", "amount": amount, "reason": reason}


def test_a_decision_outside_its_standard_needs_a_reason_and_then_stands_on_the_big_screen(
    engine_central: CentralService, office: httpx.Client, screen: httpx.Client
) -> None:
    standards = {s["matter"]: s for s in screen.get("/api/discretion/standards").json()}
    assert standards["违法建设罚款"]["circumstances"]["一般"] == "10000–50000 元"
    refused = office.post("/api/cases/DEMO-0101/decisions", json=decision(80000))
    assert refused.status_code == 422 and "give the reason in writing" in refused.text
    assert screen.post("/api/cases/DEMO-0101/decisions", json=decision(20000)).status_code == 403
    taken = office.post("/api/cases/DEMO-0101/decisions", json=decision(80000, "拒不整改，面积超标"))
    assert taken.status_code == 200, taken.text
    case = screen.get("/api/cases/DEMO-0101").json()
    assert case["decisions"][0]["within"] is False and case["decisions"][0]["amount"] == 80000
    engine_central.tick()
    panel = screen.get("/api/screen/supervision").json()
    shown = {a["title"]: a for a in panel["anomalies"]}
    assert "自由裁量越界" in shown and shown["自由裁量越界"]["risk"] == "high"
    assert panel["open_anomalies"] == len(SELF_CONFIRMED) + 1


PROJECT = {"id": "ZD-2026-01", "name": "新能源产业园一期", "coordinator": "发改委 陈主任", "limit": 40,
           "cases": ["DEMO-0101", "DEMO-0102", "DEMO-0201", "DEMO-0301", "DEMO-0302", "DEMO-0401"]}
"""Six cases in four units (民政局, 人社局, 市场监管局, 住建局), every one of them blue today."""


def test_a_project_across_four_units_shows_the_case_holding_it_back(
    engine_central: CentralService, office: httpx.Client, screen: httpx.Client,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(engine_central.appointments, "send", lambda h, c: sent.append((h, c)))
    assert screen.post("/api/projects", json=PROJECT).status_code == 403
    created = office.post("/api/projects", json=PROJECT)
    assert created.status_code == 201, created.text
    assert (created.json()["stage"], len(created.json()["units"])) == ("blue", 4)
    assert office.post("/api/projects", json=PROJECT).status_code == 409
    assert office.post("/api/projects/ZD-2026-01/cases", json={"case_id": "NOPE-0001"}).status_code == 404
    grown = office.post("/api/projects/ZD-2026-01/cases", json={"case_id": "DEMO-0303"}).json()
    assert (grown["stage"], grown["stage_label"]) == ("red_card", "红牌")
    assert grown["slowest"]["case_id"] == "DEMO-0303" and grown["slowest"]["unit"] == "市场监管局"
    listed = screen.get("/api/projects").json()
    assert [p["id"] for p in listed] == ["ZD-2026-01"]
    pass_ = office.post("/api/projects/ZD-2026-01/passes", json={"hall": "hall-01", "service": "A",
                                                                  "day": "2026-11-24"})
    assert pass_.status_code == 201
    hall, command = sent[-1]
    assert hall == "hall-01"
    assert QueueAppointments.model_validate(command).appointments[0].code == pass_.json()["code"]
    assert screen.get("/api/projects/ZD-2026-01/passes").status_code == 403
    assert office.get("/api/projects/ZD-2026-01/passes").json()[0]["code"] == pass_.json()["code"]
    panel = screen.get("/api/screen/supervision").json()
    assert panel["projects"][0]["slowest_case"] == "DEMO-0303"
    assert panel["projects"][0]["stage_label"] == "红牌" and panel["projects"][0]["cases"] == 7
    assert [s["type"] for s in screen.get("/api/projects/ZD-2026-01/history").json()] == [
        "project.created", *["project.case_added"] * 7, "project.pass_issued"]
    assert screen.get("/api/projects/NOPE/history").status_code == 404
