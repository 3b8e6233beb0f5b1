"""The API's documented shapes (they make the OpenAPI document the contract tests check)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["online", "phone", "hall", "letter", "weibo"]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- the case records' door ----------------------------------------------------------------


class Problems(BaseModel):
    """Why an entry was refused: every problem at once."""

    detail: list[str]


class EntryCheck(BaseModel):
    """What an entry form should show before storing: warnings (and schema problems)."""

    warnings: list[str]


class ImportResult(BaseModel):
    stored: int
    duplicates: int
    warned: int
    rejected: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, description="stored lines with warnings: {line, problems}")
    at: str | None = Field(None, description="the instant every case was judged as of, at the end")
    judged: int = Field(0, description="cases the closing tick judged")
    issued: int = Field(0, description="escalations and reminders it issued")


class VerifyResult(BaseModel):
    """What every hash-chain check answers (`/api/log/verify`, `/api/complaints/verify`)."""

    ok: bool
    checked: int = Field(description="records found sound, from the first")
    head: dict[str, Any] = Field(description="{seq, hash} of the last sound record")
    first_bad: int | None = Field(description="the first record that does not verify")
    problem: str | None = Field(description="what is wrong with it, in words")


class DeadlineAnswer(BaseModel):
    accepted_at: str
    limit: int
    unit: str
    suspensions: list[dict[str, str | None]]
    due_day: str | None
    stages: dict[str, str | None]
    uncertain_from: str | None
    frozen_since: str | None
    at: str
    stage_at: str


CASE_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such case"},
    409: {"description": "the case id is taken by a different case"},
    422: {"model": Problems, "description": "refused: schema, rule or (strict) warnings"},
}


class CaseOut(Out):
    """A case as screens show it: personal data masked."""

    case_id: str
    hall: str
    unit: str
    window: str | None = None
    matter: str
    project_category: str = ""
    project_attribute: str = ""
    contact_name: str = Field(description="masked: the first character only (张*, 张**)")
    contact_phone: str = Field(description="masked: 138****1234")
    officer_name: str = Field(description="the first-responsible officer (首问负责人)")
    officer_phone: str = Field(description="masked")
    applied_at: str | None = None
    accepted_at: str
    limit: int
    limit_unit: str
    due: str | None = Field(None, description="the due day (the red-light day); null if uncertain")
    stage: str = Field(description="blue, yellow_light, red_light, yellow_card, red_card, "
                       "supervision_letter, suspended, completed or uncertain")
    stage_label: str = Field(description="the stage in Chinese, as the big screen shows it")
    completed_at: str | None = None
    days_taken: int | None = None
    on_time: bool | None = None


class CasePage(Out):
    total: int
    cases: list[CaseOut]


class CaseHistoryOut(Out):
    case: CaseOut
    events: list[dict[str, Any]]
    verified: bool = Field(description="the case's records check out against the hash chain")
    problem: str | None = Field(None, description="what verification found, if anything")


class FalseAlarms(Out):
    """Of a row's cards and letters, those the case's record as corrected no longer reaches."""

    yellow_cards: int = 0
    red_cards: int = 0
    letters: int = 0


class StatisticsRow(Out):
    key: str | None = Field(None, description="the hall, unit, window (hall/window), matter, officer "
                                              "or period (2026-12-01, 2026-12, 2026); null for the total")
    received: int
    completed: int
    on_time: int
    on_time_rate: float | None
    yellow_cards: int
    red_cards: int
    letters: int
    false_alarms: FalseAlarms = Field(
        default_factory=FalseAlarms,
        description="of the cards and letters, those issued before a correction moved the case's "
                    "dates so that it no longer reaches them; still counted above (issued stays issued)")


class HealthOut(Out):
    component: str
    state: str
    detail: str | None
    at: int


class DeviceOut(Out):
    device: str
    kind: str | None
    online: bool
    since: int | None = Field(description="ms since the epoch of its last online/offline change")
    last_seen: int | None
    reason: str | None
    dropped: int = Field(description="events its outbox dropped for space (reported, never silent)")
    skew_ms: int | None
    skewed: bool
    health: list[HealthOut]
    refused: int = Field(0, description="its facts refused as beyond its authority (security alarms)")
    quarantined: bool = Field(False, description="its gateway refuses all it sends until a technician "
                              "releases it ('hall gateway release')")


class AlarmOut(Out):
    """A fact refused because its author may not state it: where, whose, what and why."""

    at: int = Field(description="ms since the epoch")
    refused_by: str = Field(description="gateway, central or api")
    hall: str | None
    device: str | None = Field(description="the device, gateway or API user that stated it")
    kind: str | None
    type: str | None = Field(description="the event type; null: a whole batch")
    reason: str
    quarantined: bool


class HallOut(Out):
    hall: str
    name: str
    gateway_online: bool | None
    gateway_last_seen: int | None
    gateway_reason: str | None
    devices_online: int
    devices: list[DeviceOut]
    ingest: dict[str, int]
    dead_letters_at_central: int
    refused_at_gateway: int
    forward_backlog: int | None
    refused_at_central: int = Field(0, description="forwarded facts central refused as beyond their "
                                    "author's authority")
    alarms: list[AlarmOut] = Field(default_factory=list, description="the hall's latest security alarms")
    data_complete_until: int | None = Field(
        None, description="the hall's facts are known up to here (ms): its watermark")
    data_incomplete_since: int | None = Field(
        None, description="set while the hall is behind (ms): its cases are judged only up to "
        "here, and escalations wait for its data")
    queue_today: dict[str, Any] | None = None
    ratings_today: dict[str, Any] | None = None


class ComplaintIn(BaseModel):
    """A complaint as accepted (统一受理): about a visit, named by its ticket or by window and time."""

    model_config = ConfigDict(extra="forbid")

    hall: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    summary: str = Field(min_length=2, max_length=2000)
    channel: Channel = "online"
    complainant: str | None = Field(None, max_length=60)
    phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 -]{5,19}$",
                              description="kept for the answer; shown masked")
    ticket: str | None = Field(None, pattern=r"^[A-Z]{1,2}\d{1,6}$", description="the served ticket")
    window: str | None = Field(None, min_length=1, max_length=16)
    visit_time: datetime | None = Field(None, description="when the visit was; naive = Asia/Shanghai")
    officer: str | None = Field(None, max_length=60)
    unit: str | None = Field(None, max_length=80, description="the unit to handle it, if known")


class VisitIn(BaseModel):
    """The visit of a complaint accepted without one: its ticket, or its window and time."""

    model_config = ConfigDict(extra="forbid")
    ticket: str | None = Field(None, pattern=r"^[A-Z]{1,2}\d{1,6}$")
    window: str | None = Field(None, min_length=1, max_length=16)
    visit_time: datetime | None = None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(min_length=1, max_length=80)
    handler: str | None = Field(None, max_length=60)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=2, max_length=4000)


class HoldOut(Out):
    device: str
    window: str
    start: str
    end: str
    requested_at: str
    attempts: int
    confirmed_at: str | None = Field(description="when the recorder reported the hold placed")
    cameras: list[str] = Field(description="the cameras the recorder holds footage of")
    held_segments: int


class ComplaintOut(Out):
    id: str
    received_at: str
    channel: str
    hall: str
    ticket: str | None
    window: str | None
    officer: str | None
    unit: str | None
    handler: str | None
    visit_from: str | None
    visit_to: str | None
    visit_problem: str | None = Field(description="why the visit is not linked yet, if it is not")
    summary: str
    state: Literal["received", "assigned", "answered"]
    due_at: str
    overdue: bool
    answered_at: str | None
    answer: str | None
    holds: list[HoldOut]


class ComplaintEventOut(Out):
    seq: int
    type: str
    at: str
    actor: str
    body: dict[str, Any]


class ContactOut(Out):
    complainant: str | None = Field(description="in clear, or `(erased)`")
    phone: str | None = Field(description="in clear, or `(erased)`")


class CaseContactOut(Out):
    """A case's contact for the supervisor calling back: in clear, or `(erased)`."""

    contact_name: str | None
    contact_phone: str | None


class PerformanceOut(Out):
    rank: int | None = Field(description="null: nothing to judge yet (no completed case, no rating)")
    key: str
    name: str = Field("", description="what people call it: the hall's name before a window")
    score: float | None = Field(description="0-100, null without data; the rule is in docs/central.md")
    cases_completed: int
    on_time_rate: float | None
    yellow_cards: int
    red_cards: int
    letters: int
    ratings: int
    satisfaction: float | None
    bad_ratings: int
    bad_rectified: int
    false_alarms: int = Field(0, description="cards and letters counted above that a correction "
                                             "has since disowned (they still cost their points)")
    false_alarm_points: int = Field(0, description="the points those cost")


class Problem(Out):
    """Why a request was refused: a sentence, or the list of fields that are wrong."""

    detail: str | list[dict[str, Any]]


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no valid API token"},
    403: {"model": Problem, "description": "the token's role may not do this"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "no such thing"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "the step does not apply any more (already answered)"},
    422: {"model": Problem, "description": "the request cannot be accepted; the detail says why"},
}
