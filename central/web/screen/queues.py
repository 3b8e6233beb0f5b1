"""Window status for the big screen: who serves which ticket at which window, who waits, for how long.

Read from the queue statistics projection (`central.queue_stats`,
`queue_segments`) for the halls' today, two reads for every hall at once (the
table's `(day, hall)` index): the waiting citizens per service, grouped, and
today's calls, latest first, which give each window its officer, its current
ticket and its served count. A ticket parked at a window has no end yet and
still shows there until the window calls the next one.

Its statements are written once for SQLite and PostgreSQL (`spine.statement`): the
caller hands a `Source`, e.g. a connection inside `CentralStore.read`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, bindparam, func, select

from central.queue_stats import QUEUE_SEGMENTS
from central.reads import Source, rows
from central.web.screen.models import QueueNow, ServiceQueue, WindowNow
from spine.statement import Statement

_S = QUEUE_SEGMENTS.c


def _today(one_hall: bool) -> list[ColumnElement[bool]]:
    """Today's segments of every hall, or of the one named `hall`."""
    return [_S.day == bindparam("day"), *([_S.hall == bindparam("hall")] if one_hall else [])]


def _waiting(one_hall: bool) -> Statement:
    return Statement(lambda _dialect: select(
        _S.hall, _S.service, func.count(), func.min(_S.waiting_since)).where(
        *_today(one_hall), _S.called_at.is_(None), _S.outcome.is_(None)
    ).group_by(_S.hall, _S.service).order_by(_S.hall, _S.service))


def _calls(one_hall: bool) -> Statement:
    # Each window's latest call first: its officer, and its ticket if not yet ended.
    return Statement(lambda _dialect: select(
        _S.hall, _S.window, _S.officer, _S.ticket, _S.service, _S.called_at, _S.ended_at, _S.outcome).where(
        *_today(one_hall), _S.window.is_not(None)).order_by(_S.hall, _S.window, _S.called_at.desc()))


# For every hall and for one: two statements each, not one with an optional filter.
_WAITING = {one: _waiting(one) for one in (False, True)}
_CALLS = {one: _calls(one) for one in (False, True)}


@dataclass
class _Hall:
    waiting: int = 0
    oldest: int | None = None
    windows: dict[str, WindowNow] = field(default_factory=dict)
    services: list[ServiceQueue] = field(default_factory=list)


def queues_now(read: Source, day: str, now_ms: int, hall: str | None = None) -> dict[str, QueueNow]:
    """hall -> who waits and who is served now (today's counts come from `QueueToday`);
    halls with no ticket today are left out."""
    try:
        return _queues(read, day, now_ms, hall)
    except sqlite3.OperationalError:  # no queue event has arrived yet: no table either
        return {}


def _queues(read: Source, day: str, now_ms: int, hall: str | None) -> dict[str, QueueNow]:
    halls: dict[str, _Hall] = {}
    for name, service, count, oldest in rows(read, _WAITING[hall is not None], _params(day, hall)):
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


def _windows(read: Source, day: str, hall: str | None, halls: dict[str, _Hall]) -> None:
    for name, window, officer, ticket, service, called_at, ended_at, outcome in rows(
            read, _CALLS[hall is not None], _params(day, hall)):
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


def _params(day: str, hall: str | None) -> dict[str, str]:
    return {"day": day} if hall is None else {"day": day, "hall": hall}


def _age_s(now_ms: int, since_ms: int | None) -> int | None:
    return None if since_ms is None else max(0, (now_ms - since_ms) // 1000)


def _window_order(window: str) -> tuple[int, str]:
    digits = "".join(ch for ch in window if ch.isdigit())
    return (int(digits) if digits else 10**6, window)
