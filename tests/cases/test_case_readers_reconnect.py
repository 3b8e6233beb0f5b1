"""The case store's readers with connections of their own outlive them on PostgreSQL, as the store
does: the big screen's counts (`SqlTally`) and the supervision office's case reads (`CaseReads`)
answer again after `pg_terminate_backend` or a server restart, on a fresh connection, without
restarting central."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from sqlalchemy.exc import DBAPIError

from central.anomalies.casereads import CaseReads, member_cases
from central.cases.engine import Engine
from central.web.screen.sqltally import SqlTally
from central.web.screen.tally import Place, PlaceCount
from spine.storeurl import StoreUrl
from tests.cases.conftest import SettableClock, entry
from tests.central.stores import migrated
from tests.pgcluster import PgCluster, throwaway_cluster
from tests.support import wait_until

T = TypeVar("T")
EVERYWHERE = Place(None, None)


def _one_case(url: StoreUrl, clock: SettableClock) -> None:
    engine = Engine.open(url, clock=clock)
    try:
        engine.store.submit(entry("RR-0001"), now=clock.set("2026-11-23T10:05"))
    finally:
        engine.close()


def _readers(url: StoreUrl, *, ping_after_s: float) -> tuple[SqlTally, CaseReads]:
    tally, reads = SqlTally(url), CaseReads.open(url)
    for liveness in (tally._cases.liveness, reads.liveness):
        assert liveness is not None  # PostgreSQL: checked before each read
        liveness.ping_after_s = ping_after_s
    return tally, reads


def _both_answer(tally: SqlTally, reads: CaseReads) -> tuple[list[PlaceCount], list[str]]:
    return (tally.open_places(EVERYWHERE),
            [case.case_id for case in member_cases(reads)(["RR-0001", "RR-9999"])])


ANSWER = ([PlaceCount("hall-centre", "自然资源局", "blue", 1)], ["RR-0001"])


@pytest.fixture
def readers(pg_database: StoreUrl, clock: SettableClock) -> Iterator[tuple[StoreUrl, SqlTally, CaseReads]]:
    url = migrated(pg_database)
    _one_case(url, clock)
    tally, reads = _readers(url, ping_after_s=0.0)  # every read after idle time: pinged
    yield url, tally, reads
    tally.close()
    reads.close()


def test_after_the_backends_are_terminated_the_next_reads_answer_on_a_new_connection(
        pg_cluster: PgCluster, readers: tuple[StoreUrl, SqlTally, CaseReads]) -> None:
    url, tally, reads = readers
    assert _both_answer(tally, reads) == ANSWER
    assert url.database is not None and pg_cluster.terminate_backends(url.database) >= 2
    assert _both_answer(tally, reads) == ANSWER
    assert tally._cases.liveness is not None and tally._cases.liveness.reconnects == 1
    assert reads.liveness is not None and reads.liveness.reconnects == 1


def test_a_read_that_meets_the_outage_fails_alone_and_the_next_one_reconnects(
        pg_cluster: PgCluster, pg_database: StoreUrl, clock: SettableClock) -> None:
    url = migrated(pg_database)
    _one_case(url, clock)
    tally, reads = _readers(url, ping_after_s=3600.0)  # no ping: a statement meets the outage
    try:
        assert _both_answer(tally, reads) == ANSWER
        assert url.database is not None
        pg_cluster.terminate_backends(url.database)
        with pytest.raises(DBAPIError):
            tally.open_places(EVERYWHERE)  # what the board logs, and draws again at its next refresh
        with pytest.raises(DBAPIError):
            member_cases(reads)(["RR-0001"])  # a read in a transaction of its own
        assert _both_answer(tally, reads) == ANSWER
    finally:
        tally.close()
        reads.close()


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A cluster of this test's own: it is restarted, which the session's must not be."""
    with throwaway_cluster() as cluster:
        yield cluster


def _or_none(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except DBAPIError:
        return None


def test_after_a_server_restart_the_readers_answer_again(
        own_cluster: PgCluster, clock: SettableClock) -> None:
    url = migrated(own_cluster.new_database())
    _one_case(url, clock)
    tally, reads = _readers(url, ping_after_s=0.0)
    try:
        assert _both_answer(tally, reads) == ANSWER
        own_cluster.stop()
        for _ in range(2):  # down: every read fails, none hangs
            assert _or_none(lambda: _both_answer(tally, reads)) is None
        own_cluster.start_again()
        answer = wait_until(lambda: _or_none(lambda: _both_answer(tally, reads)), timeout=30,
                            what="both readers answering on the restarted server")
        assert answer == ANSWER
    finally:
        tally.close()
        reads.close()
