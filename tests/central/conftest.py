"""A central service on free ports with two API users, and a hall around it when a test needs one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from central.cases.timebase import parse_instant
from central.config import CentralConfig
from central.database_settings import DatabaseSettings
from central.demo import seed_central_demo
from central.service import CentralService
from central.store import CentralStore
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from spine.statement import Statement
from spine.storeurl import StoreUrl
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


@pytest.fixture(params=["sqlite", "postgresql"])
def central_database(request: pytest.FixtureRequest) -> StoreUrl | None:
    """Where a running central keeps its stores: its SQLite files (None), or a fresh PostgreSQL
    database migrated as `hall central migrate` leaves it. A test about the SQLite files themselves
    carries `@pytest.mark.sqlite_only("why")` and is not collected on PostgreSQL (tests/conftest.py)."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_migrated_database")


def on_database(config: CentralConfig, database: StoreUrl | None) -> CentralConfig:
    """`config` with its `[database] url` naming `database` (None: the SQLite files in data_dir)."""
    if database is None:
        return config
    # As central.toml names it; the throwaway cluster trusts its user, so the URL carries no password.
    return config.model_copy(update={"database": DatabaseSettings(url=database.secret_url())})


def stored_rows(store: CentralStore, sql: str, **params: Any) -> list[Any]:
    """Rows of SQL both databases speak (`:name` parameters), read through the store's own door
    (`store.query` reads a SQLite file only)."""
    statement = Statement(lambda _dialect: text(sql))
    return list(store.read(lambda tx: statement.run(tx, params).fetchall()))


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
def central(tmp_path: Path, broker: MosquittoBroker, cases: HandCases, central_database: StoreUrl | None
            ) -> Iterator[CentralService]:
    config = on_database(central_config(tmp_path, broker.port), central_database)
    service = CentralService(config, cases=cases)
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
def engine_central(tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock,
                   central_database: StoreUrl | None) -> Iterator[CentralService]:
    # The test ticks by hand.
    config = on_database(central_config(tmp_path, broker.port, tick_s=3600), central_database)
    service = CentralService(config, clock=clock)
    service.start()
    seed_central_demo(service, other_halls=False)
    yield service
    service.stop()
