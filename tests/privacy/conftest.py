"""A central with its case engine on a hand-driven clock, one citizen's data entered at every door, and
helpers that look for that citizen in every table of every store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from central.service import CentralService
from central.sms.platform import SmsPlatform
from central.sms.senders.simulated import SimulatedSender
from contract.privacy import find_personal_data
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from tests.central.conftest import MONDAY_MORNING, SUPERVISOR_TOKEN, VIEWER_TOKEN, central_config, client
from tests.central.events import deliver
from tests.sms.conftest import make_settings

HALL = "hall-01"
CITIZEN = "13811110002"
"""The citizen whose data is entered everywhere (in several forms) and later erased."""
NEIGHBOUR = "13922223333"
"""Another citizen, entered beside them, whose data must survive the erasure."""
OFFICER = "13900001111"


def case_entry(case_id: str, name: str, phone: str, **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "case_id": case_id, "by": "window-3", "hall": HALL, "unit": "自然资源局", "window": "w03",
        "matter": "户外广告设置许可", "contact_name": name, "contact_phone": phone,
        "officer_name": "李四", "officer_phone": OFFICER,
        "applied_at": "2026-11-23T09:30", "accepted_at": "2026-11-23T10:00", "limit": 5,
    }
    entry.update(changes)
    return entry


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=MONDAY_MORNING)


# On SQLite only: these tests look for a citizen in every table of every SQLite file central keeps
# (`where_in_clear`); the erasure on PostgreSQL is test_erasure_on_postgresql.py's.
@pytest.fixture
def central(tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock) -> Iterator[CentralService]:
    service = CentralService(central_config(tmp_path, broker.port, tick_s=3600), clock=clock)
    service.start()
    yield service
    service.stop()


@pytest.fixture
def supervisor(central: CentralService) -> Iterator[httpx.Client]:
    with client(central, SUPERVISOR_TOKEN) as http:
        yield http


@pytest.fixture
def viewer(central: CentralService) -> Iterator[httpx.Client]:
    with client(central, VIEWER_TOKEN) as http:
        yield http


@pytest.fixture
def sms(tmp_path: Path, clock: SimulatedClock, central: CentralService) -> Iterator[SmsPlatform]:
    """The SMS platform, attached to central's eraser as the service would attach it."""
    platform = SmsPlatform(make_settings(tmp_path), clock=clock, sender=SimulatedSender())
    central.eraser.sms = platform
    yield platform
    platform.stop()


WINDOW_CALLER = {"kind": "caller", "window": "w03", "officer": "window-3", "unit": "自然资源局"}
"""The author hall-01's gateway verified for what window w03's caller says (officer window-3 logged in)."""


def hall_events(central: CentralService, *events: tuple[str, dict[str, Any]]) -> None:
    """Events as hall-01's gateway forwards them, each from the author allowed to state it
    (`contract.authority`), stored by central as its ingest stores them."""
    now = central.clock.wall_ms()
    for type, body in events:
        if type == "queue.contact_given" or type.startswith("case."):
            deliver(central.store, HALL, [(type, body, now)], device="caller-3", author=WINDOW_CALLER)
        else:
            deliver(central.store, HALL, [(type, body, now)])


def phones_in(text: str) -> set[str]:
    """Every phone or ID number in `text`, in its normal form, whatever form it was written in."""
    return {span.value for span in find_personal_data(text)}


def stored_text(path: Path) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text value in every table of a SQLite file."""
    found = []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str):
                        found.append((table, column, value))
    finally:
        connection.close()
    return found


def where_in_clear(paths: list[Path], phone: str | None = None, names: tuple[str, ...] = ()
                   ) -> list[tuple[str, str, str]]:
    """The places (file:table, column, value) where `phone` (any form) or a name stands in clear."""
    hits = []
    for path in paths:
        for table, column, value in stored_text(path):
            if (phone is not None and phone in phones_in(value)) or any(name in value for name in names):
                hits.append((f"{path.name}:{table}", column, value[:120]))
    return hits


def raw_bytes(path: Path) -> bytes:
    """A SQLite file as a thief with a copy would read it: the file and its write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
