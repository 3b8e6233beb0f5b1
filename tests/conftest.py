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
