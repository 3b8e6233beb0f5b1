"""One deadline policy: complaints and rating follow-ups count the countdown's working days.

National Day 2026 (Oct 1-7) is off and Saturday Oct 10 is a make-up workday, so a
complaint received on Sep 30 with five working days is due at the end of Oct 13,
not of Oct 7 as a weekdays-only count would say. Past the calendar's years the
days are counted as weekdays and the deadline says it is an estimate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.cases.timebase import format_day, parse_instant
from central.complaints import ComplaintDesk, ComplaintSettings, NewComplaint
from central.config import CentralConfig
from central.deadlines import WorkingDays
from central.ratings import RatingBook, RatingCentralSettings
from central.service import CentralService
from central.store import CentralStore
from spine.clock import SimulatedClock

BEFORE_NATIONAL_DAY = parse_instant("2026-09-30T10:00") * 1000
BEFORE_NEW_YEAR = parse_instant("2026-12-29T10:00") * 1000
ABOUT_WINDOW_3 = NewComplaint(hall="hall-01", summary="窗口人员离岗二十分钟", window="3",
                              visit_time=BEFORE_NATIONAL_DAY - 3_600_000)


def desk_at(root: Path, now_ms: int, working_days: WorkingDays) -> ComplaintDesk:
    store = CentralStore(root / "events.sqlite", SimulatedClock(now_ms))
    desk = ComplaintDesk(store, ComplaintSettings(answer_workdays=5), working_days=working_days,
                         send=lambda _hall, _command: None, recorders=lambda _hall: [])
    desk.install(store)
    return desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[ComplaintDesk]:
    desk = desk_at(tmp_path, BEFORE_NATIONAL_DAY, WorkingDays())
    yield desk
    desk.store.close()


def test_the_n_th_working_day_skips_holidays_and_counts_make_up_workdays() -> None:
    deadline = WorkingDays().after(BEFORE_NATIONAL_DAY, 3)
    assert (format_day(deadline.last_day), deadline.estimated) == ("2026-10-10", False)


def test_a_complaint_received_the_day_before_national_day_is_due_after_the_holiday(
    desk: ComplaintDesk,
) -> None:
    complaint = desk.receive(ABOUT_WINDOW_3, "office")
    assert desk.get(complaint)["due_at"] == "2026-10-14T00:00:00+08:00"


def test_a_bad_rating_on_the_same_day_gets_the_same_deadline_for_the_same_days(
    desk: ComplaintDesk,
) -> None:
    complaint = desk.receive(ABOUT_WINDOW_3, "office")
    (due_ms,) = desk.store.query("SELECT due_at FROM complaints WHERE id = ?", (complaint,))[0]
    book = RatingBook(RatingCentralSettings(followup_days=5), WorkingDays())
    assert book.followup_desk.due_at(BEFORE_NATIONAL_DAY) == (due_ms, False)


def test_past_the_calendars_years_a_deadline_counts_weekdays_and_says_it_is_an_estimate() -> None:
    deadline = WorkingDays().after(BEFORE_NEW_YEAR, 5)
    # Dec 30 and 31 are known working days; Jan 1, 4 and 5 2027 are weekdays of an unknown year.
    assert (format_day(deadline.last_day), deadline.estimated) == ("2027-01-05", True)
    book = RatingBook(RatingCentralSettings(followup_days=5), WorkingDays())
    assert book.followup_desk.due_at(BEFORE_NEW_YEAR) == (deadline.end_ms, True)


def test_central_counts_complaints_on_the_schedule_files_beside_its_case_store(tmp_path: Path) -> None:
    config = CentralConfig.model_validate({"data_dir": str(tmp_path / "central")})
    config.calendar_dir.mkdir(parents=True)
    (config.calendar_dir / "2027.toml").write_text(
        'year = 2027\nsource = "State Council notice (test)"\nholidays = ["2027-01-01"]\n')
    central = CentralService(config, clock=SimulatedClock(BEFORE_NEW_YEAR))
    try:
        for projection in central.projections:  # what start() does first, without the broker
            projection.install(central.store)
        complaint = central.complaints.receive(ABOUT_WINDOW_3, "office")
        # New Year's Day 2027 is off by the file: Dec 30, 31, Jan 4, 5, 6; nothing estimated.
        assert central.complaints.get(complaint)["due_at"] == "2027-01-07T00:00:00+08:00"
        assert central.engine_cases is not None
        assert 2027 in central.engine_cases.engine.store.calendar.years
    finally:
        central.stop()
