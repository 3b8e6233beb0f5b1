"""Today's queue figures of the halls for the big screen, from the queue statistics projection.

One hall's are two index ranges of its day (`QueueToday.__call__`); every hall's at
once (`QueueToday.every_hall`) the same two statements grouped by hall over the day's
index range, instead of two per hall: the board of a province's thousands of halls
asked them hall by hall (`bench.province`). Its statements are written once for SQLite
and PostgreSQL (`spine.statement`).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, distinct, func, select

from central.cases.timebase import FIXED_SHANGHAI
from central.queue_stats import QUEUE_SEGMENTS, QueueFigures, queue_statistics
from central.store import CentralStore
from spine.statement import Statement, Tx

_S = QUEUE_SEGMENTS.c
_COUNTS = (
    # Counted with CASE: PostgreSQL does not sum booleans, SQLite has no FILTER before 3.30.
    func.sum(case((_S.called_at.is_(None) & _S.outcome.is_(None), 1), else_=0)),
    func.sum(case((_S.called_at.is_not(None) & _S.ended_at.is_(None), 1), else_=0)),
    func.count(distinct(_S.ticket)),
)
_NOW = Statement(lambda _dialect: select(*_COUNTS).where(_S.hall == bindparam("hall"),
                                                         _S.day == bindparam("day")))
_NOW_EVERY_HALL = Statement(lambda _dialect: select(_S.hall, *_COUNTS).where(
    _S.day == bindparam("day")).group_by(_S.hall))
NOTHING_YET = {"waiting": 0, "serving": 0, "issued": 0, "served": 0, "avg_wait_s": None,
               "avg_service_s": None}


def hall_day(now_ms: int) -> str:
    """The hall's local date, as queue events name their day."""
    return datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(FIXED_SHANGHAI).date().isoformat()


class QueueToday:
    """`CentralContext.queue_today`: waiting and serving now, and today's waits and services."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def __call__(self, hall: str, now_ms: int) -> dict[str, Any]:
        try:
            return self.store.read(lambda tx: _today(tx, hall, hall_day(now_ms)))
        except sqlite3.OperationalError:  # a SQLite file no queue event has reached: no table yet
            return dict(NOTHING_YET)

    def every_hall(self, now_ms: int) -> dict[str, dict[str, Any]]:
        """Each hall's figures as `self(hall, now_ms)` gives them, for every hall with a visit
        today, in two statements (a hall not named has nothing yet: `NOTHING_YET`)."""
        try:
            return self.store.read(lambda tx: _every_hall(tx, hall_day(now_ms)))
        except sqlite3.OperationalError:
            return {}


def _today(tx: Tx, hall: str, day: str) -> dict[str, Any]:
    waiting, serving, issued = _NOW.run(tx, {"hall": hall, "day": day}).fetchone()
    figures = queue_statistics(tx, by="hall", hall=hall, day_from=day, day_to=day)
    return _figures(waiting, serving, issued, figures[0] if figures else None)


def _every_hall(tx: Tx, day: str) -> dict[str, dict[str, Any]]:
    figures = {row.key: row for row in queue_statistics(tx, by="hall", day_from=day, day_to=day)}
    return {hall: _figures(waiting, serving, issued, figures.get(hall))
            for hall, waiting, serving, issued in _NOW_EVERY_HALL.run(tx, {"day": day}).fetchall()}


def _figures(waiting: Any, serving: Any, issued: Any, row: QueueFigures | None) -> dict[str, Any]:
    return {
        # PostgreSQL's sum of integers is NUMERIC: plain numbers either way.
        "waiting": int(waiting or 0),
        "serving": int(serving or 0),
        "issued": int(issued or 0),
        "served": row.served if row else 0,
        "avg_wait_s": round(row.mean_wait_ms / 1000) if row and row.mean_wait_ms is not None else None,
        "avg_service_s": round(row.mean_service_ms / 1000)
        if row and row.mean_service_ms is not None else None,
    }
