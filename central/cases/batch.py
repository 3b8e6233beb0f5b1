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
from central.cases.countdown import compute
from central.cases.projection import clock_from_row
from central.cases.rules import Ladder
from central.cases.stages import LADDER, Stage
from central.cases.timebase import Instant

_OFFSET = 8 * 3600
_DAY = 86400


def evaluate(
    rows: Iterable[tuple[Any, ...]], calendar: WorkCalendar, ladder: Ladder, now: Instant
) -> Iterator[tuple[Stage, Instant | None]]:
    """For each (accepted_at, amount, unit, holds, completed_at, confirmed_at): (stage, next change)."""
    lo, rank, unknown, workdays = calendar.tables()
    n_rank, n_work = len(rank), len(workdays)
    offsets = ladder.offsets
    ladder_stages = LADDER
    blue, uncertain = Stage.BLUE, Stage.UNCERTAIN
    for row in rows:
        accepted_at, amount, unit, holds, _completed, confirmed = row
        i = (accepted_at + _OFFSET) // _DAY + 1 - lo
        if unit != "workdays" or holds or confirmed is not None or not 0 <= i < n_rank:
            countdown = compute(clock_from_row(row), calendar, ladder)
            yield countdown.stage_at(now), countdown.next_change_after(now)
            continue
        base = rank[i] - 1
        unknown_base = unknown[i]
        stage = blue
        next_at: Instant | None = None
        for offset, ladder_stage in zip(offsets, ladder_stages, strict=True):
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
