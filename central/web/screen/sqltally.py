"""The big screen's queries over the case store, all in one place, and the index they stand on.

The screen refreshes whenever anything changes, so nothing here reads every
case: open cases are counted per (stage, hall, unit) from a partial index that
holds the open ones only (an index-only scan, about 2 ms for 20,000 open
cases), alarms are an index range on their stages, and a period's figures are
index ranges on `accepted_at`, `completed_at` and `case_issued.due_at` that
return one short row per case of the period. The SQL is ANSI (CASE, partial
index) so it moves to PostgreSQL as it is.

The connection is central's own read-only one: in WAL mode it sees the last
committed tick and never waits for the engine.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from central.cases.timebase import format_day
from central.web.screen.tally import ALARM_STAGES, AlarmCase, FiguresBook, Place, PlaceCount, PlaceFigures
from central.where import Where

INDEX = ("CREATE INDEX IF NOT EXISTS cases_open_places ON cases (stage, hall, unit) "
         "WHERE confirmed_at IS NULL")
"""Open cases by light and place: the screen's counts and its alarm list read only this."""

_SINCE = ("CASE c.stage WHEN 'yellow_card' THEN c.yellow_card_at WHEN 'red_card' THEN c.red_card_at "
          "ELSE c.supervision_letter_at END")


def ensure_index(path: Path) -> None:
    """Create the screen's index in the case store (once; the engine keeps it up to date)."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute(INDEX)
        connection.commit()
    finally:
        connection.close()


class SqlTally:
    """`CaseTally` over the case engine's SQLite store."""

    def __init__(self, path: Path) -> None:
        ensure_index(path)
        self._connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                                           timeout=30)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            return self._connection.execute(sql, params).fetchall()

    def open_places(self, place: Place) -> list[PlaceCount]:
        where = _placed(place).holds("c.confirmed_at IS NULL")
        rows = self._read(
            f"SELECT c.stage, c.hall, c.unit, count(*) FROM cases c{where.sql} "
            "GROUP BY c.stage, c.hall, c.unit", where.params)
        return [PlaceCount(hall, unit, stage, n) for stage, hall, unit, n in rows]

    def alarm_cases(self, place: Place, limit: int) -> list[AlarmCase]:
        where = _placed(place).one_of("c.stage", ALARM_STAGES).holds("c.confirmed_at IS NULL")
        rows = self._read(
            f"SELECT c.case_id, c.hall, c.unit, c.matter, c.officer, c.stage, {_SINCE}, c.due_day "
            f"FROM cases c{where.sql} ORDER BY {_SINCE} DESC, c.case_id LIMIT ?",
            (*where.params, limit))
        return [AlarmCase(case_id, hall, unit, matter, officer, stage, since,
                          format_day(due_day) if due_day is not None else None)
                for case_id, hall, unit, matter, officer, stage, since, due_day in rows]

    def figures(self, place: Place, since: int, until: int | None) -> list[PlaceFigures]:
        book = FiguresBook()
        # One short row per case of the period, counted here: each read is a range of one index.
        received = _placed(place).at_least("c.accepted_at", since).below("c.accepted_at", until)
        book.received(self._read(f"SELECT c.hall, c.unit FROM cases c{received.sql}", received.params))
        completed = (_placed(place).at_least("c.completed_at", since).below("c.completed_at", until)
                     .holds("c.confirmed_at IS NOT NULL"))
        book.completed(self._read(f"SELECT c.hall, c.unit, c.on_time FROM cases c{completed.sql}",
                                  completed.params))
        issued = (_placed(place).at_least("i.due_at", since).below("i.due_at", until)
                  .holds("i.escalation = 1"))
        book.issued(self._read(
            "SELECT c.hall, c.unit, i.kind FROM case_issued i JOIN cases c ON c.case_id = i.case_id"
            f"{issued.sql}", issued.params))
        return book.rows()


def _placed(place: Place) -> Where:
    return Where().equals("c.hall", place.hall).equals("c.unit", place.unit)
