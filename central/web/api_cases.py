"""Cases: by hall, unit, matter, officer, stage and light; one case's history; the article's figures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from central.web.auth import reader
from central.web.caseport import STAGES, CaseFilter
from central.web.context import CentralContext
from central.web.labels import look
from central.web.models import NOT_FOUND, CaseHistoryOut, CaseOut, CasePage, StatisticsRow
from contract.privacy import mask_phone

router = APIRouter(prefix="/api", tags=["cases"], dependencies=[Depends(reader)])

StageParam = Literal[STAGES]  # type: ignore[valid-type]


def context(request: Request) -> CentralContext:
    return request.app.state.central  # type: ignore[no-any-return]


def mask_name(name: str | None) -> str:
    """张** : the family name, enough to tell cases apart on a screen."""
    if not name:
        return ""
    return name[:1] + "*" * max(1, len(name) - 1)


def masked_phone(phone: str | None) -> str:
    """Masked once, whether the record arrives in clear or already masked by the case store."""
    if phone and "*" in phone:
        return phone
    return mask_phone(phone)


def case_out(row: dict[str, Any]) -> CaseOut:
    data = {key: row.get(key) for key in CaseOut.model_fields if key in row}
    data["contact_name"] = mask_name(row.get("contact_name"))
    data["contact_phone"] = masked_phone(row.get("contact_phone"))
    data["officer_phone"] = masked_phone(row.get("officer_phone"))
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


@router.get("/cases", response_model=CasePage, summary="Cases by hall, unit, matter, officer, stage")
def list_cases(request: Request, query: Annotated[CaseFilter, Depends(case_filter)]) -> CasePage:
    board = context(request).cases
    return CasePage(total=board.count(query), cases=[case_out(row) for row in board.search(query)])


@router.get("/cases/{case_id}/history", response_model=CaseHistoryOut, responses=NOT_FOUND,
            summary="A case's full history, with whether its records verify")
def case_history(request: Request, case_id: str) -> CaseHistoryOut:
    found = context(request).cases.history(case_id)
    if found is None:
        raise HTTPException(404, f"no case {case_id!r}")
    return CaseHistoryOut(case=case_out(found["case"]), events=found["events"],
                          verified=found["verified"], problem=found.get("problem"))


@router.get("/statistics", response_model=list[StatisticsRow],
            summary="Received, completed, on time, yellow cards, red cards, letters")
def statistics(
    request: Request,
    query: Annotated[CaseFilter, Depends(case_filter)],
    by: Annotated[Literal["hall", "unit", "window", "matter", "officer"] | None,
                  Query(description="group rows by this; omitted = one total row")] = None,
) -> list[StatisticsRow]:
    rows = context(request).cases.statistics(by, query)
    return [statistics_row(row) for row in rows]


def statistics_row(row: dict[str, Any]) -> StatisticsRow:
    completed = int(row.get("completed", 0))
    on_time = int(row.get("on_time", 0))
    return StatisticsRow(
        key=row.get("key"), received=int(row.get("received", 0)), completed=completed,
        on_time=on_time, on_time_rate=round(on_time / completed, 4) if completed else None,
        yellow_cards=int(row.get("yellow_cards", 0)), red_cards=int(row.get("red_cards", 0)),
        letters=int(row.get("letters", 0)),
    )
