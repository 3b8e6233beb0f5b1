"""The queue statistics of whole months come from `queue_month_figures`, and say what a scan of the
segments says, on SQLite and on PostgreSQL: fed live, replayed by a projection deployed late,
filled from segments kept before the table existed (a SQLite file; migration 0007 on
PostgreSQL), whatever the visits did (transfers, call-backs, no-shows, a ticket lost and
rebuilt from its call, a voided ticket)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from central import migrations, queue_stats
from central.queue_stats import QueueFigures, QueueStatsProjection, queue_statistics
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.statement import Statement
from spine.storeurl import StoreUrl
from tests.central.events import deliver
from tests.pg import PgCluster

T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
DECEMBER = T0 + 14 * 24 * 60 * 60_000  # 2026-12-07 10:00 +08:00
MINUTE = 60_000
NOVEMBER_ONLY = {"day_from": "2026-11-01", "day_to": "2026-11-30"}
BOTH_MONTHS = {"day_from": "2026-11-01", "day_to": "2026-12-31"}
SCAN = {"Z": queue_stats.DEFAULT_WAIT_TARGET_MS}
"""A target for a service nobody waits for: the same figures, but only a scan of the segments
can give a target per service, so the report takes that way."""


def visits(day: str, at: int) -> list[tuple[str, dict[str, Any], int]]:
    """A day of a hall: served after a long wait, called back, transferred, a no-show, a ticket
    whose issue was lost (rebuilt from its call), a voided one, and one still waiting."""
    d = {"day": day}

    def called(ticket: str, service: str, window: str, after: int, waited_since: int = at) -> tuple[
            str, dict[str, Any], int]:
        return ("queue.called", {**d, "ticket": ticket, "service": service, "window": window,
                                 "officer": f"o{window}", "at": at + after * MINUTE, "issued_at": at,
                                 "waiting_since": waited_since}, at + after * MINUTE)

    def issued(ticket: str, service: str) -> tuple[str, dict[str, Any], int]:
        return ("queue.ticket_issued", {**d, "ticket": ticket, "service": service}, at)

    def ended(kind: str, ticket: str, window: str, after: int,
              **more: Any) -> tuple[str, dict[str, Any], int]:
        return (kind, {**d, "ticket": ticket, "window": window, "at": at + after * MINUTE, **more},
                at + after * MINUTE)

    return [
        issued("A001", "A"), called("A001", "A", "3", 25), ended("queue.served", "A001", "3", 31,
                                                                  service_ms=6 * MINUTE),
        issued("A002", "A"), called("A002", "A", "3", 5), called("A002", "A", "4", 40),  # a call-back
        ended("queue.served", "A002", "4", 44, service_ms=4 * MINUTE),
        issued("B001", "B"), called("B001", "B", "5", 12),
        ended("queue.transferred", "B001", "5", 20, active_ms=8 * MINUTE, to_service="A"),
        called("B001", "A", "3", 50, waited_since=at + 20 * MINUTE),
        ended("queue.served", "B001", "3", 55, service_ms=5 * MINUTE),
        issued("B002", "B"), called("B002", "B", "5", 3), ended("queue.no_show", "B002", "5", 6),
        called("C001", "C", "6", 18), ended("queue.served", "C001", "6", 22, service_ms=4 * MINUTE),
        issued("C002", "C"), ended("queue.ticket_voided", "C002", "6", 2),
        issued("A003", "A"),
    ]


def a_province(store: CentralStore) -> None:
    for hall in ("hall-01", "hall-02"):
        deliver(store, hall, visits("2026-11-23", T0), device=f"gw-{hall}")
        deliver(store, hall, visits("2026-12-07", DECEMBER), device=f"gw-{hall}")
    deliver(store, "hall-01", visits("2026-11-24", T0 + 24 * 60 * MINUTE))


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


def report(store: CentralStore, **options: Any) -> list[tuple[Any, ...]]:
    def line(f: QueueFigures) -> tuple[Any, ...]:
        return (f.key, f.segments, f.called, f.served, f.no_shows, _near(f.mean_wait_ms), f.max_wait_ms,
                _near(f.above_target_share), _near(f.mean_service_ms), _near(f.no_show_share))
    return [line(f) for f in store.read(lambda tx: queue_statistics(tx, **options))]


def _near(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def every_report(store: CentralStore) -> dict[str, list[tuple[Any, ...]]]:
    return {f"{by} {period} {hall}": report(store, by=by, hall=hall, **dates)
            for by in ("service", "hall") for hall in (None, "hall-01")
            for period, dates in (("november", NOVEMBER_ONLY), ("both", BOTH_MONTHS))}


def scanned(store: CentralStore) -> dict[str, list[tuple[Any, ...]]]:
    return {f"{by} {period} {hall}": report(store, by=by, hall=hall, wait_target_ms=SCAN, **dates)
            for by in ("service", "hall") for hall in (None, "hall-01")
            for period, dates in (("november", NOVEMBER_ONLY), ("both", BOTH_MONTHS))}


def months_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on a report of whole months may not scan the segments."""
    def refuse(*_args: Any) -> Any:
        raise AssertionError("a report of whole months scanned the segments")
    monkeypatch.setattr(queue_stats, "_figures_query", refuse)


def test_a_report_of_whole_months_reads_the_month_figures_and_says_what_the_segments_say(
        store: CentralStore, monkeypatch: pytest.MonkeyPatch) -> None:
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    a_province(store)
    expected = scanned(store)
    november = {line[0]: line for line in expected["service november None"]}
    # Three hall-days in November. A: four segments each (a transfer's second among them, one
    # still waiting), three served; B: the transferred one and a no-show.
    assert november["A"][1:5] == (12, 9, 9, 0)
    assert november["B"][1:5] == (6, 6, 0, 3)

    months_only(monkeypatch)
    assert every_report(store) == expected
    # Not whole months, a per-window report: the segments, as before.
    monkeypatch.undo()
    assert report(store, by="service", day_from="2026-11-23", day_to="2026-11-23") != []


def test_a_projection_deployed_late_fills_the_month_figures_as_it_replays_the_log(
        store: CentralStore, monkeypatch: pytest.MonkeyPatch) -> None:
    a_province(store)
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    expected = scanned(store)
    months_only(monkeypatch)
    assert every_report(store) == expected


def test_segments_kept_before_the_month_figures_existed_are_summed_into_them_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A SQLite file of the previous release: its segments, no month figures yet.
    store = CentralStore(tmp_path / "events.sqlite", SimulatedClock(T0))
    try:
        projection = QueueStatsProjection()
        projection.install(store)
        store.handlers.append(projection)
        a_province(store)
        expected = scanned(store)
        with store.transaction() as tx:
            tx.execute("DROP TABLE queue_month_figures")
        QueueStatsProjection().install(store)  # the new release starts
        QueueStatsProjection().install(store)  # and again
        months_only(monkeypatch)
        assert every_report(store) == expected
    finally:
        store.close()


def test_the_month_figures_summed_from_the_segments_at_once_are_those_moved_event_by_event(
        store: CentralStore) -> None:
    projection = QueueStatsProjection()
    projection.install(store)
    store.handlers.append(projection)
    a_province(store)
    moved = every_report(store)
    with store.statements() as tx:
        _CLEAR_MONTHS.run(tx)
        queue_stats.MONTHS_FROM_SEGMENTS.run(tx)  # as `bench.province` fills them after a bulk load
    assert every_report(store) == moved


_CLEAR_MONTHS = Statement(lambda _dialect: text("DELETE FROM queue_month_figures"))
_SEGMENT_COLUMNS = ("hall", "day", "ticket", "seq", "service", "issued_at", "waiting_since", "called_at",
                    "\"window\"", "officer", "recalls", "ended_at", "outcome", "service_ms")


def test_migration_0007_sums_a_populated_databases_segments_into_the_month_figures(
        pg_cluster: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same visits on a SQLite file, for the segments they leave and what a scan reports.
    reference = CentralStore(tmp_path / "events.sqlite", SimulatedClock(T0))
    projection = QueueStatsProjection()
    projection.install(reference)
    reference.handlers.append(projection)
    a_province(reference)
    segments = reference.query(f"SELECT {', '.join(_SEGMENT_COLUMNS)} FROM queue_segments")
    expected = scanned(reference)
    reference.close()

    # A PostgreSQL database at the previous revision, its segments written then.
    url = pg_cluster.new_database()
    engine = open_engine(url)
    with engine.connect() as connection:
        with connection.begin():
            command.upgrade(migrations.alembic_config(connection), "0004")
        with connection.begin():
            connection.execute(text(
                f"INSERT INTO queue_segments ({', '.join(_SEGMENT_COLUMNS)}) VALUES "
                f"({', '.join(f':c{i}' for i in range(len(_SEGMENT_COLUMNS)))})"),
                [{f"c{i}": value for i, value in enumerate(row)} for row in segments])
        migrations.upgrade(connection)
    engine.dispose()

    store = CentralStore(url, SimulatedClock(T0))
    try:
        assert _count(store) > 0
        months_only(monkeypatch)
        assert every_report(store) == expected
    finally:
        store.close()


_MONTH_ROWS = Statement(lambda _dialect: text("SELECT count(*) FROM queue_month_figures"))


def _count(store: CentralStore) -> int:
    return int(store.read(lambda tx: _MONTH_ROWS.run(tx).fetchone()[0]))
