"""The visit a complaint is about: which window served the citizen, when, by whom, for which unit.

A visit is named by its ticket (found in the queue facts the gateways forward)
or by its window and time. The unit (department) it was served for is what the
gateways attributed to that visit, officer or window when citizens rated them
(`central.ratings.RatingBook.department_of`): the complaint is assigned there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB

from central.store import TABLES, CentralStore
from spine.statement import Statement

_EVENTS = TABLES.tables["events"]


def _ticket_of(dialect: str) -> Any:
    """The ticket in a stored event's body: each database spells a JSON path its own way."""
    if dialect == "postgresql":
        body = cast(_EVENTS.c.payload, JSONB)
        return func.jsonb_extract_path_text(body, literal("body"), literal("ticket"))
    return func.json_extract(_EVENTS.c.payload, literal("$.body.ticket"))


_VISITS = Statement(lambda dialect: select(_EVENTS.c.type, _EVENTS.c.payload).where(
    _EVENTS.c.hall == bindparam("hall"),
    _EVENTS.c.type.in_([literal("queue.served"), literal("queue.called")]),
    _ticket_of(dialect) == bindparam("ticket")).order_by(_EVENTS.c.id.desc()).limit(50))


@dataclass(frozen=True)
class ServedVisit:
    """A citizen's visit to a window: where, by whom and when they were served."""

    hall: str
    window: str
    called_at: int
    ended_at: int | None = None
    ticket: str | None = None
    officer: str | None = None
    day: str | None = None
    """The queue's day of the ticket (ticket numbers restart every day)."""


class VisitLookup(Protocol):
    def __call__(self, hall: str, ticket: str, around_ms: int | None) -> ServedVisit | None:
        """The visit a ticket number stands for (the latest one before `around_ms`, if given)."""
        ...


class UnitOfVisit(Protocol):
    def __call__(self, visit: ServedVisit) -> str | None:
        """The unit (department) the visit was served for, if central can tell."""
        ...


class QueueEventVisits:
    """Finds a ticket's visit in the queue facts the gateways forwarded (`queue.served`, `queue.called`),
    in the event log on either database."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def __call__(self, hall: str, ticket: str, around_ms: int | None) -> ServedVisit | None:
        # Ticket numbers restart every day: take the latest visit that began by the time
        # the complainant gave (a day's slack: people misremember the hour, not the day).
        rows = self.store.read(lambda tx: _VISITS.run(tx, {"hall": hall, "ticket": ticket}).fetchall())
        for type, payload in rows:
            body = json.loads(payload)["body"]
            if around_ms is not None and body.get("called_at", body["at"]) > around_ms + 86_400_000:
                continue
            served = type == "queue.served"
            return ServedVisit(
                hall=hall, window=body["window"], ticket=ticket, officer=body.get("officer"),
                called_at=body["called_at"] if served else body["at"],
                ended_at=body["at"] if served else None, day=body.get("day"),
            )
        return None
