"""One SQL statement for every store: written once in SQLAlchemy Core, run on either dialect.

Central's event store reaches SQLite or PostgreSQL through a SQLAlchemy connection;
the gateway, and central's parts still on SQLite, hold a raw `sqlite3` connection.
A `Statement` is built per dialect from one definition (only an upsert's spelling
differs between them) and runs on both kinds of connection: on a SQLAlchemy
connection as Core, on a raw sqlite3 connection as SQL compiled once for SQLite.
So each query of the event log, the dead letters and the streams exists once.

Each form is compiled once and run as the driver's own SQL. SQLAlchemy's cache of
compiled statements does not take an INSERT of `sqlite.insert`/`postgresql.insert`
(they have no cache key), so through `Connection.execute` every append to the event
log was compiled anew: most of the ingest's CPU, on both databases (`bench.store_ingest`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, cast

from sqlalchemy import (
    ClauseElement,
    Column,
    Connection,
    Dialect,
    Executable,
    Table,
    Text,
    bindparam,
    column,
    func,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler

Tx = sqlite3.Connection | Connection
"""An open transaction: a node's raw SQLite connection, or a SQLAlchemy connection of either dialect."""

_OWED = "hallwatch.answer_owed"
"""Where a connection keeps what reads an answer its server still owes it (`owe`)."""


def owe(tx: Connection, read: Callable[[], None]) -> None:
    """Note that the server owes `tx` an answer (a COPY ended without waiting for it, so the
    server stores the rows while the caller goes on), and that `read` reads it. The next
    statement on `tx`, through `Statement` or SQLAlchemy, reads it first (`settle`); the caller
    settles before it commits."""
    assert _OWED not in tx.info, "one answer owed at a time"
    tx.info[_OWED] = read


def settle(tx: Tx) -> None:
    """Read the answer the server owes this connection, if any (`owe`): raises what it refused."""
    if isinstance(tx, sqlite3.Connection):
        return
    read = tx.info.pop(_OWED, None)
    if read is not None:
        read()


def settle_before_statements(connection: Connection, *_args: Any) -> None:
    """SQLAlchemy's `before_cursor_execute`: a statement run straight through SQLAlchemy reads
    an owed answer first too (libpq takes no statement while one is outstanding)."""
    settle(connection)


class Rows(Protocol):
    """What a statement's result offers on both kinds of connection."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Sequence[Any]: ...


def sqlite_driver(connection: Connection) -> sqlite3.Connection | None:
    """A SQLAlchemy connection's own sqlite3 connection, when it is on SQLite (None on another
    database). The same connection, inside the same transaction (SQLAlchemy's BEGIN IMMEDIATE
    went to it): a statement run there directly cost about 6 us against 40 through SQLAlchemy's
    execution context, and a receiver runs one per event."""
    if connection.dialect.name != "sqlite":
        return None
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def insert_for(dialect: str, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT (both dialects spell it the same way, from different modules)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no store on {dialect!r}: sqlite or postgresql")


class _Compiled:
    """A statement as one driver runs it: its SQL, and how named params become the driver's."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self.names: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positional \
            and compiled.positiontup is not None else None
        """The names of the positional parameters in order (None: the driver takes them by name)."""
        self.literals = {name: value for name, value in compiled.params.items() if value is not None}
        """The values of the literals the definition holds (`x + 1`)."""
        # A type that converts its values on the way in (none of ours does) needs SQLAlchemy's execute.
        self.plain = not compiled._bind_processors and not compiled.has_out_parameters \
            and not getattr(compiled, "_render_postcompile", False)

    def params(self, given: Mapping[str, Any]) -> Any:
        values = {**self.literals, **given}
        return values if self.names is None else tuple(values[name] for name in self.names)


class Statement:
    """A query defined once (`build(dialect)` returns it as Core), run on any `Tx` with named params."""

    def __init__(self, build: Callable[[str], Executable]) -> None:
        self._build = build
        self._core: dict[str, Executable] = {}
        self._sqlite: tuple[str, tuple[str, ...], dict[str, Any]] | None = None
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def core(self, dialect: str) -> Executable:
        if dialect not in self._core:
            self._core[dialect] = self._build(dialect)
        return self._core[dialect]

    def sqlite_text(self) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """The SQL for a raw sqlite3 connection, the names of its `?` parameters in order, and the
        values of the literals the definition holds (`x + 1`); compiled once."""
        if self._sqlite is None:
            statement = self.core("sqlite")
            assert isinstance(statement, ClauseElement)
            compiled = statement.compile(dialect=sqlite.dialect(paramstyle="qmark"))
            assert isinstance(compiled, SQLCompiler)
            literals = {name: value for name, value in compiled.params.items() if value is not None}
            self._sqlite = (compiled.string, tuple(compiled.positiontup or ()), literals)
        return self._sqlite

    def run(self, tx: Tx, params: Mapping[str, Any] | None = None) -> Rows:
        params = params or {}
        if not isinstance(tx, sqlite3.Connection):
            settle(tx)
            tx = sqlite_driver(tx) or tx
        if isinstance(tx, sqlite3.Connection):
            sql, names, literals = self.sqlite_text()
            given = {**literals, **params}
            return tx.execute(sql, tuple(given[name] for name in names))
        compiled = self._compiled_for(tx.dialect)
        if not compiled.plain:
            return tx.execute(self.core(tx.dialect.name), dict(params))
        return tx.exec_driver_sql(compiled.sql, compiled.params(params))

    def ask(self, tx: Tx, params: Mapping[str, Any] | None = None) -> Rows:
        """A read whose rows may be fetched only after the `pipelined` block it is sent in ends:
        on PostgreSQL it runs on a psycopg cursor of the transaction's own connection (SQLAlchemy
        closes the result of a read it cannot see yet); elsewhere, as `run`."""
        if isinstance(tx, sqlite3.Connection) or tx.dialect.name != "postgresql":
            return self.run(tx, params)
        settle(tx)
        compiled = self._compiled_for(tx.dialect)
        assert compiled.plain, "a read sent in a pipeline has no type that converts its values"
        cursor = tx.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(compiled.sql, compiled.params(params or {}))
        return _Fetched(cursor)

    def run_many(self, tx: Tx, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per row of parameters, as one driver call (`executemany`; on
        PostgreSQL psycopg pipelines them: one round trip for the lot, not one per row)."""
        if not rows:
            return
        if not isinstance(tx, sqlite3.Connection):
            settle(tx)
            tx = sqlite_driver(tx) or tx
        if isinstance(tx, sqlite3.Connection):
            sql, names, literals = self.sqlite_text()
            tx.executemany(sql, [tuple({**literals, **row}[name] for name in names) for row in rows])
            return
        compiled = self._compiled_for(tx.dialect)
        if not compiled.plain:
            tx.execute(self.core(tx.dialect.name), [dict(row) for row in rows])
            return
        tx.exec_driver_sql(compiled.sql, [compiled.params(row) for row in rows])

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        if key not in self._compiled:
            self._compiled[key] = _Compiled(self.core(dialect.name), dialect)
        return self._compiled[key]


class _Fetched:
    """A psycopg cursor's rows, read once (after its pipeline ended), then the cursor closed."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def fetchone(self) -> Any:
        rows = self.fetchall()
        return rows[0] if rows else None

    def fetchall(self) -> Sequence[Any]:
        try:
            return list(self._cursor.fetchall())
        finally:
            self._cursor.close()


def pipelined(tx: Tx) -> AbstractContextManager[Any]:
    """On PostgreSQL, the statements run inside this block go to the server together (a psycopg
    pipeline: one round trip for all of them, and the transaction's BEGIN with the first); on
    SQLite, which has no round trips to save, nothing. Only for statements whose results are
    not read inside the block: SQLAlchemy closes the result of a read it cannot see yet (a read
    sent with `Statement.ask` is read after the block)."""
    if isinstance(tx, sqlite3.Connection) or tx.dialect.name != "postgresql":
        return nullcontext()
    settle(tx)
    driver: Any = tx.connection.driver_connection  # a psycopg 3 connection
    return cast(AbstractContextManager[Any], driver.pipeline())


def begin_in_pipeline(tx: Tx) -> None:
    """The first statement of a `pipelined` block that opens the transaction itself, on a
    PostgreSQL connection whose driver was put in autocommit mode for it (psycopg then sends
    no BEGIN of its own, with the round trip it waits for). Nothing elsewhere: SQLite's
    transaction is already open."""
    if isinstance(tx, sqlite3.Connection) or tx.dialect.name != "postgresql":
        return
    tx.exec_driver_sql("BEGIN")


class SetWrite(Statement):
    """A write of many rows at once: on PostgreSQL one statement for all of them (`per_set`,
    which reads the rows from one JSON array, `json_rows`), elsewhere the per-row form once per
    row (`executemany`).

    Why: psycopg pipelines an `executemany`, so a batch's rows cost one round trip, but still
    one Bind and Execute each, and adapting each row's parameters cost the client about as much
    as the server's work (a batch's 75 segments and 25 ratings were most of a PostgreSQL
    ingest's batch end, `bench.store_ingest --projections`). One JSON text is one parameter,
    made by the json module's C encoder, and the server runs one statement. SQLite has no round
    trips to save, and its `executemany` is a loop in C: it keeps the per-row form.

    `per_set` must do to the rows what `per_row` does to each in turn: with ON CONFLICT DO
    UPDATE, PostgreSQL refuses a statement that meets one key twice, so the rows' keys must
    differ (the callers' rows are one per key)."""

    def __init__(self, per_row: Callable[[str], Executable], per_set: Callable[[str], Executable]) -> None:
        super().__init__(per_row)
        self._per_set = Statement(per_set)

    def run_many(self, tx: Tx, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if isinstance(tx, sqlite3.Connection) or tx.dialect.name != "postgresql":
            super().run_many(tx, rows)
            return
        self._per_set.run(tx, {"rows": _ROWS.encode([dict(row) for row in rows])})


_ROWS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def json_rows(columns: Sequence[Column[Any]], name: str = "given") -> Any:
    """The rows of a `SetWrite` on PostgreSQL as a table: `json_to_recordset` of the one JSON
    parameter `rows`, each object's keys read as these columns (names and types)."""
    rows = func.json_to_recordset(sql_cast(bindparam("rows", type_=Text), postgresql.JSON))
    return rows.table_valued(*(column(c.name, c.type) for c in columns)).render_derived(
        name=name, with_types=True)
