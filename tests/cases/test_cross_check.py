"""The table-driven countdown agrees with the day-by-day reading of the rules on random cases.

The hand-written table is the specification; this only widens the net: the
two implementations share nothing but the calendar data.
"""

from __future__ import annotations

import random

from central.cases.batch import evaluate
from central.cases.calendar import load_calendar
from central.cases.countdown import CaseClock, Suspension, compute
from central.cases.naive import naive_stage_at
from central.cases.projection import suspensions_to_json
from central.cases.rules import Ladder
from central.cases.stages import Limit, LimitUnit
from central.cases.timebase import day_from_date, midnight, parse_instant

CALENDAR = load_calendar()
LADDER = Ladder()


def is_workday(value):  # type: ignore[no-untyped-def]
    return CALENDAR.is_workday(day_from_date(value))


def random_clock(rng: random.Random) -> CaseClock:
    # Within 2025-2026: weekends, every 2026 holiday and make-up day, no calendar gap.
    accepted = parse_instant("2025-06-01T00:00") + rng.randrange(0, 480 * 86400)
    unit = rng.choice([LimitUnit.WORKDAYS] * 4 + [LimitUnit.DAYS, LimitUnit.MONTHS])
    amount = rng.randint(1, 3) if unit is LimitUnit.MONTHS else rng.randint(1, 25)
    holds = []
    start = accepted
    for _ in range(rng.choice([0, 0, 1, 2])):
        start += rng.randrange(0, 10 * 86400)
        end = start + rng.randrange(0, 6 * 86400)
        if rng.random() < 0.3:
            start, end = midnight((start + 28800) // 86400), midnight((end + 28800) // 86400)
        holds.append(Suspension(start, end))
        start = end
    return CaseClock(accepted, Limit(amount, unit), tuple(holds))


def test_table_lookups_and_the_day_by_day_walk_agree_on_random_cases() -> None:
    rng = random.Random(20261123)
    for _ in range(500):
        clock = random_clock(rng)
        countdown = compute(clock, CALENDAR, LADDER)
        for _ in range(5):
            instant = clock.accepted_at + rng.randrange(0, 120 * 86400)
            assert countdown.stage_at(instant) == naive_stage_at(
                clock, is_workday, LADDER.offsets, instant), (clock, instant)


def test_batch_evaluation_agrees_with_compute() -> None:
    rng = random.Random(7)
    now = parse_instant("2026-11-26T10:00")
    clocks = [random_clock(rng) for _ in range(500)]
    clocks += [CaseClock(now - rng.randrange(0, 40 * 86400), Limit(rng.randint(1, 20)))
               for _ in range(500)]
    # Calendar-day and month limits reaching into 2027 (uncovered) and not.
    clocks += [CaseClock(now - rng.randrange(0, 90 * 86400),
                     Limit(rng.randint(1, 2), LimitUnit.MONTHS) if rng.random() < 0.5
                     else Limit(rng.randint(1, 60), LimitUnit.DAYS))
               for _ in range(500)]
    rows = [(c.accepted_at, c.limit.amount, c.limit.unit.value, suspensions_to_json(c), None, None)
            for c in clocks]
    for clock, (stage, next_at) in zip(clocks, evaluate(rows, CALENDAR, LADDER, now),
                                       strict=True):
        countdown = compute(clock, CALENDAR, LADDER)
        assert (stage, next_at) == (countdown.stage_at(now), countdown.next_change_after(now))
