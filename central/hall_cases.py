"""Case facts a hall sends as events (a window's system entering a case) go into the case records.

A central handler: each case fact the halls forward is handed to the case store
as it is stored. Who may state it was settled before it was stored: a window's
caller, by its logged-in officer, for a case of its hall and that officer's unit
(`central.authority`; central's own escalations and reminders are never taken
from a hall). The case store is another file with its own log and its own
refusals, so this is not a catch-up projection: a fact the store refuses (a date
out of range, a conflicting entry) is logged and stays in the event log as
received, where the supervision office sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from central.cases.sources import hall_source
from central.cases.store import CaseConflict, EntryRejected, UnknownCase
from contract.authority import About
from contract.catalog import spec_for
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent

log = logging.getLogger(__name__)

RecordCaseFact = Callable[[str, Mapping[str, Any], str], object]
"""(event type, body, source) -> the case store records it (`CaseStore.record`), or raises its
refusal. The source is the hall's stream: its cases wait for that stream's watermark."""


class CaseFactsFromHalls:
    def __init__(self, record: RecordCaseFact) -> None:
        self.record = record

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        hall = context.hall
        kind = event.envelope.type
        if spec_for(kind).authority.about is not About.UNIT_CASES:
            return
        try:
            self.record(kind, event.envelope.body, hall_source(hall))
        except (EntryRejected, CaseConflict, UnknownCase) as exc:
            log.warning("hall %s sent a %s that the case store refused: %s", hall, kind, exc)
