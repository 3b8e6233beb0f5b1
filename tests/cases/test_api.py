"""The HTTP door: same validation as the import, OpenAPI-documented, phones masked.

Central's own application over its case engine, called in-process with a
supervisor's token (roles are tested in tests/central).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central.cases.engine import Engine
from central.cases.timebase import parse_instant
from central.config import CentralConfig
from central.service import CentralService
from spine.clock import SimulatedClock
from tests.cases.conftest import CONTACT_PHONE, entry

TOKEN = "case-office-token"


@pytest.fixture
def central(tmp_path: Path) -> Iterator[CentralService]:
    service = CentralService(
        CentralConfig.model_validate({
            "data_dir": str(tmp_path / "central"),
            "web": {"users": [{"name": "office", "role": "supervisor", "token": TOKEN}]},
        }),
        clock=SimulatedClock(wall_ms=parse_instant("2026-11-23T10:05") * 1000),
    )
    yield service
    service.stop()


@pytest.fixture
def engine(central: CentralService) -> Engine:
    """The case engine behind central's door (not started: nothing ticks but the test)."""
    assert central.engine_cases is not None
    return central.engine_cases.engine


@pytest.fixture
def client(central: CentralService) -> Iterator[TestClient]:
    with TestClient(central.app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def test_a_case_entered_over_http_is_stored_once_and_read_back_masked(client: TestClient) -> None:
    first = client.post("/api/cases", json=entry())
    again = client.post("/api/cases", json=entry())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    record = client.get("/api/cases/JQ-2026-0001")
    assert record.status_code == 200
    assert record.json()["contact_phone"] == "138****5678"
    assert CONTACT_PHONE not in record.text
    assert CONTACT_PHONE not in client.get("/api/cases/JQ-2026-0001/history").text


def test_http_and_import_refuse_the_same_entry_for_the_same_reasons(
    client: TestClient, engine: Engine
) -> None:
    bad = entry(limit=0, contact_phone="n/a")
    over_http = client.post("/api/cases", json=bad)
    assert over_http.status_code == 422
    imported = client.post("/api/cases/import", content=json.dumps(bad),
                           headers={"content-type": "application/x-ndjson"})
    problems = imported.json()["rejected"][0]["problems"]
    http_fields = {e["loc"][-1] for e in over_http.json()["detail"]}
    assert http_fields == {p.split(":")[0] for p in problems} == {"limit", "contact_phone"}
    assert engine.store.open_count() == 0


def test_strict_entry_answers_422_with_the_warnings(client: TestClient) -> None:
    response = client.post("/api/cases?strict=true", json=entry(limit=60))
    assert response.status_code == 422
    assert response.json()["detail"][0].startswith("unusual_limit")


def test_validate_shows_warnings_and_stores_nothing(client: TestClient, engine: Engine) -> None:
    response = client.post("/api/cases/validate", json=entry(applied_at="2026-11-23T10:03"))
    warnings = response.json()["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("accepted_before_applied")
    assert engine.store.open_count() == 0


def test_facts_and_corrections_over_http(client: TestClient) -> None:
    accepted = client.post("/api/cases", json=entry()).json()
    fact = {"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-23T10:04"}
    assert client.post("/api/cases/JQ-2026-0001/suspensions",
                       json={**fact, "reason": "hearing"}).json()["stage"] == "suspended"
    assert client.post("/api/cases/JQ-2026-0001/resumptions",
                       json=fact).json()["stage"] == "blue"
    wrong = client.post("/api/cases/JQ-2026-0001/resumptions", json=fact)
    assert wrong.json()["duplicate"] is True
    correction = client.post("/api/cases/JQ-2026-0001/corrections", json={
        "case_id": "JQ-2026-0001", "by": "supervisor", "corrects": accepted["seq"],
        "changes": {"limit": 6}, "reason": "statutory limit is 6",
    })
    assert correction.status_code == 200
    assert client.get("/api/cases/JQ-2026-0001").json()["due_day"] == "2026-12-01"


def test_a_fact_for_an_unknown_case_is_404(client: TestClient) -> None:
    response = client.post("/api/cases/NOPE-1/completion",
                           json={"case_id": "NOPE-1", "by": "x", "at": "2026-11-23T10:00"})
    assert response.status_code == 404


def test_lights_counts_statistics_and_log_head(client: TestClient, engine: Engine) -> None:
    client.post("/api/cases", json=entry())
    client.post("/api/cases", json=entry("JQ-2026-0002", hall="hall-suzhou"))
    engine.tick(engine.store.now())
    lights = client.get("/api/lights", params={"hall": "hall-suzhou"}).json()
    assert [row["case_id"] for row in lights] == ["JQ-2026-0002"]
    assert client.get("/api/lights/counts?by=hall").json() == {
        "hall-centre": {"blue": 1}, "hall-suzhou": {"blue": 1}}
    figures = client.get("/api/statistics").json()
    assert figures[0]["received"] == 2
    head = client.get("/api/log/head").json()
    verified = client.get("/api/log/verify", params=head).json()
    assert verified["ok"] is True


def test_the_calculator_over_http(client: TestClient) -> None:
    answer = client.get("/api/deadline", params={
        "accepted": "2026-09-30T10:00", "limit": 2, "at": "2026-10-10T08:00"}).json()
    assert (answer["due_day"], answer["stage_at"]) == ("2026-10-09", "yellow_card")


def test_the_api_is_documented_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/cases", "/api/cases/{case_id}", "/api/lights", "/api/deadline",
            "/api/statistics", "/api/cases/import"} <= set(spec["paths"])
    assert "CaseAccepted" in spec["components"]["schemas"]
