"""Completion, freezing and next-transition rules of the countdown (pure logic)."""

from __future__ import annotations

from central.cases.calendar import load_calendar
from central.cases.countdown import CaseClock, Suspension, add_months, compute
from central.cases.rules import Ladder
from central.cases.stages import Limit, Stage
from central.cases.timebase import parse_instant as at

CALENDAR = load_calendar()
# Mon 2026-11-23, five working days: due Mon 11-30, yellow card Tue 12-01.
FIVE_DAYS = CaseClock(at("2026-11-23T10:00"), Limit(5))


def countdown(clock: CaseClock):
    return compute(clock, CALENDAR, Ladder())


def done(completed: str, confirmed: str | None) -> CaseClock:
    return CaseClock(
        FIVE_DAYS.accepted_at,
        FIVE_DAYS.limit,
        completed_at=at(completed),
        confirmed_at=at(confirmed) if confirmed else None,
    )


def test_completion_on_the_due_day_is_on_time_with_five_days_taken() -> None:
    result = countdown(done("2026-11-30T15:00", "2026-11-30T15:05"))
    assert result.on_time is True
    assert result.days_taken == 5
    assert result.calendar_days_taken == 7
    assert result.stage_at(at("2026-11-30T15:05")) is Stage.COMPLETED


def test_completion_on_the_yellow_card_day_is_late() -> None:
    result = countdown(done("2026-12-01T00:30", "2026-12-01T01:00"))
    assert result.on_time is False
    assert result.days_taken == 6


def test_done_but_unconfirmed_keeps_the_light_running() -> None:
    result = countdown(done("2026-11-30T15:00", None))
    assert result.awaiting_confirmation()
    assert result.stage_at(at("2026-12-01T08:00")) is Stage.YELLOW_CARD
    # Judged on when the work was done, not on when someone clicked confirm.
    assert result.on_time is True


def test_late_confirmation_still_counts_the_completion_time_for_on_time() -> None:
    result = countdown(done("2026-11-30T15:00", "2026-12-02T09:00"))
    assert result.on_time is True
    assert result.stage_at(at("2026-12-02T08:00")) is Stage.RED_CARD
    assert result.stage_at(at("2026-12-02T09:00")) is Stage.COMPLETED


def test_frozen_case_remembers_the_light_it_was_suspended_on() -> None:
    clock = CaseClock(FIVE_DAYS.accepted_at, FIVE_DAYS.limit, (Suspension(at("2026-11-30T10:00")),))
    result = countdown(clock)
    assert result.frozen_stage() is Stage.RED_LIGHT
    assert result.next_change_after(at("2026-11-30T10:00")) is None
    assert result.due_day is not None  # the due day had already come


def test_next_change_is_the_next_stage_start() -> None:
    result = countdown(FIVE_DAYS)
    assert result.next_change_after(at("2026-11-23T10:00")) == at("2026-11-27T00:00")
    assert result.next_change_after(at("2026-11-27T00:00")) == at("2026-11-30T00:00")
    assert result.next_change_after(at("2026-12-03T00:00")) is None


def test_nothing_changes_after_confirmation() -> None:
    result = countdown(done("2026-11-24T15:00", "2026-11-24T16:00"))
    assert result.next_change_after(at("2026-11-24T16:00")) is None


def test_uncertain_case_wakes_at_the_first_uncovered_day() -> None:
    result = countdown(CaseClock(at("2026-12-28T10:00"), Limit(5)))
    assert result.next_change_after(at("2026-12-28T10:00")) == at("2027-01-01T00:00")


def test_completion_before_the_calendar_runs_out_is_on_time_even_if_due_is_unknown() -> None:
    clock = CaseClock(at("2026-12-28T10:00"), Limit(5), completed_at=at("2026-12-30T10:00"))
    result = countdown(clock)
    assert result.due_day is None
    assert result.on_time is True
    assert result.days_taken == 2


def test_configured_ladder_moves_the_yellow_light_two_days_ahead() -> None:
    result = compute(FIVE_DAYS, CALENDAR, Ladder(yellow_light=-2))
    assert result.stage_at(at("2026-11-26T00:00")) is Stage.YELLOW_LIGHT
    assert result.stage_at(at("2026-11-25T23:59")) is Stage.BLUE


def test_months_keep_the_day_of_month_or_the_last_day() -> None:
    from datetime import date

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 23), 2) == date(2027, 1, 23)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
