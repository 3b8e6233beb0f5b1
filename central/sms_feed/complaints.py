"""The complaint log as the SMS feed reads it: a complaint received (with its answer's due day)
and answered, told to a complainant who left a phone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from central.cases.timebase import day_of, format_day
from central.complaints.log import LOG
from central.sms_feed.facts import Chunk, Fact
from central.store import CentralStore
from contract.privacy import ERASED

TOLD = ("complaint.received", "complaint.answered")

Contact = Callable[[str], dict[str, Any]]
"""complaint -> {"phone": clear or None} (`ComplaintDesk.contact`)."""


class ComplaintFacts:
    name = "complaints"

    def __init__(self, store: CentralStore, contact: Contact) -> None:
        self.store = store
        self.contact = contact

    def head(self) -> int:
        return self.store.read(LOG.head)

    def after(self, position: int, limit: int) -> Chunk:
        head = self.head()
        steps = self.store.read(lambda tx: LOG.after(tx, position, head, TOLD, limit))
        facts = [self._fact(step.seq, step.subject[0], step.type, step.at, step.text) for step in steps]
        upto = steps[-1].seq if len(steps) == limit else head
        return Chunk(facts, max(upto, position))

    def _fact(self, seq: int, complaint: str, type: str, at: int, text: str) -> Fact:
        phone = self.contact(complaint).get("phone")
        if not phone or phone == ERASED:
            return Fact(seq, f"complaint:{seq}", type, None, at)
        body: dict[str, Any] = {"complaint": complaint, "phone": phone}
        due_at = json.loads(text).get("due_at")
        if type == "complaint.received" and isinstance(due_at, int):
            body["due_day"] = format_day(day_of(due_at // 1000 - 1))  # due at 00:00 after its last day
        return Fact(seq, f"complaint:{seq}", type, body, at)
