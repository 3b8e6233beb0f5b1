"""What the big screen asks of the case records: counts per place and light, alarms, the period's figures.

Two answers: `SqlTally` (`central.web.screen.sqltally`) counts in SQL over
the case store, and `BoardTally` below counts the rows of any `CaseBoard`
(a central without the engine, the tests' hand-filled board). Figures follow
`central.cases.stats`: a case is received when accepted, completed when done
and confirmed, a card counts when it fell due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from central.cases.timebase import parse_instant
from central.web.caseport import CaseBoard, CaseFilter

ALARM_STAGES = ("supervision_letter", "red_card", "yellow_card")
"""Open cases at these stages are alarms: a yellow card and worse."""
ISSUED_KINDS = {"yellow_card": "yellow_cards", "red_card": "red_cards", "supervision_letter": "letters"}


@dataclass(frozen=True)
class Place:
    """Where the screen looks: one hall and one unit, either of them or neither."""

    hall: str | None = None
    unit: str | None = None


@dataclass(frozen=True, order=True)
class PlaceCount:
    hall: str
    unit: str
    stage: str
    cases: int


@dataclass(frozen=True)
class AlarmCase:
    case_id: str
    hall: str
    unit: str
    matter: str
    officer: str
    stage: str
    since: int | None
    """Epoch seconds: when the case reached its stage."""
    due_day: str | None


@dataclass
class PlaceFigures:
    """Received, completed, on time and escalations issued of one hall's unit over a period."""

    hall: str
    unit: str
    received: int = 0
    completed: int = 0
    on_time: int = 0
    issued: Counter[str] = field(default_factory=Counter)
    """yellow_cards, red_cards, letters."""


class CaseTally(Protocol):
    def open_places(self, place: Place) -> list[PlaceCount]:
        """Open cases per (hall, unit, stage)."""
        ...

    def alarm_cases(self, place: Place, limit: int) -> list[AlarmCase]:
        """Open cases at a yellow card or worse, the newest stage first."""
        ...

    def figures(self, place: Place, since: int, until: int | None) -> list[PlaceFigures]:
        """Figures per (hall, unit) for [since, until) in epoch seconds; until None: open-ended."""
        ...

    def close(self) -> None: ...


class FiguresBook:
    """Adds rows up by (hall, unit): the one place where a tally's rows become `PlaceFigures`."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], PlaceFigures] = {}

    def row(self, hall: str, unit: str) -> PlaceFigures:
        key = (hall, unit)
        if key not in self._rows:
            self._rows[key] = PlaceFigures(hall, unit)
        return self._rows[key]

    def received(self, places: Iterable[tuple[str, str]]) -> None:
        for hall, unit in places:
            self.row(hall, unit).received += 1

    def completed(self, rows: Iterable[tuple[str, str, object]]) -> None:
        for hall, unit, on_time in rows:
            figures = self.row(hall, unit)
            figures.completed += 1
            figures.on_time += int(on_time == 1 or on_time is True)

    def issued(self, rows: Iterable[tuple[str, str, str]]) -> None:
        for hall, unit, kind in rows:
            if kind in ISSUED_KINDS:
                self.row(hall, unit).issued[ISSUED_KINDS[kind]] += 1

    def rows(self) -> list[PlaceFigures]:
        return [self._rows[key] for key in sorted(self._rows)]


class BoardTally:
    """Counts the rows a `CaseBoard` lists: for a central without the case engine's store.

    It reads every open case at each refresh; the engine's central uses `SqlTally`.
    """

    def __init__(self, board: CaseBoard) -> None:
        self.board = board

    def _rows(self, place: Place, open_only: bool) -> list[dict[str, object]]:
        query = CaseFilter(hall=place.hall, unit=place.unit, open_only=open_only, limit=10**9)
        return self.board.search(query)

    def open_places(self, place: Place) -> list[PlaceCount]:
        counted = Counter((str(r["hall"]), str(r["unit"]), str(r["stage"]))
                          for r in self._rows(place, open_only=True))
        return [PlaceCount(hall, unit, stage, n) for (hall, unit, stage), n in sorted(counted.items())]

    def alarm_cases(self, place: Place, limit: int) -> list[AlarmCase]:
        rows = [r for r in self._rows(place, open_only=True) if r["stage"] in ALARM_STAGES]
        # A board tells no stage times: the worst first stands in for the newest first.
        rows.sort(key=lambda r: (ALARM_STAGES.index(str(r["stage"])), str(r["case_id"])))
        return [AlarmCase(str(r["case_id"]), str(r["hall"]), str(r["unit"]), str(r.get("matter") or ""),
                          str(r.get("officer_name") or ""), str(r["stage"]), None,
                          _text(r.get("due"))) for r in rows[:limit]]

    def figures(self, place: Place, since: int, until: int | None) -> list[PlaceFigures]:
        book = FiguresBook()
        rows = self._rows(place, open_only=False)
        book.received((str(r["hall"]), str(r["unit"])) for r in rows
                      if _within(r.get("accepted_at"), since, until))
        book.completed((str(r["hall"]), str(r["unit"]), r.get("on_time")) for r in rows
                       if r["stage"] == "completed" and _within(r.get("completed_at"), since, until))
        return book.rows()

    def close(self) -> None:
        pass


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _within(stamp: object, since: int, until: int | None) -> bool:
    if not isinstance(stamp, str):
        return False
    at = parse_instant(stamp)
    return at >= since and (until is None or at < until)
