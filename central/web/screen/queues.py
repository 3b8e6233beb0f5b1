"""Window status for the big screen: who serves which ticket at which window, who waits, for how long.

Read from the queue statistics projection (`central.queue_stats`,
`queue_segments`) for the halls' today, two reads for every hall at once (the
table's `(day, hall)` index): the waiting citizens per service, grouped, and
today's calls, latest first, which give each window its officer, its current
ticket and its served count. A ticket parked at a window has no end yet and
still shows there until the window calls the next one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from central.web.screen.models import QueueNow, ServiceQueue, WindowNow
from central.where import Where

Read = Callable[[str, tuple[Any, ...]], list[Any]]


@dataclass
class _Hall:
    waiting: int = 0
    oldest: int | None = None
    windows: dict[str, WindowNow] = field(default_factory=dict)
    services: list[ServiceQueue] = field(default_factory=list)


def queues_now(read: Read, day: str, now_ms: int, hall: str | None = None) -> dict[str, QueueNow]:
    """hall -> who waits and who is served now (today's counts come from `QueueToday`);
    halls with no ticket today are left out."""
    try:
        return _queues(read, day, now_ms, hall)
    except sqlite3.OperationalError:  # no queue event has arrived yet: no table either
        return {}


def _queues(read: Read, day: str, now_ms: int, hall: str | None) -> dict[str, QueueNow]:
    halls: dict[str, _Hall] = {}
    waiting = Where().equals("day", day).equals("hall", hall).holds("called_at IS NULL AND outcome IS NULL")
    for name, service, count, oldest in read(
        f"SELECT hall, service, count(*), min(waiting_since) FROM queue_segments{waiting.sql} "
        "GROUP BY hall, service ORDER BY hall, service", waiting.params):
        state = halls.setdefault(name, _Hall())
        state.waiting += int(count)
        state.oldest = oldest if state.oldest is None else min(state.oldest, oldest)
        state.services.append(ServiceQueue(service=service, waiting=int(count),
                                           longest_wait_s=_age_s(now_ms, oldest)))
    _windows(read, day, hall, halls)
    return {
        name: QueueNow(
            waiting=state.waiting, longest_wait_s=_age_s(now_ms, state.oldest),
            windows=sorted(state.windows.values(), key=lambda w: _window_order(w.window)),
            services=state.services,
        )
        for name, state in sorted(halls.items())
    }


def _windows(read: Read, day: str, hall: str | None, halls: dict[str, _Hall]) -> None:
    worked = Where().equals("day", day).equals("hall", hall).holds("window IS NOT NULL")
    # Each window's latest call first: its officer, and its ticket if not yet ended.
    for name, window, officer, ticket, service, called_at, ended_at, outcome in read(
        "SELECT hall, window, officer, ticket, service, called_at, ended_at, outcome "
        f"FROM queue_segments{worked.sql} ORDER BY hall, window, called_at DESC", worked.params):
        state = halls.setdefault(name, _Hall())
        now = state.windows.get(window)
        if now is None:
            serving = ended_at is None and outcome is None
            now = state.windows[window] = WindowNow(
                window=window, officer=officer, ticket=ticket if serving else None,
                service=service if serving else None, serving_since=called_at if serving else None,
                served_today=0)
        if outcome == "served":
            now.served_today += 1


def _age_s(now_ms: int, since_ms: int | None) -> int | None:
    return None if since_ms is None else max(0, (now_ms - since_ms) // 1000)


def _window_order(window: str) -> tuple[int, str]:
    digits = "".join(ch for ch in window if ch.isdigit())
    return (int(digits) if digits else 10**6, window)
