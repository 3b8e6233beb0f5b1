"""The receiving half of every hop: check a batch, keep what is valid, dead-letter the rest, ack.

Used by the hall gateway (from devices) and by central (from gateways). The
store commits valid events and dead letters in one durable transaction; only
then is the acknowledgement built. Nothing a sender sends is thrown away: what
is refused is kept as a dead letter with its reason.

What a node allows is its own policy, asked at three points: `authorize` (may
this sender send at all), `check_event` (may it state this event, judged from
the event and what the node knows before storing anything) and the store's
admission inside the storing transaction (judged after the batch's earlier
events took effect: a window's login, a case just entered). A refusal by that
policy is an alarm (`Refusal.alarm`), not only a form error: the node reports it.

The work is done per batch, not per event: the message is read in one pass
that keeps each event's own text (`spine/wire.py`), the envelopes are validated
in one pydantic call, the bodies in one call per event type, and only a batch
holding an invalid event is looked at event by event to say which and why.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import (
    BigInteger,
    Column,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    literal_column,
    select,
)

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
from contract.privacy import redact
from contract.registry import UnknownEventType, describe_error
from contract.text import ESCAPED_NUL, nul_place, printable
from spine.clock import Clock
from spine.statement import Statement, Tx, insert_for
from spine.wire import read_batch

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Refusal:
    """Why a node's policy refused a batch or an event."""

    reason: str
    alarm: bool = True
    """Refused because its author may not say it (reported as a security event), rather than
    held back by a rule an honest device also meets (a device whose self-test is pending)."""


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    sender: str | None
    reason: str
    payload: bytes
    event_id: str | None = None
    alarm: bool = False
    """Refused by the node's policy as an author's overstep (see `Refusal.alarm`)."""
    event_type: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.topic.encode() + b"\0" + self.payload).hexdigest()


@dataclass(frozen=True)
class AcceptedEvent:
    envelope: Envelope
    payload: str
    """The envelope as stored and forwarded (with the receiver's stamp, if any)."""
    essential: bool

    def restamped(self, **fields: Any) -> AcceptedEvent:
        """The event with more of the receiver's stamp (who was logged in when it was stored)."""
        assert self.envelope.recv is not None, "only a stamped event can be stamped further"
        received = self.envelope.recv.model_copy(update=fields)
        raw = json.loads(self.payload)
        raw["recv"] = received.stamp()
        return AcceptedEvent(self.envelope.model_copy(update={"recv": received}), _dump(raw),
                             self.essential)


@dataclass
class IncomingBatch:
    topic: str
    batch: Batch
    received_at: int
    events: list[AcceptedEvent] = field(default_factory=list)
    skew_ms: int = 0
    refused: list[tuple[AcceptedEvent, Refusal]] = field(default_factory=list)
    """Events the store's admission refused inside the transaction (filled by `refuse`)."""

    def refuse(self, event: AcceptedEvent, refusal: Refusal) -> DeadLetter:
        """Note an event refused while storing the batch; returns its dead letter to keep."""
        self.refused.append((event, refusal))
        return DeadLetter(self.topic, self.batch.sender, refusal.reason, event.payload.encode(),
                          event.envelope.id, refusal.alarm, event.envelope.type)


@dataclass(frozen=True)
class _DeviceStamp:
    """What the receipt stamps of one device's events in one batch share: all but `est_time`."""

    reference: Any
    """The device's clock reference (see `BatchReceiver.clock_reference`), or None."""
    skew_ms: int
    fields: dict[str, Any]
    before: str
    """The stamp's JSON members before `est_time` (the receiver and the time of receipt)."""
    after: str
    """Its members after `est_time` (the skew and the author)."""


class OutOfOrder(Exception):
    """A batch came before its predecessor was stored (`Batch.after` beyond the sender's
    stream): nothing of it was stored, and the sender is asked for the gap."""


class ReceiverStore(Protocol):
    checks_order: bool
    """Whether `commit` itself checks that the batch follows the sender's stream (raising
    `OutOfOrder`), inside its transaction; if not, the receiver asks `stream_position` first."""

    def commit(self, incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        """Store valid events (deduplicated by id) and dead letters in one durable
        transaction; return (stored, duplicates)."""
        ...

    def dead_letter(self, dead: DeadLetter) -> None: ...

    def stream_position(self, sender: str) -> int | None:
        """The sender outbox position of the last batch committed from `sender`."""
        ...


Authorizer = Callable[[str, Batch], Refusal | None]
"""(topic sender, batch) -> None when allowed, else the refusal."""
EventCheck = Callable[[str, Batch, Envelope], Refusal | None]
"""(topic sender, batch, event) -> None when allowed, else the refusal; before any storing."""
AuthorOf = Callable[[Envelope], Mapping[str, Any]]
"""The author a first receiver verified (kind, window), added to its receipt stamp. It depends
on the event's device alone: asked once per device and batch."""
Admission = Callable[[AcceptedEvent], "AcceptedEvent | Refusal"]
"""Inside the storing transaction, for an event not stored before: the event to store (maybe
stamped further), or the refusal. Earlier events of the same batch have taken effect."""


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
        author_of: AuthorOf | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.authorize = authorize
        self.check_event = check_event
        self.stamp_by = stamp_by
        self.clock_reference = clock_reference or (lambda _device: None)
        self.author_of = author_of or (lambda _envelope: {})
        self.counters: dict[str, int] = {
            "batches": 0, "stored": 0, "duplicates": 0, "rejected": 0, "out_of_order": 0, "alarms": 0,
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
            return self._refuse(topic, topic_sender, payload, refusal.reason, batch.batch, refusal.alarm)
        if batch.after is not None and not self.store.checks_order and not follows(
                batch, self.store.stream_position(batch.sender)):
            # An earlier batch was lost (a broker crashed after its PUBACK): storing this one
            # now would break the sender's order. Ask for the gap first.
            self.counters["out_of_order"] += 1
            return Ack(v=batch.v, batch=batch.batch, resend=True)

        incoming = IncomingBatch(topic, batch, now, skew_ms=now - batch.sent_at)
        dead: list[DeadLetter] = []
        rejections: list[Rejection] = []
        positions: dict[str, int] = {}
        stamps: dict[str, _DeviceStamp] = {}
        checked = self._check(topic_sender, batch, may_hold_nul=ESCAPED_NUL in payload)
        for index, (item, outcome) in enumerate(zip(batch.events, checked, strict=True)):
            if isinstance(outcome, Refusal):
                refusal = outcome
                event_id = item.get("id") if isinstance(item, dict) else None
                event_id = event_id if isinstance(event_id, str) else None
                event_type = item.get("type") if isinstance(item, dict) else None
                rejections.append(Rejection(index=index, id=event_id, reason=refusal.reason))
                dead.append(DeadLetter(topic, batch.sender, refusal.reason, _dump(item).encode(), event_id,
                                       refusal.alarm, event_type if isinstance(event_type, str) else None))
                continue
            positions.setdefault(outcome.id, index)
            text = texts[index] if texts is not None else None
            incoming.events.append(self._accept(incoming, outcome, item, text, stamps))
        try:
            stored, duplicates = self.store.commit(incoming, dead)
        except OutOfOrder:
            self.counters["out_of_order"] += 1
            return Ack(v=batch.v, batch=batch.batch, resend=True)
        for event, refusal in incoming.refused:
            rejections.append(Rejection(index=positions[event.envelope.id], id=event.envelope.id,
                                        reason=refusal.reason))
        rejections.sort(key=lambda rejection: rejection.index)
        self.counters["batches"] += 1
        self.counters["stored"] += stored
        self.counters["duplicates"] += duplicates
        self.counters["rejected"] += len(rejections)
        self.counters["alarms"] += sum(1 for letter in dead if letter.alarm) + sum(
            1 for _event, refusal in incoming.refused if refusal.alarm)
        for rejection in rejections:
            log.warning("refused event %s from %s: %s", rejection.id, batch.sender, rejection.reason)
        return Ack(v=batch.v, batch=batch.batch, stored=stored, duplicates=duplicates, rejected=rejections)

    def _check(self, topic_sender: str, batch: Batch, *, may_hold_nul: bool) -> list[Envelope | Refusal]:
        """Every event of the batch, in order: its envelope, or why it is refused, for its form
        (no alarm) or by the node's policy. Validated per batch: one pydantic call for the
        envelopes and one per event type for the bodies. `may_hold_nul`: the payload spells a
        NUL character somewhere (else its events are not searched for one)."""

        def malformed(reason: str) -> Refusal:
            return Refusal(reason, alarm=False)

        checked: list[Envelope | Refusal] = [malformed("")] * len(batch.events)
        shaped: list[int] = []
        for index, item in enumerate(batch.events):
            if not isinstance(item, dict):
                checked[index] = malformed("event is not a JSON object")
            elif item.get("v") not in SUPPORTED_VERSIONS:
                checked[index] = malformed(f"unsupported event version {item.get('v')!r}")
            elif may_hold_nul and (place := nul_place(item)) is not None:
                # Its text would fail in a PostgreSQL column (a case's row, a projection's), not
                # on SQLite: refused alike at every hop instead.
                checked[index] = malformed(
                    f"a NUL character in {'.'.join(map(str, place)) or 'the event'}: no store"
                    " can hold one; fix the sender")
            else:
                shaped.append(index)
        envelopes = _validate_all(Envelope, [batch.events[index] for index in shaped])
        by_type: dict[str, list[tuple[int, Envelope]]] = {}
        for index, (envelope, error) in zip(shaped, envelopes, strict=True):
            if envelope is None:
                checked[index] = malformed(f"malformed envelope: {error}")
            else:
                by_type.setdefault(envelope.type, []).append((index, envelope))
        for type, events in by_type.items():
            try:
                body = spec_for(type).body
            except UnknownEventType as exc:
                for index, _envelope in events:
                    checked[index] = malformed(str(exc))
                continue
            bodies = _validate_all(body, [envelope.body for _index, envelope in events])
            for (index, envelope), (valid, error) in zip(events, bodies, strict=True):
                checked[index] = envelope if valid is not None else malformed(f"invalid {type} body: {error}")
        for index, outcome in enumerate(checked):
            if isinstance(outcome, Envelope):
                checked[index] = self._policy(topic_sender, batch, outcome) or outcome
        return checked

    def _policy(self, topic_sender: str, batch: Batch, envelope: Envelope) -> Refusal | None:
        if self.stamp_by is not None and envelope.recv is not None:
            # The first receiver's stamp says when it arrived and who sent it: a sender that
            # brings its own would choose its "gateway time" and its author.
            return Refusal(f"{envelope.type} arrived with a receipt stamp of its own "
                           f"(by {envelope.recv.by!r}): only {self.stamp_by} stamps receipt")
        return self.check_event(topic_sender, batch, envelope)

    def _accept(
        self, incoming: IncomingBatch, envelope: Envelope, raw: dict[str, Any], text: str | None,
        stamps: dict[str, _DeviceStamp],
    ) -> AcceptedEvent:
        """The event as it will be stored and forwarded: the sender's JSON, plus our stamp.

        The sender's own text (`text`, when the batch could be read in one pass) is kept
        as it came and the stamp spliced in: serialising every event again was the
        costliest step of the hot path. What the stamp says of the device (its clock's
        tie to ours, its author) is worked out once per batch (`stamps`), not per event.
        """
        essential = spec_for(envelope.type).essential
        if self.stamp_by is None:
            return AcceptedEvent(envelope, text if text is not None else _dump(raw), essential)
        batch = incoming.batch
        stamp = stamps.get(envelope.device)
        if stamp is None:
            stamp = stamps[envelope.device] = self._device_stamp(incoming, envelope)
        reference = stamp.reference
        if reference is not None and envelope.boot == reference.boot:
            # The device's monotonic clock, tied to ours by its last live heartbeat,
            # dates the event whatever its wall clock said, and however long it queued.
            est_time = reference.mono_offset_ms + envelope.mono
        elif envelope.boot == batch.boot:
            est_time = incoming.received_at - (batch.sent_mono - envelope.mono)
        else:
            est_time = envelope.time + stamp.skew_ms
        received = Received(**stamp.fields, est_time=est_time)
        stamped = _stamped_in_place(envelope, received)
        if text is not None and "recv" not in raw:
            # A JSON object ends with its closing brace: the stamp goes in just before it.
            payload = f'{text[:-1]},"recv":{{{stamp.before},"est_time":{est_time},{stamp.after}}}}}'
        else:
            payload = _dump({**raw, "recv": received.stamp()})
        return AcceptedEvent(stamped, payload, essential)

    def _device_stamp(self, incoming: IncomingBatch, envelope: Envelope) -> _DeviceStamp:
        reference = self.clock_reference(envelope.device)
        skew_ms = reference.skew_ms if reference is not None else incoming.skew_ms
        assert self.stamp_by is not None
        known = {"by": self.stamp_by, "at": incoming.received_at}
        rest = {"skew_ms": skew_ms, **self.author_of(envelope)}
        # The model's field order is by, at, est_time, then the rest: the stamp's JSON is the
        # members before est_time and after it, each written once here (`stamp_json`).
        return _DeviceStamp(reference, skew_ms, {**known, **rest}, stamp_json(known)[1:-1],
                            stamp_json(rest)[1:-1])

    def _refuse(
        self, topic: str, sender: str, payload: bytes | bytearray, reason: str, batch_id: str | None = None,
        alarm: bool = False,
    ) -> Ack | None:
        self.store.dead_letter(DeadLetter(topic, sender, reason, bytes(payload), alarm=alarm))
        self.counters["rejected"] += 1
        self.counters["alarms"] += int(alarm)
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


RECEIVER_TABLES = MetaData()
DEAD_LETTERS = Table(
    "dead_letters", RECEIVER_TABLES,
    Column("digest", Text, primary_key=True),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
    Column("times", BigInteger, nullable=False),
    Column("topic", Text, nullable=False),
    Column("sender", Text),
    Column("event_id", Text),
    Column("reason", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)
STREAMS = Table(
    "streams", RECEIVER_TABLES,
    Column("sender", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)
"""`RECEIVER_SCHEMA` in SQLAlchemy Core: the same tables wherever a store is not a raw SQLite file."""


def _keep_dead_letter(dialect: str) -> Any:
    insert = insert_for(dialect, DEAD_LETTERS).values(
        digest=bindparam("digest"), first_at=bindparam("now"), last_at=bindparam("now"),
        times=literal_column("1"), topic=bindparam("topic"), sender=bindparam("sender"),
        event_id=bindparam("event_id"), reason=bindparam("reason"), payload=bindparam("payload"))
    return insert.on_conflict_do_update(
        index_elements=["digest"],
        set_={"times": DEAD_LETTERS.c.times + 1, "last_at": insert.excluded.last_at},
    ).returning(DEAD_LETTERS.c.times)


def _advance(dialect: str) -> Any:
    insert = insert_for(dialect, STREAMS).values(sender=bindparam("sender"), position=bindparam("position"))
    return insert.on_conflict_do_update(index_elements=["sender"],
                                        set_={"position": insert.excluded.position})


KEEP_DEAD_LETTER = Statement(_keep_dead_letter)
ADVANCE_STREAM = Statement(_advance)
STREAM_POSITION = Statement(lambda _dialect: select(STREAMS.c.position).where(
    STREAMS.c.sender == bindparam("sender")))


def store_dead_letter(tx: Tx, letter: DeadLetter, now_ms: int) -> int:
    """Keep a refused message (once per distinct content); returns how often it has come.

    It is kept as evidence of what was sent, with its personal data masked
    (`masked_payload`): a refused `queue.contact_given` must not keep a citizen's phone
    in clear where nothing ever erases it."""
    (times,) = KEEP_DEAD_LETTER.run(tx, {
        # A refused event's id or a reason may echo a NUL the sender put in (not a topic: MQTT
        # forbids one there); the payload is bytes and keeps it as sent.
        "digest": letter.digest, "now": now_ms, "topic": letter.topic,
        "sender": None if letter.sender is None else printable(letter.sender),
        "event_id": None if letter.event_id is None else printable(letter.event_id),
        "reason": printable(letter.reason), "payload": masked_payload(letter.payload),
    }).fetchone()
    return int(times)


def masked_payload(payload: bytes) -> bytes:
    """The payload with phones, identity numbers and secrets masked, otherwise byte for byte.

    Text is masked as UTF-8; anything else as Latin-1, which maps each byte to one
    character and back, so a binary payload keeps its length and every byte the mask
    leaves alone (the digest that counts repeats is taken before, over the original)."""
    try:
        return redact(payload.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return redact(payload.decode("latin-1")).encode("latin-1", errors="backslashreplace")


def advance_stream(tx: Tx, batch: Batch) -> None:
    if batch.last is not None:
        ADVANCE_STREAM.run(tx, {"sender": batch.sender, "position": batch.last})


def follows(batch: Batch, position: int | None) -> bool:
    """Whether `batch` may be stored after the sender's stream reached `position`: it starts
    a stream (`after` None), or nothing between the two is missing (a resend of batches
    stored already is a run of duplicates, and follows too)."""
    return batch.after is None or (position is not None and batch.after <= position)


def stream_position(tx: Tx, sender: str) -> int | None:
    """How far a sender's stream got, as the last commit left it (None: never heard from)."""
    return read_stream_position(list(STREAM_POSITION.run(tx, {"sender": sender}).fetchall()))


def read_stream_position(rows: list[Any]) -> int | None:
    return int(rows[0][0]) if rows else None


def _stamped_in_place(envelope: Envelope, received: Received) -> Envelope:
    """`envelope` with its receipt stamp, set in place instead of copying the model (a copy per
    event was an eighth of a hall gateway's ingest). Only for an envelope this receiver has
    just validated from the message and that nothing else holds yet; `recv` is then marked
    set, as `model_copy(update=...)` would."""
    envelope.__dict__["recv"] = received
    envelope.__pydantic_fields_set__.add("recv")
    return envelope


_STAMP_FIELDS = tuple(Received.model_fields)


def stamp_json(fields: Mapping[str, Any]) -> str:
    """`Received(**fields).stamp()` as JSON text, written directly: a receipt stamp is made for
    every event a gateway receives, and serialising it through the json module and the model's
    dump cost more than validating it. Fields in the model's order, None left out, integers as
    integers and every other value as a JSON string (an enum by its value)."""
    members = []
    for name in _STAMP_FIELDS:
        value = fields.get(name)
        if value is None:
            continue
        if type(value) is int:
            members.append(f'"{name}":{value}')
        else:
            members.append(f'"{name}":{_quote(str(value))}')
    return "{" + ",".join(members) + "}"


_quote = json.encoder.encode_basestring
"""A str as a JSON string, non-ASCII kept as it is (as `_dump` writes it)."""

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
