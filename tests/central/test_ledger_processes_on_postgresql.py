"""Several central processes appending to one hash-chained log on one PostgreSQL: one chain, every
step once. Each process is a connection of its own (its own engine), on a thread of its own.

Appending reads the log's last row and inserts the next position; without the ledger's
advisory lock two processes read the same last row and the second insert collides on
the position (docs/operations.md, "Several central processes")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from central.booking.log import LOG as BOOKING_LOG
from central.complaints.log import LOG as COMPLAINT_LOG
from central.ledger import Ledger
from central.ratings.tables import FOLLOWUP_LOG
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pg import pg_cluster, pg_database  # noqa: F401
from tests.support import wait_until

T0 = 1_764_633_600_000
PER_PROCESS = 120
"""Transactions per process; each appends two steps of one record."""


def _subject(ledger: Ledger, process: int, n: int) -> str | tuple[str, str]:
    name = f"P{process}-{n:04d}"
    return (f"hall-0{process}", name) if len(ledger.layout.subject) == 2 else name


@pytest.fixture
def processes(pg_database: StoreUrl) -> Iterator[list[Engine]]:  # noqa: F811
    url = migrated(pg_database)
    engines = [open_engine(url) for _ in range(2)]
    yield engines
    for engine in engines:
        engine.dispose()


def _run_together(work: list[Callable[[], None]], timeout: float = 120.0) -> list[BaseException]:
    """Run each callable on a thread of its own, started together; the exceptions they raised."""
    start = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait(timeout=30)
            job()
        except BaseException as exc:  # noqa: BLE001 - the test reports every failure
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in work]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "an appending process never finished"
    return failures


@pytest.mark.parametrize("ledger", [COMPLAINT_LOG, BOOKING_LOG, FOLLOWUP_LOG], ids=lambda ledger: ledger.name)
def test_two_processes_appending_to_one_log_at_once_keep_one_chain_with_every_step_once(
        processes: list[Engine], ledger: Ledger) -> None:
    def appender(process: int, engine: Engine) -> Callable[[], None]:
        def append_all() -> None:
            for n in range(PER_PROCESS):
                with engine.begin() as tx:
                    subject = _subject(ledger, process, n)
                    ledger.append(tx, subject, "step.opened", T0 + n, f"process-{process}", _body(ledger, n))
                    ledger.append(tx, subject, "step.closed", T0 + n, f"process-{process}", _body(ledger, n))
        return append_all

    failures = _run_together([appender(p, engine) for p, engine in enumerate(processes, start=1)])

    assert failures == []
    with processes[0].connect() as read:
        report = ledger.verify(read)
        steps = {(process, n): ledger.steps(read, _subject(ledger, process, n))
                 for process in (1, 2) for n in range(PER_PROCESS)}
    assert report.ok, report.problem
    assert report.checked == 2 * 2 * PER_PROCESS
    # Every record's two steps are there once, in order, and next to each other: a transaction's
    # appends are not interleaved with another process's.
    for (process, _n), found in steps.items():
        assert [(s.type, s.actor) for s in found] == [("step.opened", f"process-{process}"),
                                                      ("step.closed", f"process-{process}")]
        assert found[1].seq == found[0].seq + 1


def test_a_second_process_waits_for_the_first_ones_commit_then_chains_after_it(
        processes: list[Engine]) -> None:
    first, second = processes
    ledger = COMPLAINT_LOG
    finished = threading.Event()
    failures: list[BaseException] = []

    def second_appends() -> None:
        try:
            with second.begin() as tx:
                ledger.append(tx, "TS-0002", "complaint.received", T0 + 1, "process-2", {})
            finished.set()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    with first.begin() as tx:
        ledger.append(tx, "TS-0001", "complaint.received", T0, "process-1", {})
        waiter = threading.Thread(target=second_appends, daemon=True)
        waiter.start()
        # The second process is seen waiting for an advisory lock the first holds, not appending.
        wait_until(lambda: _waiting_for_an_advisory_lock(first), what="the second process to wait")
        assert not finished.is_set()
    waiter.join(30)
    assert failures == [] and finished.is_set()
    with first.connect() as read:
        assert ledger.verify(read).ok
        assert [(s.seq, s.subject) for s in ledger.after(read, 0, 10, ("complaint.received",), 10)] == [
            (1, ("TS-0001",)), (2, ("TS-0002",))]


def _body(ledger: Ledger, n: int) -> Any:
    return f"note {n}" if ledger is FOLLOWUP_LOG else {"n": n}


def _waiting_for_an_advisory_lock(engine: Engine) -> bool:
    """Whether some session waits for an advisory lock (here: a ledger's, which the first holds)."""
    with engine.connect() as sql:
        found = sql.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one()
    return bool(found)



def test_two_processes_appending_to_two_logs_in_opposite_orders_never_deadlock(
        processes: list[Engine]) -> None:
    """An ingest batch may append to several logs (a booking checked in, then a bad rating's
    follow-up; another hall's batch the other way round): the ledgers' locks are always taken in
    one order, so two such transactions wait for each other at most once, never crosswise
    (PostgreSQL would end one of them as a deadlock)."""
    orders = [(BOOKING_LOG, COMPLAINT_LOG, FOLLOWUP_LOG), (FOLLOWUP_LOG, COMPLAINT_LOG, BOOKING_LOG)]

    def appender(process: int, engine: Engine) -> Callable[[], None]:
        def append_all() -> None:
            for n in range(PER_PROCESS // 2):
                with engine.begin() as tx:
                    for ledger in orders[process - 1]:
                        ledger.append(tx, _subject(ledger, process, n), "step.opened", T0 + n,
                                      f"process-{process}", _body(ledger, n))
        return append_all

    failures = _run_together([appender(p, engine) for p, engine in enumerate(processes, start=1)])

    assert failures == []
    with processes[0].connect() as read:
        for ledger in orders[0]:
            report = ledger.verify(read)
            assert report.ok and report.checked == 2 * (PER_PROCESS // 2), (ledger.name, report)
