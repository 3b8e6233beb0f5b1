"""The rectification follow-up of every bad rating: open, rectified (整改), called back (回访), closed.

A follow-up is due `followup_days` working days after the rating (or calendar
days, by configuration), counted by `central.deadlines`. Every step is
appended to a hash-chained log that refuses updates and deletes; the
`rating_followups` row is only its current view. A note may name the citizen's
phone (回访 138...): the phones and ID numbers in it are sealed with the
follow-up's key before the note is chained, and read masked. A follow-up past its due time
and not closed is overdue (computed when read); one closed late stays overdue.

Its statements are written once for SQLite and PostgreSQL (`spine.statement`); on
PostgreSQL its tables and the log's append-only triggers are made by
`central/migrations` (revision 0003).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import bindparam, func, literal, select, update

from central.deadlines import WorkingDays
from central.personal import Reader, followup_subject, vault
from central.ratings.tables import FOLLOWUP_LOG, RATING_FOLLOWUPS, RATINGS
from central.reads import Source, built
from central.reads import rows as read_rows
from spine.config import Section
from spine.statement import Statement, Tx, insert_for

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
""" + FOLLOWUP_LOG.schema

_F, _R = RATING_FOLLOWUPS.c, RATINGS.c


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
    """One step of the workflow: the states it may follow and what it records on the row (the
    state it leaves, when it was taken in `at_column`, its note in `note_column`)."""

    action: str
    allowed: tuple[str, ...]
    at_column: str
    note_column: str | None

    @property
    def with_note(self) -> bool:
        return self.note_column is not None

    def statement(self) -> Statement:
        values: dict[str, Any] = {"state": literal(self.action), self.at_column: bindparam("v_at")}
        if self.note_column is not None:
            values[self.note_column] = bindparam("v_note")
        return Statement(lambda _dialect: update(RATING_FOLLOWUPS).where(
            _F.hall == bindparam("w_hall"), _F.rating == bindparam("w_rating")).values(values))


STEPS = {
    "rectify": FollowUpStep("rectified", ("open", "rectified"), "rectified_at", "rectification"),
    "callback": FollowUpStep("called_back", ("rectified", "called_back"), "called_back_at",
                             "callback_result"),
    "close": FollowUpStep("closed", ("called_back",), "closed_at", None),
}
_TAKEN = {name: step.statement() for name, step in STEPS.items()}
_OPENED = Statement(lambda dialect: insert_for(dialect, RATING_FOLLOWUPS).values(
    hall=bindparam("hall"), rating=bindparam("rating"), opened_at=bindparam("opened_at"),
    due_at=bindparam("due_at"), due_estimated=bindparam("due_estimated"), state="open",
).on_conflict_do_nothing())
_STATE = Statement(lambda _dialect: select(_F.state).where(
    _F.hall == bindparam("hall"), _F.rating == bindparam("rating")))


class FollowUps:
    """The follow-up workflow over the caller's transaction or read (the ratings book owns the store)."""

    def __init__(self, settings: RatingCentralSettings, working_days: WorkingDays) -> None:
        self.settings = settings
        self.working_days = working_days

    def open(self, tx: Tx, hall: str, rating: str, grade_label: str, opened_at: int) -> None:
        due, estimated = self.due_at(opened_at)
        _OPENED.run(tx, {"hall": hall, "rating": rating, "opened_at": opened_at, "due_at": due,
                         "due_estimated": int(estimated)})
        self._log(tx, hall, rating, "opened", "system", grade_label, opened_at)

    def due_at(self, opened_at: int) -> tuple[int, bool]:
        """When a follow-up opened at `opened_at` is due (end of the last allowed day), and whether
        that is an estimate (the working-day calendar does not cover the period yet)."""
        days = self.settings.followup_days
        if self.settings.followup_unit == "calendar_days":
            return opened_at + days * DAY_MS, False
        deadline = self.working_days.after(opened_at, days)
        return deadline.end_ms, deadline.estimated

    def act(self, tx: Tx, hall: str, rating: str, step_name: str, actor: str,
            note: str, now_ms: int) -> None:
        """Take a step (`rectify`, `callback`, `close`) if the follow-up's state allows it."""
        step = STEPS[step_name]
        if not note.strip():
            raise FollowUpError(f"{step.action} needs a note saying what was done")
        row = _STATE.run(tx, {"hall": hall, "rating": rating}).fetchone()
        if row is None:
            raise UnknownFollowUp(f"no follow-up for rating {rating} of {hall}")
        if row[0] not in step.allowed:
            raise FollowUpError(f"cannot mark an {row[0]} follow-up {step.action}; it must be "
                                f"{' or '.join(step.allowed)}")
        note = vault.seal_text(tx, followup_subject(hall, rating), note)
        _TAKEN[step_name].run(tx, {"w_hall": hall, "w_rating": rating, "v_at": now_ms,
                                   **({"v_note": note} if step.with_note else {})})
        self._log(tx, hall, rating, step.action, actor, note, now_ms)

    @staticmethod
    def listed(read: Source, now_ms: int, *, hall: str | None = None, state: str | None = None,
               overdue_only: bool = False) -> list[FollowUp]:
        """Follow-ups with their rating, soonest due first."""
        r = _R
        conditions = [condition for value, condition in (
            (hall, _F.hall == literal(hall)), (state, _F.state == literal(state))) if value is not None]
        if overdue_only:
            conditions += [_F.state != "closed", _F.due_at < literal(now_ms)]
        query = select(
            _F.hall, _F.rating, r.grade, r.window, func.coalesce(r.officer_name, r.officer), r.department,
            r.reason_label, _F.opened_at, _F.due_at, _F.due_estimated, _F.state, _F.rectification,
            _F.callback_result, _F.closed_at,
        ).select_from(RATING_FOLLOWUPS.join(RATINGS, (r.hall == _F.hall) & (r.rating == _F.rating))
                      ).where(*conditions).order_by(_F.due_at)
        rows = read_rows(read, built(query))
        reader = Reader(read)
        reader.prefetch(rows)
        return [FollowUp(hall=h, rating=rt, grade=g, window=w, officer=o, department=d, reason=reason,
                         opened_at=opened, due_at=due, due_estimated=bool(est), state=st,
                         overdue=(closed if closed is not None else now_ms) > due,
                         rectification=reader.masked(followup_subject(h, rt), rect),
                         callback_result=reader.masked(followup_subject(h, rt), cb), closed_at=closed)
                for h, rt, g, w, o, d, reason, opened, due, est, st, rect, cb, closed in rows]

    @staticmethod
    def history(read: Source, hall: str, rating: str) -> list[dict[str, Any]]:
        """Every step of a follow-up, its notes masked."""
        subject, reader = followup_subject(hall, rating), Reader(read)
        return [{"action": step.type, "actor": step.actor, "note": reader.masked(subject, step.text),
                 "at": step.at} for step in FOLLOWUP_LOG.steps(read, (hall, rating))]

    @staticmethod
    def verify_log(read: Source) -> str | None:
        """None when the follow-up log's hash chain is intact, else where it breaks."""
        report = FOLLOWUP_LOG.verify(read)
        return None if report.ok else f"follow-up log row {report.first_bad} does not match its chain"

    @staticmethod
    def _log(tx: Tx, hall: str, rating: str, action: str, actor: str, note: str, at: int) -> None:
        FOLLOWUP_LOG.append(tx, (hall, rating), action, at, actor, note)
