"""A node's SQLite file: one connection, one lock, explicit write transactions.

A process that keeps its state in one file (the gateway: its event log, the
outbox to central, the queue, the ratings, the registry) opens it once, here,
and every part of it works inside the same transactions: a handler's rows, the
event that caused them and the outbox row that forwards it commit together, or
not at all. Parts that must act once a commit holds (the outbox counting what
it may now send) register `after_commit` inside the transaction.

A receiver under load may `group()` several transactions into one commit (one
fsync for every batch waiting): inside a group each transaction is a savepoint
that rolls back alone, and its after-commit actions wait for the group's commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from spine.sqlite import Transaction, open_database

T = TypeVar("T")


class Database:
    """The SQLite file of one node, shared by the parts that live in it."""

    def __init__(self, path: str | Path, *, page_size: int | None = None) -> None:
        self.path = Path(path)
        self._connection = open_database(self.path, page_size=page_size)
        # Re-entrant: a part holding the lock across a read and a write may open the transaction.
        self._lock = threading.RLock()
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []
        self._group: _Group | None = None

    @property
    def lock(self) -> threading.RLock:
        """Held by every statement on the connection; a co-tenant may hold it across several."""
        return self._lock

    @property
    def connection(self) -> sqlite3.Connection:
        """The one connection, for a co-tenant's statements made while it holds `lock`."""
        return self._connection

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on an exception).

        `durable=False` skips the fsync of this commit: for a change that may be lost in a
        power cut without harm (forgetting what the next hop acknowledged: it is sent again
        and dropped there as a duplicate). The WAL keeps commits in order, so the next
        durable commit makes it durable too, and nothing committed later survives without it.
        """
        with self._lock:
            if self._group is not None:
                with self._savepoint(self._group) as tx:
                    yield tx
                return
            self._after_commit, self._after_rollback = [], []
            if not durable:
                self._connection.execute("PRAGMA synchronous=NORMAL")
            try:
                with Transaction(self._connection):
                    yield self._connection
            except BaseException:
                callbacks, self._after_commit, self._after_rollback = self._after_rollback, [], []
                for callback in callbacks:
                    callback()
                raise
            finally:
                if not durable:
                    self._connection.execute("PRAGMA synchronous=FULL")
            callbacks, self._after_commit, self._after_rollback = self._after_commit, [], []
            for callback in callbacks:
                callback()

    @contextmanager
    def group(self) -> Iterator[None]:
        """One commit for every transaction this thread opens inside: each is a savepoint that
        rolls back alone on an exception, and what it would do after its commit waits for the
        group's. Other threads wait for the group to end. The group itself rolls back (and
        raises) only when its commit fails."""
        with self._lock:
            if self._group is not None:
                raise RuntimeError("a group is already open on this database")
            group = self._group = _Group()
            try:
                with Transaction(self._connection):
                    yield
            except BaseException:
                for callback in group.after_rollback:
                    callback()
                raise
            finally:
                self._group = None
            for callback in group.after_commit:
                callback()

    @contextmanager
    def _savepoint(self, group: _Group) -> Iterator[sqlite3.Connection]:
        name = f"part{group.parts}"
        group.parts += 1
        self._after_commit, self._after_rollback = [], []
        self._connection.execute(f"SAVEPOINT {name}")
        try:
            yield self._connection
        except BaseException:
            self._connection.execute(f"ROLLBACK TO {name}")
            self._connection.execute(f"RELEASE {name}")
            callbacks, self._after_commit, self._after_rollback = self._after_rollback, [], []
            for callback in callbacks:
                callback()
            raise
        self._connection.execute(f"RELEASE {name}")
        group.after_commit += self._after_commit
        group.after_rollback += self._after_rollback
        self._after_commit, self._after_rollback = [], []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Inside `transaction()`: run `callback` once that transaction has committed (never
        if it rolls back), still holding the lock."""
        self._after_commit.append(callback)

    def after_rollback(self, callback: Callable[[], None]) -> None:
        """Inside `transaction()`: run `callback` if that transaction rolls back (a full disk
        refusing the commit), still holding the lock."""
        self._after_rollback.append(callback)

    def ensure_schema(self, script: str) -> None:
        """Create a part's tables (idempotent `CREATE ... IF NOT EXISTS` statements)."""
        with self._lock:
            self._connection.executescript(script)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """A read; it waits for a transaction in progress in this process to commit."""
        with self._lock:
            return self._connection.execute(sql, tuple(params)).fetchall()

    def read(self, reader: Callable[[sqlite3.Connection], T]) -> T:
        """Several reads with no write of this process between them (`reader` gets the
        connection and runs under the lock)."""
        with self._lock:
            return reader(self._connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class _Group:
    """What the transactions of an open group leave for its commit (or its rollback)."""

    def __init__(self) -> None:
        self.parts = 0
        self.after_commit: list[Callable[[], None]] = []
        self.after_rollback: list[Callable[[], None]] = []
