"""CaseStore: the central supervision records of cases, in their own SQLite file or in
central's PostgreSQL database (`central.cases.database`).

Every door (HTTP API, JSON Lines import, protocol events from halls) calls
the methods here, so every entry passes the same validation. Facts are
appended to the hash-chained log and folded into the projection in one
durable transaction; nothing is ever updated in place. Each fact names its
source, and a case is judged only as far as its source's facts are known
(`central.cases.sources`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, func, select

from central.cases import casefile as cf
from central.cases.calendar import WorkCalendar, load_calendar
from central.cases.casefile import CaseFile, CaseRuleError, file_from_json, fold
from central.cases.countdown import Countdown, compute
from central.cases.database import (
    CaseDatabase,
    Liveness,
    dialect,
    in_transaction,
    open_case_database,
    transaction,
)
from central.cases.eventlog import CaseLog
from central.cases.personal import PersonalData
from central.cases.plausibility import EntryWarning, entry_warnings, event_time_problem
from central.cases.projection import Projector, Refreshed
from central.cases.reading import case_view, lights, logged, stage_counts
from central.cases.rules import RuleTable, default_rules
from central.cases.sources import LIVE, SourceBook
from central.cases.stages import Limit, LimitUnit, Stage
from central.cases.stats import Figures, statistics
from central.cases.tables import CASES
from central.cases.timebase import Instant, format_instant
from central.cases.views import CaseLight, CaseView, LoggedEvent, Recorded
from central.chain import Head, VerifyReport, verify_chain
from central.discretion import Standards, UnknownStandard, default_standards
from contract.events.cases import (
    CaseAccepted,
    CaseCompleted,
    CaseCompletionConfirmed,
    CaseCorrected,
    CaseDecided,
    CaseResumed,
    CaseSuspended,
)
from spine.statement import Statement, Tx
from spine.storeurl import StoreUrl

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)

# The entry schema checks a correction's changes; the sealed values it does not change stand in
# as placeholders (never stored: only the changed fields are).
_PLACEHOLDER_PHONE = "13800000000"
_PLACEHOLDER_NAME = "某"
_C = CASES.c
_STORED = Statement(lambda _dialect: select(_C.file, _C.digest, _C.source, _C.held_by, _C.stage).where(
    _C.case_id == bindparam("case_id")))
_STORED_AMONG = Statement(lambda _dialect: select(
    _C.case_id, _C.file, _C.digest, _C.source, _C.held_by, _C.stage).where(
    _C.case_id == func.any(bindparam("ids"))))
"""PostgreSQL only (`= ANY(array)`): an import's chunk reads its stored cases at once."""
_CLAIMED = Statement(lambda _dialect: CASES.update().where(_C.case_id == bindparam("id")).values(
    held_by=bindparam("run")))
_OPEN_COUNT = Statement(lambda _dialect: select(func.count()).select_from(CASES).where(
    _C.confirmed_at.is_(None)))


class EntryRejected(ValueError):
    """An entry refused: schema errors, a strict entry with warnings, or a forbidden event."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CaseConflict(ValueError):
    """The case id is taken by a different case; a change to an entered case is a correction."""


class UnknownCase(LookupError):
    pass


def _instant(value: Any) -> Instant:
    return cf.to_instant(value)


class CaseStore:
    """Case records, their log and their lights; see docs/countdown.md for the whole API."""

    def __init__(
        self,
        connection: Tx,
        *,
        calendar: WorkCalendar,
        rules: RuleTable,
        clock: Callable[[], float] = time.time,
        standards: Standards | None = None,
        closing: Callable[[], None] | None = None,
    ) -> None:
        self.connection = connection
        self._closing = closing or _closer(connection)
        if isinstance(connection, sqlite3.Connection):
            # A bigger page cache than SQLite's 2 MB default: a tick touches rows
            # scattered over the whole table (they are due together, not stored together).
            connection.execute("PRAGMA cache_size=-65536")
        self.calendar = calendar
        self.rules = rules
        self.clock = clock
        self.standards = standards or default_standards()
        """The discretionary standards every `case.decided` is measured against (docs/supervision.md)."""
        self.log = CaseLog(connection)
        self.projector = Projector(connection, self.log, calendar, rules)
        self.personal = PersonalData(connection)
        self.sources = SourceBook(connection, rules.watermark)
        self.liveness: Liveness | None = None
        """On PostgreSQL: reconnects the store's connection after the server was lost."""
        self._held: dict[str, tuple[CaseFile, str, _Place]] = {}
        self._prefetched: dict[str, Any] = {}
        """Stored rows an import's chunk read at once (PostgreSQL), until the case is written."""
        self._log_rows: list[dict[str, Any]] = []
        """Log records an import appended in the open transaction, written at its end."""
        """Cases an import holds, as written in the open transaction: read back from here,
        their rows written once at its end (an import touches a case several times a chunk)."""

    @classmethod
    def open(
        cls,
        path: str | Path | StoreUrl,
        *,
        calendar: WorkCalendar | None = None,
        calendar_dir: Path | None = None,
        rules: RuleTable | None = None,
        clock: Callable[[], float] = time.time,
    ) -> CaseStore:
        """Open (creating) the store. `Engine.open` also brings its cases up to a calendar or rule
        table that changed since the last time (`central.cases.recompute`).

        `path` is the store's SQLite file, or a store URL: a SQLite file, or central's
        PostgreSQL database at the newest schema (`hall central migrate`). Without
        `calendar` or `calendar_dir`, schedule files are read from the `calendar/`
        folder beside a SQLite file, so every process that opens the same store sees
        the same calendar (on PostgreSQL, each process names its folder: central's
        `calendar_dir`; without one, the package's years).
        """
        file = path.path if isinstance(path, StoreUrl) else Path(path)
        if calendar is None and calendar_dir is None and file is not None:
            calendar_dir = file.parent / "calendar"
        database: CaseDatabase = open_case_database(path)
        store = cls(
            database.tx,
            calendar=calendar or load_calendar(calendar_dir),
            rules=rules or default_rules(),
            clock=clock,
            closing=database.close,
        )
        store.liveness = database.liveness
        return store

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`: where the store is."""
        return dialect(self.connection)

    def close(self) -> None:
        self._closing()

    def ready(self) -> None:
        """Before a read or a write transaction: on PostgreSQL, a connection lost with the
        server is replaced (`central.cases.database.Liveness`); nothing on SQLite."""
        if self.liveness is not None:
            self.liveness.check()

    def now(self) -> Instant:
        return int(self.clock())

    @contextmanager
    def writing(self) -> Iterator[Tx]:
        """One durable write transaction, with the log head read afresh.

        Nested use joins the open transaction: a bulk import commits many
        entries at once, and every refusal is raised before anything is written.
        """
        if in_transaction(self.connection):
            yield self.connection
            return
        self.ready()
        with transaction(self.connection) as connection:
            self.log.reload()
            try:
                yield connection
                self._write_queued()
                self.projector.flush()
            finally:
                self._held.clear()
                self._prefetched.clear()
                self._log_rows.clear()
                self.personal.forget()
                self.projector.forget()

    def _write_queued(self) -> None:
        """What an import queued in this transaction: its log records, each table one statement
        (`central.cases.bulk`), and its new keys and index rows."""
        if self._log_rows:
            self.log.insert_many(self._log_rows)
            self._log_rows.clear()
        self.personal.flush()

    def prefetch(self, case_ids: list[str]) -> None:
        """An import's chunk is about to enter these cases: read their keys, and on PostgreSQL
        their stored rows, at once (there each read is a round trip; SQLite's cost microseconds)."""
        self.personal.prefetch(case_ids)
        if self.dialect != "postgresql" or not case_ids:
            return
        self._prefetched = dict.fromkeys(case_ids)
        for row in _STORED_AMONG.run(self.connection, {"ids": case_ids}).fetchall():
            self._prefetched[row[0]] = tuple(row[1:])

    def _stored(self, case_id: str) -> Any:
        """The stored row of a case (`_STORED`'s columns), from an import's prefetch if it has it."""
        if case_id in self._prefetched:
            return self._prefetched[case_id]
        return _STORED.run(self.connection, {"case_id": case_id}).fetchone()

    # -- entering cases -----------------------------------------------------------------

    def contact_phone(self, case_id: str) -> str | None:
        """The clear contact phone, for the SMS notifier only; never shown or logged."""
        return self.contact(case_id)["contact_phone"]

    def contact(self, case_id: str) -> dict[str, str | None]:
        """The contact's name and phone in clear: for the supervisor calling back and the SMS
        notifier only; `(erased)` once erased."""
        self.ready()
        file = self.file(case_id)
        return self.personal.contact(case_id, file.contact_name, file.contact_phone)

    def check_entry(self, entry: CaseAccepted, now: Instant | None = None) -> list[EntryWarning]:
        """Warnings about an entry, without storing it (the API's validate call)."""
        return entry_warnings(
            matter=entry.matter,
            applied_at=_instant(entry.applied_at),
            accepted_at=_instant(entry.accepted_at),
            limit=Limit(entry.limit, LimitUnit(entry.limit_unit)),
            calendar=self.calendar,
            rules=self.rules,
            now=self.now() if now is None else now,
        )

    def submit(
        self, entry: CaseAccepted | Mapping[str, Any], *, now: Instant | None = None,
        strict: bool = False, source: str = LIVE, import_run: str | None = None,
    ) -> Recorded:
        """Enter a case. Resubmitting the same case is harmless; a different one with its id is not.

        `source` says whose facts the case waits for (LIVE: stated as they happen);
        `import_run` names an unfinished import that holds the case until it ends.
        """
        case = _parse(CaseAccepted, entry)
        now = self.now() if now is None else now
        warnings = self.check_entry(case, now)
        if strict and warnings:
            raise EntryRejected([str(w) for w in warnings])
        with self.writing():
            held = self._held.get(case.case_id)
            stored = None if held else self._stored(case.case_id)
            existing = (held[1], held[2].stage, held[2].held_by) if held else (
                None if stored is None else (stored[1], stored[4], stored[3]))
            if existing is not None:
                if not self.personal.same_entry(existing[0], case):
                    raise CaseConflict(
                        f"case {case.case_id} was entered with other facts; file a correction"
                    )
                self._claim(case.case_id, existing[2], import_run)
                return Recorded(case_id=case.case_id, seq=None, duplicate=True,
                                stage=Stage(existing[1] or Stage.BLUE))
            sealer = self.personal.sealer(case.case_id, batched=import_run is not None)
            digest = self.personal.entry_digest(case, sealer)
            body: dict[str, Any] = case.model_dump(mode="json", exclude={"by"})
            body["applied_at"] = format_instant(_instant(case.applied_at))
            body["accepted_at"] = format_instant(_instant(case.accepted_at))
            body["warnings"] = [str(w) for w in warnings]
            self.personal.seal_fields(case.case_id, body, sealer)
            accepted_at = _instant(case.accepted_at)
            record = self.log.append(case.case_id, cf.ACCEPTED, accepted_at, case.by, body, now,
                                     self._queue(import_run))
            file = fold(None, record.seq, cf.ACCEPTED, accepted_at, body)
            refreshed = self._write(None, file, digest, record.seq, now,
                                    _Place(LIVE, None, None), source, import_run)
        return _recorded(case.case_id, record.seq, refreshed, file.warnings)

    def suspend(self, event: CaseSuspended | Mapping[str, Any], *, now: Instant | None = None,
                source: str = LIVE, import_run: str | None = None) -> Recorded:
        fact = _parse(CaseSuspended, event)
        if fact.reason not in self.rules.suspension_reasons:
            raise EntryRejected(
                [f"reason {fact.reason!r} is not a legal suspension reason; one of "
                 f"{list(self.rules.suspension_reasons)}"]
            )
        return self._fact(cf.SUSPENDED, fact, {"reason": fact.reason, "note": fact.note}, now,
                          source, import_run)

    def resume(self, event: CaseResumed | Mapping[str, Any], *, now: Instant | None = None,
               source: str = LIVE, import_run: str | None = None) -> Recorded:
        return self._fact(cf.RESUMED, _parse(CaseResumed, event), {}, now, source, import_run)

    def complete(self, event: CaseCompleted | Mapping[str, Any], *, now: Instant | None = None,
                 source: str = LIVE, import_run: str | None = None) -> Recorded:
        return self._fact(cf.COMPLETED, _parse(CaseCompleted, event), {}, now, source,
                          import_run)

    def confirm(self, event: CaseCompletionConfirmed | Mapping[str, Any], *,
                now: Instant | None = None, source: str = LIVE,
                import_run: str | None = None) -> Recorded:
        return self._fact(cf.CONFIRMED, _parse(CaseCompletionConfirmed, event), {}, now, source,
                          import_run)

    def decide(self, event: CaseDecided | Mapping[str, Any], *, now: Instant | None = None,
               source: str = LIVE, import_run: str | None = None) -> Recorded:
        """A discretionary decision, measured against the standards; outside its circumstance's
        range it needs a written reason. The range that applied is logged with it."""
        fact = _parse(CaseDecided, event)
        if (fact.amount is None) == (fact.outcome is None):
            raise EntryRejected(["give the amount decided or the outcome, one of the two"])
        try:
            measure = self.standards.measure(fact.matter, fact.circumstance, fact.amount, fact.outcome)
        except UnknownStandard as error:
            raise EntryRejected([str(error)]) from error
        if not measure.within and len(fact.reason.strip()) < 2:
            decided = fact.outcome if fact.outcome is not None else fact.amount
            raise EntryRejected([f"{fact.matter} / {fact.circumstance}: {decided} is outside the standard "
                                 f"({measure.standard['allowed']}): give the reason in writing"])
        body = {"matter": fact.matter, "circumstance": fact.circumstance, "amount": fact.amount,
                "outcome": fact.outcome, "reason": fact.reason, "standard": measure.standard,
                "within": measure.within}
        return self._fact(cf.DECIDED, fact, body, now, source, import_run)

    def record(self, kind: str, body: Mapping[str, Any], *, now: Instant | None = None,
               strict: bool = False, source: str = LIVE,
               import_run: str | None = None) -> Recorded:
        """Any case fact by its protocol event type (`case.accepted`, `case.suspended`, ...)."""
        doors: dict[str, Callable[..., Recorded]] = {
            cf.ACCEPTED: lambda b, **kw: self.submit(b, strict=strict, **kw),
            cf.SUSPENDED: self.suspend,
            cf.RESUMED: self.resume,
            cf.COMPLETED: self.complete,
            cf.CONFIRMED: self.confirm,
            cf.CORRECTED: self.correct,
            cf.DECIDED: self.decide,
        }
        if kind not in doors:
            raise EntryRejected([f"{kind} is not a case fact; one of {sorted(doors)}"])
        door = doors[kind]
        return door(body, now=now, source=source, import_run=import_run)

    def _fact(self, kind: str, event: Any, body: dict[str, Any], now: Instant | None,
              source: str, import_run: str | None) -> Recorded:
        now = self.now() if now is None else now
        at = _instant(event.at)
        problem = event_time_problem(at, now, self.rules)
        if problem:
            raise EntryRejected([problem])
        body = {"case_id": event.case_id, **body}
        with self.writing():
            self.personal.seal_fields(event.case_id, body, batched=import_run is not None)
            file, digest, place = self._file(event.case_id)
            if _already_recorded(file, kind, at):
                self._claim(file.case_id, place.held_by, import_run)
                return Recorded(case_id=file.case_id, seq=None, duplicate=True,
                                stage=place.stage or Stage.BLUE)
            new = self._folded(file, self.log.next_seq, kind, at, body)
            record = self.log.append(event.case_id, kind, at, event.by, body, now,
                                     self._queue(import_run))
            refreshed = self._write(file, new, digest, record.seq, now, place, source,
                                    import_run)
        return _recorded(file.case_id, record.seq, refreshed, ())

    def _queue(self, import_run: str | None) -> list[dict[str, Any]] | None:
        """Where an append goes: queued for the transaction's end in an import (thousands a
        chunk; on PostgreSQL one statement for them all), written at once otherwise."""
        return self._log_rows if import_run is not None else None

    def _write(self, before: CaseFile | None, file: CaseFile, digest: str, seq: int,
               now: Instant, place: _Place, source: str, import_run: str | None) -> Refreshed:
        """Store the case's new facts and judge it as far as its source's facts are known.

        A fact from a tracked source (a hall, a syncing client) makes the case wait for
        that source; a live fact leaves it with the source it has. A case an import
        holds is judged when the import ends, not before.
        """
        case_source = source if source != LIVE else place.source
        held_by = import_run or place.held_by
        at = None if held_by is not None else self.sources.horizon(case_source, now)
        self._prefetched.pop(file.case_id, None)  # written: read it back from here on
        refreshed = self.projector.write_file(file, digest, seq, now, source=case_source,
                                              held_by=held_by, at=at, before=before,
                                              stage_before=place.stage)
        if held_by is not None:
            self._held[file.case_id] = (file, digest, _Place(case_source, held_by, refreshed.stage))
        return refreshed

    def _claim(self, case_id: str, held_by: str | None, import_run: str | None) -> None:
        """An import that finds a case held by another (unfinished, perhaps crashed) import
        takes it over, so that its end releases the case."""
        if import_run is not None and held_by is not None and held_by != import_run:
            self.projector.flush()
            self._held.pop(case_id, None)
            self._prefetched.pop(case_id, None)
            _CLAIMED.run(self.connection, {"run": import_run, "id": case_id})

    def release(self, import_run: str) -> int:
        """An import ended: the cases it held are judged at the next tick."""
        with self.writing():
            return self.projector.release(import_run)

    def correct(self, event: CaseCorrected | Mapping[str, Any], *, now: Instant | None = None,
                source: str = LIVE, import_run: str | None = None) -> Recorded:
        """Append a correction of an earlier event; the corrected event stays in the log."""
        correction = _parse(CaseCorrected, event)
        now = self.now() if now is None else now
        with self.writing():
            self._write_queued()  # the record corrected may be one this import appended
            file, digest, place = self._file(correction.case_id)
            target = self.log.get(correction.corrects)
            if target is None or target.case_id != correction.case_id or target.kind not in (
                cf.CORRECTABLE
            ):
                raise EntryRejected([f"event {correction.corrects} is not a correctable fact of "
                                     f"case {correction.case_id}"])
            changes = self._checked_changes(file, target.kind, dict(correction.changes), now)
            sealer = self.personal.sealer(correction.case_id)
            self.personal.seal_fields(correction.case_id, changes, sealer)
            body: dict[str, Any] = {
                "case_id": correction.case_id,
                "corrects": correction.corrects,
                "corrected_type": target.kind,
                "changes": changes,
                "reason": correction.reason,
            }
            self.personal.seal_fields(correction.case_id, body, sealer)
            warnings: tuple[str, ...] = ()
            if target.kind == cf.ACCEPTED:
                trial = self._folded(file, self.log.next_seq, cf.CORRECTED, None, body)
                warnings = tuple(str(w) for w in entry_warnings(
                    matter=trial.matter, applied_at=trial.applied_at,
                    accepted_at=trial.accepted_at, limit=trial.limit, calendar=self.calendar,
                    rules=self.rules, now=now,
                ))
                body["warnings"] = list(warnings)
            new = self._folded(file, self.log.next_seq, cf.CORRECTED, None, body)
            record = self.log.append(correction.case_id, cf.CORRECTED, None, correction.by, body, now)
            refreshed = self._write(file, new, digest, record.seq, now, place, source,
                                    import_run)
        return _recorded(file.case_id, record.seq, refreshed, warnings)

    def _checked_changes(self, file: CaseFile, kind: str, changes: dict[str, Any],
                         now: Instant) -> dict[str, Any]:
        allowed = cf.CORRECTABLE[kind]
        wrong = sorted(set(changes) - allowed)
        if wrong or not changes:
            raise EntryRejected([f"a correction of {kind} may change {sorted(allowed)}, "
                                 f"not {wrong or 'nothing'}"])
        if kind == cf.ACCEPTED:
            # Validate the changed fields with the entry schema itself.
            current = {
                "case_id": file.case_id, "by": "correction", "hall": file.hall,
                "unit": file.unit, "window": file.window, "matter": file.matter,
                "project_category": file.project_category,
                "project_attribute": file.project_attribute, "contact_name": _PLACEHOLDER_NAME,
                "contact_phone": _PLACEHOLDER_PHONE, "officer_name": file.officer_name,
                "officer_id": file.officer_id, "officer_phone": _PLACEHOLDER_PHONE,
                "applied_at": format_instant(file.applied_at),
                "accepted_at": format_instant(file.accepted_at),
                "limit": file.limit.amount, "limit_unit": file.limit.unit.value,
            }
            entry = _parse(CaseAccepted, {**current, **changes})
            dumped = entry.model_dump(mode="json")
            out = {name: dumped[name] for name in changes}
            for name in ("applied_at", "accepted_at"):
                if name in out:
                    out[name] = format_instant(_instant(getattr(entry, name)))
            return out
        out = dict(changes)
        if "void" in out and out["void"] is not True:
            raise EntryRejected(["`void` can only be true"])
        if "at" in out:
            try:
                at = _instant(out["at"])
            except (TypeError, ValueError) as error:
                raise EntryRejected([f"at: {error}"]) from error
            problem = event_time_problem(at, now, self.rules)
            if problem:
                raise EntryRejected([problem])
            out["at"] = format_instant(at)
        if "reason" in out and out["reason"] not in self.rules.suspension_reasons:
            raise EntryRejected([f"reason {out['reason']!r} is not a legal suspension reason"])
        return out

    def _folded(self, file: CaseFile, seq: int, kind: str, at: Instant | None,
                body: Mapping[str, Any]) -> CaseFile:
        try:
            new = fold(file, seq, kind, at, body)
            cf.check_consistent(new)
        except CaseRuleError as error:
            raise EntryRejected([str(error)]) from error
        return new

    def _file(self, case_id: str) -> tuple[CaseFile, str, _Place]:
        held = self._held.get(case_id)
        if held is not None:
            return held
        row = self._stored(case_id)
        if row is None:
            raise UnknownCase(f"no case {case_id}")
        return file_from_json(row[0]), row[1], _Place(row[2], row[3], Stage(row[4]))

    # -- reading ------------------------------------------------------------------------

    def file(self, case_id: str) -> CaseFile:
        """The case's current facts (personal data sealed: read them through `case`)."""
        self.ready()
        return self._file(case_id)[0]

    def source_of(self, case_id: str) -> str:
        """Whose facts the case waits for (LIVE: facts stated as they happen)."""
        return self._file(case_id)[2].source

    def countdown(self, case_id: str) -> Countdown:
        return compute(self.file(case_id).clock(), self.calendar, self.rules.ladder)

    def case(self, case_id: str, now: Instant | None = None) -> CaseView:
        """The record of one case with its light at `now`, or as far as its source's facts are
        known when that is earlier (a hall that is behind)."""
        self.ready()
        file, _digest, place = self._file(case_id)
        now = self.now() if now is None else now
        countdown = compute(file.clock(), self.calendar, self.rules.ladder)
        state = self.sources.state(place.source, now)
        judged = now if state.horizon is None else state.horizon
        return self.personal.masked_view(case_view(
            file, countdown, self.projector.issued_in_order(case_id), judged,
            source=place.source, incomplete_since=state.incomplete_since))

    def history(self, case_id: str) -> list[LoggedEvent]:
        """The case's log records, personal data masked."""
        self.ready()
        reader = self.personal.reader()
        return [self.personal.masked_event(logged(r), reader) for r in self.log.for_case(case_id)]

    def events(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        """The log from `after` on (personal data masked): a feed for the big screen."""
        self.ready()
        out = []
        reader = self.personal.reader()
        for record in self.log.records(after):
            out.append(self.personal.masked_event(logged(record), reader))
            if len(out) >= limit:
                break
        return out

    def lights(
        self,
        *,
        hall: str | None = None,
        unit: str | None = None,
        stages: set[Stage] | None = None,
        include_closed: bool = False,
        limit: int = 10000,
    ) -> list[CaseLight]:
        """Cases and their lights as of the last tick, most urgent first."""
        self.ready()
        return lights(self.connection, hall=hall, unit=unit, stages=stages,
                      include_closed=include_closed, limit=limit)

    def stage_counts(self, by: str = "unit", *, include_closed: bool = False
                     ) -> dict[str, dict[str, int]]:
        """Number of cases per light, grouped by `hall`, `unit`, `matter` or `officer`."""
        self.ready()
        return stage_counts(self.connection, by, include_closed=include_closed)

    def statistics(self, *, by: str | None = None, since: Instant | None = None,
                   until: Instant | None = None) -> list[Figures]:
        """Received, completed, on-time rate, cards and letters; see `central.cases.stats`."""
        self.ready()
        return statistics(self.connection, by=by, since=since, until=until, now=self.now())

    def open_count(self) -> int:
        self.ready()
        return int(_OPEN_COUNT.run(self.connection).fetchone()[0])

    # -- tamper evidence ----------------------------------------------------------------

    def head(self) -> Head:
        self.ready()
        return self.log.head()

    def verify(self, published: Head | None = None) -> VerifyReport:
        """Check the whole chain; name the first bad record; prove it extends `published`."""
        self.ready()
        return verify_chain((record.link for record in self.log.records()), published)


class _Place(NamedTuple):
    """Where a stored case's facts come from, the import holding it, if any, and its light."""

    source: str
    held_by: str | None
    stage: Stage | None


def _closer(connection: Tx) -> Callable[[], None]:
    return connection.close


def _parse(model: type[ModelT], value: ModelT | Mapping[str, Any]) -> ModelT:
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise EntryRejected([
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in error.errors()
        ]) from error


def _already_recorded(file: CaseFile, kind: str, at: Instant) -> bool:
    """A resent fact (same kind, same instant) is the same fact: store it once.

    Any of the case's holds may be the one resent (a file imported again after the
    case moved on); two holds never start, or end, at the same instant.
    """
    if kind == cf.SUSPENDED:
        return any(hold.start == at for hold in file.holds)
    if kind == cf.RESUMED:
        return any(hold.end == at for hold in file.holds)
    if kind == cf.COMPLETED:
        return file.completed is not None and file.completed.at == at
    if kind == cf.CONFIRMED:
        return file.confirmed is not None and file.confirmed.at == at
    if kind == cf.DECIDED:
        return any(decision.at == at for decision in file.decisions)
    return False


def _recorded(case_id: str, seq: int, refreshed: Refreshed,
              warnings: tuple[str, ...]) -> Recorded:
    return Recorded(
        case_id=case_id, seq=seq, stage=refreshed.stage, warnings=list(warnings),
        issued=[issued.kind for issued in refreshed.issued],
    )
