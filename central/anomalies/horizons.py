"""How far each source's facts are known: the rules judge no fact before its source is complete up to it.

The same principle as the countdown's (`central.cases.sources`): a hall's facts
are judged once the hall's watermark, less the grace, has passed them (a rule
counting ratings in a burst must see them all, in order); facts stated as they
happen are known up to now; a syncing client's, up to what its last import
said. A source with no watermark yet is held.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from central.cases.sources import LIVE


class SourceHorizons:
    """Reads the halls' watermarks (`events.sqlite`) and the clients' (`cases.sqlite`) at each tick."""

    def __init__(self, events: sqlite3.Connection | None, cases: sqlite3.Connection | None,
                 grace_ms: int) -> None:
        self.events = events
        self.cases = cases
        self.grace_ms = grace_ms

    def __call__(self, now_ms: int) -> dict[str, int]:
        out = {LIVE: now_ms}
        for hall, watermark in _rows(self.events, "SELECT hall, watermark FROM hall_watermarks"):
            out[f"hall:{hall}"] = min(now_ms, int(watermark) - self.grace_ms)
        for source, watermark in _rows(self.cases, "SELECT source, watermark FROM case_sources"):
            if str(source).startswith("api:"):
                out[str(source)] = min(now_ms, int(watermark) * 1000 - self.grace_ms)
        return out


def _rows(connection: sqlite3.Connection | None, sql: str) -> list[Any]:
    if connection is None:
        return []
    try:
        return connection.execute(sql).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise
