"""One SQL statement for every store: written once in SQLAlchemy Core, run on either dialect.

Central's event store reaches SQLite or PostgreSQL through a SQLAlchemy connection;
the gateway, and central's parts still on SQLite, hold a raw `sqlite3` connection.
A `Statement` is built per dialect from one definition (only an upsert's spelling
differs between them) and runs on both kinds of connection: on a SQLAlchemy
connection as Core, on a raw sqlite3 connection as SQL compiled once for SQLite.
So each query of the event log, the dead letters and the streams exists once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import ClauseElement, Connection, Executable, Table
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


def insert_for(dialect: str, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT (both dialects spell it the same way, from different modules)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no store on {dialect!r}: sqlite or postgresql")


class Statement:
    """A query defined once (`build(dialect)` returns it as Core), run on any `Tx` with named params."""

    def __init__(self, build: Callable[[str], Executable]) -> None:
        self._build = build
        self._core: dict[str, Executable] = {}
        self._sqlite: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

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
        if isinstance(tx, sqlite3.Connection):
            sql, names, literals = self.sqlite_text()
            given = {**literals, **params}
            return tx.execute(sql, tuple(given[name] for name in names))
        return tx.execute(self.core(tx.dialect.name), dict(params))
