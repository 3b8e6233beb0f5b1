"""Central's event store: every event of every hall, once, append-only."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from contract.topics import parse_central_topic
from spine.clock import Clock
from spine.receiver import (
    RECEIVER_SCHEMA,
    AcceptedEvent,
    DeadLetter,
    IncomingBatch,
    advance_stream,
    read_stream_position,
    store_dead_letter,
)
from spine.sqlite import Transaction, open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    device_time INTEGER NOT NULL,
    gateway_time INTEGER,
    est_time INTEGER,
    received_at INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_device ON events (hall, device, seq);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE IF NOT EXISTS hall_status (
    hall TEXT PRIMARY KEY,
    online INTEGER NOT NULL,
    reason TEXT,
    last_seen INTEGER,
    heartbeat TEXT
);
""" + RECEIVER_SCHEMA


class CentralHandler(Protocol):
    """Domain projections fed by stored events (statistics, device health), in the same transaction."""

    def handle(self, tx: sqlite3.Connection, hall: str, event: AcceptedEvent) -> None: ...


class CentralStore:
    def __init__(self, path: Path, clock: Clock, handlers: list[CentralHandler] | None = None) -> None:
        self.path = path
        self.clock = clock
        self.handlers = list(handlers or [])
        self._db = open_database(path, page_size=None)
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, Transaction(self._db) as tx:
            yield tx

    def commit(self, incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        parsed = parse_central_topic(incoming.topic)
        hall = parsed[0] if parsed else "?"
        stored = duplicates = 0
        now = self.clock.wall_ms()
        with self.transaction() as tx:
            for event in incoming.events:
                envelope = event.envelope
                recv = envelope.recv
                cursor = tx.execute(
                    "INSERT OR IGNORE INTO events (event_id, hall, device, seq, type, device_time, "
                    "gateway_time, est_time, received_at, payload) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (envelope.id, hall, envelope.device, envelope.seq, envelope.type, envelope.time,
                     recv.at if recv else None, recv.est_time if recv else None, now, event.payload),
                )
                if cursor.rowcount == 1:
                    stored += 1
                    for handler in self.handlers:
                        handler.handle(tx, hall, event)
                else:
                    duplicates += 1
            for letter in dead:
                store_dead_letter(tx, letter, now)
            advance_stream(tx, incoming.batch)
        return stored, duplicates

    def dead_letter(self, dead: DeadLetter) -> None:
        with self.transaction() as tx:
            store_dead_letter(tx, dead, self.clock.wall_ms())

    def stream_position(self, sender: str) -> int | None:
        return read_stream_position(
            self.query("SELECT position FROM streams WHERE sender = ?", (sender,))
        )

    def set_hall_status(self, hall: str, online: bool, reason: str | None, heartbeat: str | None) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO hall_status (hall, online, reason, last_seen, heartbeat) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (hall) DO UPDATE SET online = excluded.online, "
                "reason = excluded.reason, last_seen = excluded.last_seen, "
                "heartbeat = coalesce(excluded.heartbeat, heartbeat)",
                (hall, int(online), reason, self.clock.wall_ms(), heartbeat),
            )

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
