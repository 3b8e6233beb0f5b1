"""The big screen's queue figures and security alarms at central's store, the same specification on
SQLite and on PostgreSQL: who waits per service and for how long, who is served at which window,
today's counts of one hall, and the newest alarms first (those of one instant too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from central.alarms import SecurityAlarm, latest_alarms, record_alarm
from central.queue_stats import QueueStatsProjection
from central.store import CentralStore
from central.web.hallfigures import QueueToday
from central.web.screen.models import ServiceQueue
from central.web.screen.queues import queues_now
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver

HALL = "hall-01"
DAY = "2026-11-23"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
MINUTE = 60_000
NOW = T0 + 20 * MINUTE


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(NOW))
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    yield store
    store.close()


def issued(ticket: str, service: str, at: int) -> tuple[str, dict[str, Any], int]:
    return ("queue.ticket_issued", {"day": DAY, "ticket": ticket, "service": service}, at)


def called(ticket: str, window: str, at: int) -> tuple[str, dict[str, Any], int]:
    return ("queue.called", {"day": DAY, "ticket": ticket, "service": ticket[0], "window": window,
                             "officer": "1001", "at": at, "issued_at": T0, "waiting_since": T0}, at)


def a_morning(store: CentralStore) -> None:
    """hall-01: A001 served at window 3, A002 at window 3 now, A003 and B001 waiting; hall-02: one waits."""
    deliver(store, HALL, [
        issued("A001", "A", T0), issued("A002", "A", T0), issued("A003", "A", T0 + 2 * MINUTE),
        issued("B001", "B", T0 + 5 * MINUTE),
        called("A001", "3", T0 + 10 * MINUTE),
        ("queue.served", {"day": DAY, "ticket": "A001", "window": "3", "at": T0 + 15 * MINUTE,
                          "service_ms": 5 * MINUTE}, T0 + 15 * MINUTE),
        called("A002", "3", T0 + 16 * MINUTE),
    ])
    deliver(store, "hall-02", [issued("C001", "C", T0 + 19 * MINUTE)], device="gw-hall-02")


def test_a_halls_figures_today_count_who_waits_who_is_served_and_the_served_visits(
        store: CentralStore) -> None:
    today = QueueToday(store)
    assert today(HALL, NOW) == {"waiting": 0, "serving": 0, "issued": 0, "served": 0, "avg_wait_s": None,
                                "avg_service_s": None}
    a_morning(store)
    # Waits of the called visits (A001 10 minutes, A002 16); the service of the one served.
    assert today(HALL, NOW) == {"waiting": 2, "serving": 1, "issued": 4, "served": 1, "avg_wait_s": 780,
                                "avg_service_s": 300}


def test_every_halls_figures_at_once_are_each_halls_own(store: CentralStore) -> None:
    today = QueueToday(store)
    assert today.every_hall(NOW) == {}
    a_morning(store)
    every = today.every_hall(NOW)
    assert every == {HALL: today(HALL, NOW), "hall-02": today("hall-02", NOW)}
    assert every["hall-02"] == {"waiting": 1, "serving": 0, "issued": 1, "served": 0, "avg_wait_s": None,
                                "avg_service_s": None}


def test_the_queues_now_show_each_services_waiting_and_each_windows_ticket(store: CentralStore) -> None:
    assert store.read(lambda tx: queues_now(tx, DAY, NOW)) == {}
    a_morning(store)
    every = store.read(lambda tx: queues_now(tx, DAY, NOW))
    assert sorted(every) == [HALL, "hall-02"]
    hall = every[HALL]
    assert (hall.waiting, hall.longest_wait_s) == (2, 18 * 60)
    assert hall.services == [ServiceQueue(service="A", waiting=1, longest_wait_s=18 * 60),
                             ServiceQueue(service="B", waiting=1, longest_wait_s=15 * 60)]
    (window,) = hall.windows
    assert (window.window, window.ticket, window.serving_since, window.served_today) == (
        "3", "A002", T0 + 16 * MINUTE, 1)
    assert store.read(lambda tx: queues_now(tx, DAY, NOW, "hall-02"))["hall-02"].waiting == 1
    assert list(store.read(lambda tx: queues_now(tx, DAY, NOW, HALL))) == [HALL]


def alarm(n: int, hall: str | None, at: int) -> SecurityAlarm:
    return SecurityAlarm(alarm=f"central:{'f' if n % 2 else '0'}{n}:1", at=at, refused_by="central",
                         hall=hall, device=f"kiosk-0{n}", kind="kiosk", type="rating.recorded",
                         reason="not its role")


def test_the_newest_alarms_come_first_those_of_one_instant_the_last_kept_first(store: CentralStore) -> None:
    with store.statements() as tx:
        for n, hall, at in ((1, HALL, T0), (2, HALL, T0 + 1), (3, HALL, T0 + 1), (4, None, T0 + 2),
                            (5, "hall-02", T0)):
            record_alarm(tx, alarm(n, hall, at))
        record_alarm(tx, alarm(1, HALL, T0))  # replayed: kept once
    every = store.read(lambda tx: latest_alarms(tx))
    assert [a.device for a in every] == ["kiosk-04", "kiosk-03", "kiosk-02", "kiosk-05", "kiosk-01"]
    assert [a.device for a in store.read(lambda tx: latest_alarms(tx, HALL, limit=2))] == [
        "kiosk-03", "kiosk-02"]
    assert store.read(lambda tx: latest_alarms(tx, "hall-02")) == [alarm(5, "hall-02", T0)]
