"""Recording an event on a device: validate, envelope, commit to the outbox, return."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contract.catalog import spec_for
from contract.envelope import dump_envelope, new_envelope
from spine.clock import Clock
from spine.drops import DropCounts
from spine.outbox import Outbox

MAX_EVENT_BYTES = 64 * 1024


class EventTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class RecordedEvent:
    event_id: str
    seq: int
    """0 when a routine event was refused for space (counted and reported)."""

    @property
    def stored(self) -> bool:
        return self.seq > 0


class EventRecorder:
    """Turns a device's domain events into durable envelopes in its outbox."""

    def __init__(self, outbox: Outbox, device_id: str, clock: Clock) -> None:
        self.outbox = outbox
        self.device_id = device_id
        self.clock = clock

    def record(self, type: str, body: Mapping[str, Any] | BaseModel) -> RecordedEvent:
        """Validate `body` against the type's schema and commit it; returns after the commit."""
        return self._record(type, body)

    def report_drops(self) -> int:
        """Record one `device.dropped` for every drop not reported yet, marking them reported in
        the same commit (never lost, never reported twice); returns how many it reported.
        Raises OutboxFull like any essential event when the disk has no room for it."""
        counts = self.outbox.unreported_drops()
        if not counts:
            return 0
        total = sum(sum(by_type.values()) for by_type in counts.values())
        self._record("device.dropped", {"counts": counts, "total": total}, settles=counts)
        return total

    def _record(
        self, type: str, body: Mapping[str, Any] | BaseModel, settles: DropCounts | None = None
    ) -> RecordedEvent:
        spec = spec_for(type)
        model = body if isinstance(body, BaseModel) else spec.body.model_validate(body)
        body_json = model.model_dump(mode="json")
        event_id = time_ordered_id(self.clock.wall_ms())
        boot = self.clock.boot_id()

        def make_payload(seq: int) -> str:
            payload = dump_envelope(new_envelope(
                device=self.device_id, seq=seq, boot=boot, time=self.clock.wall_ms(),
                mono=self.clock.mono_ms(), type=type, body=body_json, event_id=event_id,
            ))
            if len(payload) > MAX_EVENT_BYTES:
                raise EventTooLarge(
                    f"{type} event of {len(payload)} bytes exceeds {MAX_EVENT_BYTES}"
                )
            return payload

        seq = self.outbox.put(
            event_id=event_id, type=type, essential=spec.essential, make_payload=make_payload,
            settles=settles,
        )
        return RecordedEvent(event_id, seq)


def time_ordered_id(wall_ms: int) -> str:
    """An event id that sorts by when it was made: 12 hex digits of wall-clock milliseconds,
    then 80 random bits (the layout of a UUIDv7, in the 32 hex digits of a uuid4).

    The random part alone keeps ids unique, whatever the clock says (a Pi without RTC).
    The time part is for the receivers: their event logs hold a UNIQUE index on the id,
    and ids that arrive roughly in order are appended to it instead of landing on a
    random page each: storing 60,000 events in the gateway's log took 6.5 us of CPU an event
    instead of 13 (and the drain's CPU at the gateway and central fell by about a tenth).
    """
    return f"{wall_ms & 0xFFFF_FFFF_FFFF:012x}{secrets.token_hex(10)}"
