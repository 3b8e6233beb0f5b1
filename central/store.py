"""Central's event store: every event of every hall, once, append-only.

What a hall's gateway forwards is admitted (`admit`) and stored in one
transaction; a fact refused as an author's overstep is kept as a dead letter
and raised as a security alarm (`central.alarms`) in that same transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from central.alarms import SCHEMA as ALARMS_SCHEMA
from central.alarms import SecurityAlarm, record_alarm
from contract.topics import parse_central_topic
from spine.clock import Clock
from spine.eventlog import EventLog, commit_batch
from spine.handlers import EventHandler, HandlerContext
from spine.receiver import (
    RECEIVER_SCHEMA,
    AcceptedEvent,
    DeadLetter,
    IncomingBatch,
    Refusal,
    read_stream_position,
    store_dead_letter,
)
from spine.sqlite import Transaction, open_database

EVENT_LOG = EventLog(
    columns=(
        ("hall", "TEXT NOT NULL"),
        ("device", "TEXT NOT NULL"),
        ("seq", "INTEGER NOT NULL"),
        ("type", "TEXT NOT NULL"),
        ("device_time", "INTEGER NOT NULL"),
        ("gateway_time", "INTEGER"),
        ("est_time", "INTEGER"),
        ("received_at", "INTEGER NOT NULL"),
        ("payload", "TEXT NOT NULL"),
    ),
    device_key=("hall", "device", "seq"),
)
"""Every event of every hall, as central stored it (the gateway keeps its own with other columns)."""

SCHEMA = EVENT_LOG.schema() + """
CREATE TABLE IF NOT EXISTS hall_status (
    hall TEXT PRIMARY KEY,
    online INTEGER NOT NULL,
    reason TEXT,
    last_seen INTEGER,
    heartbeat TEXT
);
""" + RECEIVER_SCHEMA + ALARMS_SCHEMA


CentralHandler = EventHandler
"""Domain projections fed by stored events (statistics, device health), in the same transaction."""
Admit = Callable[[HandlerContext, AcceptedEvent], "AcceptedEvent | Refusal"]
"""Inside the storing transaction: the event to store, or why it is refused."""


class CentralStore:
    def __init__(self, path: Path, clock: Clock, handlers: list[CentralHandler] | None = None) -> None:
        self.path = path
        self.clock = clock
        self.handlers = list(handlers or [])
        self.admit: Admit | None = None
        """Set by the ingest: its rules that need the batch's earlier facts to have taken effect."""
        self.alarmed: Callable[[SecurityAlarm], object] = lambda _alarm: None
        """Told of each alarm once its transaction committed (the big screen refreshes)."""
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
        now = self.clock.wall_ms()

        def row(event: AcceptedEvent) -> dict[str, Any]:
            envelope, recv = event.envelope, event.envelope.recv
            return {"hall": hall, "device": envelope.device, "seq": envelope.seq, "type": envelope.type,
                    "device_time": envelope.time, "gateway_time": recv.at if recv else None,
                    "est_time": recv.est_time if recv else None, "received_at": now,
                    "payload": event.payload}

        alarms: list[SecurityAlarm] = []
        with self.transaction() as tx:
            context = HandlerContext(tx=tx, hall=hall, now_ms=now)

            def stored(event: AcceptedEvent) -> None:
                for handler in self.handlers:
                    handler.handle(context, event)

            admit = self.admit
            result = commit_batch(
                tx, EVENT_LOG, incoming, dead, row=row, stored=stored,
                dead_letter=lambda letter: alarms.extend(self._dead_letter_in(tx, letter, hall, now)),
                admit=(lambda event: admit(context, event)) if admit is not None else None)
        for alarm in alarms:
            self.alarmed(alarm)
        return result

    def dead_letter(self, dead: DeadLetter) -> None:
        parsed = parse_central_topic(dead.topic)
        now = self.clock.wall_ms()
        with self.transaction() as tx:
            alarms = self._dead_letter_in(tx, dead, parsed[0] if parsed else None, now)
        for alarm in alarms:
            self.alarmed(alarm)

    @staticmethod
    def _dead_letter_in(tx: sqlite3.Connection, letter: DeadLetter, hall: str | None,
                        now: int) -> list[SecurityAlarm]:
        times = store_dead_letter(tx, letter, now)
        if not letter.alarm:
            return []
        # Whose fact it was: the device the gateway forwarded it for, else the gateway itself.
        device, kind = _author_of(letter)
        alarm = SecurityAlarm(alarm=f"central:{letter.digest}:{times}", at=now, refused_by="central",
                              hall=hall, device=device or letter.sender, kind=kind,
                              type=letter.event_type, reason=letter.reason)
        record_alarm(tx, alarm)
        return [alarm]

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


def _author_of(letter: DeadLetter) -> tuple[str | None, str | None]:
    """The device a refused event names and the kind its gateway stamped; for a whole batch,
    the gateway that sent it."""
    try:
        raw = json.loads(letter.payload)
        if letter.event_id is None:
            device, kind = raw.get("sender"), None
        else:
            device, kind = raw.get("device"), (raw.get("recv") or {}).get("kind")
    except (ValueError, AttributeError):
        return None, None
    return (device if isinstance(device, str) else None), (kind if isinstance(kind, str) else None)
