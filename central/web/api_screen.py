"""The big screen's data: the board (counts, figures, queues, alarms), case tiles by hall, and changes.

`/api/screen/board` is what the page draws from: grouped counts whose size
does not grow with the open cases (`central.web.screen`). `/api/screen` is
the earlier snapshot of case tiles by hall and unit (up to `SCREEN_CASES`);
`/api/stream` says when to refresh: it reads this process's feed, which on PostgreSQL
hears every central process's changes (`central.web.feed`), so any process may serve it.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from central.alarms import latest_alarms
from central.web.api_cases import StageParam, case_out
from central.web.api_halls import alarm_out, all_halls
from central.web.auth import reader
from central.web.caseport import OPEN_STAGES, CaseFilter
from central.web.context import CentralContext
from central.web.hallfigures import hall_day
from central.web.labels import STAGE_LOOKS, look
from central.web.models import AlarmOut, CaseOut, HallOut, Out
from central.web.screen.board import BoardInputs, build_board
from central.web.screen.models import ScreenBoard
from central.web.screen.queues import queues_now
from central.web.screen.tally import BoardTally, Place
from central.web.timefmt import iso_s

router = APIRouter(prefix="/api", tags=["big screen"], dependencies=[Depends(reader)])

SCREEN_CASES = 3000
"""Most case tiles one snapshot carries; the counts always cover every open case."""
SCREEN_ALARMS = 8
"""Security alarms the screen lists, newest first."""
SLOT_ROWS = 50
"""Most anomalies and projects one board asks its slots for."""
STREAM_POLL_S = 0.5
STREAM_KEEPALIVE_S = 15.0


class UnitBoard(Out):
    unit: str
    counts: dict[str, int]
    cases: list[CaseOut]


class HallPanel(Out):
    hall: HallOut
    counts: dict[str, int]
    units: list[UnitBoard]
    complaints_open: int
    complaints_overdue: int


class StageLegend(Out):
    stage: str
    label: str
    colour: str
    shape: str


class ScreenSnapshot(Out):
    version: int = Field(description="changes when anything on the screen may have changed")
    now: str
    open_cases: int = Field(description="every open case matching the filter")
    shown_cases: int = Field(description="case tiles in this snapshot (the most urgent first)")
    counts: dict[str, int]
    legend: list[StageLegend]
    halls: list[HallPanel]
    recent: list[dict[str, Any]] = Field(description="the latest escalations and complaints")
    alarms: list[AlarmOut] = Field(default_factory=list, description="the latest security alarms: facts "
                                   "refused because their author may not state them, newest first")


def snapshot(
    context: CentralContext, hall: str | None, unit: str | None, stage: str | None
) -> ScreenSnapshot:
    version = context.feed.version
    query = CaseFilter(hall=hall, unit=unit, stage=stage, open_only=True, limit=SCREEN_CASES)
    rows = context.cases.search(query)
    halls = {h.hall: h for h in all_halls(context, hall)}
    by_hall: dict[str, dict[str, list[CaseOut]]] = {}
    for row in rows:
        case = case_out(row)
        by_hall.setdefault(case.hall, {}).setdefault(case.unit, []).append(case)
    complaints = context.complaints.find(hall=hall, limit=1000)
    boards = []
    for name in sorted(set(halls) | set(by_hall)):
        if name not in halls:  # cases of a hall whose gateway has never spoken
            halls[name] = _empty_hall(context, name)
        units = [
            UnitBoard(unit=u, counts=_counts(cases), cases=cases)
            for u, cases in sorted(by_hall.get(name, {}).items())
        ]
        open_complaints = [c for c in complaints if c["hall"] == name and c["state"] != "answered"]
        boards.append(HallPanel(
            hall=halls[name],
            counts=_counts([c for u in units for c in u.cases]),
            units=units,
            complaints_open=len(open_complaints),
            complaints_overdue=sum(1 for c in open_complaints if c["overdue"]),
        ))
    recent = [
        {"version": h.version, "kind": h.kind, **h.data}
        for h in context.feed.since(max(0, version - 50)) if h.kind in ("escalation", "complaint")
    ][-12:]
    return ScreenSnapshot(
        version=version,
        now=iso_s(context.clock.wall_ms() // 1000) or "",
        open_cases=context.cases.count(query),
        shown_cases=len(rows),
        counts=_counts([c for b in boards for u in b.units for c in u.cases]),
        legend=[StageLegend(stage=s, label=v.label, colour=v.colour, shape=v.shape)
                for s, v in sorted(STAGE_LOOKS.items(), key=lambda item: -item[1].severity)],
        halls=boards,
        recent=list(reversed(recent)),
        alarms=_security(context, hall),
    )


def _security(context: CentralContext, hall: str | None) -> list[AlarmOut]:
    """The newest security alarms the screen shows, of one hall or of all."""
    return [alarm_out(a) for a in context.store.read(lambda tx: latest_alarms(tx, hall, SCREEN_ALARMS))]


def _counts(cases: list[CaseOut]) -> dict[str, int]:
    counted = Counter(case.stage for case in cases)
    return {stage: counted.get(stage, 0) for stage in OPEN_STAGES}


def _empty_hall(context: CentralContext, name: str) -> HallOut:
    return HallOut(hall=name, name=context.hall_names.get(name, name), gateway_online=None,
                   gateway_last_seen=None, gateway_reason=None, devices_online=0, devices=[],
                   ingest={}, dead_letters_at_central=0, refused_at_gateway=0, forward_backlog=None)


@router.get("/screen", response_model=ScreenSnapshot, summary="Everything the big screen shows, at once")
def screen(
    request: Request,
    hall: str | None = None,
    unit: str | None = None,
    stage: Annotated[StageParam | None, Query()] = None,
) -> ScreenSnapshot:
    return snapshot(request.app.state.central, hall, unit, stage)


ScopeParam = Annotated[str | None, Query(max_length=80, description="one hall (unit): the board of it only")]


@router.get("/screen/board", response_model=ScreenBoard,
            summary="The big screen's board: counts per centre, unit and light, figures, queues, alarms")
def screen_board(request: Request, hall: ScopeParam = None, unit: ScopeParam = None) -> ScreenBoard:
    context: CentralContext = request.app.state.central
    place = Place(hall or None, unit or None)
    now_ms = context.clock.wall_ms()
    version = context.feed.version
    return context.screen.cache.get((place.hall, place.unit), version, now_ms,
                                    lambda: _board(context, place, version, now_ms))


def _board(context: CentralContext, place: Place, version: int, now_ms: int) -> ScreenBoard:
    parts = context.screen
    inputs = BoardInputs(
        version=version, now_ms=now_ms, place=place,
        halls=all_halls(context, place.hall),
        hall_names=context.hall_names,
        queues=context.store.read(lambda tx: queues_now(tx, hall_day(now_ms), now_ms, place.hall)),
        security=_security(context, place.hall),
        complaints=_open_complaints(context, place.hall),
        anomalies=parts.anomalies(place.hall, SLOT_ROWS) if parts.anomalies else None,
        projects=parts.projects(place.hall, SLOT_ROWS) if parts.projects else None,
    )
    return build_board(inputs, parts.tally or BoardTally(context.cases), parts.totals)


def _open_complaints(context: CentralContext, hall: str | None) -> dict[str, tuple[int, int]]:
    counted: dict[str, tuple[int, int]] = {}
    for state in ("received", "assigned"):
        for complaint in context.complaints.find(hall=hall, state=state, limit=1000):
            opened, overdue = counted.get(complaint["hall"], (0, 0))
            counted[complaint["hall"]] = (opened + 1, overdue + int(bool(complaint["overdue"])))
    return counted


@router.get("/stream", summary="Server-sent events: `change` whenever the screen should refresh",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(
    request: Request, since: Annotated[int | None, Query(ge=0, le=2**62)] = None, once: bool = False,
) -> StreamingResponse:
    context: CentralContext = request.app.state.central
    return StreamingResponse(
        _changes(request, context, since, once), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _changes(
    request: Request, context: CentralContext, since: int | None, once: bool
) -> AsyncIterator[str]:
    seen = context.feed.version if since is None else since
    yield f"event: hello\ndata: {json.dumps({'version': seen})}\n\n"
    quiet = 0.0
    while not await request.is_disconnected():
        version = context.feed.version
        if version != seen:
            happenings = [
                {"version": h.version, "kind": h.kind, **h.data} for h in context.feed.since(seen)
            ]
            seen = version
            payload = {"version": version, "happenings": happenings,
                       "labels": {h["stage"]: look(h["stage"]).label
                                  for h in happenings if "stage" in h}}
            yield f"event: change\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
            quiet = 0.0
            if once:
                return
        await asyncio.sleep(STREAM_POLL_S)
        quiet += STREAM_POLL_S
        if quiet >= STREAM_KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet = 0.0
