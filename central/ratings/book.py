"""The ratings book: every counted rating outcome at central, and the statistics read from it.

Fed by the gateways' `rating.recorded` and `rating.reason_recorded` (a `Projection`: it can be
deployed late and catches up from the event log). Counts over any period:

- per grade (the five national grades), `rated` (graded outcomes), `not_rated`;
- satisfaction rate = (非常满意 + 满意 + 基本满意) / rated;
- bad-rating share = (不满意 + 非常不满意) / rated;
- not-rated share = not rated / (rated + not rated).

Every bad rating opens a follow-up (`central.ratings.followups`). The gateway attributes each
rating to its window, officer and department, which also tells central the department a window
or an officer serves for (`department_of`, used to route complaints).

Its statements are written once for SQLite and PostgreSQL (`spine.statement`, tables in
`central.ratings.tables`); on PostgreSQL its tables are made by `central/migrations`
(revision 0003).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Text, bindparam, case, cast, func, literal, null, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from central.cases.timebase import day_of, midnight
from central.deadlines import WorkingDays
from central.personal import vault
from central.projection import Projection, Writes, event_time, write_all
from central.ratings.followups import SCHEMA as FOLLOWUP_SCHEMA
from central.ratings.followups import FollowUp, FollowUps, RatingCentralSettings
from central.ratings.tables import RATING_FOLLOWUPS, RATINGS
from central.reads import built
from central.store import CentralStore
from contract.envelope import Envelope
from contract.events.rating import GRADE_LABELS, Grade
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent
from spine.sqlite import before_commit
from spine.statement import SetWrite, Statement, Tx, insert_for, json_rows

_R, _F = RATINGS.c, RATING_FOLLOWUPS.c

RatingGroup = Literal["department", "window", "officer", "hall"]
_GROUP_COLUMN: dict[str, ColumnElement[Any]] = {
    "department": _R.department, "window": _R.hall + "/" + _R.window,
    "officer": func.coalesce(_R.officer_name, _R.officer), "hall": _R.hall}
_UNIT_GROUPS: dict[str, RatingGroup] = {"unit": "department", "window": "window", "officer": "officer",
                                         "department": "department", "hall": "hall"}

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
"""


_RECORDED_COLUMNS = ("hall", "rating", "terminal", "window", "officer", "officer_name", "department",
                     "service", "day", "ticket", "grade", "rated_at", "how", "event_id")


def _ratings_insert(_dialect: str) -> Any:
    given = json_rows([_R[name] for name in _RECORDED_COLUMNS])
    return postgresql_insert(RATINGS).from_select(list(_RECORDED_COLUMNS), select(*given.c)
                                                  ).on_conflict_do_nothing()


_RECORDED = SetWrite(lambda dialect: insert_for(dialect, RATINGS).values(
    {name: bindparam(name) for name in _RECORDED_COLUMNS}).on_conflict_do_nothing(), _ratings_insert)
"""Ratings not yet kept (a second copy is left as first written): one statement for a batch's
(`run_many`; on PostgreSQL `INSERT ... SELECT FROM json_to_recordset`)."""


def _held_ratings(dialect: str) -> Any:
    """Which of the ratings asked for (hall, rating) are kept already, in one statement: one JSON
    array of [hall, rating] on SQLite, two arrays on PostgreSQL (as `EventLog.held` asks)."""
    if dialect == "sqlite":
        given = func.json_each(bindparam("ratings")).table_valued("value")
        wanted = select(*(func.json_extract(given.c.value, f"$[{i}]") for i in range(2)))
    else:
        pairs = func.unnest(*(cast(bindparam(name), ARRAY(Text)) for name in ("halls", "ratings"))
                            ).table_valued("hall", "rating").render_derived()
        wanted = select(pairs.c.hall, pairs.c.rating)
    return select(_R.hall, _R.rating).where(tuple_(_R.hall, _R.rating).in_(wanted))


_HELD = Statement(_held_ratings)
_REASON = Statement(lambda _dialect: update(RATINGS).where(
    _R.hall == bindparam("w_hall"), _R.rating == bindparam("w_rating")).values(
    reason=bindparam("v_reason"), reason_label=bindparam("v_label")))
_OPEN_FOLLOWUPS = Statement(lambda _dialect: select(func.count()).select_from(RATING_FOLLOWUPS).where(
    _F.hall == bindparam("hall"), _F.state != "closed"))
_SATISFIED = ("very_satisfied", "satisfied", "basically_satisfied")
_BAD = ("dissatisfied", "very_dissatisfied")


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    # A sum of booleans is SQLite's; PostgreSQL sums numbers.
    return func.sum(case((condition, 1), else_=0))


def _among(column: ColumnElement[Any], values: tuple[str, ...]) -> ColumnElement[bool]:
    # Literals one by one: `in_` of a plain list is an expanding parameter, compiled again per run.
    return column.in_([literal(value) for value in values])


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


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class RatingBook(Projection):
    """The ratings projection, its statistics and its follow-ups (a `CentralHandler`)."""

    name = "ratings"
    schema = SCHEMA + FOLLOWUP_SCHEMA + vault.SCHEMA
    portable = True

    def __init__(self, settings: RatingCentralSettings | None = None,
                 working_days: WorkingDays | None = None) -> None:
        self.settings = settings or RatingCentralSettings.model_validate({})
        self.followup_desk = FollowUps(self.settings, working_days or WorkingDays())
        self.store: CentralStore | None = None
        self._recorded_batch: HandlerContext | None = None
        self._unwritten: list[dict[str, Any]] = []
        """The batch's ratings not yet written: all go in one driver call just before it commits."""

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        if context is not self._recorded_batch:
            # A new batch: what an earlier one held (rolled back before its commit) is forgotten.
            self._recorded_batch, self._unwritten = context, []
            self.at_batch_end(context, self._recorded_writes)
        super().handle(context, event)

    def _replay_chunk(self, tx: Tx) -> int:
        self._unwritten = []
        replayed = super()._replay_chunk(tx)
        write_all(tx, self._recorded_writes(tx))
        return replayed

    def install(self, store: CentralStore) -> None:
        self.store = store
        super().install(store)

    # --- projection ---------------------------------------------------------------------

    def takes(self, type: str) -> bool:
        return type in ("rating.recorded", "rating.reason_recorded")

    def apply(self, tx: Tx, hall: str, envelope: Envelope) -> None:
        if envelope.type == "rating.recorded":
            self._recorded(tx, hall, envelope)
        elif envelope.type == "rating.reason_recorded":
            body = envelope.body
            write_all(tx, self._recorded_writes(tx))  # the rating it completes may be among them
            _REASON.run(tx, {"v_reason": body.get("reason"), "v_label": body.get("label"), "w_hall": hall,
                             "w_rating": body["rating"]})

    def _recorded(self, tx: Tx, hall: str, envelope: Envelope) -> None:
        body = envelope.body
        visit = body.get("visit") or {}
        rated_at = body.get("rated_at") or event_time(envelope)
        # Written just before the transaction commits (a batch's, a replayed chunk's, a caller's).
        before_commit(tx, (RatingBook, id(self)), lambda: write_all(tx, self._recorded_writes(tx)))
        self._unwritten.append({
            "hall": hall, "rating": body["rating"], "terminal": body["terminal"],
            "window": body.get("window"),
            "officer": body.get("officer"), "officer_name": body.get("officer_name"),
            "department": body.get("department"), "service": body.get("service"), "day": visit.get("day"),
            "ticket": visit.get("ticket"), "grade": body.get("grade"), "rated_at": rated_at,
            "how": body["how"], "event_id": envelope.id})

    def _recorded_writes(self, tx: Tx) -> Writes:
        """The ratings held back, to be written in one driver call (`run_many`: on PostgreSQL
        one statement for a batch's ratings instead of one each); when one is bad, they are
        written here and a follow-up opened for each bad one that is new. A rating already kept
        (a second copy) stays as first written, as the INSERT's ON CONFLICT DO NOTHING keeps
        it, and opens nothing."""
        unwritten, self._unwritten = self._unwritten, []
        if not unwritten:
            return []
        # A second copy in the batch changes nothing (ON CONFLICT DO NOTHING keeps the first):
        # left out here, so that one statement for all of them need not rely on their order.
        firsts: dict[tuple[str, str], dict[str, Any]] = {}
        for row in unwritten:
            firsts.setdefault((row["hall"], row["rating"]), row)
        recorded = list(firsts.values())
        bad = [row for row in recorded if row["grade"] is not None and Grade(row["grade"]).bad]
        if not bad:  # nothing to open: no need to know which are new (most batches)
            return [(_RECORDED, recorded)]
        asked = sorted({(row["hall"], row["rating"]) for row in bad})
        on_sqlite = isinstance(tx, sqlite3.Connection) or tx.dialect.name == "sqlite"
        params: dict[str, Any] = {"ratings": json.dumps(asked)} if on_sqlite else {
            "halls": [hall for hall, _ in asked], "ratings": [rating for _, rating in asked]}
        kept = {(hall, rating) for hall, rating in _HELD.run(tx, params).fetchall()}
        _RECORDED.run_many(tx, recorded)
        for row in recorded:
            key = (row["hall"], row["rating"])
            if key in kept:
                continue
            kept.add(key)  # the first copy in the batch is the one written
            grade = row["grade"]
            if grade is not None and Grade(grade).bad:
                self.followup_desk.open(tx, row["hall"], row["rating"], GRADE_LABELS[Grade(grade)],
                                        row["rated_at"])
        return []

    # --- statistics ----------------------------------------------------------------------

    def satisfaction(self, by: RatingGroup | None = None, *, since_ms: int | None = None,
                     until_ms: int | None = None, hall: str | None = None) -> list[Satisfaction]:
        """Counts per grade and the three shares, grouped `by`, for outcomes in [since, until)."""
        conditions = _period(since_ms, until_ms)
        if hall is not None:
            conditions.append(_R.hall == literal(hall))
        key = _GROUP_COLUMN[by] if by else null()
        query = select(key, _R.grade, func.count()).where(*conditions)
        rows = self._rows(query.group_by(key, _R.grade).order_by(key) if by else query.group_by(_R.grade))
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

    def by(self, group: str, since_ms: int | None) -> dict[str, dict[str, int]]:
        """The performance score's input (`central.web.context.RatingSource`): group `unit`,
        `window` or `officer` -> key -> {ratings, satisfied, bad, bad_rectified}."""
        key = _GROUP_COLUMN[_UNIT_GROUPS[group]]
        rows = self._rows(select(
            key, func.count(_R.grade), _count_if(_among(_R.grade, _SATISFIED)),
            _count_if(_among(_R.grade, _BAD)), _count_if(_F.state == "closed"),
        ).select_from(RATINGS.outerjoin(RATING_FOLLOWUPS, (_F.hall == _R.hall) & (_F.rating == _R.rating))
                      ).where(*_period(since_ms, None)).group_by(key))
        return {str(k): {"ratings": int(n or 0), "satisfied": int(s or 0), "bad": int(b or 0),
                         "bad_rectified": int(c or 0)}
                for k, n, s, b, c in rows if k is not None and n}

    def today(self, hall: str, now_ms: int) -> dict[str, Any]:
        """Today's figures of one hall for the big screen (`HallOut.ratings_today`)."""
        start = midnight(day_of(now_ms // 1000)) * 1000
        rows = self.satisfaction(None, since_ms=start, until_ms=now_ms + 1, hall=hall)
        row = rows[0] if rows else self._row(None, {})
        open_followups = self._store().read(lambda tx: _OPEN_FOLLOWUPS.run(tx, {"hall": hall}).fetchone()[0])
        return {"rated": row.rated, "not_rated": row.not_rated, "satisfaction_rate": row.satisfaction_rate,
                "bad": row.bad, "open_followups": open_followups}

    # --- who serves for which department -----------------------------------------------------

    def department_of(self, hall: str, *, window: str | None, officer: str | None, at_ms: int,
                      day: str | None = None, ticket: str | None = None) -> str | None:
        """The department a visit was served for, as the gateway attributed its ratings: the
        rating of that very visit, else the officer's, else the window's nearest in time."""
        lookups: list[list[ColumnElement[bool]]] = []
        if ticket is not None and day is not None:
            lookups.append([_R.day == literal(day), _R.ticket == literal(ticket)])
        if officer is not None:
            lookups.append([_R.officer == literal(officer)])
        if window is not None:
            lookups.append([_R.window == literal(window)])
        for conditions in lookups:
            found = self._rows(select(_R.department).where(
                *conditions, _R.hall == literal(hall), _R.department.is_not(None)
            ).order_by(func.abs(_R.rated_at - literal(at_ms))).limit(1))
            if found:
                return str(found[0][0])
        return None

    # --- follow-ups (the workflow is `central.ratings.followups`) ----------------------------

    def followups(self, now_ms: int, *, hall: str | None = None, state: str | None = None,
                  overdue_only: bool = False) -> list[FollowUp]:
        return self._store().read(lambda tx: FollowUps.listed(tx, now_ms, hall=hall, state=state,
                                                              overdue_only=overdue_only))

    def rectify(self, hall: str, rating: str, actor: str, note: str, now_ms: int) -> None:
        """The unit says what it changed (整改)."""
        self._act(hall, rating, "rectify", actor, note, now_ms)

    def callback(self, hall: str, rating: str, actor: str, result: str, now_ms: int) -> None:
        """The citizen was called back (回访) and said `result`."""
        self._act(hall, rating, "callback", actor, result, now_ms)

    def close(self, hall: str, rating: str, actor: str, note: str, now_ms: int) -> None:
        """Closed after rectification and callback; one closed late stays marked overdue."""
        self._act(hall, rating, "close", actor, note, now_ms)

    def history(self, hall: str, rating: str) -> list[dict[str, Any]]:
        return self._store().read(lambda tx: FollowUps.history(tx, hall, rating))

    def verify_log(self) -> str | None:
        """None when the follow-up log's hash chain is intact, else where it breaks."""
        return self._store().read(FollowUps.verify_log)

    def _act(self, hall: str, rating: str, step: str, actor: str, note: str, now_ms: int) -> None:
        with self._store().statements() as tx:
            self.followup_desk.act(tx, hall, rating, step, actor, note, now_ms)

    # --- plumbing ------------------------------------------------------------------------

    def _store(self) -> CentralStore:
        if self.store is None:
            raise RuntimeError("RatingBook.install(store) was not called")
        return self.store

    def _rows(self, query: Any, params: Mapping[str, Any] | None = None) -> list[Any]:
        """A report's query, built for the filters given (each value a literal parameter)."""
        statement = built(query)
        return self._store().read(lambda tx: list(statement.run(tx, params).fetchall()))


def _period(since_ms: int | None, until_ms: int | None) -> list[ColumnElement[bool]]:
    conditions = []
    if since_ms is not None:
        conditions.append(_R.rated_at >= literal(since_ms))
    if until_ms is not None:
        conditions.append(_R.rated_at < literal(until_ms))
    return conditions
