"""Projections catch up from the event log: deployed late, fed before they were installed, or
found filled from before projections kept cursors, each event counts exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.queue_stats import QueueStatsProjection, queue_statistics
from central.store import CentralStore
from spine.clock import SimulatedClock
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
def store(tmp_path: Path) -> Iterator[CentralStore]:
    store = CentralStore(tmp_path / "events.sqlite", SimulatedClock(T0))
    yield store
    store.close()


def recalls(store: CentralStore) -> int:
    return int(store.query("SELECT sum(recalls) FROM queue_segments")[0][0])


def test_queue_statistics_deployed_late_count_the_visits_already_in_the_log(store: CentralStore) -> None:
    deliver(store, HALL, a_visit("A001") + a_visit("A002"))
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    deliver(store, HALL, a_visit("A003"))
    (figures,) = queue_statistics(store.query, by="hall")
    assert (figures.segments, figures.served, figures.mean_wait_ms) == (3, 3, 10 * MINUTE)
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
    (figures,) = queue_statistics(store.query, by="hall")
    assert figures.served == 2 and recalls(store) == 2


def test_segments_kept_before_projections_had_cursors_are_not_counted_again(store: CentralStore) -> None:
    # What a central of the previous release left: its queue tables were fed live only.
    old = QueueStatsProjection()
    store.handlers.append(old)
    deliver(store, HALL, a_visit("A001"))
    with store.transaction() as tx:
        tx.execute("DELETE FROM projection_cursor WHERE name = 'queue_stats'")
    QueueStatsProjection().install(store)
    assert recalls(store) == 1
