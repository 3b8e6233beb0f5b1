"""Recording an event on a device: validate, envelope, commit to the outbox, return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contract.catalog import spec_for
from contract.envelope import dump_envelope, new_envelope, time_ordered_id
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
