"""The countdown rules, checked against a table written by hand from the issue's rules.

2026 official schedule (State Council): holidays 01-01..03, 02-15..23,
04-04..06, 05-01..05, 06-19..21, 09-25..27, 10-01..07; make-up workdays
01-04 (Sun), 02-14 (Sat), 02-28 (Sat), 05-09 (Sat), 09-20 (Sun), 10-10 (Sat).
Every expectation below was worked out on paper by counting those days; the
comment on each case shows the count. Nothing here was produced by the code.
"""

from __future__ import annotations

import pytest

from central.cases.calendar import load_calendar
from central.cases.countdown import CaseClock, Suspension, compute
from central.cases.rules import Ladder
from central.cases.stages import Limit, LimitUnit
from central.cases.timebase import format_day, parse_instant

CALENDAR = load_calendar()
LADDER = Ladder()

W, D, M = LimitUnit.WORKDAYS, LimitUnit.DAYS, LimitUnit.MONTHS

# name: (accepted, limit, unit, holds [(from, to|None)], [(instant, expected stage)], due day)
Row = tuple[str, int, LimitUnit, list[tuple[str, str | None]], list[tuple[str, str]], str | None]
TABLE: dict[str, Row] = {
    # Mon 11-23; counted Tue24=1 Wed25=2 Thu26=3 Fri27=4 Mon30=5 Tue1=6 Wed2=7 Thu3=8.
    "five_workdays_over_a_weekend": (
        "2026-11-23T10:00", 5, W, [],
        [
            ("2026-11-23T10:00", "blue"),
            ("2026-11-26T23:59:59", "blue"),
            ("2026-11-27T00:00", "yellow_light"),
            ("2026-11-29T12:00", "yellow_light"),
            ("2026-11-30T00:00", "red_light"),
            ("2026-11-30T23:59:59", "red_light"),
            ("2026-12-01T00:00", "yellow_card"),
            ("2026-12-02T08:00", "red_card"),
            ("2026-12-03T00:00", "supervision_letter"),
            ("2026-12-20T00:00", "supervision_letter"),
        ],
        "2026-11-30",
    ),
    # Fri 02-13, one working day: k=0 is already N-1. Sat 02-14 is a make-up
    # workday (k=1); 02-15..23 holidays; Tue 24=2, Wed 25=3, Thu 26=4.
    "one_day_limit_before_spring_festival": (
        "2026-02-13T16:00", 1, W, [],
        [
            ("2026-02-13T16:00", "yellow_light"),
            ("2026-02-13T23:59", "yellow_light"),
            ("2026-02-14T00:00", "red_light"),
            ("2026-02-20T12:00", "red_light"),
            ("2026-02-23T23:59", "red_light"),
            ("2026-02-24T00:00", "yellow_card"),
            ("2026-02-25T00:00", "red_card"),
            ("2026-02-26T00:00", "supervision_letter"),
        ],
        "2026-02-14",
    ),
    # Accepted on the make-up Saturday 02-14: Tue24=1 Wed25=2 Thu26=3 Fri27=4
    # Sat28 (make-up)=5, Sun 03-01 off, Mon 03-02=6.
    "accepted_on_make_up_saturday_counts_make_up_saturday_later": (
        "2026-02-14T09:00", 3, W, [],
        [
            ("2026-02-18T12:00", "blue"),
            ("2026-02-24T00:00", "blue"),
            ("2026-02-25T00:00", "yellow_light"),
            ("2026-02-26T00:00", "red_light"),
            ("2026-02-27T00:00", "yellow_card"),
            ("2026-02-28T00:00", "red_card"),
            ("2026-03-01T12:00", "red_card"),
            ("2026-03-02T00:00", "supervision_letter"),
        ],
        "2026-02-26",
    ),
    # Wed 09-30; 10-01..07 holidays; Thu 10-08=1, Fri 09=2, Sat 10 (make-up)=3,
    # Sun 11 off, Mon 12=4, Tue 13=5.
    "two_workdays_across_national_day": (
        "2026-09-30T10:00", 2, W, [],
        [
            ("2026-10-01T00:00", "blue"),
            ("2026-10-07T23:59:59", "blue"),
            ("2026-10-08T00:00", "yellow_light"),
            ("2026-10-09T00:00", "red_light"),
            ("2026-10-10T00:00", "yellow_card"),
            ("2026-10-11T12:00", "yellow_card"),
            ("2026-10-12T00:00", "red_card"),
            ("2026-10-13T00:00", "supervision_letter"),
        ],
        "2026-10-09",
    ),
    # Fri 09-18; Sat 19 off; Sun 20 is a make-up workday (=1); Mon 21=2.
    "make_up_sunday_is_a_working_day": (
        "2026-09-18T15:00", 1, W, [],
        [
            ("2026-09-19T12:00", "yellow_light"),
            ("2026-09-20T00:00", "red_light"),
            ("2026-09-21T00:00", "yellow_card"),
            ("2026-09-22T00:00", "red_card"),
            ("2026-09-23T00:00", "supervision_letter"),
        ],
        "2026-09-20",
    ),
    # Wed 2025-12-31; 01-01..03 holidays; Sun 01-04 make-up=1; Mon 05=2; Tue 06=3.
    "new_year_holiday_and_make_up_sunday": (
        "2025-12-31T14:00", 2, W, [],
        [
            ("2026-01-03T12:00", "blue"),
            ("2026-01-04T00:00", "yellow_light"),
            ("2026-01-05T00:00", "red_light"),
            ("2026-01-06T00:00", "yellow_card"),
        ],
        "2026-01-05",
    ),
    # Accepted on a Saturday (not a make-up day): Mon 30=1, Tue 12-01=2.
    "accepted_on_a_weekend_counts_from_the_next_working_day": (
        "2026-11-28T10:00", 1, W, [],
        [
            ("2026-11-28T10:00", "yellow_light"),
            ("2026-11-30T00:00", "red_light"),
            ("2026-12-01T00:00", "yellow_card"),
        ],
        "2026-11-30",
    ),
    # Suspended Tue 11-24 15:00 .. Thu 11-26 09:00: suspended at 00:00 of 25 and
    # 26, so those do not count. Tue24=1 Fri27=2 Mon30=3 Tue1=4 Wed2=5 Thu3=6.
    "suspension_for_a_hearing_pushes_the_deadline": (
        "2026-11-23T10:00", 5, W, [("2026-11-24T15:00", "2026-11-26T09:00")],
        [
            ("2026-11-24T14:59", "blue"),
            ("2026-11-24T15:00", "suspended"),
            ("2026-11-26T08:59", "suspended"),
            ("2026-11-26T09:00", "blue"),
            ("2026-11-30T12:00", "blue"),
            ("2026-12-01T00:00", "yellow_light"),
            ("2026-12-02T00:00", "red_light"),
            ("2026-12-03T00:00", "yellow_card"),
        ],
        "2026-12-02",
    ),
    # Suspended exactly 11-25 00:00 .. 11-26 00:00: only 25 is suspended at its
    # 00:00. Tue24=1 Thu26=2 Fri27=3 Mon30=4 Tue1=5 Wed2=6.
    "suspension_from_midnight_to_midnight_skips_one_day": (
        "2026-11-23T10:00", 5, W, [("2026-11-25T00:00", "2026-11-26T00:00")],
        [
            ("2026-11-25T12:00", "suspended"),
            ("2026-11-26T00:00", "blue"),
            ("2026-11-30T00:00", "yellow_light"),
            ("2026-12-01T00:00", "red_light"),
            ("2026-12-02T00:00", "yellow_card"),
        ],
        "2026-12-01",
    ),
    # Suspended on the yellow-light day and never resumed: frozen.
    "open_suspension_freezes_the_light": (
        "2026-11-23T10:00", 5, W, [("2026-11-27T10:00", None)],
        [
            ("2026-11-27T09:59", "yellow_light"),
            ("2026-11-27T10:00", "suspended"),
            ("2026-12-20T00:00", "suspended"),
        ],
        None,
    ),
    # Suspended on the yellow-card day Tue 12-01 10:00 .. Fri 12-04 10:00:
    # 12-02, 03, 04 do not count. Tue1=6, Mon7=7, Tue8=8.
    "suspension_while_overdue_delays_the_next_card": (
        "2026-11-23T10:00", 5, W, [("2026-12-01T10:00", "2026-12-04T10:00")],
        [
            ("2026-12-01T09:00", "yellow_card"),
            ("2026-12-02T12:00", "suspended"),
            ("2026-12-04T10:00", "yellow_card"),
            ("2026-12-06T12:00", "yellow_card"),
            ("2026-12-07T00:00", "red_card"),
            ("2026-12-08T00:00", "supervision_letter"),
        ],
        "2026-11-30",
    ),
    # 10 calendar days from Mon 09-21 end on Thu 10-01, a holiday: moved to the
    # next working day Thu 10-08. Working days before: 22 23 24 28 29 30, so the
    # yellow light is Wed 09-30; cards count working days: Fri 10-09, Sat 10-10
    # (make-up), Mon 10-12.
    "calendar_day_limit_ending_in_national_day_moves_to_next_working_day": (
        "2026-09-21T10:00", 10, D, [],
        [
            ("2026-09-29T23:00", "blue"),
            ("2026-09-30T00:00", "yellow_light"),
            ("2026-10-05T12:00", "yellow_light"),
            ("2026-10-08T00:00", "red_light"),
            ("2026-10-09T00:00", "yellow_card"),
            ("2026-10-10T00:00", "red_card"),
            ("2026-10-12T00:00", "supervision_letter"),
        ],
        "2026-10-08",
    ),
    # Senior-citizen card, two months from Fri 08-07: Wed 10-07, a holiday, so
    # due Thu 10-08; the last working day before is Wed 09-30.
    "two_month_commitment_item_ending_on_a_holiday": (
        "2026-08-07T10:00", 2, M, [],
        [
            ("2026-09-29T12:00", "blue"),
            ("2026-09-30T00:00", "yellow_light"),
            ("2026-10-08T00:00", "red_light"),
            ("2026-10-09T00:00", "yellow_card"),
            ("2026-10-10T00:00", "red_card"),
            ("2026-10-12T00:00", "supervision_letter"),
        ],
        "2026-10-08",
    ),
    # One month from Tue 03-31 ends on Thu 04-30 (April is shorter): a working
    # day. Cards skip 05-01..05: Wed 05-06, Thu 07, Fri 08.
    "month_limit_ends_on_the_last_day_of_a_shorter_month": (
        "2026-03-31T10:00", 1, M, [],
        [
            ("2026-04-28T12:00", "blue"),
            ("2026-04-29T00:00", "yellow_light"),
            ("2026-04-30T00:00", "red_light"),
            ("2026-05-03T12:00", "red_light"),
            ("2026-05-06T00:00", "yellow_card"),
            ("2026-05-07T00:00", "red_card"),
            ("2026-05-08T00:00", "supervision_letter"),
        ],
        "2026-04-30",
    ),
    # One month from Fri 01-30 is Sat 02-28, a make-up workday: due that day.
    "month_limit_ending_on_a_make_up_saturday_is_due_that_day": (
        "2026-01-30T10:00", 1, M, [],
        [
            ("2026-02-27T00:00", "yellow_light"),
            ("2026-02-28T00:00", "red_light"),
            ("2026-03-01T12:00", "red_light"),
            ("2026-03-02T00:00", "yellow_card"),
        ],
        "2026-02-28",
    ),
    # Mon 12-28, 5 working days: Tue29=1 Wed30=2 Thu31=3, then 2027, which the
    # calendar does not know: the light is uncertain from 2027-01-01.
    "deadline_in_an_uncovered_year_is_uncertain": (
        "2026-12-28T10:00", 5, W, [],
        [
            ("2026-12-31T12:00", "blue"),
            ("2027-01-01T00:00", "uncertain"),
            ("2027-01-20T00:00", "uncertain"),
        ],
        None,
    ),
    # Two months from 11-23 lands in 2027: the yellow light is at the earliest on
    # the last working day of 2026 (Thu 12-31), so blue is certain only until then.
    "month_limit_into_an_uncovered_year_is_uncertain_from_its_earliest_yellow": (
        "2026-11-23T10:00", 2, M, [],
        [
            ("2026-12-30T12:00", "blue"),
            ("2026-12-31T00:00", "uncertain"),
        ],
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_stage_table_written_by_hand(name: str) -> None:
    accepted, amount, unit, holds, expectations, due = TABLE[name]
    clock = CaseClock(
        parse_instant(accepted),
        Limit(amount, unit),
        tuple(Suspension(parse_instant(a), parse_instant(b) if b else None) for a, b in holds),
    )
    countdown = compute(clock, CALENDAR, LADDER)
    got = [(at, countdown.stage_at(parse_instant(at)).value) for at, _ in expectations]
    assert got == expectations
    assert (format_day(countdown.due_day) if countdown.due_day is not None else None) == due
