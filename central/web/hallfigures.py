"""Today's queue figures of one hall for the big screen, from the queue statistics projection."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from central.cases.timebase import FIXED_SHANGHAI
from central.queue_stats import queue_statistics
from central.store import CentralStore


def hall_day(now_ms: int) -> str:
    """The hall's local date, as queue events name their day."""
    return datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(FIXED_SHANGHAI).date().isoformat()


class QueueToday:
    """`CentralContext.queue_today`: waiting and serving now, and today's waits and services."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def __call__(self, hall: str, now_ms: int) -> dict[str, Any]:
        day = hall_day(now_ms)
        try:
            waiting, serving, issued = self.store.query(
                "SELECT sum(called_at IS NULL AND outcome IS NULL), "
                "sum(called_at IS NOT NULL AND ended_at IS NULL), count(DISTINCT ticket) "
                "FROM queue_segments WHERE hall = ? AND day = ?", (hall, day))[0]
        except sqlite3.OperationalError:  # no queue event has arrived yet
            return {"waiting": 0, "serving": 0, "issued": 0, "served": 0,
                    "avg_wait_s": None, "avg_service_s": None}
        figures = queue_statistics(self.store.query, by="hall", hall=hall, day_from=day, day_to=day)
        row = figures[0] if figures else None
        return {
            "waiting": waiting or 0,
            "serving": serving or 0,
            "issued": issued or 0,
            "served": row.served if row else 0,
            "avg_wait_s": round(row.mean_wait_ms / 1000) if row and row.mean_wait_ms is not None else None,
            "avg_service_s": round(row.mean_service_ms / 1000)
            if row and row.mean_service_ms is not None else None,
        }
