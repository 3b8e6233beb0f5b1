"""Fixtures every suite may use: a real Mosquitto on a free port, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port

# The throwaway PostgreSQL cluster (`pg_cluster`, `pg_database`): started only when a test asks.
pytest_plugins = ("tests.pg",)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A fresh Mosquitto with its own persistence directory, for this test only."""
    instance = MosquittoBroker(BrokerOptions(free_port(), tmp_path / "broker"))
    instance.start()
    yield instance
    instance.kill()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `sqlite_only` (it is about central's SQLite files themselves) keeps only its
    SQLite variant of the `central_database` fixture (tests/central/conftest.py)."""
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_postgresql = params is not None and params.params.get("central_database") == "postgresql"
        (dropped if on_postgresql and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
