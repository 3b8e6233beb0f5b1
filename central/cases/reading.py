"""Reading cases for people and screens: views, lights, counts. Personal data stays sealed here;
the store masks it (`central.cases.personal`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from central.cases.casefile import CaseFile
from central.cases.countdown import Countdown
from central.cases.eventlog import LogRecord
from central.cases.stages import LADDER, Stage
from central.cases.stats import where_text
from central.cases.timebase import Instant, datetime_from_instant, format_day
from central.cases.views import CaseLight, CaseView, DecisionView, HoldView, LoggedEvent, StageTimes
from central.reads import built, rows
from central.where import Where
from spine.statement import Tx


def _dt(instant: Instant | None) -> Any:
    return datetime_from_instant(instant) if instant is not None else None


def case_view(file: CaseFile, countdown: Countdown, issued: list[str], now: Instant, *,
              source: str = "", incomplete_since: Instant | None = None) -> CaseView:
    """A case's record as a person may see it, with its light at `now`."""
    return CaseView(
        case_id=file.case_id, hall=file.hall, unit=file.unit, window=file.window,
        matter=file.matter, project_category=file.project_category,
        project_attribute=file.project_attribute, contact_name=file.contact_name,
        contact_phone=file.contact_phone, officer_name=file.officer_name,
        officer_id=file.officer_id, officer_phone=file.officer_phone,
        applied_at=_dt(file.applied_at), accepted_at=_dt(file.accepted_at),
        limit=file.limit.amount, limit_unit=file.limit.unit.value,
        stage=countdown.stage_at(now), frozen_stage=countdown.frozen_stage(),
        due_day=_day(countdown.due_day),
        stages=StageTimes(**{s.value: _dt(countdown.step(s)) for s in LADDER}),
        uncertain_from=_dt(countdown.uncertain_from),
        holds=[HoldView(seq=h.seq, reason=h.reason, note=h.note, start=_dt(h.start),
                        end=_dt(h.end)) for h in file.holds],
        completed_at=_dt(file.completed.at if file.completed else None),
        confirmed_at=_dt(file.confirmed.at if file.confirmed else None),
        awaiting_confirmation=countdown.awaiting_confirmation(),
        days_taken=countdown.days_taken, calendar_days_taken=countdown.calendar_days_taken,
        on_time=countdown.on_time,
        issued=issued,
        corrections=list(file.corrections), warnings=list(file.warnings),
        source=source, data_incomplete_since=_dt(incomplete_since),
        decisions=[DecisionView(seq=d.seq, at=_dt(d.at), matter=d.matter, circumstance=d.circumstance,
                                amount=d.amount, outcome=d.outcome, within=d.within)
                   for d in file.decisions],
    )


def lights(
    connection: Tx,
    *,
    hall: str | None = None,
    unit: str | None = None,
    stages: set[Stage] | None = None,
    include_closed: bool = False,
    limit: int = 10000,
) -> list[CaseLight]:
    """Cases and their lights as of the last tick, most urgent first."""
    where = (Where().equals("hall", hall).equals("unit", unit)
             .one_of("stage", [s.value for s in stages or ()])
             .holds("confirmed_at IS NULL", when=not include_closed))
    narrow, params = where_text(where)
    found = rows(connection, built(text(
        "SELECT case_id, hall, unit, matter, officer, stage, due_day, accepted_at, next_at,"
        " completed_at, confirmed_at FROM cases WHERE 1 = 1" + narrow
        + " ORDER BY CASE stage " + _URGENCY + " END, due_day, case_id LIMIT :limit")),
        {**params, "limit": limit})
    return [
        CaseLight(
            case_id=r[0], hall=r[1], unit=r[2], matter=r[3], officer_name=r[4],
            stage=Stage(r[5]), due_day=_day(r[6]), accepted_at=_dt(r[7]),
            next_change_at=_dt(r[8]),
            awaiting_confirmation=r[9] is not None and r[10] is None,
        )
        for r in found
    ]


def stage_counts(connection: Tx, by: str = "unit", *,
                 include_closed: bool = False) -> dict[str, dict[str, int]]:
    """Number of cases per light, grouped by `hall`, `unit`, `matter` or `officer`."""
    if by not in ("hall", "unit", "matter", "officer"):
        raise ValueError("group by hall, unit, matter or officer")
    where = "" if include_closed else " WHERE confirmed_at IS NULL"
    counts: dict[str, dict[str, int]] = {}
    for group, stage, n in rows(connection, built(text(
        f"SELECT {by}, stage, count(*) FROM cases{where} GROUP BY {by}, stage"
    ))):
        counts.setdefault(group, {})[stage] = n
    return counts


def logged(record: LogRecord) -> LoggedEvent:
    return LoggedEvent(
        seq=record.seq, case_id=record.case_id, kind=record.kind, at=_dt(record.at),
        recorded_at=_dt(record.recorded_at), actor=record.actor, body=record.body,
        hash=record.hash,
    )


def _day(day: int | None) -> str | None:
    return format_day(day) if day is not None else None


_URGENCY = " ".join(
    f"WHEN '{stage.value}' THEN {rank}"
    for rank, stage in enumerate(
        [Stage.SUPERVISION_LETTER, Stage.RED_CARD, Stage.YELLOW_CARD, Stage.RED_LIGHT,
         Stage.YELLOW_LIGHT, Stage.UNCERTAIN, Stage.SUSPENDED, Stage.BLUE, Stage.COMPLETED]
    )
)

