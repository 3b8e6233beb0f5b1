"""Complaints: unified acceptance, assigned handling, online feedback (统一受理、归口办理、网上反馈).

A complaint about a visit is linked to the served ticket's window, officer
and time; the hall's recorders are told to hold that window's footage for
the visit (so it outlives the 30-day ring buffer); the complaint is assigned
to the unit that served the citizen and tracked to its answer against its
own deadline.

Every step is appended to a hash-chained log (never updated in place); the
`complaints` table is only the current view of that log.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from central.chain import EMPTY, Head, Link, canonical_body, verify_chain
from central.projection import Projection, event_time
from central.store import CentralStore
from central.web.settings import ComplaintSettings
from contract.envelope import Envelope
from contract.privacy import redact

log = logging.getLogger(__name__)

SHANGHAI = timezone(timedelta(hours=8))

SCHEMA = """
CREATE TABLE IF NOT EXISTS complaint_log (
    seq INTEGER PRIMARY KEY,
    complaint TEXT NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS complaint_log_by_complaint ON complaint_log (complaint, seq);
CREATE TRIGGER IF NOT EXISTS complaint_log_no_update BEFORE UPDATE ON complaint_log
    BEGIN SELECT RAISE(ABORT, 'the complaint log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS complaint_log_no_delete BEFORE DELETE ON complaint_log
    BEGIN SELECT RAISE(ABORT, 'the complaint log is append-only'); END;
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
CREATE TABLE IF NOT EXISTS complaint_holds (
    hold TEXT NOT NULL,
    complaint TEXT NOT NULL,
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    window TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    confirmed_at INTEGER,
    cameras TEXT,
    held_segments INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hold, device)
);
"""

HOLD_COMMAND = "recorder.hold"
HOLD_CONFIRMATION = "recorder.hold"
"""The recorder's event for a hold it placed; its `hold_id` is ours, or ours + ':' + camera."""
MAX_HOLD_ATTEMPTS = 20
"""Resends of an unconfirmed hold before central stops and leaves it for a person to chase."""


class ComplaintError(ValueError):
    """A complaint that cannot be accepted or a step that does not apply; the message says why."""


class UnknownComplaint(LookupError):
    pass


@dataclass(frozen=True)
class Visit:
    """A served ticket: where, by whom and when the citizen was served."""

    hall: str
    window: str
    called_at: int
    ended_at: int | None = None
    ticket: str | None = None
    officer: str | None = None
    unit: str | None = None


class VisitLookup(Protocol):
    def __call__(self, hall: str, ticket: str, around_ms: int | None) -> Visit | None:
        """The visit a ticket number stands for (the latest one before `around_ms`, if given)."""
        ...


CommandSender = Callable[[str, dict[str, Any]], None]
"""(hall, command) -> publish it on `central/<hall>/cmd`."""

DueDate = Callable[[int, int], int]
"""(received ms, working days) -> deadline ms."""


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
    schema = SCHEMA

    def __init__(
        self,
        store: CentralStore,
        settings: ComplaintSettings,
        *,
        send: CommandSender,
        recorders: Callable[[str], list[str]],
        visits: VisitLookup | None = None,
        due: DueDate | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.send = send
        self.recorders = recorders
        self.visits = visits
        self.due = due or working_days_due

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
                                                 new.officer, new.unit), None
        except ComplaintError as exc:
            visit, problem = None, str(exc)
        # Read before the transaction: the store's lock is not reentrant.
        recorders = self.recorders(new.hall) if visit is not None else []
        with self.store.transaction() as tx:
            complaint = self._next_id(tx, now)
            due_at = self.due(now, self.settings.answer_workdays)
            self._append(tx, complaint, "complaint.received", now, actor, {
                "channel": new.channel, "hall": new.hall, "summary": new.summary,
                "complainant": new.complainant, "phone": new.phone, "due_at": due_at,
                "ticket": new.ticket, "window": new.window, "visit_time": new.visit_time,
            })
            tx.execute(
                "INSERT INTO complaints (id, received_at, channel, hall, summary, state, due_at) "
                "VALUES (?, ?, ?, ?, ?, 'received', ?)",
                (complaint, now, new.channel, new.hall, redact(new.summary), due_at),
            )
            if problem is not None:
                self._append(tx, complaint, "complaint.visit_unresolved", now, actor, {"reason": problem})
                tx.execute("UPDATE complaints SET visit_problem = ? WHERE id = ?", (problem, complaint))
            unit = new.unit or (visit.unit if visit else None)
            if visit is not None:
                self._link_in(tx, complaint, new.hall, visit, recorders, now, actor)
            if unit:
                self._assign_in(tx, complaint, unit, None, now, actor)
        self._send_holds(complaint)
        return complaint

    def link_visit(self, complaint: str, *, ticket: str | None, window: str | None,
                   visit_time: int | None, actor: str) -> None:
        """Name the visit of a complaint accepted without one; places the footage hold."""
        now = self.store.clock.wall_ms()
        hall = self.get(complaint)["hall"]
        visit = self._resolve_visit(hall, ticket, window, visit_time, None, None)
        if visit is None:
            raise ComplaintError("give the ticket, or the window and the time of the visit")
        recorders = self.recorders(hall)
        with self.store.transaction() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            if tx.execute("SELECT window FROM complaints WHERE id = ?", (complaint,)).fetchone()[0]:
                raise ComplaintError(f"complaint {complaint} already has its visit")
            self._link_in(tx, complaint, hall, visit, recorders, now, actor)
            unassigned = tx.execute("SELECT unit IS NULL FROM complaints WHERE id = ?",
                                    (complaint,)).fetchone()[0]
            if visit.unit and unassigned:
                self._assign_in(tx, complaint, visit.unit, None, now, actor)
        self._send_holds(complaint)

    def _link_in(self, tx: sqlite3.Connection, complaint: str, hall: str, visit: Visit,
                 recorders: list[str], now: int, actor: str) -> None:
        start = visit.called_at - self.settings.footage_before_s * 1000
        end = (visit.ended_at or visit.called_at) + self.settings.footage_after_s * 1000
        self._append(tx, complaint, "complaint.visit_linked", now, actor, {
            "ticket": visit.ticket, "window": visit.window, "officer": visit.officer,
            "unit": visit.unit, "called_at": visit.called_at, "ended_at": visit.ended_at,
        })
        tx.execute(
            "UPDATE complaints SET ticket = ?, window = ?, officer = ?, visit_from = ?, visit_to = ?, "
            "visit_problem = NULL WHERE id = ?",
            (visit.ticket, visit.window, visit.officer, visit.called_at, visit.ended_at, complaint),
        )
        if not recorders:
            log.warning("complaint %s: hall %s has no recorder on record; footage not held",
                        complaint, hall)
            self._append(tx, complaint, "complaint.hold_impossible", now, "central",
                         {"reason": f"hall {hall} has no recorder on record"})
        for device in recorders:
            self._append(tx, complaint, "complaint.hold_requested", now, actor, {
                "device": device, "window": visit.window, "start": start, "end": end})
            tx.execute(
                "INSERT OR IGNORE INTO complaint_holds (hold, complaint, hall, device, window, "
                "start_ms, end_ms, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (complaint, complaint, hall, device, visit.window, start, end, now),
            )

    def _resolve_visit(self, hall: str, ticket: str | None, window: str | None,
                       visit_time: int | None, officer: str | None, unit: str | None) -> Visit | None:
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
            return Visit(hall=hall, window=window, called_at=visit_time, ticket=ticket,
                         officer=officer, unit=unit)
        if ticket:
            raise ComplaintError("no visit lookup is available: give the window and the time")
        return None

    # --- handling ----------------------------------------------------------

    def assign(self, complaint: str, unit: str, handler: str | None, actor: str) -> None:
        now = self.store.clock.wall_ms()
        with self.store.transaction() as tx:
            state = self._state(tx, complaint)
            if state == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            self._assign_in(tx, complaint, unit, handler, now, actor)

    def answer(self, complaint: str, answer: str, actor: str) -> None:
        """The online feedback: the handling unit's answer, recorded once."""
        now = self.store.clock.wall_ms()
        with self.store.transaction() as tx:
            if self._state(tx, complaint) == "answered":
                raise ComplaintError(f"complaint {complaint} is already answered")
            self._append(tx, complaint, "complaint.answered", now, actor, {"answer": answer})
            tx.execute(
                "UPDATE complaints SET state = 'answered', answered_at = ?, answer = ? WHERE id = ?",
                (now, redact(answer), complaint),
            )

    def _assign_in(
        self, tx: sqlite3.Connection, complaint: str, unit: str, handler: str | None, now: int,
        actor: str,
    ) -> None:
        self._append(tx, complaint, "complaint.assigned", now, actor, {"unit": unit, "handler": handler})
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
                self._append(tx, complaint, "complaint.overdue", now, "central", {})
                tx.execute("UPDATE complaints SET overdue = 1 WHERE id = ?", (complaint,))
                flagged.append(complaint)
            stale = [row[0] for row in tx.execute(
                "SELECT DISTINCT complaint FROM complaint_holds WHERE confirmed_at IS NULL "
                "AND attempts < ? AND requested_at + attempts * ? <= ?",
                (MAX_HOLD_ATTEMPTS, hold_retry_ms, now)).fetchall()]
            for complaint in stale:
                tx.execute("UPDATE complaint_holds SET attempts = attempts + 1 "
                           "WHERE complaint = ? AND confirmed_at IS NULL", (complaint,))
        for complaint in stale:
            self._send_holds(complaint)
        for complaint in flagged:
            log.warning("complaint %s passed its deadline unanswered", complaint)
        return flagged

    def _send_holds(self, complaint: str) -> None:
        until_ms = self.settings.hold_days * 86_400_000
        for hold, hall, device, window, start, end in self.store.query(
            "SELECT hold, hall, device, window, start_ms, end_ms FROM complaint_holds "
            "WHERE complaint = ? AND confirmed_at IS NULL", (complaint,)
        ):
            self.send(hall, hold_command(hold, device, window, start, end, end + until_ms, complaint))

    # --- recorder confirmations (fed by the event store) -----------------------

    def apply(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        body = envelope.body
        if envelope.type != HOLD_CONFIRMATION or body.get("state") != "active":
            return
        # A window's hold is placed on each camera covering it, as `<hold>:<camera>`.
        hold = str(body.get("hold_id", "")).split(":", 1)[0]
        row = tx.execute(
            "SELECT cameras FROM complaint_holds WHERE hold = ? AND device = ? AND hall = ?",
            (hold, envelope.device, hall),
        ).fetchone()
        if row is None:
            return  # a hold placed by a technician by hand, not for a complaint
        cameras = sorted(set(json.loads(row[0] or "[]")) | {str(body.get("camera"))})
        at = event_time(envelope)
        tx.execute(
            "UPDATE complaint_holds SET confirmed_at = coalesce(confirmed_at, ?), cameras = ?, "
            "held_segments = held_segments + ? WHERE hold = ? AND device = ? AND hall = ?",
            (at, json.dumps(cameras), int(body.get("held_segments", 0)), hold, envelope.device, hall),
        )
        # A hold's id is its complaint's id, so the confirmation lands in that complaint's log.
        self._append(tx, hold, "complaint.hold_confirmed", at, envelope.device, {
            "device": envelope.device, "camera": body.get("camera"), "hold_id": body.get("hold_id"),
            "until": body.get("until"), "event": envelope.id})

    # --- reading -------------------------------------------------------------

    def get(self, complaint: str) -> dict[str, Any]:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM complaints WHERE id = ?", (complaint,))
        if not rows:
            raise UnknownComplaint(complaint)
        return self._view(rows[0])

    def find(self, *, hall: str | None = None, state: str | None = None,
             overdue: bool | None = None, limit: int = 200) -> list[dict[str, Any]]:
        sql = f"SELECT {_COLUMNS} FROM complaints WHERE 1=1"
        params: list[Any] = []
        for column, value in (("hall", hall), ("state", state)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if overdue is not None:
            sql += " AND overdue = ?"
            params.append(int(overdue))
        sql += " ORDER BY received_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [self._view(row) for row in self.store.query(sql, tuple(params))]

    def history(self, complaint: str, *, personal: bool = False) -> list[dict[str, Any]]:
        rows = self.store.query(
            "SELECT seq, type, at, actor, body FROM complaint_log WHERE complaint = ? ORDER BY seq",
            (complaint,))
        if not rows:
            raise UnknownComplaint(complaint)
        out = []
        for seq, type, at, actor, body in rows:
            data = json.loads(body)
            if not personal:
                data = _masked(data)
            out.append({"seq": seq, "type": type, "at": iso(at), "actor": actor, "body": data})
        return out

    def contact(self, complaint: str) -> dict[str, Any]:
        """The complainant's name and phone, unmasked: for the officer who calls back only."""
        rows = self.store.query(
            "SELECT body FROM complaint_log WHERE complaint = ? AND type = 'complaint.received'",
            (complaint,))
        if not rows:
            raise UnknownComplaint(complaint)
        body = json.loads(rows[0][0])
        return {"complainant": body.get("complainant"), "phone": body.get("phone")}

    def verify(self) -> dict[str, Any]:
        """Recompute the hash chain; name the first row that does not match."""
        report = verify_chain(
            Link(seq, (complaint, type, at, actor), body, prev_hash, digest)
            for seq, complaint, type, at, actor, body, prev_hash, digest in self.store.query(
                "SELECT seq, complaint, type, at, actor, body, prev_hash, hash FROM complaint_log "
                "ORDER BY seq"))
        return {"ok": report.ok, "rows": report.checked, "first_bad_seq": report.first_bad,
                "head": report.head.hash}

    def holds(self, complaint: str) -> list[dict[str, Any]]:
        return [
            {"device": device, "window": window, "start": iso(start), "end": iso(end),
             "requested_at": iso(requested), "attempts": attempts,
             "confirmed_at": iso(confirmed) if confirmed is not None else None,
             "cameras": json.loads(cameras or "[]"), "held_segments": segments}
            for device, window, start, end, requested, attempts, confirmed, cameras, segments
            in self.store.query(
                "SELECT device, window, start_ms, end_ms, requested_at, attempts, confirmed_at, "
                "cameras, held_segments FROM complaint_holds WHERE complaint = ? ORDER BY device",
                (complaint,))
        ]

    def _view(self, row: tuple[Any, ...]) -> dict[str, Any]:
        data = dict(zip(_COLUMNS.split(", "), row, strict=True))
        for key in ("received_at", "visit_from", "visit_to", "due_at", "answered_at"):
            data[key] = iso(data[key]) if data[key] is not None else None
        data["overdue"] = bool(data["overdue"])
        data["holds"] = self.holds(data["id"])
        return data

    # --- the log -------------------------------------------------------------

    def _append(self, tx: sqlite3.Connection, complaint: str, type: str, at: int, actor: str,
                body: dict[str, Any]) -> None:
        row = tx.execute("SELECT seq, hash FROM complaint_log ORDER BY seq DESC LIMIT 1").fetchone()
        link = Link.after(Head(*row) if row else EMPTY, (complaint, type, at, actor),
                          canonical_body(body))
        tx.execute(
            "INSERT INTO complaint_log (seq, complaint, type, at, actor, body, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (link.seq, complaint, type, at, actor, link.body_text, link.prev_hash, link.hash),
        )

    @staticmethod
    def _state(tx: sqlite3.Connection, complaint: str) -> str:
        row = tx.execute("SELECT state FROM complaints WHERE id = ?", (complaint,)).fetchone()
        if row is None:
            raise UnknownComplaint(complaint)
        return str(row[0])

    @staticmethod
    def _next_id(tx: sqlite3.Connection, now: int) -> str:
        day = datetime.fromtimestamp(now / 1000, SHANGHAI).strftime("%Y%m%d")
        prefix = f"TS{day}-"
        row = tx.execute("SELECT max(id) FROM complaints WHERE id LIKE ?", (prefix + "%",)).fetchone()
        number = int(row[0].rsplit("-", 1)[1]) + 1 if row and row[0] else 1
        return f"{prefix}{number:04d}"


_COLUMNS = ("id, received_at, channel, hall, ticket, window, officer, unit, handler, visit_from, "
            "visit_to, visit_problem, summary, state, due_at, overdue, answered_at, answer")


def hold_command(
    hold: str, device: str, window: str, start: int, end: int, until: int, complaint: str
) -> dict[str, Any]:
    """The recorder's hold command (docs/recorder.md): keep this window's footage of [start, end].

    `device` routes it through the hall gateway; the hold id is the complaint's,
    so a resent command holds once.
    """
    return {
        "v": 1, "id": hold, "command": HOLD_COMMAND, "device": device,
        "hold": {"hold_id": hold, "window": window, "from": start, "to": end, "until": until,
                 "who": "central complaint desk", "why": f"complaint {complaint}"},
    }


def working_days_due(received_ms: int, workdays: int) -> int:
    """End of the n-th working day after the day of receipt (China's official calendar)."""
    from central.cases.calendar import CalendarGap
    from central.cases.timebase import day_of, midnight

    day = day_of(received_ms // 1000)
    try:
        due_day = _calendar().nth_after(day, workdays)
    except CalendarGap:
        # Beyond the known calendar: count weekdays only, and err towards the earlier date.
        due_day, left = day, workdays
        while left:
            due_day += 1
            if (due_day + 3) % 7 < 5:  # day 0 (1970-01-01) was a Thursday
                left -= 1
    return midnight(due_day + 1) * 1000


@functools.cache
def _calendar() -> Any:
    from central.cases.calendar import load_calendar

    return load_calendar()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(SHANGHAI).isoformat(timespec="seconds")


def _masked(body: dict[str, Any]) -> dict[str, Any]:
    from contract.privacy import mask_phone

    out = dict(body)
    if out.get("phone"):
        out["phone"] = mask_phone(out["phone"])
    if out.get("complainant"):
        out["complainant"] = str(out["complainant"])[:1] + "*"
    for key in ("summary", "answer"):
        if isinstance(out.get(key), str):
            out[key] = redact(out[key])
    return out


class QueueEventVisits:
    """Finds a ticket's visit in the queue facts the gateways forwarded (`queue.served`, `queue.called`)."""

    def __init__(self, store: CentralStore, unit_of_window: Callable[[str, str], str | None]) -> None:
        self.store = store
        self.unit_of_window = unit_of_window

    def __call__(self, hall: str, ticket: str, around_ms: int | None) -> Visit | None:
        # Ticket numbers restart every day: take the latest visit that began by the time
        # the complainant gave (a day's slack: people misremember the hour, not the day).
        rows = self.store.query(
            "SELECT type, payload FROM events WHERE hall = ? AND type IN ('queue.served', 'queue.called') "
            "AND json_extract(payload, '$.body.ticket') = ? ORDER BY id DESC LIMIT 50",
            (hall, ticket),
        )
        for type, payload in rows:
            body = json.loads(payload)["body"]
            if around_ms is not None and body.get("called_at", body["at"]) > around_ms + 86_400_000:
                continue
            served = type == "queue.served"
            return Visit(
                hall=hall, window=body["window"], ticket=ticket, officer=body.get("officer"),
                called_at=body["called_at"] if served else body["at"],
                ended_at=body["at"] if served else None,
                unit=self.unit_of_window(hall, body["window"]),
            )
        return None
