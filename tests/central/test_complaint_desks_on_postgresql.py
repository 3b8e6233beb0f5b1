"""Several central processes ticking the complaint desk over one PostgreSQL: each complaint past its
deadline is flagged overdue once, one `complaint.overdue` step in its log, whichever process
ticks. Each process is a store of its own (its own connection), ticking on a thread of its own.

Without the deadline pass's lock (`ComplaintDesk._flag_overdue`), both passes read a complaint
as not yet flagged and both log it (docs/operations.md, "Several central processes")."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from central.complaints import ComplaintDesk
from central.complaints.desk import NewComplaint
from central.complaints.log import LOG
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.personal.events import SealingEventStore
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pg import pg_cluster, pg_database  # noqa: F401
from tests.support import wait_until

HALL = "hall-01"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
DAY = 86_400_000
ROUNDS = 12
PER_ROUND = 5


@pytest.fixture
def url(pg_database: StoreUrl) -> StoreUrl:  # noqa: F811
    return migrated(pg_database)


@pytest.fixture
def stores(url: StoreUrl) -> Iterator[list[CentralStore]]:
    clock = SimulatedClock(wall_ms=T0)
    opened: list[CentralStore] = [SealingEventStore(url, clock) for _ in range(2)]
    yield opened
    for store in opened:
        store.close()


def _desk(store: CentralStore) -> ComplaintDesk:
    return ComplaintDesk(store, ComplaintSettings.model_validate({}), working_days=WorkingDays(),
                         send=lambda _hall, _command: None, recorders=lambda _hall: [])


def _overdue_steps(store: CentralStore) -> dict[str, int]:
    """complaint -> how many `complaint.overdue` steps its log holds."""
    steps = store.read(lambda tx: LOG.after(tx, 0, LOG.head(tx), ("complaint.overdue",), 100_000))
    return dict(Counter(step.subject[0] for step in steps))


def test_two_processes_ticking_together_flag_each_overdue_complaint_once(stores: list[CentralStore]) -> None:
    desks = [_desk(store) for store in stores]
    received: list[str] = []
    flagged: list[list[str]] = [[], []]
    failures: list[BaseException] = []
    for round in range(ROUNDS):
        received += [desks[0].receive(NewComplaint(hall=HALL, summary=f"无人处理 {round}-{n}"),
                                      actor="office") for n in range(PER_ROUND)]
        start = threading.Barrier(2)
        now = T0 + (30 + round) * DAY  # past every deadline so far

        def tick(process: int, now: int = now, start: threading.Barrier = start) -> None:
            try:
                start.wait(timeout=30)
                flagged[process] += desks[process].tick(now, 3_600_000)
            except BaseException as exc:  # noqa: BLE001 - the test reports every failure
                failures.append(exc)

        threads = [threading.Thread(target=tick, args=(p,), daemon=True) for p in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), "a tick never finished"

    assert failures == []
    assert sorted(flagged[0] + flagged[1]) == sorted(received)  # each reported by one process
    assert _overdue_steps(stores[0]) == {complaint: 1 for complaint in received}
    assert desks[1].verify()["ok"]


def test_a_second_pass_waits_for_the_first_ones_commit_then_finds_the_complaint_flagged(
        stores: list[CentralStore], url: StoreUrl) -> None:
    first = open_engine(url)
    desk = _desk(stores[0])
    complaint = desk.receive(NewComplaint(hall=HALL, summary="无人处理"), actor="office")
    now = T0 + 30 * DAY
    second: dict[str, Any] = {}

    def second_ticks() -> None:
        try:
            second["flagged"] = _desk(stores[1]).tick(now, 3_600_000)
        except BaseException as exc:  # noqa: BLE001
            second["failed"] = exc

    try:
        with first.begin() as tx:
            # The first process's pass, inside its transaction: the complaint log's lock, then the flag.
            assert ComplaintDesk._flag_overdue(tx, now) == [complaint]
            waiter = threading.Thread(target=second_ticks, daemon=True)
            waiter.start()
            wait_until(lambda: _waiting_for_an_advisory_lock(first), what="the second pass to wait")
            assert second == {}
        waiter.join(30)
    finally:
        first.dispose()
    assert second == {"flagged": []}
    assert _overdue_steps(stores[0]) == {complaint: 1}
    assert desk.get(complaint)["overdue"] is True


def _waiting_for_an_advisory_lock(engine: Engine) -> bool:
    with engine.connect() as sql:
        return bool(sql.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one())

