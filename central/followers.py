"""Other roles following central's event log from its tick: whichever process stored each event.

With several central processes sharing the halls' streams (`[ingest] shared_group`), a handler
on the ingest sees only the batches its own process stores. A role whose state lives outside
central's database (provisioning's registry file on the provisioning home) cannot be such a
handler: it would miss the events the other processes stored. It follows the log instead: at
every tick of the process it is configured in, it reads the events of its types after its own
position (kept with its state, so what it applied and how far it read commit together) up to
the log's settled top (`central.anomalies.feeds.settled_top`: no lower id can still commit).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import bindparam, literal, select

from central.anomalies.feeds import EVENTS, EventReads, read_forward, settled_top
from spine.statement import Statement


class LogFollower(Protocol):
    """A role's follower of the event log (the composition root hands central its followers)."""

    name: str
    """What it keeps up to date, for the log when a pass fails."""

    def follow(self, events: EventReads) -> None:
        """Apply what was stored since the last pass (called from central's tick)."""


@dataclass(frozen=True)
class StoredEvent:
    """One event of the log as stored: its row id, the hall whose stream it came in, its JSON."""

    row_id: int
    hall: str
    payload: str


class EventsOfTypes:
    """The log's events of some types, read forward from a position, in the order of their ids."""

    def __init__(self, events: EventReads, types: Collection[str]) -> None:
        self.events = events
        wanted = sorted(types)
        e = EVENTS.c
        self._wanted = Statement(lambda _dialect: select(e.id, e.hall, e.payload).where(
            e.id > bindparam("after"), e.id <= bindparam("top"), e.type.in_([literal(t) for t in wanted])
        ).order_by(e.id).limit(bindparam("limit")))

    def read(self, after: int, limit: int) -> tuple[list[StoredEvent], int]:
        """Up to `limit` events after `after`, and the position to read on from (past the rows of
        other types too, never past one not yet read)."""
        rows, position = read_forward(self.events, settled_top, self._wanted, after, limit)
        return [StoredEvent(int(row_id), hall, payload) for row_id, hall, payload in rows], position
