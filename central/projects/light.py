"""A major project's light: its own countdown on top of its cases', and the case that holds it back. Pure.

A project (重大项目) has a committed overall limit from its start; its own
light runs on that limit like a case's, and stops when every case of it is
confirmed done. Its overall light is the worse of its own and its slowest
case's: the case showing the worst light (on a tie, the one due first), so a
project never looks better than any of its cases.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from central.cases.calendar import WorkCalendar
from central.cases.countdown import CaseClock, compute
from central.cases.rules import Ladder
from central.cases.stages import Limit
from central.cases.timebase import Day, Instant

SEVERITY = {"completed": 0, "suspended": 1, "blue": 2, "uncertain": 3, "yellow_light": 4, "red_light": 5,
            "yellow_card": 6, "red_card": 7, "supervision_letter": 8}
"""The order the big screen sorts lights in (`central.web.labels`), worst last."""
_FAR = 1 << 40


@dataclass(frozen=True)
class MemberCase:
    """A case of the project as the countdown last judged it."""

    case_id: str
    hall: str
    unit: str
    matter: str
    officer: str
    stage: str
    due_day: Day | None
    accepted_at: Instant
    completed_at: Instant | None
    confirmed_at: Instant | None


@dataclass(frozen=True)
class ProjectLight:
    stage: str
    """The overall light: the worse of the project's own and its slowest case's."""
    own_stage: str
    own_due_day: Day | None
    slowest: MemberCase | None
    counts: dict[str, int]
    """Cases per light."""
    started_at: Instant | None


def severity(stage: str) -> int:
    return SEVERITY.get(stage, SEVERITY["uncertain"])


def slowest_case(members: list[MemberCase]) -> MemberCase | None:
    """The open case with the worst light (due first on a tie); when all are done, the last done."""
    running = [m for m in members if m.stage != "completed"]
    if running:
        return max(running, key=lambda m: (severity(m.stage), -(m.due_day if m.due_day is not None else _FAR),
                                           m.case_id))
    return max(members, key=lambda m: (m.completed_at or 0, m.case_id)) if members else None


def project_light(members: list[MemberCase], limit: Limit, started_at: Instant | None, now: Instant,
                  calendar: WorkCalendar, ladder: Ladder) -> ProjectLight:
    start = started_at if started_at is not None else min((m.accepted_at for m in members), default=None)
    counts = dict(Counter(m.stage for m in members))
    slowest = slowest_case(members)
    if start is None:  # no case yet and no start given: nothing runs
        return ProjectLight("blue", "blue", None, None, counts, None)
    all_done = bool(members) and all(m.stage == "completed" for m in members)
    completed = [m.completed_at for m in members]
    confirmed = [m.confirmed_at for m in members]
    clock = CaseClock(
        start, limit, (),
        max(c for c in completed if c is not None) if all_done and None not in completed else None,
        max(c for c in confirmed if c is not None) if all_done and None not in confirmed else None)
    own = compute(clock, calendar, ladder)
    own_stage = own.stage_at(max(now, start)).value
    stage = own_stage
    if slowest is not None and severity(slowest.stage) > severity(stage):
        stage = slowest.stage
    return ProjectLight(stage, own_stage, own.due_day, slowest, counts, start)
