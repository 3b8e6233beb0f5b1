"""The complaint desk: accepts every complaint, links its visit, holds its footage, routes and answers it.

Unified acceptance, assigned handling, online feedback (统一受理、归口办理、网上反馈).
Every step goes to the complaint log (`central.complaints.log`); the
`complaints` table is the current view of it, and the desk is a `Projection`
only for the recorders' confirmations of its footage holds. Its statements are
written once for SQLite and PostgreSQL (`spine.statement`); on PostgreSQL its tables
are made by `central/migrations` (revision 0003).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    func,
    literal,
    null,
    select,
    update,
)

from central.cases.timebase import day_of, format_day
from central.complaints import holds
from central.complaints import log as complaint_log
from central.complaints.log import UnknownComplaint, iso
from central.complaints.settings import ComplaintSettings
from central.complaints.visits import ServedVisit, UnitOfVisit, VisitLookup
from central.deadlines import WorkingDays
from central.personal import Reader, complaint_subject, vault
from central.projection import Projection
from central.reads import built
from central.reads import rows as read_rows
from central.store import CentralStore
from contract.envelope import Envelope
from spine.statement import Statement, Tx

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS complaints (
    id TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL,
    channel TEXT NOT NULL,
    hall TEXT NOT NULL,
    ticket TEXT,
    window TEXT,
    officer TEXT,
    unit TEXT,
    handler TEXT,
    visit_from INTEGER,
    visit_to INTEGER,
    visit_problem TEXT,
    summary TEXT NOT NULL,
    state TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    overdue INTEGER NOT NULL DEFAULT 0,
    answered_at INTEGER,
    answer TEXT
);
"""

COMPLAINT_TABLES = MetaData()
COMPLAINTS = Table(
    "complaints", COMPLAINT_TABLES,
    Column("id", Text, primary_key=True),
    Column("received_at", BigInteger, nullable=False),
    Column("channel", Text, nullable=False),
    Column("hall", Text, nullable=False),
    *(Column(name, Text) for name in ("ticket", "window", "officer", "unit", "handler")),
    Column("visit_from", BigInteger),
    Column("visit_to", BigInteger),
    Column("visit_problem", Text),
    Column("summary", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("overdue", Integer, nullable=False, server_default="0"),
    Column("answered_at", BigInteger),
    Column("answer", Text),
)
"""`SCHEMA` in SQLAlchemy Core (made on PostgreSQL by migration 0003)."""
_C = COMPLAINTS.c
_COLUMNS = tuple(column.name for column in COMPLAINTS.columns)


def _where_id(**values: Any) -> Statement:
    """An UPDATE of one complaint (`w_id`) setting `values`."""
    return Statement(lambda _dialect: update(COMPLAINTS).where(_C.id == bindparam("w_id")).values(values))


_LAST_ID = Statement(lambda _dialect: select(func.max(_C.id)).where(_C.id.like(bindparam("prefix"))))
_RECEIVED = Statement(lambda _dialect: COMPLAINTS.insert().values(
    {name: bindparam(name) for name in ("id", "received_at", "channel", "hall", "summary", "state",
                                        "due_at")}))
_UNRESOLVED = _where_id(visit_problem=bindparam("v_problem"))
_LINKED = _where_id(ticket=bindparam("v_ticket"), window=bindparam("v_window"),
                    officer=bindparam("v_officer"), visit_from=bindparam("v_from"),
                    visit_to=bindparam("v_to"), visit_problem=null())
_ANSWERED = _where_id(state="answered", answered_at=bindparam("v_at"), answer=bindparam("v_answer"))
_ASSIGNED = _where_id(unit=bindparam("v_unit"), handler=bindparam("v_handler"), state="assigned")
_FLAGGED = _where_id(overdue=1)
_PAST_DUE = Statement(lambda _dialect: select(_C.id).where(
    _C.state != "answered", _C.overdue == 0, _C.due_at <= bindparam("now")))
_ONE = Statement(lambda _dialect: select(*COMPLAINTS.columns).where(_C.id == bindparam("id")))
_STATE = Statement(lambda _dialect: select(_C.state).where(_C.id == bindparam("id")))
_WINDOW_AND_UNIT = Statement(lambda _dialect: select(_C.window, _C.unit).where(_C.id == bindparam("id")))

CommandSender = Callable[[str, dict[str, Any]], None]
"""(hall, command) -> publish it on `central/<hall>/cmd`."""


class ComplaintError(ValueError):
    """A complaint that cannot be accepted or a step that does not apply; the message says why."""


@dataclass(frozen=True)
class NewComplaint:
    hall: str
    summary: str
    channel: str = "online"
    complainant: str | None = None
    phone: str | None = None
    ticket: str | None = None
    window: str | None = None
    visit_time: int | None = None
    officer: str | None = None
    unit: str | None = None


class ComplaintDesk(Projection):
    """Accepts complaints, places footage holds, assigns, answers; confirms holds from recorder events."""

    name = "complaints"
    schema = complaint_log.SCHEMA + SCHEMA + holds.SCHEMA + vault.SCHEMA
    portable = True

    def __init__(
        self,
        store: CentralStore,
        settings: ComplaintSettings,
        *,
        working_days: WorkingDays,
        send: CommandSender,
        recorders: Callable[[str], list[str]],
        visits: VisitLookup | None = None,
        unit_of: UnitOfVisit | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.working_days = working_days
        self.send = send
        self.recorders = recorders
        self.visits = visits
        self.unit_of = unit_of

    # --- intake ------------------------------------------------------------

    def receive(self, new: NewComplaint, actor: str) -> str:
        """Accept a complaint (统一受理: always), link its visit, hold the footage, assign it.

        A visit that cannot be resolved yet (an unknown ticket, a window without a
        time) does not refuse the complaint: the problem is recorded and shown, and
        the office links the visit later with `link_visit`.
        """
        now = self.store.clock.wall_ms()
        try:
            visit, problem = self._resolve_visit(new.hall, new.ticket, new.window, new.visit_time,
                                                 new.officer), None
        except ComplaintError as exc:
            visit, problem = None, str(exc)
        # Read before the transaction: the store's lock is not reentrant.
        recorders = self.recorders(new.hall) if visit is not None else []
        unit = new.unit or (self._unit(visit) if visit is not None else None)
        deadline = self.working_days.after(now, self.settings.answer_workdays)
        with self.store.statements() as tx:
            complaint = _next_id(tx, now)
            personal = complaint_log.sealed_intake(tx, complaint, new.complainant, new.phone, new.summary)
            complaint_log.LOG.append(tx, complaint, "complaint.received", now, actor, {
                "channel": new.channel, "hall": new.hall, **personal, "due_at": deadline.end_ms,
                "ticket": new.ticket, "window": new.window, "visit_time": new.visit_time,
            })
            _RECEIVED.run(tx, {"id": complaint, "received_at": now, "channel": new.channel,
                               "hall": new.hall, "summary": personal["summary"], "state": "received",
                               "due_at": deadline.end_ms})
            if problem is not None:
                complaint_log.LOG.append(tx, complaint, "complaint.visit_unresolved", now, actor,
                                     {"reason": problem})
                _UNRESOLVED.run(tx, {"w_id": complaint, "v_problem": problem})
            if visit is not None:
                self._link_in(tx, complaint, visit, unit, recorders, now, actor)
            if unit:
                self._assign_in(tx, complaint, unit, None, now, actor)
        self._send_holds(complaint)
        return complaint

    def link_visit(self, complaint: str, *, ticket: str | None, window: str | None,
                   visit_time: int | None, actor: str) -> None:
        """Name the visit of a complaint accepted without one; places the footage hold."""
        now = self.store.clock.wall_ms()
        hall = self.get(complaint)["hall"]
        visit = self._resolve_visit(hall, ticket, window, visit_time, None)
        if visit is None:
            raise ComplaintError("give the ticket, or the window and the time of the visit")
        recorders = self.recorders(hall)
        unit = self._unit(visit)
        with self.store.statements() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            window, assigned = _WINDOW_AND_UNIT.run(tx, {"id": complaint}).fetchone()
            if window:
                raise ComplaintError(f"complaint {complaint} already has its visit")
            self._link_in(tx, complaint, visit, unit, recorders, now, actor)
            if unit and assigned is None:
                self._assign_in(tx, complaint, unit, None, now, actor)
        self._send_holds(complaint)

    def _link_in(self, tx: Tx, complaint: str, visit: ServedVisit, unit: str | None,
                 recorders: list[str], now: int, actor: str) -> None:
        complaint_log.LOG.append(tx, complaint, "complaint.visit_linked", now, actor, {
            "ticket": visit.ticket, "window": visit.window, "officer": visit.officer,
            "unit": unit, "called_at": visit.called_at, "ended_at": visit.ended_at,
        })
        _LINKED.run(tx, {"w_id": complaint, "v_ticket": visit.ticket, "v_window": visit.window,
                         "v_officer": visit.officer, "v_from": visit.called_at, "v_to": visit.ended_at})
        footage = holds.FootageRequest(
            complaint, visit.hall, visit.window,
            start=visit.called_at - self.settings.footage_before_s * 1000,
            end=(visit.ended_at or visit.called_at) + self.settings.footage_after_s * 1000)
        holds.request(tx, footage, recorders, now, actor)

    def _resolve_visit(self, hall: str, ticket: str | None, window: str | None,
                       visit_time: int | None, officer: str | None) -> ServedVisit | None:
        if ticket and self.visits is not None:
            visit = self.visits(hall, ticket, visit_time)
            if visit is not None:
                return visit
            if not window:
                raise ComplaintError(
                    f"ticket {ticket!r} is not known in hall {hall!r}: "
                    "give the window and the time of the visit instead")
        if window:
            if visit_time is None:
                raise ComplaintError("a complaint naming a window needs the time of the visit")
            return ServedVisit(hall=hall, window=window, called_at=visit_time, ticket=ticket,
                               officer=officer)
        if ticket:
            raise ComplaintError("no visit lookup is available: give the window and the time")
        return None

    def _unit(self, visit: ServedVisit) -> str | None:
        return self.unit_of(visit) if self.unit_of is not None else None

    # --- handling ----------------------------------------------------------

    def assign(self, complaint: str, unit: str, handler: str | None, actor: str) -> None:
        now = self.store.clock.wall_ms()
        with self.store.statements() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            self._assign_in(tx, complaint, unit, handler, now, actor)

    def answer(self, complaint: str, answer: str, actor: str) -> None:
        """The online feedback: the handling unit's answer, recorded once."""
        now = self.store.clock.wall_ms()
        with self.store.statements() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            sealed = complaint_log.sealed_text(tx, complaint, answer)
            complaint_log.LOG.append(tx, complaint, "complaint.answered", now, actor, {"answer": sealed})
            _ANSWERED.run(tx, {"w_id": complaint, "v_at": now, "v_answer": sealed})

    def _assign_in(self, tx: Tx, complaint: str, unit: str, handler: str | None,
                   now: int, actor: str) -> None:
        complaint_log.LOG.append(tx, complaint, "complaint.assigned", now, actor,
                             {"unit": unit, "handler": handler})
        _ASSIGNED.run(tx, {"w_id": complaint, "v_unit": unit, "v_handler": handler})

    # --- the periodic part ---------------------------------------------------

    def tick(self, now: int, hold_retry_ms: int) -> list[str]:
        """Flag complaints past their deadline (once each) and resend unconfirmed holds."""
        flagged: list[str] = []
        with self.store.statements() as tx:
            if _PAST_DUE.run(tx, {"now": now}).fetchone() is not None:
                flagged = self._flag_overdue(tx, now)
            stale = holds.due_again(tx, now, hold_retry_ms)
        for complaint in stale:
            self._send_holds(complaint)
        for complaint in flagged:
            log.warning("complaint %s passed its deadline unanswered", complaint)
        return flagged

    @staticmethod
    def _flag_overdue(tx: Tx, now: int) -> list[str]:
        """Flag each complaint past its deadline, once across central processes.

        Two processes ticking together would both read a complaint as not yet flagged and both
        log it overdue. So the pass first takes the complaint log's lock (on PostgreSQL an
        advisory lock held until this transaction ends, `Ledger.serialise`; on SQLite the
        file's write lock is held already) and only then reads what is past due: a second
        process's pass waits for the first one's commit and reads those complaints flagged.
        Every other writer of a complaint appends to the log and so holds the same lock, so an
        answer committed meanwhile is seen too. The lock is taken only when something looked
        due, so an idle tick takes none.
        """
        complaint_log.LOG.serialise(tx)
        flagged: list[str] = []
        for (complaint,) in _PAST_DUE.run(tx, {"now": now}).fetchall():
            complaint_log.LOG.append(tx, complaint, "complaint.overdue", now, "central", {})
            _FLAGGED.run(tx, {"w_id": complaint})
            flagged.append(complaint)
        return flagged

    def _send_holds(self, complaint: str) -> None:
        commands = self.store.read(
            lambda tx: holds.unconfirmed_commands(tx, complaint, self.settings.hold_days))
        for hall, command in commands:
            self.send(hall, command)

    # --- recorder confirmations (fed by the event store) -----------------------

    def takes(self, type: str) -> bool:
        return type == holds.HOLD_CONFIRMATION

    def apply(self, tx: Tx, hall: str, envelope: Envelope) -> None:
        holds.confirm(tx, hall, envelope)

    # --- reading -------------------------------------------------------------

    def get(self, complaint: str) -> dict[str, Any]:
        def viewed(tx: Tx) -> dict[str, Any]:
            rows = _ONE.run(tx, {"id": complaint}).fetchall()
            if not rows:
                raise UnknownComplaint(complaint)
            return self._view(tx, rows[0], Reader(tx))

        return self.store.read(viewed)

    def find(self, *, hall: str | None = None, state: str | None = None,
             overdue: bool | None = None, limit: int = 200) -> list[dict[str, Any]]:
        conditions = [condition for value, condition in (
            (hall, _C.hall == literal(hall)), (state, _C.state == literal(state)),
            (overdue, _C.overdue == literal(int(bool(overdue))))) if value is not None]
        listing = built(select(*COMPLAINTS.columns).where(*conditions).order_by(
            _C.received_at.desc(), _C.id.desc()).limit(literal(limit)))

        def viewed(tx: Tx) -> list[dict[str, Any]]:
            rows = read_rows(tx, listing)
            reader = Reader(tx)
            reader.prefetch(rows)
            return [self._view(tx, row, reader) for row in rows]

        return self.store.read(viewed)

    def history(self, complaint: str, *, personal: bool = False) -> list[dict[str, Any]]:
        return self.store.read(lambda tx: complaint_log.history(tx, complaint, personal=personal))

    def contact(self, complaint: str) -> dict[str, Any]:
        """The complainant's name and phone, unmasked: for the officer who calls back only."""
        return self.store.read(lambda tx: complaint_log.contact(tx, complaint))

    def verify(self) -> dict[str, Any]:
        """Recompute the complaint log's hash chain; name the first row that does not match."""
        return self.store.read(complaint_log.verify)

    def holds(self, complaint: str) -> list[dict[str, Any]]:
        return self.store.read(lambda tx: holds.listed(tx, complaint))

    @staticmethod
    def _view(tx: Tx, row: tuple[Any, ...], reader: Reader) -> dict[str, Any]:
        data = dict(zip(_COLUMNS, row, strict=True))
        subject = complaint_subject(data["id"])
        data["summary"] = reader.masked(subject, data["summary"])
        data["answer"] = reader.masked(subject, data["answer"])
        for key in ("received_at", "visit_from", "visit_to", "due_at", "answered_at"):
            data[key] = iso(data[key]) if data[key] is not None else None
        data["overdue"] = bool(data["overdue"])
        data["holds"] = holds.listed(tx, data["id"])
        return data

    @staticmethod
    def _state(tx: Tx, complaint: str) -> str:
        row = _STATE.run(tx, {"id": complaint}).fetchone()
        if row is None:
            raise UnknownComplaint(complaint)
        return str(row[0])


def _next_id(tx: Tx, now: int) -> str:
    """TS<yyyymmdd>-<nnnn>: numbered within the Shanghai day of receipt."""
    prefix = f"TS{format_day(day_of(now // 1000)).replace('-', '')}-"
    row = _LAST_ID.run(tx, {"prefix": prefix + "%"}).fetchone()
    number = int(row[0].rsplit("-", 1)[1]) + 1 if row and row[0] else 1
    return f"{prefix}{number:04d}"
