"""Central's event store, with the personal data of each event sealed before the event is written.

The `events` table is append-only forever (triggers refuse UPDATE and DELETE),
so a phone stored there in clear could never be erased. The fields the wire
contract names as personal (`contract.privacy.PERSONAL_FIELDS`: the phone of
`queue.contact_given`, a case's contact, phones in case notes) are sealed with
their subject's key in the stored payload. The handlers that run in the same
commit still receive the event as it arrived (a case fact must validate, the
visit's phone is sealed again in `queue_contacts` with the same key), and
projections catching up later read the sealed payload.

Subjects: a phone given at a window belongs to its visit (hall, day, ticket),
a case fact to its case, anything else to the event itself. The keys are the
vault's, in the same database as the log: a SQLite file or PostgreSQL alike.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from central.personal import vault
from central.personal.subjects import case_subject, visit_subject
from central.store import CentralHandler, CentralStore
from contract.envelope import dump_envelope
from contract.privacy import PERSONAL_FIELDS
from contract.topics import parse_central_topic
from spine.clock import Clock
from spine.receiver import AcceptedEvent, DeadLetter, IncomingBatch
from spine.statement import Tx
from spine.storeurl import StoreUrl

_NOT_INDEXED = frozenset({"officer_phone", "changes.officer_phone"})
"""The officer's work number is sealed, but it does not make a case answer a citizen's request."""


class SealingEventStore(CentralStore):
    """`CentralStore` whose stored payloads carry personal data only sealed."""

    def __init__(self, where: Path | StoreUrl, clock: Clock, handlers: list[CentralHandler] | None = None
                 ) -> None:
        super().__init__(where, clock, handlers)
        if self.url.is_sqlite:  # on PostgreSQL the vault's tables are the migrations'
            with self.transaction() as tx:
                vault.install(tx)

    def commit(self, incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        if any(event.envelope.type in PERSONAL_FIELDS for event in incoming.events):
            parsed = parse_central_topic(incoming.topic)
            hall = parsed[0] if parsed else "?"
            # The keys commit first: a batch that then fails leaves a key that the resend reuses.
            with self.statements() as tx:
                incoming = replace(incoming, events=[sealed_event(tx, hall, event)
                                                     for event in incoming.events])
        return super().commit(incoming, dead)


def sealed_event(tx: Tx, hall: str, event: AcceptedEvent) -> AcceptedEvent:
    """The event with its stored payload sealed; its parsed envelope (for the handlers) as it came."""
    fields = PERSONAL_FIELDS.get(event.envelope.type)
    if not fields:
        return event
    stored = json.loads(event.payload)
    body = copy.deepcopy(stored.get("body") or {})
    subject = subject_of(hall, event.envelope.type, body, event.envelope.id)
    for path, kind in fields.items():
        *parents, name = path.split(".")
        holder = body
        for parent in parents:
            holder = holder.get(parent) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or not isinstance(holder.get(name), str) or not holder[name]:
            continue
        holder[name] = (vault.seal_text(tx, subject, holder[name]) if kind is None else
                        vault.seal(tx, subject, kind, holder[name], indexed=path not in _NOT_INDEXED))
    stored["body"] = body
    return replace(event, payload=dump_envelope(stored))


def subject_of(hall: str, type: str, body: dict[str, Any], event_id: str) -> str:
    if type == "queue.contact_given" and body.get("day") and body.get("ticket"):
        return visit_subject(hall, str(body["day"]), str(body["ticket"]))
    if type.startswith("case.") and body.get("case_id"):
        return case_subject(str(body["case_id"]))
    return f"event:{event_id}"
