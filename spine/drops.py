"""What an outbox could not keep: counted by reason and event type, durable, reported exactly once.

Counts live in the `outbox_drops` table beside the outbox. A drop on a full disk
cannot always be written at once, so it is counted in memory first and written
with the next transaction the disk takes (every write of the outbox carries the
pending counts, and the agent retries on its own): durable as soon as anything
is. A `device.dropped` report marks its counts reported in the very transaction
that stores it, so a report is never lost and never made twice.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter

from spine.database import Database
from spine.disk import is_disk_full

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_drops (
    reason TEXT NOT NULL,
    type TEXT NOT NULL,
    dropped INTEGER NOT NULL DEFAULT 0,
    reported INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (reason, type)
);
"""

DropCounts = dict[str, dict[str, int]]
"""reason -> event type -> events."""

Key = tuple[str, str]


class DropLedger:
    """The drop counts of one outbox: in its Database, and in memory until the disk takes them."""

    def __init__(self, database: Database) -> None:
        self._database = database
        database.ensure_schema(SCHEMA)
        self._pending: Counter[Key] = Counter()  # counted, not yet committed to the table
        self._writing: Counter[Key] = Counter()  # written in the open transaction, not yet committed

    def count_in(self, tx: sqlite3.Connection, reason: str, type: str) -> None:
        """One event dropped inside a transaction (a row deleted over the cap, an event refused):
        counted if and only if that transaction commits."""
        tx.execute(
            "INSERT INTO outbox_drops (reason, type, dropped) VALUES (?, ?, 1) "
            "ON CONFLICT (reason, type) DO UPDATE SET dropped = dropped + 1",
            (reason, type),
        )

    def count(self, reason: str, type: str) -> None:
        """One event dropped where no transaction could hold it (a full disk): counted in memory,
        written with the next transaction that commits."""
        with self._database.lock:
            self._pending[(reason, type)] += 1

    def write_pending(self, tx: sqlite3.Connection) -> None:
        """Inside a transaction of the outbox's Database: add the pending counts to the table
        (once per transaction; they leave memory only when it commits)."""
        with self._database.lock:
            unwritten = self._pending - self._writing
            if not unwritten:
                return
            if not self._writing:
                self._database.after_commit(self._committed)
                self._database.after_rollback(self._writing.clear)
            for (reason, type), n in unwritten.items():
                tx.execute(
                    "INSERT INTO outbox_drops (reason, type, dropped) VALUES (?, ?, ?) "
                    "ON CONFLICT (reason, type) DO UPDATE SET dropped = dropped + excluded.dropped",
                    (reason, type, n),
                )
            self._writing.update(unwritten)

    def _committed(self) -> None:
        self._pending -= self._writing
        self._writing.clear()

    def settled(self) -> bool:
        """True when no count waits in memory for the disk."""
        with self._database.lock:
            return not self._pending

    def flush(self) -> bool:
        """Write the pending counts in a transaction of their own; False when the disk is full."""
        with self._database.lock:
            if not self._pending:
                return True
            try:
                with self._database.transaction() as tx:
                    self.write_pending(tx)
            except sqlite3.OperationalError as exc:
                if not is_disk_full(exc):
                    raise
                return False
            return True

    def settle(self, tx: sqlite3.Connection, counts: DropCounts) -> None:
        """Inside the transaction that stores the report of `counts`: mark them reported."""
        self.write_pending(tx)
        for reason, by_type in counts.items():
            for type, n in by_type.items():
                tx.execute(
                    "UPDATE outbox_drops SET reported = reported + ? WHERE reason = ? AND type = ?",
                    (n, reason, type),
                )

    def totals(self) -> DropCounts:
        """Every drop since the outbox was made."""
        return self._read("SELECT reason, type, dropped FROM outbox_drops")

    def unreported(self) -> DropCounts:
        """Drops no `device.dropped` has reported yet."""
        return self._read(
            "SELECT reason, type, dropped - reported FROM outbox_drops WHERE dropped > reported"
        )

    def _read(self, sql: str) -> DropCounts:
        with self._database.lock:
            counts: Counter[Key] = Counter(
                {(reason, type): n for reason, type, n in self._database.query(sql)}
            )
            counts.update(self._pending - self._writing)
        by_reason: DropCounts = {}
        for (reason, type), n in sorted(counts.items()):
            if n > 0:
                by_reason.setdefault(reason, {})[type] = n
        return by_reason
