"""One shape for a node's domain logic fed by the events it stores (gateway and central alike).

A handler runs inside the transaction that stores the event: what it writes
commits with the event or not at all, and a resent event never reaches it
twice (the event log deduplicates first). What it may do is in its context:
write through `tx`, record a fact of the node itself with `emit` (same
transaction), and queue live messages that go out only once the commit holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from spine.receiver import AcceptedEvent
from spine.sqlite import before_commit
from spine.statement import Tx

Emit = Callable[[str, Mapping[str, Any]], None]
"""Record an event of the node itself (type, body), in the same transaction."""


class LiveMessage(NamedTuple):
    topic: str
    payload: str
    retain: bool


def records_nothing(type: str, _body: Mapping[str, Any]) -> None:
    """The `emit` of a node that records no events of its own."""
    raise RuntimeError(f"this node records no events of its own (asked to record {type})")


@dataclass
class HandlerContext:
    """What a handler may do while an event (or a command, a timer) is being stored."""

    tx: sqlite3.Connection
    """The open transaction: the handler's own tables commit with the event."""
    hall: str
    """The hall the event belongs to (a gateway's own hall; at central, the sending gateway's)."""
    now_ms: int
    """The node's clock when the transaction began."""
    emit: Emit = records_nothing
    live: list[LiveMessage] = field(default_factory=list)
    sql: Tx | None = None
    """The same transaction for statements written once for both databases (`spine.statement`),
    when it is not `tx` itself: at central on PostgreSQL, where `tx` refuses SQLite's SQL."""

    @property
    def portable(self) -> Tx:
        """Where a handler whose statements are written once (`spine.statement`) writes."""
        return self.sql if self.sql is not None else self.tx

    def publish_after_commit(self, topic: str, payload: str, retain: bool = False) -> None:
        """A live message (a hall display, a reply to a device), sent only once the commit holds."""
        self.live.append(LiveMessage(topic, payload, retain))

    def before_commit(self, key: Hashable, action: Callable[[], None]) -> None:
        """Run `action` once the whole batch has been handled, inside the transaction, just before
        it commits (the last one registered under `key` wins): a projection's cursor is moved once
        per batch instead of once per event."""
        before_commit(self.portable, key, action)


class EventHandler(Protocol):
    """Domain logic fed by every newly stored event, inside the storing transaction."""

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None: ...
