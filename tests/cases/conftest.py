"""Fixtures for the case records: a store on a temporary file or on PostgreSQL, a settable clock,
entries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from central.cases.engine import Engine
from central.cases.timebase import Instant, parse_instant
from spine.storeurl import StoreUrl
from tests.central.stores import migrated


class SettableClock:
    """The store's clock, moved by the test: no sleeping, no real time."""

    def __init__(self, start: str) -> None:
        self.now: Instant = parse_instant(start)

    def set(self, text: str) -> Instant:
        self.now = parse_instant(text)
        return self.now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock("2026-11-23T10:05")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cases.sqlite"


@pytest.fixture(params=["sqlite", "postgresql"])
def case_store(request: pytest.FixtureRequest, db_path: Path) -> Path | StoreUrl:
    """Where a test's case store lives: its own SQLite file, or a fresh PostgreSQL database
    migrated as `hall central migrate` leaves it (the same test on both)."""
    if request.param == "sqlite":
        return db_path
    return migrated(request.getfixturevalue("pg_database"))


REFUSED = (sqlite3.DatabaseError, DBAPIError)
"""What a statement the database refuses raises, on SQLite and on PostgreSQL."""


def run_sql(engine: Engine, sql: str) -> list[Any]:
    """A statement in SQL both databases speak, run straight on the store's connection (what
    an insider or a slip in code could run, around the store's methods)."""
    connection = engine.store.connection
    if isinstance(connection, sqlite3.Connection):
        return connection.execute(sql).fetchall()
    result = connection.exec_driver_sql(sql)
    return list(result.fetchall()) if result.returns_rows else []


@pytest.fixture
def engine(case_store: Path | StoreUrl, clock: SettableClock) -> Iterator[Engine]:
    engine = Engine.open(case_store, clock=clock)
    yield engine
    engine.close()


CONTACT_PHONE = "13812345678"


def entry(case_id: str = "JQ-2026-0001", **changes: Any) -> dict[str, Any]:
    """A plausible case: accepted Mon 2026-11-23 10:00, five working days (due Mon 11-30)."""
    base: dict[str, Any] = {
        "case_id": case_id,
        "by": "window-3",
        "hall": "hall-centre",
        "unit": "自然资源局",
        "window": "3",
        "matter": "户外广告设置许可",
        "project_category": "许可",
        "project_attribute": "即办件",
        "contact_name": "张三",
        "contact_phone": CONTACT_PHONE,
        "officer_name": "李四",
        "officer_id": "off-17",
        "officer_phone": "13900001111",
        "applied_at": "2026-11-23T09:30",
        "accepted_at": "2026-11-23T10:00",
        "limit": 5,
    }
    base.update(changes)
    return base
