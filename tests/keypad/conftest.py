from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.keypad.serial_parts import PtyPair


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path)
    yield pair
    pair.stop()
