"""Hall telemetry: devices online and offline with last seen, printer and recorder health, losses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from central.alarms import SecurityAlarm, latest_alarms
from central.telemetry import HallView, hall_views
from central.web.auth import reader
from central.web.context import CentralContext
from central.web.hallfigures import NOTHING_YET
from central.web.models import NOT_FOUND, AlarmOut, DeviceOut, HallOut

HALL_ALARMS = 10
"""The newest security alarms a hall's view lists."""


def alarm_out(alarm: SecurityAlarm) -> AlarmOut:
    return AlarmOut.model_validate(alarm, from_attributes=True)

router = APIRouter(prefix="/api", tags=["halls"], dependencies=[Depends(reader)])


def hall_out(context: CentralContext, view: HallView, now_ms: int,
             queues: dict[str, dict[str, Any]] | None = None) -> HallOut:
    """One hall's view; `queues`, when given, every hall's queue figures of today, asked at once."""
    known = context.hall_completeness(view.hall, now_ms) if context.hall_completeness else None
    return HallOut(
        hall=view.hall,
        name=context.hall_names.get(view.hall, view.hall),
        gateway_online=view.gateway_online,
        gateway_last_seen=view.gateway_last_seen,
        gateway_reason=view.gateway_reason,
        devices_online=view.devices_online,
        devices=[DeviceOut.model_validate(device, from_attributes=True) for device in view.devices],
        ingest=view.ingest,
        dead_letters_at_central=view.dead_letters_at_central,
        refused_at_gateway=view.refused_at_gateway,
        forward_backlog=view.forward_backlog,
        refused_at_central=view.refused_at_central,
        alarms=[alarm_out(a) for a in context.store.read(
            lambda tx: latest_alarms(tx, view.hall, HALL_ALARMS))],
        data_complete_until=known.complete_until if known else None,
        data_incomplete_since=known.incomplete_since if known else None,
        queue_today=_queue_today(context, view.hall, now_ms, queues),
        ratings_today=context.ratings.today(view.hall, now_ms) if context.ratings else None,
    )


def all_halls(context: CentralContext, hall: str | None = None) -> list[HallOut]:
    now = context.clock.wall_ms()
    views = hall_views(context.store, hall)
    known = {view.hall for view in views}
    # Halls named in the configuration show even before their gateway has spoken.
    for name in sorted(set(context.hall_names) - known):
        if hall is None or hall == name:
            views.append(HallView(name, None, None, None, [], {}, 0, 0, None))
    # Every hall's queue figures in one read for a board of many (one hall's alone for one).
    queues = context.queue_today.every_hall(now) if context.queue_today and hall is None else None
    return [hall_out(context, view, now, queues) for view in views]


def _queue_today(context: CentralContext, hall: str, now_ms: int,
                 queues: dict[str, dict[str, Any]] | None) -> dict[str, Any] | None:
    if context.queue_today is None:
        return None
    if queues is None:
        return context.queue_today(hall, now_ms)
    return queues.get(hall, dict(NOTHING_YET))  # no visit there today


@router.get("/halls", response_model=list[HallOut], summary="Every hall's devices, queues and link health")
def halls(request: Request) -> list[HallOut]:
    return all_halls(request.app.state.central)


@router.get("/halls/{hall}", response_model=HallOut, responses=NOT_FOUND, summary="One hall's telemetry")
def hall(request: Request, hall: str) -> HallOut:
    found = all_halls(request.app.state.central, hall)
    if not found:
        raise HTTPException(404, f"no hall {hall!r}")
    return found[0]
