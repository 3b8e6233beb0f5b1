"""Performance evaluation per unit, window and officer, ranked."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from central.performance import evaluate
from central.web.auth import reader
from central.web.caseport import CaseFilter
from central.web.context import CentralContext
from central.web.models import PerformanceOut

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["performance"], dependencies=[Depends(reader)])

RankedBy = Literal["unit", "window", "officer"]


def performance_rows(context: CentralContext, by: RankedBy, hall: str | None) -> list[PerformanceOut]:
    cases = {
        str(row["key"]): row
        for row in context.cases.statistics(by, CaseFilter(hall=hall))
        if row.get("key") is not None
    }
    ratings: dict[str, dict[str, int]] = {}
    if context.ratings is not None:
        try:
            ratings = context.ratings.by(by, None)
        except sqlite3.Error:
            # The ranking without satisfaction beats no ranking; the log says what is missing.
            log.exception("ratings by %s are unavailable; performance ranked without them", by)
    return [PerformanceOut(**asdict(row), name=shown_name(row.key, by, context.hall_names))
            for row in evaluate(cases, ratings)]


def shown_name(key: str, by: RankedBy, hall_names: dict[str, str]) -> str:
    """A window as people say it, `市民服务中心 10号窗口`, not its id `hall-centre/10`."""
    if by != "window" or "/" not in key:
        return key
    hall, window = key.split("/", 1)
    number = window.lstrip("wW").lstrip("0") or window
    label = f"{number}号窗口" if number.isdigit() else window
    return f"{hall_names.get(hall, hall)} {label}"


@router.get("/performance", response_model=list[PerformanceOut],
            summary="Units, windows or officers ranked by on-time rate, cards and satisfaction")
def performance(
    request: Request,
    by: Annotated[RankedBy, Query(description="what to rank")] = "unit",
    hall: str | None = None,
) -> list[PerformanceOut]:
    return performance_rows(request.app.state.central, by, hall)
