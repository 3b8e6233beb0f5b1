"""Fixtures of the supervision office's tests: a rig of central's files (no broker), a case engine on a
settable clock, and a running central with the demo's cases (tests/central/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.cases.engine import Engine
from tests.anomalies.rig import Rig
from tests.cases.conftest import SettableClock, case_store, db_path  # noqa: F401 (the case store on either database)
from tests.central.conftest import central_database, clock, engine_central  # noqa: F401 (fixtures of a running central)
from tests.central.stores import migrated


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    """Central's stores as files, or all in one PostgreSQL database (the office's records too)."""
    database = migrated(request.getfixturevalue("pg_database")) if request.param == "postgresql" else None
    made = Rig(tmp_path, database=database)
    yield made
    made.close()


@pytest.fixture
def case_clock() -> SettableClock:
    return SettableClock("2026-11-23T10:05")


@pytest.fixture
def engine(tmp_path: Path, case_clock: SettableClock) -> Iterator[Engine]:
    opened = Engine.open(tmp_path / "cases.sqlite", clock=case_clock)
    yield opened
    opened.close()
