"""The gateway's durable store: every event of its hall once, dead letters, and the forward outbox.

One SQLite file holds the hall's events (append-only, unique by event id, so a
resend after days is still a duplicate), the dead letters, and the outbox that
forwards to central; an event and its outbox row commit in one transaction.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from contract import PROTOCOL_VERSION
from contract.registry import spec_for
from spine.clock import Clock
from spine.outbox import Outbox, PendingEvent
from spine.receiver import (
    RECEIVER_SCHEMA,
    AcceptedEvent,
    DeadLetter,
    IncomingBatch,
    advance_stream,
    read_stream_position,
    store_dead_letter,
)
from spine.recorder import dump_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    boot TEXT NOT NULL,
    type TEXT NOT NULL,
    device_time INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    est_time INTEGER,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_device ON events (device, seq);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE IF NOT EXISTS own_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
""" + RECEIVER_SCHEMA

Emit = Callable[[str, Mapping[str, Any]], None]


@dataclass
class HandlerContext:
    """What a gateway handler may do while an event is being stored."""

    tx: sqlite3.Connection
    """The open transaction: the handler's own tables commit with the event."""
    emit: Emit
    """Record a gateway event (e.g. `queue.called`) in the same transaction."""
    now_ms: int
    live: list[tuple[str, str, bool]] = field(default_factory=list)

    def publish_after_commit(self, topic: str, payload: str, retain: bool = False) -> None:
        """A live message (hall display, reply to a device), sent only once the commit holds."""
        self.live.append((topic, payload, retain))


class GatewayHandler(Protocol):
    """Domain logic fed by the hall's events (queue, ratings), inside the storing transaction."""

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None: ...


class GatewayStore:
    def __init__(
        self,
        outbox: Outbox,
        gateway_id: str,
        clock: Clock,
        handlers: list[GatewayHandler] | None = None,
        publish: Callable[[str, str, bool], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.gateway_id = gateway_id
        self.clock = clock
        self.handlers = list(handlers or [])
        self.publish = publish or (lambda _topic, _payload, _retain: None)
        outbox.ensure_schema(SCHEMA)

    # --- ReceiverStore ---------------------------------------------------

    def commit(self, incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        stored = duplicates = 0
        with self.outbox.transaction() as tx:
            forward: list[PendingEvent] = []
            emit = self._emitter(tx, forward)
            context = HandlerContext(tx, emit, self.clock.wall_ms())
            for event in incoming.events:
                if self._insert(tx, event):
                    stored += 1
                    forward.append(
                        PendingEvent(event.envelope.id, event.envelope.type, event.essential, event.payload)
                    )
                    for handler in self.handlers:
                        handler.handle(context, event)
                else:
                    duplicates += 1
            for letter in dead:
                self._dead_letter_in(tx, letter, emit)
            advance_stream(tx, incoming.batch)
            self.outbox.enqueue_in(tx, forward)
        for topic, payload, retain in context.live:
            self.publish(topic, payload, retain)
        return stored, duplicates

    def stream_position(self, sender: str) -> int | None:
        return read_stream_position(
            self.outbox.query("SELECT position FROM streams WHERE sender = ?", (sender,))
        )

    def dead_letter(self, dead: DeadLetter) -> None:
        with self.outbox.transaction() as tx:
            forward: list[PendingEvent] = []
            self._dead_letter_in(tx, dead, self._emitter(tx, forward))
            self.outbox.enqueue_in(tx, forward)

    # --- the gateway's own events ----------------------------------------

    def record_own(self, type: str, body: Mapping[str, Any]) -> None:
        """Record an event of the gateway itself (presence, clock skew), stored and forwarded."""
        with self.outbox.transaction() as tx:
            forward: list[PendingEvent] = []
            self._emitter(tx, forward)(type, body)
            self.outbox.enqueue_in(tx, forward)

    def run_in_transaction(self, work: Callable[[HandlerContext], Any]) -> Any:
        """Run gateway logic that is not triggered by a device event (a command from
        central, a timer) with the same guarantees as a handler."""
        with self.outbox.transaction() as tx:
            forward: list[PendingEvent] = []
            context = HandlerContext(tx, self._emitter(tx, forward), self.clock.wall_ms())
            result = work(context)
            self.outbox.enqueue_in(tx, forward)
        for topic, payload, retain in context.live:
            self.publish(topic, payload, retain)
        return result

    def _emitter(self, tx: sqlite3.Connection, forward: list[PendingEvent]) -> Emit:
        def emit(type: str, body: Mapping[str, Any]) -> None:
            spec = spec_for(type)
            model = spec.body.model_validate(body)
            (seq,) = tx.execute(
                "INSERT INTO own_sequence (id, seq) VALUES (1, 1) "
                "ON CONFLICT (id) DO UPDATE SET seq = seq + 1 RETURNING seq"
            ).fetchone()
            now = self.clock.wall_ms()
            envelope = {
                "v": PROTOCOL_VERSION,
                "id": uuid.uuid4().hex,
                "device": self.gateway_id,
                "seq": seq,
                "boot": self.clock.boot_id(),
                "time": now,
                "mono": self.clock.mono_ms(),
                "type": type,
                "body": model.model_dump(mode="json"),
                "recv": {"by": self.gateway_id, "at": now, "est_time": now, "skew_ms": 0},
            }
            payload = dump_json(envelope)
            tx.execute(
                "INSERT INTO events (event_id, device, seq, boot, type, device_time, received_at, "
                "est_time, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (envelope["id"], self.gateway_id, seq, envelope["boot"], type, now, now, now, payload),
            )
            forward.append(PendingEvent(str(envelope["id"]), type, spec.essential, payload))

        return emit

    def _insert(self, tx: sqlite3.Connection, event: AcceptedEvent) -> bool:
        envelope = event.envelope
        recv = envelope.recv
        cursor = tx.execute(
            "INSERT OR IGNORE INTO events (event_id, device, seq, boot, type, device_time, "
            "received_at, est_time, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                envelope.id, envelope.device, envelope.seq, envelope.boot, envelope.type,
                envelope.time, recv.at if recv else self.clock.wall_ms(),
                recv.est_time if recv else None, event.payload,
            ),
        )
        return cursor.rowcount == 1

    def _dead_letter_in(self, tx: sqlite3.Connection, letter: DeadLetter, emit: Emit) -> None:
        if store_dead_letter(tx, letter, self.clock.wall_ms()) == 1:
            # Central hears of each distinct refusal once, not of every resend.
            emit(
                "gateway.dead_letter",
                {"device": letter.sender, "topic": letter.topic, "reason": letter.reason[:500],
                 "size": len(letter.payload)},
            )
