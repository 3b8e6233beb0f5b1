"""Projections over central's event log that can be added late and catch up from the log.

A projection is fed every newly stored event inside the store's transaction
(as a `CentralHandler`), and remembers the last event row it has seen; at
start-up it replays whatever it has not seen yet, so a projection deployed
after months of events starts complete, and a crash between the two never
counts an event twice (the cursor commits with the rows it produced).

Everything at central whose tables are derived from the event log alone is one
(telemetry, queue statistics, ratings, complaint hold confirmations). The case
records are not: they keep their own hash-chained log in another file
(`central/cases/`), which a cursor in this one could not commit with.

Where a cursor is kept, and why so. A batch's transaction moves the cursors of every
projection it fed, in one statement, to the newest event id at its commit: the cursor
commits with the rows it produced, so a crash loses both or neither. Each process (each
projection object) keeps a row of its own, named `<projection>@<holder>`: before, every
batch of every process updated the one row `<projection>`, and on PostgreSQL each batch held
that row's lock from its update to its commit's WAL flush, so two ingest processes took turns
to commit instead of PostgreSQL flushing their commits together. A projection's cursor is the
largest of its rows: every batch committed so far had ids at or below its own process's
row, so nothing at or below it is left to replay. `install` replays from there, then writes
the cursor to `<projection>` and forgets the holders' rows it covers (a process still
running writes its own again at its next batch).

A projection may hold its writes back until the batch's end (`at_batch_end`): there they
go with every projection's cursor, on PostgreSQL in one psycopg pipeline, so a batch costs a
few round trips whatever its number of events (docs/architecture.md, "Speed").

The cursor and the replay are statements written once (`spine.statement`). A
projection whose own statements are too sets `portable`: it then runs on a store
on PostgreSQL as well (its tables made there by `central/migrations`); the others
still write SQLite's SQL and are refused there with `SqliteOnly`.
"""

from __future__ import annotations

import sqlite3
import uuid
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from central.store import TABLES, CentralStore
from contract.envelope import Envelope
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent
from spine.statement import SetWrite, Statement, Tx, insert_for, json_rows, pipelined

CURSOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS projection_cursor (
    name TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
"""

PROJECTION_TABLES = MetaData()
PROJECTION_CURSOR = Table(
    "projection_cursor", PROJECTION_TABLES,
    Column("name", Text, primary_key=True),
    Column("last_id", BigInteger, nullable=False),
)
"""`CURSOR_SCHEMA` in SQLAlchemy Core, for a store on PostgreSQL."""

REPLAY_CHUNK = 2000

_EVENTS = TABLES.tables["events"]
_NEWEST = Statement(lambda _dialect: select(func.max(_EVENTS.c.id)))
_CHUNK = Statement(lambda _dialect: select(_EVENTS.c.id, _EVENTS.c.hall, _EVENTS.c.payload).where(
    _EVENTS.c.id > bindparam("after")).order_by(_EVENTS.c.id).limit(bindparam("limit")))
_C = PROJECTION_CURSOR.c
_HOLDERS = func.substr(_C.name, 1, bindparam("holders_length")) == bindparam("holders")
_OF_PROJECTION = (_C.name == bindparam("name")) | _HOLDERS
"""The projection's own row and its holders' (`<name>@...`), compared as text, not as a LIKE
pattern (a projection's name has `_`, LIKE's any-character)."""
_CURSOR = Statement(lambda _dialect: select(func.max(_C.last_id)).where(_OF_PROJECTION))
_FORGET_HOLDERS = Statement(lambda _dialect: delete(PROJECTION_CURSOR).where(
    _HOLDERS, _C.last_id <= bindparam("last_id")))


def _cursor_upsert(dialect: str) -> Any:
    insert = insert_for(dialect, PROJECTION_CURSOR).values(name=bindparam("name"),
                                                           last_id=bindparam("last_id"))
    return insert.on_conflict_do_update(index_elements=["name"],
                                        set_={"last_id": insert.excluded.last_id})


_SET_CURSOR = Statement(_cursor_upsert)


def _cursor_to_newest(dialect: str) -> Any:
    newest = select(func.coalesce(func.max(_EVENTS.c.id), 0)).scalar_subquery()
    insert = insert_for(dialect, PROJECTION_CURSOR).values(name=bindparam("name"), last_id=newest)
    return insert.on_conflict_do_update(index_elements=["name"],
                                        set_={"last_id": insert.excluded.last_id})


def _cursors_to_newest(_dialect: str) -> Any:
    newest = select(func.coalesce(func.max(_EVENTS.c.id), 0)).scalar_subquery()
    given = json_rows([_C.name])
    insert = postgresql_insert(PROJECTION_CURSOR).from_select(["name", "last_id"],
                                                              select(given.c.name, newest))
    return insert.on_conflict_do_update(index_elements=["name"], set_={"last_id": insert.excluded.last_id})


_SET_CURSOR_TO_NEWEST = SetWrite(_cursor_to_newest, _cursors_to_newest)
"""Cursors moved to the newest event id, read by the same statement (no round trip of its own);
on PostgreSQL all of a batch's in one statement."""


Writes = list[tuple[Statement, list[dict[str, Any]]]]
"""Statements that only write, each with its rows (`Statement.run_many`), for a batch's end."""


class _BatchEnd:
    """What the projections fed by one batch do just before it commits: each one's held-back
    writes (after whatever it must still read), and the cursors of all of them, to the newest
    event id. On PostgreSQL the writes go in one psycopg pipeline: one round trip for the batch's
    segments, month sums, ratings and cursors instead of one each (`executemany` alone pipelines
    only its own rows). Reads stay outside it: SQLAlchemy closes a result it cannot see yet."""

    def __init__(self, context: HandlerContext) -> None:
        self.context = context
        self.rows: list[str] = []
        self.finishers: dict[Hashable, Callable[[Tx], Writes]] = {}

    def __call__(self) -> None:
        tx = self.context.portable
        writes = [write for finish in self.finishers.values() for write in finish(tx)]
        writes.append((_SET_CURSOR_TO_NEWEST, [{"name": name} for name in self.rows]))
        with pipelined(tx):
            for statement, rows in writes:
                statement.run_many(tx, rows)


def write_all(tx: Tx, writes: Writes) -> None:
    """Run writes held back (a replayed chunk's, or outside a batch)."""
    for statement, rows in writes:
        statement.run_many(tx, rows)


_BATCHES: weakref.WeakValueDictionary[int, _BatchEnd] = weakref.WeakValueDictionary()
"""The batches being stored now (several stores may commit at once on threads of one process),
by their context's id; gone with the transaction (its `before_commit` holds the only reference)."""


class Projection:
    """Base of central's projections: subclasses set `name`, `schema` and implement `apply`."""

    name = "projection"
    schema = ""
    portable = False
    """Its own statements are written once for both databases: `apply` gets a `Tx`, not only
    a raw SQLite connection, and it runs on a store on PostgreSQL too."""
    kept_before_cursors: str | None = None
    """A table this projection filled before projections kept a cursor. Found with rows and
    without a cursor, the log so far is already in it: replaying it would count it twice."""
    _installed = False
    _cursor_moved_by: HandlerContext | None = None
    _holder: str | None = None

    def install(self, store: CentralStore) -> None:
        """Create the tables and replay the events stored before this projection existed."""
        transaction = store.statements if self.portable else store.transaction
        with transaction() as tx:
            self._prepare(tx)
        while True:
            with transaction() as tx:
                if self._replay_chunk(tx) < REPLAY_CHUNK:
                    self._gather_cursor(tx)
                    break
        self._installed = True

    @property
    def catching_up(self) -> bool:
        """Fed now, it would replay the log first: the store then keeps a batch's old order
        (`CentralStore.commit`'s `early`)."""
        return not self._installed

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        tx, hall = (context.portable if self.portable else context.tx), context.hall
        if not self._installed:
            # Fed before install() (a store built with this projection among its handlers):
            # make the tables and catch up here on the log so far, then take this event (the
            # store appends a batch's events to the log once they have all been handled).
            self._prepare(tx)
            while self._replay_chunk(tx) == REPLAY_CHUNK:
                pass
            self._installed = True
        if self.takes(event.envelope.type):
            self.apply(tx, hall, event.envelope)
        if context is not self._cursor_moved_by:
            # Once per batch (a batch has one context), just before it commits: the newest row
            # is then the batch's last. Registered at its first event, not again at each; and
            # one statement for the cursors of every projection the batch fed.
            self._cursor_moved_by = context
            _batch_end(context).rows.append(self._holder_row())

    def at_batch_end(self, context: HandlerContext, finish: Callable[[Tx], Writes]) -> None:
        """Have `finish` run just before the batch commits; the writes it returns go with the
        other projections' and their cursors (once per batch: the last `finish` given wins)."""
        _batch_end(context).finishers[(type(self), id(self))] = finish

    def _holder_row(self) -> str:
        if self._holder is None:
            self._holder = uuid.uuid4().hex[:16]
        return f"{self.name}@{self._holder}"

    def _holders(self) -> dict[str, Any]:
        prefix = f"{self.name}@"
        return {"holders": prefix, "holders_length": len(prefix)}

    def _gather_cursor(self, tx: Tx) -> None:
        """The cursor into the projection's own row; the holders' rows at or below it go."""
        last = self._cursor(tx)
        if last is not None:
            self._set_cursor(tx, last)
            _FORGET_HOLDERS.run(tx, {**self._holders(), "last_id": last})

    def _set_cursor_to_newest(self, tx: Tx) -> None:
        (last,) = _NEWEST.run(tx).fetchone()
        self._set_cursor(tx, last)

    def takes(self, type: str) -> bool:
        """Whether `apply` does anything with events of this type: every event of a hall passes
        every projection, and most of them concern one or two (a backlog's drain paid a call
        per projection and event)."""
        return True

    def apply(self, tx: Any, hall: str, envelope: Envelope) -> None:
        """Fold one event into the tables: `tx` is a raw SQLite connection, or any `Tx` when
        the projection is `portable`."""
        raise NotImplementedError

    def _prepare(self, tx: Tx) -> None:
        if not isinstance(tx, sqlite3.Connection):
            return  # on PostgreSQL the tables are the migrations' (`hall central migrate`)
        adopt = self.kept_before_cursors is not None and self._cursor(tx) is None \
            and _has_rows(tx, self.kept_before_cursors)
        run_script(tx, CURSOR_SCHEMA + self.schema)
        if adopt and self._cursor(tx) is None:
            self._set_cursor_to_newest(tx)

    def _replay_chunk(self, tx: Tx) -> int:
        rows = _CHUNK.run(tx, {"after": self._cursor(tx) or 0, "limit": REPLAY_CHUNK}).fetchall()
        taken = [(hall, envelope) for _id, hall, payload in rows
                 if self.takes((envelope := Envelope.model_validate_json(payload)).type)]
        self._replaying(tx, taken)
        for hall, envelope in taken:
            self.apply(tx, hall, envelope)
        if rows:
            self._set_cursor(tx, rows[-1][0])
        return len(rows)

    def _replaying(self, tx: Tx, events: Sequence[tuple[str, Envelope]]) -> None:
        """Before a replayed chunk's events are applied: a projection may read at once what they need."""

    def _cursor(self, tx: Tx) -> int | None:
        try:
            row = _CURSOR.run(tx, {"name": self.name, **self._holders()}).fetchone()
        except sqlite3.OperationalError:  # no projection has been installed in this file yet
            return None
        return int(row[0]) if row and row[0] is not None else None

    def _set_cursor(self, tx: Tx, last_id: Any) -> None:
        _SET_CURSOR.run(tx, {"name": self.name, "last_id": int(last_id or 0)})


def _batch_end(context: HandlerContext) -> _BatchEnd:
    batch = _BATCHES.get(id(context))
    if batch is None or batch.context is not context:
        batch = _BATCHES[id(context)] = _BatchEnd(context)
        context.before_commit((Projection, "batch end"), batch)
    return batch


def _has_rows(tx: sqlite3.Connection, table: str) -> bool:
    try:
        return tx.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # the table does not exist
        return False


def event_time(envelope: Envelope) -> int:
    """When an event happened, ms: the gateway's estimate when there is one, never the raw Pi clock first."""
    if envelope.recv is not None:
        return envelope.recv.est_time if envelope.recv.est_time is not None else envelope.recv.at
    return envelope.time


def run_script(tx: sqlite3.Connection, script: str) -> None:
    """Run a schema script inside the caller's transaction (`executescript` would commit it)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            tx.execute(statement)
            statement = ""
    if statement.strip():
        tx.execute(statement)
