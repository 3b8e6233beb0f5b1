"""The case store on PostgreSQL outlives its connection: after `pg_terminate_backend` or a server
restart, the engine's tick and an entry from the API succeed again on a fresh connection, and the
outage is logged once."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import DBAPIError

from central.cases.engine import Engine, TickReport
from central.cases.store import CaseStore
from spine.storeurl import StoreUrl
from tests.cases.conftest import SettableClock, entry
from tests.central.stores import migrated
from tests.pgcluster import PgCluster, throwaway_cluster
from tests.support import wait_until

LOST = "the case store lost PostgreSQL"


def _store(url: StoreUrl, clock: SettableClock, *, ping_after_s: float) -> Engine:
    engine = Engine.open(url, clock=clock)
    assert engine.store.liveness is not None
    engine.store.liveness.ping_after_s = ping_after_s
    return engine


def _lost_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(LOST)]


def _due_case(store: CaseStore, clock: SettableClock, case_id: str) -> None:
    store.submit(entry(case_id), now=clock.set("2026-11-23T10:05"))


def test_an_idle_store_pings_and_reconnects_so_the_next_tick_and_entry_succeed(
        pg_cluster: PgCluster, pg_database: StoreUrl, clock: SettableClock,
        caplog: pytest.LogCaptureFixture) -> None:
    url = migrated(pg_database)
    engine = _store(url, clock, ping_after_s=0.0)  # every statement after idle time: pinged
    try:
        _due_case(engine.store, clock, "RC-0001")
        assert pg_cluster.terminate_backends(url.database) >= 1
        with caplog.at_level(logging.WARNING, logger="central.cases.database"):
            report = engine.tick(clock.set("2026-12-08T09:00"))
            assert [issue.case_id for issue in report.issued][:1] == ["RC-0001"]
            recorded = engine.store.submit(entry("RC-0002"), now=clock.now)
        assert recorded.seq is not None
        assert _lost_lines(caplog) == [_lost_lines(caplog)[0]]  # once for the outage
        assert any("back on PostgreSQL" in r.getMessage() for r in caplog.records)
        assert engine.store.verify().ok
    finally:
        engine.close()


def test_a_statement_that_meets_the_outage_fails_alone_and_the_next_reconnects(
        pg_cluster: PgCluster, pg_database: StoreUrl, clock: SettableClock,
        caplog: pytest.LogCaptureFixture) -> None:
    url = migrated(pg_database)
    engine = _store(url, clock, ping_after_s=3600.0)  # no ping: the outage is met by a statement
    try:
        _due_case(engine.store, clock, "RC-0001")
        pg_cluster.terminate_backends(url.database)
        with caplog.at_level(logging.WARNING, logger="central.cases.database"):
            with pytest.raises(DBAPIError):
                engine.tick(clock.set("2026-12-08T09:00"))  # what the service logs and retries
            report = engine.tick(clock.now)
            recorded = engine.store.submit(entry("RC-0002"), now=clock.now)
        assert [issue.case_id for issue in report.issued][:1] == ["RC-0001"]
        assert recorded.seq is not None and engine.store.verify().ok
        assert len(_lost_lines(caplog)) == 1
        assert engine.store.liveness is not None and engine.store.liveness.reconnects == 1
    finally:
        engine.close()


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A cluster of this test's own: it is restarted, which the session's must not be."""
    with throwaway_cluster() as cluster:
        yield cluster


def test_the_store_comes_back_after_the_server_restarts(
        own_cluster: PgCluster, clock: SettableClock, caplog: pytest.LogCaptureFixture) -> None:
    url = migrated(own_cluster.new_database())
    engine = _store(url, clock, ping_after_s=0.0)
    try:
        _due_case(engine.store, clock, "RC-0001")
        own_cluster._run("pg_ctl", "-D", str(own_cluster.data), "-m", "immediate", "-w", "stop")
        with caplog.at_level(logging.WARNING, logger="central.cases.database"):
            for _ in range(3):  # the server is down: every try fails, the log says so once
                with pytest.raises(DBAPIError):
                    engine.tick(clock.set("2026-12-08T09:00"))
            own_cluster.start_again()
            report = wait_until(lambda: _tick_or_none(engine, clock), timeout=30,
                                what="a tick on the restarted server")
            recorded = engine.store.submit(entry("RC-0002"), now=clock.now)
        assert [issue.case_id for issue in report.issued][:1] == ["RC-0001"]
        assert recorded.seq is not None and engine.store.verify().ok
        assert len(_lost_lines(caplog)) == 1
    finally:
        engine.close()


def _tick_or_none(engine: Engine, clock: SettableClock) -> TickReport | None:
    try:
        return engine.tick(clock.now)
    except DBAPIError:
        return None
