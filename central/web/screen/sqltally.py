"""The big screen's queries over the case store, all in one place, and the index they stand on.

The screen refreshes whenever anything changes, so nothing here reads every
case: open cases are counted per (stage, hall, unit) from a partial index that
holds the open ones only (an index-only scan, about 2 ms for 20,000 open
cases), alarms are an index range on their stages, and a period's figures are
index ranges on `accepted_at`, `completed_at` and `case_issued.due_at` that
return one short row per case of the period. The queries are written once
(SQLAlchemy Core over `central.cases.tables`) and run on the case store where
it is: its SQLite file, or central's PostgreSQL database.

The connection is the screen's own (`central.anomalies.casereads.CaseReads`):
read-only on a SQLite file, where in WAL mode it sees the last committed tick and
never waits for the engine; an autocommit one on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from central.anomalies.casereads import CaseReads
from central.cases.tables import CASE_ISSUED, CASES
from central.cases.timebase import format_day
from central.reads import built
from central.web.screen.tally import ALARM_STAGES, AlarmCase, FiguresBook, Place, PlaceCount, PlaceFigures
from spine.storeurl import StoreUrl

INDEX = ("CREATE INDEX IF NOT EXISTS cases_open_places ON cases (stage, hall, unit) "
         "WHERE confirmed_at IS NULL")
"""Open cases by light and place: the screen's counts and its alarm list read only this."""

_C, _I = CASES.c, CASE_ISSUED.c
_SINCE = case({"yellow_card": _C.yellow_card_at, "red_card": _C.red_card_at}, value=_C.stage,
              else_=_C.supervision_letter_at)
"""When the case's alarm began: the instant of the step it stands on."""


def ensure_index(path: Path) -> None:
    """Create the screen's index in the case store's file (once; the engine keeps it up to date)."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute(INDEX)
        connection.commit()
    finally:
        connection.close()


class SqlTally:
    """`CaseTally` over the case engine's store, on either database."""

    def __init__(self, where: Path | StoreUrl) -> None:
        url = where if isinstance(where, StoreUrl) else StoreUrl.sqlite_file(where)
        if url.path is not None:
            ensure_index(url.path)
        self._cases = CaseReads.open(url)
        self._connection = self._cases.tx

    def close(self) -> None:
        self._cases.close()

    def _read(self, query: Select[Any]) -> Sequence[Any]:
        statement = built(query)
        return self._cases.read(lambda tx: statement.run(tx).fetchall(), one_statement=True)

    def open_places(self, place: Place) -> list[PlaceCount]:
        rows = self._read(select(_C.stage, _C.hall, _C.unit, func.count()).where(
            *_placed(place), _C.confirmed_at.is_(None)).group_by(_C.stage, _C.hall, _C.unit))
        return [PlaceCount(hall, unit, stage, n) for stage, hall, unit, n in rows]

    def alarm_cases(self, place: Place, limit: int) -> list[AlarmCase]:
        rows = self._read(select(
            _C.case_id, _C.hall, _C.unit, _C.matter, _C.officer, _C.stage, _SINCE, _C.due_day).where(
            *_placed(place), or_(*(_C.stage == stage for stage in ALARM_STAGES)),
            _C.confirmed_at.is_(None)).order_by(_SINCE.desc(), _C.case_id).limit(limit))
        return [AlarmCase(case_id, hall, unit, matter, officer, stage, since,
                          format_day(due_day) if due_day is not None else None)
                for case_id, hall, unit, matter, officer, stage, since, due_day in rows]

    def figures(self, place: Place, since: int, until: int | None) -> list[PlaceFigures]:
        book = FiguresBook()
        # One short row per case of the period, counted here: each read is a range of one index.
        book.received(self._read(select(_C.hall, _C.unit).where(
            *_placed(place), *_period(_C.accepted_at, since, until))))
        book.completed(self._read(select(_C.hall, _C.unit, _C.on_time).where(
            *_placed(place), *_period(_C.completed_at, since, until), _C.confirmed_at.is_not(None))))
        book.issued(self._read(select(_C.hall, _C.unit, _I.kind).select_from(
            CASE_ISSUED.join(CASES, _C.case_id == _I.case_id)).where(
            *_placed(place), *_period(_I.due_at, since, until), _I.escalation == 1)))
        return book.rows()


def _placed(place: Place) -> list[ColumnElement[bool]]:
    return [column == value for column, value in ((_C.hall, place.hall), (_C.unit, place.unit))
            if value is not None]


def _period(column: Any, since: int, until: int | None) -> list[ColumnElement[bool]]:
    return [and_(column >= since, column < until) if until is not None else column >= since]
