"""Several central processes running the SMS feed over one PostgreSQL, each queuing into its own SMS
outbox: each fact of a log is queued by one process, once in total. Each process is a store of
its own (its own connections), its feed on a thread of its own; what a feed queues is recorded
per process, as each process's `sms.sqlite` would keep it.

Without the claim of a log's cursor (`FeedCursors.claim`), both feeds read the same cursor, both
queue the facts after it and both move it (docs/operations.md, "Several central processes")."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from central.complaints import ComplaintDesk
from central.complaints.desk import NewComplaint
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.personal.events import SealingEventStore
from central.sms_feed import SmsFeed, SmsFeedSettings
from central.sms_feed.complaints import ComplaintFacts
from central.sms_feed.cursor import FeedCursors
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pg import pg_cluster, pg_database  # noqa: F401
from tests.support import wait_until

HALL = "hall-01"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
PHONE = "13712345678"
COMPLAINTS = 60


class Process:
    """One central process's store, complaint desk and SMS feed; `queued` stands for its outbox."""

    def __init__(self, url: StoreUrl, clock: SimulatedClock, batch: int) -> None:
        self.store = SealingEventStore(url, clock)
        self.desk = ComplaintDesk(self.store, ComplaintSettings.model_validate({}),
                                  working_days=WorkingDays(), send=lambda _hall, _command: None,
                                  recorders=lambda _hall: [])
        self.queued: list[str] = []
        self.feed = SmsFeed(self._queue, [ComplaintFacts(self.store, self.desk.contact)],
                            FeedCursors(self.store), SmsFeedSettings.model_validate({"batch": batch}), clock)

    def _queue(self, fact_id: str, _fact_type: str, _body: Any, **_ignored: Any) -> None:
        self.queued.append(fact_id)

    def close(self) -> None:
        self.feed.stop()  # its thread ends (and closes the cursors' connections) before the store
        self.store.close()


@pytest.fixture
def url(pg_database: StoreUrl) -> StoreUrl:  # noqa: F811
    return migrated(pg_database)


@pytest.fixture
def processes(url: StoreUrl) -> Iterator[list[Process]]:
    clock = SimulatedClock(wall_ms=T0)
    started = [Process(url, clock, batch=3) for _ in range(2)]
    for process in started:
        process.feed.start()  # both at the log's end (empty): one cursor, set once
    for process in started:
        process.feed.stop()  # the tests run the passes themselves: no thread races them
    yield started
    for process in started:
        process.close()


def test_two_feeds_reading_one_log_together_queue_each_fact_once_in_total(processes: list[Process]) -> None:
    received: list[str] = []
    done = threading.Event()
    failures: list[BaseException] = []

    def complaints_arrive() -> None:
        try:
            for n in range(COMPLAINTS):
                received.append(processes[n % 2].desk.receive(
                    NewComplaint(hall=HALL, summary=f"态度差 {n}", phone=PHONE), actor="office"))
        except BaseException as exc:  # noqa: BLE001 - the test reports every failure
            failures.append(exc)
        finally:
            done.set()

    def feed_runs(process: Process) -> None:
        try:
            while not done.is_set():
                process.feed.run_once()
            process.feed.run_once()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=complaints_arrive, daemon=True),
               *(threading.Thread(target=feed_runs, args=(p,), daemon=True) for p in processes)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a process never finished"
    assert failures == []
    for process in processes:
        process.feed.run_once()  # whatever committed after a feed's last pass

    queued = Counter(processes[0].queued + processes[1].queued)
    assert len(queued) == COMPLAINTS  # every complaint received told once, by one process
    assert set(queued.values()) == {1}
    assert processes[0].queued and processes[1].queued  # both took their share


def test_a_second_feed_waits_for_the_first_ones_claim_then_reads_after_the_moved_cursor(
        processes: list[Process], url: StoreUrl) -> None:
    first, second = processes
    first.desk.receive(NewComplaint(hall=HALL, summary="态度差", phone=PHONE), actor="office")
    outcome: dict[str, Any] = {}

    def second_reads() -> None:
        try:
            outcome["told"] = second.feed.run_once()
        except BaseException as exc:  # noqa: BLE001
            outcome["failed"] = exc

    watcher = open_engine(url)
    try:
        with first.feed.cursors.claim("complaints") as cursor:
            assert cursor.position == 0
            waiter = threading.Thread(target=second_reads, daemon=True)
            waiter.start()
            wait_until(lambda: _waiting_for_an_advisory_lock(watcher), what="the second feed to wait")
            assert outcome == {}
            cursor.move(1, T0)  # the first process took the complaint's fact
        waiter.join(30)
    finally:
        watcher.dispose()
    assert outcome == {"told": 0} and second.queued == []
    assert first.feed.cursors.get("complaints") == 1


def _waiting_for_an_advisory_lock(engine: Engine) -> bool:
    with engine.connect() as sql:
        return bool(sql.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one())


def test_a_feed_stops_before_a_fact_it_could_not_queue_and_the_other_process_takes_it(
        processes: list[Process]) -> None:
    first, second = processes
    for n in range(2):
        first.desk.receive(NewComplaint(hall=HALL, summary=f"态度差 {n}", phone=PHONE), actor="office")

    def queue_one_then_fail(fact_id: str, *_args: Any, **_kwargs: Any) -> None:
        if first.queued:
            raise OSError("database is locked")  # its sms.sqlite, say
        first.queued.append(fact_id)

    first.feed.notify = queue_one_then_fail
    assert first.feed.run_once() == 0  # the failure is logged; the pass of that log ends
    assert second.feed.run_once() == 1
    assert first.queued == ["complaint:1"] and second.queued == ["complaint:2"]
