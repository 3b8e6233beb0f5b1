"""A case's progress in the plain words the public site and citizens use. Pure.

Citizens see where their case is (受理 / 办理中 / 暂停计时 and why / 已办结) and
by when it is due, never the supervision's lights and cards, which speak about
the officers rather than to the applicant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from central.cases.stages import Stage
from central.cases.views import CaseView
from central.sms.planning import LIMIT_UNITS, SHANGHAI, SUSPENSION_REASONS, day_text


@dataclass(frozen=True)
class Step:
    day: str
    what: str


@dataclass(frozen=True)
class Progress:
    """What the progress page says about one case."""

    case_id: str
    matter: str
    unit: str
    hall: str
    stage: str
    reason: str | None
    limit: str
    accepted_day: str
    due_day: str | None
    steps: list[Step]


def progress_of(view: CaseView, hall_name: str, today: date) -> Progress:
    """The citizen's view of a case record (already masked by the store: nothing personal is read)."""
    steps = [Step(day_text(view.accepted_at), "受理")]
    for hold in view.holds:
        steps.append(Step(day_text(hold.start), f"暂停计时（{_reason(hold.reason)}）"))
        if hold.end is not None:
            steps.append(Step(day_text(hold.end), "恢复办理，时限继续计算"))
    if view.completed_at is not None:
        steps.append(Step(day_text(view.completed_at), "办结"))
    stage, reason = _stage(view, today)
    return Progress(
        case_id=view.case_id, matter=view.matter, unit=view.unit, hall=hall_name, stage=stage,
        reason=reason, limit=f"{view.limit}{LIMIT_UNITS.get(view.limit_unit, '')}",
        accepted_day=day_text(view.accepted_at),
        due_day=day_text(view.due_day) if view.due_day else None, steps=steps)


def _stage(view: CaseView, today: date) -> tuple[str, str | None]:
    if view.completed_at is not None:
        return "已办结", None
    open_hold = next((hold for hold in view.holds if hold.end is None), None)
    if view.stage is Stage.SUSPENDED or open_hold is not None:
        return "暂停计时", _reason(open_hold.reason) if open_hold is not None else None
    if _local_day(view.accepted_at) == today and not view.holds:
        return "已受理", None
    return "办理中", None


def _reason(code: str) -> str:
    return SUSPENSION_REASONS.get(code, code)


def _local_day(value: datetime) -> date:
    return (value.astimezone(SHANGHAI) if value.tzinfo else value).date()
