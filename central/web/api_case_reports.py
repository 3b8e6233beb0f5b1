"""What the case records say as a whole: lights, the article's figures, the deadline calculator, the log head.

Read-only, for viewers. `/api/statistics` reads the case board (grouped by
hall, unit, window, matter or officer); the others ask the case store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from central.cases.calculator import calculate, parse_hold
from central.cases.stages import LimitUnit, Stage
from central.cases.timebase import instant_from_datetime, parse_instant
from central.cases.views import CaseLight
from central.chain import Head
from central.web.api_cases import READ, StoreDep, case_filter, context
from central.web.caseport import CaseFilter
from central.web.models import DeadlineAnswer, FalseAlarms, StatisticsRow, VerifyResult

router = APIRouter(prefix="/api", tags=["cases"], dependencies=READ)


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


@router.get("/statistics", response_model=list[StatisticsRow],
            summary="Received, completed, on time, yellow cards, red cards, letters")
def statistics(
    request: Request,
    query: Annotated[CaseFilter, Depends(case_filter)],
    by: Annotated[Literal["hall", "unit", "window", "matter", "officer", "day", "month", "year"] | None,
                  Query(description="group rows by this (a period: Shanghai calendar days, months, "
                                    "years); omitted = one total row")] = None,
    since: Annotated[datetime | None, Query(description="from this instant on, e.g. 2026-12-01 "
                                                        "(no offset: Shanghai); each figure counts "
                                                        "at its own instant")] = None,
    until: Annotated[datetime | None, Query(description="before this instant (exclusive)")] = None,
) -> list[StatisticsRow]:
    start, end = (instant_from_datetime(t) if t else None for t in (since, until))
    rows = context(request).cases.statistics(by, query, since=start, until=end)
    return [statistics_row(row) for row in rows]


def statistics_row(row: dict[str, Any]) -> StatisticsRow:
    completed = int(row.get("completed", 0))
    on_time = int(row.get("on_time", 0))
    return StatisticsRow(
        key=row.get("key"), received=int(row.get("received", 0)), completed=completed,
        on_time=on_time, on_time_rate=round(on_time / completed, 4) if completed else None,
        yellow_cards=int(row.get("yellow_cards", 0)), red_cards=int(row.get("red_cards", 0)),
        letters=int(row.get("letters", 0)), false_alarms=FalseAlarms(**row.get("false_alarms", {})),
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
    return VerifyResult.model_validate(store.verify(published).as_dict())
