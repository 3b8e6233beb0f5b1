"""A complaint about a served ticket holds that window's footage at the hall's recorder, via its gateway."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest

from central.service import CentralService
from central.telemetry import recorders_of
from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from tests.central.conftest import SUPERVISOR_TOKEN, client, stored_rows
from tests.central.hall import HALL, recorder_config, served, start_gateway
from tests.support import wait_until
from tests.support.processes import HallProcess

CALLED = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
ENDED = CALLED + 7 * 60_000


def central_knows(central: CentralService, sql: str) -> Any:
    rows = stored_rows(central.store, sql)
    return rows[0][0] if rows and rows[0][0] else None


def recorder_online(central: CentralService, device: str) -> bool:
    return device in recorders_of(central.store, HALL)


@pytest.fixture
def office(central: CentralService) -> Iterator[httpx.Client]:
    with client(central, SUPERVISOR_TOKEN) as http:
        yield http


@pytest.fixture
def gateway(tmp_path: Path, broker: MosquittoBroker, central: CentralService) -> Iterator[GatewayService]:
    gateway = start_gateway(tmp_path, broker.port, [{"id": "rec-01", "kind": "recorder"}])
    yield gateway
    gateway.stop()


def serve_a_ticket(gateway: GatewayService, central: CentralService) -> None:
    gateway.store.record_own("queue.served", served("A023", "w03", "李明", CALLED, ENDED))
    wait_until(lambda: central_knows(
        central, "SELECT count(*) FROM events WHERE type = 'queue.served'"), 30,
        "the served ticket to reach central")


def test_a_complaint_about_a_ticket_sends_the_hold_to_the_windows_recorder(
    tmp_path: Path, broker: MosquittoBroker, central: CentralService, gateway: GatewayService,
    office: httpx.Client,
) -> None:
    # A stand-in recorder: a real device on the hall broker that only listens to its commands.
    commands: list[dict[str, Any]] = []
    arrived = threading.Event()
    recorder = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": "rec-01", "hall": HALL, "kind": "recorder"},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / "rec-01" / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 1},
    }))

    def on_command(message: mqtt.MQTTMessage) -> None:
        commands.append(json.loads(message.payload))
        arrived.set()

    recorder.on_command(on_command)
    recorder.start()
    try:
        wait_until(lambda: recorder_online(central, "rec-01"), 30, "central to see the recorder")
        serve_a_ticket(gateway, central)

        response = office.post("/api/complaints", json={
            "hall": HALL, "ticket": "A023", "summary": "办理时被要求补交无关材料",
            "phone": "13712345678", "visit_time": "2026-11-23T10:30:00"})
        assert response.status_code == 201, response.text
        complaint = response.json()
        assert (complaint["window"], complaint["officer"]) == ("w03", "李明")
        assert complaint["visit_from"] == "2026-11-23T10:00:00+08:00"
        assert complaint["visit_to"] == "2026-11-23T10:07:00+08:00"

        assert arrived.wait(30), "the hold command never reached hall/hall-01/dev/rec-01/cmd"
        command = commands[0]
        # It arrived on rec-01's own command topic; the routing key stayed at the gateway.
        assert command["command"] == "recorder.hold" and "device" not in command
        hold = command["hold"]
        assert hold["hold_id"] == complaint["id"] and hold["window"] == "w03"
        # Ten minutes either side of the visit, by default.
        assert (hold["from"], hold["to"]) == (CALLED - 600_000, ENDED + 600_000)
        assert hold["until"] > hold["to"]
        assert "13712345678" not in json.dumps(command)
    finally:
        recorder.stop()


def test_an_unconfirmed_hold_is_sent_again(
    tmp_path: Path, broker: MosquittoBroker, central: CentralService, gateway: GatewayService,
    office: httpx.Client,
) -> None:
    commands: list[str] = []
    recorder = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": "rec-01", "hall": HALL, "kind": "recorder"},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / "rec-01" / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 1},
    }))
    recorder.on_command(lambda message: commands.append(json.loads(message.payload)["id"]))
    recorder.start()
    try:
        wait_until(lambda: recorder_online(central, "rec-01"), 30, "central to see the recorder")
        complaint = office.post("/api/complaints", json={
            "hall": HALL, "window": "w03", "visit_time": "2026-11-23T10:30:00",
            "summary": "等候时间过长"}).json()["id"]
        wait_until(lambda: len(commands) >= 1, 30, "the first hold command")
        # hold_retry_s is 2 s in these tests and the engine ticks every 0.2 s.
        wait_until(lambda: len(commands) >= 2, 30, "the hold to be sent again")
        assert set(commands) == {complaint}, "a resend carries the same id: the recorder holds once"
    finally:
        recorder.stop()


def test_a_complaint_places_a_hold_at_a_real_recorder_through_the_gateway(
    tmp_path: Path, broker: MosquittoBroker, central: CentralService, gateway: GatewayService,
    office: httpx.Client,
) -> None:
    config = recorder_config(tmp_path, broker.port, "rec-01", {"cam-w03": "w03", "cam-w04": "w04"})
    recorder = HallProcess("rec-01", ["recorder", "run", "--config", str(config)], tmp_path).start()
    try:
        wait_until(lambda: recorder_online(central, "rec-01"), 60, "central to see the recorder")
        serve_a_ticket(gateway, central)
        complaint = office.post("/api/complaints", json={
            "hall": HALL, "ticket": "A023", "summary": "工作人员态度生硬"}).json()["id"]

        def held() -> list[dict[str, Any]]:
            holds = office.get(f"/api/complaints/{complaint}").json()["holds"]
            return [h for h in holds if h["confirmed_at"]]

        confirmed = wait_until(held, 20, f"the recorder to confirm the hold\n{recorder.log()[-3000:]}")
        assert confirmed[0]["device"] == "rec-01"
        assert confirmed[0]["cameras"] == ["cam-w03"], "only the complained-about window's camera"
        steps = [e["type"] for e in office.get(f"/api/complaints/{complaint}/history").json()]
        assert steps[:2] == ["complaint.received", "complaint.visit_linked"]
        assert "complaint.hold_confirmed" in steps
    finally:
        recorder.stop()
