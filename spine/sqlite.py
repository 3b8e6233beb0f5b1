"""Opening SQLite files the way every hallwatch store needs them: WAL, durable commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Generic, TypeVar

C = TypeVar("C")
"""A connection of either kind: a raw sqlite3 one, or a SQLAlchemy one."""


def open_database(path: str | Path, *, page_size: int | None = None) -> sqlite3.Connection:
    """Open (creating if needed) a SQLite file in WAL mode with full durability.

    `synchronous=FULL` makes every commit survive a power cut: a receiver
    acknowledges only what such a commit holds. The connection is in autocommit
    mode; callers open transactions explicitly with `BEGIN IMMEDIATE`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=30.0
    )
    if page_size is not None and not path.stat().st_size:
        # Only a new, empty file takes a page size; smaller pages mean fewer
        # bytes written per small commit, which an SD card appreciates.
        connection.execute(f"PRAGMA page_size={int(page_size)}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


_OPEN: dict[int, Finishing[Any]] = {}
"""The transaction open on each connection (by id), for `before_commit`."""


class Transaction:
    """`with Transaction(conn):` runs the block in BEGIN IMMEDIATE ... COMMIT, rolling back on error;
    what `before_commit` registers runs just before the COMMIT (a `Finishing` of its own)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self._finishing: Finishing[sqlite3.Connection] | None = None

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        self._finishing = Finishing(self.connection)
        return self._finishing.__enter__()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._finishing is not None
        if exc_type is None:
            try:
                self._finishing.__exit__(None, None, None)
                self.connection.execute("COMMIT")
            except BaseException:
                # A full disk can refuse the COMMIT itself and leave the transaction open:
                # close it, or every later BEGIN on this connection fails.
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise
        else:
            self._finishing.__exit__(exc_type, exc, tb)  # runs nothing, forgets what was registered
            if self.connection.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL)
                self.connection.execute("ROLLBACK")


class Finishing(Generic[C]):
    """`with Finishing(conn):` inside a transaction opened by someone else (SQLAlchemy's, on the
    same raw connection, or a SQLAlchemy connection's own on PostgreSQL): what `before_commit`
    registers runs when the block ends without error, still inside that transaction, before its
    owner commits."""

    def __init__(self, connection: C) -> None:
        self.connection = connection
        self._finishing: dict[Hashable, Callable[[], None]] = {}

    def __enter__(self) -> C:
        _OPEN[id(self.connection)] = self
        return self.connection

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                for action in list(self._finishing.values()):
                    action()
        finally:
            _OPEN.pop(id(self.connection), None)


def before_commit(connection: object, key: Hashable, action: Callable[[], None]) -> None:
    """Inside a `Transaction` on `connection`: run `action` once, after everything else the
    transaction does and just before it commits; a later call with the same `key` replaces it.
    What is true once per transaction (how far a projection got) is written once, not per row."""
    try:
        transaction = _OPEN[id(connection)]
    except KeyError:
        raise RuntimeError("before_commit needs a transaction opened with spine.sqlite.Transaction "
                           "(or, inside someone else's, a spine.sqlite.Finishing)") from None
    transaction._finishing[key] = action


def append_only(table: str, what: str) -> str:
    """Triggers that refuse every UPDATE and DELETE on `table`: a record once written stays as
    written (a correction is a new record). `what` names the table in the refusal."""
    return "".join(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table}\n"
        f"    BEGIN SELECT RAISE(ABORT, '{what} is append-only'); END;\n"
        for verb in ("UPDATE", "DELETE")
    )
