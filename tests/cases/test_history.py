"""A generated history of a few thousand cases, loaded two ways, held to a day-by-day reading.

One store is fed fact by fact at each fact's own instant, with a tick at each
midnight (as the live service sees a year); the other imports the same
history as JSON Lines in one go. Every figure of both equals what an
independent reading of the rules gives (`central.cases.synthetic`), overall,
per unit and per case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.cases.calendar import load_calendar
from central.cases.engine import Engine
from central.cases.importer import import_lines
from central.cases.rules import default_rules
from central.cases.synthetic import (
    History,
    HistoryShape,
    Reading,
    by_instant,
    calendar_lookup,
    generate,
    read_by_the_rules,
    reference_figures,
)
from central.cases.timebase import Instant, day_of, midnight
from tests.cases.conftest import run_sql

SHAPE = HistoryShape(cases=2500, completed=2290, suspended=150, late=40, slow_confirmation=30,
                     overdue_open=8, seed=20261130)
CALENDAR = load_calendar()


@pytest.fixture(scope="module")
def history() -> History:
    return generate(SHAPE, CALENDAR)


@pytest.fixture(scope="module")
def readings(history: History) -> list[Reading]:
    offsets = default_rules().ladder.offsets
    look = calendar_lookup(CALENDAR)
    return [read_by_the_rules(case, look, offsets, SHAPE.until) for case in history.cases]


class Clock:
    def __init__(self, now: Instant) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture(scope="module")
def replayed(history: History, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Fact by fact at each fact's instant through the Python API, a tick at every midnight."""
    clock = Clock(SHAPE.until)
    engine = Engine.open(tmp_path_factory.mktemp("replay") / "cases.sqlite", clock=clock)
    store, days = engine.store, dict(by_instant(history))
    first, last = min(days), day_of(SHAPE.until)
    for day in range(first, last + 1):
        with store.writing():  # one commit a day: the order of events is what counts here
            clock.now = midnight(day)
            engine.tick()
            for fact in days.get(day, []):
                clock.now = fact.at
                store.record(fact.kind, fact.body)
    clock.now = SHAPE.until
    engine.tick()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def imported(history: History, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The same history by `hall central import --at 2026-11-30T12:00`."""
    engine = Engine.open(tmp_path_factory.mktemp("import") / "cases.sqlite",
                         clock=Clock(SHAPE.until + 86400))
    report = import_lines(engine.store, history.lines(), at=SHAPE.until)
    assert (report.stored, report.rejected) == (sum(len(c.facts) for c in history.cases), [])
    yield engine
    engine.close()


def figures(engine: Engine, by: str | None = None) -> dict[str | None, dict[str, int]]:
    return {row.group: {name: getattr(row, name) for name in (
        "received", "completed", "on_time", "yellow_cards", "red_cards", "supervision_letters")}
        for row in engine.store.statistics(by=by, until=SHAPE.until)}


def issued_escalations(engine: Engine) -> dict[str, dict[str, Instant]]:
    out: dict[str, dict[str, Instant]] = {}
    for case_id, kind, due_at in run_sql(
        engine, "SELECT case_id, kind, due_at FROM case_issued WHERE escalation = 1"
    ):
        out.setdefault(case_id, {})[kind] = due_at
    return out


def on_time(engine: Engine) -> dict[str, bool | None]:
    rows: list[tuple[Any, ...]] = run_sql(
        engine, "SELECT case_id, on_time FROM cases WHERE completed_at IS NOT NULL")
    return {case_id: None if flag is None else bool(flag) for case_id, flag in rows}


def test_the_generated_history_has_cards_to_find(readings: list[Reading]) -> None:
    overall = reference_figures(readings, SHAPE.until)[None]
    assert overall["received"] == SHAPE.cases and overall["completed"] == SHAPE.completed
    assert overall["yellow_cards"] > 50 and overall["red_cards"] > 20
    assert overall["supervision_letters"] > 10
    assert overall["on_time"] < overall["completed"]


@pytest.mark.parametrize("loaded", ["replayed", "imported"])
def test_every_figure_equals_the_day_by_day_reading_of_the_rules(
    loaded: str, readings: list[Reading], request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(loaded)
    assert figures(engine) == reference_figures(readings, SHAPE.until)
    assert figures(engine, by="unit") == reference_figures(readings, SHAPE.until,
                                                           by=lambda r: r.unit)
    assert figures(engine, by="hall") == reference_figures(readings, SHAPE.until,
                                                           by=lambda r: r.hall)
    expected = {r.case_id: r.escalations for r in readings if r.escalations}
    assert issued_escalations(engine) == expected
    assert on_time(engine) == {r.case_id: r.on_time for r in readings
                               if r.completed_at is not None}


def test_the_import_and_the_replay_agree_case_by_case(replayed: Engine, imported: Engine) -> None:
    assert issued_escalations(imported) == issued_escalations(replayed)
    assert figures(imported, by="officer") == figures(replayed, by="officer")
    lights = "SELECT case_id, stage, due_day, days_taken FROM cases ORDER BY case_id"
    assert run_sql(imported, lights) == run_sql(replayed, lights)


def test_a_second_import_of_the_same_history_changes_nothing(
    history: History, tmp_path: Path
) -> None:
    engine = Engine.open(tmp_path / "cases.sqlite", clock=Clock(SHAPE.until))
    lines = list(history.lines())[:3000]
    import_lines(engine.store, lines, at=SHAPE.until)
    head = engine.store.head()
    again = import_lines(engine.store, lines, at=SHAPE.until)
    assert (again.stored, again.duplicates) == (0, 3000)
    assert engine.store.head() == head
    engine.close()
