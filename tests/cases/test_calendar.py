"""The working-day calendar: package years, operator schedule files, uncertainty, updates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from central.cases.calendar import (
    CalendarGap,
    ScheduleFileError,
    load_calendar,
    load_schedule_file,
)
from central.cases.engine import Engine
from central.cases.timebase import day_from_date
from central.cases.timebase import parse_instant as at
from tests.cases.conftest import SettableClock, entry

# Not the official 2027 schedule (unknown when this was written): a made-up
# one, so the tests do not depend on what the State Council will announce.
MADE_UP_2027 = """
year = 2027
source = "test schedule, not official"
holidays = ["2027-01-01..2027-01-03", "2027-02-06..2027-02-13"]
workdays = ["2027-02-14"]
"""


def d(text: str) -> int:
    return day_from_date(date.fromisoformat(text))


def test_2026_make_up_days_and_holidays_from_the_package() -> None:
    calendar = load_calendar()
    assert calendar.is_workday(d("2026-02-14"))  # make-up Saturday
    assert calendar.is_workday(d("2026-09-20"))  # make-up Sunday
    assert not calendar.is_workday(d("2026-10-07"))  # National Day
    assert not calendar.is_workday(d("2026-11-28"))  # a plain Saturday
    # 10-01..10-12: working days are 10-08, 10-09, 10-10 (make-up) and 10-12.
    assert calendar.count(d("2026-09-30"), d("2026-10-12")) == 4
    assert calendar.nth_after(d("2026-09-30"), 3) == d("2026-10-10")


def test_an_uncovered_year_is_a_gap_not_a_guess() -> None:
    calendar = load_calendar()
    with pytest.raises(CalendarGap) as caught:
        calendar.nth_after(d("2026-12-30"), 3)
    assert caught.value.day == d("2027-01-01")
    with pytest.raises(CalendarGap):
        calendar.is_workday(d("2027-01-04"))


def test_a_schedule_file_extends_the_calendar(tmp_path: Path) -> None:
    (tmp_path / "2027.toml").write_text(MADE_UP_2027, encoding="utf-8")
    calendar = load_calendar(tmp_path)
    assert not calendar.is_workday(d("2027-01-01"))
    assert calendar.is_workday(d("2027-01-04"))
    assert calendar.is_workday(d("2027-02-14"))  # a Sunday, made a workday by the file
    # 2026-12-31 (Thu) then: 01-04 Mon is the first working day of 2027.
    assert calendar.nth_after(d("2026-12-31"), 1) == d("2027-01-04")


def test_a_wrong_schedule_file_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "2027.toml"
    path.write_text(
        'year = 2027\nholidays = ["2027-13-01", "2026-10-01"]\nworkdays = ["2027-01-05"]\n'
        'colour = "red"\n',
        encoding="utf-8",
    )
    with pytest.raises(ScheduleFileError) as caught:
        load_schedule_file(path)
    message = str(caught.value)
    for expected in ("unknown keys", "2027-13-01", "not in 2027", "is a weekday"):
        assert expected in message


def test_adding_next_years_schedule_recomputes_uncertain_cases_and_logs_it(
    db_path: Path, clock: SettableClock, tmp_path: Path
) -> None:
    clock.set("2026-12-28T10:05")
    engine = Engine.open(db_path, clock=clock)
    engine.store.submit(entry(applied_at="2026-12-28T09:00", accepted_at="2026-12-28T10:00"))
    clock.set("2027-01-02T09:00")
    engine.tick()
    assert engine.store.case("JQ-2026-0001").stage == "uncertain"
    engine.close()

    schedules = tmp_path / "calendar"
    schedules.mkdir()
    (schedules / "2027.toml").write_text(MADE_UP_2027, encoding="utf-8")
    engine = Engine.open(db_path, clock=clock, calendar_dir=schedules)
    # Tue29=1 Wed30=2 Thu31=3, 2027-01-01..03 off, Mon 01-04=4, Tue 01-05=5.
    view = engine.store.case("JQ-2026-0001")
    assert (view.stage, view.due_day) == ("blue", "2027-01-05")
    kinds = [e.kind for e in engine.store.history("JQ-2026-0001")]
    assert kinds[-1] == "case.recomputed"
    recomputed = engine.store.history("JQ-2026-0001")[-1].body
    assert (recomputed["due_before"], recomputed["due_after"]) == (None, "2027-01-05")
    update = [e for e in engine.store.events() if e.kind == "calendar.updated"][-1]
    assert (update.body["years_changed"], update.body["recomputed"]) == ([2027], 1)
    engine.close()


def test_reopening_with_the_same_calendar_logs_nothing_new(
    db_path: Path, clock: SettableClock
) -> None:
    Engine.open(db_path, clock=clock).close()
    engine = Engine.open(db_path, clock=clock)
    assert [e.kind for e in engine.store.events()] == ["calendar.updated", "rules.updated"]
    assert engine.tick(at("2026-11-24T00:00")).processed == 0


def test_schedule_files_beside_the_database_are_read_by_default(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "2027.toml").write_text(MADE_UP_2027, encoding="utf-8")
    engine = Engine.open(tmp_path / "cases.sqlite", clock=SettableClock("2026-11-23T10:05"))
    assert 2027 in engine.store.calendar.years
    engine.close()
