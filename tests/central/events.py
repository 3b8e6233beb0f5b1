"""Events as a hall's gateway forwards them, committed straight into central's store (no broker)."""

from __future__ import annotations

import uuid
from typing import Any

from central.store import CentralStore
from contract.envelope import Batch, Envelope, Received
from spine.receiver import AcceptedEvent, IncomingBatch

GATEWAY = "gw-hall-01"


def deliver(store: CentralStore, hall: str, events: list[tuple[str, dict[str, Any], int]],
            *, device: str = GATEWAY, author: dict[str, Any] | None = None) -> None:
    """Store `(type, body, at ms)` events of `hall` in one batch, as central's ingest does.

    They are the gateway's own facts, or, with `device` and `author` (the verified
    author the gateway stamps: kind, window, officer, unit), a device's facts.
    """
    envelopes = [
        Envelope(v=1, id=uuid.uuid4().hex, device=device, seq=1, boot="boot0001", time=at, mono=0,
                 type=type, body=body, recv=Received(by=GATEWAY, at=at, est_time=at, **(author or {})))
        for type, body, at in events
    ]
    batch = Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=0, sent_mono=0,
                  events=[e.model_dump() for e in envelopes])
    store.commit(IncomingBatch(topic=f"central/{hall}/events", batch=batch, received_at=0,
                               events=[AcceptedEvent(e, e.model_dump_json(), True) for e in envelopes]),
                 [])
