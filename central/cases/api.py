"""Central's HTTP door for approval systems: enter cases and their facts, read lights and figures.

Mount with `app.include_router(router, prefix="/api")` after setting
`app.state.case_store` to an open `CaseStore`. Every entry passes the same
validation as the JSON Lines import (both call `CaseStore`), and every
response masks phone numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel

from central.cases.calculator import calculate, parse_hold
from central.cases.importer import import_lines
from central.cases.stages import LimitUnit, Stage
from central.cases.stats import Figures
from central.cases.store import CaseConflict, CaseStore, EntryRejected, UnknownCase
from central.cases.timebase import instant_from_datetime, parse_instant
from central.cases.views import CaseLight, CaseView, LoggedEvent, Recorded
from central.chain import Head
from contract.events.cases import (
    CaseAccepted,
    CaseCompleted,
    CaseCompletionConfirmed,
    CaseCorrected,
    CaseResumed,
    CaseSuspended,
)

router = APIRouter(tags=["cases"])


def get_store(request: Request) -> CaseStore:
    """The store the application opened; set `app.state.case_store`."""
    store = getattr(request.app.state, "case_store", None)
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "case store not open")
    return store


StoreDep = Annotated[CaseStore, Depends(get_store)]


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


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    head: dict[str, Any]
    first_bad: int | None
    problem: str | None


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


_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such case"},
    409: {"description": "the case id is taken by a different case"},
    422: {"model": Problems, "description": "refused: schema, rule or (strict) warnings"},
}


def _call(action: Any) -> Recorded:
    try:
        return action()
    except EntryRejected as error:
        raise HTTPException(422, error.problems) from error
    except CaseConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except UnknownCase as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


def _same_case(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise HTTPException(422,
                            [f"case_id in the body ({body_id}) is not the path's ({path_id})"])


@router.post("/cases", response_model=Recorded, status_code=201, responses=_REFUSED,
             summary="Enter a case (application and acceptance information)")
def enter_case(
    entry: CaseAccepted,
    store: StoreDep,
    response: Response,
    strict: Annotated[bool, Query(description="refuse an entry that has warnings")] = False,
) -> Recorded:
    """Store a case once; resending the same case answers 200 with `duplicate: true`."""
    result = _call(lambda: store.submit(entry, strict=strict))
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result


@router.post("/cases/validate", response_model=EntryCheck, summary="Check an entry, store nothing")
def validate_case(entry: CaseAccepted, store: StoreDep) -> EntryCheck:
    return EntryCheck(warnings=[str(w) for w in store.check_entry(entry)])


@router.post("/cases/import", response_model=ImportResult,
             summary="Bulk import JSON Lines (one entry or fact per line)")
def import_cases(
    store: StoreDep,
    lines: Annotated[str, Body(media_type="application/x-ndjson")],
    strict: bool = False,
) -> ImportResult:
    return ImportResult(**import_lines(store, lines.splitlines(), strict=strict).as_dict())


@router.post("/cases/{case_id}/suspensions", response_model=Recorded, responses=_REFUSED,
             summary="Suspend the clock for a legal reason")
def suspend_case(case_id: str, event: CaseSuspended, store: StoreDep) -> Recorded:
    _same_case(case_id, event.case_id)
    return _call(lambda: store.suspend(event))


@router.post("/cases/{case_id}/resumptions", response_model=Recorded, responses=_REFUSED,
             summary="Resume the clock")
def resume_case(case_id: str, event: CaseResumed, store: StoreDep) -> Recorded:
    _same_case(case_id, event.case_id)
    return _call(lambda: store.resume(event))


@router.post("/cases/{case_id}/completion", response_model=Recorded, responses=_REFUSED,
             summary="Mark the case done (the light runs until confirmed)")
def complete_case(case_id: str, event: CaseCompleted, store: StoreDep) -> Recorded:
    _same_case(case_id, event.case_id)
    return _call(lambda: store.complete(event))


@router.post("/cases/{case_id}/confirmation", response_model=Recorded, responses=_REFUSED,
             summary="Confirm completion: the clock stops")
def confirm_case(case_id: str, event: CaseCompletionConfirmed, store: StoreDep) -> Recorded:
    _same_case(case_id, event.case_id)
    return _call(lambda: store.confirm(event))


@router.post("/cases/{case_id}/corrections", response_model=Recorded, responses=_REFUSED,
             summary="Correct an earlier event; both stay in the history")
def correct_case(case_id: str, event: CaseCorrected, store: StoreDep) -> Recorded:
    _same_case(case_id, event.case_id)
    return _call(lambda: store.correct(event))


@router.get("/cases/{case_id}", response_model=CaseView, responses={404: {}},
            summary="A case's record and light")
def read_case(case_id: str, store: StoreDep) -> CaseView:
    try:
        return store.case(case_id)
    except UnknownCase as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


@router.get("/cases/{case_id}/history", response_model=list[LoggedEvent],
            summary="Every log record of a case, corrections included")
def case_history(case_id: str, store: StoreDep) -> list[LoggedEvent]:
    history = store.history(case_id)
    if not history:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    return history


@router.get("/lights", response_model=list[CaseLight], summary="Cases and lights, most urgent first")
def lights(
    store: StoreDep,
    hall: str | None = None,
    unit: str | None = None,
    stage: Annotated[list[Stage] | None, Query()] = None,
    include_closed: bool = False,
    limit: Annotated[int, Query(ge=1, le=100000)] = 1000,
) -> list[CaseLight]:
    return store.lights(hall=hall, unit=unit, stages=set(stage) if stage else None,
                        include_closed=include_closed, limit=limit)


@router.get("/lights/counts", response_model=dict[str, dict[str, int]],
            summary="Number of open cases per light, by hall, unit, matter or officer")
def light_counts(
    store: StoreDep, by: Literal["hall", "unit", "matter", "officer"] = "unit"
) -> dict[str, dict[str, int]]:
    return store.stage_counts(by)


@router.get("/statistics", response_model=list[Figures],
            summary="Received, completed, on-time rate, yellow/red cards, letters")
def figures(
    store: StoreDep,
    by: Literal["hall", "unit", "matter", "officer", "day", "month", "year"] | None = None,
    since: Annotated[datetime | None, Query(description="from (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive)")] = None,
) -> list[Figures]:
    return store.statistics(
        by=by,
        since=instant_from_datetime(since) if since else None,
        until=instant_from_datetime(until) if until else None,
    )


@router.get("/deadline", response_model=DeadlineAnswer,
            summary="The deadline calculator: due day and stage instants of a hypothetical case")
def deadline(
    store: StoreDep,
    accepted: Annotated[str, Query(description="acceptance, e.g. 2026-11-23T10:00 (Shanghai)")],
    limit: Annotated[int, Query(ge=1, le=3650)],
    unit: LimitUnit = LimitUnit.WORKDAYS,
    suspend: Annotated[list[str] | None, Query(description="FROM..TO, repeatable")] = None,
    at: Annotated[str | None, Query(description="instant for `stage_at`; default now")] = None,
) -> DeadlineAnswer:
    try:
        answer = calculate(
            parse_instant(accepted), limit, unit, tuple(parse_hold(s) for s in suspend or ()),
            parse_instant(at) if at else store.now(), store.calendar, store.rules.ladder,
        )
    except ValueError as error:
        raise HTTPException(422, [str(error)]) from error
    return DeadlineAnswer(**answer.as_dict())


@router.get("/log/head", summary="The log's head, to publish outside the system")
def log_head(store: StoreDep) -> dict[str, Any]:
    head = store.head()
    return {"seq": head.seq, "hash": head.hash}


@router.get("/log/verify", response_model=VerifyResult,
            summary="Verify the whole chain, optionally against a published head")
def log_verify(
    store: StoreDep,
    seq: Annotated[int | None, Query(description="published head seq")] = None,
    hash: Annotated[
        str | None, Query(description="published head hash", pattern="^[0-9a-f]{64}$")
    ] = None,
) -> VerifyResult:
    published = Head(seq, hash) if seq is not None and hash is not None else None
    report = store.verify(published)
    return VerifyResult(ok=report.ok, checked=report.checked,
                        head={"seq": report.head.seq, "hash": report.head.hash},
                        first_bad=report.first_bad, problem=report.problem)


__all__ = ["get_store", "router"]
