"""Queue statistics at central: a projection of the visit events, and the query the reports use.

A visit is split into segments, one per service it waited for: a transfer
ends one segment and opens the next. Each segment has when it began waiting,
when it was first called, where and by whom, how it ended and how long the
citizen spent at windows (parked spells excluded). From these:
waiting time, service time, the share of waits above a target, and the
no-show share, per service, window or officer.

A `Projection`: deployed late, it catches up from the event log. Its statements are
written once for SQLite and PostgreSQL (`spine.statement`); on PostgreSQL its tables
are made by `central/migrations` (revision 0003).
Phone numbers given at windows (`queue.contact_given`) are kept for SMS
progress notices in `queue_contacts`, sealed with the visit's key
(`central.personal`): only `contact_for` opens them, and erasing the visit's key
(retention, or the citizen's request) erases them here and in the event log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    func,
    literal,
    select,
    update,
)

from central.personal import Reader, is_sealed, vault, visit_subject
from central.projection import Projection, event_time
from central.reads import Read, Source, built
from central.reads import rows as read_rows
from contract.envelope import Envelope
from contract.privacy import ERASED, PersonalKind
from spine.statement import Statement, Tx, insert_for

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
"""`SCHEMA` in SQLAlchemy Core: the statements' tables (made on PostgreSQL by migration 0003)."""

SegmentOutcome = str  # served, no_show, transferred, voided

_S = QUEUE_SEGMENTS.c


def _segment() -> Any:
    """The WHERE of one segment of a visit (`_visit` gives its parameters)."""
    return and_(_S.hall == bindparam("w_hall"), _S.day == bindparam("w_day"),
                _S.ticket == bindparam("w_ticket"), _S.seq == bindparam("w_seq"))


def _new_segment(dialect: str, *, if_absent: bool) -> Any:
    insert = insert_for(dialect, QUEUE_SEGMENTS).values(
        {name: bindparam(name) for name in ("hall", "day", "ticket", "seq", "service", "issued_at",
                                            "waiting_since")})
    return insert.on_conflict_do_nothing() if if_absent else insert


_OPEN_SEGMENT = Statement(lambda _dialect: select(func.max(_S.seq)).where(
    _S.hall == bindparam("w_hall"), _S.day == bindparam("w_day"), _S.ticket == bindparam("w_ticket")))
_ISSUED = Statement(lambda dialect: _new_segment(dialect, if_absent=True))
_REBUILT = Statement(lambda dialect: _new_segment(dialect, if_absent=False))
_CALLED = Statement(lambda _dialect: update(QUEUE_SEGMENTS).where(_segment()).values(
    called_at=func.coalesce(_S.called_at, bindparam("v_at")), window=bindparam("v_window"),
    officer=bindparam("v_officer"),
    waiting_since=case((_S.called_at.is_(None), bindparam("v_waiting_since")), else_=_S.waiting_since),
    issued_at=case((and_(_S.called_at.is_(None), _S.seq == 1), bindparam("v_issued_at")),
                   else_=_S.issued_at)))
_RECALLED = Statement(lambda _dialect: update(QUEUE_SEGMENTS).where(_segment()).values(
    recalls=_S.recalls + 1))
_ENDED = Statement(lambda _dialect: update(QUEUE_SEGMENTS).where(_segment()).values(
    ended_at=bindparam("v_at"), outcome=bindparam("v_outcome"), service_ms=bindparam("v_service_ms")))
_ISSUED_AT = Statement(lambda _dialect: select(_S.issued_at).where(_segment()))


def _contact_upsert(dialect: str) -> Any:
    insert = insert_for(dialect, QUEUE_CONTACTS).values(
        {name: bindparam(name) for name in ("hall", "day", "ticket", "window", "phone", "given_at")})
    return insert.on_conflict_do_update(index_elements=["hall", "day", "ticket"], set_={
        "phone": insert.excluded.phone, "given_at": insert.excluded.given_at})


_CONTACT = Statement(_contact_upsert)
_CONTACT_OF = Statement(lambda _dialect: select(QUEUE_CONTACTS.c.phone).where(
    QUEUE_CONTACTS.c.hall == bindparam("hall"), QUEUE_CONTACTS.c.day == bindparam("day"),
    QUEUE_CONTACTS.c.ticket == bindparam("ticket")))


class QueueStatsProjection(Projection):
    """Keeps `queue_segments` and `queue_contacts` in step with the stored queue events."""

    name = "queue_stats"
    schema = SCHEMA + vault.SCHEMA
    portable = True
    # Before projections kept cursors this one was fed live only: its rows hold the log so far.
    kept_before_cursors = "queue_segments"

    def takes(self, type: str) -> bool:
        return type in _APPLY

    def apply(self, tx: Tx, hall: str, envelope: Envelope) -> None:
        apply = _APPLY.get(envelope.type)
        if apply is not None:
            apply(tx, hall, envelope.body, event_time(envelope))


# --- applying events ---------------------------------------------------------------------


def _visit(hall: str, body: Mapping[str, Any], seq: Any = None) -> dict[str, Any]:
    where = {"w_hall": hall, "w_day": body["day"], "w_ticket": body["ticket"]}
    return where if seq is None else {**where, "w_seq": seq}


def _open_segment(tx: Tx, hall: str, body: Mapping[str, Any]) -> int | None:
    row = _OPEN_SEGMENT.run(tx, _visit(hall, body)).fetchone()
    return row[0] if row else None


def _issued(tx: Tx, hall: str, body: Mapping[str, Any], at: int) -> None:
    _ISSUED.run(tx, {"hall": hall, "day": body["day"], "ticket": body["ticket"], "seq": 1,
                     "service": body["service"], "issued_at": at, "waiting_since": at})


def _voided(tx: Tx, hall: str, body: Mapping[str, Any], at: int) -> None:
    _end(tx, hall, body, at, "voided", None)


def _called(tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    seq = _open_segment(tx, hall, body)
    if seq is None:  # the ticket's own event was lost to us: rebuild the segment from the call
        _REBUILT.run(tx, {"hall": hall, "day": body["day"], "ticket": body["ticket"], "seq": 1,
                          "service": body["service"], "issued_at": body["issued_at"],
                          "waiting_since": body["waiting_since"]})
        seq = 1
    # A call-back after parking keeps the first call time: waiting ended at the first call.
    # The gateway's own dates of the wait are authoritative (it corrected the kiosk's clock).
    _CALLED.run(tx, {**_visit(hall, body, seq), "v_at": body["at"], "v_window": body["window"],
                     "v_officer": body.get("officer"), "v_waiting_since": body["waiting_since"],
                     "v_issued_at": body["issued_at"]})


def _recalled(tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    seq = _open_segment(tx, hall, body)
    _RECALLED.run(tx, _visit(hall, body, seq))


def _no_show(tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    _end(tx, hall, body, body["at"], "no_show", None)


def _served(tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    _end(tx, hall, body, body["at"], "served", body["service_ms"])


def _transferred(tx: Tx, hall: str, body: Mapping[str, Any], _at: int) -> None:
    seq = _end(tx, hall, body, body["at"], "transferred", body["active_ms"])
    if seq is None:
        return
    row = _ISSUED_AT.run(tx, _visit(hall, body, seq)).fetchone()
    _ISSUED.run(tx, {"hall": hall, "day": body["day"], "ticket": body["ticket"], "seq": seq + 1,
                     "service": body["to_service"], "issued_at": row[0], "waiting_since": body["at"]})


def _end(tx: Tx, hall: str, body: Mapping[str, Any], at: int, outcome: SegmentOutcome,
         service_ms: int | None) -> int | None:
    seq = _open_segment(tx, hall, body)
    if seq is None:
        return None
    _ENDED.run(tx, {**_visit(hall, body, seq), "v_at": at, "v_outcome": outcome,
                    "v_service_ms": service_ms})
    return int(seq)


def _contact(tx: Tx, hall: str, body: Mapping[str, Any], at: int) -> None:
    phone = body["phone"]
    if not is_sealed(phone):  # as it arrived; replayed from the event log, it is sealed already
        phone = vault.seal(tx, visit_subject(hall, body["day"], body["ticket"]), PersonalKind.MOBILE, phone)
    _CONTACT.run(tx, {"hall": hall, "day": body["day"], "ticket": body["ticket"], "window": body["window"],
                      "phone": phone, "given_at": at})


_APPLY: dict[str, Callable[[Tx, str, Mapping[str, Any], int], None]] = {
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
    default_target = wait_target_ms if isinstance(wait_target_ms, int) else 15 * 60_000
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
        served, no_shows, above, ended = (int(n or 0) for n in (served, no_shows, above, ended))
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
