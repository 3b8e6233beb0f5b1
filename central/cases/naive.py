"""The countdown rules done the obvious way, one day at a time: a baseline and a cross-check.

Nothing in the engine uses this. The benchmark measures it beside the table
lookups, and a test checks that both give the same lights on random cases;
it reads almost word for word like the rules in the issue, which is its point.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from central.cases.countdown import CaseClock, add_months
from central.cases.stages import LADDER, LimitUnit, Stage
from central.cases.timebase import Instant, date_from_day, day_of, midnight

IsWorkday = Callable[[date], bool]
"""Raises (LookupError, NotImplementedError) for a day no calendar covers."""


def _suspended_at_midnight(clock: CaseClock, day: int) -> bool:
    at = midnight(day)
    return any(h.end is not None and h.start <= at < h.end for h in clock.suspensions)


def naive_schedule(
    clock: CaseClock, is_workday: IsWorkday, offsets: tuple[int, ...]
) -> tuple[list[Instant | None], Instant | None]:
    """(start of each ladder stage, uncertain-from), walking day by day from acceptance."""
    accepted = day_of(clock.accepted_at)
    limit = clock.limit
    try:
        if limit.unit is LimitUnit.WORKDAYS:
            due_index = limit.amount
        else:
            calendar_days = limit.amount if limit.unit is LimitUnit.DAYS else (
                (add_months(date_from_day(accepted), limit.amount) - date_from_day(accepted)).days
            )
            day, counted = accepted, 0
            while counted < calendar_days:
                day += 1
                if not _suspended_at_midnight(clock, day):
                    counted += 1
            due_index, walk = 1, accepted + 1
            while walk < day:
                if is_workday(date_from_day(walk)) and not _suspended_at_midnight(clock, walk):
                    due_index += 1
                walk += 1
    except (LookupError, NotImplementedError):
        return [None] * len(offsets), None
    starts: list[Instant | None] = []
    day, k = accepted, 0
    for offset in offsets:
        target = due_index + offset
        if target <= 0:
            starts.append(clock.accepted_at)
            continue
        while k < target:
            day += 1
            try:
                working = is_workday(date_from_day(day))
            except (LookupError, NotImplementedError):
                return starts + [None] * (len(offsets) - len(starts)), midnight(day)
            if working and not _suspended_at_midnight(clock, day):
                k += 1
        starts.append(midnight(day))
    return starts, None


def naive_stage_at(clock: CaseClock, is_workday: IsWorkday, offsets: tuple[int, ...],
                   instant: Instant) -> Stage:
    """The light at `instant`, by the rules, without tables."""
    if clock.confirmed_at is not None and instant >= clock.confirmed_at:
        return Stage.COMPLETED
    if any(h.start <= instant and (h.end is None or instant < h.end) for h in clock.suspensions):
        return Stage.SUSPENDED
    starts, uncertain_from = naive_schedule(clock, is_workday, offsets)
    if uncertain_from is not None and instant >= uncertain_from:
        return Stage.UNCERTAIN
    stage = Stage.BLUE
    for ladder_stage, at in zip(LADDER, starts, strict=True):
        if at is not None and at <= instant:
            stage = ladder_stage
    return stage


def naive_next_change(clock: CaseClock, is_workday: IsWorkday, offsets: tuple[int, ...],
                      instant: Instant) -> Instant | None:
    """The next stage start after `instant` (open, unsuspended cases)."""
    starts, uncertain_from = naive_schedule(clock, is_workday, offsets)
    later = [at for at in [*starts, uncertain_from] if at is not None and at > instant]
    return min(later) if later else None
