"""The supervision office's own SQLite file (`<data_dir>/supervision.sqlite`): anomalies and projects.

Their records are derived from the halls' events and the case log, but kept
apart from both: a cursor over each of those files commits here with what it
produced, so a crash never judges a fact twice, and the case store and the
event store keep one writer each. One connection, one lock: the engine's tick
and the API's threads take turns.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from central.personal import vault
from central.projection import run_script
from spine.sqlite import Transaction, open_database


class SupervisionStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self._db = open_database(path) if self.path is not None else _memory()
        self._lock = threading.RLock()
        with self.transaction() as tx:
            vault.install(tx)

    @classmethod
    def in_memory(cls) -> SupervisionStore:
        """A throwaway file: a back-test's state, never anyone's records."""
        return cls(":memory:")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable write transaction; a nested call joins the open one."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            with Transaction(self._db) as tx:
                yield tx

    def ensure(self, script: str) -> None:
        """Create an owner's tables (CREATE ... IF NOT EXISTS)."""
        with self.transaction() as tx:
            run_script(tx, script)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _memory() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
