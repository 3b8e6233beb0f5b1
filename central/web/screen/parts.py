"""What the big screen is built from, beyond the central context: its case tally and two open slots.

Central's service sets `tally` (SQL over the case store). The two slots are
for other parts of central to fill, each with a callable that answers quickly
(it runs at each refresh, so it reads kept state, never scans history):

- `anomalies(hall, limit)`: the open high-risk anomalies, newest first, as
  `ScreenAnomaly`; they join the alarm list. None: the list says nothing of
  anomalies.
- `projects(hall, limit)`: major projects, slowest first, as `ScreenProject`;
  they get the small "重大项目" panel. None: no panel.

A part that changes what the screen shows calls `context.feed.publish(kind, data)`
(or `touch()`) once its change has committed, or with `tx=` inside its transaction,
and every open screen refreshes, in every central process (`central.web.feed`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from central.web.screen.board import YearTotals
from central.web.screen.models import ScreenAnomaly, ScreenBoard, ScreenProject
from central.web.screen.tally import CaseTally

AnomalySource = Callable[[str | None, int], list[ScreenAnomaly]]
"""(hall or None for all, at most) -> open high-risk anomalies, newest first."""
ProjectSource = Callable[[str | None, int], list[ScreenProject]]
"""(hall or None for all, at most) -> major projects, slowest first."""


class BoardCache:
    """The last board of each scope, kept while nothing changed: many screens, one count per change."""

    FRESH_MS = 2000
    """A board is also recounted this often without any change: waits grow and the clock runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boards: dict[tuple[str | None, str | None], ScreenBoard] = {}

    def get(self, scope: tuple[str | None, str | None], version: int, now_ms: int,
            build: Callable[[], ScreenBoard]) -> ScreenBoard:
        # Counting under the lock: a second screen asking meanwhile waits for this count.
        with self._lock:
            kept = self._boards.get(scope)
            if kept is not None and kept.version == version and 0 <= now_ms - kept.now_ms < self.FRESH_MS:
                return kept
            board = build()
            if len(self._boards) > 64:  # scopes come from URLs: never let them pile up
                self._boards.clear()
            self._boards[scope] = board
            return board


@dataclass
class ScreenParts:
    tally: CaseTally | None = None
    """The case counts; None: counted from the context's case board (`BoardTally`)."""
    anomalies: AnomalySource | None = None
    projects: ProjectSource | None = None
    cache: BoardCache = field(default_factory=BoardCache)
    totals: YearTotals = field(default_factory=YearTotals)

    def close(self) -> None:
        if self.tally is not None:
            self.tally.close()
