"""The complaint desk: accepts every complaint, links its visit, holds its footage, routes and answers it.

Unified acceptance, assigned handling, online feedback (统一受理、归口办理、网上反馈).
Every step goes to the complaint log (`central.complaints.log`); the
`complaints` table is the current view of it, and the desk is a `Projection`
only for the recorders' confirmations of its footage holds.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from central.cases.timebase import day_of, format_day
from central.complaints import holds
from central.complaints import log as complaint_log
from central.complaints.log import UnknownComplaint, iso
from central.complaints.settings import ComplaintSettings
from central.complaints.visits import ServedVisit, UnitOfVisit, VisitLookup
from central.deadlines import WorkingDays
from central.personal import Reader, complaint_subject, vault
from central.projection import Projection
from central.store import CentralStore
from central.where import Where
from contract.envelope import Envelope

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

_COLUMNS = ("id, received_at, channel, hall, ticket, window, officer, unit, handler, visit_from, "
            "visit_to, visit_problem, summary, state, due_at, overdue, answered_at, answer")

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
        with self.store.transaction() as tx:
            complaint = _next_id(tx, now)
            personal = complaint_log.sealed_intake(tx, complaint, new.complainant, new.phone, new.summary)
            complaint_log.append(tx, complaint, "complaint.received", now, actor, {
                "channel": new.channel, "hall": new.hall, **personal, "due_at": deadline.end_ms,
                "ticket": new.ticket, "window": new.window, "visit_time": new.visit_time,
            })
            tx.execute(
                "INSERT INTO complaints (id, received_at, channel, hall, summary, state, due_at) "
                "VALUES (?, ?, ?, ?, ?, 'received', ?)",
                (complaint, now, new.channel, new.hall, personal["summary"], deadline.end_ms),
            )
            if problem is not None:
                complaint_log.append(tx, complaint, "complaint.visit_unresolved", now, actor,
                                     {"reason": problem})
                tx.execute("UPDATE complaints SET visit_problem = ? WHERE id = ?", (problem, complaint))
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
        with self.store.transaction() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            if tx.execute("SELECT window FROM complaints WHERE id = ?", (complaint,)).fetchone()[0]:
                raise ComplaintError(f"complaint {complaint} already has its visit")
            self._link_in(tx, complaint, visit, unit, recorders, now, actor)
            unassigned = tx.execute("SELECT unit IS NULL FROM complaints WHERE id = ?",
                                    (complaint,)).fetchone()[0]
            if unit and unassigned:
                self._assign_in(tx, complaint, unit, None, now, actor)
        self._send_holds(complaint)

    def _link_in(self, tx: sqlite3.Connection, complaint: str, visit: ServedVisit, unit: str | None,
                 recorders: list[str], now: int, actor: str) -> None:
        complaint_log.append(tx, complaint, "complaint.visit_linked", now, actor, {
            "ticket": visit.ticket, "window": visit.window, "officer": visit.officer,
            "unit": unit, "called_at": visit.called_at, "ended_at": visit.ended_at,
        })
        tx.execute(
            "UPDATE complaints SET ticket = ?, window = ?, officer = ?, visit_from = ?, visit_to = ?, "
            "visit_problem = NULL WHERE id = ?",
            (visit.ticket, visit.window, visit.officer, visit.called_at, visit.ended_at, complaint),
        )
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
        with self.store.transaction() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            self._assign_in(tx, complaint, unit, handler, now, actor)

    def answer(self, complaint: str, answer: str, actor: str) -> None:
        """The online feedback: the handling unit's answer, recorded once."""
        now = self.store.clock.wall_ms()
        with self.store.transaction() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            sealed = complaint_log.sealed_text(tx, complaint, answer)
            complaint_log.append(tx, complaint, "complaint.answered", now, actor, {"answer": sealed})
            tx.execute(
                "UPDATE complaints SET state = 'answered', answered_at = ?, answer = ? WHERE id = ?",
                (now, sealed, complaint),
            )

    def _assign_in(self, tx: sqlite3.Connection, complaint: str, unit: str, handler: str | None,
                   now: int, actor: str) -> None:
        complaint_log.append(tx, complaint, "complaint.assigned", now, actor,
                             {"unit": unit, "handler": handler})
        tx.execute(
            "UPDATE complaints SET unit = ?, handler = ?, state = 'assigned' WHERE id = ?",
            (unit, handler, complaint),
        )

    # --- the periodic part ---------------------------------------------------

    def tick(self, now: int, hold_retry_ms: int) -> list[str]:
        """Flag complaints past their deadline (once each) and resend unconfirmed holds."""
        flagged: list[str] = []
        with self.store.transaction() as tx:
            for (complaint,) in tx.execute(
                "SELECT id FROM complaints WHERE state != 'answered' AND overdue = 0 AND due_at <= ?",
                (now,),
            ).fetchall():
                complaint_log.append(tx, complaint, "complaint.overdue", now, "central", {})
                tx.execute("UPDATE complaints SET overdue = 1 WHERE id = ?", (complaint,))
                flagged.append(complaint)
            stale = holds.due_again(tx, now, hold_retry_ms)
        for complaint in stale:
            self._send_holds(complaint)
        for complaint in flagged:
            log.warning("complaint %s passed its deadline unanswered", complaint)
        return flagged

    def _send_holds(self, complaint: str) -> None:
        for hall, command in holds.unconfirmed_commands(self.store.query, complaint,
                                                        self.settings.hold_days):
            self.send(hall, command)

    # --- recorder confirmations (fed by the event store) -----------------------

    def apply(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        holds.confirm(tx, hall, envelope)

    # --- reading -------------------------------------------------------------

    def get(self, complaint: str) -> dict[str, Any]:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM complaints WHERE id = ?", (complaint,))
        if not rows:
            raise UnknownComplaint(complaint)
        return self._view(rows[0], Reader(self.store.query))

    def find(self, *, hall: str | None = None, state: str | None = None,
             overdue: bool | None = None, limit: int = 200) -> list[dict[str, Any]]:
        where = (Where().equals("hall", hall).equals("state", state)
                 .equals("overdue", None if overdue is None else int(overdue)))
        rows = self.store.query(
            f"SELECT {_COLUMNS} FROM complaints{where.sql} ORDER BY received_at DESC, id DESC LIMIT ?",
            (*where.params, limit))
        reader = Reader(self.store.query)
        reader.prefetch(rows)
        return [self._view(row, reader) for row in rows]

    def history(self, complaint: str, *, personal: bool = False) -> list[dict[str, Any]]:
        return complaint_log.history(self.store.query, complaint, personal=personal)

    def contact(self, complaint: str) -> dict[str, Any]:
        """The complainant's name and phone, unmasked: for the officer who calls back only."""
        return complaint_log.contact(self.store.query, complaint)

    def verify(self) -> dict[str, Any]:
        """Recompute the complaint log's hash chain; name the first row that does not match."""
        return complaint_log.verify(self.store.query)

    def holds(self, complaint: str) -> list[dict[str, Any]]:
        return holds.listed(self.store.query, complaint)

    def _view(self, row: tuple[Any, ...], reader: Reader) -> dict[str, Any]:
        data = dict(zip(_COLUMNS.split(", "), row, strict=True))
        subject = complaint_subject(data["id"])
        data["summary"] = reader.masked(subject, data["summary"])
        data["answer"] = reader.masked(subject, data["answer"])
        for key in ("received_at", "visit_from", "visit_to", "due_at", "answered_at"):
            data[key] = iso(data[key]) if data[key] is not None else None
        data["overdue"] = bool(data["overdue"])
        data["holds"] = self.holds(data["id"])
        return data

    @staticmethod
    def _state(tx: sqlite3.Connection, complaint: str) -> str:
        row = tx.execute("SELECT state FROM complaints WHERE id = ?", (complaint,)).fetchone()
        if row is None:
            raise UnknownComplaint(complaint)
        return str(row[0])


def _next_id(tx: sqlite3.Connection, now: int) -> str:
    """TS<yyyymmdd>-<nnnn>: numbered within the Shanghai day of receipt."""
    prefix = f"TS{format_day(day_of(now // 1000)).replace('-', '')}-"
    row = tx.execute("SELECT max(id) FROM complaints WHERE id LIKE ?", (prefix + "%",)).fetchone()
    number = int(row[0].rsplit("-", 1)[1]) + 1 if row and row[0] else 1
    return f"{prefix}{number:04d}"
