"""The case log as the SMS feed reads it: acceptances, suspensions, resumptions, completions and
the engine's reminders, from `cases.sqlite`, in log order.

Reads go through a read-only connection of their own (WAL: only committed
records, never waiting for a tick); the clear contact phone and the due day come
from the case store itself, taken alone for a moment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from central.cases import casefile as cf
from central.cases.store import CaseStore, UnknownCase
from central.cases.timebase import format_day, format_instant
from central.sms_feed.facts import Chunk, Fact
from contract.privacy import ERASED

TOLD = (cf.ACCEPTED, cf.SUSPENDED, cf.RESUMED, cf.COMPLETED, cf.REMINDER)
_STAND_IN = {"contact_name": "-", "officer_phone": "10000000000"}
"""A notice of acceptance reads the case's number, matter, limit, acceptance day and contact
phone; the other personal fields stay sealed, and these stand in for them to pass the schema."""

Alone = Callable[[], AbstractContextManager[CaseStore]]


class CaseFacts:
    name = "cases"

    def __init__(self, path: Path, alone: Alone) -> None:
        self.alone = alone
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30)

    def close(self) -> None:
        self._db.close()

    def head(self) -> int:
        return int(self._db.execute("SELECT max(seq) FROM case_events").fetchone()[0] or 0)

    def after(self, position: int, limit: int) -> Chunk:
        head = self.head()
        marks = ", ".join("?" * len(TOLD))
        rows = self._db.execute(
            f"SELECT seq, case_id, kind, at, actor, body FROM case_events WHERE seq > ? AND seq <= ? "
            f"AND kind IN ({marks}) ORDER BY seq LIMIT ?", (position, head, *TOLD, limit)).fetchall()
        facts = [self._fact(*row) for row in rows]
        upto = rows[-1][0] if len(rows) == limit else head
        return Chunk(facts, max(upto, position))

    def _fact(self, seq: int, case_id: str, kind: str, at: int | None, actor: str, text: str) -> Fact:
        body: dict[str, Any] = json.loads(text)
        happened = (at or 0) * 1000
        fact_id = f"case:{seq}"
        if kind == cf.ACCEPTED:
            phone, due_day = self._contact_and_due_day(case_id)
            told = None if phone is None else accepted_body(body, actor, phone)
            return Fact(seq, fact_id, kind, told, happened, due_day)
        if kind == cf.REMINDER:
            return Fact(seq, fact_id, kind, body, happened)
        told = {"case_id": case_id, "by": actor, "at": format_instant(at or 0)}
        if kind == cf.SUSPENDED:
            told["reason"] = body.get("reason", "")  # the note may hold personal data: not told
        return Fact(seq, fact_id, kind, told, happened)

    def _contact_and_due_day(self, case_id: str) -> tuple[str | None, str | None]:
        with self.alone() as store:
            try:
                phone = store.contact_phone(case_id)
                due = store.countdown(case_id).due_day
            except UnknownCase:
                return None, None
        if not phone or phone == ERASED:
            return None, None
        return phone, format_day(due) if due is not None else None


def accepted_body(logged: Mapping[str, Any], actor: str, contact_phone: str) -> dict[str, Any]:
    """A `case.accepted` body, as the contract has it, from its log record."""
    body = {name: value for name, value in logged.items() if name != "warnings"}
    return {**body, **_STAND_IN, "by": actor, "contact_phone": contact_phone}
