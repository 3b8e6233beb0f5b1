"""Event types of the cases domain: what approval systems and windows tell central about a case.

The same bodies are what central's HTTP API and its JSON Lines import accept,
so every door into the supervision records validates the same way. Instants
are ISO 8601; one without an offset is Asia/Shanghai wall time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from contract.authority import About
from contract.kinds import Author
from contract.registry import Body, event_type

CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,63}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{5,19}$"
_SHANGHAI = ZoneInfo("Asia/Shanghai")

CASE_AUTHORS = frozenset({Author.CALLER, Author.API_CLIENT})
"""Case facts enter from approval systems through central's API, and from a window's caller for
the cases of its hall and its logged-in officer's unit (docs/security.md)."""


def _shanghai_if_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=_SHANGHAI) if value.tzinfo is None else value


class _CaseBody(Body):
    case_id: str = Field(
        pattern=CASE_ID_PATTERN,
        description="the approval system's case number: the case's identity forever",
    )
    by: str = Field(
        min_length=1, max_length=80, description="who records this: officer or system id"
    )


class _TimedCaseBody(_CaseBody):
    at: datetime = Field(description="when it happened; without an offset, Asia/Shanghai")

    @field_validator("at")
    @classmethod
    def _zone(cls, value: datetime) -> datetime:
        return _shanghai_if_naive(value)


@event_type("case.accepted", authors=CASE_AUTHORS, about=About.UNIT_CASES, essential=True)
class CaseAccepted(_CaseBody):
    """A case as entered: the article's application information and acceptance information."""

    hall: str = Field(min_length=1, max_length=40, description="service hall id")
    unit: str = Field(min_length=1, max_length=80, description="the unit (department) handling it")
    window: str | None = Field(None, max_length=40)
    # application information (申请信息)
    matter: str = Field(min_length=1, max_length=120, description="matter applied for (申请事项)")
    project_category: str = Field("", max_length=80, description="项目类别")
    project_attribute: str = Field("", max_length=80, description="项目属性")
    contact_name: str = Field(min_length=1, max_length=60)
    contact_phone: str = Field(
        pattern=PHONE_PATTERN, description="stored apart from the log; masked everywhere"
    )
    # acceptance information (受理信息)
    officer_name: str = Field(
        min_length=1, max_length=60, description="first-responsible officer (首问负责人)"
    )
    officer_id: str | None = Field(None, max_length=40)
    officer_phone: str = Field(pattern=PHONE_PATTERN)
    applied_at: datetime = Field(description="application time")
    accepted_at: datetime = Field(description="acceptance time: the countdown starts here")
    limit: int = Field(ge=1, le=3650, description="statutory or committed limit (法定天数)")
    limit_unit: Literal["workdays", "days", "months"] = "workdays"

    @field_validator("applied_at", "accepted_at")
    @classmethod
    def _zone(cls, value: datetime) -> datetime:
        return _shanghai_if_naive(value)


@event_type("case.suspended", authors=CASE_AUTHORS, about=About.UNIT_CASES, essential=True)
class CaseSuspended(_TimedCaseBody):
    """The clock stops for a period the law excludes (hearing, expert review, testing...)."""

    reason: str = Field(min_length=1, max_length=40, description="one of the rule table's reasons")
    note: str = Field("", max_length=400)


@event_type("case.resumed", authors=CASE_AUTHORS, about=About.UNIT_CASES, essential=True)
class CaseResumed(_TimedCaseBody):
    """The clock runs again after a suspension."""


@event_type("case.completed", authors=CASE_AUTHORS, about=About.UNIT_CASES, essential=True)
class CaseCompleted(_TimedCaseBody):
    """The officer marks the case done (办结); the light runs until completion is confirmed."""


@event_type("case.completion_confirmed", authors=CASE_AUTHORS, about=About.UNIT_CASES, essential=True)
class CaseCompletionConfirmed(_TimedCaseBody):
    """Completion confirmed: the clock stops."""


@event_type("case.corrected", authors=CASE_AUTHORS, about=About.UNIT_CASES, essential=True)
class CaseCorrected(_CaseBody):
    """A correction of an earlier event of the case, naming it, its author and why."""

    corrects: int = Field(ge=1, description="log sequence number of the corrected event")
    changes: dict[str, Any] = Field(
        default_factory=dict, description="field -> corrected value, or {'void': true}"
    )
    reason: str = Field(min_length=2, max_length=400)


@event_type("case.decided", authors=CASE_AUTHORS, about=About.UNIT_CASES, essential=True)
class CaseDecided(_TimedCaseBody):
    """A discretionary decision in a case (自由裁量): an administrative penalty, a fee.

    The officer records the circumstance found and the amount (or outcome) decided; central
    checks it against the operator's table of standards (circumstance -> allowed range). A
    decision outside the range needs a written `reason`, and is raised as an anomaly.
    """

    matter: str = Field(min_length=1, max_length=80,
                        description="the discretionary matter, as the table of standards names it")
    circumstance: str = Field(min_length=1, max_length=80,
                              description="the circumstance recorded (情节), one of the matter's")
    amount: float | None = Field(None, ge=0, description="the amount decided (a fine, a fee), in the "
                                 "matter's unit; or give `outcome` (one of the two: central refuses both "
                                 "or neither)")
    outcome: str | None = Field(None, min_length=1, max_length=80,
                                description="the outcome decided (警告, 责令改正...), when not an amount")
    reason: str = Field("", max_length=400,
                        description="why; required when the decision is outside the standard's range")


@event_type("case.escalated", authors=Author.CENTRAL, about=About.ANY_CASE, essential=True)
class CaseEscalated(Body):
    """Issued by central, exactly once per case and kind: yellow card, red card, letter."""

    case_id: str
    kind: Literal["yellow_card", "red_card", "supervision_letter"]
    due_at: datetime = Field(description="the instant the rules put the escalation at")
    due_day: str | None = None
    unit: str
    officer_name: str
    late: bool = Field(
        False,
        description="issued well after `due_at`: it waited for facts that reached central late "
        "(a hall offline), or came with a history import, or the engine was not running",
    )


@event_type("case.reminder", authors=Author.CENTRAL, about=About.ANY_CASE, essential=True)
class CaseReminder(Body):
    """Issued by central to the first-responsible officer before a case turns red."""

    case_id: str
    kind: Literal["yellow_light", "unconfirmed_completion"]
    due_at: datetime = Field(description="the instant the reminder fell due")
    due_day: str | None = None
    unit: str
    officer_name: str
    late: bool = Field(False, description="issued well after `due_at` (see case.escalated)")
