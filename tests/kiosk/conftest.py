"""Fixtures of the kiosk suite: a simulated printer on TCP, kiosk, caller and display configurations,
and a hall (gateway + central's receiving end) on a real Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from central.config import CentralConfig
from central.ingest import CentralIngest
from central.queue_stats import QueueStatsProjection
from central.store import CentralStore
from edge.hall_display.config import DisplayConfig
from edge.queue_kiosk.config import KioskConfig
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.window_caller.config import CallerConfig
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker, free_port
from spine.clock import SystemClock

HALL = "hall-01"

SERVICES: list[dict[str, Any]] = [
    {"prefix": "A", "name": "社保医保", "windows": ["1", "2"], "daily_limit": 300, "key": "1"},
    {"prefix": "B", "name": "户籍办理", "windows": ["2"], "daily_limit": 300, "key": "2"},
    {"prefix": "G", "name": "重大项目绿色通道", "windows": ["1"], "daily_limit": 50, "priority": True,
     "key": "3"},
]

FAST_UPLINK = {"ack_timeout_s": 2.0, "heartbeat_s": 1.0, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0}


@pytest.fixture
def printer() -> Iterator[SimulatedPrinter]:
    sim = SimulatedPrinter().start()
    yield sim
    sim.stop()


def kiosk_config(
    root: Path, *, broker_port: int, printer_port: int, device: str = "kiosk-1", slot: int = 1,
    slots: int = 1, services: list[dict[str, Any]] | None = None, **sections: Any,
) -> KioskConfig:
    data = root / device
    raw: dict[str, Any] = {
        "device": {"id": device, "hall": HALL, "kind": "kiosk"},
        "broker": {"port": broker_port},
        "outbox": {"path": str(data / "outbox.sqlite")},
        "uplink": FAST_UPLINK,
        "data_dir": str(data),
        "hall": {"name": "肃州区政务服务中心"},
        "numbering": {"slot": slot, "slots": slots},
        "services": services or SERVICES,
        "printer": {"kind": "network", "port": printer_port, "poll_s": 0.2, "status_timeout_ms": 200},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return KioskConfig.model_validate(raw)


def caller_config(root: Path, *, broker_port: int, window: str, **caller: Any) -> CallerConfig:
    device = f"caller-{window}"
    return CallerConfig.model_validate({
        "device": {"id": device, "hall": HALL, "kind": "caller", "window": window},
        "broker": {"port": broker_port},
        "outbox": {"path": str(root / device / "outbox.sqlite")},
        "uplink": FAST_UPLINK,
        "data_dir": str(root / device),
        "caller": {"transfer_keys": {"1": "A", "2": "B"}, **caller},
    })


def display_config(root: Path, *, broker_port: int, device: str = "display-1") -> DisplayConfig:
    return DisplayConfig.model_validate({
        "device": {"id": device, "hall": HALL, "kind": "display"},
        "broker": {"port": broker_port},
        "outbox": {"path": str(root / device / "outbox.sqlite")},
        "uplink": FAST_UPLINK,
        "data_dir": str(root / device),
    })


def dead_port() -> int:
    """A port nobody listens on: a gateway that is down, as far as a device can tell."""
    return free_port()


ROSTER: list[dict[str, Any]] = [
    *({"id": kiosk, "kind": "kiosk"} for kiosk in
      ("kiosk-1", "kiosk-2", "kiosk-3", "kiosk-east", "kiosk-west", "kiosk-old", "kiosk-new")),
    *({"id": f"caller-{window}", "kind": "caller", "window": str(window)} for window in range(1, 10)),
    *({"id": f"display-{n}", "kind": "display"} for n in (1, 2)),
]
"""The devices this suite's halls know, with their kinds: what each may state (docs/security.md)."""


@dataclass
class Hall:
    """A hall gateway and central's receiving end, both on one broker."""

    broker: MosquittoBroker
    root: Path
    gateway: GatewayService | None = None
    central_store: CentralStore | None = None
    central_ingest: CentralIngest | None = None
    known: list[dict[str, Any]] | None = None
    """Registered devices; None: the suite's roster, and open enrolment for any other device
    (which may then state only what a simulator may)."""

    def gateway_config(self) -> GatewayConfig:
        devices: dict[str, Any] = {"known": ROSTER, "open_enrolment": True, "silence_s": 5}
        if self.known is not None:
            devices = {"known": self.known, "silence_s": 5}
        return GatewayConfig.model_validate({
            "gateway": {"id": "gw-hall-01", "hall": HALL},
            "hall_broker": {"port": self.broker.port},
            "central_broker": {"port": self.broker.port},
            "store_path": str(self.root / "gateway" / "gateway.sqlite"),
            "uplink": FAST_UPLINK,
            "devices": devices,
            "queue": {"board_delay_ms": 20},
        })

    def start_gateway(self) -> GatewayService:
        self.gateway = GatewayService(self.gateway_config())
        self.gateway.start()
        return self.gateway

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None

    def start_central(self) -> CentralStore:
        config = CentralConfig.model_validate({
            "broker": {"port": self.broker.port}, "data_dir": str(self.root / "central"),
        })
        self.central_store = CentralStore(config.events_path, SystemClock(), [QueueStatsProjection()])
        self.central_ingest = CentralIngest(config, self.central_store, SystemClock())
        self.central_ingest.start()
        return self.central_store

    def stop(self) -> None:
        self.stop_gateway()
        if self.central_ingest is not None:
            self.central_ingest.stop()
        if self.central_store is not None:
            self.central_store.close()

    # --- looking inside -------------------------------------------------------------

    def gateway_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        assert self.gateway is not None
        return self.gateway.db.query(sql, params)

    def central_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        assert self.central_store is not None
        return self.central_store.query(sql, params)


@pytest.fixture
def hall(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Hall]:
    instance = Hall(broker, tmp_path)
    yield instance
    instance.stop()
