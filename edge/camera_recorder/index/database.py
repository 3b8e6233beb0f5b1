"""The index's one SQLite connection and its one lock, shared by every part of the index.

Recording threads, retention and the command handlers all write the same
file; one connection behind one re-entrant lock keeps their statements from
interleaving, and a part that calls another inside its transaction joins that
transaction, so "delete the segment, record the gap, queue the unlink" stays
one commit however many parts it spans.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.camera_recorder.index.schema import SCHEMA, SCHEMA_VERSION, needs_upgrade, upgrade
from spine.sqlite import Transaction, open_database

Row = tuple[Any, ...]


class IndexDatabase:
    """The open index file: reads, single-statement writes, and transactions, all under the lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection = open_database(self.path, page_size=4096)
        self._lock = threading.RLock()
        self._depth = 0  # transactions open on the lock holder's thread
        with self._lock:
            self._connection.executescript(SCHEMA)
            self._connection.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT DO NOTHING",
                (SCHEMA_VERSION,),
            )
            if needs_upgrade(self._connection):
                with self.transaction():
                    upgrade(self._connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One durable transaction; opened inside another, it joins the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with Transaction(self._connection):
                    yield
            finally:
                self._depth = 0

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._connection.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return self._connection.execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """A write: durable on its own, or part of the transaction that is open."""
        with self._lock:
            return self._connection.execute(sql, params)

    def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._lock:
            self._connection.executemany(sql, rows)

    def raw_connection(self) -> sqlite3.Connection:
        """The connection itself, past the lock: for bulk loads (the benchmark) and for
        tests that must corrupt the index on purpose."""
        return self._connection


class Meta:
    """Small named values kept across restarts: when the recorder was last alive, cursors."""

    def __init__(self, database: IndexDatabase) -> None:
        self._db = database

    def get(self, key: str) -> str | None:
        row = self._db.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        self._db.run(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
