"""Where the rules' facts come from: the case log, the halls' events, the complaint log.

Each feed reads forward from a position (the case log's seq, the event
store's row id, the complaint log's seq) and only the kinds some rule reads;
the watch keeps each position beside the rules' state, so what was read is
judged once. The case log is read through the office's own connection to the
case store (`CaseReads`: its SQLite file read-only, or central's PostgreSQL
database), with statements written once for both. The event store (the halls'
events, the complaint log) is read through its `read` (`EventReads`), with
statements written once too: on a SQLite file, a read-only connection of its own
(`ReadOnlyFile`: the ingest never waits for the rules); on PostgreSQL, the store itself.

A feed never moves past a row that may still commit below its position. On SQLite
one writer commits ids in their order. On PostgreSQL several central processes
append at once and an id is taken at insert, so a lower id can commit after a higher
one: the event feed reads its top (`settled_top`) in a short transaction that first
takes `central.store.APPENDING_LOCK` exclusively, which waits for the batches in
flight (each holds it shared) and so reads `max(id)` when none is; the rows up to that
top are then read in a transaction of their own, which sees them all. The logs that
are hash chains (the case log, the complaint log) append one at a time under a lock
of their own, in the order of their positions, so their newest position is settled.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, func, literal, select

from central.anomalies.casereads import NEWEST_STEP, CaseReads, missing_table
from central.anomalies.facts import Fact
from central.cases.sources import LIVE, hall_source
from central.cases.tables import CASE_EVENTS, CASES
from central.complaints.desk import COMPLAINTS
from central.complaints.log import COMPLAINT_LOG
from central.complaints.log import LOG as COMPLAINT_STEPS
from central.store import APPENDING_LOCK, TABLES
from spine.statement import Statement, Tx

T = TypeVar("T")
EVENTS = TABLES.tables["events"]


class Feed(Protocol):
    name: str

    def read(self, after: int, limit: int) -> tuple[list[Fact], int]:
        """The facts after `after`, at most `limit` rows, and the position to read on from."""
        ...


class EventReads(Protocol):
    """Where the event store is read: `CentralStore.read`, or a `ReadOnlyFile` of its SQLite file."""

    def read(self, reader: Callable[[Tx], T]) -> T: ...


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection to one of central's files (WAL: it never blocks their writer)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30,
                           isolation_level=None)


class ReadOnlyFile:
    """The event store's SQLite file, read-only, each `read` in one snapshot (never blocking the ingest)."""

    def __init__(self, path: Path) -> None:
        self.connection = open_reader(path)
        self._lock = threading.Lock()  # the engine's tick and the API's threads share the connection

    def read(self, reader: Callable[[Tx], T]) -> T:
        with self._lock:
            self.connection.execute("BEGIN")
            try:
                return reader(self.connection)
            finally:
                self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


def read_forward(events: EventReads, top_of: Callable[[Tx], int], wanted: Statement, after: int,
             limit: int) -> tuple[list[Any], int]:
    """`_snapshot` for the event store, on either database: the settled top (`top_of`, in one
    transaction), then the wanted rows after `after` up to it (in another, which sees every row
    up to the top: they had all committed before the first ended)."""
    try:
        top = events.read(top_of)
        if top <= after:  # nothing new: an idle tick spares the second transaction
            return [], after
        rows = events.read(lambda tx: list(wanted.run(tx, {"after": after, "top": top,
                                                           "limit": limit}).fetchall()))
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):  # that part of central never ran against this file
            return [], after
        raise
    return rows, (rows[-1][0] if len(rows) == limit else max(after, top))


class CaseLogFeed:
    """Case facts from the case log (the case store, either database), with the case's hall, unit
    and source. The position moves past rows of other kinds too, and never past a row not yet read."""

    name = "cases"

    def __init__(self, cases: CaseReads, kinds: Collection[str]) -> None:
        self.cases = cases
        self.kinds = sorted(k for k in kinds if k.startswith("case."))
        e, c = CASE_EVENTS.c, CASES.c
        # The kinds are this feed's for good: one statement, its kinds written in.
        self._wanted = Statement(lambda _dialect: select(
            e.seq, e.case_id, e.kind, e.at, e.recorded_at, e.actor, e.body, c.hall, c.unit, c.source
        ).select_from(CASE_EVENTS.outerjoin(CASES, c.case_id == e.case_id)).where(
            e.seq > bindparam("after"), e.seq <= bindparam("top"),
            e.kind.in_([literal(k) for k in self.kinds])
        ).order_by(e.seq).limit(bindparam("limit")))

    def read(self, after: int, limit: int) -> tuple[list[Fact], int]:
        if not self.kinds:
            return [], after

        def read(tx: Tx) -> tuple[list[Any], int]:
            top = int(NEWEST_STEP.run(tx).fetchone()[0] or 0)
            return list(self._wanted.run(tx, {"after": after, "top": top, "limit": limit}).fetchall()), top

        try:
            rows, top = self.cases.read(read)
        except sqlite3.OperationalError as error:
            if missing_table(error):  # the engine never opened this file
                return [], after
            raise
        return [case_fact(*row) for row in rows], (rows[-1][0] if len(rows) == limit else max(after, top))


def case_fact(seq: int, case_id: str, kind: str, at: int | None, recorded_at: int, actor: str, body: str,
              hall: str | None, unit: str | None, source: str | None) -> Fact:
    data = json.loads(body)
    return Fact(kind=kind, at=(at if at is not None else recorded_at) * 1000, source=source or LIVE,
                ref=f"case:{seq}", body=data, hall=hall or data.get("hall"), unit=unit or data.get("unit"),
                case_id=case_id, seq=seq, actor=actor)


_NEWEST_EVENT = Statement(lambda _dialect: select(func.max(EVENTS.c.id)))
_NEWEST_STEP = COMPLAINT_STEPS.newest
_WAIT_FOR_APPENDS = Statement(lambda _dialect: select(func.pg_advisory_xact_lock(bindparam("key"))))


def settled_top(tx: Tx) -> int:
    """Inside a transaction of its own: the event log's highest id below which no row is still
    being written. On PostgreSQL it first waits for the batches appending now (each holds
    `APPENDING_LOCK` shared; new ones queue behind this one, briefly: the lock goes when this
    transaction ends, right after one index lookup)."""
    if not isinstance(tx, sqlite3.Connection) and tx.dialect.name == "postgresql":
        _WAIT_FOR_APPENDS.run(tx, {"key": APPENDING_LOCK})
    return int(_NEWEST_EVENT.run(tx).fetchone()[0] or 0)


def _newest_step(tx: Tx) -> int:
    return int(_NEWEST_STEP.run(tx).fetchone()[0] or 0)


class EventFeed:
    """The halls' events from central's event store; their source is the hall."""

    name = "events"

    def __init__(self, events: EventReads, kinds: Collection[str]) -> None:
        self.events = events
        self.kinds = sorted(k for k in kinds if not k.startswith(("case.", "complaint.")))
        e = EVENTS.c
        # The kinds are this feed's for good: one statement, its kinds written in.
        self._wanted = Statement(lambda _dialect: select(e.id, e.hall, e.type, e.payload).where(
            e.id > bindparam("after"), e.id <= bindparam("top"), e.type.in_([literal(k) for k in self.kinds])
        ).order_by(e.id).limit(bindparam("limit")))

    def read(self, after: int, limit: int) -> tuple[list[Fact], int]:
        if not self.kinds:
            return [], after
        rows, position = read_forward(self.events, settled_top, self._wanted, after, limit)
        return [event_fact(*row) for row in rows], position


def event_fact(row_id: int, hall: str, kind: str, payload: str) -> Fact:
    envelope = json.loads(payload)
    body = envelope.get("body") or {}
    recv = envelope.get("recv") or {}
    # The body's own instant (a gateway's fact, a rating's press) is the most precise; else when the
    # gateway estimates it happened; the device's clock last (a Pi may have none).
    at = body.get("at") if isinstance(body.get("at"), int) else body.get("rated_at")
    if not isinstance(at, int):
        at = recv.get("est_time") or recv.get("at") or envelope.get("time") or 0
    return Fact(kind=kind, at=int(at), source=hall_source(hall), ref=f"event:{row_id}", body=body,
                hall=hall, unit=body.get("department") or body.get("unit"), actor=envelope.get("device"))


class ComplaintFeed:
    """Steps of the complaint log (in the event store), with the complaint's hall: stated at central."""

    name = "complaints"

    def __init__(self, events: EventReads, kinds: Collection[str]) -> None:
        self.events = events
        self.kinds = sorted(k for k in kinds if k.startswith("complaint."))
        log, c = COMPLAINT_LOG.c, COMPLAINTS.c
        self._wanted = Statement(lambda _dialect: select(
            log.seq, log.complaint, log.type, log.at, log.actor, log.body, c.hall, c.unit).select_from(
            COMPLAINT_LOG.outerjoin(COMPLAINTS, c.id == log.complaint)).where(
            log.seq > bindparam("after"), log.seq <= bindparam("top"),
            log.type.in_([literal(k) for k in self.kinds])).order_by(log.seq).limit(bindparam("limit")))

    def read(self, after: int, limit: int) -> tuple[list[Fact], int]:
        if not self.kinds:
            return [], after
        rows, position = read_forward(self.events, _newest_step, self._wanted, after, limit)
        return [Fact(kind=kind, at=at, source=LIVE, ref=f"complaint:{seq}",
                     body={**json.loads(body), "complaint": complaint}, hall=hall,
                     unit=unit, actor=actor)
                for seq, complaint, kind, at, actor, body, hall, unit in rows], position
