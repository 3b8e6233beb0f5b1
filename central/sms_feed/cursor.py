"""How far the SMS feed has told each log, kept in central's event store (SQLite or PostgreSQL:
its statements are written once, `spine.statement`; on PostgreSQL the table is migration 0003's)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, bindparam, select

from central.projection import run_script
from central.store import CentralStore
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


def _moved(dialect: str) -> Any:
    insert = insert_for(dialect, SMS_FEED_CURSOR).values(
        source=bindparam("source"), position=bindparam("position"), updated_at=bindparam("updated_at"))
    return insert.on_conflict_do_update(index_elements=["source"], set_={
        "position": insert.excluded.position, "updated_at": insert.excluded.updated_at})


_MOVED = Statement(_moved)
_POSITION = Statement(lambda _dialect: select(SMS_FEED_CURSOR.c.position).where(
    SMS_FEED_CURSOR.c.source == bindparam("source")))


class FeedCursors:
    def __init__(self, store: CentralStore) -> None:
        self.store = store
        if store.url.is_sqlite:  # on PostgreSQL the table is the migrations'
            with store.transaction() as tx:
                run_script(tx, SCHEMA)

    def get(self, source: str) -> int | None:
        rows = self.store.read(lambda tx: _POSITION.run(tx, {"source": source}).fetchall())
        return int(rows[0][0]) if rows else None

    def set(self, source: str, position: int, now_ms: int) -> None:
        with self.store.statements() as tx:
            _MOVED.run(tx, {"source": source, "position": position, "updated_at": now_ms})
