"""An approval system that syncs nightly: its cases wait for its imports to say how far it is known.

A `synced` API client's facts are its own source. Each of its imports (an
empty one too) says its facts are complete up to the import's `at`; an
escalation of one of its cases waits until that has passed the escalation's
instant plus the grace period. A person at a form (`live`) is judged at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central.cases.engine import Engine
from central.cases.timebase import parse_instant as at
from central.config import CentralConfig
from central.service import CentralService
from spine.clock import SimulatedClock
from tests.cases.conftest import entry

OFFICE, APPROVALS = "office-token", "approval-system-token"


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=at("2026-11-23T10:05") * 1000)


@pytest.fixture
def central(tmp_path: Path, clock: SimulatedClock) -> Iterator[CentralService]:
    service = CentralService(CentralConfig.model_validate({
        "data_dir": str(tmp_path / "central"),
        "web": {"users": [
            {"name": "office", "role": "supervisor", "token": OFFICE},
            {"name": "approvals", "role": "supervisor", "token": APPROVALS, "feed": "synced"},
        ]},
    }), clock=clock)
    yield service
    service.stop()


@pytest.fixture
def engine(central: CentralService) -> Engine:
    assert central.engine_cases is not None
    return central.engine_cases.engine


def caller(central: CentralService, token: str) -> TestClient:
    return TestClient(central.app, headers={"Authorization": f"Bearer {token}"})


def sync(approvals: TestClient, until: str, *facts: dict[str, object]) -> dict[str, object]:
    """The nightly sync: what changed since the last one, complete up to `until`."""
    answer = approvals.post(f"/api/cases/import?at={until}",
                            content="\n".join(json.dumps(f, ensure_ascii=False) for f in facts),
                            headers={"content-type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def cards(engine: Engine, case_id: str) -> list[str]:
    return [e.body["kind"] for e in engine.store.history(case_id) if e.kind == "case.escalated"]


def test_a_nightly_sync_gets_no_card_for_a_case_it_completed_in_time(
    central: CentralService, engine: Engine, clock: SimulatedClock
) -> None:
    with caller(central, APPROVALS) as approvals, caller(central, OFFICE) as office:
        assert approvals.post("/api/cases", json=entry("AP-0001")).status_code == 201
        assert office.post("/api/cases", json=entry("OF-0001")).status_code == 201
        assert engine.store.source_of("AP-0001") == "api:approvals"
        clock.set_wall(at("2026-11-30T08:00") * 1000)
        sync(approvals, "2026-11-30T02:00")  # nothing new on Sunday night

        # Monday 11-30 is the due day; the officer completes AP-0001 at 16:00. The system
        # sends it with Tuesday night's sync; the engine ticks on Tuesday morning meanwhile.
        clock.set_wall(at("2026-12-01T08:00") * 1000)
        engine.tick()
        assert cards(engine, "AP-0001") == []
        assert cards(engine, "OF-0001") == ["yellow_card"]  # the office's own case is live
        view = office.get("/api/cases/AP-0001").json()
        assert view["data_incomplete_since"] == "2026-11-30T02:00:00+08:00"

        clock.set_wall(at("2026-12-02T02:30") * 1000)
        result = sync(approvals, "2026-12-02T02:00",
                      {"type": "case.completed", "body": {
                          "case_id": "AP-0001", "by": "李四", "at": "2026-11-30T16:00"}},
                      {"type": "case.completion_confirmed", "body": {
                          "case_id": "AP-0001", "by": "李四", "at": "2026-11-30T16:05"}})
        assert (result["stored"], result["at"]) == (2, "2026-12-02T02:00:00+08:00")
        engine.tick()
        view = office.get("/api/cases/AP-0001").json()
    assert cards(engine, "AP-0001") == []
    # Between two syncs the system's data are incomplete, and the view says since when.
    assert (view["stage"], view["on_time"], view["data_incomplete_since"]) == (
        "completed", True, "2026-12-02T02:00:00+08:00")


def test_a_synced_clients_case_is_escalated_once_its_sync_passes_the_instant(
    central: CentralService, engine: Engine, clock: SimulatedClock
) -> None:
    with caller(central, APPROVALS) as approvals:
        approvals.post("/api/cases", json=entry("AP-0002"))
        clock.set_wall(at("2026-12-02T02:30") * 1000)
        engine.tick()
        assert cards(engine, "AP-0002") == []
        sync(approvals, "2026-12-02T02:00")
    assert cards(engine, "AP-0002") == ["yellow_card", "red_card"]  # the import's own tick
