"""The supervision office's reads of the case store, on either database.

The case store is its own SQLite file beside a SQLite event store, or central's
PostgreSQL database (`central.cases.database.case_store_at`). The office reads it
through a connection of its own (`CaseReads`): read-only on the file (WAL: the
engine never waits for the rules), an autocommit one on PostgreSQL. Its statements
are written once (`spine.statement`) over the case store's tables
(`central.cases.tables`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, literal_column, select

from central.cases.database import Liveness, open_case_database
from central.cases.tables import CASE_EVENTS, CASE_SOURCES, CASES
from central.projects.desk import CaseRows, MemberCase
from spine.statement import Statement, Tx
from spine.storeurl import StoreUrl

T = TypeVar("T")

_IDS = json.JSONEncoder(separators=(",", ":"))
_CHUNK = 500


class CaseReads:
    """The case store, read: each `read` in one transaction (one snapshot of a SQLite file).

    On PostgreSQL the connection lives as long as the process, so it is checked before each read
    as the case store's own is (`central.cases.database.Liveness`): after a server restart, a
    failover or a terminated backend, the read that meets the outage fails alone (the board or
    the watch logs it and tries again at its next pass) and the next one runs on a new
    connection; one idle for a while is pinged first, so that read succeeds already."""

    def __init__(self, tx: Tx, close: Callable[[], None], liveness: Liveness | None = None) -> None:
        self.tx = tx
        self._close = close
        self.liveness = liveness
        self._lock = threading.Lock()  # the engine's tick and the API's threads share the connection

    @classmethod
    def open(cls, where: Path | StoreUrl) -> CaseReads:
        url = where if isinstance(where, StoreUrl) else StoreUrl.sqlite_file(where)
        if url.is_sqlite:
            assert url.path is not None
            connection = sqlite3.connect(f"file:{url.path}?mode=ro", uri=True, check_same_thread=False,
                                         timeout=30, isolation_level=None)
            return cls(connection, connection.close)
        database = open_case_database(url)
        return cls(database.tx, database.close, database.liveness)

    def read(self, reader: Callable[[Tx], T], *, one_statement: bool = False) -> T:
        """`reader`'s answer, in one transaction; `one_statement`: a reader that runs one statement,
        which needs none (the connection commits each statement by itself)."""
        with self._lock:
            if self.liveness is not None:
                self.liveness.check()
            if one_statement:
                return reader(self.tx)
            if isinstance(self.tx, sqlite3.Connection):
                self.tx.execute("BEGIN")
                try:
                    return reader(self.tx)
                finally:
                    self.tx.execute("COMMIT")
            self.tx.exec_driver_sql("BEGIN")
            try:
                answer = reader(self.tx)
            except BaseException:
                if self.tx.invalidated:
                    self.tx.rollback()  # the server went, and the transaction with it
                else:
                    self.tx.exec_driver_sql("ROLLBACK")
                raise
            self.tx.exec_driver_sql("COMMIT")
            return answer

    def close(self) -> None:
        with self._lock:
            self._close()


def missing_table(error: Exception) -> bool:
    """A case store's file that the engine never opened (no tables yet): nothing to read."""
    return isinstance(error, sqlite3.OperationalError) and "no such table" in str(error)


_E, _C = CASE_EVENTS.c, CASES.c

NEWEST_STEP = Statement(lambda _dialect: select(func.max(_E.seq)))
"""The case log's newest position: settled (one writer at a time appends, in order)."""

CASE_HISTORY = Statement(lambda _dialect: select(
    _E.seq, _E.case_id, _E.kind, _E.at, _E.recorded_at, _E.actor, _E.body, _E.prev_hash, _E.hash
).where(_E.case_id == bindparam("case_id"), _E.seq <= bindparam("upto")).order_by(_E.seq))
"""One case's log records up to a position, in order."""

SOURCE_WATERMARKS = Statement(lambda _dialect: select(CASE_SOURCES.c.source, CASE_SOURCES.c.watermark))

_MEMBERS = Statement(lambda dialect: select(
    _C.case_id, _C.hall, _C.unit, _C.matter, _C.officer, _C.stage, _C.due_day, _C.accepted_at,
    _C.completed_at, _C.confirmed_at).where(
    # The ids as one JSON array on SQLite (json_each), one array on PostgreSQL (= ANY).
    _C.case_id.in_(select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
                   .scalar_subquery())
    if dialect == "sqlite" else _C.case_id == func.any(bindparam("ids"))))


def member_cases(cases: CaseReads) -> CaseRows:
    """Member cases of the major projects from the `cases` table, as its last tick left them."""

    def rows(case_ids: list[str]) -> list[MemberCase]:
        found: list[MemberCase] = []
        for start in range(0, len(case_ids), _CHUNK):
            chunk = case_ids[start:start + _CHUNK]
            found += [MemberCase(*row) for row in cases.read(partial(_members, chunk))]
        return found

    return rows


def _members(case_ids: list[str], tx: Tx) -> Sequence[Any]:
    ids: Any = _IDS.encode(case_ids) if isinstance(tx, sqlite3.Connection) else case_ids
    return _MEMBERS.run(tx, {"ids": ids}).fetchall()


def rows_of(cases: CaseReads | None, statement: Statement, params: dict[str, Any] | None = None
            ) -> Sequence[Any]:
    """A statement's rows from the case store (none without one, or from a file the engine never opened)."""
    if cases is None:
        return []
    try:
        return cases.read(lambda tx: statement.run(tx, params).fetchall())
    except sqlite3.OperationalError as error:
        if missing_table(error):
            return []
        raise
