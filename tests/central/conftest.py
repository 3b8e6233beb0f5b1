"""A central service on free ports with two API users, and a hall around it when a test needs one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.cases.timebase import parse_instant
from central.config import CentralConfig
from central.demo import seed_central_demo
from central.service import CentralService
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from tests.cases.conftest import case_store, db_path  # noqa: F401 (the case store on either database)
from tests.central.fakes import HandCases, case_row

VIEWER_TOKEN = "screen-token-for-tests"
SUPERVISOR_TOKEN = "supervisor-token-for-tests"


def central_config(root: Path, broker_port: int, **web: object) -> CentralConfig:
    return CentralConfig.model_validate({
        "data_dir": str(root / "central"),
        "broker": {"port": broker_port},
        "http": {"host": "127.0.0.1", "port": 0},
        "ingest": {"halls": [{"hall": "hall-01", "gateway": "gw-hall-01"}]},
        "web": {
            "users": [
                {"name": "big-screen", "role": "viewer", "token": VIEWER_TOKEN},
                {"name": "office", "role": "supervisor", "token": SUPERVISOR_TOKEN},
            ],
            "tick_s": 0.2,
            "hold_retry_s": 2,
            **web,
        },
    })


def seeded_cases() -> HandCases:
    return HandCases([
        case_row("SP-001", "blue"),
        case_row("SP-002", "yellow_light", unit="人社局", officer="王芳"),
        case_row("SP-003", "red_light", phone="13998765432"),
        case_row("SP-004", "red_card", unit="人社局", officer="王芳"),
        case_row("SP-005", "completed", on_time=True),
    ])


@pytest.fixture
def cases() -> HandCases:
    return seeded_cases()


@pytest.fixture
def central(tmp_path: Path, broker: MosquittoBroker, cases: HandCases) -> Iterator[CentralService]:
    service = CentralService(central_config(tmp_path, broker.port), cases=cases)
    service.start()
    yield service
    service.stop()


def client(service: CentralService, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=service.base_url, headers=headers, timeout=20)


@pytest.fixture
def viewer(central: CentralService) -> Iterator[httpx.Client]:
    with client(central, VIEWER_TOKEN) as http:
        yield http


@pytest.fixture
def supervisor(central: CentralService) -> Iterator[httpx.Client]:
    with client(central, SUPERVISOR_TOKEN) as http:
        yield http


MONDAY_MORNING = parse_instant("2026-11-23T10:05") * 1000
"""The demo's cases are seeded relative to this instant; tests move the clock on by hand."""


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=MONDAY_MORNING)


@pytest.fixture
def engine_central(tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock
                   ) -> Iterator[CentralService]:
    config = central_config(tmp_path, broker.port, tick_s=3600)  # the test ticks by hand
    service = CentralService(config, clock=clock)
    service.start()
    seed_central_demo(service, other_halls=False)
    yield service
    service.stop()
