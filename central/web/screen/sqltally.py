"""The big screen's queries over the case store, all in one place, and the index they stand on.

The screen refreshes whenever anything changes, so nothing here reads every
case: the open cases per (stage, hall, unit) are counts the database keeps
(`central.cases.opencounts`: a row per light and place, where a province holds a
million open cases), alarms are an index range on their stages in a partial index
that holds the open cases only (`cases_open_places`), and a period's figures are
the day counts the database keeps per hall and unit (`central.cases.daycounts`:
a row per hall, unit and day, where a province's year is millions of cases) and
the cards' counts (`central.cases.cardcounts`, a row per hall, unit, day and kind);
a period not of whole days reads index ranges on `accepted_at`, `completed_at` and
`case_issued.due_at`, a row per case or card. The queries are written once
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

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select

from central.anomalies.casereads import CaseReads
from central.cases.cardcounts import ensure_card_counts
from central.cases.daycounts import ensure_counts
from central.cases.opencounts import ensure_open_counts
from central.cases.tables import CASE_CARD_COUNTS, CASE_DAY_COUNTS, CASE_ISSUED, CASE_OPEN_COUNTS, CASES
from central.cases.timebase import day_of, format_day, midnight
from central.reads import built
from central.web.screen.tally import (
    ALARM_STAGES,
    ISSUED_KINDS,
    AlarmCase,
    FiguresBook,
    Place,
    PlaceCount,
    PlaceFigures,
)
from spine.storeurl import StoreUrl

INDEX = ("CREATE INDEX IF NOT EXISTS cases_open_places ON cases (stage, hall, unit) "
         "WHERE confirmed_at IS NULL")
"""Open cases by light and place: the screen's alarm list reads only this."""

_C, _I, _D, _O = CASES.c, CASE_ISSUED.c, CASE_DAY_COUNTS.c, CASE_OPEN_COUNTS.c
_K = CASE_CARD_COUNTS.c
_MEASURES = ("received", "completed", "on_time")
_NAMED_MEASURES: list[ColumnElement[str]] = [literal_column(f"'{measure}'") for measure in _MEASURES]
"""Written out: a statement is compiled once (`central.reads.built`), with no expanding lists."""
_SINCE = case({"yellow_card": _C.yellow_card_at, "red_card": _C.red_card_at}, value=_C.stage,
              else_=_C.supervision_letter_at)
"""When the case's alarm began: the instant of the step it stands on."""


def ensure_index(path: Path) -> None:
    """Create the screen's index, the day counts and the open counts in the case store's file
    (once; the index and the counts' triggers then follow every write of the cases)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute(INDEX)
        ensure_counts(connection)  # a store the engine has not opened since the counts came
        ensure_open_counts(connection)
        ensure_card_counts(connection)
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
        # The counts the database keeps (`central.cases.opencounts`), a row per light and place;
        # a count moved down to nothing stays as n = 0, and is no place with open cases.
        rows = self._read(select(_O.stage, _O.hall, _O.unit, _O.n).where(
            *_placed(place, _O), _O.n != 0).order_by(_O.stage, _O.hall, _O.unit))
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
        if _whole_days(since, until):
            # Whole days (the board's today and its year): the day counts the database keeps
            # (`central.cases.daycounts`), a row per hall and unit, not one per case.
            days = (day_of(since), None if until is None else day_of(until))
            self._counted(book, place, *days)
            self._counted_cards(book, place, *days)
        else:
            # One short row per case of the period, counted here: each read is a range of one index.
            book.received(self._read(select(_C.hall, _C.unit).where(
                *_placed(place), *_period(_C.accepted_at, since, until))))
            book.completed(self._read(select(_C.hall, _C.unit, _C.on_time).where(
                *_placed(place), *_period(_C.completed_at, since, until),
                _C.confirmed_at.is_not(None))))
            book.issued(self._read(select(_C.hall, _C.unit, _I.kind).select_from(
                CASE_ISSUED.join(CASES, _C.case_id == _I.case_id)).where(
                *_placed(place), *_period(_I.due_at, since, until), _I.escalation == 1)))
        return book.rows()

    def _counted_cards(self, book: FiguresBook, place: Place, first: int, end: int | None) -> None:
        """The cards issued from the counts the database keeps (`central.cases.cardcounts`)."""
        counts = self._read(select(_K.hall, _K.unit, _K.kind, func.sum(_K.issued)).where(
            *_placed(place, _K), *_period(_K.day, first, end)).group_by(_K.hall, _K.unit, _K.kind))
        for hall, unit, kind, issued in counts:
            if issued and kind in ISSUED_KINDS:  # moved out to nothing is no card, as per row
                book.row(hall, unit).issued[ISSUED_KINDS[kind]] += int(issued)


    def _counted(self, book: FiguresBook, place: Place, first: int, end: int | None) -> None:
        counts = self._read(select(_D.hall, _D.unit, *(
            func.sum(case((_D.measure == measure, _D.n), else_=0)) for measure in _MEASURES)).where(
            # The measures named: the key's first column, so the days are a range of the key.
            _D.measure.in_(_NAMED_MEASURES), *_placed(place, _D),
            *_period(_D.day, first, end)).group_by(_D.hall, _D.unit))
        for hall, unit, received, completed, on_time in counts:
            if received or completed:  # a count moved out to nothing is no row, as per case
                figures = book.row(hall, unit)
                figures.received += int(received)
                figures.completed += int(completed)
                figures.on_time += int(on_time)


def _whole_days(since: int, until: int | None) -> bool:
    return all(instant == midnight(day_of(instant)) for instant in (since, until) if instant is not None)


def _placed(place: Place, table: Any = _C) -> list[ColumnElement[bool]]:
    return [column == value for column, value in ((table.hall, place.hall), (table.unit, place.unit))
            if value is not None]


def _period(column: Any, since: int, until: int | None) -> list[ColumnElement[bool]]:
    return [and_(column >= since, column < until) if until is not None else column >= since]
