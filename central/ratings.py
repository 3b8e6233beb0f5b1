"""Satisfaction ratings at central: statistics per department, window and officer, and a
rectification follow-up for every bad rating, tracked to closure.

Fed by the gateways' `rating.recorded` and `rating.reason_recorded` (a `Projection`: it can be
deployed late and catches up from the event log). Counts over any period:

- per grade (the five national grades), `rated` (graded outcomes), `not_rated`;
- satisfaction rate = (非常满意 + 满意 + 基本满意) / rated;
- bad-rating share = (不满意 + 非常不满意) / rated;
- not-rated share = not rated / (rated + not rated).

Every bad rating opens a follow-up due in `followup_days` calendar or working days (the
official working-day calendar of `central.cases.calendar`): rectify, call the citizen back,
close. Follow-up actions go to an append-only, hash-chained log; the follow-up row is its
projection. A follow-up past its due time and not closed is overdue (computed when read).

Wiring (one call, by whoever builds the central service): `attach_ratings(service)`.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from central.cases.calendar import CalendarGap, WorkCalendar, load_calendar
from central.cases.timebase import day_of, midnight
from central.chain import EMPTY, Head, Link, verify_chain
from central.projection import Projection, event_time
from central.store import CentralStore
from central.web.auth import Principal, reader, writer
from contract.envelope import Envelope
from contract.events.rating import GRADE_LABELS, Grade
from spine.config import Section

if TYPE_CHECKING:
    from central.service import CentralService

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
Group = Literal["department", "window", "officer", "hall"]
_GROUP_COLUMN = {"department": "department", "window": "hall || '/' || window", "officer":
                 "coalesce(officer_name, officer)", "hall": "hall"}
_UNIT_GROUPS = {"unit": "department", "window": "window", "officer": "officer"}


class RatingCentralSettings(Section):
    """How long a bad rating's rectification may take (local rules: 7 days or 15 working days)."""

    followup_days: int = Field(15, ge=1, le=90)
    followup_unit: Literal["working_days", "calendar_days"] = "working_days"


SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    hall TEXT NOT NULL,
    rating TEXT NOT NULL,
    terminal TEXT NOT NULL,
    window TEXT,
    officer TEXT,
    officer_name TEXT,
    department TEXT,
    service TEXT,
    day TEXT,
    ticket TEXT,
    grade TEXT,
    rated_at INTEGER NOT NULL,
    how TEXT NOT NULL,
    reason TEXT,
    reason_label TEXT,
    event_id TEXT NOT NULL,
    PRIMARY KEY (hall, rating)
);
CREATE INDEX IF NOT EXISTS ratings_by_time ON ratings (rated_at);
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


class FollowUpError(Exception):
    """An action the follow-up's state does not allow (why is in the message)."""


class UnknownFollowUp(LookupError):
    pass


@dataclass(frozen=True)
class Satisfaction:
    """One row of the satisfaction statistics."""

    key: str | None
    rated: int
    not_rated: int
    grades: dict[str, int]
    satisfied: int
    bad: int
    satisfaction_rate: float | None
    bad_share: float | None
    not_rated_share: float | None


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


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class RatingBook(Projection):
    """The ratings projection, its statistics and the follow-ups (a `CentralHandler`)."""

    name = "ratings"
    schema = SCHEMA

    def __init__(self, settings: RatingCentralSettings | None = None,
                 calendar: WorkCalendar | None = None) -> None:
        self.settings = settings or RatingCentralSettings.model_validate({})
        self._calendar = calendar
        self.store: CentralStore | None = None

    def install(self, store: CentralStore) -> None:
        self.store = store
        super().install(store)

    # --- projection ---------------------------------------------------------------------

    def apply(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        if envelope.type == "rating.recorded":
            self._recorded(tx, hall, envelope)
        elif envelope.type == "rating.reason_recorded":
            body = envelope.body
            tx.execute("UPDATE ratings SET reason = ?, reason_label = ? WHERE hall = ? AND rating = ?",
                       (body.get("reason"), body.get("label"), hall, body["rating"]))

    def _recorded(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        body = envelope.body
        visit = body.get("visit") or {}
        rated_at = body.get("rated_at") or event_time(envelope)
        cursor = tx.execute(
            "INSERT OR IGNORE INTO ratings (hall, rating, terminal, window, officer, officer_name, "
            "department, service, day, ticket, grade, rated_at, how, event_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (hall, body["rating"], body["terminal"], body.get("window"), body.get("officer"),
             body.get("officer_name"), body.get("department"), body.get("service"), visit.get("day"),
             visit.get("ticket"), body.get("grade"), rated_at, body["how"], envelope.id))
        grade = body.get("grade")
        if cursor.rowcount == 1 and grade is not None and Grade(grade).bad:
            due, estimated = self.due_at(rated_at)
            tx.execute("INSERT OR IGNORE INTO rating_followups (hall, rating, opened_at, due_at, "
                       "due_estimated, state) VALUES (?, ?, ?, ?, ?, 'open')",
                       (hall, body["rating"], rated_at, due, estimated))
            self._log(tx, hall, body["rating"], "opened", "system", GRADE_LABELS[Grade(grade)], rated_at)

    def due_at(self, opened_at: int) -> tuple[int, bool]:
        """When a follow-up opened at `opened_at` is due (end of the last allowed day), and whether
        that is an estimate (the working-day calendar does not cover the period yet)."""
        days = self.settings.followup_days
        if self.settings.followup_unit == "calendar_days":
            return opened_at + days * DAY_MS, False
        opened_day = day_of(opened_at // 1000)
        try:
            last = self.calendar.nth_after(opened_day, days)
        except CalendarGap:
            # Not guessed silently: flagged, with a conservative 7-for-5 spread of working days.
            log.warning("working-day calendar does not cover the follow-up period: due date estimated")
            last = opened_day + -(-days * 7 // 5)
            return midnight(last + 1) * 1000, True
        return midnight(last + 1) * 1000, False

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = load_calendar()
        return self._calendar

    # --- statistics ----------------------------------------------------------------------

    def satisfaction(self, by: Group | None = None, *, since_ms: int | None = None,
                     until_ms: int | None = None, hall: str | None = None) -> list[Satisfaction]:
        """Counts per grade and the three shares, grouped `by`, for outcomes in [since, until)."""
        where, params = self._where(since_ms, until_ms, hall)
        key = _GROUP_COLUMN[by] if by else "NULL"
        rows = self._query(
            f"SELECT {key}, grade, count(*) FROM ratings{where} GROUP BY 1, 2 ORDER BY 1", params)
        grouped: dict[Any, dict[str | None, int]] = {}
        for group_key, grade, count in rows:
            grouped.setdefault(group_key, {})[grade] = count
        return [self._row(group_key, counts) for group_key, counts in grouped.items()]

    @staticmethod
    def _row(key: Any, counts: dict[str | None, int]) -> Satisfaction:
        grades = {grade.value: counts.get(grade.value, 0) for grade in Grade}
        rated = sum(grades.values())
        not_rated = counts.get(None, 0)
        satisfied = sum(n for g, n in grades.items() if Grade(g).satisfied)
        bad = rated - satisfied
        return Satisfaction(
            key=None if key is None else str(key), rated=rated, not_rated=not_rated, grades=grades,
            satisfied=satisfied, bad=bad, satisfaction_rate=_ratio(satisfied, rated),
            bad_share=_ratio(bad, rated), not_rated_share=_ratio(not_rated, rated + not_rated),
        )

    @staticmethod
    def _where(since_ms: int | None, until_ms: int | None, hall: str | None) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        if since_ms is not None:
            clauses.append("rated_at >= ?")
            params.append(since_ms)
        if until_ms is not None:
            clauses.append("rated_at < ?")
            params.append(until_ms)
        if hall is not None:
            clauses.append("hall = ?")
            params.append(hall)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def by(self, group: str, since_ms: int | None) -> dict[str, dict[str, int]]:
        """The performance score's input (`central.web.context.RatingSource`): group `unit`,
        `window` or `officer` -> key -> {ratings, satisfied, bad, bad_rectified}."""
        mine: Group = _UNIT_GROUPS.get(group, group)  # type: ignore[assignment]
        where, params = self._where(since_ms, None, None)
        key = _GROUP_COLUMN[mine].replace("hall", "r.hall")  # both tables have a hall column
        rows = self._query(
            f"SELECT {key}, count(r.grade), sum(r.grade IN ('very_satisfied', 'satisfied', "
            "'basically_satisfied')), sum(r.grade IN ('dissatisfied', 'very_dissatisfied')), "
            "sum(f.state = 'closed') FROM ratings r LEFT JOIN rating_followups f "
            f"ON f.hall = r.hall AND f.rating = r.rating{where.replace('rated_at', 'r.rated_at')} "
            "GROUP BY 1", params)
        return {str(k): {"ratings": n or 0, "satisfied": s or 0, "bad": b or 0, "bad_rectified": c or 0}
                for k, n, s, b, c in rows if k is not None and n}

    def today(self, hall: str, now_ms: int) -> dict[str, Any]:
        """Today's figures of one hall for the big screen (`CentralContext.ratings_today`)."""
        start = midnight(day_of(now_ms // 1000)) * 1000
        rows = self.satisfaction(None, since_ms=start, until_ms=now_ms + 1, hall=hall)
        row = rows[0] if rows else self._row(None, {})
        open_followups = self._query(
            "SELECT count(*) FROM rating_followups WHERE hall = ? AND state != 'closed'", (hall,))[0][0]
        return {"rated": row.rated, "not_rated": row.not_rated, "satisfaction_rate": row.satisfaction_rate,
                "bad": row.bad, "open_followups": open_followups}

    # --- follow-ups -----------------------------------------------------------------------

    def followups(self, now_ms: int, *, hall: str | None = None, state: str | None = None,
                  overdue_only: bool = False) -> list[FollowUp]:
        clauses: list[str] = []
        params: list[Any] = []
        if hall is not None:
            clauses.append("f.hall = ?")
            params.append(hall)
        if state is not None:
            clauses.append("f.state = ?")
            params.append(state)
        if overdue_only:
            clauses.append("f.state != 'closed' AND f.due_at < ?")
            params.append(now_ms)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        rows = self._query(
            "SELECT f.hall, f.rating, r.grade, r.window, coalesce(r.officer_name, r.officer), r.department, "
            "r.reason_label, f.opened_at, f.due_at, f.due_estimated, f.state, f.rectification, "
            "f.callback_result, f.closed_at FROM rating_followups f JOIN ratings r "
            f"ON r.hall = f.hall AND r.rating = f.rating{where} ORDER BY f.due_at", tuple(params))
        return [FollowUp(hall=h, rating=rt, grade=g, window=w, officer=o, department=d, reason=reason,
                         opened_at=opened, due_at=due, due_estimated=bool(est), state=st,
                         overdue=(closed if closed is not None else now_ms) > due, rectification=rect,
                         callback_result=cb, closed_at=closed)
                for h, rt, g, w, o, d, reason, opened, due, est, st, rect, cb, closed in rows]

    def rectify(self, hall: str, rating: str, actor: str, note: str, now_ms: int) -> None:
        """The unit says what it changed (整改)."""
        self._act(hall, rating, actor, "rectified", note, now_ms, allowed=("open", "rectified"),
                  update="state = 'rectified', rectified_at = ?, rectification = ?", values=(now_ms, note))

    def callback(self, hall: str, rating: str, actor: str, result: str, now_ms: int) -> None:
        """The citizen was called back (回访) and said `result`."""
        self._act(hall, rating, actor, "called_back", result, now_ms, allowed=("rectified", "called_back"),
                  update="state = 'called_back', called_back_at = ?, callback_result = ?",
                  values=(now_ms, result))

    def close(self, hall: str, rating: str, actor: str, note: str, now_ms: int) -> None:
        """Closed after rectification and callback; one closed late stays marked overdue."""
        self._act(hall, rating, actor, "closed", note, now_ms, allowed=("called_back",),
                  update="state = 'closed', closed_at = ?", values=(now_ms,))

    def _act(self, hall: str, rating: str, actor: str, action: str, note: str, now_ms: int, *,
             allowed: tuple[str, ...], update: str, values: tuple[Any, ...]) -> None:
        if not note.strip():
            raise FollowUpError(f"{action} needs a note saying what was done")
        with self._store().transaction() as tx:
            row = tx.execute("SELECT state FROM rating_followups WHERE hall = ? AND rating = ?",
                             (hall, rating)).fetchone()
            if row is None:
                raise UnknownFollowUp(f"no follow-up for rating {rating} of {hall}")
            if row[0] not in allowed:
                raise FollowUpError(f"cannot mark an {row[0]} follow-up {action}; it must be "
                                    f"{' or '.join(allowed)}")
            tx.execute(f"UPDATE rating_followups SET {update} WHERE hall = ? AND rating = ?",
                       (*values, hall, rating))
            self._log(tx, hall, rating, action, actor, note, now_ms)

    @staticmethod
    def _log(tx: sqlite3.Connection, hall: str, rating: str, action: str, actor: str, note: str,
             at: int) -> None:
        row = tx.execute("SELECT id, hash FROM rating_followup_log ORDER BY id DESC LIMIT 1").fetchone()
        link = Link.after(Head(*row) if row else EMPTY, (hall, rating, action, actor, at), note)
        tx.execute("INSERT INTO rating_followup_log (id, hall, rating, action, actor, note, at, prev_hash, "
                   "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (link.seq, hall, rating, action, actor, note, at, link.prev_hash, link.hash))

    def history(self, hall: str, rating: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT action, actor, note, at FROM rating_followup_log WHERE hall = ? "
                           "AND rating = ? ORDER BY id", (hall, rating))
        return [{"action": a, "actor": who, "note": n, "at": at} for a, who, n, at in rows]

    def verify_log(self) -> str | None:
        """None when the follow-up log's hash chain is intact, else where it breaks."""
        report = verify_chain(
            Link(row_id, (hall, rating, action, actor, at), note, prev_hash, digest)
            for row_id, hall, rating, action, actor, note, at, prev_hash, digest in self._query(
                "SELECT id, hall, rating, action, actor, note, at, prev_hash, hash FROM rating_followup_log "
                "ORDER BY id"))
        return None if report.ok else f"follow-up log row {report.first_bad} does not match its chain"

    # --- plumbing ------------------------------------------------------------------------

    def _store(self) -> CentralStore:
        if self.store is None:
            raise RuntimeError("RatingBook.install(store) was not called")
        return self.store

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self._store().query(sql, params)


# --- HTTP ----------------------------------------------------------------------------------


class FollowUpAction(BaseModel):
    note: str = Field(min_length=1, max_length=500)


def ratings_router(book: RatingBook) -> APIRouter:
    """`/api/ratings/...`: statistics for readers, follow-up actions for writers."""
    router = APIRouter(prefix="/api/ratings", tags=["ratings"])

    @router.get("/satisfaction", summary="Counts per grade, satisfaction, bad and not-rated shares")
    def satisfaction(
        _who: Annotated[Principal, Depends(reader)],
        by: Group | None = None, since_ms: int | None = None, until_ms: int | None = None,
        hall: str | None = None,
    ) -> list[dict[str, Any]]:
        return [asdict(row) for row in book.satisfaction(by, since_ms=since_ms, until_ms=until_ms, hall=hall)]

    @router.get("/followups", summary="Rectification follow-ups of bad ratings, soonest due first")
    def followups(
        _who: Annotated[Principal, Depends(reader)],
        hall: str | None = None, state: str | None = None,
        overdue: Annotated[bool, Query(description="only overdue ones")] = False,
    ) -> list[dict[str, Any]]:
        from spine.clock import SystemClock

        now = SystemClock().wall_ms()
        return [asdict(f) for f in book.followups(now, hall=hall, state=state, overdue_only=overdue)]

    @router.post(
        "/followups/{hall}/{rating}/{action}",
        summary="Rectified, called back, or closed",
        responses={404: {"description": "no follow-up for that rating"},
                   409: {"description": "the step is out of order (e.g. closed before called back)"}},
    )
    def act(hall: str, rating: str, action: Literal["rectify", "callback", "close"], body: FollowUpAction,
            who: Annotated[Principal, Depends(writer)]) -> dict[str, Any]:
        from spine.clock import SystemClock

        step = {"rectify": book.rectify, "callback": book.callback, "close": book.close}[action]
        try:
            step(hall, rating, who.name, body.note, SystemClock().wall_ms())
        except UnknownFollowUp as exc:
            raise HTTPException(404, str(exc)) from exc
        except FollowUpError as exc:
            raise HTTPException(409, str(exc)) from exc
        return {"history": book.history(hall, rating)}

    return router


def attach_ratings(service: CentralService, settings: RatingCentralSettings | None = None) -> RatingBook:
    """Feed the ratings projection from `service`'s store, and show it on the API, the big screen's
    hall figures and the performance ranking. Call before `service.start()`."""
    book = RatingBook(settings)
    book.install(service.store)
    service.store.handlers.append(book)
    service.context.ratings = book
    service.context.ratings_today = book.today
    service.app.include_router(ratings_router(book))
    return book
