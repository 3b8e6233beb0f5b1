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

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import ClauseElement, Connection, Dialect, Executable, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler

Tx = sqlite3.Connection | Connection
"""An open transaction: a node's raw SQLite connection, or a SQLAlchemy connection of either dialect."""


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
            tx = sqlite_driver(tx) or tx
        if isinstance(tx, sqlite3.Connection):
            sql, names, literals = self.sqlite_text()
            given = {**literals, **params}
            return tx.execute(sql, tuple(given[name] for name in names))
        compiled = self._compiled_for(tx.dialect)
        if not compiled.plain:
            return tx.execute(self.core(tx.dialect.name), dict(params))
        return tx.exec_driver_sql(compiled.sql, compiled.params(params))

    def run_many(self, tx: Tx, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per row of parameters, as one driver call (`executemany`; on
        PostgreSQL psycopg pipelines them: one round trip for the lot, not one per row)."""
        if not rows:
            return
        if not isinstance(tx, sqlite3.Connection):
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
