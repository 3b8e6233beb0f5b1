"""The current state of every case, derived from the log: schedule columns and the next-transition index.

`cases.next_at` is the next instant at which a case's light may change or an
escalation fall due; the engine's tick asks the database, source by source, for the
rows with `next_at <= horizon` (an index range on `(source, next_at)`) and
touches nothing else. A case is judged as of its source's horizon, never
ahead of the facts (`central.cases.sources`); a case an unfinished import is
still loading (`held_by`) is not judged at all. Everything here can be
rebuilt from the log. Its statements are written once for SQLite and PostgreSQL
(`spine.statement`, tables in `central.cases.tables`); on PostgreSQL migration 0006
makes the tables.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, bindparam, func, null, select, text

from central.cases.bulk import Rows
from central.cases.calendar import WorkCalendar
from central.cases.cardcounts import ensure_card_counts
from central.cases.casefile import ESCALATED, REMINDER, CaseFile, file_to_json
from central.cases.countdown import CaseClock, Countdown, Suspension, compute
from central.cases.daycounts import ensure_counts
from central.cases.eventlog import CaseLog
from central.cases.notices import DueNotice, due_notices
from central.cases.opencounts import ensure_open_counts
from central.cases.rules import RuleTable
from central.cases.sources import LIVE, is_late
from central.cases.stages import LADDER, Limit, LimitUnit, Stage
from central.cases.tables import CASE_ISSUED, CASES
from central.cases.timebase import Instant, format_day, format_instant
from spine.statement import Statement, Tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY,
    hall TEXT NOT NULL,
    unit TEXT NOT NULL,
    matter TEXT NOT NULL,
    officer TEXT NOT NULL,
    accepted_at INTEGER NOT NULL,
    limit_amount INTEGER NOT NULL,
    limit_unit TEXT NOT NULL,
    holds TEXT,
    completed_at INTEGER,
    confirmed_at INTEGER,
    file TEXT NOT NULL,
    digest TEXT NOT NULL,
    stage TEXT NOT NULL,
    due_day INTEGER,
    yellow_light_at INTEGER,
    red_light_at INTEGER,
    yellow_card_at INTEGER,
    red_card_at INTEGER,
    supervision_letter_at INTEGER,
    uncertain_from INTEGER,
    frozen_since INTEGER,
    on_time INTEGER,
    days_taken INTEGER,
    next_at INTEGER,
    last_seq INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    held_by TEXT
);
CREATE INDEX IF NOT EXISTS cases_hall_stage ON cases(hall, stage);
CREATE INDEX IF NOT EXISTS cases_unit_stage ON cases(unit, stage);
CREATE INDEX IF NOT EXISTS cases_accepted ON cases(accepted_at);
CREATE INDEX IF NOT EXISTS cases_completed ON cases(completed_at) WHERE completed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS case_issued (
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    escalation INTEGER NOT NULL,
    PRIMARY KEY (case_id, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_issued_due ON case_issued(due_at);
CREATE TABLE IF NOT EXISTS case_personal (
    seq INTEGER NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (seq, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS case_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
INDEXES = """
DROP INDEX IF EXISTS cases_next;
CREATE INDEX IF NOT EXISTS cases_due ON cases(source, next_at) WHERE next_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_held ON cases(held_by) WHERE held_by IS NOT NULL;
"""
ADDED_COLUMNS = (("source", "TEXT NOT NULL DEFAULT ''"), ("held_by", "TEXT"))
"""Columns a store written before sources existed lacks: its cases are all LIVE."""


def ensure_schema(connection: Tx) -> None:
    """Create the projection's tables, adding what an older store lacks (on SQLite: on
    PostgreSQL the migrations make them)."""
    if not isinstance(connection, sqlite3.Connection):
        return
    connection.executescript(SCHEMA)
    have = {row[1] for row in connection.execute("PRAGMA table_info(cases)")}
    for name, kind in ADDED_COLUMNS:
        if name not in have:
            connection.execute(f"ALTER TABLE cases ADD COLUMN {name} {kind}")
    connection.executescript(INDEXES)
    ensure_counts(connection)
    ensure_open_counts(connection)
    ensure_card_counts(connection)


STEP_COLUMNS = tuple(f"{stage.value}_at" for stage in LADDER)
CLOCK_COLUMNS = (
    "case_id, accepted_at, limit_amount, limit_unit, holds, completed_at, confirmed_at, stage"
)
DUE_COLUMNS = CLOCK_COLUMNS + ", unit, officer"
JUDGE_COLUMNS = CLOCK_COLUMNS + ", source, held_by"
"""A case's clock, then whose facts it waits for: what a recomputation needs."""
_C = CASES.c
CLOCK = tuple(_C[name] for name in CLOCK_COLUMNS.split(", "))
DUE = (*CLOCK, _C.unit, _C.officer)
JUDGE = (*CLOCK, _C.source, _C.held_by)
"""The columns of CLOCK_COLUMNS, DUE_COLUMNS and JUDGE_COLUMNS, for statements in Core."""


def suspensions_to_json(clock: CaseClock) -> str | None:
    if not clock.suspensions:
        return None
    return json.dumps([[h.start, h.end] for h in clock.suspensions])


def clock_from_row(row: tuple[Any, ...]) -> CaseClock:
    """A CaseClock from (accepted_at, limit_amount, limit_unit, holds, completed_at, confirmed_at)."""
    accepted_at, amount, unit, holds, completed_at, confirmed_at = row
    return CaseClock(
        accepted_at,
        Limit(amount, LimitUnit(unit)),
        tuple(Suspension(s, e) for s, e in json.loads(holds)) if holds else (),
        completed_at,
        confirmed_at,
    )


@dataclass(frozen=True)
class IssuedNotice:
    """An escalation or reminder appended to the log."""

    kind: str
    due_at: Instant
    seq: int


@dataclass
class PendingWrites:
    """Rows a batch refresh writes at the end with executemany, instead of one call per row."""

    events: list[dict[str, Any]] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _PendingRow:
    """A held case's row, to be written when its transaction ends."""

    file: CaseFile
    digest: str
    seq: int
    source: str
    held_by: str
    new: bool
    """Not in the table yet: inserted."""
    moved: bool
    """A correction changed its place columns (hall, unit...): those are written too."""


@dataclass(frozen=True)
class Refreshed:
    """A case after the projection caught up with it."""

    case_id: str
    stage_before: Stage | None
    stage: Stage
    countdown: Countdown | None
    """None when the case was not judged (its facts are not known complete)."""
    issued: tuple[IssuedNotice, ...]


class Projector:
    """Keeps the projection rows of cases current and issues what falls due."""

    def __init__(
        self, connection: Tx, log: CaseLog, calendar: WorkCalendar,
        rules: RuleTable,
    ) -> None:
        self.connection = connection
        self.log = log
        self.calendar = calendar
        self.rules = rules
        self._pending: dict[str, _PendingRow] = {}
        ensure_schema(connection)

    def issued_in_order(self, case_id: str) -> list[str]:
        rows = _ISSUED_OF.run(self.connection, {"case_id": case_id}).fetchall()
        return [row[0] for row in rows]

    def issued(self, case_id: str) -> set[str]:
        return set(self.issued_in_order(case_id))

    def write_file(
        self, file: CaseFile, digest: str, seq: int, now: Instant, *, source: str = LIVE,
        held_by: str | None = None, at: Instant | None = None, before: CaseFile | None = None,
        stage_before: Stage | None = None,
    ) -> Refreshed:
        """Store a case's facts after one of its events, then judge it as of `at`.

        `source` is whose facts the case waits for; `before` is the case as it was
        stored, with `stage_before` its light (None: a new case). With `at` None the
        case is not judged now: while `held_by` an unfinished import it is left out
        of every tick (`next_at` NULL), and its row is written once when the
        transaction ends (`flush`); otherwise it is due as soon as its source's
        horizon reaches its acceptance.
        """
        clock = file.clock()
        if held_by is not None:
            earlier = self._pending.get(file.case_id)
            self._pending[file.case_id] = _PendingRow(
                file, digest, seq, source, held_by,
                new=before is None or (earlier is not None and earlier.new),
                moved=(earlier is not None and earlier.moved)
                or (before is not None and _place_values(before) != _place_values(file)),
            )
            return Refreshed(file.case_id, stage_before, stage_before or Stage.BLUE, None, ())
        self.flush()
        facts = _facts(suspensions_to_json(clock), clock.completed_at, clock.confirmed_at,
                       file_to_json(file), seq, source, None, clock.accepted_at)
        if before is None:
            _INSERT_CASE.run(self.connection, {
                "case_id": file.case_id, **_place_values(file), "digest": digest, **facts})
        elif _place_values(before) == _place_values(file):
            # Only the clock moved: leave the columns (and indexes) of hall, unit... alone.
            _UPDATE_FACTS.run(self.connection, {**facts, "id": file.case_id})
        else:
            _UPDATE_FACTS_AND_PLACE.run(self.connection, {
                **facts, **_place_values(file), "id": file.case_id})
        if at is None:
            return Refreshed(file.case_id, stage_before, stage_before or Stage.BLUE, None, ())
        return self.refresh(
            file.case_id, clock, stage_before, at, now, (file.unit, file.officer_name),
        )

    def flush(self) -> None:
        """Write the rows of held cases buffered in this transaction."""
        if not self._pending:
            return
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        moves: list[dict[str, Any]] = []
        for row in self._pending.values():
            file, clock = row.file, row.file.clock()
            facts = _facts(suspensions_to_json(clock), clock.completed_at, clock.confirmed_at,
                           file_to_json(file), row.seq, row.source, row.held_by, None)
            if row.new:
                inserts.append({"case_id": file.case_id, **_place_values(file),
                                "digest": row.digest, **facts, "stage": Stage.BLUE.value})
            elif row.moved:
                moves.append({**facts, **_place_values(file), "id": file.case_id})
            else:
                updates.append({**facts, "id": file.case_id})
        self._pending.clear()
        _INSERT_CASES.write(self.connection, inserts)
        _UPDATE_FACTS_ALL.write(self.connection, updates)
        _UPDATE_FACTS_AND_PLACE_ALL.write(self.connection, moves)

    def forget(self) -> None:
        """Drop buffered rows: their transaction was rolled back."""
        self._pending.clear()

    def refresh(
        self,
        case_id: str,
        clock: CaseClock,
        stage_before: Stage | None,
        at: Instant,
        now: Instant,
        owner: tuple[str, str] | None = None,
        issued: set[str] | None = None,
        pending: PendingWrites | None = None,
    ) -> Refreshed:
        """Judge one case as of `at` (its source's horizon), issue what was due by then with
        `now` as the instant it was recorded, store the result."""
        countdown = compute(clock, self.calendar, self.rules.ladder)
        if issued is None:
            issued = self.issued(case_id)
        notices = due_notices(countdown, issued, at, self.rules.escalations)
        records = tuple(
            self._issue(case_id, countdown, notice, now, owner, pending) for notice in notices
        )
        stage = countdown.stage_at(at)
        update = {
            "stage": stage.value, "due_day": countdown.due_day,
            **dict(zip(STEP_COLUMNS, countdown.starts, strict=True)),
            "uncertain_from": countdown.uncertain_from, "frozen_since": countdown.frozen_since,
            "on_time": _flag(countdown.on_time), "days_taken": countdown.days_taken,
            "next_at": countdown.next_change_after(at), "id": case_id,
        }
        if pending is None:
            _UPDATE.run(self.connection, update)
        else:
            pending.updates.append(update)
        return Refreshed(case_id, stage_before, stage, countdown, records)

    def _issue(
        self, case_id: str, countdown: Countdown, notice: DueNotice, now: Instant,
        owner: tuple[str, str] | None, pending: PendingWrites | None,
    ) -> IssuedNotice:
        if owner is None:
            found = _OWNER.run(self.connection, {"case_id": case_id}).fetchone()
            owner = (str(found[0]), str(found[1])) if found else None
        unit, officer = owner if owner else ("", "")
        body = {
            "case_id": case_id,
            "kind": notice.kind,
            "due_at": format_instant(notice.due_at),
            "due_day": format_day(countdown.due_day) if countdown.due_day is not None else None,
            "unit": unit,
            "officer_name": officer,
            "late": is_late(self.rules.watermark, notice.due_at, now),
        }
        record = self.log.append(
            case_id, ESCALATED if notice.escalation else REMINDER, notice.due_at, "engine", body,
            now, pending.events if pending is not None else None,
        )
        issued = {"case_id": case_id, "kind": notice.kind, "due_at": notice.due_at,
                  "seq": record.seq, "escalation": int(notice.escalation)}
        if pending is None:
            _INSERT_ISSUED.run(self.connection, issued)
        else:
            pending.issued.append(issued)
        return IssuedNotice(notice.kind, notice.due_at, record.seq)

    def due_rows(self, source: str, at: Instant, limit: int) -> list[tuple[Any, ...]]:
        """Cases of `source` whose next transition has come by `at`, earliest first."""
        self.flush()
        return [tuple(row) for row in _DUE.run(
            self.connection, {"source": source, "at": at, "limit": limit}).fetchall()]

    def refresh_rows(self, rows: list[tuple[Any, ...]], at: Instant, now: Instant
                     ) -> list[Refreshed]:
        """Judge due rows (DUE_COLUMNS) as of `at`, reading what they were issued in one query."""
        issued: dict[str, set[str]] = {row[0]: set() for row in rows}
        if rows:
            ids = json.dumps([row[0] for row in rows])
            for case_id, kind in _ISSUED_AMONG.run(self.connection, {"ids": ids}).fetchall():
                issued[case_id].add(kind)
        pending = PendingWrites()
        refreshed = [
            self.refresh(row[0], clock_from_row(row[1:7]), Stage(row[7]), at, now,
                         (row[8], row[9]), issued[row[0]], pending)
            for row in rows
        ]
        self.log.insert_many(pending.events)
        _ISSUED_ALL.write(self.connection, pending.issued)
        _UPDATE_ALL.write(self.connection, pending.updates)
        return refreshed

    def held(self) -> dict[str, int]:
        """Unfinished imports and how many cases each holds (one that died holds them still)."""
        self.flush()
        return {str(held_by): int(n) for held_by, n in _HELD.run(self.connection).fetchall()}

    def release(self, held_by: str) -> int:
        """An import finished: its cases take part in ticks again, due from their acceptance."""
        self.flush()
        return _RELEASE.run(self.connection, {"run": held_by}).rowcount


_FACT_COLUMNS = ("holds", "completed_at", "confirmed_at", "file", "last_seq", "source", "held_by",
                 "next_at")
_PLACE_COLUMNS = ("hall", "unit", "matter", "officer", "accepted_at", "limit_amount", "limit_unit")
_JUDGED_COLUMNS = ("stage", "due_day", *STEP_COLUMNS, "uncertain_from", "frozen_since", "on_time",
                   "days_taken", "next_at")
"""What a judgement writes (`refresh`)."""


def _set(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: bindparam(name) for name in names}


def _updating(names: tuple[str, ...]) -> Executable:
    return CASES.update().where(_C.case_id == bindparam("id")).values(_set(names))


_UPDATE = Statement(lambda _dialect: _updating(_JUDGED_COLUMNS))
_INSERT_CASE = Statement(lambda _dialect: CASES.insert().values(
    {**_set(("case_id", *_PLACE_COLUMNS, "digest", *_FACT_COLUMNS)), "stage": Stage.BLUE.value}))
_UPDATE_FACTS = Statement(lambda _dialect: _updating(_FACT_COLUMNS))
_UPDATE_FACTS_AND_PLACE = Statement(lambda _dialect: _updating((*_FACT_COLUMNS, *_PLACE_COLUMNS)))
_I = CASE_ISSUED.c
_INSERT_ISSUED = Statement(lambda _dialect: CASE_ISSUED.insert().values(
    _set(("case_id", "kind", "due_at", "seq", "escalation"))))
_INSERT_CASES = Rows(_INSERT_CASE, CASES,
                     ("case_id", *_PLACE_COLUMNS, "digest", *_FACT_COLUMNS, "stage"))
_UPDATE_FACTS_ALL = Rows(_UPDATE_FACTS, CASES, _FACT_COLUMNS, key=("id", "case_id"))
_UPDATE_FACTS_AND_PLACE_ALL = Rows(_UPDATE_FACTS_AND_PLACE, CASES, (*_FACT_COLUMNS, *_PLACE_COLUMNS),
                                   key=("id", "case_id"))
"""An import's held cases, written once when its transaction ends (`flush`)."""
_ISSUED_ALL = Rows(_INSERT_ISSUED, CASE_ISSUED, ("case_id", "kind", "due_at", "seq", "escalation"))
_UPDATE_ALL = Rows(_UPDATE, CASES, _JUDGED_COLUMNS, key=("id", "case_id"))
_ISSUED_OF = Statement(lambda _dialect: select(_I.kind).where(
    _I.case_id == bindparam("case_id")).order_by(_I.seq))
_AMONG = {
    # A batch's case ids travel as one JSON array: one statement, compiled once, for any batch.
    "sqlite": "case_id IN (SELECT value FROM json_each(:ids))",
    "postgresql": "case_id IN (SELECT json_array_elements_text(CAST(:ids AS json)))",
}
_ISSUED_AMONG = Statement(lambda dialect: select(_I.case_id, _I.kind).where(text(_AMONG[dialect])))
_OWNER = Statement(lambda _dialect: select(_C.unit, _C.officer).where(
    _C.case_id == bindparam("case_id")))
_DUE = Statement(lambda _dialect: select(*DUE).where(
    _C.source == bindparam("source"), _C.next_at.is_not(None), _C.next_at <= bindparam("at"),
).order_by(_C.next_at).limit(bindparam("limit")))
_HELD = Statement(lambda _dialect: select(_C.held_by, func.count()).where(
    _C.held_by.is_not(None)).group_by(_C.held_by))
_RELEASE = Statement(lambda _dialect: CASES.update().where(
    _C.held_by == bindparam("run")).values(held_by=null(), next_at=_C.accepted_at))


def _facts(holds: str | None, completed_at: Instant | None, confirmed_at: Instant | None,
           file: str, last_seq: int, source: str, held_by: str | None,
           next_at: Instant | None) -> dict[str, Any]:
    """The values of _FACT_COLUMNS: what a case's events change."""
    return dict(zip(_FACT_COLUMNS, (holds, completed_at, confirmed_at, file, last_seq, source,
                                    held_by, next_at), strict=True))


def _place_values(file: CaseFile) -> dict[str, Any]:
    """The values of _PLACE_COLUMNS: what a case's row says besides its clock (only a
    correction changes them)."""
    limit = file.limit
    return dict(zip(_PLACE_COLUMNS, (file.hall, file.unit, file.matter, file.officer_name,
                                     file.accepted_at, limit.amount, limit.unit.value), strict=True))


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)
