"""The append-only, hash-chained case log, on SQLite or PostgreSQL.

Rows are only ever inserted: triggers refuse UPDATE and DELETE, so a slip in
code cannot edit history, and the hash chain catches anyone who goes around
the triggers. Appends happen inside the caller's transaction; the head is
read again at the start of each transaction, so two writer processes (the
API server and an import, two engines ticking) interleave safely: SQLite lets
one writer in at a time (BEGIN IMMEDIATE), PostgreSQL's writers take the case
log's advisory lock first (`central.cases.database`). Its statements are written
once for both (`spine.statement`); on PostgreSQL the table and its triggers come
from migration 0006.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, desc, select

from central.cases.bulk import Rows
from central.cases.tables import CASE_EVENTS
from central.chain import EMPTY, Head, Link, canonical_body
from spine.statement import Statement, Tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS case_events (
    seq INTEGER PRIMARY KEY,
    case_id TEXT,
    kind TEXT NOT NULL,
    at INTEGER,
    recorded_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events(case_id, seq);
CREATE TRIGGER IF NOT EXISTS case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case events are append-only: file a correction'); END;
CREATE TRIGGER IF NOT EXISTS case_events_no_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case events are append-only'); END;
"""

_E = CASE_EVENTS.c
_NAMES = tuple(column.name for column in CASE_EVENTS.columns)
_HEAD = Statement(lambda _dialect: select(_E.seq, _E.hash).order_by(desc(_E.seq)).limit(1))
_INSERT = Statement(lambda _dialect: CASE_EVENTS.insert().values(
    {name: bindparam(name) for name in _NAMES}))
_INSERT_ALL = Rows(_INSERT, CASE_EVENTS, _NAMES)
_AFTER = Statement(lambda _dialect: select(*CASE_EVENTS.columns).where(
    _E.seq > bindparam("after")).order_by(_E.seq).limit(bindparam("limit")))
_OF_CASE = Statement(lambda _dialect: select(*CASE_EVENTS.columns).where(
    _E.case_id == bindparam("case_id")).order_by(_E.seq))
_ONE = Statement(lambda _dialect: select(*CASE_EVENTS.columns).where(_E.seq == bindparam("seq")))


@dataclass(frozen=True)
class LogRecord:
    """One row of the case log, exactly as stored."""

    seq: int
    case_id: str | None
    kind: str
    at: int | None
    recorded_at: int
    actor: str
    body_text: str
    prev_hash: str
    hash: str

    @property
    def body(self) -> dict[str, Any]:
        return dict(json.loads(self.body_text))

    @property
    def link(self) -> Link:
        return Link(self.seq, (self.case_id, self.kind, self.at, self.recorded_at, self.actor),
                    self.body_text, self.prev_hash, self.hash)


def _record(row: Any) -> LogRecord:
    return LogRecord(*row)


class CaseLog:
    """Appends and reads the chained records; one instance per connection."""

    def __init__(self, connection: Tx) -> None:
        self.connection = connection
        if isinstance(connection, sqlite3.Connection):
            connection.executescript(SCHEMA)
        self._head = self.head()

    def head(self) -> Head:
        row = _HEAD.run(self.connection).fetchone()
        return Head(int(row[0]), str(row[1])) if row else EMPTY

    @property
    def next_seq(self) -> int:
        """The seq the next append gets (from the head read at the start of this transaction)."""
        return self._head.seq + 1

    def reload(self) -> None:
        """Read the head again: call at the start of every write transaction."""
        self._head = self.head()

    def append(
        self,
        case_id: str | None,
        kind: str,
        at: int | None,
        actor: str,
        body: Mapping[str, Any],
        recorded_at: int,
        pending: list[dict[str, Any]] | None = None,
    ) -> LogRecord:
        """Chain one record onto the head; the caller's transaction makes it durable.

        With `pending`, the row is queued there for `insert_many` (a batch of
        records written with one call, in the same transaction) instead of inserted now.
        """
        link = Link.after(self._head, (case_id, kind, at, recorded_at, actor), canonical_body(body))
        row = (link.seq, case_id, kind, at, recorded_at, actor, link.body_text, link.prev_hash,
               link.hash)
        params = dict(zip(_NAMES, row, strict=True))
        if pending is None:
            _INSERT.run(self.connection, params)
        else:
            pending.append(params)
        self._head = Head(link.seq, link.hash)
        return LogRecord(*row)

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Write records queued by `append(..., pending=...)`, in order."""
        _INSERT_ALL.write(self.connection, rows)

    def records(self, after: int = 0, batch: int = 5000) -> Iterator[LogRecord]:
        """Every record after `after`, in order, read in batches."""
        while True:
            rows = _AFTER.run(self.connection, {"after": after, "limit": batch}).fetchall()
            if not rows:
                return
            for row in rows:
                yield _record(row)
            after = rows[-1][0]

    def for_case(self, case_id: str) -> list[LogRecord]:
        rows = _OF_CASE.run(self.connection, {"case_id": case_id}).fetchall()
        return [_record(row) for row in rows]

    def get(self, seq: int) -> LogRecord | None:
        row = _ONE.run(self.connection, {"seq": seq}).fetchone()
        return _record(row) if row else None
