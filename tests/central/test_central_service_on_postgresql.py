"""`hall central run` on each database: CentralService over a store at a `sqlite://` or `postgresql://`
URL starts, takes a hall's batches through a real Mosquitto, runs its ticks (the case engine and
supervision on SQLite files of their own), and serves the big screen's board, the hall's API and the
public site over HTTP from what it stored."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.database_settings import DatabaseSettings
from central.service import CentralService
from central.web.hallfigures import hall_day
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from spine.storeurl import StoreUrl
from tests.central.conftest import VIEWER_TOKEN, central_config, client
from tests.central.hall import HALL, start_gateway
from tests.central.test_ingest_on_postgresql import device
from tests.support import wait_until


@pytest.fixture
def service(tmp_path: Path, broker: MosquittoBroker, store_url: StoreUrl) -> Iterator[CentralService]:
    # As central.toml names it: [database] url (the throwaway cluster trusts its user: no password).
    config = central_config(tmp_path, broker.port).model_copy(
        update={"database": DatabaseSettings(url=store_url.secret_url())})
    service = CentralService(config)
    assert service.store.url == store_url
    service.start()
    yield service
    service.stop()


@pytest.fixture
def gateway(tmp_path: Path, broker: MosquittoBroker, service: CentralService) -> Iterator[GatewayService]:
    gateway = start_gateway(tmp_path, broker.port, [{"id": "kiosk-01", "kind": "kiosk"}])
    yield gateway
    gateway.stop()


def events_read_by_supervision(service: CentralService) -> int:
    rows = service.supervision.store.query("SELECT position FROM anomaly_cursors WHERE feed = 'events'")
    return int(rows[0][0]) if rows else 0


def test_central_serves_the_halls_batches_on_its_board_and_api(
        tmp_path: Path, broker: MosquittoBroker, service: CentralService, gateway: GatewayService,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    now = service.clock.wall_ms()
    day = hall_day(now)
    kiosk = device(tmp_path, broker, "kiosk-01", "kiosk")
    try:
        for number, ticket in enumerate(("A001", "A002"), start=1):
            kiosk.record("queue.ticket_issued", {
                "ticket": ticket, "day": day, "service": "A", "service_name": "食品经营", "number": number,
                "slot": number, "people_ahead": number - 1, "issued_at": now})
        gateway.store.record_own("queue.called", {
            "day": day, "ticket": "A001", "service": "A", "window": "w03", "officer": "101", "at": now + 1000,
            "issued_at": now, "waiting_since": now, "wait_ms": 1000})
        # Beyond a kiosk's authority: its gateway refuses it and tells central, which raises an alarm.
        kiosk.record("rating.recorded", {
            "hall": HALL, "window": "w03", "officer": "101", "department": "市场监管局", "how": "session",
            "rating": "r-forged", "terminal": "kiosk-01", "grade": "very_satisfied", "rated_at": now,
            "source_event": "e" * 32})

        with client(service, VIEWER_TOKEN) as http:
            def board() -> dict[str, Any]:
                answer = http.get("/api/screen/board", params={"hall": HALL})
                assert answer.status_code == 200, answer.text
                return dict(answer.json())

            def hall_queue() -> dict[str, Any]:
                (centre,) = board()["centres"]
                return dict(centre["queue"])

            queue = wait_until(lambda: (q := hall_queue())["waiting"] == 1 and q["windows"] and q, 30,
                               "the board to show one waiting and window w03 serving")
            assert [(w["window"], w["ticket"], w["officer"]) for w in queue["windows"]] == [
                ("w03", "A001", "101")]
            assert queue["issued"] == 2
            security = wait_until(lambda: board()["alarms"]["security"], 30,
                                  "the alarm of the kiosk's forged rating")
            assert security[0]["device"] == "kiosk-01"

            shown = http.get(f"/api/halls/{HALL}").json()
            assert {(d["device"], d["online"]) for d in shown["devices"]} >= {("kiosk-01", True)}
            assert (shown["queue_today"]["waiting"], shown["queue_today"]["serving"]) == (1, 1)
            assert shown["alarms"][0]["device"] == "kiosk-01"

            public = http.post("/public/progress", data={"case_id": "JQ-0000-0000", "tail": "1234"})
            assert public.status_code == 200
            assert [a["subject"] for a in service.citizens.attempts.recent("progress")] == ["JQ-0000-0000"]

        wait_until(lambda: events_read_by_supervision(service) > 0, 30,
                   "supervision's rules to read the halls' events at a tick")
    finally:
        kiosk.stop()
    # The gateway's refusal is logged as an error, by the gateway; central itself logged none.
    assert not [r for r in caplog.records if r.name.startswith("central")], caplog.text
