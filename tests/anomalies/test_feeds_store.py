"""What the anomaly rules read of central's event store, the same specification on SQLite and on
PostgreSQL: the halls' events of the kinds the rules want and the complaint log's steps, read forward
from a position in pages, and each hall's watermark as the horizon its facts are judged up to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.anomalies.feeds import ComplaintFeed, EventFeed, EventReads, ReadOnlyFile
from central.anomalies.horizons import SourceHorizons
from central.cases.sources import LIVE
from central.complaints import ComplaintDesk
from central.complaints.desk import NewComplaint
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.hall_watermarks import HallWatermarks
from central.personal.events import SealingEventStore
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver

HALL = "hall-01"
T0 = 1_795_399_200_000
KINDS = {"rating.recorded", "queue.no_show", "complaint.received"}


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = SealingEventStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


@pytest.fixture
def reads(store: CentralStore) -> Iterator[EventReads]:
    """The event store as `CentralService` hands it to the office: its own file read-only, or itself."""
    if store.url.path is None:
        yield store
        return
    file = ReadOnlyFile(Path(store.url.path))
    yield file
    file.close()


def rating(n: int) -> tuple[str, dict[str, object], int]:
    return ("rating.recorded", {"rating": f"r-{n}", "grade": "dissatisfied", "rated_at": T0 + n,
                                "department": "市场监管局"}, T0 + n)


def test_the_event_feed_reads_the_wanted_kinds_forward_in_pages(store: CentralStore,
                                                                reads: EventReads) -> None:
    feed = EventFeed(reads, KINDS)
    assert feed.read(0, 10) == ([], 0)
    deliver(store, HALL, [rating(1), ("queue.ticket_issued", {"ticket": "A001"}, T0), rating(2), rating(3)])
    first, position = feed.read(0, 2)
    assert [(f.kind, f.body["rating"], f.at, f.hall, f.unit) for f in first] == [
        ("rating.recorded", "r-1", T0 + 1, HALL, "市场监管局"),
        ("rating.recorded", "r-2", T0 + 2, HALL, "市场监管局")]
    rest, end = feed.read(position, 2)
    assert [f.body["rating"] for f in rest] == ["r-3"]
    assert feed.read(end, 2) == ([], end)  # past the ticket too: nothing is read twice
    assert [f.ref for f in first + rest] == [f"event:{n}" for n in (1, 3, 4)]


def test_the_complaint_feed_reads_the_logs_steps_with_the_complaints_hall(store: CentralStore,
                                                                         reads: EventReads) -> None:
    feed = ComplaintFeed(reads, KINDS)
    assert feed.read(0, 10) == ([], 0)
    desk = ComplaintDesk(store, ComplaintSettings.model_validate({}), working_days=WorkingDays(),
                         send=lambda _hall, _command: None, recorders=lambda _hall: [])
    desk.install(store)
    complaint = desk.receive(NewComplaint(hall=HALL, summary="态度差"), actor="office")
    facts, position = feed.read(0, 10)
    assert [(f.kind, f.body["complaint"], f.hall) for f in facts] == [("complaint.received", complaint, HALL)]
    assert feed.read(position, 10) == ([], position)


def test_a_halls_horizon_is_its_watermark_less_the_grace(store: CentralStore, reads: EventReads) -> None:
    horizons = SourceHorizons(reads, None, grace_ms=1000)
    assert horizons(T0) == {LIVE: T0}
    watermarks = HallWatermarks(store, store.clock, behind_after_s=60)
    watermarks.heartbeat(HALL, {"at": T0 - 5000, "outbox_events": 0})
    assert horizons(T0) == {LIVE: T0, f"hall:{HALL}": T0 - 6000}
