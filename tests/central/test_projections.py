"""Projections catch up from the event log: deployed late, fed before they were installed, or
found filled from before projections kept cursors, each event counts exactly once. The queue
statistics, the same specification on SQLite and on PostgreSQL: waits, services, transfers and
no-shows, targets per service, and the visit's phone kept sealed for its SMS notices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from central.personal import vault
from central.queue_stats import QueueFigures, QueueStatsProjection, contact_for, queue_statistics
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.statement import Statement
from spine.storeurl import StoreUrl
from tests.central.events import deliver

HALL = "hall-01"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
MINUTE = 60_000


def a_visit(ticket: str) -> list[tuple[str, dict[str, Any], int]]:
    """A ticket issued, called to window 3 after ten minutes, recalled once, served."""
    day = {"day": "2026-11-23", "ticket": ticket}
    called = {**day, "service": "A", "window": "3", "officer": "1001", "at": T0 + 10 * MINUTE,
              "issued_at": T0, "waiting_since": T0}
    return [
        ("queue.ticket_issued", {**day, "service": "A"}, T0),
        ("queue.called", called, T0 + 10 * MINUTE),
        ("queue.recalled", {**day, "window": "3", "at": T0 + 11 * MINUTE}, T0 + 11 * MINUTE),
        ("queue.served", {**day, "window": "3", "at": T0 + 15 * MINUTE, "service_ms": 5 * MINUTE},
         T0 + 15 * MINUTE),
    ]


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CentralStore]:
    store = CentralStore(tmp_path / "events.sqlite", SimulatedClock(T0))
    yield store
    store.close()


_RECALLS = Statement(lambda _dialect: text("SELECT sum(recalls) FROM queue_segments"))


def recalls(store: CentralStore) -> int:
    return int(store.read(lambda tx: _RECALLS.run(tx).fetchone()[0]))


def figures(store: CentralStore, **options: Any) -> list[QueueFigures]:
    return store.read(lambda tx: queue_statistics(tx, **options))


def test_queue_statistics_deployed_late_count_the_visits_already_in_the_log(store: CentralStore) -> None:
    deliver(store, HALL, a_visit("A001") + a_visit("A002"))
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    deliver(store, HALL, a_visit("A003"))
    (hall,) = figures(store, by="hall")
    assert (hall.segments, hall.served, hall.mean_wait_ms) == (3, 3, 10 * MINUTE)
    assert recalls(store) == 3


def test_installing_again_replays_nothing(store: CentralStore) -> None:
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    deliver(store, HALL, a_visit("A001"))
    QueueStatsProjection().install(store)  # a restart
    assert recalls(store) == 1


def test_a_projection_fed_before_it_was_installed_catches_up_in_that_transaction(
    store: CentralStore,
) -> None:
    deliver(store, HALL, a_visit("A001"))
    store.handlers.append(QueueStatsProjection())
    deliver(store, HALL, a_visit("A002"))
    (hall,) = figures(store, by="hall")
    assert hall.served == 2 and recalls(store) == 2


def test_segments_kept_before_projections_had_cursors_are_not_counted_again(
        sqlite_store: CentralStore) -> None:
    # What a central of the previous release left (on SQLite): its queue tables were fed live only.
    store = sqlite_store
    old = QueueStatsProjection()
    store.handlers.append(old)
    deliver(store, HALL, a_visit("A001"))
    with store.transaction() as tx:
        # Every row of its cursor: its own and each process's (`<name>@<holder>`).
        tx.execute("DELETE FROM projection_cursor "
                   "WHERE name = 'queue_stats' OR name LIKE 'queue!_stats@%' ESCAPE '!'")
    QueueStatsProjection().install(store)
    assert recalls(store) == 1


def test_figures_per_window_and_service_count_transfers_no_shows_and_waits_above_each_target(
        store: CentralStore) -> None:
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    day = {"day": "2026-11-23"}
    deliver(store, HALL, a_visit("A001") + [
        ("queue.ticket_issued", {**day, "ticket": "B001", "service": "B"}, T0),
        ("queue.called", {**day, "ticket": "B001", "service": "B", "window": "5", "officer": "1002",
                          "at": T0 + 20 * MINUTE, "issued_at": T0, "waiting_since": T0}, T0 + 20 * MINUTE),
        ("queue.transferred", {**day, "ticket": "B001", "window": "5", "at": T0 + 25 * MINUTE,
                               "active_ms": 5 * MINUTE, "to_service": "A"}, T0 + 25 * MINUTE),
        ("queue.ticket_issued", {**day, "ticket": "A009", "service": "A"}, T0),
        ("queue.called", {**day, "ticket": "A009", "service": "A", "window": "3", "officer": "1001",
                          "at": T0 + 30 * MINUTE, "issued_at": T0, "waiting_since": T0}, T0 + 30 * MINUTE),
        ("queue.no_show", {**day, "ticket": "A009", "window": "3", "at": T0 + 33 * MINUTE}, T0 + 33 * MINUTE),
    ])
    by_service = {f.key: f for f in figures(store, by="service", wait_target_ms={"A": 20 * MINUTE,
                                                                                 "B": 5 * MINUTE})}
    a, b = by_service["A"], by_service["B"]
    # A: two tickets and the transferred visit's second segment, still waiting.
    assert (a.segments, a.called, a.served, a.no_shows, a.max_wait_ms) == (3, 2, 1, 1, 30 * MINUTE)
    assert (a.mean_wait_ms, a.above_target_share, a.no_show_share) == (20 * MINUTE, 0.5, 0.5)
    assert (a.mean_service_ms, b.mean_service_ms) == (5 * MINUTE, None)
    assert (b.segments, b.called, b.served, b.above_target_share, b.no_show_share) == (1, 1, 0, 1.0, 0.0)
    by_window = {f.key: (f.segments, f.served) for f in figures(store, by="window", day_from="2026-11-23",
                                                               day_to="2026-11-23", hall=HALL)}
    assert by_window == {"3": (2, 1), "5": (1, 0)}
    assert figures(store, by="hall", day_from="2026-11-24") == []


def test_a_phone_given_at_a_window_is_kept_sealed_opened_for_its_notices_and_gone_once_erased(
        store: CentralStore) -> None:
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    day = {"day": "2026-11-23", "window": "3"}
    deliver(store, HALL, [("queue.contact_given", {**day, "ticket": "A001", "phone": "13811110002"}, T0),
                          ("queue.contact_given", {**day, "ticket": "A002", "phone": "13922223333"}, T0)])
    kept = store.read(lambda tx: Statement(lambda _dialect: text(
        "SELECT phone FROM queue_contacts ORDER BY ticket")).run(tx).fetchall())
    assert all("1111" not in row[0] and "2222" not in row[0] for row in kept)
    assert store.read(lambda tx: contact_for(tx, HALL, "2026-11-23", "A001")) == "13811110002"
    with store.statements() as tx:
        vault.erase(tx, ["visit:hall-01/2026-11-23/A001"], actor="retention", reason="retention", now_ms=T0)
    assert store.read(lambda tx: contact_for(tx, HALL, "2026-11-23", "A001")) is None
    assert store.read(lambda tx: contact_for(tx, HALL, "2026-11-23", "A002")) == "13922223333"
    assert store.read(lambda tx: contact_for(tx, HALL, "2026-11-23", "A404")) is None
