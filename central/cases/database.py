"""Where the case store lives: its own SQLite file, or central's PostgreSQL database.

Both are held the same way: one connection in autocommit, on which the store opens its
write transactions itself (`writing`), as SQLite's stores always did with BEGIN IMMEDIATE.
On SQLite the connection is the raw `sqlite3` one (its statements cost a few microseconds
there, and tests and tools read it directly); on PostgreSQL it is a SQLAlchemy connection
whose driver is in autocommit, so a read outside a write leaves no transaction open.

The case log is one hash chain: it has one head, and every append links to it. SQLite's
BEGIN IMMEDIATE lets one writer at a time in; on PostgreSQL every write transaction first
takes a transaction-scoped advisory lock on one key (`CASE_LOG_LOCK`), then reads the head.
So two central processes writing cases (two engines ticking, an API and an import) append
one after the other, each seeing what the other committed, and the server releases the
lock when a transaction ends, or when the process holding it dies (its connection goes).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, ExceptionContext, bindparam, event, func, select

from central import migrations
from central.cases.tables import CASE_META, CASES
from spine.engines import open_engine
from spine.sqlite import Transaction, open_database
from spine.statement import Statement, Tx
from spine.storeurl import StoreUrl

log = logging.getLogger(__name__)

LOCK_NAMESPACE = "hallwatch central case log"
"""Hashed into the advisory-lock key: not a hall's key (`central.hall_lock` hashes its own
namespace before a hall's id), so the ingest of a hall never waits for the case log."""

_HOLD_LOG = Statement(lambda _dialect: select(func.pg_advisory_xact_lock(bindparam("key"))))


def case_log_lock_key() -> int:
    """The case log's advisory-lock key: the first 8 bytes of SHA-256 of `LOCK_NAMESPACE`,
    big-endian, signed (PostgreSQL's bigint); the same in every process and release."""
    digest = hashlib.sha256(LOCK_NAMESPACE.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


CASE_LOG_LOCK = case_log_lock_key()


def dialect(tx: Tx) -> str:
    return "sqlite" if isinstance(tx, sqlite3.Connection) else tx.dialect.name


def in_transaction(tx: Tx) -> bool:
    if isinstance(tx, sqlite3.Connection):
        return tx.in_transaction
    if tx.invalidated:  # the server went: whatever was open there is gone with it
        return False
    status = tx.connection.driver_connection.info.transaction_status  # type: ignore[union-attr]
    return int(status) != 0  # psycopg's TransactionStatus.IDLE


@contextmanager
def transaction(tx: Tx) -> Iterator[Tx]:
    """One durable write transaction on the store's connection, holding the case log.

    SQLite: BEGIN IMMEDIATE, the file's one writer. PostgreSQL: BEGIN, then the case log's
    advisory lock, before anything is read: what the transaction reads after it (the log's
    head, a case's row, the rows due) is what the last writer committed.
    """
    if isinstance(tx, sqlite3.Connection):
        with Transaction(tx) as connection:
            yield connection
        return
    tx.exec_driver_sql("BEGIN")
    try:
        _HOLD_LOG.run(tx, {"key": CASE_LOG_LOCK})
        yield tx
    except BaseException:
        if tx.invalidated:
            tx.rollback()  # the connection was lost: the server rolled back; the next use reconnects
        else:
            tx.exec_driver_sql("ROLLBACK")
        raise
    tx.exec_driver_sql("COMMIT")


PING_AFTER_IDLE_S = 1.0
"""A connection idle longer than this is pinged before its next statement (one round trip)."""


class Liveness:
    """Keeps the case store's one long-lived PostgreSQL connection usable across a lost server.

    The store holds one connection for its whole life (`open_case_database`), so SQLAlchemy's
    `pool_pre_ping`, which checks a connection as it leaves the pool, never runs again. A server
    restart, a failover or `pg_terminate_backend` would leave it dead, and SQLAlchemy refuses
    every later statement until the dead transaction is rolled back. So the store calls `check`
    as it begins a write transaction or a read (`CaseStore.ready`): a connection that was lost
    is given up and replaced (in autocommit again: a new driver connection starts in a
    transaction by default); one that sat idle longer than `ping_after_s` is pinged first and
    replaced if the ping fails, so that the tick after an outage and the API's first read or
    write succeed. A statement that meets an outage in the middle fails (a write transaction
    rolls back, as the server did) and the next check replaces the connection. The outage is
    logged once, and its end.
    """

    def __init__(self, sql: Connection, *, ping_after_s: float = PING_AFTER_IDLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sql = sql
        self.ping_after_s = ping_after_s
        self.clock = clock
        self.lost = False
        self.reconnects = 0
        self._last_used = clock()
        event.listen(sql.engine, "handle_error", self._failed)

    def check(self) -> None:
        """Before a transaction or a read: a connection that can run the next statement."""
        now = self.clock()
        idle, self._last_used = now - self._last_used, now
        if self.sql.invalidated:
            self._replace()
        elif idle > self.ping_after_s and not in_transaction(self.sql):
            try:
                self.sql.connection.driver_connection.execute("SELECT 1")  # type: ignore[union-attr]
            except Exception as error:  # noqa: BLE001 - whatever the driver raises: the server is gone
                self._lose(error)
                self.sql.invalidate()
                self._replace()

    def _replace(self) -> None:
        self.sql.rollback()  # the transaction SQLAlchemy began on the dead connection
        self.sql.execution_options(isolation_level="AUTOCOMMIT")  # connects (or raises: down still)
        self.reconnects += 1
        if self.lost:
            self.lost = False
            log.warning("the case store is back on PostgreSQL")

    def _failed(self, context: ExceptionContext) -> None:
        if context.is_disconnect:
            self._lose(context.original_exception)

    def _lose(self, error: BaseException) -> None:
        if not self.lost:
            self.lost = True
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            log.warning("the case store lost PostgreSQL (%s): retrying on a new connection at "
                        "its next use", detail)


@dataclass
class CaseDatabase:
    """An open case store's connection, and how to let it go."""

    tx: Tx
    close: Callable[[], None]
    liveness: Liveness | None = None
    """PostgreSQL: what keeps the connection usable after the server was lost."""


def case_store_at(event_store: StoreUrl, own_file: Path) -> StoreUrl:
    """Where central keeps its cases: their own SQLite file (`own_file`) beside a SQLite event
    store, as always; central's PostgreSQL database when the event store is there."""
    return StoreUrl.sqlite_file(own_file) if event_store.is_sqlite else event_store


class CasesLeftBehind(RuntimeError):
    """Central would open an empty case store on PostgreSQL beside a `cases.sqlite` that holds
    cases, or one a move of those cases has not finished filling: it refuses, rather than show
    a board without them."""


MOVING_FROM = "moving_from"
"""The `case_meta` key `hall central move-cases` writes as it begins and deletes as it ends."""

_MOVING = Statement(lambda _dialect: select(CASE_META.c.value).where(
    CASE_META.c.key == MOVING_FROM))
_ANY_CASE = Statement(lambda _dialect: select(CASES.c.case_id).limit(1))


def refuse_to_open(where: StoreUrl, own_file: Path) -> None:
    """Raise `CasesLeftBehind` before central's engine writes anything to the case store in
    PostgreSQL (its first records, the calendar's and the rule table's, would make it a store
    a move can no longer fill): when a move into it has not finished, or when it holds no case
    and `own_file` (the `cases.sqlite` of before) holds some."""
    database = open_case_database(where)
    try:
        moving = _MOVING.run(database.tx).fetchone()
        has_cases = _ANY_CASE.run(database.tx).fetchone() is not None
    finally:
        database.close()
    if moving is not None:
        raise CasesLeftBehind(
            f"a move of cases into this database has not finished ({moving[0]}): run `hall "
            "central move-cases ... --resume` to finish it (docs/operations.md, \"Moving the "
            "cases\")")
    refuse_cases_left_behind(own_file, has_cases)


def refuse_cases_left_behind(own_file: Path, has_cases: bool) -> None:
    """Raise `CasesLeftBehind` when the case store on PostgreSQL holds no case (`has_cases`
    false) and the SQLite file the cases were kept in before (`own_file`) holds some: move them
    there first (`hall central move-cases`)."""
    if has_cases or not own_file.exists():
        return
    old = sqlite3.connect(f"file:{own_file}?mode=ro", uri=True)
    try:
        kept = old.execute("SELECT count(*) FROM cases").fetchone()[0]
    except sqlite3.OperationalError:  # no cases table: nothing was kept there
        return
    finally:
        old.close()
    if kept:
        raise CasesLeftBehind(
            f"{own_file} holds {kept} cases and the case store on PostgreSQL has none: central "
            "keeps its cases in its PostgreSQL database now; move them there first with `hall "
            f"central move-cases --from {own_file} --db URL` (docs/operations.md, \"Moving the "
            "cases\")")


def open_case_database(where: str | Path | StoreUrl) -> CaseDatabase:
    """The store's connection: a SQLite file (a path, or a sqlite URL) or a PostgreSQL database
    at the newest schema (`hall central migrate` makes its tables: revision 0006)."""
    url = where if isinstance(where, StoreUrl) else StoreUrl.sqlite_file(Path(where))
    if url.is_sqlite:
        assert url.path is not None
        connection = open_database(url.path)
        return CaseDatabase(connection, connection.close)
    engine = open_engine(url)
    sql = engine.connect()
    try:
        migrations.require_current(sql)
        sql = sql.execution_options(isolation_level="AUTOCOMMIT")
    except BaseException:
        sql.close()
        engine.dispose()
        raise
    return CaseDatabase(sql, _closer(sql, engine), Liveness(sql))


def _closer(sql: Connection, engine: Engine) -> Callable[[], None]:
    def close() -> None:
        sql.close()
        engine.dispose()
    return close
