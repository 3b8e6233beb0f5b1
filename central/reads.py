"""Reads of central's stores that run a statement written once, from whatever the caller holds.

Many readers at central were handed a `Read` (`CentralStore.query`, a case store's
`read`): a callable that runs SQLite's SQL. A part that moved to statements written
once (`spine.statement`) takes a `Source`: such a `Read`, which it hands the
statement compiled for SQLite, or an open connection of either database (inside
`CentralStore.read`, or a transaction), on which the statement runs as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Executable

from spine.statement import Statement, Tx

Read = Callable[[str, tuple[Any, ...]], list[Any]]
"""A read of a SQLite file in its SQL: `CentralStore.query`, or over a connection in hand."""
Source = Read | Tx
"""Where a statement written once reads: a `Read` of a SQLite file, or a connection of either database."""


def rows(source: Source, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
    """A statement's rows from either kind of source: one definition, whoever reads."""
    if isinstance(source, (sqlite3.Connection, Connection)):
        return list(statement.run(source, params).fetchall())
    sql, names, literals = statement.sqlite_text()
    given = {**literals, **(params or {})}
    return list(source(sql, tuple(given[name] for name in names)))


def built(query: Executable) -> Statement:
    """A statement built for one call (a report's filters, a list of codes): the same definition
    for either database, compiled for the call alone."""
    return Statement(lambda _dialect: query)
