"""The gateway's durable store: every event of its hall once, dead letters, and the forward outbox.

One SQLite file holds the hall's events (spine's append-only event log: a
resend after days is still a duplicate), the dead letters, and the outbox that
forwards to central; an event, what the hall's handlers wrote about it and its
outbox row commit in one transaction. So does the admission of each event
(`admit`: what the events before it decided) and the report of each refusal
(`refused`: the alarm it raises).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from contract.catalog import spec_for
from contract.envelope import Received, dump_envelope, new_envelope
from contract.kinds import Author
from contract.privacy import PERSONAL_FIELDS, mask_personal_fields
from spine.clock import Clock
from spine.database import Database
from spine.eventlog import EventLog, commit_batch
from spine.handlers import Emit, EventHandler, HandlerContext
from spine.outbox import Outbox, PendingEvent
from spine.receiver import (
    RECEIVER_SCHEMA,
    AcceptedEvent,
    DeadLetter,
    IncomingBatch,
    Refusal,
    read_stream_position,
    store_dead_letter,
)

EVENT_LOG = EventLog(
    columns=(
        ("device", "TEXT NOT NULL"), ("seq", "INTEGER NOT NULL"), ("boot", "TEXT NOT NULL"),
        ("type", "TEXT NOT NULL"), ("device_time", "INTEGER NOT NULL"), ("received_at", "INTEGER NOT NULL"),
        ("est_time", "INTEGER"), ("payload", "TEXT NOT NULL"),
    ),
)

SCHEMA = EVENT_LOG.schema() + """
CREATE TABLE IF NOT EXISTS own_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
""" + RECEIVER_SCHEMA

Publish = Callable[[str, str, bool], None]
"""A live message on the hall broker: topic, payload, retain."""
Admit = Callable[[HandlerContext, AcceptedEvent], "AcceptedEvent | Refusal"]
"""Inside the storing transaction: the event to store, or why it is refused."""
OnRefused = Callable[[HandlerContext, DeadLetter], None]
"""Inside the transaction that keeps a dead letter: what the refusal sets off."""


class GatewayStore:
    """The receiving end of the hall (a `spine.receiver.ReceiverStore`) and the gateway's own facts."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        *,
        gateway_id: str,
        hall: str,
        clock: Clock,
        handlers: Sequence[EventHandler] = (),
        publish: Publish = lambda _topic, _payload, _retain: None,
        admit: Admit | None = None,
        refused: OnRefused = lambda _context, _letter: None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.gateway_id = gateway_id
        self.hall = hall
        self.clock = clock
        self.handlers = tuple(handlers)
        self.publish = publish
        self.admit = admit
        self.refused = refused
        db.ensure_schema(SCHEMA)

    # --- ReceiverStore ---------------------------------------------------

    checks_order = False
    """The receiver reads `stream_position` before a batch (the gateway's devices' streams)."""

    def commit(self, incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        def work(context: HandlerContext, forward: list[PendingEvent]) -> tuple[int, int]:
            def stored(event: AcceptedEvent, row_id: int | None) -> None:
                # Forwarded from the log itself (the outbox row refers to the event's row), but
                # for an event whose log keeps a citizen's data masked (`_kept_payload`): the
                # clear copy travels in the outbox, deleted once central has sealed it.
                kept_as_sent = event.envelope.type not in PERSONAL_FIELDS
                forward.append(PendingEvent(event.envelope.id, event.envelope.type, event.essential,
                                            event.payload, row_id if kept_as_sent else None))
                for handler in self.handlers:
                    handler.handle(context, event)

            admit = self.admit
            return commit_batch(
                context.tx, EVENT_LOG, incoming, dead, row=self._row, stored=stored,
                dead_letter=lambda letter: self._dead_letter_in(context, letter),
                admit=(lambda event: admit(context, event)) if admit is not None else None,
            )

        result: tuple[int, int] = self._transaction(work)
        return result

    def stream_position(self, sender: str) -> int | None:
        return read_stream_position(self.db.query("SELECT position FROM streams WHERE sender = ?", (sender,)))

    def dead_letter(self, dead: DeadLetter) -> None:
        self._transaction(lambda context, _forward: self._dead_letter_in(context, dead))

    # --- the gateway's own events ----------------------------------------

    def record_own(self, type: str, body: Mapping[str, Any]) -> None:
        """Record an event of the gateway itself (presence, clock skew), stored and forwarded."""
        self._transaction(lambda context, _forward: context.emit(type, body))

    def run_in_transaction(self, work: Callable[[HandlerContext], Any]) -> Any:
        """Run gateway logic that is not triggered by a device event (a command from
        central, a timer) with the same guarantees as a handler."""
        return self._transaction(lambda context, _forward: work(context))

    def _transaction(self, work: Callable[[HandlerContext, list[PendingEvent]], Any]) -> Any:
        """`work` inside one transaction; what it emitted is forwarded, what it queued is
        published once the commit holds."""
        with self.db.transaction() as tx:
            forward: list[PendingEvent] = []
            context = HandlerContext(tx=tx, hall=self.hall, now_ms=self.clock.wall_ms(),
                                     emit=self._emitter(tx, forward))
            result = work(context, forward)
            self.outbox.enqueue_in(tx, forward)
        for message in context.live:
            self.publish(message.topic, message.payload, message.retain)
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
            envelope = new_envelope(
                device=self.gateway_id, seq=seq, boot=self.clock.boot_id(), time=now,
                mono=self.clock.mono_ms(), type=type, body=model.model_dump(mode="json"),
                # The gateway saw it happen: its own clock dates it, with no skew to correct.
                recv=Received(by=self.gateway_id, at=now, est_time=now, skew_ms=0, kind=Author.GATEWAY),
            )
            payload = dump_envelope(envelope)
            row_id = EVENT_LOG.append(tx, envelope["id"], {
                "device": self.gateway_id, "seq": seq, "boot": envelope["boot"], "type": type,
                "device_time": now, "received_at": now, "est_time": now, "payload": payload,
            })
            forward.append(PendingEvent(str(envelope["id"]), type, spec.essential, payload, row_id))

        return emit

    def _row(self, event: AcceptedEvent) -> dict[str, Any]:
        envelope = event.envelope
        recv = envelope.recv
        return {
            "device": envelope.device, "seq": envelope.seq, "boot": envelope.boot, "type": envelope.type,
            "device_time": envelope.time, "received_at": recv.at if recv else self.clock.wall_ms(),
            "est_time": recv.est_time if recv else None, "payload": _kept_payload(event),
        }

    def _dead_letter_in(self, context: HandlerContext, letter: DeadLetter) -> None:
        if store_dead_letter(context.tx, letter, self.clock.wall_ms()) == 1:
            # Central hears of each distinct refusal once, not of every resend.
            context.emit(
                "gateway.dead_letter",
                {"device": letter.sender, "topic": letter.topic, "reason": letter.reason[:500],
                 "size": len(letter.payload)},
            )
        # An author's overstep is an alarm each time it is tried.
        self.refused(context, letter)


def _kept_payload(event: AcceptedEvent) -> str:
    """What the gateway's own log keeps of an event: all of it, but a citizen's phone only masked.

    The gateway needs the number only to echo it masked to the window; the clear
    number travels on in the forward outbox (deleted once central has it), where
    central seals it and can erase it. The hall's log is kept for ever and cannot be
    edited, so the clear number never enters it.
    """
    envelope = event.envelope
    if envelope.type not in PERSONAL_FIELDS:
        return event.payload
    kept = envelope.model_copy(update={"body": mask_personal_fields(envelope.type, envelope.body)})
    return dump_envelope(kept.model_dump(mode="json"))
