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

from sqlalchemy import select

from central.anomalies.casereads import SOURCE_WATERMARKS, CaseReads, rows_of
from central.anomalies.feeds import EventReads
from central.cases.sources import LIVE
from central.hall_watermarks import HALL_WATERMARKS
from spine.statement import Statement

_HALLS = Statement(lambda _dialect: select(HALL_WATERMARKS.c.hall, HALL_WATERMARKS.c.watermark))


class SourceHorizons:
    """Reads the halls' watermarks (the event store) and the clients' (the case store) at each tick,
    either on SQLite or on PostgreSQL."""

    def __init__(self, events: EventReads | None, cases: CaseReads | None,
                 grace_ms: int) -> None:
        self.events = events
        self.cases = cases
        self.grace_ms = grace_ms

    def __call__(self, now_ms: int) -> dict[str, int]:
        out = {LIVE: now_ms}
        for hall, watermark in self._halls():
            out[f"hall:{hall}"] = min(now_ms, int(watermark) - self.grace_ms)
        for source, watermark in rows_of(self.cases, SOURCE_WATERMARKS):
            if str(source).startswith("api:"):
                out[str(source)] = min(now_ms, int(watermark) * 1000 - self.grace_ms)
        return out


    def _halls(self) -> list[Any]:
        if self.events is None:
            return []
        try:
            return self.events.read(lambda tx: list(_HALLS.run(tx).fetchall()))
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise

