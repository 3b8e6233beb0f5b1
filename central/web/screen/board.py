"""The big screen's board: counts per centre, unit and light, today's and this year's figures, alarms.

Built from what `central.web.api_screen` gathers (the halls' telemetry, queues,
security alarms, the slots' answers) and from a `CaseTally`, whose answers are
already grouped: the work here grows with the number of centres, units and
alarms, never with the number of open cases.

This year's figures are this year before today, recounted at most every
`YearTotals.RECOUNT_S` (history before today changes only by an import), plus
today's, counted at every refresh.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from central.cases.timebase import date_from_day, day_from_date, day_of, format_instant, midnight
from central.web.caseport import OPEN_STAGES
from central.web.labels import STAGE_LOOKS
from central.web.models import AlarmOut, DeviceOut, HallOut
from central.web.screen.models import (
    AlarmList,
    CaseAlarm,
    CentreRow,
    DeviceHealth,
    Figures,
    LegendEntry,
    MatrixCell,
    QueueNow,
    Satisfaction,
    Scope,
    ScreenAnomaly,
    ScreenBoard,
    ScreenProject,
    UnitRow,
)
from central.web.screen.tally import ALARM_STAGES, CaseTally, Place, PlaceCount, PlaceFigures
from contract.privacy import redact

HALL_OFFSET_MIN = 8 * 60
"""Every hall keeps Asia/Shanghai time (no daylight saving since 1991): the countdown's days."""
CASE_ALARMS = 200
"""Most case alarms one board lists; `cases_total` counts them all."""
K = TypeVar("K")
FINE_HEALTH = frozenset({"ready", "ok", "unknown"})
"""Component states that need nobody ("unknown": a backend that cannot report, e.g. a file printer)."""


@dataclass(frozen=True)
class BoardInputs:
    """What the HTTP side gathered for one board (each read once, for every hall at once)."""

    version: int
    now_ms: int
    place: Place
    halls: list[HallOut]
    hall_names: Mapping[str, str]
    queues: Mapping[str, QueueNow]
    security: list[AlarmOut]
    complaints: Mapping[str, tuple[int, int]]
    """hall -> (open, overdue)."""
    anomalies: list[ScreenAnomaly] | None
    projects: list[ScreenProject] | None


class YearTotals:
    """This year's figures before today, per scope, recounted at most every RECOUNT_S seconds."""

    RECOUNT_S = 600.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[Place, int], tuple[float, list[PlaceFigures]]] = {}

    def before_today(self, tally: CaseTally, place: Place, today: int) -> list[PlaceFigures]:
        key = (place, today)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and time.monotonic() - kept[0] < self.RECOUNT_S:
                return kept[1]
            year = day_from_date(date(date_from_day(today).year, 1, 1))
            rows = tally.figures(place, midnight(year), midnight(today))
            if len(self._kept) > 64:
                self._kept.clear()
            self._kept[key] = (time.monotonic(), rows)
            return rows


def build_board(inputs: BoardInputs, tally: CaseTally, totals: YearTotals) -> ScreenBoard:
    now_s = inputs.now_ms // 1000
    today = day_of(now_s)
    place = inputs.place
    places = tally.open_places(place)
    today_rows = tally.figures(place, midnight(today), None)
    year_rows = [*totals.before_today(tally, place, today), *today_rows]
    halls = {h.hall: h for h in inputs.halls}
    names = sorted({*halls, *(p.hall for p in places)} if place.hall is None else {place.hall})
    by_stage = _stage_counts(places)
    by_hall = _grouped(places, lambda p: p.hall)
    today_by_hall: dict[str, list[PlaceFigures]] = {}
    for row in today_rows:
        today_by_hall.setdefault(row.hall, []).append(row)
    return ScreenBoard(
        version=inputs.version,
        now=format_instant(now_s),
        now_ms=inputs.now_ms,
        utc_offset_min=HALL_OFFSET_MIN,
        day=date_from_day(today).isoformat(),
        scope=Scope(hall=place.hall, unit=place.unit),
        legend=legend(),
        open_cases=sum(by_stage.values()),
        counts=by_stage,
        today=_figures(today_rows),
        year=_figures(year_rows),
        centres=[_centre(name, halls.get(name), inputs, by_hall.get(name, Counter()),
                         today_by_hall.get(name, [])) for name in names],
        units=_units(places, year_rows),
        matrix=[MatrixCell(hall=hall, unit=unit, counts=dict(counts))
                for (hall, unit), counts in sorted(_grouped(places, lambda p: (p.hall, p.unit)).items())],
        alarms=AlarmList(
            cases=[CaseAlarm(case_id=a.case_id, hall=a.hall, unit=a.unit, matter=redact(a.matter),
                             officer=a.officer, stage=a.stage,
                             since=a.since * 1000 if a.since is not None else None, due=a.due_day)
                   for a in tally.alarm_cases(place, CASE_ALARMS)],
            cases_total=sum(by_stage[stage] for stage in ALARM_STAGES),
            security=inputs.security,
            anomalies=inputs.anomalies,
        ),
        projects=inputs.projects,
    )


def legend() -> list[LegendEntry]:
    return [LegendEntry(stage=stage, label=look.label, colour=look.colour, shape=look.shape, kind=look.kind)
            for stage, look in sorted(STAGE_LOOKS.items(), key=lambda item: -item[1].severity)]


def _stage_counts(places: Iterable[PlaceCount]) -> dict[str, int]:
    counted: Counter[str] = Counter()
    for p in places:
        counted[p.stage] += p.cases
    return {stage: counted.get(stage, 0) for stage in OPEN_STAGES}


def _grouped(places: Iterable[PlaceCount], key: Callable[[PlaceCount], K]) -> dict[K, Counter[str]]:
    groups: dict[K, Counter[str]] = {}
    for p in places:
        groups.setdefault(key(p), Counter())[p.stage] += p.cases
    return groups


def _figures(rows: Iterable[PlaceFigures]) -> Figures:
    received = completed = on_time = 0
    issued: Counter[str] = Counter()
    for row in rows:
        received += row.received
        completed += row.completed
        on_time += row.on_time
        issued.update(row.issued)
    return Figures(received=received, completed=completed, on_time=on_time,
                   on_time_rate=round(on_time / completed, 4) if completed else None,
                   yellow_cards=issued["yellow_cards"], red_cards=issued["red_cards"],
                   letters=issued["letters"])


def _units(places: list[PlaceCount], year_rows: list[PlaceFigures]) -> list[UnitRow]:
    counts = _grouped(places, lambda p: p.unit)
    year: dict[str, list[PlaceFigures]] = {}
    for row in year_rows:
        year.setdefault(row.unit, []).append(row)
    return [
        UnitRow(unit=unit, open=sum(counts.get(unit, Counter()).values()),
                counts=_all_stages(counts.get(unit, Counter())), year=_figures(year.get(unit, [])))
        for unit in sorted({*counts, *year})
    ]


def _all_stages(counted: Counter[str]) -> dict[str, int]:
    return {stage: counted.get(stage, 0) for stage in OPEN_STAGES}


def _centre(name: str, hall: HallOut | None, inputs: BoardInputs, counted: Counter[str],
            today_rows: list[PlaceFigures]) -> CentreRow:
    complaints_open, complaints_overdue = inputs.complaints.get(name, (0, 0))
    return CentreRow(
        hall=name,
        name=hall.name if hall is not None else inputs.hall_names.get(name, name),
        open=sum(counted.values()),
        counts=_all_stages(counted),
        today=_figures(today_rows),
        queue=_queue(hall, inputs.queues.get(name)),
        satisfaction=_satisfaction(hall),
        devices=_devices(hall),
        complaints_open=complaints_open,
        complaints_overdue=complaints_overdue,
        data_incomplete_since=hall.data_incomplete_since if hall is not None else None,
    )


def _queue(hall: HallOut | None, now: QueueNow | None) -> QueueNow:
    """Today's counts as the hall's own figures say (`QueueToday`), who waits and serves as `now`."""
    today = (hall.queue_today if hall is not None else None) or {}
    now = now or QueueNow()
    return now.model_copy(update={
        "waiting": int(today.get("waiting", now.waiting) or 0),
        "issued": int(today.get("issued") or 0),
        "served": int(today.get("served") or 0),
        "avg_wait_s": today.get("avg_wait_s"),
    })


def _satisfaction(hall: HallOut | None) -> Satisfaction | None:
    ratings = hall.ratings_today if hall is not None else None
    if ratings is None:
        return None
    return Satisfaction(rated=int(ratings.get("rated") or 0), rate=ratings.get("satisfaction_rate"),
                        bad=int(ratings.get("bad") or 0),
                        open_followups=int(ratings.get("open_followups") or 0))


def _devices(hall: HallOut | None) -> DeviceHealth:
    if hall is None:
        return DeviceHealth(gateway_online=None, online=0, total=0, troubled=[])
    return DeviceHealth(gateway_online=hall.gateway_online, online=hall.devices_online,
                        total=len(hall.devices), troubled=[d for d in hall.devices if troubled(d)])


def troubled(device: DeviceOut) -> bool:
    """A device someone should look at: down, unhealthy, losing events, or speaking beyond its role."""
    return (not device.online or device.dropped > 0 or device.refused > 0 or device.quarantined
            or any(h.state not in FINE_HEALTH for h in device.health))
