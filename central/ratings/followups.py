"""The rectification follow-up of every bad rating: open, rectified (整改), called back (回访), closed.

A follow-up is due `followup_days` working days after the rating (or calendar
days, by configuration), counted by `central.deadlines`. Every step is
appended to a hash-chained log that refuses updates and deletes; the
`rating_followups` row is only its current view. A note may name the citizen's
phone (回访 138...): the phones and ID numbers in it are sealed with the
follow-up's key before the note is chained, and read masked. A follow-up past its due time
and not closed is overdue (computed when read); one closed late stays overdue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from central.chain import EMPTY, Head, Link, verify_chain
from central.deadlines import WorkingDays
from central.personal import Reader, followup_subject, vault
from central.where import Where
from spine.config import Section

DAY_MS = 86_400_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS rating_followups (
    hall TEXT NOT NULL,
    rating TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    due_estimated INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    rectified_at INTEGER,
    rectification TEXT,
    called_back_at INTEGER,
    callback_result TEXT,
    closed_at INTEGER,
    PRIMARY KEY (hall, rating)
);
CREATE INDEX IF NOT EXISTS rating_followups_open ON rating_followups (state, due_at);
CREATE TABLE IF NOT EXISTS rating_followup_log (
    id INTEGER PRIMARY KEY,
    hall TEXT NOT NULL,
    rating TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    at INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS rating_followup_log_no_update BEFORE UPDATE ON rating_followup_log
    BEGIN SELECT RAISE(ABORT, 'the follow-up log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS rating_followup_log_no_delete BEFORE DELETE ON rating_followup_log
    BEGIN SELECT RAISE(ABORT, 'the follow-up log is append-only'); END;
"""

Read = Callable[[str, tuple[Any, ...]], list[Any]]
"""A read of central's store (`CentralStore.query`)."""


class RatingCentralSettings(Section):
    """How long a bad rating's rectification may take (local rules: 7 days or 15 working days)."""

    followup_days: int = Field(15, ge=1, le=90)
    followup_unit: Literal["working_days", "calendar_days"] = "working_days"


class FollowUpError(Exception):
    """An action the follow-up's state does not allow (why is in the message)."""


class UnknownFollowUp(LookupError):
    pass


@dataclass(frozen=True)
class FollowUp:
    hall: str
    rating: str
    grade: str
    window: str | None
    officer: str | None
    department: str | None
    reason: str | None
    opened_at: int
    due_at: int
    due_estimated: bool
    state: str
    overdue: bool
    rectification: str | None
    callback_result: str | None
    closed_at: int | None


@dataclass(frozen=True)
class FollowUpStep:
    """One step of the workflow: the states it may follow and what it records on the row."""

    action: str
    allowed: tuple[str, ...]
    update: str
    with_note: bool


STEPS = {
    "rectify": FollowUpStep("rectified", ("open", "rectified"),
                    "state = 'rectified', rectified_at = ?, rectification = ?", True),
    "callback": FollowUpStep("called_back", ("rectified", "called_back"),
                     "state = 'called_back', called_back_at = ?, callback_result = ?", True),
    "close": FollowUpStep("closed", ("called_back",), "state = 'closed', closed_at = ?", False),
}


class FollowUps:
    """The follow-up workflow over the caller's transaction or read (the ratings book owns the store)."""

    def __init__(self, settings: RatingCentralSettings, working_days: WorkingDays) -> None:
        self.settings = settings
        self.working_days = working_days

    def open(self, tx: sqlite3.Connection, hall: str, rating: str, grade_label: str,
             opened_at: int) -> None:
        due, estimated = self.due_at(opened_at)
        tx.execute("INSERT OR IGNORE INTO rating_followups (hall, rating, opened_at, due_at, "
                   "due_estimated, state) VALUES (?, ?, ?, ?, ?, 'open')",
                   (hall, rating, opened_at, due, estimated))
        self._log(tx, hall, rating, "opened", "system", grade_label, opened_at)

    def due_at(self, opened_at: int) -> tuple[int, bool]:
        """When a follow-up opened at `opened_at` is due (end of the last allowed day), and whether
        that is an estimate (the working-day calendar does not cover the period yet)."""
        days = self.settings.followup_days
        if self.settings.followup_unit == "calendar_days":
            return opened_at + days * DAY_MS, False
        deadline = self.working_days.after(opened_at, days)
        return deadline.end_ms, deadline.estimated

    def act(self, tx: sqlite3.Connection, hall: str, rating: str, step_name: str, actor: str,
            note: str, now_ms: int) -> None:
        """Take a step (`rectify`, `callback`, `close`) if the follow-up's state allows it."""
        step = STEPS[step_name]
        if not note.strip():
            raise FollowUpError(f"{step.action} needs a note saying what was done")
        row = tx.execute("SELECT state FROM rating_followups WHERE hall = ? AND rating = ?",
                         (hall, rating)).fetchone()
        if row is None:
            raise UnknownFollowUp(f"no follow-up for rating {rating} of {hall}")
        if row[0] not in step.allowed:
            raise FollowUpError(f"cannot mark an {row[0]} follow-up {step.action}; it must be "
                                f"{' or '.join(step.allowed)}")
        note = vault.seal_text(tx, followup_subject(hall, rating), note)
        values = (now_ms, note) if step.with_note else (now_ms,)
        tx.execute(f"UPDATE rating_followups SET {step.update} WHERE hall = ? AND rating = ?",
                   (*values, hall, rating))
        self._log(tx, hall, rating, step.action, actor, note, now_ms)

    @staticmethod
    def listed(read: Read, now_ms: int, *, hall: str | None = None, state: str | None = None,
               overdue_only: bool = False) -> list[FollowUp]:
        """Follow-ups with their rating, soonest due first."""
        where = (Where().equals("f.hall", hall).equals("f.state", state)
                 .holds("f.state != 'closed' AND f.due_at < ?", now_ms, when=overdue_only))
        rows = read(
            "SELECT f.hall, f.rating, r.grade, r.window, coalesce(r.officer_name, r.officer), r.department, "
            "r.reason_label, f.opened_at, f.due_at, f.due_estimated, f.state, f.rectification, "
            "f.callback_result, f.closed_at FROM rating_followups f JOIN ratings r "
            f"ON r.hall = f.hall AND r.rating = f.rating{where.sql} ORDER BY f.due_at", where.params)
        reader = Reader(read)
        reader.prefetch(rows)
        return [FollowUp(hall=h, rating=rt, grade=g, window=w, officer=o, department=d, reason=reason,
                         opened_at=opened, due_at=due, due_estimated=bool(est), state=st,
                         overdue=(closed if closed is not None else now_ms) > due,
                         rectification=reader.masked(followup_subject(h, rt), rect),
                         callback_result=reader.masked(followup_subject(h, rt), cb), closed_at=closed)
                for h, rt, g, w, o, d, reason, opened, due, est, st, rect, cb, closed in rows]

    @staticmethod
    def history(read: Read, hall: str, rating: str) -> list[dict[str, Any]]:
        """Every step of a follow-up, its notes masked."""
        rows = read("SELECT action, actor, note, at FROM rating_followup_log WHERE hall = ? "
                    "AND rating = ? ORDER BY id", (hall, rating))
        subject, reader = followup_subject(hall, rating), Reader(read)
        return [{"action": a, "actor": who, "note": reader.masked(subject, n), "at": at}
                for a, who, n, at in rows]

    @staticmethod
    def verify_log(read: Read) -> str | None:
        """None when the follow-up log's hash chain is intact, else where it breaks."""
        report = verify_chain(
            Link(row_id, (hall, rating, action, actor, at), note, prev_hash, digest)
            for row_id, hall, rating, action, actor, note, at, prev_hash, digest in read(
                "SELECT id, hall, rating, action, actor, note, at, prev_hash, hash "
                "FROM rating_followup_log ORDER BY id", ()))
        return None if report.ok else f"follow-up log row {report.first_bad} does not match its chain"

    @staticmethod
    def _log(tx: sqlite3.Connection, hall: str, rating: str, action: str, actor: str, note: str,
             at: int) -> None:
        row = tx.execute("SELECT id, hash FROM rating_followup_log ORDER BY id DESC LIMIT 1").fetchone()
        link = Link.after(Head(*row) if row else EMPTY, (hall, rating, action, actor, at), note)
        tx.execute("INSERT INTO rating_followup_log (id, hall, rating, action, actor, note, at, "
                   "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (link.seq, hall, rating, action, actor, note, at, link.prev_hash, link.hash))
