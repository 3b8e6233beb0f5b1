"""The append-only log of every event a receiving node stored: each event once, never changed.

The hall gateway and central each keep one `events` table. It is unique by
event id, so a resend after days is still a duplicate, and triggers refuse
UPDATE and DELETE, so a record once written stays as written. What a node
indexes besides differs (central keeps the hall and the gateway's clock, the
gateway the device's boot), so each node declares its columns in an
`EventLog`; the table's rules, appending, and the loop that commits a batch
(store new events, count duplicates, keep dead letters, advance the sender's
stream) are the same for every node.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spine.receiver import AcceptedEvent, Admission, DeadLetter, IncomingBatch, Refusal, advance_stream
from spine.sqlite import append_only

_REQUIRED = ("type", "payload")


@dataclass(frozen=True)
class EventLog:
    """One node's `events` table: `id` (its order of arrival), `event_id`, then `columns`."""

    columns: tuple[tuple[str, str], ...]
    """Name and SQL type of every other column, in order; `type` and `payload` are required."""
    device_key: tuple[str, ...] = ("device", "seq")
    """The columns that find one device's events in order (indexed)."""
    _insert: str = field(init=False, repr=False)
    _names: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = [name for name, _ in self.columns]
        missing = [name for name in _REQUIRED if name not in names]
        if missing:
            raise ValueError(f"an event log needs the columns {missing}")
        marks = ", ".join("?" * (len(names) + 1))
        object.__setattr__(self, "_insert", (
            f"INSERT OR IGNORE INTO events (event_id, {', '.join(names)}) VALUES ({marks})"
        ))
        object.__setattr__(self, "_names", tuple(names))

    def schema(self) -> str:
        """The table, its indexes and the triggers that keep it append-only."""
        columns = "".join(f",\n    {name} {kind}" for name, kind in self.columns)
        return f"""
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE{columns}
);
CREATE INDEX IF NOT EXISTS events_by_device ON events ({', '.join(self.device_key)});
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id);
""" + append_only("events", "the event log")

    def append(self, tx: sqlite3.Connection, event_id: str, row: Mapping[str, Any]) -> bool:
        """Store an event inside `tx`; False when its id is already in the log (a resend).
        A column missing from `row` is stored as NULL."""
        return tx.execute(self._insert, (event_id, *map(row.get, self._names))).rowcount == 1

    def holds(self, tx: sqlite3.Connection, event_id: str) -> bool:
        """Whether the log already has this event (a resend is a duplicate, whatever changed since)."""
        return tx.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone() is not None


def commit_batch(
    tx: sqlite3.Connection,
    log: EventLog,
    incoming: IncomingBatch,
    dead: list[DeadLetter],
    *,
    row: Callable[[AcceptedEvent], Mapping[str, Any]],
    stored: Callable[[AcceptedEvent], None],
    dead_letter: Callable[[DeadLetter], object],
    admit: Admission | None = None,
) -> tuple[int, int]:
    """A receiver's batch inside `tx`: each new event admitted (`admit`, when the node has
    rules that need what earlier events did), appended (`row` gives its columns) and handed
    to `stored` (the node's handlers and forwarding), each dead letter to `dead_letter`, then
    the sender's stream advanced. Returns (stored, duplicates)."""
    new = duplicates = 0
    for event in incoming.events:
        if admit is not None and not log.holds(tx, event.envelope.id):
            verdict = admit(event)
            if isinstance(verdict, Refusal):
                dead_letter(incoming.refuse(event, verdict))
                continue
            event = verdict
        if log.append(tx, event.envelope.id, row(event)):
            new += 1
            stored(event)
        else:
            duplicates += 1
    for letter in dead:
        dead_letter(letter)
    advance_stream(tx, incoming.batch)
    return new, duplicates
