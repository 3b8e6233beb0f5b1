"""Discretionary power (自由裁量权): the table of standards, and decisions entered as case facts.

A decision is a case fact (`case.decided`): it enters through the case store
like every other, with the same authority (an approval system for its units,
the supervision office for all) and is logged in the case's history. One
outside its circumstance's range without a written reason is refused (422).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status

from central.cases.store import CaseConflict, EntryRejected, UnknownCase
from central.cases.views import Recorded
from central.web.api_cases import SourceDep, StoreDep, Writer
from central.web.auth import reader
from central.web.case_authority import authorised
from central.web.context import CentralContext
from central.web.models import CASE_REFUSED, Out
from contract.events.cases import CaseDecided

router = APIRouter(prefix="/api", tags=["discretion"])


class StandardOut(Out):
    """One discretionary matter: its unit, its basis, what each circumstance allows."""

    matter: str
    unit: str
    basis: str
    circumstances: dict[str, str]


def _context(request: Request) -> CentralContext:
    return request.app.state.central  # type: ignore[no-any-return]


@router.get("/discretion/standards", response_model=list[StandardOut], dependencies=[Depends(reader)],
            summary="The table of discretionary standards decisions are measured against")
def standards(request: Request) -> list[StandardOut]:
    intake = _context(request).case_intake
    if intake is None:
        return []
    with intake.alone() as store:
        table = store.standards
    return [StandardOut(matter=matter, unit=s.unit, basis=s.basis,
                        circumstances={name: allowed.describe(s.unit)
                                       for name, allowed in s.circumstances.items()})
            for matter, s in table.matters.items()]


@router.post("/cases/{case_id}/decisions", response_model=Recorded, responses=CASE_REFUSED,
             summary="Record a discretionary decision; outside its standard's range it needs a reason")
def decide(request: Request, case_id: str, event: CaseDecided, store: StoreDep, who: Writer,
           source: SourceDep) -> Recorded:
    if event.case_id != case_id:
        raise HTTPException(422, [f"case_id in the body ({event.case_id}) is not the path's ({case_id})"])
    fact = authorised(_context(request), who, "case.decided", event, store)
    try:
        return store.decide(fact, source=source)
    except EntryRejected as error:
        raise HTTPException(422, error.problems) from error
    except CaseConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except UnknownCase as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
