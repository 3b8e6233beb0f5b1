"""`/api/cases`: the one door for cases, to read them as screens show them and to enter them and
their facts (approval systems, the supervision office).

Reads go through the case board (`caseport.CaseBoard`, phones masked here); entries and facts go
to the case store, which validates them as the JSON Lines import does (both call `CaseStore`).
The store shares one SQLite connection with the engine's tick: a request takes it alone.
Who may enter what is the authority table's (`case_authority`): a token's units, its user the `by`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response, status

from central.api_users import CaseFeed
from central.cases.importer import import_lines
from central.cases.sources import LIVE, client_source
from central.cases.store import CaseConflict, CaseStore, EntryRejected, UnknownCase
from central.cases.timebase import instant_from_datetime
from central.cases.views import CaseView, Recorded
from central.web.auth import Principal, case_writer, reader
from central.web.case_authority import attributed_by, authorised, refusal_of, refuse
from central.web.caseport import STAGES, CaseFilter
from central.web.context import CentralContext
from central.web.labels import look
from central.web.models import (
    CASE_REFUSED,
    NOT_FOUND,
    CaseContactOut,
    CaseHistoryOut,
    CaseOut,
    CasePage,
    EntryCheck,
    ImportResult,
)
from contract.catalog import all_specs
from contract.events.cases import (
    CaseAccepted,
    CaseCompleted,
    CaseCompletionConfirmed,
    CaseCorrected,
    CaseResumed,
    CaseSuspended,
)
from contract.kinds import Author
from contract.privacy import mask_name, mask_phone

router = APIRouter(prefix="/api", tags=["cases"])

FACT_DOORS = frozenset(name for name, spec in all_specs().items() if spec.authority.allows(Author.API_CLIENT))
"""What an API client may state, from the authority table (the import refuses other types itself)."""

StageParam = Literal[STAGES]  # type: ignore[valid-type]
READ = [Depends(reader)]
WRITE = [Depends(case_writer)]
Writer = Annotated[Principal, Depends(case_writer)]


def context(request: Request) -> CentralContext:
    return request.app.state.central  # type: ignore[no-any-return]


def case_store(request: Request) -> Iterator[CaseStore]:
    """The case store for this request alone (the engine's tick uses the same connection)."""
    intake = context(request).case_intake
    if intake is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "case store not open")
    with intake.alone() as store:
        yield store


StoreDep = Annotated[CaseStore, Depends(case_store)]


def fact_source(caller: Annotated[Principal, Depends(case_writer)]) -> str:
    """Whose facts these are: a `synced` client's cases wait for its imports to say how far its
    facts are complete; anyone else states facts as they happen."""
    return client_source(caller.name) if caller.feed is CaseFeed.SYNCED else LIVE


SourceDep = Annotated[str, Depends(fact_source)]


# --- reading, as screens show cases ---------------------------------------------------------


def case_out(row: dict[str, Any]) -> CaseOut:
    """A case as screens show it. The masks are the contract's, which leave a masked value as it is:
    a board that hands over clear rows and the engine, which masks them itself, read the same."""
    data = {key: row.get(key) for key in CaseOut.model_fields if key in row}
    data["contact_name"] = mask_name(row.get("contact_name"))
    data["contact_phone"] = mask_phone(row.get("contact_phone"))
    data["officer_phone"] = mask_phone(row.get("officer_phone"))
    data["stage_label"] = look(str(row.get("stage"))).label
    return CaseOut.model_validate(data)


def case_filter(
    hall: str | None = None,
    unit: str | None = None,
    matter: str | None = None,
    officer: str | None = None,
    stage: Annotated[StageParam | None, Query(description="a light or a state")] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> CaseFilter:
    return CaseFilter(hall=hall, unit=unit, matter=matter, officer=officer, stage=stage,
                      open_only=open_only, limit=limit, offset=offset)


@router.get("/cases", response_model=CasePage, dependencies=READ,
            summary="Cases by hall, unit, matter, officer, stage")
def list_cases(request: Request, query: Annotated[CaseFilter, Depends(case_filter)]) -> CasePage:
    board = context(request).cases
    return CasePage(total=board.count(query), cases=[case_out(row) for row in board.search(query)])


@router.get("/cases/{case_id}", response_model=CaseView, responses={404: {}}, dependencies=READ,
            summary="A case's record and light")
def read_case(case_id: str, store: StoreDep) -> CaseView:
    try:
        return store.case(case_id)
    except UnknownCase as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


@router.get("/cases/{case_id}/contact", response_model=CaseContactOut, responses={404: {}},
            dependencies=WRITE, summary="The case's contact, unmasked, for the call back (supervisors only)")
def case_contact(case_id: str, store: StoreDep) -> CaseContactOut:
    try:
        return CaseContactOut.model_validate(store.contact(case_id))
    except UnknownCase as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


@router.get("/cases/{case_id}/history", response_model=CaseHistoryOut, responses=NOT_FOUND,
            dependencies=READ, summary="A case's full history, with whether its records verify")
def case_history(request: Request, case_id: str) -> CaseHistoryOut:
    found = context(request).cases.history(case_id)
    if found is None:
        raise HTTPException(404, f"no case {case_id!r}")
    return CaseHistoryOut(case=case_out(found["case"]), events=found["events"],
                          verified=found["verified"], problem=found.get("problem"))


# --- entries and facts ----------------------------------------------------------------------


def _call(action: Callable[[], Recorded]) -> Recorded:
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


@router.post("/cases", response_model=Recorded, status_code=201,
             responses={200: {"model": Recorded, "description": "already stored: `duplicate` is true"},
                        **CASE_REFUSED},
             summary="Enter a case (application and acceptance information)")
def enter_case(
    request: Request,
    entry: CaseAccepted,
    store: StoreDep,
    source: SourceDep,
    response: Response,
    who: Writer,
    strict: Annotated[bool, Query(description="refuse an entry that has warnings")] = False,
) -> Recorded:
    """Store a case once; resending the same case answers 200 with `duplicate: true`."""
    entry = authorised(context(request), who, "case.accepted", entry, store)
    result = _call(lambda: store.submit(entry, strict=strict, source=source))
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result


@router.post("/cases/validate", response_model=EntryCheck, dependencies=WRITE,
             summary="Check an entry, store nothing")
def validate_case(entry: CaseAccepted, store: StoreDep) -> EntryCheck:
    return EntryCheck(warnings=[str(w) for w in store.check_entry(entry)])


@router.post("/cases/import", response_model=ImportResult,
             responses={403: {}, 422: CASE_REFUSED[422]},
             summary="Bulk import JSON Lines (one entry or fact per line), then judge every case")
def import_cases(
    request: Request,
    store: StoreDep,
    who: Writer,
    source: SourceDep,
    lines: Annotated[str, Body(media_type="application/x-ndjson",
                               description="empty: nothing new (a synced client's heartbeat)")] = "",
    strict: bool = False,
    at: Annotated[datetime | None, Query(
        description="judge the cases as of this instant (default now); facts after it are "
        "refused. From a `synced` client: its facts are complete up to here (an empty import "
        "says just that)")] = None,
) -> ImportResult:
    """Every line the token may state, or nothing (403: the lines it may not); every case is
    then judged once all the lines are in, as of `at`, in one tick."""
    authored = [_authored_line(request, who, number, line, store)
                for number, line in enumerate(lines.splitlines(), start=1)]
    client = source if source != LIVE else None
    when = instant_from_datetime(at) if at is not None else None
    try:
        report = import_lines(store, authored, strict=strict, at=when, client=client)
    except ValueError as error:
        raise HTTPException(422, [str(error)]) from error
    return ImportResult(**report.as_dict())


def _authored_line(request: Request, who: Principal, number: int, line: str, store: CaseStore) -> str:
    """A line with its `by` the token's; a line the import will refuse anyway is passed as it is."""
    try:
        data = json.loads(line)
    except ValueError:
        return line
    if not isinstance(data, dict):
        return line
    kind, body = (data.get("type"), data.get("body")) if "type" in data else ("case.accepted", data)
    if not isinstance(body, dict) or not isinstance(body.get("by"), str) or kind not in FACT_DOORS:
        return line
    problem = refusal_of(who, str(kind), body, store)
    if problem is not None:
        refuse(context(request), who, str(kind), body, f"line {number}: {problem}", store)
    body = {**body, "by": attributed_by(who, body["by"])}
    return json.dumps({"type": kind, "body": body} if "type" in data else body, ensure_ascii=False)


@router.post("/cases/{case_id}/suspensions", response_model=Recorded, responses=CASE_REFUSED,
             summary="Suspend the clock for a legal reason")
def suspend_case(request: Request, case_id: str, event: CaseSuspended, store: StoreDep,
                 who: Writer, source: SourceDep) -> Recorded:
    _same_case(case_id, event.case_id)
    fact = authorised(context(request), who, "case.suspended", event, store)
    return _call(lambda: store.suspend(fact, source=source))


@router.post("/cases/{case_id}/resumptions", response_model=Recorded, responses=CASE_REFUSED,
             summary="Resume the clock")
def resume_case(request: Request, case_id: str, event: CaseResumed, store: StoreDep,
                who: Writer, source: SourceDep) -> Recorded:
    _same_case(case_id, event.case_id)
    fact = authorised(context(request), who, "case.resumed", event, store)
    return _call(lambda: store.resume(fact, source=source))


@router.post("/cases/{case_id}/completion", response_model=Recorded, responses=CASE_REFUSED,
             summary="Mark the case done (the light runs until confirmed)")
def complete_case(request: Request, case_id: str, event: CaseCompleted, store: StoreDep,
                  who: Writer, source: SourceDep) -> Recorded:
    _same_case(case_id, event.case_id)
    fact = authorised(context(request), who, "case.completed", event, store)
    return _call(lambda: store.complete(fact, source=source))


@router.post("/cases/{case_id}/confirmation", response_model=Recorded, responses=CASE_REFUSED,
             summary="Confirm completion: the clock stops")
def confirm_case(request: Request, case_id: str, event: CaseCompletionConfirmed, store: StoreDep,
                 who: Writer, source: SourceDep) -> Recorded:
    _same_case(case_id, event.case_id)
    fact = authorised(context(request), who, "case.completion_confirmed", event, store)
    return _call(lambda: store.confirm(fact, source=source))


@router.post("/cases/{case_id}/corrections", response_model=Recorded, responses=CASE_REFUSED,
             summary="Correct an earlier event; both stay in the history")
def correct_case(request: Request, case_id: str, event: CaseCorrected, store: StoreDep,
                 who: Writer, source: SourceDep) -> Recorded:
    _same_case(case_id, event.case_id)
    fact = authorised(context(request), who, "case.corrected", event, store)
    return _call(lambda: store.correct(fact, source=source))
