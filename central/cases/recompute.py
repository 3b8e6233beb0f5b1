"""When the calendar or the rule table changes: recompute the cases it touches, and log that it did.

The store remembers a digest of each calendar year it last used. A year that
was added (an operator's schedule file for a year the package does not know)
or changed moves deadlines of the cases whose schedule spans it, above all
the *uncertain* ones; each case whose due day or light changes gets a
`case.recomputed` record, and the update itself a `calendar.updated` record.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable, bindparam, or_, select

from central.cases.casefile import CALENDAR_UPDATED, RECOMPUTED, RULES_UPDATED
from central.cases.projection import JUDGE, clock_from_row
from central.cases.stages import Stage
from central.cases.tables import CASE_META, CASES
from central.cases.timebase import Instant, day_from_date, format_day, midnight
from spine.statement import Statement, insert_for

if TYPE_CHECKING:
    from central.cases.calendar import WorkCalendar
    from central.cases.store import CaseStore

log = logging.getLogger(__name__)

_BATCH = 2000
_C, _M = CASES.c, CASE_META.c
_META = Statement(lambda _dialect: select(_M.value).where(_M.key == bindparam("key")))


def _meta_kept(dialect: str) -> Executable:
    insert = insert_for(dialect, CASE_META).values(key=bindparam("key"), value=bindparam("value"))
    return insert.on_conflict_do_update(index_elements=[_M.key], set_={"value": insert.excluded.value})


_KEEP_META = Statement(_meta_kept)
_SPANNING = Statement(lambda _dialect: select(*JUDGE, _C.due_day).where(
    _C.case_id > bindparam("after"), _C.accepted_at < bindparam("end"),
    or_(_C.confirmed_at.is_(None), (_C.completed_at.is_not(None) & _C.on_time.is_(None))),
    or_(_C.uncertain_from.is_not(None), _C.supervision_letter_at.is_(None),
        _C.supervision_letter_at >= bindparam("start")),
).order_by(_C.case_id).limit(bindparam("limit")))
"""Open cases (and closed ones with an unknown on-time) whose schedule may reach changed years."""
_OPEN = Statement(lambda _dialect: select(*JUDGE).where(
    _C.case_id > bindparam("after"), _C.confirmed_at.is_(None)).order_by(_C.case_id).limit(
    bindparam("limit")))
_DUE_FROM_ACCEPTANCE = Statement(lambda _dialect: CASES.update().where(
    _C.case_id == bindparam("id")).values(next_at=_C.accepted_at))


@dataclass(frozen=True)
class CalendarUpdate:
    years_changed: tuple[int, ...]
    recomputed: int
    """Cases whose due day or light changed."""
    examined: int


def _year_digests(calendar: WorkCalendar) -> dict[str, str]:
    return {str(y): calendar.schedules[y].digest() for y in calendar.years}


def _stored_digests(store: CaseStore) -> dict[str, str] | None:
    row = _META.run(store.connection, {"key": "calendar_years"}).fetchone()
    return json.loads(row[0]) if row else None


def sync_calendar(store: CaseStore, now: Instant) -> CalendarUpdate | None:
    """Recompute what the store's calendar changed since it was last used; None if nothing did."""
    previous = _stored_digests(store)
    current = _year_digests(store.calendar)
    if previous == current:
        return None
    changed = sorted(
        int(y) for y in set(current) | set(previous or {})
        if (previous or {}).get(y) != current.get(y)
    )
    examined = recomputed = 0
    if previous is not None and changed:
        examined, recomputed = _recompute_span(store, changed, now)
    fingerprint = store.calendar.fingerprint()
    with store.writing() as connection:
        if _stored_digests(store) == current:
            return None  # another central process, starting at the same time, logged it first
        store.log.append(
            None, CALENDAR_UPDATED, None, "engine",
            {
                "fingerprint": fingerprint,
                "years": [min(store.calendar.years), max(store.calendar.years)]
                if store.calendar.years else [],
                "years_changed": changed if previous is not None else [],
                "sources": sorted({s.source for s in store.calendar.schedules.values()}),
                "examined": examined,
                "recomputed": recomputed,
            },
            now,
        )
        _KEEP_META.run(connection, {"key": "calendar_years", "value": json.dumps(current)})
    if previous is not None:
        log.info("calendar %s: years %s changed, %d of %d cases recomputed",
                 fingerprint, changed, recomputed, examined)
    return CalendarUpdate(tuple(changed), recomputed, examined)


def _recompute_span(store: CaseStore, years: list[int], now: Instant) -> tuple[int, int]:
    """Recompute open cases (and closed ones with an unknown on-time) that reach the changed years."""
    start = midnight(day_from_date(date(years[0], 1, 1)))
    end = midnight(day_from_date(date(years[-1] + 1, 1, 1)))
    after = ""
    examined = recomputed = 0
    while True:
        with store.writing() as connection:
            rows = _SPANNING.run(connection, {"after": after, "end": end, "start": start,
                                              "limit": _BATCH}).fetchall()
            if not rows:
                return examined, recomputed
            for row in rows:
                examined += 1
                before_stage, before_due = Stage(row[7]), row[10]
                at = _judged_at(store, row, now)
                if at is None:
                    continue
                refreshed = store.projector.refresh(row[0], clock_from_row(row[1:7]),
                                                    before_stage, at, now)
                assert refreshed.countdown is not None
                if refreshed.stage != before_stage or refreshed.countdown.due_day != before_due:
                    recomputed += 1
                    store.log.append(
                        row[0], RECOMPUTED, None, "engine",
                        {
                            "case_id": row[0],
                            "calendar": store.calendar.fingerprint(),
                            "due_before": format_day(before_due) if before_due is not None
                            else None,
                            "due_after": format_day(refreshed.countdown.due_day)
                            if refreshed.countdown.due_day is not None else None,
                            "stage_before": before_stage.value,
                            "stage_after": refreshed.stage.value,
                        },
                        now,
                    )
            after = rows[-1][0]


def reevaluate_open(store: CaseStore, now: Instant, batch: int = _BATCH) -> int:
    """Recompute every open case from its facts (after a rule change); returns how many."""
    after = ""
    total = 0
    while True:
        with store.writing() as connection:
            rows = _OPEN.run(connection, {"after": after, "limit": batch}).fetchall()
            if not rows:
                return total
            for row in rows:
                at = _judged_at(store, row, now)
                if at is not None:
                    store.projector.refresh(row[0], clock_from_row(row[1:7]), Stage(row[7]),
                                            at, now)
            total += len(rows)
            after = rows[-1][0]


def _judged_at(store: CaseStore, row: tuple[Any, ...], now: Instant) -> Instant | None:
    """The instant a case (JUDGE_COLUMNS) may be judged as of, or None: then it is left due,
    to be judged as soon as its source's facts allow (an import holding it releases it)."""
    source, held_by = row[8], row[9]
    at = None if held_by is not None else store.sources.horizon(source, now)
    if at is None and held_by is None:
        _DUE_FROM_ACCEPTANCE.run(store.connection, {"id": row[0]})
    return at


def sync_rules(store: CaseStore, now: Instant) -> int | None:
    """If the rule table changed since the store last ran, re-evaluate open cases and log it."""
    digest = hashlib.sha256(store.rules.model_dump_json().encode()).hexdigest()[:16]
    row = _META.run(store.connection, {"key": "rules_digest"}).fetchone()
    previous = row[0] if row else None
    if previous == digest:
        return None
    count = reevaluate_open(store, now) if previous is not None else 0
    with store.writing() as connection:
        again = _META.run(connection, {"key": "rules_digest"}).fetchone()
        if again is not None and again[0] == digest:
            return None  # another central process, starting at the same time, logged it first
        store.log.append(None, RULES_UPDATED, None, "engine",
                         {"digest": digest, "previous": previous, "reevaluated": count}, now)
        _KEEP_META.run(connection, {"key": "rules_digest", "value": digest})
    if previous is not None:
        log.info("rule table %s replaces %s: %d open cases re-evaluated", digest, previous, count)
    return count


def update_calendar(store: CaseStore, calendar: WorkCalendar, now: Instant) -> CalendarUpdate | None:
    """Switch the store to a new calendar (e.g. after adding a year's schedule file)."""
    store.calendar = calendar
    store.projector.calendar = calendar
    return sync_calendar(store, now)
