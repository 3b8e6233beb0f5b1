"""The durable outbox: an event is committed here before anything else happens to it.

One table in a SQLite file (WAL, synchronous=FULL): a device's own file, or
the node's `Database` it shares with other parts (the gateway's event log
commits an event and its forward row together). Positions come from
AUTOINCREMENT, so they never repeat even after rows are deleted; an edge agent
uses the position as its per-device sequence number. Rows leave only when the
next hop acknowledges a durable commit of them.

Space policy, in two parts. The disk first, always: with less than
`min_free_disk_bytes` free (a card smaller than the cap, footage and logs on
the same disk), a routine event is dropped and an essential one (a ticket, a
rating, a case) refused with `OutboxFull`, loudly; so is any event SQLite
itself finds no room for. Then the cap: above `max_bytes`, the oldest routine
telemetry is dropped to make room (a routine event may be refused itself when
nothing older can go), and essential events are kept beyond it. Every drop is
counted by reason and type (`spine/drops.py`) and reported upstream; the outbox
says whether its disk is full (`storage()`), and writes again by itself as soon
as there is room.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spine.config import OutboxSettings
from spine.database import Database
from spine.disk import Storage, free_bytes, is_disk_full
from spine.drops import DropCounts, DropLedger

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    essential INTEGER NOT NULL,
    payload TEXT NOT NULL,
    ref INTEGER,
    size INTEGER
);
-- Partial: essential rows (tickets, ratings) never touch it, so their commits write fewer pages.
DROP INDEX IF EXISTS outbox_routine;
CREATE INDEX IF NOT EXISTS outbox_routine_only ON outbox (pos) WHERE essential = 0;
"""
_ADDED_COLUMNS = {"ref": "INTEGER", "size": "INTEGER"}
"""Columns an outbox made before them lacks: a row's `ref` is the rowid of its payload in the
table named by `payloads_in` (its `payload` then empty), `size` that payload's length."""

DROP_FOR_SPACE = "outbox_full"
"""Routine events dropped because the outbox reached its cap."""
DROP_FOR_DISK = "disk_full"
"""Routine events dropped because the disk was below its floor, or full."""
_SIZE = "coalesce(size, length(payload))"
"""A row's payload length, wherever the payload is."""
_FLUSH_RETRY_S = 1.0  # how often drop counts a full disk refused are written again


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
    ref: int | None = None
    """Where the payload already is, in the outbox's `payloads_in` table (its rowid): the row
    then keeps only this reference instead of a second copy."""


class Outbox:
    def __init__(
        self,
        where: Database | str | Path,
        settings: OutboxSettings,
        *,
        page_size: int | None = 1024,
        payloads_in: str | None = None,
    ) -> None:
        """An outbox in `where`: a node's shared Database, or the path of a file of its own
        (a device's; `page_size` applies to such a file when it is new).

        `payloads_in`: a table of the same file that already holds what is forwarded (the
        gateway's append-only event log, by rowid). An event enqueued with a `ref` to it is a
        row of a few dozen bytes instead of a second copy of its payload: less to write when it
        comes, much less when its acknowledgement deletes it."""
        self._owns_database = not isinstance(where, Database)
        self._database = where if isinstance(where, Database) else Database(where, page_size=page_size)
        self.path = self._database.path
        self.settings = settings
        self._database.ensure_schema(SCHEMA)
        self._payloads_in = payloads_in
        with self._database.transaction() as tx:
            have = {row[1] for row in tx.execute("PRAGMA table_info(outbox)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    tx.execute(f"ALTER TABLE outbox ADD COLUMN {column} {kind}")
        self._db = self._database.connection
        self._lock = self._database.lock
        # Its own lock, not the file's: a sender waiting for news must not wait for a writer's
        # whole transaction (a gateway's group of device batches) to learn that rows arrived.
        self._changed = threading.Condition()
        self._version = 0
        """Changes so far: a sender that saw nothing to send waits only if none came since."""
        # The sender reads committed rows on a connection of its own (WAL readers never wait
        # for the writer), and acknowledged rows are deleted by whoever next holds the file.
        self._reading = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._forgetting = threading.Lock()
        self._forgotten: set[int] = set()
        self.drops = DropLedger(self._database)
        self._disk_full = False
        self._next_flush = 0.0
        ((count, size),) = self._database.query(
            f"SELECT count(*), coalesce(sum({_SIZE}), 0) FROM outbox"
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
        settles: DropCounts | None = None,
    ) -> int:
        """Commit one event and return its position; `make_payload(pos)` builds its text.

        Returns only after the commit is durable. Raises OutboxFull (nothing
        stored) when an essential event meets a full disk; returns 0 when a
        routine event was dropped for space (counted). `settles`: the drops this
        event reports, marked reported in the same commit.
        """
        with self._lock:
            pos = self._last_pos + 1
            payload = make_payload(pos)
            free = free_bytes(self.path)
            if free < self.settings.min_free_disk_bytes + len(payload):
                return self._refuse_for_disk(
                    type, essential, f"{free} bytes free, below the floor of "
                    f"{self.settings.min_free_disk_bytes} (min_free_disk_bytes)",
                )
            try:
                with self._database.transaction() as tx:
                    # Acknowledged rows first: the space they free is no reason to drop anything.
                    self._delete_forgotten_in(tx)
                    if not self._make_room(len(payload), type, essential):
                        self.drops.write_pending(tx)
                        return 0
                    tx.execute(
                        "INSERT INTO outbox (pos, event_id, type, essential, payload) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (pos, event_id, type, int(essential), payload),
                    )
                    if settles:
                        self.drops.settle(tx, settles)
                    self.drops.write_pending(tx)
            except sqlite3.OperationalError as exc:
                if not is_disk_full(exc):
                    raise
                return self._refuse_for_disk(type, essential, f"SQLite found the disk full ({exc})")
            self._disk_has_room(free)
            self._last_pos = pos
            self._count += 1
            self._bytes += len(payload)
            self.notify()
            return pos

    def enqueue_in(self, tx: sqlite3.Connection, events: Iterable[PendingEvent]) -> int:
        """Append events inside a transaction of the outbox's Database; the uplink sees
        them once it commits.

        What a receiver forwards was already judged worth keeping upstream, so
        no space policy applies here beyond the disk itself.
        """
        by_ref = self._payloads_in is not None
        rows = [(event.event_id, event.type, int(event.essential),
                 "" if by_ref and event.ref is not None else event.payload,
                 event.ref if by_ref else None, len(event.payload)) for event in events]
        if rows:
            tx.executemany(
                "INSERT INTO outbox (event_id, type, essential, payload, ref, size) "
                "VALUES (?, ?, ?, ?, ?, ?)", rows,
            )
        # The receiving transaction holds the file anyway: what the next hop acknowledged
        # meanwhile goes with it, without a transaction (and a wait) of its own.
        self._delete_forgotten_in(tx)
        added = len(rows)
        added_bytes = sum(row[5] for row in rows)
        if added:
            self._database.after_commit(lambda: self._grew(added, added_bytes))
        return added

    def _grew(self, added: int, added_bytes: int) -> None:
        self._count += added
        self._bytes += added_bytes
        self.notify()

    def _make_room(self, size: int, type: str, essential: bool) -> bool:
        limit = self.settings.max_bytes
        if self._bytes + size <= limit:
            return True
        needed = self._bytes + size - limit
        freed = 0
        victims: list[tuple[int, str, int]] = []
        for pos, victim_type, length in self._db.execute(
            f"SELECT pos, type, {_SIZE} FROM outbox WHERE essential = 0 ORDER BY pos"
        ):
            if freed >= needed:
                break
            victims.append((pos, victim_type, length))
            freed += length
        if freed >= needed or essential:
            for pos, victim_type, _length in victims:
                self._db.execute("DELETE FROM outbox WHERE pos = ?", (pos,))
                self.drops.count_in(self._db, DROP_FOR_SPACE, victim_type)
            dropped, dropped_bytes = len(victims), sum(length for _p, _t, length in victims)
            self._database.after_commit(lambda: self._grew(-dropped, -dropped_bytes))
            if victims:
                log.warning(
                    "outbox %s over its cap of %d bytes: dropped %d routine event(s)",
                    self.path, limit, len(victims),
                )
        if freed >= needed or essential:  # essential events are kept beyond the cap
            return True
        self.drops.count_in(self._db, DROP_FOR_SPACE, type)
        log.warning("outbox %s full of essential events: routine %s refused", self.path, type)
        return False

    # --- the disk --------------------------------------------------------

    def _refuse_for_disk(self, type: str, essential: bool, why: str) -> int:
        """(Holding the lock.) An event the disk has no room for: an essential one is refused
        loudly, a routine one dropped and counted (the count written as soon as it can be)."""
        if not self._disk_full:
            self._disk_full = True
            log.error("outbox %s: the disk is full (%s): routine events are dropped and counted, "
                      "essential ones refused until there is room", self.path, why)
        if essential:
            raise OutboxFull(
                f"{type} not recorded: the disk holding {self.path} is full ({why}); "
                f"free space there, or drain the outbox"
            )
        self.drops.count(DROP_FOR_DISK, type)
        self.flush_drops()
        return 0

    def _disk_has_room(self, free: int) -> None:
        """(Holding the lock.) A write went through above the floor: say so once."""
        if self._disk_full:
            self._disk_full = False
            log.warning("outbox %s: disk space is back (%d bytes free); recording normally",
                        self.path, free)

    def flush_drops(self) -> None:
        """Write drop counts the disk refused, at most once a second while it still refuses."""
        with self._lock:
            if time.monotonic() < self._next_flush:
                return
            if not self.drops.flush():
                self._next_flush = time.monotonic() + _FLUSH_RETRY_S

    def check_disk(self) -> Storage:
        """Look at the disk again (an idle agent learns that space returned, or ran out)."""
        with self._lock:
            free = free_bytes(self.path)
            if free >= self.settings.min_free_disk_bytes:
                self._disk_has_room(free)
                self.flush_drops()
            elif not self._disk_full:
                self._disk_full = True
                log.error("outbox %s: the disk is full (%d bytes free, below the floor of %d): "
                          "routine events will be dropped and counted, essential ones refused",
                          self.path, free, self.settings.min_free_disk_bytes)
            return Storage(self._disk_full, free, self.settings.min_free_disk_bytes)

    def storage(self) -> Storage:
        """Whether the disk is full, as last seen, and how much is free now."""
        with self._lock:
            return Storage(self._disk_full, free_bytes(self.path), self.settings.min_free_disk_bytes)

    # --- draining --------------------------------------------------------

    def read_after(self, pos: int, max_events: int, max_bytes: int) -> list[OutboxRow]:
        """The oldest rows after `pos` not yet acknowledged, in order, within the limits (always
        at least one row). Only committed rows, read without waiting for a writer."""
        with self._forgetting:
            forgotten = set(self._forgotten)
        ahead = sum(1 for row_pos in forgotten if row_pos > pos)
        with self._reading:
            rows = self._read_connection().execute(self._read_sql, (pos, max_events + ahead)).fetchall()
        batch: list[OutboxRow] = []
        total = 0
        for row_pos, payload in rows:
            if row_pos in forgotten:
                continue  # acknowledged, its row not deleted yet
            if payload is None:
                raise RuntimeError(f"outbox {self.path}: row {row_pos} refers to a payload that is "
                                   f"not in {self._payloads_in}")
            if len(batch) >= max_events or (batch and total + len(payload) > max_bytes):
                break
            batch.append(OutboxRow(row_pos, payload))
            total += len(payload)
        return batch

    @property
    def _read_sql(self) -> str:
        if self._payloads_in is None:
            return "SELECT pos, payload FROM outbox WHERE pos > ? ORDER BY pos LIMIT ?"
        return ("SELECT o.pos, CASE WHEN o.ref IS NULL THEN o.payload ELSE p.payload END FROM outbox o "
                f"LEFT JOIN {self._payloads_in} p ON p.rowid = o.ref WHERE o.pos > ? ORDER BY o.pos LIMIT ?")

    def position_before(self, pos: int) -> int | None:
        """The newest row still waiting before `pos` (None when everything before is gone).

        An acknowledged row whose delete is still pending is not waiting: a probe's event is
        acknowledged without moving the receiver's stream, so naming it as `after` would make
        the receiver ask for a gap that is not there."""
        with self._forgetting:
            forgotten = {row_pos for row_pos in self._forgotten if row_pos < pos}
        with self._reading:
            rows = self._read_connection().execute(
                "SELECT pos FROM outbox WHERE pos < ? ORDER BY pos DESC LIMIT ?",
                (pos, len(forgotten) + 1)).fetchall()
        return next((row_pos for (row_pos,) in rows if row_pos not in forgotten), None)

    def _read_connection(self) -> sqlite3.Connection:
        """(Holding `_reading`.) The sender's own connection to the file, opened on first use."""
        if self._reader is None:
            self._reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                           timeout=30.0)
            self._reader.execute("PRAGMA query_only=ON")
        return self._reader

    def delete(self, positions: Sequence[int]) -> int:
        """Forget rows the next hop has durably stored; returns how many rows went now.

        They are deleted at once when the file is free, else by the transaction holding it (a
        receiver's, through `enqueue_in`; an agent's `put`) or the next `tidy()`: the sender's
        thread never waits for a writer, and no longer reads them meanwhile. Unknown positions
        are ignored. Raises sqlite3.Error (a full disk) with the rows still to delete."""
        if not positions:
            return 0
        with self._forgetting:
            self._forgotten.update(positions)
        return self.tidy()

    def tidy(self) -> int:
        """Delete the acknowledged rows still in the file, if nobody is writing to it now."""
        if not self._lock.acquire(blocking=False):
            return 0  # the writer holding it deletes them in its own transaction
        try:
            with self._forgetting:
                if not self._forgotten:
                    return 0
            # Forgetting acknowledged rows needs no fsync of its own (lost in a power cut, they
            # are only sent again), which spares an SD card one per ack; drop counts carried
            # along (any write the disk takes carries them) must be durable, though.
            with self._database.transaction(durable=not self.drops.settled()) as tx:
                return self._delete_forgotten_in(tx)
        finally:
            self._lock.release()

    def _delete_forgotten_in(self, tx: sqlite3.Connection) -> int:
        """(Inside a transaction on the file.) Delete the acknowledged rows; they are counted
        gone, and no longer forgotten, once that transaction commits."""
        with self._forgetting:
            positions = sorted(self._forgotten)
        if not positions:
            return 0
        self.drops.write_pending(tx)
        removed = removed_bytes = 0
        for start in range(0, len(positions), 500):
            chunk = positions[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for (length,) in tx.execute(
                f"DELETE FROM outbox WHERE pos IN ({marks}) RETURNING {_SIZE}", tuple(chunk),
            ).fetchall():
                removed += 1
                removed_bytes += length

        # Counted gone at once (the cap's arithmetic in the same transaction needs it), and
        # counted back if the transaction rolls back; forgotten for good once it commits.
        self._count -= removed
        self._bytes -= removed_bytes

        def gone() -> None:
            with self._forgetting:
                self._forgotten.difference_update(positions)
            self.notify()

        self._database.after_commit(gone)
        self._database.after_rollback(lambda: self._grew(removed, removed_bytes))
        return removed

    def wait_for_change(self, timeout: float, since: int | None = None) -> None:
        """Wait until the outbox changes (rows added or gone, a reconnect): at most `timeout`
        seconds, and not at all if it changed since `version` was `since`."""
        with self._changed:
            if since is None or since == self._version:
                self._changed.wait(timeout)

    @property
    def version(self) -> int:
        """How many changes so far (for `wait_for_change(since=...)`)."""
        with self._changed:
            return self._version

    def notify(self) -> None:
        with self._changed:
            self._version += 1
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

    def drop_totals(self) -> DropCounts:
        """Every drop since the outbox was made: reason -> event type -> count."""
        return self.drops.totals()

    def unreported_drops(self) -> DropCounts:
        """Drops no `device.dropped` has reported yet (see `put(settles=...)`)."""
        return self.drops.unreported()

    def close(self) -> None:
        """Close the outbox's own file; an outbox in a shared Database leaves that to its owner."""
        with self._lock:
            if not self.drops.flush():
                log.error("outbox %s: the disk is full: drop counts of this run are lost", self.path)
        with self._reading:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        if self._owns_database:
            self._database.close()
