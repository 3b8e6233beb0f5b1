"""Fixtures of the spine's whole-hall tests: a hall's files on the test's broker, and the
role processes a test starts (killed at the end, whatever happened)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spine.broker.runner import MosquittoBroker
from tests.support.configs import HallLayout
from tests.support.processes import HallProcess


@pytest.fixture
def hall(tmp_path: Path, broker: MosquittoBroker) -> HallLayout:
    return HallLayout(tmp_path, broker.port)


@pytest.fixture
def processes() -> Iterator[list[HallProcess]]:
    started: list[HallProcess] = []
    yield started
    for process in started:
        process.kill()
