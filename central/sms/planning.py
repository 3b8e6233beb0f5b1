"""What is sent for a fact: a pure mapping from (event type, body) to zero or more notices.

No I/O, no clock, no phone book: a notice names the recipient's role and the
template and values; the phone number comes from the fact when it carries one,
otherwise the caller's phone book resolves it (see `notifier.PhoneBook`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from central.sms.facts import BookingNotice, ComplaintNotice, RatingFollowUpNotice
from contract.events.cases import (
    CaseAccepted,
    CaseCompleted,
    CaseReminder,
    CaseResumed,
    CaseSuspended,
)
from contract.events.rating import GRADE_LABELS, Grade

SHANGHAI = ZoneInfo("Asia/Shanghai")
Planner = Callable[[Mapping[str, Any], "str | None"], "list[Notice]"]


class Recipient(StrEnum):
    """Whose phone a notice goes to."""

    CITIZEN = "citizen"  # the applicant, complainant or booker
    OFFICER = "officer"  # the case's first-responsible officer (首问负责人)
    UNIT = "unit"  # the department answerable for a rating's rectification


@dataclass(frozen=True)
class Notice:
    """One message a fact calls for, before a number and a text are attached."""

    recipient: Recipient
    template: str
    values: Mapping[str, str]
    subject: str = ""
    """What the phone book looks the number up by: case id, complaint number, booking code, unit."""
    phone: str | None = field(default=None, repr=False)


LIMIT_UNITS = {"workdays": "个工作日", "days": "天", "months": "个月"}
SUSPENSION_REASONS = {
    "hearing": "听证",
    "expert_review": "专家评审",
    "inspection": "现场核查",
    "testing": "检验检测",
    "appraisal": "鉴定",
    "quarantine": "检疫",
    "tendering": "招标",
    "auction": "拍卖",
    "public_notice": "公示",
    "supplement_materials": "补正材料",
}


def day_text(value: str | date | datetime) -> str:
    """2026-11-30 -> 2026年11月30日, the way a notice names a day."""
    if isinstance(value, datetime):
        value = (value.astimezone(SHANGHAI) if value.tzinfo else value).date()
    elif isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.year}年{value.month}月{value.day}日"


def plan(fact_type: str, body: Mapping[str, Any], *, due_day: str | None = None) -> list[Notice]:
    """The notices a fact calls for; an unknown or silent fact gives none.

    `due_day` (YYYY-MM-DD) is the case's due day for `case.accepted`: the
    countdown knows it, the acceptance fact does not carry it. Bodies are
    validated with their models, so a malformed fact raises pydantic's error.
    """
    planner = _PLANNERS.get(fact_type)
    return planner(body, due_day) if planner else []


def _accepted(body: Mapping[str, Any], due_day: str | None) -> list[Notice]:
    case = CaseAccepted.model_validate(body)
    values = {
        "case_id": case.case_id,
        "matter": case.matter,
        "limit": str(case.limit),
        "limit_unit": LIMIT_UNITS[case.limit_unit],
        "accepted_day": day_text(case.accepted_at),
    }
    template = "case.accepted_no_due"
    if due_day is not None:
        values["due_day"] = day_text(due_day)
        template = "case.accepted"
    return [Notice(Recipient.CITIZEN, template, values, case.case_id, case.contact_phone)]


def _suspended(body: Mapping[str, Any], _: str | None) -> list[Notice]:
    fact = CaseSuspended.model_validate(body)
    values = {"case_id": fact.case_id, "day": day_text(fact.at),
              "reason": SUSPENSION_REASONS.get(fact.reason, fact.reason)}
    return [Notice(Recipient.CITIZEN, "case.suspended", values, fact.case_id)]


def _resumed(body: Mapping[str, Any], _: str | None) -> list[Notice]:
    fact = CaseResumed.model_validate(body)
    values = {"case_id": fact.case_id, "day": day_text(fact.at)}
    return [Notice(Recipient.CITIZEN, "case.resumed", values, fact.case_id)]


def _completed(body: Mapping[str, Any], _: str | None) -> list[Notice]:
    fact = CaseCompleted.model_validate(body)
    values = {"case_id": fact.case_id, "day": day_text(fact.at)}
    return [Notice(Recipient.CITIZEN, "case.completed", values, fact.case_id)]


def _reminder(body: Mapping[str, Any], _: str | None) -> list[Notice]:
    fact = CaseReminder.model_validate(body)
    values = {"case_id": fact.case_id, "officer_name": fact.officer_name, "unit": fact.unit,
              "due_day": day_text(fact.due_day or fact.due_at)}
    template = {"yellow_light": "case.reminder.yellow_light",
                "unconfirmed_completion": "case.reminder.unconfirmed_completion"}[fact.kind]
    return [Notice(Recipient.OFFICER, template, values, fact.case_id)]


def _complaint(template: str) -> Planner:
    def planner(body: Mapping[str, Any], _: str | None) -> list[Notice]:
        fact = ComplaintNotice.model_validate(body)
        values = {"complaint": fact.complaint}
        if template == "complaint.received":
            if fact.due_day is None:
                return [Notice(Recipient.CITIZEN, "complaint.received_no_due", values,
                               fact.complaint, fact.phone)]
            values["due_day"] = day_text(fact.due_day)
        return [Notice(Recipient.CITIZEN, template, values, fact.complaint, fact.phone)]
    return planner


def _booking(template: str) -> Planner:
    def planner(body: Mapping[str, Any], _: str | None) -> list[Notice]:
        fact = BookingNotice.model_validate(body)
        values = {"code": fact.code, "matter": fact.matter, "day": day_text(fact.day), "time": fact.time,
                  "hall_name": fact.hall_name, "reason": fact.reason}
        return [Notice(Recipient.CITIZEN, template, values, fact.code, fact.phone)]
    return planner


def _followup(body: Mapping[str, Any], _: str | None) -> list[Notice]:
    fact = RatingFollowUpNotice.model_validate(body)
    values = {"unit": fact.unit, "window": fact.window or "", "due_day": day_text(fact.due_day),
              "grade": GRADE_LABELS[Grade(fact.grade)]}
    return [Notice(Recipient.UNIT, "rating.followup", values, fact.unit, fact.phone)]


_PLANNERS: dict[str, Planner] = {
    "case.accepted": _accepted,
    "case.suspended": _suspended,
    "case.resumed": _resumed,
    "case.completed": _completed,
    "case.reminder": _reminder,
    "complaint.received": _complaint("complaint.received"),
    "complaint.answered": _complaint("complaint.answered"),
    "booking.confirmed": _booking("booking.confirmed"),
    "booking.cancelled": _booking("booking.cancelled"),
    "rating.followup_opened": _followup,
}
SPOKEN_FACTS = frozenset(_PLANNERS)
"""The fact types that may produce an SMS; the rest are silent."""
