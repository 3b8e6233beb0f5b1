"""Queue statistics at central: a projection of the visit events, and the query the reports use.

A visit is split into segments, one per service it waited for: a transfer
ends one segment and opens the next. Each segment has when it began waiting,
when it was first called, where and by whom, how it ended and how long the
citizen spent at windows (parked spells excluded). From these:
waiting time, service time, the share of waits above a target, and the
no-show share, per service, window or officer.

A `Projection`: deployed late, it catches up from the event log. It works a batch at a
time (`_Visits`): one read of every visit the batch names, the events applied to those
rows in memory, then one driver call for the changed segments and one for the months. Its statements are
written once for SQLite and PostgreSQL (`spine.statement`); on PostgreSQL its tables
are made by `central/migrations` (revisions 0003 and 0007).

A report over whole months (`queue_statistics` per service or per hall, the default
wait target) reads `queue_month_figures`: per month, hall and service, the sums the
report is made of, moved in the same transaction as the segments (each visit's rows
before and after the batch, the difference added). A month of a
province's halls is then thousands of rows instead of hundreds of thousands of
segments (`bench.province`). Other reports scan the segments as before.
Phone numbers given at windows (`queue.contact_given`) are kept for SMS
progress notices in `queue_contacts`, sealed with the visit's key
(`central.personal`): only `contact_for` opens them, and erasing the visit's key
(retention, or the citizen's request) erases them here and in the event log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from central.personal import Reader, is_sealed, vault, visit_subject
from central.projection import Projection, Writes, event_time, write_all
from central.reads import Read, Source, built
from central.reads import rows as read_rows
from contract.envelope import Envelope
from contract.privacy import ERASED, PersonalKind
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent
from spine.statement import SetWrite, Statement, Tx, insert_for, json_rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_segments (
        hall TEXT NOT NULL,
        day TEXT NOT NULL,
        ticket TEXT NOT NULL,
        seq INTEGER NOT NULL,
        service TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        waiting_since INTEGER NOT NULL,
        called_at INTEGER,
        window TEXT,
        officer TEXT,
        recalls INTEGER NOT NULL DEFAULT 0,
        ended_at INTEGER,
        outcome TEXT,
        service_ms INTEGER,
        PRIMARY KEY (hall, day, ticket, seq)
);
CREATE INDEX IF NOT EXISTS queue_segments_day ON queue_segments (day, hall);
CREATE TABLE IF NOT EXISTS queue_month_figures (
        month TEXT NOT NULL,
        hall TEXT NOT NULL,
        service TEXT NOT NULL,
        segments INTEGER NOT NULL,
        called INTEGER NOT NULL,
        served INTEGER NOT NULL,
        no_shows INTEGER NOT NULL,
        wait_sum INTEGER NOT NULL,
        wait_max INTEGER,
        above_target INTEGER NOT NULL,
        service_sum INTEGER NOT NULL,
        service_count INTEGER NOT NULL,
        ended INTEGER NOT NULL,
        PRIMARY KEY (month, hall, service)
);
CREATE TABLE IF NOT EXISTS queue_contacts (
        hall TEXT NOT NULL,
        day TEXT NOT NULL,
        ticket TEXT NOT NULL,
        window TEXT NOT NULL,
        phone TEXT NOT NULL,
        given_at INTEGER NOT NULL,
        PRIMARY KEY (hall, day, ticket)
);
"""

QUEUE_TABLES = MetaData()
QUEUE_SEGMENTS = Table(
    "queue_segments", QUEUE_TABLES,
    Column("hall", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("ticket", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("service", Text, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("waiting_since", BigInteger, nullable=False),
    Column("called_at", BigInteger),
    Column("window", Text),
    Column("officer", Text),
    Column("recalls", Integer, nullable=False, server_default="0"),
    Column("ended_at", BigInteger),
    Column("outcome", Text),
    Column("service_ms", BigInteger),
    Index("queue_segments_day", "day", "hall"),
)
QUEUE_CONTACTS = Table(
    "queue_contacts", QUEUE_TABLES,
    Column("hall", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("ticket", Text, primary_key=True),
    Column("window", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("given_at", BigInteger, nullable=False),
)
QUEUE_MONTHS = Table(
    "queue_month_figures", QUEUE_TABLES,
    Column("month", Text, primary_key=True),
    Column("hall", Text, primary_key=True),
    Column("service", Text, primary_key=True),
    *(Column(name, BigInteger, nullable=False) for name in (
        "segments", "called", "served", "no_shows", "wait_sum")),
    Column("wait_max", BigInteger),
    *(Column(name, BigInteger, nullable=False) for name in (
        "above_target", "service_sum", "service_count", "ended")),
)
"""`SCHEMA` in SQLAlchemy Core: the statements' tables (made on PostgreSQL by migrations 0003, 0007)."""

DEFAULT_WAIT_TARGET_MS = 15 * 60_000
"""The wait target a report uses unless told otherwise; `queue_month_figures` counts against it."""
_SUMS = ("segments", "called", "served", "no_shows", "wait_sum", "above_target", "service_sum",
         "service_count", "ended")
"""`queue_month_figures`' columns that add up (`wait_max` is a maximum)."""
_AT_WINDOW = ("served", "no_show", "transferred")
"""The outcomes at a window: a segment that ended one of these ways counts for the no-show share."""

SegmentOutcome = str  # served, no_show, transferred, voided

_S = QUEUE_SEGMENTS.c


def _contact_upsert(dialect: str) -> Any:
    insert = insert_for(dialect, QUEUE_CONTACTS).values(
        {name: bindparam(name) for name in ("hall", "day", "ticket", "window", "phone", "given_at")})
    return insert.on_conflict_do_update(index_elements=["hall", "day", "ticket"], set_={
        "phone": insert.excluded.phone, "given_at": insert.excluded.given_at})


_CONTACT = Statement(_contact_upsert)
_CONTACT_OF = Statement(lambda _dialect: select(QUEUE_CONTACTS.c.phone).where(
    QUEUE_CONTACTS.c.hall == bindparam("hall"), QUEUE_CONTACTS.c.day == bindparam("day"),
    QUEUE_CONTACTS.c.ticket == bindparam("ticket")))


def _month_upsert(dialect: str) -> Any:
    m = QUEUE_MONTHS.c
    insert = insert_for(dialect, QUEUE_MONTHS).values(
        {name: bindparam(name) for name in ("month", "hall", "service", *_SUMS, "wait_max")})
    # SQLite's two-argument max() is NULL when either is; PostgreSQL's greatest() skips NULLs.
    larger = func.greatest if dialect == "postgresql" else func.max
    return insert.on_conflict_do_update(index_elements=["month", "hall", "service"], set_={
        **{name: m[name] + insert.excluded[name] for name in _SUMS},
        "wait_max": larger(func.coalesce(m.wait_max, insert.excluded.wait_max),
                           func.coalesce(insert.excluded.wait_max, m.wait_max))})


_ADD_TO_MONTH = Statement(_month_upsert)


def _month_backfill(_dialect: str) -> Any:
    """Every month's figures from the segments: for a SQLite file whose segments came before
    `queue_month_figures` (on PostgreSQL, migration 0007 does the same)."""
    wait = _S.called_at - _S.waiting_since
    # Its bounds as SQL text: PostgreSQL groups by an expression only when it is the same one,
    # and the same bounds as two parameters are not.
    month = func.substr(_S.day, literal_column("1"), literal_column("7"))
    return QUEUE_MONTHS.insert().from_select(["month", "hall", "service", *_SUMS, "wait_max"], select(
        month, _S.hall, _S.service, func.count(), func.count(_S.called_at),
        _count_if(_S.outcome == "served"), _count_if(_S.outcome == "no_show"),
        func.coalesce(func.sum(wait), 0),
        _count_if(and_(_S.called_at.is_not(None), wait > DEFAULT_WAIT_TARGET_MS)),
        func.coalesce(func.sum(case((_S.outcome == "served", _S.service_ms))), 0),
        _count_if(and_(_S.outcome == "served", _S.service_ms.is_not(None))),
        _count_if(_S.outcome.in_([literal(o) for o in _AT_WINDOW])), func.max(wait),
    ).group_by(month, _S.hall, _S.service))


MONTHS_FROM_SEGMENTS = Statement(_month_backfill)
"""Fills an empty `queue_month_figures` from the segments (a SQLite file of the previous release,
a bulk load)."""


Share = list[int]
"""A visit's part of one service's month: `_SUMS` in order, then its longest wait (-1: none)."""
_NO_SHARE: Share = [0] * len(_SUMS) + [-1]
Visit = tuple[str, str, str]
"""(hall, day, ticket)"""
Segment = dict[str, Any]
"""One `queue_segments` row as the batch being projected holds it: every column by name."""
_COLUMNS = tuple(column.name for column in QUEUE_SEGMENTS.columns)
_KEY = ("hall", "day", "ticket", "seq")


def _visits_segments(dialect: str) -> Any:
    """Every segment of the visits asked for, in one statement whatever their number: the
    visits go as one JSON array of [hall, day, ticket] (as `EventLog.held` sends a batch's ids;
    on PostgreSQL three arrays cost about 1 ms of client CPU a batch, psycopg adapting each
    element in Python)."""
    if dialect == "sqlite":
        given = func.json_each(bindparam("visits")).table_valued("value")
        wanted = select(*(func.json_extract(given.c.value, f"$[{i}]") for i in range(3)))
    else:
        given = func.json_array_elements(cast(bindparam("visits", type_=Text), JSON)).table_valued(
            column("value", JSON))
        wanted = select(*(given.c.value.op("->>")(literal_column(str(i))) for i in range(3)))
    return select(*QUEUE_SEGMENTS.columns).where(tuple_(_S.hall, _S.day, _S.ticket).in_(wanted))


_VISITS_SEGMENTS = Statement(_visits_segments)


def _segment_upsert(dialect: str) -> Any:
    insert = insert_for(dialect, QUEUE_SEGMENTS).values({name: bindparam(name) for name in _COLUMNS})
    return insert.on_conflict_do_update(index_elements=list(_KEY), set_={
        name: insert.excluded[name] for name in _COLUMNS if name not in _KEY})


def _segments_upsert(_dialect: str) -> Any:
    given = json_rows(list(QUEUE_SEGMENTS.columns))
    insert = postgresql_insert(QUEUE_SEGMENTS).from_select(list(_COLUMNS), select(*given.c))
    return insert.on_conflict_do_update(index_elements=list(_KEY), set_={
        name: insert.excluded[name] for name in _COLUMNS if name not in _KEY})


_WRITE_SEGMENT = SetWrite(_segment_upsert, _segments_upsert)
"""Segments as the batch left them, new or changed, one row per segment: one statement for all
of a batch's (`run_many`; on PostgreSQL `INSERT ... SELECT FROM json_to_recordset`)."""


class _Visits:
    """The visits one batch (or replayed chunk) moves, their segments held in memory from the
    first read until the batch's end: the events change them here, and the batch writes each
    changed segment once and each month's difference once (`flush`).

    Why: on PostgreSQL every statement is a round trip, and a queue event cost two or three
    (the open segment read, then its UPDATE; the visit's shares read before and after), which
    held a PostgreSQL central's ingest to about 1,400 ev/s. Now a batch reads its visits in one
    statement and writes at its end with the other projections' writes
    (`Projection.at_batch_end`). Safe to hold: a batch is one hall's, and the hall's lock
    (`central.hall_lock`) keeps any other process
from moving that hall's visits until this batch commits."""

    def __init__(self) -> None:
        self.segments: dict[Visit, dict[int, Segment]] = {}
        self.before: dict[Visit, dict[str, Share]] = {}
        self.changed: set[tuple[Visit, int]] = set()

    def load(self, tx: Tx, visits: Iterable[Visit]) -> None:
        """Read the segments of those of `visits` not yet held, in one statement."""
        self.ask(tx, visits)()

    def ask(self, tx: Tx, visits: Iterable[Visit]) -> Callable[[], None]:
        """`load`, sent now (in a `pipelined` block, with the statements around it), taken in by
        the function returned once that block has ended."""
        wanted = sorted({visit for visit in visits if visit not in self.segments})
        if not wanted:
            return lambda: None
        for visit in wanted:
            self.segments[visit] = {}
        answer = _VISITS_SEGMENTS.ask(tx, {"visits": json.dumps(wanted)})

        def take() -> None:
            for row in answer.fetchall():
                segment = dict(zip(_COLUMNS, row, strict=True))
                self.segments[(segment["hall"], segment["day"], segment["ticket"])][segment["seq"]] = segment
            for visit in wanted:
                self.before[visit] = _shares(self.segments[visit].values())
        return take

    def of(self, tx: Tx, hall: str, body: Mapping[str, Any]) -> dict[int, Segment]:
        visit = (hall, str(body["day"]), str(body["ticket"]))
        self.load(tx, (visit,))  # nothing to read when the batch's first look brought it
        return self.segments[visit]

    def add(self, segments: dict[int, Segment], segment: Segment) -> None:
        """A new segment, unless one with its number is there (the INSERT's ON CONFLICT DO NOTHING)."""
        if segment["seq"] not in segments:
            segments[segment["seq"]] = {**dict.fromkeys(_COLUMNS), "recalls": 0, **segment}
            self.touched(segment)

    def touched(self, segment: Segment) -> None:
        self.changed.add(((segment["hall"], segment["day"], segment["ticket"]), segment["seq"]))

    def writes(self) -> Writes:
        """The changed segments, and what they add to `queue_month_figures`, so that table is
        always the sum of the segments however an event changes them (a call back keeps the
        first wait, a lost ticket is rebuilt from its call, a transfer ends one segment and
        opens another); then the batch's visits are forgotten."""
        segments = [self.segments[visit][seq] for visit, seq in sorted(self.changed)]
        changes: dict[tuple[str, str, str], Share] = {}
        for visit in sorted({visit for visit, _seq in self.changed}):
            hall, day, _ticket = visit
            old, new = self.before[visit], _shares(self.segments[visit].values())
            for service in set(old) | set(new):
                was, now = old.get(service, _NO_SHARE), new.get(service, _NO_SHARE)
                change = changes.setdefault((day[:7], hall, service), list(_NO_SHARE))
                change[:-1] = [c + b - a for c, a, b in zip(change[:-1], was[:-1], now[:-1], strict=True)]
                if now[-1] > was[-1]:
                    change[-1] = max(change[-1], now[-1])
        months = [
            {"month": month, "hall": hall, "service": service, **dict(zip(_SUMS, change[:-1], strict=True)),
             "wait_max": change[-1] if change[-1] >= 0 else None}
            for (month, hall, service), change in sorted(changes.items())
            if any(change[:-1]) or change[-1] >= 0]
        self.segments, self.before, self.changed = {}, {}, set()
        return [(_WRITE_SEGMENT, segments), (_ADD_TO_MONTH, months)]


class QueueStatsProjection(Projection):
    """Keeps `queue_segments`, `queue_month_figures` and `queue_contacts` in step with the
    stored queue events."""

    name = "queue_stats"
    schema = SCHEMA + vault.SCHEMA
    portable = True
    # Before projections kept cursors this one was fed live only: its rows hold the log so far.
    kept_before_cursors = "queue_segments"

    def takes(self, type: str) -> bool:
        return type in _APPLY

    def __init__(self) -> None:
        self._visits = _Visits()
        """The visits this batch (or replayed chunk) moved, until it writes them."""
        self._batch: HandlerContext | None = None

    def foresee(self, context: HandlerContext, events: Sequence[AcceptedEvent]) -> Callable[[], None]:
        """Before a batch's events are handled: read the segments of every visit they name at once
        (sent with the store's first statements, taken in by the function returned)."""
        if not self._installed:
            return lambda: None  # its tables may not be there yet: `handle` catches up first, then reads
        self._begin(context)
        return self._visits.ask(context.portable, _visits_named(context.hall, (e.envelope for e in events)))

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        self._begin(context)
        super().handle(context, event)

    def _begin(self, context: HandlerContext) -> None:
        if context is not self._batch:
            # A new batch: what an earlier one held (rolled back before its commit) is forgotten.
            self._batch, self._visits = context, _Visits()
            self.at_batch_end(context, lambda _tx: self._visits.writes())

    def _replay_chunk(self, tx: Tx) -> int:
        self._visits = _Visits()
        replayed = super()._replay_chunk(tx)
        write_all(tx, self._visits.writes())
        return replayed

    def _replaying(self, tx: Tx, rows: Sequence[tuple[str, Envelope]]) -> None:
        self._visits.load(tx, (visit for hall, envelope in rows
                               for visit in _visits_named(hall, (envelope,))))

    def apply(self, tx: Tx, hall: str, envelope: Envelope) -> None:
        apply = _APPLY.get(envelope.type)
        if apply is not None:
            apply(self._visits, tx, hall, envelope.body, event_time(envelope))

    def _prepare(self, tx: Tx) -> None:
        fill = isinstance(tx, sqlite3.Connection) and _has_table(tx, "queue_segments") \
            and not _has_table(tx, "queue_month_figures")
        super()._prepare(tx)
        if fill:
            MONTHS_FROM_SEGMENTS.run(tx)


def _visits_named(hall: str, envelopes: Iterable[Envelope]) -> Iterator[Visit]:
    for envelope in envelopes:
        if envelope.type in _MOVES_SEGMENTS:
            body = envelope.body
            yield hall, str(body["day"]), str(body["ticket"])


def _has_table(tx: sqlite3.Connection, table: str) -> bool:
    return tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (table,)).fetchone() is not None


def _shares(segments: Iterable[Segment]) -> dict[str, Share]:
    """What a visit's segments add to their services' month (`_SUMS`, then the longest wait)."""
    shares: dict[str, Share] = {}
    for segment in segments:
        called_at, outcome, service_ms = segment["called_at"], segment["outcome"], segment["service_ms"]
        called = called_at is not None
        wait = called_at - segment["waiting_since"] if called else 0
        timed = outcome == "served" and service_ms is not None
        part = [1, int(called), int(outcome == "served"), int(outcome == "no_show"), wait,
                int(called and wait > DEFAULT_WAIT_TARGET_MS), service_ms if timed else 0, int(timed),
                int(outcome in _AT_WINDOW), wait if called else -1]
        total = shares.setdefault(segment["service"], [0] * len(_SUMS) + [-1])
        total[:-1] = [a + b for a, b in zip(total[:-1], part[:-1], strict=True)]
        total[-1] = max(total[-1], part[-1])
    return shares


# --- applying events ---------------------------------------------------------------------
# Each does to the visit's segments held in memory what its UPDATE or INSERT did to the rows.


def _open_segment(segments: dict[int, Segment]) -> Segment | None:
    """The visit's last segment (the one its next event concerns), if it has any."""
    return segments[max(segments)] if segments else None


def _issued(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], at: int) -> None:
    visits.add(visits.of(tx, hall, body), {"hall": hall, "day": body["day"], "ticket": body["ticket"],
                                           "seq": 1, "service": body["service"], "issued_at": at,
                                           "waiting_since": at})


def _voided(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], at: int) -> None:
    _end(visits, tx, hall, body, at, "voided", None)


def _called(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    segments = visits.of(tx, hall, body)
    if not segments:  # the ticket's own event was lost to us: rebuild the segment from the call
        visits.add(segments, {"hall": hall, "day": body["day"], "ticket": body["ticket"], "seq": 1,
                              "service": body["service"], "issued_at": body["issued_at"],
                              "waiting_since": body["waiting_since"]})
    segment = _open_segment(segments)
    assert segment is not None
    # A call-back after parking keeps the first call time: waiting ended at the first call.
    # The gateway's own dates of the wait are authoritative (it corrected the kiosk's clock).
    if segment["called_at"] is None:
        segment["called_at"], segment["waiting_since"] = body["at"], body["waiting_since"]
        if segment["seq"] == 1:
            segment["issued_at"] = body["issued_at"]
    segment["window"], segment["officer"] = body["window"], body.get("officer")
    visits.touched(segment)


def _recalled(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    segment = _open_segment(visits.of(tx, hall, body))
    if segment is not None:
        segment["recalls"] += 1
        visits.touched(segment)


def _no_show(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    _end(visits, tx, hall, body, body["at"], "no_show", None)


def _served(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    _end(visits, tx, hall, body, body["at"], "served", body["service_ms"])


def _transferred(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    ended = _end(visits, tx, hall, body, body["at"], "transferred", body["active_ms"])
    if ended is None:
        return
    visits.add(visits.of(tx, hall, body), {
        "hall": hall, "day": body["day"], "ticket": body["ticket"], "seq": ended["seq"] + 1,
        "service": body["to_service"], "issued_at": ended["issued_at"], "waiting_since": body["at"]})


def _end(visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], at: int, outcome: SegmentOutcome,
         service_ms: int | None) -> Segment | None:
    segment = _open_segment(visits.of(tx, hall, body))
    if segment is None:
        return None
    segment["ended_at"], segment["outcome"], segment["service_ms"] = at, outcome, service_ms
    visits.touched(segment)
    return segment


def _contact(_visits: _Visits, tx: Tx, hall: str, body: Mapping[str, Any], at: int) -> None:
    phone = body["phone"]
    if not is_sealed(phone):  # as it arrived; replayed from the event log, it is sealed already
        phone = vault.seal(tx, visit_subject(hall, body["day"], body["ticket"]), PersonalKind.MOBILE, phone)
    _CONTACT.run(tx, {"hall": hall, "day": body["day"], "ticket": body["ticket"], "window": body["window"],
                      "phone": phone, "given_at": at})


_MOVES_SEGMENTS = frozenset({"queue.ticket_issued", "queue.ticket_voided", "queue.called", "queue.recalled",
                             "queue.no_show", "queue.served", "queue.transferred"})
"""The events that change a visit's segments (and so their month's figures)."""
_APPLY: dict[str, Callable[[_Visits, Tx, str, Mapping[str, Any], int], None]] = {
    "queue.ticket_issued": _issued,
    "queue.ticket_voided": _voided,
    "queue.called": _called,
    "queue.recalled": _recalled,
    "queue.no_show": _no_show,
    "queue.served": _served,
    "queue.transferred": _transferred,
    "queue.contact_given": _contact,
}


# --- the statistics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFigures:
    """One line of a queue report."""

    key: str | None
    segments: int
    """Segments in the period (tickets, plus one per transfer)."""
    called: int
    served: int
    no_shows: int
    mean_wait_ms: float | None
    max_wait_ms: int | None
    above_target_share: float | None
    """Share of called segments that waited longer than the target."""
    mean_service_ms: float | None
    no_show_share: float | None
    """No-shows among segments that ended at a window (served, no-show, transferred)."""


GROUPS = {"service": "service", "window": "window", "officer": "officer", "hall": "hall"}
ReadQuery = Read
"""A read of the store in SQLite's SQL (`CentralStore.query`); `queue_statistics` and
`contact_for` also take an open connection of either database (a `Source`)."""


def _count_if(condition: Any) -> Any:
    # A sum of booleans is SQLite's; PostgreSQL sums numbers.
    return func.sum(case((condition, 1), else_=0))


def _figures_query(column: str, hall: str | None, day_from: str | None, day_to: str | None,
                   targets: Mapping[str, int], default_target: int) -> Statement:
    """The report's one query, for the filters given (each value a parameter, never SQL text)."""
    key = _S[column]
    target: Any = case(*((_S.service == literal(service), literal(ms)) for service, ms in targets.items()),
                       else_=literal(default_target)) if targets else literal(default_target)
    wait = _S.called_at - _S.waiting_since
    conditions = [condition for value, condition in (
        (hall, _S.hall == literal(hall)), (day_from, _S.day >= literal(day_from)),
        (day_to, _S.day <= literal(day_to))) if value is not None]
    if column in ("window", "officer"):
        conditions.append(key.is_not(None))
    query = select(
        key, func.count(), func.count(_S.called_at), _count_if(_S.outcome == "served"),
        _count_if(_S.outcome == "no_show"), func.avg(wait), func.max(wait),
        _count_if(and_(_S.called_at.is_not(None), wait > target)),
        func.avg(case((_S.outcome == "served", _S.service_ms))),
        _count_if(_S.outcome.in_([literal(o) for o in ("served", "no_show", "transferred")])),
    ).where(*conditions).group_by(key).order_by(key)
    return built(query)


def _whole_months(day_from: str | None, day_to: str | None) -> tuple[str, str] | None:
    """('2026-01', '2026-03') for 2026-01-01 .. 2026-03-31; None for a period that is not whole
    calendar months (or has an open end)."""
    if day_from is None or day_to is None:
        return None
    try:
        first, last = date.fromisoformat(day_from), date.fromisoformat(day_to)
    except ValueError:
        return None
    if first.day != 1 or (last + timedelta(days=1)).day != 1 or last < first:
        return None
    return day_from[:7], day_to[:7]


def _months_query(column: str, hall: str | None, month_from: str, month_to: str) -> Statement:
    """The report's query over `queue_month_figures`: its columns as `_figures_query` gives them."""
    m = QUEUE_MONTHS.c
    key = m[column]
    conditions = [m.month >= literal(month_from), m.month <= literal(month_to)]
    if hall is not None:
        conditions.append(m.hall == literal(hall))
    called = func.sum(m.called)
    timed = func.sum(m.service_count)
    query = select(
        key, func.sum(m.segments), called, func.sum(m.served), func.sum(m.no_shows),
        # The mean of the waits and of the service times, as the scan's avg() gives them.
        case((called > 0, func.sum(m.wait_sum) * literal(1.0) / called)), func.max(m.wait_max),
        func.sum(m.above_target),
        case((timed > 0, func.sum(m.service_sum) * literal(1.0) / timed)),
        func.sum(m.ended),
    ).where(*conditions).group_by(key).order_by(key)
    return built(query)


def queue_statistics(
    query: Source,
    *,
    by: str = "service",
    hall: str | None = None,
    day_from: str | None = None,
    day_to: str | None = None,
    wait_target_ms: int | Mapping[str, int] = 15 * 60_000,
) -> list[QueueFigures]:
    """Figures per service, window, officer or hall. `query` is e.g. `CentralStore.query`, or a
    connection inside `CentralStore.read` (either database).

    `wait_target_ms` is one target, or a target per service prefix (others: 15 minutes).
    """
    column = GROUPS.get(by)
    if column is None:
        raise ValueError(f"group by one of {sorted(GROUPS)}, not {by!r}")
    targets = wait_target_ms if isinstance(wait_target_ms, Mapping) else {}
    default_target = wait_target_ms if isinstance(wait_target_ms, int) else DEFAULT_WAIT_TARGET_MS
    months = _whole_months(day_from, day_to)
    if months is not None and column in ("service", "hall") and not targets \
            and default_target == DEFAULT_WAIT_TARGET_MS:
        statement = _months_query(column, hall, *months)
    else:
        statement = _figures_query(column, hall, day_from, day_to, targets, default_target)
    try:
        rows = read_rows(query, statement)
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # no queue event yet
        raise
    figures = []
    for key, segments, called, served, no_shows, mean_wait, max_wait, above, mean_service, ended in rows:
        # PostgreSQL's avg (and sum of BIGINT) is NUMERIC: the figures are plain numbers either way.
        segments, called, served, no_shows, above, ended = (
            int(n or 0) for n in (segments, called, served, no_shows, above, ended))
        max_wait = None if max_wait is None else int(max_wait)
        figures.append(QueueFigures(
            key=key, segments=segments, called=called, served=served, no_shows=no_shows,
            mean_wait_ms=_number(mean_wait), max_wait_ms=max_wait,
            above_target_share=(above / called) if called else None,
            mean_service_ms=_number(mean_service),
            no_show_share=(no_shows / ended) if ended else None,
        ))
    return figures


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def contact_for(query: Source, hall: str, day: str, ticket: str) -> str | None:
    """The phone number for SMS progress notices of a visit (the only unmasked read); None when
    none was given or it was erased."""
    try:
        rows = read_rows(query, _CONTACT_OF, {"hall": hall, "day": day, "ticket": ticket})
    except sqlite3.OperationalError:
        return None
    if not rows:
        return None
    phone = Reader(query).clear(visit_subject(hall, day, ticket), str(rows[0][0]))
    return None if phone == ERASED else phone
