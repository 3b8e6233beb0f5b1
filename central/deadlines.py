"""Deadlines in working days: "the end of the n-th working day after", one policy for all of central.

A complaint's answer and a bad rating's rectification are due at the end of
the n-th working day after the day they arrived, counted on China's official
working-day calendar (`central.cases.calendar`: statutory holidays off,
make-up workdays on), the calendar the countdown uses.

When the period runs past the years the calendar covers, the days beyond it
are counted as weekdays (Monday to Friday) and the deadline says it is an
estimate. Holidays only move a real deadline later, so the estimate errs
early: an alarm a little soon, never one missed. The countdown does not use
this: a case's light never rests on an estimate (it shows `uncertain`, see
docs/countdown.md), so it asks the calendar itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from central.cases.calendar import CalendarGap, WorkCalendar, load_calendar
from central.cases.timebase import Day, day_of, midnight

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deadline:
    """The last day allowed, and whether the calendar covered the whole way to it."""

    last_day: Day
    estimated: bool = False

    @property
    def end_ms(self) -> int:
        """The deadline itself: 00:00 after the last day allowed, ms since the epoch."""
        return midnight(self.last_day + 1) * 1000


class WorkingDays:
    """Counts working days on one calendar, falling back to weekdays where it has no year."""

    def __init__(self, calendar: WorkCalendar | None = None) -> None:
        self._calendar = calendar

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            # The package's years only; central passes the calendar its case store reads.
            self._calendar = load_calendar()
        return self._calendar

    def after(self, start_ms: int, days: int) -> Deadline:
        """The end of the `days`-th working day after the day of `start_ms` (Asia/Shanghai)."""
        return self.nth_after(day_of(start_ms // 1000), days)

    def nth_after(self, after: Day, n: int) -> Deadline:
        """The n-th working day after the day `after` (n >= 1)."""
        if n < 1:
            raise ValueError("n counts from 1")
        try:
            return Deadline(self.calendar.nth_after(after, n))
        except CalendarGap as gap:
            log.warning("%s: a deadline is estimated with weekdays past the calendar's years", gap)
            counted = self._covered_before(after, gap.day)
            return Deadline(_nth_weekday_after(gap.day - 1, n - counted), estimated=True)

    def _covered_before(self, after: Day, gap: Day) -> int:
        """Working days in (after, gap) the calendar knows."""
        if gap <= after + 1:
            return 0
        try:
            return self.calendar.count(after, gap - 1)
        except CalendarGap:  # an uncovered stretch before the covered one: count nothing known
            return 0


def _nth_weekday_after(after: Day, n: int) -> Day:
    """The n-th Monday-to-Friday day after `after` (n is at most a few months of days)."""
    day = after
    while n > 0:
        day += 1
        if (day + 3) % 7 < 5:  # day 0, 1970-01-01, was a Thursday
            n -= 1
    return day
