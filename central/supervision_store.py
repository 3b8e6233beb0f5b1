"""Where the supervision office keeps its records (anomalies, projects): its own SQLite file, or
central's PostgreSQL database.

Their records are derived from the halls' events and the case log, but kept
apart from both: a cursor over each of those logs commits here with what it
produced, so a crash never judges a fact twice, and the case store and the
event store keep one writer each.

Beside a SQLite event store the office keeps `<data_dir>/supervision.sqlite`, as it
always did (its tables made by their owners as they open, CREATE ... IF NOT EXISTS).
Beside a PostgreSQL event store its tables are in that database (Alembic revision
0010), so every central process answers the office's pages from the same records.
Both are held the same way: one connection in autocommit, on which `transaction`
opens a write transaction itself (BEGIN IMMEDIATE on the file; BEGIN on PostgreSQL,
then the advisory lock the caller names, before anything is read). The owners' statements
are written once (`spine.statement`) and run on either.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, table
from sqlalchemy.exc import SQLAlchemyError

from central import migrations
from central.personal import vault
from central.projection import run_script
from spine.engines import open_engine
from spine.sqlite import Transaction, open_database
from spine.statement import Statement, Tx
from spine.storeurl import StoreUrl

_HOLD = Statement(lambda _dialect: select(func.pg_advisory_xact_lock(bindparam("key"))))


class SupervisionStore:
    """One connection to the office's records, shared by the tick and the API's threads in turns."""

    def __init__(self, where: Path | str | StoreUrl) -> None:
        self.url = where if isinstance(where, StoreUrl) else None
        self.path: Path | None = None
        self._close_engine = lambda: None
        self._depth = 0
        self._lock = threading.RLock()
        if self.url is not None and not self.url.is_sqlite:
            engine = open_engine(self.url)
            sql = engine.connect()
            try:
                migrations.require_current(sql)
                sql = sql.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                sql.close()
                engine.dispose()
                raise
            self._db: Tx = sql
            self._close_engine = engine.dispose
        else:
            path = self.url.path if self.url is not None else where
            assert isinstance(path, (str, Path))
            self.path = Path(path) if str(path) != ":memory:" else None
            self._db = open_database(self.path) if self.path is not None else _memory()
            with self.transaction() as tx:
                vault.install(tx)

    @classmethod
    def in_memory(cls) -> SupervisionStore:
        """A throwaway file: a back-test's state, never anyone's records."""
        return cls(":memory:")

    @property
    def dialect(self) -> str:
        return "sqlite" if isinstance(self._db, sqlite3.Connection) else self._db.dialect.name

    @property
    def on_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def transaction(self, *, holding: Sequence[int] = ()) -> Iterator[Tx]:
        """One durable write transaction; a nested call joins the open one. On PostgreSQL the
        advisory locks `holding` (transaction-scoped, in the order given) are taken first, before
        anything is read, and held until it ends; on SQLite the file's one write lock covers them."""
        with self._lock:
            if self._depth:
                if holding and self.on_postgresql:
                    for key in holding:
                        _HOLD.run(self._db, {"key": key})
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if isinstance(self._db, sqlite3.Connection):
                    with Transaction(self._db) as tx:
                        yield tx
                    return
                yield from _postgresql_transaction(self._db, holding)
            finally:
                self._depth = 0

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """The connection for reads outside a transaction (each statement its own), or inside the
        transaction this thread holds open."""
        with self._lock:
            yield self._db

    def rows(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
        with self._lock:
            return list(statement.run(self._db, params).fetchall())

    def ensure(self, script: str) -> None:
        """Create an owner's tables in a SQLite file (CREATE ... IF NOT EXISTS); on PostgreSQL they
        are the migrations' (revision 0010)."""
        if self.on_postgresql:
            return
        with self.transaction() as tx:
            assert isinstance(tx, sqlite3.Connection)
            run_script(tx, script)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """SQL in the database's own spelling (tests and tools; the office's own reads are statements)."""
        with self._lock:
            if isinstance(self._db, sqlite3.Connection):
                return self._db.execute(sql, params).fetchall()
            return list(self._db.exec_driver_sql(sql, params).fetchall())

    def checkpoint(self) -> None:
        """After an erasure: the deleted keys' old images go too (`vault.forget_old_frames`)."""
        with self._lock:
            if isinstance(self._db, sqlite3.Connection):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:  # the connection is in autocommit: VACUUM runs outside any transaction
                self._db.exec_driver_sql("VACUUM personal_keys, personal_index")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._close_engine()


def supervision_store_at(event_store: StoreUrl, own_file: Path) -> Path | StoreUrl:
    """Where the office keeps its records: its own file (`own_file`) beside a SQLite event store, as
    always; central's PostgreSQL database when the event store is there."""
    return own_file if event_store.is_sqlite else event_store


OWN_RECORDS = ("anomaly_log", "project_log", "anomaly_cursors")
"""What a supervision store holds once it was used: the logs' steps, the watch's positions."""


class SupervisionLeftBehind(RuntimeError):
    """Central would open an empty supervision store on PostgreSQL beside a `supervision.sqlite` that
    holds records: it refuses, rather than show the office without them and judge every fact again."""


def _count(name: str) -> Statement:
    return Statement(lambda _dialect: select(func.count()).select_from(table(name)))


_COUNTS = [_count(name) for name in OWN_RECORDS]


def kept_records(tx: Tx) -> int:
    """Rows of the logs and cursors a supervision store holds (0: never used)."""
    found = 0
    for count in _COUNTS:
        try:
            found += int(count.run(tx).fetchone()[0])
        except sqlite3.OperationalError:  # a file the office never opened: no such table
            continue
    return found


def refuse_supervision_left_behind(own_file: Path, store: SupervisionStore) -> None:
    """Raise `SupervisionLeftBehind` when the office's store on PostgreSQL is empty and the file the
    office kept before (`own_file`) holds records: `hall central anomalies copy-office` copies them."""
    if not own_file.exists():
        return
    with store.reading() as tx:
        if kept_records(tx):
            return
    old = sqlite3.connect(f"file:{own_file}?mode=ro", uri=True)
    try:
        kept = kept_records(old)
    finally:
        old.close()
    if kept:
        raise SupervisionLeftBehind(
            f"{own_file} holds the supervision office's records ({kept} log steps and cursors) and "
            "central's PostgreSQL database has none: copy them there first with "
            f"`hall central anomalies copy-office --config CONFIG` (it verifies both chains after the copy; "
            "docs/operations.md, \"Several central processes\")")


def _postgresql_transaction(sql: Connection, holding: Sequence[int]) -> Iterator[Tx]:
    sql.exec_driver_sql("BEGIN")
    try:
        for key in holding:
            _HOLD.run(sql, {"key": key})
        yield sql
    except BaseException:
        try:
            sql.exec_driver_sql("ROLLBACK")
        except SQLAlchemyError:
            # The connection is gone (the server restarted, or ended it): the server rolled back
            # already; forget it here too, so that the next statement connects afresh.
            sql.rollback()
        raise
    sql.exec_driver_sql("COMMIT")


def _memory() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
