"""How far the SMS feed has told each log, kept in central's event store."""

from __future__ import annotations

from central.projection import run_script
from central.store import CentralStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_feed_cursor (
    source TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"""


class FeedCursors:
    def __init__(self, store: CentralStore) -> None:
        self.store = store
        with store.transaction() as tx:
            run_script(tx, SCHEMA)

    def get(self, source: str) -> int | None:
        rows = self.store.query("SELECT position FROM sms_feed_cursor WHERE source = ?", (source,))
        return int(rows[0][0]) if rows else None

    def set(self, source: str, position: int, now_ms: int) -> None:
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO sms_feed_cursor (source, position, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET position = excluded.position, "
                "updated_at = excluded.updated_at", (source, position, now_ms))
