"""The demo hall's day so far: the visits its gateway saw before the demo started.

The big screen and the statistics open on a believable day (tickets served since
the morning, waits, ratings, a bad rating's follow-up) instead of an empty board.
The gateway states the morning as it states any visit, in its own events
(`queue.called`, `queue.served`, `queue.no_show`, `rating.recorded`, ...), dated
when they happened, and forwards them to central like the rest.

The morning's tickets were numbered in a kiosk slot of their own (the hall's
numbering has one more slot than the demo's running kiosks), so no live ticket
ever takes a number the morning used. `plan_day` is pure; `state_day` hands the
plan to a running gateway.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.service import GatewayService

HALL_ZONE = ZoneInfo("Asia/Shanghai")
OPENS = time(8, 30)
MINUTE = 60_000


@dataclass(frozen=True)
class Officer:
    id: str
    name: str
    department: str


@dataclass(frozen=True)
class Visit:
    """One citizen's visit of the morning, as the hall's queue saw it (times in ms)."""

    day: str
    ticket: str
    service: str
    window: str
    officer: Officer
    issued: int
    called: int
    ended: int
    served: bool
    grade: str | None
    """None: not rated (or not served)."""


GRADES = (("very_satisfied", 52), ("satisfied", 28), ("basically_satisfied", 9),
          ("dissatisfied", 3), ("very_dissatisfied", 1), (None, 7))
"""What the morning's citizens pressed (None: walked away), roughly a real hall's shares."""
BAD = frozenset({"dissatisfied", "very_dissatisfied"})


def day_span(now_ms: int) -> tuple[int, int]:
    """The morning to replay: from opening (08:30, or eight hours back if it opened earlier
    than that or not yet today) to a minute ago, all within today in the hall's zone."""
    now = datetime.fromtimestamp(now_ms / 1000, HALL_ZONE)
    midnight = datetime.combine(now.date(), time(0), HALL_ZONE)
    opening = datetime.combine(now.date(), OPENS, HALL_ZONE)
    start = opening if timedelta(hours=1) <= now - opening <= timedelta(hours=8) else max(
        midnight + timedelta(minutes=1), now - timedelta(hours=8))
    return int(start.timestamp() * 1000), now_ms - MINUTE


def plan_day(
    now_ms: int,
    services: Sequence[Mapping[str, Any]],
    officers: Mapping[str, Officer],
    *,
    slot: int,
    slots: int,
    seed: int = 7,
) -> list[Visit]:
    """The visits of the day so far: a citizen every few minutes, each served at the first free
    window of its service (a few do not come when called), ending before `now_ms`."""
    rng = random.Random(seed)
    start, end = day_span(now_ms)
    day = datetime.fromtimestamp(now_ms / 1000, HALL_ZONE).date().isoformat()
    free_at = {window: start for window in officers}
    issued_count: dict[str, int] = {}
    visits: list[Visit] = []
    weights = [5, 3, 2, 1][: len(services)] + [1] * max(0, len(services) - 4)
    arrival = start + rng.randrange(2 * MINUTE)
    while True:
        service = rng.choices(services, weights=weights)[0]
        windows = [w for w in service["windows"] if w in officers]
        if windows:
            window = min(windows, key=lambda w: free_at[w])
            called = max(arrival + rng.randrange(20_000, 90_000), free_at[window])
            served = rng.random() > 0.05
            ended = called + (rng.randrange(4 * MINUTE, 13 * MINUTE) if served else 2 * MINUTE)
            if ended > end:
                break
            index = issued_count.get(service["prefix"], 0)
            issued_count[service["prefix"]] = index + 1
            grade = rng.choices([g for g, _ in GRADES], [w for _, w in GRADES])[0] if served else None
            visits.append(Visit(day, f"{service['prefix']}{slot + slots * index:03d}", service["prefix"],
                                window, officers[window], arrival, called, ended, served, grade))
            free_at[window] = ended + rng.randrange(10_000, 60_000)
        arrival += rng.randrange(2 * MINUTE, 6 * MINUTE)
    return visits


def events_of(visit: Visit, hall: str) -> list[tuple[str, dict[str, Any]]]:
    """The gateway's events of one visit, in the order they happened."""
    fact = {"day": visit.day, "ticket": visit.ticket, "service": visit.service, "window": visit.window,
            "officer": visit.officer.id}
    events: list[tuple[str, dict[str, Any]]] = [("queue.called", {
        **fact, "at": visit.called, "issued_at": visit.issued, "waiting_since": visit.issued,
        "wait_ms": visit.called - visit.issued})]
    if not visit.served:
        return [*events, ("queue.no_show", {**fact, "at": visit.ended, "called_at": visit.called})]
    events.append(("queue.served", {**fact, "at": visit.ended, "called_at": visit.called,
                                    "service_ms": visit.ended - visit.called}))
    rating = f"day-{visit.day}-{visit.ticket}"
    terminal = f"rating-w{visit.window}"
    events.append(("rating.recorded", {
        "hall": hall, "window": visit.window, "officer": visit.officer.id,
        "officer_name": visit.officer.name, "department": visit.officer.department,
        "service": visit.service, "visit": {"day": visit.day, "ticket": visit.ticket}, "how": "visit",
        "rating": rating, "terminal": terminal, "grade": visit.grade, "rated_at": visit.ended + 15_000,
        "source_event": rating}))
    if visit.grade in BAD:
        events.append(("rating.reason_recorded", {"rating": rating, "terminal": terminal,
                                                  "reason": "efficiency", "label": "办事效率低",
                                                  "source_event": rating}))
    return events


def state_day(gateway: GatewayService, visits: Sequence[Visit]) -> int:
    """The gateway states the morning's visits (one transaction); returns the events stated."""
    events = [event for visit in visits for event in events_of(visit, gateway.hall)]

    def state(context: Any) -> None:
        for kind, body in events:
            context.emit(kind, body)

    gateway.store.run_in_transaction(state)
    return len(events)
