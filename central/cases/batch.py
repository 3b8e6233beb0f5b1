"""Evaluating many cases at once: the light and next transition of each, for a cold start.

The common case (a working-day limit, never suspended, not closed) is
inlined here as prefix-table arithmetic on plain integers; anything else goes
through `countdown.compute`. The result is the same either way (a test checks
them against each other on random cases); this is only faster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from central.cases.calendar import WorkCalendar
from central.cases.countdown import calendar_day_count, compute
from central.cases.projection import clock_from_row
from central.cases.rules import Ladder
from central.cases.stages import LADDER, Limit, LimitUnit, Stage
from central.cases.timebase import Instant

_OFFSET = 8 * 3600
_DAY = 86400


def evaluate(
    rows: Iterable[tuple[Any, ...]], calendar: WorkCalendar, ladder: Ladder, now: Instant
) -> Iterator[tuple[Stage, Instant | None]]:
    """For each (accepted_at, amount, unit, holds, completed_at, confirmed_at): (stage, next change)."""
    lo, rank, unknown, workdays = calendar.tables()
    n_rank, n_work = len(rank), len(workdays)
    ladder_pairs = list(zip(ladder.offsets, LADDER, strict=True))
    blue, uncertain = Stage.BLUE, Stage.UNCERTAIN
    for row in rows:
        accepted_at, amount, unit, holds, _completed, confirmed = row
        accepted_day = (accepted_at + _OFFSET) // _DAY
        i = accepted_day + 1 - lo
        if holds or confirmed is not None or not 0 <= i < n_rank:
            yield _slow(row, calendar, ladder, now)
            continue
        if unit != "workdays":
            # Calendar days or months, never suspended: D0 is plain date
            # arithmetic and the due index m = k(D0 - 1) + 1 (see countdown).
            raw_due = accepted_day + calendar_day_count(Limit(amount, LimitUnit(unit)),
                                                        accepted_day)
            j = raw_due - lo
            if not 0 < j < n_rank or unknown[j] != unknown[i]:
                yield _lower_bound(accepted_at, accepted_day, i, calendar, ladder_pairs[0][0],
                                   now)
                continue
            amount = rank[j] - rank[i] + 1
        base = rank[i] - 1
        unknown_base = unknown[i]
        stage = blue
        next_at: Instant | None = None
        for offset, ladder_stage in ladder_pairs:
            n = amount + offset
            if n <= 0:
                start = accepted_at
            else:
                j = base + n
                if j >= n_work or unknown[workdays[j] + 1 - lo] != unknown_base:
                    # The calendar runs out: uncertain from its first uncovered day.
                    gap = calendar.first_unknown_after(i - 1 + lo)
                    gap_at = gap * _DAY - _OFFSET
                    if now >= gap_at:
                        stage = uncertain
                    elif next_at is None:
                        next_at = gap_at
                    break
                start = workdays[j] * _DAY - _OFFSET
            if start <= now:
                stage = ladder_stage
            else:
                next_at = start
                break
        yield stage, next_at


def _slow(row: tuple[Any, ...], calendar: WorkCalendar, ladder: Ladder,
          now: Instant) -> tuple[Stage, Instant | None]:
    countdown = compute(clock_from_row(row), calendar, ladder)
    return countdown.stage_at(now), countdown.next_change_after(now)


def _lower_bound(accepted_at: Instant, accepted_day: int, i: int, calendar: WorkCalendar,
                 first_offset: int, now: Instant) -> tuple[Stage, Instant | None]:
    """A calendar/month limit whose due day lies past the calendar: blue, then uncertain.

    As in `countdown.compute`: only a lower bound of the due index is known
    (the working days before the first uncovered day, plus one), so only a
    lower bound of the first stage's start, from which the light is uncertain.
    """
    lo, rank, _unknown, workdays = calendar.tables()
    gap = calendar.first_unknown_after(accepted_day)
    due_index = rank[min(gap - lo, len(rank) - 1)] - rank[i] + 1
    first = due_index + first_offset
    if first <= 0:
        uncertain_from = accepted_at
    else:
        j = rank[i] - 1 + first
        day = min(workdays[j], gap) if j < len(workdays) else gap
        uncertain_from = day * _DAY - _OFFSET
    if now >= uncertain_from:
        return Stage.UNCERTAIN, None
    return Stage.BLUE, uncertain_from
