"""Complaints: unified acceptance, assigned handling, online feedback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from central.complaints import ComplaintDesk, ComplaintError, NewComplaint, UnknownComplaint
from central.web.auth import Principal, reader, writer
from central.web.context import CentralContext
from central.web.models import (
    NOT_FOUND,
    REFUSED,
    AnswerIn,
    AssignIn,
    ComplaintEventOut,
    ComplaintIn,
    ComplaintOut,
    ContactOut,
    VerifyResult,
    VisitIn,
)
from central.web.timefmt import to_ms

router = APIRouter(prefix="/api/complaints", tags=["complaints"])
T = TypeVar("T")

Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]


def desk(request: Request) -> ComplaintDesk:
    context: CentralContext = request.app.state.central
    return context.complaints


def guarded(call: Callable[[], T]) -> T:
    """Domain refusals become 404 / 409 / 422 answers that say why."""
    try:
        return call()
    except UnknownComplaint as exc:
        raise HTTPException(404, f"no complaint {exc.args[0]!r}") from exc
    except ComplaintError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT if "already" in str(exc) else 422, str(exc)) from exc


@router.post("", response_model=ComplaintOut, status_code=201, responses=REFUSED,
             summary="Accept a complaint; link its visit, hold the window's footage, assign it")
def accept(request: Request, body: ComplaintIn, who: Writer) -> ComplaintOut:
    known = request.app.state.central.hall_names
    if body.hall not in known:
        # Accepted, it would wait on a desk no hall answers, with no visit and no footage to find.
        raise HTTPException(422, f"central does not know hall {body.hall!r}; "
                                 f"its halls are {', '.join(sorted(known)) or 'none yet'}")
    new = NewComplaint(
        hall=body.hall, summary=body.summary, channel=body.channel, complainant=body.complainant,
        phone=body.phone, ticket=body.ticket, window=body.window,
        visit_time=to_ms(body.visit_time) if body.visit_time else None,
        officer=body.officer, unit=body.unit,
    )
    complaints = desk(request)
    complaint = guarded(lambda: complaints.receive(new, who.name))
    request.app.state.central.feed.publish("complaint", {"id": complaint, "hall": body.hall})
    return ComplaintOut.model_validate(complaints.get(complaint))


@router.get("", response_model=list[ComplaintOut], summary="Complaints, newest first")
def list_complaints(
    request: Request, _who: Reader, hall: str | None = None,
    state: Literal["received", "assigned", "answered"] | None = None,
    overdue: bool | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ComplaintOut]:
    rows = desk(request).find(hall=hall, state=state, overdue=overdue, limit=limit)
    return [ComplaintOut.model_validate(row) for row in rows]


@router.get("/verify", response_model=VerifyResult, summary="Check the complaint log's hash chain")
def verify(request: Request, _who: Reader) -> VerifyResult:
    return VerifyResult.model_validate(desk(request).verify())


@router.get("/{complaint}", responses=NOT_FOUND, response_model=ComplaintOut,
            summary="One complaint, its holds and answer")
def get(request: Request, complaint: str, _who: Reader) -> ComplaintOut:
    return ComplaintOut.model_validate(guarded(lambda: desk(request).get(complaint)))


@router.get("/{complaint}/history", responses=NOT_FOUND, response_model=list[ComplaintEventOut],
            summary="Every step of a complaint, as appended (personal data masked)")
def history(request: Request, complaint: str, _who: Reader) -> list[Any]:
    return guarded(lambda: desk(request).history(complaint))


@router.get("/{complaint}/contact", responses=NOT_FOUND, response_model=ContactOut,
            summary="The complainant's contact, unmasked, for the call back (supervisors only)")
def contact(request: Request, complaint: str, _who: Writer) -> ContactOut:
    return ContactOut.model_validate(guarded(lambda: desk(request).contact(complaint)))


@router.post("/{complaint}/visit", responses={**NOT_FOUND, **REFUSED}, response_model=ComplaintOut,
             summary="Link the visit later (a ticket, or a window and time); holds its footage")
def link_visit(request: Request, complaint: str, body: VisitIn, who: Writer) -> ComplaintOut:
    complaints = desk(request)
    guarded(lambda: complaints.link_visit(
        complaint, ticket=body.ticket, window=body.window,
        visit_time=to_ms(body.visit_time) if body.visit_time else None, actor=who.name))
    request.app.state.central.feed.publish("complaint", {"id": complaint})
    return ComplaintOut.model_validate(complaints.get(complaint))


@router.post("/{complaint}/assign", responses={**NOT_FOUND, **REFUSED}, response_model=ComplaintOut,
             summary="Assign to a unit (归口办理)")
def assign(request: Request, complaint: str, body: AssignIn, who: Writer) -> ComplaintOut:
    complaints = desk(request)
    guarded(lambda: complaints.assign(complaint, body.unit, body.handler, who.name))
    request.app.state.central.feed.publish("complaint", {"id": complaint})
    return ComplaintOut.model_validate(complaints.get(complaint))


@router.post("/{complaint}/answer", responses={**NOT_FOUND, **REFUSED}, response_model=ComplaintOut,
             summary="Record the answer (网上反馈)")
def answer(request: Request, complaint: str, body: AnswerIn, who: Writer) -> ComplaintOut:
    complaints = desk(request)
    guarded(lambda: complaints.answer(complaint, body.answer, who.name))
    request.app.state.central.feed.publish("complaint", {"id": complaint})
    return ComplaintOut.model_validate(complaints.get(complaint))
