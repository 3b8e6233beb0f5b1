"""What changed, for the big screen: a version number and the last notable happenings (escalations).

Writers are threads (the engine, the ingest); readers are the server's
event-stream handlers, which poll the version cheaply.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent


@dataclass(frozen=True)
class Happening:
    version: int
    kind: str  # "escalation", "complaint", "devices", "cases"
    data: dict[str, Any] = field(default_factory=dict)


class ChangeFeed:
    def __init__(self, keep: int = 500) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._recent: deque[Happening] = deque(maxlen=keep)

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def publish(self, kind: str, data: dict[str, Any] | None = None) -> int:
        with self._lock:
            self._version += 1
            self._recent.append(Happening(self._version, kind, data or {}))
            return self._version

    def touch(self) -> None:
        """Something changed that needs no announcement of its own (a device came online)."""
        with self._lock:
            self._version += 1

    def since(self, version: int) -> list[Happening]:
        with self._lock:
            return [h for h in self._recent if h.version > version]


class ScreenRefresh:
    """A central handler: stored events may have changed what the big screen shows."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        self.feed.touch()
