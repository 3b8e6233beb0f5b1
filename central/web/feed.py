"""What changed, for the big screen: a version number and the last notable happenings (escalations).

Writers are threads (the engine, the ingest, the API's write routes); readers are
the server's event-stream handlers, which poll the version cheaply. Two backends
behind one interface (`ScreenFeed`), chosen by the event store's URL
(`central.web.notify_feed.open_feed`):

- `ChangeFeed`, in this process only: central on a SQLite file, one process.
- `NotifyFeed` (`central.web.notify_feed`), on PostgreSQL: a change is announced with
  NOTIFY, so every central process over the database hears it, its own included,
  and each process's readers read it from the same local version and list as here.

A version is a process's own count: two processes number the same changes
differently. The page never carries one across connections (it reconnects without
`since` and redraws), so a load balancer may send it to any process.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent
from spine.statement import Tx


@dataclass(frozen=True)
class Happening:
    version: int
    kind: str  # "escalation", "complaint", "devices", "cases"
    data: dict[str, Any] = field(default_factory=dict)


class ScreenFeed(Protocol):
    """Where central says what changed on the big screen, and where the screen's streams read it."""

    @property
    def version(self) -> int: ...

    def publish(self, kind: str, data: dict[str, Any] | None = None, *, tx: Tx | None = None) -> object:
        """Announce a happening. `tx`: the writer's transaction, still open; the announcement
        is heard once it commits (on PostgreSQL; in one process it is at once)."""
        ...

    def publish_many(self, happenings: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Several happenings of one piece of work (a tick's escalations), in order."""
        ...

    def touch(self, *, tx: Tx | None = None) -> None:
        """Something changed that needs no announcement of its own (a device came online)."""
        ...

    def stored(self, tx: Tx, hall: str) -> None:
        """A batch of `hall`'s events is being stored in `tx`, just before its commit: the screens
        redraw once it has committed."""
        ...

    def since(self, version: int) -> list[Happening]: ...

    def diagnostics(self) -> dict[str, Any]:
        """Where the feed hears changes from, and whether it does now."""
        ...

    def start(self) -> None: ...

    def close(self) -> None: ...


class ChangeFeed:
    """The feed of one process: a version and the last `keep` happenings, in memory."""

    def __init__(self, keep: int = 500) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._recent: deque[Happening] = deque(maxlen=keep)

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def publish(self, kind: str, data: dict[str, Any] | None = None, *, tx: Tx | None = None) -> int:
        # One process: its readers share the writer's memory; a transaction changes nothing.
        with self._lock:
            self._version += 1
            self._recent.append(Happening(self._version, kind, data or {}))
            return self._version

    def publish_many(self, happenings: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for kind, data in happenings:
            self.publish(kind, data)

    def touch(self, *, tx: Tx | None = None) -> None:
        with self._lock:
            self._version += 1

    def stored(self, tx: Tx, hall: str) -> None:
        self.touch()

    def since(self, version: int) -> list[Happening]:
        with self._lock:
            return [h for h in self._recent if h.version > version]

    def diagnostics(self) -> dict[str, Any]:
        return {"heard_from": "this process", "version": self.version}

    def start(self) -> None:
        """Nothing to start: the readers are in this process."""

    def close(self) -> None:
        """Nothing to close."""


class ScreenRefresh:
    """A central handler: stored events may have changed what the big screen shows."""

    def __init__(self, feed: ScreenFeed) -> None:
        self.feed = feed

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        # Once per batch, in its transaction just before the commit: on PostgreSQL the other
        # processes hear it when the batch is committed, never before.
        context.before_commit((ScreenRefresh, id(self)), lambda: self.feed.stored(context.portable,
                                                                                 context.hall))
