"""The countdown rules as a pure function: a case's clock facts in, the instant each stage begins out.

A working day d *counts* for a case if it comes after the acceptance day and
the case was not suspended at 00:00 of d; k(t) is the number of counted
working days up to and including the day of t. With a due index m (the limit
N for a working-day limit), the stage with ladder offset o begins at 00:00 of
the (m + o)-th counted working day, or at acceptance if m + o <= 0.

For calendar-day and month limits the due day D0 is the N-th counted calendar
day after acceptance (a month ends on the same day of the month, or the
month's last day), moved to the next counted working day D when it is not
one; then m = k(D0 - 1) + 1 and escalation counts working days as before.

Nothing here reads a clock or a file: the engine, the calculator and the
tests all call `compute`.
"""

from __future__ import annotations

import calendar as _gregorian
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from central.cases.calendar import CalendarGap, WorkCalendar
from central.cases.rules import Ladder
from central.cases.stages import LADDER, Limit, LimitUnit, Stage
from central.cases.timebase import Day, Instant, date_from_day, day_from_date, day_of, midnight

_FAR = 1 << 40  # a day number beyond any calendar: "no end"


@dataclass(frozen=True)
class Suspension:
    """A suspension of the clock for a legal reason: from `start` until `end` (None: still on)."""

    start: Instant
    end: Instant | None = None

    def days(self) -> tuple[Day, Day]:
        """The days whose 00:00 falls inside the hold (first, last); empty when last < first."""
        first = day_of(self.start - 1) + 1
        last = _FAR if self.end is None else day_of(self.end - 1)
        return first, last

    def covers(self, instant: Instant) -> bool:
        return self.start <= instant and (self.end is None or instant < self.end)


@dataclass(frozen=True)
class CaseClock:
    """What the countdown needs to know about a case, as currently corrected."""

    accepted_at: Instant
    limit: Limit
    suspensions: tuple[Suspension, ...] = ()
    completed_at: Instant | None = None
    """When the officer marked the case done; the light keeps running until confirmed."""
    confirmed_at: Instant | None = None
    """When completion was confirmed: the clock stops here."""

    @property
    def open_suspension(self) -> Suspension | None:
        if self.suspensions and self.suspensions[-1].end is None:
            return self.suspensions[-1]
        return None


class StageStart(NamedTuple):
    """The instant a ladder stage begins; None when it cannot be known yet."""

    stage: Stage
    at: Instant | None


@dataclass(frozen=True)
class Countdown:
    """A case's schedule under the facts known now."""

    clock: CaseClock
    due_day: Day | None
    """The day the red light comes on: the last day to complete on time."""
    starts: tuple[Instant | None, ...]
    """When each ladder stage begins, in LADDER order (None: not known yet)."""
    uncertain_from: Instant | None
    """From here the calendar does not cover the days the answer needs."""
    frozen_since: Instant | None
    """Start of a suspension that has not ended."""
    days_taken: int | None
    """Counted working days from acceptance to completion, once marked done."""
    calendar_days_taken: int | None
    on_time: bool | None
    """Done before the yellow card would begin; None while open or not knowable."""

    @property
    def stage_starts(self) -> tuple[StageStart, ...]:
        return tuple(StageStart(stage, at) for stage, at in zip(LADDER, self.starts, strict=True))

    def step(self, stage: Stage) -> Instant | None:
        return self.starts[LADDER.index(stage)]

    def light_at(self, instant: Instant) -> Stage:
        """The ladder stage by working-day count alone, ignoring suspension and completion."""
        if self.uncertain_from is not None and instant >= self.uncertain_from:
            return Stage.UNCERTAIN
        stage = Stage.BLUE
        for ladder_stage, at in zip(LADDER, self.starts, strict=True):
            if at is not None and at <= instant:
                stage = ladder_stage
        return stage

    def stage_at(self, instant: Instant) -> Stage:
        """The light shown at `instant` (valid for instants at or after the last recorded fact)."""
        clock = self.clock
        if clock.confirmed_at is not None and instant >= clock.confirmed_at:
            return Stage.COMPLETED
        if any(hold.covers(instant) for hold in clock.suspensions):
            return Stage.SUSPENDED
        return self.light_at(instant)

    def frozen_stage(self) -> Stage | None:
        """The light a suspended case was showing when its clock stopped."""
        if self.frozen_since is None:
            return None
        return self.light_at(self.frozen_since)

    def awaiting_confirmation(self) -> bool:
        return self.clock.completed_at is not None and self.clock.confirmed_at is None

    def changes(self) -> Iterator[Instant]:
        """Every instant at which the shown stage may change."""
        clock = self.clock
        for at in self.starts:
            if at is not None:
                yield at
        if self.uncertain_from is not None:
            yield self.uncertain_from
        for hold in clock.suspensions:
            yield hold.start
            if hold.end is not None:
                yield hold.end
        if clock.confirmed_at is not None:
            yield clock.confirmed_at

    def next_change_after(self, instant: Instant) -> Instant | None:
        """The first instant after `instant` at which the stage may change; None if none is known."""
        stop = self.clock.confirmed_at
        best: Instant | None = None
        for at in self.changes():
            if at > instant and (stop is None or at <= stop) and (best is None or at < best):
                best = at
        return best


# -- counting with suspensions --------------------------------------------------------


def _excluded(clock: CaseClock, accepted_day: Day) -> list[tuple[Day, Day]]:
    """Suspended day ranges after acceptance, merged, for holds that have ended."""
    ranges = sorted(
        hold.days() for hold in clock.suspensions if hold.end is not None
    )
    merged: list[tuple[Day, Day]] = []
    for first, last in ranges:
        first = max(first, accepted_day + 1)
        if last < first:
            continue
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _segments(after: Day, excluded: list[tuple[Day, Day]]) -> Iterator[tuple[Day, Day]]:
    """Counted day ranges (first, last) after `after`, in order; the last one is open-ended."""
    start = after + 1
    for first, last in excluded:
        if first > start:
            yield start, first - 1
        start = max(start, last + 1)
    yield start, _FAR


def nth_counted_workday(
    calendar: WorkCalendar, after: Day, excluded: list[tuple[Day, Day]], n: int
) -> Day:
    """The n-th working day after `after` that is not excluded; raises CalendarGap."""
    remaining = n
    for first, last in _segments(after, excluded):
        try:
            day = calendar.nth_after(first - 1, remaining)
        except CalendarGap as gap:
            if gap.day <= last:
                raise
            day = _FAR
        if day <= last:
            return day
        remaining -= calendar.count(first - 1, last)
    raise AssertionError("the last segment is open-ended")  # pragma: no cover


def count_counted_workdays(
    calendar: WorkCalendar, after: Day, excluded: list[tuple[Day, Day]], upto: Day
) -> int:
    """Working days in (after, upto] that are not excluded; raises CalendarGap."""
    total = 0
    for first, last in _segments(after, excluded):
        if first > upto:
            break
        total += calendar.count(first - 1, min(last, upto))
    return total


def nth_counted_day(after: Day, excluded: list[tuple[Day, Day]], n: int) -> Day:
    """The n-th calendar day after `after` that is not excluded."""
    remaining = n
    for first, last in _segments(after, excluded):
        size = last - first + 1
        if remaining <= size:
            return first + remaining - 1
        remaining -= size
    raise AssertionError("the last segment is open-ended")  # pragma: no cover


def add_months(start: date, months: int) -> date:
    """Same day of the month `months` later, or that month's last day when it is shorter."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, _gregorian.monthrange(year, month)[1]))


def calendar_day_count(limit: Limit, accepted_day: Day) -> int:
    """A calendar or month limit as a number of calendar days from the acceptance day."""
    if limit.unit is LimitUnit.DAYS:
        return limit.amount
    end = add_months(date_from_day(accepted_day), limit.amount)
    return day_from_date(end) - accepted_day


# -- the schedule ---------------------------------------------------------------------


def _due_index(
    clock: CaseClock, calendar: WorkCalendar, accepted_day: Day, excluded: list[tuple[Day, Day]]
) -> tuple[int, bool]:
    """(m, exact): the due day is the m-th counted working day; when not exact, m is a lower bound."""
    if clock.limit.unit is LimitUnit.WORKDAYS:
        return clock.limit.amount, True
    raw_due = nth_counted_day(accepted_day, excluded, calendar_day_count(clock.limit, accepted_day))
    try:
        return count_counted_workdays(calendar, accepted_day, excluded, raw_due - 1) + 1, True
    except CalendarGap as gap:
        before = count_counted_workdays(calendar, accepted_day, excluded, gap.day - 1)
        return before + 1, False


def _nth_each_counted(
    calendar: WorkCalendar, after: Day, excluded: list[tuple[Day, Day]], ns: list[int]
) -> tuple[list[Day], Day | None]:
    days: list[Day] = []
    for n in ns:
        try:
            days.append(nth_counted_workday(calendar, after, excluded, n))
        except CalendarGap as gap:
            return days, gap.day
    return days, None


def compute(clock: CaseClock, calendar: WorkCalendar, ladder: Ladder) -> Countdown:
    """The schedule of one case: when each stage begins, what is uncertain, on-time once done."""
    accepted_at = clock.accepted_at
    accepted_day = day_of(accepted_at)
    excluded = _excluded(clock, accepted_day) if clock.suspensions else []
    m, exact = _due_index(clock, calendar, accepted_day, excluded)
    offsets = ladder.offsets
    starts: list[Instant | None] = [None] * len(offsets)
    uncertain_from: Instant | None = None
    if exact:
        wanted = [m + o for o in offsets if m + o > 0]
        if excluded:
            days, gap = _nth_each_counted(calendar, accepted_day, excluded, wanted)
        else:
            days, gap = calendar.nth_each(accepted_day, wanted)
        found = iter(days)
        for i, offset in enumerate(offsets):
            if m + offset <= 0:
                starts[i] = accepted_at
            else:
                day = next(found, None)
                if day is None:
                    break
                starts[i] = midnight(day)
        if gap is not None:
            uncertain_from = midnight(gap)
    else:
        # Only a lower bound on the due index is known, so only a lower bound on
        # the first stage's start: the light is certain until then, uncertain after.
        first = m + offsets[0]
        try:
            uncertain_from = accepted_at if first <= 0 else midnight(
                nth_counted_workday(calendar, accepted_day, excluded, first))
        except CalendarGap as gap:
            uncertain_from = midnight(gap.day)
    open_suspension = clock.open_suspension
    frozen_since = open_suspension.start if open_suspension else None
    if frozen_since is not None:
        # Under an open suspension nothing after its start is scheduled yet.
        starts = [at if at is not None and at < frozen_since else None for at in starts]
        if uncertain_from is not None and uncertain_from >= frozen_since:
            uncertain_from = None
    red = starts[_RED]
    due_day = day_of(red) if red is not None else None
    if clock.completed_at is None:
        days_taken = calendar_days = on_time = None
    else:
        days_taken, calendar_days, on_time = _completion(
            clock, calendar, accepted_day, excluded, starts[_YELLOW_CARD], uncertain_from
        )
    return Countdown(
        clock, due_day, tuple(starts), uncertain_from, frozen_since, days_taken, calendar_days,
        on_time,
    )


_RED = LADDER.index(Stage.RED_LIGHT)
_YELLOW_CARD = LADDER.index(Stage.YELLOW_CARD)


def _completion(
    clock: CaseClock,
    calendar: WorkCalendar,
    accepted_day: Day,
    excluded: list[tuple[Day, Day]],
    late_from: Instant | None,
    uncertain_from: Instant | None,
) -> tuple[int | None, int | None, bool | None]:
    assert clock.completed_at is not None
    done_day = day_of(clock.completed_at)
    calendar_days = max(0, done_day - accepted_day)
    try:
        days_taken: int | None = count_counted_workdays(calendar, accepted_day, excluded, done_day)
    except CalendarGap:
        days_taken = None
    if late_from is not None:
        on_time: bool | None = clock.completed_at < late_from
    elif uncertain_from is not None:
        # The yellow card lies beyond the calendar, so it is later than the
        # first uncovered day: done before that day is certainly on time.
        on_time = True if clock.completed_at < uncertain_from else None
    else:
        # No yellow card is scheduled because the clock was stopped: on time.
        on_time = True
    return days_taken, calendar_days, on_time
