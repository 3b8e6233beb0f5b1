"""Hall telemetry through a real gateway: devices online and offline with last seen, health, losses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from central.service import CentralService
from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from tests.central.hall import HALL, start_gateway
from tests.support import wait_until


@pytest.fixture
def gateway(tmp_path: Path, broker: MosquittoBroker, central: CentralService) -> Iterator[GatewayService]:
    gateway = start_gateway(tmp_path, broker.port, [{"id": "kiosk-01", "kind": "kiosk"}])
    yield gateway
    gateway.stop()


def kiosk(tmp_path: Path, broker: MosquittoBroker) -> EdgeAgent:
    return EdgeAgent(AgentConfig.model_validate({
        "device": {"id": "kiosk-01", "hall": HALL, "kind": "kiosk"},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / "kiosk-01" / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 1},
    }))


def device(viewer: httpx.Client, name: str) -> dict[str, Any] | None:
    hall = viewer.get(f"/api/halls/{HALL}").json()
    return next((d for d in hall["devices"] if d["device"] == name), None)


def test_a_device_shows_online_then_offline_with_when_it_was_last_seen(
    tmp_path: Path, broker: MosquittoBroker, gateway: GatewayService, viewer: httpx.Client
) -> None:
    agent = kiosk(tmp_path, broker)
    agent.start()
    try:
        # Its kind arrives with the gateway's next heartbeat, a second at most here.
        online = wait_until(lambda: (d := device(viewer, "kiosk-01")) and d["online"] and d["kind"] and d,
                            30, "the kiosk to show online")
        assert online["kind"] == "kiosk" and online["last_seen"] is not None
    finally:
        agent.stop()
    offline = wait_until(lambda: (d := device(viewer, "kiosk-01")) and not d["online"] and d, 30,
                         "the kiosk to show offline")
    assert offline["last_seen"] >= online["last_seen"]
    hall = viewer.get(f"/api/halls/{HALL}").json()
    assert hall["gateway_online"] is True and hall["devices_online"] == 0


def test_printer_health_and_dropped_events_reach_the_hall_view(
    tmp_path: Path, broker: MosquittoBroker, gateway: GatewayService, viewer: httpx.Client
) -> None:
    agent = kiosk(tmp_path, broker)
    agent.start()
    try:
        agent.record("queue.printer_status", {"state": "paper_out", "printable": False, "detail": "纸尽"})
        agent.record("device.dropped", {"counts": {"full": {"sim.reading": 7}}, "total": 7})

        def reported() -> dict[str, Any] | None:
            d = device(viewer, "kiosk-01")
            return d if d and d["health"] and d["dropped"] else None

        shown = wait_until(reported, 30, "the printer state and the drops at central")
        assert shown["health"][0]["component"] == "printer"
        assert shown["health"][0]["state"] == "paper_out"
        assert shown["dropped"] == 7
    finally:
        agent.stop()


def test_a_rating_terminals_keypad_fault_shows_with_the_other_device_health(
    tmp_path: Path, broker: MosquittoBroker, central: CentralService, viewer: httpx.Client
) -> None:
    gateway = start_gateway(tmp_path, broker.port, [{"id": "rating-w1", "kind": "rating", "window": "1"}])
    terminal = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": "rating-w1", "hall": HALL, "kind": "rating", "window": "1"},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / "rating-w1" / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 1},
    }))
    terminal.start()
    try:
        terminal.record("rating.terminal_fault", {"state": "fault", "detail": "no answer from the keypad",
                                                  "at": 1})
        shown = wait_until(lambda: (d := device(viewer, "rating-w1")) and d["health"] and d, 30,
                           "the keypad fault at central")
        [keypad] = shown["health"]
        assert (keypad["component"], keypad["state"], keypad["detail"]) == (
            "keypad", "fault", "no answer from the keypad")
    finally:
        terminal.stop()
        gateway.stop()
