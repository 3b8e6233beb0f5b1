"""The supervision office's event feed on PostgreSQL with several central processes ingesting.

An id is taken at insert, so with two ingest processes a lower id can commit after a higher one.
Here one process's batch (hall-01, the lower id) is held open after its append while another
process's batch (hall-02, the higher id) commits; a third reads the feed as the office does.
Each store has its own connection, as each process has: the locks are the server's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from central.anomalies.feeds import EventFeed
from central.store import APPENDING_LOCK, CentralStore
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent
from spine.storeurl import StoreUrl
from tests.central.events import deliver
from tests.central.stores import migrated
from tests.support import wait_until

T0 = 1_795_399_200_000
KINDS = {"rating.recorded"}


class HoldBeforeCommit:
    """A handler that keeps its batch's transaction open, after the append, until released."""

    def __init__(self) -> None:
        self.in_flight = threading.Event()
        self.release = threading.Event()

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        def hold() -> None:
            self.in_flight.set()
            assert self.release.wait(30), "the test never released the batch"

        context.before_commit("hold", hold)


def rating(n: int) -> tuple[str, dict[str, object], int]:
    return ("rating.recorded", {"rating": f"r-{n}", "grade": "dissatisfied", "rated_at": T0 + n}, T0 + n)


@pytest.fixture
def url(pg_database: StoreUrl) -> StoreUrl:
    return migrated(pg_database)


@pytest.fixture
def stores(url: StoreUrl) -> Iterator[tuple[CentralStore, CentralStore, CentralStore, HoldBeforeCommit]]:
    held = HoldBeforeCommit()
    slow = CentralStore(url, SimulatedClock(T0), handlers=[held])
    fast = CentralStore(url, SimulatedClock(T0))
    office = CentralStore(url, SimulatedClock(T0))
    yield slow, fast, office, held
    held.release.set()
    for store in (slow, fast, office):
        store.close()


def _follower_waits(url: StoreUrl) -> bool:
    """Whether someone waits for `APPENDING_LOCK` (the follower, behind the batch in flight)."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND objsubid = 1 AND classid::bigint = :high AND objid::bigint = :low"),
                {"high": (APPENDING_LOCK >> 32) & 0xFFFF_FFFF, "low": APPENDING_LOCK & 0xFFFF_FFFF}).scalar())
    finally:
        engine.dispose()


def test_the_event_feed_never_passes_a_lower_id_still_being_written_and_reads_both_once_it_commits(
        url: StoreUrl, stores: tuple[CentralStore, CentralStore, CentralStore, HoldBeforeCommit]) -> None:
    slow, fast, office, held = stores
    feed = EventFeed(office, KINDS)
    slow_batch = threading.Thread(target=deliver, args=(slow, "hall-01", [rating(1)]))
    slow_batch.start()
    assert held.in_flight.wait(30), "the first batch never appended"
    deliver(fast, "hall-02", [rating(2)])  # a higher id, committed while the lower one is in flight

    read: list[Any] = []
    follower = threading.Thread(target=lambda: read.append(feed.read(0, 10)))
    follower.start()
    wait_until(lambda: read or _follower_waits(url), timeout=30, what="the follower to read or to wait")
    assert not read, f"the feed read past event 1 while it was still being written: {read}"

    held.release.set()
    slow_batch.join(30)
    follower.join(30)
    assert not follower.is_alive()
    facts, position = read[0]
    assert [(f.ref, f.hall, f.body["rating"]) for f in facts] == [
        ("event:1", "hall-01", "r-1"), ("event:2", "hall-02", "r-2")]
    assert position == 2
    assert feed.read(position, 10) == ([], 2)
