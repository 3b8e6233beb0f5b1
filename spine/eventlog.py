"""The append-only log of every event a receiving node stored: each event once, never changed.

The hall gateway and central each keep one `events` table. It is unique by
event id, so a resend after days is still a duplicate, and triggers refuse
UPDATE and DELETE, so a record once written stays as written. What a node
indexes besides differs (central keeps the hall and the gateway's clock, the
gateway the device's boot), so each node declares its columns in an
`EventLog`; the table's rules, appending, and the loop that commits a batch
(store new events, count duplicates, keep dead letters, advance the sender's
stream) are the same for every node.

Each query is written once (`spine.statement`): the gateway runs it on its raw
SQLite connection, central on SQLite or PostgreSQL through SQLAlchemy. A SQLite
file gets its table from `schema()` as it always has; a PostgreSQL database from
central's migration (`table()`, and the trigger of `central/migrations`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY, JSON
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.types import TypeEngine

from spine.receiver import AcceptedEvent, Admission, DeadLetter, IncomingBatch, Refusal, advance_stream
from spine.sqlite import append_only
from spine.statement import Statement, Tx, insert_for, owe, settle, sqlite_driver

_IDS = json.JSONEncoder(separators=(",", ":"))

_REQUIRED = ("type", "payload")
_TYPES: dict[str, type[TypeEngine[Any]]] = {"TEXT": Text, "INTEGER": BigInteger, "BLOB": LargeBinary}
"""SQLite's column types as SQLAlchemy's (INTEGER as 64 bits: times are in milliseconds)."""
_PG_TYPES = {"TEXT": "text", "INTEGER": "int8", "BLOB": "bytea"}
"""The same as PostgreSQL names them for a binary COPY (which sends each value in its type's form)."""


@dataclass(frozen=True)
class EventLog:
    """One node's `events` table: `id` (its order of arrival), `event_id`, then `columns`."""

    columns: tuple[tuple[str, str], ...]
    """Name and SQL type of every other column, in order; `type` and `payload` are required."""
    device_key: tuple[str, ...] = ("device", "seq")
    """The columns that find one device's events in order (indexed)."""
    _table: Table = field(init=False, repr=False)
    _append: Statement = field(init=False, repr=False)
    _held: Statement = field(init=False, repr=False)
    _add: Statement = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = [name for name, _ in self.columns]
        missing = [name for name in _REQUIRED if name not in names]
        if missing:
            raise ValueError(f"an event log needs the columns {missing}")
        table = self.table(MetaData())
        object.__setattr__(self, "_table", table)
        # A resend conflicts on event_id only: the log keeps the first copy and returns no row.
        # (RETURNING, not the row count: psycopg's count of an INSERT ... ON CONFLICT is not reliable
        # through SQLAlchemy.)
        object.__setattr__(self, "_append", Statement(lambda dialect: insert_for(dialect, table).values(
            {name: bindparam(name) for name in ("event_id", *names)}
        ).on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.id)))
        # A batch's events the log already has, in one statement: the ids go as one JSON array,
        # whatever their number (json_each on SQLite, json_array_elements_text on PostgreSQL).
        # Not a PostgreSQL array: psycopg adapts one element by element in Python (about 0.5 ms
        # of client CPU for a batch's 100 ids, `bench.store_ingest --projections`). The server
        # makes the array (`= ANY` of `array_agg`, computed once): the log's unique index is
        # then searched for each id, where `IN (SELECT ...)` let the planner scan the table.
        object.__setattr__(self, "_held", Statement(lambda dialect: select(table.c.event_id).where(
            table.c.event_id.in_(select(literal_column("value")).select_from(
                func.json_each(bindparam("ids"))).scalar_subquery())
            if dialect == "sqlite"
            else table.c.event_id == func.any(_array_of_json(bindparam("ids", type_=Text))))))
        # An event known new (`held` said so, inside the same writing transaction): no RETURNING,
        # and on SQLite straight to the driver with its values in the statement's order.
        object.__setattr__(self, "_add", Statement(lambda dialect: insert_for(dialect, table).values(
            {name: bindparam(name) for name in ("event_id", *names)}
        ).on_conflict_do_nothing(index_elements=["event_id"])))

    @property
    def _copy_sql(self) -> str:
        names = ", ".join(name for name, _ in self.columns)
        return f"COPY events (event_id, {names}) FROM STDIN (FORMAT BINARY)"

    @property
    def _copy_types(self) -> list[str]:
        return ["text", *[_PG_TYPES[kind.split()[0].upper()] for _, kind in self.columns]]

    def table(self, metadata: MetaData) -> Table:
        """The same table in SQLAlchemy Core, on `metadata` (for a migration and for the queries)."""
        columns = [Column(name, _sql_type(kind), nullable="NOT NULL" not in kind.upper())
                   for name, kind in self.columns]
        return Table(
            "events", metadata,
            # INTEGER on SQLite, so the id stays the rowid as `schema()` makes it.
            Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                   autoincrement=True),
            Column("event_id", Text, nullable=False, unique=True),
            *columns,
            Index("events_by_device", *self.device_key),
            Index("events_by_type", "type", "id"),
        )

    def schema(self) -> str:
        """The table, its indexes and the triggers that keep it append-only."""
        columns = "".join(f",\n    {name} {kind}" for name, kind in self.columns)
        return f"""
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE{columns}
);
CREATE INDEX IF NOT EXISTS events_by_device ON events ({', '.join(self.device_key)});
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id);
""" + append_only("events", "the event log")

    def append(self, tx: Tx, event_id: str, row: Mapping[str, Any]) -> int | None:
        """Store an event inside `tx` and return its row's id; None when its id is already in
        the log (a resend). A column missing from `row` is stored as NULL."""
        values = {"event_id": event_id, **{name: row.get(name) for name, _ in self.columns}}
        stored = self._append.run(tx, values).fetchone()
        return int(stored[0]) if stored is not None else None

    def held(self, tx: Tx, event_ids: Sequence[str]) -> set[str]:
        """Which of these events the log already has, in one statement."""
        return self.ask_held(tx, event_ids)()

    def ask_held(self, tx: Tx, event_ids: Sequence[str]) -> Callable[[], set[str]]:
        """`held`, sent now (in a `pipelined` block, with the statements around it), answered by
        the function returned once that block has ended."""
        if not event_ids:
            return set
        answer = self._held.ask(tx, {"ids": _IDS.encode(list(event_ids))})
        return lambda: {event_id for (event_id,) in answer.fetchall()}

    def add(self, tx: Tx, event_id: str, row: Mapping[str, Any]) -> int | None:
        """Store an event inside `tx` that `held` (in the same transaction) said is new; returns
        its row's id on SQLite (None on PostgreSQL, which is not asked). A column missing from
        `row` is stored as NULL."""
        raw = tx if isinstance(tx, sqlite3.Connection) else sqlite_driver(tx)
        if raw is None:
            self._add.run(tx, {"event_id": event_id, **{name: row.get(name) for name, _ in self.columns}})
            return None
        # The hot path of every receiver on SQLite (once per event): no dict of parameters.
        sql, names, _literals = self._add.sqlite_text()
        cursor = raw.execute(sql, [event_id if name == "event_id" else row.get(name) for name in names])
        if cursor.rowcount != 1:
            # `held` answered inside this writing transaction: nobody else could have stored it.
            raise RuntimeError(f"event {event_id} was in the log after all")
        return cursor.lastrowid

    def add_all(self, tx: Tx, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Store events `held` said are new, in this order, in one driver call (see `add`): on
        PostgreSQL one binary COPY for the batch, on SQLite one executemany."""
        self.send_all(tx, rows)()

    def send_all(self, tx: Tx, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> Callable[[], None]:
        """`add_all`, answered later: the rows go to the server now and the function returned
        waits until it has stored them, raising what it refused. Meanwhile the server indexes
        them while the caller goes on (its handlers' Python); a statement run on `tx` before
        then reads the answer first (`spine.statement.settle`). On SQLite, stored at once."""
        if not rows:
            return _nothing
        names = [name for name, _ in self.columns]
        copy = _copy_target(tx)
        if copy is None:
            self._add.run_many(tx, [{"event_id": event_id, **{name: row.get(name) for name in names}}
                                    for event_id, row in rows])
            return _nothing
        # COPY has no ON CONFLICT, and needs none: `held` answered under the hall's lock in this
        # transaction, so nobody else stores these ids meanwhile; the unique index on event_id
        # still refuses a copy that got here some other way (the batch then fails whole, as a
        # SQLite `add` does), never a second row. A pipelined executemany of the INSERT cost
        # 11 us of client CPU an event and the server a statement each; COPY about 2 us, and an
        # INSERT from one JSON array of the rows twice COPY's CPU on both sides
        # (docs/architecture.md, "Speed").
        assert not isinstance(tx, sqlite3.Connection)
        from spine.pgcopy import EndAnsweredLater  # psycopg: only where central runs on PostgreSQL

        settle(tx)
        writer: EndAnsweredLater | None = None
        try:
            with copy.cursor() as cursor:
                writer = EndAnsweredLater(cursor)
                with cursor.copy(self._copy_sql, writer=writer) as sending:
                    sending.set_types(self._copy_types)
                    for event_id, row in rows:
                        sending.write_row((event_id, *[row.get(name) for name in names]))
        except tx.dialect.loaded_dbapi.Error as exc:
            raise self._failed(tx, exc) from exc
        expected = len(rows)

        def stored() -> None:
            assert writer is not None
            try:
                writer.answer(expected)
            except tx.dialect.loaded_dbapi.Error as exc:
                raise self._failed(tx, exc) from exc

        owe(tx, stored)
        return lambda: settle(tx)

    def _failed(self, tx: Connection, exc: Exception) -> StatementError:
        # As SQLAlchemy raises every other statement's failure (IntegrityError for a second
        # copy), without the rows: they hold personal data as often as not.
        return DBAPIError.instance(self._copy_sql, None, exc, tx.dialect.loaded_dbapi.Error,
                                   hide_parameters=True, dialect=tx.dialect)


def _nothing() -> None:
    pass


def _array_of_json(texts: Any) -> Any:
    """A PostgreSQL text[] made by the server from a JSON array of strings (one scalar subquery)."""
    elements = func.json_array_elements_text(sql_cast(texts, JSON)).table_valued("value")
    # Cast, so that `= ANY` takes it as one array, not as a subquery's rows.
    return sql_cast(select(func.array_agg(elements.c.value)).scalar_subquery(), ARRAY(Text))


def _copy_target(tx: Tx) -> Any:
    """The psycopg connection under a SQLAlchemy connection on PostgreSQL (None on SQLite)."""
    if isinstance(tx, sqlite3.Connection) or tx.dialect.name != "postgresql":
        return None
    return tx.connection.driver_connection


def _sql_type(kind: str) -> type[TypeEngine[Any]]:
    base = kind.split()[0].upper()
    if base not in _TYPES:
        raise ValueError(f"an event log column is TEXT, INTEGER or BLOB, not {kind!r}")
    return _TYPES[base]


def commit_batch(
    tx: Tx,
    log: EventLog,
    incoming: IncomingBatch,
    dead: list[DeadLetter],
    *,
    row: Callable[[AcceptedEvent], Mapping[str, Any]],
    stored: Callable[[AcceptedEvent, int | None], None],
    dead_letter: Callable[[DeadLetter], object],
    admit: Admission | None = None,
    together: bool = False,
    advanced: bool = False,
    held: set[str] | None = None,
    early: bool = False,
) -> tuple[int, int]:
    """A receiver's batch inside `tx`: each new event admitted (`admit`, when the node has
    rules that need what earlier events did), appended (`row` gives its columns) and handed
    to `stored` with its row's id (see `EventLog.add`; the node's handlers and forwarding),
    each dead letter to `dead_letter`, then the sender's stream advanced. Returns (stored,
    duplicates).

    `together`: the batch's new events are appended in one driver call once all of them
    have been handled (`stored` then gets no row id), instead of one statement each before
    its handlers: for a node whose handlers neither read the log for the batch being stored
    nor append to it (central; the gateway's own facts go in between its events). On
    PostgreSQL that is one round trip for the batch instead of one per event.

    `advanced`: the caller has advanced the sender's stream in `tx` already (with other
    statements of its own, in one round trip). `held`: which of the batch's events the log
    holds, asked by the caller in `tx` (`EventLog.ask_held`, in that same round trip).

    `early` (with `together`, and no `admit` or one that refuses none of the batch's events):
    the new events are sent to the log before the first is handled (`EventLog.send_all`), so
    that on PostgreSQL the server stores them while the handlers run; their answer is read
    before this returns. A handler that reads the log meanwhile finds the whole batch there."""
    new = duplicates = 0
    # One question for the whole batch: which of its events the log already has (a resend is
    # a duplicate, whatever changed since). Each new event is then stored in the batch's order,
    # its handlers run before the next is admitted.
    if held is None:
        held = log.held(tx, [event.envelope.id for event in incoming.events])
    if early:
        assert together and admit is None, "an early append needs every event's admission known"
        new, duplicates = _append_first(tx, log, incoming, row, stored, held)
        for letter in dead:
            dead_letter(letter)
        if not advanced:
            advance_stream(tx, incoming.batch)
        return new, duplicates
    appended: list[tuple[str, Mapping[str, Any]]] = []
    for event in incoming.events:
        event_id = event.envelope.id
        if event_id in held:
            duplicates += 1
            continue
        if admit is not None:
            verdict = admit(event)
            if isinstance(verdict, Refusal):
                dead_letter(incoming.refuse(event, verdict))
                continue
            event = verdict
        held.add(event_id)  # a second copy in the same batch is a duplicate too
        new += 1
        if together:
            appended.append((event_id, row(event)))
            stored(event, None)
        else:
            stored(event, log.add(tx, event_id, row(event)))
    log.add_all(tx, appended)
    for letter in dead:
        dead_letter(letter)
    if not advanced:
        advance_stream(tx, incoming.batch)
    return new, duplicates


def _append_first(tx: Tx, log: EventLog, incoming: IncomingBatch,
                  row: Callable[[AcceptedEvent], Mapping[str, Any]],
                  stored: Callable[[AcceptedEvent, int | None], None], held: set[str]) -> tuple[int, int]:
    """`commit_batch`'s early append: the new events sent to the log, then handled while the
    server stores them, then its answer read."""
    fresh: list[AcceptedEvent] = []
    for event in incoming.events:
        if event.envelope.id not in held:
            held.add(event.envelope.id)  # a second copy in the same batch is a duplicate too
            fresh.append(event)
    answered = log.send_all(tx, [(event.envelope.id, row(event)) for event in fresh])
    try:
        for event in fresh:
            stored(event, None)
    except BaseException:
        # The handler's failure is the one to tell; the server's answer is read all the same,
        # so that the connection can roll the transaction back.
        with contextlib.suppress(Exception):
            answered()
        raise
    answered()
    return len(fresh), len(incoming.events) - len(fresh)
