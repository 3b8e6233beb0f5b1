"""`/api/anomalies`: the anomaly records, the rule table, and the supervisor's steps.

Reads need the viewer role; acknowledging, assigning and closing need the
supervisor role. Summaries and notes are masked as they leave.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from central.anomalies.book import FALSE_ALARM_CAUSES
from central.web.auth import Principal, reader, writer
from central.web.models import NOT_FOUND, REFUSED, Out, VerifyResult
from central.web.supervision_door import announce, guarded, office
from central.web.timefmt import to_ms

router = APIRouter(prefix="/api/anomalies", tags=["anomalies"])
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
Cause = Literal[FALSE_ALARM_CAUSES]  # type: ignore[valid-type]


class AnomalyOut(Out):
    """One anomaly: what a rule found, and where its handling stands."""

    id: str
    rule: str
    title: str
    risk: Literal["low", "medium", "high"]
    notify: list[str] = Field(description="who is told")
    hall: str | None
    unit: str | None
    case_id: str | None
    subject: str | None = Field(description="the officer, window or device it is about")
    summary: str
    happened_at: str | None
    raised_at: str | None
    state: Literal["open", "acknowledged", "assigned", "closed"]
    assignee: str | None
    finding: Literal["confirmed", "false_alarm"] | None
    cause: str | None = Field(description="a false alarm's cause")
    closed_at: str | None
    corrections: int = Field(description="corrections of its case recorded since it was raised")


class AnomalyStepOut(Out):
    seq: int
    type: str
    at: str | None
    actor: str
    body: dict[str, Any]


class AnomalyDetailOut(AnomalyOut):
    history: list[AnomalyStepOut]


class RuleOut(Out):
    name: str
    detector: str
    title: str
    risk: str
    notify: list[str]
    explanation: str
    enabled: bool
    settings: dict[str, Any]


class AnomalyFigures(Out):
    """Hits of one group (unit and rule, by default)."""

    unit: str | None = None
    rule: str | None = None
    hall: str | None = None
    risk: str | None = None
    raised: int
    open: int
    confirmed: int
    false_alarms: int
    wrong_date: int = Field(description="false alarms from a date entered wrongly")
    completion_not_confirmed: int = Field(description="false alarms from a completion never confirmed")


class AssignIn(BaseModel):
    # An unknown field is an error, as in the complaint desk's bodies: a typo is not ignored.
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=1, max_length=80, description="a person or a unit")
    note: str = Field("", max_length=2000)


class CloseIn(BaseModel):
    # An unknown field is an error, as in the complaint desk's bodies: a typo is not ignored.
    model_config = ConfigDict(extra="forbid")

    finding: Literal["confirmed", "false_alarm"]
    cause: Cause | None = Field(None, description="required for a false alarm: why it was false")
    note: str = Field(min_length=2, max_length=2000, description="what was found")


@router.get("", response_model=list[AnomalyOut], summary="Anomalies, newest first")
def list_anomalies(
    request: Request, _who: Reader,
    state: Literal["open", "acknowledged", "assigned", "closed"] | None = None,
    open_only: Annotated[bool, Query(alias="open", description="everything not closed")] = False,
    rule: str | None = None, risk: Literal["low", "medium", "high"] | None = None,
    hall: str | None = None, unit: str | None = None, case_id: str | None = None,
    notify: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> list[AnomalyOut]:
    found = office(request).anomalies.find(state=state, open_only=open_only, rule=rule, risk=risk, hall=hall,
                                           unit=unit, case_id=case_id, notify=notify, limit=limit,
                                           offset=offset)
    return [AnomalyOut.model_validate(row) for row in found]


@router.get("/stats", response_model=list[AnomalyFigures], summary="Hits per unit and rule (or hall, risk)")
def statistics(
    request: Request, _who: Reader,
    by: Annotated[list[Literal["unit", "rule", "hall", "risk"]] | None, Query()] = None,
    since: datetime | None = None, until: datetime | None = None,
) -> list[AnomalyFigures]:
    rows = office(request).anomalies.statistics(
        tuple(by or ("unit", "rule")), to_ms(since) if since else None, to_ms(until) if until else None)
    return [AnomalyFigures.model_validate(row) for row in rows]


@router.get("/rules", response_model=list[RuleOut], summary="The rule table: what each rule finds, and why")
def rules(request: Request, _who: Reader) -> list[RuleOut]:
    return [RuleOut.model_validate(rule.describe()) for rule in office(request).rules]


@router.get("/verify", response_model=VerifyResult, summary="Check the anomaly log's hash chain")
def verify(request: Request, _who: Reader) -> VerifyResult:
    return VerifyResult.model_validate(office(request).anomalies.verify())


@router.get("/{anomaly}", response_model=AnomalyDetailOut, responses=NOT_FOUND,
            summary="One anomaly and every step of it")
def get(request: Request, anomaly: str, _who: Reader) -> AnomalyDetailOut:
    return AnomalyDetailOut.model_validate(guarded(lambda: _detail(request, anomaly)))


def _detail(request: Request, anomaly: str) -> dict[str, Any]:
    book = office(request).anomalies
    return {**book.get(anomaly), "history": book.history(anomaly)}


@router.post("/{anomaly}/acknowledge", response_model=AnomalyDetailOut, responses={**NOT_FOUND, **REFUSED},
             summary="Someone is on it")
def acknowledge(request: Request, anomaly: str, who: Writer) -> AnomalyDetailOut:
    return _step(request, anomaly, lambda tx, now: office(request).anomalies.acknowledge(
        tx, anomaly, who.name, now))


@router.post("/{anomaly}/assign", response_model=AnomalyDetailOut, responses={**NOT_FOUND, **REFUSED},
             summary="Hand it to a person or a unit to look into")
def assign(request: Request, anomaly: str, body: AssignIn, who: Writer) -> AnomalyDetailOut:
    return _step(request, anomaly, lambda tx, now: office(request).anomalies.assign(
        tx, anomaly, body.assignee, who.name, now, body.note))


@router.post("/{anomaly}/close", response_model=AnomalyDetailOut, responses={**NOT_FOUND, **REFUSED},
             summary="Close with a finding: confirmed, or a false alarm and why")
def close(request: Request, anomaly: str, body: CloseIn, who: Writer) -> AnomalyDetailOut:
    return _step(request, anomaly, lambda tx, now: office(request).anomalies.close(
        tx, anomaly, body.finding, body.cause, body.note, who.name, now))


def _step(request: Request, anomaly: str, step: Any) -> AnomalyDetailOut:
    supervision = office(request)
    now = request.app.state.central.clock.wall_ms()

    def run() -> None:
        with supervision.store.transaction() as tx:
            step(tx, now)

    guarded(run)
    announce(request, "anomaly", {"id": anomaly})
    return AnomalyDetailOut.model_validate(guarded(lambda: _detail(request, anomaly)))
