"""The receiving half of every hop: check a batch, keep what is valid, dead-letter the rest, ack.

Used by the hall gateway (from devices) and by central (from gateways). The
store commits valid events and dead letters in one durable transaction; only
then is the acknowledgement built. Nothing a sender sends is thrown away: what
is refused is kept as a dead letter with its reason.

The work is done per batch, not per event: the message is read in one pass
that keeps each event's own text (`spine/wire.py`), the envelopes are validated
in one pydantic call, the bodies in one call per event type, and only a batch
holding an invalid event is looked at event by event to say which and why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from contract import SUPPORTED_VERSIONS
from contract.catalog import spec_for
from contract.envelope import (
    MAX_MESSAGE_BYTES,
    Ack,
    Batch,
    Envelope,
    Received,
    Rejection,
)
from contract.registry import UnknownEventType, describe_error
from spine.clock import Clock
from spine.wire import read_batch

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    sender: str | None
    reason: str
    payload: bytes
    event_id: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.topic.encode() + b"\0" + self.payload).hexdigest()


@dataclass(frozen=True)
class AcceptedEvent:
    envelope: Envelope
    payload: str
    """The envelope as stored and forwarded (with the receiver's stamp, if any)."""
    essential: bool


@dataclass
class IncomingBatch:
    topic: str
    batch: Batch
    received_at: int
    events: list[AcceptedEvent] = field(default_factory=list)
    skew_ms: int = 0


class ReceiverStore(Protocol):
    def commit(self, incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        """Store valid events (deduplicated by id) and dead letters in one durable
        transaction; return (stored, duplicates)."""
        ...

    def dead_letter(self, dead: DeadLetter) -> None: ...

    def stream_position(self, sender: str) -> int | None:
        """The sender outbox position of the last batch committed from `sender`."""
        ...


Authorizer = Callable[[str, Batch], str | None]
"""(topic sender, batch) -> None when allowed, else the reason for refusing."""
EventCheck = Callable[[Batch, Envelope], str | None]


class BatchReceiver:
    def __init__(
        self,
        store: ReceiverStore,
        clock: Clock,
        *,
        authorize: Authorizer,
        check_event: EventCheck,
        stamp_by: str | None = None,
        clock_reference: Callable[[str], Any] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.authorize = authorize
        self.check_event = check_event
        self.stamp_by = stamp_by
        self.clock_reference = clock_reference or (lambda _device: None)
        self.counters: dict[str, int] = {
            "batches": 0, "stored": 0, "duplicates": 0, "rejected": 0, "out_of_order": 0,
        }

    def receive(self, topic: str, topic_sender: str, payload: bytes | bytearray) -> Ack | None:
        """Process one message; return the ack to publish (None when there is no batch to ack)."""
        now = self.clock.wall_ms()
        if len(payload) > MAX_MESSAGE_BYTES:
            return self._refuse(
                topic, topic_sender, payload,
                f"message of {len(payload)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit",
            )
        try:
            raw, texts = read_batch(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return self._refuse(topic, topic_sender, payload, f"not JSON: {exc}")
        if not isinstance(raw, dict):
            return self._refuse(topic, topic_sender, payload, "not a JSON object")
        batch_id = raw.get("batch") if isinstance(raw.get("batch"), str) else None
        version = raw.get("v")
        if version not in SUPPORTED_VERSIONS:
            return self._refuse(
                topic, topic_sender, payload,
                f"unsupported protocol version {version!r}; this receiver speaks "
                f"{sorted(SUPPORTED_VERSIONS)}",
                batch_id,
            )
        try:
            batch = Batch.model_validate(raw)
        except ValidationError as exc:
            return self._refuse(
                topic, topic_sender, payload, f"malformed batch: {describe_error(exc)}", batch_id
            )
        refusal = self.authorize(topic_sender, batch)
        if refusal is not None:
            return self._refuse(topic, topic_sender, payload, refusal, batch.batch)
        if batch.after is not None:
            held = self.store.stream_position(batch.sender)
            if held is None or batch.after > held:
                # An earlier batch was lost (a broker crashed after its PUBACK): storing
                # this one now would break the sender's order. Ask for the gap first.
                self.counters["out_of_order"] += 1
                return Ack(v=batch.v, batch=batch.batch, resend=True)

        incoming = IncomingBatch(topic, batch, now, skew_ms=now - batch.sent_at)
        dead: list[DeadLetter] = []
        rejections: list[Rejection] = []
        checked = self._check(batch)
        for index, (item, (envelope, reason)) in enumerate(zip(batch.events, checked, strict=True)):
            if envelope is None:
                event_id = item.get("id") if isinstance(item, dict) else None
                event_id = event_id if isinstance(event_id, str) else None
                rejections.append(Rejection(index=index, id=event_id, reason=reason))
                dead.append(
                    DeadLetter(topic, batch.sender, reason, _dump(item).encode(), event_id)
                )
                continue
            text = texts[index] if texts is not None else None
            incoming.events.append(self._accept(incoming, envelope, item, text))
        stored, duplicates = self.store.commit(incoming, dead)
        self.counters["batches"] += 1
        self.counters["stored"] += stored
        self.counters["duplicates"] += duplicates
        self.counters["rejected"] += len(rejections)
        for rejection in rejections:
            log.warning("refused event %s from %s: %s", rejection.id, batch.sender, rejection.reason)
        return Ack(v=batch.v, batch=batch.batch, stored=stored, duplicates=duplicates, rejected=rejections)

    def _check(self, batch: Batch) -> list[tuple[Envelope | None, str]]:
        """Every event of the batch: its envelope, or None and why it is refused (in order)."""
        checked: list[tuple[Envelope | None, str]] = [(None, "")] * len(batch.events)
        shaped: list[int] = []
        for index, item in enumerate(batch.events):
            if not isinstance(item, dict):
                checked[index] = (None, "event is not a JSON object")
            elif item.get("v") not in SUPPORTED_VERSIONS:
                checked[index] = (None, f"unsupported event version {item.get('v')!r}")
            else:
                shaped.append(index)
        envelopes = _validate_all(Envelope, [batch.events[index] for index in shaped])
        by_type: dict[str, list[tuple[int, Envelope]]] = {}
        for index, (envelope, error) in zip(shaped, envelopes, strict=True):
            if envelope is None:
                checked[index] = (None, f"malformed envelope: {error}")
            else:
                by_type.setdefault(envelope.type, []).append((index, envelope))
        for type, events in by_type.items():
            try:
                body = spec_for(type).body
            except UnknownEventType as exc:
                for index, _envelope in events:
                    checked[index] = (None, str(exc))
                continue
            bodies = _validate_all(body, [envelope.body for _index, envelope in events])
            for (index, envelope), (valid, error) in zip(events, bodies, strict=True):
                checked[index] = (envelope, "") if valid is not None else \
                    (None, f"invalid {type} body: {error}")
        for index, (envelope, _reason) in enumerate(checked):
            if envelope is not None:
                refusal = self.check_event(batch, envelope)
                if refusal is not None:
                    checked[index] = (None, refusal)
        return checked

    def _accept(
        self, incoming: IncomingBatch, envelope: Envelope, raw: dict[str, Any], text: str | None
    ) -> AcceptedEvent:
        """The event as it will be stored and forwarded: the sender's JSON, plus our stamp.

        The sender's own text (`text`, when the batch could be read in one pass) is kept
        as it came and the stamp spliced in: serialising every event again was the
        costliest step of the hot path.
        """
        essential = spec_for(envelope.type).essential
        if self.stamp_by is None or envelope.recv is not None:
            return AcceptedEvent(envelope, text if text is not None else _dump(raw), essential)
        batch = incoming.batch
        reference = self.clock_reference(envelope.device)
        skew_ms = reference.skew_ms if reference is not None else incoming.skew_ms
        if reference is not None and envelope.boot == reference.boot:
            # The device's monotonic clock, tied to ours by its last live heartbeat,
            # dates the event whatever its wall clock said, and however long it queued.
            est_time = reference.mono_offset_ms + envelope.mono
        elif envelope.boot == batch.boot:
            est_time = incoming.received_at - (batch.sent_mono - envelope.mono)
        else:
            est_time = envelope.time + skew_ms
        received = Received(by=self.stamp_by, at=incoming.received_at, est_time=est_time, skew_ms=skew_ms)
        stamped = envelope.model_copy(update={"recv": received})
        if text is not None and "recv" not in raw:
            # A JSON object ends with its closing brace: the stamp goes in just before it.
            payload = text[:-1] + ',"recv":' + received.model_dump_json() + "}"
        else:
            payload = _dump({**raw, "recv": received.model_dump()})
        return AcceptedEvent(stamped, payload, essential)

    def _refuse(
        self, topic: str, sender: str, payload: bytes | bytearray, reason: str, batch_id: str | None = None
    ) -> Ack | None:
        self.store.dead_letter(DeadLetter(topic, sender, reason, bytes(payload)))
        self.counters["rejected"] += 1
        log.warning("refused a message from %s on %s: %s", sender, topic, reason)
        if batch_id is None:
            return None
        return Ack(v=1, batch=batch_id, error=reason)


RECEIVER_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    digest TEXT PRIMARY KEY,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    times INTEGER NOT NULL,
    topic TEXT NOT NULL,
    sender TEXT,
    event_id TEXT,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS streams (
    sender TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""
"""Tables every receiving store keeps: refused messages, and how far each sender's stream got."""


def store_dead_letter(tx: sqlite3.Connection, letter: DeadLetter, now_ms: int) -> int:
    """Keep a refused message (once per distinct content); returns how often it has come."""
    (times,) = tx.execute(
        "INSERT INTO dead_letters (digest, first_at, last_at, times, topic, sender, event_id, "
        "reason, payload) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?) "
        "ON CONFLICT (digest) DO UPDATE SET times = times + 1, last_at = excluded.last_at "
        "RETURNING times",
        (letter.digest, now_ms, now_ms, letter.topic, letter.sender, letter.event_id, letter.reason,
         letter.payload),
    ).fetchone()
    return int(times)


def advance_stream(tx: sqlite3.Connection, batch: Batch) -> None:
    if batch.last is not None:
        tx.execute(
            "INSERT INTO streams (sender, position) VALUES (?, ?) "
            "ON CONFLICT (sender) DO UPDATE SET position = excluded.position",
            (batch.sender, batch.last),
        )


def read_stream_position(rows: list[Any]) -> int | None:
    return int(rows[0][0]) if rows else None


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _dump(value: Any) -> str:
    # One encoder for every call: json.dumps with options builds a new one each time.
    return _ENCODER.encode(value)


@cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _validate_all(model: type[ModelT], items: Sequence[Any]) -> list[tuple[ModelT | None, str]]:
    """Validate every item as `model`: one pydantic call for the whole list, and only when it
    fails, one call per item to tell which failed and why."""
    try:
        return [(valid, "") for valid in _list_of(model).validate_python(items)]
    except ValidationError:
        pass
    results: list[tuple[ModelT | None, str]] = []
    for item in items:
        try:
            results.append((model.model_validate(item), ""))
        except ValidationError as exc:
            results.append((None, describe_error(exc)))
    return results
