"""The operator's deadline calculator: the same countdown the engine runs, for one hypothetical case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from central.cases.calendar import WorkCalendar
from central.cases.countdown import CaseClock, Countdown, Suspension, compute
from central.cases.rules import Ladder
from central.cases.stages import LADDER, Limit, LimitUnit, Stage
from central.cases.timebase import (
    Instant,
    date_from_day,
    datetime_from_instant,
    format_day,
    format_instant,
    parse_instant,
)

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_hold(text: str) -> Suspension:
    """`FROM..TO` (TO may be left out for a suspension still on)."""
    start, sep, end = text.partition("..")
    if not sep:
        raise ValueError(f"{text!r}: write a suspension as FROM..TO, or FROM.. while still on")
    hold = Suspension(parse_instant(start), parse_instant(end) if end.strip() else None)
    if hold.end is not None and hold.end < hold.start:
        raise ValueError(f"{text!r}: the suspension ends before it starts; write FROM..TO, "
                         "the earlier instant first")
    if hold.end == hold.start:
        raise ValueError(f"{text!r}: the suspension is empty (it ends as it starts); a whole day "
                         "is DAY..NEXT-DAY, e.g. 2026-11-26..2026-11-27")
    return hold


@dataclass(frozen=True)
class Answer:
    """When a case is due and when each stage begins, plus its stage at one instant."""

    countdown: Countdown
    at: Instant

    @property
    def stage(self) -> Stage:
        return self.countdown.stage_at(self.at)

    def as_dict(self) -> dict[str, Any]:
        c = self.countdown
        clock = c.clock
        return {
            "accepted_at": format_instant(clock.accepted_at),
            "limit": clock.limit.amount,
            "unit": clock.limit.unit.value,
            "suspensions": [
                {"from": format_instant(h.start),
                 "to": format_instant(h.end) if h.end is not None else None}
                for h in clock.suspensions
            ],
            "due_day": format_day(c.due_day) if c.due_day is not None else None,
            "stages": {
                Stage.BLUE.value: format_instant(clock.accepted_at),
                **{s.value: _maybe(c.step(s)) for s in LADDER},
            },
            "uncertain_from": _maybe(c.uncertain_from),
            "frozen_since": _maybe(c.frozen_since),
            "at": format_instant(self.at),
            "stage_at": self.stage.value,
        }

    def lines(self) -> list[str]:
        c = self.countdown
        clock = c.clock
        out = [f"accepted      {_human(clock.accepted_at)}", f"limit         {clock.limit}"]
        for hold in clock.suspensions:
            end = _human(hold.end) if hold.end is not None else "(still suspended)"
            out.append(f"suspended     {_human(hold.start)} .. {end}")
        due = (f"{format_day(c.due_day)} ({_WEEKDAYS[date_from_day(c.due_day).weekday()]})"
               if c.due_day is not None else "uncertain" if c.uncertain_from else "not known")
        out.append(f"due day       {due}")
        out.append(f"  {'blue':<20}from {_human(clock.accepted_at)}")
        for stage in LADDER:
            at = c.step(stage)
            when = _human(at) if at is not None else (
                "uncertain: the calendar does not cover it" if c.uncertain_from is not None
                else "not scheduled while suspended")
            out.append(f"  {stage.value:<20}from {when}")
        if c.uncertain_from is not None:
            out.append(f"uncertain     from {_human(c.uncertain_from)} "
                       "(add that year's schedule file)")
        out.append(f"at {_human(self.at)}: {self.stage.value}")
        return out


def calculate(
    accepted_at: Instant,
    limit: int,
    unit: LimitUnit,
    holds: tuple[Suspension, ...],
    at: Instant,
    calendar: WorkCalendar,
    ladder: Ladder,
) -> Answer:
    clock = CaseClock(accepted_at, Limit(limit, unit), tuple(sorted(holds, key=lambda h: h.start)))
    return Answer(compute(clock, calendar, ladder), at)


def _maybe(instant: Instant | None) -> str | None:
    return format_instant(instant) if instant is not None else None


def _human(instant: Instant) -> str:
    value = datetime_from_instant(instant)
    return f"{value.strftime('%Y-%m-%d %H:%M')} ({_WEEKDAYS[value.weekday()]})"
