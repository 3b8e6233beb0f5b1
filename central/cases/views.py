"""What callers read about cases: typed, JSON-ready, personal data masked by the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from central.cases.stages import Stage


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class StageTimes(View):
    """When each stage of the ladder begins; None when not known (uncertain or frozen)."""

    yellow_light: datetime | None
    red_light: datetime | None
    yellow_card: datetime | None
    red_card: datetime | None
    supervision_letter: datetime | None


class CaseLight(View):
    """One row of the big screen: a case and its light."""

    case_id: str
    hall: str
    unit: str
    matter: str
    officer_name: str
    stage: Stage
    due_day: str | None
    accepted_at: datetime
    next_change_at: datetime | None
    awaiting_confirmation: bool = Field(description="marked done, completion not confirmed")


class HoldView(View):
    seq: int
    reason: str
    note: str
    start: datetime
    end: datetime | None


class DecisionView(View):
    """A discretionary decision (`case.decided`); its written reason is in the case's history."""

    seq: int
    at: datetime
    matter: str
    circumstance: str
    amount: float | None
    outcome: str | None
    within: bool = Field(description="within its circumstance's range when it was recorded")


class CaseView(View):
    """A case's record as a person may see it: application, acceptance, countdown."""

    case_id: str
    hall: str
    unit: str
    window: str | None
    matter: str
    project_category: str
    project_attribute: str
    contact_name: str = Field(description="masked: the first character only (张*)")
    contact_phone: str = Field(description="masked (138****1234)")
    officer_name: str
    officer_id: str | None
    officer_phone: str = Field(description="masked")
    applied_at: datetime
    accepted_at: datetime
    limit: int
    limit_unit: str
    stage: Stage
    frozen_stage: Stage | None
    due_day: str | None
    stages: StageTimes
    uncertain_from: datetime | None
    holds: list[HoldView]
    completed_at: datetime | None
    confirmed_at: datetime | None
    awaiting_confirmation: bool
    days_taken: int | None = Field(description="counted working days to completion (办结天数)")
    calendar_days_taken: int | None
    on_time: bool | None
    issued: list[str] = Field(description="escalations and reminders issued, by kind")
    corrections: list[int] = Field(description="log seq of each correction")
    warnings: list[str]
    source: str = Field(
        "", description="whose facts the case waits for: '' (stated as they happen), "
        "hall:<hall>, api:<client>")
    decisions: list[DecisionView] = Field(
        default_factory=list, description="discretionary decisions (自由裁量), in the order recorded")
    data_incomplete_since: datetime | None = Field(
        None, description="set while the case's source is behind: its facts are known only up "
        "to here, and the light is as of then")


class LoggedEvent(View):
    """A record of the case log, as stored, with the personal data in its body masked."""

    seq: int
    case_id: str | None
    kind: str
    at: datetime | None
    recorded_at: datetime
    actor: str
    body: dict[str, Any]
    hash: str


class Recorded(View):
    """The answer to an entry: what was stored (or found already stored) and what to look at."""

    case_id: str
    seq: int | None = Field(description="log seq of the new record; None for a duplicate")
    duplicate: bool = False
    stage: Stage
    warnings: list[str] = Field(default_factory=list)
    issued: list[str] = Field(default_factory=list, description="escalations issued at once")
