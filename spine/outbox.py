"""The durable outbox: an event is committed here before anything else happens to it.

One table in a SQLite file (WAL, synchronous=FULL): a device's own file, or
the node's `Database` it shares with other parts (the gateway's event log
commits an event and its forward row together). Positions come from
AUTOINCREMENT, so they never repeat even after rows are deleted; an edge agent
uses the position as its per-device sequence number. Rows leave only when the
next hop acknowledges a durable commit of them.

Space policy: above `max_bytes`, the oldest routine telemetry is dropped to
make room (a routine event may be refused itself when nothing older can go);
essential events (tickets, ratings, cases) are kept beyond the cap until the
disk itself is nearly full, and then refused with `OutboxFull`, loudly. Every
drop is counted by reason and type and reported upstream.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spine.config import OutboxSettings
from spine.database import Database

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    essential INTEGER NOT NULL,
    payload TEXT NOT NULL
);
-- Partial: essential rows (tickets, ratings) never touch it, so their commits write fewer pages.
DROP INDEX IF EXISTS outbox_routine;
CREATE INDEX IF NOT EXISTS outbox_routine_only ON outbox (pos) WHERE essential = 0;
CREATE TABLE IF NOT EXISTS outbox_drops (
    reason TEXT NOT NULL,
    type TEXT NOT NULL,
    dropped INTEGER NOT NULL DEFAULT 0,
    reported INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (reason, type)
);
"""

DROP_FOR_SPACE = "outbox_full"


class OutboxFull(Exception):
    """An essential event could not be stored: the disk is (nearly) full. Nothing was recorded."""


@dataclass(frozen=True)
class OutboxRow:
    pos: int
    payload: str


@dataclass(frozen=True)
class PendingEvent:
    """An event to enqueue inside a caller's transaction (the gateway's ingest)."""

    event_id: str
    type: str
    essential: bool
    payload: str


class Outbox:
    def __init__(
        self,
        where: Database | str | Path,
        settings: OutboxSettings,
        *,
        page_size: int | None = 1024,
    ) -> None:
        """An outbox in `where`: a node's shared Database, or the path of a file of its own
        (a device's; `page_size` applies to such a file when it is new)."""
        self._owns_database = not isinstance(where, Database)
        self._database = where if isinstance(where, Database) else Database(where, page_size=page_size)
        self.path = self._database.path
        self.settings = settings
        self._database.ensure_schema(SCHEMA)
        self._db = self._database.connection
        self._lock = self._database.lock
        self._changed = threading.Condition(self._lock)
        ((count, size),) = self._database.query(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM outbox"
        )
        self._count: int = count
        self._bytes: int = size
        rows = self._database.query("SELECT seq FROM sqlite_sequence WHERE name='outbox'")
        self._last_pos: int = rows[0][0] if rows else 0

    @property
    def database(self) -> Database:
        """The file the outbox lives in (to look inside it: diagnostics, tests)."""
        return self._database

    # --- writing ---------------------------------------------------------

    def put(
        self,
        *,
        event_id: str,
        type: str,
        essential: bool,
        make_payload: Callable[[int], str],
    ) -> int:
        """Commit one event and return its position; `make_payload(pos)` builds its text.

        Returns only after the commit is durable. Raises OutboxFull (nothing
        stored) when an essential event meets a full disk; returns 0 when a
        routine event was refused for space (counted).
        """
        with self._lock:
            pos = self._last_pos + 1
            payload = make_payload(pos)
            try:
                with self._database.transaction():
                    if not self._make_room(len(payload), type, essential):
                        return 0
                    self._db.execute(
                        "INSERT INTO outbox (pos, event_id, type, essential, payload) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (pos, event_id, type, int(essential), payload),
                    )
            except sqlite3.OperationalError as exc:
                if "full" in str(exc).lower():
                    raise OutboxFull(
                        f"the disk holding {self.path} is full; free space or enlarge it"
                    ) from exc
                raise
            self._last_pos = pos
            self._count += 1
            self._bytes += len(payload)
            self._changed.notify_all()
            return pos

    def enqueue_in(self, tx: sqlite3.Connection, events: Iterable[PendingEvent]) -> int:
        """Append events inside a transaction of the outbox's Database; the uplink sees
        them once it commits.

        What a receiver forwards was already judged worth keeping upstream, so
        no space policy applies here beyond the disk itself.
        """
        added = 0
        added_bytes = 0
        for event in events:
            tx.execute(
                "INSERT INTO outbox (event_id, type, essential, payload) VALUES (?, ?, ?, ?)",
                (event.event_id, event.type, int(event.essential), event.payload),
            )
            added += 1
            added_bytes += len(event.payload)
        if added:
            self._database.after_commit(lambda: self._grew(added, added_bytes))
        return added

    def _grew(self, added: int, added_bytes: int) -> None:
        self._count += added
        self._bytes += added_bytes
        self._changed.notify_all()

    def _make_room(self, size: int, type: str, essential: bool) -> bool:
        limit = self.settings.max_bytes
        if self._bytes + size <= limit:
            return True
        needed = self._bytes + size - limit
        freed = 0
        victims: list[tuple[int, str, int]] = []
        for pos, victim_type, length in self._db.execute(
            "SELECT pos, type, length(payload) FROM outbox WHERE essential = 0 ORDER BY pos"
        ):
            if freed >= needed:
                break
            victims.append((pos, victim_type, length))
            freed += length
        if freed >= needed or essential:
            for pos, victim_type, length in victims:
                self._db.execute("DELETE FROM outbox WHERE pos = ?", (pos,))
                self._count_drop(DROP_FOR_SPACE, victim_type)
                self._count -= 1
                self._bytes -= length
            if victims:
                log.warning(
                    "outbox %s over its cap of %d bytes: dropped %d routine event(s)",
                    self.path, limit, len(victims),
                )
        if freed >= needed:
            return True
        if not essential:
            self._count_drop(DROP_FOR_SPACE, type)
            log.warning("outbox %s full of essential events: routine %s refused", self.path, type)
            return False
        free = _free_disk_bytes(self.path)
        if free < self.settings.min_free_disk_bytes + size:
            raise OutboxFull(
                f"outbox {self.path} holds {self._bytes} bytes (cap {limit}) and only {free} "
                f"bytes of disk are free; the uplink must drain before more can be recorded"
            )
        return True

    def _count_drop(self, reason: str, type: str) -> None:
        self._db.execute(
            "INSERT INTO outbox_drops (reason, type, dropped) VALUES (?, ?, 1) "
            "ON CONFLICT (reason, type) DO UPDATE SET dropped = dropped + 1",
            (reason, type),
        )

    # --- draining --------------------------------------------------------

    def read_after(self, pos: int, max_events: int, max_bytes: int) -> list[OutboxRow]:
        """The oldest rows after `pos`, in order, within the limits (always at least one row)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT pos, payload FROM outbox WHERE pos > ? ORDER BY pos LIMIT ?",
                (pos, max_events),
            ).fetchall()
        batch: list[OutboxRow] = []
        total = 0
        for row_pos, payload in rows:
            if batch and total + len(payload) > max_bytes:
                break
            batch.append(OutboxRow(row_pos, payload))
            total += len(payload)
        return batch

    def position_before(self, pos: int) -> int | None:
        """The newest row still waiting before `pos` (None when everything before is gone)."""
        with self._lock:
            row = self._db.execute("SELECT max(pos) FROM outbox WHERE pos < ?", (pos,)).fetchone()
        return row[0] if row else None

    def delete(self, positions: Sequence[int]) -> int:
        """Forget rows the next hop has durably stored. Unknown positions are ignored."""
        if not positions:
            return 0
        with self._lock:
            removed = 0
            removed_bytes = 0
            with self._database.transaction():
                for start in range(0, len(positions), 500):
                    chunk = positions[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    for (length,) in self._db.execute(
                        f"DELETE FROM outbox WHERE pos IN ({marks}) RETURNING length(payload)",
                        tuple(chunk),
                    ).fetchall():
                        removed += 1
                        removed_bytes += length
            self._count -= removed
            self._bytes -= removed_bytes
            self._changed.notify_all()
            return removed

    def wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- reporting -------------------------------------------------------

    def depth(self) -> tuple[int, int]:
        """(events waiting, payload bytes waiting)."""
        with self._lock:
            return self._count, self._bytes

    @property
    def last_pos(self) -> int:
        with self._lock:
            return self._last_pos

    def drop_totals(self) -> dict[str, dict[str, int]]:
        """Every drop since the outbox was made: reason -> event type -> count."""
        return _by_reason(self._database.query("SELECT reason, type, dropped FROM outbox_drops"))

    def unreported_drops(self) -> dict[str, dict[str, int]]:
        """Drops not yet reported upstream (see `mark_reported`)."""
        return _by_reason(self._database.query(
            "SELECT reason, type, dropped - reported FROM outbox_drops WHERE dropped > reported"
        ))

    def mark_reported(self, counts: dict[str, dict[str, int]]) -> None:
        with self._database.transaction():
            for reason, by_type in counts.items():
                for type, delta in by_type.items():
                    self._db.execute(
                        "UPDATE outbox_drops SET reported = reported + ? WHERE reason=? AND type=?",
                        (delta, reason, type),
                    )

    def close(self) -> None:
        """Close the outbox's own file; an outbox in a shared Database leaves that to its owner."""
        if self._owns_database:
            self._database.close()


def _by_reason(rows: list[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for reason, type, count in rows:
        counts.setdefault(reason, {})[type] = count
    return counts


def _free_disk_bytes(path: Path) -> int:
    stats = os.statvfs(path.parent)
    return stats.f_bavail * stats.f_frsize
