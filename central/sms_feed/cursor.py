"""How far the SMS feed has told each log, kept in central's event store (SQLite or PostgreSQL:
its statements are written once, `spine.statement`; on PostgreSQL the table is migration 0003's).

Several central processes may run the feed over one PostgreSQL (queuing into the SMS outbox
they share there). Reading a log after its cursor, queuing what was read and moving the cursor on
is therefore one `claim` of the log's cursor: a transaction on a connection of the cursors'
own that first takes `pg_advisory_xact_lock(feed_lock_key(source))` and reads the position
only then. A second process's claim of the same log waits for the first one's commit and
reads the moved cursor, so each fact is taken by one process. On a SQLite file (one central
process) a claim is the plain read and write it always was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, Table, Text, bindparam, func, select

from central.projection import run_script
from central.store import CentralStore
from spine.engines import open_engine
from spine.statement import Statement, insert_for

SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_feed_cursor (
    source TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"""
CURSOR_TABLES = MetaData()
SMS_FEED_CURSOR = Table(
    "sms_feed_cursor", CURSOR_TABLES,
    Column("source", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core."""
LOCK_NAMESPACE = "hallwatch central sms feed:"
"""Hashed before the log's name, so a feed's key never meets a hall's or a ledger's."""


def _moved(dialect: str) -> Any:
    insert = insert_for(dialect, SMS_FEED_CURSOR).values(
        source=bindparam("source"), position=bindparam("position"), updated_at=bindparam("updated_at"))
    return insert.on_conflict_do_update(index_elements=["source"], set_={
        "position": insert.excluded.position, "updated_at": insert.excluded.updated_at})


_MOVED = Statement(_moved)
_POSITION = Statement(lambda _dialect: select(SMS_FEED_CURSOR.c.position).where(
    SMS_FEED_CURSOR.c.source == bindparam("source")))
_HOLD = Statement(lambda _dialect: select(func.pg_advisory_xact_lock(bindparam("key"))))


def feed_lock_key(source: str) -> int:
    """The advisory-lock key of one log's feed: the first 8 bytes of SHA-256 of
    `LOCK_NAMESPACE + source` (UTF-8), big-endian, signed 64-bit; the same in every process and
    release (as `central.hall_lock`'s)."""
    digest = hashlib.sha256((LOCK_NAMESPACE + source).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class FeedClaim:
    """One log's cursor, held by this process until the claim ends: where it stands (None: the
    feed never ran), and `move`, which takes effect when the claim ends without an error."""

    def __init__(self, position: int | None, move: Callable[[int, int], None]) -> None:
        self.position = position
        self._move = move

    def move(self, position: int, now_ms: int) -> None:
        self._move(position, now_ms)
        self.position = position


class FeedCursors:
    def __init__(self, store: CentralStore) -> None:
        self.store = store
        self._claims: Engine | None = None
        if store.url.is_sqlite:  # on PostgreSQL the table is the migrations'
            with store.transaction() as tx:
                run_script(tx, SCHEMA)
        else:
            # Connections of their own: a claim stays open while the log is read and its facts
            # queued, which must not hold the store's one connection (its reads are the log's).
            self._claims = open_engine(store.url)

    def get(self, source: str) -> int | None:
        rows = self.store.read(lambda tx: _POSITION.run(tx, {"source": source}).fetchall())
        return int(rows[0][0]) if rows else None

    def set(self, source: str, position: int, now_ms: int) -> None:
        with self.store.statements() as tx:
            _MOVED.run(tx, {"source": source, "position": position, "updated_at": now_ms})

    @contextmanager
    def claim(self, source: str) -> Iterator[FeedClaim]:
        """Hold one log's cursor: on PostgreSQL, wait for any other process's claim of it to end,
        then read it; a `move` commits as the claim ends, and is rolled back if it ends in an
        error (or the process dies: the server frees the lock with its connection)."""
        if self._claims is None:
            yield FeedClaim(self.get(source), lambda position, now: self.set(source, position, now))
            return
        with self._claims.begin() as sql:
            _HOLD.run(sql, {"key": feed_lock_key(source)})
            rows = _POSITION.run(sql, {"source": source}).fetchall()
            yield FeedClaim(int(rows[0][0]) if rows else None, _mover(sql, source))

    def close(self) -> None:
        """Close the claims' connections (a later claim opens one again)."""
        if self._claims is not None:
            self._claims.dispose()


def _mover(sql: Connection, source: str) -> Callable[[int, int], None]:
    def move(position: int, now_ms: int) -> None:
        _MOVED.run(sql, {"source": source, "position": position, "updated_at": now_ms})
    return move
